"""The book as a reader sees it: headless Chromium on the built site, served from localhost.

Every page of the table of contents loads (HTTP 200, no console error), math is
typeset by the local MathJax, images load, internal links and anchors resolve,
search works, the widget demo shows its saved state, and no page requests a host
other than localhost. A screenshot of each page's first screen is written to
``_build/screenshots/`` for review (regenerate with
``make test PYTEST_ARGS="tests/test_browser.py"``).

The reader's accessibility and phone layout (COURSE.md section 6, "Reader"):

* axe-core (``make axe`` fetches the pinned version from the npm registry into
  ``_build/vendor/axe``; it is injected by the test, never served to readers) finds no
  serious or critical WCAG 2.1 A/AA violation on any page, at desktop and phone width,
  and none of the lesser findings the course fixed (``AXE_ZERO_RULES``);
* every content image has an alt text that is neither empty nor a file name;
  chapters still waiting for their figures' descriptions are listed in
  ``ALT_TEXT_PENDING`` (the switch: remove a chapter once its cells carry ``fig-alt``);
* at 390x844 (a phone) no page scrolls sideways, the menu button opens a visible
  navigation that reaches every page of ``_toc.yml`` and navigates, and a figure opens
  at full size when tapped;
* no page links the JupyterHub placeholder address.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright``
package; ``playwright install`` cannot download browsers here, so Chromium is
launched from ``/usr/bin/chromium``.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


PHONE = {"width": 390, "height": 844}
# The course's pass bar: WCAG 2.1 A/AA rules, plus label-content-name-mismatch (WCAG 2.5.3,
# which axe 4 ships as "experimental", off unless asked for); best practices are run too,
# for the lesser findings the course fixed (AXE_ZERO_RULES).
AXE_OPTIONS = """{
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
  rules: {'label-content-name-mismatch': {enabled: true}, 'focus-order-semantics': {enabled: true}},
  resultTypes: ['violations']
}"""
WCAG_TAGS = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}
# Lesser findings (best practice, or minor) that the course fixed: none may come back.
AXE_ZERO_RULES = {
    "label-content-name-mismatch", "empty-table-header", "region", "aria-deprecated-role",
    "aria-allowed-role", "scrollable-region-focusable", "image-alt", "aria-input-field-name",
    "focus-order-semantics", "landmark-unique",
}
# Chapters whose figures do not carry alt text yet (`fig-alt` in the code cell's metadata;
# _build/figures-without-alt.txt lists the cells). The switch for the alt-text check:
# remove a chapter once its figures are described, and the check holds it to that.
# DEEPPROB_REQUIRE_ALT=1 empties the list (every chapter checked).
ALT_TEXT_PENDING: set[str] = set()
if os.environ.get("DEEPPROB_REQUIRE_ALT") == "1":
    ALT_TEXT_PENDING = set()
PLACEHOLDER_HUB = "jupyterhub.example.edu"

# One page's facts for the accessibility checks: axe's violations, and each content image.
# A table header that holds only a formula is not empty: MathJax draws its glyphs with CSS
# and gives screen readers MathML, neither of which axe's empty-table-header counts as
# visible text; such headers are left out of that rule's findings.
_READER_FACTS = """async () => {
  const results = await axe.run(document, %s);
  const mathOnly = n => { const e = document.querySelector(n.target.join(' '));
    if (!e || !e.querySelector('mjx-container')) return false;
    const rest = e.cloneNode(true); rest.querySelectorAll('mjx-container').forEach(m => m.remove());
    return !rest.textContent.trim(); };
  const violations = results.violations.map(v => {
    const nodes = v.id === 'empty-table-header' ? v.nodes.filter(n => !mathOnly(n)) : v.nodes;
    return {id: v.id, impact: v.impact, tags: v.tags,
            targets: nodes.map(n => n.target.join(' ')).slice(0, 5), count: nodes.length};
  }).filter(v => v.count > 0);
  const images = Array.from(document.querySelectorAll('article.bd-article img')).map(img => ({
    src: (img.getAttribute('src') || '').slice(0, 120), alt: img.getAttribute('alt'),
    missing: img.dataset.courseAltMissing === '1'}));
  return {violations, content_images: images};
}""" % AXE_OPTIONS

# Elements that stick out past the right edge of a phone's screen without a scrolling box
# to hold them: what makes a page scroll sideways (for the failure message).
_SIDEWAYS = """() => {
  const W = document.documentElement.clientWidth, out = [];
  const held = e => { for (let a = e.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.position === 'fixed' || ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)) return true; }
    return false; };
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1 && !held(e) && e.parentElement.getBoundingClientRect().right <= W + 1)
      out.push(`${e.tagName.toLowerCase()}.${String(e.className).split(' ')[0]} reaches ${Math.round(r.right)} px: ${(e.textContent || '').trim().slice(0, 60)}`);
    if (out.length >= 5) break;
  }
  return out;
}"""


# Formulas MathJax could not render as meant: an error box (mjx-merror), or TeX left as text, which
# is what an escape that MathJax 3 does not interpret in text mode gives (\text{log\_var} shows
# "log\_var"), and what an undefined macro gives under the noundefined package. Read from the
# MathML MathJax adds for screen readers; its text holds no backslash when the TeX was understood.
_MATH_ERRORS = r"""() => Array.from(document.querySelectorAll('mjx-container')).filter(c => {
    const mml = c.querySelector('mjx-assistive-mml');
    return c.querySelector('mjx-merror') || (mml && mml.textContent.includes('\\'));
  }).map(c => { const mml = c.querySelector('mjx-assistive-mml');
                return (mml ? mml.textContent : c.textContent).trim().slice(0, 80) || 'mjx-merror'; })"""


def _toc_pages(root: Path) -> list[str]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
            pages += [s["file"] for s in chapter.get("sections", [])]
    return pages


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(book_build, root):
    html = root / "_build" / "html"
    assert book_build.returncode == 0 and (html / "index.html").exists(), (
        "the book did not build; see tests/test_book.py::test_build_succeeds_without_warnings"
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def axe_source(root):
    """axe-core's script, fetched by ``make axe`` from the npm registry (pinned there)."""
    script = root / "_build" / "vendor" / "axe" / "axe.min.js"
    if not script.exists():
        result = subprocess.run(["make", "-s", "axe"], cwd=root, capture_output=True, text=True)
        assert result.returncode == 0, f"`make axe` failed:\n{result.stdout}\n{result.stderr}"
    return script.read_text()


