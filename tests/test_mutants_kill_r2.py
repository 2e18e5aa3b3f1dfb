"""Round r2 of issue 17 part 6: checks of whole helpers in theory/claims/app_e.py, app_f.py, sec5.py and sec6.py
against independent computations from their definitions (closed forms, exact rationals, mpmath, sympy)."""

from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from checks.model import Context, Status
from checks.tolerance import C_DEFAULT, tol
from tests.conftest import synthetic_rungs, within
from theory import alignment as al
from theory import gate_law
from theory.claims import app_e, app_f, sec5, sec6

EPS = float(np.finfo(np.float64).eps)


# ----- app_e: prop-7.1/proof/first-displays, the comparison's tolerance and its foils -------------------------

def _net(rng, n, L, c):
    Ws = [c * rng.standard_normal((n, n)) for _ in range(L)]
    ds = [rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n) for _ in range(L - 1)]
    return Ws, ds, rng.standard_normal((n, n))


def test_e2_first_tolerance_is_its_derivation_and_foils_fail_at_every_weight_scale():
    """_cmp_e2_first's tolerance: ds/dt is a sum of products of 2L factors and G, so scale = (prod_l max(||W_l||_2,
    1) prod_l max(max|d_l|, 1))^2 ||G||_2, kappa = s_1 / min gap (1 for n = 1), kernels 2L + 6, amplified by the
    scale (computed here from the definitions). The printed displays pass; at weight scales 0.3..20 the foils
    'gram_side' (B B^T in the first display; differs from B^T B for n >= 2) and 'unsquared' (S_A, S_B in the
    second) fail for L >= 2 (L = 1: A = B = I, all forms agree) --
    a tolerance that grew with a wrong power of the scale would let them through at large weights."""
    rng = np.random.default_rng(20261207)
    for n, L, c in [(1, 2, 3.0), (2, 1, 1.0), (3, 2, 1.0), (3, 3, 20.0), (2, 3, 0.3), (2, 4, 8.0)]:
        Ws, ds, G = _net(rng, n, L, c)
        ps = 1.0
        for w in Ws:
            ps *= max(float(np.linalg.svd(w, compute_uv=False)[0]), 1.0)
        for d in ds:
            ps *= max(float(np.max(np.abs(d))), 1.0)
        scale = ps * ps * float(np.linalg.svd(G, compute_uv=False)[0])
        J = np.eye(n)
        for l, w in enumerate(Ws):
            J = w @ (J if l == 0 else np.diag(ds[l - 1]) @ J)
        s = np.linalg.svd(J, compute_uv=False)
        kappa = float(s[0] / np.min(s[:-1] - s[1:])) if n > 1 else 1.0
        want = C_DEFAULT * (2 * L + 6) * n * (EPS * max(kappa, 1.0) * scale + 5e-324 * max(scale, 1.0))
        cm = app_e._cmp_e2_first(Ws, ds, G)
        assert "skipped" not in cm.detail, (n, L, c)
        # kappa from an SVD of the same product in another order: relative error ~ n eps kappa per kernel
        rel = tol(n, kappa=kappa, kernels=2 * L + 4)
        assert within(abs(cm.tol - want), rel * want, "tolerance")
        assert cm.ok, (n, L, c, cm.err, cm.tol)
        assert cm.detail["n"] == n and cm.detail["L"] == L
        sd = np.asarray(cm.detail["mpmath_sdot"])
        for key in ("first_display", "second_display"):
            assert within(np.abs(np.asarray(cm.detail[key]) - sd), cm.tol, key)
        for v in ("gram_side", "unsquared"):
            f = app_e._cmp_e2_first(Ws, ds, G, variant=v)
            assert within(abs(f.tol - want), rel * want, v)
            if L >= 2 and (n >= 2 or v == "unsquared"):
                assert not f.ok, (v, n, L, c, f.err, f.tol)


# ----- app_f: app-f/closed-form, the symbolic differences and the overflow note --------------------------------

