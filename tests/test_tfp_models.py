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


def test_fit_bayes_by_backprop_lowers_the_negative_elbo():
    """The TF loop of chapter 6: a DenseVariational network's negative ELBO falls; bad input is refused."""
    import tensorflow_probability as tfp
    import tf_keras as tfk

    from deepprob.tfp import training

    tfd, tfpl = tfp.distributions, tfp.layers

    def posterior(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        return tfk.Sequential([
            tfpl.VariableLayer(2 * n, dtype=dtype, initializer=tfk.initializers.RandomNormal(stddev=0.5, seed=1)),
            tfpl.DistributionLambda(lambda t: tfd.Independent(
                tfd.Normal(loc=t[..., :n], scale=1e-6 + tf.nn.softplus(-5.0 + t[..., n:])), 1)),
        ])

    def prior(kernel_size, bias_size=0, dtype=None):
        n = kernel_size + bias_size
        return tfk.Sequential([tfpl.DistributionLambda(
            lambda t: tfd.Independent(tfd.Normal(loc=tf.zeros(n, dtype=dtype), scale=1.0), 1))])

    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(40, 1)).astype("float32")
    y = (np.sin(3 * x) + 0.1 * rng.normal(size=x.shape)).astype("float32")
    model = tfk.Sequential([tfk.Input(shape=(1,)),
                            tfpl.DenseVariational(8, posterior, prior, kl_weight=1.0, activation="tanh"),
                            tfpl.DenseVariational(1, posterior, prior, kl_weight=1.0)])
    history = training.fit_bayes_by_backprop(model, x, y, noise_sigma=0.1, shuffle_seed=0, epochs=60,
                                             batch_size=10, boundaries=(40,), learning_rates=(2e-2, 5e-3))
    assert len(history) == 60 and all(np.isfinite(history))
    # Monte Carlo noise of one weight draw per step: compare averages of 10 epochs
    assert np.mean(history[-10:]) < 0.5 * np.mean(history[:10])
    with pytest.raises(ValueError, match="noise_sigma"):
        training.fit_bayes_by_backprop(model, x, y, noise_sigma=0.0, shuffle_seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        training.fit_bayes_by_backprop(model, x, y, noise_sigma=0.1, shuffle_seed=0, batch_size=100)
    with pytest.raises(ValueError, match="learning_rates"):
        training.fit_bayes_by_backprop(model, x, y, noise_sigma=0.1, shuffle_seed=0, learning_rates=(1e-2,))
