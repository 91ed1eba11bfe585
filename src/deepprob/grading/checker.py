"""Autograde with the tests outside the student's process (issue #10).

:class:`CheckerExecute` replaces nbgrader's ``Execute`` step of ``nbgrader
autograde``. For each submission it

1. starts the sandboxed kernel (``deepprob-sandbox``) in a **private scratch
   folder**, a size-limited tmpfs that the grader never reads back, with a
   **cleared environment** (only :attr:`CheckerExecute.env_allow` passes);
2. runs the notebook's cells in order. A graded test cell whose hidden part is
   written against :mod:`deepprob.grading.checks` (a *checker cell*) is split:
   only its visible part, as the student saw it, runs in the kernel; its hidden
   part runs **here, in the grader's process**, taken from the gradebook (never
   from the submitted file), and reaches the student's functions only through
   JSON requests answered by :mod:`deepprob.grading.agent` and decoded by
   :mod:`deepprob.grading.protocol`;
3. writes the cell's outputs itself: the kernel's own output as sanitised plain
   text (no HTML or script, size-capped), then the checker's verdict. A checker
   cell's score therefore comes only from the checker: an error the student's
   code prints, hides or fakes in the kernel does not change it;
4. bounds the work: a wall-clock timeout per cell (``Execute.timeout``) and per
   notebook (:attr:`notebook_seconds`), and CPU-time budgets set on the kernel's
   processes with ``RLIMIT_CPU`` (:attr:`cell_cpu_seconds`,
   :attr:`notebook_cpu_seconds`): CPU time is the submission's own work, so a
   busy machine does not make an honest cell run out of budget.

A graded test cell without a checker part (an assignment written the old way;
none of the course's) runs whole in the kernel, where the submission can change
its outcome: a warning is logged for each.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import tempfile
import time

from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

from .checks import SUBMISSION_KEY, Submission

__all__ = ["CheckerExecute", "split_hidden", "is_checker_source", "sanitise_outputs"]

_BEGIN = re.compile(r"^\s*### BEGIN HIDDEN TESTS\s*$", re.M)
_END = re.compile(r"^\s*### END HIDDEN TESTS\s*$", re.M)
_CHECKER_IMPORT = "deepprob.grading.checks"
_AGENT_EXPR = '__import__("deepprob.grading.agent").grading.agent.serve({!r})'
_KEEP_MIME = ("text/plain", "image/png", "image/jpeg")


def split_hidden(source: str) -> tuple[str, str]:
    """``(visible, hidden)`` parts of a test cell's source (hidden: between the markers)."""
    visible, hidden, inside = [], [], False
    for line in source.split("\n"):
        if _BEGIN.match(line):
            inside = True
            continue
        if _END.match(line):
            inside = False
            continue
        (hidden if inside else visible).append(line)
    return "\n".join(visible).rstrip() + "\n", "\n".join(hidden)


def is_checker_source(source: str) -> bool:
    """Whether a test cell's hidden part is checker code (imports :mod:`deepprob.grading.checks`)."""
    return _CHECKER_IMPORT in split_hidden(source)[1]


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [output cut by the grader: {len(text)} characters in all]\n"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def sanitise_outputs(outputs, limit: int = 20_000, keep_errors: bool = True) -> list:
    """Outputs safe to show in feedback: plain text, PNG/JPEG images, errors as text.

    HTML, JavaScript, Markdown, LaTeX and widget outputs are dropped (their text/plain
    is kept); every text is cut to ``limit`` characters. With ``keep_errors=False``
    errors and stderr become stdout text, so that they cannot change a score.
    """
    out = []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream":
            name = o.get("name") if o.get("name") in ("stdout", "stderr") else "stdout"
            if not keep_errors:
                name = "stdout"
            out.append(NotebookNode(output_type="stream", name=name, text=_cap(str(o.get("text", "")), limit)))
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in (o.get("data") or {}).items() if k in _KEEP_MIME and isinstance(v, str)}
            data = {k: (_cap(v, limit) if k == "text/plain" else v) for k, v in data.items()
                    if k == "text/plain" or len(v) < 4 * limit * 50}
            if not data:
                continue
            if kind == "execute_result" and not keep_errors:
                # a number shown as the cell's result would be read by nbgrader as partial credit
                out.append(NotebookNode(output_type="stream", name="stdout", text=data.get("text/plain", "") + "\n"))
                continue
            node = NotebookNode(output_type=kind, data=data, metadata={})
            if kind == "execute_result":
                node["execution_count"] = o.get("execution_count")
            out.append(node)
        elif kind == "error":
            ename, evalue = _cap(str(o.get("ename", "")), 200), _cap(str(o.get("evalue", "")), limit)
            tb = [_cap(_ANSI.sub("", str(t)), limit) for t in (o.get("traceback") or [])[-20:]]
            if keep_errors:
                out.append(NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=tb))
            else:
                out.append(NotebookNode(output_type="stream", name="stdout", text="\n".join(tb or [f"{ename}: {evalue}"]) + "\n"))
    return out


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