def _wait_for_page(page):
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=20_000)
    page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
    page.wait_for_timeout(300)


def _only_localhost(page, record=None):
    def on_route(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            if record is not None:
                record["external"].append(route.request.url)
            route.abort()

    page.route("**/*", on_route)


@pytest.fixture(scope="module")
def visits(site, browser, root, axe_source):
    """Load every toc page once; record status, console errors, requests, DOM facts, axe's findings."""
    base, html = site
    shots = root / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    results = {}
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    for page_name in _toc_pages(root):
        page = context.new_page()
        record = {"console": [], "external": [], "failed": []}

        def on_route(route, record=record):
            host = urlparse(route.request.url).hostname
            if host in LOCAL_HOSTS:
                route.continue_()
            else:
                record["external"].append(route.request.url)
                route.abort()

        page.route("**/*", on_route)
        # what axe does once injected is the test's, not the reader's: it re-fetches the
        # stylesheets and resolves their @import against the wrong base (a 404 of its own)
        page.on("console", lambda msg, record=record: msg.type == "error" and "axe" not in record and record["console"].append(msg.text))
        page.on("pageerror", lambda err, record=record: "axe" not in record and record["console"].append(str(err)))
        page.on("requestfailed", lambda req, record=record: "axe" not in record and record["failed"].append(req.url))
        page.on("response", lambda resp, record=record: resp.status >= 400 and "axe" not in record and record["failed"].append(f"{resp.status} {resp.url}"))
        response = page.goto(f"{base}/{page_name}.html", wait_until="load")
        record["status"] = response.status if response else None
        page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=20_000)
        page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
        page.wait_for_timeout(300)
        record["math"] = page.evaluate("() => document.querySelectorAll('mjx-container').length")
        record["math_errors"] = page.evaluate(_MATH_ERRORS)
        record["prose"] = page.evaluate(
            """() => { const a = document.querySelector('main') || document.body;
                       const c = a.cloneNode(true);
                       c.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
                       return c.innerText; }"""
        )
        record["broken_images"] = page.evaluate(
            "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        record["images"] = page.evaluate("() => document.images.length")
        record["links"] = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        record["widgets"] = page.evaluate("() => document.querySelectorAll('.jupyter-widgets, .widget-slider, .widget-box').length")
        record["widget_state"] = "application/vnd.jupyter.widget-state+json" in (html / f"{page_name}.html").read_text()
        page.screenshot(path=str(shots / (page_name.replace("/", "__") + ".png")))
        record["axe"] = True
        page.add_script_tag(content=axe_source)
        record.update(page.evaluate(_READER_FACTS))
        results[page_name] = record
        page.close()
    context.close()
    return results


def test_every_page_loads_without_console_errors(visits):
    for name, r in visits.items():
        assert r["status"] == 200, f"{name}: HTTP {r['status']}"
        assert not r["failed"], f"{name}: failed requests {r['failed'][:5]}"
        assert not r["console"], f"{name}: console errors {r['console'][:5]}"


def test_no_page_requests_another_host(visits):
    for name, r in visits.items():
        assert not r["external"], f"{name} requested {r['external'][:5]}: everything must be served locally"


def test_math_is_typeset(visits, root):
    for name, r in visits.items():
        source = next(iter(sorted(root.glob(name + ".*"))), None)
        text = source.read_text() if source else ""
        if "$" in text.replace("$$", "$"):  # the page has math in its source
            assert r["math"] > 0, f"{name}: no MathJax output"
        for raw in ("$$", "\\begin{", "\\frac"):
            assert raw not in r["prose"], f"{name}: raw TeX {raw!r} left in the text"


# Pages whose formulas still show TeX as text: the exercise notebooks write \text{log\_var} and
# \text{in\_features}; they are generated from solutions/ (fix there, e.g. \mathrm{log\_var}, then
# `make exercises`). The switch, as for ALT_TEXT_PENDING: remove a page once it renders.
# Pages allowed to show raw TeX for now (none: the exercises write \mathtt{log\_var}, since
# MathJax leaves \_ inside \text/\texttt unprocessed without its textmacros extension).
MATH_PENDING: set[str] = set()


def test_math_renders_without_errors(visits):
    """No formula shows an error or raw TeX (issue #13: chapter 4's \\text{log\\_var})."""
    bad = {name: r["math_errors"] for name, r in visits.items() if r["math_errors"]}
    problems = {name: errors for name, errors in bad.items() if name not in MATH_PENDING}
    assert not problems, "formulas MathJax did not render as meant (error, or TeX left as text):\n" + "\n".join(
        f"{name}: {errors[:5]}" for name, errors in problems.items())
    fixed = sorted(name for name in MATH_PENDING if name in visits and name not in bad)
    assert not fixed, f"these pages' formulas render now: remove them from MATH_PENDING: {fixed}"
    pending = {name: errors for name, errors in bad.items() if name in MATH_PENDING}
    if pending:
        pytest.xfail("formulas showing TeX as text, in pages generated from solutions/:\n" + "\n".join(
            f"{name}: {errors[:3]}" for name, errors in pending.items()))


def test_images_load(visits):
    for name, r in visits.items():
        assert not r["broken_images"], f"{name}: images that did not load: {r['broken_images']}"
    assert visits["book/ch01_maximum_likelihood"]["images"] >= 3


def test_internal_links_and_anchors_resolve(visits, site):
    base, html = site
    ids_cache: dict[Path, set[str]] = {}
    for name, r in visits.items():
        for href in r["links"]:
            url = urlparse(href)
            if url.hostname not in LOCAL_HOSTS:
                continue
            path = html / unquote(url.path).lstrip("/")
            if path.is_dir():
                path = path / "index.html"
            assert path.exists(), f"{name}: broken link {href}"
            if url.fragment and path.suffix == ".html":
                if path not in ids_cache:
                    ids_cache[path] = set(re.findall(r'id="([^"]+)"', path.read_text()))
                assert unquote(url.fragment) in ids_cache[path], f"{name}: missing anchor #{url.fragment} in {path.name}"


def test_search_finds_a_chapter_one_term(site, browser):
    base, _ = site
    page = browser.new_page()
    page.goto(f"{base}/search.html?q=reweighting", wait_until="load")
    page.wait_for_selector("#search-results li, ul.search li", timeout=20_000)
    hits = page.evaluate("() => Array.from(document.querySelectorAll('#search-results li a, ul.search li a')).map(a => a.href)")
    page.close()
    assert any("ch01_maximum_likelihood" in h for h in hits), f"search for 'reweighting' did not find chapter 1: {hits}"


def test_widget_demo_shows_saved_state(visits, root):
    with_state = {n: r for n, r in visits.items() if r["widget_state"]}
    if "book/ch04_reparameterization" in visits:
        assert "book/ch04_reparameterization" in with_state, "the chapter 4 widget demo saved no widget state"
    for name, r in with_state.items():
        assert r["widgets"] > 0, f"{name}: widget state saved but no widget rendered"


def test_screenshots_written(visits, root):
    shots = root / "_build" / "screenshots"
    for name in visits:
        assert (shots / (name.replace("/", "__") + ".png")).stat().st_size > 10_000, f"no screenshot of {name}"


# ---------------------------------------------------------------- the reader: accessibility


def _describe(violations) -> str:
    return "; ".join(f"{v['id']} ({v['impact']}, {v['count']}x: {', '.join(v['targets'][:3])})" for v in violations)


def _serious(violations):
    return [v for v in violations
            if v["impact"] in ("serious", "critical")
            and (WCAG_TAGS & set(v["tags"]) or v["id"] == "label-content-name-mismatch")]


def test_axe_no_serious_or_critical_violation(visits, phone_visits):
    problems = []
    for width, pages in (("1280 px", visits), ("390 px", phone_visits)):
        for name, r in pages.items():
            found = _serious(r["violations"])
            if found:
                problems.append(f"{name} at {width}: {_describe(found)}")
    assert not problems, "axe-core (WCAG 2.1 A/AA) finds serious or critical violations:\n" + "\n".join(problems)


def test_axe_lesser_findings_stay_fixed(visits, phone_visits):
    problems = []
    for width, pages in (("1280 px", visits), ("390 px", phone_visits)):
        for name, r in pages.items():
            found = [v for v in r["violations"] if v["id"] in AXE_ZERO_RULES]
            if found:
                problems.append(f"{name} at {width}: {_describe(found)}")
    assert not problems, "axe-core findings the course had fixed are back:\n" + "\n".join(problems)


_FILE_NAME = re.compile(r"^\S*\.(png|jpe?g|gif|svg|webp|pdf)$|^\S*/\S*$", re.I)


def _alt_problem(image) -> str | None:
    alt = (image["alt"] or "").strip()
    if image["missing"]:
        return "no alt text in the chapter"
    if not alt:
        return "empty alt"
    if _FILE_NAME.match(alt) or alt == image["src"] or alt == image["src"].rsplit("/", 1)[-1]:
        return f"alt is a file name ({alt[:60]})"
    return None


def test_content_images_have_descriptive_alt_text(visits):
    """Every image in the article has an alt text that describes it (not its file path).

    Chapters in ALT_TEXT_PENDING are exempt until their figures carry ``fig-alt``: their
    missing descriptions are reported (xfail) instead; a chapter left in the list after
    all its figures are described fails, so that the check switches on for it.
    """
    problems, pending, done = [], [], []
    for name, r in visits.items():
        bad = [f"{img['src'].rsplit('/', 1)[-1][:24]}: {why}" for img in r["content_images"] if (why := _alt_problem(img))]
        if name in ALT_TEXT_PENDING:
            (pending if bad else done).append(f"{name}: {len(bad)} figure(s) without alt text" if bad else name)
        elif bad:
            problems.append(f"{name}: " + "; ".join(bad))
    assert not problems, "content images without a descriptive alt text:\n" + "\n".join(problems)
    assert not done, f"these chapters' figures all have alt text now: remove them from ALT_TEXT_PENDING: {done}"
    if pending:
        pytest.xfail("figures waiting for alt text (see _build/figures-without-alt.txt):\n" + "\n".join(pending))


def test_no_page_links_the_placeholder_hub(visits, site):
    base, html = site
    for name, r in visits.items():
        assert not [h for h in r["links"] if PLACEHOLDER_HUB in h], f"{name} links the placeholder hub {PLACEHOLDER_HUB}"
    linking = [str(p.relative_to(html)) for p in html.rglob("*.html") if PLACEHOLDER_HUB in p.read_text()]
    assert not linking, f"pages that link the placeholder hub: {linking}"


# ---------------------------------------------------------------- the reader: phones


def _phone_context(browser):
    return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)


