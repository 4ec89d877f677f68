"""Response network: responders, isochrones, coverage and gaps, new posts, evacuation, the plan.

Planners, mediators, police (and admins) run and store analyses here: coverage at a chosen hour,
proposals for new focal points, evacuation routes of a scenario, and the printed safety plan;
each run is stored (:mod:`geo.runs`) and downloadable (GeoPackage, CSV, PDF, HTML).  Every other
role reads what privacy allows: the responders as the database gives them (a focal point's home
only as its published 250 m cell), isochrones, and the stored aggregated runs.  The page is
widgets only: everything is computed in :mod:`geo.planning.response` and
:mod:`geo.reports.safety_plan`.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from geo import runs, taxonomy, views
from geo.errors import HartaError
from geo.i18n import number
from geo.maps.base import add_layer_control, base_map
from geo.maps.data import feature_collection
from geo.maps.features import geojson
from geo.maps.html import esc
from geo.maps.layers import add_boundary, add_settlements
from geo.maps.legend import LegendEntry, LegendSection, add_legend, register_legend
from geo.network import isochrone_polygons, network_for
from geo.planning.response import coverage, locate, plan, responders
from geo.planning.response import evacuation as evac
from geo.reports import safety_plan
from harta_ui import Context, context, record_view
from map_frame import st_folium

#: Roles that run and store analyses on this page (the others read stored ones).
RUNNERS = frozenset({"planner", "mediator", "police", "admin"})
VIEWS = ("network", "coverage", "proposals", "evacuation", "plan")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ISO_COLOURS = {3: "#1b5e20", 5: "#43a047", 10: "#fbc02d", 15: "#ef6c00"}
GAP_COLOURS = {"uncovered": "#c62828", "no_backup": "#fb8c00"}
ROUTE_COLOUR = "#1565c0"
ASSEMBLY_COLOUR = "#2e7d32"
PROPOSAL_COLOUR = "#6a1b9a"
MIME = {
    ".gpkg": "application/geopackage+sqlite3",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
    ".html": "text/html",
}


# -- options ------------------------------------------------------------------------------------


def _options(ctx: Context) -> dict:
    """The sidebar: limit, kinds, weekday and hour, travel mode."""
    with st.sidebar.expander(ctx.t("response.page.options"), expanded=True):
        minutes = st.slider(ctx.t("response.page.minutes"), 2, 30, 8, key="rn_minutes")
        kinds = st.multiselect(
            ctx.t("response.page.kinds"),
            list(responders.KINDS),
            format_func=lambda k: ctx.t(f"response.responders.kind.{k}"),
            placeholder=ctx.t("response.plan.all_kinds"),
            key="rn_kinds",
        )
        day = st.selectbox(
            ctx.t("response.page.day"),
            DAYS,
            index=5,
            format_func=lambda d: ctx.t(f"response.page.day.{d}"),
            key="rn_day",
        )
        hour = st.slider(ctx.t("response.page.hour"), 0, 23, 20, key="rn_hour")
        mode = st.radio(
            ctx.t("response.page.mode"),
            ["drive", "walk"],
            format_func=lambda m: ctx.t(f"response.page.mode.{m}"),
            horizontal=True,
            key="rn_mode",
        )
    when = f"{day.capitalize()} {hour:02d}:00"  # the form the library reads ("Sat 20:00")
    st.session_state["rn_when_text"] = f"{ctx.t(f'response.page.day.{day}')} {hour:02d}:00"
    return {"minutes": float(minutes), "kinds": kinds or None, "when": when, "mode": mode}


def _when_text() -> str:
    """The chosen weekday and hour as people of the page's language read them."""
    return st.session_state.get("rn_when_text", "")


# -- map layers ---------------------------------------------------------------------------------


def _start_map(ctx: Context) -> folium.Map:
    m = base_map(ctx.community, online=ctx.online, lang=ctx.lang)
    add_boundary(m, ctx.community, ctx.lang)
    places = views.settlements(ctx.engine, ctx.community)
    if len(places):
        add_settlements(m, places, ctx.lang)
    return m


def _kind_colour(kind: str) -> str:
    try:
        return taxonomy.colour("facility_kind", kind)
    except KeyError:
        return "#37474f"


