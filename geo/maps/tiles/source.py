"""What the offline basemap draws, read once from the bundled files and kept in memory.

Sources (all offline, all in the repository or the shared source folder):

* streets: every way of the city's drive network (``data/osm/cluj-napoca_drive-network_*.osm.bz2``)
  with its ``highway`` class and ``name``;
* neighbourhood names: ``data/osm/cluj-napoca_neighbourhoods_*.geojson`` (``name``, ``name:hu``);
* settlement names: the bundled communities (``data/communities/*/``) of kind ``settlement``;
* land cover: ESA WorldCover 2020 tree-cover and grassland masks (``data/landcover/``), cropped
  to the city;
* the railway and the landfill: neither is in the bundled OSM extracts, so both are APPROXIMATE
  sketches (``data/osm/basemap_sketches.geojson``: the main line drawn through the railway level
  crossings of the street data, the landfill from the Rampa settlement sketch); the map labels
  them "approximate".

Coordinates are kept as Web Mercator "world pixels" at zoom 0 (a 256 x 256 square for the whole
world): a tile renderer only scales and shifts them.  This is the slippy-map tile grid, not a
CRS transformation of stored data (those live in :mod:`geo.crs`).
"""

from __future__ import annotations

import bz2
import json
import math
import os
import pickle
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from shapely import STRtree
from shapely.geometry import LineString, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo.files import make_private
from geo.settings import DATA_SOURCES_DIR, get_settings

#: Bump when the source format or the data change: old caches are then ignored.
SOURCE_VERSION = 5

OSM_DIR = DATA_SOURCES_DIR / "osm"
LANDCOVER_DIR = DATA_SOURCES_DIR / "landcover"
COMMUNITIES_DIR = DATA_SOURCES_DIR / "communities"

#: Street classes the renderer knows, drawn in this order (minor first, major on top).
CLASSES: tuple[str, ...] = (
    "service",
    "living_street",
    "unclassified",
    "residential",
    "tertiary",
    "secondary",
    "primary",
    "trunk",
    "motorway",
)


def lonlat_to_world(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude (degrees) to Web Mercator world pixels at zoom 0 (0..256).

    Parameters
    ----------
    lon, lat : ndarray
        Degrees (EPSG:4326).

    Returns
    -------
    tuple of ndarray
        ``(x, y)``; y grows southwards, as in tile images.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -85.05112878, 85.05112878)
    x = (lon + 180.0) / 360.0 * 256.0
    rad = np.radians(lat)
    y = (1.0 - np.log(np.tan(rad) + 1.0 / np.cos(rad)) / math.pi) / 2.0 * 256.0
    return x, y


def world_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`lonlat_to_world`.

    Parameters
    ----------
    x, y : ndarray
        World pixels at zoom 0.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in degrees.
    """
    lon = np.asarray(x, dtype=float) / 256.0 * 360.0 - 180.0
    n = math.pi - 2.0 * math.pi * np.asarray(y, dtype=float) / 256.0
    lat = np.degrees(np.arctan(np.sinh(n)))
    return lon, lat


@dataclass(frozen=True)
class Place:
    """A name drawn at a point: a neighbourhood or a settlement."""

    kind: str  # "settlement" or "neighbourhood"
    name: str
    name_hu: str
    x: float
    y: float


@dataclass
class Landcover:
    """A land-cover mask cropped to the basemap's extent (EPSG:4326 grid)."""

    mask: np.ndarray  # uint8, 1 where the class is present
    west: float
    north: float
    res: float  # degrees per cell (square cells)

    def __getstate__(self) -> dict:
        # One bit per cell on disk: the cache stays small (the masks are 0/1).
        state = dict(self.__dict__)
        state["shape"] = self.mask.shape
        state["mask"] = np.packbits(self.mask.astype(bool), axis=None)
        return state

    def __setstate__(self, state: dict) -> None:
        shape = state.pop("shape")
        bits = np.unpackbits(state["mask"], count=int(np.prod(shape)))
        state["mask"] = bits.reshape(shape)
        self.__dict__.update(state)


