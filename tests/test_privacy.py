"""Privacy rules: suppression, snapping, donut masking, and who sees exact points."""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geo.hexgrid import assign_points_to_hex, projected_xy
from geo.privacy import (
    ROLES,
    SENSITIVE_TYPES,
    aggregate_to_hex,
    can_see_exact_points,
    donut_geomask,
    snap_to_grid,
    visible_incidents,
)

CRS = "EPSG:32634"
PATA_RAT = box(23.60, 46.76, 23.72, 46.80)


def incidents(n=600, seed=0):
    rng = np.random.default_rng(seed)
    lon = np.r_[rng.uniform(23.60, 23.72, n // 2), rng.normal(23.65, 0.003, n - n // 2)]
    lat = np.r_[rng.uniform(46.76, 46.80, n // 2), rng.normal(46.78, 0.002, n - n // 2)]
    types = rng.choice(["theft", "fire", "domestic_violence", "child_protection"], n)
    return gpd.GeoDataFrame(
        {"type_code": types}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
    )


@pytest.mark.parametrize("threshold", [1, 3, 5, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_suppression_never_leaks_small_counts(threshold, seed):
    points = incidents(seed=seed)
    cells = aggregate_to_hex(points, PATA_RAT, CRS, cell_size_m=200, threshold=threshold)
    shown = cells.loc[~cells["suppressed"], "count"]
    assert (shown >= threshold).all()
    assert cells.loc[cells["suppressed"], "count"].isna().all()
    assert cells["suppressed"].any() and (~cells["suppressed"]).any()
    assert set(cells.geom_type) == {"Polygon"}
    assert set(cells.columns) == {"cell_id", "count", "suppressed", "geometry"}
    # Shown counts are the true counts.
    true = assign_points_to_hex(points, 200, CRS)["cell_id"].value_counts()
    for cell_id, count in cells.loc[~cells["suppressed"], ["cell_id", "count"]].itertuples(
        index=False
    ):
        assert true[cell_id] == count
    # And nothing below the threshold hides in the exported GeoJSON either.
    exported = cells.to_geo_dict()["features"]
    visible = [f["properties"]["count"] for f in exported if f["properties"]["count"] is not None]
    assert all(c >= threshold for c in visible if c == c)


def test_donut_displacement_always_within_bounds():
    points = incidents(2000, seed=3)
    result = donut_geomask(points, CRS, min_m=50, max_m=250, seed=42)
    x0, y0 = projected_xy(points, CRS)
    x1, y1 = projected_xy(result.points, CRS)
    moved = np.hypot(x1 - x0, y1 - y0)
    assert moved.min() >= 50 - 1e-6 and moved.max() <= 250 + 1e-6
    assert np.allclose(moved, result.displacement_m.to_numpy(), atol=1e-6)
    assert result.summary["n"] == 2000 and 50 <= result.summary["observed_min_m"]
    assert (result.points["type_code"] == points["type_code"]).all()
    again = donut_geomask(points, CRS, 50, 250, seed=42)
    assert again.points.geometry.equals(result.points.geometry)
    with pytest.raises(ValueError):
        donut_geomask(points, CRS, 300, 100)


def test_snap_to_grid_moves_to_square_centres():
    points = incidents(500, seed=4)
    snapped = snap_to_grid(points, CRS, 100)
    x0, y0 = projected_xy(points, CRS)
    x1, y1 = projected_xy(snapped, CRS)
    assert np.hypot(x1 - x0, y1 - y0).max() <= 100 / np.sqrt(2) + 1e-6
    for coordinate in (x1, y1):
        steps = (coordinate - 50) / 100  # centres sit at 50 m + a whole number of 100 m steps
        assert np.allclose(steps, np.round(steps), atol=1e-7)
    assert len(np.unique(np.round(x1, 3) + 1j * np.round(y1, 3))) < len(points)


def test_who_sees_exact_points():
    for role in ROLES:
        assert can_see_exact_points(role, "theft") == (role in {"police", "mediator"})
        for sensitive in SENSITIVE_TYPES:
            assert can_see_exact_points(role, sensitive) == (role == "police")
    with pytest.raises(ValueError):
        can_see_exact_points("Police", "theft")


def test_visible_incidents_per_role():
    points = incidents(400, seed=5)
    sensitive = points["type_code"].isin(SENSITIVE_TYPES)

    public = visible_incidents(points, "public", PATA_RAT, CRS, cell_size_m=300)
    assert len(public.points) == 0 and public.n_withheld == len(points)
    assert (public.cells["count"].dropna() >= 5).all()

    mediator = visible_incidents(points, "mediator", PATA_RAT, CRS, cell_size_m=300)
    assert not mediator.points["type_code"].isin(SENSITIVE_TYPES).any()
    assert len(mediator.points) == (~sensitive).sum()
    assert mediator.n_withheld == sensitive.sum() and mediator.cells is not None

    police = visible_incidents(points, "police", PATA_RAT, CRS)
    assert len(police.points) == len(points) and police.cells is None
