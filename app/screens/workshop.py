"""Workshop mode: residents mark dangerous places on the community map, with a facilitator.

Widgets only: sessions, marks, paper grids, consensus and exports live in :mod:`geo.workshops`,
:mod:`geo.paper`, :mod:`geo.consensus` and :mod:`geo.reports.workshop_pdf`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from geo import consensus, escape, maps, paper, roles, taxonomy, views
from geo import workshops as ws
from geo.i18n import LANGUAGES
from geo.reports import workshop_pdf
from harta_ui import Context, context, record_view, upload_too_large
from map_frame import st_folium

#: Roles whose database role may open sessions and write marks (migrations 0002 and 0003);
#: planners see sessions read-only.
WRITE_ROLES = roles.holders("workshops.draw")

TIME_ICONS = {
    "day": ":material/light_mode:",
    "night": ":material/dark_mode:",
    "always": ":material/schedule:",
}
SEASON_ICONS = {
    "all_year": ":material/calendar_month:",
    "spring": ":material/local_florist:",
    "summer": ":material/sunny:",
    "autumn": ":material/eco:",
    "winter": ":material/ac_unit:",
}
MODES = ("draw", "paper", "import", "agreement", "export", "history")
MODE_ICONS = {
    "draw": ":material/draw:",
    "paper": ":material/print:",
    "import": ":material/upload_file:",
    "agreement": ":material/groups:",
    "export": ":material/download:",
    "history": ":material/history:",
}
SHAPE_ERRORS = frozenset(
    f"workshop.error.{k}"
    for k in ("outside", "unrepairable", "no_shape", "bad_kind", "bad_coordinates")
)
PENDING_STYLE = {"color": "#d500f9", "weight": 5, "dashArray": "8 6", "fillOpacity": 0.15}
PICKER_KEYS = ("ws_hazard", "ws_severity", "ws_time", "ws_season", "ws_note")


@st.cache_data(ttl=300, show_spinner=False)
def _area(_engine, community: str) -> gpd.GeoDataFrame:
    row = views.community(_engine, community)
    return gpd.GeoDataFrame({"name": [row["name"]]}, geometry=[row["geom"]], crs=4326)


@st.cache_data(ttl=300, show_spinner=False)
def _layers(_engine, community: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    row = views.community(_engine, community)
    root = row["parent_slug"] if isinstance(row["parent_slug"], str) else community
    return views.streets(_engine, root), views.settlements(_engine, root)


@st.cache_data(ttl=600, show_spinner=False)
def _map_pdf(_engine, workshop_id: int, size: str, lang: str) -> bytes:
    return workshop_pdf.workshop_map_pdf(_engine, workshop_id, paper_size=size, lang=lang)


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault("ws_flash", []).append((kind, text))


def _show_flash() -> None:
    for kind, text in st.session_state.pop("ws_flash", []):
        # Messages may quote what someone typed or imported: shown as text, never Markdown.
        getattr(st, kind)(escape.markdown(text))


def _refresh_map() -> None:
    st.session_state["ws_map_version"] = st.session_state.get("ws_map_version", 0) + 1


def _base(ctx: Context, *, height: int, projector: bool = False):
    streets, settlements = _layers(ctx.engine, ctx.community)
    m = maps.base_map(
        _area(ctx.engine, ctx.community),
        online=ctx.online,
        streets=streets,
        lang=ctx.lang,
        height=height,
        projector=projector,
    )
    if len(settlements):
        maps.add_settlements(m, settlements, ctx.lang)
    maps.add_boundary(m, _area(ctx.engine, ctx.community), ctx.lang)
    return m


def _zones_for_map(marks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return marks.rename(columns={"hazard_code": "hazard"}).set_geometry("geom")


# --- session ------------------------------------------------------------------------------


def _new_session_form(ctx: Context, expanded: bool) -> None:
    with st.expander(ctx.t("workshop.session.new"), expanded=expanded):
        with st.form("ws_new_session", border=False):
            cols = st.columns(3)
            held_on = cols[0].date_input(ctx.t("workshop.session.date"), value=dt.date.today())
            codes = list(LANGUAGES)
            language = cols[1].selectbox(
                ctx.t("workshop.session.language"),
                codes,
                index=codes.index(ctx.lang),
                format_func=LANGUAGES.__getitem__,
            )
            participants = cols[2].number_input(
                ctx.t("workshop.session.participants"),
                min_value=1,
                max_value=ws.MAX_PARTICIPANTS,
                value=10,
                step=1,
                help=ctx.t("workshop.session.no_names"),
            )
            st.caption(ctx.t("workshop.session.no_names"))
            if st.form_submit_button(ctx.t("workshop.session.open_button"), type="primary"):
                try:
                    session = ws.open_session(
                        ctx.engine,
                        ctx.community,
                        held_on=held_on,
                        language=language,
                        participants=int(participants),
                        role=ctx.role,
                    )
                except ws.WorkshopError as exc:
                    st.error(escape.markdown(exc.message(ctx.lang)))
                else:
                    st.session_state["ws_session"] = session.id
                    _flash("success", ctx.t("workshop.session.opened", id=session.id))
                    st.rerun()


def _session_picker(ctx: Context) -> ws.Session | None:
    sessions = ws.list_sessions(ctx.engine, ctx.community)
    real = [s for s in sessions if not s.is_demo]
    if ctx.role in WRITE_ROLES:
        _new_session_form(ctx, expanded=not real)
    else:
        st.caption(ctx.t("account.workshop_read_only"))
    if not sessions:
        st.info(ctx.t("workshop.session.none"))
        return None
    by_id = {s.id: s for s in sessions}
    if st.session_state.get("ws_session") not in by_id:
        st.session_state["ws_session"] = (real or sessions)[0].id
    chosen = st.selectbox(
        ctx.t("workshop.session.choose"),
        list(by_id),
        format_func=lambda i: by_id[i].label(ctx.lang) + ("  · DEMO" if by_id[i].is_demo else ""),
        key="ws_session",
        on_change=lambda: st.session_state.pop("ws_pending", None),
    )
    return by_id[chosen]


def _session_status(ctx: Context, session: ws.Session) -> bool:
    """Show the session's state; return whether it takes marks."""
    if ctx.role not in WRITE_ROLES:
        return False
    if session.is_demo:
        st.warning(ctx.t("workshop.session.demo"))
        return False
    if session.status != "open":
        st.warning(ctx.t("workshop.session.closed_notice"))
        if st.button(ctx.t("workshop.session.reopen_button"), key="ws_reopen"):
            ws.set_session_status(ctx.engine, session.id, "open", role=ctx.role)
            st.rerun()
        return False
    return True


