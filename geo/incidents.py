"""Recording incidents one at a time (the app's form), and the named places the form offers.

Bulk files go through :func:`geo.ingest.import_file` (``layer="incidents"``); this module is the
single-entry path used by the incident form:

* :func:`record_incident` validates one incident and writes it in one transaction, tagged with
  the application role (:func:`geo.db.engine.set_app_role`) so the audit trail says who wrote it;
* :func:`near_duplicates` finds incidents of the same type within 25 m and 30 minutes (the
  database's one rule, ``harta_near_duplicates``), so the form can warn before a second person
  records the same event;
* :func:`named_places` lists streets, settlements, facilities and places by name, for people who
  would rather pick "Strada Cantonului" than click a map.

Rules kept here (and mirrored by the database's row-level security, see ``geo/db/security.py``):

* only :data:`RECORD_ROLES` (police, mediator, admin) may record incidents;
* there are no name fields; the free-text ``narrative`` is readable only by police and mediators,
  so only they may write one (an administrator could never read back what they typed);
* the sensitivity is at least ``"sensitive"`` for the taxonomy's sensitive types (domestic and
  sexual violence, child protection), whatever the caller asks for;
* times without a time zone are wall-clock time of the community (``Community.timezone``);
* "inside the community" is the database's one membership rule (migration 0007).

This module never imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from geo import roles, taxonomy
from geo.communities.model import Community
from geo.db.engine import set_app_role
from geo.db.models import ROLES
from geo.errors import HartaError
from geo.i18n import DEFAULT_LANGUAGE, t

#: Roles that may record incidents.
RECORD_ROLES = roles.holders("incidents.record")
#: Roles that may write (and read) the free-text narrative.
NARRATIVE_ROLES = roles.holders("incidents.read_narrative")
#: Roles whose database role may read ``incidents`` (see migration 0002).
READ_ROLES = roles.holders("incidents.read_exact")
PRECISIONS = ("exact", "street", "area")
SENSITIVITIES = ("normal", "sensitive", "restricted")
#: Longest narrative accepted, in characters.
NARRATIVE_MAX_CHARS = 2000
#: Accepted clock skew for "in the future".
FUTURE_SLACK = dt.timedelta(hours=1)
#: Kinds of :func:`named_places` rows, in the order the picker lists them.
PLACE_KINDS = ("street", "settlement", "facility", "place")


class IncidentError(HartaError, ValueError):
    """An incident that cannot be recorded; :meth:`message` gives the reason in a language."""


@dataclass(frozen=True)
class NearDuplicate:
    """A stored incident close in space and time to a new one."""

    id: int
    metres: float
    minutes: float


@dataclass
class RecordedIncident:
    """What :func:`record_incident` wrote.

    Attributes
    ----------
    id : int
        Database id of the new incident.
    occurred_at : datetime
        The time stored (time-zone aware).
    sensitivity : str
        The sensitivity stored (possibly raised from the one asked for).
    duplicates : list of NearDuplicate
        Incidents of the same type within 25 m and 30 minutes, found before writing.
    """

    id: int
    occurred_at: dt.datetime
    sensitivity: str
    duplicates: list[NearDuplicate] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------
def can_record(role: str) -> bool:
    """Whether ``role`` may record incidents.

    Parameters
    ----------
    role : str
        Role name.

    Returns
    -------
    bool
        True for the roles in ``RECORD_ROLES``.
    """
    return role in RECORD_ROLES


def derive_sensitivity(type_code: str, requested: str | None = None) -> str:
    """Sensitivity to store: the requested one, raised to ``"sensitive"`` for sensitive types.

    Parameters
    ----------
    type_code : str
        Incident type code from the taxonomy.
    requested : str or None
        Sensitivity asked for; None means ``"normal"``.

    Returns
    -------
    str
        One of ``SENSITIVITIES``; never lower than requested.

    Raises
    ------
    IncidentError
        For an unknown sensitivity.
    """
    requested = requested or "normal"
    if requested not in SENSITIVITIES:
        raise IncidentError("incidents.error.sensitivity", value=requested)
    if taxonomy.is_sensitive(type_code) and requested == "normal":
        return "sensitive"
    return requested


def as_aware(moment: dt.datetime, timezone: str) -> dt.datetime:
    """``moment`` with a time zone; naive times are wall-clock time in ``timezone``.

    Parameters
    ----------
    moment : datetime.datetime
        Aware or naive time.
    timezone : str
        IANA time zone for a naive ``moment``.

    Returns
    -------
    datetime.datetime
        ``moment`` unchanged when aware, else with ``timezone`` attached (not converted).
    """
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        return moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def _check_fields(
    *,
    type_code: str,
    severity: int,
    lon: float,
    lat: float,
    location_precision: str,
    reporting_role: str,
    narrative: str | None,
    role: str,
) -> None:
    if role not in ROLES:
        raise IncidentError("incidents.error.unknown_role", role=role)
    if not can_record(role):
        raise IncidentError("incidents.error.not_allowed", role=role)
    if type_code not in taxonomy.incident_types():
        raise IncidentError("incidents.error.unknown_type", type=type_code)
    if isinstance(severity, bool) or int(severity) != severity or not 1 <= int(severity) <= 5:
        raise IncidentError("incidents.error.severity", value=severity)
    if location_precision not in PRECISIONS:
        raise IncidentError("incidents.error.precision", value=location_precision)
    if reporting_role not in ROLES:
        raise IncidentError("incidents.error.unknown_role", role=reporting_role)
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise IncidentError("incidents.error.coordinates")
    if narrative:
        if role not in NARRATIVE_ROLES:
            raise IncidentError("incidents.error.narrative_role")
        if len(narrative) > NARRATIVE_MAX_CHARS:
            raise IncidentError("incidents.error.narrative_length", limit=NARRATIVE_MAX_CHARS)


def _distance_outside_m(conn: Connection, community: Community, lon: float, lat: float) -> float:
    """Metres outside the community's area (0 inside), and whether that is within the one area
    tolerance -- both decided by the database (migration 0007), as for every other row."""
    row = conn.execute(
        text(
            "SELECT harta_distance_outside_m(:c, ST_MakePoint(:lon, :lat)) AS metres,"
            " harta_within_area(:c, ST_MakePoint(:lon, :lat)) AS inside"
        ),
        {"c": community.id, "lon": lon, "lat": lat},
    ).one()
    return 0.0 if row.inside else float(row.metres)


def _row_hash(community_id: int, type_code: str, when: dt.datetime, lon: float, lat: float) -> str:
    utc = when.astimezone(dt.UTC).isoformat(timespec="minutes")
    payload = f"form|{community_id}|{type_code}|{utc}|{lon:.7f}|{lat:.7f}"
    return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------------------------
def _near_duplicates(
    conn: Connection,
    community: Community,
    type_code: str,
    when: dt.datetime,
    lon: float,
    lat: float,
) -> list[NearDuplicate]:
    """The database's one near-duplicate rule (``harta_near_duplicates``, migration 0007):
    stored member incidents of the same type within 25 m and 30 minutes."""
    rows = conn.execute(
        text(
            "SELECT other_id, metres, minutes FROM harta_near_duplicates(:c, ARRAY[:type],"
            " ARRAY[CAST(:when AS timestamptz)], ARRAY[CAST(:lon AS float8)],"
            " ARRAY[CAST(:lat AS float8)]) WHERE other_id IS NOT NULL"
        ),
        {"c": community.id, "type": type_code, "when": when, "lon": lon, "lat": lat},
    ).all()
    return [
        NearDuplicate(int(r.other_id), round(float(r.metres), 1), float(r.minutes)) for r in rows
    ]


def near_duplicates(
    engine: Engine,
    *,
    community: Community,
    type_code: str,
    occurred_at: dt.datetime,
    lon: float,
    lat: float,
) -> list[NearDuplicate]:
    """Stored incidents of the same type within 25 m and 30 minutes of a new one.

    The rule is the database's (``harta_near_duplicates``, migration 0007), shared with the
    file import; the incidents compared are the community's members the engine's role may read.

    Parameters
    ----------
    engine : Engine
        Database.
    community : Community
    type_code : str
        Incident type of the new incident.
    occurred_at : datetime
        When it happened; naive times are the community's local time.
    lon, lat : float
        Where, EPSG:4326.

    Returns
    -------
    list of NearDuplicate
        Closest first.  Only ids, distances and time gaps: nothing to display to a role that
        may not see incidents.
    """
    when = as_aware(occurred_at, community.timezone)
    with engine.connect() as conn:
        return _near_duplicates(conn, community, type_code, when, float(lon), float(lat))


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------
def record_incident(
    engine: Engine,
    *,
    community: Community,
    occurred_at: dt.datetime,
    type_code: str,
    severity: int,
    lon: float,
    lat: float,
    location_precision: str = "exact",
    sensitivity: str | None = None,
    reporting_role: str,
    narrative: str | None = None,
    role: str,
    source: str = "form",
    now: dt.datetime | None = None,
) -> RecordedIncident:
    """Validate one incident and write it in one transaction.

    Parameters
    ----------
    engine : Engine
        Database.
    community : Community
        The point must lie inside its area (the one area tolerance, 25 m, decided by the
        database).
    occurred_at : datetime
        When it happened.  Naive: wall-clock time of the community's time zone.  At most an hour
        in the future.
    type_code : str
        Incident type from the taxonomy (``fire``, ``assault`` …).
    severity : int
        1 (low) to 5 (extreme).
    lon, lat : float
        Location in EPSG:4326 (a map click, or a named street or landmark).
    location_precision : {"exact", "street", "area"}
        How precise the location is: a clicked point, a street, or only the area.
    sensitivity : {"normal", "sensitive", "restricted"}, optional
        Raised to at least ``"sensitive"`` for sensitive types (:func:`derive_sensitivity`).
    reporting_role : str
        Who reported it (police, mediator, community …).
    narrative : str, optional
        Free text, readable only by police and mediators; no names.
    role : str
        Role of the person recording (police, mediator or admin); written to the audit trail.
    source : str
        Provenance, ``"form"`` by default.
    now : datetime, optional
        The current time (tests).

    Returns
    -------
    RecordedIncident
        The new id, and near duplicates found before writing (the caller shows a warning).

    Raises
    ------
    IncidentError
        Role not allowed, unknown community or type, severity out of range, point outside the
        area, time in the future, narrative not allowed or too long, or the very same incident
        already recorded (same type, minute and point).
    """
    narrative = (narrative or "").strip() or None
    lon, lat = float(lon), float(lat)
    _check_fields(
        type_code=type_code,
        severity=severity,
        lon=lon,
        lat=lat,
        location_precision=location_precision,
        reporting_role=reporting_role,
        narrative=narrative,
        role=role,
    )
    stored_sensitivity = derive_sensitivity(type_code, sensitivity)
    with engine.begin() as conn:
        set_app_role(conn, role)
        when = as_aware(occurred_at, community.timezone)
        if when > (now or dt.datetime.now(dt.UTC)) + FUTURE_SLACK:
            raise IncidentError("incidents.error.future")
        outside = _distance_outside_m(conn, community, lon, lat)
        if outside > 0:
            raise IncidentError("incidents.error.outside", metres=round(outside))
        # Only roles that may read incidents can look for duplicates (admin records blind).
        duplicates = (
            _near_duplicates(conn, community, type_code, when, lon, lat)
            if role in READ_ROLES
            else []
        )
        # The id is drawn first, and neither RETURNING nor ON CONFLICT is used (both need to read
        # the table): a mediator may record a sensitive incident that row-level security then
        # forbids them to read back, and admin may not read incidents at all.  A second
        # recording of the same row is caught by the unique constraint, in a savepoint.
        new_id = conn.execute(text("SELECT nextval('incidents_id_seq')")).scalar_one()
        try:
            with conn.begin_nested():
                conn.execute(
                    text(
                        "INSERT INTO incidents (id, community_id, occurred_at, type_code, severity,"
                        " location_precision, sensitivity, reporting_role, status, narrative, geom,"
                        " source, row_hash, created_by_role, is_demo)"
                        " VALUES (:id, :c, :when, :type, :severity, :precision, :sensitivity,"
                        " :reporter, 'reported', :narrative,"
                        " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :source, :hash, :role, false)"
                    ),
                    {
                        "id": new_id,
                        "c": community.id,
                        "when": when,
                        "type": type_code,
                        "severity": int(severity),
                        "precision": location_precision,
                        "sensitivity": stored_sensitivity,
                        "reporter": reporting_role,
                        "narrative": narrative,
                        "lon": float(lon),
                        "lat": float(lat),
                        "source": source,
                        "hash": _row_hash(community.id, type_code, when, lon, lat),
                        "role": role,
                    },
                )
        except IntegrityError as exc:
            if "incidents_row_once" not in str(exc.orig):
                raise
            raise IncidentError("incidents.error.already_recorded") from None
    return RecordedIncident(int(new_id), when, stored_sensitivity, duplicates)


# --------------------------------------------------------------------------------------------
# Named places
# --------------------------------------------------------------------------------------------
# The area grown by the one area tolerance (migration 0007), for clipping streets and for
# facilities that belong to no community.
_AREA = (
    "SELECT ST_Transform(ST_Buffer(ST_Transform(geom, metric_crs), harta_area_tolerance_m()),"
    " 4326) AS geom FROM communities WHERE id = :c"
)


def _members(table: str) -> str:
    # The database's one membership rule: kin (itself, settlements, parent) within the area.
    return f"(SELECT m.id FROM harta_member_rows(:c, '{table}') AS m)"


_NAMED_PLACES_SQL = f"""
WITH area AS ({_AREA}),
streets_by_name AS (
    SELECT s.name, min(s.highway) AS detail,
           ST_LineMerge(ST_CollectionExtract(ST_Collect(ST_Intersection(s.geom, area.geom)), 2))
               AS merged
    FROM streets s, area
    WHERE s.id IN {_members("streets")} AND s.name IS NOT NULL AND s.name <> ''
      AND ST_Intersects(s.geom, area.geom)
    GROUP BY s.name
),
street_points AS (
    SELECT 'street' AS kind, name, detail,
           ST_LineInterpolatePoint(
               (SELECT d.geom FROM ST_Dump(merged) d ORDER BY ST_Length(d.geom) DESC LIMIT 1),
               0.5) AS geom
    FROM streets_by_name
),
settlement_points AS (
    SELECT 'settlement' AS kind, c.name, c.kind AS detail, ST_PointOnSurface(c.geom) AS geom
    FROM communities c WHERE c.parent_id = :c
),
facility_points AS (
    SELECT DISTINCT ON (f.name, f.kind) 'facility' AS kind, f.name, f.kind AS detail, f.geom
    FROM facilities f, area
    WHERE (f.id IN {_members("facilities")} OR f.community_id IS NULL)
      AND NOT f.is_demo  -- invented facilities are never offered as real landmarks
      AND f.name IS NOT NULL AND f.name <> '' AND ST_Intersects(f.geom, area.geom)
    ORDER BY f.name, f.kind, f.id
),
place_points AS (
    SELECT DISTINCT ON (p.name) 'place' AS kind, p.name, p.place AS detail,
           ST_PointOnSurface(p.geom) AS geom
    FROM places p, area
    WHERE p.id IN {_members("places")} AND p.name IS NOT NULL AND p.name <> ''
      AND ST_Intersects(ST_PointOnSurface(p.geom), area.geom)
    ORDER BY p.name, p.id
)
SELECT kind, name, detail, geom FROM street_points
UNION ALL SELECT kind, name, detail, geom FROM settlement_points
UNION ALL SELECT kind, name, detail, geom FROM facility_points
UNION ALL SELECT kind, name, detail, geom FROM place_points
"""


def named_places(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """Streets, settlements, facilities and places of a community, one point per name.

    A street's point lies halfway along the longest connected stretch of its segments inside the
    area (``ST_LineInterpolatePoint`` of the merged, clipped line), so it is on the street
    itself and inside the community.  Facilities
    and places must lie inside the community's area (25 m tolerance); settlements are the
    community's own (Cantonului, Dallas, Rampa, Colina Verde for Pata Rât).

    Parameters
    ----------
    engine : Engine
        Database.
    community : Community
        Streets, facilities and places are its members (``harta_member_rows``: its own, its
        settlements' and its parent's inside its area), streets clipped to the area.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points with ``kind`` (see :data:`PLACE_KINDS`), ``name``, ``detail`` (highway
        class, facility kind or place type) and ``lon``/``lat``; sorted by kind then name.
    """
    with engine.connect() as conn:
        frame = gpd.read_postgis(
            text(_NAMED_PLACES_SQL),
            conn,
            geom_col="geom",
            params={"c": community.id},
        )
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame["lon"] = frame.geometry.x
    frame["lat"] = frame.geometry.y
    order = {kind: i for i, kind in enumerate(PLACE_KINDS)}
    frame["_order"] = frame["kind"].map(order)
    frame = frame.sort_values(["_order", "name"]).drop(columns="_order")
    return frame.reset_index(drop=True)


def place_label(row: Any, lang: str = DEFAULT_LANGUAGE) -> str:
    """How the picker shows a named place: its name and what it is.

    Parameters
    ----------
    row : mapping
        A named place with ``name``, ``kind`` and ``detail`` (the facility kind).
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        ``"<name> (<what>)"``.
    """
    kind = str(row["kind"])
    if kind == "facility":
        try:
            what = taxonomy.label("facility_kind", row["detail"], lang)
        except taxonomy.UnknownCodeError:
            what = t("incidents.place.facility", lang)
    else:
        what = t(f"incidents.place.{kind}", lang)
    return f"{row['name']} ({what})"
