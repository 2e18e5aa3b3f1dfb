"""Mutation-kill checks, round r, helper 4 (theory.claims.app_a, theory.claims.app_c, theory.claims.app_c2).

- ``app_a._step_values`` (Proposition 4.5): every left side and every printed right side (display lines 1-3,
  -X, -X^T, 0) from explicit products, with real (not 0/1) gates so a dropped or doubled gate shows.
- ``app_c._c3_check`` (Lemma C.3) on synthetic memoised data: rows, quadrature rows, exact-rank split,
  foils, power and summary numbers.

- ``app_c._c1_data`` / ``_c1_corrected`` (Theorem C.1, corrected limit form): the exact exponents each law's
  fits are tested against (Newman's closed form for Ginibre, Remark 5.4 for (2, 0.5, 1)-layers with
  gamma_i = -oo beyond the rank, the sorted means for the diagonal law), the per-depth spreads, the fitted
  ladder limit (recomputed from the mean curve of (1/L) log s_i), and what the foils predict (the reversed
  order reads the -oo entries beyond the rank). The ladder is replaced by a cheap synthetic one.
- ``app_c._mp_gamma`` / ``_mp_lam`` at p = 1 (every gate open): the rank weights concentrate on t = n and
  Lemma C.5 reduces to Newman's Ginibre exponents ln(sqrt 2 sigma) + psi((n-i+1)/2)/2.
- ``app_c2._c7_reduction_corrected`` (Lemma C.7's corrected reduction): the evidence numbers
  max_{p,q} v_{p+q} - v_p - v_q (v_L = u_L + (L-1)d + offset d) and min_{p,q} d'(p,q) + lower d, recomputed by
  brute force in exact rationals from u_L = aL + d + c f(L), and the verdict, for the printed constants and
  the foils' ones; ``_c7_reduction_replay``'s defects by hand.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.special import binom, digamma

from checks import Status, stats
from tests.conftest import tiny_context, within
from checks.tolerance import tol
from theory.claims import _ladder, app_a, app_c, app_c2

EPS = float(np.finfo(np.float64).eps)


# -- Theorem C.1 (corrected): the exact exponents and the fits -------------------------------------

def _newman(n, sigma):
    """Ginibre exponents gamma_i = ln(sigma) + (ln 2 + psi((n-i+1)/2)) / 2, i = 1..n (Newman)."""
    return np.array([math.log(sigma) + (math.log(2.0) + digamma((n - i + 1) / 2)) / 2 for i in range(1, n + 1)])


def _remark_5_4(n, p, sigma, r):
    """gamma_i = ln(sqrt 2 sigma) + sum_{t=r}^n w_t psi((t-i+1)/2) / (2 sum w_t), w_t = C(n,t) p^t (1-p)^(n-t)."""
    ts = range(r, n + 1)
    w = np.array([binom(n, t) * p ** t * (1 - p) ** (n - t) for t in ts])
    return np.array([math.log(math.sqrt(2.0) * sigma)
                     + sum(wt * digamma((t - i + 1) / 2) for wt, t in zip(w, ts)) / (2 * w.sum())
                     for i in range(1, r + 1)])


def _fake_ladder(ctx, name, cfg, depths, batch):
    """(batch, n) 'log singular values' with (1/L) log s_k = c_k + b_k/L + noise/L, c_k distinct per law."""
    rng = np.random.default_rng(1000 * cfg.n + int(100 * cfg.p) + cfg.r)
    c = -np.arange(cfg.n) * (0.7 if cfg.p == 1.0 else 0.9) + 0.1 * cfg.r
    b = 0.3 * np.arange(1, cfg.n + 1)
    return {L: L * c[None, :] + b[None, :] + rng.standard_normal((batch, cfg.n)) for L in depths}


def _c1_ctx():
    """The quick profile's code path with the batch capped at 40 (every depth kept: the diagonal law's fit
    has three coefficients)."""
    from checks.model import Context

    class _Small(Context):
        def pick(self, **per_profile):
            v = super().pick(**per_profile)
            return min(v, 40) if isinstance(v, int) else v

    return _Small("thm-c.1/existence")


@pytest.fixture
def c1(monkeypatch):
    monkeypatch.setattr(_ladder, "ladder", _fake_ladder)
    ctx = _c1_ctx()
    return ctx, app_c._c1_data(ctx)


def test_c1_exact_exponents_per_law_and_minus_infinity_beyond_the_rank(c1):
    _, data = c1
    want = {"Ginibre (p = 1)": (np.array(_newman(4, 1.0)), 4),
            "(2, 0.5, 1)-layers": (np.concatenate([_remark_5_4(4, 0.5, 1.0, 2), [-np.inf, -np.inf]]), 2),
            "diagonal lognormal law": (np.array([1.0, 0.5, 0.0]), 3)}
    seen = {}
    for name, gam, i, f, sd in data["fits"]:
        g, r = want[name]
        gam = np.asarray(gam, dtype=float)
        assert gam.shape == g.shape, name
        fin = np.isfinite(g)
        assert np.array_equal(np.isfinite(gam), fin) and np.all(gam[~fin] == -np.inf), (name, gam)
        assert within(float(np.max(np.abs(gam[fin] - g[fin]))), tol(8, scale=float(np.max(np.abs(g[fin]))) + 1,
                                                                      kernels=4), name)
        seen.setdefault(name, []).append(i)
    assert seen == {k: list(range(1, r + 1)) for k, (_, r) in want.items()}


def test_c1_fits_and_spreads_are_from_column_i_over_L(c1):
    ctx, data = c1
    assert len(data["depths"]) >= 3 and data["batch"] >= 2
    for name, gam, i, f, sd in data["fits"]:
        if name == "diagonal lognormal law":
            lad = app_c._diag_ladder(_c1_ctx().rng("diag"), data["depths"], data["batch"])
        else:
            cfg = next(c for c, nm in app_c._C1_LAWS if nm == name)
            lad = _fake_ladder(ctx, "thm-5.3", cfg, data["depths"], data["batch"])
        Ls = sorted(lad)
        y = [lad[L][:, i - 1] / L for L in Ls]
        assert within(max(abs(a - float(np.std(v))) for a, v in zip(sd, y)), tol(data["batch"], scale=1.0), name)
        mean = np.array([v.mean() for v in y])
        se = np.array([v.std(ddof=1) / math.sqrt(v.size) for v in y])
        ref = _ladder.fit(np.array(Ls, float), mean, se, ctx.alpha, order=1 if name != "diagonal lognormal law" else 2)
        assert len(f.coef) == len(ref.coef), (name, i)
        assert within(abs(float(f.coef[0]) - float(ref.coef[0])), tol(data["batch"] * len(Ls), scale=float(
            np.max(np.abs(mean))) + 1, kernels=8), (name, i))


def test_diag_ladder_is_sorted_partial_sums_of_shifted_normals():
    depths, batch = [3, 5], 7
    got = app_c._diag_ladder(np.random.default_rng(11), depths, batch)
    rng = np.random.default_rng(11)
    for L in depths:
        z = rng.standard_normal((batch, L, 3))
        want = np.array([sorted([sum(app_c._C1_DIAG_MU[k] + z[b, j, k] for j in range(L)) for k in range(3)],
                                reverse=True) for b in range(batch)])
        assert got[L].shape == (batch, 3)
        assert within(float(np.max(np.abs(got[L] - want))), tol(L, scale=float(np.max(np.abs(want))) + 1), L)


def test_c1_corrected_rows_and_foil_predictions(c1, monkeypatch):
    ctx, data = c1
    foils = {"printed": lambda g: g, "cumsum": np.cumsum, "reversed": lambda g: np.asarray(g)[::-1],
             "shifted": lambda g: np.append(np.asarray(g)[1:], -np.inf)}
    for label, pred in foils.items():
        ctx2 = _c1_ctx()
        out = app_c._c1_corrected(ctx2, predict=pred)
        rows = out.evidence["tests"]
        assert len(rows) == len(data["fits"])
        for row, (name, gam, i, f, sd) in zip(rows, data["fits"]):
            g = np.asarray(gam, dtype=float)
            want = {"printed": g[i - 1], "cumsum": g[:i].sum(), "reversed": g[len(g) - i],
                    "shifted": g[i] if i < len(g) else -np.inf}[label]
            assert row["gamma_i (exact)"] == g[i - 1], (label, name, i)
            if np.isinf(want):
                assert row["prediction"] == want, (label, name, i, row["prediction"])
            else:
                assert within(abs(row["prediction"] - want), tol(i, scale=abs(want) + 1), (label, name, i))
            assert row["estimate"] == float(f.coef[0]) and row["se"] == float(f.se(0))
    # the reversed-order foil reads gamma_4, gamma_3 of the rank-2 layers law: -oo (the wedge vanishes)
    out = app_c._c1_corrected(_c1_ctx(), predict=foils["reversed"])
    lay = [r for r in out.evidence["tests"] if r["name"].startswith("(2, 0.5, 1)-layers")]
    assert [r["prediction"] for r in lay] == [-np.inf, -np.inf]
    assert out.status is Status.REFUTED


# -- Lemma C.4 / C.5 at p = 1 -------------------------------------------------------------------------

@pytest.mark.parametrize("n,sigma", [(1, 1.0), (3, 0.5), (6, 2.0)])
def test_mp_gamma_and_lam_at_p_one_are_newman(n, sigma):
    """p = 1: w_t = 0 for t < n and w_n = 1 (0^0 = 1), so gamma_i is Newman's, for every rank r <= n (the
    sum over t >= r keeps only t = n); lambda_i = sum_{k<=i} gamma_k."""
    g = _newman(n, sigma)
    for r in sorted({1, max(1, n // 2), n}):
        for i in range(1, r + 1):
            got = float(app_c._mp_gamma(i, n, 1.0, sigma, r))
            assert within(abs(got - g[i - 1]), tol(n, scale=abs(g[i - 1]) + 1, kernels=4), (n, r, i))
            lam = float(app_c._mp_lam(i, n, 1.0, sigma, r))
            assert within(abs(lam - g[:i].sum()), tol(n * i, scale=float(np.abs(g[:i]).sum()) + 1, kernels=4),
                          (n, r, i))


@pytest.mark.parametrize("n,p,sigma,r", [(5, 0.3, 0.7, 2), (4, 0.93, 30.0, 4), (9, 0.5, 0.01, 1)])
def test_mp_gamma_matches_remark_5_4_in_float64(n, p, sigma, r):
    g = _remark_5_4(n, p, sigma, r)
    for i in range(1, r + 1):
        got = float(app_c._mp_gamma(i, n, p, sigma, r))
        assert within(abs(got - g[i - 1]), tol(n, scale=abs(g[i - 1]) + 10, kernels=4), (i,))


# -- Lemma C.7, corrected reduction ---------------------------------------------------------------------

_F = {"inv": lambda L: Fraction(1, L), "inv-neg": lambda L: Fraction(-1, L), "geom": lambda L: Fraction(1, 2 ** L)}


def _brute(row, offset, lower):
    a, d, c, g, f = row["a"], row["d"], row["c"], row["grid"], _F[row["family"]]
    u = [None] + [a * L + d + c * f(L) + (L - 1) * d for L in range(1, 2 * g + 1)]  # u'_L
    v = [None] + [u[L] + offset * d for L in range(1, 2 * g + 1)]
    sub = max(v[p + q] - v[p] - v[q] for p in range(1, g + 1) for q in range(1, g + 1))
    lb = min(u[p] + u[q] - u[p + q] for p in range(1, g + 1) for q in range(1, g + 1)) + lower * d
    return sub, lb


@pytest.mark.parametrize("offset,lower", [(Fraction(1), Fraction(1)), (Fraction(0), Fraction(1)),
                                          (Fraction(1), Fraction(1, 2)), (Fraction(2, 3), Fraction(2, 3)),
                                          (Fraction(3, 2), Fraction(5, 4))])
def test_c7_reduction_corrected_numbers_and_verdict_by_brute_force(offset, lower):
    ctx = tiny_context("lem-c.7/reduction")
    src = app_c2._c7_reduction_rows(tiny_context("lem-c.7/reduction"))
    out = app_c2._c7_reduction_corrected(ctx, offset=offset, lower=lower)
    rows = out.evidence["rows"]
    assert len(rows) == len(src) == 9
    any_bad = False
    for r, s in zip(rows, src):
        sub, lb = _brute(s, offset, lower)
        assert (r["family"], r["a"], r["d"], r["c"]) == (s["family"], float(s["a"]), float(s["d"]), float(s["c"]))
        assert r["max v_{p+q}-v_p-v_q"] == float(sub), (s, offset, r["max v_{p+q}-v_p-v_q"], sub)
        assert r["min d'(p,q) + lower*d"] == float(lb), (s, lower, r["min d'(p,q) + lower*d"], lb)
        any_bad |= sub > 0 or lb < 0
    assert out.status is (Status.REFUTED if any_bad else Status.VERIFIED)
    if offset == lower == 1:
        assert out.status is Status.VERIFIED  # the printed correction holds on every family
    if any_bad:
        assert len(out.counterexample["rows"]) == sum(
            1 for s in src if (lambda sl: sl[0] > 0 or sl[1] < 0)(_brute(s, offset, lower)))


# -- Lemma C.3: the decision of _c3_check on synthetic Monte-Carlo data ------------------------------

def _c3_ref(i, t, sigma):
    """(i/2) ln(2 sigma^2) + (1/2) sum_{k<=i} psi((t-k+1)/2) (Wishart log-determinant mean / 2)."""
    return i / 2 * math.log(2 * sigma ** 2) + 0.5 * sum(digamma((t - k + 1) / 2) for k in range(1, i + 1))


def _c3_ctx(claim_id, *, wrong_rank=False, se=0.05):
    """A Context whose memoised data are synthetic: MC means at the closed form +- se/2, the quadrature
    references (1/2) E log chi^2_t = (psi(t/2) + ln 2)/2, and exact ranks min(i, t) (one wrong on request)."""
    from checks.model import Context

    n, cells = app_c._c3_cells()
    est = [(_c3_ref(i, t, s) + (0.5 if j % 2 else -0.5) * se, se) for j, (t, i, s) in enumerate(cells)]
    quad = {t: (digamma(t / 2) + math.log(2.0)) / 2 for t in range(1, n + 1)}
    exact = [(nn, t, i, min(i, t)) for nn in range(1, 7) for t in range(1, nn + 1) for i in range(1, nn + 1)]
    if wrong_rank:
        exact[5] = exact[5][:3] + (exact[5][2],)  # full rank i where i > t (or rank i-1 where i <= t)
        if exact[5][2] <= exact[5][1]:
            exact[5] = exact[5][:3] + (exact[5][2] - 1,)
    ctx = Context(claim_id)
    ctx.memo("data", lambda: {"n": n, "m": 100, "cells": cells, "est": est, "quad": quad, "exact": exact})
    return ctx, cells, est, quad, exact


def test_c3_check_rows_quadrature_and_verdict_from_definitions():
    ctx, cells, est, quad, exact = _c3_ctx("lem-c.3/formula")
    out = app_c._c3_check(ctx)
    assert out.status is Status.SUPPORTED  # consistent z-tests, no certain mismatch
    rows = out.evidence["tests"]
    assert len(rows) == len(cells)
    z = ctx.z(len(cells))
    for row, (t, i, s), (e, se) in zip(rows, cells, est):
        want = _c3_ref(i, t, s)
        assert row["name"] == f"t={t},i={i},sigma={s:g}"
        assert within(abs(row["prediction"] - want), tol(2 * i, scale=abs(want) + 1, kernels=4), (t, i, s))
        assert row["estimate"] == e and row["se"] == se and row["consistent"]
        assert within(abs(row["z"] - (e - row["prediction"]) / se), tol(4, scale=abs(row["z"]) + 1), (t, i, s))
        assert within(abs(row["detectable_effect"] - stats.detectable_effect(se, z)), tol(4, scale=se), (t, i, s))
    q = out.evidence["quadrature_i1"]
    assert [r["t"] for r in q] == sorted(quad)
    for r in q:
        want = _c3_ref(1, r["t"], 1.0)
        assert r["quadrature"] == quad[r["t"]]
        assert within(abs(r["predicted"] - want), tol(4, scale=abs(want) + 1, kernels=4), r)
        assert r["abs_diff"] == abs(r["quadrature"] - r["predicted"])
    assert "exact_rank_mismatches" not in out.evidence
    worst = max(abs(r["z"]) for r in rows)
    assert f"{len(cells)} (t, i, sigma) cells" in out.summary and f"max |z| = {worst:.2f}" in out.summary
    de = max(r["detectable_effect"] for r in rows)
    assert f"detectable effect <= {de:.3f}" in out.summary


def test_c3_check_foils_and_case_split_decisions():
    # ln(sigma^2) foil: every prediction moves by -(i/2) ln 2 >= 0.34 = 7 se: all cells inconsistent; the power
    # is the z-tests' power against that shift
    ctx, cells, est, quad, exact = _c3_ctx("lem-c.3/formula")
    out = app_c._c3_check(ctx, predict=app_c._c3_no_two)
    assert out.status is Status.REFUTED and out.summary.startswith(f"{len(cells)} cells inconsistent")
    # the quadrature is compared with the foil's own i = 1 prediction: off by ln(2)/2, so certain
    assert all(abs(r["abs_diff"] - math.log(2) / 2) < 1e-9 for r in out.evidence["quadrature_i1"])
    assert out.power == 1.0
    # printed form: power against itself from the z-tests (no certain mismatch)
    ctx, *_ = _c3_ctx("lem-c.3/formula")
    out = app_c._c3_check(ctx)
    z = ctx.z(len(cells))
    want = stats.power_any([stats.power(0.0, se, z) for _, se in est])
    assert within(abs(out.power - want), tol(len(cells), scale=1.0), "power")
    # corrected case split (exact_zero): every exact rank agrees -> verified, the count printed
    ctx, *_ = _c3_ctx("lem-c.3/case-split")
    out = app_c._c3_check(ctx, exact_zero=True)
    assert out.status is Status.SUPPORTED and out.evidence["exact_rank_mismatches"] == []
    assert f"exact ranks, {len(exact)} cases" in out.summary
    # one wrong rank -> refuted for certain, the mismatch listed
    ctx, _, _, _, exact_w = _c3_ctx("lem-c.3/case-split", wrong_rank=True)
    out = app_c._c3_check(ctx, exact_zero=True)
    nn, t, i, rk = exact_w[5]
    assert out.status is Status.REFUTED and out.power == 1.0
    assert out.evidence["exact_rank_mismatches"] == [{"n": nn, "t": t, "i": i, "rank of first i columns": rk}]
    # split at t - 1: the cells i = t predict -oo (inconsistent), and t = 1's quadrature row too
    ctx, *_ = _c3_ctx("lem-c.3/case-split")
    out = app_c._c3_check(ctx, split=lambda t: t - 1, exact_zero=True)
    rows = out.evidence["tests"]
    for row, (t, i, s) in zip(rows, cells):
        assert (row["prediction"] == -math.inf) == (i > t - 1), (t, i, s)
    assert out.evidence["quadrature_i1"][0]["predicted"] == -math.inf
    mism = out.evidence["exact_rank_mismatches"]
    want_m = [{"n": a, "t": b, "i": c, "rank of first i columns": d} for a, b, c, d in exact if (d >= c) == (c > b - 1)]
    assert mism == want_m[:len(mism)] and len(mism) == min(5, len(want_m)) and out.status is Status.REFUTED


@pytest.mark.parametrize("family,a,d,c,p,q", [("inv-neg", "0", "1", "1/4", 1, 1), ("inv-neg", "2", "3", "1", 2, 5),
                                              ("inv", "1/2", "1", "1/3", 3, 1), ("geom", "0", "2", "5", 1, 2)])
def test_c7_reduction_replay_defects_by_hand(family, a, d, c, p, q):
    """d(p,q) = u_p + u_q - u_{p+q} for u_L = aL + d + c f(L); after u'_L = u_L + (L-1)d the defect is
    d(p,q) - d, and the replay's error is its violation of d' >= 0: max(0, d - d(p,q))."""
    A, D, C = Fraction(a), Fraction(d), Fraction(c)

    def u(L):
        return A * L + D + C * _F[family](L)

    orig = u(p) + u(q) - u(p + q)
    new = (u(p) + (p - 1) * D) + (u(q) + (q - 1) * D) - (u(p + q) + (p + q - 1) * D)
    assert new == orig - D
    cmp = app_c2._c7_reduction_replay({"family": family, "a": a, "d": d, "c": c, "p": p, "q": q})
    assert cmp.detail["d(p,q) original"] == float(orig) and cmp.detail["d'(p,q) after shift"] == float(new)
    assert cmp.err == float(max(Fraction(0), -new)) and cmp.tol == 0.0
    assert cmp.ok is (new >= 0)


# -- Proposition 4.5: every printed right side of _step_values, with general (not 0/1) gates ------------

def test_step_values_every_side_from_explicit_products():
    """_step_values(Ws, G, l, (Ms, Mdot, g)) for 1-based l = 1..L-1 on a rectangular network with real gates
    (so D^2 != D and a dropped or doubled gate shows) and an arbitrary Mdot: each left side is its product of
    M_{l}, M_{l+1}, Mdot_l, Mdot_{l+1}; each printed right side is its expression in X = M_{1:l} G^T M_{l+1:L}
    (lines 1-3 of the display, -X, -X^T), built here from explicit products (M_{l+2:L} = I past the end)."""

    rng = np.random.default_rng(404)
    ns = [3, 4, 2, 5, 3]
    L = len(ns) - 1
    Ws = [rng.standard_normal((ns[k + 1], ns[k])) for k in range(L)]
    g = [np.ones(ns[0])] + [rng.uniform(0.4, 1.9, ns[k]) for k in range(1, L)] + [np.ones(ns[L])]
    D = [np.diag(x) for x in g]
    M = [None] + [D[k] @ Ws[k - 1] @ D[k - 1] for k in range(1, L + 1)]  # 1-based
    Md = [None] + [rng.standard_normal((ns[k], ns[k - 1])) for k in range(1, L + 1)]
    G = rng.standard_normal((ns[L], ns[0]))

    def prod(a, b, dim):  # M_{a:b} = M_b ... M_a
        P = np.eye(dim)
        for k in range(a, b + 1):
            P = M[k] @ P
        return P

    terms = ([M[k] for k in range(1, L + 1)], [Md[k] for k in range(1, L + 1)], g)
    scale = math.prod(max(np.linalg.norm(W, 2), 1.0) for W in Ws) * 2.0 ** L * max(1.0, np.linalg.norm(G, 2))
    t = tol(max(ns), scale=scale, kernels=12)
    for l in range(1, L):
        v = app_a._step_values(Ws, G, l, terms)
        pre, suf1, suf2 = prod(1, l, ns[0]), prod(l + 1, L, ns[l]), prod(l + 2, L, ns[l + 1])
        X = pre @ G.T @ suf1
        want = {
            "mdot_next_T_m_next": (Md[l + 1].T @ M[l + 1], {
                "line1": -D[l] @ (D[l + 1] @ suf2.T @ G @ pre.T).T @ D[l + 1] @ D[l + 1] @ Ws[l] @ D[l],
                "line2": -D[l] @ pre @ G.T @ suf2 @ D[l + 1] @ Ws[l] @ D[l],
                "line3": -X}),
            "m_mdot_T": (M[l] @ Md[l].T, {"printed": -X}),
            "m_next_T_mdot_next": (M[l + 1].T @ Md[l + 1], {"printed": -X.T}),
            "mdot_m_T": (Md[l] @ M[l].T, {"printed": -X.T}),
            "delta_dot": (Md[l + 1].T @ M[l + 1] + M[l + 1].T @ Md[l + 1] - Md[l] @ M[l].T - M[l] @ Md[l].T,
                          {"printed": np.zeros((ns[l], ns[l]))}),
            "delta_dot_sign_slip": (Md[l + 1].T @ M[l + 1] - M[l + 1].T @ Md[l + 1] - Md[l] @ M[l].T - M[l] @ Md[l].T,
                                    {"printed": np.zeros((ns[l], ns[l]))}),
        }
        assert set(v) == set(want)
        for name, (lhs, rhs) in want.items():
            glhs, grhs = v[name]
            assert np.shape(glhs) == lhs.shape and within(np.abs(glhs - lhs), t, (l, name))
            assert set(grhs) == set(rhs), (l, name)
            for key, val in rhs.items():
                assert np.shape(grhs[key]) == val.shape and within(np.abs(grhs[key] - val), t, (l, name, key))
