"""Who may see what: aggregation, coarsening and displacement of incident locations.

Rules (the database's row-level security is to be built from these same rules):

* exact incident points only for the ``police`` and ``mediator`` roles;
* exact points of sensitive types (:data:`SENSITIVE_TYPES`) only for ``police``;
* everyone else, and everything withheld, sees hexagon counts where cells with fewer than
  ``threshold`` (default 5) incidents are suppressed — including empty cells, so a suppressed cell
  cannot be told apart from an empty one.

Pure functions: nothing here touches a database or a user session.  Aggregates never contain
point geometries.  Note that publishing exact totals next to suppressed cells would let a reader
recover the suppressed sum by subtraction: show totals rounded, or only for whole areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geo import crs as crs_
from geo import roles
from geo.hexgrid import (
    WGS84,
    Orientation,
    count_points_per_cell,
    hex_grid,
    projected_xy,
)

SENSITIVE_TYPES = frozenset({"domestic_violence", "sexual_violence", "child_protection"})
ROLES = roles.ROLES
#: Roles allowed to see exact points of non-sensitive incidents.
EXACT_POINT_ROLES = roles.holders("incidents.read_exact")
#: Roles allowed to see exact points of sensitive incidents.
SENSITIVE_EXACT_ROLES = roles.holders("incidents.read_sensitive")
DEFAULT_THRESHOLD = 5
#: Hexagon side for aggregated views when none is given (about 0.25 km² per cell).
DEFAULT_PRIVACY_CELL_M = 300.0


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")


def can_see_exact_points(role: str, type_code: str | None) -> bool:
    """Whether ``role`` may see the exact location of an incident of ``type_code``.

    Parameters
    ----------
    role : str
        Role name; must be one of :data:`ROLES`.
    type_code : str or None
        Incident type code; None is treated as not sensitive.

    Returns
    -------
    bool
        True when exact points may be shown.

    Raises
    ------
    ValueError
        For a role not in :data:`ROLES` (a typo must never widen access).
    """
    _check_role(role)
    if type_code in SENSITIVE_TYPES:
        return role in SENSITIVE_EXACT_ROLES
    return role in EXACT_POINT_ROLES


def aggregate_to_hex(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry,
    crs: str | CRS,
    cell_size_m: float = DEFAULT_PRIVACY_CELL_M,
    threshold: int = DEFAULT_THRESHOLD,
    orientation: Orientation = "pointy",
) -> gpd.GeoDataFrame:
    """Incident counts per hexagon with small counts suppressed.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Incidents in EPSG:4326.
    area : GeoDataFrame, GeoSeries or shapely geometry
        Area to cover (EPSG:4326); incidents outside it are not counted.
    crs : str or pyproj.CRS
        Metric CRS.
    cell_size_m : float
        Hexagon side length, metres.
    threshold : int
        Counts below this (0 included) are suppressed.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 polygons, columns ``cell_id``, ``count`` (float; NaN when suppressed) and
        ``suppressed`` (bool).  Never any point or attribute of an individual incident.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    cells = hex_grid(area, cell_size_m, crs, orientation)
    counts, _ = count_points_per_cell(cells, points, cell_size_m, crs, orientation)
    suppressed = counts < threshold
    return gpd.GeoDataFrame(
        {
            "cell_id": cells["cell_id"],
            "count": np.where(suppressed, np.nan, counts.astype(float)),
            "suppressed": suppressed,
        },
        geometry=cells.geometry.values,
        crs=WGS84,
    )


