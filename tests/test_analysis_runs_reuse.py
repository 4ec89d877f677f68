"""A hot spot run is stored once: an identical run (same community, scope, parameters and
inputs) is reused, a page view stores nothing until someone asks; demo inputs are labelled.

Issue 11 item 7: every page view stored a new analysis run (31 after one tour).  These tests
count the rows of ``analysis_runs`` (the reference), not the code's own idea of what it stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from geo.analysis.fingerprint import frame_digest
from geo.analysis.runs import run_dir, run_hotspot_analysis, store_run
from geo.communities import Community
from geo.incidents import record_incident
from geo.maps.analysis import analysis_map
from geo.maps.html import demo_badge
from tests.factories import account_engine

pytestmark = pytest.mark.db


@pytest.fixture
def as_role(loaded_db_url):
    engines = {}

    def get(role):
        if role not in engines:
            engines[role] = account_engine(loaded_db_url, role)
        return engines[role]

    yield get
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def pata_rat(loaded_engine):
    return Community.load(loaded_engine, "pata-rat")


def count_runs(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM analysis_runs WHERE kind = 'hotspots'")
        ).scalar_one()


@pytest.mark.parametrize("role", ["police", "public"])
def test_a_second_identical_run_stores_no_second_row(loaded_engine, as_role, pata_rat, role):
    first = run_hotspot_analysis(as_role(role), pata_rat, min_severity=2)
    assert count_runs(loaded_engine) == 1
    second = run_hotspot_analysis(as_role(role), pata_rat, min_severity=2)
    assert count_runs(loaded_engine) == 1
    assert second.id == first.id and second.outputs == first.outputs
    # Different parameters are a different run.
    other = run_hotspot_analysis(as_role(role), pata_rat, min_severity=3)
    assert count_runs(loaded_engine) == 2 and other.id != first.id


def test_a_page_view_stores_nothing_until_asked(loaded_engine, as_role, pata_rat):
    police = as_role("police")
    viewed = run_hotspot_analysis(police, pata_rat, store=False)
    assert viewed.id is None and not viewed.outputs
    assert count_runs(loaded_engine) == 0
    stored = store_run(police, viewed)
    assert stored.id is not None and stored.outputs
    assert count_runs(loaded_engine) == 1
    assert store_run(police, stored).id == stored.id
    # A later view of the same hot spots shows the stored run (its id and exports).
    again = run_hotspot_analysis(police, pata_rat, store=False)
    assert again.id == stored.id and count_runs(loaded_engine) == 1


def test_a_changed_input_is_a_new_run(loaded_engine, as_role, pata_rat):
    """The fingerprint covers the inputs, not only the parameters: a new incident is new data."""
    police = as_role("police")
    first = run_hotspot_analysis(police, pata_rat)
    spot = pata_rat.geometry.representative_point()
    record_incident(
        police,
        community=pata_rat,
        occurred_at=dt.datetime.now(ZoneInfo(pata_rat.timezone)).replace(tzinfo=None)
        - dt.timedelta(days=3),
        type_code="fire",
        severity=3,
        lon=spot.x,
        lat=spot.y,
        reporting_role="police",
        role="police",
    )
    second = run_hotspot_analysis(police, pata_rat)
    assert second.id != first.id and count_runs(loaded_engine) == 2
    assert second.input_counts["used"] == first.input_counts["used"] + 1


@pytest.mark.parametrize(
    "edit",
    [
        # One incident moved by about 1 cm, its severity raised, its time moved by a second.
        "geom = ST_Translate(geom, 0.0000001, 0)",
        "severity = LEAST(severity + 1, 5)",
        "occurred_at = occurred_at + interval '1 second'",
    ],
)
def test_an_edited_incident_is_a_new_fingerprint(loaded_engine, as_role, pata_rat, edit):
    """The column-wise digest sees a one-row edit of any kind through the whole pipeline (the
    database answer, the filters, the run's inputs): the edited data is never shown an earlier
    run's results."""
    police = as_role("police")
    before = run_hotspot_analysis(police, pata_rat, store=False).params["fingerprint"]
    assert run_hotspot_analysis(police, pata_rat, store=False).params["fingerprint"] == before
    with loaded_engine.begin() as conn:
        conn.execute(text("ALTER TABLE incidents DISABLE TRIGGER USER"))
        conn.execute(
            text(
                f"UPDATE incidents SET {edit} WHERE id = (SELECT min(id) FROM incidents"
                " WHERE severity < 5 AND status <> 'withdrawn')"
            )
        )
        conn.execute(text("ALTER TABLE incidents ENABLE TRIGGER USER"))
    after = run_hotspot_analysis(police, pata_rat, store=False)
    assert after.params["fingerprint"] != before


def test_the_digest_ignores_row_order_and_sees_every_value():
    import geopandas as gpd
    from shapely.geometry import Point

    a = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326)
    assert frame_digest(a) == frame_digest(a.iloc[::-1])
    b = a.copy()
    b.loc[1, "geometry"] = Point(1, 1.000001)
    assert frame_digest(a) != frame_digest(b)


