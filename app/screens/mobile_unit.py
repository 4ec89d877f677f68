"""Mobile Unit: the coordinator's day -- stops and vans, solve, routes, itinerary, driver sheet.

For planners and mediators only: the stops are children's and accompanied people's homes, so
the public and community roles see nothing of them (the page stops, and the database refuses
``mobile_plans`` to those roles anyway).  The page is widgets only; everything is in
:mod:`geo.planning.mobile` and :mod:`geo.reports.driver_sheet`.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import streamlit as st

from geo import escape
from geo.communities import Community
from geo.i18n import LANGUAGES
from geo.planning.mobile.inputs import (
    KINDS,
    STOP_COLUMNS,
    VEHICLE_COLUMNS,
    MobileInputError,
    read_stops,
    read_vehicles,
)
from geo.planning.mobile.mapview import plan_map, stops_map
from geo.planning.mobile.plan import (
    compare_plans,
    itinerary,
    itinerary_csv,
    leg_geometries,
    make_plan,
    plan_from_json,
    plan_gpx,
    plan_json,
)
from geo.planning.mobile.store import list_plans, load_plan, store_plan
from geo.settings import PROJECT_ROOT
from harta_ui import Context, context, record_view
from map_frame import st_folium

COORDINATORS = ("planner", "mediator")
DEMO = PROJECT_ROOT / "data" / "mobile_unit"
STATE = "mobile_unit"


@st.cache_resource(show_spinner=False)
def _network(_community: Community, community_id: int):  # noqa: ANN202
    from geo.network.matrix import network_for

    return network_for(_community, "drive")


@st.cache_resource(show_spinner=False)
def _graph(_community: Community, community_id: int):  # noqa: ANN202
    from geo.network.graph import graph_for

    return graph_for(_community, "drive")


def _state() -> dict:
    return st.session_state.setdefault(STATE, {})


def _frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _inputs(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stops and vehicles tables: demo, or uploaded; editable."""
    state = _state()
    source = st.radio(
        ctx.t("mobile.page.source"),
        ["demo", "upload"],
        horizontal=True,
        format_func=lambda k: ctx.t(f"mobile.page.source.{k}"),
        key="mu_source",
    )
    if source == "demo":
        st.caption(ctx.t("mobile.page.demo_note"))
        stops_bytes = (DEMO / "stops.csv").read_bytes()
        vehicles_bytes = (DEMO / "vehicles.csv").read_bytes()
    else:
        left, right = st.columns(2)
        up_stops = left.file_uploader(
            ctx.t("mobile.page.stops_file"), type=["csv", "geojson", "json"]
        )
        up_vehicles = right.file_uploader(
            ctx.t("mobile.page.vehicles_file"), type=["csv", "geojson", "json"]
        )
        if up_stops is None or up_vehicles is None:
            st.info(ctx.t("mobile.page.upload_both"))
            st.stop()
        stops_bytes, vehicles_bytes = (
            _as_csv(ctx, up_stops, read_stops, STOP_COLUMNS),
            _as_csv(ctx, up_vehicles, read_vehicles, VEHICLE_COLUMNS),
        )
    key = (source, hash(stops_bytes), hash(vehicles_bytes))
    if state.get("source") != key:
        state.update(source=key, stops=_frame(stops_bytes), vehicles=_frame(vehicles_bytes))
        state.pop("plan", None)
    return state["stops"], state["vehicles"]


def _as_csv(ctx: Context, upload, reader, columns) -> bytes:  # noqa: ANN001
    """An upload checked row by row and returned as CSV (GeoJSON becomes the same table)."""
    data = upload.getvalue()
    try:
        rows = reader(data, name=upload.name, community=ctx.community)
    except MobileInputError as error:
        _show_problems(ctx, error)
        st.stop()
    if not upload.name.lower().endswith((".geojson", ".json")):
        return data
    return _rows_csv(rows, columns)


def _rows_csv(rows, columns) -> bytes:  # noqa: ANN001
    from geo.planning.mobile.inputs import clock

    out = []
    for r in rows:
        d = r.__dict__
        if "stop_id" in d:
            names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
            out.append(
                [
                    r.stop_id,
                    r.kind,
                    r.lat,
                    r.lon,
                    clock(r.window_start),
                    clock(r.window_end),
                    r.service_s / 60,
                    r.passengers or "",
                    r.deliver_to or "",
                    ";".join(names[d] for d in sorted(r.days)),
                ]
            )
        else:
            out.append(
                [
                    r.vehicle_id,
                    r.seats,
                    clock(r.shift_start),
                    clock(r.shift_end),
                    r.depot_lat,
                    r.depot_lon,
                ]
            )
    return pd.DataFrame(out, columns=list(columns)).to_csv(index=False).encode("utf-8")


