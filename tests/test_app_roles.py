"""The app acts as the signed-in role in the database: every page works for every role under
its grants, workshops can be run by the roles that run them (migration 0003), aggregates come
from the database functions, and views of exact locations are recorded in access_log."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from geo import views
from geo import workshops as ws
from geo.communities.model import Community
from geo.db.security import role_engine
from geo.incidents import record_incident
from tests.conftest import account_engine, signed_in_session

APP = "../app/Home.py"
ROLES = ("public", "community", "mediator", "police", "planner", "admin")


def _page(page: str, user=None) -> AppTest:  # noqa: ANN001
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = "en"
    for key, value in (signed_in_session(user) if user is not None else {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"screens/{page}.py")
    at.run()
    return at


@pytest.mark.parametrize("page", ["home", "map", "workshop", "projector", "incidents"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_runs_under_every_role(app_env, users, page, role):
    """No page needs more than its role's grants (a missing one shows as an exception)."""
    at = _page(page, users.get(role))
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_the_app_connects_as_the_signed_in_role(app_env, users):
    import sys

    from tests.conftest import APP_DIR

    sys.path.insert(0, str(APP_DIR))
    from harta_ui import _role_engine

    for role in ROLES:
        with _role_engine(app_env, role).connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == f"harta_{role}"


# --- workshops under the roles that run them -------------------------------------------------

# Inside Pata Rât (as in test_workshops), about 150 m across.
X, Y = 23.6893, 46.7737
SQUARE = Polygon([(X, Y), (X + 0.002, Y), (X + 0.002, Y + 0.0013), (X, Y + 0.0013)])


@pytest.fixture
def attrs():
    return ws.mark_attributes("flooding", 3, "always", "all_year", "ape")


@pytest.mark.parametrize("role", ["community", "mediator", "admin"])
def test_workshop_roles_open_draw_edit_undo_and_delete(loaded_db_url, attrs, role):
    engine = role_engine(loaded_db_url, role)
    session = ws.open_session(
        engine,
        Community.load(engine, "pata-rat"),
        held_on=dt.date.today(),
        language="ro",
        participants=8,
    )
    first = ws.save_mark(engine, session.id, SQUARE, attrs).mark_id
    second = ws.save_mark(engine, session.id, SQUARE.buffer(0.0002), attrs).mark_id
    ws.update_mark(engine, first, ws.mark_attributes("stray_dogs", 4, "night", "winter"))
    assert ws.undo_last_mark(engine, session.id) == second
    ws.delete_mark(engine, first)
    assert ws.session_marks(engine, session.id).empty
    history = ws.session_history(engine, session.id)
    assert {"INSERT", "UPDATE", "DELETE"} <= set(history["operation"])
    ws.set_session_status(engine, session.id, "closed")
    engine.dispose()


def test_community_members_change_only_marks_of_open_sessions(loaded_db_url, attrs):
    engine = role_engine(loaded_db_url, "community")
    session = ws.open_session(
        engine,
        Community.load(engine, "pata-rat"),
        held_on=dt.date.today(),
        language="ro",
        participants=8,
    )
    mark = ws.save_mark(engine, session.id, SQUARE, attrs).mark_id
    ws.set_session_status(engine, session.id, "closed")
    # Row-level security: not even a direct statement reaches a closed session's marks, nor a
    # demo zone.
    with engine.begin() as conn:
        assert conn.execute(text("DELETE FROM risk_zones WHERE id = :m"), {"m": mark}).rowcount == 0
        assert conn.execute(text("DELETE FROM risk_zones WHERE is_demo")).rowcount == 0
        assert conn.execute(text("UPDATE risk_zones SET severity = 1")).rowcount == 0
    engine.dispose()


def test_planners_and_the_public_cannot_run_workshops(loaded_db_url):
    for role in ("planner", "public"):
        engine = role_engine(loaded_db_url, role)
        with pytest.raises(ws.SessionError):  # the role is the connection's (DB: test_workshops)
            ws.open_session(
                engine,
                Community.load(engine, "pata-rat"),
                held_on=dt.date.today(),
                language="ro",
                participants=5,
            )
        engine.dispose()


# --- incidents recorded and aggregated under role engines -------------------------------------


def test_admin_records_blind_and_mediator_records_a_sensitive_incident(loaded_db_url):
    when = dt.datetime(2026, 1, 5, 10, 0)
    for role, type_code in (("admin", "fire"), ("mediator", "domestic_violence")):
        engine = account_engine(loaded_db_url, role)  # the database checks the account (0004)
        saved = record_incident(
            engine,
            community=Community.load(engine, "pata-rat"),
            occurred_at=when,
            type_code=type_code,
            severity=3,
            lon=X + 0.001,
            lat=Y + 0.0005,
            location_precision="exact",
            sensitivity="normal",
            reporting_role=role,
            role=role,
        )
        assert saved.id > 0
        engine.dispose()
    owner = create_engine(loaded_db_url)
    with owner.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM incidents WHERE occurred_at = :w"),
                {"w": dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)},
            ).scalar_one()
            == 2
        )
    owner.dispose()


def test_aggregates_come_from_the_database_with_the_floors(loaded_db_url):
    engine = role_engine(loaded_db_url, "public")
    pata_rat = Community.load(engine, "pata-rat")
    cells = views.incident_hex_counts(engine, pata_rat, 300, threshold=1)
    shown = cells.loc[~cells["suppressed"], "count"]
    assert len(shown) and (shown >= 5).all()  # the threshold cannot go below 5
    severe = views.incident_hex_counts(engine, pata_rat, 300, min_severity=5)
    assert severe["count"].sum() < shown.sum()
    hours, days = views.incident_time_profile(engine, pata_rat)
    assert list(hours.index) == list(range(24)) and list(days.index) == list(range(7))
    assert hours.dropna().min() >= 5 and days.dropna().min() >= 5
    counts = views.layer_counts(engine, pata_rat, exact=False)
    assert counts["incidents"] == int(shown.sum())
    engine.dispose()


# --- access records -------------------------------------------------------------------------


def _access(url: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT username, role, action, detail FROM access_log ORDER BY id")
        ).all()
    engine.dispose()
    return rows


def test_views_of_exact_locations_are_recorded(app_env, users):
    at = _page("map", users["police"])
    assert not at.exception
    at.run()  # a rerun is the same view, recorded once
    rows = _access(app_env)
    assert len(rows) == 1
    username, role, action, detail = rows[0]
    assert (username, role, action, detail["page"]) == (
        "test-police",
        "police",
        "view_exact",
        "map",
    )
    assert detail["count"] > 100 and set(detail) <= {"community", "page", "count"}

    _page("map", users["planner"])
    _page("map")
    assert len(_access(app_env)) == 1  # aggregated views are not exact views
