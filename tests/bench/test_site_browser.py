"""The published site in a real browser: Debian's headless Chromium, driven by Playwright.

Serves the site the nightly story published on 127.0.0.1 and checks what a
person would: the benchmark list, a graph of the diagonal benchmark with k on
the x-axis, the regressions page, the scaling page with its table and images,
and no console errors. Screenshots go to ``$MLUPDATE_SCREENSHOTS`` (default: a
temporary folder) and their paths are printed for the CI log.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def served(nightly_story):
    handler = functools.partial(_QuietHandler, directory=str(nightly_story.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:  # in CI a missing browser is a failure, not a skip
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path_factory):
    """A page that records console errors and failed requests."""
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    pg.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    pg.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
    pg.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    pg.problems = problems
    yield pg
    pg.close()


def _shot(page, name: str, tmp_path_factory) -> Path:
    folder = Path(os.environ.get("MLUPDATE_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")
    return path


def _assert_images_load(page) -> None:
    """The page has images, and every one of them loaded (scrolled into view: some load lazily)."""
    images = page.locator("img")
    assert images.count() >= 1
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        assert img.evaluate("el => el.complete && el.naturalWidth > 0"), img.get_attribute("src")


def test_front_page_lists_the_benchmarks(served, page, tmp_path_factory):
    page.goto(f"{served}/")
    page.wait_for_selector("#summarygrid-display .benchmark-container", timeout=20_000)
    assert "QuadraticDiagonal.time_update" in page.inner_text("#summarygrid-display")
    _shot(page, "front-page-grid", tmp_path_factory)
    page.click("#nav-li-summarylist a")
    page.wait_for_selector("#summarylist-body table tr", timeout=20_000)
    body = page.inner_text("#summarylist-body")
    assert "QuadraticDiagonal" in body
    nav = page.inner_text("#nav")
    for entry in ("Benchmark list", "Regressions", "Scaling"):
        assert entry in nav
    _shot(page, "front-page-list", tmp_path_factory)
    assert page.problems == []


def test_diagonal_graph_has_k_on_the_x_axis(served, page, tmp_path_factory):
    page.goto(f"{served}/#growth.QuadraticDiagonal.time_update?x-axis=k")
    page.wait_for_selector("#main-graph canvas.flot-base", timeout=20_000)
    # flot draws the axis label on the canvas: ask the plot what it drew
    label, xs = page.evaluate(
        "() => { const p = $('#main-graph').data('plot');"
        " return [p.getAxes().xaxis.options.axisLabel, p.getData().map(s => s.data.map(d => d[0]))]; }"
    )
    assert label == "k"
    assert xs and all(x == [1, 2, 4, 8, 16, 32] for x in xs), xs
    ticks = page.locator("#main-graph .flot-x-axis .flot-tick-label").all_inner_texts()
    assert ticks and max(float(t) for t in ticks) >= 30, ticks  # a k axis, not commit dates
    _shot(page, "diagonal-k", tmp_path_factory)
    assert page.problems == []


def test_regressions_page_renders(served, page, tmp_path_factory):
    page.goto(f"{served}/#/regressions")
    page.wait_for_selector("#regressions-display", state="visible", timeout=20_000)
    # the table is filled after the display shows (its data loads asynchronously)
    page.wait_for_function(
        "() => document.querySelector('#regressions-display').innerText.includes('Factor')", timeout=20_000
    )
    assert "Factor" in page.inner_text("#regressions-display")
    _shot(page, "regressions", tmp_path_factory)
    assert page.problems == []


def test_scaling_page_shows_its_table_and_images(served, page, tmp_path_factory):
    page.goto(f"{served}/")
    page.wait_for_load_state("networkidle")  # the front page's graphs, before leaving it (else they are aborted)
    page.click("#nav-li-scaling a")
    page.wait_for_url("**/scaling/index.html")
    page.wait_for_selector("table", timeout=20_000)
    assert "QuadraticDiagonal" in page.inner_text("table")
    _assert_images_load(page)
    _shot(page, "scaling", tmp_path_factory)
    assert page.problems == []


def test_steps_page_shows_each_commit_and_the_chained_plot(served, page, nightly_story, tmp_path_factory):
    page.goto(f"{served}/")
    page.wait_for_load_state("networkidle")
    page.click("#nav-li-steps a")
    page.wait_for_url("**/steps/index.html")
    text = page.inner_text("body")
    assert "Machine e2e" in text
    for commit in nightly_story.commits[1:]:  # every commit after the first has its step
        assert page.locator(f"#c-{commit[:8]}").count() == 1, commit
    assert page.locator(f"#c-{nightly_story.commits[0][:8]}").inner_text().endswith("(a plain run)")
    _assert_images_load(page)
    _shot(page, "steps", tmp_path_factory)
    assert page.problems == []
