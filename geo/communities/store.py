"""Writing a community's rows: the ``communities`` upsert (area, CRS, time zone and parent only
through the logged ``harta_change_community_frame``), its streets, places and stops."""

from __future__ import annotations

import hashlib
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.communities.errors import CommunityDataError
from geo.communities.model import Community, UnknownCommunity


def _parent_id(conn: Connection, parent: str | None) -> int | None:
    if parent is None:
        return None
    try:
        return Community.load(conn, parent).id
    except UnknownCommunity:
        raise CommunityDataError(
            f"field 'parent': community {parent!r} is not in the database"
        ) from None


_UPSERT_COMMUNITY = text(
    """
    INSERT INTO communities (slug, name, county, country, timezone, metric_crs, parent_id, kind,
        description, source_dir, attribution, geom, source, source_ref, created_by_role, is_demo)
    VALUES (:slug, :name, :county, :country, :timezone, :metric_crs, :parent_id, :kind,
        :description, :source_dir, :attribution, ST_Multi(ST_GeomFromText(:wkt, 4326)),
        'import', :source_ref, :created_by_role, false)
    ON CONFLICT (slug) DO UPDATE SET
        name = excluded.name, county = excluded.county, country = excluded.country,
        kind = excluded.kind,
        description = excluded.description, source_dir = excluded.source_dir,
        attribution = excluded.attribution,
        source_ref = excluded.source_ref
    -- Only a real change writes (and audits) an update.  Area, CRS, time zone and parent go
    -- through harta_change_community_frame (migration 0005, logged): _CHANGE_FRAME.
    WHERE (communities.name, communities.county, communities.country, communities.kind,
           communities.description, communities.source_dir, communities.attribution,
           communities.source_ref)
        IS DISTINCT FROM
          (excluded.name, excluded.county, excluded.country, excluded.kind,
           excluded.description, excluded.source_dir, excluded.attribution,
           excluded.source_ref)
    RETURNING id, (xmax = 0) AS created
    """
)


_CHANGE_FRAME = text(
    """
    SELECT harta_change_community_frame(c.id, :reason, ST_GeomFromText(:wkt, 4326),
        :metric_crs, :timezone, :parent_id, true)
      FROM communities c
     WHERE c.slug = :slug
       AND (c.timezone, c.metric_crs, c.parent_id, ST_AsEWKB(c.geom)) IS DISTINCT FROM
           (CAST(:timezone AS text), CAST(:metric_crs AS integer), CAST(:parent_id AS integer),
            ST_AsEWKB(ST_Multi(ST_GeomFromText(:wkt, 4326))))
    """
)


def _upsert_community(
    conn: Connection, row: dict[str, Any], parent_id: int | None, source_dir: str
) -> tuple[int, bool]:
    params = dict(row, parent_id=parent_id, source_dir=source_dir)
    written = conn.execute(_UPSERT_COMMUNITY, params).one_or_none()
    if written is not None and written.created:
        return int(written.id), True
    # An existing community's area, CRS, time zone or parent change only through the logged
    # path: they decide what its published aggregates count.
    conn.execute(_CHANGE_FRAME, dict(params, reason=f"community add: {row['source_ref']}"))
    if written is not None:
        return int(written.id), False
    return Community.load(conn, params["slug"]).id, False


def _replace_streets(conn: Connection, community_id: int, streets: gpd.GeoDataFrame | None) -> int:
    conn.execute(text("DELETE FROM streets WHERE community_id = :c"), {"c": community_id})
    if streets is None or streets.empty:
        return 0
    rows = [
        {
            "c": community_id,
            "u": int(r.u),
            "v": int(r.v),
            "key": int(r.key),
            "osm_id": None if pd.isna(r.osm_id) else int(r.osm_id),
            "name": _text_or_none(r.name),
            "highway": _text_or_none(r.highway),
            "oneway": None if r.oneway is None or pd.isna(r.oneway) else bool(r.oneway),
            "maxspeed_kph": _float_or_none(r.maxspeed_kph),
            "length_m": float(r.length_m),
            "drive_time_s": _float_or_none(r.drive_time_s),
            "walk_time_s": _float_or_none(r.walk_time_s),
            "wkt": r.geometry.wkt,
        }
        for r in streets.itertuples(index=False)
    ]
    conn.execute(
        text(
            "INSERT INTO streets (community_id, u, v, key, osm_id, name, highway, oneway,"
            " maxspeed_kph, length_m, drive_time_s, walk_time_s, source, geom)"
            " VALUES (:c, :u, :v, :key, :osm_id, :name, :highway, :oneway, :maxspeed_kph,"
            " :length_m, :drive_time_s, :walk_time_s, 'osm', ST_GeomFromText(:wkt, 4326))"
        ),
        rows,
    )
    return len(rows)


