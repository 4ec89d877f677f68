"""Housing sites: TOPSIS, weighted sum, AHP, Monte Carlo and k-site selection against hand
computations and brute force (issue 14)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from geo.planning.sites import mcda, robustness, selection

# Three sites, criterion 1 a benefit, criterion 2 a cost.  Column norms are both 5.
X = np.array([[3.0, 4.0], [4.0, 3.0], [0.0, 0.0]])
BENEFIT = np.array([True, False])


def test_topsis_equals_the_hand_computation():
    # r = [[.6,.8],[.8,.6],[0,0]]; v = r/2; A+ = (.4, 0), A- = (0, .4).
    # Site 1: S+ = sqrt(.1^2 + .4^2) = sqrt(.17), S- = .3      -> C = .3 / (.3 + sqrt(.17))
    # Site 2: S+ = .3, S- = sqrt(.4^2 + .1^2) = sqrt(.17)       -> C = sqrt(.17) / (.3 + sqrt(.17))
    # Site 3: S+ = .4, S- = .4                                  -> C = .5
    s = math.sqrt(0.17)
    closeness, r = mcda.topsis(X, BENEFIT, [0.5, 0.5])
    assert np.allclose(r, [[0.6, 0.8], [0.8, 0.6], [0.0, 0.0]])
    assert np.allclose(closeness, [0.3 / (0.3 + s), s / (0.3 + s), 0.5])
    assert list(mcda.ranks(closeness)) == [3, 1, 2]


def test_topsis_weights_are_rescaled_and_identical_sites_tie_at_one_half():
    a, _ = mcda.topsis(X, BENEFIT, [1, 1])
    b, _ = mcda.topsis(X, BENEFIT, [0.5, 0.5])
    assert np.allclose(a, b)
    same, _ = mcda.topsis(np.ones((3, 2)), BENEFIT, [0.3, 0.7])
    assert np.allclose(same, 0.5)


def test_weighted_sum_minmax_equals_the_hand_computation():
    # Benefit column (0..4): .75, 1, 0.  Cost column (0..4): (4-4)/4=0, (4-3)/4=.25, 1.
    scores, r = mcda.weighted_sum(X, BENEFIT, [0.5, 0.5])
    assert np.allclose(r, [[0.75, 0.0], [1.0, 0.25], [0.0, 1.0]])
    assert np.allclose(scores, [0.375, 0.625, 0.5])
    scores, _ = mcda.weighted_sum(X, BENEFIT, [0.25, 0.75])
    assert np.allclose(scores, [0.1875, 0.4375, 0.75])


def test_weighted_sum_ratio_normalisation_by_hand():
    x = np.array([[2.0, 10.0], [4.0, 5.0]])
    # Benefit x/max: .5, 1.  Cost min/x: .5, 1.
    scores, r = mcda.weighted_sum(x, BENEFIT, [0.5, 0.5], ["ratio", "ratio"])
    assert np.allclose(r, [[0.5, 0.5], [1.0, 1.0]])
    assert np.allclose(scores, [0.5, 1.0])


def test_ahp_consistent_matrix_gives_its_weights_and_cr_zero():
    w = np.array([4, 2, 1]) / 7
    a = w[:, None] / w[None, :]
    weights, lam, cr = mcda.ahp_weights(a)
    assert np.allclose(weights, w)
    assert lam == pytest.approx(3.0)
    assert cr == pytest.approx(0.0, abs=1e-9)


def test_ahp_saaty_example_by_closed_form():
    a = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    # For a 3x3 reciprocal matrix, lambda_max = 1 + c^(1/3) + c^(-1/3) with c = a12 a23 / a13,
    # and the principal eigenvector is the row geometric means (exact for n = 3).
    c = 3 * 3 / 5
    lam_hand = 1 + c ** (1 / 3) + c ** (-1 / 3)
    geo = np.array([(1 * 3 * 5) ** (1 / 3), 1.0, (1 / 15) ** (1 / 3)])
    cr_hand = ((lam_hand - 3) / 2) / 0.58
    weights, lam, cr = mcda.ahp_weights(a)
    assert lam == pytest.approx(lam_hand, abs=1e-9)
    assert np.allclose(weights, geo / geo.sum())
    assert cr == pytest.approx(cr_hand, abs=1e-9)
    assert cr == pytest.approx(0.0332, abs=1e-3)


def test_ahp_refuses_inconsistent_judgements_and_says_so():
    a = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]  # A >> B >> C >> A
    with pytest.raises(mcda.InconsistentJudgements) as caught:
        mcda.ahp_weights(a)
    assert "0.1" in caught.value.message("en")
    assert "0,1" in caught.value.message("ro")


def test_ahp_refuses_a_matrix_that_is_not_reciprocal():
    with pytest.raises(mcda.McdaError):
        mcda.ahp_weights([[1, 2], [2, 1]])


def test_negative_weights_are_refused():
    with pytest.raises(mcda.McdaError):
        mcda.topsis(X, BENEFIT, [-1, 2])


def test_monte_carlo_probabilities_sum_to_one_per_rank_and_per_site():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, size=(6, 4))
    benefit = np.array([True, False, True, False])
    p = robustness.rank_probabilities(
        x, benefit, [0.4, 0.3, 0.2, 0.1], lambda a, b, w: mcda.topsis(a, b, w)[0], draws=300
    )
    assert p.shape == (6, 6)
    assert np.allclose(p.sum(axis=0), 1.0)
    assert np.allclose(p.sum(axis=1), 1.0)


def test_monte_carlo_of_a_dominating_site_is_certain():
    x = np.array([[10.0, 1.0], [5.0, 5.0], [1.0, 9.0]])  # site 0 best on both
    p = robustness.rank_probabilities(
        x, BENEFIT, [0.5, 0.5], lambda a, b, w: mcda.weighted_sum(a, b, w)[0], draws=200
    )
    assert p[0, 0] == 1.0 and p[2, 2] == 1.0


def test_two_weight_sets_side_by_side_mark_where_they_disagree():
    table = robustness.compare(
        ["a", "b", "c", "d"], np.array([4, 3, 2, 1.0]), np.array([1, 3, 2, 4.0])
    )
    assert list(table["rank_a"]) == [1, 2, 3, 4]
    assert list(table["rank_b"]) == [4, 2, 3, 1]
    assert list(table["disagree"]) == [True, False, False, True]


@pytest.mark.parametrize("seed", range(6))
def test_k_site_selection_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 9
    scores = rng.uniform(0, 1, n)
    xy = rng.uniform(0, 2000, size=(n, 2))
    eligible = rng.uniform(size=n) > 0.15
    for k, gap in itertools.product((2, 3), (300.0, 700.0)):
        ilp = selection.best_set(scores, xy, k, gap, eligible)
        ref = selection.brute_force(scores, xy, k, gap, eligible)
        assert ilp.feasible == ref.feasible
        assert ilp.total == pytest.approx(ref.total)
        if ilp.feasible:
            assert ilp.min_gap_m >= gap


def test_selection_keeps_the_minimum_distance_by_hand():
    # Sites 0 and 1 are the two best but 100 m apart: the best pair 500 m apart is {0, 2}.
    scores = np.array([0.9, 0.8, 0.5, 0.1])
    xy = np.array([[0, 0], [100, 0], [0, 600], [700, 0.0]])
    chosen = selection.best_set(scores, xy, 2, 500.0)
    assert chosen.chosen == (0, 2)
    assert chosen.total == pytest.approx(1.4)
    assert selection.best_set(scores, xy, 5, 500.0).feasible is False
