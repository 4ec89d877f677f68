"""Where a row's geometry may go: the community's area and the checks of every geometry.

:class:`CommunityArea` is the target community as validation needs it (its area grown by the
tolerance, prepared once).  :func:`check_geometries` checks presence, validity, type and position
of a whole column of geometries at once.

Invalid geometries
    A geometry that is not valid (self-intersecting polygon, "bow-tie") is repaired with
    :func:`shapely.make_valid` **only** when the repair stays in the same family (a polygon
    becomes a polygon or multipolygon, a line a line): the row is written and the report
    carries a warning ``ingest.problem.geometry_repaired``.  A repair that changes the family
    (a polygon collapsing to a line, a mixed collection) is refused with
    ``ingest.problem.geometry_invalid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo import crs as crs_
from geo.communities.model import AREA_TOLERANCE_M, Community
from geo.ingest.report import ImportReport, Problem
from geo.layers import LINE_TYPES, POINT_TYPES, POLYGON_TYPES, Layer

_FAMILIES = (POINT_TYPES, LINE_TYPES, POLYGON_TYPES)
#: Geometry type names by GEOS type id + 1 (shapely.get_type_id gives -1 for None).
_TYPE_NAMES = np.array(
    [
        "",
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ],
    dtype=object,
)


@dataclass(frozen=True)
class CommunityArea:
    """The target community of an import, as validation needs it.

    Attributes
    ----------
    id, slug : int, str
        Database id and slug.
    timezone : str
        IANA zone naive times are read in.
    metric_crs : int
        EPSG code of a metric CRS for distances.
    geom : shapely geometry
        The community's area in EPSG:4326.
    tolerance_m : float
        Margin accepted around ``geom``.
    """

    id: int
    slug: str
    timezone: str
    metric_crs: int
    geom: BaseGeometry
    tolerance_m: float = AREA_TOLERANCE_M

    @classmethod
    def of(cls, community: Community) -> CommunityArea:
        """The area of ``community`` as validation needs it.

        Parameters
        ----------
        community : Community

        Returns
        -------
        CommunityArea
        """
        return cls(
            id=community.id,
            slug=community.slug,
            timezone=community.timezone,
            metric_crs=community.epsg,
            geom=community.geometry,
        )

    @cached_property
    def to_metric(self) -> Transformer:
        """EPSG:4326 → the community's metric CRS."""
        return crs_.transformer(crs_.STORAGE, self.metric_crs)

    @cached_property
    def metric_geom(self) -> BaseGeometry:
        """The area in the metric CRS."""
        return shapely.transform(self.geom, self.to_metric.transform, interleaved=False)

    @cached_property
    def accepted(self) -> BaseGeometry:
        """The area plus the tolerance, back in EPSG:4326, prepared for fast tests."""
        back = crs_.transformer(self.metric_crs, crs_.STORAGE)
        grown = shapely.transform(
            self.metric_geom.buffer(self.tolerance_m), back.transform, interleaved=False
        )
        shapely.prepare(grown)
        return grown

    def distance_outside_m(self, geom: BaseGeometry) -> float:
        """Metres between ``geom`` and the area (0 when they touch).

        Parameters
        ----------
        geom : shapely geometry
            Geometry in EPSG:4326.

        Returns
        -------
        float
            Distance in metres in the community's metric CRS; 0 inside or touching.
        """
        metric = shapely.transform(geom, self.to_metric.transform, interleaved=False)
        return float(self.metric_geom.distance(metric))


