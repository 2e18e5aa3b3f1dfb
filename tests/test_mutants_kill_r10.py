"""Round r10 mutation kills: app_d's conjugated-block targets and sec6.check_products' diagonal-decrease
evidence and foil power, each compared with an independent computation from its definition."""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from checks.model import REGISTRY, Context
from checks.tolerance import EPS64 as EPS
from tests.conftest import within
from theory.claims import app_d, sec6


# ----- app_d._TARGETS: T_C, T_C^{-1}, T_C^{-T}, T_C^T -----------------------------------------------------

def test_app_d_targets_are_t_its_inverse_and_their_transposes():
    """For a non-symmetric stand-in T (so a missing or extra transpose shows), each target is its definition:
    T, Tinv, Tinv^T and T^T; and on a real prediction Tinv is T's inverse (unit lower triangular T)."""
    rng = np.random.default_rng(10)
    T = np.tril(rng.standard_normal((4, 4)), -1) + np.eye(4)
    Tinv = np.linalg.inv(T)

    class P:
        pass
    p = P()
    p.T, p.Tinv = T, Tinv
    want = {"T": T, "Tinv": Tinv, "TinvT": Tinv.T, "TT": T.T}
    assert set(app_d._TARGETS) == set(want)
    for k, ref in want.items():
        assert np.array_equal(np.asarray(app_d._TARGETS[k](p)), ref), k
    A = rng.standard_normal((5, 5))
    C = A @ A.T + 5 * np.eye(5)
    pred = app_d.al.predict(C, 3)
    got = {k: np.asarray(f(pred), float) for k, f in app_d._TARGETS.items()}
    t = 64 * EPS * np.linalg.cond(C[:3, :3])
    assert np.array_equal(got["TT"], got["T"].T) and np.array_equal(got["TinvT"], got["Tinv"].T)
    assert within(np.max(np.abs(got["TinvT"] @ got["TT"] - np.eye(3))), t, "TinvT TT = I")
    assert within(np.max(np.abs(got["T"] @ got["Tinv"] - np.eye(3))), t, "T Tinv = I")
    # T is the unit lower factor of C^{rr} = T diag T^T
    assert within(np.max(np.abs(np.diag(got["T"]) - 1)), t, "unit diag")
    assert not np.any(np.triu(got["T"], 1)) and not np.any(np.tril(got["TT"], -1))


# ----- sec6.check_products: 1 - R_ii decrease and the exponent foils' power ---------------------------------

def _slow_products(monkeypatch, const_est):
    """Synthetic product data whose singular-value ratios decay slowly with m (the no-alignment slope ~0.01 per
    gap), so an exponent foil's rate power stays small; the constant statistic stubbed to (const_est, 0.5, 2)."""
    rng = np.random.default_rng(11)
    S, n = 40, sec6.PROD_N
    ms = sorted({2, *sec6.RATE_DEPTHS, *sec6.CONST_DEPTHS})
    base = np.sort(np.exp(rng.standard_normal((S, n))), axis=1)[:, ::-1]
    data = {}
    for m in ms:
        R = rng.standard_normal((S, n, n)) * 0.3
        # diagonal |R_ii| grows with m (toward alignment), off-diagonal noise
        R[:, np.arange(n), np.arange(n)] = np.clip(1 - 2.0 / m + 0.05 * rng.standard_normal((S, n)), -1, 1)
        s = base * np.exp(-0.01 * m * np.arange(n))[None, :] * np.exp(1e-3 * rng.standard_normal((S, n)))
        data[m] = (R, np.sort(s, axis=1)[:, ::-1])
    return _stub_products(monkeypatch, data, S, const_est)


def _aligned_products(monkeypatch, deltas, const_est):
    """Data where R_ij = ratio_ij * exp(delta_k m + small noise) for pair k (the rate statistic estimates delta_k,
    SE ~1e-3) and the gaps of log s grow by 0.2 per layer (no-alignment slope 0.2 per index gap): the deltas
    straddle the 20% / 50% margins; the constant statistic stubbed to (const_est, 0.5, 2)."""
    rng = np.random.default_rng(12)
    S, n = 40, sec6.PROD_N
    ms = sorted({2, *sec6.RATE_DEPTHS, *sec6.CONST_DEPTHS})
    data = {}
    for m in ms:
        s = np.exp(-0.2 * m * np.arange(n))[None, :] * np.ones((S, 1))
        R = rng.standard_normal((S, n, n)) * 0.1
        R[:, np.arange(n), np.arange(n)] = 1 - 1.0 / m + 0.01 * rng.standard_normal((S, n))
        for (i, j), dl in zip(sec6.PAIRS, deltas):
            R[:, i, j] = _ratio(s, i, j) * np.exp(dl * m + 0.1 * rng.standard_normal(S))
        data[m] = (R, s)
    return _stub_products(monkeypatch, data, S, const_est)


