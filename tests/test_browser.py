"""The book as a reader sees it: headless Chromium on the built site, served from localhost.

Every page of the table of contents loads (HTTP 200, no console error), math is
typeset by the local MathJax, images load, internal links and anchors resolve,
search works, the widget demo shows its saved state, and no page requests a host
other than localhost. A screenshot of each page's first screen is written to
``_build/screenshots/`` for review (regenerate with
``make test PYTEST_ARGS="tests/test_browser.py"``).

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright``
package; ``playwright install`` cannot download browsers here, so Chromium is
launched from ``/usr/bin/chromium``.
"""
from __future__ import annotations

import functools
import http.server
import re
import shutil
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
def visits(site, browser, root):
    """Load every toc page once; record status, console errors, requests, DOM facts."""
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
        page.on("console", lambda msg, record=record: msg.type == "error" and record["console"].append(msg.text))
        page.on("pageerror", lambda err, record=record: record["console"].append(str(err)))
        page.on("requestfailed", lambda req, record=record: record["failed"].append(req.url))
        page.on("response", lambda resp, record=record: resp.status >= 400 and record["failed"].append(f"{resp.status} {resp.url}"))
        response = page.goto(f"{base}/{page_name}.html", wait_until="load")
        record["status"] = response.status if response else None
        page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=20_000)
        page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
        page.wait_for_timeout(300)
        record["math"] = page.evaluate("() => document.querySelectorAll('mjx-container').length")
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
