"""Responders: who comes (kind), when (weekly hours) and with what (capabilities).

Stored in the ``responders`` table (migration 0009, EPSG:4326, one community family each) and
read only through the database function ``harta_responders``: a home (every community focal
point) comes back exactly to the operator and to mediators and police of its community, and to
everyone else as the centre and square of its published 250 m cell, without a name.  So
whatever is computed from :func:`load_responders` on a role's connection (coverage, new posts)
never uses more than that role may see.

Hours and capabilities of each kind default to ``data/responders/defaults.json`` (data, edited
without code).  Hours map a weekday (``mon`` .. ``sun``) to ``[start, end]`` intervals in the
community's local time; ``{}`` means always (24/7); an interval whose end is not after its start
runs into the next day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo.communities.model import Community
from geo.errors import HartaError
from geo.settings import DATA_SOURCES_DIR

#: Responder kinds (the database's ``responders_kind_known``).
KINDS = (
    "police",
    "fire",
    "ambulance",
    "hospital",
    "clinic",
    "community_focal_point",
    "mediator",
)
#: Kinds that are a person's home: shown only as a published cell to most roles.
HOME_KINDS = frozenset({"community_focal_point"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULTS_FILE = DATA_SOURCES_DIR / "responders" / "defaults.json"
#: Side of the published cell a home is shown as (``harta_responder_cell_m()``).
CELL_M = 250.0

COLUMNS = (
    "id",
    "community_id",
    "kind",
    "name",
    "capabilities",
    "hours",
    "at_home",
    "exact",
    "placement",
    "source",
    "is_demo",
    "area",
    "geometry",
)

_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


class ResponderError(HartaError, ValueError):
    """A responder, an hour or a file the response network refuses."""


@dataclass(frozen=True)
class When:
    """A weekday and a time of day in the community's local time.

    Attributes
    ----------
    weekday : int
        0 = Monday .. 6 = Sunday.
    minute : int
        Minutes after midnight, 0..1439.
    """

    weekday: int
    minute: int

    @property
    def label(self) -> str:
        """``Sat 22:00``."""
        return (
            f"{WEEKDAYS[self.weekday].capitalize()} {self.minute // 60:02d}:{self.minute % 60:02d}"
        )


def parse_when(value: str | When | dt.datetime | None) -> When | None:
    """A :class:`When` from ``"Sat 22:00"`` (English or the weekday's number 1-7), or a datetime.

    Parameters
    ----------
    value : str, When, datetime or None
        A datetime is read as the community's local time (convert an aware one with
        ``value.astimezone(community.tz)`` first).  None means "any time" (every responder
        counts).

    Returns
    -------
    When or None

    Raises
    ------
    ResponderError
        For a text that is not a weekday and a time.
    """
    if value is None or isinstance(value, When):
        return value
    if isinstance(value, dt.datetime):
        return When(value.weekday(), value.hour * 60 + value.minute)
    parts = str(value).strip().lower().split()
    if len(parts) == 2:
        day, clock = parts
        day = day[:3]
        index = WEEKDAYS.index(day) if day in WEEKDAYS else None
        if index is None and day.isdigit() and 1 <= int(day) <= 7:
            index = int(day) - 1
        minute = _minutes(clock)
        if index is not None and minute is not None and minute < 24 * 60:
            return When(index, minute)
    raise ResponderError("response.responders.error.when", value=str(value))


def _minutes(clock: str) -> int | None:
    match = _TIME.match(clock.strip())
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return minutes if minutes <= 24 * 60 else None


def check_hours(hours: dict[str, Any]) -> dict[str, list[list[str]]]:
    """``hours`` if well formed (weekday keys, ``[HH:MM, HH:MM]`` intervals).

    Parameters
    ----------
    hours : dict

    Returns
    -------
    dict

    Raises
    ------
    ResponderError
    """
    if not isinstance(hours, dict):
        raise ResponderError("response.responders.error.hours", value=str(hours))
    for day, spans in hours.items():
        if day not in WEEKDAYS or not isinstance(spans, list):
            raise ResponderError("response.responders.error.hours", value=str(day))
        for span in spans:
            if (
                not isinstance(span, list | tuple)
                or len(span) != 2
                or any(_minutes(str(s)) is None for s in span)
            ):
                raise ResponderError("response.responders.error.hours", value=str(span))
    return {day: [list(s) for s in spans] for day, spans in hours.items()}


def available(hours: dict[str, Any] | None, when: When | None) -> bool:
    """Whether a responder with ``hours`` is available at ``when``.

    Parameters
    ----------
    hours : dict or None
        Weekly hours; empty or None = always.
    when : When or None
        None = any time (True).

    Returns
    -------
    bool
    """
    if when is None or not hours:
        return True
    today, yesterday = WEEKDAYS[when.weekday], WEEKDAYS[(when.weekday - 1) % 7]
    for start, end in hours.get(today, []):
        a, b = _minutes(start), _minutes(end)
        if (b > a and a <= when.minute < b) or (b <= a and when.minute >= a):
            return True
    # An interval of yesterday that runs past midnight.
    for start, end in hours.get(yesterday, []):
        a, b = _minutes(start), _minutes(end)
        if b <= a and when.minute < b:
            return True
    return False


@cache
def _defaults() -> dict[str, Any]:
    with Path(DEFAULTS_FILE).open(encoding="utf-8") as handle:
        return json.load(handle)


def default_hours(kind: str) -> dict[str, list[list[str]]]:
    """The default weekly hours of ``kind`` (``data/responders/defaults.json``).

    Parameters
    ----------
    kind : str

    Returns
    -------
    dict
    """
    return check_hours(_defaults()["kinds"][check_kind(kind)]["hours"])


def default_capabilities(kind: str) -> list[str]:
    """The default capabilities of ``kind``.

    Parameters
    ----------
    kind : str

    Returns
    -------
    list of str
    """
    return list(_defaults()["kinds"][check_kind(kind)]["capabilities"])


def check_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`KINDS`.

    Parameters
    ----------
    kind : str

    Returns
    -------
    str

    Raises
    ------
    ResponderError
    """
    if kind not in KINDS:
        raise ResponderError(
            "response.responders.error.kind", kind=str(kind), kinds=", ".join(KINDS)
        )
    return kind


