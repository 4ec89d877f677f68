"""Benchmark ``import_file`` on a 20,000-row CSV of risk zones against a bare bulk insert.

The timing that ``tests/test_ingest_import.py`` used to assert (an import under 30 s) lives here:
tests check that every row lands, this script says how fast.

A scratch database on the test PostGIS server (``HARTA_TEST_DATABASE_URL``, or the embedded
cluster in ``.test-data/pg`` that the tests use) is migrated and given a square community.  Each
repeat writes a new CSV of ``--n`` points (fresh notes, so nothing is skipped as a duplicate) and
times:

* **import** -- :func:`geo.ingest.import_file` as the owner: read, map columns, validate every
  row, hash, look up duplicates and tombstones, write (audit triggers included), record the
  import;
* **baseline** -- the same points, read with pandas and written by one ``INSERT ... SELECT FROM
  unnest(...)`` into a plain table without checks or triggers: the floor of putting the points
  in PostGIS at all.

Both are medians of ``--repeats`` runs in the same process and database; the ratio is printed.
The scratch database is dropped at the end.

Run: ``python scripts/bench_ingest.py [--n 20000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from geo.db.local import LocalCluster
from geo.db.migrate import upgrade
from geo.ingest import import_file

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261201
SLUG = "bench"
SQUARE = "POLYGON((23.66 46.76,23.72 46.76,23.72 46.80,23.66 46.80,23.66 46.76))"


def _server_url() -> str:
    external = os.environ.get("HARTA_TEST_DATABASE_URL")
    if external:
        return external
    cluster = LocalCluster(
        ROOT / ".test-data" / "pg", int(os.environ.get("HARTA_TEST_PG_PORT", "54330"))
    )
    cluster.start()
    return cluster.url("postgres")


def _prepare(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO communities (slug, name, country, timezone, metric_crs, kind, geom,"
                " source, created_by_role, is_demo) VALUES (:s, 'Bench', 'RO',"
                " 'Europe/Bucharest', 32634, 'community', ST_Multi(ST_GeomFromText(:w, 4326)),"
                " 'import', 'system', false)"
            ),
            {"s": SLUG, "w": SQUARE},
        )
        conn.execute(
            text(
                "CREATE TABLE bench_baseline (hazard text, severity int, note text,"
                " geom geometry(Point, 4326))"
            )
        )


def _csv(folder: Path, n: int, repeat: int, rng: np.random.Generator) -> Path:
    frame = pd.DataFrame(
        {
            "lat": rng.uniform(46.761, 46.799, n),
            "lon": rng.uniform(23.661, 23.719, n),
            "pericol": "drugs",
            "severitate": rng.integers(1, 6, n),
            "nota": [f"r{repeat} p{k}" for k in range(n)],
        }
    )
    path = folder / f"zones_{repeat}.csv"
    frame.to_csv(path, index=False)
    return path


def _baseline(engine: Engine, path: Path) -> float:
    started = time.perf_counter()
    frame = pd.read_csv(path)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bench_baseline (hazard, severity, note, geom)"
                " SELECT h, s, n, ST_SetSRID(ST_MakePoint(x, y), 4326)"
                " FROM unnest(CAST(:h AS text[]), CAST(:s AS int[]), CAST(:n AS text[]),"
                " CAST(:x AS float8[]), CAST(:y AS float8[])) AS u(h, s, n, x, y)"
            ),
            {
                "h": frame["pericol"].tolist(),
                "s": frame["severitate"].tolist(),
                "n": frame["nota"].tolist(),
                "x": frame["lon"].tolist(),
                "y": frame["lat"].tolist(),
            },
        )
    return time.perf_counter() - started


def _import(engine: Engine, path: Path, n: int) -> float:
    started = time.perf_counter()
    report = import_file(engine, "risk_zones", path, community=SLUG)
    seconds = time.perf_counter() - started
    if report.rows_written != n:
        raise SystemExit(f"import wrote {report.rows_written} rows of {n}")
    return seconds


def main() -> None:
    """Run the benchmark and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    server = _server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_ingest_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(server).set(database=name))
    rng = np.random.default_rng(SEED)
    try:
        _prepare(engine)
        imports, baselines = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(args.repeats):
                path = _csv(Path(tmp), args.n, repeat, rng)
                baselines.append(_baseline(engine, path))
                imports.append(_import(engine, path, args.n))
        imp, base = statistics.median(imports), statistics.median(baselines)
        print(f"{args.n} risk zones from CSV, median of {args.repeats}:")
        print(f"  import_file             {imp:8.2f} s  ({args.n / imp:8.0f} rows/s)")
        print(f"  baseline (bulk insert)  {base:8.2f} s  ({args.n / base:8.0f} rows/s)")
        print(f"  ratio import/baseline   {imp / base:8.1f}")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
