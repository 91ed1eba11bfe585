"""Sphinx extension with the course's page tweaks.

* A plain "Download this notebook" link at the top of every exercise page: students
  who read the book rather than clone the repository get the notebook as handed out
  (the page's source, ``exercises/<name>/<name>.ipynb``), through Sphinx's own
  download mechanism, which copies the file into ``_downloads/``.
* No Thebe: jupyter-book always loads sphinx-thebe, which declares its script URL
  twice on each page (a console error) and would fetch Thebe from a CDN; the
  book's launch buttons (Binder, Colab, JupyterHub) replace it.
* RequireJS is told where the widget manager lives (``_static/widgets``), so that
  the fonts and modules it loads resolve on every page, at any depth, offline.
* The Colab launch button only on pages whose source is an ``.ipynb``: Colab
  cannot open the MyST Markdown sources of the chapters (Binder and JupyterHub
  open them through Jupytext).
* One execution cache per base seed (``DEEPPROB_SEED``, default 0):
  ``_build/.jupyter_cache-seed-<k>``, and a change of seed re-reads every page, so
  ``DEEPPROB_SEED=k make book`` re-executes every chapter instead of serving
  seed 0's outputs.
* A failed chapter is named at the end of the build: ``_build/execution-failures.txt``
  lists per chapter the cell, the failing line and the error (``make book`` prints it
  last, so the cause is not buried mid-log).

The reader's accessibility and phone layout (COURSE.md section 6, "Reader"):

* ``book/_static/course-reader.css`` and ``course-reader.js`` are added to every page and
  ``book/_templates`` overrides theme components (the sidebar's search button, whose
  accessible name did not match its visible text).
* Figures get their alt text from the chapter: a code cell's metadata ``fig-alt`` (one
  text for every figure the cell draws, or a list, one per figure in order), or
  myst-nb's own ``mystnb: image: alt:``. Figures still without one are listed in
  ``_build/figures-without-alt.txt`` (docutils would otherwise use the file path).
* Every figure a cell draws links to its full-size image: on a phone a tap opens a
  multi-panel figure at full resolution, where it can be zoomed.
* HTML tables from pandas get a label in their empty index header cell (read by screen
  readers, not shown), and scroll inside their own box; the bibliography's list roles
  are made valid ARIA.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util.osutil import relative_uri

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FAILURES_FILE = "execution-failures.txt"
MISSING_ALT_FILE = "figures-without-alt.txt"
HERE = Path(__file__).resolve().parent
STATIC = HERE.parent / "_static"
TEMPLATES = HERE.parent / "_templates"


def _seed_from_env() -> int:
    raw = os.environ.get("DEEPPROB_SEED", "").strip() or "0"
    if not raw.isdigit():
        raise ValueError(f"DEEPPROB_SEED must be a non-negative integer (e.g. DEEPPROB_SEED=3); got {raw!r}")
    return int(raw)


def _per_seed_cache(app, config):
    """Point jupyter-cache at a folder of this base seed's own."""
    config.deepprob_seed = _seed_from_env()
    if not config.nb_execution_cache_path:
        build = Path(app.outdir).parent
        config.nb_execution_cache_path = str(build / f".jupyter_cache-seed-{config.deepprob_seed}")


def describe_failure(docname: str, traceback: str) -> str:
    """'chapter: cell starting `…`, line `…`: Error: message' from nbclient's traceback text."""
    text = _ANSI.sub("", traceback or "")
    cell = ""
    match = re.search(r"executing the following cell:\n-+\n(.*?)\n-+\n", text, re.S)
    if match:
        first = next((ln for ln in match.group(1).splitlines() if ln.strip() and not ln.startswith("#")), "")
        cell = f"cell starting `{first.strip()[:80]}`"
    line = ""
    for ln in reversed(text.splitlines()):
        if ln.lstrip().startswith("---->"):
            line = "line `" + re.sub(r"^\s*---->\s*\d*\s*", "", ln).strip()[:120] + "`"
            break
    errors = [ln.strip() for ln in text.splitlines() if re.match(r"^\s*[A-Za-z_.]*(Error|Exception|Interrupt)\b.*", ln)]
    error = errors[-1] if errors else (text.strip().splitlines() or ["unknown error"])[-1]
    return f"{docname}: " + ", ".join(p for p in (cell, line) if p) + f": {error[:300]}"


