"""The package's shape (COURSE.md §2): `import deepprob` and the framework-free
modules import no framework; each framework module imports only its own and
never another deepprob framework module."""
import subprocess
import sys

import pytest

WATCHED = ("torch", "tensorflow", "jax", "numpyro", "deepprob.torch", "deepprob.tfp", "deepprob.numpyro")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(m for m in {WATCHED!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "statement, forbidden",
    [
        ("import deepprob", set(WATCHED)),
        ("from deepprob import data, metrics, plotting", set(WATCHED)),
        ("from deepprob import predictive", set(WATCHED)),
        ("from deepprob import tabular", set(WATCHED)),
        ("from deepprob import results", set(WATCHED)),
        ("from deepprob import torch", {"tensorflow", "jax", "numpyro", "deepprob.tfp", "deepprob.numpyro"}),
        # TensorFlow itself imports jax when jax is installed; deepprob.tfp must not add numpyro or torch.
        ("from deepprob import tfp", {"torch", "numpyro", "deepprob.torch", "deepprob.numpyro"}),
        ("from deepprob import numpyro", {"torch", "tensorflow", "deepprob.torch", "deepprob.tfp"}),
    ],
)
def test_framework_isolation(statement, forbidden):
    loaded = _loaded_after(statement)
    assert not loaded & forbidden, f"`{statement}` imported {sorted(loaded & forbidden)}"
