"""Reading layers for display, with what each role may see applied before anything leaves.

Pages call these functions; they never query tables themselves.  Incident points leave this module
only for roles allowed to see them (:func:`geo.privacy.can_see_exact_points`); every other role
gets hexagon counts with small counts suppressed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

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


def _aggregate_args(
    slug: str,
    threshold: int,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    types: Sequence[str] | None,
    min_severity: int,
) -> dict:
    return {
        "slug": slug,
        "threshold": int(threshold),
        "date_from": date_from,
        "date_to": date_to,
        "types": list(types) if types else None,
        "min_severity": int(min_severity),
    }


_COMMUNITY_ID = "(SELECT id FROM communities WHERE slug = :slug)"


def published_grid(engine: Engine, slug: str) -> dict[str, float]:
    """The hexagon sides a community's aggregates are published at (migration 0005).

    Returns
    -------
    dict
        ``analysis`` (about 50 cells over the area: aggregated hotspot runs) and ``map``
        (the Map page's cells), metres.  No other size is accepted by the database.
    """
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT analysis_cell_m, map_cell_m FROM published_grids"
                f" WHERE community_id = {_COMMUNITY_ID}"
            ),
            {"slug": slug},
        ).one()
    return {"analysis": float(row.analysis_cell_m), "map": float(row.map_cell_m)}


def incident_hex_counts(
    engine: Engine,
    slug: str,
    cell_m: float | None = None,
    threshold: int = 5,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    types: Sequence[str] | None = None,
    min_severity: int = 1,
) -> gpd.GeoDataFrame:
    """Hexagon counts of a community's incidents from the database function
    ``incident_hex_counts`` -- what every role without the right to see points reads.

    Sensitive types are never counted; a cell below ``threshold`` (never below 5), empty cells
    included, has ``count`` NaN and ``suppressed`` True; every other count is rounded to a
    multiple of 5.  ``cell_m`` must be one of :func:`published_grid` (default: the map's);
    ``date_from`` (inclusive) and ``date_to`` (exclusive) must be the start of a month in the
    community's time zone (:func:`month_start`), and months not yet complete are left out.
    At most one type.  The database refuses anything else (migration 0005).

    Returns
    -------
    GeoDataFrame
        ``cell_id`` (``"i:j"`` of PostGIS ``ST_HexagonGrid``: flat-topped hexagons anchored at
        the origin of the community's metric CRS), ``count`` (float), ``suppressed``, ``geom``.
    """
    frame = _read(
        engine,
        "SELECT cell_id, count::float8 AS count, suppressed, geom FROM incident_hex_counts("
        f"{_COMMUNITY_ID}, CAST(:cell AS float8), :threshold, :date_from, :date_to,"
        " CAST(:types AS text[]), :min_severity)",
        {
            "cell": None if cell_m is None else float(cell_m),
            **_aggregate_args(slug, threshold, date_from, date_to, types, min_severity),
        },
    )
    return frame


def incident_time_profile(
    engine: Engine,
    slug: str,
    threshold: int = 5,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    types: Sequence[str] | None = None,
    min_severity: int = 1,
) -> tuple[pd.Series, pd.Series]:
    """Incidents per local hour (0-23) and weekday (0 = Monday) from the database function
    ``incident_time_profile``; bins below ``threshold`` are NaN, others rounded to 5.  Same
    exclusions, periods and filters as :func:`incident_hex_counts`."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT profile, bin, count FROM incident_time_profile("
                f"{_COMMUNITY_ID}, :threshold, :date_from, :date_to, CAST(:types AS text[]),"
                " :min_severity)"
            ),
            _aggregate_args(slug, threshold, date_from, date_to, types, min_severity),
        ).all()
    frame = pd.DataFrame(rows, columns=["profile", "bin", "count"]).astype({"count": float})
    hours = frame[frame["profile"] == "hour"].set_index("bin")["count"]
    days = frame[frame["profile"] == "weekday"].set_index("bin")["count"]
    hours.index = pd.RangeIndex(24, name="hour")
    days.index = pd.RangeIndex(7, name="weekday")
    return hours, days


def month_start(day: dt.date, tz: str, months: int = 0) -> dt.datetime:
    """The instant the month of ``day`` (shifted by ``months``) begins in time zone ``tz``: the
    only kind of date bound the aggregates accept.

    Parameters
    ----------
    day : date
        Any day of the month.
    tz : str
        IANA time zone of the community.
    months : int
        Months to add (negative: earlier).

    Returns
    -------
    datetime
        Timezone-aware midnight of the first day of that month.
    """
    index = day.year * 12 + day.month - 1 + months
    first = dt.date(index // 12, index % 12 + 1, 1)
    return dt.datetime.combine(first, dt.time(), ZoneInfo(tz))


def layer_counts(engine: Engine, slug: str, exact: bool = True) -> pd.Series:
    """How many rows each layer holds for a community (demo rows counted separately).

    With ``exact=False`` (roles that may not read ``incidents``) the incident count is the sum
    of the published hexagon counts (:func:`incident_hex_counts`) -- nothing the map does not
    already show -- and ``incidents_demo`` is 0.
    """
    counts = {}
    with engine.connect() as conn:
        for table in ("risk_zones", "incidents", "facilities"):
            if table == "incidents" and not exact:
                continue
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
    if not exact:
        published = incident_hex_counts(engine, slug)["count"].sum()
        counts["incidents"] = int(published)
        counts["incidents_demo"] = 0
    return pd.Series(counts)
