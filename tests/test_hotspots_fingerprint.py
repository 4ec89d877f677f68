"""A hot spot run's fingerprint sees every input value, ignores row order, and costs no Python
call per row (issue 11 item 11: hashing 100,000 points row by row cost 0.5-1.5 s of every page).

The fingerprint decides whether a stored run is reused: a digest that missed a change would show
someone a run of other data.  The reference is independent of the code: a brute-force multiset of
the rows (each row a tuple of plain values, geometries as WKB), compared with ``Counter``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon

from geo.analysis.fingerprint import _digests, frame_digest, run_fingerprint


def _plain(value):
    """One cell as a plain, comparable value (the reference's idea of "the same value")."""
    if isinstance(value, shapely.Geometry):
        return ("geom", shapely.to_wkb(value, output_dimension=3))
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return ("time", value.value)  # the instant, in nanoseconds
    if isinstance(value, (list, dict)):
        return ("json", json.dumps(value, sort_keys=True))
    if isinstance(value, (np.generic,)):
        return value.item()
    return value


def reference(frame: pd.DataFrame) -> Counter:
    """The rows as a multiset of tuples, column by column in order."""
    return Counter(
        tuple(_plain(frame.iat[i, j]) for j in range(frame.shape[1])) for i in range(len(frame))
    )


def incidents(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    """A table shaped like a run's exact inputs: numbers, text, instants, flags, points."""
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "occurred_at": pd.to_datetime(
                rng.integers(1.7e9, 1.75e9, n), unit="s", utc=True
            ).tz_convert("Europe/Bucharest"),
            "type_code": pd.Series(rng.choice(["theft", "fire", "assault"], n), dtype=object),
            "severity": rng.integers(1, 6, n),
            "is_demo": rng.random(n) < 0.5,
            "weight": rng.random(n),
        },
        geometry=gpd.points_from_xy(rng.uniform(23.5, 23.7, n), rng.uniform(46.7, 46.8, n)),
        crs=4326,
    )


def zones() -> gpd.GeoDataFrame:
    """A table shaped like workshop zones: polygons, a list column, a missing value."""
    return gpd.GeoDataFrame(
        {
            "id": [1, 2, 3],
            "hazard_code": ["flood", "fire", None],
            "tags": [["a"], ["b", "c"], []],
        },
        geometry=[
            Polygon([(0, 0), (1, 0), (1, 1)]),
            Polygon([(0, 0), (2, 0), (2, 2)]),
            Polygon([(5, 5), (6, 5), (6, 6)]),
        ],
        crs=4326,
    )


def variants(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The frame changed in every way a database answer can change, and merely reordered."""
    out = [("reversed", frame.iloc[::-1]), ("shuffled", frame.sample(frac=1, random_state=3))]
    out.append(("a row removed", frame.iloc[1:]))
    out.append(("a row duplicated", pd.concat([frame, frame.iloc[[0]]])))
    for j, name in enumerate(frame.columns):
        changed = frame.copy()
        value = changed.iat[1, j]
        if isinstance(value, shapely.Geometry):
            # The smallest move a float can make: a point moved by one ulp is another point.
            new = shapely.transform(value, lambda xy: np.nextafter(xy, np.inf))
        elif isinstance(value, (bool, np.bool_)):
            new = not value
        elif isinstance(value, pd.Timestamp):
            new = value + pd.Timedelta(microseconds=1)
        elif isinstance(value, (int, np.integer)):
            new = value + 1
        elif isinstance(value, (float, np.floating)):
            new = np.nextafter(value, np.inf)
        elif isinstance(value, list):
            new = [*value, "x"]
        else:
            new = f"{value}x"
        changed.iloc[1, j] = new
        out.append((f"{name} changed", changed))
    # Two rows exchanging one value: the same values per column, other rows.
    swapped = frame.copy()
    first, second = swapped.iat[0, 0], swapped.iat[1, 0]
    swapped.iloc[0, 0], swapped.iloc[1, 0] = second, first
    out.append(("values exchanged between rows", swapped))
    return out


@pytest.mark.parametrize("make", [lambda: incidents(40), zones], ids=["incidents", "zones"])
def test_the_digest_agrees_with_a_brute_force_multiset_of_rows(make):
    frame = make()
    base = frame_digest(frame)
    for label, other in variants(frame):
        same = reference(other) == reference(frame)
        assert (frame_digest(other) == base) == same, label
    # The control: a change is really a change to the reference (the test can fail).
    assert sum(reference(o) != reference(frame) for _, o in variants(frame)) >= frame.shape[1]


def test_columns_exchanging_values_change_the_digest():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    exchanged = pd.DataFrame({"a": [4, 5, 6], "b": [1, 2, 3]})
    renamed = frame.rename(columns={"b": "c"})
    assert len({frame_digest(f) for f in (frame, exchanged, renamed)}) == 3


def test_geometries_of_every_kind_are_told_apart():
    """Points hashed by their coordinates must not meet anything hashed another way."""
    frames = [
        gpd.GeoDataFrame(geometry=[Point(0, 0), Point(1, 1)]),
        gpd.GeoDataFrame(geometry=[Point(0, 0), Point(1, 1, 0)]),  # a third dimension
        gpd.GeoDataFrame(geometry=[Point(0, 0), Point()]),  # an empty point
        gpd.GeoDataFrame(geometry=[Point(0, 0), None]),  # a missing one
        gpd.GeoDataFrame(geometry=[Point(0, 0), Polygon([(0, 0), (1, 0), (1, 1)])]),
        gpd.GeoDataFrame(geometry=[Point(0, 0), Point(1, 1).buffer(0.1)]),
    ]
    assert len({frame_digest(f) for f in frames}) == len(frames)
    assert frame_digest(frames[0]) == frame_digest(frames[0].iloc[::-1])


def test_a_changed_input_among_several_changes_the_fingerprint():
    points, cells = incidents(30), zones()
    base = run_fingerprint(1, "all", {"a": 1}, [points, points, cells])
    moved = points.copy()
    moved.loc[5, "geometry"] = Point(moved.geometry[5].x, moved.geometry[5].y + 1e-9)
    # The same table given twice is hashed once: changing it changes both places it is used.
    assert run_fingerprint(1, "all", {"a": 1}, [moved, moved, cells]) != base
    assert run_fingerprint(1, "all", {"a": 1}, [points, moved, cells]) != base
    assert run_fingerprint(1, "all", {"a": 1}, [points, points, cells.iloc[:2]]) != base
    assert run_fingerprint(1, "all", {"a": 1, "role": "x"}, [points, points, cells]) == base
    digests = _digests([points, points, None])
    assert digests[0] == digests[1] == frame_digest(points) and digests[2] == frame_digest(None)


def _python_calls(function, *args) -> int:
    """How many Python-level function calls ``function(*args)`` makes (sys.setprofile)."""
    calls = 0

    def count(frame, event, arg):  # noqa: ANN001, ARG001
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return calls


def test_hashing_makes_no_python_call_per_row():
    """Attack on the cost, not a timing: 100x the rows must not mean more Python calls.  The
    row-by-row digest (every text cell through a Python function) made one call per row."""
    small, large = incidents(500), incidents(50_000, seed=8)
    frame_digest(small)  # first-call imports and caches are not the digest's cost
    calls_small = _python_calls(frame_digest, small)
    calls_large = _python_calls(frame_digest, large)
    assert calls_large < calls_small + 200, (calls_small, calls_large)
