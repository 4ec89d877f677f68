"""Running the real app under ``streamlit run`` and driving it with Debian's Chromium.

Never ``playwright install``: the browser is ``/usr/bin/chromium``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where browser tests write screenshots (not committed; the reviewed ones are in docs/screenshots).
SCREENSHOTS = ROOT / ".test-data" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(database_url: str, *, online: bool = False):
    """Serve the app on a free port against ``database_url``; yield its base URL."""
    from geo.cli import streamlit_command

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HARTA_ONLINE": "1" if online else "0"}
    cmd = streamlit_command(port, "127.0.0.1")
    log = open(ROOT / ".test-data" / f"streamlit-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def browser_page(viewport=(1400, 950)):
    """A Playwright page in headless Debian Chromium, with every non-local request blocked."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        blocked: list[str] = []

        def _route(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
                return route.continue_()
            blocked.append(url)
            return route.abort()

        page.context.route("**/*", _route)
        page.blocked_requests = blocked  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            browser.close()


def wait_idle(page, timeout_ms: int = 30000) -> None:
    """Wait until Streamlit has finished its rerun (no "running" status widget on the page).

    A click that reruns the script replaces the map iframe at the end of the rerun; drawing
    on the old one is lost, so browser tests wait for the rerun to end before touching a map.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    widget = page.locator('[data-testid="stStatusWidget"]')
    quiet_since = None
    while time.monotonic() < deadline:
        if widget.count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 0.75:
                return
        else:
            quiet_since = None
        time.sleep(0.25)


def map_frame(page, timeout_ms: int = 60000):
    """The st_folium iframe's frame, once Leaflet has drawn vector paths in it."""
    page.wait_for_selector("iframe", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(Exception):
                if frame.query_selector("path.leaflet-interactive"):
                    return frame
        time.sleep(0.25)
    raise TimeoutError("no Leaflet map with vector layers appeared")
