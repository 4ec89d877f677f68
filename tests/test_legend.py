"""The legend lists exactly what the map draws; zones are translucent with their hazard's
pictogram; points are clustered with the vendored (offline) Leaflet.markercluster.

The reference for "what the map draws" is read from the map's own layers (the style each
feature gets, the pictogram classes of the markers), never from the legend, and checked
against the input frames.
"""

from __future__ import annotations

import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
from folium.plugins import MarkerCluster
from shapely.geometry import Point, box, shape

from geo import maps, taxonomy

ROOT = Path(__file__).resolve().parent.parent
BOUNDS = (23.60, 46.78, 23.64, 46.80)
BASEMAP = {
    "basemap:streets",
    "basemap:trees",
    "basemap:grass",
    "basemap:railway",
    "basemap:landfill",
}


def _zones(hazards, severities) -> gpd.GeoDataFrame:
    geoms = [box(23.60 + i * 0.005, 46.78, 23.604 + i * 0.005, 46.784) for i in range(len(hazards))]
    return gpd.GeoDataFrame(
        {"hazard": hazards, "severity": severities, "is_demo": [False] * len(hazards)},
        geometry=geoms,
        crs=4326,
    )


def _points(column: str, codes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {column: codes},
        geometry=[Point(23.61 + i * 0.001, 46.79) for i in range(len(codes))],
        crs=4326,
    )


def _layers(m: folium.Map) -> list[folium.GeoJson]:
    out = []

    def walk(el):
        for child in el._children.values():
            if isinstance(child, folium.GeoJson):
                out.append(child)
            walk(child)

    walk(m)
    return out


def drawn_symbols(m: folium.Map) -> set[str]:
    """Symbol kinds the map's layers draw, from the style each feature gets."""
    colour_to_severity = {taxonomy.severity_colour(n): n for n in taxonomy.severities()}
    found: set[str] = set()
    for layer in _layers(m):
        for feature in layer.data["features"]:
            style = layer.style_function(feature) if layer.style_function else {}
            fill = style.get("fillColor")
            if fill in colour_to_severity and style.get("fillOpacity", 0) < 0.5:
                found.add(f"severity:{colour_to_severity[fill]}")
            for kind, code in re.findall(r"harta-i-([a-z_]+)-([a-z_]+)", style.get("html", "")):
                found.add(f"{kind}:{code}")
            if style.get("dashArray") and style.get("fill") is False:
                found.add("boundary")
    return found


CASES = {
    "zones only": dict(zones=(["flooding", "stray_dogs"], [4, 4])),
    "zones and boundary": dict(
        zones=(["landfill_fire_smoke", "flooding", "stray_dogs"], [5, 3, 1]), boundary=True
    ),
    "facilities and stops": dict(facilities=["police", "school", "police"], stops=2),
    "incidents": dict(incidents=["fire", "traffic_collision"]),
    "everything": dict(
        zones=(["flooding"], [2]),
        boundary=True,
        facilities=["hospital"],
        stops=1,
        incidents=["fire"],
    ),
}


def _build(case: dict, lang: str = "ro") -> folium.Map:
    m = maps.base_map(BOUNDS, online=False, lang=lang)
    if case.get("boundary"):
        maps.add_boundary(m, gpd.GeoDataFrame({"name": ["X"]}, geometry=[box(*BOUNDS)], crs=4326))
    if "zones" in case:
        maps.add_risk_zones(m, _zones(*case["zones"]), lang)
    if "facilities" in case:
        maps.add_facilities(m, _points("kind", case["facilities"]), lang)
    if "stops" in case:
        maps.add_bus_stops(m, _points("name", [f"S{i}" for i in range(case["stops"])]), lang)
    if "incidents" in case:
        maps.add_incident_points(m, _points("type", case["incidents"]), lang)
    return m


def _expected(case: dict) -> set[str]:
    out = set(BASEMAP)
    if case.get("boundary"):
        out.add("boundary")
    if "zones" in case:
        hazards, severities = case["zones"]
        out |= {f"hazard:{h}" for h in hazards} | {f"severity:{n}" for n in severities}
    out |= {f"facility_kind:{k}" for k in case.get("facilities", [])}
    if case.get("stops"):
        out.add("facility_kind:bus_stop")
    out |= {f"incident_type:{k}" for k in case.get("incidents", [])}
    if case.get("facilities") or case.get("stops") or case.get("incidents"):
        out.add("cluster")  # explained once, whatever the number of clustered layers
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_legend_entries_equal_the_symbols_drawn(name):
    case = CASES[name]
    m = _build(case)
    legend = maps.add_legend(m, lang="ro")
    assert legend.keys() == _expected(case)
    # ... and the map's own layers draw exactly those data symbols (basemap aside).
    clusters = [c for c in m._children.values() if isinstance(c, MarkerCluster)]
    assert drawn_symbols(m) | ({"cluster"} if clusters else set()) == _expected(case) - BASEMAP


