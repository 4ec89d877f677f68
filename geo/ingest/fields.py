"""Cells to values, a whole column at a time: codes, numbers, dates and texts of a field.

:func:`parse_field` reads one column of a file for one field of a layer.  Each *distinct* cell
is read once by the field's parser (files repeat the same codes and numbers many times), dates
column-wise by pandas in the formats people write (:data:`_BULK_FORMATS`), and the results are
spread back to the rows with numpy; the problems name the row they belong to.

Dates
    ISO 8601 (``2025-03-14T21:30``, with or without offset), ``14.03.2025 21:30``,
    ``14/03/2025 21:30`` (day first, as written in Romania and Hungary) and ``2025.03.14``
    (Hungarian) are read.  Times without an offset are local time of the community
    (``communities.timezone``, e.g. Europe/Bucharest), summer time included.  Dates more than
    a day in the future are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from geo import taxonomy
from geo.ingest.rows import DATETIME_UTC
from geo.layers import Field, known_codes, normalise_header

#: Longest cell value quoted back in a message.
_QUOTE_LIMIT = 40
#: Accepted clock skew for "in the future".
_FUTURE_SLACK = dt.timedelta(days=1)


_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y.%m.%d.",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)

#: What a cell parser returns: the value and, when the cell is refused, (key, params).
Parsed = tuple[object, tuple[str, dict] | None]


def parse_field(
    fld: Field,
    cells: np.ndarray | None,
    n: int,
    *,
    tz: ZoneInfo,
    now: dt.datetime,
    role: str,
) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[str, dict]]]:
    """Read one column of cells as one field, each distinct cell once.

    Parameters
    ----------
    fld : Field
        The layer's field.
    cells : numpy.ndarray or None
        The column's cells (object array), or None when the file has no such column (every
        row then gets the field's default, or a "required" problem).
    n : int
        Number of rows.
    tz : ZoneInfo
        Zone of naive date cells.
    now : datetime
        "Now" for the future-date check.
    role : str
        Importing role, the default ``reporting_role``.

    Returns
    -------
    values : numpy.ndarray
        Object array of database values (None where refused); ``datetime64[us]`` in UTC
        (NaT where refused or blank) for date-time fields.
    refused : numpy.ndarray of bool
        Rows whose cell was refused.
    problems : dict
        Row index to ``(key, params)`` of each refused cell.
    """
    if cells is None:
        cells = np.full(n, None, dtype=object)
    codes, uniques = _distinct(cells)
    parse = _parser_for(fld, tz, now, role)
    blank = parse(None)
    if fld.type == "datetime":
        moments, issues = _parse_dates(uniques, parse, tz, now)
        table = np.empty(len(uniques) + 1, dtype=DATETIME_UTC)
        table[:-1] = moments
        table[-1] = _utc64(blank[0])
    else:
        parsed = [parse(u) for u in uniques]
        issues = [problem for _, problem in parsed]
        table = np.empty(len(parsed) + 1, dtype=object)
        table[:-1] = [value for value, _ in parsed]
        table[-1] = blank[0]
    # Code -1 (a blank cell, NaN or None) reads the last entry: the blank result.
    index = np.where(codes < 0, len(uniques), codes)
    values = table[index]
    failing = np.array([problem is not None for problem in issues] + [blank[1] is not None])
    refused = failing[index]
    problems = {}
    for row in np.flatnonzero(refused).tolist():
        code = codes[row]
        problems[row] = issues[code] if code >= 0 else blank[1]
    return values, refused, problems


def _utc64(moment: dt.datetime | None) -> np.datetime64:
    """An aware datetime as :data:`DATETIME_UTC` (None as NaT)."""
    if moment is None:
        return np.datetime64("NaT", "us")
    return np.datetime64(moment.astimezone(dt.UTC).replace(tzinfo=None), "us")


def _distinct(cells: np.ndarray) -> tuple[np.ndarray, list]:
    """Codes of the distinct cells (-1 for None/NaN) and the distinct cells themselves."""
    try:
        codes, uniques = pd.factorize(pd.Series(cells, dtype=object), use_na_sentinel=True)
        return np.asarray(codes), list(uniques)
    except TypeError:  # an unhashable cell: every cell is its own
        return np.arange(len(cells)), list(cells)


def _parse_dates(
    uniques: list,
    parse,  # noqa: ANN001
    tz: ZoneInfo,
    now: dt.datetime,
) -> tuple[np.ndarray, list]:
    """Distinct date cells read column-wise where pandas can, the others by ``parse``.

    A text in one of :data:`_BULK_FORMATS` is read by pandas and placed in ``tz`` with
    numpy (a local time that does not exist or exists twice, at a summer-time change, goes to
    ``parse``, which reads it as :func:`parse_datetime` always has).

    Returns
    -------
    moments : numpy.ndarray
        :data:`DATETIME_UTC` per distinct cell (NaT where refused or blank).
    problems : list
        ``(key, params)`` or None per distinct cell.
    """
    moments = np.full(len(uniques), np.datetime64("NaT"), dtype=DATETIME_UTC)
    problems: list = [None] * len(uniques)
    done = np.zeros(len(uniques), dtype=bool)
    texts = pd.Series([u.strip() if isinstance(u, str) else "" for u in uniques], dtype=object)
    pending = np.flatnonzero(texts.ne("").to_numpy(bool))
    # Microseconds: the unit of Python's datetime, and room for year 9999 (a typo's future).
    naive = pd.Series(pd.NaT, index=range(len(uniques)), dtype=DATETIME_UTC)
    for fmt in _BULK_FORMATS:
        if not len(pending):
            break
        read = pd.to_datetime(texts.iloc[pending], format=fmt, errors="coerce")
        ok = read.notna().to_numpy()
        naive.iloc[pending[ok]] = read[ok].to_numpy().astype(DATETIME_UTC)
        pending = pending[~ok]
    found = np.flatnonzero(naive.notna().to_numpy())
    if len(found):
        local = pd.DatetimeIndex(naive.iloc[found]).tz_localize(
            tz, ambiguous="NaT", nonexistent="NaT"
        )
        limit = pd.Timestamp(now + _FUTURE_SLACK)
        clear = ~local.isna()
        future = np.zeros(len(found), dtype=bool)
        future[clear] = local[clear] > limit
        good = clear & ~future
        utc = local[good].tz_convert("UTC").tz_localize(None)
        moments[found[good]] = utc.to_numpy().astype(DATETIME_UTC)
        for index in found[future].tolist():
            problems[index] = ("ingest.problem.future_date", {"value": _quote(uniques[index])})
        done[found[clear]] = True
    for index in np.flatnonzero(~done).tolist():
        value, problems[index] = parse(uniques[index])
        moments[index] = _utc64(value)
    return moments, problems


def _parser_for(fld: Field, tz: ZoneInfo, now: dt.datetime, role: str):
    """A function cell → (value, problem) for one field, with lookups prepared once."""
    default = role if fld.name == "reporting_role" and fld.default is None else fld.default

    def blank(raw: object) -> Parsed:
        if fld.required:
            return None, ("ingest.problem.required", {"field": fld.name})
        return default, None

    if fld.type == "int":

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            number = _to_int(raw)
            if number is None:
                return None, ("ingest.problem.not_integer", {"value": _quote(raw)})
            if (fld.minimum is not None and number < fld.minimum) or (
                fld.maximum is not None and number > fld.maximum
            ):
                return None, (
                    "ingest.problem.out_of_range",
                    {"value": number, "min": fld.minimum, "max": fld.maximum},
                )
            return number, None

    elif fld.type == "code" and (fld.codes or fld.name) in taxonomy.KINDS.values():
        kind = fld.codes or fld.name
        allowed_codes = taxonomy.codes(kind)

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            code = taxonomy.match(kind, raw)
            if code is None:
                return None, (
                    "ingest.problem.unknown_value",
                    {
                        "value": _quote(raw),
                        "kind": kind,
                        "allowed": allowed_codes,
                        "suggest": taxonomy.suggest(kind, raw),
                    },
                )
            return code, None

    elif fld.type == "code":
        spellings = known_codes(fld.codes or fld.name)
        allowed = ", ".join(sorted(set(spellings.values())))

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            code = spellings.get(normalise_header(raw))
            if code is None:
                return None, (
                    "ingest.problem.unknown_code",
                    {"value": _quote(raw), "allowed": allowed},
                )
            return code, None

    elif fld.type == "datetime":

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            moment = parse_datetime(raw, tz)
            if moment is None:
                return None, ("ingest.problem.bad_date", {"value": _quote(raw)})
            if moment > now + _FUTURE_SLACK:
                return None, ("ingest.problem.future_date", {"value": _quote(raw)})
            return moment, None

    else:

        def parse(raw: object) -> Parsed:
            if _is_blank(raw):
                return blank(raw)
            # PostgreSQL text cannot hold NUL; other control characters are kept as typed.
            text = str(raw).replace("\x00", "").strip()
            if fld.max_length is not None and len(text) > fld.max_length:
                return None, (
                    "ingest.problem.too_long",
                    {"length": len(text), "max": fld.max_length},
                )
            return text, None

        return parse
    return parse


#: Formats read column-wise by pandas (C speed) before the cell-by-cell fallback.
_BULK_FORMATS = (
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


def parse_datetime(value: object, tz: ZoneInfo | str) -> dt.datetime | None:
    """Parse a date/time cell into an aware datetime; naive values are local time in ``tz``.

    Parameters
    ----------
    value : object
        A cell: Timestamp, datetime, date or text.
    tz : ZoneInfo or str
        Zone of naive values.

    Returns
    -------
    datetime or None
        ``None`` when the value is not a recognisable date.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        moment = _parse_text_datetime(str(value).strip())
        if moment is None:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _parse_text_datetime(text: str) -> dt.datetime | None:
    # GDAL writes "2025/03/14 21:30:00+02"; KoBo "2025-03-14T21:30:00.000+02:00".
    candidate = re.sub(r"^(\d{4})/(\d{2})/(\d{2})", r"\1-\2-\3", text)
    candidate = re.sub(r"([+-]\d{2})$", r"\1:00", candidate)
    candidate = candidate.replace("Z", "+00:00") if candidate.endswith("Z") else candidate
    try:
        return dt.datetime.fromisoformat(candidate)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _to_int(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    try:
        number = float(str(raw).strip().replace(",", "."))
    except ValueError:
        return None
    if not np.isfinite(number) or number != int(number):
        return None
    return int(number)


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def has_values(column: pd.Series) -> bool:
    """Whether any cell of ``column`` holds something.

    Parameters
    ----------
    column : pandas.Series

    Returns
    -------
    bool
    """
    return any(not _is_blank(v) for v in column.tolist())


def _quote(raw: object) -> str:
    text = str(raw).strip()
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1] + "…"
