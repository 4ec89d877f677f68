"""Shared fixtures: a real PostGIS server for the whole run, a fresh database per test.

The server is an embedded cluster under ``.test-data/`` (port ``HARTA_TEST_PG_PORT``, default
54330), started once per run.  Set ``HARTA_TEST_DATABASE_URL`` to a PostGIS server's
maintenance database URL to use that server instead.  Each test that asks for ``engine`` gets its
own database cloned from a migrated template, so tests never see each other's rows.

No test reaches the internet: every socket connection to a non-loopback address fails at once.
"""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.db.local import LocalCluster
from geo.db.migrate import upgrade
from geo.roles import ACCOUNT_ROLES

# Accounts the database checks (migration 0004), re-exported for the tests that import them here.
from tests.factories import account_engine, account_id, acting  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA_DIR = ROOT / ".test-data"
# Per process, so that several pytest runs against one server never drop each other's templates.
TEMPLATE_DB = f"harta_template_{os.getpid()}"

# Everything Harta writes during the tests goes under .test-data, never the user's data folder.
os.environ["HARTA_DATA_DIR"] = str(TEST_DATA_DIR / "harta")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("HARTA_ONLINE", None)

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_real_connect = socket.socket.connect


def _guarded_connect(sock: socket.socket, address):  # noqa: ANN001
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host not in _LOOPBACK:
        raise OSError(f"tests must not reach the network (tried {host})")
    return _real_connect(sock, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


def _configure_osmnx_offline() -> None:
    try:
        import osmnx as ox
    except ImportError:  # pragma: no cover
        return
    ox.settings.overpass_url = "http://127.0.0.1:9/api"
    ox.settings.nominatim_url = "http://127.0.0.1:9/"
    ox.settings.requests_timeout = 1
    ox.settings.use_cache = False


_configure_osmnx_offline()


#: Fixtures that reach the test PostGIS server; every test using one (directly or through another
#: fixture) is marked ``db``, so ``pytest -m "not db and not browser"`` runs without PostgreSQL.
DB_FIXTURES = frozenset({"pg_server_url"})
#: Modules whose tests start PostgreSQL servers of their own (cluster life cycle, outages, OS
#: attacks on a cluster): they need PostgreSQL's binaries, so they are ``db`` tests too.
OWN_SERVER_MODULES = frozenset({"test_local_cluster", "test_db_outage", "test_attack_os"})


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    """Mark ``db`` every test whose fixture closure reaches the test server, and every test of a
    module that starts servers of its own."""
    for item in items:
        module = getattr(item, "module", None)
        name = module.__name__.rsplit(".", 1)[-1] if module is not None else ""
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())) or name in OWN_SERVER_MODULES:
            item.add_marker(pytest.mark.db)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the maintenance database of the test PostGIS server."""
    external = os.environ.get("HARTA_TEST_DATABASE_URL")
    if external:
        return external
    port = int(os.environ.get("HARTA_TEST_PG_PORT", "54330"))
    cluster = LocalCluster(TEST_DATA_DIR / "pg", port)
    if not cluster.is_running() and not _port_free(port):
        # Another checkout's test server holds the default port: take any free one.
        cluster.port = _free_port()
    cluster.start()
    return cluster.url("postgres")


def _admin_engine(server_url: str):
    return create_engine(server_url, isolation_level="AUTOCOMMIT")


def _url_for(server_url: str, database: str) -> str:
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_db(pg_server_url: str):
    """Name of a migrated template database (rebuilt once per run)."""
    admin = _admin_engine(pg_server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
    engine = create_engine(_url_for(pg_server_url, TEMPLATE_DB))
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    engine.dispose()
    yield TEMPLATE_DB
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))
    admin.dispose()


_counter = itertools.count()


def clone_database(server_url: str, template: str) -> str:
    """Create a fresh database from ``template`` and return its URL."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return _url_for(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(pg_server_url: str, template_db: str):
    """URL of a fresh, migrated, empty database for this test."""
    url = clone_database(pg_server_url, template_db)
    yield url
    drop_database(pg_server_url, url)


@pytest.fixture
def engine(db_url: str):
    """SQLAlchemy engine on a fresh, migrated, empty database."""
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


LOADED_TEMPLATE_DB = f"harta_loaded_template_{os.getpid()}"


