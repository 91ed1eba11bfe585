"""Keep a submission from faking a pass by monkeypatching what the hidden tests use.

A student's cell can run ``builtins.abs = lambda x: 0`` or ``torch.allclose =
lambda *a, **k: True`` and every later ``assert`` would pass. nbgrader has no
defence: hidden tests run in the same process, after the student's code. The
autograde pipeline of the course (``nbgrader_config.py``) therefore wraps
``Execute`` with two preprocessors:

:class:`InsertGuard` (before ``Execute``)
    inserts a first cell that runs the instructor's own ``import`` lines (taken
    from the locked cells, restored from the gradebook by nbgrader) and then takes
    a snapshot: ``builtins``, every loaded module of the scientific stack
    (``math``, ``numpy``, ``torch``, ``scipy``, ``jax``, ``numpyro``,
    ``tensorflow``...), the methods of ``torch.Tensor``, the names bound in the
    notebook's namespace, ``sys`` hooks and the IPython shell's execution hooks.
    It prefixes every graded test cell with a call that restores that snapshot
    (the call's name carries a random token drawn per run); if the restore
    function is gone the test cell fails (fail-closed).
:class:`RemoveGuard` (after ``Execute``)
    removes the inserted cell and the prefixes again, so the autograded notebook
    and the feedback look as the student wrote them, and cuts outputs larger than
    :attr:`RemoveGuard.max_chars` characters (a submission that prints 100 MB).

What it does not stop (see ``book/instructor_guide.md``): code in the same
process can always find and undo the guard (``gc``, ``ctypes``, an IPython AST
transformer that rewrites the test cell before it runs). The guard raises the
bar from one line to deliberate reverse engineering of the grader; the notebook
is kept and :func:`suspicious` flags such code for manual review.
"""
from __future__ import annotations

import ast
import re
import secrets

from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

__all__ = ["InsertGuard", "RemoveGuard", "SafeExecute", "guard_source", "suspicious", "SUSPICIOUS"]

_FLAG = "deepprob_guard"

# Top-level packages whose module dictionaries are snapshotted and restored.
PROTECTED = (
    "builtins", "math", "cmath", "operator", "functools", "numbers", "decimal", "fractions", "statistics",
    "numpy", "torch", "scipy", "jax", "jaxlib", "numpyro", "tensorflow", "tensorflow_probability",
    "tf_keras", "keras", "sklearn", "pandas", "deepprob", "unittest", "pytest",
)

