"""Streets and routing: bundled OSM files to cached graphs, a sparse travel-time engine.

Modules, lowest first:

``osm``
    Reading OSM XML (plain or bzip2) offline; drive and walk graphs; the ``streets`` rows.
``graph``
    The GraphML cache per OSM file and mode; which file a :class:`Community` routes on.
``matrix``
    :class:`Network`: the graph as a CSR matrix (minimum of parallel edges), cached as ``.npz``
    beside the GraphML.
``snap``
    Points onto the nearest street in the community's metric CRS (the snap walked).
``times``
    Many-to-many travel times and the k nearest origins, one multi-source Dijkstra per block.
``isochrones``
    Areas reached within T minutes: reached streets (partly reached ones cut), buffered.
``routes``
    The fastest route between two points, with its geometry.
``cli``
    ``harta network times`` and ``harta network isochrones``.

This package never imports :mod:`geo.communities` at run time: functions take a
:class:`~geo.communities.model.Community` and use only its attributes.
"""

from geo.network.graph import cache_path, cached_graph, file_sha256, graph_for, osm_file_of
from geo.network.isochrones import BUFFER_M, isochrones
from geo.network.matrix import Network, cached_network, network_for, network_from_graph
from geo.network.osm import (
    FALLBACK_DRIVE_SPEED_KPH,
    IMPLICIT_MAXSPEED_KPH,
    MODES,
    STREET_COLUMNS,
    WALK_SPEED_KPH,
    Mode,
    NetworkError,
    build_graph,
    check_mode,
    is_drivable,
    load_network,
    nearest_node,
    open_osm,
    parse_maxspeed,
    refresh_from_overpass,
    streets_gdf,
    walk_graph_from,
)
from geo.network.routes import Route, route
from geo.network.snap import WALK_SPEED_MS, Snap, snap
from geo.network.times import (
    nearest,
    nearest_source_nodes,
    nearest_sources,
    node_times,
    od_table,
    travel_times,
)

__all__ = [
    "BUFFER_M",
    "FALLBACK_DRIVE_SPEED_KPH",
    "IMPLICIT_MAXSPEED_KPH",
    "MODES",
    "STREET_COLUMNS",
    "WALK_SPEED_KPH",
    "WALK_SPEED_MS",
    "Mode",
    "Network",
    "NetworkError",
    "Route",
    "Snap",
    "build_graph",
    "cache_path",
    "cached_graph",
    "cached_network",
    "check_mode",
    "file_sha256",
    "graph_for",
    "is_drivable",
    "isochrones",
    "load_network",
    "nearest",
    "nearest_node",
    "nearest_source_nodes",
    "nearest_sources",
    "network_for",
    "network_from_graph",
    "node_times",
    "od_table",
    "open_osm",
    "osm_file_of",
    "parse_maxspeed",
    "refresh_from_overpass",
    "route",
    "snap",
    "streets_gdf",
    "travel_times",
    "walk_graph_from",
]
