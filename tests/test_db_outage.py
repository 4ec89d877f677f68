"""When the database goes away the app says so, in the person's language, on every page -- and
works again when it returns, without a restart.

A real PostGIS server of its own (an embedded cluster under ``.test-data/`` on a free port) is
stopped and started under the running app (Streamlit's AppTest: the real scripts, the real
engines and their pools).
"""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from geo.db.local import LocalCluster
from geo.db.migrate import upgrade
from geo.i18n import t
from tests.browser import free_port
from tests.conftest import TEST_DATA_DIR, signed_in_session

APP = "../app/Home.py"


@pytest.fixture
def cluster():
    port = free_port()
    server = LocalCluster(TEST_DATA_DIR / f"outage-{port}", port)
    server.start()
    engine = create_engine(server.url())
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    from geo.communities import bootstrap

    bootstrap(engine)
    engine.dispose()
    try:
        yield server
    finally:
        server.destroy()


def _page(at: AppTest, page: str | None) -> AppTest:
    at.run()
    if page:
        at.switch_page(f"screens/{page}.py")
        at.run()
    return at


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.parametrize(
    ("page", "role"), [(None, None), ("map", "police"), ("workshop", "community")]
)
def test_pages_say_the_database_is_away_and_recover(cluster, monkeypatch, page, role):
    monkeypatch.setenv("DATABASE_URL", cluster.url())
    st.cache_resource.clear()
    st.cache_data.clear()
    user = None
    if role is not None:
        from geo.accounts import create_user

        engine = create_engine(cluster.url())
        # Scoped to every community: the session re-reads the account's communities from the
        # database on every run, so the scope must be the account's, not only the session's.
        user = create_user(
            engine, f"outage-{role}", "outage-password-1", role, _all_ids(cluster.url())
        )
        engine.dispose()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = "hu"
    if user is not None:
        # Unscoped roles only see communities they are given; give the whole list here.
        record = signed_in_session(user)
        record["harta_auth"]["role"] = role
        record["harta_auth"]["communities"] = _all_ids(cluster.url())
        for key, value in record.items():
            at.session_state[key] = value
    _page(at, page)
    assert not at.exception, [e.value for e in at.exception]
    assert t("app.db_unavailable", "hu") not in _errors(at)
    title = at.title[0].value

    cluster.stop()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("app.db_unavailable", "hu") in _errors(at)
    # Caches cleared on the way: the cached community list must not hide the outage either.
    at.run()
    assert t("app.db_unavailable", "hu") in _errors(at)

    cluster.start()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _errors(at) == []
    assert at.title[0].value == title


def _all_ids(url: str) -> tuple[int, ...]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = tuple(conn.execute(text("SELECT id FROM communities ORDER BY id")).scalars())
    engine.dispose()
    return ids


def test_a_refused_query_is_not_reported_as_an_outage():
    """Permission denied is a bug to see, not a database that is away."""
    import sys

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from tests.conftest import APP_DIR

    sys.path.insert(0, str(APP_DIR))
    from harta_ui import db_down

    assert db_down(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert not db_down(ProgrammingError("SELECT 1", {}, Exception("permission denied")))
