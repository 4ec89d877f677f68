"""The Mobile Unit's inputs: stops and vehicles from CSV or GeoJSON, checked row by row.

Stops: ``stop_id, kind, lat, lon, window_start, window_end, service_min, passengers, deliver_to,
days``; vehicles: ``vehicle_id, seats, shift_start, shift_end, depot_lat, depot_lon`` (see
``docs/mobile_unit.md``).  A GeoJSON file carries the same columns as properties of Point
features (``lat``/``lon`` or ``depot_lat``/``depot_lon`` then come from the geometry).

Problems are the importers' :class:`~geo.ingest.report.Problem` (file, row as the spreadsheet
shows it -- the header is row 1 --, field, reason); any error rejects the whole file
(:class:`MobileInputError`): nothing is half-loaded.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import HartaError
from geo.ingest.report import Problem

if TYPE_CHECKING:
    from geo.communities.model import Community

#: The kinds of stop (issue 13): a child's or person's home, a school, a service place, a
#: person accompanied (picked up and taken to ``deliver_to``).
KINDS = ("pickup", "school", "service", "accompaniment")
#: Kinds that carry passengers to ``deliver_to``.
CARRYING = ("pickup", "accompaniment")
#: Kinds a ``deliver_to`` may name.
DESTINATIONS = ("school", "service")
STOP_COLUMNS = (
    "stop_id",
    "kind",
    "lat",
    "lon",
    "window_start",
    "window_end",
    "service_min",
    "passengers",
    "deliver_to",
    "days",
)
VEHICLE_COLUMNS = ("vehicle_id", "seats", "shift_start", "shift_end", "depot_lat", "depot_lon")
#: A stop or depot farther than this from the community is a typo (swapped lat/lon …).
MAX_DISTANCE_M = 50_000.0
DAY_SECONDS = 24 * 3600

#: Day names as planners write them (en, ro, hu), Monday = 0.
DAY_NAMES: dict[str, int] = {}
for _names in (
    ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    ("lu", "ma", "mi", "jo", "vi", "sa", "du"),
    ("h", "k", "sze", "cs", "p", "szo", "v"),
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    ("luni", "marti", "miercuri", "joi", "vineri", "sambata", "duminica"),
):
    for _i, _name in enumerate(_names):
        DAY_NAMES.setdefault(_name, _i)
ALL_DAYS = frozenset(range(7))
#: Key of the cells beyond the header in a row (see :func:`_csv_rows`).
_EXTRA = "\x00extra"


@dataclass(frozen=True)
class Stop:
    """One stop, as read.

    Attributes
    ----------
    stop_id, kind : str
    lat, lon : float
        EPSG:4326.
    window_start, window_end : int
        Seconds after midnight (local time); the whole day when the file leaves them empty.
    service_s : int
        Seconds spent at the stop.
    passengers : int
        People boarding here (``pickup``/``accompaniment``).
    deliver_to : str or None
        Where they are taken.
    days : frozenset of int
        Weekdays (Monday = 0) the stop recurs on.
    row : int
        Row in the file (header = 1).
    """

    stop_id: str
    kind: str
    lat: float
    lon: float
    window_start: int = 0
    window_end: int = DAY_SECONDS
    service_s: int = 0
    passengers: int = 0
    deliver_to: str | None = None
    days: frozenset[int] = ALL_DAYS
    row: int = 0


@dataclass(frozen=True)
class Vehicle:
    """One vehicle (a van and its driver's shift).

    Attributes
    ----------
    vehicle_id : str
    seats : int
    shift_start, shift_end : int
        Seconds after midnight (local time).
    depot_lat, depot_lon : float
    row : int
    """

    vehicle_id: str
    seats: int
    shift_start: int
    shift_end: int
    depot_lat: float
    depot_lon: float
    row: int = 0


class MobileInputError(HartaError):
    """A stops or vehicles file with errors: every problem, nothing loaded.

    Parameters
    ----------
    file : str
        File name (no directories).
    problems : list of Problem

    Attributes
    ----------
    file : str
    problems : list of Problem
    """

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("mobile.error.rejected", file=file, errors=len(self.problems))

    def render(self, lang: str = "en") -> str:
        """The summary and one line per problem, in ``lang``.

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return "\n".join([self.message(lang), *(p.render(lang) for p in self.problems)])


def read_stops(
    source: str | Path | bytes, name: str | None = None, community: Community | None = None
) -> list[Stop]:
    """Stops of a CSV or GeoJSON file, all or none.

    Parameters
    ----------
    source : path or bytes
        The file, or its bytes (an upload).
    name : str, optional
        File name for messages (default: the path's name).
    community : Community, optional
        When given, stops farther than :data:`MAX_DISTANCE_M` from it are errors.

    Returns
    -------
    list of Stop

    Raises
    ------
    MobileInputError
        With every problem found.
    """
    name, rows = _rows(source, name, ("lat", "lon"))
    checker = _Checker(name, community)
    stops = [s for row_no, row in rows if (s := checker.stop(row_no, row)) is not None]
    checker.links(stops)
    checker.raise_if_any()
    return stops


def read_vehicles(
    source: str | Path | bytes, name: str | None = None, community: Community | None = None
) -> list[Vehicle]:
    """Vehicles of a CSV or GeoJSON file, all or none.

    Parameters
    ----------
    source : path or bytes
    name : str, optional
    community : Community, optional

    Returns
    -------
    list of Vehicle

    Raises
    ------
    MobileInputError
    """
    name, rows = _rows(source, name, ("depot_lat", "depot_lon"))
    checker = _Checker(name, community)
    vehicles = [v for row_no, row in rows if (v := checker.vehicle(row_no, row)) is not None]
    if not vehicles and not checker.problems:
        checker.add(None, None, "mobile.problem.empty")
    checker.raise_if_any()
    return vehicles


def parse_days(text: str) -> frozenset[int]:
    """Weekdays of a ``days`` cell: ``Mon-Fri``, ``Mon,Wed``, ``Lu-Vi``, ``H-P``; empty = all.

    Parameters
    ----------
    text : str

    Returns
    -------
    frozenset of int
        Monday = 0.

    Raises
    ------
    ValueError
        For a name that is not a day.
    """
    text = _fold(text)
    if not text:
        return ALL_DAYS
    days: set[int] = set()
    for part in re.split(r"[,;/ ]+", text):
        if not part:
            continue
        ends = [e.strip().rstrip(".") for e in part.split("-")]
        if len(ends) > 2 or any(e not in DAY_NAMES for e in ends):
            raise ValueError(part)
        first, last = DAY_NAMES[ends[0]], DAY_NAMES[ends[-1]]
        span = (last - first) % 7
        days.update((first + k) % 7 for k in range(span + 1))
    return frozenset(days)


def parse_clock(text: str) -> int:
    """Seconds after midnight of ``HH:MM`` (or ``HH:MM:SS``, ``HH.MM``).

    Parameters
    ----------
    text : str

    Returns
    -------
    int

    Raises
    ------
    ValueError
    """
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?", text.strip())
    if not match:
        raise ValueError(text)
    h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
    if h > 24 or m > 59 or s > 59 or (h == 24 and (m or s)):
        raise ValueError(text)
    return h * 3600 + m * 60 + s


def clock(seconds: float) -> str:
    """``HH:MM`` of seconds after midnight.

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str
    """
    minutes = int(round(seconds / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fold(text: str) -> str:
    table = str.maketrans("ăâîșşțţáéíóöőúüű", "aaisstta eiooouuu".replace(" ", ""))
    return text.strip().lower().translate(table)


def _rows(source: str | Path | bytes, name: str | None, point: tuple[str, str]):  # noqa: ANN202
    """(file name, [(row number, {column: text})]) of a CSV or GeoJSON file."""
    if isinstance(source, bytes):
        data, name = source, name or "upload"
    else:
        data, name = Path(source).read_bytes(), name or Path(source).name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MobileInputError(
            name, [Problem(name, None, None, "mobile.problem.encoding")]
        ) from None
    if text.lstrip().startswith("{"):
        return name, _geojson_rows(name, text, point)
    return name, _csv_rows(text)


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    # The header decides the separator (a spreadsheet saves ";" in Romanian locales); the
    # csv sniffer is fooled by quoted "Mon,Wed" cells.
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect, delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    rows = []
    for number, values in enumerate(reader, start=2):  # the header is the spreadsheet's row 1
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(header, (v.strip() for v in values), strict=False))
        if len(values) > len(header):
            # An unquoted "Mon,Wed" spills into cells with no column: say so, never guess.
            row[_EXTRA] = ",".join(values[len(header) :])
        rows.append((number, row))
    return rows


def _geojson_rows(name: str, text: str, point: tuple[str, str]) -> list[tuple[int, dict]]:
    try:
        features = json.loads(text).get("features") or []
    except (ValueError, AttributeError):
        raise MobileInputError(
            name, [Problem(name, None, None, "mobile.problem.geojson")]
        ) from None
    rows = []
    for number, feature in enumerate(features, start=1):
        props = {
            k.lower(): "" if v is None else str(v)
            for k, v in (feature.get("properties") or {}).items()
        }
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "Point" and len(geometry.get("coordinates") or []) >= 2:
            lon, lat = geometry["coordinates"][:2]
            props.setdefault(point[0], str(lat))
            props.setdefault(point[1], str(lon))
        rows.append((number, props))
    return rows


class _Checker:
    """Collects problems while turning rows into stops or vehicles."""

    def __init__(self, name: str, community: Community | None) -> None:
        self.name = name
        self.community = community
        self.problems: list[Problem] = []

    def add(self, row: int | None, column: str | None, key: str, **params: object) -> None:
        self.problems.append(Problem(self.name, row, column, key, dict(params)))

    def raise_if_any(self) -> None:
        if self.problems:
            raise MobileInputError(self.name, self.problems)

    def extra(self, row_no: int, row: dict[str, str]) -> None:
        if row.get(_EXTRA):
            self.add(row_no, None, "mobile.problem.extra_cells", value=row[_EXTRA])

    def stop(self, row_no: int, row: dict[str, str]) -> Stop | None:
        before = len(self.problems)
        self.extra(row_no, row)
        stop_id = self._required(row_no, row, "stop_id")
        kind = self._required(row_no, row, "kind").lower()
        if kind and kind not in KINDS:
            self.add(row_no, "kind", "mobile.problem.kind", value=kind, allowed=", ".join(KINDS))
        lat, lon = self._point(row_no, row, "lat", "lon")
        start = self._clock(row_no, row, "window_start", 0)
        end = self._clock(row_no, row, "window_end", DAY_SECONDS)
        if start is not None and end is not None and end <= start:
            self.add(
                row_no,
                "window_end",
                "mobile.problem.window_order",
                start=clock(start),
                end=clock(end),
            )
        service = self._number(row_no, row, "service_min", 0.0)
        passengers = self._number(row_no, row, "passengers", 0.0, integer=True)
        deliver_to = row.get("deliver_to", "").strip() or None
        if kind in CARRYING and not deliver_to:
            self.add(row_no, "deliver_to", "mobile.problem.deliver_missing", kind=kind)
        if kind in CARRYING and passengers is not None and passengers < 1:
            self.add(row_no, "passengers", "mobile.problem.no_passengers", kind=kind)
        if kind in DESTINATIONS and (deliver_to or (passengers or 0) > 0):
            self.add(row_no, "deliver_to", "mobile.problem.not_carrying", kind=kind)
        try:
            days = parse_days(row.get("days", ""))
        except ValueError as exc:
            days = None
            self.add(row_no, "days", "mobile.problem.days", value=str(exc))
        if len(self.problems) > before:
            return None
        return Stop(
            stop_id,
            kind,
            lat,
            lon,
            start,
            end,
            int(round(service * 60)),
            int(passengers),
            deliver_to,
            days,
            row_no,
        )

    def links(self, stops: list[Stop]) -> None:
        """Unique ids; every ``deliver_to`` names a school or service stop on the same days."""
        by_id: dict[str, Stop] = {}
        for stop in stops:
            if stop.stop_id in by_id:
                self.add(
                    stop.row,
                    "stop_id",
                    "mobile.problem.duplicate",
                    value=stop.stop_id,
                    first=by_id[stop.stop_id].row,
                )
            by_id.setdefault(stop.stop_id, stop)
        for stop in stops:
            if not stop.deliver_to:
                continue
            target = by_id.get(stop.deliver_to)
            if target is None:
                self.add(
                    stop.row, "deliver_to", "mobile.problem.deliver_unknown", value=stop.deliver_to
                )
            elif target.kind not in DESTINATIONS:
                self.add(
                    stop.row,
                    "deliver_to",
                    "mobile.problem.deliver_kind",
                    value=stop.deliver_to,
                    kind=target.kind,
                )
            elif not stop.days <= target.days:
                self.add(stop.row, "days", "mobile.problem.deliver_days", value=stop.deliver_to)

    def vehicle(self, row_no: int, row: dict[str, str]) -> Vehicle | None:
        before = len(self.problems)
        self.extra(row_no, row)
        vehicle_id = self._required(row_no, row, "vehicle_id")
        seats = self._number(row_no, row, "seats", None, integer=True)
        if seats is not None and seats < 1:
            self.add(row_no, "seats", "mobile.problem.seats", value=row.get("seats"))
        start = self._clock(row_no, row, "shift_start", None)
        end = self._clock(row_no, row, "shift_end", None)
        if start is not None and end is not None and end <= start:
            self.add(
                row_no,
                "shift_end",
                "mobile.problem.window_order",
                start=clock(start),
                end=clock(end),
            )
        lat, lon = self._point(row_no, row, "depot_lat", "depot_lon")
        if len(self.problems) > before:
            return None
        return Vehicle(vehicle_id, int(seats), start, end, lat, lon, row_no)

    def _required(self, row_no: int, row: dict[str, str], column: str) -> str:
        value = row.get(column, "").strip()
        if not value:
            self.add(row_no, column, "mobile.problem.missing")
        return value

    def _clock(
        self, row_no: int, row: dict[str, str], column: str, default: int | None
    ) -> int | None:
        value = row.get(column, "").strip()
        if not value:
            if default is None:
                self.add(row_no, column, "mobile.problem.missing")
            return default
        try:
            return parse_clock(value)
        except ValueError:
            self.add(row_no, column, "mobile.problem.clock", value=value)
            return None

    def _number(self, row_no, row, column, default, *, integer=False):  # noqa: ANN001, ANN202
        value = row.get(column, "").strip().replace(",", ".")
        if not value:
            if default is None:
                self.add(row_no, column, "mobile.problem.missing")
            return default
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or number < 0 or (integer and number != int(number)):
            key = "mobile.problem.integer" if integer else "mobile.problem.number"
            self.add(row_no, column, key, value=value)
            return None
        return int(number) if integer else number

    def _point(self, row_no: int, row: dict[str, str], lat_col: str, lon_col: str):  # noqa: ANN202
        coords = []
        for column, limit in ((lat_col, 90.0), (lon_col, 180.0)):
            value = row.get(column, "").strip().replace(",", ".")
            try:
                number = float(value)
                if not -limit <= number <= limit:
                    raise ValueError(value)
                coords.append(number)
            except ValueError:
                key = "mobile.problem.missing" if not value else "mobile.problem.coordinate"
                self.add(row_no, column, key, value=value)
                return None, None
        if self.community is not None:
            import shapely

            far = self.community.distance_m(shapely.Point(coords[1], coords[0]))
            if far > MAX_DISTANCE_M:
                self.add(
                    row_no,
                    lat_col,
                    "mobile.problem.far",
                    km=round(far / 1000, 1),
                    community=self.community.name,
                )
                return None, None
        return coords[0], coords[1]
