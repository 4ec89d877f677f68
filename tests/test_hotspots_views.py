"""The Hotspots page as people use it (issue 11 items 6 and 7), in Chromium: viewing stores no
run (a second view neither), saving stores one, the hot spots are listed by street and place,
a language change keeps the view, and the aggregated map of demo incidents says DEMO.

The reference for "stored" is the ``analysis_runs`` table itself.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.i18n import t
from tests.browser import SCREENSHOTS, browser_page, running_app
from tests.conftest import open_page, sign_in_browser
from tests.test_hotspots_browser import wait_for_maps
from tests.test_workshop_browser import LANGUAGE_LABEL, LANGUAGE_NAMES, pick
from tests.test_workshop_tablet import save_screenshot

pytestmark = pytest.mark.browser

TABLET = (800, 1280)
DESKTOP = (1400, 950)


def stored_runs(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM analysis_runs WHERE kind = 'hotspots'")
        ).scalar_one()


def main(page):
    return page.locator('[data-testid="stMain"]')


def open_view(page, key: str, lang: str) -> None:
    main(page).get_by_text(t(f"incidents.hotspots.tab.{key}", lang), exact=True).first.click()
    page.wait_for_timeout(1000)


def wait_text(page, needle: str, timeout_ms: int = 120000) -> None:
    main(page).get_by_text(needle, exact=False).first.wait_for(timeout=timeout_ms)


def test_views_store_nothing_until_saved_and_a_language_change_keeps_the_view(
    loaded_db_url, loaded_engine, users
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base, browser_page(DESKTOP) as page:
        sign_in_browser(page, base, "police")
        open_page(page, "hotspots")
        wait_text(page, t("analysis.places.header", "ro"))
        wait_for_maps(page)
        # The list by street and place names real streets of the bundled network.
        table_text = main(page).inner_text()
        assert t("analysis.places.col.street", "ro") in table_text
        assert "Strada" in table_text or "Calea" in table_text
        assert stored_runs(loaded_engine) == 0  # a view stores nothing
        save_screenshot(page, "hotspots_police_ro_desktop.png")
        main(page).get_by_text(t("analysis.places.header", "ro")).first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        save_screenshot(page, "hotspots_police_places_ro_desktop.png")

        # Trends, then Hungarian: the page stays on trends, the filters as they were.
        open_view(page, "trends", "ro")
        wait_text(page, t("incidents.hotspots.by_hour", "ro"))
        pick(page, LANGUAGE_LABEL, LANGUAGE_NAMES["hu"], exact=False)
        wait_text(page, t("incidents.hotspots.by_hour", "hu"))
        assert stored_runs(loaded_engine) == 0

        # Back to the map and save: one run; another visit stores nothing more.
        open_view(page, "map", "hu")
        wait_text(page, t("analysis.places.header", "hu"))
        main(page).get_by_role("button", name=t("analysis.store.button", "hu")).click()
        wait_text(page, t("analysis.store.stored", "hu", id=0).split("0")[0].strip())
        assert stored_runs(loaded_engine) == 1
        # The button goes once the run is stored (polled: the old one lingers while stale).
        live = page.locator('[data-testid="stElementContainer"]:not([data-stale="true"])')
        button = live.get_by_role("button", name=t("analysis.store.button", "hu"))
        for _ in range(40):
            if button.count() == 0:
                break
            page.wait_for_timeout(250)
        assert button.count() == 0
        open_page(page, "map")
        open_page(page, "hotspots")
        wait_text(page, t("analysis.places.header", "hu"))
        wait_for_maps(page)
        assert stored_runs(loaded_engine) == 1
        save_screenshot(page, "hotspots_police_hu_desktop.png")

        open_view(page, "runs", "hu")
        wait_text(page, t("analysis.runs.help", "hu")[:30])
        save_screenshot(page, "hotspots_runs_hu_desktop.png")
        assert stored_runs(loaded_engine) == 1
        assert not page.blocked_requests, page.blocked_requests


@pytest.mark.parametrize(
    ("lang", "size", "name"),
    [("ro", TABLET, "tablet"), ("hu", TABLET, "tablet"), ("hu", DESKTOP, "desktop")],
)
def test_the_aggregated_map_of_demo_incidents_says_demo(loaded_db_url, lang, size, name):
    """The public reads published counts only; the demo incidents among them are labelled."""
    with running_app(loaded_db_url) as base, browser_page(size) as page:
        page.goto(base)
        page.wait_for_selector("h1", timeout=90000)
        if lang != "ro":
            pick(page, LANGUAGE_LABEL, LANGUAGE_NAMES[lang], exact=False)
            page.wait_for_timeout(1000)
        open_page(page, "hotspots")
        wait_text(page, t("analysis.demo_inputs", lang)[:20])
        wait_for_maps(page)
        legends = [
            frame for frame in page.frames if frame.query_selector(".harta-legend") is not None
        ]
        assert legends, "no map legend"
        badges = sum(frame.locator(".harta-legend .harta-demo").count() for frame in legends)
        assert badges >= 1, "the aggregated map carries no DEMO badge"
        save_screenshot(page, f"hotspots_public_{lang}_{name}.png")
