"""Mutation blind spots in theory/claims/sec4..sec7 (issue 17, part 6, helper h3): each helper is compared with its
definition (an independent computation, or the foil's own stated statement / size)."""
from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np
import scipy.stats as sps

from checks import Status
from checks.model import REGISTRY, Context
from theory.claims import sec4, sec5, sec6, sec7  # noqa: F401  (registers the claims)


def _foils(claim_id):
    c = REGISTRY[claim_id]
    return list(c.foils) + (list(c.corrected.foils) if c.corrected else [])


# -- def-5.2/acceptance: a bound equal to the exact acceptance must be accepted ---------------------------

def test_def52_acceptance_accepts_the_exact_acceptance_itself():
    """The check decides 'bound <= P(Bin(n,p) >= r)' with floats: fed the exact acceptance itself (a regularised
    incomplete beta at 200 bits, correctly rounded to float64), a correct check must say VERIFIED on every cell, so
    its comparison must allow scipy's rounding of the same number (a check without that slack refutes a true bound)."""
    def bound(n, r, p):
        with mp.workprec(200):
            return float(mp.betainc(r, n - r + 1, 0, mp.mpf(p), regularized=True))
    out = sec5._def52_acceptance(Context("def-5.2/acceptance"), bound=bound, claim_text="the exact acceptance")
    assert out.status is Status.VERIFIED, out.summary


# -- def-5.2/marginal: each foil's formula is the one its statement names ------------------------------------

def _sf(r, n, p):
    """P(Bin(n, p) >= r) by scipy (independent of gate_law's rational sum)."""
    return float(sps.binom.sf(r - 1, n, p))


_MARGINAL_FOIL_DEFS = {
    # statement prefix -> the formula the statement writes, for 1 <= r <= n - 1
    "q = p P(Bin(n-1,p) >= r)/P(Bin(n,p) >= r)": lambda n, r, p: p * _sf(r, n - 1, p) / _sf(r, n, p),
    "q = p / P(Bin(n,p) >= r)": lambda n, r, p: p / _sf(r, n, p),
    "q = p (the printed sentence)": lambda n, r, p: p,
}


def test_def52_marginal_foils_compute_their_stated_formulas():
    """def-5.2/marginal's foils, and the corrected formula itself (p P(Bin(n-1,p) >= r-1)/P(Bin(n,p) >= r)), on
    (n, r, p) cells with 1 <= r <= n - 1 (and r = 0 for the corrected one), against scipy's binomial tail."""
    from fractions import Fraction
    cells = [(n, r, Fraction(k, 10)) for n in (2, 4, 5, 6, 9) for r in range(1, n) for k in (1, 3, 5, 8)]
    seen = set()
    for f in _foils("def-5.2/marginal"):
        if "formula" not in getattr(f.check, "keywords", {}):
            continue
        key = next(k for k in _MARGINAL_FOIL_DEFS if f.statement.startswith(k))
        seen.add(key)
        for n, r, p in cells:
            got, want = float(f.check.keywords["formula"](n, r, p)), _MARGINAL_FOIL_DEFS[key](n, r, float(p))
            assert math.isclose(got, want, rel_tol=64 * n * np.finfo(float).eps), (f.statement, n, r, p, got, want)
    assert seen == set(_MARGINAL_FOIL_DEFS)
    for n, r, p in cells + [(n, 0, Fraction(1, 2)) for n in (1, 3)]:
        want = float(p) * (_sf(r - 1, n - 1, float(p)) if n > 1 else 1.0) / _sf(r, n, float(p))
        got = float(sec5._marginal_formula(n, r, p))
        assert math.isclose(got, want, rel_tol=64 * n * np.finfo(float).eps), (n, r, p, got, want)


# -- sec4..sec7: a nearest foil with a numeric slip applies the slip its statement and its size name ----------

def _numeric_nearest_foils():
    mods = ("theory.claims.sec4", "theory.claims.sec5", "theory.claims.sec6", "theory.claims.sec7")
    for cid, c in REGISTRY.items():
        for f in list(c.foils) + (list(c.corrected.foils) if c.corrected else []):
            if (f.nearest and isinstance(f.check, functools.partial) and f.check.func.__module__ in mods):
                kw = {k: v for k, v in f.check.keywords.items() if isinstance(v, float)}
                if kw:
                    yield cid, f, kw


