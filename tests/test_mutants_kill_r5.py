"""Round r5 of issue 17 part 6: whole helpers of theory/claims/app_f.py, fig_alignment.py and fig_depth.py checked
against independent computations from their definitions (exact rationals, brute-force enumeration, the statistics
recomputed from synthetic draws)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from checks.model import Context, Status
from checks.tolerance import tol
from tests.conftest import within
from theory import diagcorr as dc
from theory import lyapunov
from theory.claims import app_f
from theory.claims import fig_alignment as fa
from theory.claims import fig_depth

EPS = float(np.finfo(np.float64).eps)


# ----- app_f: the closed form's comparison (_closed_cmp): error, sigmas and the derived tolerance ---------------

def _exact_moments(A):
    """(rho, sigma_X, sigma_Y) from the definition in exact rationals (X the 1-based row, Y the column, P = |A|/m)."""
    w = [[abs(Fraction(float(x))) for x in r] for r in A]
    n = len(w)
    m = sum(sum(r) for r in w)
    P = [[x / m for x in r] for r in w]
    ex = sum((i + 1) * P[i][j] for i in range(n) for j in range(n))
    ey = sum((j + 1) * P[i][j] for i in range(n) for j in range(n))
    vx = sum((i + 1 - ex) ** 2 * P[i][j] for i in range(n) for j in range(n))
    vy = sum((j + 1 - ey) ** 2 * P[i][j] for i in range(n) for j in range(n))
    cov = sum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(n) for j in range(n))
    return float(cov) / math.sqrt(float(vx) * float(vy)), math.sqrt(float(vx)), math.sqrt(float(vy))


def _lopsided(rng, n):
    """Mass 1 on the last row but for small weights on the other rows: sigma_X << sigma_Y (so each term of the
    tolerance's scale, 1/(sX sY), 1/sX^2, 1/sY^2, has a different size), integers so the moments are exact."""
    A = np.zeros((n, n))
    A[n - 1] = rng.integers(1, 50, n).astype(float) * 2.0**20
    A[rng.integers(0, n - 1), rng.integers(0, n)] = float(rng.integers(1, 4))
    return A


def test_closed_cmp_is_the_definition_with_its_derived_tolerance_and_symmetric_in_x_and_y():
    """app-f/closed-form's comparison of a matrix A: err = |closed form (theory.diagcorr) - rho from the
    definition|, tol = tol(n^2, scale = n^2 (1/(sX sY) + 1/sX^2 + 1/sY^2), kernels = 4) (the cancellation of the raw
    moments in the covariance and in each variance, see theory.diagcorr), the detail's sigmas the standard
    deviations of X and Y. Exchanging X and Y (A -> A^T) exchanges the sigmas and leaves err and tol as they are."""
    rng = np.random.default_rng(55)
    for trial in range(12):
        n = 2 + trial % 5
        A = _lopsided(rng, n) if trial % 2 == 0 else rng.integers(0, 9, (n, n)).astype(float)
        if not dc.is_defined(A):
            continue
        r, sx, sy = _exact_moments(A)
        for M, (a, b) in ((A, (sx, sy)), (A.T, (sy, sx))):
            c = app_f._closed_cmp(M)
            assert c.detail["n"] == n
            assert within(abs(c.detail["sigma_X"] - a), 8 * EPS * a, "sigma_X")
            assert within(abs(c.detail["sigma_Y"] - b), 8 * EPS * b, "sigma_Y")
            assert within(abs(c.detail["rho_mpmath"] - r), 8 * EPS, "rho")
            got = dc.rho_closed_form(M)
            assert c.detail["closed_form"] == got
            assert within(abs(c.err - abs(got - r)), 8 * EPS, "err")
            want = tol(n * n, scale=n * n * (1.0 / (a * b) + 1.0 / a**2 + 1.0 / b**2), kernels=4)
            assert within(abs(c.tol - want), 32 * EPS * want, f"tol n={n}")
            assert c.ok
            # a foil's parts are evaluated on M itself: the printed parts reproduce rho, a sign-flipped numerator -rho
            c2 = app_f._closed_cmp(M, parts=app_f._printed_parts)
            assert c2.tol == c.tol and c2.ok and within(abs(c2.detail["closed_form"] - r), c.tol, "printed parts")

            def flipped(q, mass):
                num, dx, dy = app_f._printed_parts(q, mass)
                return -num, dx, dy

            c3 = app_f._closed_cmp(M, parts=flipped)
            assert within(abs(c3.err - 2 * abs(r)), 2 * c.tol, "flipped numerator")
        if trial % 2 == 0:
            assert sy > 4 * sx  # the three scale terms differ, so dropping or changing any one moves tol
        assert within(abs(app_f._closed_cmp(A).tol - app_f._closed_cmp(A.T).tol),
                      32 * EPS * app_f._closed_cmp(A).tol, "symmetric tol")


def test_closed_cmp_undefined_needs_both_sides_undefined():
    """An undefined rho (one row: sigma_X = 0) with the closed form nan too: err 0, tol 0.5."""
    A = np.zeros((3, 3))
    A[1] = [1.0, 2.0, 3.0]
    c = app_f._closed_cmp(A)
    assert c.detail["rho"] == "undefined" and c.err == 0.0 and c.tol == 0.5 and c.ok


# ----- app_f: the extremes (rho = +-1 iff (anti)diagonal support): the enumeration and the stored case --------

def _status_fraction(a):
    """'undefined' / '+1' / '-1' / 'interior' from the exact moments."""
    w = [[Fraction(int(x)) for x in r] for r in a]
    n = len(w)
    m = sum(sum(r) for r in w)
    sx = sum((i + 1) * w[i][j] for i in range(n) for j in range(n))
    sy = sum((j + 1) * w[i][j] for i in range(n) for j in range(n))
    vx = m * sum((i + 1) ** 2 * w[i][j] for i in range(n) for j in range(n)) - sx * sx
    vy = m * sum((j + 1) ** 2 * w[i][j] for i in range(n) for j in range(n)) - sy * sy
    c = m * sum((i + 1) * (j + 1) * w[i][j] for i in range(n) for j in range(n)) - sx * sy
    if vx == 0 or vy == 0:
        return "undefined"
    if c * c == vx * vy:
        return "+1" if c > 0 else "-1"
    return "interior"


def test_check_extremes_enumeration_matches_brute_force_and_stored_case_decides(monkeypatch):
    """app-f/extremes: for n = 2, 3 every nonzero 0/1 support is enumerated (2^(n^2) - 1 of them) and each kind of
    failure of 'rho = 1 iff diagonally supported, rho = -1 iff antidiagonally supported' counted as brute force
    finds it; the verdict is REFUTED exactly when the stored matrix is a counterexample with rho = +-1 (mpmath), and
    the evidence's mpmath_rho is that rho (not a sigma)."""
    ctx = Context(claim_id="app-f/extremes")
    out = app_f._check_extremes(ctx)
    for row in out.evidence["exhaustive_0/1_supports"]:
        n = row["n"]
        want = {"diag_but_undefined": 0, "rho=1_not_diag": 0, "anti_but_undefined": 0, "rho=-1_not_anti": 0,
                "supports": 0}
        for bits in range(1, 2 ** (n * n)):
            a = [[(bits >> (i * n + j)) & 1 for j in range(n)] for i in range(n)]
            want["supports"] += 1
            sup = [(i, j) for i in range(n) for j in range(n) if a[i][j]]
            diag, anti = all(i == j for i, j in sup), all(i + j == n - 1 for i, j in sup)
            got = _status_fraction(a)
            pred = "+1" if diag else "-1" if anti else "other"
            key = None
            if pred == "+1" and got != "+1":
                key = "diag_but_undefined" if got == "undefined" else "diag_other"
            elif pred == "-1" and got != "-1":
                key = "anti_but_undefined" if got == "undefined" else "anti_other"
            elif got == "+1" and pred != "+1":
                key = "rho=1_not_diag"
            elif got == "-1" and pred != "-1":
                key = "rho=-1_not_anti"
            if key:
                want[key] = want.get(key, 0) + 1
        assert row == {"n": n, **want}, n
    assert out.status is Status.REFUTED
    # other stored matrices: rho = +1 off the diagonal with sigma_X != 1 (refuted, mpmath_rho = 1), and a
    # diagonally supported one with rho = 1 (no counterexample: verified)
    for A, status in (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], Status.REFUTED),
                      ([[0, 0, 0], [2, 0, 0], [0, 0, 0], ], Status.VERIFIED),
                      ([[1, 0, 0], [0, 2, 0], [0, 0, 0]], Status.VERIFIED),
                      ([[0, 0, 0], [3, 0, 0], [0, 0, 1]], Status.REFUTED),
                      # rho = -1 off the antidiagonal (once read VERIFIED: the check only knew rho = +1)
                      ([[0, 1, 0], [1, 0, 0], [0, 0, 0]], Status.REFUTED),
                      ([[0, 0, 1], [0, 0, 0], [4, 0, 0]], Status.VERIFIED)):
        monkeypatch.setattr(app_f, "EXTREME_CE", {"A": A})
        out = app_f._check_extremes(ctx)
        assert out.status is status, A
        st = _status_fraction(A)
        if st == "undefined":
            assert out.evidence["mpmath_rho"] is None
        else:
            r = _exact_moments(np.array(A, float))[0]
            assert within(abs(out.evidence["mpmath_rho"] - r), 4 * EPS, "mpmath_rho")


