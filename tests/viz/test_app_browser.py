"""The teaching app in a real browser: serve it, step it, block IDO, rebuild.

Needs Debian's ``chromium`` and the ``playwright`` Python package (its own browser download does not
work offline).  Skipped when either is missing, unless ``BROWSER_TESTS_REQUIRED=1`` (CI), then failed.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def _missing(reason: str):
    if os.environ.get("BROWSER_TESTS_REQUIRED") == "1":
        pytest.fail(f"browser tests required (BROWSER_TESTS_REQUIRED=1) but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright Python package is not installed (pip install playwright)")
    path = shutil.which("chromium")
    if not path:
        _missing("Debian's chromium is not installed (apt-get install -y chromium)")
    try:
        import solara_assets  # noqa: F401
    except ImportError:
        _missing("solara-assets is not installed: the page would load its scripts from a CDN")
    return path


@pytest.fixture(scope="module")
def server(chromium):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env.pop("ABM_APP_CONFIG", None)
    code = f"import sys; from abm.viz.app import serve; sys.exit(serve(None, {port}, '127.0.0.1'))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace")
                pytest.fail(f"app server exited with {proc.returncode}:\n{out[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("app server did not answer within 90 s")
            time.sleep(0.5)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the group we started: serve() and its solara child
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def _day(page) -> float:
    text = page.locator("h3.abm-day").first.inner_text()
    return float(re.search(r"Day (-?[\d.]+)", text).group(1))


def _image_sources(page) -> list[str]:
    return page.locator("img").evaluate_all("els => els.map(e => e.src)")


def test_app_steps_and_rebuilds_with_ido_blocked(server, chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            external = []
            page.on("request", lambda r: external.append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "blob:", "data:")) else None)
            page.goto(server)
            page.locator("h3.abm-day").first.wait_for(timeout=60_000)
            assert _day(page) == 0.0
            page.wait_for_function("document.querySelectorAll('img').length >= 3", timeout=30_000)
            before = _image_sources(page)

            step = page.get_by_role("button", name="Step", exact=True)
            for i in range(1, 5):
                step.click()
                expect(page.locator("h3.abm-day").first).to_contain_text(f"Day {0.5 * i:.1f}", timeout=20_000)
            assert _day(page) == pytest.approx(2.0)
            expect(page.locator("ul.abm-now").first).to_be_visible()
            page.wait_for_timeout(500)
            after = _image_sources(page)
            assert sum(a != b for a, b in zip(before, after, strict=False)) >= 2, "tissue and plots did not redraw"
            page.screenshot(path=str(tmp_path / "stepped.png"), full_page=True)

            page.get_by_text("Block: IDO inhibitor").click()
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.locator(".abm-blockades").first).to_contain_text("IDO inhibitor blocked", timeout=30_000)
            expect(page.locator("h3.abm-day").first).to_contain_text("Day 0.0")
            expect(page.get_by_text("Blocked pathways: IDO inhibitor")).to_be_visible()
            step.click()
            expect(page.locator("h3.abm-day").first).to_contain_text("Day 0.5", timeout=20_000)
            page.screenshot(path=str(tmp_path / "ido_blocked.png"), full_page=True)
            assert (tmp_path / "ido_blocked.png").stat().st_size > 10_000
            assert not external, f"the page asked for non-local resources: {external[:5]}"
        finally:
            browser.close()
