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
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FAILURES_FILE = "execution-failures.txt"


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


# Read by require.js when it loads (a global `require` object is its configuration).
_REQUIRE_CONFIG = (
    "var require = {paths: {'@jupyter-widgets/html-manager/dist': "
    "(document.documentElement.dataset.content_root || './') + '_static/widgets'}};"
)


def setup(app):
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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