# --- drawing and the picker -----------------------------------------------------------------


def _picker_css() -> str:
    rules = [
        "[class*='st-key-hz_'] button{min-height:64px;justify-content:flex-start;"
        "text-align:left;color:#000!important;padding-left:64px!important}"
        "[class*='st-key-hz_'] button p{white-space:normal!important;overflow:visible!important;"
        "text-overflow:clip!important;font-size:1.02rem;font-weight:600;line-height:1.2}"
        "[class*='st-key-sev_'] button{min-height:62px}"
        "[class*='st-key-sev_'] button p{font-size:1.7rem;font-weight:800}"
        ".st-key-ws_save button{min-height:56px}.st-key-ws_save button p{font-size:1.3rem}"
    ]
    chosen_hazard = st.session_state.get("ws_hazard")
    for code in taxonomy.hazards():
        uri = taxonomy.icon_data_uri("hazard", code)
        border = "4px solid #000" if code == chosen_hazard else "1px solid #9e9e9e"
        rules.append(
            f".st-key-hz_{code} button{{background:#fff url('{uri}') no-repeat 8px center/46px"
            f"!important;border:{border}!important}}"
        )
    chosen_severity = st.session_state.get("ws_severity")
    for n in taxonomy.severities():
        border = "5px solid #000" if n == chosen_severity else "1px solid #616161"
        rules.append(
            f".st-key-sev_{n} button{{background:{taxonomy.severity_colour(n)}!important;"
            f"color:{taxonomy.severity_text_colour(n)}!important;border:{border}!important}}"
        )
    return "<style>" + "".join(rules) + "</style>"


