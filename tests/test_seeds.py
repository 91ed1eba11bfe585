"""deepprob.seeds: one base seed, DEEPPROB_SEED, from which every seed of the course is derived."""
from __future__ import annotations

import numpy as np
import pytest

from deepprob import seeds


def test_base_defaults_to_zero(monkeypatch):
    monkeypatch.delenv("DEEPPROB_SEED", raising=False)
    assert seeds.base() == 0
    monkeypatch.setenv("DEEPPROB_SEED", " ")
    assert seeds.base() == 0


def test_base_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DEEPPROB_SEED", "7")
    assert seeds.base() == 7


@pytest.mark.parametrize("bad", ["-1", "1.5", "abc"])
def test_bad_base_seed_says_what_to_do(monkeypatch, bad):
    monkeypatch.setenv("DEEPPROB_SEED", bad)
    with pytest.raises(ValueError, match="non-negative integer"):
        seeds.base()


def test_derive_is_stable_and_depends_on_base_and_keys(monkeypatch):
    monkeypatch.setenv("DEEPPROB_SEED", "0")
    a = seeds.derive("ch08", "mdn")
    assert a == seeds.derive("ch08", "mdn")
    assert a == seeds.derive("ch08", "mdn", base_seed=0)
    assert a != seeds.derive("ch08", "mse")
    assert a != seeds.derive("ch08", "mdn", base_seed=1)
    monkeypatch.setenv("DEEPPROB_SEED", "1")
    assert seeds.derive("ch08", "mdn") == seeds.derive("ch08", "mdn", base_seed=1)
    # a known value: the derivation must not change silently between machines or versions
    expected = int(np.random.SeedSequence([0, 3]).generate_state(1, dtype=np.uint32)[0] % (2**31 - 1))
    assert seeds.derive(3, base_seed=0) == expected


def test_derived_seeds_are_valid_everywhere():
    values = seeds.derive_many(200, "x", base_seed=5)
    assert len(set(values)) == 200
    assert all(0 <= v < 2**31 - 1 for v in values)
    np.random.default_rng(values[0])


@pytest.mark.parametrize("key", [1.5, None, True, -3])
def test_bad_keys_are_refused(key):
    with pytest.raises((TypeError, ValueError)):
        seeds.derive("ch01", key)


def test_derive_leaves_global_generators_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    seeds.derive("a", "b")
    assert (np.random.get_state()[1] == before).all()


# ------------------------------------------------------------------ global state
GLOBAL_RESEEDS = ("torch.manual_seed", "torch.seed", "np.random.seed", "numpy.random.seed", "random.seed",
                  "tf.random.set_seed", "tensorflow.random.set_seed")


def _reseeding_calls(path):
    """Calls in a source file that reseed a global generator (``torch.Generator().manual_seed`` is local)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in GLOBAL_RESEEDS or name.endswith("].random.seed") or name.endswith("().manual_seed") and "Generator" not in name:
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_only_the_seeds_module_reseeds_global_generators():
    from pathlib import Path

    package = Path(seeds.__file__).parent
    offenders = [call for path in sorted(package.rglob("*.py")) if path.name != "seeds.py"
                 for call in _reseeding_calls(path)]
    assert offenders == [], (
        "global random generators are seeded only in deepprob/seeds.py (seed_torch, torch_seeded, "
        f"seed_tensorflow, seed_globals); found {offenders}")
    assert _reseeding_calls(package / "seeds.py"), "the scan must see the calls in seeds.py itself"


def test_seed_helpers_validate_and_restore():
    import torch

    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    with seeds.torch_seeded(3) as generator:
        inside = torch.rand(2)
        assert isinstance(generator, torch.Generator)
    assert torch.equal(torch.rand(2), expected), "torch_seeded must restore the caller's state"
    with seeds.torch_seeded(3):
        assert torch.equal(torch.rand(2), inside)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="seed"):
            seeds.seed_torch(bad)
    seeds.seed_globals(7)
    a = (np.random.rand(), torch.rand(1).item())
    seeds.seed_globals(7)
    assert (np.random.rand(), torch.rand(1).item()) == a
