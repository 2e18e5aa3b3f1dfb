"""Helpers that mutation testing found unchecked (issue 17, part 6), compared with independent computations
from their definitions: ``theory.alignment``'s depth ladder (``depth_for``, ``run_ladder``), the Appendix C
foil powers (``_appendix_c._powers``), the finite-depth bracket of ``theory.claims._ladder`` (its gap,
width, power, point-test critical value, stored-violation replay, Jensen slack, and the ladder's log singular
values), and ``theory.claims._networks``'s gate-rank floor and product scale.

Tolerances: ``checks.tolerance.tol`` from float64 eps, the number of operations and the size of the numbers
(as in ``tests/conftest.py``'s ``within``); exact where the computation is exact in binary.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from checks import stats
from checks.tolerance import EPS64, tol
from conftest import within
from theory import alignment as al
from theory.claims import _appendix_c, _ladder, _networks

# ----------------------------------------------------------------------------------------------
# theory.alignment: depths and the ladder of Theorem D.1's deterministic checks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [[0.0, 0.5, 1.5], [0.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
@pytest.mark.parametrize("kind", ["exp", "poly"])
def test_depth_for_hits_its_target(a, kind):
    """depth_for's definition: at L = depth_for(eps, ...), K rho_L = eps, with rho_L from log_s_sequence."""
    K, r = 7.0, len(a) - 1
    for eps in (1e-2, 1e-5):
        L = al.depth_for(eps, a, r, K, kind)
        got = K * al.rho_of(al.log_s_sequence(a, L, kind), r)
        # rho = exp(-g x) with x = log(K/eps)/g rounded in ~4 operations: relative error ~ log(K/eps) eps each
        assert within(abs(got - eps), tol(1, scale=eps * math.log(K / eps), kernels=4), f"{kind} eps={eps}")


def _spd3():
    return np.array([[2.0, 0.6, 0.3], [0.6, 1.5, 0.4], [0.3, 0.4, 1.0]])


@pytest.mark.parametrize("kind", ["exp", "poly"])
def test_run_ladder_matches_its_definition(kind):
    """run_ladder = (predict(C, r), K_eff = max(1, ||C|| / min leading-minor ratio), one rung per target with
    K_eff rho_L = target and the graded eigen-decomposition of S_L C S_L): K_eff from numpy determinants, the
    eigenvalues from float64 eigvalsh of the (well-scaled, top) part."""
    C, r, a = _spd3(), 2, np.array([0.0, 1.0, 2.5])
    targets = [1e-2, 1e-3]
    pred, K, rungs = al.run_ladder(a, C, r, kind, targets)
    dets = [1.0] + [np.linalg.det(C[:i, :i]) for i in range(1, r + 1)]
    ell = np.array([dets[i] / dets[i - 1] for i in range(1, r + 1)])
    K_ref = max(1.0, np.linalg.norm(C, 2) / ell.min())
    # det by LU (~ 3 n eps relative each, two per ratio), 2-norm by SVD: condition of C's minors <= 10
    assert within(abs(K - K_ref), tol(3, kappa=10.0, scale=K_ref, kernels=4), "K_eff")
    assert within(np.abs(pred.ell - ell), tol(3, kappa=10.0, scale=ell.max(), kernels=4), "ell")
    assert len(rungs) == len(targets)
    for e, rung in zip(targets, rungs):
        assert within(abs(rung.eps - e), tol(1, scale=e * math.log(K / e), kernels=4), "rung eps")
        assert within(abs(rung.eps - K * rung.rho), tol(1, scale=rung.eps), "eps = K rho")
        ls_ref = al.log_s_sequence(a, rung.L, kind)
        assert np.array_equal(rung.log_s, ls_ref)
        assert rung.eig.r == r and rung.eig.U.shape == (3, 3)
        s = np.exp(ls_ref)
        X = s[:, None] * C * s[None, :]
        w = np.linalg.eigvalsh(X)[::-1]
        # the top eigenvalue: float64 eigh is accurate to ~ n eps ||X|| = n eps sigma_1 absolutely
        sig1 = math.exp(rung.eig.log_abs_sigma[0])
        assert within(abs(sig1 - w[0]), tol(3, scale=w[0], kernels=3), "sigma_1")
        # sigma_i / s_i^2 -> ell_i (Theorem D.1(b)); remainder <= REMAINDER_CONST K_eff rho (theory.alignment)
        assert within(np.abs(rung.eig.sigma_scaled[:r] - ell), al.REMAINDER_CONST * e * ell, "sigma_i / s_i^2 vs ell_i")


# ----------------------------------------------------------------------------------------------
# Appendix C: power of the z-tests against a foil
# ----------------------------------------------------------------------------------------------


