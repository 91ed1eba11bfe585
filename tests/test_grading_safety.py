"""Bad submissions are graded, alone, without stopping the batch (issue 6, COURSE.md §6).

One ``nbgrader autograde`` run on a temporary copy of the course grades a class
of broken, hostile and odd submissions of ex01 next to correct ones; each test
then states the grade that submission must get, cell by cell. The attacks on the
grader (reading ``gradebook.db``, ``solutions/`` or another student's work,
writing outside the submission's folder, opening a socket) are written so that
the function is correct *only if the attack failed*: the sandbox is proven by
full marks. A probe submission also records what it could see (printed into its
own cell's output, since nothing is read back from the kernel's scratch folder).

Issue #10: ex01's hidden tests run in the grader's process
(:mod:`deepprob.grading.checker`), so a wrong answer plus any trick on the
kernel (a lying tensor subclass, an AST transformer that drops asserts, a
patched message sender, a shadowed ``abs``) still loses the cell, and what the
kernel can see (its folder, ``In``, the environment) holds no hidden test and
no secret of the grader.
"""
from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from deepprob.grading import Case, grade_cases, solution_sources
from deepprob.grading.sandbox import bwrap_available

A = "ex01_maximum_likelihood"
G, B, R = "test_gaussian_nll", "test_bernoulli_nll", "test_reweight_probabilities"
ALL = (G, B, R)
TIMEOUT = 10  # seconds per cell: the infinite loop costs this much
MEMORY_MB = 1024  # sandbox heap limit for this run

SANDBOX, WHY = bwrap_available()
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason=f"no working bubblewrap sandbox: {WHY}")

_SOL = solution_sources(Path(__file__).resolve().parents[1] / "solutions" / A / f"{A}.ipynb")
GAUSS = _SOL["gaussian_nll"]
BERN = _SOL["bernoulli_nll"]
WRONG_GAUSS = "def gaussian_nll(y, mu, log_var):\n    return (0.5 * (log_var + (y - mu) ** 2 / torch.exp(log_var))).mean()\n"


SECRET = "grader-secret-7f3a9c"  # an environment variable of the grader's process
HIDDEN_ONLY = "log_var_scale"  # a name that appears only in ex01's hidden tests


def guarded(attack: str, course: Path) -> str:
    """gaussian_nll is correct only if ``attack`` raised (the sandbox stopped it)."""
    return (
        "from pathlib import Path\n"
        f"COURSE = Path({str(course)!r})\n"
        "try:\n" + "".join(f"    {line}\n" for line in attack.splitlines()) + "    _stolen = True\n"
        "except Exception:\n    _stolen = False\n" + GAUSS + "\n"
        "if _stolen:\n    gaussian_nll = lambda y, mu, log_var: torch.tensor(float('nan'))\n"
    )


PROBE = '''
import json, os, socket
from pathlib import Path
here = Path.cwd(); course = Path(COURSE_ROOT)
seen = {"cwd": str(here), "uid": os.getuid(), "root_listing": sorted(os.listdir("/"))}
def attempt(name, fn):
    try:
        seen[name] = repr(fn())[:200]
    except Exception as err:
        seen[name] = "DENIED " + type(err).__name__
attempt("gradebook", lambda: (course / "gradebook.db").read_bytes()[:16])
attempt("solutions", lambda: os.listdir(course / "solutions"))
attempt("course_root", lambda: os.listdir(course))
attempt("other_submitted", lambda: os.listdir(course / "submitted"))
attempt("other_autograded", lambda: os.listdir(here.parent.parent))
attempt("write_course", lambda: (course / "pwned.txt").write_text("x"))
attempt("write_tmp_shared", lambda: Path("/tmp/deepprob-pwned").write_text("x"))
attempt("etc_shadow", lambda: Path("/etc/shadow").read_text()[:10])
attempt("home", lambda: os.listdir("/root"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
attempt("dns", lambda: socket.getaddrinfo("pypi.org", 443))
attempt("kill_parent", lambda: os.kill(os.getppid(), 0) or os.getppid())
print("PROBE" + json.dumps(seen) + "EBORP")
'''