def _sym_parts(n):
    a = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"a{i + 1}{j + 1}", positive=True))
    m = sum(a)
    rows = [sum(a[i, :]) for i in range(n)]
    cols = [sum(a[:, j]) for j in range(n)]
    sxy = sum((i + 1) * (j + 1) * a[i, j] for i in range(n) for j in range(n))
    sx = sum((i + 1) * rows[i] for i in range(n))
    sy = sum((j + 1) * cols[j] for j in range(n))
    sxx = sum((i + 1) ** 2 * rows[i] for i in range(n))
    syy = sum((j + 1) ** 2 * cols[j] for j in range(n))
    # m^2 Cov, m^2 Var X, m^2 Var Y by the raw-moment identities
    return a, m, m * sxy - sx * sy, m * sxx - sx**2, m * syy - sy**2


def test_closed_form_counterexample_lists_each_difference_under_its_own_name():
    """app-f/closed-form's symbolic rows: per n, 'm^2Cov - num', 'm^2VarX - denX', 'm^2VarY - denY' are the
    expanded differences (definition - closed form) of the numerator and of each factor under the root. The foil
    without the mass differs only in the numerator, by (m - 1) r_1^T A r_1; the foil with the row factor twice only
    in the second factor, by m^2 Var Y - m^2 Var X; a form with a wrong first factor only in that one. All three are
    refuted at n = 2 with exactly those rows (computed here from raw moments)."""
    a, m, cov, vx, vy = _sym_parts(2)
    r1 = sp.Matrix([1, 2])
    q11 = (r1.T * a * r1)[0]

    def wrong_first(q, mm):
        num, denx, deny = app_f._printed_parts(q, mm)
        return num, denx + q("1", "1"), deny

    cases = [(app_f._parts_no_mass, ((m - 1) * q11, 0, 0)),
             (app_f._parts_rows_twice, (0, 0, vy - vx)),
             (wrong_first, (0, -m, 0))]
    names = ("m^2Cov - num", "m^2VarX - denX", "m^2VarY - denY")
    for parts, want in cases:
        out = app_f._check_closed(Context("app-f/closed-form"), parts=parts)
        assert out.status is Status.REFUTED and out.counterexample["n"] == 2
        diff = out.counterexample["differences"]
        assert diff["n"] == 2 and out.evidence["symbolic"][-1] == diff
        for name, w in zip(names, want):
            assert sp.expand(sp.sympify(diff[name], locals={s.name: s for s in a}) - w) == 0, (parts, name, diff[name])


def test_closed_form_printed_rows_and_overflow_note():
    """The printed form: every symbolic difference is '0' at n = 2 and 3, VERIFIED; the overflow note's matrix is
    (diag(1,2,3) + e_1 e_2^T) * 1e80, whose rho (exact rationals: m = 7, Cov/sqrt(VarX VarY) from the
    probabilities) both the scaled closed form and mpmath give; the literal degree-4 denominator overflows to inf,
    so the unscaled value is 0."""
    out = app_f._check_closed(Context("app-f/closed-form"))
    assert out.status is Status.VERIFIED
    assert [c["n"] for c in out.evidence["symbolic"]] == [2, 3]
    for c in out.evidence["symbolic"]:
        assert c["m^2Cov - num"] == c["m^2VarX - denX"] == c["m^2VarY - denY"] == "0"
    A = [[Fraction(1), Fraction(1), Fraction(0)], [Fraction(0), Fraction(2), Fraction(0)], [Fraction(0)] * 2 + [3]]
    m = sum(sum(r) for r in A)
    P = [[x / m for x in r] for r in A]
    ex = sum((i + 1) * P[i][j] for i in range(3) for j in range(3))
    ey = sum((j + 1) * P[i][j] for i in range(3) for j in range(3))
    cov = sum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(3) for j in range(3))
    vx = sum((i + 1 - ex) ** 2 * P[i][j] for i in range(3) for j in range(3))
    vy = sum((j + 1 - ey) ** 2 * P[i][j] for i in range(3) for j in range(3))
    vxy = vx * vy
    rho = float(mp.mpf(cov.numerator) / cov.denominator / mp.sqrt(mp.mpf(vxy.numerator) / vxy.denominator))
    note = out.evidence["overflow_note"]
    assert within(abs(note["mpmath"] - rho), 4 * EPS, "mpmath rho")
    assert within(abs(note["scaled_closed_form"] - rho), tol(9, scale=1.0 / float(vx * vy) ** 0.5 * 9, kernels=4), "scaled")
    assert note["unscaled_closed_form"] == 0.0


