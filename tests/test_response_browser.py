"""The Response network page in the real app, in Chromium.

A planner draws the responders and isochrones, runs coverage, evacuation routes and the safety
plan, and is offered their downloads; a public visitor's page (HTML of the page and of every map
frame) never holds a focal person's exact position -- only the published cell.  Screenshots:
``docs/screenshots/response_<view>_<lang>_<size>.png``.
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path

import pytest

from geo import crs as crs_
from geo.communities.model import Community
from geo.i18n import t
from geo.planning.response import responders
from tests.browser import browser_page, map_frame, running_app, wait_idle
from tests.conftest import PASSWORDS, open_page, username_for

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP, TABLET = (1400, 900), (800, 1280)
HOME = (23.689871, 46.775213)  # a focal person's house in Dallas (not a cell centre)


@pytest.fixture
def placed(loaded_engine):
    """An ambulance, a police post and a focal person's house, placed by the operator."""
    community = Community.load(loaded_engine, "pata-rat")
    responders.place_responder(loaded_engine, community, "ambulance", (23.6805, 46.7800))
    responders.place_responder(loaded_engine, community, "police", (23.6650, 46.7810))
    responders.place_responder(
        loaded_engine, community, "community_focal_point", HOME, name="Casa doamnei Maria"
    )
    return community


def _sign_in(page, base: str, role: str, lang: str) -> None:
    page.goto(f"{base}/account?lang={lang}")
    page.wait_for_selector("h1", timeout=90000)
    page.get_by_label(t("account.username", lang), exact=True).fill(username_for(role))
    page.get_by_label(t("account.password", lang), exact=True).fill(PASSWORDS[role])
    page.get_by_role("button", name=t("account.sign_in", lang), exact=True).click()
    page.get_by_text(t("account.sign_out", lang), exact=True).first.wait_for(timeout=60000)


def _view(page, key: str, lang: str) -> None:
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(t(f"response.page.view.{key}", lang), exact=True).first.click()
    wait_idle(page, 60000)


def _click(page, key: str, lang: str) -> None:
    """Press a run button and wait until the run has ended (its spinner gone, page idle)."""
    page.get_by_role("button", name=t(key, lang), exact=True).click()
    running = page.get_by_text(t("response.page.running", lang), exact=True)
    with contextlib.suppress(Exception):  # a quick run may end before the spinner is seen
        running.first.wait_for(timeout=5000)
    running.first.wait_for(state="hidden", timeout=300000)
    wait_idle(page, 300000)


def _download(page, file: str, lang: str):
    return page.get_by_role("button", name=t("response.page.download", lang, file=file))


def _shot(page, name: str, lang: str, size: str, *, at: str | None = None) -> None:
    """Screenshot, scrolled to the element ``at`` (a text) or to the map when there is one."""
    DOCS.mkdir(parents=True, exist_ok=True)
    target = page.get_by_text(at, exact=False).first if at else page.locator("iframe").first
    with contextlib.suppress(Exception):
        target.scroll_into_view_if_needed(timeout=5000)
    page.wait_for_timeout(2000)  # Leaflet finishes drawing
    page.screenshot(path=str(DOCS / f"response_{name}_{lang}_{size}.png"), full_page=True)


def _everything(page) -> str:
    parts = [page.content()]
    for frame in page.frames:
        try:
            parts.append(frame.content())
        except Exception:  # noqa: BLE001 - a frame navigating away has no content
            continue
    return "\n".join(parts)


def _planner_tour(base: str, lang: str, version: int) -> None:
    with browser_page(DESKTOP) as page:
        _sign_in(page, base, "planner", lang)
        open_page(page, "response")
        page.get_by_text(t("response.page.title", lang), exact=True).first.wait_for()
        map_frame(page, 180000)  # responders and their isochrones
        _shot(page, "network", lang, "desktop")

        _view(page, "coverage", lang)
        _click(page, "response.page.run_coverage", lang)
        _download(page, "GPKG", lang).first.wait_for(timeout=120000)
        _download(page, "CSV", lang).first.wait_for()
        map_frame(page, 120000)
        _shot(page, "coverage", lang, "desktop", at=t("response.coverage.col.settlement", lang))

        _view(page, "evacuation", lang)
        _click(page, "response.page.run_evacuation", lang)
        _download(page, "GPKG", lang).first.wait_for(timeout=180000)
        map_frame(page, 120000)
        _shot(page, "evacuation", lang, "desktop")

        _view(page, "plan", lang)
        _click(page, "response.page.run_plan", lang)
        done = t("response.page.plan.done", lang, version=version, run="§").split("(")[0].strip()
        page.get_by_text(done, exact=False).first.wait_for(timeout=60000)
        _download(page, "PDF", lang).first.wait_for(timeout=180000)
        _download(page, "HTML", lang).first.wait_for()
        with page.expect_download() as caught:
            _download(page, "PDF", lang).first.click()
        assert caught.value.suggested_filename.endswith(f"-{lang}.pdf")
        _shot(page, "plan", lang, "desktop", at=done)
        assert not page.blocked_requests
    with browser_page(TABLET) as page:
        _sign_in(page, base, "planner", lang)
        open_page(page, "response")
        map_frame(page, 180000)
        _shot(page, "network", lang, "tablet")
        _view(page, "evacuation", lang)
        map_frame(page, 120000)  # the stored run of the desktop tour
        _shot(page, "evacuation", lang, "tablet")


def test_planner_draws_runs_and_downloads(loaded_db_url, users, placed):
    with running_app(loaded_db_url) as base:
        _planner_tour(base, "ro", 1)
        _planner_tour(base, "hu", 2)


def _cell_centre(lon: float, lat: float) -> tuple[float, float]:
    """Independent reference: the centre of the published 250 m cell (UTM 34N)."""
    forward = crs_.transformer(crs_.STORAGE, crs_.to_crs(32634))
    back = crs_.transformer(crs_.to_crs(32634), crs_.STORAGE)
    x, y = forward.transform(lon, lat)
    cx, cy = math.floor(x / 250) * 250 + 125, math.floor(y / 250) * 250 + 125
    return back.transform(cx, cy)


def test_public_visitor_never_receives_the_focal_persons_house(loaded_db_url, placed):
    with running_app(loaded_db_url) as base, browser_page(DESKTOP) as page:
        page.goto(f"{base}/response?lang=hu")
        page.get_by_text(t("response.page.title", "hu"), exact=True).first.wait_for(timeout=90000)
        map_frame(page, 180000)
        page.wait_for_timeout(2000)
        sent = _everything(page)
        # The responders are drawn (the ambulance), the home only as its cell ...
        assert t("response.page.layer.homes", "hu") in sent
        # ... and no (lon, lat) pair of the house's position, at any rounding a map would use.
        for digits in (4, 5, 6):
            lon, lat = (re.escape(f"{v:.{digits}f}") for v in HOME)
            assert not re.search(rf"{lon}\d*,\s*{lat}", sent), digits
        # The cell's centre is what the database publishes instead (independent reference).
        centre = _cell_centre(*HOME)
        assert math.dist(centre, HOME) > 0.0002
        assert "Maria" not in sent
        # No run buttons for the public: it reads what planners stored.
        assert page.get_by_role("button", name=t("response.page.run_coverage", "hu")).count() == 0
        _shot(page, "public_network", "hu", "desktop")
