"""``python -m geo.maps.tiles [LANG ...]``: draw the offline basemap's source and the tiles most
views need (the bundled communities at zoom 12-17, the whole city at zoom 10-13) into the cache
under the data folder, in the given languages (default: ``HARTA_LANGUAGE``).  Tiles already in
the cache are kept; the rest of the map is drawn on first use.  Run by ``scripts/setup``."""

from __future__ import annotations

import sys
import time

from geo.maps.tiles.cache import prerender
from geo.maps.tiles.source import load_source, read_places, world_to_lonlat
from geo.settings import get_settings


def main(argv: list[str]) -> int:
    """Fill the tile cache and print what it cost.

    Parameters
    ----------
    argv : list of str
        Language codes (default: the configured language).

    Returns
    -------
    int
        Exit status.
    """
    langs = argv or [get_settings().language]
    start = time.perf_counter()
    source = load_source()
    settlements = [p for p in read_places() if p.kind == "settlement"]
    total = size = 0
    if settlements:
        xs = [p.x for p in settlements]
        ys = [p.y for p in settlements]
        (west, east), (north, south) = world_to_lonlat([min(xs), max(xs)], [min(ys), max(ys)])
        area = (float(west) - 0.01, float(south) - 0.01, float(east) + 0.01, float(north) + 0.01)
        n, b = prerender(area, range(12, 18), langs)
        total, size = total + n, size + b
    n, b = prerender(source.extent, range(10, 14), langs)
    total, size = total + n, size + b
    print(
        f"basemap: {total} tiles ({size / 1e6:.1f} MB) ready in "
        f"{time.perf_counter() - start:.0f} s under {get_settings().cache_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
