"""Migration 0016 attacked at the database: ``harta_published_demo`` says how many demo incidents
the published counts of a window include, and gives nothing a published count does not.

Each test is written to fail on the code before it (no such function: every test fails), and
checks against an independent reference: a pandas/shapely recomputation of 0005/0007's rules
(members within 25 m of the area, filters, complete months, rounding to 5, suppression below 5)
or a hand-counted case.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import crs as geocrs
from geo.db.security import connect_as
from tests.factories import insert_community

# The L-shaped area, its settlement and months of the published counts' own tests.
from tests.test_scale_aggregates import L_WKT, MONTHS, SETTLEMENT_WKT, TZ

pytestmark = pytest.mark.db

#: Another community, 5 km east: its rows never belong to the L.
OTHER_WKT = "POLYGON((23.680 46.700, 23.700 46.700, 23.700 46.720, 23.680 46.720, 23.680 46.700))"
CALL = (
    "SELECT count, suppressed FROM harta_published_demo(:c, :th, :f, :t, CAST(:ty AS text[]), :sev)"
)
INSERT = (
    "INSERT INTO incidents (community_id, occurred_at, type_code, severity, location_precision,"
    " sensitivity, reporting_role, status, geom, source, created_by_role, is_demo)"
    " VALUES (:c, :at, :t, :sev, 'exact', :sens, 'police', :status,"
    " ST_SetSRID(ST_MakePoint(:x, :y), 4326), :src, 'police', :demo)"
)
ROLES = ("public", "community", "planner", "admin")


def _row(
    c: int,
    at,
    *,
    demo: bool,
    x=23.604,
    y=46.703,
    t="theft",
    sev=2,
    sens="normal",
    status="reported",
) -> dict:
    return {
        "c": c,
        "at": at,
        "t": t,
        "sev": sev,
        "sens": sens,
        "status": status,
        "x": x,
        "y": y,
        "src": "demo" if demo else "form",
        "demo": demo,
    }


def _incidents(rng: np.random.Generator, n: int, cids: list[int]) -> pd.DataFrame:
    """Demo and real points over (and beyond) the L, four months, mixed types and statuses."""
    centres = np.array([[23.604, 46.703], [23.620, 46.705], [23.606, 46.715]])
    k = rng.integers(0, len(centres), n)
    xy = centres[k] + rng.normal(0, 0.0015, (n, 2))
    scatter = rng.random(n) < 0.3
    xy[scatter] = rng.uniform([23.598, 46.698], [23.632, 46.722], (int(scatter.sum()), 2))
    span = (MONTHS[-1] - MONTHS[0]).total_seconds()
    demo = rng.random(n) < 0.35
    return pd.DataFrame(
        {
            "c": rng.choice(cids, n, p=[0.8, 0.2]),
            "at": [MONTHS[0] + dt.timedelta(seconds=float(s)) for s in rng.uniform(0, span, n)],
            "t": rng.choice(["theft", "assault", "domestic_violence"], n, p=[0.5, 0.4, 0.1]),
            "sev": rng.integers(1, 6, n),
            "sens": rng.choice(["normal", "sensitive"], n, p=[0.9, 0.1]),
            "status": rng.choice(["reported", "withdrawn"], n, p=[0.9, 0.1]),
            "x": xy[:, 0],
            "y": xy[:, 1],
            "src": np.where(demo, "demo", "form"),
            "demo": demo,
        }
    )


@pytest.fixture
def area(engine):
    """The L with a settlement and 600 mixed incidents; returns (engine, id, frame)."""
    rng = np.random.default_rng(20261201)
    with engine.begin() as conn:
        cid = insert_community(conn, "l", wkt=L_WKT)
        sid = insert_community(conn, "l-s", wkt=SETTLEMENT_WKT, kind="settlement", parent_id=cid)
        frame = _incidents(rng, 600, [cid, sid])
        conn.execute(text(INSERT), frame.to_dict("records"))
    return engine, cid, frame


def _published(n: int) -> int | None:
    # PostgreSQL rounds numeric halves away from zero; Python's round() would not.
    return None if n < 5 else int(5 * np.floor(n / 5 + 0.5))


def _expected_demo(frame: pd.DataFrame, frm, to, ty=None, sev=1) -> int | None:
    """The demo members of the window, counted with pandas and shapely, then published."""
    x, y = geocrs.transformer(4326, 32634).transform(frame["x"].to_numpy(), frame["y"].to_numpy())
    area = geocrs.project(shapely.from_wkt(L_WKT), 4326, 32634)
    at = pd.to_datetime(frame["at"], utc=True)
    keep = (
        (shapely.distance(area, shapely.points(x, y)) <= 25.0)
        & frame["demo"].to_numpy()
        & (frame["t"] != "domestic_violence").to_numpy()
        & (frame["sens"] == "normal").to_numpy()
        & (frame["status"] != "withdrawn").to_numpy()
        & (frame["sev"] >= sev).to_numpy()
    )
    if frm is not None:
        keep &= (at >= pd.Timestamp(frm)).to_numpy()
    if to is not None:
        keep &= (at < pd.Timestamp(to)).to_numpy()
    if ty:
        keep &= (frame["t"] == ty).to_numpy()
    return _published(int(keep.sum()))


def _demo(conn, cid, frm=None, to=None, ty=None, sev=1, th=5) -> tuple[int | None, bool]:
    row = conn.execute(
        text(CALL),
        {"c": cid, "th": th, "f": frm, "t": to, "ty": [ty] if ty else None, "sev": sev},
    ).one()
    return row.count, row.suppressed


def test_demo_count_equals_a_pandas_recomputation(area):
    engine, cid, frame = area
    cases = [
        (None, None, None, 1),
        (MONTHS[0], MONTHS[-1], None, 1),
        (MONTHS[1], MONTHS[2], None, 1),
        (MONTHS[1], MONTHS[3], "theft", 1),
        (MONTHS[0], MONTHS[-1], "assault", 4),
        (MONTHS[2], MONTHS[3], "assault", 5),
        (MONTHS[2], MONTHS[3], "theft", 5),
        (MONTHS[3], MONTHS[4], "assault", 4),
    ]
    seen = []
    for role in ROLES:
        with connect_as(engine, role) as conn:
            for frm, to, ty, sev in cases:
                count, suppressed = _demo(conn, cid, frm, to, ty, sev)
                expected = _expected_demo(frame, frm, to, ty, sev)
                assert count == expected, (role, frm, to, ty, sev)
                assert suppressed == (expected is None)
                seen.append(expected)
    # The data said something: both published and suppressed answers occurred.
    assert any(v is None for v in seen) and any(v is not None for v in seen)


def test_hand_counted_rounding_and_suppression(engine):
    """0, 4, 7, 8 demo incidents in four months: suppressed, suppressed, 5, 10; and the
    threshold argument cannot go below 5."""
    with engine.begin() as conn:
        cid = insert_community(conn, "l", wkt=L_WKT)
        rows = []
        for month, n in zip(MONTHS[1:4], (4, 7, 8), strict=True):
            rows += [_row(cid, month + dt.timedelta(days=2, hours=k), demo=True) for k in range(n)]
        conn.execute(text(INSERT), rows)
    with connect_as(engine, "public") as conn:
        assert _demo(conn, cid, MONTHS[0], MONTHS[1]) == (None, True)
        assert _demo(conn, cid, MONTHS[1], MONTHS[2]) == (None, True)
        assert _demo(conn, cid, MONTHS[1], MONTHS[2], th=1) == (None, True)
        assert _demo(conn, cid, MONTHS[2], MONTHS[3]) == (5, False)
        assert _demo(conn, cid, MONTHS[3], MONTHS[4]) == (10, False)
        assert _demo(conn, cid, MONTHS[1], MONTHS[4]) == (20, False)  # 19 -> 20
        assert _demo(conn, cid, MONTHS[2], MONTHS[4], th=20) == (None, True)  # 15 < 20


def test_differencing_windows_gives_only_multiples_of_five(area):
    """An attacker subtracting the answers of every pair of windows learns nothing finer than
    the published counts: every answer is a multiple of 5 or suppressed."""
    engine, cid, _ = area
    bounds = [None, *MONTHS]
    with connect_as(engine, "community") as conn:
        answers = [
            _demo(conn, cid, frm, to)[0]
            for i, frm in enumerate(bounds)
            for to in bounds[i + 1 :] + [None]
        ]
    published = [a for a in answers if a is not None]
    assert published and all(a % 5 == 0 for a in published)


def test_real_sensitive_and_withdrawn_incidents_are_never_counted(engine):
    with engine.begin() as conn:
        cid = insert_community(conn, "l", wkt=L_WKT)
        at = MONTHS[1] + dt.timedelta(days=3)
        conn.execute(
            text(INSERT),
            [_row(cid, at, demo=False) for _ in range(40)]  # real
            + [_row(cid, at, demo=True, t="domestic_violence") for _ in range(10)]
            + [_row(cid, at, demo=True, sens="sensitive") for _ in range(10)]
            + [_row(cid, at, demo=True, status="withdrawn") for _ in range(10)],
        )
    with connect_as(engine, "admin") as conn:
        assert _demo(conn, cid, MONTHS[1], MONTHS[2]) == (None, True)
        assert _demo(conn, cid) == (None, True)
    # Ten more demo rows that may be published: counted, and the 40 real rows still are not.
    with engine.begin() as conn:
        conn.execute(text(INSERT), [_row(cid, at, demo=True) for _ in range(10)])
    with connect_as(engine, "admin") as conn:
        assert _demo(conn, cid, MONTHS[1], MONTHS[2]) == (10, False)


def test_one_community_at_a_time(engine):
    """A community's answer holds its members only: not another community's demo rows, not
    a sibling settlement's; an unknown or missing community is refused, not summed over all."""
    with engine.begin() as conn:
        cid = insert_community(conn, "l", wkt=L_WKT)
        a = insert_community(conn, "l-a", wkt=SETTLEMENT_WKT, kind="settlement", parent_id=cid)
        b = insert_community(
            conn,
            "l-b",
            wkt="POLYGON((23.620 46.701, 23.625 46.701, 23.625 46.706, 23.620 46.706,"
            " 23.620 46.701))",
            kind="settlement",
            parent_id=cid,
        )
        other = insert_community(conn, "o", wkt=OTHER_WKT)
        at = MONTHS[1] + dt.timedelta(days=3)
        conn.execute(
            text(INSERT),
            [_row(a, at, demo=True, x=23.603, y=46.703) for _ in range(10)]
            + [_row(b, at, demo=True, x=23.622, y=46.703) for _ in range(15)]
            + [_row(other, at, demo=True, x=23.69, y=46.71) for _ in range(20)],
        )
    with connect_as(engine, "planner") as conn:
        assert _demo(conn, cid, MONTHS[1], MONTHS[2]) == (25, False)  # both settlements
        assert _demo(conn, a, MONTHS[1], MONTHS[2]) == (10, False)  # not its sibling's
        assert _demo(conn, b, MONTHS[1], MONTHS[2]) == (15, False)
        assert _demo(conn, other, MONTHS[1], MONTHS[2]) == (20, False)
    for bad in (None, 999_999):
        with pytest.raises(DBAPIError, match="unknown community"):
            with connect_as(engine, "public") as conn:
                _demo(conn, bad, MONTHS[1], MONTHS[2])