def _replace_places(conn: Connection, community_id: int, places: gpd.GeoDataFrame) -> int:
    conn.execute(text("DELETE FROM places WHERE community_id = :c"), {"c": community_id})
    if places.empty:
        return 0
    rows = [
        {
            "c": community_id,
            "osm_type": _text_or_none(r.osm_type),
            "osm_id": None if pd.isna(r.osm_id) else int(r.osm_id),
            "name": _text_or_none(r.name),
            "place": _text_or_none(r.place),
            "wkt": r.geometry.wkt,
        }
        for r in places.itertuples(index=False)
    ]
    conn.execute(
        text(
            "INSERT INTO places (community_id, osm_type, osm_id, name, place, source, geom)"
            " VALUES (:c, :osm_type, :osm_id, :name, :place, 'osm',"
            " ST_GeomFromText(:wkt, 4326))"
        ),
        rows,
    )
    return len(rows)


def stop_row_hash(stop_id: str, name: str, routes: str, lon: float, lat: float) -> str:
    """Content hash of a stop as imported (a changed name, route list or position is new).

    Parameters
    ----------
    stop_id : str
        The stop's id in its feed.
    name : str
        The stop's name.
    routes : str
        The routes serving it, as stored.
    lon, lat : float
        Position in EPSG:4326 degrees (hashed to 7 decimals, about 1 cm).

    Returns
    -------
    str
        Hex SHA-256 digest.
    """
    key = f"gtfs|{stop_id}|{name}|{routes}|{lon:.7f}|{lat:.7f}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _sync_stops(
    conn: Connection, community_id: int, stops: gpd.GeoDataFrame | None, role: str, slug: str
) -> tuple[int, int]:
    """Insert new stops, keep unchanged ones, delete this community's stops no longer listed."""
    if stops is None:
        return 0, 0
    rows = []
    for r in stops.itertuples(index=False):
        name, routes = str(r.name or ""), str(r.routes or "")
        rows.append(
            {
                "c": community_id,
                "name": name or None,
                "routes": routes or None,
                "ref": str(r.stop_id),
                "source_ref": f"gtfs:{slug}/stops.geojson",
                "row_hash": stop_row_hash(str(r.stop_id), name, routes, r.geometry.x, r.geometry.y),
                "role": role,
                "wkt": r.geometry.wkt,
            }
        )
    added = 0
    if rows:
        result = conn.execute(
            text(
                "INSERT INTO facilities (community_id, kind, name, routes, external_ref, source,"
                " source_ref, row_hash, created_by_role, is_demo, geom)"
                " VALUES (:c, 'bus_stop', :name, :routes, :ref, 'gtfs', :source_ref, :row_hash,"
                " :role, false, ST_GeomFromText(:wkt, 4326))"
                " ON CONFLICT ON CONSTRAINT facilities_row_once DO NOTHING"
            ),
            rows,
        )
        added = max(result.rowcount, 0)
    conn.execute(
        text(
            "DELETE FROM facilities WHERE community_id = :c AND source = 'gtfs'"
            " AND kind = 'bus_stop' AND NOT (row_hash = ANY(:hashes))"
        ),
        {"c": community_id, "hashes": [row["row_hash"] for row in rows]},
    )
    return len(rows), added


def _text_or_none(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _float_or_none(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
