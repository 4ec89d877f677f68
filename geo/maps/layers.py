"""Folium maps that work with no internet connection.

Every map Harta shows is built here:

* :func:`vendor_assets` points folium (and the plugins we use) at the copies of Leaflet, jQuery,
  Bootstrap, Font Awesome, Leaflet.draw … under ``app/static/vendor/`` instead of CDNs.  Without
  it, streamlit-folium shows an empty frame offline.  Streamlit serves those files at
  ``/app/static/vendor/...`` when run with ``--server.enableStaticServing true``.
* :func:`base_map` starts a map: OpenStreetMap tiles when online, otherwise the bundled streets
  drawn as vector lines on a light background; always with the OSM attribution.
* ``add_*`` functions add one layer each, styled from ``styles/layers.json`` and
  ``styles/taxonomy.json``, with pictogram-first tooltips and popups in the reader's language.
* :func:`add_legend` draws the legend (with a large-text variant for a projector).

Safety rules kept here:

* every piece of text that comes from people or data (notes, names) is passed through
  :func:`geo.escape.html` before it reaches a popup, tooltip, legend or layer name (Leaflet's
  layer control inserts layer names as HTML: a community's name is a layer name);
* a layer's GeoJSON carries only what is shown (prebuilt ``tip``/``pop`` HTML and a style key),
  never the whole row: what is in the page reaches every browser that opens it;
* sensitive incident types are left out of point layers unless the caller asks for them;
* rows with ``is_demo`` true say "DEMO" (translated) in their tooltip, popup and legend.

This module never imports Streamlit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
from branca.element import MacroElement
from folium.template import Template

from geo import csp, escape, taxonomy
from geo.i18n import t

VENDOR_URL_PREFIX = "/app/static/vendor"
VENDOR_DIR = Path(__file__).resolve().parent.parent / "app" / "static" / "vendor"

OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"

# folium resource name -> file under app/static/vendor/ (see scripts/vendor_assets.sh).
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
}

_EXTERNAL = re.compile(
    r"""(?:<script\b[^>]*\bsrc|<link\b[^>]*\bhref|<img\b[^>]*\bsrc)\s*=\s*["']((?:https?:)?//[^"']+)"""
    r"""|url\(\s*["']?((?:https?:)?//[^"')]+)""",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------------
# Vendored assets
# --------------------------------------------------------------------------------------------


def vendored_files() -> dict[str, Path]:
    """Every vendored file folium may request: ``/app/static/vendor/...`` URL -> path on disk."""
    out: dict[str, Path] = {}
    for kinds in _VENDORED.values():
        for files in kinds.values():
            for rel in files.values():
                out[f"{VENDOR_URL_PREFIX}/{rel}"] = VENDOR_DIR / rel
    return out


def vendor_assets(prefix: str = VENDOR_URL_PREFIX) -> None:
    """Make folium load Leaflet, jQuery, Bootstrap, fonts and our plugins from ``prefix``.

    Rewrites ``default_js``/``default_css`` of :class:`folium.Map`, ``Draw``, ``Fullscreen`` and
    ``MeasureControl`` (class attributes, so it affects every map in the process).  Idempotent.

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
                    "update scripts/vendor_assets.sh and geo/maps.py"
                )
            setattr(cls, attr, [(name, f"{prefix}/{mapping[name]}") for name, _ in current])


def external_urls(page: str) -> list[str]:
    """URLs on other hosts that a rendered page would load (scripts, stylesheets, images).

    Links a person may click (attribution) are not loads and are not reported.
    """
    return [a or b for a, b in _EXTERNAL.findall(page)]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    """HTML-escape anything for a popup, tooltip, legend or layer name."""
    return escape.html(value)


def _styles() -> dict[str, Any]:
    return taxonomy.layer_styles()


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or value is np.nan
    except TypeError:
        return False


def _truthy(value: Any) -> bool:
    return not _is_missing(value) and bool(value)


def _to_wgs84(gdf: Any) -> Any:
    # Layers read from PostGIS name their geometry "geom"; the builders read row.geometry.
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    if gdf.crs is None:
        return gdf.set_crs(4326)
    return gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf


def _round_coords(obj: Any, ndigits: int = 6) -> Any:
    if isinstance(obj, float):
        return round(obj, ndigits)
    if isinstance(obj, list | tuple):
        return [_round_coords(o, ndigits) for o in obj]
    return obj


def _feature_collection(geoms: Iterable[Any], props: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """GeoJSON with ONLY the given properties (no row leaks into the page)."""
    from shapely.geometry import mapping

    features = []
    for geom, prop in zip(geoms, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        g = mapping(geom)
        g = {"type": g["type"], "coordinates": _round_coords(g["coordinates"])}
        features.append({"type": "Feature", "geometry": g, "properties": prop})
    return {"type": "FeatureCollection", "features": features}


def _bounds(area: Any) -> list[list[float]]:
    """``[[south, west], [north, east]]`` from a GeoDataFrame/GeoSeries, a shapely geometry,
    ``(minx, miny, maxx, maxy)`` in degrees, or ``[[s, w], [n, e]]``."""
    if hasattr(area, "total_bounds") and hasattr(area, "crs"):
        minx, miny, maxx, maxy = _to_wgs84(area).total_bounds
    elif hasattr(area, "bounds") and not isinstance(area, list | tuple):
        minx, miny, maxx, maxy = area.bounds
    else:
        seq = list(area)
        if len(seq) == 2:
            (s, w), (n, e) = seq
            return [[float(s), float(w)], [float(n), float(e)]]
        minx, miny, maxx, maxy = seq
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _column(gdf: Any, *names: str) -> str | None:
    for name in names:
        if name in gdf.columns:
            return name
    return None


def _fmt_date(value: Any) -> str:
    if _is_missing(value):
        return ""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------------------------
# Per-map state: icons in use (one CSS rule each) and legend sections collected from layers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegendEntry:
    """One line of a legend.

    ``icon`` is ``(kind, code)`` of a taxonomy pictogram; ``shape`` is ``box``, ``circle``,
    ``line`` or ``gradient`` (then ``gradient`` holds the colours, low to high, and ``label`` is
    the low end, ``label_high`` the high end).
    """

    label: str
    colour: str | None = None
    icon: tuple[str, str] | None = None
    shape: str = "box"
    gradient: tuple[str, ...] = ()
    label_high: str = ""
    demo: bool = False
    opacity: float = 1.0
    dash: bool = False


@dataclass
class LegendSection:
    """A titled group of legend entries (one per layer)."""

    title: str
    entries: list[LegendEntry] = field(default_factory=list)
    demo: bool = False


_BASE_CSS = """
.harta-ico{display:inline-block;width:24px;height:24px;vertical-align:middle;
background-size:contain;background-repeat:no-repeat;background-position:center;flex:none}
.harta-ico-lg{width:40px;height:40px}
.harta-marker{background:none;border:none}
.harta-marker .harta-ico{width:100%;height:100%}
.harta-tip,.harta-pop{font:15px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#111}
.harta-tip{display:flex;align-items:center;gap:6px;font-weight:600}
.harta-pop{min-width:190px;max-width:300px}
.harta-pop .harta-head{display:flex;align-items:center;gap:8px;font-weight:700;font-size:17px}
.harta-pop .harta-row{margin-top:4px}
.harta-pop .harta-k{color:#444}
.harta-pop .harta-note{margin-top:6px;white-space:pre-wrap;overflow-wrap:anywhere}
.harta-sev{display:inline-block;padding:1px 7px;border:1px solid #000;border-radius:4px;
font-weight:700}
.harta-demo{display:inline-block;background:#ffeb3b;color:#000;border:2px solid #000;
border-radius:4px;padding:0 5px;font-weight:800;font-size:12px;letter-spacing:.05em}
.harta-legend{background:#fff;color:#111;border:2px solid #333;border-radius:6px;
padding:6px 10px;max-height:55vh;max-width:min(360px,55vw);overflow:auto;
font:15px/1.3 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.harta-legend summary{font-weight:800;cursor:pointer}
.harta-legend h4{font-size:1em;font-weight:700;margin:8px 0 3px}
.harta-legend .harta-li{display:flex;align-items:center;gap:8px;margin:3px 0}
.harta-legend .harta-sw{width:22px;height:16px;border:1px solid #000;flex:none}
.harta-legend .harta-sw.circle{border-radius:50%;width:16px}
.harta-legend .harta-sw.line{height:0;border:none;border-top:4px solid #000}
.harta-legend .harta-grad{width:120px;height:14px;border:1px solid #000;flex:none}
.harta-legend.large{font-size:24px;padding:10px 14px;border-width:3px;max-width:min(640px,70vw)}
.harta-legend.large .harta-ico{width:44px;height:44px}
.harta-legend.large .harta-sw{width:36px;height:26px}
.harta-legend.large .harta-sw.circle{width:26px}
.harta-legend.large .harta-grad{width:200px;height:24px}
.harta-projector .harta-tip,.harta-projector .harta-pop{font-size:22px}
.harta-projector .harta-pop .harta-head{font-size:26px}
"""


class _HartaStyle(MacroElement):
    """One ``<style>`` per map: shared classes plus one rule per pictogram in use."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        #{{ this._parent.get_name() }} { background: {{ this.background }}; }
        {{ this.base_css }}
        {%- for cls, uri in this.icon_rules() %}
        .{{ cls }}{background-image:url({{ uri }})}
        {%- endfor %}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {%- if this.icon_image_path %}
        L.Icon.Default.imagePath = {{ this.icon_image_path|tojson }};
        {%- endif %}
        {%- if this.projector %}
        {{ this._parent.get_name() }}.getContainer().classList.add("harta-projector");
        {%- endif %}
        {%- if this.attribution %}
        {{ this._parent.get_name() }}.attributionControl
            .addAttribution({{ this.attribution|tojson }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, background: str, attribution: str | None, projector: bool):
        super().__init__()
        self._name = "HartaStyle"
        self.background = background
        self.attribution = attribution
        self.projector = projector
        self.base_css = _BASE_CSS
        self.icons: dict[tuple[str, str], None] = {}
        self.legend: list[LegendSection] = []
        self.lang = "ro"
        # Leaflet guesses the default marker image folder from CSS that streamlit-folium may
        # not have applied yet, and then asks for ".../leafletmarker-icon.png": say it.
        self.icon_image_path: str | None = None

    def icon_rules(self) -> list[tuple[str, str]]:
        return [(_icon_class(k, c), taxonomy.icon_data_uri(k, c)) for k, c in self.icons]


def _state(m: folium.Map) -> _HartaStyle:
    for child in m._children.values():
        if isinstance(child, _HartaStyle):
            return child
    style = _HartaStyle(_styles()["basemap"]["background"], None, False)
    m.add_child(style)
    return style


def _icon_class(kind: str, code: str) -> str:
    return f"harta-i-{taxonomy._kind(kind)}-{code}"


def _icon_html(m: folium.Map, kind: str, code: str, *, large: bool = False) -> str:
    """A ``<span>`` showing the pictogram (registers its CSS rule on the map)."""
    taxonomy.entry(kind, code)  # unknown code -> clear error
    _state(m).icons[(taxonomy._kind(kind), code)] = None
    title = _esc(taxonomy.label(kind, code, _state(m).lang))
    size = " harta-ico-lg" if large else ""
    return (
        f'<span class="harta-ico{size} {_icon_class(kind, code)}" role="img" '
        f'aria-label="{title}"></span>'
    )


def _demo_badge(lang: str) -> str:
    return (
        f'<span class="harta-demo" title="{_esc(t("maps.demo.explain", lang))}">'
        f"{_esc(t('maps.demo', lang))}</span>"
    )


def _severity_chip(n: int, lang: str) -> str:
    return (
        f'<span class="harta-sev" style="background:{taxonomy.severity_colour(n)};'
        f'color:{taxonomy.severity_text_colour(n)}">{n} · '
        f"{_esc(taxonomy.label('severity', n, lang))}</span>"
    )


def _row(key: str, value_html: str, lang: str) -> str:
    return (
        f'<div class="harta-row"><span class="harta-k">{_esc(t(key, lang))}:</span> '
        f"{value_html}</div>"
    )


def _tip(parts: Sequence[str]) -> str:
    return '<div class="harta-tip">' + "".join(parts) + "</div>"


def _register_legend(m: folium.Map, section: LegendSection) -> None:
    _state(m).legend.append(section)


# --------------------------------------------------------------------------------------------
# Base map
# --------------------------------------------------------------------------------------------


def base_map(
    area: Any,
    *,
    online: bool,
    streets: Any | None = None,
    lang: str = "ro",
    height: str | int = "100%",
    width: str | int = "100%",
    fullscreen: bool = True,
    measure: bool = False,
    projector: bool = False,
    vendor_prefix: str = VENDOR_URL_PREFIX,
) -> folium.Map:
    """Start a map fitted to ``area`` (a boundary GeoDataFrame, a geometry, or bounds).

    Parameters
    ----------
    area
        GeoDataFrame/GeoSeries (any CRS), shapely geometry in EPSG:4326,
        ``(minx, miny, maxx, maxy)`` in degrees, or ``[[south, west], [north, east]]``.
    online
        True: OpenStreetMap tiles.  False: no tile layer at all; ``streets`` (if given) are
        drawn as vector lines by highway class on a light background.
    streets
        GeoDataFrame of street lines with a ``highway`` column (OSM classes; lists are allowed,
        as osmnx gives them) and optionally ``railway``.  Drawn only when offline.
    lang
        Language of every label the map shows.
    fullscreen, measure
        Add the full-screen button / the distance and area measuring tool.
    projector
        Large text in tooltips, popups and (by default) the legend.
    """
    vendor_assets(vendor_prefix)
    bounds = _bounds(area)
    (s, w), (n, e) = bounds
    cfg = _styles()["basemap"]
    m = folium.Map(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=15,
        tiles=None,
        control_scale=True,
        max_zoom=cfg.get("max_zoom", 19),
        width=width,
        height=height,
    )
    state = _HartaStyle(
        background=cfg["background"],
        attribution=None if online else OSM_ATTRIBUTION,
        projector=projector,
    )
    state.lang = lang
    state.icon_image_path = f"{vendor_prefix.rstrip('/')}/leaflet/images/"
    m.add_child(state)
    if online:
        folium.TileLayer(
            tiles=cfg["tiles_url"],
            attr=cfg["attribution_html"],
            name=_esc(t("maps.layer.osm", lang)),
            max_zoom=cfg.get("max_zoom", 19),
            overlay=False,
            control=False,
        ).add_to(m)
    elif streets is not None and len(streets):
        _add_streets(m, streets, lang)
    if fullscreen:
        folium.plugins.Fullscreen(
            position="topleft",
            title=t("maps.fullscreen", lang),
            title_cancel=t("maps.fullscreen.exit", lang),
            force_separate_button=True,
        ).add_to(m)
    if measure:
        folium.plugins.MeasureControl(
            position="topleft",
            primary_length_unit="meters",
            secondary_length_unit="kilometers",
            primary_area_unit="sqmeters",
            secondary_area_unit="hectares",
        ).add_to(m)
    m.fit_bounds(bounds)
    return m


def _highway_class(value: Any) -> str:
    if isinstance(value, list | tuple | np.ndarray):
        value = value[0] if len(value) else ""
    if _is_missing(value):
        return ""
    return str(value).removesuffix("_link")


def _add_streets(m: folium.Map, streets: Any, lang: str) -> folium.GeoJson:
    cfg = _styles()["streets"]
    streets = _to_wgs84(streets)
    hw_col = _column(streets, "highway")
    rail_col = _column(streets, "railway")
    name_col = _column(streets, "name")
    props = []
    for _, row in streets.iterrows():
        cls = _highway_class(row[hw_col]) if hw_col else ""
        if not cls and rail_col and not _is_missing(row[rail_col]):
            cls = "railway"
        # Offline there are no tile labels: the street's name on hover is the only one.
        name = row[name_col] if name_col else None
        props.append(
            {
                "hw": cls if (cls in cfg["by_highway"] or cls == "railway") else "",
                "tip": "" if _is_missing(name) else _esc(name),
            }
        )
    data = _feature_collection(streets.geometry, props)
    default = cfg["default"]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        cls = feature["properties"]["hw"]
        if cls == "railway":
            extra = cfg["railway"]
        else:
            extra = cfg["by_highway"].get(cls, {})
        return {**default, **extra}

    # Draw major roads last so they sit on top.
    order = list(cfg["by_highway"])
    data["features"].sort(
        key=lambda f: (
            -order.index(f["properties"]["hw"])
            if f["properties"]["hw"] in order
            else -len(order) - 1
        )
    )
    layer = folium.GeoJson(
        data,
        name=_esc(t("maps.layer.streets", lang)),
        style_function=style,
        control=False,
        smooth_factor=1.0,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if name_col else None,
    )
    layer.add_to(m)
    return layer


def add_draw(
    m: folium.Map,
    lang: str = "ro",
    *,
    polygon: bool = True,
    marker: bool = True,
    polyline: bool = False,
    rectangle: bool = False,
    circle: bool = False,
    edit: bool = True,
) -> folium.plugins.Draw:
    """Add the Leaflet.draw toolbar (vendored) with its main texts in ``lang``."""
    _DrawLocal(lang).add_to(m)
    colour = taxonomy.severity_colour(4)
    shape = {"color": "#000", "weight": 3, "fillColor": colour, "fillOpacity": 0.45}
    draw = folium.plugins.Draw(
        export=False,
        position="topleft",
        draw_options={
            "polygon": {"shapeOptions": shape, "showArea": False} if polygon else False,
            "marker": marker,
            "polyline": {"shapeOptions": {"color": "#000", "weight": 5}} if polyline else False,
            "rectangle": {"shapeOptions": shape} if rectangle else False,
            "circle": {"shapeOptions": shape} if circle else False,
            "circlemarker": False,
        },
        edit_options={"edit": edit, "remove": edit},
    )
    draw.add_to(m)
    return draw


class _DrawLocal(MacroElement):
    """Translate Leaflet.draw's main strings (runs before the Draw control is built)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (d) {
            if (!d) { return; }
            var s = {{ this.strings|tojson }};
            var b = d.draw.toolbar.buttons, a = d.draw.toolbar.actions;
            b.polygon = s.polygon; b.polyline = s.polyline; b.rectangle = s.rectangle;
            b.circle = s.circle; b.marker = s.marker;
            a.title = s.cancel; a.text = s.cancel;
            d.draw.toolbar.finish.title = s.finish; d.draw.toolbar.finish.text = s.finish;
            d.draw.toolbar.undo.title = s.undo; d.draw.toolbar.undo.text = s.undo;
            var p = d.draw.handlers.polygon.tooltip;
            p.start = s.polygon_start; p.cont = s.polygon_cont; p.end = s.polygon_end;
            d.draw.handlers.marker.tooltip.start = s.marker_start;
            d.edit.toolbar.buttons.edit = s.edit; d.edit.toolbar.buttons.remove = s.remove;
            d.edit.toolbar.actions.save.title = s.save; d.edit.toolbar.actions.save.text = s.save;
            d.edit.toolbar.actions.cancel.title = s.cancel;
            d.edit.toolbar.actions.cancel.text = s.cancel;
        })(window.L && L.drawLocal);
        {% endmacro %}
        """
    )

    _KEYS = (
        "polygon",
        "polyline",
        "rectangle",
        "circle",
        "marker",
        "finish",
        "cancel",
        "undo",
        "polygon_start",
        "polygon_cont",
        "polygon_end",
        "marker_start",
        "edit",
        "remove",
        "save",
    )

    def __init__(self, lang: str):
        super().__init__()
        self._name = "DrawLocal"
        self.strings = {k: t(f"maps.draw.{k}", lang) for k in self._KEYS}


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def _demo_rows(gdf: Any, demo: bool) -> list[bool]:
    col = _column(gdf, "is_demo")
    if demo:
        return [True] * len(gdf)
    if col is None:
        return [False] * len(gdf)
    return [_truthy(v) for v in gdf[col]]


def _geojson(
    m: folium.Map,
    data: dict[str, Any],
    *,
    name: str,
    style: dict[str, dict[str, Any]] | None = None,
    marker: Any = None,
    show: bool = True,
    popup: bool = True,
) -> folium.GeoJson:
    """A GeoJson layer whose features carry ``tip``/``pop`` HTML and a style key ``s``."""
    style = style or {}

    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        return style.get(feature["properties"].get("s", ""), {})

    layer = folium.GeoJson(
        data,
        # The layer control inserts names as HTML: a hostile community name would run there.
        name=_esc(name),
        style_function=style_function if style else None,
        marker=marker,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        popup=folium.GeoJsonPopup(fields=["pop"], labels=False, max_width=320) if popup else None,
        show=show,
    )
    layer.add_to(m)
    return layer


def add_boundary(
    m: folium.Map, gdf: Any, lang: str = "ro", *, name: str | None = None
) -> folium.GeoJson:
    """Community boundary: thick dashed black outline, no fill; tooltip shows its name."""
    gdf = _to_wgs84(gdf)
    name_col = _column(gdf, "name")
    layer_name = name or t("maps.layer.boundary", lang)
    props = []
    for demo, (_, row) in zip(_demo_rows(gdf, False), gdf.iterrows(), strict=True):
        label = row[name_col] if name_col and not _is_missing(row[name_col]) else layer_name
        parts = [f"<span>{_esc(label)}</span>"] + ([_demo_badge(lang)] if demo else [])
        props.append({"tip": _tip(parts), "pop": "", "s": "b"})
    data = _feature_collection(gdf.geometry, props)
    style = {"b": dict(_styles()["community_boundary"])}
    _register_legend(
        m,
        LegendSection(
            layer_name,
            [LegendEntry(layer_name, colour=style["b"]["color"], shape="line", dash=True)],
        ),
    )
    return _geojson(m, data, name=layer_name, style=style, popup=False)


def add_settlements(m: folium.Map, gdf: Any, lang: str = "ro") -> folium.GeoJson:
    """Settlement polygons (grey fill) with their (escaped) names as tooltips."""
    gdf = _to_wgs84(gdf)
    name_col = _column(gdf, "name")
    layer_name = t("maps.layer.settlements", lang)
    demos = _demo_rows(gdf, False)
    props = []
    for demo, (_, row) in zip(demos, gdf.iterrows(), strict=True):
        label = row[name_col] if name_col and not _is_missing(row[name_col]) else layer_name
        parts = [f"<span>{_esc(label)}</span>"] + ([_demo_badge(lang)] if demo else [])
        props.append({"tip": _tip(parts), "pop": "", "s": "s"})
    cfg = _styles()["settlements"]
    _register_legend(
        m,
        LegendSection(
            layer_name,
            [LegendEntry(layer_name, colour=cfg["fillColor"], demo=any(demos))],
            demo=any(demos),
        ),
    )
    data = _feature_collection(gdf.geometry, props)
    return _geojson(m, data, name=layer_name, style={"s": cfg}, popup=False)


def add_risk_zones(
    m: folium.Map,
    gdf: Any,
    lang: str = "ro",
    *,
    demo: bool = False,
    show_notes: bool = True,
    name: str | None = None,
) -> folium.GeoJson:
    """Workshop risk zones coloured by severity (1 light yellow … 5 dark red).

    ``gdf`` columns: ``hazard`` (code), ``severity`` (1–5), optional ``time_of_day``,
    ``season``, ``note`` (free text, escaped), ``is_demo``.  Polygons, lines or points.
    Tooltip: pictogram + hazard + severity.  Popup adds when, season and note.
    """
    gdf = _to_wgs84(gdf)
    layer_name = name or t("maps.layer.risk_zones", lang)
    cfg = _styles()["risk_zones"]
    hazard_col = _column(gdf, "hazard_code", "hazard")
    tod_col = _column(gdf, "time_of_day")
    season_col = _column(gdf, "season")
    note_col = _column(gdf, "note", "notes")
    demos = _demo_rows(gdf, demo)
    props = []
    hazards_seen: dict[str, None] = {}
    severities_seen: set[int] = set()
    for is_demo, (_, row) in zip(demos, gdf.iterrows(), strict=True):
        hazard = str(row[hazard_col])
        sev = int(row["severity"])
        hazards_seen[hazard] = None
        severities_seen.add(sev)
        hazard_label = _esc(taxonomy.label("hazard", hazard, lang))
        badge = [_demo_badge(lang)] if is_demo else []
        tip = _tip(
            [_icon_html(m, "hazard", hazard), f"<span>{hazard_label}</span>"]
            + [_severity_chip(sev, lang)]
            + badge
        )
        pop = [
            '<div class="harta-pop"><div class="harta-head">',
            _icon_html(m, "hazard", hazard, large=True),
            f"<span>{hazard_label}</span>",
            *badge,
            "</div>",
            _row("maps.severity", _severity_chip(sev, lang), lang),
        ]
        if tod_col and not _is_missing(row[tod_col]):
            pop.append(
                _row(
                    "maps.time_of_day",
                    _esc(taxonomy.label("time_of_day", row[tod_col], lang)),
                    lang,
                )
            )
        if season_col and not _is_missing(row[season_col]):
            pop.append(
                _row("maps.season", _esc(taxonomy.label("season", row[season_col], lang)), lang)
            )
        if show_notes and note_col and not _is_missing(row[note_col]) and str(row[note_col]):
            pop.append(f'<div class="harta-note">{_esc(row[note_col])}</div>')
        pop.append("</div>")
        props.append({"tip": tip, "pop": "".join(pop), "s": str(sev)})
    style = {
        str(n): {
            "color": cfg["color"],
            "weight": cfg["weight"],
            "opacity": cfg["opacity"],
            "fillColor": taxonomy.severity_colour(n),
            "fillOpacity": cfg["fillOpacity"],
        }
        for n in taxonomy.severities()
    }
    data = _feature_collection(gdf.geometry, props)
    marker = None
    if any(f["geometry"]["type"] in ("Point", "MultiPoint") for f in data["features"]):
        # Zones marked as a single point: a disc in the severity colour, not a blue pin.
        marker = folium.CircleMarker(radius=12, fill=True)
    entries = [
        LegendEntry(
            f"{n} · {taxonomy.label('severity', n, lang)}",
            colour=taxonomy.severity_colour(n),
            opacity=cfg["fillOpacity"] + 0.3,
        )
        for n in taxonomy.severities()
    ]
    entries += [
        LegendEntry(taxonomy.label("hazard", h, lang), icon=("hazard", h))
        for h in taxonomy.hazards()
        if h in hazards_seen
    ]
    _register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    return _geojson(m, data, name=layer_name, style=style, marker=marker)


def add_consensus_zones(
    m: folium.Map, gdf: Any, lang: str = "ro", *, demo: bool = False
) -> folium.GeoJson:
    """Zones many participants marked: fill opacity grows with ``agreement`` (0–1).

    Optional columns: ``hazard`` (pictogram in tooltip), ``is_demo``.
    """
    gdf = _to_wgs84(gdf)
    cfg = _styles()["consensus_zones"]
    layer_name = t("maps.layer.consensus", lang)
    hazard_col = _column(gdf, "hazard_code", "hazard")
    demos = _demo_rows(gdf, demo)
    lo, hi = cfg["fill_opacity_min"], cfg["fill_opacity_max"]
    props, style = [], {}
    for is_demo, (_, row) in zip(demos, gdf.iterrows(), strict=True):
        agreement = float(row["agreement"])
        agreement = min(max(agreement, 0.0), 1.0)
        step = round(agreement * 10)  # ten opacity steps keep the style table short
        key = f"a{step}"
        style[key] = {
            "color": cfg["color"],
            "weight": cfg["weight"],
            "fillColor": cfg["fillColor"],
            "fillOpacity": round(lo + (hi - lo) * step / 10, 3),
        }
        text = _esc(t("maps.consensus.agreement", lang, percent=round(agreement * 100)))
        parts = []
        if hazard_col and not _is_missing(row[hazard_col]):
            hz = str(row[hazard_col])
            parts += [
                _icon_html(m, "hazard", hz),
                f"<span>{_esc(taxonomy.label('hazard', hz, lang))}</span>",
            ]
        parts.append(f"<span>{text}</span>")
        if is_demo:
            parts.append(_demo_badge(lang))
        props.append({"tip": _tip(parts), "pop": "", "s": key})
    _register_legend(
        m,
        LegendSection(
            layer_name,
            [
                LegendEntry(t("maps.consensus.low", lang), colour=cfg["fillColor"], opacity=lo),
                LegendEntry(t("maps.consensus.high", lang), colour=cfg["fillColor"], opacity=hi),
            ],
            demo=any(demos),
        ),
    )
    return _geojson(
        m, _feature_collection(gdf.geometry, props), name=layer_name, style=style, popup=False
    )


def _point_layer(
    m: folium.Map,
    gdf: Any,
    *,
    kind: str,
    code_col: str,
    name: str,
    size: int,
    lang: str,
    demos: list[bool],
    extra_rows: Any = None,
    popup: bool = True,
) -> folium.GeoJson:
    """Pictogram markers (DivIcon per feature) for points; polygons use their centroid."""
    props = []
    geoms = []
    for is_demo, (_, row) in zip(demos, gdf.iterrows(), strict=True):
        code = str(row[code_col])
        label = _esc(taxonomy.label(kind, code, lang))
        badge = [_demo_badge(lang)] if is_demo else []
        rows_html, tip_extra = extra_rows(row) if extra_rows else ("", [])
        tip = _tip([_icon_html(m, kind, code), f"<span>{label}</span>", *tip_extra, *badge])
        pop = (
            '<div class="harta-pop"><div class="harta-head">'
            + _icon_html(m, kind, code, large=True)
            + f"<span>{label}</span>"
            + "".join(badge)
            + "</div>"
            + rows_html
            + "</div>"
        )
        props.append({"tip": tip, "pop": pop if popup else "", "s": code})
        geom = row.geometry
        geoms.append(geom if geom is None or geom.geom_type == "Point" else geom.centroid)
    codes_seen = {p["s"] for p in props}
    style = {
        code: {"html": f'<div class="harta-ico {_icon_class(kind, code)}"></div>'}
        for code in codes_seen
    }
    marker = folium.Marker(
        icon=folium.DivIcon(
            html="",
            icon_size=(size, size),
            icon_anchor=(size // 2, size // 2),
            class_name="harta-marker",
        )
    )
    data = _feature_collection(geoms, props)
    entries = [
        LegendEntry(taxonomy.label(kind, code, lang), icon=(kind, code))
        for code in taxonomy.codes(kind)
        if code in codes_seen
    ]
    _register_legend(m, LegendSection(name, entries, demo=any(demos)))
    return _geojson(m, data, name=name, style=style, marker=marker, popup=popup)


def add_incident_points(
    m: folium.Map,
    gdf: Any,
    lang: str = "ro",
    *,
    demo: bool = False,
    include_sensitive: bool = False,
    show_notes: bool = False,
    name: str | None = None,
) -> folium.GeoJson:
    """Incidents as pictogram markers.

    ``gdf`` columns: ``type`` (incident type code), optional ``occurred_at`` (or ``date``),
    ``note`` (shown, escaped, only with ``show_notes``), ``is_demo``.  Sensitive types
    (domestic/sexual violence, child protection) are dropped unless ``include_sensitive`` —
    the caller decides that from the viewer's role.
    """
    gdf = _to_wgs84(gdf)
    type_col = _column(gdf, "type_code", "type", "incident_type")
    if type_col is None:
        raise KeyError("incident layer needs a 'type' column")
    if not include_sensitive:
        keep = [not taxonomy.is_sensitive(str(v)) for v in gdf[type_col]]
        gdf = gdf[keep]
    date_col = _column(gdf, "occurred_at", "date")
    note_col = _column(gdf, "note", "notes")

    def rows(row: Any) -> tuple[str, list[str]]:
        out = ""
        if date_col and not _is_missing(row[date_col]):
            out += _row("maps.date", _esc(_fmt_date(row[date_col])), lang)
        if show_notes and note_col and not _is_missing(row[note_col]) and str(row[note_col]):
            out += f'<div class="harta-note">{_esc(row[note_col])}</div>'
        return out, []

    return _point_layer(
        m,
        gdf,
        kind="incident_type",
        code_col=type_col,
        name=name or t("maps.layer.incidents", lang),
        size=_styles()["incidents"]["icon_size"],
        lang=lang,
        demos=_demo_rows(gdf, demo),
        extra_rows=rows,
    )


def add_facilities(
    m: folium.Map, gdf: Any, lang: str = "ro", *, demo: bool = False, name: str | None = None
) -> folium.GeoJson:
    """Facilities (police, hospital, school …) as pictograms; ``kind`` column holds the code,
    ``name`` (escaped) is shown under the kind, plus optional ``phone`` and ``address``."""
    gdf = _to_wgs84(gdf)
    kind_col = _column(gdf, "kind", "facility_kind")
    if kind_col is None:
        raise KeyError("facility layer needs a 'kind' column")
    name_col = _column(gdf, "name")
    extra = [c for c in ("address", "phone") if c in gdf.columns]

    def rows(row: Any) -> tuple[str, list[str]]:
        out, tip = "", []
        if name_col and not _is_missing(row[name_col]):
            out += f'<div class="harta-row"><b>{_esc(row[name_col])}</b></div>'
            tip.append(f"<span>— {_esc(row[name_col])}</span>")
        for col in extra:
            if not _is_missing(row[col]) and str(row[col]):
                out += _row(f"maps.{col}", _esc(row[col]), lang)
        return out, tip

    return _point_layer(
        m,
        gdf,
        kind="facility_kind",
        code_col=kind_col,
        name=name or t("maps.layer.facilities", lang),
        size=_styles()["facilities"]["icon_size"],
        lang=lang,
        demos=_demo_rows(gdf, demo),
        extra_rows=rows,
    )


def add_bus_stops(
    m: folium.Map, gdf: Any, lang: str = "ro", *, demo: bool = False
) -> folium.GeoJson:
    """Bus stops (smaller pictograms); optional ``name`` and ``routes`` columns (escaped)."""
    gdf = _to_wgs84(gdf).copy()
    gdf["_kind"] = "bus_stop"
    name_col = _column(gdf, "name")
    routes_col = _column(gdf, "routes", "route_ref")

    def rows(row: Any) -> tuple[str, list[str]]:
        out, tip = "", []
        if name_col and not _is_missing(row[name_col]):
            out += f'<div class="harta-row"><b>{_esc(row[name_col])}</b></div>'
            tip.append(f"<span>— {_esc(row[name_col])}</span>")
        if routes_col and not _is_missing(row[routes_col]):
            out += _row("maps.routes", _esc(row[routes_col]), lang)
        return out, tip

    return _point_layer(
        m,
        gdf,
        kind="facility_kind",
        code_col="_kind",
        name=t("maps.layer.bus_stops", lang),
        size=_styles()["bus_stops"]["icon_size"],
        lang=lang,
        demos=_demo_rows(gdf, demo),
        extra_rows=rows,
    )


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

    A cell whose count is missing, flagged ``suppressed``, or below the threshold in
    ``layers.json`` (5) is shown grey and labelled "<5": the exact small number never reaches
    the page.
    """
    gdf = _to_wgs84(gdf)
    cfg = _styles()["hex_counts"]
    threshold = int(cfg["threshold"])
    breaks = cfg["breaks"]
    colours = cfg["colours"]
    supp_col = _column(gdf, "suppressed")
    layer_name = name or t("maps.layer.hex", lang)
    demos = _demo_rows(gdf, demo)
    props = []
    for is_demo, (_, row) in zip(demos, gdf.iterrows(), strict=True):
        value = row[count_col] if count_col in gdf.columns else None
        suppressed = (
            _is_missing(value)
            or (supp_col is not None and _truthy(row[supp_col]))
            or float(value) < threshold
        )
        if suppressed:
            shown, key = f"<{threshold}", "x"
        else:
            count = int(value)
            shown = str(count)
            key = str(sum(count >= b for b in breaks))
        text = _esc(t("maps.hex.count", lang, count=shown))
        parts = [f"<span>{text}</span>"] + ([_demo_badge(lang)] if is_demo else [])
        props.append({"tip": _tip(parts), "pop": "", "s": key})
    base = cfg["style"]
    style = {str(i): {**base, "fillColor": c} for i, c in enumerate(colours)}
    style["x"] = {**base, **cfg["suppressed"]}
    labels = [f"{breaks[i]}–{breaks[i + 1] - 1}" for i in range(len(breaks) - 1)]
    labels.append(f"≥ {breaks[-1]}")
    entries = [
        LegendEntry(
            f"<{threshold} · {t('maps.hex.suppressed', lang, threshold=threshold)}",
            colour=cfg["suppressed"]["fillColor"],
            dash=True,
        )
    ]
    entries += [
        LegendEntry(label, colour=colour) for label, colour in zip(labels, colours[1:], strict=True)
    ]
    _register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    return _geojson(
        m, _feature_collection(gdf.geometry, props), name=layer_name, style=style, popup=False
    )


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
    3 hot 99 % (blue → white → red)."""
    gdf = _to_wgs84(gdf)
    col = bin_col or _column(gdf, "gi_bin", "Gi_Bin", "hotspot", "class")
    if col is None:
        raise KeyError("hot-spot layer needs a 'gi_bin' column")
    cfg = _styles()["hotspots"]
    layer_name = name or t("maps.layer.hotspots", lang)
    demos = _demo_rows(gdf, demo)

    def class_label(b: int) -> str:
        conf = cfg["classes"][str(b)]["confidence"]
        if b > 0:
            return t("maps.hotspot.hot", lang, confidence=conf)
        if b < 0:
            return t("maps.hotspot.cold", lang, confidence=conf)
        return t("maps.hotspot.none", lang)

    props = []
    for is_demo, (_, row) in zip(demos, gdf.iterrows(), strict=True):
        b = 0 if _is_missing(row[col]) else max(-3, min(3, int(row[col])))
        parts = [f"<span>{_esc(class_label(b))}</span>"]
        parts += [_demo_badge(lang)] if is_demo else []
        props.append({"tip": _tip(parts), "pop": "", "s": str(b)})
    style = {k: {**cfg["style"], "fillColor": v["colour"]} for k, v in cfg["classes"].items()}
    entries = [
        LegendEntry(class_label(b), colour=cfg["classes"][str(b)]["colour"])
        for b in (3, 2, 1, 0, -1, -2, -3)
    ]
    _register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    return _geojson(
        m, _feature_collection(gdf.geometry, props), name=layer_name, style=style, popup=False
    )


def density_to_rgba(
    values: np.ndarray, *, ramp: Sequence[str] | None = None, vmax: float | None = None
) -> np.ndarray:
    """Colour a 2-D density grid with the density ramp: ``(H, W, 4)`` uint8, zero/NaN cells
    transparent, the rest as opaque as ``layers.json`` says."""
    cfg = _styles()["density"]
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
    """A raster density surface (``(H, W, 4)`` RGBA, north row first) as an image overlay.

    ``bounds``: ``(minx, miny, maxx, maxy)`` in degrees, ``[[s, w], [n, e]]`` or a
    GeoDataFrame.  The image is embedded as a PNG data URI (no file, no network).  The legend
    shows the density ramp from "fewer" to "more".
    """
    arr = np.asarray(rgba)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 4) RGBA array, got shape {arr.shape}")
    layer_name = name or t("maps.layer.density", lang)
    overlay = folium.raster_layers.ImageOverlay(
        image=arr,
        bounds=_bounds(bounds),
        origin="upper",
        opacity=opacity,
        name=_esc(layer_name),
        pixelated=False,
    )
    overlay.add_to(m)
    if legend:
        ramp = tuple(_styles()["density"]["ramp"])
        _register_legend(
            m,
            LegendSection(
                layer_name,
                [
                    LegendEntry(
                        t("maps.density.low", lang),
                        shape="gradient",
                        gradient=ramp,
                        label_high=t("maps.density.high", lang),
                        demo=demo,
                    )
                ],
                demo=demo,
            ),
        )
    return overlay


def add_layer_control(m: folium.Map, *, collapsed: bool = True) -> folium.LayerControl:
    """Layer switcher (top right)."""
    control = folium.LayerControl(position="topright", collapsed=collapsed)
    control.add_to(m)
    return control


# --------------------------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------------------------


def severity_legend_entries(lang: str = "ro") -> list[LegendEntry]:
    """Legend lines of the five severity levels."""
    return [
        LegendEntry(
            f"{n} · {taxonomy.label('severity', n, lang)}", colour=taxonomy.severity_colour(n)
        )
        for n in taxonomy.severities()
    ]


def icon_legend_entries(kind: str, codes: Iterable[str], lang: str = "ro") -> list[LegendEntry]:
    """Legend lines with pictograms for some codes of ``kind`` (hazard, incident_type …)."""
    return [LegendEntry(taxonomy.label(kind, c, lang), icon=(kind, c)) for c in codes]


def _entry_html(m: folium.Map, e: LegendEntry, lang: str) -> str:
    if e.icon is not None:
        swatch = _icon_html(m, *e.icon)
    elif e.shape == "gradient":
        stops = ",".join(e.gradient)
        return (
            f'<div class="harta-li"><span>{_esc(e.label)}</span>'
            f'<span class="harta-grad" style="background:linear-gradient(to right,{stops})">'
            f"</span><span>{_esc(e.label_high)}</span>"
            + (_demo_badge(lang) if e.demo else "")
            + "</div>"
        )
    else:
        shape = e.shape if e.shape in ("circle", "line") else ""
        colour = e.colour or "#ffffff"
        if shape == "line":
            css = f"border-top-color:{colour};" + ("border-top-style:dashed;" if e.dash else "")
        else:
            css = f"background:{colour};opacity:{min(max(e.opacity, 0.0), 1.0):.2f};"
            css += "border-style:dashed;" if e.dash else ""
        swatch = f'<span class="harta-sw {shape}" style="{css}"></span>'
    badge = _demo_badge(lang) if e.demo else ""
    return f'<div class="harta-li">{swatch}<span>{_esc(e.label)}</span>{badge}</div>'


class Legend(MacroElement):
    """A legend drawn as a Leaflet control (so it stays visible in full-screen mode)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str, large: bool):
        super().__init__()
        self._name = "Legend"
        self.content = content
        self.position = position
        self.css_class = "harta-legend large" if large else "harta-legend"


def add_legend(
    m: folium.Map,
    entries: Sequence[LegendEntry | LegendSection | dict[str, Any]] | None = None,
    lang: str = "ro",
    *,
    title: str | None = None,
    large: bool | None = None,
    position: str = "bottomright",
    collapsed: bool = False,
    demo: bool = False,
) -> Legend:
    """Add a legend.

    ``entries``: :class:`LegendEntry`/:class:`LegendSection` objects or dicts of LegendEntry
    fields; ``None`` uses the sections the ``add_*`` layer functions registered on this map.
    ``large`` (default: the map's ``projector`` setting) makes text and pictograms big for a
    projector.  ``demo`` (or any demo section) puts the translated DEMO badge in the title.
    Every label is HTML-escaped.
    """
    state = _state(m)
    if entries is None:
        sections: list[LegendSection] = list(state.legend)
    else:
        sections, loose = [], []
        for item in entries:
            if isinstance(item, LegendSection):
                sections.append(item)
            elif isinstance(item, LegendEntry):
                loose.append(item)
            else:
                item = dict(item)
                if "icon" in item and item["icon"] is not None:
                    item["icon"] = tuple(item["icon"])
                loose.append(LegendEntry(**item))
        if loose:
            sections.insert(0, LegendSection("", loose))
    any_demo = demo or any(s.demo or any(e.demo for e in s.entries) for s in sections)
    head = _esc(title or t("maps.legend.title", lang))
    if any_demo:
        head += " " + _demo_badge(lang)
    parts = [f"<details{'' if collapsed else ' open'}><summary>{head}</summary>"]
    for section in sections:
        if section.title and len(sections) > 1:
            parts.append(f"<h4>{_esc(section.title)}</h4>")
        parts.extend(_entry_html(m, e, lang) for e in section.entries)
    parts.append("</details>")
    legend = Legend(
        "".join(parts),
        position=position,
        large=state.projector if large is None else large,
    )
    legend.add_to(m)
    return legend


def render(m: folium.Map, *, online: bool = False) -> str:
    """The whole standalone HTML page of a map (for tests, exports and offline files).

    Parameters
    ----------
    m : folium.Map
        The map.
    online : bool
        Whether the page may load OSM tiles (``HARTA_ONLINE``).

    Returns
    -------
    str
        The page, with a Content-Security-Policy ``<meta>`` that allows only its own inline
        scripts (by hash) and the vendored assets: injected event handlers never run.
    """
    return csp.with_meta_policy(m.get_root().render(), online=online)


__all__ = [
    "OSM_ATTRIBUTION",
    "VENDOR_URL_PREFIX",
    "Legend",
    "LegendEntry",
    "LegendSection",
    "add_boundary",
    "add_bus_stops",
    "add_consensus_zones",
    "add_density_overlay",
    "add_draw",
    "add_facilities",
    "add_hex_counts",
    "add_hotspots",
    "add_incident_points",
    "add_layer_control",
    "add_legend",
    "add_risk_zones",
    "add_settlements",
    "base_map",
    "density_to_rgba",
    "external_urls",
    "icon_legend_entries",
    "render",
    "severity_legend_entries",
    "vendor_assets",
    "vendored_files",
]
