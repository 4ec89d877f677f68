"""The paper side of a workshop: a labelled grid over the printed map, and its QR code.

A printed workshop map carries a square grid in the community's metric CRS.  Columns are letters
from the west (``A``, ``B`` …), rows are numbers from the north (``1``, ``2`` …), so the square in
the top-left corner is ``A1`` and a grid of 8 columns and 12 rows ends at ``H12``.  Marks drawn
on paper are typed back in by square: :func:`cell_polygon` turns ``"C4"`` into the square.

The grid of a community is deterministic (:func:`grid_for_bounds`): the same community extent
always gives the same squares, so a map printed today and one printed next month agree.  The QR
code printed on the map identifies the session and the grid (:func:`encode_payload`); scanning
it and calling :func:`decode_payload` gives back the session id, the community, the extent and
the grid, whatever the app's state.

This module never imports Streamlit and never touches the database except in
:func:`session_grid`.  A :class:`GridSpec` keeps its CRS as the EPSG integer (it is printed in the
QR payload); projections go through :func:`geo.crs.transformer`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import geopandas as gpd
from shapely.geometry import Polygon, box
from sqlalchemy import Engine

from geo import crs as crs_
from geo.communities.model import Community
from geo.errors import HartaError

#: Version of the QR payload format; bumped when its meaning changes.
PAYLOAD_VERSION = 1
#: Marker key that tells a Harta workshop payload from any other QR code.
PAYLOAD_KEY = "harta"
#: Cell sizes (metres) the grid chooses from: round numbers people can read off a scale bar.
NICE_CELL_SIZES_M = (50, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 5000)
#: Most columns or rows a grid has (letters A … L, numbers 1 … 12).
MAX_CELLS_PER_SIDE = 12
#: Share of the extent added on each side so the boundary does not touch the frame.
MARGIN = 0.05

_GRID_REF = re.compile(r"^\s*([A-Za-z])\s*-?\s*(\d{1,2})\s*$")


class GridRefError(HartaError, ValueError):
    """A grid reference that is malformed or not on the grid (``workshop.error.grid_ref_*``)."""


class PayloadError(HartaError, ValueError):
    """A QR payload that is not a Harta workshop payload (``workshop.error.payload``)."""


@dataclass(frozen=True)
class GridSpec:
    """A square grid over a map extent in a metric CRS.

    Attributes
    ----------
    crs : int
        EPSG code of the metric CRS.
    minx, maxy : float
        Top-left corner of the grid (west, north) in metres.
    cell_m : float
        Side of a square in metres.
    cols, rows : int
        Number of columns (letters) and rows (numbers).
    """

    crs: int
    minx: float
    maxy: float
    cell_m: float
    cols: int
    rows: int

    @property
    def maxx(self) -> float:
        return self.minx + self.cols * self.cell_m

    @property
    def miny(self) -> float:
        return self.maxy - self.rows * self.cell_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the whole grid in the metric CRS."""
        return (self.minx, self.miny, self.maxx, self.maxy)

    @property
    def last_ref(self) -> str:
        """Label of the bottom-right square, e.g. ``"H12"``."""
        return grid_ref(self.cols - 1, self.rows - 1)

    def bounds_wgs84(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the grid in degrees.

        Returns
        -------
        tuple of float
            The bounding box of the grid reprojected to EPSG:4326.
        """
        return _to_wgs84(box(*self.bounds), self.crs).bounds


def _to_wgs84(geom, crs: int):  # noqa: ANN001, ANN202
    return crs_.project(geom, crs, crs_.STORAGE)


def column_letter(col: int) -> str:
    """Letter of column ``col`` (0 → ``A``).

    Parameters
    ----------
    col : int
        Column index, 0 to 25; anything else raises GridRefError.

    Returns
    -------
    str
        One capital letter.
    """
    if not 0 <= col < 26:
        raise GridRefError("workshop.error.grid_ref_unknown", ref=str(col), last="Z")
    return chr(ord("A") + col)


def grid_ref(col: int, row: int) -> str:
    """Label of the square in column ``col`` and row ``row`` (both from 0): ``(1, 2)`` → ``B3``.

    Parameters
    ----------
    col : int
        Column index from 0 (at most 25).
    row : int
        Row index from 0.

    Returns
    -------
    str
        Column letter followed by the row number from 1.
    """
    return f"{column_letter(col)}{row + 1}"


def parse_grid_ref(ref: str, spec: GridSpec | None = None) -> tuple[int, int]:
    """Column and row (from 0) of a label such as ``"B3"``, ``"b 3"`` or ``"B-3"``.

    Parameters
    ----------
    ref : str
        The label.
    spec : GridSpec, optional
        When given, the square must lie on this grid.

    Returns
    -------
    tuple of int
        ``(col, row)``, both from 0.

    Raises
    ------
    GridRefError
        If the label is malformed or off the grid.
    """
    match = _GRID_REF.match(ref or "")
    if not match:
        raise GridRefError("workshop.error.grid_ref_format", ref=ref)
    col = ord(match.group(1).upper()) - ord("A")
    row = int(match.group(2)) - 1
    if row < 0:
        raise GridRefError("workshop.error.grid_ref_format", ref=ref)
    if spec is not None and not (0 <= col < spec.cols and 0 <= row < spec.rows):
        raise GridRefError("workshop.error.grid_ref_unknown", ref=ref.strip(), last=spec.last_ref)
    return col, row


def normalise_grid_ref(ref: str, spec: GridSpec | None = None) -> str:
    """The canonical form of a label: ``" b3 "`` → ``"B3"``.

    Parameters
    ----------
    ref : str
        A label as typed.
    spec : GridSpec or None
        When given, the square must lie on this grid.

    Returns
    -------
    str
        Upper-case letter and row number, no separators; GridRefError when malformed.
    """
    return grid_ref(*parse_grid_ref(ref, spec))


def cell_bounds(spec: GridSpec, ref: str) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of a square in the metric CRS.

    Parameters
    ----------
    spec : GridSpec
        The printed grid.
    ref : str
        Square label such as ``"B3"``; must lie on the grid (GridRefError otherwise).

    Returns
    -------
    tuple of float
        Bounds in the grid's metric CRS, in metres.
    """
    col, row = parse_grid_ref(ref, spec)
    minx = spec.minx + col * spec.cell_m
    maxy = spec.maxy - row * spec.cell_m
    return (minx, maxy - spec.cell_m, minx + spec.cell_m, maxy)


def cell_polygon(spec: GridSpec, ref: str, *, wgs84: bool = False) -> Polygon:
    """The square labelled ``ref`` as a polygon, in the metric CRS or in degrees.

    Parameters
    ----------
    spec : GridSpec
        The printed grid.
    ref : str
        Square label such as ``"B3"``; must lie on the grid.
    wgs84 : bool
        Return the square in EPSG:4326 instead of the metric CRS.

    Returns
    -------
    shapely.Polygon
        The square.
    """
    square = box(*cell_bounds(spec, ref))
    return _to_wgs84(square, spec.crs) if wgs84 else square


def ref_at(spec: GridSpec, x: float, y: float) -> str | None:
    """Label of the square holding metric point ``(x, y)``, or None off the grid.

    Parameters
    ----------
    spec : GridSpec
        The printed grid.
    x, y : float
        Point in the grid's metric CRS, in metres.

    Returns
    -------
    str or None
        The label, or None when the point lies outside the grid.
    """
    col = math.floor((x - spec.minx) / spec.cell_m)
    row = math.floor((spec.maxy - y) / spec.cell_m)
    if 0 <= col < spec.cols and 0 <= row < spec.rows:
        return grid_ref(col, row)
    return None


def grid_refs(spec: GridSpec) -> list[str]:
    """Every label of the grid, row by row (``A1``, ``B1`` … then ``A2`` …).

    Parameters
    ----------
    spec : GridSpec
        The printed grid.

    Returns
    -------
    list of str
        ``spec.cols × spec.rows`` labels.
    """
    return [grid_ref(c, r) for r in range(spec.rows) for c in range(spec.cols)]


def grid_cells(spec: GridSpec) -> gpd.GeoDataFrame:
    """Every square as a GeoDataFrame in the metric CRS, with ``grid_ref``, ``col`` and ``row``.

    Parameters
    ----------
    spec : GridSpec
        The printed grid.

    Returns
    -------
    geopandas.GeoDataFrame
        One square polygon per label, row by row, in ``spec.crs``.
    """
    refs = grid_refs(spec)
    return gpd.GeoDataFrame(
        {
            "grid_ref": refs,
            "col": [parse_grid_ref(r)[0] for r in refs],
            "row": [parse_grid_ref(r)[1] for r in refs],
        },
        geometry=[cell_polygon(spec, r) for r in refs],
        crs=spec.crs,
    )


def grid_for_bounds(
    bounds: tuple[float, float, float, float],
    crs: int,
    *,
    max_cells: int = MAX_CELLS_PER_SIDE,
    margin: float = MARGIN,
) -> GridSpec:
    """The grid of a map extent: the smallest round cell size that fits ``max_cells`` per side.

    Parameters
    ----------
    bounds : tuple
        ``(minx, miny, maxx, maxy)`` in metres, in ``crs``.
    crs : int
        EPSG code of a metric CRS.
    max_cells : int
        Most columns and rows.
    margin : float
        Share of the extent added on each side before fitting.

    Returns
    -------
    GridSpec
        A grid centred on the extent, with corners on multiples of the cell size so the same
        extent always gives the same squares.
    """
    minx, miny, maxx, maxy = bounds
    width, height = maxx - minx, maxy - miny
    pad = margin * max(width, height, 1.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    largest = max(maxx - minx, maxy - miny)
    fallback = math.ceil(largest / max_cells / 1000 + 1) * 1000
    for size in (*NICE_CELL_SIZES_M, fallback):
        x0 = math.floor(minx / size) * size
        y1 = math.ceil(maxy / size) * size
        cols = math.ceil((maxx - x0) / size)
        rows = math.ceil((y1 - miny) / size)
        if (cols <= max_cells and rows <= max_cells) or size == fallback:
            return GridSpec(crs, float(x0), float(y1), float(size), int(cols), int(rows))
    raise AssertionError("unreachable")  # pragma: no cover


def community_grid(community: Community) -> GridSpec:
    """The paper grid of a community: :func:`grid_for_bounds` of its area in its metric CRS.

    Parameters
    ----------
    community : Community

    Returns
    -------
    GridSpec
    """
    return grid_for_bounds(tuple(community.metric_geometry.bounds), community.epsg)


def session_grid(engine: Engine, workshop_id: int) -> GridSpec:
    """The paper grid of a workshop session: the grid of its community.

    Parameters
    ----------
    engine : Engine
    workshop_id : int

    Returns
    -------
    GridSpec

    Raises
    ------
    SessionError
        When the session does not exist.
    """
    from geo.workshops.sessions import get_session, session_community

    return community_grid(session_community(engine, get_session(engine, workshop_id)))


@dataclass(frozen=True)
class Payload:
    """What the QR code of a printed workshop map says.

    Attributes
    ----------
    workshop_id : int
        The session.
    community : str
        Slug of the community.
    grid : GridSpec
        The grid (and so the extent) of the printed map.
    version : int
        Payload format version.
    """

    workshop_id: int
    community: str
    grid: GridSpec
    version: int = PAYLOAD_VERSION

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Extent of the printed map in the metric CRS."""
        return self.grid.bounds


def encode_payload(workshop_id: int, community: str, grid: GridSpec) -> str:
    """The compact JSON printed in the QR code of a workshop map.

    Example: ``{"harta":1,"s":12,"c":"pata-rat","crs":3844,"e":[391500,580500,394500,583500],
    "g":[250,12,12]}`` — session, community, extent (west, south, east, north in metres) and grid
    (cell size in metres, columns, rows).

    Parameters
    ----------
    workshop_id : int
        The workshop session's id.
    community : str
        The community's slug.
    grid : GridSpec
        The printed grid (its CRS is written as the EPSG int).

    Returns
    -------
    str
        ASCII JSON without spaces.
    """
    data = {
        PAYLOAD_KEY: PAYLOAD_VERSION,
        "s": int(workshop_id),
        "c": community,
        "crs": int(grid.crs),
        "e": [_num(v) for v in grid.bounds],
        "g": [_num(grid.cell_m), grid.cols, grid.rows],
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 2)


def decode_payload(payload: str | bytes) -> Payload:
    """Read a QR payload written by :func:`encode_payload`.

    Parameters
    ----------
    payload : str or bytes
        The QR code's text (bytes are decoded as UTF-8).

    Returns
    -------
    Payload
        Workshop id, community slug, grid and payload version.

    Raises
    ------
    PayloadError
        If the text is not a Harta workshop payload of a known version, or is inconsistent.
    """
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    try:
        data = json.loads(payload)
        version = int(data[PAYLOAD_KEY])
        if version != PAYLOAD_VERSION:
            raise PayloadError("workshop.error.payload", reason=f"version {version}")
        minx, miny, maxx, maxy = (float(v) for v in data["e"])
        cell, cols, rows = float(data["g"][0]), int(data["g"][1]), int(data["g"][2])
        grid = GridSpec(int(data["crs"]), minx, maxy, cell, cols, rows)
        workshop_id, community = int(data["s"]), str(data["c"])
    except PayloadError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise PayloadError("workshop.error.payload", reason=type(exc).__name__) from exc
    if not (math.isclose(grid.maxx, maxx) and math.isclose(grid.miny, miny)):
        raise PayloadError("workshop.error.payload", reason="extent and grid disagree")
    return Payload(workshop_id, community, grid, version)
