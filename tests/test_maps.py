"""geo.maps: offline assets, basemap, layer symbology, escaping, demo labels and legends."""

from __future__ import annotations

import json
import re
from pathlib import Path

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pytest
from folium.elements import JSCSSMixin
from shapely.geometry import LineString, Point, Polygon, box

from geo import maps, taxonomy
from geo.i18n import catalogue, t

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "app" / "static" / "vendor"  # what Streamlit serves at /app/static/vendor
BOUNDS = (23.60, 46.78, 23.64, 46.80)
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def boundary() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["Pata Rât"]}, geometry=[box(*BOUNDS)], crs=4326)


@pytest.fixture
def streets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "highway": ["primary", ["residential", "service"], "footway", None],
            "railway": [None, None, None, "rail"],
            "name": ["Strada Cantonului", "X", "Y", "CFR"],
        },
        geometry=[
            LineString([(23.60, 46.79), (23.64, 46.79)]),
            LineString([(23.61, 46.78), (23.61, 46.80)]),
            LineString([(23.62, 46.78), (23.63, 46.80)]),
            LineString([(23.60, 46.785), (23.64, 46.795)]),
        ],
        crs=4326,
    )


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "hazard": ["landfill_fire_smoke", "flooding", "stray_dogs"],
            "severity": [5, 3, 1],
            "time_of_day": ["night", "always", None],
            "season": ["summer", "spring", "all_year"],
            "note": [XSS, "Apa vine până la genunchi", None],
            "is_demo": [False, True, False],
            "participant": ["SECRET-PERSON-1", "SECRET-PERSON-2", "SECRET-PERSON-3"],
        },
        geometry=[
            box(23.605, 46.782, 23.615, 46.788),
            box(23.62, 46.79, 23.63, 46.798),
            Point(23.634, 46.784),
        ],
        crs=4326,
    )


@pytest.fixture
def incidents() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "type": ["fire", "domestic_violence", "traffic_collision"],
            "occurred_at": ["2025-05-01", "2025-05-02", "2025-05-03"],
            "note": ["NOTE-FIRE", "NOTE-DV-PRIVATE", XSS],
        },
        geometry=[Point(23.61, 46.79), Point(23.62, 46.79), Point(23.63, 46.79)],
        crs=4326,
    )


def _hexagon(x: float, y: float, r: float = 0.003) -> Polygon:
    angles = np.linspace(0, 2 * np.pi, 7)[:-1]
    return Polygon([(x + r * np.cos(a), y + r * np.sin(a)) for a in angles])


def _layers(m: folium.Map) -> list[folium.GeoJson]:
    out = []

    def walk(el):
        for child in el._children.values():
            if isinstance(child, folium.GeoJson):
                out.append(child)
            walk(child)

    walk(m)
    return out


def _props(layer: folium.GeoJson) -> list[dict]:
    return [f["properties"] for f in layer.data["features"]]


def _legend(m: folium.Map) -> maps.Legend:
    found = [c for c in m._children.values() if isinstance(c, maps.Legend)]
    assert len(found) == 1
    return found[0]


def _offline_map(boundary, streets, **kw) -> folium.Map:
    return maps.base_map(boundary, online=False, streets=streets, lang="ro", **kw)


# ------------------------------------------------------------------------------ vendored assets


def test_vendor_assets_points_every_folium_class_at_local_files_and_is_idempotent() -> None:
    maps.vendor_assets()
    first = {
        cls: (list(cls.default_js), list(cls.default_css))
        for cls in (folium.Map, folium.plugins.Draw, folium.plugins.Fullscreen)
    }
    maps.vendor_assets()
    for cls, (js, css) in first.items():
        assert cls.default_js == js and cls.default_css == css, cls
        for _, url in js + css:
            assert url.startswith("/app/static/vendor/"), url
            assert (ROOT / "app" / "static" / url.removeprefix("/app/static/")).is_file(), url
    names = [name for name, _ in folium.Map.default_js]
    assert names[:2] == ["leaflet", "jquery"], "Leaflet must load before its plugins"


