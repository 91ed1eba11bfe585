"""The kernel side of the checker's data-only channel (issue #10).

The checker (:mod:`deepprob.grading.checker`) sends each request as a user
expression ``__import__("deepprob.grading.agent").grading.agent.serve("<json>")``;
:func:`serve` looks the named object up in the notebook's namespace, builds the
arguments the request describes (fresh tensors, kept objects, functions of the
fixed :data:`LIBRARY`), calls it and answers with JSON made by
:mod:`deepprob.grading.protocol`.

This module runs inside the student's process and is **not trusted**: the
student's code can replace every function here. It only has to be *correct*
for honest code; the checker trusts nothing but the data it decodes.
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from .. import seeds
from .protocol import DTYPES, encode_array

__all__ = ["Agent", "serve", "LIBRARY", "MODELS"]


def _torch():
    return sys.modules.get("torch")


#: Callables a request may pass as arguments, by name (``protocol.Lib``). Each
#: takes a tensor and returns a tensor, written with torch operations so that
#: gradients flow through them.
LIBRARY = {
    "square": lambda z: z ** 2,
    "identity": lambda z: z,
    "sum": lambda z: z.sum(-1),
    "sum_square": lambda z: (z ** 2).sum(-1),
    "sum_sin": lambda z: _torch().sin(z).sum(-1),
    "sum_exp": lambda z: _torch().exp(z).sum(-1),
    "step_first": lambda z: (z[:, 0] > 0).to(z.dtype),
}


def _variational_net(namespace, spec):
    """``nn.Sequential`` of fixed-noise Bayesian linear layers, each an instance of the notebook's class.

    ``spec``: ``{"subclass_of": name, "layers": [{"weight_mu", "weight_rho", "bias_mu", "bias_rho", "eps_w",
    "eps_b", "prior_sigma"}, ...]}``; tanh between layers, each hidden layer nested in its own
    ``nn.Sequential`` (so that only ``model.modules()``, not ``model.children()``, finds them all).
    Forward uses the given noise; ``kl_divergence()`` is the reference, by ``torch.distributions``.
    """
    torch = __import__("torch")
    nn, F, D = torch.nn, torch.nn.functional, torch.distributions
    base = namespace.get(spec.get("subclass_of", ""))
    if not (isinstance(base, type) and issubclass(base, nn.Module)):
        base = nn.Module

    class Fixed(base):
        def __init__(self, layer):
            nn.Module.__init__(self)
            self.prior_sigma = float(layer["prior_sigma"])
            for name in ("weight_mu", "weight_rho", "bias_mu", "bias_rho"):
                setattr(self, name, nn.Parameter(layer[name]))
            self.eps_w, self.eps_b = layer["eps_w"], layer["eps_b"]

        def forward(self, x):
            weight = self.weight_mu + F.softplus(self.weight_rho) * self.eps_w
            bias = self.bias_mu + F.softplus(self.bias_rho) * self.eps_b
            return x @ weight.T + bias

        def kl_divergence(self):
            total = 0.0
            for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
                q, p = D.Normal(mu, F.softplus(rho)), D.Normal(torch.zeros_like(mu), self.prior_sigma)
                total = total + D.kl_divergence(q, p).sum()
            return total

    Fixed.__name__ = Fixed.__qualname__ = spec.get("subclass_of") or "LinearVariational"
    layers = [Fixed(layer) for layer in spec["layers"]]
    return nn.Sequential(*[nn.Sequential(layer, nn.Tanh()) for layer in layers[:-1]], layers[-1])


def _sequential(namespace, spec):
    """``nn.Sequential`` of standard layers with given weights, statistics and train/eval flags.

    ``spec``: ``{"layers": [{"type": "linear", "weight", "bias"} | {"type": "dropout", "p"} |
    {"type": "batchnorm1d", "running_mean", "running_var"} | {"type": "relu" | "rrelu" | "tanh"}, ...],
    "training": [flag of the model, flag of layer 0, ...]}``; the dtype is the weights'.
    """
    torch = __import__("torch")
    nn = torch.nn
    layers = []
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "linear":
            weight, bias = layer["weight"], layer["bias"]
            module = nn.Linear(weight.shape[1], weight.shape[0], dtype=weight.dtype)
            with torch.no_grad():
                module.weight.copy_(weight)
                module.bias.copy_(bias)
        elif kind == "batchnorm1d":
            mean, var = layer["running_mean"], layer["running_var"]
            module = nn.BatchNorm1d(mean.shape[0], dtype=mean.dtype)
            with torch.no_grad():
                module.running_mean.copy_(mean)
                module.running_var.copy_(var)
        elif kind == "dropout":
            module = nn.Dropout(float(layer["p"]))
        else:
            module = {"relu": nn.ReLU, "rrelu": nn.RReLU, "tanh": nn.Tanh}[kind]()
        layers.append(module)
    model = nn.Sequential(*layers)
    for module, flag in zip([model, *layers], spec.get("training") or []):
        module.training = bool(flag)
    return model


#: Models a request may ask the kernel to build (``op="build"``), by name: ``fn(namespace, spec)``.
MODELS = {"variational_net": _variational_net, "sequential": _sequential}


class Agent:
    """Answers checker requests against one namespace (a notebook's globals)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.kept: dict[int, object] = {}

    # ---- arguments -----------------------------------------------------------------
    def build(self, obj):
        if isinstance(obj, list):
            return [self.build(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__tensor__" in obj:
            return self._tensor(obj["__tensor__"])
        if "__handle__" in obj:
            return self.kept[int(obj["__handle__"])]
        if "__generator__" in obj:
            spec = obj["__generator__"]
            seed, kind = int(spec["seed"]), spec.get("kind", "torch")
            if kind == "jax":
                import jax

                return jax.random.PRNGKey(seed)
            if kind == "numpy":
                return np.random.default_rng(seed)
            return __import__("torch").Generator().manual_seed(seed)
        if "__lib__" in obj:
            fn = LIBRARY[obj["__lib__"]]
            return fn
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(self.build(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: self.build(v) for k, v in obj["__dict__"].items()}
        return {k: self.build(v) for k, v in obj.items()}

    def _tensor(self, spec):
        import base64

        raw = base64.b64decode(spec["data"])
        arr = np.frombuffer(raw, dtype=np.dtype(spec.get("array_dtype", "float64")).newbyteorder("<"))
        arr = arr.astype(spec.get("array_dtype", "float64")).reshape(spec["shape"]).copy()
        kind, dtype = spec.get("kind", "torch"), spec.get("dtype", "float64")
        if kind == "numpy":
            return arr.astype(dtype)
        if kind == "jax":
            import jax.numpy as jnp

            return jnp.asarray(arr, dtype=dtype)
        if kind == "python":
            return arr.tolist()
        torch = __import__("torch")
        t = torch.tensor(arr, dtype=getattr(torch, dtype))
        if spec.get("requires_grad"):
            t.requires_grad_(True)
        return t

    # ---- results -------------------------------------------------------------------
    def encode(self, value, keep: bool = False, depth: int = 0):
        if depth > 12:
            return {"__object__": {"type": type(value).__name__, "module": type(value).__module__}}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value if abs(value) < 2 ** 53 else float(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        torch = _torch()
        if torch is not None and isinstance(value, torch.Tensor):
            return {"__array__": self._from_torch(value)}
        if isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype.kind == "c" or arr.dtype == object:
                return {"__object__": {"type": type(value).__name__, "module": "numpy"}}
            spec = encode_array(arr)
            return {"__array__": {**spec, "kind": "numpy", "orig_dtype": arr.dtype.name}}
        mod = type(value).__module__ or ""
        if mod.startswith(("jax", "jaxlib")) and hasattr(value, "shape") and hasattr(value, "dtype"):
            arr = np.asarray(value)
            return {"__array__": {**encode_array(arr), "kind": "jax", "orig_dtype": str(value.dtype)}}
        if mod.startswith("tensorflow") and hasattr(value, "numpy") and hasattr(value, "dtype"):
            arr = np.asarray(value.numpy())
            return {"__array__": {**encode_array(arr), "kind": "tensorflow", "orig_dtype": arr.dtype.name}}
        dist = self._distribution(value, depth)
        if dist is not None:
            return dist
        if isinstance(value, (list, tuple)):
            return [self.encode(v, depth=depth + 1) for v in value][:100_000]
        if isinstance(value, dict):
            return {"__dict__": {str(k): self.encode(v, depth=depth + 1) for k, v in list(value.items())[:10_000]}}
        out = {"type": type(value).__name__, "module": mod}
        if keep:
            out["handle"] = self._keep(value)
        return {"__object__": out}

    def _keep(self, value) -> int:
        handle = len(self.kept) + 1
        self.kept[handle] = value
        return handle

    def _from_torch(self, t) -> dict:
        torch = _torch()
        requires_grad = bool(t.requires_grad)
        orig = str(t.dtype).replace("torch.", "")
        d = t.detach().cpu()
        if d.is_complex():
            d = d.real
        if orig not in DTYPES:
            d = d.to(torch.float64)
        arr = d.resolve_conj().resolve_neg().numpy()
        has_grad = bool(t.is_leaf and t.grad is not None)
        return {**encode_array(arr), "kind": "torch", "orig_dtype": orig, "requires_grad": requires_grad,
                "has_grad": has_grad}

    def _distribution(self, value, depth):
        mod = type(value).__module__ or ""
        if not mod.startswith(("torch.distributions", "numpyro.distributions", "tensorflow_probability")):
            return None
        params = {}
        if mod.startswith("tensorflow_probability"):
            items = dict(getattr(value, "parameters", {}) or {})
            batch = list(getattr(value, "batch_shape", []) or [])
            event = list(getattr(value, "event_shape", []) or [])
        else:
            names = list((getattr(value, "arg_constraints", None) or {}).keys())
            for extra in ("base_dist", "mixture_distribution", "component_distribution",
                          "reinterpreted_batch_ndims", "low", "high", "df", "total_count"):
                if hasattr(value, extra) and extra not in names:
                    names.append(extra)
            items = {}
            for name in names:
                try:
                    items[name] = getattr(value, name)
                except Exception:  # a lazy parameter that cannot be computed
                    continue
            batch = list(value.batch_shape)
            event = list(value.event_shape)
        for name, v in items.items():
            if callable(v) and not hasattr(v, "batch_shape"):
                continue
            params[name] = self.encode(v, depth=depth + 1)
        return {"__distribution__": {"type": type(value).__name__, "module": mod, "params": params,
                                     "batch_shape": [int(n) for n in batch], "event_shape": [int(n) for n in event]}}

    # ---- requests ------------------------------------------------------------------
    def _target(self, spec):
        if isinstance(spec, dict) and "__handle__" in spec:
            return self.kept[int(spec["__handle__"])]
        if spec not in self.namespace:
            raise NameError(f"name {spec!r} is not defined in the notebook")
        return self.namespace[spec]

    def handle(self, request: dict) -> dict:
        op = request.get("op", "call")
        if op == "trace":
            try:
                return {"ok": True, "value": self._trace(request)}
            except Exception as err:
                return {"ok": False, "error": self._error(err)}
        if op == "module":
            try:
                return {"ok": True, "value": self._module(request)}
            except Exception as err:
                return {"ok": False, "error": self._error(err)}
        if op == "build":
            try:
                value = MODELS[request["model"]](self.namespace, self.build(request.get("spec") or {}))
            except Exception as err:
                return {"ok": False, "error": self._error(err)}
            return {"ok": True, "value": self.encode(value), "handle": self._keep(value)}
        if op == "keep":
            try:
                value = self.build(request["value"])
            except Exception as err:
                return {"ok": False, "error": self._error(err)}
            return {"ok": True, "value": self.encode(value), "handle": self._keep(value)}
        try:
            obj = self._target(request["target"])
            for part in (request.get("attr") or "").split("."):
                if part:
                    obj = getattr(obj, part)
            if op == "get":
                return {"ok": True, "value": self.encode(obj, keep=request.get("keep", False))}
            args = self.build(request.get("args", []))
            kwargs = self.build(request.get("kwargs", {}))
            seed = request.get("seed")
            if seed is not None:
                seeds.seed_globals(int(seed))
            torch = _torch()
            repeat = request.get("repeat")

            def run():
                return [obj(*args, **kwargs) for _ in range(int(repeat))] if repeat else obj(*args, **kwargs)

            if request.get("no_grad") and torch is not None:
                with torch.no_grad():
                    out = run()
            else:
                out = run()
        except Exception as err:
            return {"ok": False, "error": self._error(err)}
        if repeat and torch is not None and all(isinstance(o, torch.Tensor) for o in out) \
                and len({tuple(o.shape) for o in out}) == 1:
            out = torch.stack([o.detach() for o in out])  # one array (repeat, ...) rather than many
        reply = {"ok": True, "value": self.encode(out, keep=request.get("keep", False))}
        if request.get("keep"):
            reply["handle"] = self._keep(out)
        if request.get("args_after"):
            reply["args_after"] = [self.encode(a) for a in args]
        wrt = request.get("grad")
        if wrt is not None:
            try:
                reply["grads"] = self._grads(out, args, kwargs, wrt, retain=request.get("grad_params") is not None)
            except Exception as err:
                reply["grads"] = self._error(err)
        module_arg = request.get("grad_params")
        if module_arg is not None:
            try:
                named = [(k, p) for k, p in args[int(module_arg)].named_parameters() if p.requires_grad]
                if not (torch is not None and isinstance(out, torch.Tensor) and out.requires_grad):
                    raise RuntimeError("the result does not depend differentiably on the parameters")
                grads = torch.autograd.grad(out.sum(), [p for _, p in named], allow_unused=True)
                reply["param_grads"] = {"__dict__": {k: self.encode(g) for (k, _), g in zip(named, grads)}}
            except Exception as err:
                reply["param_grads"] = self._error(err)
        return reply

    def _module(self, request) -> dict:
        """Work on a kept ``torch.nn.Module`` whose ``forward`` returns a distribution.

        ``action``: ``"parameters"`` (named parameters, buffers, every module's train flag),
        ``"assign"`` (set named parameters), ``"grads"`` (gradients by every named parameter of
        the mean NLL, of the summed output, of one distribution parameter summed, or of a
        method such as ``kl_divergence()``), ``"fit"`` (full-batch Adam on the mean NLL,
        keeping the parameters of the lowest validation NLL).
        """
        torch = __import__("torch")
        model = self._target(request["target"])
        action = request.get("action")
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
        named = dict(model.named_parameters())
        if action == "parameters":
            flags = {name or "": bool(m.training) for name, m in model.named_modules()}
            buffers = {k: self.encode(v) for k, v in model.named_buffers()}
            return {"__dict__": {"params": {"__dict__": {k: self.encode(v) for k, v in named.items()}},
                                 "buffers": {"__dict__": buffers}, "training": {"__dict__": flags}}}
        if action == "assign":
            values = self.build(request.get("values") or {})
            with torch.no_grad():
                for name, value in values.items():
                    named[name].copy_(value)
            return None
        x = self.build(request.get("x"))
        y = self.build(request.get("y"))

        def nll(inputs, targets):
            return -model(inputs).log_prob(targets).mean()

        if action == "grads":
            of = request.get("of", "nll")
            params = [p for p in named.values() if p.requires_grad]
            if of == "nll":
                out = nll(x, y)
            elif x is None:  # a method of the model, e.g. kl_divergence()
                out = getattr(model, of)().sum()
            elif of == "output":
                out = model(x).sum()
            else:  # a parameter of the distribution the model returns, e.g. "scale"
                out = getattr(model(x), of).sum()
            grads = torch.autograd.grad(out, params, allow_unused=True)
            names = [k for k, p in named.items() if p.requires_grad]
            return {"__dict__": {k: self.encode(g) for k, g in zip(names, grads)}}
        if action == "fit":
            # the course's one training loop (deepprob.torch.training.fit): full batch, one Adam step per
            # epoch; with validation data, EarlyStopping checks every `eval_every` steps (in eval mode)
            # and never runs out of patience here, so all `steps` run and the best parameters are kept
            from deepprob.torch.training import EarlyStopping, fit

            x_val, y_val = self.build(request.get("x_val")), self.build(request.get("y_val"))
            steps, every = int(request.get("steps", 500)), int(request.get("eval_every", 20))
            stopper = None if x_val is None else EarlyStopping(x_val, y_val, check_every=every,
                                                                patience=steps // every + 2)
            fit(model, lambda m, xb, yb: -m(xb).log_prob(yb).mean(), x, y, epochs=steps, batch_size=None,
                lr=float(request.get("lr", 1e-2)), seed=int(request.get("seed", 0)),
                callbacks=[] if stopper is None else [stopper], progress=False, description="grading fit")
            best = min(stopper.val_nll) if stopper is not None else math.inf
            best_step = stopper.best_step if stopper is not None else 0
            return {"__dict__": {"best_val": self.encode(best), "best_step": best_step}}
        raise ValueError(f"unknown module action {action!r}")

    def _trace(self, request) -> dict:
        """Run a NumPyro model once under ``seed`` (and ``substitute``); its sample sites as data."""
        import jax
        import jax.numpy as jnp
        from numpyro import handlers

        model = self._target(request["target"])
        args = self.build(request.get("args", []))
        kwargs = self.build(request.get("kwargs", {}))
        seed = int(request.get("rng_seed", 0))
        fn = handlers.seed(model, jax.random.PRNGKey(seed))
        if request.get("substitute"):
            fn = handlers.substitute(fn, data=self.build(request["substitute"]))
        tracer = handlers.trace(fn)
        returned = tracer(*args, **kwargs)
        support = self.build(request.get("support") or {})
        draws = int(request.get("draws") or 0)
        sites = {}
        for name, site in tracer.trace.items():
            if site.get("type") != "sample":
                continue
            dist = site["fn"]
            info = {
                "observed": bool(site.get("is_observed")),
                "value": self.encode(site["value"]),
                "distribution": self.encode(dist),
                "log_prob": self.encode(dist.log_prob(site["value"])),
            }
            if name in support:
                info["support"] = self.encode(dist.support(jnp.asarray(support[name])))
            if draws:
                info["draws"] = self.encode(dist.sample(jax.random.PRNGKey(seed + 1), (draws,)))
            sites[name] = {"__dict__": info}
        return {"__dict__": {"returned": self.encode(returned), "sites": {"__dict__": sites}}}

    def _grads(self, out, args, kwargs, wrt, retain=False):
        torch = _torch()
        inputs = [args[w] if isinstance(w, int) else kwargs[w] for w in wrt]
        if not (torch is not None and isinstance(out, torch.Tensor)):
            raise TypeError(f"cannot differentiate a {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError("the result does not depend differentiably on the inputs (requires_grad is False)")
        grads = torch.autograd.grad(out.sum(), inputs, allow_unused=True, retain_graph=retain)
        return [None if g is None else {"__array__": self._from_torch(g)} for g in grads]

    @staticmethod
    def _error(err: BaseException) -> dict:
        bases = [c.__name__ for c in type(err).__mro__[1:] if c.__module__ == "builtins"]
        return {"__error__": {"type": type(err).__name__, "message": str(err)[:2000], "bases": bases}}

    def serve(self, text: str) -> str:
        return json.dumps(self.handle(json.loads(text)), allow_nan=False)


_AGENT: Agent | None = None


def serve(text: str) -> str:
    """Answer one request (JSON text) against the IPython user namespace."""
    global _AGENT
    if _AGENT is None:
        from IPython import get_ipython

        _AGENT = Agent(get_ipython().user_ns)
    return _AGENT.serve(text)
