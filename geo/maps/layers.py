"""Map layers of a community's own data: boundary, settlements, workshop risk and consensus
zones, incident pictograms, facilities and bus stops.

Each ``add_*`` adds one layer styled from ``styles/layers.json`` and ``styles/taxonomy.json``,
with pictogram-first tooltips and popups in the reader's language, and registers its legend
section.  Safety rules kept here:

* every text from people or data is escaped (:func:`geo.maps.html.esc`), layer names included;
* a feature carries only its ``tip``/``pop`` HTML and a style key ``s``, never the row;
* sensitive incident types are left out unless the caller asks for them (from the role);
* rows with ``is_demo`` true say "DEMO" (translated) in their tooltip, popup and legend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
from folium.plugins import MarkerCluster
from folium.utilities import JsCode

from geo import taxonomy
from geo.communities.model import Community
from geo.i18n import t
from geo.maps.data import (
    area_frame,
    column,
    demo_rows,
    feature_collection,
    fmt_date,
    is_missing,
    styles,
    to_wgs84,
)
from geo.maps.html import demo_badge, esc, row, severity_chip, tip
from geo.maps.legend import LegendEntry, LegendSection, register_legend
from geo.maps.style import icon_class, icon_html, state


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
    style = style or {}

    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        return style.get(feature["properties"].get("s", ""), {})

    layer = folium.GeoJson(
        data,
        # The layer control inserts names as HTML: a hostile community name would run there.
        name=esc(name),
        style_function=style_function if style else None,
        marker=marker,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        popup=folium.GeoJsonPopup(fields=["pop"], labels=False, max_width=320) if popup else None,
        show=show,
        control=control,
    )
    layer.add_to(m)
    return layer


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

    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        return style.get(feature["properties"].get("s", ""), {})

    layer = folium.GeoJson(
        data,
        name=esc(name),
        style_function=style_function,
        marker=marker,
        on_each_feature=_BIND_EACH,
        control=False,
    )
    layer.add_to(group)
    return layer


def add_boundary(
    m: folium.Map, area: Community | Any, lang: str = "ro", *, name: str | None = None
) -> folium.GeoJson:
    """The community's boundary: thick dashed black outline, no fill; its name as tooltip.

    Parameters
    ----------
    m : folium.Map
    area : Community or GeoDataFrame
        The community, or boundary rows with an optional ``name`` column (any CRS).
    lang : str
    name : str, optional
        Layer name (default "Community boundary" translated); escaped.

    Returns
    -------
    folium.GeoJson
    """
    gdf = area_frame(area)
    name_col = column(gdf, "name")
    layer_name = name or t("maps.layer.boundary", lang)
    props = []
    for demo, (_, r) in zip(demo_rows(gdf, False), gdf.iterrows(), strict=True):
        label = r[name_col] if name_col and not is_missing(r[name_col]) else layer_name
        parts = [f"<span>{esc(label)}</span>"] + ([demo_badge(lang)] if demo else [])
        props.append({"tip": tip(parts), "pop": "", "s": "b"})
    data = feature_collection(gdf.geometry, props)
    style = {"b": dict(styles()["community_boundary"])}
    line = LegendEntry(
        layer_name, colour=style["b"]["color"], shape="line", dash=True, key="boundary"
    )
    register_legend(m, LegendSection(layer_name, [line]))
    return geojson(m, data, name=layer_name, style=style, popup=False)


def add_settlements(m: folium.Map, gdf: Any, lang: str = "ro") -> folium.GeoJson:
    """Settlement polygons (grey fill) with their (escaped) names as tooltips.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Settlement areas with an optional ``name`` and ``is_demo`` (any CRS).
    lang : str

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf)
    name_col = column(gdf, "name")
    layer_name = t("maps.layer.settlements", lang)
    demos = demo_rows(gdf, False)
    props = []
    for demo, (_, r) in zip(demos, gdf.iterrows(), strict=True):
        label = r[name_col] if name_col and not is_missing(r[name_col]) else layer_name
        parts = [f"<span>{esc(label)}</span>"] + ([demo_badge(lang)] if demo else [])
        props.append({"tip": tip(parts), "pop": "", "s": "s"})
    cfg = styles()["settlements"]
    entry = LegendEntry(layer_name, colour=cfg["fillColor"], demo=any(demos), key="settlements")
    register_legend(m, LegendSection(layer_name, [entry], demo=any(demos)))
    data = feature_collection(gdf.geometry, props)
    return geojson(m, data, name=layer_name, style={"s": cfg}, popup=False)


