"""The data-only channel between a grading kernel and the checker (issue #10).

Student code runs only in the sandboxed kernel; the graded tests run in the
grader's own process (:mod:`deepprob.grading.checker`) and reach the student's
functions only through requests and replies made of plain JSON:

* numbers, strings, ``None``, booleans, lists and string-keyed dicts;
* arrays as ``{"__array__": {"dtype", "shape", "data"}}`` with ``data`` the
  base64 of the raw little-endian bytes, and the kind of object they came from
  (``torch``, ``numpy``, ``jax``, ``tensorflow``), its dtype and, for a torch
  tensor, ``requires_grad``;
* a probability distribution as its class name and its parameters as arrays;
* any other object as its type name only (``{"__object__": ...}``), or as a
  *handle*, a number the kernel keeps the object under for later requests.

:func:`decode` (the checker's side) accepts nothing else: no pickles, no code,
no object of a class the payload names. Arrays are rebuilt with
:func:`numpy.frombuffer` from one of :data:`DTYPES` and must hold exactly
``prod(shape)`` elements; a reply larger than :data:`MAX_REPLY_BYTES` is
refused. A kernel can therefore send *wrong* data, never *active* data: every
comparison the checker makes is on numpy arrays it built itself.

The encoding side (:func:`encode`, used by :mod:`deepprob.grading.agent`) runs
inside the student's kernel and is not trusted.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DTYPES", "MAX_REPLY_BYTES", "ProtocolError", "ArrayData", "DistributionData", "ObjectData", "Handle",
    "RemoteError", "Tensor", "Generator", "Lib", "encode_array", "decode", "loads",
]

#: dtypes an array may travel as (anything else is converted or refused)
DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")
#: largest reply the checker reads (bytes of JSON)
MAX_REPLY_BYTES = 64 << 20
_MAX_DEPTH = 16
_MAX_STR = 20_000


class ProtocolError(ValueError):
    """A reply that is not valid data under this protocol (the submission fails the check)."""


@dataclass(frozen=True)
class ArrayData:
    """An array the kernel sent, rebuilt by the checker.

    Attributes
    ----------
    value : numpy.ndarray
        The values, in the dtype they travelled in (see :data:`DTYPES`).
    kind : str
        What the kernel held: ``"torch"``, ``"numpy"``, ``"jax"``, ``"tensorflow"``,
        ``"scalar"`` (a Python number) or ``"list"``.
    dtype : str
        The kernel-side dtype name (``"float32"``, ``"bfloat16"``...).
    requires_grad : bool
        For a torch tensor, whether it is part of an autograd graph.
    has_grad : bool
        For a torch leaf tensor, whether its ``.grad`` is set.
    """

    value: np.ndarray
    kind: str
    dtype: str
    requires_grad: bool = False
    has_grad: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def item(self) -> float:
        """The single value of a size-1 array, as a Python float."""
        if self.value.size != 1:
            raise ValueError(f"expected one value, got shape {self.shape}")
        return float(self.value.reshape(()))

    def __repr__(self) -> str:
        return f"ArrayData(kind={self.kind!r}, dtype={self.dtype!r}, shape={self.shape})"


@dataclass(frozen=True)
class DistributionData:
    """A probability distribution the kernel returned: class name and parameters."""

    type: str
    module: str
    params: dict = field(default_factory=dict)
    batch_shape: tuple = ()
    event_shape: tuple = ()


@dataclass(frozen=True)
class ObjectData:
    """Any other object: only its type name (and a handle, when it was kept)."""

    type: str
    module: str
    handle: int | None = None


@dataclass(frozen=True)
class Handle:
    """A kernel-side object kept under a number, to pass back in later requests."""

    id: int
    type: str = ""


@dataclass(frozen=True)
class RemoteError:
    """An exception raised by the student's code: its type name and message."""

    type: str
    message: str
    bases: tuple = ()

    def is_a(self, name: str) -> bool:
        """Whether the exception is (a subclass of) the builtin exception ``name``."""
        return name == self.type or name in self.bases


@dataclass(frozen=True)
class Tensor:
    """An argument the kernel builds as a fresh array of the given kind and dtype.

    ``Tensor(x)`` becomes ``torch.tensor(x, dtype=torch.float64)`` in the kernel;
    ``kind="numpy"``/``"jax"`` builds a numpy/JAX array instead;
    ``requires_grad=True`` makes a leaf torch tensor that gradients can be asked for.
    """

    value: object
    dtype: str = "float64"
    kind: str = "torch"
    requires_grad: bool = False

    def to_json(self) -> dict:
        arr = np.asarray(self.value, dtype=np.float64 if self.dtype not in DTYPES else self.dtype)
        spec = encode_array(arr)
        return {"__tensor__": {"data": spec["data"], "shape": spec["shape"], "array_dtype": spec["dtype"],
                               "kind": self.kind, "dtype": self.dtype, "requires_grad": bool(self.requires_grad)}}


@dataclass(frozen=True)
class Generator:
    """A random-number generator argument, built fresh in the kernel from ``seed``.

    ``kind="torch"``: ``torch.Generator().manual_seed(seed)``; ``kind="jax"``:
    ``jax.random.PRNGKey(seed)``; ``kind="numpy"``: ``numpy.random.default_rng(seed)``.
    """

    seed: int
    kind: str = "torch"

    def to_json(self) -> dict:
        return {"__generator__": {"seed": int(self.seed), "kind": self.kind}}


