"""The criteria of the housing-site evaluation, as data (``data/sites/criteria.json``).

Like the hazard taxonomy, a criterion is a row of data, not code: its ``code`` (the column name
in every output), ``direction`` (``benefit``: more is better; ``cost``: less is better), ``unit``,
``normalisation`` for the weighted sum (``minmax`` or ``ratio``; TOPSIS always uses vector
normalisation), a default ``weight``, the ``source`` of its value, and labels in ro, hu and en.
The file also holds the hard-exclusion rules and the parameters of the computations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from geo.errors import HartaError
from geo.i18n import DEFAULT_LANGUAGE
from geo.settings import DATA_SOURCES_DIR

#: The bundled criteria file.
CRITERIA_FILE = DATA_SOURCES_DIR / "sites" / "criteria.json"
DIRECTIONS = ("benefit", "cost")
LANGS = ("ro", "hu", "en")


class CriteriaError(HartaError, ValueError):
    """A criteria file or weights file that cannot be used."""


@dataclass(frozen=True)
class Criterion:
    """One criterion (see the module docstring).

    Attributes
    ----------
    code, direction, unit, normalisation, source : str
    weight : float
        Default weight (before rescaling).
    labels : dict
        ``{"ro": ..., "hu": ..., "en": ...}``.
    """

    code: str
    direction: str
    unit: str
    normalisation: str
    weight: float
    source: str
    labels: dict

    @property
    def benefit(self) -> bool:
        """True when more is better."""
        return self.direction == "benefit"

    def label(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The criterion's name in ``lang`` (English when missing).

        Parameters
        ----------
        lang : str

        Returns
        -------
        str
        """
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True)
class CriteriaSet:
    """Every criterion, the exclusion rules and the computation parameters of one file.

    Attributes
    ----------
    criteria : tuple of Criterion
        Computed criteria, then the site attributes (``source == "site"``).
    exclusions : dict
    parameters : dict
    """

    criteria: tuple[Criterion, ...]
    exclusions: dict
    parameters: dict

    @property
    def codes(self) -> list[str]:
        """Every criterion code, in file order."""
        return [c.code for c in self.criteria]

    def get(self, code: str) -> Criterion:
        """The criterion of ``code``.

        Parameters
        ----------
        code : str

        Returns
        -------
        Criterion

        Raises
        ------
        CriteriaError
            Unknown code.
        """
        for criterion in self.criteria:
            if criterion.code == code:
                return criterion
        raise CriteriaError("sites.error.unknown_criterion", code=code)

    def default_weights(self) -> dict[str, float]:
        """The file's default weight of every criterion.

        Returns
        -------
        dict
        """
        return {c.code: c.weight for c in self.criteria}


def _criterion(row: dict[str, Any], path: Path) -> Criterion:
    try:
        criterion = Criterion(
            code=str(row["code"]),
            direction=str(row["direction"]),
            unit=str(row["unit"]),
            normalisation=str(row.get("normalisation", "minmax")),
            weight=float(row.get("weight", 0.0)),
            source=str(row.get("source", "")),
            labels=dict(row["labels"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CriteriaError("sites.error.criteria_file", file=path.name, detail=str(exc)) from exc
    if criterion.direction not in DIRECTIONS:
        raise CriteriaError(
            "sites.error.criteria_file", file=path.name, detail=f"direction {criterion.direction}"
        )
    missing = [lang for lang in LANGS if not criterion.labels.get(lang)]
    if missing:
        raise CriteriaError(
            "sites.error.criteria_file", file=path.name, detail=f"{criterion.code}: no {missing}"
        )
    return criterion


def load_criteria(path: str | Path | None = None) -> CriteriaSet:
    """Read a criteria file (default: the bundled ``data/sites/criteria.json``).

    Parameters
    ----------
    path : str or Path, optional

    Returns
    -------
    CriteriaSet

    Raises
    ------
    CriteriaError
        Unreadable file, unknown direction or a missing label.
    """
    return _load(str(Path(path) if path else CRITERIA_FILE))


@cache
def _load(path: str) -> CriteriaSet:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CriteriaError("sites.error.criteria_file", file=file.name, detail=str(exc)) from exc
    rows = list(data.get("criteria", [])) + list(data.get("site_attributes", []))
    criteria = tuple(_criterion(row, file) for row in rows)
    if len({c.code for c in criteria}) != len(criteria):
        raise CriteriaError("sites.error.criteria_file", file=file.name, detail="duplicate code")
    return CriteriaSet(criteria, dict(data.get("exclusions", {})), dict(data.get("parameters", {})))


def read_weights(path: str | Path, criteria: CriteriaSet) -> dict[str, Any]:
    """A weights file: ``{"weights": {code: w}}`` or ``{"ahp": {"criteria", "matrix"}}``.

    Parameters
    ----------
    path : str or Path
    criteria : CriteriaSet
        To check the codes.

    Returns
    -------
    dict
        ``{"weights": {code: w}}`` (from AHP: plus ``"ahp": {"lambda_max", "cr"}``).

    Raises
    ------
    CriteriaError
        Unreadable file or unknown code.
    geo.planning.sites.mcda.InconsistentJudgements
        AHP judgements with CR > 0.1.
    """
    from geo.planning.sites.mcda import ahp_weights

    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CriteriaError("sites.error.weights_file", file=file.name, detail=str(exc)) from exc
    if "ahp" in data:
        codes = list(data["ahp"]["criteria"])
        w, lam, cr = ahp_weights(data["ahp"]["matrix"])
        weights = dict(zip(codes, (float(x) for x in w), strict=True))
        extra = {"ahp": {"lambda_max": lam, "cr": cr}}
    else:
        weights = {str(k): float(v) for k, v in dict(data.get("weights", data)).items()}
        extra = {}
    for code in weights:
        criteria.get(code)
    return {"weights": weights, **extra}
