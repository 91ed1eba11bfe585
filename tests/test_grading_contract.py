"""The grading contract (COURSE.md §5), through real ``nbgrader autograde``.

For every assignment with a module in ``tests/contracts/``, all its cases are
graded in one autograde run on a temporary copy of the course (a session
fixture), then each case is checked on its own:

* ``full``: every autograded cell at full marks (the solution, correct variants,
  a correct student who edited a test cell);
* ``zero``: every autograded cell at 0 (the blank release);
* ``partial``: each cell in ``must_lose`` below its maximum (a plausible wrong
  implementation, a tampered or deleted test, a cell that raises or never ends), and
  each cell in ``must_keep`` at its maximum (what the mistake must not cost).
"""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import contracts
from deepprob.grading import grade_cases

MODULES = {
    mod.ASSIGNMENT: mod
    for mod in (importlib.import_module(f"contracts.{m.name}") for m in pkgutil.iter_modules(contracts.__path__))
}
# Short per-cell timeout for the batch: the slowest graded cell is designed for
# <= 10 s; the "infinite loop" cases then cost 20 s each instead of 60.
TIMEOUT = 20

_results: dict[str, dict] = {}


@pytest.fixture(scope="module")
def graded(root, tmp_path_factory):
    def get(assignment: str):
        if assignment not in _results:
            workdir = tmp_path_factory.mktemp(assignment)
            _results[assignment] = grade_cases(root, assignment, MODULES[assignment].CASES, workdir=workdir, timeout=TIMEOUT)
        return _results[assignment]

    return get


def _fmt(cells) -> str:
    return ", ".join(f"{k}={v.score:g}/{v.max_score:g}" for k, v in sorted(cells.items()))


def check_case(graded, assignment, case):
    results = graded(assignment)
    assert case.name in results, f"{case.name} ({case.description}) was not graded at all: the batch stopped?"
    cells = {k: v for k, v in results[case.name].items() if v.auto}
    assert cells, "no autograded cell found"
    if case.expect == "full":
        lost = {k: v for k, v in cells.items() if v.score < v.max_score}
        assert not lost, f"a correct submission ({case.description}) lost points: {_fmt(lost)}"
    elif case.expect == "zero":
        won = {k: v for k, v in cells.items() if v.score > 0}
        assert not won, f"{case.description} scored points: {_fmt(won)}"
    else:
        for cell in case.must_lose:
            assert cell in cells, f"no autograded cell {cell!r}; cells: {sorted(cells)}"
            got = cells[cell]
            assert got.score < got.max_score, (
                f"the mistake '{case.description}' was not caught: {cell} scored {got.score:g}/{got.max_score:g}"
            )
        for cell in case.must_keep:
            assert cell in cells, f"no autograded cell {cell!r}; cells: {sorted(cells)}"
            got = cells[cell]
            assert got.score == got.max_score, (
                f"the mistake '{case.description}' also cost {cell}: {got.score:g}/{got.max_score:g}"
            )



def _contract_class(assignment: str):
    """One test class per assignment: all its cases share one autograde run, and
    ``--dist loadgroup`` (tests/conftest.py) keeps a class on one pytest-xdist worker while different
    assignments are graded on different workers."""
    cases = MODULES[assignment].CASES

    @pytest.mark.slow
    @pytest.mark.parametrize("case", cases, ids=[c.name for c in cases])
    def test_case(self, graded, case):
        check_case(graded, assignment, case)

    return type(f"TestContract_{assignment}", (), {"test_case": test_case, "__doc__": f"Grading contract of {assignment}."})


for _assignment in sorted(MODULES):
    globals()[f"TestContract_{_assignment}"] = _contract_class(_assignment)

def test_every_assignment_has_a_contract(root):
    from deepprob.grading import assignments

    missing = sorted(set(assignments(root)) - set(MODULES))
    assert not missing, f"assignments without a grading contract in tests/contracts/: {missing}"


@pytest.mark.parametrize("assignment", sorted(MODULES))
def test_contract_is_complete(assignment):
    """≥ 2 correct variants, and ≥ 5 wrong implementations per graded test cell."""
    cases = MODULES[assignment].CASES
    names = {c.name for c in cases}
    assert {"solution", "blank"} <= names, "a contract includes the solution and the blank release"
    correct = [c for c in cases if c.expect == "full" and c.replace and c.name != "solution"]
    assert len(correct) >= 2, "at least two differently written correct submissions"
    wrong: dict[str, int] = {}
    for c in cases:
        if c.expect == "partial" and len(c.replace) == 1 and not c.delete and not c.replace.keys() & set(c.must_lose):
            for cell in c.must_lose:
                wrong[cell] = wrong.get(cell, 0) + 1
    assert wrong, "no wrong implementations"
    few = {k: v for k, v in wrong.items() if v < 5}
    assert not few, f"fewer than five wrong implementations for: {few}"
