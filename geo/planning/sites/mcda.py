"""Multi-criteria decision analysis: weighted sum, TOPSIS, AHP weights.

All functions work on a plain decision matrix ``X`` (alternatives x criteria, floats), a
``benefit`` mask (True: more is better; False: a cost, less is better) and weights summing to 1.
They know nothing about sites or maps, so they can be checked against a hand computation.

Weighted sum (WSM)
    Each column is normalised to 0..1 by its rule (:func:`normalise`), then
    ``score_i = sum_j w_j * r_ij``.  ``minmax``: benefit ``(x - min) / (max - min)``, cost
    ``(max - x) / (max - min)`` (a constant column gives 1 to everyone: it separates nobody).
    ``ratio``: benefit ``x / max``, cost ``min / x`` (needs positive values).
TOPSIS (Hwang & Yoon 1981)
    Vector normalisation ``r_ij = x_ij / sqrt(sum_i x_ij**2)``, weighted ``v_ij = w_j r_ij``;
    ideal ``A+`` (max of benefits, min of costs) and anti-ideal ``A-``; Euclidean distances
    ``S+``, ``S-``; closeness ``C_i = S-_i / (S+_i + S-_i)`` (1 when an alternative is the
    ideal; 0.5 when every alternative is identical and both distances are 0).
AHP (Saaty)
    Weights are the principal right eigenvector of the reciprocal pairwise matrix (normalised
    to sum 1); ``CI = (lambda_max - n) / (n - 1)``, ``CR = CI / RI[n]`` with Saaty's random
    indices.  ``CR > 0.1`` is refused (:class:`InconsistentJudgements`).
"""

from __future__ import annotations

import numpy as np

from geo.errors import HartaError

#: Saaty's random consistency index by matrix size (1..15).
RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}
#: Judgements whose consistency ratio exceeds this are refused (Saaty's rule).
MAX_CONSISTENCY_RATIO = 0.1
NORMALISATIONS = ("minmax", "ratio")


class McdaError(HartaError, ValueError):
    """Weights or judgements that cannot be used (negative, wrong size, not reciprocal)."""


class InconsistentJudgements(McdaError):
    """Pairwise comparisons whose consistency ratio is above :data:`MAX_CONSISTENCY_RATIO`."""


def check_weights(weights: object, n: int) -> np.ndarray:
    """Non-negative weights of length ``n``, scaled to sum 1.

    Parameters
    ----------
    weights : sequence of float
    n : int
        Number of criteria.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    McdaError
        Wrong length, a negative or non-finite weight, or all zero.
    """
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.size != n:
        raise McdaError("sites.error.weights_size", expected=n, got=w.size)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise McdaError("sites.error.weights_invalid")
    return w / w.sum()


def normalise(x: np.ndarray, benefit: np.ndarray, rules: object = "minmax") -> np.ndarray:
    """Each column of ``x`` on 0..1, 1 best, by its normalisation rule.

    Parameters
    ----------
    x : numpy.ndarray
        ``(alternatives, criteria)``.
    benefit : array of bool
        Per criterion: True when more is better.
    rules : str or sequence of str
        ``"minmax"`` or ``"ratio"`` (one for all, or one per criterion).

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``.
    """
    x = np.asarray(x, dtype=float)
    benefit = np.asarray(benefit, dtype=bool)
    n = x.shape[1]
    rules = [rules] * n if isinstance(rules, str) else list(rules)
    out = np.empty_like(x)
    for j in range(n):
        out[:, j] = _column(x[:, j], bool(benefit[j]), rules[j])
    return out


def _column(col: np.ndarray, benefit: bool, rule: str) -> np.ndarray:
    lo, hi = np.min(col), np.max(col)
    if rule == "minmax":
        if hi == lo:
            return np.ones_like(col)
        return (col - lo) / (hi - lo) if benefit else (hi - col) / (hi - lo)
    if rule == "ratio":
        if lo <= 0:
            raise McdaError("sites.error.ratio_positive")
        return col / hi if benefit else lo / col
    raise McdaError("sites.error.normalisation", rule=rule, rules=", ".join(NORMALISATIONS))


