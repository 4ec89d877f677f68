"""Where a mark may be: it overlaps the (sketched) area -- checked as soon as it is drawn.

Issue 11 item 5: a drawing outside the boundary was refused only after the participant filled
in the picker, and a mark straddling the sketched outline was refused whole.  The reference is
an independent shapely computation: the area (and its parent's) grown by 25 m in the metric CRS,
intersected with the mark.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.workshop_fixtures)
from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import text

from geo import workshops as ws
from tests.workshop_fixtures import dallas, mediator, pata_rat  # noqa: F401

pytestmark = pytest.mark.db


def reference_overlaps(areas, geom) -> bool:
    """Independent rule: the mark meets an area grown by 25 m (UTM 34N, as Pata Rât's CRS)."""
    grown = gpd.GeoSeries(areas, crs=4326).to_crs(32634).buffer(25)
    mark = gpd.GeoSeries([geom], crs=4326).to_crs(32634).iloc[0]
    return bool(grown.intersects(mark).any())


def count_marks(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM risk_zones")).scalar_one()


def shapes_around(community, rng, n=40):
    """Points, lines and squares scattered over and around the area's bounding box."""
    minx, miny, maxx, maxy = community.geometry.bounds
    dx, dy = maxx - minx, maxy - miny
    out = []
    for _ in range(n):
        x = rng.uniform(minx - dx, maxx + dx)
        y = rng.uniform(miny - dy, maxy + dy)
        size = rng.uniform(0.0005, 0.01)
        out.append(Point(x, y))
        out.append(LineString([(x, y), (x + size, y + size / 2)]))
        out.append(Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)]))
    return out


def test_check_drawing_is_the_overlap_rule(loaded_engine, mediator, pata_rat):
    session = ws.open_session(
        mediator, pata_rat, held_on=dt.date(2026, 11, 23), language="ro", participants=5
    )
    before = count_marks(loaded_engine)
    rng = np.random.default_rng(11)
    verdicts = []
    for shape in shapes_around(pata_rat, rng):
        expected = reference_overlaps([pata_rat.geometry], shape)
        try:
            ws.check_drawing(mediator, session.id, shape)
            got = True
        except ws.MarkError as err:
            assert err.key == "workshop.error.outside"
            got = False
        assert got == expected, shape.wkt
        verdicts.append(got)
    assert any(verdicts) and not all(verdicts)  # both cases were met
    assert count_marks(loaded_engine) == before  # checking writes nothing


def test_a_settlement_session_may_mark_its_parents_area(loaded_engine, mediator, dallas, pata_rat):
    session = ws.open_session(
        mediator, dallas, held_on=dt.date(2026, 11, 23), language="ro", participants=5
    )
    # A point of Pata Rât well away from Dallas: in the parent's area, not the settlement's.
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = pata_rat.geometry.bounds
    while True:
        far = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if pata_rat.geometry.contains(far) and not reference_overlaps([dallas.geometry], far):
            break
    ws.check_drawing(mediator, session.id, far)
    saved = ws.save_mark(mediator, session.id, far, ws.mark_attributes("flooding", 3))
    assert saved.mark_id > 0


def test_check_and_save_agree(loaded_engine, mediator, pata_rat):
    """One rule: whatever check_drawing accepts, save_mark keeps; whatever it refuses, too."""
    session = ws.open_session(
        mediator, pata_rat, held_on=dt.date(2026, 11, 23), language="ro", participants=5
    )
    rng = np.random.default_rng(5)
    for i, shape in enumerate(shapes_around(pata_rat, rng, n=8)):
        try:
            ws.check_drawing(mediator, session.id, shape)
            accepted = True
        except ws.MarkError:
            accepted = False
        attrs = ws.mark_attributes("flooding", 1 + i % 5, note=f"m{i}")
        if accepted:
            assert ws.save_mark(mediator, session.id, shape, attrs).mark_id > 0
        else:
            with pytest.raises(ws.MarkError):
                ws.save_mark(mediator, session.id, shape, attrs)
