"""export_layer: every format round-trips, roles are enforced, CSV cells cannot run formulas."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from geo.export import ExportFailed, ExportRefused, export_layer, neutralise_formulas
from geo.ingest import import_file
from geo.ingest.readers import read_file
from tests.fixtures_ingest import (
    SLUG,
    ZONES,
    insert_community,
    write_geojson,
    write_incidents_csv,
    write_text,
    zones_frame,
)

TOLERANCE_DEG = 1e-6


@pytest.fixture
def community(engine) -> int:
    """The Pata Rât test community (square lon 23.66–23.72, lat 46.76–46.80); its id."""
    return insert_community(engine)


@pytest.fixture(autouse=True)
def _quiet_gdal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.fixture
def zones(engine, community, tmp_path):
    import_file(engine, "risk_zones", write_geojson(tmp_path, zones_frame()), community=SLUG)


@pytest.fixture
def incidents(engine, community, tmp_path):
    rows = [
        {
            "data": "2025-03-14 21:30",
            "tip": "fire",
            "severitate": 3,
            "lat": 46.7712345,
            "lon": 23.6912345,
            "relatare": "Foc lângă casa 12",
            "nr_dosar": "=HYPERLINK(1)",
        },
        {
            "data": "2025-07-01 08:00",
            "tip": "theft",
            "severitate": 2,
            "lat": 46.7854321,
            "lon": 23.7001234,
            "relatare": "",
            "nr_dosar": "D-2",
        },
    ]
    import_file(
        engine, "incidents", write_incidents_csv(tmp_path, rows), community=SLUG, role="police"
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".kml", ".csv"])
def test_zone_export_round_trip(engine, zones, tmp_path, suffix):
    out = tmp_path / "out" / f"zones{suffix}"
    out.parent.mkdir()
    assert export_layer(engine, "risk_zones", out, community=SLUG) == 3
    frame = read_file(out)
    assert len(frame) == 3
    for got, want in zip(frame.geometry, [z["geometry"] for z in ZONES], strict=True):
        assert shapely.equals_exact(
            shapely.normalize(got), shapely.normalize(want), tolerance=TOLERANCE_DEG
        )
    assert [str(v) for v in frame["hazard_code"]] == [z["hazard"] for z in ZONES]
    # Re-importing the export adds nothing: same rows, same hashes, no warnings.
    again = import_file(engine, "risk_zones", out, community=SLUG)
    assert (again.rows_written, again.rows_skipped_duplicate) == (0, 3), again.render()
    assert {p.key for p in again.problems} == {"ingest.problem.duplicate_stored"}
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary left


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".kml", ".csv"])
def test_incident_export_round_trip_for_police(engine, incidents, tmp_path, suffix):
    out = tmp_path / f"incidents{suffix}"
    assert (
        export_layer(engine, "incidents", out, community=SLUG, role="police", purpose="case_file")
        == 2
    )
    again = import_file(engine, "incidents", out, community=SLUG, role="police")
    assert (again.rows_written, again.rows_skipped_duplicate) == (0, 2), again.render()
    # Without the narrative the first row is a different row, flagged as a near-duplicate.
    export_layer(engine, "incidents", out, community=SLUG, role="police")
    assert "narrative" not in read_file(out).columns
    partial = import_file(engine, "incidents", out, community=SLUG, role="police", dry_run=True)
    assert partial.rows_skipped_duplicate == 1
    near = [p for p in partial.warnings if p.key == "ingest.problem.near_duplicate_stored"]
    assert [(p.row, p.params["metres"], p.params["minutes"]) for p in near] == [(1, 0.0, 0)]


def test_incident_times_are_local_with_offset(engine, incidents, tmp_path):
    out = tmp_path / "incidents.csv"
    export_layer(engine, "incidents", out, community=SLUG, role="mediator")
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["occurred_at"].tolist() == [
        "2025-03-14T21:30:00+02:00",
        "2025-07-01T08:00:00+03:00",
    ]
    assert table[["lat", "lon"]].iloc[0].tolist() == pytest.approx([46.7712345, 23.6912345])


@pytest.mark.parametrize("role", ["admin", "planner", "community", "public"])
def test_exact_incidents_refused_for_other_roles(engine, incidents, tmp_path, role):
    out = tmp_path / "incidents.geojson"
    with pytest.raises(ExportRefused) as caught:
        export_layer(engine, "incidents", out, role=role)
    assert isinstance(caught.value, PermissionError)
    assert "police, mediator" in str(caught.value)
    assert not out.exists()


def test_narrative_only_in_case_file_for_case_roles(engine, incidents, tmp_path):
    out = tmp_path / "dosar.csv"
    export_layer(engine, "incidents", out, role="police")
    assert "narrative" not in pd.read_csv(out, encoding="utf-8-sig").columns
    export_layer(engine, "incidents", out, role="police", purpose="case_file")
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["narrative"].iloc[0] == "Foc lângă casa 12"
    with pytest.raises(ExportFailed):
        export_layer(engine, "risk_zones", out, purpose="case_file")  # no such purpose here
    with pytest.raises(ExportFailed):
        export_layer(engine, "incidents", out, role="police", purpose="everything")


def test_csv_formula_injection_is_neutralised(engine, community, tmp_path):
    notes = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "normal"]
    lines = ["lat,lon,pericol,severitate,nota"] + [
        f'46.77{i},23.69,drugs,3,"{note}"' for i, note in enumerate(notes)
    ]
    import_file(
        engine, "risk_zones", write_text(tmp_path, "f.csv", "\n".join(lines)), community=SLUG
    )
    out = tmp_path / "zones.csv"
    export_layer(engine, "risk_zones", out, csv_geometry="latlon")
    table = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    exported = dict(zip(table["lat"].round(3), table["note"], strict=True))
    assert sorted(exported.values()) == sorted(
        ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)", "'=1", "normal"]
    )
    assert (table["lon"] > 0).all()  # numbers are left alone


def test_neutralise_formulas_leaves_numbers():
    frame = pd.DataFrame({"n": [-5.0, 3.0], "s": ["-5", "ok"]})
    safe = neutralise_formulas(frame)
    assert safe["n"].tolist() == [-5.0, 3.0]
    assert safe["s"].tolist() == ["'-5", "ok"]


def test_csv_wkt_for_mixed_geometries(engine, zones, tmp_path):
    out = tmp_path / "zones.csv"
    export_layer(engine, "risk_zones", out)
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["wkt"].str.startswith(("POLYGON", "LINESTRING", "POINT")).all()


def test_workshops_export(engine, community, tmp_path):
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workshops (community_id, held_on, language, facilitator_role,"
                " participants, title, source, created_by_role) VALUES (:c, '2025-05-01',"
                " 'ro', 'mediator', 12, '=Atelier', 'workshop', 'mediator')"
            ),
            {"c": community},
        )
    out = tmp_path / "workshops.csv"
    assert export_layer(engine, "workshops", out) == 1
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["held_on"].tolist() == ["2025-05-01"]
    assert table["title"].tolist() == ["'=Atelier"]
    assert export_layer(engine, "workshops", tmp_path / "w.gpkg") == 1
    with pytest.raises(ExportFailed):
        export_layer(engine, "workshops", tmp_path / "w.kml")


def test_export_errors(engine, zones, tmp_path):
    with pytest.raises(ExportFailed):
        export_layer(engine, "risk_zones", tmp_path / "zones.xlsx")
    with pytest.raises(ExportFailed):
        export_layer(engine, "roads", tmp_path / "roads.csv")
    with pytest.raises(ExportFailed, match="nowhere"):
        export_layer(engine, "risk_zones", tmp_path / "z.csv", community="nowhere")


def test_failed_export_keeps_the_previous_file(engine, zones, tmp_path, monkeypatch):
    import geo.export as export

    out = tmp_path / "zones.geojson"
    out.write_text("previous", encoding="utf-8")

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(export.pyogrio, "write_dataframe", broken)
    with pytest.raises(OSError, match="simulated"):
        export_layer(engine, "risk_zones", out)
    assert out.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