def check_geometries(
    geometries: np.ndarray,
    layer: Layer,
    community: CommunityArea,
    rows: np.ndarray,
    report: ImportReport,
) -> tuple[np.ndarray, np.ndarray]:
    """Check presence, validity, type and position of every geometry.

    Parameters
    ----------
    geometries : numpy.ndarray
        Shapely geometries in EPSG:4326, one per row.
    layer : Layer
        The target layer (its allowed geometry types).
    community : CommunityArea
        The area rows must lie in (with its tolerance).
    rows : numpy.ndarray
        Source row number of each geometry, for the report.
    report : ImportReport
        Receives one problem per refused or repaired geometry.

    Returns
    -------
    geometries : ndarray
        Geometries to write (repaired ones replaced, single-part multipoints unwrapped).
    errors : ndarray of bool
        Whether the row's geometry was refused.
    """
    geometries = geometries.copy()
    errors = np.zeros(len(geometries), dtype=bool)
    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    for i in np.flatnonzero(missing):
        report.add(
            Problem(report.file, int(rows[i]), "geometry", "ingest.problem.geometry_missing")
        )
        errors[i] = True
    invalid = ~missing & ~shapely.is_valid(geometries)
    for i in np.flatnonzero(invalid):
        repaired = _repair(geometries[i])
        if repaired is None:
            report.add(
                Problem(
                    report.file,
                    int(rows[i]),
                    "geometry",
                    "ingest.problem.geometry_invalid",
                    {"reason": shapely.is_valid_reason(geometries[i])},
                )
            )
            errors[i] = True
        else:
            report.add(
                Problem(
                    report.file,
                    int(rows[i]),
                    "geometry",
                    "ingest.problem.geometry_repaired",
                    {"reason": shapely.is_valid_reason(geometries[i])},
                    level="warning",
                )
            )
            geometries[i] = repaired
    unchecked = ~errors
    single_multipoint = (
        unchecked
        & (shapely.get_type_id(geometries) == 4)
        & (shapely.get_num_geometries(geometries) == 1)
    )
    if single_multipoint.any() and "MultiPoint" not in layer.geometry_types:
        geometries[single_multipoint] = shapely.get_geometry(geometries[single_multipoint], 0)
    _surface_points(geometries, layer, rows, report, unchecked)
    # Type names from GEOS type ids, a column at once (-1, a missing geometry, is "").
    types = _TYPE_NAMES[shapely.get_type_id(geometries) + 1]
    for i in np.flatnonzero(unchecked & ~np.isin(types, layer.geometry_types)):
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.geometry_type",
                {"found": types[i], "allowed": ", ".join(layer.geometry_types)},
            )
        )
        errors[i] = True
    candidates = np.flatnonzero(~errors)
    inside = shapely.within(geometries[candidates], community.accepted)
    crossing = _crossing_boundary(geometries, candidates[~inside], layer, community)
    for i in crossing:
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.crosses_boundary",
                {"community": community.slug},
                level="warning",
            )
        )
    for i in np.setdiff1d(candidates[~inside], crossing):
        distance = community.distance_outside_m(geometries[i])
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.outside_area",
                {"community": community.slug, "distance_m": round(distance)},
            )
        )
        errors[i] = True
    return geometries, errors


def _surface_points(
    geometries: np.ndarray,
    layer: Layer,
    rows: np.ndarray,
    report: ImportReport,
    unchecked: np.ndarray,
) -> None:
    """In a layer of points (facilities), a polygon (an OSM hospital is a building) becomes a
    point on its surface -- inside it, unlike a centroid -- and the report says so."""
    if any(t in layer.geometry_types for t in POLYGON_TYPES) or "Point" not in layer.geometry_types:
        return
    polygons = unchecked & np.isin(shapely.get_type_id(geometries), (3, 6))
    for i in np.flatnonzero(polygons):
        geometries[i] = shapely.point_on_surface(geometries[i])
        report.add(
            Problem(
                report.file,
                int(rows[i]),
                "geometry",
                "ingest.problem.polygon_to_point",
                level="info",
            )
        )


def _crossing_boundary(
    geometries: np.ndarray, outside: np.ndarray, layer: Layer, community: CommunityArea
) -> np.ndarray:
    """Lines and polygons of a layer that allows them which overlap the area but are not
    within it (a zone drawn across the boundary): kept as drawn, with a warning."""
    if not len(outside) or not any(t in layer.geometry_types for t in POLYGON_TYPES):
        return np.array([], dtype=int)
    shaped = np.isin(shapely.get_type_id(geometries[outside]), (1, 2, 3, 5, 6))
    overlapping = shapely.intersects(geometries[outside], community.geom)
    return outside[shaped & overlapping]


def _repair(geometry: BaseGeometry) -> BaseGeometry | None:
    """``make_valid`` when the result stays in the geometry's family, else ``None``."""
    family = next((f for f in _FAMILIES if geometry.geom_type in f), None)
    repaired = shapely.make_valid(geometry)
    if family is None or repaired.is_empty or repaired.geom_type not in family:
        return None
    return repaired
