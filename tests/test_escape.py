"""geo.escape and geo.csp: user text stays text in HTML and Markdown; map pages carry a policy
naming exactly their inline scripts; the st_folium frame's hash matches the script it runs."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo import csp, escape, maps

HOSTILE = '<img src=x onerror="window.__pwned=1"></script><script>x()</script>![x](http://h/p.png)'


def test_html_escapes_markup_and_quotes() -> None:
    out = escape.html(HOSTILE)
    assert "<" not in out and ">" not in out and '"' not in out
    assert escape.html(None) == ""
    assert escape.html("a'b") == "a&#x27;b"


@pytest.mark.parametrize(
    "value",
    [HOSTILE, "# heading", "- list", "[link](http://x)", "**bold**", ":red[x]", "$x^2$", "a\nb"],
)
def test_markdown_escapes_every_special_character(value: str) -> None:
    out = escape.markdown(value)
    assert "\n" not in out
    # Every special character is preceded by a backslash: nothing is left to interpret.
    unescaped = re.sub(r"\\.", "", out)
    assert not re.search(r"[\\`*_{}\[\]()<>#+\-.!|~:$=&\"']", unescaped)


def test_script_hash_matches_the_browser_algorithm() -> None:
    # sha256("alert(1)") in base64, as Chromium reports it in a CSP violation.
    assert csp.script_hash("alert(1)") == "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
    assert csp.script_hash("a\r\nb") == csp.script_hash("a\nb")


def _map():
    area = gpd.GeoDataFrame(
        {"name": [HOSTILE]}, geometry=[box(23.68, 46.77, 23.70, 46.78)], crs=4326
    )
    m = maps.base_map(area, online=False)
    maps.add_boundary(m, area, "en", name=HOSTILE)
    shops = gpd.GeoDataFrame(
        {"kind": ["school"], "name": [HOSTILE]}, geometry=[Point(23.69, 46.775)], crs=4326
    )
    maps.add_facilities(m, shops, "en", name=HOSTILE)
    maps.add_legend(m, None, "en")
    maps.add_layer_control(m)
    return m


def test_layer_names_are_escaped_for_the_layer_control() -> None:
    """The old code passed the community name raw as a layer name: Leaflet inserts it as HTML."""
    page = maps.render(_map())
    control = page[page.index("L.control.layers") - 2000 :]
    assert "\\u003cimg" not in control.split("L.control.layers")[0]  # no raw tag as a name
    assert "\\u0026lt;img src=x onerror=" in page  # &lt;img… (JSON-escaped &)
    assert 'onerror=\\"' not in page.replace("\\u0026quot;", "")


def test_rendered_page_allows_exactly_its_inline_scripts() -> None:
    page = maps.render(_map())
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert meta is not None
    policy = meta.group(1).replace("&amp;", "&")
    script_src = policy.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    hashes = set(re.findall(r"'sha256-[^']+'", script_src))
    assert hashes == {csp.script_hash(s) for s in csp.inline_scripts(page)}
    assert page.index("Content-Security-Policy") < page.index("<script")
    assert csp.OSM_TILE_HOST not in policy
    assert csp.OSM_TILE_HOST in maps.render(_map(), online=True)


def test_st_folium_frame_hash_is_the_script_the_frame_runs(monkeypatch) -> None:
    """app/map_frame.st_folium names the hash of exactly what streamlit-folium sends."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))
    import streamlit_folium

    import map_frame

    sent: dict = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: sent.update(kw))
    map_frame.st_folium(_map(), key="k", returned_objects=[])
    runs = sent["script"] + "window.map = map_div; window.initComponent(map_div, false);"
    header = sent["header"]
    assert csp.script_hash(runs) in header
    assert header.count("Content-Security-Policy") == 1
    with pytest.raises(ValueError):
        map_frame.st_folium(_map(), layer_control=object())


def test_middleware_sets_the_headers_on_every_http_response() -> None:
    async def app(scope, receive, send):  # noqa: ANN001
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-security-policy", b"default-src *")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    sent: list = []

    async def send(message):  # noqa: ANN001
        sent.append(message)

    for path, inline in (("/map", False), ("/component/x/index.html", True)):
        sent.clear()
        wrapped = csp.SecurityHeaders(app, online=False, script_hashes=["'sha256-x'"])
        asyncio.run(wrapped({"type": "http", "path": path}, None, send))
        headers = dict(sent[0]["headers"])
        policy = headers[b"content-security-policy"].decode()
        assert "default-src *" not in policy
        assert ("'unsafe-inline'" in policy.split("script-src")[1].split(";")[0]) is inline
        assert headers[b"x-content-type-options"] == b"nosniff"
        assert headers[b"referrer-policy"] == b"no-referrer"
        assert "frame-ancestors 'self'" in policy
