"""Reproduce Harta's bundled map data from the shared OSM sources.

Usage (from the repository root, with the project's virtualenv active)::

    python scripts/prepare_data.py                      # sources in ../shared/data/osm-sources
    python scripts/prepare_data.py --sources DIR        # another copy of the sources
    python scripts/prepare_data.py --keep-boundaries    # do not overwrite boundary.geojson files

It writes:

* ``data/osm/cluj-napoca_drive-network_2025-10-30.osm.bz2`` - the whole city's drivable streets
  (the routing network of Pata Rât and its settlements), bzip2-compressed (4.1 MB -> 0.46 MB;
  the same bytes as ``bzip2 -9``);
* ``data/osm/`` - byte-for-byte copies of the Cluj-Napoca boundary, the neighbourhoods, the
  healthcare facilities and the (city-centre) schools (OSM, ODbL);
* ``data/communities/pata-rat/stops.geojson`` - the CTP stops inside the Pata Rât extract's
  ``<bounds>`` (the extract itself stays in the sources; it is no longer shipped), with the
  routes serving them, extracted from the GTFS zip (which is not shipped);
* ``data/communities/<slug>/boundary.geojson`` for ``pata-rat`` and its four settlements -
  **approximate sketches** drawn by the rules below from the street network and the Pata Rât
  place point.  No official boundary exists in the sources.  Once a boundary has been corrected
  with the community, run with ``--keep-boundaries`` (or remove its rule here).

``community.json`` files are maintained by hand and are not touched.  The script is not run in
CI; it needs the 21 MB source folder.  It only reads local files.
"""

from __future__ import annotations

import argparse
import bz2
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Point, Polygon, mapping

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.gtfs import read_stops  # noqa: E402

DEFAULT_SOURCES = ROOT.parent / "shared" / "data" / "osm-sources"
DATA = ROOT / "data"
METRIC_CRS = 32634  # UTM 34N, Cluj

OSM_EXTRACT = "pata-rat_drive-network_bbox_2025-10-30.osm"
CITY_NETWORK = "cluj-napoca_drive-network_2025-10-30.osm"
OSM_FILES = (
    "cluj-napoca_boundary_2025-10-30.geojson",
    "cluj-napoca_neighbourhoods_2025-10-30.geojson",
    "cluj-napoca_healthcare_2024-05-23.geojson",
    "schools_osm_cluj-napoca-centre_2020-10.geojson",
)
GTFS_ZIP = "ctp-cluj_gtfs_2026-07-02.zip"

# Landmarks read from the sources (see the sources' README).
PATA_RAT_PLACE = Point(23.6897147, 46.7741712)  # place=suburb node 11364321482
CANTONULUI_STOP = Point(23.691748, 46.781544)  # GTFS stop 394
PATA_RAT_STOP = Point(23.685340, 46.771380)  # GTFS stop 726 (no trip serves it)
STRADA_CANTONULUI = (169263653, 1339105684)  # the drivable part of the street and its stub
CALEA_DEZMIRULUI_WEST = (168839800,)  # from Strada Platanilor east to the railway crossing
STRADA_PLATANILOR = (31620678, 359642782)  # access road from Calea Dezmirului to the south
PATA_RAT_LIVING_STREETS = (694535147, 881138068)  # the two small streets east of Platanilor
CENTURA_SOUTH = (48171242,)  # ring road (trunk) bounding the area to the south-east

# Hand-drawn sketch polygons (lon, lat).  Approximate: to be corrected with the community.
# The landfill ("Rampa"): between the Pata Rât place point and the ring road, west of it.
RAMPA_SKETCH = [
    (23.6890, 46.7700),
    (23.6900, 46.7680),
    (23.6925, 46.7695),
    (23.6955, 46.7725),
    (23.6935, 46.7748),
    (23.6900, 46.7735),
]
# Dallas: around the Pata Rât place point, between the landfill and Calea Dezmirului.
DALLAS_SKETCH = [
    (23.6870, 46.7735),
    (23.6900, 46.7735),
    (23.6935, 46.7748),
    (23.6925, 46.7768),
    (23.6880, 46.7766),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    parser.add_argument("--keep-boundaries", action="store_true")
    args = parser.parse_args(argv)
    sources: Path = args.sources
    if not (sources / OSM_EXTRACT).is_file():
        parser.error(f"{sources} does not hold {OSM_EXTRACT}")

    copy_osm_files(sources, DATA / "osm")
    compress(sources / CITY_NETWORK, DATA / "osm" / f"{CITY_NETWORK}.bz2")
    extract = sources / OSM_EXTRACT
    write_stops(sources / GTFS_ZIP, osm_bounds(extract), DATA / "communities" / "pata-rat")
    if not args.keep_boundaries:
        for slug, polygon in sketch_boundaries(extract).items():
            write_geojson_polygon(DATA / "communities" / slug / "boundary.geojson", slug, polygon)
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"data/ holds {size / 1e6:.2f} MB")
    return 0


