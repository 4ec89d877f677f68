"""The hotspots page in the real app, in Chromium: police see the analysis with exact points;
the public's page (HTML of the page and of every map frame) holds no incident coordinate.
Saves ``.test-data/screenshots/hotspots_*.png``."""

from __future__ import annotations

import re

import pytest

from geo.i18n import t
from tests.browser import SCREENSHOTS, browser_page, map_frame, running_app
from tests.conftest import open_page, sign_in_browser
from tests.test_incident_privacy import _found, _incidents, _on_public_geometry

pytestmark = pytest.mark.browser


def sign_out(page, lang: str = "ro") -> None:
    """Sign out from the sidebar: the same page reruns for the public."""
    page.locator('[data-testid="stSidebar"]').get_by_role(
        "button", name=t("account.sign_out", lang), exact=True
    ).click()
    page.get_by_text(t("account.sidebar.public", lang), exact=True).first.wait_for(timeout=60000)


def wait_for_maps(page) -> None:
    map_frame(page, timeout_ms=120000)
    page.wait_for_timeout(2500)  # let Leaflet finish drawing the image overlay and markers


def markers(page) -> int:
    """Incident points drawn: single pictograms plus the points inside cluster bubbles (the
    points layer is clustered, so at the fitted zoom most points are in bubbles)."""
    total = 0
    for frame in page.frames:
        total += len(frame.query_selector_all(".harta-marker"))
        for bubble in frame.query_selector_all(".marker-cluster span"):
            text = (bubble.inner_text() or "").strip()
            total += int(text) if text.isdigit() else 0
    return total


def everything_sent(page) -> str:
    parts = [page.content()]
    for frame in page.frames:
        try:
            parts.append(frame.content())
        except Exception:  # noqa: BLE001 - a frame navigating away has no content
            continue
    return "\n".join(parts)


def open_view(page, key: str) -> None:
    # In the page, not the menu: the menu has a "Map" page too.
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(t(f"incidents.hotspots.tab.{key}", "ro"), exact=True).first.click()
    page.wait_for_timeout(1000)


def show_incident_layer(page) -> None:
    """Tick the incidents layer in the Leaflet layer control (it starts switched off)."""
    frame = map_frame(page)
    frame.hover(".leaflet-control-layers")
    # Exactly "Incidente": has_text is a case-insensitive substring, and the density layer
    # ("Unde se adună incidentele") would match first.
    name = re.compile(rf"^\s*{re.escape(t('maps.layer.incidents', 'ro'))}\s*$")
    label = frame.locator(".leaflet-control-layers-overlays label").filter(has_text=name)
    label.locator("input").first.check()
    page.wait_for_timeout(1500)


def test_hotspots_page_for_police_and_public(loaded_db_url, users):
    incidents, _ = _incidents(loaded_db_url)
    on_streets = _on_public_geometry(loaded_db_url, incidents)
    assert on_streets.sum() < 5  # chance coincidences only, or the check below means little
    SCREENSHOTS.mkdir(exist_ok=True)
    with running_app(loaded_db_url) as base, browser_page() as page:
        sign_in_browser(page, base, "police")
        open_page(page, "hotspots")
        page.get_by_text(t("app.roles.police", "ro")).first.wait_for()
        page.get_by_text("incidente corespund filtrelor", exact=False).first.wait_for(
            timeout=120000
        )
        wait_for_maps(page)
        page.screenshot(path=str(SCREENSHOTS / "hotspots_police_map_ro.png"), full_page=True)
        assert _found(incidents, everything_sent(page)).sum() > 300
        show_incident_layer(page)
        page.screenshot(path=str(SCREENSHOTS / "hotspots_police_points_ro.png"), full_page=True)
        assert markers(page) > 100

        open_view(page, "trends")
        wait_for_maps(page)
        page.screenshot(path=str(SCREENSHOTS / "hotspots_police_trends_ro.png"), full_page=True)
        open_view(page, "compare")
        wait_for_maps(page)
        page.screenshot(path=str(SCREENSHOTS / "hotspots_police_compare_ro.png"), full_page=True)
        open_view(page, "map")

        sign_out(page)
        page.get_by_text("incidente sunt numărate", exact=False).first.wait_for(timeout=120000)
        wait_for_maps(page)
        page.screenshot(path=str(SCREENSHOTS / "hotspots_public_map_ro.png"), full_page=True)
        assert markers(page) == 0
        leaked = _found(incidents, everything_sent(page)) & ~on_streets
        assert not leaked.any(), f"{leaked.sum()} incident coordinates in the public page"
        assert page.blocked_requests == []


@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_public_hotspots_page_offers_published_periods(loaded_db_url, lang):
    """The public picks a published period (no free day-level dates) in its language; saves
    ``hotspots_public_period_<lang>_<desktop|tablet>.png``."""
    from tests.test_workshop_browser import LANGUAGE_NAMES, pick

    incidents, _ = _incidents(loaded_db_url)
    on_streets = _on_public_geometry(loaded_db_url, incidents)
    assert on_streets.sum() < 5
    SCREENSHOTS.mkdir(exist_ok=True)
    with running_app(loaded_db_url) as base:
        for name, viewport in (("desktop", (1400, 950)), ("tablet", (800, 1280))):
            with browser_page(viewport) as page:
                page.goto(base)
                page.wait_for_selector("h1", timeout=90000)
                open_page(page, "hotspots")
                if lang != "ro":
                    pick(page, "Limba · Nyelv", LANGUAGE_NAMES[lang], exact=False)
                sidebar = page.locator('[data-testid="stSidebar"]')
                sidebar.get_by_text(t("analysis.period.label", lang), exact=True).first.wait_for(
                    timeout=120000
                )
                assert sidebar.locator('[data-testid="stDateInput"]').count() == 0
                wait_for_maps(page)
                page.screenshot(
                    path=str(SCREENSHOTS / f"hotspots_public_period_{lang}_{name}.png"),
                    full_page=True,
                )
                assert not (_found(incidents, everything_sent(page)) & ~on_streets).any()
