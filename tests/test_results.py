"""deepprob.results: the book reads the committed benchmark tables through one helper."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from deepprob import results


def write(folder, name, rows):
    pd.DataFrame(rows).to_csv(folder / name, index=False)
    pd.DataFrame([{**r, "split": 0} for r in rows]).to_csv(folder / name.replace(".csv", "_runs.csv"), index=False)
    (folder / (name + ".meta.json")).write_text(json.dumps({"command": f"make {name}"}))


def test_reads_every_matching_file_with_runs_and_provenance(tmp_path):
    write(tmp_path, "uci_a.csv", [{"dataset": "boston", "method": "m1", "ll_mean": -2.5}])
    write(tmp_path, "uci_b.csv", [{"dataset": "boston", "method": "m2", "ll_mean": -2.4},
                                  {"dataset": "diabetes", "method": "m2", "ll_mean": -5.4}])
    write(tmp_path, "other.csv", [{"dataset": "x", "method": "m9", "ll_mean": 0.0}])
    t = results.read_tables("uci_*.csv", folder=tmp_path)
    assert sorted(t.summary.method) == ["m1", "m2", "m2"]            # not other.csv, not the _runs files
    assert set(t.summary.file) == {"uci_a.csv", "uci_b.csv"} and len(t.runs) == 3
    assert t.meta["uci_b.csv"]["command"] == "make uci_b.csv"


def test_refuses_a_row_measured_twice_and_missing_files(tmp_path):
    write(tmp_path, "uci_a.csv", [{"dataset": "boston", "method": "m1", "ll_mean": -2.5}])
    write(tmp_path, "uci_b.csv", [{"dataset": "boston", "method": "m1", "ll_mean": -2.4}])
    with pytest.raises(ValueError, match="more than one file"):
        results.read_tables("uci_*.csv", folder=tmp_path)
    with pytest.raises(FileNotFoundError, match="no file matches"):
        results.read_tables("nothing_*.csv", folder=tmp_path)
    (tmp_path / "uci_b_runs.csv").unlink()
    with pytest.raises(FileNotFoundError, match="uci_b_runs.csv"):
        results.read_tables("uci_*.csv", folder=tmp_path)


def test_finds_the_repository_results_and_the_committed_uci_tables_are_consistent():
    folder = results.results_dir()
    assert (folder / "uncertainty.csv").is_file()
    t = results.read_tables("uci_*.csv")
    assert t.summary.n_splits.min() >= 20                            # issue 14: 20 splits each
    counts = t.runs.groupby(["dataset", "method"]).size()
    assert (counts == t.summary.set_index(["dataset", "method"]).n_splits.reindex(counts.index)).all()


def test_outside_a_clone_says_where_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "__file__", str(tmp_path / "site-packages" / "deepprob" / "results.py"))
    with pytest.raises(FileNotFoundError, match="clone of the repository"):
        results.results_dir(tmp_path)