def _two_sided_power(delta, se, z):
    """P(|N(delta/se, 1)| > z), in mpmath (the definition of a two-sided z-test's power)."""
    with mp.workdps(30):
        m = mp.mpf(delta) / mp.mpf(se)
        return float(mp.ncdf(-z - m) + (1 - mp.ncdf(z - m)))


def test_appendix_c_powers_from_the_definition():
    """_powers = max over tests of the two-sided power at offset (foil prediction - truth) and the test's se;
    at a foil equal to the truth, the test's size 1 - confidence."""
    T = stats.Test
    tests = [T("a", 1.0, 0.1, 1.0, 1.96), T("b", 2.0, 0.05, 2.0, 2.5), T("c", -3.0, 0.2, -3.0, 3.0)]
    truths = [1.0, 2.0, -3.0]
    for foils in ([1.25, 2.0, -3.0], [1.0, 1.9, -3.0], [1.0, 2.0, -3.5], [1.03, 2.01, -2.9]):
        got = _appendix_c._powers(tests, foils, truths)
        want = max(_two_sided_power(f - t, tt.se, tt.z_crit) for tt, f, t in zip(tests, foils, truths))
        assert within(abs(got - want), tol(1, scale=want, kernels=8), f"power {foils}")
    size = _appendix_c._powers(tests, truths, truths)
    want = max(1 - tt.confidence for tt in tests)
    assert within(abs(size - want), tol(1, scale=want, kernels=8), "size")


# ----------------------------------------------------------------------------------------------
# theory.claims._ladder: the finite-depth bracket
# ----------------------------------------------------------------------------------------------


def _bracket(**kw):
    base = dict(label="t", K=2, v=1.0, v_se=0.01, w=2.0, w_se=0.01, m=64, u=1.5, u_se=0.05, slack=0.3,
                slack_se=0.02, u_skew=0.8)
    base.update(kw)
    return _ladder.Bracket(**base)


def _ref_point_crit(b, crit):
    """The Cornish-Fisher widening of a studentised mean's critical value (Hall 1992, q_1(x) = g (2x^2+1)/6)."""
    return crit + abs(b.u_skew) * (2 * crit * crit + 1) / (6 * math.sqrt(b.m))


def _ref_gap(b, c, crit):
    lo = b.v - crit * b.v_se
    hi = b.w + _ladder.UPPER_FACTOR * crit * b.w_se
    return max(lo - c, c - hi, abs(b.u - c) - _ref_point_crit(b, crit) * b.u_se)


def test_point_crit_widens_by_the_cornish_fisher_term():
    for skew in (0.0, 0.8, -1.5):
        b = _bracket(u_skew=skew)
        for crit in (0.0, 0.5, 1.96, 3.5):
            pc = b.point_crit(crit)
            assert pc >= crit  # a correction for skewness only ever widens the acceptance region
            want = _ref_point_crit(b, crit)
            assert within(abs(pc - want), tol(1, scale=want, kernels=6), f"point_crit skew={skew} crit={crit}")
            if skew == 0.0:
                assert pc == crit


def test_bracket_width_is_mean_rho():
    b = _bracket(v=0.25, w=0.75)
    assert b.width == 0.5  # exact in binary
    b = _bracket(v=-1.0, w=0.5)
    assert b.width == 1.5


# bracket ends wide apart, a point test so loose (u_se large) that the lower, upper or point term dominates
_CASES = [
    (dict(u_se=1.0), 0.5),  # c below the bracket (lower term dominates)
    (dict(u_se=1.0), 2.6),  # c above the bracket
    (dict(), 1.5),  # c at the point estimate: inside everything
    (dict(), 1.2),  # inside the bracket, off the point estimate (point term dominates)
    (dict(u=1.2, u_se=0.2), 1.9),  # inside the bracket, inside the point test
    (dict(v=-2.0, w=-1.0, u=-1.5, u_se=3.0), -2.5),  # negative offsets
]


@pytest.mark.parametrize("kw,c", _CASES)
@pytest.mark.parametrize("crit", [1.96, 3.0])
def test_bracket_gap_violation_and_replay(kw, c, crit):
    """gap(c) is how far c lies beyond [v - t se_v, w + 2 t se_w] or the point test |u - c| <= t' se_u; c is
    violated iff gap > 0 (at each side); the stored counterexample replays to the same err."""
    b = _bracket(**kw)
    want = _ref_gap(b, c, crit)
    scale = max(abs(b.v), abs(b.w), abs(b.u), abs(c), 1.0)
    t = tol(1, scale=scale, kernels=6)
    assert within(abs(b.gap(c, crit) - want), t, "gap")
    lo, hi = b.v - crit * b.v_se, b.w + _ladder.UPPER_FACTOR * crit * b.w_se
    assert b.lower_violated(c, crit) == (c < lo)
    assert b.upper_violated(c, crit) == (c > hi)
    assert b.exact_violated(c, crit) == (abs(b.u - c) > _ref_point_crit(b, crit) * b.u_se)
    assert b.violated(c, crit) == (want > 0)
    cex = _ladder.bracket_counterexample({"case": "t"}, b, c, crit)
    assert within(abs(_ladder.bracket_replay(cex).err - want), t, "replay err")


