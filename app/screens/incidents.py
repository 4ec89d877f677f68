"""Recording incidents: one at a time on a map or by a named place, or a whole file at once;
withdrawing one whose person withdrew consent.

Only police, mediators and administrators may record.  Police and mediators may withdraw the
incidents the database lets their account see (:func:`geo.lifecycle.withdraw_contribution`: the
row is deleted, tombstoned so a re-import never brings it back, and the withdrawal recorded).
The page is widgets only; validation, duplicates, writing and withdrawal live in
:mod:`geo.incidents`, :mod:`geo.ingest` and :mod:`geo.lifecycle`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import geopandas as gpd
import streamlit as st
from import_wizard import import_wizard

from geo import escape, roles, taxonomy, views
from geo.communities import Community
from geo.i18n import community_name, date, number
from geo.incidents import (
    NARRATIVE_MAX_CHARS,
    NARRATIVE_ROLES,
    PRECISIONS,
    SENSITIVITIES,
    IncidentError,
    can_record,
    derive_sensitivity,
    named_places,
    near_duplicates,
    place_label,
    record_incident,
)
from geo.lifecycle import withdraw_contribution
from geo.maps.analysis import picker_map
from geo.privacy import EXACT_POINT_ROLES
from geo.settings import get_settings
from harta_ui import ROLES, Context, context, record_view_once
from map_frame import st_folium

UPLOAD_TYPES = ["geojson", "json", "gpkg", "zip", "kml", "kmz", "gpx", "csv"]
#: Precision suggested for each kind of named place.
PLACE_PRECISION = {"street": "street", "settlement": "area", "place": "area", "facility": "exact"}
#: Roles offered the withdrawal tab (the database decides which rows each account may withdraw).
WITHDRAW_ROLES = roles.holders("incidents.withdraw")
#: Session key of the id just withdrawn, so the next run says so above the refreshed list.
WITHDRAWN_KEY = "incident_withdrawn"
#: Session key of the id just recorded: the next run says so above an empty form.
SAVED_KEY = "incident_saved"
#: Session key of the form's generation.  Every widget key of the form ends with it; recording
#: an incident moves it on, so every field (and the map's last click) starts empty again and
#: a second click cannot record the same incident twice.
FORM_KEY = "incident_form"


@st.cache_data(ttl=300, show_spinner=False)
def _streets(_engine, _community: Community, community_id: int) -> gpd.GeoDataFrame:
    # Cached by id: the Community object itself is not hashed.
    return views.streets(_engine, _community)


@st.cache_data(ttl=300, show_spinner=False)
def _places(_engine, _community: Community, community_id: int) -> gpd.GeoDataFrame:
    return named_places(_engine, _community)


def _k(name: str) -> str:
    """The widget key ``name`` of the form's current generation."""
    return f"{name}_{st.session_state.get(FORM_KEY, 0)}"


def _clear_form() -> None:
    """Start a new, empty form (see :data:`FORM_KEY`)."""
    st.session_state[FORM_KEY] = st.session_state.get(FORM_KEY, 0) + 1
    st.session_state.pop("incident_pick", None)


def _timezone(ctx: Context) -> str:
    return ctx.community.timezone


def _icon(type_code: str) -> str:
    uri = taxonomy.icon_data_uri("incident_type", type_code)
    return f'<img src="{uri}" width="40" height="40" alt="">'


def _pick_on_map(ctx: Context) -> tuple[float, float] | None:
    picked = st.session_state.get("incident_pick")
    m = picker_map(
        ctx.community,
        _streets(ctx.engine, ctx.community, ctx.community.id),
        ctx.lang,
        picked=picked,
        online=ctx.online,
    )
    out = st_folium(m, height=460, width=None, returned_objects=["last_clicked"], key=_k("pick"))
    clicked = (out or {}).get("last_clicked")
    if clicked:
        point = (float(clicked["lng"]), float(clicked["lat"]))
        if point != picked:
            st.session_state["incident_pick"] = point
            st.rerun()
    if picked is None:
        st.caption(ctx.t("incidents.form.click_map"))
    else:
        lon, lat = (number(v, ctx.lang, 5) for v in picked)
        st.caption(ctx.t("incidents.form.picked", lon=lon, lat=lat))
    return picked


@st.cache_data(ttl=300, show_spinner=False)
def _settlement_slugs(_engine, community_id: int) -> dict[str, str]:
    frame = views.communities(_engine)
    return dict(zip(frame["name"], frame["slug"], strict=True))


