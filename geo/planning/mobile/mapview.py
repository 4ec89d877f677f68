"""Folium maps of the Mobile Unit page: the stops and depots, and the planned routes.

Routes are drawn along the streets (:func:`geo.planning.mobile.plan.leg_geometries`), one
colour per vehicle, with each stop numbered in its vehicle's order.  Every text from a file
(stop and vehicle ids) is escaped where it enters HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import geopandas as gpd
from shapely.geometry import MultiPoint

from geo import escape
from geo.i18n import t
from geo.maps.base import add_layer_control, base_map
from geo.planning.mobile.inputs import Stop, Vehicle
from geo.planning.mobile.plan import DEPOT, Plan

if TYPE_CHECKING:
    from geo.communities.model import Community

#: One colour per vehicle, in order (colour-blind-safe Okabe-Ito).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
KIND_COLOURS = {"pickup": "#0072B2", "school": "#009E73", "service": "#E69F00",
                "accompaniment": "#CC79A7"}  # fmt: skip


def _fit(community: Community, points: list[tuple[float, float]]) -> object:
    """The area to fit: the stops' bounds, padded (the community when there is none)."""
    if not points:
        return community
    hull = MultiPoint(points).envelope.buffer(0.002)
    return hull.bounds


def stops_map(
    stops: list[Stop], vehicles: list[Vehicle], community: Community, *, online: bool, lang: str
) -> folium.Map:
    """The stops (coloured by kind) and the depots, to check and place them.

    Parameters
    ----------
    stops, vehicles : lists
    community : Community
    online : bool
    lang : str

    Returns
    -------
    folium.Map
    """
    points = [(s.lon, s.lat) for s in stops] + [(v.depot_lon, v.depot_lat) for v in vehicles]
    m = base_map(_fit(community, points), online=online, lang=lang, height=520)
    for stop in stops:
        label = f"{stop.stop_id} · {t(f'mobile.kind.{stop.kind}', lang)}"
        folium.CircleMarker(
            (stop.lat, stop.lon), radius=6, color="#333333", weight=1, fill=True,
            fill_color=KIND_COLOURS.get(stop.kind, "#777777"), fill_opacity=0.9,
            tooltip=escape.html(label),
        ).add_to(m)  # fmt: skip
    for vehicle in vehicles:
        folium.Marker(
            (vehicle.depot_lat, vehicle.depot_lon),
            tooltip=escape.html(f"{t('mobile.sheet.depot', lang)}: {vehicle.vehicle_id}"),
            icon=folium.DivIcon(html=_badge("D", "#1f3a5f"), icon_size=(22, 22)),
        ).add_to(m)
    return m


def plan_map(
    plan: Plan, legs: dict[str, list], community: Community, *, online: bool, lang: str
) -> folium.Map:
    """The routes along the streets, one colour per vehicle, stops numbered in order.

    Parameters
    ----------
    plan : Plan
    legs : dict of str to list of Route or None
        From :func:`geo.planning.mobile.plan.leg_geometries`.
    community : Community
    online : bool
    lang : str

    Returns
    -------
    folium.Map
    """
    points = [(s.lon, s.lat) for rows in plan.routes.values() for s in rows]
    # Fit the streets driven too: a leg can swing well beyond the stops (a ring road).
    points += [
        xy for routes in legs.values() for leg in routes if leg for xy in leg.geometry.coords
    ]
    m = base_map(_fit(community, points), online=online, lang=lang, height=560)
    for k, (vehicle_id, rows) in enumerate(plan.routes.items()):
        colour = COLOURS[k % len(COLOURS)]
        group = folium.FeatureGroup(name=escape.html(vehicle_id)).add_to(m)
        for leg in legs.get(vehicle_id, []):
            if leg is None:
                continue
            coords = [(y, x) for x, y in leg.geometry.coords]
            # Later vans thinner, so a street two vans share shows both colours.
            weight = max(3, 8 - 2 * k)
            folium.PolyLine(coords, color=colour, weight=weight, opacity=0.85).add_to(group)
        for order, row in enumerate(rows):
            if row.kind == DEPOT:
                if order == 0:
                    folium.Marker((row.lat, row.lon), icon=folium.DivIcon(
                        html=_badge("D", "#1f3a5f"), icon_size=(22, 22))).add_to(group)  # fmt: skip
                continue
            tip = t("mobile.page.tooltip", lang, vehicle=vehicle_id, n=order, stop=row.stop_id,
                    arrival=_hm(row.arrival), load=row.load)  # fmt: skip
            folium.Marker(
                (row.lat, row.lon),
                tooltip=escape.html(tip),
                icon=folium.DivIcon(html=_badge(str(order), colour), icon_size=(22, 22)),
            ).add_to(group)
    add_layer_control(m, collapsed=False)
    return m


def routes_frame(legs: dict[str, list]) -> gpd.GeoDataFrame:
    """The legs as a GeoDataFrame (vehicle_id, seconds, geometry; EPSG:4326).

    Parameters
    ----------
    legs : dict of str to list of Route or None

    Returns
    -------
    geopandas.GeoDataFrame
    """
    rows = [
        {"vehicle_id": v, "seconds": leg.seconds, "geometry": leg.geometry}
        for v, routes in legs.items()
        for leg in routes
        if leg is not None
    ]
    return gpd.GeoDataFrame(rows, columns=["vehicle_id", "seconds", "geometry"], crs=4326)


def _badge(text: str, colour: str) -> str:
    return (
        f'<div style="background:{colour};color:#fff;border-radius:11px;width:22px;height:22px;'
        f'line-height:22px;text-align:center;font:bold 11px sans-serif;border:1.5px solid #fff">'
        f"{escape.html(text)}</div>"
    )


def _hm(seconds: int) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
