"""Basemap tiles on disk and over HTTP.

A tile is rendered the first time someone asks for it and kept under the data folder
(``<HARTA_DATA_DIR>/cache/basemap/v<N>/<lang>/<z>/<x>/<y>.png``); later requests read the file.
:class:`TileRoute` is a small ASGI middleware that ``app/serve.py`` puts in front of Streamlit,
so tiles come from the app's own origin (the Content-Security-Policy's ``img-src 'self'``) and
never from the internet.  :func:`prerender` fills the cache ahead of time (``scripts/setup``).
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from geo.i18n import LANGUAGES
from geo.maps.tiles.render import MAX_ZOOM, MIN_ZOOM, render_tile
from geo.maps.tiles.source import cache_root, load_source, lonlat_to_world
from geo.maps.tiles.style import BACKGROUND

#: URL folder of the tiles (served by :class:`TileRoute`).
TILE_PREFIX = "/harta-tiles"
_PATH = re.compile(r"^/harta-tiles/([a-z]{2})/(\d{1,2})/(\d{1,7})/(\d{1,7})\.png$")
_LOCK = threading.Lock()


def tile_url_template(lang: str) -> str:
    """The Leaflet URL template of the basemap in ``lang``.

    Parameters
    ----------
    lang : str
        Language code.

    Returns
    -------
    str
        ``/harta-tiles/<lang>/{z}/{x}/{y}.png`` (same origin as the app).
    """
    return f"{TILE_PREFIX}/{lang}/{{z}}/{{x}}/{{y}}.png"


def tile_file(lang: str, z: int, x: int, y: int) -> Path:
    """Where tile ``z/x/y`` in ``lang`` is cached.

    Parameters
    ----------
    lang : str
    z, x, y : int

    Returns
    -------
    Path
    """
    return cache_root() / lang / str(z) / str(x) / f"{y}.png"


def cached_tile(lang: str, z: int, x: int, y: int) -> bytes:
    """The PNG of a tile: from the disk cache, or rendered now and cached.

    Parameters
    ----------
    lang : str
        One of :data:`geo.i18n.LANGUAGES`.
    z, x, y : int

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        Unknown language or a tile outside the zoom range.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    if not covers_data(z, x, y):
        # Nothing of ours there: one shared empty tile, never written to disk, so requests
        # for the rest of the world cannot fill the disk (or keep the renderer busy).
        return empty_tile()
    path = tile_file(lang, z, x, y)
    if path.exists():
        return path.read_bytes()
    png = render_tile(z, x, y, lang).png
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)  # atomic: a concurrent reader sees the old state or the whole file
    return png


def covers_data(z: int, x: int, y: int) -> bool:
    """Whether tile ``z/x/y`` overlaps the basemap's data (the city and its margin).

    Parameters
    ----------
    z, x, y : int

    Returns
    -------
    bool
    """
    west, south, east, north = load_source().extent
    (x0, x1), (y0, y1) = lonlat_to_world([west, east], [north, south])
    s = 256 / 2**z
    return x * s <= x1 and (x + 1) * s >= x0 and y * s <= y1 and (y + 1) * s >= y0


@lru_cache(maxsize=1)
def empty_tile() -> bytes:
    """A tile of plain background (for the world outside the bundled data).

    Returns
    -------
    bytes
        PNG.
    """
    out = io.BytesIO()
    Image.new("RGB", (256, 256), BACKGROUND).save(out, "PNG")
    return out.getvalue()


def tiles_covering(
    bounds: tuple[float, float, float, float], zooms: Iterable[int]
) -> list[tuple[int, int, int]]:
    """Every tile ``(z, x, y)`` over ``bounds`` at the given zooms.

    Parameters
    ----------
    bounds : tuple of float
        ``(west, south, east, north)`` in degrees.
    zooms : iterable of int

    Returns
    -------
    list of tuple of int
    """
    west, south, east, north = bounds
    (x0, x1), (y0, y1) = lonlat_to_world([west, east], [north, south])
    out = []
    for z in zooms:
        s = 2**z
        for tx in range(int(x0 * s / 256), int(x1 * s / 256) + 1):
            for ty in range(int(y0 * s / 256), int(y1 * s / 256) + 1):
                out.append((z, tx, ty))
    return out


def prerender(
    bounds: tuple[float, float, float, float], zooms: Iterable[int], langs: Iterable[str]
) -> tuple[int, int]:
    """Fill the cache for ``bounds``.

    Parameters
    ----------
    bounds : tuple of float
        ``(west, south, east, north)`` in degrees.
    zooms : iterable of int
    langs : iterable of str

    Returns
    -------
    tuple of int
        ``(tiles, bytes)`` now in the cache for that area.
    """
    count = size = 0
    zooms = list(zooms)
    for lang in langs:
        for z, x, y in tiles_covering(bounds, zooms):
            size += len(cached_tile(lang, z, x, y))
            count += 1
    return count, size


class TileRoute:
    """ASGI middleware answering ``GET /harta-tiles/<lang>/<z>/<x>/<y>.png``; everything else
    goes to the wrapped app.

    Tiles are rendered in a worker thread (the event loop keeps serving the page), one at a
    time per process (rendering is CPU-bound; two cores are shared with the database).
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI entry point.

        Parameters
        ----------
        scope : dict
        receive, send : callable
        """
        match = _PATH.match(scope.get("path", "")) if scope.get("type") == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        lang, z, x, y = match.group(1), *(int(g) for g in match.groups()[1:])
        if lang not in LANGUAGES or not MIN_ZOOM <= z <= MAX_ZOOM or x >= 2**z or y >= 2**z:
            await _reply(send, 404, b"no such tile", "text/plain")
            return
        from anyio import to_thread

        png = await to_thread.run_sync(_locked_tile, lang, z, x, y)
        await _reply(send, 200, png, "image/png")


def _locked_tile(lang: str, z: int, x: int, y: int) -> bytes:
    path = tile_file(lang, z, x, y)
    if covers_data(z, x, y) and path.exists():
        return path.read_bytes()
    with _LOCK:
        return cached_tile(lang, z, x, y)


async def _reply(send: Any, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                # Tiles change only with the bundled data (a new cache version, a new URL).
                (b"cache-control", b"public, max-age=86400"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