def _choose(key: str, value) -> None:
    st.session_state[key] = value


def _picker(ctx: Context) -> None:
    """The icon-first picker: what, how bad, when, season, note."""
    st.markdown(_picker_css(), unsafe_allow_html=True)
    st.markdown(f"#### {ctx.t('workshop.picker.what')}")
    hazards = taxonomy.hazards()
    for start in range(0, len(hazards), 3):
        cols = st.columns(3)
        for col, code in zip(cols, hazards[start : start + 3], strict=False):
            col.button(
                taxonomy.label("hazard", code, ctx.lang),
                key=f"hz_{code}",
                on_click=_choose,
                args=("ws_hazard", code),
                use_container_width=True,
            )
    st.markdown(f"#### {ctx.t('workshop.picker.how_bad')}")
    cols = st.columns(5)
    for col, n in zip(cols, taxonomy.severities(), strict=True):
        col.button(
            str(n),
            key=f"sev_{n}",
            on_click=_choose,
            args=("ws_severity", n),
            use_container_width=True,
        )
        col.caption(taxonomy.label("severity", n, ctx.lang))
    cols = st.columns(2)
    with cols[0]:
        st.segmented_control(
            ctx.t("workshop.picker.when"),
            taxonomy.times_of_day(),
            default="always",
            format_func=lambda c: f"{TIME_ICONS[c]} {taxonomy.label('time_of_day', c, ctx.lang)}",
            key="ws_time",
        )
    with cols[1]:
        st.segmented_control(
            ctx.t("workshop.picker.season"),
            taxonomy.seasons(),
            default="all_year",
            format_func=lambda c: f"{SEASON_ICONS[c]} {taxonomy.label('season', c, ctx.lang)}",
            key="ws_season",
        )
    st.text_input(
        ctx.t("workshop.picker.note"),
        max_chars=ws.MAX_NOTE_LENGTH,
        help=ctx.t("workshop.picker.note_help"),
        key="ws_note",
    )


def _save(ctx: Context, session: ws.Session, drawing: dict, drawing_key: str) -> None:
    try:
        attributes = ws.mark_attributes(
            st.session_state.get("ws_hazard"),
            st.session_state.get("ws_severity"),
            st.session_state.get("ws_time") or "always",
            st.session_state.get("ws_season") or "all_year",
            st.session_state.get("ws_note"),
        )
        result = ws.save_mark(ctx.engine, session.id, drawing, attributes, role=ctx.role)
    except ws.WorkshopError as exc:
        if exc.key not in SHAPE_ERRORS:
            st.error(escape.markdown(exc.message(ctx.lang)))
            return
        # The drawing itself is refused: take it off the map and say why.
        st.session_state.setdefault("ws_handled", set()).add(drawing_key)
        st.session_state.pop("ws_pending", None)
        _flash("error", exc.message(ctx.lang))
        _refresh_map()
        st.rerun()
    st.session_state.setdefault("ws_handled", set()).add(drawing_key)
    st.session_state.pop("ws_pending", None)
    for key in PICKER_KEYS:
        st.session_state.pop(key, None)
    for notice in result.notices:
        _flash("warning", notice.message(ctx.lang))
    _flash("success", ctx.t("workshop.saved", id=result.mark_id))
    _refresh_map()
    st.rerun()


def _undo(ctx: Context, session: ws.Session) -> None:
    try:
        undone = ws.undo_last_mark(ctx.engine, session.id, role=ctx.role)
    except ws.WorkshopError as exc:
        _flash("error", exc.message(ctx.lang))
        return
    if undone is None:
        _flash("info", ctx.t("workshop.nothing_to_undo"))
    else:
        _flash("success", ctx.t("workshop.undone", id=undone))
    _refresh_map()