@pytest.fixture(scope="module")
def phone_visits(site, browser, root, axe_source):
    """Every toc page at 390x844: how wide the page is, what sticks out, axe's findings,
    and what the menu button does."""
    base, _ = site
    context = _phone_context(browser)
    results = {}
    pages = _toc_pages(root)
    for page_name in pages:
        page = context.new_page()
        _only_localhost(page)
        page.goto(f"{base}/{page_name}.html", wait_until="load")
        _wait_for_page(page)
        record = {
            "scroll_width": page.evaluate("() => document.documentElement.scrollWidth"),
            "sideways": page.evaluate(_SIDEWAYS),
            # the figures a cell's code draws (a widget's, drawn in the page, are data: URIs)
            "figures": page.evaluate(
                """() => Array.from(document.querySelectorAll('div.cell_output img'))
                     .filter(img => !img.currentSrc.startsWith('data:')).map(img => {
                       const a = img.closest('a');
                       return {src: img.currentSrc, href: a ? a.href : null,
                               natural: img.naturalWidth, shown: img.getBoundingClientRect().width}; })"""
            ),
        }
        page.add_script_tag(content=axe_source)
        record.update(page.evaluate(_READER_FACTS))
        # last, as it may leave the page: the menu
        navigate_to = None
        if page_name in (pages[0], pages[-1], next(p for p in pages if p.startswith("exercises/"))):
            navigate_to = pages[3] if page_name != pages[3] else pages[4]
        record["menu"] = _phone_menu_problems(page, page_name, pages, navigate_to)
        record["navigated"] = bool(navigate_to) and not record["menu"]
        results[page_name] = record
        page.close()
    context.close()
    return results