def _report_failures(app, exception):
    try:
        from myst_nb.sphinx_ import NbMetadataCollector
    except ImportError:  # pragma: no cover
        return
    lines = []
    for docname in sorted(app.env.found_docs):
        data = NbMetadataCollector.get_exec_data(app.env, docname) if docname in app.env.all_docs else None
        if data and not data.get("succeeded", True):
            lines.append(describe_failure(docname, data.get("traceback") or data.get("error") or ""))
    path = Path(app.outdir).parent / FAILURES_FILE
    if lines:
        path.write_text("A chapter failed to execute (DEEPPROB_SEED=%d):\n%s\n" % (
            app.config.deepprob_seed, "\n".join("  " + ln for ln in lines)))
    elif path.exists():
        path.unlink()


def _add_link(app, doctree):
    docname = app.env.docname
    if not docname.startswith("exercises/"):
        return
    filename = docname.rsplit("/", 1)[-1] + ".ipynb"
    ref = addnodes.download_reference(
        "", "", nodes.literal("", f"Download this notebook ({filename})"),
        refdoc=docname, reftarget=filename, refexplicit=True, refdomain="", reftype="download",
    )
    para = nodes.paragraph("", "", ref, classes=["exercise-download"])
    para += nodes.Text(" — open it in Jupyter, fill in the cells marked YOUR CODE HERE, run all cells, hand it in.")
    # after the page title
    sections = [n for n in doctree.children if isinstance(n, nodes.section)]
    target = sections[0] if sections else doctree
    index = 1 if sections and isinstance(sections[0].children[0], nodes.title) else 0
    target.insert(index, para)


def _drop_colab_for_text_pages(app, pagename, templatename, context, doctree):
    if context.get("page_source_suffix") == ".ipynb":
        return

    def keep(button):
        if isinstance(button, dict) and button.get("text") == "Colab":
            return False
        if isinstance(button, dict) and isinstance(button.get("buttons"), list):
            button["buttons"] = [b for b in button["buttons"] if keep(b)]
        return True

    if isinstance(context.get("header_buttons"), list):
        context["header_buttons"] = [b for b in context["header_buttons"] if keep(b)]


def _copy_widget_manager(app, exception):
    """Copy the npm-fetched widget manager (``make vendor``) into ``_static/widgets``.

    Done at every build, like sphinx-mathjax-offline does for MathJax: Sphinx's
    own static-file copy skips unchanged builds and would leave a stale copy.
    """
    import os
    import shutil

    source = os.path.join(app.srcdir, "_build", "vendor", "widgets")
    if exception is None and app.builder.format == "html":
        if not os.path.isdir(source):
            raise RuntimeError(f"{source} is missing: run `make vendor` (part of `make book`)")
        shutil.copytree(source, os.path.join(app.outdir, "_static", "widgets"), dirs_exist_ok=True)


def _drop_thebe(app, pagename, templatename, context, doctree):
    def is_thebe(script) -> bool:
        filename = str(getattr(script, "filename", script) or "")
        body = str(getattr(script, "attributes", {}).get("body", ""))
        return "thebe" in filename or "THEBE_JS_URL" in body

    if isinstance(context.get("script_files"), list):
        context["script_files"] = [s for s in context["script_files"] if not is_thebe(s)]


def _assets_digest() -> str:
    """A digest of book/_static and book/_templates.

    Registered as an "html" config value: when a file there changes, Sphinx rewrites
    every page and copies the static files again; otherwise an up-to-date build keeps
    the old CSS/JS in _build/html/_static and the old templates' output.
    """
    import hashlib

    digest = hashlib.sha256()
    for folder in (STATIC, TEMPLATES):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _reader_assets(app, config):
    """The course's own static files and theme component overrides (book/_static, book/_templates)."""
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.insert(0, str(TEMPLATES))


# ---------------------------------------------------------------- figure alt text

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _cell_alts(metadata: dict) -> list[str] | str | None:
    """The alt text(s) a code cell gives its figures: ``fig-alt`` (str or list of str)."""
    value = metadata.get("fig-alt")
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    return None


def _first_code_line(cell: nodes.Element) -> str:
    for block in cell.findall(nodes.literal_block):
        for line in block.astext().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                return line.strip()[:80]
    return ""


