"""What a hidden test is written against: the student's notebook as data (issue #10).

A graded test cell of an exercise has a visible part, which the student runs in
their own notebook, and a hidden part written against this module::

    ### BEGIN HIDDEN TESTS
    from deepprob.grading.checks import Tensor, close, scalar, submission
    sub = submission(globals())
    out = sub.call("gaussian_nll", Tensor(y), Tensor(mu), Tensor(log_var), grad=[1, 2])
    close(scalar(out, "gaussian_nll"), reference(y, mu, log_var), rtol=1e-6,
          msg="gaussian_nll differs from -log N(y; mu, exp(log_var)) averaged")
    ### END HIDDEN TESTS

When the course grades a submission, the hidden part runs in the grader's own
process (:class:`deepprob.grading.checker.CheckerExecute`), never in the
student's kernel: ``submission(globals())`` returns a proxy whose requests go to
the kernel as JSON and whose replies are decoded by
:mod:`deepprob.grading.protocol` into numpy arrays the checker built itself.
When an author runs the solution notebook, the same code finds no proxy and
talks to the notebook's own namespace through the same encoding, so a hidden
test behaves the same in both places.

A failed check raises ``AssertionError`` with a message meant for the student.
"""
from __future__ import annotations

import builtins
import json
import math

import numpy as np

from .protocol import (
    ArrayData, DistributionData, Generator, Handle, Lib, ObjectData, ProtocolError, RemoteError, Tensor, loads,
)

__all__ = [
    "Submission", "Reply", "submission", "Tensor", "Generator", "Lib", "Handle", "ArrayData", "DistributionData", "ObjectData",
    "RemoteError", "array", "scalar", "close", "distribution", "SUBMISSION_KEY",
]

#: name under which the checker puts the remote proxy in a hidden test's namespace
SUBMISSION_KEY = "__deepprob_submission__"


def _to_json(value):
    if isinstance(value, (Tensor, Lib, Generator)):
        return value.to_json()
    if isinstance(value, Handle):
        return {"__handle__": value.id}
    if isinstance(value, (ObjectData,)) and value.handle is not None:
        return {"__handle__": value.handle}
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.ndarray):
        return Tensor(value, dtype=value.dtype.name, kind="numpy").to_json()
    if isinstance(value, np.generic):
        return _to_json(value.item())
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): _to_json(v) for k, v in value.items()}}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


class Reply:
    """The decoded answer to one request.

    Attributes
    ----------
    value : object
        The result: ``ArrayData``, ``DistributionData``, ``ObjectData``, numbers, strings,
        lists or dicts of these.
    error : RemoteError or None
        The exception the student's code raised, if it did.
    grads : list or RemoteError or None
        Gradients of ``sum(result)`` with respect to the requested arguments (``ArrayData``
        or ``None`` where the result does not depend on that argument).
    handle : Handle or None
        The result kept in the kernel (``keep=True``), to pass to later requests.
    args_after : list or None
        The arguments as they were after the call (``args_after=True``).
    param_grads : dict or RemoteError or None
        Gradients of ``sum(result)`` by every parameter of the module argument ``grad_params``
        names (``{name: ArrayData or None}``).
    """

    def __init__(self, name: str, raw: dict):
        self.name = name
        if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
            raise ProtocolError("reply is not a request result")
        self.ok = raw["ok"]
        self.value = raw.get("value")
        self.error = raw.get("error") if not self.ok else None
        if not self.ok and not isinstance(self.error, RemoteError):
            raise ProtocolError("failed reply without an error")
        grads = raw.get("grads")
        self.grads = grads
        handle = raw.get("handle")
        self.handle = Handle(handle) if isinstance(handle, int) and not isinstance(handle, bool) else None
        self.args_after = raw.get("args_after")
        self.param_grads = raw.get("param_grads")

    def __repr__(self) -> str:
        return f"Reply({self.name}, ok={self.ok}, value={self.value!r})"


_ACTIONS = {"parameters": "inspected", "assign": "given new weights", "grads": "differentiated", "fit": "trained"}