@dataclass
class BasemapSource:
    """Everything the renderer draws, in world pixels at zoom 0."""

    streets: list[LineString]
    street_class: list[str]
    street_name: list[str]
    railway: list[LineString]
    landfill: list[Polygon]
    places: list[Place]
    landcover: dict[str, Landcover]
    extent: tuple[float, float, float, float]  # lon/lat bounds of the data
    # Streets joined by name and class (OSM splits a street into many ways): names are written
    # along these, so a long straight street gets one long straight piece to carry its name.
    named: list[LineString] = field(default_factory=list)
    named_class: list[str] = field(default_factory=list)
    named_name: list[str] = field(default_factory=list)
    tree: STRtree = field(init=False, repr=False)
    named_tree: STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.named:
            self.named, self.named_class, self.named_name = merge_named(
                self.streets, self.street_class, self.street_name
            )
        self._index()

    def _index(self) -> None:
        self.tree = STRtree(self.streets)
        self.named_tree = STRtree(self.named)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("tree", None)  # rebuilt on load: cheaper than pickling it
        state.pop("named_tree", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._index()


def merge_named(
    lines: list[LineString], classes: list[str], names: list[str]
) -> tuple[list[LineString], list[str], list[str]]:
    """Join the ways of each named street (same name and class) into as few lines as possible.

    Parameters
    ----------
    lines, classes, names : list
        One entry per way.

    Returns
    -------
    tuple of list
        ``(lines, classes, names)`` of the joined streets (unnamed ways are left out).
    """
    from shapely import line_merge
    from shapely.geometry import MultiLineString

    groups: dict[tuple[str, str], list[LineString]] = {}
    for line, cls, name in zip(lines, classes, names, strict=True):
        if name:
            groups.setdefault((name, cls), []).append(line)
    out_lines, out_classes, out_names = [], [], []
    for (name, cls), parts in groups.items():
        merged = line_merge(MultiLineString(parts))
        for part in getattr(merged, "geoms", [merged]):
            out_lines.append(part)
            out_classes.append(cls)
            out_names.append(name)
    return out_lines, out_classes, out_names


def _newest(pattern: str) -> Path:
    found = sorted(OSM_DIR.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} in {OSM_DIR}")
    return found[-1]


def _highway_class(value: str) -> str | None:
    value = value.removesuffix("_link")
    return value if value in CLASSES else None


def read_streets(path: Path) -> tuple[list[LineString], list[str], list[str]]:
    """Every highway way of an OSM XML file (plain or bzip2) as world-pixel lines.

    Parameters
    ----------
    path : Path
        The OSM file.

    Returns
    -------
    tuple
        ``(lines, classes, names)``: one entry per way of a known class (see :data:`CLASSES`);
        ``names`` holds ``""`` for unnamed ways.
    """
    with path.open("rb") as raw:
        head = raw.read(3)
    opener = bz2.open if head == b"BZh" else open
    nodes: dict[str, tuple[float, float]] = {}
    ways: list[tuple[list[str], str, str]] = []
    with opener(path, "rb") as handle:
        for _, elem in ET.iterparse(handle, events=("end",)):
            if elem.tag == "node":
                nodes[elem.get("id")] = (float(elem.get("lon")), float(elem.get("lat")))
                elem.clear()
            elif elem.tag == "way":
                tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                cls = _highway_class(tags.get("highway", ""))
                if cls:
                    refs = [nd.get("ref") for nd in elem.iter("nd")]
                    ways.append((refs, cls, tags.get("name", "")))
                elem.clear()
    lines, classes, names = [], [], []
    for refs, cls, name in ways:
        coords = np.array([nodes[r] for r in refs if r in nodes])
        if len(coords) < 2:
            continue
        x, y = lonlat_to_world(coords[:, 0], coords[:, 1])
        lines.append(LineString(np.column_stack([x, y])))
        classes.append(cls)
        names.append(name)
    return lines, classes, names


def _to_world(geom: BaseGeometry) -> BaseGeometry:
    from shapely import transform

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = lonlat_to_world(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return transform(geom, fn)


def _centre(geom: BaseGeometry) -> BaseGeometry:
    return geom if geom.geom_type == "Point" else geom.representative_point()


def read_places() -> list[Place]:
    """Neighbourhood names (OSM) and settlement names (the bundled communities).

    Returns
    -------
    list of Place
    """
    places = []
    data = json.loads(_newest("cluj-napoca_neighbourhoods_*.geojson").read_text("utf-8"))
    for feature in data["features"]:
        props = feature["properties"]
        if not props.get("name"):
            continue
        p = _to_world(_centre(shape(feature["geometry"])))
        places.append(Place("neighbourhood", props["name"], props.get("name:hu") or "", p.x, p.y))
    for folder in sorted(COMMUNITIES_DIR.iterdir()):
        meta_file, boundary = folder / "community.json", folder / "boundary.geojson"
        if not meta_file.exists() or not boundary.exists():
            continue
        meta = json.loads(meta_file.read_text("utf-8"))
        if meta.get("kind") != "settlement":
            continue
        geom = shape(json.loads(boundary.read_text("utf-8"))["features"][0]["geometry"])
        p = _to_world(_centre(geom))
        # "Rampa (the landfill)": the explanation in brackets is English; the map shows the name.
        name = meta["name"].split(" (")[0]
        places.append(Place("settlement", name, "", p.x, p.y))
    return places


def read_sketches() -> tuple[list[LineString], list[Polygon]]:
    """The approximate railway lines and landfill area (``basemap_sketches.geojson``).

    Returns
    -------
    tuple of list
        ``(railway lines, landfill polygons)`` in world pixels.
    """
    path = OSM_DIR / "basemap_sketches.geojson"
    rail, landfill = [], []
    for feature in json.loads(path.read_text("utf-8"))["features"]:
        geom = _to_world(shape(feature["geometry"]))
        (rail if feature["properties"]["kind"] == "railway" else landfill).append(geom)
    return rail, landfill


def read_landcover(extent: tuple[float, float, float, float]) -> dict[str, Landcover]:
    """The WorldCover masks cropped to ``extent`` (a missing file is skipped).

    Parameters
    ----------
    extent : tuple of float
        ``(west, south, east, north)`` in degrees.

    Returns
    -------
    dict
        ``"tree"``/``"grass"`` -> :class:`Landcover`.
    """
    import rasterio
    from rasterio.windows import from_bounds

    out = {}
    for key, pattern in (("tree", "*treecover-mask*.tif"), ("grass", "*grassland-mask*.tif")):
        files = sorted(LANDCOVER_DIR.glob(pattern))
        if not files:
            continue
        with rasterio.open(files[-1]) as src:
            window = from_bounds(*extent, transform=src.transform).round_offsets().round_lengths()
            mask = (src.read(1, window=window) > 0).astype(np.uint8)
            t = src.window_transform(window)
        out[key] = Landcover(mask=mask, west=t.c, north=t.f, res=t.a)
    return out


def build_source() -> BasemapSource:
    """Read every bundled source (a few seconds: the city's OSM file is parsed here).

    Returns
    -------
    BasemapSource
    """
    lines, classes, names = read_streets(_newest("cluj-napoca_drive-network_*.osm.bz2"))
    rail, landfill = read_sketches()
    bounds = np.array([g.bounds for g in lines])
    west, north = world_to_lonlat(bounds[:, 0].min(), bounds[:, 1].min())
    east, south = world_to_lonlat(bounds[:, 2].max(), bounds[:, 3].max())
    extent = (float(west) - 0.02, float(south) - 0.02, float(east) + 0.02, float(north) + 0.02)
    return BasemapSource(
        streets=lines,
        street_class=classes,
        street_name=names,
        railway=rail,
        landfill=landfill,
        places=read_places(),
        landcover=read_landcover(extent),
        extent=extent,
    )


def cache_root() -> Path:
    """Folder of the basemap caches (source and tiles), under the data folder.

    Returns
    -------
    Path
    """
    return get_settings().cache_dir / "basemap" / f"v{SOURCE_VERSION}"


#: One build per process: the first tiles of a page arrive together, each in its own thread, and
#: each built the whole source at once (seconds of a cold server's first page, all under the GIL).
_BUILDING = threading.Lock()


@lru_cache(maxsize=1)
def load_source() -> BasemapSource:
    """The basemap source, from the disk cache or built (and cached) on first use.

    Returns
    -------
    BasemapSource
    """
    with _BUILDING:  # the others wait, then read what the first one wrote
        return _read_or_build()


def _read_or_build() -> BasemapSource:
    path = cache_root() / "source.pickle"
    if path.exists():
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 - our own file, in our private folder
        except Exception:  # noqa: BLE001 - a broken cache is rebuilt, never fatal
            path.unlink(missing_ok=True)
    source = build_source()
    make_private()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # one per process: servers may race
    with tmp.open("wb") as handle:
        pickle.dump(source, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return source
