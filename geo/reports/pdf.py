"""PDF building blocks (fpdf2): Unicode fonts, the map frame (metres -> page millimetres),
line and polygon drawing, scale bar, north arrow, QR codes and tables.

Reports (:mod:`geo.reports.workshop_pdf`) compose pages from these.  Text is written as
characters, never as markup.  This module never imports Streamlit.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import segno
import shapely
from fpdf import FPDF
from fpdf.enums import TableCellFillMode
from fpdf.fonts import FontFace
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geo.errors import HartaError
from geo.workshops.paper import GridSpec

#: Landscape page sizes in millimetres.
PAPER_SIZES: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}
#: Unicode fonts (Romanian ș ț, Hungarian ő ű) tried in order: regular, bold.
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
)
FONT = "harta"
ATTRIBUTION = "© OpenStreetMap contributors, ODbL"


class FontMissingError(HartaError, RuntimeError):
    """No Unicode TrueType font was found for the PDF (``workshop.error.font_missing``)."""


@cache
def font_files() -> tuple[str, str]:
    """Paths of the regular and bold Unicode fonts used in PDFs.

    Returns
    -------
    tuple of str
        Regular and bold (the regular one twice when no bold is installed).

    Raises
    ------
    FontMissingError
        When none of :data:`FONT_CANDIDATES` is installed.
    """
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return regular, bold if Path(bold).is_file() else regular
    raise FontMissingError(
        "workshop.error.font_missing", paths=", ".join(r for r, _ in FONT_CANDIDATES)
    )


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an ``(r, g, b)`` tuple of ints."""
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def new_pdf(paper_size: str) -> FPDF:
    """A landscape FPDF of ``paper_size`` (``A4``/``A3``) with Harta's Unicode font loaded.

    Parameters
    ----------
    paper_size : {"A4", "A3"}

    Returns
    -------
    FPDF
    """
    if paper_size not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {sorted(PAPER_SIZES)}, not {paper_size!r}")
    pdf = FPDF(orientation="L", unit="mm", format=paper_size)
    regular, bold = font_files()
    pdf.add_font(FONT, "", regular)
    pdf.add_font(FONT, "B", bold)
    pdf.set_auto_page_break(False)
    pdf.set_margins(10, 10, 10)
    pdf.set_creator("Harta")
    return pdf


# --------------------------------------------------------------------------------------------
# Map frame: metric coordinates → page millimetres


@dataclass(frozen=True)
class Frame:
    """Where the grid extent sits on the page, and the scale between them.

    Attributes
    ----------
    x, y : float
        Top-left corner of the map on the page (mm).
    scale : float
        Page millimetres per metre on the ground.
    grid : GridSpec
        The extent drawn.
    """

    x: float
    y: float
    scale: float
    grid: GridSpec

    @property
    def width(self) -> float:
        return (self.grid.maxx - self.grid.minx) * self.scale

    @property
    def height(self) -> float:
        return (self.grid.maxy - self.grid.miny) * self.scale

    def page(self, mx: float, my: float) -> tuple[float, float]:
        """Page position of metric point ``(mx, my)``."""
        return (
            self.x + (mx - self.grid.minx) * self.scale,
            self.y + (self.grid.maxy - my) * self.scale,
        )

    @property
    def scale_denominator(self) -> int:
        """The ``N`` of "1:N"."""
        return round(1000.0 / self.scale)


def fit_frame(grid: GridSpec, x: float, y: float, w: float, h: float) -> Frame:
    """Fit the grid extent into the box ``(x, y, w, h)`` (mm), keeping its shape, centred."""
    gw, gh = grid.maxx - grid.minx, grid.maxy - grid.miny
    scale = min(w / gw, h / gh)
    return Frame(x + (w - gw * scale) / 2, y + (h - gh * scale) / 2, scale, grid)


def clip_to_grid(frame: gpd.GeoDataFrame, grid: GridSpec) -> gpd.GeoDataFrame:
    """``frame`` in the grid's CRS, cut to the grid's extent, empty parts dropped."""
    extent = box(*grid.bounds)
    frame = frame.to_crs(grid.crs)
    frame = frame[frame.intersects(extent)].copy()
    frame["geometry"] = frame.geometry.intersection(extent)
    return frame[~frame.geometry.is_empty]


def lines(geom: BaseGeometry) -> Iterable[BaseGeometry]:
    """Every line of ``geom``: lines as they are, polygon rings as lines."""
    for part in shapely.get_parts(geom):
        if part.geom_type == "LineString":
            yield part
        elif part.geom_type == "Polygon":
            yield part.exterior
            yield from part.interiors
        elif part.geom_type.startswith("Multi") or part.geom_type == "GeometryCollection":
            yield from lines(part)


def polygons(geom: BaseGeometry) -> Iterable[BaseGeometry]:
    """Every polygon of ``geom``."""
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            yield part
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            yield from polygons(part)


def draw_line(pdf: FPDF, frame: Frame, line: BaseGeometry) -> None:
    """Draw a metric line on the page."""
    points = [frame.page(x, y) for x, y in line.coords]
    if len(points) >= 2:
        pdf.polyline(points)


def draw_polygon(pdf: FPDF, frame: Frame, polygon: BaseGeometry, style: str) -> None:
    """Draw a metric polygon's outline (``style`` ``D``, ``F`` or ``DF``)."""
    points = [frame.page(x, y) for x, y in polygon.exterior.coords]
    if len(points) >= 3:
        pdf.polygon(points, style=style)


def draw_scale_bar(pdf: FPDF, frame: Frame, x: float, y: float, lang: str) -> None:
    """A two-cell scale bar of two grid squares, with the scale ``1:N``."""
    metres = frame.grid.cell_m * 2
    length = metres * frame.scale
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.4)
    pdf.set_fill_color(0, 0, 0)
    pdf.rect(x, y, length / 2, 1.5, style="DF")
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x + length / 2, y, length / 2, 1.5, style="DF")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "", 7)
    pdf.set_xy(x, y + 1.8)
    pdf.cell(length, 3, f"0 — {int(metres)} m   ·   1:{frame.scale_denominator:,}", align="L")


def draw_north(pdf: FPDF, x: float, y: float, size: float = 8.0) -> None:
    """A north arrow whose tip is at ``(x, y)``."""
    pdf.set_fill_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.polygon(
        [(x, y), (x + size / 3, y + size), (x, y + size * 0.7), (x - size / 3, y + size)],
        style="DF",
    )
    pdf.set_font(FONT, "B", 9)
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(x - 3, y + size + 0.5)
    pdf.cell(6, 4, "N", align="C")


def qr_png(payload: str) -> io.BytesIO:
    """``payload`` as a QR code PNG (error correction M) in memory."""
    qr = segno.make(payload, error="m", micro=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)
    return buffer


def draw_table(pdf: FPDF, rows: list[list[str]], widths: tuple[float, ...], k: float = 1.0) -> None:
    """A table whose first row is the header; every cell is plain text (no markup)."""
    pdf.set_font(FONT, "", 8 * k)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=4.5 * k,
        markdown=False,
        cell_fill_color=(242, 242, 242),
        cell_fill_mode=TableCellFillMode.ROWS,
        headings_style=FontFace(emphasis="BOLD", fill_color=(200, 215, 235)),
    ) as table:
        for row in rows:
            cells = table.row()
            for value in row:
                cells.cell(str(value))