class Submission:
    """The student's notebook, reached only through JSON requests.

    Parameters
    ----------
    transport : callable
        ``transport(request_text) -> reply_text``: sends one request to the kernel (or to
        a local :class:`deepprob.grading.agent.Agent`) and returns its JSON answer.
    """

    def __init__(self, transport):
        self._transport = transport

    def request(self, request: dict, name: str = "") -> Reply:
        text = self._transport(json.dumps(request, allow_nan=False))
        try:
            return Reply(name, loads(text))
        except ProtocolError as err:
            raise AssertionError(f"the notebook's answer to the grader could not be read: {err}") from None

    def call(self, target, *args, grad=None, keep=False, seed=None, no_grad=False, args_after=False,
             expect_error=False, attr=None, repeat=None, grad_params=None, **kwargs) -> Reply:
        """Call the notebook's ``target`` (a name, or a :class:`Handle`) on ``args``.

        Parameters
        ----------
        target : str or Handle
            A global name of the notebook (``"gaussian_nll"``), or a kept object.
        *args, **kwargs
            Arguments: :class:`Tensor` (built fresh in the kernel), :class:`Lib`, handles,
            numbers, strings, lists, tuples, dicts, numpy arrays.
        grad : list of int or str, optional
            Arguments (positions or keyword names) to differentiate ``sum(result)`` by.
        keep : bool
            Keep the result in the kernel and return a handle to it.
        seed : int, optional
            Seed torch's and numpy's global generators in the kernel before the call.
        no_grad : bool
            Call under ``torch.no_grad()``.
        args_after : bool
            Also return the arguments as they are after the call (in-place changes).
        expect_error : bool
            Return a reply whose ``error`` is set instead of failing when the call raises.
        attr : str, optional
            Dotted attribute of ``target`` to call (``"forward"``, ``"layer.sample"``).
        repeat : int, optional
            Call ``repeat`` times; tensors of one shape come back stacked, shape ``(repeat, ...)``.
        grad_params : int, optional
            Position of a ``torch.nn.Module`` argument: also return the gradients of
            ``sum(result)`` by its parameters (``Reply.param_grads``).

        Raises
        ------
        AssertionError
            When the call raises (unless ``expect_error``) or the answer is not valid data.
        """
        name = target if isinstance(target, str) else f"<{getattr(target, 'type', '') or 'object'}>"
        if attr:
            name = f"{name}.{attr}"
        request = {
            "op": "call", "target": _to_json(target) if not isinstance(target, str) else target,
            "attr": attr, "args": [_to_json(a) for a in args], "kwargs": {k: _to_json(v) for k, v in kwargs.items()},
            "keep": bool(keep), "seed": seed, "no_grad": bool(no_grad), "args_after": bool(args_after),
            "repeat": int(repeat) if repeat else None, "grad_params": grad_params,
        }
        if grad is not None:
            request["grad"] = list(grad)
        reply = self.request(request, name)
        if reply.error is not None and not expect_error:
            raise AssertionError(f"{name}(...) raised {reply.error.type}: {reply.error.message}")
        if expect_error and reply.error is None:
            raise AssertionError(f"{name}(...) should have raised an error for this input, but returned normally")
        return reply

    def trace(self, model: str, *args, rng_seed: int = 0, substitute: dict | None = None, draws: int = 0,
              support: dict | None = None, **kwargs) -> dict:
        """Run the notebook's NumPyro ``model`` once and return its sample sites as data.

        Parameters
        ----------
        model : str
            Name of the model function in the notebook.
        *args, **kwargs
            Its arguments (``Tensor(..., kind="jax")``, ``None``...).
        rng_seed : int
            Seed of ``numpyro.handlers.seed``.
        substitute : dict, optional
            ``site -> value`` fixed with ``numpyro.handlers.substitute``.
        draws : int
            Also draw this many samples from every site's distribution.
        support : dict, optional
            ``site -> points``: whether each point is in that site's support.

        Returns
        -------
        dict
            ``{"returned": value, "sites": {name: {"observed", "value", "distribution",
            "log_prob", ["draws"], ["support"]}}}`` (arrays as ``ArrayData``).

        Raises
        ------
        AssertionError
            When running the model raises.
        """
        request = {"op": "trace", "target": model, "args": [_to_json(a) for a in args],
                   "kwargs": {k: _to_json(v) for k, v in kwargs.items()}, "rng_seed": int(rng_seed),
                   "substitute": _to_json(substitute) if substitute else None, "draws": int(draws),
                   "support": _to_json(support) if support else None}
        reply = self.request(request, model)
        if reply.error is not None:
            raise AssertionError(f"running {model} raised {reply.error.type}: {reply.error.message}")
        value = reply.value
        if not (isinstance(value, dict) and isinstance(value.get("sites"), dict)):
            raise AssertionError(f"the trace of {model} could not be read")
        return value

    def module(self, target, action: str, **fields):
        """Act on a kept ``torch.nn.Module`` (``action``: ``"parameters"``, ``"assign"``, ``"grads"``, ``"fit"``).

        Parameters
        ----------
        target : Handle
            The module, kept by an earlier ``call(..., keep=True)``.
        action : str
            ``"parameters"``: ``{"params": {name: ArrayData}, "buffers": {name: ArrayData},
            "training": {module name: bool}}``;
            ``"assign"``: set parameters from ``values={name: Tensor}``;
            ``"grads"``: gradients by every parameter of the mean NLL ``-model(x).log_prob(y).mean()``
            (``of="nll"``) or of ``model(x).<of>.sum()`` (``of="loc"``...), ``{name: ArrayData or None}``;
            ``"fit"``: full-batch Adam on the mean NLL (``x, y, x_val, y_val, steps, lr, eval_every,
            seed``), keeping the parameters of the lowest validation NLL; ``{"best_val", "best_step"}``.
        **fields
            The action's inputs (``Tensor``s, numbers).

        Raises
        ------
        AssertionError
            When the action raises in the kernel (not a module, a forward that fails...).
        """
        request = {"op": "module", "target": _to_json(target), "action": action,
                   **{k: _to_json(v) for k, v in fields.items()}}
        reply = self.request(request, action)
        if reply.error is not None:
            raise AssertionError(f"the model could not be {_ACTIONS.get(action, action)}: "
                                 f"{reply.error.type}: {reply.error.message}")
        return reply.value

    def build(self, model: str, **spec) -> Handle:
        """Build one of the agent's fixed models (:data:`deepprob.grading.agent.MODELS`) in the kernel.

        Parameters
        ----------
        model : str
            Its name, e.g. ``"variational_net"``.
        **spec
            Its specification (``Tensor``s for weights and noise, numbers, the notebook class to
            derive from).

        Returns
        -------
        Handle
            The model, kept in the kernel, to pass to the notebook's functions.
        """
        reply = self.request({"op": "build", "model": model, "spec": _to_json(spec)}, model)
        if reply.error is not None or reply.handle is None:
            raise AssertionError(f"the grader's {model} could not be built in the notebook: {reply.error}")
        return reply.handle

    def keep(self, value) -> Handle:
        """Build ``value`` (e.g. a :class:`Tensor`) in the kernel once and keep it, to pass to several calls."""
        reply = self.request({"op": "keep", "value": _to_json(value)}, "keep")
        if reply.error is not None or reply.handle is None:
            raise AssertionError(f"the notebook could not build an argument: {reply.error}")
        return reply.handle

    def get(self, target, attr: str | None = None, keep: bool = False):
        """The value of a notebook global (or of ``target.attr``), as data."""
        request = {"op": "get", "target": _to_json(target) if not isinstance(target, str) else target,
                   "attr": attr, "keep": bool(keep)}
        reply = self.request(request, str(target))
        if reply.error is not None:
            raise AssertionError(f"{target}{'.' + attr if attr else ''}: {reply.error.type}: {reply.error.message}")
        return reply.value


