"""Draw mode: marks drawn on the map, the icon-first picker, undo, edit and delete."""

from __future__ import annotations

import folium
import geopandas as gpd
import streamlit as st

from geo import escape, maps, taxonomy
from geo import workshops as ws
from harta_ui import Context
from map_frame import st_folium
from workshop_ui.common import SEASON_ICONS, TIME_ICONS, base, flash, refresh_map


def zones_for_map(marks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A session's marks shaped for :func:`geo.maps.add_risk_zones`."""
    return marks.rename(columns={"hazard_code": "hazard"}).set_geometry("geom")


SHAPE_ERRORS = frozenset(
    f"workshop.error.{k}"
    for k in ("outside", "unrepairable", "no_shape", "bad_kind", "bad_coordinates")
)
PENDING_STYLE = {"color": "#d500f9", "weight": 5, "dashArray": "8 6", "fillOpacity": 0.15}
PICKER_KEYS = ("ws_hazard", "ws_severity", "ws_time", "ws_season", "ws_note")


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
                width="stretch",
            )
    st.markdown(f"#### {ctx.t('workshop.picker.how_bad')}")
    cols = st.columns(5)
    for col, n in zip(cols, taxonomy.severities(), strict=True):
        col.button(
            str(n),
            key=f"sev_{n}",
            on_click=_choose,
            args=("ws_severity", n),
            width="stretch",
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
        result = ws.save_mark(ctx.engine, session.id, drawing, attributes)
    except ws.WorkshopError as exc:
        if exc.key not in SHAPE_ERRORS:
            st.error(escape.markdown(exc.message(ctx.lang)))
            return
        # The drawing itself is refused: take it off the map and say why.
        st.session_state.setdefault("ws_handled", set()).add(drawing_key)
        st.session_state.pop("ws_pending", None)
        flash("error", exc.message(ctx.lang))
        refresh_map()
        st.rerun()
    st.session_state.setdefault("ws_handled", set()).add(drawing_key)
    st.session_state.pop("ws_pending", None)
    for key in PICKER_KEYS:
        st.session_state.pop(key, None)
    for notice in result.notices:
        flash("warning", notice.message(ctx.lang))
    flash("success", ctx.t("workshop.saved", id=result.mark_id))
    refresh_map()
    st.rerun()


def _undo(ctx: Context, session: ws.Session) -> None:
    try:
        undone = ws.undo_last_mark(ctx.engine, session.id)
    except ws.WorkshopError as exc:
        flash("error", exc.message(ctx.lang))
        return
    if undone is None:
        flash("info", ctx.t("workshop.nothing_to_undo"))
    else:
        flash("success", ctx.t("workshop.undone", id=undone))
    refresh_map()


def _discard(drawing: dict) -> None:
    st.session_state.setdefault("ws_handled", set()).add(ws.drawing_key(drawing))
    st.session_state.pop("ws_pending", None)
    refresh_map()


def _picker_dialog(ctx: Context, session: ws.Session, pending: dict) -> None:
    """The picker as a modal over the map: what, how bad, when, note; Save or discard."""
    _picker(ctx)
    cols = st.columns([2, 1])
    if cols[0].button(ctx.t("workshop.save"), type="primary", key="ws_save", width="stretch"):
        _save(ctx, session, pending, ws.drawing_key(pending))
    if cols[1].button(
        ctx.t("workshop.discard"),
        icon=":material/close:",
        key="ws_discard",
        width="stretch",
    ):
        _discard(pending)
        st.rerun()


def _take_new_drawing(ctx: Context, session: ws.Session, drawing: dict | None) -> bool:
    """Check a drawing not seen before and keep it as the pending mark; True if it is new.

    The shape is checked at once (:func:`geo.workshops.check_drawing`: readable, repairable,
    overlapping the area), BEFORE the picker opens: a refused drawing is taken off the map with
    the reason, so nobody describes a mark that cannot be saved.
    """
    key = ws.drawing_key(drawing)
    if key is None or key in st.session_state.get("ws_handled", set()):
        return False
    if key == ws.drawing_key(st.session_state.get("ws_pending")):
        return False
    try:
        ws.check_drawing(ctx.engine, session.id, drawing)
    except ws.WorkshopError as exc:
        st.session_state.setdefault("ws_handled", set()).add(key)
        st.session_state.pop("ws_pending", None)
        flash("error", exc.message(ctx.lang))
        refresh_map()
        return True
    st.session_state["ws_pending"] = drawing
    return True


#: Height of the drawing map: most of a tablet's screen, a laptop's too.
MAP_HEIGHT = 680


def touch_css() -> str:
    """The draw mode's CSS (the page puts it in its one ``<style>``: every ``st.markdown`` adds
    a row of space above the map)."""
    # Undo is whole on any screen: its label wraps instead of being cut off ("Anulați ulti...").
    return (
        ".st-key-ws_undo button{min-height:48px}"
        ".st-key-ws_undo button p{white-space:normal!important;overflow:visible!important;"
        "text-overflow:clip!important;line-height:1.2}"
    )


def undo_button(ctx: Context, session: ws.Session) -> None:
    """Undo the session's last mark: whole and a finger high on any screen."""
    st.button(
        ctx.t("workshop.undo"),
        icon=":material/undo:",
        key="ws_undo",
        on_click=_undo,
        args=(ctx, session),
        width="stretch",
    )


def draw_mode(ctx: Context, session: ws.Session, writable: bool, actions=None) -> None:  # noqa: ANN001
    """The drawing map, the page's width, right under the mode row (Undo sits in ``actions``,
    a column of that row, so nothing pushes the map down)."""
    marks = ws.session_marks(ctx.engine, session.id)
    version = st.session_state.get("ws_map_version", 0)
    map_key = f"ws_map_{session.id}_{version}"
    if _take_new_drawing(
        ctx, session, (st.session_state.get(map_key) or {}).get("last_active_drawing")
    ):
        st.rerun()
    pending = st.session_state.get("ws_pending")
    if writable:
        with actions if actions is not None else st.container():
            undo_button(ctx, session)
    m = base(ctx, height=MAP_HEIGHT)
    if len(marks):
        maps.add_risk_zones(m, zones_for_map(marks), ctx.lang, demo=session.is_demo)
    if writable:
        maps.add_draw(m, ctx.lang, polygon=True, marker=True, polyline=True)
    maps.add_legend(m, lang=ctx.lang, collapsed=True)
    if pending:
        # Keep the new drawing on screen while its picker is open (a rerun redraws the map).
        folium.GeoJson(
            pending.get("geometry", pending),
            style_function=lambda _: PENDING_STYLE,
            marker=folium.CircleMarker(radius=14, **PENDING_STYLE),
        ).add_to(m)
    out = st_folium(
        m,
        height=MAP_HEIGHT,
        width=None,
        returned_objects=["last_active_drawing"],
        key=map_key,
    )
    if _take_new_drawing(ctx, session, (out or {}).get("last_active_drawing")):
        st.rerun()
    if writable:  # a read-only viewer (planner, closed session) has no drawing tools
        st.caption(ctx.t("workshop.draw.help"))
    if writable and pending:
        st.success(ctx.t("workshop.draw.new_mark"))
        st.dialog(ctx.t("workshop.draw.new_mark"), width="large")(_picker_dialog)(
            ctx, session, pending
        )
    elif writable:
        st.info(ctx.t("workshop.draw.waiting"))
    _marks_section(ctx, session, marks, writable)


def _marks_section(ctx: Context, session: ws.Session, marks: gpd.GeoDataFrame, writable: bool):
    st.subheader(ctx.t("workshop.marks.header"))
    if marks.empty:
        st.caption(ctx.t("workshop.marks.none"))
        return
    st.dataframe(ws.marks_table(marks, ctx.lang), hide_index=True, width="stretch")
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
            ws.update_mark(ctx.engine, int(mark_id), attributes)
            flash("success", ctx.t("workshop.edit.saved", id=int(mark_id)))
        elif delete:
            ws.delete_mark(ctx.engine, int(mark_id))
            flash("success", ctx.t("workshop.deleted", id=int(mark_id)))
        else:
            return
    except ws.WorkshopError as exc:
        st.error(escape.markdown(exc.message(ctx.lang)))
        return
    refresh_map()
    st.rerun()
