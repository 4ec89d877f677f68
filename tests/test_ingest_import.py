"""import_file: every format lands in the database, atomically, once, with readable reasons."""

from __future__ import annotations

import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

import geo.ingest.writer as writer
from geo.ingest import ImportFailed, ImportRejected, import_file, validate_file
from geo.ingest.validate import parse_datetime
from tests.fixtures_ingest import (
    POINTS,
    SLUG,
    ZONES,
    insert_community,
    points_frame,
    write_csv_latlon,
    write_csv_wkt,
    write_geojson,
    write_gpkg,
    write_gpx,
    write_incidents_csv,
    write_kml,
    write_kmz,
    write_kobo_geopoint_csv,
    write_kobo_geoshape_csv,
    write_kobo_split_csv,
    write_shapefile_zip,
    write_text,
    zones_frame,
)

TOLERANCE_DEG = 1e-6


@pytest.fixture
def community(engine) -> int:
    """The Pata Rât test community (square lon 23.66–23.72, lat 46.76–46.80); its id."""
    return insert_community(engine)


BUCHAREST = ZoneInfo("Europe/Bucharest")


@pytest.fixture(autouse=True)
def _quiet_gdal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _stored(engine, table: str = "risk_zones") -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(f"SELECT *, ST_AsText(geom) AS wkt FROM {table} ORDER BY id"), conn)


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _assert_geometries(stored: pd.DataFrame, expected: list) -> None:
    got = [shapely.from_wkt(w) for w in stored["wkt"]]
    assert len(got) == len(expected)
    for geom, want in zip(got, expected, strict=True):
        assert shapely.equals_exact(
            shapely.normalize(geom), shapely.normalize(want), tolerance=TOLERANCE_DEG
        ), (geom.wkt, want.wkt)


ZONE_WRITERS = {
    "geojson": lambda d: write_geojson(d, zones_frame()),
    "gpkg": lambda d: write_gpkg(d, zones_frame()),
    "kml": lambda d: write_kml(d, zones_frame()),
    "kmz": lambda d: write_kmz(d, zones_frame()),
    "csv_wkt": lambda d: write_csv_wkt(d, zones_frame()),
}
POINT_WRITERS = {
    "shapefile_zip_stereo70": lambda d: write_shapefile_zip(d, points_frame(), epsg=3844),
    "csv_latlon": write_csv_latlon,
    "kobo_geopoint": write_kobo_geopoint_csv,
    "kobo_split": write_kobo_split_csv,
}


@pytest.mark.parametrize("name", sorted(ZONE_WRITERS))
def test_zone_formats_import_at_the_right_place(engine, community, tmp_path, name):
    report = import_file(engine, "risk_zones", ZONE_WRITERS[name](tmp_path), community=SLUG)
    assert report.rows_written == 3, report.render()
    stored = _stored(engine)
    _assert_geometries(stored, [z["geometry"] for z in ZONES])
    assert stored["hazard_code"].tolist() == [z["hazard"] for z in ZONES]
    assert stored["severity"].tolist() == [z["severity"] for z in ZONES]
    assert set(stored["community_id"]) == {community}
    assert stored["import_id"].notna().all()
    assert stored["created_by_role"].eq("admin").all()


@pytest.mark.parametrize("name", sorted(POINT_WRITERS))
def test_point_formats_import_at_the_right_place(engine, community, tmp_path, name):
    report = import_file(engine, "risk_zones", POINT_WRITERS[name](tmp_path), community=SLUG)
    assert report.rows_written == 3, report.render()
    stored = _stored(engine)
    _assert_geometries(stored, [shapely.Point(p["lon"], p["lat"]) for p in POINTS])
    assert stored["hazard_code"].tolist() == [p["hazard"] for p in POINTS]
    assert stored["time_of_day"].eq("always").all()
    assert stored["season"].eq("all_year").all()


