"""The :class:`Community`: one object per community, loaded once and passed down.

A page, a CLI command or an analysis resolves the community **once**
(:meth:`Community.load`) and hands the object to everything below it; nothing under it looks the
community up again by slug.  It carries what every layer needs: the id (for queries), the time
zone (for local times), the metric CRS (for measuring) and the area (for membership), with the
transformations between EPSG:4326 and the metric CRS built once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import pyproj
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from geo import crs as crs_

#: How far outside its area a row may lie and still count as inside, in metres: digitising
#: error of a hand-drawn boundary and GPS error of a phone.  The one area tolerance of Harta.
AREA_TOLERANCE_M = 25.0

_LOAD_SQL = text(
    """
    SELECT c.id, c.slug, c.name, c.kind, c.parent_id, p.slug AS parent_slug, c.county,
           c.country, c.timezone, c.metric_crs, c.description, c.attribution, c.source_dir,
           ST_AsBinary(c.geom) AS wkb,
           COALESCE((SELECT array_agg(s.id ORDER BY s.id) FROM communities s
                      WHERE s.parent_id = c.id), '{}') AS settlement_ids
      FROM communities c LEFT JOIN communities p ON p.id = c.parent_id
     WHERE c.slug = :slug
    """
)


class UnknownCommunity(KeyError):
    """No community has this slug."""


@dataclass(frozen=True, eq=False)
class Community:
    """One row of ``communities``, with what measuring and membership need.

    Attributes
    ----------
    id, slug, name, kind : int, str, str, str
        ``kind`` is ``"community"`` or ``"settlement"``.
    parent_id, parent_slug : int or None, str or None
        The community a settlement belongs to.
    settlement_ids : tuple of int
        Ids of this community's settlements.
    timezone : str
        IANA name, e.g. ``Europe/Bucharest``.
    crs : pyproj.CRS
        The metric CRS every distance and area of this community is measured in.
    geometry : shapely.MultiPolygon
        The area, in EPSG:4326.
    county, country, description, attribution, source_dir : str or None
    """

    id: int
    slug: str
    name: str
    kind: str
    parent_id: int | None
    parent_slug: str | None
    settlement_ids: tuple[int, ...]
    timezone: str
    crs: pyproj.CRS
    geometry: MultiPolygon
    county: str | None = None
    country: str | None = None
    description: str | None = None
    attribution: str | None = None
    source_dir: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # -- identity ---------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Community) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("community", self.id))

    @classmethod
    def load(cls, bind: Engine | Connection, slug: str) -> Community:
        """The community with ``slug``, read in one query.

        Parameters
        ----------
        bind : Engine or Connection
            Any connection that may read ``communities`` (every role may).
        slug : str

        Returns
        -------
        Community

        Raises
        ------
        UnknownCommunity
            When no community has this slug.
        """
        if isinstance(bind, Connection):
            row = bind.execute(_LOAD_SQL, {"slug": slug}).mappings().first()
        else:
            with bind.connect() as conn:
                row = conn.execute(_LOAD_SQL, {"slug": slug}).mappings().first()
        if row is None:
            raise UnknownCommunity(slug)
        return cls(
            id=int(row["id"]),
            slug=row["slug"],
            name=row["name"],
            kind=row["kind"],
            parent_id=row["parent_id"],
            parent_slug=row["parent_slug"],
            settlement_ids=tuple(int(i) for i in row["settlement_ids"]),
            timezone=row["timezone"],
            crs=crs_.to_crs(int(row["metric_crs"])),
            geometry=_multi(shapely.from_wkb(bytes(row["wkb"]))),
            county=row["county"],
            country=row["country"],
            description=row["description"],
            attribution=row["attribution"],
            source_dir=row["source_dir"],
        )

    # -- derived ----------------------------------------------------------------------------
    @property
    def epsg(self) -> int:
        """The metric CRS as stored in the database."""
        return crs_.epsg(self.crs)

    @property
    def tz(self) -> ZoneInfo:
        """The time zone, for local times."""
        return ZoneInfo(self.timezone)

    @property
    def is_settlement(self) -> bool:
        return self.parent_id is not None

    @property
    def root_id(self) -> int:
        """The top-level community: the parent of a settlement, else itself."""
        return self.parent_id if self.parent_id is not None else self.id

    @property
    def family_ids(self) -> tuple[int, ...]:
        """Itself and its settlements: the communities whose rows are this community's own.

        Rows of the *parent* belong to a settlement only where they lie inside the settlement's
        area; that decision is the database function ``harta_in_community`` (it needs the row's
        location), never a list of ids.
        """
        return (self.id, *self.settlement_ids)

    @property
    def to_metric(self) -> pyproj.Transformer:
        """EPSG:4326 -> the metric CRS (x = longitude first)."""
        return crs_.transformer(crs_.STORAGE, self.crs)

    @property
    def to_wgs84(self) -> pyproj.Transformer:
        """The metric CRS -> EPSG:4326."""
        return crs_.transformer(self.crs, crs_.STORAGE)

    @cached_property
    def metric_geometry(self) -> BaseGeometry:
        """The area in the metric CRS."""
        return crs_.project(self.geometry, crs_.STORAGE, self.crs)

    @property
    def area_m2(self) -> float:
        return float(self.metric_geometry.area)

    def to_metric_geometry(self, geometry: BaseGeometry) -> BaseGeometry:
        """``geometry`` (EPSG:4326) in the metric CRS.

        Parameters
        ----------
        geometry : shapely geometry
            Geometry in EPSG:4326 (lon, lat).

        Returns
        -------
        shapely geometry
            The same geometry in the community's metric CRS (metres).
        """
        return crs_.project(geometry, crs_.STORAGE, self.crs)

    def contains(self, geometry: BaseGeometry, tol_m: float = AREA_TOLERANCE_M) -> bool:
        """Whether ``geometry`` (EPSG:4326) lies in the area, allowing ``tol_m`` metres.

        Parameters
        ----------
        geometry : shapely geometry
            In EPSG:4326.
        tol_m : float
            Tolerance in metres (default :data:`AREA_TOLERANCE_M`).

        Returns
        -------
        bool
            True when the geometry intersects the area grown by ``tol_m``.
        """
        metric = self.to_metric_geometry(geometry)
        return bool(shapely.dwithin(self.metric_geometry, metric, tol_m))

    def distance_m(self, geometry: BaseGeometry) -> float:
        """Distance in metres from the area to ``geometry`` (EPSG:4326); 0 inside.

        Parameters
        ----------
        geometry : shapely geometry
            Geometry in EPSG:4326.

        Returns
        -------
        float
            Shortest distance in metres, measured in the community's metric CRS; 0 when
            it touches or lies inside the area.
        """
        return float(self.metric_geometry.distance(self.to_metric_geometry(geometry)))


def _multi(geometry: BaseGeometry) -> MultiPolygon:
    if isinstance(geometry, MultiPolygon):
        return geometry
    return MultiPolygon([geometry])
