"""Helpers of Appendices C, D and E that mutation testing found unguarded (issue 17, part 6).

Each test compares one helper that feeds a verdict, a foil, a strategy's coverage or a piece of evidence
with an independent computation of what it is defined to be (mpmath, exact ranks, hand-derived sympy
limits, the definition of a minor), so a slip in the helper fails here even where no claim's verdict
changes. Float comparisons use tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import sympy as sp
from hypothesis import HealthCheck, find, settings

from checks.model import Context
from checks.tolerance import tol
from tests.conftest import within
from theory import subadditive
from theory.claims import app_c, app_c2, app_d, app_e
from theory.fgln import jdot_lemma_e1


# -- Lemma C.3 ------------------------------------------------------------------------------------

def test_c3_shifted_foil_is_the_formula_with_psi_of_t_minus_k_plus_2_over_2():
    """The foil 'index shifted: psi((t-k+2)/2)' is (i/2) ln(2 sigma^2) + (1/2) sum_{k<=i} psi((t-k+2)/2):
    recomputed term by term with mpmath at 30 digits, on the cells the claim runs (i <= t <= 6, extreme
    sigmas). Also (t-k+2)/2 = ((t+1)-k+1)/2: the foil is the printed formula at t + 1."""
    _, cells = app_c._c3_cells()
    for t, i, s in cells:
        with mp.workdps(30):
            want = (mp.mpf(i) / 2 * mp.log(2 * mp.mpf(s) ** 2)
                    + sum(mp.digamma(mp.mpf(t - k + 2) / 2) for k in range(1, i + 1)) / 2)
        got = app_c._c3_shifted(i, t, s)
        scale = abs(i / 2 * np.log(2 * s ** 2)) + sum(abs(float(mp.digamma((t - k + 2) / 2))) for k in range(1, i + 1))
        # i digamma values (a few ulps each), a log and their sum, on the scale of the terms
        assert within(abs(got - float(want)), tol(i + 2, scale=scale), f"t={t}, i={i}, sigma={s}"), (t, i, s, got, want)
        assert within(abs(got - app_c._c3_closed(i, t + 1, s)), tol(i + 2, scale=scale), "foil = printed at t+1")


def test_c3_exact_wedge_ranks_cover_every_case_with_the_generic_rank():
    """The exact-rank data of Lemma C.3's case split: one row per (n, t, i), 1 <= t <= n <= 6, 1 <= i <= n, and
    the rank of the first i columns of D W (D with t ones, W generic integers) is min(i, t): the i columns are
    independent exactly when i <= t. (An empty list would let the -oo branch pass vacuously.)"""
    data = app_c._c3_data(Context("lem-c.3/case-split"))
    want = {(nn, t, i) for nn in range(1, 7) for t in range(1, nn + 1) for i in range(1, nn + 1)}
    assert len(data["exact"]) == len(want)
    assert {(nn, t, i) for nn, t, i, _ in data["exact"]} == want
    bad = [row for row in data["exact"] if row[3] != min(row[2], row[1])]
    assert not bad, bad[:5]


# -- Lemma C.7 ------------------------------------------------------------------------------------

_L = app_c2._L


def _limits_of(monkeypatch, name, remainder):
    """``_c7_family_limits`` for a remainder f(L) not among the paper's families (bypassing its cache)."""
    monkeypatch.setitem(subadditive._REMAINDERS, name, remainder)
    return app_c2._c7_family_limits.__wrapped__(name)


def test_c7_family_limits_match_the_defect_of_each_family():
    """For u_L = f(L): d(x, y) = f(x) + f(y) - f(x + y); along y = x it is 2 f(L) - f(2L), along y = x + 1 it is
    f(L) + f(L + 1) - f(2L + 1). Hand-derived limits: every decaying remainder gives (0, 0); log and sqrt
    grow along both paths (sqrt L + sqrt(L+1) - sqrt(2L+1) ~ (2 - sqrt 2) sqrt L); parity oscillates."""
    decaying = {"inv", "invsqrt", "geom", "inv-neg", "loglin"}
    for kind in subadditive.MEETS + subadditive.VIOLATES:
        ell, rem, paths = app_c2._c7_family_limits(kind)
        if kind in decaying:
            assert (ell, rem, paths) == (0, 0, (0, 0)), kind
        elif kind in ("log", "sqrt"):
            assert (ell, rem, paths) == (0, sp.oo, (sp.oo, sp.oo)), kind
        else:  # parity: 2f(L) - f(2L) = 1 - (-1)^L has no limit
            assert paths[0] is sp.nan, kind