def _zone_popup(m: folium.Map, r: Any, hazard: str, sev: int, lang: str, cols: dict) -> str:
    hazard_label = esc(taxonomy.label("hazard", hazard, lang))
    badge = [demo_badge(lang)] if cols["demo"] else []
    pop = [
        '<div class="harta-pop"><div class="harta-head">',
        icon_html(m, "hazard", hazard, large=True),
        f"<span>{hazard_label}</span>",
        *badge,
        "</div>",
        row("maps.severity", severity_chip(sev, lang), lang),
    ]
    tod, season, note = cols["tod"], cols["season"], cols["note"]
    if tod and not is_missing(r[tod]):
        pop.append(row("maps.time_of_day", esc(taxonomy.label("time_of_day", r[tod], lang)), lang))
    if season and not is_missing(r[season]):
        pop.append(row("maps.season", esc(taxonomy.label("season", r[season], lang)), lang))
    if note and not is_missing(r[note]) and str(r[note]):
        pop.append(f'<div class="harta-note">{esc(r[note])}</div>')
    pop.append("</div>")
    return "".join(pop)


def add_risk_zones(
    m: folium.Map,
    gdf: Any,
    lang: str = "ro",
    *,
    demo: bool = False,
    show_notes: bool = True,
    name: str | None = None,
) -> folium.GeoJson:
    """Workshop risk zones: translucent fills by severity (1 light yellow … 5 dark red) with
    the hazard's pictogram at each zone's centre, so what lies underneath stays visible.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Polygons, lines or points with ``hazard`` (or ``hazard_code``), ``severity`` (1–5),
        optional ``time_of_day``, ``season``, ``note`` (free text, escaped), ``is_demo``.
        Other columns never reach the page.
    lang : str
    demo : bool
        Mark every row as demo.
    show_notes : bool
        Put the note in the popup.
    name : str, optional
        Layer name; escaped.

    Returns
    -------
    folium.GeoJson
        The zones (inside one layer-control entry with their pictograms).  Tooltip:
        pictogram + hazard + severity.  Popup adds when, season and note.  The legend section
        lists only the severities and hazards present.
    """
    gdf = to_wgs84(gdf)
    layer_name = name or t("maps.layer.risk_zones", lang)
    cfg = styles()["risk_zones"]
    hazard_col = column(gdf, "hazard_code", "hazard")
    cols = {
        "tod": column(gdf, "time_of_day"),
        "season": column(gdf, "season"),
        "note": column(gdf, "note", "notes") if show_notes else None,
    }
    demos = demo_rows(gdf, demo)
    props = []
    hazards_seen: dict[str, None] = {}
    severities_seen: set[int] = set()
    for is_demo, (_, r) in zip(demos, gdf.iterrows(), strict=True):
        hazard, sev = str(r[hazard_col]), int(r["severity"])
        hazards_seen[hazard] = None
        severities_seen.add(sev)
        parts = [icon_html(m, "hazard", hazard)]
        parts += [f"<span>{esc(taxonomy.label('hazard', hazard, lang))}</span>"]
        parts += [severity_chip(sev, lang)] + ([demo_badge(lang)] if is_demo else [])
        pop = _zone_popup(m, r, hazard, sev, lang, {**cols, "demo": is_demo})
        props.append({"tip": tip(parts), "pop": pop, "s": str(sev)})
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
    data = feature_collection(gdf.geometry, props)
    marker = None
    if any(f["geometry"]["type"] in ("Point", "MultiPoint") for f in data["features"]):
        # Zones marked as a single point: a disc in the severity colour, not a blue pin.
        marker = folium.CircleMarker(radius=16, fill=True)
    entries = [
        LegendEntry(
            f"{n} · {taxonomy.label('severity', n, lang)}",
            colour=taxonomy.severity_colour(n),
            opacity=cfg["fillOpacity"],
            key=f"severity:{n}",
        )
        for n in taxonomy.severities()
        if n in severities_seen
    ]
    entries += [
        LegendEntry(taxonomy.label("hazard", h, lang), icon=("hazard", h), key=f"hazard:{h}")
        for h in taxonomy.hazards()
        if h in hazards_seen
    ]
    register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    group = folium.FeatureGroup(name=esc(layer_name)).add_to(m)
    layer = geojson(group, data, name=layer_name, style=style, marker=marker, control=False)
    _zone_pictograms(m, group, gdf, props, hazard_col, cfg.get("icon_size", 28))
    return layer


