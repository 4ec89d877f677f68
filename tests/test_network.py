"""Offline street graphs: loading, drive/walk modes, the GraphML cache, street tables."""

from __future__ import annotations

import time
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest

from geo import osm
from geo.settings import DATA_SOURCES_DIR

PATA_RAT_OSM = DATA_SOURCES_DIR / "osm" / "pata-rat_drive-network_bbox_2025-10-30.osm"
STRADA_CANTONULUI = 169263653
CALEA_DEZMIRULUI = "Calea Dezmirului"
CANTONULUI_STOP = (23.691748, 46.781544)  # lon, lat of GTFS stop 394


def write_osm(path: Path, ways: list[tuple[int, dict[str, str], list[tuple[float, float]]]]):
    """Write a tiny OSM XML file: each way is (id, tags, [(lon, lat), ...]); nodes are shared
    when coordinates repeat."""
    node_ids: dict[tuple[float, float], int] = {}
    way_xml = []
    for way_id, tags, coords in ways:
        refs = [node_ids.setdefault(c, len(node_ids) + 1) for c in coords]
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        way_xml.append(f'<way id="{way_id}">{nds}{tag_xml}</way>')
    nodes = "".join(
        f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for (lon, lat), i in node_ids.items()
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}{"".join(way_xml)}</osm>',
        encoding="utf-8",
    )
    return path


