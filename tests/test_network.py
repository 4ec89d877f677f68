"""Streets and routing (geo.network): offline graphs, the CSR engine, snapping, isochrones, routes.

The city graph (the shipped Cluj-Napoca network) is built once into the run's HARTA_DATA_DIR cache
and reused; the cache tests use a private data folder and small synthetic OSM files.
"""

from __future__ import annotations

import bz2
import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from shapely.geometry import MultiPolygon, Point, box

from geo import crs as crs_
from geo import network
from geo.communities.model import Community
from geo.network import snap as snap_
from geo.network.matrix import network_from_graph
from geo.settings import DATA_SOURCES_DIR

CITY_OSM = DATA_SOURCES_DIR / "osm" / "cluj-napoca_drive-network_2025-10-30.osm.bz2"
STRADA_CANTONULUI = 169263653
CALEA_DEZMIRULUI = "Calea Dezmirului"
CANTONULUI_STOP = (23.691748, 46.781544)  # lon, lat of GTFS stop 394
PATA_RAT_PLACE = (23.6897147, 46.7741712)
COUNTY_HOSPITAL = (23.5838, 46.7665)  # Spitalul Clinic Judeţean, city centre (approximate)


def fake_community(source_dir: Path | None = None, slug: str = "test-town") -> Community:
    """A Community as Community.load makes it, without a database (UTM 34N, Cluj and Pernik)."""
    return Community(
        id=1,
        slug=slug,
        name=slug,
        kind="community",
        parent_id=None,
        parent_slug=None,
        settlement_ids=(),
        timezone="Europe/Bucharest",
        crs=crs_.to_crs(32634),
        geometry=MultiPolygon([box(23.5, 46.6, 23.8, 46.9)]),
        source_dir=str(source_dir) if source_dir else None,
    )


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
    """A private HARTA_DATA_DIR for this module's cache tests, so hits and misses are ours."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARTA_DATA_DIR", str(tmp_path_factory.mktemp("harta-data")))
        yield


@pytest.fixture(scope="module")
def city():
    """The shipped city network: graphs and matrix, from the run's cache (built once)."""
    drive = network.cached_graph(CITY_OSM, "drive")
    built = drive.graph.get("harta_build_s", 0.0)
    print(f"\nCluj-Napoca drive graph: {len(drive)} nodes, {drive.number_of_edges()} edges, "
          f"cache {drive.graph['harta_cache']} ({built:.1f} s)")  # fmt: skip
    return {
        "drive": drive,
        "walk": network.cached_graph(CITY_OSM, "walk"),
        "net": network.cached_network(CITY_OSM, "drive"),
        "walk_net": network.cached_network(CITY_OSM, "walk"),
    }


@pytest.fixture
def town(tmp_path):
    """The tiny town's drive network and a community around it."""
    path = tiny_town(tmp_path / "town.osm")
    return network.network_from_graph(network.build_graph(path, "drive")), fake_community()


# -- the shipped network --------------------------------------------------------------------


def test_city_graph_has_strada_cantonului_and_the_county_hospital_side(city):
    drive = city["drive"]
    cantonului = [
        d
        for _, _, d in drive.edges(data=True)
        if STRADA_CANTONULUI in (d["osmid"] if isinstance(d["osmid"], list) else [d["osmid"]])
    ]
    assert cantonului and all(d["maxspeed_kph"] == 50.0 for d in cantonului)  # "RO:urban"
    xs = [d["x"] for _, d in drive.nodes(data=True)]
    # The whole city, not the Pata Rât clip (which stopped at 23.59 E).
    assert min(xs) < 23.52 and max(xs) > 23.72
    assert len(drive) > 3000


