"""export_layer: every format round-trips, roles are enforced, CSV cells cannot run formulas."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from geo.communities import Community, UnknownCommunity
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
    assert export_layer(engine, "risk_zones", out, community=Community.load(engine, SLUG)) == 3
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
        export_layer(
            engine,
            "incidents",
            out,
            community=Community.load(engine, SLUG),
            role="police",
            purpose="case_file",
        )
        == 2
    )
    again = import_file(engine, "incidents", out, community=SLUG, role="police")
    assert (again.rows_written, again.rows_skipped_duplicate) == (0, 2), again.render()
    # Without the narrative the first row is a different row, flagged as a near-duplicate.
    export_layer(engine, "incidents", out, community=Community.load(engine, SLUG), role="police")
    assert "narrative" not in read_file(out).columns
    partial = import_file(engine, "incidents", out, community=SLUG, role="police", dry_run=True)
    assert partial.rows_skipped_duplicate == 1
    near = [p for p in partial.warnings if p.key == "ingest.problem.near_duplicate_stored"]
    # CSV rows are numbered as a spreadsheet shows them (the header is row 1).
    first = 2 if suffix == ".csv" else 1
    assert [(p.row, p.params["metres"], p.params["minutes"]) for p in near] == [(first, 0.0, 0)]


def test_incident_times_are_local_with_offset(engine, incidents, tmp_path):
    out = tmp_path / "incidents.csv"
    export_layer(engine, "incidents", out, community=Community.load(engine, SLUG), role="mediator")
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
    # An unknown community never reaches the export: loading it is refused.
    with pytest.raises(UnknownCommunity, match="nowhere"):
        Community.load(engine, "nowhere")


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


def test_formula_risk_normalises_before_testing():
    from geo.export import formula_risk

    assert formula_risk("normal text") is None
    assert formula_risk("Strada Cantonului 12, bloc 3") is None
    assert formula_risk("\uff1d1+1") == "'=1+1"  # full-width equals, folded by NFKC
    assert formula_risk("\u200b=1+1") == "'=1+1"  # zero-width space (Cf) dropped
    assert formula_risk("a;=1+1") == "a;'=1+1"  # a ';' spreadsheet splits here
    assert formula_risk("a, @x") == "a, '@x"


def test_coarse_period_day_or_iso_week():
    from geo.export import coarse_period

    assert coarse_period("2025-03-14T21:30:00+02:00", sensitive=False) == "2025-03-14"
    assert coarse_period("2025-03-14T21:30:00+02:00", sensitive=True) == "2025-W11"
    assert coarse_period("2024-12-30T01:00:00+02:00", sensitive=True) == "2025-W01"
    assert coarse_period(None, sensitive=True) is None


def test_masked_export_is_the_same_every_time_and_scoped(engine, community, incidents, tmp_path):
    from geo.accounts import create_user
    from geo.db.security import role_engine

    officer = create_user(engine, "officer", "Harta-officer-2026", "police", [community])
    url = engine.url.render_as_string(hide_password=False)
    police = role_engine(url, "police", user_id=officer.id)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert export_layer(police, "incidents", first, role="police", geomask=True) == 2
    assert export_layer(police, "incidents", second, role="police", geomask=(50, 250)) == 2
    a = pd.read_csv(first, encoding="utf-8-sig").sort_values("lat").reset_index(drop=True)
    b = pd.read_csv(second, encoding="utf-8-sig").sort_values("lat").reset_index(drop=True)
    assert a[["lat", "lon"]].equals(b[["lat", "lon"]])
    assert a["occurred_in"].tolist() == ["2025-03-14", "2025-07-01"]
    assert "narrative" not in a.columns and "external_ref" not in a.columns
    with pytest.raises(ExportRefused):
        export_layer(police, "incidents", first, role="police", purpose="case_file", geomask=True)
    with pytest.raises(ExportFailed):
        export_layer(police, "risk_zones", first, role="police", geomask=True)
    # An account scoped to another community exports nothing of this one.
    assert export_layer(police, "incidents", first, role="police", scope=[-1]) == 0
    police.dispose()


def test_keyed_draws_are_fixed_per_incident_and_uniform():
    import hashlib
    import hmac

    import geopandas as gpd
    import numpy as np

    from geo.privacy import donut_geomask, draw_fractions

    key = b"k" * 32
    draws = np.array(
        [
            draw_fractions(hmac.new(key, f"harta-geomask-v1:{i}".encode(), hashlib.sha256).digest())
            for i in range(4000)
        ]
    )
    assert ((draws >= 0) & (draws < 1)).all()
    assert abs(draws.mean() - 0.5) < 0.02 and abs(np.corrcoef(draws.T)[0, 1]) < 0.05
    points = gpd.GeoSeries(gpd.points_from_xy([23.69] * 4000, [46.78] * 4000), crs=4326)
    once = donut_geomask(points, "EPSG:32634", 50, 250, draws=draws)
    twice = donut_geomask(points, "EPSG:32634", 50, 250, draws=draws)
    assert once.points.geom_equals_exact(twice.points, tolerance=0).all()
    assert "seed" not in once.summary


def test_database_hmac_is_rfc_2104_hmac_sha256(engine, incidents):
    import hashlib
    import hmac
    import importlib.util

    from geo.settings import PROJECT_ROOT

    path = PROJECT_ROOT / "geo/db/migrations/versions/0006_geomask_key.py"
    spec = importlib.util.spec_from_file_location("m0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    key = bytes(range(32))
    inner, outer = module.hmac_pads(key)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE geomask_key SET inner_pad = :i, outer_pad = :o"), {"i": inner, "o": outer}
        )
        rows = conn.execute(text("SELECT id, mask_nonce FROM incidents")).all()
        got = dict(
            conn.execute(
                text("SELECT * FROM harta_geomask_draws(CAST(:i AS bigint[]), CAST(:n AS uuid[]))"),
                {"i": [r.id for r in rows], "n": [str(r.mask_nonce) for r in rows]},
            ).all()
        )
    for row in rows:
        want = hmac.new(key, f"harta-geomask-v1:{row.id}".encode(), hashlib.sha256).digest()
        assert bytes(got[row.id]) == want
