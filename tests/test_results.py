"""One result shape and one calling convention for every analysis (geo.results).

Every analysis is built from data and a Community, then ``.solve()``d; every result has
``params``, ``too_few`` and ``message(lang)`` -- in all three languages when it was not run.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, box

from geo.analysis.compare import PerceivedVsRecorded
from geo.analysis.density import KernelDensity
from geo.analysis.hotspots import HotspotAnalysis
from geo.analysis.trends import EmergingHotspots
from geo.communities.model import Community
from geo.crs import to_crs
from geo.results import AnalysisResult

AREA = box(23.60, 46.76, 23.72, 46.80)
#: A community built in memory (no database): what Community.load returns for this area.
PLACE = Community(
    id=1,
    slug="t",
    name="T",
    kind="community",
    parent_id=None,
    parent_slug=None,
    settlement_ids=(),
    timezone="Europe/Sofia",
    crs=to_crs(32634),
    geometry=MultiPolygon([AREA]),
)


def incidents(n: int, seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = np.r_[rng.uniform(23.61, 23.71, n - n // 3), rng.normal(23.65, 0.002, n // 3)]
    lat = np.r_[rng.uniform(46.765, 46.795, n - n // 3), rng.normal(46.78, 0.001, n // 3)]
    times = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    return gpd.GeoDataFrame({"occurred_at": times}, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [1]}, geometry=[Point(23.65, 46.78)], crs=4326)


def analyses(points: gpd.GeoDataFrame):
    hotspots = HotspotAnalysis(points, PLACE, cell_size_m=250).solve()
    return [
        hotspots,
        EmergingHotspots(points, PLACE, cell_size_m=250).solve(),
        KernelDensity(points, PLACE).solve(),
        PerceivedVsRecorded(zones(), hotspots, PLACE).solve(),
    ]


def test_every_result_has_the_shape_when_run():
    for result in analyses(incidents(400)):
        assert isinstance(result, AnalysisResult), type(result)
        assert result.too_few is False and result.message("ro") is None
        assert result.params["crs"] == "EPSG:32634", type(result)


@pytest.mark.parametrize("n", [0, 5])
def test_every_result_says_why_it_was_not_run_in_every_language(n):
    results = analyses(incidents(n)) if n else analyses(incidents(3).iloc[:0])
    for result in results:
        if isinstance(result, type(results[2])) and n:
            continue  # a density of five points is a density
        assert result.too_few, type(result)
        texts = {lang: result.message(lang) for lang in ("ro", "hu", "en")}
        assert all(texts.values()) and len(set(texts.values())) == 3, texts


def test_a_community_gives_area_crs_and_time_zone():
    points = incidents(400)
    by_community = HotspotAnalysis(points, PLACE, cell_size_m=250).solve()
    by_hand = HotspotAnalysis(points, AREA, "EPSG:32634", cell_size_m=250).solve()
    pd.testing.assert_frame_equal(
        pd.DataFrame(by_community.cells.drop(columns="geometry")),
        pd.DataFrame(by_hand.cells.drop(columns="geometry")),
    )
    trends = EmergingHotspots(points, PLACE, cell_size_m=250)
    assert trends.tz == "Europe/Sofia"
    with pytest.raises(TypeError, match="crs"):
        HotspotAnalysis(points, AREA)