@dataclass(frozen=True)
class Lib:
    """A callable argument named from the fixed library both sides know (:data:`agent.LIBRARY`)."""

    name: str
    args: tuple = ()

    def to_json(self) -> dict:
        return {"__lib__": self.name, "args": list(self.args)}


def encode_array(arr: np.ndarray) -> dict:
    """``{"dtype", "shape", "data"}`` of a numpy array (little-endian, C order)."""
    arr = np.asarray(arr, order="C")
    name = arr.dtype.name
    if name not in DTYPES:
        arr, name = arr.astype(np.float64), "float64"
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return {"dtype": name, "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def _decode_array(spec) -> np.ndarray:
    if not isinstance(spec, dict):
        raise ProtocolError("array spec must be an object")
    dtype, shape, data = spec.get("dtype"), spec.get("shape"), spec.get("data")
    if dtype not in DTYPES:
        raise ProtocolError(f"array dtype {dtype!r} is not allowed")
    if not isinstance(shape, list) or len(shape) > 32 or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape
    ):
        raise ProtocolError(f"bad array shape {shape!r}")
    if not isinstance(data, str):
        raise ProtocolError("array data must be base64 text")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as err:
        raise ProtocolError(f"array data is not base64: {err}") from None
    dt = np.dtype(dtype).newbyteorder("<")
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise ProtocolError(f"array of shape {shape} and dtype {dtype} cannot hold {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype)).reshape(shape)


def _shape(value) -> tuple:
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise ProtocolError(f"bad shape {value!r}")
    return tuple(value)


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{name} must be text")
    return value[:_MAX_STR]


def decode(obj, depth: int = 0):
    """Rebuild checker-side data from a JSON value (see the module docstring).

    Raises
    ------
    ProtocolError
        For anything that is not valid data under the protocol.
    """
    if depth > _MAX_DEPTH:
        raise ProtocolError("reply nested too deeply")
    if obj is None or isinstance(obj, (bool, int)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, str):
        return obj[:_MAX_STR]
    if isinstance(obj, list):
        return [decode(v, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        raise ProtocolError(f"unexpected JSON value of type {type(obj).__name__}")
    if len(obj) == 1:
        ((key, spec),) = obj.items()
        if key == "__float__":
            if spec not in ("nan", "inf", "-inf"):
                raise ProtocolError(f"bad float {spec!r}")
            return float(spec)
        if key == "__array__":
            if not isinstance(spec, dict):
                raise ProtocolError("array spec must be an object")
            return ArrayData(
                value=_decode_array(spec),
                kind=_text(spec.get("kind", "numpy"), "kind"),
                dtype=_text(spec.get("orig_dtype", spec.get("dtype")), "dtype"),
                requires_grad=bool(spec.get("requires_grad", False) is True),
                has_grad=bool(spec.get("has_grad", False) is True),
            )
        if key == "__distribution__":
            if not isinstance(spec, dict) or not isinstance(spec.get("params", {}), dict):
                raise ProtocolError("distribution spec must be an object with a params object")
            return DistributionData(
                type=_text(spec.get("type"), "type"),
                module=_text(spec.get("module", ""), "module"),
                params={_text(k, "name"): decode(v, depth + 1) for k, v in spec.get("params", {}).items()},
                batch_shape=_shape(spec.get("batch_shape", [])),
                event_shape=_shape(spec.get("event_shape", [])),
            )
        if key == "__object__":
            if not isinstance(spec, dict):
                raise ProtocolError("object spec must be an object")
            handle = spec.get("handle")
            if handle is not None and (not isinstance(handle, int) or isinstance(handle, bool)):
                raise ProtocolError("bad handle")
            return ObjectData(type=_text(spec.get("type"), "type"), module=_text(spec.get("module", ""), "module"),
                              handle=handle)
        if key == "__error__":
            if not isinstance(spec, dict):
                raise ProtocolError("error spec must be an object")
            bases = spec.get("bases", [])
            if not isinstance(bases, list):
                raise ProtocolError("bad error bases")
            return RemoteError(type=_text(spec.get("type"), "type"), message=_text(spec.get("message", ""), "message"),
                               bases=tuple(_text(b, "base") for b in bases[:32]))
        if key == "__dict__":
            if not isinstance(spec, dict):
                raise ProtocolError("dict spec must be an object")
            return {_text(k, "key"): decode(v, depth + 1) for k, v in spec.items()}
    if any(isinstance(k, str) and k.startswith("__") for k in obj):
        raise ProtocolError(f"unknown tagged value {sorted(obj)[:3]}")
    return {k: decode(v, depth + 1) for k, v in obj.items()}


def loads(text) -> object:
    """Parse and decode one reply (JSON text) from the kernel, refusing oversized ones."""
    if not isinstance(text, str):
        raise ProtocolError(f"reply must be text, got {type(text).__name__}")
    if len(text) > MAX_REPLY_BYTES:
        raise ProtocolError(f"reply of {len(text)} bytes exceeds the {MAX_REPLY_BYTES}-byte limit")
    try:
        obj = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ProtocolError(f"bare {c} in reply")))
    except json.JSONDecodeError as err:
        raise ProtocolError(f"reply is not JSON: {err}") from None
    return decode(obj)
