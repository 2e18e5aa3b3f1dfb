"""Round r7 of issue 17 part 6: whole-helper checks for theory/claims/sec6.py (rem-6.3/sigma replay),
theory/gate_law.py (pattern_law) and theory/products.py (the dense CPU kernel's fold, the block limit), against
independent computations from their definitions (mpmath SVD, exact rationals, the scalar product's log-sum)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
import torch

from checks.tolerance import tol
from tests.conftest import within
from theory import alignment as al
from theory import gate_law
from theory import products as P
from theory.claims import sec6

EPS = float(np.finfo(np.float64).eps)


# ----- sec6: rem-6.3/sigma's replay (printed numbers, err, tol) ----------------------------------------------

def _ref_replay(UA, B, a, r, L):
    """The replay's numbers from their definitions: s_J / s_A from an mpmath SVD of J = U_A diag(e^{-L a}) B,
    Sigma_C the pivots of the unit-lower LDL^T of C^{r,r} (C = B B^T) in exact rationals, tol = 100 ||C|| rho."""
    with mp.workdps(60):
        sA = [mp.exp(-mp.mpf(L) * mp.mpf(float(x))) for x in a]
        J = mp.matrix(UA.tolist()) * mp.diag(sA) * mp.matrix(B.tolist())
        sJ = sorted(mp.svd_r(J, compute_uv=False), reverse=True)
        ratio = [float(sJ[i] / sA[i]) for i in range(r)]
    C = [[sum(Fraction(float(B[i, k])) * Fraction(float(B[j, k])) for k in range(B.shape[1])) for j in range(r)]
         for i in range(r)]
    piv = []
    for k in range(r):  # Schur complements: D_k = C_kk - sum_j L_kj^2 D_j
        piv.append(C[k][k])
        for i in range(k + 1, r):
            f = C[i][k] / C[k][k]
            for j in range(k + 1, r):
                C[i][j] -= f * C[k][j]
    sigma = [float(x) for x in piv]
    cn = float(np.linalg.norm(B @ B.T, 2))
    rho = max(math.exp(-L * (a[i + 1] - a[i])) for i in range(r))
    return ratio, sigma, cn, rho


@pytest.mark.parametrize("case", ["ce63", "generic"])
def test_rem63_sigma_replay_prints_r_ratios_pivots_roots_and_their_gap(case):
    if case == "ce63":
        ce = sec6.CE63
    else:
        rng = np.random.default_rng(7)
        UA, _ = np.linalg.qr(rng.standard_normal((4, 4)))
        ce = {"UA": UA, "B": rng.standard_normal((4, 4)), "a": np.array([0.0, 0.5, 1.0, 1.5]), "r": 2, "L": 30.0}
    UA, B, a, r, L = (np.asarray(ce["UA"], float), np.asarray(ce["B"], float), np.asarray(ce["a"], float),
                      int(ce["r"]), float(ce["L"]))
    ratio, sigma, cn, rho = _ref_replay(UA, B, a, r, L)
    if case == "ce63":  # J = 2A exactly: s_J/s_A = 2, Sigma_C = 4
        assert ratio == [2.0] and sigma == [4.0]
    cmp = sec6.rem63_sigma_replay(ce)
    d = cmp.detail
    scale = max(max(ratio), max(sigma), 1.0)
    t = tol(B.shape[0] ** 2, kappa=float(np.linalg.cond(B)) ** 2, scale=scale, kernels=8)
    for key, ref in (("sJ/sA", ratio), ("Sigma_C", sigma), ("sqrt_Sigma_C", [math.sqrt(s) for s in sigma])):
        assert len(d[key]) == r, key  # exactly the first r entries, no more
        assert within(np.max(np.abs(np.array(d[key]) - ref)), t + rho * scale * 8, key)
    gap = max(abs(x - s) for x, s in zip(ratio, sigma))
    assert within(abs(cmp.err - gap), t + rho * scale * 8, "err")
    assert within(abs(cmp.tol - al.REMAINDER_CONST * cn * rho), tol(4, scale=cmp.tol, kernels=4), "tol")


# ----- gate_law.pattern_law: the rank-conditioned pattern law, and its documented n <= 16 limit ----------------

@pytest.mark.parametrize("n,r,p", [(1, 1, Fraction(1, 3)), (3, 1, Fraction(1, 2)), (4, 2, Fraction(2, 5)),
                                   (5, 3, Fraction(3, 4)), (4, 0, Fraction(1, 7)),
                                   (3, 1, Fraction(1)), (2, 0, 1.0)])
def test_pattern_law_is_bernoulli_conditioned_on_rank_at_least_r(n, r, p):
    law = gate_law.pattern_law(n, r, p)
    pats = list(itertools.product((0, 1), repeat=n))
    assert sorted(law) == pats
    z = sum(math.comb(n, t) * p ** t * (1 - p) ** (n - t) for t in range(r, n + 1))
    for pat in pats:
        t = sum(pat)
        want = p ** t * (1 - p) ** (n - t) / z if t >= r else Fraction(0)
        assert law[pat] == want, pat  # p = 1: all mass on the all-ones pattern (0^0 = 1)
    if p == 1:
        assert law[(1,) * n] == 1 and sum(law.values()) == 1


def test_pattern_law_accepts_n_16_and_rejects_n_17():
    law = gate_law.pattern_law(16, 15, 0.5)  # documented limit: n <= 16 (2^n patterns)
    assert len(law) == 2 ** 16
    assert within(abs(law[(1,) * 16] - 1.0 / 17.0), tol(2 ** 16, scale=1.0), "top pattern")
    for n in (17, 20, 32):
        with pytest.raises(ValueError, match="n <= 16"):
            gate_law.pattern_law(n, 1, 0.5)


# ----- products: the block limit and the dense kernel's centring (fold) -----------------------------------------

def test_product_spectrum_block_limit_is_16():
    g = torch.Generator().manual_seed(0)
    kw = dict(n=2, depths=[3], batch=1, p=1.0, sigma=1.0, r=1)
    P.product_spectrum(gen=g, block=16, **kw)  # accepted
    for b in (17, 24, 32):
        with pytest.raises(ValueError, match=r"\[1, 16\]"):
            P.product_spectrum(gen=torch.Generator().manual_seed(0), block=b, **kw)


@pytest.mark.parametrize("n,depth", [(1, 400), (1, 2600), (1, 4000), (2, 1800), (2, 2600), (4, 300)])
def test_dense_kernel_deep_products_match_the_batched_path_and_the_lyapunov_exponents(monkeypatch, n, depth):
    """The dense CPU kernel (p = 1) against the batched torch path on the same layers (DENSE_CPU_KERNEL = False),
    and its Benettin sums against gamma_k = (log 2 + psi((n - k + 1)/2))/2 + log sigma (Bartlett: the QR pivots
    of Ginibre layers are independent chi_{n-k+1}). n = 1 at depth >~ 2300 has logt < -1416 nats with spread 0:
    a centring constant off the middle of the range sends exp(logt - c) or exp(c - logt) out of float64 range;
    n = 2 at depth 1800 sits just below SEPARABLE_NATS (centred branch, |logt| ~ 1100), at 2600 beyond it
    (S formed entry by entry); n = 4 exercises the triangular update's off-diagonal entries."""
    if not P._dense_kernel_applies(1.0, "qr", torch.device("cpu")):
        pytest.skip("dense CPU kernel not available")
    sigma, batch = 1.5, 3
    kw = dict(n=n, depths=[depth // 2, depth], batch=batch, p=1.0, sigma=sigma, r=1, conditioned=False)
    dense = P.product_spectrum(gen=torch.Generator().manual_seed(11), **kw)
    monkeypatch.setattr(P, "DENSE_CPU_KERNEL", False)
    ref = P.product_spectrum(gen=torch.Generator().manual_seed(11), **kw)
    for got, want, what in ((dense.log_svals, ref.log_svals, "log_svals"), (dense.benettin, ref.benettin, "benettin")):
        got, want = got.numpy(), want.numpy()
        assert np.all(np.isfinite(got)), what
        # a sum of `depth` logs (plus one block QR per layer pair): rounding ~ depth * eps * |sum|
        t = tol(depth * n, scale=float(np.max(np.abs(want))) + 1.0, kernels=4)
        assert within(np.max(np.abs(got - want)), t, what)
    for k in range(1, n + 1):
        gam = 0.5 * (math.log(2.0) + float(mp.digamma((n - k + 1) / 2))) + math.log(sigma)
        sd = 0.5 * math.sqrt(float(mp.psi(1, (n - k + 1) / 2)))  # sd of log chi_{n-k+1}
        assert abs(float(dense.benettin[-1, :, k - 1].mean()) - gam) < 8 * sd / math.sqrt(batch * depth), k


def test_rem63_sigma_replay_validates_the_stored_case():
    """A stored case with increasing s (decreasing a) is no separated family: log_s_sequence must refuse it."""
    ce = {**sec6.CE63, "a": np.array([1.0, 0.0])}
    with pytest.raises(ValueError, match="non-decreasing"):
        sec6.rem63_sigma_replay(ce)


# ----- lyapunov: int_0^x erfcx (quadrature + integrated asymptotic tail) and the K = 1 remainder bound ------------

QUAD_EPSREL = 1e-11  # the accuracy _erfcx_integral_log requests from scipy's quad (its documented error level)


def _erfcx_integral_ref(log_x: float) -> mp.mpf:
    """int_0^x erfcx(u) du at 30 digits: mpmath quadrature up to 2000, beyond it the asymptotic series
    erfcx(u) = sum_m (-1)^m (2m-1)!! / (2u^2)^m / (u sqrt(pi)) integrated term by term (8 terms; a different
    cut and truncation than the code's)."""
    with mp.workdps(30):
        f = lambda u: mp.erfc(u) * mp.exp(u * u)
        lx = mp.mpf(log_x)
        cut = mp.mpf(2000)
        x = mp.exp(lx)
        pts = [0, 0.5, 2, 10, 50, 200, 1000, 2000]
        if x <= cut:
            return mp.quad(f, [p for p in pts if p < x] + [x])
        head = mp.quad(f, pts)

        def tail(lu):  # antiderivative of the series, in log u
            s = lu
            for m in range(1, 9):
                s += (-1) ** m * mp.fac2(2 * m - 1) / mp.mpf(2) ** m * (-mp.exp(-2 * m * lu) / (2 * m))
            return s
        return head + (tail(lx) - tail(mp.log(cut))) / mp.sqrt(mp.pi)


@pytest.mark.parametrize("log_x", [math.log(0.3), math.log(4.0), math.log(999.0), math.log(1000.0),
                                   math.log(1001.0), math.log(5e3), math.log(1e6), 300.0, 1e4])
def test_erfcx_integral_log_matches_mpmath_on_both_sides_of_the_cut(log_x):
    from theory import lyapunov as ly

    got = ly._erfcx_integral_log(log_x)
    ref = float(_erfcx_integral_ref(log_x))
    assert within(abs(got - ref), 4 * QUAD_EPSREL * abs(ref) + tol(1, scale=abs(ref)), f"log_x={log_x}")


def test_remainder_bound_1_is_sqrt_pi_times_the_integral_up_to_a_over_sqrt2():
    from theory import lyapunov as ly

    ls1 = np.array([0.0, 2.0, -3.0, 1.0, 5.0])
    lbh = np.array([-1.0, 2.5, 5.0, -math.inf, 5.0 + 2000.0])
    got = ly.remainder_bound_1(ls1, lbh)
    assert got.shape == ls1.shape and got[3] == 0.0  # rank-1 J: rho = 0
    for i in (0, 1, 2, 4):
        la = lbh[i] - ls1[i] - math.log(2.0) / 2  # log(a / sqrt 2)
        ref = float(mp.sqrt(mp.pi) * _erfcx_integral_ref(la))
        assert within(abs(got[i] - ref), 4 * QUAD_EPSREL * ref + tol(1, scale=ref), f"i={i}")