def test_gpx_imports_waypoints_and_track(engine, community, tmp_path):
    report = import_file(engine, "risk_zones", write_gpx(tmp_path), community=SLUG)
    assert report.rows_written == 3, report.render()
    stored = _stored(engine)
    assert stored["hazard_code"].tolist() == ["flooding", "unlit_path", "railway_crossing"]
    assert shapely.from_wkt(stored["wkt"].iloc[2]).geom_type == "MultiLineString"


def test_kobo_geoshape_imports_polygon_and_line(engine, community, tmp_path):
    report = import_file(engine, "risk_zones", write_kobo_geoshape_csv(tmp_path), community=SLUG)
    assert report.rows_written == 2
    kinds = [shapely.from_wkt(w).geom_type for w in _stored(engine)["wkt"]]
    assert kinds == ["Polygon", "LineString"]


def test_provenance_and_imports_row(engine, community, tmp_path):
    path = write_csv_latlon(tmp_path)
    report = import_file(
        engine, "risk_zones", path, community=SLUG, role="mediator", source="workshop"
    )
    stored = _stored(engine)
    assert stored["source"].eq("workshop").all()
    assert stored["source_ref"].tolist() == ["points.csv#2", "points.csv#3", "points.csv#4"]
    assert stored["row_hash"].str.len().eq(64).all()
    with engine.connect() as conn:
        imp = conn.execute(text("SELECT * FROM imports")).mappings().one()
        roles = (
            conn.execute(
                text("SELECT DISTINCT app_role FROM audit_log WHERE table_name = 'risk_zones'")
            )
            .scalars()
            .all()
        )
    assert imp["id"] == report.import_id
    assert (imp["rows_read"], imp["rows_written"]) == (3, 3)
    assert imp["file_format"] == "csv" and imp["filename"] == "points.csv"
    assert imp["report"]["rows_written"] == 3
    assert roles == ["mediator"]


def test_one_bad_row_writes_nothing_and_names_it(engine, community, tmp_path):
    rows = [dict(p) for p in POINTS]
    rows[1]["severity"] = 9
    path = write_csv_latlon(tmp_path, rows)
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "risk_zones", path, community=SLUG)
    report = caught.value.report
    assert [(p.row, p.field, p.key) for p in report.errors] == [
        (3, "severity", "ingest.problem.out_of_range")  # the spreadsheet's row: header is 1
    ]
    assert "points.csv, row 3, severity" in report.render("en")
    assert _count(engine, "risk_zones") == 0
    # The refused attempt is recorded with its counts, and nothing of the rows.
    with engine.connect() as conn:
        attempt = conn.execute(text("SELECT * FROM imports")).mappings().one()
    assert (attempt["rows_read"], attempt["rows_written"]) == (3, 0)
    assert attempt["report"]["outcome"] == "rejected"
    assert attempt["report"]["rows_invalid"] == 1


def test_skip_invalid_writes_the_rest(engine, community, tmp_path):
    rows = [dict(p) for p in POINTS]
    rows[0]["hazard"] = "dragons"
    path = write_csv_latlon(tmp_path, rows)
    report = import_file(engine, "risk_zones", path, community=SLUG, skip_invalid=True)
    assert report.rows_read == 3
    assert report.rows_valid == 2
    assert report.rows_written == 2
    assert report.rows_invalid == 1
    assert report.errors[0].row == 2
    assert report.errors[0].key == "ingest.problem.unknown_value"
    assert "dragons" in report.render("en")
    assert _stored(engine)["hazard_code"].tolist() == ["unlit_path", "heavy_traffic"]


def test_same_file_twice_adds_nothing(engine, community, tmp_path):
    path = write_geojson(tmp_path, zones_frame())
    first = import_file(engine, "risk_zones", path, community=SLUG)
    second = import_file(engine, "risk_zones", path, community=SLUG)
    assert first.rows_written == 3
    assert second.rows_written == 0
    assert second.rows_skipped_duplicate == 3
    assert {p.key for p in second.problems} == {"ingest.problem.duplicate_stored"}
    assert _count(engine, "risk_zones") == 3
    # The same rows in another format are the same rows.
    third = import_file(engine, "risk_zones", write_kml(tmp_path, zones_frame()), community=SLUG)
    assert third.rows_written == 0 and third.rows_skipped_duplicate == 3


