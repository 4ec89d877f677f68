"""Stored hot spot runs: parameters, counts and times in analysis_runs; exports; role scopes.

Every run is made on an engine *acting as* a role (and its test account), as the app does: the
role is read from the connection, and row-level security decides what the run can read.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyogrio
import pytest
import rasterio
from sqlalchemy import text

from geo.analysis.runs import (
    RunRefused,
    list_runs,
    may_see_run,
    run_hotspot_analysis,
    scope_for,
)
from geo.communities import Community
from geo.taxonomy import sensitive_incident_types
from tests.factories import account_engine

pytestmark = pytest.mark.db


@pytest.fixture
def as_role(loaded_db_url):
    """``as_role("police")``: an engine acting as police and its test account (disposed after)."""
    engines = {}

    def get(role):
        if role not in engines:
            engines[role] = account_engine(loaded_db_url, role)
        return engines[role]

    yield get
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def pata_rat(loaded_engine):
    return Community.load(loaded_engine, "pata-rat")


@pytest.fixture
def police_run(as_role, pata_rat):
    return run_hotspot_analysis(as_role("police"), pata_rat)


def test_run_is_stored_with_params_counts_method_and_times(loaded_engine, police_run):
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
    # The inference method of the p-values is recorded with the run.
    assert row["params"]["method"] == police_run.hotspots.method in ("exact", "normal")
    assert row["input_counts"] == police_run.input_counts
    with loaded_engine.connect() as conn:
        members = conn.execute(
            text(
                "SELECT count(*) FROM incidents i JOIN communities c ON c.slug = 'pata-rat'"
                " WHERE ST_DWithin(i.geom::geography, c.geom::geography, 25)"
            )
        ).scalar_one()
    # What police read is every incident that belongs to the community (the membership rule).
    assert row["input_counts"]["stored"] == members >= 300
    assert 0 < row["input_counts"]["used"] <= row["input_counts"]["in_scope"]
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


def test_every_result_of_a_run_has_the_one_result_shape(police_run):
    for result in (police_run.hotspots, police_run.emerging, police_run.compare):
        assert isinstance(result.params, dict) and result.too_few is False
        assert result.message("ro") is None
    assert police_run.density.too_few is False and police_run.density.params["crs"]


def test_filters_change_input_counts(loaded_engine, as_role, pata_rat, police_run):
    police = as_role("police")
    everything = police_run.input_counts["used"]
    by_type = run_hotspot_analysis(police, pata_rat, types=["fire"])
    by_severity = run_hotspot_analysis(police, pata_rat, min_severity=4)
    by_dates = run_hotspot_analysis(
        police, pata_rat, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 31)
    )
    for run in (by_type, by_severity, by_dates):
        assert 0 < run.input_counts["used"] < everything
    assert by_type.input_counts["after_dates"] == everything
    assert by_type.params["filters"]["types"] == ["fire"]
    with loaded_engine.connect() as conn:
        fires = conn.execute(
            text(
                "SELECT count(*) FROM incidents i JOIN communities c ON c.slug = 'pata-rat'"
                " WHERE i.type_code = 'fire' AND i.status <> 'withdrawn'"
                " AND ST_DWithin(i.geom::geography, c.geom::geography, 25)"
            )
        ).scalar_one()
    assert by_type.input_counts["used"] == fires
    assert by_dates.input_counts["after_dates"] == by_dates.input_counts["used"]


def test_too_few_incidents_gives_the_message_instead_of_hotspots(as_role, pata_rat):
    run = run_hotspot_analysis(as_role("police"), pata_rat, types=["flooding"], min_severity=5)
    assert run.hotspots.too_few
    assert "30" in run.hotspots.message("en")
    assert (run.hotspots.cells["label"] == "not_computed").all()
    assert set(run.comparison.loc[run.comparison["source"] == "zone", "label"]) == {"not_compared"}
    # The comparison says why, with the hot spot analysis' own reason.
    assert run.compare.too_few and run.compare.message("hu") == run.hotspots.message("hu")


def test_scopes_follow_the_privacy_rules(as_role, pata_rat):
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

    mediator = run_hotspot_analysis(as_role("mediator"), pata_rat)
    assert mediator.scope == "exact" and mediator.role == "mediator"
    sensitive = set(sensitive_incident_types())
    assert not set(mediator.visible.points["type_code"]) & sensitive
    assert mediator.visible.cells is None

    public = run_hotspot_analysis(as_role("public"), pata_rat)
    assert public.scope == "aggregated" and public.role == "public"
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


def test_the_role_is_read_from_the_connection_and_the_operator_is_refused(loaded_engine, pata_rat):
    """Attack: the role used to be a second argument beside the engine; a page that passed
    "police" with a public engine got a run labelled police.  Now there is nothing to pass, and
    the owner's connection (which row security does not filter) cannot run an analysis."""
    with pytest.raises(TypeError):
        run_hotspot_analysis(loaded_engine, pata_rat, "police")  # type: ignore[misc]
    with pytest.raises(RunRefused) as refused:
        run_hotspot_analysis(loaded_engine, pata_rat)
    assert "Harta" in refused.value.message("en")
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM analysis_runs")).scalar_one() == 0


def test_runs_are_listed_only_to_roles_whose_scope_covers_them(as_role, pata_rat, police_run):
    public = run_hotspot_analysis(as_role("public"), pata_rat)
    assert set(list_runs(as_role("police"), pata_rat)["id"]) == {police_run.id, public.id}
    seen_by_public = list_runs(as_role("public"), pata_rat)
    assert list(seen_by_public["id"]) == [public.id]
    assert all(path.is_file() for path in seen_by_public.iloc[0]["outputs"].values())
    assert set(list_runs(as_role("mediator"), pata_rat)["id"]) == {public.id}


@pytest.mark.parametrize("role", ["police", "public"])
def test_a_run_with_no_matching_incident_ends_recorded_as_too_few(
    loaded_engine, as_role, pata_rat, role
):
    """Issue 8 route 11: zero matching incidents raised in emerging_hotspots and left a run row
    without an end."""
    run = run_hotspot_analysis(
        as_role(role), pata_rat, date_from=dt.date(2001, 1, 1), date_to=dt.date(2001, 2, 1)
    )
    assert run.hotspots.too_few and run.emerging.too_few and run.density is None
    assert "0" in run.emerging.message("en")
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT finished_at, params FROM analysis_runs WHERE kind = 'hotspots'")
        ).all()
    assert rows and all(r.finished_at is not None for r in rows)
    assert all(r.params["too_few"] and r.params["method"] is None for r in rows)


def test_aggregated_runs_use_the_published_grid_and_whole_months(loaded_engine, as_role, pata_rat):
    public = as_role("public")
    run = run_hotspot_analysis(
        public, pata_rat, date_from=dt.date(2025, 11, 17), date_to=dt.date(2026, 2, 3), freq="week"
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
        run_hotspot_analysis(public, pata_rat, types=["fire", "theft"])
