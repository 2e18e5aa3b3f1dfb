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
from checks.tolerance import cond, tol
from conftest import within
from theory import exterior as ext
from theory import tensor as ten

FAST = settings(max_examples=25, deadline=None)


def _hadamard(m, t):
    """Bound on any t x t minor of m: (largest row norm)^t. A minor computed by LU (or by Leibniz
    products) errs by <= c t eps times it, so tol(t, scale=_hadamard(m, t)) bounds every entry's error."""
    return float(np.linalg.norm(np.atleast_2d(m), axis=1).max()) ** t


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
    # products of t entries: t roundings of at most max|m|^t each
    assert within(np.abs(got - naive_tensor_power(m, t)), tol(t, scale=np.abs(m).max() ** t), "tensor power")


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
    # prod_k <v_k, w_k> vs a dot of 4^3 products: absolute error ~ 64 eps prod_k <|v_k|, |w_k|>
    scale = float(np.prod([np.abs(v) @ np.abs(w) for v, w in zip(vs, ws)]))
    assert within(abs(ten.tensor_inner(vs, ws) - float(ten.elementary_tensor(*vs) @ ten.elementary_tensor(*ws))),
                  tol(4**3, scale=scale, kernels=2), "tensor inner")
    # an exactly rank-1 unfolding: its second singular value is rounding, ~ size eps relative to ||x||
    assert within(ten.elementary_defect(ten.elementary_tensor(*vs), 4, 3), tol(4**3, kernels=2), "elementary defect")
    assert within(abs(ten.elementary_defect(np.eye(2).ravel(), 2, 2) - 1 / math.sqrt(2)), tol(4, scale=1 / math.sqrt(2)),
                  "defect of I")
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
    assert within(np.abs(got - naive_exterior_power(m, t)), tol(t, scale=_hadamard(m, t), kernels=2), "exterior power")


def test_exterior_power_edge_cases():
    m = np.arange(9.0).reshape(3, 3) + np.eye(3)
    assert np.array_equal(ext.exterior_power(m, 1), m)  # 1 x 1 minors are exact
    assert ext.exterior_power(m, 3).shape == (1, 1)
    # the same determinant by two routes: relative error ~ n eps kappa(m) each
    assert within(abs(ext.exterior_power(m, 3)[0, 0] - np.linalg.det(m)),
                  tol(3, kappa=cond(m), scale=abs(np.linalg.det(m)), kernels=2), "det")
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
    assert within(np.abs(got - ref), tol(t, scale=_hadamard(h, t)), "hilbert minors")


def test_exact_helpers_agree_on_integers():
    rng = np.random.default_rng(3)
    for n, t in [(3, 2), (4, 2), (4, 3), (5, 3)]:
        v = rng.integers(-3, 4, (t, n)).tolist()
        exp = ext.wedge_by_expansion(v)
        assert exp == ext.plucker_generic(v)
        assert within(np.abs(ext.wedge(*map(np.array, v)) - exp), tol(t, scale=_hadamard(np.array(v), t)), "wedge")
        m = rng.integers(-3, 4, (n, n)).tolist()
        assert ext.exterior_power_by_expansion(m, t) == ext.minors_generic(m, t)
    assert ext.wedge_by_expansion([[1, 2], [3, 4], [5, 6]]) == []  # t > n
    assert ext.perm_sign((1, 0, 2)) == -1 and ext.perm_sign((1, 2, 0)) == 1
    a = rng.integers(-5, 6, (4, 4))
    assert ext.leibniz_det(a.tolist()) == round(np.linalg.det(a))


def test_wedge_inner_is_cauchy_binet():
    rng = np.random.default_rng(4)
    v, w = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    # det(v^T w) (3 x 3, entries inner products of length 5) vs 10 products of 3 x 3 minors
    p, q = ext.plucker(v), ext.plucker(w)
    scale = _hadamard(np.abs(v).T @ np.abs(w), 3) + float(np.abs(p) @ np.abs(q))
    assert within(abs(ext.wedge_inner(v, w) - float(p @ q)), tol(5 + 3 + 10, scale=scale, kernels=2), "Cauchy-Binet")


def test_decomposability_defect_and_wedge_map():
    rng = np.random.default_rng(5)
    v = rng.standard_normal((5, 2))
    p = ext.plucker(v)
    # p's coordinates are 2 x 2 minors of v (rounded): the map's kernel is exact up to that, relative
    # to ||p||; v_i ∧ (v_1 ∧ v_2) = 0: 3 products of an entry of v and a minor, each rounded
    assert within(ext.decomposability_defect(p, 5, 2), tol(10, kernels=2), "decomposable")
    assert within(np.abs(ext.wedge_map(p, 5, 2) @ v), tol(3 + 2, scale=np.abs(v).max() * _hadamard(v.T, 2)),
                  "wedge map kernel")
    x = np.array([1.0, 0, 0, 0, 0, 1.0])  # e12 + e34
    assert ext.decomposability_defect(x, 4, 2) > 0.5
    assert ext.decomposability_defect(np.array([3.0]), 2, 2) == 0.0  # t = n: always elementary


def test_principal_angles_and_projector_distance():
    e = np.eye(3)
    a = ext.principal_angles(e[:, [0, 1]], e[:, [0, 2]])
    assert within(np.abs(a - [0.0, np.pi / 2]), tol(3, scale=np.pi / 2), "coordinate angles")
    th = 1e-9  # tiny angle: the sine-based distance stays accurate
    v = np.array([[1.0, 0], [0, np.cos(th)], [0, np.sin(th)]])
    # ||(I - P_F) Q_E||: the residual is v's third coordinate, sin(th), up to rounding of the QR and of
    # one projection (n eps in the cosines, ~ eps / sin(th) relative on the residual)
    assert within(abs(ext.projector_distance(v, e[:, :2]) - math.sin(th)), tol(3, kernels=3), "tiny angle")


