"""Training experiments: Figure 1 (Section 1), Figures 7 and 8 (Appendix G.1), and the trained panels
of Figures 4 and 5 (Section 8) — on MNIST when a local copy is given, and on the G.1 synthetic task.

Setting (Appendix G.1): square FGLN, unconditioned p-gates (p = 0.5), sigma-Ginibre weights with
sigma = 1/sqrt(n) (Section 8's choice; G.1 does not state sigma), N Gaussian inputs labelled by a
fixed rank-r linear map T = P Q^T / n, loss 1/(2N) ||J X - Y||^2, plain full-batch gradient descent.
Both profiles use the G.1 sizes n = 64, L = 10, N = 1000, r = 10 (a step costs ~1 ms): lr = 0.05 for
2000 (quick, 4 seeds) / 3000 (full, 6 seeds) steps; Figure 7 uses lr = 0.02 (600 / 800 steps, every
step recorded), because at lr = 0.05 the discrete steps visibly depart from the flow (full-profile probe).
Training runs are shared by the claims of this module through a cache keyed by (seed, profile,
device); their seeds derive from the global seed and the fixed stream name "g1-training", so they
do not depend on which claim runs first.
"""

from __future__ import annotations

import numpy as np

from checks import Kind, Outcome, Status, claim
from checks.model import derive_seed
from checks.stats import mean_se
from theory import dynamics, fgln

_CACHE: dict = {}


def g1_config(ctx) -> dict:
    return ctx.pick(quick=dict(n=64, L=10, N=1000, rank=10, p=0.5, lr=0.05, steps=2000, seeds=4,
                               lr7=0.02, steps7=600),
                    full=dict(n=64, L=10, N=1000, rank=10, p=0.5, lr=0.05, steps=3000, seeds=6,
                              lr7=0.02, steps7=800))