def _discard(drawing: dict) -> None:
    st.session_state.setdefault("ws_handled", set()).add(ws.drawing_key(drawing))
    st.session_state.pop("ws_pending", None)
    _refresh_map()


def _picker_dialog(ctx: Context, session: ws.Session, pending: dict) -> None:
    """The picker as a modal over the map: what, how bad, when, note; Save or discard."""
    _picker(ctx)
    cols = st.columns([2, 1])
    if cols[0].button(
        ctx.t("workshop.save"), type="primary", key="ws_save", use_container_width=True
    ):
        _save(ctx, session, pending, ws.drawing_key(pending))
    if cols[1].button(
        ctx.t("workshop.discard"),
        icon=":material/close:",
        key="ws_discard",
        use_container_width=True,
    ):
        _discard(pending)
        st.rerun()


def _take_new_drawing(drawing: dict | None) -> bool:
    """Remember a drawing not seen before as the pending mark; True if it is new."""
    key = ws.drawing_key(drawing)
    if key is None or key in st.session_state.get("ws_handled", set()):
        return False
    if key == ws.drawing_key(st.session_state.get("ws_pending")):
        return False
    st.session_state["ws_pending"] = drawing
    return True


def _draw_mode(ctx: Context, session: ws.Session, writable: bool) -> None:
    marks = ws.session_marks(ctx.engine, session.id)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.caption(ctx.t("workshop.draw.help"))
        m = _base(ctx, height=640)
        if len(marks):
            maps.add_risk_zones(m, _zones_for_map(marks), ctx.lang, demo=session.is_demo)
        if writable:
            maps.add_draw(m, ctx.lang, polygon=True, marker=True, polyline=True)
        maps.add_legend(m, lang=ctx.lang, collapsed=True)
        version = st.session_state.get("ws_map_version", 0)
        map_key = f"ws_map_{session.id}_{version}"
        _take_new_drawing((st.session_state.get(map_key) or {}).get("last_active_drawing"))
        pending = st.session_state.get("ws_pending")
        if pending:
            # Keep the new drawing on screen while its picker is open (a rerun redraws the map).
            folium.GeoJson(
                pending.get("geometry", pending),
                style_function=lambda _: PENDING_STYLE,
                marker=folium.CircleMarker(radius=14, **PENDING_STYLE),
            ).add_to(m)
        out = st_folium(
            m,
            height=640,
            use_container_width=True,
            returned_objects=["last_active_drawing"],
            key=map_key,
        )
    if _take_new_drawing((out or {}).get("last_active_drawing")):
        st.rerun()
    with right:
        if not writable:
            pass
        elif pending:
            st.success(ctx.t("workshop.draw.new_mark"))
            st.dialog(ctx.t("workshop.draw.new_mark"), width="large")(_picker_dialog)(
                ctx, session, pending
            )
        else:
            st.info(ctx.t("workshop.draw.waiting"))
        if writable:
            st.button(
                ctx.t("workshop.undo"),
                icon=":material/undo:",
                key="ws_undo",
                on_click=_undo,
                args=(ctx, session),
                use_container_width=True,
            )
    _marks_section(ctx, session, marks, writable)


