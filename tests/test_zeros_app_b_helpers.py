"""Helpers that feed Appendix B's foils and evidence, checked against their definitions (issue 17, item 3).

A bug in a helper that only builds a foil or a piece of evidence can make a foil coincide with the truth
(or a verdict rest on a wrong number) without any claim noticing; each helper is compared here with an
independent computation of what it is defined to be. Exact helpers are compared exactly; float ones
with tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp

from checks.tolerance import tol
from theory import exterior as ext
from theory import tensor as ten
from theory.claims import app_b, app_b2


def _int_mats(seed, count, shape_fn):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield rng, rng.integers(-2, 3, shape_fn(rng))


def test_rank_q_matches_sympy_rank():
    for rng, a in _int_mats(1, 60, lambda r: (int(r.integers(1, 6)), int(r.integers(1, 6)))):
        assert app_b._rank_q(a.tolist()) == sp.Matrix(a.tolist()).rank()


def test_quotient_dimension_knows_the_three_classical_spaces():
    """No relation: ⊗^t (n^t); S_t with the signature: ∧^t (C(n,t)); S_t without it: the symmetric power
    (C(n+t-1, t)) — the unsigned foil of def-b.3 must not coincide with the truth."""
    for n in range(1, 4):
        for t in range(1, 4):
            assert app_b2.quotient_dimension(n, t, []) == n**t
            assert app_b2.quotient_dimension(n, t, app_b2._perms_corrected(t)) == math.comb(n, t)
            assert app_b2.quotient_dimension(n, t, app_b2._perms_unsigned(n, t)) == math.comb(n + t - 1, t)


def test_perms_literal_are_the_permutations_that_fix_the_first_t_slots():
    for n in range(1, 5):
        for t in range(1, n + 1):
            perms = app_b2._perms_literal(n, t)
            assert len(perms) == math.factorial(t) * math.factorial(n - t)
            for slots, sign in perms:
                assert sorted(slots) == list(range(t)) and sign in (1, -1)


def test_int_nullspace_and_dim_meet_against_definitions():
    for rng, v in _int_mats(2, 40, lambda r: (5, int(r.integers(1, 5)))):
        cols = app_b2._cols(v)
        null = app_b2._int_nullspace(cols)  # basis of {x : V^T x = 0} = span(V)^⟂
        r = np.linalg.matrix_rank(v.astype(float))
        assert len(null) == 5 - r
        assert all(not np.any(v.T @ np.array(x)) for x in null)
        w = rng.integers(-2, 3, v.shape)
        meet = app_b2._dim_meet(v, w)  # dim(E ∩ F) = dim E + dim F - dim(E + F)
        re, rf = np.linalg.matrix_rank(v.astype(float)), np.linalg.matrix_rank(w.astype(float))
        assert meet == 2 * v.shape[1] - np.linalg.matrix_rank(np.hstack([v, w]).astype(float))
        if re == rf == v.shape[1]:
            assert meet == re + rf - np.linalg.matrix_rank(np.hstack([v, w]).astype(float))
            assert app_b2._dim_meet(v, v) == v.shape[1]


def test_some_right_angle_against_principal_cosines():
    """E ∩ F^⟂ != {0} iff the smallest principal cosine (singular value of Q_E^T Q_F) is 0."""
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(200):
        n = int(rng.integers(2, 6))
        t = int(rng.integers(1, n))
        v = rng.integers(-1, 2, (n, t))
        w = rng.integers(-1, 2, (n, t))
        if min(np.linalg.matrix_rank(v.astype(float)), np.linalg.matrix_rank(w.astype(float))) < t:
            continue
        c = np.linalg.svd(np.linalg.qr(v.astype(float))[0].T @ np.linalg.qr(w.astype(float))[0], compute_uv=False)
        float_says = c.min() <= tol(n + t, kappa=np.linalg.cond(v) + np.linalg.cond(w), kernels=2 * t + 2)
        assert app_b2._some_right_angle(v, w) == float_says
        seen.add(bool(float_says))
    assert seen == {True, False}  # both sides exercised


def test_proportional_and_exact_plucker():
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(2, 6))
        t = int(rng.integers(1, n + 1))
        v = rng.integers(-2, 3, (n, t))
        p = app_b2._exact_plucker(v)
        assert np.allclose(p, ext.plucker(v.astype(float)), rtol=0, atol=tol(math.comb(n, t), scale=8.0**t,
                                                                                  kernels=2 * t))
        q = rng.integers(-2, 3, len(p)).tolist()
        assert app_b2._proportional(p, q) == (np.linalg.matrix_rank(np.array([p, q], dtype=float)) <= 1)
        assert app_b2._proportional(p, [3 * x for x in p]) and app_b2._proportional(p, [-x for x in p])


def test_mp_singular_values_and_power_index_helpers():
    rng = np.random.default_rng(5)
    for n in range(1, 5):
        m = rng.standard_normal((n, n))
        s = np.linalg.svd(m, compute_uv=False)
        smp = [float(x) for x in app_b._mp_singular_values(m)]
        assert np.allclose(smp, s, rtol=0, atol=tol(n, scale=s[0], kernels=2))
        assert np.allclose(app_b._mp_svals(m.tolist()), s, rtol=0, atol=tol(n, scale=s[0], kernels=2))
        for t in range(1, n + 1):
            for I in ext.index_sets(n, t):
                assert app_b._sI_product(s, I) == math.prod(s[i] for i in I)
                assert app_b._sI_sum(s, I) == sum(s[i] for i in I)
    # the column of a power indexed by I is the elementary tensor / wedge of the columns of U
    u = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    for t in (1, 2, 3):
        for I in itertools.islice(ten.multi_indices(4, t), 7):
            assert np.allclose(app_b._column_of_power(ten.tensor_power, u, I, 4, t),
                               ten.elementary_tensor(*[u[:, i] for i in I]), rtol=0, atol=tol(4**t, kernels=t))
        for I in ext.index_sets(4, t):
            assert np.allclose(app_b._column_of_power(ext.exterior_power, u, I, 4, t),
                               ext.plucker(u[:, list(I)]), rtol=0, atol=tol(4 + math.comb(4, t), kernels=2 * t))


def test_nondecreasing_and_shifted_values_feed_foils_that_differ_from_the_truth():
    for n in range(1, 5):
        for t in range(1, 4):
            nd = app_b._nondecreasing(n, t)
            assert len(nd) == math.comb(n + t - 1, t)
    import mpmath
    s = [mpmath.mpf(6), mpmath.mpf(3), mpmath.mpf(2), mpmath.mpf(1)]
    assert app_b2._top_value_last_shifted(s, 2) == 12 and app_b2._top_value_last_shifted(s, 4) == 0


def test_skewed_basis_knobs():
    q = np.linalg.qr(np.random.default_rng(6).standard_normal((4, 4)))[0]
    assert np.array_equal(app_b._skewed(q, 0.0), q)
    b = app_b._skewed(q, 0.0, 1.5)
    assert np.allclose(b.T @ b, 2.25 * np.eye(4), rtol=0, atol=tol(4, scale=2.25, kernels=2))
    b = app_b._skewed(q, 1.0)
    assert np.max(np.abs(b.T @ b - np.eye(4))) > 0.5


@pytest.mark.parametrize("t", [1, 2, 3])
def test_induced_gram_tensor_is_the_kronecker_gram(t):
    rng = np.random.default_rng(7 + t)
    b = rng.standard_normal((3, 3))
    g = np.array(app_b._induced_gram_tensor(b.T @ b, t, app_b._prod))
    big = ten.tensor_power(b, t)
    assert np.allclose(g, big.T @ big, rtol=0, atol=tol(3**t, scale=np.linalg.norm(b, 2) ** (2 * t), kernels=t + 2))
