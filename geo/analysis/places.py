"""Hot spots by street and place: the list police read ("Strada X, Dallas") beside the map.

Each hot spot (a significant Gi* hexagon) is described by

* its **anchor**: where its incidents are -- the mean of the incident points the role may see
  inside the hexagon (police, mediators), else the hexagon's centre (aggregated runs only know
  the cell);
* the **nearest named street** to the anchor, from the community's street layer (the bundled
  OSM network, ``streets`` table), with its distance in metres, measured in the community's
  metric CRS;
* the **place**: the settlement the anchor lies in (within the one area tolerance), else the
  named place or neighbourhood it lies in or is nearest to (``places`` table, OSM), else the
  community itself.

Nothing here reads incidents: the run already holds what its role may see.  This module never
imports Streamlit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from geo import views
from geo.communities.model import AREA_TOLERANCE_M, Community
from geo.crs import STORAGE as WGS84

#: A street farther than this from a hot spot is not named for it (metres).
MAX_STREET_M = 400.0
#: A place point (a suburb's label point) farther than this is not named (metres).
MAX_PLACE_M = 2500.0
#: OSM place kinds too large to say where a hot spot is (the whole city contains them all).
TOO_LARGE = frozenset({"city", "town", "municipality", "county", "state", "region", "country"})
COLUMNS = ["cell_id", "gi_bin", "count", "street", "street_m", "place", "lon", "lat"]


def hotspot_anchors(cells: gpd.GeoDataFrame, points: gpd.GeoDataFrame | None) -> gpd.GeoSeries:
    """Where each hot spot's incidents are: the mean of the points inside it, else its centre.

    Parameters
    ----------
    cells : GeoDataFrame
        Hot spot hexagons (EPSG:4326).
    points : GeoDataFrame or None
        Incident points the role may see (EPSG:4326); empty or None for aggregated runs.

    Returns
    -------
    GeoSeries
        One point per cell, same index, EPSG:4326.
    """
    cells = cells.to_crs(WGS84)
    anchors = cells.geometry.representative_point()
    if points is None or not len(points) or not len(cells):
        return gpd.GeoSeries(anchors, index=cells.index, crs=WGS84)
    pts = points.to_crs(WGS84).geometry
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=pts.values, crs=WGS84),
        gpd.GeoDataFrame(geometry=cells.geometry.values, index=cells.index, crs=WGS84),
        predicate="within",
    )
    if len(joined):
        xy = pd.DataFrame(
            {"x": joined.geometry.x, "y": joined.geometry.y, "cell": joined["index_right"]}
        )
        means = xy.groupby("cell")[["x", "y"]].mean()
        for cell, row in means.iterrows():
            anchors.loc[cell] = shapely.Point(row.x, row.y)
    return gpd.GeoSeries(anchors, index=cells.index, crs=WGS84)


def nearest_streets(
    anchors: gpd.GeoSeries, streets: gpd.GeoDataFrame, community: Community
) -> pd.DataFrame:
    """The nearest named street to each anchor and its distance, in the community's CRS.

    Parameters
    ----------
    anchors : GeoSeries
        Points (EPSG:4326).
    streets : GeoDataFrame
        ``name`` and line geometry (EPSG:4326); unnamed segments are skipped.
    community : Community
        Its metric CRS measures the distances.

    Returns
    -------
    DataFrame
        ``street`` (None beyond :data:`MAX_STREET_M` or with no named street) and ``street_m``,
        indexed like ``anchors``.
    """
    out = pd.DataFrame({"street": None, "street_m": np.nan}, index=anchors.index)
    if streets is None or not len(streets) or not len(anchors):
        return out
    named = streets[streets["name"].notna() & (streets["name"].astype(str).str.strip() != "")]
    if not len(named):
        return out
    lines = named.geometry.set_crs(WGS84, allow_override=named.crs is None).to_crs(community.crs)
    tree = shapely.STRtree(np.asarray(lines.values))
    where = anchors.to_crs(community.crs)
    (i_anchor, i_street), dist = tree.query_nearest(
        np.asarray(where.values), return_distance=True, all_matches=False
    )
    names = named["name"].astype(str).to_numpy()
    for a, s, d in zip(i_anchor, i_street, dist, strict=True):
        if d <= MAX_STREET_M:
            out.iloc[a] = [names[s], round(float(d))]
    return out


def _places(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    # Named OSM places stored with the community (neighbourhoods, suburbs, the city).
    sql = "SELECT name, place, geom FROM places WHERE community_id = :c AND name IS NOT NULL"
    with engine.connect() as conn:
        found = gpd.read_postgis(text(sql), conn, geom_col="geom", params={"c": community.id})
    return found[~found["place"].isin(TOO_LARGE)]


def place_names(
    anchors: gpd.GeoSeries,
    community: Community,
    settlements: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
) -> pd.Series:
    """The settlement, else the neighbourhood or named place, of each anchor.

    Parameters
    ----------
    anchors : GeoSeries
        Points (EPSG:4326).
    community : Community
    settlements : GeoDataFrame
        ``name`` and area (EPSG:4326), e.g. :func:`geo.views.settlements`.
    places : GeoDataFrame
        ``name`` and point or area (EPSG:4326): OSM places.

    Returns
    -------
    Series of str
        Indexed like ``anchors``; the community's name when nothing nearer is known.
    """
    where = anchors.to_crs(community.crs)
    names = pd.Series(community.name, index=anchors.index, dtype=object)
    found = np.zeros(len(where), dtype=bool)
    for layer, reach, areas_only in (
        (settlements, AREA_TOLERANCE_M, True),
        (places, 0.0, True),
        (places, MAX_PLACE_M, False),
    ):
        if layer is None or not len(layer) or found.all():
            continue
        geoms = layer.geometry.set_crs(WGS84, allow_override=layer.crs is None).to_crs(
            community.crs
        )
        keep = np.asarray(geoms.geom_type.str.contains("Polygon")) if areas_only else None
        candidates = geoms[keep] if keep is not None else geoms
        labels = layer["name"].astype(str).to_numpy()[keep] if keep is not None else None
        labels = labels if labels is not None else layer["name"].astype(str).to_numpy()
        if not len(candidates):
            continue
        tree = shapely.STRtree(np.asarray(candidates.values))
        todo = np.flatnonzero(~found)
        (i_a, i_c), dist = tree.query_nearest(
            np.asarray(where.values)[todo], return_distance=True, all_matches=False
        )
        for a, c, d in zip(i_a, i_c, dist, strict=True):
            if d <= reach and not found[todo[a]]:
                names.iloc[todo[a]] = labels[c]
                found[todo[a]] = True
    return names


def hotspot_places(
    engine: Engine,
    community: Community,
    cells: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame | None,
    streets: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """The hot spots of a run with the nearest street and place, hottest first.

    Parameters
    ----------
    engine : Engine
        Reads the community's settlements and named places.
    community : Community
    cells : GeoDataFrame
        The hot spot hexagons (``cell_id``, ``gi_bin``, ``count``; EPSG:4326), e.g.
        ``run.hotspots.hot_cells()``.
    points : GeoDataFrame or None
        The incident points the run's role may see (``run.visible.points``).
    streets : GeoDataFrame
        :func:`geo.views.streets` of the community.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`: ``street`` may be None (no named street within
        :data:`MAX_STREET_M`), ``street_m`` metres (from the anchor), ``lon``/``lat`` of the
        cell's centre.
    """
    if cells is None or not len(cells):
        return pd.DataFrame(columns=COLUMNS)
    anchors = hotspot_anchors(cells, points)
    centres = cells.to_crs(community.crs).geometry.centroid.to_crs(WGS84)
    found = nearest_streets(anchors, streets, community)
    place = place_names(
        anchors, community, views.settlements(engine, community), _places(engine, community)
    )
    table = pd.DataFrame(
        {
            "cell_id": cells["cell_id"].to_numpy() if "cell_id" in cells else cells.index,
            "gi_bin": cells["gi_bin"].to_numpy(),
            "count": pd.to_numeric(cells.get("count"), errors="coerce").to_numpy(),
            "street": found["street"].to_numpy(),
            "street_m": found["street_m"].to_numpy(),
            "place": place.to_numpy(),
            # The hot spot is its cell, so the list locates it by the cell's centre: the mean
            # of the incidents (used for the street) is an incident's own point when a cell
            # holds one, which a list copied out of the app should not carry.
            "lon": centres.x.round(5).to_numpy(),
            "lat": centres.y.round(5).to_numpy(),
        }
    )
    return table.sort_values(["gi_bin", "count"], ascending=False, na_position="last").reset_index(
        drop=True
    )
