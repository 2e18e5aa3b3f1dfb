"""Mutation survivors in the section claim modules (fig_training, sec5...), killed by checks of the pieces
they corrupt against their definitions (issue 17, part 6).

Each test compares one piece that feeds a verdict, a foil, a plot or a piece of evidence with an
independent computation from its definition: a foil's bound or probability with the formula its statement
prints (mpmath / exact rationals), a foil's parameters with the numbers its statement names (on data built
so that the statement is true), a t-test's critical value with the Student quantile at df = runs - 1, a
plot's axes with the quantities its labels name. Training runs are replaced by small constructed runs.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from types import SimpleNamespace

import mpmath as mp
import numpy as np
import pytest
from scipy.stats import t as student_t

from checks.model import REGISTRY, Context, Status
from checks.tolerance import tol
from tests.conftest import fig7_iterate, within
from theory.claims import fig_training as ft
from theory.claims import sec5  # noqa: F401  (registers the Section 5 claims)

EPS = float(np.finfo(np.float64).eps)


def _foil(claim_id: str, needle: str):
    hits = [f for f in REGISTRY[claim_id].foils if needle in f.statement]
    assert len(hits) == 1, (claim_id, needle, [f.statement for f in REGISTRY[claim_id].foils])
    return hits[0]


# ----------------------------------------------------------------------------------------------
# sec5: def-5.2/acceptance and thm-5.3/minus-infinity foils
# ----------------------------------------------------------------------------------------------
_CELLS = [(n, p, r) for n in (8, 32, 128) for p in (0.1, 0.5, 0.9)
          for r in sorted({max(1, min(n, int(f * n * p))) for f in (0.0, 0.5, 1.0, 1.5)})]


def test_def52_dropped_hypothesis_foil_is_its_printed_bound():
    """The foil 'P(accept) >= 1 - exp(-(np-r)^2/(2np)) for every r' evaluates exactly that formula, on both
    sides of r = np (mpmath reference)."""
    foil = _foil("def-5.2/acceptance", "for every r")
    bound = foil.check.keywords["bound"]
    for n, p, r in _CELLS:
        mu = mp.mpf(n) * mp.mpf(p)
        want = float(1 - mp.exp(-(mu - r) ** 2 / (2 * mu)))
        got = float(bound(n, r, p))
        # a few roundings in (np - r)^2 / (2np), amplified by the exponent's size in exp()
        expo = float((mu - r) ** 2 / (2 * mu))
        assert within(abs(got - want), tol(4, scale=1.0 + expo * (1 - want))), (n, p, r, got, want)


def test_thm53_unconditioned_foil_is_the_binomial_pmf():
    """The foil 'a gate has rank exactly r with the unconditioned probability P(Bin(n, p) = r)' uses
    C(n, r) p^r (1-p)^(n-r) (exact rationals), not another pmf."""
    foil = _foil("thm-5.3/minus-infinity", "unconditioned probability")
    q = foil.check.keywords["q_rank_r"]
    for n, p, r in _CELLS + [(5, 0.5, 2), (5, 0.3, 2)]:
        pf = Fraction(p).limit_denominator(1000)
        want = float(math.comb(n, r) * pf ** r * (1 - pf) ** (n - r))
        got = q(n, r, p)
        assert within(abs(got - want), tol(4 * n, scale=want)), (n, p, r, got, want)


# ----------------------------------------------------------------------------------------------
# fig_training: constructed runs
# ----------------------------------------------------------------------------------------------
def _ctx(claim_id: str) -> Context:
    return Context(claim_id=claim_id)


def test_fig7_t_tests_use_df_runs_minus_one(monkeypatch):
    """Figure 7's two t-tests over R runs use the Student quantile with R - 1 degrees of freedom at the
    claim's level split over 2 tests (STATS_NOTE: 'df = runs - 1')."""
    R, T = 4, 40
    rng = np.random.default_rng(7)
    runs = []
    for i in range(R):
        g = -np.exp(-np.arange(T) / 12.0) * (1 + 0.2 * rng.standard_normal(T))
        s = fig7_iterate(0.3 + 0.05 * i, g, -0.004, 1.2 + 0.05 * i)
        runs.append((None, SimpleNamespace(svals=s[:, None], g1=g, steps=np.arange(T + 1))))
    monkeypatch.setattr(ft, "g1_runs", lambda ctx, kind="main": runs)
    ctx = _ctx("fig-7")
    out = ft._fig7_check(ctx, plot=False)
    want = float(student_t.isf(ctx.alpha / (2 * 2), R - 1))
    for t in out.evidence["tests"]:
        assert t["runs"] == R
        assert within(abs(t["t_crit"] - want), tol(4, scale=want)), (t["t_crit"], want)


