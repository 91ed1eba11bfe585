"""The book builds (``make book``: ``jupyter-book build -W -n``), every chapter
executed, nothing leaked, and the offline archive is written.

The build goes to the same ``_build/`` as a developer's ``make book`` and shares its
execution cache, so after a ``make book`` only chapters that changed run again.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.slow


def _toc_files(root: Path) -> list[str]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            files.append(chapter["file"])
            files += [s["file"] for s in chapter.get("sections", [])]
    return files


@pytest.fixture(scope="module")
def build(book_build):
    return book_build


def test_build_succeeds_without_warnings(build):
    log = build.stdout + build.stderr
    warnings = [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]
    assert build.returncode == 0, "jupyter-book build -W failed:\n" + "\n".join(warnings[-30:] or log.splitlines()[-40:])


def test_every_toc_page_is_built(build, root):
    for page in _toc_files(root):
        html = root / "_build" / "html" / f"{page}.html"
        assert html.exists(), f"{page} was not built"


def _executed(root: Path) -> list[Path]:
    return sorted((root / "_build" / "jupyter_execute" / "book").glob("*.ipynb"))


def test_chapters_executed_without_errors_or_stderr(build, root):
    chapters = [p for p in _toc_files(root) if p.startswith("book/ch")]
    executed = {p.stem for p in _executed(root)}
    missing = [c for c in chapters if Path(c).name not in executed]
    assert not missing, f"chapters not executed: {missing}"
    for path in _executed(root):
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                assert out.output_type != "error", f"{path.name} cell {i}: {out.get('ename')}: {out.get('evalue')}"
                if out.output_type == "stream" and out.name == "stderr":
                    pytest.fail(f"{path.name} cell {i} wrote to stderr:\n{out.text[:500]}")


def test_chapter_one_has_its_figures(build, root):
    html = (root / "_build" / "html" / "book" / "ch01_maximum_likelihood.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
    assert len(images) >= 3, "chapter 1 should show its executed figures"
    for src in images:
        assert (root / "_build" / "html" / "book" / src).resolve().exists(), f"missing image {src}"


def test_exercise_pages_leak_no_solution(build, root):
    pages = list((root / "_build" / "html" / "exercises").rglob("*.html"))
    assert pages, "no exercise page in the book"
    for page in pages:
        text = page.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "_check_"):
            assert marker not in text, f"{page.name} shows {marker!r}"
        assert "NotImplementedError" in text, f"{page.name} is not the student version"


def test_offline_archive_holds_the_site(build, root):
    archive = root / "_build" / "book-html.zip"
    assert archive.exists(), "make book did not write _build/book-html.zip"
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    for needed in ("html/index.html", "html/book/ch01_maximum_likelihood.html", "html/_static/mathjax/tex-chtml.js"):
        assert needed in names, f"{needed} missing from the archive"
