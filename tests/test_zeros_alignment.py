"""Issue 17 (Section 6, Appendix D, alignment figures): helpers that feed foils or evidence, checked against
their definitions, and detectors checked at their zeros (~ 0 where the truth is 0, > 0 where it is not),
including batches of rank >= 3 (stacks of matrices).

Tolerances are derived from float64's eps, the sizes and the conditioning (checks.tolerance.tol); the
"> 0" sides compare with the same tolerances, so a detector that returned noise of its tolerance's size
could not pass both.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import sec6_constant_ladder, within

from checks.strategies import haar_orthogonal_np
from checks.tolerance import EPS64, tol
from theory import alignment as al
from theory import diagcorr as dc

# ------------------------------------------------------------------------------------------------
# rho_batch (Appendix F, vectorised Pearson form) against the definition in exact rational arithmetic
# ------------------------------------------------------------------------------------------------


def _rho_exact(W) -> float:
    """rho of |W| from its definition, exactly: Pearson correlation of (X, Y) ~ |W_ij| / sum|W|, with every
    moment a Fraction (the float input is exact as a Fraction), rounded once at the end."""
    k = len(W)
    w = [[abs(Fraction(float(x))) for x in row] for row in W]
    m = sum(sum(r) for r in w)
    ex = sum((i + 1) * w[i][j] for i in range(k) for j in range(k)) / m
    ey = sum((j + 1) * w[i][j] for i in range(k) for j in range(k)) / m
    cov = sum((i + 1 - ex) * (j + 1 - ey) * w[i][j] for i in range(k) for j in range(k)) / m
    vx = sum((i + 1 - ex) ** 2 * w[i][j] for i in range(k) for j in range(k)) / m
    vy = sum((j + 1 - ey) ** 2 * w[i][j] for i in range(k) for j in range(k)) / m
    if vx == 0 or vy == 0:
        return math.nan
    return float(cov) / math.sqrt(float(vx) * float(vy))


def _rho_tol(W) -> float:
    """rho_batch forms raw second moments of indices <= k and subtracts squared means: a cancellation that costs
    ~ k^2 eps / Var relatively, plus the sums over k^2 cells."""
    k = W.shape[-1]
    w = np.abs(np.asarray(W, float))
    p = w / w.sum()
    idx = np.arange(1, k + 1.0)
    px, py = p.sum(1), p.sum(0)
    var = min(px @ idx ** 2 - (px @ idx) ** 2, py @ idx ** 2 - (py @ idx) ** 2)
    return tol(k * k, kernels=4) * k ** 2 / var


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 2, 2)])
def test_rho_batch_matches_exact_definition_on_stacks(shape):
    """Stacks of rank 3, 4 and 5 (batch dims + k x k): every entry equals the exact rational definition."""
    rng = np.random.default_rng(17)
    k = 6
    W = rng.standard_normal(shape + (k, k)) * rng.uniform(0.1, 10.0, shape + (1, 1))
    got = al.rho_batch(W)
    assert got.shape == shape
    for idx in np.ndindex(*shape):
        want = _rho_exact(W[idx])
        assert abs(got[idx] - want) <= _rho_tol(W[idx]), (idx, got[idx], want)


def test_rho_batch_zero_where_the_truth_is_zero():
    """Independent coordinates (an outer product u v^T of positive vectors, or a constant matrix): Cov = 0
    exactly, so rho = 0; rho_batch returns 0 within its tolerance. Diagonal-heavy matrices: rho clearly > 0."""
    rng = np.random.default_rng(3)
    k = 8
    zeros = np.stack([np.outer(rng.uniform(0.1, 2, k), rng.uniform(0.1, 2, k)) for _ in range(4)]
                     + [np.ones((k, k))])
    vals = al.rho_batch(zeros.reshape(1, 5, k, k))[0]
    for W, v in zip(zeros, vals):
        assert _rho_exact(W) == pytest.approx(0.0, abs=tol(k * k, kernels=4))
        assert abs(v) <= _rho_tol(W), v
    # > 0 where it is not: weight moved onto the diagonal (rho of I is exactly 1, of the anti-diagonal -1)
    eye = np.eye(k)
    nonzero = np.stack([zeros[0] + 3 * eye * zeros[0].mean(), eye, eye[::-1]])
    got = al.rho_batch(nonzero)
    for W, v in zip(nonzero, got):
        assert abs(v - _rho_exact(W)) <= _rho_tol(W)
    assert got[0] > 10 * _rho_tol(nonzero[0]) and got[1] == pytest.approx(1.0, abs=_rho_tol(eye))
    assert got[2] == pytest.approx(-1.0, abs=_rho_tol(eye))


def test_rho_batch_undefined_is_nan():
    k = 4
    one_row = np.zeros((k, k))
    one_row[1] = 1.0
    one_col = one_row.T.copy()
    assert np.isnan(al.rho_batch(np.stack([one_row, one_col]))).all()


# ------------------------------------------------------------------------------------------------
# align_free_columns / rotate_free_columns / resolved_rank against their definitions
# ------------------------------------------------------------------------------------------------


def _gram_schmidt(X):
    """Classical Gram-Schmidt, in order, twice per column (the definition: q_j = normalised component of x_j
    orthogonal to q_1..q_{j-1}), written independently of numpy's QR."""
    Q = np.zeros_like(X)
    for j in range(X.shape[1]):
        v = X[:, j].copy()
        for _ in range(2):
            v = v - Q[:, :j] @ (Q[:, :j].T @ v)
        Q[:, j] = v / np.linalg.norm(v)
    return Q


