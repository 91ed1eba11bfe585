"""An nbconvert preprocessor that keeps hidden tests out of students' feedback.

nbgrader's autograded notebook holds the hidden tests (restored from the
gradebook so that they run), and ``generate_feedback`` turns it into HTML as it
is: students would read the hidden tests, and the tracebacks of failed ones.
:class:`RedactHiddenTests` removes both, keeping what a student needs: which
test cell failed and its assertion message.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, List, Unicode

__all__ = ["RedactHiddenTests", "offline_math", "MATHJAX_SVG"]


class RedactHiddenTests(Preprocessor):
    """Strip hidden-test regions and tracebacks from graded cells.

    For every cell whose source contains a region between ``BEGIN HIDDEN TESTS``
    and ``END HIDDEN TESTS`` the region is replaced by one comment line, and in
    every graded test cell each error output keeps only its exception name and
    message (the traceback would quote the hidden source and the grader's paths).
    In every other traceback and printed output, the grader's paths (the Python
    installation, the course root) are replaced by ``...``.
    """

    enabled = Bool(True, help="nbconvert skips preprocessors that are not enabled").tag(config=True)
    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)
    placeholder = Unicode("# (hidden tests: their source is not shown)").tag(config=True)
    hidden_paths = List(
        Unicode(),
        help="Path prefixes replaced by '...' in every traceback and output (default: the Python "
        "installation and the course root, i.e. nbgrader's working folder).",
    ).tag(config=True)

    def _prefixes(self) -> list[str]:
        paths = self.hidden_paths or [sys.prefix, sys.base_prefix, os.getcwd()]
        out = sorted({os.path.realpath(p) for p in paths} | set(paths), key=len, reverse=True)
        return [p for p in out if len(p) > 1]

    def _scrub(self, text: str) -> str:
        for prefix in self._prefixes():
            text = text.replace(prefix, "...")
        return text

    def _redact_source(self, source: str) -> str:
        out, inside = [], False
        for line in source.split("\n"):
            if self.begin in line:
                inside = True
                indent = line[: len(line) - len(line.lstrip())]
                out.append(indent + self.placeholder)
            elif self.end in line:
                inside = False
            elif not inside:
                out.append(line)
        return "\n".join(out)

    def preprocess_cell(self, cell, resources, index):
        grader = cell.get("metadata", {}).get("nbgrader", {})
        if self.begin in cell.get("source", ""):
            cell.source = self._redact_source(cell.source)
        if cell.cell_type == "code" and grader.get("grade") and not grader.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["evalue"] = self._scrub(str(output.get("evalue", "")))
                output["traceback"] = [self._scrub(line) for line in output.get("traceback", [])]
            elif output.get("output_type") == "stream":
                output["text"] = self._scrub(output.get("text", ""))
        return cell, resources


def _mathjax_svg() -> Path | None:
    """MathJax 3's single-file TeX-to-SVG build (no web fonts needed), from sphinx-mathjax-offline."""
    for entry in sys.path:
        path = Path(entry) / "sphinx-mathjax-offline" / "static" / "mathjax" / "tex-svg.js"
        if path.is_file():
            return path
    return None


#: where the local MathJax comes from (``None`` if the package is not installed)
MATHJAX_SVG = _mathjax_svg()

_CDN_BLOCK = re.compile(
    r"<!-- Load mathjax -->\s*<script src=\"https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^\"]*\">\s*</script>"
    r".*?<!-- End of mathjax configuration -->",
    re.S,
)
_LOCAL = (
    "<!-- MathJax 3 from a copy next to this page: math renders offline -->\n"
    "<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
    "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true}, svg: {fontCache: 'global'}};</script>\n"
    '<script src="mathjax/tex-svg.js" defer></script>'
)


def offline_math(feedback_root: Path | str, assignment: str) -> int:
    """Make every feedback page of ``assignment`` typeset its math without the network.

    nbconvert's HTML template loads MathJax 2 from cdnjs, so an offline student sees
    raw ``$...$``. Each page's MathJax block is replaced by MathJax 3 (TeX input, SVG
    output) loaded from ``mathjax/tex-svg.js`` beside it, hard-linked to one copy
    where the file system allows (copied otherwise; 2.1 MB).

    Parameters
    ----------
    feedback_root : path
        nbgrader's ``feedback/`` folder (``<student>/<assignment>/*.html``).
    assignment : str
        The assignment whose pages are rewritten.

    Returns
    -------
    int
        The number of pages rewritten.

    Raises
    ------
    FileNotFoundError
        When the local MathJax (package ``sphinx-mathjax-offline``) is not installed.
    """
    if MATHJAX_SVG is None:
        raise FileNotFoundError("MathJax for offline feedback comes from sphinx-mathjax-offline: run `make install`")
    done = 0
    for page in sorted(Path(feedback_root).glob(f"*/{assignment}/*.html")):
        if page.is_symlink():
            continue
        html = page.read_text(encoding="utf-8")
        new = _CDN_BLOCK.sub(lambda _: _LOCAL, html, count=1)
        if new == html:
            continue
        target = page.parent / "mathjax" / "tex-svg.js"
        target.parent.mkdir(exist_ok=True)
        if not target.exists():
            try:
                os.link(MATHJAX_SVG, target)
            except OSError:
                shutil.copyfile(MATHJAX_SVG, target)
        page.write_text(new, encoding="utf-8")
        done += 1
    return done