def test_no_page_scrolls_sideways_on_a_phone(phone_visits):
    wide = {name: r for name, r in phone_visits.items() if r["scroll_width"] > PHONE["width"] + 1}
    assert not wide, "pages wider than a 390 px phone:\n" + "\n".join(
        f"{name}: {r['scroll_width']} px; {r['sideways']}" for name, r in wide.items())


def test_figures_open_at_full_size(phone_visits, site, browser):
    """On a phone a figure is shrunk to the screen; each one links to its full-size image."""
    for name, r in phone_visits.items():
        for fig in r["figures"]:
            assert fig["href"] and fig["href"].split("/")[-1] == fig["src"].split("/")[-1], (
                f"{name}: figure {fig['src']} does not link to its full-size image ({fig['href']})")
    shrunk = [f for r in phone_visits.values() for f in r["figures"] if f["natural"] > f["shown"] + 1]
    assert shrunk, "no figure is shrunk on a phone: the check of tapping one is vacuous"
    base, _ = site
    context = _phone_context(browser)
    page = context.new_page()
    _only_localhost(page)
    page.goto(f"{base}/book/ch01_maximum_likelihood.html", wait_until="load")
    link = page.locator("div.cell_output a.course-figure-link").first
    link.scroll_into_view_if_needed()
    with page.expect_navigation():
        link.tap()
    opened = page.url
    size = page.evaluate("() => document.images.length ? document.images[0].naturalWidth : 0")
    context.close()
    assert opened.endswith(".png") and size > PHONE["width"], f"tapping a figure opened {opened} ({size} px wide)"


