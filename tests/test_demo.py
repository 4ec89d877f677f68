"""The demo layers: reproducible, labelled as demo everywhere, removable."""

from __future__ import annotations

from sqlalchemy import text

from geo.demo import clear_demo, seed_demo

TABLES = ("workshops", "risk_zones", "incidents", "facilities")


def _counts(engine, where: str = "true") -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()
            for table in TABLES
        }


def test_demo_rows_are_all_labelled_and_inside_pata_rat(loaded_engine):
    counts = _counts(loaded_engine)
    assert counts["risk_zones"] >= 10 and counts["incidents"] >= 300
    # The bundled data brings real rows only for facilities (the CTP bus stops).
    assert _counts(loaded_engine, "is_demo <> (source = 'demo')") == {t: 0 for t in TABLES}
    real = _counts(loaded_engine, "NOT is_demo")
    assert real == {
        "workshops": 0,
        "risk_zones": 0,
        "incidents": 0,
        "facilities": real["facilities"],
    }
    with loaded_engine.connect() as conn:
        kinds = conn.execute(text("SELECT DISTINCT kind FROM facilities WHERE NOT is_demo")).all()
    assert kinds == [("bus_stop",)]
    with loaded_engine.connect() as conn:
        outside = conn.execute(
            text(
                "SELECT count(*) FROM incidents i JOIN communities c ON c.slug = 'pata-rat'"
                " WHERE NOT ST_DWithin(i.geom::geography, c.geom::geography, 2000)"
            )
        ).scalar_one()
    assert outside == 0


def test_seeding_twice_adds_nothing(loaded_engine):
    before = _counts(loaded_engine)
    assert seed_demo(loaded_engine) == {}
    assert _counts(loaded_engine) == before


def test_same_seed_same_layers(engine, loaded_engine):
    from geo.communities import bootstrap

    bootstrap(engine)
    seed_demo(engine)
    sql = "SELECT md5(string_agg(ST_AsText(geom) || type_code, ',' ORDER BY id)) FROM incidents"
    with engine.connect() as a, loaded_engine.connect() as b:
        assert a.execute(text(sql)).scalar_one() == b.execute(text(sql)).scalar_one()


def test_clear_demo_deletes_through_the_audit_trail(loaded_engine):
    before = _counts(loaded_engine, "is_demo")
    real_before = _counts(loaded_engine, "NOT is_demo")
    deleted = clear_demo(loaded_engine)
    assert deleted == before
    assert _counts(loaded_engine, "is_demo") == {t: 0 for t in TABLES}
    assert _counts(loaded_engine, "NOT is_demo") == real_before
    with loaded_engine.connect() as conn:
        logged = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE operation = 'DELETE'"
                " AND table_name = 'incidents' AND app_role = 'admin'"
            )
        ).scalar_one()
    assert logged == before["incidents"]