def test_travel_times_equal_networkx_dijkstra_on_the_shipped_graph(city):
    net, drive = city["net"], city["drive"]
    sources = np.random.default_rng(12).choice(net.n_nodes, 12, replace=False)
    engine = network.node_times(net, sources)
    worst = 0.0
    for row, source in zip(engine, sources, strict=True):
        ref = np.full(net.n_nodes, np.inf)
        lengths = nx.single_source_dijkstra_path_length(
            drive, int(net.node_ids[source]), weight="travel_time"
        )
        for node, seconds in lengths.items():
            ref[net.node_index(node)] = seconds
        assert np.array_equal(np.isfinite(row), np.isfinite(ref))
        finite = np.isfinite(ref)
        worst = max(worst, float(np.abs(row[finite] - ref[finite]).max()))
    print(f"\nlargest difference from networkx: {worst:.3g} s")
    assert worst < 1e-6


def test_matrix_keeps_the_fastest_of_parallel_edges_on_the_city_graph(city):
    net, drive = city["net"], city["drive"]
    parallel = [(u, v) for u, v in {(u, v) for u, v, _ in drive.edges(keys=True)}
                if u != v and drive.number_of_edges(u, v) > 1]  # fmt: skip
    assert parallel, "the city graph has parallel streets"
    for u, v in parallel:
        times = [d["travel_time"] for d in drive[u][v].values()]
        i, j = net.node_index(u), net.node_index(v)
        assert net.matrix[i, j] == min(times) < sum(times)


def test_parallel_edges_are_not_summed():
    graph = nx.MultiDiGraph()
    graph.add_node(1, x=23.60, y=46.70)
    graph.add_node(2, x=23.61, y=46.70)
    graph.add_edge(1, 2, travel_time=100.0, length=900.0)
    graph.add_edge(1, 2, travel_time=60.0, length=1000.0)
    graph.add_edge(2, 1, travel_time=75.0, length=1000.0)
    net = network_from_graph(graph, mode="drive")
    assert net.matrix[0, 1] == 60.0  # a COO->CSR conversion would give 160
    assert net.edge_length_m[net.edge_index(0, 1)] == 1000.0  # the kept street's own length
    assert net.matrix.nnz == 2
    assert network.node_times(net, [0])[0, 1] == 60.0


def test_npz_cache_round_trips_the_network(city, tmp_path):
    from geo.network.matrix import load_network_file, save_network

    net = city["net"]
    save_network(net, tmp_path / "n.npz")
    again = load_network_file(tmp_path / "n.npz")
    assert (again.matrix != net.matrix).nnz == 0
    assert np.array_equal(again.node_ids, net.node_ids)
    assert shapely.equals_exact(again.edge_geometry, net.edge_geometry, 0).all()


# -- direction, snapping, unreachable -------------------------------------------------------


def test_times_are_directed_on_a_one_way_street(town):
    net, _ = town
    # Way 200 is one-way from the south-west corner to the centre of the grid.
    corner = net.node_index(1)
    centre = int(np.argmin(np.hypot(net.lon - 23.602, net.lat - 46.702)))
    forward = network.node_times(net, [corner])[0, centre]
    back = network.node_times(net, [centre])[0, corner]
    assert forward == pytest.approx(net.matrix[corner, centre])
    assert back > forward * 1.2  # the way back goes round the block


def test_snapping_adds_the_walk_at_walking_speed_in_drive_mode(town):
    net, community = town
    # A point 40 m south of the middle of the southern street (Row 0), measured in metres.
    mx, my = community.to_metric.transform(23.601, 46.700)
    off_street = Point(*community.to_wgs84.transform(mx, my - 40.0))
    snapped = network.snap_points(net, community, [off_street])
    assert snapped.distance_m.min() == pytest.approx(40.0, abs=0.5)
    # The point of the street it snapped to, as an origin of its own.
    view = snap_.metric_view(net, community)
    foot = shapely.line_interpolate_point(
        view.edges[snapped.edge[0]], snapped.fraction[0], normalized=True
    )
    on_street = Point(*community.to_wgs84.transform(foot.x, foot.y))
    target = [(23.604, 46.704)]
    t_on = network.travel_times(net, community, [on_street], target)[0, 0]
    t_off = network.travel_times(net, community, [off_street], target)[0, 0]
    walk_s = snapped.distance_m.min() / snap_.WALK_SPEED_MS
    assert t_off - t_on == pytest.approx(walk_s, abs=1e-6)
    assert walk_s == pytest.approx(40.0 / (network.WALK_SPEED_KPH / 3.6), rel=0.02)  # ~32 s
    # Drive speed would have made the 40 m cost about 3 s.
    assert t_off - t_on > 25