# ----- fig_alignment: fig-6/quoted-*: every summary of the readings' reproductions ------------------------------

def test_check_quoted_summaries_are_recomputed_from_the_draws(monkeypatch):
    """fig-6/quoted-*: from synthetic draws of each reading at the three panels, the per-reading table, the readings
    reproducing the quoted value as one draw / as a mean, those consistent with all three quoted values (one draw)
    and as their mean, those reproducing exactly two of the three, and the rotated-vectors robustness entry are
    what the one-draw interval mean +- t sd sqrt(1 + 1/S) + 0.005 and the mean's t sd / sqrt(S) + 0.005 give."""
    rng = np.random.default_rng(73)
    S = 40
    qs = [q for _, _, q in fa.FIG6]
    centres = {fa.F6_PRIMARY: (0.26, 0.49, 0.90),         # two of three, one draw
               "tight | full | |A_ij| | float64": [q + 0.003 for q in qs],  # all three, one draw and mean (by the rounding)
               "wide | 10x10 block | |A_ij|^2 | float64": (0.32, 0.43, 0.78),   # all three as one draw only
               "wide2 | 32x32 block | |A_ij| | float64": (0.20, 0.55, 0.90),  # all three as one draw only
               "two | 16x16 block | |A_ij| | float32": (0.26, 0.70, 0.84),     # two of three
               "one | full | |A_ij|^2 | float32": (0.26, 0.70, 0.60),          # one of three
               "x | full | signed | float64": qs}         # never counted
    sds = {fa.F6_PRIMARY: 0.003, "tight | full | |A_ij| | float64": 0.002, "wide | 10x10 block | |A_ij|^2 | float64": 0.1,
           "wide2 | 32x32 block | |A_ij| | float64": 0.1,
           "two | 16x16 block | |A_ij| | float32": 0.003, "one | full | |A_ij|^2 | float32": 0.003,
           "x | full | signed | float64": 0.002}
    rho = {}
    for i, (L, l, _) in enumerate(fa.FIG6):
        rho[(L, l)] = {}
        for k, c in centres.items():
            z = rng.standard_normal(S)
            rho[(L, l)][k] = c[i] + sds[k] * (z - z.mean()) / z.std(ddof=1)
        # a reading defined on 4 draws only (near q at the first panel), and one on 2 (exactly q: still no interval)
        z = np.array([-1.5, -0.5, 0.5, 1.5])
        rho[(L, l)]["few | 64x64 block | |A_ij| | float64"] = np.r_[(qs[0] if i == 0 else 0.1) + 0.003 * z,
                                                                    np.full(S - 4, np.nan)]
        rho[(L, l)]["none | 64x64 block | |A_ij|^2 | float64"] = np.r_[[qs[i]] * 2, np.full(S - 2, np.nan)]
    rot = {(L, l): rho[(L, l)][fa.F6_PRIMARY] + 0.3 * (i == 1) for i, (L, l, _) in enumerate(fa.FIG6)}
    data = {"rho": rho, "unresolved": {(L, l): {"unresolved columns (U_J, U_A; max over draws)": [1, 2],
                                               "rho after rotating them": rot[(L, l)]} for L, l, _ in fa.FIG6}}
    monkeypatch.setattr(fa, "_fig6_data", lambda ctx: (S, data))
    centres = {**centres, "few | 64x64 block | |A_ij| | float64": None, "none | 64x64 block | |A_ij|^2 | float64": None}
    valid = [k for k in centres if "signed" not in k]
    for L, l, q in fa.FIG6:
        ctx = Context(claim_id=f"fig-6/quoted-{q:.2f}")
        tq = ctx.t(1, S - 1)

        def rep(qq, x):
            """(mean, sd, one draw?, mean?, one-draw half width, mean's half width, defined draws)."""
            x = np.asarray(x)[np.isfinite(x)]
            if x.size < 3:
                return math.nan, math.nan, False, False, math.nan, math.nan, x.size
            m, sd = float(np.mean(x)), float(np.std(x, ddof=1))
            one, avg = tq * sd * math.sqrt(1 + 1 / x.size) + 0.005, tq * sd / math.sqrt(x.size) + 0.005
            return m, sd, abs(qq - m) <= one, abs(qq - m) <= avg, one, avg, x.size

        out = fa._check_quoted(L, l, q)(ctx)
        ev = out.evidence
        assert ev["samples"] == S and ev["t_crit"] == tq and (ev["L"], ev["l"], ev["quoted"]) == (L, l, q)
        for k in centres:
            m, sd, one, mean, h1, h2, size = rep(q, rho[(L, l)][k])
            t = ev["readings"][k]
            assert t["defined_draws"] == size and t["single draw"] == one and t["mean"] == mean, k
            if size < 3:  # too few defined draws for an interval: reproduces nothing
                assert t == {"defined_draws": size, "single draw": False, "mean": False}, k
                continue
            assert within(abs(t["rho_mean"] - m), 4 * EPS, k) and within(abs(t["sd_per_draw"] - sd), 64 * EPS * sd, k)
            assert within(np.abs(np.array(t["single_draw_interval"]) - [m - h1, m + h1]), 16 * EPS, f"one {k}")
            assert within(np.abs(np.array(t["mean_interval"]) - [m - h2, m + h2]), 16 * EPS, f"mean {k}")
        if out.status is Status.REFUTED:  # the replay recomputes the primary reading's one-draw comparison
            m, _, _, _, h1, _, _ = rep(q, rho[(L, l)][fa.F6_PRIMARY])
            c = fa._replay_quoted(out.counterexample)
            assert within(abs(c.err - abs(q - m)), 8 * EPS, "replay err") and within(abs(c.tol - h1), 16 * EPS, "tol")
            assert not c.ok and c.detail["quoted"] == q and (c.detail["L"], c.detail["l"]) == (L, l)
        assert ev["valid readings reproducing it (single draw)"] == [k for k in valid if rep(q, rho[(L, l)][k])[2]]
        assert ev["valid readings reproducing it (mean)"] == [k for k in valid if rep(q, rho[(L, l)][k])[3]]
        per = {k: [rep(q3, rho[(L3, l3)][k]) for L3, l3, q3 in fa.FIG6] for k in valid}
        all3 = ev["readings consistent with all three quoted numbers (one draw; their intervals)"]
        assert list(all3) == [k for k in valid if all(r[2] for r in per[k])] == [
            "tight | full | |A_ij| | float64", "wide | 10x10 block | |A_ij|^2 | float64",
            "wide2 | 32x32 block | |A_ij| | float64"]
        for k, ivs in all3.items():
            want = [[r[0] - r[4], r[0] + r[4]] for r in per[k]]
            assert np.max(np.abs(np.array(ivs) - np.array(want))) <= 0.005 + 4 * EPS, k
            assert all(round(x, 2) == x for pair in ivs for x in pair), k  # the caption's 2 digits
        # the summary shows the first two readings' intervals at 2 digits, then ' ...'
        shown = "; ".join(f"{k}: " + ", ".join(f"[{a:.2f}, {b:.2f}]" for a, b in all3[k]) for k in list(all3)[:2])
        assert f"consistent with all three quoted numbers in one draw: 3 ({shown} ...); as a mean: " \
               "['tight | full | |A_ij| | float64']" in out.summary, out.summary
        assert ev["readings reproducing all three quoted numbers as their mean"] == \
            [k for k in valid if all(r[3] for r in per[k])] == ["tight | full | |A_ij| | float64"]
        two = {k: [q3 for (_, _, q3), r in zip(fa.FIG6, per[k]) if r[2]] for k in valid
               if sum(r[2] for r in per[k]) == 2}
        assert ev["readings reproducing two of the three"] == two
        assert set(two) == {fa.F6_PRIMARY, "two | 16x16 block | |A_ij| | float32"}
        prim = rep(q, rho[(L, l)][fa.F6_PRIMARY])
        assert out.status is (Status.SUPPORTED if prim[2] else Status.REFUTED)
        u = ev["unresolved singular vectors rotated"]
        r_rot = rep(q, rot[(L, l)])
        assert u["unresolved columns"] == [1, 2]
        assert within(abs(u["rho_mean after rotation"] - r_rot[0]), 4 * EPS, "rotated mean")
        assert u["verdict unchanged"] is (r_rot[2] == prim[2])
        hits = ev["valid readings reproducing it (single draw)"]
        assert f"{len(hits)} of {len(valid)}" in out.summary


