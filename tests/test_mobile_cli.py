"""``harta routes plan`` (issue 13) through typer's CliRunner on :data:`routes_app`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geo.planning.mobile.cli import routes_app
from geo.settings import PROJECT_ROOT
from tests.mobile_validator import validate

pytestmark = pytest.mark.db

runner = CliRunner()
DEMO = PROJECT_ROOT / "data" / "mobile_unit"


def _args(stops, vehicles, out, date="2026-12-07"):
    return ["plan", "--community", "pata-rat", "--stops", str(stops), "--vehicles",
            str(vehicles), "--date", date, "--time-limit", "1", "--out", str(out)]  # fmt: skip


def _stored(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        plans = conn.execute(text("SELECT count(*) FROM mobile_plans")).scalar_one()
        runs = conn.execute(
            text("SELECT count(*) FROM analysis_runs WHERE kind = 'mobile_plan'")
        ).scalar_one()
    return plans, runs


def test_cli_plans_writes_a_valid_plan_json_and_stores_it(app_env, loaded_engine, tmp_path):
    out = tmp_path / "plan.json"
    result = runner.invoke(
        routes_app, _args(DEMO / "stops.csv", DEMO / "vehicles.csv", out),
        env={"DATABASE_URL": app_env, "HARTA_LANGUAGE": "en"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["params"]["time_limit_s"] == 1.0 and data["params"]["run_id"] > 0
    from geo.communities.model import Community
    from geo.network.matrix import network_for
    from geo.network.times import travel_times

    pata_rat = Community.load(loaded_engine, "pata-rat")
    net = network_for(pata_rat, "drive")

    def leg(a, b):
        return float(travel_times(net, pata_rat, [a], [b])[0, 0])

    errors = validate(
        data, DEMO / "stops.csv", DEMO / "vehicles.csv", dt.date(2026, 12, 7),
        "Europe/Bucharest", leg,
    )  # fmt: skip
    assert errors == []
    assert _stored(loaded_engine) == (1, 1)
    assert "Wrote" in result.output


def test_cli_refuses_bad_rows_and_stores_nothing(app_env, loaded_engine, tmp_path):
    bad = tmp_path / "stops.csv"
    rows = (DEMO / "stops.csv").read_text(encoding="utf-8").splitlines()
    rows[3] = rows[3].replace("pickup", "pikcup")  # the spreadsheet's row 4
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "plan.json"
    result = runner.invoke(
        routes_app, _args(bad, DEMO / "vehicles.csv", out),
        env={"DATABASE_URL": app_env, "HARTA_LANGUAGE": "en"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "stops.csv, row 4, kind" in result.output
    assert "nothing was loaded" in result.output
    assert not out.exists()
    assert _stored(loaded_engine) == (0, 0)