def _one_sided_power(margin, se, crit):
    with mp.workdps(30):
        return float(1 - mp.ncdf(crit - mp.mpf(margin) / se))


@pytest.mark.parametrize("kw,c", _CASES)
def test_bracket_power_from_the_definition(kw, c):
    """power(c) = the largest rejection probability of the three tests with the observed means as truth."""
    b, crit = _bracket(**kw), 2.5
    want = max(_one_sided_power(b.v - c, b.v_se, crit),
               _one_sided_power(c - b.w, b.w_se, _ladder.UPPER_FACTOR * crit),
               _two_sided_power(b.u - c, b.u_se, _ref_point_crit(b, crit)))
    got = b.power(c, crit)
    assert within(abs(got - want), tol(1, scale=want, kernels=8), "power")
    if c == b.u:  # at the point estimate only the point test's size is left (both ends far away)
        assert got < 2 * (1 - mp.ncdf(crit)) + tol(1, kernels=8)


def _ctx():
    return SimpleNamespace(seed=0, device="cpu")


_CFG = _ladder.Config(n=4, p=1.0, sigma=1.0, r=4, conditioned=False)
_DEPTHS = (2, 3)


def test_ladder_is_the_log_singular_values():
    """ladder() gives the log singular values of ladder_cv's pairs: descending in each sample, and majorising
    the Benettin sums of the same products (sum_{i<=k} log s_i >= log||J e_1 ^..^ J e_k||, equality at k = n:
    both are log|det J|)."""
    lad = _ladder.ladder(_ctx(), "mutant-test", _CFG, _DEPTHS, 16)
    cv = _ladder.ladder_cv(_ctx(), "mutant-test", _CFG, _DEPTHS, 16)
    assert sorted(lad) == list(_DEPTHS)
    for L in _DEPTHS:
        ls, lr = lad[L], cv[L][1]
        assert np.array_equal(ls, cv[L][0]) and ls.shape == (16, 4)
        assert np.all(np.diff(ls, axis=1) <= 0), "log singular values are descending"
        cs, cr = np.cumsum(ls, axis=1), np.cumsum(lr, axis=1)
        scale = np.abs(ls).sum(axis=1, keepdims=True) + np.abs(lr).sum(axis=1, keepdims=True)
        t = tol(4, scale=1.0, kernels=2 * L + 4) * scale  # L QR / SVD steps on 4 x 4 products, log-sums
        assert within(np.maximum(cr - cs, 0.0), t, "Horn majorisation")
        assert within(np.abs(cs[:, -1] - cr[:, -1]), t[:, 0], "log|det J|")


def test_brackets_slack_is_upper_end_minus_point_estimate():
    """_brackets' slack mean(rho - R) is E(v + rho) - E(v + R) = w - u (same samples); width = mean(rho) >= 0."""
    data = _ladder.ladder_cv(_ctx(), "mutant-test", _CFG, _DEPTHS, 16)[3]
    bs = _ladder._brackets(0, "mutant-test", "L=3", data, (1, 2), 4)
    assert [b.K for b in bs] == [1, 2]
    for b in bs:
        scale = abs(b.w) + abs(b.u) + abs(b.v) + 1.0
        assert within(abs(b.slack - (b.w - b.u)), tol(b.m, scale=scale, kernels=3), f"slack K={b.K}")
        assert b.width >= -tol(b.m, scale=scale, kernels=3)


# ----------------------------------------------------------------------------------------------
# theory.claims._networks
# ----------------------------------------------------------------------------------------------


@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(net=_networks.networks(L=(2, 4), n=(3, 5), gate_kind="masked", square=True, min_gate_rank=2))
def test_networks_honour_min_gate_rank(net):
    """Every gate drawn with min_gate_rank = k has at least k non-zero entries (k below the width)."""
    for d in net["ds"]:
        assert np.count_nonzero(d) >= 2


def test_product_scale_is_its_formula():
    """prod max(||W_l||, 1) prod max(1, max|d_l|) (x ||G||): gates below 1 in size count as 1."""
    Ws = [np.diag([2.0, 0.5]), np.diag([0.25, 0.5]), np.diag([1.0, 4.0])]
    ds = [np.array([0.5, -0.25]), np.array([3.0, 0.0])]
    assert _networks.product_scale(Ws, ds) == 2.0 * 1.0 * 4.0 * 1.0 * 3.0
    assert _networks.product_scale(Ws, ds, G=np.diag([0.5, 0.125])) == 2.0 * 4.0 * 3.0 * 0.5
    assert _networks.product_scale(Ws[:1], []) == 2.0
