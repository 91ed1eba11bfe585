"""The submitted folders (``submitted/<student>/<assignment>``): who submitted,
what the grader refuses to touch, and notebooks renamed back to the assignment's name.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_SUBMITTED_FILE_BYTES", "unsafe_entries", "refused_submissions", "submitted_students", "fix_notebook_names"]

#: largest file a submission may hold (bytes); a notebook with its figures is well below
MAX_SUBMITTED_FILE_BYTES = 50 << 20


def unsafe_entries(folder: Path, max_bytes: int = MAX_SUBMITTED_FILE_BYTES) -> list[str]:
    """What in a submission folder the grader refuses to touch, as messages.

    Symbolic links (at any depth, including the folder itself and its student
    folder), anything that is not a regular file or folder (devices, FIFOs,
    sockets) and files larger than ``max_bytes``. Nothing is followed: the
    folder is walked with ``lstat``.
    """
    folder = Path(folder)
    problems = []
    for p in (folder.parent, folder):
        if p.is_symlink():
            problems.append(f"{p.name} is a symbolic link")
    if problems:
        return problems
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{rel} is a symbolic link")
            elif stat.S_ISDIR(st.st_mode):
                continue
            elif not stat.S_ISREG(st.st_mode):
                problems.append(f"{rel} is not a regular file")
            elif st.st_size > max_bytes:
                problems.append(f"{rel} is {st.st_size / 2**20:.0f} MiB (at most {max_bytes / 2**20:.0f} MiB)")
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return problems


def refused_submissions(root: Path, assignment: str, students: list[str]) -> dict[str, str]:
    """``student -> reason`` for the submissions with :func:`unsafe_entries` (the first five, joined)."""
    refused = {}
    for student in students:
        problems = unsafe_entries(root / "submitted" / student / assignment)
        if problems:
            refused[student] = "; ".join(problems[:5])
    return refused


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a ``submitted/<student>/<assignment>`` folder (or a link in its place), sorted."""
    sub = root / "submitted"
    if not sub.is_dir():
        return []
    return sorted(p.name for p in sub.iterdir() if (p / assignment).is_dir() or (p / assignment).is_symlink())


def fix_notebook_names(root: Path, assignment: str, students: list[str]) -> list[str]:
    """Rename a submission's only notebook to ``<assignment>.ipynb`` (LMSs and students rename files)."""
    fixed = []
    for student in students:
        folder = root / "submitted" / student / assignment
        target = folder / f"{assignment}.ipynb"
        if target.exists():
            continue
        notebooks = [p for p in folder.glob("*.ipynb") if p.is_file()]
        if len(notebooks) == 1:
            notebooks[0].rename(target)
            fixed.append(student)
    return fixed