@pytest.mark.parametrize(
    "frm, to",
    [
        (dt.datetime(2025, 3, 2, tzinfo=TZ), MONTHS[-1]),
        (MONTHS[0], dt.datetime(2025, 7, 1, 0, 0, 1, tzinfo=TZ)),
        # Midnight of the 1st in UTC is not the start of the month in Bucharest.
        (dt.datetime(2025, 3, 1, tzinfo=dt.UTC), MONTHS[-1]),
    ],
)
def test_only_month_bounds_are_accepted(area, frm, to):
    engine, cid, _ = area
    with pytest.raises(DBAPIError, match="start of a month"):
        with connect_as(engine, "public") as conn:
            _demo(conn, cid, frm, to)


def test_filters_keep_the_published_limits(area):
    engine, cid, _ = area
    with pytest.raises(DBAPIError, match="at most one incident type"):
        with connect_as(engine, "public") as conn:
            conn.execute(
                text("SELECT * FROM harta_published_demo(:c, 5, NULL, NULL, ARRAY['a', 'b'])"),
                {"c": cid},
            ).all()
    with pytest.raises(DBAPIError, match="severity floor"):
        with connect_as(engine, "public") as conn:
            _demo(conn, cid, sev=0)


def test_refused_after_a_write_in_the_transaction(area):
    """Decoy demo rows inserted and counted in one transaction (then rolled back) would tell
    the count apart one row at a time: refused."""
    engine, cid, _ = area
    with pytest.raises(DBAPIError, match="transaction that has written"):
        with engine.begin() as conn:  # the owner, who may write
            conn.execute(text(INSERT), [_row(cid, MONTHS[1], demo=True)])
            _demo(conn, cid, MONTHS[0], MONTHS[-1])