class _Budget:
    """CPU-time limits on the kernel's processes (``RLIMIT_CPU``, set from outside)."""

    def __init__(self, pid: int | None, cell_cpu: int, notebook_cpu: int):
        self.pid, self.cell_cpu, self.notebook_cpu = pid, cell_cpu, notebook_cpu
        self.hard_set: set[int] = set()

    def _tree(self):
        try:
            import psutil

            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except Exception:
            return []

    def start_cell(self) -> None:
        """Allow each kernel process ``cell_cpu`` more seconds, within ``notebook_cpu`` in all."""
        import resource

        for p in self._tree():
            try:
                t = p.cpu_times()
                used = int(t.user + t.system)
                if p.pid not in self.hard_set:
                    hard = used + self.notebook_cpu
                    p.rlimit(resource.RLIMIT_CPU, (min(used + self.cell_cpu, hard), hard))
                    self.hard_set.add(p.pid)
                else:
                    _, hard = p.rlimit(resource.RLIMIT_CPU)
                    soft = used + self.cell_cpu
                    if hard != resource.RLIM_INFINITY:
                        soft = min(soft, hard)
                    p.rlimit(resource.RLIMIT_CPU, (soft, hard))
            except Exception:
                continue


class CheckerExecute(Execute):
    """nbgrader's ``Execute`` step with the hidden tests run outside the kernel (module docstring)."""

    notebook_seconds = Integer(1200, help="Wall-clock budget of one notebook (seconds).").tag(config=True)
    cell_cpu_seconds = Integer(240, help="CPU seconds one cell may use (all kernel threads).").tag(config=True)
    notebook_cpu_seconds = Integer(1800, help="CPU seconds one notebook may use.").tag(config=True)
    scratch_mb = Integer(512, help="Size of the kernel's scratch folder and of its /tmp (MiB).").tag(config=True)
    output_chars = Integer(20_000, help="Characters kept per output.").tag(config=True)
    max_cell_chars = Integer(
        1_000_000, help="Characters of output one cell may send to the grader; the rest is dropped unread."
    ).tag(config=True)
    env_allow = List(
        Unicode(),
        default_value=[
            "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "TF_CPP_MIN_LOG_LEVEL", "TF_USE_LEGACY_KERAS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS", "JAX_PLATFORMS", "JAX_ENABLE_X64", "CUDA_VISIBLE_DEVICES",
            "DEEPPROB_SEED", "DEEPPROB_SANDBOX", "DEEPPROB_SANDBOX_MEMORY_MB", "DEEPPROB_SANDBOX_PIDS",
            "DEEPPROB_SANDBOX_FSIZE_MB", "DEEPPROB_SANDBOX_NOFILE", "DEEPPROB_SANDBOX_DEBUG",
        ],
        help="Environment variables the kernel inherits; every other one is removed.",
    ).tag(config=True)
    xla_flags = Unicode(
        "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
        help="XLA_FLAGS of the kernel when the grader's environment sets none. A graded JAX notebook runs many "
             "small eager operations, each compiled once per kernel; compiling them without XLA's optimisation "
             "passes grades ex02 about 23 % faster (13.0 -> 10.0 s a notebook, same scores). Empty: XLA's defaults.",
    ).tag(config=True)

    # ---- set-up -------------------------------------------------------------------
    def _checker_sources(self, resources) -> dict[str, str]:
        """``grade_id -> source`` of the graded test cells, from the gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        info = resources.get("nbgrader", {})
        out: dict[str, str] = {}
        try:
            with Gradebook(info["db_url"]) as gb:
                nb = gb.find_notebook(info["notebook"], info["assignment"])
                for cell in nb.source_cells:
                    if cell.cell_type != "code":
                        continue
                    try:
                        graded = gb.find_graded_cell(cell.name, info["notebook"], info["assignment"])
                    except MissingEntry:
                        continue
                    if graded is not None and cell.name and not _is_solution(gb, cell):
                        out[cell.name] = cell.source
        except (KeyError, MissingEntry):
            return {}
        return out

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in set(self.env_allow)}
        env["DEEPPROB_SANDBOX_SCRATCH_MB"] = str(int(self.scratch_mb))
        if self.xla_flags and "XLA_FLAGS" not in env:
            env["XLA_FLAGS"] = self.xla_flags
        return env

    # ---- running ------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        from nbclient.client import NotebookClient

        resources = resources or {}
        sources = self._checker_sources(resources)
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._cell_chars: dict[int, int] = {}
        scratch = tempfile.mkdtemp(prefix="deepprob-scratch-")
        start = time.monotonic()
        self._deadline = start + self.notebook_seconds
        self.timeout_func = self._cell_timeout
        reason = None
        try:
            try:
                with self.setup_kernel(cwd=scratch, env=self._env()):
                    info_msg = self.wait_for_reply(self.kc.kernel_info())
                    if info_msg:
                        self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                    pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
                    budget = _Budget(pid, self.cell_cpu_seconds, self.notebook_cpu_seconds)
                    transport = _Transport(self)
                    try:
                        for index, cell in enumerate(self.nb.cells):
                            if cell.cell_type != "code":
                                continue
                            if reason is not None:
                                self._fail(cell, "not run: " + reason)
                                continue
                            if time.monotonic() > self._deadline:
                                reason = f"the notebook ran past its {self.notebook_seconds} s budget"
                                self._fail(cell, "not run: " + reason)
                                continue
                            budget.start_cell()
                            reason = self._run_cell(cell, index, sources, transport)
                    finally:
                        transport.close()
            except Exception as err:  # the kernel died or could not start
                why = f"the kernel stopped ({type(err).__name__}: {str(err)[:200]})"
                self.log.warning("%s; the remaining cells are marked as failed", why)
                for cell in self.nb.cells:
                    if cell.cell_type == "code" and not cell.get("metadata", {}).get("_deepprob_done"):
                        self._fail(cell, "not run: " + why)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for cell in self.nb.cells:
            cell.get("metadata", {}).pop("_deepprob_done", None)
        return self.nb, self.resources

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most :attr:`max_cell_chars` characters of a cell's output (100 MB of prints are not stored)."""
        content = msg.get("content") or {}
        size = len(str(content.get("text", ""))) + sum(
            len(v) for v in (content.get("data") or {}).values() if isinstance(v, str))
        used = self._cell_chars.get(cell_index, 0)
        self._cell_chars[cell_index] = used + size
        if used + size > self.max_cell_chars:
            if used <= self.max_cell_chars:
                outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                    f"\n... [output cut by the grader: more than {self.max_cell_chars} characters]\n")))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _cell_timeout(self, cell):
        left = self._deadline - time.monotonic()
        base = self.timeout if self.timeout and self.timeout > 0 else left
        return max(1, int(min(base, left)))

    def _fail(self, cell, message: str) -> None:
        cell.setdefault("outputs", []).append(
            NotebookNode(output_type="error", ename="GradingError", evalue=message, traceback=[f"GradingError: {message}"])
        )
        cell.setdefault("metadata", {})["_deepprob_done"] = True

    def _execute(self, cell, index) -> str | None:
        """Run one cell in the kernel; the reason to stop, if the kernel is gone."""
        from nbclient.exceptions import DeadKernelError

        try:
            self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            self._fail(cell, "the kernel died while running this cell (os._exit, a signal, or a CPU/memory limit)")
            return "the kernel died in an earlier cell"
        if not self.kc or not _alive(self.km):
            return "the kernel died in an earlier cell"
        return None

    def _run_cell(self, cell, index, sources, transport) -> str | None:
        m = _meta(cell)
        gid = m.get("grade_id")
        source = sources.get(gid) if m.get("grade") and not m.get("solution") else None
        if source is None or not is_checker_source(source):
            if source is not None:
                self.log.warning("graded test cell %s has no checker part: it runs whole in the kernel, where the "
                                 "submission can change its outcome", gid)
            reason = self._execute(cell, index)
            cell.outputs = sanitise_outputs(cell.get("outputs", []), self.output_chars, keep_errors=True)
            cell.metadata["_deepprob_done"] = True
            return reason
        visible, hidden = split_hidden(source)
        original = cell.source
        cell.source = visible  # the hidden part never enters the kernel
        try:
            reason = self._execute(cell, index)
        finally:
            cell.source = original
        kernel_out = sanitise_outputs(cell.get("outputs", []), self.output_chars, keep_errors=False)
        if reason is None:
            verdict = self._check(gid, hidden, transport)
        else:
            verdict = f"the kernel died before the grader's checks could run ({reason})"
        outputs = [o for o in kernel_out if not (o.get("output_type") == "stream" and not o.get("text"))]
        if verdict is None:
            outputs.append(NotebookNode(output_type="stream", name="stdout", text="Grader's checks passed.\n"))
        else:
            outputs.append(NotebookNode(output_type="error", ename="AssertionError", evalue=verdict,
                                        traceback=[f"Grader's checks: {verdict}"]))
        cell.outputs = outputs
        cell.metadata["_deepprob_done"] = True
        return reason

    def _check(self, grade_id: str, hidden: str, transport) -> str | None:
        """Run a hidden part in this process; ``None`` if it passed, else the message."""
        namespace = {"__name__": "__deepprob_checker__", SUBMISSION_KEY: Submission(transport)}
        try:
            code = compile(hidden, f"<hidden tests of {grade_id}>", "exec")
            exec(code, namespace)  # trusted: the instructor's source, from the gradebook
        except AssertionError as err:  # a failed check, or the kernel gone (_KernelGone)
            return str(err) or "a check failed"
        except Exception as err:  # a bug in the hidden test, or data it did not expect
            self.log.warning("hidden tests of %s raised %s: %s", grade_id, type(err).__name__, err)
            return f"the grader's checks stopped: {type(err).__name__}: {err}"
        return None


