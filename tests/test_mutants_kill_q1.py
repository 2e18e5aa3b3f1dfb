"""Mutation blind spots of products, fgln, lyapunov and tensor (issue 17, part 6, helper q1): each helper is
compared whole with an independent computation from its definition, at the edges of its domain and away
from them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import plain_chain
from theory import products

EPS = np.finfo(np.float64).eps


# ----------------------------------------------------------------------------------------------
# products._block_svals on scale ranges far beyond MAX_BLOCK_NATS spread over sub-CUT_NATS gaps (the
# forced-split path): every block must stay within MAX_BLOCK_NATS or its columns underflow.
# References: for diagonal R_N the log singular values are exactly log|r_ii| + logt_i; for any
# triangular R_N their sum is log|det| = sum(log|r_ii| + logt_i), and the largest one lies between the
# largest column norm and sqrt(m) times it.
# ----------------------------------------------------------------------------------------------
def _ramps():
    step = 0.75 * products.CUT_NATS  # below the natural-cut gap, so only forced splits cut
    span = 2.5 * products.MAX_BLOCK_NATS  # several forced splits, well past exp's underflow
    m = int(np.ceil(span / step)) + 1
    ramp = -step * np.arange(m)
    rng = np.random.default_rng(17)
    return [ramp, ramp[::-1].copy(), rng.permutation(ramp), ramp + 300.0]


@pytest.mark.parametrize("case", range(4))
def test_block_svals_forced_splits_diagonal_exact(case):
    logt = _ramps()[case]
    m = logt.size
    rng = np.random.default_rng(100 + case)
    d = rng.choice([-1.0, 1.0], m) * rng.uniform(0.5, 2.0, m)
    got = products._block_svals(logt.copy(), np.diag(d))
    want = np.sort(np.log(np.abs(d)) + logt)[::-1]
    assert got.shape == (m,) and np.all(np.isfinite(got))
    bound = 8 * EPS * (np.abs(want).max() + 1.0)
    assert np.max(np.abs(got - want)) <= bound, np.max(np.abs(got - want))


@pytest.mark.parametrize("case", range(4))  # decreasing, increasing, shuffled: forced splits sort first
def test_block_svals_forced_splits_triangular_det_and_top(case):
    logt = _ramps()[case]
    m = logt.size
    rng = np.random.default_rng(200 + case)
    rn = np.triu(0.3 * rng.standard_normal((m, m)), 1) + np.diag(rng.choice([-1.0, 1.0], m) * rng.uniform(0.5, 2, m))
    got = products._block_svals(logt.copy(), rn.copy())
    assert got.shape == (m,) and np.all(np.isfinite(got)) and np.all(np.diff(got) <= 0)
    logdet = float(np.sum(np.log(np.abs(np.diag(rn))) + logt))
    # each block's log svals carry ~ block size * eps * cond(R_N) relative error; sum over m of them
    kappa = np.linalg.cond(rn)
    bound = 64 * m * m * EPS * (kappa + np.abs(logt).max() + 1.0)
    assert abs(float(got.sum()) - logdet) <= bound, (got.sum(), logdet, bound)
    # largest singular value: max column norm of R_N diag(t) <= s_1 <= sqrt(m) * max column norm
    top = logt.max()
    cols = np.log(np.linalg.norm(rn * np.exp(logt - top)[None, :], axis=0).max()) + top
    slack = 64 * m * EPS * (abs(cols) + 1.0)
    assert cols - slack <= got[0] <= cols + 0.5 * np.log(m) + slack


# ----------------------------------------------------------------------------------------------
# products: Benettin estimates of gated products whose rank collapses (rows dead in every sample are
# dropped, so the recorded factor is narrower than n): (1/L) sum_l log|R_l[i,i]| of finite Gaussian
# draws is finite or -inf (a zero pivot), never +inf, and entries beyond the rank of J_L are -inf.
# ----------------------------------------------------------------------------------------------
def test_benettin_beyond_rank_is_minus_inf():
    import torch

    saw_narrow = False
    for seed in range(3):
        kw = dict(n=5, depths=[2, 6], batch=4, p=0.3, sigma=1.0, conditioned=False)
        b = products.lyapunov_estimates(gen=torch.Generator().manual_seed(seed), **kw)
        s = products.log_svals(gen=torch.Generator().manual_seed(seed), **kw)
        assert b.shape == s.shape == (2, 4, 5)
        assert not torch.isposinf(b).any() and not torch.isnan(b).any()
        assert not torch.isposinf(s).any() and not torch.isnan(s).any()
        # a sample has at most as many finite Benettin entries as the widest live factor; the last
        # columns are -inf wherever no sample kept that many live rows
        finite_cols = torch.isfinite(b).any(dim=1)  # (depth, n)
        for d in range(2):
            k = int(finite_cols[d].sum())
            assert bool(finite_cols[d, :k].all()) and not bool(finite_cols[d, k:].any())
            saw_narrow |= k < 5
    assert saw_narrow


# ----------------------------------------------------------------------------------------------
# lyapunov.remainder_mc: the eigenvalue fallback (taken where Cholesky reports indefiniteness) computes the
# same log det(I + Y^T Y) as the Cholesky path, sample by sample: force the fallback on a chosen subset.
# ----------------------------------------------------------------------------------------------
def test_remainder_mc_fallback_matches_cholesky_path(monkeypatch):
    import torch

    from theory import lyapunov

    log_s = np.array([[0.0, -0.5, -1.0, -3.0], [1.0, 0.2, -0.4, -2.0], [0.5, 0.0, -5.0, -6.0]])
    want = lyapunov.remainder_mc(log_s, 2, torch.Generator().manual_seed(9), draws=5)
    real = torch.linalg.cholesky_ex

    def flaky(m, *a, **k):
        ch, info = real(m, *a, **k)
        info = info.clone()
        info[0, 1] = 1
        info[2, 0] = 1
        info[2, 4] = 1
        return ch, info

    monkeypatch.setattr(torch.linalg, "cholesky_ex", flaky)
    got = lyapunov.remainder_mc(log_s, 2, torch.Generator().manual_seed(9), draws=5)
    assert got.shape == want.shape == (3,)
    bound = 64 * 4 * EPS * (np.abs(want).max() + 1.0)
    assert np.max(np.abs(got - want)) <= bound, (got, want)


# ----------------------------------------------------------------------------------------------
# fgln.rem72_diagnostics: the factored first-order sum of Remark 7.2 rebuilt from plain SVDs (the products
# T^- V_A^T and U_B T^+ do not depend on the SVDs' column signs; A_{L+1} = B_1 = I take J's own bases).
# ----------------------------------------------------------------------------------------------
def _rem72_factored_reference(Ms, Mdots):
    L, n = len(Ms), Ms[0].shape[0]

    def chain(a, b):  # M_b ... M_a, the identity when a > b
        return plain_chain(Ms, a, b, n)

    U, _, Vt = np.linalg.svd(chain(1, L))
    V = Vt.T
    out = np.zeros(n)
    for l in range(1, L + 1):
        A, B = chain(l + 1, L), chain(1, l - 1)
        if l == L:
            Ua, sa, VaT = U, np.ones(n), U.T
        else:
            Ua, sa, VaT = np.linalg.svd(A)
        if l == 1:
            Ub, sb, Vb = V, np.ones(n), V
        else:
            Ub, sb, VbT = np.linalg.svd(B)
            Vb = VbT.T
        Tm = np.tril((U.T @ Ua) * sa[None, :] / sa[:, None])
        Tp = np.triu(sb[:, None] * (Vb.T @ V) / sb[None, :])
        out += np.diag(Tm @ VaT @ Mdots[l - 1] @ Ub @ Tp)
    return out


@pytest.mark.parametrize("L", [2, 3, 4])
def test_rem72_factored_sum_matches_plain_svd_reference(L):
    from theory import fgln

    rng = np.random.default_rng(40 + L)
    Ms = fgln.rem72_chain(3, L, [0.6, 0.0, -0.8], rng, eta=0.05, last_orthogonal=False)
    Mdots = [rng.standard_normal((3, 3)) for _ in Ms]
    d = fgln.rem72_diagnostics(Ms, Mdots, offsets=fgln.FACTOR_COUNT_72)
    want = _rem72_factored_reference(Ms, Mdots)
    kappa = max(np.linalg.cond(m) for m in Ms) ** L
    bound = 64 * L * EPS * kappa * (np.abs(want).max() + sum(np.linalg.norm(m, 2) for m in Mdots))
    assert np.max(np.abs(d["factored_sum"] - want)) <= bound, (d["factored_sum"], want, bound)
