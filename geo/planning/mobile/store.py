"""Mobile Unit plans in the run store, their homes behind row security.

Every plan is one run of :mod:`geo.runs` (kind ``mobile_plan``, scope ``aggregated``: it reads no
incident), whose row holds only **parameters and counts** -- no place, no stop id, no depot --
because ``analysis_runs`` shows aggregated runs to every role.  The stops, the vehicles and the
plan itself go to ``mobile_plans`` (migration 0010), which only planners and mediators of the
community (and the operator) can read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from geo import runs
from geo.planning.mobile.inputs import Stop, Vehicle
from geo.planning.mobile.plan import Plan, plan_json

if TYPE_CHECKING:
    from geo.communities.model import Community

KIND = "mobile_plan"
#: Parameters safe for the run row (everyone may read it): nothing that places a person.
RUN_PARAMS = (
    "date",
    "mode",
    "time_limit_s",
    "balance",
    "metaheuristic",
    "first_solution",
    "stops",
    "vehicles",
    "drive_s",
    "objective",
    "timezone",
)

_INSERT = text(
    "INSERT INTO mobile_plans (run_id, community_id, plan_date, stops, vehicles, plan)"
    " VALUES (:run, :community, :day, CAST(:stops AS jsonb), CAST(:vehicles AS jsonb),"
    " CAST(:plan AS jsonb))"
)


@dataclass(frozen=True)
class StoredPlan:
    """A plan read back from the store.

    Attributes
    ----------
    run_id : int
    day : datetime.date
    plan : dict
        ``plan.json`` as stored.
    stops : list of Stop
    vehicles : list of Vehicle
    created_at : datetime
    """

    run_id: int
    day: dt.date
    plan: dict
    stops: list[Stop]
    vehicles: list[Vehicle]
    created_at: dt.datetime


def store_plan(
    engine: Engine,
    community: Community,
    plan: Plan,
    stops: list[Stop],
    vehicles: list[Vehicle],
    *,
    lang: str = "en",
) -> int:
    """Store a plan: a run with safe parameters; the plan and its stops behind row security.

    Parameters
    ----------
    engine : Engine
        Acting as the planner's or mediator's role (the database refuses others).
    community : Community
    plan : Plan
    stops, vehicles : lists
        The inputs, stored with the plan so it can be shown and compared later.
    lang : str
        Language of the stored reasons.

    Returns
    -------
    int
        The run id.
    """
    safe = {k: plan.params[k] for k in RUN_PARAMS if k in plan.params}
    run_id = runs.start_run(engine, KIND, community, scope="aggregated", params=safe)
    served = sum(1 for rows in plan.routes.values() for s in rows if s.kind != "depot")
    try:
        with engine.begin() as conn:
            conn.execute(
                _INSERT,
                {
                    "run": run_id,
                    "community": int(community.id),
                    "day": plan.day,
                    "stops": json.dumps([_row(s) for s in stops]),
                    "vehicles": json.dumps([_row(v) for v in vehicles]),
                    "plan": json.dumps(plan_json(plan, lang)),
                },
            )
    except Exception as error:
        runs.fail_run(engine, run_id, error, params=safe)
        raise
    runs.finish_run(
        engine,
        run_id,
        params=safe,
        input_counts={
            "stops": len(stops),
            "vehicles": len(vehicles),
            "served": served,
            "dropped": len(plan.dropped),
        },
    )
    return run_id


def load_plan(engine: Engine, run_id: int) -> StoredPlan | None:
    """A stored plan, if the connection may read it.

    Parameters
    ----------
    engine : Engine
    run_id : int

    Returns
    -------
    StoredPlan or None
        None when there is none or row security hides it.
    """
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT run_id, plan_date, plan, stops, vehicles, created_at"
                    " FROM mobile_plans WHERE run_id = :id"
                ),
                {"id": int(run_id)},
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    return StoredPlan(
        int(row["run_id"]),
        row["plan_date"],
        dict(row["plan"]),
        [_stop(s) for s in row["stops"]],
        [Vehicle(**v) for v in row["vehicles"]],
        row["created_at"],
    )


def list_plans(engine: Engine, community: Community, limit: int = 20) -> list[tuple[int, dt.date]]:
    """Stored plans of a community the connection may read, newest first.

    Parameters
    ----------
    engine : Engine
    community : Community
    limit : int

    Returns
    -------
    list of (run_id, date)
    """
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT run_id, plan_date FROM mobile_plans WHERE community_id = :c"
                " ORDER BY created_at DESC, run_id DESC LIMIT :n"
            ),
            {"c": int(community.id), "n": int(limit)},
        ).all()
    return [(int(r[0]), r[1]) for r in rows]


def _row(item: Stop | Vehicle) -> dict:
    data = dataclasses.asdict(item)
    if "days" in data:
        data["days"] = sorted(data["days"])
    return data


def _stop(data: dict) -> Stop:
    return Stop(**{**data, "days": frozenset(data.get("days", range(7)))})
