"""Mutation survivors of the population sweep (seed 106) in fig_training.py and sec4.py (issue 17, part 6,
round r, helper 6).

Each test recomputes what a helper reports from its definition, independently of the package's own helpers:
Figure 4's outcome evidence (the per-run rows at their stated precision, the initial population's mean, SE
and SD of each statistic, the summary's gap positions), Figure 7's stand-in for a run without a finite
iterate (its R^2 in the evidence and the summary), and Proposition 4.5's singular-value ODE table and
summary (the first 12 rows, each number at its stated precision; the worst relative errors printed).
Float tolerances come from float64 eps and the sizes involved.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import mpmath as mp
import numpy as np
import pytest

from checks.model import Context, Status
from checks.tolerance import tol
from tests.conftest import fig7_iterate, within
from theory.claims import fig_training as ft
from theory.claims import sec4

EPS = float(np.finfo(np.float64).eps)


def _rounded(v, w, dec, what, scale=1.0):
    """v is w rounded to dec decimals: no more digits than dec, and within half a unit of the last digit of
    w (beyond it only by float rounding of the scaled value)."""
    assert v == round(v, dec), (what, v)
    assert within(abs(v - w) - 0.5 * 10.0 ** -dec, tol(4, scale=scale + abs(w)), what), (what, v, w)


# ---------------------------------------------------------------------------------------------
# fig_training._fig4_outcome: the evidence (per-run rows, the initial population's statistics)
# ---------------------------------------------------------------------------------------------

def _fig4_stats(rng, R=5):
    """Per-run statistics shaped as _fig4_stats', init and trained different, every number with many digits."""
    stats = []
    for i in range(R):
        by_tag = {}
        for tag in ("init", "trained"):
            gaps = 0.05 + 0.02 * rng.random(14)
            gaps[9 if tag == "trained" else 3 + i % 3] = 2.0 + rng.random()
            logs = -np.concatenate([[0.0], np.cumsum(gaps)])
            by_tag[tag] = {"misfit": {m: -3.0 + rng.standard_normal() for m in ft.MODELS},
                           "contrast": 3.0 + rng.random(), "top_gap_ratio": 2.0 + rng.random(),
                           "logs_J": logs, "logs_B": np.stack([logs] * 3),
                           "largest_gap": 2.0 + rng.random(),
                           "largest_gap_after_k": 10 if tag == "trained" else 4 + (i % 2)}
        stats.append({"K": 15 + i, **by_tag})
    return stats


@pytest.mark.parametrize("r_cluster", [None, 10])
def test_fig4_outcome_evidence_rows_and_population_statistics_are_their_definitions(r_cluster):
    """_fig4_outcome's evidence: per run, K and for init and trained each misfit, the contrast, the largest gap
    and the top-gap ratio rounded to 3 decimals and the position of the largest gap; the population at
    initialisation's contrast (column 0: mean, SE, SD with ddof 1, count) and top-gap ratio (column 1: mean,
    SE), with the two columns' spreads far apart so that a column slip shows; the summary's sorted positions."""
    rng = np.random.default_rng(606)
    stats = _fig4_stats(rng)
    N = 37
    pop = np.stack([0.5 + 0.1 * rng.standard_normal(N), 0.3 + 0.7 * rng.standard_normal(N)], 1)
    out = ft._fig4_outcome(Context(claim_id="fig-4/trained-synthetic"), stats, pop, "", r_cluster=r_cluster,
                           plot=False)
    ev = out.evidence
    rows = ev["per_run"]
    assert len(rows) == len(stats)
    for row, s in zip(rows, stats):
        assert row["K"] == s["K"] and set(row) == {"K", "init", "trained"}
        for tag in ("init", "trained"):
            got, src = row[tag], s[tag]
            assert set(got["misfit"]) == set(src["misfit"])
            for m, v in src["misfit"].items():
                _rounded(got["misfit"][m], v, 3, f"{tag} misfit {m}")
            for key in ("contrast", "largest_gap", "top_gap_ratio"):
                _rounded(got[key], src[key], 3, f"{tag} {key}")
            assert got["largest_gap_after_k"] == src["largest_gap_after_k"]
    for col, key, fields in ((0, "init_population_contrast", ("mean", "se", "sd", "count")),
                             (1, "init_population_top_gap_ratio", ("mean", "se"))):
        x = [float(v) for v in pop[:, col]]
        mean = math.fsum(x) / N
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in x) / (N - 1))
        want = {"mean": mean, "se": sd / math.sqrt(N), "sd": sd, "count": N}
        got = ev[key]
        assert set(got) == set(fields), key
        for f in fields:
            assert within(abs(got[f] - want[f]), tol(N, scale=abs(want[f]) + 1.0, kernels=4), f"{key} {f}"), \
                (key, f, got[f], want[f])
    assert ev["r_cluster"] == r_cluster and ev["model"] == "affine"
    pos = sorted({s["trained"]["largest_gap_after_k"] for s in stats})
    assert out.summary.endswith(f"largest log-gap of trained J after k = {pos}"), out.summary


