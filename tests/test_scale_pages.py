"""Pages send what the screen shows, not the data set (issue 11 item 11), at 100,000 synthetic
incidents in one community: the features and bytes each role's map carries are counted in the
produced map data (no timing).  Clusters are checked against an independent pandas/pyproj
recomputation, and against what each role may see: a mediator's clusters never count a sensitive
incident, a role without exact points gets hexagon counts whatever view it sends.
"""

from __future__ import annotations

import folium
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from geo import crs as geocrs
from geo.accounts import create_user
from geo.analysis.map_data import MapView, map_incidents
from geo.communities.model import Community
from geo.db.security import role_engine
from geo.maps.aggregates import (
    MAX_MAP_POINTS,
    STREET_ZOOM,
    add_hex_counts,
    add_incident_clusters,
    add_incidents_at_scale,
    cluster_cell_m,
    grid_clusters,
)
from tests.factories import insert_community

pytestmark = pytest.mark.db

N = 100_000
N_SENSITIVE = 2_000
#: Most features and bytes a map of one community may carry at 100,000 incidents.
MAX_FEATURES = 2_000
MAX_BYTES = 3_000_000
#: A street-zoom view (about 250 m x 170 m) in the middle of the square.
STREET_VIEW = MapView((23.6185, 46.7143, 23.6215, 46.7158), STREET_ZOOM)


@pytest.fixture(scope="module")
def big(pg_server_url, template_db):
    """A fresh database with the 4 km x 3 km square and 100,000 incidents (2,000 of them
    domestic violence); police and mediator accounts scoped to it.  Yields (url, community)."""
    from tests.conftest import clone_database, drop_database

    url = clone_database(pg_server_url, template_db)
    owner = create_engine(url)
    with owner.begin() as conn:
        cid = insert_community(conn, "big")
        conn.execute(
            text(
                "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
                " location_precision, sensitivity, reporting_role, status, geom, source,"
                " created_by_role, is_demo)"
                " SELECT :c, timestamptz '2025-01-01 00:00+02' + s * interval '5 minutes',"
                " CASE WHEN s <= :ns THEN 'domestic_violence' ELSE 'theft' END, 1 + s % 5,"
                " 'exact', 'normal', 'police', 'reported',"
                " ST_SetSRID(ST_MakePoint(23.601 + 0.038 * ((s * 7919) % 10007) / 10007.0,"
                " 46.701 + 0.028 * ((s * 104729) % 10009) / 10009.0), 4326), 'form', 'police',"
                " true FROM generate_series(1::bigint, :n) AS s"
            ),
            {"c": cid, "n": N, "ns": N_SENSITIVE},
        )
        conn.execute(text("ANALYZE incidents"))
    community = Community.load(owner, "big")
    users = {
        r: create_user(owner, f"big-{r}", f"{r}-Big-2026-pw", r, [cid])
        for r in ("police", "mediator")
    }
    owner.dispose()
    yield url, community, users
    drop_database(pg_server_url, url)


def _engine(big, role):
    url, _, users = big
    user = users.get(role)
    return role_engine(url, role, None if user is None else user.id)


def _features_and_bytes(m: folium.Map) -> tuple[int, int]:
    """Features of every GeoJSON layer of the map, and the bytes of the page it renders."""
    features = sum(
        len(child.data.get("features", []))
        for child in m._children.values()
        if isinstance(child, folium.GeoJson)
    )
    return features, len(m.get_root().render().encode())


def _page_map(big, role: str, view: MapView | None = None) -> tuple[folium.Map, dict]:
    """The incident layers of the community map as app/screens/map.py draws them."""
    _, community, _ = big
    engine = _engine(big, role)
    try:
        seen, clusters = map_incidents(engine, community, role, 5, view=view)
    finally:
        engine.dispose()
    m = folium.Map(location=[46.715, 23.62], zoom_start=14, tiles=None)
    if seen.cells is not None and not seen.cells.empty:
        add_hex_counts(m, seen.cells, "en")
    if not seen.points.empty:
        add_incidents_at_scale(
            m,
            seen.points,
            "en",
            metric_crs=community.crs,
            area_m2=community.area_m2,
            include_sensitive=role == "police",
        )
    if clusters is not None:
        add_incident_clusters(m, clusters, "en")
    return m, {"points": seen.points, "clusters": clusters, "cells": seen.cells}


@pytest.mark.parametrize("role", ["public", "community", "planner", "admin", "police", "mediator"])
def test_every_role_map_carries_a_page_not_the_data_set(big, role):
    m, drawn = _page_map(big, role)
    features, size = _features_and_bytes(m)
    assert 0 < features <= MAX_FEATURES and size <= MAX_BYTES, (features, size)
    assert len(drawn["points"]) <= MAX_MAP_POINTS


@pytest.mark.parametrize("role", ["public", "community", "planner", "admin"])
def test_aggregated_roles_get_hexagon_counts_at_street_zoom_too(big, role):
    m, drawn = _page_map(big, role, STREET_VIEW)
    features, size = _features_and_bytes(m)
    assert drawn["points"].empty and drawn["clusters"] is None
    assert drawn["cells"] is not None and features == len(drawn["cells"]) <= MAX_FEATURES
    assert size <= MAX_BYTES