# ----- sec5: def-5.2/law, the power of the chi-square test from its definition --------------------------------

def _exact_draws(m, law):
    pats = sorted(law)
    raw = np.array([float(law[pt]) * m for pt in pats])
    cnt = np.floor(raw).astype(int)
    for j in np.argsort(-(raw - cnt), kind="stable")[: m - int(cnt.sum())]:
        cnt[j] += 1
    return np.array([pt for pt, c in zip(pats, cnt) for _ in range(c)], dtype=np.int64)


def _mp_chi2_isf(alpha, df):
    return mp.findroot(lambda x: mp.gammainc(mp.mpf(df) / 2, x / 2, regularized=True) - alpha, mp.mpf(df))


def _mp_ncx2_sf(x, df, lam):
    """Poisson(lam/2) mixture of central chi-square tails."""
    h = mp.mpf(lam) / 2
    return mp.nsum(lambda k: mp.exp(-h) * h**k / mp.factorial(k)
                   * mp.gammainc(mp.mpf(df) / 2 + k, x / 2, regularized=True), [0, mp.inf])


def test_def52_law_power_unsaturated_from_noncentral_chi_square_and_forbidden_mass():
    """def-5.2/law's power on laws near the truth, where it is neither 0 nor 1 (so every factor of it counts): per
    case, lambda = m sum_{allowed} (P_true - P)^2 / P and the power is the noncentral chi-square tail beyond the
    chi2(df) quantile at alpha / #cases (mpmath: Poisson mixture of regularized incomplete gammas); a law that
    forbids a pattern the truth allows has power 1 - (1 - P_true(forbidden))^m. The check's power is the largest.
    On draws with the true pattern frequencies each row's chi2, p-value and counts are recomputed from the
    definitions, and the verdict is SUPPORTED iff every case has no forbidden draw and p > alpha / #cases."""
    mp.mp.dps = 30
    try:
        # m = 30 with the true law: the rare patterns (the all-ones code 2^n - 1 among them) are never drawn
        for m, eps, forbid in ((20000, Fraction(1, 60), False), (400, Fraction(0), True), (30, Fraction(0), False)):
            truth = {c: gate_law.pattern_law(*c) for c in sec5._LAW_CASES}

            def law(n, r, p, eps=eps, forbid=forbid):
                t = truth[(n, r, p)]
                if forbid:  # (3, 1, 1/10): the all-ones pattern (true probability 1/271) forbidden
                    return {pt: (Fraction(0) if (n, r) == (3, 1) and sum(pt) == 3 else w) for pt, w in t.items()}
                sup = [pt for pt in t if t[pt] > 0]
                return {pt: ((1 - eps) * w + eps / len(sup) if w > 0 else Fraction(0)) for pt, w in t.items()}

            ctx = Context("def-5.2/law")
            draws = [_exact_draws(m, truth[c]) for c in sec5._LAW_CASES]
            ctx.cache[("def-5.2/law", "draws")] = (m, draws)
            out = sec5._def52_law(ctx, law=law)
            thr = ctx.alpha / len(sec5._LAW_CASES)
            powers, passing = [], True
            for (n, r, p), d, row in zip(sec5._LAW_CASES, draws, out.evidence["rows"]):
                pred, t = law(n, r, p), truth[(n, r, p)]
                keep = [pt for pt in pred if pred[pt] > 0]
                bad = sum(t[pt] for pt in pred if pred[pt] == 0)
                # the row: Pearson chi2 over the allowed patterns, its p-value (df = #allowed - 1), draws elsewhere
                cnt = {pt: 0 for pt in pred}
                for u, k in zip(*np.unique(d, axis=0, return_counts=True)):
                    cnt[tuple(int(x) for x in u)] += int(k)
                obs, tot = sum(cnt[pt] for pt in keep), sum(pred[pt] for pt in keep)
                chi2 = sum((cnt[pt] - obs * pred[pt] / tot) ** 2 / (obs * pred[pt] / tot) for pt in keep)
                pv = mp.gammainc(mp.mpf(len(keep) - 1) / 2, mp.mpf(chi2.numerator) / chi2.denominator / 2,
                                 regularized=True)
                nbad = sum(cnt[pt] for pt in pred if pred[pt] == 0)
                assert (row["n"], row["r"], row["p"]) == (n, r, str(p))
                assert row["patterns predicted possible"] == len(keep) and row["draws on impossible patterns"] == nbad
                assert within(abs(row["chi2"] - float(chi2)), tol(2 ** n, scale=float(chi2) + 1, kernels=4), "chi2")
                assert within(abs(row["p_value"] - float(pv)), tol(2 ** n, scale=1.0, kernels=64), "p-value")
                passing = passing and nbad == 0 and float(pv) > thr
                if bad > 0:
                    powers.append(1 - (1 - mp.mpf(bad.numerator) / bad.denominator) ** m)
                    continue
                lam = m * sum((t[pt] - pred[pt]) ** 2 / pred[pt] for pt in keep)
                df = len(keep) - 1
                powers.append(_mp_ncx2_sf(_mp_chi2_isf(thr, df), df, mp.mpf(lam.numerator) / lam.denominator)
                              if lam > 0 else mp.mpf(0))
            assert out.status is (Status.SUPPORTED if passing else Status.REFUTED)
            want = float(max(powers))
            assert 0.05 < want < 0.95 or (m == 30 and want == 0.0), (m, want)  # the design: an unsaturated power
            assert within(abs(out.power - want), tol(16, scale=1.0, kernels=64), (m, out.power, want))
    finally:
        mp.mp.dps = 15


