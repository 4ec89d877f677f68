"""Validated rows kept as columns, from validation through deduplication to the writer.

A file of 100,000 incidents is 100,000 rows but only a dozen columns: :class:`ValidRows` holds
one numpy array per column (row numbers, each field's values, geometries, hashes, demo flags),
so no Python object is made per row (peak memory per row, issue 10).  Every step that leaves
rows out does it with a boolean mask (:meth:`ValidRows.take`).

Values
    ``values[name]`` is an object array of database values (``str``, ``int`` or ``None``), except
    date-time fields, held as ``datetime64[us]`` in UTC (``NaT`` for none):
    :data:`DATETIME_UTC`.  :meth:`ValidRows.value` gives a cell as Python would (an aware
    datetime), for messages and the few row-by-row comparisons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from shapely.geometry.base import BaseGeometry

#: dtype of date-time columns: microseconds (Python's unit), UTC.
DATETIME_UTC = "datetime64[us]"


@dataclass(slots=True)
class ValidRow:
    """One row ready to write, as a Python object (tests, small callers; see :class:`ValidRows`)."""

    row: int
    values: dict
    geom: BaseGeometry
    row_hash: str = ""
    #: The file says the row is synthetic demo data (Harta's own export of demo rows).
    demo: bool = False


@dataclass(eq=False)
class ValidRows:
    """Rows ready to write, a numpy array per column.

    Attributes
    ----------
    row : numpy.ndarray of int64
        The number a person finds each row under in the file.
    values : dict of str to numpy.ndarray
        One array per field of the layer, in the layer's order.
    geom : numpy.ndarray of object
        Shapely geometries in EPSG:4326.
    row_hash : numpy.ndarray of object
        Hex SHA-256 content hash of each row (``""`` until hashed).
    demo : numpy.ndarray of bool
        The file says the row is Harta's own demo data.
    """

    row: np.ndarray
    values: dict[str, np.ndarray]
    geom: np.ndarray
    row_hash: np.ndarray = field(default=None)  # type: ignore[assignment]
    demo: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.row)
        self.row = np.asarray(self.row, dtype=np.int64)
        if self.row_hash is None:
            self.row_hash = np.full(n, "", dtype=object)
        if self.demo is None:
            self.demo = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.row)

    @property
    def names(self) -> list[str]:
        """Field names, in the layer's order."""
        return list(self.values)

    def take(self, keep: np.ndarray) -> ValidRows:
        """The rows ``keep`` selects (a boolean mask or indices), in their order.

        Parameters
        ----------
        keep : numpy.ndarray
            Boolean mask of length ``len(self)`` or integer positions.

        Returns
        -------
        ValidRows
        """
        return ValidRows(
            row=self.row[keep],
            values={name: column[keep] for name, column in self.values.items()},
            geom=self.geom[keep],
            row_hash=self.row_hash[keep],
            demo=self.demo[keep],
        )

    def value(self, name: str, index: int) -> object:
        """The cell of field ``name`` in row ``index`` as a Python value (aware datetime, str,
        int or None).

        Parameters
        ----------
        name : str
        index : int

        Returns
        -------
        object
        """
        return python_value(self.values[name][index])

    def __getitem__(self, index: int) -> ValidRow:
        return ValidRow(
            int(self.row[index]),
            {name: self.value(name, index) for name in self.values},
            self.geom[index],
            str(self.row_hash[index]),
            bool(self.demo[index]),
        )

    def __iter__(self) -> Iterator[ValidRow]:
        return (self[i] for i in range(len(self)))

    @classmethod
    def empty(cls, names: Sequence[str]) -> ValidRows:
        """No rows, with the columns ``names``.

        Parameters
        ----------
        names : sequence of str

        Returns
        -------
        ValidRows
        """
        return cls(
            row=np.zeros(0, dtype=np.int64),
            values={name: np.empty(0, dtype=object) for name in names},
            geom=np.empty(0, dtype=object),
        )

    @classmethod
    def from_rows(cls, rows: Sequence[ValidRow] | ValidRows) -> ValidRows:
        """Columns of row objects (built by hand in tests); a ``ValidRows`` is returned as is.

        Every row must have the same keys.  Aware datetimes become :data:`DATETIME_UTC`.

        Parameters
        ----------
        rows : sequence of ValidRow, or ValidRows

        Returns
        -------
        ValidRows
        """
        if isinstance(rows, ValidRows):
            return rows
        names = list(rows[0].values) if rows else []
        values = {name: _column([r.values[name] for r in rows]) for name in names}
        geom = np.empty(len(rows), dtype=object)
        geom[:] = [r.geom for r in rows]
        return cls(
            row=np.array([r.row for r in rows], dtype=np.int64),
            values=values,
            geom=geom,
            row_hash=np.array([r.row_hash for r in rows], dtype=object),
            demo=np.array([r.demo for r in rows], dtype=bool),
        )


def is_datetime(column: np.ndarray) -> bool:
    """Whether a column holds date-times (:data:`DATETIME_UTC`).

    Parameters
    ----------
    column : numpy.ndarray

    Returns
    -------
    bool
    """
    return column.dtype.kind == "M"


def python_value(cell: object) -> object:
    """A cell as Python holds it: ``datetime64`` becomes an aware UTC datetime (``NaT`` None).

    Parameters
    ----------
    cell : object

    Returns
    -------
    object
    """
    if isinstance(cell, np.datetime64):
        if np.isnat(cell):
            return None
        return cell.astype(DATETIME_UTC).item().replace(tzinfo=dt.UTC)
    if isinstance(cell, np.generic):
        return cell.item()
    return cell


def _column(cells: list) -> np.ndarray:
    """An object array, or :data:`DATETIME_UTC` when the cells are aware datetimes."""
    if cells and all(isinstance(c, dt.datetime) or c is None for c in cells) and any(cells):
        utc = [None if c is None else c.astimezone(dt.UTC).replace(tzinfo=None) for c in cells]
        return np.array([np.datetime64("NaT") if c is None else c for c in utc], DATETIME_UTC)
    column = np.empty(len(cells), dtype=object)
    column[:] = cells
    return column


def join_columns(parts: Sequence[str | np.ndarray], sep: str = "") -> list[str]:
    """Row by row, the parts joined by ``sep``: a ``str`` part is the same in every row, an
    array (of ``str``) gives each row its own.  One string is made per row (adding object
    arrays makes one per part and row).

    Parameters
    ----------
    parts : sequence of str or numpy.ndarray
        At least one array; arrays of the same length.
    sep : str

    Returns
    -------
    list of str
    """
    columns = [repeat(p) if isinstance(p, str) else p for p in parts]
    # The repeated parts never end: the arrays (all of one length) set the rows.
    return list(map(sep.join, zip(*columns, strict=False)))