def test_base_map_vendors_assets_even_if_folium_was_reset(
    monkeypatch: pytest.MonkeyPatch, boundary, streets
) -> None:
    """Folium as freshly imported points at CDNs; base_map alone must fix that."""
    for cls in (folium.Map, folium.plugins.Draw, folium.plugins.Fullscreen):
        for attr in ("default_js", "default_css"):
            cdn = [(name, f"https://cdn.example.org/{name}") for name, _ in getattr(cls, attr)]
            monkeypatch.setattr(cls, attr, cdn)
    m = maps.base_map(boundary, online=False, streets=streets, lang="ro")
    maps.add_draw(m, "ro")
    page = maps.render(m)
    assert "cdn.example.org" not in page
    assert maps.external_urls(page) == []
    assert '<script src="/app/static/vendor/leaflet/leaflet.js"></script>' in page
    # Default marker images (used by Leaflet.draw) must come from the vendored folder too.
    assert 'L.Icon.Default.imagePath = "/app/static/vendor/leaflet/images/";' in page
    assert (VENDOR / "leaflet" / "images" / "marker-icon.png").is_file()


def test_external_urls_detects_cdn_links() -> None:
    page = (
        '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
        '<link rel="stylesheet" href="//netdna.example/x.css"/>'
        "<style>.a{background:url(https://x.example/y.png)}</style>"
        '<script src="/app/static/vendor/leaflet/leaflet.js"></script>'
        '<a href="https://www.openstreetmap.org/copyright">OSM</a>'
    )
    assert maps.external_urls(page) == [
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
        "//netdna.example/x.css",
        "https://x.example/y.png",
    ]


def test_vendor_assets_with_another_prefix_then_back() -> None:
    maps.vendor_assets("/elsewhere/")
    try:
        assert folium.Map.default_js[0][1] == "/elsewhere/leaflet/leaflet.js"
    finally:
        maps.vendor_assets()
    assert folium.Map.default_js[0][1] == "/app/static/vendor/leaflet/leaflet.js"


def test_every_vendored_file_exists_and_licences_are_listed() -> None:
    for url, path in maps.vendored_files().items():
        assert path.is_file(), url
        assert path.stat().st_size > 0, url
    licences = (VENDOR / "LICENSES.md").read_text(encoding="utf-8")
    for package in (
        "leaflet | 1.9.3",
        "jquery | 3.7.1",
        "bootstrap | 5.2.2",
        "fontawesome-free | 6.2.0",
        "leaflet.awesome-markers | 2.0.5",
        "leaflet-draw | 1.0.2",
        "leaflet.fullscreen | 3.0.0",
    ):
        assert package in licences, package
    assert not list(VENDOR.rglob("*.map")), "source maps must not be vendored"


def test_vendored_css_references_only_files_that_exist() -> None:
    checked = 0
    for css in VENDOR.rglob("*.css"):
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            assert not re.match(r"(https?:)?//", ref), f"{css}: remote {ref}"
            target = (css.parent / ref.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), f"{css.relative_to(VENDOR)} -> {ref}"
            checked += 1
    assert checked > 20


def test_offline_map_loads_nothing_from_the_internet(boundary, streets, zones, incidents) -> None:
    m = _offline_map(boundary, streets)
    maps.add_boundary(m, boundary, "ro")
    maps.add_risk_zones(m, zones, "ro")
    maps.add_incident_points(m, incidents, "ro")
    maps.add_draw(m, "ro")
    maps.add_layer_control(m)
    maps.add_legend(m, lang="ro")
    page = maps.render(m)
    assert maps.external_urls(page) == []
    # Stronger than the above: no http(s) URL at all, apart from XML namespaces.
    urls = [u for u in re.findall(r"https?://[^\s\"'<>)]+", page) if "www.w3.org" not in u]
    assert urls == []
    assert "cdn" not in page.lower()
    assert "tile.openstreetmap.org" not in page


def test_rendered_map_refers_only_to_existing_vendored_files(boundary, streets) -> None:
    m = _offline_map(boundary, streets, measure=True)
    maps.add_draw(m, "ro")
    page = maps.render(m)
    refs = re.findall(r"""(?:src|href)=["'](/app/static/vendor/[^"']+)["']""", page)
    expected = {
        "/app/static/vendor/leaflet/leaflet.js",
        "/app/static/vendor/leaflet/leaflet.css",
        "/app/static/vendor/jquery/jquery.min.js",
        "/app/static/vendor/leaflet-draw/leaflet.draw.js",
        "/app/static/vendor/leaflet-fullscreen/Control.FullScreen.js",
        "/app/static/vendor/leaflet-measure/leaflet-measure.min.js",
        "/app/static/vendor/fontawesome/css/all.min.css",
        "/app/static/vendor/glyphicons/bootstrap-glyphicons.css",
    }
    assert expected <= set(refs)
    for ref in refs:
        path = ROOT / "app" / "static" / ref.removeprefix("/app/static/")
        assert path.is_file(), ref
    assert maps.external_urls(page) == []
    assert page.index("leaflet/leaflet.js") < page.index("leaflet-draw/leaflet.draw.js")


