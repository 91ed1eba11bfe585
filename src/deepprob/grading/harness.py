"""Test a grader the way a class would: many submissions, one real ``nbgrader autograde``.

A :class:`Case` describes one simulated student: start from the released
notebook, fill every solution cell with the reference solution, then replace
some cells (a wrong implementation, another correct one, a tampered test) or
delete them. :func:`grade_cases` grades all cases of an assignment in one
autograde run on a temporary copy of the course and returns each graded cell's
score, so that tests can state which cells a mistake must lose.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .gradebook import default_db_url
from .nbgrader_cli import nbgrader

__all__ = ["Case", "mistakes", "robustness_cases", "solution_sources", "build_submission", "grade_cases", "CellScore"]

_SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
_STUDENT_ID = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Case:
    """One simulated submission.

    Attributes
    ----------
    name : str
        Identifier, used as the student id (letters, digits, ``_``).
    expect : {"full", "zero", "partial"}
        ``full``: every autograded cell at full marks; ``zero``: every autograded
        cell at 0; ``partial``: the cells in ``must_lose`` below their maximum.
    replace : dict
        ``grade_id -> source`` of cells to overwrite after the solutions are filled in.
    delete : tuple of str
        ``grade_id`` of cells to delete.
    must_lose : tuple of str
        Autograded cells that must score below their maximum.
    must_keep : tuple of str
        Autograded cells that must keep full marks in a ``partial`` case (what the
        mistake must not cost: e.g. the functions that do not depend on the broken one).
    blank : bool
        Submit the release as handed out (no solution filled in).
    raw : str, optional
        Submit this text as the notebook file instead (e.g. broken JSON).
    description : str
        What mistake the case stands for, shown in test ids and failures.
    files : dict
        ``relative path -> text`` of extra files put in the submission folder
        (a stray ``answers.txt``, a PDF instead of a notebook...).
    notebook : str, optional
        File name of the submitted notebook (default ``<assignment>.ipynb``); a
        different name stands for a renamed notebook, ``""`` for none at all (an
        empty folder, or only ``files``).
    """

    name: str
    expect: str
    replace: dict[str, str] = field(default_factory=dict)
    delete: tuple[str, ...] = ()
    must_lose: tuple[str, ...] = ()
    must_keep: tuple[str, ...] = ()
    blank: bool = False
    raw: str | None = None
    description: str = ""
    files: dict[str, str] = field(default_factory=dict)
    notebook: str | None = None

    def __post_init__(self):
        if not _STUDENT_ID.match(self.name):
            raise ValueError(f"case name {self.name!r} must be letters, digits and '_' (it is a student id)")
        if self.expect not in ("full", "zero", "partial"):
            raise ValueError(f"expect must be 'full', 'zero' or 'partial', got {self.expect!r}")
        if self.expect == "partial" and not self.must_lose:
            raise ValueError(f"case {self.name}: a 'partial' case must name the cells it must lose")
        if set(self.must_lose) & set(self.must_keep):
            raise ValueError(f"case {self.name}: a cell cannot be both lost and kept: "
                             f"{sorted(set(self.must_lose) & set(self.must_keep))}")


def mistakes(prefix: str, cell: str, must_lose: tuple[str, ...], table, wrap=None,
             must_keep: tuple[str, ...] = ()) -> list[Case]:
    """One ``partial`` case per common mistake: the solution cell ``cell`` replaced by the wrong code.

    Parameters
    ----------
    prefix : str
        Start of the case names (``f"{prefix}_{name}"``).
    cell : str
        ``grade_id`` of the solution cell replaced.
    must_lose : tuple of str
        The test cells each mistake must lose (a row may give its own as a 4th item).
    table : iterable of tuples
        ``(name, description, code)`` or ``(name, description, code, must_lose)`` rows.
    wrap : callable, optional
        Turns ``code`` into the cell's source (e.g. adds the ``def`` line); default: as is.
    must_keep : tuple of str
        Test cells every mistake must leave at full marks.

    Returns
    -------
    list of Case
    """
    cases = []
    for row in table:
        name, description, code = row[:3]
        lose = tuple(row[3]) if len(row) > 3 else tuple(must_lose)
        cases.append(Case(f"{prefix}_{name}", "partial", replace={cell: wrap(code) if wrap else code},
                          must_lose=lose, must_keep=tuple(k for k in must_keep if k not in lose),
                          description=description))
    return cases


def robustness_cases(
    *,
    tamper: tuple[str, dict[str, str], tuple[str, ...]],
    edit_correct: str,
    delete: tuple[str, dict[str, str], tuple[str, ...]],
    raises: tuple[str, str, tuple[str, ...]],
    never_returns: tuple[str, str, tuple[str, ...]] | None = None,
    tamper_with: str = "pass",
    edit_with: str = "print('all good')",
    raises_name: str = "raises_at_import",
    descriptions: dict[str, str] | None = None,
) -> list[Case]:
    """The cases every assignment's contract has: the solution, the blank release, tampered and deleted
    test cells, a solution cell that raises and (optionally) one that never returns.

    Parameters
    ----------
    tamper : (test_cell, replace, must_lose)
        A wrong answer (``replace``: ``grade_id -> source``) whose test cell ``test_cell``
        is replaced by ``tamper_with``: the test comes back from the gradebook and fails.
    edit_correct : str
        A test cell a correct student replaced by ``edit_with``: restored, full marks.
    delete : (test_cell, replace, must_lose)
        A wrong answer whose test cell was deleted: restored, still fails.
    raises : (cell, code, must_lose)
        Solution cell ``cell`` starts with ``raise RuntimeError`` before ``code``.
    never_returns : (cell, code, must_lose), optional
        Solution cell ``cell`` replaced by ``code``, which never returns: the cell times out.
    descriptions : dict, optional
        Case name -> description, replacing the default wording.

    Returns
    -------
    list of Case
        ``solution``, ``blank``, ``tampered_test_cell``, ``tampered_test_correct``,
        ``deleted_test_cell``, ``raises_name`` and, if given, ``infinite_loop``.
    """
    text = {
        "solution": "the reference solution",
        "blank": "the release as handed out",
        "tampered_test_cell": f"a wrong answer whose test cell was replaced by `{tamper_with}`: restored, still fails",
        "tampered_test_correct": "a test cell edited by a correct student: restored, full marks",
        "deleted_test_cell": "a wrong answer whose test cell was deleted: restored, still fails",
        raises_name: "a solution cell that raises: that part scores 0, the rest is graded",
        "infinite_loop": "a function that never returns: the cell times out, the rest is graded",
        **(descriptions or {}),
    }
    test_cell, replace, lose = tamper
    deleted, replace_deleted, lose_deleted = delete
    cell, code, lose_raises = raises
    cases = [
        Case("solution", "full", description=text["solution"]),
        Case("blank", "zero", blank=True, description=text["blank"]),
        Case("tampered_test_cell", "partial", must_lose=tuple(lose), replace={test_cell: tamper_with, **replace},
             description=text["tampered_test_cell"]),
        Case("tampered_test_correct", "full", replace={edit_correct: edit_with},
             description=text["tampered_test_correct"]),
        Case("deleted_test_cell", "partial", must_lose=tuple(lose_deleted), delete=(deleted,),
             replace=dict(replace_deleted), description=text["deleted_test_cell"]),
        Case(raises_name, "partial", must_lose=tuple(lose_raises),
             replace={cell: "raise RuntimeError('student bug')\n" + code}, description=text[raises_name]),
    ]
    if never_returns is not None:
        loop_cell, loop_code, lose_loop = never_returns
        cases.append(Case("infinite_loop", "partial", must_lose=tuple(lose_loop), replace={loop_cell: loop_code},
                          description=text["infinite_loop"]))
    return cases


@dataclass(frozen=True)
class CellScore:
    """Score of one graded cell: ``score`` out of ``max_score``; ``auto`` for test cells."""

    score: float
    max_score: float
    auto: bool


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_sources(solution_notebook: Path | str) -> dict[str, str]:
    """``grade_id -> source`` of every solution code cell, with the markers removed."""
    nb = nbformat.read(str(solution_notebook), as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [ln for ln in cell.source.split("\n") if not _SOLUTION_MARKER.match(ln)]
            out[meta["grade_id"]] = "\n".join(lines)
    return out


def build_submission(release_notebook: Path | str, solutions: dict[str, str], case: Case):
    """The notebook a student following ``case`` would hand in."""
    nb = nbformat.read(str(release_notebook), as_version=4)
    known = {_grade_id(c) for c in nb.cells}
    unknown = (set(case.replace) | set(case.delete)) - known
    if unknown:
        raise KeyError(f"case {case.name}: no cell with grade_id {sorted(unknown)}; known: {sorted(k for k in known if k)}")
    cells = []
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in case.delete:
            continue
        if not case.blank and gid in solutions:
            cell.source = solutions[gid]
        if gid in case.replace:
            cell.source = case.replace[gid]
        cells.append(cell)
    nb.cells = cells
    return nb


def grade_cases(
    root: Path | str,
    assignment: str,
    cases: list[Case],
    workdir: Path | str | None = None,
    timeout: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> dict[str, dict[str, CellScore]]:
    """Autograde every case in one ``nbgrader autograde`` run on a copy of the course.

    Parameters
    ----------
    root : path
        The course root whose ``solutions/<assignment>`` and ``nbgrader_config.py`` are used.
    assignment : str
        Assignment name.
    cases : list of Case
        The simulated submissions; names must be unique.
    workdir : path, optional
        Where the temporary course is made (a new temporary folder if ``None``);
        it is left in place for inspection when given.
    timeout : int, optional
        Per-cell timeout in seconds for this run.
    extra_args : tuple of str
        More ``nbgrader autograde`` options, e.g. ``("--CheckerExecute.notebook_seconds=30",)``.

    Returns
    -------
    dict
        ``case name -> {grade_id -> CellScore}``; a case missing from the result was
        not graded at all (which a test should treat as a failure).
    """
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError("case names must be unique")
    root = Path(root).resolve()
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"grade-{assignment}-")
        workdir = tmp.name
    course = Path(workdir)
    try:
        course.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(root / "solutions" / assignment, course / "solutions" / assignment, dirs_exist_ok=True)
        nbgrader(course, "generate_assignment", assignment, "--force", "--log-level=ERROR", quiet=True)
        release_nb = course / "exercises" / assignment / f"{assignment}.ipynb"
        solutions = solution_sources(root / "solutions" / assignment / f"{assignment}.ipynb")
        for case in cases:
            folder = course / "submitted" / case.name / assignment
            folder.mkdir(parents=True, exist_ok=True)
            for rel, text in case.files.items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_text(text)
            if case.notebook == "":
                continue
            target = folder / (case.notebook or f"{assignment}.ipynb")
            if case.raw is not None:
                target.write_text(case.raw)
            else:
                nbformat.write(build_submission(release_nb, solutions, case), str(target))
        extra = ([f"--Execute.timeout={int(timeout)}"] if timeout else []) + list(extra_args)
        log = nbgrader(course, "autograde", assignment, "--create", "--log-level=WARN", *extra, check=False, quiet=True)
        (course / "autograde.log").write_text(log.stdout or "")
        return _read_cell_scores(course, assignment, names)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _read_cell_scores(course: Path, assignment: str, names: list[str]) -> dict[str, dict[str, CellScore]]:
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, dict[str, CellScore]] = {}
    with Gradebook(default_db_url(course)) as gb:
        for name in names:
            try:
                nb = gb.find_submission_notebook(assignment, assignment, name)
            except MissingEntry:
                continue
            out[name] = {
                g.name: CellScore(
                    score=float(g.score),
                    max_score=float(g.max_score),
                    auto=g.cell_type == "code",
                )
                for g in nb.grades
            }
    return out
