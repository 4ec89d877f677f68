"""Helpers that write import test files into ``tmp_path`` (no binary fixtures in the repository).

Every writer builds its file from the same small rows, so tests can compare what landed in the
database with what went in.  The community square is lon 23.66–23.72, lat 46.76–46.80.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, Polygon

from tests import factories

SLUG = "pata-rat"
SQUARE_WKT = "POLYGON((23.66 46.76,23.72 46.76,23.72 46.80,23.66 46.80,23.66 46.76))"

#: Risk zones: a polygon, a line and a point, coordinates with 7 decimals.
ZONES = [
    {
        "hazard": "landfill_fire_smoke",
        "severity": 5,
        "time_of_day": "night",
        "season": "summer",
        "note": "Fum gros după ora 22",
        "geometry": Polygon(
            [
                (23.6801234, 46.7801234),
                (23.6851234, 46.7801234),
                (23.6851234, 46.7831234),
                (23.6801234, 46.7831234),
                (23.6801234, 46.7801234),
            ]
        ),
    },
    {
        "hazard": "railway_crossing",
        "severity": 4,
        "time_of_day": "always",
        "season": "all_year",
        "note": "Trecere fără barieră",
        "geometry": LineString([(23.6901111, 46.7702222), (23.6955555, 46.7733333)]),
    },
    {
        "hazard": "stray_dogs",
        "severity": 2,
        "time_of_day": "day",
        "season": "winter",
        "note": "Kóbor kutyák",
        "geometry": Point(23.7012345, 46.7898765),
    },
]

#: Points only (for formats and layers that take points).
POINTS = [
    {
        "hazard": "flooding",
        "severity": 3,
        "note": "Apă pe drum",
        "lon": 23.6912345,
        "lat": 46.7712345,
    },
    {
        "hazard": "unlit_path",
        "severity": 4,
        "note": "Fără iluminat",
        "lon": 23.7001234,
        "lat": 46.7854321,
    },
    {
        "hazard": "heavy_traffic",
        "severity": 2,
        "note": "Camioane",
        "lon": 23.6700001,
        "lat": 46.7650002,
    },
]


def insert_community(engine, slug: str = SLUG, wkt: str = SQUARE_WKT) -> int:
    """Insert a community with a square boundary; return its id."""
    return factories.insert_community(engine, slug, name="Pata Rât", wkt=wkt)


def zones_frame(rows: list[dict] | None = None) -> gpd.GeoDataFrame:
    """Risk zone rows as a GeoDataFrame in EPSG:4326."""
    rows = ZONES if rows is None else rows
    return gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geometry"} for r in rows],
        geometry=[r["geometry"] for r in rows],
        crs=4326,
    )


def points_frame(rows: list[dict] | None = None) -> gpd.GeoDataFrame:
    """Point rows as a GeoDataFrame in EPSG:4326."""
    rows = POINTS if rows is None else rows
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=4326,
    )


def write_geojson(tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "zones.geojson") -> Path:
    path = tmp_path / name
    frame.to_file(path, driver="GeoJSON")
    return path


def write_gpkg(
    tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "zones.gpkg", layer: str = "zone"
) -> Path:
    path = tmp_path / name
    frame.to_file(path, driver="GPKG", layer=layer)
    return path


def write_shapefile_zip(
    tmp_path: Path,
    frame: gpd.GeoDataFrame,
    name: str = "zones.zip",
    epsg: int = 3844,
    with_prj: bool = True,
) -> Path:
    """A zipped Shapefile in ``epsg`` (Stereo70 by default), as QGIS users send them."""
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    frame.to_crs(epsg).to_file(folder / "zone.shp", driver="ESRI Shapefile", encoding="UTF-8")
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.iterdir()):
            if part.suffix == ".prj" and not with_prj:
                continue
            zf.write(part, f"zone/{part.name}")
    return path


def write_kml(tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "zones.kml") -> Path:
    path = tmp_path / name
    frame.to_file(path, driver="KML")
    return path


def write_kmz(tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "zones.kmz") -> Path:
    """A KMZ whose document has two folders (layers), like a Google Earth export."""
    first = write_kml(tmp_path, frame.iloc[:2], "first.kml").read_text(encoding="utf-8")
    second = write_kml(tmp_path, frame.iloc[2:], "second.kml").read_text(encoding="utf-8")
    folder_two = second[second.index("<Folder>") : second.rindex("</Folder>") + len("</Folder>")]
    folder_two = folder_two.replace("<name>second</name>", "<name>more</name>", 1)
    # Both folders share the first document's attribute schema.
    folder_two = folder_two.replace('schemaUrl="#second"', 'schemaUrl="#first"')
    combined = first.replace("</Document>", folder_two + "</Document>")
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", combined)
        zf.writestr("files/readme.txt", "icons would go here")
    return path


def write_gpx(tmp_path: Path, name: str = "walk.gpx") -> Path:
    """Two waypoints and a track, with Harta attributes in <extensions> as GDAL writes them."""
    waypoint = (
        '<wpt lat="{lat}" lon="{lon}"><name>{n}</name><type>{hazard}</type>'
        "<extensions><ogr:severity>{severity}</ogr:severity></extensions></wpt>"
    )
    waypoints = "".join(
        waypoint.format(n=f"P{i}", **{k: v for k, v in row.items() if k != "note"})
        for i, row in enumerate(POINTS[:2], 1)
    )
    track_points = "".join(
        f'<trkpt lat="{lat}" lon="{lon}"><ele>350</ele></trkpt>'
        for lon, lat in [(23.6901111, 46.7702222), (23.6955555, 46.7733333)]
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:ogr="http://osgeo.org/gdal">'
        f"{waypoints}<trk><name>T</name><type>railway_crossing</type>"
        "<extensions><ogr:severity>4</ogr:severity></extensions>"
        f"<trkseg>{track_points}</trkseg></trk></gpx>"
    )
    path = tmp_path / name
    path.write_text(document, encoding="utf-8")
    return path


def write_text(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding=encoding)
    return path


def write_csv_latlon(
    tmp_path: Path, rows: list[dict] | None = None, name: str = "points.csv"
) -> Path:
    """Romanian headers, as a police spreadsheet would have them."""
    rows = POINTS if rows is None else rows
    frame = pd.DataFrame(
        {
            "Pericol": [r["hazard"] for r in rows],
            "Severitate": [r["severity"] for r in rows],
            "Notă": [r["note"] for r in rows],
            "Latitudine": [r["lat"] for r in rows],
            "Longitudine": [r["lon"] for r in rows],
        }
    )
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def write_csv_wkt(tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "zones_wkt.csv") -> Path:
    """QGIS "Save as CSV, GEOMETRY=AS_WKT" style, with Hungarian headers."""
    table = pd.DataFrame(
        {
            "WKT": frame.geometry.to_wkt(rounding_precision=-1),
            "veszély": frame["hazard"],
            "súlyosság": frame["severity"],
            "megjegyzés": frame["note"],
        }
    )
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def write_kobo_geopoint_csv(tmp_path: Path, name: str = "kobo.csv") -> Path:
    """A KoBoToolbox export: ``;`` separated, geopoint "lat lon alt acc", meta columns."""
    lines = ["start;end;grup/pericol;grup/severitate;locatie;_id;_uuid;_submission_time"]
    for i, row in enumerate(POINTS, 1):
        lines.append(
            f"2025-05-01T10:00:00.000+03:00;2025-05-01T10:05:00.000+03:00;{row['hazard']};"
            f"{row['severity']};{row['lat']} {row['lon']} 352.5 4.8;{i};uuid-{i};"
            "2025-05-01T10:06:00"
        )
    return write_text(tmp_path, name, "\n".join(lines) + "\n")


def write_kobo_split_csv(tmp_path: Path, name: str = "kobo_split.csv") -> Path:
    """A KoBoToolbox export with split ``_location_latitude``/``_location_longitude`` columns."""
    lines = [
        "pericol,severitate,location,_location_latitude,_location_longitude,"
        "_location_altitude,_location_precision,_id"
    ]
    for i, row in enumerate(POINTS, 1):
        lines.append(
            f"{row['hazard']},{row['severity']},{row['lat']} {row['lon']} 0 5,"
            f"{row['lat']},{row['lon']},0,5,{i}"
        )
    return write_text(tmp_path, name, "\n".join(lines) + "\n")


def write_kobo_geoshape_csv(tmp_path: Path, name: str = "kobo_shape.csv") -> Path:
    """A KoBo geoshape (closed ring, latitude first) and a geotrace."""
    ring = [(46.781, 23.681), (46.781, 23.684), (46.783, 23.684), (46.781, 23.681)]
    trace = [(46.771, 23.691), (46.772, 23.692), (46.773, 23.694)]
    shape = ";".join(f"{lat} {lon} 0 0" for lat, lon in ring)
    line = ";".join(f"{lat} {lon} 0 0" for lat, lon in trace)
    content = f"pericol,severitate,zona\nflooding,3,{shape}\nrailway_crossing,4,{line}\n"
    return write_text(tmp_path, name, content)


def write_incidents_csv(tmp_path: Path, rows: list[dict], name: str = "incidente.csv") -> Path:
    """An incident spreadsheet (columns as given)."""
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def write_zip(tmp_path: Path, name: str, members: dict[str, bytes]) -> Path:
    """A zip archive with arbitrary member names (e.g. ``../evil.shp``)."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path
