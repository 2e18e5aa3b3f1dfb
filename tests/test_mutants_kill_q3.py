"""Mutation-testing kills (issue 17, part 6, helper q3): Appendix C.2 (lem-c.6/limit's foil powers)."""
from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np
from scipy.stats import norm

from checks.model import Context
from tests.conftest import within
from theory.claims import app_c2


class _TinyCtx(Context):
    """The quick profile's code path at a small budget: every int budget capped, every list cut to 3."""

    def pick(self, **per_profile):
        v = super().pick(**per_profile)
        if isinstance(v, list):
            return v[:3]
        return min(v, 40) if isinstance(v, int) else v


def _e_log_det_minor(t, n):
    """E log|det Ω^{t,t}| for Haar Ω on O(n): |det|^2 = prod_k Beta((t-k+1)/2, (n-t)/2), so
    E log|det| = (1/2) sum_{k<=t} [psi((t-k+1)/2) - psi((n-k+1)/2)] (mpmath, 30 digits)."""
    with mp.workdps(30):
        return float(sum(mp.digamma(mp.mpf(t - k + 1) / 2) - mp.digamma(mp.mpf(n - k + 1) / 2)
                         for k in range(1, t + 1)) / 2)


def test_c6_limit_power_is_the_z_test_power_against_the_haar_truth():
    """``_c6_limit``'s power (printed and each limit foil, Haar Ω): the largest over t of the two-sided z-test
    power sf(crit - |f_t - m_t|/se_t) + cdf(-crit - |f_t - m_t|/se_t), m_t = E log|det Ω^{t,t}| (its own
    closed form here), f_t the foil's limit; for the printed limit f_t = m_t, so the power is the level 2 sf(crit).
    The prediction column is f_t and the '-d_t(n)' column is m_t."""
    ctx = _TinyCtx("lem-c.6/limit")
    limits = [None,
              lambda t, n: -t * app_c2._d_closed(1, n),
              lambda t, n: -app_c2._d_closed(t + 1, n),
              lambda t, n: -1.5 * app_c2._d_closed(t, n),
              lambda t, n: 2.0 * app_c2._d_closed(t, n)]
    for lim in limits:
        fn = app_c2._c6_limit if lim is None else functools.partial(app_c2._c6_limit, limit=lim)
        out = fn(ctx)
        rows = out.evidence["rows"]
        n = 5
        assert [r["t"] for r in rows] == [1, 2, 3]
        want, crit, dzmax = 0.0, ctx.z(3), 0.0
        for r in rows:
            t, tst = r["t"], r["test"]
            m = _e_log_det_minor(t, n)
            f = m if lim is None else lim(t, n)
            assert within(abs(r["-d_t(n)"] - m), 1e3 * np.finfo(float).eps * (1 + abs(m)), "-d_t")
            assert within(abs(r["predicted limit"] - f), 1e3 * np.finfo(float).eps * (1 + abs(f)), "pred")
            se = tst["se"]
            dz = abs(f - m) / se
            dzmax = max(dzmax, dz)
            want = max(want, float(norm.sf(crit - dz) + norm.cdf(-crit - dz)))
        assert out.power is not None
        # power' = pdf terms x d(dz); dz carries a few ulps of (f, m, se): relative error <= c eps (1 + dz^2)
        assert within(abs(out.power - want), 64 * np.finfo(float).eps * (1 + dzmax**2 + crit**2) * want, "power"), \
            (out.power, want)
        if lim is None:
            assert within(abs(out.power - 2 * norm.sf(crit)), 64 * np.finfo(float).eps * (1 + crit**2), "level")