def test_unreachable_is_empty_not_zero(tmp_path):
    step, street = 0.002, {"highway": "residential"}

    def at(i: int, j: int) -> tuple[float, float]:
        return (round(23.6 + j * step, 6), round(46.7 + i * step, 6))

    grid = [(100 + i, street, [at(i, j) for j in range(3)]) for i in range(3)]
    grid += [(200 + j, street, [at(i, j) for i in range(3)]) for j in range(3)]
    # A one-way street out of the grid into a dead end: its far end cannot be left.
    one_way = {"highway": "residential", "oneway": "yes"}
    grid.append((300, one_way, [(23.604, 46.704), (23.608, 46.708)]))
    net = network_from_graph(network.build_graph(write_osm(tmp_path / "o.osm", grid), "drive"))
    community = fake_community()
    dead_end, square = [(23.608, 46.708)], [(23.602, 46.702), (23.6, 46.7)]
    times = network.travel_times(net, community, dead_end, square)
    assert np.isinf(times).all()
    assert np.isfinite(network.travel_times(net, community, square, dead_end)).all()
    table = network.od_table(times, ["end"], ["a", "b"])
    assert table["seconds"].isna().all()
    table.to_csv(tmp_path / "od.csv", index=False)
    lines = (tmp_path / "od.csv").read_text().splitlines()
    assert lines == ["from_id,to_id,seconds", "end,a,", "end,b,"]
    assert network.route(net, community, dead_end[0], square[0]) is None


def test_k_nearest_equals_sorting_every_time(city):
    net, community = city["net"], fake_community()
    rng = np.random.default_rng(5)
    responders = np.column_stack([rng.uniform(23.55, 23.72, 9), rng.uniform(46.74, 46.80, 9)])
    places = np.column_stack([rng.uniform(23.60, 23.72, 30), rng.uniform(46.76, 46.80, 30)])
    times = network.travel_times(net, community, responders, places)
    index, seconds = network.nearest_sources(net, community, responders, places, k=2)
    expected = np.sort(times, axis=0)[:2].T
    assert np.array_equal(seconds, expected)
    assert np.array_equal(np.take_along_axis(times.T, index, axis=1), expected)


def test_route_seconds_and_geometry_match_the_times(city):
    net, community = city["net"], fake_community()
    found = network.route(net, community, COUNTY_HOSPITAL, CANTONULUI_STOP)
    times = network.travel_times(net, community, [COUNTY_HOSPITAL], [CANTONULUI_STOP])
    assert found.seconds == pytest.approx(times[0, 0], rel=1e-12)
    assert found.geometry.coords[0] == pytest.approx(COUNTY_HOSPITAL)
    assert found.geometry.coords[-1] == pytest.approx(CANTONULUI_STOP)
    metric = community.to_metric_geometry(found.geometry)
    assert 5_000 < metric.length < 15_000  # across the city, not a straight line
    back = network.route(net, community, CANTONULUI_STOP, COUNTY_HOSPITAL)
    assert back.seconds != found.seconds  # directed


# -- isochrones -----------------------------------------------------------------------------