def _add_responders(m: folium.Map, ctx: Context, frame: gpd.GeoDataFrame) -> None:
    """Responders as the database gives them: a home not shown exactly is only its cell."""
    if frame.empty:
        return
    name = ctx.t("response.page.layer.responders")
    cell = frame["at_home"].astype(bool) & ~frame["exact"].astype(bool)
    points = frame[~cell]
    tips = [
        esc(ctx.t(f"response.responders.kind.{r.kind}"))
        + (f" · {esc(r.name)}" if isinstance(r.name, str) and r.name else "")
        for r in points.itertuples()
    ]
    props = [{"tip": tip, "pop": "", "s": k} for tip, k in zip(tips, points["kind"], strict=True)]
    style = {
        k: {"color": "#ffffff", "fillColor": _kind_colour(k), "fillOpacity": 0.95, "weight": 2}
        for k in responders.KINDS
    }
    geojson(
        m,
        feature_collection(points.geometry, props),
        name=name,
        style=style,
        marker=folium.CircleMarker(radius=8, fill=True),
        popup=False,
    )
    homes = frame[cell]
    if len(homes):
        tip = esc(ctx.t("response.responders.approximate", cell=int(responders.CELL_M)))
        cells = [{"tip": tip, "pop": "", "s": "cell"} for _ in range(len(homes))]
        colour = _kind_colour("community_focal_point")
        geojson(
            m,
            feature_collection(homes["area"], cells),
            name=ctx.t("response.page.layer.homes"),
            style={
                "cell": {
                    "color": colour,
                    "fillColor": colour,
                    "fillOpacity": 0.25,
                    "dashArray": "6 4",
                    "weight": 2,
                }
            },
            popup=False,
        )
    entries = [
        LegendEntry(ctx.t(f"response.responders.kind.{k}"), colour=_kind_colour(k), shape="circle")
        for k in sorted(set(frame["kind"]))
    ]
    register_legend(m, LegendSection(name, entries))


def _add_polygons(m, name, frame, labels, colours, *, opacity=0.25) -> None:  # noqa: ANN001, PLR0913
    props = [{"tip": esc(label), "pop": "", "s": str(i)} for i, label in enumerate(labels)]
    style = {
        str(i): {"color": c, "fillColor": c, "fillOpacity": opacity, "weight": 1.5}
        for i, c in enumerate(colours)
    }
    geojson(m, feature_collection(frame.geometry, props), name=name, style=style, popup=False)
    entries = [
        LegendEntry(lab, colour=c, opacity=opacity) for lab, c in zip(labels, colours, strict=True)
    ]
    register_legend(m, LegendSection(name, entries))


def _show(m: folium.Map, ctx: Context, key: str) -> None:
    add_layer_control(m)
    add_legend(m, lang=ctx.lang)
    st_folium(m, height=560, width=None, returned_objects=[], key=key)


# -- views --------------------------------------------------------------------------------------


def _responders(ctx: Context, options: dict) -> gpd.GeoDataFrame:
    return responders.load_responders(
        ctx.engine, ctx.community, kinds=options["kinds"], when=options["when"]
    )


def _network_view(ctx: Context, options: dict) -> None:
    frame = _responders(ctx, options)
    st.caption(ctx.t("response.page.network.caption", n=len(frame), when=_when_text()))
    m = _start_map(ctx)
    if len(frame):
        limits = sorted({3, 5, 10, 15} | {int(options["minutes"])})
        key = (
            "iso",
            ctx.community.id,
            ctx.role,
            tuple(frame["id"]),
            options["mode"],
            tuple(limits),
        )
        if st.session_state.get("rn_iso", (None,))[0] != key:
            with st.spinner(ctx.t("response.page.running")):
                network = network_for(ctx.community, options["mode"])
                polygons = isochrone_polygons(network, ctx.community, frame.geometry, limits)
            st.session_state["rn_iso"] = (key, polygons)
        polygons = st.session_state["rn_iso"][1].iloc[::-1]
        labels = [
            ctx.t("response.page.iso", minutes=number(v, ctx.lang)) for v in polygons["minutes"]
        ]
        colours = [ISO_COLOURS.get(int(v), "#90caf9") for v in polygons["minutes"]]
        _add_polygons(
            m, ctx.t("response.page.layer.isochrones"), polygons, labels, colours, opacity=0.18
        )
    else:
        st.info(ctx.t("response.page.no_responders"))
    _add_responders(m, ctx, frame)
    _show(m, ctx, "rn_map_network")