def test_repeated_row_in_one_file_is_written_once(engine, community, tmp_path):
    path = write_csv_latlon(tmp_path, [POINTS[0], POINTS[1], POINTS[0]])
    report = import_file(engine, "risk_zones", path, community=SLUG)
    assert report.rows_written == 2
    assert report.rows_skipped_duplicate == 1
    duplicate = next(p for p in report.problems if p.key == "ingest.problem.duplicate_in_file")
    assert (duplicate.row, duplicate.params["other"]) == (4, 2)


def test_point_outside_the_area_is_refused(engine, community, tmp_path):
    rows = [dict(p) for p in POINTS]
    rows[2].update(lon=23.60, lat=46.77)  # about 4.5 km west of the square
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "risk_zones", write_csv_latlon(tmp_path, rows), community=SLUG)
    problem = caught.value.report.errors[0]
    assert (problem.row, problem.field, problem.key) == (
        4,
        "geometry",
        "ingest.problem.outside_area",
    )
    assert 4000 < problem.params["distance_m"] < 5000
    assert "outside the area of community pata-rat" in problem.render("en")
    assert "în afara zonei comunității" in problem.render("ro")


def test_point_just_outside_is_within_tolerance(engine, community, tmp_path):
    rows = [dict(POINTS[0], lon=23.72012, lat=46.77)]  # ~10 m east of the boundary
    report = import_file(engine, "risk_zones", write_csv_latlon(tmp_path, rows), community=SLUG)
    assert report.rows_written == 1


def test_self_intersecting_polygon_is_repaired_and_reported(engine, community, tmp_path):
    bowtie = shapely.Polygon(
        [(23.68, 46.78), (23.69, 46.79), (23.69, 46.78), (23.68, 46.79), (23.68, 46.78)]
    )
    assert not bowtie.is_valid
    rows = [dict(ZONES[0], geometry=bowtie)]
    report = import_file(
        engine, "risk_zones", write_geojson(tmp_path, zones_frame(rows)), community=SLUG
    )
    assert report.rows_written == 1
    warning = report.warnings[0]
    assert (warning.row, warning.key) == (1, "ingest.problem.geometry_repaired")
    stored = shapely.from_wkt(_stored(engine)["wkt"].iloc[0])
    assert stored.is_valid and stored.geom_type in ("Polygon", "MultiPolygon")
    assert stored.area == pytest.approx(bowtie.buffer(0).area + 0.00005, rel=0.5)


def test_unrepairable_geometry_is_refused(engine, community, tmp_path):
    # A "polygon" whose ring is a spike collapses to a line when repaired: refused.
    spike = "POLYGON((23.68 46.78,23.69 46.79,23.68 46.78,23.68 46.78))"
    path = write_text(tmp_path, "spike.csv", f'wkt,pericol,severitate\n"{spike}",drugs,3\n')
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "risk_zones", path, community=SLUG)
    assert caught.value.report.errors[0].key in (
        "ingest.problem.geometry_invalid",
        "ingest.problem.geometry_missing",
    )


def test_wrong_geometry_type_for_layer(engine, community, tmp_path):
    path = write_geojson(tmp_path, zones_frame())
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "facilities", path, community=SLUG)
    report = caught.value.report
    keys = {(p.row, p.key) for p in report.errors}
    # The polygon becomes a point on its surface (said); the line cannot be a facility.
    assert (1, "ingest.problem.polygon_to_point") in {(p.row, p.key) for p in report.warnings}
    assert (2, "ingest.problem.geometry_type") in keys


