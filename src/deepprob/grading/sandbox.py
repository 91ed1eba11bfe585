"""Run a grading kernel in a sandbox: ``python -m deepprob.grading.sandbox -- CMD ...``.

nbgrader executes every submission with the grader's rights: without a sandbox a
student's code can read ``gradebook.db`` (which holds the hidden tests),
``solutions/``, the other students' work, open sockets and write anywhere. This
module is the kernel launcher of the course's grading kernelspec
``deepprob-sandbox`` (``share/jupyter/kernels/deepprob-sandbox/kernel.json``)::

    python -m deepprob.grading.sandbox -- python -m ipykernel_launcher -f {connection_file}

It starts the kernel inside `bubblewrap <https://github.com/containers/bubblewrap>`_
(``apt-get install bubblewrap``) with

* a new mount namespace whose only writable folder is the kernel's working
  folder (nbgrader's ``autograded/<student>/<assignment>``) and a private
  ``/tmp``; the Python installation (``sys.base_prefix``, ``sys.prefix``, the
  folders on ``sys.path``) and ``/usr`` are mounted read-only; the course root,
  ``gradebook.db``, ``solutions/``, ``submitted/``, other students' folders and
  ``/root``, ``/home`` are simply not there;
* new network, PID, IPC and UTS namespaces and no capabilities: no network
  (the kernel talks to nbgrader over Unix sockets, ``KernelManager.transport =
  "ipc"``; the sockets live in a private folder per kernel, so a kernel cannot
  reach another kernel's sockets), no signals to processes outside, and every
  process of the kernel dies with it (``--die-with-parent``);
* resource limits: address space / data size (memory), file size, open
  files, no core dumps, and where the machine allows a cgroup (v1 or v2) a
  process/thread limit and a hard memory limit.

Limits are read from environment variables (set them in ``nbgrader_config.py``
or in the shell): ``DEEPPROB_SANDBOX_MEMORY_MB`` (default 3072),
``DEEPPROB_SANDBOX_PIDS`` (256), ``DEEPPROB_SANDBOX_FSIZE_MB`` (256),
``DEEPPROB_SANDBOX`` = ``auto`` (sandbox if bubblewrap works, else run
**unsafely** with a warning), ``require`` (refuse to start without a sandbox)
or ``off`` (no sandbox; limits only).

``python -m deepprob.grading.sandbox --check`` says what works on this machine.

``python -m deepprob.grading.sandbox --zygote PRIVATE`` starts the same sandbox
around :mod:`deepprob.grading.zygote` instead of one kernel (warm kernels, see
:mod:`deepprob.grading.warm`): ``PRIVATE`` is the socket folder mounted at
:data:`SOCKETS`, the working folder (the current one) a scratch tmpfs, and the
zygote's stdin/stdout are this process's. It needs bubblewrap and a scratch size.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KERNEL_NAME", "Limits", "kernel_dir", "register", "bwrap_available", "bwrap_command", "main"]

KERNEL_NAME = "deepprob-sandbox"
SOCKETS = "/run/deepprob-kernel"  # where a sandboxed kernel sees its private socket folder
_SHARE = Path(__file__).resolve().parent / "share" / "jupyter"

UNSAFE_WARNING = (
    "deepprob.grading.sandbox: WARNING - UNSAFE GRADING: bubblewrap (bwrap) is not available or does not work "
    "on this machine, so this submission runs with the grader's rights: it can read gradebook.db (the hidden "
    "tests), solutions/ and other students' work, write anywhere the grader can, and use the network. Install "
    "it with `apt-get install bubblewrap` (see book/instructor_guide.md), or set DEEPPROB_SANDBOX=require to "
    "refuse to grade without a sandbox."
)

# /etc entries a Python kernel needs; the rest of /etc (shadow, ssh keys, ...) stays out.
_ETC = [
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
    "timezone", "hosts", "mime.types", "ssl", "ca-certificates", "fonts", "alternatives", "matplotlibrc",
]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel.

    Attributes
    ----------
    memory_mb : int
        Data segment / heap limit (``RLIMIT_DATA``; a cgroup memory limit as well
        where available). ``MemoryError`` in the kernel when exceeded.
    pids : int
        Processes and threads (cgroup ``pids.max``; ``RLIMIT_NPROC`` when not root).
    fsize_mb : int
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    nofile : int
        Open file descriptors.
    """

    memory_mb: int = 3072
    pids: int = 256
    fsize_mb: int = 256
    nofile: int = 1024

    @classmethod
    def from_env(cls) -> "Limits":
        def get(name, default):
            value = os.environ.get(name)
            return int(value) if value else default

        return cls(
            memory_mb=get("DEEPPROB_SANDBOX_MEMORY_MB", cls.memory_mb),
            pids=get("DEEPPROB_SANDBOX_PIDS", cls.pids),
            fsize_mb=get("DEEPPROB_SANDBOX_FSIZE_MB", cls.fsize_mb),
            nofile=get("DEEPPROB_SANDBOX_NOFILE", cls.nofile),
        )