def _phone_menu_problems(page, start: str, pages: list[str], navigate_to: str | None) -> list[str]:
    """Open the menu on a phone-sized page: what is wrong, if anything (empty list: nothing).

    The menu button opens a visible navigation drawer with a link to every page of
    _toc.yml, each one on screen (and not covered) once scrolled to; with navigate_to,
    a tap on that page's link opens it.
    """
    drawer = page.locator(".bd-sidebar-primary")
    before = drawer.bounding_box()
    if drawer.is_visible() and before and before["x"] + before["width"] > 1:
        return ["the navigation covers the page before the menu is opened"]
    toggle = page.locator("button.primary-toggle:visible, label.primary-toggle:visible").first
    if toggle.count() != 1:
        return ["no visible menu button"]
    if not (toggle.get_attribute("aria-label") or toggle.get_attribute("title") or toggle.inner_text()).strip():
        return ["the menu button has no accessible name"]
    toggle.tap()
    page.wait_for_timeout(400)  # the drawer slides in
    box = drawer.bounding_box()
    if not (drawer.is_visible() and box and box["x"] >= -1 and box["width"] > 200):
        return [f"the menu button did not open the navigation ({box})"]
    missing = page.evaluate(
        """(targets) => {
             const drawer = document.querySelector('.bd-sidebar-primary');
             const links = Array.from(drawer.querySelectorAll('a[href]'));
             const out = [];
             for (const t of targets) {
               const a = links.find(l => new URL(l.href).pathname.endsWith('/' + t + '.html'));
               if (!a) { out.push(t + ' (no link)'); continue; }
               a.scrollIntoView({block: 'center'});
               const r = a.getBoundingClientRect();
               const hit = document.elementFromPoint(r.left + Math.min(10, r.width / 2), r.top + r.height / 2);
               if (!(r.width > 0 && r.left >= 0 && r.right <= innerWidth + 1 && hit && a.contains(hit)))
                 out.push(t + ' (not visible)');
             }
             return out; }""",
        pages,
    )
    if missing:
        return [f"the open navigation does not show links to {missing}"]
    if navigate_to:
        link = drawer.locator(f"a[href$='{navigate_to.rsplit('/', 1)[-1]}.html']").first
        link.scroll_into_view_if_needed()
        with page.expect_navigation():
            link.tap()
        if not urlparse(page.url).path.endswith(f"/{navigate_to}.html"):
            return [f"the menu link to {navigate_to} opened {page.url}"]
    return []


def test_phone_menu_reaches_every_page(phone_visits):
    """On every page the menu button opens the navigation, which reaches every page of the
    table of contents; from three pages (two depths) a tap on a link navigates."""
    problems = [f"{name}: {p}" for name, r in phone_visits.items() for p in r["menu"]]
    assert not problems, "the phone menu:\n" + "\n".join(problems)
    assert sum(r["navigated"] for r in phone_visits.values()) >= 3
