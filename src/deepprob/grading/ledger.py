"""The grading ledger: what was graded last, so that only what changed is graded again.

Each graded submission's fingerprint (SHA-256 of its files) and outcome is kept in
``autograded/.ledger/<assignment>/<student>.json``, written atomically after the
student is graded (:mod:`deepprob.grading.worker`): a run killed halfway leaves
every finished student recorded and the others not.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["fingerprint", "ledger_path", "read_ledger", "write_ledger", "to_grade", "failed_last_time"]


def fingerprint(folder: Path) -> str:
    """SHA-256 of a submission folder: every file's relative path and bytes."""
    import hashlib

    h = hashlib.sha256()
    folder = Path(folder)
    if folder.is_dir():
        for p in sorted(q for q in folder.rglob("*") if q.is_file()):
            if ".ipynb_checkpoints" in p.parts:
                continue
            h.update(str(p.relative_to(folder)).encode() + b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def ledger_path(root: Path, assignment: str, student: str) -> Path:
    """Where the last successful grading of a submission is recorded."""
    return Path(root) / "autograded" / ".ledger" / assignment / f"{student}.json"


def read_ledger(root: Path, assignment: str, student: str) -> dict | None:
    try:
        return json.loads(ledger_path(root, assignment, student).read_text())
    except (OSError, ValueError):
        return None


def write_ledger(root: Path, assignment: str, student: str, record: dict) -> None:
    path = ledger_path(root, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)  # atomic: a kill leaves the old record or the new one


def to_grade(root: Path, assignment: str, students: list[str], force: bool = False) -> list[str]:
    """The students to (re)grade: all with ``force``; else those whose files changed since
    their ledger record, who have none, or whose successful grading lost its autograded notebook."""
    todo = []
    for student in students:
        record = read_ledger(root, assignment, student)
        graded_nb = root / "autograded" / student / assignment / f"{assignment}.ipynb"
        unchanged = record is not None and record.get("fingerprint") == fingerprint(
            root / "submitted" / student / assignment
        )
        if force or not unchanged or (record.get("success") and not graded_nb.exists()):
            todo.append(student)
    return todo


def failed_last_time(root: Path, assignment: str, students: list[str]) -> list[str]:
    """Those of ``students`` whose ledger records a failed grading."""
    out = []
    for student in students:
        record = read_ledger(root, assignment, student)
        if record is not None and not record.get("success"):
            out.append(student)
    return out
