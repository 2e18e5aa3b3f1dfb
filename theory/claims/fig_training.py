"""Training experiments: Figure 1 (Section 1), Figures 7 and 8 (Appendix G.1), and the trained panels
of Figures 4 and 5 (Section 8) — on MNIST when a local copy is given, and on the G.1 synthetic task.

G.1 setting: square FGLN, unconditioned p-gates (p = 0.5), sigma-Ginibre weights with sigma = 1/sqrt(n)
(Section 8's choice; G.1 does not state sigma), N Gaussian inputs labelled by a fixed rank-r linear map
T = P Q^T / n, loss 1/(2N) ||J X - Y||^2, plain full-batch gradient descent, n = 64, L = 10, N = 1000,
r = 10; steps in float32 (~1 ms each; spectra in float64). lr = 0.05 for 2000 (quick, 10 runs) / 3000
(full, 12 runs) steps; Figure 7 uses lr = 0.02 (300 / 400 steps, every step recorded; 16 / 24 runs), because
at lr = 0.05 the discrete steps visibly depart from the flow (full-profile probe).

MNIST setting (Section 8): see ``MNIST_SETTING`` and :func:`mnist_config`.

Statistics: every verdict is decided by Student t-tests over independent training runs (seeds), at the
claim's Bonferroni level split over the tests of the check (``ctx.t``): a run is the unit, so the
tests need no assumption about how the curves of one network depend on each other, and the t quantile
(not the normal one) keeps the false-alarm rate at ``ctx.alpha`` for a handful of runs. Fixed cuts such
as "R^2 >= 0.9" belong to a reading and are compared with the mean over runs by the same test, never
required of every single run (issue 10: one run of 24 had median R^2 0.865).

Resolution (issue 17): each passing verdict tells its statement from the nearest plausible slip - the
neighbouring index or r (fig-1: s_9/s_10 and s_11/s_12; fig-8: top 9 and top 11, through the edge of the
training's impact; fig-4 on G.1: clusters after k = 9 and 11), the neighbouring cluster count (fig-4: three),
the neighbouring clause (fig-5: amplified but not spread out). Figure 7's shape test passes every exponent
0.5..2.25, so its exponent is estimated from the steps and tested two-sided: it is about 1.2, not 2 - 2/L
(refuted, minor; see the claim).

Training runs are shared by the claims of this module through a cache keyed by (seed, profile,
device); their seeds derive from the global seed and fixed stream names ("g1-training",
"mnist-training"), so they do not depend on which claim runs first.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from checks import Foil, Kind, Outcome, Resolution, Severity, Status, claim
from checks import stats as cstats
from checks.model import derive_seed
from theory import dynamics, fgln

_CACHE: dict = {}


# ---------------------------------------------------------------------------------------------
# tests over runs
# ---------------------------------------------------------------------------------------------
def _seed_test(name: str, x, crit: float, *, sign: int = +1, threshold: float = 0.0, se_extra: float = 0.0):
    """t-test of the mean over runs of ``x`` against ``threshold``.

    ``sign``: what the statement predicts, +1 mean > threshold, -1 mean < threshold, 0 mean = threshold.
    ``agrees``: significantly of the predicted sign (or, for 0, not significantly different);
    ``contradicts``: significantly of the other sign (for 0: significantly different).
    ``se_extra``: the standard error of an estimated threshold (added in quadrature).
    """
    x = np.asarray(x, dtype=np.float64)
    m, se = cstats.mean_se(x)
    # the rounding error of the mean (<= n eps max|x|) as a floor: runs that agree to the last bit must not
    # make a rounding-level difference from the threshold 'significant'
    se = math.hypot(se, se_extra, x.size * np.finfo(np.float64).eps * float(np.max(np.abs(x), initial=0.0)))
    d = m - threshold
    t = d / se if se > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
    if sign == 0:
        agrees, contradicts = abs(t) <= crit, abs(t) > crit
    else:
        agrees, contradicts = sign * t > crit, sign * t < -crit
    return {"name": name, "predicted": {1: "> ", -1: "< ", 0: "= "}[sign] + f"{threshold:.4g}",
            "estimate": m, "se": se, "t": t, "t_crit": crit, "runs": int(x.size), "agrees": bool(agrees),
            "contradicts": bool(contradicts), "per_run": np.round(x, 4).tolist(), "_sign": sign,
            "_delta": d}


def _test_power(tst) -> float:
    """Probability that this test contradicts its prediction, at its budget, if the truth is the
    estimate (normal approximation of the t statistic; the check's verdict on a foil)."""
    from scipy.stats import norm

    d, se, c, s = tst["_delta"], tst["se"], tst["t_crit"], tst["_sign"]
    if se <= 0:
        return 1.0 if tst["contradicts"] else 0.0
    if s == 0:
        return cstats.power(d, se, c)
    return float(norm.cdf(-c - s * d / se))


def _decide(tests) -> tuple[Status, float | None]:
    """Refuted if any test contradicts, supported if all agree, else inconclusive; with the power of the
    check against this form (the largest power of a contradicting test)."""
    bad = [t for t in tests if t["contradicts"]]
    if bad:
        return Status.REFUTED, cstats.power_any([_test_power(t) for t in bad])
    return (Status.SUPPORTED if all(t["agrees"] for t in tests) else Status.INCONCLUSIVE), None


def _public(tests):
    return [{k: v for k, v in t.items() if not k.startswith("_")} for t in tests]


def _line(tests) -> str:
    return "; ".join(f"{t['name']}: {t['estimate']:.3g} +- {t['se']:.2g} (t = {t['t']:.1f}, crit {t['t_crit']:.1f})"
                     for t in tests)


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


# ---------------------------------------------------------------------------------------------
# G.1 training runs
# ---------------------------------------------------------------------------------------------
def g1_config(ctx) -> dict:
    return ctx.pick(quick=dict(n=64, L=10, N=1000, rank=10, p=0.5, lr=0.05, steps=2000, seeds=10,
                               lr7=0.02, steps7=300, seeds7=16),
                    full=dict(n=64, L=10, N=1000, rank=10, p=0.5, lr=0.05, steps=3000, seeds=12,
                              lr7=0.02, steps7=400, seeds7=24))


def g1_runs(ctx, kind: str = "main") -> list:
    """[(task, GDRun)] for the profile's seeds (cached). kind: 'main' (spectrum every 10 steps),
    'fig7' (smaller rate, every step), 'fig7-lr0.05' (probe: the main rate, every step)."""
    import torch

    cfg = g1_config(ctx)
    lr, steps, every, seeds = {"main": (cfg["lr"], cfg["steps"], 10, cfg["seeds"]),
                               "fig7": (cfg["lr7"], cfg["steps7"], 1, cfg["seeds7"]),
                               "fig7-lr0.05": (0.05, cfg["steps7"] // 2, 1, 1)}[kind]
    key = (ctx.seed, ctx.profile.name, ctx.device, kind)
    if key not in _CACHE:
        runs = []
        for i in range(seeds):
            # the same task, gates and initial weights for every kind of run
            sd = derive_seed(ctx.seed, "g1-training", i)
            rng = np.random.default_rng(sd)
            # initial draws on the CPU generator: identical networks whatever device trains them
            gen = torch.Generator()
            gen.manual_seed(sd)
            task = dynamics.synthetic_task(cfg["n"], cfg["N"], cfg["rank"], rng)
            Ws, ds = dynamics.init_masked(cfg["n"], cfg["L"], cfg["p"], 1.0 / np.sqrt(cfg["n"]), gen)
            # float32 steps: half the cost (spectra are recorded in float64)
            runs.append((task, dynamics.train_gd(Ws, ds, task, lr=lr, steps=steps, device=ctx.device,
                                                 record_every=every, dtype="float32")))
        _CACHE[key] = runs
    return _CACHE[key]


def _cfg_text(ctx) -> str:
    c = g1_config(ctx)
    return (f"G.1 task: n = {c['n']}, L = {c['L']}, p = {c['p']}, N = {c['N']} Gaussian inputs, rank-{c['rank']} "
            f"target T = P Q^T / n, sigma = 1/sqrt(n), MSE, plain full-batch GD lr = {c['lr']}, {c['steps']} steps "
            f"(spectrum recorded every 10 steps), {c['seeds']} independent runs (task, gates and weights; "
            f"profile {ctx.profile.name}); steps in float32 arithmetic, spectra in float64.")


STATS_NOTE = (" Decision: Student t-tests over the independent runs (df = runs - 1) at the claim's Bonferroni "
              "level split over the tests listed in the evidence; supported when every test is significant in "
              "the predicted direction, refuted when one is significant in the other.")


# ---------------------------------------------------------------------------------------------
# Figure 1
# ---------------------------------------------------------------------------------------------
def _fig1_stats(ctx) -> dict:
    cfg = g1_config(ctx)
    r, K = cfg["rank"], 15
    gains, orders, rel, rows = [], [], [], []
    for task, run in g1_runs(ctx):
        sT = np.linalg.svd(task.T, compute_uv=False)
        S = run.svals
        lg0, lg1 = np.log(S[0][:K + 1]), np.log(S[-1][:K + 1])
        # growth of each consecutive log-ratio log(s_k / s_(k+1)), k = 1..15, from init to the end
        gains.append((lg1[:-1] - lg1[1:]) - (lg0[:-1] - lg0[1:]))
        reached = S[:, :r] >= 0.5 * sT[:r]
        t_half = np.where(reached.any(0), run.steps[np.argmax(reached, 0)], run.steps[-1] + 1)
        orders.append(_spearman(np.arange(r), t_half))
        rel.append(float(np.max(np.abs(S[-1][:r] / sT[:r] - 1))))
        rows.append({"t_half_by_k": t_half.tolist(), "max_rel_err_top_r_vs_target": rel[-1]})
    return {"gain": np.array(gains), "order": np.array(orders), "rel": np.array(rel), "rows": rows}


def _fig1_check(ctx, *, r_sep: int | None = None, order: int = +1, plot: bool = True) -> Outcome:
    """``r_sep``: the rank at which the leading singular values separate (printed: the task's rank);
    ``order``: +1 larger modes learned first, 0 all at once, -1 smaller first."""
    from matplotlib.figure import Figure

    cfg = g1_config(ctx)
    r = cfg["rank"]
    r_sep = r if r_sep is None else r_sep
    st = ctx.memo("fig1-stats", lambda: _fig1_stats(ctx))
    g = st["gain"]
    others = np.delete(g, r_sep - 1, axis=1).max(1)
    crit = ctx.t(2, len(g) - 1)
    tests = [
        _seed_test(f"growth of log(s_{r_sep}/s_{r_sep + 1}) minus the largest growth of another log(s_k/s_k+1), "
                   f"k <= 15", g[:, r_sep - 1] - others, crit, sign=+1),
        _seed_test(f"Spearman(k, first step with s_k >= s_k(T)/2), k <= {r}", st["order"], crit, sign=order),
    ]
    status, power = _decide(tests)
    figures = {}
    if plot:
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot(111)
        _, run = g1_runs(ctx)[0]
        for k in range(min(15, run.svals.shape[1])):
            ax.plot(run.steps, np.log(run.svals[:, k]), color=(k / 15, 0.3, 1 - k / 15), lw=0.9)
        ax.set_xlabel("GD step")
        ax.set_ylabel("log s_k(J), k = 1..15")
        ax.set_title("Figure 1 analogue (run 0)")
        figures["fig1_log_singular_values"] = fig
    return Outcome(
        status,
        f"{status.value}: {_line(tests)}; top-{r} s_k end within {np.median(st['rel']):.1e} (median over runs) "
        f"of the target's",
        evidence={"tests": _public(tests), "separation_rank": r_sep, "order_predicted": order,
                  "growth_of_log_gaps_mean_by_k": np.round(g.mean(0), 3).tolist(),
                  "max_rel_err_top_r_vs_target_by_run": np.round(st["rel"], 6).tolist(), "per_run": st["rows"]},
        method=_cfg_text(ctx) + " 'Leading singular values separate' is read as: the separation s_k/s_(k+1) that "
               "sharpens most during training is the one at the task's rank (per run, the growth of "
               f"log(s_{r}/s_{r + 1}) from init to the end minus the largest growth among the other k <= 15). 'Evolve in "
               "a structured manner' as: the modes are learned in order, largest first (per run, Spearman correlation "
               "of k with the first recorded step where s_k reaches half the target's s_k(T), k <= r; a mode never "
               "reached ranks last). How close the top-r values end to the target's is reported, not decided."
               + STATS_NOTE,
        figures=figures,
        power=power,
    )


_fig1_foil = functools.partial(_fig1_check, plot=False)

claim(
    id="fig-1",
    ref="Figure 1 and Section 1",
    section="Section 1",
    statement=r"""Figure 1. Evolution of the top-15 Jacobian log-singular values during training of a fixed-gates linear network (depth 10, width 64) on a synthetic rank-10 regression task. Inputs are Gaussian and targets are generated by a fixed random linear map of rank 10. Colors index order: brighter curves correspond to larger singular values (from s_1 to s_{15}).

Figure 1 illustrates this phenomenon in a controlled fixed-gates linear network trained on a rank-10 synthetic task, where leading Jacobian singular values separate and evolve in a structured manner.""",
    reading="The phenomenon the sentence refers to is the one just before it (Section 1): 'spectral separation, in the "
            "sense that ratios between consecutive ordered singular values increase, and it can sharpen during "
            "training'. On the rank-10 task (Appendix G.1: 'depth L = 10, width n = 64 ... p = 0.5 ... 1000 random "
            "input gaussian vectors ... a fixed random linear map of rank 10'), 'leading singular values separate' = "
            "the consecutive ratio that sharpens most during training is s_10/s_11, at the task's rank; 'evolve in a "
            "structured manner' = the ten leading modes are learned in order, largest first. Both as means over "
            "independent runs.",
    hypotheses=("FGLN depth 10, width 64, p = 0.5 gates", "rank-10 linear target, Gaussian inputs"),
    exercises="independent runs (task, gates and weights); the growth of every consecutive ratio k <= 15.",
    kind=Kind.FIGURE,
    check=_fig1_check,
    foils=(
        Foil("the leading singular values separate at half the task's rank: s_5/s_6 sharpens most",
             functools.partial(_fig1_foil, r_sep=5), kind="halved constant"),
        Foil("the separation is after the (r-1)-th singular value: s_9/s_10 sharpens most",
             functools.partial(_fig1_foil, r_sep=9), kind="shifted index", nearest=True, size=1, unit="index"),
        Foil("the separation is after the (r+1)-th singular value: s_11/s_12 sharpens most",
             functools.partial(_fig1_foil, r_sep=11), kind="shifted index", nearest=True, size=1, unit="index"),
        Foil("the leading modes are learned simultaneously (no order: Spearman(k, t_half) = 0)",
             functools.partial(_fig1_foil, order=0), kind="dropped structure"),
    ),
)


# ---------------------------------------------------------------------------------------------
# Figure 7
# ---------------------------------------------------------------------------------------------
def _misfit_grid(s, g, a: float, grid) -> tuple[float, float, np.ndarray]:
    """Open-loop iterate s(t+1) = s(t) + C s(t)^a g(t), driven by the measured g, for every C in ``grid`` at
    once; returns (log(SSE / SST) of the best C, the best C, its trajectory). A diverging or negative
    iterate has SSE = inf."""
    s = np.asarray(s, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    x = np.full(grid.size, s[0])
    sse = np.zeros(grid.size)
    bad = np.zeros(grid.size, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(len(s) - 1):
            x = x + grid * x ** a * g[t]
            bad |= ~np.isfinite(x) | (x <= 0) | (x > 1e6)
            x = np.where(bad, s[0], x)
            sse += (x - s[t + 1]) ** 2
    sse[bad] = np.inf
    j = int(np.argmin(sse))
    C = float(grid[j])
    tr = np.empty(len(s))
    tr[0] = s[0]
    for t in range(len(s) - 1):
        tr[t + 1] = tr[t] + C * tr[t] ** a * g[t]
    sst = float(np.sum((s - s.mean()) ** 2))
    return float(np.log(sse[j] / sst)) if np.isfinite(sse[j]) else math.inf, C, tr


def _c_grid(lr: float, L: int, c_sign: str) -> np.ndarray:
    mags = lr * L * np.geomspace(1e-2, 1e2, 500)
    return {"free": np.concatenate([-mags[::-1], mags]), "+": mags}[c_sign]


def fit_fig7(s, g, L, lr, a=None, c_sign="free"):
    """The fitted iterate of Appendix G.1 for one run: C, C/(-lr L), R^2, and the trajectory."""
    a = 2 - 2 / L if a is None else a
    m, C, tr = _misfit_grid(s, g, a, _c_grid(lr, L, c_sign))
    return {"C": C, "C/(-lr L)": C / (-lr * L), "R2": 1 - math.exp(m)}, tr


def _fig7_stats(ctx) -> dict:
    cfg = g1_config(ctx)
    L, lr = cfg["L"], cfg["lr7"]
    exps = np.round(np.arange(0.0, 3.01, 0.25), 2)
    prof, inc = [], []
    for _, run in g1_runs(ctx, "fig7"):
        s, g = run.svals[:, 0], run.g1
        prof.append([_misfit_grid(s, g, a, _c_grid(lr, L, "free"))[0] for a in exps])
        inc.append(increment_exponent(s, g))
    prof = np.array(prof)
    return {"exponents": exps, "profile": prof, "increment_exponent": np.array(inc),
            "best_exponent": np.array([best_exponent(exps, row) for row in prof])}


def increment_exponent(s, g) -> float:
    """The exponent a of the iterate s(t+1) = s(t) + C s(t)^a g(t) that one run's steps follow: the slope of
    the least-squares line of log(-(s(t+1) - s(t)) / g(t)) = log(-C) + a log s(t), over the steps where the
    increment has the sign of -g (C < 0, gradient descent) and |g| is not negligible (> 1e-3 max |g|).
    Exact (to rounding) on data generated by the iterate itself; nan with fewer than 3 usable steps."""
    s, g = np.asarray(s, dtype=np.float64), np.asarray(g, dtype=np.float64)
    ds, x, gg = np.diff(s), s[:-1], g[: len(s) - 1]
    ok = (ds * gg < 0) & (np.abs(gg) > 1e-3 * np.abs(gg).max()) & (x > 0)
    if ok.sum() < 3:
        return math.nan
    return float(np.polyfit(np.log(x[ok]), np.log(-ds[ok] / gg[ok]), 1)[0])


def best_exponent(exps, misfit) -> float:
    """The exponent of least open-loop misfit (C fitted for each), refined by the parabola through the best
    grid point and its neighbours (the grid end where the minimum sits at an end)."""
    exps, misfit = np.asarray(exps, dtype=np.float64), np.asarray(misfit, dtype=np.float64)
    j = int(np.argmin(misfit))
    if j == 0 or j == len(exps) - 1 or not np.all(np.isfinite(misfit[j - 1:j + 2])):
        return float(exps[j])
    y0, y1, y2 = misfit[j - 1:j + 2]
    h = exps[j + 1] - exps[j]
    den = y0 - 2 * y1 + y2
    return float(exps[j] + (0.5 * h * (y0 - y2) / den if den > 0 else 0.0))


def _fig7_check(ctx, *, a: float | None = None, c_sign: str = "free", plot: bool = True) -> Outcome:
    """``a``: the exponent of s in the iterate (printed 2 - 2/L); ``c_sign``: C fitted over both signs
    ('free', the printed 'fine tuned scaling factor') or restricted to C > 0 ('+')."""
    from matplotlib.figure import Figure

    cfg = g1_config(ctx)
    L, lr = cfg["L"], cfg["lr7"]
    a = 2 - 2 / L if a is None else a
    runs = g1_runs(ctx, "fig7")
    fits = ctx.memo(("fig7-fit", a, c_sign),
                    lambda: [_misfit_grid(run.svals[:, 0], run.g1, a, _c_grid(lr, L, c_sign)) for _, run in runs])
    m = np.array([f[0] for f in fits])
    # no finite iterate at all (+inf from _misfit_grid; nan): far worse than any threshold. An exact fit
    # (SSE = 0, log = -inf) is the best fit, R^2 = 1, and stays -inf
    m = np.where(np.isnan(m) | (m == math.inf), 10.0, m)
    crit = ctx.t(2, len(m) - 1)
    prof = ctx.memo("fig7-profile", lambda: _fig7_stats(ctx))
    inc = prof["increment_exponent"]
    # relative RMS error sqrt(1 - R^2) = sqrt(SSE / SST): its spread over runs is far smaller than that
    # of log(1 - R^2), whose left tail (excellent fits) is long; capped at 1 (R^2 <= 0: no better than the
    # constant mean), so that an iterate that explains nothing counts once, not by how far it diverges
    tests = [_seed_test("relative RMS error min(1, sqrt(1 - R^2)) of the open-loop iterate with the fitted C",
                        np.minimum(1.0, np.exp(m / 2)), crit, sign=-1, threshold=math.sqrt(0.1)),
             # the shape alone cannot tell exponents 0.5..2.25 apart (evidence): the exponent is estimated from
             # the steps themselves and compared two-sided with the statement's
             _seed_test("exponent a of s in the steps (one-step increments, log-log slope of -ds/g on s)",
                        inc[np.isfinite(inc)], crit, sign=0, threshold=a)]
    status, power = _decide(tests)
    C = np.array([f[1] for f in fits])
    r2_by_a = {f"{e:g}": round(float(np.mean(1 - np.exp(prof["profile"][:, j]))), 4)
               for j, e in enumerate(prof["exponents"])}
    figures = {}
    if plot:
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot(111)
        _, run = runs[0]
        ax.plot(run.steps, run.svals[:, 0], label="experiment s_1")
        ax.plot(run.steps, fits[0][2], "--", label=f"iterate, C = {fits[0][1]:.3g}")
        ax.set_xlabel("GD step")
        ax.legend()
        figures["fig7_s1_vs_iterate"] = fig
    probe = {}
    if ctx.profile.name == "full" and plot:  # step-size probe: the rate used for the other panels
        _, run05 = g1_runs(ctx, "fig7-lr0.05")[0]
        probe, _ = fit_fig7(run05.svals[:, 0], run05.g1, L, 0.05)
    best = prof["best_exponent"]
    bm, bse = cstats.mean_se(best)
    res = Resolution.from_se("exponent a of s in the iterate", tests[1]["se"], crit, unit="absolute",
                             nearest_slip=1 / L, nearest_slip_statement=f"exponent 2 - 1/L = {2 - 1 / L:g} "
                             f"(one factor of the L-fold product miscounted)") if status.passing else None
    return Outcome(
        status,
        f"{status.value}: mean R^2 = {np.mean(1 - np.exp(m)):.3f} (min {np.min(1 - np.exp(m)):.3f}); {_line(tests)}; "
        f"C/(-lr L) = {np.mean(C / (-lr * L)):.2f} (so '+C' holds with C < 0). The shape does not single out the "
        f"exponent: mean R^2 by exponent {r2_by_a}; the exponent of least open-loop misfit (a second, independent "
        f"estimate) is {bm:.2f} +- {bse:.2f}",
        resolution=res,
        evidence={"tests": _public(tests), "exponent": a, "C_sign": c_sign,
                  "best_exponent_by_run (least open-loop misfit, C fitted)": np.round(best, 3).tolist(),
                  "best_exponent_mean_se": [bm, bse],
                  "R2_by_run": np.round(1 - np.exp(m), 4).tolist(),
                  "C_over_minus_lrL_by_run": np.round(C / (-lr * L), 4).tolist(),
                  "mean_R2_by_exponent (C fitted)": r2_by_a,
                  "increment_exponent_by_run": np.round(inc, 3).tolist(), "probe_lr_0.05": probe},
        method=_cfg_text(ctx).replace(f"lr = {cfg['lr']}, {cfg['steps']} steps (spectrum recorded every 10 steps), "
                                      f"{cfg['seeds']}",
                                      f"lr = {lr}, {cfg['steps7']} steps (every step recorded), {cfg['seeds7']}")
               + " g(t) = <grad_J L, u_1 v_1^T> recorded at every step. Per run, C is fitted by minimising the squared "
               "error of the open-loop iterate (driven by the measured g(t)) over a log grid of |C|/(lr L) in "
               "[0.01, 100], both signs. 'Matches the shape' is read as R^2 >= 0.9: the mean over runs of the "
               "relative RMS error sqrt(1 - R^2) (capped at 1, R^2 <= 0) is tested against sqrt(0.1). "
               "Gradient descent decreases the loss, so with "
               "g = <grad, u_1 v_1^T> the printed '+C' matches only with C < 0 (Prop. 4.5 suggests C ~ -lr L). "
               "The exponent: per run, the slope a of the least-squares line of log(-ds/g) on log s over the steps "
               "(ds = s(t+1) - s(t); steps with ds g < 0 and |g| > 1e-3 max |g|), i.e. the exponent the iterate "
               "s(t+1) = s(t) + C s^a g(t) has step by step; its mean over runs is tested two-sided against the "
               "statement's exponent. Reported, not decided: R^2 for other exponents (C fitted) and, as a second "
               "estimate of the exponent, the exponent of least open-loop misfit per run (parabola through the "
               "best point of the 0.25 grid)." + STATS_NOTE,
        figures=figures,
        power=power,
    )


_fig7_foil = functools.partial(_fig7_check, plot=False)

claim(
    id="fig-7",
    ref="Figure 7 (Appendix G.1)",
    section="Appendix G",
    statement=r"""In this setup we compare the predicted top singular value trajectory versus the experimental one. The scaling factor in front of the prediction is fine-tuned to match the experiment, as it depends on several parameters that have not been considered in our study (such as the learning rate). Denoting $g(t) = \langle \nabla_J \mathcal{L}(J(t)), u_1(t)v_1(t)^\top \rangle$ where u_1 and v_1 are the first left and right singular vector of the full jacobian, we consider the iterative process:

$$s(t + 1) = s(t) + Cs(t)^{2 - \frac{2}{L}}g(t)$$

where C is the fine tuned scaling factor. We observe in figure 7 that the predicted process matches the shape of the actual singular dynamics.""",
    reading="'The scaling factor ... is fine-tuned to match the experiment': one constant C per run, of either sign "
            "(the sign of Prop. 4.5's -L is part of it). 'The predicted process matches the shape of the actual "
            "singular dynamics': the open-loop iterate driven by the measured g(t) reproduces s_1(t) of GD training on "
            "the G.1 task with R^2 >= 0.9, as a mean over runs; and, since the shape alone cannot tell the exponent "
            "(with C tuned, every exponent 0.5..2.25 reaches R^2 >= 0.9: evidence), 'the predicted process' is the one "
            "with the exponent 2 - 2/L: the exponent the training steps follow (ds = C s^a g step by step) is "
            "2 - 2/L, tested two-sided (issue 17: a pass must tell 2 - 2/L from 2 - 1/L).",
    hypotheses=("G.1 task", "plain GD"),
    exercises="independent runs; R^2 for exponents 0..3; a larger learning rate as probe (full profile).",
    depends_on=("prop-4.5/sv-ode",),
    kind=Kind.FIGURE,
    check=_fig7_check,
    severity=Severity.MINOR,
    severity_note="The iterate with a tuned C does match the shape (mean R^2 ~ 0.98), but so does every exponent "
                  "from 0.5 to 2.25, and the exponent the G.1 training steps follow is about 1.2 (one-step "
                  "increments; about 1.35 by least open-loop misfit, an independent estimate), not 2 - 2/L = 1.8: "
                  "the figure is no evidence for the exponent it names. Prop. 4.5's exponent is derived for balanced "
                  "factors and G.1 starts from unbalanced sigma = 1/sqrt(n) weights, so no stated result changes; "
                  "the sentence presenting s^(2-2/L) as the process the data follow is what fails.",
    foils=(
        Foil("the exponent of the product's L - 1 other factors counted once more: s(t+1) = s(t) + C s(t)^(2 - 1/L) g(t)",
             functools.partial(_fig7_foil, a=2 - 1 / 10), kind="exponent", nearest=True, size=1 / 10,
             unit="absolute"),
        Foil("the scaling factor is positive, as the word suggests: s(t+1) = s(t) + C s^(2-2/L) g(t) with C > 0",
             functools.partial(_fig7_foil, c_sign="+"), kind="flipped sign"),
        Foil("exponent with flipped sign: s(t+1) = s(t) + C s(t)^(2/L - 2) g(t)",
             functools.partial(_fig7_foil, a=-(2 - 2 / 10)), kind="flipped sign"),
    ),
)


# ---------------------------------------------------------------------------------------------
# Figure 8
# ---------------------------------------------------------------------------------------------
# Consecutive drops of the impact |log s_k(end)/s_k(0)| are compared for k < 2.5 r (capped at the rank of J):
# beyond the task's rank the modes keep their initial values, up to the rank edge of the gated product.
FIG8_K_FACTOR = 5


def impact_edge_margin(s0, s1, r: int, K: int) -> float:
    """Where the training's impact ends: the drop of |log(s_k(end)/s_k(0))| from k = r to r + 1 minus the
    largest drop between other consecutive k < K (K capped at the number of nonzero s_k(0)). Positive
    iff the largest fall of the impact is right after k = r; 0 (up to a tie) where two edges are equal."""
    s0, s1 = np.asarray(s0, dtype=np.float64), np.asarray(s1, dtype=np.float64)
    rank = int(np.count_nonzero(s0 > s0[0] * math.sqrt(np.finfo(np.float64).eps)))  # exact zeros: ~eps s_1
    K = int(min(K, rank))
    if not 1 <= r < K:
        raise ValueError(f"impact_edge_margin: need 1 <= r < K, got r = {r}, K = {K}")
    impact = np.abs(np.log(s1[:K] / s0[:K]))
    drop = impact[:-1] - impact[1:]
    return float(drop[r - 1] - np.delete(drop, r - 1).max())


def _fig8_check(ctx, *, r_top: int | None = None, plot: bool = True) -> Outcome:
    """``r_top``: how many top singular values were strongly impacted (printed: 'the top', read as the
    task's rank)."""
    from matplotlib.figure import Figure

    cfg = g1_config(ctx)
    r = cfg["rank"] if r_top is None else r_top
    K = FIG8_K_FACTOR * cfg["rank"] // 2  # consecutive drops k = 1..K-1 (capped at the rank of J)
    share, strong, edge, rows = [], [], [], []
    for _, run in g1_runs(ctx):
        s0, s1 = run.svals[0], run.svals[-1]
        d = np.abs(s1 - s0)
        share.append(float(d[:r].sum() / d.sum()))
        strong.append(float(np.abs(np.log(s1[:r] / s0[:r])).min()))
        edge.append(impact_edge_margin(s0, s1, r, K))
        rows.append({"share_of_total_change_in_top": share[-1], "min_top_|log s_k(end)/s_k(0)|": strong[-1],
                     "impact_edge_margin": edge[-1],
                     "min_top_change": float(d[:r].min()), "max_other_change": float(d[r:].max())})
    crit = ctx.t(3, len(rows) - 1)
    tests = [_seed_test(f"share of the total change sum_k |s_k(end) - s_k(0)| carried by k <= {r}", share, crit,
                        sign=+1, threshold=0.9),
             _seed_test(f"min over k <= {r} of |log(s_k(end)/s_k(0))|", strong, crit, sign=+1,
                        threshold=math.log(2)),
             # two-sided in r: 'only the top r' puts the edge of the impact after k = r, not r - 1 or r + 1
             _seed_test(f"drop of |log(s_k(end)/s_k(0))| from k = {r} to {r + 1} minus the largest other drop, "
                        f"k < {K}", edge, crit, sign=+1)]
    status, power = _decide(tests)
    figures = {}
    if plot:
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot(111)
        _, run = g1_runs(ctx)[0]
        s0, s1 = run.svals[0], run.svals[-1]
        ax.semilogy(np.arange(1, len(s0) + 1), s0, "o-", ms=3, label="init")
        ax.semilogy(np.arange(1, len(s1) + 1), s1, "o-", ms=3, label="trained")
        ax.set_xlabel("k")
        ax.set_ylabel("s_k(J)")
        ax.legend()
        figures["fig8_spectrum"] = fig
    return Outcome(
        status,
        f"{status.value}: {_line(tests)}; the smallest change among the top {r} is "
        f"{np.exp(np.mean(np.log([x['min_top_change'] / x['max_other_change'] for x in rows]))):.3g}x the largest "
        f"other change (geometric mean over runs)",
        evidence={"tests": _public(tests), "r_top": r, "per_run": rows},
        method=_cfg_text(ctx) + " 'Only the top singular values were strongly impacted by the training' is read, with "
               "r = the task's rank, as: 'only' - the top r carry at least 90% of the total change "
               "sum_k |s_k(end) - s_k(0)| of the spectrum (the linear scale of the comparison); 'strongly impacted' - "
               "each of the top r changed by at least a factor 2 (|log s_k(end)/s_k(0)| >= log 2); 'only the top r' - "
               "the impact |log s_k(end)/s_k(0)| falls most between k = r and r + 1 (its drop there minus the largest "
               f"drop between other consecutive k < {FIG8_K_FACTOR / 2:g} r, capped at the rank of J, is > 0), which "
               "tells r from r - 1 and r + 1. All as means over runs." + STATS_NOTE,
        figures=figures,
        power=power,
    )


_fig8_foil = functools.partial(_fig8_check, plot=False)

claim(
    id="fig-8",
    ref="Figure 8 (Appendix G.1)",
    section="Appendix G",
    statement=r"""Figure 8. We compare the trained singular spectrum with respect to the one at its initialization. We observe that only the top singular values were strongly impacted by the training.""",
    reading="On the G.1 task of the same appendix ('a fixed random linear map of rank 10'), 'the top singular values' "
            "are the top r = 10. 'Only ... strongly impacted': they carry at least 90% of the total change of the "
            "spectrum (linear scale), each of them changed by at least a factor 2, and the impact falls most "
            "right after k = r (so 'top 9' and 'top 11' are wrong). Means over runs.",
    hypotheses=("G.1 task",),
    exercises="independent runs.",
    kind=Kind.FIGURE,
    check=_fig8_check,
    foils=(
        Foil("only the top r - 1 = 9 singular values were strongly impacted", functools.partial(_fig8_foil, r_top=9),
             kind="neighbouring r", nearest=True, size=1, unit="r"),
        Foil("the top r + 1 = 11 singular values were strongly impacted", functools.partial(_fig8_foil, r_top=11),
             kind="neighbouring r", nearest=True, size=1, unit="r"),
        Foil("only the top r/2 = 5 singular values were strongly impacted", functools.partial(_fig8_foil, r_top=5),
             kind="halved constant"),
        Foil("the top 2r = 20 singular values were strongly impacted", functools.partial(_fig8_foil, r_top=20),
             kind="doubled constant"),
    ),
)


# ---------------------------------------------------------------------------------------------
# Figures 4 and 5, trained panels: statistics of one network (init and trained)
# ---------------------------------------------------------------------------------------------
MODELS = ("affine", "power law", "linear s")


def _model_misfit(lg) -> dict:
    """log(1 - R^2) of the panel l -> log s_k(B_l), k <= K, drawn as K fitted lines of each law (lg: rows
    l = 2..L+1): the squared residuals of the K fits over the spread of all the panel's values about
    their mean. 'affine': log s_k affine in l (the statement); 'power law': log s_k affine in log l;
    'linear s': s_k itself affine in l (on the scale of s). Pooled over k, not per curve: a curve that
    is flat in l (a mode whose gain per layer is 1 after training) is a straight line too, which a
    per-curve R^2 (residual over the curve's own tiny variance) would not see."""
    l = np.arange(2, lg.shape[0] + 2, dtype=np.float64)
    out = {}
    for name, x, y in (("affine", l, lg), ("power law", np.log(l), lg), ("linear s", l, np.exp(lg))):
        X = np.stack([np.ones_like(x), x], 1)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        sse, sst = float(np.sum((y - X @ coef) ** 2)), float(np.sum((y - y.mean()) ** 2))
        out[name] = math.log(max(sse, 1e-300 * sst) / sst)
    return out


def _cluster_contrast(logs) -> tuple[float, float, int]:
    """log(largest gap / median gap) between consecutive log s_k(J), k <= K-3 (the last few nonzero
    singular values fall steeply towards the rank edge of the gated product and are not a cluster
    boundary); also the largest gap and where it sits (after k)."""
    g = -np.diff(logs)[: max(1, len(logs) - 3)]
    return float(np.log(g.max() / np.median(g))), float(g.max()), int(np.argmax(g)) + 1


def _top_gap_ratio(logs) -> float:
    """log(largest gap / largest gap at least two modes away from it) between consecutive log s_k(J),
    k <= K-3 (the window of :func:`_cluster_contrast`): > 0 by how much one boundary dominates (two
    clusters); ~ 0 where a second, separate boundary is alike (three clusters). A gap next to the largest
    is the same boundary spread over a transitional mode, not a second one."""
    g = -np.diff(logs)[: max(3, len(logs) - 3)]
    k = int(np.argmax(g))
    far = np.abs(np.arange(g.size) - k) >= 2
    return float(np.log(g[k] / g[far].max()))


def _gap_margin(logs, r: int) -> float:
    """Gap after k = r minus the largest other gap of log s_k(J), k <= K-3."""
    g = -np.diff(logs)[: max(1, len(logs) - 3)]
    return float(g[r - 1] - np.delete(g, r - 1).max())


def net_stats(Ws0, Ws, ds, K_max: int = 30, k_align: int = 10) -> dict:
    """Figure 4 and 5 statistics of one network before (Ws0) and after (Ws) training, same gates."""
    rank = int(min(int(np.count_nonzero(d)) for d in ds))  # rank of J and of every B_l, l >= 2 (a.s.)
    K = int(min(K_max, rank))
    out = {"K": K, "rank_J": rank}
    for tag, W in (("init", Ws0), ("trained", Ws)):
        lg = fgln.logsv_B_ladder(W, ds, K)
        c, gmax, at = _cluster_contrast(lg[-1])
        out[tag] = {"misfit": _model_misfit(lg), "contrast": c, "largest_gap": gmax, "largest_gap_after_k": at,
                    "top_gap_ratio": _top_gap_ratio(lg[-1]),
                    "logs_J": lg[-1], "logs_B": lg, "rho": _rho_ladder(W, ds, rank, k_align)}
    return out


def _rho_ladder(Ws, ds, rank: int, k_align: int) -> dict:
    """rho (Appendix F) of U_J^T U_{A_l}, l = 1..L-1 (A_l of Section 7), on the r_J x r_J block of the
    columns of nonzero singular values of J (fig-5/init's primary block: beyond the rank the columns
    of U_J are an arbitrary basis of the null space) and on the top-left k_align x k_align block."""
    from theory.alignment import rho_batch

    A, _ = fgln.prefix_suffix(Ws, ds)
    U = np.linalg.svd(fgln.jacobian(Ws, ds))[0]
    R = np.stack([U.T @ np.linalg.svd(A[l])[0] for l in range(len(Ws) - 1)])
    return {"range": rho_batch(R[:, :rank, :rank]), "top": rho_batch(R[:, :k_align, :k_align])}


def init_population(ctx, n: int, L: int, p: float, count: int, K_max: int = 30) -> np.ndarray:
    """Cluster contrast and top-gap ratio (columns 0 and 1) of J at initialisation for ``count`` independent
    networks (the 'no cluster' reference)."""
    import torch

    def compute():
        gen = torch.Generator()
        gen.manual_seed(derive_seed(ctx.seed, "init-population", n, L, p, count))
        out = []
        for _ in range(count):
            Ws, ds = dynamics.init_masked(n, L, p, 1.0 / math.sqrt(n), gen)
            rank = int(min(int(np.count_nonzero(d)) for d in ds))
            s = np.linalg.svd(fgln.jacobian(Ws, ds), compute_uv=False)[: min(K_max, rank)]
            out.append((_cluster_contrast(np.log(s))[0], _top_gap_ratio(np.log(s))))
        return np.array(out)

    key = ("init-population", ctx.seed, n, L, p, count, K_max)
    if key not in _CACHE:
        _CACHE[key] = compute()
    return _CACHE[key]


def _fig4_outcome(ctx, stats, pop, setting, *, model="affine", laws=MODELS, emergence=True, r_cluster=None,
                  clusters=2, plot=True) -> Outcome:
    """Figure 4 (trained panel) from per-run statistics. ``model``: the law of l -> log s_k(B_l) the
    statement names (printed: affine), compared with the other ``laws``; ``emergence``: clusters appear
    with training (printed) or not; ``r_cluster``: where the clusters split (G.1: the task's rank; None on
    MNIST, which prints none); ``clusters``: how many (printed: two, one dominant boundary; 3: two
    boundaries alike)."""
    from matplotlib.figure import Figure

    rivals = [m for m in laws if m != model]
    mis = lambda m: np.array([s["trained"]["misfit"][m] for s in stats])  # noqa: E731
    n_tests = 1 + len(rivals) + 2 + (r_cluster is not None)
    crit = ctx.t(n_tests, len(stats) - 1)
    tests = [_seed_test(f"trained: log(1 - R^2) of the panel drawn as {model} lines", mis(model), crit, sign=-1,
                        threshold=math.log(0.1))]
    for rv in rivals:
        tests.append(_seed_test(f"trained: log(1 - R^2), {model} lines minus {rv} lines", mis(model) - mis(rv), crit,
                                sign=-1))
    ct = np.array([s["trained"]["contrast"] for s in stats])
    pm, pse = cstats.mean_se(pop[:, 0])
    tests.append(_seed_test("cluster contrast log(largest gap / median gap) of log s_k(J): trained minus the mean at "
                            f"initialisation ({len(pop)} networks)", ct, crit, sign=+1 if emergence else 0,
                            threshold=pm, se_extra=pse))
    # the count, two-sided in it: two clusters = one boundary that dominates any other (more than at
    # initialisation); three = two separate boundaries alike (the ratio no larger than at initialisation)
    qm, qse = cstats.mean_se(pop[:, 1])
    tests.append(_seed_test("top-gap ratio log(largest gap / largest gap >= 2 modes away) of log s_k(J): trained minus "
                            "the mean at "
                            "initialisation", [s["trained"]["top_gap_ratio"] for s in stats], crit,
                            sign=+1 if clusters == 2 else 0, threshold=qm, se_extra=qse))
    if r_cluster is not None:
        tests.append(_seed_test(f"trained: gap of log s_k(J) after k = {r_cluster} minus the largest other gap",
                                [_gap_margin(s["trained"]["logs_J"], r_cluster) for s in stats], crit, sign=+1))
    status, power = _decide(tests)
    figures = {}
    if plot:
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot(111)
        lg = stats[0]["trained"]["logs_B"]
        for k in range(lg.shape[1]):
            ax.plot(np.arange(2, lg.shape[0] + 2), lg[:, k], color="C1", lw=0.7)
        ax.set_xlabel("l (B_l; l = L+1 is J)")
        ax.set_ylabel("log s_k(B_l), trained (run 0)")
        figures["fig4_trained_B_spectra"] = fig
    rows = [{"K": s["K"], **{tag: {"misfit": {m: round(v, 3) for m, v in s[tag]["misfit"].items()},
                                   "contrast": round(s[tag]["contrast"], 3), "largest_gap": round(s[tag]["largest_gap"], 3),
                                   "top_gap_ratio": round(s[tag]["top_gap_ratio"], 3),
                                   "largest_gap_after_k": s[tag]["largest_gap_after_k"]}
                             for tag in ("init", "trained")}} for s in stats]
    return Outcome(
        status,
        f"{status.value}: {_line(tests)}; largest log-gap of trained J after k = "
        f"{sorted(set(s['trained']['largest_gap_after_k'] for s in stats))}",
        evidence={"tests": _public(tests), "model": model, "emergence": emergence, "r_cluster": r_cluster,
                  "init_population_contrast": {"mean": pm, "se": pse, "sd": float(np.std(pop[:, 0], ddof=1)),
                                               "count": int(len(pop))},
                  "init_population_top_gap_ratio": {"mean": qm, "se": qse}, "clusters": clusters,
                  "per_run": rows},
        method=setting + " For l = 2..L+1 (B_{L+1} := J) and the top K singular values (K = 30 n / 128, the caption's "
               "30 for n = 128, at most the rank of J), each curve l -> log s_k(B_l) of the trained network is fitted "
               "by a line; the misfit of the panel is log(1 - R^2) with R^2 pooled over the K lines (residuals over "
               "the spread of all the panel's values). 'Affine in depth': misfit below log(0.1) (R^2 >= 0.9), and "
               f"below that of the rival laws {', '.join(repr(r) for r in rivals)} ('power law': log s_k affine in "
               "log l; 'linear s': s_k affine in l). The panel at initialisation (L = 10, the same networks) is "
               "reported; Figure 4's left panel (L = 100) is claim fig-4. 'Emergence of two clusters': the cluster contrast "
               "log(largest gap / median gap) of consecutive log s_k(J), k <= K-3, of the trained networks exceeds "
               "its mean over independent networks at initialisation (its SE added); 'two' clusters: one boundary "
               "dominates, the top-gap ratio log(largest gap / largest gap at least two modes away from it) exceeds its "
               "mean at initialisation (three clusters, the neighbouring count, would have two separate boundaries alike: "
               "a ratio no larger than at initialisation; a gap next to the largest is the same boundary spread over a "
               "transitional mode)"
               + (f"; and the largest gap of the trained J sits after k = {r_cluster}, the task's rank." if r_cluster
                  else ".") + STATS_NOTE,
        figures=figures,
        power=power,
    )


def _fig5_tests(ctx, stats, block, init_trend, amplified, spread):
    ri = np.array([s["init"]["rho"][block] for s in stats])
    rt = np.array([s["trained"]["rho"][block] for s in stats])
    Lm1 = ri.shape[1]
    hi = np.arange(Lm1) >= Lm1 // 2  # l > (L-1)/2
    slope = [float(np.polyfit(np.arange(1, Lm1 + 1), y, 1)[0]) for y in ri]
    crit = ctx.t(3 * len(F5_BLOCKS), len(stats) - 1)
    tests = [_seed_test(f"{block} block: slope of rho_init in l", slope, crit, sign=init_trend),
             _seed_test(f"{block} block: mean over l of rho_trained - rho_init", (rt - ri).mean(1), crit, sign=amplified),
             _seed_test(f"{block} block: mean over l >= {int(np.argmax(hi)) + 1} of rho_trained - rho_init",
                        (rt - ri)[:, hi].mean(1), crit, sign=spread)]
    return tests, ri, rt


# The blocks of U_J^T U_{A_l} read: 'range', the r_J x r_J block of the columns of nonzero singular values of
# J (fig-5/init's primary block: beyond the rank the columns of U_J are an arbitrary basis of the null
# space), and 'top', the top-left 10 x 10 block (the block Figures 10-12 name). The first decides; a verdict
# that the other changes is not evidence either way (issue 10).
F5_BLOCKS = ("range", "top")


def _fig5_outcome(ctx, stats, setting, *, init_trend=-1, amplified=+1, spread=+1, plot=True) -> Outcome:
    """Figure 5 (trained curve). ``init_trend``: sign of the slope of rho_init in l (printed: 'most noticeable
    for low l', -1); ``amplified``: sign of the mean increase by training; ``spread``: sign of the increase
    on the upper half of l (0: the effect stays at low l)."""
    from matplotlib.figure import Figure

    by_block = {b: _fig5_tests(ctx, stats, b, init_trend, amplified, spread) for b in F5_BLOCKS}
    verdicts = {b: _decide(t)[0] for b, (t, _, _) in by_block.items()}
    tests, ri, rt = by_block[F5_BLOCKS[0]]
    status, power = _decide(tests)
    # robust: every estimate on the other block lies on the same side of its prediction (the other block
    # may be less precise, but must not point the other way)
    robust = all(np.sign(a["_delta"]) == np.sign(b["_delta"]) for a, b in zip(tests, by_block[F5_BLOCKS[1]][0]))
    if not robust:
        status, power = Status.INCONCLUSIVE, None
    Lm1 = ri.shape[1]
    figures = {}
    if plot:
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot(111)
        for b, (_, bi, bt) in by_block.items():
            ax.plot(np.arange(1, Lm1 + 1), bi.mean(0), "o-", label=f"init, {b} block")
            ax.plot(np.arange(1, Lm1 + 1), bt.mean(0), "s--", label=f"trained, {b} block")
        ax.set_xlabel("l")
        ax.set_ylabel("rho(U_J^T U_(A_l)), mean over runs")
        ax.legend(fontsize=7)
        figures["fig5_rho"] = fig
    means = {b: {"init": np.round(bi.mean(0), 3).tolist(), "trained": np.round(bt.mean(0), 3).tolist()}
             for b, (_, bi, bt) in by_block.items()}
    head = "" if robust else ("the top-10 block points the other way on some test (verdicts "
                              f"{', '.join(f'{b}: {v.value}' for b, v in verdicts.items())}), so this is no evidence "
                              "either way. ")
    return Outcome(
        status,
        f"{status.value}: {head}{_line(tests)}; mean rho by l (range block) init {means['range']['init']} -> "
        f"trained {means['range']['trained']}; top-10 block: {verdicts['top'].value}",
        evidence={"tests": _public(tests), "tests_top10_block": _public(by_block["top"][0]),
                  "verdict_by_block": {b: v.value for b, v in verdicts.items()}, "mean_rho_by_block": means},
        method=setting + " rho = Appendix F's diagonal correlation (absolute values) of U_J^T U_{A_l}, A_l of Section "
               "7, l = 1..L-1, on the r_J x r_J block of the columns of nonzero singular values of J (the primary "
               "block of fig-5/init: beyond the rank the columns of U_J are an arbitrary basis of the null space); the "
               "same tests on the top-left 10 x 10 block (the block of Figures 10-12) must give estimates on the same "
               "side of every prediction (it may be less precise), else the claim is inconclusive. Per run: "
               "(1) 'most noticeable for low values of l' at init: "
               "slope of rho_init against l < 0; (2) 'amplified': mean over l of rho_trained - rho_init > 0; "
               "(3) 'spread out to higher values of l': the same mean over the upper half of l > 0." + STATS_NOTE,
        figures=figures,
        power=power,
    )


FIG4 = r"""Figure 4. Spectrum of $\log s_{k,\ell}$ for the top 30 log-singular values of the intermediate Jacobians B_ℓ as ℓ varies, at initialization (left, $L = 100$) and trained in the MNIST setting (right), $p = 0.5$.

We plot in Figure 4 the depth scaling property of the intermediate Jacobians B_ℓ , at initialization and after training. As expected, the log-singular values are affine functions in the depth. After training, the emergence of two clusters is consistent with an effectively low-rank Jacobian geometry."""

FIG5 = r"""Figure 5. Diagonal correlation coefficient of $U_{J_L}^\top U_{A_\ell}$ at initialization (blue) and trained in the MNIST setting (orange) with $p = 0.5$

At initialization the alignment is most noticeable for low values of ℓ as expected, while this effect is amplified and spread out to higher values of ℓ after training."""

FIG4_READING = ("'As expected, the log-singular values are affine functions in the depth' (Section 8, 'at initialization "
                "and after training', i.e. the depth scaling of Definition 4.6: log s_k(M_{1:l}) ~ l gamma_k + delta_k): "
                "for the top 30 (nonzero) singular values of the trained network, the panel of curves l -> log s_k(B_l) "
                "is drawn by straight lines with R^2 >= 0.9 (pooled over the curves), and better than by rival laws "
                "(a power law in l; s_k itself affine in l). 'After training, the emergence of two clusters': "
                "the largest gap between consecutive "
                "log s_k(J) stands out from the others (cluster contrast) more after training than at initialisation. "
                "Means over independent training runs.")

FIG5_READING = ("Figure 5's caption: 'Diagonal correlation coefficient of U_{J_L}^T U_{A_l} at initialization (blue) "
                "and trained ... (orange)'; Section 8: 'At initialization the alignment is most noticeable for low "
                "values of l as expected, while this effect is amplified and spread out to higher values of l after "
                "training.' Read per run, on the block of the columns of nonzero singular values of J (and, with estimates "
                "of the same signs required, on the top-left 10 x 10 block): rho_init decreases with l; training raises rho on "
                "average over l, and on the upper half of l.")

_fig4_foils = lambda check: (  # noqa: E731
    Foil("after training, the emergence of three clusters (two boundaries alike, no single dominant gap)",
         functools.partial(check, clusters=3, plot=False), kind="neighbouring count", nearest=True, size=1,
         unit="count"),
    Foil("the singular values themselves (not their logarithms) are affine functions in the depth",
         functools.partial(check, model="linear s", plot=False), kind="dropped log"),
    Foil("the log-singular values follow a power law in the depth (affine in log l)",
         functools.partial(check, model="power law", plot=False), kind="other law"),
    Foil("the two clusters are not created by training: the trained spectrum stands out no more than at init",
         functools.partial(check, emergence=False, plot=False), kind="dropped 'after training'"),
)
_fig5_foils = lambda check: (  # noqa: E731
    Foil("at initialization the alignment is most noticeable for high values of l (slope of rho_init in l > 0)",
         functools.partial(check, init_trend=+1, plot=False), kind="reversed index"),
    # the statement has no constant; its nearest plausible slip is the neighbouring clause (amplified, but not
    # spread out), decided by the same test of the upper half of l
    Foil("training amplifies the alignment only at low l: no increase on the upper half of l",
         functools.partial(check, spread=0, plot=False), kind="dropped 'spread out'", nearest=True, size=1,
         unit="clause"),
)


# -- G.1 task ---------------------------------------------------------------------------------
def _synthetic_stats(ctx):
    # the caption's 'top 30' of n = 128, in proportion for n = 64 (the top 30 would reach the rank
    # edge of the gated products, about n/2 here, where log s_k(B_l) drops with the accumulated gates)
    K = 30 * g1_config(ctx)["n"] // 128
    return ctx.memo("g1-net-stats", lambda: [net_stats(run.Ws0, run.Ws, run.ds, K_max=K) for _, run in g1_runs(ctx)])


def _g1_population(ctx):
    cfg = g1_config(ctx)
    return init_population(ctx, cfg["n"], cfg["L"], cfg["p"], ctx.pick(quick=200, full=400),
                           K_max=30 * cfg["n"] // 128)


# On the G.1 task the learned modes end with gain ~1 per layer, so their curves are flat and fit any
# law of s or log s equally: only the power law is a discriminating rival there.
G1_LAWS = ("affine", "power law")


def _fig4_synthetic(ctx, **kw):
    return _fig4_outcome(ctx, _synthetic_stats(ctx), _g1_population(ctx), _cfg_text(ctx), laws=G1_LAWS,
                         r_cluster=kw.pop("r_cluster", g1_config(ctx)["rank"]), **kw)


def _fig5_synthetic(ctx, **kw):
    return _fig5_outcome(ctx, _synthetic_stats(ctx), _cfg_text(ctx), **kw)


claim(
    id="fig-4/trained-synthetic",
    ref="Figure 4, right panel (Section 8), on the G.1 task",
    section="Section 8",
    statement=FIG4,
    reading="Trained-panel assertions checked on the G.1 synthetic task instead of MNIST (runs without data). "
            + FIG4_READING + " On the rank-10 task the clusters split at k = 10.",
    hypotheses=("square FGLN, p = 0.5", "G.1 task instead of MNIST"),
    exercises="independent runs; initialisation reference of independent networks.",
    depends_on=("def-4.6",),
    kind=Kind.FIGURE,
    check=_fig4_synthetic,
    foils=_fig4_foils(_fig4_synthetic)[:1] + _fig4_foils(_fig4_synthetic)[2:] + (
        Foil("on the rank-10 task the clusters split one mode early, after k = 9",
             functools.partial(_fig4_synthetic, r_cluster=9, plot=False), kind="shifted index", nearest=True, size=1,
             unit="index"),
        Foil("on the rank-10 task the clusters split one mode late, after k = 11",
             functools.partial(_fig4_synthetic, r_cluster=11, plot=False), kind="shifted index", nearest=True, size=1,
             unit="index"),
        Foil("on the rank-10 task the clusters split at half the rank, after k = 5",
             functools.partial(_fig4_synthetic, r_cluster=5, plot=False), kind="halved constant"),),
)

claim(
    id="fig-5/trained-synthetic",
    ref="Figure 5, orange curve (Section 8), on the G.1 task",
    section="Section 8",
    statement=FIG5,
    reading="Trained-curve assertions checked on the G.1 synthetic task instead of MNIST (runs without data). "
            + FIG5_READING,
    hypotheses=("square FGLN, p = 0.5", "G.1 task instead of MNIST"),
    exercises="independent runs.",
    kind=Kind.FIGURE,
    check=_fig5_synthetic,
    foils=_fig5_foils(_fig5_synthetic),
)


# -- MNIST ------------------------------------------------------------------------------------
# The unstated choices of Section 8, one primary and one alternative (full profile): optimizer and rate
MNIST_TRAINING = {
    "SGD lr 0.1": dict(optimizer="sgd", lr=0.1, momentum=0.0, batch=128),
    "Adam lr 1e-3": dict(optimizer="adam", lr=1e-3, batch=128),
}
MNIST_PRIMARY = "SGD lr 0.1"


def mnist_config(ctx) -> dict:
    """Budget: quick trains a 2000-image subset for 150 steps; full a 10000-image subset for 600 steps, in
    both training settings. Runs share one pool of auto-augmented images (``dynamics.augmented_pool``)."""
    return ctx.pick(quick=dict(subset=2000, copies=2, runs=12, steps=150, settings=(MNIST_PRIMARY,), population=200),
                    full=dict(subset=10000, copies=3, runs=12, steps=600, settings=tuple(MNIST_TRAINING),
                              population=400))


KORNIA_NOTE = (
    "Auto-augment: kornia.augmentation.auto.AutoAugment(policy='cifar10') (kornia 0.9, the optional extra `mnist`), "
    "each image with its own sub-policy and Color applied to 3 equal channels (dynamics.cifar10_autoaugment). "
    "Its 25 sub-policies (operation, probability, magnitude bin) are the entries of torchvision's CIFAR10 policy "
    "(AutoAugmentPolicy.CIFAR10 in torchvision/transforms/autoaugment.py, as we know it; not readable here, as "
    "torchvision does not load against this torch). Where kornia differs from torchvision: (1) kornia draws one "
    "sub-policy per call (batch), torchvision one per image (adapted here: one per image); (2) a magnitude bin m "
    "means in torchvision the fixed value m/9 of the operation's range with a random sign (e.g. Rotate bin 2: "
    "+-6.7 deg; TranslateY bin 9: +-150/331 of the size; Brightness/Contrast/Sharpness/Color bin m: factor "
    "1 +- 0.1 m; Posterize bin m: 8 - round(m/2.25) bits; Solarize bin m: threshold 255 (1 - m/9)), in kornia the "
    "interval [m, m+1] of an 11-point signed scale sampled uniformly, no random sign (Rotate bin 2: -18 to -12 deg; "
    "Translate bins span -0.5..0.5 of the size; enhancement factors 0.1..1.9, so bin 1 of Sharpness is 0.28-0.46; "
    "Posterize 4..8 bits, bin 7 -> 7 bits; Solarize threshold 0..1, bin 2 -> 0.2-0.3; Shear fraction -0.3..0.3 "
    "times 180 as degrees); (3) kornia's Brightness adds factor - 1, PIL's multiplies by the factor; kornia's "
    "Contrast multiplies, PIL's blends with the mean grey level; (4) kornia interpolates bilinearly, torchvision "
    "by nearest neighbour by default; (5) Color on a grey image is the identity in both. The sub-policy table "
    "is the same; the strength and sign of most operations are not.")


def mnist_setting_text(ctx) -> str:
    c = mnist_config(ctx)
    tr = "; ".join(f"{k}: " + ", ".join(f"{a}={b}" for a, b in v.items()) for k, v in MNIST_TRAINING.items()
                   if k in c["settings"])
    return ("MNIST (local idx files, validated by dynamics.validate_mnist), Section 8's network: square FGLN of width "
            "n = 128 and depth L = 10, unconditioned p-gates p = 0.5, sigma = 1/sqrt(n) Ginibre weights, input and "
            "output adapters 784 -> n and n -> 10 (N(0, 1/fan_in) entries, no gates at the junctions, D_0 = D_L = I "
            "of Definition 4.1), spectra and alignment statistics of the hidden square block J = W_L D_{L-1} ... W_1. "
            f"Unstated in the paper, chosen here: cross-entropy loss; {tr}; {c['steps']} steps on a "
            f"{c['subset']}-image subset of the training set, drawn from {c['copies']} auto-augmented copies of it "
            "(a pass shows each image in a new augmentation, as on-the-fly augmentation would); pixels in [0, 1] "
            "normalised by the MNIST mean 0.1307 and sd 0.3081; float32 arithmetic (how such networks are trained; "
            f"2x cheaper), spectra in float64; {c['runs']} independent runs (initialisation, gates, minibatch order) "
            f"per setting. The verdict is the primary setting's ({MNIST_PRIMARY}); "
            + ("the alternative setting is evaluated with the same runs' initialisations, and a verdict that differs "
               "between the settings makes the claim inconclusive. " if len(c["settings"]) > 1 else
               "the alternative setting (Adam lr 1e-3) is evaluated in the full profile. ") + KORNIA_NOTE)


NO_MNIST = ("not executable: MNIST is not available locally (it is never downloaded); provide it with "
            "`python -m checks verify --mnist-root PATH` (torchvision raw layout: PATH/MNIST/raw/"
            "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]); fig-4/trained-synthetic and fig-5/trained-synthetic "
            "check the same panels on the G.1 task")


def _mnist_runs(ctx):
    """{setting: [MnistRun]} for the profile, or a not-executable reason (str)."""
    import torch

    root = ctx.data.get("mnist")
    if not root:
        return NO_MNIST
    try:
        images, labels = dynamics.load_mnist(root, "train")
        timages, tlabels = dynamics.load_mnist(root, "test")
    except ValueError as exc:  # bad data is bad input (the CLI refuses it up front, exit 2)
        return f"not executable: the MNIST copy at {root} is unusable: {exc}"
    try:
        import kornia  # noqa: F401
    except ImportError:
        return ("not executable: the MNIST setting needs kornia for the auto-augment policy: "
                "pip install 'deep-jacobian-claims[mnist]'")
    c = mnist_config(ctx)
    key = ("mnist", ctx.seed, ctx.profile.name, ctx.device, str(root))
    if key not in _CACHE:
        rng = np.random.default_rng(derive_seed(ctx.seed, "mnist-subset"))
        sub = np.sort(rng.choice(images.shape[0], size=c["subset"], replace=False))
        X, y = dynamics.augmented_pool(images[sub], labels[sub], c["copies"], derive_seed(ctx.seed, "mnist-augment"))
        evaluate, test = (images[sub][:2000], labels[sub][:2000]), (timages[:2000], tlabels[:2000])
        out = {}
        for name in c["settings"]:
            runs = []
            for i in range(c["runs"]):
                gen = torch.Generator()  # CPU draws: device-independent initialisation; same per setting
                gen.manual_seed(derive_seed(ctx.seed, "mnist-training", i))
                runs.append(dynamics.train_mnist_fgln(X, y, n=128, L=10, p=0.5, steps=c["steps"], gen=gen,
                                                      evaluate=evaluate, test=test, dtype="float32",
                                                      device=ctx.device, **MNIST_TRAINING[name]))
            out[name] = runs
        _CACHE[key] = out
    return _CACHE[key]


def _mnist_outcome(ctx, decide, **kw) -> Outcome:
    runs = _mnist_runs(ctx)
    if isinstance(runs, str):
        return Outcome(Status.NOT_EXECUTABLE, runs)
    stats = ctx.memo("mnist-net-stats", lambda: {k: [net_stats(r.Ws0, r.Ws, r.ds) for r in v]
                                                  for k, v in runs.items()})
    setting = mnist_setting_text(ctx)
    plot = kw.pop("plot", True)
    outs = {k: decide(ctx, stats[k], setting, plot=plot and k == MNIST_PRIMARY, **kw) for k in stats}
    out = outs[MNIST_PRIMARY]
    import kornia

    out.evidence["kornia"] = kornia.__version__
    verdicts = {k: o.status.value for k, o in outs.items()}
    out.evidence["verdict_by_training_setting"] = verdicts
    out.evidence["tests_by_training_setting"] = {k: o.evidence["tests"] for k, o in outs.items() if k != MNIST_PRIMARY}
    out.evidence["accuracy"] = {k: {"train (un-augmented subset)": round(float(np.mean([r.acc for r in v])), 4),
                                    "test (2000 images)": round(float(np.mean([r.test_acc for r in v])), 4)}
                                for k, v in runs.items()}
    if len(set(verdicts.values())) > 1:  # the verdict would be an artefact of an unstated choice
        out.summary = f"verdict depends on the training setting {verdicts}. " + out.summary
        out.status, out.power = Status.INCONCLUSIVE, None
    elif len(verdicts) > 1:
        out.summary += f" (the same verdict with {', '.join(k for k in verdicts if k != MNIST_PRIMARY)})"
    return out


def _fig4_mnist(ctx, **kw):
    c = mnist_config(ctx)
    return _mnist_outcome(ctx, lambda ctx_, stats, setting, **k: _fig4_outcome(
        ctx_, stats, init_population(ctx_, 128, 10, 0.5, c["population"]), setting, **k), **kw)


def _fig5_mnist(ctx, **kw):
    return _mnist_outcome(ctx, _fig5_outcome, **kw)


claim(
    id="fig-4/trained",
    ref="Figure 4, right panel (Section 8)",
    section="Section 8",
    statement=FIG4,
    reading="The MNIST setting of Section 8 ('We train the FGLN on the MNIST dataset augmented with the auto-augment "
            "policy of Cifar10 from torchvision, in which case we fix parameters L = 10 ... n = 128 ... p = 0.5 ... "
            "spectra and alignment statistics computed on the hidden square block'). " + FIG4_READING
            + " The paper names no cluster size; the split found is reported.",
    hypotheses=("square FGLN n = 128, L = 10, p = 0.5", "MNIST with CIFAR-10 auto-augment"),
    exercises="independent training runs (needs a local MNIST: --mnist-root); in the full profile a second training "
              "setting (Adam) besides the primary (SGD).",
    depends_on=("def-4.6",),
    kind=Kind.FIGURE,
    check=_fig4_mnist,
    foils=_fig4_foils(_fig4_mnist),
)

claim(
    id="fig-5/trained",
    ref="Figure 5, orange curve (Section 8)",
    section="Section 8",
    statement=FIG5,
    reading="The MNIST setting of Section 8 (see fig-4/trained). " + FIG5_READING,
    hypotheses=("square FGLN n = 128, L = 10, p = 0.5", "MNIST with CIFAR-10 auto-augment"),
    exercises="independent training runs (needs a local MNIST: --mnist-root); in the full profile a second training "
              "setting (Adam) besides the primary (SGD).",
    kind=Kind.FIGURE,
    check=_fig5_mnist,
    foils=_fig5_foils(_fig5_mnist),
)
