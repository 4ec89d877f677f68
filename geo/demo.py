"""Synthetic demo layers around the real Pata Rât geography.

Everything here is invented: workshop marks, incidents and facilities placed near the real
settlements so every page has something to show.  Every row is ``is_demo = true`` with source
``demo`` and the app labels it DEMO wherever it appears.  The same seed gives the same layers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import numpy as np
from shapely import wkt
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Engine, text

from geo.communities.model import Community, UnknownCommunity
from geo.db.engine import set_app_role

DEMO_COMMUNITY = "pata-rat"
SETTLEMENTS = ("cantonului", "dallas", "rampa", "colina-verde")
DEFAULT_SEED = 20261123
TABLES = ("risk_zones", "incidents", "facilities", "workshops")


class _Local:
    """Metric offsets around an anchor, in the community's metric CRS."""

    def __init__(self, community: Community) -> None:
        self.community = community
        self.to_m = community.to_metric
        self.to_deg = community.to_wgs84

    def offset(self, lon: float, lat: float, dx: float, dy: float) -> tuple[float, float]:
        x, y = self.to_m.transform(lon, lat)
        return self.to_deg.transform(x + dx, y + dy)

    def circle(self, lon: float, lat: float, radius: float, n: int = 24) -> Polygon:
        angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return Polygon(
            [self.offset(lon, lat, radius * np.cos(a), radius * np.sin(a)) for a in angles]
        )


def _anchors(conn, community_id: int) -> dict[str, Point]:
    rows = conn.execute(
        text(
            "SELECT slug, ST_AsText(ST_PointOnSurface(geom)) FROM communities"
            " WHERE id = :c OR parent_id = :c"
        ),
        {"c": community_id},
    ).all()
    return {slug: wkt.loads(point) for slug, point in rows}


def _street(conn, community_id: int, name: str) -> LineString | None:
    found = conn.execute(
        text(
            "SELECT ST_AsText(ST_LineMerge(ST_Collect(geom))) FROM streets"
            " WHERE community_id = :c AND name = :n"
        ),
        {"c": community_id, "n": name},
    ).scalar()
    if not found:
        return None
    geom = wkt.loads(found)
    if geom.geom_type == "MultiLineString":
        geom = max(geom.geoms, key=lambda g: g.length)
    return geom


