"""Listing communities (one :class:`~geo.communities.Community` is loaded with
:meth:`Community.load`)."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Engine, text

from geo.communities.files import _optional

_LIST_SQL = """
    SELECT c.id, c.slug, c.name, c.kind, p.slug AS parent_slug, c.county, c.country,
           c.timezone, c.metric_crs, c.description, c.attribution, c.source_dir, c.geom
    FROM communities c LEFT JOIN communities p ON p.id = c.parent_id
"""


def list_communities(engine: Engine) -> gpd.GeoDataFrame:
    """All communities: ``id``, ``slug``, ``name``, ``kind``, ``parent_slug``, ``county``,
    ``country``, ``timezone``, ``metric_crs``, ``bounds`` (min lon, min lat, max lon, max lat),
    ``description``, ``attribution``, ``source_dir`` and the boundary ``geometry`` (EPSG:4326).

    Top-level communities come first, each followed by its settlements.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Database to read.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per community with the columns above (EPSG:4326); optional columns are null
        when unset.
    """
    order = " ORDER BY COALESCE(p.slug, c.slug), c.parent_id NULLS FIRST, c.slug"
    with engine.connect() as conn:
        frame = gpd.read_postgis(text(_LIST_SQL + order), conn, geom_col="geom", crs="EPSG:4326")
    frame = frame.rename_geometry("geometry")
    frame["bounds"] = [tuple(float(v) for v in g.bounds) for g in frame.geometry]
    for column in ("parent_slug", "county", "description", "attribution", "source_dir"):
        frame[column] = _optional(frame, column)
    columns = [
        "id",
        "slug",
        "name",
        "kind",
        "parent_slug",
        "county",
        "country",
        "timezone",
        "metric_crs",
        "bounds",
        "description",
        "attribution",
        "source_dir",
        "geometry",
    ]
    return frame[columns]
