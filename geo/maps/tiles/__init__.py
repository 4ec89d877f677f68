"""The offline basemap: raster tiles rendered from the bundled data, cached on disk.

* :mod:`~geo.maps.tiles.source` -- streets, places, land cover and the sketched railway and
  landfill, read once;
* :mod:`~geo.maps.tiles.render` -- :func:`render_tile` (PNG + the labels it placed);
* :mod:`~geo.maps.tiles.cache` -- the disk cache, the URL the maps use, and the ASGI route
  ``app/serve.py`` mounts (``/harta-tiles/<lang>/<z>/<x>/<y>.png``).
"""

from __future__ import annotations

from geo.maps.tiles.cache import (
    TILE_PREFIX,
    TileRoute,
    cached_tile,
    prerender,
    tile_url_template,
)
from geo.maps.tiles.render import MAX_ZOOM, MIN_ZOOM, Tile, render_tile
from geo.maps.tiles.text import Label

__all__ = [
    "MAX_ZOOM",
    "MIN_ZOOM",
    "TILE_PREFIX",
    "Label",
    "Tile",
    "TileRoute",
    "cached_tile",
    "prerender",
    "render_tile",
    "tile_url_template",
]