def _node_times_from_point(net, community, point):
    """Seconds from a point to every node, by networkx on the graph plus the snapped edges."""
    snapped = network.snap_points(net, community, [point])
    graph = nx.DiGraph()
    for k in range(net.matrix.nnz):
        graph.add_edge(int(net.edge_u[k]), int(net.edge_v[k]), w=float(net.edge_time_s[k]))
    for edge, f, walk in zip(snapped.edge, snapped.fraction, snapped.offset_s, strict=True):
        seconds = walk + (1 - f) * net.edge_time_s[edge]
        v = int(net.edge_v[edge])
        if not graph.has_edge("origin", v) or graph["origin"][v]["w"] > seconds:
            graph.add_edge("origin", v, w=seconds)
    found = nx.single_source_dijkstra_path_length(graph, "origin", weight="w")
    return np.array([found.get(i, np.inf) for i in range(net.n_nodes)])


@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_isochrone_holds_exactly_the_nodes_reached_in_time(city, mode):
    net = city["net"] if mode == "drive" else city["walk_net"]
    community = fake_community()
    minutes = (3, 6) if mode == "drive" else (15,)
    # Two origins: the area is reached from whichever is nearer.
    origins = [CANTONULUI_STOP, COUNTY_HOSPITAL]
    result = network.isochrone_polygons(net, community, origins, minutes)
    times = np.minimum(*(_node_times_from_point(net, community, o) for o in origins))
    view = snap_.metric_view(net, community)
    nodes = shapely.points(np.column_stack([view.x, view.y]))
    for row in result.itertuples():
        area = community.to_metric_geometry(row.geometry)
        reached = times <= row.seconds
        inside = shapely.contains(area, nodes)
        assert reached.sum() == row.nodes_reached > 10
        assert np.array_equal(inside, reached), (row.minutes, np.flatnonzero(inside != reached))
        # The attack: unreached nodes close to reached streets, which a plain buffer would claim.
        streets = shapely.union_all(view.edges[reached[net.edge_u] & reached[net.edge_v]])
        near = shapely.dwithin(streets, nodes[~reached], network.BUFFER_M).sum()
        print(f"\n{mode} {row.minutes:g} min: {reached.sum()} nodes reached, "
              f"{near} unreached within {network.BUFFER_M:g} m of a reached street")  # fmt: skip


def test_isochrone_is_not_a_hull(city):
    community = fake_community()
    result = network.isochrone_polygons(city["net"], community, [PATA_RAT_PLACE], [5])
    area = community.to_metric_geometry(result.geometry.iloc[0])
    hull = area.convex_hull
    assert area.area < 0.5 * hull.area  # streets buffered, not the hull of reached points


# -- files, caches, modes (synthetic) -------------------------------------------------------


def test_bzip2_osm_reads_like_the_plain_file(tmp_path):
    plain = tiny_town(tmp_path / "town.osm")
    packed = tmp_path / "streets.osm"  # a compressed file under a plain name, as copied
    packed.write_bytes(bz2.compress(plain.read_bytes()))
    a, b = network.load_network(plain), network.load_network(packed)
    assert sorted(a.edges()) == sorted(b.edges())


def test_cache_is_used_on_second_load_and_rebuilt_when_the_file_changes(cache_env, tmp_path):
    source = tiny_town(tmp_path / "town.osm")
    first = network.cached_graph(source, "drive")
    second = network.cached_graph(source, "drive")
    assert (first.graph["harta_cache"], second.graph["harta_cache"]) == ("built", "hit")
    assert second.number_of_edges() == first.number_of_edges()
    assert network.cache_path(source, "drive").is_file()
    net = network.cached_network(source, "drive")
    assert net.matrix.nnz > 0 and list(network.cache_path(source, "drive").parent.glob("*.npz"))
    tiny_town(source, extra=True)
    third = network.cached_graph(source, "drive")
    assert third.graph["harta_cache"] == "built"
    assert third.number_of_edges() > first.number_of_edges()
    assert network.cached_network(source, "drive").matrix.nnz > net.matrix.nnz


def test_a_community_routes_on_the_file_its_config_names(tmp_path):
    folder = tmp_path / "town"
    folder.mkdir()
    tiny_town(folder / "my-streets.osm")
    (folder / "community.json").write_text(json.dumps({"files": {"streets": "my-streets.osm"}}))
    community = fake_community(folder)
    assert network.osm_file_of(community) == (folder / "my-streets.osm").resolve()
    with pytest.raises(network.NetworkError) as caught:
        network.osm_file_of(fake_community(tmp_path / "nowhere", slug="nowhere"))
    assert "nowhere" in caught.value.message("hu")


