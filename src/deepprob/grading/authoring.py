"""Write nbgrader source notebooks from jupytext percent scripts.

Authors may keep a solution notebook as a ``# %%`` script whose cell headers
carry the nbgrader metadata, e.g.
``# %% nbgrader={"grade": true, "grade_id": "test_x", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}``.
Only the ``.ipynb`` is committed (nbgrader needs it); this turns one into the other.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["percent_to_notebook"]


def percent_to_notebook(source: Path | str, target: Path | str) -> Path:
    """Convert a percent script to an ``.ipynb`` without jupytext's own metadata.

    Raises
    ------
    ValueError
        If a cell carries nbgrader metadata without a ``grade_id``, or two cells
        share a ``grade_id``.
    """
    import jupytext
    import nbformat

    nb = jupytext.read(str(source), fmt="py:percent")
    seen: set[str] = set()
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        meta = cell.metadata.get("nbgrader")
        if meta is not None:
            gid = meta.get("grade_id")
            if not gid:
                raise ValueError(f"a cell has nbgrader metadata but no grade_id: {cell.source[:60]!r}")
            if gid in seen:
                raise ValueError(f"grade_id {gid!r} is used twice")
            seen.add(gid)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target