def kernel_dir() -> Path:
    """The ``share/jupyter`` folder that holds the ``deepprob-sandbox`` kernelspec."""
    return _SHARE


def register() -> None:
    """Make the ``deepprob-sandbox`` kernelspec findable in this process and its children.

    Prepends the package's ``share/jupyter`` folder to ``JUPYTER_PATH`` (called by
    ``nbgrader_config.py``, so that a plain ``nbgrader autograde`` finds it too).
    """
    path = str(_SHARE)
    current = os.environ.get("JUPYTER_PATH", "")
    if path not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = path + (os.pathsep + current if current else "")


def bwrap_available() -> tuple[bool, str]:
    """Whether bubblewrap can create the namespaces the sandbox needs here, and why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bwrap not found (apt-get install bubblewrap)"
    try:
        r = subprocess.run(
            [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"bwrap failed: {err}"
    if r.returncode != 0:
        return False, f"bwrap cannot create namespaces here: {r.stderr.strip()}"
    return True, exe


def _is_ancestor(a: Path, b: Path) -> bool:
    """True if ``a`` is ``b`` or one of its parents."""
    try:
        b.relative_to(a)
        return True
    except ValueError:
        return False


def _python_paths(workdir: Path) -> list[Path]:
    """Read-only folders the kernel's Python needs: prefixes and sys.path entries."""
    out: list[Path] = []
    for entry in [sys.base_prefix, sys.prefix, sys.exec_prefix, *sys.path]:
        if not entry:
            continue
        p = Path(entry).resolve()
        if not p.exists() or p == Path("/"):
            continue
        if p.is_file():  # python311.zip
            p = p.parent
        # never the course root, nor any folder that contains the working folder
        if _is_ancestor(p, workdir):
            continue
        if any(_is_ancestor(q, p) for q in out):
            continue
        out = [q for q in out if not _is_ancestor(p, q)] + [p]
    # the interpreter may be a symlink into yet another prefix
    exe = Path(sys.executable).resolve().parent.parent
    if not any(_is_ancestor(q, exe) for q in out) and not _is_ancestor(exe, workdir):
        out.append(exe)
    return out


def _connection(cmd: list[str]) -> tuple[Path | None, dict]:
    for i, arg in enumerate(cmd[:-1]):
        if arg in ("-f", "--f", "--IPKernelApp.connection_file"):
            path = Path(cmd[i + 1])
            try:
                return path, json.loads(path.read_text())
            except (OSError, ValueError):
                return path, {}
        if arg.startswith("--IPKernelApp.connection_file="):
            path = Path(arg.split("=", 1)[1])
            return path, json.loads(path.read_text())
    return None, {}