def test_walk_graph_is_symmetric_and_ignores_one_way_signs(city):
    drive, walk = city["drive"], city["walk"]
    for u, v, key, data in walk.edges(keys=True, data=True):
        assert walk.has_edge(v, u, key), (u, v, key)
        assert walk.edges[v, u, key]["length"] == data["length"]
    one_way = [(u, v) for u, v in drive.edges() if not drive.has_edge(v, u)]
    assert one_way
    assert all(walk.has_edge(v, u) for u, v in one_way)


def test_walk_is_slower_than_drive_by_the_speed_ratio(city):
    drive, walk = city["drive"], city["walk"]
    u, v, d_drive = next(
        (u, v, d) for u, v, d in drive.edges(data=True) if d.get("name") == "Strada Cantonului"
    )
    d_walk = min(walk[u][v].values(), key=lambda d: abs(d["length"] - d_drive["length"]))
    assert d_walk["travel_time"] / d_drive["travel_time"] == pytest.approx(
        d_drive["speed_kph"] / network.WALK_SPEED_KPH
    )
    assert d_walk["speed_kph"] == network.WALK_SPEED_KPH


def test_only_drivable_ways_are_loaded(tmp_path):
    graph = network.load_network(tiny_town(tmp_path / "town.osm"))
    way_ids = set()
    for _, _, data in graph.edges(data=True):
        way_ids.update(data["osmid"] if isinstance(data["osmid"], list) else [data["osmid"]])
    assert 200 in way_ids and 100 in way_ids
    assert not way_ids & {300, 301}  # footway and driveway


def test_streets_gdf_columns(city):
    streets = network.streets_gdf(city["drive"])
    assert list(streets.columns) == network.STREET_COLUMNS
    assert len(streets) == city["drive"].number_of_edges()
    row = streets[streets["osm_id"] == STRADA_CANTONULUI].iloc[0]
    assert row["name"] == "Strada Cantonului" and row["highway"] == "residential"
    assert row["walk_time_s"] == pytest.approx(row["length_m"] / (network.WALK_SPEED_KPH / 3.6))
    assert row["drive_time_s"] == pytest.approx(row["length_m"] / (50 / 3.6))
    assert set(streets.geometry.geom_type) == {"LineString"}
    assert streets.crs.to_epsg() == 4326


def test_nearest_node_of_the_cantonului_stop(city):
    drive = city["drive"]
    origin = network.nearest_node(drive, *CANTONULUI_STOP)
    xy = (drive.nodes[origin]["x"], drive.nodes[origin]["y"])
    assert ox.distance.great_circle(xy[1], xy[0], *CANTONULUI_STOP[::-1]) < 250


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
    parsed = network.parse_maxspeed(value)
    if expected is None:
        assert parsed != parsed  # NaN
    else:
        assert parsed == pytest.approx(expected)


def test_refresh_from_overpass_refuses_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("HARTA_ONLINE", raising=False)
    with pytest.raises(PermissionError, match="HARTA_ONLINE"):
        network.refresh_from_overpass((23.6, 46.76, 23.72, 46.8), tmp_path / "x.graphml")


def test_bad_osm_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.osm"):
        network.load_network(bad)
    with pytest.raises(network.NetworkError):
        network.check_mode("bike")


# -- a community added from its own OSM file (database) --------------------------------------


