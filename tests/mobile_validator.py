"""An independent check of a Mobile Unit ``plan.json`` (issue 13), written apart from the solver.

It reads the stops and vehicles CSV files itself (its own small parser, English day names only),
and checks the plan against them and against the street network:

* every stop of the day is served exactly once or listed as dropped with a reason (never
  silently left out), and nothing else appears;
* each vehicle starts and ends at its depot within its shift;
* each stop's service lies in its window (arrival before it closes, departure after service);
* each leg's arrival equals the departure before it plus the network's driving time
  (``leg_seconds``), and on legs between graph nodes that time equals networkx's Dijkstra on
  the drive graph;
* the load after each stop equals the passengers picked up minus those set down, never above the
  vehicle's seats or below 0; every passenger is set down at their ``deliver_to`` stop, after the
  pick-up, by the same vehicle;
* times are ISO 8601 with the community's UTC offset.

Nothing here imports :mod:`geo.planning`.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REASON_CODES = {
    "unreachable",
    "too_many_passengers",
    "window_impossible",
    "shift_too_short",
    "no_seat_left",
    "no_time_left",
}
#: Seconds of rounding allowed (times are written to the second).
TOLERANCE_S = 2


def _clock(text: str, default: int) -> int:
    if not text.strip():
        return default
    h, m = text.strip().split(":")[:2]
    return int(h) * 3600 + int(m) * 60


def _days(text: str) -> set[int]:
    text = text.strip().lower()
    if not text:
        return set(range(7))
    out: set[int] = set()
    for part in text.replace(";", ",").split(","):
        ends = [DAYS.index(e.strip()[:3]) for e in part.split("-")]
        out.update(range(ends[0], ends[-1] + 1))
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a comma-separated file as dicts (stripped)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
        ]


def validate(
    plan: dict,
    stops_file: Path,
    vehicles_file: Path,
    day: dt.date,
    timezone: str,
    leg_seconds: Callable[[tuple[float, float], tuple[float, float]], float],
    graph: nx.MultiDiGraph | None = None,
) -> list[str]:
    """Every violation of the plan (empty when it is valid).

    Parameters
    ----------
    plan : dict
        ``plan.json``.
    stops_file, vehicles_file : Path
        The CSV inputs.
    day : date
    timezone : str
    leg_seconds : callable
        Driving seconds from (lon, lat) to (lon, lat) on the network (``inf`` unreachable).
    graph : networkx.MultiDiGraph, optional
        The drive graph: legs between two of its nodes are recomputed with Dijkstra.

    Returns
    -------
    list of str
    """
    weekday = day.weekday()
    stops = {r["stop_id"]: r for r in read_csv(stops_file) if weekday in _days(r.get("days", ""))}
    vehicles = {r["vehicle_id"]: r for r in read_csv(vehicles_file)}
    targets = {r["deliver_to"] for r in stops.values() if r.get("deliver_to")}
    expected = {
        s for s, r in stops.items() if s not in targets or r["kind"] in ("pickup", "accompaniment")
    }
    errors: list[str] = []
    seen: dict[str, int] = {}
    nodes = _node_index(graph) if graph is not None else {}
    for route in plan["vehicles"]:
        errors += _check_route(
            route, stops, vehicles, day, timezone, leg_seconds, graph, nodes, seen
        )
    dropped = {d["stop_id"] for d in plan["dropped"]}
    for d in plan["dropped"]:
        if d["reason_code"] not in REASON_CODES or not d.get("reason"):
            errors.append(f"dropped {d['stop_id']}: no understandable reason ({d})")
    served = {
        s for s in seen if s not in targets or stops[s]["kind"] in ("pickup", "accompaniment")
    }
    for stop_id in expected - served - dropped:
        errors.append(f"{stop_id}: neither served nor dropped (silently left out)")
    for stop_id in served & dropped:
        errors.append(f"{stop_id}: both served and dropped")
    for stop_id in (served | dropped) - expected:
        errors.append(f"{stop_id}: not a stop of that day")
    for stop_id, count in seen.items():
        if stop_id not in targets and count > 1:
            errors.append(f"{stop_id}: served {count} times")
    return errors


def _check_route(
    route, stops, vehicles, day, timezone, leg_seconds, graph, nodes, seen
) -> list[str]:  # noqa: ANN001, PLR0913
    errors: list[str] = []
    vid = route["vehicle_id"]
    vehicle = vehicles[vid]
    rows = route["stops"]
    if not rows:
        return errors
    depot = (float(vehicle["depot_lon"]), float(vehicle["depot_lat"]))
    if rows[0]["stop_id"] != "depot" or rows[-1]["stop_id"] != "depot":
        errors.append(f"{vid}: does not start and end at its depot")
    times = [
        (_parse(r["arrival"], day, timezone, errors), _parse(r["departure"], day, timezone, errors))
        for r in rows
    ]
    if times[0][1] < _clock(vehicle["shift_start"], 0) - TOLERANCE_S:
        errors.append(f"{vid}: leaves before its shift starts")
    if times[-1][0] > _clock(vehicle["shift_end"], 0) + TOLERANCE_S:
        errors.append(f"{vid}: back after its shift ends")
    aboard: list[tuple[str, int]] = []  # (deliver_to, passengers) still in the van
    seats = int(vehicle["seats"])
    place = depot
    for k, row in enumerate(rows):
        stop_id = row["stop_id"]
        here = (
            depot
            if stop_id == "depot"
            else (float(stops[stop_id]["lon"]), float(stops[stop_id]["lat"]))
        )
        arrival, departure = times[k]
        if k > 0:
            leg = 0.0 if here == place else leg_seconds(place, here)
            if not math.isfinite(leg):
                errors.append(f"{vid}: {stop_id} unreachable from the stop before")
            elif abs(arrival - (times[k - 1][1] + leg)) > TOLERANCE_S:
                errors.append(
                    f"{vid}: at {stop_id} at {arrival}, not {times[k - 1][1]} + {leg:.0f} s"
                )
            errors += _networkx_leg(graph, nodes, place, here, leg)
        place = here
        if stop_id == "depot":
            if row["load"] != 0:
                errors.append(f"{vid}: depot with {row['load']} aboard")
            continue
        seen[stop_id] = seen.get(stop_id, 0) + 1
        spec = stops[stop_id]
        start, end = (
            _clock(spec.get("window_start", ""), 0),
            _clock(spec.get("window_end", ""), 86400),
        )
        service = round(float(spec.get("service_min") or 0) * 60)
        if arrival > end + TOLERANCE_S:
            errors.append(f"{vid}: {stop_id} reached after its window closes")
        if spec["kind"] in ("pickup", "accompaniment"):
            aboard.append((spec["deliver_to"], int(spec["passengers"])))
        else:  # everyone bound for this stop gets off here
            aboard = [(target, n) for target, n in aboard if target != stop_id]
        # The service is spent once per visit, inside the window.
        if departure - service < start - TOLERANCE_S:
            errors.append(f"{vid}: {stop_id} served before its window opens")
        if departure - service > end + TOLERANCE_S:
            errors.append(f"{vid}: {stop_id} service starts after its window closes")
        if departure < arrival + service - TOLERANCE_S:
            errors.append(f"{vid}: {stop_id} left before its service time")
        load = sum(n for _, n in aboard)
        if row["load"] != load:
            errors.append(f"{vid}: load {row['load']} after {stop_id}, the passengers make {load}")
        if load > seats:
            errors.append(f"{vid}: {load} aboard after {stop_id}, only {seats} seats")
    for target, n in aboard:
        errors.append(f"{vid}: {n} passenger(s) for {target} never set down")
    return errors


def _parse(text: str, day: dt.date, timezone: str, errors: list[str]) -> int:
    moment = dt.datetime.fromisoformat(text)
    local_midnight = dt.datetime.combine(day, dt.time(0))
    expected_offset = ZoneInfo(timezone).utcoffset(moment.replace(tzinfo=None))
    if moment.utcoffset() != expected_offset:
        errors.append(f"{text}: offset is not {timezone}'s ({expected_offset})")
    return int((moment.replace(tzinfo=None) - local_midnight).total_seconds())


def _node_index(graph: nx.MultiDiGraph) -> dict[tuple[float, float], int]:
    return {(round(d["x"], 7), round(d["y"], 7)): n for n, d in graph.nodes(data=True)}


def _networkx_leg(graph, nodes, a, b, leg) -> list[str]:  # noqa: ANN001
    """A leg between two graph nodes must take networkx's shortest driving time."""
    if graph is None:
        return []
    u, v = nodes.get((round(a[0], 7), round(a[1], 7))), nodes.get((round(b[0], 7), round(b[1], 7)))
    if u is None or v is None:
        return []
    try:
        expected = nx.shortest_path_length(
            graph, u, v, weight=lambda _u, _v, data: min(e["drive_time_s"] for e in data.values())
        )
    except nx.NetworkXNoPath:
        expected = math.inf
    if not math.isclose(expected, leg, abs_tol=0.5):
        return [f"leg {a} -> {b}: {leg:.1f} s, networkx says {expected:.1f} s"]
    return []
