"""The checker's data-only channel and hidden tests, without a kernel (issue #10).

The end-to-end grading of checker cells (sandboxed kernel, nbgrader, forged
answers) is in ``tests/test_grading_safety.py`` and ``tests/test_grading_contract.py``;
here the pieces are checked one by one, fast.
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from deepprob.grading.agent import Agent
from deepprob.grading.checker import is_checker_source, sanitise_outputs, split_hidden
from deepprob.grading.checks import Lib, Tensor, array, close, scalar, submission
from deepprob.grading.protocol import ArrayData, ProtocolError, decode, encode_array, loads

from contracts import ex07_mc_dropout as ex07_contract

ROOT = Path(__file__).resolve().parents[1]


#: every assignment of the course: all its graded test cells must be checker code
CHECKER_ASSIGNMENTS = sorted(p.stem for p in (ROOT / "solutions").glob("ex*/ex*.ipynb"))


# ---- protocol -----------------------------------------------------------------------------
@pytest.mark.parametrize("arr", [np.arange(6.0).reshape(2, 3), np.array(3.5), np.array([True, False]),
                                 np.arange(4, dtype=np.int64), np.zeros((0, 2), dtype=np.float32)])
def test_array_round_trip(arr):
    out = decode({"__array__": {**encode_array(arr), "kind": "numpy"}})
    assert isinstance(out, ArrayData) and out.shape == arr.shape
    np.testing.assert_array_equal(out.value, arr)


@pytest.mark.parametrize("bad", [
    {"__array__": {"dtype": "object", "shape": [1], "data": ""}},
    {"__array__": {"dtype": "float64", "shape": [2], "data": base64.b64encode(b"\0" * 8).decode()}},
    {"__array__": {"dtype": "float64", "shape": [-1], "data": ""}},
    {"__array__": {"dtype": "float64", "shape": [1], "data": "not base64!"}},
    {"__pickle__": "gASV"},
    {"__float__": "1e3"},
    {"__array__": {"dtype": "float64", "shape": [True], "data": ""}},
], ids=["object-dtype", "wrong-size", "negative-shape", "bad-base64", "unknown-tag", "bad-float", "bool-shape"])
def test_decode_refuses_what_is_not_data(bad):
    with pytest.raises(ProtocolError):
        decode(bad)


def test_loads_refuses_bare_nan_and_non_json():
    with pytest.raises(ProtocolError):
        loads('{"ok": true, "value": NaN}')
    with pytest.raises(ProtocolError):
        loads("print('hi')")
    with pytest.raises(ProtocolError):
        loads(b"{}")


# ---- agent and checks, in one process -----------------------------------------------------
def test_call_returns_data_and_gradients():
    torch = pytest.importorskip("torch")
    ns = {"f": lambda x, w: (w * x ** 2).sum()}
    sub = submission(ns)
    x = np.array([1.0, -2.0, 3.0])
    r = sub.call("f", Tensor(x, requires_grad=True), 2.0, grad=[0])
    assert scalar(r, "f") == pytest.approx(28.0)
    close(array(r.grads[0], "df/dx"), 4 * x, msg="gradient")
    assert r.value.requires_grad and r.value.dtype == "float64"
    # a float32 tensor travels as float32 and says so
    r = sub.call("f", Tensor(x, dtype="float32"), 1.0)
    assert r.value.dtype == "float32" and r.value.kind == "torch" and not r.value.requires_grad
    assert torch.is_tensor(torch.zeros(1))


def test_a_lying_tensor_becomes_plain_numbers():
    torch = pytest.importorskip("torch")

    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    sub = submission({"f": lambda: torch.tensor(1.0).as_subclass(Liar)})
    value = scalar(sub.call("f"), "f")
    assert type(value) is float and value == 1.0
    with pytest.raises(AssertionError):
        close(value, 2.0)


def test_errors_and_library_callables():
    torch = pytest.importorskip("torch")
    sub = submission({"apply": lambda fn, z: fn(z), "boom": lambda: 1 / 0})
    r = sub.call("apply", Lib("square"), Tensor([3.0]))
    close(array(r, "apply", shape=(1,)), [9.0])
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        sub.call("boom")
    err = sub.call("boom", expect_error=True).error
    assert err.is_a("ArithmeticError")
    with pytest.raises(AssertionError, match="should have raised"):
        sub.call("apply", Lib("identity"), Tensor([1.0]), expect_error=True)
    with pytest.raises(AssertionError, match="not defined"):
        sub.call("missing")
    assert torch.is_tensor(torch.ones(1))


def test_distribution_is_sent_as_type_and_parameters():
    torch = pytest.importorskip("torch")
    sub = submission({"f": lambda: torch.distributions.Normal(torch.zeros(2), torch.full((2,), 3.0))})
    d = sub.call("f").value
    assert d.type == "Normal" and d.batch_shape == (2,)
    close(array(d.params["scale"], "scale"), [3.0, 3.0])


def test_kept_objects_come_back_by_handle():
    pytest.importorskip("torch")

    class Box:
        def __init__(self):
            self.n = 0

        def bump(self, k):
            self.n += k
            return self.n

    sub = submission({"Box": Box})
    box = sub.call("Box", keep=True)
    assert box.handle is not None and box.value.type == "Box"
    sub.call(box.handle, 2, attr="bump")
    assert sub.call(box.handle, 3, attr="bump").value == 5
    assert sub.get(box.handle, "n") == 5


def test_module_op_reads_sets_differentiates_and_trains():
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            out = self.lin(x)
            return torch.distributions.Normal(out[:, :1], torch.nn.functional.softplus(out[:, 1:]) + 1e-3)

    sub = submission({"Net": Net, "plain": object})
    net = sub.call("Net", seed=0, keep=True).handle
    state = sub.module(net, "parameters")
    assert set(state["params"]) == {"lin.weight", "lin.bias"} and state["training"] == {"": True, "lin": True}
    sub.module(net, "assign", values={"lin.weight": Tensor(np.zeros((2, 2)), dtype="float32"),
                                      "lin.bias": Tensor([1.0, 0.0], dtype="float32")})
    d = sub.call(net, Tensor(np.ones((3, 2)), dtype="float32")).value
    close(array(d.params["loc"], "loc"), np.ones((3, 1)))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 2)), rng.standard_normal((64, 1))
    # the gradient of the mean NLL by the bias of the mean, against its closed form
    g = sub.module(net, "grads", x=Tensor(x, dtype="float32"), y=Tensor(y, dtype="float32"))
    s2 = (np.log1p(np.e ** 0) + 1e-3) ** 2  # softplus(0) + 1e-3, squared
    close(array(g["lin.bias"], "grad", kind=None)[0], -(y - 1.0).mean() / s2, rtol=1e-4, msg="NLL gradient")
    before = sub.module(net, "fit", x=Tensor(x, dtype="float32"), y=Tensor(y, dtype="float32"),
                        x_val=Tensor(x, dtype="float32"), y_val=Tensor(y, dtype="float32"), steps=40, lr=0.05)
    assert before["best_step"] > 0
    with pytest.raises(AssertionError, match="could not be inspected: TypeError"):
        sub.module(sub.call("plain", keep=True).handle, "parameters")
    assert torch.is_tensor(torch.zeros(1))


def test_built_models_repeat_and_parameter_gradients():
    torch = pytest.importorskip("torch")

    class LinearVariational(torch.nn.Module):  # the student's class: only its name and type are used
        pass

    def loss(model, x):
        return model(x).sum() + sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))

    sub = submission({"LinearVariational": LinearVariational, "loss": loss,
                      "noisy": lambda x: x + torch.randn(x.shape)})
    layer = {"weight_mu": Tensor(np.ones((1, 2))), "weight_rho": Tensor(np.zeros((1, 2))), "bias_mu": Tensor([0.5]),
             "bias_rho": Tensor([0.0]), "eps_w": Tensor(np.zeros((1, 2))), "eps_b": Tensor([0.0]), "prior_sigma": 1.0}
    model = sub.build("variational_net", subclass_of="LinearVariational", layers=[layer])
    r = sub.call("loss", model, Tensor(np.array([[1.0, 2.0]])), grad_params=0)
    # KL(N(m, log(2)^2) || N(0, 1)) for the means 1, 1 (weights) and 0.5 (bias): sigma = softplus(0) = log 2
    kl = sum(np.log(1 / np.log(2)) + (np.log(2) ** 2 + m ** 2) / 2 - 0.5 for m in (1.0, 1.0, 0.5))
    close(scalar(r, "loss"), 3.5 + kl, msg="fixed-noise forward plus the reference KL")
    close(array(r.param_grads["0.bias_mu"], "grad", kind=None), [1.0 + 0.5], msg="d/d bias_mu: output + KL")
    seq = sub.build("sequential", training=[False, False, True],
                    layers=[{"type": "linear", "weight": Tensor(np.eye(2)), "bias": Tensor(np.zeros(2))},
                            {"type": "dropout", "p": 0.5}])
    assert sub.module(seq, "parameters")["training"] == {"": False, "0": False, "1": True}
    draws = array(sub.call("noisy", Tensor(np.zeros((1, 3))), repeat=50), "noisy", shape=(50, 1, 3))
    assert draws.std() > 0.5


# ---- the checker preprocessor's pieces ----------------------------------------------------
def test_split_hidden_and_checker_detection():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nfrom deepprob.grading.checks import submission\nb = 2\n### END HIDDEN TESTS\n"
    visible, hidden = split_hidden(src)
    assert "HIDDEN" not in visible and "b = 2" not in visible and "a = 1" in visible
    assert "b = 2" in hidden and is_checker_source(src)
    assert not is_checker_source("a = 1\n### BEGIN HIDDEN TESTS\nassert a\n### END HIDDEN TESTS\n")


def test_sanitise_outputs_keeps_text_only():
    outs = [
        {"output_type": "display_data", "data": {"text/html": "<script>x</script>", "text/plain": "<HTML>"}},
        {"output_type": "display_data", "data": {"application/javascript": "alert(1)"}},
        {"output_type": "stream", "name": "stderr", "text": "x" * 50},
        {"output_type": "error", "ename": "AssertionError", "evalue": "no", "traceback": ["\x1b[31mAssertionError\x1b[0m: no"]},
        {"output_type": "execute_result", "data": {"text/plain": "0.5"}, "execution_count": 3},
    ]
    safe = sanitise_outputs(outs, limit=20, keep_errors=False)
    text = json.dumps(safe)
    assert "<script" not in text and "alert" not in text and "\\u001b" not in text
    assert all(o["output_type"] in ("stream", "display_data") for o in safe)
    assert all(o.get("name", "stdout") == "stdout" for o in safe)
    assert "output cut by the grader" in safe[1]["text"]
    kept = sanitise_outputs(outs, keep_errors=True)
    assert [o["output_type"] for o in kept].count("error") == 1


# ---- the hidden tests themselves, run the way an author runs them ---------------------------
def _cells(assignment):
    nb = nbformat.read(str(ROOT / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade_id") != "colab_install"]


def _run(cells, replace=None):
    """Run a solution notebook's code cells in one namespace; ``grade_id -> error`` of the test cells."""
    ns: dict = {}
    failed = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        source = (replace or {}).get(meta.get("grade_id"), cell.source)
        source = re.sub(r"^\s*%.*$", "", source, flags=re.M)
        try:
            exec(compile(source, meta.get("grade_id", "cell"), "exec"), ns)
        except AssertionError as err:
            if not meta.get("grade"):
                raise
            failed[meta["grade_id"]] = str(err)
    return failed


