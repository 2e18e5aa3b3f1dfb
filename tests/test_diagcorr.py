"""theory.diagcorr (Appendix F) against independent references: scipy.stats.pearsonr on expanded
samples, np.cov with weights, exact rationals, mpmath; and its input validation."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.stats import pearsonr

from checks.tolerance import tol
from conftest import within
from theory import diagcorr as dc


def _rho_tol(w, kernels=2) -> float:
    """Absolute tolerance on rho(W): sums of n^2 weighted terms and covariances E[ij] - E[i]E[j]
    (<= n^2, cancelling) over sqrt(Var i Var j): condition n^2 / sqrt(Var i Var j)."""
    w = np.abs(np.asarray(w, dtype=float))
    p = w / w.sum()
    n = p.shape[0]
    idx = np.arange(1, n + 1)
    vx = p.sum(1) @ idx**2 - (p.sum(1) @ idx) ** 2
    vy = p.sum(0) @ idx**2 - (p.sum(0) @ idx) ** 2
    return tol(n * n, kappa=n**2 / math.sqrt(vx * vy), kernels=kernels)


def expanded_pearson(w: np.ndarray) -> float:
    """Pearson r of the sample in which cell (i, j) appears w_ij times (integer weights)."""
    n = w.shape[0]
    ii, jj = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    x = np.repeat(ii.ravel(), w.ravel())
    y = np.repeat(jj.ravel(), w.ravel())
    return float(pearsonr(x, y).statistic)


@pytest.mark.parametrize("seed", range(8))
def test_rho_matches_pearsonr_on_expanded_samples(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    w = rng.integers(0, 6, (n, n)) * (rng.random((n, n)) < 0.6)
    w[0, 0] += 1
    w[-1, -1] += 1  # defined: two rows and two columns
    ref = expanded_pearson(w)
    t = _rho_tol(w)  # pearsonr sums the expanded sample (w.sum() <= 5 n^2 terms): same condition
    assert within(abs(dc.rho(w) - ref), t, "rho vs pearsonr")
    assert within(abs(dc.rho_closed_form(w) - ref), t, "closed form vs pearsonr")
    c, vx, vy = dc.rho_exact_parts(w.tolist())
    assert within(abs(float(c) / math.sqrt(float(vx * vy)) - ref), t, "exact parts vs pearsonr")


def test_rho_matches_weighted_cov_for_real_weights():
    rng = np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(2, 8))
        a = rng.standard_normal((n, n)) * 10.0 ** rng.uniform(-6, 0, (n, n))
        w = np.abs(a) / np.abs(a).sum()
        ii, jj = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
        cv = np.cov(np.vstack([ii.ravel(), jj.ravel()]).astype(float), aweights=w.ravel(), bias=True)
        ref = cv[0, 1] / math.sqrt(cv[0, 0] * cv[1, 1])
        assert within(abs(dc.rho(a) - ref), _rho_tol(a), "rho vs weighted cov")
        assert dc.rho(a) == dc.rho(np.abs(a))  # "up to taking absolute value"


def test_extreme_scales_and_dynamic_range_against_mpmath():
    base = np.array([[3.0, 1e-12, 0.0], [1.0, 2.0, 1e-9], [0.0, 5.0, 1.0]])
    with mpmath.workdps(50):
        W = [[mpmath.mpf(x) for x in r] for r in base]
        m = mpmath.fsum(x for r in W for x in r)
        n = 3
        ex = mpmath.fsum((i + 1) * W[i][j] for i in range(n) for j in range(n)) / m
        ey = mpmath.fsum((j + 1) * W[i][j] for i in range(n) for j in range(n)) / m
        cov = mpmath.fsum((i + 1 - ex) * (j + 1 - ey) * W[i][j] for i in range(n) for j in range(n)) / m
        vx = mpmath.fsum((i + 1 - ex) ** 2 * W[i][j] for i in range(n) for j in range(n)) / m
        vy = mpmath.fsum((j + 1 - ey) ** 2 * W[i][j] for i in range(n) for j in range(n)) / m
        ref = float(cov / mpmath.sqrt(vx * vy))
    t = _rho_tol(base, kernels=1)  # the scaling rounds each entry once more: inside the same bound
    for scale in (1e-300, 1e-100, 1.0, 1e100, 1e300):
        assert within(abs(dc.rho_pearson(base * scale) - ref), t, "pearson scaled")
        assert within(abs(dc.rho_closed_form(base * scale) - ref), t, "closed form scaled")


def test_extreme_values_and_examples():
    assert within(abs(dc.rho(np.eye(4)) - 1.0), _rho_tol(np.eye(4), kernels=1), "rho(I)")
    assert within(abs(dc.rho(np.fliplr(np.eye(5))) + 1.0), _rho_tol(np.eye(5), kernels=1), "rho(J)")
    a = np.zeros((3, 3))
    a[0, 0] = a[2, 1] = 1.0  # collinear, not diagonal: rho = 1 (Appendix F finding)
    assert within(abs(dc.rho(a) - 1.0), _rho_tol(a, kernels=1), "collinear")
    assert dc.rho_exact_parts(a.astype(int).tolist())[0] ** 2 == math.prod(dc.rho_exact_parts(a.astype(int).tolist())[1:])
    s = 0.3
    w2 = np.array([[1 - s, s], [s, 1 - s]])
    assert within(abs(dc.rho(w2) - (1 - 2 * s)), _rho_tol(w2, kernels=1), "2x2")


def test_undefined_cases_are_nan_in_both_forms():
    for a in (np.array([[1.0]]), np.diag([1.0, 0.0]), np.array([[0.1, 0.7], [0.0, 0.0]]),
              np.array([[0.0, 0.3, 0.0], [0.0, 1e-7, 0.0], [0.0, 2.0, 0.0]])):
        assert not dc.is_defined(a)
        assert math.isnan(dc.rho_pearson(a)) and math.isnan(dc.rho_closed_form(a))
    assert dc.is_defined(np.eye(2))


def test_exact_parts_fractions_and_errors():
    c, vx, vy = dc.rho_exact_parts([[Fraction(1, 3), 0], [0, Fraction(2, 3)]])
    assert c > 0 and c * c == vx * vy
    with pytest.raises(ValueError):
        dc.rho_exact_parts([[0, 0], [0, 0]])
    with pytest.raises(ValueError):
        dc.rho_exact_parts([[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.ones(4), np.ones((2, 2, 2)), np.zeros((3, 3)),
                                 np.array([[1.0, np.nan], [0.0, 1.0]]), np.array([[np.inf, 0.0], [0.0, 1.0]])])
def test_bad_inputs_raise(bad):
    for fn in (dc.rho, dc.rho_pearson, dc.rho_closed_form, dc.is_defined):
        with pytest.raises(ValueError):
            fn(bad)


# ---------------------------------------------------------------------------------------------
# The freedom of an SVD past the rank (resolved_rank, rotate_free_columns, align_free_columns)
# ---------------------------------------------------------------------------------------------


def _rank_deficient(rng, n, k):
    """M = U diag(s) V^T of exact rank k (up to rounding of the product), with its float64 SVD."""
    M = rng.standard_normal((n, k)) @ rng.standard_normal((k, n))
    U, s, _ = np.linalg.svd(M)
    return M, U, s


def _is_left_singular_basis(U, M, s):
    """U orthogonal and U^T M M^T U = diag(s^2): U is a valid left-singular basis of M."""
    n = U.shape[0]
    G = U.T @ M @ M.T @ U
    # SVD backward error ~ n eps s_1 per factor; G is 4 products of size n
    return (within(np.abs(U.T @ U - np.eye(n)), tol(n, kernels=3), "orthogonal basis")
            and within(np.abs(G - np.diag(s**2)), tol(n, scale=s[0] ** 2, kernels=5), "singular basis"))


@pytest.mark.parametrize("seed", range(4))
def test_resolved_rank_and_valid_alternative_svds(seed):
    rng = np.random.default_rng(seed)
    n, k = 9, int(rng.integers(1, 8))
    M, U, s = _rank_deficient(rng, n, k)
    assert dc.resolved_rank(s, tol(n, kernels=2)) == k  # above the product's and the SVD's rounding
    Uh = dc.rotate_free_columns(U, k, rng)
    Ua = dc.align_free_columns(U, k, dc.rotate_free_columns(U, k, rng))
    for V in (Uh, Ua):
        assert np.array_equal(V[:, :k], U[:, :k])  # the determined columns, bit for bit
        assert _is_left_singular_basis(V, M, s)
    if n - k >= 2:
        assert np.abs(Uh[:, k:] - U[:, k:]).max() > tol(n, kernels=2)  # the free columns did move (beyond rounding)


def test_align_free_columns_meets_the_null_basis_of_a_larger_range():
    """range J in range A (J = A B): aligning U_J's free columns to U_A puts an identity in the
    bottom-right block of U_J^T U_A, and the full rho moves while the range block does not."""
    rng = np.random.default_rng(3)
    n = 12
    A = rng.standard_normal((n, 7)) @ rng.standard_normal((7, n))
    J = A @ (rng.standard_normal((n, 4)) @ rng.standard_normal((4, n)))
    UA, sA, _ = np.linalg.svd(A)
    UJ, sJ, _ = np.linalg.svd(J)
    kA, kJ = int(dc.resolved_rank(sA, tol(n, kernels=2))), int(dc.resolved_rank(sJ, tol(n, kernels=3)))
    assert (kA, kJ) == (7, 4)
    Ua = dc.align_free_columns(UJ, kJ, UA)
    R = Ua.T @ UA
    # null bases of A and J from two SVDs (n eps / relative gap each), aligned by one more product
    assert within(np.abs(R[kA:, kA:] - np.eye(n - kA)), tol(n, kappa=sA[0] / sA[kA - 1], kernels=3), "aligned block")
    assert _is_left_singular_basis(Ua, J, sJ)
    Uh = dc.rotate_free_columns(UJ, kJ, rng)
    assert dc.rho((Uh.T @ UA)[:kJ, :kJ]) == dc.rho((UJ.T @ UA)[:kJ, :kJ])
    assert abs(dc.rho(R) - dc.rho(UJ.T @ UA)) > _rho_tol(R) + _rho_tol(UJ.T @ UA)  # beyond rounding


def test_free_column_helpers_batch_and_validate():
    rng = np.random.default_rng(0)
    U = np.stack([np.linalg.qr(rng.standard_normal((5, 5)))[0] for _ in range(6)]).reshape(2, 3, 5, 5)
    k = np.array([[1, 5, 0], [2, 3, 4]])
    V = dc.rotate_free_columns(U, k, rng)
    assert V.shape == U.shape
    for idx in np.ndindex(2, 3):
        assert np.array_equal(V[idx][:, : k[idx]], U[idx][:, : k[idx]])
        assert within(np.abs(V[idx].T @ V[idx] - np.eye(5)), tol(5, kernels=3), "rotated basis")  # QR, rotation, product
    W = dc.align_free_columns(U, k, V)
    assert within(np.abs(np.swapaxes(W, -1, -2) @ W - np.eye(5)), tol(5, kernels=4), "aligned basis")
    assert np.array_equal(dc.resolved_rank(np.array([[3.0, 1.0, 0.0], [1.0, 1e-20, 0.0]]), tol(3)), [2, 1])
    with pytest.raises(ValueError):
        dc.rotate_free_columns(np.eye(3), 4, rng)
    with pytest.raises(ValueError):
        dc.rotate_free_columns(np.ones((3, 2)), 1, rng)
    with pytest.raises(ValueError):
        dc.align_free_columns(np.eye(3), 1, np.eye(4))
    with pytest.raises(ValueError):
        dc.resolved_rank(np.array([1.0, 0.5]), 0.0)


def test_resolved_rank_of_gated_products_is_the_smallest_gate_rank():
    """For an FGLN product J = W_L D_{L-1} ... D_1 W_1 with generic Ginibre W, rank J = min_l rk D_l
    a.s.; float64 resolves it at the tolerance the alignment figures use."""
    import torch

    from theory import alignment as al

    n, L, S = 24, 6, 12
    g = torch.Generator().manual_seed(5)
    J, A = al.fgln_products(g, S, n, 0.5, L, 1 / math.sqrt(n), "fgln")
    gate_rank = (np.abs(A.numpy()).sum(-2) > 0).sum(-1)  # A_l = (...) D_l: zero columns where D_l = 0
    sJ = torch.linalg.svdvals(J).numpy()
    sA = torch.linalg.svdvals(A).numpy()
    rel = tol(n, kernels=L + 1)
    assert np.array_equal(dc.resolved_rank(sJ, rel), gate_rank.min(1))
    assert np.array_equal(dc.resolved_rank(sA, rel), np.minimum.accumulate(gate_rank[:, ::-1], 1)[:, ::-1])
