"""deepprob.tfp: Lanusse's Dense(2) + IndependentNormal regressor, and a quiet import."""
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats


def test_importing_deepprob_tfp_writes_nothing_to_stderr():
    # nbgrader scores a graded cell 0 if anything reaches stderr; TensorFlow's C++
    # start-up lines must not.
    out = subprocess.run([sys.executable, "-c", "import deepprob.tfp"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "", f"stderr was not empty:\n{out.stderr}"


def test_independent_normal_regressor_outputs_a_normal():
    from deepprob.tfp import independent_normal_regressor

    model = independent_normal_regressor(in_features=2, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    yhat = model(x)
    assert tuple(yhat.batch_shape) == (5,) and tuple(yhat.event_shape) == (1,)
    mean, sd = yhat.mean().numpy(), yhat.stddev().numpy()
    y = np.zeros((5, 1), dtype="float32")
    want = stats.norm.logpdf(y, mean, sd).sum(axis=-1)
    assert np.allclose(yhat.log_prob(y).numpy(), want, rtol=1e-4, atol=1e-5)
    assert (sd > 0).all()


def test_independent_normal_regressor_learns_a_noise_level():
    import tf_keras as tfk

    from deepprob.tfp import independent_normal_regressor

    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(2000, 1)).astype("float32")
    y = (0.5 * x + 0.3 * rng.normal(size=x.shape)).astype("float32")
    model = independent_normal_regressor(in_features=1, seed=0)
    model.compile(optimizer=tfk.optimizers.Adam(0.05), loss=lambda t, d: -d.log_prob(t))
    model.fit(x, y, epochs=300, batch_size=2000, verbose=0)
    sd = model(np.zeros((1, 1), dtype="float32")).stddev().numpy().item()
    # 2000 points: the MLE of sigma has a standard error of about 0.3/sqrt(4000) = 0.005
    assert sd == pytest.approx(0.3, abs=0.03)


def test_bad_sizes_raise():
    from deepprob.tfp import independent_normal_regressor

    with pytest.raises(ValueError):
        independent_normal_regressor(in_features=0)
