"""Page-level figures of issue 15: the aggregated roles' Map and Hotspots database calls at
100,000 incidents, after (today's SQL) and before (migration 0003's ``incident_hex_counts``).

A scratch database on the test PostGIS server is loaded as :mod:`bench_aggregates` does (Pata
Rât, ``--n`` incidents over 24 complete months, 0003's function recreated as
``incident_hex_counts_0003``).  Two calls are timed through the code the pages run, on an
engine acting as ``public`` (an aggregated role):

* Map: ``geo.views.incident_hex_counts(engine, community, DEFAULT_PRIVACY_CELL_M, threshold)``,
  as ``app/screens/map.py`` calls it;
* Hotspots: ``geo.analysis.inputs.aggregated_inputs(engine, community, "public", RunFilters(),
  threshold)``, every database call of an aggregated hotspot run (published grid, published
  counts over the analysis grid for the window and for each month, the time profile).

"After" is the median of ``--repeats`` calls after one warm-up.  "Before" swaps the two
functions' names in the scratch database (same signature), so the same Python runs 0003's SQL;
each of its statements is cancelled after ``--timeout`` seconds, and a cancelled page is printed
as a lower bound (``> timeout``).  The scratch database is dropped at the end.

Run: ``python scripts/bench_pages.py [--n 100000] [--repeats 5] [--timeout 120]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench_aggregates import _load, _server_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from geo import views
from geo.analysis.inputs import RunFilters, aggregated_inputs
from geo.communities.model import Community
from geo.db.migrate import upgrade
from geo.db.security import role_engine
from geo.privacy import DEFAULT_PRIVACY_CELL_M
from geo.settings import get_settings

ROLE = "public"


def _pages(engine, community: Community, threshold: int) -> dict:
    """The two page calls of an aggregated role."""
    return {
        "Map (published counts, map grid)": lambda: views.incident_hex_counts(
            engine, community, DEFAULT_PRIVACY_CELL_M, threshold
        ),
        "Hotspots (aggregated run's inputs)": lambda: aggregated_inputs(
            engine, community, ROLE, RunFilters(), threshold
        ),
    }


def _median(call, repeats: int, warm_up: bool = True) -> float:
    """Median seconds of ``repeats`` calls (after one warm-up call when ``warm_up``)."""
    if warm_up:
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _swap_functions(engine) -> None:
    """Give 0003's function today's name (and today's another), same signature."""
    signature = "(integer, double precision, integer, timestamptz, timestamptz, text[], integer)"
    with engine.begin() as conn:
        conn.execute(text(f"ALTER FUNCTION incident_hex_counts{signature} RENAME TO _hex_today"))
        conn.execute(
            text(
                f"ALTER FUNCTION incident_hex_counts_0003{signature} RENAME TO incident_hex_counts"
            )
        )


def _measure(url: str, community: Community, args, before: bool) -> dict[str, str]:
    threshold = get_settings().suppression_threshold
    options = f"-c statement_timeout={int(args.timeout * 1000)}" if before else ""
    engine = role_engine(url, ROLE, connect_args={"options": options} if options else {})
    figures = {}
    try:
        for name, call in _pages(engine, community, threshold).items():
            try:
                # The baseline takes minutes a call: one call, no warm-up.
                seconds = _median(call, 1 if before else args.repeats, warm_up=not before)
                figures[name] = f"{seconds:9.3f} s"
            except OperationalError:
                figures[name] = f"  > {args.timeout:g} s (a statement was cancelled)"
    finally:
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    server = _server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_pages_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server).set(database=name)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        upgrade(engine)
        t0 = time.perf_counter()
        _load(engine, args.n)
        print(f"loaded {args.n:,} incidents in {time.perf_counter() - t0:.1f} s")
        community = Community.load(engine, "pata-rat")
        plain_url = url.render_as_string(hide_password=False)
        after = _measure(plain_url, community, args, before=False)
        _swap_functions(engine)
        before = _measure(plain_url, community, args, before=True)
        engine.dispose()
        for page in after:
            print(
                f"{args.n:>8,} incidents  {page:36s} after (0005/0007): {after[page]}   "
                f"before (0003): {before[page]}"
            )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
