"""Mutation-testing kills (issue 17, part 6, helper q3): Appendix C.2 (lem-c.6/limit's foil powers)."""
from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np
from scipy.stats import norm

from tests.conftest import tiny_context, within
from theory.claims import app_c2




def _e_log_det_minor(t, n):
    """E log|det Ω^{t,t}| for Haar Ω on O(n): |det|^2 = prod_k Beta((t-k+1)/2, (n-t)/2), so
    E log|det| = (1/2) sum_{k<=t} [psi((t-k+1)/2) - psi((n-k+1)/2)] (mpmath, 30 digits)."""
    with mp.workdps(30):
        return float(sum(mp.digamma(mp.mpf(t - k + 1) / 2) - mp.digamma(mp.mpf(n - k + 1) / 2)
                         for k in range(1, t + 1)) / 2)


def test_c6_limit_power_is_the_z_test_power_against_the_haar_truth():
    """``_c6_limit``'s power (printed and each limit foil, Haar Ω): the largest over t of the two-sided z-test
    power sf(crit - |f_t - m_t|/se_t) + cdf(-crit - |f_t - m_t|/se_t), m_t = E log|det Ω^{t,t}| (its own
    closed form here), f_t the foil's limit; for the printed limit f_t = m_t, so the power is the level 2 sf(crit).
    The prediction column is f_t and the '-d_t(n)' column is m_t."""
    ctx = tiny_context("lem-c.6/limit")
    limits = [None,
              lambda t, n: -t * app_c2._d_closed(1, n),
              lambda t, n: -app_c2._d_closed(t + 1, n),
              lambda t, n: -1.5 * app_c2._d_closed(t, n),
              lambda t, n: 2.0 * app_c2._d_closed(t, n)]
    for lim in limits:
        fn = app_c2._c6_limit if lim is None else functools.partial(app_c2._c6_limit, limit=lim)
        out = fn(ctx)
        rows = out.evidence["rows"]
        n = 5
        assert [r["t"] for r in rows] == [1, 2, 3]
        want, crit, dzmax = 0.0, ctx.z(3), 0.0
        for r in rows:
            t, tst = r["t"], r["test"]
            m = _e_log_det_minor(t, n)
            f = m if lim is None else lim(t, n)
            assert within(abs(r["-d_t(n)"] - m), 1e3 * np.finfo(float).eps * (1 + abs(m)), "-d_t")
            assert within(abs(r["predicted limit"] - f), 1e3 * np.finfo(float).eps * (1 + abs(f)), "pred")
            se = tst["se"]
            dz = abs(f - m) / se
            dzmax = max(dzmax, dz)
            want = max(want, float(norm.sf(crit - dz) + norm.cdf(-crit - dz)))
        assert out.power is not None
        # power' = pdf terms x d(dz); dz carries a few ulps of (f, m, se): relative error <= c eps (1 + dz^2)
        assert within(abs(out.power - want), 64 * np.finfo(float).eps * (1 + dzmax**2 + crit**2) * want, "power"), \
            (out.power, want)
        if lim is None:
            assert within(abs(out.power - 2 * norm.sf(crit)), 64 * np.finfo(float).eps * (1 + crit**2), "level")


# -- Appendix E.1: the minimal counterexample and the analytic-path strategy -------------------------------

def test_e1_minimal_true_jdot_is_the_gradient_flow_derivative():
    """``_e1_minimal``: n = 1, L = 2, L(J) = J, J = w2 d w1. Gradient flow w1' = -dJ/dw1 = -d w2,
    w2' = -dJ/dw2 = -d w1, so Jdot = d (w2' w1 + w2 w1') = -d^2 (w1^2 + w2^2) (sympy, from the definition);
    the printed Lemma E.1 gives -(M2 d M2 + M1 M1) with M1 = d w1, M2 = w2."""
    import sympy as sp

    from theory.claims import app_e

    w1, w2, d = sp.symbols("w1 w2 d")
    J = w2 * d * w1
    dw1, dw2 = -sp.diff(J, w1), -sp.diff(J, w2)
    true = sp.diff(J, w1) * dw1 + sp.diff(J, w2) * dw2
    printed = -(w2 * d * w2 + (d * w1) * (d * w1))
    out = app_e._e1_minimal()
    loc = {"w1": w1, "w2": w2, "d": d}
    assert sp.simplify(sp.sympify(out["true"], locals=loc) - true) == 0
    assert sp.simplify(sp.sympify(out["printed"], locals=loc) - printed) == 0
    assert sp.simplify(sp.sympify(out["printed_minus_true"], locals=loc) - (printed - true)) == 0


def test_analytic_path_tie_cases_start_at_a_tie():
    """``_analytic_path``: with ``tie`` the first two branches start equal (s0[1] == s0[0], the crossing at t = 0);
    without it s0 is the drawn distinct values; X0, Y0 orthogonal, Kx, Ky skew, len(c) = min(rows, cols)."""
    from hypothesis import HealthCheck, given, settings

    from theory.claims import app_e

    seen = set()

    @settings(max_examples=40, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(app_e._analytic_path())
    def run(p):
        s0, k = np.asarray(p["s0"], float), min(p["X0"].shape[0], p["Y0"].shape[0])
        assert len(s0) == k and len(p["c"]) == k
        eps = np.finfo(float).eps
        for M in (p["X0"], p["Y0"]):
            assert within(np.max(np.abs(M.T @ M - np.eye(len(M)))), 16 * len(M) * eps, "orth")
        for K in (p["Kx"], p["Ky"]):
            assert np.array_equal(K, -K.T)
        if p["tie"]:
            assert k >= 2 and s0[1] == s0[0]
        else:
            assert len(set(s0.tolist())) == k
        seen.add(bool(p["tie"]))

    run()
    assert seen == {True, False}


def test_d6_eq2_states_that_s_l_is_invertible():
    """lem-d.6/eq2 uses S_L^{-1}: its hypotheses name S_L's invertibility (s_{n,L} > 0) besides Theorem D.1's."""
    from checks.model import REGISTRY
    from theory.claims import app_d

    c = REGISTRY["lem-d.6/eq2"]
    assert tuple(c.hypotheses[:len(app_d.THM_D1_HYP)]) == tuple(app_d.THM_D1_HYP)
    assert any("invertible" in h and "s_{n,L} > 0" in h for h in c.hypotheses)


def test_d6_eq2_scaled_middle_factor_error_is_its_exact_size():
    """``cmp_eq2(scale=s)`` (the const-slip foil, middle factor scaled by s): C - s P D P^T = (1 - s) C + s (C - P D P^T),
    so its relative size max|.| / max|C| is |1 - s| up to s x (the printed identity's own error, err at s = 1)."""
    from hypothesis import HealthCheck, given, settings

    from theory.claims import app_d

    @settings(max_examples=2, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(app_d.cases(zero_tail=False))
    def run(inp):
        e1 = app_d.cmp_eq2(**inp).err
        for s in (0.5, math.sqrt(2.0), 1.5, 3.0):
            es = app_d.cmp_eq2(**inp, scale=s).err
            assert within(abs(es - abs(1.0 - s)), (1.0 + s) * e1 + 8 * np.finfo(float).eps, "scaled"), (s, es, e1)

    run()
