"""Instructor tools around nbgrader: release, grade, feedback without leaks, and a
harness that proves a grader accepts correct answers and rejects wrong ones.

Framework-free (imports nbgrader lazily); run it as ``python -m deepprob.grading``
or through the Makefile (``make exercises``, ``make grade ASSIGNMENT=...``).
"""
import importlib

# Names are imported on first use (PEP 562): every sandboxed grading kernel starts through
# ``python -m deepprob.grading.sandbox``, and importing nbformat/nbgrader there cost ~2 s per kernel.
_EXPORTS = {
    "CourseResult": "course",
    "assignments": "course",
    "grade": "course",
    "release": "course",
    "submission_scores": "gradebook",
    "Case": "harness",
    "mistakes": "harness",
    "robustness_cases": "harness",
    "build_submission": "harness",
    "grade_cases": "harness",
    "solution_sources": "harness",
}


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "CourseResult",
    "assignments",
    "grade",
    "release",
    "submission_scores",
    "Case",
    "mistakes",
    "robustness_cases",
    "build_submission",
    "grade_cases",
    "solution_sources",
]
