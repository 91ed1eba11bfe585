"""An nbconvert preprocessor that keeps hidden tests out of students' feedback.

nbgrader's autograded notebook holds the hidden tests (restored from the
gradebook so that they run), and ``generate_feedback`` turns it into HTML as it
is: students would read the hidden tests, and the tracebacks of failed ones.
:class:`RedactHiddenTests` removes both, keeping what a student needs: which
test cell failed and its assertion message.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

__all__ = ["RedactHiddenTests"]


class RedactHiddenTests(Preprocessor):
    """Strip hidden-test regions and tracebacks from graded cells.

    For every cell whose source contains a region between ``BEGIN HIDDEN TESTS``
    and ``END HIDDEN TESTS`` the region is replaced by one comment line, and in
    every graded test cell each error output keeps only its exception name and
    message (the traceback would quote the hidden source and the grader's paths).
    """

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)
    placeholder = Unicode("# (hidden tests: their source is not shown)").tag(config=True)

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
        return cell, resources
