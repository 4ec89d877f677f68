"""Attacks on the export routes to incident rows (issue 8, routes 1, 2 and 11).

Each test plays someone who should not learn an exact incident location -- a mediator, a police
officer of another community, an anonymous user of the command line, a partner holding many
masked exports, a spreadsheet user -- and checks that the attack fails.  Every one of them
passed (the attack succeeded) on the code before issue 8.
"""

from __future__ import annotations

import re
import unicodedata
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from typer.testing import CliRunner

from geo.cli import app
from geo.db.security import role_engine
from geo.export import ExportRefused, export_layer, neutralise_formulas
from geo.privacy import SENSITIVE_TYPES, donut_geomask, draw_fractions
from tests.conftest import PASSWORDS, username_for
from tests.factories import insert_community

runner = CliRunner()
METRIC = 32634  # UTM 34N, Pata Rât's metric CRS
FORMULA_STARTS = "=+-@\t\r"


@pytest.fixture(autouse=True)
def _quiet_gdal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "HARTA_LANGUAGE": "en", "HARTA_PASSWORD": ""}


def _export_as(url: str, role: str | None, target, *extra: str):  # noqa: ANN001
    args = ["export", "incidents", str(target), *extra]
    if role is None:
        return runner.invoke(app, args, env=_env(url))
    args += ["--as", username_for(role), "--password-stdin"]
    return runner.invoke(app, args, env=_env(url), input=PASSWORDS[role] + "\n")


def _truth(url: str) -> gpd.GeoDataFrame:
    """Every incident as the database owner sees it (the attacker's target)."""
    engine = create_engine(url)
    frame = gpd.read_postgis(
        text(
            "SELECT i.id, i.type_code, i.sensitivity, i.mask_nonce, c.slug AS community, i.geom"
            " FROM incidents i JOIN communities c ON c.id = i.community_id ORDER BY i.id"
        ),
        engine,
        geom_col="geom",
    )
    engine.dispose()
    return frame


def _latlon(frame: pd.DataFrame) -> set[tuple[float, float]]:
    return {(round(a, 7), round(b, 7)) for a, b in zip(frame["lat"], frame["lon"], strict=True)}


# --- route 1: the command line acts as the account, under row security ----------------------


def test_mediator_account_exports_no_sensitive_incident(loaded_db_url, users, tmp_path):
    target = tmp_path / "incidents.csv"
    result = _export_as(loaded_db_url, "mediator", target)
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(target, encoding="utf-8-sig")
    truth = _truth(loaded_db_url)
    sensitive = truth[truth["type_code"].isin(SENSITIVE_TYPES) | (truth["sensitivity"] != "normal")]
    assert len(sensitive) > 0 and len(exported) > 0
    assert not exported["type_code"].isin(SENSITIVE_TYPES).any()
    assert (exported["sensitivity"] == "normal").all()
    hidden = {(round(g.y, 7), round(g.x, 7)) for g in sensitive.geometry}
    assert not hidden & _latlon(exported)
    assert len(exported) == len(truth) - len(sensitive)


def _other_community_with_incidents(url: str) -> tuple[int, set[tuple[float, float]]]:
    """A community outside Pata Rât's scope, with a domestic-violence incident; its points."""
    engine = create_engine(url)
    with engine.begin() as conn:
        cid = insert_community(
            conn,
            "pernik",
            name="Pernik",
            wkt="POLYGON((23.02 42.595,23.045 42.595,23.045 42.607,23.02 42.607,23.02 42.595))",
            country="BG",
            timezone="Europe/Sofia",
        )
        points = [(42.6001234, 23.0301234, "domestic_violence"), (42.601, 23.031, "theft")]
        for lat, lon, kind in points:
            conn.execute(
                text(
                    "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
                    " location_precision, sensitivity, status, reporting_role, geom, source,"
                    " row_hash, created_by_role) VALUES (:c, '2025-06-01 22:00+03', :k, 4, 'exact',"
                    " 'normal', 'reported', 'police',"
                    " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'import', :h, 'police')"
                ),
                {"c": cid, "k": kind, "lon": lon, "lat": lat, "h": f"pernik-{kind}"},
            )
    engine.dispose()
    return cid, {(round(lat, 7), round(lon, 7)) for lat, lon, _ in points}


