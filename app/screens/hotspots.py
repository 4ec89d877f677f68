"""Where and when incidents gather: density, hot spots, trends, perceived vs recorded, past runs.

Every role can open the page; what the maps, tables and downloads hold depends on the role
(see :mod:`geo.analysis.runs`): exact incidents only for police and mediators, published
hexagon counts for everyone else.  The page is widgets only.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import streamlit as st

from geo import taxonomy, views
from geo.analysis import places, runs
from geo.analysis.compare import label_text as compare_label
from geo.analysis.hotspots import CONFIDENCE_LEVELS, method_text
from geo.analysis.hotspots import LABELS as HOTSPOT_LABELS
from geo.analysis.hotspots import label_text as hotspot_label
from geo.analysis.trends import category_description, category_text, weekday_name
from geo.communities import Community
from geo.i18n import community_name
from geo.maps.analysis import analysis_map, comparison_map, density_legend_text, emerging_map
from geo.runs import get_run
from harta_ui import Context, context, record_view
from map_frame import st_folium

MIME = {".tif": "image/tiff", ".gpkg": "application/geopackage+sqlite3", ".csv": "text/csv"}


@st.cache_data(ttl=300, show_spinner=False)
def _streets(_engine, _community: Community, community_id: int) -> gpd.GeoDataFrame:
    # Cached by id: the Community object itself is not hashed.
    return views.streets(_engine, _community)


# Every choice of this page survives a language change: a widget's label changes with the
# language (and with it Streamlit's idea of which widget it is), so each widget is keyed by the
# language and starts from the value kept under ``hs_keep_<name>`` (issue 11: switching the
# language cleared the view).
def _key(ctx: Context, name: str) -> str:
    return f"hs_{name}_{ctx.lang}"


def _kept(name: str, default):  # noqa: ANN001, ANN202
    return st.session_state.get(f"hs_keep_{name}", default)


def _keep(name: str, widget_key: str) -> None:
    st.session_state[f"hs_keep_{name}"] = st.session_state[widget_key]


def _sticky(ctx: Context, name: str) -> dict:
    """Keyword arguments that key a widget and keep its value across languages."""
    key = _key(ctx, name)
    return {"key": key, "on_change": _keep, "args": (name, key)}


def _index(options: list, name: str, default=None) -> int:  # noqa: ANN001
    value = _kept(name, default)
    return options.index(value) if value in options else 0


def _allowed_types(scope: str) -> list[str]:
    if scope == "all":
        return taxonomy.incident_types()
    return [c for c in taxonomy.incident_types() if not taxonomy.is_sensitive(c)]


def _published_periods(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The periods an aggregated role may pick: (key, first day, last day), whole months only,
    none still under way (the database publishes complete months only)."""
    last = today.replace(day=1) - dt.timedelta(days=1)  # last day of the last complete month
    m_last = last.year * 12 + last.month - 1
    out = [("recent", _month(m_last - 23), last)]
    out += [
        (f"year:{y}", dt.date(y, 1, 1), dt.date(y, 12, 31))
        for y in range(last.year - 2, last.year + 1)
        if dt.date(y, 12, 31) <= last
    ][::-1]
    q_last = m_last // 3 - (0 if last.month % 3 == 0 else 1)
    for qi in range(q_last, q_last - 8, -1):
        year, q = divmod(qi, 4)
        out.append((f"quarter:{year}:{q + 1}", _month(qi * 3), _month_end(_month(qi * 3 + 2))))
    for mi in range(m_last, m_last - 12, -1):
        out.append((f"month:{mi // 12}:{mi % 12 + 1:02d}", _month(mi), _month_end(_month(mi))))
    return out


def _month(index: int) -> dt.date:
    """First day of month number ``index`` (year * 12 + month - 1)."""
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(day: dt.date) -> dt.date:
    nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def _period_label(ctx: Context, key: str) -> str:
    kind, *parts = key.split(":")
    if kind == "recent":
        return ctx.t("analysis.period.recent")
    if kind == "year":
        return ctx.t("analysis.period.year", year=parts[0])
    if kind == "quarter":
        return ctx.t("analysis.period.quarter", year=parts[0], quarter=parts[1])
    return ctx.t("analysis.period.month", year=parts[0], month=parts[1])


