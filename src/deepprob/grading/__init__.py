"""Instructor tools around nbgrader: release, grade, feedback without leaks, and a
harness that proves a grader accepts correct answers and rejects wrong ones.

Framework-free (imports nbgrader lazily); run it as ``python -m deepprob.grading``
or through the Makefile (``make exercises``, ``make grade ASSIGNMENT=...``).
"""
from .course import CourseResult, assignments, grade, release, submission_scores
from .harness import Case, build_submission, grade_cases, solution_sources

__all__ = [
    "CourseResult",
    "assignments",
    "grade",
    "release",
    "submission_scores",
    "Case",
    "build_submission",
    "grade_cases",
    "solution_sources",
]