def _zone_pictograms(
    m: folium.Map, group: Any, gdf: Any, props: list[dict], hazard_col: str, size: int
) -> folium.GeoJson:
    """The hazard's pictogram at each zone's centre (inside the zone), ringed in the severity
    colour, with the zone's tooltip and popup."""
    icon_props, style = [], {}
    for (_, r), p in zip(gdf.iterrows(), props, strict=True):
        hazard, sev = str(r[hazard_col]), int(r["severity"])
        key = f"{hazard}:{sev}"
        style[key] = {
            "html": (
                f'<div class="harta-zone-ico" style="border-color:'
                f'{taxonomy.severity_colour(sev)}"><div class="harta-ico '
                f'{icon_class("hazard", hazard)}"></div></div>'
            )
        }
        icon_props.append({**p, "s": key})
    centres = [
        None
        if g is None or g.is_empty
        else (g if g.geom_type == "Point" else g.representative_point())
        for g in gdf.geometry
    ]
    marker = folium.Marker(
        icon=folium.DivIcon(
            html="",
            icon_size=(size, size),
            icon_anchor=(size // 2, size // 2),
            class_name="harta-marker",
        )
    )
    data = feature_collection(centres, icon_props)
    return geojson(group, data, name="", style=style, marker=marker, control=False)


def add_consensus_zones(
    m: folium.Map, gdf: Any, lang: str = "ro", *, demo: bool = False
) -> folium.GeoJson:
    """Zones many participants marked: fill opacity grows with ``agreement`` (0–1).

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        ``agreement`` and optional ``hazard`` (pictogram in tooltip), ``is_demo``.
    lang : str
    demo : bool
        Mark every row as demo.

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf)
    cfg = styles()["consensus_zones"]
    layer_name = t("maps.layer.consensus", lang)
    hazard_col = column(gdf, "hazard_code", "hazard")
    demos = demo_rows(gdf, demo)
    lo, hi = cfg["fill_opacity_min"], cfg["fill_opacity_max"]
    props, style = [], {}
    for is_demo, (_, r) in zip(demos, gdf.iterrows(), strict=True):
        agreement = min(max(float(r["agreement"]), 0.0), 1.0)
        step = round(agreement * 10)  # ten opacity steps keep the style table short
        key = f"a{step}"
        style[key] = {
            "color": cfg["color"],
            "weight": cfg["weight"],
            "fillColor": cfg["fillColor"],
            "fillOpacity": round(lo + (hi - lo) * step / 10, 3),
        }
        text = esc(t("maps.consensus.agreement", lang, percent=round(agreement * 100)))
        parts = []
        if hazard_col and not is_missing(r[hazard_col]):
            hz = str(r[hazard_col])
            parts += [
                icon_html(m, "hazard", hz),
                f"<span>{esc(taxonomy.label('hazard', hz, lang))}</span>",
            ]
        parts.append(f"<span>{text}</span>")
        if is_demo:
            parts.append(demo_badge(lang))
        props.append({"tip": tip(parts), "pop": "", "s": key})
    entries = [
        LegendEntry(
            t("maps.consensus.low", lang), colour=cfg["fillColor"], opacity=lo, key="consensus:low"
        ),
        LegendEntry(
            t("maps.consensus.high", lang),
            colour=cfg["fillColor"],
            opacity=hi,
            key="consensus:high",
        ),
    ]
    register_legend(m, LegendSection(layer_name, entries, demo=any(demos)))
    data = feature_collection(gdf.geometry, props)
    return geojson(m, data, name=layer_name, style=style, popup=False)


RowsFn = Callable[[Any], tuple[str, list[str]]]


def point_layer(
    m: folium.Map,
    gdf: Any,
    *,
    kind: str,
    code_col: str,
    name: str,
    size: int,
    lang: str,
    demos: list[bool],
    extra_rows: RowsFn | None = None,
    popup: bool = True,
    cluster: bool = True,
) -> folium.GeoJson:
    """Pictogram markers (one DivIcon per code) for points; polygons use their centroid.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        In EPSG:4326.
    kind : str
        Taxonomy group of the codes.
    code_col : str
        Column holding the code.
    name : str
        Layer name; escaped.
    size : int
        Pictogram size in pixels.
    lang : str
    demos : list of bool
        Per row, whether it is demo data.
    extra_rows : callable, optional
        ``row -> (popup HTML, extra tooltip parts)``, already escaped.
    popup : bool
    cluster : bool
        Group nearby points into counted clusters (:func:`clustered_layer`).

    Returns
    -------
    folium.GeoJson
    """
    props = []
    geoms = []
    for is_demo, (_, r) in zip(demos, gdf.iterrows(), strict=True):
        code = str(r[code_col])
        label = esc(taxonomy.label(kind, code, lang))
        badge = [demo_badge(lang)] if is_demo else []
        rows_html, tip_extra = extra_rows(r) if extra_rows else ("", [])
        tooltip = tip([icon_html(m, kind, code), f"<span>{label}</span>", *tip_extra, *badge])
        pop = (
            '<div class="harta-pop"><div class="harta-head">'
            + icon_html(m, kind, code, large=True)
            + f"<span>{label}</span>"
            + "".join(badge)
            + "</div>"
            + rows_html
            + "</div>"
        )
        props.append({"tip": tooltip, "pop": pop if popup else "", "s": code})
        geom = r.geometry
        geoms.append(geom if geom is None or geom.geom_type == "Point" else geom.centroid)
    codes_seen = {p["s"] for p in props}
    style = {
        code: {"html": f'<div class="harta-ico {icon_class(kind, code)}"></div>'}
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
    data = feature_collection(geoms, props)
    entries = [
        LegendEntry(taxonomy.label(kind, code, lang), icon=(kind, code), key=f"{kind}:{code}")
        for code in taxonomy.codes(kind)
        if code in codes_seen
    ]
    st = state(m)
    if cluster and not st.clustered:
        st.clustered = True
        entries.append(
            LegendEntry(
                t("maps.cluster", lang), colour=CLUSTER_COLOUR, shape="circle", key="cluster"
            )
        )
    register_legend(m, LegendSection(name, entries, demo=any(demos)))
    if cluster:
        return clustered_layer(m, data, name=name, style=style, marker=marker)
    return geojson(m, data, name=name, style=style, marker=marker, popup=popup)


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

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        ``type`` (or ``type_code``: incident type code), optional ``occurred_at`` (or
        ``date``), ``note`` (shown, escaped, only with ``show_notes``), ``is_demo``.  No other
        column reaches the page.
    lang : str
    demo : bool
        Mark every row as demo.
    include_sensitive : bool
        Keep sensitive types (domestic/sexual violence, child protection); the caller decides
        it from the viewer's role (``geo.roles.may(role, "incidents.read_sensitive")``).
    show_notes : bool
    name : str, optional
        Layer name; escaped.

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf)
    type_col = column(gdf, "type_code", "type", "incident_type")
    if type_col is None:
        raise KeyError("incident layer needs a 'type' column")
    if not include_sensitive:
        gdf = gdf[[not taxonomy.is_sensitive(str(v)) for v in gdf[type_col]]]
    date_col = column(gdf, "occurred_at", "date")
    note_col = column(gdf, "note", "notes") if show_notes else None

    def rows(r: Any) -> tuple[str, list[str]]:
        out = ""
        if date_col and not is_missing(r[date_col]):
            out += row("maps.date", esc(fmt_date(r[date_col])), lang)
        if note_col and not is_missing(r[note_col]) and str(r[note_col]):
            out += f'<div class="harta-note">{esc(r[note_col])}</div>'
        return out, []

    return point_layer(
        m,
        gdf,
        kind="incident_type",
        code_col=type_col,
        name=name or t("maps.layer.incidents", lang),
        size=styles()["incidents"]["icon_size"],
        lang=lang,
        demos=demo_rows(gdf, demo),
        extra_rows=rows,
    )


def _named_rows(name_col: str | None, extra: list[tuple[str, str]], lang: str) -> RowsFn:
    """Popup rows of a named place: the (escaped) name, then ``(column, i18n key)`` rows."""

    def rows(r: Any) -> tuple[str, list[str]]:
        out, extra_tip = "", []
        if name_col and not is_missing(r[name_col]):
            out += f'<div class="harta-row"><b>{esc(r[name_col])}</b></div>'
            extra_tip.append(f"<span>— {esc(r[name_col])}</span>")
        for col, key in extra:
            if not is_missing(r[col]) and str(r[col]):
                out += row(key, esc(r[col]), lang)
        return out, extra_tip

    return rows


def add_facilities(
    m: folium.Map, gdf: Any, lang: str = "ro", *, demo: bool = False, name: str | None = None
) -> folium.GeoJson:
    """Facilities (police, hospital, school …) as pictograms.

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        ``kind`` (facility code), optional ``name`` (escaped, shown under the kind), ``phone``,
        ``address``, ``is_demo``.
    lang : str
    demo : bool
    name : str, optional
        Layer name; escaped.

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf)
    kind_col = column(gdf, "kind", "facility_kind")
    if kind_col is None:
        raise KeyError("facility layer needs a 'kind' column")
    extra = [(c, f"maps.{c}") for c in ("address", "phone") if c in gdf.columns]
    return point_layer(
        m,
        gdf,
        kind="facility_kind",
        code_col=kind_col,
        name=name or t("maps.layer.facilities", lang),
        size=styles()["facilities"]["icon_size"],
        lang=lang,
        demos=demo_rows(gdf, demo),
        extra_rows=_named_rows(column(gdf, "name"), extra, lang),
    )


def add_bus_stops(
    m: folium.Map, gdf: Any, lang: str = "ro", *, demo: bool = False
) -> folium.GeoJson:
    """Bus stops (smaller pictograms).

    Parameters
    ----------
    m : folium.Map
    gdf : GeoDataFrame
        Optional ``name`` and ``routes`` (or ``route_ref``), both escaped, and ``is_demo``.
    lang : str
    demo : bool

    Returns
    -------
    folium.GeoJson
    """
    gdf = to_wgs84(gdf).copy()
    gdf["_kind"] = "bus_stop"
    routes_col = column(gdf, "routes", "route_ref")
    extra = [(routes_col, "maps.routes")] if routes_col else []
    return point_layer(
        m,
        gdf,
        kind="facility_kind",
        code_col="_kind",
        name=t("maps.layer.bus_stops", lang),
        size=styles()["bus_stops"]["icon_size"],
        lang=lang,
        demos=demo_rows(gdf, demo),
        extra_rows=_named_rows(column(gdf, "name"), extra, lang),
    )
