"""The housing-site run: build from data, then ``.solve()``; results as GeoDataFrames.

:meth:`SiteRanking.from_data` reads the candidate sites, computes every criterion
(:mod:`~geo.planning.sites.compute`) and the hard exclusions; :meth:`SiteRanking.solve` scores
the eligible sites with the chosen method and weights, ranks them, runs the Monte Carlo weight
perturbation, chooses the best dispersed set of ``k`` and, given a second weight set (the
community's), puts both rankings side by side.

**Which criteria score.**  Those with a weight above 0 and a value for at least one eligible
site; the weights are rescaled to sum 1 over them (``SiteRankingResult.used`` records them as
used).  A missing value of one site takes the column's worst value among the eligible sites, so a
site is never rewarded for missing data (``missing`` names the criteria it lacked).
Normalisation is over the eligible sites only: excluded sites get no normalised value, no score
and rank 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.planning.sites import mcda
from geo.planning.sites import robustness as robust
from geo.planning.sites.compute import CriteriaValues, compute_criteria, metric_points
from geo.planning.sites.criteria import CriteriaSet, load_criteria
from geo.planning.sites.exclusions import Exclusion, exclusions, reasons
from geo.planning.sites.inputs import SiteContext, bundled_context, normalise_sites
from geo.planning.sites.selection import Selection, best_set
from geo.results import Result, not_run

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from geo.communities.model import Community

METHODS = ("topsis", "wsm")
KIND = "housing_sites"


@dataclass(kw_only=True)
class SiteRankingResult(Result):
    """A solved ranking.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per site: the site columns, each criterion's raw value (column = code) and
        normalised value (``<code>_norm``), ``excluded``, ``exclusion_reason`` (English),
        ``missing``, ``score``, ``rank`` (0 = excluded), ``p_first``, ``p_top3``, ``chosen``.
    used : dict
        Code -> ``{"weight", "direction", "normalisation", "unit"}`` of the scoring criteria.
    dropped : dict
        Code -> i18n key of why it did not score (no data, weight 0).
    exclusions : list of list of Exclusion
    selection : Selection or None
    probabilities : numpy.ndarray
        ``P[i, r]`` over the eligible sites (in table order).
    comparison : DataFrame or None
        Planners' (A) and community's (B) rankings side by side.
    weights_b : dict or None
    """

    sites: gpd.GeoDataFrame
    used: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    exclusions: list = field(default_factory=list)
    selection: Selection | None = None
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    comparison: pd.DataFrame | None = None
    weights_b: dict | None = None
    details: dict = field(default_factory=dict)

    def ranked(self) -> gpd.GeoDataFrame:
        """Eligible sites by rank, then excluded ones.

        Returns
        -------
        GeoDataFrame
        """
        order = self.sites.assign(_r=self.sites["rank"].replace(0, 10**9))
        return order.sort_values(["_r", "site_id"]).drop(columns="_r")


def scorer(method: str):  # noqa: ANN201
    """The scoring function of ``method`` (``scores, normalised = f(x, benefit, w, rules)``).

    Parameters
    ----------
    method : {"topsis", "wsm"}

    Returns
    -------
    callable
    """
    if method == "topsis":
        return lambda x, b, w, rules=None: mcda.topsis(x, b, w)
    if method == "wsm":
        return lambda x, b, w, rules="minmax": mcda.weighted_sum(x, b, w, rules)
    raise mcda.McdaError("sites.error.method", method=method, methods=", ".join(METHODS))


@dataclass
class SiteRanking:
    """A housing-site evaluation ready to solve (see the module docstring).

    Attributes
    ----------
    community : Community
    sites : GeoDataFrame
    values : CriteriaValues
    exclusions : list of list of Exclusion
    criteria : CriteriaSet
    weights : dict
        Code -> weight (planners' or the only set).
    method : str
    weights_b : dict, optional
        The community's weights, compared side by side.
    k : int
        How many sites to choose together.
    min_distance_m : float
    draws : int
    seed : int
    """

    community: Community
    sites: gpd.GeoDataFrame
    values: CriteriaValues
    exclusions: list[list[Exclusion]]
    criteria: CriteriaSet
    weights: dict[str, float]
    method: str = "topsis"
    weights_b: dict[str, float] | None = None
    k: int = 3
    min_distance_m: float = 500.0
    draws: int = robust.DRAWS
    seed: int = 0
    context_params: dict = field(default_factory=dict)

    @classmethod
    def from_data(
        cls,
        community: Community,
        sites: gpd.GeoDataFrame,
        *,
        engine: Engine | None = None,
        context: SiteContext | None = None,
        criteria: CriteriaSet | None = None,
        weights: dict[str, float] | None = None,
        **options: Any,
    ) -> SiteRanking:
        """Compute the criteria and exclusions of ``sites``.

        Parameters
        ----------
        community : Community
        sites : GeoDataFrame
            Candidate sites, EPSG:4326 (see :func:`~geo.planning.sites.inputs.read_sites`).
        engine : Engine, optional
            Reads risk zones and settlements (when ``context`` is not given).
        context : SiteContext, optional
            Default :func:`~geo.planning.sites.inputs.bundled_context`.
        criteria : CriteriaSet, optional
            Default: the bundled criteria file.
        weights : dict, optional
            Default: the criteria file's weights.
        **options
            ``method``, ``weights_b``, ``k``, ``min_distance_m``, ``draws``, ``seed``.

        Returns
        -------
        SiteRanking
        """
        criteria = criteria or load_criteria()
        context = context or bundled_context(community, engine)
        sites = normalise_sites(sites, community)
        values = compute_criteria(sites, context, criteria)
        found = exclusions(sites, context, values, criteria.exclusions)
        return cls(
            community=community,
            sites=sites,
            values=values,
            exclusions=found,
            criteria=criteria,
            weights=dict(weights or criteria.default_weights()),
            context_params={
                "hazards": context.hazards is not None,
                "rasters": [r.code for r in context.rasters],
                "gtfs": context.gtfs.name if context.gtfs else None,
            },
            **options,
        )

    def active(self, weights: dict[str, float], eligible: np.ndarray) -> tuple[list[str], dict]:
        """Criteria that score under ``weights``, and why each other one does not.

        Parameters
        ----------
        weights : dict
        eligible : array of bool

        Returns
        -------
        codes : list of str
        dropped : dict
            Code -> i18n key.
        """
        codes, dropped = [], {}
        table = self.values.values[eligible]
        for code in self.criteria.codes:
            if float(weights.get(code, 0.0)) <= 0:
                dropped[code] = "sites.note.zero_weight"
            elif table[code].isna().all():
                dropped[code] = self.values.notes.get(code, "sites.note.no_value")
            else:
                codes.append(code)
        return codes, dropped

    def _matrix(self, codes: list[str], eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        table = self.values.values.loc[eligible, codes].astype(float)
        benefit = np.array([self.criteria.get(c).benefit for c in codes])
        missing = table.isna().to_numpy()
        worst = np.where(benefit, table.min(skipna=True), table.max(skipna=True))
        x = table.to_numpy().copy()
        x[missing] = np.broadcast_to(worst, x.shape)[missing]
        return x, benefit

    def _score(self, weights: dict[str, float], codes: list[str], eligible: np.ndarray):  # noqa: ANN202
        x, benefit = self._matrix(codes, eligible)
        w = mcda.check_weights([weights[c] for c in codes], len(codes))
        rules = [self.criteria.get(c).normalisation for c in codes]
        scores, normalised = scorer(self.method)(x, benefit, w, rules)
        return x, benefit, w, scores, normalised

    def solve(self) -> SiteRankingResult:
        """Score, rank, perturb, choose and compare.

        Returns
        -------
        SiteRankingResult
            ``too_few`` when no site is eligible or no criterion has data.
        """
        eligible = np.array([not found for found in self.exclusions], dtype=bool)
        table = self._base_table(eligible)
        codes, dropped = self.active(self.weights, eligible)
        params = self._params()
        if not eligible.any() or not codes:
            key = "sites.note.no_eligible" if not eligible.any() else "sites.note.no_criteria"
            return SiteRankingResult(
                sites=table,
                dropped=dropped,
                exclusions=self.exclusions,
                params=params,
                **not_run(key),
            )
        x, benefit, w, scores, normalised = self._score(self.weights, codes, eligible)
        for j, code in enumerate(codes):
            table.loc[eligible, f"{code}_norm"] = normalised[:, j]
        table.loc[eligible, "score"] = scores
        table["rank"] = mcda.ranks(table["score"].fillna(-np.inf).to_numpy(), eligible)
        score_fn = scorer(self.method)
        rules = [self.criteria.get(c).normalisation for c in codes]
        probs = robust.rank_probabilities(
            x,
            benefit,
            w,
            lambda a, b, ww: score_fn(a, b, ww, rules)[0],
            draws=self.draws,
            seed=self.seed,
        )
        table.loc[eligible, "p_first"] = probs[:, 0]
        table.loc[eligible, "p_top3"] = probs[:, :3].sum(axis=1)
        selection = best_set(
            table["score"].fillna(0).to_numpy(),
            metric_points(self.sites, self.community),
            self.k,
            self.min_distance_m,
            eligible,
        )
        table["chosen"] = [i in selection.chosen for i in range(len(table))]
        used = {
            c: {
                "weight": float(wc),
                "direction": self.criteria.get(c).direction,
                "normalisation": self.criteria.get(c).normalisation
                if self.method == "wsm"
                else "vector",
                "unit": self.criteria.get(c).unit,
            }
            for c, wc in zip(codes, w, strict=True)
        }
        return SiteRankingResult(
            sites=table,
            used=used,
            dropped=dropped,
            exclusions=self.exclusions,
            selection=selection,
            probabilities=probs,
            params=params,
            comparison=self._compare(eligible, table),
            weights_b=self.weights_b,
            details=self.values.details,
        )

    def _compare(self, eligible: np.ndarray, table: gpd.GeoDataFrame) -> pd.DataFrame | None:
        if not self.weights_b:
            return None
        codes_b, _ = self.active(self.weights_b, eligible)
        scores_b = np.full(len(table), np.nan)
        if codes_b:
            scores_b[eligible] = self._score(self.weights_b, codes_b, eligible)[3]
        return robust.compare(
            list(table["site_id"]), table["score"].to_numpy(float), scores_b, eligible
        )

    def _base_table(self, eligible: np.ndarray) -> gpd.GeoDataFrame:
        table = self.sites.copy()
        raw = self.values.values.reset_index(drop=True)
        for code in self.criteria.codes:
            table[code] = raw[code].to_numpy()
        for code in self.criteria.codes:
            table[f"{code}_norm"] = np.nan
        table["excluded"] = ~eligible
        table["exclusion_reason"] = reasons(self.exclusions, "en")
        table["missing"] = [
            ",".join(c for c in self.criteria.codes if pd.isna(raw.loc[i, c]))
            for i in range(len(table))
        ]
        for column in ("score", "p_first", "p_top3"):
            table[column] = np.nan
        table["rank"] = 0
        table["chosen"] = False
        return table

    def _params(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "weights": self.weights,
            "weights_b": self.weights_b,
            "k": self.k,
            "min_distance_m": self.min_distance_m,
            "draws": self.draws,
            "seed": self.seed,
            "crs": self.community.crs.to_string(),
            "exclusion_rules": self.criteria.exclusions,
            "parameters": self.criteria.parameters,
            **self.context_params,
        }


def csv_columns(result: SiteRankingResult, criteria: CriteriaSet) -> list[str]:
    """The columns of ``ranked.csv``, in order.

    Parameters
    ----------
    result : SiteRankingResult
    criteria : CriteriaSet

    Returns
    -------
    list of str
    """
    return [
        "site_id",
        "name",
        "area_m2",
        "ownership",
        "cost_eur",
        "capacity",
        "is_demo",
        *criteria.codes,
        *(f"{c}_norm" for c in criteria.codes),
        "excluded",
        "exclusion_reason",
        "missing",
        "score",
        "rank",
        "p_first",
        "p_top3",
        "chosen",
    ]


def write_outputs(
    result: SiteRankingResult, criteria: CriteriaSet, csv_path: str | Path
) -> dict[str, Path]:
    """``ranked.csv``, ``ranked.json`` (criteria as used) and ``sites.geojson`` beside it.

    Parameters
    ----------
    result : SiteRankingResult
    criteria : CriteriaSet
    csv_path : str or Path

    Returns
    -------
    dict
        ``{"csv", "json", "geojson"}`` -> path.
    """
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    table = result.ranked()
    pd.DataFrame(table[csv_columns(result, criteria)]).to_csv(csv_path, index=False)
    json_path = csv_path.with_suffix(".json")
    document = {
        "method": result.params.get("method"),
        "criteria": result.used,
        "not_scored": result.dropped,
        "eligible_sites": int((~table["excluded"]).sum()),
        "k": result.params.get("k"),
        "min_distance_m": result.params.get("min_distance_m"),
        "chosen": [
            str(table["site_id"].iloc[i]) for i in range(len(table)) if table["chosen"].iloc[i]
        ],
        "monte_carlo": {
            "draws": result.params.get("draws"),
            "seed": result.params.get("seed"),
            "concentration": robust.CONCENTRATION,
        },
        "message": result.message("en"),
    }
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    geojson_path = csv_path.with_name(csv_path.stem + "_sites.geojson")
    table.to_file(geojson_path, driver="GeoJSON")
    return {"csv": csv_path, "json": json_path, "geojson": geojson_path}


def store_run(
    engine: Engine, community: Community, ranking: SiteRanking, result: SiteRankingResult
) -> int:
    """Store the run in ``analysis_runs`` (kind ``housing_sites``) with its exports.

    The run reads no incident, so its scope is ``aggregated``.

    Parameters
    ----------
    engine : Engine
    community : Community
    ranking : SiteRanking
    result : SiteRankingResult

    Returns
    -------
    int
        The run id.
    """
    from geo.runs import finish_run, run_dir, start_run

    run_id = start_run(engine, KIND, community, scope="aggregated", params=result.params)
    folder = run_dir(run_id)
    outputs = write_outputs(result, ranking.criteria, folder / "ranked.csv")
    counts = {
        "sites": len(result.sites),
        "eligible": int((~result.sites["excluded"]).sum()),
        "criteria_scored": len(result.used),
    }
    finish_run(engine, run_id, params=result.params, input_counts=counts, outputs=outputs)
    return run_id
