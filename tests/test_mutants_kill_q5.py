"""Mutation blind spots in theory/claims/sec5.py and sec6.py (issue 17, part 6; seed-5 survivors, helper q5).

Each test compares a helper's output with an independent computation from its definition: cor-5.6's
confidence bound on synthetic ladders whose limits are the true gaps (the bound is estimate + z se, and it
decides the verdict), def-5.2/acceptance's table column 1 - bound, and Theorem 6.1's rows comparison
(cmp_R_identity) on synthetic rungs where every normalised entry is a closed form, at depths where the
rounding floor matters and where it does not."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from checks.model import Context, Status
from checks.tolerance import tol
from tests.conftest import synthetic_rungs, within
from theory.claims import sec5

EPS = float(np.finfo(np.float64).eps)


# ----------------------------------------------------------------------------------------------
# Independent references (exact rationals, mpmath)
# ----------------------------------------------------------------------------------------------
# Remark 5.4 in mpmath, P(rank >= r) exactly, and exact synthetic ladders: shared with the g5 tests
from test_mutants_kill_g5 import _acc, _binom_pmf, _gamma_ref, _synthetic_ladders  # noqa: E402


# ----------------------------------------------------------------------------------------------
# sec5: cor-5.6's upper confidence bound
# ----------------------------------------------------------------------------------------------
def test_cor56_ci_upper_is_estimate_plus_z_se_and_decides(monkeypatch):
    """cor-5.6 reports per ratio the upper confidence bound of the limit, estimate + z se (z the claim's
    Bonferroni critical value), and is supported only where every such bound lies below 0. With exact ladders
    whose limits are the gaps: small noise -> every bound < 0, supported; huge noise -> the limits still agree
    with the gaps, but every bound reaches 0, refuted."""
    _synthetic_ladders(monkeypatch, c1=40.0, noise=1e-3)
    ctx = Context("cor-5.6")
    out = sec5._cor56(ctx)
    rows = out.evidence["tests"]
    assert rows
    z = ctx.z(len(rows))
    for r in rows:
        want = r["estimate"] + z * r["se"]
        assert within(abs(r["ci_upper"] - want), tol(4, scale=abs(r["estimate"]) + z * r["se"])), r
        assert within(abs(r["ci_upper"] - r["ci"][1]), tol(4, scale=abs(r["estimate"]) + z * r["se"])), r
    assert all(r["ci_upper"] < 0 for r in rows)
    assert out.status is Status.SUPPORTED, out.summary

    _synthetic_ladders(monkeypatch, c1=-400.0, noise=300.0)
    ctx = Context("cor-5.6")
    out = sec5._cor56(ctx)
    rows = out.evidence["tests"]
    z = ctx.z(len(rows))
    assert all(r["consistent"] for r in rows)
    for r in rows:
        want = r["estimate"] + z * r["se"]
        assert want > 0
        assert within(abs(r["ci_upper"] - want), tol(4, scale=abs(r["estimate"]) + z * r["se"])), r
    assert out.status is Status.REFUTED, out.summary


# ----------------------------------------------------------------------------------------------
# sec5: def-5.2/acceptance table
# ----------------------------------------------------------------------------------------------
def test_def52_acceptance_table_one_minus_bound():
    """The table's '1 - bound' is 1 minus the printed bound 1 - exp(-(np - r)^2 / (2 np)) (0 beyond np), i.e.
    exp(-(np - r)^2 / (2 np)) below np and 1 above, from mpmath; and '1 - P(accept)' + 'P(accept)' = 1."""
    out = sec5._def52_acceptance(Context("def-5.2/acceptance"))
    assert out.status is Status.VERIFIED
    rows = out.evidence["table"]
    assert rows
    for row in rows:
        n, r, p = row["n"], row["r"], row["p"]
        with mp.workdps(40):
            mu = mp.mpf(n) * mp.mpf(p)
            want = 1.0 if r > n * p else float(mp.exp(-(mu - r) ** 2 / (2 * mu)))
        expo = float((n * p - r) ** 2 / (2 * n * p))
        assert within(abs(row["1 - bound"] - want), tol(4, scale=1.0 + expo)), row
        assert within(abs(row["1 - bound"] + row["bound"] - 1.0), tol(2, scale=1.0)), row
        assert within(abs(row["1 - P(accept)"] + row["P(accept)"] - 1.0), tol(n, scale=1.0, kernels=4)), row


# ----------------------------------------------------------------------------------------------
# sec6: cmp_R_identity on synthetic rungs
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("Ls", [(10, 20, 30), (40, 60, 70)])
@pytest.mark.parametrize("rate", [1.0, 2.0])
@pytest.mark.parametrize("offdiag", [False, True])
def test_R_identity_normalised_error_is_its_definition(monkeypatch, Ls, rate, offdiag):
    """cmp_R_identity's err = max over the last two rungs of max(max_i |R_ii - 1| / (eps_L^rate + floor),
    max_{i != j} |R_ij| / (K ratio_ij^rate + floor ratio_ij)), ratio_ij = s_lo/s_hi of the pair and floor =
    tol(5, kappa=K) / REMAINDER_CONST; computed here with explicit loops. The deep ladder (eps_L ~ 1e-13 ..
    1e-15) puts eps_L next to the floor, so the floor's sign and the power of eps_L both show."""
    from theory import alignment as al
    from theory.claims import sec6

    r, K = 3, 2.0
    c = np.array([0.7, -0.4, 0.9])
    off = np.array([[0.0, 0.3, -0.5], [0.8, 0.0, 0.2], [-0.6, 0.45, 0.0]])

    def R_of(ls, eps):
        R = np.diag(1.0 + c * eps)
        if offdiag:
            for i in range(r):
                for j in range(r):
                    if i != j:
                        R[i, j] = off[i, j] * K * math.exp(-abs(ls[i] - ls[j]))
        return R

    rungs = synthetic_rungs(r, R_of, Ls=Ls, K=K)
    monkeypatch.setattr(sec6, "_ladder6", lambda *a_, **k: (None, K, rungs))
    cmp = sec6.cmp_R_identity(None, None, r, [0.0, 0.5, 1.2, 1.9], "exp", rate=rate)
    floor = tol(5, kappa=K) / al.REMAINDER_CONST
    norms, diags = [], []
    for rg in rungs:
        R = rg.s6.R
        d = max(abs(R[i, i] - 1.0) for i in range(r))
        o = 0.0
        for i in range(r):
            for j in range(r):
                if i != j:
                    lr = -abs(rg.log_s[i] - rg.log_s[j])
                    o = max(o, abs(R[i, j]) / (K * math.exp(rate * lr) + floor * math.exp(lr)))
        diags.append(d)
        norms.append(max(d / (rg.eps ** rate + floor), o))
    want = max(norms[-2:])
    assert within(abs(cmp.err - want), tol(16, scale=want)), (cmp.err, want)
    assert cmp.tol == al.REMAINDER_CONST
    assert within(abs(cmp.detail["rounding_floor"] - floor), tol(1, scale=floor))
    assert np.array_equal(np.asarray(cmp.detail["max|R_ii - 1|"]), np.asarray(diags))


