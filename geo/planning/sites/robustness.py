"""Robustness of a ranking: Monte Carlo perturbed weights, and two weight sets side by side.

**Monte Carlo.**  Each draw takes weights from a Dirichlet distribution centred on the chosen
weights, ``Dirichlet(c * w)`` (mean ``w``; a weight of 0.10 varies with a standard deviation of
``sqrt(w (1 - w) / (c + 1))`` = 0.03 at the default ``c = 100``), scores the eligible sites and
ranks them (ties broken by site order, so every draw fills every rank exactly once).  The share
of draws in which a site holds rank ``r`` estimates ``P(rank = r)``: every rank's probabilities
sum to 1 over the sites, and every site's over the ranks.  Criteria weighted 0 stay 0.

**Two weight sets.**  The community's weights (from a workshop) and the planners' are scored on
the same sites; the table puts both ranks side by side and marks where they disagree (a
different rank, or a site in one top three and not the other).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from geo.planning.sites.mcda import check_weights, ranks

#: Default Dirichlet concentration (see the module docstring).
CONCENTRATION = 100.0
DRAWS = 1000

Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def perturbed_weights(
    weights: np.ndarray, draws: int, concentration: float, rng: np.random.Generator
) -> np.ndarray:
    """``draws`` weight vectors from ``Dirichlet(concentration * w)`` (zeros stay zero).

    Parameters
    ----------
    weights : numpy.ndarray
        Sum 1.
    draws : int
    concentration : float
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        ``(draws, len(weights))``, each row summing to 1.
    """
    w = np.asarray(weights, dtype=float)
    out = np.zeros((draws, w.size))
    positive = w > 0
    out[:, positive] = rng.dirichlet(concentration * w[positive], size=draws)
    return out


def rank_probabilities(
    x: np.ndarray,
    benefit: np.ndarray,
    weights: object,
    scorer: Scorer,
    *,
    draws: int = DRAWS,
    concentration: float = CONCENTRATION,
    seed: int = 0,
) -> np.ndarray:
    """``P[i, r]``: the share of draws in which site ``i`` ranks ``r + 1``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(sites, criteria)`` raw values of the eligible sites.
    benefit : array of bool
    weights : sequence of float
    scorer : callable
        ``scorer(x, benefit, w) -> scores`` (higher is better), e.g. TOPSIS's closeness.
    draws : int
    concentration : float
    seed : int
        Fixes the draws, so a stored run can be reproduced.

    Returns
    -------
    numpy.ndarray
        ``(sites, sites)``; rows and columns each sum to 1.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    w = check_weights(weights, x.shape[1])
    counts = np.zeros((n, n))
    if n == 0:
        return counts
    rng = np.random.default_rng(seed)
    for sample in perturbed_weights(w, draws, concentration, rng):
        scores = scorer(x, benefit, sample)
        order = np.argsort(-scores, kind="stable")  # ties: the earlier site first
        counts[order, np.arange(n)] += 1
    return counts / draws


def summary(site_ids: list, probabilities: np.ndarray) -> pd.DataFrame:
    """``site_id``, ``p_first`` and ``p_top3`` from :func:`rank_probabilities`.

    Parameters
    ----------
    site_ids : list
    probabilities : numpy.ndarray

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame(
        {
            "site_id": list(site_ids),
            "p_first": probabilities[:, 0] if probabilities.size else [],
            "p_top3": probabilities[:, :3].sum(axis=1) if probabilities.size else [],
        }
    )


def compare(
    site_ids: list, scores_a: np.ndarray, scores_b: np.ndarray, valid: np.ndarray | None = None
) -> pd.DataFrame:
    """Two rankings of the same sites side by side, with where they disagree.

    Parameters
    ----------
    site_ids : list
    scores_a, scores_b : numpy.ndarray
        Scores under weight set A (planners) and B (community).
    valid : array of bool, optional
        Eligible sites (others get rank 0 in both).

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``score_a``, ``rank_a``, ``score_b``, ``rank_b``, ``rank_change``
        (``rank_b - rank_a``), ``top3_a``, ``top3_b``, ``disagree``.
    """
    rank_a = ranks(scores_a, valid)
    rank_b = ranks(scores_b, valid)
    top_a = (rank_a >= 1) & (rank_a <= 3)
    top_b = (rank_b >= 1) & (rank_b <= 3)
    return pd.DataFrame(
        {
            "site_id": list(site_ids),
            "score_a": scores_a,
            "rank_a": rank_a,
            "score_b": scores_b,
            "rank_b": rank_b,
            "rank_change": rank_b - rank_a,
            "top3_a": top_a,
            "top3_b": top_b,
            "disagree": (rank_a != rank_b) | (top_a != top_b),
        }
    )
