"""Where participants agree: overlapping marks of the same hazard merged into consensus zones.

Everything is computed in PostGIS, in the community's metric CRS (:attr:`Community.crs`):

1. Each mark becomes an area.  Polygons stay as drawn.  A line (a road with heavy traffic) is
   widened by :data:`LINE_BUFFER_M` metres on each side, and a point (a railway crossing) by
   :data:`POINT_BUFFER_M` metres around it: a finger on a projected map is precise to tens of
   metres, so two people pointing at "the crossing" should meet.
2. Areas of the same hazard that overlap or touch are chained into clusters with
   ``ST_ClusterDBSCAN(geom, eps := 0, minpoints := 1)`` partitioned by hazard (``eps`` 0 means
   "intersects"; A overlapping B and B overlapping C puts all three together).
3. Each cluster is unioned (``ST_Union``) into one consensus zone carrying the number of
   distinct marks, the number of distinct sessions, their ids, the highest and mean severity,
   and the *agreement*: the share of the sessions in scope that marked it (0–1).

Marks without a session (imports made outside any workshop) count as marks but not as sessions.

**Demo apart.**  Demo marks (synthetic, ``is_demo``) and real marks are never merged into one
zone and never counted against each other: clusters, the sessions in scope and the agreement are
computed separately for demo and for real marks, so a real session's agreement is the share of
*real* sessions, whatever ``include_demo`` says.

Which marks belong to a community: :attr:`Community.family_ids` (its own and its settlements').
When migration 0007's membership function lands, the ``_MEMBER`` condition below becomes that
function (a parent-level mark inside a settlement's area then belongs to the settlement too).

This module never imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, text

from geo import taxonomy
from geo.communities.model import Community
from geo.i18n import t

#: Half-width (metres) of the band a line mark stands for.
LINE_BUFFER_M = 25.0
#: Radius (metres) of the disc a point mark stands for.
POINT_BUFFER_M = 50.0

COLUMNS = (
    "hazard_code",
    "cluster",
    "marks",
    "sessions",
    "session_ids",
    "mark_ids",
    "max_severity",
    "mean_severity",
    "agreement",
    "relative_marks",
    "area_m2",
    "is_demo",
    "geom",
)

#: Which marks belong to the community in scope (see the module docstring).
_MEMBER = "z.community_id = ANY(:community_ids)"

_SQL = """
WITH scope AS (
    SELECT z.id, z.workshop_id, z.hazard_code, z.severity, z.is_demo,
        CASE
            WHEN GeometryType(z.geom) IN ('POLYGON', 'MULTIPOLYGON')
                THEN ST_Transform(z.geom, :crs)
            WHEN GeometryType(z.geom) IN ('LINESTRING', 'MULTILINESTRING')
                THEN ST_Buffer(ST_Transform(z.geom, :crs), :line_m, 'endcap=round join=round')
            ELSE ST_Buffer(ST_Transform(z.geom, :crs), :point_m)
        END AS g
    FROM risk_zones z
    WHERE {member}
      AND (CAST(:workshop_ids AS integer[]) IS NULL OR z.workshop_id = ANY(:workshop_ids))
      AND (CAST(:hazards AS text[]) IS NULL OR z.hazard_code = ANY(:hazards))
      AND (:include_demo OR NOT z.is_demo)
), clustered AS (
    SELECT s.*,
        ST_ClusterDBSCAN(s.g, eps => 0, minpoints => 1)
            OVER (PARTITION BY s.is_demo, s.hazard_code) AS cluster
    FROM scope s
), total AS (
    SELECT is_demo, count(DISTINCT workshop_id) AS n FROM scope GROUP BY is_demo
), zones AS (
    SELECT c.hazard_code, c.cluster,
        count(DISTINCT c.id) AS marks,
        count(DISTINCT c.workshop_id) AS sessions,
        COALESCE(array_agg(DISTINCT c.workshop_id)
            FILTER (WHERE c.workshop_id IS NOT NULL), '{}') AS session_ids,
        array_agg(c.id ORDER BY c.id) AS mark_ids,
        max(c.severity) AS max_severity,
        round(avg(c.severity), 2)::float AS mean_severity,
        COALESCE(count(DISTINCT c.workshop_id)::float / NULLIF(max(total.n), 0), 0) AS agreement,
        c.is_demo,
        ST_Union(c.g) AS g
    FROM clustered c JOIN total ON total.is_demo = c.is_demo
    GROUP BY c.is_demo, c.hazard_code, c.cluster
)
SELECT hazard_code, cluster, marks, sessions, session_ids, mark_ids, max_severity,
    mean_severity, agreement,
    marks::float / max(marks) OVER (PARTITION BY is_demo) AS relative_marks,
    ST_Area(g) AS area_m2, is_demo, ST_Transform(g, 4326) AS geom
