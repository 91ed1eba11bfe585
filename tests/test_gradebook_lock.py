"""SQLite writers take turns (deepprob.grading.gradebook_lock): a Gradebook opened on
the URL that :func:`serialised` returns holds the file lock until it is closed,
re-entrantly within the process, and other URLs are left alone. The parallel
grading this protects is run end to end in tests/test_grade_workflow.py."""
from __future__ import annotations

import gc
import subprocess
import sys

import pytest

pytest.importorskip("nbgrader")

from deepprob.grading.gradebook_lock import serialised  # noqa: E402


def _held_elsewhere(lock) -> bool:
    """Whether another process finds ``lock`` taken."""
    code = (
        "import fcntl, sys\n"
        f"h = open({str(lock)!r}, 'a+')\n"
        "try:\n    fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except OSError:\n    sys.exit(1)\n"
    )
    return subprocess.run([sys.executable, "-c", code]).returncode == 1


def test_a_gradebook_holds_the_lock_while_open(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setattr("deepprob.grading.gradebook_lock._LOCKS", {})
    lock = tmp_path / "odd & name" / "gradebook.lock"
    url = serialised(f"sqlite:///{tmp_path / 'gradebook.db'}", lock)
    assert lock.parent.is_dir()
    with Gradebook(url) as outer:
        assert _held_elsewhere(lock)
        assert str(outer.engine.url) == f"sqlite:///{tmp_path / 'gradebook.db'}"  # the plugin's arguments consumed
        with Gradebook(url) as inner:
            inner.update_or_create_student("a")
        assert _held_elsewhere(lock)  # re-entrant: the inner close does not release the outer session
        assert [s.id for s in outer.students] == ["a"]
    assert not _held_elsewhere(lock)


def test_an_engine_never_disposed_releases_when_collected(tmp_path, monkeypatch):
    from sqlalchemy import create_engine, text

    monkeypatch.setattr("deepprob.grading.gradebook_lock._LOCKS", {})
    lock = tmp_path / "gradebook.lock"
    engine = create_engine(serialised(f"sqlite:///{tmp_path / 'g.db'}", lock))
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    assert _held_elsewhere(lock)
    del engine, conn
    gc.collect()
    assert not _held_elsewhere(lock)


def test_other_databases_are_left_alone(tmp_path):
    url = "postgresql://user:pw@host/db"
    assert serialised(url, tmp_path / "x" / "gradebook.lock") == url
    assert not (tmp_path / "x").exists()
