"""Unit tests that close mutation-testing blind spots in theory/claims/sec6.py and sec7.py (issue 17, part 6).

Each test compares a helper with an independent computation from its definition (or checks it at its zero);
the comparisons of Section 6 are fed synthetic ladders (``_ladder6`` monkeypatched), so no mpmath SVD runs."""
from __future__ import annotations

import math
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest
from conftest import sec6_constant_ladder, synthetic_rungs, within

from checks.tolerance import tol

EPS64 = float(np.finfo(np.float64).eps)


# ------------------------------------------------------------------------------------------------
# Section 6: synthetic ladders
# ------------------------------------------------------------------------------------------------




def test_unravel_remainder_is_relative_to_the_constant(monkeypatch):
    """cmp_unravel's per-rung remainder is max_{i != j} |R_ij / ratio_ij - K_ij| / (1 + |K_ij|) (the constants are
    T_C below and T_C^{-1} above the diagonal); with R_ij = K_ij ratio_ij (1 + c_ij eps_L) it equals
    max |K_ij c_ij| eps_L / (1 + |K_ij|), computed here directly. Large constants make a non-relative remainder
    differ by a factor ~ 1 + |K|."""
    from theory.claims import sec6

    r = 3
    T = np.array([[1.0, 0.0, 0.0], [6.0, 1.0, 0.0], [-4.5, 7.0, 1.0]])
    Ti = np.linalg.inv(T)
    c = np.array([[0.0, 0.3, -0.7], [0.4, 0.0, 0.2], [-0.6, 0.5, 0.0]])

    def K(i, j):
        return T[i, j] if j < i else Ti[j, i]

    def R_of(ls, eps):
        R = np.eye(r)
        for i in range(r):
            for j in range(r):
                if i != j:
                    lr = (ls[i] - ls[j]) if j < i else (ls[j] - ls[i])
                    R[i, j] = K(i, j) * math.exp(lr) * (1 + c[i, j] * eps)
        return R

    rungs = synthetic_rungs(r, R_of)
    pred = SimpleNamespace(T=T, Tinv=Ti, Sigma=np.ones(r))
    monkeypatch.setattr(sec6, "_ladder6", lambda *a, **k: (pred, 2.0, rungs))
    cmp = sec6.cmp_unravel(None, None, r, None, "exp")
    want = [max(abs(K(i, j) * c[i, j]) * rg.eps / (1 + abs(K(i, j))) for i in range(r) for j in range(r) if i != j)
            for rg in rungs]
    got = np.asarray(cmp.detail["remainder"])
    # y = R / ratio with ratio = exp(lr): a few roundings of numbers of size |K| (1 + |K|) relative
    assert within(np.abs(got - want), tol(r * r, scale=1 + float(np.max(np.abs(Ti))), kernels=4), "unravel remainder")


def test_sigma_sqrt_diagonal_foil_cols_gram(monkeypatch):
    """The pivots=False foil with gram='cols' predicts s_J/s_A -> diag(B^T B)_{1..r}^{1/2}; with data
    s_J/s_A = diag(B^T B)^{1/2} (1 + c eps_L) the per-rung remainder is max |c| eps_L (computed here directly)."""
    from theory.claims import sec6

    r = 2
    B = np.array([[2.0, 0.5, -0.3], [0.1, 1.5, 0.7], [-0.4, 0.2, 3.0]])
    base = np.sum(B * B, axis=0)[:r]  # diag(B^T B), column norms squared, from the definition
    c = np.array([0.3, -0.8])
    rungs = synthetic_rungs(r, lambda ls, eps: np.eye(r), sJ_of=lambda eps: np.sqrt(base) * (1 + c * eps))
    pred = SimpleNamespace(Sigma=np.ones(r))
    monkeypatch.setattr(sec6, "_ladder6", lambda *a, **k: (pred, 2.0, rungs))
    cmp = sec6.cmp_sigma_sqrt(None, B, r, None, "exp", gram="cols", pivots=False)
    want = [float(np.max(np.abs(c))) * rg.eps for rg in rungs]
    got = np.asarray(cmp.detail["remainder"])
    assert within(np.abs(got - want), tol(3, kernels=4), "sigma cols-diag foil remainder")


def test_power_two_sided_against_mpmath():
    """_power_two_sided(mu, se, z, gross) = P(|X| - z se > gross), X ~ N(mu, se^2): from the normal cdf in mpmath
    (P(X > gross + z se) + P(X < -gross - z se)), at means mu != 0 of both signs."""
    from theory.claims import sec6

    def phi(x):
        with mpmath.workdps(30):
            return 0.5 * mpmath.erfc(-mpmath.mpf(x) / mpmath.sqrt(2))

    for mu, se, z, gross in ((0.8, 0.3, 2.0, 0.5), (-0.4, 0.25, 1.5, 0.2), (1.3, 0.5, 3.0, 0.1), (0.05, 0.1, 1.0, 0.3)):
        want = float((1 - phi((gross + z * se - mu) / se)) + phi((-gross - z * se - mu) / se))
        got = sec6._power_two_sided(mu, se, z, gross)
        # scipy's normal tails are accurate to a few ulps relative; the arguments carry a few roundings of size
        # |gross| + z se + |mu| relative to se, which the density (<= 1/sqrt(2 pi)) passes on
        scale = (abs(gross) + z * se + abs(mu)) / se
        assert within(abs(got - want), tol(4, scale=scale) + 8 * EPS64 * want, f"power mu={mu}"), (mu, got, want)