@pytest.mark.parametrize("assignment", CHECKER_ASSIGNMENTS)
def test_hidden_tests_pass_on_the_solution_and_are_checker_code(assignment):
    cells = _cells(assignment)
    meta = [c.metadata.get("nbgrader", {}) for c in cells]
    tests = [c for c, m in zip(cells, meta) if m.get("grade") and not m.get("solution")]
    assert tests and all(is_checker_source(c.source) for c in tests)
    assert _run(cells) == {}


WRONG = {
    "ex01_maximum_likelihood": (
        {"gaussian_nll": "def gaussian_nll(y, mu, log_var):\n"
                         "    return 0.5 * (log_var + (y - mu) ** 2 / torch.exp(log_var)).mean()\n"},
        {"test_gaussian_nll"},
    ),
    "ex02_likelihoods_in_numpyro": (
        {"log_likelihood": "def log_likelihood(params, X, y):\n"
                           "    mu = X @ params['w'] + params['b']\n"
                           "    return jnp.sum(-jnp.log(params['sigma']) - 0.5 * ((y - mu) / params['sigma']) ** 2)\n",
         "linear_regression": "def linear_regression(X, y=None):\n"
                              "    N, D = X.shape\n"
                              "    w = numpyro.sample('w', dist.Normal(0.0, 1.0).expand([D]).to_event(1))\n"
                              "    b = numpyro.sample('b', dist.Normal(0.0, 10.0))\n"
                              "    sigma = numpyro.sample('sigma', dist.HalfNormal(5.0))\n"
                              "    with numpyro.plate('data', N):\n"
                              "        return numpyro.sample('y', dist.Normal(X @ w + b, sigma), obs=y)\n"},
        {"test_log_likelihood", "test_model_likelihood"},
    ),
    "ex03_elbo": (
        {"monte_carlo_kl": "def monte_carlo_kl(mu_q, log_var_q, mu_p, log_var_p, n_samples, generator):\n"
                           "    eps = torch.randn((n_samples,) + tuple(mu_q.shape), generator=generator, dtype=mu_q.dtype)\n"
                           "    z = mu_q + torch.exp(0.5 * log_var_q) * eps\n"
                           "    lq = -0.5 * (log_var_q + (z - mu_q) ** 2 / torch.exp(log_var_q))\n"
                           "    lp = -0.5 * (log_var_p + (z - mu_p) ** 2 / torch.exp(log_var_p))\n"
                           "    return (lq - lp).sum(-1).sum(0) / (n_samples + 1)\n"},
        {"test_monte_carlo_kl"},
    ),
    "ex04_reparameterization": (
        {"score_function_gradient": "def score_function_gradient(f, mu, log_var, n_samples, generator):\n"
                                    "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
                                    "    sigma = torch.exp(0.5 * log_var.detach())\n"
                                    "    values = f(mu.detach() + sigma * eps).detach()[:, None]\n"
                                    "    return (values * eps / sigma).mean(0), (values * (eps ** 2 - 1)).mean(0)\n"},
        {"test_score_function_gradient"},
    ),
    "ex05_heteroscedastic_regression": (
        {"HeteroscedasticMLP": "class HeteroscedasticMLP(nn.Module):\n"
                               "    def __init__(self, in_features, hidden_features):\n"
                               "        super().__init__()\n"
                               "        self.net = nn.Sequential(nn.Linear(in_features, hidden_features), nn.Tanh(),\n"
                               "                                 nn.Linear(hidden_features, 2))\n\n"
                               "    def forward(self, x):\n"
                               "        out = self.net(x)\n"
                               "        return torch.distributions.Normal(out[:, :1], torch.exp(out[:, 1:]))\n"},
        {"test_positive_scale"},
    ),
    "ex06_bayesian_neural_networks": (
        {"negative_elbo": "def negative_elbo(model, x, y, noise_sigma, kl_weight):\n"
                          "    with torch.no_grad():\n"
                          "        f = model(x)\n"
                          "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma)\n"
                          "           + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
                          "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
                          "    return nll + kl_weight * kl\n"},
        {"test_negative_elbo"},
    ),
    "ex07_mc_dropout": (  # the contract's own wrong answer (train mode, only BatchNorm put back)
        next(c.replace for c in ex07_contract.CASES if c.name == "pred_train_but_batchnorm"),
        {"test_mc_dropout_predict"},
    ),
    "ex08_mixture_density_networks": (
        {"mdn_nll": "def mdn_nll(logits, mu, log_sigma, y):\n"
                    "    w = torch.softmax(logits, dim=-1)\n"
                    "    dens = torch.exp(-0.5 * ((y.reshape(-1, 1) - mu) / log_sigma.exp()) ** 2) / (log_sigma.exp() * math.sqrt(2 * math.pi))\n"
                    "    return -torch.log((w * dens).sum(-1)).mean()\n"},
        {"test_mdn_nll"},
    ),
}