def _stub_products(monkeypatch, data, S, const_est):
    """A claim Context factory whose cached thm-6.1/products draws are ``data``, with the constant statistic
    stubbed to (const_est, SE 0.5, alternative slope 2) for every pair."""
    monkeypatch.setattr(sec6, "_const_stats",
                        lambda *a, **k: [(i, j, const_est, 0.5, 2.0, S) for (i, j) in sec6.PAIRS])

    def ctx():
        c = Context("thm-6.1/products")
        c.cache[(c.claim_id, "products")] = (S, data, None, None)
        return c
    return ctx, data, S


def _ratio(s, i, j):
    return s[:, i] / s[:, j] if j < i else s[:, j] / s[:, i]


def test_products_diag_decrease_is_the_paired_mean_of_one_minus_abs_r_ii(monkeypatch):
    """diag_decrease: per sample mean over i < r of (1 - |R_ii|) at the shallowest depth minus the same at the
    deepest rate depth; its mean, SE (ddof 1) and z."""
    mk, data, S = _slow_products(monkeypatch, 1.2)
    out = sec6.check_products(mk())
    dec = out.evidence["diag_decrease"]
    r, d0, d1 = sec6.PROD_R, min(data), sec6.RATE_DEPTHS[-1]
    per = lambda m: np.mean([1 - abs(data[m][0][:, i, i]) for i in range(r)], axis=0)
    d = per(d0) - per(d1)
    est, se = d.mean(), d.std(ddof=1) / np.sqrt(S)
    key = f"mean(1-R_ii) at m={d0} minus at m={d1}"
    t = 16 * S * EPS
    assert within(abs(dec[key] - est), t, "mean") and within(abs(dec["se"] - se), t, "se")
    assert within(abs(dec["z"] - est / se), t * (1 + abs(est) / se) / se, "z")
    assert est > 0  # the synthetic alignment grows with m


def test_products_margins_flags_and_status_follow_their_definitions(monkeypatch):
    """Margins are 20% / 50% of the smallest named-alternative slope (rate: no alignment; constant: wrong
    constant); a rate row is within its margin when |est| + z se <= 0.2 alt and grossly beyond when |est| - z se >
    0.5 alt, a constant row one-sided (est +- z se); the status is refuted on any gross row or a significant
    increase of 1 - R_ii, supported when every row is within and the decrease significant, else inconclusive."""
    from checks.model import Status
    z0 = float(norm.isf(Context("thm-6.1/products").alpha / (2 * (2 * len(sec6.PAIRS) + 1))))
    deltas = (0.0, 0.036, 0.043, 0.09, 0.105, 0.13)
    seen = set()
    ests = (0.4 - 0.5 * z0 - 0.1, 0.4 - 0.5 * z0 + 0.08, 1.0 + 0.5 * z0 + 0.2, 10.0, 1.2)
    for const_est, data_kind in [(c, k) for c in ests for k in ("slow", "aligned", "aligned-within")]:
        if data_kind == "slow":
            mk, data, S = _slow_products(monkeypatch, const_est)
        else:
            mk, data, S = _aligned_products(monkeypatch, deltas if data_kind == "aligned" else (0.0,) * 6, const_est)
        ctx = mk()
        out = sec6.check_products(ctx)
        ev = out.evidence
        z = float(norm.isf(ctx.alpha / (2 * (2 * len(sec6.PAIRS) + 1))))
        rate, const = ev["rate_tests"], ev["constant_tests"]
        alt_r = min(rw["no-alignment alternative slope"] for rw in rate)
        alt_c = min(rw["wrong-constant alternative slope"] for rw in const)
        assert alt_c == 2.0 and [rw["estimate"] for rw in const] == [const_est] * len(sec6.PAIRS)
        assert [rw["se"] for rw in const] == [0.5] * len(sec6.PAIRS)
        for k, v in (("rate_margin", 0.2 * alt_r), ("rate_gross", 0.5 * alt_r), ("constant_margin", 0.2 * alt_c),
                     ("constant_gross", 0.5 * alt_c)):
            assert within(abs(ev[k] - v), 4 * EPS * abs(v), k)
        for rw in rate:
            assert rw["within_margin"] is bool(abs(rw["estimate"]) + z * rw["se"] <= 0.2 * alt_r)
            assert rw["beyond_gross"] is bool(abs(rw["estimate"]) - z * rw["se"] > 0.5 * alt_r)
        for rw in const:
            assert rw["within_margin"] is bool(const_est + z * 0.5 <= 0.4)
            assert rw["beyond_gross"] is bool(const_est - z * 0.5 > 1.0)
        zd = ev["diag_decrease"]["z"]
        rows = rate + const
        want = (Status.REFUTED if any(rw["beyond_gross"] for rw in rows) or zd < -z else
                Status.SUPPORTED if all(rw["within_margin"] for rw in rows) and zd > z else Status.INCONCLUSIVE)
        assert out.status is want, const_est
        seen.add(out.status)
    assert seen == {Status.REFUTED, Status.SUPPORTED, Status.INCONCLUSIVE}