class _KernelGone(AssertionError):
    """The kernel died, hung or ran out of time while the grader was checking a cell."""


class _Transport:
    """Sends checker requests to the kernel as user expressions on a separate shell client."""

    def __init__(self, owner: CheckerExecute):
        self.owner = owner
        self.kc = owner.km.blocking_client()  # same connection and session key as the executing client
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        try:
            import zmq

            self.kc.shell_channel.socket.setsockopt(zmq.MAXMSGSIZE, 128 << 20)
        except Exception:
            pass

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:
            pass

    def __call__(self, request_text: str) -> str:
        from queue import Empty

        owner = self.owner
        timeout = owner._cell_timeout(None)
        if time.monotonic() > owner._deadline:
            raise _KernelGone(f"the notebook ran past its {owner.notebook_seconds} s budget")
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"r": _AGENT_EXPR.format(request_text)})
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                try:
                    run_sync(owner.km.interrupt_kernel)()
                except Exception:
                    pass
                raise _KernelGone(f"the notebook did not answer the grader within {timeout} s")
            try:
                msg = self.kc.get_shell_msg(timeout=min(left, 1.0))
            except Empty:
                if not _alive(owner.km):
                    raise _KernelGone("the kernel died while the grader was checking this cell") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg.get("content", {})
            result = (content.get("user_expressions") or {}).get("r") or {}
            if content.get("status") != "ok" or result.get("status") != "ok":
                ename = result.get("ename") or content.get("ename") or "error"
                raise AssertionError(f"the notebook could not answer the grader ({ename}: "
                                     f"{str(result.get('evalue') or content.get('evalue') or '')[:300]})")
            text = (result.get("data") or {}).get("text/plain")
            if not isinstance(text, str) or len(text) > (128 << 20):
                raise AssertionError("the notebook's answer to the grader is not text")
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise AssertionError("the notebook's answer to the grader is not a string") from None
            if not isinstance(value, str):
                raise AssertionError("the notebook's answer to the grader is not a string")
            return value


def run_sync(fn):
    from jupyter_core.utils import ensure_async, run_sync as _run_sync

    async def call(*args, **kwargs):
        return await ensure_async(fn(*args, **kwargs))

    return _run_sync(call)


def _alive(km) -> bool:
    try:
        return bool(run_sync(km.is_alive)())
    except Exception:
        return False


def _is_solution(gb, cell) -> bool:
    try:
        return bool(gb.find_solution_cell(cell.name, cell.notebook.name, cell.notebook.assignment.name))
    except Exception:
        return False