def _downloads(
    ctx: Context, run: runs.StoredRun | None, extra: dict[str, bytes] | None = None
) -> None:
    """Download buttons for a stored run's files (and files made on the page)."""
    if run is None:
        return
    files = {path.name: path.read_bytes() for path in run.outputs.values() if path.is_file()}
    files.update(extra or {})
    columns = st.columns(max(len(files), 1))
    for column, (name, data) in zip(columns, sorted(files.items()), strict=False):
        suffix = "." + name.rsplit(".", 1)[-1]
        column.download_button(
            ctx.t("response.page.download", file=suffix.lstrip(".").upper()),
            data,
            file_name=name,
            mime=MIME.get(suffix, "application/octet-stream"),
            key=f"rn_dl_{run.id}_{name}",
            on_click=record_view,
            args=(ctx, "export"),
            kwargs={"page": "response", "row_id": run.id, "file": name},
        )


def _coverage_view(ctx: Context, options: dict) -> None:
    stored = st.session_state.get("rn_coverage")
    if ctx.role in RUNNERS and st.button(ctx.t("response.page.run_coverage"), key="rn_run_cov"):
        with st.spinner(ctx.t("response.page.running")):
            try:
                run_id, result = coverage.run_coverage(ctx.engine, ctx.community, **options)
            except HartaError as error:
                st.error(error.message(ctx.lang))
                return
        stored = st.session_state["rn_coverage"] = (ctx.community.id, run_id, result)
    if stored is None or stored[0] != ctx.community.id:
        _latest_coverage(ctx)
        return
    _, run_id, result = stored
    if result.too_few:
        st.warning(result.message(ctx.lang))
        return
    table = result.settlement_table(ctx.lang)
    st.subheader(
        ctx.t(
            "response.page.coverage.title",
            run=run_id,
            minutes=number(options["minutes"], ctx.lang),
            when=_when_text(),
        )
    )
    st.dataframe(table, hide_index=True, width="stretch")
    m = _start_map(ctx)
    gaps = result.gaps
    if len(gaps):
        labels = [ctx.t(f"response.coverage.gap.{g}") for g in gaps["gap"]]
        props = [
            {"tip": esc(lab), "pop": "", "s": g} for lab, g in zip(labels, gaps["gap"], strict=True)
        ]
        style = {
            g: {"color": "#ffffff", "fillColor": c, "fillOpacity": 0.9, "weight": 1}
            for g, c in GAP_COLOURS.items()
        }
        geojson(
            m,
            feature_collection(gaps.geometry, props),
            name=ctx.t("response.page.layer.gaps"),
            style=style,
            marker=folium.CircleMarker(radius=6, fill=True),
            popup=False,
        )
        register_legend(
            m,
            LegendSection(
                ctx.t("response.page.layer.gaps"),
                [
                    LegendEntry(ctx.t(f"response.coverage.gap.{g}"), colour=c, shape="circle")
                    for g, c in GAP_COLOURS.items()
                ],
            ),
        )
    _add_responders(m, ctx, _responders(ctx, options))
    _show(m, ctx, "rn_map_coverage")
    csv = table.to_csv(index=False).encode("utf-8")
    _downloads(ctx, runs.get_run(ctx.engine, run_id), {f"coverage-{run_id}.csv": csv})


