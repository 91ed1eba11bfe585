"""The Binder launch button's environment (repo2docker reads binder/), checked offline.

Binder cannot be reached from here: these tests check that the files repo2docker reads
install the course's lock and the course's package, by repo2docker's conventions.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def _requirement_lines(path: Path, seen=()) -> list[str]:
    """The lines pip reads from a requirements file, nested ``-r`` files resolved as pip
    does (relative to the file that names them)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^(-r|--requirement)[ =]\s*(\S+)$", line)
        if match:
            nested = (path.parent / match.group(2)).resolve()
            assert nested.exists(), f"{path.name} names {match.group(2)}, which does not exist"
            assert nested not in seen, f"{path.name} includes itself"
            lines += _requirement_lines(nested, seen + (nested,))
        else:
            lines.append(line)
    return lines


def test_binder_installs_the_lock():
    req = BINDER / "requirements.txt"
    assert req.exists(), "binder/requirements.txt is missing: repo2docker would ignore the lock"
    direct = [ln.strip() for ln in req.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert "-r ../requirements.txt" in direct, "binder/requirements.txt must install the lock (../requirements.txt)"
    installed = _requirement_lines(req)
    lock = _requirement_lines(ROOT / "requirements.txt")
    pins = [ln for ln in lock if not ln.startswith("-")]
    assert pins and all(p in installed for p in pins)
    # nothing beside the lock: every package Binder installs is pinned by it
    extra = [ln for ln in installed if not ln.startswith("-") and ln not in pins]
    assert not extra, f"binder/requirements.txt installs packages the lock does not pin: {extra}"
    if any("+cpu" in p for p in pins):
        assert any(ln.startswith("--extra-index-url") and "download.pytorch.org/whl/cpu" in ln for ln in installed), (
            "the lock pins PyTorch's CPU wheel (+cpu): Binder needs PyTorch's index to find it")


def test_binder_python_is_the_lock_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    assert match, f"binder/runtime.txt must read python-3.X, not {runtime!r}"
    header = (ROOT / "requirements.txt").read_text()[:400]
    compiled = re.search(r"with Python (3\.\d+)", header)
    assert compiled, "the lock's header does not say which Python compiled it"
    assert match.group(1) == compiled.group(1), f"Binder's Python {match.group(1)} is not the lock's {compiled.group(1)}"


def test_postbuild_installs_deepprob():
    post = BINDER / "postBuild"
    assert post.exists() and os.access(post, os.X_OK), "binder/postBuild must exist and be executable"
    text = post.read_text()
    assert text.startswith("#!") and "set -e" in text
    assert re.search(r"pip install [^\n]*-e \.(\s|$)", text), "postBuild must install the course's package (pip install -e .)"
    assert "import deepprob" in text
    # repo2docker runs postBuild from the repository root: `.` is the course, with pyproject.toml
    assert (ROOT / "pyproject.toml").exists() and 'name = "deepprob"' in (ROOT / "pyproject.toml").read_text()


def test_start_keeps_the_books_environment():
    start = BINDER / "start"
    assert start.exists() and os.access(start, os.X_OK), "binder/start must exist and be executable"
    text = start.read_text()
    assert "TF_USE_LEGACY_KERAS=1" in text and text.rstrip().endswith('exec "$@"')


def test_launch_buttons_name_no_placeholder_hub():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = config.get("launch_buttons", {})
    hub = (buttons.get("jupyterhub_url") or "").strip()
    assert "example" not in hub, f"jupyterhub_url is a placeholder ({hub}): leave it empty until a hub is set"
    assert buttons.get("binderhub_url"), "the Binder button needs binderhub_url"
    assert config["repository"]["url"].startswith("https://github.com/"), "Binder builds from the repository's GitHub URL"