# ----- fig_depth: fig-4, which products enter (rank >= 30 at every depth) --------------------------------------

def test_fig4_keeps_exactly_the_products_of_rank_at_least_30_at_every_depth(monkeypatch):
    """_fig4 tests only the products whose 30th log singular value is finite at every l (rank >= 30): a product of
    rank exactly 30 (log s_31 = -inf) is kept, one of rank 29 at a single depth is dropped (everywhere), and the
    remainders, means and the reported count are over the kept products."""
    from test_mutants_kill_h2 import fig4_curves, fig4_frame, fig4_std_normal

    ctx, K, p, m, _, ells, g, dk, rng = fig4_frame(17)
    data = {}
    for l in ells:
        z = fig4_std_normal(rng, m, K)
        y = fig4_curves(l, l * g + dk - 0.02 + 0.003 * z, p)
        y[0, K:] = -np.inf  # rank 30 at every l: kept
        if l == 50:
            y[1, K - 1:] = -np.inf  # rank 29 at l = 50: dropped
            y[1, :K - 1] += 5.0  # and far off, so keeping it anywhere would move the means
        data[l] = (y, None)
    want_keep = np.ones(m, bool)
    want_keep[1] = False
    seen = []

    def fake_remainders(cx, d, e, KK, keep):
        seen.append(keep.copy())
        return {ll: {k: np.full(int(keep.sum()), 0.02 * k) for k in range(KK + 1)} for ll in e}

    monkeypatch.setattr(fig_depth, "_data", lambda cx, pp: data)
    monkeypatch.setattr(fig_depth, "_remainders", fake_remainders)
    out = fig_depth._fig4(ctx)
    assert len(seen) == 1 and np.array_equal(seen[0], want_keep)
    assert out.evidence["products with rank >= 30 at every l"] == m - 1
    for r in out.evidence["rows"]:
        k = r["k"]
        want = [float(np.mean(data[l][0][want_keep, k - 1]) - l * g[k - 1]) for l in (10, 100)]
        sc = max(abs(v) for v in want) + 100 * abs(g[k - 1])
        assert within(np.abs(np.array(r["offset E log s_k - l slope at l = 10, 100"]) - want), 64 * EPS * sc, k)
    for t, l in zip(out.evidence["top-K sums"], ells):
        est = float(np.mean(data[l][0][want_keep, :K].sum(1) - l * g.sum() + 0.02 * K))
        assert within(abs(t["estimate"] - est), 256 * EPS * (abs(est) + l * abs(g).sum()), f"top-K l={l}")


