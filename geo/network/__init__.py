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

Names are loaded on first use (``geo.network.X``), so ``harta`` starts without osmnx and
``geo.network.cli`` stays cheap to import.  This package never imports :mod:`geo.communities` at
run time: functions take a :class:`~geo.communities.model.Community` and use only its
attributes (the CLI alone loads one, through the model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "BUFFER_M": "isochrones",
    "FALLBACK_DRIVE_SPEED_KPH": "osm",
    "IMPLICIT_MAXSPEED_KPH": "osm",
    "MODES": "osm",
    "Mode": "osm",
    "Network": "matrix",
    "NetworkError": "osm",
    "Route": "routes",
    "STREET_COLUMNS": "osm",
    "Snap": "snap",
    "WALK_SPEED_KPH": "osm",
    "WALK_SPEED_MS": "snap",
    "build_graph": "osm",
    "cache_path": "graph",
    "cached_graph": "graph",
    "cached_network": "matrix",
    "check_mode": "osm",
    "file_sha256": "graph",
    "graph_for": "graph",
    "is_drivable": "osm",
    "isochrone_polygons": "isochrones",
    "load_network": "osm",
    "nearest": "times",
    "nearest_node": "osm",
    "nearest_source_nodes": "times",
    "nearest_sources": "times",
    "network_for": "matrix",
    "network_from_graph": "matrix",
    "node_times": "times",
    "od_table": "times",
    "open_osm": "osm",
    "osm_file_of": "graph",
    "parse_maxspeed": "osm",
    "refresh_from_overpass": "osm",
    "route": "routes",
    "snap_points": "snap",
    "streets_gdf": "osm",
    "travel_times": "times",
    "walk_graph_from": "osm",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # the names, for type checkers and editors
    from geo.network.graph import cache_path, cached_graph, file_sha256, graph_for, osm_file_of  # noqa: F401
    from geo.network.isochrones import BUFFER_M, isochrone_polygons  # noqa: F401
    from geo.network.matrix import Network, cached_network, network_for, network_from_graph  # noqa: F401
    from geo.network.osm import (  # noqa: F401
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
    from geo.network.routes import Route, route  # noqa: F401
    from geo.network.snap import WALK_SPEED_MS, Snap, snap_points  # noqa: F401
    from geo.network.times import (  # noqa: F401
        nearest,
        nearest_source_nodes,
        nearest_sources,
        node_times,
        od_table,
        travel_times,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'geo.network' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"geo.network.{module}"), name)
    globals()[name] = value
    return value
