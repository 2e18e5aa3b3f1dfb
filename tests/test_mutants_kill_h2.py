"""Helpers of Appendices D and E and of the G.1 trainer that mutation testing (fresh sample, seed 2) found
unguarded (issue 17, part 6).

Each test recomputes a whole helper's output (an evidence statistic, a folded error, a reported number) from
its definition, independently of the helper's own loops, so any slip in it fails here even where no claim's
verdict changes. Float comparisons use tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import within
from theory.claims import app_d, app_e

EPS = np.finfo(float).eps

_C4 = np.array([[2.0, 0.7, 0.3, 0.2], [0.7, 1.5, -0.4, 0.1], [0.3, -0.4, 1.0, -0.3], [0.2, 0.1, -0.3, 0.8]])
_CASES = [(_C4, 2, [0.0, 0.5, 1.2, 2.0], "exp"), (_C4, 3, [0.0, 0.5, 1.2, 2.0], "exp"),
          (_C4, 2, [0.0, 1.0, 2.0, 3.0], "poly"), (_C4, 3, [0.0, 0.1, 0.2, 2.0], "exp"),
          (_C4, 2, [0.2, 0.5, 1.2, 2.0], "exp"), (_C4, 2, [-0.3, 0.5, 1.2, 2.0], "exp"),  # log s_1 != 0
          (_C4, 2, [-0.6, -0.3, 1.2, 2.0], "exp")]  # log s_r > 0


# -- Lemma D.7: the printed bound's violation, brute force over (k, i, j) ------------------------------------

@pytest.mark.parametrize("bound", ["printed", "s1", "drop"])
@pytest.mark.parametrize("C, r, a, kind", _CASES)
def test_cmp_vanishing_bound_violation_is_the_max_over_all_index_triples(C, r, a, kind, bound):
    """bound_violation_log = max(0, max over rungs, k > r, i, j <= r of
    log|sigma_k| - log s_i - log s_j - rhs), log|sigma_k| = log|d_k| + 2 log s_k, with rhs the bound's right side:
    'printed' log|sigma_{r+1}| - 2 log s_r, 's1' log|sigma_{r+1}| - 2 log s_1, 'drop' log|sigma_{r+1}| - log|sigma_r|.
    Broadcast over the whole (k, i, j) cube, not the helper's loops; both the true bound (violation ~ rounding)
    and the foils (violation of order the log-gaps) are compared."""
    a = np.array(a)
    cmp = app_d.cmp_vanishing(C, r, a, kind, bound=bound)
    _, lad = app_d._p_parts_ladder(C, r, a, kind)
    want, scale = 0.0, 1.0
    for _, _, _, d, ls in lad:
        ls = np.asarray(ls, float)
        logsig = np.log(np.abs(np.asarray(d, float))) + 2 * ls
        rhs = {"printed": logsig[r] - 2 * ls[r - 1], "s1": logsig[r] - 2 * ls[0],
               "drop": logsig[r] - logsig[r - 1]}[bound]
        cube = logsig[r:len(a), None, None] - ls[None, :r, None] - ls[None, None, :r]
        fin = cube[np.isfinite(cube)]
        if fin.size:
            want = max(want, float(np.max(fin - rhs)))
        scale = max(scale, float(np.max(np.abs(logsig[np.isfinite(logsig)]))), float(np.max(np.abs(ls))))
    got = cmp.detail["bound_violation_log"]
    assert within(abs(got - want), 8 * EPS * scale, f"violation {bound}")
    if bound == "printed":
        assert cmp.ok  # Lemma D.7's printed bound holds (to rounding) on every input of Theorem D.1
    elif bound == "s1":  # s_r^2 -> s_1^2 loosens nothing: violated by the log-gap 2 (log s_1 - log s_r)
        assert want > 0.1 and not cmp.ok


# -- Theorem D.1(c): the log-log slope folded into the remainder budget --------------------------------------

@pytest.mark.parametrize("exponent", [1.0, 2.0, 0.5])
@pytest.mark.parametrize("C, r, a, kind", _CASES)
def test_cmp_entries_err_is_remainder_or_slope_deviation_over_the_last_rung(C, r, a, kind, exponent):
    """cmp_entries' err = max(remainder/(eps_L + floor) at the last two rungs, max|slope - 1|/(eps_L + floor)
    at the last rung), slope = the log-log slope of |e_j^T u_i| against exponent x log-ratio between the last two
    rungs, recomputed from the mpmath rungs; at exponent 1 (the statement) the slope is 1 (err within the
    budget), at exponent 2 / 0.5 (foils) it is 1/2 / 2 and the slope term decides err."""
    a = np.array(a)
    cmp = app_d.cmp_entries(C, r, a, kind, exponent=exponent)
    d = cmp.detail
    pred, _, rungs = app_d._ladder(C, r, a, kind)
    dev = 0.0
    for i in range(r):
        for j in range(r):
            if i == j:
                continue
            K, which = app_d._entry_constant(pred, j, i, True, "paper")
            u1, u2 = rungs[-2].eig.U[j, i], rungs[-1].eig.U[j, i]
            if abs(K) > 1e-8 and u1 != 0 and u2 != 0:
                lr = [exponent * ((rg.log_s[i] - rg.log_s[j]) if which == "si/sj" else (rg.log_s[j] - rg.log_s[i]))
                      for rg in rungs[-2:]]
                dev = max(dev, abs((math.log(abs(u2)) - math.log(abs(u1))) / (lr[1] - lr[0]) - 1))
    assert within(abs(d["max_slope_deviation"] - dev), 16 * EPS * max(dev, 1.0), "slope deviation")
    # remainder per rung: max over pairs of |e_j^T u_i / ratio^exponent - K| / (1 + |K|)
    rem = [0.0] * len(rungs)
    for i in range(r):
        for j in range(r):
            if i != j:
                K, which = app_d._entry_constant(pred, j, i, True, "paper")
                for q, rg in enumerate(rungs):
                    lr = exponent * ((rg.log_s[i] - rg.log_s[j]) if which == "si/sj" else (rg.log_s[j] - rg.log_s[i]))
                    rem[q] = max(rem[q], abs(rg.eig.U[j, i] / math.exp(lr) - K) / (1 + abs(K)))
    assert within(np.abs(np.array(d["remainder"]) - rem), 16 * EPS * (1 + np.array(rem)), "remainder per rung")
    # the rows shown: 1-based (j, i) in loop order, each with its constant and its last-rung remainder
    pairs = [(j, i) for i in range(r) for j in range(r) if j != i]
    assert [(f["j"], f["i"]) for f in d["fits"]] == [(j + 1, i + 1) for j, i in pairs][:6]
    for f, (j, i) in zip(d["fits"], pairs):
        K, which = app_d._entry_constant(pred, j, i, True, "paper")
        assert f["K_pred"] == K and f["ratio"] == which.replace("si", "s_i").replace("sj", "s_j")
    floor = d["rounding_floor"]
    assert floor > 0 and d["eps_L"][-1] == rungs[-1].eps
    want = max(max(x / (e + floor) for x, e in zip(d["remainder"][-2:], d["eps_L"][-2:])),
               dev / (rungs[-1].eps + floor))
    assert cmp.err == want or within(abs(cmp.err - want), 16 * EPS * want, "err")
    if exponent == 1.0:
        assert dev < 1e-3 and cmp.ok
    else:
        assert within(abs(dev - abs(1 / exponent - 1)), 1e-3, "foil slope") and not cmp.ok


def test_cmp_entries_with_no_pair_passes_with_zero_error():
    """r = 1: Theorem D.1(c) has no pair j != i <= r; the comparison passes with err 0 against REMAINDER_CONST."""
    from theory import alignment as al

    cmp = app_d.cmp_entries(_C4, 1, np.array([0.0, 0.5, 1.2, 2.0]), "exp")
    assert cmp.err == 0.0 and cmp.tol == al.REMAINDER_CONST and cmp.ok


# -- Appendix E: repeated singular values, the LAPACK basis's gap ------------------------------------------

class _ECtx:
    def __init__(self, seed=0):
        self.seed, self._memo = seed, {}

    def rng(self, name):
        return np.random.default_rng([self.seed, len(name)])

    def pick(self, quick=None, **_):
        return quick

    def memo(self, name, f):
        if name not in self._memo:
            self._memo[name] = f()
        return self._memo[name]


def test_repeated_check_reports_the_gaps_of_its_cases():
    """rem-e ties: the evidence's LAPACK-basis gap is max over cases and both branches of |formula in the LAPACK
    basis - one-sided right derivative|, the branch error max |Rellich formula - one-sided derivative| with the
    left ones paired to the swapped branches (the foil swap=False: in order), the differentiable error the max of
    the study's; each recomputed from the study's rows."""
    ctx = _ECtx()
    out = app_e._repeated_check(ctx)
    d = ctx._memo["ties"]
    ev = out.evidence
    cases = d["cases"]
    gap = max(abs(c["formula_lapack_basis"][b] - c["one_sided_right"][b]) for c in cases for b in (0, 1))
    scale = max(max(abs(v) for v in c["one_sided_right"] + c["formula_lapack_basis"]) for c in cases)
    assert within(abs(ev["lapack_basis_vs_one_sided_max_gap"] - gap), 4 * EPS * scale, "lapack gap")
    assert gap > 10 * app_e.TOL_KINK  # the generic direction separates the LAPACK basis from the branches
    for swap, lft in ((True, (1, 0)), (False, (0, 1))):
        o = app_e._repeated_check(ctx, swap=swap)
        f = "formula_rellich_basis"
        br = max(max(abs(c[f][b] - c["one_sided_right"][b]) for b in (0, 1)) for c in cases)
        br = max(br, max(max(abs(c[f][lft[b]] - c["one_sided_left"][b]) for b in (0, 1)) for c in cases))
        assert within(abs(o.evidence["branch_vs_one_sided_max_err"] - br), 4 * EPS * scale, "branch")
    assert out.evidence["differentiable_tie_max_err"] == max(d["differentiable_tie_err"])


# -- theory.dynamics.train_gd: the recorded wall time ------------------------------------------------------

def test_train_gd_records_its_own_wall_time():
    """GDRun.seconds is the time train_gd itself ran: non-negative and at most the wall time around the call."""
    import torch

    from theory import dynamics

    n, L = 4, 2
    task = dynamics.synthetic_task(n, 8, 2, np.random.default_rng(3))
    gen = torch.Generator()
    gen.manual_seed(3)
    Ws, ds = dynamics.init_masked(n, L, 0.5, 0.5, gen)
    t0 = time.perf_counter()
    run = dynamics.train_gd(Ws, ds, task, lr=0.01, steps=3)
    wall = time.perf_counter() - t0
    assert 0.0 <= run.seconds <= wall


# -- Figure 4 (initialization panel): the reported offsets and the per-k resolution --------------------------

class _FCtx:
    """The context methods _fig4 calls, quick sizes; ctx.t a fixed critical value."""

    def __init__(self, crit=4.0):
        self.crit, self._memo, self.calls = crit, {}, []

    def pick(self, quick=None, **_):
        return quick

    def t(self, comparisons=1, dof=1):
        self.calls.append((comparisons, dof))
        return self.crit

    def memo(self, name, f):
        if name not in self._memo:
            self._memo[name] = f()
        return self._memo[name]

    def seed_for(self, name):
        return len(name)


def fig4_frame(seed):
    """The fixed part of a synthetic Figure 4 run: a fresh _FCtx, K = 30 modes at p = 1/2, its batch m and width N,
    the depths l = 10, ..., 100, gamma_k and d_k - d_(k-1) for k = 1..K, and a generator seeded with ``seed``."""
    from theory import lyapunov
    from theory.claims import fig_depth

    ctx = _FCtx()
    K, p, m, N = 30, 0.5, fig_depth._batch(ctx), fig_depth.N
    g = np.array([fig_depth._gamma(k, p) for k in range(1, K + 1)])
    dk = np.array([lyapunov.d(k, N) - lyapunov.d(k - 1, N) for k in range(1, K + 1)])
    return ctx, K, p, m, N, list(range(10, 101, 10)), g, dk, np.random.default_rng(seed)


def fig4_std_normal(rng, m, K):
    """An m x K standard normal draw with every column shifted and scaled to sample mean 0 and SD 1 exactly."""
    z = rng.standard_normal((m, K))
    return (z - z.mean(0)) / z.std(0, ddof=1)


def fig4_curves(l, y, p):
    """The rows _fig4 reads at depth l: log s_k(B_l) for k = 1..K (``y``, m x K) and modes K+1, K+2 appended
    (l gamma_k - 1: never read)."""
    from theory.claims import fig_depth

    K = y.shape[1]
    extra = l * np.array([fig_depth._gamma(k, p) for k in (K + 1, K + 2)]) - 1.0
    return np.column_stack([y, np.tile(extra, (len(y), 1))])


def test_fig4_rows_and_resolution_are_computed_from_the_curves(monkeypatch):
    """_fig4 on synthetic log s_k(B_l) = l gamma_k + c_k(l) + noise (exactly mean-zero noise, remainders stubbed to
    R_k = 0.02 k) with c_k(100) = d_k - d_(k-1) - 0.02 and c_1(l), c_K(l) shifted by +/- delta(l) (delta(100) = 0),
    which keeps every band, the exact identity at l = 100 and every top-K sum: the claim passes (and fails where a
    remainder term is dropped or mis-signed); each row's 'offset at l = 10, 100' is the mean of log s_k - l gamma_k
    at l = 10 and at l = 100, its 'slope (affine fit)' the least-squares slope of the mean curve; each top-K sum's
    estimate the mean of sum_k (log s_k - l gamma_k) + R_K; the resolution's per-k range is
    (crit + z_0.9) SE_k / (100 |gamma_(k-1) - gamma_k|) (k = 1: the gap gamma_1 - gamma_2), from the studentised
    exact test of k at l = 100 (k = 1 has the largest SE here, so it is the range's upper end)."""
    from scipy.stats import norm

    from theory import lyapunov
    from theory.claims import fig_depth

    ctx, K, p, m, N, ells, g, dk, rng = fig4_frame(5)
    noise_scale = np.where(np.arange(K) == 0, 0.3, 0.003)
    data = {}
    for l in ells:
        z = fig4_std_normal(rng, m, K)
        c = dk - 0.02  # R_k - R_(k-1) = 0.02 (the remainder stub below)
        # k = 1 just outside its band [0, d_1] by half a critical SE at l = 10 (above) and l = 20 (below): the
        # one-sided band tests must not reject; k = K takes up the shift (its band is wide enough)
        half = 0.5 * ctx.crit * noise_scale[0] / math.sqrt(m)
        delta = {10: half, 20: -lyapunov.d(1, N) - half}.get(l, -0.3 * lyapunov.d(1, N) * (100 - l) / 90)
        c[0], c[K - 1] = c[0] + delta, c[K - 1] - delta
        data[l] = (fig4_curves(l, l * g + c + noise_scale * z, p), None)
    def fake_data(cx, pp):
        assert cx is ctx and pp == p
        return data

    def fake_remainders(cx, d, e, KK, keep):
        assert cx is ctx and d is data and e == ells and KK == K and keep.dtype == bool and keep.shape == (m,)
        return {l: {k: np.full(int(keep.sum()), 0.02 * k) for k in range(KK + 1)} for l in e}

    monkeypatch.setattr(fig_depth, "_data", fake_data)
    monkeypatch.setattr(fig_depth, "_remainders", fake_remainders)
    out = fig_depth._fig4(ctx)
    # Bonferroni share: two one-sided band tests per (k, l), one exact test per k, one top-K sum per l; m - 1 dof
    assert ctx.calls == [(2 * K * len(ells) + K + len(ells), m - 1)]
    assert out.status.passing, out.summary
    rows = out.evidence["rows"]
    assert [r["k"] for r in rows] == list(range(1, K + 1))
    for r in rows:
        k = r["k"]
        want = [float(np.mean(data[l][0][:, k - 1]) - l * g[k - 1]) for l in (10, 100)]
        got = r["offset E log s_k - l slope at l = 10, 100"]
        sc = max(abs(v) for v in want) + 100 * abs(g[k - 1])
        assert within(np.abs(np.array(got) - want), 64 * EPS * sc, f"offsets k={k}")
        # the affine fit's slope: the closed-form least-squares slope of the mean curve over l
        x = np.array(ells, float)
        y = np.array([np.mean(data[l][0][:, k - 1]) for l in ells])
        slope = float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))
        assert within(abs(r["slope (affine fit)"] - slope), 64 * EPS * (abs(y).max() / np.ptp(x) + abs(slope)), "slope")
        res = y - (y.mean() + slope * (x - x.mean()))
        assert within(abs(r["max |residual from affine fit| / range"] - np.max(np.abs(res)) / np.ptp(y)),
                      256 * EPS * abs(y).max() / np.ptp(y), "affine residual")
        assert r["band"] == [-lyapunov.d(k - 1, N), lyapunov.d(k, N)] and r["predicted slope"] == g[k - 1]
    for l, t in zip(ells, out.evidence["top-K sums"]):  # mean of sum_k (log s_k - l gamma_k) = d_K, exactly here
        tot = data[l][0][:, :K].sum(1) - l * g.sum() + 0.02 * K
        assert within(abs(t["estimate"] - tot.mean()), 64 * EPS * (abs(tot).max() + l * abs(g).sum()), "top-K")
        assert within(abs(t["prediction"] - lyapunov.d(K, N)), 0.0 * K + EPS * lyapunov.d(K, N), "d_K")
    off1 = rows[0]["offset E log s_k - l slope at l = 10, 100"]
    assert off1[0] > lyapunov.d(1, N) and off1[0] != off1[1]
    zp = float(norm.ppf(0.9))
    gaps = [abs(g[0] - g[1])] + [abs(g[k - 2] - g[k - 1]) for k in range(2, K + 1)]
    per_k = [(ctx.crit + zp) * (np.std(data[100][0][:, k], ddof=1) / math.sqrt(m)) / (100 * gaps[k]) for k in range(K)]
    assert int(np.argmax(per_k)) == 0 and max(per_k) > 0.1
    text = out.resolution.how if hasattr(out.resolution, "how") else repr(out.resolution)
    assert f"alone resolve {min(per_k):.2f}..{max(per_k):.2f} of an index" in repr(out.resolution), text
    # the power: the largest of the band tests' one-sided powers (true offsets mean - l gamma_k against the band)
    # and of the exact tests' powers at their (here zero) shifts
    from checks import stats
    from theory.claims import _ladder as lad

    pw = []
    for k in range(1, K + 1):
        lo, hi = -lyapunov.d(k - 1, N), lyapunov.d(k, N)
        for l in ells:
            y, se = data[l][0][:, k - 1], np.std(data[l][0][:, k - 1], ddof=1) / math.sqrt(m)
            o = float(np.mean(y)) - l * g[k - 1]
            pw.append(max(lad.one_sided_power(lo - o, se, ctx.crit), lad.one_sided_power(o - hi, se, ctx.crit)))
    pw.append(stats.power(0.0, 1.0, ctx.crit))
    assert within(abs(out.power - max(pw)), 64 * EPS * max(pw), "power")
    # the resolution: (crit + z_0.9) SE of the top-K sum at l = 100 over its shift
    # 100 sum_(k=2..K) (gamma_(k-1) - gamma_k) = 100 (gamma_1 - gamma_K)
    tot = data[100][0][:, :K].sum(1)
    want = (ctx.crit + zp) * (np.std(tot, ddof=1) / math.sqrt(m)) / (100 * (g[0] - g[K - 1]))
    assert within(abs(out.resolution.value - want), 64 * K * EPS * want, "resolution")
    # the plotted bands: mean +- crit SE of log s_k at each l (k = 1 the first band)
    ax = out.figures["fig4-init"].axes[0]
    verts = ax.collections[0].get_paths()[0].vertices
    y1 = {l: float(np.mean(data[l][0][:, 0])) for l in ells}
    se1 = {l: float(np.std(data[l][0][:, 0], ddof=1) / math.sqrt(m)) for l in ells}
    band = {}
    for xv, yv in verts:
        band.setdefault(int(round(xv)), []).append(float(yv))
    assert sorted(band) == ells
    for lv, ys in band.items():
        lo, hi = y1[lv] - ctx.crit * se1[lv], y1[lv] + ctx.crit * se1[lv]
        assert within(np.abs(np.array([min(ys), max(ys)]) - [lo, hi]), 64 * EPS * (abs(y1[lv]) + 1), f"band l={lv}")
