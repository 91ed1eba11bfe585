"""The committed benchmark tables, for the book: where they are and how to read them.

The scripts of ``benchmarks/`` write their results under
``benchmarks/results/`` in the repository: a summary CSV (one row per data set
and method, ``<score>_mean``, ``_se`` and ``_sd`` over seeds or splits), a
``<stem>_runs.csv`` beside it (one row per seed or split) and a
``<csv>.meta.json`` with the command, commit, machine and seeds
(``benchmarks/report.py``). Chapters read them through this module; nothing
here imports ``benchmarks``.

Examples
--------
>>> from deepprob import results
>>> uci = results.read_tables("uci_*.csv")            # doctest: +SKIP
>>> uci.summary.groupby("dataset").size()             # doctest: +SKIP
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["results_dir", "Tables", "read_tables"]


def results_dir(start: str | Path | None = None) -> Path:
    """The repository's ``benchmarks/results`` folder.

    Searched above ``start`` (default: the working directory, ``book/`` while
    the book builds) and then above this installed package (an editable
    install lives in ``src/deepprob`` of the repository).

    Raises
    ------
    FileNotFoundError
        If no parent holds ``benchmarks/results`` (an installed wheel outside
        a clone of the repository): run from inside the repository.
    """
    start = Path.cwd() if start is None else Path(start)
    candidates = (start, *start.resolve().parents, *Path(__file__).resolve().parents)
    for folder in candidates:
        if (folder / "benchmarks" / "results").is_dir():
            return folder / "benchmarks" / "results"
    raise FileNotFoundError("no benchmarks/results folder above the working directory or the deepprob package; "
                            "run from inside a clone of the repository.")


@dataclass(frozen=True)
class Tables:
    """Summaries and per-run rows of several result files, with each file's provenance.

    Attributes
    ----------
    summary : pandas.DataFrame
        The summary rows of every file, with a ``file`` column (its name).
    runs : pandas.DataFrame
        The ``_runs.csv`` rows of every file, with the same ``file`` column.
    meta : dict of str to dict
        Each file's ``.meta.json``, by file name.
    """

    summary: pd.DataFrame
    runs: pd.DataFrame
    meta: dict


def read_tables(pattern: str, *, folder: str | Path | None = None, key=("dataset", "method")) -> Tables:
    """Read and concatenate every summary CSV matching ``pattern`` with its runs and provenance.

    Parameters
    ----------
    pattern : str
        A glob inside the results folder, e.g. ``"uci_*.csv"``; ``_runs.csv``
        files are taken as the runs of their summary, never as summaries.
    folder : str or Path, optional
        Default :func:`results_dir`.
    key : tuple of str, default ("dataset", "method")
        Columns that identify a row: a key found in two files is an error
        (the same row measured twice: delete the older file).

    Returns
    -------
    Tables

    Raises
    ------
    FileNotFoundError
        If nothing matches, or a summary lacks its ``_runs.csv`` or ``.meta.json``.
    ValueError
        If two files hold a row with the same ``key``.
    """
    folder = results_dir() if folder is None else Path(folder)
    paths = sorted(p for p in folder.glob(pattern) if not p.name.endswith("_runs.csv"))
    if not paths:
        raise FileNotFoundError(f"no file matches {pattern!r} in {folder}; run the benchmark script that writes it.")
    summaries, runs, meta = [], [], {}
    for path in paths:
        runs_path = path.with_name(path.stem + "_runs.csv")
        meta_path = path.with_name(path.name + ".meta.json")
        for needed in (runs_path, meta_path):
            if not needed.is_file():
                raise FileNotFoundError(f"{path.name} has no {needed.name} beside it; re-run its benchmark.")
        summaries.append(pd.read_csv(path).assign(file=path.name))
        runs.append(pd.read_csv(runs_path).assign(file=path.name))
        meta[path.name] = json.loads(meta_path.read_text())
    summary = pd.concat(summaries, ignore_index=True)
    twice = summary[summary.duplicated(list(key), keep=False)]
    if len(twice):
        rows = sorted({(*r[list(key)], r.file) for _, r in twice.iterrows()})
        raise ValueError(f"rows measured in more than one file (keep one): {rows}")
    return Tables(summary, pd.concat(runs, ignore_index=True), meta)