FROM zones
ORDER BY sessions DESC, marks DESC, max_severity DESC, hazard_code, cluster
""".replace("{member}", _MEMBER)


def consensus_zones(
    engine: Engine,
    community: Community,
    *,
    workshop_ids: Sequence[int] | None = None,
    hazards: Sequence[str] | None = None,
    include_demo: bool = True,
    line_buffer_m: float = LINE_BUFFER_M,
    point_buffer_m: float = POINT_BUFFER_M,
) -> gpd.GeoDataFrame:
    """Consensus zones of a community: overlapping marks of one hazard merged, with counts.

    Parameters
    ----------
    engine : Engine
        The Harta database.
    community : Community
        The community; its settlements' marks are included.
    workshop_ids : sequence of int, optional
        Only marks of these sessions.  All marks (any session, or none) when omitted.
    hazards : sequence of str, optional
        Only these hazard codes.
    include_demo : bool
        Include DEMO marks (as zones of their own: never merged with or counted against real
        marks).
    line_buffer_m, point_buffer_m : float
        Half-width of a line mark and radius of a point mark, in metres.

    Returns
    -------
    GeoDataFrame
        One row per zone in EPSG:4326, columns :data:`COLUMNS`: ``marks`` (distinct marks),
        ``sessions`` (distinct sessions), ``session_ids``, ``mark_ids``, ``max_severity``,
        ``mean_severity``, ``agreement`` (sessions / sessions in scope, 0–1),
        ``relative_marks`` (marks / the largest zone's marks), ``area_m2``, ``is_demo`` (all
        marks are demo).  Best-agreed zones first.
    """
    params = {
        "crs": community.epsg,
        "line_m": float(line_buffer_m),
        "point_m": float(point_buffer_m),
        "community_ids": list(community.family_ids),
        "workshop_ids": None if workshop_ids is None else [int(w) for w in workshop_ids],
        "hazards": None if hazards is None else list(hazards),
        "include_demo": bool(include_demo),
    }
    with engine.connect() as conn:
        frame = gpd.read_postgis(text(_SQL), conn, geom_col="geom", params=params)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    frame["session_ids"] = frame["session_ids"].map(lambda v: sorted(int(x) for x in (v or [])))
    frame["mark_ids"] = frame["mark_ids"].map(lambda v: [int(x) for x in (v or [])])
    return frame[list(COLUMNS)]


def for_map(zones: gpd.GeoDataFrame, *, by: str = "agreement") -> gpd.GeoDataFrame:
    """Consensus zones shaped for :func:`geo.maps.add_consensus_zones`.

    Parameters
    ----------
    zones : GeoDataFrame
        From :func:`consensus_zones`.
    by : {"agreement", "relative_marks"}
        What the map's ``agreement`` shows: the share of sessions, or marks relative to the
        largest zone (within one session).

    Returns
    -------
    GeoDataFrame
        With ``hazard`` and ``agreement`` columns.
    """
    out = zones.rename(columns={"hazard_code": "hazard"}).copy()
    out["agreement"] = zones[by].astype(float)
    return out


def consensus_table(zones: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Consensus zones as a table a person reads: translated headers and labels.

    Parameters
    ----------
    zones : DataFrame
        From :func:`consensus_zones`.
    lang : str

    Returns
    -------
    DataFrame
    """
    headers = {
        key: t(f"workshop.consensus.col.{key}", lang)
        for key in ("hazard", "marks", "sessions", "session_ids", "severity", "agreement", "area")
    }
    rows = [
        {
            headers["hazard"]: taxonomy.label("hazard", z.hazard_code, lang),
            headers["marks"]: int(z.marks),
            headers["sessions"]: int(z.sessions),
            headers["session_ids"]: ", ".join(f"#{i}" for i in z.session_ids),
            headers["severity"]: (
                f"{int(z.max_severity)} · {taxonomy.label('severity', int(z.max_severity), lang)}"
            ),
            headers["agreement"]: f"{round(float(z.agreement) * 100)} %",
            headers["area"]: f"{float(z.area_m2) / 10000:.2f} ha",
        }
        for z in zones.itertuples()
    ]
    return pd.DataFrame(rows, columns=list(headers.values()))
