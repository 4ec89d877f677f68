"""Stored row hashes never change: a file imported before the columnar importer must add
nothing when imported again after it.

The expected hashes below were computed by the row-by-row importer (commit 271deed) on these
exact files; the test imports the same files now and compares what the database stores.  Any
change in how a value, a date, a geometry or the JSON of the attributes is encoded shows here.
"""

from __future__ import annotations

import warnings

import pytest
from sqlalchemy import text

from geo.ingest import import_file
from tests.fixtures_ingest import SLUG, insert_community, write_geojson, write_text, zones_frame

pytestmark = pytest.mark.db

#: A police export: ';', BOM, decimal commas, dd.mm.yyyy, a separate time column, an ISO date
#: with offset and milliseconds, quotes, a newline and diacritics in the narrative, blanks.
POLICE = (
    "\ufeffNr;Data;Ora;Tip eveniment;Gravitate;Latitudine;Longitudine;Observații;Precizie\n"
    '1;14.03.2025;21:30;Furt;3;46,7712345;23,6912345;"Ușă ""forțată""\nla ora 9";\n'
    "2;15.03.2025;;Violență în familie;5;46,7800001;23,7000002;;street\n"
    "3;2025-03-16T08:05:07.250+02:00;;conflict;4;46,7654321;23,6800009;Kóbor — ţ ș;\n"
    "4;30.03.2025;03:30;assault;2;46,7700000;23,6900000; spaţii ;exact\n"
    "5;26.10.2025;03:30:15;Incendiu;1;46,7723456;23,7012345;\t'=1+1;\n"
)

FACILITIES = (
    "kind,name,address,lat,lon\n"
    'school,Școala Gimnazială,"Str. Cantonului 1, Cluj",46.7751234,23.6851234\n'
    "clinic,,,46.7801234,23.6951234\n"
)

#: (source_ref, row_hash) per layer, as the row-by-row importer stored them.
EXPECTED = {
    "incidents": [
        ("politie.csv#2", "c4061a7c03ff89abd55c874c32912a13552ca841f7c635b40c00358f377a8b80"),
        ("politie.csv#3", "3ac4e53fe019c0bcce9e18ecfec204d886a6ed5f2565e908d729b39ed4b69f0c"),
        ("politie.csv#4", "2aa6db600d940be4c8e60d222166150a9d6fc4d3be649d17b1411c4d1fcd7748"),
        ("politie.csv#5", "86e6566852a26ef9daeeded266fe7b1c7283f32394add306601489943f795494"),
        ("politie.csv#6", "028a95d5991d57cdb871b957d265f6b1031d53ff69c12d1d263ec04279dfc521"),
    ],
    "risk_zones": [
        ("zones.geojson#1", "369943f619987a8b4894b40f9fe2afd25d336c7d7ff12610efcbd9c58a5ac48a"),
        ("zones.geojson#2", "d4abd6603f9698b8e6e9c1bce8c48eff2df6b6c97d7e7dd35bd5438b00a2290b"),
        ("zones.geojson#3", "a0507c0a564f19143b0191bf75cf82306d9d2960592859429bc428394b74fb81"),
    ],
    "facilities": [
        ("facilitati.csv#2", "3d88e6ca65864c2058271cc9f043315186c501c969243217b56ea1825aa7394c"),
        ("facilitati.csv#3", "dc64d0db5816c335cede35223233f483e56a270ccb6faef55a69b903874c10ed"),
    ],
}

#: The incidents as stored by the row-by-row importer: UTC instants (a time in the spring
#: gap and one in the autumn overlap included), codes, defaults and the narrative.
EXPECTED_INCIDENTS = [
    ("politie.csv#2", "2025-03-14 19:30:00.000000", "theft", 3, "exact", "police",
     'Ușă "forțată"\nla ora 9'),
    ("politie.csv#3", "2025-03-14 22:00:00.000000", "domestic_violence", 5, "street", "police",
     None),
    ("politie.csv#4", "2025-03-16 06:05:07.250000", "conflict_dispute", 4, "exact", "police",
     "Kóbor — ţ ș"),
    ("politie.csv#5", "2025-03-30 01:30:00.000000", "assault", 2, "exact", "police", "spaţii"),
    ("politie.csv#6", "2025-10-26 00:30:15.000000", "fire", 1, "exact", "police", "'=1+1"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _quiet_gdal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _stored(engine, table: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(f"SELECT source_ref, row_hash FROM {table} ORDER BY source_ref")
            )
        ]


def _role(layer: str) -> str:
    return "police" if layer == "incidents" else "admin"


def test_stored_hashes_are_those_of_the_row_by_row_importer(engine, tmp_path):
    insert_community(engine)
    files = {
        "incidents": write_text(tmp_path, "politie.csv", POLICE),
        "risk_zones": write_geojson(tmp_path, zones_frame()),
        "facilities": write_text(tmp_path, "facilitati.csv", FACILITIES),
    }
    for layer, path in files.items():
        import_file(engine, layer, path, community=SLUG, role=_role(layer))
    got = {layer: _stored(engine, layer) for layer in files}
    assert got == EXPECTED
    with engine.connect() as conn:
        incidents = conn.execute(
            text(
                "SELECT source_ref,"
                " to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),"
                " type_code, severity, location_precision, reporting_role, narrative"
                " FROM incidents ORDER BY source_ref"
            )
        ).all()
    assert [tuple(r) for r in incidents] == EXPECTED_INCIDENTS
    # And again: nothing is added.
    for layer, path in files.items():
        report = import_file(engine, layer, path, community=SLUG, role=_role(layer))
        assert report.rows_written == 0
