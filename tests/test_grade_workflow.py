"""``make grade`` end to end: scores, grades.csv, leak-free feedback, nothing lost (issue 6).

A temporary course with ex01 and a small class is graded through
:func:`deepprob.grading.course.grade` (what ``make grade`` runs):

* the demo: a correct, a wrong and a blank submission get 10, 6 and 0 of the 10
  autograded points; ``grades.csv`` has their rows; the feedback names the
  failed hidden test and its message but never the hidden source or the
  grader's paths;
* re-running grades nothing; a resubmission is regraded alone; manual grades
  and comments survive;
* grading killed halfway (SIGKILL) leaves a consistent gradebook, and the next
  run finishes the job without regrading what was done;
* ``jobs=2`` on SQLite, and on PostgreSQL when a server is running.
"""
from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from deepprob.grading import Case, build_submission, solution_sources
from deepprob.grading.course import grade, nbgrader

A = "ex01_maximum_likelihood"
WRONG = {  # dropped constant: loses test_gaussian_nll (4 points)
    "gaussian_nll": "def gaussian_nll(y, mu, log_var):\n    return (0.5 * (log_var + (y - mu) ** 2 / torch.exp(log_var))).mean()\n"
}
TIMEOUT = 15
PG_URL = os.environ.get("DEEPPROB_TEST_PG_URL", "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/postgres")

pytestmark = pytest.mark.slow


def make_course(root: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(root / "solutions" / A, dest / "solutions" / A)
    nbgrader(dest, "generate_assignment", A, "--force", "--log-level=ERROR", quiet=True)
    return dest


def submit(course: Path, root: Path, student: str, kind: str) -> Path:
    release = course / "exercises" / A / f"{A}.ipynb"
    sols = solution_sources(root / "solutions" / A / f"{A}.ipynb")
    case = {
        "good": Case(student, "full"),
        "wrong": Case(student, "partial", must_lose=("test_gaussian_nll",), replace=WRONG),
        "blank": Case(student, "zero", blank=True),
    }[kind]
    folder = course / "submitted" / student / A
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{A}.ipynb"
    nbformat.write(build_submission(release, sols, case), str(path))
    return path


def autoscores(course: Path, url: str | None = None) -> dict[str, float]:
    from nbgrader.api import Gradebook

    url = url or f"sqlite:///{course}/gradebook.db"
    out = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions(A):
            out[sub.student_id] = sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades)
    return out


@pytest.fixture(scope="module")
def demo(root, tmp_path_factory):
    course = make_course(root, tmp_path_factory.mktemp("demo"))
    for student, kind in (("alice", "good"), ("bob", "wrong"), ("carol", "blank")):
        submit(course, root, student, kind)
    result = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    return course, result


def test_demo_scores(demo):
    course, result = demo
    assert sorted(result.graded) == ["alice", "bob", "carol"]
    assert autoscores(course) == {"alice": 10.0, "bob": 6.0, "carol": 0.0}
    assert {s: v[1] for s, v in result.scores.items()} == {"alice": 12.0, "bob": 12.0, "carol": 12.0}
    assert not result.failed


def test_demo_grades_csv(demo):
    course, result = demo
    with open(result.csv_path) as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == A}
    assert set(rows) == {"alice", "bob", "carol"}
    assert float(rows["alice"]["raw_score"]) == 10.0 and float(rows["carol"]["raw_score"]) == 0.0


def _hidden_lines(root: Path) -> list[str]:
    nb = nbformat.read(str(root / "solutions" / A / f"{A}.ipynb"), as_version=4)
    out = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25:
                out.append(line.strip())
    return out