LIAR = (
    "class _Liar(torch.Tensor):\n"
    "    def __eq__(self, other):\n        return True\n"
    "    @classmethod\n"
    "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
    "        if getattr(func, '__name__', '') in ('allclose', 'isclose', 'eq', '__eq__', 'equal'):\n"
    "            return True\n"
    "        return super().__torch_function__(func, types, args, kwargs or {})\n"
    "_wrong = gaussian_nll\n"
    "def gaussian_nll(y, mu, log_var):\n"
    "    return _wrong(y, mu, log_var).as_subclass(_Liar)\n"
)
NO_ASSERT = (
    "import ast\n"
    "class _NoAssert(ast.NodeTransformer):\n"
    "    def visit_Assert(self, node):\n        return ast.Pass()\n"
    "get_ipython().ast_transformers.append(_NoAssert())\n"
)
SILENCE = (
    "_kernel = get_ipython().kernel\n"
    "_send = _kernel.session.send\n"
    "def _quiet(stream, msg_or_type, content=None, *args, **kwargs):\n"
    "    if msg_or_type == 'error':\n        return None\n"
    "    if isinstance(content, dict) and content.get('status') == 'error':\n"
    "        content = {'status': 'ok', 'execution_count': content.get('execution_count', 0),\n"
    "                   'user_expressions': {}, 'payload': []}\n"
    "    return _send(stream, msg_or_type, content, *args, **kwargs)\n"
    "_kernel.session.send = _quiet\n"
)
SNOOP = (
    "import glob, os\n"
    "for _p in glob.glob('**/*.ipynb', recursive=True) + glob.glob('../**/*.ipynb', recursive=True) + "
    "glob.glob('/tmp/**/*.ipynb', recursive=True):\n"
    "    try:\n        print(open(_p).read())\n    except Exception:\n        pass\n"
    "print(os.listdir('.'), In)\n"
    "print(dict(os.environ))\n"
    "from IPython.display import HTML, display\n"
    "display(HTML('<script>alert(1)</script>'))\n"
)


# Warm kernels (issue #16): the kernels of one grading worker are forked from one zygote in one sandbox.
# A submission that leaves things behind for the next one (graded right after it: nbgrader grades the
# students in name order) must not reach it: a daemon that kills every process once its kernel has gone,
# an IPython start-up file that breaks ``Tensor.mean``, files in /tmp, /dev/shm and its folder, System V
# shared memory. The victim is correct (full marks only if none of it reached it) and records what it saw.
LEAVE_TRAPS = """
import ctypes, os, signal, time
from pathlib import Path
_kernel, _parent = os.getpid(), os.getppid()  # the daemon spares the kernel's parent: it wants the next kernel
_startup = Path(os.environ.get("IPYTHONDIR", "/tmp/.ipython")) / "profile_default" / "startup"
_startup.mkdir(parents=True, exist_ok=True)
(_startup / "00-sabotage.py").write_text("import torch\\ntorch.Tensor.mean = lambda self, *a, **k: self.sum() * float('nan')\\n")
for _p in ("/tmp/deepprob-left", "/dev/shm/deepprob-left", "deepprob-left-cwd"):
    try:
        Path(_p).write_text("x")
    except OSError:
        pass
try:
    ctypes.CDLL(None).shmget(0x5EED, 4096, 0o1666)  # IPC_CREAT | 0666
except Exception:
    pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while os.path.exists(f"/proc/{_kernel}"):
            time.sleep(0.02)
        _end = time.time() + 90
        while time.time() < _end:
            for _q in os.listdir("/proc"):
                if _q.isdigit() and int(_q) not in (1, _parent, os.getpid()):
                    try:
                        os.kill(int(_q), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.01)
    os._exit(0)
os.wait()
"""
VICTIM = """
import json, os
from pathlib import Path
def _ls(p):
    try:
        return sorted(os.listdir(p))
    except OSError:
        return []
_me = {"1", str(os.getpid()), str(os.getppid())}
_seen = {
    "tmp": [n for n in _ls("/tmp") if "deepprob-left" in n],
    "startup": [n for n in _ls(Path(os.environ.get("IPYTHONDIR", "/tmp/.ipython")) / "profile_default" / "startup") if n != "README"],
    "dev_shm": _ls("/dev/shm"), "cwd": _ls("."),
    "sysv_shm": open("/proc/sysvipc/shm").read().splitlines()[1:] if os.path.exists("/proc/sysvipc/shm") else [],
}
print("LEFT" + json.dumps(_seen) + "TFEL")
"""
ZYGOTE_KILLER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(os.getpid(), signal.SIGKILL)\n"


