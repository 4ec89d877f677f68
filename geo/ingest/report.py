"""What an import found: problems per row, counts, and a rendering in ro, hu or en.

Every message is an i18n key (``ingest.*``) plus parameters, never a finished sentence, so the
same report reads in Romanian at the workshop and in English in the issue tracker.  The report
is also stored as JSON in ``imports.report``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from geo.errors import HartaError
from geo.i18n import t

Level = Literal["error", "warning", "info"]

#: How many problems :meth:`ImportReport.render` lists before summarising the rest.
RENDER_LIMIT = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth knowing) about one row, one column or the whole file.

    Attributes
    ----------
    file : str
        File name as given (no directories, which may carry personal paths).
    row : int or None
        1-based row (CSV) or feature (other formats) number in the file; ``None`` for the file.
    field : str or None
        Layer field or source column concerned.
    key : str
        i18n key of the reason, e.g. ``"ingest.problem.outside_area"``.
    params : dict
        Values for the message placeholders.
    level : {"error", "warning", "info"}
        ``error`` rows are not written; warnings and notes are written and reported.
    """

    file: str
    row: int | None
    field: str | None
    key: str
    params: dict = field(default_factory=dict)
    level: Level = "error"

    def render(self, lang: str = "en") -> str:
        """The problem as one line in ``lang``: where, then why.

        Parameters
        ----------
        lang : str
            Language code (``"ro"``, ``"hu"`` or ``"en"``).

        Returns
        -------
        str
            ``"<level> <where>: <reason>"``.
        """
        reason = self.reason(lang)
        if self.row is None:
            where = t("ingest.where.file", lang, file=self.file)
        elif self.field:
            where = t(
                "ingest.where.row_field", lang, file=self.file, row=self.row, field=self.field
            )
        else:
            where = t("ingest.where.row", lang, file=self.file, row=self.row)
        return f"{t(f'ingest.level.{self.level}', lang)} {where}: {reason}"

    def reason(self, lang: str = "en") -> str:
        """Why, in ``lang``, without saying where (codes shown with their labels in ``lang``).

        Parameters
        ----------
        lang : str
            Language code (``"ro"``, ``"hu"`` or ``"en"``).

        Returns
        -------
        str
            The translated reason.
        """
        return t(self.key, lang, **localised(self.params, lang))


def localised(params: dict, lang: str) -> dict:
    """Message parameters with taxonomy codes turned into labels of ``lang``.

    A problem about a value stores the taxonomy ``kind`` and codes (``allowed``, ``suggest``)
    so the report stays language-neutral in ``imports.report``; the reader sees "Conflict sau
    ceartă (conflict_dispute)" in Romanian and "Konfliktus vagy veszekedés (…)" in Hungarian.

    Parameters
    ----------
    params : dict
        A problem's message parameters.
    lang : str
        Language code (``"ro"``, ``"hu"`` or ``"en"``).

    Returns
    -------
    dict
        ``params`` unchanged when it has no ``kind``; else a copy with ``allowed`` and
        ``suggest`` as text.
    """
    kind = params.get("kind")
    if not kind:
        return params
    from geo import taxonomy

    def named(code: str) -> str:
        try:
            return f"{taxonomy.label(kind, code, lang)} ({code})"
        except taxonomy.UnknownCodeError:
            return code

    out = dict(params)
    if isinstance(params.get("allowed"), list):
        out["allowed"] = ", ".join(named(c) for c in params["allowed"])
    suggestions = params.get("suggest") or []
    out["suggest"] = (
        t("ingest.problem.did_you_mean", lang, values=" / ".join(named(c) for c in suggestions))
        if suggestions
        else ""
    )
    return out


