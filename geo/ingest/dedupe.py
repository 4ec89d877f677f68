"""Same row twice: content hashes (exact duplicates) and near-duplicate incidents.

Exact duplicates are found by hash (:func:`hash_rows`): the same geometry to about 1 cm and the
same attributes give the same hash, whatever the format or ring orientation, so a re-imported
file (or Harta's own export) adds nothing.  Near duplicates (:func:`find_near_duplicates`) are
incidents of the same type within 25 m and 30 minutes: reported, never dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from json.encoder import encode_basestring

import numpy as np
import pandas as pd
import shapely

from geo.ingest.rows import ValidRows, is_datetime, join_columns
from geo.layers import Layer

#: Grid hashes are computed on, in degrees (about 1 cm).
HASH_GRID_DEG = 1e-7


# --- hashing --------------------------------------------------------------------------------


#: Rows hashed at a time: the payload strings of a chunk are all the memory hashing adds.
HASH_CHUNK = 8192


def hash_rows(rows: ValidRows | list, layer: Layer) -> None:
    """Set each row's content hash: same geometry (to ~1 cm) and attributes, same hash.

    Geometries are snapped to :data:`HASH_GRID_DEG` and normalised (ring orientation and
    start vertex, which Shapefile and KML writers change) before hashing.  The payload is
    ``layer|hex WKB|JSON of the values`` (keys sorted, no spaces, non-ASCII kept, date-times
    as UTC ISO 8601): the stored formula, built here a column at a time.

    Parameters
    ----------
    rows : ValidRows or list of ValidRow
        Parsed rows (geometries in EPSG:4326); their ``row_hash`` is set in place.
    layer : Layer
        The target layer; its name is part of the hash.
    """
    if isinstance(rows, ValidRows):
        rows.row_hash = row_hashes(rows, layer)
        return
    if not rows:
        return
    if all(r.values.keys() == rows[0].values.keys() for r in rows):
        hashes = row_hashes(ValidRows.from_rows(rows), layer).tolist()
    else:  # rows of different shapes (callers building rows by hand): one by one
        hashes = [_row_hash_one(r, layer) for r in rows]
    for row, row_hash in zip(rows, hashes, strict=True):
        row.row_hash = row_hash


def row_hashes(rows: ValidRows, layer: Layer) -> np.ndarray:
    """The content hash of every row, a column and :data:`HASH_CHUNK` rows at a time.

    Parameters
    ----------
    rows : ValidRows
    layer : Layer

    Returns
    -------
    numpy.ndarray of object
        Hex SHA-256 per row.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    names = sorted(rows.values)
    keys = [("," if position else "{") + encode(name) + ":" for position, name in enumerate(names)]
    out = np.empty(len(rows), dtype=object)
    for start in range(0, len(rows), HASH_CHUNK):
        part = slice(start, start + HASH_CHUNK)
        parts: list = [f"{layer.name}|", _geometry_hex(rows.geom[part]), "|"]
        for key, name in zip(keys, names, strict=True):
            parts += [key, _encoded_column(rows.values[name][part], encode)]
        parts.append("}" if names else "{}")
        out[part] = [hashlib.sha256(p.encode("utf-8")).hexdigest() for p in join_columns(parts)]
    return out


def _geometry_hex(geometries: np.ndarray) -> np.ndarray:
    snapped = shapely.normalize(shapely.set_precision(geometries, HASH_GRID_DEG, mode="pointwise"))
    return shapely.to_wkb(snapped, hex=True, output_dimension=2)


def _encoded_column(column: np.ndarray, encode) -> np.ndarray:  # noqa: ANN001
    """Each cell as ``encode`` writes it inside the JSON object, each distinct value once."""
    if is_datetime(column):
        return _encoded_datetimes(column)
    try:
        codes, uniques = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=True)
    except TypeError:  # an unhashable cell
        return _encoded_one_by_one(column, encode)
    # factorize takes True for 1 and 1.0 for 1; they encode differently: one by one then.
    if any(isinstance(u, (bool, float, np.generic)) for u in uniques):
        return _encoded_one_by_one(column, encode)
    table = np.empty(len(uniques) + 1, dtype=object)
    # A text is what the encoder writes for it (ensure_ascii=False): its C quoting function.
    table[:-1] = [
        encode_basestring(u) if u.__class__ is str else encode(_hashable(u)) for u in uniques
    ]
    table[-1] = encode(None)
    return table[np.where(codes < 0, len(uniques), codes)]


def _encoded_datetimes(column: np.ndarray) -> np.ndarray:
    """``datetime.isoformat()`` of the UTC instants, quoted: seconds, or microseconds when
    there are any, then ``+00:00``; NaT as ``null``."""
    whole = column == column.astype("datetime64[s]")
    text = np.where(
        whole, np.datetime_as_string(column, unit="s"), np.datetime_as_string(column, unit="us")
    ).astype(object)
    encoded = '"' + text + '+00:00"'
    encoded[np.isnat(column)] = "null"
    return encoded


def _encoded_one_by_one(column: np.ndarray, encode) -> np.ndarray:  # noqa: ANN001
    out = np.empty(len(column), dtype=object)
    out[:] = [encode(_hashable(value)) for value in column.tolist()]
    return out


