"""Routing graphs per OSM file and mode, cached as GraphML under ``HARTA_DATA_DIR``.

A community routes on the street file its ``community.json`` names (``files.streets``; the
communities loader copies it into the community's folder, :attr:`Community.source_dir`).  Pata Rât
and its settlements name the whole city of Cluj-Napoca, so they share one cached graph (the
cache key is the file's content hash, not the community).  A community added with ``harta
community add`` and its own OSM file routes on that file with no code change.

This module never imports :mod:`geo.communities`: it is handed a :class:`Community` and reads
only its ``slug`` and ``source_dir``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import osmnx as ox

from geo.network.osm import (
    WALK_SPEED_KPH,
    Mode,
    NetworkError,
    build_graph,
    check_mode,
    walk_graph_from,
)
from geo.settings import get_settings

if TYPE_CHECKING:
    from geo.communities.model import Community

log = logging.getLogger(__name__)

#: Bump when the way graphs are built changes, so old cache files are not reused.
GRAPH_FORMAT_VERSION = 1

#: The name the communities loader gives a community's copied street file when none is named.
DEFAULT_STREETS_FILE = "streets.osm"

_EDGE_DTYPES = {
    "maxspeed_kph": float,
    "drive_time_s": float,
    "walk_time_s": float,
}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path(osm_file: str | Path, mode: Mode, *, sha256: str | None = None) -> Path:
    """Where the cached GraphML of ``osm_file`` for ``mode`` lives (keyed by content hash).

    Parameters
    ----------
    osm_file : str or Path
    mode : {"drive", "walk"}
    sha256 : str, optional
        The file's hash when already known.

    Returns
    -------
    Path
        Under ``get_settings().cache_dir / "graphs"``; the sparse matrix is cached beside it.
    """
    check_mode(mode)
    digest = sha256 or file_sha256(osm_file)
    name = f"{digest[:24]}_{mode}_v{GRAPH_FORMAT_VERSION}_w{WALK_SPEED_KPH:g}.graphml"
    return get_settings().cache_dir / "graphs" / name


def cached_graph(osm_file: str | Path, mode: Mode = "drive") -> nx.MultiDiGraph:
    """Routing graph of ``osm_file`` for ``mode``, from the GraphML cache when it is valid.

    The cache file name holds the OSM file's SHA-256, so editing or replacing the OSM file
    rebuilds the graph.  A cache that cannot be read, or whose recorded hash differs, is rebuilt.

    Parameters
    ----------
    osm_file : str or Path
        OSM XML, plain or bzip2.
    mode : {"drive", "walk"}

    Returns
    -------
    networkx.MultiDiGraph
        Its ``graph["harta_cache"]`` is ``"hit"`` or ``"built"``; ``graph["harta_build_s"]``
        the build time when built.
    """
    digest = file_sha256(osm_file)
    target = cache_path(osm_file, mode, sha256=digest)
    if target.exists():
        graph = _load_cache(target, digest)
        if graph is not None:
            graph.graph["harta_cache"] = "hit"
            return graph
    started = time.perf_counter()
    if mode == "walk":
        # The walk graph is derived from the drive graph: reuse (or fill) its cache.
        graph = walk_graph_from(cached_graph(osm_file, "drive"))
    else:
        graph = build_graph(osm_file, mode)
    graph.graph["harta_source_sha256"] = digest
    _save_cache(graph, target)
    elapsed = time.perf_counter() - started
    log.info("built %s graph of %s in %.2f s", mode, osm_file, elapsed)
    graph.graph["harta_cache"] = "built"
    graph.graph["harta_build_s"] = elapsed
    return graph


def _load_cache(target: Path, digest: str) -> nx.MultiDiGraph | None:
    try:
        graph = ox.load_graphml(target, edge_dtypes=_EDGE_DTYPES)
    except Exception as exc:  # noqa: BLE001 - any unreadable cache is simply rebuilt
        log.warning("ignoring unreadable graph cache %s: %s", target, exc)
        return None
    if graph.graph.get("harta_source_sha256") != digest:
        return None
    graph.graph["harta_walk_speed_kph"] = float(graph.graph.get("harta_walk_speed_kph", "nan"))
    return graph


def _save_cache(graph: nx.MultiDiGraph, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    handle, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".graphml.tmp")
    os.close(handle)
    try:
        ox.save_graphml(graph, tmp_name)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def osm_file_of(community: Community) -> Path:
    """The street file a community routes on: ``files.streets`` of its ``community.json``.

    Parameters
    ----------
    community : Community
        A loaded community (its ``source_dir`` is the folder the communities loader wrote).

    Returns
    -------
    Path

    Raises
    ------
    NetworkError
        When the community has no folder or no street file.
    """
    if not community.source_dir:
        raise NetworkError("network.error.no_streets", community=community.slug)
    folder = Path(community.source_dir)
    name = DEFAULT_STREETS_FILE
    try:
        config = json.loads((folder / "community.json").read_text(encoding="utf-8"))
        name = (config.get("files") or {}).get("streets") or name
    except (OSError, ValueError):
        pass  # a folder without its config still routes on streets.osm when present
    path = (folder / name).resolve()
    if not path.is_file():
        raise NetworkError("network.error.no_streets", community=community.slug)
    return path


def graph_for(community: Community, mode: Mode = "drive") -> nx.MultiDiGraph:
    """Routing graph of a community's street network (cached; see :func:`cached_graph`).

    Parameters
    ----------
    community : Community
    mode : {"drive", "walk"}

    Returns
    -------
    networkx.MultiDiGraph
        With ``graph["harta_community"]`` set to the community's slug.
    """
    graph = cached_graph(osm_file_of(community), mode)
    graph.graph["harta_community"] = community.slug
    return graph
