"""Text for the basemap tiles: fonts with Romanian and Hungarian letters, haloed labels that
can be rotated to follow a street, and a collision list so labels never overlap."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
)


def _matplotlib_fonts() -> Path | None:
    # matplotlib (a pinned dependency) ships DejaVu: the basemap never depends on system fonts.
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@lru_cache(maxsize=32)
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (ș ț ő ű ...) at ``size`` pixels.

    Parameters
    ----------
    size : int
        Pixel size.
    bold : bool
        Bold face.

    Returns
    -------
    PIL.ImageFont.FreeTypeFont

    Raises
    ------
    FileNotFoundError
        When no DejaVu font is found (matplotlib's copy is always there in the venv).
    """
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    folders = [*_FONT_DIRS, _matplotlib_fonts()]
    for folder in folders:
        if folder is not None and (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    raise FileNotFoundError(f"{name} not found in {folders}")


@dataclass(frozen=True)
class Label:
    """A label the renderer placed on a tile (what a test or a person can read there)."""

    kind: str  # "street", "settlement", "neighbourhood", "railway", "landfill"
    text: str
    x: float  # centre, tile pixels
    y: float
    angle: float  # degrees, counter-clockwise


Box = tuple[float, float, float, float]


def overlaps(box: Box, placed: list[Box]) -> bool:
    """Whether ``box`` overlaps any box in ``placed``.

    Parameters
    ----------
    box : tuple of float
        ``(x0, y0, x1, y1)``.
    placed : list of tuple
        Boxes already taken.

    Returns
    -------
    bool
    """
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in placed)


@lru_cache(maxsize=4096)
def patch(
    text: str, size: int, bold: bool, colour: tuple[int, int, int], halo: int, angle: float
) -> Image.Image:
    """The label as an RGBA image: text with a white halo, rotated by ``angle`` degrees.

    Parameters
    ----------
    text : str
        What to write (may hold a newline).
    size : int
        Font size in pixels.
    bold : bool
        Bold face.
    colour : tuple of int
        Text colour (RGB).
    halo : int
        Halo width in pixels.
    angle : float
        Rotation, degrees counter-clockwise (rounded by the caller to keep the cache small).

    Returns
    -------
    PIL.Image.Image
    """
    f = font(size, bold=bold)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    x0, y0, x1, y1 = probe.multiline_textbbox(
        (0, 0), text, font=f, stroke_width=halo, align="center"
    )
    img = Image.new("RGBA", (int(x1 - x0) + 2, int(y1 - y0) + 2), (255, 255, 255, 0))
    ImageDraw.Draw(img).multiline_text(
        (1 - x0, 1 - y0),
        text,
        font=f,
        fill=(*colour, 255),
        stroke_width=halo,
        stroke_fill=(255, 255, 255, 235),
        align="center",
    )
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return img


def text_width(text: str, size: int, bold: bool = False) -> float:
    """Unrotated width of ``text`` in pixels.

    Parameters
    ----------
    text : str
    size : int
    bold : bool

    Returns
    -------
    float
    """
    return font(size, bold=bold).getlength(text)


def upright(angle: float) -> float:
    """The same direction, turned so the text never reads upside down (-90 < a <= 90).

    Parameters
    ----------
    angle : float
        Degrees.

    Returns
    -------
    float
    """
    a = (angle + 180.0) % 360.0 - 180.0
    if a > 90.0:
        a -= 180.0
    elif a <= -90.0:
        a += 180.0
    return a


def box_of(img: Image.Image, cx: float, cy: float, shrink: float = 1.0) -> Box:
    """The box a patch covers when centred at ``(cx, cy)``.

    Parameters
    ----------
    img : PIL.Image.Image
    cx, cy : float
        Centre in tile pixels.
    shrink : float
        Pixels taken off each side (halos may touch).

    Returns
    -------
    tuple of float
    """
    w, h = img.size
    return (cx - w / 2 + shrink, cy - h / 2 + shrink, cx + w / 2 - shrink, cy + h / 2 - shrink)


def paste(canvas: Image.Image, img: Image.Image, cx: float, cy: float) -> None:
    """Draw a label patch centred at ``(cx, cy)`` (clipped at the tile's edge).

    Parameters
    ----------
    canvas : PIL.Image.Image
        RGBA tile.
    img : PIL.Image.Image
        From :func:`patch`.
    cx, cy : float
        Centre in tile pixels.
    """
    w, h = img.size
    left, top = int(math.floor(cx - w / 2)), int(math.floor(cy - h / 2))
    # alpha_composite needs a destination inside the canvas: crop the part that overflows.
    sx, sy = max(0, -left), max(0, -top)
    ex, ey = min(w, canvas.width - left), min(h, canvas.height - top)
    if ex <= sx or ey <= sy:
        return
    canvas.alpha_composite(img.crop((sx, sy, ex, ey)), dest=(left + sx, top + sy))
