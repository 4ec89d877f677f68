"""Vendored browser assets: folium loads Leaflet, jQuery, Bootstrap, fonts and plugins from
this server, never from a CDN.

Without this, streamlit-folium shows an empty frame offline.  The files live in
:data:`geo.settings.VENDOR_DIR` (unpacked by ``scripts/vendor_assets.sh``); Streamlit serves
them at ``/app/static/vendor/...`` when run with ``--server.enableStaticServing true``.
"""

from __future__ import annotations

import re
from pathlib import Path

import folium
import folium.plugins

from geo.settings import VENDOR_DIR

VENDOR_URL_PREFIX = "/app/static/vendor"

# folium resource name -> file under VENDOR_DIR (see scripts/vendor_assets.sh).
_VENDORED: dict[type, dict[str, dict[str, str]]] = {
    folium.Map: {
        "js": {
            "leaflet": "leaflet/leaflet.js",
            "jquery": "jquery/jquery.min.js",
            "bootstrap": "bootstrap/bootstrap.bundle.min.js",
            "awesome_markers": "awesome-markers/leaflet.awesome-markers.min.js",
        },
        "css": {
            "leaflet_css": "leaflet/leaflet.css",
            "bootstrap_css": "bootstrap/bootstrap.min.css",
            "glyphicons_css": "glyphicons/bootstrap-glyphicons.css",
            "awesome_markers_font_css": "fontawesome/css/all.min.css",
            "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
            "awesome_rotate_css": "folium/leaflet.awesome.rotate.min.css",
        },
    },
    folium.plugins.Draw: {
        "js": {"leaflet_draw_js": "leaflet-draw/leaflet.draw.js"},
        "css": {"leaflet_draw_css": "leaflet-draw/leaflet.draw.css"},
    },
    folium.plugins.Fullscreen: {
        "js": {"Control.Fullscreen.js": "leaflet-fullscreen/Control.FullScreen.js"},
        "css": {"Control.FullScreen.css": "leaflet-fullscreen/Control.FullScreen.css"},
    },
    folium.plugins.MeasureControl: {
        "js": {"leaflet_measure_js": "leaflet-measure/leaflet-measure.min.js"},
        "css": {"leaflet_measure_css": "leaflet-measure/leaflet-measure.css"},
    },
    folium.plugins.MarkerCluster: {
        "js": {"markerclusterjs": "markercluster/leaflet.markercluster.js"},
        "css": {
            "markerclustercss": "markercluster/MarkerCluster.css",
            "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
        },
    },
}

_EXTERNAL = re.compile(
    r"""(?:<script\b[^>]*\bsrc|<link\b[^>]*\bhref|<img\b[^>]*\bsrc)\s*=\s*["']((?:https?:)?//[^"']+)"""
    r"""|url\(\s*["']?((?:https?:)?//[^"')]+)""",
    re.IGNORECASE,
)


def vendored_files() -> dict[str, Path]:
    """Every vendored file folium may request.

    Returns
    -------
    dict
        ``/app/static/vendor/...`` URL -> path on disk (under :data:`VENDOR_DIR`).
    """
    out: dict[str, Path] = {}
    for kinds in _VENDORED.values():
        for files in kinds.values():
            for rel in files.values():
                out[f"{VENDOR_URL_PREFIX}/{rel}"] = VENDOR_DIR / rel
    return out


def vendor_assets(prefix: str = VENDOR_URL_PREFIX) -> None:
    """Make folium load Leaflet, jQuery, Bootstrap, fonts and our plugins from ``prefix``.

    Rewrites ``default_js``/``default_css`` of :class:`folium.Map`, ``Draw``, ``Fullscreen``,
    ``MeasureControl`` and ``MarkerCluster`` (class attributes, so it affects every map in the
    process).  Idempotent.

    Parameters
    ----------
    prefix : str
        URL folder the vendored files are served under.

    Raises
    ------
    RuntimeError
        If folium asks for a resource we have not vendored (a folium upgrade): update
        ``scripts/vendor_assets.sh`` and ``_VENDORED``.
    """
    prefix = prefix.rstrip("/")
    for cls, kinds in _VENDORED.items():
        for kind in ("js", "css"):
            attr = f"default_{kind}"
            mapping = kinds[kind]
            current = getattr(cls, attr)
            unknown = [name for name, _ in current if name not in mapping]
            if unknown:
                raise RuntimeError(
                    f"{cls.__name__}.{attr} needs {unknown}, which are not vendored; "
                    "update scripts/vendor_assets.sh and geo/maps/assets.py"
                )
            setattr(cls, attr, [(name, f"{prefix}/{mapping[name]}") for name, _ in current])


def external_urls(page: str) -> list[str]:
    """URLs on other hosts that a rendered page would load (scripts, stylesheets, images).

    Links a person may click (attribution) are not loads and are not reported.

    Parameters
    ----------
    page : str
        Rendered HTML.

    Returns
    -------
    list of str
    """
    return [a or b for a, b in _EXTERNAL.findall(page)]
