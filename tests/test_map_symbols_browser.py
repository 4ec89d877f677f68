"""The Map page in Chromium, offline: the basemap tiles come from the app itself, the legend
lists the hazards whose pictograms are drawn, points are clustered, the legend is closed on a
tablet and gets out of the way of popups.  Saves the reviewed screenshots
``docs/screenshots/map_<lang>_<desktop|tablet>[_street].png``."""

from __future__ import annotations

import pytest

from geo.i18n import t
from tests.browser import ROOT, browser_page, map_frame, running_app, wait_idle
from tests.conftest import PASSWORDS, open_page, username_for

pytestmark = pytest.mark.browser

DOCS = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1400, 900), "tablet": (800, 1280)}
#: Strada Cantonului, by the railway (street zoom: names along the streets).
STREET_VIEW = (46.7790, 23.6934, 17)

_MAP_JS = "Object.keys(window).map(k => window[k]).find(v => v instanceof L.Map)"


def _sign_in(page, base: str, role: str, lang: str) -> None:
    page.goto(f"{base}/account?lang={lang}")
    page.wait_for_selector("h1", timeout=90000)
    page.get_by_label(t("account.username", lang), exact=True).fill(username_for(role))
    page.get_by_label(t("account.password", lang), exact=True).fill(PASSWORDS[role])
    page.get_by_role("button", name=t("account.sign_in", lang), exact=True).click()
    page.get_by_text(t("account.sign_out", lang), exact=True).first.wait_for(timeout=60000)


def _tiles_loaded(frame, at_least: int = 4) -> list[str]:
    frame.wait_for_function(
        "n => Array.from(document.querySelectorAll('img.leaflet-tile'))"
        ".filter(i => i.complete && i.naturalWidth === 256).length >= n",
        arg=at_least,
        timeout=60000,
    )
    # ... and every tile asked for has arrived (a screenshot with no half-drawn basemap).
    frame.wait_for_function(
        "() => !document.querySelector('img.leaflet-tile:not(.leaflet-tile-loaded)')",
        timeout=60000,
    )
    return frame.eval_on_selector_all("img.leaflet-tile", "els => els.map(e => e.src)")


@pytest.mark.parametrize("lang", ["ro", "hu"])
@pytest.mark.parametrize("size", list(SIZES))
def test_map_page_basemap_symbols_and_legend(loaded_db_url, users, lang, size):
    DOCS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base, browser_page(SIZES[size]) as page:
        _sign_in(page, base, "police", lang)
        open_page(page, "map")
        wait_idle(page)
        frame = map_frame(page)
        srcs = _tiles_loaded(frame)
        assert all(s.startswith(f"{base}/harta-tiles/{lang}/") for s in srcs), srcs
        # The legend explains each hazard pictogram drawn, and lists none that is not drawn.
        keys = set(
            frame.eval_on_selector_all(".harta-legend [data-k]", "e => e.map(x => x.dataset.k)")
        )
        drawn = set(
            frame.eval_on_selector_all(
                ".harta-zone-ico .harta-ico",
                "e => e.map(x => Array.from(x.classList).find(c => c.startsWith('harta-i-')))",
            )
        )
        hazards_drawn = {"hazard:" + c.removeprefix("harta-i-hazard-") for c in drawn}
        assert hazards_drawn and {k for k in keys if k.startswith("hazard:")} == hazards_drawn
        assert {"boundary", "basemap:railway", "basemap:landfill"} <= keys
        assert frame.query_selector_all(".marker-cluster"), "police points are clustered"
        page.screenshot(path=str(DOCS / f"map_{lang}_{size}.png"))
        legend_open = frame.eval_on_selector(".harta-legend details", "d => d.open")
        assert legend_open == (size == "desktop")  # closed on a tablet

        if size == "desktop":
            # A tap on a zone's pictogram opens its popup, and the legend closes out of its way.
            frame.locator(".harta-zone-ico").first.click()
            frame.wait_for_selector(".leaflet-popup-content", timeout=10000)
            assert frame.eval_on_selector(".harta-legend details", "d => d.open") is False

        lat, lon, zoom = STREET_VIEW
        frame.evaluate(f"{_MAP_JS}.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
        srcs = _tiles_loaded(frame)
        assert any(f"/harta-tiles/{lang}/{zoom}/" in s for s in srcs)
        frame.wait_for_timeout(800)
        page.screenshot(path=str(DOCS / f"map_{lang}_{size}_street.png"))
        assert page.blocked_requests == []  # nothing tried to reach the internet
