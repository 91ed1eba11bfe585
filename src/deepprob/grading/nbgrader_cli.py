"""Running nbgrader's command line: ``nbgrader(root, "autograde", ...)``.

nbgrader is called two ways in this package. This command line runs every
step the instructor's workflow and the contract harness take in the main
process (``generate_assignment``, ``zip_collect``, ``autograde`` of a test
class, ``generate_feedback``, ``export``), so each is exactly what an
instructor could type and nbgrader's logging and state stay out of the caller;
``zip_collect`` and ``export`` have no method in nbgrader's API anyway. The
grading workers (:mod:`deepprob.grading.worker`, :mod:`deepprob.grading.cluster`)
call ``NbGraderAPI`` in process instead, because one worker grades many students
and loading nbgrader for each would cost seconds per notebook.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["nbgrader", "nbgrader_env"]


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader runs in: this one, with this Python's ``bin/`` first on ``PATH``."""
    env = dict(os.environ)
    # nbgrader runs `alembic` by name: the environment's bin/ goes first.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def nbgrader(root: Path | str, *args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course root ``root``.

    Parameters
    ----------
    root : path
        Course root (the folder with ``nbgrader_config.py``).
    *args : str
        Arguments of the nbgrader command line, e.g. ``"autograde", "ex01_maximum_likelihood"``.
    check : bool
        Raise ``subprocess.CalledProcessError`` on a non-zero exit status.
    quiet : bool
        Capture the output instead of printing it.

    Returns
    -------
    subprocess.CompletedProcess
    """
    cmd = [sys.executable, "-m", "nbgrader", *args]
    kwargs = dict(cwd=root, env=nbgrader_env(), text=True)
    if quiet:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    result = subprocess.run(cmd, **kwargs)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, cmd, result.stdout)
    return result