def _free_tol(n, kappa=1.0):
    return tol(n, kappa=kappa, kernels=4)


@pytest.mark.parametrize("n,k", [(6, 2), (7, 4), (5, 0), (5, 4)])
def test_align_free_columns_matches_its_definition(n, k):
    """Columns k..n replaced by Gram-Schmidt (in order) of V's columns k..n projected onto span(U[:, :k])^perp;
    columns 0..k-1 kept bit for bit."""
    rng = np.random.default_rng(n * 10 + k)
    U, V = haar_orthogonal_np(n, rng), haar_orthogonal_np(n, rng)
    got = dc.align_free_columns(U, k, V)
    assert np.array_equal(got[:, :k], U[:, :k])
    F = U[:, :k]
    X = V[:, k:] - F @ (F.T @ V[:, k:])
    # conditioning of the projected columns (their smallest singular value) amplifies rounding
    s = np.linalg.svd(X, compute_uv=False)
    want = _gram_schmidt(X)
    assert np.max(np.abs(got[:, k:] - want)) <= _free_tol(n, kappa=1.0 / s[-1] ** 2)
    assert np.max(np.abs(got.T @ got - np.eye(n))) <= _free_tol(n)


def test_align_free_columns_zero_defect_and_positive_defect():
    """Zero: aligning U to itself, or to V = U blockdiag(I_k, Q) (its free columns already in U's free span),
    returns V: the defect ||align(U, k, V) - V|| is ~0. Not zero: a V whose free columns leave that span (a
    generic V) gives a defect far above the tolerance, and then U_aligned^T V has an upper-triangular free block
    only on the projection (checked on a range-inclusion case instead)."""
    rng = np.random.default_rng(5)
    n, k = 8, 3
    U = haar_orthogonal_np(n, rng)
    assert np.max(np.abs(dc.align_free_columns(U, k, U) - U)) <= _free_tol(n)
    Q = haar_orthogonal_np(n - k, rng)
    V = U.copy()
    V[:, k:] = U[:, k:] @ Q
    assert np.max(np.abs(dc.align_free_columns(U, k, V) - V)) <= _free_tol(n)
    W = haar_orthogonal_np(n, rng)
    assert np.max(np.abs(dc.align_free_columns(U, k, W) - W)) > 1e3 * _free_tol(n)


def test_align_and_rotate_on_stacks_with_per_matrix_ranks():
    """Rank-4 stacks (2, 3, n, n) with a rank per matrix: each matrix treated as the 2-D definition says."""
    rng = np.random.default_rng(11)
    n = 5
    U = np.stack([np.stack([haar_orthogonal_np(n, rng) for _ in range(3)]) for _ in range(2)])
    V = np.stack([np.stack([haar_orthogonal_np(n, rng) for _ in range(3)]) for _ in range(2)])
    k = np.array([[0, 2, 5], [1, 3, 4]])
    got = dc.align_free_columns(U, k, V)
    rot = dc.rotate_free_columns(U, k, np.random.default_rng(0))
    for idx in np.ndindex(2, 3):
        kk = int(k[idx])
        assert np.array_equal(got[idx], dc.align_free_columns(U[idx], kk, V[idx]))
        assert np.array_equal(rot[idx][:, :kk], U[idx][:, :kk])
        # same span of the free columns (a valid SVD): projectors agree; orthonormal
        Pf = rot[idx][:, kk:] @ rot[idx][:, kk:].T
        assert np.max(np.abs(Pf - U[idx][:, kk:] @ U[idx][:, kk:].T)) <= _free_tol(n)
        assert np.max(np.abs(rot[idx].T @ rot[idx] - np.eye(n))) <= _free_tol(n)