def test_numeric_nearest_foils_apply_their_stated_slip():
    """thm-6.1/products' 'constants K_ij off by a factor 1.5' runs with scale 1.5 (size 0.5 relative); prop-7.1's
    'exponent ... 2 + 2/L - 1/12 (the slip 2 + 2/L -> 2 + 1/L at L = 12)' with dexp = -1/12 (size 1/12 absolute),
    the slip 1/L at the deepest full-profile ladder depth L = 12: the numbers in the foil's statement, its size and
    the keyword it runs with are the same slip."""
    import re
    seen = set()
    for cid, f, kw in _numeric_nearest_foils():
        if "scale" in kw:
            m = re.search(r"factor (\d+(?:\.\d+)?)", f.statement)
            assert m and float(m.group(1)) == kw["scale"], (cid, f.statement, kw)
            assert f.unit == "relative" and f.size == abs(kw["scale"] - 1.0), (cid, f.size, kw)
            seen.add("scale")
        if "dexp" in kw:
            m = re.search(r"2 \+ 2/L - 1/(\d+)", f.statement)
            assert m and -1.0 / int(m.group(1)) == kw["dexp"], (cid, f.statement, kw)
            assert re.search(rf"at L = {m.group(1)}\b", f.statement), f.statement
            assert f.unit == "absolute" and f.size == abs(kw["dexp"]), (cid, f.size, kw)
            seen.add("dexp")
    assert seen == {"scale", "dexp"}


# -- rem-4.4's input generator: 'near-boundary' / 'on-boundary' points are where they say -------------------

