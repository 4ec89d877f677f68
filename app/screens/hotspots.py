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
from geo.analysis import runs
from geo.analysis.compare import label_text as compare_label
from geo.analysis.hotspots import CONFIDENCE_LEVELS, method_text
from geo.analysis.hotspots import label_text as hotspot_label
from geo.analysis.trends import category_description, category_text, weekday_name
from geo.communities import Community
from geo.maps.analysis import analysis_map, comparison_map, density_legend_text, emerging_map
from harta_ui import Context, context, record_view
from map_frame import st_folium

MIME = {".tif": "image/tiff", ".gpkg": "application/geopackage+sqlite3", ".csv": "text/csv"}


@st.cache_data(ttl=300, show_spinner=False)
def _streets(_engine, _community: Community, community_id: int) -> gpd.GeoDataFrame:
    # Cached by id: the Community object itself is not hashed.
    return views.streets(_engine, _community)


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
            value=(today - dt.timedelta(days=730), today),
            max_value=today,
            key="hs_dates",
        )
        return (tuple(dates) + (None, None))[:2] if dates else (None, None)
    periods = {key: (lo, hi) for key, lo, hi in _published_periods(today)}
    key = st.selectbox(
        ctx.t("analysis.period.label"),
        list(periods),
        format_func=lambda k: _period_label(ctx, k),
        key=f"hs_period_{ctx.lang}",  # labels follow a language change
    )
    st.caption(ctx.t("analysis.period.help"))
    return periods[key]


def _types(ctx: Context, scope: str) -> list[str]:
    """Several types for police and mediators; one (or all) for aggregated roles."""
    labels = taxonomy.labels("incident_type", ctx.lang)
    if scope != "aggregated":
        return st.multiselect(
            ctx.t("incidents.hotspots.types"),
            _allowed_types(scope),
            format_func=labels.get,
            placeholder=ctx.t("incidents.hotspots.all_types"),
            key="hs_types",
        )
    choice = st.selectbox(
        ctx.t("analysis.period.type"),
        ["", *_allowed_types(scope)],
        format_func=lambda c: labels.get(c) if c else ctx.t("incidents.hotspots.all_types"),
        key=f"hs_type_{ctx.lang}",
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
            value=1,
            format_func=lambda n: f"{n} · {taxonomy.label('severity', n, ctx.lang)}",
            key="hs_severity",
        )
        confidence = st.select_slider(
            ctx.t("incidents.hotspots.confidence"),
            options=list(CONFIDENCE_LEVELS),
            value=0.95,
            format_func=lambda c: f"{round(c * 100)} %",
            key="hs_confidence",
        )
        freq = "month"
        cell = bandwidth = 0
        if scope != "aggregated":
            # Aggregated runs use the published period (months) and grid only.
            freq = st.radio(
                ctx.t("incidents.hotspots.freq"),
                ["month", "week"],
                format_func=lambda f: ctx.t(f"incidents.hotspots.freq.{f}"),
                horizontal=True,
                key="hs_freq",
            )
            cell = st.number_input(ctx.t("incidents.hotspots.cell"), 0, 2000, 0, 10, key="hs_cell")
            bandwidth = st.number_input(
                ctx.t("incidents.hotspots.bandwidth"), 0, 2000, 0, 10, key="hs_bandwidth"
            )
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
    """Run once per community, role and filters; reruns of the page reuse the result."""
    key = (ctx.community.id, ctx.role, repr(sorted(options.items())))
    cached = st.session_state.get("hs_run")
    if cached is None or cached[0] != key:
        with st.spinner(ctx.t("incidents.hotspots.running")):
            run = runs.run_hotspot_analysis(ctx.engine, ctx.community, **options)
        if run.exact:
            # Each run of police or mediators shows exact locations: one access record each.
            record_view(
                ctx, "view_exact", page="hotspots", row_id=run.id, count=len(run.visible.points)
            )
        st.session_state["hs_run"] = (key, run)
    return st.session_state["hs_run"][1]


def _summary(ctx: Context, run: runs.HotspotRun) -> None:
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
        st.dataframe(table, hide_index=True)


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


def _runs_tab(ctx: Context) -> None:
    past = runs.list_runs(ctx.engine, ctx.community)
    if past.empty:
        st.info(ctx.t("incidents.hotspots.no_runs"))
        return
    for _, row in past.iterrows():
        counts = row["input_counts"] or {}
        shown = counts.get("used") if row["scope"] != "aggregated" else counts.get("published")
        title = ctx.t(
            "incidents.hotspots.run_title",
            id=row["id"],
            when=row["started_at"].strftime("%Y-%m-%d %H:%M"),
            role=ctx.t(f"app.roles.{row['created_by_role']}"),
            n=shown if shown is not None else "–",
            seconds=f"{row['seconds']:.1f}",
        )
        with st.expander(title):
            filters = (row["params"] or {}).get("filters", {})
            st.json({**filters, "cell_size_m": row["params"].get("cell_size_m")}, expanded=False)
            cols = st.columns(max(len(row["outputs"]), 1))
            for col, (name, path) in zip(cols, row["outputs"].items(), strict=False):
                col.download_button(
                    ctx.t(f"incidents.hotspots.export.{name}"),
                    path.read_bytes(),
                    file_name=f"run-{row['id']}-{path.name}",
                    mime=MIME.get(path.suffix, "application/octet-stream"),
                    key=f"dl_{row['id']}_{name}",
                    on_click=_exported,
                    args=(ctx, int(row["id"]), path.name),
                )


ctx = context()
st.title(ctx.t("incidents.hotspots.title"))
scope = runs.scope_for(ctx.role)
st.caption(ctx.t(f"incidents.hotspots.scope.{scope}"))
options = _filters(ctx, scope)
run = _run(ctx, options)
_summary(ctx, run)
area = ctx.community  # the hot spot maps take the Community
streets = _streets(ctx.engine, ctx.community, ctx.community.id)
# One view at a time rather than st.tabs: Leaflet cannot fit a map drawn in a hidden tab.
view = st.radio(
    ctx.t("incidents.hotspots.view"),
    ["map", "trends", "compare", "runs"],
    format_func=lambda name: ctx.t(f"incidents.hotspots.tab.{name}"),
    horizontal=True,
    label_visibility="collapsed",
    key="hs_view",
)
if view == "map":
    _map_tab(ctx, run, area, streets)
elif view == "trends":
    _trends_tab(ctx, run, area, streets)
elif view == "compare":
    _compare_tab(ctx, run, area, streets)
else:
    _runs_tab(ctx)