def test_c7_family_limits_of_a_linear_and_a_constant_remainder(monkeypatch):
    """Zeros of the defect: a remainder f = L only moves the slope (u_L = (a+1)L + d), so d(p, q) is unchanged
    and both path limits of d(x, y) - d are 0, with lim f/L = 1 and lim (f - L) = 0; a constant remainder
    f = 1 only moves d to d + 1: both path limits are 1, lim f/L = 0, lim f = 1."""
    assert _limits_of(monkeypatch, "test-linear", lambda c, L: c * L) == (1, 0, (0, 0))
    assert _limits_of(monkeypatch, "test-constant", lambda c, L: c * sp.Integer(1)) == (0, 1, (1, 1))


# -- Lemma D.5 (wedge top-left coefficient) -------------------------------------------------------

def test_d5_wedge_diag_foil_is_the_product_of_diagonal_entries():
    """The 'diag' foil replaces det C^{i,i} by prod_{k<=i} c_kk. The s_k cancel in lhs/rhs, so its error is
    max_i |det C^{i,i} / prod_{k<=i} c_kk - 1|, computed here from the definition; on a diagonal C the foil
    coincides with the printed eta (error at rounding level)."""
    a = np.array([0.0, 1.0, 2.0])
    C = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.25], [0.5, 0.25, 4.0]])
    r = 3
    want = max(abs(np.linalg.det(C[:i, :i]) / np.prod(np.diag(C)[:i]) - 1) for i in range(1, r + 1))
    got = app_d._wedge_cmp(C, r, a, "exp", eta="diag").err
    # the foil's error is O(1) (1/6 at i = 2): compared on its own scale, with the mp and LAPACK determinants
    assert within(abs(got - want), tol(r, kernels=3, kappa=np.linalg.cond(C), scale=1 + want), "diag foil"), (got, want)
    D = np.diag([2.0, 3.0, 4.0])
    out = app_d._wedge_cmp(D, r, a, "exp", eta="diag")
    assert within(out.err, out.tol, "diag foil on a diagonal C")


def test_d1_case_reaches_the_earliest_zero_tail():
    """d1_case(zero_tail=True): 's_j = 0 for j >= k (0-based), k > r' includes the boundary k = r + 1 (one
    positive s beyond the top r, then zeros): the strategy must be able to draw it."""
    case = find(app_d.d1_case(zero_tail=True),
                lambda c: np.isinf(c["a"]).any() and int(np.argmax(np.isinf(c["a"]))) == c["r"] + 1,
                settings=settings(database=None, max_examples=2000, derandomize=True,
                                  suppress_health_check=list(HealthCheck)))
    assert np.isfinite(case["a"][: case["r"] + 1]).all() and np.isinf(case["a"][case["r"] + 1:]).all()


# -- Lemma E.1 (evidence) --------------------------------------------------------------------------

def test_e1_comparison_reports_the_gate_defect_max_d2_minus_d():
    """The evidence 'max|D^2 - D|' says whether the gates are 0/1 (where the printed Lemma E.1 holds): 0 for
    binary gates, and max_l max_j |d_j^2 - d_j| otherwise (2 for the gate entry 2, 0.25 for 0.5)."""
    rng = np.random.default_rng(20261206)
    Ws = [rng.standard_normal((3, 2)), rng.standard_normal((2, 3))]
    G = rng.standard_normal((2, 2))
    cmp = app_e._cmp_jdot(jdot_lemma_e1)
    assert cmp(Ws, [np.array([1.0, 0.0, 1.0])], G).detail["max|D^2 - D|"] == 0.0
    assert cmp(Ws, [np.array([0.5, 1.0, 0.0])], G).detail["max|D^2 - D|"] == 0.25
    assert cmp(Ws, [np.array([2.0, -1.0, 0.5])], G).detail["max|D^2 - D|"] == 2.0
