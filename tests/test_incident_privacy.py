"""What the hotspots page sends to the browser never holds an exact incident point for a role
without the right to see it.

The page is run with Streamlit's AppTest against the loaded test database (Pata Rât with 420
demo incidents); everything the page would send — the map components' arguments (folium's HTML
and GeoJSON), markdown, captions, tables, JSON — is searched for the coordinates of every
incident in the database, rounded to 5 decimals (about 1 m).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import streamlit as st
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from geo.taxonomy import sensitive_incident_types
from tests.conftest import signed_in_session

#: Two numbers separated by a comma only: a coordinate pair ([lon, lat] in GeoJSON, [lat, lon]
#: in Leaflet calls, "lat, lon" in text).  Overlapping, so that every neighbour pair is seen.
PAIR = re.compile(r"(?<![\d.])(?=(-?\d{1,3}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,}))")
#: Two coordinates match when they agree to within rounding at 5 decimals.
TOLERANCE = 1.01e-5


def _incidents(db_url: str) -> tuple[np.ndarray, np.ndarray]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT round(ST_X(geom)::numeric, 5), round(ST_Y(geom)::numeric, 5), type_code"
                " FROM incidents"
            )
        ).all()
    engine.dispose()
    coords = np.array([(float(x), float(y)) for x, y, _ in rows])
    sensitive = np.array([t in set(sensitive_incident_types()) for _, _, t in rows])
    return coords, sensitive


def _sent_to_browser(at: AppTest) -> str:
    """Everything the page rendered, as text."""
    parts = [el.proto.json_args for el in at.get("component_instance")]
    for kind in ("markdown", "caption", "text", "json", "info", "warning", "success", "error"):
        parts += [str(el.value) for el in getattr(at, kind)]
    for frame in at.dataframe:
        assert not {"lon", "lat", "geometry", "geom"} & set(frame.value.columns)
        parts.append(frame.value.to_csv())
    for table in at.table:
        parts.append(table.value.to_csv())
    return "\n".join(parts)


def _pairs(page: str) -> np.ndarray:
    pairs = [(float(a), float(b)) for a, b in PAIR.findall(page)]
    return np.round(np.array(pairs).reshape(-1, 2), 5)


def _on_public_geometry(db_url: str, incidents: np.ndarray) -> np.ndarray:
    """For every incident, whether its coordinates coincide (within :data:`TOLERANCE`) with a
    vertex of a layer every role may see (streets, places, facilities, risk zones).

    The whole city's street network has thousands of vertices; a few of 420 random incidents
    land within a metre of one by chance, and a page that draws the streets then "contains"
    them without leaking anything.  Such incidents cannot be told apart from the basemap, so
    the leak checks below leave them out (and say how many)."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        text_rows = [
            wkt
            for table in ("streets", "places", "facilities", "risk_zones")
            for wkt in conn.execute(text(f"SELECT ST_AsText(geom) FROM {table}")).scalars()
        ]
    engine.dispose()
    public = "\n".join(text_rows).replace(" ", ",")  # "x y,x y" -> pairs PAIR finds
    return _found(incidents, public)


def _found(incidents: np.ndarray, page: str) -> np.ndarray:
    """For every incident, whether its coordinates appear in ``page`` (as lon,lat or lat,lon)."""
    pairs = _pairs(page)
    pairs = np.unique(np.vstack([pairs, pairs[:, ::-1]]), axis=0)
    found = np.zeros(len(incidents), dtype=bool)
    if not len(pairs):
        return found
    order = np.argsort(pairs[:, 0])
    sorted_pairs = pairs[order]
    for i, (lon, lat) in enumerate(incidents):
        lo = np.searchsorted(sorted_pairs[:, 0], lon - TOLERANCE)
        hi = np.searchsorted(sorted_pairs[:, 0], lon + TOLERANCE, side="right")
        found[i] = bool((np.abs(sorted_pairs[lo:hi, 1] - lat) <= TOLERANCE).any())
    return found


def _hotspots_page(user=None) -> AppTest:  # noqa: ANN001
    """The hotspots page signed in as ``user`` (None: nobody signed in, the public)."""
    # Each test has its own database: drop the engine and data cached for the previous one.
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file("../app/Home.py", default_timeout=240)
    if user is not None:
        for key, value in signed_in_session(user).items():
            at.session_state[key] = value
    at.run()
    at.switch_page("screens/hotspots.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("component_instance"), "the page drew no map"
    return at


@pytest.mark.parametrize("role", ["public", "community", "planner", "admin"])
def test_roles_without_the_right_never_receive_exact_points(app_env, users, role):
    incidents, _ = _incidents(app_env)
    on_streets = _on_public_geometry(app_env, incidents)
    assert on_streets.sum() < 5  # chance coincidences with the basemap only
    at = _hotspots_page(users.get(role))
    page = _sent_to_browser(at)
    leaked = _found(incidents, page) & ~on_streets
    assert not leaked.any(), f"{leaked.sum()} incident coordinates reached the {role} page"
    # The aggregated view is there instead: hexagon counts with the small ones hidden.
    # ("<5", HTML-escaped in the tooltip, then JSON-escaped: "\\u0026lt;5").
    assert "lt;5" in page, "no suppressed hexagon was drawn"


def test_mediators_get_exact_points_but_never_sensitive_ones(app_env, users):
    incidents, sensitive = _incidents(app_env)
    page = _sent_to_browser(_hotspots_page(users["mediator"]))
    found = _found(incidents, page)
    assert found[~sensitive].sum() > 100
    assert not found[sensitive].any()


def test_police_receive_exact_points_so_this_test_can_fail(app_env, users):
    incidents, sensitive = _incidents(app_env)
    page = _sent_to_browser(_hotspots_page(users["police"]))
    found = _found(incidents, page)
    # Incidents inside Pata Rât's area are drawn (the others lie outside the analysed area).
    assert found.sum() > 300
    assert found[sensitive].any()


@pytest.mark.parametrize("role", ["public", "planner"])
def test_aggregated_roles_pick_a_published_period_not_free_days(app_env, users, role):
    """Issue 8 route 7: the free day-level date picker pinned 9 incidents to a day and a cell.
    Aggregated roles now choose whole months, quarters or years, and one type at most."""
    at = _hotspots_page(users.get(role))
    assert not at.date_input, "a free date picker is offered to an aggregated role"
    period = at.selectbox(key="hs_period_ro")
    assert period.options[0] == "The last 24 complete months" or period.value == "recent"
    assert not at.multiselect, "several types at once are offered to an aggregated role"
    at.selectbox(key="hs_type_ro").select("fire").run()
    period.select_index(3).run()
    assert not at.exception, [e.value for e in at.exception]
    run = at.session_state["hs_run"][1]
    assert run.params["freq"] == "month" and run.params["filters"]["types"] == ["fire"]
    lo, hi = run.params["published_window"]
    assert lo.split("T")[0].endswith("-01") and hi.split("T")[0].endswith("-01")
    shown = run.visible.cells["count"].dropna()
    assert (shown % 5 == 0).all()