def _marks_section(ctx: Context, session: ws.Session, marks: gpd.GeoDataFrame, writable: bool):
    st.subheader(ctx.t("workshop.marks.header"))
    if marks.empty:
        st.caption(ctx.t("workshop.marks.none"))
        return
    st.dataframe(ws.marks_table(marks, ctx.lang), hide_index=True, use_container_width=True)
    if not writable:
        return
    by_id = marks.set_index("id")
    mark_id = st.selectbox(
        ctx.t("workshop.edit.choose"),
        list(by_id.index),
        format_func=lambda i: (
            f"{i} · {taxonomy.label('hazard', by_id.loc[i, 'hazard_code'], ctx.lang)}"
        ),
        key="ws_edit_id",
    )
    row = by_id.loc[mark_id]
    with st.form(f"ws_edit_{mark_id}"):
        hazards = taxonomy.hazards()
        cols = st.columns(4)
        hazard = cols[0].selectbox(
            ctx.t("workshop.col.hazard"),
            hazards,
            index=hazards.index(row.hazard_code),
            format_func=lambda c: taxonomy.label("hazard", c, ctx.lang),
        )
        severity = cols[1].select_slider(
            ctx.t("workshop.col.severity"),
            taxonomy.severities(),
            value=int(row.severity),
            format_func=lambda n: f"{n} · {taxonomy.label('severity', n, ctx.lang)}",
        )
        times, seasons = taxonomy.times_of_day(), taxonomy.seasons()
        time_of_day = cols[2].selectbox(
            ctx.t("workshop.col.time"),
            times,
            index=times.index(row.time_of_day),
            format_func=lambda c: taxonomy.label("time_of_day", c, ctx.lang),
        )
        season = cols[3].selectbox(
            ctx.t("workshop.col.season"),
            seasons,
            index=seasons.index(row.season),
            format_func=lambda c: taxonomy.label("season", c, ctx.lang),
        )
        note = st.text_input(
            ctx.t("workshop.col.note"),
            value=row.note if isinstance(row.note, str) else "",
            max_chars=ws.MAX_NOTE_LENGTH,
        )
        cols = st.columns(2)
        save = cols[0].form_submit_button(ctx.t("workshop.edit.save"), type="primary")
        delete = cols[1].form_submit_button(ctx.t("workshop.delete"), icon=":material/delete:")
    try:
        if save:
            attributes = ws.mark_attributes(hazard, severity, time_of_day, season, note)
            ws.update_mark(ctx.engine, int(mark_id), attributes, role=ctx.role)
            _flash("success", ctx.t("workshop.edit.saved", id=int(mark_id)))
        elif delete:
            ws.delete_mark(ctx.engine, int(mark_id), role=ctx.role)
            _flash("success", ctx.t("workshop.deleted", id=int(mark_id)))
        else:
            return
    except ws.WorkshopError as exc:
        st.error(escape.markdown(exc.message(ctx.lang)))
        return
    _refresh_map()
    st.rerun()


# --- paper, import, agreement, export, history --------------------------------------------------


def _paper_mode(ctx: Context, session: ws.Session, writable: bool) -> None:
    st.subheader(ctx.t("workshop.paper.header"))
    st.caption(ctx.t("workshop.paper.help"))
    cols = st.columns(2)
    for col, size in zip(cols, ("A4", "A3"), strict=True):
        col.download_button(
            ctx.t(f"workshop.paper.download_{size.lower()}"),
            data=_map_pdf(ctx.engine, session.id, size, session.language),
            file_name=f"harta_workshop_{session.id}_{size}.pdf",
            mime="application/pdf",
            icon=":material/print:",
            key=f"ws_pdf_{size}",
            use_container_width=True,
        )
    grid = paper.session_grid(ctx.engine, session.id)
    st.caption(ctx.t("workshop.paper.grid_help", last=grid.last_ref, cell=int(grid.cell_m)))
    if not writable:
        return
    st.markdown(f"#### {ctx.t('workshop.paper.enter')}")
    with st.form("ws_paper", clear_on_submit=True):
        cols = st.columns([1, 3, 2])
        ref = cols[0].text_input(ctx.t("workshop.paper.grid_ref"), max_chars=4)
        hazard = cols[1].selectbox(
            ctx.t("workshop.col.hazard"),
            taxonomy.hazards(),
            format_func=lambda c: taxonomy.label("hazard", c, ctx.lang),
        )
        severity = cols[2].select_slider(
            ctx.t("workshop.col.severity"),
            taxonomy.severities(),
            value=3,
            format_func=lambda n: f"{n} · {taxonomy.label('severity', n, ctx.lang)}",
        )
        cols = st.columns(2)
        time_of_day = cols[0].segmented_control(
            ctx.t("workshop.picker.when"),
            taxonomy.times_of_day(),
            default="always",
            format_func=lambda c: f"{TIME_ICONS[c]} {taxonomy.label('time_of_day', c, ctx.lang)}",
        )
        season = cols[1].segmented_control(
            ctx.t("workshop.picker.season"),
            taxonomy.seasons(),
            default="all_year",
            format_func=lambda c: f"{SEASON_ICONS[c]} {taxonomy.label('season', c, ctx.lang)}",
        )
        note = st.text_input(ctx.t("workshop.picker.note"), max_chars=ws.MAX_NOTE_LENGTH)
        submitted = st.form_submit_button(ctx.t("workshop.paper.save"), type="primary")
    if submitted:
        try:
            attributes = ws.mark_attributes(hazard, severity, time_of_day, season, note)
            result = ws.save_paper_mark(ctx.engine, session.id, ref, attributes, role=ctx.role)
        except ws.WorkshopError as exc:
            st.error(escape.markdown(exc.message(ctx.lang)))
        else:
            st.success(ctx.t("workshop.saved", id=result.mark_id))
            for notice in result.notices:
                st.warning(escape.markdown(notice.message(ctx.lang)))


