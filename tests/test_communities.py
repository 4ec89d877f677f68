"""Communities as data: folders, add_community, bootstrap, queries (real PostGIS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from geo import communities as c
from geo.settings import get_settings

CANTONULUI_STOP_ID = "394"
SETTLEMENTS = {"cantonului", "dallas", "rampa", "colina-verde"}


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch):
    """Each test writes community folders into its own data dir; the graph cache is shared."""
    shared = Path(get_settings().data_dir)
    root = tmp_path_factory.mktemp("harta-data")
    monkeypatch.setenv("HARTA_DATA_DIR", str(root))
    # Share the (content-keyed) graph cache between tests so Pata Rât is built once per run.
    (root / "cache").symlink_to(_shared_cache(shared), target_is_directory=True)
    return root


def _shared_cache(shared: Path) -> Path:
    cache = shared / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("communities", "streets", "places", "facilities")
        }


def write_geojson(path: Path, geometry: dict, properties: dict | None = None) -> Path:
    feature = {"type": "Feature", "properties": properties or {}, "geometry": geometry}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def square(lon: float, lat: float, half: float) -> dict:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def write_osm_grid(path: Path, lon: float, lat: float, step: float = 0.002, n: int = 3) -> Path:
    """A tiny n x n residential street grid around (lon, lat) as OSM XML."""
    ids: dict[tuple[int, int], int] = {}
    nodes, ways = [], []
    for i in range(n):
        for j in range(n):
            ids[i, j] = len(ids) + 1
            x, y = lon + (j - n // 2) * step, lat + (i - n // 2) * step
            nodes.append(f'<node id="{ids[i, j]}" lat="{y:.6f}" lon="{x:.6f}"/>')
    for i in range(n):
        for way_id, refs in (
            (1000 + i, [ids[i, j] for j in range(n)]),
            (2000 + i, [ids[j, i] for j in range(n)]),
        ):
            nds = "".join(f'<nd ref="{r}"/>' for r in refs)
            ways.append(
                f'<way id="{way_id}">{nds}<tag k="highway" v="residential"/>'
                f'<tag k="name" v="Ulitsa {way_id}"/></way>'
            )
    path.write_text(f'<?xml version="1.0"?><osm version="0.6">{"".join(nodes + ways)}</osm>')
    return path


def test_bundled_folders_are_valid():
    sources = {s.slug: s for s in c.bundled_sources()}
    assert set(sources) == {"pata-rat"} | SETTLEMENTS
    assert list(sources)[0] == "pata-rat"  # parents first
    for slug in SETTLEMENTS:
        assert sources[slug].kind == "settlement" and sources[slug].parent == "pata-rat"
        assert "approximate" in sources[slug].description.lower()
        assert sources[slug].boundary().within(sources["pata-rat"].boundary().buffer(1e-9))
    assert sources["pata-rat"].metric_crs == 32634


@pytest.mark.db
def test_bootstrap_loads_pata_rat_and_its_settlements(engine):
    added = c.bootstrap(engine)
    assert added[0] == "pata-rat" and set(added) == {"pata-rat"} | SETTLEMENTS
    listed = c.list_communities(engine).set_index("slug")
    assert listed.loc["pata-rat", "parent_slug"] is None
    for slug in SETTLEMENTS:
        assert listed.loc[slug, "parent_slug"] == "pata-rat"
        assert listed.loc[slug, "kind"] == "settlement"
    assert listed.loc["pata-rat", "metric_crs"] == 32634
    assert listed.loc["pata-rat", "timezone"] == "Europe/Bucharest"
    min_lon, min_lat, max_lon, max_lat = listed.loc["pata-rat", "bounds"]
    assert min_lon < 23.6917 < max_lon and min_lat < 46.7815 < max_lat

    with engine.connect() as conn:
        pata_rat = c.Community.load(engine, "pata-rat")
        outside = conn.execute(
            text(
                "SELECT count(*) FROM streets s JOIN communities k ON k.id = s.community_id"
                " WHERE NOT ST_DWithin(s.geom::geography, k.geom::geography, :m)"
            ),
            {"m": c.STREET_BUFFER_M + 1},
        ).scalar_one()
        per_community = dict(
            conn.execute(
                text(
                    "SELECT k.slug, count(*) FROM streets s JOIN communities k"
                    " ON k.id = s.community_id GROUP BY k.slug"
                )
            ).all()
        )
        cantonului_street = conn.execute(
            text("SELECT count(*) FROM streets WHERE community_id = :c AND osm_id = 169263653"),
            {"c": pata_rat.id},
        ).scalar_one()
        stop = conn.execute(
            text(
                "SELECT name, routes, source, row_hash FROM facilities"
                " WHERE community_id = :c AND kind = 'bus_stop' AND external_ref = :ref"
            ),
            {"c": pata_rat.id, "ref": CANTONULUI_STOP_ID},
        ).one()
        places = (
            conn.execute(
                text("SELECT name FROM places WHERE community_id = :c"), {"c": pata_rat.id}
            )
            .scalars()
            .all()
        )
    assert outside == 0
    assert set(per_community) == {"pata-rat"} | SETTLEMENTS
    assert per_community["pata-rat"] > max(per_community[s] for s in SETTLEMENTS)
    assert cantonului_street > 0
    assert stop.name == "Cantonului" and "5" in stop.routes.split(",")
    assert stop.source == "gtfs" and len(stop.row_hash) == 64
    assert {"Cluj-Napoca", "Pata Rât", "Someșeni"} <= set(places)
    assert Path(pata_rat.source_dir, "community.json").is_file()
    assert "approximate" in pata_rat.description.lower()


@pytest.mark.db
def test_bootstrap_twice_adds_nothing(engine):
    c.bootstrap(engine)
    before = counts(engine)
    assert c.bootstrap(engine) == []
    assert counts(engine) == before


@pytest.mark.db
def test_add_community_twice_leaves_the_same_row_counts(engine):
    source = c.find_source("pata-rat")
    first = c.add_community_from_source(engine, source)
    before = counts(engine)
    with engine.connect() as conn:
        audit_before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    second = c.add_community_from_source(engine, c.find_source("pata-rat"))
    assert counts(engine) == before
    assert (first.created, second.created) == (True, False)
    assert second.id == first.id and second.stops_added == 0 and second.stops == first.stops
    assert first.streets > 100 and first.places > 20
    with engine.connect() as conn:
        audit_after = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    assert audit_after == audit_before  # an unchanged community writes no audit row


@pytest.mark.db
def test_a_community_in_another_country(engine, tmp_path):
    lon, lat = 23.04, 42.6  # Pernik, Bulgaria
    boundary = write_geojson(tmp_path / "pernik.geojson", square(lon, lat, 0.01))
    streets = write_osm_grid(tmp_path / "pernik.osm", lon, lat)
    result = c.add_community(
        engine, "Pernik", boundary, streets, country="BG", timezone="Europe/Sofia"
    )
    info = c.Community.load(engine, "pernik")
    assert info.epsg == 32634
    assert (info.country, info.timezone, info.kind, info.parent_slug) == (
        "BG",
        "Europe/Sofia",
        "community",
        None,
    )
    assert info.geometry.geom_type == "MultiPolygon"
    # 3x3 grid, simplified: 4 spokes from the centre + 4 corner paths, both directions.
    assert result.streets == 16
    copied = Path(info.source_dir)
    assert copied == get_settings().communities_dir / "pernik"
    assert {p.name for p in copied.iterdir()} == {
        "community.json",
        "boundary.geojson",
        "streets.osm",
    }
    again = c.CommunitySource.from_folder(copied)
    assert (again.slug, again.country, again.metric_crs) == ("pernik", "BG", 32634)


@pytest.mark.db
def test_self_intersecting_boundary_is_repaired(engine, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[23.6, 46.7], [23.7, 46.8], [23.7, 46.7], [23.6, 46.8], [23.6, 46.7]]],
    }
    c.add_community(engine, "Bowtie", write_geojson(tmp_path / "b.geojson", bowtie))
    info = c.Community.load(engine, "bowtie")
    assert info.geometry.is_valid and len(info.geometry.geoms) == 2
    assert info.epsg == 32634


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable vector file"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "no features"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {},
                            "geometry": {"type": "Point", "coordinates": [23.6, 46.7]},
                        }
                    ],
                }
            ),
            "not a polygon",
        ),
    ],
)
@pytest.mark.db
def test_bad_boundary_is_a_clear_error_and_writes_nothing(engine, tmp_path, content, message):
    bad = tmp_path / "bad-boundary.geojson"
    bad.write_text(content)
    with pytest.raises(c.CommunityDataError, match=rf"bad-boundary\.geojson.*{message}"):
        c.add_community(engine, "Huedin", bad)
    assert counts(engine) == {"communities": 0, "streets": 0, "places": 0, "facilities": 0}
    assert not (get_settings().communities_dir / "huedin").exists()


@pytest.mark.db
def test_unknown_parent_writes_nothing(engine, tmp_path):
    boundary = write_geojson(tmp_path / "b.geojson", square(23.04, 46.87, 0.01))
    with pytest.raises(c.CommunityDataError, match="parent.*nowhere"):
        c.add_community(engine, "Huedin", boundary, parent="nowhere", kind="settlement")
    assert counts(engine)["communities"] == 0
    assert not (get_settings().communities_dir / "huedin").exists()


def test_folder_errors_name_the_file_and_field(tmp_path):
    folder = tmp_path / "cojocna"
    folder.mkdir()
    write_geojson(folder / "boundary.geojson", square(23.83, 46.75, 0.01))
    config = folder / "community.json"
    config.write_text(json.dumps({"country": "RO"}))
    with pytest.raises(c.CommunityDataError, match=r"cojocna/community\.json: field 'name'"):
        c.CommunitySource.from_folder(folder)
    config.write_text(json.dumps({"name": "Cojocna", "country": "Romania"}))
    with pytest.raises(c.CommunityDataError, match=r"community\.json: field 'country'"):
        c.CommunitySource.from_folder(folder)
    config.write_text(json.dumps({"name": "Cojocna", "metric_crs": 4326}))
    with pytest.raises(c.CommunityDataError, match=r"field 'metric_crs'.*not a projected"):
        c.CommunitySource.from_folder(folder)
    config.write_text(json.dumps({"name": "Cojocna", "files": {"streets": "missing.osm"}}))
    with pytest.raises(c.CommunityDataError, match=r"field 'files.streets': missing\.osm"):
        c.CommunitySource.from_folder(folder)
    config.write_text(json.dumps({"name": "Cojocna"}))
    source = c.CommunitySource.from_folder(folder)
    assert (source.slug, source.timezone, source.metric_crs) == (
        "cojocna",
        "Europe/Bucharest",
        None,
    )


@pytest.mark.db
def test_stops_from_a_gtfs_zip_are_extracted_next_to_the_community(engine, tmp_path):
    import zipfile

    feed = tmp_path / "feed.zip"
    with zipfile.ZipFile(feed, "w") as archive:
        archive.writestr(
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\n1,Near,46.7005,23.6005,\n2,Far,46.9,23.9,\n",
        )
        archive.writestr("routes.txt", "route_id,route_short_name,route_long_name\nr,7,Seven\n")
        archive.writestr("trips.txt", "route_id,service_id,trip_id\nr,LV,t\n")
        archive.writestr("stop_times.txt", "trip_id,stop_id\nt,1\n")
    boundary = write_geojson(tmp_path / "b.geojson", square(23.6, 46.7, 0.002))
    result = c.add_community(engine, "Tiny", boundary, stops_file=feed)
    assert result.stops == 1 and result.stops_added == 1
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, routes FROM facilities")).one()
    assert tuple(row) == ("Near", "7")
    assert (result.source_dir / "stops.geojson").is_file()
    assert not (result.source_dir / "feed.zip").exists()


def test_the_utm_policy_is_geo_crs():
    """A community added without a metric CRS gets geo.crs.utm_crs's zone (the one policy)."""
    from geo import crs

    assert crs.epsg(crs.utm_crs(23.6, 46.77)) == 32634  # Cluj
    assert crs.epsg(crs.utm_crs(23.04, 42.6)) == 32634  # Pernik
    assert crs.epsg(crs.utm_crs(21.92, 47.05)) == 32634  # Oradea
    assert crs.epsg(crs.utm_crs(24.1, 46.0)) == 32635
    assert crs.epsg(crs.utm_crs(-58.4, -34.6)) == 32721


def test_slugify():
    assert c.slugify("Pata Rât") == "pata-rat"
    assert c.slugify("  Colina Verde ") == "colina-verde"


@pytest.mark.db
def test_the_metric_crs_is_named_crs_and_takes_any_crs_spelling(engine, tmp_path):
    boundary = write_geojson(tmp_path / "s.geojson", square(23.6, 46.77, 0.01))
    c.add_community(engine, "Stereo", boundary, crs="EPSG:3844")
    assert c.Community.load(engine, "stereo").epsg == 3844
    with pytest.raises(c.CommunityDataError, match="not a projected CRS in metres"):
        c.add_community(engine, "Degrees", boundary, crs=4326)
