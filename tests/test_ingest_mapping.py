"""Issue 10: real field files import without hand-editing.

Each test writes a file shaped like the ones partners really send (a police export from Excel,
a My Maps KML, an ``.xlsx``, OSM hospitals as building polygons, a GeoJSON in metres, Harta's
own export) and checks what lands in the database, or the one message the person gets.  Each
was refused, or landed wrong, before the mapping layer.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon
from sqlalchemy import text

from geo.communities.model import Community
from geo.ingest import (
    ImportFailed,
    ImportRejected,
    Mapping,
    import_file,
    load_profile,
    parse_options,
    save_profile,
    validate_file,
)
from tests.fixtures_ingest import SLUG, insert_community, write_text

pytestmark = pytest.mark.db

BUCHAREST = ZoneInfo("Europe/Bucharest")


@pytest.fixture
def community(engine) -> Community:
    insert_community(engine)
    return Community.load(engine, SLUG)


@pytest.fixture(autouse=True)
def _quiet_gdal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _incidents(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            text("SELECT *, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incidents ORDER BY id"),
            conn,
        )


# --- a police export from Excel --------------------------------------------------------------

POLICE_HEADER = "Nr. dosar;Data;Ora;Tip eveniment;Gravitate;Latitudine;Longitudine;Observații"
POLICE_ROWS = [
    "P-101;14.03.2025;21:30;Violență în familie;mare;46,7712345;23,6912345;Sesizare 112",
    "P-102;15.03.2025;08.05;Tulburarea ordinii și liniștii publice;medie;46,7812;23,7001;",
    # Summer time: 02:30 local on 1 August is 23:30 UTC the day before.
    "P-103;01.08.2025;02:30;Furt calificat;mică;46,7750;23,6800;Ușă forțată",
]


def _police_csv(tmp_path, rows=POLICE_ROWS):
    content = "\ufeff" + "\r\n".join([POLICE_HEADER, *rows]) + "\r\n"
    return write_text(tmp_path, "registru_politie.csv", content)


def test_police_export_imports_with_local_times_through_the_saved_profile(
    engine, community, tmp_path
):
    report = import_file(
        engine,
        "incidents",
        _police_csv(tmp_path),
        community=community,
        role="police",
        mapping=load_profile("politia_cluj"),
    )
    assert report.rows_written == 3, report.render("en")
    stored = _incidents(engine)
    local = [t.tz_convert(BUCHAREST).strftime("%Y-%m-%d %H:%M") for t in stored["occurred_at"]]
    # Before: the Ora column was ignored and every incident was stored at 00:00.
    assert local == ["2025-03-14 21:30", "2025-03-15 08:05", "2025-08-01 02:30"]
    assert stored["occurred_at"][2].tz_convert("UTC").hour == 23
    assert stored["type_code"].tolist() == ["domestic_violence", "conflict_dispute", "theft"]
    assert stored["severity"].tolist() == [4, 3, 2]
    assert stored["external_ref"].tolist() == ["P-101", "P-102", "P-103"]
    assert stored["narrative"][0] == "Sesizare 112"
    assert abs(stored["lon"][0] - 23.6912345) < 1e-7 and abs(stored["lat"][0] - 46.7712345) < 1e-7
    joined = next(p for p in report.warnings if p.key == "ingest.problem.time_joined")
    assert joined.params["column"] == "Ora"  # the file's header, not an internal name


def test_police_headers_and_labels_are_recognised_without_a_profile(engine, community, tmp_path):
    header = "Data;Ora;Tip eveniment;grav;Latitudine;Longitudine;obs"
    rows = [
        "14.03.2025;21:30;violență domestică;4;46,7712;23,6912;x",
        "14.03.2025;22:10;VIOLENŢĂ DOMESTICĂ;4;46,7713;23,6913;",  # cedilla ţ, capitals
        "15.03.2025;10:00;conflict;2;46,7812;23,7001;",
    ]
    path = write_text(tmp_path, "export.csv", "\ufeff" + "\n".join([header, *rows]) + "\n")
    report = import_file(engine, "incidents", path, community=community, role="police")
    assert report.rows_written == 3, report.render("en")
    stored = _incidents(engine)
    assert stored["type_code"].tolist() == [
        "domestic_violence",
        "domestic_violence",
        "conflict_dispute",
    ]
    assert stored["occurred_at"][1].tz_convert(BUCHAREST).strftime("%H:%M") == "22:10"
    assert stored["narrative"][0] == "x"


def test_unrecognised_type_column_is_named_once_with_the_option_to_use(engine, community, tmp_path):
    header = "Data;Ora;Categoria faptei;Gravitate;Latitudine;Longitudine"
    rows = [f"14.03.2025;21:{i:02d};Furt;3;46,77{i:02d};23,69" for i in range(40)]
    path = write_text(tmp_path, "politie.csv", "\n".join([header, *rows]) + "\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "incidents", path, community=community, role="police")
    report = caught.value.report
    # Before: 40 "type_code: value missing" errors.  Now one line naming the column.
    assert [(p.row, p.field, p.key) for p in report.errors] == [
        (None, "type_code", "ingest.problem.missing_column_guess")
    ]
    rendered = report.render("en")
    assert '--field type_code="Categoria faptei"' in rendered
    assert "value missing" not in rendered
    # ... and with the option the same file imports.
    mapped = import_file(
        engine,
        "incidents",
        path,
        community=community,
        role="police",
        mapping=parse_options(fields=["type_code=Categoria faptei"]),
    )
    assert mapped.rows_written == 40


def test_same_error_in_many_rows_is_one_line_with_a_suggestion(engine, community, tmp_path):
    header = "Data;Tip;Gravitate;Latitudine;Longitudine"
    rows = [f"14.03.2025 21:{i:02d};violenta domestic;3;46,77{i:02d};23,69" for i in range(40)]
    path = write_text(tmp_path, "x.csv", "\n".join([header, *rows]) + "\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "incidents", path, community=community, role="police")
    report = caught.value.report
    assert len(report.errors) == 40 and report.rows_invalid == 40
    romanian = report.render("ro").splitlines()
    assert len(romanian) == 2  # the summary and one grouped line
    assert "40 rânduri (2–41)" in romanian[1]
    assert "Violență în familie (domestic_violence)" in romanian[1]  # did you mean, in Romanian
    assert "Poate ați vrut" in romanian[1]
    hungarian = report.render("hu")
    assert "Családon belüli erőszak (domestic_violence)" in hungarian


def test_value_option_maps_a_local_label(engine, community, tmp_path):
    header = "Data;Tip;Gravitate;Latitudine;Longitudine"
    path = write_text(
        tmp_path, "x.csv", f"{header}\n14.03.2025 21:00;Bătaie în stradă;3;46,7712;23,6912\n"
    )
    mapping = parse_options(values=['type_code:"bataie in strada"=assault'])
    report = import_file(
        engine, "incidents", path, community=community, role="police", mapping=mapping
    )
    assert report.rows_written == 1
    assert _incidents(engine)["type_code"].tolist() == ["assault"]


def test_profiles_round_trip_and_options_override(tmp_path):
    mapping = parse_options(
        fields=["type_code=Tip eveniment"], values=["severity:mare=4"], sets=["status=verified"]
    )
    path = save_profile(mapping, "../../etc/evil name", directory=tmp_path)
    assert path.parent == tmp_path  # a profile name never escapes the folder
    loaded = load_profile(path.stem, directory=tmp_path)
    assert (loaded.fields, loaded.values, loaded.defaults) == (
        mapping.fields,
        mapping.values,
        mapping.defaults,
    )
    merged = loaded.merged(parse_options(fields=["type_code=Categorie"]))
    assert merged.fields["type_code"] == "Categorie"
    with pytest.raises(ImportFailed) as caught:
        load_profile("nope", directory=tmp_path)
    assert caught.value.key == "ingest.error.unknown_profile"
    with pytest.raises(ImportFailed) as caught:
        parse_options(fields=["type_code"])
    assert caught.value.key == "ingest.error.bad_option"


# --- My Maps, GPX, workbooks, OSM ---------------------------------------------------------------

MY_MAPS_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Străzi inundate</name>
<Folder><name>Strat fără titlu</name>
<Placemark><name>Strada Cantonului</name><description>apă 30 cm</description>
<LineString><coordinates>23.690,46.770,0 23.695,46.772,0</coordinates></LineString></Placemark>
<Placemark><name>Lângă pod</name>
<Point><coordinates>23.700,46.785,0</coordinates></Point></Placemark>
</Folder></Document></kml>
"""


