"""Figure 4 (fig_depth._fig4 and its foils, fig_training._fig4_outcome's panel) helpers that mutation testing
(fresh sample, seed 5) found unguarded (issue 17, part 6).

Each test recomputes the helper's output from its definition: the foils' predicted slopes from the exponent
vector of theory.lyapunov, the reported first violation from the synthetic curves, the trained panel from
the run's log s_k(B_l). Float comparisons use tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from checks.model import REGISTRY
from tests.conftest import within
from theory import lyapunov
from theory.claims import fig_depth, fig_training

EPS = np.finfo(float).eps


# -- Figure 4 (initialization panel): the printed slope and every foil's slope -------------------------------

def test_fig4_slopes_of_the_claim_and_its_foils_are_their_definitions():
    """fig-4 at n = 128, sigma = 1/sqrt(n): the claim's slope of log s_k(B_l) in l is gamma_k(p = 0.5); the
    foils: gamma_(k-1) (gamma_1 kept at k = 1), gamma_(k+1), 2 gamma_k (log of squared singular values) and the
    ungated gamma_k(p = 1), for every k <= 30, against the k-th entries of lyapunov.gamma(n, p, sigma, k)."""
    n, K = 128, 30
    assert fig_depth.N == n and within(abs(fig_depth.SIGMA - 1 / math.sqrt(n)), 2 * EPS / math.sqrt(n), "sigma")
    # gamma_k as the k-th entry of the top-k exponent vector (the vector's quadrature depends on its length)
    g5 = np.array([lyapunov.gamma(n, 0.5, 1 / math.sqrt(n), k)[k - 1] for k in range(1, K + 2)], float)
    g1 = np.array([lyapunov.gamma(n, 1.0, 1 / math.sqrt(n), k)[k - 1] for k in range(1, K + 2)], float)
    assert g5[0] > g5[1] > g5[K - 1] and np.all(np.abs(g1 - g5[: K + 1]) > 1e-3 * np.abs(g5).max())
    default = inspect.signature(fig_depth._fig4).parameters["slope"].default
    c = REGISTRY["fig-4"]
    assert c.check is fig_depth._fig4
    foils = {f.statement: f.check.keywords["slope"] for f in c.foils}
    assert len(foils) == 4
    want = {"default": lambda k: g5[k - 1],
            "the slopes are gamma_(k-1) (index shifted down; gamma_1 kept for k = 1)": lambda k: g5[max(k - 1, 1) - 1],
            "the slopes are gamma_(k+1) (index shifted up)": lambda k: g5[k],
            "log s_k(B_l) grows like 2 l gamma_k (the log of the squared singular values, eigenvalues of B B^T)":
                lambda k: 2 * g5[k - 1],
            "the slopes are the ungated exponents gamma_k(p = 1) (gates ignored)": lambda k: g1[k - 1]}
    fns = {"default": default, **foils}
    assert sorted(fns) == sorted(want)
    for name, f in fns.items():
        for k in range(1, K + 1):
            w = want[name](k)
            assert within(abs(float(f(k)) - w), 16 * EPS * abs(w), f"{name} k={k}")
    for f in c.foils:
        assert f.check.func is fig_depth._fig4 and set(f.check.keywords) == {"slope"} and not f.check.args


# -- Figure 4 (initialization panel): the summary of a refuted panel ------------------------------------------

# a synthetic Figure 4 run (the context _fig4 calls, depths, exponents, exact-moment noise, modes past K): shared with the h2 tests
from test_mutants_kill_h2 import fig4_curves, fig4_frame, fig4_std_normal  # noqa: E402


def _run_fig4(monkeypatch, shift):
    """_fig4 on synthetic log s_k(B_l) = l gamma_k + d_k - d_(k-1) - 0.02 + small exactly-standardised noise,
    remainders R_k = 0.02 k (so every band, exact test and top-K sum holds), plus shift[(k, l)] added."""
    ctx, K, p, m, _, ells, g, dk, rng = fig4_frame(11)
    data = {}
    for l in ells:
        z = fig4_std_normal(rng, m, K)
        c = dk - 0.02
        for (k, ll), s in shift.items():
            if ll == l:
                c[k - 1] += s
        data[l] = (fig4_curves(l, l * g + c + 0.003 * z, p), None)
    monkeypatch.setattr(fig_depth, "_data", lambda cx, pp: data)
    monkeypatch.setattr(fig_depth, "_remainders", lambda cx, d, e, KK, keep: {
        l: {k: np.full(int(keep.sum()), 0.02 * k) for k in range(KK + 1)} for l in e})
    return fig_depth._fig4(ctx), data, g, m


def test_fig4_refuted_summary_reports_the_first_violation(monkeypatch):
    """A shift of log s_1(B_10) by +1 (far above its band [-d_0, d_1] = [0, d_1]) and, separately, of
    log s_1(B_100) by -0.05 (inside the band, but off the exact identity's d_1 - d_0 by ~100 SE): the claim is
    refuted and the summary names the first violation in (k, l) order with its offset (mean of log s_1 - l gamma_1),
    SE, and the band's two ends, or the exact identity's prediction d_1 - d_0; the violations' evidence agrees."""
    from checks.model import Status

    N = fig_depth.N
    d1 = lyapunov.d(1, N)
    assert lyapunov.d(0, N) == 0 and d1 > 0.1
    # a band violation first
    out, data, g, m = _run_fig4(monkeypatch, {(1, 10): 1.0})
    assert out.status == Status.REFUTED and out.resolution is None
    y = data[10][0][:, 0]
    off, se = float(np.mean(y) - 10 * g[0]), float(np.std(y, ddof=1) / math.sqrt(m))
    v = out.evidence["violations"][0]
    assert (v["k"], v["l"], v["test"]) == (1, 10, "band") and v["band"] == [-lyapunov.d(0, N), d1]
    assert within(abs(v["offset"] - off), 64 * EPS * (abs(off) + 10 * abs(g[0])), "offset")
    assert within(abs(v["se"] - se), 64 * EPS * se + 64 * EPS * abs(off), "se")
    n_viol = len(out.evidence["violations"])
    want = (f"{n_viol} tests reject l * slope + offset, e.g. k = 1, l = 10 (band): offset {off:.2f} ± {se:.2f} vs "
            f"band [{-lyapunov.d(0, N):.2f}, {d1:.2f}]")
    assert out.summary == want, out.summary
    # an exact-identity violation first (inside the band at l = 100)
    out, data, g, m = _run_fig4(monkeypatch, {(1, 100): -0.05})
    assert out.status == Status.REFUTED
    v = out.evidence["violations"][0]
    assert (v["k"], v["l"], v["test"]) == (1, 100, "exact identity") and "band" not in v
    y = data[100][0][:, 0] + 0.02  # + R_1 - R_0
    off = float(np.mean(y) - 100 * g[0])
    assert within(abs(v["offset"] - off), 64 * EPS * (abs(off) + 100 * abs(g[0])), "exact offset")
    assert within(abs(v["predicted"] - d1), 4 * EPS * d1, "prediction d_1 - d_0")
    assert out.summary.startswith(f"{len(out.evidence['violations'])} tests reject l * slope + offset, e.g. k = 1, "
                                  f"l = 100 (exact identity): offset {off:.2f} ± ")
    assert out.summary.endswith(f" vs {d1:.2f}"), out.summary


# -- Figure 4 (trained panel): the plotted panel is run 0's curves l -> log s_k(B_l) ---------------------------

def test_fig4_trained_panel_plots_run_zeros_curves_in_one_full_panel():
    """_fig4_outcome(plot=True): one figure with a single full-size panel (a 1 x 1 grid, so the axes fill the
    figure's subplot area), one line per k whose points are (l, log s_k(B_l)) of run 0 at l = 2, ..., L+1
    (row i of logs_B is l = i + 2), for every k <= K; the other runs are not drawn."""
    from checks.model import Context

    rng = np.random.default_rng(3)
    L, K = 6, 5
    stats = []
    for _ in range(4):
        logs_B = np.cumsum(rng.standard_normal((L, K)), 0) - np.arange(K)[None, :]
        logs_J = -np.sort(rng.random(K + 4))[::-1].cumsum()
        tr = {"misfit": {m: -3.0 + rng.standard_normal() for m in fig_training.MODELS}, "contrast": 1.0 + rng.random(),
              "top_gap_ratio": 0.5 + rng.random(), "logs_J": logs_J, "logs_B": logs_B, "largest_gap": 1.0,
              "largest_gap_after_k": 2}
        stats.append({"K": K, "init": tr, "trained": tr})
    pop = np.stack([0.5 + 0.1 * rng.standard_normal(20), 0.3 + 0.1 * rng.standard_normal(20)], 1)
    out = fig_training._fig4_outcome(Context(claim_id="fig-4/trained-synthetic"), stats, pop, "", plot=True)
    fig = out.figures["fig4_trained_B_spectra"]
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_subplotspec().get_geometry() == (1, 1, 0, 0)
    sp = fig.subplotpars  # the panel spans the whole subplot area
    box = ax.get_position()
    for got, want in ((box.x0, sp.left), (box.x1, sp.right), (box.y0, sp.bottom), (box.y1, sp.top)):
        assert within(abs(got - want), 8 * EPS, "panel extent")
    lines = ax.get_lines()
    assert len(lines) == K
    lg = stats[0]["trained"]["logs_B"]
    for k, ln in enumerate(lines):
        assert np.array_equal(np.asarray(ln.get_xdata(), float), np.arange(2.0, L + 2.0))
        assert np.array_equal(np.asarray(ln.get_ydata(), float), lg[:, k])


# -- Figures 2, 3 and 9: every foil is the claim's own check with only the constant changed -----------------

def _want_constant(statement):
    """The first-order constant a foil's statement names, as a function of (k, n), from lyapunov.d."""
    dd = lambda k, n: lyapunov.d(k, n) - lyapunov.d(k - 1, n)  # noqa: E731
    if "printed" in statement:
        return lambda k, n: -dd(k, n)
    if "1.5 (d_" in statement:
        return lambda k, n: 1.5 * dd(k, n)
    if "/(2L)" in statement:
        return lambda k, n: 0.5 * dd(k, n)
    if "+ 2 (d_" in statement:
        return lambda k, n: 2 * dd(k, n)
    if "d_k/L (d_k for" in statement:
        return lambda k, n: lyapunov.d(k, n)
    raise AssertionError(statement)


def test_fig2_fig3_fig9_foils_change_only_the_constant_and_it_is_their_statement():
    """For fig-2 (k = 1), fig-3 (top 64) and fig-9 (top 30): the printed check uses d_(k-1) - d_k (fig-9 reads
    the caption with the derived sign d_k - d_(k-1)), the corrected check d_k - d_(k-1); each foil is the same
    function with the same k range and name as the check it foils, and its constant is the one its statement
    names (sign flipped, x 1.5 (size 0.5 relative), x 1/2, x 2, d_k), at every k it reads, n = 128."""
    import functools

    n = fig_depth.N
    dd = lambda k: lyapunov.d(k, n) - lyapunov.d(k - 1, n)  # noqa: E731
    for cid, kmax in (("fig-2", 1), ("fig-3", 64), ("fig-9", 30)):
        c = REGISTRY[cid]
        base = c.corrected if c.corrected is not None else c
        ref = base.check
        rfunc = ref.func if isinstance(ref, functools.partial) else ref
        rkw = dict(ref.keywords) if isinstance(ref, functools.partial) else {}
        if cid != "fig-2":
            assert rkw.get("kmax") == kmax and str(kmax) in c.statement
        default = inspect.signature(rfunc).parameters["constant"].default
        assert "constant" not in rkw
        for k in range(1, kmax + 1):
            assert within(abs(default(k, n) - dd(k)), 4 * EPS * abs(dd(k)), f"{cid} corrected k={k}")
        if c.corrected is not None:  # the printed check: the printed sign
            pc = c.check
            pkw = dict(pc.keywords) if isinstance(pc, functools.partial) else {}
            assert (pc.func if isinstance(pc, functools.partial) else pc) is rfunc
            assert {kk: v for kk, v in pkw.items() if kk != "constant"} == rkw
            for k in range(1, kmax + 1):
                assert within(abs(pkw["constant"](k, n) + dd(k)), 4 * EPS * abs(dd(k)), f"{cid} printed k={k}")
        assert len(base.foils) >= 4
        for f in base.foils:
            assert f.check.func is rfunc and not f.check.args
            kw = dict(f.check.keywords)
            fc = kw.pop("constant")
            assert kw == rkw, (cid, f.statement)
            want = _want_constant(f.statement)
            for k in range(1, kmax + 1):
                w = want(k, n)
                assert within(abs(fc(k, n) - w), 4 * EPS * abs(w), f"{cid} {f.statement} k={k}")
            if f.nearest:
                assert f.unit == "relative" and within(abs(fc(1, n) / dd(1) - 1 - f.size), 4 * EPS, "size")


# -- Figure 4 (trained panel, MNIST): the initialisation reference is the trained networks' own architecture --

def test_fig4_mnist_init_population_matches_the_claims_networks(monkeypatch):
    """_fig4_mnist compares the trained networks with independent networks at initialisation of the claim's
    hypotheses (square FGLN n = 128, L = 10, p = 0.5, read from the registered claim's text), as many as
    mnist_config's 'population', and passes that population unchanged to _fig4_outcome with the run's stats."""
    import re

    from checks.model import Context

    c = REGISTRY["fig-4/trained"]
    assert c.check is fig_training._fig4_mnist
    hyp = re.search(r"n = (\d+), L = (\d+), p = ([0-9.]+)", c.hypotheses[0])
    n, L, p = int(hyp.group(1)), int(hyp.group(2)), float(hyp.group(3))
    ctx = Context(claim_id="fig-4/trained")
    calls, pop = [], np.arange(6.0).reshape(3, 2)
    sentinel_stats, sentinel_out = object(), object()

    def fake_pop(cx, *args, **kw):
        calls.append((cx, args, kw))
        return pop

    def fake_outcome(cx, stats, pp, setting, **kw):
        assert cx is ctx and stats is sentinel_stats and pp is pop and setting == "S" and kw == {"plot": False}
        return sentinel_out

    def fake_mnist(cx, decide, **kw):
        assert cx is ctx and kw == {"plot": False}
        return decide(cx, sentinel_stats, "S", **kw)

    monkeypatch.setattr(fig_training, "init_population", fake_pop)
    monkeypatch.setattr(fig_training, "_fig4_outcome", fake_outcome)
    monkeypatch.setattr(fig_training, "_mnist_outcome", fake_mnist)
    assert fig_training._fig4_mnist(ctx, plot=False) is sentinel_out
    assert len(calls) == 1
    cx, args, kw = calls[0]
    got = dict(zip(("n", "L", "p", "count", "K_max"), args), **kw)
    assert cx is ctx and got.get("K_max", 30) == 30
    assert (got["n"], got["L"], got["p"], got["count"]) == (n, L, p, fig_training.mnist_config(ctx)["population"])


# -- Figure 7: R^2 of inexact fits, from its definition -------------------------------------------------------

def test_fig7_r2_of_inexact_fits_is_one_minus_sse_over_sst(monkeypatch):
    """Runs whose s_1 is the printed iterate (a = 2 - 2/L) plus a visible perturbation, so no C fits exactly:
    each run's R^2 is 1 - SSE/SST of the best C on the check's grid, SSE of the iterate written out step by step
    (tests.conftest.fig7_iterate) against s_1(1..T), SST of s_1 about its mean; reported rounded to 4 decimals
    (so compared to half a unit of the 4th decimal), and their mean in the summary to 3 decimals."""
    from types import SimpleNamespace

    from checks.model import Context
    from tests.conftest import fig7_iterate

    ctx = Context(claim_id="fig-7")
    cfg = fig_training.g1_config(ctx)
    L, lr = cfg["L"], cfg["lr7"]
    a = 2 - 2 / L
    grid = fig_training._c_grid(lr, L, "free")
    rng = np.random.default_rng(17)
    T, runs, want = 40, [], []
    for i in range(4):
        g = -np.exp(-np.arange(T) / 12.0) * (1 + 0.2 * rng.standard_normal(T))
        C = float(grid[np.argmin(np.abs(grid + (0.003 + 0.001 * i)))])
        s1 = fig7_iterate(0.3 + 0.05 * i, g, C, a)
        s1 = s1 + 0.1 * np.ptp(s1) * np.sin(np.arange(T + 1) * (0.7 + 0.1 * i))
        s1[0] = 0.3 + 0.05 * i
        runs.append((None, SimpleNamespace(svals=np.stack([s1, 0.5 * s1[::-1]], 1), g1=g, steps=np.arange(T + 1))))
        sst = float(np.sum((s1 - s1.mean()) ** 2))
        best = math.inf
        for c in grid:
            with np.errstate(all="ignore"):
                tr = fig7_iterate(s1[0], g, float(c), a)
            if np.all(np.isfinite(tr)) and np.all(tr[1:] > 0) and np.all(tr <= 1e6):
                best = min(best, float(np.sum((tr[1:] - s1[1:]) ** 2)))
        want.append(1 - best / sst)
    assert 0.0 < min(want) and max(want) < 0.999
    monkeypatch.setattr(fig_training, "g1_runs", lambda cx, kind="main": runs)
    out = fig_training._fig7_check(ctx, plot=False)
    got = out.evidence["R2_by_run"]
    assert len(got) == len(want)
    for gv, wv in zip(got, want):
        assert within(abs(gv - wv), 0.5e-4 + 64 * T * EPS, "R^2 (4 decimals)")
    assert f"mean R^2 = {np.mean(want):.3f} (min {np.min(want):.3f})" in out.summary, out.summary