def _figure_alt_text(app, doctree):
    """Give each figure a code cell draws the alt text its cell metadata carries.

    Images still without alt text are recorded (per page: the cell's line, its first line
    of code) for ``_build/figures-without-alt.txt``.
    """
    env = app.env
    missing = []
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        alts = _cell_alts(cell.get("cell_metadata") or {})
        widgets = [raw for raw in cell.findall(nodes.raw) if _WIDGET_VIEW in raw.astext()]
        if widgets:
            # a widget draws its figure in the browser: course-reader.js gives it this text
            if alts:
                cell += nodes.raw("", '<div class="course-widget-alt" hidden data-alt="%s"></div>'
                                  % html.escape(json.dumps(alts), quote=True), format="html")
            else:
                missing.append((cell.line or 0, 1, 1, _first_code_line(cell), "the figure its widget draws"))
        images = [img for img in cell.findall(nodes.image)]
        if not images:
            continue
        for number, image in enumerate(images):
            if not image.get("alt", "").strip():
                if isinstance(alts, str):
                    image["alt"] = alts
                elif isinstance(alts, list) and number < len(alts) and alts[number]:
                    image["alt"] = alts[number]
        lacking = sum(1 for img in images if not img.get("alt", "").strip())
        if lacking:
            what = f"{lacking} of {len(images)} figures" if len(images) > 1 else "its figure"
            missing.append((cell.line or 0, lacking, len(images), _first_code_line(cell), what))
    if not hasattr(env, "course_missing_alt"):
        env.course_missing_alt = {}
    if missing:
        env.course_missing_alt[env.docname] = missing
    else:
        env.course_missing_alt.pop(env.docname, None)


def _purge_missing_alt(app, env, docname):
    getattr(env, "course_missing_alt", {}).pop(docname, None)


def _merge_missing_alt(app, env, docnames, other):
    if not hasattr(env, "course_missing_alt"):
        env.course_missing_alt = {}
    for docname in docnames:
        if docname in getattr(other, "course_missing_alt", {}):
            env.course_missing_alt[docname] = other.course_missing_alt[docname]