def g1_runs(ctx, kind: str = "main") -> list:
    """[(task, GDRun)] for the profile's seeds (cached). kind: 'main' (spectrum every 10 steps),
    'fig7' (smaller rate, every step), 'fig7-lr0.05' (probe: the main rate, every step)."""
    import torch

    cfg = g1_config(ctx)
    lr, steps, every = {"main": (cfg["lr"], cfg["steps"], 10),
                        "fig7": (cfg["lr7"], cfg["steps7"], 1),
                        "fig7-lr0.05": (0.05, cfg["steps7"] // 2, 1)}[kind]
    key = (ctx.seed, ctx.profile.name, ctx.device, kind)
    if key not in _CACHE:
        runs = []
        for i in range(cfg["seeds"]):
            # the same task, gates and initial weights for every kind of run
            sd = derive_seed(ctx.seed, "g1-training", i)
            rng = np.random.default_rng(sd)
            # initial draws on the CPU generator: identical networks whatever device trains them
            gen = torch.Generator()
            gen.manual_seed(sd)
            task = dynamics.synthetic_task(cfg["n"], cfg["N"], cfg["rank"], rng)
            Ws, ds = dynamics.init_masked(cfg["n"], cfg["L"], cfg["p"], 1.0 / np.sqrt(cfg["n"]), gen)
            runs.append((task, dynamics.train_gd(Ws, ds, task, lr=lr, steps=steps, device=ctx.device,
                                                 record_every=every)))
        _CACHE[key] = runs
    return _CACHE[key]


def _cfg_text(ctx) -> str:
    c = g1_config(ctx)
    return (f"G.1 task: n = {c['n']}, L = {c['L']}, p = {c['p']}, N = {c['N']} Gaussian inputs, rank-{c['rank']} "
            f"target T = P Q^T / n, sigma = 1/sqrt(n), MSE, plain full-batch GD lr = {c['lr']}, {c['steps']} steps "
            f"(spectrum recorded every 10 steps), {c['seeds']} seeds (profile {ctx.profile.name}).")


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


# ---------------------------------------------------------------------------------------------
# Figure 1
# ---------------------------------------------------------------------------------------------
def _fig1_check(ctx) -> Outcome:
    from matplotlib.figure import Figure

    cfg = g1_config(ctx)
    r = cfg["rank"]
    rows, all_ok = [], True
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(111)
    for i, (task, run) in enumerate(g1_runs(ctx)):
        sT = np.linalg.svd(task.T, compute_uv=False)
        S = run.svals
        s0, s1 = S[0], S[-1]
        rel_top = float(np.max(np.abs(s1[:r] / sT[:r] - 1)))
        sep0, sep1 = s0[r - 1] / s0[r], s1[r - 1] / s1[r]
        t_half = [int(run.steps[int(np.argmax(S[:, k] >= 0.5 * sT[k]))]) for k in range(r)]  # GD step
        rho_order = _spearman(np.arange(r), t_half)
        dl = np.abs(np.log(s1 / s0))
        rest = dl[r:15]
        ok = rel_top <= 0.02 and sep1 / sep0 >= 10 and rho_order >= 0.8 and float(rest.max()) < float(dl[:r].min())
        all_ok &= ok
        rows.append({"seed": i, "max_rel_err_top_r_vs_target": rel_top, "separation_s_r/s_r+1_init": sep0,
                     "separation_final": sep1, "t_half_by_k": t_half, "spearman(k, t_half)": rho_order,
                     "min_|dlog s_k|_top_r": float(dl[:r].min()), "max_|dlog s_k|_k=r+1..15": float(rest.max()),
                     "all_rules_hold": bool(ok)})
        if i == 0:
            for k in range(min(15, S.shape[1])):
                ax.plot(run.steps, np.log(S[:, k]), color=(k / 15, 0.3, 1 - k / 15), lw=0.9)
            ax.set_xlabel("GD step")
            ax.set_ylabel("log s_k(J), k = 1..15")
            ax.set_title("Figure 1 analogue (seed 0)")
    return Outcome(
        Status.SUPPORTED if all_ok else Status.REFUTED,
        f"all {len(rows)} seeds: top-{r} s_k reach the target's (max rel err "
        f"{max(x['max_rel_err_top_r_vs_target'] for x in rows):.1e}), s_r/s_(r+1) grows x"
        f"{min(x['separation_final'] / x['separation_s_r/s_r+1_init'] for x in rows):.0f}+, modes learned in order "
        f"(Spearman >= {min(x['spearman(k, t_half)'] for x in rows):.2f}), k > r move less than any top mode"
        if all_ok else "a rule failed on some seed (see evidence)",
        evidence={"per_seed": rows},
        method=_cfg_text(ctx) + " 'Separate and evolve in a structured manner' is read as four rules, each required "
               "on every seed: (1) the top-r singular values converge to the target's (rel. err <= 2%); (2) the "
               "separation ratio s_r/s_(r+1) grows by >= 10x; (3) modes are learned in order: Spearman correlation "
               "of k with the first step where s_k >= s_k(T)/2 is >= 0.8; (4) every |log s_k(end)/s_k(0)| for "
               "k = r+1..15 is below the smallest one among k <= r.",
        figures={"fig1_log_singular_values": fig},
    )


claim(
    id="fig-1",
    ref="Figure 1 and Section 1",
    section="Section 1",
    statement=r"""Figure 1. Evolution of the top-15 Jacobian log-singular values during training of a fixed-gates linear network (depth 10, width 64) on a synthetic rank-10 regression task. Inputs are Gaussian and targets are generated by a fixed random linear map of rank 10. Colors index order: brighter curves correspond to larger singular values (from s_1 to s_{15}).

Figure 1 illustrates this phenomenon in a controlled fixed-gates linear network trained on a rank-10 synthetic task, where leading Jacobian singular values separate and evolve in a structured manner.""",
    reading="On the G.1 task, the leading (top-r, r = target rank) singular values separate from the rest and are "
            "learned in a structured, ordered way (four quantitative rules, see method).",
    hypotheses=("FGLN depth 10, width 64, p = 0.5 gates", "rank-10 linear target, Gaussian inputs"),
    exercises="independent seeds of task, gates and weights.",
    kind=Kind.FIGURE,
    check=_fig1_check,
)


# ---------------------------------------------------------------------------------------------
# Figure 7
# ---------------------------------------------------------------------------------------------
def _iterate(s, g, C, L):
    out = np.empty(len(s))
    out[0] = s[0]
    for t in range(len(s) - 1):
        out[t + 1] = out[t] + C * out[t] ** (2 - 2 / L) * g[t]
        if not np.isfinite(out[t + 1]) or out[t + 1] < 0 or out[t + 1] > 1e6:
            out[t + 1:] = np.nan
            break
    return out


def fit_fig7(s, g, L, lr):
    """C by least squares on the one-step increments, and C minimising the open-loop trajectory error
    (grid over C/(-lr L) in (0, 3]); R^2 of each."""
    x = s[:-1] ** (2 - 2 / L) * g[:-1]
    d = np.diff(s)
    C_inc = float(x @ d / (x @ x))
    r2_inc = float(1 - np.sum((d - C_inc * x) ** 2) / np.sum((d - d.mean()) ** 2))
    grid = -lr * L * np.linspace(0.005, 3.0, 600)
    sse = []
    for C in grid:
        tr = _iterate(s, g, C, L)
        sse.append(np.inf if np.any(~np.isfinite(tr)) else float(np.sum((tr - s) ** 2)))
    C_traj = float(grid[int(np.argmin(sse))])
    tr = _iterate(s, g, C_traj, L)
    r2_traj = float(1 - np.nansum((tr - s) ** 2) / np.sum((s - s.mean()) ** 2))
    # the same with the sign as printed and C > 0: the iterate moves against the data
    pos = _iterate(s, g, lr * L, L)
    r2_pos = float(1 - np.nansum((pos - s) ** 2) / np.sum((s - s.mean()) ** 2)) if np.all(np.isfinite(pos)) else float("-inf")
    return {"C_increments": C_inc, "R2_increments": r2_inc, "C_trajectory": C_traj, "R2_trajectory": r2_traj,
            "C_traj/(-lr L)": C_traj / (-lr * L), "R2_with_C=+lr*L": r2_pos}, tr


def _fig7_check(ctx) -> Outcome:
    from matplotlib.figure import Figure

    cfg = g1_config(ctx)
    L, lr = cfg["L"], cfg["lr7"]
    rows = []
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(111)
    for i, (task, run) in enumerate(g1_runs(ctx, "fig7")):
        fit, tr = fit_fig7(run.svals[:, 0], run.g1, L, lr)
        rows.append({"seed": i, **fit})
        if i == 0:
            ax.plot(run.steps, run.svals[:, 0], label="experiment s_1")
            ax.plot(run.steps, tr, "--", label=f"iterate, C = {fit['C_trajectory']:.3g}")
            ax.set_xlabel("GD step")
            ax.legend()
    ratios = [r_["C_traj/(-lr L)"] for r_ in rows]
    m, se = mean_se(ratios) if len(ratios) > 1 else (ratios[0], float("nan"))
    ok = all(r_["R2_trajectory"] >= 0.9 and r_["C_trajectory"] < 0 for r_ in rows)
    probe = {}
    if ctx.profile.name == "full":  # step-size probe: the rate used for the other panels
        _, run05 = g1_runs(ctx, "fig7-lr0.05")[0]
        probe, _ = fit_fig7(run05.svals[:, 0], run05.g1, L, 0.05)
    return Outcome(
        Status.SUPPORTED if ok else Status.REFUTED,
        f"fitted C < 0 on every seed (C/(-lr L) = {m:.2f} +- {se:.2f} SE), open-loop iterate matches s_1(t) with "
        f"R^2 >= {min(r_['R2_trajectory'] for r_ in rows):.3f}; one-step increments R^2 >= "
        f"{min(r_['R2_increments'] for r_ in rows):.2f}; printed '+C' needs C < 0",
        evidence={"per_seed": rows, "C_over_minus_lrL_mean": m, "C_over_minus_lrL_se": se,
                  "probe_lr_0.05": probe},
        method=_cfg_text(ctx).replace(f"lr = {cfg['lr']}, {cfg['steps']} steps (spectrum recorded every 10 steps)",
                                      f"lr = {lr}, {cfg['steps7']} steps (every step recorded)")
               + " g(t) = <grad_J L, u_1 v_1^T> recorded at every step. C fitted (a) by least squares "
               "on the increments s(t+1) - s(t) = C s(t)^(2-2/L) g(t) and (b) by minimising the squared error of the "
               "open-loop iterate (driven by the measured g(t)) over a grid C/(-lr L) in (0, 3]. Rule: on every seed "
               "R^2 of the open-loop iterate >= 0.9 with C < 0. Gradient descent decreases the loss, so with "
               "g = <grad, u_1 v_1^T> the printed '+C' matches only with C < 0 (Prop. 4.5 suggests C ~ -lr L).",
        figures={"fig7_s1_vs_iterate": fig},
    )


claim(
    id="fig-7",
    ref="Figure 7 (Appendix G.1)",
    section="Appendix G",
    statement=r"""In this setup we compare the predicted top singular value trajectory versus the experimental one. The scaling factor in front of the prediction is fine-tuned to match the experiment, as it depends on several parameters that have not been considered in our study (such as the learning rate). Denoting $g(t) = \langle \nabla_J \mathcal{L}(J(t)), u_1(t)v_1(t)^\top \rangle$ where u_1 and v_1 are the first left and right singular vector of the full jacobian, we consider the iterative process:

$$s(t + 1) = s(t) + Cs(t)^{2 - \frac{2}{L}}g(t)$$

where C is the fine tuned scaling factor. We observe in figure 7 that the predicted process matches the shape of the actual singular dynamics.""",
    reading="With one fitted constant C, the iterate driven by the measured g(t) reproduces s_1(t) of GD training on "
            "the G.1 task (R^2 >= 0.9 per seed); the sign of C is reported.",
    hypotheses=("G.1 task", "plain GD"),
    exercises="independent seeds; a larger learning rate as probe (full profile).",
    depends_on=("prop-4.5/sv-ode",),
    kind=Kind.FIGURE,
    check=_fig7_check,
)


# ---------------------------------------------------------------------------------------------
# Figure 8
# ---------------------------------------------------------------------------------------------
def _fig8_check(ctx) -> Outcome:
    from matplotlib.figure import Figure

    cfg = g1_config(ctx)
    r = cfg["rank"]
    rows, ok = [], True
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(111)
    for i, (task, run) in enumerate(g1_runs(ctx)):
        s0, s1 = run.svals[0], run.svals[-1]
        nz = s0 > 1e-10 * s0[0]
        dabs = np.abs(s1 - s0)
        dlog = np.abs(np.log(s1[nz] / s0[nz]))
        top_min, rest_max = float(dabs[:r].min()), float(dabs[r:].max())
        share = float(dabs[:r].sum() / dabs.sum())
        rows.append({"seed": i, "min_|ds_k|_top_r": top_min, "max_|ds_k|_rest": rest_max,
                     "ratio": top_min / max(rest_max, 1e-300), "share_of_total_|ds|_in_top_r": share,
                     "mean_|dlog s|_top_r": float(dlog[:r].mean()), "mean_|dlog s|_rest(nonzero)": float(dlog[r:].mean()),
                     "max_|dlog s|_rest(nonzero)": float(dlog[r:].max())})
        ok &= top_min >= 10 * rest_max
        if i == 0:
            ax.semilogy(np.arange(1, len(s0) + 1), s0, "o-", ms=3, label="init")
            ax.semilogy(np.arange(1, len(s1) + 1), s1, "o-", ms=3, label="trained")
            ax.set_xlabel("k")
            ax.set_ylabel("s_k(J)")
            ax.legend()
    return Outcome(
        Status.SUPPORTED if ok else Status.REFUTED,
        f"every top-{r} singular value moves >= {min(x['ratio'] for x in rows):.0f}x more than any other (linear scale; "
        f"top-{r} carry >= {min(x['share_of_total_|ds|_in_top_r'] for x in rows):.0%} of total |ds|); in log scale the rest "
        f"still move by up to {max(x['max_|dlog s|_rest(nonzero)'] for x in rows):.2f} (vs top mean "
        f"{min(x['mean_|dlog s|_top_r'] for x in rows):.2f})",
        evidence={"per_seed": rows},
        method=_cfg_text(ctx) + " Reading of 'only the top singular values were strongly impacted': on every seed "
               "min_{k<=r} |s_k(end) - s_k(0)| >= 10 max_{k>r} |s_k(end) - s_k(0)| (linear scale). Log-scale changes "
               "are reported as well, since the bottom of the spectrum does move in relative terms.",
        figures={"fig8_spectrum": fig},
    )


claim(
    id="fig-8",
    ref="Figure 8 (Appendix G.1)",
    section="Appendix G",
    statement=r"""Figure 8. We compare the trained singular spectrum with respect to the one at its initialization. We observe that only the top singular values were strongly impacted by the training.""",
    reading="On the G.1 task, the change of the spectrum is concentrated on the top-r (r = target rank) singular values.",
    hypotheses=("G.1 task",),
    exercises="independent seeds.",
    kind=Kind.FIGURE,
    check=_fig8_check,
)


# ---------------------------------------------------------------------------------------------
# Figures 4 and 5, trained panels
# ---------------------------------------------------------------------------------------------
def _affine_r2(logs):
    x = np.arange(logs.shape[0], dtype=float)
    out = []
    for k in range(logs.shape[1]):
        y = logs[:, k]
        c = np.polyfit(x, y, 1)
        res = y - np.polyval(c, x)
        out.append(float(1 - res.var() / y.var()) if y.var() > 0 else 1.0)
    return np.array(out)


def fig4_stats(Ws0, Ws, ds, r_cluster: int | None):
    """Affine-in-depth fit of log s_k(B_l) (top K nonzero) at init and trained; the largest log-gap of J."""
    K = int(min(30, min(int(np.count_nonzero(d)) for d in ds)))
    out = {"K": K}
    for tag, W in (("init", Ws0), ("trained", Ws)):
        lg = fgln.logsv_B_ladder(W, ds, K)
        r2 = _affine_r2(lg)
        # gaps between consecutive log s_k(J), k = 1..K-3: the last few nonzero singular values fall
        # steeply towards the rank edge of the gated product and are not a 'cluster' boundary
        gaps = -np.diff(lg[-1])[: max(1, K - 3)]
        out[tag] = {"median_R2": float(np.median(r2)), "min_R2": float(np.min(r2)),
                    "largest_gap": float(gaps.max()), "largest_gap_after_k": int(np.argmax(gaps)) + 1,
                    "gap_at_r": float(gaps[r_cluster - 1]) if r_cluster else None}
    return out, lg


def fig5_stats(Ws0, Ws, ds):
    k = int(min(20, min(int(np.count_nonzero(d)) for d in ds)))
    return {"k": k, "init": fgln.alignment_rho_ladder(Ws0, ds, k), "trained": fgln.alignment_rho_ladder(Ws, ds, k)}


def _fig4_outcome(ctx, items, r_cluster, setting):
    from matplotlib.figure import Figure

    rows, ok = [], True
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(111)
    for i, (Ws0, Ws, ds) in enumerate(items):
        st, lg = fig4_stats(Ws0, Ws, ds, r_cluster)
        rows.append({"seed": i, **st})
        tr, it = st["trained"], st["init"]
        cluster_ok = tr["largest_gap"] >= 1.0 and tr["largest_gap"] > 2 * it["largest_gap"]
        if r_cluster:
            cluster_ok &= tr["largest_gap_after_k"] == r_cluster
        ok &= it["median_R2"] >= 0.9 and tr["median_R2"] >= 0.9 and cluster_ok
        if i == 0:
            for k in range(lg.shape[1]):
                ax.plot(np.arange(2, lg.shape[0] + 2), lg[:, k], color="C1", lw=0.7)
            ax.set_xlabel("l (B_l; l = L+1 is J)")
            ax.set_ylabel("log s_k(B_l), trained")
    return Outcome(
        Status.SUPPORTED if ok else Status.REFUTED,
        f"log s_k(B_l) affine in l (median R^2 init >= {min(x['init']['median_R2'] for x in rows):.3f}, trained >= "
        f"{min(x['trained']['median_R2'] for x in rows):.3f}); after training the largest log-gap of J is "
        f"{', '.join(str(x['trained']['largest_gap_after_k']) for x in rows)} (size >= "
        f"{min(x['trained']['largest_gap'] for x in rows):.2f} vs init <= {max(x['init']['largest_gap'] for x in rows):.2f})",
        evidence={"per_seed": rows},
        method=setting + " For l = 2..L+1 (B_{L+1} := J) and the top K = min(30, smallest gate rank) singular values "
               "(the nonzero ones), each curve l -> log s_k(B_l) is fitted by a line. Rules on every seed: median R^2 "
               ">= 0.9 at init and after training ('affine in depth'); 'two clusters': after training the largest gap "
               "between consecutive log s_k(J), k <= K-3 (away from the rank edge), is >= 1, more than twice the largest gap at init"
               + (f", and sits after k = {r_cluster} (the target rank)." if r_cluster else "."),
        figures={"fig4_trained_B_spectra": fig},
    )


def _fig5_outcome(ctx, items, setting):
    from matplotlib.figure import Figure

    rho_i, rho_t, rows = [], [], []
    for i, (Ws0, Ws, ds) in enumerate(items):
        st = fig5_stats(Ws0, Ws, ds)
        rho_i.append(st["init"])
        rho_t.append(st["trained"])
        rows.append({"seed": i, "k": st["k"], "rho_init": np.round(st["init"], 3).tolist(),
                     "rho_trained": np.round(st["trained"], 3).tolist()})
    rho_i, rho_t = np.array(rho_i), np.array(rho_t)
    Lm1 = rho_i.shape[1]
    dec = _spearman(np.arange(Lm1), rho_i.mean(0))
    diff = (rho_t - rho_i).ravel()
    m, se = mean_se(diff)
    z = m / se if se > 0 else np.inf
    zc = ctx.z(1)
    spread_i, spread_t = int(np.sum(rho_i >= 0.5)), int(np.sum(rho_t >= 0.5))
    ok = dec <= -0.8 and z > zc and spread_t > spread_i
    # an increase that is positive but not significant at this budget is undecided, not refuted
    undecided = dec <= -0.8 and spread_t > spread_i and 0 < z <= zc
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(111)
    ax.plot(np.arange(1, Lm1 + 1), rho_i.mean(0), "o-", label="init")
    ax.plot(np.arange(1, Lm1 + 1), rho_t.mean(0), "o-", label="trained")
    ax.set_xlabel("l")
    ax.set_ylabel("rho(U_J^T U_{A_l}) (top-k block)")
    ax.legend()
    return Outcome(
        Status.SUPPORTED if ok else (Status.INCONCLUSIVE if undecided else Status.REFUTED),
        f"init: rho decreases with l (Spearman {dec:.2f}); trained - init = {m:.3f} +- {se:.3f} SE (z = {z:.1f} vs "
        f"{zc:.1f}); #(l, seed) with rho >= 0.5: {spread_i} -> {spread_t}",
        evidence={"per_seed": rows, "spearman_l_rho_init": dec, "mean_diff": m, "se_diff": se, "z": z, "z_crit": zc,
                  "count_rho>=0.5_init": spread_i, "count_rho>=0.5_trained": spread_t},
        method=setting + " rho = theory.diagcorr.rho of the top-left k x k block of U_J^T U_{A_l}, k = min(20, smallest "
               "gate rank) (beyond the rank of J its singular vectors are arbitrary), l = 1..L-1. Rules: (1) 'most "
               "noticeable for low l' at init: Spearman(l, mean rho_init) <= -0.8; (2) 'amplified': mean over "
               "(seed, l) of rho_trained - rho_init > 0 at the claim's Bonferroni level (SE over the pooled (seed, l) "
               "differences, which are not independent across l); (3) 'spread to higher l': more (seed, l) pairs "
               "with rho >= 0.5 after training.",
        figures={"fig5_rho": fig},
    )


FIG4 = r"""Figure 4. Spectrum of $\log s_{k,\ell}$ for the top 30 log-singular values of the intermediate Jacobians B_ℓ as ℓ varies, at initialization (left, $L = 100$) and trained in the MNIST setting (right), $p = 0.5$.

We plot in Figure 4 the depth scaling property of the intermediate Jacobians B_ℓ , at initialization and after training. As expected, the log-singular values are affine functions in the depth. After training, the emergence of two clusters is consistent with an effectively low-rank Jacobian geometry."""

FIG5 = r"""Figure 5. Diagonal correlation coefficient of $U_{J_L}^\top U_{A_\ell}$ at initialization (blue) and trained in the MNIST setting (orange) with $p = 0.5$

At initialization the alignment is most noticeable for low values of ℓ as expected, while this effect is amplified and spread out to higher values of ℓ after training."""


def _synthetic_items(ctx):
    return [(run.Ws0, run.Ws, run.ds) for _, run in g1_runs(ctx)]


claim(
    id="fig-4/trained-synthetic",
    ref="Figure 4, right panel (Section 8), on the G.1 task",
    section="Section 8",
    statement=FIG4,
    reading="Trained-panel assertions checked on the G.1 synthetic task instead of MNIST (runs by default): "
            "log s_k(B_l) affine in l before and after training, and two clusters after training.",
    hypotheses=("square FGLN, p = 0.5", "G.1 task instead of MNIST"),
    exercises="independent seeds.",
    depends_on=("def-4.6",),
    kind=Kind.FIGURE,
    check=lambda ctx: _fig4_outcome(ctx, _synthetic_items(ctx), g1_config(ctx)["rank"], _cfg_text(ctx)),
)

claim(
    id="fig-5/trained-synthetic",
    ref="Figure 5, orange curve (Section 8), on the G.1 task",
    section="Section 8",
    statement=FIG5,
    reading="Trained-curve assertions checked on the G.1 synthetic task instead of MNIST (runs by default).",
    hypotheses=("square FGLN, p = 0.5", "G.1 task instead of MNIST"),
    exercises="independent seeds.",
    kind=Kind.FIGURE,
    check=lambda ctx: _fig5_outcome(ctx, _synthetic_items(ctx), _cfg_text(ctx)),
)


def _mnist_items(ctx):
    """None if no local MNIST, else trained hidden blocks for the profile's seeds."""
    import torch

    root = ctx.data.get("mnist")
    if not root or dynamics.find_mnist(root) is None:
        return None
    cfg = ctx.pick(quick=dict(N=3000, steps=300, seeds=2), full=dict(N=20000, steps=3000, seeds=3))
    key = ("mnist", ctx.seed, ctx.profile.name, ctx.device, root)
    if key not in _CACHE:
        items = []
        for i in range(cfg["seeds"]):
            sd = derive_seed(ctx.seed, "mnist-training", i)
            X, y = dynamics.load_mnist(root, cfg["N"], np.random.default_rng(sd))
            gen = torch.Generator()  # CPU draws, device-independent initialisation
            gen.manual_seed(sd)
            run = dynamics.train_mnist_fgln(X, y, n=128, L=10, p=0.5, lr=0.05, steps=cfg["steps"], batch=128,
                                           gen=gen, device=ctx.device)
            items.append((run.Ws0, run.Ws, run.ds, run.acc))
        _CACHE[key] = items
    return _CACHE[key]


NO_MNIST = ("not executable: MNIST is not available locally (it is never downloaded); provide it with "
            "`python -m checks verify --mnist-root PATH` (torchvision raw layout: PATH/MNIST/raw/"
            "train-images-idx3-ubyte and train-labels-idx1-ubyte, .gz accepted)")

MNIST_SETTING = ("MNIST (local idx files), n = 128 hidden width, L = 10 hidden square layers, p = 0.5 gates, "
                 "sigma = 1/sqrt(n), 784 -> n and n -> 10 adapters, cross-entropy, minibatch SGD lr 0.05, batch 128; "
                 "no auto-augment (not reproduced). Spectra on the hidden square block.")


def _fig4_mnist(ctx):
    items = _mnist_items(ctx)
    if items is None:
        return Outcome(Status.NOT_EXECUTABLE, NO_MNIST)
    out = _fig4_outcome(ctx, [it[:3] for it in items], None, MNIST_SETTING)
    out.evidence["train_accuracy"] = [it[3] for it in items]
    return out


def _fig5_mnist(ctx):
    items = _mnist_items(ctx)
    if items is None:
        return Outcome(Status.NOT_EXECUTABLE, NO_MNIST)
    out = _fig5_outcome(ctx, [it[:3] for it in items], MNIST_SETTING)
    out.evidence["train_accuracy"] = [it[3] for it in items]
    return out


claim(
    id="fig-4/trained",
    ref="Figure 4, right panel (Section 8)",
    section="Section 8",
    statement=FIG4,
    reading="MNIST trained panel: log s_k(B_l) affine in l, and two clusters after training.",
    hypotheses=("square FGLN n = 128, L = 10, p = 0.5", "MNIST"),
    exercises="independent seeds (needs a local MNIST).",
    depends_on=("def-4.6",),
    kind=Kind.FIGURE,
    check=_fig4_mnist,
)

claim(
    id="fig-5/trained",
    ref="Figure 5, orange curve (Section 8)",
    section="Section 8",
    statement=FIG5,
    reading="MNIST trained curve: alignment amplified and spread to higher l after training.",
    hypotheses=("square FGLN n = 128, L = 10, p = 0.5", "MNIST"),
    exercises="independent seeds (needs a local MNIST).",
    kind=Kind.FIGURE,
    check=_fig5_mnist,
)
