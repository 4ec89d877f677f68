"""The Mobile Unit driver's sheet (issue 13): a PDF in the driver's language, with a map and the
route's street names, checked by reading the PDF back (pymupdf)."""

from __future__ import annotations

import datetime as dt

import pymupdf as fitz
import pytest

from geo import network
from geo.planning.mobile.inputs import read_stops, read_vehicles
from geo.planning.mobile.plan import leg_geometries, make_plan
from geo.reports.driver_sheet import driver_sheet
from geo.settings import PROJECT_ROOT
from tests.test_network import CITY_OSM, fake_community

DEMO = PROJECT_ROOT / "data" / "mobile_unit"


@pytest.fixture(scope="module")
def demo():
    net = network.cached_network(CITY_OSM, "drive")
    graph = network.cached_graph(CITY_OSM, "drive")
    community = fake_community()
    stops, vehicles = read_stops(DEMO / "stops.csv"), read_vehicles(DEMO / "vehicles.csv")
    plan, _ = make_plan(stops, vehicles, dt.date(2026, 12, 7), net, community, time_limit_s=0.5)
    return plan, net, graph, community


def _text(pdf: bytes) -> tuple[str, int]:
    doc = fitz.open(stream=pdf, filetype="pdf")
    return "\n".join(page.get_text() for page in doc), len(doc[0].get_images())


@pytest.mark.parametrize(
    ("lang", "title", "arrive"),
    [("ro", "Foaia șoferului", "Sosire"), ("hu", "Sofőrlap", "Érkezés")],
)
def test_sheet_in_the_drivers_language_with_map_and_itinerary(demo, lang, title, arrive):
    plan, net, graph, community = demo
    text, images = _text(driver_sheet(plan, "van-1", net, graph, community, lang))
    assert f"{title}: van-1, 2026-12-07" in text
    assert arrive in text
    assert images == 1  # the route map
    for row in plan.routes["van-1"][1:-1]:
        assert row.stop_id in text
    assert "© OpenStreetMap contributors" in text


def test_directions_name_the_streets_the_route_drives(demo):
    plan, net, graph, community = demo
    text, _ = _text(driver_sheet(plan, "van-1", net, graph, community, "en"))
    legs = leg_geometries(plan, net, community)["van-1"]
    # Independent of the sheet's code: the names of the graph edges along each route's nodes.
    names = set()
    for leg in legs:
        for u, v in zip(leg.node_ids[:-1], leg.node_ids[1:], strict=True):
            data = min(graph.get_edge_data(u, v).values(), key=lambda d: d["drive_time_s"])
            name = data.get("name")
            if isinstance(name, str):
                names.add(name)
    assert names, "the van drives named streets"
    for name in names:
        assert name in text
    assert "Turn left onto" in text or "Turn right onto" in text