@pytest.mark.parametrize("role", ["police", "mediator"])
def test_exact_roles_get_points_only_at_street_zoom(big, role):
    far, drawn_far = _page_map(big, role, MapView(STREET_VIEW.bounds, STREET_ZOOM - 1))
    near, drawn_near = _page_map(big, role, STREET_VIEW)
    assert drawn_far["points"].empty and drawn_far["clusters"] is not None
    points = drawn_near["points"].geometry
    assert 0 < len(points) <= MAX_MAP_POINTS and drawn_near["clusters"] is None
    west, south, east, north = STREET_VIEW.bounds
    assert points.x.between(west, east).all() and points.y.between(south, north).all()
    assert _features_and_bytes(near)[1] <= MAX_BYTES


def test_a_mediator_clusters_never_count_a_sensitive_incident(big):
    police = _page_map(big, "police")[1]["clusters"]
    mediator = _page_map(big, "mediator")[1]["clusters"]
    assert int(police["n"].sum()) == N
    assert int(mediator["n"].sum()) == N - N_SENSITIVE


def test_database_clusters_equal_a_pandas_recomputation(big):
    """views.incident_clusters (SQL on stored metric x/y) and grid_clusters (in memory) against
    an independent recomputation: pyproj for the metric coordinates, floor and groupby."""
    url, community, users = big
    engine = _engine(big, "police")
    try:
        seen, sql = map_incidents(engine, community, "police", 5, max_points=N)
    finally:
        engine.dispose()
    points = seen.points
    cell = cluster_cell_m(community.area_m2)
    x, y = geocrs.transformer(4326, community.crs).transform(points.geometry.x, points.geometry.y)
    reference = (
        pd.DataFrame(
            {
                "i": np.floor(np.asarray(x) / cell),
                "j": np.floor(np.asarray(y) / cell),
                "lon": points.geometry.x.to_numpy(),
                "lat": points.geometry.y.to_numpy(),
            }
        )
        .groupby(["i", "j"])
        .agg(n=("lon", "size"), lon=("lon", "mean"), lat=("lat", "mean"))
        .sort_values(["lon", "lat"])
        .reset_index(drop=True)
    )
    in_memory = grid_clusters(points, community.crs, cell).sort_values(["lon", "lat"])
    assert sql is None and len(points) == N
    engine = _engine(big, "police")
    try:
        from geo import views

        in_db = views.incident_clusters(engine, community, cell, include_sensitive=True)
    finally:
        engine.dispose()
    for got in (
        in_memory.reset_index(drop=True),
        in_db.sort_values(["lon", "lat"]).reset_index(drop=True),
    ):
        assert got["n"].tolist() == reference["n"].tolist()
        assert np.allclose(got["lon"], reference["lon"], atol=1e-9)
        assert np.allclose(got["lat"], reference["lat"], atol=1e-9)


def test_the_hotspot_map_of_100000_points_carries_clusters(big):
    """geo.maps.analysis draws a police run's points through add_incidents_at_scale."""
    _, community, _ = big
    engine = _engine(big, "police")
    try:
        seen, _ = map_incidents(engine, community, "police", 5, max_points=N)
    finally:
        engine.dispose()
    m = folium.Map(location=[46.715, 23.62], zoom_start=14, tiles=None)
    layer = add_incidents_at_scale(
        m,
        seen.points,
        "en",
        metric_crs=community.crs,
        area_m2=community.area_m2,
        include_sensitive=True,
    )
    features, size = _features_and_bytes(m)
    assert len(layer.data["features"]) == features <= MAX_FEATURES and size <= MAX_BYTES


def test_the_view_a_map_frame_returns_is_read_or_ignored():
    returned = {
        "zoom": 17,
        "bounds": {
            "_southWest": {"lat": 46.71, "lng": 23.61},
            "_northEast": {"lat": 46.72, "lng": 23.63},
        },
    }
    assert MapView.from_frame(returned) == MapView((23.61, 46.71, 23.63, 46.72), 17)
    for nothing in (None, {}, {"zoom": 17}, {"zoom": None, "bounds": {}}, {"bounds": None}):
        assert MapView.from_frame(nothing) is None


def test_the_map_guard_drops_every_sensitive_point_given_to_a_mediator_map(big):
    """Attack: a mediator's map handed police's points (a wider engine, a bug upstream).  The
    map's own guard (looked up once per type since issue 11.11, not once per row) drops every
    sensitive incident: it draws exactly the others, counted independently with pandas."""
    _, community, _ = big
    engine = _engine(big, "police")
    try:
        seen, _ = map_incidents(engine, community, "police", 5, max_points=N)
    finally:
        engine.dispose()
    points = seen.points
    sensitive = points[points["type_code"] == "domestic_violence"].head(1_000)
    mixed = pd.concat([sensitive, points[points["type_code"] == "theft"].head(1_000)])
    assert len(sensitive) == 1_000  # the attack really carries sensitive rows
    m = folium.Map(location=[46.715, 23.62], zoom_start=14, tiles=None)
    layer = add_incidents_at_scale(
        m,
        mixed,
        "en",
        metric_crs=community.crs,
        area_m2=community.area_m2,
        include_sensitive=False,
        max_points=len(mixed),
    )
    expected = int((mixed["type_code"] != "domestic_violence").sum())
    assert len(layer.data["features"]) == expected == 1_000