def _report_missing_alt(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    table = getattr(app.env, "course_missing_alt", {})
    path = Path(app.outdir).parent / MISSING_ALT_FILE
    lines = []
    for docname in sorted(table):
        if docname not in app.env.found_docs:
            continue
        source = os.path.relpath(app.env.doc2path(docname), app.srcdir)
        for line, _lacking, _total, first, what in table[docname]:
            # myst-nb's line is two below the cell's ```{code-cell} line, the one to point at
            fence = line - 2 if source.endswith(".md") and line > 2 else line
            lines.append(f"{source}:{fence}: code cell `{first}`: {what} without alt text")
    if lines:
        path.write_text(
            "Figures without alt text. Give each code cell a `fig-alt` metadata entry: one text\n"
            "for every figure the cell draws, or a list with one text per figure, in order.\n"
            "In a chapter (MyST), after ```{code-cell} ipython3 (quote a text with a colon):\n"
            '  :fig-alt: "Two panels. Left: ... Right: ..."\n'
            "or, for a list, a YAML block:\n"
            "  ---\n  fig-alt:\n    - First figure ...\n    - Second figure ...\n  ---\n\n"
            + "\n".join(lines) + "\n")
    elif path.exists():
        path.unlink()


def _link_figures_to_full_size(app, doctree, docname):
    """Wrap every image a code cell draws in a link to the full-size file.

    Sphinx does this itself only for images given a size; on a phone, a figure of
    several panels is shrunk to the screen width, and a tap opens it at full size.
    """
    builder = app.builder
    if builder.format != "html" or not hasattr(builder, "imagedir"):
        return
    imgpath = relative_uri(builder.get_target_uri(docname), builder.imagedir)
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        for image in list(cell.findall(nodes.image)):
            if isinstance(image.parent, nodes.reference):
                continue
            uri = image.get("candidates", {}).get("*", image["uri"])
            if uri not in app.env.images:
                continue
            target = app.env.images[uri][1]
            reference = nodes.reference(
                "", "", internal=True, refuri=f"{imgpath}/{target}".lstrip("/"),
                reftitle="Open the figure at full size", classes=["course-figure-link"],
            )
            image.replace_self(reference)
            reference.append(image)


# ---------------------------------------------------------------- HTML post-processing

_DATAFRAME = re.compile(r'<table\b[^>]*class="[^"]*\bdataframe\b[^"]*"[^>]*>.*?</table>', re.S)
_STYLER = re.compile(r'<table\b[^>]*id="T_[^"]*"[^>]*>.*?</table>', re.S)
_VISUALLY_HIDDEN = '<span class="course-visually-hidden">{}</span>'


def _label_empty_headers(table_html: str) -> str:
    """pandas leaves the index's header cell empty: give it a label screen readers read.

    The corner cell of the first header row becomes "index" (or the index's name);
    other empty header cells (the placeholders of a named index's row) become data cells.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(table_html, "html.parser")
    table = soup.find("table")
    if table is None:
        return table_html
    changed = False
    rows = table.find_all("tr")
    for row_number, row in enumerate(rows):
        cells = row.find_all(["th", "td"], recursive=False)
        for column, cell in enumerate(cells):
            if cell.name != "th" or cell.get_text().strip():
                continue
            if column == 0 and row.parent is not None and row.parent.name == "thead" and row_number == 0:
                label = "index"
                # a named index shows its name in the second header row's first cell
                if len(rows) > 1 and rows[1].parent is row.parent:
                    first = rows[1].find(["th", "td"])
                    if first is not None and first.get_text().strip():
                        label = first.get_text().strip()
                cell.clear()
                cell.append(BeautifulSoup(_VISUALLY_HIDDEN.format(html.escape(label)), "html.parser"))
            elif row.parent is not None and row.parent.name == "thead":
                cell.name = "td"
            else:
                cell.clear()
                cell.append(BeautifulSoup(_VISUALLY_HIDDEN.format("index"), "html.parser"))
            changed = True
    return str(soup) if changed else table_html


def _wrap_scrolling(table_html: str) -> str:
    return f'<div class="course-table-scroll">{table_html}</div>'


def _post_process_body(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if not isinstance(body, str):
        return
    for pattern in (_DATAFRAME, _STYLER):
        body = pattern.sub(lambda m: _wrap_scrolling(_label_empty_headers(m.group(0))), body)
    # docutils 0.21 writes the bibliography as role="list" whose children are
    # role="doc-biblioentry"; ARIA 1.2 deprecates that role and a list must own
    # listitems (axe aria-required-children). A list of list items says the same.
    body = body.replace('role="doc-biblioentry"', 'role="listitem"')
    # myst-nb names the "Show code cell source" toggle of a hidden input "Toggle hidden
    # content", a name that is not its visible text (axe label-content-name-mismatch):
    # without the aria-label the visible text is the name.
    body = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    context["body"] = body


# Read by require.js when it loads (a global `require` object is its configuration).
_REQUIRE_CONFIG = (
    "var require = {paths: {'@jupyter-widgets/html-manager/dist': "
    "(document.documentElement.dataset.content_root || './') + '_static/widgets'}};"
)


def setup(app):
    app.add_config_value("course_reader_assets", _assets_digest(), "html")
    app.connect("config-inited", _reader_assets)
    app.add_css_file("course-reader.css", priority=900)
    app.add_js_file("course-reader.js", priority=900)
    app.connect("doctree-read", _figure_alt_text, priority=600)
    app.connect("env-purge-doc", _purge_missing_alt)
    app.connect("env-merge-info", _merge_missing_alt)
    app.connect("build-finished", _report_missing_alt)
    app.connect("doctree-resolved", _link_figures_to_full_size)
    app.connect("html-page-context", _post_process_body, priority=900)
    # a change of base seed invalidates every page ("env"), not only the cache
    app.add_config_value("deepprob_seed", 0, "env")
    app.connect("config-inited", _per_seed_cache, priority=100)
    app.connect("build-finished", _report_failures)
    app.add_js_file(None, body=_REQUIRE_CONFIG, priority=100)
    app.connect("build-finished", _copy_widget_manager)
    app.connect("html-page-context", _drop_thebe, priority=900)
    # after sphinx-book-theme has added its launch buttons
    app.connect("html-page-context", _drop_colab_for_text_pages, priority=900)
    # before Sphinx's DownloadFileCollector (priority 500), which registers the file
    app.connect("doctree-read", _add_link, priority=400)
    # env_version: raised when what the extension stores per page changes (a re-read of
    # every page, from the execution cache)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