def test_police_scoped_to_pata_rat_exports_no_other_community(loaded_db_url, users, tmp_path):
    _, elsewhere = _other_community_with_incidents(loaded_db_url)
    target = tmp_path / "incidents.csv"
    result = _export_as(loaded_db_url, "police", target)
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(target, encoding="utf-8-sig")
    assert len(exported) > 300
    assert "pernik" not in set(exported["community"])
    assert not elsewhere & _latlon(exported)
    # Asking for the other community by name gives nothing either.
    asked = _export_as(loaded_db_url, "police", target, "--community", "pernik")
    assert asked.exit_code == 0, asked.output
    assert len(pd.read_csv(target, encoding="utf-8-sig")) == 0
    masked = _export_as(loaded_db_url, "police", target, "--community", "pernik", "--geomask")
    assert masked.exit_code == 0, masked.output
    assert len(pd.read_csv(target, encoding="utf-8-sig")) == 0


def test_without_an_account_no_incident_is_exported(loaded_db_url, tmp_path):
    target = tmp_path / "incidents.csv"
    result = _export_as(loaded_db_url, None, target)
    assert result.exit_code == 2
    assert "--as" in result.stderr
    assert not target.exists()
    # Claiming a role is not enough: the engine of nobody signed in is the public role, and the
    # database refuses it the table whatever role the library is told.
    public = role_engine(loaded_db_url, "public")
    with pytest.raises(ExportRefused) as refused:
        export_layer(public, "incidents", target, role="police")
    assert isinstance(refused.value.__context__.__cause__, ProgrammingError)
    public.dispose()
    assert not target.exists()


def test_role_option_is_gone_and_a_wrong_password_exports_nothing(loaded_db_url, users, tmp_path):
    target = tmp_path / "incidents.csv"
    old = runner.invoke(
        app, ["export", "incidents", str(target), "--role", "police"], env=_env(loaded_db_url)
    )
    assert old.exit_code != 0 and not target.exists()
    wrong = runner.invoke(
        app,
        ["export", "incidents", str(target), "--as", username_for("police"), "--password-stdin"],
        env=_env(loaded_db_url),
        input="not-the-password\n",
    )
    assert wrong.exit_code == 1 and not target.exists()


# --- route 2: masks that cannot be averaged, undone or linked --------------------------------


