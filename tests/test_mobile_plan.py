"""Mobile Unit routing (issue 13) on the shipped Cluj-Napoca drive network, no database.

Every plan returned here is checked by ``tests/mobile_validator.py`` (independent of the solver:
its own CSV parsing, the network's times per leg, networkx on legs between graph nodes).  Each
kind of infeasible stop is built on purpose and must come back dropped with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from geo import network
from geo.planning.mobile.inputs import read_stops, read_vehicles
from geo.planning.mobile.plan import (
    compare_plans,
    itinerary_csv,
    leg_geometries,
    make_plan,
    plan_from_json,
    plan_gpx,
    plan_json,
)
from geo.planning.mobile.weekly import weekly_plan
from geo.settings import PROJECT_ROOT
from tests.mobile_validator import validate
from tests.test_network import CITY_OSM, fake_community

DEMO = PROJECT_ROOT / "data" / "mobile_unit"
MONDAY = dt.date(2026, 12, 7)
TZ = "Europe/Bucharest"
HEADER = "stop_id,kind,lat,lon,window_start,window_end,service_min,passengers,deliver_to,days"
VEHICLES = "vehicle_id,seats,shift_start,shift_end,depot_lat,depot_lon"
DEPOT = (23.67, 46.777)  # lon, lat: a base west of Pata Rât (snapped to the streets)
# Graph nodes either side of the Cluj-Apahida railway east of the centre (the line runs between
# the level crossings at 46.7841 N 23.6388 E and 46.7830 N 23.7145 E): 837 m apart in a straight
# line, the streets go round through a level crossing.
SOUTH_OF_RAILWAY = 455914409
NORTH_OF_RAILWAY = 4305938665
# A node no street leads to from the depot (one-way pocket in the west of the city).
UNREACHABLE_NODE = 1244651570
SCHOOL = (23.654757, 46.784072)  # Școala Traian Darjan
TIME_LIMIT = 1.0


@pytest.fixture(scope="module")
def city():
    """The drive network and graph of the shipped city file, and a community in its CRS."""
    return {
        "net": network.cached_network(CITY_OSM, "drive"),
        "graph": network.cached_graph(CITY_OSM, "drive"),
        "community": fake_community(),
    }


def _node(city, node_id: int) -> tuple[float, float]:
    data = city["graph"].nodes[node_id]
    return data["x"], data["y"]


def _files(tmp_path, stops: list[str], vehicles: list[str]):
    s, v = tmp_path / "stops.csv", tmp_path / "vehicles.csv"
    s.write_text("\n".join([HEADER, *stops]) + "\n", encoding="utf-8")
    v.write_text("\n".join([VEHICLES, *vehicles]) + "\n", encoding="utf-8")
    return s, v


def _leg_seconds(city):
    def leg(a, b):
        return float(network.travel_times(city["net"], city["community"], [a], [b])[0, 0])

    return leg


def _plan(city, stops_file, vehicles_file, day=MONDAY, time_limit=TIME_LIMIT):
    """Plan, its JSON, and the validator's verdict (which must be empty)."""
    stops, vehicles = read_stops(stops_file), read_vehicles(vehicles_file)
    plan, problem = make_plan(
        stops, vehicles, day, city["net"], city["community"], time_limit_s=time_limit
    )
    data = json.loads(json.dumps(plan_json(plan, "en")))
    errors = validate(data, stops_file, vehicles_file, day, TZ, _leg_seconds(city), city["graph"])
    assert errors == []
    return plan, data, problem


def test_demo_week_plans_are_valid_and_every_stop_is_accounted_for(city):
    for day in (MONDAY, MONDAY + dt.timedelta(days=3)):
        plan, data, _ = _plan(city, DEMO / "stops.csv", DEMO / "vehicles.csv", day)
        served = {s["stop_id"] for v in data["vehicles"] for s in v["stops"]}
        assert "school-darjan" in served and "school-vaida" in served
        # A stop recurring on Tuesday and Thursday is planned on Thursday only.
        assert (
            "hygiene-dallas" in served
            or "hygiene-dallas" in {d["stop_id"] for d in data["dropped"]}
        ) == (day.weekday() == 3)


