"""The Housing sites page in the real app, in Chromium (issue 14).

A planner sees the demo candidates ranked, the map, the excluded parcel with its reason, and the
downloads; the community role sees the community view with its own weights beside the planners'.
Screenshots (desktop 1400x900 and tablet 800x1280, ro and hu) go to ``docs/screenshots/housing_*``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.i18n import t
from tests.browser import browser_page, map_frame, running_app, wait_idle
from tests.conftest import open_page, sign_in_browser

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SIZES = {"desktop": (1400, 900), "tablet": (800, 1280)}


def _open_housing(page, base: str, role: str, lang: str) -> None:
    from tests.test_workshop_browser import LANGUAGE_NAMES, pick

    sign_in_browser(page, base, role, "ro")
    open_page(page, "housing")
    if lang != "ro":
        pick(page, "Limba · Nyelv", LANGUAGE_NAMES[lang], exact=False)
    page.get_by_text(t("sites.page.title", lang), exact=True).first.wait_for(timeout=60000)
    # The criteria are computed on the city's street network on first use.
    page.get_by_text(t("sites.page.ranked", lang), exact=True).first.wait_for(timeout=240000)
    wait_idle(page, 120000)
    map_frame(page, timeout_ms=120000)
    page.wait_for_timeout(1500)


def _wait_fresh(page, timeout_s: float = 120.0) -> None:
    """Wait until no element is marked stale (every queued rerun of the page has ended)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        wait_idle(page, 60000)
        if page.locator('[data-stale="true"]').count() == 0:
            page.wait_for_timeout(1000)
            if page.locator('[data-stale="true"]').count() == 0:
                return
        page.wait_for_timeout(500)
    raise TimeoutError("the page kept rerunning")


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_planner_sees_the_ranking_map_and_exclusion(loaded_db_url, users, lang):
    DOCS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base:
        for size, viewport in SIZES.items():
            with browser_page(viewport=viewport) as page:
                _open_housing(page, base, "planner", lang)
                main = page.locator('[data-testid="stMain"]')
                main.get_by_text(t("sites.page.view_planner", lang), exact=True).first.wait_for()
                table = page.locator('[data-testid="stDataFrame"]').first
                table.wait_for()
                # The landfill-side demo parcel is excluded, and the map draws every parcel.
                frame = map_frame(page)
                assert len(frame.query_selector_all("path.leaflet-interactive")) >= 8
                main.get_by_text(t("sites.page.report", lang), exact=True).first.wait_for()
                _wait_fresh(page)
                page.locator("h1").first.scroll_into_view_if_needed()
                page.screenshot(path=str(DOCS / f"housing_{lang}_{size}.png"), full_page=False)


def test_community_sets_its_own_weights_beside_the_planners(loaded_db_url, users):
    with running_app(loaded_db_url) as base, browser_page(viewport=SIZES["desktop"]) as page:
        _open_housing(page, base, "community", "ro")
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text(t("sites.page.view_community", "ro"), exact=True).first.wait_for()
        main.get_by_text(t("sites.page.community_weights", "ro"), exact=False).first.wait_for()
        # With the planners' weights unchanged, both sets agree.
        main.get_by_text(t("sites.page.agree", "ro"), exact=True).first.wait_for(timeout=60000)
        # The community cares most about distance from the settlements: move that slider up.
        label = t("sites.page.view_community", "ro")
        code = "settlement_network_m"
        from geo.planning.sites.criteria import load_criteria

        name = load_criteria().get(code).label("ro")
        box = main.locator('[data-testid="stSlider"]').filter(has_text=name)
        thumb = box.get_by_role("slider")
        thumb.focus()
        for _ in range(40):
            thumb.press("ArrowRight")
        wait_idle(page, 120000)
        page.wait_for_timeout(1500)
        assert box.locator('[data-testid="stSliderThumbValue"]').inner_text() == "50"
        assert label
        # Both weight sets side by side: the weights table and the two rankings.
        heading = main.get_by_text(t("sites.page.compare", "ro"), exact=True).first
        heading.wait_for()
        assert main.get_by_text(t("sites.page.community_weights", "ro"), exact=True).count() >= 1
        assert page.locator('[data-testid="stDataFrame"]').count() >= 3
        # The community cannot store a run (planners only).
        assert main.get_by_text(t("sites.page.store", "ro"), exact=True).count() == 0
        _wait_fresh(page)
        page.locator('[data-testid="stDataFrame"]').nth(2).scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(DOCS / "housing_community_ro_desktop.png"))
