"""The environment is the lock: every installed package pinned in requirements.txt (issue #12).

``make install`` installs requirements.txt with ``--no-deps`` and pip-sync removes
anything else, so a fresh machine gets exactly the tested environment. The lock is
compiled from requirements.in by pip-tools (``make lock``).
"""
from __future__ import annotations

import re
import sysconfig
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        assert version, f"requirements.txt line {line!r} is not an exact pin"
        pins[_norm(name)] = version.strip()
    return pins


def test_every_direct_requirement_is_in_the_lock():
    lock = _lock()
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = _norm(re.split(r"[\[=<>!~ ]", line, maxsplit=1)[0])
        assert name in lock, f"{name} is in requirements.in but not in the lock: run `make lock`"


def test_installed_packages_equal_the_lock():
    lock = _lock()
    installed = {}
    # Only what pip installed into the environment: once setuptools is imported (TFP imports
    # distutils) its vendored copies (setuptools/_vendor/*.dist-info) are on sys.path too.
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    for dist in metadata.distributions():
        if Path(dist.locate_file("")).resolve() not in site:
            continue
        name = _norm(dist.metadata["Name"])
        if name == "deepprob":
            continue
        installed[name] = dist.version
    missing = sorted(set(lock) - set(installed))
    extra = sorted(set(installed) - set(lock))
    wrong = sorted(f"{n} {installed[n]} (lock {lock[n]})" for n in set(lock) & set(installed)
                   if installed[n] != lock[n])
    assert not (missing or extra or wrong), (
        "the environment is not the lock; run `make install` (after `make lock` if requirements.in "
        f"changed).\nmissing: {missing}\nnot in the lock: {extra}\nother versions: {wrong}"
    )


def test_themes_are_the_ones_whose_phone_menu_works():
    lock = _lock()
    # pydata-sphinx-theme 0.17 (pulled by sphinx-book-theme 1.3) does not open its menu at 390 px
    assert lock["pydata-sphinx-theme"].startswith("0.15."), lock["pydata-sphinx-theme"]
    assert lock["sphinx-book-theme"] == "1.1.4"


def test_xdist_groups_are_honoured(request):
    """``make test`` relies on ``--dist loadgroup`` keeping the book's tests on one worker.

    pytest-xdist marks a grouped test by appending ``@group`` to its node id on the worker;
    under pytest 9 that rename is silently lost (it writes ``item._nodeid``), the book is then
    built by both workers and ``make test`` runs past its 30 minutes.
    """
    import os

    import pytest

    if "PYTEST_XDIST_WORKER" not in os.environ or not request.config.getvalue("loadgroup"):
        pytest.skip("only meaningful under make test's pytest -n 2 --dist loadgroup")
    assert request.node.nodeid.endswith("@tests/test_environment.py"), request.node.nodeid


def test_student_mode_hides_the_instructor_tools(tmp_path):
    """`make student` switches off nbgrader's Formgrader and Create Assignment for one user (issue #11)."""
    import json
    import os
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path)}
    page = tmp_path / "labconfig" / "page_config.json"
    subprocess.run(["make", "-s", "student"], cwd=root, env=env, check=True, capture_output=True)
    off = json.loads(page.read_text())["disabledExtensions"]
    assert off == {"@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True}
    subprocess.run(["make", "-s", "instructor"], cwd=root, env=env, check=True, capture_output=True)
    assert not any(json.loads(page.read_text())["disabledExtensions"].values())