def test_plan_json_has_exactly_the_issue_shape_with_the_local_offset(city):
    _, data, _ = _plan(city, DEMO / "stops.csv", DEMO / "vehicles.csv")
    assert set(data) == {"vehicles", "dropped", "params"}
    for vehicle in data["vehicles"]:
        assert set(vehicle) == {"vehicle_id", "stops"}
        for stop in vehicle["stops"]:
            assert set(stop) == {"stop_id", "arrival", "departure", "load"}
            assert stop["arrival"].endswith("+02:00")  # Bucharest in December (EET)
    for dropped in data["dropped"]:
        assert set(dropped) == {"stop_id", "reason_code", "reason"}
    assert data["params"]["date"] == MONDAY.isoformat()
    assert data["params"]["time_limit_s"] == TIME_LIMIT


def test_stop_across_the_railway_takes_the_network_time_not_the_straight_line(city, tmp_path):
    south, north = _node(city, SOUTH_OF_RAILWAY), _node(city, NORTH_OF_RAILWAY)
    stops, vehicles = _files(
        tmp_path,
        [
            f"home-s,pickup,{south[1]},{south[0]},07:00,07:30,0,1,centre-n,Mon",
            f"centre-n,service,{north[1]},{north[0]},07:00,09:00,0,,,Mon",
        ],
        [f"van,8,06:30,12:00,{south[1]},{south[0]}"],
    )
    plan, data, problem = _plan(city, stops, vehicles)
    rows = data["vehicles"][0]["stops"]
    names = [r["stop_id"] for r in rows]
    assert names == ["depot", "home-s", "centre-n", "depot"]
    leg = plan.routes["van"][2].arrival - plan.routes["van"][1].departure
    metric = city["community"].to_metric_geometry
    import shapely

    straight_m = metric(shapely.Point(south)).distance(metric(shapely.Point(north)))
    expected = nx_seconds(city["graph"], SOUTH_OF_RAILWAY, NORTH_OF_RAILWAY)
    assert abs(leg - expected) <= 1
    # 837 m straight would be ~60 s at 50 km/h; the streets take more than five times that.
    assert 800 < straight_m < 900
    assert leg > 5 * straight_m / (50 / 3.6)


def nx_seconds(graph, u, v) -> float:
    """networkx's shortest driving time (fastest of parallel edges)."""
    import networkx as nx

    return nx.shortest_path_length(
        graph, u, v, weight=lambda _a, _b, d: min(e["drive_time_s"] for e in d.values())
    )


def _reasons(data) -> dict[str, str]:
    return {d["stop_id"]: d["reason_code"] for d in data["dropped"]}


def test_each_kind_of_impossible_stop_is_dropped_with_its_reason(city, tmp_path):
    far = _node(city, UNREACHABLE_NODE)
    lon, lat = 23.6903, 46.7757  # Dallas
    stops, vehicles = _files(
        tmp_path,
        [
            f"ok,service,{lat},{lon},07:00,12:00,10,,,Mon",
            f"pocket,service,{far[1]},{far[0]},07:00,12:00,10,,,Mon",
            f"dawn,service,{lat},{lon},05:00,05:30,10,,,Mon",
            f"crowd,pickup,{lat},{lon},07:00,09:00,1,12,school,Mon",
            f"school,school,{SCHOOL[1]},{SCHOOL[0]},07:00,10:00,2,,,Mon",
            f"long,service,{lat + 0.001},{lon},07:00,12:00,400,,,Mon",
        ],
        [f"van,8,06:30,12:00,{DEPOT[1]},{DEPOT[0]}"],
    )
    _, data, _ = _plan(city, stops, vehicles)
    reasons = _reasons(data)
    assert reasons == {
        "pocket": "unreachable",
        "dawn": "window_impossible",
        "crowd": "too_many_passengers",
        "long": "shift_too_short",
    }
    text = {d["stop_id"]: d["reason"] for d in data["dropped"]}
    assert "12 passengers" in text["crowd"] and "8 seats" in text["crowd"]
    assert "05:30" in text["dawn"]


