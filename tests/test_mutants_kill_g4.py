"""Helpers of the alignment and training figures (fig_alignment.py, fig_training.py) checked against their
definitions (issue 17, part 6: mutation survivors of the seed-1 sample, and the other helpers of the same kind).

Each test recomputes what a helper is defined to be (a predicted profile's comparisons, a paired test and its
power, a figure statistic from numpy's SVD and the Pearson definition of rho, a one-draw prediction interval, a
gap statistic over its stated window, the band and curve a figure draws) independently, on inputs where the
answer is known, so a slip anywhere in the helper fails here even where no claim verdict moves. Float
comparisons use tolerances derived from float64 eps, the sizes and the conditioning involved.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import matplotlib.figure  # noqa: F401  (imported at collection, as torch: the figure tests use them)
import torch  # noqa: F401  (imported at collection: the Figure 6 and MNIST tests use it; its import is seconds)
from scipy.stats import norm
from scipy.stats import t as student_t

from checks.model import PROFILES, Context, Status
from checks.tolerance import tol
from tests.conftest import fig7_iterate, within
from theory.claims import fig_alignment as fa
from theory.claims import fig_training as ft

EPS = float(np.finfo(np.float64).eps)


def _rho_def(W) -> float:
    """Appendix F's rho by its definition, written out: (X, Y) ~ |W_ij| / sum |W| on 1..k, Pearson correlation
    from E X, E Y, E XY, E X^2, E Y^2 (double loop, no vectorised helper of the package)."""
    W = np.abs(np.asarray(W, dtype=np.float64))
    k = W.shape[0]
    m = W.sum()
    ex = ey = exy = exx = eyy = 0.0
    for i in range(k):
        for j in range(k):
            p = W[i, j] / m
            ex += (i + 1) * p
            ey += (j + 1) * p
            exy += (i + 1) * (j + 1) * p
            exx += (i + 1) ** 2 * p
            eyy += (j + 1) ** 2 * p
    return (exy - ex * ey) / math.sqrt((exx - ex**2) * (eyy - ey**2))


def _rho_tol(k: int) -> float:
    """Rounding of rho of a k x k block: sums of k^2 terms (a few kernels), relative to order-one moments, and
    the cancellation in E XY - E X E Y on the scale k^2 over the variances (>= ~1/k^2 on the blocks used)."""
    return tol(k * k, scale=float(k) ** 4, kernels=4)


# ================================================================================================
# fig_alignment: predicted profiles, paired tests, verdicts
# ================================================================================================

@pytest.mark.parametrize("positions", [(1, 2), (3, 2, 1), (1, 5, 9), tuple(range(1, 7)), (7, 3, 5, 2, 4)])
def test_profile_builders_are_their_definitions(positions):
    """decreasing: every consecutive pair (a, b) with +1 (E y(a) > E y(b)); peak(at, others): (at, o, +1) for each
    other; trough(at, others): (o, at, +1); flat: (at, o, 0). Compared with the brute-force lists."""
    want = [(positions[i], positions[i + 1], 1) for i in range(len(positions) - 1)]
    assert list(fa.decreasing(positions)) == want
    at, others = positions[0], positions[1:]
    assert list(fa.peak(at, others)) == [(at, o, 1) for o in others]
    assert list(fa.trough(at, others)) == [(o, at, 1) for o in others]
    assert list(fa.flat(at, others)) == [(at, o, 0) for o in others]
    # the claims' own profiles: Figure 6's three panels, the anisotropy ladder
    assert fa.decreasing((3, 2, 1)) == ((3, 2, 1), (2, 1, 1))
    assert len(fa.decreasing(tuple(range(1, len(fa.ANISO_T) + 1)))) == len(fa.ANISO_T) - 1


def test_at_reads_one_based_positions_and_means_of_tuples():
    y = np.arange(24, dtype=float).reshape(4, 6) ** 1.5
    assert np.array_equal(fa._at(y, 1), y[:, 0]) and np.array_equal(fa._at(y, 6), y[:, 5])
    want = (y[:, 1] + y[:, 2] + y[:, 3]) / 3
    assert within(np.abs(fa._at(y, (2, 3, 4)) - want), tol(3, scale=float(np.abs(y).max())), "_at mean")


@pytest.mark.parametrize("sign", [1, -1, 0])
@pytest.mark.parametrize("shift", [0.0, 0.02, -0.02, 0.3, -0.3])
def test_compare_is_the_paired_t_test_and_its_power(sign, shift):
    """_compare(a, b, z, sign): d = a - b, estimate mean d, se sd(d)/sqrt(m); critical value the Student t
    quantile (df m - 1) of the normal tail norm.sf(z); agrees / contradicts by the sign rule; p_reject the
    probability that T ~ N(est/se, 1) lands in the contradicting region (left of -crit for +1, right of +crit
    for -1, outside +-crit for 0), integrated here from the normal law centred at est/se."""
    rng = np.random.default_rng(40 + sign)
    m, z = 24, 3.1
    b = rng.standard_normal(m)
    a = b + shift + 0.05 * rng.standard_normal(m)
    a[3] = np.nan  # a non-finite pair is dropped
    row = fa._compare("x", a, b, z, sign)
    d = (a - b)[np.isfinite(a - b)]
    est, se = float(np.mean(d)), float(np.std(d, ddof=1) / math.sqrt(d.size))
    crit = float(student_t.ppf(1 - norm.cdf(-z), d.size - 1))
    assert within(abs(row["z_crit"] - crit), tol(4, scale=crit), "crit")
    assert within(abs(row["estimate"] - est), tol(d.size, scale=float(np.abs(d).max())), "estimate")
    assert within(abs(row["se"] - se), tol(2 * d.size, scale=se), "se")
    tval = est / se
    sig = abs(tval) > crit
    if sign == 0:
        agrees, contradicts = not sig, sig
    else:
        agrees, contradicts = sig and sign * est > 0, sig and sign * est < 0
    assert (row["agrees"], row["contradicts"]) == (agrees, contradicts)
    T = norm(loc=tval)
    want = {1: T.cdf(-crit), -1: T.sf(crit), 0: T.cdf(-crit) + T.sf(crit)}[sign]
    # the tail probability at x = crit + |t| moves relatively by x times the rounding of its argument (~ m eps x)
    x = crit + abs(tval)
    assert within(abs(row["p_reject"] - want), tol(4 * d.size, scale=(1 + x) ** 2) * want + 1e-300, "p_reject")
    assert row["predicted_sign"] == {1: "+", -1: "-", 0: "0"}[sign]
    # the replayed counterexample contradicts exactly when the row does (err > tol iff beyond crit)
    rep = fa._replay_row({"estimate": est, "se": se, "z_crit": crit, "predicted_sign": row["predicted_sign"]})
    assert (rep.err > rep.tol) == contradicts


def test_verdict_and_counterexample_rules():
    ok = {"agrees": True, "contradicts": False}
    weak = {"agrees": False, "contradicts": False}
    assert fa._verdict([ok, ok]) is Status.SUPPORTED
    assert fa._verdict([ok, weak]) is Status.INCONCLUSIVE
    rows = [dict(name=f"c{i}", estimate=e, se=1.0, z_crit=2.0, predicted_sign="+", agrees=False,
                 contradicts=e < -2.0) for i, e in enumerate((-3.0, -5.0, 1.0))]
    assert fa._verdict([ok] + rows) is Status.REFUTED
    cex = fa._cex({"here": rows})
    assert cex["comparison"] == "c1" and cex["estimate"] == -5.0  # the most strongly contradicting one
    assert fa._cex({"here": [ok]}) is None


def test_gap_kappa_is_s1_over_the_smallest_gap_of_the_top_k_plus_two():
    s = np.array([10.0, 7.0, 6.5, 3.0, 2.9, 1.0])
    # top k + 2 = 4 values: gaps 3, 0.5, 3.5 -> 10 / 0.5
    assert fa._gap_kappa(s, 2) == 10.0 / 0.5
    assert fa._gap_kappa(s, 3) == 10.0 / 0.1 or within(abs(fa._gap_kappa(s, 3) - 100.0), tol(2, scale=1e4), "kappa")
    assert fa._gap_kappa(np.array([2.0, 2.0, 1.0]), 1) == math.inf


# ================================================================================================
# fig_alignment: the plotted statistics recomputed
# ================================================================================================

def test_independent_g2_statistics_are_their_definitions():
    """Figures 10-12's recomputation for block sizes k: 'top' rho(top-left k x k of U_J^T U_A), 'gram'
    rho(top-left k x k of U_J^T A A^T U_J), 'aat' rho(A[:k] A[:k]^T), 'sep' log(s_1 / s_k) of A. Built here with
    J = diag(s) and A = Q diag(t) (Q orthogonal), whose singular vectors are known (I and Q up to signs): every
    statistic is then an explicit function of Q and t, compared for k and k + 1 (which must differ)."""
    rng = np.random.default_rng(5)
    n, ks = 9, (3, 4)
    s = np.linspace(3.0, 1.0, n)
    t = np.linspace(2.0, 0.5, n)
    Qs = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(2)]
    J = np.diag(s)[None]
    A = np.stack([Q * t for Q in Qs])[None]  # Q diag(t)
    out = fa._independent_g2(J, A, ks=ks)
    # singular vectors of J, A: conditioning s_1 / min gap; rho of a k x k block amplifies by ~k^2
    kv = max(s[0] / np.diff(-s).min(), t[0] / np.diff(-t).min())
    for l, Q in enumerate(Qs):
        A_l = Q * t
        for k in ks:
            vals = out["values"][k]
            t_vec = tol(n, kappa=kv, kernels=4) * k * k + _rho_tol(k)
            assert within(abs(vals["top"][0, l] - _rho_def(Q[:k, :k])), t_vec, f"top k={k}")
            assert within(abs(vals["gram"][0, l] - _rho_def((A_l @ A_l.T)[:k, :k])), t_vec, f"gram k={k}")
            assert within(abs(vals["aat"][0, l] - _rho_def(A_l[:k] @ A_l[:k].T)), tol(n, kernels=2) * k * k
                          + _rho_tol(k), f"aat k={k}")
            assert within(abs(vals["sep"][0, l] - math.log(t[0] / t[k - 1])), tol(n, kappa=t[0] / t[k - 1],
                                                                                   kernels=2), f"sep k={k}")
        # the label slip (block / index one larger) gives other numbers
        for key in ("top", "gram", "aat", "sep"):
            assert abs(out["values"][ks[0]][key][0, l] - out["values"][ks[1]][key][0, l]) > 1e-3, key


def _panel_prof(rng, S=12, Lm1=19):
    return {(p, n): {"gram": rng.standard_normal((S, Lm1)) + np.linspace(0, 1, Lm1)} for p, n in fa.PANELS}


def _band_of(ax):
    """(x, lower, upper) of the first fill_between band of ``ax``."""
    v = ax.collections[0].get_paths()[0].vertices
    xs = np.unique(v[:, 0])
    lo = np.array([v[v[:, 0] == x, 1].min() for x in xs])
    hi = np.array([v[v[:, 0] == x, 1].max() for x in xs])
    return xs, lo, hi


def test_panel_figure_draws_the_mean_and_its_z_band():
    """Figures 10-12's panels: per panel the mean over draws against l = 1..L-1 and the band mean +- z sd /
    sqrt(draws) (nan-aware), as the critical value z of the tests."""
    rng = np.random.default_rng(6)
    prof = _panel_prof(rng)
    prof[(0.5, 64)]["gram"][2, 4] = np.nan
    z = 3.3
    fig = fa._panel_figure("t", "gram", prof, z)
    assert len(fig.axes) == len(fa.PANELS)
    for ax, pn in zip(fig.axes, fa.PANELS):
        y = prof[pn]["gram"]
        m = np.array([np.mean(c[np.isfinite(c)]) for c in y.T])
        h = z * np.array([np.std(c[np.isfinite(c)], ddof=1) for c in y.T]) / math.sqrt(y.shape[0])
        x, lo, hi = _band_of(ax)
        sc = tol(y.shape[0], scale=float(np.abs(y[np.isfinite(y)]).max()) * z, kernels=2)
        assert np.array_equal(x, np.arange(1, y.shape[1] + 1))
        assert within(np.abs(lo - (m - h)), sc, "band low") and within(np.abs(hi - (m + h)), sc, "band high")
        assert within(np.abs(ax.get_lines()[0].get_ydata() - m), sc, "mean line")
        assert ax.get_title() == f"p={pn[0]}, n={pn[1]}"


def test_band_figure_draws_each_curve_with_its_half_width():
    x = np.arange(1.0, 6.0)
    m1, h1 = np.array([0.5, 0.4, 0.3, 0.2, 0.1]), np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    fig = fa._band_figure("t", [("a", x, m1, h1), ("b", x, 2 * m1, 3 * h1)])
    ax = fig.axes[0]
    for coll, (m, h) in zip(ax.collections, ((m1, h1), (2 * m1, 3 * h1))):
        v = coll.get_paths()[0].vertices
        xs = np.unique(v[:, 0])
        lo = np.array([v[v[:, 0] == q, 1].min() for q in xs])
        hi = np.array([v[v[:, 0] == q, 1].max() for q in xs])
        assert np.array_equal(xs, x)
        assert within(np.abs(lo - (m - h)), tol(2, scale=1.0), "lo") and within(np.abs(hi - (m + h)), tol(2), "hi")
    assert [ln.get_label() for ln in ax.get_lines()] == ["a", "b"]


# -- Figure 6: every reading of the panel is the statistic its key names ----------------------------

def _fig6_fake(n=128):
    """fgln_products stand-in: J = diag(s) (U_J = I up to signs) and, at the panel's l, A_l = Q_rd diag(t) with a
    different orthogonal Q for each suffix reading (U_A = Q_rd up to signs), another Q at every other l. Then
    |U_J^T U_A_l| = |Q_rd| exactly in exact arithmetic, for any column signs."""
    rng = np.random.default_rng(66)
    Q = {rd: np.linalg.qr(rng.standard_normal((n, n)))[0] for rd in ("masked", "masked+1", "other")}
    s, t = np.linspace(3.0, 1.0, n), np.linspace(2.0, 1.0, n)
    panel_l = {L: l for L, l, _ in fa.FIG6}

    def fake(g, S, n_, p, L, sigma, rd):
        import torch

        assert (n_, p) == (n, 1.0)
        J = np.broadcast_to(np.diag(s), (S, n, n)).copy()
        A = np.empty((S, L - 1, n, n))
        for l in range(1, L):
            A[:, l - 1] = (Q[rd] if l == panel_l[L] else Q["other"]) * t
        return torch.from_numpy(J), torch.from_numpy(A)

    kv = max(s[0] / np.diff(-s).min(), t[0] / np.diff(-t).min())
    return fake, Q, kv


def test_fig6_readings_are_the_named_statistics(monkeypatch):
    """_fig6 keys '<suffix> | <block> | <weights> | float64': rho of |R| ('|A_ij|') or of R^2 ('|A_ij|^2') of the
    named top-left block of R = U_J^T U_A_l (A_l at the panel's l, of the named suffix reading); the value
    recomputation and the rotated-unresolved evidence are rho(|R|) too."""
    fake, Q, kv = _fig6_fake()
    monkeypatch.setattr(fa.al, "fgln_products", fake)
    S = 2
    data = fa._fig6.__wrapped__(0, S)
    n = 128
    memo = {}

    def rho_of(X):  # the same block recurs in every panel
        key = X.tobytes()
        if key not in memo:
            memo[key] = _rho_def(X)
        return memo[key]
    for L, l, _ in fa.FIG6:
        res = data["rho"][(L, l)]
        for rd, lab in fa.F6_SUFFIX.items():
            for blk in fa.FIG6_BLOCKS:
                k = n if blk is None else blk
                R = Q[rd][:k, :k]
                t_vec = tol(n, kappa=kv, kernels=4) * k * k + _rho_tol(k)
                name = "full" if blk is None else f"{blk}x{blk} block"
                for w, X in (("|A_ij|", np.abs(R)), ("|A_ij|^2", R**2)):
                    got = res[f"{lab} | {name} | {w} | float64"]
                    assert got.shape == (S,)
                    assert within(np.abs(got - rho_of(X)), t_vec, f"{lab} {name} {w}")
            ind = data["independent"][(L, l)][rd]
            assert within(np.abs(ind - rho_of(np.abs(Q[rd]))), tol(n, kappa=kv, kernels=4) * n * n + _rho_tol(n),
                          "value recomputation")
        rot = data["unresolved"][(L, l)]["rho after rotating them"]
        assert within(np.abs(rot - rho_of(np.abs(Q["masked"]))), tol(n, kappa=kv, kernels=4) * n * n
                      + _rho_tol(n), "rotated")
    # the weights and suffix readings really differ here (so the comparisons above tell them apart)
    assert abs(_rho_def(np.abs(Q["masked"])) - _rho_def(Q["masked"] ** 2)) > 1e-3
    assert abs(_rho_def(np.abs(Q["masked"])) - _rho_def(np.abs(Q["masked+1"]))) > 1e-4


def test_check_quoted_decides_on_the_one_draw_interval(monkeypatch):
    """fig-6/quoted-*: the quoted q is reproduced by a reading when |q - mean| <= t sd sqrt(1 + 1/S) + 0.005 (one
    draw's prediction interval, t the claim's quantile with S - 1 df, widened by the 2-digit rounding); as a mean
    when |q - mean| <= t sd / sqrt(S) + 0.005. The verdict is the primary reading's; the readings consistent with
    all three quoted numbers list their one-draw intervals at the caption's 2 digits."""
    rng = np.random.default_rng(61)
    S = 30
    centres = {fa.F6_PRIMARY: (0.55, 0.82, 0.92), "near | full | |A_ij| | float64": (0.26, 0.49, 0.84),
               "wide | 10x10 block | |A_ij|^2 | float64": (0.3, 0.5, 0.8),
               "x | full | signed | float64": (0.26, 0.49, 0.84)}
    sds = {fa.F6_PRIMARY: 0.01, "near | full | |A_ij| | float64": 0.004, "wide | 10x10 block | |A_ij|^2 | float64": 0.2,
           "x | full | signed | float64": 0.004}
    rho = {(L, l): {k: c[i] + sds[k] * rng.standard_normal(S) for k, c in centres.items()}
           for i, (L, l, _) in enumerate(fa.FIG6)}
    data = {"rho": rho, "unresolved": {(L, l): {"unresolved columns (U_J, U_A; max over draws)": [0, 0],
                                               "rho after rotating them": rho[(L, l)][fa.F6_PRIMARY]}
                                       for L, l, _ in fa.FIG6}}
    monkeypatch.setattr(fa, "_fig6_data", lambda ctx: (S, data))
    for i, (L, l, q) in enumerate(fa.FIG6):
        ctx = Context(claim_id=f"fig-6/quoted-{q:.2f}")
        tq = ctx.t(1, S - 1)
        out = fa._check_quoted(L, l, q)(ctx)

        def interval(x):
            m, sd = float(np.mean(x)), float(np.std(x, ddof=1))
            one = tq * sd * math.sqrt(1 + 1 / S) + 0.005
            return m, one, tq * sd / math.sqrt(S) + 0.005

        m, one, avg = interval(rho[(L, l)][fa.F6_PRIMARY])
        assert out.status is (Status.SUPPORTED if abs(q - m) <= one else Status.REFUTED)
        assert out.status is Status.REFUTED  # 0.55 +- 0.01 is far from 0.26, 0.49 and 0.84 is 0.92 +- 0.01
        valid = [k for k in centres if "signed" not in k]
        hits = [k for k in valid if abs(q - interval(rho[(L, l)][k])[0]) <= interval(rho[(L, l)][k])[1]]
        hits_mean = [k for k in valid if abs(q - interval(rho[(L, l)][k])[0]) <= interval(rho[(L, l)][k])[2]]
        ev = out.evidence
        assert ev["valid readings reproducing it (single draw)"] == hits
        assert ev["valid readings reproducing it (mean)"] == hits_mean
        assert "near | full | |A_ij| | float64" in hits
        all3 = ev["readings consistent with all three quoted numbers (one draw; their intervals)"]
        want3 = {}
        for k in valid:
            ivs = [interval(rho[(L3, l3)][k]) for L3, l3, _ in fa.FIG6]
            if all(abs(q3 - iv[0]) <= iv[1] for (_, _, q3), iv in zip(fa.FIG6, ivs)):
                want3[k] = [[round(iv[0] - iv[1], 2), round(iv[0] + iv[1], 2)] for iv in ivs]
        assert set(all3) == set(want3) and "near | full | |A_ij| | float64" in want3
        for k, v in want3.items():
            # the same 2-digit numbers (a 1-ulp difference of the unrounded bound may flip a half-way case)
            assert np.max(np.abs(np.array(all3[k]) - np.array(v))) <= 0.01 + 4 * EPS, k
            assert all(round(x, 2) == x for pair in all3[k] for x in pair), k
        assert "x | full | signed | float64" not in hits and "x | full | signed | float64" not in all3
        if out.status is Status.REFUTED:
            rep = fa._replay_quoted(out.counterexample)
            assert rep.err > rep.tol and within(abs(rep.tol - one), tol(2 * S, scale=1.0), "replay interval")


def test_reproduces_needs_three_finite_draws():
    r = fa._reproduces(0.5, [0.5, np.nan, 0.5], 2.0)
    assert r == {"defined_draws": 2, "single draw": False, "mean": False}


# -- Figure 12's isotropic identity and its foils -----------------------------------------------

@pytest.mark.parametrize("s", [1e-3, 0.7, 40.0])
def test_iso_cmp_zero_at_the_identity_and_the_foils_off_by_their_slip(s):
    """M = s Q: M M^T = s^2 I, so err ~ 0; the foil factor 1.5 is off by |1 - 1.5| s^2 / s^2 = 0.5, the foil
    'square dropped' (s I) by |s^2 - s| / s^2 = |1 - 1/s|, the foil n s^2 I by n - 1."""
    n, k = 7, 4
    Q = np.linalg.qr(np.random.default_rng(12).standard_normal((n, n)))[0]
    c = fa._iso_cmp(Q, s, k)
    assert c.ok and c.detail["n"] == n
    scale = tol(n, kernels=2) * max(1.0, 1 / s)
    for kw, want in (({"factor": lambda n_: 1.5}, 0.5), ({"power": 1}, abs(1 - 1 / s)),
                     ({"factor": lambda n_: n_}, n - 1.0)):
        assert within(abs(fa._iso_cmp(Q, s, k, **kw).err - want), scale * max(1.0, want), str(kw))


# ================================================================================================
# fig_training: tests over runs and their power
# ================================================================================================

@pytest.mark.parametrize("sign", [1, -1, 0])
@pytest.mark.parametrize("shift", [0.0, 0.01, -0.01, 0.2, -0.2])
def test_seed_test_and_test_power_are_their_definitions(sign, shift):
    """_seed_test: mean, se = hypot(sd/sqrt(R), se_extra, R eps max|x|), t = (mean - threshold) / se, and the sign
    rule; _test_power: the probability that T ~ N(t, 1) falls in the contradicting region (below -crit for +1,
    above crit for -1, outside +-crit for 0), integrated here from the shifted normal law."""
    rng = np.random.default_rng(20)
    R, thr, crit, extra = 10, 0.4, 3.2, 0.003
    x = thr + shift + 0.02 * rng.standard_normal(R)
    tst = ft._seed_test("x", x, crit, sign=sign, threshold=thr, se_extra=extra)
    m = float(np.mean(x))
    se = math.sqrt(np.var(x, ddof=1) / R + extra**2 + (R * EPS * np.abs(x).max()) ** 2)
    assert within(abs(tst["estimate"] - m), tol(R, scale=1.0), "mean")
    assert within(abs(tst["se"] - se), tol(2 * R, scale=se), "se")
    tv = (m - thr) / se
    assert within(abs(tst["t"] - tv), tol(4 * R, scale=abs(tv) + 1.0, kappa=1.0 / se), "t")
    if sign == 0:
        agrees, contradicts = abs(tv) <= crit, abs(tv) > crit
    else:
        agrees, contradicts = sign * tv > crit, sign * tv < -crit
    assert (tst["agrees"], tst["contradicts"]) == (agrees, contradicts)
    T = norm(loc=tv)
    want = {1: T.cdf(-crit), -1: T.sf(crit), 0: T.cdf(-crit) + T.sf(crit)}[sign]
    got = ft._test_power(tst)
    x = crit + abs(tv)  # relative error of the tail probability: x times the rounding of its argument
    assert within(abs(got - want), tol(4 * R, scale=(1 + x) ** 2) * want + 1e-300, "power")
    # _decide: refuted with the largest power of a contradicting test, else supported iff all agree
    status, power = ft._decide([tst])
    assert status is (Status.REFUTED if contradicts else Status.SUPPORTED if agrees else Status.INCONCLUSIVE)
    assert power == (got if contradicts else None)


def test_test_power_without_spread():
    tst = ft._seed_test("x", np.zeros(5), 3.0, sign=+1, threshold=0.0)
    assert tst["se"] == 0.0 and ft._test_power(tst) == 0.0


def _fake_g1(monkeypatch, **by_kind):
    """g1_runs stand-in returning constructed runs for the kinds given (main, fig7, fig7-lr0.05 as
    fig7_lr005); it checks it is asked with the claim's context and a kind the check should read."""
    by_kind = {k.replace("fig7_lr005", "fig7-lr0.05"): v for k, v in by_kind.items()}

    def g1_runs(ctx, kind="main"):
        assert isinstance(ctx, Context), ctx
        assert kind in by_kind, kind
        return by_kind[kind]

    monkeypatch.setattr(ft, "g1_runs", g1_runs)


# -- gap statistics over their window k <= K - 3 --------------------------------------------------

def _gaps_window(logs):
    g = [logs[k] - logs[k + 1] for k in range(len(logs) - 1)]  # gap after k + 1 (1-based)
    return np.array(g[: max(1, len(logs) - 3)])


@pytest.mark.parametrize("seed", range(6))
def test_gap_statistics_use_the_window_k_le_K_minus_3(seed):
    """_cluster_contrast, _top_gap_ratio and _gap_margin read the gaps between consecutive log s_k(J) for
    k <= K - 3 only (the last nonzero values fall steeply to the rank edge): on spectra whose last two gaps are
    the largest of all, each equals its brute-force value over the window and ignores the edge."""
    rng = np.random.default_rng(seed)
    K = 15 + seed
    gaps = 0.1 + rng.random(K - 1)
    gaps[4 + seed % 3] += 1.5  # one boundary inside the window
    gaps[-2:] += 8.0  # the rank edge: outside the window
    logs = -np.concatenate([[0.0], np.cumsum(gaps)])
    g = _gaps_window(logs)
    M = float(np.abs(logs).max())
    t_gap = tol(2, scale=M)
    t_log = tol(2, kappa=M / g.min()) + tol(1, scale=abs(math.log(g.max() / g.min())) + 1)
    c, gmax, at = ft._cluster_contrast(logs)
    assert within(abs(c - math.log(g.max() / np.median(g))), t_log, "contrast")
    assert within(abs(gmax - g.max()), t_gap, "largest gap") and at == int(np.argmax(g)) + 1
    k = int(np.argmax(g))
    far = [g[j] for j in range(g.size) if abs(j - k) >= 2]
    assert within(abs(ft._top_gap_ratio(logs) - math.log(g[k] / max(far))), t_log, "top gap ratio")
    for r in (3, 5, 9):
        want = g[r - 1] - max(np.delete(g, r - 1))
        assert within(abs(ft._gap_margin(logs, r) - want), t_gap, f"gap margin r={r}")


# -- Figure 7: the fitted iterate, its plot, its threshold, the step-size probe ---------------------

def test_c_grid_is_its_definition():
    """|C| / (lr L) on a log grid of 500 points over [0.01, 100]; 'free' both signs, '+' positive only."""
    lr, L = 0.02, 10
    mags = lr * L * 10.0 ** np.linspace(-2, 2, 500)
    plus = ft._c_grid(lr, L, "+")
    free = ft._c_grid(lr, L, "free")
    assert within(np.abs(plus / mags - 1), tol(4, scale=4.0), "grid +")
    assert np.array_equal(free, np.concatenate([-plus[::-1], plus]))


def _fig7_runs(R=4, T=40, lr=0.02, L=10, a=None):
    """Runs whose s_1 follows the printed iterate exactly with a grid value of C (so the open-loop fit is
    exact); s_2 is something else. Different runs differ (C, s(0), g)."""
    a = 2 - 2 / L if a is None else a
    grid = ft._c_grid(lr, L, "free")
    rng = np.random.default_rng(7)
    runs, Cs = [], []
    for i in range(R):
        g = -np.exp(-np.arange(T) / 12.0) * (1 + 0.2 * rng.standard_normal(T))
        C = float(grid[np.argmin(np.abs(grid + (0.003 + 0.001 * i)))])
        s1 = fig7_iterate(0.3 + 0.05 * i, g, C, a)
        s2 = 0.5 * s1[::-1]
        runs.append((None, SimpleNamespace(svals=np.stack([s1, s2], 1), g1=g, steps=np.arange(T + 1) * 3)))
        Cs.append(C)
    return runs, Cs


def test_fit_fig7_recovers_the_iterate_and_reports_its_fields():
    L, lr = 10, 0.05
    runs, Cs = _fig7_runs(R=1, lr=lr)
    run = runs[0][1]
    fit, tr = ft.fit_fig7(run.svals[:, 0], run.g1, L, lr)
    assert fit["C"] == Cs[0] and np.array_equal(tr, run.svals[:, 0])
    assert fit["C/(-lr L)"] == Cs[0] / (-lr * L) and fit["R2"] == 1.0


def test_fig7_plot_threshold_and_exact_fits(monkeypatch):
    """On runs that follow the iterate exactly: every fit is exact (relative RMS error 0, R^2 = 1), the test
    against 'R^2 >= 0.9' uses the threshold sqrt(1 - 0.9) and agrees; the plot draws run 0's s_1 and run 0's
    fitted iterate against its steps."""
    runs, Cs = _fig7_runs()
    _fake_g1(monkeypatch, fig7=runs)
    out = ft._fig7_check(Context(claim_id="fig-7"), plot=True)
    first = out.evidence["tests"][0]
    assert first["predicted"] == f"< {math.sqrt(1 - 0.9):.4g}"
    assert first["estimate"] == 0.0 and first["agrees"]
    assert out.evidence["R2_by_run"] == [1.0] * len(runs)
    L, lr = 10, 0.02
    assert out.evidence["C_over_minus_lrL_by_run"] == [round(C / (-lr * L), 4) for C in Cs]
    ax = out.figures["fig7_s1_vs_iterate"].axes[0]
    lines = ax.get_lines()
    run0 = runs[0][1]
    for ln in lines:
        assert np.array_equal(ln.get_xdata(), run0.steps)
        assert np.array_equal(ln.get_ydata(), run0.svals[:, 0])  # experiment = iterate (exact fit) of run 0
    assert lines[1].get_label() == f"iterate, C = {Cs[0]:.3g}"


def test_fig7_full_profile_probe_fits_s1_at_the_main_rate(monkeypatch):
    """The full profile's step-size probe fits the iterate to s_1 of the lr = 0.05 run (C on the lr = 0.05 grid)."""
    runs, _ = _fig7_runs(R=3)
    probe_runs, probe_C = _fig7_runs(R=1, lr=0.05)
    _fake_g1(monkeypatch, fig7=runs, fig7_lr005=probe_runs)
    out = ft._fig7_check(Context(claim_id="fig-7", profile=PROFILES["full"]), plot=True)
    probe = out.evidence["probe_lr_0.05"]
    assert probe["C"] == probe_C[0] and probe["R2"] == 1.0
    assert probe["C/(-lr L)"] == probe_C[0] / (-0.05 * 10)


# -- Figure 4 (trained panel): the plot of run 0 --------------------------------------------------

def test_fig4_plot_draws_run_0_ladder(monkeypatch):
    rng = np.random.default_rng(44)
    stats = []
    for _ in range(4):
        gaps = 0.05 + 0.02 * rng.random(14)
        gaps[9] = 2.0
        logs = -np.concatenate([[0.0], np.cumsum(gaps)])
        lgB = np.stack([logs * (l + 1) / 10 + rng.standard_normal(15) for l in range(10)])
        tr = {"misfit": {"affine": -4.0, "power law": -2.0, "linear s": -1.0}, "contrast": 3.0 + rng.random(),
              "top_gap_ratio": 2.0 + rng.random(), "logs_J": logs, "logs_B": lgB, "largest_gap": 2.0,
              "largest_gap_after_k": 10}
        stats.append({"K": 15, "init": tr, "trained": tr})
    pop = np.stack([0.5 + 0.1 * rng.standard_normal(50), 0.3 + 0.1 * rng.standard_normal(50)], 1)
    out = ft._fig4_outcome(Context(claim_id="fig-4/trained-synthetic"), stats, pop, "", laws=ft.G1_LAWS,
                           r_cluster=10, plot=True)
    ax = out.figures["fig4_trained_B_spectra"].axes[0]
    lines = ax.get_lines()
    lg = stats[0]["trained"]["logs_B"]
    assert len(lines) == lg.shape[1]
    for k, ln in enumerate(lines):
        assert np.array_equal(ln.get_xdata(), np.arange(2, lg.shape[0] + 2))
        assert np.array_equal(ln.get_ydata(), lg[:, k])


# ================================================================================================
# More helpers of the same kind, against brute-force versions of their definitions
# ================================================================================================

def _misfit_brute(s, g, a, grid):
    """One C at a time: iterate x(t+1) = x(t) + C x(t)^a g(t) from s(0); an iterate that becomes non-finite,
    <= 0 or > 1e6 restarts from s(0) and its SSE is inf; best C by least SSE (first on ties); log(SSE/SST)."""
    best = (math.inf, None)
    for C in grid:
        x, sse, bad = s[0], 0.0, False
        for t in range(len(s) - 1):
            with np.errstate(all="ignore"):
                x = x + C * x**a * g[t]
            if not np.isfinite(x) or x <= 0 or x > 1e6:
                bad, x = True, s[0]
            sse += (x - s[t + 1]) ** 2
        if bad:
            sse = math.inf
        if sse < best[0]:
            best = (sse, C)
    sst = float(np.sum((s - s.mean()) ** 2))
    return (math.log(best[0] / sst) if np.isfinite(best[0]) else math.inf), best[1]


@pytest.mark.parametrize("a", [0.5, 1.8, 3.0])
def test_misfit_grid_is_the_brute_force_fit(a):
    """_misfit_grid (all C at once) equals the C-by-C fit on noisy data, including grids where large |C| diverge
    or go negative (those get SSE = inf) and a grid where every C fails (inf)."""
    rng = np.random.default_rng(9)
    T = 30
    g = -np.exp(-np.arange(T) / 10.0) * (1 + 0.3 * rng.standard_normal(T))
    s = fig7_iterate(0.4, g, -0.01, 1.3) * (1 + 0.01 * rng.standard_normal(T + 1))
    grid = ft._c_grid(0.02, 10, "free")[::20]
    m, C, tr = ft._misfit_grid(s, g, a, grid)
    mb, Cb = _misfit_brute(s, g, a, grid)
    assert C == Cb
    assert within(abs(m - mb), tol(4 * T, kappa=float(np.max(s) ** 2 * T / np.exp(mb))), "misfit")
    assert np.array_equal(tr[:1], s[:1]) and within(np.abs(tr - fig7_iterate(s[0], g, C, a)), tol(T, scale=1e6), "tr")
    huge = np.array([1e6, 1e7])  # every iterate leaves (0, 1e6]
    assert ft._misfit_grid(s, -np.abs(g), a, huge)[0] == math.inf


def test_best_exponent_is_the_vertex_of_the_parabola_through_three_points():
    """Interior minimum: the vertex of the parabola through (e_{j-1}, y_{j-1}), (e_j, y_j), (e_{j+1}, y_{j+1})
    (numpy polyfit on the three points); at a grid end, or with a non-finite neighbour, the grid point."""
    exps = np.round(np.arange(0.0, 3.01, 0.25), 2)
    rng = np.random.default_rng(10)
    for _ in range(20):
        y = rng.uniform(0, 1, exps.size)
        j = int(np.argmin(y))
        got = ft.best_exponent(exps, y)
        if 0 < j < exps.size - 1:
            c2, c1, _ = np.polyfit(exps[j - 1:j + 2], y[j - 1:j + 2], 2)
            want = -c1 / (2 * c2)
            assert within(abs(got - want), tol(16, kappa=float(np.max(y) / (c2 * 0.0625)), scale=3.0), "vertex")
        else:
            assert got == exps[j]
    y = (exps - 1.3) ** 2
    y[6] = np.inf  # right neighbour of the minimum at 1.25 not finite
    assert ft.best_exponent(exps, y) == 1.25


def _fig1_runs(R=5, n=20, T=12, r=10):
    """Constructed G.1 runs: a task of singular values sT and spectra that rise towards them, mode k reaching
    half its target at a run-dependent step."""
    rng = np.random.default_rng(11)
    runs = []
    for i in range(R):
        sT = np.sort(rng.uniform(1.0, 5.0, n))[::-1]
        sT[r:] = 0.0
        s0 = np.sort(rng.uniform(0.01, 0.2, n))[::-1]
        steps = np.arange(T) * 10
        frac = np.clip((np.arange(T)[:, None] + 1) / (1 + rng.permutation(n)[None, :] % T), 0, 1)
        svals = s0 + frac * np.concatenate([sT[:r], 0.1 * s0[r:]])
        svals = -np.sort(-svals, axis=1)
        runs.append((SimpleNamespace(T=np.diag(sT)), SimpleNamespace(svals=svals, steps=steps)))
    return runs


def test_fig1_statistics_are_their_definitions(monkeypatch):
    """Per run: the growth from init to the end of each log(s_k / s_(k+1)), k = 1..15; the first recorded step
    where s_k >= s_k(T)/2 for k <= r (one past the last step if never), and its Spearman correlation with k; the
    largest relative error of the top r at the end against the target's."""
    from scipy.stats import spearmanr

    runs = _fig1_runs()
    _fake_g1(monkeypatch, main=runs)
    st = ft._fig1_stats(Context(claim_id="fig-1"))
    r = 10
    for i, (task, run) in enumerate(runs):
        sT = np.linalg.svd(task.T, compute_uv=False)
        S = run.svals
        gain = [math.log(S[-1][k] / S[-1][k + 1]) - math.log(S[0][k] / S[0][k + 1]) for k in range(15)]
        M = max(abs(math.log(x)) for x in np.concatenate([S[0][:16], S[-1][:16]]))
        assert within(np.abs(st["gain"][i] - gain), tol(4, scale=M), f"gain run {i}")
        t_half = []
        for k in range(r):
            hit = [run.steps[t] for t in range(len(run.steps)) if S[t][k] >= 0.5 * sT[k]]
            t_half.append(hit[0] if hit else run.steps[-1] + 1)
        assert st["rows"][i]["t_half_by_k"] == t_half
        assert within(abs(st["order"][i] - spearmanr(np.arange(r), t_half).statistic), tol(r), "spearman")
        rel = max(abs(S[-1][k] / sT[k] - 1) for k in range(r))
        assert within(abs(st["rel"][i] - rel), tol(2, scale=max(1.0, rel)), "rel")


def test_fig1_check_tests_the_named_separation(monkeypatch):
    """_fig1_check(r_sep): per run the growth at r_sep minus the largest growth at another k <= 15; the order
    test with the predicted sign; both at ctx.t(2, runs - 1)."""
    runs = _fig1_runs()
    _fake_g1(monkeypatch, main=runs)
    for r_sep, order in ((10, 1), (9, 0), (11, -1)):
        ctx = Context(claim_id="fig-1")
        out = ft._fig1_check(ctx, r_sep=r_sep, order=order, plot=False)
        st = ft._fig1_stats(ctx)
        want = [st["gain"][i][r_sep - 1] - max(np.delete(st["gain"][i], r_sep - 1)) for i in range(len(runs))]
        t0, t1 = out.evidence["tests"]
        assert t0["per_run"] == np.round(want, 4).tolist() and f"log(s_{r_sep}/s_{r_sep + 1})" in t0["name"]
        assert t0["predicted"].startswith(">") and t1["predicted"].startswith({1: ">", 0: "=", -1: "<"}[order])
        assert t1["per_run"] == np.round(st["order"], 4).tolist()
        crit = ctx.t(2, len(runs) - 1)
        assert t0["t_crit"] == crit == t1["t_crit"]
        assert out.evidence["growth_of_log_gaps_mean_by_k"] == np.round(st["gain"].mean(0), 3).tolist()
        assert out.evidence["max_rel_err_top_r_vs_target_by_run"] == np.round(st["rel"], 6).tolist()


def test_fig8_statistics_are_their_definitions(monkeypatch):
    """Per run: share of sum_k |s_k(end) - s_k(0)| carried by k <= r; min over k <= r of |log(s_k(end)/s_k(0))|;
    the impact-edge margin at r over k < 5 r / 2; tests against 0.9, log 2 and 0 at ctx.t(3, runs - 1)."""
    rng = np.random.default_rng(81)
    runs = []
    for _ in range(4):
        s0 = np.sort(np.exp(-0.1 * np.arange(30) + 0.01 * rng.standard_normal(30)))[::-1]
        s1 = s0 * np.exp(np.where(np.arange(30) < 10, 1.5, 0.02) * (1 + 0.1 * rng.standard_normal(30)))
        runs.append((None, SimpleNamespace(svals=np.stack([s0, s0 * 1.01, s1]))))
    _fake_g1(monkeypatch, main=runs)
    for r in (9, 10, 11):
        ctx = Context(claim_id="fig-8")
        out = ft._fig8_check(ctx, r_top=r, plot=False)
        share, strong, edge = [], [], []
        for _, run in runs:
            s0, s1 = run.svals[0], run.svals[-1]
            d = np.abs(s1 - s0)
            share.append(sum(d[:r]) / sum(d))
            strong.append(min(abs(math.log(s1[k] / s0[k])) for k in range(r)))
            edge.append(ft.impact_edge_margin(s0, s1, r, 25))
        tests = out.evidence["tests"]
        for tst, want, thr in zip(tests, (share, strong, edge), (0.9, math.log(2), 0.0)):
            assert np.max(np.abs(np.array(tst["per_run"]) - np.round(want, 4))) <= 1e-4 + 4 * EPS
            assert tst["predicted"] == f"> {thr:.4g}" and tst["t_crit"] == ctx.t(3, len(runs) - 1)


def test_fig5_tests_are_their_definitions():
    """_fig5_tests per run: the least-squares slope of rho_init on l = 1..L-1 (cov / var), the mean over l of
    rho_trained - rho_init, and that mean over the upper half l > (L-1)/2 (0-based index >= (L-1)//2)."""
    rng = np.random.default_rng(55)
    Lm1, R = 9, 5
    stats = [{tag: {"rho": {b: rng.uniform(0, 1, Lm1) for b in ft.F5_BLOCKS}} for tag in ("init", "trained")}
             for _ in range(R)]
    ctx = Context(claim_id="fig-5/trained-synthetic")
    l = np.arange(1.0, Lm1 + 1)
    for block in ft.F5_BLOCKS:
        tests, ri, rt = ft._fig5_tests(ctx, stats, block, -1, 1, 0)
        slope = [float(((l - l.mean()) * (y - y.mean())).sum() / ((l - l.mean()) ** 2).sum()) for y in ri]
        mean = [float(np.mean(b - a)) for a, b in zip(ri, rt)]
        upper = [float(np.mean((b - a)[Lm1 // 2:])) for a, b in zip(ri, rt)]
        for tst, want, sign in zip(tests, (slope, mean, upper), (-1, 1, 0)):
            assert within(np.abs(np.array(tst["per_run"]) - np.round(want, 4)), 1e-4 + tol(Lm1, scale=1.0), block)
            assert tst["_sign"] == sign and tst["t_crit"] == ctx.t(3 * len(ft.F5_BLOCKS), R - 1)
        assert f"l >= {Lm1 // 2 + 1} " in tests[2]["name"]


def test_rho_ladder_is_rho_of_uj_transpose_ua_on_its_blocks():
    """_rho_ladder: rho of |U_J^T U_{A_l}|, l = 1..L-1, A_l = W_L D_{L-1} ... W_{l+1} D_l (built here by an
    explicit loop), on the r x r block (r the given rank) and the top-left k_align x k_align block."""
    rng = np.random.default_rng(56)
    n, L = 7, 4
    Ws = [rng.standard_normal((n, n)) for _ in range(L)]
    ds = [np.ones(n) for _ in range(L - 1)]
    ds[1][[0, 3]] = 0.0  # rank 5
    rank, k_align = 5, 3
    J = Ws[0]
    for l in range(1, L):
        J = Ws[l] @ np.diag(ds[l - 1]) @ J
    UJ = np.linalg.svd(J)[0]
    out = ft._rho_ladder(Ws, ds, rank, k_align)
    assert out["range"].shape == out["top"].shape == (L - 1,)
    for l in range(1, L):
        A = np.eye(n)
        for m in range(L, l, -1):  # W_L D_{L-1} W_{L-1} ... W_{l+1} D_l
            A = A @ Ws[m - 1] @ np.diag(ds[m - 2])
        UA, sA, _ = np.linalg.svd(A)
        sJ = np.linalg.svd(J, compute_uv=False)
        kv = max(fa._gap_kappa(sJ, rank - 1), fa._gap_kappa(sA, rank - 1))
        R = UJ.T @ UA
        for key, k in (("range", rank), ("top", k_align)):
            want = _rho_def(R[:k, :k])
            assert within(abs(out[key][l - 1] - want), tol(n, kappa=kv, kernels=4 * L) * k * k + _rho_tol(k),
                          f"{key} l={l}")


def test_fig4_outcome_tests_are_their_definitions():
    """_fig4_outcome: misfit test against log(0.1), one difference test per rival law, the contrast and top-gap
    ratio against the initial population's means (their SE added in quadrature), the gap margin at r_cluster;
    all at ctx.t(number of tests, runs - 1)."""
    rng = np.random.default_rng(47)
    stats = []
    for _ in range(5):
        gaps = 0.05 + 0.02 * rng.random(14)
        gaps[9] = 2.0 + rng.random()
        logs = -np.concatenate([[0.0], np.cumsum(gaps)])
        tr = {"misfit": {m: -3.0 + rng.standard_normal() for m in ft.MODELS}, "contrast": 3.0 + rng.random(),
              "top_gap_ratio": 2.0 + rng.random(), "logs_J": logs, "logs_B": np.stack([logs] * 3),
              "largest_gap": 2.0, "largest_gap_after_k": 10}
        stats.append({"K": 15, "init": tr, "trained": tr})
    pop = np.stack([0.5 + 0.1 * rng.standard_normal(40), 0.3 + 0.1 * rng.standard_normal(40)], 1)
    for laws, r_cluster, clusters, emergence in ((ft.MODELS, None, 2, True), (ft.G1_LAWS, 10, 3, False)):
        ctx = Context(claim_id="fig-4/trained-synthetic")
        out = ft._fig4_outcome(ctx, stats, pop, "", laws=laws, r_cluster=r_cluster, clusters=clusters,
                               emergence=emergence, plot=False)
        tests = out.evidence["tests"]
        rivals = [m for m in laws if m != "affine"]
        assert len(tests) == 1 + len(rivals) + 2 + (r_cluster is not None)
        crit = ctx.t(len(tests), len(stats) - 1)
        mis = {m: np.array([s["trained"]["misfit"][m] for s in stats]) for m in ft.MODELS}
        want = [(mis["affine"], math.log(0.1), -1, 0.0)]
        want += [(mis["affine"] - mis[rv], 0.0, -1, 0.0) for rv in rivals]
        pm, pse = float(pop[:, 0].mean()), float(pop[:, 0].std(ddof=1) / math.sqrt(len(pop)))
        qm, qse = float(pop[:, 1].mean()), float(pop[:, 1].std(ddof=1) / math.sqrt(len(pop)))
        want.append((np.array([s["trained"]["contrast"] for s in stats]), pm, 1 if emergence else 0, pse))
        want.append((np.array([s["trained"]["top_gap_ratio"] for s in stats]), qm, 1 if clusters == 2 else 0, qse))
        if r_cluster is not None:
            want.append((np.array([ft._gap_margin(s["trained"]["logs_J"], r_cluster) for s in stats]), 0.0, 1, 0.0))
        for tst, (x, thr, sign, extra) in zip(tests, want):
            ref = ft._seed_test("ref", x, crit, sign=sign, threshold=thr, se_extra=extra)
            for f in ("estimate", "se", "t", "t_crit", "agrees", "contradicts", "per_run", "predicted"):
                assert tst[f] == ref[f] or within(abs(tst[f] - ref[f]), tol(8, scale=abs(ref[f]) + 1.0), f), f


# -- MNIST setting: which data and settings the runs use, and how the settings' verdicts combine -----

def _fake_mnist(monkeypatch, N=40, cfg=None):
    import sys
    import types

    rng = np.random.default_rng(90)
    data = {"train": (rng.integers(0, 256, (N, 28, 28), dtype=np.uint8), rng.integers(0, 10, N)),
            "test": (rng.integers(0, 256, (N + 5, 28, 28), dtype=np.uint8), rng.integers(0, 10, N + 5))}
    calls = {"pool": [], "train": []}
    monkeypatch.setattr(ft.dynamics, "load_mnist", lambda root, split="train": data[split])
    kornia = types.ModuleType("kornia")
    kornia.__version__ = "0.0-test"
    monkeypatch.setitem(sys.modules, "kornia", kornia)

    def pool(images, labels, copies, seed):
        calls["pool"].append((images, labels, copies, seed))
        return "X", "y"

    def train(X, y, **kw):
        calls["train"].append(((X, y), kw))
        i = len(calls["train"])
        return SimpleNamespace(Ws0=i, Ws=i, ds=i, acc=0.5 + 0.01 * i, test_acc=0.4 + 0.01 * i)

    monkeypatch.setattr(ft.dynamics, "augmented_pool", pool)
    monkeypatch.setattr(ft.dynamics, "train_mnist_fgln", train)
    cfg = cfg or dict(subset=12, copies=3, runs=2, steps=7, settings=tuple(ft.MNIST_TRAINING), population=10)
    monkeypatch.setattr(ft, "mnist_config", lambda ctx: cfg)
    return data, calls, cfg


def test_mnist_runs_use_the_seeded_subset_pool_and_settings(monkeypatch):
    """_mnist_runs: a sorted subset of `subset` distinct training images (drawn from the 'mnist-subset' stream),
    one auto-augmented pool of it ('mnist-augment' seed, `copies` copies); per setting `runs` networks n = 128,
    L = 10, p = 0.5 trained `steps` steps with the setting's optimizer, each from the CPU generator seeded
    'mnist-training' i (the same initialisations in every setting); evaluated on the subset and the test set."""
    from checks.model import derive_seed

    data, calls, cfg = _fake_mnist(monkeypatch)
    ctx = Context(claim_id="fig-4/trained", seed=3, data={"mnist": "/nowhere-g4"})
    ft._CACHE.clear()
    try:
        out = ft._mnist_runs(ctx)
        again = ft._mnist_runs(ctx)
    finally:
        ft._CACHE.clear()
    assert again is out and len(calls["pool"]) == 1  # cached
    images, labels = data["train"]
    sub = np.sort(np.random.default_rng(derive_seed(3, "mnist-subset")).choice(len(images), cfg["subset"],
                                                                              replace=False))
    im, lb, copies, seed = calls["pool"][0]
    assert np.array_equal(im, images[sub]) and np.array_equal(lb, labels[sub])
    assert copies == cfg["copies"] and seed == derive_seed(3, "mnist-augment")
    assert list(out) == list(cfg["settings"]) and all(len(v) == cfg["runs"] for v in out.values())
    assert len(calls["train"]) == cfg["runs"] * len(cfg["settings"])
    timages, tlabels = data["test"]
    for j, ((X, y), kw) in enumerate(calls["train"]):
        name, i = cfg["settings"][j // cfg["runs"]], j % cfg["runs"]
        assert (X, y) == ("X", "y")
        assert (kw["n"], kw["L"], kw["p"], kw["steps"], kw["dtype"], kw["device"]) == (128, 10, 0.5, cfg["steps"],
                                                                                       "float32", "cpu")
        assert all(kw[k] == v for k, v in ft.MNIST_TRAINING[name].items())
        assert kw["gen"].initial_seed() == derive_seed(3, "mnist-training", i)
        assert np.array_equal(kw["evaluate"][0], images[sub][:2000]) and np.array_equal(kw["evaluate"][1],
                                                                                        labels[sub][:2000])
        assert np.array_equal(kw["test"][0], timages[:2000]) and np.array_equal(kw["test"][1], tlabels[:2000])
    assert ft._mnist_runs(Context(claim_id="fig-4/trained")) == ft.NO_MNIST


@pytest.mark.parametrize("verdicts", [("supported", "supported"), ("supported", "refuted")])
def test_mnist_outcome_combines_the_training_settings(monkeypatch, verdicts):
    """_mnist_outcome: the primary setting's outcome, with the accuracies (means over runs) of every setting;
    a verdict that differs between the settings makes it inconclusive (power None), the same verdict is kept."""
    data, calls, cfg = _fake_mnist(monkeypatch)
    monkeypatch.setattr(ft, "net_stats", lambda Ws0, Ws, ds: {"run": Ws})
    by_setting = dict(zip(cfg["settings"], verdicts))
    seen = {}

    def decide(ctx, stats, setting, plot=True, **kw):
        name = next(k for k in by_setting if k not in seen)
        seen[name] = ([s["run"] for s in stats], plot)
        return ft.Outcome(Status(by_setting[name]), "s", evidence={"tests": [name]}, power=0.5)

    ctx = Context(claim_id="fig-5/trained", data={"mnist": "/nowhere-g4"})
    ft._CACHE.clear()
    try:
        out = ft._mnist_outcome(ctx, decide)
        runs = ft._mnist_runs(ctx)
    finally:
        ft._CACHE.clear()
    prim = ft.MNIST_PRIMARY
    assert seen[prim][1] is True and all(not p for k, (_, p) in seen.items() if k != prim)  # only primary plots
    for name, v in runs.items():
        assert seen[name][0] == [r.Ws for r in v]
        acc = out.evidence["accuracy"][name]
        assert acc["train (un-augmented subset)"] == round(float(np.mean([r.acc for r in v])), 4)
        assert acc["test (2000 images)"] == round(float(np.mean([r.test_acc for r in v])), 4)
    assert out.evidence["verdict_by_training_setting"] == by_setting
    assert out.evidence["kornia"] == "0.0-test"
    assert set(out.evidence["tests_by_training_setting"]) == set(cfg["settings"]) - {prim}
    if len(set(verdicts)) > 1:
        assert out.status is Status.INCONCLUSIVE and out.power is None and out.summary.startswith("verdict depends")
    else:
        assert out.status is Status(verdicts[0]) and out.power == 0.5


def _fake_fgln_products(monkeypatch, S, n, L, s, Q, ts):
    """Replace fgln_products by S copies of J = diag(s) and A_l = Q_l diag(t_l) (known spectra)."""
    def fake(g, S_, n_, p, L_, sigma, rd):
        assert (S_, n_, L_) == (S, n, L)
        J = np.broadcast_to(np.diag(s), (S, n, n)).copy()
        A = np.broadcast_to(np.stack([Ql * t for Ql, t in zip(Q, ts)]), (S, L - 1, n, n)).copy()
        return torch.from_numpy(J), torch.from_numpy(A)

    monkeypatch.setattr(fa.al, "fgln_products", fake)


# -- Figure 5 (initialisation): the range block and its diagnostics on products of known SVD --------

def test_fig5_data_range_block_and_rank_diagnostics(monkeypatch):
    """_fig5_data with J = diag(s) of rank k and A_l = Q_l diag(t_l) of rank k_l (k_1 = k <= k_2 <= ..., so the
    gate ranks min_{l' >= l} k_l' are the k_l), whose singular vectors are known (I and Q_l up to signs):
    'range' and 'range/haar' are rho(|Q_l[:k, :k]|) (the r_J x r_J block reads resolved columns only), 'top10'
    rho(|Q_l[:10, :10]|) (k >= 10), the value recomputation (block r_J) the same; the ranks are k, the resolved
    ranks equal the gate ranks, and the margins are the smallest kept s_rank / s_1 over the resolution."""
    n, L, S = 16, 4, 2
    k_l = [12, 13, 14]
    monkeypatch.setattr(fa, "F5_N", n)
    monkeypatch.setattr(fa, "F5_L", L)
    rng = np.random.default_rng(50)
    Q = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(L - 1)]
    s = np.where(np.arange(n) < k_l[0], np.linspace(3.0, 1.0, n), 0.0)
    ts = [np.where(np.arange(n) < k, np.linspace(2.0, 0.5, n), 0.0) for k in k_l]

    _fake_fgln_products(monkeypatch, S, n, L, s, Q, ts)
    d = fa._fig5_data.__wrapped__(0, S, "fgln")
    k = k_l[0]
    sA1 = ts[0][0]
    kv = max(s[0] / np.diff(-s[:k + 1]).min(), sA1 / np.diff(-ts[-1][:k + 1]).min())
    for key, blk in (("range", k), ("range/haar", k), ("top10", fa.K)):
        want = np.array([_rho_def(Q[l][:blk, :blk]) for l in range(L - 1)])
        t_vec = tol(n, kappa=kv, kernels=4) * blk * blk + _rho_tol(blk)
        assert within(np.abs(d["rho"][key] - want[None]), t_vec, key)
    ind = d["independent"]
    want = np.array([_rho_def(Q[l][:k, :k]) for l in range(L - 1)])
    assert within(np.abs(ind["values"][0] - want[None]), tol(n, kappa=kv, kernels=4) * k * k + _rho_tol(k), "ind")
    assert ind["values"][0].shape == ind["values"][1].shape == ind["tol"].shape == (S, L - 1)
    # the recomputation's tolerance: backward error of the SVDs amplified by s_1 / gap of the top k + 1 singular
    # values of J and A_l (their singular vectors' conditioning), times k^2 for rho's sums over the k x k block
    for l in range(L - 1):
        kvl = max(fa._gap_kappa(s, k - 1), fa._gap_kappa(ts[l], k - 1))
        want_tol = tol(n, kappa=kvl, kernels=4) * k**2
        assert within(np.abs(ind["tol"][:, l] / want_tol - 1), tol(n, kappa=kv), f"ind tol l={l + 1}")
    diag = d["diag"]
    assert diag["rank_J"] == [k, float(k), k]
    assert diag["resolved ranks equal the gate ranks"] is True
    rel = fa._resolution(n, L)
    lo = min(s[k - 1] / s[0], min(t[kk - 1] / t[0] for t, kk in zip(ts, k_l))) / rel
    assert within(abs(diag["min s_rank / (tol s_1)"] - lo), tol(n, kappa=kv, scale=lo), "margin lo")
    assert 0 <= diag["max s_(rank+1) / (tol s_1)"] < 1
    assert diag["range block unchanged by Haar null bases (max |change|)"] <= tol(n, kappa=kv, kernels=4) * k * k


# -- Figures 6 and 10-12: the checks' decisions and evidence from given profiles ----------------------

def _g2_fake_profiles(rng, shift=0.0, margin=5.0):
    prof = {}
    for i, pn in enumerate(fa.PANELS):
        S = 12
        prof_l = 0.3 + 0.2 * np.cos(np.linspace(0, 2 * np.pi, fa.G2_L - 1))  # U-shaped in l
        y = prof_l + shift + 0.02 * rng.standard_normal((S, fa.G2_L - 1))
        y[1, 3] = np.nan
        m = fa.VALUE_DRAWS
        prof[pn] = {"gram": y, "resolution margin": margin + i, "resolved rank of J (min)": 20 + i,
                    "independent": {"values": {fa.K: {"gram": y[:m].copy()}, fa.K + 1: {"gram": y[:m] + 0.05}},
                                    "tol": {"gram": np.full((m, fa.G2_L - 1), 1e-9)}}}
    return prof


@pytest.mark.parametrize("margin", [5.0, 0.5])
@pytest.mark.parametrize("label_k", [fa.K, fa.K + 1])
def test_g2_check_decides_per_panel_with_its_value_and_margin_rules(monkeypatch, margin, label_k):
    """_g2_check: the pairs tested in each panel at ctx.z(pairs x panels) (Bonferroni), verdict over all rows;
    inconclusive when the resolution margin is <= 1, refuted when the plotted values are not the named
    statistic (label_k); means by l, the smallest margin and resolved rank as evidence; the secondary reading
    re-tested on its panels at ctx.z(pairs x its panels)."""
    rng = np.random.default_rng(100)
    profs = {"fgln": _g2_fake_profiles(rng, margin=margin), "masked": _g2_fake_profiles(rng, shift=0.1)}
    monkeypatch.setattr(fa, "_g2_profiles", lambda ctx, reading="fgln", panels=fa.PANELS:
                        {pn: profs[reading][pn] for pn in panels})
    pairs = fa.trough(fa.G2_MID, fa._ENDS)
    sec_panels = [(0.5, 64), (1.0, 64)]
    ctx = Context(claim_id="fig-10/u-shape")
    out = fa._g2_check(ctx, key="gram", pairs=pairs, title="t", secondary=("masked", sec_panels), plot=True,
                       label_k=label_k)
    z = ctx.z(len(pairs) * len(fa.PANELS))
    ev = out.evidence
    rows = []
    for p, n in fa.PANELS:
        y = profs["fgln"][(p, n)]["gram"]
        want = [fa._compare(f"rho({fa._label(a)}) - rho({fa._label(b)})", fa._at(y, a), fa._at(y, b), z, sg)
                for a, b, sg in pairs]
        assert ev["tests"][f"p={p},n={n}"] == want
        rows += want
        assert ev["mean_by_l"][f"p={p},n={n}"] == np.nanmean(y, 0).round(3).tolist()
    value_ok = label_k == fa.K
    status = fa._verdict(rows)
    if margin <= 1:
        status = Status.INCONCLUSIVE
    if not value_ok:
        status = Status.REFUTED
    assert status is (Status.SUPPORTED if value_ok and margin > 1 else status)
    assert out.status is status
    assert out.power == (fa._power(rows) if value_ok else 1.0)
    arb = ev["arbitrary choices"]
    assert arb["min over draws and l of s_K/s_1 of J and A_l, over the float64 resolution"] == margin
    assert arb["min resolved rank of J"] == 20
    zs = ctx.z(len(pairs) * len(sec_panels))
    srows = {f"p={p},n={n}": [fa._compare(f"rho({fa._label(a)}) - rho({fa._label(b)})",
                                          fa._at(profs["masked"][(p, n)]["gram"], a),
                                          fa._at(profs["masked"][(p, n)]["gram"], b), zs, sg) for a, b, sg in pairs]
             for p, n in sec_panels}
    assert ev["masked reading"]["tests"] == srows
    assert ev["masked reading"]["mean_by_l"] == {f"p={p},n={n}": np.nanmean(profs["masked"][(p, n)]["gram"], 0)
                                                 .round(3).tolist() for p, n in sec_panels}
    assert ev["masked reading"]["verdict"] == fa._verdict([r for v in srows.values() for r in v]).value
    assert set(out.figures) == {"gram"}
    assert (out.counterexample is None) == (not (out.status is Status.REFUTED and value_ok))


@pytest.mark.parametrize("label", ["masked", "masked+1"])
def test_fig6_convergence_decides_on_the_panels_and_the_value_check(monkeypatch, label):
    """check_fig6_convergence: rho of the primary reading per panel as positions 1..3, the pairs tested at
    ctx.z(len(pairs)); the plotted values checked against the recomputation of the named suffix (within
    tol(128, kernels=2) 128^2): a suffix whose values differ refutes."""
    rng = np.random.default_rng(101)
    S = 16
    keys = [(L, l) for L, l, _ in fa.FIG6]
    rho = {k: {fa.F6_PRIMARY: 0.5 + 0.15 * i + 0.01 * rng.standard_normal(S)} for i, k in enumerate(keys)}
    ind = {k: {"masked": rho[k][fa.F6_PRIMARY][:fa.VALUE_DRAWS].copy(),
               "masked+1": rho[k][fa.F6_PRIMARY][:fa.VALUE_DRAWS] + 0.02} for k in keys}
    monkeypatch.setattr(fa, "_fig6_data", lambda ctx: (S, {"rho": rho, "independent": ind}))
    pairs = fa.decreasing((3, 2, 1))
    ctx = Context(claim_id="fig-6/convergence")
    out = fa.check_fig6_convergence(ctx, pairs=pairs, plot=True, label=label)
    y = np.column_stack([rho[k][fa.F6_PRIMARY] for k in keys])
    z = ctx.z(len(pairs))
    want = [fa._compare(f"rho_panel({a}) - rho_panel({b})", y[:, a - 1], y[:, b - 1], z, sg) for a, b, sg in pairs]
    assert out.evidence["tests"] == want
    assert out.evidence["mean_rho"] == {str(k): float(v) for k, v in zip(keys, y.mean(0))}
    if label == "masked":
        assert out.status is fa._verdict(want) is Status.SUPPORTED and out.power == fa._power(want)
    else:
        assert out.status is Status.REFUTED and out.power == 1.0 and out.counterexample is None
    ax = out.figures["fig6_rho_by_panel"].axes[0]
    assert within(np.abs(ax.get_lines()[0].get_ydata() - y.mean(0)), tol(S, scale=1.0), "panel means")


def test_lesser_check_comparator_is_figure_11_at_l1_against_figure_10_at_l_minus_1(monkeypatch):
    """fig-10/lesser-extent's reported comparator: per panel, rho of U_J^T U_A (Figure 11, 'top') at l = 1 minus
    rho of U_J^T A A^T U_J (Figure 10, 'gram') at l = L-1, predicted > 0, at ctx.z(number of panels)."""
    rng = np.random.default_rng(102)
    profs = {"fgln": _g2_fake_profiles(rng), "masked": _g2_fake_profiles(rng)}
    for pn in fa.PANELS:
        profs["fgln"][pn]["top"] = rng.uniform(0.2, 0.6, profs["fgln"][pn]["gram"].shape)
    monkeypatch.setattr(fa, "_g2_profiles", lambda ctx, reading="fgln", panels=fa.PANELS:
                        {pn: profs[reading][pn] for pn in panels})
    ctx = Context(claim_id="fig-10/lesser-extent")
    out = fa._lesser_check(ctx)
    z = ctx.z(len(fa.PANELS))
    comp = out.evidence["comparator: U_J^T U_A (Figure 11) at l = 1"]
    for p, n in fa.PANELS:
        pr = profs["fgln"][(p, n)]
        want = fa._compare("rho_Fig11(1) - rho_Fig10(L-1)", pr["top"][:, 0], pr["gram"][:, fa.G2_L - 2], z, +1)
        assert comp["tests"][f"p={p},n={n}"] == [want]
    assert comp["verdict"] == fa._verdict([r for v in comp["tests"].values() for r in v]).value
    # the decisive tests are _LESSER: rho(1) > rho(L-1), and the first three above the last three
    assert fa._LESSER == ((1, fa.G2_L - 1, 1), ((1, 2, 3), (fa.G2_L - 3, fa.G2_L - 2, fa.G2_L - 1), 1))


def test_reproduces_is_the_one_draw_and_mean_interval():
    """_reproduces(q, x, t): mean m, sd s (ddof 1) of the finite draws; one draw: |q - m| <= t s sqrt(1 + 1/S)
    + 0.005; the mean: |q - m| <= t s / sqrt(S) + 0.005; both intervals reported."""
    x = np.array([0.50, 0.52, 0.48, 0.51, 0.49, np.nan])
    m, sd, S = 0.5, math.sqrt(np.var(x[:5], ddof=1)), 5
    for q, tq in ((0.5, 2.0), (0.53, 2.0), (0.56, 2.0), (0.56, 4.0), (0.4, 3.0)):
        r = fa._reproduces(q, x, tq)
        one = tq * sd * math.sqrt(1 + 1 / S) + 0.005
        avg = tq * sd / math.sqrt(S) + 0.005
        assert r["defined_draws"] == S
        t8 = tol(4 * S, scale=1.0)
        assert within(abs(r["rho_mean"] - m), t8, "m") and within(abs(r["sd_per_draw"] - sd), t8, "sd")
        assert within(np.abs(np.array(r["single_draw_interval"]) - [m - one, m + one]), t8, "one")
        assert within(np.abs(np.array(r["mean_interval"]) - [m - avg, m + avg]), t8, "avg")
        assert r["single draw"] == (abs(q - m) <= one) and r["mean"] == (abs(q - m) <= avg)


@pytest.mark.parametrize("case", ["ok", "unresolved", "not robust", "label slip"])
def test_check_fig5_rules(monkeypatch, case):
    """check_fig5: the primary reading's verdict on the pairs at ctx.z(len(pairs)); inconclusive when a rank is
    not resolved (min s_rank / (tol s_1) <= 1 or max s_(rank+1) / (tol s_1) >= 1) or when Haar-rotated null
    bases give another verdict; refuted when the plotted values are not the named block's (label_shift)."""
    rng = np.random.default_rng(103)
    S, Lm1 = 16, fa.F5_L - 1
    base = 0.6 - 0.03 * np.arange(Lm1)  # decreasing in l: the printed peak at l = 1
    y = base + 0.01 * rng.standard_normal((S, Lm1))

    def reading(shift):
        m = fa.VALUE_DRAWS
        rho = {k: y + shift for k in ("range", "top10", "full", "full/haar", "full/aligned")}
        rho["range/haar"] = (y[:, ::-1] if case == "not robust" else y) + shift
        rho["null-row mass"] = np.full((S, Lm1), 0.7)
        diag = {"min s_rank / (tol s_1)": 0.5 if case == "unresolved" else 9.0, "max s_(rank+1) / (tol s_1)": 0.1}
        return {"rho": rho, "diag": diag,
                "independent": {"values": {0: rho["range"][:m].copy(), 1: rho["range"][:m] + 0.05},
                                "tol": np.full((m, Lm1), 1e-9)}}

    d = {"fgln": reading(0.0), "masked": reading(0.01)}
    readings = {fa.F5_PRIMARY: d["fgln"]["rho"]["range"]}
    readings.update({f"x{i}, full, {k}": d["fgln"]["rho"]["full"] for i, k in enumerate("abcde")})
    monkeypatch.setattr(fa, "_fig5_readings", lambda ctx: (S, d, readings))
    pairs = fa.peak(fa.F5_AT[0], fa.F5_AT[1:])
    ctx = Context(claim_id="fig-5/init")
    out = fa.check_fig5(ctx, pairs=pairs, plot=case == "ok", label_shift=1 if case == "label slip" else 0)
    if case == "ok":  # every reading but the Haar-rotated ones, mean over draws against l = 1..L-1
        ax = out.figures["fig5_rho_vs_l"].axes[0]
        shown = [k for k in readings if "Haar" not in k]
        assert [ln.get_label() for ln in ax.get_lines()] == shown
        for ln, k in zip(ax.get_lines(), shown):
            assert np.array_equal(ln.get_xdata(), np.arange(1, fa.F5_L)) and np.array_equal(
                ln.get_ydata(), np.nanmean(readings[k], 0))
        assert ax.get_title().startswith(f"Fig. 5 (init): rho(U_J^T U_A_l), p={fa.F5_P}, n={fa.F5_N}")
    z = ctx.z(len(pairs))
    want = [fa._compare(f"rho({a}) - rho({b})", fa._at(y, a), fa._at(y, b), z, sg) for a, b, sg in pairs]
    assert out.evidence["tests"][fa.F5_PRIMARY] == want and fa._verdict(want) is Status.SUPPORTED
    status = {"ok": Status.SUPPORTED, "unresolved": Status.INCONCLUSIVE, "not robust": Status.INCONCLUSIVE,
              "label slip": Status.REFUTED}[case]
    assert out.status is status
    assert out.power == (1.0 if case == "label slip" else fa._power(want))
    assert out.evidence["mean_rho_by_l"][fa.F5_PRIMARY] == np.nanmean(y, 0).round(3).tolist()
    assert out.evidence["verdict_by_reading"][fa.F5_PRIMARY] == "supported"
    masses = out.evidence["mass of |U_J^T U_A| in rows of null columns of U_J (mean by l)"]
    assert masses == {rd: [0.7] * Lm1 for rd in d}


# -- foils compute what their statements name ------------------------------------------------------

_L7, _R = 10, 10  # G.1: depth L = 10, task rank r = 10
_E, _M = fa.G2_L - 1, fa.G2_L // 2
_FOIL_ARGS = [
    ("fig-1", "half the task's rank", {"r_sep": _R // 2}),
    ("fig-1", "(r-1)-th", {"r_sep": _R - 1}), ("fig-1", "(r+1)-th", {"r_sep": _R + 1}),
    ("fig-1", "simultaneously", {"order": 0}),
    ("fig-7", "2 - 1/L", {"a": 2 - 1 / _L7}), ("fig-7", "C > 0", {"c_sign": "+"}),
    ("fig-7", "2/L - 2", {"a": 2 / _L7 - 2}),
    ("fig-8", "r - 1 = 9", {"r_top": _R - 1}), ("fig-8", "r + 1 = 11", {"r_top": _R + 1}),
    ("fig-8", "r/2 = 5", {"r_top": _R // 2}), ("fig-8", "2r = 20", {"r_top": 2 * _R}),
    ("fig-4/trained-synthetic", "three clusters", {"clusters": 3}),
    ("fig-4/trained-synthetic", "power law", {"model": "power law"}),
    ("fig-4/trained-synthetic", "not created by training", {"emergence": False}),
    ("fig-5/trained-synthetic", "high values of l", {"init_trend": 1}),
    ("fig-5/trained-synthetic", "only at low l", {"spread": 0}),
    ("fig-5/init", "(r_J + 1) x (r_J + 1)", {"label_shift": 1}),
    ("fig-5/init", "largest at l = L-1", {"pairs": fa.peak(fa.F5_L - 1, (1, fa.F5_L // 2))}),
    ("fig-5/init", "largest at l = L/2", {"pairs": fa.peak(fa.F5_L // 2, (1, fa.F5_L - 1))}),
    ("fig-5/init", "does not depend on l", {"pairs": fa.flat(1, (fa.F5_L // 2, fa.F5_L - 1))}),
    ("fig-6/convergence", "one layer longer", {"label": "masked+1"}),
    ("fig-6/convergence", "rho decreases", {"pairs": fa.decreasing((1, 2, 3))}),
    ("fig-6/convergence", "the same in the three panels", {"pairs": ((2, 1, 0), (3, 2, 0))}),
    ("fig-10/u-shape", "11 x 11", {"label_k": fa.K + 1, "pairs": fa.trough(fa.G2_MID, (1, _E))}),
    ("fig-10/u-shape", "flat profile", {"pairs": fa.flat(fa.G2_MID, (1, _E))}),
    ("fig-10/u-shape", "monotone decreasing", {"pairs": ((1, fa.G2_MID, 1), (fa.G2_MID, _E, 1))}),
    ("fig-10/u-shape", "monotone increasing", {"pairs": ((fa.G2_MID, 1, 1), (_E, fa.G2_MID, 1))}),
    ("fig-11/small-l", "no dependence on l", {"pairs": fa.flat(1, (_M, _E))}),
    ("fig-12/large-l", "no dependence on l", {"pairs": fa.flat(_E, (1, _M))}),
    ("fig-12/separation", "does not depend on l", {"pairs": ((1, _M, 0), (_M, _E, 0))}),
    ("fig-12/anisotropy", "does not depend on the spectrum",
     {"pairs": tuple((a, a + 1, 0) for a in range(1, len(fa.ANISO_T)))}),
    ("fig-11/small-l", "11 x 11", {"label_k": fa.K + 1, "pairs": fa.peak(1, (_M, _E))}),
    ("fig-11/small-l", "when l ~ L", {"pairs": fa.peak(_E, (1, _M))}),
    ("fig-11/small-l", "U-shaped", {"pairs": fa.trough(_M, (1, _E))}),
    ("fig-12/large-l", "11 x 11", {"label_k": fa.K + 1, "pairs": fa.peak(_E, (1, _M))}),
    ("fig-12/large-l", "when l << L", {"pairs": fa.peak(1, (_M, _E))}),
    ("fig-12/separation", "log(s_1/s_11)", {"label_k": fa.K + 1, "pairs": fa.decreasing((1, _M, _E))}),
    ("fig-12/separation", "grows as l increases", {"pairs": fa.decreasing((_E, _M, 1))}),
    ("fig-12/anisotropy", "11 x 11", {"label_k": 11}),
    ("fig-12/anisotropy", "increases", {"pairs": fa.decreasing(tuple(range(len(fa.ANISO_T), 0, -1)))}),
]


@pytest.mark.parametrize("claim_id,words,want", _FOIL_ARGS)
def test_foils_compute_what_their_statements_name(claim_id, words, want):
    """Each foil's check is the claim's check with the constant, exponent, index, count or profile its statement
    names (a foil that coincided with the statement, e.g. an exponent whose sign slip was lost, would be no foil)."""
    from checks import registry

    reg = registry.load()
    foils = [f for f in reg[claim_id].foils if words in f.statement]
    assert len(foils) == 1, (claim_id, words, [f.statement for f in reg[claim_id].foils])
    kw = foils[0].check.keywords
    for k, v in want.items():
        assert kw[k] == v or (isinstance(v, float) and within(abs(kw[k] - v), tol(2, scale=abs(v)), k)), (k, kw[k], v)
    assert kw.get("plot", True) is False


def test_fig4_synthetic_declares_no_linear_s_foil():
    """On the G.1 task the learned modes end flat in l, so 'linear s' does not discriminate there (G1_LAWS): the
    synthetic claim declares the power-law rival and the count / emergence / split foils, not the 'linear s' one."""
    from checks import registry

    foils = [f.statement for f in registry.load()["fig-4/trained-synthetic"].foils]
    assert len(foils) == 6 and not any("not their logarithms" in f for f in foils)
    assert ft.G1_LAWS == ("affine", "power law")


def test_fig7_statement_exponent_and_iso_foils():
    """fig-7's own exponent is 2 - 2/L; fig-12/isotropic's foils compare M M^T with 1.5 s^2 I, s I and n s^2 I."""
    from checks import registry

    reg = registry.load()
    cfg = ft.g1_config(Context(claim_id="fig-7"))
    assert cfg["L"] == _L7 and cfg["rank"] == _R
    n, k, s = 5, 3, 2.0
    Q = np.linalg.qr(np.random.default_rng(3).standard_normal((n, n)))[0]
    offs = {}
    for f in reg["fig-12/isotropic"].foils:
        cmp = f.check.compare  # a PropertyCheck's comparison of one generated example
        offs[f.statement.split(" (")[0]] = cmp(Q=Q, s=s, k=k).err
    want = {"M M^T = 1.5 s^2 I": 0.5, "M M^T = s I": abs(1 - 1 / s), "M M^T = n s^2 I": n - 1.0}
    for name, w in want.items():
        assert within(abs(offs[name] - w), tol(n, kernels=2, scale=max(1.0, w)), name)


def test_panel_margin_rank_and_statistics_on_products_of_known_svd(monkeypatch):
    """_panel (Figures 10-12): with J = diag(s) and A_l = Q_l diag(t_l) (known singular vectors and values) the
    profiles are rho(|Q_l[:K, :K]|) ('top'), rho((A_l A_l^T)[:K, :K]) ('gram'), rho(A_l[:K] A_l[:K]^T) ('aat'),
    log(t_1/t_K) ('sep'); the resolution margin is the smallest s_K/s_1 of J and the A_l over the float64
    resolution; the resolved rank of J is n; the value recomputation is attached for the fgln reading."""
    n, L, S = 16, fa.G2_L, 2
    rng = np.random.default_rng(104)
    Q = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(L - 1)]
    s = np.linspace(3.0, 1.0, n)
    ts = [np.geomspace(2.0, 0.5 / (l + 1), n) for l in range(L - 1)]

    _fake_fgln_products(monkeypatch, S, n, L, s, Q, ts)
    prof = fa._panel.__wrapped__(0, 0.5, n, L, S, "fgln")
    K = fa.K
    kv = max(max(t[0] / np.diff(-t[:K + 1]).min() for t in ts), s[0] / np.diff(-s).min())
    for l in range(L - 1):
        A_l = Q[l] * ts[l]
        for key, X in (("top", Q[l][:K, :K]), ("gram", (A_l @ A_l.T)[:K, :K]), ("aat", A_l[:K] @ A_l[:K].T)):
            assert within(np.abs(prof[key][:, l] - _rho_def(X)), tol(n, kappa=kv, kernels=4 * L) * K * K
                          + _rho_tol(K), f"{key} l={l + 1}")
        assert within(np.abs(prof["sep"][:, l] - math.log(ts[l][0] / ts[l][K - 1])),
                      tol(n, kappa=kv, kernels=2 * L, scale=1.0), f"sep l={l + 1}")
    want = min(s[K - 1] / s[0], min(t[K - 1] / t[0] for t in ts)) / fa._resolution(n, L)
    assert within(abs(prof["resolution margin"] - want), tol(n, kappa=kv, kernels=2 * L, scale=want), "margin")
    assert prof["resolved rank of J (min)"] == n
    assert set(prof["independent"]["values"]) == {K, K + 1}
    assert prof["independent"]["values"][K]["top"].shape == (fa.VALUE_DRAWS if S > fa.VALUE_DRAWS else S, L - 1)


@pytest.mark.parametrize("top_agrees", [True, False])
def test_fig5_outcome_primary_block_and_robustness(top_agrees):
    """_fig5_outcome: decided on the range block's three tests; the top-10 block's tests reported, and an estimate
    of the other sign there on any test makes it inconclusive (power None); means by l per block."""
    rng = np.random.default_rng(105)
    Lm1, R = 9, 6
    l = np.arange(Lm1)
    stats = []
    for _ in range(R):
        init = 0.6 - 0.03 * l + 0.005 * rng.standard_normal(Lm1)
        trained = init + 0.1 + 0.005 * rng.standard_normal(Lm1)
        top_i = init if top_agrees else init[::-1]  # reversed: slope of the other sign
        stats.append({"init": {"rho": {"range": init, "top": top_i}},
                      "trained": {"rho": {"range": trained, "top": top_i + 0.1}}})
    ctx = Context(claim_id="fig-5/trained-synthetic")
    out = ft._fig5_outcome(ctx, stats, "", plot=True)
    tr, ri, rt = ft._fig5_tests(ctx, stats, "range", -1, 1, 1)
    tt = ft._fig5_tests(ctx, stats, "top", -1, 1, 1)[0]
    assert out.evidence["tests"] == ft._public(tr) and out.evidence["tests_top10_block"] == ft._public(tt)
    st, pw = ft._decide(tr)
    assert st is Status.SUPPORTED
    if top_agrees:
        assert out.status is st and out.power == pw
    else:
        assert out.status is Status.INCONCLUSIVE and out.power is None
    means = out.evidence["mean_rho_by_block"]
    assert means["range"] == {"init": np.round(ri.mean(0), 3).tolist(), "trained": np.round(rt.mean(0), 3).tolist()}
    assert out.evidence["verdict_by_block"]["range"] == "supported"
    lines = out.figures["fig5_rho"].axes[0].get_lines()
    assert np.array_equal(lines[0].get_xdata(), np.arange(1, Lm1 + 1))
    assert np.array_equal(lines[0].get_ydata(), ri.mean(0)) and np.array_equal(lines[1].get_ydata(), rt.mean(0))


def test_model_misfit_is_pooled_log_one_minus_r2_away_from_zero():
    """_model_misfit on noisy panels: log(SSE / SST), SSE the squared residuals of the per-curve least-squares
    lines (closed-form OLS on x = l, log l, or of s = exp(log s) on l; l = 2..L+1), SST the squares of all the
    panel's values about their grand mean."""
    rng = np.random.default_rng(106)
    lg = -0.2 * np.arange(2, 12)[:, None] * rng.uniform(0.5, 1.5, 6) + 0.3 * rng.standard_normal((10, 6))
    l = np.arange(2, 12, dtype=np.float64)
    out = ft._model_misfit(lg)
    for name, x, y in (("affine", l, lg), ("power law", np.log(l), lg), ("linear s", l, np.exp(lg))):
        sse = 0.0
        for c in y.T:
            b = float(((x - x.mean()) * (c - c.mean())).sum() / ((x - x.mean()) ** 2).sum())
            sse += float(((c - c.mean() - b * (x - x.mean())) ** 2).sum())
        sst = float(((y - y.mean()) ** 2).sum())
        want = math.log(sse / sst)
        assert within(abs(out[name] - want), tol(y.size, kappa=float(np.linalg.cond(np.stack([np.ones_like(x), x], 1))),
                                                 scale=sst / sse, kernels=4), name)


def test_anisotropy_ladder_is_the_log_linear_spectrum(monkeypatch):
    """check_anisotropy: per draw M = Q diag(s) with s_k = exp(-t (k-1) / n), n = 64, so M M^T = Q diag(s^2) Q^T,
    and the statistic is rho of its top-left 10 x 10 block, for t in ANISO_T. Draws cycle here through three fixed
    orthogonal Q, so the mean over draws is known."""
    n, k = 64, 10
    rng = np.random.default_rng(107)
    Qs = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(3)]
    count = {"i": 0}

    def haar(n_, rng_):
        assert n_ == n
        count["i"] += 1
        return Qs[(count["i"] - 1) % 3]

    monkeypatch.setattr(fa.cst, "haar_orthogonal_np", haar)
    ctx = Context(claim_id="fig-12/anisotropy")
    out = fa.check_anisotropy(ctx, plot=False)
    S = out.evidence["samples"]
    assert S == count["i"] and out.evidence["t"] == fa.ANISO_T
    per_q = np.array([[_rho_def(((Q * np.exp(-2 * t * np.arange(n) / n)) @ Q.T)[:k, :k]) for t in fa.ANISO_T]
                      for Q in Qs])
    weights = np.array([len(range(i, S, 3)) for i in range(3)])
    want = weights @ per_q / S
    assert within(np.abs(np.array(out.evidence["mean"]) - want), tol(n, kernels=2) * k * k + _rho_tol(k), "means")


def test_mnist_settings_are_what_their_names_say():
    """The MNIST training settings' labels (printed in the method text and the evidence) name their optimizer and
    learning rate: 'SGD lr 0.1' is plain SGD at 0.1, 'Adam lr 1e-3' Adam at 1e-3; the primary is SGD."""
    for name, kw in ft.MNIST_TRAINING.items():
        opt, _, lr = name.split(" ")
        assert kw["optimizer"] == opt.lower() and kw["lr"] == float(lr), name
    assert ft.MNIST_TRAINING[ft.MNIST_PRIMARY]["optimizer"] == "sgd"
    assert ft.MNIST_TRAINING["SGD lr 0.1"].get("momentum", 0.0) == 0.0


def test_g1_init_population_uses_the_trained_statistics_window(monkeypatch):
    """The 'no cluster' reference at initialisation and the trained networks' statistics read the same top K =
    30 n / 128 singular values (the caption's 30 of n = 128, in proportion), same n, L, p."""
    seen = {}

    def pop(ctx, n, L, p, count, K_max=30):
        seen["pop"] = (n, L, p, K_max)
        return np.zeros((count, 2))

    def stats(Ws0, Ws, ds, K_max=30, k_align=10):
        seen["net"] = K_max
        return {}

    monkeypatch.setattr(ft, "init_population", pop)
    monkeypatch.setattr(ft, "net_stats", stats)
    ctx = Context(claim_id="fig-4/trained-synthetic")
    cfg = ft.g1_config(ctx)
    _fake_g1(monkeypatch, main=[(None, SimpleNamespace(Ws0=0, Ws=0, ds=0))])
    ft._g1_population(ctx)
    ft._synthetic_stats(ctx)
    K = 30 * cfg["n"] // 128
    assert seen["pop"] == (cfg["n"], cfg["L"], cfg["p"], K) and seen["net"] == K


# -- the settings encoded as constants are the ones the printed statements and readings name -------

def test_figure_constants_are_the_printed_ones():
    """FIG6 = the caption's (L, l, rho) triples; K = the '10x10' block of Figures 10-12; PANELS their columns
    p in {0.5, 1} and rows n in {64, 128}; Figure 5's p and n; L = 20 for G.2; Figure 6's blocks include 10;
    2-digit rounding is half a unit of the second digit; the G.1 configuration is the one Figure 1 prints."""
    import re

    from checks import registry

    reg = registry.load()
    st6 = reg["fig-6/quoted-0.26"].statement
    triples = [(int(a), int(b), float(c)) for a, b, c in
               re.findall(r"L = (\d+), \\ell = (\d+)\$, diagonal correlation of (\d\.\d+)", st6)]
    assert triples == fa.FIG6
    for cid in ("fig-10/u-shape", "fig-11/small-l", "fig-12/large-l"):
        st = reg[cid].statement
        blk = re.search(r"top-left (\d+)×(\d+)", st)
        assert (int(blk.group(1)), int(blk.group(2))) == (fa.K, fa.K)
        cols = [float(x) for x in re.findall(r"\$p = ([\d.]+)\$ \((?:first|second) column\)", st)]
        rows = [int(x) for x in re.findall(r"\$n = (\d+)\$ \((?:first|second) row\)", st)]
        assert sorted(fa.PANELS) == sorted((p, n) for p in cols for n in rows)
        assert f"L = {fa.G2_L}" in reg[cid].hypotheses
    assert f"p = {fa.F5_P}" in reg["fig-5/init"].hypotheses and f"n = {fa.F5_N}" in reg["fig-5/init"].hypotheses
    assert fa.ROUNDING == 0.5 * 10.0**-2 and fa.K in fa.FIG6_BLOCKS and None in fa.FIG6_BLOCKS
    assert fa.F5_AT == (1, fa.F5_L // 2, fa.F5_L - 1) and fa.G2_END == fa.G2_L - 1
    assert fa.G2_MID == (fa.G2_L // 2 - 1, fa.G2_L // 2, fa.G2_L // 2 + 1)
    for prof in ("quick", "full"):
        cfg = ft.g1_config(Context(claim_id="fig-1", profile=PROFILES[prof]))
        assert (cfg["L"], cfg["n"], cfg["rank"], cfg["p"], cfg["N"]) == (10, 64, 10, 0.5, 1000)
        assert "depth 10, width 64" in reg["fig-1"].statement and "rank-10" in reg["fig-1"].statement
    assert ft.FIG8_K_FACTOR / 2 == 2.5  # 'k < 2.5 r' (method text)


@pytest.mark.parametrize("prof", ["quick", "full"])
def test_g1_runs_train_each_kind_at_its_rate_steps_and_seeds(monkeypatch, prof):
    """g1_runs: 'main' at lr for `steps` steps recording every 10, `seeds` runs; 'fig7' at lr7 for steps7 steps
    recording every step, seeds7 runs; the probe 'fig7-lr0.05' at 0.05 (Figure 7's stated main rate) for half of
    steps7, one run; run i of every kind from the same seed derive_seed(seed, 'g1-training', i) (same task, gates
    and weights), float32 steps; cached per (seed, profile, device, kind)."""
    from checks.model import derive_seed

    calls = []
    monkeypatch.setattr(ft.dynamics, "synthetic_task", lambda n, N, rank, rng: ("task", n, N, rank, int(rng.integers(1 << 30))))
    monkeypatch.setattr(ft.dynamics, "init_masked", lambda n, L, p, sigma, gen: (("W", n, L, sigma, gen.initial_seed()), p))

    def train(Ws, ds, task, **kw):
        calls.append((Ws, ds, task, kw))
        return len(calls)

    monkeypatch.setattr(ft.dynamics, "train_gd", train)
    ctx = Context(claim_id="fig-7", seed=2, profile=PROFILES[prof])
    cfg = ft.g1_config(ctx)
    table = {"main": (cfg["lr"], cfg["steps"], 10, cfg["seeds"]), "fig7": (cfg["lr7"], cfg["steps7"], 1, cfg["seeds7"]),
             "fig7-lr0.05": (0.05, cfg["steps7"] // 2, 1, 1)}
    saved = dict(ft._CACHE)
    ft._CACHE.clear()
    try:
        for kind, (lr, steps, every, seeds) in table.items():
            calls.clear()
            runs = ft.g1_runs(ctx, kind)
            assert ft.g1_runs(ctx, kind) is runs and len(calls) == seeds == len(runs)
            for i, (W, p, task, kw) in enumerate(calls):
                sd = derive_seed(2, "g1-training", i)
                assert W == ("W", cfg["n"], cfg["L"], 1 / math.sqrt(cfg["n"]), sd) and p == cfg["p"]
                assert task == ("task", cfg["n"], cfg["N"], cfg["rank"], int(np.random.default_rng(sd).integers(1 << 30)))
                assert (kw["lr"], kw["steps"], kw["record_every"], kw["dtype"], kw["device"]) == (lr, steps, every,
                                                                                                  "float32", "cpu")
                assert runs[i] == (task, i + 1)
    finally:
        ft._CACHE.clear()
        ft._CACHE.update(saved)


def test_fig7_stats_profile_and_exponent_estimates(monkeypatch):
    """_fig7_stats per run: the open-loop misfit for every exponent 0, 0.25, ..., 3 (C fitted on the lr7 grid, both
    signs), the one-step increment exponent of s_1 against g, and the best exponent of the misfit profile."""
    runs, _ = _fig7_runs(R=3, a=1.3)
    _fake_g1(monkeypatch, fig7=runs)
    ctx = Context(claim_id="fig-7")
    st = ft._fig7_stats(ctx)
    exps = np.arange(13) * 0.25
    assert np.array_equal(st["exponents"], exps)
    cfg = ft.g1_config(ctx)
    for i, (_, run) in enumerate(runs):
        s, g = run.svals[:, 0], run.g1
        if i == 0:  # the brute force is slow in Python: one run, three exponents
            for j in (0, 5, 12):
                want = _misfit_brute(s, g, exps[j], ft._c_grid(cfg["lr7"], cfg["L"], "free"))[0]
                # d log SSE = dSSE / SSE <= 2 sqrt(T SSE) max|dx| / SSE, the iterate off by ~T eps max s (T steps)
                sse = math.exp(want) * float(np.sum((s - s.mean()) ** 2))
                kap = math.sqrt(len(s)) * float(np.max(s)) / math.sqrt(sse)
                assert within(abs(st["profile"][i, j] - want), tol(4 * len(s), kappa=kap), f"profile a={exps[j]}")
        # exact data: the slope is exact to the rounding of the increments (test_zeros_training's bound)
        ds = np.diff(s)
        t_inc = len(s) * EPS * float(np.max(s[:-1] / np.abs(ds))) / float(np.ptp(np.log(s)))
        assert within(abs(st["increment_exponent"][i] - 1.3), t_inc, "increment exponent")
        assert st["best_exponent"][i] == ft.best_exponent(exps, st["profile"][i])
        assert np.array_equal(st["profile"][i], [ft._misfit_grid(s, g, a, ft._c_grid(cfg["lr7"], cfg["L"], "free"))[0]
                                                 for a in exps])


@pytest.mark.parametrize("claim_id,pairs", [
    ("fig-10/u-shape", fa.trough(fa.G2_MID, (1, _E))), ("fig-11/small-l", fa.peak(1, (_M, _E))),
    ("fig-12/large-l", fa.peak(_E, (1, _M))), ("fig-12/separation", fa.decreasing((1, _M, _E)))])
def test_g2_claims_test_their_printed_profile(claim_id, pairs):
    """Figures 10-12's checks test the profile each reading prints: an interior minimum below both ends (10), a
    maximum at l = 1 (11), at l = L-1 (12), separation decreasing along l = 1, L/2, L-1; on the statistic their
    caption names ('gram', 'top', 'aat', 'sep'), block 10."""
    from checks import registry

    kw = registry.load()[claim_id].check.keywords
    assert kw["pairs"] == pairs
    assert kw["key"] == {"fig-10/u-shape": "gram", "fig-11/small-l": "top", "fig-12/large-l": "aat",
                         "fig-12/separation": "sep"}[claim_id]
    assert kw.get("label_k", fa.K) == fa.K


def test_fig1_plot_draws_run_0_top_15_log_singular_values(monkeypatch):
    runs = _fig1_runs()
    _fake_g1(monkeypatch, main=runs)
    out = ft._fig1_check(Context(claim_id="fig-1"), plot=True)
    lines = out.figures["fig1_log_singular_values"].axes[0].get_lines()
    run0 = runs[0][1]
    assert len(lines) == 15
    for k, ln in enumerate(lines):
        assert np.array_equal(ln.get_xdata(), run0.steps) and np.array_equal(ln.get_ydata(), np.log(run0.svals[:, k]))


def test_init_population_is_contrast_and_top_gap_of_fresh_networks(monkeypatch):
    """init_population: for `count` networks drawn in turn from the generator seeded ('init-population', n, L, p,
    count), the cluster contrast and top-gap ratio of log s_k(J), k <= min(K_max, rank J) (rank = the smallest
    gate rank)."""
    import torch as _torch

    from checks.model import derive_seed
    from theory import dynamics, fgln

    n, L, p, count, K_max = 12, 3, 0.5, 4, 8
    ctx = Context(claim_id="fig-4/trained-synthetic", seed=5)
    saved = dict(ft._CACHE)
    try:
        got = ft.init_population(ctx, n, L, p, count, K_max=K_max)
    finally:
        ft._CACHE.clear()
        ft._CACHE.update(saved)
    gen = _torch.Generator()
    gen.manual_seed(derive_seed(5, "init-population", n, L, p, count))
    assert got.shape == (count, 2)
    for i in range(count):
        Ws, ds = dynamics.init_masked(n, L, p, 1.0 / math.sqrt(n), gen)
        rank = min(int(np.count_nonzero(d)) for d in ds)
        s = np.linalg.svd(fgln.jacobian(Ws, ds), compute_uv=False)[: min(K_max, rank)]
        g = -np.diff(np.log(s))
        w = g[: max(1, len(s) - 3)]
        # each gap errs by a few ulp of max |log s| (and the SVD's relative error), so the log of a ratio of gaps by
        # that over the smallest gap
        M = float(np.max(np.abs(np.log(s))))
        assert within(abs(got[i, 0] - math.log(w.max() / np.median(w))), tol(4 * n, kappa=M / float(w.min())),
                      f"contrast {i}")
        assert got[i, 1] == ft._top_gap_ratio(np.log(s))


@pytest.mark.parametrize("prof", ["quick", "full"])
def test_panel_and_fig5_data_are_called_with_the_claims_seed_panel_and_budget(monkeypatch, prof):
    """_g2_profiles: _panel(seed, p, n, L = 20, draws, reading) per panel, draws 40 / 200 (n = 64) and 20 / 120
    (n = 128) in quick / full; _fig5_readings: _fig5_data(seed, S, reading) for both readings, S = 16 / 200."""
    calls = []
    monkeypatch.setattr(fa, "_panel", lambda *a: calls.append(("panel",) + a) or {"a": a})
    monkeypatch.setattr(fa, "_fig5_data", lambda *a: calls.append(("fig5",) + a) or {
        "rho": {k: np.zeros((1, 1)) for k in ("range", "top10", "full", "full/haar", "full/aligned")}})
    ctx = Context(claim_id="fig-11/small-l", seed=7, profile=PROFILES[prof])
    out = fa._g2_profiles(ctx, "masked")
    draws = {64: {"quick": 40, "full": 200}[prof], 128: {"quick": 20, "full": 120}[prof]}
    assert calls == [("panel", 7, p, n, fa.G2_L, draws[n], "masked") for p, n in fa.PANELS]
    assert set(out) == set(fa.PANELS)
    calls.clear()
    S, d, readings = fa._fig5_readings(Context(claim_id="fig-5/init", seed=7, profile=PROFILES[prof]))
    assert S == {"quick": 16, "full": 200}[prof]
    assert calls == [("fig5", 7, S, "fgln"), ("fig5", 7, S, "masked")] and set(d) == {"fgln", "masked"}
