"""Consensus zones computed in PostGIS on hand-made overlaps whose counts are known."""

# ruff: noqa: F811  (pytest fixtures imported from tests.workshop_fixtures)
from __future__ import annotations

import datetime as dt

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from geo import workshops as ws
from geo.communities.model import Community
from geo.i18n import LANGUAGES
from geo.workshops import consensus
from tests.workshop_fixtures import dallas, mediator, member, pata_rat  # noqa: F401

pytestmark = pytest.mark.db

CENTRE = (23.6893, 46.7737)  # inside the approximate Pata Rât boundary
CRS = 32634  # Pata Rât's metric CRS
TO_M = Transformer.from_crs(4326, CRS, always_xy=True)
TO_DEG = Transformer.from_crs(CRS, 4326, always_xy=True)
X0, Y0 = TO_M.transform(*CENTRE)
X0, Y0 = X0 - 300, Y0 - 150  # local origin: 300 m west, 150 m south of the centre


def metric(geom):
    """Local metres around the origin → degrees."""
    return shapely.transform(geom, lambda x, y: TO_DEG.transform(x + X0, y + Y0), interleaved=False)


def sq(x, y, side=100):
    return box(x, y, x + side, y + side)


@pytest.fixture
def sessions(loaded_engine, mediator, pata_rat):
    return [
        ws.open_session(
            mediator,
            pata_rat,
            held_on=dt.date(2026, 11, d),
            language=lang,
            participants=5,
        ).id
        for d, lang in ((2, "ro"), (9, "hu"), (16, "en"))
    ]


@pytest.fixture
def marked(loaded_engine, sessions, mediator):
    """Hand-made marks.  Expected clusters (hazard: marks, sessions):

    * flooding chain A-B-C: squares overlapping pairwise in a chain -> 3 marks, 3 sessions
    * flooding far square (A) -> 1 mark, 1 session
    * stray_dogs square on top of flooding A -> its own zone: 1 mark, 1 session
    * railway_crossing points: A at (350,400), B at (410,400) and B at (350,420): 60 m and 20 m
      apart, discs of 50 m overlap -> 3 marks, 2 sessions; C at (650,400) -> 1, 1
    * heavy_traffic lines 40 m apart (bands of 25 m each side overlap): A and C -> 2 marks, 2
    * unlit_path lines 80 m apart: bands do not meet -> two zones of 1 mark each
    """
    a, b, c = sessions
    marks = [
        (a, sq(0, 0), "flooding"),
        (b, sq(50, 50), "flooding"),
        (c, sq(120, 120), "flooding"),
        (a, sq(650, 50), "flooding"),
        (b, sq(10, 10, 50), "stray_dogs"),
        (a, Point(350, 400), "railway_crossing"),
        (b, Point(410, 400), "railway_crossing"),
        (b, Point(350, 420), "railway_crossing"),
        (c, Point(650, 400), "railway_crossing"),
        (c, LineString([(0, 250), (300, 250)]), "heavy_traffic"),
        (a, LineString([(0, 290), (300, 290)]), "heavy_traffic"),
        (a, LineString([(0, 380), (300, 380)]), "unlit_path"),
        (b, LineString([(0, 460), (300, 460)]), "unlit_path"),
    ]
    for workshop_id, geom, hazard in marks:
        ws.save_mark(
            mediator,
            workshop_id,
            metric(geom),
            ws.mark_attributes(hazard, 3 + (workshop_id % 3)),
        )
    return sessions


def summary(zones):
    return sorted((z.hazard_code, z.marks, z.sessions) for z in zones.itertuples())


def test_known_overlaps_give_known_counts(loaded_engine, marked, pata_rat):
    zones = consensus.consensus_zones(loaded_engine, pata_rat, include_demo=False)
    assert summary(zones) == sorted(
        [
            ("flooding", 3, 3),
            ("flooding", 1, 1),
            ("stray_dogs", 1, 1),
            ("railway_crossing", 3, 2),
            ("railway_crossing", 1, 1),
            ("heavy_traffic", 2, 2),
            ("unlit_path", 1, 1),
            ("unlit_path", 1, 1),
        ]
    )
    chain = zones[(zones.hazard_code == "flooding") & (zones.marks == 3)].iloc[0]
    assert chain.session_ids == sorted(marked)
    assert chain.agreement == pytest.approx(1.0)
    assert chain.relative_marks == pytest.approx(1.0)
    # Union of the three squares, computed independently in shapely.
    expected = shapely.union_all([sq(0, 0), sq(50, 50), sq(120, 120)]).area
    assert chain.area_m2 == pytest.approx(expected, rel=1e-3)
    crossing = zones[(zones.hazard_code == "railway_crossing") & (zones.marks == 3)].iloc[0]
    assert crossing.agreement == pytest.approx(2 / 3)
    assert len(crossing.mark_ids) == 3 and crossing.session_ids == sorted(marked[:2])
    assert zones.iloc[0].hazard_code == "flooding"  # best-agreed first
    assert zones.crs.to_epsg() == 4326
    assert not zones.is_demo.any()