def test_links_streamlit_folium_collects_are_local(boundary, streets, zones) -> None:
    """streamlit-folium loads every default_js/default_css it finds while walking the map, and
    adds d3 from a CDN for any branca ColorMap: both must stay local / absent."""
    m = _offline_map(boundary, streets, measure=True)
    maps.add_risk_zones(m, zones, "ro")
    maps.add_draw(m, "ro")
    maps.add_density_overlay(m, np.zeros((4, 4, 4), dtype=np.uint8), BOUNDS, "ro")
    maps.add_legend(m, lang="ro")
    links: list[str] = []

    def walk(el):
        assert not isinstance(el, branca.colormap.ColorMap)
        if isinstance(el, JSCSSMixin):
            links.extend(u for _, u in el.default_js + el.default_css)
        for child in getattr(el, "_children", {}).values():
            walk(child)

    walk(m)
    assert links
    assert all(u.startswith("/app/static/vendor/") for u in links), links


# -------------------------------------------------------------------------------------- basemap


def test_online_map_has_osm_tiles_and_attribution(boundary, streets) -> None:
    m = maps.base_map(boundary, online=True, streets=streets, lang="en")
    page = maps.render(m)
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "OpenStreetMap</a> contributors" in page.replace("\\u003c", "<").replace("\\u003e", ">")
    assert "ODbL" in page
    assert maps.external_urls(page) == []  # tiles are requested by Leaflet, not by the page
    assert not [g for g in _layers(m) if g.layer_name == t("maps.layer.streets", "en")]


