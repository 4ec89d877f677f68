"""The offline basemap: street names along the streets at street zoom, settlement names, land
cover, the sketched railway and landfill labelled approximate, the disk cache and the tile route.

References are independent of the renderer: the OSM file is read here with ElementTree, tile
numbers come from the slippy-map formula written out below, land cover from rasterio.  Only a
few tiles are rendered (never the whole city).
"""

from __future__ import annotations

import bz2
import io
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geo.maps.tiles import cache, render_tile, style
from geo.maps.tiles.cache import TileRoute, tile_url_template

ROOT = Path(__file__).resolve().parent.parent
OSM = ROOT / "data" / "osm" / "cluj-napoca_drive-network_2025-10-30.osm.bz2"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, float, float]:
    """Slippy-map tile of a point and the point's pixel inside it (OSM wiki formula)."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    fy = (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n
    return z, int(fx), int(fy), (fx - int(fx)) * 256, (fy - int(fy)) * 256


@pytest.fixture(scope="module")
def horea() -> list[tuple[float, float]]:
    """Node coordinates of the ways named "Strada Horea" in the bundled OSM file."""
    nodes, refs = {}, []
    with bz2.open(OSM) as handle:
        for _, e in ET.iterparse(handle):
            if e.tag == "node":
                nodes[e.get("id")] = (float(e.get("lon")), float(e.get("lat")))
            elif e.tag == "way":
                tags = {t.get("k"): t.get("v") for t in e.iter("tag")}
                if tags.get("name") == "Strada Horea":
                    refs.append([nd.get("ref") for nd in e.iter("nd")])
    return [nodes[r] for way in refs for r in way if r in nodes]


def test_street_name_written_along_the_street_at_street_zoom(horea):
    assert len(horea) > 5
    lon, lat = horea[len(horea) // 2]
    z, x, y, _, _ = tile_of(lon, lat, 17)
    tile = render_tile(z, x, y, "ro")
    labels = [lb for lb in tile.labels if lb.kind == "street"]
    horea_labels = [lb for lb in labels if lb.text == "Str. Horea"]
    assert horea_labels, [lb.text for lb in labels]
    # The label sits on the street: within 12 px of one of its nodes' segments in this tile.
    pts = np.array([tile_of(a, b, 17)[3:] for a, b in horea]) + np.array(
        [[256 * (tile_of(a, b, 17)[1] - x), 256 * (tile_of(a, b, 17)[2] - y)] for a, b in horea]
    )
    lb = horea_labels[0]
    dist = min(_seg_dist(lb.x, lb.y, pts[i], pts[i + 1]) for i in range(len(pts) - 1))
    assert dist < 12
    assert Image.open(io.BytesIO(tile.png)).size == (256, 256)


def _seg_dist(px: float, py: float, a: np.ndarray, b: np.ndarray) -> float:
    ab, ap = b - a, np.array([px, py]) - a
    denom = float(ab @ ab)
    k = 0.0 if denom == 0 else min(1.0, max(0.0, float(ap @ ab) / denom))
    return float(np.hypot(*(ap - k * ab)))


def test_no_street_names_when_zoomed_out(horea):
    lon, lat = horea[len(horea) // 2]
    z, x, y, _, _ = tile_of(lon, lat, 12)
    assert render_tile(z, x, y, "ro").texts("street") == set()


@pytest.mark.parametrize("slug", ["dallas", "cantonului", "colina-verde"])
def test_settlement_named_on_the_map(slug):
    folder = ROOT / "data" / "communities" / slug
    name = json.loads((folder / "community.json").read_text("utf-8"))["name"]
    ring = json.loads((folder / "boundary.geojson").read_text("utf-8"))["features"][0]
    coords = np.array(
        ring["geometry"]["coordinates"][0]
        if ring["geometry"]["type"] == "Polygon"
        else ring["geometry"]["coordinates"][0][0]
    )
    lon, lat = coords[:, 0].mean(), coords[:, 1].mean()
    found = set()
    z, x, y, _, _ = tile_of(lon, lat, 15)
    for dx in (-1, 0, 1):  # the name may sit across a tile edge
        for dy in (-1, 0, 1):
            found |= render_tile(z, x + dx, y + dy, "ro").texts("settlement")
    assert name in found


@pytest.mark.parametrize(
    ("lang", "word"), [("ro", "aproximativ"), ("hu", "hozzávetőleges"), ("en", "approximate")]
)
def test_railway_and_landfill_say_approximate_in_each_language(lang, word):
    # Cantonului lies by the railway; Rampa is the landfill sketch (data/osm/basemap_sketches).
    sketch = json.loads((ROOT / "data/osm/basemap_sketches.geojson").read_text("utf-8"))
    kinds = {f["properties"]["kind"]: f for f in sketch["features"]}
    assert all(f["properties"]["approximate"] for f in kinds.values())
    texts: dict[str, set[str]] = {"railway": set(), "landfill": set()}
    for kind, (lon, lat) in (("railway", (23.6985, 46.7797)), ("landfill", (23.692, 46.7715))):
        z, x, y, _, _ = tile_of(lon, lat, 15)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                texts[kind] |= render_tile(z, x + dx, y + dy, lang).texts(kind)
    assert texts["railway"] and all(word in s for s in texts["railway"])
    assert texts["landfill"] and all(word in s for s in texts["landfill"])


def test_tree_cover_drawn_where_worldcover_says_trees():
    import rasterio

    path = next((ROOT / "data" / "landcover").glob("*treecover*.tif"))
    with rasterio.open(path) as src:
        mask = src.read(1) > 0
        # A cell deep inside a wood (7 x 7 cells of trees), searched near Făget forest.
        row0, col0 = src.index(23.60, 46.72)
        hit = None
        for r in range(row0 - 200, row0 + 200, 3):
            for c in range(col0 - 200, col0 + 200, 3):
                if mask[r - 3 : r + 4, c - 3 : c + 4].all():
                    hit = src.xy(r, c)
                    break
            if hit:
                break
    assert hit is not None
    z, x, y, px, py = tile_of(hit[0], hit[1], 16)
    img = Image.open(io.BytesIO(render_tile(z, x, y, "ro").png)).convert("RGB")
    assert img.getpixel((int(px), int(py))) == style.LANDCOVER_COLOURS["tree"]


def test_tile_cache_renders_once(monkeypatch, tmp_path):
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    first = cache.cached_tile("en", 14, 9270, 5777)
    assert (tmp_path / "en" / "14" / "9270" / "5777.png").read_bytes() == first

    def boom(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(cache, "render_tile", boom)
    assert cache.cached_tile("en", 14, 9270, 5777) == first
    with pytest.raises(ValueError):
        cache.cached_tile("xx", 14, 9270, 5777)


def _get(app, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """One GET through an ASGI app (no HTTP client needed)."""
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def _streamlit(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"streamlit"})


def test_tile_route_serves_tiles_and_passes_everything_else(monkeypatch, tmp_path):
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    app = TileRoute(_streamlit)
    status, headers, body = _get(app, "/harta-tiles/hu/14/9270/5777.png")
    assert status == 200 and headers[b"content-type"] == b"image/png"
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    for bad in (
        "/harta-tiles/xx/14/1/1.png",
        "/harta-tiles/ro/3/1/1.png",
        "/harta-tiles/ro/14/99999/1.png",
    ):
        assert _get(app, bad)[0] == 404
    for other in ("/", "/harta-tiles/ro/14/1/../../etc/passwd", "/app/static/x.png"):
        assert _get(app, other)[2] == b"streamlit"


def test_tiles_outside_the_data_are_never_written(monkeypatch, tmp_path):
    """An attacker asking for every tile of the world at street zoom must not fill the disk:
    outside the city's data the route answers one shared empty tile and writes nothing."""
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    app = TileRoute(_streamlit)
    far = [tile_of(lon, 46.77, 18)[1:3] for lon in (-70.0, 0.0, 120.0)]  # not Cluj
    bodies = {_get(app, f"/harta-tiles/ro/18/{x}/{y}.png")[2] for x, y in far}
    assert len(bodies) == 1 and next(iter(bodies))[:4] == b"\x89PNG"
    assert not any(tmp_path.rglob("*.png"))
    # ... while a tile over Pata Rât is drawn and cached.
    _, x, y, _, _ = tile_of(23.69, 46.776, 16)
    assert _get(app, f"/harta-tiles/ro/16/{x}/{y}.png")[2] not in bodies
    assert (tmp_path / "ro" / "16" / str(x) / f"{y}.png").exists()


def test_offline_map_uses_local_tiles_only():
    from geo.maps import base_map, external_urls, render

    m = base_map((23.68, 46.76, 23.70, 46.78), online=False, lang="hu")
    page = render(m)
    assert tile_url_template("hu") in page
    assert external_urls(page) == []
    assert "tile.openstreetmap.org" not in page
