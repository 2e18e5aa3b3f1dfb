"""Mutation-testing kills, round k1 (issue 17, part 6): helpers of theory.alignment, theory.exterior,
theory.dynamics and theory.claims.app_a checked against their definitions (edge cases included)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from checks.tolerance import tol
from tests.conftest import within
from theory.claims._networks import chain_tol


# ----------------------------------------------------------------------------------------------
# theory.alignment.section6: rank-deficient J has log s_J = -inf (not +inf) on its zero singular values
# ----------------------------------------------------------------------------------------------


def test_section6_zero_singular_values_have_log_minus_inf():
    from theory import alignment as al

    n, r = 3, 2
    ls = np.array([2.0, 0.0, -1.0])
    s6 = al.section6(ls, np.eye(n), np.zeros((n, n)), r)  # J = 0: every s_J is exactly 0
    assert np.all(s6.sJ_over_sA == 0.0)
    assert np.all(np.isneginf(s6.log_sJ)), s6.log_sJ
    # a rank-2 J (zero last row of B): exactly one -inf, the finite logs agree with log(ratio * s_A)
    B = np.tril(np.ones((n, n)))
    B[2, :] = 0.0
    s6 = al.section6(ls, np.eye(n), B, r)
    assert np.isneginf(s6.log_sJ[2]) and s6.sJ_over_sA[2] == 0.0
    fin = np.log(s6.sJ_over_sA[:2]) + ls[:2]
    assert within(np.abs(s6.log_sJ[:2] - fin), tol(n, scale=np.max(np.abs(ls)) + 1.0, kernels=3), "log s_J")


# ----------------------------------------------------------------------------------------------
# theory.exterior.exterior_power on rectangular matrices, both orientations, against brute-force minors
# ----------------------------------------------------------------------------------------------


def _brute_compound(m: np.ndarray, t: int) -> np.ndarray:
    rows = list(itertools.combinations(range(m.shape[0]), t))
    cols = list(itertools.combinations(range(m.shape[1]), t))
    return np.array([[np.linalg.det(m[np.ix_(I, J)]) for J in cols] for I in rows]).reshape(len(rows), len(cols))


@pytest.mark.parametrize("shape", [(2, 4), (4, 2), (3, 5), (5, 3)])
def test_exterior_power_rectangular_is_the_compound(shape):
    from theory import exterior as ext

    rng = np.random.default_rng(3)
    m = rng.standard_normal(shape)
    for t in range(1, max(shape) + 1):
        got = ext.exterior_power(m, t)
        want = _brute_compound(m, t) if t <= min(shape) else np.zeros((
            math.comb(shape[0], t) if t <= shape[0] else 0, math.comb(shape[1], t) if t <= shape[1] else 0))
        assert got.shape == want.shape, (shape, t, got.shape, want.shape)
        if got.size:
            scale = math.factorial(t) * max(1.0, float(np.max(np.abs(m)))) ** t
            assert within(np.abs(got - want), tol(t, scale=scale, kernels=2), f"compound {shape} t={t}")


# ----------------------------------------------------------------------------------------------
# theory.dynamics._check_mnist_array: labels outside 0..9 are refused
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [10, 11, 18, 255])
def test_check_mnist_array_refuses_labels_above_nine(bad):
    from theory import dynamics

    name = "t10k-labels-idx1-ubyte"
    magic, shape = dynamics.MNIST_FILES[name]
    labels = np.zeros(shape, dtype=np.uint8)
    labels[:10] = np.arange(10)
    dynamics._check_mnist_array(name, "x", labels, magic)  # 0..9 accepted
    labels[5] = bad
    with pytest.raises(ValueError, match="outside 0..9"):
        dynamics._check_mnist_array(name, "x", labels, magic)


# ----------------------------------------------------------------------------------------------
# theory.dynamics.train_mnist_fgln: losses every max(1, steps // 20) steps plus the last step once
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [3, 41, 42, 45])
def test_train_mnist_fgln_loss_schedule(steps):
    import torch

    from theory import dynamics

    rng = np.random.default_rng(5)
    M, n, L, batch = 8, 2, 2, 4
    imgs = rng.integers(0, 256, (M, 2, 2), dtype=np.uint8)
    X = imgs.astype(np.float32) / np.float32(255.0)
    y = rng.integers(0, 10, M)
    gen = torch.Generator()
    gen.manual_seed(1)
    run = dynamics.train_mnist_fgln(X, y, n=n, L=L, p=0.5, steps=steps, batch=batch, gen=gen, lr=0.01,
                                    dtype="float64")
    every = max(1, steps // 20)
    want = sorted(set(range(0, steps, every)) | {steps - 1})
    assert len(run.loss) == len(want), (steps, len(run.loss), len(want))


# ----------------------------------------------------------------------------------------------
# theory.claims.app_a._cmp_grad: the reported worst layer (1-based) is the layer with the largest error
# ----------------------------------------------------------------------------------------------


def test_app_a_cmp_grad_reports_the_worst_layer_one_based():
    from theory.claims import app_a
    from theory.claims._networks import torch_fgln_grads

    rng = np.random.default_rng(2)
    Ws = [rng.standard_normal((3, 2)), rng.standard_normal((3, 3)), rng.standard_normal((2, 3))]
    ds = [np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])]
    G = rng.standard_normal((2, 2))
    for bad in range(len(Ws)):
        def formula(Ws, ds, G, bad=bad):
            got = [g.copy() for g in torch_fgln_grads(Ws, ds, G)]
            got[bad] = got[bad] + 1.0
            return got
        cmp = app_a._cmp_grad(formula)(Ws, ds, G)
        assert cmp.detail["worst_layer"] == bad + 1, (bad, cmp.detail)
        assert not cmp.ok and cmp.err == 1.0 and cmp.tol == chain_tol(Ws, ds, G)
    # the reference passes with the chain tolerance itself; a wrong-shaped formula fails with err = inf
    cmp = app_a._cmp_grad(torch_fgln_grads)(Ws, ds, G)
    assert cmp.ok and cmp.err == 0.0 and cmp.tol == chain_tol(Ws, ds, G)
    cmp = app_a._cmp_grad(lambda Ws, ds, G: [g.T for g in torch_fgln_grads(Ws, ds, G)])(Ws, ds, G)
    assert not cmp.ok and cmp.err == math.inf and cmp.tol == chain_tol(Ws, ds, G) and cmp.detail["shape_mismatch"]


# ----------------------------------------------------------------------------------------------
# theory.lyapunov.remainder_bound_1: sqrt(pi) int_0^{a/sqrt2} erfcx, a = beta_{1/2} / s_1, against mpmath
# ----------------------------------------------------------------------------------------------


def test_remainder_bound_1_is_its_integral():
    import mpmath as mp

    from theory import lyapunov as ly

    log_s1 = np.array([0.0, 1.0, -2.0, 3.0, 0.5, 0.0])
    log_bh = np.array([-30.0, 0.5, -2.0, 3.5, -math.inf, 0.0 + 0.5 * math.log(7.0)])
    got = ly.remainder_bound_1(log_s1, log_bh)
    with mp.workdps(30):
        want = [0.0 if not np.isfinite(b) else float(mp.sqrt(mp.pi) * mp.quad(
            lambda u: mp.exp(u * u) * mp.erfc(u), [0, mp.exp(mp.mpf(b) - mp.mpf(s)) / mp.sqrt(2)]))
            for s, b in zip(log_s1, log_bh)]
    want = np.array(want)
    assert got.shape == want.shape and got[4] == 0.0
    assert within(np.abs(got - want), tol(8, scale=float(np.max(want)), kernels=2), "remainder_bound_1")
    # the small-a end (rho ~ a sqrt(pi/2)), relatively
    assert within(abs(got[0] / want[0] - 1.0), tol(8, kernels=2), "rho(a->0)")


# ----------------------------------------------------------------------------------------------
# theory.alignment.section6 on a well-separated J: every field against numpy's SVD of J from its definition
# ----------------------------------------------------------------------------------------------


def test_section6_matches_float64_svd_when_well_separated():
    from theory import alignment as al

    rng = np.random.default_rng(4)
    n, r = 4, 3
    ls = np.array([3.0, 1.5, 0.0, -1.5])
    UA0 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    B = np.eye(n) + 0.2 * rng.standard_normal((n, n))
    for UA in (UA0, -UA0):  # each column's sign convention must be enforced in one of the two
        _check_section6(al.section6(ls, UA, B, r), ls, UA, B, r)


def _check_section6(s6, ls, UA, B, r):
    n = B.shape[0]
    sA = np.exp(ls)
    J = UA @ np.diag(sA) @ B
    UJ, SJ, _ = np.linalg.svd(J)
    R = UA.T @ UJ
    R = R * np.where(np.diag(R) < 0, -1.0, 1.0)[None, :]  # e_i^T R e_i >= 0 for every column
    gap = min(np.min(np.abs(np.diff(SJ))) / SJ[0], 1.0)
    t = tol(n, kappa=1.0 / gap, kernels=4)
    assert np.all(np.diag(s6.R) >= 0)
    assert within(np.max(np.abs(s6.R - R)), t, "R")
    assert within(np.max(np.abs(s6.sJ_over_sA * sA - SJ)) / SJ[0], tol(n, kernels=3), "s_J")
    assert within(np.max(np.abs(s6.log_sJ - np.log(SJ))), tol(n, kappa=SJ[0] / SJ[-1], kernels=3), "log s_J")
    lower = R[:r, :r] * sA[None, :r] / sA[:r, None]
    upper = R[:r, :r] * sA[:r, None] / sA[None, :r]
    big = float(np.max(sA[:r]) / np.min(sA[:r]))
    assert s6.lower.shape == (r, r) and s6.upper.shape == (r, r)
    assert within(np.max(np.abs(s6.lower - lower)), t * big, "lower")
    assert within(np.max(np.abs(s6.upper - upper)), t * big, "upper")


# ----------------------------------------------------------------------------------------------
# theory.alignment.ldl_unit_mp: C = T diag(d) T^T with T unit lower triangular, against numpy's Cholesky
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [1, 2, 4, 5])
def test_ldl_unit_mp_is_the_cholesky_factorisation(r):
    from theory import alignment as al

    rng = np.random.default_rng(10 + r)
    X = rng.standard_normal((r, r))
    C = X @ X.T + 0.5 * np.eye(r)
    T, d, Ti = al.ldl_unit_mp(C)
    Lc = np.linalg.cholesky(C)
    kappa = float(np.linalg.cond(C))
    assert T.shape == (r, r) and d.shape == (r,) and Ti.shape == (r, r)
    assert np.array_equal(np.diag(T), np.ones(r)) and np.array_equal(np.triu(T, 1), np.zeros((r, r)))
    assert within(np.max(np.abs(d - np.diag(Lc) ** 2)) / np.max(d), tol(r, kappa=kappa, kernels=2), "d")
    assert within(np.max(np.abs(T - Lc / np.diag(Lc)[None, :])), tol(r, kappa=kappa, kernels=2), "T")
    assert within(np.max(np.abs(Ti @ T - np.eye(r))), tol(r, kappa=float(np.linalg.cond(T)), kernels=2), "T^-1")
    assert within(np.max(np.abs(T @ np.diag(d) @ T.T - C)) / np.max(np.abs(C)), tol(r, kernels=3), "T d T^T")


def test_ldl_unit_mp_refuses_an_indefinite_matrix_at_its_pivot():
    from theory import alignment as al

    C = np.diag([1.0, 2.0, -1.0])
    with pytest.raises(ValueError, match="pivot 3"):
        al.ldl_unit_mp(C)
    with pytest.raises(ValueError, match="pivot 2"):
        al.ldl_unit_mp(np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_ldl_unit_mp_strictly_upper_part_is_exactly_zero():
    """T is unit lower triangular: no rounding residual may be written above the diagonal (graded Gram
    matrices where the residual of the L21 update is nonzero at working precision)."""
    from theory import alignment as al

    rng = np.random.default_rng(0)
    for trial in range(13):
        r = int(rng.integers(1, 7))
        X = rng.standard_normal((r, r)) * np.exp(rng.uniform(-5, 5, r))
        C = X @ X.T + np.diag(np.exp(rng.uniform(-8, 0, r)))
        if trial in (8, 12):
            T, d, Ti = al.ldl_unit_mp(C, 40 + 10 * (trial % 3))
            assert np.array_equal(np.triu(T, 1), np.zeros((r, r))), trial
            assert np.array_equal(np.diag(T), np.ones(r)) and np.all(d > 0)