def _show_problems(ctx: Context, error: MobileInputError) -> None:
    st.error(error.message(ctx.lang))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    ctx.t("mobile.page.col.row"): p.row,
                    ctx.t("mobile.page.col.field"): p.field or "",
                    ctx.t("mobile.page.col.reason"): p.reason(ctx.lang),
                }
                for p in error.problems
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _editor(ctx: Context, frame: pd.DataFrame, names: tuple[str, ...], key: str) -> pd.DataFrame:
    """An editable table of stops or vans, rows added and removed as in a spreadsheet.

    Headers are in the page's language and each says which file column it is; the data keeps
    the file's names, so an edited table reads exactly like an uploaded file.
    """
    config: dict = {}
    for name in names:
        label = ctx.t(f"mobile.page.field.{name}")
        hint = ctx.t("mobile.page.field_help", name=name)
        if name == "kind":
            config[name] = st.column_config.SelectboxColumn(
                label,
                help=hint,
                options=list(KINDS),
                format_func=lambda k: ctx.t(f"mobile.kind.{k}") if k in KINDS else str(k),
            )
        else:
            config[name] = st.column_config.Column(label, help=hint)
    return st.data_editor(frame, num_rows="dynamic", width="stretch", key=key, column_config=config)


def _edit_and_check(ctx: Context, stops_df: pd.DataFrame, vehicles_df: pd.DataFrame):  # noqa: ANN202
    """Editable tables, checked like an upload; a point clicked on the map becomes a stop."""
    state = _state()
    st.subheader(ctx.t("mobile.page.stops"))
    stops_df = _editor(ctx, stops_df, STOP_COLUMNS, "mu_stops_ed")
    st.subheader(ctx.t("mobile.page.vehicles"))
    vehicles_df = _editor(ctx, vehicles_df, VEHICLE_COLUMNS, "mu_veh_ed")
    try:
        stops = read_stops(stops_df.to_csv(index=False).encode(), "stops", community=ctx.community)
        vehicles = read_vehicles(
            vehicles_df.to_csv(index=False).encode(), "vehicles", community=ctx.community
        )
    except MobileInputError as error:
        _show_problems(ctx, error)
        st.stop()
    with st.expander(ctx.t("mobile.page.place"), expanded=False):
        st.caption(ctx.t("mobile.page.place_help"))
        m = stops_map(stops, vehicles, ctx.community, online=ctx.online, lang=ctx.lang)
        clicked = st_folium(
            m,
            height=520,
            width=None,
            returned_objects=["last_clicked"],
            key="mu_place",
        )
        point = (clicked or {}).get("last_clicked")
        if point:
            _add_stop_form(ctx, state, point)
    return stops, vehicles


def _add_stop_form(ctx: Context, state: dict, point: dict) -> None:
    lat, lon = round(point["lat"], 6), round(point["lng"], 6)
    with st.form("mu_add_stop"):
        st.write(ctx.t("mobile.page.clicked", lat=lat, lon=lon))
        a, b, c = st.columns(3)
        stop_id = a.text_input("stop_id")
        kind = b.selectbox("kind", KINDS, format_func=lambda k: ctx.t(f"mobile.kind.{k}"))
        days = c.text_input("days", "Mon-Fri")
        d, e, f, g, h = st.columns(5)
        start, end = d.text_input("window_start", "07:00"), e.text_input("window_end", "08:00")
        service = f.text_input("service_min", "2")
        passengers, deliver_to = g.text_input("passengers", ""), h.text_input("deliver_to", "")
        if st.form_submit_button(ctx.t("mobile.page.add_stop")) and stop_id:
            row = dict(
                zip(
                    STOP_COLUMNS,
                    [
                        stop_id,
                        kind,
                        str(lat),
                        str(lon),
                        start,
                        end,
                        service,
                        passengers,
                        deliver_to,
                        days,
                    ],
                    strict=True,
                )
            )
            state["stops"] = pd.concat([state["stops"], pd.DataFrame([row])], ignore_index=True)
            st.rerun()


def _solve(ctx: Context, stops, vehicles) -> None:  # noqa: ANN001
    left, mid, right = st.columns(3)
    day = left.date_input(
        ctx.t("mobile.page.date"), dt.date.today() + dt.timedelta(days=1), key="mu_day"
    )
    limit = mid.slider(ctx.t("mobile.page.time_limit"), 1, 30, 5, key="mu_limit")
    balance = right.slider(ctx.t("mobile.page.balance"), 0, 10, 1, key="mu_balance")
    if st.button(ctx.t("mobile.page.solve"), type="primary", key="mu_solve"):
        with st.spinner(ctx.t("mobile.page.solving", seconds=limit)):
            plan, _ = make_plan(
                stops,
                vehicles,
                day,
                _network(ctx.community, ctx.community.id),
                ctx.community,
                time_limit_s=float(limit),
                balance=int(balance),
            )
            run_id = store_plan(ctx.engine, ctx.community, plan, stops, vehicles, lang=ctx.lang)
        _state()["plan"] = {"run": run_id, "json": plan_json(plan, ctx.lang)}


