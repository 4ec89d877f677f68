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

import numpy as np
import pandas as pd
import shapely

from geo.layers import Layer

#: Grid hashes are computed on, in degrees (about 1 cm).
HASH_GRID_DEG = 1e-7


# --- hashing --------------------------------------------------------------------------------


def hash_rows(rows: list, layer: Layer) -> None:
    """Set each row's content hash: same geometry (to ~1 cm) and attributes, same hash.

    Geometries are snapped to :data:`HASH_GRID_DEG` and normalised (ring orientation and
    start vertex, which Shapefile and KML writers change) before hashing.

    Parameters
    ----------
    rows : list
        Parsed rows (with ``geom`` in EPSG:4326 and ``values``); their ``row_hash`` is set
        in place.
    layer : Layer
        The target layer; its name is part of the hash.
    """
    if not rows:
        return
    geometries = np.array([r.geom for r in rows], dtype=object)
    snapped = shapely.normalize(shapely.set_precision(geometries, HASH_GRID_DEG, mode="pointwise"))
    wkb = shapely.to_wkb(snapped, hex=True, output_dimension=2)
    # One encoder for all rows (json.dumps with options builds one per call); the same
    # options and key order as before, so stored hashes stay valid.
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    names = sorted(rows[0].values)
    if _same_keys(rows, names):
        attributes = _attributes_by_column(rows, names, encode)
    else:  # rows of different shapes (callers building rows by hand): one by one
        attributes = (encode({k: _hashable(v) for k, v in r.values.items()}) for r in rows)
    # One payload at a time: the 100,000 strings are never all held at once.
    prefix = f"{layer.name}|"
    for row, geometry_hex, attribute_text in zip(rows, wkb.tolist(), attributes, strict=True):
        payload = f"{prefix}{geometry_hex}|{attribute_text}"
        row.row_hash = hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _same_keys(rows: list, names: list[str]) -> bool:
    wanted = set(names)
    return all(r.values.keys() == wanted for r in rows)


def _attributes_by_column(rows: list, names: list[str], encode):  # noqa: ANN001, ANN202
    """The JSON object of every row's values (keys sorted), as a generator: each distinct value
    is encoded once, a column at a time, exactly as ``encode`` encodes it inside the object."""
    keys = [("," if position else "{") + encode(name) + ":" for position, name in enumerate(names)]
    columns = [_encoded_column([r.values[name] for r in rows], encode) for name in names]
    for fragments in zip(*columns, strict=True):
        yield "".join(key + fragment for key, fragment in zip(keys, fragments, strict=True)) + "}"


def _encoded_column(values: list, encode) -> list:  # noqa: ANN001
    seen: dict = {}
    out: list = [None] * len(values)
    for index, value in enumerate(values):
        # The type is part of the key: True == 1 but they encode differently.
        key = (value.__class__, value)
        try:
            out[index] = seen[key]
        except KeyError:
            out[index] = seen[key] = encode(_hashable(value))
        except TypeError:  # unhashable value
            out[index] = encode(_hashable(value))
    return out


def _hashable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value


def row_hash_of(rows: list, layer: Layer) -> list[str]:
    """Hashes of ``rows`` (computing them if needed).

    Parameters
    ----------
    rows : list
        Parsed rows of one layer.
    layer : Layer
        The target layer.

    Returns
    -------
    list of str
        Hex SHA-256 hash per row, in order.
    """
    if rows and not rows[0].row_hash:
        hash_rows(rows, layer)
    return [r.row_hash for r in rows]


def find_near_duplicates(
    rows: list,
    existing: pd.DataFrame,
    community,  # noqa: ANN001 - anything with to_metric
    *,
    distance_m: float = 25.0,
    minutes: float = 30.0,
) -> list[tuple[int, str, float, float]]:
    """Incidents of the same type within ``distance_m`` and ``minutes`` of each other.

    Parameters
    ----------
    rows : list of ValidRow
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

    if not rows:
        return []
    new = len(rows)
    lon = np.fromiter((r.geom.x for r in rows), float, new)
    lat = np.fromiter((r.geom.y for r in rows), float, new)
    types = [r.values["type_code"] for r in rows]
    times = pd.DatetimeIndex(pd.to_datetime([r.values["occurred_at"] for r in rows], utc=True))
    ids = np.zeros(0, dtype=np.int64)
    if len(existing):
        lon = np.concatenate([lon, existing["lon"].to_numpy(float)])
        lat = np.concatenate([lat, existing["lat"].to_numpy(float)])
        types += existing["type_code"].tolist()
        stored_times = pd.DatetimeIndex(pd.to_datetime(existing["occurred_at"], utc=True))
        times = times.append(stored_times)
        ids = existing["id"].to_numpy(np.int64)
    x, y = community.to_metric.transform(lon, lat)
    seconds = np.asarray(times.tz_localize(None), dtype="datetime64[s]").astype(np.int64)
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
                    "row": rows[b].row,
                    "other_row": rows[a].row,
                    "metres": metres,
                    "minutes": round(minutes_apart),
                }
            )
        else:
            found.append(
                {
                    "row": rows[a].row,
                    "other_id": int(ids[b - new]),
                    "metres": metres,
                    "minutes": round(minutes_apart),
                }
            )
    return found
