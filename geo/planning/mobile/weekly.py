"""A week of Mobile Unit plans: stops recur on some days (``days`` column), each day solved alone.

The travel-time matrix is computed once for all places of the week and shared by the days
(the streets do not change between Monday and Friday).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from geo.planning.mobile.diagnose import explain
from geo.planning.mobile.inputs import Stop, Vehicle
from geo.planning.mobile.model import assemble, location_times
from geo.planning.mobile.plan import Plan, to_plan
from geo.planning.mobile.solver import DEFAULT_TIME_LIMIT_S, solve

if TYPE_CHECKING:
    from geo.communities.model import Community
    from geo.network.matrix import Network

WORKING_DAYS = (0, 1, 2, 3, 4)


def weekly_plan(
    stops: list[Stop],
    vehicles: list[Vehicle],
    week_start: dt.date,
    network: Network,
    community: Community,
    *,
    days: tuple[int, ...] = WORKING_DAYS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    balance: int = 1,
) -> dict[dt.date, Plan]:
    """One plan per day of the week that has stops.

    Parameters
    ----------
    stops, vehicles : lists
    week_start : datetime.date
        Any day of the week; the week runs from its Monday.
    network : Network
    community : Community
    days : tuple of int
        Weekdays to plan (Monday = 0).
    time_limit_s : float
        Per day.
    balance : int

    Returns
    -------
    dict of date to Plan
        Days without any stop are left out.
    """
    from geo.network.times import travel_times

    monday = week_start - dt.timedelta(days=week_start.weekday())
    everything = assemble(stops, vehicles, monday)
    places = {s.stop_id: (round(s.lon, 7), round(s.lat, 7)) for s in stops}
    depots = [(round(v.depot_lon, 7), round(v.depot_lat, 7)) for v in vehicles]
    locations = list(dict.fromkeys([*depots, *places.values(), *everything.locations]))
    seconds = location_times(network, community, locations, travel_times)
    row = {loc: i for i, loc in enumerate(locations)}
    plans: dict[dt.date, Plan] = {}
    for weekday in days:
        day = monday + dt.timedelta(days=weekday)
        problem = assemble(stops, vehicles, day)
        if not problem.stops:
            continue
        keep = [row[loc] for loc in problem.locations]
        problem.seconds = seconds[keep][:, keep]
        solution = solve(problem, time_limit_s=time_limit_s, balance=balance)
        params = {
            "date": day.isoformat(),
            "community": community.slug,
            "timezone": community.timezone,
            "stops": len(problem.stops),
            "vehicles": len(vehicles),
            **(solution.params if solution else {}),
        }
        if solution is None:
            continue
        params["drive_s"] = solution.drive_s
        plan = to_plan(problem, solution, community.timezone, params)
        plan.dropped = explain(problem, solution, time_limit_s=min(1.0, time_limit_s))
        plans[day] = plan
    return plans
