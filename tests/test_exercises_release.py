"""exercises/ is exactly what nbgrader generates from solutions/, and leaks nothing."""
from __future__ import annotations

import shutil

import nbformat
import pytest

from deepprob.grading import assignments, release

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME")


def _names(root):
    return assignments(root)


@pytest.fixture(scope="module")
def regenerated(root, tmp_path_factory):
    course = tmp_path_factory.mktemp("release")
    shutil.copy(root / "nbgrader_config.py", course)
    shutil.copytree(root / "solutions", course / "solutions")
    for name in assignments(course):
        release(course, name, quiet=True)
    return course


def test_every_assignment_is_released(root):
    released = sorted(p.name for p in (root / "exercises").iterdir() if p.is_dir())
    assert released == _names(root), "exercises/ and solutions/ hold different assignments: run `make exercises`"


def test_release_is_up_to_date(root, regenerated):
    for name in _names(root):
        committed = sorted(p.relative_to(root / "exercises" / name) for p in (root / "exercises" / name).rglob("*") if p.is_file())
        fresh = sorted(p.relative_to(regenerated / "exercises" / name) for p in (regenerated / "exercises" / name).rglob("*") if p.is_file())
        assert committed == fresh, f"{name}: files differ from a fresh release; run `make exercises`"
        for rel in fresh:
            a = nbformat.read(str(root / "exercises" / name / rel), as_version=4)
            b = nbformat.read(str(regenerated / "exercises" / name / rel), as_version=4)
            assert a == b, f"exercises/{name}/{rel} is stale: run `make exercises` and commit the result"


def test_release_contains_no_solution_or_hidden_test(root):
    for path in (root / "exercises").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            found = [m for m in MARKERS if m in text]
            assert not found, f"{path.relative_to(root)} contains {found}"


def test_release_has_no_outputs_and_locks_tests(root):
    for name in _names(root):
        nb = nbformat.read(str(root / "exercises" / name / f"{name}.ipynb"), as_version=4)
        points = manual = 0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code":
                assert not cell.outputs, f"{name}: a released cell has outputs"
            if meta.get("grade") and not meta.get("solution"):
                assert meta.get("locked"), f"{name}: test cell {meta.get('grade_id')} is not locked"
                points += meta.get("points", 0)
            if meta.get("grade") and meta.get("solution"):
                manual += 1
        assert 8 <= points <= 14, f"{name}: {points} autograded points; the course asks for about 10"
        assert manual >= 1, f"{name}: no manually graded answer"


def test_stubs_raise_when_called_not_when_defined(root):
    """A student who runs the blank release sees NotImplementedError from the function they must write,
    never a class that fails to define and a NameError in every later cell (issue #11)."""
    import ast
    import re

    for name in _names(root):
        nb = nbformat.read(str(root / "exercises" / name / f"{name}.ipynb"), as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            tree = ast.parse(re.sub(r"^\s*[%!].*$", "", cell.source, flags=re.M))
            scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
            for scope in scopes:
                for stmt in scope.body:
                    assert not isinstance(stmt, ast.Raise), (
                        f"{name}, cell {meta.get('grade_id')}: the stub raises at line {stmt.lineno} when the cell "
                        "runs; put ### BEGIN/END SOLUTION inside each function or method"
                    )
