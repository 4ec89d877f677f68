"""What the community map draws of the incidents, sized for a page (issue 11 item 11): the
published hexagon counts for roles without exact points; for police and mediators their points
when few enough (or in the view at street zoom), else clusters counted in the database.  A page
sends what the screen shows, not the data set.

It lives in the analysis layer because it joins the database views (:mod:`geo.views`), the
privacy rules (:mod:`geo.privacy`) and the map's limits (:mod:`geo.maps.aggregates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine

from geo import views
from geo.communities.model import Community
from geo.hexgrid.grid import WGS84
from geo.maps.aggregates import MAX_MAP_POINTS, STREET_ZOOM, cluster_cell_m
from geo.privacy import (
    DEFAULT_PRIVACY_CELL_M,
    EXACT_POINT_ROLES,
    VisibleIncidents,
    visible_incidents,
)
from geo.roles import may


@dataclass(frozen=True)
class MapView:
    """Where a map is looking: ``(west, south, east, north)`` in degrees and Leaflet's zoom."""

    bounds: tuple[float, float, float, float]
    zoom: int

    @property
    def center(self) -> tuple[float, float]:
        """``(lat, lon)`` of the middle of the view (as ``st_folium(center=...)`` takes it)."""
        west, south, east, north = self.bounds
        return ((south + north) / 2, (west + east) / 2)

    @classmethod
    def from_frame(cls, returned: Any) -> MapView | None:
        """The view ``st_folium`` returned (``returned_objects=["zoom", "bounds"]``), if any.

        Parameters
        ----------
        returned : dict or None
            ``{"zoom": int, "bounds": {"_southWest": {"lat", "lng"}, "_northEast": ...}}``.

        Returns
        -------
        MapView or None
            None when the frame sent nothing usable (first draw, missing keys).
        """
        try:
            sw, ne = returned["bounds"]["_southWest"], returned["bounds"]["_northEast"]
            bounds = (float(sw["lng"]), float(sw["lat"]), float(ne["lng"]), float(ne["lat"]))
            return cls(bounds, int(returned["zoom"]))
        except (KeyError, TypeError, ValueError):
            return None


def map_incidents(
    engine: Engine,
    community: Community,
    role: str,
    threshold: int,
    *,
    view: MapView | None = None,
    max_points: int = MAX_MAP_POINTS,
) -> tuple[VisibleIncidents, pd.DataFrame | None]:
    """What the community map draws of the incidents for ``role``, sized for a page.

    * Roles without exact points: the published hexagon counts (``incident_hex_counts`` on the
      map grid), as before; never points, never clusters.
    * Police and mediators: their points when there are at most ``max_points`` (in the view,
      when ``view`` is at :data:`~geo.maps.aggregates.STREET_ZOOM` or closer); else clusters
      counted in the database (:func:`geo.views.incident_clusters`) -- of the view, about 40
      cells across it, when a view is given -- so 100,000 incidents never leave the server as
      100,000 markers.  Row-level security applies to both.

    Parameters
    ----------
    engine : Engine
        Acting as ``role``.
    community : Community
    role : str
    threshold : int
        Suppression threshold of the hexagon counts.
    view : MapView, optional
        Where the map looks (from the previous draw).
    max_points : int

    Returns
    -------
    VisibleIncidents
        As :func:`geo.privacy.visible_incidents` (points empty when clusters are drawn).
    DataFrame or None
        The clusters (``n``, ``lon``, ``lat``, ``is_demo``), or None when points are drawn.
    """
    if role not in EXACT_POINT_ROLES:
        cells = views.incident_hex_counts(engine, community, DEFAULT_PRIVACY_CELL_M, threshold)
        return VisibleIncidents(role, points=cells.iloc[0:0], cells=cells, n_withheld=1), None
    sensitive = may(role, "incidents.read_sensitive")
    # Clusters of what the screen shows (the view's incidents in about 40 cells across it, or
    # the whole area's); one scan of the member rows, which also says how many there are.
    box = view.bounds if view is not None else None
    cell = _view_cell_m(community, box) if box else cluster_cell_m(community.area_m2)
    clusters = views.incident_clusters(
        engine, community, cell, include_sensitive=sensitive, bounds=box
    )
    few = int(clusters["n"].sum()) <= max_points
    if few and (view is None or view.zoom >= STREET_ZOOM):
        incidents = views.incident_points(engine, community, box)
        area = gpd.GeoDataFrame({"name": [community.name]}, geometry=[community.geometry], crs=4326)
        return visible_incidents(incidents, role, area, community.crs, threshold=threshold), None
    empty = gpd.GeoDataFrame({"type_code": [], "occurred_at": []}, geometry=[], crs=WGS84)
    return VisibleIncidents(role, points=empty, cells=None, n_withheld=0), clusters


def _view_cell_m(community: Community, bounds: tuple[float, float, float, float]) -> float:
    """Cluster cell side for a view: about 40 cells across its longer side, at least 5 m."""
    west, south, east, north = bounds
    x, y = community.to_metric.transform([west, east], [south, north])
    return max(5.0, max(abs(x[1] - x[0]), abs(y[1] - y[0])) / 40.0)
