"""Stored analysis runs: parameters, counts and times in analysis_runs; exports; role scopes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyogrio
import pytest
import rasterio
from sqlalchemy import text

from geo.analysis.runs import list_runs, may_see_run, run_hotspot_analysis, scope_for
from geo.taxonomy import sensitive_incident_types


@pytest.fixture
def police_run(loaded_engine):
    return run_hotspot_analysis(loaded_engine, "pata-rat", "police")


def test_run_is_stored_with_params_counts_and_times(loaded_engine, police_run):
    with loaded_engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM analysis_runs WHERE id = :id"), {"id": police_run.id})
            .mappings()
            .one()
        )
    assert row["kind"] == "hotspots"
    assert row["created_by_role"] == "police"
    assert row["params"]["scope"] == "all"
    assert row["params"]["filters"] == {
        "date_from": None,
        "date_to": None,
        "types": None,
        "min_severity": 1,
    }
    assert row["params"]["cell_size_m"] > 0 and row["params"]["confidence"] == 0.95
    assert row["input_counts"] == police_run.input_counts
    assert row["input_counts"]["stored"] >= 420
    assert 0 < row["input_counts"]["used"] <= row["input_counts"]["inside_area"]
    assert row["started_at"] <= row["finished_at"]
    assert set(row["outputs"]) == {
        "density",
        "gpkg",
        "hotspots_csv",
        "emerging_csv",
        "compare_csv",
        "profiles_csv",
    }


def test_exports_exist_and_open(police_run):
    outputs = police_run.outputs
    assert all(path.is_file() for path in outputs.values())
    assert outputs["density"].parent.name == f"run-{police_run.id}"
    layers = {name for name, _ in pyogrio.list_layers(outputs["gpkg"])}
    assert layers == {"hotspots", "emerging", "compare"}
    cells = pyogrio.read_dataframe(outputs["gpkg"], layer="hotspots")
    assert len(cells) == len(police_run.hotspots.cells)
    assert {"cell_id", "count", "z", "p_fdr", "gi_bin", "label"} <= set(cells.columns)
    assert cells["count"].sum() == police_run.hotspots.n_points
    compare = pyogrio.read_dataframe(outputs["gpkg"], layer="compare")
    assert set(compare["source"]) <= {"zone", "hotspot"} and len(compare) > 0
    text_csv = outputs["hotspots_csv"].read_text(encoding="utf-8")
    assert text_csv.startswith("cell_id,") and "POLYGON" in text_csv


def test_density_geotiff_integrates_to_the_count_within_the_edge_loss(police_run):
    with rasterio.open(police_run.outputs["density"]) as src:
        values = src.read(1).astype(float)
        cell_km2 = abs(src.transform.a * src.transform.e) / 1e6
        tags = src.tags()
    n = police_run.input_counts["used"]
    edge_loss = float(tags["edge_loss"])
    assert int(tags["n_points"]) == n
    # Documented: the grid is padded by 3 bandwidths, so at most ~0.3 % of any kernel is lost.
    assert edge_loss <= 0.003 * n
    assert values.sum() * cell_km2 == pytest.approx(n - edge_loss, rel=1e-4)


def test_filters_change_input_counts(loaded_engine, police_run):
    everything = police_run.input_counts["used"]
    by_type = run_hotspot_analysis(loaded_engine, "pata-rat", "police", types=["fire"])
    by_severity = run_hotspot_analysis(loaded_engine, "pata-rat", "police", min_severity=4)
    by_dates = run_hotspot_analysis(
        loaded_engine,
        "pata-rat",
        "police",
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 3, 31),
    )
    for run in (by_type, by_severity, by_dates):
        assert 0 < run.input_counts["used"] < everything
    assert by_type.input_counts["after_dates"] == everything
    assert by_type.params["filters"]["types"] == ["fire"]
    with loaded_engine.connect() as conn:
        fires = conn.execute(
            text(
                "SELECT count(*) FROM incidents i JOIN communities c ON c.slug = 'pata-rat'"
                " WHERE i.type_code = 'fire'"
                " AND ST_DWithin(i.geom::geography, c.geom::geography, 25)"
            )
        ).scalar_one()
    assert by_type.input_counts["used"] == fires
    assert by_dates.input_counts["after_dates"] == by_dates.input_counts["used"]


def test_too_few_incidents_gives_the_message_instead_of_hotspots(loaded_engine):
    run = run_hotspot_analysis(
        loaded_engine, "pata-rat", "police", types=["flooding"], min_severity=5
    )
    assert run.hotspots.too_few
    assert "30" in run.hotspots.message("en")
    assert (run.hotspots.cells["label"] == "not_computed").all()
    assert set(run.comparison.loc[run.comparison["source"] == "zone", "label"]) == {"not_compared"}


def test_scopes_follow_the_privacy_rules(loaded_engine):
    assert [scope_for(r) for r in ("police", "mediator", "public", "community", "planner")] == [
        "all",
        "exact",
        "aggregated",
        "aggregated",
        "aggregated",
    ]
    assert scope_for("admin") == "aggregated"
    assert may_see_run("police", "all") and may_see_run("mediator", "aggregated")
    assert not may_see_run("mediator", "all") and not may_see_run("public", "exact")
    with pytest.raises(ValueError):
        scope_for("root")

    mediator = run_hotspot_analysis(loaded_engine, "pata-rat", "mediator")
    sensitive = set(sensitive_incident_types())
    assert not set(mediator.visible.points["type_code"]) & sensitive
    assert mediator.visible.cells is None

    public = run_hotspot_analysis(loaded_engine, "pata-rat", "public")
    assert public.visible.points.empty
    cells = public.visible.cells
    shown = cells.loc[~cells["suppressed"], "count"]
    assert (shown >= 5).all() and cells.loc[cells["suppressed"], "count"].isna().all()
    # Gi* and the density only ever saw the published counts.
    assert public.input_counts["published"] == int(shown.sum())
    assert public.density.n_points == len(shown)
    assert public.density.bandwidth_m >= 150
    published = public.hotspots.cells["count"]
    assert np.nanmin(published.to_numpy(dtype=float)) >= 5
    assert public.time_of_day.dropna().min() >= 5


def test_runs_are_listed_only_to_roles_whose_scope_covers_them(loaded_engine, police_run):
    public = run_hotspot_analysis(loaded_engine, "pata-rat", "public")
    assert set(list_runs(loaded_engine, "pata-rat", "police")["id"]) == {police_run.id, public.id}
    seen_by_public = list_runs(loaded_engine, "pata-rat", "public")
    assert list(seen_by_public["id"]) == [public.id]
    assert all(path.is_file() for path in seen_by_public.iloc[0]["outputs"].values())


@pytest.mark.parametrize("role", ["police", "public"])
def test_a_run_with_no_matching_incident_ends_recorded_as_too_few(loaded_engine, role):
    """Issue 8 route 11: zero matching incidents raised in emerging_hotspots and left a run row
    without an end."""
    run = run_hotspot_analysis(
        loaded_engine, "pata-rat", role, date_from=dt.date(2001, 1, 1), date_to=dt.date(2001, 2, 1)
    )
    assert run.hotspots.too_few and run.emerging.too_few
    assert "0" in run.emerging.message("en")
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT finished_at, params FROM analysis_runs WHERE kind = 'hotspots'")
        ).all()
    assert rows and all(r.finished_at is not None for r in rows)
    assert all(r.params["too_few"] for r in rows)


def test_aggregated_runs_use_the_published_grid_and_whole_months(loaded_engine):
    run = run_hotspot_analysis(
        loaded_engine,
        "pata-rat",
        "public",
        date_from=dt.date(2025, 11, 17),
        date_to=dt.date(2026, 2, 3),
        freq="week",
    )
    with loaded_engine.connect() as conn:
        grid = conn.execute(
            text(
                "SELECT analysis_cell_m FROM published_grids g JOIN communities c"
                " ON c.id = g.community_id WHERE c.slug = 'pata-rat'"
            )
        ).scalar_one()
    assert run.params["cell_size_m"] == grid
    # Free days become whole months; weeks become months.
    assert run.params["published_window"] == [
        "2025-11-01T00:00:00+02:00",
        "2026-03-01T00:00:00+02:00",
    ]
    assert run.params["freq"] == "month"
    shown = run.visible.cells["count"].dropna()
    assert (shown % 5 == 0).all()
    with pytest.raises(ValueError, match="one incident type"):
        run_hotspot_analysis(loaded_engine, "pata-rat", "public", types=["fire", "theft"])