def test_the_current_month_is_not_published(engine):
    today = dt.datetime.now(TZ)
    this_month = dt.datetime(today.year, today.month, 1, tzinfo=TZ)
    with engine.begin() as conn:
        cid = insert_community(conn, "l", wkt=L_WKT)
        conn.execute(text(INSERT), [_row(cid, this_month, demo=True) for _ in range(20)])
    with connect_as(engine, "public") as conn:
        assert _demo(conn, cid) == (None, True)
        assert _demo(conn, cid, this_month, None) == (None, True)


def test_definer_function_granted_to_the_app_roles_only(engine):
    with engine.connect() as conn:
        definer, config, acl = conn.execute(
            text(
                "SELECT prosecdef, proconfig, proacl::text[] FROM pg_proc"
                " WHERE proname = 'harta_published_demo'"
            )
        ).one()
        grantees = {
            role: conn.execute(
                text(
                    "SELECT has_function_privilege(:r, 'harta_published_demo(integer, integer,"
                    " timestamptz, timestamptz, text[], integer)', 'EXECUTE')"
                ),
                {"r": f"harta_{role}"},
            ).scalar_one()
            for role in (*ROLES, "police", "mediator")
        }
    assert definer and config == ["search_path=public, pg_temp"]
    assert not any(entry.startswith("=") for entry in acl)  # PUBLIC may not execute it
    assert all(grantees.values())


