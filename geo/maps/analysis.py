"""Maps of the incident pages: analysis results, emerging hot spots, perceived vs recorded, and
the location picker of the incident form.

What reaches a map is what the run's role may see: the run (``geo.analysis.runs.HotspotRun``)
is already limited to it, and this module checks again -- sensitive incident types are drawn
only for a role holding ``incidents.read_sensitive``, and counts only through
:func:`~geo.maps.aggregates.add_hex_counts` (small counts suppressed).

``geo.maps`` sits below ``geo.analysis`` in the layers, so the run is described here by the
attributes the maps read (:class:`AnalysisRun`) instead of being imported.
"""

from __future__ import annotations

from typing import Any, Protocol

import folium
import geopandas as gpd
from folium.plugins import MarkerCluster

from geo.communities.model import Community
from geo.i18n import t
from geo.maps.aggregates import (
    add_density_overlay,
    add_hex_counts,
    add_hotspots,
    add_incidents_at_scale,
)
from geo.maps.base import add_layer_control, base_map
from geo.maps.data import area_frame, styles
from geo.maps.html import esc
from geo.maps.layers import add_boundary
from geo.maps.legend import LegendEntry, LegendSection, add_legend
from geo.roles import may

#: Colours of emerging hot spot categories (after ArcGIS's palette); no_pattern is not drawn.
EMERGING_COLOURS = {
    "new": "#67000d",
    "intensifying": "#cb181d",
    "persistent": "#fb6a4a",
    "diminishing": "#fcae91",
    "sporadic": "#fee08b",
}
COMPARE_COLOURS = {
    "perceived_and_recorded": "#762a83",
    "perceived_only": "#af8dc3",
    "recorded_only": "#1b7837",
    "not_compared": "#bdbdbd",
}


class AnalysisRun(Protocol):
    """What the maps read of a hot spot run (``geo.analysis.runs.HotspotRun``)."""

    role: str
    params: dict[str, Any]
    density: Any  # DensitySurface or None: .to_overlay(colors=...), .bandwidth_m
    overlay: Any  # DensityOverlay or None: .breakpoints
    hotspots: Any  # .too_few, .cells (gi_bin)
    emerging: Any  # .too_few, .cells (category)
    comparison: gpd.GeoDataFrame  # label, buffer_m
    visible: Any  # VisibleIncidents: .points, .cells


def emerging_label(category: str, lang: str) -> str:
    """Plain-language name of an emerging hot spot category (as ``trends.category_text``).

    Parameters
    ----------
    category : str
        Emerging hot spot category code.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated name.
    """
    return t(f"stats.emerging.{category}", lang)


def compare_label(label: str, lang: str) -> str:
    """Name of a perceived-vs-recorded label (as ``compare.label_text``).

    Parameters
    ----------
    label : str
        Comparison label code.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    str
        The translated name.
    """
    return t(f"analysis.compare.label.{label}", lang)


def _start(
    community: Community | gpd.GeoDataFrame, streets: Any, lang: str, online: bool, height: int
) -> folium.Map:
    m = base_map(community, online=online, streets=streets, lang=lang, height=height)
    add_boundary(m, community, lang)
    return m


def _cells_layer(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    *,
    key_column: str,
    colours: dict[str, str],
    labels: dict[str, str],
    name: str,
) -> folium.GeoJson:
    """Polygons coloured by a category; the GeoJSON carries only the category and its label."""
    cells = cells[cells[key_column].astype(str).isin(colours)]
    frame = gpd.GeoDataFrame(
        {
            "k": cells[key_column].astype(str).to_numpy(),
            "tip": [esc(labels[str(v)]) for v in cells[key_column]],
        },
        geometry=cells.geometry.to_crs(4326).values,
        crs=4326,
    )
    style = styles()["hotspots"]["style"]
    layer = folium.GeoJson(
        frame.to_json(drop_id=True),
        name=esc(name),  # the layer control inserts names as HTML
        style_function=lambda f: {**style, "fillColor": colours[f["properties"]["k"]]},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )
    layer.add_to(m)
    return layer


def density_legend_text(run: AnalysisRun, lang: str) -> str | None:
    """One line saying what the density colours mean (range and bandwidth).

    Parameters
    ----------
    run : AnalysisRun
    lang : str

    Returns
    -------
    str or None
        None when the run has no density surface.
    """
    if run.overlay is None:
        return None
    return t(
        "incidents.hotspots.density_range",
        lang,
        low=f"{run.overlay.breakpoints[0]:.1f}",
        high=f"{run.overlay.breakpoints[-1]:.1f}",
        bandwidth=round(run.density.bandwidth_m),
    )


def _add_points(m: folium.Map, run: AnalysisRun, community: Community, lang: str) -> None:
    points = run.visible.points
    if not len(points):
        return
    # Only what the pictograms show leaves the run: type, time, demo flag and the point.
    shown = gpd.GeoDataFrame(
        {
            "type": points["type_code"].to_numpy(),
            "occurred_at": points["occurred_at"].array,  # not 100,000 Timestamp objects
            "is_demo": points["is_demo"].to_numpy(),
        },
        geometry=points.geometry.values,
        crs=points.crs,
    )
    sensitive = may(run.role, "incidents.read_sensitive")
    if isinstance(community, Community):
        crs, area_m2 = community.crs, community.area_m2
    else:  # a boundary frame (older callers)
        crs = run.params["crs"]
        area_m2 = float(area_frame(community).to_crs(crs).area.sum())
    # Beyond MAX_MAP_POINTS the page would carry megabytes of pictograms: clusters instead.
    layer = add_incidents_at_scale(
        m,
        shown,
        lang,
        metric_crs=crs,
        area_m2=area_m2,
        include_sensitive=sensitive,
    )
    # Hundreds of pictograms would hide the hot spots: one click away.  Points inside a cluster
    # group are shown and hidden with their group (the group is what the layer control lists;
    # a hidden point layer inside it would never be added, leaving the box toggling nothing).
    parent = getattr(layer, "_parent", None)
    (parent if isinstance(parent, MarkerCluster) else layer).show = False