def test_a_community_added_from_its_own_osm_file_gets_times_and_isochrones(db_url, tmp_path):
    from sqlalchemy import create_engine
    from typer.testing import CliRunner

    from geo.cli import app

    runner, env = CliRunner(), {"DATABASE_URL": db_url, "HARTA_LANGUAGE": "en"}
    osm = tiny_town(tmp_path / "pernik.osm", lon=23.03, lat=42.60)
    boundary = tmp_path / "pernik.geojson"
    gpd.GeoDataFrame(geometry=[box(23.025, 42.595, 23.04, 42.61)], crs=4326).to_file(boundary)
    added = runner.invoke(app, ["community", "add", "Pernik test", "--boundary", str(boundary),
                                "--osm", str(osm), "--country", "BG"], env=env)  # fmt: skip
    assert added.exit_code == 0, added.output
    points = tmp_path / "points.csv"
    points.write_text("id,lon,lat\nclinic,23.0301,42.6001\nschool,23.0339,42.6041\n")
    od = tmp_path / "od.csv"
    args = ["network", "times", "--community", "pernik-test", "--mode", "walk",
            "--from", str(points), "--to", str(points), "--out", str(od)]  # fmt: skip
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(od)
    assert list(table.columns) == ["from_id", "to_id", "seconds"]
    assert len(table) == 4 and table["seconds"].notna().all()
    # The same numbers as the library gives for the loaded community.
    engine = create_engine(db_url)
    try:
        community = Community.load(engine, "pernik-test")
    finally:
        engine.dispose()
    net = network.network_for(community, "walk")
    expected = network.travel_times(net, community, [(23.0301, 42.6001)], [(23.0339, 42.6041)])
    clinic_to_school = table.query("from_id == 'clinic' and to_id == 'school'")["seconds"].item()
    assert clinic_to_school == pytest.approx(expected[0, 0], abs=1e-3)
    gpkg = tmp_path / "iso.gpkg"
    args = ["network", "isochrones", "--community", "pernik-test", "--from", str(points),
            "--minutes", "1,3", "--out", str(gpkg)]  # fmt: skip
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    areas = gpd.read_file(gpkg)
    assert list(areas["minutes"]) == [1.0, 3.0]
    assert areas.geometry.iloc[1].area > areas.geometry.iloc[0].area > 0
    args = ["network", "times", "--community", "nowhere",
            "--from", str(points), "--to", str(points), "--out", str(od)]  # fmt: skip
    unknown = runner.invoke(app, args, env=env)
    assert unknown.exit_code == 1 and "nowhere" in unknown.output


def test_pata_rat_and_its_settlements_route_on_the_whole_city(loaded_engine, city):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    dallas = Community.load(loaded_engine, "dallas")
    # The copied street file is the city's (bzip2 under the name streets.osm): same content hash.
    assert network.file_sha256(network.osm_file_of(pata_rat)) == network.file_sha256(CITY_OSM)
    net = network.network_for(dallas, "drive")
    assert net.n_nodes == city["net"].n_nodes
    # A responder at the county hospital in the centre reaches Dallas along the city's streets.
    seconds = network.travel_times(net, dallas, [COUNTY_HOSPITAL], [PATA_RAT_PLACE])[0, 0]
    assert 300 < seconds < 3600


def test_k_nearest_over_blocks_of_sources_equals_one_sort():
    from geo.network import times as times_

    rng = np.random.default_rng(1)
    n = 400
    matrix = sp.random(n, n, density=0.02, random_state=1, format="csr")
    matrix.data = rng.uniform(1.0, 9.0, matrix.nnz)
    empty = np.zeros(0, dtype=np.int64)
    net = network.Network("drive", np.arange(n), np.zeros(n), np.zeros(n), matrix, empty, empty,
                          np.zeros(0), np.empty(0))  # fmt: skip
    sources = rng.choice(n, 3 * times_.BLOCK + 5, replace=False)  # several blocks
    index, seconds = network.nearest_source_nodes(net, sources, k=3)
    full = network.node_times(net, sources)
    assert np.array_equal(seconds, np.sort(full, axis=0)[:3].T)
    found = index >= 0
    picked = np.take_along_axis(full.T, np.where(found, index, 0), axis=1)
    assert np.array_equal(picked[found], seconds[found])
    assert np.isinf(seconds[~found]).all()
