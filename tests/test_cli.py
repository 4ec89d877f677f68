"""The ``harta`` command end to end, against a real PostGIS database."""

from __future__ import annotations

import json

import geopandas as gpd
from shapely.geometry import Point, box
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geo.cli import app

runner = CliRunner()

PERNIK_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="42.6000" lon="23.0300"/>
  <node id="2" lat="42.6010" lon="23.0320"/>
  <node id="3" lat="42.6020" lon="23.0340"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="ulitsa Test"/></way>
</osm>
"""


def _env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "HARTA_LANGUAGE": "en"}


def test_community_add_makes_a_partner_community_from_files(db_url, tmp_path):
    boundary = tmp_path / "pernik.geojson"
    gpd.GeoDataFrame(geometry=[box(23.02, 42.595, 23.045, 42.607)], crs=4326).to_file(boundary)
    osm = tmp_path / "pernik.osm"
    osm.write_text(PERNIK_OSM)
    args = ["community", "add", "Pernik", "--boundary", str(boundary), "--osm", str(osm),
            "--country", "BG", "--timezone", "Europe/Sofia"]  # fmt: skip
    first = runner.invoke(app, args, env=_env(db_url))
    assert first.exit_code == 0, first.output
    assert "pernik" in first.stdout
    second = runner.invoke(app, args, env=_env(db_url))
    assert second.exit_code == 0, second.output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.metric_crs, c.timezone, count(s.id) FROM communities c"
                " LEFT JOIN streets s ON s.community_id = c.id WHERE c.slug = 'pernik'"
                " GROUP BY c.id"
            )
        ).all()
    engine.dispose()
    assert rows == [(32634, "Europe/Sofia", rows[0][2])]
    assert rows[0][2] >= 1


def test_import_with_one_bad_row_writes_nothing_and_names_the_row(loaded_db_url, tmp_path):
    features = [
        {"type": "Feature", "geometry": Point(23.692, 46.780).__geo_interface__,
         "properties": {"hazard_code": "flooding", "severity": 3}},
        {"type": "Feature", "geometry": Point(23.693, 46.781).__geo_interface__,
         "properties": {"hazard_code": "flooding", "severity": 9}},
    ]  # fmt: skip
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    engine = create_engine(loaded_db_url)
    count = "SELECT count(*) FROM risk_zones WHERE NOT is_demo"
    with engine.connect() as conn:
        before = conn.execute(text(count)).scalar_one()

    rejected = runner.invoke(app, ["import", "risk_zones", str(path)], env=_env(loaded_db_url))
    assert rejected.exit_code == 1
    assert "2" in rejected.stderr and "severity" in rejected.stderr
    with engine.connect() as conn:
        assert conn.execute(text(count)).scalar_one() == before

    skipped = runner.invoke(
        app, ["import", "risk_zones", str(path), "--skip-invalid"], env=_env(loaded_db_url)
    )
    assert skipped.exit_code == 0, skipped.output
    with engine.connect() as conn:
        assert conn.execute(text(count)).scalar_one() == before + 1
    engine.dispose()


def test_export_writes_a_file_that_reads_back(loaded_db_url, tmp_path):
    target = tmp_path / "facilities.gpkg"
    result = runner.invoke(app, ["export", "facilities", str(target)], env=_env(loaded_db_url))
    assert result.exit_code == 0, result.output
    frame = gpd.read_file(target)
    assert len(frame) > 0 and frame.crs.to_epsg() == 4326
    assert "bus_stop" in set(frame["kind"])


def test_served_app_listens_on_localhost_and_never_looks_itself_up_online(monkeypatch):
    from geo.cli import streamlit_command
    from geo.settings import get_settings

    monkeypatch.delenv("HARTA_ADDRESS", raising=False)
    command = streamlit_command(8501, get_settings().address)
    flags = dict(zip(command[5::2], command[6::2], strict=False))
    assert flags["--server.address"] == "localhost"
    # Without it, a headless Streamlit asks an internet service for the machine's address.
    assert flags["--browser.serverAddress"] == "localhost"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.enableStaticServing"] == "true"


def test_partner_export_with_donut_geomask_moves_every_point_and_reports_it(
    loaded_db_url, tmp_path
):
    target = tmp_path / "incidents.geojson"
    args = ["export", "incidents", str(target), "--community", "pata-rat", "--role", "police",
            "--geomask", "50:250", "--seed", "7"]  # fmt: skip
    result = runner.invoke(app, args, env=_env(loaded_db_url))
    assert result.exit_code == 0, result.output
    exported = gpd.read_file(target).to_crs(32634)
    engine = create_engine(loaded_db_url)
    truth = gpd.read_postgis(
        text("SELECT geom FROM incidents ORDER BY id"), engine, geom_col="geom"
    ).to_crs(32634)
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT count(*) FROM access_log WHERE action = 'export' AND role = 'police'")
        ).scalar_one()
    engine.dispose()
    assert len(exported) == len(truth) > 300
    moved = exported.geometry.distance(truth.geometry.reset_index(drop=True))
    assert moved.min() >= 50 - 1e-6 and moved.max() <= 250 + 1e-6
    report = json.loads((tmp_path / "incidents.geojson.geomask.json").read_text())
    assert report["n"] == len(exported) and report["min_m"] == 50 and report["max_m"] == 250
    assert abs(report["observed_max_m"] - moved.max()) < 0.5
    assert logged == 1


def test_geomask_is_refused_for_polygons_and_writes_nothing(loaded_db_url, tmp_path):
    target = tmp_path / "zones.geojson"
    args = ["export", "risk_zones", str(target), "--geomask", "50:250"]
    result = runner.invoke(app, args, env=_env(loaded_db_url))
    assert result.exit_code == 2
    assert "points" in result.stderr
    assert not target.exists()
