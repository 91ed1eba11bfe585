"""Shared fixtures: the course root, and the environment nbgrader needs."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for `import contracts`

# nbgrader runs `alembic` by name; TensorFlow and JAX stay quiet.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def book_build(root):
    """Build the book once per session with the README's command, ``make book``.

    Shares ``_build/`` (and its execution cache) with a developer's own
    ``make book``, so only chapters that changed are executed again.
    """
    import fcntl
    import subprocess

    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)
    # Two pytest-xdist workers may both need the book: the second waits for the
    # first, then finds everything cached.
    lock = root / "_build" / ".book-build.lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        result = subprocess.run(["make", "-s", "book"], cwd=root, env=env, capture_output=True, text=True)
    return result


# Work on two workers (make test: pytest -n 2 --dist loadgroup). Everything that reads the
# built book runs on one worker, in file order (the seed-0 build, its checks, the second-seed
# build, the browser): a second worker reaching a book test would only wait for the build.
# Every other module -- and each class of a module, e.g. one grading contract per
# assignment, graded in one autograde run -- is a unit the other worker takes.
BOOK_MODULES = {"test_book.py", "test_book_reader.py", "test_book_seeds.py", "test_browser.py"}


def pytest_configure(config):
    # registered here too, so that a run without pytest-xdist (-p no:xdist) accepts the marker
    config.addinivalue_line("markers", "xdist_group(name): tests that run on one xdist worker (loadgroup)")


# The order groups are handed out in (make test passes --no-loadscope-reorder, so xdist keeps
# collection order): the book first -- its builds and browser are the longest chain, ~18 min
# on one worker -- then the grading contracts and other grading runs, longest first, and the
# quick unit tests last, to fill in whichever worker finishes early.
_FIRST = {**{name: 0 for name in BOOK_MODULES}, "test_grading_contract.py": 1, "test_grading_safety.py": 2,
          "test_grade_workflow.py": 3, "test_benchmarks_smoke.py": 4}


# tryfirst: xdist's own hook (on each worker) reads the marks to build the "@group" node ids;
# ours must add them before it runs, or the groups are silently ignored.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: _FIRST.get(item.path.name, 9))  # stable: file order within each rank
    for item in items:
        if item.path.name in BOOK_MODULES:
            group = "book"
        else:
            group = item.nodeid.split("::", 1)[0]
            if item.cls is not None:
                group += "::" + item.cls.__name__
        item.add_marker(pytest.mark.xdist_group(group))