# -- reading -----------------------------------------------------------------------------------

_LOAD = text(
    "SELECT id, community_id, kind, name, capabilities, hours, at_home, exact, placement,"
    " source, is_demo, ST_AsBinary(geom) AS geom, ST_AsBinary(area) AS area"
    " FROM harta_responders(:c)"
)


def load_responders(
    bind: Engine | Connection,
    community: Community,
    *,
    kinds: list[str] | tuple[str, ...] | None = None,
    when: When | str | None = None,
    include_demo: bool = True,
) -> gpd.GeoDataFrame:
    """The responders serving ``community``, as the connection's role may see them.

    Parameters
    ----------
    bind : Engine or Connection
        Acting as the reader's role: homes come back as their published cell (``exact``
        False, ``area`` the cell, no ``name``) unless the role may see them.
    community : Community
        Its whole family's responders (top-level community and settlements).
    kinds : sequence of str, optional
        Only these kinds.
    when : When or str, optional
        Only responders available then (``"Sat 22:00"``).
    include_demo : bool

    Returns
    -------
    GeoDataFrame
        Columns :data:`COLUMNS`, EPSG:4326, ordered by id.
    """
    if isinstance(bind, Connection):
        rows = bind.execute(_LOAD, {"c": int(community.id)}).mappings().all()
    else:
        with bind.connect() as conn:
            rows = conn.execute(_LOAD, {"c": int(community.id)}).mappings().all()
    frame = responder_frame([dict(r) for r in rows])
    moment = parse_when(when)
    keep = pd.Series(True, index=frame.index)
    if kinds is not None:
        keep &= frame["kind"].isin([check_kind(k) for k in kinds])
    if not include_demo:
        keep &= ~frame["is_demo"].astype(bool)
    if moment is not None:
        keep &= frame["hours"].map(lambda h: available(h, moment)).astype(bool)
    return frame[keep].reset_index(drop=True)


