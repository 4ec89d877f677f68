"""Exports of a hot spot run: a GeoTIFF, a GeoPackage and CSV tables in the run's folder.

==================  =========================================================================
``density.tif``     kernel density, float32 incidents/km², in the community's metric CRS
``cells.gpkg``      layers ``hotspots`` (Gi* per hexagon), ``emerging`` (trend categories),
                    ``compare`` (workshop zones and hot cells, perceived vs recorded)
``hotspots.csv``    the same tables as CSV (geometry as WKT), plus ``emerging.csv``,
``compare.csv``     ``profiles.csv`` (incidents per hour of day and per weekday)
==================  =========================================================================

Everything written is what the run's role may see (the run's inputs were limited to it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio


class ExportableRun(Protocol):
    """What :func:`write_exports` reads of a run (a :class:`geo.analysis.runs.HotspotRun`)."""

    density: Any  # DensitySurface or None
    hotspots: Any  # HotspotResult
    emerging: Any  # EmergingHotspotResult
    comparison: gpd.GeoDataFrame
    time_of_day: pd.Series
    day_of_week: pd.Series


#: Export name -> file name inside the run's folder.
EXPORTS = {
    "density": "density.tif",
    "gpkg": "cells.gpkg",
    "hotspots_csv": "hotspots.csv",
    "emerging_csv": "emerging.csv",
    "compare_csv": "compare.csv",
    "profiles_csv": "profiles.csv",
}
_HOTSPOT_COLUMNS = ["cell_id", "count", "z", "p", "p_fdr", "gi_bin", "label", "hot", "cold"]
_EMERGING_COLUMNS = ["cell_id", "count", "n_hot_periods", "share_hot", "trend", "category"]


def write_exports(run: ExportableRun, folder: Path) -> dict[str, Path]:
    """Write the GeoTIFF, GeoPackage and CSV exports of ``run`` into ``folder``.

    Parameters
    ----------
    run : HotspotRun
        Or anything with its attributes (:class:`ExportableRun`).
    folder : Path
        Created if missing (normally :func:`geo.runs.run_dir`).

    Returns
    -------
    dict of str to Path
        Export name (a key of :data:`EXPORTS`) -> file written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    if run.density is not None:
        outputs["density"] = run.density.write_geotiff(folder / EXPORTS["density"])
    gpkg = folder / EXPORTS["gpkg"]
    gpkg.unlink(missing_ok=True)
    layers = {
        "hotspots": run.hotspots.cells[[*_HOTSPOT_COLUMNS, "geometry"]],
        "emerging": _emerging_table(run.emerging.cells),
        "compare": run.comparison,
    }
    for layer, frame in layers.items():
        plain = _to_plain(frame)
        pyogrio.write_dataframe(plain, gpkg, layer=layer, driver="GPKG", append=gpkg.exists())
        csv = folder / EXPORTS[f"{layer}_csv"]
        table = pd.DataFrame(plain.drop(columns=plain.geometry.name))
        table["wkt"] = plain.geometry.to_wkt()
        table.to_csv(csv, index=False)
        outputs[f"{layer}_csv"] = csv
    outputs["gpkg"] = gpkg
    outputs["profiles_csv"] = folder / EXPORTS["profiles_csv"]
    _profiles(run.time_of_day, run.day_of_week).to_csv(outputs["profiles_csv"], index=False)
    return outputs


def _profiles(hours: pd.Series, weekdays: pd.Series) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"profile": "hour", "bin": hours.index, "count": hours}),
            pd.DataFrame({"profile": "weekday", "bin": weekdays.index, "count": weekdays}),
        ],
        ignore_index=True,
    )


def _emerging_table(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return cells[[c for c in _EMERGING_COLUMNS if c in cells.columns] + ["geometry"]]


def _to_plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Object columns as text and booleans as 0/1: what GeoPackage and CSV readers expect."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if out[column].dtype == object:
            out[column] = out[column].astype(str)
        elif out[column].dtype == bool:
            out[column] = out[column].astype(np.int8)
    return out
