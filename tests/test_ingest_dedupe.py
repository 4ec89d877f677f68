"""Near-duplicate incidents found column-wise equal the brute-force definition (25 m, 30 min,
same type), on dense random files where the space-time KD-tree prunes most pairs."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import shapely

from geo import crs as crs_
from geo.ingest.dedupe import find_near_duplicates
from geo.ingest.validate import ValidRow

UTM34 = 32634


def _brute(rows, existing, metres=25.0, minutes=30.0):
    forward = crs_.transformer(4326, UTM34)
    points = [(r.geom.x, r.geom.y, r.values["type_code"], r.values["occurred_at"]) for r in rows]
    points += [
        (e.lon, e.lat, e.type_code, pd.Timestamp(e.occurred_at).to_pydatetime())
        for e in existing.itertuples()
    ]
    xy = [forward.transform(p[0], p[1]) for p in points]
    found = set()
    for a in range(len(rows)):
        for b in range(a + 1, len(points)):
            if points[a][2] != points[b][2]:
                continue
            gap = abs((points[a][3] - points[b][3]).total_seconds()) / 60
            dist = float(np.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1]))
            if gap <= minutes and dist <= metres:
                if b < len(rows):
                    found.add((rows[b].row, "row", rows[a].row))
                else:
                    found.add((rows[a].row, "id", int(existing["id"].iloc[b - len(rows)])))
    return found


def test_space_time_pairs_equal_brute_force():
    rng = np.random.default_rng(7)
    n, stored = 400, 100
    start = dt.datetime(2025, 3, 14, 20, tzinfo=dt.UTC)
    lon = 23.69 + rng.uniform(0, 0.002, n + stored)  # about 150 m × 110 m: dense
    lat = 46.77 + rng.uniform(0, 0.001, n + stored)
    minutes = rng.uniform(0, 6 * 60, n + stored)
    kinds = rng.choice(["theft", "fire", "assault"], n + stored)
    rows = [
        ValidRow(
            i + 2,
            {"type_code": kinds[i], "occurred_at": start + dt.timedelta(minutes=minutes[i])},
            shapely.Point(lon[i], lat[i]),
        )
        for i in range(n)
    ]
    existing = pd.DataFrame(
        {
            "id": np.arange(1000, 1000 + stored),
            "type_code": kinds[n:],
            "occurred_at": [start + dt.timedelta(minutes=m) for m in minutes[n:]],
            "lon": lon[n:],
            "lat": lat[n:],
        }
    )
    community = SimpleNamespace(to_metric=crs_.transformer(4326, UTM34))
    got = {
        (p["row"], "row", p["other_row"]) if "other_row" in p else (p["row"], "id", p["other_id"])
        for p in find_near_duplicates(rows, existing, community)
    }
    want = _brute(rows, existing)
    assert got == want and len(want) > 50


def test_row_hash_is_the_stored_formula():
    # Hashes are stored: the encoder may get faster, the bytes hashed must not change.
    import hashlib
    import json

    from geo.ingest.dedupe import hash_rows
    from geo.layers import get_layer

    moment = dt.datetime(2025, 3, 14, 21, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    values = {"type_code": "fire", "severity": 3, "narrative": 'Ușă "forțată"\n', "x": None,
              "occurred_at": moment}  # fmt: skip
    row = ValidRow(2, values, shapely.Point(23.6912345, 46.7712345))
    hash_rows([row], get_layer("incidents"))
    geometry_hex = shapely.to_wkb(
        shapely.normalize(shapely.set_precision(row.geom, 1e-7, mode="pointwise")),
        hex=True,
        output_dimension=2,
    )
    stored_values = {**values, "occurred_at": moment.astimezone(dt.UTC).isoformat()}
    attributes = json.dumps(
        dict(sorted(stored_values.items())), ensure_ascii=False, separators=(",", ":")
    )
    payload = f"incidents|{geometry_hex}|{attributes}"
    assert row.row_hash == hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_column_hashes_equal_the_formula_row_by_row():
    # Independent reference: json.dumps of each row's dict and the snapped WKB, one row at a
    # time, on values chosen to trip a column-wise encoder (control characters, quotes, None,
    # ints, instants with and without microseconds, before 1970, polygons of any orientation).
    import hashlib
    import json

    from geo.ingest.dedupe import hash_rows
    from geo.ingest.rows import ValidRows
    from geo.layers import get_layer

    rng = np.random.default_rng(11)
    alphabet = list('ab "\\\n\t\x00\x1fșțőű😀\u2028,;{}') + [""]
    n = 300
    texts = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(n)]
    base = dt.datetime(1965, 1, 1, tzinfo=dt.UTC)
    seconds, micro = rng.integers(0, 2e9, n), rng.integers(0, 999999, n)
    moments = [
        base + dt.timedelta(seconds=int(seconds[i]), microseconds=int(micro[i]) * (i % 3 == 0))
        for i in range(n)
    ]
    rows = [
        ValidRow(
            i + 2,
            {
                "type_code": texts[i] if i % 7 else None,
                "severity": int(rng.integers(1, 6)) if i % 5 else None,
                "narrative": texts[(i * 31) % n],
                "occurred_at": moments[i].astimezone(dt.timezone(dt.timedelta(hours=i % 4))),
            },
            shapely.Point(23.69 + i * 1e-5, 46.77) if i % 2
            else shapely.box(23.6, 46.7, 23.7, 46.8, ccw=bool(i % 4)),
        )
        for i in range(n)
    ]  # fmt: skip
    columns = ValidRows.from_rows(rows)
    hash_rows(columns, get_layer("incidents"))
    want = []
    for row in rows:
        snapped = shapely.normalize(shapely.set_precision(row.geom, 1e-7, mode="pointwise"))
        values = {
            **row.values,
            "occurred_at": row.values["occurred_at"].astimezone(dt.UTC).isoformat(),
        }
        attributes = json.dumps(
            dict(sorted(values.items())), ensure_ascii=False, separators=(",", ":")
        )
        payload = f"incidents|{shapely.to_wkb(snapped, hex=True, output_dimension=2)}|{attributes}"
        want.append(hashlib.sha256(payload.encode("utf-8")).hexdigest())
    assert columns.row_hash.tolist() == want
