"""Fingerprints of a hot spot run: what decides its results, hashed, so an identical run is reused.

Two runs with the same community, scope, parameters and inputs give the same results, so the
second is not stored again (:func:`geo.analysis.runs.run_hotspot_analysis` looks the
fingerprint up first).  The inputs are hashed row by row and the row hashes sorted, so the
order the database returns rows in does not matter; any changed, added or removed row (a new
incident, an edited workshop zone, a new published month) gives a new fingerprint.

The fingerprint is stored in the run's ``params``, which only roles allowed to see the run can
read (row security on ``analysis_runs``); it is computed from what the role already read.

This module never imports Streamlit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Parameters that do not change a run's results (who ran it, the outcome of the run).
VOLATILE_PARAMS = frozenset({"role", "fingerprint", "failed"})


def frame_digest(frame: pd.DataFrame | pd.Series | None) -> str:
    """An order-independent SHA-256 of a table's rows (geometry by its WKB).

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
    plain = pd.DataFrame(frame).copy()
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        name = frame.geometry.name
        plain[name] = shapely.to_wkb(np.asarray(frame.geometry.values), hex=True)
    h.update(json.dumps([str(c) for c in plain.columns]).encode())
    if len(plain):
        for column in plain.columns:
            # Lists, dicts and other unhashables are hashed by their text.
            if plain[column].dtype == object:
                plain[column] = plain[column].map(_text)
        rows = pd.util.hash_pandas_object(plain, index=False).to_numpy()
        h.update(np.sort(rows).tobytes())
    return h.hexdigest()


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
        "inputs": [frame_digest(frame) for frame in inputs],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
