"""Stored Mobile Unit plans (issue 13): the run store holds no home; ``mobile_plans`` is closed.

Attacks at the database level, through real role connections (geo.db.security): the public,
community, police and admin roles are refused the table outright; a planner of another community,
or a planner connection without a valid account, reads no row; the run row every role may read
carries no stop id and no coordinate.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import runs
from geo.accounts import create_user
from geo.communities.model import Community
from geo.db.security import role_engine
from geo.network.matrix import network_for
from geo.planning.mobile.inputs import read_stops, read_vehicles
from geo.planning.mobile.plan import make_plan
from geo.planning.mobile.store import KIND, list_plans, load_plan, store_plan
from geo.settings import PROJECT_ROOT
from tests.factories import insert_community

pytestmark = pytest.mark.db

DEMO = PROJECT_ROOT / "data" / "mobile_unit"
MONDAY = dt.date(2026, 12, 7)
OTHER_WKT = "POLYGON((23.00 42.60,23.04 42.60,23.04 42.63,23.00 42.63,23.00 42.60))"


@pytest.fixture
def stored(loaded_engine, loaded_db_url, users):
    """A demo plan stored by the Pata Rât planner."""
    pata_rat = Community.load(loaded_engine, "pata-rat")
    stops = read_stops(DEMO / "stops.csv", community=pata_rat)
    vehicles = read_vehicles(DEMO / "vehicles.csv", community=pata_rat)
    plan, _ = make_plan(
        stops, vehicles, MONDAY, network_for(pata_rat, "drive"), pata_rat, time_limit_s=0.5
    )
    planner = role_engine(loaded_db_url, "planner", users["planner"].id)
    run_id = store_plan(planner, pata_rat, plan, stops, vehicles, lang="ro")
    yield {"run": run_id, "community": pata_rat, "stops": stops, "planner": planner}
    planner.dispose()


def test_planner_stores_and_reads_back_the_plan(stored, loaded_db_url, users):
    planner = stored["planner"]
    back = load_plan(planner, stored["run"])
    assert back is not None and back.day == MONDAY
    assert [s.stop_id for s in back.stops] == [s.stop_id for s in stored["stops"]]
    assert back.stops == stored["stops"]
    assert set(back.plan) == {"vehicles", "dropped", "params"}
    assert list_plans(planner, stored["community"]) == [(stored["run"], MONDAY)]
    run = runs.get_run(planner, stored["run"])
    assert run.kind == KIND and run.scope == "aggregated" and run.finished_at is not None
    assert run.created_by_role == "planner"
    # The mediator of the community reads it too (the coordinator's other role).
    mediator = role_engine(loaded_db_url, "mediator", users["mediator"].id)
    try:
        assert load_plan(mediator, stored["run"]) is not None
    finally:
        mediator.dispose()


@pytest.mark.parametrize("role", ["public", "community", "police", "admin"])
def test_other_roles_are_refused_the_homes_outright(stored, loaded_db_url, users, role):
    user_id = users[role].id if role in users else None
    engine = role_engine(loaded_db_url, role, user_id)
    try:
        for sql in (
            "SELECT count(*) FROM mobile_plans",
            "SELECT stops FROM mobile_plans WHERE run_id = :id",
            "SELECT plan_date FROM mobile_plans WHERE community_id IS NOT NULL",
        ):
            with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text(sql), {"id": stored["run"]})
        with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(
                text(
                    "INSERT INTO mobile_plans (run_id, community_id, plan_date, stops, vehicles,"
                    " plan) VALUES (:id, :c, '2026-12-08', '[]', '[]', '{}')"
                ),
                {"id": stored["run"], "c": stored["community"].id},
            )
    finally:
        engine.dispose()


def test_planner_of_another_community_or_without_account_reads_nothing(
    stored, loaded_engine, loaded_db_url
):
    with loaded_engine.begin() as conn:
        other = insert_community(
            conn,
            "pernik-mobile",
            name="Pernik",
            wkt=OTHER_WKT,
            country="BG",
            timezone="Europe/Sofia",
        )
    stranger = create_user(
        loaded_engine, "pernik-planner", "a long passphrase 1", "planner", [other]
    )
    for user_id in (stranger.id, None):
        engine = role_engine(loaded_db_url, "planner", user_id)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM mobile_plans")).scalar_one() == 0
                # Asking twice with different filters learns nothing either.
                assert (
                    conn.execute(
                        text("SELECT count(*) FROM mobile_plans WHERE run_id = :id"),
                        {"id": stored["run"]},
                    ).scalar_one()
                    == 0
                )
            assert load_plan(engine, stored["run"]) is None
            # Nor can it plant a plan in Pata Rât.
            with engine.begin() as conn, pytest.raises(DBAPIError, match="row-level security"):
                conn.execute(
                    text(
                        "INSERT INTO mobile_plans (run_id, community_id, plan_date, stops,"
                        " vehicles, plan) VALUES (:id, :c, '2026-12-08', '[]', '[]', '{}')"
                    ),
                    {"id": stored["run"], "c": stored["community"].id},
                )
        finally:
            engine.dispose()


def test_the_run_row_everyone_reads_places_nobody(stored, loaded_db_url):
    public = role_engine(loaded_db_url, "public")
    try:
        run = runs.get_run(public, stored["run"])
    finally:
        public.dispose()
    assert run is not None  # aggregated: the run exists for everyone ...
    visible = json.dumps(
        [run.params, run.input_counts, {k: str(v) for k, v in run.outputs.items()}]
    )
    # ... but names no stop and no coordinate of any stop or depot.
    for stop in stored["stops"]:
        assert stop.stop_id not in visible
        assert f"{stop.lat:.4f}"[:7] not in visible
    assert "depot" not in visible and "23.67" not in visible
    assert run.input_counts["stops"] == len(stored["stops"])
