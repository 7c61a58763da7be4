"""The browser view in a real browser: `cellsim viz` served, driven in headless Chromium.

Uses Debian's chromium (/usr/bin/chromium) through the playwright package; never a
browser download. Solara's page assets come from its CDN or, where only the npm registry
is reachable, from `cellsim.viz.assets` (npm pack into Solara's cache).

Two servers: `cellsim viz` of a small lattice scenario, whose page shows the lattice view
and, once the scenario picker chooses the built-in ``body``, the body view of the flagship
body at its default size (its speed in model days per second is measured and printed,
never asserted); and `cellsim viz` of a folder holding a finished run and a sweep (made
here, in seconds), whose page shows their results views. The body and results tests
write docs/img/viz_body.png and docs/img/viz_results.png (the README's screenshots;
``CELLSIM_SCREENSHOT_DIR`` sends them elsewhere).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = Path(os.environ.get("CELLSIM_SCREENSHOT_DIR", ROOT / "docs" / "img"))
LATTICE_SCREENSHOT = Path(
    os.environ.get("CELLSIM_SCREENSHOT", Path(tempfile.gettempdir()) / "cellsim_viz.png")
)
"""The lattice view's screenshot: a temporary file, or docs/img/viz.png to refresh the
README's (``CELLSIM_SCREENSHOT=docs/img/viz.png pytest tests/test_viz_browser.py``)."""
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
BAD_TEXT = ("Traceback", "error in step", "error in reset", "Error:")
# Fast dynamics, so that a few seconds of play show senescent patches.
SCENARIO = """
name = "viz_test"
[[base.tissues]]
name = "skin"
lifespan_days = 10.0
[base.tissues.lattice]
width = 100
height = 100
bystander_per_day = 0.01
[base.tissues.stress]
rate_per_day = 3e-4
[base.tissues.clearance]
rate_per_day = 0.02
[[arms]]
name = "fast"
"""
# A tiny finished run (two arms) and a tiny sweep (2 x 2 points), made by the commands.
TINY = """
seed = 5
[base.run]
horizon_days = 3000.0
record_interval_days = 30.0
stop_at = "all_events"
[[base.tissues]]
name = "tissue"
n_cells = 100
lifespan_days = 10.0
[base.tissues.telomere]
loss_mean_bp = 200.0
"""
TINY_RUN = f"""name = "tiny_run"
replicates = 3
control = "control"
{TINY}
[[arms]]
name = "control"
[[arms]]
name = "senolytic"
interventions = [
  {{ kind = "senolytic", start_age_days = 30.0, interval_days = 30.0, efficacy_per_dose = 0.9 }},
]
"""
TINY_SWEEP = f"""name = "tiny_sweep"
replicates = 2
{TINY}
[[base.interventions]]
kind = "senolytic"
start_age_days = 30.0
interval_days = 30.0
efficacy_per_dose = 0.5
[parameters]
"interventions.0.interval_days" = [7, 60]
"interventions.0.efficacy_per_dose" = [0.0, 0.9]
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"no answer from {url} within {timeout_s:.0f} s")


def cellsim(*args: str, log: Path) -> subprocess.Popen:
    """``cellsim ARGS`` as a process of its own group, output into ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cellsim.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole below
            cwd=ROOT,
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Server:
    """`cellsim viz TARGET` on a free localhost port, started now, waited for in ``url``.
    Its log must hold no traceback (checked by ``stop``)."""

    def __init__(self, target: str, log: Path) -> None:
        self.log = log
        self.port = free_port()
        self.proc = cellsim("viz", target, "--port", str(self.port), log=log)

    @property
    def url(self) -> str:
        url = f"http://127.0.0.1:{self.port}/"
        wait_for_server(url, self.proc)
        return url

    def stop(self) -> None:
        stop(self.proc)
        text = self.log.read_text()
        assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Everything the tests serve, started at once so that the server starts up and the
    tiny results are made side by side: the live view's server (the lattice scenario;
    the body is picked on the page), a finished run and a finished sweep (by `cellsim
    run` and `cellsim sweep --no-report`, seconds) and then, once both are done and
    while the live view is tested, the results view of their parent folder."""
    root = tmp_path_factory.mktemp("viz")
    (root / "viz_test.toml").write_text(SCENARIO)
    results = root / "results"
    results.mkdir()
    (root / "run.toml").write_text(TINY_RUN)
    (root / "sweep.toml").write_text(TINY_SWEEP)
    makers = {
        "run": cellsim("run", str(root / "run.toml"), "--out", str(results / "tiny_run"),
                       "--workers", "1", log=root / "run.log"),
        "sweep": cellsim("sweep", str(root / "sweep.toml"), "--out",
                         str(results / "tiny_sweep"), "--workers", "1", "--no-report",
                         log=root / "sweep.log"),
    }  # fmt: skip
    servers = {"live": Server(str(root / "viz_test.toml"), root / "live.log")}

    def start_results() -> None:
        if all(proc.wait(timeout=120) == 0 for proc in makers.values()):
            servers["results"] = Server(str(results), root / "results.log")

    starter = threading.Thread(target=start_results, name="results-server", daemon=True)
    starter.start()  # while the live view is tested

    def results_server() -> Server:
        starter.join()
        for name, proc in makers.items():
            assert proc.returncode == 0, (root / f"{name}.log").read_text()[-2000:]
        return servers["results"]

    try:
        yield servers, results_server
    finally:
        for proc in makers.values():
            stop(proc)
        starter.join()
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module (and Solara's assets cached)."""
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("solara", reason="Solara is not installed (pip install 'cellsim[viz]')")
    from playwright.sync_api import sync_playwright

    from cellsim.viz import assets

    try:
        assets.ensure_assets(log=lambda msg: None)
    except RuntimeError as exc:  # the CDN may still be reachable: go on
        print(f"Solara assets not cached: {exc}")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


