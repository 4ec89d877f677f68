"""The generic run store (geo.runs): any kind of run, its scope enforced by the database, the
role read from the connection, exports only from the run's own folder."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import runs
from geo.communities import Community
from tests.factories import account_engine

pytestmark = pytest.mark.db


@pytest.fixture
def as_role(loaded_db_url):
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


def test_a_planning_kind_is_stored_finished_got_and_listed_apart(as_role, pata_rat):
    planner = as_role("planner")
    run_id = runs.start_run(
        planner, "response_network", pata_rat, scope="aggregated", params={"posts": 3}
    )
    assert runs.get_run(planner, run_id).finished_at is None
    assert runs.list_runs(planner, pata_rat, "response_network") == []  # under way
    folder = runs.run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.csv").write_text("post,seconds\n1,120\n", encoding="utf-8")
    runs.finish_run(
        planner,
        run_id,
        params={"posts": 3, "covered": 0.9},
        input_counts={"places": 12},
        outputs={"plan_csv": folder / "plan.csv", "missing": folder / "gone.csv"},
    )
    run = runs.get_run(planner, run_id)
    assert (run.kind, run.scope, run.created_by_role) == (
        "response_network",
        "aggregated",
        "planner",
    )
    assert run.params == {"posts": 3, "covered": 0.9, "scope": "aggregated"}
    assert run.input_counts == {"places": 12} and run.seconds >= 0
    assert run.outputs == {"plan_csv": folder / "plan.csv"}  # only files that exist
    assert [r.id for r in runs.list_runs(planner, pata_rat, "response_network")] == [run_id]
    assert runs.list_runs(planner, pata_rat, "hotspots") == []
    with pytest.raises(runs.RunStoreError, match="already ended"):
        runs.finish_run(planner, run_id, params={}, input_counts={})


def test_the_role_is_the_connections_whatever_the_params_say(loaded_engine, as_role, pata_rat):
    """Attack: the old store took ``role=`` beside the engine and wrote it as
    ``created_by_role``; a public session could stamp a run as police's."""
    run_id = runs.start_run(
        as_role("public"), "hotspots", pata_rat, scope="aggregated", params={"role": "police"}
    )
    with loaded_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT created_by_role FROM analysis_runs WHERE id = :id"), {"id": run_id}
        ).scalar_one()
    assert stored == "public"
    # The operator's own connection is recorded as the operator, not as any role.
    operator = runs.start_run(loaded_engine, "housing", pata_rat, scope="all", params={})
    assert runs.get_run(loaded_engine, operator).created_by_role == "system"


@pytest.mark.parametrize("role", ["public", "community", "planner", "admin"])
def test_an_aggregated_role_cannot_store_an_exact_run(as_role, pata_rat, role):
    """The database refuses (row security's WITH CHECK), not only this module."""
    for scope in ("exact", "all"):
        with pytest.raises(DBAPIError, match="row-level security"):
            runs.start_run(as_role(role), "mobile_unit", pata_rat, scope=scope, params={})


def test_scope_is_fixed_at_the_start_and_unknown_values_are_refused(as_role, pata_rat):
    police = as_role("police")
    with pytest.raises(runs.RunStoreError):
        runs.start_run(police, "hotspots", pata_rat, scope="everything", params={})
    with pytest.raises(runs.RunStoreError):
        runs.start_run(police, "hotspots", pata_rat, scope="aggregated", params={"scope": "all"})
    with pytest.raises(runs.RunStoreError):
        runs.start_run(police, "Hot spots; DROP", pata_rat, scope="all", params={})
    run_id = runs.start_run(police, "hotspots", pata_rat, scope="aggregated", params={})
    # Finishing cannot widen (or narrow) who may see the run.
    runs.finish_run(police, run_id, params={"scope": "all"}, input_counts={})
    assert runs.get_run(police, run_id).scope == "aggregated"
    assert runs.get_run(as_role("public"), run_id) is not None


def test_other_roles_neither_see_nor_finish_a_police_run(as_role, pata_rat):
    police = as_role("police")
    run_id = runs.start_run(police, "hotspots", pata_rat, scope="all", params={"n": 1})
    for role in ("public", "mediator", "community", "planner", "admin"):
        assert runs.get_run(as_role(role), run_id) is None, role
        with pytest.raises(runs.RunStoreError):
            runs.finish_run(as_role(role), run_id, params={"n": 0}, input_counts={"used": 0})
    runs.finish_run(police, run_id, params={"n": 1}, input_counts={"used": 7})
    assert runs.list_runs(as_role("mediator"), pata_rat, "hotspots") == []
    assert [r.id for r in runs.list_runs(police, pata_rat, "hotspots")] == [run_id]


def test_a_failed_run_is_finished_with_the_error_type_only(as_role, pata_rat):
    police = as_role("police")
    run_id = runs.start_run(police, "hotspots", pata_rat, scope="all", params={})
    runs.fail_run(police, run_id, ValueError("incident 17 at 46.78, 23.62"), params={})
    run = runs.get_run(police, run_id)
    assert run.failed == "ValueError" and run.finished_at is not None
    assert "46.78" not in json.dumps(run.params)


def test_a_forged_output_name_never_leaves_the_runs_folder(loaded_engine, as_role, pata_rat):
    police = as_role("police")
    run_id = runs.start_run(police, "hotspots", pata_rat, scope="all", params={})
    runs.finish_run(police, run_id, params={}, input_counts={})
    outside = runs.run_dir(run_id).parent / f"secret-{run_id}.txt"
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text("not an export", encoding="utf-8")
    with loaded_engine.begin() as conn:
        conn.execute(
            text("UPDATE analysis_runs SET outputs = CAST(:o AS jsonb) WHERE id = :id"),
            {"o": json.dumps({"x": f"../secret-{run_id}.txt"}), "id": run_id},
        )
    try:
        assert runs.get_run(police, run_id).outputs == {}
    finally:
        outside.unlink()


def test_may_see_is_the_databases_rule():
    assert runs.may_see("police", "all") and runs.may_see("system", "all")
    assert runs.may_see("mediator", "exact") and not runs.may_see("mediator", "all")
    assert not runs.may_see("public", "exact") and runs.may_see("public", "aggregated")
    assert not runs.may_see("police", "unknown")
    with pytest.raises(ValueError):
        runs.may_see("root", "aggregated")