def weighted_sum(
    x: np.ndarray, benefit: np.ndarray, weights: object, rules: object = "minmax"
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted-sum scores.

    Parameters
    ----------
    x : numpy.ndarray
        ``(alternatives, criteria)`` raw values.
    benefit : array of bool
    weights : sequence of float
        Scaled to sum 1.
    rules : str or sequence of str
        Normalisation per criterion (see :func:`normalise`).

    Returns
    -------
    scores : numpy.ndarray
        0..1 per alternative, higher is better.
    normalised : numpy.ndarray
        The normalised matrix the scores were summed from.
    """
    x = np.asarray(x, dtype=float)
    w = check_weights(weights, x.shape[1])
    r = normalise(x, benefit, rules)
    return r @ w, r


def vector_normalise(x: np.ndarray) -> np.ndarray:
    """TOPSIS's vector normalisation: each column divided by its Euclidean norm.

    Parameters
    ----------
    x : numpy.ndarray

    Returns
    -------
    numpy.ndarray
        A zero column stays zero.
    """
    x = np.asarray(x, dtype=float)
    norm = np.sqrt((x**2).sum(axis=0))
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def topsis(x: np.ndarray, benefit: np.ndarray, weights: object) -> tuple[np.ndarray, np.ndarray]:
    """TOPSIS closeness to the ideal solution (Hwang & Yoon, vector normalisation).

    Parameters
    ----------
    x : numpy.ndarray
        ``(alternatives, criteria)`` raw values.
    benefit : array of bool
    weights : sequence of float

    Returns
    -------
    closeness : numpy.ndarray
        ``S- / (S+ + S-)`` per alternative, 0..1, higher is better.
    normalised : numpy.ndarray
        The vector-normalised matrix (before weighting).
    """
    x = np.asarray(x, dtype=float)
    benefit = np.asarray(benefit, dtype=bool)
    w = check_weights(weights, x.shape[1])
    r = vector_normalise(x)
    v = r * w
    ideal = np.where(benefit, v.max(axis=0), v.min(axis=0))
    anti = np.where(benefit, v.min(axis=0), v.max(axis=0))
    s_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    s_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    total = s_plus + s_minus
    closeness = np.divide(s_minus, total, out=np.full_like(total, 0.5), where=total > 0)
    return closeness, r


def ranks(scores: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Rank 1 = highest score; ties share the better rank; invalid entries get 0.

    Parameters
    ----------
    scores : numpy.ndarray
    valid : array of bool, optional
        Alternatives that take part (others, e.g. excluded sites, get rank 0).

    Returns
    -------
    numpy.ndarray of int
    """
    scores = np.asarray(scores, dtype=float)
    valid = np.ones(scores.size, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    out = np.zeros(scores.size, dtype=int)
    kept = scores[valid]
    # Competition ranking ("1224"): 1 + how many valid alternatives score strictly higher.
    out[valid] = 1 + (kept[None, :] > kept[:, None]).sum(axis=1)
    return out


def ahp_weights(matrix: object) -> tuple[np.ndarray, float, float]:
    """Weights and consistency of a pairwise-comparison matrix (Saaty's eigenvector method).

    Parameters
    ----------
    matrix : square array
        ``a[i][j]`` = how much more important criterion ``i`` is than ``j`` (1..9 scale);
        must be positive with ``a[j][i] = 1 / a[i][j]`` and ones on the diagonal.

    Returns
    -------
    weights : numpy.ndarray
        Sum 1.
    lambda_max : float
    consistency_ratio : float
        0 for n <= 2.

    Raises
    ------
    McdaError
        Not square, not positive or not reciprocal.
    InconsistentJudgements
        ``CR > 0.1``.
    """
    a = np.asarray(matrix, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise McdaError("sites.error.ahp_square")
    if not np.all(np.isfinite(a)) or np.any(a <= 0) or not np.allclose(a * a.T, 1.0, rtol=1e-6):
        raise McdaError("sites.error.ahp_reciprocal")
    n = a.shape[0]
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lam = float(values[k].real)
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    cr = consistency_ratio(lam, n)
    if cr > MAX_CONSISTENCY_RATIO:
        raise InconsistentJudgements("sites.error.ahp_inconsistent", cr=f"{cr:.3f}")
    return w, lam, cr


def consistency_ratio(lambda_max: float, n: int) -> float:
    """Saaty's consistency ratio ``((lambda_max - n) / (n - 1)) / RI[n]``.

    Parameters
    ----------
    lambda_max : float
    n : int

    Returns
    -------
    float
        0 when ``n <= 2`` (always consistent).
    """
    if n <= 2:
        return 0.0
    ri = RANDOM_INDEX.get(n, RANDOM_INDEX[15])
    return max(0.0, (lambda_max - n) / (n - 1)) / ri