# ----- sec6: rem-6.3/unraveling, the slope term of the error -------------------------------------------------

@pytest.mark.parametrize("inverted, exponent", [(False, 1.0), (True, 1.0), (False, 2.0)])
def test_unravel_error_includes_slope_deviation_over_eps_plus_rounding_floor(monkeypatch, inverted, exponent):
    """cmp_unravel's err = max(remainder err, max |slope - 1| / (eps_L + floor)), floor = tol(5, kappa=K_eff) /
    REMAINDER_CONST (the rounding floor of the inputs); the remainder err = max over the last two rungs of
    max_{i != j} |R_ij / ratio_ij - K_ij| / (1 + |K_ij|) / (eps + floor). Rungs deep enough that eps_L is a few
    floors (L = 70), R exact at the deepest rung and R_ij = K_ij ratio_ij (1 + c_ij h) one rung above, so the
    log-log slope is 1 - log(1 + c_ij h) / (lr_ij(L_3) - lr_ij(L_2)) in closed form and its term dominates. The
    foils' predictions are the same with the log-ratio lr times -1 ('inverted': s_j/s_i below the diagonal) or
    times the exponent; data that follow a foil's prediction give that foil the same closed forms."""
    r, Kf, h = 3, 2.0, 1e-3
    T = np.array([[1.0, 0.0, 0.0], [0.8, 1.0, 0.0], [-1.5, 2.0, 1.0]])
    Ti = np.array([[1.0, 0.0, 0.0], [-0.8, 1.0, 0.0], [3.1, -2.0, 1.0]])  # T^{-1} by forward substitution
    c = np.array([[0.0, 0.3, -0.7], [0.4, 0.0, 0.2], [-0.6, 0.5, 0.0]])
    K = lambda i, j: T[i, j] if j < i else Ti[j, i]  # noqa: E731
    lrat = lambda ls, i, j: (ls[i] - ls[j]) if j < i else (ls[j] - ls[i])  # noqa: E731
    a = np.array([0.0, 0.5, 1.2, 1.9])
    Ls, hs = (20, 40, 70), (0.0, h, 0.0)
    sg = (-1.0 if inverted else 1.0) * exponent
    rungs = []
    for L, hk in zip(Ls, hs):
        ls = -L * a
        eps = Kf * math.exp(-0.5 * L)  # rho = max_i s_{i+1}/s_i = e^{-L/2}
        R = np.eye(r)
        for i in range(r):
            for j in range(r):
                if i != j:
                    R[i, j] = K(i, j) * math.exp(sg * lrat(ls, i, j)) * (1 + c[i, j] * hk)
        rungs.append(SimpleNamespace(L=L, rho=eps / Kf, eps=eps, log_s=ls, s6=SimpleNamespace(R=R, sJ_over_sA=None)))
    pred = SimpleNamespace(T=T, Tinv=Ti, Sigma=np.ones(r))
    monkeypatch.setattr(sec6, "_ladder6", lambda *a_, **k: (pred, Kf, rungs))
    cmp = sec6.cmp_unravel(None, None, r, None, "exp", inverted=inverted, exponent=exponent)
    floor = C_DEFAULT * 5 * EPS * Kf / al.REMAINDER_CONST
    assert within(abs(cmp.detail["rounding_floor"] - floor), 4 * EPS * floor, "floor")
    e2, e3 = rungs[1].eps, rungs[2].eps
    assert 1.5 * floor < e3 < 20 * floor  # the design: the floor matters at the deepest rung
    pairs = [(i, j) for i in range(r) for j in range(r) if i != j]
    d = {pq: sg * (lrat(rungs[2].log_s, *pq) - lrat(rungs[1].log_s, *pq)) for pq in pairs}
    slope_dev = max(abs(math.log1p(c[pq] * h) / d[pq]) for pq in pairs)
    rem2 = max(abs(K(*pq) * c[pq]) * h / (1 + abs(K(*pq))) for pq in pairs) / (e2 + floor)
    want = max(rem2, slope_dev / (e3 + floor))
    assert slope_dev / (e3 + floor) > 1e3 * rem2
    # the per-rung remainder at the perturbed rung, relative to 1 + |K_ij| (y = R / ratio: a few roundings of |K|)
    assert within(abs(cmp.detail["remainder"][1] - rem2 * (e2 + floor)), tol(r * r, scale=4.0, kernels=4),
                  "remainder")
    assert within(abs(cmp.detail["max_slope_deviation"] - slope_dev), 256 * EPS * 150 / min(abs(x) for x in d.values()),
                  "slope deviation")
    assert within(abs(cmp.err - want), 256 * EPS * 150 / min(abs(x) for x in d.values()) / (e3 + floor), "err")
    assert cmp.tol == al.REMAINDER_CONST and not cmp.ok
    # the fit rows name the pairs 1-based: all r (r - 1) of them (r = 3: six rows)
    assert sorted((f["i"], f["j"]) for f in cmp.detail["fits"]) == [(i + 1, j + 1) for i, j in pairs]


