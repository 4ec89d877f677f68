"""Table models of Harta's PostGIS schema.

Every layer stores geometry in EPSG:4326 and records its provenance: where the row came from
(``source``: import, workshop, form, osm, demo), a reference to that source, when and by which role
it was created.  The database writes every insert, update and delete of a layer to ``audit_log``
through triggers (see the migrations), so nothing disappears silently.

One schema: these models describe every table and column the migrations create, so
``alembic revision --autogenerate`` on a migrated database proposes nothing
(``tests/test_models_autogenerate.py`` checks it).  A migration that adds a table or a column
adds it here too.  Functions, triggers, grants and row-security policies live only in the
migrations (autogenerate does not compare them).
"""

from __future__ import annotations

import datetime as dt
import uuid

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.roles import ROLES as APP_ROLES
from geo.roles import SYSTEM

SRID = 4326

#: Where a row came from.
SOURCES = ("import", "workshop", "paper", "form", "osm", "gtfs", "demo")
#: Who can have written a row: the operator (``system``) or a person acting in one of the roles.
ROLES = (SYSTEM, *APP_ROLES)
#: What ``access_log`` records.
ACCESS_ACTIONS = (
    "view_exact",
    "view_narrative",
    "export",
    "withdraw",
    "purge",
    "backup",
    "restore",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    pass


class Provenance:
    """Columns every layer carries."""

    source: Mapped[str] = mapped_column(String(16), default="import")
    source_ref: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    #: Content hash of the row as imported; re-importing the same row adds nothing.
    row_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by_role: Mapped[str] = mapped_column(String(16), default="system")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


def _provenance_checks(table: str) -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(_in("source", SOURCES), name=f"{table}_source_known"),
        CheckConstraint(_in("created_by_role", ROLES), name=f"{table}_role_known"),
    )


def _valid_geom(table: str, column: str = "geom") -> CheckConstraint:
    return CheckConstraint(f"ST_IsValid({column})", name=f"{table}_{column}_valid")


class Import(Base):
    """One run of ``harta import`` (or an app upload)."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", use_alter=True, name="imports_community_id_fkey")
    )
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by_role: Mapped[str] = mapped_column(String(16), default="system")


class Community(Provenance, Base):
    """A community Harta serves: Pata Rât, its settlements, partner towns."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    county: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(Text)
    metric_crs: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    kind: Mapped[str] = mapped_column(String(16), default="community")
    description: Mapped[str | None] = mapped_column(Text)
    #: Folder with the community's OSM extract, boundary and stops files.
    source_dir: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        *_provenance_checks("communities"),
        _valid_geom("communities"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="communities_country_iso"),
        CheckConstraint(_in("kind", ("community", "settlement")), name="communities_kind_known"),
    )


class Workshop(Provenance, Base):
    """A participatory mapping session.  No participant names, ever."""

    __tablename__ = "workshops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8))
    facilitator_role: Mapped[str] = mapped_column(String(16))
    participants: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    __table_args__ = (
        *_provenance_checks("workshops"),
        CheckConstraint("participants BETWEEN 1 AND 1000", name="workshops_participants_range"),
        CheckConstraint(_in("status", ("open", "closed")), name="workshops_status_known"),
    )


class RiskZone(Provenance, Base):
    """A high-risk zone marked by community members (polygon, line or point)."""

    __tablename__ = "risk_zones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id"))
    hazard_code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer)
    time_of_day: Mapped[str] = mapped_column(String(8), default="always")
    season: Mapped[str] = mapped_column(String(12), default="all_year")
    note: Mapped[str | None] = mapped_column(Text)
    grid_ref: Mapped[str | None] = mapped_column(String(8))
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        *_provenance_checks("risk_zones"),
        _valid_geom("risk_zones"),
        CheckConstraint(
            "GeometryType(geom) IN ('POLYGON','MULTIPOLYGON','LINESTRING','MULTILINESTRING',"
            "'POINT','MULTIPOINT')",
            name="risk_zones_geom_kind",
        ),
        CheckConstraint("severity BETWEEN 1 AND 5", name="risk_zones_severity_range"),
        CheckConstraint(
            _in("time_of_day", ("day", "night", "always")), name="risk_zones_time_known"
        ),
        CheckConstraint(
            _in("season", ("all_year", "spring", "summer", "autumn", "winter")),
            name="risk_zones_season_known",
        ),
        CheckConstraint("char_length(note) <= 500", name="risk_zones_note_length"),
        UniqueConstraint("community_id", "row_hash", name="risk_zones_row_once"),
    )