def responder_frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """A responders GeoDataFrame (:data:`COLUMNS`) from rows with WKB ``geom``/``area``.

    Parameters
    ----------
    rows : list of dict
        ``geom`` and ``area`` as WKB (or shapely geometries), the other columns as named.

    Returns
    -------
    GeoDataFrame
    """

    def geom(value: Any) -> BaseGeometry | None:
        if value is None or isinstance(value, BaseGeometry):
            return value
        return shapely.from_wkb(bytes(value))

    data = {c: [r.get(c) for r in rows] for c in COLUMNS if c not in ("geometry", "area")}
    data["area"] = gpd.GeoSeries([geom(r.get("area")) for r in rows], crs=4326)
    frame = gpd.GeoDataFrame(
        data, geometry=gpd.GeoSeries([geom(r.get("geom")) for r in rows], crs=4326), crs=4326
    )
    frame["capabilities"] = frame["capabilities"].map(lambda v: list(v or []))
    frame["hours"] = frame["hours"].map(lambda v: dict(v or {}))
    return frame[list(COLUMNS)]


# -- writing -----------------------------------------------------------------------------------


def place_responder(
    engine: Engine,
    community: Community,
    kind: str,
    point: BaseGeometry | tuple[float, float],
    *,
    name: str | None = None,
    at_home: bool | None = None,
    capabilities: list[str] | None = None,
    hours: dict[str, Any] | None = None,
    is_demo: bool = False,
) -> int:
    """Place a responder by hand at ``point`` (``harta_add_responder``).

    Parameters
    ----------
    engine : Engine
        Acting as a mediator, planner or admin with a valid account (in scope), or the operator.
    community : Community
    kind : str
        One of :data:`KINDS`.
    point : shapely Point or (lon, lat)
        EPSG:4326.
    name : str, optional
    at_home : bool, optional
        Whether it is a person's home (default: True for :data:`HOME_KINDS`, else False).
    capabilities, hours : optional
        Default: the kind's (:func:`default_capabilities`, :func:`default_hours`).
    is_demo : bool

    Returns
    -------
    int
        The new responder's id.

    Raises
    ------
    ResponderError
        For an unknown kind, malformed hours or a point far outside every street.
    """
    check_kind(kind)
    lon, lat = (point.x, point.y) if isinstance(point, BaseGeometry) else map(float, point)
    params = {
        "c": int(community.id),
        "k": kind,
        "n": name,
        "h": bool(kind in HOME_KINDS if at_home is None else at_home),
        "cap": json.dumps(
            default_capabilities(kind) if capabilities is None else list(capabilities)
        ),
        "hours": json.dumps(default_hours(kind) if hours is None else check_hours(hours)),
        "x": float(lon),
        "y": float(lat),
        "demo": bool(is_demo),
    }
    sql = text(
        "SELECT harta_add_responder(:c, :k, :n, :h, CAST(:cap AS jsonb), CAST(:hours AS jsonb),"
        " :x, :y, :demo)"
    )
    with engine.begin() as conn:
        return int(conn.execute(sql, params).scalar_one())


def remove_responder(engine: Engine, responder_id: int) -> bool:
    """Remove a responder (``harta_remove_responder``; same rights as placing one).

    Parameters
    ----------
    engine : Engine
    responder_id : int

    Returns
    -------
    bool
        False when nothing was removed (no such responder in the caller's scope).
    """
    with engine.begin() as conn:
        return bool(
            conn.execute(
                text("SELECT harta_remove_responder(:i)"), {"i": int(responder_id)}
            ).scalar_one()
        )


# -- OSM -----------------------------------------------------------------------------------------


