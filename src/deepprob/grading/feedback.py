"""An nbconvert preprocessor that keeps hidden tests out of students' feedback.

nbgrader's autograded notebook holds the hidden tests (restored from the
gradebook so that they run), and ``generate_feedback`` turns it into HTML as it
is: students would read the hidden tests, and the tracebacks of failed ones.
:class:`RedactHiddenTests` removes both, keeping what a student needs: which
test cell failed and its assertion message.
"""
from __future__ import annotations

import os
import sys

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, List, Unicode

__all__ = ["RedactHiddenTests"]


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