def test_unknown_hazard_code_lists_the_allowed_ones(engine, community, tmp_path):
    rows = [dict(POINTS[0], hazard="zombies")]
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "risk_zones", write_csv_latlon(tmp_path, rows), community=SLUG)
    problem = caught.value.report.errors[0]
    assert (problem.field, problem.key) == ("hazard_code", "ingest.problem.unknown_value")
    assert "flooding" in problem.params["allowed"]
    assert "zombies" in problem.render("hu")
    # The allowed values are shown in the reader's language, with their codes.
    assert "Árvíz (flooding)" in problem.render("hu")
    assert "Inundații (flooding)" in problem.render("ro")


def test_hazard_given_by_its_label(engine, community, tmp_path):
    rows = [dict(POINTS[0], hazard="Trecere peste calea ferată")]
    import_file(engine, "risk_zones", write_csv_latlon(tmp_path, rows), community=SLUG)
    assert _stored(engine)["hazard_code"].tolist() == ["railway_crossing"]


def _incident(**overrides) -> dict:
    row = {
        "data": "2025-03-14 21:30",
        "tip": "fire",
        "severitate": 3,
        "lat": 46.7712345,
        "lon": 23.6912345,
    }
    row.update(overrides)
    return row


def test_bad_date_is_reported(engine, community, tmp_path):
    path = write_incidents_csv(tmp_path, [_incident(), _incident(data="mâine seară")])
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "incidents", path, community=SLUG, role="police")
    problem = caught.value.report.errors[0]
    assert (problem.row, problem.field, problem.key) == (
        3,
        "occurred_at",
        "ingest.problem.bad_date",
    )
    assert "mâine seară" in problem.render("ro")


def test_future_date_is_refused(engine, community, tmp_path):
    path = write_incidents_csv(tmp_path, [_incident(data="2999-01-01 10:00")])
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "incidents", path, community=SLUG, role="police")
    assert caught.value.report.errors[0].key == "ingest.problem.future_date"


def test_naive_times_are_bucharest_time(engine, community, tmp_path):
    rows = [
        _incident(data="2025-03-14 21:30"),  # winter time, UTC+2
        _incident(data="14.07.2025 21:30", lon=23.70),  # summer time, UTC+3
        _incident(data="2025-07-14T21:30:00+00:00", lon=23.71),  # explicit offset kept
    ]
    import_file(
        engine, "incidents", write_incidents_csv(tmp_path, rows), community=SLUG, role="police"
    )
    stored = _stored(engine, "incidents")["occurred_at"].tolist()
    assert stored[0] == dt.datetime(2025, 3, 14, 19, 30, tzinfo=dt.UTC)
    assert stored[1] == dt.datetime(2025, 7, 14, 18, 30, tzinfo=dt.UTC)
    assert stored[2] == dt.datetime(2025, 7, 14, 21, 30, tzinfo=dt.UTC)


def test_parse_datetime_formats():
    local = dt.datetime(2025, 3, 14, 21, 30, tzinfo=BUCHAREST)
    for value in (
        "2025-03-14 21:30",
        "2025-03-14T21:30",
        "14.03.2025 21:30",
        "14/03/2025 21:30",
        "2025.03.14 21:30",
        "2025/03/14 21:30:00",
        "2025-03-14T21:30:00.000+02:00",
        "2025-03-14T19:30:00Z",
    ):
        assert parse_datetime(value, "Europe/Bucharest") == local, value
    assert parse_datetime("not a date", "Europe/Bucharest") is None


@pytest.mark.parametrize(
    "column",
    ["Nume", "nume_victima", "Victim", "suspect", "név", "Gyanúsított", "CNP", "full_name"],
)
def test_name_columns_in_incident_files_are_refused(engine, community, tmp_path, column):
    path = write_incidents_csv(tmp_path, [_incident(**{column: "Ion Popescu"})])
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "incidents", path, community=SLUG, role="police", skip_invalid=True)
    problem = caught.value.report.errors[0]
    assert (problem.row, problem.field, problem.key) == (
        None,
        column,
        "ingest.problem.personal_column",
    )
    for lang in ("en", "ro", "hu"):
        assert column in problem.render(lang)
    assert "Ion Popescu" not in caught.value.report.render("en")
    assert _count(engine, "incidents") == 0