def cases(port: int, course: Path = Path("/nonexistent")) -> list[Case]:
    loop_forever = "while True:\n    pass\n"
    return [
        Case("solution", "full", description="the reference solution"),
        Case("blank", "zero", blank=True, description="the release as handed out"),
        Case("syntax_error", "partial", must_lose=(G,), description="a syntax error in one solution cell",
             replace={"gaussian_nll": "def gaussian_nll(y, mu, log_var)\n    return 0\n"}),
        Case("import_error", "partial", must_lose=(G,), description="an exception at import",
             replace={"gaussian_nll": "import no_such_module_for_grading\n" + GAUSS}),
        Case("infinite_loop", "partial", must_lose=(G,), description="an infinite loop: interrupted at the timeout",
             replace={"gaussian_nll": loop_forever + GAUSS}),
        Case("os_exit", "partial", must_lose=(B, R), description="the kernel exits itself (os._exit)",
             replace={"bernoulli_nll": "import os\nos._exit(1)\n" + BERN}),
        Case("kill9", "partial", must_lose=(B, R), description="the kernel kills itself (SIGKILL)",
             replace={"bernoulli_nll": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n" + BERN}),
        Case("memory_hog", "partial", must_lose=(G,), description="memory exhaustion: MemoryError at the limit",
             replace={"gaussian_nll": "_blobs = []\nwhile True:\n    _blobs.append(bytearray(128 * 2**20))\n" + GAUSS}),
        Case("huge_output", "full", description="100 MB printed in a solution cell",
             replace={"gaussian_nll": "for _ in range(1000):\n    print('x' * 100_000)\n" + GAUSS}),
        Case("deleted_test", "full", delete=(G,), description="a deleted test cell comes back from the gradebook"),
        Case("edited_test", "full", replace={G: "pass\n"}, description="an emptied test cell is restored"),
        Case("renamed_notebook", "zero", notebook=f"{A} (1).ipynb", description="the notebook was renamed"),
        Case("empty_folder", "zero", notebook="", description="an empty submission folder"),
        Case("not_a_notebook", "zero", notebook="", files={"answers.pdf": "%PDF-1.4 not a notebook"},
             description="a PDF instead of the notebook"),
        Case("broken_json", "zero", raw="{this is not json", description="a notebook file that is not JSON"),
        Case("patched_builtins", "partial", must_lose=(G,), description="wrong answer + builtins.abs monkeypatched",
             replace={"gaussian_nll": "import builtins\nbuiltins.abs = lambda x: 0\n" + WRONG_GAUSS}),
        Case("patched_torch", "partial", must_lose=(G,), description="wrong answer + torch.allclose & friends patched",
             replace={"gaussian_nll": (
                 "import builtins, math, numpy\n"
                 "torch.allclose = lambda *a, **k: True\n"
                 "torch.isclose = lambda a, b, *r, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)\n"
                 "numpy.allclose = lambda *a, **k: True\n"
                 "math.isclose = lambda *a, **k: True\n"
                 "builtins.abs = lambda x: 0\n" + WRONG_GAUSS)}),
        Case("read_gradebook", "full", description="reads ../../../gradebook.db (must fail)",
             replace={"gaussian_nll": guarded("(COURSE / 'gradebook.db').read_bytes()", course)}),
        Case("read_solutions", "full", description="reads solutions/ (must fail)",
             replace={"gaussian_nll": guarded(f"(COURSE / 'solutions' / '{A}' / '{A}.ipynb').read_text()", course)}),
        Case("read_other_student", "full", description="reads another student's submission (must fail)",
             replace={"gaussian_nll": guarded(f"(COURSE / 'submitted' / 'solution' / '{A}' / '{A}.ipynb').read_text()", course)}),
        Case("write_outside", "full", description="writes next to gradebook.db and in /tmp (must not land)",
             replace={"gaussian_nll": (
                 "from pathlib import Path\n"
                 f"for target in (Path({str(course)!r}) / 'pwned.txt', Path({str(course)!r}) / 'autograded' / 'pwned.txt',\n"
                 "               Path('/tmp/deepprob-pwned-write')):\n"
                 "    try:\n        target.write_text('x')\n    except OSError:\n        pass\n" + GAUSS)}),
        Case("network", "full", description="connects to a TCP port of the grader's machine (must fail)",
             replace={"gaussian_nll": guarded(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)", course)}),
        Case("probe", "full", description="records what a submission can see",
             replace={"gaussian_nll": PROBE.replace("PORT", str(port)).replace("COURSE_ROOT", repr(str(course))) + GAUSS}),
        Case("lying_tensor", "partial", must_lose=(G,), description="wrong answer returned as a Tensor subclass whose "
             "comparisons always pass", replace={"gaussian_nll": WRONG_GAUSS + LIAR}),
        Case("ast_transformer", "partial", must_lose=(G,), description="wrong answer + an AST transformer that turns "
             "every assert into pass", replace={"gaussian_nll": NO_ASSERT + WRONG_GAUSS}),
        Case("silenced_errors", "partial", must_lose=(G,), description="wrong answer + the kernel's send patched to "
             "drop errors and report ok", replace={"gaussian_nll": SILENCE + WRONG_GAUSS}),
        Case("shadowed_abs", "partial", must_lose=(G,), description="wrong answer + a notebook-global abs",
             replace={"gaussian_nll": "abs = lambda x: 0\n" + WRONG_GAUSS}),
        Case("snoop", "full", description="prints every notebook it can find, In, the environment and a script tag",
             replace={"gaussian_nll": SNOOP + GAUSS}),
        Case("leave_a_traps", "full", description="leaves a killer daemon, an IPython start-up file, files and "
             "System V memory for the next submission", replace={"gaussian_nll": LEAVE_TRAPS + GAUSS}),
        Case("leave_b_victim", "full", description="graded right after leave_a_traps: none of it reaches it",
             replace={"gaussian_nll": VICTIM + GAUSS}),
        Case("leave_c_parent_killer", "partial", must_lose=(B, R), description="kills its parent (a warm kernel's "
             "zygote) and itself", replace={"bernoulli_nll": ZYGOTE_KILLER + BERN}),
        Case("leave_d_victim", "full", description="graded right after leave_c_parent_killer",
             replace={"gaussian_nll": VICTIM + GAUSS}),
    ]


EXPECTED_LEAK_FREE = {"gradebook", "solutions", "other_submitted", "etc_shadow", "network", "dns"}


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the grader's loopback that no submission may reach."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    hits: list[str] = []

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            hits.append("connected")
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1], hits
    srv.close()


@pytest.fixture(scope="module")
def batch(root, tmp_path_factory, listener):
    port, hits = listener
    mp = pytest.MonkeyPatch()
    mp.setenv("DEEPPROB_SANDBOX_MEMORY_MB", str(MEMORY_MB))
    mp.setenv("DEEPPROB_TEST_SECRET", SECRET)
    workdir = tmp_path_factory.mktemp("safety")
    try:
        scores = grade_cases(root, A, cases(port, workdir.resolve()), workdir=workdir, timeout=TIMEOUT)
    finally:
        mp.undo()
    return scores, workdir, hits


def _autograded(workdir: Path, name: str) -> Path:
    return workdir / "autograded" / name / A


CASES = cases(0)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_submission_grade(batch, case):
    scores, workdir, _ = batch
    if case.name.startswith(("read_", "write_", "network", "probe")) and not SANDBOX:
        pytest.skip(f"no sandbox: {WHY}")
    if case.notebook == "" and case.name not in scores:
        # nbgrader records nothing for a folder without a notebook (it reports an
        # error for that student and goes on); `make grade` adds the 0 (see
        # tests/test_grade_workflow.py::test_renamed_and_empty_submissions)
        assert any(n in scores for n in ("solution", "kill9")), "the batch stopped"
        return
    assert case.name in scores, f"{case.name} ({case.description}) was not graded at all"
    cells = {k: v for k, v in scores[case.name].items() if v.auto}
    assert set(cells) == set(ALL)
    lose = set(ALL) if case.expect == "zero" else set(case.must_lose)
    for cell, got in cells.items():
        if cell in lose:
            assert got.score == 0, f"{case.description}: {cell} scored {got.score:g}/{got.max_score:g}, expected 0"
        else:
            assert got.score == got.max_score, (
                f"{case.description}: {cell} scored {got.score:g}/{got.max_score:g}, expected full marks"
            )


@pytest.mark.slow
@needs_sandbox
def test_sandbox_probe_saw_nothing(batch):
    _, workdir, hits = batch
    nb = nbformat.read(str(_autograded(workdir, "probe") / f"{A}.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    probe = json.loads(text[text.index("PROBE") + 5:text.index("EBORP")])
    leaked = {k: probe[k] for k in EXPECTED_LEAK_FREE if not str(probe[k]).startswith("DENIED")}
    assert not leaked, f"the sandbox let a submission do: {leaked}"
    # the kernel runs in a private scratch folder, not in the course
    assert "deepprob-scratch-" in probe["cwd"], probe["cwd"]
    assert probe["course_root"].startswith("DENIED"), probe["course_root"]
    # /root holds only the (read-only) Python installation, if Python lives there
    assert not any(name in probe["home"] for name in (".ssh", ".local", ".jupyter", ".bash_history", ".cache"))
    # writes land in the submission's private /tmp, not the machine's
    assert not Path("/tmp/deepprob-pwned").exists()
    assert not (workdir / "pwned.txt").exists()
    assert hits == [], "a submission reached the grader's TCP port"


def _outputs(workdir: Path, name: str) -> str:
    """Every output text of a graded notebook, as one string."""
    nb = nbformat.read(str(_autograded(workdir, name) / f"{A}.ipynb"), as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["leave_b_victim", "leave_d_victim"])
def test_nothing_passes_to_the_next_submission(batch, victim):
    _, workdir, _ = batch
    nb = nbformat.read(str(_autograded(workdir, victim) / f"{A}.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert "LEFT" in text, f"{victim}'s record is missing"
    seen = json.loads(text[text.index("LEFT") + 4:text.index("TFEL")])
    assert seen == {"tmp": [], "startup": [], "dev_shm": [], "cwd": [], "sysv_shm": []}, seen


@pytest.mark.slow
def test_kernel_sees_no_hidden_test_and_no_grader_secret(batch):
    _, workdir, _ = batch
    text = _outputs(workdir, "snoop")
    assert "PATH" in text, "the snooping submission's output is missing"
    assert HIDDEN_ONLY not in text, "hidden-test source reached the kernel"
    assert "BEGIN HIDDEN" not in text
    assert SECRET not in text, "the grader's environment reached the kernel"
    nb = nbformat.read(str(_autograded(workdir, "snoop") / f"{A}.ipynb"), as_version=4)
    mimes = {m for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert mimes <= {"text/plain", "image/png", "image/jpeg"}, f"active outputs were kept: {mimes}"


@pytest.mark.slow
def test_checker_verdicts_are_written_by_the_grader(batch):
    """The forged cases lose the cell with the grader's own message, not the kernel's."""
    _, workdir, _ = batch
    for name in ("lying_tensor", "ast_transformer", "silenced_errors", "shadowed_abs", "patched_torch"):
        nb = nbformat.read(str(_autograded(workdir, name) / f"{A}.ipynb"), as_version=4)
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == G]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and errors[-1].traceback[0].startswith("Grader's checks:"), (name, errors)


@pytest.mark.slow
@needs_sandbox
def test_writes_outside_the_folder_do_not_land(batch):
    _, workdir, _ = batch
    # (inside the sandbox they may succeed on a private, throw-away /tmp)
    assert not (workdir / "pwned.txt").exists()
    assert not (workdir / "autograded" / "pwned.txt").exists()
    assert not Path("/tmp/deepprob-pwned-write").exists()


@pytest.mark.slow
def test_huge_output_is_cut(batch):
    _, workdir, _ = batch
    nb_path = _autograded(workdir, "huge_output") / f"{A}.ipynb"
    assert nb_path.stat().st_size < 2_000_000, f"autograded notebook is {nb_path.stat().st_size} bytes"
    text = nb_path.read_text()
    assert "output cut by the grader" in text


@pytest.mark.slow
def test_dead_kernel_is_explained(batch):
    _, workdir, _ = batch
    nb = nbformat.read(str(_autograded(workdir, "kill9") / f"{A}.ipynb"), as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert any(o.ename == "GradingError" and "kernel died" in o.evalue for o in errors)


def test_sandbox_check_reports_mode():
    from deepprob.grading.sandbox import check

    info = check()
    assert info["bwrap"] == SANDBOX
    assert info["limits"]["memory_mb"] > 0


# ---- budgets: time and disk that a submission may use (issue #10, item 6) -----------------------
NOTEBOOK_SECONDS = 75  # the sleeper would need 3 x 45 s: it is cut during its second cell
CELL_CPU = 8
CELL_TIMEOUT = 50


def budget_cases() -> list[Case]:
    burn = "import time\n_t = time.process_time()\nwhile time.process_time() - _t < 60:\n    pass\n"
    return [
        Case("sleeper", "partial", must_lose=(B, R), description="every solution cell sleeps just under the "
             "cell timeout: the notebook's own budget stops it",
             replace={k: "import time\ntime.sleep(45)\n" + v for k, v in _SOL.items()}),
        Case("cpu_burner", "partial", must_lose=(B, R), description="a cell that burns 60 s of CPU: killed at the "
             "CPU budget", replace={"bernoulli_nll": burn + BERN}),
        Case("disk_filler", "full", description="writes 4 x 240 MiB into its folder and /tmp: stopped at the scratch "
             "quota, nothing lands on the grader's disk",
             replace={"gaussian_nll": (
                 "import os\nfor _d in ('.', '/tmp'):\n    for _i in range(4):\n        try:\n"
                 "            with open(os.path.join(_d, f'fill{_i}.bin'), 'wb') as _fh:\n"
                 "                _fh.write(b'x' * (240 << 20))\n"
                 "        except OSError as err:\n            print('refused:', err)\n" + GAUSS)}),
        Case("control", "full", description="the reference solution graded in the same run"),
    ]


@pytest.fixture(scope="module")
def budget_batch(root, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("budgets")
    import time

    start = time.monotonic()
    scores = grade_cases(root, A, budget_cases(), workdir=workdir, timeout=CELL_TIMEOUT, extra_args=(
        f"--CheckerExecute.notebook_seconds={NOTEBOOK_SECONDS}", f"--CheckerExecute.cell_cpu_seconds={CELL_CPU}",
        "--CheckerExecute.scratch_mb=300",
    ))
    return scores, workdir, time.monotonic() - start


BUDGET_CASES = budget_cases()


@pytest.mark.slow
@needs_sandbox
@pytest.mark.parametrize("case", BUDGET_CASES, ids=[c.name for c in BUDGET_CASES])
def test_budget_grade(budget_batch, case):
    scores, _, _ = budget_batch
    cells = {k: v for k, v in scores[case.name].items() if v.auto}
    lose = set(case.must_lose)
    for cell, got in cells.items():
        want = 0 if cell in lose else got.max_score
        assert got.score == want, f"{case.description}: {cell} scored {got.score:g}/{got.max_score:g}, expected {want:g}"


@pytest.mark.slow
@needs_sandbox
def test_budgets_bound_the_run_and_explain_themselves(budget_batch):
    _, workdir, _ = budget_batch
    sleeper = _outputs(workdir, "sleeper")
    assert "budget" in sleeper
    burner = _outputs(workdir, "cpu_burner")
    assert "kernel died" in burner
    filler = _outputs(workdir, "disk_filler")
    assert "refused" in filler  # the quota stopped the writes inside the sandbox
    big = [p for p in workdir.rglob("fill*.bin")] + [p for p in Path("/tmp").glob("fill*.bin")]
    assert not big, big
