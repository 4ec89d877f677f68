"""Rendering a police-style map as the app does, with Jinja compiling every rendered text
(folium's default: the named baseline) and with :func:`geo.maps.templates.plain_text_templates`.

The map: a folium map with 1,500 incident pictograms (clustered), 600 hexagon counts and 50
translucent polygons -- the largest a police page sends at 100,000 incidents
(:data:`geo.maps.aggregates.MAX_MAP_POINTS`).  Each variant does what a page does per map: a
deep copy rendered to hash the frame's script (``app/map_frame.frame_script``), then the
root render and the map render of ``streamlit_folium``.  The two variants alternate, best of
``--repeat`` each, in the same process; the HTML they produce is checked to be identical
(element ids fixed).  No database, no network.

Run: ``python scripts/bench_map_render.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import copy
import time

import branca.element
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon

from geo.maps.aggregates import add_hex_counts
from geo.maps.points import add_incident_points
from geo.maps.templates import plain_text_templates

SEED = 20261202
CENTRE = (23.66, 46.79)


def _map() -> folium.Map:
    rng = np.random.default_rng(SEED)
    m = folium.Map(location=CENTRE[::-1], zoom_start=15, tiles=None)
    n = 1_500
    lon = CENTRE[0] + rng.normal(0, 0.01, n)
    lat = CENTRE[1] + rng.normal(0, 0.006, n)
    points = gpd.GeoDataFrame(
        {
            "type_code": rng.choice(["theft", "assault", "fire", "traffic_collision"], n),
            "severity": rng.integers(1, 6, n),
            "occurred_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 300 * 86400, n), unit="s"),
            "is_demo": False,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    add_incident_points(m, points, "ro", include_sensitive=True)
    cells = []
    for k in range(600):
        x, y = CENTRE[0] + 0.002 * (k % 30 - 15), CENTRE[1] + 0.0015 * (k // 30 - 10)
        d = 0.0009
        cells.append(Polygon([(x - d, y), (x, y + d), (x + d, y), (x, y - d)]))
    hexes = gpd.GeoDataFrame({"count": rng.integers(0, 60, len(cells))}, geometry=cells, crs=4326)
    add_hex_counts(m, hexes, "ro")
    return m


def _render_as_a_page(m: folium.Map) -> str:
    probe = copy.deepcopy(m)  # app/map_frame.frame_script
    probe.get_root().render()
    probe.render()
    m.get_root().render()  # streamlit_folium.st_folium(render=True)
    m.render()
    return m.get_root().render()


def _timed(build, repeat: int) -> tuple[float, str]:
    best, html = float("inf"), ""
    for _ in range(repeat):
        m = build()
        t0 = time.perf_counter()
        html = _render_as_a_page(m)
        best = min(best, time.perf_counter() - t0)
    return best, html


def _fixed_ids(build):
    """Build with element ids drawn from a counter, so two builds give the same HTML."""

    def fixed() -> folium.Map:
        counter = iter(range(10**9))
        original = branca.element.Element._generate_id
        branca.element.Element._generate_id = classmethod(lambda cls: f"{next(counter):032x}")
        try:
            return build()
        finally:
            branca.element.Element._generate_id = original

    return fixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    build = _fixed_ids(_map)
    jinja_template = branca.element.Template
    baseline, plain = [], []
    for _ in range(2):
        branca.element.Template = jinja_template
        seconds, html_jinja = _timed(build, args.repeat)
        baseline.append(seconds)
        plain_text_templates()
        seconds, html_plain = _timed(build, args.repeat)
        plain.append(seconds)
    branca.element.Template = jinja_template
    same = html_jinja == html_plain
    print(
        f"map of 1,500 pictograms + 600 hexagons, {len(html_plain) / 1e6:.2f} MB of HTML,"
        f" rendered as a page does (copy for the CSP hash + two renders), best of"
        f" {args.repeat}: Jinja on every text (baseline) {min(baseline):.3f} s;"
        f" plain texts skipped {min(plain):.3f} s; ratio {min(baseline) / min(plain):.2f}x;"
        f" identical HTML: {same}"
    )
    if not same:
        raise SystemExit("the two renders differ")


if __name__ == "__main__":
    main()
