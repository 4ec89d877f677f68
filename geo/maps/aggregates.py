"""Incident aggregates on a map: hexagon counts (small counts suppressed), Getis-Ord Gi* classes,
the density surface as an embedded image, and point clusters for maps that would otherwise carry
more pictograms than a page can send (issue 11 item 11)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import pandas as pd
import shapely

from geo import crs as geocrs
from geo import taxonomy
from geo.i18n import t
from geo.maps.data import bounds as fit_bounds
from geo.maps.data import (
    column,
    demo_rows,
    feature_collection,
    is_missing,
    styles,
    to_wgs84,
    truthy,
)
from geo.maps.features import geojson
from geo.maps.html import demo_badge, esc, tip
from geo.maps.legend import LegendEntry, LegendSection, register_legend
from geo.maps.points import add_incident_points
from geo.settings import get_settings


def _hex_class(value: Any, suppressed: bool, threshold: int, breaks: list[int]) -> tuple:
    """``(text shown, style key)`` of one cell; a small count is never shown as itself."""
    if suppressed or is_missing(value) or float(value) < threshold:
        return f"<{threshold}", "x"
    count = int(value)
    return str(count), str(sum(count >= b for b in breaks))


def add_hex_counts(
    m: folium.Map,
    gdf: Any,
    lang: str = "ro",
    *,
    count_col: str = "count",
    demo: bool = False,
    name: str | None = None,
) -> folium.GeoJson:
    """Hexagon cells shaded by incident count.

    A cell whose count is missing, flagged ``suppressed``, or below :func:`count_threshold`
    (the configured suppression threshold, at least 5) is shown grey and labelled "<5": the
    exact small number never reaches the page.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Cells with ``count_col`` and optional ``suppressed``, ``is_demo``.
    lang : str
    count_col : str
    demo : bool
    name : str, optional
        Layer name; escaped.

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf)
    cfg = styles()["hex_counts"]
    # The operator's threshold wins over the style's: a map is an aggregated view too.
    threshold = count_threshold()
    breaks, colours = cfg["breaks"], cfg["colours"]
    supp_col = column(gdf, "suppressed")
    layer_name = name or t("maps.layer.hex", lang)
    demos = demo_rows(gdf, demo)
    props = []
    for is_demo, (_, r) in zip(demos, gdf.iterrows(), strict=True):
        value = r[count_col] if count_col in gdf.columns else None
        flagged = supp_col is not None and truthy(r[supp_col])
        shown, key = _hex_class(value, flagged, threshold, breaks)
        text = esc(t("maps.hex.count", lang, count=shown))
        parts = [f"<span>{text}</span>"] + ([demo_badge(lang)] if is_demo else [])
        props.append({"tip": tip(parts), "pop": "", "s": key})
    base = cfg["style"]
    style = {str(i): {**base, "fillColor": c} for i, c in enumerate(colours)}
    style["x"] = {**base, **cfg["suppressed"]}
    entries = [
        LegendEntry(
            f"<{threshold} · {t('maps.hex.suppressed', lang, threshold=threshold)}",
            colour=cfg["suppressed"]["fillColor"],
            dash=True,
        )
    ]
    entries += _class_entries(breaks, colours, threshold)
    register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    data = feature_collection(gdf.geometry, props)
    return geojson(m, data, name=layer_name, style=style, popup=False)


def _class_entries(breaks: list[int], colours: list[str], threshold: int) -> list[LegendEntry]:
    """Legend lines of the count classes a cell can be shown in (none below ``threshold``)."""
    entries = []
    for i, colour in enumerate(colours[1:]):
        low = max(breaks[i], threshold)
        if i + 1 == len(breaks):
            entries.append(LegendEntry(f"≥ {low}", colour=colour))
        elif low <= breaks[i + 1] - 1:
            entries.append(LegendEntry(f"{low}–{breaks[i + 1] - 1}", colour=colour))
    return entries


