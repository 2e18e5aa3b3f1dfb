"""Helpers of Appendix F, Figures 3-5 and 10-12 and Section 4 that mutation testing found unguarded (issue 17,
part 6).

Each test compares one helper that feeds a verdict, a foil, a tolerance, a profile's panel choice or a piece of
evidence with what it is defined to be (a hand-built matrix whose statistic is known, a brute-force minimum,
the comment or docstring that defines the choice), so a slip in the helper fails here even where no claim's
verdict changes. Float comparisons use tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from checks.model import REGISTRY
from checks.tolerance import tol
from tests.conftest import within
from theory import diagcorr as dc
from theory.claims import app_f, fig_alignment, fig_depth, sec4

EPS = np.finfo(float).eps


# -- Appendix F: the absolute-value check's np.cov reference -----------------------------------------

@pytest.mark.parametrize("A", [np.fliplr(np.diag([1.0, 2.0, 3.0])) + np.diag([0.0, 0.5, 0.0]),
                               np.array([[0.0, 1.0, 4.0], [1.0, 2.0, 0.0], [3.0, 0.0, -1.0]]),
                               -np.diag([1.0, 2.0, 3.0, 4.0]) + np.eye(4, k=1)])
def test_abs_cmp_passes_and_its_tolerance_scales_with_sigma_x_sigma_y(A):
    """``_abs_cmp`` on a defined matrix (negative, interior and positive rho): it passes, and its tolerance is
    tol(n^2, scale=n^2 / (sigma_X sigma_Y), kernels=4) with sigma_X, sigma_Y the marginal standard deviations of
    the grid coordinates under P = |A| / sum |A|, computed here from the definition."""
    n = A.shape[0]
    P = np.abs(A) / np.abs(A).sum()
    r = np.arange(1, n + 1)
    px, py = P.sum(1), P.sum(0)
    sx = math.sqrt(px @ r**2 - (px @ r) ** 2)
    sy = math.sqrt(py @ r**2 - (py @ r) ** 2)
    cmp = app_f._abs_cmp(A)
    assert cmp.ok
    want = tol(n * n, scale=n * n / (sx * sy), kernels=4)
    assert within(abs(cmp.tol - want), 4 * n * EPS * want, "abs_cmp tolerance")


def test_mp_rho_is_pearson_of_a_hand_computed_distribution():
    """``_mp_rho`` on A = [[1, 1], [0, 2]]: P = (1/4)[[1, 1], [0, 2]]; X in {1, 2} with P(X=2) = 1/2,
    Y with P(Y=2) = 3/4, E XY = (1 + 2 + 4 * 2) / 4 = 11/4, so Cov = 11/4 - 3/2 * 7/4 = 1/8,
    sigma_X = 1/2, sigma_Y = sqrt(3)/4, rho = (1/8) / (sqrt(3)/8) = 1/sqrt(3)."""
    rho, sx, sy = app_f._mp_rho(np.array([[1.0, 1.0], [0.0, 2.0]]))
    for got, want in ((rho, 1 / math.sqrt(3)), (sx, 0.5), (sy, math.sqrt(3) / 4)):
        assert within(abs(got - want), 4 * EPS, "mp_rho")


# -- Figures 5 and 10-12: recomputations, evidence, panel choice -------------------------------------

def test_independent_g2_top_block_is_rho_of_uj_transpose_ua():
    """With A_l = J the left singular frames coincide (same input, same SVD), so U_J^T U_{A_l} = I and the 'top'
    statistic rho(top-left k x k of U_J^T U_A) is exactly rho(I_k) = 1 for every k; and with A_l = J Q (Q
    orthogonal on the right) the left frame is unchanged up to column signs, so rho stays 1 (|R| = I)."""
    rng = np.random.default_rng(17)
    n, Lm1, ks = 8, 2, (3, 4)
    J = rng.standard_normal((1, n, n))
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = np.stack([J[0], J[0] @ Q])[None]
    top = fig_alignment._independent_g2(J, A, ks=ks)["values"]
    for k in ks:
        assert within(np.abs(top[k]["top"] - 1.0), 8 * n * k * k * EPS, f"top k={k}")
        assert top[k]["top"].shape == (1, Lm1)


def test_fig5_haar_evidence_is_the_change_of_the_range_block(monkeypatch):
    """The evidence 'range block unchanged by Haar null bases (max |change|)' is max |rho(range) - rho(range/haar)|
    over the draws (Haar rotation of the null columns leaves the k x k range block's rho unchanged, so it is ~0,
    while rho itself is of order one). Run on a small FGLN (n = 16, L = 4) for speed."""
    monkeypatch.setattr(fig_alignment, "F5_N", 16)
    monkeypatch.setattr(fig_alignment, "F5_L", 4)
    d = fig_alignment._fig5_data.__wrapped__(0, 2, "fgln")
    change = d["diag"]["range block unchanged by Haar null bases (max |change|)"]
    r, rh = d["rho"]["range"], d["rho"]["range/haar"]
    assert change == float(np.nanmax(np.abs(r - rh)))
    assert np.nanmax(np.abs(r)) > 0.1 > change


class _Stop(Exception):
    pass


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_lesser_check_masked_rerun_panels(monkeypatch, profile):
    """Fig. 10's 'to a lesser extent' check re-runs the masked reading on the cheap n = 64 panels in the quick
    profile (PANELS are (p, n) pairs: columns p, rows n) and on all four in the full profile."""
    seen = {}

    def fake(ctx, **kw):
        seen.update(kw)
        raise _Stop

    monkeypatch.setattr(fig_alignment, "_g2_check", fake)
    with pytest.raises(_Stop):
        fig_alignment._lesser_check(SimpleNamespace(profile=SimpleNamespace(name=profile)))
    reading, panels = seen["secondary"]
    assert reading == "masked"
    want = fig_alignment.PANELS if profile == "full" else [(0.5, 64), (1.0, 64)]
    assert list(panels) == want


# -- Section 4: Definition 4.6's independent Chebyshev fit, Prop. 4.5's exponent foil ---------------

def _cheb_by_triples(y, x):
    """Minimal sup-residual of an affine fit = the max over triples a < b < c of half the vertical distance of
    (x_b, y_b) from the chord through the outer two (a Chebyshev set for affine functions has 3 points)."""
    best = 0.0
    for a, b, c in itertools.combinations(range(len(x)), 3):
        chord = y[a] + (y[c] - y[a]) * (x[b] - x[a]) / (x[c] - x[a])
        best = max(best, abs(y[b] - chord) / 2)
    return best


def test_cheb_independent_is_the_minimax_affine_error():
    """``sec4._cheb_independent`` (the reference for Definition 4.6's eps) against the triple formula, on
    affine ladders l*gamma + delta plus noise at the depths 1..L the claim uses."""
    rng = np.random.default_rng(46)
    for L in (3, 5, 8, 12):
        x = np.arange(1.0, L + 1)
        for _ in range(5):
            y = rng.uniform(-2, 2) * x + rng.uniform(-2, 2) + rng.uniform(-1, 1, L)
            got, want = sec4._cheb_independent(y, x), _cheb_by_triples(y, x)
            scale = np.max(np.abs(y)) + np.max(np.abs(x))
            assert within(abs(got - want), 16 * L * scale * EPS, f"cheb L={L}")


def test_missing_simple_exponent_foil_is_two_minus_one_over_L():
    """The corrected form's foil 'exponent 2 - 1/L' evaluates the ODE with s^{2-1/L}: its power at the flow's
    L = 2 is 3/2, a slip of 1/L = 1/2 = the foil's stated size from the exponent 2 - 2/L."""
    c = REGISTRY["prop-4.5/missing-simple"]
    foil = next(f for f in c.corrected.foils if f.statement == "exponent 2 - 1/L")
    power = foil.check.keywords["power"]
    L = sec4.CROSS["L"]
    assert power(L) == 2 - 1 / L
    assert power(L) - (2 - 2 / L) == foil.size


# -- Figures 3, 4 and 9: Bonferroni counts, bracket ends K, powers --------------------------------

def test_Ks_stops_at_48_for_half_gates():
    """At p = 0.5 the cumulative constants stop at K = 48 (rank J_20 >= 56 holds for too few products): the top
    64 of Fig. 3 adds no K = 64 bracket there; Fig. 9's kmax = 30 (<= 48) is added; at p = 1 kmax always is."""
    assert fig_depth._Ks(0.5, 64) == (1, 2, 4, 8, 16, 24, 32, 40, 48)
    assert fig_depth._Ks(0.5, 30) == (1, 2, 4, 8, 16, 24, 30)
    assert fig_depth._Ks(1.0, 64) == (1, 2, 4, 8, 16, 24, 32, 48, 64)
    assert fig_depth._Ks(1.0, 30) == (1, 2, 4, 8, 16, 24, 30)


class _Ctx:
    """The few context methods the figure checks call: the quick profile's sizes, and ctx.t recording the
    number of comparisons its critical value is shared between."""

    def __init__(self):
        self.calls = []

    def pick(self, quick=None, **_):
        return quick

    def t(self, comparisons=1, dof=1):
        self.calls.append(comparisons)
        return 4.0


def _count_tests(monkeypatch):
    n = {"test": 0}
    real = fig_depth.stats.test

    def spy(*a, **k):
        n["test"] += 1
        return real(*a, **k)

    monkeypatch.setattr(fig_depth.stats, "test", spy)
    return n


@pytest.mark.parametrize("kmax", [30, 64])
def test_spectrum_bonferroni_count_is_the_tests_it_performs(monkeypatch, kmax):
    """Fig. 3/9's critical value is shared between the tests the check performs: per index k one Benettin test
    (stats.test) and one two-sided 'better/worse than gamma_k' comparison, per bracket its lower end, upper end
    and exact point estimate (3). Synthetic log-singular values (finite for every k) stand in for the products;
    the count is taken where the brackets are decided."""
    rng = np.random.default_rng(3)
    m, L = 48, fig_depth.FIG_L
    data = {L: (rng.standard_normal((m, kmax)) - np.arange(kmax), rng.standard_normal((m, kmax)))}
    monkeypatch.setattr(fig_depth, "_data", lambda ctx, p: data)
    monkeypatch.setattr(fig_depth, "_brackets", lambda ctx, p, L, Ks: [("bracket", K) for K in Ks])
    seen = {}

    def decide(ctx, items, constant, crit):
        seen["items"] = len(items)
        raise _Stop

    monkeypatch.setattr(fig_depth, "_decide", decide)
    n = _count_tests(monkeypatch)
    ctx = _Ctx()
    with pytest.raises(_Stop):
        fig_depth._spectrum(ctx, kmax, name="t")
    assert n["test"] == 2 * kmax  # one Benettin test per (p, k)
    assert ctx.calls == [n["test"] + n["test"] + 3 * seen["items"]]


def test_fig4_bonferroni_count_and_band_powers(monkeypatch):
    """Fig. 4's critical value is shared between its tests: two one-sided band tests per (k, l) (each with its
    power computed by _ladder.one_sided_power), and every stats.test (exact per-k tests at the deepest l, top-K
    sums at every l). The two one-sided powers of a band test are at margins lo - E o and E o - hi from the same
    expected offset E o, so the margins add up to lo - hi = -(d_(k-1) + d_k), the band's width, for any slope."""
    from theory import lyapunov

    rng = np.random.default_rng(4)
    m, K, ells = 48, 30, list(range(10, 101, 10))
    cols = 32
    data = {l: (l * np.array([fig_depth._gamma(k, 0.5) for k in range(1, cols + 1)])
                + rng.standard_normal((m, cols)),) for l in ells}
    monkeypatch.setattr(fig_depth, "_data", lambda ctx, p: data)
    zero = np.zeros(m)
    monkeypatch.setattr(fig_depth, "_remainders",
                        lambda ctx, d, ells, K, keep: {l: {k: zero for k in range(K + 1)} for l in ells})
    margins = []
    real_osp = fig_depth._ladder.one_sided_power

    def osp(margin, se, crit):
        margins.append(margin)
        return real_osp(margin, se, crit)

    monkeypatch.setattr(fig_depth._ladder, "one_sided_power", osp)
    n = _count_tests(monkeypatch)
    ctx = _Ctx()
    fig_depth._fig4(ctx)
    assert len(margins) == 2 * K * len(ells)
    assert n["test"] == K + len(ells)
    assert ctx.calls == [len(margins) + n["test"]]
    N = fig_depth.N
    for i, (a, b) in enumerate(zip(margins[::2], margins[1::2])):
        k = i // len(ells) + 1
        width = lyapunov.d(k - 1, N) + lyapunov.d(k, N)
        assert within(abs(a + b + width), 64 * EPS * (abs(a) + abs(b) + width), f"band margins k={k}")


def test_independent_g2_aat_tolerance_is_k_squared_times_the_product_bound():
    """The 'aat' statistic rho(A_l[:k] A_l[:k]^T) involves no SVD: its recomputation tolerance is the backward
    error of the product (tol(n, kernels=2)) times k^2 for rho's sums over the k x k block (the docstring's
    derivation), with k the largest block size compared; the evidence 'max ratio to tolerance' is relative to it."""
    rng = np.random.default_rng(12)
    n, ks = 8, (3, 4)
    J, A = rng.standard_normal((1, n, n)), rng.standard_normal((1, 2, n, n))
    t = fig_alignment._independent_g2(J, A, ks=ks)["tol"]["aat"]
    assert np.all(t == tol(n, kernels=2) * max(ks) ** 2)
