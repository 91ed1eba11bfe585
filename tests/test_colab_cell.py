"""The Colab install cell of every exercise (issue #13, item 4), tested offline.

The cell is run through IPython's own input transformer (which turns ``%pip`` into a
``run_line_magic`` call) with a recording stand-in for ``get_ipython``: outside Colab
nothing is installed; with ``google.colab`` imported it installs ``deepprob`` from the
repository that ``_config.yml`` names, with the extras the notebook's imports need.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from deepprob.grading import colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "exercises").glob("*/*.ipynb"))


def _install_cell(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.metadata.get("nbgrader", {}).get("grade_id") == colab.GRADE_ID, (
        f"{path.name}: the first code cell is not the Colab install cell; run python -m deepprob.grading colab")
    return first_code.source


def _run(source: str, on_colab: bool, monkeypatch) -> list[tuple[str, str]]:
    calls = []

    class Shell:
        def run_line_magic(self, name, line):
            calls.append((name, line))

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "<colab cell>", "exec"), {"get_ipython": Shell})
    return calls


def test_every_solution_has_the_current_cell():
    assert colab.sync(ROOT, write=False) == [], "run: python -m deepprob.grading colab && make exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_cell_installs_only_on_colab(path, monkeypatch):
    source = _install_cell(path)
    assert _run(source, on_colab=False, monkeypatch=monkeypatch) == []
    calls = _run(source, on_colab=True, monkeypatch=monkeypatch)
    url, branch = colab.repository(ROOT)
    assert len(calls) == 1 and calls[0][0] == "pip", calls
    assert f"git+{url}@{branch}" in calls[0][1] and calls[0][1].startswith("install ")


def test_extras_follow_the_imports():
    assert colab.extras(["import numpyro\nimport jax.numpy as jnp", "from deepprob.data import VinkToy"]) == [
        "data", "numpyro"]
    assert colab.extras(["import torch.nn.functional as F", "import math"]) == ["torch"]
    assert colab.extras(["import torchvision"]) == []
    ex02 = _install_cell(ROOT / "exercises" / "ex02_likelihoods_in_numpyro" / "ex02_likelihoods_in_numpyro.ipynb")
    assert '"deepprob[numpyro] @ git+' in ex02


def test_repository_must_be_named(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\n")
    with pytest.raises(ValueError, match="repository.url"):
        colab.repository(tmp_path)
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/c/\n")
    assert colab.repository(tmp_path) == ("https://example.org/c", "main")