def count_threshold() -> int:
    """The smallest count a map may show: the configured suppression threshold
    (``HARTA_SUPPRESSION_THRESHOLD``), never below the style's (5).

    Returns
    -------
    int
    """
    return max(int(styles()["hex_counts"]["threshold"]), get_settings().suppression_threshold)


def add_hotspots(
    m: folium.Map,
    gdf: Any,
    lang: str = "ro",
    *,
    bin_col: str | None = None,
    demo: bool = False,
    name: str | None = None,
) -> folium.GeoJson:
    """Getis-Ord Gi* classes like ArcGIS ``Gi_Bin``: −3 cold 99 % … 0 not significant …
    3 hot 99 % (blue → white → red).

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Cells with ``gi_bin`` (or ``Gi_Bin``, ``hotspot``, ``class``, or ``bin_col``).
    lang : str
    bin_col : str, optional
    demo : bool
    name : str, optional
        Layer name; escaped.

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf)
    col = bin_col or column(gdf, "gi_bin", "Gi_Bin", "hotspot", "class")
    if col is None:
        raise KeyError("hot-spot layer needs a 'gi_bin' column")
    cfg = styles()["hotspots"]
    layer_name = name or t("maps.layer.hotspots", lang)
    demos = demo_rows(gdf, demo)

    def class_label(b: int) -> str:
        conf = cfg["classes"][str(b)]["confidence"]
        if b > 0:
            return t("maps.hotspot.hot", lang, confidence=conf)
        if b < 0:
            return t("maps.hotspot.cold", lang, confidence=conf)
        return t("maps.hotspot.none", lang)

    props = []
    for is_demo, (_, r) in zip(demos, gdf.iterrows(), strict=True):
        b = 0 if is_missing(r[col]) else max(-3, min(3, int(r[col])))
        parts = [f"<span>{esc(class_label(b))}</span>"]
        parts += [demo_badge(lang)] if is_demo else []
        props.append({"tip": tip(parts), "pop": "", "s": str(b)})
    style = {k: {**cfg["style"], "fillColor": v["colour"]} for k, v in cfg["classes"].items()}
    entries = [
        LegendEntry(class_label(b), colour=cfg["classes"][str(b)]["colour"])
        for b in (3, 2, 1, 0, -1, -2, -3)
    ]
    register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    data = feature_collection(gdf.geometry, props)
    return geojson(m, data, name=layer_name, style=style, popup=False)


def density_to_rgba(
    values: np.ndarray, *, ramp: Sequence[str] | None = None, vmax: float | None = None
) -> np.ndarray:
    """Colour a 2-D density grid with the density ramp.

    Parameters
    ----------
    values : ndarray
        ``(H, W)`` densities.
    ramp : sequence of str, optional
        ``#rrggbb`` colours, low to high (default: ``layers.json``).
    vmax : float, optional
        Value shown in the top colour (default: the largest value).

    Returns
    -------
    ndarray
        ``(H, W, 4)`` uint8; zero/NaN cells transparent, the rest as opaque as
        ``layers.json`` says.
    """
    cfg = styles()["density"]
    ramp = list(ramp or cfg["ramp"])
    arr = np.asarray(values, dtype=float)
    finite = np.isfinite(arr) & (arr > 0)
    top = vmax if vmax is not None else (float(arr[finite].max()) if finite.any() else 1.0)
    norm = np.zeros_like(arr)
    if top > 0:
        norm[finite] = np.clip(arr[finite] / top, 0, 1)
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in ramp], dtype=float)
    pos = norm * (len(ramp) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(ramp) - 1)
    frac = (pos - lo)[..., None]
    out = np.zeros((*arr.shape, 4), dtype=np.uint8)
    out[..., :3] = np.round(rgb[lo] * (1 - frac) + rgb[hi] * frac).astype(np.uint8)
    out[..., 3] = np.where(finite, round(255 * float(cfg["opacity"])), 0).astype(np.uint8)
    return out


def add_density_overlay(
    m: folium.Map,
    rgba: np.ndarray,
    bounds: Any,
    lang: str = "ro",
    *,
    name: str | None = None,
    opacity: float = 1.0,
    demo: bool = False,
    legend: bool = True,
) -> folium.raster_layers.ImageOverlay:
    """A raster density surface as an image overlay, embedded as a PNG data URI.

    Parameters
    ----------
    m : folium.Map
    rgba : ndarray
        ``(H, W, 4)`` RGBA (or RGB), north row first.
    bounds : sequence or GeoDataFrame
        The image's extent: ``(minx, miny, maxx, maxy)`` in degrees, ``[[s, w], [n, e]]`` or
        a GeoDataFrame.
    lang : str
    name : str, optional
        Layer name; escaped.
    opacity : float
    demo : bool
    legend : bool
        Register the density ramp ("fewer" to "more") in the legend.

    Returns
    -------
    folium.raster_layers.ImageOverlay
        No file and no network: the image is inside the page.
    """
    arr = np.asarray(rgba)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 4) RGBA array, got shape {arr.shape}")
    layer_name = name or t("maps.layer.density", lang)
    overlay = folium.raster_layers.ImageOverlay(
        image=arr,
        bounds=fit_bounds(bounds),
        origin="upper",
        opacity=opacity,
        name=esc(layer_name),
        pixelated=False,
    )
    overlay.add_to(m)
    if legend:
        entry = LegendEntry(
            t("maps.density.low", lang),
            shape="gradient",
            gradient=tuple(styles()["density"]["ramp"]),
            label_high=t("maps.density.high", lang),
            demo=demo,
        )
        register_legend(m, LegendSection(layer_name, [entry], demo=demo))
    return overlay


#: Most incident pictograms one map carries (each costs about 0.85 kB of page): above it the
#: incidents are drawn as cluster counts, and points only at street zoom (issue 11 item 11).
MAX_MAP_POINTS = 1500
#: Leaflet zoom from which a map may show incident points (a few streets on the screen).
STREET_ZOOM = 17
#: Radii (px) of cluster circles by count: up to 9, 49, 199, 999, more.
_CLUSTER_RADII = ((10, 7), (50, 10), (200, 13), (1000, 17))
_CLUSTER_LARGEST = 21


def cluster_cell_m(area_m2: float) -> float:
    """Side of the square cluster cells of an area: about 40 cells across it, at least 25 m.

    Parameters
    ----------
    area_m2 : float
        The area's size in square metres.

    Returns
    -------
    float
        Metres.
    """
    return max(25.0, float(np.sqrt(max(area_m2, 0.0))) / 40.0)


def grid_clusters(points: Any, metric_crs: Any, cell_m: float) -> pd.DataFrame:
    """Points grouped per square cell of ``cell_m`` metres in ``metric_crs`` (as
    :func:`geo.views.incident_clusters` does in the database, for points already in memory).

    Parameters
    ----------
    points : GeoDataFrame
        Points, any CRS, optional ``is_demo``.
    metric_crs : CRS-like
        The community's metric CRS.
    cell_m : float

    Returns
    -------
    DataFrame
        ``n``, ``lon``, ``lat`` (mean position of the cell's points), ``is_demo`` (any).
    """
    pts = to_wgs84(points)
    lon, lat = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    x, y = geocrs.transformer(4326, metric_crs).transform(lon, lat)
    demo = np.asarray(demo_rows(pts, False), dtype=bool)
    frame = pd.DataFrame(
        {
            "i": np.floor(np.asarray(x) / cell_m),
            "j": np.floor(np.asarray(y) / cell_m),
            "lon": lon,
            "lat": lat,
            "is_demo": demo,
        }
    )
    grouped = frame.groupby(["i", "j"], sort=True).agg(
        n=("lon", "size"), lon=("lon", "mean"), lat=("lat", "mean"), is_demo=("is_demo", "any")
    )
    return grouped.reset_index(drop=True)[["n", "lon", "lat", "is_demo"]]


def _cluster_class(n: int) -> str:
    for k, (below, _) in enumerate(_CLUSTER_RADII):
        if n < below:
            return str(k)
    return str(len(_CLUSTER_RADII))


def add_incident_clusters(
    m: folium.Map, clusters: pd.DataFrame, lang: str = "ro", *, name: str | None = None
) -> folium.GeoJson:
    """Incident clusters as circles sized by their count, the count in the tooltip.

    Only police and mediator maps draw clusters (every other role sees published hexagon
    counts): a cluster is a group of points the role may see one by one at street zoom.

    Parameters
    ----------
    m : folium.Map
    clusters : DataFrame
        ``n``, ``lon``, ``lat`` and optional ``is_demo`` (:func:`grid_clusters`,
        :func:`geo.views.incident_clusters`).
    lang : str
    name : str, optional
        Layer name; escaped.

    Returns
    -------
    folium.GeoJson
    """
    layer_name = name or t("maps.layer.incidents", lang)
    colour = styles()["hex_counts"]["colours"][-1]
    demos = demo_rows(clusters, False)
    props = []
    for is_demo, n in zip(demos, clusters["n"], strict=True):
        text = esc(t("maps.hex.count", lang, count=int(n)))
        parts = [f"<span>{text}</span>"] + ([demo_badge(lang)] if is_demo else [])
        props.append({"tip": tip(parts), "pop": "", "s": _cluster_class(int(n))})
    radii = [r for _, r in _CLUSTER_RADII] + [_CLUSTER_LARGEST]
    base = {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.75}
    style = {str(k): {**base, "radius": r} for k, r in enumerate(radii)}
    register_legend(
        m,
        LegendSection(
            layer_name,
            [LegendEntry(t("maps.layer.incidents", lang), colour=colour, shape="circle")],
            demo=any(demos),
        ),
    )
    geoms = shapely.points(clusters["lon"].to_numpy(), clusters["lat"].to_numpy())
    data = feature_collection(geoms, props)
    marker = folium.CircleMarker(radius=radii[0])
    return geojson(m, data, name=layer_name, style=style, marker=marker, popup=False)


def add_incidents_at_scale(
    m: folium.Map,
    points: Any,
    lang: str,
    *,
    metric_crs: Any,
    area_m2: float,
    include_sensitive: bool,
    max_points: int = MAX_MAP_POINTS,
) -> folium.GeoJson:
    """Incident pictograms (:func:`~geo.maps.points.add_incident_points`) when there are at
    most ``max_points`` of them, else their clusters (:func:`grid_clusters`): a page carries
    what the screen can show, never 100,000 markers.

    Parameters
    ----------
    m : folium.Map
    points : GeoDataFrame
        Incidents the role may see, with a type column (``type_code`` or ``type``).
    lang : str
    metric_crs : CRS-like
        The community's metric CRS (cluster cells).
    area_m2 : float
        The community's area (cluster cell size, :func:`cluster_cell_m`).
    include_sensitive : bool
        From the role, as for :func:`~geo.maps.points.add_incident_points`.
    max_points : int

    Returns
    -------
    folium.GeoJson
        The layer added.
    """
    kept = points
    type_col = column(points, "type_code", "type", "incident_type")
    if not include_sensitive and type_col is not None:
        codes = points[type_col].astype(str)  # each type looked up once, not once per row
        kept = points[~codes.isin([c for c in codes.unique() if taxonomy.is_sensitive(c)])]
    if len(kept) <= max_points:
        return add_incident_points(m, kept, lang, include_sensitive=include_sensitive)
    clusters = grid_clusters(kept, metric_crs, cluster_cell_m(area_m2))
    return add_incident_clusters(m, clusters, lang)
