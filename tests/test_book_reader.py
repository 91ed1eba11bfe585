"""The reader's page mechanics of book/_ext/course_pages.py (issue #13), on a one-page book.

* a figure's alt text comes from its code cell (``fig-alt``: one text, or one per figure);
  figures without one are listed in ``_build/figures-without-alt.txt`` with their line;
* every figure a cell draws links to its full-size image (a tap on a phone opens it);
* pandas' empty index header gets a label screen readers read, and the table scrolls in
  its own box; myst-nb's hidden-input toggle is named by its visible text;
* the sidebar's search button is named by what it shows.

The browser checks of the real book are in tests/test_browser.py.
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _course_pages():
    spec = importlib.util.spec_from_file_location("course_pages", ROOT / "book" / "_ext" / "course_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PANDAS_NAMED_INDEX = """<table border="1" class="dataframe">
  <thead>
    <tr style="text-align: right;">
      <th></th>
      <th>n_train</th>
      <th>test_nll</th>
    </tr>
    <tr>
      <th>experiment</th>
      <th></th>
      <th></th>
    </tr>
  </thead>
  <tbody>
    <tr>
      <th>40 points</th>
      <td>40</td>
      <td>1.2</td>
    </tr>
  </tbody>
</table>"""


def test_empty_index_headers_get_a_label_or_become_cells():
    out = _course_pages()._label_empty_headers(PANDAS_NAMED_INDEX)
    headers = re.findall(r"<th[^>]*>(.*?)</th>", out, re.S)
    assert all(h.strip() for h in headers), f"an empty header cell is left: {headers}"
    assert '<span class="course-visually-hidden">experiment</span>' in out
    assert out.count("<td></td>") == 2  # the named index's row: placeholders, not headers
    assert "<th>40 points</th>" in out and "<td>40</td>" in out


def test_unnamed_index_header_is_labelled_index():
    html = '<table class="dataframe"><thead><tr><th></th><th>a</th></tr></thead><tbody><tr><th>0</th><td>1</td></tr></tbody></table>'
    out = _course_pages()._label_empty_headers(html)
    assert '<th><span class="course-visually-hidden">index</span></th>' in out


def test_cell_alts_accepts_a_text_or_a_list():
    alts = _course_pages()._cell_alts
    assert alts({"fig-alt": "  A curve. "}) == "A curve."
    assert alts({"fig-alt": ["One", "Two"]}) == ["One", "Two"]
    assert alts({"fig-alt": ""}) is None and alts({}) is None and alts({"fig-alt": 3}) is None


def _env(**extra):
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)
    env.update(extra)
    return env


@pytest.mark.slow
def test_figure_alt_text_links_and_tables_on_a_small_book(tmp_path):
    book = tmp_path / "book"
    (book / "_build").mkdir(parents=True)
    with open(ROOT / "_build" / ".book-build.lock", "a") as fh:  # the vendor step is shared
        fcntl.flock(fh, fcntl.LOCK_EX)
        subprocess.run(["make", "-s", "vendor"], cwd=ROOT, env=_env(), check=True, capture_output=True)
    (book / "_build" / "vendor").symlink_to(ROOT / "_build" / "vendor")
    (book / "_config.yml").write_text(textwrap.dedent(f"""\
        title: reader
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
        sphinx:
          local_extensions:
            course_pages: {ROOT / "book" / "_ext"}
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: figures\n")
    (book / "intro.md").write_text("# Intro\n")
    (book / "figures.md").write_text(textwrap.dedent("""\
        ---
        jupytext:
          text_representation: {extension: .md, format_name: myst}
        kernelspec: {display_name: Python 3, language: python, name: python3}
        ---
        # Figures

        ```{code-cell} ipython3
        :fig-alt: "A straight line rising from (0, 0) to (1, 1)."
        import matplotlib
        matplotlib.use("module://matplotlib_inline.backend_inline")
        import matplotlib.pyplot as plt
        import pandas as pd
        plt.plot([0, 1], [0, 1]); plt.show()
        ```

        ```{code-cell} ipython3
        ---
        fig-alt:
          - First of two, a falling line.
          - Second of two, a flat line.
        tags: [hide-input]
        ---
        plt.plot([0, 1], [1, 0]); plt.show()
        plt.plot([0, 1], [1, 1]); plt.show()
        ```

        ```{code-cell} ipython3
        plt.plot([0, 1], [0.5, 0.2]); plt.show()
        ```

        ```{code-cell} ipython3
        pd.DataFrame({"snake_case": [1, 2]})
        ```
        """))
    result = subprocess.run(["make", "-s", "book", f"BOOK_SRC={book}"], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    page = (book / "_build" / "html" / "figures.html").read_text()
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert alts[:3] == ["A straight line rising from (0, 0) to (1, 1).", "First of two, a falling line.",
                        "Second of two, a flat line."], alts
    assert len(alts) == 4 and alts[3].endswith(".png"), "the cell without fig-alt keeps docutils' default"
    listed = (book / "_build" / "figures-without-alt.txt").read_text()
    assert re.search(r"^figures\.md:\d+: code cell `plt\.plot\(\[0, 1\], \[0\.5, 0\.2\]\)", listed, re.M), listed
    assert "figures.md" in listed and listed.count("figures.md:") == 1, listed
    line = int(re.search(r"^figures\.md:(\d+):", listed, re.M).group(1))
    assert (book / "figures.md").read_text().splitlines()[line - 1].startswith("```{code-cell}"), line
    links = re.findall(r'<a class="[^"]*course-figure-link[^"]*" href="([^"]+)"[^>]*><img', page)
    assert len(links) == 4 and all(link.startswith("_images/") for link in links), links
    assert all((book / "_build" / "html" / link).exists() for link in links)
    assert '<div class="course-table-scroll"><table' in page
    assert '<span class="course-visually-hidden">index</span>' in page
    assert 'aria-label="Toggle hidden content"' not in page
    field = re.search(r'<button class="btn search-button-field[^>]*>', page).group(0)
    assert "aria-label" not in field and 'aria-keyshortcuts="Control+K"' in field, field
    assert "course-reader.css" in page and (book / "_build" / "html" / "_static" / "course-reader.js").exists()