def _translated(ctx: Context, row):  # noqa: ANN001, ANN202
    """A named place with a settlement's name in the page's language ("Rampa (groapa de
    gunoi)" on a Romanian page); other names are data and stay as they are."""
    if row["kind"] != "settlement":
        return row
    slug = _settlement_slugs(ctx.engine, ctx.community.id).get(row["name"])
    if slug is None:
        return row
    row = row.copy()
    row["name"] = community_name(slug, row["name"], ctx.lang)
    return row


def _pick_named(ctx: Context) -> tuple[tuple[float, float] | None, str]:
    places = _places(ctx.engine, ctx.community, ctx.community.id)
    if places.empty:
        st.info(ctx.t("incidents.form.no_places"))
        return None, "area"
    choice = st.selectbox(
        ctx.t("incidents.form.place"),
        places.index,
        format_func=lambda i: place_label(_translated(ctx, places.loc[i]), ctx.lang),
        key=_k("incident_place"),
    )
    row = places.loc[choice]
    return (float(row["lon"]), float(row["lat"])), PLACE_PRECISION.get(row["kind"], "area")


def _when(ctx: Context) -> dt.datetime:
    tz = ZoneInfo(_timezone(ctx))
    now = dt.datetime.now(tz)
    col_date, col_time = st.columns(2)
    day = col_date.date_input(
        ctx.t("incidents.form.date"),
        value=now.date(),
        max_value=now.date(),
        key=_k("incident_date"),
    )
    moment = col_time.time_input(
        ctx.t("incidents.form.time"),
        value=now.time().replace(second=0, microsecond=0),
        step=dt.timedelta(minutes=5),
        key=_k("incident_time"),
    )
    return dt.datetime.combine(day, moment)  # naive: the community's local time


def _what(ctx: Context) -> tuple[str, int, str]:
    labels = taxonomy.labels("incident_type", ctx.lang)
    col_icon, col_type = st.columns([1, 9])
    type_code = col_type.selectbox(
        ctx.t("incidents.form.type"), list(labels), format_func=labels.get, key=_k("incident_type")
    )
    col_icon.markdown(_icon(type_code), unsafe_allow_html=True)
    severity = st.select_slider(
        ctx.t("incidents.form.severity"),
        options=taxonomy.severities(),
        value=3,
        format_func=lambda n: f"{n} · {taxonomy.label('severity', n, ctx.lang)}",
        key=_k("incident_severity"),
    )
    floor = derive_sensitivity(type_code)
    options = [s for s in SENSITIVITIES if SENSITIVITIES.index(s) >= SENSITIVITIES.index(floor)]
    sensitivity = st.selectbox(
        ctx.t("incidents.form.sensitivity"),
        options,
        format_func=lambda s: ctx.t(f"incidents.sensitivity.{s}"),
        key=_k(f"incident_sensitivity_{floor}"),
    )
    if taxonomy.is_sensitive(type_code):
        st.caption(ctx.t("incidents.form.sensitive_type"))
    return type_code, int(severity), sensitivity


def _record_form(ctx: Context) -> None:
    saved = st.session_state.pop(SAVED_KEY, None)
    if saved is not None:
        st.success(ctx.t("incidents.form.saved", id=saved))
    method = st.radio(
        ctx.t("incidents.form.location"),
        ["map", "named"],
        format_func=lambda m: ctx.t(f"incidents.form.location.{m}"),
        horizontal=True,
        key=_k("incident_method"),
    )
    if method == "map":
        point, precision = _pick_on_map(ctx), "exact"
    else:
        point, precision = _pick_named(ctx)
    precision = st.selectbox(
        ctx.t("incidents.form.precision"),
        PRECISIONS,
        index=PRECISIONS.index(precision),
        format_func=lambda p: ctx.t(f"incidents.precision.{p}"),
        key=_k(f"incident_precision_{method}_{precision}"),
    )
    occurred_at = _when(ctx)
    type_code, severity, sensitivity = _what(ctx)
    reporting_role = st.selectbox(
        ctx.t("incidents.form.reported_by"),
        ROLES,
        index=ROLES.index(ctx.role),
        format_func=lambda r: ctx.t(f"app.roles.{r}"),
        key=_k("incident_reporter"),
    )
    narrative = None
    if ctx.role in NARRATIVE_ROLES:
        narrative = st.text_area(
            ctx.t("incidents.form.narrative"),
            max_chars=NARRATIVE_MAX_CHARS,
            help=ctx.t("incidents.form.narrative_help"),
            key=_k("incident_narrative"),
        )
    if point is None:
        st.button(ctx.t("incidents.form.save"), disabled=True, key=_k("incident_save_off"))
        return
    # Only roles that may read incidents can be shown possible duplicates.
    duplicates = []
    if ctx.role in EXACT_POINT_ROLES:
        duplicates = near_duplicates(
            ctx.engine,
            community=ctx.community,
            type_code=type_code,
            occurred_at=occurred_at,
            lon=point[0],
            lat=point[1],
        )
    confirmed = True
    if duplicates:
        nearest = duplicates[0]
        st.warning(
            ctx.t(
                "incidents.form.duplicate",
                n=len(duplicates),
                metres=round(nearest.metres),
                minutes=round(nearest.minutes),
            )
        )
        confirmed = st.checkbox(ctx.t("incidents.form.record_anyway"), key=_k("incident_anyway"))
    if st.button(
        ctx.t("incidents.form.save"),
        type="primary",
        disabled=not confirmed,
        key=_k("incident_save"),
    ):
        try:
            saved = record_incident(
                ctx.engine,
                community=ctx.community,
                occurred_at=occurred_at,
                type_code=type_code,
                severity=severity,
                lon=point[0],
                lat=point[1],
                location_precision=precision,
                sensitivity=sensitivity,
                reporting_role=reporting_role,
                narrative=narrative,
                role=ctx.role,
            )
        except IncidentError as error:
            st.error(escape.markdown(error.message(ctx.lang)))
        else:
            st.session_state[SAVED_KEY] = saved.id
            _clear_form()
            st.rerun()