def test_unravel_without_pairs_passes(monkeypatch):
    """r = 1: no off-diagonal pair in R^{r,r}, nothing decays: err 0 <= tol (a pass), whatever the rungs."""
    rungs = synthetic_rungs(1, lambda ls, eps: np.eye(1))
    monkeypatch.setattr(sec6, "_ladder6", lambda *a_, **k: (SimpleNamespace(T=np.eye(1), Tinv=np.eye(1)), 2.0, rungs))
    for kw in ({}, {"inverted": True}, {"exponent": 2.0}):
        cmp = sec6.cmp_unravel(None, None, 1, None, "exp", **kw)
        assert cmp.ok and cmp.err == 0.0 and cmp.tol == al.REMAINDER_CONST


def test_e2_first_skips_ties_and_singular_jacobians_as_passing():
    """_cmp_e2_first needs simple nonzero singular values of J, both relative to s_1 (s_n <= 1e-8 s_1 or a gap <=
    1e-6 s_1: skipped): on J = 2 Q (Q orthogonal: all singular values tie), on a rank-deficient J, on J with s_3 =
    1e-12 s_1, and on J with singular values (1, 1 - 1e-7, 1e-3) (a tie relative to s_1, not to s_3) it reports
    'skipped' with err 0 <= tol (a pass), for every display variant."""
    rng = np.random.default_rng(7)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    Q2, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    W0 = rng.standard_normal((3, 3))
    W0[2] = 0.0
    nets = [([2.0 * Q], []), ([Q, Q.T], [np.array([1.0, 1.0, 1.0])]), ([W0, Q], [np.array([1.0, -2.0, 0.5])]),
            ([(Q * np.array([1.0, 0.5, 1e-12])) @ Q2.T], []), ([(Q * np.array([1.0, 1.0 - 1e-7, 1e-3])) @ Q2.T], [])]
    for Ws, ds in nets:
        for v in ("printed", "gram_side", "unsquared"):
            cm = app_e._cmp_e2_first(Ws, ds, rng.standard_normal((3, 3)), variant=v)
            assert "skipped" in cm.detail and cm.ok and cm.err == 0.0 and cm.tol > 0, (v, cm)