class Incident(Provenance, Base):
    """A recorded incident.  Sensitive personal data: no names; exact point restricted by role."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    type_code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer)
    location_precision: Mapped[str] = mapped_column(String(8), default="exact")
    sensitivity: Mapped[str] = mapped_column(String(12), default="normal")
    reporting_role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="reported")
    #: Free text readable only by police and mediators.
    narrative: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(Text)
    #: Per-row secret input of the geographic mask (migration 0006): masks never repeat a
    #: pattern across rows, and a re-import of the same content gets a new one.
    mask_nonce: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), server_default=func.gen_random_uuid()
    )
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    #: The point in its community's metric CRS ``metric_srid``, written by a trigger on every
    #: write (migration 0012) so that aggregates need not project 100,000 points per call.
    metric_srid: Mapped[int | None] = mapped_column(Integer)
    metric_x: Mapped[float | None] = mapped_column(Float)
    metric_y: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        *_provenance_checks("incidents"),
        _valid_geom("incidents"),
        CheckConstraint("severity BETWEEN 1 AND 5", name="incidents_severity_range"),
        CheckConstraint(
            _in("location_precision", ("exact", "street", "area")),
            name="incidents_precision_known",
        ),
        CheckConstraint(
            _in("sensitivity", ("normal", "sensitive", "restricted")),
            name="incidents_sensitivity_known",
        ),
        CheckConstraint(
            _in("status", ("reported", "verified", "closed", "withdrawn")),
            name="incidents_status_known",
        ),
        CheckConstraint(_in("reporting_role", ROLES), name="incidents_reporting_role_known"),
        UniqueConstraint("community_id", "row_hash", name="incidents_row_once"),
        Index("incidents_occurred_at_idx", "occurred_at"),
    )


FACILITY_KINDS = (
    "police",
    "fire",
    "ambulance",
    "hospital",
    "clinic",
    "school",
    "kindergarten",
    "social_services",
    "community_focal_point",
    "bus_stop",
)


class Facility(Provenance, Base):
    """An emergency, health, education or social facility, or a bus stop."""

    __tablename__ = "facilities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    #: Bus routes serving a stop, comma separated.
    routes: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        *_provenance_checks("facilities"),
        _valid_geom("facilities"),
        CheckConstraint(_in("kind", FACILITY_KINDS), name="facilities_kind_known"),
        UniqueConstraint("community_id", "row_hash", name="facilities_row_once"),
    )


class Street(Base):
    """A street segment of the bundled OSM network (one row per graph edge)."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    u: Mapped[int] = mapped_column(BigInteger)
    v: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[int] = mapped_column(Integer, default=0)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    highway: Mapped[str | None] = mapped_column(String(32))
    oneway: Mapped[bool | None] = mapped_column(Boolean)
    maxspeed_kph: Mapped[float | None] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float)
    drive_time_s: Mapped[float | None] = mapped_column(Float)
    walk_time_s: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="osm")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    geom = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (Index("streets_community_idx", "community_id"),)


class Place(Base):
    """Named OSM places and neighbourhoods (suburbs, quarters) around a community."""

    __tablename__ = "places"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    osm_type: Mapped[str | None] = mapped_column(String(10))
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="osm")
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)