def test_my_maps_kml_imports_with_set_and_keeps_placemark_names(engine, community, tmp_path):
    path = write_text(tmp_path, "Străzi inundate.kml", MY_MAPS_KML)
    with pytest.raises(ImportRejected):  # no hazard, no severity in the file
        import_file(engine, "risk_zones", path, community=community)
    mapping = parse_options(sets=["hazard_code=Inundații", "severity=3"])
    report = import_file(engine, "risk_zones", path, community=community, mapping=mapping)
    assert report.rows_written == 2
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT hazard_code, severity, note FROM risk_zones ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("flooding", 3, "Strada Cantonului — apă 30 cm"),
        ("flooding", 3, "Lângă pod"),
    ]


def test_xlsx_and_ods_import_first_sheet(engine, community, tmp_path):
    table = pd.DataFrame(
        {
            "Pericol": ["Inundații", "câini fără stăpân"],
            "Gravitate": [3, 2],
            "Latitudine": [46.7712345, 46.7854321],
            "Longitudine": [23.6912345, 23.7001234],
        }
    )
    for suffix, driver in ((".xlsx", "XLSX"), (".ods", "ODS")):
        path = tmp_path / f"zone{suffix}"
        pyogrio.write_dataframe(table, path, driver=driver)
        report = validate_file(engine, "risk_zones", path, community=community)
        assert report.rows_valid == 2 and report.file_format == suffix[1:], report.render("en")
    report = import_file(engine, "risk_zones", tmp_path / "zone.xlsx", community=community)
    assert report.rows_written == 2
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT hazard_code FROM risk_zones ORDER BY id")).scalars()
        assert list(codes) == ["flooding", "stray_dogs"]


