"""The bundled responders of the bundled communities, and the DEMO ones.

``load_bundled_responders``
    The real layers named in ``data/responders/bundled.json`` (today: the OpenStreetMap hospitals
    and clinics of Cluj-Napoca for Pata Rât), imported once (a re-run adds nothing).
``seed_demo_responders``
    Invented responders so every kind has something to show: a focal point and a mediator in
    the settlements, and police, fire and ambulance posts in the city.  Every row is
    ``is_demo`` (source ``demo``) with a name starting ``DEMO``; none is a real place.
``load_responders``
    Both, as ``harta bootstrap`` / ``harta serve`` load them.

All write as the operator (bootstrap and demo paths).
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from sqlalchemy import Engine, text

from geo.communities.model import Community, UnknownCommunity
from geo.planning.response.responders import import_osm_responders, place_responder
from geo.settings import DATA_SOURCES_DIR

BUNDLED_FILE = DATA_SOURCES_DIR / "responders" / "bundled.json"

#: Invented responders: (kind, name, anchor slug, metres east, metres north of its anchor).
DEMO_RESPONDERS = (
    ("community_focal_point", "DEMO Punct focal Cantonului", "cantonului", 40.0, -30.0),
    ("community_focal_point", "DEMO Punct focal Dallas", "dallas", -50.0, 20.0),
    ("mediator", "DEMO Mediator sanitar (Unitatea Mobilă)", "pata-rat", -80.0, 40.0),
    ("police", "DEMO Post de poliție de proximitate", "pata-rat", 900.0, -600.0),
    ("fire", "DEMO Detașament de pompieri", "pata-rat", -4200.0, -900.0),
    ("ambulance", "DEMO Punct de staționare ambulanță", "pata-rat", -2500.0, 300.0),
)


def load_bundled_responders(engine: Engine, path: str | Path = BUNDLED_FILE) -> dict[str, int]:
    """Import the real responder layers of every bundled community present in the database.

    Parameters
    ----------
    engine : Engine
        The owner's engine (bootstrap).
    path : str or Path
        The ``bundled.json`` naming the layers per community slug.

    Returns
    -------
    dict
        Rows written per community slug (0 when already there; absent communities skipped).
    """
    path = Path(path)
    config = json.loads(path.read_text(encoding="utf-8"))
    written = {}
    for slug, files in config.items():
        if slug.startswith("_"):
            continue
        try:
            community = Community.load(engine, slug)
        except UnknownCommunity:
            continue
        written[slug] = sum(
            import_osm_responders(engine, community, (path.parent / name).resolve()).written
            for name in files
        )
    return written


def seed_demo_responders(engine: Engine, community: Community) -> int:
    """Place the invented :data:`DEMO_RESPONDERS` of ``community`` once.

    Parameters
    ----------
    engine : Engine
        The owner's engine (demo path).
    community : Community
        The top-level community (its settlements are the anchors).

    Returns
    -------
    int
        Rows written (0 when the demo responders are there already).
    """
    with engine.connect() as conn:
        present = conn.execute(
            text("SELECT count(*) FROM responders WHERE community_id = :c AND is_demo"),
            {"c": community.id},
        ).scalar_one()
        anchors = dict(
            conn.execute(
                text(
                    "SELECT slug, ST_AsText(ST_PointOnSurface(geom)) FROM communities"
                    " WHERE id = :c OR parent_id = :c"
                ),
                {"c": community.id},
            ).all()
        )
    if present:
        return 0
    written = 0
    for kind, name, anchor, dx, dy in DEMO_RESPONDERS:
        point = shapely.from_wkt(anchors.get(anchor) or anchors[community.slug])
        x, y = community.to_metric.transform(point.x, point.y)
        lon, lat = community.to_wgs84.transform(x + dx, y + dy)
        place_responder(engine, community, kind, (lon, lat), name=name, is_demo=True)
        written += 1
    return written


def load_responders(engine: Engine, *, demo: bool = True) -> None:
    """The responders a served app has: the bundled real ones and, with ``demo``, the invented
    ones of Pata Rât (the community the demo layers are about). Idempotent.

    Parameters
    ----------
    engine : Engine
        The owner's engine.
    demo : bool
        Also place the DEMO responders.
    """
    load_bundled_responders(engine)
    if demo:
        seed_demo_responders(engine, Community.load(engine, "pata-rat"))
