"""The routing problem of one day: nodes, vehicles and the driving time between every place.

Every place (stop or depot) is a **location**; travel times between locations come from the
drive network (:func:`geo.network.travel_times` on ``network_for(community, "drive")``), door to
door, so a stop across the railway costs the streets' detour, never the straight line.

The solver works on **nodes**: one per vehicle start and end (its depot), one per ``service``
stop, and one pair per carrying stop (``pickup``/``accompaniment``): the pick-up at home and a
drop-off node at its ``deliver_to`` place.  A school that receives five pick-ups has five drop-off
nodes at the same location (0 s apart); the stop's ``service_min`` is spent once per visit, not
per group (:func:`geo.planning.mobile.solver.transit`, ``docs/mobile_unit.md``).  A destination
that nobody is delivered to on the day (a school without children that day) is not visited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from geo.planning.mobile.inputs import DESTINATIONS, Stop, Vehicle

if TYPE_CHECKING:
    from geo.communities.model import Community
    from geo.network.matrix import Network

#: Seconds standing for "unreachable" in the solver's integer matrix (an inf cannot be used).
UNREACHABLE_S = 10 * 24 * 3600


@dataclass(frozen=True)
class Node:
    """One node of the routing model.

    Attributes
    ----------
    kind : {"start", "end", "visit", "pickup", "drop"}
    stop_id : str
        The stop (the vehicle id for starts and ends).
    location : int
        Row of the time matrix.
    window : tuple of int
        Earliest and latest start of service, seconds after midnight.
    service_s : int
    demand : int
        Seats taken (+) or freed (-) here.
    partner : int or None
        The other node of a pick-up/drop-off pair.
    """

    kind: str
    stop_id: str
    location: int
    window: tuple[int, int]
    service_s: int = 0
    demand: int = 0
    partner: int | None = None


@dataclass
class RoutingProblem:
    """What :func:`geo.planning.mobile.solver.solve` solves.

    Attributes
    ----------
    day : datetime.date
    nodes : list of Node
    vehicles : list of Vehicle
    starts, ends : list of int
        Node of each vehicle's start and end.
    locations : list of tuple
        (lon, lat) of each matrix row.
    seconds : numpy.ndarray
        Driving seconds between locations (float, ``inf`` unreachable).
    stops : dict of str to Stop
        The day's stops by id.
    """

    day: dt.date
    nodes: list[Node]
    vehicles: list[Vehicle]
    starts: list[int]
    ends: list[int]
    locations: list[tuple[float, float]]
    seconds: np.ndarray
    stops: dict[str, Stop] = field(default_factory=dict)

    def travel(self, a: int, b: int) -> float:
        """Driving seconds from node ``a`` to node ``b`` (``inf`` unreachable).

        Parameters
        ----------
        a, b : int

        Returns
        -------
        float
        """
        return float(self.seconds[self.nodes[a].location, self.nodes[b].location])

    def int_matrix(self) -> np.ndarray:
        """The matrix in whole seconds for the solver (unreachable = :data:`UNREACHABLE_S`).

        Returns
        -------
        numpy.ndarray of int64
        """
        finite = np.where(np.isfinite(self.seconds), np.round(self.seconds), UNREACHABLE_S)
        return finite.astype(np.int64)

    def served_ids(self) -> list[str]:
        """Stop ids a plan may serve or drop (pick-ups and visits; drop-offs follow their pair).

        Returns
        -------
        list of str
        """
        return [n.stop_id for n in self.nodes if n.kind in ("visit", "pickup")]


def stops_of_day(stops: list[Stop], day: dt.date) -> list[Stop]:
    """The stops that recur on ``day``'s weekday.

    Parameters
    ----------
    stops : list of Stop
    day : datetime.date

    Returns
    -------
    list of Stop
    """
    return [s for s in stops if day.weekday() in s.days]


def build_problem(
    stops: list[Stop],
    vehicles: list[Vehicle],
    day: dt.date,
    network: Network,
    community: Community,
) -> RoutingProblem:
    """The day's routing problem with its network travel-time matrix.

    Parameters
    ----------
    stops : list of Stop
        All stops (those not recurring on ``day`` are left out).
    vehicles : list of Vehicle
    day : datetime.date
    network : Network
        The community's drive network (``network_for(community, "drive")``).
    community : Community

    Returns
    -------
    RoutingProblem
    """
    from geo.network.times import travel_times

    problem = assemble(stops, vehicles, day)
    problem.seconds = location_times(network, community, problem.locations, travel_times)
    return problem


def assemble(stops: list[Stop], vehicles: list[Vehicle], day: dt.date) -> RoutingProblem:
    """Nodes and locations of the day, without the matrix (``seconds`` left empty).

    Parameters
    ----------
    stops : list of Stop
    vehicles : list of Vehicle
    day : datetime.date

    Returns
    -------
    RoutingProblem
    """
    todays = stops_of_day(stops, day)
    by_id = {s.stop_id: s for s in todays}
    locations: list[tuple[float, float]] = []
    index: dict[tuple[float, float], int] = {}

    def loc(lon: float, lat: float) -> int:
        key = (round(lon, 7), round(lat, 7))
        if key not in index:
            index[key] = len(locations)
            locations.append(key)
        return index[key]

    nodes: list[Node] = []
    starts, ends = [], []
    for v in vehicles:
        depot = loc(v.depot_lon, v.depot_lat)
        starts.append(len(nodes))
        nodes.append(Node("start", v.vehicle_id, depot, (v.shift_start, v.shift_end)))
        ends.append(len(nodes))
        nodes.append(Node("end", v.vehicle_id, depot, (v.shift_start, v.shift_end)))
    for stop in todays:
        here = loc(stop.lon, stop.lat)
        window = (stop.window_start, stop.window_end)
        if stop.kind in DESTINATIONS:
            if not any(s.deliver_to == stop.stop_id for s in todays):
                nodes.append(Node("visit", stop.stop_id, here, window, stop.service_s))
            continue
        target = by_id[stop.deliver_to]
        pick = len(nodes)
        nodes.append(
            Node("pickup", stop.stop_id, here, window, stop.service_s, stop.passengers, pick + 1)
        )
        there = loc(target.lon, target.lat)
        nodes.append(
            Node(
                "drop",
                target.stop_id,
                there,
                (target.window_start, target.window_end),
                target.service_s,
                -stop.passengers,
                pick,
            )
        )
    return RoutingProblem(
        day, nodes, list(vehicles), starts, ends, locations, np.empty((0, 0)), by_id
    )


def location_times(network, community, locations, travel_times) -> np.ndarray:  # noqa: ANN001
    """Door-to-door driving seconds between locations; 0 from a place to itself.

    Parameters
    ----------
    network : Network
    community : Community
    locations : list of (lon, lat)
    travel_times : callable
        :func:`geo.network.times.travel_times`.

    Returns
    -------
    numpy.ndarray
    """
    if not locations:
        return np.zeros((0, 0))
    points = np.asarray(locations, dtype=float)
    seconds = np.array(travel_times(network, community, points, points), dtype=float)
    # The engine walks to the street and back even from a place to itself: staying is free.
    np.fill_diagonal(seconds, 0.0)
    return seconds
