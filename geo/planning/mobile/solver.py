"""OR-Tools routing for the Mobile Unit: time windows, seats, shifts, pick-up and delivery.

The model (:class:`~geo.planning.mobile.model.RoutingProblem`) becomes an OR-Tools routing model:

* arc cost = driving seconds (the network matrix);
* a **time** dimension whose transit is the service at the node left plus the drive; waiting is
  allowed (slack); each node's cumul (start of service) lies in its window, each vehicle's start
  and end in its shift;
* a **seats** dimension: +passengers at a pick-up, -passengers at its drop-off, capacity = seats;
* each pick-up and its drop-off on the same vehicle, pick-up first
  (``AddPickupAndDelivery`` + time precedence);
* a **disjunction** per node with a penalty far above any route's cost, so a stop that cannot be
  served is dropped instead of making the day infeasible -- and then explained
  (:mod:`geo.planning.mobile.diagnose`), never silently;
* workload balance: a global span cost on time (the longest day minus the earliest start);
* search: parallel cheapest insertion, then guided local search, always under a time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from geo.planning.mobile.model import UNREACHABLE_S, RoutingProblem

#: Penalty of dropping a node: far above any day's driving seconds, so serving always wins.
DROP_PENALTY = 10_000_000
#: Default weight of the global span (workload balance) against driving seconds.
BALANCE_COEFFICIENT = 1
#: Default search time (seconds); the CLI's ``--time-limit``.
DEFAULT_TIME_LIMIT_S = 5.0
HORIZON_S = 24 * 3600


@dataclass(frozen=True)
class Visit:
    """A node of a vehicle's route in the solution.

    Attributes
    ----------
    node : int
    arrival : int
        When the vehicle gets there (seconds after midnight).
    start : int
        Start of service (after waiting for the window).
    departure : int
    load : int
        Passengers aboard when it leaves.
    """

    node: int
    arrival: int
    start: int
    departure: int
    load: int


@dataclass
class Solution:
    """What the solver found.

    Attributes
    ----------
    routes : list of list of Visit
        One per vehicle (start and end nodes included), in the problem's vehicle order.
    dropped : list of int
        Nodes left out (both nodes of a dropped pair).
    objective : int
        OR-Tools' cost (driving seconds + balance + penalties).
    drive_s : int
        Driving seconds of all routes.
    history : list of (float, int)
        (seconds since the search began, objective) of every improving solution.
    params : dict
    """

    routes: list[list[Visit]]
    dropped: list[int]
    objective: int
    drive_s: int
    history: list[tuple[float, int]] = field(default_factory=list)
    params: dict = field(default_factory=dict)


def solve(
    problem: RoutingProblem,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    balance: int = BALANCE_COEFFICIENT,
    seats_override: int | None = None,
    metaheuristic: str = "GUIDED_LOCAL_SEARCH",
) -> Solution | None:
    """Routes for the day's problem, under a time limit.

    Parameters
    ----------
    problem : RoutingProblem
    time_limit_s : float
        Search time; guided local search uses all of it.
    balance : int
        Global span cost coefficient (0: no balancing).
    seats_override : int, optional
        Give every vehicle this many seats (used by the diagnosis to tell seats from time).
    metaheuristic : str
        An OR-Tools ``LocalSearchMetaheuristic`` name.

    Returns
    -------
    Solution or None
        None only when OR-Tools finds no solution at all (every node droppable makes that rare).
    """
    if not problem.vehicles:
        return None
    built = _Model(problem, balance, seats_override)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    history: list[tuple[float, int]] = []
    began = time.perf_counter()
    routing = built.routing
    routing.AddAtSolutionCallback(
        lambda: history.append((time.perf_counter() - began, routing.CostVar().Value()))
    )
    found = routing.SolveWithParameters(params)
    if found is None:
        return None
    solution = built.read(found)
    solution.history = history
    solution.params = {
        "time_limit_s": time_limit_s,
        "balance": balance,
        "metaheuristic": metaheuristic,
        "first_solution": "PARALLEL_CHEAPEST_INSERTION",
    }
    return solution


class _Model:
    """The OR-Tools model of one problem (kept together so callbacks stay alive)."""

    def __init__(self, problem: RoutingProblem, balance: int, seats: int | None) -> None:
        self.problem = problem
        nodes = problem.nodes
        self.manager = pywrapcp.RoutingIndexManager(
            len(nodes), len(problem.vehicles), problem.starts, problem.ends
        )
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        matrix = problem.int_matrix()
        locs = [n.location for n in nodes]
        drive = [[int(matrix[a, b]) for b in locs] for a in locs]
        self.drive = drive
        timed = [
            [transit(problem, a, b, drive) for b in range(len(nodes))] for a in range(len(nodes))
        ]
        arc = routing.RegisterTransitMatrix(drive)
        routing.SetArcCostEvaluatorOfAllVehicles(arc)
        time_cb = routing.RegisterTransitMatrix(timed)
        routing.AddDimension(time_cb, HORIZON_S, HORIZON_S + UNREACHABLE_S, False, "time")
        self.time = routing.GetDimensionOrDie("time")
        self.time.SetGlobalSpanCostCoefficient(int(balance))
        demand = routing.RegisterUnaryTransitVector([n.demand for n in nodes])
        capacity = [int(seats if seats is not None else v.seats) for v in problem.vehicles]
        routing.AddDimensionWithVehicleCapacity(demand, 0, capacity, True, "seats")
        self.seats = routing.GetDimensionOrDie("seats")
        self._windows()
        self._pairs()

    def _windows(self) -> None:
        problem, routing, manager = self.problem, self.routing, self.manager
        for node, spec in enumerate(problem.nodes):
            if spec.kind in ("start", "end"):
                continue
            index = manager.NodeToIndex(node)
            self.time.CumulVar(index).SetRange(*spec.window)
            penalty = DROP_PENALTY * max(1, abs(spec.demand))
            routing.AddDisjunction([index], penalty)
        for v, vehicle in enumerate(problem.vehicles):
            for index in (routing.Start(v), routing.End(v)):
                self.time.CumulVar(index).SetRange(vehicle.shift_start, vehicle.shift_end)

    def _pairs(self) -> None:
        routing, manager = self.routing, self.manager
        solver = routing.solver()
        for node, spec in enumerate(self.problem.nodes):
            if spec.kind != "pickup":
                continue
            pick, drop = manager.NodeToIndex(node), manager.NodeToIndex(spec.partner)
            routing.AddPickupAndDelivery(pick, drop)
            solver.Add(routing.VehicleVar(pick) == routing.VehicleVar(drop))
            solver.Add(self.time.CumulVar(pick) <= self.time.CumulVar(drop))

    def read(self, found: pywrapcp.Assignment) -> Solution:
        """The solution as routes of visits (drop-offs regrouped, then timed forward)."""
        routing, manager, nodes = self.routing, self.manager, self.problem.nodes
        routes, served, drive_total = [], set(), 0
        for v in range(len(self.problem.vehicles)):
            order, index = [], routing.Start(v)
            while True:
                order.append(manager.IndexToNode(index))
                if routing.IsEnd(index):
                    break
                index = found.Value(routing.NextVar(index))
            served.update(order)
            visits = schedule(self.problem, regroup(self.problem, order), self.drive)
            if visits is None:  # never expected: regrouping only removes waiting and driving
                visits = schedule(self.problem, order, self.drive)
            drive_total += sum(
                self.drive[a.node][b.node] for a, b in zip(visits, visits[1:], strict=False)
            )
            routes.append(_latest_start(visits, self.drive))
        dropped = [n for n in range(len(nodes)) if n not in served]
        return Solution(routes, dropped, int(found.ObjectiveValue()), int(drive_total))


def transit(problem: RoutingProblem, a: int, b: int, drive: list[list[int]]) -> int:
    """Seconds from the start of service at node ``a`` to the earliest start at ``b``.

    The service at a place is spent once per visit: it is charged when the van leaves for
    another place, not between two nodes at the same place (five groups handed over at one
    school in one stop).

    Parameters
    ----------
    problem : RoutingProblem
    a, b : int
    drive : list of list of int
        Node-to-node driving seconds.

    Returns
    -------
    int
    """
    first, second = problem.nodes[a], problem.nodes[b]
    if first.location == second.location:
        return 0
    return drive[a][b] + first.service_s


def regroup(problem: RoutingProblem, order: list[int]) -> list[int]:
    """Set every passenger down at the first stop at their destination after their pick-up.

    The routing model allows a van to stop at a school and keep some of that school's children
    aboard for a later stop there; nobody would drive that way.  Moving those drop-offs to the
    first stop at the school costs no time (the service is charged once per visit) and frees
    seats earlier.

    Parameters
    ----------
    problem : RoutingProblem
    order : list of int
        Nodes of one route, start to end.

    Returns
    -------
    list of int
    """
    nodes = problem.nodes
    out: list[int] = []
    moved: set[int] = set()
    picked: set[int] = set()
    for node in order:
        if node in moved:
            continue
        out.append(node)
        spec = nodes[node]
        if spec.kind == "pickup":
            picked.add(node)
        if spec.kind != "drop":
            continue
        for other in order:
            o = nodes[other]
            if (
                other != node
                and other not in moved
                and other not in out
                and o.kind == "drop"
                and o.stop_id == spec.stop_id
                and o.partner in picked
            ):
                out.append(other)
                moved.add(other)
    return out


def schedule(
    problem: RoutingProblem, order: list[int], drive: list[list[int]]
) -> list[Visit] | None:
    """The earliest timing of a route (the schedule OR-Tools' cumuls allow), or None if a
    window is missed.

    Parameters
    ----------
    problem : RoutingProblem
    order : list of int
    drive : list of list of int

    Returns
    -------
    list of Visit or None
    """
    nodes = problem.nodes
    starts = [nodes[order[0]].window[0]]
    for a, b in zip(order, order[1:], strict=False):
        starts.append(max(nodes[b].window[0], starts[-1] + transit(problem, a, b, drive)))
        if starts[-1] > nodes[b].window[1]:
            return None
    visits, load = [], 0
    for k, node in enumerate(order):
        spec = nodes[node]
        load += spec.demand
        same_before = k > 0 and nodes[order[k - 1]].location == spec.location
        leaves = k + 1 < len(order) and nodes[order[k + 1]].location != spec.location
        if k == 0:
            arrival = starts[0]
        elif same_before:
            arrival = starts[k - 1]
        else:
            previous = visits[-1]
            arrival = previous.departure + drive[previous.node][node]
        departure = starts[k] + (spec.service_s if leaves else 0)
        visits.append(Visit(node, arrival, starts[k], departure, load))
    return visits


def _latest_start(visits: list[Visit], drive: list[list[int]]) -> list[Visit]:
    """Leave the depot just in time for the first stop (the earliest schedule would wait there).

    Parameters
    ----------
    visits : list of Visit
    drive : list of list of int

    Returns
    -------
    list of Visit
    """
    if len(visits) < 3:
        return visits
    first = visits[1]
    leave = max(visits[0].start, first.start - drive[visits[0].node][first.node])
    start = Visit(visits[0].node, leave, leave, leave, visits[0].load)
    second = Visit(
        first.node, leave + drive[start.node][first.node], first.start, first.departure, first.load
    )
    return [start, second, *visits[2:]]
