"""Turn-by-turn directions for the driver: the streets of each leg, from the route's nodes.

A leg's :class:`geo.network.Route` lists the OSM nodes it passes; each step between two nodes
is a street edge of the drive graph (the fastest of parallel edges, as the engine times it), with
its ``name`` and ``length``.  Consecutive edges of one street are one instruction; the turn
between two streets is read from the bearings either side of the junction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from geo.i18n import t

#: Bearing change (degrees) under which the driver goes straight on; beyond SHARP a sharp turn.
STRAIGHT_DEG = 30.0
SHARP_DEG = 120.0


@dataclass(frozen=True)
class Step:
    """One instruction: take ``street`` for ``metres`` after turning ``turn``.

    Attributes
    ----------
    street : str or None
        None for an unnamed street.
    metres : float
    turn : {"start", "straight", "left", "right", "sharp_left", "sharp_right"}
    """

    street: str | None
    metres: float
    turn: str

    def text(self, lang: str) -> str:
        """The instruction in ``lang``.

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        street = self.street or t("mobile.directions.unnamed", lang)
        metres = int(round(self.metres / 10.0) * 10) or int(round(self.metres))
        return t(f"mobile.directions.{self.turn}", lang, street=street, metres=metres)


def steps(graph: nx.MultiDiGraph, node_ids: tuple[int, ...] | list[int]) -> list[Step]:
    """Instructions along a path of OSM nodes.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        The drive graph (``geo.network.graph_for(community, "drive")``).
    node_ids : sequence of int
        Nodes passed, in order (:attr:`geo.network.Route.node_ids`).

    Returns
    -------
    list of Step
        Empty for a path of fewer than two nodes.
    """
    segments = []
    for u, v in zip(node_ids[:-1], node_ids[1:], strict=True):
        data = _fastest(graph, u, v)
        if data is not None:
            segments.append((_name(data.get("name")), float(data.get("length") or 0.0),
                             _bearing(graph, u, v)))  # fmt: skip
    return _group(segments)


def route_steps(graph, network, community, route, origin, destination) -> list[Step]:  # noqa: ANN001, PLR0913
    """Instructions for a whole leg, the partly driven streets at both ends included.

    The origin and destination are snapped as the travel-time engine snaps them
    (:func:`geo.network.snap_points`), so the first and last streets are the ones the van
    really starts and ends on, even when the leg passes no junction at all.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
    network : Network
    community : Community
    route : geo.network.Route
    origin, destination : (lon, lat)

    Returns
    -------
    list of Step
    """
    from geo.network.snap import snap_points

    nodes = list(route.node_ids)
    first = _snapped(graph, network, snap_points(network, community, [origin]), nodes[:1], True)
    last = _snapped(
        graph, network, snap_points(network, community, [destination]), nodes[-1:], False
    )
    if not nodes:  # both on one street: its name, the metres driven along it
        metres = community.to_metric_geometry(route.geometry).length
        return _group([(first[0], metres, first[2])])
    middle = []
    for u, v in zip(nodes[:-1], nodes[1:], strict=True):
        data = _fastest(graph, u, v)
        if data is not None:
            middle.append((_name(data.get("name")), float(data.get("length") or 0.0),
                           _bearing(graph, u, v)))  # fmt: skip
    return _group([first, *middle, last])


def _snapped(graph, network, snap, towards: list[int], leaving: bool):  # noqa: ANN001, ANN202
    """(name, metres, bearing) of the street a point was snapped to, up to (or from) a node."""
    k = 0
    for i in range(len(snap.edge)):
        edge = int(snap.edge[i])
        u, v = (
            int(network.node_ids[network.edge_u[edge]]),
            int(network.node_ids[network.edge_v[edge]]),
        )
        if towards and (v if leaving else u) == towards[0]:
            k = i
            break
    edge = int(snap.edge[k])
    u, v = int(network.node_ids[network.edge_u[edge]]), int(network.node_ids[network.edge_v[edge]])
    data = _fastest(graph, u, v) or {}
    length = float(network.edge_length_m[edge])
    fraction = float(snap.fraction[k])
    metres = length * (1 - fraction) if leaving else length * fraction
    return _name(data.get("name")), metres, _bearing(graph, u, v)


def _group(segments: list[tuple[str | None, float, float]]) -> list[Step]:
    """Consecutive segments of one street as one step; the turn from the bearings."""
    out: list[Step] = []
    previous_bearing = None
    for name, length, bearing in segments:
        if out and out[-1].street == name:
            last = out[-1]
            out[-1] = Step(last.street, last.metres + length, last.turn)
        else:
            turn = "start" if previous_bearing is None else _turn(previous_bearing, bearing)
            out.append(Step(name, length, turn))
        previous_bearing = bearing
    return [s for s in out if s.metres >= 1.0 or len(out) == 1]


def _fastest(graph: nx.MultiDiGraph, u: int, v: int) -> dict | None:
    edges = graph.get_edge_data(u, v)
    if not edges:
        return None
    return min(edges.values(), key=lambda d: float(d.get("drive_time_s", math.inf)))


def _name(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _bearing(graph: nx.MultiDiGraph, u: int, v: int) -> float:
    """Compass bearing (degrees) from node ``u`` to node ``v`` (local flat approximation)."""
    a, b = graph.nodes[u], graph.nodes[v]
    dx = (b["x"] - a["x"]) * math.cos(math.radians((a["y"] + b["y"]) / 2))
    dy = b["y"] - a["y"]
    return math.degrees(math.atan2(dx, dy)) % 360


def _turn(before: float, after: float) -> str:
    change = (after - before + 540) % 360 - 180  # -180..180, positive = clockwise = right
    if abs(change) < STRAIGHT_DEG:
        return "straight"
    side = "right" if change > 0 else "left"
    return f"sharp_{side}" if abs(change) > SHARP_DEG else side
