"""Math helpers of Section 5 / Appendix C claims against independent references.

gate_law (exact (r, p)-gate law, exact ranks), wedge (QR wedge norms, Wishart log-det, Lemma C.6
ratio) and subadditive (Lemma C.7 identities), checked with sympy, mpmath, brute force and direct
float computations.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest
import sympy as sp

from checks.strategies import haar_orthogonal_np
from checks.tolerance import cond, tol
from conftest import within
from theory import gate_law, subadditive, wedge


# --- gate_law ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,r,p", [(1, 1, Fraction(1, 3)), (4, 2, Fraction(1, 2)), (5, 4, Fraction(3, 10)), (6, 0, Fraction(1, 7))])
def test_pattern_law_sums_to_one_and_matches_rank_law(n, r, p):
    law = gate_law.pattern_law(n, r, p)
    assert sum(law.values()) == 1
    assert all(w == 0 for pat, w in law.items() if sum(pat) < r)
    by_rank = {}
    for pat, w in law.items():
        by_rank[sum(pat)] = by_rank.get(sum(pat), 0) + w
    for t, w in gate_law.rank_law(n, r, p).items():
        assert by_rank[t] == w


def test_marginal_formula_matches_enumeration_and_exceeds_p():
    for n in range(1, 7):
        for r in range(0, n + 1):
            p = Fraction(2, 5)
            law = gate_law.pattern_law(n, r, p)
            q = sum(w for pat, w in law.items() if pat[0] == 1)
            assert q == gate_law.marginal(n, r, p)
            assert q >= p
    assert gate_law.marginal(4, 2, Fraction(1, 2)) == Fraction(7, 11)


def test_acceptance_matches_sympy_and_chernoff_is_a_lower_bound():
    x = sp.Rational(3, 10)
    for n in (3, 8, 20):
        for r in range(0, n + 1):
            ref = sum(sp.binomial(n, t) * x ** t * (1 - x) ** (n - t) for t in range(r, n + 1))
            assert gate_law.acceptance(n, r, Fraction(3, 10)) == Fraction(int(ref.p), int(ref.q))
            # 1 - exp(-x) in float64: ~ eps absolute (x = O(n)); ref rounded once
            assert gate_law.chernoff_lower(n, r, 0.3) - float(ref) <= tol(n, scale=1.0)


def test_exact_rank_matches_sympy():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n, m, k = rng.integers(1, 6, size=3)
        a = rng.integers(-4, 5, size=(n, k)) @ rng.integers(-4, 5, size=(k, m))
        assert gate_law.exact_rank(a) == sp.Matrix(a.tolist()).rank()


def test_intersection_dim_exact_on_coordinate_subspaces():
    e = np.eye(5, dtype=np.int64)
    assert gate_law.intersection_dim_exact(e[:, :3], e[:, 2:]) == 1
    assert gate_law.intersection_dim_exact(e[:, :2], e[:, 2:4]) == 0
    assert gate_law.intersection_dim_exact(e[:, :4], e[:, 1:]) == 3


# --- wedge ---------------------------------------------------------------------------------------

def test_log_wedge_columns_matches_gram_determinant():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((7, 5, 5))
    for i in range(1, 6):
        gram = np.einsum("bki,bkj->bij", y[:, :, :i], y[:, :, :i])
        # log|det| errs by ~ i eps kappa (relative error of the determinant; kappa(gram) = kappa(Y_i)^2
        # on the Gram side, kappa(Y_i) on the QR side)
        err = np.abs(wedge.log_wedge_columns(y, i) - 0.5 * np.log(np.linalg.det(gram)))
        assert within(err, [tol(i, kappa=cond(g), kernels=2) for g in gram], "log wedge")


def test_wishart_logdet_mean_matches_mpmath_quadrature_i1_and_bartlett_i2():
    for t in (1, 3, 6):
        # 40 digits: at 25, tanh-sinh left 1.5e-13 at the x^(-1/2) log x endpoint of t = 1 (and estimated 1e-14)
        with mpmath.workdps(40):
            q, qerr = mpmath.quad(lambda x: mpmath.log(x) * x ** (mpmath.mpf(t) / 2 - 1) * mpmath.exp(-x / 2)
                                  / (2 ** (mpmath.mpf(t) / 2) * mpmath.gamma(mpmath.mpf(t) / 2)), [0, 1, mpmath.inf],
                                  error=True)
        # ln 2 + psi(t/2): two terms of size <= |q| + 1, a few ulps each; plus the quadrature's own error
        want = wedge.wishart_logdet_mean(1, t, 1.0)
        assert within(abs(float(q) - want), tol(2, scale=abs(float(q)) + 1) + float(qerr), "wishart quad")
    # sigma scaling: i ln(sigma^2) shift (3 + 3 digamma/log terms of size <= the means, rounded)
    hi, lo = wedge.wishart_logdet_mean(3, 5, 2.0), wedge.wishart_logdet_mean(3, 5, 1.0)
    assert within(abs(hi - lo - 3 * np.log(4.0)), tol(6, scale=abs(hi) + abs(lo)), "wishart sigma")


def test_lemma_c3_printed_vs_corrected_branches():
    assert wedge.lemma_c3_printed(2, 3, 1, 1.0) == -np.inf  # printed: i > r
    assert np.isfinite(wedge.lemma_c3_corrected(2, 3, 1.0))  # true: i <= t
    assert wedge.lemma_c3_corrected(3, 2, 1.0) == -np.inf


def test_compound_matches_brute_force_minors_and_cauchy_binet():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 5, 5))
    for t in (1, 2, 3):
        sets = list(itertools.combinations(range(5), t))
        brute = np.array([[np.linalg.det(a[np.ix_(i, j)]) for j in sets] for i in sets])
        # a t x t determinant by LU errs by <= t eps x the product of its row norms (Hadamard)
        had = lambda m: np.linalg.norm(m, axis=1).max() ** t  # noqa: E731
        assert within(np.abs(wedge.compound(a, t) - brute), tol(t, scale=had(a), kernels=2), "compound")
        ca, cb = wedge.compound(a, t), wedge.compound(b, t)
        # Cauchy-Binet: minors of a @ b (its rounding included) vs a sum of C(5, t) products of minors
        scale = had(a @ b) + (np.abs(ca) @ np.abs(cb)).max()
        assert within(np.abs(wedge.compound(a @ b, t) - ca @ cb), tol(5 * t + comb(5, t), scale=scale, kernels=2),
                      "Cauchy-Binet")


def test_log_ratio_c6_matches_direct_svd_and_limits():
    rng = np.random.default_rng(3)
    om = haar_orthogonal_np(5, rng)
    a = np.exp(-0.7 * np.arange(5))
    b = np.exp(-0.4 * np.arange(5))
    for t in (1, 2, 3):
        s = np.linalg.svd(np.diag(a) @ om @ np.diag(b), compute_uv=False)
        direct = np.log(s[:t]).sum() - np.log(a[:t]).sum() - np.log(b[:t]).sum()
        # the SVD errs by ~ n eps s_1 absolutely: log s_k by n eps s_1 / s_k, summed over k <= t
        assert within(abs(wedge.log_ratio_c6(a, om, b, t) - direct),
                      sum(tol(5, kappa=s[0] / s[k], kernels=2) for k in range(t)), "C.6 ratio")
        # extreme separation: the ratio tends to |det Omega^{t,t}|; the other t-subsets enter with weight
        # <= e^-40 relative to the top one (per side), each at most 1 / |det Omega^{t,t}| relatively
        far = wedge.log_ratio_c6(np.exp(-40 * np.arange(5)), om, np.exp(-40 * np.arange(5)), t)
        top = wedge.log_abs_top_minor(om, t)
        remainder = comb(5, t) ** 2 * math.exp(-40) / math.exp(top)
        assert within(abs(far - top), tol(5 * comb(5, t), kappa=math.exp(-top), kernels=2) + remainder, "C.6 limit")


# --- subadditive ---------------------------------------------------------------------------------

def test_induction_identity_on_random_rational_sequences():
    rng = np.random.default_rng(4)
    for L, m in [(2, 4), (3, 3), (5, 2)]:
        vals = [Fraction(int(v), int(w)) for v, w in zip(rng.integers(-99, 99, L ** m), rng.integers(1, 9, L ** m))]
        u = lambda k: vals[k - 1]  # noqa: E731
        assert subadditive.induction_lhs(u, L, m) == u(L) / L


def test_family_defects_are_exact():
    u = subadditive.family("inv", Fraction(2), Fraction(1), Fraction(3))
    assert subadditive.defect(u, 2, 3) == 1 + Fraction(3, 2) + 1 - Fraction(3, 5)
    assert subadditive.remainder(u, Fraction(2), Fraction(1), 10) == Fraction(3, 10)
    us = subadditive.shifted(subadditive.family("inv-neg", 0, Fraction(1), Fraction(1, 4)), Fraction(1))
    assert subadditive.defect(us, 1, 1) == Fraction(-3, 8)


def test_binomial_sums_agree_with_math_comb():
    assert gate_law.acceptance(10, 3, Fraction(1, 2)) == Fraction(sum(comb(10, t) for t in range(3, 11)), 2 ** 10)


def test_top_minor_abs_mean_matches_monte_carlo_and_edges():
    rng = np.random.default_rng(5)
    om = np.stack([haar_orthogonal_np(5, rng) for _ in range(20000)])
    for t in (1, 2, 3, 4):
        v = np.abs(np.linalg.det(om[:, :t, :t]))
        assert abs(v.mean() - wedge.top_minor_abs_mean(t, 5)) < 5 * v.std() / np.sqrt(v.size)
    assert wedge.top_minor_abs_mean(5, 5) == 1.0
    # t = 1: E|Omega_11| = E|x_1| for x uniform on S^{n-1} = Gamma(n/2) / (sqrt(pi) Gamma((n+1)/2))
    n = 7
    exact = float(mpmath.gamma(n / 2) / (mpmath.sqrt(mpmath.pi) * mpmath.gamma((n + 1) / 2)))
    assert within(abs(wedge.top_minor_abs_mean(1, n) - exact), tol(4, scale=exact), "E|Omega_11|")  # 4 Beta functions
    with pytest.raises(ValueError):
        wedge.top_minor_abs_mean(0, 3)


def test_symbolic_families_agree_with_numeric_ones():
    L = sp.Symbol("L", positive=True, integer=True)
    for kind in subadditive.MEETS + subadditive.VIOLATES:
        a, d, c = Fraction(5), Fraction(5, 2), Fraction(1)
        expr = subadditive.symbolic(kind, a, d, c, L)
        u = subadditive.family(kind, a, d, c)
        for k in (1, 2, 7, 10):
            # sympy's float of an exact expression and the float of a Fraction: an ulp or so each, of the
            # largest term (a, d, c and L of a few units)
            assert within(abs(float(expr.subs(L, k)) - float(u(k))), tol(4, scale=max(1.0, abs(float(u(k)))) * k),
                          kind), (kind, k)
    with pytest.raises(ValueError):
        subadditive.symbolic("nope", 0, 0, 1, L)


def test_induction_lhs_index_slips_change_the_value():
    vals = [Fraction(v) for v in (1, 0, 0, 5)]
    u = lambda k: vals[k - 1]  # noqa: E731
    assert subadditive.induction_lhs(u, 2, 2) == u(2) / 2
    assert subadditive.induction_lhs(u, 2, 2, k_start=1) != u(2) / 2
    assert subadditive.induction_lhs(u, 2, 2, power_shift=-1) != u(2) / 2
    with pytest.raises(ValueError):
        subadditive.induction_lhs(u, 2, 2, k_start=0)


def test_fixed_inputs_decide_a_foil_before_the_search():
    from checks import Comparison, Context, Status
    from checks.property import PropertyCheck
    from hypothesis import strategies as st
    from theory.claims.app_c import _FixedThen

    prop = PropertyCheck(st.builds(dict, x=st.integers(0, 5)), lambda x: Comparison(0.0, 1.0), generated="x")
    check = _FixedThen([{"x": 3}], prop)
    assert check(Context("lem-c.7/conclusion")).status is Status.VERIFIED
    foil = check.foil(lambda x: Comparison(float(x == 3) * 2, 1.0, {"x": x}))
    out = foil(Context("lem-c.7/conclusion"))
    assert out.status is Status.REFUTED and out.evidence["fixed_case"] == 0
    assert check.replay(out.counterexample).ok  # the stored input replays through the printed comparison


def test_lemma_c5_formula_check_works_at_any_global_mpmath_precision(monkeypatch):
    """lem-c.5/formula compares two 30-digit evaluations; its differences must be taken at 30 digits too, not at
    whatever mpmath.mp.dps another module left (app_e sets 40 at import; mpmath's default is 15, at which a
    difference taken outside workdps(30) loses ~1e-16 and the printed form came out refuted)."""
    import mpmath

    from theory.claims import app_c

    class _Ctx:
        def memo(self, key, fn):
            return fn()

    for dps in (15, 40):
        monkeypatch.setattr(mpmath.mp, "dps", dps)
        out = app_c._lem_c5_formula(_Ctx())
        assert out.status.value == "verified", (dps, out.summary)
        assert out.evidence["max_abs_diff_mp"] < 1e-25  # 30 digits: ~1e-29 (the check's own threshold)