def _hash(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def has_demo(engine: Engine, community: Community) -> bool:
    """True when ``community`` already has demo layers."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM risk_zones WHERE community_id = :c AND is_demo)"
                ),
                {"c": community.id},
            ).scalar()
        )


def seed_demo(
    engine: Engine, *, seed: int = DEFAULT_SEED, community: str = DEMO_COMMUNITY
) -> dict[str, int]:
    """Create the demo layers once; return how many rows of each were written.

    Parameters
    ----------
    engine : Engine
        A migrated database in which ``community`` exists (the owner's engine: the demo is
        written by the operator, recorded as admin).
    seed : int
        Seed of the random generator.
    community : str
        Slug of the community to decorate.

    Returns
    -------
    dict
        Rows written per table; empty when the demo layers were already there.

    Raises
    ------
    ValueError
        When the community is not in the database.
    """
    try:
        place = Community.load(engine, community)
    except UnknownCommunity:
        raise ValueError(f"community {community!r} is not in the database") from None
    if has_demo(engine, place):
        return {}
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        set_app_role(conn, "admin")
        local = _Local(place)
        anchors = _anchors(conn, place.id)
        centre = anchors.get(community) or next(iter(anchors.values()))
        spot = {s: anchors.get(s, centre) for s in SETTLEMENTS}
        counts = {
            "workshops": 0,
            "risk_zones": 0,
            "incidents": 0,
            "facilities": 0,
        }
        workshop_ids = _demo_workshops(conn, place.id, place.timezone)
        counts["workshops"] = len(workshop_ids)
        counts["risk_zones"] = _demo_zones(conn, rng, local, place.id, spot, workshop_ids)
        counts["incidents"] = _demo_incidents(conn, rng, local, place.id, spot, place.timezone)
        counts["facilities"] = _demo_facilities(conn, local, place.id, spot, centre)
    return counts


def _demo_workshops(conn, community_id: int, tz: str) -> list[int]:
    sessions = [
        (dt.date(2026, 9, 14), "ro", "mediator", 14, "DEMO atelier Cantonului"),
        (dt.date(2026, 10, 5), "hu", "community", 9, "DEMO műhely Dallas"),
        (dt.date(2026, 10, 19), "ro", "mediator", 11, "DEMO atelier Colina Verde"),
    ]
    ids = []
    for held_on, lang, role, n, title in sessions:
        ids.append(
            conn.execute(
                text(
                    "INSERT INTO workshops (community_id, held_on, language, facilitator_role,"
                    " participants, title, status, source, created_by_role, is_demo)"
                    " VALUES (:c, :d, :l, :r, :n, :t, 'closed', 'demo', :r, true) RETURNING id"
                ),
                {"c": community_id, "d": held_on, "l": lang, "r": role, "n": n, "t": title},
            ).scalar_one()
        )
    return ids


def _insert_zone(conn, community_id, workshop_id, hazard, severity, when, season, note, geom):
    conn.execute(
        text(
            "INSERT INTO risk_zones (community_id, workshop_id, hazard_code, severity,"
            " time_of_day, season, note, geom, source, source_ref, row_hash,"
            " created_by_role, is_demo) VALUES (:c, :w, :h, :s, :t, :se, :n,"
            " ST_GeomFromText(:g, 4326), 'demo', 'geo.demo', :rh, 'community', true)"
        ),
        {
            "c": community_id,
            "w": workshop_id,
            "h": hazard,
            "s": severity,
            "t": when,
            "se": season,
            "n": note,
            "g": geom.wkt,
            "rh": _hash("zone", geom.wkt, hazard),
        },
    )


def _demo_zones(conn, rng, local: _Local, community_id, spot, workshop_ids) -> int:
    count = 0
    rampa, dallas = spot["rampa"], spot["dallas"]
    cantonului, colina = spot["cantonului"], spot["colina-verde"]
    # Several participants in different sessions mark the landfill smoke: overlapping polygons
    # with known jitter, so the consensus view has real agreement to show.
    for i, workshop_id in enumerate(workshop_ids * 2):
        dx, dy = rng.normal(0, 40, 2)
        zone = local.circle(*local.offset(rampa.x, rampa.y, dx, dy), 260 + 20 * i)
        _insert_zone(
            conn,
            community_id,
            workshop_id,
            "landfill_fire_smoke",
            4 + (i % 2),
            "always",
            "summer",
            "DEMO: fum de la rampă",
            zone,
        )
        count += 1
    for workshop_id in workshop_ids:
        dx, dy = rng.normal(0, 15, 2)
        lon, lat = local.offset(cantonului.x, cantonului.y, 120 + dx, 60 + dy)
        _insert_zone(
            conn,
            community_id,
            workshop_id,
            "railway_crossing",
            5,
            "always",
            "all_year",
            "DEMO: trecerea peste calea ferată",
            Point(lon, lat),
        )
        count += 1
    street = _street(conn, community_id, "Strada Cantonului")
    if street is not None:
        _insert_zone(
            conn,
            community_id,
            workshop_ids[0],
            "unlit_path",
            4,
            "night",
            "winter",
            "DEMO: drum neiluminat",
            street,
        )
        _insert_zone(
            conn,
            community_id,
            workshop_ids[1],
            "heavy_traffic",
            3,
            "day",
            "all_year",
            "DEMO: camioane spre rampă",
            street,
        )
        count += 2
    extras = [
        ("flooding", 3, "always", "spring", dallas, 150, "DEMO: apa băltește primăvara"),
        ("stray_dogs", 2, "night", "all_year", colina, 120, "DEMO: câini fără stăpân"),
        ("toxic_waste_water", 4, "always", "all_year", rampa, 180, "DEMO: levigat"),
        ("violence_conflict", 3, "night", "all_year", dallas, 90, "DEMO: conflicte seara"),
        ("unsafe_building_wiring", 4, "always", "winter", colina, 70, "DEMO: cabluri"),
    ]
    for j, (hazard, severity, when, season, anchor, radius, note) in enumerate(extras):
        dx, dy = rng.normal(0, 60, 2)
        zone = local.circle(*local.offset(anchor.x, anchor.y, dx, dy), radius)
        workshop_id = workshop_ids[j % len(workshop_ids)]
        _insert_zone(conn, community_id, workshop_id, hazard, severity, when, season, note, zone)
        count += 1
    return count


INCIDENT_MIX = (
    ("fire", 0.22),
    ("traffic_collision", 0.12),
    ("rail_accident", 0.03),
    ("assault", 0.12),
    ("conflict_dispute", 0.16),
    ("theft", 0.1),
    ("threat_harassment", 0.07),
    ("medical_emergency", 0.1),
    ("domestic_violence", 0.05),
    ("child_protection", 0.02),
    ("flooding", 0.01),
)
SENSITIVE = {"domestic_violence", "sexual_violence", "child_protection"}


def _demo_incidents(conn, rng, local: _Local, community_id, spot, tz: str, n: int = 420) -> int:
    types, weights = zip(*INCIDENT_MIX, strict=True)
    weights = np.array(weights) / sum(weights)
    # Clusters near the landfill entrance and in Dallas (growing over time), plus background.
    centres = [(spot["rampa"], 120, 0.35), (spot["dallas"], 90, 0.25)]
    start = dt.datetime(2025, 6, 1, tzinfo=ZoneInfo(tz))
    span_days = 540
    rows = []
    for i in range(n):
        u = rng.random()
        acc = 0.0
        anchor, spread = spot["cantonului"], 450.0
        for centre, sigma, share in centres:
            acc += share
            if u < acc:
                anchor, spread = centre, sigma
                break
        # Drawn again until inside the area: a demo incident outside it would belong to no
        # community's pages (the membership rule), so the demo would show fewer than it says.
        while True:
            dx, dy = rng.normal(0, spread, 2)
            lon, lat = local.offset(anchor.x, anchor.y, dx, dy)
            if local.community.contains(Point(lon, lat), tol_m=0.0):
                break
        # Later dates are likelier inside the Dallas cluster: an intensifying hotspot.
        day = (
            rng.triangular(0, span_days, span_days)
            if anchor is spot["dallas"]
            else (rng.uniform(0, span_days))
        )
        hour = int(rng.choice([rng.integers(18, 24), rng.integers(0, 24)], p=[0.6, 0.4]))
        occurred = start + dt.timedelta(days=int(day), hours=hour, minutes=int(rng.integers(0, 60)))
        type_code = str(rng.choice(types, p=weights))
        rows.append(
            {
                "c": community_id,
                "o": occurred,
                "t": type_code,
                "s": int(rng.integers(1, 6)),
                "sens": "sensitive" if type_code in SENSITIVE else "normal",
                "r": str(rng.choice(["police", "mediator"])),
                "st": str(rng.choice(["reported", "verified", "closed"])),
                "g": f"POINT({lon:.7f} {lat:.7f})",
                "rh": _hash("incident", i, lon, lat, occurred.isoformat()),
            }
        )
    conn.execute(
        text(
            "INSERT INTO incidents (community_id, occurred_at, type_code, severity,"
            " location_precision, sensitivity, reporting_role, status, geom, source, source_ref,"
            " row_hash, created_by_role, is_demo) VALUES (:c, :o, :t, :s, 'exact', :sens, :r,"
            " :st, ST_GeomFromText(:g, 4326), 'demo', 'geo.demo', :rh, :r, true)"
        ),
        rows,
    )
    return len(rows)


def _demo_facilities(conn, local: _Local, community_id, spot, centre) -> int:
    facilities = [
        # No focal point here: it is a resident's home, and every role reads facilities exactly.
        # The demo focal points are responders (geo.planning.response.bundled), shown as a cell.
        ("social_services", "DEMO Birou servicii sociale (Unitatea Mobilă)", centre, -80, 40),
        ("kindergarten", "DEMO Grădiniță Colina Verde", spot["colina-verde"], 50, -40),
        ("police", "DEMO Post de poliție de proximitate", centre, 900, -600),
        ("clinic", "DEMO Cabinet medical mobil", spot["dallas"], -60, 30),
    ]
    for kind, name, anchor, dx, dy in facilities:
        lon, lat = local.offset(anchor.x, anchor.y, dx, dy)
        conn.execute(
            text(
                "INSERT INTO facilities (community_id, kind, name, geom, source, source_ref,"
                " row_hash, created_by_role, is_demo) VALUES (:c, :k, :n,"
                " ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'demo', 'geo.demo', :rh, 'admin', true)"
            ),
            {
                "c": community_id,
                "k": kind,
                "n": name,
                "x": lon,
                "y": lat,
                "rh": _hash("facility", kind, name),
            },
        )
    return len(facilities)


def clear_demo(engine: Engine) -> dict[str, int]:
    """Delete every demo row; return the counts deleted per table."""
    counts = {}
    with engine.begin() as conn:
        set_app_role(conn, "admin")
        for table in TABLES:
            counts[table] = conn.execute(text(f"DELETE FROM {table} WHERE is_demo")).rowcount
    return counts