_GUARD = r'''
def __make_guard(_token, _protected, _limit):
    import builtins, sys
    _b = vars(builtins)
    _snap_builtins = dict(_b)
    _ip = get_ipython()
    _ns = _ip.user_ns
    _skip = {"_", "__", "___", "_i", "_ii", "_iii", "_oh", "_ih", "_dh", "In", "Out", "exit", "quit", "get_ipython"}
    _snap_ns = {k: v for k, v in _ns.items() if not k.startswith("_i") and k not in _skip}
    _snap_mods = {}
    for _name, _mod in list(sys.modules.items()):
        if _mod is not None and _name.split(".")[0] in _protected:
            try:
                _snap_mods[_name] = (_mod, {k: v for k, v in vars(_mod).items() if callable(v) or type(v).__name__ == "module"})
            except TypeError:
                pass
    _classes = []
    _torch = sys.modules.get("torch")
    if _torch is not None:
        for _cls in (getattr(_torch, "Tensor", None), getattr(getattr(_torch, "_C", None), "TensorBase", None)):
            if _cls is not None:
                _classes.append((_cls, {k: v for k, v in vars(_cls).items()}))
    _hooks = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async", "run_ast_nodes",
              "run_code", "transform_cell", "transform_ast", "should_run_async", "get_exception_only",
              "set_custom_exc", "CustomTB", "custom_exceptions", "InteractiveTB", "SyntaxTB")
    _snap_ip = {k: _ip.__dict__[k] for k in _hooks if k in _ip.__dict__}
    _snap_lists = {k: list(getattr(_ip, k)) for k in ("ast_transformers", "input_transformers_cleanup",
                                                     "input_transformers_post") if hasattr(_ip, k)}
    class _Capped:
        """At most `limit` characters per cell reach the grader (100 MB of prints would not)."""

        def __init__(self, stream, limit):
            self._dp_stream, self._dp_limit, self._dp_n = stream, limit, 0

        def write(self, text):
            n = self._dp_n
            self._dp_n = n + len(text)
            if n >= self._dp_limit:
                return len(text)
            if self._dp_n > self._dp_limit:
                text = text[: self._dp_limit - n] + "\n... [output cut by the grader]\n"
            return self._dp_stream.write(text)

        def __getattr__(self, name):
            return getattr(self._dp_stream, name)

    _out, _err = _Capped(sys.stdout, _limit), _Capped(sys.stderr, _limit)
    sys.stdout, sys.stderr = _out, _err

    def _reset(*args):
        _out._dp_n = _err._dp_n = 0

    _ip.events.register("pre_run_cell", _reset)
    _snap_events = {k: list(v) for k, v in _ip.events.callbacks.items()}
    _snap_sys = {k: getattr(sys, k) for k in ("excepthook", "displayhook", "stdout", "stderr", "exit")}
    _type, _id, _setattr, _getattr = type, id, setattr, getattr

    def restore():
        for k, v in _snap_builtins.items():
            if _b.get(k) is not v:
                _b[k] = v
        _ns["__builtins__"] = builtins
        for k, v in _snap_ns.items():
            if _ns.get(k) is not v:
                _ns[k] = v
        for _name, (_mod, _d) in _snap_mods.items():
            _md = _mod.__dict__
            for k, v in _d.items():
                if _md.get(k) is not v:
                    _md[k] = v
            if sys.modules.get(_name) is not _mod:
                sys.modules[_name] = _mod
        for _cls, _d in _classes:
            for k, v in _d.items():
                if vars(_cls).get(k) is not v:
                    try:
                        _setattr(_cls, k, v)
                    except (TypeError, AttributeError):
                        pass
        for k in _hooks:
            if k in _snap_ip:
                _ip.__dict__[k] = _snap_ip[k]
            else:
                _ip.__dict__.pop(k, None)
        for k, v in _snap_lists.items():
            _getattr(_ip, k)[:] = v
        for k, v in _snap_events.items():
            _ip.events.callbacks[k][:] = v
        for k, v in _snap_sys.items():
            _setattr(sys, k, v)
        sys.settrace(None)
        sys.setprofile(None)
        return None

    _ns["_dpg_" + _token] = restore
    sys.modules["_dpg_" + _token] = restore


__make_guard(__TOKEN__, __PROTECTED__, __LIMIT__)
del __make_guard
'''


def guard_source(token: str, imports: list[str], max_chars: int = 1_000_000) -> str:
    """Source of the first cell: the instructor's imports, then the snapshot."""
    lines = [
        "# deepprob grading guard (removed from the graded notebook)",
    ]
    for stmt in imports:
        lines += ["try:", "    " + stmt, "except Exception:", "    pass"]
    guard = (
        _GUARD.replace("__TOKEN__", repr(token)).replace("__PROTECTED__", repr(PROTECTED))
        .replace("__LIMIT__", str(int(max_chars)))
    )
    return "\n".join(lines) + "\n" + guard


