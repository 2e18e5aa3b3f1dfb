"""The resolution machinery (checks/runner.py): a pass states the smallest deviation its check rejects,
and a pass coarser than its nearest slip is inconclusive. Checked on toy claims whose answer is known."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy.stats import norm

from checks import Claim, Foil, Kind, Knob, Outcome, Resolution, Status
from checks import runner


def _mean_check(ctx, *, prediction=1.0, n=400, sd=1.0):
    """Mean of n N(1, sd^2) draws vs a prediction, two-sided at ctx.z()."""
    x = ctx.memo(("x", n), lambda: ctx.rng("y").normal(1.0, sd, n))
    m, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(n))
    z = ctx.z()
    ok = abs(m - prediction) <= z * se
    return Outcome(Status.SUPPORTED if ok else Status.REFUTED, f"mean {m:.4f} +- {se:.4f}",
                   resolution=Resolution.from_se("the mean", se, z) if ok else None)


def _claim(check, foils, **kw):
    return Claim(id="def-9.9", ref="toy", section="toy", statement="E x = 1", kind=Kind.DISTRIBUTIONAL,
                 check=check, foils=tuple(foils), **kw)


def _run(c):
    return runner.run_claim(c, seed=0, profile="quick", device="cpu", n_statistical=1).record


def test_from_se_is_the_deviation_rejected_with_power_0_9():
    z, se = 3.0, 0.1
    r = Resolution.from_se("q", se, z)
    delta = r.value
    power = norm.sf(z - delta / se) + norm.cdf(-z - delta / se)
    # norm.ppf then norm.sf/cdf: each accurate to a few ulps, amplified by the normal density's slope
    # at the quantile (|d log sf / dx| < z + 2 here), so 64 eps is ample and still sees a wrong power.
    eps = np.finfo(float).eps
    assert power == pytest.approx(0.9, rel=64 * eps * (z + 2))
    # One division by |scale|: exact up to one rounding.
    assert Resolution.from_se("q", se, z, unit="relative", scale=-2.0).value == pytest.approx(delta / 2, rel=2 * eps)


def test_sharp_pass_keeps_its_verdict_and_records_the_nearest_slip():
    near = Foil("mean 1.5", functools.partial(_mean_check, prediction=1.5), kind="constant", nearest=True,
                size=0.5, unit="absolute")
    rec = _run(_claim(_mean_check, [near]))
    assert rec["status"] == "supported"
    res = rec["resolution"]
    assert res["sharp"] is True and res["nearest_slip"]["value"] == 0.5 and 0 < res["value"] < 0.5
    assert rec["foils"][0]["nearest"] is True


def test_pass_coarser_than_its_nearest_slip_is_inconclusive():
    # With 10 draws of sd 1 the resolution is about 1.6: a slip of 0.01 cannot be resolved.
    check = functools.partial(_mean_check, n=10)
    near = Foil("mean 3", functools.partial(_mean_check, prediction=3.0, n=10), kind="constant",
                nearest=True, size=0.01, unit="absolute")
    rec = _run(_claim(check, [near]))
    assert rec["status"] == "inconclusive" and "not sharp" in rec["summary"]
    assert rec["resolution"]["sharp"] is False and rec["check_status"] == "supported"


def _identity_check(ctx, *, delta=0.0):
    """A deterministic identity a*b == b*a + delta on a few inputs, with a rounding tolerance."""
    rng = ctx.rng("ab")
    a, b = rng.normal(size=50), rng.normal(size=50)
    err = float(np.max(np.abs(a * b - (b * a + delta))))
    # a*b and b*a round identically (IEEE multiplication is commutative): the truth is exactly 0.
    return Outcome(Status.VERIFIED if err == 0.0 else Status.REFUTED, f"err {err:.3g}")


def test_knob_scan_finds_the_smallest_rejected_deviation_on_both_sides():
    knob = Knob("the additive constant", "absolute", variant=lambda d: functools.partial(_identity_check, delta=d),
                nearest_slip=0.25, nearest_slip_statement="ab = ba + 1/4", steps=4)
    near = Foil("ab = ba + 1/4", functools.partial(_identity_check, delta=0.25), nearest=True, size=0.25,
                unit="absolute")
    rec = _run(_claim(_identity_check, [near], knob=knob))
    res = rec["resolution"]
    # Every halving down to 0.25 / 16 is rejected on both sides.
    assert res["value"] == 0.25 / 16 and res["sharp"] is True  # halvings of 0.25 are exact
    assert res["how"].count("rejected") == 10


def test_knob_that_cannot_see_the_nearest_slip_gives_inf():
    blind = Knob("blind", "absolute", variant=lambda d: _identity_check, nearest_slip=0.1,
                 nearest_slip_statement="anything")
    near = Foil("ab = ba + 1", functools.partial(_identity_check, delta=1.0), nearest=True, size=0.1, unit="absolute")
    rec = _run(_claim(_identity_check, [near], knob=blind))
    assert rec["status"] == "inconclusive" and rec["resolution"]["value"] == math.inf


def test_discrete_slip_resolution_comes_from_the_rejected_nearest_foil():
    near = Foil("ab = ba + 1", functools.partial(_identity_check, delta=1.0), kind="index", nearest=True,
                size=1, unit="index")
    rec = _run(_claim(_identity_check, [near]))
    assert rec["status"] == "verified"
    assert rec["resolution"]["value"] == 1 and rec["resolution"]["unit"] == "index" and rec["resolution"]["sharp"]


def test_failing_form_states_no_resolution():
    near = Foil("x", functools.partial(_identity_check, delta=1.0), nearest=True, size=1, unit="index")
    rec = _run(_claim(functools.partial(_identity_check, delta=1.0), [near]))
    assert rec["status"] == "refuted" and rec["resolution"] is None


def _mean_foil_with_power(ctx, *, prediction, power):
    out = _mean_check(ctx, prediction=prediction)
    out.power = power
    return out


def test_statistical_nearest_foil_counts_only_with_power_0_9():
    for power, sharp in ((0.95, True), (0.5, False)):
        near = Foil("mean 2", functools.partial(_mean_foil_with_power, prediction=2.0, power=power), nearest=True,
                    size=1.0, unit="absolute")
        check = lambda ctx: Outcome(**{**_mean_check(ctx).__dict__, "resolution": None})
        rec = _run(_claim(check, [near]))
        assert rec["resolution"]["sharp"] is sharp, power
        assert rec["status"] == ("supported" if sharp else "inconclusive")