def test_exponent_foils_power_has_no_constant_rows(monkeypatch):
    """An exponent foil (scale 1, constants 'rows') keeps the printed constants: its power is the rate rows'
    largest two-sided power only; the constant rows (stubbed to est 10, se 0.5, alt 2: power ~1) must not enter."""
    mk, data, S = _slow_products(monkeypatch, 10.0)
    c = REGISTRY["thm-6.1/products"]
    foils = [f.check for f in c.foils if set(getattr(f.check, "keywords", {})) == {"exponent"}]
    assert sorted(f.keywords["exponent"] for f in foils) == [-1.0, 2.0]
    x = np.array(sec6.RATE_DEPTHS, float)
    slope = lambda y: np.array([np.polyfit(x, row, 1)[0] for row in y])
    for check in foils:
        e = check.keywords["exponent"]
        ctx = mk()
        out = check(ctx)
        ref, alts, tmax = [], [], 0.0
        for (i, j) in sec6.PAIRS:
            lr = np.stack([np.log(_ratio(data[m][1], i, j)) for m in sec6.RATE_DEPTHS], 1)
            ly = np.stack([np.log(np.abs(data[m][0][:, i, j])) for m in sec6.RATE_DEPTHS], 1)
            st = slope(ly - e * lr)
            alt = slope(-lr).mean()
            alts.append(alt)
            ref.append(((e - 1) * alt, st.std(ddof=1) / np.sqrt(S)))
            tmax = max(tmax, 64 * S * EPS * (1 + np.max(np.abs(ly)) + abs(e) * np.max(np.abs(lr))))
        z = float(norm.isf(ctx.alpha / (2 * (2 * len(sec6.PAIRS) + 1))))
        gross = 0.5 * min(alts)
        assert gross > 0
        pw = max(float(norm.sf((gross - mu) / se + z) + norm.cdf((-gross - mu) / se - z)) for mu, se in ref)
        assert pw < 0.5  # the stubbed constant rows would give ~1
        se_min = min(se for _, se in ref)
        darg = tmax * (1 + (gross + max(abs(mu) for mu, _ in ref)) / se_min) / se_min
        assert within(abs(out.power - pw), darg + 8 * EPS, "power")


# ----- app_c2._c7_reduction_rows: the shifted defect's minimum by brute force and in closed form ------------

def test_c7_reduction_rows_min_shifted_defect_is_the_remainders_defect():
    """u_L = aL + d + f(L) shifted by (L-1)d has d'(p,q) = f(p) + f(q) - f(p+q) (a and d cancel): its minimum over
    the p, q in 1..g grid is 3c/(2g) for f = c/L (at p = q = g), -3c/2 for f = -c/L (p = q = 1) and
    c(2^{1-g} - 4^{-g}) for f = c 2^-L (p = q = g); the rows list the 3 families x 3 (a, d, c) in order, with g."""
    from fractions import Fraction as Fr

    from tests.conftest import tiny_context
    from theory.claims import app_c2

    ctx = tiny_context("lem-c.7/reduction")
    g = ctx.pick(quick=24, full=49)
    rows = app_c2._c7_reduction_rows(ctx)
    f = {"inv": lambda c, L: c / L, "inv-neg": lambda c, L: -c / L, "geom": lambda c, L: c / 2 ** L}
    closed = {"inv": lambda c: Fr(3, 2) * c / g, "inv-neg": lambda c: -Fr(3, 2) * c,
              "geom": lambda c: c * (Fr(2) / 2 ** g - Fr(1) / 4 ** g)}
    adc = [(Fr(0), Fr(1), Fr(1, 4)), (Fr(0), Fr(1), Fr(1, 2)), (Fr(2), Fr(3), Fr(1))]
    want = [(k, a, d, c) for k in ("inv", "inv-neg", "geom") for a, d, c in adc]
    assert [(r["family"], r["a"], r["d"], r["c"]) for r in rows] == want
    for r in rows:
        k, a, d, c = r["family"], r["a"], r["d"], r["c"]
        u = lambda L: a * L + d + f[k](c, L) + (L - 1) * d
        brute = min(u(p) + u(q) - u(p + q) for p in range(1, g + 1) for q in range(1, g + 1))
        assert isinstance(r["min d'"], Fr) and r["min d'"] == brute == closed[k](c), r
        assert r["grid"] == g


