"""Coordinate reference systems: the one place Harta decides how coordinates are handled.

The convention, everywhere in ``geo``:

* Geometries are **stored** in EPSG:4326 (longitude, latitude) -- :data:`STORAGE`.
* Distances, areas and buffers are **measured** in the community's metric CRS
  (:attr:`geo.communities.Community.crs`), never in degrees.
* An argument that names a CRS is called ``crs`` and accepts anything
  :meth:`pyproj.CRS.from_user_input` accepts (``3844``, ``"EPSG:3844"``, a WKT string, a
  :class:`pyproj.CRS`); :func:`to_crs` turns it into a :class:`pyproj.CRS`, and the database stores
  the EPSG integer (:func:`epsg`).
* Transformations are built once per pair of CRSs (:func:`transformer`) and always with
  ``always_xy=True``, so x is the longitude/easting whatever the CRS's axis order.
* A community without a configured metric CRS gets the WGS 84 UTM zone of its centre
  (:func:`utm_crs`) -- the one policy; nothing else estimates CRSs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyproj
import shapely
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

#: Where every geometry is stored.
STORAGE = pyproj.CRS.from_epsg(4326)

CRSLike = Any  # anything pyproj.CRS.from_user_input accepts


class CRSInputError(ValueError):
    """A CRS that cannot be used for the purpose it was given for."""


@lru_cache(maxsize=64)
def _cached(value: Any) -> pyproj.CRS:
    return pyproj.CRS.from_user_input(value)


def to_crs(crs: CRSLike) -> pyproj.CRS:
    """``crs`` as a :class:`pyproj.CRS`.

    Parameters
    ----------
    crs : int, str or pyproj.CRS
        Anything :meth:`pyproj.CRS.from_user_input` accepts.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSInputError
        When PROJ does not know it.
    """
    if isinstance(crs, pyproj.CRS):
        return crs
    try:
        return _cached(crs)
    except (CRSError, TypeError) as exc:
        raise CRSInputError(f"unknown coordinate reference system {crs!r}") from exc


def epsg(crs: CRSLike) -> int:
    """The EPSG code of ``crs`` (how the database stores a CRS).

    Parameters
    ----------
    crs : int, str or pyproj.CRS

    Returns
    -------
    int

    Raises
    ------
    CRSInputError
        When the CRS has no EPSG code.
    """
    code = to_crs(crs).to_epsg()
    if code is None:
        raise CRSInputError(f"{crs!r} has no EPSG code")
    return int(code)


def metric_crs(crs: CRSLike) -> pyproj.CRS:
    """``crs`` after checking that it is projected with axes in metres.

    Parameters
    ----------
    crs : int, str or pyproj.CRS

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSInputError
        For a geographic CRS or one measured in feet, degrees or anything but metres.
    """
    value = to_crs(crs)
    units = {axis.unit_name for axis in value.axis_info}
    if not value.is_projected or not units <= {"metre", "meter"}:
        raise CRSInputError(f"{value.to_string()} is not a projected CRS in metres")
    return value


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """The WGS 84 UTM zone containing (``lon``, ``lat``): 32634 for Cluj and for Pernik.

    Parameters
    ----------
    lon, lat : float
        Degrees.

    Returns
    -------
    pyproj.CRS
    """
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return to_crs((32600 if lat >= 0 else 32700) + zone)


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


@lru_cache(maxsize=64)
def _key_of_text(crs: str) -> str:
    return to_crs(crs).to_wkt()


def key(crs: CRSLike) -> str:
    """A normalised text key of ``crs`` (its WKT), cheap to get again: for caches keyed by CRS.

    ``"EPSG:32634"``, ``"epsg:32634"``, ``32634`` and the :class:`pyproj.CRS` share one key.
    Hashing a :class:`pyproj.CRS` exports its WKT every time (10-300 us); this looks the key
    up by the text the CRS was made from.

    Parameters
    ----------
    crs : int, str or pyproj.CRS

    Returns
    -------
    str
    """
    if isinstance(crs, pyproj.CRS):
        return _key_of_text(crs.srs) if crs.srs else crs.to_wkt()
    return _key_of_text(str(crs))


def transformer(source: CRSLike, target: CRSLike) -> pyproj.Transformer:
    """The transformation from ``source`` to ``target``, built once and reused.

    Building a transformer costs up to ~80 ms (Stereo70's datum shift); applying one costs
    microseconds, so every caller shares this cache (keyed by :func:`key`: a lookup costs
    about a microsecond, which matters in the hot spot analysis' inner calls).

    Parameters
    ----------
    source, target : int, str or pyproj.CRS

    Returns
    -------
    pyproj.Transformer
        With ``always_xy=True``.
    """
    return _transformer(key(source), key(target))


def project(geometry: BaseGeometry, source: CRSLike, target: CRSLike) -> BaseGeometry:
    """``geometry`` transformed from ``source`` to ``target``.

    Parameters
    ----------
    geometry : shapely geometry
    source, target : int, str or pyproj.CRS

    Returns
    -------
    shapely geometry
    """
    forward = transformer(source, target)
    return shapely.transform(geometry, lambda xy: _apply(forward, xy))


def _apply(forward: pyproj.Transformer, xy):  # noqa: ANN001, ANN202
    import numpy as np

    x, y = forward.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


# --- which transformation, and how honest it is (added for imports, issue 10) ------------------

#: Deprecated CRSs whose datum EPSG later identified with another CRS's, same projection and
#: ellipsoid: Dealul Piscului 1970 / Stereo 70 (EPSG:31700) is Pulkovo 1942(58) / Stereo70
#: (EPSG:3844).  PROJ knows no datum shift for the old code and falls back on a "ballpark"
#: transformation (about 125 m off in Cluj); the replacement carries the published Helmert
#: parameters.
EQUIVALENT_CRS: dict[int, int] = {31700: 3844}


@dataclass(frozen=True)
class Transformation:
    """The transformation coordinates go through, as a person should hear about it.

    Attributes
    ----------
    source : pyproj.CRS
        The CRS actually transformed from (the replacement of a deprecated one).
    description : str
        PROJ's name of the operation, e.g. ``"Inverse of Stereo 70 + Pulkovo 1942(58) to WGS
        84 (19)"``.
    accuracy_m : float or None
        PROJ's stated accuracy; ``None`` when unknown.
    ballpark : bool
        No datum shift is applied: positions may be off by up to :data:`BALLPARK_ERROR_M`.
    replaced : int or None
        EPSG code of the deprecated CRS that was read as ``source``.
    """

    source: pyproj.CRS
    description: str
    accuracy_m: float | None
    ballpark: bool
    replaced: int | None = None

    @property
    def transformer(self) -> pyproj.Transformer:
        """The transformer to use (cached, ``always_xy``)."""
        return transformer(self.source, STORAGE)


#: How far a ballpark datum transformation may put points in Europe, in metres.
BALLPARK_ERROR_M = 150


def transformation(source: CRSLike, target: CRSLike = STORAGE) -> Transformation:
    """Name the transformation from ``source`` to ``target`` and say whether it is ballpark.

    A deprecated CRS listed in :data:`EQUIVALENT_CRS` is read as its replacement, so the
    published datum shift is used instead of PROJ's ballpark fallback.

    Parameters
    ----------
    source, target : int, str or pyproj.CRS

    Returns
    -------
    Transformation
    """
    from pyproj.transformer import TransformerGroup

    wanted = to_crs(source)
    code = wanted.to_epsg()
    replaced = code if code in EQUIVALENT_CRS else None
    used = to_crs(EQUIVALENT_CRS[code]) if replaced else wanted
    candidates = TransformerGroup(used, to_crs(target), always_xy=True).transformers
    if not candidates:
        return Transformation(used, "", None, True, replaced)
    best = candidates[0]
    accuracy = best.accuracy if best.accuracy is not None and best.accuracy >= 0 else None
    ballpark = "ballpark" in best.description.lower()
    return Transformation(used, best.description, accuracy, ballpark, replaced)
