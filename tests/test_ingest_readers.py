"""Readers: every format lands in EPSG:4326 at the coordinates it was written with."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pytest
import shapely

from geo.ingest.readers import detect_format, read_file, safe_extract
from geo.ingest.report import ImportFailed
from tests.fixtures_ingest import (
    POINTS,
    ZONES,
    points_frame,
    write_csv_latlon,
    write_csv_wkt,
    write_geojson,
    write_gpkg,
    write_gpx,
    write_kml,
    write_kmz,
    write_kobo_geopoint_csv,
    write_kobo_geoshape_csv,
    write_kobo_split_csv,
    write_shapefile_zip,
    write_text,
    write_zip,
    zones_frame,
)

TOLERANCE_DEG = 1e-6


@pytest.fixture(autouse=True)
def _quiet_gdal():
    # Shapefile field-name truncation warnings are expected in these fixtures.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _assert_same_geometries(read, expected) -> None:
    assert len(read) == len(expected)
    for got, want in zip(read, expected, strict=True):
        assert shapely.equals_exact(got, want, tolerance=TOLERANCE_DEG), (got.wkt, want.wkt)


def _point_geometries():
    return [shapely.Point(p["lon"], p["lat"]) for p in POINTS]


@pytest.mark.parametrize(
    ("writer", "fmt"),
    [
        (lambda d: write_geojson(d, zones_frame()), "geojson"),
        (lambda d: write_gpkg(d, zones_frame()), "gpkg"),
        (lambda d: write_kml(d, zones_frame()), "kml"),
        (lambda d: write_kmz(d, zones_frame()), "kmz"),
        (lambda d: write_csv_wkt(d, zones_frame()), "csv"),
    ],
)
def test_mixed_geometry_formats_keep_coordinates(tmp_path, writer, fmt):
    frame = read_file(writer(tmp_path))
    assert frame.attrs["format"] == fmt
    assert frame.crs.to_epsg() == 4326
    assert frame["_row"].tolist() == [1, 2, 3]
    _assert_same_geometries(frame.geometry, [z["geometry"] for z in ZONES])


@pytest.mark.parametrize(
    ("writer", "fmt"),
    [
        (lambda d: write_shapefile_zip(d, points_frame()), "shapefile_zip"),
        (write_csv_latlon, "csv"),
        (write_kobo_geopoint_csv, "kobo_csv"),
        (write_kobo_split_csv, "kobo_csv"),
    ],
)
def test_point_formats_keep_coordinates(tmp_path, writer, fmt):
    frame = read_file(writer(tmp_path))
    assert frame.attrs["format"] == fmt
    assert frame.crs.to_epsg() == 4326
    _assert_same_geometries(frame.geometry, _point_geometries())


def test_shapefile_crs_comes_from_prj(tmp_path):
    path = write_shapefile_zip(tmp_path, points_frame(), epsg=3844)
    with zipfile.ZipFile(path) as zf:
        prj = zf.read("zone/zone.prj").decode()
    assert "Stereo" in prj or "Stereographic" in prj
    frame = read_file(path)
    _assert_same_geometries(frame.geometry, _point_geometries())


def test_shapefile_without_prj_needs_crs(tmp_path):
    path = write_shapefile_zip(tmp_path, points_frame(), with_prj=False)
    with pytest.raises(ImportFailed, match="zones.zip") as caught:
        read_file(path)
    assert caught.value.key == "ingest.error.crs_unknown"
    frame = read_file(path, crs="EPSG:3844")
    _assert_same_geometries(frame.geometry, _point_geometries())


def test_shapefile_crs_conflict_is_refused(tmp_path):
    path = write_shapefile_zip(tmp_path, points_frame(), epsg=3844)
    with pytest.raises(ImportFailed) as caught:
        read_file(path, crs="EPSG:31700")
    assert caught.value.key == "ingest.error.crs_conflict"


def test_gpx_reads_waypoints_and_tracks(tmp_path):
    frame = read_file(write_gpx(tmp_path))
    assert frame.attrs["format"] == "gpx"
    assert frame["_row"].tolist() == [1, 2, 3]
    assert frame.geometry.geom_type.tolist() == ["Point", "Point", "MultiLineString"]
    _assert_same_geometries(frame.geometry[:2], _point_geometries()[:2])
    assert frame["severity"].astype(str).tolist() == ["3", "4", "4"]
    assert "ele" not in frame.columns


def test_kmz_reads_every_folder(tmp_path):
    frame = read_file(write_kmz(tmp_path, zones_frame()))
    assert sorted(frame["_layer"].unique()) == ["first", "more"]
    assert frame["hazard"].tolist() == [z["hazard"] for z in ZONES]


def test_kobo_geoshape_and_geotrace(tmp_path):
    frame = read_file(write_kobo_geoshape_csv(tmp_path))
    assert frame.geometry.geom_type.tolist() == ["Polygon", "LineString"]
    # KoBo writes latitude first; the polygon must have x = longitude.
    assert frame.geometry.iloc[0].bounds == pytest.approx((23.681, 46.781, 23.684, 46.783))


def test_csv_stereo70_metres_with_crs(tmp_path):
    stereo = points_frame().to_crs(3844)
    lines = ["x;y;pericol;severitate"] + [
        f"{p.x:.3f};{p.y:.3f};flooding;3".replace(".", ",") for p in stereo.geometry
    ]
    path = write_text(tmp_path, "stereo.csv", "\n".join(lines))
    frame = read_file(path, crs="EPSG:3844")
    _assert_same_geometries(frame.geometry, _point_geometries())


def test_csv_metres_without_crs_is_refused(tmp_path):
    path = write_text(tmp_path, "stereo.csv", "x,y,pericol\n392000.5,588000.2,flooding\n")
    with pytest.raises(ImportFailed) as caught:
        read_file(path)
    assert caught.value.key == "ingest.error.coordinates_not_degrees"
    assert "stereo.csv" in str(caught.value)


def test_csv_semicolons_decimal_commas_and_cp1250(tmp_path):
    content = "Latitudine;Longitudine;Notă\n46,7712345;23,6912345;Lângă groapă\n"
    path = write_text(tmp_path, "excel.csv", content, encoding="cp1250")
    frame = read_file(path)
    _assert_same_geometries(frame.geometry, _point_geometries()[:1])
    assert frame["Notă"].tolist() == ["Lângă groapă"]


def test_csv_unparseable_coordinates_give_missing_geometry(tmp_path):
    path = write_text(tmp_path, "bad.csv", "lat,lon,pericol\n46.77,23.69,flooding\nabc,,drugs\n")
    frame = read_file(path)
    assert frame.geometry.iloc[1] is None
    assert frame["_row"].tolist() == [1, 2]


def test_csv_without_coordinates_names_the_file(tmp_path):
    path = write_text(tmp_path, "fara.csv", "pericol,severitate\nflooding,3\n")
    with pytest.raises(ImportFailed, match="fara.csv") as caught:
        read_file(path)
    assert caught.value.key == "ingest.error.csv_no_geometry"


def test_ewkt_srid_is_used(tmp_path):
    point = points_frame().to_crs(3844).geometry.iloc[0]
    path = write_text(tmp_path, "ewkt.csv", f'wkt,pericol\n"SRID=3844;{point.wkt}",flooding\n')
    frame = read_file(path)
    _assert_same_geometries(frame.geometry, _point_geometries()[:1])


@pytest.mark.parametrize(
    "member", ["../evil.shp", "/etc/evil.shp", "a/../../evil.shp", "..\\evil.shp", "C:/evil.shp"]
)
def test_zip_path_traversal_is_refused(tmp_path, member):
    path = write_zip(tmp_path, "evil.zip", {member: b"x", "ok.dbf": b"y"})
    with pytest.raises(ImportFailed) as caught:
        read_file(path)
    assert caught.value.key == "ingest.error.zip_unsafe_path"
    assert "evil.zip" in str(caught.value)
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_bomb_is_refused(tmp_path):
    path = write_zip(tmp_path, "bomb.zip", {"zone.shp": b"\0" * 5_000_000})
    with pytest.raises(ImportFailed) as caught:
        safe_extract(path, tmp_path / "out")
    assert caught.value.key == "ingest.error.zip_too_large"
    with pytest.raises(ImportFailed):
        safe_extract(
            write_zip(tmp_path, "big.zip", {"a.shp": np.random.bytes(3000)}),
            tmp_path / "out2",
            max_bytes=1000,
        )


def test_zip_symlink_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    info = zipfile.ZipInfo("zone.shp")
    info.external_attr = 0o120777 << 16  # a symbolic link
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ImportFailed) as caught:
        read_file(path)
    assert caught.value.key == "ingest.error.zip_unsafe_path"


def test_unreadable_files_name_the_file(tmp_path):
    broken = write_text(tmp_path, "broken.geojson", '{"type": "FeatureCollection", "feat')
    with pytest.raises(ImportFailed, match="broken.geojson"):
        read_file(broken)
    empty = write_text(tmp_path, "empty.kml", "")
    with pytest.raises(ImportFailed, match="empty.kml"):
        read_file(empty)
    with pytest.raises(ImportFailed, match="missing.gpkg"):
        read_file(tmp_path / "missing.gpkg")


def test_format_detected_from_content_not_only_extension(tmp_path):
    path = write_geojson(tmp_path, zones_frame(), name="export.txt")
    assert detect_format(path) == "geojson"
    gpkg = write_gpkg(tmp_path, zones_frame(), name="renamed.dat")
    assert detect_format(gpkg) == "gpkg"


def test_gpkg_layer_choice(tmp_path):
    path = write_gpkg(tmp_path, zones_frame(), layer="zones")
    points_frame().to_file(path, driver="GPKG", layer="points")
    with pytest.raises(ImportFailed) as caught:
        read_file(path)
    assert caught.value.key == "ingest.error.choose_layer"
    assert len(read_file(path, source_layer="points")) == len(POINTS)