def _import_mode(ctx: Context, session: ws.Session, writable: bool) -> None:
    st.subheader(ctx.t("workshop.import.header"))
    st.caption(ctx.t("workshop.import.help"))
    if not writable:
        return
    upload = st.file_uploader(
        ctx.t("workshop.import.file"),
        type=["gpkg", "geojson", "json", "kml", "kmz", "csv", "zip", "gpx"],
        key="ws_upload",
    )
    if upload is None or upload_too_large(ctx, upload):
        return
    if not st.button(ctx.t("workshop.import.button"), type="primary"):
        return
    try:
        from geo.ingest import ImportFailed, ImportRejected
    except ImportError:
        st.error(ctx.t("workshop.import.unavailable"))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            report = ws.import_into_session(
                ctx.engine, session.id, path, role=ctx.role, lang=ctx.lang
            )
        except ImportRejected as exc:
            st.error(ctx.t("workshop.import.failed", reason=""))
            st.code(exc.report.render(ctx.lang), language=None)
            return
        except (ImportFailed, ws.WorkshopError) as exc:
            message = exc.message(ctx.lang) if isinstance(exc, ws.WorkshopError) else None
            st.error(
                ctx.t(
                    "workshop.import.failed",
                    reason=escape.markdown(message or exc.render(ctx.lang)),
                )
            )
            return
    st.success(
        ctx.t(
            "workshop.import.done",
            written=report.rows_written,
            skipped=report.rows_read - report.rows_written,
        )
    )
    st.code(report.render(ctx.lang), language=None)


def _agreement_mode(ctx: Context, session: ws.Session) -> None:
    st.subheader(ctx.t("workshop.agreement.header"))
    st.caption(
        ctx.t(
            "workshop.agreement.help",
            line=int(consensus.LINE_BUFFER_M),
            point=int(consensus.POINT_BUFFER_M),
        )
    )
    scope = st.segmented_control(
        ctx.t("workshop.agreement.scope"),
        ["session", "all"],
        default="all",
        format_func=lambda s: ctx.t(
            "workshop.agreement.this_session"
            if s == "session"
            else "workshop.agreement.all_sessions"
        ),
        key="ws_scope",
    )
    one = scope == "session"
    zones = consensus.consensus_zones(
        ctx.engine,
        ctx.community,
        workshop_ids=[session.id] if one else None,
        include_demo=one and session.is_demo or not one,
    )
    if zones.empty:
        st.info(ctx.t("workshop.agreement.none"))
        return
    m = _base(ctx, height=560)
    maps.add_consensus_zones(
        m, consensus.for_map(zones, by="relative_marks" if one else "agreement"), ctx.lang
    )
    maps.add_legend(m, lang=ctx.lang)
    st_folium(m, height=560, use_container_width=True, returned_objects=[], key="ws_consensus")
    st.dataframe(
        consensus.consensus_table(zones, ctx.lang), hide_index=True, use_container_width=True
    )