def test_const_stats_swapped_foil_zero():
    """The 'swapped' constant foil uses K = T^{-1}_ij below and T_ji above the diagonal: on synthetic data built
    with exactly those constants (R_ij = K_ij ratio_ij (1 + c rho)), its statistic is at its zero (slope 0 in m
    within z SE), pair by pair."""
    from theory.claims import sec6

    S = 600
    # the swapped reading, from its definition
    data, consts = sec6_constant_ladder(61, S, lambda T, Ti, i, j: Ti[:, i, j] if j < i else T[:, j, i])
    z = 4.0
    for (i, j, est, se, alt, used) in sec6._const_stats(data, consts, None, 1.0, "swapped", 1.0):
        assert used == S
        assert abs(est) <= z * se + tol(S, kernels=4), (i, j, est, se, alt)


# ------------------------------------------------------------------------------------------------
# Section 7
# ------------------------------------------------------------------------------------------------


class _Ctx:
    def memo(self, name, fn):
        return fn()

    def rng(self, name):
        return np.random.default_rng(0)  # fixed: the stubbed diagnostics ignore the draws


def test_no_relation_haar_reports_d_power(monkeypatch):
    """The evidence column 'd^-(2-2/L)' of _no_relation_haar is d^{-(2 - 2/L)} for the row's gate d and depth L
    (the diagnostics are stubbed: only the column is checked)."""
    from fractions import Fraction

    from theory.claims import sec7

    fake = {"eps": 0.0, "fit_resid": np.zeros(4), "delta": np.zeros(4), "sdot": np.ones(4)}
    monkeypatch.setattr(sec7, "gated_chain", lambda *a, **k: ([np.eye(4)], []))
    monkeypatch.setattr(sec7.fgln, "jacobian", lambda Ws, ds: np.eye(4))
    monkeypatch.setattr(sec7.fgln, "section7_diagnostics", lambda *a, **k: fake)
    monkeypatch.setattr(sec7.fgln, "prop71_printed", lambda d: np.ones(4))
    rows = sec7._no_relation_haar(_Ctx())
    assert len(rows) == len(sec7.DIAG_GATES) * len(sec7.DIAG_LS)
    for row in rows:
        d, L = float(Fraction(row["d"])), row["L"]
        want = math.exp(-(2 - 2 / L) * math.log(d))
        assert within(abs(row["d^-(2-2/L)"] - want), tol(2, scale=want * (1 + abs(math.log(d)))), row)


def test_prop71_foil_one_summand_fewer():
    """The corrected prop-7.1 foil 'L - 1 summands' has terms(L, delta) = (L - 2 + 2 e^{-2 delta}) - 1: the corrected
    sum of L summands (L - 2 + 2 e^{-2 delta}, = L at delta = 0) less one delta-free summand."""
    from checks import registry

    reg = registry.load()
    foils = [f for f in reg["prop-7.1"].corrected.foils if f.statement.startswith("L - 1 summands")]
    assert len(foils) == 1
    terms = foils[0].check.keywords["terms"]
    for L in (2, 3, 5, 12):
        for dl in (-0.7, 0.0, 0.4, 1.5):
            want = (L - 2 + 2 * math.exp(-2 * dl)) - 1
            got = float(terms(L, dl))
            assert within(abs(got - want), tol(3, scale=L + 2 * math.exp(-2 * dl))), (L, dl, got, want)


def test_rem72_knob_moves_exponent_up(monkeypatch):
    """The resolution knob dexp of the corrected rem-7.2 check predicts e^{(1+1/L) delta} s^{1 - 1/L + dexp}
    sum_l (...)_kk: the predictor handed to the verdict is captured and compared with that closed form."""
    from theory.claims import sec7

    captured = {}

    class _Stop(Exception):
        pass

    def fake_verdict(rows, predict, kernels):
        captured["predict"] = predict
        raise _Stop

    monkeypatch.setattr(sec7, "_exact72", lambda *a, **k: [])
    monkeypatch.setattr(sec7, "_exact_verdict", fake_verdict)
    d = {"L": 4, "delta": np.array([0.01, -0.02, 0.0]), "s": np.array([3.0, 1.2, 0.4]),
         "factored_sum": np.array([0.5, -1.1, 2.0])}
    for dexp in (0.25, -0.1):
        with pytest.raises(_Stop):
            sec7._rem72_corrected_check(None, dexp=dexp)
        got = captured["predict"](d)
        L = d["L"]
        want = np.exp((1 + 1 / L) * d["delta"]) * np.exp((1 - 1 / L + dexp) * np.log(d["s"])) * d["factored_sum"]
        scale = np.abs(want) * (1 + np.abs(np.log(d["s"])))
        assert within(np.abs(got - want), tol(4) * scale, f"dexp={dexp}"), (dexp, got, want)


def test_decomp_shape_mismatch_fails():
    """_cmp_decomp must fail when the middle factor gives a product of the wrong shape (here a column of W_l: A_l
    W_l[:, 0] B_l is a vector, not J): err = inf > tol."""
    from theory.claims import sec7

    rng = np.random.default_rng(7)
    n, L = 3, 3
    Ws = [rng.standard_normal((n, n)) for _ in range(L)]
    ds = [rng.uniform(0.5, 1.5, n) for _ in range(L - 1)]
    assert sec7._cmp_decomp(Ws, ds).ok  # the printed decomposition holds
    cmp = sec7._cmp_decomp(Ws, ds, middle=lambda Ws, ds, l: Ws[l - 1][:, 0])
    assert not cmp.ok and cmp.detail.get("shape_mismatch"), cmp
