"""Evacuation routes (geo.planning.response.evacuation), checked against networkx.

The reference is networkx's Dijkstra on the osmnx graph with every street that touches the
hazard polygon removed -- computed here, independently of the CSR engine.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geo import crs as crs_
from geo import network, runs
from geo.communities.model import Community
from geo.planning.response import evacuation as evac
from tests.test_network import fake_community, tiny_town


@pytest.fixture
def town(tmp_path):
    """The tiny town (3x3 grid, a one-way diagonal, a tertiary spur to the north-east) as a
    community routing on it, its walk graph and network."""
    folder = tmp_path / "town"
    folder.mkdir()
    tiny_town(folder / "streets.osm", extra=True)
    community = fake_community(folder)
    graph = network.graph_for(community, "walk")
    return community, graph, network.network_for(community, "walk")


def _xy(graph, node) -> tuple[float, float]:
    return graph.nodes[node]["x"], graph.nodes[node]["y"]


def _node_at(graph, lon: float, lat: float):
    return min(
        graph.nodes,
        key=lambda n: (graph.nodes[n]["x"] - lon) ** 2 + (graph.nodes[n]["y"] - lat) ** 2,
    )


def _places(*points: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "origin_id": [f"p{i}" for i in range(len(points))],
            "origin_kind": ["settlement"] * len(points),
            "origin_name": [f"Place {i}" for i in range(len(points))],
        },
        geometry=[Point(p) for p in points],
        crs=4326,
    )


def _assembly(*points: tuple[float, float]) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "assembly_id": [f"a{i}" for i in range(n)],
            "name_ro": [f"Punct {i}" for i in range(n)],
            "name_hu": [f"Pont {i}" for i in range(n)],
            "name_en": [f"Point {i}" for i in range(n)],
            "approximate": [True] * n,
        },
        geometry=[Point(p) for p in points],
        crs=4326,
    )


def _without(graph, polygon) -> nx.MultiDiGraph:
    """The graph with every edge whose street touches ``polygon`` removed (the reference)."""
    reduced = graph.copy()
    for u, v, k, data in list(graph.edges(keys=True, data=True)):
        line = data.get("geometry") or LineString([_xy(graph, u), _xy(graph, v)])
        if line.intersects(polygon):
            reduced.remove_edge(u, v, k)
    return reduced


def _disc(community: Community, lon: float, lat: float, radius_m: float):
    metric = community.to_metric_geometry(Point(lon, lat)).buffer(radius_m)
    return crs_.project(metric, community.crs, crs_.STORAGE)


def test_route_avoids_a_hazard_on_the_shortest_path(town):
    community, graph, net = town
    lon0, lat0 = 23.60, 46.70
    origin = _node_at(graph, lon0, lat0 + 0.004)  # north-west corner
    target = _node_at(graph, lon0 + 0.004, lat0)  # south-east corner
    shortest = nx.shortest_path(graph, origin, target, weight="travel_time")
    # The hazard: a small disc on the middle street of the shortest path.
    mid = len(shortest) // 2
    a, b = _xy(graph, shortest[mid - 1]), _xy(graph, shortest[mid])
    hazard = _disc(community, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2, 15)
    reduced = _without(graph, hazard)
    expected = nx.shortest_path_length(reduced, origin, target, weight="travel_time")
    free = nx.shortest_path_length(graph, origin, target, weight="travel_time")
    assert expected > free  # the hazard really was on the fastest way

    result = evac.evacuation_routes(
        net, community, _places(_xy(graph, origin)), _assembly(_xy(graph, target)), hazard
    )
    row = result.routes.iloc[0]
    assert bool(row["reachable"])
    assert row["seconds"] == pytest.approx(expected, rel=1e-9)
    assert not row.geometry.intersects(hazard)
    assert row["assembly_id"] == "a0"
    assert row["streets"]  # named streets of the grid ("Row 2 → Column 2 ...")
    assert result.closed_edges > 0


def test_nearest_safe_assembly_point_is_chosen_and_one_inside_the_hazard_is_not(town):
    community, graph, net = town
    origin = _node_at(graph, 23.60, 46.70)
    near = _node_at(graph, 23.602, 46.70)
    far = _node_at(graph, 23.604, 46.704)
    hazard = _disc(community, *_xy(graph, near), 30)  # the near point burns
    result = evac.evacuation_routes(
        net,
        community,
        _places(_xy(graph, origin)),
        _assembly(_xy(graph, near), _xy(graph, far)),
        hazard,
    )
    assert list(result.assembly["status"]) == ["in_hazard", "safe"]
    row = result.routes.iloc[0]
    assert row["assembly_id"] == "a1"
    expected = nx.shortest_path_length(_without(graph, hazard), origin, far, weight="travel_time")
    assert row["seconds"] == pytest.approx(expected, rel=1e-9)


def test_no_route_when_the_assembly_point_is_cut_off(town):
    community, graph, net = town
    origin = _node_at(graph, 23.60, 46.70)
    end = _node_at(graph, 23.606, 46.706)  # the end of the north-east spur
    spur_mid = _xy(graph, _node_at(graph, 23.604, 46.704))
    end_xy = _xy(graph, end)
    hazard = _disc(community, (spur_mid[0] + end_xy[0]) / 2, (spur_mid[1] + end_xy[1]) / 2, 20)
    reference = _without(graph, hazard)
    assert not nx.has_path(reference, origin, end)  # the independent check: cut off

    result = evac.evacuation_routes(
        net, community, _places(_xy(graph, origin)), _assembly(end_xy), hazard
    )
    assert list(result.assembly["status"]) != ["in_hazard"]  # outside the hazard, but cut off
    row = result.routes.iloc[0]
    assert not bool(row["reachable"])
    assert row.geometry is None
    assert np.isnan(row["seconds"])
    assert len(result.unreachable) == 1
    for lang, word in (("ro", "Nu există"), ("hu", "nincs"), ("en", "No ")):
        text = evac.no_route_text(row, lang)
        assert word in text and "Place 0" in text


def test_a_place_inside_the_hazard_walks_out_to_an_open_street(town):
    community, graph, net = town
    inside = _node_at(graph, 23.602, 46.702)  # the centre of the grid
    target = _node_at(graph, 23.604, 46.70)
    hazard = _disc(community, *_xy(graph, inside), 40)
    result = evac.evacuation_routes(
        net, community, _places(_xy(graph, inside)), _assembly(_xy(graph, target)), hazard
    )
    row = result.routes.iloc[0]
    assert bool(row["reachable"])
    # Only the first straight walk lies in the hazard: the streets driven or walked do not.
    coords = list(row.geometry.coords)
    assert not LineString(coords[1:]).intersects(hazard.buffer(-1e-7))


def test_no_assembly_point_is_too_few(town):
    community, graph, net = town
    result = evac.evacuation_routes(
        net, community, _places((23.60, 46.70)), _assembly(), shapely.Polygon()
    )
    assert result.too_few
    assert result.message("hu") != result.message("en")


def test_scenarios_are_taxonomy_hazards_and_the_sketch_is_approximate():
    from geo import taxonomy

    assert set(evac.scenarios()) <= set(taxonomy.hazards())
    assert "landfill_fire_smoke" in evac.scenarios() and "flooding" in evac.scenarios()
    with pytest.raises(evac.EvacuationError):
        evac.scenario("nonsense")
    pata = fake_community(slug="pata-rat")
    points = evac.assembly_points(pata)
    assert len(points) >= 3 and points["approximate"].all()
    assert points["name_hu"].str.contains("hozzávetőleges").all()


@pytest.mark.db
def test_stored_landfill_fire_run_on_pata_rat(loaded_engine):
    community = Community.load(loaded_engine, "pata-rat")
    run = evac.run_evacuation(loaded_engine, community, "landfill_fire_smoke")
    stored = runs.get_run(loaded_engine, run.id)
    assert stored.kind == evac.KIND and stored.scope == "aggregated"
    assert stored.params["scenario"] == "landfill_fire_smoke"
    assert set(stored.outputs) == {"gpkg", "csv"}
    layers = evac.load_outputs(stored)
    routes = layers["routes"]
    assert set(routes["origin_kind"]) >= {"settlement", "zone"}
    hazard = run.result.hazard.geometry.iloc[0]
    assert not hazard.is_empty and run.result.closed_edges > 0
    reachable = run.result.routes[run.result.routes["reachable"]]
    assert len(reachable) > 0
    for row in reachable.itertuples():
        assert row.streets
        if not hazard.intersects(Point(row.geometry.coords[0])):
            assert not row.geometry.intersects(hazard)


@pytest.mark.db
def test_evacuate_command_prints_each_place_and_writes_the_geopackage(loaded_db_url, tmp_path):
    from typer.testing import CliRunner

    from geo.planning.response.evac_cli import evac_app

    out = tmp_path / "routes.gpkg"
    env = {"DATABASE_URL": loaded_db_url, "HARTA_LANGUAGE": "hu"}
    args = ["evacuate", "--community", "pata-rat", "--scenario", "flooding", "--out", str(out)]
    result = CliRunner().invoke(evac_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "Kiürítési útvonalak" in result.output and "Gyülekezési pont" in result.output
    routes = gpd.read_file(out, layer="routes")
    assert {"Cantonului", "Dallas"} <= set(routes["origin_name"])
    refused = CliRunner().invoke(
        evac_app, ["evacuate", "--community", "pata-rat", "--scenario", "nope"], env=env
    )
    assert refused.exit_code == 1 and "Ismeretlen kiürítési forgatókönyv" in refused.output
