"""The screenshot tour: every map page in ro, hu and en, at desktop and tablet size.

Not part of the suite (the file name does not start with ``test_``, so pytest collects it only
when named): ``scripts/screenshot_tour`` runs it and writes
``docs/screenshots/tour/<page>_<role>_<lang>_<size>.jpg`` for people to look at. Home, incidents,
account and admin are photographed in every language by ``test_app_persistence_browser``; the
workshop's drawing steps, the import wizard and the hot spot views by their own browser tests.

Each visit still checks what a tour can: the page's title is in the chosen language and nothing
was requested from outside this machine; it waits for the map to draw before the picture (a page
whose map has no vector layer is photographed after a 20 s wait).
"""

from __future__ import annotations

import contextlib

import pytest

from geo.i18n import LANGUAGES, t
from tests.browser import browser_page, map_frame, running_app, wait_idle
from tests.conftest import ROOT, sign_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.db]

OUT = ROOT / "docs" / "screenshots" / "tour"
SIZES = {"desktop": (1400, 900), "tablet": (800, 1280)}
#: (menu path, role signed in, title key or None when the title names the community).
TOUR = (
    ("map", "police", "app.map.title"),
    ("map", "community", "app.map.title"),
    ("workshop", "community", "workshop.title"),
    ("projector", "community", None),
    ("hotspots", "police", "incidents.hotspots.title"),
    ("hotspots", "community", "incidents.hotspots.title"),
    ("response", "planner", "response.page.title"),
    ("mobile-unit", "planner", "mobile.page.title"),
    ("housing", "planner", "sites.page.title"),
)


def _visit(page, base: str, path: str, lang: str, key: str | None) -> None:  # noqa: ANN001
    """Open ``path`` in ``lang`` through the address (the bookmarkable ``?lang=`` convention)."""
    page.goto(f"{base}/{path}?lang={lang}")
    heading = page.locator("h1").first
    heading.wait_for(timeout=90000)
    if key is not None:
        page.get_by_role("heading", name=t(key, lang)).first.wait_for(timeout=90000)
    wait_idle(page)
    if page.locator("iframe").count():
        from playwright.sync_api import TimeoutError as BrowserTimeout

        # A page may show a map with no vector layer, or keep it in a folded section.
        with contextlib.suppress(TimeoutError, BrowserTimeout):
            map_frame(page, timeout_ms=20000)
    page.wait_for_timeout(1500)  # tiles and labels settle


def _as_served(url: str) -> None:
    """Add what ``harta serve`` loads and the suite's template leaves out: the responders
    (:func:`geo.planning.response.bundled.load_responders`), so the response page shows what a
    person running the app sees."""
    from sqlalchemy import create_engine

    from geo.planning.response.bundled import load_responders

    engine = create_engine(url)
    try:
        load_responders(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", list(SIZES))
def test_tour(loaded_db_url, users, size):  # noqa: ANN001
    OUT.mkdir(parents=True, exist_ok=True)
    _as_served(loaded_db_url)
    with running_app(loaded_db_url) as base:
        for role in dict.fromkeys(role for _, role, _ in TOUR):
            # A fresh browser per role: a map page folds the sidebar on a tablet, and the next
            # sign-in looks for its button there.
            with browser_page(SIZES[size]) as page:
                sign_in_browser(page, base, role)
                for path, who, key in TOUR:
                    if who != role:
                        continue
                    for lang in LANGUAGES:
                        _visit(page, base, path, lang, key)
                        name = f"{path.replace('-', '_')}_{role}_{lang}_{size}.jpg"
                        # JPEG: a tour is 54 pictures; as PNG they would add 20 MB a run.
                        page.screenshot(path=str(OUT / name), type="jpeg", quality=85)
                assert page.blocked_requests == []
