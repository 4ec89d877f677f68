"""Readers: every format lands in EPSG:4326 at the coordinates it was written with."""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

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
    # Tables are numbered as the spreadsheet shows them (header = row 1), features from 1.
    first = 2 if fmt == "csv" else 1
    assert frame["_row"].tolist() == [first, first + 1, first + 2]
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
    assert frame["_row"].tolist() == [2, 3]  # the header is row 1, as in the spreadsheet


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
    assert caught.value.key == "ingest.error.zip_bomb"
    assert "bomb.zip" in str(caught.value) and "zone.shp" in str(caught.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ImportFailed) as caught:
        safe_extract(
            write_zip(tmp_path, "big.zip", {"a.shp": np.random.bytes(3000)}),
            tmp_path / "out2",
            max_bytes=1000,
        )
    assert caught.value.key == "ingest.error.zip_too_large"
    assert not (tmp_path / "out2").exists()


# --- zip attacks: the kernel proves what was written ---------------------------------------

_EXTRACT_IN_CHILD = """
import resource, sys
from pathlib import Path
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from geo.ingest.readers import safe_extract
from geo.ingest.report import ImportFailed
try:
    safe_extract(Path(sys.argv[1]), Path(sys.argv[2]))
except ImportFailed as exc:
    print(exc.key)
except OSError as exc:
    print("wrote past the cap:", exc)
else:
    print("extracted")
"""


def extract_in_child(archive, destination, max_file_bytes: int) -> str:
    """Run safe_extract with the default limits in a process the kernel stops from writing any
    file longer than ``max_file_bytes`` (RLIMIT_FSIZE; Python then gets EFBIG, not a signal)."""
    done = subprocess.run(
        [sys.executable, "-c", _EXTRACT_IN_CHILD, str(archive), str(destination),
         str(max_file_bytes)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def forge_sizes(path, *, file_size: int | None = None, compress_size: int | None = None) -> None:
    """Overwrite the sizes recorded for the archive's only member, in its local header and in
    the central directory, as a hostile archive would."""
    raw = bytearray(path.read_bytes())
    local, central = raw.index(b"PK\x03\x04"), raw.index(b"PK\x01\x02")
    for offset, value in ((18, compress_size), (22, file_size)):  # local header
        if value is not None:
            raw[local + offset : local + offset + 4] = struct.pack("<I", value)
    for offset, value in ((20, compress_size), (24, file_size)):  # central directory
        if value is not None:
            raw[central + offset : central + offset + 4] = struct.pack("<I", value)
    path.write_bytes(bytes(raw))


def test_zip_that_would_fill_the_disk_is_refused_before_writing_a_byte(tmp_path):
    # Issue 8: a 5.2 MB zip declaring 960 MiB (193 times: under the 200-times ratio and the old
    # 1 GiB cap) was unpacked to disk before being refused.  Now: refused from its directory.
    path = tmp_path / "layers.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("zone.shp", np.random.bytes(5_200_000))
    forge_sizes(path, file_size=960 * 1024**2)
    assert extract_in_child(path, tmp_path / "out", 0) == "ingest.error.zip_too_large"
    assert not (tmp_path / "out").exists()
    with pytest.raises(ImportFailed) as caught:
        read_file(path)
    for lang in ("ro", "hu", "en"):
        message = caught.value.message(lang)
        assert "layers.zip" in message and "960" in message and "256" in message


def test_zip_with_a_forged_small_header_writes_no_more_than_it_declares(tmp_path):
    # The directory says 1000 bytes; the stream inflates to 50 MB.  The ratio and the total
    # look harmless, so only the extraction itself can stop it.
    path = write_zip(tmp_path, "forged.zip", {"zone.shp": b"\0" * 50_000_000})
    forge_sizes(path, file_size=1000)
    outcome = extract_in_child(path, tmp_path / "out", 1000)
    assert outcome in {"ingest.error.bad_zip", "ingest.error.zip_forged"}, outcome
    assert not (tmp_path / "out").exists()  # the partial file and its folder are gone
    with pytest.raises(ImportFailed) as caught:
        read_file(path)
    assert "forged.zip" in str(caught.value)


def test_zip_whose_compressed_sizes_exceed_the_archive_is_refused(tmp_path):
    path = write_zip(tmp_path, "liar.zip", {"zone.shp": b"\0" * 10_000_000})
    forge_sizes(path, compress_size=2_000_000_000)  # ratio looks tiny, sizes impossible
    assert extract_in_child(path, tmp_path / "out", 0) == "ingest.error.zip_forged"
    assert not (tmp_path / "out").exists()


def test_unsafe_member_after_safe_ones_leaves_nothing_behind(tmp_path):
    path = write_zip(tmp_path, "mixed.zip", {"layer/ok.shp": b"x" * 100, "../evil.shp": b"y"})
    with pytest.raises(ImportFailed) as caught:
        safe_extract(path, tmp_path / "out")
    assert caught.value.key == "ingest.error.zip_unsafe_path"
    assert not (tmp_path / "out").exists()


def test_ordinary_zip_is_extracted_privately_within_the_limits(tmp_path):
    members = {"a/zone.shp": np.random.bytes(20_000), "a/zone.dbf": b"attr" * 1000}
    path = write_zip(tmp_path, "fine.zip", members)
    extracted = safe_extract(path, tmp_path / "out")
    assert sorted(p.name for p in extracted) == ["zone.dbf", "zone.shp"]
    assert (tmp_path / "out" / "a" / "zone.dbf").read_bytes() == members["a/zone.dbf"]


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