def test_xlsx_row_numbers_are_the_spreadsheet_rows(engine, community, tmp_path):
    table = pd.DataFrame(
        {"Pericol": ["flooding", "dragons"], "Gravitate": [3, 3], "lat": [46.77, 46.78],
         "lon": [23.69, 23.70]}
    )  # fmt: skip
    path = tmp_path / "zone.xlsx"
    pyogrio.write_dataframe(table, path, driver="XLSX")
    report = validate_file(engine, "risk_zones", path, community=community)
    assert [p.row for p in report.errors] == [3]  # header row 1, "dragons" on row 3


def test_osm_hospital_polygons_become_facilities(engine, community, tmp_path):
    hospital = Polygon([(23.690, 46.770), (23.692, 46.770), (23.692, 46.772), (23.690, 46.772)])
    frame = gpd.GeoDataFrame(
        {"amenity": ["hospital", "clinic"], "name": ["Spitalul Clinic", "Dispensar"]},
        geometry=[hospital, Point(23.70, 46.78)],
        crs=4326,
    )
    path = tmp_path / "osm_hospitals.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = import_file(engine, "facilities", path, community=community)
    assert report.rows_written == 2
    assert [p.row for p in report.warnings if p.key == "ingest.problem.polygon_to_point"] == [1]
    with engine.connect() as conn:
        wkt = conn.execute(text("SELECT ST_AsText(geom) FROM facilities ORDER BY id")).scalar()
    assert hospital.contains(shapely.from_wkt(wkt))  # on the surface, inside the building


# --- coordinates --------------------------------------------------------------------------------


