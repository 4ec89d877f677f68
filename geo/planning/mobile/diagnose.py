"""Why a stop was dropped, in words a coordinator understands (never silently).

Each dropped stop gets the first reason that holds, checked against every vehicle alone, as if
the stop were its only job that day (so the reason does not depend on the search):

``unreachable``
    No street path leads between the depot(s) and the stop (or from a pick-up to its school).
``too_many_passengers``
    More passengers than any vehicle has seats.
``window_impossible``
    Even driving straight from the depot at the start of the shift, the van arrives after the
    window closes (or, for a pick-up, the drop-off window cannot be met after it).
``shift_too_short``
    It can be reached in its window, but the van cannot get back to the depot before the shift
    ends.

A stop that every vehicle could serve alone was dropped because of the other stops.  The day is
then solved once more with unlimited seats (:func:`explain`): stops served in that relaxed plan
lacked a seat (``no_seat_left``); the others lacked time in the shifts (``no_time_left``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from geo.i18n import t
from geo.planning.mobile.inputs import clock
from geo.planning.mobile.model import RoutingProblem
from geo.planning.mobile.solver import Solution, solve

REASONS = (
    "unreachable",
    "too_many_passengers",
    "window_impossible",
    "shift_too_short",
    "no_seat_left",
    "no_time_left",
)
#: Seats given to every vehicle in the relaxed solve.
UNLIMITED_SEATS = 10_000


@dataclass(frozen=True)
class Dropped:
    """A stop left out of the plan, and why.

    Attributes
    ----------
    stop_id : str
    reason_code : str
        One of :data:`REASONS`.
    params : dict
        Values for the reason's message (times as ``HH:MM``).
    """

    stop_id: str
    reason_code: str
    params: dict = field(default_factory=dict)

    def reason(self, lang: str = "en") -> str:
        """The reason in ``lang``.

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return t(f"mobile.reason.{self.reason_code}", lang, stop=self.stop_id, **self.params)


def alone(problem: RoutingProblem, node: int) -> tuple[str, dict] | None:
    """The reason no vehicle can serve ``node`` (a pick-up or a visit) even alone, or None.

    Parameters
    ----------
    problem : RoutingProblem
    node : int

    Returns
    -------
    (reason_code, params) or None
    """
    spec = problem.nodes[node]
    nodes = [node] if spec.partner is None else [node, spec.partner]
    if _unreachable(problem, nodes):
        return "unreachable", {}
    seats = max(v.seats for v in problem.vehicles)
    if spec.demand > seats:
        return "too_many_passengers", {"passengers": spec.demand, "seats": seats}
    outcomes = [_straight(problem, v, nodes) for v in range(len(problem.vehicles))]
    if any(o is None for o in outcomes):
        return None
    if all(o[0] == "window_impossible" for o in outcomes):
        return outcomes[0]
    return next(o for o in outcomes if o[0] == "shift_too_short")


def explain(
    problem: RoutingProblem, solution: Solution, *, time_limit_s: float = 1.0
) -> list[Dropped]:
    """A reason for every stop the solution dropped.

    Parameters
    ----------
    problem : RoutingProblem
    solution : Solution
    time_limit_s : float
        Search time of the relaxed (unlimited seats) solve, run only when needed.

    Returns
    -------
    list of Dropped
        One per dropped pick-up or visit, in node order.
    """
    dropped = [n for n in solution.dropped if problem.nodes[n].kind in ("pickup", "visit")]
    out: dict[int, Dropped] = {}
    crowded = []
    for node in dropped:
        found = alone(problem, node)
        if found is None:
            crowded.append(node)
        else:
            out[node] = Dropped(problem.nodes[node].stop_id, found[0], found[1])
    if crowded:
        relaxed = solve(problem, time_limit_s=time_limit_s, seats_override=UNLIMITED_SEATS)
        left = set(relaxed.dropped) if relaxed is not None else set(crowded)
        for node in crowded:
            seats = problem.nodes[node].demand > 0 and node not in left
            code = "no_seat_left" if seats else "no_time_left"
            out[node] = Dropped(problem.nodes[node].stop_id, code, {})
    return [out[n] for n in dropped]


def _unreachable(problem: RoutingProblem, nodes: list[int]) -> bool:
    """No street path between the stop and every depot, or from the pick-up to its drop-off."""
    if len(nodes) == 2 and not math.isfinite(problem.travel(nodes[0], nodes[1])):
        return True
    return all(
        not math.isfinite(problem.travel(start, nodes[0]))
        or not math.isfinite(problem.travel(nodes[-1], end))
        for start, end in zip(problem.starts, problem.ends, strict=True)
    )


def _straight(problem: RoutingProblem, v: int, nodes: list[int]) -> tuple[str, dict] | None:
    """Vehicle ``v`` driving depot -> nodes -> depot from its shift start: what fails, or None."""
    vehicle = problem.vehicles[v]
    at, here = vehicle.shift_start, problem.starts[v]
    for node in nodes:
        spec = problem.nodes[node]
        arrive = at + problem.travel(here, node)
        if arrive > spec.window[1]:
            return "window_impossible", {
                "arrive": clock(arrive),
                "end": clock(spec.window[1]),
                "vehicle": vehicle.vehicle_id,
            }
        at, here = max(arrive, spec.window[0]) + spec.service_s, node
    back = at + problem.travel(here, problem.ends[v])
    if back > vehicle.shift_end:
        return "shift_too_short", {
            "back": clock(back),
            "end": clock(vehicle.shift_end),
            "vehicle": vehicle.vehicle_id,
        }
    return None
