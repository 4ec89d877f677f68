"""The Mobile Unit page in real Chromium (issue 13): a planner plans the demo day; the routes
are drawn on the map along the streets; the public sees nothing of the stops.

Saves ``docs/screenshots/mobile_unit_<lang>_<desktop|tablet>.png``."""

from __future__ import annotations

import contextlib
import time

import pytest

from geo.i18n import t
from geo.settings import PROJECT_ROOT
from tests.browser import browser_page, running_app, wait_idle
from tests.conftest import open_page, sign_in_browser
from tests.test_workshop_browser import LANGUAGE_NAMES, pick

pytestmark = pytest.mark.browser

DOCS = PROJECT_ROOT / "docs" / "screenshots"
ROUTE_COLOURS = ("#0072B2", "#D55E00")


def _route_frame(page, timeout_s: float = 120):
    """The map frame whose Leaflet paths are the vans' routes (stroke colours of the vans)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(Exception):
                strokes = frame.eval_on_selector_all(
                    "path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('stroke'))"
                )
                if any(s in ROUTE_COLOURS for s in strokes):
                    return frame, strokes
        time.sleep(0.5)
    raise TimeoutError("no route drawn")


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_planner_plans_the_demo_day_in_the_browser(loaded_db_url, users, lang):
    DOCS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base:
        for name, viewport in (("desktop", (1400, 900)), ("tablet", (800, 1280))):
            with browser_page(viewport) as page:
                sign_in_browser(page, base, "planner")
                if lang != "ro":
                    pick(page, "Limba · Nyelv", LANGUAGE_NAMES[lang], exact=False)
                    wait_idle(page)
                open_page(page, "mobile-unit")
                page.get_by_text(t("mobile.page.title", lang), exact=True).first.wait_for()
                wait_idle(page)
                page.get_by_role("button", name=t("mobile.page.solve", lang)).click()
                page.get_by_text(t("mobile.page.exports", lang), exact=True).first.wait_for(
                    timeout=180000
                )
                wait_idle(page)
                frame, strokes = _route_frame(page)
                assert {s for s in strokes if s in ROUTE_COLOURS} == set(ROUTE_COLOURS)
                # Numbered stops on the route map, and the itinerary below it.
                assert frame.locator(".leaflet-marker-icon").count() >= 10
                page.get_by_text(t("mobile.page.sheet", lang)).first.wait_for(timeout=120000)
                wait_idle(page)
                assert not page.blocked_requests
                # Streamlit scrolls inside its own container: bring the plan's heading to the top
                # so the picture shows the figures and the route map.
                heading = t("mobile.page.result", lang, run="")[:-2].split("(")[0].strip()
                page.get_by_role("heading", name=heading).first.evaluate(
                    "h => h.scrollIntoView({block: 'start'})"
                )
                page.wait_for_timeout(2000)  # let the tiles settle before the picture
                page.screenshot(path=str(DOCS / f"mobile_unit_{lang}_{name}.png"))


def test_public_sees_nothing_of_the_stops_in_the_browser(loaded_db_url):
    with running_app(loaded_db_url) as base, browser_page() as page:
        page.goto(f"{base}/mobile-unit")
        page.get_by_text(t("mobile.page.not_for_role", "ro")).first.wait_for(timeout=90000)
        wait_idle(page)
        content = page.content()
        assert "home-01" not in content and "school-darjan" not in content
        assert page.locator("iframe").count() == 0


def test_planner_places_a_stop_on_the_map(loaded_db_url, users):
    """A click on the map, the form, and the stop is in the table (one more marker)."""
    with running_app(loaded_db_url) as base, browser_page() as page:
        sign_in_browser(page, base, "planner")
        open_page(page, "mobile-unit")
        page.get_by_text(t("mobile.page.title", "ro"), exact=True).first.wait_for()
        wait_idle(page)
        page.get_by_text(t("mobile.page.place", "ro"), exact=True).first.click()
        frame = _place_frame(page)
        before = frame.locator("path.leaflet-interactive").count()
        assert before == 22  # the demo's stops (the depot is a marker, not a path)
        frame.locator(".leaflet-container").first.click(position={"x": 200, "y": 420})
        page.get_by_text(t("mobile.page.add_stop", "ro"), exact=True).first.wait_for(timeout=60000)
        page.get_by_label("stop_id", exact=True).fill("placed-1")
        page.get_by_label("passengers", exact=True).fill("1")
        page.get_by_label("deliver_to", exact=True).fill("school-darjan")
        page.get_by_role("button", name=t("mobile.page.add_stop", "ro")).click()
        wait_idle(page)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if _place_frame(page, 5).locator("path.leaflet-interactive").count() == before + 1:
                    break
            time.sleep(0.5)
        assert _place_frame(page, 5).locator("path.leaflet-interactive").count() == before + 1


def _place_frame(page, timeout_s: float = 90):
    """The frame of the map of stops (its paths are the stops' circles)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(Exception):
                if frame.query_selector("path.leaflet-interactive"):
                    return frame
        time.sleep(0.5)
    raise TimeoutError("no map of stops")