def _legend(run, community, lang="ro") -> str:
    """The legend's HTML as the map's script puts it on the page (a JSON string)."""
    html = analysis_map(run, community, None, lang).get_root().render()
    found = re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*")', html)
    assert found
    return "".join(json.loads(f) for f in found)


@pytest.mark.parametrize("role", ["public", "police"])
def test_the_map_of_demo_inputs_carries_the_demo_badge(loaded_engine, as_role, pata_rat, role):
    """The loaded database's incidents are all demo: every hot spot map says DEMO, the
    aggregated one included (its published counts cannot tell demo from real)."""
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT bool_and(is_demo) FROM incidents")).scalar_one()
    run = run_hotspot_analysis(as_role(role), pata_rat, store=False)
    assert run.demo
    assert demo_badge("ro") in _legend(run, pata_rat)


@pytest.mark.parametrize("role", ["public", "police"])
def test_real_inputs_carry_no_demo_badge(loaded_engine, as_role, pata_rat, role):
    with loaded_engine.begin() as conn:
        # The same rows, now real data and no demo layer left in the community.
        conn.execute(text("ALTER TABLE incidents DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE incidents SET is_demo = false"))
        conn.execute(text("ALTER TABLE incidents ENABLE TRIGGER USER"))
        for table in ("risk_zones", "facilities"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            conn.execute(text(f"DELETE FROM {table} WHERE is_demo"))
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    run = run_hotspot_analysis(as_role(role), pata_rat, store=False)
    assert not run.demo
    assert demo_badge("ro") not in _legend(run, pata_rat)


@pytest.mark.parametrize(("forged_scope", "reused"), [("aggregated", True), ("all", False)])
def test_reuse_never_crosses_row_security(loaded_engine, as_role, pata_rat, forged_scope, reused):
    """Attack: a police run ("all" scope) whose row carries the very fingerprint of the public's
    run.  Reuse looks the fingerprint up on the reader's own connection, so row security hides
    the police row and the public gets its own result -- never the police run's id or files.
    The control case (the same row, aggregated scope) is reused: the lookup really happens."""
    public = as_role("public")
    viewed = run_hotspot_analysis(public, pata_rat, store=False)
    assert viewed.id is None
    params = {**viewed.params, "scope": forged_scope}
    with loaded_engine.begin() as conn:
        forged = conn.execute(
            text(
                "INSERT INTO analysis_runs (id, kind, community_id, params, input_counts, outputs,"
                " started_at, finished_at, created_by_role) VALUES (:id, 'hotspots', :c,"
                " CAST(:p AS jsonb), '{}'::jsonb, CAST(:o AS jsonb), now(), now(), 'police')"
                " RETURNING id"
            ),
            {
                # An id of its own: run folders are shared by every test database.
                "id": 970000 + (os.getpid() % 10000) * 2 + int(reused),
                "c": pata_rat.id,
                "p": json.dumps({**params, "exports": ["hotspots_csv"]}, default=str),
                "o": json.dumps({"hotspots_csv": "hotspots.csv"}),
            },
        ).scalar_one()
    folder = run_dir(forged)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hotspots.csv").write_text("police only\n")
    try:
        again = run_hotspot_analysis(public, pata_rat, store=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert (again.id == forged) is reused
    if not reused:
        assert again.id is None and not again.outputs