def test_offline_map_draws_streets_by_class_with_attribution(boundary, streets) -> None:
    m = _offline_map(boundary, streets, basemap=False)  # vector streets: no tile server
    page = maps.render(m)
    tiles = [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    assert tiles == []
    assert json.dumps(maps.OSM_ATTRIBUTION) in page  # added to Leaflet's attribution control
    assert maps.OSM_ATTRIBUTION == "© OpenStreetMap contributors, ODbL"
    (layer,) = [g for g in _layers(m) if g.layer_name == t("maps.layer.streets", "ro")]
    classes = [p["hw"] for p in _props(layer)]
    assert sorted(classes) == ["footway", "primary", "railway", "residential"]
    # Offline there are no tile labels, so the (public, OSM) street name is the hover text.
    assert all(set(p) == {"hw", "tip"} for p in _props(layer))
    styles = taxonomy.layer_styles()["streets"]
    primary = layer.style_function({"properties": {"hw": "primary"}})
    assert primary["color"] == styles["by_highway"]["primary"]["color"]
    assert primary["weight"] > layer.style_function({"properties": {"hw": "footway"}})["weight"]
    assert "Strada Cantonului" in page
    assert taxonomy.layer_styles()["basemap"]["background"] in page


def test_base_map_fits_bounds_of_a_projected_boundary(boundary) -> None:
    projected = boundary.to_crs(3844)  # Stereo 70, as Romanian data often comes
    m = maps.base_map(projected, online=False, lang="ro")
    fit = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    assert fit, "map must be fitted to the area"
    (s, w), (n, e) = fit[0].bounds
    assert s == pytest.approx(46.78, abs=1e-4) and n == pytest.approx(46.80, abs=1e-4)
    assert w == pytest.approx(23.60, abs=1e-4) and e == pytest.approx(23.64, abs=1e-4)


# ------------------------------------------------------------------------- layers and escaping


def test_risk_zone_note_is_escaped_and_payload_minimal(boundary, zones) -> None:
    m = maps.base_map(boundary, online=False, lang="ro")
    layer = maps.add_risk_zones(m, zones, "ro")
    page = maps.render(m)
    assert XSS not in page
    pops = [p["pop"] for p in _props(layer)]
    assert XSS_ESCAPED in pops[0]
    assert "<script" not in "".join(pops)
    assert all(set(p) == {"tip", "pop", "s"} for p in _props(layer))
    assert "SECRET-PERSON" not in page, "columns not shown must not reach the page"
    assert "Incendiu sau fum de la groapa de gunoi" in _props(layer)[0]["tip"]
    assert "5 · extrem" in _props(layer)[0]["tip"]
    assert taxonomy.label("time_of_day", "night", "ro") in pops[0]
    assert _props(layer)[0]["s"] == "5"
    style = layer.style_function({"properties": {"s": "5"}})
    assert style["fillColor"] == taxonomy.severity_colour(5)
    assert layer.style_function({"properties": {"s": "1"}})["fillColor"] == "#ffffb2"
    # The zone marked as a point is a severity-coloured disc, not Leaflet's blue pin.
    assert isinstance(layer.marker, folium.CircleMarker)


def test_pictogram_css_is_embedded_once_for_icons_in_use(boundary, zones) -> None:
    m = maps.base_map(boundary, online=False, lang="ro")
    maps.add_risk_zones(m, zones, "ro")
    page = maps.render(m)
    uri = taxonomy.icon_data_uri("hazard", "flooding")
    assert page.count(uri) == 1
    assert taxonomy.icon_data_uri("hazard", "drugs") not in page
    assert ".harta-i-hazard-flooding{background-image:url(data:image/svg+xml;base64," in page


def test_facility_and_bus_stop_names_are_escaped(boundary) -> None:
    fac = gpd.GeoDataFrame(
        {"kind": ["police", "school"], "name": ['<img src=x onerror="alert(1)">', XSS]},
        geometry=[Point(23.61, 46.79), Point(23.62, 46.79)],
        crs=4326,
    )
    bus = gpd.GeoDataFrame(
        {"name": [XSS], "routes": ["<b>30</b>"]}, geometry=[Point(23.615, 46.792)], crs=4326
    )
    m = maps.base_map(boundary, online=False, lang="en")
    f_layer = maps.add_facilities(m, fac, "en")
    b_layer = maps.add_bus_stops(m, bus, "en")
    page = maps.render(m)
    assert XSS not in page and "<img src=x" not in page and "<b>30</b>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in _props(f_layer)[0]["pop"]
    assert XSS_ESCAPED in _props(b_layer)[0]["tip"]
    assert "&lt;b&gt;30&lt;/b&gt;" in _props(b_layer)[0]["pop"]
    assert "Police" in _props(f_layer)[0]["tip"]
    assert "Bus stop" in _props(b_layer)[0]["tip"]


def test_legend_labels_are_escaped(boundary) -> None:
    m = maps.base_map(boundary, online=False, lang="en")
    legend = maps.add_legend(m, [{"label": XSS, "colour": "#ff0000"}], "en", title="<b>t</b>")
    assert XSS not in legend.content and XSS_ESCAPED in legend.content
    assert "&lt;b&gt;t&lt;/b&gt;" in legend.content
    assert XSS not in maps.render(m)


def test_sensitive_incidents_are_left_out_unless_asked(boundary, incidents) -> None:
    m = maps.base_map(boundary, online=False, lang="ro")
    layer = maps.add_incident_points(m, incidents, "ro")
    page = maps.render(m)
    assert len(layer.data["features"]) == 2
    assert "Violență în familie" not in page
    assert "NOTE-FIRE" not in page, "notes are hidden unless show_notes"
    m2 = maps.base_map(boundary, online=False, lang="ro")
    layer2 = maps.add_incident_points(m2, incidents, "ro", include_sensitive=True, show_notes=True)
    assert len(layer2.data["features"]) == 3
    pops = [p["pop"] for p in _props(layer2)]
    assert "NOTE-FIRE" in pops[0] and XSS_ESCAPED in pops[2]
    assert XSS not in maps.render(m2)
    assert "2025-05-01" in pops[0]
    assert (
        "harta-i-incident_type-fire" in layer2.style_function({"properties": {"s": "fire"}})["html"]
    )


def test_hex_counts_below_threshold_show_less_than_five(boundary) -> None:
    hexes = gpd.GeoDataFrame(
        {"count": [3, 12, 60, None, 7], "suppressed": [False, False, False, False, True]},
        geometry=[_hexagon(23.61 + i * 0.006, 46.785) for i in range(5)],
        crs=4326,
    )
    m = maps.base_map(boundary, online=False, lang="en")
    layer = maps.add_hex_counts(m, hexes, "en")
    tips = [p["tip"] for p in _props(layer)]
    assert "Incidents: &lt;5" in tips[0] and ">3<" not in tips[0] and ": 3" not in tips[0]
    assert "Incidents: 12" in tips[1]
    assert "Incidents: 60" in tips[2]
    assert "&lt;5" in tips[3] and "&lt;5" in tips[4] and "7" not in tips[4]
    keys = [p["s"] for p in _props(layer)]
    assert keys[0] == keys[3] == keys[4] == "x"
    assert keys[1] != keys[2]
    grey = taxonomy.layer_styles()["hex_counts"]["suppressed"]["fillColor"]
    assert layer.style_function({"properties": {"s": "x"}})["fillColor"] == grey


def test_hex_counts_obey_the_configured_suppression_threshold(
    monkeypatch: pytest.MonkeyPatch, boundary
) -> None:
    """HARTA_SUPPRESSION_THRESHOLD=10 says counts below 10 are never shown in an aggregated
    view.  The old map used only the style's 5 and printed a 7 that the operator had hidden."""
    monkeypatch.setenv("HARTA_SUPPRESSION_THRESHOLD", "10")
    hexes = gpd.GeoDataFrame(
        {"count": [7, 9, 10, 25]},
        geometry=[_hexagon(23.61 + i * 0.006, 46.785) for i in range(4)],
        crs=4326,
    )
    m = maps.base_map(boundary, online=False, lang="en")
    layer = maps.add_hex_counts(m, hexes, "en")
    tips = [p["tip"] for p in _props(layer)]
    assert "Incidents: &lt;10" in tips[0] and "7" not in tips[0]
    assert "Incidents: &lt;10" in tips[1] and "9" not in tips[1]
    assert "Incidents: 10" in tips[2] and "Incidents: 25" in tips[3]
    assert [p["s"] for p in _props(layer)][:2] == ["x", "x"]
    legend = maps.add_legend(m, lang="en").content
    assert "5–9" not in legend and "10–19" in legend and "&lt;10" in legend
    # A lower setting never goes below the style's floor of 5.
    monkeypatch.setenv("HARTA_SUPPRESSION_THRESHOLD", "2")
    hexes["count"] = [3, 7, 10, 25]
    low = maps.add_hex_counts(maps.base_map(boundary, online=False, lang="en"), hexes, "en")
    assert "Incidents: &lt;5" in _props(low)[0]["tip"] and "Incidents: 7" in _props(low)[1]["tip"]


def test_hotspots_use_gi_bin_colours_blue_to_red(boundary) -> None:
    cells = gpd.GeoDataFrame(
        {"gi_bin": [-3, 0, 3, 2]},
        geometry=[_hexagon(23.61 + i * 0.006, 46.79) for i in range(4)],
        crs=4326,
    )
    m = maps.base_map(boundary, online=False, lang="en")
    layer = maps.add_hotspots(m, cells, "en")
    classes = taxonomy.layer_styles()["hotspots"]["classes"]
    for b in ("-3", "0", "3"):
        assert layer.style_function({"properties": {"s": b}})["fillColor"] == classes[b]["colour"]
    tips = [p["tip"] for p in _props(layer)]
    assert "Cold spot (99% confidence)" in tips[0]
    assert "Not significant" in tips[1]
    assert "Hot spot (99% confidence)" in tips[2]
    assert "Hot spot (95% confidence)" in tips[3]


def test_density_overlay_is_an_embedded_image_with_a_ramp_legend(boundary) -> None:
    grid = np.zeros((10, 12))
    grid[2:8, 3:9] = np.linspace(0.1, 1.0, 36).reshape(6, 6)
    rgba = maps.density_to_rgba(grid)
    assert rgba.shape == (10, 12, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, 3] == 0 and rgba[5, 5, 3] > 0
    ramp = taxonomy.layer_styles()["density"]["ramp"]
    assert tuple(rgba[7, 8, :3]) == tuple(int(ramp[-1][i : i + 2], 16) for i in (1, 3, 5))
    m = maps.base_map(boundary, online=False, lang="hu")
    overlay = maps.add_density_overlay(m, rgba, BOUNDS, "hu")
    assert overlay.url.startswith("data:image/png;base64,")
    assert overlay.bounds == [[46.78, 23.60], [46.80, 23.64]]
    legend = maps.add_legend(m, lang="hu")
    assert "linear-gradient(to right," + ",".join(ramp) + ")" in legend.content
    assert t("maps.density.low", "hu") in legend.content
    with pytest.raises(ValueError, match="RGBA"):
        maps.add_density_overlay(m, np.zeros((3, 3)), BOUNDS, "hu")


# ----------------------------------------------------------------------------- demo and legend


def test_demo_rows_say_demo_in_tooltip_popup_and_legend(boundary, zones) -> None:
    m = maps.base_map(boundary, online=False, lang="hu")
    layer = maps.add_risk_zones(m, zones, "hu")
    props = _props(layer)
    demo_word = t("maps.demo", "hu")
    assert demo_word == "DEMÓ"
    assert demo_word in props[1]["tip"] and demo_word in props[1]["pop"]
    assert demo_word not in props[0]["tip"] and demo_word not in props[0]["pop"]
    legend = maps.add_legend(m, lang="hu")
    assert demo_word in legend.content


def test_demo_flag_marks_every_row_and_no_demo_means_no_badge(boundary) -> None:
    fac = gpd.GeoDataFrame({"kind": ["clinic"]}, geometry=[Point(23.61, 46.79)], crs=4326)
    m = maps.base_map(boundary, online=False, lang="ro")
    layer = maps.add_facilities(m, fac, "ro")
    legend = maps.add_legend(m, lang="ro")
    assert "DEMO" not in _props(layer)[0]["tip"] and "DEMO" not in legend.content
    m2 = maps.base_map(boundary, online=False, lang="ro")
    layer2 = maps.add_facilities(m2, fac, "ro", demo=True)
    assert "DEMO" in _props(layer2)[0]["tip"]
    assert "DEMO" in maps.add_legend(m2, lang="ro").content


def test_legend_lists_what_the_map_shows(boundary, zones) -> None:
    m = maps.base_map(boundary, online=False, lang="ro")
    maps.add_boundary(m, boundary, "ro")
    maps.add_risk_zones(m, zones, "ro")
    legend = maps.add_legend(m, lang="ro")
    content = legend.content
    assert content.startswith("<details open><summary>Legendă")
    for n in range(1, 6):  # only the severities drawn (5, 3, 1): issue 11 item 3
        label = f"{n} · {taxonomy.label('severity', n, 'ro')}"
        assert (label in content) == (n in (1, 3, 5))
    for hazard in ("landfill_fire_smoke", "flooding", "stray_dogs"):
        assert taxonomy.label("hazard", hazard, "ro") in content
        assert f"harta-i-hazard-{hazard}" in content
    assert taxonomy.label("hazard", "drugs", "ro") not in content
    assert "Limita comunității" in content
    assert legend.css_class == "harta-legend"
    assert "harta-legend" in maps.render(m)


def test_projector_legend_is_large(boundary) -> None:
    m = maps.base_map(boundary, online=False, lang="en", projector=True)
    entries = maps.severity_legend_entries("en") + maps.icon_legend_entries(
        "facility_kind", ["police", "hospital"], "en"
    )
    legend = maps.add_legend(m, entries, "en")
    assert legend.css_class == "harta-legend large"
    assert "Police" in legend.content and "Hospital" in legend.content
    assert "5 · extreme" in legend.content
    assert "harta-projector" in maps.render(m)
    small = maps.add_legend(maps.base_map(BOUNDS, online=False), entries, "en", large=False)
    assert small.css_class == "harta-legend"


def test_unknown_codes_fail_loudly(boundary) -> None:
    bad = gpd.GeoDataFrame(
        {"hazard": ["volcano"], "severity": [2]}, geometry=[box(*BOUNDS)], crs=4326
    )
    m = maps.base_map(boundary, online=False, lang="en")
    with pytest.raises(taxonomy.UnknownCodeError, match="volcano"):
        maps.add_risk_zones(m, bad, "en")


def test_draw_toolbar_is_translated(boundary) -> None:
    m = maps.base_map(boundary, online=False, lang="ro")
    maps.add_draw(m, "ro")
    page = maps.render(m)
    assert json.dumps(t("maps.draw.polygon", "ro"))[1:-1].replace("ă", "\\u0103") in page
    assert page.index("L.drawLocal") < page.index("new L.Control.Draw")


def test_map_strings_exist_in_every_language() -> None:
    keys = {
        lang: {k for k in catalogue(lang) if k.startswith("maps.")} for lang in "ro hu en".split()
    }
    assert keys["en"] and keys["ro"] == keys["en"] == keys["hu"]
    sources = "".join(p.read_text() for p in Path(maps.__file__).parent.glob("*.py"))
    used = set(re.findall(r"""["'](maps\.[a-z_.]+)["']""", sources))
    used |= {"maps.address", "maps.phone"}
    missing = used - keys["en"]
    assert not missing, missing
    for lang in ("ro", "hu"):
        same = [k for k in keys[lang] if catalogue(lang)[k] == catalogue("en")[k]]
        assert set(same) <= {"maps.layer.osm", "maps.demo", "maps.phone"}, (lang, same)