def copy_osm_files(sources: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in OSM_FILES:
        shutil.copyfile(sources / name, target / name)
        print(f"copied {name}")


def compress(source: Path, target: Path) -> None:
    """bzip2 ``source`` into ``target`` (level 9; osmnx and geo.network read it as it is)."""
    target.write_bytes(bz2.compress(source.read_bytes(), compresslevel=9))
    print(f"compressed {source.name}: {source.stat().st_size:,} -> {target.stat().st_size:,} B")


def osm_bounds(osm_file: Path) -> tuple[float, float, float, float]:
    """The ``<bounds>`` of an OSM XML file as (min lon, min lat, max lon, max lat)."""
    for _, element in ET.iterparse(osm_file, events=("start",)):
        if element.tag == "bounds":
            return tuple(float(element.get(k)) for k in ("minlon", "minlat", "maxlon", "maxlat"))
    raise ValueError(f"{osm_file} has no <bounds>")


def write_stops(gtfs_zip: Path, bounds: tuple[float, float, float, float], folder: Path) -> None:
    stops = read_stops(gtfs_zip, bounds)
    folder.mkdir(parents=True, exist_ok=True)
    features = [
        {
            "type": "Feature",
            "properties": {"stop_id": s.stop_id, "name": s.name, "routes": s.routes},
            "geometry": {
                "type": "Point",
                "coordinates": [round(s.geometry.x, 6), round(s.geometry.y, 6)],
            },
        }
        for s in stops.itertuples(index=False)
    ]
    collection = {
        "type": "FeatureCollection",
        "name": "ctp-cluj-stops-pata-rat-extract",
        "attribution": "Schedule data © CTP Cluj-Napoca (no open-data licence stated)",
        "source": f"{GTFS_ZIP}, stops within {bounds} (lon/lat)",
        "features": features,
    }
    _write_json(folder / "stops.geojson", collection, one_feature_per_line=True)
    print(f"wrote {len(features)} stops to {folder / 'stops.geojson'}")


def ways_by_id(osm_file: Path) -> dict[int, LineString]:
    root = ET.parse(osm_file).getroot()
    nodes = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    return {
        int(way.get("id")): LineString([nodes[nd.get("ref")] for nd in way.iter("nd")])
        for way in root.iter("way")
    }


def sketch_boundaries(osm_file: Path) -> dict[str, Polygon]:
    """The approximate boundaries of Pata Rât and its settlements, by documented rules."""
    ways = ways_by_id(osm_file)

    def lines(ids: tuple[int, ...]) -> gpd.GeoSeries:
        return gpd.GeoSeries([ways[i] for i in ids], crs=4326).to_crs(METRIC_CRS)

    def metric(geometry) -> gpd.GeoSeries:
        return gpd.GeoSeries([geometry], crs=4326).to_crs(METRIC_CRS)

    rampa = metric(Polygon(RAMPA_SKETCH)).union_all()
    dallas = metric(Polygon(DALLAS_SKETCH)).union_all().difference(rampa)
    # Colina Verde: 50 m around the two small streets east of Strada Platanilor.
    colina = lines(PATA_RAT_LIVING_STREETS).buffer(50).union_all()
    colina = colina.difference(rampa).difference(dallas)
    # Cantonului: 60 m along Strada Cantonului, continued up to the Cantonului stop (the
    # street's non-drivable end is missing from the extract).
    street_end = ways[STRADA_CANTONULUI[0]].coords[0]
    to_stop = LineString([street_end, (CANTONULUI_STOP.x, CANTONULUI_STOP.y)])
    cantonului = (
        gpd.GeoSeries([*(ways[i] for i in STRADA_CANTONULUI), to_stop], crs=4326)
        .to_crs(METRIC_CRS)
        .buffer(60)
        .union_all()
    )
    # Pata Rât: everything above plus the access roads, as one shape following them (a
    # concave hull, so the airport north of the Cantonului stop stays out), 80 m around.
    access = lines(CALEA_DEZMIRULUI_WEST + STRADA_PLATANILOR).buffer(60).union_all()
    landmarks = metric(shapely.MultiPoint([PATA_RAT_PLACE, CANTONULUI_STOP, PATA_RAT_STOP]))
    parts = shapely.union_all([rampa, dallas, colina, cantonului, access, landmarks.union_all()])
    hull = shapely.concave_hull(parts, ratio=0.5)
    pata_rat = shapely.union_all([hull, parts]).buffer(80).simplify(10)
    shapes = {
        "pata-rat": pata_rat,
        "cantonului": cantonului.simplify(5),
        "dallas": dallas,
        "rampa": rampa,
        "colina-verde": colina.simplify(5),
    }
    return {
        slug: gpd.GeoSeries(
            [shape.intersection(pata_rat) if slug != "pata-rat" else shape], crs=METRIC_CRS
        )
        .to_crs(4326)
        .iloc[0]
        for slug, shape in shapes.items()
    }


def write_geojson_polygon(path: Path, slug: str, polygon: Polygon) -> None:
    polygon = shapely.set_precision(polygon, 1e-6)
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "slug": slug,
                    "boundary_status": "approximate sketch, to be corrected with the community",
                },
                "geometry": mapping(polygon),
            }
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, collection)
    print(f"wrote {path.relative_to(ROOT)}")


def _write_json(path: Path, data: dict, *, one_feature_per_line: bool = False) -> None:
    if not one_feature_per_line:
        path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    # One stop per line keeps diffs of a refreshed feed readable.
    head = {k: v for k, v in data.items() if k != "features"}
    lines = [json.dumps(f, ensure_ascii=False) for f in data["features"]]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n'
    text += ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
