"""Street networks from bundled OSM XML files, offline: reading, drive/walk graphs, street rows.

Everything here reads local files.  osmnx never downloads anything on these code paths:
:func:`load_network` uses :func:`osmnx.graph_from_xml`, which parses a file.  Files may be
plain OSM XML or bzip2-compressed (``.osm.bz2``; recognised by content, not by name, because
the communities loader copies a community's street file as ``streets.osm``).  The only function
that may reach the internet is :func:`refresh_from_overpass`, which is never called by default
and refuses to run unless ``HARTA_ONLINE=1``.

Graphs
------
``drive``
    The drivable streets (osmnx's ``drive`` filter), directed, with osmnx's ``speed_kph`` and
    ``travel_time`` (seconds) on every edge.
``walk``
    The bundled extracts hold **only drivable streets** (no footways, paths or tracks), so the
    walking graph is the drivable network **treated as undirected** (every street walkable both
    ways, one-way signs ignored) at :data:`WALK_SPEED_KPH`.  It underestimates what people can
    walk: informal paths through the settlements and across the railway are missing.

Every edge of both graphs also carries ``maxspeed_kph`` (the posted limit, when known),
``drive_time_s`` and ``walk_time_s``, so :func:`streets_gdf` gives the same columns for either.
"""

from __future__ import annotations

import bz2
import logging
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd

from geo.errors import HartaError
from geo.settings import get_settings

log = logging.getLogger(__name__)

Mode = Literal["drive", "walk"]
MODES: tuple[str, ...] = ("drive", "walk")

#: Walking speed used for every street of the walk graph (km/h).  The one place it is set.
WALK_SPEED_KPH = 4.5

#: Speed for drivable streets when no street of their type has a posted limit (urban default).
FALLBACK_DRIVE_SPEED_KPH = 50.0

#: Implicit limits written as ``CC:zone`` maxspeed tags (Romanian and Bulgarian highway codes).
IMPLICIT_MAXSPEED_KPH: Mapping[str, float] = {
    "urban": 50.0,
    "rural": 90.0,
    "trunk": 100.0,
    "expressway": 100.0,
    "motorway": 130.0,
    "living_street": 20.0,
    "walk": 5.0,
}

# osmnx's "drive" network filter (osmnx._overpass._get_network_filter), restated for local
# files because graph_from_xml loads every way it is given.
_NOT_DRIVE_HIGHWAY = {
    "abandoned",
    "bridleway",
    "bus_guideway",
    "construction",
    "corridor",
    "cycleway",
    "elevator",
    "escalator",
    "footway",
    "no",
    "path",
    "pedestrian",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "service",
    "steps",
    "track",
}
_NOT_DRIVE_SERVICE = {
    "alley",
    "driveway",
    "emergency_access",
    "parking",
    "parking_aisle",
    "private",
}

