"""The browser view in a real browser: `cellsim viz` served, driven in headless Chromium.

Uses Debian's chromium (/usr/bin/chromium) through the playwright package; never a
browser download. Solara's page assets come from its CDN or, where only the npm registry
is reachable, from `cellsim.viz.assets` (npm pack into Solara's cache).
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = Path(
    os.environ.get("CELLSIM_SCREENSHOT", Path(tempfile.gettempdir()) / "cellsim_viz.png")
)
"""Where the screenshot goes: a temporary file, or docs/img/viz.png to refresh the README's
(``CELLSIM_SCREENSHOT=docs/img/viz.png pytest tests/test_viz_browser.py``)."""
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
            time.sleep(0.5)
    raise TimeoutError(f"no answer from {url} within {timeout_s:.0f} s")


@pytest.fixture
def server(tmp_path):
    """`cellsim viz <scenario>` on a free localhost port; yields the URL."""
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("solara", reason="Solara is not installed (pip install 'cellsim[viz]')")
    from cellsim.viz import assets

    try:
        assets.ensure_assets(log=lambda msg: None)
    except RuntimeError as exc:  # the CDN may still be reachable: go on
        print(f"Solara assets not cached: {exc}")
    scenario = tmp_path / "viz_test.toml"
    scenario.write_text(SCENARIO)
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cellsim.cli", "viz", str(scenario), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(url, proc)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        text = (tmp_path / "server.log").read_text()
        assert "Traceback" not in text, text[-3000:]


def step_of(status_text: str) -> int:
    match = re.search(r"step (\d+)", status_text)
    assert match, status_text
    return int(match.group(1))


def test_step_and_play_update_the_page(server):
    """Step once, then play: the step counter and the charts change, no error shows, and
    a screenshot is saved (see SCREENSHOT)."""
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1050})
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(server, wait_until="domcontentloaded")
            status = page.locator(".cellsim-status")
            status.wait_for(timeout=45_000)
            assert step_of(status.inner_text()) == 0
            page.get_by_text("Time: 0.0").wait_for(timeout=10_000)
            series = page.locator(".cellsim-series")
            series.wait_for(timeout=10_000)
            chart_before = series.screenshot()

            page.get_by_role("button", name="Step").click()
            page.get_by_text("Time: 1.0").wait_for(timeout=15_000)  # Mesa's counter
            expect(status).to_contain_text(re.compile(r"step 1 \|"), timeout=15_000)

            # Render interval 1 -> 9 days per frame (the slider moves in steps of 2).
            render = page.locator(".v-input", has_text="Render Interval").get_by_role("slider")
            render.focus()
            for _ in range(4):
                render.press("ArrowRight")
            page.get_by_role("button", name="▶").click()
            deadline = time.monotonic() + 25
            while step_of(status.inner_text()) < 200 and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            page.get_by_role("button", name="❚❚").click()
            page.wait_for_timeout(500)
            steps = step_of(status.inner_text())
            assert steps >= 10, f"play advanced only to step {steps}"
            assert series.screenshot() != chart_before, "the time series did not change"

            body = page.inner_text("body")
            for bad in ("Traceback", "error in step", "Error:"):
                assert bad not in body, body[-2000:]
            assert not page_errors, page_errors

            png = page.screenshot(full_page=False)
        finally:
            browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOT, optimize=True)
    assert SCREENSHOT.stat().st_size < 300_000
