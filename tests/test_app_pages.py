"""The app's pages run (streamlit.testing) against a loaded PostGIS database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from geo.communities import Community
from geo.i18n import t
from tests.conftest import signed_in_session

APP = "../app/Home.py"  # AppTest resolves paths from this file's folder


def _run(page: str | None = None, user=None, **state) -> AppTest:  # noqa: ANN001
    """Run a page; signed in as ``user`` (a :class:`geo.accounts.User`) when given."""
    at = AppTest.from_file(APP, default_timeout=120)
    if user is not None:
        state = {**signed_in_session(user), **state}
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(f"screens/{page}.py")
        at.run()
    assert not at.exception, at.exception
    return at


def _map_payload(at: AppTest) -> str:
    components = [e for e in at.main if e.type == "component_instance"]
    assert components, "the page drew no map"
    return components[0].proto.json_args


@pytest.mark.parametrize("lang", ["ro", "hu", "en"])
def test_home_page_speaks_the_chosen_language_and_flags_demo_rows(app_env, lang):
    at = _run(lang=lang)
    assert at.title[0].value == t("app.home.title", lang)
    engine = create_engine(app_env)
    # Nobody is signed in: the public cannot read incidents, so only the demo rows of the
    # layers it reads are counted (incidents appear as published hexagon counts only).
    # Counted independently of the page: the demo rows that belong to Pata Rât by the one
    # membership rule (a demo zone drawn past the boundary is not "shown here").
    pata_rat = Community.load(engine, "pata-rat")
    with engine.connect() as conn:
        demo_rows = sum(
            conn.execute(
                text(
                    f"SELECT count(*) FROM {table} AS t JOIN harta_member_rows(:c, '{table}')"
                    " AS m ON m.id = t.id WHERE t.is_demo"
                ),
                {"c": pata_rat.id},
            ).scalar_one()
            for table in ("risk_zones", "facilities")
        )
    engine.dispose()
    assert [i.value for i in at.info] == [t("app.home.demo_notice", lang, count=demo_rows)]


def test_map_page_draws_pata_rat_streets_and_risk_zones(app_env):
    at = _run("map", lang="en")
    payload = _map_payload(at)
    # Streets and their names come as the app's own basemap tiles (issue 11 item 2).
    assert "/harta-tiles/en/{z}/{x}/{y}.png" in payload
    assert "/app/static/vendor/leaflet" in payload
    assert "unpkg.com" not in payload and "cdn.jsdelivr" not in payload


def _incident_coordinates(url: str) -> set[tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM incidents")).all()
    engine.dispose()
    return {(f"{x:.5f}", f"{y:.5f}") for x, y in rows}


PAIR = re.compile(r"\[\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*\]")


def _leaks(payload: str, coordinates: set[tuple[str, str]]) -> int:
    """How many incident positions appear as a coordinate pair anywhere in the payload."""
    sent = {(x[: x.index(".") + 6], y[: y.index(".") + 6]) for x, y in PAIR.findall(payload)}
    return len(coordinates & sent)


@pytest.mark.parametrize("role", ["public", "community", "planner", "admin"])
def test_map_never_sends_exact_incident_points_to_roles_without_the_right(app_env, users, role):
    at = _run("map", lang="en", user=users.get(role))
    coordinates = _incident_coordinates(app_env)
    assert _leaks(_map_payload(at), coordinates) == 0


def test_police_map_does_carry_incident_points(app_env, users):
    at = _run("map", lang="en", user=users["police"])
    coordinates = _incident_coordinates(app_env)
    assert _leaks(_map_payload(at), coordinates) > 100


def test_the_incident_form_never_offers_demo_facilities_as_landmarks(app_env, users):
    """An invented clinic must not become the recorded place of a real incident."""
    engine = create_engine(app_env)
    pata_rat = Community.load(engine, "pata-rat")
    with engine.connect() as conn:
        # Independent of geo.incidents: the demo facilities the community's area holds.
        demo = set(
            conn.execute(
                text(
                    "SELECT f.name FROM facilities f JOIN harta_member_rows(:c, 'facilities') m"
                    " ON m.id = f.id WHERE f.is_demo AND coalesce(f.name, '') <> ''"
                ),
                {"c": pata_rat.id},
            ).scalars()
        )
    engine.dispose()
    assert demo, "the loaded database should hold demo facilities in Pata Rât"
    at = _run("incidents", lang="en", user=users["police"])
    at.radio[0].set_value("named").run()
    offered = at.selectbox(key="incident_place_0").options
    assert offered
    assert not [label for label in offered if any(label.startswith(f"{n} (") for n in demo)]