def analysis_map(
    run: AnalysisRun,
    community: Community,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    online: bool = False,
    height: int = 620,
) -> folium.Map:
    """Density, Gi* hot and cold spots, and the incidents as the run's role may see them.

    Layers (bottom to top): density overlay, suppressed hexagon counts (roles without exact
    points), significant Gi* cells (left out when the analysis had too little data), incident
    pictograms (police and mediators; sensitive types only for police).

    Parameters
    ----------
    run : AnalysisRun
        A ``HotspotRun``, already limited to its role.
    community : Community
        Fits the map and draws the boundary.
    streets : GeoDataFrame or None
        Drawn when offline.
    lang : str
    online : bool
    height : int

    Returns
    -------
    folium.Map
    """
    m = _start(community, streets, lang, online, height)
    if run.density is not None:
        overlay = run.density.to_overlay(colors=tuple(styles()["density"]["ramp"]))
        add_density_overlay(m, overlay.image, overlay.bounds, lang, opacity=0.8)
    # An empty layer is left out: folium cannot render a tooltip over no features.
    if run.visible.cells is not None and not run.visible.cells.empty:
        add_hex_counts(m, run.visible.cells, lang)
    if not run.hotspots.too_few:
        significant = run.hotspots.cells[run.hotspots.cells["gi_bin"] != 0]
        if not significant.empty:
            add_hotspots(m, significant[["gi_bin", significant.geometry.name]], lang)
    _add_points(m, run, community, lang)
    add_layer_control(m)
    # DEMO whenever demo incidents are among the inputs (aggregated maps have no points).
    add_legend(m, lang=lang, demo=bool(run.params.get("demo_inputs")))
    return m


def emerging_map(
    run: AnalysisRun,
    community: Community,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    online: bool = False,
    height: int = 480,
) -> folium.Map:
    """Cells by emerging hot spot category (cells without a pattern are not drawn).

    Parameters
    ----------
    run : AnalysisRun
    community : Community
    streets : GeoDataFrame or None
    lang : str
    online : bool
    height : int

    Returns
    -------
    folium.Map
    """
    m = _start(community, streets, lang, online, height)
    labels = {c: emerging_label(c, lang) for c in EMERGING_COLOURS}
    name = t("incidents.hotspots.emerging_layer", lang)
    if not run.emerging.too_few:
        _cells_layer(
            m,
            run.emerging.cells,
            key_column="category",
            colours=EMERGING_COLOURS,
            labels=labels,
            name=name,
        )
    entries = [LegendEntry(labels[c], colour=col) for c, col in EMERGING_COLOURS.items()]
    add_legend(m, [LegendSection(name, entries)], lang)
    return m


def _buffered(comparison: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Lines and points of workshop maps were compared with a buffer (metres, in ``crs``)."""
    metric = comparison.geometry.to_crs(crs)
    widths = comparison["buffer_m"].fillna(0.0).to_numpy()
    grown = gpd.GeoSeries(
        [g.buffer(w) if w > 0 else g for g, w in zip(metric.values, widths, strict=True)],
        crs=crs,
    )
    return comparison.set_geometry(grown.to_crs(4326).values)


def comparison_map(
    run: AnalysisRun,
    community: Community,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    online: bool = False,
    height: int = 480,
) -> folium.Map:
    """Workshop zones and hot cells coloured by perceived / recorded.

    Parameters
    ----------
    run : AnalysisRun
    community : Community
        Its metric CRS is the one the buffers are drawn in.
    streets : GeoDataFrame or None
    lang : str
    online : bool
    height : int

    Returns
    -------
    folium.Map
    """
    m = _start(community, streets, lang, online, height)
    labels = {k: compare_label(k, lang) for k in COMPARE_COLOURS}
    name = t("incidents.hotspots.compare_layer", lang)
    crs = community.crs if isinstance(community, Community) else run.params["crs"]
    comparison = _buffered(run.comparison.copy(), crs)
    _cells_layer(
        m, comparison, key_column="label", colours=COMPARE_COLOURS, labels=labels, name=name
    )
    entries = [
        LegendEntry(labels[k], colour=c)
        for k, c in COMPARE_COLOURS.items()
        if k in set(comparison["label"])
    ]
    add_legend(m, [LegendSection(name, entries)], lang)
    return m


def picker_map(
    community: Community,
    streets: gpd.GeoDataFrame | None,
    lang: str,
    *,
    picked: tuple[float, float] | None = None,
    online: bool = False,
    height: int = 460,
) -> folium.Map:
    """The incident form's map: click to place the incident; the chosen point is marked.

    Parameters
    ----------
    community : Community
    streets : GeoDataFrame or None
    lang : str
    picked : (lon, lat), optional
        The point chosen so far.
    online : bool
    height : int

    Returns
    -------
    folium.Map
    """
    m = _start(community, streets, lang, online, height)
    if picked is not None:
        lon, lat = picked
        folium.CircleMarker(
            location=[lat, lon],
            radius=9,
            color="#b71c1c",
            weight=3,
            fill=True,
            fill_opacity=0.6,
            tooltip=esc(t("incidents.form.picked_here", lang)),
        ).add_to(m)
    return m


__all__ = [
    "COMPARE_COLOURS",
    "EMERGING_COLOURS",
    "AnalysisRun",
    "analysis_map",
    "comparison_map",
    "density_legend_text",
    "emerging_map",
    "picker_map",
]
