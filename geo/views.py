"""Reading layers for display, with what each role may see applied before anything leaves.

Pages call these functions; they never query tables themselves.  Incident points leave this module
only for roles allowed to see them (:func:`geo.privacy.can_see_exact_points`); every other role
gets hexagon counts with small counts suppressed.

Every function takes the :class:`~geo.communities.Community` the page loaded once.  Which rows
belong to it is decided by the database's one membership rule, ``harta_member_rows``
(migration 0007; :func:`members`), for the points police see and for the counts everyone else
sees alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from geo.communities.model import Community

STREET_COLUMNS = "id, name, highway, length_m, geom"


def _read(engine: Engine, sql: str, params: dict) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text(sql), conn, params=params)
    # As gpd.read_postgis, but the WKB decoded in one vectorised call (read_postgis decodes row
    # by row: 0.6 s of every hot spot page at 100,000 incidents); the CRS from the first SRID.
    geoms = shapely.from_wkb(frame["geom"].to_numpy())
    present = geoms[~shapely.is_missing(geoms)]
    srid = int(shapely.get_srid(present[0])) if len(present) else 0
    return gpd.GeoDataFrame(frame.assign(geom=geoms), geometry="geom", crs=srid or None)


def communities(engine: Engine) -> gpd.GeoDataFrame:
    """Every community with its parent's slug, ordered parents first.

    Parameters
    ----------
    engine : Engine
        Any role's engine (every role may read ``communities``).

    Returns
    -------
    GeoDataFrame
        ``id``, ``slug``, ``name``, ``kind``, ``county``, ``country``, ``timezone``,
        ``metric_crs``, ``parent_slug``, ``description``, ``geom`` (EPSG:4326).
    """
    return _read(
        engine,
        "SELECT c.id, c.slug, c.name, c.kind, c.county, c.country, c.timezone, c.metric_crs,"
        " p.slug AS parent_slug, c.description, c.geom FROM communities c"
        " LEFT JOIN communities p ON p.id = c.parent_id"
        " ORDER BY c.parent_id NULLS FIRST, c.name",
        {},
    )


def settlements(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """The settlements of a community (Cantonului, Dallas, Rampa, Colina Verde …).

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    GeoDataFrame
        Columns of :func:`communities`; empty for a settlement.
    """
    return _read(
        engine,
        "SELECT c.id, c.slug, c.name, c.kind, c.county, c.country, c.timezone, c.metric_crs,"
        " p.slug AS parent_slug, c.description, c.geom FROM communities c"
        " JOIN communities p ON p.id = c.parent_id WHERE c.parent_id = :c ORDER BY c.name",
        {"c": community.id},
    )


def streets(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """The bundled OSM street layer of a community (a settlement has its own, clipped copy).

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    GeoDataFrame
        ``name``, ``highway``, ``length_m``, ``geom`` (EPSG:4326).
    """
    return _read(
        engine,
        "SELECT s.name, s.highway, s.length_m, s.geom FROM streets s WHERE s.community_id = :c",
        {"c": community.id},
    )


def members(table: str, columns: str) -> str:
    """SQL reading ``columns`` of the rows of ``table`` that belong to community ``:c``.

    Membership is the database's one rule, ``harta_member_rows`` (migration 0007): rows of the
    community, its settlements and its parent that lie within the area tolerance of the
    community's area.  Row-level security of the caller applies.

    Parameters
    ----------
    table : str
        A table with ``id``, ``community_id`` and ``geom`` (a constant of the calling code,
        never user input).
    columns : str
        Columns of ``t`` (the table) to select.

    Returns
    -------
    str
        SQL with one parameter, ``:c`` (the community id).
    """
    return (
        f"SELECT {columns} FROM harta_member_rows(:c, '{table}') AS m"
        f" JOIN {table} AS t ON t.id = m.id"
    )


def risk_zones(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """Workshop risk zones that belong to a community (:func:`members`).

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    GeoDataFrame
        ``id``, ``workshop_id``, ``hazard_code``, ``severity``, ``time_of_day``, ``season``,
        ``note``, ``source``, ``is_demo``, ``created_at``, ``geom``.
    """
    return _read(
        engine,
        members(
            "risk_zones",
            "t.id, t.workshop_id, t.hazard_code, t.severity, t.time_of_day, t.season, t.note,"
            " t.source, t.is_demo, t.created_at, t.geom",
        )
        + " ORDER BY t.id",
        {"c": community.id},
    )


def facilities(engine: Engine, community: Community) -> gpd.GeoDataFrame:
    """Facilities and bus stops that belong to a community (:func:`members`).

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    GeoDataFrame
        ``id``, ``kind``, ``name``, ``routes``, ``source``, ``is_demo``, ``geom``.
    """
    return _read(
        engine,
        members("facilities", "t.id, t.kind, t.name, t.routes, t.source, t.is_demo, t.geom")
        + " ORDER BY t.id",
        {"c": community.id},
    )


def incident_points(
    engine: Engine, community: Community, bounds: Sequence[float] | None = None
) -> gpd.GeoDataFrame:
    """Exact incident points that belong to a community, as far as the engine's role may read
    them (row-level security): only for police/mediator pages and analysis code.

    Display to other roles goes through :func:`incident_hex_counts`.

    Parameters
    ----------
    engine : Engine
    community : Community
    bounds : (west, south, east, north), optional
        Only the points in this box (degrees): the view of a map at street zoom.

    Returns
    -------
    GeoDataFrame
        ``id``, ``occurred_at``, ``type_code``, ``severity``, ``sensitivity``, ``status``,
        ``location_precision``, ``is_demo``, ``geom``.
    """
    sql = members(
        "incidents",
        "t.id, t.occurred_at, t.type_code, t.severity, t.sensitivity, t.status,"
        " t.location_precision, t.is_demo, t.geom",
    )
    where, params = _in_box(bounds)
    return _read(engine, sql + where + " ORDER BY t.id", {"c": community.id, **params})


def _in_box(bounds: Sequence[float] | None) -> tuple[str, dict]:
    """A ``WHERE`` clause keeping the rows ``t`` in a (west, south, east, north) box."""
    if bounds is None:
        return "", {}
    west, south, east, north = (float(v) for v in bounds)
    return (
        # ST_Intersects, not &&: index boxes are rounded outwards (float4).
        " WHERE ST_Intersects(t.geom, ST_MakeEnvelope(:west, :south, :east, :north, 4326))",
        {"west": west, "south": south, "east": east, "north": north},
    )


def incident_clusters(
    engine: Engine,
    community: Community,
    cell_m: float,
    *,
    include_sensitive: bool,
    bounds: Sequence[float] | None = None,
) -> pd.DataFrame:
    """The incident points of :func:`incident_points`, grouped in the database per square cell
    of ``cell_m`` metres of the community's metric CRS: what a map of police or mediators
    draws when it would hold too many points to send (issue 11 item 11).

    Row-level security applies (mediators never read sensitive rows); sensitive types are also
    left out here unless ``include_sensitive`` (the role may see them).

    Parameters
    ----------
    engine : Engine
        Acting as a role that may read points.
    community : Community
    cell_m : float
        Side of the square cells, metres.
    include_sensitive : bool
    bounds : (west, south, east, north), optional
        Only the points in this box (degrees).

    Returns
    -------
    DataFrame
        One row per non-empty cell: ``n`` (incidents), ``lon``, ``lat`` (their mean position),
        ``is_demo`` (any of them is demo data).
    """
    where, params = _in_box(bounds)
    if not include_sensitive:
        where += (
            " AND " if where else " WHERE "
        ) + "NOT harta_is_sensitive(t.type_code, t.sensitivity)"
    sql = (
        "SELECT count(*) AS n, avg(ST_X(t.geom)) AS lon, avg(ST_Y(t.geom)) AS lat,"
        " bool_or(t.is_demo) AS is_demo FROM ("
        + members("incidents", "t.geom, t.is_demo, t.type_code, t.sensitivity, m.metric")
        + ") AS t"
        + where
        + " GROUP BY floor(ST_X(t.metric) / :cell), floor(ST_Y(t.metric) / :cell)"
        " ORDER BY 2, 3"
    )
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"c": community.id, "cell": float(cell_m), **params}).all()
    return pd.DataFrame(rows, columns=["n", "lon", "lat", "is_demo"])


def _aggregate_args(
    community: Community,
    threshold: int,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    types: Sequence[str] | None,
    min_severity: int,
) -> dict:
    return {
        "c": community.id,
        "threshold": int(threshold),
        "date_from": date_from,
        "date_to": date_to,
        "types": list(types) if types else None,
        "min_severity": int(min_severity),
    }


def published_grid(engine: Engine, community: Community) -> dict[str, float]:
    """The hexagon sides a community's aggregates are published at (migration 0005).

    Parameters
    ----------
    engine : Engine
    community : Community

    Returns
    -------
    dict
        ``analysis`` (about 50 cells over the area: aggregated hotspot runs) and ``map``
        (the Map page's cells), metres.  No other size is accepted by the database.
    """
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT analysis_cell_m, map_cell_m FROM published_grids WHERE community_id = :c"),
            {"c": community.id},
        ).one()
    return {"analysis": float(row.analysis_cell_m), "map": float(row.map_cell_m)}


def incident_hex_counts(
    engine: Engine,
    community: Community,
    cell_m: float | None = None,
    threshold: int = 5,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    types: Sequence[str] | None = None,
    min_severity: int = 1,
) -> gpd.GeoDataFrame:
    """Hexagon counts of a community's incidents from the database function
    ``incident_hex_counts`` -- what every role without the right to see points reads.

    The incidents counted are the community's members (:func:`members`: the same rows
    :func:`incident_points` gives police).  Sensitive types are never counted; a cell below
    ``threshold`` (never below 5), empty cells included, has ``count`` NaN and ``suppressed``
    True; every other count is rounded to a multiple of 5.  ``cell_m`` must be one of
    :func:`published_grid` (default: the map's); ``date_from`` (inclusive) and ``date_to``
    (exclusive) must be the start of a month in the community's time zone
    (:func:`month_start`), and months not yet complete are left out.  At most one type.  The
    database refuses anything else (migrations 0005, 0007).

    Parameters
    ----------
    engine : Engine
    community : Community
    cell_m : float, optional
    threshold : int
    date_from, date_to : datetime, optional
    types : sequence of str, optional
    min_severity : int

    Returns
    -------
    GeoDataFrame
        ``cell_id`` (``"i:j"`` of PostGIS ``ST_HexagonGrid``: flat-topped hexagons anchored at
        the origin of the community's metric CRS), ``count`` (float), ``suppressed``, ``geom``.
    """
    frame = _read(
        engine,
        "SELECT cell_id, count::float8 AS count, suppressed, geom FROM incident_hex_counts("
        ":c, CAST(:cell AS float8), :threshold, :date_from, :date_to,"
        " CAST(:types AS text[]), :min_severity)",
        {
            "cell": None if cell_m is None else float(cell_m),
            **_aggregate_args(community, threshold, date_from, date_to, types, min_severity),
        },
    )
    return frame


def incident_time_profile(
    engine: Engine,
    community: Community,
    threshold: int = 5,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    types: Sequence[str] | None = None,
    min_severity: int = 1,
) -> tuple[pd.Series, pd.Series]:
    """Incidents per local hour and weekday from the database function
    ``incident_time_profile``.

    Bins below ``threshold`` are NaN, others rounded to 5.  Same members, exclusions, periods
    and filters as :func:`incident_hex_counts`.

    Parameters
    ----------
    engine : Engine
    community : Community
    threshold, date_from, date_to, types, min_severity
        As for :func:`incident_hex_counts`.

    Returns
    -------
    hours, weekdays : pandas.Series
        Indexed 0-23 (local hour) and 0-6 (0 = Monday).
    """
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT profile, bin, count FROM incident_time_profile("
                ":c, :threshold, :date_from, :date_to, CAST(:types AS text[]), :min_severity)"
            ),
            _aggregate_args(community, threshold, date_from, date_to, types, min_severity),
        ).all()
    frame = pd.DataFrame(rows, columns=["profile", "bin", "count"]).astype({"count": float})
    hours = frame[frame["profile"] == "hour"].set_index("bin")["count"]
    days = frame[frame["profile"] == "weekday"].set_index("bin")["count"]
    hours.index = pd.RangeIndex(24, name="hour")
    days.index = pd.RangeIndex(7, name="weekday")
    return hours, days


def incident_hex_counts_monthly(
    engine: Engine,
    community: Community,
    cell_m: float,
    threshold: int,
    date_from: dt.datetime,
    date_to: dt.datetime,
    types: Sequence[str] | None = None,
    min_severity: int = 1,
) -> pd.DataFrame:
    """For each month of ``[date_from, date_to)``, what :func:`incident_hex_counts` returns for
    that month alone (without the geometry), from the database function
    ``incident_hex_counts_monthly`` in one call (migration 0012): the emerging hot spots of an
    aggregated run read 24 months at once instead of making 24 calls.

    Parameters
    ----------
    engine : Engine
    community : Community
    cell_m : float
        A published cell size (:func:`published_grid`).
    threshold : int
    date_from, date_to : datetime
        Month starts in the community's time zone (:func:`month_start`); both required, at
        most 120 months apart.
    types : sequence of str, optional
        At most one type.
    min_severity : int

    Returns
    -------
    DataFrame
        ``month_start`` (aware), ``cell_id`` (``"i:j"``), ``count`` (float, NaN where
        suppressed), ``suppressed``; months in order, cells in :func:`incident_hex_counts`'
        order.
    """
    args = _aggregate_args(community, threshold, date_from, date_to, types, min_severity)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT month_start, cell_id, count::float8 AS count, suppressed FROM"
                " incident_hex_counts_monthly(:c, CAST(:cell AS float8), :threshold,"
                " :date_from, :date_to, CAST(:types AS text[]), :min_severity)"
            ),
            {"cell": float(cell_m), **args},
        ).all()
    return pd.DataFrame(rows, columns=["month_start", "cell_id", "count", "suppressed"])


def month_start(day: dt.date, tz: str | ZoneInfo, months: int = 0) -> dt.datetime:
    """The instant the month of ``day`` (shifted by ``months``) begins in time zone ``tz``: the
    only kind of date bound the aggregates accept.

    Parameters
    ----------
    day : date
        Any day of the month.
    tz : str or ZoneInfo
        Time zone of the community (``community.tz``).
    months : int
        Months to add (negative: earlier).

    Returns
    -------
    datetime
        Timezone-aware midnight of the first day of that month.
    """
    index = day.year * 12 + day.month - 1 + months
    first = dt.date(index // 12, index % 12 + 1, 1)
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return dt.datetime.combine(first, dt.time(), zone)


def layer_counts(engine: Engine, community: Community, exact: bool = True) -> pd.Series:
    """How many rows of each layer belong to a community (demo rows counted separately).

    With ``exact=False`` (roles that may not read ``incidents``) the incident count is the sum
    of the published hexagon counts (:func:`incident_hex_counts`) -- nothing the map does not
    already show -- and ``incidents_demo`` is 0: how many demo incidents that sum holds is
    ``incidents_demo_published`` (:func:`published_demo`: rounded to 5, NaN when suppressed),
    which is already part of ``incidents``.

    Parameters
    ----------
    engine : Engine
    community : Community
    exact : bool

    Returns
    -------
    pandas.Series
        ``risk_zones``, ``incidents``, ``facilities`` and their ``*_demo`` counts, ``streets``;
        with ``exact=False`` also ``incidents_demo_published``.
    """
    counts: dict[str, float] = {}
    with engine.connect() as conn:
        for table in ("risk_zones", "incidents", "facilities"):
            if table == "incidents" and not exact:
                continue
            sql = members(
                table, "count(*) FILTER (WHERE NOT t.is_demo), count(*) FILTER (WHERE t.is_demo)"
            )
            real, demo = conn.execute(text(sql), {"c": community.id}).one()
            counts[table] = real
            counts[f"{table}_demo"] = demo
        counts["streets"] = conn.execute(
            text("SELECT count(*) FROM streets WHERE community_id = :c"), {"c": community.id}
        ).scalar_one()
    if not exact:
        published = incident_hex_counts(engine, community)["count"].sum()
        counts["incidents"] = int(published)
        counts["incidents_demo"] = 0
        demo = published_demo(engine, community)
        counts["incidents_demo_published"] = float("nan") if demo is None else demo
    return pd.Series(counts)


def published_demo(
    engine: Engine,
    community: Community,
    threshold: int = 5,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    types: Sequence[str] | None = None,
    min_severity: int = 1,
) -> int | None:
    """How many synthetic demo incidents the published counts of a window include, from the
    database function ``harta_published_demo`` (migration 0016).

    Published like every aggregate: the same members, filters and complete months as
    :func:`incident_hex_counts`; below ``threshold`` (never below 5) suppressed, otherwise
    rounded to a multiple of 5.  Real incidents are never counted.  The roles that read only
    published counts use it to label demo data (Home, the Map's hexagons, aggregated runs).

    Parameters
    ----------
    engine : Engine
    community : Community
    threshold, date_from, date_to, types, min_severity
        As for :func:`incident_hex_counts` (month starts only, at most one type).

    Returns
    -------
    int or None
        The rounded count, or None when suppressed (fewer than ``threshold``, none included).
    """
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count FROM harta_published_demo(:c, :threshold, :date_from, :date_to,"
                " CAST(:types AS text[]), :min_severity)"
            ),
            _aggregate_args(community, threshold, date_from, date_to, types, min_severity),
        ).scalar_one()
    return None if count is None else int(count)