def test_no_seat_left_and_no_time_left_when_stops_compete(city, tmp_path):
    lon, lat = 23.6903, 46.7757
    stops, vehicles = _files(
        tmp_path,
        [
            # Two groups of 3 for a school that opens for 5 minutes: a 4-seat van cannot carry
            # both at once, and there is no time for two trips.
            f"a,pickup,{lat},{lon},07:00,07:45,1,3,school,Mon",
            f"b,pickup,{lat + 0.0005},{lon},07:00,07:45,1,3,school,Mon",
            f"school,school,{SCHOOL[1]},{SCHOOL[0]},07:55,08:00,1,,,Mon",
            # Two services an hour long in the same half hour, on opposite sides of the city.
            f"east,service,{lat},{lon},09:00,09:30,60,,,Mon",
            "west,service,46.7700,23.5600,09:00,09:30,60,,,Mon",
        ],
        [f"van,4,06:30,12:00,{DEPOT[1]},{DEPOT[0]}"],
    )
    _, data, _ = _plan(city, stops, vehicles)
    reasons = _reasons(data)
    assert len(reasons) == 2
    assert set(reasons.values()) == {"no_seat_left", "no_time_left"}
    assert reasons.get("a", reasons.get("b")) == "no_seat_left"
    assert reasons.get("east", reasons.get("west")) == "no_time_left"


def test_pickup_and_delivery_same_vehicle_pickup_first_and_seats(city, tmp_path):
    lon, lat = 23.6903, 46.7757
    rows = [f"school,school,{SCHOOL[1]},{SCHOOL[0]},07:20,08:15,2,,,Mon-Fri"]
    rows += [
        f"h{k},pickup,{lat + 0.0004 * k},{lon - 0.0003 * k},06:45,07:50,1,{1 + k % 3},school,"
        "Mon-Fri"
        for k in range(8)
    ]
    stops, vehicles = _files(
        tmp_path,
        rows,
        [f"v1,5,06:30,10:00,{DEPOT[1]},{DEPOT[0]}", f"v2,5,06:30,10:00,{DEPOT[1]},{DEPOT[0]}"],
    )
    plan, data, _ = _plan(city, stops, vehicles)
    assert data["dropped"] == []  # 15 passengers, two 5-seat vans, time for two trips
    # Workload spread over both vans.
    assert all(len(v["stops"]) > 2 for v in data["vehicles"])


def test_weekly_plan_solves_each_day_with_that_days_stops(city):
    stops = read_stops(DEMO / "stops.csv")
    vehicles = read_vehicles(DEMO / "vehicles.csv")
    week = weekly_plan(
        stops, vehicles, MONDAY, city["net"], city["community"], time_limit_s=0.5, days=(0, 1)
    )
    assert sorted(week) == [MONDAY, MONDAY + dt.timedelta(days=1)]
    monday = {s.stop_id for r in week[MONDAY].routes.values() for s in r}
    tuesday = {s.stop_id for r in week[MONDAY + dt.timedelta(days=1)].routes.values() for s in r}
    assert "papers-escort" in monday | {d.stop_id for d in week[MONDAY].dropped}
    assert "papers-escort" not in tuesday
    assert "home-04" not in tuesday  # Mon,Wed,Fri only


def test_exports_csv_gpx_and_comparison(city):
    stops = read_stops(DEMO / "stops.csv")
    vehicles = read_vehicles(DEMO / "vehicles.csv")
    a, _ = make_plan(stops, vehicles, MONDAY, city["net"], city["community"], time_limit_s=0.5)
    b, _ = make_plan(stops, vehicles[:1], MONDAY, city["net"], city["community"], time_limit_s=0.5)
    csv_text = itinerary_csv(a)
    assert csv_text.splitlines()[0].startswith("vehicle_id,order,stop_id,kind,arrival")
    legs = leg_geometries(a, city["net"], city["community"])
    gpx = plan_gpx(a, {v: [r.geometry for r in routes if r] for v, routes in legs.items()})
    assert gpx.count("<rte>") == sum(1 for r in a.routes.values() if r)
    assert "<trkpt" in gpx
    # Each leg's street geometry takes the time the plan drives it.
    first = a.routes["van-1"]
    assert math.isclose(legs["van-1"][0].seconds, first[1].arrival - first[0].departure, abs_tol=1)
    table = compare_plans(a, b, ("two vans", "one van"))
    assert table.loc["vehicles_used", "two vans"] == 2
    assert table.loc["vehicles_used", "one van"] == 1
    assert table.loc["dropped", "difference"] >= 0
    again = plan_from_json(plan_json(a), {s.stop_id: s for s in stops})
    assert again.routes["van-1"][1].arrival == a.routes["van-1"][1].arrival
    assert np.isclose(compare_plans(a, again).loc["drive_min", "difference"], 0)