VIEWPORT = {"width": 1400, "height": 1000}


@contextlib.contextmanager
def page_of(browser, url: str):
    """A page at ``url`` that collects JavaScript errors; at the end, none may have
    happened, the page may show no error and nothing on it may be wider than the window
    (a wider page slides its main column under the sidebar when it scrolls)."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    try:
        yield page
        body = page.inner_text("body")
        for bad in BAD_TEXT:
            assert bad not in body, body[-2000:]
        assert not errors, errors
        assert_fits(page)
    finally:
        page.close()


def assert_fits(page) -> None:
    """The page is no wider than the window and the main column starts right of the
    sidebar."""
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the page is {width} px wide"
    sidebar = page.locator(".v-navigation-drawer").first.bounding_box()
    main = page.locator(".v-main .v-card").first.bounding_box()
    assert main["x"] >= sidebar["x"] + sidebar["width"], (sidebar, main)


def save_png(png: bytes, path: Path, colours: int = 128) -> None:
    """A screenshot, quantized to a small PNG."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)
    assert path.stat().st_size < 400_000


def step_of(text: str) -> int:
    match = re.search(r"step (\d+)", text)
    assert match, text
    return int(match.group(1))


def day_of(text: str) -> float:
    match = re.search(r"Day (\d+)", text)
    assert match, text
    return float(match.group(1))


