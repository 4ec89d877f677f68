"""Printed workshop maps and session summaries, as vector PDFs (fpdf2).

:func:`workshop_map_pdf` prints the map a workshop draws on: A4 or A3 landscape, the bundled
OpenStreetMap streets drawn as lines in the community's metric CRS (no tiles, works offline),
the community boundary, the settlements with their names, the paper grid with its letters and
numbers (:mod:`geo.workshops.paper`), a legend of hazard pictograms and severity colours, and a
QR code whose payload names the session, the community, the extent and the grid
(:func:`geo.workshops.paper.encode_payload`).  Every text is in the session's language.

:func:`session_summary_pdf` prints what a session produced: the map with its marks numbered, a
table of the marks, and the agreement with every session of the community
(:func:`geo.workshops.consensus.consensus_zones`).  The session's community is read once
(:func:`geo.workshops.session_community`) and passed down.  Drawing primitives are
:mod:`geo.reports.pdf`.

Notes are plain text: fpdf2 writes them as characters, never as markup.

This module never imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import shapely
from fpdf import FPDF
from sqlalchemy import Engine

from geo import taxonomy, views, workshops
from geo.communities.model import Community
from geo.i18n import t
from geo.reports.pdf import (
    ATTRIBUTION,
    FONT,
    FONT_CANDIDATES,
    PAPER_SIZES,
    FontMissingError,
    Frame,
    clip_to_grid,
    draw_line,
    draw_north,
    draw_polygon,
    draw_scale_bar,
    draw_table,
    fit_frame,
    font_files,
    lines,
    new_pdf,
    polygons,
    qr_png,
    rgb,
)
from geo.workshops import consensus, paper

__all__ = [
    "ATTRIBUTION",
    "FONT_CANDIDATES",
    "PAPER_SIZES",
    "FontMissingError",
    "Frame",
    "fit_frame",
    "font_files",
    "session_summary_pdf",
    "workshop_map_pdf",
]

#: Street line widths (mm) by OSM highway class; anything else gets the default.
STREET_WIDTHS = {
    "motorway": 1.2,
    "trunk": 1.1,
    "primary": 1.0,
    "secondary": 0.9,
    "tertiary": 0.8,
    "unclassified": 0.6,
    "residential": 0.6,
    "living_street": 0.5,
    "service": 0.4,
    "track": 0.35,
}
STREET_DEFAULT_WIDTH = 0.3
GRID_COLOUR = "#1565c0"
BOUNDARY_COLOUR = "#000000"
SETTLEMENT_FILL = "#dfe5e8"
SETTLEMENT_LINE = "#607d8b"
STREET_COLOUR = "#757575"


@dataclass(frozen=True)
class _Layers:
    boundary: gpd.GeoDataFrame
    settlements: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame


def _load_layers(engine: Engine, community: Community, grid: paper.GridSpec) -> _Layers:
    boundary = gpd.GeoDataFrame(geometry=[community.geometry], crs=4326)
    # Settlements share their parent's streets and settlement outlines.
    root = (
        community
        if community.parent_slug is None
        else Community.load(engine, community.parent_slug)
    )
    settlements = views.settlements(engine, root).set_crs(4326, allow_override=True)
    streets = views.streets(engine, root).set_crs(4326, allow_override=True)
    return _Layers(
        boundary=clip_to_grid(boundary, grid),
        settlements=clip_to_grid(settlements.rename_geometry("geometry"), grid),
        streets=clip_to_grid(streets.rename_geometry("geometry"), grid),
    )


def _draw_basemap(pdf: FPDF, frame: Frame, layers: _Layers) -> None:
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(frame.x, frame.y, frame.width, frame.height, style="F")
    pdf.set_draw_color(*rgb(SETTLEMENT_LINE))
    pdf.set_fill_color(*rgb(SETTLEMENT_FILL))
    pdf.set_line_width(0.3)
    for geom in layers.settlements.geometry:
        for polygon in polygons(geom):
            draw_polygon(pdf, frame, polygon, "DF")
    pdf.set_draw_color(*rgb(STREET_COLOUR))
    for highway, geom in zip(layers.streets["highway"], layers.streets.geometry, strict=True):
        pdf.set_line_width(STREET_WIDTHS.get(str(highway).removesuffix("_link"), 0.3))
        for line in lines(geom):
            draw_line(pdf, frame, line)
    pdf.set_draw_color(*rgb(BOUNDARY_COLOUR))
    pdf.set_line_width(0.7)
    pdf.set_dash_pattern(dash=3, gap=1.5)
    for geom in layers.boundary.geometry:
        for line in lines(geom):
            draw_line(pdf, frame, line)
    pdf.set_dash_pattern()
    pdf.set_text_color(38, 50, 56)
    pdf.set_font(FONT, "B", 8)
    for name, geom in zip(layers.settlements["name"], layers.settlements.geometry, strict=True):
        point = geom.representative_point()
        px, py = frame.page(point.x, point.y)
        width = pdf.get_string_width(str(name)) + 2
        pdf.set_fill_color(255, 255, 255)
        with pdf.local_context(fill_opacity=0.75):
            pdf.rect(px - width / 2, py - 2.2, width, 4.4, style="F")
        pdf.set_xy(px - width / 2, py - 2.2)
        pdf.cell(width, 4.4, str(name), align="C")


def _draw_grid(pdf: FPDF, frame: Frame, *, font_size: float) -> None:
    grid = frame.grid
    pdf.set_draw_color(*rgb(GRID_COLOUR))
    pdf.set_line_width(0.25)
    for col in range(grid.cols + 1):
        x = frame.x + col * grid.cell_m * frame.scale
        pdf.line(x, frame.y, x, frame.y + frame.height)
    for row in range(grid.rows + 1):
        y = frame.y + row * grid.cell_m * frame.scale
        pdf.line(frame.x, y, frame.x + frame.width, y)
    pdf.set_line_width(0.6)
    pdf.set_draw_color(0, 0, 0)
    pdf.rect(frame.x, frame.y, frame.width, frame.height)
    pdf.set_text_color(*rgb(GRID_COLOUR))
    pdf.set_font(FONT, "B", font_size)
    cell = grid.cell_m * frame.scale
    gutter = font_size * 0.5
    for col in range(grid.cols):
        letter = paper.column_letter(col)
        x = frame.x + col * cell
        for y in (frame.y - gutter - 0.5, frame.y + frame.height + 0.5):
            pdf.set_xy(x, y)
            pdf.cell(cell, gutter, letter, align="C")
    for row in range(grid.rows):
        y = frame.y + row * cell
        for x in (frame.x - gutter - 1, frame.x + frame.width + 1):
            pdf.set_xy(x, y)
            pdf.cell(gutter, cell, str(row + 1), align="C")


def _draw_marks(pdf: FPDF, frame: Frame, marks: gpd.GeoDataFrame, *, font_size: float) -> None:
    """Marks coloured by severity, each labelled with its number."""
    if marks.empty:
        return
    metric = marks.to_crs(frame.grid.crs)
    for mark in metric.itertuples():
        colour = rgb(taxonomy.severity_colour(int(mark.severity)))
        geom = mark.geometry
        pdf.set_draw_color(0, 0, 0)
        pdf.set_fill_color(*colour)
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            pdf.set_line_width(0.4)
            with pdf.local_context(fill_opacity=0.55):
                for polygon in polygons(geom):
                    draw_polygon(pdf, frame, polygon, "DF")
        elif geom.geom_type in ("LineString", "MultiLineString"):
            for width, line_rgb in ((2.2, (0, 0, 0)), (1.4, colour)):
                pdf.set_line_width(width)
                pdf.set_draw_color(*line_rgb)
                for line in lines(geom):
                    draw_line(pdf, frame, line)
        else:
            pdf.set_line_width(0.4)
            for point in shapely.get_parts(geom):
                px, py = frame.page(point.x, point.y)
                pdf.circle(px, py, 2.2, style="DF")
    pdf.set_font(FONT, "B", font_size)
    for mark in metric.itertuples():
        point = mark.geometry.representative_point()
        px, py = frame.page(point.x, point.y)
        label = str(int(mark.id))
        width = pdf.get_string_width(label) + 2
        pdf.set_fill_color(0, 0, 0)
        pdf.set_text_color(255, 255, 255)
        pdf.rect(px - width / 2, py - 2.0 - 3.0, width, 4.0, style="F")
        pdf.set_xy(px - width / 2, py - 5.0)
        pdf.cell(width, 4.0, label, align="C")


def _legend(
    pdf: FPDF, x: float, y: float, width: float, lang: str, *, hazards: Iterable[str], k: float
) -> float:
    """Draw the legend; return the y below it."""
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "B", 10 * k)
    pdf.set_xy(x, y)
    pdf.cell(width, 5 * k, t("workshop.pdf.legend", lang))
    y += 6 * k
    icon = 6.5 * k
    pdf.set_font(FONT, "", 7.5 * k)
    for code in hazards:
        pdf.image(str(taxonomy.icon_path("hazard", code)), x=x, y=y, w=icon, h=icon)
        pdf.set_xy(x + icon + 1.5, y)
        pdf.multi_cell(
            width - icon - 1.5, icon / 2, taxonomy.label("hazard", code, lang), align="L"
        )
        y += icon + 1.0 * k
    y += 1.5 * k
    pdf.set_font(FONT, "B", 10 * k)
    pdf.set_xy(x, y)
    pdf.cell(width, 5 * k, t("workshop.pdf.severity", lang))
    y += 6 * k
    box_w = width / 5
    for n in taxonomy.severities():
        pdf.set_fill_color(*rgb(taxonomy.severity_colour(n)))
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.3)
        bx = x + (n - 1) * box_w
        pdf.rect(bx, y, box_w, 6 * k, style="DF")
        pdf.set_text_color(*rgb(taxonomy.severity_text_colour(n)))
        pdf.set_font(FONT, "B", 10 * k)
        pdf.set_xy(bx, y)
        pdf.cell(box_w, 6 * k, str(n), align="C")
    y += 6.5 * k
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "", 6.5 * k)
    pdf.set_xy(x, y)
    low, high = taxonomy.label("severity", 1, lang), taxonomy.label("severity", 5, lang)
    pdf.cell(width / 2, 3.5 * k, f"1 = {low}")
    pdf.cell(width / 2, 3.5 * k, f"5 = {high}", align="R")
    y += 5 * k
    # Boundary and settlements.
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.7)
    pdf.set_dash_pattern(dash=3, gap=1.5)
    pdf.line(x, y + 2 * k, x + 8 * k, y + 2 * k)
    pdf.set_dash_pattern()
    pdf.set_font(FONT, "", 7.5 * k)
    pdf.set_xy(x + 10 * k, y)
    pdf.cell(width - 10 * k, 4 * k, t("workshop.pdf.boundary", lang))
    y += 5 * k
    pdf.set_fill_color(*rgb(SETTLEMENT_FILL))
    pdf.set_draw_color(*rgb(SETTLEMENT_LINE))
    pdf.set_line_width(0.3)
    pdf.rect(x, y, 8 * k, 4 * k, style="DF")
    pdf.set_xy(x + 10 * k, y)
    pdf.cell(width - 10 * k, 4 * k, t("workshop.pdf.settlements", lang))
    return y + 6 * k


def _header(pdf: FPDF, session: workshops.Session, title_key: str, lang: str, k: float) -> None:
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(10, 7)
    pdf.set_font(FONT, "B", 15 * k)
    pdf.cell(0, 7 * k, t(title_key, lang, community=session.community_name))
    pdf.set_xy(10, 7 + 7 * k)
    pdf.set_font(FONT, "", 9.5 * k)
    subtitle = t(
        "workshop.pdf.subtitle",
        lang,
        id=session.id,
        date=session.held_on.isoformat(),
        participants=session.participants,
    )
    if session.is_demo:
        subtitle += "  ·  DEMO"
    pdf.cell(0, 5 * k, subtitle)


def _map_page(
    pdf: FPDF,
    engine: Engine,
    session: workshops.Session,
    community: Community,
    lang: str,
    *,
    paper_size: str,
    title_key: str,
    marks: gpd.GeoDataFrame | None,
) -> Frame:
    """One page: header, map with grid, legend, QR code, scale, attribution."""
    pdf.set_auto_page_break(False)
    pdf.add_page()
    page_w, page_h = PAPER_SIZES[paper_size]
    k = page_w / PAPER_SIZES["A4"][0]
    grid = paper.community_grid(community)
    _header(pdf, session, title_key, lang, k)
    side_w = 62 * k
    gutter = 7 * k
    top = 7 + 14 * k
    bottom = page_h - 13 * k
    map_box = (10 + gutter, top + gutter, page_w - 20 - side_w - 2 * gutter - 4, 0)
    frame = fit_frame(grid, map_box[0], map_box[1], map_box[2], bottom - gutter - (top + gutter))
    _draw_basemap(pdf, frame, _load_layers(engine, community, grid))
    if marks is not None:
        _draw_marks(pdf, frame, marks, font_size=7 * k)
    _draw_grid(pdf, frame, font_size=9 * k)
    side_x = page_w - 10 - side_w
    hazards = (
        taxonomy.hazards()
        if marks is None
        else [h for h in taxonomy.hazards() if h in set(marks["hazard_code"])]
    )
    _legend(pdf, side_x, top, side_w, lang, hazards=hazards, k=k)
    # QR code: bottom of the side column.
    qr_size = 38 * k
    qr_y = bottom - qr_size - 5 * k
    payload = paper.encode_payload(session.id, session.community, grid)
    pdf.image(qr_png(payload), x=side_x + (side_w - qr_size) / 2, y=qr_y, w=qr_size, h=qr_size)
    pdf.set_font(FONT, "B", 8 * k)
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(side_x, qr_y + qr_size)
    pdf.cell(side_w, 4 * k, t("workshop.pdf.qr", lang, id=session.id), align="C")
    draw_north(pdf, side_x + side_w - 5 * k, qr_y - 16 * k, size=8 * k)
    # Footer: grid help, scale bar, attribution.
    foot_y = page_h - 11 * k
    pdf.set_xy(10, foot_y)
    pdf.set_font(FONT, "", 7.5 * k)
    pdf.cell(
        page_w - 20 - side_w,
        4 * k,
        t("workshop.pdf.grid_help", lang, cell=int(grid.cell_m)),
    )
    draw_scale_bar(pdf, frame, 10, foot_y + 4.5 * k, lang)
    pdf.set_font(FONT, "", 7 * k)
    pdf.set_xy(side_x - 20 * k, page_h - 7 * k)
    pdf.cell(side_w + 20 * k, 4 * k, t("workshop.pdf.attribution", lang), align="R")
    return frame


def workshop_map_pdf(
    engine: Engine,
    workshop_id: int,
    *,
    paper_size: str = "A4",
    lang: str | None = None,
    with_marks: bool = False,
) -> bytes:
    """The workshop map to print and draw on.

    Parameters
    ----------
    engine : Engine
        The Harta database.
    workshop_id : int
        The session; its community, language and grid make the map.
    paper_size : {"A4", "A3"}
        Landscape page size.
    lang : str, optional
        Language of the texts; the session's language when omitted.
    with_marks : bool
        Also draw the marks already made in the session.

    Returns
    -------
    bytes
        The PDF.
    """
    session = workshops.get_session(engine, workshop_id)
    community = workshops.session_community(engine, session)
    lang = lang or session.language
    pdf = new_pdf(paper_size)
    pdf.set_title(t("workshop.pdf.title", lang, community=session.community_name))
    marks = workshops.session_marks(engine, workshop_id) if with_marks else None
    if marks is not None:
        marks = marks.rename_geometry("geometry")
    _map_page(
        pdf,
        engine,
        session,
        community,
        lang,
        paper_size=paper_size,
        title_key="workshop.pdf.title",
        marks=marks,
    )
    return bytes(pdf.output())


def session_summary_pdf(engine: Engine, workshop_id: int, *, lang: str | None = None) -> bytes:
    """The printable summary of a session: map with its numbered marks, the marks table, and
    the agreement with all sessions of the community.

    Parameters
    ----------
    engine : Engine
        The Harta database.
    workshop_id : int
        The session.
    lang : str, optional
        Language of the texts; the session's language when omitted.

    Returns
    -------
    bytes
        The PDF.
    """
    session = workshops.get_session(engine, workshop_id)
    community = workshops.session_community(engine, session)
    lang = lang or session.language
    pdf = new_pdf("A4")
    pdf.set_title(t("workshop.pdf.summary_title", lang, community=session.community_name))
    marks = workshops.session_marks(engine, workshop_id).rename_geometry("geometry")
    _map_page(
        pdf,
        engine,
        session,
        community,
        lang,
        paper_size="A4",
        title_key="workshop.pdf.summary_title",
        marks=marks,
    )
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font(FONT, "B", 13)
    pdf.cell(
        0, 8, t("workshop.pdf.summary_marks", lang, count=len(marks)), new_x="LMARGIN", new_y="NEXT"
    )
    if marks.empty:
        pdf.set_font(FONT, "", 10)
        pdf.cell(0, 6, t("workshop.pdf.summary_none", lang), new_x="LMARGIN", new_y="NEXT")
    else:
        table = workshops.marks_table(marks, lang)
        rows = [list(table.columns)] + [[str(v) for v in r] for r in table.itertuples(index=False)]
        draw_table(pdf, rows, (10, 55, 30, 24, 24, 24, 16, 74))
    zones = consensus.consensus_zones(engine, community, include_demo=session.is_demo)
    zones = zones[zones["session_ids"].map(lambda ids: session.id in ids)]
    pdf.ln(5)
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, t("workshop.pdf.summary_agreement", lang), new_x="LMARGIN", new_y="NEXT")
    if len(zones):
        table = consensus.consensus_table(zones, lang)
        rows = [list(table.columns)] + [[str(v) for v in r] for r in table.itertuples(index=False)]
        draw_table(pdf, rows, (70, 22, 22, 50, 45, 28, 30))
    else:
        pdf.set_font(FONT, "", 10)
        pdf.cell(0, 6, t("workshop.pdf.summary_none", lang), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FONT, "", 7)
    pdf.cell(0, 4, f"{ATTRIBUTION} · Harta · {dt.date.today().isoformat()}")
    return bytes(pdf.output())