def submission(namespace: dict) -> Submission:
    """The submission a hidden test checks: the grader's proxy, or the notebook itself.

    Parameters
    ----------
    namespace : dict
        The hidden test's ``globals()``. Under the grader it holds the proxy
        (:data:`SUBMISSION_KEY`); in an author's kernel it is the notebook's own
        namespace, served by a local :class:`deepprob.grading.agent.Agent`.
    """
    proxy = namespace.get(SUBMISSION_KEY)
    if isinstance(proxy, Submission):
        return proxy
    from .agent import Agent

    agent = namespace.get("_deepprob_local_agent")
    if not isinstance(agent, Agent):
        agent = Agent(namespace)
        namespace["_deepprob_local_agent"] = agent
    return Submission(agent.serve)


def _value(value):
    return value.value if isinstance(value, Reply) else value


def _what(value) -> str:
    """What the kernel returned, in words: a type name."""
    return value.type if isinstance(value, (ObjectData, DistributionData)) else builtins.type(value).__name__


def array(value, name: str, shape=None, kind: str | None = "torch", finite: bool = True) -> np.ndarray:
    """Check that a returned value is an array (of ``kind``, of ``shape``) and give its values as float64.

    Raises
    ------
    AssertionError
        With a message naming ``name`` when it is not.
    """
    value = _value(value)
    if not isinstance(value, ArrayData):
        raise AssertionError(f"{name} must return an array{' (a torch.Tensor)' if kind == 'torch' else ''}, "
                             f"got {_what(value)}")
    if kind is not None and value.kind != kind:
        want = {"torch": "a torch.Tensor", "numpy": "a numpy array", "jax": "a JAX array"}.get(kind, kind)
        raise AssertionError(f"{name} must return {want}, got a {value.kind} value")
    if shape is not None and value.shape != tuple(shape):
        raise AssertionError(f"{name} must return shape {tuple(shape)}, got shape {value.shape}")
    out = np.asarray(value.value, dtype=np.float64)
    if finite and not np.all(np.isfinite(out)):
        raise AssertionError(f"{name} returned values that are not finite (nan or inf)")
    return out


