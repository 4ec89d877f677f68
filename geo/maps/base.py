"""Starting a map: fitted to the community, OpenStreetMap tiles when online, otherwise Harta's
own offline basemap (:mod:`geo.maps.tiles`: every street of the city by class with its name,
settlement and neighbourhood names, land cover, the sketched railway and landfill), served by
the app itself; always with the attribution of the data shown."""

from __future__ import annotations

from typing import Any

import folium
import folium.plugins
import numpy as np
from branca.element import MacroElement
from folium.template import Template

from geo.communities.model import Community
from geo.i18n import t
from geo.maps.assets import VENDOR_URL_PREFIX, vendor_assets
from geo.maps.data import bounds, column, feature_collection, is_missing, styles, to_wgs84
from geo.maps.html import esc
from geo.maps.legend import LegendEntry, LegendSection, register_legend
from geo.maps.style import MapState
from geo.maps.templates import plain_text_templates
from geo.maps.tiles.cache import tile_url_template
from geo.maps.tiles.render import MAX_ZOOM as TILE_MAX_ZOOM
from geo.maps.tiles.render import MIN_ZOOM as TILE_MIN_ZOOM

OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
#: Attribution of the offline basemap (streets and places from OSM, land cover from ESA).
#: (The railway and landfill sketches say "approximate" on the map and in the legend.)
BASEMAP_ATTRIBUTION = "© OpenStreetMap contributors, ODbL · © ESA WorldCover 2020, CC BY 4.0"
#: Widest screen (CSS pixels) on which a map page folds the app's sidebar away: a portrait
#: tablet.  A landscape 1280 px tablet keeps the sidebar on viewing pages.
FOLD_SIDEBAR_PX = 1024
#: Name of the :class:`FoldSidebar` child of a map (one per map; :func:`fold_sidebar`).
_FOLD_NAME = "harta_fold_sidebar"


class FoldSidebar(MacroElement):
    """Fold the app's sidebar away once on a narrow screen, so the map gets the width.

    Streamlit's ``initial_sidebar_state="auto"`` folds the sidebar only below 768 px; an 800 px
    tablet kept it open and the map got a third of the screen.  Folded up to ``max_width``;
    wider screens keep it.  The page cannot know the screen's width; the map frame (same origin
    as the app) can.  Once per browser tab (a flag on the app's window, which survives page
    changes): a person who opens the sidebar again keeps it open.  A map saved as a file (no
    parent window) or shown by another origin leaves the page as it is.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (maxWidth) {
            try {
                var top = window.parent;
                if (!top || top === window || top.__hartaSidebarFolded) { return; }
                if (top.innerWidth > maxWidth) { return; }
                var doc = top.document;
                var open = doc.querySelector('[data-testid="stSidebar"][data-collapsed="false"]');
                var fold = doc.querySelector('[data-testid="stSidebarCollapseButton"] button');
                if (open && fold) { top.__hartaSidebarFolded = true; fold.click(); }
            } catch (e) { /* another origin: leave the page as it is */ }
        })({{ this.max_width }});
        {% endmacro %}
        """
    )

    def __init__(self, max_width: int = FOLD_SIDEBAR_PX):
        super().__init__()
        self._name = "FoldSidebar"
        self.max_width = int(max_width)


def fold_sidebar(m: folium.Map, max_width: int = FOLD_SIDEBAR_PX) -> FoldSidebar:
    """Make ``m`` fold the sidebar on screens up to ``max_width`` pixels (one element per map:
    a second call widens the first, never adds a second script).

    Parameters
    ----------
    m : folium.Map
    max_width : int
        Widest screen, CSS pixels, on which the sidebar is folded.

    Returns
    -------
    FoldSidebar
    """
    element = m._children.get(_FOLD_NAME)
    if isinstance(element, FoldSidebar):
        element.max_width = max(element.max_width, int(max_width))
        return element
    element = FoldSidebar(max_width)
    m.add_child(element, name=_FOLD_NAME)
    return element