# --------------------------------------------------------------------------------------------
# Loading and building
# --------------------------------------------------------------------------------------------


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these OSM tags passes osmnx's ``drive`` network filter.

    Parameters
    ----------
    tags : mapping of str to str
        The way's OSM tags.

    Returns
    -------
    bool
        True when cars may use it.
    """
    highway = tags.get("highway")
    if not highway or highway in _NOT_DRIVE_HIGHWAY:
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    if tags.get("access") == "private":
        return False
    return tags.get("service") not in _NOT_DRIVE_SERVICE


def load_network(osm_file: str | Path, *, simplify: bool = True) -> nx.MultiDiGraph:
    """Load the drivable street network of an OSM XML file, offline.

    Parameters
    ----------
    osm_file : str or Path
        OSM XML (``.osm``) file, for example a bundled extract.
    simplify : bool
        Merge the chains of interstitial nodes into single edges (osmnx simplification).

    Returns
    -------
    networkx.MultiDiGraph
        Unprojected (EPSG:4326) osmnx graph of the largest weakly connected component.

    Raises
    ------
    NetworkError
        (a ValueError) When the file is not OSM XML or has no drivable street.
    """
    path = Path(osm_file)
    drivable_xml = _drivable_only(path)
    with tempfile.TemporaryDirectory(prefix="harta-osm-") as tmp:
        filtered = Path(tmp) / "drivable.osm"
        filtered.write_bytes(drivable_xml)
        graph = ox.graph_from_xml(filtered, simplify=simplify, retain_all=False)
    if graph.number_of_edges() == 0:
        raise NetworkError("network.error.no_drivable", file=str(path))
    graph.graph["name"] = path.name
    return graph


def _drivable_only(path: Path) -> bytes:
    """The OSM XML with every non-drivable way (and relations) removed."""
    try:
        with open_osm(path) as handle:
            root = ET.parse(handle).getroot()
    except (OSError, EOFError, ET.ParseError) as exc:
        raise NetworkError("network.error.unreadable", file=str(path), detail=str(exc)) from exc
    if root.tag != "osm":
        raise NetworkError("network.error.not_osm", file=str(path), root=root.tag)
    for element in list(root):
        if element.tag == "relation":
            root.remove(element)
        elif element.tag == "way":
            tags = {tag.get("k"): tag.get("v") for tag in element.iter("tag")}
            if not is_drivable(tags):
                root.remove(element)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def open_osm(path: str | Path):  # noqa: ANN201 - a binary file object
    """Open an OSM XML file for reading, decompressing it when it is bzip2 (by its magic bytes).

    Parameters
    ----------
    path : str or Path
        ``.osm`` or ``.osm.bz2`` (whatever its name).

    Returns
    -------
    binary file object
        To be used as a context manager.
    """
    with open(path, "rb") as probe:
        magic = probe.read(3)
    return bz2.open(path, "rb") if magic == b"BZh" else open(path, "rb")  # noqa: SIM115


def build_graph(
    osm_file: str | Path, mode: Mode = "drive", *, walk_speed_kph: float = WALK_SPEED_KPH
) -> nx.MultiDiGraph:
    """Build the routing graph of an OSM file for one travel mode.

    Parameters
    ----------
    osm_file : str or Path
        OSM XML file.
    mode : {"drive", "walk"}
        ``drive``: directed drivable streets with speeds from the posted limits (implicit
        ``RO:urban``-style limits understood, the rest imputed per street type) and travel
        times.  ``walk``: the extract has only drivable streets, so walking uses the same
        streets **treated as undirected** (both directions on every edge) at
        ``walk_speed_kph``.
    walk_speed_kph : float
        Walking speed, km/h.

    Returns
    -------
    networkx.MultiDiGraph
        Edges carry ``length`` (m), ``speed_kph``, ``travel_time`` (s, for ``mode``),
        ``maxspeed_kph``, ``drive_time_s`` and ``walk_time_s``.
    """
    check_mode(mode)
    graph = load_network(osm_file)
    _add_drive_speeds(graph)
    ox.add_edge_travel_times(graph)
    for _, _, data in graph.edges(data=True):
        data["drive_time_s"] = data["travel_time"]
        data["walk_time_s"] = _seconds(data["length"], walk_speed_kph)
    graph.graph["harta_mode"] = "drive"
    graph.graph["harta_walk_speed_kph"] = walk_speed_kph
    return walk_graph_from(graph, walk_speed_kph) if mode == "walk" else graph


def walk_graph_from(
    drive: nx.MultiDiGraph, walk_speed_kph: float = WALK_SPEED_KPH
) -> nx.MultiDiGraph:
    """The walk graph of a drive graph made by :func:`build_graph` (see there).

    Parameters
    ----------
    drive : networkx.MultiDiGraph
        Drive graph from :func:`build_graph`; not modified.
    walk_speed_kph : float
        Walking speed in km/h.

    Returns
    -------
    networkx.MultiDiGraph
        A new graph tagged ``harta_mode="walk"``.
    """
    walk = _as_walk_graph(drive, walk_speed_kph)
    walk.graph["harta_mode"] = "walk"
    walk.graph["harta_walk_speed_kph"] = walk_speed_kph
    return walk


def _seconds(length_m: float, speed_kph: float) -> float:
    return float(length_m) / (speed_kph * 1000.0 / 3600.0)


def _add_drive_speeds(graph: nx.MultiDiGraph) -> None:
    ox.add_edge_speeds(graph, fallback=FALLBACK_DRIVE_SPEED_KPH)
    # osmnx cannot read implicit limits such as "RO:urban" and imputes them from the street
    # type's average; use the legal limit they stand for instead.
    for _, _, data in graph.edges(data=True):
        posted = parse_maxspeed(data.get("maxspeed"))
        data["maxspeed_kph"] = posted
        if not np.isnan(posted):
            data["speed_kph"] = posted


def parse_maxspeed(value: object) -> float:
    """Posted speed limit in km/h from an OSM ``maxspeed`` value, NaN when unknown.

    Understands numbers, ``"30 mph"``, implicit zone codes (``"RO:urban"``) and lists (the
    lowest limit wins, the cautious reading of a merged edge).

    Parameters
    ----------
    value : object
        A ``maxspeed`` tag value, a list of them, or None/NaN.

    Returns
    -------
    float
        km/h, or NaN.
    """
    if isinstance(value, list | tuple):
        limits = [parse_maxspeed(v) for v in value]
        known = [v for v in limits if not np.isnan(v)]
        return min(known) if known else float("nan")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    text = str(value).strip().lower()
    number = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", text)
    if number:
        speed = float(number.group(1))
        return speed * 1.609344 if number.group(2) == "mph" else speed
    zone = re.fullmatch(r"[a-z]{2}:([a-z_]+)", text)
    if zone and zone.group(1) in IMPLICIT_MAXSPEED_KPH:
        return IMPLICIT_MAXSPEED_KPH[zone.group(1)]
    return float("nan")


def _as_walk_graph(drive: nx.MultiDiGraph, walk_speed_kph: float) -> nx.MultiDiGraph:
    """Both directions of every street, at walking speed (one-way signs do not bind walkers)."""
    undirected = ox.convert.to_undirected(drive)
    walk = nx.MultiDiGraph()
    walk.graph.update(drive.graph)
    walk.add_nodes_from(drive.nodes(data=True))
    for u, v, key, data in undirected.edges(keys=True, data=True):
        forward = dict(data, speed_kph=walk_speed_kph, travel_time=data["walk_time_s"])
        # to_undirected keeps each geometry in its original direction ("from" -> "to");
        # orient it from u to v.
        drawn_from = forward.pop("from", u)
        forward.pop("to", None)
        if drawn_from != u:
            forward["geometry"] = forward["geometry"].reverse()
        backward = dict(forward, geometry=forward["geometry"].reverse())
        walk.add_edge(u, v, key=key, **forward)
        walk.add_edge(v, u, key=key, **backward)
    return walk


class NetworkError(HartaError, ValueError):
    """A street network that cannot be used (no file, unknown mode, nothing to route)."""


def check_mode(mode: str) -> None:
    """Refuse a travel mode other than ``drive`` or ``walk``.

    Parameters
    ----------
    mode : str

    Raises
    ------
    NetworkError
    """
    if mode not in MODES:
        raise NetworkError("network.error.mode", mode=mode, modes=", ".join(MODES))


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------

STREET_COLUMNS = [
    "u",
    "v",
    "key",
    "osm_id",
    "name",
    "highway",
    "oneway",
    "maxspeed_kph",
    "length_m",
    "drive_time_s",
    "walk_time_s",
    "geometry",
]


def streets_gdf(graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """One row per graph edge, in the columns of the ``streets`` table.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        A drive graph from :func:`build_graph` (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        ``u``, ``v``, ``key``, ``osm_id`` (first way id when an edge merges several),
        ``name`` and ``highway`` (first value when several), ``oneway``, ``maxspeed_kph``,
        ``length_m``, ``drive_time_s``, ``walk_time_s`` and LineString ``geometry`` (EPSG:4326).
    """
    edges = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True).reset_index()
    out = gpd.GeoDataFrame(
        {
            "u": edges["u"].astype("int64"),
            "v": edges["v"].astype("int64"),
            "key": edges["key"].astype("int64"),
            "osm_id": edges["osmid"].map(_first).astype("Int64"),
            "name": _column(edges, "name").map(_first),
            "highway": _column(edges, "highway").map(_first),
            "oneway": _column(edges, "oneway").map(_as_bool),
            "maxspeed_kph": pd.to_numeric(_column(edges, "maxspeed_kph"), errors="coerce"),
            "length_m": edges["length"].astype(float),
            "drive_time_s": pd.to_numeric(_column(edges, "drive_time_s"), errors="coerce"),
            "walk_time_s": pd.to_numeric(_column(edges, "walk_time_s"), errors="coerce"),
        },
        geometry=edges.geometry.values,
        crs=edges.crs or "EPSG:4326",
    )
    return out[STREET_COLUMNS]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), frame.index)


def _first(value: object) -> object:
    if isinstance(value, list | tuple):
        return value[0] if value else None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _as_bool(value: object) -> bool | None:
    value = _first(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1"}
    return bool(value)


def nearest_node(graph: nx.MultiDiGraph, lon: float, lat: float) -> int:
    """Id of the graph node nearest to a (lon, lat) point in EPSG:4326.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Unprojected osmnx graph (node ``x``/``y`` in EPSG:4326).
    lon, lat : float
        The point, in degrees.

    Returns
    -------
    int
        The OSM node id.
    """
    return int(ox.distance.nearest_nodes(graph, X=lon, Y=lat))


# --------------------------------------------------------------------------------------------
# Online refresh (explicit, never called by default)
# --------------------------------------------------------------------------------------------


def refresh_from_overpass(
    bbox: tuple[float, float, float, float], target: str | Path
) -> nx.MultiDiGraph:
    """Download the drivable network of ``bbox`` from Overpass and save it as GraphML.

    This is the only function of Harta that reaches the internet for OSM data.  Nothing calls
    it by default; it refuses to run unless ``HARTA_ONLINE=1``.

    Parameters
    ----------
    bbox : (west, south, east, north)
        Area to download, EPSG:4326.
    target : str or Path
        GraphML file to write.  Bundled OSM files are never overwritten by this function.

    Returns
    -------
    networkx.MultiDiGraph
        The downloaded graph, with drive speeds and travel times on its edges.

    Raises
    ------
    PermissionError
        When online access is not enabled.
    """
    if not get_settings().online:
        raise PermissionError("refresh_from_overpass needs HARTA_ONLINE=1 (online access is off)")
    graph = ox.graph_from_bbox(bbox, network_type="drive", simplify=True)
    _add_drive_speeds(graph)
    ox.add_edge_travel_times(graph)
    ox.save_graphml(graph, target)
    return graph
