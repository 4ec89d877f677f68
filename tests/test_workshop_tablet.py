"""The workshop page on a tablet, driven in Chromium: the drawing map takes the screen, the
controls fit a finger, a mark drawn outside the area is flagged before the picker, and
Leaflet.draw speaks the page's language (issue 11 items 4, 5 and 9).

Sizes are measured with bounding boxes in the real browser; the screenshots are looked at.
"""

from __future__ import annotations

import contextlib
import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import text

from geo.i18n import t
from tests.browser import ROOT, SCREENSHOTS, browser_page, map_frame, running_app, wait_idle
from tests.conftest import open_page, sign_in_browser
from tests.test_workshop_browser import (
    LANGUAGE_LABEL,
    LANGUAGE_NAMES,
    _seed,
    draw_polygon,
    pick,
)

pytestmark = pytest.mark.browser

TABLET = (800, 1280)
LANDSCAPE = (1280, 800)
DESKTOP = (1400, 900)
DOCS = ROOT / "docs" / "screenshots"
TOUCH_PX = 48


def open_workshop(page, base: str, lang: str) -> None:
    """Sign in as the mediator, choose the language (sidebar of the account page), open the
    workshop page through the menu."""
    sign_in_browser(page, base, "mediator")
    if lang != "ro":
        pick(page, LANGUAGE_LABEL, LANGUAGE_NAMES[lang], exact=False)
        page.wait_for_timeout(1000)
        wait_idle(page)
    open_page(page, "workshop")
    page.get_by_text(t("workshop.title", lang), exact=False).first.wait_for(timeout=60000)


def drawing_map(page):
    """The drawing map's iframe (on the page) and its frame, once Leaflet.draw is there."""
    frame = map_frame(page)
    frame.locator(".leaflet-draw-draw-polygon").wait_for(timeout=60000)
    wait_idle(page)
    frame = map_frame(page)
    return frame.frame_element(), frame


