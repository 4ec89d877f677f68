"""Reliability: concurrent workshop sessions lose nothing; a killed import leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from geo.db.security import connect_as, role_engine
from tests.factories import insert_community

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parent.parent
SQUARE = "POLYGON((23.66 46.76,23.72 46.76,23.72 46.80,23.66 46.80,23.66 46.76))"


def _community(engine) -> int:
    return insert_community(engine, "pata-rat", name="Pata Rât", wkt=SQUARE)


def _workshop(engine, cid: int, title: str) -> int:
    with engine.begin() as conn:
        return conn.execute(
            text(
                "INSERT INTO workshops (community_id, held_on, language, facilitator_role,"
                " participants, title, source, created_by_role, is_demo) VALUES (:c,"
                " '2026-03-01', 'ro', 'mediator', 12, :t, 'workshop', 'mediator', false)"
                " RETURNING id"
            ),
            {"c": cid, "t": title},
        ).scalar_one()


ZONE = (
    "INSERT INTO risk_zones (community_id, workshop_id, hazard_code, severity, time_of_day,"
    " season, note, geom, source, created_by_role, is_demo) VALUES (:c, :w, 'flooding', 3,"
    " 'always', 'all_year', :n, ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'workshop',"
    " 'community', false)"
)


def test_two_sessions_inserting_at_the_same_moment_lose_nothing(engine, db_url):
    cid = _community(engine)
    sessions = [_workshop(engine, cid, "A"), _workshop(engine, cid, "B")]
    per_session = 25
    barrier = threading.Barrier(len(sessions))
    errors: list[BaseException] = []
    community = role_engine(db_url, "community", pool_size=2, max_overflow=0)

    def mark(workshop_id: int) -> None:
        try:
            with community.begin() as conn:
                barrier.wait(timeout=10)
                for k in range(per_session):
                    conn.execute(
                        text(ZONE),
                        {
                            "c": cid,
                            "w": workshop_id,
                            "n": f"{workshop_id}-{k}",
                            "x": 23.67 + k * 1e-4,
                            "y": 46.77,
                        },
                    )
                # Both transactions are open and hold their rows when they commit.
                barrier.wait(timeout=10)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=mark, args=(w,)) for w in sessions]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        community.dispose()
    assert errors == []
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text("SELECT workshop_id, count(*) FROM risk_zones GROUP BY workshop_id")
            ).all()
        )
        notes = conn.execute(text("SELECT count(DISTINCT note) FROM risk_zones")).scalar_one()
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE table_name = 'risk_zones'")
        ).scalar_one()
    assert counts == {w: per_session for w in sessions}
    assert notes == audited == per_session * len(sessions)


KILLED_IMPORT = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import create_engine
    import geo.ingest.writer as writer
    from geo.ingest import import_file

    writer.BATCH_SIZE = 10  # several batches, so "half-way" is a real state

    def progress(done, total):
        if 0 < done < total:
            print("HALF", done, total, flush=True)
            time.sleep(600)

    engine = create_engine(sys.argv[1])
    import_file(engine, "risk_zones", sys.argv[2], community="pata-rat", progress=progress)
    print("FINISHED", flush=True)
    """
)


def _zones_csv(path: Path, n: int) -> Path:
    lines = ["hazard,severity,note,lat,lon"]
    for k in range(n):
        lines.append(f"flooding,3,row {k},{46.77 + k * 1e-4:.6f},{23.67 + k * 1e-4:.6f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM risk_zones")).scalar_one(),
            conn.execute(text("SELECT count(*) FROM imports")).scalar_one(),
        )


def test_import_killed_half_way_leaves_nothing(engine, db_url, tmp_path):
    pytest.importorskip("geo.ingest")
    _community(engine)
    csv = _zones_csv(tmp_path / "zones.csv", 60)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, db_url, str(csv)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("HALF"), line + proc.stderr.read()
        # Rows of the first batches were inserted, inside the still-open transaction.
        with engine.connect() as conn:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'idle in transaction'"
                )
            ).scalar_one()
        assert busy >= 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(engine) == (0, 0)
    # And the same file imports completely afterwards.
    from geo.ingest import import_file

    report = import_file(engine, "risk_zones", csv, community="pata-rat")
    assert report.rows_written == 60
    assert _counts(engine) == (60, 1)


def test_transaction_killed_mid_insert_leaves_nothing(engine, db_url):
    """The same guarantee without the importer: a raw transaction, SIGKILLed."""
    cid = _community(engine)
    script = textwrap.dedent(
        f"""
        import sys, time
        from sqlalchemy import create_engine, text
        engine = create_engine(sys.argv[1])
        with engine.begin() as conn:
            for k in range(20):
                conn.execute(text({ZONE!r}), {{"c": {cid}, "w": None, "n": str(k),
                                              "x": 23.67, "y": 46.77}})
            print("INSERTED", flush=True)
            time.sleep(600)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, db_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().startswith("INSERTED")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with connect_as(engine, "admin") as conn:
        assert conn.execute(text("SELECT count(*) FROM risk_zones")).scalar_one() == 0
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM audit_log WHERE table_name = 'risk_zones'")
            ).scalar_one()
            == 0
        )