def tiny_town(path: Path, lon: float = 23.60, lat: float = 46.70, extra: bool = False) -> Path:
    """A 3x3 street grid plus a footway and a private service road (not drivable)."""
    step = 0.002
    ways = []
    way_id = 100
    for i in range(3):
        row = [(round(lon + j * step, 6), round(lat + i * step, 6)) for j in range(3)]
        col = [(round(lon + i * step, 6), round(lat + j * step, 6)) for j in range(3)]
        ways.append((way_id, {"highway": "residential", "name": f"Row {i}"}, row))
        ways.append((way_id + 1, {"highway": "residential", "name": f"Column {i}"}, col))
        way_id += 2
    ways.append(
        (
            200,
            {"highway": "residential", "oneway": "yes", "maxspeed": "30"},
            [(lon, lat), (round(lon + step, 6), round(lat + step, 6))],
        )
    )
    ways.append((300, {"highway": "footway"}, [(lon, lat), (lon - step, lat - step)]))
    ways.append(
        (
            301,
            {"highway": "service", "service": "driveway"},
            [(round(lon + 2 * step, 6), lat), (round(lon + 3 * step, 6), lat)],
        )
    )
    if extra:
        ways.append(
            (
                400,
                {"highway": "tertiary"},
                [
                    (round(lon + 2 * step, 6), round(lat + 2 * step, 6)),
                    (round(lon + 3 * step, 6), round(lat + 3 * step, 6)),
                ],
            )
        )
    return write_osm(path, ways)


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    """A private HARTA_DATA_DIR for this module, so cache hits and misses are ours."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARTA_DATA_DIR", str(tmp_path_factory.mktemp("harta-data")))
        yield


@pytest.fixture(scope="module")
def pata_rat(cache_env):
    """Drive and walk graphs of Pata Rât, built once (through the cache) with timings."""
    started = time.perf_counter()
    drive = osm.cached_graph(PATA_RAT_OSM, "drive")
    built_s = time.perf_counter() - started
    started = time.perf_counter()
    walk = osm.cached_graph(PATA_RAT_OSM, "walk")
    walk_s = time.perf_counter() - started
    return {"drive": drive, "walk": walk, "built_s": built_s, "walk_s": walk_s}


def test_pata_rat_graph_has_strada_cantonului(pata_rat):
    drive = pata_rat["drive"]
    print(
        f"\nPata Rât drive graph: {len(drive)} nodes, {drive.number_of_edges()} edges, "
        f"built in {pata_rat['built_s']:.2f} s; walk derived in {pata_rat['walk_s']:.2f} s"
    )
    cantonului = [
        d
        for _, _, d in drive.edges(data=True)
        if STRADA_CANTONULUI in (d["osmid"] if isinstance(d["osmid"], list) else [d["osmid"]])
    ]
    assert cantonului
    names = {
        n for d in cantonului for n in (d["name"] if isinstance(d["name"], list) else [d["name"]])
    }
    assert "Strada Cantonului" in names
    assert all(d["maxspeed_kph"] == 50.0 for d in cantonului)  # "RO:urban" understood
    assert len(drive) > 500 and drive.number_of_edges() > 1000


def test_route_from_cantonului_stop_to_calea_dezmirului(pata_rat):
    drive = pata_rat["drive"]
    origin = osm.nearest_node(drive, *CANTONULUI_STOP)
    # Nodes are intersections and dead ends: the nearest one is the north end of Strada
    # Cantonului, about 180 m from the stop on Strada Traian Vuia.
    origin_xy = (drive.nodes[origin]["x"], drive.nodes[origin]["y"])
    distance = ox.distance.great_circle(origin_xy[1], origin_xy[0], *CANTONULUI_STOP[::-1])
    assert distance < 250
    dezmirului = [(u, v) for u, v, d in drive.edges(data=True) if d.get("name") == CALEA_DEZMIRULUI]
    assert dezmirului
    target = dezmirului[0][1]
    route = ox.routing.shortest_path(drive, origin, target, weight="length")
    assert route[0] == origin and route[-1] == target
    route_length = ox.routing.route_to_gdf(drive, route, weight="length")["length"].sum()
    expected = nx.shortest_path_length(drive, origin, target, weight="length")
    assert route_length == pytest.approx(expected, rel=1e-9)
    assert 100 < route_length < 5000


def test_walk_graph_is_symmetric(pata_rat):
    walk = pata_rat["walk"]
    for u, v, key, data in walk.edges(keys=True, data=True):
        assert walk.has_edge(v, u, key), (u, v, key)
        assert walk.edges[v, u, key]["length"] == data["length"]


def test_walk_graph_can_go_against_one_way_streets(pata_rat):
    drive, walk = pata_rat["drive"], pata_rat["walk"]
    one_way = [(u, v) for u, v, d in drive.edges(data=True) if not drive.has_edge(v, u)]
    assert one_way, "the Pata Rât extract has one-way streets"
    u, v = one_way[0]
    assert walk.has_edge(v, u)


def test_walk_is_slower_than_drive_by_the_speed_ratio(pata_rat):
    drive, walk = pata_rat["drive"], pata_rat["walk"]
    u, v, key, d_drive = next(
        (u, v, k, d)
        for u, v, k, d in drive.edges(keys=True, data=True)
        if d.get("name") == "Strada Cantonului"
    )
    d_walk = min(walk[u][v].values(), key=lambda d: abs(d["length"] - d_drive["length"]))
    ratio = d_walk["travel_time"] / d_drive["travel_time"]
    assert ratio == pytest.approx(d_drive["speed_kph"] / osm.WALK_SPEED_KPH)
    assert d_walk["speed_kph"] == osm.WALK_SPEED_KPH
    assert ratio > 5


def test_cache_is_used_on_second_load_and_rebuilt_when_the_file_changes(cache_env, tmp_path):
    source = tiny_town(tmp_path / "town.osm")
    first = osm.cached_graph(source, "drive")
    second = osm.cached_graph(source, "drive")
    assert (first.graph["harta_cache"], second.graph["harta_cache"]) == ("built", "hit")
    assert second.number_of_edges() == first.number_of_edges()
    assert osm.cache_path(source, "drive").is_file()
    tiny_town(source, extra=True)
    third = osm.cached_graph(source, "drive")
    assert third.graph["harta_cache"] == "built"
    assert third.number_of_edges() > first.number_of_edges()


def test_pata_rat_cache_loads_faster_than_a_build(pata_rat):
    started = time.perf_counter()
    again = osm.cached_graph(PATA_RAT_OSM, "drive")
    load_s = time.perf_counter() - started
    print(f"\nPata Rât cache load: {load_s:.2f} s (build {pata_rat['built_s']:.2f} s)")
    assert again.graph["harta_cache"] == "hit"
    assert again.number_of_edges() == pata_rat["drive"].number_of_edges()
    assert load_s < pata_rat["built_s"]


def test_graph_for_a_bundled_community_uses_its_osm_file(pata_rat):
    graph = osm.graph_for("pata-rat", "walk")
    assert graph.graph["harta_cache"] == "hit"
    assert graph.number_of_edges() == pata_rat["walk"].number_of_edges()


def test_only_drivable_ways_are_loaded(tmp_path):
    graph = osm.load_network(tiny_town(tmp_path / "town.osm"))
    way_ids = set()
    for _, _, data in graph.edges(data=True):
        ids = data["osmid"] if isinstance(data["osmid"], list) else [data["osmid"]]
        way_ids.update(ids)
    assert 200 in way_ids and 100 in way_ids
    assert not way_ids & {300, 301}  # footway and driveway


def test_streets_gdf_columns(pata_rat):
    streets = osm.streets_gdf(pata_rat["drive"])
    assert list(streets.columns) == osm.STREET_COLUMNS
    assert len(streets) == pata_rat["drive"].number_of_edges()
    row = streets[streets["osm_id"] == STRADA_CANTONULUI].iloc[0]
    assert row["name"] == "Strada Cantonului" and row["highway"] == "residential"
    assert row["walk_time_s"] == pytest.approx(row["length_m"] / (osm.WALK_SPEED_KPH / 3.6))
    assert row["drive_time_s"] == pytest.approx(row["length_m"] / (50 / 3.6))
    assert set(streets.geometry.geom_type) == {"LineString"}
    assert streets.crs.to_epsg() == 4326


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        ("RO:urban", 50.0),
        ("BG:rural", 90.0),
        ("30 mph", 48.28032),
        (["50", "30"], 30.0),
        ("signals", None),
        (None, None),
    ],
)
def test_parse_maxspeed(value, expected):
    parsed = osm.parse_maxspeed(value)
    if expected is None:
        assert parsed != parsed  # NaN
    else:
        assert parsed == pytest.approx(expected)


def test_refresh_from_overpass_refuses_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("HARTA_ONLINE", raising=False)
    with pytest.raises(PermissionError, match="HARTA_ONLINE"):
        osm.refresh_from_overpass((23.6, 46.76, 23.72, 46.8), tmp_path / "x.graphml")


def test_bad_osm_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.osm"):
        osm.load_network(bad)
