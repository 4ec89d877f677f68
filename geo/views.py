"""Reading layers for display, with what each role may see applied before anything leaves.

Pages call these functions; they never query tables themselves.  Incident points leave this module
only for roles allowed to see them (:func:`geo.privacy.can_see_exact_points`); every other role
gets hexagon counts with small counts suppressed.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, text

STREET_COLUMNS = "id, name, highway, length_m, geom"


def _read(engine: Engine, sql: str, params: dict) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)


def communities(engine: Engine) -> gpd.GeoDataFrame:
    """Every community with its parent's slug, ordered parents first."""
    return _read(
        engine,
        "SELECT c.id, c.slug, c.name, c.kind, c.county, c.country, c.timezone, c.metric_crs,"
        " p.slug AS parent_slug, c.description, c.geom FROM communities c"
        " LEFT JOIN communities p ON p.id = c.parent_id"
        " ORDER BY c.parent_id NULLS FIRST, c.name",
        {},
    )


def community(engine: Engine, slug: str) -> gpd.GeoSeries | None:
    """One community row, or None."""
    frame = communities(engine)
    match = frame[frame["slug"] == slug]
    return None if match.empty else match.iloc[0]


def settlements(engine: Engine, slug: str) -> gpd.GeoDataFrame:
    """The settlements inside a community (Cantonului, Dallas, Rampa, Colina Verde …)."""
    frame = communities(engine)
    return frame[frame["parent_slug"] == slug].reset_index(drop=True)


def streets(engine: Engine, slug: str) -> gpd.GeoDataFrame:
    """The bundled OSM street layer of a community."""
    return _read(
        engine,
        "SELECT s.name, s.highway, s.length_m, s.geom FROM streets s"
        " JOIN communities c ON c.id = s.community_id WHERE c.slug = :slug",
        {"slug": slug},
    )


def _within_community(table: str, columns: str) -> str:
    # Settlements share their parent's layers: a zone drawn in Dallas belongs to Pata Rât too.
    return (
        f"SELECT {columns} FROM {table} t JOIN communities c ON c.id = t.community_id"
        " WHERE c.slug = :slug OR c.parent_id = (SELECT id FROM communities WHERE slug = :slug)"
        " OR t.community_id = (SELECT parent_id FROM communities WHERE slug = :slug)"
    )


def risk_zones(engine: Engine, slug: str) -> gpd.GeoDataFrame:
    """Workshop risk zones of a community (and of its settlements or parent)."""
    return _read(
        engine,
        _within_community(
            "risk_zones",
            "t.id, t.workshop_id, t.hazard_code, t.severity, t.time_of_day, t.season, t.note,"
            " t.source, t.is_demo, t.created_at, t.geom",
        ),
        {"slug": slug},
    )


def facilities(engine: Engine, slug: str) -> gpd.GeoDataFrame:
    """Facilities and bus stops of a community."""
    return _read(
        engine,
        _within_community(
            "facilities", "t.id, t.kind, t.name, t.routes, t.source, t.is_demo, t.geom"
        ),
        {"slug": slug},
    )


def incident_points(engine: Engine, slug: str) -> gpd.GeoDataFrame:
    """Exact incident points, unfiltered by role: only for analysis code, never for display.

    Display goes through :func:`incidents_for_role`.
    """
    return _read(
        engine,
        _within_community(
            "incidents",
            "t.id, t.occurred_at, t.type_code, t.severity, t.sensitivity, t.status,"
            " t.location_precision, t.is_demo, t.geom",
        ),
        {"slug": slug},
    )


def layer_counts(engine: Engine, slug: str) -> pd.Series:
    """How many rows each layer holds for a community (demo rows counted separately)."""
    counts = {}
    with engine.connect() as conn:
        for table in ("risk_zones", "incidents", "facilities"):
            sql = _within_community(
                table, "count(*) FILTER (WHERE NOT t.is_demo), count(*) FILTER (WHERE t.is_demo)"
            )
            real, demo = conn.execute(text(sql), {"slug": slug}).one()
            counts[table] = real
            counts[f"{table}_demo"] = demo
        counts["streets"] = conn.execute(
            text(
                "SELECT count(*) FROM streets s JOIN communities c ON c.id = s.community_id"
                " WHERE c.slug = :slug"
            ),
            {"slug": slug},
        ).scalar_one()
    return pd.Series(counts)
