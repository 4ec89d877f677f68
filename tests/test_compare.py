"""Perceived vs recorded: a hand-made case with known answers."""

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from geo.analysis.compare import PerceivedVsRecorded, label_text
from geo.analysis.hotspots import HotspotAnalysis

CRS = "EPSG:32634"


@pytest.fixture(scope="module")
def origin():
    centre = gpd.GeoSeries.from_xy([23.65], [46.78], crs=4326).to_crs(CRS).iloc[0]
    return round(centre.x), round(centre.y)


def metric(geometries, origin):
    x0, y0 = origin
    from shapely.affinity import translate

    return gpd.GeoSeries([translate(g, x0, y0) for g in geometries], crs=CRS).to_crs(4326)


def test_labels_on_a_hand_made_case(origin):
    # Cells (200 m squares stand in for hexagons): A, C, D hot at >= 95 %; B only at 90 %.
    cells = gpd.GeoDataFrame(
        {"cell_id": ["A", "B", "C", "D"], "gi_bin": [3, 1, 2, 3]},
        geometry=metric(
            [
                box(0, 0, 200, 200),
                box(1000, 0, 1200, 200),
                box(2000, 0, 2200, 200),
                box(3000, 0, 3200, 200),
            ],
            origin,
        ),
    )
    zones = gpd.GeoDataFrame(
        {"name": ["overlaps A", "line near C", "point far away", "touches D", "on B"]},
        geometry=metric(
            [
                box(150, 150, 400, 400),  # shares a 50 m × 50 m corner with A
                LineString([(1900, 260), (2300, 260)]),  # 60 m north of C; 100 m buffer reaches
                Point(5000, 5000),
                box(3200, 0, 3400, 200),  # shares only an edge with D
                Point(1100, 100),  # inside B, which is not hot at 95 %
            ],
            origin,
        ),
    )
    out = (
        PerceivedVsRecorded(zones, cells, crs=CRS, confidence=0.95, zone_id_column="name")
        .solve()
        .features
    )
    labels = dict(
        zip(out["source"] + ":" + out["source_id"].astype(str), out["label"], strict=True)
    )
    assert labels == {
        "zone:overlaps A": "perceived_and_recorded",
        "zone:line near C": "perceived_and_recorded",
        "zone:point far away": "perceived_only",
        "zone:touches D": "perceived_only",
        "zone:on B": "perceived_only",
        "hotspot:A": "perceived_and_recorded",
        "hotspot:C": "perceived_and_recorded",
        "hotspot:D": "recorded_only",
    }
    first = out.set_index("source_id").loc["overlaps A"]
    assert first["overlap_m2"] == pytest.approx(2500, rel=1e-3)
    assert first["n_overlapping"] == 1 and first["buffer_m"] == 0
    assert out.set_index("source_id").loc["line near C", "buffer_m"] == 100
    assert out.crs.to_epsg() == 4326
    assert out.set_index("source_id").loc["point far away"].geometry.geom_type == "Point"
    # At 90 % confidence B becomes hot and the point inside it is confirmed.
    at_90 = (
        PerceivedVsRecorded(zones, cells, crs=CRS, confidence=0.90, zone_id_column="name")
        .solve()
        .features
    )
    assert at_90.set_index("source_id").loc["on B", "label"] == "perceived_and_recorded"


def test_labels_are_translated():
    assert label_text("perceived_only", "ro") == "Doar perceput"
    assert label_text("recorded_only", "hu") == "Csak rögzített"
    assert label_text("perceived_and_recorded", "en") == "Perceived and recorded"


def test_zones_are_not_compared_when_hotspots_had_too_few_incidents(origin):
    points = gpd.GeoDataFrame(geometry=metric([Point(0, 0)] * 5, origin), crs="EPSG:4326")
    area = metric([box(-2000, -2000, 2000, 2000)], origin).iloc[0]
    result = HotspotAnalysis(points, area, CRS, cell_size_m=200).solve()
    zones = gpd.GeoDataFrame(geometry=metric([Point(0, 0)], origin), crs="EPSG:4326")
    out = PerceivedVsRecorded(zones, result, crs=CRS).solve().features
    assert result.too_few and out["label"].tolist() == ["not_compared"]
    assert label_text("not_compared", "ro").startswith("Necomparat")
