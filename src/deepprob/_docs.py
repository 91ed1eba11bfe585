"""Docstring fragments shared by several public functions, written once.

``fill_doc`` replaces a line that holds only ``%(name)s`` by the fragment
``name``, indented like that line, so that ``help()`` shows every function's
full numpydoc docstring while the source keeps one copy of a parameter
description that several functions share.
"""
from __future__ import annotations

import textwrap

__all__ = ["fill_doc"]


def fill_doc(**fragments):
    """Decorator: put the named (dedented) fragments into the docstring of the function."""

    def decorate(func):
        if func.__doc__ is None:  # python -OO strips docstrings
            return func
        lines = []
        for line in func.__doc__.splitlines():
            key = line.strip()
            if key.startswith("%(") and key.endswith(")s") and key[2:-2] in fragments:
                indent = line[: len(line) - len(line.lstrip())]
                text = textwrap.dedent(fragments[key[2:-2]]).strip("\n")
                lines.append(textwrap.indent(text, indent))
            else:
                lines.append(line)
        doc = "\n".join(lines)
        if "%(" in doc:  # a misspelt name would show up raw in help()
            raise ValueError(f"{func.__qualname__}: a docstring placeholder has no fragment")
        func.__doc__ = doc
        return func

    return decorate
