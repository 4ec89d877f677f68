"""Housing sites: the suitability GeoTIFF against a direct computation (issue 14)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from geo import crs as crs_
from geo.communities import read_boundary
from geo.communities.model import Community
from geo.planning.sites.criteria import load_criteria
from geo.planning.sites.inputs import bundled_context
from geo.planning.sites.surface import NODATA, suitability_surface

PATA_RAT = Path(__file__).resolve().parents[1] / "data" / "communities" / "pata-rat"


def test_surface_weighted_on_the_landfill_distance_is_its_min_max(tmp_path):
    community = Community(
        id=1, slug="pata-rat", name="Pata Rât", kind="community", parent_id=None,
        parent_slug=None, settlement_ids=(), timezone="Europe/Bucharest",
        crs=crs_.to_crs(32634), geometry=read_boundary(PATA_RAT / "boundary.geojson"),
        source_dir=str(PATA_RAT),
    )  # fmt: skip
    criteria = load_criteria()
    context = bundled_context(community)
    out = suitability_surface(
        community, context, criteria, {"landfill_m": 1.0}, tmp_path / "s.tif",
        cell_m=250.0, margin_m=1500.0,
    )  # fmt: skip
    assert out.used == {"landfill_m": 1.0}
    with rasterio.open(out.path) as src:
        band = src.read(1)
        assert src.crs.to_epsg() == 32634 and src.nodata == NODATA
        rows, cols = np.indices(band.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    # Independently: distance from each cell centre to the landfill, in UTM 34N via geopandas.
    landfill = gpd.GeoSeries([context.landfill], crs=4326).to_crs(32634).iloc[0]
    centres = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=32634)
    d = centres.distance(landfill).to_numpy()
    expected = (d - d.min()) / (d.max() - d.min())
    inside = d < criteria.exclusions["landfill_buffer_m"]
    got = band.ravel()
    assert np.all(got[inside] == NODATA)
    assert np.allclose(got[~inside], expected[~inside], atol=1e-5)
    assert out.excluded_share == pytest.approx(inside.mean())
