"""A day's plan: routes with times and loads, dropped stops with reasons, and its exports.

:func:`make_plan` runs the whole day (matrix, solve, diagnosis); :func:`plan_json` is the machine
form of issue 13::

    {"vehicles": [{"vehicle_id", "stops": [{"stop_id", "arrival", "departure", "load"}]}],
     "dropped": [{"stop_id", "reason_code", "reason"}], "params": {...}}

with ISO times carrying the community's UTC offset on that date.  Each vehicle's stops begin and
end with its depot (``stop_id`` ``"depot"``); consecutive drop-offs at one school are one stop.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import pandas as pd

from geo.planning.mobile.diagnose import Dropped, explain
from geo.planning.mobile.inputs import Stop, Vehicle, clock
from geo.planning.mobile.model import RoutingProblem, build_problem
from geo.planning.mobile.solver import DEFAULT_TIME_LIMIT_S, Solution, solve

if TYPE_CHECKING:
    from geo.communities.model import Community
    from geo.network.matrix import Network

DEPOT = "depot"


@dataclass(frozen=True)
class PlanStop:
    """One row of a vehicle's itinerary.

    Attributes
    ----------
    stop_id, kind : str
        ``kind`` is the stop's kind, or ``depot``.
    lon, lat : float
    arrival, departure : int
        Seconds after midnight (local).
    wait_s : int
        Waiting for the window to open.
    load : int
        Passengers aboard when leaving.
    """

    stop_id: str
    kind: str
    lon: float
    lat: float
    arrival: int
    departure: int
    wait_s: int
    load: int


@dataclass
class Plan:
    """A day's plan.

    Attributes
    ----------
    day : datetime.date
    timezone : str
    routes : dict of str to list of PlanStop
        Vehicle id -> itinerary (depot first and last); empty for an unused vehicle.
    dropped : list of Dropped
    params : dict
    drive_s : int
    """

    day: dt.date
    timezone: str
    routes: dict[str, list[PlanStop]]
    dropped: list[Dropped]
    params: dict = field(default_factory=dict)
    drive_s: int = 0

    def iso(self, seconds: int) -> str:
        """ISO 8601 time of ``seconds`` after the day's local midnight, with its offset.

        Parameters
        ----------
        seconds : int

        Returns
        -------
        str
        """
        from zoneinfo import ZoneInfo

        midnight = dt.datetime.combine(self.day, dt.time(0), tzinfo=ZoneInfo(self.timezone))
        # Wall-clock arithmetic: 07:30 is 07:30 local even on a DST change day.
        local = (midnight.replace(tzinfo=None) + dt.timedelta(seconds=int(seconds))).replace(
            tzinfo=ZoneInfo(self.timezone)
        )
        return local.isoformat()


def make_plan(
    stops: list[Stop],
    vehicles: list[Vehicle],
    day: dt.date,
    network: Network,
    community: Community,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    balance: int = 1,
) -> tuple[Plan, RoutingProblem]:
    """Plan one day: matrix from the drive network, OR-Tools, reasons for dropped stops.

    Parameters
    ----------
    stops, vehicles : lists
        As read by :mod:`geo.planning.mobile.inputs`.
    day : datetime.date
    network : Network
        ``network_for(community, "drive")``.
    community : Community
    time_limit_s : float
    balance : int
        Global span cost coefficient.

    Returns
    -------
    plan : Plan
    problem : RoutingProblem
        The model solved (its matrix is what an independent check compares against).
    """
    problem = build_problem(stops, vehicles, day, network, community)
    solution = solve(problem, time_limit_s=time_limit_s, balance=balance)
    params = {
        "date": day.isoformat(),
        "community": community.slug,
        "timezone": community.timezone,
        "mode": "drive",
        "stops": len(problem.stops),
        "vehicles": len(vehicles),
        **(solution.params if solution else {"time_limit_s": time_limit_s, "balance": balance}),
    }
    if solution is None:  # no vehicle: every stop is dropped for want of a vehicle's shift
        dropped = [Dropped(sid, "no_time_left") for sid in problem.served_ids()]
        return Plan(day, community.timezone, {}, dropped, params), problem
    dropped = explain(problem, solution, time_limit_s=min(1.0, time_limit_s))
    params["drive_s"] = solution.drive_s
    params["objective"] = solution.objective
    params["depots"] = {v.vehicle_id: [v.depot_lon, v.depot_lat] for v in vehicles}
    plan = to_plan(problem, solution, community.timezone, params)
    plan.dropped = dropped
    return plan, problem


def to_plan(problem: RoutingProblem, solution: Solution, timezone: str, params: dict) -> Plan:
    """Itineraries from a solution (drop-offs at one place in a row merged).

    Parameters
    ----------
    problem : RoutingProblem
    solution : Solution
    timezone : str
    params : dict

    Returns
    -------
    Plan
    """
    routes: dict[str, list[PlanStop]] = {}
    for vehicle, visits in zip(problem.vehicles, solution.routes, strict=True):
        rows: list[PlanStop] = []
        if len(visits) > 2:
            for visit in visits:
                node = problem.nodes[visit.node]
                lon, lat = problem.locations[node.location]
                kind = DEPOT if node.kind in ("start", "end") else problem.stops[node.stop_id].kind
                stop_id = DEPOT if kind == DEPOT else node.stop_id
                row = PlanStop(
                    stop_id,
                    kind,
                    lon,
                    lat,
                    visit.arrival,
                    visit.departure,
                    visit.start - visit.arrival,
                    visit.load,
                )
                if rows and rows[-1].stop_id == stop_id and node.kind == "drop":
                    last = rows.pop()
                    row = PlanStop(
                        stop_id,
                        kind,
                        lon,
                        lat,
                        last.arrival,
                        visit.departure,
                        last.wait_s + row.wait_s,
                        visit.load,
                    )
                rows.append(row)
        routes[vehicle.vehicle_id] = rows
    return Plan(problem.day, timezone, routes, [], params, solution.drive_s)


def plan_json(plan: Plan, lang: str = "en") -> dict:
    """The machine form of the plan (issue 13), reasons in ``lang``.

    Parameters
    ----------
    plan : Plan
    lang : str

    Returns
    -------
    dict
    """
    return {
        "vehicles": [
            {
                "vehicle_id": vehicle_id,
                "stops": [
                    {
                        "stop_id": s.stop_id,
                        "arrival": plan.iso(s.arrival),
                        "departure": plan.iso(s.departure),
                        "load": s.load,
                    }
                    for s in rows
                ],
            }
            for vehicle_id, rows in plan.routes.items()
        ],
        "dropped": [
            {"stop_id": d.stop_id, "reason_code": d.reason_code, "reason": d.reason(lang)}
            for d in plan.dropped
        ],
        "params": dict(plan.params),
    }


def itinerary(plan: Plan) -> pd.DataFrame:
    """One row per vehicle stop: vehicle, order, stop, kind, arrival, departure, wait, load.

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    pandas.DataFrame
        Times as ``HH:MM`` local; ``wait_min`` in minutes.
    """
    rows = [
        {
            "vehicle_id": vehicle_id,
            "order": order,
            "stop_id": s.stop_id,
            "kind": s.kind,
            "arrival": clock(s.arrival),
            "departure": clock(s.departure),
            "wait_min": round(s.wait_s / 60),
            "load": s.load,
            "lat": round(s.lat, 6),
            "lon": round(s.lon, 6),
        }
        for vehicle_id, stops in plan.routes.items()
        for order, s in enumerate(stops)
    ]
    columns = [
        "vehicle_id",
        "order",
        "stop_id",
        "kind",
        "arrival",
        "departure",
        "wait_min",
        "load",
        "lat",
        "lon",
    ]
    return pd.DataFrame(rows, columns=columns)


def itinerary_csv(plan: Plan) -> str:
    """The itinerary as CSV text (UTF-8, comma-separated).

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    str
    """
    buffer = io.StringIO()
    itinerary(plan).to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue()


def plan_gpx(plan: Plan, geometries: dict[str, list] | None = None) -> str:
    """GPX 1.1: a waypoint per stop, a route per vehicle, a track along the streets when known.

    Parameters
    ----------
    plan : Plan
    geometries : dict of str to list of LineString, optional
        Vehicle id -> the street geometry of each leg (:func:`leg_geometries`).

    Returns
    -------
    str
    """
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="Harta" xmlns="http://www.topografix.com/GPX/1/1">',
    ]
    for vehicle_id, stops in plan.routes.items():
        for s in stops[1:-1]:
            out.append(
                f'<wpt lat="{s.lat:.6f}" lon="{s.lon:.6f}"><name>{escape(s.stop_id)}'
                f"</name><desc>{escape(vehicle_id)} {clock(s.arrival)}</desc></wpt>"
            )
    for vehicle_id, stops in plan.routes.items():
        if not stops:
            continue
        out.append(f"<rte><name>{escape(vehicle_id)}</name>")
        out.extend(
            f'<rtept lat="{s.lat:.6f}" lon="{s.lon:.6f}"><name>{escape(s.stop_id)}</name></rtept>'
            for s in stops
        )
        out.append("</rte>")
        legs = (geometries or {}).get(vehicle_id) or []
        if legs:
            out.append(f"<trk><name>{escape(vehicle_id)}</name><trkseg>")
            for line in (leg for leg in legs if leg is not None):
                out.extend(f'<trkpt lat="{y:.6f}" lon="{x:.6f}"/>' for x, y in line.coords)
            out.append("</trkseg></trk>")
    out.append("</gpx>")
    return "\n".join(out)


def leg_geometries(plan: Plan, network: Network, community: Community) -> dict[str, list]:
    """The street geometry of every leg driven (EPSG:4326), from :func:`geo.network.route`.

    Parameters
    ----------
    plan : Plan
    network : Network
    community : Community

    Returns
    -------
    dict of str to list of geo.network.Route
        Vehicle id -> one route per leg between two different places, in order (None where no
        street leads).
    """
    from geo.network.routes import route

    out: dict[str, list] = {}
    for vehicle_id, stops in plan.routes.items():
        legs = []
        for a, b in zip(stops[:-1], stops[1:], strict=True):
            if (a.lon, a.lat) != (b.lon, b.lat):
                legs.append(route(network, community, (a.lon, a.lat), (b.lon, b.lat)))
        out[vehicle_id] = legs
    return out


def summary(plan: Plan) -> dict[str, float]:
    """Figures of a plan for comparison.

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    dict
        vehicles_used, stops_served, dropped, drive_min, wait_min, longest_day_min,
        spread_min (longest minus shortest used day: the workload balance), passengers.
    """
    days = [s[-1].arrival - s[0].departure for s in plan.routes.values() if s]
    served = {s.stop_id for stops in plan.routes.values() for s in stops if s.kind != DEPOT}
    return {
        "vehicles_used": len(days),
        "stops_served": len(served),
        "dropped": len(plan.dropped),
        "drive_min": round(plan.drive_s / 60, 1),
        "wait_min": round(sum(s.wait_s for st in plan.routes.values() for s in st) / 60, 1),
        "longest_day_min": round(max(days, default=0) / 60, 1),
        "spread_min": round((max(days, default=0) - min(days, default=0)) / 60, 1),
    }


def compare_plans(a: Plan, b: Plan, labels: tuple[str, str] = ("A", "B")) -> pd.DataFrame:
    """Two plans side by side: one row per figure of :func:`summary`, and B minus A.

    Parameters
    ----------
    a, b : Plan
    labels : tuple of str
        Column names of the two plans.

    Returns
    -------
    pandas.DataFrame
        Index: figure; columns: the two labels and ``difference``.
    """
    left, right = summary(a), summary(b)
    table = pd.DataFrame({labels[0]: left, labels[1]: right})
    table["difference"] = table[labels[1]] - table[labels[0]]
    return table


def plan_from_json(data: dict, stops: dict[str, Stop] | None = None) -> Plan:
    """A :class:`Plan` back from :func:`plan_json` (the stored form), for comparison and sheets.

    Parameters
    ----------
    data : dict
    stops : dict of str to Stop, optional
        To restore kinds and places (depots come from ``params["depots"]`` when stored).

    Returns
    -------
    Plan
    """
    params = dict(data.get("params") or {})
    day = dt.date.fromisoformat(params["date"])
    depots = params.get("depots") or {}
    routes = {}
    for vehicle in data.get("vehicles", []):
        rows = []
        for s in vehicle["stops"]:
            stop = (stops or {}).get(s["stop_id"])
            place = (
                (stop.lon, stop.lat) if stop else tuple(depots.get(vehicle["vehicle_id"], (0, 0)))
            )
            arrival, departure = _seconds(s["arrival"], day), _seconds(s["departure"], day)
            kind = stop.kind if stop else DEPOT
            rows.append(
                PlanStop(
                    s["stop_id"], kind, place[0], place[1], arrival, departure, 0, int(s["load"])
                )
            )
        routes[vehicle["vehicle_id"]] = rows
    dropped = [Dropped(d["stop_id"], d["reason_code"], {}) for d in data.get("dropped", [])]
    return Plan(
        day, params.get("timezone", "UTC"), routes, dropped, params, int(params.get("drive_s", 0))
    )


def _seconds(iso: str, day: dt.date) -> int:
    moment = dt.datetime.fromisoformat(iso)
    return int((moment.replace(tzinfo=None) - dt.datetime.combine(day, dt.time(0))).total_seconds())
