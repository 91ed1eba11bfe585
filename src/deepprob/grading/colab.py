"""The Colab install cell at the top of every exercise notebook (issue #13, item 4).

On Google Colab an exercise notebook starts without ``deepprob`` (and without NumPyro); its
first code cell installs them from the course repository, and everywhere else -- Jupyter on
the student's machine, a JupyterHub, the grader's sandbox -- it does nothing. The repository
is named in one place, ``_config.yml`` (``repository: url, branch``), which also drives the
book's launch buttons; ``python -m deepprob.grading colab`` writes the cell into every
notebook of ``solutions/`` from it (``make exercises`` runs it before releasing), and
``--check`` only reports notebooks whose cell is missing or out of date.
"""
from __future__ import annotations

import re
from pathlib import Path

GRADE_ID = "colab_install"

# import name found in a notebook -> extra of deepprob's pyproject that provides it
_EXTRAS = {"torch": "torch", "numpyro": "numpyro", "jax": "numpyro", "tensorflow": "tfp",
           "tensorflow_probability": "tfp", "tf_keras": "tfp", "deepprob.data": "data"}


def repository(root: Path | str) -> tuple[str, str]:
    """``(url, branch)`` of the course repository from ``<root>/_config.yml``.

    Raises
    ------
    ValueError
        If ``_config.yml`` has no ``repository.url`` (the book's launch buttons need it too).
    """
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text()) or {}
    repo = config.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch") or "main"
    if not url:
        raise ValueError(f"{Path(root) / '_config.yml'} names no repository.url; set it to the course's git URL")
    return str(url).rstrip("/"), str(branch)


def extras(sources: list[str]) -> list[str]:
    """deepprob extras a notebook needs, from the modules its code cells import."""
    found = set()
    for source in sources:
        for module in re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.M):
            for name, extra in _EXTRAS.items():
                if module == name or module.startswith(name + "."):
                    found.add(extra)
    return sorted(found)


def cell_source(url: str, branch: str, extras_: list[str]) -> str:
    """Source of the install cell: a ``%pip install`` of ``deepprob`` from git, only on Colab."""
    spec = "deepprob" + (f"[{','.join(extras_)}]" if extras_ else "")
    return (
        "# On Google Colab: install the course's helper package first (a minute). Elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "{spec} @ git+{url}@{branch}"'
    )


def sync(root: Path | str, write: bool = True) -> list[Path]:
    """Put the up-to-date install cell right after the title cell of every solutions notebook.

    Parameters
    ----------
    root : path
        Course root (``_config.yml`` and ``solutions/``).
    write : bool
        Rewrite the notebooks that need it; ``False`` only reports them.

    Returns
    -------
    list of Path
        The notebooks whose cell was missing or out of date (rewritten when ``write``).
    """
    import nbformat

    root = Path(root)
    url, branch = repository(root)
    stale = []
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        others = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != GRADE_ID]
        source = cell_source(url, branch, extras([c.source for c in others if c.cell_type == "code"]))
        cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
            "grade": False, "grade_id": GRADE_ID, "locked": True, "schema_version": 3,
            "solution": False, "task": False}})
        first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        current = nb.cells[first_code] if first_code < len(nb.cells) else None
        if current is not None and current.get("metadata", {}).get("nbgrader", {}).get("grade_id") == GRADE_ID \
                and current.source == source and len(others) == len(nb.cells) - 1:
            continue
        stale.append(path)
        if write:
            cells = list(others)
            at = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
            cell.id = "colab-install"
            cells.insert(at, cell)
            nb.cells = cells
            nbformat.write(nb, str(path))
    return stale
