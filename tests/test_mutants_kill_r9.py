"""Round r9 mutation kills: theory/wedge.py::log_wedge_columns (against Gram determinants, every batch rank,
square and wide) and theory/claims/_ladder.py::_brackets (every Bracket field recomputed from its definition)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import within

EPS = np.finfo(np.float64).eps


def _ref_log_wedge(y: np.ndarray, i: int) -> np.ndarray:
    """(1/2) log det(Y_i^T Y_i) by Gram determinant in long double per matrix; -inf where i > rows."""
    y = np.asarray(y, dtype=np.float64)
    flat = y.reshape(-1, *y.shape[-2:])
    out = []
    for a in flat:
        if i > a.shape[0]:
            out.append(-np.inf)
            continue
        g = a[:, :i].T @ a[:, :i]
        sign, ld = np.linalg.slogdet(g)
        out.append(0.5 * ld if sign > 0 else -np.inf)
    return np.array(out).reshape(y.shape[:-2])


@pytest.mark.parametrize("shape", [(4, 4), (3, 4, 4), (2, 3, 4, 4), (2, 1, 3, 5, 5), (3, 2, 4), (2, 3, 2, 4)])
def test_log_wedge_columns_matches_gram_determinant_every_batch_rank(shape):
    from theory.wedge import log_wedge_columns

    rng = np.random.default_rng(91)
    y = rng.standard_normal(shape)
    rows, cols = shape[-2:]
    for i in range(1, cols + 1):
        got = log_wedge_columns(y, i)
        ref = _ref_log_wedge(y, i)
        assert np.shape(got) == shape[:-2], (shape, i, np.shape(got))
        if i > rows:
            assert np.all(np.isneginf(got)), (shape, i, got)
            continue
        # Gram condition number of Gaussian columns is modest: slogdet error ~ i * n * eps * cond
        cond = max(np.linalg.cond(a[:, :i].T @ a[:, :i]) for a in y.reshape(-1, rows, cols))
        assert within(np.abs(got - ref), 8 * i * rows * EPS * cond + 8 * EPS * np.abs(ref), "log_wedge"), (shape, i)
    for bad in (0, cols + 1):
        with pytest.raises(ValueError):
            log_wedge_columns(y, bad)


def test_log_wedge_columns_dependent_columns_are_minus_inf_and_scaling():
    from theory.wedge import log_wedge_columns

    y = np.zeros((2, 3, 3))
    y[0] = np.eye(3) * np.array([2.0, 3.0, 5.0])
    y[1, :, 0] = [1.0, 2.0, 0.0]
    y[1, :, 1] = [2.0, 4.0, 0.0]  # column 2 = 2 * column 1
    y[1, :, 2] = [0.0, 0.0, 7.0]
    for i, want0 in ((1, np.log(2.0)), (2, np.log(6.0)), (3, np.log(30.0))):
        got = log_wedge_columns(y, i)
        assert got.shape == (2,)
        assert within(abs(got[0] - want0), 8 * EPS * abs(want0) + 8 * EPS, "diag")
        if i == 1:
            assert within(abs(got[1] - 0.5 * np.log(5.0)), 16 * EPS, "col1")
        else:
            assert got[1] == -np.inf or got[1] < np.log(EPS) + 5, got[1]


def _bracket_data(n=4, batch=14, seed=3):
    rng = np.random.default_rng(seed)
    ls = -np.sort(-rng.standard_normal((batch, n)) * 1.5, axis=1) + 0.5
    lr = ls + rng.standard_normal((batch, n)) * 0.3
    ls[:3, 2:] = -np.inf  # rank 2 samples: kept at K <= 2, dropped at K = 3
    lr[:3, 2:] = -np.inf
    ls[3, 1:] = -np.inf  # rank 1: kept at K = 1 only
    lr[3, 1:] = -np.inf
    return ls, lr


def _skew(x):
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean()
    return float(np.mean(d ** 3) / np.mean(d ** 2) ** 1.5)


def _mse(x):
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(np.sqrt(np.sum((x - x.mean()) ** 2) / (x.size - 1) / x.size))


def _check_brackets(data, Ks, draws, seed=5, name="r9net", label="cfgX, L=3"):
    from checks.model import derive_seed
    from theory import lyapunov
    from theory.claims import _ladder

    ls, lr = data
    got = _ladder._brackets(seed, name, label, data, Ks, draws)
    want_K = [K for K in Ks if np.isfinite(ls[:, K - 1]).sum() >= 8]
    assert [b.K for b in got] == want_K
    for b in got:
        K = b.K
        keep = np.isfinite(ls[:, K - 1])
        assert b.label == label and b.m == int(keep.sum())
        g = torch.Generator().manual_seed(derive_seed(seed, "bracket:" + name, label, K))
        v, rho = lyapunov.offset_bracket(ls[keep], lr[keep], K, g, draws=draws)
        gr = torch.Generator().manual_seed(derive_seed(seed, "remainder:" + name, label, K))
        rem = lyapunov.remainder_mc(ls[keep], K, gr, draws=draws)
        # v from its definition (not from offset_bracket)
        v_def = ls[keep][:, :K].sum(1) - lr[keep][:, :K].sum(1)
        assert within(np.abs(v - v_def), 8 * K * EPS * (1 + np.abs(ls[keep][:, :K]).sum(1)), "v")
        u = v_def + rem
        scale = 1 + np.abs(u).max() + np.abs(rho).max()
        tol = 64 * EPS * scale
        for field, ref in (("v", _mse(v_def)), ("w", _mse(v_def + rho)), ("u", _mse(u)), ("slack", _mse(rho - rem))):
            mean, se = getattr(b, field), getattr(b, field + "_se")
            assert within(abs(mean - ref[0]), tol, field), (field, K, mean, ref)
            assert within(abs(se - ref[1]), tol, field + "_se"), (field, K, se, ref)
        sk_ref = _skew(u) if np.ptp(u) > 0 else 0.0
        assert within(abs(b.u_skew - sk_ref), 1e3 * EPS * (1 + abs(sk_ref)), "skew"), (K, b.u_skew, sk_ref)
    return got


def test_brackets_every_field_from_its_definition():
    got = _check_brackets(_bracket_data(), (1, 2, 3), draws=3)
    assert [b.m for b in got] == [14, 13, 10]


def test_brackets_skew_with_constant_offset():
    # every sample identical: v is constant, so the skewness of v + R is that of R alone (nonzero)
    ls = np.repeat(np.array([[1.0, 0.2, -0.4]]), 12, axis=0)
    lr = np.repeat(np.array([[0.7, 0.1, -0.9]]), 12, axis=0)
    got = _check_brackets((ls, lr), (1, 2), draws=2)
    assert all(b.u_skew != 0.0 for b in got)


@pytest.mark.parametrize("kmax,m", [(5, 6), (5, 3), (4, 4)])
def test_bartlett_r_structure_and_moments(kmax, m):
    """R of QR of a (kmax x m) Gaussian with rows >= k zero (Bartlett): R_ii^2 ~ chi^2_{k-i} (i < min(k, m)),
    R_ij ~ N(0, 1) above the diagonal in rows < k, everything else zero; the moments checked at 6 SE."""
    from theory.products import _bartlett_r, _Draws

    bsz = 3000
    draws = _Draws(1234 + kmax * 10 + m, torch.device("cpu"), 1)
    k = torch.arange(bsz) % (kmax + 1)  # every rank 0..kmax
    r = _bartlett_r(draws, k, kmax, m)
    mn = min(kmax, m)
    assert r.shape == (bsz, mn, m) and r.dtype == torch.float64
    r = r.numpy()
    kk = k.numpy()
    assert np.all(np.tril(r, -1) == 0)
    rows = np.arange(mn)
    live = rows[None, :] < kk[:, None]  # (bsz, mn)
    assert np.all(r[~live] == 0)
    diag = r[:, rows, rows]
    assert np.all(diag[live] > 0)
    for kv in range(1, kmax + 1):
        sel = kk == kv
        for i in range(min(kv, mn)):
            x2 = diag[sel, i] ** 2
            df = kv - i
            se = np.sqrt(2 * df / x2.size)
            assert abs(x2.mean() - df) < 6 * se, (kmax, m, kv, i, x2.mean(), df)
    up = np.triu(np.ones((mn, m), bool), 1)
    off = r[:, up]  # (bsz, #upper)
    rowid = np.nonzero(up)[0]
    mask = rowid[None, :] < kk[:, None]
    vals = off[mask]
    assert np.all(off[~mask] == 0)
    if vals.size:
        assert abs(vals.mean()) < 6 / np.sqrt(vals.size)
        assert abs((vals ** 2).mean() - 1) < 6 * np.sqrt(2 / vals.size)


def test_offset_bracket_rho_from_its_definition():
    """rho = (1/2) E log det(I + beta (S G)^{-1} (S G)^{-T}), beta = sum_{i>K} s_i^2, recomputed per draw with the
    same Gaussians (K >= 2), by quadrature over g ~ N(0, 1) at K = 1, and 0 where nothing lies beyond K."""
    from scipy import integrate

    from theory import lyapunov

    rng = np.random.default_rng(17)
    bsz, n, draws = 5, 5, 4
    ls = -np.sort(-rng.standard_normal((bsz, n)), axis=1)
    lr = ls + 0.2 * rng.standard_normal((bsz, n))
    ls[0, 4] = -np.inf  # a sample of rank 4 (still rank >= K for every K below)
    lr[0, 4] = -np.inf
    for K in (2, 3, 4):
        g = torch.Generator().manual_seed(40 + K)
        v, rho = lyapunov.offset_bracket(ls, lr, K, g, draws=draws)
        assert within(np.abs(v - (ls[:, :K].sum(1) - lr[:, :K].sum(1))), 16 * K * EPS * (1 + np.abs(ls).max()), "v")
        gg = torch.randn(bsz, draws, K, K, generator=torch.Generator().manual_seed(40 + K), dtype=torch.float64).numpy()
        for b in range(bsz):
            rest = ls[b, K:]
            beta = float(np.sum(np.exp(2 * rest[np.isfinite(rest)])))
            if beta == 0:
                assert rho[b] == 0.0
                continue
            s = np.exp(ls[b, :K])
            vals = []
            for d in range(draws):
                sg = gg[b, d] * s[None, :]  # G S: the same law as S G^T (G and G^T are equal in law)
                a = np.linalg.inv(sg)
                vals.append(0.5 * np.linalg.slogdet(np.eye(K) + beta * a @ a.T)[1])
            ref = float(np.mean(vals))
            cond = max(np.linalg.cond(gg[b, d]) for d in range(draws)) * s.max() / s.min()
            assert within(abs(rho[b] - ref), 64 * K * EPS * cond ** 2 * (1 + abs(ref)), "rho"), (K, b, rho[b], ref)
    # K = 1: rho = (1/2) E log(1 + a^2 / g^2), a^2 = beta / s_1^2, by quadrature
    v, rho = lyapunov.offset_bracket(ls, lr, 1, torch.Generator().manual_seed(3), draws=2)
    for b in range(bsz):
        a2 = float(np.sum(np.exp(2 * (ls[b, 1:][np.isfinite(ls[b, 1:])] - ls[b, 0]))))
        f = lambda x: 0.5 * np.log1p(a2 / x ** 2) * np.exp(-x * x / 2) * np.sqrt(2 / np.pi)
        ref, err = integrate.quad(f, 0, np.inf, limit=200, epsabs=0, epsrel=1e-12)
        assert within(abs(rho[b] - ref), 64 * EPS * (1 + ref) + 2 * err, "rho K=1"), (b, rho[b], ref)
    # K = n = 1: nothing beyond K, rho = 0 exactly
    v, rho = lyapunov.offset_bracket(ls[:, :1], lr[:, :1], 1, torch.Generator().manual_seed(3), draws=2)
    assert np.all(rho == 0.0) and within(np.abs(v - (ls[:, 0] - lr[:, 0])), 4 * EPS * (1 + np.abs(ls[:, 0])), "v")
    v, rho = lyapunov.offset_bracket(ls[1:], lr[1:], n, torch.Generator().manual_seed(3), draws=2)
    assert np.all(rho == 0.0)
    for bad in (0, n + 1, 1.0):
        with pytest.raises(ValueError):
            lyapunov.offset_bracket(ls, lr, bad, torch.Generator().manual_seed(3), draws=2)


def test_compound_and_log_ratio_c6_from_definitions():
    """compound: the t x t minors by brute force (Laplace-free: numpy det of each lexicographic submatrix), and the
    Cauchy-Binet law C_t(AB) = C_t(A) C_t(B); log_ratio_c6 against the unnormalised 2-norm of C_t(S_A Ω S_B)."""
    from itertools import combinations

    from theory.wedge import compound, log_ratio_c6

    rng = np.random.default_rng(29)
    n = 4
    a_m, b_m = rng.standard_normal((2, n, n))
    for t in (1, 2, 3, 4):
        sets = list(combinations(range(n), t))
        c = compound(a_m, t)
        ref = np.array([[np.linalg.det(a_m[np.ix_(i, j)]) for j in sets] for i in sets])
        scale = np.abs(a_m).max() ** t * 4
        assert c.shape == ref.shape and within(np.abs(c - ref), 16 * t * EPS * scale, "compound")
        cb = compound(a_m @ b_m, t)
        ref2 = c @ compound(b_m, t)
        assert within(np.abs(cb - ref2), 64 * t * n * EPS * scale * np.abs(b_m).max() ** t * len(sets), "cauchy-binet")
        batch = compound(np.stack([a_m, b_m]), t)
        assert batch.shape == (2, len(sets), len(sets)) and np.array_equal(batch[0], c)
    omega = np.linalg.qr(rng.standard_normal((n, n)))[0]
    a = np.array([3.0, 2.0, 0.5, 0.1])
    b = np.array([2.5, 1.5, 1.0, 0.3])
    for t in (1, 2, 3):
        m = np.diag(a) @ omega @ np.diag(b)
        ref = np.log(np.linalg.norm(compound(m, t), 2)) - np.log(a[:t]).sum() - np.log(b[:t]).sum()
        got = log_ratio_c6(a, omega, b, t)
        assert within(abs(got - ref), 64 * t * n * EPS * (1 + abs(ref)) * (a[0] / a[-1]) * (b[0] / b[-1]), "c6"), (t, got, ref)
    with pytest.raises(ValueError):
        log_ratio_c6(np.array([1.0, 0.0, 0.0, 0.0]), omega, b, 2)
    with pytest.raises(ValueError):
        log_ratio_c6(a, omega, np.array([1.0, 1.0, 0.0, 0.0]), 3)


def test_log_ratio_c6_accepts_rank_exactly_t():
    """Assumption (a) of Lemma C.6 is a_t, b_t > 0 only: a_{t+1} = b_{t+1} = 0 is allowed (the ratio is then the
    norm of the single top-left t x t minor of Ω), and t = n is allowed."""
    from theory.wedge import log_ratio_c6

    rng = np.random.default_rng(31)
    n = 4
    omega = np.linalg.qr(rng.standard_normal((n, n)))[0]
    for t in (1, 2, 3):
        a = np.array([3.0, 2.0, 1.0, 0.5])
        b = np.array([2.0, 1.5, 1.0, 0.7])
        a[t:] = 0.0
        b[t:] = 0.0
        ref = np.log(abs(np.linalg.det(omega[:t, :t])))
        got = log_ratio_c6(a, omega, b, t)
        assert within(abs(got - ref), 64 * t * n * EPS * (1 + abs(ref)) / abs(np.linalg.det(omega[:t, :t])), "c6 rank t")
    got = log_ratio_c6(np.ones(n), omega, np.ones(n), n)
    assert within(abs(got), 64 * n * EPS, "c6 t=n")  # |det Ω| = 1


def test_remainder_mc_from_its_definition():
    """R = (1/2) E log det(I + Y^T Y), Y = S_c G_c (S_K G_K)^{-1}, with the same n x K Gaussians per draw (numpy,
    unscaled products); 0 at K = n; rank-deficient tails (-inf beyond the rank) contribute nothing."""
    from theory import lyapunov

    rng = np.random.default_rng(37)
    bsz, n, draws = 4, 5, 3
    ls = -np.sort(-rng.standard_normal((bsz, n)), axis=1)
    ls[0, 3:] = -np.inf
    for K in (1, 2, 3):
        got = lyapunov.remainder_mc(ls, K, torch.Generator().manual_seed(60 + K), draws=draws)
        g = torch.randn(bsz, draws, n, K, generator=torch.Generator().manual_seed(60 + K), dtype=torch.float64).numpy()
        assert got.shape == (bsz,)
        for b in range(bsz):
            s = np.exp(ls[b])
            vals, conds = [], []
            for d in range(draws):
                sg = s[:, None] * g[b, d]
                y = sg[K:] @ np.linalg.inv(sg[:K])
                vals.append(0.5 * np.linalg.slogdet(np.eye(K) + y.T @ y)[1])
                conds.append(np.linalg.cond(sg[:K]))
            ref = float(np.mean(vals))
            assert within(abs(got[b] - ref), 64 * K * n * EPS * max(conds) * (1 + abs(ref)), "R"), (K, b, got[b], ref)
    assert np.all(lyapunov.remainder_mc(ls[1:], n, torch.Generator().manual_seed(1), draws=2) == 0.0)
    for bad in (0, n + 1):
        with pytest.raises(ValueError):
            lyapunov.remainder_mc(ls, bad, torch.Generator().manual_seed(1), draws=2)
    with pytest.raises(ValueError):
        lyapunov.remainder_mc(ls, 4, torch.Generator().manual_seed(1), draws=2)  # sample 0 has rank 3 < K