def _result(ctx: Context, stops) -> None:  # noqa: ANN001
    stored = _state().get("plan")
    if not stored:
        return
    by_id = {s.stop_id: s for s in stops}
    plan = plan_from_json(stored["json"], by_id)
    data = stored["json"]
    served = sum(1 for r in plan.routes.values() for s in r if s.kind != "depot")
    st.subheader(ctx.t("mobile.page.result", run=stored["run"]))
    a, b, c = st.columns(3)
    a.metric(ctx.t("mobile.page.served"), served)
    b.metric(ctx.t("mobile.page.dropped"), len(data["dropped"]))
    c.metric(ctx.t("mobile.page.drive_min"), round(data["params"].get("drive_s", 0) / 60))
    legs = leg_geometries(plan, _network(ctx.community, ctx.community.id), ctx.community)
    m = plan_map(plan, legs, ctx.community, online=ctx.online, lang=ctx.lang)
    st_folium(m, height=560, width=None, returned_objects=[], key="mu_routes")
    table = itinerary(plan).drop(columns=["lat", "lon"])
    table.loc[table["kind"] == "depot", "stop_id"] = ctx.t("mobile.sheet.depot")
    table["kind"] = [ctx.t(f"mobile.kind.{k}") for k in table["kind"]]
    table.columns = [ctx.t(f"mobile.page.col.{c}") for c in table.columns]
    st.dataframe(table, hide_index=True, width="stretch")
    if data["dropped"]:
        st.warning(ctx.t("mobile.page.dropped_title"))
        for d in data["dropped"]:
            st.markdown(f"- {escape.markdown(d['reason'])}")
    _downloads(ctx, plan, data, legs, stored["run"])


def _downloads(ctx: Context, plan, data, legs, run_id: int) -> None:  # noqa: ANN001
    st.subheader(ctx.t("mobile.page.exports"))
    a, b, c = st.columns(3)

    def log(fmt: str) -> dict:
        # Who took the homes off the page: the run and the format, never the content.
        detail = {"page": "mobile_unit", "layer": "mobile_plans", "row_id": run_id, "format": fmt}
        return {"on_click": record_view, "args": (ctx, "export"), "kwargs": detail}

    a.download_button(
        "plan.json",
        json.dumps(data, ensure_ascii=False, indent=2),
        file_name=f"plan-{run_id}.json",
        mime="application/json",
        **log("json"),
    )
    b.download_button(
        ctx.t("mobile.page.csv"),
        itinerary_csv(plan),
        file_name=f"plan-{run_id}.csv",
        mime="text/csv",
        **log("csv"),
    )
    gpx = plan_gpx(plan, {v: [r.geometry for r in rs if r] for v, rs in legs.items()})
    c.download_button(
        "GPX", gpx, file_name=f"plan-{run_id}.gpx", mime="application/gpx+xml", **log("gpx")
    )
    used = [v for v, rows in plan.routes.items() if rows]
    if not used:
        return
    x, y = st.columns(2)
    vehicle = x.selectbox(ctx.t("mobile.page.vehicle"), used, key="mu_sheet_vehicle")
    lang = y.selectbox(
        ctx.t("mobile.page.driver_lang"),
        list(LANGUAGES),
        index=list(LANGUAGES).index(ctx.lang),
        format_func=LANGUAGES.get,
        key="mu_sheet_lang",
    )
    from geo.reports.driver_sheet import driver_sheet

    pdf = driver_sheet(
        plan,
        vehicle,
        _network(ctx.community, ctx.community.id),
        _graph(ctx.community, ctx.community.id),
        ctx.community,
        lang,
    )
    st.download_button(
        ctx.t("mobile.page.sheet"),
        pdf,
        file_name=f"driver-{vehicle}-{plan.day}.pdf",
        mime="application/pdf",
        key="mu_sheet",
        **log("pdf"),
    )


def _compare(ctx: Context) -> None:
    stored = list_plans(ctx.engine, ctx.community)
    if len(stored) < 2:
        return
    st.subheader(ctx.t("mobile.page.compare"))
    labels = {
        run: ctx.t("mobile.page.plan_label", run=run, date=day.isoformat()) for run, day in stored
    }
    a, b = st.columns(2)
    first = a.selectbox("A", list(labels), index=1, format_func=labels.get, key="mu_cmp_a")
    second = b.selectbox("B", list(labels), index=0, format_func=labels.get, key="mu_cmp_b")
    plans = [load_plan(ctx.engine, run) for run in (first, second)]
    if any(p is None for p in plans):
        return
    made = [plan_from_json(p.plan, {s.stop_id: s for s in p.stops}) for p in plans]
    table = compare_plans(made[0], made[1], (labels[first], labels[second]))
    table.index = [ctx.t(f"mobile.compare.{k}") for k in table.index]
    table.columns = [*table.columns[:2], ctx.t("mobile.compare.difference")]
    st.dataframe(table, width="stretch")


ctx = context()
st.title(ctx.t("mobile.page.title"))
if ctx.role not in COORDINATORS:
    st.info(ctx.t("mobile.page.not_for_role"))
    st.stop()
st.caption(ctx.t("mobile.page.intro"))
stops_df, vehicles_df = _inputs(ctx)
stops, vehicles = _edit_and_check(ctx, stops_df, vehicles_df)
_solve(ctx, stops, vehicles)
_result(ctx, stops)
_compare(ctx)
