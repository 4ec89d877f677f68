"""The Mobile Unit driver's sheet (issue 13): one vehicle's day on paper, in the driver's language.

Page 1: the route drawn over the streets (matplotlib, offline: the bundled OSM network, no tile
server) with numbered stops, beside the itinerary (arrival, departure, passengers aboard).
Following pages: turn-by-turn directions, leg by leg, with the street names of the route.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import geopandas as gpd
import matplotlib
import numpy as np
from shapely.geometry import box

from geo.i18n import t
from geo.planning.mobile.directions import route_steps
from geo.planning.mobile.inputs import clock
from geo.planning.mobile.plan import DEPOT, Plan, leg_geometries
from geo.reports.pdf import ATTRIBUTION, FONT, new_pdf

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    import networkx as nx

    from geo.communities.model import Community
    from geo.network.matrix import Network

ROUTE_COLOUR = "#c0392b"
STREET_COLOUR = "#9a9a9a"
#: Metres of streets shown around the route.
MARGIN_M = 400.0


def driver_sheet(
    plan: Plan,
    vehicle_id: str,
    network: Network,
    graph: nx.MultiDiGraph,
    community: Community,
    lang: str = "ro",
) -> bytes:
    """The PDF of one vehicle's day.

    Parameters
    ----------
    plan : Plan
    vehicle_id : str
    network : Network
        The drive network the plan was made on.
    graph : networkx.MultiDiGraph
        Its drive graph (street names).
    community : Community
    lang : str
        The driver's language.

    Returns
    -------
    bytes
    """
    rows = plan.routes.get(vehicle_id) or []
    legs = leg_geometries(Plan(plan.day, plan.timezone, {vehicle_id: rows}, []), network, community)
    routes = legs.get(vehicle_id, [])
    pdf = new_pdf("A4")
    pdf.add_page()
    pdf.set_font(FONT, "B", 15)
    title = t("mobile.sheet.title", lang, vehicle=vehicle_id, date=plan.day.isoformat())
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, t("mobile.sheet.subtitle", lang, community=community.name,
                     stops=max(len(rows) - 2, 0)), new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    if rows:
        png = _map_png(rows, routes, network, community)
        pdf.image(png, x=10, y=26, w=150, h=150)
    pdf.set_font(FONT, "", 7)
    pdf.text(10, 181, f"{t('mobile.sheet.map_note', lang)}  {ATTRIBUTION}")
    _draw_table(pdf, _table(rows, lang), x=165, y=26, widths=(9, 38, 24, 19, 19, 14))
    _directions(pdf, rows, routes, (graph, network, community), lang)
    return bytes(pdf.output())


def _draw_table(pdf, rows: list[list[str]], *, x: float, y: float, widths) -> None:  # noqa: ANN001
    """A plain table at (x, y): bold shaded header, light rules (text, never markup)."""
    pdf.set_draw_color(150, 150, 150)
    pdf.set_line_width(0.2)
    for k, row in enumerate(rows):
        pdf.set_xy(x, y + k * 6.2)
        pdf.set_font(FONT, "B" if k == 0 else "", 8.5)
        fill = k == 0 or k % 2 == 0
        pdf.set_fill_color(*((200, 215, 235) if k == 0 else (242, 242, 242)))
        for width, value in zip(widths, row, strict=True):
            pdf.cell(width, 6.2, value, border="B", fill=fill)


def _table(rows, lang: str) -> list[list[str]]:  # noqa: ANN001
    header = [
        t(f"mobile.sheet.col.{c}", lang)
        for c in ("n", "stop", "kind", "arrival", "departure", "load")
    ]
    body = [
        [
            str(k),
            t("mobile.sheet.depot", lang) if r.kind == DEPOT else r.stop_id,
            t(f"mobile.kind.{r.kind}", lang),
            clock(r.arrival),
            clock(r.departure),
            str(r.load),
        ]
        for k, r in enumerate(rows)
    ]
    return [header, *body]


def _map_png(rows, routes, network: Network, community: Community) -> io.BytesIO:  # noqa: ANN001
    """The route over the streets around it, in the community's metric CRS."""
    lines = gpd.GeoSeries([r.geometry for r in routes if r is not None], crs=4326).to_crs(
        community.crs
    )
    stops = gpd.GeoSeries(
        gpd.points_from_xy([r.lon for r in rows], [r.lat for r in rows]), crs=4326
    )
    stops = stops.to_crs(community.crs)
    xmin, ymin, xmax, ymax = np.array(lines.total_bounds if len(lines) else stops.total_bounds)
    xmin, ymin, xmax, ymax = min(xmin, stops.total_bounds[0]), min(ymin, stops.total_bounds[1]), \
        max(xmax, stops.total_bounds[2]), max(ymax, stops.total_bounds[3])  # fmt: skip
    # A square view (the image is square on the page).
    side = max(xmax - xmin, ymax - ymin) + 2 * MARGIN_M
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    view = box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    streets = gpd.GeoSeries(network.edge_geometry, crs=4326)
    view_wgs = gpd.GeoSeries([view], crs=community.crs).to_crs(4326).iloc[0]
    streets = streets[streets.intersects(view_wgs)].to_crs(community.crs)
    fig, ax = plt.subplots(figsize=(6, 6), dpi=200)
    streets.plot(ax=ax, color=STREET_COLOUR, linewidth=0.5)
    if len(lines):
        lines.plot(ax=ax, color=ROUTE_COLOUR, linewidth=2.2, alpha=0.85)
    for k, point in enumerate(stops):
        depot = rows[k].kind == DEPOT
        if depot and k > 0:
            continue
        ax.scatter(
            [point.x],
            [point.y],
            s=150,
            zorder=3,
            marker="s" if depot else "o",
            color="#1f3a5f" if depot else "white",
            edgecolor="#1f3a5f",
            linewidth=1.4,
        )
        ax.annotate(
            "D" if depot else str(k),
            (point.x, point.y),
            ha="center",
            va="center",
            fontsize=7,
            zorder=4,
            color="white" if depot else "#1f3a5f",
            weight="bold",
        )
    ax.set_xlim(cx - side / 2, cx + side / 2)
    ax.set_ylim(cy - side / 2, cy + side / 2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    out.seek(0)
    return out


def _directions(pdf, rows, routes, streets, lang: str) -> None:  # noqa: ANN001
    """Turn-by-turn pages: for every leg, from stop k to stop k+1, the streets driven."""
    graph, network, community = streets
    pdf.add_page()
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, t("mobile.sheet.directions", lang), new_x="LMARGIN", new_y="NEXT")
    by_leg = iter(routes)
    for k in range(len(rows) - 1):
        a, b = rows[k], rows[k + 1]
        if (a.lon, a.lat) == (b.lon, b.lat):
            continue
        route = next(by_leg, None)
        if pdf.get_y() > 180:
            pdf.add_page()
        pdf.set_font(FONT, "B", 10)
        name_a = t("mobile.sheet.depot", lang) if a.kind == DEPOT else a.stop_id
        name_b = t("mobile.sheet.depot", lang) if b.kind == DEPOT else b.stop_id
        pdf.cell(0, 6, f"{k} → {k + 1 if b.kind != DEPOT else 'D'}: {name_a} → {name_b}"
                       f"  ({clock(a.departure)} – {clock(b.arrival)})",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        pdf.set_font(FONT, "", 9)
        if route is None:
            pdf.cell(0, 5, t("mobile.sheet.no_route", lang), new_x="LMARGIN", new_y="NEXT")
            continue
        found = route_steps(graph, network, community, route, (a.lon, a.lat), (b.lon, b.lat))
        for step in found:
            if pdf.get_y() > 195:
                pdf.add_page()
            pdf.cell(6)
            pdf.cell(0, 4.6, f"• {step.text(lang)}", new_x="LMARGIN", new_y="NEXT")