@dataclass
class ImportReport:
    """Outcome of one import (or of its validation when it was rejected).

    Attributes
    ----------
    layer, file, file_format, community : str
        What was imported where.
    problems : list of Problem
        Errors, warnings and notes, in file order.
    rows_read : int
        Rows or features found in the file.
    rows_valid : int
        Rows without errors.
    rows_written : int
        Rows inserted.
    rows_skipped_duplicate : int
        Valid rows already in the database (or repeated in the file), not inserted again.
    import_id : int or None
        ``imports.id`` of the run, once written.
    dry_run : bool
        Validated only, nothing written.
    seconds : float
        Wall time of the import.
    outcome : str
        ``written``, ``rejected`` or ``dry_run`` once decided.
    """

    layer: str
    file: str
    file_format: str = ""
    community: str = ""
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0
    rows_valid: int = 0
    rows_written: int = 0
    rows_skipped_duplicate: int = 0
    import_id: int | None = None
    dry_run: bool = False
    seconds: float = 0.0
    outcome: str = ""

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop a row (or the file) from being written."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems worth a look that did not stop the row."""
        return [p for p in self.problems if p.level != "error"]

    @property
    def rows_invalid(self) -> int:
        """Rows with at least one error."""
        return len({p.row for p in self.errors if p.row is not None})

    @property
    def file_errors(self) -> list[Problem]:
        """Errors about the whole file (not one row): these stop every row."""
        return [p for p in self.errors if p.row is None]

    @property
    def ok(self) -> bool:
        """No errors at all."""
        return not self.errors

    def add(self, problem: Problem) -> None:
        """Append ``problem``.

        Parameters
        ----------
        problem : Problem
            A file-level or row-level problem.
        """
        self.problems.append(problem)

    def render(self, lang: str = "en", limit: int = RENDER_LIMIT) -> str:
        """The report as text in ``lang``: a summary line, then the problems.

        Parameters
        ----------
        lang : str
            ``"ro"``, ``"hu"`` or ``"en"``.
        limit : int
            Problems listed one by one; the rest are counted by reason.

        Returns
        -------
        str
            Newline-separated lines.
        """
        lines = [
            t(
                "ingest.report.summary",
                lang,
                file=self.file,
                layer=self.layer,
                read=self.rows_read,
                valid=self.rows_valid,
                written=self.rows_written,
                duplicates=self.rows_skipped_duplicate,
                invalid=self.rows_invalid,
            )
        ]
        if self.dry_run:
            lines.append(t("ingest.report.dry_run", lang))
        groups = group_problems(self.problems, lang)
        lines.extend(g.render(lang) for g in groups[:limit])
        rest = groups[limit:]
        if rest:
            lines.append(t("ingest.report.more", lang, count=sum(len(g.rows) or 1 for g in rest)))
        return "\n".join(lines)

    def to_dict(self, max_problems: int = 1000) -> dict:
        """JSON-ready summary stored in ``imports.report`` (problems capped).

        Parameters
        ----------
        max_problems : int
            Most problems kept; ``problems_total`` still counts all.

        Returns
        -------
        dict
            Counts, file facts and problems, JSON-serialisable.
        """
        return {
            "outcome": self.outcome,
            "layer": self.layer,
            "file": self.file,
            "file_format": self.file_format,
            "community": self.community,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_written": self.rows_written,
            "rows_skipped_duplicate": self.rows_skipped_duplicate,
            "rows_invalid": self.rows_invalid,
            "problems": [asdict(p) for p in self.problems[:max_problems]],
            "problems_total": len(self.problems),
        }


@dataclass
class ProblemGroup:
    """Problems that say the same thing about the same field in several rows."""

    level: str
    file: str
    field: str | None
    reason: str
    rows: list[int]

    def render(self, lang: str) -> str:
        """One line: level, where (a row, or how many rows and which), why.

        Parameters
        ----------
        lang : str
            Language code (``"ro"``, ``"hu"`` or ``"en"``).

        Returns
        -------
        str
            ``"<level> <where>: <reason>"``.
        """
        if not self.rows:
            where = t("ingest.where.file", lang, file=self.file)
        elif len(self.rows) == 1:
            key = "ingest.where.row_field" if self.field else "ingest.where.row"
            where = t(key, lang, file=self.file, row=self.rows[0], field=self.field)
        else:
            key = "ingest.where.rows_field" if self.field else "ingest.where.rows"
            where = t(
                key,
                lang,
                file=self.file,
                count=len(self.rows),
                rows=row_ranges(self.rows),
                field=self.field,
            )
        return f"{t(f'ingest.level.{self.level}', lang)} {where}: {self.reason}"


def group_problems(problems: list[Problem], lang: str) -> list[ProblemGroup]:
    """Problems with the same level, field and reason (in ``lang``) as one group, errors
    first, file problems before row problems, then in row order.

    Parameters
    ----------
    problems : list of Problem
    lang : str

    Returns
    -------
    list of ProblemGroup
    """
    groups: dict[tuple, ProblemGroup] = {}
    ordered = sorted(problems, key=lambda p: (p.level != "error", p.row is not None, p.row or 0))
    for problem in ordered:
        reason = problem.reason(lang)
        if problem.row is None:
            groups[(id(problem),)] = ProblemGroup(
                problem.level, problem.file, problem.field, reason, []
            )
            continue
        key = (problem.level, problem.field, reason)
        group = groups.setdefault(
            key, ProblemGroup(problem.level, problem.file, problem.field, reason, [])
        )
        group.rows.append(problem.row)
    return list(groups.values())


def row_ranges(rows: list[int], limit: int = 8) -> str:
    """``[2, 3, 4, 7]`` as ``"2–4, 7"``; long lists end in ``…``.

    Parameters
    ----------
    rows : list of int
        Row numbers, in any order, duplicates allowed; not empty.
    limit : int
        Most ranges shown.

    Returns
    -------
    str
        Comma-separated ranges.
    """
    ranges: list[str] = []
    numbers = sorted(set(rows))
    start = prev = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == prev + 1:
            prev = number
            continue
        ranges.append(str(start) if start == prev else f"{start}–{prev}")
        if number is not None:
            start = prev = number
    return ", ".join(ranges[:limit]) + (", …" if len(ranges) > limit else "")


class ImportFailed(HartaError):
    """The file could not be read, or the import could not start (unknown community …).

    Parameters
    ----------
    key : str
        i18n key of the reason.
    **params
        Message parameters; ``file`` names the file.
    """


class ImportRejected(HartaError):
    """Validation found errors and ``skip_invalid`` was not set: nothing was written.

    Parameters
    ----------
    report : ImportReport
        Every problem found.

    Attributes
    ----------
    report : ImportReport
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(
            "ingest.error.rejected",
            file=report.file,
            errors=len(report.errors),
            rows=report.rows_invalid,
        )