def snap_to_grid(
    points: gpd.GeoDataFrame | gpd.GeoSeries, crs: str | CRS, cell_m: float
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Move every point to the centre of its ``cell_m`` × ``cell_m`` square in ``crs``.

    Points in the same square become indistinguishable; the move is at most
    ``cell_m / sqrt(2)``.  Returns a copy in EPSG:4326 with all other columns unchanged.

    Parameters
    ----------
    points : geopandas.GeoDataFrame or GeoSeries
        Points in any CRS.
    crs : str or pyproj.CRS
        Metric CRS the grid is laid out in.
    cell_m : float
        Grid cell size in metres.

    Returns
    -------
    geopandas.GeoDataFrame or GeoSeries
        Same type as ``points``, in EPSG:4326.
    """
    x, y = projected_xy(points, crs)
    snapped_x = (np.floor(x / cell_m) + 0.5) * cell_m
    snapped_y = (np.floor(y / cell_m) + 0.5) * cell_m
    return _with_xy(points, snapped_x, snapped_y, crs)


@dataclass
class GeomaskResult:
    """Outcome of :func:`donut_geomask`.

    Attributes
    ----------
    points : GeoDataFrame or GeoSeries
        Displaced copy in EPSG:4326, other columns unchanged.
    displacement_m : pandas.Series
        Distance each point moved, metres (measured in the metric CRS), indexed like the input.
        Never to be shipped per point: with it a masked point becomes a circle.
    summary : dict
        ``n``, ``min_m``, ``max_m`` (the requested bounds), ``observed_min_m``,
        ``observed_median_m``, ``observed_max_m``.  No seed, no key.
    """

    points: gpd.GeoDataFrame | gpd.GeoSeries
    displacement_m: pd.Series
    summary: dict[str, Any]


def draw_fractions(digest: bytes) -> tuple[float, float]:
    """Two independent uniform fractions in [0, 1) from a keyed digest (e.g. HMAC-SHA256).

    Parameters
    ----------
    digest : bytes
        At least 16 bytes of a keyed pseudo-random function of the incident.

    Returns
    -------
    (float, float)
        ``(u_angle, u_radius)``: the first and second 8 bytes, big-endian, divided by 2**64.
    """
    if len(digest) < 16:
        raise ValueError("need at least 16 bytes of digest")
    scale = float(2**64)
    return (
        int.from_bytes(digest[:8], "big") / scale,
        int.from_bytes(digest[8:16], "big") / scale,
    )


def donut_geomask(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    crs: str | CRS,
    min_m: float,
    max_m: float,
    seed: int | None = None,
    draws: np.ndarray | None = None,
) -> GeomaskResult:
    """Donut geomasking: move each point in some direction by ``min_m`` to ``max_m``.

    The distance is drawn so that displaced points are uniform over the ring's *area*
    (``r = sqrt(U · (max² − min²) + min²)``), which avoids piling points near the inner edge.
    The minimum distance guarantees that no point stays on its true location.

    For data that leaves Harta, pass ``draws`` derived from a key the recipient never sees
    (:func:`draw_fractions` of ``harta_geomask_draws``, see :mod:`geo.export`): the same
    incident then always lands on the same masked point, so averaging many exports recovers
    nothing.  A fresh random mask per export (``draws`` omitted) can be averaged away: use it
    only for simulations.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Points in EPSG:4326.
    crs : str or pyproj.CRS
        Metric CRS in which distances are measured.
    min_m, max_m : float
        Ring bounds in metres, ``0 <= min_m <= max_m``.
    seed : int, optional
        Seed of the random generator when ``draws`` is omitted (simulations and tests).
    draws : ndarray, optional
        Shape ``(n, 2)``: ``(u_angle, u_radius)`` in [0, 1) per point, in the order of
        ``points``.

    Returns
    -------
    GeomaskResult
    """
    if not 0 <= min_m <= max_m:
        raise ValueError("need 0 <= min_m <= max_m")
    x, y = projected_xy(points, crs)
    n = len(x)
    if draws is None:
        rng = np.random.default_rng(seed)
        u_radius, u_angle = rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 1.0, n)
    else:
        draws = np.asarray(draws, dtype=float).reshape(-1, 2)
        if len(draws) != n or not ((draws >= 0) & (draws < 1)).all():
            raise ValueError("draws must hold one (u_angle, u_radius) in [0, 1) per point")
        u_angle, u_radius = draws[:, 0], draws[:, 1]
    distance = np.sqrt(u_radius * (max_m**2 - min_m**2) + min_m**2)
    angle = u_angle * 2.0 * np.pi
    moved = _with_xy(points, x + distance * np.cos(angle), y + distance * np.sin(angle), crs)
    displacement = pd.Series(distance, index=points.index, name="displacement_m")
    summary = {
        "n": n,
        "min_m": float(min_m),
        "max_m": float(max_m),
        "observed_min_m": float(distance.min()) if n else None,
        "observed_median_m": float(np.median(distance)) if n else None,
        "observed_max_m": float(distance.max()) if n else None,
    }
    return GeomaskResult(points=moved, displacement_m=displacement, summary=summary)


def masked_k_anonymity(
    original: gpd.GeoSeries, masked: gpd.GeoSeries, crs: str | CRS
) -> dict[str, Any]:
    """Residual risk of a masked point set: spatial k-anonymity, summarised.

    For each masked point, ``k`` is the number of *other* original points at least as close to
    it as its own original (Allshouse et al. 2010): an attacker who searches outward from the
    masked point meets ``k`` other incidents before the true one.  ``k = 0`` means the true
    incident is the nearest one.  The search area is the disc of radius the displacement.

    Parameters
    ----------
    original, masked : GeoSeries
        Same length and order, EPSG:4326.
    crs : str or pyproj.CRS
        Metric CRS.

    Returns
    -------
    dict
        ``k_min``, ``k_median``, ``k_p10``, ``share_k0`` (fraction with k = 0),
        ``share_k_below_5`` and ``area_median_m2`` (median search disc).  Summaries only:
        never per point.
    """
    n = len(original)
    if n == 0:
        return {"n": 0}
    x0, y0 = projected_xy(original, crs)
    x1, y1 = projected_xy(masked, crs)
    own = np.hypot(x1 - x0, y1 - y0)
    # n x n distances: exports are thousands of rows at most (a 5000-row export is 200 MB of
    # float64 in one go, so work in blocks).
    k = np.empty(n, dtype=int)
    for start in range(0, n, 512):
        stop = min(start + 512, n)
        d = np.hypot(x1[start:stop, None] - x0[None, :], y1[start:stop, None] - y0[None, :])
        k[start:stop] = (d <= own[start:stop, None]).sum(axis=1) - 1
    return {
        "n": n,
        "k_min": int(k.min()),
        "k_p10": float(np.percentile(k, 10)),
        "k_median": float(np.median(k)),
        "share_k0": float((k == 0).mean()),
        "share_k_below_5": float((k < 5).mean()),
        "area_median_m2": float(np.median(np.pi * own**2)),
    }


def _with_xy(
    points: gpd.GeoDataFrame | gpd.GeoSeries, x: np.ndarray, y: np.ndarray, crs: str | CRS
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    lon, lat = crs_.transformer(crs, crs_.STORAGE).transform(x, y)
    geometry = shapely.points(np.asarray(lon), np.asarray(lat))
    if isinstance(points, gpd.GeoSeries):
        return gpd.GeoSeries(geometry, index=points.index, crs=WGS84)
    out = points.copy()
    out = out.set_geometry(gpd.GeoSeries(geometry, index=points.index, crs=WGS84))
    return out.set_crs(WGS84, allow_override=True)


@dataclass
class VisibleIncidents:
    """What one role may see of a set of incidents.

    Attributes
    ----------
    points : GeoDataFrame
        Incidents whose exact location the role may see (possibly empty).
    cells : GeoDataFrame or None
        Suppressed hexagon counts of every other incident (:func:`aggregate_to_hex`), or None when
        nothing was withheld.
    n_withheld : int
        Number of incidents shown only through ``cells``.
    """

    role: str
    points: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame | None
    n_withheld: int


def visible_incidents(
    incidents: gpd.GeoDataFrame,
    role: str,
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry,
    crs: str | CRS,
    cell_size_m: float = DEFAULT_PRIVACY_CELL_M,
    threshold: int = DEFAULT_THRESHOLD,
    type_column: str = "type_code",
) -> VisibleIncidents:
    """Split incidents into what ``role`` sees exactly and what it sees only aggregated.

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents in EPSG:4326 with a ``type_column``.
    role : str
        One of :data:`ROLES`.
    area, crs, cell_size_m, threshold
        Passed to :func:`aggregate_to_hex` for the withheld incidents.

    Returns
    -------
    VisibleIncidents
    """
    _check_role(role)
    # Same rule as can_see_exact_points, vectorised over the type column.
    sensitive = incidents[type_column].isin(SENSITIVE_TYPES).to_numpy()
    allowed = np.where(sensitive, role in SENSITIVE_EXACT_ROLES, role in EXACT_POINT_ROLES)
    exact = incidents[allowed]
    withheld = incidents[~allowed]
    cells = aggregate_to_hex(withheld, area, crs, cell_size_m, threshold) if len(withheld) else None
    return VisibleIncidents(role=role, points=exact, cells=cells, n_withheld=int(len(withheld)))