def scalar(value, name: str, kind: str | None = "torch") -> float:
    """A returned 0-d array (a scalar tensor, by default) as a float."""
    return float(array(value, name, shape=(), kind=kind))


def distribution(value, name: str, type: str, batch_shape=None) -> dict[str, np.ndarray]:
    """Check that a returned value is a ``torch.distributions.<type>`` and give its parameters.

    Parameters
    ----------
    value : DistributionData or Reply
        What the kernel returned.
    name : str
        What returned it, for the message.
    type : str
        The class name expected, e.g. ``"Normal"``.
    batch_shape : tuple, optional
        The batch shape expected.

    Returns
    -------
    dict
        ``parameter name -> ArrayData`` as the kernel sent it (dtype kept).

    Raises
    ------
    AssertionError
        With a message naming ``name`` when it is not.
    """
    value = _value(value)
    if not isinstance(value, DistributionData) or not value.module.startswith("torch.distributions"):
        raise AssertionError(f"{name} must return a torch.distributions.{type}, got {_what(value)}")
    if value.type != type:
        raise AssertionError(f"{name} must return a torch.distributions.{type}, got {value.type}")
    if batch_shape is not None and tuple(value.batch_shape) != tuple(batch_shape):
        raise AssertionError(f"{name} must return a distribution of batch shape {tuple(batch_shape)}, "
                             f"got {tuple(value.batch_shape)}")
    return dict(value.params)


def close(actual, expected, rtol: float = 1e-6, atol: float = 1e-8, msg: str = "values differ") -> None:
    """Assert ``|actual - expected| <= atol + rtol |expected|`` elementwise, with shapes equal.

    The message gets the largest error appended.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{msg} (shape {a.shape}, expected {e.shape})")
    if not np.all(np.isfinite(a)):
        raise AssertionError(f"{msg} (the values are not finite)")
    err = np.abs(a - e)
    if not np.all(err <= atol + rtol * np.abs(e)):
        raise AssertionError(f"{msg} (largest error {err.max():.3g})")