def _dates(ctx: Context, scope: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """Free days for police and mediators; published periods for every other role."""
    if scope != "aggregated":
        dates = st.date_input(
            ctx.t("incidents.hotspots.dates"),
            value=_kept("dates", (today - dt.timedelta(days=730), today)),
            max_value=today,
            **_sticky(ctx, "dates"),
        )
        return (tuple(dates) + (None, None))[:2] if dates else (None, None)
    periods = {key: (lo, hi) for key, lo, hi in _published_periods(today)}
    key = st.selectbox(
        ctx.t("analysis.period.label"),
        list(periods),
        index=_index(list(periods), "period"),
        format_func=lambda k: _period_label(ctx, k),
        **_sticky(ctx, "period"),
    )
    st.caption(ctx.t("analysis.period.help"))
    return periods[key]


def _types(ctx: Context, scope: str) -> list[str]:
    """Several types for police and mediators; one (or all) for aggregated roles."""
    labels = taxonomy.labels("incident_type", ctx.lang)
    if scope != "aggregated":
        allowed = _allowed_types(scope)
        return st.multiselect(
            ctx.t("incidents.hotspots.types"),
            allowed,
            default=[c for c in _kept("types", []) if c in allowed],
            format_func=labels.get,
            placeholder=ctx.t("incidents.hotspots.all_types"),
            **_sticky(ctx, "types"),
        )
    options = ["", *_allowed_types(scope)]
    choice = st.selectbox(
        ctx.t("analysis.period.type"),
        options,
        index=_index(options, "type"),
        format_func=lambda c: labels.get(c) if c else ctx.t("incidents.hotspots.all_types"),
        **_sticky(ctx, "type"),
    )
    return [choice] if choice else []


def _filters(ctx: Context, scope: str) -> dict:
    """The filter widgets; returns the keyword arguments of the run."""
    tz = ctx.community.tz
    today = dt.datetime.now(tz).date()
    with st.sidebar.expander(ctx.t("incidents.hotspots.filters"), expanded=True):
        date_from, date_to = _dates(ctx, scope, today)
        types = _types(ctx, scope)
        if scope != "all":
            st.caption(ctx.t("incidents.hotspots.sensitive_excluded"))
        min_severity = st.select_slider(
            ctx.t("incidents.hotspots.min_severity"),
            options=taxonomy.severities(),
            value=_kept("severity", 1),
            format_func=lambda n: f"{n} · {taxonomy.label('severity', n, ctx.lang)}",
            **_sticky(ctx, "severity"),
        )
        confidence = st.select_slider(
            ctx.t("incidents.hotspots.confidence"),
            options=list(CONFIDENCE_LEVELS),
            value=_kept("confidence", 0.95),
            format_func=lambda c: f"{round(c * 100)} %",
            **_sticky(ctx, "confidence"),
        )
        freq = "month"
        cell = bandwidth = 0
        if scope != "aggregated":
            # Aggregated runs use the published period (months) and grid only.
            freq = st.radio(
                ctx.t("incidents.hotspots.freq"),
                ["month", "week"],
                index=_index(["month", "week"], "freq"),
                format_func=lambda f: ctx.t(f"incidents.hotspots.freq.{f}"),
                horizontal=True,
                **_sticky(ctx, "freq"),
            )
            cell = st.number_input(
                ctx.t("incidents.hotspots.cell"), 0, 2000, _kept("cell", 0), 10,
                **_sticky(ctx, "cell"),
            )  # fmt: skip
            bandwidth = st.number_input(
                ctx.t("incidents.hotspots.bandwidth"), 0, 2000, _kept("bandwidth", 0), 10,
                **_sticky(ctx, "bandwidth"),
            )  # fmt: skip
        else:
            st.caption(ctx.t("incidents.hotspots.aggregated_resolution"))
    return {
        "date_from": date_from,
        "date_to": date_to,
        "types": sorted(types),
        "min_severity": int(min_severity),
        "confidence": float(confidence),
        "freq": freq,
        "cell_size_m": float(cell) or None,
        "bandwidth_m": float(bandwidth) or None,
    }


def _run(ctx: Context, options: dict) -> runs.HotspotRun:
    """Run once per community, role and filters; reruns of the page reuse the result.

    A view stores nothing (``store=False``): an identical stored run is shown with its files,
    otherwise the run is stored when someone asks for it (:func:`_store_button`).
    """
    key = (ctx.community.id, ctx.role, repr(sorted(options.items())))
    cached = st.session_state.get("hs_run")
    if cached is None or cached[0] != key:
        with st.spinner(ctx.t("incidents.hotspots.running")):
            run = runs.run_hotspot_analysis(ctx.engine, ctx.community, store=False, **options)
        if run.exact:
            # Each run of police or mediators shows exact locations: one access record each.
            record_view(
                ctx, "view_exact", page="hotspots", row_id=run.id, count=len(run.visible.points)
            )
        st.session_state["hs_run"] = (key, run)
    return st.session_state["hs_run"][1]


def _store(ctx: Context, run: runs.HotspotRun) -> None:
    runs.store_run(ctx.engine, run)


def _store_button(ctx: Context, run: runs.HotspotRun) -> None:
    """Store the run on request (an identical stored run is reused): its files to download."""
    if run.stored:
        st.caption(ctx.t("analysis.store.stored", id=run.id))
        return
    st.button(
        ctx.t("analysis.store.button"),
        icon=":material/save:",
        help=ctx.t("analysis.store.help"),
        key="hs_store",
        on_click=_store,
        args=(ctx, run),
    )


def _summary(ctx: Context, run: runs.HotspotRun) -> None:
    if run.demo:
        st.warning(ctx.t("analysis.demo_inputs"), icon=":material/science:")
    counts = run.input_counts
    if run.exact:
        st.caption(
            ctx.t("incidents.hotspots.used_exact", used=counts["used"], stored=counts["in_scope"])
        )
    else:
        st.caption(ctx.t("incidents.hotspots.used_aggregated", published=counts["published"]))


def _map_tab(ctx: Context, run: runs.HotspotRun, area, streets) -> None:
    if run.hotspots.too_few:
        st.warning(run.hotspots.message(ctx.lang))
    m = analysis_map(run, area, streets, ctx.lang, online=ctx.online)
    st_folium(m, height=620, width=None, returned_objects=[], key="hs_map")
    legend = density_legend_text(run, ctx.lang)
    if legend:
        st.caption(legend)
    method = method_text(run.hotspots.method, ctx.lang)
    st.caption(ctx.t("analysis.hotspots.method", method=method))
    st.caption(ctx.t("stats.method.note"))
    if len(run.visible.points):
        st.caption(ctx.t("incidents.hotspots.points_layer"))
    if not run.hotspots.too_few:
        labels = run.hotspots.cells["label"].value_counts()
        table = pd.DataFrame(
            {
                ctx.t("incidents.hotspots.class"): [
                    hotspot_label(k, ctx.lang) for k in labels.index
                ],
                ctx.t("incidents.hotspots.cells"): labels.to_numpy(),
            }
        )
        # A plain table: st.dataframe's grid would make the browser fetch 1.2 MB of scripts
        # for a handful of rows (issue 11: every page under 3 MB).
        st.table(table, hide_index=True)
        _places_table(ctx, run, streets)


def _places_table(ctx: Context, run: runs.HotspotRun, streets) -> None:  # noqa: ANN001
    """The hot spots by nearest street and place (what police read out), hottest first."""
    st.subheader(ctx.t("analysis.places.header"))
    st.caption(ctx.t("analysis.places.help"))
    hot = run.hotspots.hot_cells()
    if not len(hot):
        st.info(ctx.t("analysis.places.none"))
        return
    found = places.hotspot_places(ctx.engine, ctx.community, hot, run.visible.points, streets)
    no_street = ctx.t("analysis.places.no_street", m=int(places.MAX_STREET_M))
    # Settlement names as the reader's language writes them ("Rampa (groapa de gunoi)").
    settled = views.settlements(ctx.engine, ctx.community)
    names = {
        n: community_name(slug, n, ctx.lang)
        for slug, n in zip(settled["slug"], settled["name"], strict=True)
    }
    col = {k: ctx.t(f"analysis.places.col.{k}") for k in (
        "rank", "class", "street", "distance", "place", "count", "where"
    )}  # fmt: skip
    table = pd.DataFrame(
        {
            col["rank"]: range(1, len(found) + 1),
            col["class"]: [
                hotspot_label(HOTSPOT_LABELS[int(b)], ctx.lang) for b in found["gi_bin"]
            ],
            col["street"]: [s if isinstance(s, str) else no_street for s in found["street"]],
            col["distance"]: [None if pd.isna(d) else int(d) for d in found["street_m"]],
            col["place"]: [names.get(p, p) for p in found["place"]],
            col["count"]: [None if pd.isna(c) else int(c) for c in found["count"]],
            col["where"]: [
                f"{lat:.5f}, {lon:.5f}" for lat, lon in zip(found["lat"], found["lon"], strict=True)
            ],  # fmt: skip
        }
    )
    # A plain table: read out over the phone, printed, found by the browser's search.
    st.table(table, hide_index=True)


def _trends_tab(ctx: Context, run: runs.HotspotRun, area, streets) -> None:
    if run.emerging.too_few:
        st.info(run.emerging.message(ctx.lang))
    else:
        m = emerging_map(run, area, streets, ctx.lang, online=ctx.online)
        st_folium(m, height=480, width=None, returned_objects=[], key="hs_trend")
        categories = run.emerging.cells["category"].value_counts()
        st.dataframe(
            pd.DataFrame(
                {
                    ctx.t("incidents.hotspots.category"): [
                        category_text(c, ctx.lang) for c in categories.index
                    ],
                    ctx.t("incidents.hotspots.cells"): categories.to_numpy(),
                }
            ),
            hide_index=True,
        )
        # The legend of the trend map: what each category shown means, in plain words.
        st.markdown(
            "\n".join(
                f"- **{category_text(c, ctx.lang)}**: {category_description(c, ctx.lang)}"
                for c in categories.index
            )
        )
    if not run.exact:
        st.caption(
            ctx.t("incidents.hotspots.profile_suppressed", threshold=run.params["threshold"])
        )
    col_hour, col_day = st.columns(2)
    col_hour.subheader(ctx.t("incidents.hotspots.by_hour"))
    hours = run.time_of_day.rename(ctx.t("incidents.hotspots.incidents"))
    hours.index = [f"{h:02d}" for h in hours.index]
    col_hour.bar_chart(hours)
    col_day.subheader(ctx.t("incidents.hotspots.by_weekday"))
    days = run.day_of_week.rename(ctx.t("incidents.hotspots.incidents"))
    days.index = [f"{d + 1} {weekday_name(d, ctx.lang)}" for d in days.index]
    col_day.bar_chart(days)


def _compare_tab(ctx: Context, run: runs.HotspotRun, area, streets) -> None:
    st.caption(ctx.t("incidents.hotspots.compare_help"))
    m = comparison_map(run, area, streets, ctx.lang, online=ctx.online)
    st_folium(m, height=480, width=None, returned_objects=[], key="hs_compare")
    zones = run.comparison[run.comparison["source"] == "zone"]
    hazards = views.risk_zones(ctx.engine, ctx.community).set_index("id")["hazard_code"]
    table = pd.DataFrame(
        {
            ctx.t("incidents.hotspots.zone"): zones["source_id"].to_numpy(),
            ctx.t("incidents.hotspots.hazard"): [
                taxonomy.label("hazard", hazards.get(z, "other"), ctx.lang)
                for z in zones["source_id"]
            ],
            ctx.t("incidents.hotspots.result"): [
                compare_label(k, ctx.lang) for k in zones["label"]
            ],
            ctx.t("incidents.hotspots.overlap"): (zones["overlap_share"] * 100).round().to_numpy(),
        }
    )
    st.dataframe(table, hide_index=True)
    recorded_only = int((run.comparison["label"] == "recorded_only").sum())
    st.caption(ctx.t("incidents.hotspots.recorded_only_cells", n=recorded_only))
    path = run.outputs.get("compare_csv")
    if path is not None and path.is_file():
        st.download_button(
            ctx.t("incidents.hotspots.download_compare"),
            path.read_bytes(),
            file_name=f"run-{run.id}-{path.name}",
            mime="text/csv",
            key="hs_compare_csv",
            on_click=_exported,
            args=(ctx, run.id, path.name),
        )


def _exported(ctx: Context, run_id: int, file: str) -> None:
    record_view(ctx, "export", page="hotspots", row_id=run_id, file=file)


def _params_text(ctx: Context, group: pd.Series) -> str:
    """One readable line for a group of runs: period, types, severity, confidence, hexagon."""
    filters = group["filters"] or {}
    window = group["published_window"]
    if window:
        start, end = (w[:10] for w in window)
        end = (dt.date.fromisoformat(end) - dt.timedelta(days=1)).isoformat()
        period = ctx.t("analysis.runs.dates", start=start, end=end)
    elif filters.get("date_from") or filters.get("date_to"):
        period = ctx.t(
            "analysis.runs.dates", start=filters.get("date_from") or "…",
            end=filters.get("date_to") or "…",
        )  # fmt: skip
    else:
        period = ctx.t("analysis.runs.all_dates")
    labels = taxonomy.labels("incident_type", ctx.lang)
    types = filters.get("types")
    return ctx.t(
        "analysis.runs.params",
        period=period,
        types=", ".join(labels.get(c, c) for c in types) if types else ctx.t(
            "analysis.runs.all_types"
        ),
        severity=filters.get("min_severity", 1),
        confidence=round(float(group["confidence"] or 0.95) * 100),
        cell=round(float(group["cell_size_m"] or 0)),
    )  # fmt: skip


def _runs_tab(ctx: Context) -> None:
    """Stored runs, one line per distinct question; files of one chosen run at a time."""
    groups = runs.run_groups(ctx.engine, ctx.community)
    if groups.empty:
        st.info(ctx.t("incidents.hotspots.no_runs"))
        return
    st.caption(ctx.t("analysis.runs.help"))
    col = {k: ctx.t(f"analysis.runs.col.{k}") for k in (
        "params", "runs", "last", "role", "used", "id"
    )}  # fmt: skip
    table = pd.DataFrame(
        {
            col["params"]: [_params_text(ctx, g) for _, g in groups.iterrows()],
            col["runs"]: groups["runs"].to_numpy(),
            col["last"]: [w.strftime("%Y-%m-%d %H:%M") for w in groups["last_started"]],
            col["role"]: [ctx.t(f"app.roles.{r}") for r in groups["role"]],
            col["used"]: [None if pd.isna(u) else int(u) for u in groups["used"]],
            col["id"]: groups["latest_id"].to_numpy(),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    latest = dict(zip(groups["latest_id"], groups["last_started"], strict=True))
    chosen = st.selectbox(
        ctx.t("analysis.runs.choose"),
        list(latest),
        format_func=lambda i: ctx.t(
            "analysis.runs.option", id=i, when=latest[i].strftime("%Y-%m-%d %H:%M")
        ),
        **_sticky(ctx, "run_files"),
    )
    _run_files(ctx, int(chosen))


def _run_files(ctx: Context, run_id: int) -> None:
    """Download buttons of one stored run (its files are read only for this run)."""
    stored = get_run(ctx.engine, run_id)
    if stored is None or not stored.outputs:
        return
    cols = st.columns(len(stored.outputs))
    for c, (name, path) in zip(cols, stored.outputs.items(), strict=True):
        c.download_button(
            ctx.t(f"incidents.hotspots.export.{name}"),
            path.read_bytes(),
            file_name=f"run-{run_id}-{path.name}",
            mime=MIME.get(path.suffix, "application/octet-stream"),
            key=f"dl_{run_id}_{name}",
            on_click=_exported,
            args=(ctx, run_id, path.name),
        )


ctx = context()
st.title(ctx.t("incidents.hotspots.title"))
scope = runs.scope_for(ctx.role)
st.caption(ctx.t(f"incidents.hotspots.scope.{scope}"))
options = _filters(ctx, scope)
run = _run(ctx, options)
_summary(ctx, run)
_store_button(ctx, run)
area = ctx.community  # the hot spot maps take the Community
streets = _streets(ctx.engine, ctx.community, ctx.community.id)
# One view at a time rather than st.tabs: Leaflet cannot fit a map drawn in a hidden tab.
VIEWS = ["map", "trends", "compare", "runs"]
view = st.radio(
    ctx.t("incidents.hotspots.view"),
    VIEWS,
    index=_index(VIEWS, "view"),
    format_func=lambda name: ctx.t(f"incidents.hotspots.tab.{name}"),
    horizontal=True,
    label_visibility="collapsed",
    **_sticky(ctx, "view"),
)
if view == "map":
    _map_tab(ctx, run, area, streets)
elif view == "trends":
    _trends_tab(ctx, run, area, streets)
elif view == "compare":
    _compare_tab(ctx, run, area, streets)
else:
    _runs_tab(ctx)
