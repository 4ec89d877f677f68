"""Benchmark ``import_file`` on 100,000 incidents and 20,000 risk zones against a raw COPY.

A scratch database on the test PostGIS server (``HARTA_TEST_DATABASE_URL``, or the embedded
cluster in ``.test-data/pg`` that the tests use) is migrated and given Pata Rât's boundary.  Two
CSV files are written the way partners send them (police-style incidents with ``;``, decimal
commas, ``dd.mm.yyyy`` dates and a separate ``Ora`` column; zones as WKT polygons).  Each is then
imported by ``harta``'s importer in a **fresh child process** (so its peak memory is the
import's own), and, as the named baseline, the same rows are written by a raw ``COPY`` of
already-parsed values into an unconstrained copy of the table -- the fastest the database can
take them.  Printed per layer: rows, seconds, rows/s, the ratio to raw COPY, and the peak
resident memory the import added per row (``VmHWM``, reset before the import).  A 50-row dry
run of the same layer comes first in the child, so libraries loaded on first use (scipy,
pyarrow ...) are not counted per row; their size is printed next to it.  The scratch database
is dropped at the end.

Run: ``python scripts/bench_ingest.py [--incidents 100000] [--zones 20000]``.
Targets (issue 10): incidents at least 20,000 validated rows/s, within 5x of raw COPY; at most
2 KB of memory per row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.communities import find_source, read_boundary
from geo.db.local import LocalCluster
from geo.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261201
#: Rows of the dry run that loads the libraries an import uses first (scipy, pyarrow, codecs)
#: before the measured import: their memory is not per row.
WARM_ROWS = 50
TYPES = ["Furt", "Violență în familie", "conflict", "Incendiu", "Accident rutier", "assault"]
HAZARDS = ["flooding", "Câini fără stăpân", "drum neluminat", "landfill_fire", "drugs"]


def _server_url() -> str:
    external = os.environ.get("HARTA_TEST_DATABASE_URL")
    if external:
        return external
    cluster = LocalCluster(
        ROOT / ".test-data" / "pg", int(os.environ.get("HARTA_TEST_PG_PORT", "54330"))
    )
    cluster.start()
    return cluster.url("postgres")


def _inside(boundary, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = boundary.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        xy = rng.uniform([xmin, ymin], [xmax, ymax], size=(n, 2))
        out = np.vstack([out, xy[shapely.contains_xy(boundary, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _write_incidents(path: Path, boundary, n: int) -> None:
    rng = np.random.default_rng(SEED)
    xy = _inside(boundary, n, rng)
    start = dt.datetime(2024, 1, 1)
    minutes = rng.integers(0, 700 * 24 * 60, n)
    kinds = rng.choice(TYPES, n)
    severity = rng.integers(1, 6, n)
    with path.open("w", encoding="utf-8-sig") as fh:
        fh.write("Nr. dosar;Data;Ora;Tip eveniment;Gravitate;Latitudine;Longitudine\n")
        for i in range(n):
            moment = start + dt.timedelta(minutes=int(minutes[i]))
            lon = f"{xy[i, 0]:.7f}".replace(".", ",")
            lat = f"{xy[i, 1]:.7f}".replace(".", ",")
            fh.write(
                f"P-{i};{moment:%d.%m.%Y};{moment:%H:%M};{kinds[i]};{severity[i]};{lat};{lon}\n"
            )


def _write_zones(path: Path, boundary, n: int) -> None:
    rng = np.random.default_rng(SEED + 1)
    xy = _inside(boundary, n, rng)
    hazards = rng.choice(HAZARDS, n)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("wkt,pericol,severitate,note\n")
        for i in range(n):
            x, y = xy[i]
            d = 0.0002
            ring = f"{x} {y},{x + d} {y},{x + d} {y + d},{x} {y + d},{x} {y}"
            fh.write(f'"POLYGON(({ring}))",{hazards[i]},{1 + i % 5},zona {i}\n')


def _child_import(url: str, layer: str, path: str, warm: str, queue) -> None:  # noqa: ANN001
    """Import in a fresh process; report seconds, rows written, peak memory added by the
    import, and the part of it a first small dry run takes (libraries loaded on first use)."""
    from geo.communities.model import Community
    from geo.ingest import import_file, validate_file

    engine = create_engine(url)
    community = Community.load(engine, "pata-rat")
    _reset_peak()
    start = psutil.Process().memory_info().rss
    validate_file(engine, layer, warm, community=community, role="police")
    first_use = max(_peak_rss() - start, 0)
    _reset_peak()
    # Resident memory now (libraries loaded); the peak below includes every transient array.
    before = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    report = import_file(engine, layer, path, community=community, role="police")
    seconds = time.perf_counter() - t0
    queue.put((seconds, report.rows_written, max(_peak_rss() - before, 0), first_use))
    engine.dispose()


def _reset_peak() -> None:
    """Make the peak resident size the current one (Linux >= 4.0: ``clear_refs`` 5).

    Without it the peak of a spawned child starts at its parent's size when it forked
    (``ru_maxrss`` keeps the high-water mark across ``exec``): the parent holding the raw COPY
    rows of the previous layer made the zones look like 140 MiB whatever they took.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss() -> int:
    """Peak resident size of this process's memory since :func:`_reset_peak`, in bytes
    (``VmHWM``; ``ru_maxrss`` where there is no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _import(url: str, layer: str, path: Path, warm: Path) -> tuple[float, int, int, int]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_import, args=(url, layer, str(path), str(warm), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def _raw_copy(engine, table: str) -> float:
    """The baseline: COPY the rows just imported (already parsed) into an unconstrained copy."""
    columns = {
        "incidents": "community_id, occurred_at, type_code, severity, location_precision,"
        " sensitivity, reporting_role, status, geom, source, created_by_role, is_demo, row_hash",
        "risk_zones": "community_id, hazard_code, severity, time_of_day, season, note, geom,"
        " source, created_by_role, is_demo, row_hash",
    }[table]
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {columns.replace('geom', 'ST_AsEWKB(geom)')} FROM {table}")
        ).all()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            f"CREATE TEMP TABLE raw_copy_{table} AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        t0 = time.perf_counter()
        with cursor.copy(f"COPY raw_copy_{table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [bytes(v).hex() if isinstance(v, (bytes, memoryview)) else v for v in row]
                )
        raw.commit()
        return time.perf_counter() - t0
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=20_000)
    args = parser.parse_args()
    server = _server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_ingest_{os.getpid()}"
    source = find_source("pata-rat")
    boundary = read_boundary(source.boundary_file)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server).set(database=name)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO communities (slug, name, country, timezone, metric_crs, kind,"
                    " geom, source, created_by_role, is_demo) VALUES ('pata-rat', 'Pata Rât',"
                    " 'RO', 'Europe/Bucharest', :crs, 'community',"
                    " ST_Multi(ST_GeomFromText(:wkt, 4326)), 'import', 'system', false)"
                ),
                {"crs": source.metric_crs, "wkt": boundary.wkt},
            )
        with tempfile.TemporaryDirectory(prefix="harta-bench-") as tmp:
            files = {
                "incidents": (Path(tmp) / "politie.csv", _write_incidents, args.incidents),
                "risk_zones": (Path(tmp) / "zone.csv", _write_zones, args.zones),
            }
            for layer, (path, write, n) in files.items():
                write(path, boundary, n)
                warm = path.with_name(f"warm_{path.name}")
                write(warm, boundary, WARM_ROWS)
                seconds, written, peak, first_use = _import(
                    url.render_as_string(False), layer, path, warm
                )
                raw = _raw_copy(engine, layer)
                print(
                    f"{layer:>10}: {written:7d} rows written in {seconds:6.2f} s ="
                    f" {written / seconds:8.0f} rows/s;  raw COPY of the same rows"
                    f" {raw:5.2f} s = {written / raw:8.0f} rows/s;  import / raw COPY"
                    f" {seconds / raw:5.1f}x;  peak memory added {peak / 2**20:6.1f} MiB ="
                    f" {peak / max(written, 1):6.0f} bytes/row (libraries loaded on first use,"
                    f" by a {WARM_ROWS}-row dry run before: {first_use / 2**20:.1f} MiB)"
                )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
