"""Moved to :mod:`geo.network` (streets and routing).  Kept so old imports keep working.

New code imports from :mod:`geo.network`.
"""

from geo.network.graph import cache_path, cached_graph, file_sha256, graph_for
from geo.network.osm import (
    FALLBACK_DRIVE_SPEED_KPH,
    IMPLICIT_MAXSPEED_KPH,
    MODES,
    STREET_COLUMNS,
    WALK_SPEED_KPH,
    Mode,
    build_graph,
    is_drivable,
    load_network,
    nearest_node,
    parse_maxspeed,
    refresh_from_overpass,
    streets_gdf,
    walk_graph_from,
)

__all__ = [
    "FALLBACK_DRIVE_SPEED_KPH",
    "IMPLICIT_MAXSPEED_KPH",
    "MODES",
    "STREET_COLUMNS",
    "WALK_SPEED_KPH",
    "Mode",
    "build_graph",
    "cache_path",
    "cached_graph",
    "file_sha256",
    "graph_for",
    "is_drivable",
    "load_network",
    "nearest_node",
    "parse_maxspeed",
    "refresh_from_overpass",
    "streets_gdf",
    "walk_graph_from",
]
