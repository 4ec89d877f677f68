"""Mobile Unit input files (issue 13): the importers' row-level errors, all or nothing."""

from __future__ import annotations

import json

import pytest

from geo.planning.mobile.inputs import (
    ALL_DAYS,
    MobileInputError,
    parse_clock,
    parse_days,
    read_stops,
    read_vehicles,
)
from geo.settings import PROJECT_ROOT
from tests.test_network import fake_community

HEADER = "stop_id,kind,lat,lon,window_start,window_end,service_min,passengers,deliver_to,days"
GOOD = [
    "home-1,pickup,46.7757,23.6903,06:50,07:40,2,3,school-1,Mon-Fri",
    "school-1,school,46.784072,23.654757,07:30,08:00,3,,,Mon-Fri",
]


def _csv(tmp_path, rows, header=HEADER, name="stops.csv", sep=","):
    path = tmp_path / name
    path.write_text("\n".join([header.replace(",", sep), *rows]) + "\n", encoding="utf-8")
    return path


def _problems(error: MobileInputError) -> set[tuple[int | None, str | None, str]]:
    return {(p.row, p.field, p.key.rsplit(".", 1)[1]) for p in error.problems}


def test_demo_files_read():
    stops = read_stops(PROJECT_ROOT / "data/mobile_unit/stops.csv", community=fake_community())
    vehicles = read_vehicles(PROJECT_ROOT / "data/mobile_unit/vehicles.csv")
    assert len(stops) == 22 and len(vehicles) == 2
    home4 = next(s for s in stops if s.stop_id == "home-04")
    assert home4.days == frozenset({0, 2, 4})  # "Mon,Wed,Fri", quoted
    assert home4.window_start == 6 * 3600 + 50 * 60 and home4.service_s == 120


def test_days_and_clock_as_planners_write_them():
    assert parse_days("Mon-Fri") == frozenset(range(5))
    assert parse_days("Mon,Wed") == frozenset({0, 2})
    assert parse_days("Lu-Vi") == frozenset(range(5))
    assert parse_days("H;Sze") == frozenset({0, 2})
    assert parse_days("Sat-Mon") == frozenset({5, 6, 0})
    assert parse_days("") == ALL_DAYS
    with pytest.raises(ValueError):
        parse_days("Mon-Funday")
    assert parse_clock("7:05") == 7 * 3600 + 300
    with pytest.raises(ValueError):
        parse_clock("25:00")


def test_bad_rows_give_file_row_field_reason_and_nothing_loaded(tmp_path):
    path = _csv(
        tmp_path,
        [
            *GOOD,
            "home-2,pickup,46.77,abc,06:50,07:40,2,2,school-1,Mon-Fri",  # row 4: lon
            "home-3,bus,46.77,23.69,06:50,07:40,2,2,school-1,Mon-Fri",  # row 5: kind
            "home-4,pickup,46.77,23.69,08:00,07:00,2,2,school-1,Mon-Fri",  # row 6: window
            "home-5,pickup,46.77,23.69,06:50,07:40,2,2,nowhere,Mon-Fri",  # row 7: deliver_to
            "home-1,pickup,46.77,23.69,06:50,07:40,2,2,school-1,Mon-Fri",  # row 8: duplicate id
            "home-6,pickup,46.77,23.69,06:50,07:40,2,0,school-1,Mon-Fri",  # row 9: no passenger
            "home-7,pickup,46.77,23.69,6h50,07:40,2,1,school-1,Mon-Fri",  # row 10: clock
            "home-8,pickup,46.77,23.69,06:50,07:40,2,1,school-1,Mon-Sun",  # row 11: days vs school
            "home-9,pickup,23.69,46.77,06:50,07:40,2,1,school-1,Mon-Fri",  # row 12: swapped
            "home-10,pickup,46.77,23.69,06:50,07:40,2,1,home-1,Mon-Fri",  # row 13: to a pickup
            "home-11,pickup,46.77,23.69,06:50,07:40,2,1,school-1,Mon,Wed",  # row 14: unquoted
        ],
    )
    with pytest.raises(MobileInputError) as caught:
        read_stops(path, community=fake_community())
    found = _problems(caught.value)
    assert found == {
        (4, "lon", "coordinate"),
        (5, "kind", "kind"),
        (6, "window_end", "window_order"),
        (7, "deliver_to", "deliver_unknown"),
        (8, "stop_id", "duplicate"),
        (9, "passengers", "no_passengers"),
        (10, "window_start", "clock"),
        (11, "days", "deliver_days"),
        (12, "lat", "far"),
        (13, "deliver_to", "deliver_kind"),
        (14, None, "extra_cells"),
    }
    text = caught.value.render("ro")
    assert "EROARE stops.csv, rândul 4, lon:" in text
    assert "nu s-a încărcat nimic" in text
    assert "HIBA stops.csv, 12. sor, lat:" in caught.value.render("hu")


def test_semicolon_csv_and_geojson_read_the_same(tmp_path):
    semicolon = _csv(tmp_path, [r.replace(",", ";") for r in GOOD], sep=";")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [23.6903, 46.7757]},
            "properties": {
                "stop_id": "home-1",
                "kind": "pickup",
                "window_start": "06:50",
                "window_end": "07:40",
                "service_min": 2,
                "passengers": 3,
                "deliver_to": "school-1",
                "days": "Mon-Fri",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [23.654757, 46.784072]},
            "properties": {
                "stop_id": "school-1",
                "kind": "school",
                "window_start": "07:30",
                "window_end": "08:00",
                "service_min": 3,
                "days": "Mon-Fri",
            },
        },
    ]
    geojson = tmp_path / "stops.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    a = read_stops(semicolon)
    b = read_stops(geojson)
    assert [(s.stop_id, s.lat, s.lon, s.passengers) for s in a] == [
        (s.stop_id, s.lat, s.lon, s.passengers) for s in b
    ]


def test_vehicle_errors(tmp_path):
    header = "vehicle_id,seats,shift_start,shift_end,depot_lat,depot_lon"
    path = _csv(
        tmp_path,
        [
            "van-1,0,06:30,15:00,46.777,23.67",
            "van-2,8,15:00,06:30,46.777,23.67",
            ",8,06:30,15:00,46.777,23.67",
        ],
        header=header,
        name="vehicles.csv",
    )
    with pytest.raises(MobileInputError) as caught:
        read_vehicles(path)
    assert _problems(caught.value) == {
        (2, "seats", "seats"),
        (3, "shift_end", "window_order"),
        (4, "vehicle_id", "missing"),
    }
    empty = _csv(tmp_path, [], header=header, name="none.csv")
    with pytest.raises(MobileInputError) as caught:
        read_vehicles(empty)
    assert _problems(caught.value) == {(None, None, "empty")}


def test_not_utf8_is_one_file_problem(tmp_path):
    path = tmp_path / "stops.csv"
    path.write_bytes((HEADER + "\nhome-1,pickup,46.77,23.69,,,,,,\n").encode("utf-16"))
    with pytest.raises(MobileInputError) as caught:
        read_stops(path)
    assert _problems(caught.value) == {(None, None, "encoding")}
