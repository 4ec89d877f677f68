"""Benchmark ``harta_published_demo`` (migration 0016) against ``incident_hex_counts`` (0012), the
call every aggregated page already makes, on synthetic incidents over Pata Rât.

A scratch database on the test PostGIS server (``HARTA_TEST_DATABASE_URL``, or the embedded
cluster in ``.test-data/pg``) is migrated, given Pata Rât's boundary and ``--n`` incidents (a
third of them demo) over the 24 complete months before this one.  Both functions are called as
``harta_public`` over the 24 months and over all time (what Home and the Map ask); each time is
the median of ``--repeats`` calls after one warm-up.  The named baseline is
``incident_hex_counts`` on the map grid: the demo count adds that much to a page.  The scratch
database is dropped at the end.

Run: ``python scripts/bench_published_demo.py [--n 100000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
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


def _server_url() -> str:
    external = os.environ.get("HARTA_TEST_DATABASE_URL")
    if external:
        return external
    port = int(os.environ.get("HARTA_TEST_PG_PORT", "54330"))
    cluster = LocalCluster(ROOT / ".test-data" / "pg", port)
    cluster.start()
    return cluster.url("postgres")


def _load(engine, n: int) -> tuple[int, dt.datetime, dt.datetime]:
    """Pata Rât and ``n`` incidents (a third demo); its id and the 24-month window."""
    source = find_source("pata-rat")
    boundary = read_boundary(source.boundary_file)
    zone = ZoneInfo(TZ)
    today = dt.datetime.now(zone).date()
    end = dt.datetime(today.year, today.month, 1, tzinfo=zone)
    start = dt.datetime(end.year - 2, end.month, 1, tzinfo=zone)
    rng = np.random.default_rng(SEED)
    xmin, ymin, xmax, ymax = boundary.bounds
    xy = np.empty((0, 2))
    while len(xy) < n:
        cand = rng.uniform([xmin, ymin], [xmax, ymax], size=(n, 2))
        xy = np.vstack([xy, cand[shapely.contains_xy(boundary, cand[:, 0], cand[:, 1])]])
    xy = xy[:n]
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
                " SELECT :c, to_timestamp(:t0 + s), 'theft', 2, 'exact', 'normal', 'police',"
                " 'reported', ST_SetSRID(ST_MakePoint(x, y), 4326), 'form', 'police', d"
                " FROM unnest(CAST(:s AS float8[]), CAST(:x AS float8[]), CAST(:y AS float8[]),"
                " CAST(:d AS boolean[])) AS u(s, x, y, d)"
            ),
            {
                "c": cid,
                "t0": start.timestamp(),
                "s": rng.uniform(0, (end - start).total_seconds(), n).tolist(),
                "x": xy[:, 0].tolist(),
                "y": xy[:, 1].tolist(),
                "d": (rng.random(n) < 1 / 3).tolist(),
            },
        )
        conn.execute(text("ANALYZE incidents"))
    return cid, start, end


def _time(engine, sql: str, params: dict, repeats: int) -> float:
    """Median seconds of ``repeats`` calls as ``harta_public``, after one warm-up."""
    with engine.connect() as conn:
        conn.execute(text("SET ROLE harta_public"))
        conn.execute(text(sql), params).all()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            conn.execute(text(sql), params).all()
            times.append(time.perf_counter() - t0)
        conn.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    server = _server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_published_demo_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        upgrade(engine)
        cid, start, end = _load(engine, args.n)
        for label, params in (
            ("24 months", {"c": cid, "f": start, "t": end}),
            ("all time", {"c": cid, "f": None, "t": None}),
        ):
            demo = _time(
                engine, "SELECT * FROM harta_published_demo(:c, 5, :f, :t)", params, args.repeats
            )
            cells = _time(
                engine,
                "SELECT * FROM incident_hex_counts(:c, NULL, 5, :f, :t)",
                params,
                args.repeats,
            )
            print(
                f"{args.n:>8} incidents  {label:>9}:  harta_published_demo {demo:7.3f} s   "
                f"baseline incident_hex_counts (map grid) {cells:7.3f} s   "
                f"ratio {demo / cells:5.2f}"
            )
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
