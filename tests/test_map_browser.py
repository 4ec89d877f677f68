"""The Map page in the real app, in headless Chromium, with no internet."""

from __future__ import annotations

import pytest

from tests.browser import SCREENSHOTS, browser_page, map_frame, running_app

pytestmark = pytest.mark.browser


def test_map_page_draws_pata_rat_streets_and_layers_offline(loaded_db_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base, browser_page() as page:
        page.goto(f"{base}/map")
        frame = map_frame(page)
        frame.wait_for_timeout(1500)
        paths = frame.query_selector_all("path.leaflet-interactive")
        # The boundary, settlements and risk zones are vectors; the streets are basemap tiles.
        assert len(paths) > 3
        assert (
            frame.query_selector(".leaflet-control-attribution").inner_text().count("OpenStreetMap")
        )
        # Offline the tiles are Harta's own basemap, served by the app (issue 11 item 2).
        srcs = frame.eval_on_selector_all(".leaflet-tile", "els => els.map(e => e.src)")
        assert srcs and all(s.startswith(f"{base}/harta-tiles/") for s in srcs)
        page.screenshot(path=str(SCREENSHOTS / "map_pata_rat_ro.png"), full_page=True)
        assert page.blocked_requests == []  # nothing tried to reach the internet