@pytest.fixture(scope="session")
def loaded_template_db(pg_server_url: str, template_db: str):
    """A template database with the bundled communities and the demo layers loaded."""
    from geo.communities import bootstrap
    from geo.demo import seed_demo

    admin = _admin_engine(pg_server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{LOADED_TEMPLATE_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{LOADED_TEMPLATE_DB}" TEMPLATE "{template_db}"'))
    admin.dispose()
    eng = create_engine(_url_for(pg_server_url, LOADED_TEMPLATE_DB))
    bootstrap(eng)
    seed_demo(eng)
    eng.dispose()
    yield LOADED_TEMPLATE_DB
    drop_database(pg_server_url, _url_for(pg_server_url, LOADED_TEMPLATE_DB))


@pytest.fixture
def loaded_db_url(pg_server_url: str, loaded_template_db: str):
    """URL of a fresh database holding Pata Rât, its settlements and the demo layers."""
    url = clone_database(pg_server_url, loaded_template_db)
    yield url
    drop_database(pg_server_url, url)


@pytest.fixture
def loaded_engine(loaded_db_url: str):
    eng = create_engine(loaded_db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def app_env(loaded_db_url: str, monkeypatch):
    """Environment in which the Streamlit app reads the loaded test database."""
    monkeypatch.setenv("DATABASE_URL", loaded_db_url)
    return loaded_db_url


# --- accounts --------------------------------------------------------------------------------
APP_DIR = ROOT / "app"
#: Roles that sign in (``public`` is nobody signed in).
SIGNED_ROLES = ACCOUNT_ROLES
#: Known passwords of the :func:`users` fixture's accounts.
PASSWORDS = {role: f"{role}-Harta-test-2026" for role in SIGNED_ROLES}


def username_for(role: str) -> str:
    return f"test-{role}"


@pytest.fixture
def users(loaded_db_url: str):
    """One account per role (``test-<role>``, password :data:`PASSWORDS`), scoped to Pata Rât."""
    from geo.accounts import create_user
    from geo.communities.model import Community

    eng = create_engine(loaded_db_url)
    cid = Community.load(eng, "pata-rat").id
    made = {
        role: create_user(eng, username_for(role), PASSWORDS[role], role, [cid])
        for role in SIGNED_ROLES
    }
    eng.dispose()
    return made


def signed_in_session(user) -> dict:  # noqa: ANN001
    """Session state of a signed-in ``user``, built exactly as the account page's sign-in builds
    it (:func:`harta_ui.session_record`) -- for AppTest, which cannot type into a real form
    faster than this."""
    import sys

    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    from harta_ui import AUTH_KEY, session_record

    return {AUTH_KEY: session_record(user)}


def unfold_sidebar(page) -> None:  # noqa: ANN001
    """Open the sidebar if a map folded it (``geo.maps.base.FoldSidebar``, screens up to a
    portrait tablet's width), as a person would before using the menu or a picker there."""
    if page.locator('[data-testid="stSidebar"][data-collapsed="true"]').count():
        page.locator('[data-testid="stExpandSidebarButton"]').first.click()
        page.wait_for_selector('[data-testid="stSidebar"][data-collapsed="false"]')


def open_page(page, path: str) -> None:  # noqa: ANN001
    """Go to another page of the app through its menu, keeping the Streamlit session (and so
    the session's state; a reload or ``page.goto`` starts a new one, signed in again from the
    sign-in cookie)."""
    unfold_sidebar(page)
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first.click()
    page.wait_for_timeout(500)
    page.wait_for_selector("h1", timeout=90000)


def sign_in_browser(page, base: str, role: str, lang: str = "ro") -> None:  # noqa: ANN001
    """Sign in through the real account page in Chromium as the :func:`users` account of
    ``role``; then use :func:`open_page` to move on."""
    from geo.i18n import t

    page.context.clear_cookies()  # a reload keeps a sign-in (its cookie): start signed out
    page.goto(f"{base}/account")
    page.wait_for_selector("h1", timeout=90000)
    page.get_by_label(t("account.username", lang), exact=True).fill(username_for(role))
    page.get_by_label(t("account.password", lang), exact=True).fill(PASSWORDS[role])
    page.get_by_role("button", name=t("account.sign_in", lang), exact=True).click()
    page.get_by_text(t("account.sign_out", lang), exact=True).first.wait_for(timeout=60000)
