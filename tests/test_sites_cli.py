"""``harta sites rank`` through typer's CliRunner on the real loaded database (issue 14).

The CSV and JSON it writes must let a reviewer recompute the ranking: the test recomputes the
TOPSIS closeness by hand (numpy, Hwang & Yoon) from the CSV's raw columns and the JSON's weights.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from sqlalchemy import create_engine
from typer.testing import CliRunner

from geo.communities.model import Community
from geo.planning.sites.cli import sites_app
from geo.planning.sites.inputs import DEMO_SITES_FILE
from geo.runs import list_runs

pytestmark = pytest.mark.db
runner = CliRunner()


def _env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "HARTA_LANGUAGE": "en"}


def test_rank_writes_a_csv_and_json_a_reviewer_can_recompute(loaded_db_url, tmp_path):
    out = tmp_path / "ranked.csv"
    args = ["rank", "--community", "pata-rat", "--sites", str(DEMO_SITES_FILE), "--out", str(out)]
    result = runner.invoke(sites_app, [*args, "--method", "topsis"], env=_env(loaded_db_url))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"site_id": str})
    used = json.loads(out.with_suffix(".json").read_text())["criteria"]
    assert {"weight", "direction"} <= set(next(iter(used.values())))
    assert sum(c["weight"] for c in used.values()) == pytest.approx(1.0)
    # The demo parcel beside Pata Rât is excluded with its reason; the others are ranked 1..7.
    s7 = table.set_index("site_id").loc["S7"]
    assert bool(s7["excluded"]) and "landfill" in s7["exclusion_reason"] and s7["rank"] == 0
    ok = table[~table["excluded"]]
    assert sorted(ok["rank"]) == list(range(1, len(ok) + 1))
    # Recompute TOPSIS by hand from the raw columns and the weights as used.
    x = ok[list(used)].to_numpy(float)
    w = np.array([c["weight"] for c in used.values()])
    benefit = np.array([c["direction"] == "benefit" for c in used.values()])
    v = x / np.sqrt((x**2).sum(axis=0)) * w
    ideal = np.where(benefit, v.max(0), v.min(0))
    anti = np.where(benefit, v.min(0), v.max(0))
    s_plus = np.sqrt(((v - ideal) ** 2).sum(1))
    s_minus = np.sqrt(((v - anti) ** 2).sum(1))
    assert np.allclose(ok["score"], s_minus / (s_plus + s_minus))
    for code in used:
        assert np.allclose(ok[f"{code}_norm"], ok[code] / np.sqrt((ok[code] ** 2).sum()))
    # The run is stored, visible, with its exports.
    engine = create_engine(loaded_db_url)
    runs = list_runs(engine, Community.load(engine, "pata-rat"), "housing_sites")
    assert runs and "csv" in runs[0].outputs


def test_rank_with_ahp_weights_and_wsm(loaded_db_url, tmp_path):
    weights = tmp_path / "ahp.json"
    matrix = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    codes = ["walk_school_min", "routes_10min", "landfill_m"]
    weights.write_text(json.dumps({"ahp": {"criteria": codes, "matrix": matrix}}))
    out = tmp_path / "wsm.csv"
    result = runner.invoke(
        sites_app,
        ["rank", "--community", "pata-rat", "--sites", str(DEMO_SITES_FILE), "--out", str(out),
         "--weights", str(weights), "--method", "wsm", "--no-store",
         "--surface", str(tmp_path / "suitability.tif")],
        env=_env(loaded_db_url),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    used = json.loads(out.with_suffix(".json").read_text())["criteria"]
    assert list(used) == codes
    geo = np.array([15 ** (1 / 3), 1.0, (1 / 15) ** (1 / 3)])
    assert [used[c]["weight"] for c in codes] == pytest.approx(list(geo / geo.sum()))
    table = pd.read_csv(out)
    ok = table[~table["excluded"]]
    norm = {}
    for code in codes:
        col = ok[code].to_numpy(float)
        span = col.max() - col.min()
        norm[code] = (
            (col - col.min()) / span
            if used[code]["direction"] == "benefit"
            else (col.max() - col) / span
        )
    expected = sum(used[c]["weight"] * norm[c] for c in codes)
    assert np.allclose(ok["score"], expected)
    with rasterio.open(tmp_path / "suitability.tif") as src:
        band = src.read(1)
        assert src.crs.to_epsg() == 32634
        assert band.max() <= 1.0 and (band == src.nodata).any() and (band >= 0).any()


def test_inconsistent_ahp_is_refused_with_its_ratio(loaded_db_url, tmp_path):
    weights = tmp_path / "bad.json"
    matrix = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    weights.write_text(
        json.dumps(
            {
                "ahp": {
                    "criteria": ["walk_school_min", "routes_10min", "landfill_m"],
                    "matrix": matrix,
                }
            }
        )
    )
    result = runner.invoke(
        sites_app,
        ["rank", "--community", "pata-rat", "--sites", str(DEMO_SITES_FILE),
         "--out", str(tmp_path / "x.csv"), "--weights", str(weights), "--lang", "en"],
        env=_env(loaded_db_url),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "consistency ratio" in result.output and "above 0.1" in result.output
    assert not (tmp_path / "x.csv").exists()