def test_geojson_in_metres_without_crs_gets_the_message_not_a_traceback(
    engine, community, tmp_path
):
    features = [
        {"type": "Feature", "properties": {"pericol": "flooding", "severitate": 3},
         "geometry": {"type": "Point", "coordinates": [391234.5, 584321.0]}}
    ]  # fmt: skip
    path = write_text(
        tmp_path, "stereo.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )
    with pytest.raises(ImportFailed) as caught:
        import_file(engine, "risk_zones", path, community=community)
    assert caught.value.key == "ingest.error.coordinates_not_degrees"
    assert "EPSG:3844" in caught.value.message("ro")


def _stereo70_csv(tmp_path):
    # A point in the square, written in Stereo70 (EPSG:3844) by PROJ's best transformation.
    from geo import crs as crs_

    x, y = crs_.transformer(4326, 3844).transform(23.6912345, 46.7712345)
    return write_text(tmp_path, "stereo.csv", f"x,y,pericol,severitate\n{x:.3f},{y:.3f},drugs,3\n")


def test_old_stereo70_code_lands_where_the_new_one_does(engine, community, tmp_path):
    path = _stereo70_csv(tmp_path)
    report = validate_file(engine, "risk_zones", path, community=community, crs="EPSG:31700")
    keys = [p.key for p in report.warnings]
    assert "ingest.problem.crs_replaced" in keys and "ingest.problem.crs_ballpark" not in keys
    import_file(engine, "risk_zones", path, community=community, crs="EPSG:31700")
    with engine.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM risk_zones")).one()
    # Before: PROJ's ballpark transformation put it 125.8 m off.  Now within centimetres.
    assert community.distance_m(Point(lon, lat)) == 0
    metres = community.to_metric_geometry(Point(lon, lat)).distance(
        community.to_metric_geometry(Point(23.6912345, 46.7712345))
    )
    assert metres < 0.05


def test_ballpark_transformation_is_named_with_its_possible_error(engine, community, tmp_path):
    path = write_text(tmp_path, "intl.csv", "lon,lat,pericol,severitate\n23.69,46.77,drugs,3\n")
    report = validate_file(
        engine, "risk_zones", path, community=community, crs="+proj=longlat +ellps=intl +no_defs"
    )
    warning = next(p for p in report.warnings if p.key == "ingest.problem.crs_ballpark")
    assert "150 m" in warning.render("en") and "Ballpark" in warning.render("en")


# --- the command line ---------------------------------------------------------------------------


def test_cli_exit_codes_and_no_traceback(engine, community, tmp_path, monkeypatch):
    from geo.ingest.cli import EXIT_REFUSED, EXIT_UNUSABLE, EXIT_WRITTEN, run_import

    good = _police_csv(tmp_path)
    metres = write_text(
        tmp_path,
        "m.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Point","coordinates":[391234.5,584321.0]}}]}',
    )
    common = {"community": SLUG, "role": "police", "lang": "ro"}
    assert run_import(engine, "incidents", good, **common) == EXIT_REFUSED  # no profile
    assert run_import(engine, "incidents", good, profile="politia_cluj", **common) == 0
    assert run_import(engine, "risk_zones", metres, **common) == EXIT_UNUSABLE
    assert run_import(engine, "incidents", good, options=(["x"], [], []), **common) == 2
    assert run_import(engine, "nonsense", good, **common) == EXIT_UNUSABLE
    assert EXIT_WRITTEN == 0

    def crash(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("geo.ingest.import_file", crash)
    assert run_import(engine, "risk_zones", good, **common) == EXIT_UNUSABLE
    with engine.connect() as conn:
        outcomes = conn.execute(
            text("SELECT report->>'outcome', rows_written FROM imports ORDER BY id")
        ).all()
    # Every attempt that reached the community is recorded: refused, unreadable, crashed not.
    assert [tuple(o) for o in outcomes] == [("rejected", 0), ("written", 3), ("unreadable", 0)]


def test_time_column_as_spreadsheet_fraction_of_a_day(engine, community, tmp_path):
    table = pd.DataFrame(
        {"Data": ["14.03.2025"], "Ora": [0.8958333333], "Tip": ["fire"], "Gravitate": [3],
         "lat": [46.7712], "lon": [23.6912]}
    )  # fmt: skip
    path = tmp_path / "ore.xlsx"
    pyogrio.write_dataframe(table, path, driver="XLSX")
    import_file(engine, "incidents", path, community=community, role="police")
    moment = _incidents(engine)["occurred_at"][0].tz_convert(BUCHAREST)
    assert moment.to_pydatetime().replace(tzinfo=None) == dt.datetime(2025, 3, 14, 21, 30)


def test_mapping_is_plain_data():
    mapping = Mapping(fields={"type_code": "Tip"}, defaults={"severity": "3"})
    assert Mapping.from_dict(json.loads(json.dumps(mapping.to_dict()))) == mapping


# --- attacks ------------------------------------------------------------------------------------


def test_a_mapping_cannot_launder_a_name_column_into_an_incident(engine, community, tmp_path):
    # Attack: the names column is refused by its header, so map it to the narrative instead.
    header = "Data;Tip;Gravitate;Latitudine;Longitudine;Nume victimă"
    path = write_text(
        tmp_path, "x.csv", f"{header}\n14.03.2025 21:00;fire;3;46,7712;23,6912;Ion Popescu\n"
    )
    mapping = parse_options(fields=["narrative=Nume victimă"])
    with pytest.raises(ImportRejected) as caught:
        import_file(
            engine, "incidents", path, community=community, role="police", mapping=mapping,
            skip_invalid=True,
        )  # fmt: skip
    problem = caught.value.report.file_errors[0]
    assert (problem.key, problem.field) == ("ingest.problem.personal_column", "Nume victimă")
    assert "Ion Popescu" not in caught.value.report.render("ro")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0
        # The refused attempt's record holds the reason, never the name.
        stored = conn.execute(text("SELECT report::text FROM imports")).scalar_one()
    assert "Ion Popescu" not in stored


def test_refused_incident_imports_are_recorded_only_for_case_roles(engine, community, tmp_path):
    # The record of a refused police import quotes the values it could not read: the imports
    # table's row security must hide it from the roles that see only aggregates.
    from geo.accounts import create_user
    from geo.db.security import role_engine

    url = engine.url.render_as_string(hide_password=False)
    accounts = {
        role: create_user(engine, f"t-{role}", f"{role}-Pass-2026-x", role, [community.id])
        for role in ("police", "community")
    }
    police = role_engine(url, "police", user_id=accounts["police"].id)
    header = "Data;Tip;Gravitate;Latitudine;Longitudine"
    path = write_text(tmp_path, "x.csv", f"{header}\n14.03.2025 21:00;Bătaie X;3;46,7712;23,6912\n")
    try:
        with pytest.raises(ImportRejected):
            import_file(police, "incidents", path, community=community, role="police")
        with police.connect() as conn:
            seen = conn.execute(text("SELECT report->>'outcome' FROM imports")).scalars().all()
        assert seen == ["rejected"]
    finally:
        police.dispose()
    for role, uid in (("community", accounts["community"].id), ("public", None)):
        other = role_engine(url, role, user_id=uid)
        try:
            with other.connect() as conn:
                try:
                    visible = conn.execute(text("SELECT count(*) FROM imports")).scalar_one()
                except Exception as exc:  # no grant at all is as good
                    assert "permission denied" in str(exc)
                    continue
            assert visible == 0, role
        finally:
            other.dispose()


# --- Harta's own exports ------------------------------------------------------------------------


def test_reimporting_our_export_adds_nothing_and_demo_rows_stay_demo(loaded_engine, tmp_path):
    from geo.demo import clear_demo
    from geo.export import export_layer

    pata_rat = Community.load(loaded_engine, "pata-rat")
    out = tmp_path / "zones.geojson"
    exported = export_layer(loaded_engine, "risk_zones", out, community=pata_rat)
    assert exported > 0
    # Before: the demo zones that cross the boundary were refused, and with --skip-invalid the
    # others were written again as real data.  Now: every row is recognised as ours.
    again = import_file(loaded_engine, "risk_zones", out, community=pata_rat)
    assert again.rows_written == 0 and again.rows_skipped_duplicate == exported
    # Re-imported after a demo clear, the export's demo rows come back as demo rows...
    clear_demo(loaded_engine)
    back = import_file(loaded_engine, "risk_zones", out, community=pata_rat, skip_invalid=True)
    assert back.rows_written == exported, back.render("en")
    crossing = [p for p in back.warnings if p.key == "ingest.problem.crosses_boundary"]
    assert crossing  # kept as drawn, and said
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT bool_and(is_demo) FROM risk_zones")).scalar_one()
    # ... so the next demo clear leaves nothing behind.
    clear_demo(loaded_engine)
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM risk_zones")).scalar_one() == 0


def test_a_partner_file_numbered_like_our_ids_is_not_taken_for_our_export(
    engine, community, tmp_path
):
    # Attack on the export recognition: ids 1, 2 that exist, with other geometries.
    first = write_text(tmp_path, "a.csv", "id,lat,lon,pericol,severitate\n1,46.77,23.69,drugs,3\n")
    import_file(engine, "risk_zones", first, community=community)
    other = write_text(tmp_path, "b.csv", "id,lat,lon,pericol,severitate\n1,46.78,23.70,drugs,3\n")
    report = import_file(engine, "risk_zones", other, community=community)
    assert report.rows_written == 1


GPX_WALK = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="OsmAnd" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>Drum spre școală fără lumină</name><trkseg>
<trkpt lat="46.7700" lon="23.6900"/><trkpt lat="46.7710" lon="23.6920"/>
</trkseg></trk></gpx>
"""


def test_gpx_track_name_becomes_the_zone_note(engine, community, tmp_path):
    path = write_text(tmp_path, "plimbare.gpx", GPX_WALK)
    mapping = parse_options(sets=["hazard_code=unlit_path", "severity=4"])
    report = import_file(engine, "risk_zones", path, community=community, mapping=mapping)
    assert report.rows_written == 1
    with engine.connect() as conn:
        note = conn.execute(text("SELECT note FROM risk_zones")).scalar_one()
    assert note == "Drum spre școală fără lumină"