def save_screenshot(page, name: str, *, full_page: bool = False) -> None:
    """Save a screenshot for review (.test-data) and copy it to docs/screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS / name)


def sidebar_open(page) -> bool:
    sidebar = page.locator('[data-testid="stSidebar"]').first
    return sidebar.get_attribute("data-collapsed") == "false"


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_tablet_portrait_gives_the_map_the_screen(loaded_db_url, loaded_engine, users, lang):
    _seed(loaded_engine, lang)
    with running_app(loaded_db_url) as base, browser_page(viewport=TABLET) as page:
        open_workshop(page, base, lang)
        iframe, frame = drawing_map(page)
        # The sidebar folded itself away on the narrow screen.
        for _ in range(20):
            if not sidebar_open(page):
                break
            page.wait_for_timeout(250)
        assert not sidebar_open(page)
        page.wait_for_timeout(1000)  # the sidebar's fold animation, then Leaflet's resize
        page.screenshot(path=str(SCREENSHOTS / "debug_tablet.png"))
        box = iframe.bounding_box()
        assert box["width"] >= 0.7 * TABLET[0], box
        assert box["height"] >= 0.45 * TABLET[1], box
        # Draw, edit and zoom controls fit a finger.
        for selector in (
            ".leaflet-draw-draw-polygon",
            ".leaflet-draw-draw-polyline",
            ".leaflet-draw-draw-marker",
            ".leaflet-draw-edit-edit",
            ".leaflet-draw-edit-remove",
            ".leaflet-control-zoom-in",
        ):
            control = frame.locator(selector).first.bounding_box()
            assert control["width"] >= TOUCH_PX - 0.5, (selector, control)
            assert control["height"] >= TOUCH_PX - 0.5, (selector, control)
        # Undo: whole, on screen, at least a finger high.
        undo = page.locator(".st-key-ws_undo button")
        assert undo.is_visible()
        ub = undo.bounding_box()
        assert ub["x"] >= 0 and ub["x"] + ub["width"] <= TABLET[0]
        assert ub["height"] >= TOUCH_PX - 0.5
        label = undo.inner_text()
        assert t("workshop.undo", lang) in label
        inner = undo.locator("p").first.bounding_box()
        assert inner["x"] + inner["width"] <= ub["x"] + ub["width"] + 0.5
        # Leaflet.draw speaks the page's language, "No layers to edit" included.
        frame.locator(".leaflet-draw-draw-polygon").hover()
        title = frame.locator(".leaflet-draw-draw-polygon").get_attribute("title")
        assert title == t("maps.draw.polygon", lang)
        edit_title = frame.locator(".leaflet-draw-edit-edit").get_attribute("title")
        assert edit_title in (t("maps.draw.edit", lang), t("workshop.leaflet.edit_disabled", lang))
        save_screenshot(page, f"workshop_{lang}_tablet.png")
        # The polygon tool's actions (Finish, Remove last point, Cancel): a finger high, on the
        # map, in the page's language.
        frame.locator(".leaflet-draw-draw-polygon").click()
        actions = frame.locator(".leaflet-draw-actions a:visible")
        actions.first.wait_for(timeout=10000)
        texts = [a.inner_text().strip() for a in actions.all()]
        assert t("maps.draw.cancel", lang) in texts, texts
        map_box = frame.locator(".leaflet-container").bounding_box()
        for a in actions.all():
            ab = a.bounding_box()
            assert ab["height"] >= TOUCH_PX - 0.5, (a.inner_text(), ab)
            assert ab["x"] + ab["width"] <= map_box["x"] + map_box["width"] + 0.5, ab
        save_screenshot(page, f"workshop_drawing_{lang}_tablet.png")
        actions.filter(has_text=t("maps.draw.cancel", lang)).first.click()
        assert not page.blocked_requests, page.blocked_requests


@pytest.mark.parametrize(
    ("size", "name", "lang"),
    [(LANDSCAPE, "landscape", "hu"), (DESKTOP, "desktop", "ro"), (DESKTOP, "desktop", "hu")],
)
def test_landscape_and_desktop_start_the_map_near_the_top(
    loaded_db_url, loaded_engine, users, size, name, lang
):
    _seed(loaded_engine, lang)
    with running_app(loaded_db_url) as base, browser_page(viewport=size) as page:
        open_workshop(page, base, lang)
        iframe, _ = drawing_map(page)
        page.wait_for_timeout(1000)
        save_screenshot(page, f"workshop_{lang}_{name}.png")
        box = iframe.bounding_box()
        # The map starts high on the screen (it was 556 px down at 1280x800) ...
        assert box["y"] <= 0.4 * size[1], box
        # ... and takes most of the width (511 of 1400 px before).
        assert box["width"] >= 0.6 * size[0], box


def _zoom_out(frame, times: int) -> None:
    for _ in range(times):
        frame.locator(".leaflet-control-zoom-out").click()
        frame.page.wait_for_timeout(400)


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_a_mark_drawn_outside_is_flagged_before_the_picker(
    loaded_db_url, loaded_engine, users, lang
):
    session_id = _seed(loaded_engine, lang)
    with loaded_engine.connect() as conn:
        before = conn.execute(
            text("SELECT count(*) FROM risk_zones WHERE workshop_id = :w"), {"w": session_id}
        ).scalar_one()
    outside = t("workshop.error.outside", lang, tolerance=25)
    with running_app(loaded_db_url) as base, browser_page(viewport=TABLET) as page:
        open_workshop(page, base, lang)
        flagged = False
        for _ in range(3):  # a rerun under load may replace the map we drew on: draw again
            _, frame = drawing_map(page)
            _zoom_out(frame, 3)
            box = frame.locator(".leaflet-container").bounding_box()
            w, h = box["width"] / 2 - 70, box["height"] / 2 - 70
            # A small square in the top-left corner: kilometres from Pata Rât at this zoom.
            draw_polygon(frame, [(-w, -h), (-w + 40, -h), (-w + 40, -h + 40), (-w, -h + 40)])
            with contextlib.suppress(PlaywrightTimeout):
                page.get_by_text(outside[:40], exact=False).first.wait_for(timeout=20000)
                flagged = True
                break
        assert flagged, "the drawing outside the area was not flagged"
        # Flagged at once: the picker never opened, nothing was saved.
        assert page.locator("[class*='st-key-hz_']").count() == 0
        drawing_map(page)  # the map comes back without the refused drawing
        assert page.locator("[class*='st-key-hz_']").count() == 0
        save_screenshot(page, f"workshop_outside_{lang}_tablet.png")
    with loaded_engine.connect() as conn:
        after = conn.execute(
            text("SELECT count(*) FROM risk_zones WHERE workshop_id = :w"), {"w": session_id}
        ).scalar_one()
    assert after == before
