"""Render one 256 x 256 basemap tile (slippy-map ``z/x/y``) from :class:`BasemapSource`.

Geometry is drawn at twice the size and reduced (anti-aliased lines); labels are drawn at the
final size, with a halo, and never overlap.  Place names (settlements, neighbourhoods) are
placed in global pixel coordinates, so a name that crosses a tile edge is drawn in both tiles at
the same spot; street names are placed only where they fit wholly inside the tile, along the
longest straight piece of the street, turned to read left to right.  :func:`render_tile`
returns the PNG and the labels it placed (tests read the labels instead of doing OCR).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from shapely import box as shapely_box
from shapely.geometry import LineString

from geo.i18n import t
from geo.maps.tiles import style
from geo.maps.tiles.source import CLASSES, BasemapSource, Place, load_source, world_to_lonlat
from geo.maps.tiles.text import Box, Label, box_of, overlaps, paste, patch, text_width, upright

TILE = 256
SS = 2  # geometry supersampling factor
MIN_ZOOM, MAX_ZOOM = 8, 18


@dataclass(frozen=True)
class Tile:
    """A rendered tile: its PNG bytes and the labels written on it."""

    z: int
    x: int
    y: int
    png: bytes
    labels: tuple[Label, ...]

    def texts(self, kind: str | None = None) -> set[str]:
        """The texts of the labels (of one ``kind``, or all).

        Parameters
        ----------
        kind : str, optional
            ``street``, ``settlement``, ``neighbourhood``, ``railway`` or ``landfill``.

        Returns
        -------
        set of str
        """
        return {lb.text for lb in self.labels if kind is None or lb.kind == kind}


class _Frame:
    """World pixels (zoom 0) -> pixels of this tile, at a given supersampling."""

    def __init__(self, z: int, x: int, y: int):
        self.z, self.scale = z, float(2**z)
        self.ox, self.oy = x * TILE, y * TILE

    def world_box(self, margin_px: float) -> tuple[float, float, float, float]:
        m = margin_px
        s = self.scale
        return (
            (self.ox - m) / s,
            (self.oy - m) / s,
            (self.ox + TILE + m) / s,
            (self.oy + TILE + m) / s,
        )

    def px(self, coords: np.ndarray, ss: int = 1) -> np.ndarray:
        out = np.empty_like(coords)
        out[:, 0] = (coords[:, 0] * self.scale - self.ox) * ss
        out[:, 1] = (coords[:, 1] * self.scale - self.oy) * ss
        return out


def _landcover(src: BasemapSource, frame: _Frame) -> Image.Image | None:
    """Tree cover and grassland sampled at every pixel of the (supersampled) tile."""
    n = TILE * SS
    steps = (np.arange(n) + 0.5) / SS
    lon, _ = world_to_lonlat((frame.ox + steps) / frame.scale, np.zeros(n))
    _, lat = world_to_lonlat(np.zeros(n), (frame.oy + steps) / frame.scale)
    rgb = np.zeros((n, n, 3), dtype=np.uint8)
    hit = np.zeros((n, n), dtype=bool)
    for key in ("grass", "tree"):  # trees drawn over grass
        cover = src.landcover.get(key)
        if cover is None:
            continue
        cols = np.floor((lon - cover.west) / cover.res).astype(int)
        rows = np.floor((cover.north - lat) / cover.res).astype(int)
        ok_c = (cols >= 0) & (cols < cover.mask.shape[1])
        ok_r = (rows >= 0) & (rows < cover.mask.shape[0])
        if not ok_c.any() or not ok_r.any():
            continue
        sub = np.zeros((n, n), dtype=bool)
        sub[np.ix_(ok_r, ok_c)] = cover.mask[np.ix_(rows[ok_r], cols[ok_c])] > 0
        rgb[sub] = style.LANDCOVER_COLOURS[key]
        hit |= sub
    if not hit.any():
        return None
    alpha = np.where(hit, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def _dashes(points: np.ndarray, dash: float, gap: float) -> list[np.ndarray]:
    """Pieces of a polyline for a dashed stroke."""
    seg = np.diff(points, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(lengths)])
    if cum[-1] <= 0:
        return []
    pieces = []
    start = 0.0
    while start < cum[-1]:
        end = min(start + dash, cum[-1])
        ts = np.concatenate([[start], cum[(cum > start) & (cum < end)], [end]])
        xs = np.interp(ts, cum, points[:, 0])
        ys = np.interp(ts, cum, points[:, 1])
        pieces.append(np.column_stack([xs, ys]))
        start += dash + gap
    return pieces


def _line(draw: ImageDraw.ImageDraw, pts: np.ndarray, colour: tuple, width: float) -> None:
    w = max(1, int(round(width)))
    flat = [tuple(p) for p in pts]
    draw.line(flat, fill=colour, width=w, joint="curve")
    if w >= 4:  # round ends, so joined ways do not show notches
        r = w / 2
        for px, py in (flat[0], flat[-1]):
            draw.ellipse((px - r, py - r, px + r, py + r), fill=colour)


def _streets(src: BasemapSource, frame: _Frame, draw: ImageDraw.ImageDraw) -> list[int]:
    """Draw the streets (casings, then fills, minor to major); return the indices drawn."""
    z = frame.z
    margin = style.street_width("motorway", z) + 4
    found = src.tree.query(shapely_box(*frame.world_box(margin)))
    found = [int(i) for i in found if z >= style.MIN_ZOOM[src.street_class[i]]]
    rank = {c: k for k, c in enumerate(CLASSES)}
    found.sort(key=lambda i: rank[src.street_class[i]])
    pts = {i: frame.px(np.asarray(src.streets[i].coords), SS) for i in found}
    if z >= 13:
        for i in found:
            cls = src.street_class[i]
            w = style.street_width(cls, z)
            _line(draw, pts[i], style.STREET_COLOURS[cls][1], (w + max(1.5, w * 0.25)) * SS)
    for i in found:
        cls = src.street_class[i]
        fill = style.STREET_COLOURS[cls][0] if z >= 13 else style.STREET_COLOURS[cls][1]
        _line(draw, pts[i], fill, style.street_width(cls, z) * SS)
    return found


def _railway(src: BasemapSource, frame: _Frame, draw: ImageDraw.ImageDraw) -> None:
    width = (3.0 if frame.z >= 14 else 2.0) * SS
    for line in src.railway:
        pts = frame.px(np.asarray(line.coords), SS)
        _line(draw, pts, style.RAIL_COLOURS_DARK, width)
        if frame.z >= 12:
            for piece in _dashes(pts, 8 * SS, 8 * SS):
                _line(draw, piece, (255, 255, 255), width * 0.45)


def _landfill(src: BasemapSource, frame: _Frame, draw: ImageDraw.ImageDraw) -> None:
    for poly in src.landfill:
        for part in getattr(poly, "geoms", [poly]):
            pts = [tuple(p) for p in frame.px(np.asarray(part.exterior.coords), SS)]
            draw.polygon(pts, fill=style.LANDFILL_FILL, outline=style.LANDFILL_EDGE, width=SS)


def _place_text(place: Place, lang: str) -> str:
    if lang == "hu" and place.name_hu and place.name_hu != place.name:
        return f"{place.name}\n{place.name_hu}"
    return place.name


def _places(src: BasemapSource, frame: _Frame, lang: str) -> list[tuple[Place, str, Box, object]]:
    """Every place name shown at this zoom, placed in global pixels (same in every tile)."""
    z = frame.z
    chosen: list[tuple[Place, str, Box, object]] = []
    taken: list[Box] = []
    # OSM has some neighbourhoods twice (a place node and an area): one name each.
    seen: set[str] = set()
    ordered = sorted(src.places, key=lambda p: (p.kind != "settlement", p.name))
    for place in ordered:
        if place.name in seen:
            continue
        zooms = style.SETTLEMENT_ZOOMS if place.kind == "settlement" else style.NEIGHBOURHOOD_ZOOMS
        if z not in zooms:
            continue
        settlement = place.kind == "settlement"
        size = (15 if z >= 15 else 13) if settlement else (13 if z >= 14 else 12)
        colour = style.SETTLEMENT_TEXT if settlement else style.NEIGHBOURHOOD_TEXT
        img = patch(_place_text(place, lang), size, settlement, colour, 3 if settlement else 2, 0.0)
        gx, gy = place.x * frame.scale, place.y * frame.scale
        global_box = box_of(img, gx, gy)
        if overlaps(global_box, taken):
            continue
        taken.append(global_box)
        seen.add(place.name)
        chosen.append((place, _place_text(place, lang), global_box, img))
    if z >= 14:
        text = t("maps.basemap.landfill", lang)
        img = patch(text, 12, True, style.LANDFILL_EDGE, 2, 0.0)
        for poly in src.landfill:
            p = poly.representative_point()
            gx, gy = p.x * frame.scale, p.y * frame.scale + 24
            global_box = box_of(img, gx, gy)
            if not overlaps(global_box, taken):
                taken.append(global_box)
                chosen.append((Place("landfill", text, "", p.x, p.y), text, global_box, img))
    return chosen


#: Romanian street-type words written short, as on Romanian street maps.
ABBREVIATIONS = (("Strada ", "Str. "), ("Bulevardul ", "Bd. "), ("Aleea ", "Al. "))


def street_text(name: str) -> str:
    """The street name as written on the map (``Strada Horea`` -> ``Str. Horea``).

    Parameters
    ----------
    name : str
        OSM ``name``.

    Returns
    -------
    str
    """
    for long, short in ABBREVIATIONS:
        if name.startswith(long):
            return short + name[len(long) :]
    return name


def _street_candidates(src: BasemapSource, frame: _Frame) -> list[tuple]:
    """``(priority, -length, name, class, spots)`` per piece of named street in the tile:
    ``spots`` are ``(centre, angle, room)`` on its three longest straight segments (middle
    first, then towards the ends), so a name pushed off one spot by another label finds
    another.  Major streets and long pieces come first."""
    z = frame.z
    out = []
    rank = {c: k for k, c in enumerate(CLASSES)}
    for i in src.named_tree.query(shapely_box(*frame.world_box(0))):
        name, cls = src.named_name[i], src.named_class[i]
        if z < style.NAME_ZOOM[cls]:
            continue
        pts = frame.px(np.asarray(src.named[i].coords))
        clipped = LineString(pts).simplify(2.5).intersection(shapely_box(0, 0, TILE, TILE))
        for part in getattr(clipped, "geoms", [clipped]):
            if part.is_empty or part.geom_type != "LineString":
                continue
            coords = np.asarray(part.coords)
            seg = np.diff(coords, axis=0)
            lengths = np.hypot(seg[:, 0], seg[:, 1])
            spots = []
            for k in np.argsort(-lengths)[:3]:
                angle = upright(-math.degrees(math.atan2(seg[k, 1], seg[k, 0])))
                for f in (0.5, 0.3, 0.7):
                    room = 2 * min(f, 1 - f) * float(lengths[k])
                    spots.append((coords[k] + f * seg[k], angle, room))
            out.append((-rank[cls], -float(lengths.max()), name, cls, spots))
    out.sort(key=lambda c: (c[0], c[1]))
    return out


def _street_labels(
    src: BasemapSource, frame: _Frame, canvas: Image.Image, taken: list[Box]
) -> list[Label]:
    labels: list[Label] = []
    named: set[str] = set()
    for _, _, name, cls, spots in _street_candidates(src, frame):
        size = style.label_size(cls, frame.z)
        text = street_text(name)
        need = text_width(text, size) + 10
        if name in named:
            continue
        for mid, angle, room in spots:
            if room < need:
                continue
            img = patch(text, size, False, style.TEXT, 2, round(angle))
            bx = box_of(img, mid[0], mid[1], shrink=2.0)
            inside = bx[0] >= 1 and bx[1] >= 1 and bx[2] <= TILE - 1 and bx[3] <= TILE - 1
            if not inside or overlaps(bx, taken):
                continue
            paste(canvas, img, mid[0], mid[1])
            taken.append(bx)
            named.add(name)
            labels.append(Label("street", text, float(mid[0]), float(mid[1]), float(round(angle))))
            break
    return labels


def _railway_labels(
    src: BasemapSource, frame: _Frame, canvas: Image.Image, lang: str, taken: list[Box]
) -> list[Label]:
    """ "Railway (approximate)" above the line, in every other tile column (zoom 14 and up)."""
    if frame.z < 14 or (frame.ox // TILE) % 2:
        return []
    out = []
    tile = shapely_box(*frame.world_box(-30))
    for line in src.railway:
        inner = line.intersection(tile)
        if inner.is_empty or inner.length <= 0:
            continue
        p = frame.px(np.asarray(inner.interpolate(0.5, normalized=True).coords))[0]
        img = patch(t("maps.basemap.railway", lang), 11, True, style.RAIL_COLOURS_DARK, 2, 0.0)
        bx = box_of(img, p[0], p[1] - 12)
        inside = bx[0] >= 0 and bx[1] >= 0 and bx[2] <= TILE and bx[3] <= TILE
        if inside and not overlaps(bx, taken):
            paste(canvas, img, p[0], p[1] - 12)
            taken.append(bx)
            out.append(Label("railway", t("maps.basemap.railway", lang), p[0], p[1] - 12, 0.0))
    return out


def render_tile(
    z: int, x: int, y: int, lang: str = "ro", source: BasemapSource | None = None
) -> Tile:
    """Render tile ``z/x/y`` of the offline basemap.

    Parameters
    ----------
    z, x, y : int
        Slippy-map tile address (``MIN_ZOOM`` <= z <= ``MAX_ZOOM``).
    lang : str
        Language of the few words on the map ("approximate", Hungarian neighbourhood names).
    source : BasemapSource, optional
        Default: :func:`geo.maps.tiles.source.load_source` (read once per process).

    Returns
    -------
    Tile
        The PNG bytes and every label written on it.

    Raises
    ------
    ValueError
        For a zoom outside ``MIN_ZOOM..MAX_ZOOM`` or a tile outside the world.
    """
    if not MIN_ZOOM <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise ValueError(f"no such tile: {z}/{x}/{y}")
    src = source or load_source()
    frame = _Frame(z, x, y)
    big = Image.new("RGBA", (TILE * SS, TILE * SS), (*style.BACKGROUND, 255))
    cover = _landcover(src, frame)
    if cover is not None:
        big.alpha_composite(cover)
    draw = ImageDraw.Draw(big)
    _landfill(src, frame, draw)
    _railway(src, frame, draw)
    _streets(src, frame, draw)
    canvas = big.reduce(SS)
    taken: list[Box] = []
    labels: list[Label] = []
    for place, text, gbox, img in _places(src, frame, lang):
        local = (gbox[0] - frame.ox, gbox[1] - frame.oy, gbox[2] - frame.ox, gbox[3] - frame.oy)
        taken.append(local)
        if local[2] < 0 or local[3] < 0 or local[0] > TILE or local[1] > TILE:
            continue
        cx, cy = (local[0] + local[2]) / 2, (local[1] + local[3]) / 2
        paste(canvas, img, cx, cy)
        labels.append(Label(place.kind, text, cx, cy, 0.0))
    labels += _railway_labels(src, frame, canvas, lang, taken)
    labels += _street_labels(src, frame, canvas, taken)
    out = io.BytesIO()
    canvas.convert("RGB").save(out, "PNG", optimize=False, compress_level=6)
    return Tile(z, x, y, out.getvalue(), tuple(labels))
