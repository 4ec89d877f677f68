"""Benchmark the published aggregates (migrations 0005/0012) against migration 0003's and
0007's, on 100,000 synthetic incidents over Pata Rât.

A scratch database on the test PostGIS server (``HARTA_TEST_DATABASE_URL``, or the embedded
cluster in ``.test-data/pg`` that the tests use) is migrated, given Pata Rât's boundary and
100,000 non-sensitive incidents spread over the 24 complete months before this one, and 0003's
``incident_hex_counts`` is recreated in it as ``incident_hex_counts_0003`` -- the named baseline,
which matches every point against every cell.  Both are called as ``harta_public`` over the
whole 24 months, at the community's two published cell sizes; each time is the median of
repeats after one warm-up call.  The scratch database is dropped at the end.

Run: ``python scripts/bench_aggregates.py [--n 100000] [--repeats 5] [--baseline-repeats 1]``.
The baseline at 100,000 incidents takes about a minute a call at 300 m; at the ~110 m analysis
grid it is timed on ``--baseline-n`` (10,000) incidents only and its ratio is printed for that n.
Target: the new SQL for 100,000 incidents ≤ 0.5 s.  At the full n it also prints 0012 (stored
metric x/y, fine membership grid) against 0007 (``incident_hex_counts_0007``, the functions
just before 0012) on both grids, and one ``incident_hex_counts_monthly`` call against the 24
single-month calls an aggregated hot spot run made before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import statistics
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.communities import find_source, read_boundary
from geo.db.local import LocalCluster
from geo.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261201
TZ = "Europe/Bucharest"
VERSIONS = ROOT / "geo" / "db" / "migrations" / "versions"


def _server_url() -> str:
    external = os.environ.get("HARTA_TEST_DATABASE_URL")
    if external:
        return external
    cluster = LocalCluster(
        ROOT / ".test-data" / "pg", int(os.environ.get("HARTA_TEST_PG_PORT", "54330"))
    )
    cluster.start()
    return cluster.url("postgres")


def _baseline_sql() -> str:
    """0003's incident_hex_counts, renamed: the named baseline."""
    path = VERSIONS / "0003_app_roles_workshops_profiles.py"
    spec = importlib.util.spec_from_file_location("harta_revision_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hex_only = module.FUNCTIONS.split("-- Incidents per local hour")[0]
    return hex_only.replace(
        "CREATE FUNCTION incident_hex_counts(", "CREATE FUNCTION incident_hex_counts_0003("
    )


def _previous_sql() -> str:
    """0007's incident_hex_counts (before 0012 stored metric x/y), renamed: the second baseline."""
    path = VERSIONS / "0007_membership.py"
    spec = importlib.util.spec_from_file_location("harta_revision_0007", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hex_only = module._aggregates().split("-- Incidents per local hour")[0]
    return hex_only.replace(
        "CREATE FUNCTION incident_hex_counts(", "CREATE FUNCTION incident_hex_counts_0007("
    )


def _random_points(boundary, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = boundary.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        xy = rng.uniform([xmin, ymin], [xmax, ymax], size=(n, 2))
        out = np.vstack([out, xy[shapely.contains_xy(boundary, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _load(engine, n: int) -> tuple[int, dt.datetime, dt.datetime]:
    """Pata Rât and ``n`` incidents; returns its id and the 24-month window."""
    source = find_source("pata-rat")
    boundary = read_boundary(source.boundary_file)
    zone = ZoneInfo(TZ)
    today = dt.datetime.now(zone).date()
    end = dt.datetime(today.year, today.month, 1, tzinfo=zone)
    start = dt.datetime(end.year - 2, end.month, 1, tzinfo=zone)
    rng = np.random.default_rng(SEED)
    xy = _random_points(boundary, n, rng)
    seconds = rng.uniform(0, (end - start).total_seconds(), n)
    types = rng.choice(["theft", "assault", "fire", "traffic", "harassment"], n)
    with engine.begin() as conn:
        cid = conn.execute(
            text(
                "INSERT INTO communities (slug, name, country, timezone, metric_crs, kind, geom,"
                " source, created_by_role, is_demo) VALUES ('pata-rat', 'Pata Rât', 'RO', :tz,"
                " :crs, 'community', ST_Multi(ST_GeomFromText(:wkt, 4326)), 'import', 'system',"
                " false) RETURNING id"
            ),
            {"tz": TZ, "crs": source.metric_crs, "wkt": boundary.wkt},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
                " location_precision, sensitivity, reporting_role, status, geom, source,"
                " created_by_role, is_demo)"
                " SELECT :c, to_timestamp(:t0 + s), ty, 1 + (random() * 4)::int, 'exact',"
                " 'normal', 'police', 'reported', ST_SetSRID(ST_MakePoint(x, y), 4326), 'form',"
                " 'police', true FROM unnest(CAST(:s AS float8[]), CAST(:x AS float8[]),"
                " CAST(:y AS float8[]), CAST(:ty AS text[])) AS u(s, x, y, ty)"
            ),
            {
                "c": cid,
                "t0": start.timestamp(),
                "s": seconds.tolist(),
                "x": xy[:, 0].tolist(),
                "y": xy[:, 1].tolist(),
                "ty": types.tolist(),
            },
        )
        conn.execute(text(_baseline_sql()))
        conn.execute(text("GRANT EXECUTE ON FUNCTION incident_hex_counts_0003 TO harta_public"))
        conn.connection.driver_connection.execute(_previous_sql())
        conn.execute(text("GRANT EXECUTE ON FUNCTION incident_hex_counts_0007 TO harta_public"))
        conn.execute(text("ANALYZE incidents"))
    return cid, start, end


def _time(engine, sql: str, params: dict, repeats: int) -> tuple[float, int]:
    """Median seconds of ``repeats`` calls after one warm-up, and the rows returned."""
    with engine.connect() as conn:
        conn.execute(text("SET ROLE harta_public"))
        rows = len(conn.execute(text(sql), params).all())
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            conn.execute(text(sql), params).all()
            times.append(time.perf_counter() - t0)
        conn.rollback()
    return statistics.median(times), rows


def _bench(engine, cid, start, end, sizes, repeats, baseline_repeats, label) -> None:
    params = {"c": cid, "f": start, "t": end}
    for name, size in sizes:
        new, cells = _time(
            engine,
            f"SELECT * FROM incident_hex_counts(:c, {size}, 5, :f, :t)",
            params,
            repeats,
        )
        old, _ = _time(
            engine,
            f"SELECT * FROM incident_hex_counts_0003(:c, {size}, 5, :f, :t)",
            params,
            baseline_repeats,
        )
        same = _same_counts(engine, cid, size, start, end)
        print(
            f"{label:>8} incidents  {name:>8} grid {size:6.0f} m  {cells:4d} cells   "
            f"0005: {new:8.3f} s   0003 baseline: {old:8.3f} s   ratio {old / new:8.1f}x   "
            f"same published counts as the baseline: {'yes' if same else 'NO'}"
        )


def _bench_0012(engine, cid, start, end, analysis, map_cell, repeats, n) -> None:
    """0012 (stored metric x/y, fine membership grid) against 0007 on both grids, the monthly
    call of an aggregated run against its 24 single-month calls, and the time profile."""
    params = {"c": cid, "f": start, "t": end}
    for name, size in (("analysis", analysis), ("map", map_cell)):
        new, cells = _time(
            engine, f"SELECT * FROM incident_hex_counts(:c, {size}, 5, :f, :t)", params, repeats
        )
        old, _ = _time(
            engine,
            f"SELECT * FROM incident_hex_counts_0007(:c, {size}, 5, :f, :t)",
            params,
            repeats,
        )
        print(
            f"{n:>8} incidents  {name:>8} grid {size:6.0f} m  {cells:4d} cells   "
            f"0012: {new:8.3f} s   0007 (before 0012): {old:8.3f} s   ratio {old / new:6.1f}x"
        )
    monthly, rows = _time(
        engine,
        f"SELECT * FROM incident_hex_counts_monthly(:c, {analysis}, 5, :f, :t)",
        params,
        repeats,
    )
    months = []
    m = start
    while m < end:
        nxt = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        months.append((m, nxt))
        m = nxt
    single = sum(
        _time(
            engine,
            f"SELECT * FROM incident_hex_counts_0007(:c, {analysis}, 5, :f, :t)",
            {"c": cid, "f": lo, "t": hi},
            1,
        )[0]
        for lo, hi in months
    )
    profile, _ = _time(
        engine, "SELECT * FROM incident_time_profile(:c, 5, :f, :t)", params, repeats
    )
    print(
        f"{n:>8} incidents  {len(months)} months, analysis grid: one monthly call {monthly:8.3f} s"
        f" ({rows} rows)   {len(months)} single-month 0007 calls {single:8.3f} s"
        f"   ratio {single / monthly:6.1f}x;  time profile {profile:.3f} s"
    )


def _same_counts(engine, cid, size, start, end) -> bool:
    """Whether 0005's counts equal 0003's exact counts, rounded and suppressed as 0005 does."""
    sql = (
        f"SELECT n.cell_id, n.count AS new, o.count AS old FROM incident_hex_counts(:c, {size}, 5,"
        f" :f, :t) n JOIN incident_hex_counts_0003(:c, {size}, 5, :f, :t) o USING (cell_id)"
    )
    with engine.connect() as conn:
        conn.execute(text("SET ROLE harta_public"))
        rows = conn.execute(text(sql), {"c": cid, "f": start, "t": end}).all()
        conn.rollback()
    return bool(rows) and all(
        r.new == (None if r.old is None else 5 * round(r.old / 5)) for r in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--baseline-n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    args = parser.parse_args()
    server = _server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    names = [f"bench_aggregates_{os.getpid()}_{k}" for k in range(2)]
    try:
        for name, n in zip(names, (args.n, args.baseline_n), strict=True):
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            engine = create_engine(make_url(server).set(database=name))
            with engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            upgrade(engine)
            t0 = time.perf_counter()
            cid, start, end = _load(engine, n)
            print(f"loaded {n} incidents in {time.perf_counter() - t0:.1f} s")
            with engine.connect() as conn:
                analysis, map_cell = conn.execute(
                    text(
                        "SELECT analysis_cell_m, map_cell_m FROM published_grids"
                        " WHERE community_id = :c"
                    ),
                    {"c": cid},
                ).one()
            # At the full n only the map grid has a baseline that ends in minutes.
            sizes = (
                [("map", map_cell)] if n == args.n else [("analysis", analysis), ("map", map_cell)]
            )
            if n == args.n:
                _bench_0012(engine, cid, start, end, analysis, map_cell, args.repeats, n)
            _bench(engine, cid, start, end, sizes, args.repeats, args.baseline_repeats, str(n))
            engine.dispose()
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
