"""Fingerprints of a hot spot run: what decides its results, hashed, so an identical run is reused.

Two runs with the same community, scope, parameters and inputs give the same results, so the
second is not stored again (:func:`geo.analysis.runs.run_hotspot_analysis` looks the
fingerprint up first).  The inputs are hashed column by column as whole arrays (100,000
incidents in tens of milliseconds: hashing them row by row cost 0.5-1.5 s of every page view),
giving one hash per row; the row hashes are sorted, so the order the database returns rows in
does not matter, while any changed, added or removed row (a new incident, an edited workshop
zone, a new published month) gives a new fingerprint.

The fingerprint is stored in the run's ``params``, which only roles allowed to see the run can
read (row security on ``analysis_runs``); it is computed from what the role already read.

This module never imports Streamlit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryDtype

#: Parameters that do not change a run's results (who ran it, the outcome of the run).
VOLATILE_PARAMS = frozenset({"role", "fingerprint", "failed"})


def frame_digest(frame: pd.DataFrame | pd.Series | None) -> str:
    """An order-independent SHA-256 of a table's rows, computed column-wise.

    Every column is hashed as a whole array (:func:`pandas.util.hash_pandas_object`, numpy's
    bytes underneath), never row by row in Python: point geometries by their coordinates, other
    geometries by their WKB, lists and dicts by their JSON text.  The per-row hashes (the
    columns of a row combined in column order) are sorted, so the order rows come in does not
    matter while any changed, added, removed or duplicated row does.

    Parameters
    ----------
    frame : DataFrame, GeoDataFrame, Series or None

    Returns
    -------
    str
        Hex digest; the same for the same rows in any order.
    """
    h = hashlib.sha256()
    if frame is None:
        h.update(b"none")
        return h.hexdigest()
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(name=str(frame.name))
    h.update(json.dumps([str(c) for c in frame.columns]).encode())
    if len(frame):
        rows = pd.util.hash_pandas_object(_hashable(frame), index=False).to_numpy()
        h.update(np.sort(rows).tobytes())
    return h.hexdigest()


def _hashable(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every column in a form pandas hashes as an array (same row order)."""
    columns: dict[str, Any] = {}
    for position, name in enumerate(frame.columns):
        values = frame.iloc[:, position].reset_index(drop=True)
        key = f"{position}:{name}"  # duplicate names stay apart
        if isinstance(values.dtype, GeometryDtype):
            columns.update(_geometry_columns(key, np.asarray(values.array)))
        elif values.dtype == object and _needs_text(values):
            columns[key] = values.map(_text)
        else:
            columns[key] = values  # numbers, dates, text: hashed by pandas as whole arrays
    return pd.DataFrame(columns)


def _geometry_columns(key: str, geoms: np.ndarray) -> dict[str, np.ndarray]:
    """Points as their x, y, z arrays (z NaN when 2-D); anything else as hex WKB."""
    types = shapely.get_type_id(geoms)
    if len(geoms) and (types == 0).all() and not shapely.is_empty(geoms).any():
        xyz = shapely.get_coordinates(geoms, include_z=True)
        return {f"{key}#x": xyz[:, 0], f"{key}#y": xyz[:, 1], f"{key}#z": xyz[:, 2]}
    return {f"{key}#wkb": shapely.to_wkb(geoms, hex=True)}


def _needs_text(values: pd.Series) -> bool:
    """Whether an object column holds anything but text (lists, dicts, numbers, dates...)."""
    return pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)


def run_fingerprint(
    community_id: int,
    scope: str,
    params: dict[str, Any],
    inputs: Iterable[pd.DataFrame | pd.Series | None],
) -> str:
    """The fingerprint of a run: community, scope, parameters and the digests of its inputs.

    Parameters
    ----------
    community_id : int
    scope : str
    params : dict
        The run's parameters as known before it is solved (:data:`VOLATILE_PARAMS` left out).
    inputs : iterable of tables
        Everything the analyses read (incidents or published counts, profiles, workshop zones).

    Returns
    -------
    str
        64 hex characters.
    """
    stable = {k: v for k, v in params.items() if k not in VOLATILE_PARAMS}
    payload = {
        "community": int(community_id),
        "scope": scope,
        "params": stable,
        "inputs": _digests(inputs),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _digests(inputs: Iterable[pd.DataFrame | pd.Series | None]) -> list[str]:
    """:func:`frame_digest` of each input; a table given twice (exact runs analyse and trend
    the same points) is hashed once."""
    frames = list(inputs)  # held, so no id below is reused by another table
    seen: dict[int, str] = {}
    for frame in frames:
        if id(frame) not in seen:
            seen[id(frame)] = frame_digest(frame)
    return [seen[id(frame)] for frame in frames]
