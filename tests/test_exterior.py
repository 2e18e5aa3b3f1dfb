"""Tensor and exterior power kernels (theory.tensor, theory.exterior) against naive definitions, and
the matrix strategies of checks.strategies against what they promise."""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks import strategies as S
from theory import exterior as ext
from theory import tensor as ten

FAST = settings(max_examples=25, deadline=None)
EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------------------
# tensor powers
# ---------------------------------------------------------------------------------------------


def naive_tensor_power(m: np.ndarray, t: int) -> np.ndarray:
    """(I, J) entry = prod_k m[i_k, j_k], I and J over itertools.product in lexicographic order."""
    n = m.shape[0]
    idx = list(itertools.product(range(n), repeat=t))
    return np.array([[np.prod([m[I[k], J[k]] for k in range(t)]) for J in idx] for I in idx])


@pytest.mark.parametrize("n,t", [(1, 1), (2, 1), (2, 2), (3, 2), (2, 3), (3, 3)])
def test_tensor_power_matches_naive_product_formula(n, t):
    m = np.random.default_rng(n * 10 + t).standard_normal((n, n))
    got = ten.tensor_power(m, t)
    assert got.shape == (n**t, n**t)
    np.testing.assert_allclose(got, naive_tensor_power(m, t), rtol=0, atol=8 * t * EPS * np.abs(m).max() ** t)


def test_tensor_power_is_kron_power_and_t1_is_identity_map():
    m = np.random.default_rng(0).standard_normal((3, 3))
    assert np.array_equal(ten.tensor_power(m, 1), m)
    np.testing.assert_array_equal(ten.tensor_power(m, 3), np.kron(np.kron(m, m), m))


def test_elementary_tensor_coordinates():
    v, w = np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0, 7.0])
    # lexicographic: coefficient of e_(i,j) at position 3 i + j is v_i w_j
    assert ten.elementary_tensor(v, w).tolist() == [3.0, 5.0, 7.0, 6.0, 10.0, 14.0, 12.0, 20.0, 28.0]
    ints = [[1, -2], [3, 4], [0, 5]]
    assert ten.tensor_by_expansion(ints) == [int(x) for x in ten.elementary_tensor(*map(np.array, ints))]


def test_tensor_generic_helpers_agree_exactly_on_integers():
    m = [[1, -2, 0], [3, 1, 4], [2, 2, -1]]
    assert ten.tensor_power_by_expansion(m, 2) == ten.tensor_power_by_formula(m, 2)
    np.testing.assert_array_equal(np.array(ten.tensor_power_by_formula(m, 2)), ten.tensor_power(np.array(m), 2))


def test_tensor_inner_and_elementary_defect():
    rng = np.random.default_rng(1)
    vs, ws = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert math.isclose(ten.tensor_inner(vs, ws), float(ten.elementary_tensor(*vs) @ ten.elementary_tensor(*ws)),
                        rel_tol=1e-12)
    assert ten.elementary_defect(ten.elementary_tensor(*vs), 4, 3) < 1e-14
    assert math.isclose(ten.elementary_defect(np.eye(2).ravel(), 2, 2), 1 / math.sqrt(2), rel_tol=1e-12)
    assert ten.elementary_defect(np.zeros(4), 2, 2) == 0.0


