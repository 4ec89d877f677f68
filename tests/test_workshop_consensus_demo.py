"""Agreement never counts demo sessions against a real one (issue 11 item 6).

Before: one real session whose mark lay on a demo mark was merged with the demo marks into one
zone, and its agreement was divided by every session in scope, the synthetic ones included.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.workshop_fixtures)
from __future__ import annotations

import datetime as dt

import pytest
from shapely import wkt
from sqlalchemy import text

from geo import workshops as ws
from geo.workshops import consensus
from tests.workshop_fixtures import mediator, pata_rat  # noqa: F401

pytestmark = pytest.mark.db


def test_a_real_session_is_never_merged_with_or_counted_against_demo(
    loaded_engine, mediator, pata_rat
):
    with loaded_engine.connect() as conn:
        demo_sessions = conn.execute(
            text("SELECT count(*) FROM workshops WHERE is_demo")
        ).scalar_one()
        hazard, shape = conn.execute(
            text(
                "SELECT hazard_code, ST_AsText(geom) FROM risk_zones WHERE is_demo"
                " AND GeometryType(geom) = 'POLYGON' ORDER BY id LIMIT 1"
            )
        ).one()
    assert demo_sessions >= 1
    session = ws.open_session(
        mediator, pata_rat, held_on=dt.date(2026, 11, 24), language="ro", participants=6
    )
    # The real mark lies exactly on a demo mark of the same hazard.
    real = ws.save_mark(mediator, session.id, wkt.loads(shape), ws.mark_attributes(hazard, 4))

    for include_demo in (True, False):
        zones = consensus.consensus_zones(loaded_engine, pata_rat, include_demo=include_demo)
        mine = zones[zones["mark_ids"].map(lambda ids: real.mark_id in ids)]
        assert len(mine) == 1
        zone = mine.iloc[0]
        assert zone["mark_ids"] == [real.mark_id]  # no demo mark merged in
        assert not zone["is_demo"]
        # One real session in scope, and it marked this place: full agreement.
        assert zone["sessions"] == 1 and zone["agreement"] == pytest.approx(1.0)
        # No zone mixes real and demo sessions.
        for ids, is_demo in zip(zones["session_ids"], zones["is_demo"], strict=True):
            with loaded_engine.connect() as conn:
                flags = (
                    conn.execute(
                        text("SELECT DISTINCT is_demo FROM workshops WHERE id = ANY(:ids)"),
                        {"ids": ids},
                    )
                    .scalars()
                    .all()
                )
            assert set(flags) <= {bool(is_demo)}
    demo_zones = consensus.consensus_zones(loaded_engine, pata_rat, include_demo=True)
    demo_zones = demo_zones[demo_zones["is_demo"]]
    assert len(demo_zones)
    # Demo agreement is the share of demo sessions (the real one is not in its denominator).
    assert (demo_zones["agreement"] * demo_sessions).round(6).eq(demo_zones["sessions"]).all()