# ----------------------------------------------------------------------------------------------
# sec6: the constant rule's resolution scan
# ----------------------------------------------------------------------------------------------
def test_const_resolution_scan_is_its_definition(monkeypatch):
    """_const_resolution scans d = CONST_SLIP 2^-k (k = 0..8, both signs, stopping at the first power below
    RESOLUTION_POWER) and reports, per d, P(refute) = max over pairs of P(est - z se > gross) at the estimated mean
    and se (normal approximation), gross = half the smallest wrong-constant slope of the unscaled statistic; the
    value is the largest over both signs of the smallest d still refuted. With a fake statistic whose mean grows
    linearly in |scale - 1| every number is recomputed here from the definition (mpmath normal tail)."""
    from theory.claims import sec6

    alts = {(0, 1): 1.3, (1, 0): 0.8, (2, 1): 1.1}
    coef = {(0, 1): (9.0, 0.12), (1, 0): (6.0, 0.2), (2, 1): (7.5, 0.15)}
    seen = []

    def fake(data, consts, cols, exponent, const, scale):
        seen.append((exponent, const, scale))
        d = abs(scale - 1.0)
        return [(i, j, a * d * (1.0 if scale >= 1 else 1.3), s, alts[(i, j)] * (1.0 + 5.0 * d), 100)
                for (i, j), (a, s) in coef.items()]

    monkeypatch.setattr(sec6, "_const_stats", fake)
    z = 2.4
    val, how = sec6._const_resolution(None, None, None, z)
    assert seen[0] == (1.0, "rows", 1.0)
    gross = 0.5 * min(alts.values())

    def sf(x):
        with mp.workdps(30):
            return float(0.5 * mp.erfc(mp.mpf(x) / mp.sqrt(2)))

    want_tried, worst = [], 0.0
    for side in (1, -1):
        smallest = math.inf
        for k in range(9):
            d = 0.5 * 2.0 ** -k
            m = 1.0 if side > 0 else 1.3
            pw = max(sf((gross - a * d * m) / s + z) for a, s in coef.values())
            want_tried.append((side * d, pw))
            if pw < 0.9:
                break
            smallest = d
        worst = max(worst, smallest)
    assert val == worst
    got = [tuple(float(x) for x in item.split(":")) for item in how.split(": ", 1)[1].split(", ")]
    assert len(got) == len(want_tried)
    for (gd, gp), (wd, wp) in zip(got, want_tried):
        assert within(abs(gd - wd), 5e-5 * abs(wd)), (gd, wd)  # printed with 4 significant digits
        assert within(abs(gp - wp), 5e-4 + tol(16, scale=1.0)), (gp, wp)  # printed with 3 decimals


def test_rem63_statements_carry_the_remarks_definitions():
    """Remark 6.3's three limits are printed with the remark's opening and its closing sentence that defines
    Sigma_C and T_C (the Cholesky factorisation): every claim stated from the remark's head ends with that tail."""

    from checks.model import REGISTRY
    from theory.claims import sec6

    hits = [c for c in REGISTRY.values() if c.statement.startswith(sec6.STATEMENT_63_HEAD)]
    assert len(hits) >= 3
    for c in hits:
        assert c.statement.rstrip().endswith(sec6.STATEMENT_63_TAIL.rstrip()), c.id
    assert "T_C is lower-triangular with unit diagonal" in sec6.STATEMENT_63_TAIL