# --- where the aggregated roles meet it: Home, the Map's hexagons, aggregated runs ------------

APP = "../app/Home.py"  # AppTest resolves paths from this file's folder


def _page(page: str, user, lang: str = "en"):  # noqa: ANN001
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.conftest import signed_in_session

    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = lang
    for key, value in (signed_in_session(user) if user is not None else {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"screens/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _loaded_reference(engine) -> int | None:  # noqa: ANN001
    """Pata Rât's demo incidents the published counts hold, counted by the owner from the raw
    rows with pandas: members (the membership rule), demo, not sensitive by type or flag, not
    withdrawn, before the current month; then published."""
    from geo import taxonomy
    from geo.communities import Community

    pata_rat = Community.load(engine, "pata-rat")
    with engine.connect() as conn:
        rows = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT i.type_code, i.sensitivity, i.status, i.occurred_at, i.is_demo"
                    " FROM incidents AS i JOIN harta_member_rows(:c, 'incidents') AS m"
                    " ON m.id = i.id"
                ),
                {"c": pata_rat.id},
            ).all()
        )
    now = dt.datetime.now(ZoneInfo(pata_rat.timezone))
    month = pd.Timestamp(dt.datetime(now.year, now.month, 1, tzinfo=now.tzinfo))
    keep = (
        rows["is_demo"]
        & ~rows["type_code"].map(taxonomy.is_sensitive)
        & (rows["sensitivity"].fillna("normal") == "normal")
        & (rows["status"] != "withdrawn")
        & (pd.to_datetime(rows["occurred_at"], utc=True) < month)
    )
    return _published(int(keep.sum()))


