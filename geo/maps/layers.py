"""Map layers of a community's areas: boundary, settlements, workshop risk and consensus zones.

Each ``add_*`` adds one layer styled from ``styles/layers.json`` and ``styles/taxonomy.json``,
with pictogram-first tooltips and popups in the reader's language, and registers its legend
section.  Safety rules kept here:

* every text from people or data is escaped (:func:`geo.maps.html.esc`), layer names included;
* a feature carries only its ``tip``/``pop`` HTML and a style key ``s``, never the row;
* rows with ``is_demo`` true say "DEMO" (translated) in their tooltip, popup and legend.

Points drawn as pictograms (incidents, facilities, bus stops) are :mod:`geo.maps.points`; how
features become a folium layer (:func:`~geo.maps.features.geojson`, clustering) is
:mod:`geo.maps.features`.
"""

from __future__ import annotations

from typing import Any

import folium

from geo import taxonomy
from geo.communities.model import Community
from geo.i18n import t
from geo.maps.data import (
    area_frame,
    column,
    demo_rows,
    feature_collection,
    is_missing,
    styles,
    to_wgs84,
)
from geo.maps.features import geojson, pictogram_marker
from geo.maps.html import demo_badge, esc, row, severity_chip, tip
from geo.maps.legend import LegendEntry, LegendSection, register_legend
from geo.maps.style import icon_class, icon_html


def _name_tips(gdf: Any, fallback: str, key: str, lang: str) -> list[dict[str, str]]:
    """Features of named areas: the (escaped) ``name``, else ``fallback``, as tooltip, a DEMO
    badge on demo rows, no popup, style key ``key``."""
    name_col = column(gdf, "name")
    props = []
    for demo, (_, r) in zip(demo_rows(gdf, False), gdf.iterrows(), strict=True):
        label = r[name_col] if name_col and not is_missing(r[name_col]) else fallback
        parts = [f"<span>{esc(label)}</span>"] + ([demo_badge(lang)] if demo else [])
        props.append({"tip": tip(parts), "pop": "", "s": key})
    return props


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
    layer_name = name or t("maps.layer.boundary", lang)
    data = feature_collection(gdf.geometry, _name_tips(gdf, layer_name, "b", lang))
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
    layer_name = t("maps.layer.settlements", lang)
    demos = demo_rows(gdf, False)
    props = _name_tips(gdf, layer_name, "s", lang)
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
    data = feature_collection(centres, icon_props)
    return geojson(group, data, name="", style=style, marker=pictogram_marker(size), control=False)


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
