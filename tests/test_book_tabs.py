"""Framework tabs of the book: synchronised, runnable, checked (issue 13, item 5).

Wherever a step exists in PyTorch, TFP and NumPyro/JAX, a chapter shows it as a sphinx-design
``tab-set`` whose tabs are synchronised across pages (``:sync-group: framework``; items
``:sync: pytorch`` / ``tfp`` / ``numpyro``), so that choosing TFP once selects TFP everywhere. Each
tab shows a snippet from ``book/snippets/`` with ``literalinclude`` — the code shown is the code that
runs — and the tab set is followed, before the next heading, by a code cell tagged ``remove-cell``
that runs every snippet it shows and asserts that the frameworks agree.

These tests read the sources only (no build, no execution): fast enough for every commit.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from test_book_prose import code_cells as prose_code_cells

BOOK = Path(__file__).resolve().parents[1] / "book"
SNIPPETS = BOOK / "snippets"
PAGES = sorted(BOOK.glob("*.md"))
SYNC_KEYS = ("pytorch", "tfp", "numpyro")
# The steps issue 13 names: each of these chapters has at least one tab set.
CHAPTERS_WITH_TABS = ("ch01", "ch03", "ch05", "ch06", "ch07", "ch08")
MAX_SNIPPET_LINES = 25

_HEADING = re.compile(r"^#{1,6} ")
_CODE_CELL = re.compile(r"^(`{3,}|~{3,})\{code-cell\}")


def _directive_end(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing the colon fence opened at ``start`` (a line of exactly ``fence``)."""
    for i in range(start + 1, len(lines)):
        if lines[i].strip() == fence:
            return i
    raise AssertionError(f"line {start + 1}: `{lines[start].strip()}` is never closed by `{fence}`")


def _options(lines: list[str], start: int) -> dict[str, str]:
    """The ``:key: value`` option lines right after the directive line ``start``."""
    options = {}
    for line in lines[start + 1:]:
        match = re.match(r"^:([\w-]+):\s*(.*)$", line.strip())
        if not match:
            break
        options[match.group(1)] = match.group(2).strip()
    return options


def tab_sets(text: str) -> list[dict]:
    """Every ``tab-set`` of a MyST page: its line, options, items and the text after it up to the next heading.

    Each item is a dict with its ``label``, ``options`` and the ``includes`` (``literalinclude`` paths) of its body.
    """
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        opening = re.match(r"^(:{3,})\{tab-set\}\s*$", line.strip())
        if not opening:
            continue
        end = _directive_end(lines, i, opening.group(1))
        items = []
        j = i + 1
        while j < end:
            item = re.match(r"^(:{3,})\{tab-item\}\s*(.*)$", lines[j].strip())
            if item:
                item_end = _directive_end(lines, j, item.group(1))
                body = lines[j + 1:item_end]
                items.append({
                    "label": item.group(2).strip(),
                    "options": _options(lines, j),
                    "includes": [m.group(1).strip() for b in body
                                 if (m := re.match(r"^`{3,}\{literalinclude\}\s+(\S+)", b.strip()))],
                })
                j = item_end
            j += 1
        following, fence = [], None
        for after in lines[end + 1:]:
            if fence is None and _HEADING.match(after):   # a heading of the page, not a comment in a cell
                break
            mark = re.match(r"^(`{3,}|~{3,})", after.strip())
            if mark and fence is None:
                fence = mark.group(1)
            elif mark and fence is not None and after.strip() == fence:
                fence = None
            following.append(after)
        found.append({"line": i + 1, "options": _options(lines, i), "items": items, "following": following})
    return found


def code_cells(lines: list[str]) -> list[tuple[dict, str]]:
    """(metadata, source) of every code cell in ``lines``: the parser of ``test_book_prose``."""
    return [(metadata, "\n".join(source)) for _, metadata, source in prose_code_cells("\n".join(lines))]


def _tags(metadata: dict) -> list[str]:
    tags = metadata.get("tags") or []
    return [tags] if isinstance(tags, str) else list(tags)


def _all_tab_sets():
    return [(page, tab_set) for page in PAGES for tab_set in tab_sets(page.read_text())]


ALL = _all_tab_sets()
IDS = [f"{page.stem}:{tab_set['line']}" for page, tab_set in ALL]


