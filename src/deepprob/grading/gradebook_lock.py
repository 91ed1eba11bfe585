"""SQLite writers taking turns: a file lock held while nbgrader has the gradebook open.

SQLite allows one writer at a time and nbgrader does not retry on "database is
locked". Grading processes that share a SQLite gradebook therefore give nbgrader
the URL :func:`serialised` returns: it names :class:`GradebookLock`, a SQLAlchemy
engine plugin (SQLAlchemy's extension point, chosen per URL, so no class of
nbgrader or SQLAlchemy is changed and other gradebooks of the process are not
affected), which holds an exclusive file lock from the moment a ``Gradebook`` is
opened until it is closed (re-entrant within the process). nbgrader opens a
gradebook only for short bookkeeping, never while a notebook executes, so kernels
still run in parallel. PostgreSQL handles concurrent writers itself: no lock.
"""
from __future__ import annotations

import fcntl
import weakref
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects import plugins
from sqlalchemy.engine import CreateEnginePlugin, make_url

__all__ = ["serialised", "GradebookLock"]

_PLUGIN = "deepprob_gradebook_lock"
_LOCK_ARG = "deepprob_lock"


def serialised(db_url: str, lock_file: Path) -> str:
    """``db_url`` such that every ``Gradebook`` this process opens on it holds ``lock_file``.

    A SQLite URL gets the :class:`GradebookLock` plugin; any other URL is returned
    unchanged. Give the returned URL to nbgrader (``CourseDirectory.db_url``).
    """
    if not db_url.startswith("sqlite"):
        return db_url
    plugins.register(_PLUGIN, __name__, "GradebookLock")
    Path(lock_file).parent.mkdir(parents=True, exist_ok=True)
    url = make_url(db_url).update_query_dict({"plugin": _PLUGIN, _LOCK_ARG: str(lock_file)})
    return url.render_as_string(hide_password=False)


class _FileLock:
    """An exclusive ``flock`` on one file, re-entrant within the process."""

    def __init__(self, path: str):
        self.handle = open(path, "a+")
        self.depth = 0

    def acquire(self) -> None:
        if self.depth == 0:
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.handle, fcntl.LOCK_UN)


_LOCKS: dict[str, _FileLock] = {}


class GradebookLock(CreateEnginePlugin):
    """SQLAlchemy engine plugin: hold a file lock for the life of each engine.

    nbgrader's ``Gradebook`` makes one engine when it opens and disposes of it when
    it closes, so the lock spans each gradebook session. The lock file is the URL's
    ``deepprob_lock`` parameter (see :func:`serialised`).
    """

    def __init__(self, url, kwargs):
        path = url.query[_LOCK_ARG]
        if path not in _LOCKS:
            _LOCKS[path] = _FileLock(path)
        self.lock = _LOCKS[path]

    def update_url(self, url):
        return url.difference_update_query([_LOCK_ARG])

    def engine_created(self, engine) -> None:
        lock, held = self.lock, [True]
        lock.acquire()

        def release(*_) -> None:
            if held[0]:
                held[0] = False
                lock.release()

        event.listen(engine, "engine_disposed", release)
        weakref.finalize(engine, release)  # a Gradebook that failed to open never disposes of its engine