def osm_responders(path: str | Path) -> gpd.GeoDataFrame:
    """Responders in an OSM GeoJSON (``amenity=hospital|clinic|police|fire_station`` …).

    OSM maps many hospitals as building polygons: such a feature stands for a point on its
    surface (``placement`` = ``point_on_surface``, never the centroid, which can fall outside a
    courtyard-shaped building).  Features of other tags are left out.

    Parameters
    ----------
    path : str or Path
        GeoJSON with OSM tags as properties (``osm_type``/``osm_id`` or ``id``), EPSG:4326.

    Returns
    -------
    GeoDataFrame
        ``kind``, ``name``, ``external_ref`` (``node/123``), ``placement``, ``capabilities``,
        ``hours`` and a point geometry, EPSG:4326.

    Raises
    ------
    ResponderError
        When the file cannot be read.
    """
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the same refusal
        raise ResponderError("response.responders.error.file", file=str(path)) from exc
    if frame.crs is None:
        frame = frame.set_crs(4326)
    frame = frame.to_crs(4326)
    tags = _defaults()["osm"]
    kind = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for key, mapping in tags.items():
        if key in frame.columns:
            mapped = frame[key].map(mapping)
            kind = kind.where(kind.notna(), mapped)
    frame = frame[kind.notna() & frame.geometry.notna() & ~frame.geometry.is_empty].copy()
    frame["kind"] = kind[frame.index]
    polygonal = frame.geometry.geom_type != "Point"
    geometry = frame.geometry.copy()
    geometry[polygonal] = shapely.point_on_surface(geometry[polygonal].values)
    out = gpd.GeoDataFrame(
        {
            "kind": frame["kind"].to_numpy(),
            "name": frame["name"].to_numpy() if "name" in frame else None,
            "external_ref": _refs(frame),
            "placement": ["point_on_surface" if p else "point" for p in polygonal],
            "capabilities": [default_capabilities(k) for k in frame["kind"]],
            "hours": [default_hours(k) for k in frame["kind"]],
        },
        geometry=gpd.GeoSeries(geometry.to_numpy(), crs=4326),
        crs=4326,
    )
    return out.reset_index(drop=True)


def _refs(frame: pd.DataFrame) -> list[str | None]:
    if {"osm_type", "osm_id"} <= set(frame.columns):
        return [f"{t}/{int(i)}" for t, i in zip(frame["osm_type"], frame["osm_id"], strict=True)]
    if "id" in frame.columns:
        return [str(i) for i in frame["id"]]
    return [None] * len(frame)


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_osm_responders` did.

    Attributes
    ----------
    read : int
        Responder features in the file.
    written : int
        New rows (a feature already imported is skipped).
    point_on_surface : int
        Polygons that stand for a point on their surface.
    by_kind : dict
        Features read per kind.
    """

    read: int
    written: int
    point_on_surface: int
    by_kind: dict[str, int]


def import_osm_responders(
    engine: Engine, community: Community, path: str | Path, *, is_demo: bool = False
) -> ImportSummary:
    """Import the responders of an OSM GeoJSON into ``community`` (the operator's engine).

    Parameters
    ----------
    engine : Engine
        The owner's engine (import and bootstrap).
    community : Community
        The top-level community whose family they serve.
    path : str or Path
    is_demo : bool

    Returns
    -------
    ImportSummary
    """
    found = osm_responders(path)
    source_ref = Path(path).name
    rows = [
        {
            "c": int(community.id),
            "k": r.kind,
            "n": r.name if isinstance(r.name, str) else None,
            "cap": json.dumps(r.capabilities),
            "hours": json.dumps(r.hours),
            "pl": r.placement,
            "ref": r.external_ref,
            "sref": source_ref,
            "rh": hashlib.sha256(f"osm|{r.external_ref}|{r.kind}".encode()).hexdigest(),
            "demo": bool(is_demo),
            "g": r.geometry.wkt,
        }
        for r in found.itertuples()
    ]
    written = 0
    if rows:
        sql = text(
            "INSERT INTO responders (community_id, kind, name, capabilities, hours, at_home,"
            " placement, external_ref, source, source_ref, row_hash, created_by_role, is_demo,"
            " geom) VALUES (:c, :k, :n, CAST(:cap AS jsonb), CAST(:hours AS jsonb), false, :pl,"
            " :ref, 'osm', :sref, :rh, 'system', :demo, ST_GeomFromText(:g, 4326))"
            " ON CONFLICT ON CONSTRAINT responders_row_once DO NOTHING"
        )
        with engine.begin() as conn:
            for row in rows:
                written += conn.execute(sql, row).rowcount
    return ImportSummary(
        read=len(found),
        written=written,
        point_on_surface=int((found["placement"] == "point_on_surface").sum()),
        by_kind={k: int(n) for k, n in found["kind"].value_counts().sort_index().items()},
    )