def test_resolved_rank_counts_exactly():
    s = np.array([[1.0, 0.5, 1e-3, 1e-20, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    assert dc.resolved_rank(s, 1e-10).tolist() == [3, 5]
    assert dc.resolved_rank(s, 0.5).tolist() == [1, 5]  # strict: s_2 = 0.5 s_1 is not above 0.5 s_1
    with pytest.raises(ValueError):
        dc.resolved_rank(s, 0.0)


# ------------------------------------------------------------------------------------------------
# ldl_unit_batch (feeds the constants of thm-6.1/products and their foils) against the definition
# ------------------------------------------------------------------------------------------------


def test_ldl_unit_batch_reconstructs_and_matches_minor_ratios_on_stacks():
    """T diag(d) T^T = C (unit lower T) and d_i = det C^{i,i}/det C^{i-1,i-1} (the definition of Sigma_C via
    leading minors, computed in mpmath); a non-PD member gets nan and leaves the others untouched."""
    rng = np.random.default_rng(2)
    r = 4
    G = rng.standard_normal((2, 3, r, r + 2))
    C = G @ np.swapaxes(G, -1, -2)
    C[1, 2] = np.diag([1.0, -1.0, 1.0, 1.0])  # not PD
    T, d = al.ldl_unit_batch(C)
    assert np.isnan(T[1, 2]).all() and np.isnan(d[1, 2]).all()
    for idx in np.ndindex(2, 3):
        if idx == (1, 2):
            continue
        kappa = np.linalg.cond(C[idx])
        assert np.array_equal(np.triu(T[idx], 1), np.zeros((r, r)))
        assert np.array_equal(np.diag(T[idx]), np.ones(r))
        rec = T[idx] @ np.diag(d[idx]) @ T[idx].T
        assert np.max(np.abs(rec - C[idx])) <= tol(r, kappa=kappa, scale=np.abs(C[idx]).max(), kernels=3)
        ell = al.leading_minor_ratios(C[idx], r)
        assert np.max(np.abs(d[idx] / ell - 1)) <= tol(r, kappa=kappa, kernels=3)


# ------------------------------------------------------------------------------------------------
# alignment_profiles (the statistics Figures 10-12 plot) against their definitions; the label slip is visible
# ------------------------------------------------------------------------------------------------


def test_alignment_profiles_are_the_named_statistics_and_the_next_index_is_not():
    import torch

    g = torch.Generator()
    g.manual_seed(4)
    # p = 1 (full rank), short products: the top k + 1 singular values are resolved, so their vectors are defined
    S, n, L, k = 2, 24, 5, 10
    J, A = al.fgln_products(g, S, n, 1.0, L, 1 / math.sqrt(n))
    prof = al.alignment_profiles(J, A, k)
    Jn, An = J.numpy(), A.numpy()
    for b in range(S):
        UJ, sJ, _ = np.linalg.svd(Jn[b])
        for l in range(L - 1):
            UA, sA, _ = np.linalg.svd(An[b, l])
            gaps = np.abs(np.diff(np.concatenate([sJ[:k + 2], sA[:k + 2]])))
            kappa = max(sJ[0], sA[0]) / max(gaps[gaps > 0].min(), EPS64 * sJ[0])
            t_rho = tol(n, kappa=kappa, kernels=4) * k ** 2
            G = UJ[:, :k].T @ An[b, l]
            want = {"top": dc.rho_pearson((UJ.T @ UA)[:k, :k]), "gram": dc.rho_pearson(G @ G.T),
                    "aat": dc.rho_pearson(An[b, l][:k] @ An[b, l][:k].T), "sep": math.log(sA[0] / sA[k - 1])}
            for key, w in want.items():
                assert abs(prof[key][b, l] - w) <= t_rho, (key, b, l, prof[key][b, l], w)
            # the label slip log(s_1/s_{k+1}) differs by far more than the tolerance
            assert abs(prof["sep"][b, l] - math.log(sA[0] / sA[k])) > 1e3 * t_rho


# ------------------------------------------------------------------------------------------------
# Detectors of the claims: the ladder remainder and the figures' value check, at their zeros
# ------------------------------------------------------------------------------------------------


def test_ladder_comparisons_zero_at_the_truth_positive_at_the_constant_slip():
    """cmp_sigma_det (thm-d.1/b) and cmp_lower (rem-d.2/lower) on one input: within tolerance at the printed
    constant (the remainder is the O(eps_L) truncation, below REMAINDER_CONST), far beyond it at a constant moved
    by 1/32 (the finest step of the Knob scan), on both sides."""
    from theory.claims import app_d

    C = np.array([[2.0, 0.6, 0.3], [0.6, 1.5, 0.4], [0.3, 0.4, 1.0]])
    a = np.array([0.0, 0.7, 1.5])
    for cmp in (app_d.cmp_sigma_det, app_d.cmp_lower, app_d.cmp_entries):
        assert cmp(C, 2, a, "exp").ok
        for d in (1 / 32, -1 / 32):
            out = cmp(C, 2, a, "exp", scale=1 + d)
            assert out.err > 1e3 * out.tol, (cmp.__name__, d, out.err)


def test_scale_offdiag_fixes_the_unit_diagonal():
    from theory.claims.app_d import scale_offdiag

    T = np.array([[1.0, 0.0], [0.3, 1.0]])
    assert np.array_equal(scale_offdiag(T, 1.0), T)
    assert np.array_equal(np.diag(scale_offdiag(T, 1.5)), np.ones(2))
    # 0 + 1.5 * (0.3 - 0): one rounding of the product, besides the literals 0.3 and 0.45's own
    assert within(abs(scale_offdiag(T, 1.5)[1, 0] - 0.45), tol(1, scale=0.45), "scale_offdiag")


def test_figure_value_check_zero_and_positive():
    from theory.claims.fig_alignment import _value_check

    vals = np.linspace(0.1, 0.9, 6).reshape(2, 3)
    ind = {"values": {10: vals.copy(), 11: vals * 1.1}, "tol": np.full(vals.shape, tol(10))}
    assert _value_check(vals, ind, 10)["ok"]
    bad = _value_check(vals, ind, 11)
    assert not bad["ok"] and bad["max ratio to tolerance"] > 1e6


# ------------------------------------------------------------------------------------------------
# Helpers that feed foils (their wrong constants must be the ones the foil names, not the truth by accident)
# ------------------------------------------------------------------------------------------------


def _spd(r, seed):
    G = np.random.default_rng(seed).standard_normal((r, r + 2))
    return G @ G.T


def test_limit_variants_are_their_definitions():
    """app_d._ell_variant: 'ell' the leading-minor ratios, 'Sigma' the LDL pivots (equal to them), 'sqrt' their
    square roots, 'diag' c_ii, 'det' det C^{i,i} (numpy determinants); the foils' variants differ from the truth
    from i = 2 on (for i = 1 all are c_11)."""
    from theory.claims.app_d import _ell_variant

    r = 4
    C = _spd(r, 8)
    pred = al.predict(C, r)
    kap = np.linalg.cond(C)
    t = tol(r, kappa=kap, kernels=3)
    dets = np.array([np.linalg.det(C[:i, :i]) for i in range(1, r + 1)])
    ratios = dets / np.concatenate([[1.0], dets[:-1]])
    want = {"ell": ratios, "Sigma": ratios, "sqrt": np.sqrt(ratios), "diag": np.diag(C), "det": dets}
    for which, w in want.items():
        got = _ell_variant(C, pred, r, which)
        assert np.max(np.abs(got / w - 1)) <= t, which
        if which not in ("ell", "Sigma"):
            assert np.max(np.abs(got[1:] / ratios[1:] - 1)) > 1e3 * t, which  # a foil, not the truth


def test_tail_constants_solve_eq2_and_the_naive_ones_do_not():
    """Remark D.3's derived K = C_21 T_C^{-T} Sigma_C^{-1} is defined by C_21 = K Sigma_C T_C^T (the lower-left
    block of eq. (2) in the limit): residual ~ 0. The naive foil c_ji/c_ii leaves a residual far above it."""
    from theory.claims.app_d import _tail_constants

    n, r = 5, 2
    C = _spd(n, 9)
    pred = al.predict(C, r)
    t = tol(n, kappa=np.linalg.cond(C), scale=np.abs(C).max(), kernels=4)
    for const, zero in (("derived", True), ("naive", False)):
        K = _tail_constants(C, r, const)
        res = np.max(np.abs(K @ np.diag(pred.Sigma) @ pred.T.T - C[r:, :r]))
        assert (res <= t) if zero else (res > 1e3 * t), (const, res, t)
    assert np.allclose(_tail_constants(C, r, "naive"), C[r:, :r] / np.diag(C)[:r], rtol=0, atol=t)


def test_entry_constant_swap_exchanges_T_and_its_inverse():
    from theory.claims.app_d import _entry_constant

    C = _spd(3, 10)
    pred = al.predict(C, 3)
    for j, i in ((1, 0), (0, 1), (2, 0), (0, 2)):
        K, which = _entry_constant(pred, j, i, True, "paper")
        Ks, _ = _entry_constant(pred, j, i, True, "swapped")
        # corrected (c): (T_C)_{j,i} s_j/s_i for i < j; (T_C^{-1})_{i,j} s_i/s_j for j < i
        assert K == (pred.T[j, i] if i < j else pred.Tinv[i, j])
        assert Ks == (pred.Tinv[j, i] if i < j else pred.T[i, j])
        assert Ks != K


def test_sec6_gram_of_the_columns_is_the_foils_C():
    from theory.claims.sec6 import _pred_for

    B = np.random.default_rng(12).standard_normal((4, 4))
    rows, cols = _pred_for(B, 2, "rows"), _pred_for(B, 2, "cols")
    for p, C in ((rows, B @ B.T), (cols, B.T @ B)):
        q = al.predict(C, 2)
        assert np.array_equal(p.Sigma, q.Sigma) and np.array_equal(p.T, q.T)
    assert np.max(np.abs(rows.Sigma - cols.Sigma)) > 1e3 * tol(4, kappa=np.linalg.cond(B) ** 2)
    B[1] = 2 * B[0]  # rows 1, 2 dependent: C^{2,2} of B B^T singular, no prediction
    assert _pred_for(B, 2, "rows") is None


def test_rho_signed_is_the_closed_form_on_signed_weights():
    """fig-6's listed (invalid) 'signed' reading: Appendix F's closed form with signed A_ij; equal to rho of |A|
    for nonnegative A, and nan where the signed variances are not positive."""
    from theory.claims.fig_alignment import _rho_signed

    rng = np.random.default_rng(13)
    k = 6
    P = rng.uniform(0.1, 1.0, (3, k, k))
    assert np.max(np.abs(_rho_signed(P) - al.rho_batch(P))) <= max(_rho_tol(W) for W in P)
    Z = np.zeros((k, k))
    Z[0, 0], Z[k - 1, k - 1], Z[0, k - 1] = 1.0, 1.0, -2.0  # total mass 0: variances not positive
    assert np.isnan(_rho_signed(Z))


def test_samplers_layers_are_gated_ginibre():
    """Definition 5.2: M = D W with D an (r, p)-gate (0/1 diagonal of rank >= r): the rows of M where the gate is 0
    are exactly 0, the others are the Ginibre rows; every gate has rank >= r."""
    import torch

    from theory import samplers

    g = torch.Generator()
    g.manual_seed(14)
    d = samplers.rp_gate(400, 6, 3, 0.3, g)
    assert set(torch.unique(d).tolist()) <= {0.0, 1.0}
    assert int(d.sum(1).min()) >= 3
    g1, g2 = torch.Generator(), torch.Generator()
    g1.manual_seed(15), g2.manual_seed(15)
    M = samplers.layer(50, 6, 2, 0.5, 0.4, g1)
    D = samplers.rp_gate(50, 6, 2, 0.5, g2)
    W = samplers.ginibre(50, 6, 0.4, g2)
    assert torch.equal(M, D.unsqueeze(-1) * W)
    assert torch.equal(M[D == 0], torch.zeros_like(M[D == 0]))


# ------------------------------------------------------------------------------------------------
# thm-6.1/products: the constant statistic at its zero (remainder O(rho)) and off it (a factor on K)
# ------------------------------------------------------------------------------------------------


def test_products_constant_statistic_zero_and_positive():
    """Synthetic draws with R_ij = K_ij ratio (1 + c rho_m): the statistic log|R_ij/ratio - K| - log rho_m has slope
    0 in m (the O(rho) remainder the claim predicts), within z SE; with K scaled by 1.5 the remainder is O(1) and the
    slope exceeds the claim's refutation threshold (half the slope of -log rho_m)."""
    from theory.claims import sec6

    S = 4000
    data, consts = sec6_constant_ladder(16, S, lambda T, Ti, i, j: T[:, i, j] if j < i else Ti[:, j, i])
    z = 4.0
    for scale, zero in ((1.0, True), (1.5, False)):
        for (i, j, est, se, alt, used) in sec6._const_stats(data, consts, None, 1.0, "rows", scale):
            assert used == S
            if zero:
                assert abs(est) <= z * se + tol(S, kernels=4), (i, j, est, se)
            else:
                # the claim's refutation rule (beyond 50% of the wrong-constant slope); at these shallow depths
                # |c rho_m - 0.5| still varies, so the slope is not yet exactly alt
                assert est - z * se > 0.5 * alt, (i, j, est, se, alt)
