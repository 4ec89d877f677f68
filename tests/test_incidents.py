"""Recording one incident: validation, sensitivity, time zones, duplicates, named places;
withdrawing one on the Incidents page."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from geo import views
from geo.communities import Community
from geo.db.security import role_engine
from geo.i18n import t
from geo.incidents import (
    IncidentError,
    as_aware,
    derive_sensitivity,
    named_places,
    near_duplicates,
    record_incident,
)
from tests.conftest import signed_in_session

# A point in Dallas, inside Pata Rât.
LON, LAT = 23.69038, 46.7757


def _record(engine, **overrides):
    values = {
        "community": Community.load(engine, "pata-rat"),
        "occurred_at": dt.datetime(2026, 10, 3, 21, 30),
        "type_code": "conflict_dispute",
        "severity": 3,
        "lon": LON,
        "lat": LAT,
        "location_precision": "exact",
        "reporting_role": "mediator",
        "role": "mediator",
    }
    values.update(overrides)
    return record_incident(engine, **values)


def _row(engine, incident_id):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT occurred_at, type_code, severity, sensitivity, narrative, source,"
                " created_by_role, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incidents"
                " WHERE id = :id"
            ),
            {"id": incident_id},
        ).one()


def test_record_writes_one_row_with_local_time_and_audit(loaded_engine):
    saved = _record(loaded_engine, narrative="  Ceartă între vecini  ")
    row = _row(loaded_engine, saved.id)
    # 21:30 in Bucharest on 3 October 2026 (summer time, UTC+3) is 18:30 UTC.
    assert row.occurred_at.astimezone(dt.UTC) == dt.datetime(2026, 10, 3, 18, 30, tzinfo=dt.UTC)
    assert (row.type_code, row.severity, row.sensitivity) == ("conflict_dispute", 3, "normal")
    assert row.narrative == "Ceartă între vecini"
    assert (row.source, row.created_by_role) == ("form", "mediator")
    assert row.lon == pytest.approx(LON) and row.lat == pytest.approx(LAT)
    with loaded_engine.connect() as conn:
        audit = conn.execute(
            text(
                "SELECT app_role FROM audit_log WHERE table_name = 'incidents'"
                " AND operation = 'INSERT' AND row_id = :id"
            ),
            {"id": saved.id},
        ).scalar_one()
    assert audit == "mediator"


def test_aware_times_are_kept_and_naive_times_are_local():
    aware = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    assert as_aware(aware, "Europe/Bucharest") is aware
    winter = as_aware(dt.datetime(2026, 1, 5, 8, 0), "Europe/Bucharest")
    assert winter.utcoffset() == dt.timedelta(hours=2)


def test_sensitive_types_are_never_stored_as_normal(loaded_engine):
    assert derive_sensitivity("domestic_violence", "normal") == "sensitive"
    assert derive_sensitivity("domestic_violence", "restricted") == "restricted"
    assert derive_sensitivity("theft") == "normal"
    saved = _record(
        loaded_engine, type_code="child_protection", sensitivity="normal", role="police"
    )
    assert saved.sensitivity == "sensitive"
    assert _row(loaded_engine, saved.id).sensitivity == "sensitive"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"role": "public"}, "incidents.error.not_allowed"),
        ({"role": "planner"}, "incidents.error.not_allowed"),
        ({"role": "superuser"}, "incidents.error.unknown_role"),
        ({"type_code": "alien_landing"}, "incidents.error.unknown_type"),
        ({"severity": 0}, "incidents.error.severity"),
        ({"severity": 6}, "incidents.error.severity"),
        ({"location_precision": "roughly"}, "incidents.error.precision"),
        ({"sensitivity": "secret"}, "incidents.error.sensitivity"),
        ({"lon": float("nan")}, "incidents.error.coordinates"),
        ({"lon": 23.5, "lat": 46.9}, "incidents.error.outside"),
        ({"occurred_at": dt.datetime(2099, 1, 1)}, "incidents.error.future"),
        ({"role": "admin", "narrative": "text"}, "incidents.error.narrative_role"),
        ({"narrative": "x" * 2001}, "incidents.error.narrative_length"),
    ],
)
def test_invalid_incidents_are_refused_and_nothing_is_written(loaded_engine, overrides, key):
    with loaded_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    with pytest.raises(IncidentError) as caught:
        _record(loaded_engine, **overrides)
    assert caught.value.key == key
    # Every error has a real message in every language.
    for lang in ("ro", "hu", "en"):
        assert not caught.value.message(lang).startswith("incidents.")
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == before


def test_admin_may_record_without_narrative(loaded_engine):
    saved = _record(loaded_engine, role="admin", reporting_role="community")
    assert _row(loaded_engine, saved.id).created_by_role == "admin"


def test_same_incident_twice_is_refused(loaded_engine):
    _record(loaded_engine)
    with pytest.raises(IncidentError) as caught:
        _record(loaded_engine)
    assert caught.value.key == "incidents.error.already_recorded"


def test_near_duplicates_are_reported_before_and_after_recording(loaded_engine):
    first = _record(loaded_engine)
    # 15 m east and 20 minutes later, same type: probably the same event.
    lon_15m = LON + 15 / 76_500
    later = dt.datetime(2026, 10, 3, 21, 50)
    found = near_duplicates(
        loaded_engine,
        community=Community.load(loaded_engine, "pata-rat"),
        type_code="conflict_dispute",
        occurred_at=later,
        lon=lon_15m,
        lat=LAT,
    )
    assert [d.id for d in found] == [first.id]
    assert found[0].metres == pytest.approx(15, abs=1.5)
    assert found[0].minutes == pytest.approx(20)
    second = _record(loaded_engine, occurred_at=later, lon=lon_15m)
    assert [d.id for d in second.duplicates] == [first.id]
    # Another type, farther away, or later is not a duplicate.
    for other in (
        {"type_code": "theft"},
        {"lon": LON + 40 / 76_500},
        {"occurred_at": dt.datetime(2026, 10, 3, 22, 5)},
    ):
        args = {"type_code": "conflict_dispute", "occurred_at": dt.datetime(2026, 10, 3, 21, 30)}
        args.update(other)
        found = near_duplicates(
            loaded_engine,
            community=Community.load(loaded_engine, "pata-rat"),
            lon=args.pop("lon", LON),
            lat=LAT,
            **args,
        )
        assert first.id not in [d.id for d in found], other


def test_named_places_give_one_point_per_street_inside_the_area(loaded_engine):
    places = named_places(loaded_engine, Community.load(loaded_engine, "pata-rat"))
    streets = places[places["kind"] == "street"]
    assert "Strada Cantonului" in set(streets["name"])
    assert streets["name"].is_unique
    assert {"Cantonului", "Dallas", "Colina Verde"} <= set(
        places.loc[places["kind"] == "settlement", "name"]
    )
    assert (places["kind"] == "facility").any()
    # Every point is inside Pata Rât (25 m tolerance) and a street's point lies on the street.
    with loaded_engine.connect() as conn:
        for row in places.itertuples():
            outside, to_street = conn.execute(
                text(
                    "SELECT ST_Distance(c.geom::geography, p::geography),"
                    " (SELECT min(ST_Distance(s.geom::geography, p::geography)) FROM streets s"
                    "  WHERE s.name = :name)"
                    " FROM communities c, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) p"
                    " WHERE c.slug = 'pata-rat'"
                ),
                {"lon": row.lon, "lat": row.lat, "name": row.name},
            ).one()
            assert outside <= 25.5, row.name
            if row.kind == "street":
                assert to_street < 0.5, row.name
    # A named place can be recorded as the incident location.
    street = streets.iloc[0]
    saved = _record(
        loaded_engine, lon=street["lon"], lat=street["lat"], location_precision="street"
    )
    assert saved.id > 0


# --- withdrawal on the Incidents page ------------------------------------------------------


def _incidents_page(user) -> AppTest:  # noqa: ANN001
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file("../app/Home.py", default_timeout=180)
    for key, value in {"lang": "ro", **signed_in_session(user)}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("screens/incidents.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _exists(url: str, incident_id: int) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT count(*) FROM incidents WHERE id = :i"), {"i": incident_id}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_police_withdraw_an_incident_and_it_is_gone_everywhere(app_env, users):
    at = _incidents_page(users["police"])
    pick = at.selectbox(key="withdraw_pick")
    sensitive = [i for i in pick.options if "·" in i and "Sensibil" in i]
    assert pick.options and sensitive  # police see sensitive rows of their community
    incident_id = int(sensitive[0].split(" ")[0].lstrip("#"))
    pick = at.selectbox(key="withdraw_pick")
    assert at.button(key="withdraw_run").disabled  # nothing chosen yet
    pick.set_value(incident_id).run()
    assert at.button(key="withdraw_run").disabled  # chosen, not confirmed
    at.checkbox(key=f"withdraw_confirm_{incident_id}").check().run()
    at.button(key="withdraw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("incidents.withdraw.done", "ro", id=incident_id) in [s.value for s in at.success]
    assert not _exists(app_env, incident_id)
    assert f"#{incident_id} " not in " ".join(at.selectbox(key="withdraw_pick").options)
    # Nor can the officer's own database connection read it any more.
    police = role_engine(app_env, "police", users["police"].id)
    try:
        pata = Community.load(police, "pata-rat")
        assert incident_id not in set(views.incident_points(police, pata)["id"])
    finally:
        police.dispose()


def test_mediators_are_offered_only_rows_they_may_see_and_others_no_tab(app_env, users):
    """Attack: a mediator must not be able to pick (and so withdraw or even see) a sensitive
    incident; roles without the right get no withdrawal control at all."""
    at = _incidents_page(users["mediator"])
    options = at.selectbox(key="withdraw_pick").options
    assert options
    for sensitivity in ("sensitive", "restricted"):
        label = t(f"incidents.sensitivity.{sensitivity}", "ro")
        assert not [o for o in options if o.endswith(f"· {label}")]
    admin = _incidents_page(users["admin"])
    assert "withdraw_pick" not in [s.key for s in admin.selectbox]
    assert t("incidents.withdraw.tab", "ro") not in [tab.label for tab in admin.tabs]


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ro", "hu"])
def test_withdraw_control_in_the_browser(loaded_db_url, users, monkeypatch, lang):
    """The withdrawal tab in Chromium as police, desktop and 800x1280; saves the screenshots."""
    from playwright.sync_api import expect

    from tests.browser import SCREENSHOTS, browser_page, running_app
    from tests.conftest import open_page, sign_in_browser

    monkeypatch.setenv("HARTA_LANGUAGE", lang)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(loaded_db_url) as base:
        for name, viewport in (("desktop", (1400, 950)), ("tablet", (800, 1280))):
            with browser_page(viewport) as page:
                sign_in_browser(page, base, "police", lang=lang)
                open_page(page, "incidents")
                page.get_by_role("tab", name=t("incidents.withdraw.tab", lang)).click()
                page.get_by_label(t("incidents.withdraw.pick", lang)).first.click()
                page.get_by_role("option").first.click()
                page.get_by_text(t("incidents.withdraw.confirm", lang)).first.click()
                button = page.get_by_role("button", name=t("incidents.withdraw.button", lang))
                expect(button).to_be_enabled(timeout=30000)
                page.wait_for_timeout(1000)
                page.screenshot(
                    path=str(SCREENSHOTS / f"incidents_withdraw_{name}_{lang}.png"), full_page=True
                )
                assert not page.blocked_requests