def test_mlp_and_point_puts_boundary_cases_on_a_first_layer_boundary():
    """_mlp_and_point's non-generic cases project x so that one first-layer pre-activation is +-1e-12, 1e-9 (near)
    or 0 (on): min_i |(W_1 x)_i| is at most that target plus the rounding of the projection and of W_1 x (a generic
    x has margin ~ |w| |x|, far above). Without these cases rem-4.4 never meets a point on an activation boundary."""
    from hypothesis import HealthCheck, given, settings

    from checks.tolerance import tol
    from theory.claims import sec4

    seen = set()

    @settings(max_examples=30, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(sec4._mlp_and_point())
    def run(d):
        if d["where"] == "generic":
            return
        W, x = d["Ws"][0], d["x"]
        z = np.abs(W @ x)
        target = 0.0 if d["where"] == "on-boundary" else 1e-9
        # rounding of x - (w.x - t) w / (w.w) and of W x: a few n-term dot products on data of size |w| |x|
        slack = tol(W.shape[1], scale=float(np.max(np.linalg.norm(W, axis=1))) * max(1.0, float(np.linalg.norm(x))),
                    kernels=4)
        assert float(np.min(z)) <= target + slack, (d["where"], float(np.min(z)), slack)
        seen.add(d["where"])

    run()
    assert seen == {"near-boundary", "on-boundary"}


# -- def-5.2/acceptance: the statement's bound, its knob and its foils are the formulas they name ------------

def test_def52_acceptance_bounds_are_their_formulas():
    """The printed bound 1 - exp(-(np-r)^2/(2np)) (0 for r > np), the knob's constant c = 1/2 (1 + delta) at
    delta = 0 and 0.5, and each foil's bound, on cells r from 1 to 1.5 np, against the closed forms by mpmath (the
    comparison is a relative one on 1 - bound, which is what the check's cells resolve)."""
    c = REGISTRY["def-5.2/acceptance"]

    def closed(n, r, p, const, *, var=1.0, guard=True):
        mu = mp.mpf(n) * mp.mpf(p)
        if guard and r > mu:
            return mp.mpf(0)
        return 1 - mp.exp(-const * (mu - r) ** 2 / (mu * var))

    want = {
        "Chernoff": lambda n, r, p: closed(n, r, p, mp.mpf(1) / 2),
        "1 - exp(-(np-r)^2/(2np(1-p)))": lambda n, r, p: closed(n, r, p, mp.mpf(1) / 2, var=1 - mp.mpf(p)),
        "1 - exp(-3(np-r)^2/(4np))": lambda n, r, p: closed(n, r, p, mp.mpf(3) / 4),
        "1 - exp(-(np-r)^2/(2np)) for all r": lambda n, r, p: closed(n, r, p, mp.mpf(1) / 2, guard=False),
        "1 - exp(-0.5 (np-r)^2/np)": lambda n, r, p: closed(n, r, p, mp.mpf(1) / 2),
        "1 - exp(-0.75 (np-r)^2/np)": lambda n, r, p: closed(n, r, p, mp.mpf(3) / 4),
    }
    fns = {"Chernoff": sec5._chernoff}
    for f in c.foils:
        fns[f.check.keywords["claim_text"]] = f.check.keywords["bound"]
    for delta in (0.0, 0.5):
        kw = c.knob.variant(delta).keywords
        fns[kw["claim_text"]] = kw["bound"]
    assert set(fns) == set(want), set(fns) ^ set(want)
    eps = np.finfo(float).eps
    for n in (8, 32, 128, 1000):
        for p in (0.05, 0.25, 0.5, 0.9):
            for r in sorted({max(1, int(math.floor(k * n * p / 4))) for k in range(7)}):
                for name, fn in fns.items():
                    got, ref = float(fn(n, r, p)), want[name](n, r, p)
                    # 1 - bound to relative accuracy ~ eps / (1 - bound) in the float formula: compare 1 - bound
                    assert abs((1 - got) - float(1 - ref)) <= 8 * eps * max(1.0, float(abs(1 - ref))), (name, n, r, p)


def test_knob_nearest_slip_is_the_nearest_foils_size():
    """Each sec4..sec7 knob scans its quantity from the nearest slip down: that slip is the size (in the same unit) of
    the form's nearest foil, which the runner also must reject; for def-5.2/acceptance the knob's variant at that
    slip is the nearest foil's bound itself (constant 1/2 -> 3/4)."""
    mods = ("theory.claims.sec4", "theory.claims.sec5", "theory.claims.sec6", "theory.claims.sec7")
    n_forms = 0
    for cid, c in REGISTRY.items():
        forms = [(c.knob, c.foils)] + ([(c.corrected.knob, c.corrected.foils)] if c.corrected else [])
        for knob, foils in forms:
            if knob is None or getattr(knob.variant, "__module__", "") not in mods:
                continue
            sizes = [f.size for f in foils if f.nearest and f.unit == knob.unit]
            assert knob.nearest_slip in sizes, (cid, knob.nearest_slip, sizes)
            n_forms += 1
    assert n_forms >= 6
    c = REGISTRY["def-5.2/acceptance"]
    at_slip = c.knob.variant(c.knob.nearest_slip).keywords["bound"]
    nearest = next(f for f in c.foils if f.nearest).check.keywords["bound"]
    for n, p in ((8, 0.5), (128, 0.25), (1000, 0.05)):
        for r in range(1, int(n * p) + 1, max(1, int(n * p) // 7)):
            assert math.isclose(at_slip(n, r, p), nearest(n, r, p), rel_tol=4 * np.finfo(float).eps), (n, p, r)


# -- Section 6's input generators produce what their docstrings promise ------------------------------------

def _hyp_run(strategy, body, n=40):
    from hypothesis import HealthCheck, given, settings
    settings(max_examples=n, derandomize=True, deadline=None, database=None,
             suppress_health_check=list(HealthCheck))(given(strategy)(body))()


def test_s6_case_draws_the_hypotheses_of_theorem_61():
    """s6_case: UA orthogonal, 1 <= r <= n - 1, a_1 = 0 nondecreasing and separated for i <= r (gaps >= 0.3 for
    'exp', >= 1 for 'poly', integer for 'poly'), B of full rank n ('generic'/'ill') or of rank r with its first r rows
    independent ('rows-only'), and s6_cases keeps only C^{r,r} PD."""
    from theory.claims import sec6
    eps = np.finfo(float).eps
    seen = set()

    def body(c):
        UA, B, r, a = c["UA"], c["B"], c["r"], c["a"]
        n = B.shape[0]
        assert UA.shape == B.shape == (n, n) and 2 <= n <= 5 and 1 <= r <= n - 1
        assert np.max(np.abs(UA.T @ UA - np.eye(n))) <= 16 * n * eps
        assert a[0] == 0.0 and a.shape == (n,) and np.all(np.diff(a) >= 0)
        gaps = np.diff(a)
        sep = 0.3 - 4 * n * eps * max(1.0, float(a[-1]))  # a = cumsum(gaps): differences carry its rounding
        if c["kind"] == "exp":
            assert np.all(gaps[:r] >= sep) and np.all((gaps[r:] == 0) | (gaps[r:] >= sep)), (r, gaps)
        else:
            assert np.all(gaps == np.round(gaps)) and np.all(gaps[:r] >= 1) and np.all(gaps <= 2), (r, gaps)
        s = np.linalg.svd(B, compute_uv=False)
        rank = int(np.sum(s > s[0] * n * 1e3 * eps))
        assert rank == (r if c["family"] == "rows-only" else n), (c["family"], r, s)
        sr = np.linalg.svd(B[:r], compute_uv=False)
        assert sr[-1] > sr[0] * n * 1e3 * eps
        if c["family"] != "rows-only":
            cond = s[0] / s[-1]
            lo, hi = (1.5, 1e3) if c["family"] == "generic" else (1e4, 1e6)
            rel = 16 * n * cond * eps  # the smallest singular value is known to ~ eps s_1, i.e. cond relative
            assert lo * (1 - rel) <= cond <= hi * (1 + rel), (c["family"], cond)
        seen.add((c["family"], c["kind"]))

    _hyp_run(sec6.s6_cases(), body, n=60)
    assert {f for f, _ in seen} == {"generic", "ill", "rows-only"} and {k for _, k in seen} == {"exp", "poly"}


def test_cluster_case_draws_separated_clusters_with_ties_inside():
    """cluster_case: >= 2 clusters of total size r <= 4 (one of size >= 2), n in {r+1, r+2}; within a cluster the
    exponents a are equal (not separated) and the offsets b are all 0 (tie) or 0.3 k; across clusters a rises by a
    gap in [0.4, 1]; UA orthogonal and B well conditioned (cond in [1.5, 100])."""
    from theory.claims import sec6
    eps = np.finfo(float).eps

    def body(c):
        sizes, a, b, B, UA = c["sizes"], c["a"], c["b"], c["B"], c["UA"]
        r, n = int(sizes.sum()), B.shape[0]
        assert len(sizes) >= 2 and r <= 4 and sizes.max() > 1 and n in (r + 1, r + 2) and a.shape == b.shape == (n,)
        assert np.max(np.abs(UA.T @ UA - np.eye(n))) <= 16 * n * eps
        s = np.linalg.svd(B, compute_uv=False)
        assert 1.5 * (1 - 1e3 * eps) <= s[0] / s[-1] <= 100 * (1 + 1e3 * n * eps)
        bounds = np.cumsum([0] + list(sizes) + [n - r])
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            assert np.all(a[lo:hi] == a[lo])
            assert np.all(b[lo:hi] == 0.0) or np.allclose(b[lo:hi], 0.3 * np.arange(hi - lo), rtol=0, atol=0)
        steps = a[bounds[1:-1]] - a[bounds[:-2]]
        slack = 4 * n * eps * max(1.0, float(a[-1]))  # a accumulates the steps: differences carry its rounding
        assert np.all(steps >= 0.4 - slack) and np.all(steps <= 1.0 + slack), steps

    _hyp_run(sec6.cluster_case(), body, n=40)


def test_s6_ok_is_positive_definiteness_of_the_leading_block():
    """_ok(case) keeps a case iff C^{r,r} = (B B^T)^{r,r} is PD, i.e. iff the first r rows of B are independent:
    true on every drawn case (they are independent by construction), false when the first row is zero (pivot exactly
    0; a merely dependent row leaves a pivot at rounding level of either sign)."""
    from theory.claims import sec6

    def body(c):
        assert sec6._ok(c)
        B = c["B"].copy()
        B[0] = 0.0
        assert not sec6._ok({**c, "B": B})

    _hyp_run(sec6.s6_case(), body, n=25)


# -- def-4.3's comparison: the torch reference and the linearity probe agree with the library on true inputs -----

def test_cmp_def43_passes_true_multimode_networks_and_catches_a_wrong_gate():
    """_cmp_def43 on drawn multi-mode FGLNs (and the same with one mode, where sigma is constant so the linearity
    probe x, y, x + 2y always runs): err <= tol; with the library's answer replaced by one mode's gates set to a
    wrong value (the reference must then disagree), err > tol."""
    from theory import fgln
    from theory.claims import sec4

    def body(d):
        Ws, modes, H, X = d["Ws"], d["modes"], d["H"], d["X"]
        for ms in (modes, {0: modes[0]}):
            c = sec4._cmp_def43(Ws, ms, H, X)
            assert c.err <= c.tol, (c.err, c.tol, c.detail)
        # a wrong library result: every gate of mode 0 shifted by 1 (the gates are in {0, 1, 2, -0.5})
        real = fgln.multimode_apply
        try:
            fgln.multimode_apply = lambda Ws_, m_, s_, X_: real(Ws_, {k: [g + 1.0 for g in v] for k, v in m_.items()},
                                                              s_, X_)
            c = sec4._cmp_def43(Ws, {0: modes[0]}, H, X)
        finally:
            fgln.multimode_apply = real
        ref = real(Ws, {0: modes[0]}, lambda x: 0, X)
        wrong = real(Ws, {0: [g + 1.0 for g in modes[0]]}, lambda x: 0, X)
        if np.max(np.abs(ref - wrong)) > 1e3 * c.tol:
            assert c.err > c.tol

    _hyp_run(sec4._multimode(), body, n=25)


# -- Section 7's depth test: Mann-Whitney of c_k = err / (eps + rho_k) at the deepest vs the shallowest L --------

def test_depth_tests_is_the_one_sided_mann_whitney_of_its_definition():
    """_depth_tests on synthetic rows (3 depths given out of order, 2 modes, c_k growing in mode 1 only): per mode,
    the Mann-Whitney U of c at L_max over c at L_min counted pair by pair, its normal score (U - n1 n2/2) /
    sqrt(n1 n2 (n1 + n2 + 1)/12), 'grows' = score > z, the medians, and the power Phi(score - z) + Phi(-score - z)."""
    from scipy.stats import norm

    from theory.claims import sec7
    rng = np.random.default_rng(7)
    deep = {}
    for L, m in ((8, 9), (2, 11), (4, 5)):
        rows = []
        for _ in range(m):
            eps = float(10 ** rng.uniform(-8, -4))
            rho = 10 ** rng.uniform(-9, -5, 2)
            err = np.array([L * (eps + rho[0]) * rng.uniform(0.5, 2.0), (eps + rho[1]) * rng.uniform(0.5, 2.0)])
            rows.append({"eps": eps, "fit_resid": rho, "err": err})
        deep[L] = rows
    z = 1.7
    tests, per_L = sec7._depth_tests(deep, lambda d: d["err"], [0, 1], z)
    assert [t["mode"] for t in tests] == [1, 2] and set(per_L) == {2, 4, 8}
    for k, t in enumerate(tests):
        c = {L: np.array([d["err"][k] / (d["eps"] + d["fit_resid"][k]) for d in deep[L]]) for L in (2, 8)}
        hi, lo = c[8], c[2]
        U = sum(float(x > y) + 0.5 * float(x == y) for x in hi for y in lo)
        n1, n2 = len(hi), len(lo)
        score = (U - n1 * n2 / 2) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
        assert (t["L_min"], t["L_max"]) == (2, 8)
        # U is an exact half-integer count in both; the score's rounding is a few eps of its terms (~ n1 n2)
        assert abs(t["mann_whitney_z"] - score) <= 16 * np.finfo(float).eps * n1 * n2, (t["mann_whitney_z"], score)
        assert t["median_c_at_L_min"] == float(np.median(lo)) and t["median_c_at_L_max"] == float(np.median(hi))
        assert t["grows"] == (score > z) and t["z_crit"] == z
        if score > 0:
            # stats.power counts both tails: Phi(score - z) + Phi(-score - z)
            want = norm.cdf(score - z) + norm.cdf(-score - z)
            assert math.isclose(t["power_if_it_grows_as_measured"], want, rel_tol=64 * np.finfo(float).eps * n1 * n2)
        else:
            assert t["power_if_it_grows_as_measured"] == 0.0
    assert tests[0]["grows"] and not tests[1]["grows"]
