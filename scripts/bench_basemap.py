"""Benchmark the offline basemap (geo.maps.tiles): what a fresh machine pays, and what a map
view costs in bytes, against the basemap it replaces.

Measured in one run, in a fresh scratch cache folder (``HARTA_DATA_DIR`` is set to a temporary
folder before Harta is imported, so nothing of a real installation is touched):

(a) source: parsing the city's OSM file, the WorldCover masks and the sketches, then writing
    the source cache; and reading that cache again (every later server start);
(b) tiles: render time (CPU and wall) and PNG bytes per tile at each zoom 10-18 over Pata Rât
    and over the city centre (a 3 x 3 block each);
(c) first start: pre-rendering every tile over Pata Rât at zoom 12-17 and over the whole city
    at zoom 10-13, in one language (what ``scripts/setup`` can do once);
(d) a map view: the bytes of the tiles that fill a 1400 x 900 map at zoom 15 over Pata Rât,
    against the BASELINE "vector streets in the page": the previous offline basemap (every
    street of the city's network as a folium GeoJson layer inside the map's HTML, as
    ``base_map(..., basemap=False, streets=...)`` still draws it).

Run: ``python scripts/bench_basemap.py`` (about a minute).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["HARTA_DATA_DIR"] = tempfile.mkdtemp(prefix="harta-bench-basemap-")

PATA_RAT = (23.676, 46.765, 23.705, 46.785)
CENTRE = (23.5897, 46.7700)


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    cpu, wall = _clock()
    return cpu - start[0], wall - start[1]


def bench_source() -> None:
    from geo.maps.tiles import source

    start = _clock()
    src = source.load_source()
    cpu, wall = _since(start)
    size = (source.cache_root() / "source.pickle").stat().st_size
    print(
        f"(a) source built: {wall:.2f} s wall, {cpu:.2f} s CPU; {len(src.streets)} ways, "
        f"{len(src.named)} named street pieces, {len(src.places)} places; cache {size / 1e6:.1f} MB"
    )
    source.load_source.cache_clear()
    start = _clock()
    source.load_source()
    cpu, wall = _since(start)
    print(f"    source read from cache: {wall:.2f} s wall, {cpu:.2f} s CPU")


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    from geo.maps.tiles.source import lonlat_to_world

    x, y = lonlat_to_world(lon, lat)
    return int(x * 2**z / 256), int(y * 2**z / 256)


def bench_tiles() -> None:
    from geo.maps.tiles import render_tile

    print("(b) zoom | place  | ms/tile (median wall, CPU) | kB/tile (mean) | labels/tile")
    for z in range(10, 19):
        for name, (lon, lat) in (("PataRat", (23.690, 46.776)), ("centre", CENTRE)):
            cx, cy = _tile_of(lon, lat, z)
            walls, cpus, sizes, labels = [], [], [], []
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    start = _clock()
                    tile = render_tile(z, cx + dx, cy + dy, "ro")
                    cpu, wall = _since(start)
                    walls.append(wall * 1000)
                    cpus.append(cpu * 1000)
                    sizes.append(len(tile.png) / 1000)
                    labels.append(len(tile.labels))
            print(
                f"    {z:4d} | {name:7s}| {statistics.median(walls):6.1f} "
                f"({statistics.median(cpus):6.1f})           | {statistics.mean(sizes):6.1f}"
                f"         | {statistics.mean(labels):4.1f}"
            )


def bench_first_start() -> None:
    from geo.maps.tiles import prerender
    from geo.maps.tiles.source import load_source

    for label, bounds, zooms in (
        ("Pata Rat z12-17", PATA_RAT, range(12, 18)),
        ("city z10-13", load_source().extent, range(10, 14)),
    ):
        start = _clock()
        n, size = prerender(bounds, zooms, ["ro"])
        cpu, wall = _since(start)
        print(
            f"(c) pre-render {label}: {n} tiles, {size / 1e6:.1f} MB, {wall:.1f} s wall "
            f"({cpu:.1f} s CPU), {1000 * wall / max(n, 1):.0f} ms/tile"
        )


def bench_view() -> None:
    import geopandas as gpd
    from shapely.geometry import LineString

    from geo.maps import base_map, render
    from geo.maps.tiles import cached_tile
    from geo.maps.tiles.source import load_source, world_to_lonlat

    z, (w, h) = 15, (1400, 900)
    cx, cy = _tile_of(23.690, 46.776, z)
    nx, ny = w // 256 + 2, h // 256 + 2
    tiles = sum(
        len(cached_tile("ro", z, cx + dx, cy + dy))
        for dx in range(-(nx // 2), nx - nx // 2)
        for dy in range(-(ny // 2), ny - ny // 2)
    )
    bare = len(render(base_map(PATA_RAT, online=False, lang="ro")))
    src = load_source()
    lines = []
    for line in src.streets:
        xs, ys = zip(*line.coords, strict=True)
        lon, lat = world_to_lonlat(list(xs), list(ys))
        lines.append(LineString(list(zip(lon, lat, strict=True))))
    streets = gpd.GeoDataFrame(
        {"highway": src.street_class, "name": src.street_name}, geometry=lines, crs=4326
    )
    start = _clock()
    old = render(base_map(PATA_RAT, online=False, basemap=False, streets=streets, lang="ro"))
    _, old_wall = _since(start)
    baseline = len(old) - bare
    print(
        f"(d) one 1400x900 view at z15 over Pata Rat: {nx * ny} tiles, {tiles / 1e3:.0f} kB "
        f"(cached by the browser after the first view)"
    )
    print(
        f"    BASELINE vector streets in the page: {baseline / 1e6:.2f} MB of map HTML "
        f"({old_wall:.1f} s to build), sent on every page run"
    )
    print(f"    ratio baseline/tiles: {baseline / max(tiles, 1):.1f}x fewer bytes with tiles")


if __name__ == "__main__":
    bench_source()
    bench_tiles()
    bench_first_start()
    bench_view()
