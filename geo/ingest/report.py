"""What an import found: problems per row, counts, and a rendering in ro, hu or en.

Every message is an i18n key (``ingest.*``) plus parameters, never a finished sentence, so the
same report reads in Romanian at the workshop and in English in the issue tracker.  The report
is also stored as JSON in ``imports.report``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Literal

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
        """The problem as one line in ``lang``: where, then why."""
        reason = t(self.key, lang, **self.params)
        if self.row is None:
            where = t("ingest.where.file", lang, file=self.file)
        elif self.field:
            where = t(
                "ingest.where.row_field", lang, file=self.file, row=self.row, field=self.field
            )
        else:
            where = t("ingest.where.row", lang, file=self.file, row=self.row)
        return f"{t(f'ingest.level.{self.level}', lang)} {where}: {reason}"


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
        """Append ``problem``."""
        self.problems.append(problem)

    def render(self, lang: str = "en", limit: int = RENDER_LIMIT) -> str:
        """The report as text in ``lang``: a summary line, then the problems.

        Parameters
        ----------
        lang : str
            ``"ro"``, ``"hu"`` or ``"en"``.
        limit : int
            Problems listed one by one; the rest are counted by reason.
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
        ordered = sorted(
            self.problems, key=lambda p: (p.level != "error", p.row is not None, p.row or 0)
        )
        lines.extend(p.render(lang) for p in ordered[:limit])
        rest = ordered[limit:]
        if rest:
            by_reason = Counter(t(p.key, lang, **_placeholders(p.params)) for p in rest)
            lines.append(t("ingest.report.more", lang, count=len(rest)))
            lines.extend(f"  {count} × {reason}" for reason, count in by_reason.most_common(10))
        return "\n".join(lines)

    def to_dict(self, max_problems: int = 1000) -> dict:
        """JSON-ready summary stored in ``imports.report`` (problems capped)."""
        return {
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


def _placeholders(params: dict) -> dict:
    """Parameters with row-specific values blanked, so a summary groups alike reasons."""
    return {key: "…" for key in params}


class ImportFailed(Exception):
    """The file could not be read, or the import could not start (unknown community …).

    Parameters
    ----------
    key : str
        i18n key of the reason.
    lang : str
        Language of ``str(exc)``.
    **params
        Message parameters; ``file`` names the file.
    """

    def __init__(self, key: str, lang: str = "en", /, **params: object) -> None:
        self.key = key
        self.params = params
        self.lang = lang
        super().__init__(self.render(lang))

    def render(self, lang: str = "en") -> str:
        """The reason in ``lang``."""
        return t(self.key, lang, **self.params)


class ImportRejected(Exception):
    """Validation found errors and ``skip_invalid`` was not set: nothing was written.

    Attributes
    ----------
    report : ImportReport
        Every problem found.
    """

    def __init__(self, report: ImportReport, lang: str = "en") -> None:
        self.report = report
        super().__init__(
            t(
                "ingest.error.rejected",
                lang,
                file=report.file,
                errors=len(report.errors),
                rows=report.rows_invalid,
            )
        )
