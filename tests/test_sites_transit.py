"""Housing sites: the scheduled time to the centre (connection scan on a GTFS feed) by hand."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from geo.planning.sites import transit

T0 = transit.DEPART_S


def conn(rows):
    return pd.DataFrame(rows, columns=["trip", "dep_stop", "arr_stop", "dep", "arr"])


def test_scan_takes_the_earliest_arrival_with_a_transfer_by_hand():
    # At A from 07:35.  Trip 1: A 07:40 -> B 07:50 -> C 08:10.  Trip 2: B 07:55 -> C 08:00.
    # Trip 3 leaves A at 07:33, before the traveller is there.  Best at C: 08:00 (change at B).
    m = 60
    rows = [
        ("t3", "A", "C", T0 + 3 * m, T0 + 5 * m),
        ("t1", "A", "B", T0 + 10 * m, T0 + 20 * m),
        ("t2", "B", "C", T0 + 25 * m, T0 + 30 * m),
        ("t1", "B", "C", T0 + 20 * m, T0 + 40 * m),
    ]
    table = conn(rows).sort_values("dep", kind="stable")
    best = transit.scan(table, {"A": T0 + 5 * m}, {})
    assert best["B"] == T0 + 20 * m
    assert best["C"] == T0 + 30 * m


def test_scan_walks_a_transfer_between_nearby_stops():
    m = 60
    table = conn(
        [("t1", "A", "B", T0 + 1 * m, T0 + 5 * m), ("t2", "B2", "C", T0 + 8 * m, T0 + 12 * m)]
    )
    best = transit.scan(table, {"A": T0}, {"B": [("B2", 2 * m)]})
    assert best["B2"] == T0 + 7 * m and best["C"] == T0 + 12 * m
    slow = transit.scan(table, {"A": T0}, {"B": [("B2", 4 * m)]})  # arrives 08:39 > 08:38
    assert "C" not in slow


def test_weekday_services_take_the_first_wednesday_and_the_exceptions(tmp_path):
    feed = tmp_path / "feed.zip"
    with zipfile.ZipFile(feed, "w") as z:
        z.writestr(
            "calendar.txt",
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
            "LV,1,1,1,1,1,0,0,20260702,20261229\nS,0,0,0,0,0,1,0,20260702,20261229\n",
        )
        z.writestr(
            "calendar_dates.txt", "service_id,date,exception_type\nX,20260708,1\nLV,20260715,2\n"
        )
    with zipfile.ZipFile(feed) as z:
        services, day = transit.weekday_services(z)
    assert str(day) == "2026-07-08"  # 2 July 2026 is a Thursday
    assert services == {"LV", "X"}


def test_frequency_trips_are_expanded_at_their_headway():
    st = pd.DataFrame(
        {"trip_id": ["f", "f"], "stop_id": ["A", "B"], "seq": [0, 1],
         "arr": [5 * 3600.0, 5 * 3600 + 600.0], "dep": [5 * 3600.0, 5 * 3600 + 600.0]}
    )  # fmt: skip
    freq = pd.DataFrame(
        {
            "trip_id": ["f"],
            "start_time": ["07:00:00"],
            "end_time": ["08:00:00"],
            "headway_secs": ["900"],
        }
    )
    out = transit._expand_frequencies(st, freq)
    starts = sorted(out.loc[out["stop_id"] == "A", "dep"] / 60 - 7 * 60)
    # 07:00 and 07:15 arrive at B by 07:25 < 07:30 (dropped); 07:30, 07:45, 08:00 kept.
    assert starts == pytest.approx([30, 45, 60])