def test_feedback_shows_failures_not_hidden_tests(demo, root):
    course, _ = demo
    hidden = _hidden_lines(root)
    assert hidden, "the solution has hidden tests"
    for student in ("alice", "bob", "carol"):
        page = (course / "feedback" / student / A / f"{A}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page
        for line in hidden:
            assert line not in page and html.escape(line) not in page, f"hidden test source leaked: {line}"
        assert str(course) not in page, "a path of the grader's files is in the feedback"
        assert "site-packages" not in page
        # math typesets offline: MathJax 3 from a copy beside the page, not from a CDN (issue #10)
        assert "cdnjs" not in page and '<script src="mathjax/tex-svg.js"' in page
        assert (course / "feedback" / student / A / "mathjax" / "tex-svg.js").stat().st_size > 1_000_000
    bob = (course / "feedback" / "bob" / A / f"{A}.html").read_text()
    assert "AssertionError" in bob, "the failed test's exception is shown"
    assert "hidden tests: their source is not shown" in bob


def test_rerun_is_idempotent_and_keeps_manual_grades(demo, root):
    course, _ = demo
    from nbgrader.api import Gradebook

    url = f"sqlite:///{course}/gradebook.db"
    with Gradebook(url) as gb:
        nb = gb.find_submission_notebook(A, A, "alice")
        manual = [g for g in nb.grades if g.cell_type == "markdown"]
        assert manual, "ex01 has a manually graded answer"
        manual[0].manual_score = 1.5
        comment = [c for c in nb.comments if c.name == manual[0].name][0]
        comment.manual_comment = "Good argument, missing the constant."
        gb.db.commit()
        grade_name = manual[0].name
    before = autoscores(course)
    again = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    assert again.graded == [], "nothing changed, nothing is regraded"
    assert autoscores(course) == before
    # the workers write feedback only for what they grade; the rest is regenerated with the manual grades
    page = course / "feedback" / "alice" / A / f"{A}.html"
    assert "Good argument, missing the constant." in page.read_text(), "the manual comment is not in the feedback"
    # bob fixes his answer and alice resubmits the same work with a new file
    submit(course, root, "bob", "good")
    (course / "submitted" / "alice" / A / "notes.txt").write_text("resubmitted")
    third = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    assert sorted(third.graded) == ["alice", "bob"]
    assert autoscores(course) == {"alice": 10.0, "bob": 10.0, "carol": 0.0}
    with Gradebook(url) as gb:
        nb = gb.find_submission_notebook(A, A, "alice")
        g = [g for g in nb.grades if g.name == grade_name][0]
        c = [c for c in nb.comments if c.name == grade_name][0]
        assert g.manual_score == 1.5 and c.manual_comment.startswith("Good argument")
        assert nb.score == 11.5


def test_renamed_and_empty_submissions(root, tmp_path):
    course = make_course(root, tmp_path / "course")
    path = submit(course, root, "dave", "good")
    path.rename(path.with_name(f"{A} (1).ipynb"))
    (course / "submitted" / "erin" / A).mkdir(parents=True)  # an empty folder
    (course / "submitted" / "erin" / A / "answers.pdf").write_text("%PDF-1.4")
    result = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    assert result.renamed == ["dave"]
    assert result.failed == ["erin"], "reported, and the batch went on"
    assert autoscores(course) == {"dave": 10.0, "erin": 0.0}
    assert result.scores["erin"][0] == 0.0
    again = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    assert again.graded == [] and again.failed == ["erin"]


def test_killed_halfway_then_resumed(root, tmp_path):
    course = make_course(root, tmp_path / "course")
    kinds = ["good", "wrong", "blank", "good", "wrong"]
    students = [f"s{i}" for i in range(len(kinds))]
    for s, k in zip(students, kinds):
        submit(course, root, s, k)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepprob.grading", "--root", str(course), "grade", A, "--timeout", str(TIMEOUT)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    ledger = course / "autograded" / ".ledger" / A
    deadline = time.time() + 600
    while time.time() < deadline and len(list(ledger.glob("*.json"))) < 2 and proc.poll() is None:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # grader, workers and kernels
    proc.wait()
    done = sorted(p.stem for p in ledger.glob("*.json"))
    assert 2 <= len(done) < len(students), f"the kill came too late to test anything: {done}"
    con = sqlite3.connect(course / "gradebook.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    result = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    assert set(result.graded) == set(students) - set(done), "only the unfinished students are graded again"
    expect = {"good": 10.0, "wrong": 6.0, "blank": 0.0}
    assert autoscores(course) == {s: expect[k] for s, k in zip(students, kinds)}
    assert not result.failed


def test_parallel_sqlite(root, tmp_path):
    course = make_course(root, tmp_path / "course")
    kinds = ["good", "wrong", "blank", "good"]
    for i, k in enumerate(kinds):
        submit(course, root, f"p{i}", k)
    result = grade(course, A, jobs=2, timeout=TIMEOUT, quiet=True)
    expect = {"good": 10.0, "wrong": 6.0, "blank": 0.0}
    assert autoscores(course) == {f"p{i}": expect[k] for i, k in enumerate(kinds)}
    assert not result.failed
    assert len(result.scores) == len(kinds)


def _pg_database():
    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2-binary is not installed")
    try:
        con = psycopg2.connect(PG_URL.replace("+psycopg2", ""), connect_timeout=3)
    except psycopg2.OperationalError as err:
        pytest.skip(f"no PostgreSQL server at {PG_URL} (.ci/run starts one): {err}".strip())
    con.autocommit = True
    name = f"deepprob_test_{uuid.uuid4().hex[:8]}"
    con.cursor().execute(f"CREATE DATABASE {name}")
    return con, name, re.sub(r"/[^/]*$", f"/{name}", PG_URL)


def test_parallel_postgresql(root, tmp_path):
    con, name, url = _pg_database()
    try:
        course = make_course(root, tmp_path / "course")
        nbgrader(course, "generate_assignment", A, "--force", "--log-level=ERROR",
                 f"--CourseDirectory.db_url={url}", quiet=True)
        kinds = ["good", "wrong", "blank"]
        for i, k in enumerate(kinds):
            submit(course, root, f"q{i}", k)
        result = grade(course, A, jobs=2, timeout=TIMEOUT, quiet=True, db_url=url)
        expect = {"good": 10.0, "wrong": 6.0, "blank": 0.0}
        assert autoscores(course, url) == {f"q{i}": expect[k] for i, k in enumerate(kinds)}
        assert not result.failed
        assert not (course / "gradebook.db").exists() or autoscores(course) == {}
    finally:
        con.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        con.close()


def test_unsafe_submissions_are_refused_and_touch_nothing(root, tmp_path):
    """Symlinks, special files and oversized files are refused at collection (issue #10, item 4)."""
    from deepprob.grading.course import unsafe_entries

    course = make_course(root, tmp_path / "course")
    good = submit(course, root, "alice", "good")
    before = good.read_bytes()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    dave = course / "submitted" / "dave" / A  # the notebook is a link to another student's
    dave.mkdir(parents=True)
    (dave / f"{A}.ipynb").symlink_to(good)
    erin = submit(course, root, "erin", "good").parent  # a good notebook next to a link to the gradebook
    (erin / "gradebook.db").symlink_to(course / "gradebook.db")
    frank = submit(course, root, "frank", "good").parent  # a FIFO
    os.mkfifo(frank / "pipe")
    gina = course / "submitted" / "gina" / A  # the notebook is a link out of the course
    gina.mkdir(parents=True)
    (gina / f"{A}.ipynb").symlink_to(outside)
    big = submit(course, root, "hugo", "good").parent
    assert unsafe_entries(big, max_bytes=1000) and not unsafe_entries(big)

    result = grade(course, A, jobs=1, timeout=TIMEOUT, quiet=True)
    assert set(result.refused) == {"dave", "erin", "frank", "gina"}, result.refused
    assert "symbolic link" in result.refused["dave"] and "not a regular file" in result.refused["frank"]
    assert sorted(result.graded) == ["alice", "hugo"]
    scores = autoscores(course)
    assert scores["alice"] == 10.0 and all(scores.get(s, 0.0) == 0.0 for s in result.refused)
    assert good.read_bytes() == before and outside.read_text() == "keep me"
    copied = [p for p in (course / "autograded").rglob("*") if p.is_symlink() or p.name == "gradebook.db"]
    copied += [p for p in (course / "feedback").rglob("*") if p.is_symlink() or p.name == "gradebook.db"]
    assert not copied, copied


def test_make_grade_uses_a_given_environment(root, tmp_path):
    """``make grade VENV=...`` installs nothing into that environment; the default ``.venv`` is installed first."""
    env = tmp_path / "env"
    env.symlink_to(root / ".venv")
    run = dict(cwd=root, capture_output=True, text=True, check=True)
    given = subprocess.run(["make", "-n", "-B", "grade", f"ASSIGNMENT={A}", f"VENV={env}"], **run).stdout
    assert "pip-sync" not in given and "-m pip install -q" not in given, given
    assert f"{env}/bin/python -m deepprob.grading grade {A}" in given, given
    default = subprocess.run(["make", "-n", "-B", "grade", f"ASSIGNMENT={A}"], **run).stdout
    assert "pip-sync" in default, default


def test_cluster_survives_a_killed_worker(root, tmp_path):
    """Dask LocalCluster, two workers, PostgreSQL: a worker killed while grading loses nothing (issue #16)."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster
    from nbgrader.api import Gradebook

    from deepprob.grading.ledger import read_ledger

    con, name, url = _pg_database()
    try:
        course = make_course(root, tmp_path / "course")
        nbgrader(course, "generate_assignment", A, "--force", "--log-level=ERROR",
                 f"--CourseDirectory.db_url={url}", quiet=True)
        kinds = ["good", "wrong", "blank", "good", "wrong", "good"]
        students = [f"c{i}" for i in range(len(kinds))]
        for s, k in zip(students, kinds):
            submit(course, root, s, k)
        killed: list[str] = []
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            def kill_one_busy_worker():
                deadline = time.time() + 600
                while time.time() < deadline and not killed:
                    done = {p.stem for p in (course / "autograded" / ".ledger" / A).glob("*.json")}
                    busy = [w for w, keys in client.processing().items() if keys]
                    if done and busy:  # one student finished, and a worker is grading another
                        pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(busy[0])
                    time.sleep(0.2)

            import threading

            killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
            killer.start()
            result = grade(course, A, timeout=TIMEOUT, quiet=True, db_url=url, scheduler=client)
            killer.join(timeout=5)
            from deepprob.grading import warm

            started = client.run(lambda: warm.Zygote.started)
        # each worker started one zygote (warm kernels), the restarted one its own: not one per student
        assert sum(started.values()) <= 3, started
        assert killed, "no worker was killed while grading: the test tested nothing"
        expect = {"good": 10.0, "wrong": 6.0, "blank": 0.0}
        assert autoscores(course, url) == {s: expect[k] for s, k in zip(students, kinds)}
        assert not result.failed
        with Gradebook(url) as gb:
            submitted = sorted(sub.student_id for sub in gb.assignment_submissions(A))
        assert submitted == students, "every student is in the gradebook exactly once"
        assert all(read_ledger(course, A, s)["success"] for s in students)
        assert all((course / "feedback" / s / A / f"{A}.html").exists() for s in students)
    finally:
        con.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        con.close()