def test_every_checker_assignment_has_a_wrong_answer_here():
    assert "ex01_maximum_likelihood" in CHECKER_ASSIGNMENTS
    assert set(WRONG) == set(CHECKER_ASSIGNMENTS)


@pytest.mark.parametrize("assignment", sorted(WRONG))
def test_hidden_tests_fail_a_wrong_answer(assignment):
    replace, must_fail = WRONG[assignment]
    failed = _run(_cells(assignment), replace)
    assert set(failed) == must_fail, failed


def test_agent_answers_json_only():
    agent = Agent({"f": lambda: {"a": [1, 2.5, None, float("nan")]}})
    reply = json.loads(agent.serve(json.dumps({"op": "call", "target": "f"})))
    assert reply["ok"] and decode(reply["value"])["a"][:3] == [1, 2.5, None]


def test_kernel_environment_is_cleared_and_gets_fast_xla_compilation(monkeypatch):
    from deepprob.grading.checker import CheckerExecute

    monkeypatch.setenv("DEEPPROB_TEST_SECRET", "x")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    env = CheckerExecute()._env()
    assert "DEEPPROB_TEST_SECRET" not in env
    assert "--xla_backend_optimization_level=0" in env["XLA_FLAGS"]
    assert "XLA_FLAGS" not in CheckerExecute(xla_flags="")._env()
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    assert CheckerExecute()._env()["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false"  # the grader's own wins
