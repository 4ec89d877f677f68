"""Printed workshop maps: the grid, the QR code that decodes back to the session and extent,
and the session summary."""

# ruff: noqa: F811  (pytest fixtures imported from tests.workshop_fixtures)
from __future__ import annotations

import datetime as dt
import json
import os

import cv2
import numpy as np
import pymupdf as fitz
import pytest
from shapely.geometry import Point, Polygon

from geo import workshops as ws
from geo.reports import workshop_pdf
from geo.reports.pdf import rgb
from geo.workshops import paper
from tests.browser import SCREENSHOTS
from tests.workshop_fixtures import dallas, mediator, member, pata_rat  # noqa: F401

pytestmark = pytest.mark.db

KEEP = os.environ.get("HARTA_KEEP_PDF")  # folder to keep the rendered pages in, for looking at


@pytest.fixture
def session(mediator, pata_rat):
    return ws.open_session(
        mediator, pata_rat, held_on=dt.date(2026, 11, 23), language="ro", participants=12
    )


def render(pdf_bytes: bytes, dpi: int = 150, page: int = 0) -> np.ndarray:
    doc = fitz.open(stream=pdf_bytes, filetype="pdf")
    pix = doc[page].get_pixmap(dpi=dpi)
    image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR if pix.n == 3 else cv2.COLOR_RGBA2BGR)


def page_text(pdf_bytes: bytes, page: int = 0) -> str:
    return fitz.open(stream=pdf_bytes, filetype="pdf")[page].get_text()


def decode_qr(image: np.ndarray) -> str:
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert points is not None and text, "no QR code found on the page"
    return text


@pytest.mark.parametrize(("size", "mm"), [("A4", (297, 210)), ("A3", (420, 297))])
def test_map_has_grid_and_qr_payload_decoding_to_session_and_extent(
    loaded_engine, session, size, mm
):
    pdf = workshop_pdf.workshop_map_pdf(loaded_engine, session.id, paper_size=size)
    doc = fitz.open(stream=pdf, filetype="pdf")
    assert len(doc) == 1
    width_mm, height_mm = (v / 72 * 25.4 for v in doc[0].rect[2:])
    assert (round(width_mm), round(height_mm)) == mm  # landscape
    # QR: render, decode with OpenCV, read back the session and the extent.
    image = render(pdf, dpi=150)
    decoded = paper.decode_payload(decode_qr(image))
    grid = paper.session_grid(loaded_engine, session.id)
    assert decoded.workshop_id == session.id and decoded.community == "pata-rat"
    assert decoded.grid == grid and decoded.extent == grid.bounds
    west, south, east, north = decoded.grid.bounds_wgs84()
    assert west < 23.68 < 23.70 < east and south < 46.768 < 46.782 < north
    # Grid labels: every column letter and row number is printed.
    words = {w[4] for w in doc[0].get_text("words")}
    letters = [paper.column_letter(c) for c in range(grid.cols)]
    numbers = [str(r + 1) for r in range(grid.rows)]
    assert set(letters) <= words and set(numbers) <= words
    text = page_text(pdf)
    assert "© OpenStreetMap contributors, ODbL" in text
    assert "Harta atelierului · Pata Rât" in text
    assert "Sesiunea nr." in text and "2026-11-23" in text
    assert "Inundații" in text and "Câini fără stăpân" in text  # legend, Romanian labels
    if KEEP:
        cv2.imwrite(os.path.join(KEEP, f"workshop_map_{size}.png"), image)


def test_grid_lines_are_drawn_where_the_grid_says(loaded_engine, session):
    pdf = workshop_pdf.workshop_map_pdf(loaded_engine, session.id)
    grid = paper.session_grid(loaded_engine, session.id)
    frame = workshop_pdf.fit_frame(grid, 0, 0, 100, 100)
    assert frame.width == pytest.approx(grid.cols * grid.cell_m * frame.scale)
    drawings = fitz.open(stream=pdf, filetype="pdf")[0].get_drawings()
    blue = [
        d
        for d in drawings
        if d.get("color")
        and tuple(round(c * 255) for c in d["color"]) == rgb(workshop_pdf.GRID_COLOUR)
    ]
    # One line per column edge and per row edge.
    assert len(blue) >= (grid.cols + 1) + (grid.rows + 1)