def base_map(
    area: Community | Any,
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
    basemap: bool = True,
    fold_sidebar_px: int | None = FOLD_SIDEBAR_PX,
) -> folium.Map:
    """Start a map fitted to ``area``.

    Parameters
    ----------
    area : Community or GeoDataFrame or geometry or bounds
        The community (pages pass ``ctx.community``); or a GeoDataFrame/GeoSeries in any CRS,
        a shapely geometry in EPSG:4326, ``(minx, miny, maxx, maxy)`` in degrees, or
        ``[[south, west], [north, east]]``.
    online : bool
        True: OpenStreetMap tiles.  False: Harta's offline basemap tiles
        (``/harta-tiles/<lang>/{z}/{x}/{y}.png``, served by ``app/serve.py``).
    streets : GeoDataFrame, optional
        Street lines with a ``highway`` column (OSM classes; lists are allowed, as osmnx gives
        them) and optionally ``railway`` and ``name``.  Drawn as vector lines only when offline
        and ``basemap`` is False (a page with no tile server, e.g. a saved HTML file).
    lang : str
        Language of every label the map shows.
    height, width : str or int
        Size of the map element.
    fullscreen, measure : bool
        Add the full-screen button / the distance and area measuring tool.
    projector : bool
        Large text in tooltips, popups and (by default) the legend.
    vendor_prefix : str
        URL folder of the vendored assets.
    basemap : bool
        Offline: use the basemap tiles (default).  False: only ``streets`` as vector lines.
    fold_sidebar_px : int or None
        Fold the app's sidebar once on screens up to this width (:class:`FoldSidebar`; default
        a portrait tablet's); None leaves the sidebar alone.

    Returns
    -------
    folium.Map
    """
    vendor_assets(vendor_prefix)
    plain_text_templates()
    fit = bounds(area)
    (s, w), (n, e) = fit
    cfg = styles()["basemap"]
    m = folium.Map(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=15,
        tiles=None,
        control_scale=True,
        max_zoom=cfg.get("max_zoom", 19),
        width=width,
        height=height,
    )
    state = MapState(
        background=cfg["background"],
        attribution=None if online or basemap else OSM_ATTRIBUTION,
        projector=projector,
    )
    state.lang = lang
    state.icon_image_path = f"{vendor_prefix.rstrip('/')}/leaflet/images/"
    m.add_child(state)
    if online:
        folium.TileLayer(
            tiles=cfg["tiles_url"],
            attr=cfg["attribution_html"],
            name=esc(t("maps.layer.osm", lang)),
            max_zoom=cfg.get("max_zoom", 19),
            overlay=False,
            control=False,
        ).add_to(m)
    elif basemap:
        register_legend(m, basemap_legend(lang))
        folium.TileLayer(
            tiles=tile_url_template(lang),
            attr=esc(BASEMAP_ATTRIBUTION),
            name=esc(t("maps.layer.streets", lang)),
            min_zoom=TILE_MIN_ZOOM,
            max_native_zoom=TILE_MAX_ZOOM,
            max_zoom=cfg.get("max_zoom", 19),
            overlay=False,
            control=False,
        ).add_to(m)
    elif streets is not None and len(streets):
        _add_streets(m, streets, lang)
    _add_controls(m, lang, fullscreen=fullscreen, measure=measure)
    if fold_sidebar_px:
        fold_sidebar(m, fold_sidebar_px)
    m.fit_bounds(fit)
    return m


def basemap_legend(lang: str) -> LegendSection:
    """The legend section of the offline basemap: what its colours mean.

    Parameters
    ----------
    lang : str

    Returns
    -------
    LegendSection
        Streets, tree cover, grassland, and the railway and landfill (approximate sketches).
    """
    from geo.maps.tiles import style as tile_style

    def hex_colour(rgb: tuple[int, int, int]) -> str:
        return "#{:02x}{:02x}{:02x}".format(*rgb)

    entries = [
        LegendEntry(
            t("maps.basemap.streets", lang),
            colour=hex_colour(tile_style.STREET_COLOURS["primary"][1]),
            shape="line",
            key="basemap:streets",
        ),
        LegendEntry(
            t("maps.basemap.trees", lang),
            colour=hex_colour(tile_style.LANDCOVER_COLOURS["tree"]),
            key="basemap:trees",
        ),
        LegendEntry(
            t("maps.basemap.grass", lang),
            colour=hex_colour(tile_style.LANDCOVER_COLOURS["grass"]),
            key="basemap:grass",
        ),
        LegendEntry(
            t("maps.basemap.railway", lang),
            colour=hex_colour(tile_style.RAIL_COLOURS_DARK),
            shape="line",
            dash=True,
            key="basemap:railway",
        ),
        LegendEntry(
            t("maps.basemap.landfill", lang),
            colour=hex_colour(tile_style.LANDFILL_FILL),
            key="basemap:landfill",
        ),
    ]
    return LegendSection(t("maps.layer.basemap", lang), entries, last=True)


def _add_controls(m: folium.Map, lang: str, *, fullscreen: bool, measure: bool) -> None:
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


def add_layer_control(m: folium.Map, *, collapsed: bool = True) -> folium.LayerControl:
    """Layer switcher (top right).

    Parameters
    ----------
    m : folium.Map
    collapsed : bool

    Returns
    -------
    folium.LayerControl
    """
    control = folium.LayerControl(position="topright", collapsed=collapsed)
    control.add_to(m)
    return control


def _highway_class(value: Any) -> str:
    if isinstance(value, list | tuple | np.ndarray):
        value = value[0] if len(value) else ""
    if is_missing(value):
        return ""
    return str(value).removesuffix("_link")


def _add_streets(m: folium.Map, streets: Any, lang: str) -> folium.GeoJson:
    cfg = styles()["streets"]
    streets = to_wgs84(streets)
    hw_col = column(streets, "highway")
    rail_col = column(streets, "railway")
    name_col = column(streets, "name")
    props = []
    for _, row in streets.iterrows():
        cls = _highway_class(row[hw_col]) if hw_col else ""
        if not cls and rail_col and not is_missing(row[rail_col]):
            cls = "railway"
        # Offline there are no tile labels: the street's name on hover is the only one.
        name = row[name_col] if name_col else None
        props.append(
            {
                "hw": cls if (cls in cfg["by_highway"] or cls == "railway") else "",
                "tip": "" if is_missing(name) else esc(name),
            }
        )
    data = feature_collection(streets.geometry, props)
    default = cfg["default"]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        cls = feature["properties"]["hw"]
        extra = cfg["railway"] if cls == "railway" else cfg["by_highway"].get(cls, {})
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
        name=esc(t("maps.layer.streets", lang)),
        style_function=style,
        control=False,
        smooth_factor=1.0,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if name_col else None,
    )
    layer.add_to(m)
    return layer
