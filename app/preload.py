"""Warm a fresh server in the background, so no visitor pays its first-visit costs (issue 11.11).

Measured at 100,000 incidents (``scripts/bench_pages.py``, cold visit, police): the first
Hotspots visit of a new server took 6.6-9.9 s against 2.3-2.9 s warm.  Two costs made the
difference: the analysis stack's imports (``geo.analysis`` pulls scipy.stats, scipy.optimize,
scipy.spatial: about 1 s of the page's own script), and the offline basemap's source (the city's
OSM file parsed once per process by :func:`geo.maps.tiles.source.load_source`), which the first
tiles of the Map page started building in every tile thread at once, all competing with the page
for the interpreter.

:func:`start` runs :func:`warm` in a daemon thread from ``app/serve.py``: the server answers at
once while this runs.  :func:`warm` imports the libraries the pages import (read from their
source, so a new page or import is warmed without editing this file; Hotspots and Map first),
then loads the basemap source and the metric transformations of the bundled communities.

It leaves alone the app's own modules (``harta_ui``, ``map_frame`` ...) and every
``streamlit*`` package: a Streamlit component registers itself only when its module is first
imported *inside a page run* (``declare_component`` needs the script's context), so importing
``streamlit_folium`` here would leave every map frame a 404.  They are light (0.15 s).  It never
touches the database either: it may start before the database is up, and what it warms is the
same for every visitor.  A failure is logged and the server carries on: a page then pays that
cost itself, as before.
"""

from __future__ import annotations

import ast
import importlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
SCREENS_DIR = APP_DIR / "screens"
#: Pages warmed first: the ones people open first and the heaviest.
FIRST = ("hotspots.py", "map.py")


def page_imports(screens: Path = SCREENS_DIR) -> list[tuple[str, tuple[str, ...]]]:
    """What the pages import at their top level: ``(module, names)`` in page order, once each.

    ``import a.b`` gives ``("a.b", ())``; ``from a import b, c`` gives ``("a", ("b", "c"))``.
    Relative imports and ``__future__`` are left out.

    Parameters
    ----------
    screens : Path
        The folder of the page scripts.

    Returns
    -------
    list of (str, tuple of str)
    """
    files = sorted(screens.glob("*.py"), key=lambda p: (p.name not in FIRST, _rank(p.name)))
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for path in files:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            for item in _imports_of(node):
                if item not in seen and item[0] != "__future__":
                    seen.add(item)
                    out.append(item)
    return out


def _rank(name: str) -> int:
    return FIRST.index(name) if name in FIRST else len(FIRST)


def _imports_of(node: ast.stmt) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(node, ast.Import):
        return [(alias.name, ()) for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [(node.module, tuple(alias.name for alias in node.names))]
    return []


def warmable(module: str, app_dir: Path = APP_DIR) -> bool:
    """Whether the preload may import ``module``: not one of the app's own (a file or package in
    ``app/``) and not a ``streamlit*`` package (see the module docstring: components register
    only inside a page run).

    Parameters
    ----------
    module : str
    app_dir : Path

    Returns
    -------
    bool
    """
    top = module.split(".")[0]
    own = (app_dir / f"{top}.py").is_file() or (app_dir / top / "__init__.py").is_file()
    return not own and not top.startswith("streamlit")


def import_names(module: str, names: tuple[str, ...]) -> None:
    """Do what ``from module import names`` does (``import module`` without names).

    Parameters
    ----------
    module : str
    names : tuple of str
        Attributes or submodules (packages that load names on first use, like
        :mod:`geo.network`, load them here).
    """
    loaded = importlib.import_module(module)
    for name in names:
        if name != "*" and not hasattr(loaded, name):
            importlib.import_module(f"{module}.{name}")


def _warm_caches() -> None:
    """The basemap source and the transformations every page's first map builds."""
    from geo import crs
    from geo.communities import bundled_sources
    from geo.maps.tiles.source import load_source
    from geo.settings import get_settings

    if not get_settings().online:  # online maps draw OpenStreetMap's tiles, not ours
        load_source()
    for source in bundled_sources():
        if source.metric_crs:
            crs.transformer(4326, f"EPSG:{source.metric_crs}")
            crs.transformer(f"EPSG:{source.metric_crs}", 4326)


def warm(screens: Path = SCREENS_DIR, *, log: Callable[[str], None] | None = None) -> dict:
    """Import the libraries the pages import and fill the process-wide caches; never raises.

    Parameters
    ----------
    screens : Path
        The page scripts.
    log : callable, optional
        Receives one line per failure and a summary (default: Streamlit's logger).

    Returns
    -------
    dict
        Seconds per step (``"imports"``, ``"caches"``, ``"total"``) and ``"failed"``, how many
        steps raised.
    """
    log = log or _logger().info
    started = time.perf_counter()
    times: dict[str, float] = {"failed": 0}
    steps: list[tuple[str, list[Callable[[], None]]]] = [
        ("imports", [_step(m, n) for m, n in page_imports(screens) if warmable(m)]),
        ("caches", [_warm_caches]),
    ]
    for name, calls in steps:
        t0 = time.perf_counter()
        for call in calls:
            try:
                call()
            except Exception as error:  # noqa: BLE001 - a page pays this cost itself, as before
                times["failed"] += 1
                log(f"harta preload: {getattr(call, '__name__', call)} failed: {error!r}")
        times[name] = time.perf_counter() - t0
    times["total"] = time.perf_counter() - started
    log(
        f"harta preload: warmed in {times['total']:.1f} s (imports {times['imports']:.1f} s,"
        f" caches {times['caches']:.1f} s, {int(times['failed'])} failed)"
    )
    return times


def _step(module: str, names: tuple[str, ...]) -> Callable[[], None]:
    def call() -> None:
        import_names(module, names)

    call.__name__ = f"import {module}"
    return call


def _logger():  # noqa: ANN202
    from streamlit.logger import get_logger

    return get_logger("harta.preload")


def start(screens: Path = SCREENS_DIR) -> threading.Thread:
    """Run :func:`warm` in a daemon thread (it never holds the server up, nor its exit).

    Parameters
    ----------
    screens : Path

    Returns
    -------
    threading.Thread
        Already started.
    """
    thread = threading.Thread(target=warm, args=(screens,), name="harta-preload", daemon=True)
    thread.start()
    return thread