def settled(status, quiet_ms: int = 400, timeout_s: float = 15.0) -> str:
    """The status text once it stops changing (a frame may still land after a pause)."""
    text, deadline = status.inner_text(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status.page.wait_for_timeout(quiet_ms)
        now = status.inner_text()
        if now == text:
            return text
        text = now
    raise AssertionError(f"the status still changes {timeout_s:.0f} s after a pause: {text}")


def slider(page, label: str):
    """The slider whose label starts with ``label``."""
    return page.locator(".v-input", has_text=label).get_by_role("slider")


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the select labelled ``label`` (and wait for its list to close)."""
    from playwright.sync_api import expect

    page.locator(".v-select", has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    expect(page.get_by_role("listbox")).to_have_count(0)


def src_of(page, selector: str) -> str:
    """The src of the ``<img>`` at ``selector`` (a new one each time its picture is replaced)."""
    return page.locator(selector).get_attribute("src") or ""


def wait_replaced(page, selector: str, before: str, timeout_s: float = 30.0) -> None:
    """Wait until the ``<img>`` at ``selector`` shows a new picture (its src changes)."""
    page.wait_for_function(
        "([selector, before]) => { const img = document.querySelector(selector);"
        " return img !== null && img.getAttribute('src') !== before; }",
        arg=[selector, before],
        timeout=timeout_s * 1000,
    )


def test_lattice_view_steps_and_plays(chromium, launched):
    """The lattice view: controls show their values, Reset says what it builds, Step and
    play advance the model and the charts change."""
    from playwright.sync_api import expect

    servers, _ = launched
    with page_of(chromium, servers["live"].url) as page:
        status = page.locator(".cellsim-status")
        status.wait_for(timeout=60_000)
        assert step_of(status.inner_text()) == 0
        expect(page.locator(".cellsim-reset")).to_contain_text("viz_test: fast from age 0")
        expect(page.get_by_text("Turnover: cell lifespan: 10 d")).to_be_visible()
        expect(page.locator(".cellsim-parameters")).to_contain_text("skin (somatic): 10000 cells")
        # a control changes the Reset text and its own label, not the running model
        life = slider(page, "Turnover: cell lifespan")
        life.focus()
        life.press("ArrowRight")
        expect(page.get_by_text("Turnover: cell lifespan: 15 d")).to_be_visible(timeout=15_000)
        expect(page.locator(".cellsim-reset")).to_contain_text("lifespan 15 d")
        series = page.locator(".cellsim-series")
        chart_before = series.screenshot()

        page.get_by_role("button", name="Step").click()
        expect(status).to_contain_text(re.compile(r"step 1 \|"), timeout=15_000)
        days = slider(page, "Days per frame")
        days.focus()
        days.press("End")
        expect(page.get_by_text("Days per frame (Step, play): 365 d")).to_be_visible(timeout=15_000)
        page.get_by_role("button", name="▶").click()
        deadline = time.monotonic() + 20
        while step_of(status.inner_text()) < 60 and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        page.get_by_role("button", name="❚❚").click()
        assert step_of(settled(status)) >= 10
        assert series.screenshot() != chart_before, "the time series did not change"
        page.get_by_role("button", name="Reset").click()
        expect(status).to_contain_text(re.compile(r"step 0 \|"), timeout=15_000)
        expect(page.locator(".cellsim-parameters")).to_contain_text("cell lifespan 15 d")
        save_png(page.screenshot(), LATTICE_SCREENSHOT)


def test_body_view_steps_plays_and_switches_interventions(chromium, launched):
    """The flagship body at its default size, picked on the page: a panel per tissue,
    Step and play move every panel, a senolytic and reprogramming switched on act on the
    running model; the page's speed (model days per second) is printed."""
    from playwright.sync_api import expect

    servers, _ = launched
    with page_of(chromium, servers["live"].url) as page:
        status = page.locator(".cellsim-status")
        status.wait_for(timeout=60_000)
        expect(page.locator(".cellsim-reset")).to_contain_text("viz_test: fast")
        pick(page, "Scenario", "body")
        tissues = page.locator(".cellsim-tissue")
        expect(tissues).to_have_count(12, timeout=60_000)
        expect(page.locator(".cellsim-reset")).to_contain_text("body: control from age 0")
        expect(page.locator(".cellsim-parameters")).to_contain_text("hepatocytes (somatic)")
        hepatocytes = tissues.filter(has_text="hepatocytes").locator(".cellsim-tissue-chart")
        chart_before = hepatocytes.screenshot()

        # play at the default frame (91 d): model days per second as the page shows them
        day0, t0 = day_of(status.inner_text()), time.monotonic()
        page.get_by_role("button", name="▶").click()
        page.wait_for_timeout(4000)
        # on a busy machine the first frame may take longer than that: wait for it
        deadline = time.monotonic() + 60.0
        while day_of(status.inner_text()) <= day0 and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        page.get_by_role("button", name="❚❚").click()
        t1 = time.monotonic()
        day1 = day_of(settled(status))
        print(
            f"\nbody view (12 tissues, 2430 cells, 91 d per frame): {day1 - day0:.0f} model "
            f"days in {t1 - t0:.1f} s = {(day1 - day0) / (t1 - t0):.0f} model days/s in the page"
        )
        assert day1 > day0
        assert hepatocytes.screenshot() != chart_before, "the hepatocytes' panel did not change"

        # a control: days per frame up to its end (53 steps of 7 d), shown on its label
        days = slider(page, "Days per frame")
        days.focus()
        days.press("End")
        expect(page.get_by_text("Days per frame (Step, play): 371 d")).to_be_visible(timeout=15_000)
        before = step_of(status.inner_text())
        page.get_by_role("button", name="Step").click()
        expect(status).to_contain_text(f"step {before + 53} |", timeout=15_000)

        # interventions act on the running model
        page.get_by_label("Systemic senolytic (every somatic tissue)").check()
        expect(page.locator(".cellsim-live")).to_contain_text("senolytic every 30 d, 50% per dose")
        pick(page, "Reprogramming", "full OSKM, yearly, 0.1% of cells (telomeres reset)")
        expect(page.locator(".cellsim-live")).to_contain_text("yearly full reprogramming")
        page.get_by_role("button", name="Step").click()
        page.get_by_role("button", name="Step").click()
        expect(page.locator(".cellsim-live")).to_contain_text(re.compile(r"senolytic [1-9]\d*x"))
        expect(page.locator(".cellsim-live")).to_contain_text(re.compile(r"reprogramming [1-9]"))
        page.get_by_role("button", name="▶").click()
        page.wait_for_timeout(3000)
        page.get_by_role("button", name="❚❚").click()
        status.scroll_into_view_if_needed()
        page.evaluate(  # the sidebar back to its top (picking a select scrolled it)
            "() => document.querySelectorAll('.v-navigation-drawer, .v-navigation-drawer *')"
            ".forEach((e) => { e.scrollTop = 0; })"
        )
        settled(status)
        save_png(page.screenshot(), SCREENSHOT_DIR / "viz_body.png")


def test_results_views_switch_selectors(chromium, launched):
    """A folder of results: a finished run's survival curves switch event, a sweep's
    figure switches parameter; both drawn from the stored tables."""
    from playwright.sync_api import expect

    _, results_server = launched
    with page_of(chromium, results_server().url) as page:
        survival = ".cellsim-survival-figure"
        figure = page.locator(survival)
        figure.wait_for(timeout=60_000)
        expect(page.locator(".cellsim-kind")).to_contain_text("run: tiny_run")
        # a median or CI bound the curves never reach is said so, not shown as NaN
        table = page.locator(".cellsim-table")
        expect(table).to_contain_text("not reached")
        expect(table).not_to_contain_text("NaN")
        before, src = figure.screenshot(), src_of(page, survival)
        pick(page, "Event", "failure")
        wait_replaced(page, survival, src)
        assert figure.screenshot() != before, "the survival figure did not change"
        assert_fits(page)
        save_png(page.screenshot(), SCREENSHOT_DIR / "viz_results.png")

        pick(page, "Result folder", "tiny_sweep")
        sweep = ".cellsim-heatmap-figure"
        heatmap = page.locator(sweep)
        heatmap.wait_for(timeout=30_000)
        expect(page.locator(".cellsim-kind")).to_contain_text("sweep: tiny_sweep")
        before, src = heatmap.screenshot(), src_of(page, sweep)
        pick(page, "Rows (y)", "(none: median against one parameter)")
        wait_replaced(page, sweep, src)
        assert heatmap.screenshot() != before, "the sweep figure did not change"