def test_tensor_bad_inputs():
    with pytest.raises(ValueError):
        ten.tensor_power(np.eye(2), 0)
    with pytest.raises(ValueError):
        ten.tensor_power(np.ones(3), 2)
    with pytest.raises(ValueError):
        ten.elementary_tensor(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        ten.elementary_defect(np.ones(5), 2, 2)
    with pytest.raises(ValueError):
        ten.multi_indices(0, 2)


# ---------------------------------------------------------------------------------------------
# exterior powers
# ---------------------------------------------------------------------------------------------


def naive_exterior_power(m: np.ndarray, t: int) -> np.ndarray:
    n = m.shape[0]
    sets = list(itertools.combinations(range(n), t))
    return np.array([[np.linalg.det(m[np.ix_(I, J)]) for J in sets] for I in sets]).reshape(len(sets), len(sets))


def test_index_sets_lexicographic_and_counts():
    assert ext.index_sets(4, 2) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    for n in range(1, 7):
        for t in range(1, n + 2):
            assert len(ext.index_sets(n, t)) == math.comb(n, t)
    with pytest.raises(ValueError):
        ext.index_sets(3, 0)


@pytest.mark.parametrize("n,t", [(1, 1), (3, 1), (3, 2), (4, 2), (4, 3), (5, 3), (5, 5)])
def test_exterior_power_matches_naive_minors(n, t):
    m = np.random.default_rng(n * 10 + t).standard_normal((n, n))
    got = ext.exterior_power(m, t)
    assert got.shape == (math.comb(n, t),) * 2
    np.testing.assert_allclose(got, naive_exterior_power(m, t), rtol=0, atol=50 * t * EPS * np.linalg.norm(m, 2) ** t)


def test_exterior_power_edge_cases():
    m = np.arange(9.0).reshape(3, 3) + np.eye(3)
    assert np.array_equal(ext.exterior_power(m, 1), m)  # 1 x 1 minors are exact
    assert ext.exterior_power(m, 3).shape == (1, 1)
    assert math.isclose(ext.exterior_power(m, 3)[0, 0], np.linalg.det(m), rel_tol=1e-12)
    assert ext.exterior_power(m, 4).shape == (0, 0)
    assert ext.exterior_power(np.ones((2, 4)), 2).shape == (1, 6)  # rectangular compounds
    with pytest.raises(ValueError):
        ext.exterior_power(np.ones(3), 1)


def test_minors_against_mpmath_on_ill_conditioned_matrix():
    # Hilbert matrix (cond ~ 1.5e7 at n = 6): float minors vs 40-digit determinants of the same floats
    n, t = 6, 3
    h = np.array([[1.0 / (i + j + 1) for j in range(n)] for i in range(n)])
    got = ext.exterior_power(h, t)
    with mpmath.workdps(40):
        ref = np.array([[float(mpmath.det(mpmath.matrix(h[np.ix_(I, J)].tolist())))
                         for J in ext.index_sets(n, t)] for I in ext.index_sets(n, t)])
    np.testing.assert_allclose(got, ref, rtol=0, atol=50 * t * EPS * np.linalg.norm(h, 2) ** t)


def test_exact_helpers_agree_on_integers():
    rng = np.random.default_rng(3)
    for n, t in [(3, 2), (4, 2), (4, 3), (5, 3)]:
        v = rng.integers(-3, 4, (t, n)).tolist()
        exp = ext.wedge_by_expansion(v)
        assert exp == ext.plucker_generic(v)
        np.testing.assert_allclose(ext.wedge(*map(np.array, v)), exp, atol=1e-12)
        m = rng.integers(-3, 4, (n, n)).tolist()
        assert ext.exterior_power_by_expansion(m, t) == ext.minors_generic(m, t)
    assert ext.wedge_by_expansion([[1, 2], [3, 4], [5, 6]]) == []  # t > n
    assert ext.perm_sign((1, 0, 2)) == -1 and ext.perm_sign((1, 2, 0)) == 1
    a = rng.integers(-5, 6, (4, 4))
    assert ext.leibniz_det(a.tolist()) == round(np.linalg.det(a))


def test_wedge_inner_is_cauchy_binet():
    rng = np.random.default_rng(4)
    v, w = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    assert math.isclose(ext.wedge_inner(v, w), float(ext.plucker(v) @ ext.plucker(w)), rel_tol=1e-10)


def test_decomposability_defect_and_wedge_map():
    rng = np.random.default_rng(5)
    v = rng.standard_normal((5, 2))
    p = ext.plucker(v)
    assert ext.decomposability_defect(p, 5, 2) < 1e-13
    assert np.abs(ext.wedge_map(p, 5, 2) @ v).max() < 1e-13  # v_i ∧ (v_1 ∧ v_2) = 0
    x = np.array([1.0, 0, 0, 0, 0, 1.0])  # e12 + e34
    assert ext.decomposability_defect(x, 4, 2) > 0.5
    assert ext.decomposability_defect(np.array([3.0]), 2, 2) == 0.0  # t = n: always elementary


def test_principal_angles_and_projector_distance():
    e = np.eye(3)
    a = ext.principal_angles(e[:, [0, 1]], e[:, [0, 2]])
    np.testing.assert_allclose(a, [0.0, np.pi / 2], atol=1e-15)
    th = 1e-9  # tiny angle: the sine-based distance stays accurate
    v = np.array([[1.0, 0], [0, np.cos(th)], [0, np.sin(th)]])
    assert math.isclose(ext.projector_distance(v, e[:, :2]), math.sin(th), rel_tol=1e-6)


def test_subspace_cosine_is_the_normalised_wedge_product_and_product_of_cosines():
    rng = np.random.default_rng(3)
    for n, t in [(2, 1), (3, 2), (5, 2), (5, 3), (4, 4)]:
        v, w = rng.standard_normal((n, t)), rng.standard_normal((n, t))
        p, q = ext.plucker(v), ext.plucker(w)
        c = ext.subspace_cosine(v, w)
        # basis-free: the normalised dot product of the wedges (Cauchy-Binet)
        assert math.isclose(c, abs(p @ q) / (np.linalg.norm(p) * np.linalg.norm(q)), rel_tol=1e-12)
        # = prod cos of the principal angles; and invariant under a change of basis of either subspace
        assert math.isclose(c, float(np.prod(np.cos(ext.principal_angles(v, w)))), rel_tol=1e-8, abs_tol=1e-12)
        g = rng.standard_normal((t, t))
        assert math.isclose(ext.subspace_cosine(v @ g, w), c, rel_tol=1e-10)
    e = np.eye(3)
    assert ext.subspace_cosine(e[:, [0, 1]], e[:, [0, 2]]) == 0.0  # a right angle while sharing e_1
    with pytest.raises(ValueError, match="equal shape"):
        ext.subspace_cosine(e[:, :2], e[:, :1])


# ---------------------------------------------------------------------------------------------
# the strategies deliver what they promise
# ---------------------------------------------------------------------------------------------


@FAST
@given(st.data())
def test_matrices_shape_rank_and_condition(data):
    n = data.draw(st.integers(1, 6))
    m = data.draw(st.integers(1, 6))
    r = data.draw(st.integers(1, min(n, m)))
    a = data.draw(S.matrices(n, m, cond=(10.0, 1e6), rank=r))
    assert a.shape == (n, m)
    s = np.linalg.svd(a, compute_uv=False)
    assert np.sum(s > s[0] * 1e-12) == r
    if r > 1:
        kappa = s[0] / s[r - 1]
        assert 10.0 * (1 - 1e-6) <= kappa <= 1e6 * (1 + 1e-6)


@FAST
@given(S.matrices((1, 6), cond=(1.0, 1e8), rank="any", scale=(1e-2, 1e2)))
def test_matrices_rank_any_and_scale(a):
    s = np.linalg.svd(a, compute_uv=False)
    assert 1e-2 * (1 - 1e-9) <= s[0] <= 1e2 * (1 + 1e-9)
    assert s[0] / max(s[np.sum(s > s[0] * 1e-12) - 1], 1e-300) <= 1e8 * (1 + 1e-6)


@FAST
@given(st.data())
def test_singular_values_spectra(data):
    k = data.draw(st.integers(3, 6))  # k = 2: see test_repeated_spectrum_of_two_values_is_a_tie
    s = data.draw(S.singular_values(k, cond=(1e2, 1e8), spectrum="repeated"))
    assert np.all(np.diff(s) <= 0)
    assert len(np.unique(s)) < k  # exact ties
    g = data.draw(S.singular_values(k, cond=(1e2, 1e8), spectrum="geometric"))
    ratios = g[1:] / g[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert 1e2 * (1 - 1e-9) <= g[0] / g[-1] <= 1e8 * (1 + 1e-9)
    a = data.draw(S.matrices(k, cond=(1e2, 1e4), spectrum="repeated"))  # k >= 3
    sv = np.linalg.svd(a, compute_uv=False)
    assert np.min(np.abs(np.diff(sv)) / sv[0]) < 1e-10  # ties survive the Haar rotations


@FAST
@given(S.singular_values(2, cond=(1.0, 1e8), spectrum="repeated"))
def test_repeated_spectrum_of_two_values_is_a_tie(s):
    assert s[0] == s[1]


@FAST
@given(S.orthogonal((1, 6)), S.spd((1, 5), cond=(1.0, 1e4)), S.gates((1, 6), min_rank=1))
def test_orthogonal_spd_gates(q, a, g):
    np.testing.assert_allclose(q.T @ q, np.eye(q.shape[0]), atol=1e-13)
    assert np.array_equal(a, a.T) and np.linalg.eigvalsh(a).min() > 0
    assert set(np.unique(g)) <= {0.0, 1.0} and g.sum() >= 1


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_strategy_argument_validation():
    bad = [lambda: S.matrices(0).example(), lambda: S.matrices(3, cond=(0.5, 2.0)).example(),
           lambda: S.matrices(3, spectrum="nope").example(), lambda: S.singular_values(3, rank=5).example()]
    for make in bad:
        with pytest.raises(InvalidArgument):
            make()
