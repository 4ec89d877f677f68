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
        # Streets (100+ segments), the boundary, settlements and risk zones are all vectors.
        assert len(paths) > 120
        assert (
            frame.query_selector(".leaflet-control-attribution").inner_text().count("OpenStreetMap")
        )
        assert frame.query_selector_all(".leaflet-tile") == []  # offline: no tiles at all
        page.screenshot(path=str(SCREENSHOTS / "map_pata_rat_ro.png"), full_page=True)
        assert page.blocked_requests == []  # nothing tried to reach the internet