def test_subspace_cosine_is_the_normalised_wedge_product_and_product_of_cosines():
    rng = np.random.default_rng(3)
    for n, t in [(2, 1), (3, 2), (5, 2), (5, 3), (4, 4)]:
        v, w = rng.standard_normal((n, t)), rng.standard_normal((n, t))
        p, q = ext.plucker(v), ext.plucker(w)
        c = ext.subspace_cosine(v, w)
        # basis-free: the normalised dot product of the wedges (Cauchy-Binet)
        # both in [0, 1] from QR (orthonormal to n eps), a t x t determinant and a normalised dot of
        # C(n, t) minors; the subspaces themselves carry v's and w's conditioning (rounding of Q)
        k = cond(v) + cond(w)
        assert within(abs(c - abs(p @ q) / (np.linalg.norm(p) * np.linalg.norm(q))),
                      tol(n * t + math.comb(n, t), kappa=k, kernels=2), "cosine vs wedges")
        # = prod cos of the principal angles (each cosine to ~ n eps absolutely); and invariant under a
        # change of basis of either subspace (v @ g rounded: kappa(g) more)
        assert within(abs(c - float(np.prod(np.cos(ext.principal_angles(v, w))))), tol(n * t, kappa=k, kernels=2),
                      "cosine vs angles")
        g = rng.standard_normal((t, t))
        assert within(abs(ext.subspace_cosine(v @ g, w) - c), tol(n * t, kappa=k * cond(g), kernels=2),
                      "basis change")
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
    # numerical rank: above the SVD's rounding (~ n eps s_1); the promised rank-r values are >= s_1 / 1e6
    noise = tol(max(n, m), kernels=2)
    assert np.sum(s > s[0] * noise) == r
    if r > 1:
        kappa = s[0] / s[r - 1]  # s_r errs by ~ n eps s_1, i.e. kappa relatively by ~ n eps kappa
        slack = tol(max(n, m), kappa=kappa, kernels=2)
        assert 10.0 * (1 - slack) <= kappa <= 1e6 * (1 + slack)


@FAST
@given(S.matrices((1, 6), cond=(1.0, 1e8), rank="any", scale=(1e-2, 1e2)))
def test_matrices_rank_any_and_scale(a):
    s = np.linalg.svd(a, compute_uv=False)
    n = max(a.shape)
    assert 1e-2 * (1 - tol(n, kernels=2)) <= s[0] <= 1e2 * (1 + tol(n, kernels=2))
    kappa = s[0] / max(s[np.sum(s > s[0] * tol(n, kernels=2)) - 1], 1e-300)
    assert kappa <= 1e8 * (1 + tol(n, kappa=kappa, kernels=2))


@FAST
@given(st.data())
def test_singular_values_spectra(data):
    k = data.draw(st.integers(3, 6))  # k = 2: see test_repeated_spectrum_of_two_values_is_a_tie
    s = data.draw(S.singular_values(k, cond=(1e2, 1e8), spectrum="repeated"))
    assert np.all(np.diff(s) <= 0)
    assert len(np.unique(s)) < k  # exact ties
    g = data.draw(S.singular_values(k, cond=(1e2, 1e8), spectrum="geometric"))
    ratios = g[1:] / g[:-1]
    # a geometric sequence from exp/log (geomspace): relative error ~ eps |log cond| per value, two per ratio
    rel = tol(k, scale=math.log(g[0] / g[-1]) + 1, kernels=2)
    assert within(np.abs(ratios / ratios[0] - 1), rel, "geometric ratios")
    assert 1e2 * (1 - rel) <= g[0] / g[-1] <= 1e8 * (1 + rel)
    a = data.draw(S.matrices(k, cond=(1e2, 1e4), spectrum="repeated"))  # k >= 3
    sv = np.linalg.svd(a, compute_uv=False)
    # ties survive the Haar rotations: equal up to the rotations' and the SVD's rounding (k eps s_1 each)
    assert np.min(np.abs(np.diff(sv)) / sv[0]) <= tol(k, kernels=3)


@FAST
@given(S.singular_values(2, cond=(1.0, 1e8), spectrum="repeated"))
def test_repeated_spectrum_of_two_values_is_a_tie(s):
    assert s[0] == s[1]


@FAST
@given(S.orthogonal((1, 6)), S.spd((1, 5), cond=(1.0, 1e4)), S.gates((1, 6), min_rank=1))
def test_orthogonal_spd_gates(q, a, g):
    assert within(np.abs(q.T @ q - np.eye(q.shape[0])), tol(q.shape[0], kernels=2), "orthogonal")  # QR, then Q^T Q
    assert np.array_equal(a, a.T) and np.linalg.eigvalsh(a).min() > 0
    assert set(np.unique(g)) <= {0.0, 1.0} and g.sum() >= 1


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_strategy_argument_validation():
    bad = [lambda: S.matrices(0).example(), lambda: S.matrices(3, cond=(0.5, 2.0)).example(),
           lambda: S.matrices(3, spectrum="nope").example(), lambda: S.singular_values(3, rank=5).example()]
    for make in bad:
        with pytest.raises(InvalidArgument):
            make()