def test_empty_name_column_is_dropped(engine, community, tmp_path):
    path = write_incidents_csv(tmp_path, [_incident(name="")])
    report = import_file(engine, "incidents", path, community=SLUG, role="mediator")
    assert report.rows_written == 1
    stored = _stored(engine, "incidents").iloc[0]
    assert stored["reporting_role"] == "mediator"
    assert (stored["status"], stored["sensitivity"]) == ("reported", "normal")


def test_incidents_need_a_case_role(engine, community, tmp_path):
    path = write_incidents_csv(tmp_path, [_incident()])
    with pytest.raises(ImportFailed) as caught:
        import_file(engine, "incidents", path, community=SLUG, role="public")
    assert caught.value.key == "ingest.error.role_not_allowed"


def test_near_duplicate_incidents_are_flagged(engine, community, tmp_path):
    first = write_incidents_csv(tmp_path, [_incident()], name="a.csv")
    import_file(engine, "incidents", first, community=SLUG, role="police")
    rows = [
        _incident(data="2025-03-14 21:45", lat=46.77133),  # ~10 m, 15 min: near duplicate
        _incident(data="2025-03-14 21:50", lat=46.77135),  # near row 1 and the stored one
        _incident(data="2025-03-14 23:30", lon=23.6915),  # 2 h later: not
        _incident(tip="theft", data="2025-03-14 21:35"),  # another type: not
    ]
    report = import_file(
        engine,
        "incidents",
        write_incidents_csv(tmp_path, rows, "b.csv"),
        community=SLUG,
        role="police",
    )
    assert report.rows_written == 4
    near = [(p.row, p.key) for p in report.warnings if "near_duplicate" in p.key]
    assert (2, "ingest.problem.near_duplicate_stored") in near
    assert (3, "ingest.problem.near_duplicate_row") in near
    assert {row for row, _ in near} == {2, 3}


def test_forced_failure_mid_write_leaves_nothing(engine, community, tmp_path, monkeypatch):
    frame = pd.DataFrame(
        {
            "lat": [46.77 + i * 1e-5 for i in range(25)],
            "lon": [23.69] * 25,
            "pericol": "drugs",
            "severitate": 2,
        }
    )
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    original = writer._insert_batch
    calls = []

    def failing_insert(cursor, layer, columns):
        inserted = original(cursor, layer, columns)
        calls.append(inserted)
        if len(calls) == 1:
            raise RuntimeError("disk full (simulated)")
        return inserted

    monkeypatch.setattr(writer, "_insert_batch", failing_insert)
    monkeypatch.setattr(writer, "BATCH_SIZE", 10)
    with pytest.raises(RuntimeError, match="simulated"):
        import_file(engine, "risk_zones", path, community=SLUG)
    assert calls == [25]  # every row was in the table (one INSERT … SELECT) before the failure
    assert _count(engine, "risk_zones") == 0
    assert _count(engine, "imports") == 0
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM audit_log WHERE table_name = 'risk_zones'")
            ).scalar_one()
            == 0
        )