def _ipc_prefix(info: dict) -> Path | None:
    """Absolute path prefix of the kernel's ipc sockets (``<ip>-<port>``).

    A relative ``ip`` (jupyter_client's default ``kernel-ipc``) is relative to the
    *client's* working folder, i.e. the parent process's.
    """
    if info.get("transport") != "ipc" or not info.get("ip"):
        return None
    ip = Path(info["ip"])
    if not ip.is_absolute():
        try:
            base = Path(os.readlink(f"/proc/{os.getppid()}/cwd"))
        except OSError:
            base = Path.cwd()
        ip = base / ip
    return ip


def bwrap_command(
    cmd: list[str], workdir: Path, connection_file: Path | None, info: dict, private: Path, sockets: bool | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs ``cmd`` sandboxed (see the module docstring).

    ``private`` is a fresh folder mounted at :data:`SOCKETS` inside: the kernel
    creates its ipc sockets there (the client reaches them through symlinks) and
    sees no other kernel's files. ``sockets`` forces that mount on or off (by
    default: when the connection ``info`` has ipc sockets outside ``workdir``).
    """
    exe = shutil.which("bwrap")
    args = [
        exe, "--unshare-user-try", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--cap-drop", "ALL", "--hostname", "grader",
        "--ro-bind", "/usr", "/usr",
        "--proc", "/proc", "--dev", "/dev",
    ]
    scratch_mb = _scratch_mb()
    if scratch_mb:
        args += ["--size", str(scratch_mb << 20)]
    args += ["--tmpfs", "/tmp"]
    if info.get("transport", "tcp") == "ipc":
        args.insert(1, "--unshare-net")
    if sockets is None:
        ip = _ipc_prefix(info)
        sockets = ip is not None and not (_is_ancestor(workdir, ip.parent) and not _scratch_mb())
    if sockets:
        # the private socket folder appears at a neutral path inside (never the
        # course root, where jupyter_client puts relative ipc sockets)
        args += ["--bind", str(private), SOCKETS]
    if connection_file is not None:
        args += ["--ro-bind", str(connection_file.resolve()), str(connection_file.resolve())]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    for name in _ETC:
        p = Path("/etc") / name
        if p.exists():
            args += ["--ro-bind", str(p), str(p)]
    for p in _python_paths(workdir):
        args += ["--ro-bind", str(p), str(p)]
    if scratch_mb:
        # the checker's scratch folder: a private, size-limited tmpfs that the grader never reads back
        args += ["--size", str(scratch_mb << 20), "--tmpfs", str(workdir), "--remount-ro", "/"]
    else:
        args += ["--bind", str(workdir), str(workdir), "--remount-ro", "/"]
    for key, value in {
        "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/.matplotlib", "XDG_CACHE_HOME": "/tmp/.cache",
        "JUPYTER_RUNTIME_DIR": "/tmp/.jupyter-runtime", "IPYTHONDIR": "/tmp/.ipython",
    }.items():
        args += ["--setenv", key, value]
    # the kernel's parent pid means nothing inside the PID namespace; --die-with-parent does its job
    args += ["--unsetenv", "JPY_PARENT_PID", "--chdir", str(workdir), "--"]
    return args + cmd


def _scratch_mb() -> int:
    """Size of the tmpfs scratch folder asked for by the checker (``DEEPPROB_SANDBOX_SCRATCH_MB``); 0: none."""
    try:
        return max(0, int(os.environ.get("DEEPPROB_SANDBOX_SCRATCH_MB", "0") or 0))
    except ValueError:
        return 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _collect_garbage() -> None:
    """Remove private folders and cgroups left by sandboxes that were killed (SIGKILL)."""
    places = [Path(tempfile.gettempdir()).glob("deepprob-kernel-*")]
    for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/memory")):
        if base.is_dir():
            places.append(base.glob("deepprob-*"))
    for place in places:
        for p in place:
            try:
                pid = int(p.name.split("-")[2] if p.name.startswith("deepprob-kernel-") else p.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if not _pid_alive(pid):
                if p.parts[1:3] == ("sys", "fs"):
                    try:
                        p.rmdir()
                    except OSError:
                        pass
                else:
                    shutil.rmtree(p, ignore_errors=True)


def _cgroup(limits: Limits) -> Path | None:
    """Create a cgroup with pids and memory limits; None where the machine allows none."""
    name = f"deepprob-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    root = Path("/sys/fs/cgroup")
    try:
        if (root / "cgroup.controllers").exists():  # cgroup v2
            group = root / name
            group.mkdir()
            (group / "pids.max").write_text(str(limits.pids))
            try:
                (group / "memory.max").write_text(str(limits.memory_mb * 2 << 20))
            except OSError:
                pass
            return group
        pids = root / "pids"
        if pids.is_dir():  # cgroup v1
            group = pids / name
            group.mkdir()
            (group / "pids.max").write_text(str(limits.pids))
            mem = root / "memory" / name
            try:
                mem.mkdir()
                (mem / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 2 << 20))
            except OSError:
                pass
            return group
    except OSError:
        return None
    return None


def _cgroup_paths(group: Path) -> list[Path]:
    paths = [group]
    if group.parent.name == "pids":
        mem = group.parent.parent / "memory" / group.name
        if mem.exists():
            paths.append(mem)
    return paths


def _enter(paths: list[Path]) -> None:
    for p in paths:
        try:
            (p / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            pass


def _remove(paths: list[Path]) -> None:
    for p in paths:
        for _ in range(50):
            try:
                p.rmdir()
                break
            except OSError:
                import time

                time.sleep(0.05)


def _set_limits(limits: Limits) -> None:
    import resource

    mb = 1 << 20
    for res, value in (
        (resource.RLIMIT_DATA, limits.memory_mb * mb),
        (resource.RLIMIT_FSIZE, limits.fsize_mb * mb),
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_CORE, 0),
    ):
        soft, hard = resource.getrlimit(res)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(res, (new, new))
    if os.getuid() != 0:  # root is exempt from RLIMIT_NPROC
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))


def _watch_parent(proc: subprocess.Popen) -> None:
    """Kill the sandbox when the grader that started this launcher is gone.

    (``PR_SET_PDEATHSIG`` would fire when the launching *thread* ends, which
    jupyter_client's event-loop threads do; so poll the parent pid instead.)
    """
    import threading
    import time

    parent = os.getppid()

    def watch():
        while proc.poll() is None:
            if os.getppid() != parent:
                proc.kill()
                return
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True).start()


def check() -> dict:
    """What the sandbox can do on this machine (``--check``)."""
    ok, detail = bwrap_available()
    group = _cgroup(Limits())
    if group is not None:
        _remove(_cgroup_paths(group))
    return {
        "bwrap": ok,
        "detail": detail,
        "mode": os.environ.get("DEEPPROB_SANDBOX", "auto"),
        "cgroup_limits": group is not None,
        "root": os.getuid() == 0,
        "limits": Limits.from_env().__dict__,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--check"]:
        print(json.dumps(check(), indent=2))
        return 0
    zygote = None
    if argv[:1] == ["--zygote"] and len(argv) == 2:
        zygote = Path(argv[1]).resolve()
        cmd = ["python", "-m", "deepprob.grading.zygote"]
    elif "--" not in argv or argv.index("--") == len(argv) - 1:
        print("usage: python -m deepprob.grading.sandbox [--check] [--zygote PRIVATE] [-- COMMAND ...]", file=sys.stderr)
        return 2
    else:
        cmd = argv[argv.index("--") + 1:]
    if cmd[0] in ("python", "python3"):
        cmd[0] = sys.executable
    mode = os.environ.get("DEEPPROB_SANDBOX", "auto").lower()
    limits = Limits.from_env()
    workdir = Path.cwd().resolve()
    connection_file, info = _connection(cmd)

    if zygote is not None:
        ok, detail = bwrap_available()
        if mode == "off" or not ok or not _scratch_mb():
            print("deepprob.grading.sandbox: no zygote without bubblewrap and a scratch size "
                  f"(DEEPPROB_SANDBOX={mode}, DEEPPROB_SANDBOX_SCRATCH_MB={_scratch_mb()}, {detail})", file=sys.stderr)
            return 3
        return _run_sandboxed(cmd, workdir, None, {"transport": "ipc"}, limits, zygote, sockets=True)

    use_bwrap = False
    if mode != "off":
        use_bwrap, detail = bwrap_available()
        if not use_bwrap:
            if mode == "require":
                print(f"deepprob.grading.sandbox: refusing to start an unsandboxed kernel: {detail}", file=sys.stderr)
                return 3
            print(UNSAFE_WARNING + f" ({detail})", file=sys.stderr)
    if not use_bwrap:
        _set_limits(limits)
        os.execv(cmd[0], cmd)

    if info.get("transport", "tcp") != "ipc":
        print(
            "deepprob.grading.sandbox: WARNING - the kernel uses TCP, so its network is NOT isolated; set "
            "c.KernelManager.transport = 'ipc' in nbgrader_config.py",
            file=sys.stderr,
        )
    _collect_garbage()
    private = Path(tempfile.mkdtemp(prefix=f"deepprob-kernel-{os.getpid()}-"))
    return _run_sandboxed(cmd, workdir, connection_file, info, limits, private)


def _run_sandboxed(
    cmd: list[str], workdir: Path, connection_file: Path | None, info: dict, limits: Limits, private: Path,
    sockets: bool | None = None,
) -> int:
    """Run ``cmd`` in bubblewrap with the limits; wait for it; remove what was made for it."""
    links: list[Path] = []
    ip = _ipc_prefix(info)
    if ip is not None and _is_ancestor(workdir, ip.parent) and not _scratch_mb():
        ip = None  # sockets in the kernel's own folder: both sides see them (unless it is a private scratch tmpfs)
    if ip is not None:
        # the kernel binds its sockets in `private` (mounted over the socket
        # folder inside the sandbox); the client finds them through symlinks.
        for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
            if key in info:
                link = Path(f"{ip}-{info[key]}")
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(private / link.name)
                links.append(link)
        # the kernel resolves a relative ip against its own folder: hand it a copy
        # of the connection file with the absolute prefix, inside the private folder
        copy = dict(info, ip=f"{SOCKETS}/{ip.name}")
        (private / "connection.json").write_text(json.dumps(copy))
        inside = f"{SOCKETS}/connection.json"
        cmd = [inside if a == str(connection_file) else a for a in cmd]
        connection_file = None
    group = _cgroup(limits)
    paths = _cgroup_paths(group) if group is not None else []
    command = bwrap_command(cmd, workdir, connection_file, info, private, sockets=sockets)
    if os.environ.get("DEEPPROB_SANDBOX_DEBUG"):
        print("deepprob.grading.sandbox:", " ".join(command), file=sys.stderr)

    def pre_exec():
        _enter(paths)
        _set_limits(limits)
        # interrupts reach the kernel through the process group: bwrap itself
        # must survive them (ipykernel installs its own SIGINT handler)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(command, preexec_fn=pre_exec)
    _watch_parent(proc)

    def forward(signum, frame):
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    # SIGINT reaches the kernel through the process group (interrupts); pass
    # on SIGTERM so that a shutdown ends the sandbox.
    signal.signal(signal.SIGINT, lambda *a: None)
    signal.signal(signal.SIGTERM, forward)
    try:
        rc = proc.wait()
    finally:
        for link in links:
            try:
                link.unlink()
            except OSError:
                pass
        shutil.rmtree(private, ignore_errors=True)
        _remove(paths)
    return rc


if __name__ == "__main__":
    sys.exit(main())