def _row_hash_one(row, layer: Layer) -> str:  # noqa: ANN001
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    geometry = np.empty(1, dtype=object)
    geometry[0] = row.geom
    attributes = encode({k: _hashable(v) for k, v in row.values.items()})
    payload = f"{layer.name}|{_geometry_hex(geometry)[0]}|{attributes}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hashable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value


def row_hash_of(rows: ValidRows | list, layer: Layer) -> list[str]:
    """Hashes of ``rows`` (computing them if needed).

    Parameters
    ----------
    rows : ValidRows or list of ValidRow
        Parsed rows of one layer.
    layer : Layer
        The target layer.

    Returns
    -------
    list of str
        Hex SHA-256 hash per row, in order.
    """
    if isinstance(rows, ValidRows):
        if len(rows) and not rows.row_hash[0]:
            hash_rows(rows, layer)
        return rows.row_hash.tolist()
    if rows and not rows[0].row_hash:
        hash_rows(rows, layer)
    return [r.row_hash for r in rows]


def find_near_duplicates(
    rows: ValidRows | list,
    existing: pd.DataFrame,
    community,  # noqa: ANN001 - anything with to_metric
    *,
    distance_m: float = 25.0,
    minutes: float = 30.0,
) -> list[tuple[int, str, float, float]]:
    """Incidents of the same type within ``distance_m`` and ``minutes`` of each other.

    Parameters
    ----------
    rows : ValidRows or list of ValidRow
        New incidents (exact duplicates already removed).
    existing : DataFrame
        Incidents already stored: ``id``, ``type_code``, ``occurred_at``, ``lon``, ``lat``.
    community : CommunityArea or Community
        Gives the metric CRS.

    Returns
    -------
    list of dict
        ``row`` (the later new row), ``other_row`` (a row of the file) or ``other_id`` (a
        stored incident), ``metres`` and ``minutes`` apart.
    """
    from scipy.spatial import cKDTree

    rows = ValidRows.from_rows(rows) if len(rows) else rows
    if not len(rows):
        return []
    new = len(rows)
    lon, lat = shapely.get_x(rows.geom), shapely.get_y(rows.geom)
    types = rows.values["type_code"]
    seconds = _epoch_seconds(rows.values["occurred_at"])
    ids = np.zeros(0, dtype=np.int64)
    if len(existing):
        lon = np.concatenate([lon, existing["lon"].to_numpy(float)])
        lat = np.concatenate([lat, existing["lat"].to_numpy(float)])
        types = np.concatenate([types, existing["type_code"].to_numpy(object)])
        stored = pd.DatetimeIndex(pd.to_datetime(existing["occurred_at"], utc=True))
        seconds = np.concatenate([seconds, _epoch_seconds(stored.tz_localize(None).to_numpy())])
        ids = existing["id"].to_numpy(np.int64)
    x, y = community.to_metric.transform(lon, lat)
    # Column-wise, in space *and* time: minutes are scaled so that ``minutes`` spans
    # ``distance_m``, and one KD-tree query finds every candidate pair (within the distance
    # and the time in each, so within sqrt(2) times the distance in the three).  Points close
    # in space but months apart are never paired, so dense files stay small in memory.
    scale = distance_m / minutes
    t = (seconds - seconds.min()) / 60 * scale
    tree = cKDTree(np.column_stack([x, y, t]))
    pairs = tree.query_pairs(distance_m * np.sqrt(2) + 1e-6, output_type="ndarray")
    if not len(pairs):
        return []
    pairs = pairs[pairs[:, 0] < new]  # a < b: a pair with a new row has it first
    codes = pd.factorize(pd.Series(types, dtype=object))[0]
    gap = np.abs(seconds[pairs[:, 0]] - seconds[pairs[:, 1]]) / 60
    apart = np.hypot(x[pairs[:, 0]] - x[pairs[:, 1]], y[pairs[:, 0]] - y[pairs[:, 1]])
    keep = (codes[pairs[:, 0]] == codes[pairs[:, 1]]) & (gap <= minutes) & (apart <= distance_m)
    pairs, gap = pairs[keep], gap[keep]
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    found = []
    for (a, b), minutes_apart in zip(pairs[order].tolist(), gap[order].tolist(), strict=True):
        metres = round(float(np.hypot(x[a] - x[b], y[a] - y[b])), 1)
        if b < new:
            found.append(
                {
                    "row": int(rows.row[b]),
                    "other_row": int(rows.row[a]),
                    "metres": metres,
                    "minutes": round(minutes_apart),
                }
            )
        else:
            found.append(
                {
                    "row": int(rows.row[a]),
                    "other_id": int(ids[b - new]),
                    "metres": metres,
                    "minutes": round(minutes_apart),
                }
            )
    return found


def _epoch_seconds(moments: np.ndarray) -> np.ndarray:
    """Whole seconds since 1970 of UTC ``datetime64`` values (aware datetimes accepted)."""
    if moments.dtype.kind != "M":
        moments = pd.to_datetime(pd.Series(moments), utc=True).dt.tz_localize(None).to_numpy()
    return moments.astype("datetime64[s]").astype(np.int64)
