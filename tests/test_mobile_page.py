"""The Mobile Unit page (issue 13) through streamlit.testing: the coordinator plans and stores a
day; the public and community roles see nothing of the stops."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from geo.i18n import t
from tests.conftest import signed_in_session

pytestmark = pytest.mark.db

APP = "../app/Home.py"


def _run(user=None, lang="en") -> AppTest:  # noqa: ANN001
    at = AppTest.from_file(APP, default_timeout=180)
    state = {"lang": lang, **(signed_in_session(user) if user is not None else {})}
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("screens/mobile_unit.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.title) if e.value]
    frames = [df.value.to_csv() for df in at.dataframe]
    return "\n".join(map(str, parts + frames))


@pytest.mark.parametrize("role", ["public", "community"])
def test_public_and_community_see_nothing_of_the_stops(app_env, users, role):
    at = _run(users.get(role))
    assert at.info[0].value == t("mobile.page.not_for_role", "en")
    page = _texts(at)
    assert "home-01" not in page and "school-darjan" not in page
    assert not at.dataframe and not at.get("arrow_data_frame")
    assert [b.key for b in at.button] in ([], ["sidebar_sign_out"])  # nothing to plan with


def test_planner_plans_the_demo_day_and_it_is_stored(app_env, users, loaded_engine):
    at = _run(users["planner"])
    assert "home-01" in _texts(at)  # the demo stops in the editable table
    at.slider(key="mu_limit").set_value(1)
    at.button(key="mu_solve").click()
    at.run(timeout=180)
    assert not at.exception, at.exception
    page = _texts(at)
    assert "school-darjan" in page  # the itinerary
    with loaded_engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM mobile_plans")).scalar_one()
    assert stored == 1
    labels = [b.label for b in at.get("download_button")]
    assert {"plan.json", "GPX"} <= set(labels)
    assert t("mobile.page.sheet", "en") in labels


@pytest.mark.parametrize("lang", ["ro", "hu", "en"])
def test_the_editable_tables_speak_the_pages_language(app_env, users, lang):
    """Headers and the kind of each stop are in the page's language; the data keeps the file's
    column names and codes, and each header names its file column."""
    import json

    from geo.planning.mobile.inputs import KINDS, STOP_COLUMNS, VEHICLE_COLUMNS

    at = _run(users["planner"], lang=lang)
    stops, vans = at.dataframe[0], at.dataframe[1]
    assert tuple(stops.value.columns) == STOP_COLUMNS
    assert tuple(vans.value.columns) == VEHICLE_COLUMNS
    for frame, names in ((stops, STOP_COLUMNS), (vans, VEHICLE_COLUMNS)):
        config = json.loads(frame.proto.columns)
        for name in names:
            assert config[name]["label"] == t(f"mobile.page.field.{name}", lang)
            assert f"„{name}”" in config[name]["help"] or f"“{name}”" in config[name]["help"]
    kinds = json.loads(stops.proto.columns)["kind"]["type_config"]["options"]
    assert [o["value"] for o in kinds] == list(KINDS)
    assert [o["label"] for o in kinds] == [t(f"mobile.kind.{k}", lang) for k in KINDS]
    if lang != "en":
        assert "Latitude" not in json.dumps(json.loads(stops.proto.columns), ensure_ascii=False)
