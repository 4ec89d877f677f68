"""Choosing several sites: the best set of ``k`` that keeps a minimum distance apart.

Dispersion is a rule, not a weight: no two chosen sites may lie closer than ``min_distance_m``
(straight line between their representative points, in the community's metric CRS).  Among the
sets that keep it, the one with the highest total score wins.  Solved exactly as an integer
programme (PuLP with CBC): maximise ``sum s_i x_i`` subject to ``sum x_i = k`` and
``x_i + x_j <= 1`` for every pair closer than the minimum distance.  :func:`brute_force` is the
reference it is tested against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pulp


@dataclass(frozen=True)
class Selection:
    """A chosen set of sites.

    Attributes
    ----------
    chosen : tuple of int
        Positions of the chosen sites, in input order (empty when no set keeps the rule).
    total : float
        Their total score.
    min_gap_m : float
        The smallest distance between two chosen sites (inf for one site).
    mean_nearest_m : float
        Mean distance from each chosen site to its nearest chosen neighbour (the dispersion).
    """

    chosen: tuple[int, ...]
    total: float
    min_gap_m: float
    mean_nearest_m: float

    @property
    def feasible(self) -> bool:
        """True when a set was found."""
        return bool(self.chosen)


def distances(xy: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances of ``(n, 2)`` metric points.

    Parameters
    ----------
    xy : numpy.ndarray

    Returns
    -------
    numpy.ndarray
        ``(n, n)``.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))


def _selection(chosen: list[int], scores: np.ndarray, d: np.ndarray) -> Selection:
    chosen = sorted(chosen)
    if not chosen:
        return Selection((), 0.0, np.inf, np.inf)
    sub = d[np.ix_(chosen, chosen)] + np.diag(np.full(len(chosen), np.inf))
    nearest = sub.min(axis=1)
    return Selection(
        tuple(int(i) for i in chosen),
        float(scores[chosen].sum()),
        float(nearest.min()),
        float(nearest.mean()),
    )


def best_set(
    scores: np.ndarray,
    xy: np.ndarray,
    k: int,
    min_distance_m: float,
    eligible: np.ndarray | None = None,
) -> Selection:
    """The ``k`` eligible sites with the highest total score, no two closer than the minimum.

    Parameters
    ----------
    scores : numpy.ndarray
    xy : numpy.ndarray
        ``(n, 2)`` metric points.
    k : int
    min_distance_m : float
    eligible : array of bool, optional

    Returns
    -------
    Selection
        Empty when fewer than ``k`` eligible sites can keep the distance.
    """
    scores = np.asarray(scores, dtype=float)
    n = scores.size
    eligible = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool)
    d = distances(xy)
    candidates = [i for i in range(n) if eligible[i]]
    if k <= 0 or len(candidates) < k:
        return _selection([], scores, d)
    problem = pulp.LpProblem("housing_sites", pulp.LpMaximize)
    x = {i: problem.add_variable(f"x{i}", cat="Binary") for i in candidates}
    problem += pulp.lpSum(float(scores[i]) * x[i] for i in candidates)
    problem += pulp.lpSum(x.values()) == k
    for i, j in itertools.combinations(candidates, 2):
        if d[i, j] < min_distance_m:
            problem += x[i] + x[j] <= 1
    status = problem.solve(pulp.PULP_CBC_CMD(msg=False))
    if pulp.LpStatus[status] != "Optimal":
        return _selection([], scores, d)
    return _selection([i for i in candidates if x[i].value() > 0.5], scores, d)


def brute_force(
    scores: np.ndarray,
    xy: np.ndarray,
    k: int,
    min_distance_m: float,
    eligible: np.ndarray | None = None,
) -> Selection:
    """Every ``k``-subset tried (the reference for :func:`best_set`; small inputs only).

    Parameters
    ----------
    scores, xy, k, min_distance_m, eligible
        As :func:`best_set`.

    Returns
    -------
    Selection
    """
    scores = np.asarray(scores, dtype=float)
    n = scores.size
    eligible = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool)
    d = distances(xy)
    best: list[int] = []
    best_total = -np.inf
    for combo in itertools.combinations([i for i in range(n) if eligible[i]], k):
        if all(d[i, j] >= min_distance_m for i, j in itertools.combinations(combo, 2)):
            total = scores[list(combo)].sum()
            if total > best_total + 1e-12:
                best, best_total = list(combo), total
    return _selection(best, scores, d)