def _make_incidents_real(engine) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE incidents DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE incidents SET is_demo = false"))
        conn.execute(text("ALTER TABLE incidents ENABLE TRIGGER USER"))


def _drop_demo_layers(engine) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        for table in ("risk_zones", "facilities"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            conn.execute(text(f"DELETE FROM {table} WHERE is_demo"))
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


@pytest.mark.parametrize("lang", ["ro", "hu", "en"])
def test_home_says_how_many_published_incidents_are_demo(app_env, loaded_engine, users, lang):
    """Old Home: "may include demo"; now the published demo count, equal to the reference."""
    from geo import views
    from geo.communities import Community
    from geo.i18n import number, t

    expected = _loaded_reference(loaded_engine)
    assert expected  # the seeded incidents are demo and in complete months
    # "Of which" never exceeds the total shown (the sum of the published cells, each rounded).
    total = views.incident_hex_counts(loaded_engine, Community.load(loaded_engine, "pata-rat"))
    expected = min(expected, int(total["count"].sum()))
    at = _page("home", None, lang)  # the public: nobody signed in
    captions = [c.value for c in at.caption]
    assert t("app.home.of_which_demo_about", lang, count=number(expected, lang)) in captions


def test_home_does_not_call_real_incidents_demo(app_env, loaded_engine, users):
    """Real incidents in a community that still holds demo zones: "fewer than 5" demo (the
    published answer), never "≈ N DEMO"; the old page said "may include demo"."""
    from geo.i18n import t

    _make_incidents_real(loaded_engine)
    at = _page("home", users["community"])
    captions = [c.value for c in at.caption]
    assert t("app.home.demo_below", "en", count="5") in captions
    assert t("app.home.may_include_demo", "en") not in captions
    assert not any(
        c.startswith(t("app.home.of_which_demo_about", "en", count="")) for c in captions
    )


def _map_payload(at) -> str:  # noqa: ANN001
    components = [e for e in at.main if e.type == "component_instance"]
    assert components, "the page drew no map"
    return components[0].proto.json_args


@pytest.mark.parametrize("demo", [True, False])
def test_the_aggregated_maps_hexagons_carry_the_demo_badge(app_env, loaded_engine, users, demo):
    """No demo zones or facilities left, so a DEMO badge on the Map can only come from the
    hexagon layer: there with the seeded (demo) incidents, absent once they are real."""
    _drop_demo_layers(loaded_engine)
    if not demo:
        _make_incidents_real(loaded_engine)
    from geo.i18n import t

    payload = _map_payload(_page("map", users["planner"]))
    # The badge's explanation (its title) is written only where a badge is drawn.
    assert (t("maps.demo.explain", "en") in payload) is demo


@pytest.mark.parametrize("demo", [True, False])
def test_aggregated_runs_are_labelled_by_their_window_not_by_demo_layers(
    loaded_db_url, loaded_engine, demo
):
    """The old rule labelled every aggregated run demo while the community held demo zones;
    with the zones kept and the incidents made real, the run is no longer labelled."""
    from geo.analysis.runs import run_hotspot_analysis
    from geo.communities import Community
    from tests.factories import account_engine

    if not demo:
        _make_incidents_real(loaded_engine)
    public = account_engine(loaded_db_url, "public")
    try:
        run = run_hotspot_analysis(public, Community.load(loaded_engine, "pata-rat"), store=False)
    finally:
        public.dispose()
    assert run.scope == "aggregated" and run.demo is demo