def _bulk_import(ctx: Context) -> None:
    st.caption(ctx.t("incidents.import.help", limit=get_settings().max_upload_mb))
    import_wizard(ctx, "incidents", key="incident_import")  # app/import_wizard.py


def _withdrawable(ctx: Context):  # noqa: ANN202
    """The incidents of this community the account may see (row security decides), newest
    first, without their locations."""
    rows = views.incident_points(ctx.engine, ctx.community).drop(columns="geom")
    return rows.sort_values(["occurred_at", "id"], ascending=False).reset_index(drop=True)


def _withdraw_label(ctx: Context, row, tz: ZoneInfo) -> str:  # noqa: ANN001
    when = date(row.occurred_at.astimezone(tz), ctx.lang, with_time=True)
    kind = taxonomy.label("incident_type", row.type_code, ctx.lang)
    sensitivity = ctx.t(f"incidents.sensitivity.{row.sensitivity}")
    return f"#{row.id} · {when} · {kind} · {sensitivity}"


def _withdraw(ctx: Context) -> None:
    done = st.session_state.pop(WITHDRAWN_KEY, None)
    if done is not None:
        st.success(ctx.t("incidents.withdraw.done", id=done))
    st.caption(ctx.t("incidents.withdraw.help"))
    rows = _withdrawable(ctx)
    record_view_once(ctx, "view_exact", page="incidents_withdraw", rows=len(rows))
    if rows.empty:
        st.info(ctx.t("incidents.withdraw.none"))
        return
    tz = ZoneInfo(_timezone(ctx))
    labels = {int(r.id): _withdraw_label(ctx, r, tz) for r in rows.itertuples(index=False)}
    chosen = st.selectbox(
        ctx.t("incidents.withdraw.pick"),
        list(labels),
        index=None,
        format_func=labels.__getitem__,
        placeholder=ctx.t("incidents.withdraw.placeholder"),
        key="withdraw_pick",
    )
    confirmed = st.checkbox(
        ctx.t("incidents.withdraw.confirm"),
        key=f"withdraw_confirm_{chosen}",
        disabled=chosen is None,
    )
    clicked = st.button(
        ctx.t("incidents.withdraw.button"),
        type="primary",
        disabled=chosen is None or not confirmed,
        key="withdraw_run",
    )
    if clicked and chosen is not None and confirmed:
        _run_withdrawal(ctx, chosen)


def _run_withdrawal(ctx: Context, incident_id: int) -> None:
    try:
        removed = withdraw_contribution(ctx.engine, "incidents", incident_id)
    except PermissionError:
        st.error(ctx.t("incidents.withdraw.not_allowed"))
        return
    if not removed:
        st.error(ctx.t("incidents.withdraw.gone", id=incident_id))
        return
    st.session_state[WITHDRAWN_KEY] = incident_id
    st.session_state.pop("withdraw_pick", None)
    st.rerun()


ctx = context()
st.title(ctx.t("incidents.form.title"))
if not can_record(ctx.role):
    st.info(ctx.t("incidents.form.not_allowed", role=ctx.t(f"app.roles.{ctx.role}")))
    st.stop()
labels = [ctx.t("incidents.form.tab_one"), ctx.t("incidents.form.tab_file")]
if ctx.role in WITHDRAW_ROLES:
    labels.append(ctx.t("incidents.withdraw.tab"))
tabs = st.tabs(labels)
with tabs[0]:
    _record_form(ctx)
with tabs[1]:
    _bulk_import(ctx)
if ctx.role in WITHDRAW_ROLES:
    with tabs[2]:
        _withdraw(ctx)
