"""A chapter's prose never types a measured number by hand (issue #12).

Measured numbers reach the prose through myst-nb ``glue`` (``{glue:text}`name:.3f```),
so the text and the outputs beside it cannot disagree on another machine or seed.
This check flags, in the prose of every chapter (code cells, inline code, glue roles
and citations removed), any number with two or more decimals and any percentage.
Numbers quoted from a paper stay on a line that cites it (``{cite}``); a number that
is an input or an exact constant rather than a measurement is marked on its line
with ``<!-- not measured: why -->``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("ch[0-9][0-9]_*.md"))

SUSPECT = re.compile(r"(?<![\w.])\d+\.\d{2,}|(?<![\w.])\d+(?:\.\d+)?\s*(?:%|\\%|per ?cent)")


def prose_lines(text: str):
    """(line number, line) of the prose: outside code cells and fenced blocks, front matter dropped."""
    lines = text.splitlines()
    in_fence = None
    in_front = lines[:1] == ["---"]
    for number, line in enumerate(lines, start=1):
        if in_front:
            if number > 1 and line.strip() == "---":
                in_front = False
            continue
        fence = re.match(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$", line)
        if in_fence is None and fence:
            in_fence = fence.group(1)
            # directives whose body is prose (admonitions, figures' captions, tabs) stay prose
            head = fence.group(2).strip()
            if re.match(r"\{(note|warning|important|tip|admonition|hint|caution|seealso|dropdown|"
                        r"tab-set|tab-item|figure|margin|sidebar|topic|glue:figure)\}", head):
                in_fence = None
            continue
        if in_fence is not None:
            if line.strip().startswith(in_fence) and line.strip().strip(in_fence[0]) == "":
                in_fence = None
            continue
        yield number, line


def suspects(line: str) -> list[str]:
    if "{cite" in line or "<!-- not measured" in line:
        return []
    line = re.sub(r"\{glue(?::\w+)?\}`[^`]*`", " ", line)   # glued numbers
    line = re.sub(r"`[^`]*`", " ", line)                     # inline code
    line = re.sub(r"\]\([^)]*\)", "]", line)                 # link targets
    return SUSPECT.findall(line)


# Chapter 9 reads the benchmark tables; its glued version waits for the benchmarks
# over >= 5 seeds (issue #12 item 5), which did not finish in the session that wrote this.
PENDING = {"ch09_comparison": "benchmark tables over >= 5 seeds not regenerated yet (issue #12)"}


@pytest.mark.parametrize("chapter", [
    pytest.param(p, marks=pytest.mark.xfail(reason=PENDING[p.stem], strict=True)) if p.stem in PENDING else p
    for p in CHAPTERS], ids=[p.stem for p in CHAPTERS])
def test_no_hand_typed_measured_numbers(chapter):
    found = [f"{chapter.name}:{n}: {', '.join(s)}  | {line.strip()[:100]}"
             for n, line in prose_lines(chapter.read_text()) for s in [suspects(line)] if s]
    assert not found, (
        "measured numbers typed into the prose; glue them from the cell that computes them "
        "(from myst_nb import glue; glue('name', value, display=False); {glue:text}`name:.3f`), "
        "or mark an input/exact constant with <!-- not measured: why -->:\n" + "\n".join(found)
    )


def test_the_check_finds_a_typed_number():
    assert suspects("the smallest sigma falls to 0.015 here") == ["0.015"]
    assert suspects("coverage is 86.6 % of the interval")
    assert not suspects("the smallest sigma falls to {glue:text}`ch08_sigma:.3f` here")
    assert not suspects("Gal reports −2.46 {cite}`gal2016dropout`")
    assert not suspects("uses `lr=5e-3` and 0.3 as noise")