def test_buffer_distances_are_parameters(loaded_engine, marked, pata_rat):
    # With 45 m bands the unlit-path lines 80 m apart meet; with 5 m discs no crossing does.
    zones = consensus.consensus_zones(
        loaded_engine, pata_rat, include_demo=False, line_buffer_m=45, point_buffer_m=5
    )
    assert ("unlit_path", 2, 2) in summary(zones)
    crossings = zones[zones.hazard_code == "railway_crossing"]
    assert sorted(crossings.marks) == [1, 1, 1, 1]


def test_scope_by_session_and_hazard(loaded_engine, marked, pata_rat):
    a, b, _ = marked
    zones = consensus.consensus_zones(
        loaded_engine, pata_rat, workshop_ids=[a, b], hazards=["flooding"]
    )
    assert summary(zones) == [("flooding", 1, 1), ("flooding", 2, 2)]
    assert max(zones.agreement) == pytest.approx(1.0)
    only_a = consensus.consensus_zones(loaded_engine, pata_rat, workshop_ids=[a])
    assert set(only_a.sessions) == {1} and set(only_a.agreement) == {1.0}


def test_family_rule_parent_sees_settlement_marks_settlement_not_far_parent_marks(
    loaded_engine, mediator, member, pata_rat, dallas
):
    """Pata Rât agrees with a Dallas workshop's marks; Dallas does not take in Pata Rât marks
    outside Dallas (the old rule gave a settlement every mark of its parent)."""
    inside = dallas.geometry.representative_point()
    x, y = TO_M.transform(inside.x, inside.y)
    spot = shapely.transform(
        box(x - 30, y - 30, x + 30, y + 30),
        lambda a, b: TO_DEG.transform(a, b),
        interleaved=False,
    )
    day = dt.date(2026, 12, 1)
    in_dallas = ws.open_session(member, dallas, held_on=day, language="hu", participants=4)
    in_parent = ws.open_session(mediator, pata_rat, held_on=day, language="ro", participants=4)
    ws.save_mark(member, in_dallas.id, spot, ws.mark_attributes("flooding", 3))
    ws.save_mark(mediator, in_parent.id, spot, ws.mark_attributes("flooding", 4))
    far = metric(sq(0, 0))  # the local origin: Pata Rât, far from Dallas
    assert not dallas.contains(far)
    ws.save_mark(mediator, in_parent.id, far, ws.mark_attributes("stray_dogs", 2))

    parent = consensus.consensus_zones(loaded_engine, pata_rat, include_demo=False)
    flooding = parent[parent.hazard_code == "flooding"]
    assert (flooding.marks.tolist(), flooding.sessions.tolist()) == ([2], [2])
    own = consensus.consensus_zones(loaded_engine, dallas, include_demo=False)
    assert "stray_dogs" not in set(own.hazard_code)
    assert in_dallas.id in own.session_ids.iloc[0]


def test_demo_marks_agree_in_the_demo_data(loaded_engine, pata_rat):
    zones = consensus.consensus_zones(loaded_engine, pata_rat)
    smoke = zones[zones.hazard_code == "landfill_fire_smoke"]
    # geo.demo draws six overlapping smoke circles from three sessions.
    assert (smoke.marks.max(), smoke.sessions.max()) == (6, 3)
    assert smoke.is_demo.all()


def test_empty_scope_and_unknown_community(loaded_engine, pata_rat):
    assert len(consensus.consensus_zones(loaded_engine, pata_rat, include_demo=False)) == 0
    with pytest.raises(LookupError):
        Community.load(loaded_engine, "atlantis")


def test_table_and_map_frames(loaded_engine, marked, pata_rat):
    zones = consensus.consensus_zones(loaded_engine, pata_rat, include_demo=False)
    for lang in LANGUAGES:
        table = consensus.consensus_table(zones, lang)
        assert len(table) == len(zones) and len(table.columns) == 7
    assert "100 %" in consensus.consensus_table(zones, "en").iloc[0].tolist()
    shaped = consensus.for_map(zones, by="relative_marks")
    assert "hazard" in shaped and shaped.agreement.max() == pytest.approx(1.0)