class AnalysisRun(Base):
    """One stored analysis run: what was asked, on what, and what came out."""

    __tablename__ = "analysis_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    input_counts: Mapped[dict] = mapped_column(JSONB, default=dict)
    outputs: Mapped[dict] = mapped_column(JSONB, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_role: Mapped[str] = mapped_column(String(16), default="system")


class AuditEntry(Base):
    """Written by database triggers only; the application never inserts here."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(String(8))
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    old_row: Mapped[dict | None] = mapped_column(JSONB)
    new_row: Mapped[dict | None] = mapped_column(JSONB)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    db_user: Mapped[str] = mapped_column(Text, server_default=func.current_user())
    app_role: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("audit_log_table_row_idx", "table_name", "row_id"),)


class User(Base):
    """An account (migration 0002).  Only argon2id hashes; the app never reads them back."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_logins: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'", name="users_username_form"),
        CheckConstraint(_in("role", APP_ROLES), name="users_role_known"),
        CheckConstraint("password_hash LIKE '$argon2id$%'", name="users_hash_argon2"),
        CheckConstraint("failed_logins >= 0", name="users_failed_logins_positive"),
    )


class UserCommunity(Base):
    """The communities an account is limited to (its scope; settlements follow their parent)."""

    __tablename__ = "user_communities"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )


class AccessLogEntry(Base):
    """Who saw or exported sensitive data; written by ``harta_log_access()`` only."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    username: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    db_user: Mapped[str] = mapped_column(Text, server_default=func.session_user())
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="access_log_role_known"),
        CheckConstraint(_in("action", ACCESS_ACTIONS), name="access_log_action_known"),
        Index("access_log_at_idx", "at"),
    )


class PurgeLogEntry(Base):
    """One retention purge of incidents (counts only, never the rows)."""

    __tablename__ = "purge_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purged_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    older_than_days: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    rows_deleted: Mapped[int] = mapped_column(Integer)
    by_community: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    app_role: Mapped[str | None] = mapped_column(Text)
    db_user: Mapped[str] = mapped_column(Text, server_default=func.session_user())


class Tombstone(Base):
    """A withdrawn or purged row's hash, so it can never be imported again (migration 0004).

    Readable by nobody but the owner: the hash of low-entropy content could be guessed.
    """

    __tablename__ = "harta_tombstones"
    layer: Mapped[str] = mapped_column(String(32), primary_key=True)
    community_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    removed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (
        CheckConstraint(
            _in("layer", ("risk_zones", "incidents")), name="harta_tombstones_layer_known"
        ),
        CheckConstraint(
            _in("reason", ("withdrawn", "purged")), name="harta_tombstones_reason_known"
        ),
    )


class PublishedGrid(Base):
    """The cell sizes a community's public aggregates are published on (migration 0005)."""

    __tablename__ = "published_grids"
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    analysis_cell_m: Mapped[float] = mapped_column(Float)
    map_cell_m: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        CheckConstraint("analysis_cell_m BETWEEN 100 AND 5000"),
        CheckConstraint("map_cell_m BETWEEN 100 AND 5000"),
    )


class CommunityFrameChange(Base):
    """Append-only record of every change to a community's area, CRS, timezone or parent."""

    __tablename__ = "community_frame_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    db_user: Mapped[str] = mapped_column(Text, server_default=func.session_user())
    app_role: Mapped[str | None] = mapped_column(Text)
    app_user: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    old_geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False))
    new_geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False))
    old_metric_crs: Mapped[int | None] = mapped_column(Integer)
    new_metric_crs: Mapped[int | None] = mapped_column(Integer)
    old_timezone: Mapped[str | None] = mapped_column(Text)
    new_timezone: Mapped[str | None] = mapped_column(Text)
    old_parent_id: Mapped[int | None] = mapped_column(Integer)
    new_parent_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("length(btrim(reason)) >= 5"),)


