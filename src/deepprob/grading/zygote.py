"""Warm grading kernels, the sandbox side: ``python -m deepprob.grading.zygote`` (issue #16).

A fresh grading kernel spends about 3 s importing torch, SciPy and JAX before it
runs a student's first line. This *zygote* pays that once per grading worker: it
runs inside the worker's bubblewrap sandbox (:mod:`deepprob.grading.sandbox`,
started with ``--zygote``), imports the course's libraries and ``ipykernel``
(never a student's code), then forks one kernel per submission on request. The
grader's side is :mod:`deepprob.grading.warm`.

No state passes from one submission to the next:

* each kernel is a fresh ``fork`` of the zygote, which has run no student code;
  its memory is a copy, so what a kernel changes stays in that kernel;
* before each kernel starts and after each one ends, the zygote kills every other
  process in the sandbox's PID namespace (``kill(-1, SIGKILL)`` until none is
  left: daemons, double-forked children), empties every folder the sandbox can
  write (``/tmp``, the kernel's scratch folder, ``/dev/shm``, the socket folder)
  and removes System V shared memory, semaphores and message queues;
* the zygote is not dumpable (``PR_SET_DUMPABLE`` = 0), so a kernel can neither
  ``ptrace`` it nor read its memory or file descriptors through ``/proc``; the
  kernel's stdin and stdout are ``/dev/null``, so it cannot write to, or read
  from, the zygote's request pipe;
* a kernel *can* signal the zygote (same user): killing or stopping it only ends
  this sandbox; the grader then starts a new one for the next submission.

Protocol: one JSON object per line on stdin, one per line on stdout.

``{"op": "start", "connection": {...}, "argv": [...], "env": {...}}``
    start a kernel with this connection info (written to a file only it reads)
    and these ipykernel arguments; answer ``{"started": pid}`` (pid inside the
    sandbox) or ``{"error": message}``.
``{"op": "ping"}``
    answer ``{"pong": true}``.

Whenever a kernel ends the zygote writes ``{"exited": pid, "rc": code}``.
End of input (the grader is gone) ends the zygote.
"""
from __future__ import annotations

import json
import os
import re
import select
import signal
import sys

__all__ = ["PRELOAD", "serve"]

# What every course kernel imports: loaded once, before any submission runs.
PRELOAD = (
    "numpy", "scipy.stats", "scipy.special", "torch", "torch.nn.functional", "jax", "jax.numpy", "numpyro",
    "numpyro.distributions", "numpyro.infer", "ipykernel.kernelapp", "ipykernel.ipkernel",
    "deepprob.grading.agent", "deepprob.grading.checks",
)
_WRITABLE = ("/tmp", "/dev/shm", "/run/deepprob-kernel")
_KILL_ROUNDS = 200


def _log(message: str) -> None:
    print(f"deepprob.grading.zygote: {message}", file=sys.stderr, flush=True)


def _preload(names) -> None:
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:  # a library missing here is imported by the kernel that needs it
            _log(f"not preloaded: {name} ({type(err).__name__}: {err})")


def _not_dumpable() -> None:
    import ctypes

    PR_SET_DUMPABLE = 4
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _others() -> list[int]:
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def _reap() -> list[tuple[int, int]]:
    """Collect ended children: ``[(pid, returncode), ...]`` (negative: killed by that signal)."""
    out = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return out
        if pid == 0:
            return out
        out.append((pid, os.waitstatus_to_exitcode(status)))


def _kill_others() -> list[tuple[int, int]]:
    """Kill every process of the sandbox but pid 1 (bubblewrap's) and this one; return the reaped children."""
    reaped = []
    for _ in range(_KILL_ROUNDS):
        if not _others():
            return reaped + _reap()
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reaped += _reap()
        if _others():
            import time

            time.sleep(0.005)
    raise RuntimeError("processes survived kill(-1, SIGKILL)")


def _mounts() -> dict[str, bool]:
    """Mount points of this sandbox: ``path -> writable`` (from ``/proc/self/mountinfo``)."""
    out: dict[str, bool] = {}
    try:
        lines = open("/proc/self/mountinfo").read().splitlines()
    except OSError:
        return out
    for line in lines:
        fields = line.split()
        if len(fields) > 5:
            path = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            out[path] = "rw" in fields[5].split(",")
    return out