@pytest.mark.parametrize("lang", ["hu", "en"])
def test_map_texts_follow_the_language(loaded_engine, session, lang):
    pdf = workshop_pdf.workshop_map_pdf(loaded_engine, session.id, lang=lang)
    text = page_text(pdf)
    expected = {"hu": ("Műhelytérkép", "Kóbor kutyák"), "en": ("Workshop map", "Stray dogs")}
    for phrase in expected[lang]:
        assert phrase in text


def test_session_language_is_the_default(loaded_engine, member, dallas):
    hu = ws.open_session(
        member, dallas, held_on=dt.date(2026, 11, 30), language="hu", participants=7
    )
    pdf = workshop_pdf.workshop_map_pdf(loaded_engine, hu.id)
    assert "Műhelytérkép · Dallas" in page_text(pdf)
    decoded = paper.decode_payload(decode_qr(render(pdf)))
    assert (decoded.workshop_id, decoded.community) == (hu.id, "dallas")


def test_summary_has_map_marks_table_and_escaped_notes(loaded_engine, session, mediator):
    centre = (23.6893, 46.7737)
    square = Polygon(
        [
            (centre[0] + dx, centre[1] + dy)
            for dx, dy in ((0, 0), (0.001, 0), (0.001, 0.0008), (0, 0.0008))
        ]
    )
    note = '<b>apă</b> & "fum" la rampă'
    a = ws.save_mark(
        mediator,
        session.id,
        square,
        ws.mark_attributes("flooding", 4, "night", "spring", note),
    )
    b = ws.save_mark(
        mediator,
        session.id,
        Point(centre[0] - 0.002, centre[1]),
        ws.mark_attributes("railway_crossing", 5),
    )
    pdf = workshop_pdf.session_summary_pdf(loaded_engine, session.id)
    doc = fitz.open(stream=pdf, filetype="pdf")
    assert len(doc) >= 2
    first, rest = doc[0].get_text(), "".join(p.get_text() for p in doc[1:])
    assert "Rezumatul atelierului · Pata Rât" in first
    assert str(a.mark_id) in first and str(b.mark_id) in first  # numbered marks on the map
    assert "Semnele sesiunii (2)" in doc[1].get_text()
    assert "Desenați pericolele" in first  # the map page's footer stays on the map page
    assert note in rest.replace("\n", " ")  # printed literally, not interpreted
    assert "Inundații" in rest and "Noaptea" in rest and "Primăvara" in rest
    assert "Acordul cu toate sesiunile" in rest
    assert "nan" not in rest.split()  # an empty note prints as nothing
    assert paper.decode_payload(decode_qr(render(pdf))).workshop_id == session.id
    if KEEP:
        for i in range(2):
            cv2.imwrite(os.path.join(KEEP, f"workshop_summary_p{i + 1}.png"), render(pdf, 110, i))


def test_summary_of_an_empty_session(loaded_engine, session):
    pdf = workshop_pdf.session_summary_pdf(loaded_engine, session.id, lang="en")
    assert "No marks in this session." in "".join(
        p.get_text() for p in fitz.open(stream=pdf, filetype="pdf")
    )


def test_unknown_paper_size_is_refused(loaded_engine, session):
    with pytest.raises(ValueError):
        workshop_pdf.workshop_map_pdf(loaded_engine, session.id, paper_size="Letter")


def test_payload_is_small_enough_for_a_robust_qr():
    grid = paper.GridSpec(32634, 704200.0, 5184800.0, 200.0, 11, 11)
    payload = paper.encode_payload(123456, "colina-verde", grid)
    assert len(payload) < 110 and json.loads(payload)["s"] == 123456
    assert SCREENSHOTS.name == "screenshots"
