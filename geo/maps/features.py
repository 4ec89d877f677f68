"""How a feature collection becomes a folium layer: the one place the map's GeoJSON is bound.

Every layer of :mod:`geo.maps` (and the planning maps) hands its features to one of these:

* :func:`geojson` -- a plain GeoJson layer: tooltip from the ``tip`` property, popup from
  ``pop``, Leaflet style looked up by the style key ``s``;
* :func:`clustered_layer` -- points inside a Leaflet.markercluster group (vendored, offline),
  each marker binding its own tooltip and popup;
* :func:`pictogram_marker` -- the empty DivIcon a pictogram style fills in (``harta-marker``).

The features carry only that prebuilt HTML and style key, never the row; layer names as people
read them are escaped here, because the layer control inserts them as HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
from folium.plugins import MarkerCluster
from folium.utilities import JsCode

from geo.maps.html import esc

#: Each marker gets its own tooltip and popup: inside a cluster group the GeoJson layer is
#: never on the map itself, so tooltips bound to the whole layer would never open.
_BIND_EACH = JsCode(
    """function (feature, layer) {
        var p = feature.properties;
        layer.bindTooltip(p.tip, {sticky: true});
        if (p.pop) { layer.bindPopup(p.pop, {maxWidth: 320}); }
    }"""
)

#: Colour of the cluster bubbles (style.py): neutral, unlike the severity and hotspot ramps.
CLUSTER_COLOUR = "#263238"

#: Clustering: counted bubbles until street zoom, every point apart from zoom 18.
CLUSTER_OPTIONS = {
    "showCoverageOnHover": False,
    "maxClusterRadius": 45,
    "disableClusteringAtZoom": 18,
    "spiderfyOnMaxZoom": False,
}


def _by_style_key(style: dict[str, dict[str, Any]]) -> Callable[[dict[str, Any]], dict]:
    """The folium style function that looks a feature's style key ``s`` up in ``style``."""

    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        return style.get(feature["properties"].get("s", ""), {})

    return style_function


def pictogram_marker(size: int) -> folium.Marker:
    """An empty DivIcon marker of ``size`` pixels, centred on its point; a layer's style gives
    each feature its pictogram's ``html``.

    Parameters
    ----------
    size : int
        Width and height in pixels.

    Returns
    -------
    folium.Marker
    """
    return folium.Marker(
        icon=folium.DivIcon(
            html="",
            icon_size=(size, size),
            icon_anchor=(size // 2, size // 2),
            class_name="harta-marker",
        )
    )


def geojson(
    m: folium.Map,
    data: dict[str, Any],
    *,
    name: str,
    style: dict[str, dict[str, Any]] | None = None,
    marker: Any = None,
    show: bool = True,
    popup: bool = True,
    control: bool = True,
) -> folium.GeoJson:
    """A GeoJson layer whose features carry ``tip``/``pop`` HTML and a style key ``s``.

    Parameters
    ----------
    m : folium.Map
    data : dict
        From :func:`geo.maps.data.feature_collection`.
    name : str
        Layer name as people read it; escaped here (the layer control inserts it as HTML).
    style : dict, optional
        Style key -> Leaflet path options.
    marker : folium marker, optional
        How points are drawn.
    show, popup : bool
    control : bool
        Listed in the layer control (False for parts of a grouped layer).

    Returns
    -------
    folium.GeoJson
    """
    layer = folium.GeoJson(
        data,
        # The layer control inserts names as HTML: a hostile community name would run there.
        name=esc(name),
        style_function=_by_style_key(style) if style else None,
        marker=marker,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        popup=folium.GeoJsonPopup(fields=["pop"], labels=False, max_width=320) if popup else None,
        show=show,
        control=control,
    )
    layer.add_to(m)
    return layer


def clustered_layer(
    m: folium.Map,
    data: dict[str, Any],
    *,
    name: str,
    style: dict[str, dict[str, Any]],
    marker: Any,
    show: bool = True,
) -> folium.GeoJson:
    """Point features in a Leaflet.markercluster group (vendored, offline): nearby points
    become one counted bubble until the reader zooms in.

    Parameters
    ----------
    m : folium.Map
    data : dict
        Point features from :func:`geo.maps.data.feature_collection` (``tip``/``pop``/``s``).
    name : str
        Layer name as people read it; escaped here.
    style : dict
        Style key -> marker options (``html`` of the DivIcon).
    marker : folium marker
        How each point is drawn.
    show : bool

    Returns
    -------
    folium.GeoJson
        The points' layer (its parent is the cluster group, which the layer control lists).
    """
    group = MarkerCluster(name=esc(name), show=show, options=dict(CLUSTER_OPTIONS))
    group.add_to(m)
    layer = folium.GeoJson(
        data,
        name=esc(name),
        style_function=_by_style_key(style),
        marker=marker,
        on_each_feature=_BIND_EACH,
        control=False,
    )
    layer.add_to(group)
    return layer