# ---------------------------------------------------------------------------------------------
# fig_training._fig7_check: a run whose open-loop iterate is finite for no C
# ---------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflowing iterate and log(0) of the exact fits
def test_fig7_rms_error_and_r2_by_run_are_their_definitions_and_a_run_without_a_finite_iterate_counts_as_10(monkeypatch):
    """A run for which no C of the grid keeps the iterate finite and positive (|g| so large that one step of
    the smallest |C| leaves (0, 1e6)) stands in with log(1 - R^2) = 10, far worse than the threshold: its
    relative RMS error is capped at 1, its reported R^2 is 1 - e^10 (4 decimals), and the printed mean and
    minimum R^2 include it; the runs that follow the iterate exactly keep R^2 = 1, and a noisy run's R^2 and
    relative RMS error sqrt(SSE / SST) are those of the least-SSE C (brute force over the grid, plain loops)."""
    ctx = Context(claim_id="fig-7")
    cfg = ft.g1_config(ctx)
    L, lr = cfg["L"], cfg["lr7"]
    a = 2 - 2 / L
    grid = ft._c_grid(lr, L, "free")
    rng = np.random.default_rng(66)
    T = 40
    runs = []
    for i in range(3):
        g = -np.exp(-np.arange(T) / 12.0) * (1 + 0.2 * rng.standard_normal(T))
        C = float(grid[np.argmin(np.abs(grid + (0.003 + 0.001 * i)))])
        s1 = fig7_iterate(0.3 + 0.05 * i, g, C, a)
        runs.append((None, SimpleNamespace(svals=np.stack([s1, 0.5 * s1[::-1]], 1), g1=g, steps=np.arange(T + 1))))
    s_bad = 0.3 * np.exp(-np.arange(T + 1) / 20.0)
    g_bad = np.full(T, 1e12)
    # the smallest step |C| s^a |g| from s(0) already leaves (0, 1e6) on both signs of C
    assert np.min(np.abs(grid)) * s_bad[0] ** a * g_bad[0] > 1e6 + s_bad[0]
    runs.insert(1, (None, SimpleNamespace(svals=np.stack([s_bad, s_bad], 1), g1=g_bad, steps=np.arange(T + 1))))
    # an inexact run: the iterate with 1 % noise on s (0 < R^2 < 1)
    g = -np.exp(-np.arange(T) / 12.0) * (1 + 0.2 * rng.standard_normal(T))
    s_noisy = fig7_iterate(0.4, g, -0.05, a) * (1 + 0.01 * rng.standard_normal(T + 1))
    runs.append((None, SimpleNamespace(svals=np.stack([s_noisy, s_noisy], 1), g1=g, steps=np.arange(T + 1))))
    sse = _open_loop_sse(s_noisy, g, a, grid)
    sst = math.fsum((v - math.fsum(s_noisy) / len(s_noisy)) ** 2 for v in s_noisy)
    r2_noisy = 1.0 - sse / sst
    assert 0.5 < r2_noisy < 1.0 - 1e-3, r2_noisy
    monkeypatch.setattr(ft, "g1_runs", lambda ctx_, kind="main": runs)
    out = ft._fig7_check(ctx, plot=False)
    r2 = [1.0, 1.0 - math.exp(10.0), 1.0, 1.0]
    assert out.evidence["R2_by_run"][:4] == [round(v, 4) for v in r2]
    _rounded(out.evidence["R2_by_run"][4], r2_noisy, 4, "R^2 of the noisy run", scale=1e3)
    first = out.evidence["tests"][0]
    rms = [0.0, 1.0, 0.0, 0.0, min(1.0, math.sqrt(sse / sst))]  # relative RMS error, capped at 1
    assert first["per_run"][:4] == [0.0, 1.0, 0.0, 0.0]
    _rounded(first["per_run"][4], rms[4], 4, "relative RMS error of the noisy run", scale=1e3)
    assert within(abs(first["estimate"] - math.fsum(rms) / 5), tol(T, scale=1e3), "mean relative RMS error")
    r2.append(r2_noisy)
    mean_r2 = math.fsum(r2) / 5
    assert f"{mean_r2 * (1 + 1e-9):.3f}" == f"{mean_r2 * (1 - 1e-9):.3f}", "reference near a rounding boundary"
    assert f"mean R^2 = {mean_r2:.3f} (min {min(r2):.3f})" in out.summary, out.summary


