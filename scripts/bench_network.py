"""Benchmark the travel-time engine (geo.network) against networkx, on the city and on a grid.

Usage (from the repository root)::

    .venv/bin/python scripts/bench_network.py            # networkx on 10 grid sources
    .venv/bin/python scripts/bench_network.py --full     # networkx on all 50 grid sources

In one run it measures:

1. **Build** of the shipped Cluj-Napoca graph from ``data/osm/…osm.bz2`` into an empty cache
   (GraphML + ``.npz``), then the warm loads (what tests and pages pay).
2. **50 sources to all nodes** on the Cluj graph: Harta's engine (one multi-source
   ``scipy.sparse.csgraph.dijkstra`` call on the CSR matrix) against networkx's
   ``single_source_dijkstra_path_length`` run once per source on the osmnx MultiDiGraph (what
   osmnx users do); the largest difference in seconds over every (source, node) pair.
3. The same on a **synthetic grid of 501 x 501 = 251,001 nodes** (two-way streets, random
   travel times).  networkx takes ~2 s per source there, so by default it runs on the first 10
   of the 50 sources and the ratio compares **time per source** (``--full`` runs all 50).
4. **The 2 nearest responders of every node** (50 responders): the engine against pandana's
   ``nearest_pois`` when pandana is installed (never a dependency; skipped otherwise).

Times are CPU seconds (``time.process_time``) -- the machine is shared, wall time is noisy --
and every ratio is against a baseline measured in the same run.  Targets (issue 12): >= 30x
networkx on Cluj, >= 20x on the grid, the 2-nearest query no slower than pandana.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.network.matrix import Network  # noqa: E402
from geo.network.times import nearest_source_nodes, node_times  # noqa: E402

CITY_OSM = ROOT / "data" / "osm" / "cluj-napoca_drive-network_2025-10-30.osm.bz2"
SOURCES = 50
GRID_SIDE = 501


def cpu(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    started = time.process_time()
    result = fn(*args, **kwargs)
    return result, time.process_time() - started


def build_city() -> tuple[nx.MultiDiGraph, Network]:
    """Build the city graph and matrix into an empty cache, then load them warm."""
    from geo.network.graph import cached_graph
    from geo.network.matrix import cached_network

    with tempfile.TemporaryDirectory(prefix="harta-bench-") as tmp:
        os.environ["HARTA_DATA_DIR"] = tmp
        started = time.perf_counter()
        cached_graph(CITY_OSM, "drive")
        graph_s = time.perf_counter() - started
        started = time.perf_counter()
        cached_network(CITY_OSM, "drive")
        matrix_s = time.perf_counter() - started
        started = time.perf_counter()
        graph = cached_graph(CITY_OSM, "drive")
        graphml_s = time.perf_counter() - started
        started = time.perf_counter()
        network = cached_network(CITY_OSM, "drive")
        npz_s = time.perf_counter() - started
        started = time.perf_counter()
        walk = cached_graph(CITY_OSM, "walk")
        walk_s = time.perf_counter() - started
    kept = network.matrix.nnz
    print(f"Cluj-Napoca drive graph: {len(graph):,} nodes, {graph.number_of_edges():,} edges "
          f"({kept:,} matrix entries after keeping the fastest parallel edge)")  # fmt: skip
    print(f"  build from .osm.bz2 into an empty cache: graph {graph_s:.2f} s, "
          f"matrix {matrix_s:.2f} s")  # fmt: skip
    print(f"  warm loads: GraphML {graphml_s:.2f} s, .npz matrix {npz_s:.3f} s; "
          f"walk graph derived and cached {walk_s:.2f} s ({len(walk):,} nodes)")  # fmt: skip
    return graph, network


def networkx_rows(
    graph: nx.Graph, network: Network, sources: np.ndarray
) -> tuple[np.ndarray, float]:
    """networkx Dijkstra once per source; rows aligned with the network's nodes; CPU seconds."""
    rows = np.full((len(sources), network.n_nodes), np.inf)
    spent = 0.0
    for i, source in enumerate(sources):
        lengths, seconds = cpu(
            nx.single_source_dijkstra_path_length, graph, int(network.node_ids[source]),
            weight="travel_time",
        )  # fmt: skip
        spent += seconds
        index = np.fromiter((network.node_index(n) for n in lengths), dtype=np.int64)
        rows[i, index] = np.fromiter(lengths.values(), dtype=float)
    return rows, spent