def test_progress_is_reported_per_batch(engine, community, tmp_path, monkeypatch):
    frame = pd.DataFrame(
        {
            "lat": [46.77 + i * 1e-5 for i in range(25)],
            "lon": [23.69] * 25,
            "pericol": "drugs",
            "severitate": 2,
        }
    )
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(writer, "BATCH_SIZE", 10)
    seen = []
    report = import_file(
        engine,
        "risk_zones",
        path,
        community=SLUG,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.rows_written == 25
    assert seen == [(0, 25), (10, 25), (20, 25), (25, 25)]


def test_workshop_id_is_checked_and_stored(engine, community, tmp_path):
    with engine.begin() as conn:
        workshop = conn.execute(
            text(
                "INSERT INTO workshops (community_id, held_on, language, facilitator_role,"
                " participants, source, created_by_role) VALUES (:c, '2025-05-01', 'ro',"
                " 'mediator', 12, 'workshop', 'mediator') RETURNING id"
            ),
            {"c": community},
        ).scalar_one()
    path = write_csv_latlon(tmp_path)
    import_file(engine, "risk_zones", path, community=SLUG, workshop_id=workshop)
    assert _stored(engine)["workshop_id"].eq(workshop).all()
    with pytest.raises(ImportFailed):
        import_file(engine, "risk_zones", path, community=SLUG, workshop_id=workshop + 99)


def test_unknown_community_and_layer(engine, community, tmp_path):
    path = write_csv_latlon(tmp_path)
    with pytest.raises(ImportFailed, match="nowhere"):
        import_file(engine, "risk_zones", path, community="nowhere")
    with pytest.raises(ImportFailed) as caught:
        import_file(engine, "workshops", path, community=SLUG)
    assert caught.value.key == "ingest.error.unknown_layer"


def test_unreadable_file_raises_import_failed_in_language(engine, community, tmp_path):
    path = write_text(tmp_path, "stricat.geojson", '{"type": "Feature')
    with pytest.raises(ImportFailed) as caught:
        import_file(engine, "risk_zones", path, community=SLUG)
    assert "nu poate fi citit" in caught.value.message("ro")
    assert "stricat.geojson" in caught.value.message("hu")


def test_validate_file_is_a_dry_run(engine, community, tmp_path):
    report = validate_file(engine, "risk_zones", write_csv_latlon(tmp_path), community=SLUG)
    assert report.rows_valid == 3 and report.rows_written == 0 and report.dry_run
    assert _count(engine, "risk_zones") == 0


def test_messages_render_in_ro_hu_en(engine, community, tmp_path):
    rows = [dict(p) for p in POINTS]
    rows[0]["severity"] = "foarte"
    rows[1]["hazard"] = ""
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "risk_zones", write_csv_latlon(tmp_path, rows), community=SLUG)
    report = caught.value.report
    english, romanian, hungarian = (report.render(lang) for lang in ("en", "ro", "hu"))
    assert "row 2, severity" in english and "not a whole number" in english
    assert "rândul 2, severity" in romanian and "nu este un număr întreg" in romanian
    assert "2. sor, severity" in hungarian and "nem egész szám" in hungarian
    assert "hazard_code is required" in english
    assert "este obligatoriu" in romanian and "kötelező" in hungarian
    for text_ in (english, romanian, hungarian):
        assert "ingest." not in text_  # every key has a translation


def test_locale_catalogues_have_the_same_keys():
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "geo" / "locales"
    keys = {
        lang: set(json.loads((folder / lang / "ingest.json").read_text("utf-8")))
        for lang in ("en", "ro", "hu")
    }
    assert keys["en"] == keys["ro"] == keys["hu"]
    assert all(key.startswith("ingest.") for key in keys["en"])
    romanian = (folder / "ro" / "ingest.json").read_text("utf-8")
    assert "ș" in romanian and "ț" in romanian and "ş" not in romanian and "ţ" not in romanian


def test_twenty_thousand_points_import_whole(engine, community, tmp_path):
    """All 20,000 rows land; how fast is scripts/bench_ingest.py's (no timings in tests)."""
    import numpy as np

    rng = np.random.default_rng(1)
    n = 20_000
    frame = pd.DataFrame(
        {
            "lat": rng.uniform(46.761, 46.799, n),
            "lon": rng.uniform(23.661, 23.719, n),
            "pericol": "drugs",
            "severitate": rng.integers(1, 6, n),
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    report = import_file(engine, "risk_zones", path, community=SLUG)
    assert report.rows_written == n
