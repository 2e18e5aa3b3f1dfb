"""Detectors and helpers of the training figures and of Appendix C, checked at their zeros (issue 17).

Each statistic a verdict of fig_training.py or the Appendix C modules rely on is shown ~ 0 (within a tolerance derived
from float64 eps and the sizes involved) on inputs where the truth is 0, and clearly nonzero where it is not;
each helper that feeds a foil is checked against its definition (and shown not to coincide with the truth).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import fig7_iterate, within

from checks.tolerance import tol
from theory.claims import _appendix_c, app_c
from theory.claims import fig_training as ft

EPS = float(np.finfo(np.float64).eps)


def _gradient_like(steps: int, seed: int = 0) -> np.ndarray:
    """Negative g(t) decaying to 0 (GD on a loss whose gradient along u_1 v_1^T shrinks), with noise."""
    rng = np.random.default_rng(seed)
    return -np.exp(-np.arange(steps) / (steps / 4)) * (1 + 0.2 * rng.standard_normal(steps))


# -- Figure 7: the exponent estimators -------------------------------------------------------------------
@pytest.mark.parametrize("a", [1.2, 1.8, 1.9, 2.0])
def test_increment_exponent_is_exact_on_the_iterate(a):
    g = _gradient_like(300)
    s = fig7_iterate(0.2, g, -0.003, a)
    ds = np.diff(s)
    # rounding: ds = s(t+1) - s(t) carries a relative error ~ eps s / |ds|, the slope that error times the
    # number of steps over the spread of log s
    tol = len(s) * EPS * float(np.max(s[:-1] / np.abs(ds))) / float(np.ptp(np.log(s)))
    est = ft.increment_exponent(s, g)
    assert abs(est - a) <= tol, (est, a, tol)
    # the neighbouring exponent (2 - 1/L vs 2 - 2/L at L = 10) is far outside that tolerance
    assert abs(ft.increment_exponent(fig7_iterate(0.2, g, -0.003, a + 0.1), g) - a) > 1e3 * tol


def test_increment_exponent_needs_usable_steps():
    g = np.zeros(10)
    assert math.isnan(ft.increment_exponent(np.linspace(1, 2, 11), g))


def test_best_exponent_recovers_the_vertex_of_a_parabola():
    exps = np.round(np.arange(0.0, 3.01, 0.25), 2)
    for a0 in (1.0, 1.37, 1.8):
        misfit = (exps - a0) ** 2 - 5.0
        assert abs(ft.best_exponent(exps, misfit) - a0) <= 16 * EPS * max(1.0, a0) / 0.25
    # a minimum at the grid's end stays there (no extrapolation)
    assert ft.best_exponent(exps, (exps - 5.0) ** 2) == exps[-1]


@pytest.mark.parametrize("a", [1.25, 1.8])
def test_open_loop_misfit_is_zero_on_the_iterate_and_not_for_another_exponent(a):
    L, lr = 10, 0.02
    g = _gradient_like(200, seed=1)
    grid = ft._c_grid(lr, L, "free")
    C = float(grid[np.argmin(np.abs(grid + 0.003))])  # a C on the grid: the iterate is reproduced exactly
    s = fig7_iterate(0.25, g, C, a)
    m, c_fit, tr = ft._misfit_grid(s, g, a, grid)
    assert c_fit == C
    assert np.array_equal(tr, s)
    assert 1 - math.exp(m) >= 1 - len(s) * EPS  # R^2 = 1 up to rounding (m = -inf when exact)
    m_other, _, _ = ft._misfit_grid(s, g, a + 0.5, grid)
    assert m_other > m and 1 - math.exp(m_other) < 1


# -- Figure 8: where the impact of training ends ----------------------------------------------------------
def _spectra(impact, zeros: int = 0):
    s0 = np.concatenate([np.geomspace(2.0, 0.5, len(impact)), np.zeros(zeros)])
    s1 = s0.copy()
    s1[: len(impact)] *= np.exp(np.asarray(impact, dtype=np.float64))
    return s0, s1


def _impact_tol(impact) -> float:
    """Rounding of impact_edge_margin: 4 impacts |log(s1 / s0)|, each off by the ratio's few-ulp relative error
    and its own rounding, on the scale max(1, max impact)."""
    return tol(4, scale=max(1.0, float(np.max(np.abs(impact)))))


def test_impact_edge_margin_sign_at_r_and_its_neighbours():
    r = 10
    impact = [3.0] * r + [0.1] * 10
    s0, s1 = _spectra(impact, zeros=5)
    t = _impact_tol(impact)
    assert within(abs(ft.impact_edge_margin(s0, s1, r, 25) - 2.9), t, "edge margin")
    for rr in (r - 1, r + 1):
        assert within(abs(ft.impact_edge_margin(s0, s1, rr, 25) + 2.9), t, "edge margin off by one")


def test_impact_edge_margin_is_zero_on_a_tie():
    # two equal edges (after k = 2 and after k = 4): the margin at either is 0
    s0, s1 = _spectra([2.0, 2.0, 1.0, 1.0, 0.0, 0.0])
    for r in (2, 4):
        assert within(abs(ft.impact_edge_margin(s0, s1, r, 6)), _impact_tol([2.0, 1.0]), "edge margin tie")


def test_impact_edge_margin_caps_at_the_rank():
    s0, s1 = _spectra([2.0, 2.0, 0.0], zeros=3)  # exact zeros beyond the rank: log(0/0) must not be used
    assert np.isfinite(ft.impact_edge_margin(s0, s1, 2, 100))
    with pytest.raises(ValueError):
        ft.impact_edge_margin(s0, s1, 3, 100)  # r at the rank: no k = r + 1 to compare


# -- figure tests over runs ------------------------------------------------------------------------------
def test_seed_test_at_its_zero_and_away_from_it():
    x = np.full(12, 0.7)
    t0 = ft._seed_test("exact", x, 5.0, sign=0, threshold=0.7)
    # identical runs: the difference from the threshold is rounding, never significant
    assert abs(t0["t"]) < 1 and t0["agrees"] and not t0["contradicts"]
    rng = np.random.default_rng(0)
    y = 0.7 + 0.01 * rng.standard_normal(12)
    assert ft._seed_test("noise", y, 5.0, sign=0, threshold=0.7)["agrees"]
    assert ft._seed_test("shifted", y + 0.1, 5.0, sign=0, threshold=0.7)["contradicts"]
    assert ft._seed_test("one-sided", y + 0.1, 5.0, sign=+1, threshold=0.7)["agrees"]


def _gap_tols(logs) -> tuple[float, float]:
    """(absolute rounding of a difference of two gaps, of the log of a ratio of two gaps) of ``logs``: each
    entry is a few roundings off its exact value on the scale M = max |logs|, so each gap errs by <= 3 ulp(M)
    (tol(1, scale=M) bounds it); the log of a ratio errs by the two gaps' relative errors, conditioned by M
    over the smallest gap (a lower bound on the two compared), plus its own rounding."""
    M = float(np.max(np.abs(logs)))
    g = -np.diff(logs)
    return tol(2, scale=M), tol(2, kappa=M / g[g > 0].min()) + tol(1, scale=math.log(M / g[g > 0].min()))


def test_gap_statistics_at_their_zeros():
    even = -0.3 * np.arange(20.0)  # equal gaps everywhere: no cluster, no preferred split
    t_gap, t_log = _gap_tols(even)
    c, gmax, _ = ft._cluster_contrast(even)
    assert within(abs(c), t_log, "contrast even") and within(abs(gmax - 0.3), t_gap, "largest gap even")
    assert within(abs(ft._gap_margin(even, 10)), t_gap, "gap margin even")
    split = even.copy()
    split[10:] -= 2.0  # one large gap after k = 10
    t_gap, t_log = _gap_tols(split)
    assert within(abs(ft._gap_margin(split, 10) - 2.0), t_gap, "gap margin split")
    assert ft._gap_margin(split, 9) < 0 and ft._gap_margin(split, 11) < 0
    assert ft._cluster_contrast(split)[2] == 10
    # the top-gap ratio: 0 with equal gaps, log(2.3 / 0.3) with one boundary, ~0 with two separate equal ones,
    # and a boundary spread over two adjacent gaps still counts once
    assert within(abs(ft._top_gap_ratio(even)), _gap_tols(even)[1], "top gap even")
    assert within(abs(ft._top_gap_ratio(split) - math.log(2.3 / 0.3)), t_log, "top gap split")
    three = split.copy()
    three[5:] -= 2.0
    assert within(abs(ft._top_gap_ratio(three)), _gap_tols(three)[1], "top gap three")
    smeared = even.copy()
    smeared[10:] -= 1.0
    smeared[11:] -= 1.0
    assert within(abs(ft._top_gap_ratio(smeared) - math.log(1.3 / 0.3)), _gap_tols(smeared)[1], "top gap smeared")


def _misfit_floor(x, y) -> float:
    """log(SSE / SST) at rounding level for the least-squares line of y on x: each residual is the rounding of
    a lstsq solve with the 2-column design [1, x] (its condition number) on the scale max |y| (the tests
    compare exp(log / 2), on the scale of the residuals)."""
    X = np.stack([np.ones_like(x), x], 1)
    r = tol(len(x), kappa=float(np.linalg.cond(X)), scale=float(np.max(np.abs(y))), kernels=2)
    return math.log(y.size * r**2 / float(np.sum((y - y.mean()) ** 2)))


def test_model_misfit_zero_on_exact_laws():
    l = np.arange(2, 12, dtype=np.float64)[:, None]
    rng = np.random.default_rng(3)
    slope, icpt = rng.uniform(-1, 1, 8), rng.uniform(-2, 2, 8)
    y = icpt + slope * l
    affine = ft._model_misfit(y)
    floor = _misfit_floor(l[:, 0], y)
    assert within(math.exp(affine["affine"] / 2), math.exp(floor / 2), "affine misfit") and affine["power law"] > floor
    y = icpt + slope * np.log(l)
    power = ft._model_misfit(y)
    floor = _misfit_floor(np.log(l[:, 0]), y)
    assert within(math.exp(power["power law"] / 2), math.exp(floor / 2), "power misfit") and power["affine"] > floor


# -- Appendix C helpers --------------------------------------------------------------------------------
def test_d_closed_at_its_zero_and_known_values():
    # |det Omega^{n,n}| = |det Omega| = 1: d_n(n) = 0 for every n
    # d_i(n) sums 2i digamma values (scipy: a few ulps each) at arguments in [1/2, n/2], where |psi| is at
    # most max(|psi(1/2)|, |psi(n/2)|) (psi is increasing)
    from scipy.special import digamma

    def t(i, n):
        return tol(2 * i, scale=max(abs(float(digamma(0.5))), abs(float(digamma(n / 2)))))

    for n in range(1, 9):
        assert within(abs(_appendix_c._d_closed(n, n)), t(n, n), "d_n(n)")
    # n = 3: |Omega_11| is uniform on [0, 1] (Archimedes), so d_1(3) = -E log U = 1; d_2(3) = d_1(3) (complement)
    assert within(abs(_appendix_c._d_closed(1, 3) - 1.0), t(1, 3), "d_1(3)")
    assert within(abs(_appendix_c._d_closed(2, 3) - 1.0), t(2, 3), "d_2(3)")
    assert _appendix_c._d_closed(0, 5) == 0.0 and _appendix_c._d_closed(1, 5) > 0


def test_c4_foil_helpers_differ_from_the_statement_where_they_should():
    # each foil of Lemma C.4 must differ from the printed lambda_i on some configuration it is run on (a foil
    # that coincides with the truth everywhere would be 'rejected' only by noise)
    for foil in (app_c._lam_above_r, app_c._lam_from_i, app_c._lam_approx):
        diffs = [abs(float(foil(i, n, p, s, r)) - float(app_c._mp_lam(i, n, p, s, r)))
                 for n, p, s, r in app_c._C4_CFGS for i in range(1, r + 1)]
        assert max(diffs) > 1e-3, foil.__name__
    # ... and the shifted-rank foil coincides exactly where r = n (nothing above r): documented, not hidden
    n, p, s, r = 5, 0.9, 0.5, 5
    assert float(app_c._lam_above_r(2, n, p, s, r)) == float(app_c._mp_lam(2, n, p, s, r))


def test_c3_foils_are_off_by_their_slip():
    for t, i in ((3, 1), (6, 3), (6, 6)):
        closed, slip = app_c._c3_closed(i, t, 1.0), i / 2 * math.log(2)
        # closed - (closed - slip): a rounding on the scale of each term
        assert within(abs(closed - app_c._c3_no_two(i, t, 1.0) - slip), tol(2, scale=max(abs(closed), slip)), "c3 slip")
        assert app_c._c3_shifted(i, t, 1.0) != app_c._c3_closed(i, t, 1.0)


def test_rel_resolution_uses_the_worst_cell():
    from checks import stats

    tests = [stats.test("a", 1.0, 0.01, 1.0, 4.0), stats.test("b", 2.0, 0.1, 2.0, 4.0)]
    res = _appendix_c._rel_resolution("c", tests, [1.0, 2.0])
    from scipy.stats import norm

    want = (4.0 + norm.ppf(0.9)) * 0.1 / 2.0
    # a quantile (scipy's ndtri, a few ulps), a sum, a product and a quotient, on the scale of the value
    assert within(abs(res.value - want), tol(4, scale=want), "resolution")
    assert res.unit == "relative"
