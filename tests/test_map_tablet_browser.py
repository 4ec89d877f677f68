"""Every map page folds Streamlit's sidebar on a portrait tablet (issue 11 item 4).

Before, only the workshop's drawing map did (``geo.maps.draw.FoldSidebar``); on the Map page at
800x1280 the sidebar stayed open and squeezed the map.  Now :func:`geo.maps.base.base_map` adds
the fold to every map, up to a portrait tablet's 1024 px (a landscape 1280 px tablet and a
desktop keep the sidebar on viewing pages; the workshop keeps its 1280 px), once per browser
tab.  Sizes are measured in real Chromium; the screenshots are looked at.
"""

from __future__ import annotations

import re

import pytest

from geo.communities.model import Community
from geo.maps import base_map
from geo.maps.base import FOLD_SIDEBAR_PX
from geo.maps.draw import add_draw
from tests.browser import ROOT, SCREENSHOTS, browser_page, map_frame, running_app, wait_idle
from tests.conftest import open_page

DOCS = ROOT / "docs" / "screenshots"
TABLET = (800, 1280)
LANDSCAPE = (1280, 800)
DESKTOP = (1400, 900)
_FOLD = re.compile(r"__hartaSidebarFolded.*?\}\)\((\d+)\);", re.S)


def _fold_widths(m) -> list[int]:  # noqa: ANN001
    """The widths of every fold script in the map's page, as the browser gets it."""
    return [int(w) for w in _FOLD.findall(m.get_root().render())]


@pytest.mark.db
def test_every_map_folds_at_a_portrait_tablet_and_the_drawing_map_at_1280(loaded_engine):
    community = Community.load(loaded_engine, "pata-rat")
    m = base_map(community, online=False)
    assert _fold_widths(m) == [FOLD_SIDEBAR_PX] == [1024]
    add_draw(m)  # widened, never a second script
    assert _fold_widths(m) == [1280]
    assert _fold_widths(base_map(community, online=False, fold_sidebar_px=None)) == []


def _sidebar_open(page) -> bool:  # noqa: ANN001
    sidebar = page.locator('[data-testid="stSidebar"]').first
    return sidebar.get_attribute("data-collapsed") == "false"


def _settled(page, want_open: bool) -> bool:  # noqa: ANN001
    """Whether the sidebar reaches the wanted state (polling while the map frame loads)."""
    for _ in range(40):
        if _sidebar_open(page) == want_open:
            page.wait_for_timeout(1000)  # the fold's animation, then Leaflet's resize
            return _sidebar_open(page) == want_open
        page.wait_for_timeout(250)
    return False


def _map_iframe(page):  # noqa: ANN001
    frame = map_frame(page)
    wait_idle(page)
    return map_frame(page).frame_element() if frame.is_detached() else frame.frame_element()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_map_page_on_a_portrait_tablet_folds_the_sidebar_once(loaded_db_url, lang):
    DOCS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base, browser_page(TABLET) as page:
        page.goto(f"{base}/map?lang={lang}")
        iframe = _map_iframe(page)
        assert _settled(page, want_open=False), "the sidebar stayed open on a portrait tablet"
        box = iframe.bounding_box()
        assert box["width"] >= 0.9 * TABLET[0], box
        page.screenshot(path=str(DOCS / f"map_public_{lang}_tablet.png"))
        # Once per tab: a person who opens the sidebar again keeps it open on the next map.
        page.locator('[data-testid="stExpandSidebarButton"]').first.click()
        assert _settled(page, want_open=True)
        open_page(page, "hotspots")
        map_frame(page)
        wait_idle(page)
        page.wait_for_timeout(1500)
        assert _sidebar_open(page), "the sidebar folded a second time in the same tab"
        assert not page.blocked_requests, page.blocked_requests


@pytest.mark.browser
@pytest.mark.parametrize("size", [DESKTOP, LANDSCAPE], ids=["desktop", "landscape"])
def test_map_page_on_a_desktop_or_landscape_tablet_keeps_the_sidebar(loaded_db_url, size):
    with running_app(loaded_db_url) as base, browser_page(size) as page:
        page.goto(f"{base}/map?lang=ro")
        _map_iframe(page)
        page.wait_for_timeout(2000)  # time enough for a fold to have happened
        assert _sidebar_open(page)


#: The other viewing pages with a map, as the planner opens them: (menu path, a role).
OTHER_MAP_PAGES = [("hotspots", "public"), ("response", "planner"), ("mobile-unit", "planner")]


@pytest.mark.browser
@pytest.mark.parametrize(("path", "role"), OTHER_MAP_PAGES)
def test_other_map_pages_fold_the_sidebar_on_a_portrait_tablet(loaded_db_url, users, path, role):
    from tests.conftest import sign_in_browser

    with running_app(loaded_db_url) as base, browser_page(TABLET) as page:
        if role == "public":
            page.goto(f"{base}/{path}?lang=ro")
        else:
            sign_in_browser(page, base, role)
            open_page(page, path)
        page.wait_for_selector("iframe", state="attached", timeout=120000)
        assert _settled(page, want_open=False), f"the sidebar stayed open on {path}"
        page.screenshot(path=str(SCREENSHOTS / f"fold_{path}_ro_tablet.png"))
