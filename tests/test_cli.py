"""The ``harta`` command end to end, against a real PostGIS database."""

from __future__ import annotations

import json

import geopandas as gpd
from shapely.geometry import Point, box
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from geo.cli import app
from geo.communities import Community
from tests.conftest import PASSWORDS, username_for

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
    start = next(i for i, arg in enumerate(command) if arg.startswith("--"))
    flags = dict(zip(command[start::2], command[start + 1 :: 2], strict=False))
    assert flags["--server.address"] == "localhost"
    # Without it, a headless Streamlit asks an internet service for the machine's address.
    assert flags["--browser.serverAddress"] == "localhost"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.enableStaticServing"] == "true"


def _as(role: str) -> list[str]:
    return ["--as", username_for(role), "--password-stdin"]


def test_partner_export_with_donut_geomask_moves_every_point_and_reports_it(
    loaded_db_url, users, tmp_path
):
    target = tmp_path / "incidents.geojson"
    args = ["export", "incidents", str(target), "--community", "pata-rat", "--geomask",
            *_as("police")]  # fmt: skip
    result = runner.invoke(app, args, env=_env(loaded_db_url), input=PASSWORDS["police"] + "\n")
    assert result.exit_code == 0, result.output
    exported = gpd.read_file(target).to_crs(32634)
    engine = create_engine(loaded_db_url)
    truth = gpd.read_postgis(
        text(
            # The community's incidents by the one membership rule (migration 0007).
            "SELECT i.geom FROM harta_member_rows(:c, 'incidents') AS m"
            " JOIN incidents AS i ON i.id = m.id"
        ),
        engine,
        geom_col="geom",
        params={"c": Community.load(engine, "pata-rat").id},
    )
    truth = truth.to_crs(32634)
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT count(*) FROM access_log WHERE action = 'export' AND role = 'police'")
        ).scalar_one()
    engine.dispose()
    assert len(exported) == len(truth) > 300
    # Rows are shuffled and carry no database id: each masked point's own incident is the
    # true point within the donut (the nearest true point is at most as far).
    nearest = exported.geometry.apply(lambda g: truth.distance(g).min())
    assert nearest.max() <= 250 + 1e-6
    report = json.loads((tmp_path / "incidents.geojson.geomask.json").read_text())
    assert report["donut_m"] == [50, 250] and report["displacement"]["n"] == len(exported)
    assert (
        50
        <= report["displacement"]["observed_min_m"]
        <= report["displacement"]["observed_max_m"]
        <= 250
    )
    assert 0 <= report["k_anonymity"]["share_k0"] <= 1
    assert oct((tmp_path / "incidents.geojson.geomask.json").stat().st_mode & 0o777) == "0o600"
    assert "k-anonymity" in result.stdout
    assert logged == 1


def test_geomask_is_refused_for_other_layers_and_writes_nothing(loaded_db_url, users, tmp_path):
    target = tmp_path / "zones.geojson"
    args = ["export", "risk_zones", str(target), "--geomask", *_as("police")]
    result = runner.invoke(app, args, env=_env(loaded_db_url), input=PASSWORDS["police"] + "\n")
    assert result.exit_code == 2
    assert "incidents" in result.stderr
    assert not target.exists()


def test_password_from_the_environment_and_a_deactivated_account(loaded_db_url, users, tmp_path):
    from geo.accounts import deactivate

    target = tmp_path / "incidents.csv"
    env = {**_env(loaded_db_url), "HARTA_PASSWORD": PASSWORDS["mediator"]}
    args = ["export", "incidents", str(target), "--as", username_for("mediator")]
    assert runner.invoke(app, args, env=env).exit_code == 0
    assert target.exists()
    target.unlink()
    wrong = runner.invoke(app, args, env={**env, "HARTA_PASSWORD": "wrong-password-0"})
    assert wrong.exit_code == 1 and not target.exists()
    engine = create_engine(loaded_db_url)
    deactivate(engine, username_for("mediator"))
    engine.dispose()
    # The right password of a deactivated account acts as nobody.
    assert runner.invoke(app, args, env=env).exit_code == 1
    assert not target.exists()


def test_import_of_incidents_needs_an_account_and_withdraw_acts_as_it(
    loaded_db_url, users, tmp_path
):
    path = tmp_path / "incidents.csv"
    path.write_text("data,tip,severitate,lat,lon\n2025-05-02 10:00,theft,2,46.781,23.695\n")
    anonymous = runner.invoke(app, ["import", "incidents", str(path)], env=_env(loaded_db_url))
    assert anonymous.exit_code == 2 and "--as" in anonymous.stderr
    imported = runner.invoke(
        app, ["import", "incidents", str(path), *_as("mediator")],
        env=_env(loaded_db_url), input=PASSWORDS["mediator"] + "\n",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    engine = create_engine(loaded_db_url)
    with engine.connect() as conn:
        new_id, by = conn.execute(
            text("SELECT id, created_by_role FROM incidents ORDER BY id DESC LIMIT 1")
        ).one()
    assert by == "mediator"
    # Withdrawal needs an account; a planner may not withdraw.
    planner = runner.invoke(
        app, ["withdraw", "incidents", str(new_id), *_as("planner")],
        env=_env(loaded_db_url), input=PASSWORDS["planner"] + "\n",
    )  # fmt: skip
    assert planner.exit_code == 1
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM incidents WHERE id = :i"), {"i": new_id}
            ).scalar_one()
            == 1
        )
    done = runner.invoke(
        app, ["withdraw", "incidents", str(new_id), *_as("admin")],
        env=_env(loaded_db_url), input=PASSWORDS["admin"] + "\n",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM incidents WHERE id = :i"), {"i": new_id}
            ).scalar_one()
            == 0
        )
    engine.dispose()


def test_operator_commands_say_they_need_the_owner():
    for command in (
        ["db", "--help"],
        ["user", "--help"],
        ["backup", "--help"],
        ["purge", "--help"],
    ):
        result = runner.invoke(app, command, env={"HARTA_LANGUAGE": "en", "COLUMNS": "200"})
        assert "owner" in result.stdout, command