def _latest_coverage(ctx: Context) -> None:
    """Roles that do not run analyses read the newest stored aggregated coverage run."""
    found = [
        r
        for r in runs.list_runs(ctx.engine, ctx.community, coverage.RUN_KIND, limit=20)
        if r.scope == "aggregated" and "gpkg" in r.outputs
    ]
    if not found:
        st.info(ctx.t("response.page.coverage.none"))
        return
    run = found[0]
    table = gpd.read_file(run.outputs["gpkg"], layer="settlements")
    st.subheader(ctx.t("response.page.coverage.stored", run=run.id))
    shown = pd.DataFrame(
        {
            ctx.t("response.plan.col.settlement"): table["name"],
            ctx.t("response.plan.col.covered"): (100 * table["covered_share"]).round(0),
            ctx.t("response.plan.col.backup"): (100 * table["backup_share"]).round(0),
            ctx.t("response.plan.col.worst"): [
                coverage.format_minutes(s, ctx.lang) for s in table["worst_s"]
            ],
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    _downloads(ctx, run)


def _proposals_view(ctx: Context, options: dict) -> None:
    if ctx.role not in RUNNERS:
        st.info(ctx.t("response.page.runners_only"))
        return
    left, right = st.columns(2)
    add = left.number_input(ctx.t("response.page.add"), 1, 5, 2, key="rn_add")
    model = right.radio(
        ctx.t("response.page.model"),
        list(locate.MODELS),
        horizontal=True,
        format_func=lambda k: ctx.t(f"response.page.model.{k}"),
        key="rn_model",
    )
    if st.button(ctx.t("response.page.run_locate"), key="rn_run_loc"):
        with st.spinner(ctx.t("response.page.running")):
            try:
                run_id, result = locate.run_locate(
                    ctx.engine, ctx.community, add=int(add), model=model, **options
                )
            except HartaError as error:
                st.error(error.message(ctx.lang))
                return
        st.session_state["rn_locate"] = (ctx.community.id, run_id, result)
    stored = st.session_state.get("rn_locate")
    if stored is None or stored[0] != ctx.community.id:
        return
    _, run_id, result = stored
    if result.too_few:
        st.warning(result.message(ctx.lang))
        return
    st.caption(
        ctx.t(
            "response.locate.summary",
            before=number(100 * result.covered_before, ctx.lang),
            after=number(100 * result.covered_after, ctx.lang),
            status=result.status,
        )
    )
    props = result.proposals
    st.dataframe(
        pd.DataFrame(
            {
                ctx.t("response.locate.col.order"): props["order"],
                ctx.t("response.locate.col.gain"): props["covered_gain"].round(1),
                ctx.t("response.locate.col.covered"): (100 * props["covered_after"]).round(0),
                ctx.t("response.locate.col.mean_time"): (props["mean_time_after_s"] / 60).round(1),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    m = _start_map(ctx)
    tips = [esc(ctx.t("response.page.proposal", n=int(o))) for o in props["order"]]
    geojson(
        m,
        feature_collection(props.geometry, [{"tip": x, "pop": "", "s": "p"} for x in tips]),
        name=ctx.t("response.page.layer.proposals"),
        style={"p": {"color": "#ffffff", "fillColor": PROPOSAL_COLOUR, "fillOpacity": 0.95}},
        marker=folium.CircleMarker(radius=10, fill=True),
        popup=False,
    )
    _add_responders(m, ctx, _responders(ctx, options))
    _show(m, ctx, "rn_map_locate")
    _downloads(ctx, runs.get_run(ctx.engine, run_id))


def _evacuation_view(ctx: Context) -> None:
    codes = list(evac.scenarios())
    scenario = st.selectbox(
        ctx.t("response.page.scenario"),
        codes,
        key="rn_scenario",
        format_func=lambda c: taxonomy.label("hazard", c, ctx.lang),
    )
    if ctx.role in RUNNERS and st.button(ctx.t("response.page.run_evacuation"), key="rn_run_ev"):
        with st.spinner(ctx.t("response.page.running")):
            try:
                evac.run_evacuation(ctx.engine, ctx.community, scenario)
            except HartaError as error:
                st.error(error.message(ctx.lang))
                return
    found = [
        r
        for r in runs.list_runs(ctx.engine, ctx.community, evac.KIND, limit=50)
        if r.params.get("scenario") == scenario and "gpkg" in r.outputs
    ]
    if not found:
        st.info(ctx.t("response.page.evacuation.none"))
        return
    run = found[0]
    layers = evac.load_outputs(run)
    routes, assembly, hazard = layers["routes"], layers["assembly"], layers["hazard"]
    st.subheader(
        ctx.t(
            "response.page.evacuation.title",
            run=run.id,
            scenario=taxonomy.label("hazard", scenario, ctx.lang),
        )
    )
    for row in routes[~routes["reachable"].astype(bool)].itertuples():
        st.warning(evac.no_route_text(row, ctx.lang))
    table = plan.route_table(
        plan.SafetyPlan(
            ctx.community,
            0,
            run.started_at,
            evacuations=[plan.Evacuation(run.id, scenario, routes, assembly, hazard)],
        ),
        ctx.lang,
    )
    st.dataframe(
        pd.DataFrame(
            {
                ctx.t("response.plan.col.place"): table["place"],
                ctx.t("response.plan.col.assembly"): table["assembly"],
                ctx.t("response.plan.col.time"): [
                    "–" if v is None or v != v else number(v, ctx.lang, 1) for v in table["minutes"]
                ],
                ctx.t("response.plan.col.streets"): table["streets"],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    m = _start_map(ctx)
    colour = taxonomy.colour("hazard", scenario)
    _add_polygons(
        m,
        ctx.t("response.page.layer.hazard"),
        hazard,
        [taxonomy.label("hazard", scenario, ctx.lang)],
        [colour],
    )
    ok = routes[routes["reachable"].astype(bool)]
    tips = [esc(f"{p} → {a}") for p, a in zip(table["place"], table["assembly"], strict=True)]
    tips = [tip for tip, r in zip(tips, routes["reachable"], strict=True) if r]
    geojson(
        m,
        feature_collection(ok.geometry, [{"tip": x, "pop": "", "s": "r"} for x in tips]),
        name=ctx.t("response.page.layer.routes"),
        style={"r": {"color": ROUTE_COLOUR, "weight": 4, "opacity": 0.85}},
        popup=False,
    )
    names = [esc(evac.assembly_name(assembly, a, ctx.lang)) for a in assembly["assembly_id"]]
    geojson(
        m,
        feature_collection(assembly.geometry, [{"tip": n, "pop": "", "s": "a"} for n in names]),
        name=ctx.t("response.plan.legend.assembly"),
        style={"a": {"color": "#ffffff", "fillColor": ASSEMBLY_COLOUR, "fillOpacity": 0.95}},
        marker=folium.CircleMarker(radius=9, fill=True),
        popup=False,
    )
    register_legend(
        m,
        LegendSection(
            ctx.t("response.page.layer.routes"),
            [
                LegendEntry(ctx.t("response.page.layer.routes"), colour=ROUTE_COLOUR, shape="line"),
                LegendEntry(
                    ctx.t("response.plan.legend.assembly"), colour=ASSEMBLY_COLOUR, shape="circle"
                ),
            ],
        ),
    )
    _show(m, ctx, "rn_map_evac")
    st.caption(ctx.t("response.plan.approximate_note"))
    _downloads(ctx, run)


def _plan_view(ctx: Context) -> None:
    st.caption(ctx.t("response.page.plan.caption"))
    if ctx.role in RUNNERS:
        langs = ["ro", "hu", "en"]
        lang = st.selectbox(
            ctx.t("response.page.plan.lang"),
            langs,
            index=langs.index(ctx.lang),
            format_func=lambda c: {"ro": "Română", "hu": "Magyar", "en": "English"}[c],
            key="rn_plan_lang",
        )
        if st.button(ctx.t("response.page.run_plan"), key="rn_run_plan"):
            with st.spinner(ctx.t("response.page.running")):
                try:
                    published = safety_plan.publish_plan(ctx.engine, ctx.community, lang)
                except HartaError as error:
                    st.error(error.message(ctx.lang))
                    return
            st.success(
                ctx.t("response.page.plan.done", version=published.version, run=published.run_id)
            )
    stored = runs.list_runs(ctx.engine, ctx.community, plan.KIND, limit=10)
    if not stored:
        st.info(ctx.t("response.page.plan.none"))
        return
    for run in stored:
        sources = run.params.get("sources", {})
        st.markdown(
            "**"
            + esc(
                ctx.t(
                    "response.page.plan.item",
                    version=run.params.get("version"),
                    lang=run.params.get("lang"),
                    run=run.id,
                )
            )
            + "**"
        )
        st.caption(
            ctx.t(
                "response.plan.sources",
                coverage=f"#{sources.get('coverage')}" if sources.get("coverage") else "–",
                evacuation=", ".join(f"#{i}" for i in sources.get("evacuation", [])) or "–",
            )
        )
        _downloads(ctx, run)


# -- the page -----------------------------------------------------------------------------------

ctx = context()
st.title(ctx.t("response.page.title"))
st.caption(
    ctx.t("response.page.scope.runner" if ctx.role in RUNNERS else "response.page.scope.reader")
)
options = _options(ctx)
view = st.radio(
    ctx.t("response.page.view"),
    list(VIEWS),
    format_func=lambda v: ctx.t(f"response.page.view.{v}"),
    horizontal=True,
    label_visibility="collapsed",
    key="rn_view",
)
if view == "network":
    _network_view(ctx, options)
elif view == "coverage":
    _coverage_view(ctx, options)
elif view == "proposals":
    _proposals_view(ctx, options)
elif view == "evacuation":
    _evacuation_view(ctx)
else:
    _plan_view(ctx)