def _imports(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


class InsertGuard(Preprocessor):
    """Insert the snapshot cell and prefix every graded test cell with a restore call."""

    enabled = Bool(True).tag(config=True)
    max_chars = Integer(1_000_000, help="Characters of stdout (and of stderr) a cell may send to the grader.").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        token = secrets.token_hex(8)
        imports: list[str] = []
        for cell in nb.cells:
            m = _meta(cell)
            if cell.cell_type == "code" and m.get("locked") and not m.get("solution") and not m.get("grade"):
                imports += [s for s in _imports(cell.source) if s not in imports]
        for cell in nb.cells:
            m = _meta(cell)
            if cell.cell_type == "code" and m.get("grade") and not m.get("solution"):
                prefix = f"_dpg_{token}()  # {_FLAG}\n"
                cell.source = prefix + cell.source
                cell.metadata[_FLAG] = len(prefix)
        from nbformat.v4 import new_code_cell

        first = new_code_cell(guard_source(token, imports, self.max_chars))
        first.metadata[_FLAG] = True
        nb.cells.insert(0, first)
        return nb, resources


class RemoveGuard(Preprocessor):
    """Undo :class:`InsertGuard` after execution and cut oversized outputs."""

    enabled = Bool(True).tag(config=True)

    max_chars = Integer(200_000, help="Largest text output kept per output (characters).").tag(config=True)
    note = Unicode("\n... [output cut by the grader: {n} characters in all]\n").tag(config=True)

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get(_FLAG) is not True]
        for cell in nb.cells:
            n = cell.get("metadata", {}).pop(_FLAG, None)
            if isinstance(n, int) and not isinstance(n, bool):
                cell.source = cell.source[n:]
            for out in cell.get("outputs", []):
                self._cut(out)
        return nb, resources

    def _cut(self, out) -> None:
        if out.get("output_type") == "stream" and len(out.get("text", "")) > self.max_chars:
            n = len(out["text"])
            out["text"] = out["text"][: self.max_chars] + self.note.format(n=n)
        data = out.get("data", {})
        for mime, value in list(data.items()):
            if isinstance(value, str) and len(value) > self.max_chars:
                data[mime] = value[: self.max_chars] + self.note.format(n=len(value))
        if out.get("output_type") == "error":
            out["evalue"] = str(out.get("evalue", ""))[: self.max_chars]
            out["traceback"] = [t[: self.max_chars] for t in out.get("traceback", [])[:200]]


SUSPICIOUS = re.compile(
    r"(__builtins__|\bbuiltins\b|\bctypes\b|\bgc\.get_(objects|referrers)|ast_transformers|input_transformers|"
    r"sys\.settrace|sys\.setprofile|set_custom_exc|showtraceback|_dpg_|gradebook|\.\./\.\.|/solutions|"
    r"\bsocket\b|\bsubprocess\b|os\.system|os\.kill|os\._exit|\bsetattr\(\s*(torch|np|numpy|math)\b|"
    r"\b(torch|np|numpy|math|F)\.[A-Za-z_]+\s*=[^=])"
)


def suspicious(nb) -> list[str]:
    """Lines of a notebook's student-written cells that tamper with the grader.

    Returns ``"<cell index>: <line>"`` strings, to show an instructor what to look at.
    """
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _meta(cell).get("locked"):
            continue
        for line in cell.source.splitlines():
            if SUSPICIOUS.search(line):
                out.append(f"{i}: {line.strip()[:120]}")
    return out


class SafeExecute(Execute):
    """nbgrader's ``Execute`` that survives a kernel which dies or never answers.

    nbgrader gives up on the whole submission when the kernel dies
    (``os._exit``, ``os.kill(os.getpid(), 9)``, the out-of-memory killer) or
    stops answering: no grade, no feedback. Here the cell that was running and
    every later code cell get an error output instead, so the cells that ran
    before keep their points, every later test cell scores 0, and the
    submission is graded and gets feedback like any other.
    """

    def on_cell_execute(self, **kwargs):
        self._dp_index = kwargs.get("cell_index", 0)

    def preprocess(self, nb, resources=None, km=None):
        self._dp_index = 0
        try:
            return super().preprocess(nb, resources, km=km)
        except Exception as err:  # DeadKernelError, CellTimeoutError, RuntimeError...
            from nbformat import NotebookNode

            name = type(err).__name__
            if name == "DeadKernelError":
                why = "the kernel died while running this cell (os._exit, a signal, or out of memory)"
            else:
                why = f"the kernel stopped answering ({name})"
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or i < self._dp_index:
                    continue
                msg = why if i == self._dp_index else "not run: " + why.replace("this cell", "an earlier cell")
                cell.setdefault("outputs", []).append(
                    NotebookNode(output_type="error", ename="KernelDied", evalue=msg, traceback=[f"KernelDied: {msg}"])
                )
            self.log.warning("%s: %s; the remaining cells are marked as failed", name, why)
            try:
                if self.km is not None:
                    from jupyter_core.utils import run_sync

                    run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:
                pass
            return nb, resources