def _open_loop_sse(s, g, a, grid):
    """Least SSE over C in grid of the open-loop iterate x(t+1) = x(t) + C x(t)^a g(t), x(0) = s(0), against s;
    an iterate that leaves (0, 1e6) or is not finite at some step is excluded (written per C, plain loops)."""
    best = math.inf
    for C in grid:
        x, sse, ok = float(s[0]), 0.0, True
        for t in range(len(s) - 1):
            x = x + float(C) * x ** a * float(g[t])
            if not (math.isfinite(x) and 0 < x <= 1e6):
                ok = False
                break
            sse += (x - float(s[t + 1])) ** 2
        if ok:
            best = min(best, sse)
    return best


# ---------------------------------------------------------------------------------------------
# sec4._sv_ode_check: the evidence table and the printed worst relative errors
# ---------------------------------------------------------------------------------------------

def _sv_rows(rng, n_rows, rel_exact, rel_fd):
    """Rows shaped as sec4._sv_ode_study's (L = 2, 3, 4 cycling; t = 0 without 'fd'), s_k over two decades, g
    of both signs; 'exact' and 'fd' are the printed law -L s^(2-2/L) g (mpmath) times (1 + rel_*) per entry."""
    rows = []
    for i in range(n_rows):
        L, t = 2 + i % 3, [0.0, 0.5, 1.0][(i // 3) % 3]
        r = 3
        s = np.sort(10 ** rng.uniform(-1, 1, r))[::-1]
        g = rng.uniform(0.5, 2.0, r) * rng.choice([-1.0, 1.0], r)
        law = [-mp.mpf(L) * mp.mpf(float(sk)) ** (2 - mp.mpf(2) / L) * mp.mpf(float(gk)) for sk, gk in zip(s, g)]
        row = {"case": i // 9, "t": t, "L": L, "r": r, "s": s, "g": g, "law": law,
               "exact": np.array([float(v * (1 + rel_exact[i % len(rel_exact)][k])) for k, v in enumerate(law)])}
        if t > 0:
            row["fd"] = np.array([float(v * (1 + rel_fd[i % len(rel_fd)][k])) for k, v in enumerate(law)])
        rows.append(row)
    return {"rows": rows, "h": 1e-4}


def test_sv_ode_table_is_the_first_twelve_rows_at_their_precision_and_the_summary_its_worst_errors():
    """prop-4.5/sv-ode's evidence table: the first 12 rows (case, t, r), s_k at 6 decimals, the predicted rate
    -L s_k^(2-2/L) <grad, u_k v_k^T> and u_k^T Jdot v_k at 8; the summary prints the worst relative deviation of
    each measurement from the prediction (max_k |meas - pred| over max_k |exact|, worst over rows)."""
    rng = np.random.default_rng(6)
    rel_e = [[2e-9, -5e-9, 1e-9], [-3e-9, 1e-9, 4e-9]]
    rel_f = [[3e-7, -1e-7, 2e-7], [1e-7, -6e-7, 0.0]]
    d = _sv_rows(rng, 20, rel_e, rel_f)
    ctx = Context("prop-4.5/sv-ode")
    ctx.cache[(ctx.claim_id, "svode")] = d
    out = sec4._sv_ode_check(ctx)
    assert out.status is Status.VERIFIED
    table = out.evidence["rows"]
    assert len(table) == 12
    worst = {"exact": mp.mpf(0), "fd": mp.mpf(0)}
    for k, row in enumerate(d["rows"]):
        sc = max(abs(mp.mpf(float(v))) for v in row["exact"])
        for key in worst:
            if key in row:
                dev = max(abs(mp.mpf(float(v)) - w) for v, w in zip(row[key], row["law"])) / sc
                worst[key] = max(worst[key], dev)
        if k >= 12:
            continue
        got = table[k]
        assert (got["case"], got["t"], got["r"]) == (row["case"], row["t"], row["r"])
        for key, want, dec in (("s", [float(v) for v in row["s"]], 6), ("pred", [float(v) for v in row["law"]], 8),
                               ("u^T Jdot v", [float(v) for v in row["exact"]], 8)):
            assert len(got[key]) == row["r"], key
            for v, w in zip(got[key], want):
                _rounded(v, w, dec, f"row {k} {key}", scale=16.0)
    for key, want in (("exact", worst["exact"]), ("fd", worst["fd"])):
        w = float(want)
        txt = f"{w:.1e}"
        # the float prediction errs by a few ulps of |pred|, ~1e-6 of these deviations: the print is the same
        assert f"{w * (1 + 1e-5):.1e}" == txt == f"{w * (1 - 1e-5):.1e}", ("reference near a rounding boundary", key)
    assert f"rel. {float(worst['exact']):.1e} (u^T Jdot v) and {float(worst['fd']):.1e} (central differences)" \
        in out.summary, out.summary