def test_the_six_chapters_have_framework_tabs():
    with_tabs = {page.name[:4] for page, _ in ALL}
    missing = [chapter for chapter in CHAPTERS_WITH_TABS if chapter not in with_tabs]
    assert not missing, f"chapters without a framework tab set: {missing}"


@pytest.mark.parametrize("page, tab_set", ALL, ids=IDS)
def test_tab_set_is_synchronised_by_framework(page, tab_set):
    where = f"{page.name}:{tab_set['line']}"
    assert tab_set["options"].get("sync-group") == "framework", f"{where}: the tab-set needs `:sync-group: framework`"
    keys = [item["options"].get("sync") for item in tab_set["items"]]
    assert sorted(k or "" for k in keys) == sorted(SYNC_KEYS), (
        f"{where}: its tab-items must carry `:sync:` {', '.join(SYNC_KEYS)}, once each; found {keys}")


@pytest.mark.parametrize("page, tab_set", ALL, ids=IDS)
def test_tabs_include_existing_snippets(page, tab_set):
    where = f"{page.name}:{tab_set['line']}"
    for item in tab_set["items"]:
        assert item["includes"], f"{where}: tab `{item['label']}` shows no literalinclude'd snippet"
        for include in item["includes"]:
            path = (page.parent / include).resolve()
            assert path.is_file(), f"{where}: tab `{item['label']}` includes {include}, which does not exist"
            assert path.parent == SNIPPETS, f"{where}: snippets live in book/snippets/, not {include}"


@pytest.mark.parametrize("page, tab_set", ALL, ids=IDS)
def test_tab_set_is_followed_by_a_hidden_check_of_its_snippets(page, tab_set):
    where = f"{page.name}:{tab_set['line']}"
    hidden = [source for metadata, source in code_cells(tab_set["following"]) if "remove-cell" in _tags(metadata)]
    assert hidden, f"{where}: no code cell tagged remove-cell follows the tab set before the next heading"
    snippets = {Path(include).name for item in tab_set["items"] for include in item["includes"]}
    checks = [source for source in hidden
              if all(name in source for name in snippets) and re.search(r"^\s*assert\b", source, re.M)]
    assert checks, (f"{where}: the hidden cell after the tab set must run each of {sorted(snippets)} "
                    "(name it) and assert that they agree")


def test_every_snippet_is_shown_short_and_parses():
    shown = {(page.parent / include).resolve() for page, tab_set in ALL
             for item in tab_set["items"] for include in item["includes"]}
    for path in sorted(SNIPPETS.glob("*.py")):
        assert path.resolve() in shown, f"{path.name} is in book/snippets/ but no tab shows it"
        source = path.read_text()
        ast.parse(source, filename=str(path))
        n_lines = len(source.rstrip("\n").splitlines())
        assert n_lines <= MAX_SNIPPET_LINES, f"{path.name}: {n_lines} lines; a tab shows at most {MAX_SNIPPET_LINES}"


def test_snippet_names_say_chapter_and_framework():
    for page, tab_set in ALL:
        for item in tab_set["items"]:
            for include in item["includes"]:
                name = Path(include).stem
                assert name.startswith(page.name[:4] + "_"), f"{page.name}: {include} should start with {page.name[:4]}_"
                assert name.endswith("_" + item["options"].get("sync", "?")), (
                    f"{page.name}: {include} is shown in the `{item['options'].get('sync')}` tab")


# ---------------------------------------------------------------- the parser on a small page

SAMPLE = """\
# A page

::::{tab-set}
:sync-group: framework

:::{tab-item} PyTorch
:sync: pytorch

```{literalinclude} snippets/x_pytorch.py
```
:::

:::{tab-item} TFP
:sync: tfp
:::

::::

```{code-cell} ipython3
:tags: [remove-cell]

# a comment, not a heading
run("x_pytorch.py")
assert ok
```

## Next

```{code-cell} ipython3
:tags: [remove-cell]
assert late
```
"""


def test_parser_reads_items_options_and_stops_at_the_next_heading():
    (found,) = tab_sets(SAMPLE)
    assert found["options"] == {"sync-group": "framework"}
    assert [item["options"]["sync"] for item in found["items"]] == ["pytorch", "tfp"]
    assert found["items"][0]["includes"] == ["snippets/x_pytorch.py"] and found["items"][1]["includes"] == []
    cells = code_cells(found["following"])
    assert len(cells) == 1 and _tags(cells[0][0]) == ["remove-cell"] and "x_pytorch.py" in cells[0][1]
