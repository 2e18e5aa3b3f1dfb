"""Closed forms of Section 5 / Appendix C (theory.lyapunov) against independent references.

References: the printed formulas re-implemented in mpmath with exact binomials (mp.binomial,
mp.digamma); Gaussian facts not used by the derivation (Bartlett chi-square for p = 1, the
cofactor identity d_i = d_{n-i} for Haar matrices, the Beta(1/2, (n-1)/2) law of Omega_11^2 by
quadrature); Monte Carlo Haar matrices with tolerances from the estimated SE.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch

from scipy.special import digamma

from checks.tolerance import cond, tol
from conftest import within
from theory import lyapunov as Ly


def _psi_scale(n, sigma=1.0):
    """Largest term of the closed forms' sums: |ln(2 sigma^2)| and |psi(x/2)| for x in 1..n (psi(1/2)
    and psi(n/2) are the extremes); every closed form here sums at most n such terms per entry."""
    return abs(math.log(2 * sigma**2)) + max(abs(digamma(0.5)), abs(digamma(n / 2)))


def _d_tol(i, n, kernels=1):
    """d_i: a sum of i differences of digammas (each term rounded): tol(i, scale=the terms' sizes)."""
    return tol(max(i, 1), scale=sum(abs(digamma((n - k + 1) / 2)) + abs(digamma((i - k + 1) / 2))
                                    for k in range(1, i + 1)) / 2 + 1.0, kernels=kernels)


def mp_gamma(n, p, sigma, r, approx=False):
    """Remark 5.4 / 5.5 as printed, with exact binomials, at 40 digits."""
    with mp.workdps(40):
        p = mp.mpf(p)
        w = {t: mp.binomial(n, t) * p ** t * (1 - p) ** (n - t) for t in range(r, n + 1)}
        den = 1 if approx else sum(w.values())
        out = []
        for i in range(1, r + 1):
            num = sum(w[t] * mp.digamma(mp.mpf(t - i + 1) / 2) for t in range(r, n + 1) if w[t] != 0)
            out.append(mp.log(mp.sqrt(2) * sigma) + num / (2 * den))
        return np.array([float(x) for x in out])


def mp_lam(n, p, sigma, r):
    """Lemma C.4 as printed (p < 1)."""
    with mp.workdps(40):
        p = mp.mpf(p)
        w = {t: mp.binomial(n, t) * p ** t * (1 - p) ** (n - t) for t in range(r, n + 1)}
        den = sum(w.values())
        out = []
        for i in range(1, n + 1):
            if i > r:
                out.append(-np.inf)
                continue
            num = sum(w[t] * sum(mp.digamma(mp.mpf(t - k + 1) / 2) for k in range(1, i + 1))
                      for t in range(r, n + 1))
            out.append(float(mp.mpf(i) / 2 * mp.log(2 * sigma ** 2) + num / (2 * den)))
        return np.array(out)


@pytest.mark.parametrize("n,p,sigma,r", [(10, 0.5, 1.0, 3), (10, 0.3, 0.7, 6), (7, 0.9, 2.0, 7),
                                         (30, 0.5, 1.0, 1), (12, 0.05, 1.0, 4)])
def test_gamma_and_lam_match_printed_formulas_in_mpmath(n, p, sigma, r):
    # weighted sums of n digammas (the weights normalised, summing to 1): tol(n, scale=largest term);
    # lam_i sums i such gammas
    t = tol(n, scale=_psi_scale(n, sigma), kernels=2)
    assert within(np.abs(Ly.gamma(n, p, sigma, r) - mp_gamma(n, p, sigma, r)), t, "gamma")
    assert within(np.abs(Ly.gamma(n, p, sigma, r, approx=True) - mp_gamma(n, p, sigma, r, True)), t, "gamma approx")
    lam = Ly.lam(n, p, sigma, r)
    ref = mp_lam(n, p, sigma, r)
    assert np.array_equal(np.isinf(lam), np.isinf(ref))
    assert within(np.abs(lam[:r] - ref[:r]), t * np.arange(1, r + 1), "lam")


def test_gamma_stable_when_conditioning_event_is_tiny():
    # P(rank >= r) ~ 1e-140: normalised weights must stay accurate (log-space), all finite.
    g = Ly.gamma(200, 0.1, 1.0, 150)
    ref = mp_gamma(200, 0.1, 1.0, 150)
    # the log-weights are O(|log P|) ~ 320 before normalisation: their rounding, exponentiated, is a
    # relative error ~ |log P| eps on every weight
    with mp.workdps(40):
        log_p = abs(float(mp.log(sum(mp.binomial(200, t) * mp.mpf(0.1) ** t * mp.mpf(0.9) ** (200 - t)
                                     for t in range(150, 201)))))
    assert np.all(np.isfinite(g))
    assert within(np.abs(g - ref), tol(200, kappa=log_p, scale=_psi_scale(200), kernels=2), "gamma tiny event")


def test_p_equal_one_is_the_ungated_ginibre_spectrum():
    # Independent fact: QR of a sigma-Ginibre matrix has R_ii ~ sigma * chi_{n-i+1} (Bartlett), and
    # E log chi_k = (ln 2 + psi(k/2)) / 2, so gamma_i = ln(sqrt2 sigma) + psi((n-i+1)/2)/2.
    n, sigma = 9, 1.7
    with mp.workdps(30):
        ref = [float(mp.log(sigma) + (mp.log(2) + mp.digamma(mp.mpf(n - i + 1) / 2)) / 2)
               for i in range(1, n + 1)]
    t = tol(n, scale=_psi_scale(n, sigma), kernels=2)
    assert within(np.abs(Ly.gamma(n, 1.0, sigma, n) - ref), t, "gamma p=1")
    assert within(np.abs(Ly.gamma(n, 1.0, sigma, 4) - ref[:4]), t, "gamma p=1 r=4")
    lam = Ly.lam(n, 1.0, sigma, 4)
    assert np.all(np.isfinite(lam))  # p = 1: every wedge is a.s. nonzero
    assert within(np.abs(lam - np.cumsum(ref)), t * np.arange(1, n + 1), "lam p=1")
    # Monte Carlo of the Bartlett fact itself (log|R_ii| of QR of Ginibre), 5 SE
    g = torch.Generator().manual_seed(0)
    w = sigma * torch.randn(4000, n, n, generator=g, dtype=torch.float64)
    lr = torch.log(torch.diagonal(torch.linalg.qr(w)[1], dim1=-2, dim2=-1).abs()).numpy()
    se = lr.std(0, ddof=1) / math.sqrt(lr.shape[0])
    assert np.all(np.abs(lr.mean(0) - ref) < 5 * se)


def test_gamma_strictly_decreasing_and_approx_close_when_r_small():
    g = Ly.gamma(64, 0.5, 1.0, 20)
    assert np.all(np.diff(g) < 0)  # Lemma C.5: gamma_i > gamma_{i+1}
    # Remark 5.5 drops the normalisation P = P(rank >= r): gamma_i - approx_i = (gamma_i - ln(sqrt2 sigma))
    # (1 - P) exactly; r = 10 << np = 32 makes 1 - P ~ 1e-9
    def gap_residual(r):
        q = sum(math.comb(64, t) for t in range(r)) / 2**64  # 1 - P(rank >= r), p = 1/2
        g_r = Ly.gamma(64, 0.5, 1.0, r)
        return np.abs(g_r - Ly.gamma(64, 0.5, 1.0, r, approx=True) - (g_r - math.log(math.sqrt(2))) * q)

    t = tol(64, scale=_psi_scale(64), kernels=2)  # two weighted sums of 64 digammas
    assert within(gap_residual(10), t, "5.5 gap")
    assert within(gap_residual(20), t, "5.5 gap r=20")
    # the approximation itself is within that tolerance at r = 10 only up to 1e-9, and far outside
    # it at r = 20 (1 - P ~ 1e-4): the comparison sees the normalisation
    assert np.max(np.abs(g - Ly.gamma(64, 0.5, 1.0, 20, approx=True))) > 1e4 * t


@pytest.mark.parametrize("bad,name", [(dict(p=0.0), "p"), (dict(p=1.01), "p"), (dict(sigma=0.0), "sigma"),
                                      (dict(r=0), "r"), (dict(r=11), "r"), (dict(n=0), "n")])
def test_invalid_arguments(bad, name):
    kw = dict(n=10, p=0.5, sigma=1.0, r=3)
    kw.update(bad)
    for f in (Ly.gamma, Ly.lam):
        with pytest.raises(ValueError, match=name):
            f(kw["n"], kw["p"], kw["sigma"], kw["r"])
    with pytest.raises(ValueError, match="i must"):
        Ly.d(5, 4)
    with pytest.raises(ValueError, match="samples"):
        Ly.d_mc(1, 4, 1, torch.Generator())


# ---------------------------------------------------------------- d_i


def test_d_endpoints_and_mpmath():
    for n in (1, 2, 5, 17, 128):
        assert Ly.d(0, n) == 0.0
        assert within(abs(Ly.d(n, n)), _d_tol(n, n), "d_n = 0")  # Omega^{n,n} = Omega, |det| = 1
        with mp.workdps(30):
            d1 = (mp.digamma(mp.mpf(n) / 2) - mp.digamma(mp.mpf(1) / 2)) / 2
        assert within(abs(Ly.d(1, n) - float(d1)), _d_tol(1, n), "d_1")
        for i in range(0, n + 1, max(1, n // 7)):
            assert within(abs(Ly.d(i, n) - float(Ly.d_mp(i, n, dps=40))), _d_tol(i, n), "d_i")


def test_d_first_entry_by_quadrature():
    # Omega_11^2 ~ Beta(1/2, (n-1)/2) (first column of a Haar matrix is uniform on the sphere):
    # d_1 = -E log|Omega_11| = -(1/2) int log(x) Beta-density dx, by mpmath quadrature.
    for n in (2, 3, 8, 40):
        # 40 digits (the x^(-1/2) log x endpoint: see test_app_c_math's Wishart quadrature), plus the
        # quadrature's own error estimate
        with mp.workdps(40):
            a, b = mp.mpf(1) / 2, mp.mpf(n - 1) / 2
            dens = lambda x: x ** (a - 1) * (1 - x) ** (b - 1) / mp.beta(a, b)
            val, err = mp.quad(lambda x: mp.log(x) * dens(x), [0, mp.mpf(1) / 2, 1], error=True)
        assert within(abs(Ly.d(1, n) + float(val) / 2), _d_tol(1, n) + float(err), "d_1 quadrature")


def test_d_complementary_minor_symmetry():
    # Jacobi's complementary-minor identity for orthogonal Omega: |det Omega^{i,i}| equals the
    # |det| of the complementary (n-i) x (n-i) block, whose law is that of Omega^{n-i,n-i}.
    # Hence d_i = d_{n-i}; the closed form is not manifestly symmetric.
    for n in (2, 3, 6, 11, 50):
        for i in range(n + 1):
            assert within(abs(Ly.d(i, n) - Ly.d(n - i, n)), _d_tol(max(i, n - i), n, kernels=2), "d symmetry")


@pytest.mark.parametrize("i,n", [(1, 2), (1, 8), (3, 8), (5, 8), (2, 30), (15, 30), (7, 48)])
def test_d_monte_carlo(i, n):
    g = torch.Generator().manual_seed(100 * n + i)
    mean, se = Ly.d_mc(i, n, 4000, g)
    # 7 comparisons in this test: z = 4 keeps the family-wise false-alarm rate below 1e-3
    assert abs(mean - Ly.d(i, n)) < 4 * se + _d_tol(i, n), (mean, se, Ly.d(i, n))


def test_d_depends_on_n():
    # The d_i depend on n as well as on i: Section 5 fixes n, so 'depend only on i' is read at fixed n
    # (thm-5.3/d-universal); recorded here because the closed form makes it easy to forget.
    assert Ly.d(1, 4) < Ly.d(1, 8) < Ly.d(1, 16)


def test_haar_sampler_is_orthogonal_and_sign_fixed():
    g = torch.Generator().manual_seed(1)
    om = Ly.haar_orthogonal(50, 6, g)
    eye = torch.eye(6, dtype=torch.float64)
    # Householder Q orthogonal to ~ n eps, and Q^T Q adds n eps
    assert within(float((om.mT @ om - eye).abs().max()), tol(6, kernels=2), "haar orthogonal")
    # sign fix makes E[Omega_11] = 0 and Omega_11^2 ~ Beta(1/2, 5/2) with mean 1/6
    big = Ly.haar_orthogonal(20000, 6, g)[:, 0, 0].numpy()
    assert abs(big.mean()) < 4 * big.std() / math.sqrt(big.size)
    x = big ** 2
    assert abs(x.mean() - 1 / 6) < 4 * x.std() / math.sqrt(x.size)


# ---------------------------------------------------------------- finite-depth bracket


def test_remainder_bound_1_matches_gaussian_quadrature():
    # (1/2) E log(1 + a^2/g^2), g ~ N(0, 1), by mpmath quadrature (an independent route to the erfcx formula)
    for a in (1e-3, 0.2, 1.0, 7.0, 60.0):
        with mp.workdps(30):
            a2 = mp.mpf(a) ** 2
            f = lambda x: mp.log(1 + a2 / x ** 2) * mp.exp(-x ** 2 / 2) / mp.sqrt(2 * mp.pi)
            ref = float(mp.quad(f, [0, mp.mpf(a) / 10, a, 10 * a + 10, mp.inf]))  # 2 * (1/2) * one side
        got = Ly.remainder_bound_1(np.array([0.0]), np.array([math.log(a)]))[0]
        # erfcx, a log and a few products: a few ulps of the value (observed <= 1.1 ulp)
        assert within(abs(got - ref), tol(4, scale=ref), "remainder_bound_1"), (a, got, ref)
    assert Ly.remainder_bound_1(np.array([0.0]), np.array([-np.inf]))[0] == 0.0  # rank 1: no remainder


def _haar_offsets(s, K, m, seed):
    """Per-draw v = log(s_1...s_K) - log||J e_1 ^ ... ^ J e_K|| for J = S Omega, Omega Haar (right invariant)."""
    om = Ly.haar_orthogonal(m, s.size, torch.Generator().manual_seed(seed)).numpy()
    x = s[None, :, None] * om[:, :, :K]
    return np.log(s[:K]).sum() - 0.5 * np.linalg.slogdet(np.einsum("bij,bik->bjk", x, x))[1]


@pytest.mark.parametrize("K", [1, 2, 3, 5])
def test_offset_bracket_contains_d_for_fixed_spectrum(K):
    # d_K - E v = R exactly (a Haar expectation at fixed S) and 0 <= R <= rho (Jensen); both checked by Monte Carlo
    n, m = 6, 60000
    s = np.exp(np.array([3.0, 1.5, 1.0, 0.2, -0.5, -2.0]))
    v = _haar_offsets(s, K, m, 10 + K)
    ls = np.tile(np.log(s), (400, 1))
    lr = np.zeros_like(ls)  # v from offset_bracket is log(s_1..s_K) - sum lr: not used here
    _, rho = Ly.offset_bracket(ls, lr, K, torch.Generator().manual_seed(K), draws=16)
    R, R_se = Ly.d(K, n) - v.mean(), v.std(ddof=1) / math.sqrt(m)
    rho_m, rho_se = rho.mean(), rho.std(ddof=1) / math.sqrt(rho.size)
    # 4 parametrised cases x 2 one-sided tests: 4.5 SE keeps the false-alarm rate below 1e-4
    assert R > -4.5 * R_se, (R, R_se)
    assert R < rho_m + 4.5 * math.hypot(R_se, rho_se), (R, rho_m)
    assert rho_m < 3 * max(R, 0.05)  # the bound is informative (Jensen gap small here)


def test_offset_bracket_on_products_is_nonnegative_and_tight_when_separated():
    # pathwise v = log||^K J|| - log||J e_1 ^ ... ^ J e_K|| >= 0 (rounding aside); at depth 48 for n = 4 the
    # spectrum is separated (gap 0.19 per layer), rho is tiny and E v = d_K within Monte-Carlo error
    from theory import products

    g = torch.Generator().manual_seed(3)
    L = 48
    ps = products.product_spectrum(n=4, depths=[L], batch=1000, p=1.0, sigma=1.0, gen=g, r=4)
    ls, lr = ps.log_svals[0].numpy(), L * ps.benettin[0].numpy()
    # rounding of v = sum_k<=K log s_k - log||J e_1 ^..^ J e_K||: the Benettin sums accumulate over L
    # layers (as in test_products' log-det law): tol(L, scale=sum_k |log s_k|) per sample
    rounding = np.array([tol(L, scale=x) for x in np.abs(ls).sum(1)])
    for K in (1, 2, 3):
        v, rho = Ly.offset_bracket(ls, lr, K, torch.Generator().manual_seed(K))
        assert np.all(v > -rounding)
        assert rho.mean() < 0.02
        se = v.std(ddof=1) / math.sqrt(v.size)
        assert abs(v.mean() - Ly.d(K, 4)) < 4.5 * se + rho.mean(), (K, v.mean(), Ly.d(K, 4), se)
    v4, rho4 = Ly.offset_bracket(ls, lr, 4, torch.Generator())
    assert np.all(rho4 == 0) and within(np.abs(v4), rounding, "v_n = 0")  # K = n: |det J| = prod |R_ii|, d_n = 0


def test_logdet_i_plus_matches_slogdet_and_survives_grading():
    rng = np.random.default_rng(0)
    k = 5
    g = rng.standard_normal((k, k))
    w = np.linalg.inv(g.T @ g)
    lx = np.array([2.0, 0.5, -1.0, -3.0, 1.0])
    x = w * np.exp(lx[:, None] + lx[None, :])
    ref = np.linalg.slogdet(np.eye(k) + x)[1]
    got = float(Ly._logdet_i_plus(torch.from_numpy(lx), torch.from_numpy(w)))
    # log|det| errs by the determinant's relative error, ~ k eps kappa(I + X), on both routes
    assert within(abs(got - ref), tol(k, kappa=cond(np.eye(k) + x), kernels=2), "logdet(I + X)")
    # graded beyond float64 range: log det(I + X) ~ sum of the large log X_ii (finite, no overflow)
    big = torch.from_numpy(np.array([400.0, 200.0, -300.0, 0.0, -800.0]))
    val = float(Ly._logdet_i_plus(big, torch.from_numpy(w)))
    assert np.isfinite(val) and val > 2 * 600 - 50


def test_offset_bracket_invalid_arguments():
    ls = np.log(np.array([[3.0, 2.0, 1.0], [2.0, 1.0, 0.5]]))
    with pytest.raises(ValueError, match="K must"):
        Ly.offset_bracket(ls, ls, 0, torch.Generator())
    with pytest.raises(ValueError, match="K must"):
        Ly.offset_bracket(ls, ls, 4, torch.Generator())
    with pytest.raises(ValueError, match="shape"):
        Ly.offset_bracket(ls, ls[:, :2], 1, torch.Generator())
    bad = ls.copy()
    bad[1, 1] = -np.inf
    with pytest.raises(ValueError, match="rank >= K"):
        Ly.offset_bracket(bad, ls, 2, torch.Generator())
    with pytest.raises(ValueError, match="draws"):
        Ly.offset_bracket(ls, ls, 2, torch.Generator(), draws=0)
