"""The paper grid and the QR payload of a printed workshop map."""

# ruff: noqa: F811  (pytest fixtures imported from tests.workshop_fixtures)
from __future__ import annotations

import datetime as dt
import json

import pytest
import shapely

from geo import workshops
from geo.workshops import paper
from tests.workshop_fixtures import mediator, pata_rat  # noqa: F401

GRID = paper.GridSpec(crs=32634, minx=704200.0, maxy=5184800.0, cell_m=200.0, cols=8, rows=12)


def test_labels_run_from_a1_top_left_to_last_bottom_right():
    refs = paper.grid_refs(GRID)
    assert refs[0] == "A1" and refs[-1] == "H12" == GRID.last_ref
    assert len(refs) == 96 == len(set(refs))
    assert paper.grid_ref(1, 2) == "B3"


@pytest.mark.parametrize("text", ["B3", "b3", " b 3 ", "B-3"])
def test_parse_accepts_what_people_write(text):
    assert paper.parse_grid_ref(text, GRID) == (1, 2)
    assert paper.normalise_grid_ref(text, GRID) == "B3"


@pytest.mark.parametrize("text", ["", "3B", "BB3", "B0", "?", "B3;DROP"])
def test_parse_refuses_malformed(text):
    with pytest.raises(paper.GridRefError) as err:
        paper.parse_grid_ref(text, GRID)
    assert err.value.key == "workshop.error.grid_ref_format"


@pytest.mark.parametrize("text", ["I1", "A13", "Z9"])
def test_parse_refuses_squares_off_the_grid(text):
    with pytest.raises(paper.GridRefError) as err:
        paper.parse_grid_ref(text, GRID)
    assert err.value.key == "workshop.error.grid_ref_unknown"
    assert err.value.params["last"] == "H12"


def test_cell_polygon_round_trips_with_ref_at():
    for ref in paper.grid_refs(GRID):
        cell = paper.cell_polygon(GRID, ref)
        assert cell.area == pytest.approx(200.0 * 200.0)
        centre = cell.centroid
        assert paper.ref_at(GRID, centre.x, centre.y) == ref
    a1 = paper.cell_polygon(GRID, "A1")
    assert a1.bounds == (704200.0, 5184600.0, 704400.0, 5184800.0)
    assert paper.ref_at(GRID, 0, 0) is None


def test_cells_tile_the_grid_without_gaps():
    cells = paper.grid_cells(GRID)
    assert len(cells) == GRID.cols * GRID.rows
    union = shapely.union_all(cells.geometry.values)
    assert union.area == pytest.approx((GRID.maxx - GRID.minx) * (GRID.maxy - GRID.miny))


def test_grid_for_bounds_is_round_and_covers_the_extent():
    bounds = (704321.4, 5182811.9, 706108.3, 5184527.0)
    spec = paper.grid_for_bounds(bounds, 32634)
    assert spec.cell_m in paper.NICE_CELL_SIZES_M
    assert spec.cols <= paper.MAX_CELLS_PER_SIDE and spec.rows <= paper.MAX_CELLS_PER_SIDE
    assert spec.minx <= bounds[0] and spec.miny <= bounds[1]
    assert spec.maxx >= bounds[2] and spec.maxy >= bounds[3]
    assert spec.minx % spec.cell_m == 0 and spec.maxy % spec.cell_m == 0
    assert paper.grid_for_bounds(bounds, 32634) == spec  # deterministic


def test_grid_for_a_huge_extent_still_fits():
    spec = paper.grid_for_bounds((0, 0, 90000, 40000), 32634)
    assert spec.cols <= paper.MAX_CELLS_PER_SIDE and spec.rows <= paper.MAX_CELLS_PER_SIDE


def test_payload_round_trip_and_is_compact():
    text = paper.encode_payload(42, "pata-rat", GRID)
    assert len(text) < 120
    data = json.loads(text)
    assert data["harta"] == paper.PAYLOAD_VERSION and data["s"] == 42
    decoded = paper.decode_payload(text)
    assert decoded.workshop_id == 42 and decoded.community == "pata-rat"
    assert decoded.grid == GRID
    assert decoded.extent == GRID.bounds
    assert paper.decode_payload(text.encode()) == decoded


@pytest.mark.parametrize(
    "text",
    [
        "https://example.org",
        "{}",
        '{"harta":2,"s":1,"c":"x","crs":32634,"e":[0,0,1,1],"g":[1,1,1]}',
        '{"harta":1,"s":1,"c":"x","crs":32634,"e":[0,0,5,5],"g":[1,1,1]}',
        "not json",
    ],
)
def test_payload_refuses_foreign_codes(text):
    with pytest.raises(paper.PayloadError) as err:
        paper.decode_payload(text)
    assert err.value.key == "workshop.error.payload"
    assert all(err.value.message(lang) != err.value.key for lang in ("ro", "hu", "en"))


@pytest.mark.db
def test_session_grid_covers_the_community(loaded_engine, mediator, pata_rat):
    session = workshops.open_session(
        mediator, pata_rat, held_on=dt.date(2026, 11, 23), language="hu", participants=8
    )
    spec = paper.session_grid(loaded_engine, session.id)
    assert spec == paper.community_grid(pata_rat)
    west, south, east, north = spec.bounds_wgs84()
    # The approximate Pata Rât sketch spans 23.6786–23.7018 E, 46.7673–46.7828 N.
    assert west < 23.6786 and east > 23.7018 and south < 46.7673 and north > 46.7828
