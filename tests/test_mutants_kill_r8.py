"""Mutation-testing kills for the seed-7 fresh sample's survivors (issue 17): each helper is compared with
its definition, computed here independently."""

import numpy as np
import pytest

from checks.tolerance import tol
from conftest import sec6_constant_ladder, within

# Theorem 6.1's constants by reading: 'rows' (and 'cols', the same rule on one fixed pair (T, T^{-1})) and
# the index-swapped foil
_RULES = {"rows": lambda T, Ti, i, j: T[:, i, j] if j < i else Ti[:, j, i],
          "swapped": lambda T, Ti, i, j: Ti[:, i, j] if j < i else T[:, j, i]}


@pytest.mark.parametrize("const", ["rows", "swapped", "cols"])
def test_const_stats_slopes_alt_and_counts_are_their_definitions(const):
    """sec6._const_stats, pair by pair, against plain per-sample least-squares fits (np.polyfit over
    CONST_DEPTHS): the estimate is the mean slope of log(|R_ij/ratio - scale K_ij| + 1e-300) - log rho_m, its
    SE the sample SD / sqrt(S), the wrong-constant alternative the mean slope of -log rho_m (rho_m = the
    largest ratio s_{i+1}/s_i, i <= r, at depth m), over the samples whose statistic is finite. Two edge
    samples: one with s_r = inf at one depth (non-finite: dropped) and one where R_ij/ratio = K_ij exactly
    (powers-of-two singular values: the 1e-300 floor keeps it). K scaled by 1.5 puts the slope off its zero."""
    from theory.claims import sec6

    S = 40
    depths = np.asarray(sec6.CONST_DEPTHS, float)
    rule = _RULES["rows" if const == "cols" else const]
    data, consts = sec6_constant_ladder(7, S, rule)
    cols = consts[sec6.CONST_DEPTHS[-1]] if const == "cols" else None
    K_at = (lambda m: cols) if const == "cols" else (lambda m: consts[m])
    r, n = sec6.PROD_R, sec6.PROD_N
    m0, m1 = sec6.CONST_DEPTHS[0], sec6.CONST_DEPTHS[3]  # m1 off the mean depth: its slope weight is not 0
    R0, s0, x0 = data[m0]
    s0 = s0.copy()
    s0[0, r - 1] = np.inf
    data[m0] = (R0, s0, x0)
    R1, s1, x1 = data[m1]
    R1, s1 = R1.copy(), s1.copy()
    s1[1] = 2.0 ** -np.arange(0, 2 * n, 2)  # exact ratios
    T, Ti = K_at(m1)
    for (i, j) in sec6.PAIRS:
        R1[1, i, j] = rule(T, Ti, i, j)[1] * (s1[1, i] / s1[1, j] if j < i else s1[1, j] / s1[1, i])
    data[m1] = (R1, s1, x1)
    with np.errstate(all="ignore"):
        lrho = np.stack([np.log(np.max(data[m][1][:, 1:r + 1] / data[m][1][:, :r], axis=1))
                         for m in sec6.CONST_DEPTHS], 1)
        for scale in (1.0, 1.5):
            got = sec6._const_stats(data, consts, cols, 1.0, const, scale)
            assert [(i, j) for (i, j, *_) in got] == list(sec6.PAIRS)
            for (i, j, est, se, alt, used) in got:
                stat = []
                for k, m in enumerate(sec6.CONST_DEPTHS):
                    R, s, _ = data[m]
                    K = rule(*K_at(m), i, j)
                    ratio = s[:, i] / s[:, j] if j < i else s[:, j] / s[:, i]
                    stat.append(np.log(np.abs(R[:, i, j] / ratio - scale * K) + 1e-300) - lrho[:, k])
                stat = np.stack(stat, 1)
                ok = np.all(np.isfinite(stat), 1)
                assert not ok[0] and ok[1:].all()
                assert used == int(ok.sum()) == S - 1
                fits = np.array([np.polyfit(depths, row, 1)[0] for row in stat[ok]])
                alts = np.array([np.polyfit(depths, row, 1)[0] for row in -lrho[ok]])
                t = tol(len(depths), scale=max(np.max(np.abs(stat[ok])), 1.0), kernels=4)
                assert within(abs(est - fits.mean()), t), (i, j, est, fits.mean())
                assert within(abs(se - fits.std(ddof=1) / np.sqrt(fits.size)), t), (i, j, se)
                t_alt = tol(len(depths), scale=max(np.max(np.abs(lrho[ok])), 1.0), kernels=4)
                assert within(abs(alt - alts.mean()), t_alt), (i, j, alt, alts.mean())
                assert alt > 0
