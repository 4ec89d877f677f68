"""Map layers of points drawn as pictograms: incidents, facilities and bus stops.

:func:`point_layer` draws any taxonomy-coded points as one pictogram per code (polygons by
their centroid), clustered into counted bubbles by default, with pictogram-first tooltips and
popups in the reader's language and a legend section listing only the codes present.  The
``add_*`` functions pick the columns of their data and the rows a page may show:

* :func:`add_incident_points` leaves sensitive incident types out unless the caller asks for
  them (from the role), and shows notes only when asked;
* every text from people or data is escaped (:func:`geo.maps.html.esc`);
* rows with ``is_demo`` true say "DEMO" (translated) in their tooltip, popup and legend.

Areas (boundary, settlements, risk and consensus zones) are :mod:`geo.maps.layers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium

from geo import taxonomy
from geo.i18n import t
from geo.maps.data import (
    column,
    demo_rows,
    feature_collection,
    fmt_date,
    is_missing,
    styles,
    to_wgs84,
)
from geo.maps.features import CLUSTER_COLOUR, clustered_layer, geojson, pictogram_marker
from geo.maps.html import demo_badge, esc, row, tip
from geo.maps.legend import LegendEntry, LegendSection, register_legend
from geo.maps.style import icon_class, icon_html, state

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
    marker = pictogram_marker(size)
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