def test_e2_first_displays_are_their_formulas_for_every_variant():
    """The displays of _cmp_e2_first from their definitions (A_l = W_L D_{L-1} ... W_{l+1} D_l, B_l = D_{l-1}
    W_{l-1} ... D_1 W_1, J = U S V^T): first = -diag(sum_l U^T A_l A_l^T G X_l V) with X_l = B_l^T B_l (printed,
    'unsquared') or B_l B_l^T ('gram_side'); second = -diag(sum_l U^T P_l U U^T G V V^T Q_l V) with P_l = A_l A_l^T,
    Q_l = B_l^T B_l (printed, 'gram_side') or their square roots U_a S_a U_a^T, V_b S_b V_b^T ('unsquared')."""
    rng = np.random.default_rng(11)
    for n, L, c in [(2, 2, 1.0), (3, 3, 1.5), (3, 2, 0.7)]:
        Ws, ds, G = _net(rng, n, L, c)
        A, B = [], []
        for l in range(L):  # 0-based l: A_l = W_{L-1} D_{L-2} ... W_{l+1} D_l, B_l = D_{l-1} W_{l-1} ... D_0 W_0
            M = np.eye(n)
            for k in range(L - 1, l, -1):
                M = M @ Ws[k] @ np.diag(ds[k - 1])
            A.append(M)
            N = np.eye(n)
            for k in range(l):
                N = np.diag(ds[k]) @ Ws[k] @ N
            B.append(N)
        J = A[0] @ Ws[0] @ B[0]
        U, s, Vt = np.linalg.svd(J)
        V = Vt.T

        def half(X):  # (X X^T)^{1/2} by an SVD of X
            u, sv, _ = np.linalg.svd(X)
            return (u * sv) @ u.T

        scale = sum(np.linalg.norm(a, 2) ** 2 * np.linalg.norm(b, 2) ** 2 for a, b in zip(A, B)) * np.linalg.norm(G, 2)
        kappa = float(s[0] / np.min(s[:-1] - s[1:]))
        t = tol(n, kappa=kappa, scale=scale, kernels=2 * L + 8)
        for v in ("printed", "gram_side", "unsquared"):
            cm = app_e._cmp_e2_first(Ws, ds, G, variant=v)
            X = [b @ b.T if v == "gram_side" else b.T @ b for b in B]
            first = -np.diag(sum(U.T @ a @ a.T @ G @ x @ V for a, x in zip(A, X)))
            P = [half(a) if v == "unsquared" else a @ a.T for a in A]
            Q = [half(b.T) if v == "unsquared" else b.T @ b for b in B]
            second = -np.diag(sum(U.T @ p @ U @ (U.T @ G @ V) @ V.T @ q @ V for p, q in zip(P, Q)))
            assert within(np.abs(np.asarray(cm.detail["first_display"]) - first), t, (v, "first"))
            assert within(np.abs(np.asarray(cm.detail["second_display"]) - second), t, (v, "second"))
