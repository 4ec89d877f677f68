"""The GTFS stop reader, on a small feed built here with the CTP feed's quirks."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from shapely.geometry import box

from geo.gtfs import GtfsError, read_stops

# The quirks of the CTP Cluj feed: an empty second agency row, one extra empty field on every
# stops row, and stops placed hundreds of kilometres away (Constanța).
AGENCY = (
    "agency_id,agency_name,agency_url,agency_timezone\n"
    "2,CTP Cluj,https://ctpcj.ro/,Europe/Bucharest\n"
    ",,,Europe/Bucharest"
)
STOPS = (
    "stop_id,stop_code,stop_name,stop_desc,stop_lat,stop_lon,location_type\n"
    "394,,Cantonului,,46.781544,23.691748,0,\n"
    "726,,Pata Rat,,46.771380,23.685340,0,\n"
    "225,,A. Vlaicu,,46.780773,23.627827,0,\n"
    "876,,Piata Ovidiu,,44.17349,28.65672,0,\n"
    "999,,Broken,,not-a-number,23.6,0,\n"
)
ROUTES = (
    "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "r5,2,5,Gara - Aeroport,11\n"
    "r5n,2,5N,Night,3\n"
    "r8,2,8,Somewhere,3\n"
    "r42,2,M42,Metropolitan,3\n"
    "r24,2,24,Other,3\n"
)
TRIPS = (
    "route_id,service_id,trip_id\nr5,LV,t1\nr5n,LV,t2\nr8,LV,t3\nr42,LV,t4\nr24,LV,t5\nr5,LV,t6\n"
)
STOP_TIMES = (
    "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "t1,05:00:00,05:00:00,394,0\n"
    "t6,06:00:00,06:00:00,394,0\n"
    "t2,05:00:00,05:00:00,394,0\n"
    "t4,05:00:00,05:00:00,394,1\n"
    "t3,05:00:00,05:00:00,394,2\n"
    "t5,05:00:00,05:00:00,225,0\n"
    "t1,05:10:00,05:10:00,225,1\n"
)


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "feed.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("agency.txt", AGENCY)
        archive.writestr("stops.txt", STOPS)
        archive.writestr("routes.txt", ROUTES)
        archive.writestr("trips.txt", TRIPS)
        archive.writestr("stop_times.txt", STOP_TIMES)
    return path


def test_columns_are_not_shifted_by_the_extra_field(feed: Path):
    stops = read_stops(feed).set_index("stop_id")
    assert stops.loc["394", "name"] == "Cantonului"
    point = stops.loc["394", "geometry"]
    assert (round(point.x, 6), round(point.y, 6)) == (23.691748, 46.781544)


def test_misplaced_and_unparseable_stops_are_dropped(feed: Path):
    ids = set(read_stops(feed)["stop_id"])
    assert ids == {"394", "726", "225"}


def test_routes_are_naturally_sorted_short_names(feed: Path):
    stops = read_stops(feed).set_index("stop_id")
    assert stops.loc["394", "routes"] == "5,5N,8,M42"
    assert stops.loc["225", "routes"] == "5,24"
    assert stops.loc["726", "routes"] == ""  # exists, but no trip serves it


def test_area_filter_by_bbox_and_polygon(feed: Path):
    by_bbox = read_stops(feed, (23.68, 46.76, 23.70, 46.79))
    assert list(by_bbox["stop_id"]) == ["394", "726"]
    by_polygon = read_stops(feed, box(23.69, 46.78, 23.70, 46.79))
    assert list(by_polygon["stop_id"]) == ["394"]
    assert by_polygon.crs.to_epsg() == 4326


def test_missing_table_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "no-stops.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("agency.txt", AGENCY)
    with pytest.raises(GtfsError, match=r"no-stops\.zip: stops\.txt is missing"):
        read_stops(path)