def _fig8_runs(count: int = 3, n: int = 30, r: int = 10):
    rng = np.random.default_rng(8)
    runs = []
    for _ in range(count):
        s0 = np.sort(np.exp(-0.1 * np.arange(n) + 0.01 * rng.standard_normal(n)))[::-1]
        s1 = s0.copy()
        s1[:r] *= 4.0 * np.exp(0.05 * rng.standard_normal(r))
        s1[r:] *= np.exp(0.01 * rng.standard_normal(n - r))  # the other modes barely move
        runs.append((None, SimpleNamespace(svals=np.stack([s0, s1]))))
    return runs


def test_fig8_plot_draws_s_k_against_k(monkeypatch):
    """Figure 8's plot: both spectra drawn as s_k(J) (y, log scale) against k = 1..n (x), as its labels say."""
    runs = _fig8_runs()
    monkeypatch.setattr(ft, "g1_runs", lambda ctx, kind="main": runs)
    out = ft._fig8_check(_ctx("fig-8"), plot=True)
    ax = out.figures["fig8_spectrum"].axes[0]
    assert ax.get_xlabel() == "k" and ax.get_ylabel() == "s_k(J)" and ax.get_yscale() == "log"
    s0, s1 = runs[0][1].svals
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    for label, s in (("init", s0), ("trained", s1)):
        assert np.array_equal(lines[label].get_xdata(), np.arange(1, len(s) + 1)), label
        assert np.array_equal(lines[label].get_ydata(), s), label


# -- fig-4 on G.1: the foils' counts and indices are the ones their statements name ---------------
_K = 15


def _fig4_stats(split_after: int, runs: int = 6):
    """Per-run statistics whose trained log s_k(J), k <= 15, have one dominant gap right after k =
    ``split_after`` (and small, irregular gaps elsewhere)."""
    rng = np.random.default_rng(split_after)
    out = []
    for _ in range(runs):
        gaps = 0.05 + 0.02 * rng.random(_K - 1)
        gaps[split_after - 1] = 2.0 + 0.1 * rng.random()
        logs = -np.concatenate([[0.0], np.cumsum(gaps)])
        tr = {"misfit": {"affine": -4.0 + 0.1 * rng.standard_normal(), "power law": -2.0 + 0.1 * rng.standard_normal()},
              "contrast": 3.0 + 0.1 * rng.standard_normal(), "top_gap_ratio": 2.0 + 0.1 * rng.standard_normal(),
              "logs_J": logs, "logs_B": np.stack([logs * (l + 1) / 10 for l in range(10)]),
              "largest_gap": float(gaps.max()), "largest_gap_after_k": split_after}
        out.append({"K": _K, "init": tr, "trained": tr})
    return out


_WORDS = {"two": 2, "three": 3, "four": 4}


@pytest.mark.parametrize("claim_id", ["fig-4/trained-synthetic"])
def test_fig4_foils_compute_the_count_and_split_their_statements_name(claim_id, monkeypatch):
    """Each fig-4 foil that names a number of clusters or a split 'after k = N' decides that count / that
    N: its evidence records it, and on data whose clusters split exactly after k = N its split test agrees
    (and contradicts on data that split after N - 1)."""
    rng = np.random.default_rng(4)
    pop = np.stack([0.5 + 0.1 * rng.standard_normal(200), 0.3 + 0.1 * rng.standard_normal(200)], 1)
    monkeypatch.setattr(ft, "_g1_population", lambda ctx: pop)
    checked = 0
    for foil in REGISTRY[claim_id].foils:
        m = re.search(r"\b(two|three|four) clusters\b", foil.statement)
        if m:
            monkeypatch.setattr(ft, "_synthetic_stats", lambda ctx: _fig4_stats(10))
            out = foil.check(_ctx(claim_id))
            assert out.evidence["clusters"] == _WORDS[m.group(1)], foil.statement
            checked += 1
        m = re.search(r"after k = (\d+)", foil.statement)
        if m:
            k = int(m.group(1))
            for split, agrees in ((k, True), (k - 1, False)):
                monkeypatch.setattr(ft, "_synthetic_stats", lambda ctx, s=split: _fig4_stats(s))
                out = foil.check(_ctx(claim_id))
                assert out.evidence["r_cluster"] == k, foil.statement
                gap = [t for t in out.evidence["tests"] if "after k =" in t["name"]]
                assert len(gap) == 1 and f"after k = {k} " in gap[0]["name"], foil.statement
                assert gap[0]["agrees" if agrees else "contradicts"], (foil.statement, split, gap[0])
            checked += 1
    assert checked >= 4  # three clusters; split after 9, 11, 5