def compare(name: str, graph: nx.Graph, network: Network, sources: np.ndarray, nx_count: int,
            target: float | None) -> None:  # fmt: skip
    engine, engine_s = cpu(node_times, network, sources)
    reference, nx_s = networkx_rows(graph, network, sources[:nx_count])
    finite = np.isfinite(reference)
    assert np.array_equal(finite, np.isfinite(engine[:nx_count])), "reachability differs"
    worst = float(np.abs(engine[:nx_count][finite] - reference[finite]).max())
    per_engine, per_nx = engine_s / len(sources), nx_s / nx_count
    ratio = per_nx / per_engine
    if target is None:
        verdict = "for reference"
    else:
        verdict = ("meets" if ratio >= target else "MISSES") + f" the {target:g}x target"
    kind = type(graph).__name__
    print(f"{name}: {len(sources)} sources to {network.n_nodes:,} nodes (networkx on a {kind})")
    print(f"  engine (one multi-source call): {engine_s:.3f} s CPU "
          f"= {per_engine * 1e3:.2f} ms/source")  # fmt: skip
    print(f"  networkx Dijkstra x{nx_count}:  {nx_s:.3f} s CPU = {per_nx * 1e3:.2f} ms/source")
    ok = "ok" if worst < 1e-6 else "TOO LARGE"
    print(f"  ratio {ratio:.1f}x networkx ({verdict}); "
          f"largest difference {worst:.3g} s ({ok}: < 1e-6)")  # fmt: skip


def grid(side: int, seed: int = 7) -> tuple[nx.MultiDiGraph, nx.DiGraph, Network]:
    """A side x side street grid, both directions, independent random times (5-60 s).

    networkx gets it twice: as a MultiDiGraph, the graph type osmnx users route on (the
    headline baseline, as on the city), and as a plain DiGraph (printed for reference).
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    right = np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()])
    down = np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()])
    pairs = np.vstack([right, down])
    u = np.concatenate([pairs[:, 0], pairs[:, 1]])
    v = np.concatenate([pairs[:, 1], pairs[:, 0]])
    w = rng.uniform(5.0, 60.0, u.size)
    order = np.lexsort((v, u))
    u, v, w = u[order], v[order], w[order]
    n = side * side
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    matrix = sp.csr_matrix((w, v.astype(np.int32), indptr), shape=(n, n))
    x, y = np.meshgrid(np.arange(side, dtype=float), np.arange(side, dtype=float))
    network = Network(
        mode="drive", node_ids=np.arange(n, dtype=np.int64), lon=x.ravel(), lat=y.ravel(),
        matrix=matrix, edge_u=u, edge_v=v, edge_length_m=w * 10, edge_geometry=np.empty(0),
    )  # fmt: skip
    edges = list(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    multi, plain = nx.MultiDiGraph(), nx.DiGraph()
    for graph in (multi, plain):
        graph.add_nodes_from(range(n))
        graph.add_weighted_edges_from(edges, weight="travel_time")
    return multi, plain, network


def two_nearest(name: str, network: Network, responders: np.ndarray) -> None:
    (index, seconds), engine_s = cpu(nearest_source_nodes, network, responders, k=2)
    both = np.isfinite(seconds).all(axis=1).mean()
    print(f"{name}: 2 nearest of {len(responders)} responders for all {network.n_nodes:,} nodes: "
          f"{engine_s:.3f} s CPU ({both:.1%} of nodes reached by two)")  # fmt: skip
    try:
        import pandana  # noqa: F401
    except ImportError:
        print("  pandana is not installed: the nearest_pois comparison is skipped "
              "(benchmark only; never a dependency)")  # fmt: skip
        return
    pandana_s = _pandana_nearest(network, responders)
    print(f"  pandana nearest_pois: {pandana_s:.3f} s CPU; ratio {pandana_s / engine_s:.1f}x")


def _pandana_nearest(network: Network, responders: np.ndarray) -> float:
    import pandana
    import pandas as pd

    nodes = pd.DataFrame({"x": network.lon, "y": network.lat}, index=network.node_ids)
    edges = pd.DataFrame(
        {"from": network.node_ids[network.edge_u], "to": network.node_ids[network.edge_v],
         "w": network.edge_time_s},
    )  # fmt: skip
    net = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]],
                          twoway=False)  # fmt: skip
    limit = float(network.edge_time_s.sum())
    net.set_pois("responders", limit, 2, network.lon[responders], network.lat[responders])
    _, seconds = cpu(net.nearest_pois, limit, "responders", num_pois=2)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="networkx on all 50 grid sources")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2026)

    graph, network = build_city()
    sources = rng.choice(network.n_nodes, SOURCES, replace=False)
    compare("Cluj-Napoca", graph, network, sources, SOURCES, 30.0)
    two_nearest("Cluj-Napoca", network, sources)

    started = time.perf_counter()
    multi, plain, grid_network = grid(GRID_SIDE)
    built = time.perf_counter() - started
    print(f"\nsynthetic grid {GRID_SIDE}x{GRID_SIDE}: {grid_network.n_nodes:,} nodes, "
          f"{grid_network.matrix.nnz:,} directed edges (built in {built:.1f} s)")  # fmt: skip
    grid_sources = rng.choice(grid_network.n_nodes, SOURCES, replace=False)
    count = SOURCES if args.full else 10
    compare("grid", multi, grid_network, grid_sources, count, 20.0)
    del multi
    compare("grid", plain, grid_network, grid_sources, count, None)
    two_nearest("grid", grid_network, grid_sources)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