class GeomaskKey(Base):
    """The single secret of the geographic masks (migration 0006); readable by nobody but the
    owner, used only inside ``harta_geomask_draws``."""

    __tablename__ = "geomask_key"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default=text("1"))
    inner_pad: Mapped[bytes] = mapped_column(LargeBinary)
    outer_pad: Mapped[bytes] = mapped_column(LargeBinary)
    min_m: Mapped[float] = mapped_column(Float)
    max_m: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (
        CheckConstraint("id = 1"),
        CheckConstraint("length(inner_pad) = 64"),
        CheckConstraint("length(outer_pad) = 64"),
        CheckConstraint("0 <= min_m AND min_m < max_m"),
    )


#: Tables whose changes the audit triggers record.
AUDITED_TABLES = ("communities", "workshops", "risk_zones", "incidents", "facilities")


#: Kinds of responders of the response network (migration 0009; issue 12).
RESPONDER_KINDS = (
    "police",
    "fire",
    "ambulance",
    "hospital",
    "clinic",
    "community_focal_point",
    "mediator",
)


class Responder(Provenance, Base):
    """A responder of the response network: who comes, when (``hours``) and with what.

    A home (``at_home``; every community focal point) is read through ``harta_responders``,
    which shows it to the public and community roles only as its published cell (0009).
    """

    __tablename__ = "responders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    capabilities: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    #: Weekly hours, ``{"mon": [["08:00", "16:00"]], ...}``; ``{}`` = always available.
    hours: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    at_home: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: ``point`` or ``point_on_surface`` (an OSM building polygon stood for by a point in it).
    placement: Mapped[str] = mapped_column(String(16), server_default=text("'point'"))
    external_ref: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (
        *_provenance_checks("responders"),
        _valid_geom("responders"),
        CheckConstraint(_in("kind", RESPONDER_KINDS), name="responders_kind_known"),
        CheckConstraint(
            "kind <> 'community_focal_point' OR at_home", name="responders_focal_point_at_home"
        ),
        CheckConstraint(
            _in("placement", ("point", "point_on_surface")), name="responders_placement_known"
        ),
        CheckConstraint(
            "jsonb_typeof(capabilities) = 'array'", name="responders_capabilities_array"
        ),
        CheckConstraint("jsonb_typeof(hours) = 'object'", name="responders_hours_object"),
        UniqueConstraint("community_id", "row_hash", name="responders_row_once"),
        Index("responders_community_idx", "community_id"),
    )


class MobilePlan(Base):
    """A stored Mobile Unit plan with its stops and vehicles (homes: row security, 0010)."""

    __tablename__ = "mobile_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    plan_date: Mapped[dt.date] = mapped_column(Date)
    stops: Mapped[list] = mapped_column(JSONB)
    vehicles: Mapped[list] = mapped_column(JSONB)
    plan: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (
        UniqueConstraint("run_id", name="mobile_plans_run_once"),
        CheckConstraint("jsonb_typeof(stops) = 'array'", name="mobile_plans_stops_array"),
        CheckConstraint("jsonb_typeof(vehicles) = 'array'", name="mobile_plans_vehicles_array"),
        Index("mobile_plans_community_idx", "community_id", "plan_date"),
    )


class WebSession(Base):
    """A browser's sign-in that survives a reload (0015): only hashes, read by no Harta role."""

    __tablename__ = "web_sessions"
    token_sha256: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    nonce_sha256: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sealed_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    __table_args__ = (
        CheckConstraint("octet_length(token_sha256) = 32", name="web_sessions_token_hash"),
        CheckConstraint(
            "nonce_sha256 IS NULL OR octet_length(nonce_sha256) = 32",
            name="web_sessions_nonce_hash",
        ),
        CheckConstraint(
            "(nonce_sha256 IS NULL) = (nonce_expires_at IS NULL)"
            " AND (nonce_sha256 IS NULL) = (sealed_token IS NULL)",
            name="web_sessions_handoff_whole",
        ),
        UniqueConstraint("nonce_sha256", name="web_sessions_nonce_once"),
        Index("web_sessions_user_idx", "user_id"),
    )
