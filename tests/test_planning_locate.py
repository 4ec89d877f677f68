"""New posts (issue 12, item 5): the location models find the optimum a brute force finds.

Small instances are enumerated with ``itertools.combinations`` over the candidates (existing
facilities always open): the best covered weight (MCLP) and the least weighted total time
(p-median) are the references; spopt + CBC must reach them.  The order of the proposals is
checked against the definition (each adds the most newly covered weight among those left), and
the CLI runs on Pata Rât through typer's CliRunner.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Point, box
from typer.testing import CliRunner

from geo import crs as crs_
from geo import runs
from geo.communities.model import Community
from geo.network.matrix import network_from_graph
from geo.planning.response import locate as loc
from geo.planning.response import responders as r
from geo.planning.response.cli import response_app
from geo.settings import DATA_SOURCES_DIR

HEALTHCARE = DATA_SOURCES_DIR / "osm" / "cluj-napoca_healthcare_2024-05-23.geojson"


def _instance(seed: int, places: int = 9, fixed: int = 2, candidates: int = 7):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(30, 900, size=(places, fixed + candidates))
    cost[rng.random(cost.shape) < 0.15] = np.inf  # some pairs unreachable
    weights = rng.integers(1, 10, size=places).astype(float)
    is_fixed = np.zeros(fixed + candidates, dtype=bool)
    is_fixed[:fixed] = True
    return cost, weights, is_fixed


def _brute(cost, weights, is_fixed, add, score):
    """Best score over every choice of ``add`` candidates (existing ones always open)."""
    cands = np.nonzero(~is_fixed)[0]
    best = None
    for combo in itertools.combinations(cands, add):
        open_ = is_fixed.copy()
        open_[list(combo)] = True
        value = score(open_)
        best = value if best is None else (max(best, value) if score.maximise else min(best, value))
    return best


class Covered:
    maximise = True

    def __init__(self, cost, weights, limit):
        self.cost, self.weights, self.limit = cost, weights, limit

    def __call__(self, open_):
        reach = self.cost[:, open_] <= self.limit
        return float(self.weights[reach.any(axis=1)].sum())


class Total:
    maximise = False

    def __init__(self, cost, weights):
        self.cost, self.weights = cost, weights

    def __call__(self, open_):
        best = np.minimum(self.cost[:, open_].min(axis=1), loc.UNREACHABLE_S)
        return float((self.weights * best).sum())


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("add", [1, 2, 3])
def test_mclp_finds_the_brute_force_optimum(seed, add):
    cost, weights, is_fixed = _instance(seed)
    limit = 300.0
    reference = _brute(cost, weights, is_fixed, add, Covered(cost, weights, limit))
    open_, objective, status = loc.solve_mclp(cost, weights, limit, is_fixed, add, time_limit=20)
    assert status == "Optimal"
    assert open_[is_fixed].all() and int((open_ & ~is_fixed).sum()) == add
    assert Covered(cost, weights, limit)(open_) == pytest.approx(reference)
    assert objective == pytest.approx(reference)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("add", [1, 2, 3])
def test_pmedian_finds_the_brute_force_optimum(seed, add):
    cost, weights, is_fixed = _instance(seed)
    reference = _brute(cost, weights, is_fixed, add, Total(cost, weights))
    open_, objective, status = loc.solve_pmedian(cost, weights, is_fixed, add, time_limit=20)
    assert status == "Optimal"
    assert open_[is_fixed].all() and int((open_ & ~is_fixed).sum()) == add
    assert Total(cost, weights)(open_) == pytest.approx(reference)
    assert objective == pytest.approx(reference)


# -- the model on a street graph -------------------------------------------------------------

LON0, LAT0, STEP = 23.60, 46.70, 0.002


def at(i: int) -> Point:
    return Point(LON0 + i * STEP, LAT0)


@pytest.fixture(scope="module")
def line():
    """Seven nodes on a street, both ways, 100 s apart."""
    graph = nx.MultiDiGraph()
    for i in range(7):
        graph.add_node(i + 1, x=at(i).x, y=at(i).y)
    for i in range(1, 7):
        graph.add_edge(i, i + 1, travel_time=100.0, length=100.0)
        graph.add_edge(i + 1, i, travel_time=100.0, length=100.0)
    return network_from_graph(graph, mode="drive")


def _community() -> Community:
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


#: Candidate nodes (n2 and n6 are not offered, so the best pair is unique: c3 and c5).
CANDIDATES = (1, 3, 4, 5)


def _model(line, add, model="mclp"):
    demand = gpd.GeoDataFrame(
        {"place_id": [f"n{i}" for i in range(7)], "settlement": "line-town",
         "weight": [1.0, 1.0, 1.0, 5.0, 1.0, 1.0, 4.0]},
        geometry=[at(i) for i in range(7)], crs=4326,
    )  # fmt: skip
    existing = gpd.GeoDataFrame(
        {"id": [1], "kind": ["hospital"], "at_home": [False], "exact": [True]},
        geometry=[at(0)],
        crs=4326,
    )
    candidates = gpd.GeoDataFrame(
        {"candidate_id": [f"c{i}" for i in CANDIDATES]}, geometry=[at(i) for i in CANDIDATES],
        crs=4326,
    )  # fmt: skip
    return loc.LocateModel(
        network=line,
        community=_community(),
        demand=demand,
        existing=existing,
        candidates=candidates,
        add=add,
        minutes=100 / 60,  # T = 100 s: a post covers itself and its two neighbours
        model=model,
    )


def test_two_posts_on_the_street_and_what_each_gains(line):
    """By hand: the hospital at n0 covers n0, n1 (weight 2).  Only c3 + c5 cover the rest
    (n2..n6, weight 12): c3 covers n2-n4 (1 + 5 + 1), then c5 adds n5 and n6 (1 + 4)."""
    result = _model(line, 2).solve()
    assert result.status == "Optimal"
    assert result.covered_before == pytest.approx(2 / 14)
    assert result.covered_after == pytest.approx(1.0)
    proposals = result.proposals
    assert proposals["order"].tolist() == [1, 2]
    assert proposals["candidate_id"].iloc[0] == "c3"
    assert proposals["candidate_id"].iloc[1] == "c5"
    assert proposals["covered_gain"].tolist() == [7.0, 5.0]
    gains = proposals["covered_gain"].to_numpy()
    assert np.all(np.diff(gains) <= 0)  # greedy order: most gained first
    assert proposals["covered_gain"].sum() == pytest.approx(14 * (1.0 - 2 / 14))


def test_pmedian_on_the_street_equals_brute_force(line):
    model = _model(line, 2, "pmedian")
    cost = model.cost_matrix()
    weights = model.demand["weight"].to_numpy()
    fixed = np.array([True] + [False] * len(CANDIDATES))
    reference = _brute(cost, weights, fixed, 2, Total(cost, weights))
    result = model.solve()
    assert result.mean_time_after_s == pytest.approx(reference / weights.sum())


def test_bad_model_and_count_are_refused(line):
    with pytest.raises(loc.LocateError):
        _model(line, 1, "voronoi").solve()
    with pytest.raises(loc.LocateError):
        _model(line, 0).solve()


def test_candidate_nodes_lie_inside_the_community(line):
    found = loc.candidate_nodes(line, _community())
    assert len(found) == 7 and found["candidate_id"].iloc[0] == "node:1"


# -- the database and the CLI ----------------------------------------------------------------


@pytest.mark.db
def test_cli_locate_on_pata_rat(loaded_engine, loaded_db_url, tmp_path):
    pata_rat = Community.load(loaded_engine, "pata-rat")
    r.import_osm_responders(loaded_engine, pata_rat, HEALTHCARE)
    settlements = ("cantonului", "dallas", "rampa", "colina-verde")
    points = [Community.load(loaded_engine, s).geometry.representative_point() for s in settlements]
    candidates = tmp_path / "candidates.geojson"
    gpd.GeoDataFrame({"id": list(settlements)}, geometry=points, crs=4326).to_file(candidates)
    out = tmp_path / "posts.gpkg"
    args = ["locate", "--community", "pata-rat", "--candidates", str(candidates), "--add", "2",
            "--minutes", "3", "--model", "mclp", "--out", str(out)]  # fmt: skip
    done = CliRunner().invoke(
        response_app, args, env={"DATABASE_URL": loaded_db_url, "HARTA_LANGUAGE": "en"}
    )
    assert done.exit_code == 0, done.output
    written = gpd.read_file(out, layer="proposals")
    assert len(written) == 2 and set(written["candidate_id"]) <= set(settlements)
    assert "Demand gained" in done.stdout and "Optimal" in done.stdout
    stored = runs.list_runs(loaded_engine, pata_rat, "response_locate")
    assert stored and stored[0].outputs["gpkg"].is_file()
    assert stored[0].params["covered_after"] >= stored[0].params["covered_before"]