def test_fig4_violations_evidence_lists_the_first_20_in_k_l_order(monkeypatch):
    """With every mean curve shifted far above its band, every (k, l) band test rejects (K x 10 of them, plus the
    exact identities): the evidence lists the first 20 violations, in the order k = 1's bands at l = 10, ..., 100, k = 1's
    exact identity at l = 100, then k = 2's bands at l = 10, 20, ...; the summary counts them all."""
    from test_mutants_kill_h2 import fig4_curves, fig4_frame

    ctx, K, p, m, _, ells, g, _, rng = fig4_frame(19)
    data = {}
    for l in ells:
        z = rng.standard_normal((m, K))
        data[l] = (fig4_curves(l, l * g + 50.0 + 0.003 * z, p), None)
    monkeypatch.setattr(fig_depth, "_data", lambda cx, pp: data)
    monkeypatch.setattr(fig_depth, "_remainders", lambda cx, d, e, KK, keep: {
        ll: {k: np.zeros(int(keep.sum())) for k in range(KK + 1)} for ll in e})
    out = fig_depth._fig4(ctx)
    assert out.status is Status.REFUTED
    v = out.evidence["violations"]
    assert len(v) == 20
    assert [(x["k"], x["l"], x["test"]) for x in v] == \
        [(1, l, "band") for l in ells] + [(1, 100, "exact identity")] + [(2, l, "band") for l in ells[:9]]
    n_total = int(out.summary.split(" tests reject")[0])
    assert n_total >= K * len(ells) + K + len(ells)  # every band, every exact identity and every top-K sum