def test_hexagon_map_lists_its_classes_and_nothing_else():
    """A map of a role without exact points: basemap and hexagon counts only (no pictogram,
    no severity, no cluster in its legend)."""
    cells = gpd.GeoDataFrame(
        {"count": [12, 40, None], "suppressed": [False, False, True]},
        geometry=[
            box(23.60, 46.78, 23.61, 46.79),
            box(23.61, 46.78, 23.62, 46.79),
            box(23.62, 46.78, 23.63, 46.79),
        ],
        crs=4326,
    )
    m = maps.base_map(BOUNDS, online=False, lang="en")
    maps.add_hex_counts(m, cells, "en")
    legend = maps.add_legend(m, lang="en")
    assert legend.keys() == BASEMAP
    assert maps.legend.t("maps.layer.hex", "en") in legend.content
    assert "harta-i-" not in legend.content
    for n in taxonomy.severities():
        assert taxonomy.label("severity", n, "en") not in legend.content


def test_no_hazard_or_severity_listed_that_is_not_drawn():
    m = _build(CASES["zones only"], "en")
    content = maps.add_legend(m, lang="en").content
    for hazard in taxonomy.hazards():
        assert (taxonomy.label("hazard", hazard, "en") in content) == (
            hazard in ("flooding", "stray_dogs")
        )
    for n in taxonomy.severities():
        assert (f"{n} · {taxonomy.label('severity', n, 'en')}" in content) == (n == 4)


def test_zones_are_translucent_with_their_hazard_pictogram_inside():
    zones = _zones(["flooding", "stray_dogs"], [5, 2])
    m = maps.base_map(BOUNDS, online=False, lang="ro")
    layer = maps.add_risk_zones(m, zones, "ro")
    for feature in layer.data["features"]:
        opacity = layer.style_function(feature)["fillOpacity"]
        assert 0.25 <= opacity <= 0.35
    icons = [g for g in _layers(m) if g is not layer and g.data["features"]]
    assert len(icons) == 1
    (icon_layer,) = icons
    for feature, zone in zip(icon_layer.data["features"], zones.itertuples(), strict=True):
        assert shape(feature["geometry"]).within(zone.geometry)
        html = icon_layer.style_function(feature)["html"]
        assert f"harta-i-hazard-{zone.hazard}" in html
        assert taxonomy.severity_colour(zone.severity) in html
    # The pictograms have the zone's tooltip and popup (a tap on the icon explains the zone).
    assert [f["properties"]["tip"] for f in icon_layer.data["features"]] == [
        f["properties"]["tip"] for f in layer.data["features"]
    ]


def test_points_are_clustered_with_the_vendored_plugin_offline():
    m = _build(CASES["everything"] | {"incidents": ["fire", "fire", "traffic_collision"]})
    clusters = [c for c in m._children.values() if isinstance(c, MarkerCluster)]
    assert len(clusters) >= 2  # incidents and facilities each have their own (layer control)
    page = maps.render(m)
    assert "L.markerClusterGroup" in page
    assert maps.external_urls(page) == []
    urls = [u for u in re.findall(r"https?://[^\s\"'<>)]+", page) if "www.w3.org" not in u]
    assert urls == []
    for rel in (
        "markercluster/leaflet.markercluster.js",
        "markercluster/MarkerCluster.css",
        "markercluster/MarkerCluster.Default.css",
    ):
        assert f"/app/static/vendor/{rel}" in page
        assert (ROOT / "app" / "static" / "vendor" / rel).is_file()
    # Inside a cluster every marker carries its own tooltip and popup.
    assert "layer.bindTooltip(p.tip" in page


def test_legend_starts_closed_on_narrow_maps_and_closes_for_popups():
    m = _build(CASES["zones only"])
    legend = maps.add_legend(m, lang="hu")
    script = legend._template.module.script(legend)
    assert "details.open = false" in script
    assert 'map.on("popupopen"' in script
    assert str(maps.legend.NARROW_MAP_PX) in script
