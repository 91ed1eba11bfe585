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
"""
from __future__ import annotations

from docutils import nodes
from sphinx import addnodes


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
    app.add_js_file(None, body=_REQUIRE_CONFIG, priority=100)
    app.connect("build-finished", _copy_widget_manager)
    app.connect("html-page-context", _drop_thebe, priority=900)
    # after sphinx-book-theme has added its launch buttons
    app.connect("html-page-context", _drop_colab_for_text_pages, priority=900)
    # before Sphinx's DownloadFileCollector (priority 500), which registers the file
    app.connect("doctree-read", _add_link, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
