"""Coverage and backup coverage (issue 12, item 4), each against an independent reference.

* A hand-made graph whose nearest / second-nearest times and covered counts are worked out by
  hand below, including how the answer changes when the mediator goes home at 16:00.
* The shipped Cluj-Napoca graph: the model's times from responders to places equal networkx's
  Dijkstra between the same nodes.
* The database: a stored ``response_coverage`` run with its GeoPackage, and the CLI through
  typer's CliRunner on the response app.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import text
from typer.testing import CliRunner

from geo import crs as crs_
from geo import network, runs
from geo.communities.model import Community
from geo.network.matrix import network_from_graph
from geo.planning.response import coverage as cov
from geo.planning.response import responders as r
from geo.planning.response.cli import response_app
from geo.settings import DATA_SOURCES_DIR

CITY_OSM = DATA_SOURCES_DIR / "osm" / "cluj-napoca_drive-network_2025-10-30.osm.bz2"
HEALTHCARE = DATA_SOURCES_DIR / "osm" / "cluj-napoca_healthcare_2024-05-23.geojson"
LON0, LAT0, STEP = 23.60, 46.70, 0.002


def community() -> Community:
    """A Community as Community.load makes it, without a database (UTM 34N)."""
    return Community(
        id=1,
        slug="line-town",
        name="Line Town",
        kind="community",
        parent_id=None,
        parent_slug=None,
        settlement_ids=(),
        timezone="Europe/Bucharest",
        crs=crs_.to_crs(32634),
        geometry=MultiPolygon([box(23.59, 46.69, 23.62, 46.71)]),
    )


def at(i: int) -> Point:
    return Point(LON0 + i * STEP, LAT0)


@pytest.fixture(scope="module")
def line():
    """A-B-C-D-E on a straight street, both ways: 60, 120, 60 and 300 seconds."""
    graph = nx.MultiDiGraph()
    for i in range(5):
        graph.add_node(i + 1, x=at(i).x, y=at(i).y)
    for (u, v), seconds in zip([(1, 2), (2, 3), (3, 4), (4, 5)], [60, 120, 60, 300], strict=True):
        graph.add_edge(u, v, travel_time=float(seconds), length=100.0)
        graph.add_edge(v, u, travel_time=float(seconds), length=100.0)
    return network_from_graph(graph, mode="drive")


def _responders() -> gpd.GeoDataFrame:
    always = {}
    rows = [
        (1, "ambulance", at(0), always),  # A
        (2, "ambulance", at(2), always),  # C
        (3, "police", at(4), always),  # E
        (4, "mediator", at(3), r.default_hours("mediator")),  # D, Mon-Fri 08-16
    ]
    return gpd.GeoDataFrame(
        {
            "id": [x[0] for x in rows],
            "kind": [x[1] for x in rows],
            "hours": [x[3] for x in rows],
            "at_home": False,
            "exact": True,
        },
        geometry=[x[2] for x in rows],
        crs=4326,
    )


def _demand() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "place_id": ["B", "D", "E"],
            "place_type": "settlement",
            "settlement": "line-town",
            "name": ["B", "D", "E"],
            "weight": [1.0, 2.0, 3.0],
            "is_demo": False,
        },
        geometry=[at(1), at(3), at(4)],
        crs=4326,
    )


def _model(line, **kw) -> cov.CoverageModel:
    return cov.CoverageModel(
        network=line,
        community=community(),
        demand=_demand(),
        responders=_responders(),
        minutes=3.0,
        **kw,
    )


def _row(result, place, kind):
    frame = result.by_kind
    return frame[(frame["place_id"] == place) & (frame["kind"] == kind)].iloc[0]


def test_ambulance_nearest_second_and_backup_by_hand(line):
    result = _model(line, kinds=("ambulance",)).solve()
    assert not result.too_few
    # B: from A 60 s, from C 120 s -> both within 180 s: covered and backed up.
    b = _row(result, "B", "ambulance")
    assert (b.nearest_id, b.nearest_s, b.second_id, b.second_s) == (1, 60, 2, 120)
    assert (b.n_within, b.covered, b.backup) == (2, True, True)
    # D: from C 60 s, from A 60+120+60 = 240 s -> covered, no backup.
    d = _row(result, "D", "ambulance")
    assert (d.nearest_id, d.nearest_s, d.second_id, d.second_s) == (2, 60, 1, 240)
    assert (d.n_within, d.covered, d.backup) == (1, True, False)
    # E: from C 60+300 = 360 s, from A 540 s -> uncovered.
    e = _row(result, "E", "ambulance")
    assert (e.nearest_s, e.second_s, e.n_within, e.covered) == (360, 540, 0, False)
    # The settlement: worst time is E's 360 s; covered weight (1+2)/6; backed up 1/6.
    town = result.settlements.iloc[0]
    assert town.worst_s == 360 and town.worst_place == "E"
    assert town.covered_share == pytest.approx(3 / 6)
    assert town.backup_share == pytest.approx(1 / 6)
    assert dict(zip(result.gaps["place_id"], result.gaps["gap"], strict=True)) == {
        "D": "no_backup",
        "E": "uncovered",
    }


def test_every_kind_at_a_weekday_noon_and_without_the_mediator_on_saturday_night(line):
    noon = _model(line, when="Wed 12:00").solve()
    # Within 180 s of B: A (60), C (120), the mediator at D (180); police at E is 480 s away.
    assert noon.places.set_index("place_id")["n_within"].to_dict() == {"B": 3, "D": 2, "E": 1}
    assert _row(noon, "B", "mediator").nearest_s == 180
    assert _row(noon, "E", "police").nearest_s == 0
    night = _model(line, when="Sat 22:00").solve()
    assert len(night.responders) == 3 and "mediator" not in set(night.by_kind["kind"])
    places = night.places.set_index("place_id")
    assert places["n_within"].to_dict() == {"B": 2, "D": 1, "E": 1}
    assert places["backup"].to_dict() == {"B": True, "D": False, "E": False}
    assert places.loc["D", "nearest_s"] == 60 and places.loc["D", "second_s"] == 240


def test_no_available_responder_is_an_outcome_not_an_error(line):
    result = _model(line, kinds=("mediator",), when="Sun 10:00").solve()
    assert result.too_few and "Sun 10:00" in result.message("en")
    assert result.message("hu") != result.message("en")


def test_the_per_settlement_table_is_translated(line):
    result = _model(line, kinds=("ambulance",)).solve()
    for lang, header in (("ro", "Așezare"), ("hu", "Telep"), ("en", "Settlement")):
        table = result.settlement_table(lang)
        assert header in table.columns
    assert result.settlement_table("en").iloc[0].tolist() == ["Line Town", 3, 50.0, 17.0, "6.0 min"]


def test_gpkg_holds_every_layer_with_unreachable_as_empty(line, tmp_path):
    graph_result = _model(line).solve()
    path = graph_result.to_gpkg(tmp_path / "coverage.gpkg")
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"places", "by_kind", "settlements", "responders"} <= layers
    by_kind = gpd.read_file(path, layer="by_kind")
    assert len(by_kind) == 3 * 3  # ambulance, police, mediator (any time) x 3 places


# -- the shipped graph ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def city():
    return {
        "graph": network.cached_graph(CITY_OSM, "drive"),
        "net": network.cached_network(CITY_OSM, "drive"),
    }


def test_times_equal_networkx_dijkstra_on_the_shipped_graph(city):
    net, graph = city["net"], city["graph"]
    rng = np.random.default_rng(2026)
    picks = rng.choice(net.n_nodes, 7, replace=False)
    sources, targets = picks[:3], picks[3:]
    point = lambda i: Point(net.lon[i], net.lat[i])  # noqa: E731
    responders = gpd.GeoDataFrame(
        {"id": [10, 11, 12], "kind": ["fire", "fire", "police"], "hours": [{}] * 3},
        geometry=[point(i) for i in sources],
        crs=4326,
    )
    demand = gpd.GeoDataFrame(
        {"place_id": [f"p{i}" for i in range(4)], "settlement": "city", "weight": 1.0},
        geometry=[point(i) for i in targets],
        crs=4326,
    )
    cluj = dataclasses.replace(community(), geometry=MultiPolygon([box(23.4, 46.6, 23.8, 46.9)]))
    result = cov.CoverageModel(net, cluj, demand, responders, minutes=8).solve()
    reference = np.full((3, 4), np.inf)
    for a, s in enumerate(sources):
        lengths = nx.single_source_dijkstra_path_length(
            graph, int(net.node_ids[s]), weight="travel_time"
        )
        for b, d in enumerate(targets):
            reference[a, b] = lengths.get(int(net.node_ids[d]), np.inf)
    finite = np.isfinite(reference)
    assert np.array_equal(np.isfinite(result.times), finite)
    assert np.abs(result.times[finite] - reference[finite]).max() < 1e-6
    fire = result.by_kind[result.by_kind["kind"] == "fire"].set_index("place_id")
    for b in range(4):
        expected = np.sort(reference[:2, b])
        assert fire.loc[f"p{b}", "nearest_s"] == pytest.approx(expected[0])
        assert fire.loc[f"p{b}", "second_s"] == pytest.approx(expected[1])
        assert fire.loc[f"p{b}", "n_within"] == int((reference[:2, b] <= 480).sum())


# -- the database and the CLI ----------------------------------------------------------------


@pytest.fixture
def responders_loaded(loaded_engine):
    with loaded_engine.begin() as conn:  # the bootstrap may one day load some: start from none
        conn.execute(text("DELETE FROM responders"))
    pata_rat = Community.load(loaded_engine, "pata-rat")
    r.import_osm_responders(loaded_engine, pata_rat, HEALTHCARE)
    dallas = Community.load(loaded_engine, "dallas").geometry.representative_point()
    r.place_responder(loaded_engine, pata_rat, "community_focal_point", dallas, is_demo=True)
    return pata_rat


@pytest.mark.db
def test_a_stored_coverage_run_of_pata_rat(loaded_engine, responders_loaded):
    run_id, result = cov.run_coverage(
        loaded_engine, responders_loaded, minutes=10, kinds=["hospital", "community_focal_point"]
    )
    assert not result.too_few
    stored = runs.get_run(loaded_engine, run_id)
    assert stored.kind == "response_coverage" and stored.scope == "exact"
    assert stored.outputs["gpkg"].is_file()
    settlements = set(result.settlements["settlement"])
    assert {"cantonului", "dallas", "rampa", "colina-verde"} <= settlements
    types = set(result.places["place_type"])
    assert {"settlement", "households", "risk_zone"} <= types
    assert result.places.loc[result.places["place_type"] == "households", "is_demo"].all()
    # Every settlement point is reached from the hospitals of the city (finite times).
    assert np.isfinite(result.places["nearest_s"]).all()


@pytest.mark.db
def test_cli_coverage_writes_the_gpkg_and_prints_the_table(
    loaded_db_url, responders_loaded, tmp_path
):
    out = tmp_path / "coverage.gpkg"
    env = {"DATABASE_URL": loaded_db_url, "HARTA_LANGUAGE": "en"}
    args = ["coverage", "--community", "pata-rat", "--minutes", "8", "--kind", "hospital",
            "--at", "Sat 22:00", "--out", str(out)]  # fmt: skip
    done = CliRunner().invoke(response_app, args, env=env)
    assert done.exit_code == 0, done.output
    assert out.is_file()
    assert "Settlement" in done.stdout and "Dallas" in done.stdout and "Sat 22:00" in done.stdout
    settlements = gpd.read_file(out, layer="settlements")
    assert len(settlements) >= 4
    with_ro = CliRunner().invoke(response_app, args, env={**env, "HARTA_LANGUAGE": "ro"})
    assert with_ro.exit_code == 0 and "Așezare" in with_ro.stdout


@pytest.mark.db
def test_a_public_reader_runs_coverage_from_the_published_cell(
    loaded_engine, loaded_db_url, responders_loaded
):
    from geo.db.security import role_engine

    public = role_engine(loaded_db_url, "public")
    try:
        model = cov.CoverageModel.from_community(
            public, responders_loaded, minutes=8, kinds=["community_focal_point"]
        )
    finally:
        public.dispose()
    focal = model.responders[model.responders["kind"] == "community_focal_point"]
    assert len(focal) == 1 and not focal["exact"].any()
    with loaded_engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM responders WHERE kind = 'community_focal_point'"
            )
        ).one()
    assert focal.geometry.iloc[0].distance(Point(x, y)) > 0


def test_a_run_with_nobody_available_has_an_empty_translated_table(line):
    result = _model(line, kinds=("mediator",), when="Sat 22:00").solve()
    assert result.too_few
    assert list(result.settlement_table("en").columns)[0] == "Settlement"
    assert len(result.settlement_table("en")) == 0