def _export_mode(ctx: Context, session: ws.Session) -> None:
    st.subheader(ctx.t("workshop.export.header"))
    cols = st.columns(4)
    mimes = {
        "geojson": "application/geo+json",
        "gpkg": "application/geopackage+sqlite3",
        "kml": "application/vnd.google-earth.kml+xml",
    }
    for col, (fmt, (suffix, _)) in zip(cols, ws.EXPORT_FORMATS.items(), strict=False):
        col.download_button(
            ctx.t(f"workshop.export.{fmt}"),
            data=ws.export_bytes(ctx.engine, session.id, fmt),
            file_name=f"harta_workshop_{session.id}{suffix}",
            mime=mimes[fmt],
            key=f"ws_export_{fmt}",
            use_container_width=True,
            on_click=record_view,
            args=(ctx, "export"),
            kwargs={"page": "workshop", "row_id": session.id, "format": fmt},
        )
    cols[3].download_button(
        ctx.t("workshop.export.summary_pdf"),
        data=workshop_pdf.session_summary_pdf(ctx.engine, session.id),
        file_name=f"harta_workshop_{session.id}_summary.pdf",
        mime="application/pdf",
        key="ws_export_pdf",
        use_container_width=True,
        on_click=record_view,
        args=(ctx, "export"),
        kwargs={"page": "workshop", "row_id": session.id, "format": "pdf"},
    )


def _history_mode(ctx: Context, session: ws.Session) -> None:
    st.subheader(ctx.t("workshop.history.header"))
    if ctx.role not in WRITE_ROLES:  # the audit trail is for those who run sessions
        st.caption(ctx.t("account.workshop_read_only"))
        return
    history = ws.session_history(ctx.engine, session.id)
    if history.empty:
        st.caption(ctx.t("workshop.history.none"))
        return
    table = pd.DataFrame(
        {
            ctx.t("workshop.history.col.when"): history["changed_at"],
            ctx.t("workshop.history.col.table"): [
                ctx.t(f"workshop.history.table.{n}") for n in history["table_name"]
            ],
            ctx.t("workshop.history.col.row"): history["row_id"],
            ctx.t("workshop.history.col.what"): [
                ctx.t(f"workshop.op.{op}") for op in history["operation"]
            ],
            ctx.t("workshop.history.col.hazard"): [
                taxonomy.label("hazard", h, ctx.lang) if isinstance(h, str) else ""
                for h in history["hazard_code"]
            ],
            ctx.t("workshop.history.col.role"): [
                ctx.t(f"app.roles.{r}") if isinstance(r, str) else "" for r in history["app_role"]
            ],
        }
    )
    st.dataframe(table, hide_index=True, use_container_width=True)


# --- page -----------------------------------------------------------------------------------

st.set_page_config(layout="wide")
ctx = context()
st.title(ctx.t("workshop.title"))
st.caption(ctx.t("workshop.intro"))
if ctx.role not in ws.FACILITATOR_ROLES:
    st.info(ctx.t("workshop.role_needed"))
    st.stop()
_show_flash()
session = _session_picker(ctx)
if session is None:
    st.stop()
writable = _session_status(ctx, session)
mode = (
    st.segmented_control(
        ctx.t("workshop.session.header"),
        MODES,
        default="draw",
        format_func=lambda m: f"{MODE_ICONS[m]} {ctx.t(f'workshop.tab.{m}')}",
        key="ws_mode",
        label_visibility="collapsed",
    )
    or "draw"
)
if mode == "draw":
    _draw_mode(ctx, session, writable)
elif mode == "paper":
    _paper_mode(ctx, session, writable)
elif mode == "import":
    _import_mode(ctx, session, writable)
elif mode == "agreement":
    _agreement_mode(ctx, session)
elif mode == "export":
    _export_mode(ctx, session)
else:
    _history_mode(ctx, session)
if writable and st.sidebar.button(ctx.t("workshop.session.close_button"), key="ws_close"):
    ws.set_session_status(ctx.engine, session.id, "closed", role=ctx.role)
    st.rerun()
