"""The gradebook: where it is, what it holds, and the few rows the workflow adds.

Everything goes through ``nbgrader.api.Gradebook``, nbgrader's own database API
(not a way of running nbgrader's steps, which :mod:`deepprob.grading.nbgrader_cli`
does); parallel writers to SQLite take turns through
:mod:`deepprob.grading.gradebook_lock`.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_db_url", "has_assignment", "submission_scores", "add_students", "add_missing_submissions"]


def default_db_url(root: Path | str) -> str:
    """The gradebook: ``$DEEPPROB_DB_URL`` (e.g. PostgreSQL) or ``<root>/gradebook.db``."""
    return os.environ.get("DEEPPROB_DB_URL") or "sqlite:///" + str(Path(root).resolve() / "gradebook.db")


def has_assignment(url: str, assignment: str) -> bool:
    """Whether the gradebook at ``url`` knows ``assignment`` (it was generated)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
        return True


def submission_scores(root: Path | str, assignment: str, db_url: str | None = None) -> dict[str, tuple[float, float, bool]]:
    """Read ``student_id -> (score, max_score, needs_manual_grade)`` from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(db_url or default_db_url(Path(root))) as gb:
        for sub in gb.assignment_submissions(assignment):
            out[sub.student_id] = (float(sub.score), float(sub.max_score), bool(sub.needs_manual_grade))
    return out


def add_students(url: str, students: list[str]) -> None:
    """Create the students, by one writer, before parallel graders only add their submissions."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        for student in students:
            gb.update_or_create_student(student)


def add_missing_submissions(url: str, assignment: str, students: list[str]) -> None:
    """Record an empty submission (score 0) for each student nbgrader recorded nothing for."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        for student in students:
            try:
                gb.find_submission(assignment, student)
            except MissingEntry:
                gb.update_or_create_student(student)
                gb.add_submission(assignment, student)