def _expected_masks(url: str, truth: gpd.GeoDataFrame, low: float, high: float) -> np.ndarray:
    """Where the keyed mask puts each incident (computed as the owner, who holds the key)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        digests = dict(
            conn.execute(
                text(
                    "SELECT id, draw FROM harta_geomask_draws("
                    "CAST(:i AS bigint[]), CAST(:n AS uuid[]))"
                ),
                {"i": [int(v) for v in truth["id"]], "n": [str(v) for v in truth["mask_nonce"]]},
            ).all()
        )
    engine.dispose()
    draws = np.array([draw_fractions(bytes(digests[int(i)])) for i in truth["id"]])
    moved = donut_geomask(truth.set_geometry("geom"), f"EPSG:{METRIC}", low, high, draws=draws)
    return np.column_stack([moved.points.geometry.y, moved.points.geometry.x])


def _metric(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(METRIC)
    return np.column_stack([points.x, points.y])


def _masked_export(url: str, target) -> pd.DataFrame:  # noqa: ANN001
    result = _export_as(url, "police", target, "--geomask", "--community", "pata-rat")
    assert result.exit_code == 0, result.output
    return pd.read_csv(target, encoding="utf-8-sig")


def test_averaging_twenty_masked_exports_recovers_nothing(loaded_db_url, users, tmp_path):
    truth = _truth(loaded_db_url)
    true_xy = _metric(truth.geometry.y.to_numpy(), truth.geometry.x.to_numpy())
    exports = [_masked_export(loaded_db_url, tmp_path / f"m{k}.csv") for k in range(20)]
    report = (tmp_path / "m0.csv.geomask.json").read_text()
    low, high = (float(v) for v in re.findall(r'"donut_m": \[\s*([\d.]+),\s*([\d.]+)', report)[0])

    # The partner links the exports by nearest neighbour and averages each incident's points.
    first = _metric(exports[0]["lat"].to_numpy(), exports[0]["lon"].to_numpy())
    total = np.zeros_like(first)
    for frame in exports:
        xy = _metric(frame["lat"].to_numpy(), frame["lon"].to_numpy())
        nearest = np.argmin(np.hypot(*(first[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 1)
        total += xy[nearest]
    averaged = total / len(exports)

    # Ground truth of which exported row is which incident: the keyed mask, computed as the owner.
    expected = _metric(*_expected_masks(loaded_db_url, truth, low, high).T)
    which = np.argmin(np.hypot(*(first[:, None, :] - expected[None, :, :]).transpose(2, 0, 1)), 1)
    assert np.hypot(*(first - expected[which]).T).max() < 0.01  # every row found exactly
    one = np.hypot(*(first - true_xy[which]).T)
    many = np.hypot(*(averaged - true_xy[which]).T)
    assert one.min() >= low - 0.01 and one.max() <= high + 0.01
    risk = re.search(r'"k_anonymity": (\{[^}]*\})', report).group(1)
    print(f"median error: one export {np.median(one):.1f} m, 20 averaged {np.median(many):.1f} m;"
          f" k-anonymity {' '.join(risk.split())}")  # fmt: skip
    assert np.median(many) == pytest.approx(np.median(one), abs=0.01)
    assert np.median(many) > low

    # The same attack against fresh masks per export (the old behaviour) does recover points:
    # the test's attack is a real one.
    frame = truth.set_geometry("geom")
    fresh = [donut_geomask(frame, f"EPSG:{METRIC}", low, high).points.geometry for _ in range(20)]
    fresh_xy = np.mean(
        [np.column_stack([g.to_crs(METRIC).x, g.to_crs(METRIC).y]) for g in fresh], 0
    )
    fresh_error = np.hypot(*(fresh_xy - true_xy).T)
    print(f"fresh masks, 20 averaged: median {np.median(fresh_error):.1f} m,"
          f" {100 * np.mean(fresh_error < 50):.0f} % within 50 m")  # fmt: skip
    assert np.median(fresh_error) < low


def test_masked_export_ships_no_key_no_ids_no_exact_times(loaded_db_url, users, tmp_path):
    first = _masked_export(loaded_db_url, tmp_path / "a.csv")
    second = _masked_export(loaded_db_url, tmp_path / "b.csv")
    sidecar = (tmp_path / "a.csv.geomask.json").read_text()
    engine = create_engine(loaded_db_url)
    with engine.connect() as conn:
        inner, outer = conn.execute(text("SELECT inner_pad, outer_pad FROM geomask_key")).one()
        ids = set(conn.execute(text("SELECT id FROM incidents")).scalars())
    engine.dispose()
    assert "seed" not in sidecar.lower() and '"key"' not in sidecar.lower()
    for secret in (bytes(inner).hex(), bytes(outer).hex(), bytes(inner)[:8].hex()):
        assert secret not in sidecar and secret not in (tmp_path / "a.csv").read_text()
    assert {"id", "created_at", "external_ref", "mask_nonce", "occurred_at"}.isdisjoint(first)
    assert sorted(first["ref"]) == list(range(1, len(first) + 1))
    # Per-file row numbers in random order: the same incident (same masked point) gets another
    # number in the next file, and the numbers say nothing about the database's ids.
    by_point = dict(zip(zip(second["lat"], second["lon"], strict=True), second["ref"], strict=True))
    again = [by_point[p] for p in zip(first["lat"], first["lon"], strict=True)]
    assert np.mean(np.array(again) == first["ref"].to_numpy()) < 0.05
    truth = _truth(loaded_db_url)
    assert len(ids) == len(truth)
    # Times: the day, or the ISO week for sensitive types; never an hour.
    sensitive = first["type_code"].isin(SENSITIVE_TYPES) | (first["sensitivity"] != "normal")
    assert sensitive.any()
    assert first.loc[sensitive, "occurred_in"].str.fullmatch(r"\d{4}-W\d{2}").all()
    assert first.loc[~sensitive, "occurred_in"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert "k_anonymity" in sidecar and "k_median" in sidecar


def test_a_second_donut_size_is_refused(loaded_db_url, users, tmp_path):
    target = tmp_path / "wide.csv"
    # Two sizes with the same keyed angle would put both masked points on one ray through the
    # incident; two sizes with independent draws would be averaged.  Only one size exists.
    result = _export_as(loaded_db_url, "police", target, "--geomask", "--donut", "100:400")
    assert result.exit_code == 2
    assert "50–250" in result.stderr or "50-250" in result.stderr
    assert not target.exists()
    police = role_engine(loaded_db_url, "police", user_id=users["police"].id)
    with pytest.raises(ExportRefused):
        export_layer(police, "incidents", target, role="police", geomask=(10.0, 250.0))
    assert export_layer(police, "incidents", target, role="police", geomask=(50.0, 250.0)) > 0
    police.dispose()


def test_the_key_is_out_of_reach_of_every_application_role(loaded_db_url, users):
    truth = _truth(loaded_db_url)
    hidden = truth[truth["type_code"].isin(SENSITIVE_TYPES)].iloc[0]
    for role in ("public", "community", "mediator", "police", "planner", "admin"):
        user_id = users[role].id if role in users else None
        engine = role_engine(loaded_db_url, role, user_id=user_id)
        with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("SELECT inner_pad FROM geomask_key"))
        engine.dispose()
    # A mediator may mask what it may read, but the function is no oracle for sensitive rows:
    # knowing the id is not enough, nor is a guessed nonce.
    mediator = role_engine(loaded_db_url, "mediator", user_id=users["mediator"].id)
    with mediator.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM harta_geomask_draws(ARRAY[:i]::bigint[], ARRAY[:n]::uuid[])"),
            {"i": int(hidden["id"]), "n": "00000000-0000-4000-8000-000000000000"},
        ).all()
        assert rows == []
        # ... and the nonce of a row row-level security hides cannot be read.
        nonce = conn.execute(
            text("SELECT mask_nonce FROM incidents WHERE id = :i"), {"i": int(hidden["id"])}
        ).all()
        assert nonce == []
        with_true_nonce = conn.execute(
            text("SELECT * FROM harta_geomask_draws(ARRAY[:i]::bigint[], ARRAY[:n]::uuid[])"),
            {"i": int(hidden["id"]), "n": str(hidden["mask_nonce"])},
        ).all()
        assert len(with_true_nonce) == 1  # the nonce, not the role, is the proof of reading
    mediator.dispose()
    public = role_engine(loaded_db_url, "public")
    with public.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
        conn.execute(text("SELECT * FROM harta_geomask_draws(ARRAY[1]::bigint[], NULL)"))
    public.dispose()


# --- route 11: CSV cells that a spreadsheet would run -----------------------------------------


def _pieces_a_spreadsheet_sees(cell: str) -> list[str]:
    normal = "".join(
        ch for ch in unicodedata.normalize("NFKC", cell) if unicodedata.category(ch) != "Cf"
    )
    return [piece.lstrip(" ") for piece in re.split(r"[;,\t\r\n]", normal)]


PAYLOADS = [
    "\uff1d1+1",  # full-width equals
    "\u200b=1+1",  # zero-width space first
    "a;=1+1",  # Romanian Excel splits on ';'
    "a,=1+1",
    "x\t@SUM(A1)",
    "\ufeff+cmd|' /C calc'!A0",
    "\u2060\uff0bHYPERLINK(1)",
    "nota; \uff0d2+3",
    " =1+1",
    "\uff20SUM(1)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_payloads_come_out_inert(payload):
    safe = neutralise_formulas(pd.DataFrame({"note": [payload]}))["note"].iloc[0]
    for piece in _pieces_a_spreadsheet_sees(safe):
        assert not piece.startswith(tuple(FORMULA_STARTS)), (payload, safe)


def test_csv_payloads_inert_in_a_written_export(engine, tmp_path):
    from geo.ingest import import_file
    from tests.fixtures_ingest import SLUG, insert_community, write_text

    insert_community(engine)
    lines = ["lat,lon,pericol,severitate,nota"] + [
        f'46.77{i},23.69,drugs,3,"{note}"' for i, note in enumerate(PAYLOADS[:4])
    ]
    import_file(
        engine, "risk_zones", write_text(tmp_path, "f.csv", "\n".join(lines)), community=SLUG
    )
    out = tmp_path / "zones.csv"
    export_layer(engine, "risk_zones", out, csv_geometry="latlon")
    raw = out.read_text(encoding="utf-8-sig")
    for line in raw.splitlines()[1:]:
        for piece in _pieces_a_spreadsheet_sees(line):
            assert not piece.lstrip('"').startswith(tuple(FORMULA_STARTS)), line
