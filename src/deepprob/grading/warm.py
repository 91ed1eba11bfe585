"""Warm grading kernels, the grader's side: a jupyter_client kernel provisioner (issue #16).

The ``deepprob-sandbox`` kernelspec names :class:`WarmProvisioner` (entry point
``deepprob-warm-provisioner`` of ``jupyter_client.kernel_provisioners``). When a
kernel is asked for with a scratch folder (``DEEPPROB_SANDBOX_SCRATCH_MB`` > 0,
as :class:`~deepprob.grading.checker.CheckerExecute` does) and bubblewrap works,
it does not start a new sandbox: it asks this grading process's *zygote* — one
sandbox that has imported the course's libraries once
(:mod:`deepprob.grading.zygote`) — to fork a kernel, which then starts in about
0.3 s instead of 3–5 s. Everything else (no sandbox, ``DEEPPROB_SANDBOX=off``, a
kernel that needs the submission's own folder, ``DEEPPROB_WARM_KERNELS=0``) falls
back to jupyter_client's own :class:`~jupyter_client.provisioning.LocalProvisioner`,
i.e. one fresh sandbox per kernel.

One zygote serves one grading process, one kernel at a time (nbgrader grades a
worker's submissions one after the other); it is started on first use, replaced
when it dies or stops answering or when kernels are asked for with another
environment (a process never holds two), and ended with the process. The kernel the
provisioner hands to jupyter_client behaves as a local process: its ``pid`` is
the kernel's pid on this machine (for CPU-time limits, interrupts and kills) and
it ends when the zygote reports its exit.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from . import sandbox

__all__ = ["WarmProvisioner", "Zygote", "warm_enabled"]

START_SECONDS = 180.0  # a zygote's imports on a busy machine
REPLY_SECONDS = 30.0


def warm_enabled(cmd: list[str], env: dict[str, str]) -> bool:
    """Whether a kernel started with ``cmd`` and ``env`` can come from a zygote."""
    if env.get("DEEPPROB_WARM_KERNELS", os.environ.get("DEEPPROB_WARM_KERNELS", "1")) == "0":
        return False
    if env.get("DEEPPROB_SANDBOX", "auto").lower() == "off":
        return False
    try:
        if int(env.get("DEEPPROB_SANDBOX_SCRATCH_MB", "0") or 0) <= 0:
            return False
    except ValueError:
        return False
    if "deepprob.grading.sandbox" not in cmd or "ipykernel_launcher" not in cmd:
        return False
    return _bwrap_ok()


_BWRAP: list[bool] = []


def _bwrap_ok() -> bool:
    if not _BWRAP:
        _BWRAP.append(sandbox.bwrap_available()[0])
    return _BWRAP[0]


class Zygote:
    """One sandbox that forks warm kernels on request (see :mod:`deepprob.grading.zygote`).

    Parameters
    ----------
    env : dict
        Environment of the sandbox (the kernel's environment; limits and scratch
        size are read from it by :mod:`deepprob.grading.sandbox`).

    Raises
    ------
    RuntimeError
        If the sandbox does not start or does not say it is ready within
        :data:`START_SECONDS`.
    """

    started = 0  # zygotes this process has started (a new one per kernel would mean no warm kernels)

    def __init__(self, env: dict[str, str]):
        Zygote.started += 1
        self.private = Path(tempfile.mkdtemp(prefix=f"deepprob-kernel-{os.getpid()}-"))
        self.workdir = Path(tempfile.mkdtemp(prefix="deepprob-scratch-warm-"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deepprob.grading.sandbox", "--zygote", str(self.private)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=self.workdir, env=env,
            start_new_session=True,  # a kernel's process group is never the grader's
        )
        self.replies: queue.Queue = queue.Queue()
        self.exits: dict[int, int] = {}
        self.lock = threading.Lock()
        self.dead = threading.Event()
        threading.Thread(target=self._read, daemon=True, name="deepprob-zygote").start()
        ready = self._reply(START_SECONDS)
        if "ready" not in ready:
            self.close()
            raise RuntimeError(f"the grading zygote did not start: {ready}")

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "exited" in msg:
                with self.lock:
                    self.exits[int(msg["exited"])] = int(msg.get("rc", -1))
            else:
                self.replies.put(msg)
        self.dead.set()
        self.replies.put({"error": "the zygote ended"})

    def _reply(self, timeout: float) -> dict:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return {"error": f"no answer within {timeout:g} s"}

    def alive(self) -> bool:
        return not self.dead.is_set() and self.proc.poll() is None

    def start(self, connection: dict, argv: list[str], env: dict[str, str]) -> int:
        """Fork a kernel; return its pid inside the sandbox. Raises RuntimeError if the zygote fails."""
        request = {"op": "start", "connection": connection, "argv": argv, "env": env}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, ValueError) as err:
            raise RuntimeError(f"the grading zygote is gone: {err}") from err
        reply = self._reply(REPLY_SECONDS)
        if "started" not in reply:
            raise RuntimeError(f"the grading zygote did not start a kernel: {reply.get('error', reply)}")
        return int(reply["started"])

    def exit_code(self, inner_pid: int) -> int | None:
        with self.lock:
            if inner_pid in self.exits:
                return self.exits[inner_pid]
        return None if self.alive() else -signal.SIGKILL

    def host_pid(self, inner_pid: int, timeout: float = 10.0) -> int:
        """This machine's pid of the sandbox's process ``inner_pid`` (from ``/proc/<pid>/status``'s NSpid)."""
        import psutil

        end = time.monotonic() + timeout
        while time.monotonic() < end and self.alive():
            try:
                procs = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.Error:
                break
            for p in procs:
                try:
                    with open(f"/proc/{p.pid}/status") as f:
                        for line in f:
                            if line.startswith("NSpid:"):
                                ids = line.split()[1:]
                                if len(ids) > 1 and int(ids[-1]) == inner_pid:
                                    return p.pid
                except OSError:
                    continue
            time.sleep(0.01)
        raise RuntimeError(f"kernel {inner_pid} of the grading zygote not found")

    def close(self) -> None:
        """End the sandbox (every kernel in it) and remove its folders."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.private, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


_ZYGOTES: dict[tuple, Zygote] = {}
_POOL_LOCK = threading.Lock()


def _zygote(env: dict[str, str]) -> Zygote:
    """This process's zygote for kernels with ``env``; at most one lives (another environment replaces it)."""
    key = tuple(sorted((k, v) for k, v in env.items() if not k.startswith("JPY_")))
    with _POOL_LOCK:
        for other in [k for k in _ZYGOTES if k != key]:
            _ZYGOTES.pop(other).close()
        z = _ZYGOTES.get(key)
        if z is not None and not z.alive():
            _ZYGOTES.pop(key).close()
            z = None
        if z is None:
            z = _ZYGOTES[key] = Zygote(env)
        return z


@atexit.register
def _close_all() -> None:
    for z in list(_ZYGOTES.values()):
        z.close()
    _ZYGOTES.clear()


class _WarmKernel:
    """A forked kernel seen as a :class:`subprocess.Popen` (what LocalProvisioner manages)."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, inner_pid: int, links: list[Path]):
        self.zygote, self.inner_pid, self.links = zygote, inner_pid, links
        self.pid = zygote.host_pid(inner_pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.inner_pid)
            if self.returncode is not None:
                for link in self.links:
                    try:
                        link.unlink()
                    except OSError:
                        pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("warm kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _kernel_argv(cmd: list[str]) -> tuple[Path | None, list[str]]:
    """The connection file and the other ipykernel arguments of a ``deepprob-sandbox`` command."""
    rest = cmd[cmd.index("ipykernel_launcher") + 1:]
    connection, argv, skip = None, [], False
    for i, arg in enumerate(rest):
        if skip:
            skip = False
            continue
        if arg in ("-f", "--f", "--IPKernelApp.connection_file") and i + 1 < len(rest):
            connection, skip = Path(rest[i + 1]), True
        elif arg.startswith("--IPKernelApp.connection_file="):
            connection = Path(arg.split("=", 1)[1])
        else:
            argv.append(arg)
    return connection, argv


class WarmProvisioner(LocalProvisioner):
    """:class:`~jupyter_client.provisioning.LocalProvisioner` that takes kernels from a zygote (module docstring)."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        env = dict(kwargs.get("env") or os.environ)
        connection_file, argv = _kernel_argv(cmd) if "ipykernel_launcher" in cmd else (None, [])
        if connection_file is None or not warm_enabled(cmd, env):
            return await super().launch_kernel(cmd, **kwargs)
        info = json.loads(connection_file.read_text())
        if info.get("transport") != "ipc" or not info.get("ip"):
            return await super().launch_kernel(cmd, **kwargs)
        for attempt in range(2):
            links: list[Path] = []
            zygote = None
            try:
                zygote = _zygote(env)
                ip = Path(info["ip"])
                if not ip.is_absolute():  # jupyter_client's relative ipc sockets are in the client's folder
                    ip = Path.cwd() / ip
                for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
                    if key in info:
                        link = Path(f"{ip}-{info[key]}")
                        if link.is_symlink() or link.exists():
                            link.unlink()
                        link.symlink_to(zygote.private / link.name)
                        links.append(link)
                inside = dict(info, ip=f"{sandbox.SOCKETS}/{ip.name}")
                inner = zygote.start(inside, argv, env)
                self.process = _WarmKernel(zygote, inner, links)
                break
            except (RuntimeError, OSError) as err:
                for link in links:
                    link.unlink(missing_ok=True)
                if zygote is not None:
                    zygote.close()
                if attempt:
                    self.log.warning("warm kernels failed twice (%s): this kernel starts in a sandbox of its own", err)
                    return await super().launch_kernel(cmd, **kwargs)
                self.log.warning("warm kernel failed (%s); starting a new grading zygote", err)
        self.pid = self.pgid = self.process.pid  # the kernel leads its own process group
        self.cwd = kwargs.get("cwd", Path.cwd())
        return self.connection_info