def _empty(folder: str, mounts: dict[str, bool]) -> None:
    """Remove what ``folder`` holds, leaving mount points (a read-only one untouched, a writable one emptied).

    The sandbox mounts the Python installation read-only wherever it lives, possibly under ``/tmp``
    (a course cloned into ``/tmp``); the scratch folder is a tmpfs of its own, possibly under ``/tmp`` too.
    """
    import shutil

    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        path = entry.path
        if entry.is_dir(follow_symlinks=False):
            if path in mounts:
                if mounts[path]:
                    _empty(path, mounts)
            elif any(m.startswith(path + "/") for m in mounts):
                _empty(path, mounts)  # holds a mount point: empty around it
            else:
                shutil.rmtree(path)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _remove_sysv_ipc() -> None:
    """Remove System V shared memory segments, semaphore sets and message queues (this IPC namespace's)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    IPC_RMID = 0
    for table, call in (("shm", libc.shmctl), ("sem", libc.semctl), ("msg", libc.msgctl)):
        try:
            lines = open(f"/proc/sysvipc/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1:
                ident = int(fields[1])
                if table == "sem":
                    call(ident, 0, IPC_RMID)
                else:
                    call(ident, IPC_RMID, None)


def clean(workdir: str) -> list[tuple[int, int]]:
    """Leave the sandbox as the zygote found it: no other process, empty writable folders, no System V IPC."""
    reaped = _kill_others()
    mounts = _mounts()
    for folder in (*_WRITABLE, workdir):
        _empty(folder, mounts)
    _remove_sysv_ipc()
    return reaped


def _child(request: dict, workdir: str) -> None:
    """In the forked kernel process: become a fresh ``ipykernel_launcher``; never returns."""
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)  # not the request pipe (ipykernel sends the kernel's output over ZMQ)
        os.close(devnull)
        os.setpgid(0, 0)  # interrupts and kills reach the kernel and its subprocesses
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        env = request.get("env") or {}
        for key, value in env.items():
            if isinstance(key, str) and isinstance(value, str) and not key.startswith(("HOME", "TMPDIR")):
                os.environ[key] = value
        os.chdir(workdir)
        path = f"/tmp/.kernel-{os.getpid()}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(request["connection"], f)
        # a fresh interpreter's random state, not a copy of the zygote's
        from deepprob import seeds

        seeds.seed_globals(None)
        sys.argv = ["ipykernel_launcher", "-f", path, *[str(a) for a in request.get("argv") or []]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except BaseException as err:  # noqa: BLE001 - report and leave the child
        _log(f"kernel failed to start: {type(err).__name__}: {err}")
    finally:
        os._exit(code)


def _send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(workdir: str | None = None, preload=PRELOAD) -> int:
    """Answer start requests on stdin until it closes (module docstring)."""
    workdir = os.path.realpath(workdir or os.getcwd())
    if sys.path and sys.path[0] in ("", os.getcwd(), workdir):
        del sys.path[0]  # as ipykernel_launcher does: the kernel adds its folder back itself
    _preload(preload)
    _not_dumpable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, lambda *a: None)  # wake select() when a kernel ends
    stdin = sys.stdin.buffer
    buffer = b""
    kernels: set[int] = set()
    _send({"ready": os.getpid()})
    while True:
        try:
            readable, _, _ = select.select([stdin], [], [], 0.5)
        except InterruptedError:
            readable = []
        ended = _reap()
        if any(pid in kernels for pid, _ in ended):
            ended += clean(workdir)  # nothing a kernel started outlives it
        for pid, rc in ended:
            if pid in kernels:
                kernels.discard(pid)
                _send({"exited": pid, "rc": rc})
        if not readable:
            continue
        chunk = os.read(stdin.fileno(), 1 << 16)
        if not chunk:
            clean(workdir)
            return 0
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                request = json.loads(line)
            except ValueError:
                _send({"error": "not JSON"})
                continue
            op = request.get("op")
            if op == "ping":
                _send({"pong": True})
            elif op == "start":
                for pid, rc in clean(workdir):
                    if pid in kernels:
                        kernels.discard(pid)
                        _send({"exited": pid, "rc": rc})
                pid = os.fork()
                if pid == 0:
                    _child(request, workdir)
                try:
                    os.setpgid(pid, pid)  # as the child does: its own group before anyone signals it
                except OSError:
                    pass
                kernels.add(pid)
                _send({"started": pid})
            else:
                _send({"error": f"unknown op {op!r}"})


if __name__ == "__main__":
    sys.exit(serve())