# ----- sec5._thm53_ordering: per-gap tests, CI-below-0 flags, status and foil power -------------------------

def test_thm53_ordering_rows_status_and_power_follow_their_definitions(monkeypatch):
    """With the ladders stubbed and each (cfg, i) fit set to (estimate, se): the test of gap i compares the
    estimate with gamma_{i+1} - gamma_i (lyapunov.gamma, i = 1..r-1), flags ci_upper_below_0 iff est + z se < 0,
    and the claim holds iff every gap is consistent with its CI below 0; a foil's power is the largest two-sided
    power at delta = its predicted gap minus the true one."""
    from checks.model import REGISTRY, Status
    from theory import lyapunov
    from theory.claims import sec5

    class Fit:
        def __init__(self, c, s):
            self.coef, self._s = np.array([c]), s

        def se(self, k):
            assert k == 0
            return self._s

    ctx0 = Context("thm-5.3/ordering")
    cfgs = [c for c in sec5._configs(ctx0) if c.r >= 2]
    assert cfgs
    monkeypatch.setattr(sec5, "_ladders", lambda ctx: ({c: {} for c in cfgs}, 7))
    monkeypatch.setattr(sec5, "_ladder_method", lambda batch, lads: "stub")
    gap = {(c, i): float(np.diff(lyapunov.gamma(c.n, c.p, c.sigma, c.r))[i - 1]) for c in cfgs for i in range(1, c.r)}
    assert all(v < 0 for v in gap.values())
    claim = REGISTRY["thm-5.3/ordering"]
    seen = set()
    for mode in ("truth", "shifted", "upper"):
        fits = {}
        for k, (key, g) in enumerate(sorted(gap.items(), key=lambda kv: (kv[0][0].label(), kv[0][1]))):
            se = 0.05 * abs(g) + 1e-3
            est = {"truth": g, "shifted": g + (4 * se if k == 0 else 0.0),
                   "upper": (-0.5 * se if k == 0 else g)}[mode]
            fits[key] = (Fit(est, se),)
        for check in [claim.check] + [f.check for f in claim.foils]:
            ctx = Context("thm-5.3/ordering")
            ctx.cache[(ctx.claim_id, "logratio")] = fits
            z = ctx.z(len(fits))
            out = check(ctx)
            kw = getattr(check, "keywords", {})
            # the foils scale the predicted gaps by a constant factor (0, 1.5, 2); read it off one gap
            g0 = float(np.diff(sec5._gammas(cfgs[0]))[0])
            fac = float(kw["gaps"](cfgs[0])[0]) / g0 if kw else 1.0
            rows = out.evidence["tests"]
            assert len(rows) == len(fits)
            ok, powers = True, []
            for rw, (key, (f,)) in zip(rows, fits.items()):
                est, se = f.coef[0], f.se(0)
                pred = fac * gap[key]
                assert rw["estimate"] == est and rw["se"] == se
                assert within(abs(rw["prediction"] - pred), 8 * EPS * abs(gap[key]), "pred")
                assert rw["ci_upper_below_0"] is bool(est + z * se < 0)
                cons = abs(est - rw["prediction"]) <= z * se
                assert rw["consistent"] is bool(cons)
                ok &= cons and est + z * se < 0
                d = abs(pred - gap[key])
                powers.append(float(norm.sf(z - d / se) + norm.cdf(-z - d / se)))
            grid_pos = out.evidence["closed_form_min_gap"] > 0
            assert grid_pos is (fac > 0)
            assert (out.status is Status.SUPPORTED) is bool(ok and grid_pos), (mode, kw)
            if out.status is Status.SUPPORTED:
                # resolution: the worst (z + z_0.9) se / |true gap| over the tests
                worst = max((z + norm.isf(0.1)) * f.se(0) / abs(gap[key]) for key, (f,) in fits.items())
                assert within(abs(out.resolution.value - worst), 64 * EPS * worst, "resolution")
            else:
                assert out.resolution is None
            if grid_pos:
                assert within(abs(out.power - max(powers)), 64 * EPS, "power")
            else:
                assert out.power == 1.0
            seen.add(out.status)
    assert seen == {Status.SUPPORTED, Status.REFUTED}
