"""Mutation blind spots in theory/claims/sec5.py and sec7.py (issue 17, part 6; fresh-sample survivors, group 5).

Each test compares a helper that feeds a verdict, a foil, a piece of evidence or a figure with an independent
computation from its definition: foil predictions with Remark 5.4's closed form evaluated in mpmath / exact
rationals, evidence numbers (acceptance thresholds, the largest valid Chernoff constant) with brute force over
exact binomial sums, the ordering claim's confidence bound with synthetic ladders whose limit and 1/L term are
known, the minimal Prop. 7.1 / Rem. 7.2 counterexamples with their closed forms and the library, the exact
diagonal-family flags with products recomputed from the definitions on perturbed chains, and the figure with
the data it plots. Ladders and training are replaced by small constructed inputs, so every test is fast.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest

from checks import stats
from checks.model import REGISTRY, Context, Status
from checks.tolerance import tol
from tests.conftest import within
from theory import fgln
from theory.claims import _ladder, sec5, sec7

EPS = float(np.finfo(np.float64).eps)


def _foil(claim_id: str, needle: str, corrected: bool = False):
    c = REGISTRY[claim_id]
    foils = c.corrected.foils if corrected else c.foils
    hits = [f for f in foils if needle in f.statement]
    assert len(hits) == 1, (claim_id, needle, [f.statement for f in foils])
    return hits[0]


# ----------------------------------------------------------------------------------------------
# Independent references (mpmath, exact rationals)
# ----------------------------------------------------------------------------------------------
def _binom_pmf(n: int, t: int, p: Fraction) -> Fraction:
    return math.comb(n, t) * p ** t * (1 - p) ** (n - t)


def _acc(n: int, r: int, p: Fraction) -> Fraction:
    """P(Bin(n, p) >= r), exactly."""
    return sum((_binom_pmf(n, t, p) for t in range(max(r, 0), n + 1)), Fraction(0))


def _gamma_ref(n, p, sigma, r, *, normalised=True, shift=0):
    """Remark 5.4: gamma_i = ln(sqrt(2) sigma) + 1/2 sum_{t=r}^n P(rk = t | rk >= r) psi((t - i + 1 + shift)/2),
    i = 1..r (mpmath, 30 digits); ``normalised=False`` drops the denominator P(rk >= r) (Remark 5.5)."""
    pf = Fraction(p).limit_denominator(10 ** 6)
    with mp.workdps(30):
        den = mp.mpf(_acc(n, r, pf).numerator) / _acc(n, r, pf).denominator if normalised else mp.mpf(1)
        out = []
        for i in range(1, r + 1):
            s = mp.mpf(0)
            for t in range(r, n + 1):
                w = _binom_pmf(n, t, pf)
                s += mp.mpf(w.numerator) / w.denominator * mp.digamma(mp.mpf(t - i + 1 + shift) / 2)
            out.append(float(mp.log(mp.sqrt(2) * sigma) + s / (2 * den)))
    return np.array(out)


def _d_ref(K: int, n: int) -> float:
    """d_K = -E log|det Omega^{K,K}|, Omega Haar on O(n): |det|^2 ~ prod_j Beta((K-j+1)/2, (n-K)/2), so
    d_K = 1/2 sum_{j=1}^K [psi((n-j+1)/2) - psi((K-j+1)/2)]."""
    with mp.workdps(30):
        return float(sum(mp.digamma(mp.mpf(n - j + 1) / 2) - mp.digamma(mp.mpf(K - j + 1) / 2)
                         for j in range(1, K + 1)) / 2)


_CFGS = [_ladder.Config(4, 0.5, 1.0, 2), _ladder.Config(4, 0.6, 0.5, 3), _ladder.Config(6, 0.6, 1.0, 3),
         _ladder.Config(8, 0.3, 0.7, 1), _ladder.Config(5, 0.8, 2.0, 5)]


def _close(got, want, what, kernels=8):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (what, got, want)
    scale = 1.0 + float(np.max(np.abs(want)))
    assert within(np.max(np.abs(got - want)), tol(max(4, got.size), scale=scale, kernels=kernels), what), \
        (what, got, want)


# ----------------------------------------------------------------------------------------------
# sec5: the exponents every Theorem 5.3 foil is built from
# ----------------------------------------------------------------------------------------------
def test_d_reference_and_library_agree():
    """The Beta-product closed form of d_K (used below) agrees with theory.lyapunov.d, d_n = 0, d_1 closed form."""
    from theory import lyapunov

    for n in (2, 4, 6, 9):
        for K in range(1, n + 1):
            _close(lyapunov.d(K, n), _d_ref(K, n), f"d_{K}({n})")
    assert abs(_d_ref(5, 5)) == 0.0


@pytest.mark.parametrize("cfg", _CFGS, ids=lambda c: c.label())
def test_thm53_limit_foils_are_their_statements(cfg):
    """thm-5.3/limit's foils evaluate what their statements name: gamma_(i+1) (gamma_(r-1) at i = r), the
    partial sums lambda_i, Remark 5.5's unnormalised sums, and gamma with ln(sigma) for ln(sqrt(2) sigma)
    (= gamma at sigma / sqrt(2))."""
    gam = _gamma_ref(cfg.n, cfg.p, cfg.sigma, cfg.r)
    _close(sec5._gammas(cfg), gam, "gamma (Remark 5.4)")
    neighbour = np.r_[gam[1:], gam[-2]] if cfg.r >= 2 else None
    if neighbour is not None:
        _close(_foil("thm-5.3/limit", "index off by one").check.keywords["exponents"](cfg), neighbour, "gamma_(i+1)")
    _close(_foil("thm-5.3/limit", "lambda_i").check.keywords["exponents"](cfg), np.cumsum(gam), "lambda_i")
    _close(_foil("thm-5.3/limit", "unnormalised").check.keywords["exponents"](cfg),
           _gamma_ref(cfg.n, cfg.p, cfg.sigma, cfg.r, normalised=False), "unnormalised sums")
    _close(_foil("thm-5.3/limit", "chi^2 scale").check.keywords["exponents"](cfg),
           _gamma_ref(cfg.n, cfg.p, cfg.sigma / math.sqrt(2.0), cfg.r), "ln(sigma) for ln(sqrt(2) sigma)")


@pytest.mark.parametrize("cfg", _CFGS, ids=lambda c: c.label())
def test_thm53_ordering_gap_foils_are_multiples_of_the_closed_form_gaps(cfg):
    """thm-5.3/ordering: _gaps is gamma_(i+1) - gamma_i, _gaps_grid the same at sigma = 1; the foils are 0, 1.5
    and 2 times them (both the Monte-Carlo and the grid variant)."""
    gam = _gamma_ref(cfg.n, cfg.p, cfg.sigma, cfg.r)
    gaps = gam[1:] - gam[:-1]
    grid = np.diff(_gamma_ref(cfg.n, cfg.p, 1.0, cfg.r))
    if cfg.r < 2:
        assert sec5._gaps(cfg).size == 0
        return
    _close(sec5._gaps(cfg), gaps, "gaps")
    _close(sec5._gaps_grid(cfg.n, cfg.p, cfg.r), grid, "grid gaps")
    for needle, c in (("coincide", 0.0), ("1.5 times", 1.5), ("twice", 2.0)):
        kw = _foil("thm-5.3/ordering", needle).check.keywords
        _close(kw["gaps"](cfg), c * gaps, needle)
        _close(kw["grid_gaps"](cfg.n, cfg.p, cfg.r), c * grid, needle + " (grid)")


def _synthetic_ladders(monkeypatch, c1, noise):
    """Replace the Monte-Carlo ladders by exact ones: log s_i = L gamma_i + i c1 + noise (+-noise alternating
    over the batch, so the mean is exact): (1/L) log(s_(i+1)/s_i) = gap_i + c1/L exactly in the mean."""
    batch = 64
    sign = np.where(np.arange(batch) % 2 == 0, 1.0, -1.0)
    lads = {}
    for cfg in sec5._configs(Context("thm-5.3/ordering")):
        gam = _gamma_ref(cfg.n, cfg.p, cfg.sigma, cfg.r)
        lads[cfg] = {L: np.stack([L * g + (i + 1) * c1 + noise * (i + 1) * sign for i, g in enumerate(gam)], axis=1)
                     for L in (12, 16, 24, 32, 48)}
    monkeypatch.setattr(sec5, "_ladders", lambda ctx: (lads, batch))
    return lads


def test_thm53_ordering_ci_bound_is_the_limits_not_the_1_over_L_term(monkeypatch):
    """The ordering claim asks that the CI of the *limit* c0 of (1/L) log(s_(i+1)/s_i) lies below 0. With exact
    ladders whose limits are the true gaps: a large positive 1/L coefficient must not matter (supported, every
    upper bound c0 + z se(c0) < 0); a large negative one must not rescue limits whose CI reaches 0 (refuted)."""
    _synthetic_ladders(monkeypatch, c1=40.0, noise=1e-3)
    out = sec5._thm53_ordering(Context("thm-5.3/ordering"))
    assert out.status is Status.SUPPORTED, out.summary
    rows = out.evidence["tests"]
    assert rows and all(r["ci_upper_below_0"] for r in rows)
    for r in rows:  # the bound is the limit's: estimate + z se
        assert (r["ci"][1] < 0) == r["ci_upper_below_0"]

    _synthetic_ladders(monkeypatch, c1=-400.0, noise=300.0)
    out = sec5._thm53_ordering(Context("thm-5.3/ordering"))
    rows = out.evidence["tests"]
    assert all(r["consistent"] for r in rows)  # the limits agree with the gaps, but their CIs reach 0
    assert not any(r["ci_upper_below_0"] for r in rows)
    assert out.status is Status.REFUTED, out.summary


# ----------------------------------------------------------------------------------------------
# sec5: def-5.2/acceptance evidence and bounds
# ----------------------------------------------------------------------------------------------
def test_def52_acceptance_evidence_is_its_definition():
    """def-5.2/acceptance: the 'thresholds' are the largest r in 1..n with P(Bin(n,p) >= r) >= level (exact
    rationals, brute force); the table's 'bound' is the printed Chernoff bound (0 beyond np), 'P(accept)' and
    '1 - P(accept)' the exact tails; and the reported 'largest valid constant c' is the largest one: the bound
    with c is valid on every cell, with 1.01 c it is not."""
    out_ctx = Context("def-5.2/acceptance")
    out = sec5._def52_acceptance(out_ctx)
    assert out.status is Status.VERIFIED
    ev = out.evidence
    for level, rows in ev["thresholds"].items():
        lv = Fraction(level)
        assert len(rows) == 6
        for row in rows:
            n, p = row["n"], Fraction(row["p"])
            want = max([r for r in range(1, n + 1) if _acc(n, r, p) >= lv], default=0)
            assert row["largest r with P >= level"] == want, (level, row, want)
            assert row["np"] == n * row["p"]
    for row in ev["table"]:
        n, r, p = row["n"], row["r"], row["p"]
        with mp.workdps(40):
            mu = mp.mpf(n) * mp.mpf(p)
            want = 0.0 if r > n * p else float(1 - mp.exp(-(mu - r) ** 2 / (2 * mu)))
            # the binomial tails as regularised incomplete beta functions (40 digits)
            acc = mp.betainc(r, n - r + 1, 0, mp.mpf(p), regularized=True)
            lo = mp.betainc(n - r + 1, r, 0, 1 - mp.mpf(p), regularized=True)
        expo = float((n * p - r) ** 2 / (2 * n * p))
        assert within(abs(row["bound"] - want), tol(4, scale=1.0 + expo)), row
        assert within(abs(row["P(accept)"] - float(acc)), tol(n, scale=1.0, kernels=4)), row
        assert within(abs(row["1 - P(accept)"] - float(lo)), tol(n, scale=float(lo), kernels=4, unit=EPS * 1e-300)), row
        assert row["r/np"] == r / (n * p)
    c = ev["largest valid constant c in exp(-c (np-r)^2/np) on these cells (printed: 1/2)"]
    assert 0.5 < c < 1.5
    ctx = Context("def-5.2/acceptance")
    ctx.cache.update(out_ctx.cache)
    assert sec5._def52_acceptance(ctx, bound=sec5._chernoff_c(c * (1 - 1e-9))).status is Status.VERIFIED
    assert sec5._def52_acceptance(ctx, bound=sec5._chernoff_c(c * 1.01)).status is Status.REFUTED


# ----------------------------------------------------------------------------------------------
# sec7: the minimal counterexamples (n = 1, L = 2)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1.0, 0.3, -0.7])
def test_minimal_prop71_is_its_closed_form_and_the_library(gamma):
    """n = 1, L = 2, W_1 = W_2 = e^gamma, D = 1, L(J) = J: actual sdot = -2 e^{2 gamma}; (i) as printed forces
    delta = -gamma, so the printed value is -e^{-3 gamma} 2 e^{2 gamma} = -2 e^{-gamma}; the factor-count reading
    (delta = 0) gives -L s^{2-2/L} = -2 e^{2 gamma} = actual. The library (section7_diagnostics via the replay)
    computes the same actual value and prediction."""
    cex = sec7._minimal_prop71(gamma)
    assert cex["L"] == 2 and cex["n"] == 1 and cex["delta"] == -gamma
    t = tol(4, scale=2 * math.exp(2 * abs(gamma)), kernels=4)
    assert within(abs(cex["s"] - math.exp(2 * gamma)), t, "s")
    assert within(abs(cex["actual_sdot"] + 2 * math.exp(2 * gamma)), t, "actual")
    assert within(abs(cex["printed"] + 2 * math.exp(-gamma)), t, "printed")
    fc = cex["factor_count_reading"]
    assert fc["delta"] == 0.0
    assert within(abs(fc["printed_formula"] - cex["actual_sdot"]), t, "factor-count reading = actual")
    cmp = sec7._prop71_replay(cex)
    assert within(abs(cmp.detail["actual"] - cex["actual_sdot"]), t, "library actual")
    assert within(abs(cmp.detail["printed"] - cex["printed"]), t, "library printed")
    assert within(abs(cmp.err - abs(math.exp(-3 * gamma) - 1.0)), tol(4, scale=1 + math.exp(-3 * gamma), kernels=8))


def test_sympy_minimal_cases_are_the_closed_forms():
    """The symbolic second computation: Prop 7.1 actual -2 e^{2g}, printed -2 e^{-g}, ratio e^{-3g}; Rem 7.2
    actual e^g, printed e^{-(3/2) g} e^{g/2} = e^{-g}, ratio e^{-2g}; and the numeric minimal case agrees."""
    import sympy as sp

    g = sp.symbols("gamma", real=True)
    got = sec7._sympy_minimal_cases()
    want = {"prop-7.1": {"actual": -2 * sp.exp(2 * g), "printed": -2 * sp.exp(-g), "printed/actual": sp.exp(-3 * g)},
            "rem-7.2": {"actual": sp.exp(g), "printed": sp.exp(-g), "printed/actual": sp.exp(-2 * g)}}
    for case, d in want.items():
        for k, v in d.items():
            assert sp.simplify(sp.sympify(got[case][k], locals={"gamma": g}) - v) == 0, (case, k, got[case][k])
    cex = sec7._minimal_prop71(1.0)
    assert within(abs(float(sp.sympify(got["prop-7.1"]["printed"], locals={"gamma": g}).subs(g, 1)) - cex["printed"]),
                  tol(4, scale=1.0, kernels=4))


# ----------------------------------------------------------------------------------------------
# sec7: the random masked regime (evidence) and the deep-regime figure
# ----------------------------------------------------------------------------------------------
def test_random_regime_rows_are_the_top_mode(monkeypatch):
    """_random_regime reports, per network, the top mode (index 0 of the descending spectrum) of the fit
    residual, sdot / aligned and printed / sdot, and their medians: recomputed from the library's own outputs."""
    seen = []
    real = sec7.fgln.section7_diagnostics

    def spy(*a, **k):
        d = real(*a, **k)
        seen.append(d)
        return d

    monkeypatch.setattr(sec7.fgln, "section7_diagnostics", spy)
    got = sec7._random_regime(Context("prop-7.1"), 4, 6, 5)
    assert len(seen) == 5 and got["reps"] == 5 and got["L"] == 4 and got["n"] == 6
    for d in seen:
        assert np.all(np.diff(d["s"]) <= 0)  # index 0 is the top mode
    want = {"median_eps": np.median([d["eps"] for d in seen]),
            "median_fit_resid_top": np.median([d["fit_resid"][0] for d in seen]),
            "median_actual/aligned_top": np.median([d["sdot"][0] / d["aligned"][0] for d in seen]),
            "median_predicted/actual_top": np.median(
                [-np.exp((2 + 2 / d["L"]) * d["delta"][0]) * d["L"] * d["s"][0] ** (2 - 2 / d["L"]) * d["g"][0]
                 / d["sdot"][0] for d in seen])}
    for k, v in want.items():
        assert within(abs(got[k] - v), tol(8, scale=1.0 + abs(v), kernels=4), k), (k, got[k], v)
    # the modes differ, so an index slip would show
    assert len({round(float(d["sdot"][0] / d["aligned"][0]), 9) for d in seen} |
               {round(float(d["sdot"][1] / d["aligned"][1]), 9) for d in seen}) > 5


def test_figure_plots_each_mode_against_eps():
    """_figure draws, per depth, modes k = 1, 2 of errors(d) (floored at 1e-17 for the log axis) against eps,
    labelled 'L=.., k=..'; built on rows whose three modes differ."""
    deep = {4: [{"eps": 1e-3 * (j + 1), "err": np.array([0.1 * (j + 1), 2e-20, 5.0 + j])} for j in range(3)],
            16: [{"eps": 2e-3 * (j + 1), "err": np.array([0.3 + j, 1e-2 * (j + 1), 7.0])} for j in range(4)]}
    fig = sec7._figure(deep, lambda d: d["err"], "t")
    ax = fig.axes[0]
    cols = ax.collections
    assert len(cols) == 4
    labels = [c.get_label() for c in cols]
    assert labels == ["L=4, k=1", "L=4, k=2", "L=16, k=1", "L=16, k=2"]
    i = 0
    for L in sorted(deep):
        for k in range(2):
            xy = np.asarray(cols[i].get_offsets())
            np.testing.assert_array_equal(xy[:, 0], [d["eps"] for d in deep[L]])
            np.testing.assert_array_equal(xy[:, 1], [max(d["err"][k], 1e-17) for d in deep[L]])
            i += 1
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


# ----------------------------------------------------------------------------------------------
# sec7: the exact diagonal family's hypothesis flags, on chains perturbed one factor at a time
# ----------------------------------------------------------------------------------------------
def _flags_ref(w, gates, a, d, L, relation):
    """(i) with factor-count exponents, the relation and (ii) at eps = 0, from the products' definitions:
    A_l = W_L D_{L-1} ... W_{l+1} D_l (A_L = I), B_l = D_{l-1} W_{l-1} ... D_1 W_1 (B_1 = I), per mode k."""
    n = len(a)
    sA = {l: [math.prod(w[m - 1][k] for m in range(l + 1, L + 1)) * math.prod(gates[m - 1] for m in range(l, L))
              for k in range(n)] for l in range(1, L + 1)}
    sB = {l: [math.prod(w[m - 1][k] * gates[m - 1] for m in range(1, l)) for k in range(n)] for l in range(1, L + 1)}
    s = [math.prod(w[m][k] for m in range(L)) * math.prod(gates) for k in range(n)]
    off = 1 if not relation else d
    inner_A = range(1, L + 1) if not relation else range(1, L)
    inner_B = range(1, L + 1) if not relation else range(2, L + 1)
    i_ok = (all(sA[l][k] == a[k] ** (L - l) * off for l in inner_A for k in range(n))
            and all(sB[l][k] == a[k] ** (l - 1) * off for l in inner_B for k in range(n))
            and all(sA[L][k] == 1 and sB[1][k] == 1 for k in range(n)))
    rel = all(s[k] == a[k] ** L * off for k in range(n))
    ordered = lambda v: all(x > 0 for x in v) and all(v[k] > v[k + 1] for k in range(n - 1))
    eps0 = ordered(s) and all(ordered(sA[l]) for l in range(1, L)) and all(ordered(sB[l]) for l in range(2, L + 1))
    return i_ok, rel, eps0


def _perturbations(L):
    """(which, index, mode, factor): one weight entry or one gate scaled (mode None: the whole layer)."""
    out = [None]
    for l in range(L):
        out += [("w", l, 0, Fraction(5, 4)), ("w", l, 1, Fraction(7, 1))]
    for l in range(L - 1):
        out.append(("g", l, None, Fraction(3, 2)))
    out.append(("w", 0, None, Fraction(2)))  # the whole first layer times d = 2: s_k = a_k^L (relation) or 2 a_k^L d
    return out


@pytest.mark.parametrize("relation", [False, True])
@pytest.mark.parametrize("L", [2, 3])
def test_sympy_diag_case_flags_match_the_products_definitions(monkeypatch, L, relation):
    """_sympy_diag_case's '(i)_factor_count', 'relation' and 'eps_zero_(ii)' flags equal the same statements
    evaluated on products recomputed from their definitions (exact rationals), on the diagonal family and on
    chains where one weight entry or one gate is scaled (so each flag is seen both true and false, at every
    l, the last B_L included)."""
    import sympy as sp

    a, d = (3, 2), Fraction(2)
    real = sec7.diagonal_fgln
    seen = {"i": set(), "rel": set(), "eps": set()}
    for pert in _perturbations(L):
        def patched(aa, dd, LL, *, relation=False, _p=pert):
            w, gates = real(aa, dd, LL, relation=relation)
            w, gates = [list(x) for x in w], list(gates)
            if _p is not None:
                which, idx, k, f = _p
                if which == "w":
                    for kk in (range(len(w[idx])) if k is None else [k]):
                        w[idx][kk] = w[idx][kk] * sp.Rational(f.numerator, f.denominator)
                else:
                    gates[idx] = gates[idx] * sp.Rational(f.numerator, f.denominator)
            return w, gates

        monkeypatch.setattr(sec7, "diagonal_fgln", patched)
        got = sec7._sympy_diag_case(a, str(d), L, relation=relation)
        w, gates = patched([Fraction(x) for x in a], d, L, relation=relation)
        w = [[Fraction(str(x)) for x in row] for row in w]
        gates = [Fraction(str(g)) for g in gates]
        want = _flags_ref(w, gates, [Fraction(x) for x in a], d, L, relation)
        assert (got["(i)_factor_count"], got["relation_s=e^(L gamma+delta)"], got["eps_zero_(ii)"]) == want, (pert, want)
        seen["i"].add(want[0])
        seen["rel"].add(want[1])
        seen["eps"].add(want[2])
    assert all(v == {True, False} for v in seen.values()), seen


# ----------------------------------------------------------------------------------------------
# sec5: every other foil / knob builder of the module, against the formula its statement prints
# ----------------------------------------------------------------------------------------------
def _patterns(n):
    import itertools

    return list(itertools.product((0, 1), repeat=n))


def _cond_law_ref(n, r, p):
    """The (r, p)-gate's diagonal law by brute force: Bernoulli(p)^n restricted to sum >= r, renormalised."""
    raw = {pat: (p ** sum(pat) * (1 - p) ** (n - sum(pat)) if sum(pat) >= r else Fraction(0)) for pat in _patterns(n)}
    z = sum(raw.values())
    return {pat: w / z for pat, w in raw.items()}


_GATE_CASES = [(4, 2, Fraction(1, 2)), (5, 4, Fraction(3, 10)), (3, 1, Fraction(1, 10)), (6, 1, Fraction(1, 5)),
               (5, 5, Fraction(7, 10)), (4, 3, Fraction(9, 10))]


def test_def51_foils_are_their_statements():
    """def-5.1: the foils' variance is sigma (not sigma^2) and 1.5 sigma^2; the gate frequency foil is 1 - p; the
    printed form's defaults are sigma^2 and p."""
    import inspect

    for s in (0.3, 0.7, 2.0):
        assert _foil("def-5.1", "read as variance sigma").check.keywords["variance"](s) == s
        assert within(abs(_foil("def-5.1", "1.5 sigma^2").check.keywords["variance"](s) - 1.5 * s * s), tol(2, scale=s * s))
    for p in (0.1, 0.3, 0.8):
        assert _foil("def-5.1", "Bernoulli(1 - p)").check.keywords["frequency"](p) == 1 - p
    defaults = inspect.signature(sec5._def51).parameters
    assert defaults["variance"].default(0.7) == 0.7 ** 2 and defaults["frequency"].default(0.3) == 0.3


@pytest.mark.parametrize("n,r,p", _GATE_CASES)
def test_def52_law_helpers_and_foils_by_enumeration(n, r, p):
    """def-5.2/law: the printed law is the conditioned Bernoulli law (brute force); the foils are the unconditioned
    p-gate, independent Bernoulli(q) entries with the true marginal q, and the law conditioned on rank >= r + 1
    (r - 1 where r = n). def-5.2/marginal: gate_law.marginal = q = P(D_11 = 1) of the enumeration = p P(Bin(n-1,p)
    >= r-1) / P(Bin(n,p) >= r); its foils are p P(Bin(n-1,p) >= r)/P(Bin(n,p) >= r), p / P(Bin(n,p) >= r) and p.
    def-5.2/dependence: _cov is Cov(D_11, D_22) of the enumeration."""
    ref = _cond_law_ref(n, r, p)
    assert gate_law_pattern(n, r, p) == ref
    q = sum(w for pat, w in ref.items() if pat[0] == 1)
    assert q == sum(w for pat, w in ref.items() if pat[-1] == 1)  # exchangeable
    assert sec5._pgate_law(n, r, p) == {pat: p ** sum(pat) * (1 - p) ** (n - sum(pat)) for pat in _patterns(n)}
    assert sec5._iid_marginal_law(n, r, p) == {pat: q ** sum(pat) * (1 - q) ** (n - sum(pat)) for pat in _patterns(n)}
    shifted = _foil("def-5.2/law", "threshold off by one").check.keywords["law"](n, r, p)
    assert shifted == _cond_law_ref(n, r + 1 if r < n else r - 1, p)
    assert sec5._marginal_formula(n, r, p) == q == p * _acc(n - 1, r - 1, p) / _acc(n, r, p)
    kw = lambda needle: _foil("def-5.2/marginal", needle, corrected=True).check.keywords["formula"]
    if r <= n - 1:
        assert kw("r for r - 1")(n, r, p) == p * _acc(n - 1, r, p) / _acc(n, r, p)
    assert kw("entry alone")(n, r, p) == p / _acc(n, r, p)
    assert kw("printed sentence")(n, r, p) == p
    if n >= 2:
        both = sum(w for pat, w in ref.items() if pat[0] == 1 and pat[1] == 1)
        assert sec5._cov(n, r, p) == both - q * q
    assert sec5._marginal_replay({"n": n, "r": r, "p": str(p)}).err == float(abs(q - p))


def gate_law_pattern(n, r, p):
    from theory import gate_law

    return gate_law.pattern_law(n, r, p)


def test_def52_dependence_relations_and_zero_cases():
    """def-5.2/dependence: the printed relation is 'cov != 0', the foils 'cov == 0' and 'cov > 0'; on the
    declared zero cases (r = 0: no conditioning; r = n: constant) the enumerated covariance is exactly 0, and on
    a conditioned case it is negative (conditioning on many ones makes ones compete)."""
    import inspect

    rel = inspect.signature(sec5._def52_dependence).parameters["relation"].default
    f_ind = _foil("def-5.2/dependence", "independent").check.keywords["relation"]
    f_pos = _foil("def-5.2/dependence", "positively correlated").check.keywords["relation"]
    for c in (Fraction(-1, 7), Fraction(0), Fraction(1, 9)):
        assert rel(c) == (c != 0) and f_ind(c) == (c == 0) and f_pos(c) == (c > 0)
    for n, r, p in sec5._DEP_ZERO_CASES:
        assert sec5._cov(n, r, p) == 0
    assert sec5._cov(4, 2, Fraction(1, 2)) < 0


def test_def52_acceptance_foils_and_knob_are_their_bounds():
    """def-5.2/acceptance: _chernoff is 1 - exp(-(np-r)^2/(2np)) for r <= np and 0 beyond; _chernoff_c(c) puts c
    for 1/2 (the knob's 0.5 (1 + delta), the nearest foil's 0.75); the other foil uses the binomial variance
    np(1-p)."""
    cells = [(n, p, r) for n in (8, 32, 1000) for p in (0.05, 0.25, 0.5, 0.9)
             for r in sorted({max(1, int(f * n * p)) for f in (0.0, 0.5, 0.99, 1.0, 1.2)})]
    knob = REGISTRY["def-5.2/acceptance"].knob
    nearest = _foil("def-5.2/acceptance", "1.5 times too large").check.keywords["bound"]
    binvar = _foil("def-5.2/acceptance", "binomial variance").check.keywords["bound"]
    for n, p, r in cells:
        with mp.workdps(30):
            mu = mp.mpf(n) * mp.mpf(p)
            x = (mu - r) ** 2 / mu
            ref = lambda c: 0.0 if r > n * p else float(1 - mp.exp(-c * x))
            var_ref = 0.0 if r > n * p else float(1 - mp.exp(-x / (2 * (1 - mp.mpf(p)))))
        t = tol(4, scale=1.0 + float(x), kernels=2)
        assert within(abs(sec5._chernoff(n, r, p) - ref(mp.mpf(1) / 2)), t, "chernoff")
        assert within(abs(nearest(n, r, p) - ref(mp.mpf(3) / 4)), t, "c = 3/4")
        assert within(abs(binvar(n, r, p) - var_ref), tol(4, scale=1.0 + float(x) / (1 - p), kernels=2), "np(1-p)")
        for delta in (-0.3, 0.0, 0.5):
            got = knob.variant(delta).keywords["bound"](n, r, p)
            assert within(abs(got - ref(mp.mpf(0.5) * (1 + mp.mpf(delta)))), t, "knob")


def test_running_min_and_conditioned_q():
    """thm-5.3/minus-infinity: the predicted rank of J_L is the running minimum of the gate ranks (brute force),
    the foil the last gate's rank; q = P(rk D = r | rk D >= r), the index foil P(rk D = r + 1 | rk D >= r)."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        b = rng.integers(1, 7, size=rng.integers(1, 12)).tolist()
        assert sec5._running_min(b) == [min(b[: j + 1]) for j in range(len(b))]
        assert _foil("thm-5.3/minus-infinity", "last gate's rank").check.keywords["rank_rule"](b) == b
    idx = _foil("thm-5.3/minus-infinity", "rank r + 1").check.keywords["q_rank_r"]
    for n, r, p in ((5, 2, 0.5), (5, 2, 0.3), (8, 3, 0.7), (6, 5, 0.2)):
        pf = Fraction(p).limit_denominator(1000)
        for got, t in ((sec5._conditioned_q(n, r, p), r), (idx(n, r, p), r + 1)):
            want = float(_binom_pmf(n, t, pf) / _acc(n, r, pf))
            assert within(abs(got - want), tol(1, scale=want)), (n, r, p, t, got, want)


@pytest.mark.parametrize("n", [3, 5, 8])
def test_correction_and_universal_constant_foils(n):
    """thm-5.3/correction: the corrected constant is d_i - d_(i-1) (d_0 = 0), the printed one its negative, the
    foils 1.5 and 1/2 times it, d_i alone, and d_(i+1) - d_i. thm-5.3/d-universal: the printed constant d_K(n),
    the foils d_K(r), 1.5 d_K(n) and d_K(t) averaged over the conditioned rank law of t (reference d_K from the
    Beta-product closed form)."""
    d = [0.0] + [_d_ref(K, n) for K in range(1, n + 1)]
    kw = lambda needle: _foil("thm-5.3/correction", needle, corrected=True).check.keywords["constant"]
    for i in range(1, n + 1):
        c = d[i] - d[i - 1]
        t = tol(8, scale=1.0 + abs(d[i]), kernels=4)
        assert within(abs(_ladder.corrected_constant(i, n) - c), t)
        assert within(abs(_ladder.printed_constant(i, n) + c), t)
        assert within(abs(kw("printed sign")(i, n) + c), t)
        assert within(abs(kw("1.5 times")(i, n) - 1.5 * c), t)
        assert within(abs(kw("halved")(i, n) - 0.5 * c), t)
        assert within(abs(kw("d_i for")(i, n) - d[i]), t)
        if i < n:
            assert within(abs(kw("index shifted")(i, n) - (d[i + 1] - d[i])), t)
    for r, p in ((1, 0.5), (2, 0.3), (n, 0.8)):
        cfg = _ladder.Config(n, p, 1.0, r)
        pf = Fraction(p).limit_denominator(10 ** 6)
        for K in range(1, r + 1):
            t = tol(8, scale=1.0 + d[K], kernels=4)
            u = REGISTRY["thm-5.3/d-universal"]
            fk = lambda needle: [f for f in u.foils if needle in f.statement][0].check.keywords["constant"]
            assert within(abs(fk("O(r)")(K, cfg) - _d_ref(K, r)), t)
            assert within(abs(fk("1.5 d_K")(K, cfg) - 1.5 * d[K]), t)
            avg = sum(float(_binom_pmf(n, tt, pf) / _acc(n, r, pf)) * _d_ref(K, tt) for tt in range(max(r, K), n + 1))
            assert within(abs(sec5._d_rank_averaged(K, cfg) - avg), t), (K, cfg)


@pytest.mark.parametrize("cfg", _CFGS, ids=lambda c: c.label())
def test_rem54_rem55_cor56_formula_foils(cfg):
    """rem-5.4's foils: the unnormalised sums, gamma at sigma / sqrt(2), psi((t-i+2)/2) (_psi_shifted); rem-5.5's:
    ln(sqrt(2) sigma) + sum_t (no 1/2) and the approximation at sigma / sqrt(2); cor-5.6: slopes are the gaps and
    the foils 1.5, 2 and 0 times them."""
    n, p, s, r = cfg.n, cfg.p, cfg.sigma, cfg.r
    kw = lambda cid, needle, key: _foil(cid, needle).check.keywords[key]
    _close(kw("rem-5.4", "denominator dropped", "formula")(n, p, s, r), _gamma_ref(n, p, s, r, normalised=False), "approx")
    _close(kw("rem-5.4", "ln(sigma) for", "formula")(n, p, s, r), _gamma_ref(n, p, s / math.sqrt(2), r), "sqrt2")
    _close(sec5._psi_shifted(n, p, s, r), _gamma_ref(n, p, s, r, shift=1), "psi shifted")
    with mp.workdps(30):
        pf = Fraction(p).limit_denominator(10 ** 6)
        no_half = [float(mp.log(mp.sqrt(2) * s) + sum(mp.mpf(_binom_pmf(n, t, pf).numerator) / _binom_pmf(n, t, pf).denominator
                                                         * mp.digamma(mp.mpf(t - i + 1) / 2) for t in range(r, n + 1)))
                   for i in range(1, r + 1)]
    _close(kw("rem-5.5", "factor 1/2 dropped", "approx")(n, p, s, r), no_half, "no 1/2")
    _close(kw("rem-5.5", "ln(sigma) for", "approx")(n, p, s, r), _gamma_ref(n, p, s / math.sqrt(2), r, normalised=False),
           "approx sqrt2")
    if r >= 2:
        gaps = np.diff(_gamma_ref(n, p, s, r))
        _close(sec5._slopes(cfg), gaps, "slopes")
        for needle, c in (("factor 1.5", 1.5), ("eigenvalues of J^T J", 2.0), ("nonzero constant", 0.0)):
            _close(kw("cor-5.6", needle, "slopes")(cfg), c * gaps, needle)


# ----------------------------------------------------------------------------------------------
# sec7: the corrected laws' foils and knobs, and the shared verdict helpers
# ----------------------------------------------------------------------------------------------
def _d71(L, rng):
    n = 4
    return {"L": L, "s": np.sort(np.exp(rng.normal(size=n)))[::-1], "g": rng.normal(size=n)}


def _law71(d, delta, c, t, p):
    """-e^{c delta_k} t_k s_k^p g_k, evaluated term by term (mpmath)."""
    with mp.workdps(30):
        return np.array([float(-mp.exp(c * mp.mpf(dl)) * tk * mp.mpf(s) ** p * mp.mpf(g))
                         for dl, tk, s, g in zip(delta, t, d["s"], d["g"])])


_SLIP = sec7.EXPONENT_SLIP
# statement needle -> (c(L), terms(L, delta), power(L)) of the formula the foil's statement prints
_FOILS71 = {
    "exponent of e^{delta_k} 2 + 2/L - 1/12": (lambda L: 2 + 2 / L - _SLIP, lambda L, dl: L - 2 + 2 * np.exp(-2 * dl),
                                        lambda L: 2 - 2 / L),
    "sign of the delta factor flipped": (lambda L: -(2 + 2 / L), lambda L, dl: L - 2 + 2 * np.exp(-2 * dl),
                                         lambda L: 2 - 2 / L),
    "exponent of e^{delta_k} 2:": (lambda L: 2.0, lambda L, dl: L - 2 + 2 * np.exp(-2 * dl), lambda L: 2 - 2 / L),
    "exponent 2 - 1/L": (lambda L: 2 + 2 / L, lambda L, dl: L - 2 + 2 * np.exp(-2 * dl), lambda L: 2 - 1 / L),
    "printed L summands": (lambda L: 2 + 2 / L, lambda L, dl: L + 0 * dl, lambda L: 2 - 2 / L),
    "L - 1 summands": (lambda L: 2 + 2 / L, lambda L, dl: L - 3 + 2 * np.exp(-2 * dl), lambda L: 2 - 2 / L),
}


def _pred_kwargs(foil):
    return {k: v for k, v in foil.check.keywords.items() if k in ("dexp", "cexp", "power", "terms")}


@pytest.mark.parametrize("claim_id", ["prop-7.1", "prop-7.1/missing-relation"])
@pytest.mark.parametrize("L", [2, 3, 8, 12])
def test_prop71_corrected_foils_and_knob_are_their_formulas(claim_id, L):
    """Every foil of the corrected Prop. 7.1 (and of the missing-relation claim's corrected form) whose statement
    prints a law -e^{c delta_k} T s_k^p <grad, u_k v_k^T> predicts exactly that law through _pred71 (the 2 + 2/L - 1/12
    foil is the nearest slip EXPONENT_SLIP = 1/12 below 2 + 2/L, which is 2 + 1/L at L = 12), at delta_k of both
    signs; the corrected law itself is c = 2 + 2/L, T = L - 2 + 2 e^{-2 delta_k}, p = 2 - 2/L; the knob moves c."""
    rng = np.random.default_rng(L)
    d, delta = _d71(L, rng), np.array([0.4, -0.3, 0.0, 0.15])
    t = lambda want: tol(8, scale=float(np.max(np.abs(want))), kernels=6)
    want = _law71(d, delta, 2 + 2 / L, L - 2 + 2 * np.exp(-2 * delta), 2 - 2 / L)
    assert within(np.max(np.abs(sec7._pred71(d, delta) - want)), t(want), "corrected law")
    with mp.workdps(30):
        want0 = np.array([float(-L * mp.mpf(s) ** (2 - mp.mpf(2) / L) * g) for s, g in zip(d["s"], d["g"])])
    assert within(np.max(np.abs(sec7._pred71(d, np.zeros(4)) - want0)), t(want0), "delta = 0: the printed law")
    c = REGISTRY[claim_id].corrected
    hit = 0
    for needle, (cc, tt, pp) in _FOILS71.items():
        foils = [f for f in c.foils if needle in f.statement]
        if not foils:
            continue
        hit += 1
        got = sec7._pred71(d, delta, **_pred_kwargs(foils[0]))
        want = _law71(d, delta, cc(L), tt(L, delta), pp(L))
        assert within(np.max(np.abs(got - want)), t(want), needle), (needle, got, want)
    assert hit >= 4
    for dx in (-_SLIP, 0.5 * _SLIP):
        got = sec7._pred71(d, delta, **_pred_kwargs(SimpleCheck(c.knob.variant(dx))))
        want = _law71(d, delta, 2 + 2 / L + dx, L - 2 + 2 * np.exp(-2 * delta), 2 - 2 / L)
        assert within(np.max(np.abs(got - want)), t(want), "knob")


class SimpleCheck:
    def __init__(self, check):
        self.check = check


@pytest.mark.parametrize("L", [2, 3, 8])
def test_rem72_predict_foils_and_knob(L):
    """Remark 7.2's law e^{(1+1/L) delta_k} s_k^p sum_l (...)_kk with p = 1 - 1/L (corrected); the foils put
    p = 1 + 1/L, 1 and 1 - 2/L, the knob p = 1 - 1/L + dx, the index foil b_shift = 1."""
    rng = np.random.default_rng(L)
    d = {"L": L, "s": np.exp(rng.normal(size=3)), "delta": np.array([0.2, -0.1, 0.0]), "factored_sum": rng.normal(size=3)}

    def ref(p):
        with mp.workdps(30):
            return np.array([float(mp.exp((1 + mp.mpf(1) / L) * dl) * mp.mpf(s) ** p * fs)
                             for dl, s, fs in zip(d["delta"], d["s"], d["factored_sum"])])

    t = lambda want: tol(8, scale=float(np.max(np.abs(want))), kernels=6)
    assert sec7._rem72_power(L) == 1 - 1 / L
    for p, got in ((1 - 1 / L, sec7._rem72_predict(d)), (1 - 1 / L, sec7._rem72_predict(d, sec7._rem72_power(L)))):
        assert within(np.max(np.abs(got - ref(p))), t(ref(p)), "law")
    c = REGISTRY["rem-7.2"].corrected
    for needle, p in (("exponent 1 + 1/L", 1 + 1 / L), ("the 1/L dropped", 1.0), ("Prop. 7.1's 2/L", 1 - 2 / L)):
        f = [f for f in c.foils if needle in f.statement]
        assert len(f) == 1, needle
        got = sec7._rem72_predict(d, f[0].check.keywords["power"](L))
        assert within(np.max(np.abs(got - ref(p))), t(ref(p)), needle)
    assert [f for f in c.foils if "literal index" in f.statement][0].check.keywords == {"b_shift": 1}
    for dx in (-_SLIP, _SLIP / 4):
        kw = c.knob.variant(dx).keywords
        assert kw == {"dexp": dx}


def test_exact_verdict_is_the_worst_resolved_error_over_its_tolerance():
    """_exact_verdict: worst = max over rows and *resolved* modes of |pred - sdot| / _exact_tol, where the
    tolerance is rounding_tol(n, scale = ||Jdot|| + |pred_k| (1 + L max(|log A|, |log s|, 1))); the table's
    ratios are pred / sdot. An error planted in an unresolved mode is ignored, one in a resolved mode is not."""
    from theory.claims._networks import rounding_tol

    rng = np.random.default_rng(3)
    rows = []
    for L in (2, 5):
        n = 4
        s = np.sort(np.exp(rng.normal(size=n)))[::-1]
        rows.append({"L": L, "s": s, "sdot": rng.normal(size=n), "jdot_norm": 3.0, "logA": rng.normal(size=(L, n)) * 4,
                     "resolved": np.array([True, True, True, False]), "eps": 0.0, "fit_resid": np.zeros(n),
                     "gamma": np.zeros(n), "delta": np.zeros(n)})
    errs = {id(rows[0]): np.array([1e-3, 0.0, 2e-3, 50.0]), id(rows[1]): np.array([0.0, 5e-3, 0.0, 99.0])}
    predict = lambda d: d["sdot"] + errs[id(d)]
    kern = lambda L: 2 * L + 4
    worst, table = sec7._exact_verdict(rows, predict, kern)
    want = 0.0
    for d in rows:
        pred = predict(d)
        logs = max(float(np.max(np.abs(d["logA"]))), float(np.max(np.abs(np.log(d["s"])))), 1.0)
        tl = np.array([rounding_tol(4, scale=3.0 + abs(p) * (1 + d["L"] * logs), kernels=kern(d["L"])) for p in pred])
        np.testing.assert_array_equal(sec7._exact_tol(d, pred, kern(d["L"])), tl)
        want = max(want, float(np.max((np.abs(pred - d["sdot"]) / tl)[:3])))
    assert within(abs(worst - want), tol(4, scale=want)), (worst, want)
    assert [r["L"] for r in table] == [2, 5]
    for r, d in zip(table, rows):
        np.testing.assert_allclose(r["ratio_pred/actual"], np.round(predict(d) / d["sdot"], 6))


def test_depth_tests_mann_whitney_and_resolved_modes():
    """_depth_tests: per mode k, c_k = errors_k / (eps + fit_resid_k) at the shallowest and deepest L; the
    Mann-Whitney z from the pair count U = #{(i, j): c_hi_i > c_lo_j} (+ 1/2 per tie), z = (U - n1 n2 / 2) /
    sqrt(n1 n2 (n1 + n2 + 1) / 12); 'grows' iff z > z_crit; medians of c; power Phi(z - z_crit) when z > 0.
    _resolved_everywhere: the modes resolved in every row of every depth."""
    from scipy.stats import norm

    rng = np.random.default_rng(11)

    def rows(m, scale):
        return [{"eps": float(e), "fit_resid": np.abs(rng.normal(size=3)) * 0.1,
                 "err": np.abs(rng.normal(size=3)) * scale * np.array([1.0, 3.0, 0.5]),
                 "resolved": np.array([True, True, j % 7 != 3])} for j, e in enumerate(rng.uniform(0.1, 1.0, m))]

    deep = {4: rows(13, 1.0), 9: rows(5, 1.0), 16: rows(17, np.array([5.0, 1.0, 1.0]))}  # only mode 1 grows
    zc = 2.5
    tests, per_L = sec7._depth_tests(deep, lambda d: d["err"], [0, 1, 2], zc)
    assert [t["mode"] for t in tests] == [1, 2, 3]
    for t, k in zip(tests, range(3)):
        c = {L: np.array([d["err"][k] / (d["eps"] + d["fit_resid"][k]) for d in deep[L]]) for L in (4, 16)}
        U = sum(float(a > b) + 0.5 * float(a == b) for a in c[16] for b in c[4])
        n1, n2 = len(c[16]), len(c[4])
        z = (U - n1 * n2 / 2) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
        assert t["L_min"] == 4 and t["L_max"] == 16
        assert within(abs(t["mann_whitney_z"] - z), tol(n1 * n2, scale=1.0 + abs(z)))
        assert t["median_c_at_L_min"] == float(np.median(c[4])) and t["median_c_at_L_max"] == float(np.median(c[16]))
        assert t["grows"] == (z > zc) and t["z_crit"] == zc
        want_p = float(norm.cdf(z - zc) + norm.cdf(-z - zc)) if z > 0 else 0.0
        assert within(abs(t["power_if_it_grows_as_measured"] - want_p), tol(4, scale=1.0)), (t, want_p)
    assert any(t["grows"] for t in tests) and not all(t["grows"] for t in tests)
    assert sorted(per_L) == [4, 9, 16]
    for L, v in per_L.items():
        assert v["median_eps"] == float(np.median([d["eps"] for d in deep[L]]))
        np.testing.assert_allclose(v["median_rel_err_by_mode"], np.round(np.median([d["err"] for d in deep[L]], 0), 6))
    assert sec7._resolved_everywhere(deep) == [0, 1]


# ----------------------------------------------------------------------------------------------
# sec5: resolution helpers
# ----------------------------------------------------------------------------------------------
def test_sec5_resolution_helpers_from_their_definition():
    """_zres(z, se) = (z + z_0.9) se (the deviation a two-sided z-test rejects with power 0.9, one tail), which
    indeed has power >= 0.9; _worst_resolution takes the largest res / scale over the tests and reports it with
    that test's name and scale; _dead lists the rows whose flag is false."""
    from scipy.stats import norm

    for z, se in ((1.96, 0.1), (4.5, 0.02), (3.0, 1.7)):
        res = sec5._zres(z, se)
        with mp.workdps(30):
            want = float((z + mp.sqrt(2) * mp.erfinv(mp.mpf(0.8))) * se)
        assert within(abs(res - want), tol(4, scale=want, kernels=4))
        assert stats.power(res, se, z) >= 0.9 - tol(4, kernels=4)
        assert norm.sf(z - res / se) >= 0.9 - tol(4, kernels=4)
    items = [(0.3, 2.0, "a"), (0.5, 0.5, "b"), (0.9, 3.0, "c"), (0.05, 0.1, "d")]
    r = sec5._worst_resolution("q", items, "relative", "|x|", nearest=0.5, statement="st")
    want = max(items, key=lambda t: t[0] / t[1])
    assert want[2] == "b" and r.value == want[0] / want[1] and r.unit == "relative" and r.quantity == "q"
    assert "(at b;" in r.how and "worst of 4" in r.how and r.nearest_slip == 0.5 and r.nearest_slip_statement == "st"
    rows = [{"consistent": True, "x": 1}, {"consistent": False, "x": 2}, {"consistent": True, "x": 3, "ok": False}]
    assert sec5._dead(rows) == [rows[1]]
    assert sec5._dead(rows[2:], "ok") == [rows[2]]


# ----------------------------------------------------------------------------------------------
# sec5: the Bonferroni counts of the bracket claims are the comparisons they make
# ----------------------------------------------------------------------------------------------
class _RecCtx(Context):
    def t(self, comparisons=1, dof=1):
        self.__dict__.setdefault("calls", []).append(("t", comparisons, dof))
        return super().t(comparisons, dof)

    def z(self, comparisons=1):
        self.__dict__.setdefault("calls", []).append(("z", comparisons))
        return super().z(comparisons)


def _synthetic_brackets(monkeypatch, batch=40):
    """Exact brackets around d_K (v = d_K - 0.2, w = d_K + 0.3, u = d_K) for every quick config, two depths,
    K = 1..r, and Benettin sums with mean L gamma_i: the bracket claims see consistent data."""
    from theory import lyapunov

    brs, lads = {}, {}
    sign = np.where(np.arange(batch) % 2 == 0, 1.0, -1.0)
    for cfg in sec5._configs(Context("thm-5.3/correction")):
        gam = _gamma_ref(cfg.n, cfg.p, cfg.sigma, cfg.r)
        lads[cfg] = {}
        for L in (12, 16):
            brs[(cfg, L)] = [_ladder.Bracket(label=f"{cfg.label()}, L={L}", K=K, v=lyapunov.d(K, cfg.n) - 0.2, v_se=0.01,
                                             w=lyapunov.d(K, cfg.n) + 0.3, w_se=0.01, m=batch, u=lyapunov.d(K, cfg.n),
                                             u_se=0.02, slack=0.3, slack_se=0.01, u_skew=0.0)
                             for K in range(1, cfg.r + 1)]
            lr = np.stack([L * gam[i] + 0.1 * sign for i in range(cfg.r)] + [np.zeros(batch)] * (cfg.n - cfg.r), 1)
            lads[cfg][L] = (lr + 0.05, lr)
    monkeypatch.setattr(sec5, "_thm53_brackets", lambda ctx: (brs, lads, batch))
    return brs, lads, batch


def test_bracket_claims_count_every_comparison_for_bonferroni(monkeypatch):
    """thm-5.3/correction tests three things per bracket (lower end, upper end, exact point estimate) and one
    Benettin mean per (config, depth, i <= r); thm-5.3/d-universal three per bracket and one per Haar cell. The
    critical values must be taken for exactly that many comparisons, at df = batch - 1."""
    brs, lads, batch = _synthetic_brackets(monkeypatch)
    n_br = sum(len(b) for b in brs.values())
    ctx = _RecCtx("thm-5.3/correction")
    out = sec5._correction(ctx)
    n_ben = len(out.evidence["benettin_tests"])
    assert n_ben == sum(cfg.r * len(lad) for cfg, lad in lads.items())
    assert len(out.evidence["brackets"]) == n_br
    assert ("t", 3 * n_br + n_ben, batch - 1) in ctx.calls, ctx.calls
    assert out.status is Status.SUPPORTED, out.summary

    ctx = _RecCtx("thm-5.3/d-universal")
    out = sec5._d_universal(ctx)
    n_h = len(out.evidence["haar_tests"])
    assert n_h >= 5 and len(out.evidence["brackets"]) == n_br
    assert ("t", 3 * n_br + n_h, batch - 1) in ctx.calls and ("z", 3 * n_br + n_h) in ctx.calls, ctx.calls


# ----------------------------------------------------------------------------------------------
# sec5: the ladder claims (limit, ordering, Cor. 5.6) and all their foils on exact synthetic ladders
# ----------------------------------------------------------------------------------------------
_DEPTHS = (12, 16, 24, 32, 48)


def _wls_se0(se_L):
    """se of the limit c0 in the weighted fit y = c0 + c1/L (weights 1/se_L^2), from the normal equations."""
    L = np.asarray(_DEPTHS, float)
    X = np.stack([np.ones_like(L), 1 / L], 1) / np.asarray(se_L)[:, None]
    return float(math.sqrt(np.linalg.inv(X.T @ X)[0, 0]))


def _ladder_forms(claim_id, key):
    c = REGISTRY[claim_id]
    forms = [("printed", c.check, None)]
    for f in c.foils:
        forms.append((f.statement[:40], f.check, f.check.keywords.get(key)))
    return forms


@pytest.mark.parametrize("claim_id,key", [("thm-5.3/limit", "exponents"), ("thm-5.3/ordering", "gaps"),
                                          ("cor-5.6", "slopes")])
def test_ladder_claims_and_foils_on_exact_ladders(monkeypatch, claim_id, key):
    """On ladders whose mean curves are exactly limit + c/L (limit = gamma_i, or the gap gamma_(i+1) - gamma_i),
    every form of the claim reports, per (config, i): the fitted limit, its WLS standard error, the prediction
    its formula gives for that same i, consistency |estimate - prediction| <= z se, the power max_i P(reject |
    prediction - truth|) and, where it passes, the resolution max_i (z + z_0.9) se / scale. The printed form
    passes, every foil is rejected."""
    from scipy.stats import norm

    noise, B = 0.02, 64
    _synthetic_ladders(monkeypatch, c1=0.7, noise=noise)
    z09 = float(norm.ppf(0.9))
    base = Context(claim_id)
    for name, check, formula in _ladder_forms(claim_id, key):
        ctx = Context(claim_id)
        ctx.cache.update(base.cache)
        out = check(ctx)
        base.cache.update(ctx.cache)
        rows = out.evidence["tests"]
        want_rows, powers, res = [], [], []
        for cfg in sec5._configs(ctx):
            gam = _gamma_ref(cfg.n, cfg.p, cfg.sigma, cfg.r)
            if claim_id == "thm-5.3/limit":
                items = [(i, gam[i - 1], i * noise, abs(np.r_[gam[1:], gam[-2]][i - 1] - gam[i - 1])
                          if cfg.r >= 2 else None) for i in range(1, cfg.r + 1)]
            else:
                items = [(i, gam[i] - gam[i - 1], noise, abs(gam[i] - gam[i - 1])) for i in range(1, cfg.r)]
            for i, truth, amp, scale in items:
                se0 = _wls_se0([amp * math.sqrt(B / (B - 1)) / math.sqrt(B) / L for L in _DEPTHS])
                pred = truth if formula is None else float(np.asarray(formula(cfg))[i - 1])
                want_rows.append((truth, se0, pred))
                if scale is not None:
                    res.append((se0, scale))
        assert len(rows) == len(want_rows), name
        z = ctx.z(len(rows))  # two-sided, Bonferroni over the claim's tests
        for r in rows:
            assert within(abs((r["ci"][1] - r["estimate"]) - z * r["se"]), tol(4, scale=abs(r["estimate"]) + z * r["se"]))
        for r, (truth, se0, pred) in zip(rows, want_rows):
            assert within(abs(r["estimate"] - truth), tol(64, scale=1.0 + abs(truth), kernels=8)), (name, r, truth)
            assert within(abs(r["se"] - se0), tol(64, scale=se0, kernels=8)), (name, r, se0)
            assert within(abs(r["prediction"] - pred), tol(16, scale=1.0 + abs(pred), kernels=4)), (name, r, pred)
            assert r["consistent"] == (abs(r["estimate"] - r["prediction"]) <= z * r["se"])
        want_power = max(stats.power(p - t, s, z) for t, s, p in want_rows)
        assert within(abs(out.power - want_power), tol(16, scale=1.0, kernels=4)), (name, out.power, want_power)
        if formula is None:
            assert out.status.passing, (name, out.summary)
            want_res = max((z + z09) * s / sc for s, sc in res)
            assert within(abs(out.resolution.value - want_res), tol(16, scale=want_res, kernels=4)), name
        else:
            assert out.status is Status.REFUTED, (name, out.summary)


def _gamma_float(n, p, sigma, r, *, normalised=True):
    """Remark 5.4 / 5.5 in float64 from exact binomial weights (Fractions) and scipy's digamma."""
    from scipy.special import digamma

    pf = Fraction(p).limit_denominator(10 ** 6)
    acc = _acc(n, r, pf) if normalised else Fraction(1)
    w = np.array([float(_binom_pmf(n, t, pf) / acc) for t in range(r, n + 1)])
    t = np.arange(r, n + 1)
    return np.array([math.log(math.sqrt(2.0) * sigma) + float(np.sum(w * digamma((t - i + 1) / 2.0))) / 2
                     for i in range(1, r + 1)])


def test_rem55_evidence_is_its_definition():
    """rem-5.5's cells are n in {64, 128}, p in {0.5, 1}, r from the list with r <= np/2 and r <= n; per cell
    P(rank >= r) is the exact binomial tail, the error max_i |gamma_i - approx_i| (Remark 5.4 vs 5.5), the
    r-dependence max over i in {1, r} of |approx at r - approx at i| = 1/2 sum_{t=1}^{r-1} P(Bin = t) psi(t/2)
    (for i = 1), and the needed accuracy at the worst i at least 1% of |d_i - d_(i-1)| / 20; the context table
    takes r = round(frac np) (clamped to 1..n) with the same definitions."""
    from scipy.special import digamma

    out = sec5._rem55(Context("rem-5.5"))
    assert out.status is Status.VERIFIED
    rows = out.evidence["cells"]
    want_cells = [(n, p, r) for n in (64, 128) for p in (0.5, 1.0)
                  for r in (1, 2, 4, 8, 16, 24, 30, 32, 40, 48, 64, 72, 96, 128) if r <= n * p / 2 and r <= n]
    assert [(r["n"], r["p"], r["r"]) for r in rows] == want_cells

    def check(row):
        n, p, r = row["n"], row["p"], row["r"]
        pf = Fraction(p)
        assert within(abs(row["P(rank >= r)"] - float(_acc(n, r, pf))), tol(n, scale=1.0)), row
        assert row["r/np"] == r / (n * p)
        ex, ap = _gamma_float(n, p, 1 / math.sqrt(n), r), _gamma_float(n, p, 1 / math.sqrt(n), r, normalised=False)
        want = float(np.max(np.abs(ex - ap)))
        assert within(abs(row["max_i |exact - approx|"] - want), tol(4 * n, scale=1.0 + float(np.max(np.abs(ex))))), row
        return n, p, r

    for row in rows:
        n, p, r = check(row)
        pmf = [float(_binom_pmf(n, t, Fraction(p))) for t in range(1, r)]
        dep = 0.5 * abs(sum(w * digamma(t / 2.0) for t, w in zip(range(1, r), pmf)))
        got = row["|approx(r) - approx(i)| (r-dependence)"]
        assert within(abs(got - dep), tol(4 * n, scale=1.0 + abs(math.log(n)))), (row, dep)
        w = row["worst i"]
        floor = 0.01 * abs(_d_ref(w, n) - (_d_ref(w - 1, n) if w > 1 else 0)) / 20
        assert 1 <= w <= r and within(max(0.0, floor - row["needed at worst i"]), tol(8, scale=floor, kernels=4)), row
    ctxt = out.evidence["context (hypothesis r << np fails as r -> np)"]
    assert [(c["n"], c["p"], c["r"]) for c in ctxt] == [
        (n, p, max(1, min(n, int(round(f * n * p))))) for n in (8, 32, 128) for p in (0.25, 0.5) for f in (0.25, 0.5, 0.75, 1.0)]
    for c in ctxt:
        check(c)


def test_sign_i1_second_computation_holds_its_identities():
    """_sign_i1 (thm-5.3/correction's independent confirmation): E log||J_L e_1|| = L gamma_1 by right
    invariance (within 5 SE), s_1 >= ||J_L e_1|| pathwise (to rounding), so E log s_1 - L gamma_1 equals the
    e_1 offset plus the mean gap; the printed prediction reported is d_0 - d_1 = -d_1(4)."""
    ev = sec5._sign_i1(Context("thm-5.3/correction"))
    assert ev["L"] == 16 and ev["config"] == _ladder.Config(4, 0.5, 1.0, 2).label()
    assert abs(ev["E log||J_L e_1|| - L gamma_1"]) <= 5 * ev["se"]
    assert ev["min pathwise log s_1 - log||J_L e_1||"] >= -tol(16 * 4, scale=16.0, kernels=4)
    assert ev["E[log s_1 - log||J_L e_1||]"] > 5 * ev["se_gap"]
    lhs = ev["E log s_1 - L gamma_1"]
    rhs = ev["E log||J_L e_1|| - L gamma_1"] + ev["E[log s_1 - log||J_L e_1||]"]
    assert within(abs(lhs - rhs), tol(2000, scale=16.0, kernels=4))
    assert within(abs(ev["printed_prediction (d_0 - d_1)"] + _d_ref(1, 4)), tol(4, scale=1.0, kernels=4))


@pytest.mark.parametrize("L", [2, 3])
def test_sympy_gated_cases_against_the_closed_forms(L):
    """_sympy_gated_cases on 1 x 1 FGLNs: the corrected law equals Jdot = -g sum_l (J/w_l)^2 (difference 0); with
    J = e^{L gamma + delta} the printed law over the actual one is L / (L - 2 + 2 e^{-2 delta}), the sign-flipped
    law e^{-2(2+2/L) delta}, and on the no-relation family (w_l = e^gamma / d, gates d) d^{-(2 - 2/L)}."""
    import sympy as sp

    g_, dl, gm = sp.symbols("g delta gamma", real=True)
    dd = sp.symbols("d", positive=True)
    got = sec7._sympy_gated_cases(Ls=(L,))[f"L={L}"]
    loc = {"g": g_, "delta": dl, "gamma": gm, "d": dd}
    val = lambda k: sp.sympify(got[k], locals=loc)
    assert got["law - actual (offset family, general gates e^delta)"] == "0"
    want = {"printed/actual (offset family)": L / (L - 2 + 2 * sp.exp(-2 * dl)),
            "sign-flipped/actual (offset family)": sp.exp(-2 * (2 + sp.Rational(2, L)) * dl),
            "printed/actual (no-relation family, gates d)": dd ** (-(2 - sp.Rational(2, L)))}
    for k, w in want.items():
        # compare numerically at a few points (simplify's normal form is not unique)
        for pt in ({dl: sp.Rational(3, 10), gm: sp.Rational(1, 2), dd: 2, g_: sp.Rational(7, 5)},
                   {dl: -sp.Rational(1, 4), gm: -1, dd: sp.Rational(1, 3), g_: -2}):
            a, b = float(val(k).subs(pt)), float(w.subs(pt))
            assert within(abs(a - b), tol(8, scale=abs(b), kernels=4)), (k, pt, a, b)


def test_rem72_replay_of_the_minimal_case():
    """Remark 7.2's minimal case n = 1, L = 2, M_1 = e, M_2 = 1, Mdot = (0, 1): Jdot = M_2 Mdot_1 + Mdot_2 M_1 = e,
    and the printed value with delta = -gamma = -1 is e^{-3/2} e^{1/2} = e^{-1}: the replay (library
    rem72_diagnostics) gives exactly these, err = |e^{-2} - 1|."""
    cex = {"n": 1, "L": 2, "M1": float(np.e), "M2": 1.0, "Mdot1": 0.0, "Mdot2": 1.0}
    cmp = sec7._rem72_replay(cex)
    t = tol(8, scale=np.e, kernels=8)
    assert within(abs(cmp.detail["actual"] - np.e), t) and within(abs(cmp.detail["printed"] - np.exp(-1.0)), t)
    assert within(abs(cmp.err - (1 - np.exp(-2.0))), t) and not cmp.ok


def _find_partial(obj, func, depth=0):
    """The functools.partial of ``func`` that a foil's check wraps (through closures of fast_foil / no_shrink)."""
    import functools

    if isinstance(obj, functools.partial) and obj.func is func:
        return obj
    if depth > 6:
        return None
    for cell in getattr(obj, "__closure__", None) or ():
        try:
            found = _find_partial(cell.cell_contents, func, depth + 1)
        except ValueError:
            continue
        if found is not None:
            return found
    for attr in ("__wrapped__", "func"):
        if hasattr(obj, attr) and getattr(obj, attr) is not obj:
            found = _find_partial(getattr(obj, attr), func, depth + 1)
            if found is not None:
                return found
    return None


def _decomp_ref(Ws, ds, l, *, extra_gate=False, drop_gate=False):
    """A_l X B_l from the definitions: A_l = W_L D_{L-1} ... W_{l+1} D_l, B_l = D_{l-1} W_{l-1} ... D_1 W_1
    (D_0 = D_L = I), X = W_l (or D_l W_l); ``drop_gate`` leaves D_l off A_l."""
    L = len(Ws)
    D = [np.ones(Ws[0].shape[1])] + list(ds) + [np.ones(Ws[-1].shape[0])]
    A = np.eye(Ws[l - 1].shape[0]) if drop_gate else np.diag(D[l])
    for k in range(l + 1, L + 1):
        A = Ws[k - 1] @ A
        if k < L:
            A = np.diag(D[k]) @ A
    B = np.eye(Ws[0].shape[1])
    for k in range(1, l):
        B = np.diag(D[k]) @ Ws[k - 1] @ B
    X = (D[l][:, None] * Ws[l - 1]) if extra_gate else Ws[l - 1]
    return A @ X @ B


@pytest.mark.parametrize("widths", [(3, 4, 2, 5), (2, 2, 2), (4, 3, 5, 2, 3)])
def test_cmp_decomp_and_its_foils_against_the_definitions(widths):
    """prop-7.1/decomposition: _cmp_decomp's err is max_l |A_l X_l B_l - J| (X_l = W_l: ~0 up to the chain
    tolerance); the foils' (D_l W_l in the middle; A_l without its trailing D_l) equal the same maximum computed
    from the definitions, and are far above the tolerance on general gates."""
    rng = np.random.default_rng(len(widths))
    Ws = [rng.normal(size=(widths[k + 1], widths[k])) for k in range(len(widths) - 1)]
    ds = [rng.uniform(0.3, 2.5, size=widths[k]) for k in range(1, len(widths) - 1)]
    J = fgln.jacobian(Ws, ds)
    L = len(Ws)
    c = sec7._cmp_decomp(Ws, ds)
    assert c.ok and c.err <= c.tol and c.detail["L"] == L
    foil_cmp = {needle: _find_partial(_foil("prop-7.1/decomposition", needle).check, sec7._cmp_decomp)
                for needle in ("counted again", "without the trailing gate")}
    for needle, ref in (("counted again", dict(extra_gate=True)), ("without the trailing gate", dict(drop_gate=True))):
        got = foil_cmp[needle](Ws, ds)
        want = max(float(np.max(np.abs(_decomp_ref(Ws, ds, l, **ref) - J))) for l in range(1, L + 1))
        assert within(abs(got.err - want), got.tol + tol(L * max(widths), scale=want, kernels=2 * L)), (needle, got.err, want)
        assert got.err > 100 * got.tol
    foils = REGISTRY["prop-7.1/decomposition"].foils
    assert len(foils) == 2


# the diagonal family a = (3, 2), gates up to 3: log s of a product is at most L log 9 in size, and a mode's
# log s is conditioned by s_1 / s_2 = 3/2 per layer
_LOGS, _KAPPA = math.log(9.0), 1.5


def test_no_relation_haar_and_diag_rows_evidence():
    """Family N with Haar outer bases (n = 4) and gates d I: eps = 0, (i) exact with delta = 0, and printed /
    actual = d^{-(2 - 2/L)} in every mode (the value each row reports next to it). The diagonal rows: one per
    (d, L) without the relation and per (d != 1, L) with it, labelled by family; the printed law over the actual
    one is d^{-(2-2/L)} without the relation, and the corrected law with the fitted delta = log d is exact with it."""
    ctx = Context("prop-7.1/missing-relation")
    rows = sec7._no_relation_haar(ctx)
    assert [(r["d"], r["L"]) for r in rows] == [(d, L) for d in sec7.DIAG_GATES for L in sec7.DIAG_LS]
    for r in rows:
        dv, L = float(Fraction(r["d"])), r["L"]
        want = dv ** -(2 - 2 / L)
        assert r["d^-(2-2/L)"] == want
        # the row rounds printed/actual to 6 decimals and delta to 12 (half a unit of the last digit)
        assert within(np.max(np.abs(np.array(r["printed/actual"]) - want)), tol(64, scale=want, kernels=2 * L + 4) + 0.5e-6), r
        assert within(abs(r["eps"]), tol(16, scale=1.0, kernels=2 * L + 4))
        assert within(np.max(np.abs(r["delta"])), tol(64, scale=L * 2.0, kernels=2 * L + 4) + 0.5e-12)
    drows = sec7._diag_rows(ctx)
    want_fam = [(False, d, L) for d in sec7.DIAG_GATES for L in sec7.DIAG_LS] + \
               [(True, d, L) for d in sec7.DIAG_GATES if d != "1" for L in sec7.DIAG_LS]
    assert [(r["relation_family"], r["gate"], r["L"]) for r in drows] == [(rel, float(Fraction(d)), L) for rel, d, L in want_fam]
    for r, (rel, d, L) in zip(drows, want_fam):
        assert r["family"] == f"diag d={d}, " + ("identity gates" if d == "1" else "relation" if rel else "no relation")
        dv = float(Fraction(d))
        if not rel:
            ratio = fgln.prop71_printed(r) / r["sdot"]
            assert within(np.max(np.abs(ratio - dv ** -(2 - 2 / L))), tol(4, scale=L * _LOGS, kappa=_KAPPA ** L, kernels=2 * L + 4)), (d, L, ratio)
        else:
            _, dl, res = sec7.fit_nontrivial(r)
            assert within(np.max(np.abs(dl - math.log(dv))), tol(4, scale=L * _LOGS, kappa=_KAPPA ** L, kernels=2 * L + 4))
            law = sec7._pred71(r, dl)
            assert within(np.max(np.abs(law / r["sdot"] - 1)), tol(4, scale=L * _LOGS, kappa=_KAPPA ** L, kernels=2 * L + 4)), (d, L)


def _exact_frequency_draws(m, law):
    """m rows whose pattern counts are m * P(pattern) rounded (largest remainders), in pattern order."""
    pats = sorted(law)
    raw = np.array([float(law[pt]) * m for pt in pats])
    cnt = np.floor(raw).astype(int)
    for j in np.argsort(-(raw - cnt))[: m - int(cnt.sum())]:
        cnt[j] += 1
    return np.array([pt for pt, c in zip(pats, cnt) for _ in range(c)], dtype=np.int64), dict(zip(pats, cnt))


def test_def52_law_chi_square_and_power_from_their_definitions():
    """def-5.2/law on draws whose pattern frequencies are the exact law (m = 20000 per case): per case and for
    the printed law and every foil, Pearson's chi2 = sum (O - E)^2 / E over the patterns the law allows (E = m
    P / sum P), its p-value chi2.sf(., k - 1), the draws on patterns the law forbids, and the power: 1 - (1 -
    P_true(forbidden))^m, or the noncentral chi-square tail at lambda = m sum (P_true - P)^2 / P. The printed law
    passes, every foil is rejected."""
    from scipy import stats as sps

    m = 20000
    draws, counts = [], []
    for n, r, p in sec5._LAW_CASES:
        d, c = _exact_frequency_draws(m, _cond_law_ref(n, r, p))
        draws.append(d)
        counts.append(c)
    base = Context("def-5.2/law")
    forms = [("printed", sec5._def52_law, _cond_law_ref)] + [
        (f.statement[:30], f.check, f.check.keywords["law"]) for f in REGISTRY["def-5.2/law"].foils]
    for name, check, law in forms:
        ctx = Context("def-5.2/law")
        ctx.cache[("def-5.2/law", "draws")] = (m, draws)
        out = check(ctx)
        thr = ctx.alpha / len(sec5._LAW_CASES)
        powers = []
        for row, (n, r, p), c in zip(out.evidence["rows"], sec5._LAW_CASES, counts):
            pred, true = law(n, r, p), _cond_law_ref(n, r, p)
            keep = [pt for pt in sorted(pred) if pred[pt] > 0]
            tot = sum(float(pred[pt]) for pt in keep)
            obs = sum(c.get(pt, 0) for pt in keep)
            E = {pt: obs * float(pred[pt]) / tot for pt in keep}
            chi2 = sum((c.get(pt, 0) - E[pt]) ** 2 / E[pt] for pt in keep)
            assert within(abs(row["chi2"] - chi2), tol(2 ** n, scale=chi2 + 1.0, kernels=4)), (name, row, chi2)
            pv = float(sps.chi2.sf(chi2, len(keep) - 1))  # nan for a law with one possible pattern (df = 0)
            assert (math.isnan(pv) and math.isnan(row["p_value"])) or \
                within(abs(row["p_value"] - pv), tol(2 ** n, scale=1.0, kernels=8)), (name, row, pv)
            assert row["draws on impossible patterns"] == sum(c.get(pt, 0) for pt in sorted(pred) if pred[pt] == 0)
            assert row["patterns predicted possible"] == len(keep)
            p_bad = sum(float(true[pt]) for pt in sorted(pred) if pred[pt] == 0)
            lam = m * sum((float(true[pt]) - float(pred[pt]) / 1.0) ** 2 / float(pred[pt]) for pt in keep)
            if p_bad > 0:
                powers.append(1 - (1 - p_bad) ** m)
            else:
                powers.append(float(sps.ncx2.sf(sps.chi2.isf(thr, len(keep) - 1), len(keep) - 1, lam)) if lam > 0 else 0.0)
        assert within(abs(out.power - max(powers)), tol(16, scale=1.0, kernels=8)), (name, out.power, powers)
        assert out.status is (Status.SUPPORTED if name == "printed" else Status.REFUTED), (name, out.summary)


def test_thm53_minus_inf_tests_and_power_on_exact_frequency_draws():
    """thm-5.3/minus-infinity on constructed draws: exact chains whose ranks are the running minimum of the gate
    ranks, and per depth L in (1, 5, 10, 20, 40) rank sequences in which exactly round(m (1 - q_r)^L) stay above r
    (q_r = P(rk D = r | rk D >= r), exact rationals). Per test: estimate = that frequency, se = max(sample se,
    sqrt(P (1 - P) / m), 1/m), prediction (1 - q)^L with the form's own q; power = max P(reject (1 - q)^L -
    (1 - q_r)^L). The printed form passes, each foil is rejected."""
    depths, m = [1, 5, 10, 20, 40], 20000
    rng = np.random.default_rng(0)
    per_cfg = []
    for n, r, p in sec5._MINF_CFGS:
        q = float(_binom_pmf(n, r, Fraction(p).limit_denominator(1000)) / _acc(n, r, Fraction(p).limit_denominator(1000)))
        ex = []
        for _ in range(4):
            b = rng.integers(r, n + 1, size=8).tolist()
            ex.append(([min(b[: j + 1]) for j in range(8)], b))
        ranks = {L: np.where(np.arange(m) < int(round(m * (1 - q) ** L)), r + 1, r) for L in depths}
        per_cfg.append((ex, m, ranks))
    forms = [("printed", sec5._thm53_minus_inf, None)] + [
        (f.statement[:30], f.check, f.check.keywords.get("q_rank_r")) for f in REGISTRY["thm-5.3/minus-infinity"].foils]
    for name, check, qf in forms:
        ctx = Context("thm-5.3/minus-infinity")
        ctx.cache[("thm-5.3/minus-infinity", "draws")] = per_cfg
        out = check(ctx)
        z = ctx.z(len(depths) * len(sec5._MINF_CFGS))
        rows, powers, k = out.evidence["tests"], [], 0
        for (n, r, p), (ex, _, ranks) in zip(sec5._MINF_CFGS, per_cfg):
            pf = Fraction(p).limit_denominator(1000)
            q_true = float(_binom_pmf(n, r, pf) / _acc(n, r, pf))
            q = q_true if qf is None else qf(n, r, p)
            for L in depths:
                row = rows[k]
                k += 1
                frac = float(np.mean(ranks[L] > r))
                pred = (1 - q) ** L
                se = max(float(np.std(ranks[L] > r, ddof=1)) / math.sqrt(m), math.sqrt(pred * (1 - pred) / m), 1 / m)
                assert within(abs(row["estimate"] - frac), tol(m, scale=1.0)), (name, row)
                assert within(abs(row["prediction"] - pred), tol(4 * L, scale=1.0, kernels=2)), (name, row, pred)
                assert within(abs(row["se"] - se), tol(m, scale=se, kernels=2)), (name, row, se)
                powers.append(stats.power(pred - (1 - q_true) ** L, se, z))
        assert k == len(rows)
        if name.startswith("rank J_L = rk D_L"):
            assert out.status is Status.REFUTED and out.power == 1.0
            continue
        assert within(abs(out.power - max(powers)), tol(16, scale=1.0, kernels=4)), (name, out.power, max(powers))
        assert out.status is (Status.SUPPORTED if name == "printed" else Status.REFUTED), (name, out.summary)


def test_def51_tests_power_and_resolution_on_given_draws():
    """def-5.1 on given draws (Gaussian entries of variance sigma^2, Bernoulli(p) gates): the four tests are the
    entry mean vs 0, the mean square vs the form's variance, the gate frequency vs its p and P(D11 = D22 = 1) vs
    its p^2, at z for 4 comparisons; the KS test standardises the first entry by the form's variance; power =
    max of the variance and frequency tests' power against sigma^2 and p; the resolutions are (z + z_0.9) se /
    sigma^2 and / p. The printed form passes, the three foils are rejected."""
    from scipy import stats as sps

    n, sigma, p, m = 6, 0.7, 0.3, 3000
    rng = np.random.default_rng(1)
    w = rng.normal(scale=sigma, size=(m, n * n))
    d = (rng.random((m, n)) < p).astype(float)
    z09 = float(sps.norm.ppf(0.9))
    forms = [("printed", sec5._def51, lambda s: s ** 2, lambda q: q)] + [
        (f.statement[:30], f.check, f.check.keywords.get("variance", lambda s: s ** 2),
         f.check.keywords.get("frequency", lambda q: q)) for f in REGISTRY["def-5.1"].foils]
    for name, check, var, freq in forms:
        ctx = Context("def-5.1")
        ctx.cache[("def-5.1", "draws")] = (m, w, d, 1.0)
        out = check(ctx)
        z = ctx.z(4)
        rows = out.evidence["tests"]
        samples = [(w.ravel(), 0.0), (w.ravel() ** 2, var(sigma)), (d.ravel(), freq(p)), (d[:, 0] * d[:, 1], freq(p) ** 2)]
        for row, (x, pred) in zip(rows, samples):
            est, se = float(np.mean(x)), float(np.std(x, ddof=1) / math.sqrt(x.size))
            assert within(abs(row["estimate"] - est), tol(x.size, scale=float(np.max(np.abs(x))))), (name, row)
            assert within(abs(row["se"] - se), tol(x.size, scale=se, kernels=2)), (name, row)
            assert within(abs(row["prediction"] - pred), tol(2, scale=abs(pred))), (name, row)
            assert within(abs((row["ci"][1] - row["estimate"]) - z * se), tol(4, scale=abs(est) + z * se))
        ks = sps.kstest(w[:, 0] / math.sqrt(var(sigma)), "norm").pvalue
        assert within(abs(out.evidence["ks_pvalue"] - ks), tol(m, scale=1.0)), name
        vse, fse = samples[1][0].std(ddof=1) / math.sqrt(samples[1][0].size), d.std(ddof=1) / math.sqrt(d.size)
        want_power = max(stats.power(var(sigma) - sigma ** 2, vse, z), stats.power(freq(p) - p, fse, z))
        assert within(abs(out.power - want_power), tol(8, scale=1.0, kernels=4)), (name, out.power, want_power)
        rv, rf = out.evidence["resolution (relative): variance, frequency"]
        assert within(abs(rv - (z + z09) * vse / sigma ** 2), tol(8, scale=rv, kernels=4))
        assert within(abs(rf - (z + z09) * fse / p), tol(8, scale=rf, kernels=4))
        assert out.status is (Status.SUPPORTED if name == "printed" else Status.REFUTED), (name, out.summary)
        if name == "printed":
            assert within(abs(out.resolution.value - max(rv, rf)), tol(2, scale=max(rv, rf)))


def _cov_ref(n, r, p):
    law = _cond_law_ref(n, r, p)
    q = sum(w for pat, w in law.items() if pat[0] == 1)
    return sum(w for pat, w in law.items() if pat[0] == 1 and pat[1] == 1) - q * q


def test_def52_dependence_rows_and_marginal_corrected_tests():
    """def-5.2/dependence: per case the exact Cov(D_11, D_22) of the brute-force law, flagged non-trivial iff
    0 < P(rank < r) and r < n (negative in every non-trivial case), the detector's zero cases exactly 0.
    def-5.2/marginal (corrected), on given sampler draws: per case the enumerated q (pat[0]), the form's formula,
    their exact equality, and a z-test of the draws' frequency against the formula; power 1 iff a formula
    differs from the enumeration. The printed forms pass, the foils are rejected."""
    out = sec5._def52_dependence(Context("def-5.2/dependence"))
    assert out.status is Status.VERIFIED
    for row, (n, r, p) in zip(out.evidence["rows"], sec5._DEP_CASES):
        cov = _cov_ref(n, r, p)
        assert (row["n"], row["r"], row["p"]) == (n, r, str(p)) and row["exact"] == str(cov)
        nontrivial = _acc(n, r, p) < 1 and r < n
        assert row["non-trivial conditioning"] == nontrivial
        if nontrivial:
            assert cov < 0
    assert all(z_["Cov"] == "0" for z_ in out.evidence["detector at its zeros (r = 0: a p-gate; r = n: D = I)"])

    cases = [(4, 2, Fraction(1, 2)), (5, 4, Fraction(3, 10)), (6, 1, Fraction(1, 5))]
    m = 20000
    draws = []
    for n, r, p in cases:
        q = sum(w for pat, w in _cond_law_ref(n, r, p).items() if pat[0] == 1)
        draws.append((np.arange(m) < int(round(m * float(q)))).astype(float))
    forms = [("printed", sec5._def52_marginal_corrected, sec5._marginal_formula)] + [
        (f.statement[:30], f.check, f.check.keywords["formula"]) for f in REGISTRY["def-5.2/marginal"].corrected.foils]
    for name, check, formula in forms:
        ctx = Context("def-5.2/marginal")
        ctx.cache[("def-5.2/marginal", "draws")] = (m, draws)
        res = check(ctx)
        z = ctx.z(len(cases))
        any_diff = False
        for ex, t, (n, r, p), d in zip(res.evidence["exact"], res.evidence["tests"], cases, draws):
            q = sum(w for pat, w in _cond_law_ref(n, r, p).items() if pat[0] == 1)
            f = formula(n, r, p)
            assert ex["enumeration"] == str(q) and ex["formula"] == str(f) and ex["equal"] == (q == f)
            any_diff |= q != f
            assert within(abs(t["estimate"] - float(np.mean(d))), tol(m, scale=1.0))
            assert within(abs(t["se"] - float(np.std(d, ddof=1)) / math.sqrt(m)), tol(m, scale=t["se"], kernels=2))
            assert within(abs(t["prediction"] - float(f)), tol(2, scale=1.0))
            assert within(abs((t["ci"][1] - t["estimate"]) - z * t["se"]), tol(4, scale=1.0 + z * t["se"]))
        assert res.power == (1.0 if any_diff else 0.0)
        assert res.status is (Status.SUPPORTED if name == "printed" else Status.REFUTED), (name, res.summary)


@pytest.mark.parametrize("bad_l", ["first", "last"])
def test_cmp_decomp_sees_a_failure_at_every_l(monkeypatch, bad_l):
    """The decomposition detector is a max over every l = 1..L: a B_l that is wrong only at l = 1 or only at
    l = L (scaled by 1.5) makes it fail, at that l."""
    rng = np.random.default_rng(7)
    widths = (3, 4, 2, 5)
    Ws = [rng.normal(size=(widths[k + 1], widths[k])) for k in range(3)]
    ds = [rng.uniform(0.3, 2.5, size=widths[k]) for k in (1, 2)]
    L = len(Ws)
    target = 1 if bad_l == "first" else L
    real = sec7.fgln.B_sec7
    monkeypatch.setattr(sec7.fgln, "B_sec7", lambda Ws_, ds_, l: real(Ws_, ds_, l) * (1.5 if l == target else 1.0))
    c = sec7._cmp_decomp(Ws, ds)
    assert not c.ok and c.detail["worst_l"] == target


class _SmallCtx(Context):
    """The quick profile with every repetition count capped at 4 (depth lists kept): a cheap run of a helper."""

    def pick(self, **per_profile):
        v = super().pick(**per_profile)
        return min(v, 4) if isinstance(v, int) else v


def test_deep71_scale_is_the_sum_of_squared_partial_products():
    """_deep71's per-mode scale is sum_l s_k(A_l)^2 s_k(B_l)^2 ||G||_2 (the prediction's size with <G, u_k v_k^T>
    replaced by ||G||), recomputed from the singular values of A_l, B_l built by their definitions."""
    seen = []
    real = sec7.fgln.section7_diagnostics

    def spy(Ws, ds, G, *a, **k):
        d = real(Ws, ds, G, *a, **k)
        seen.append((Ws, ds, G, d))
        return d

    import unittest.mock as um

    with um.patch.object(sec7.fgln, "section7_diagnostics", spy):
        out = sec7._deep71(_SmallCtx("prop-7.1"))
    assert sorted(out) == [4, 16] and all(len(v) == 4 for v in out.values()) and len(seen) == 8
    for Ws, ds, G, d in seen:
        L = len(Ws)
        want = np.zeros(len(d["s"]))
        for l in range(1, L + 1):
            sa = np.linalg.svd(_a_ref(Ws, ds, l), compute_uv=False)
            sb = np.linalg.svd(_b_ref(Ws, ds, l), compute_uv=False)
            want += sa ** 2 * sb ** 2
        want *= np.linalg.norm(G, 2)
        kappa = float(np.max(want) / np.min(want))
        assert within(np.max(np.abs(d["scale"] - want)), tol(4 * L, scale=float(np.max(want)), kappa=kappa, kernels=2 * L + 4)), \
            (d["scale"], want)


def _a_ref(Ws, ds, l):
    L = len(Ws)
    D = [np.ones(Ws[0].shape[1])] + list(ds) + [np.ones(Ws[-1].shape[0])]
    A = np.diag(D[l])
    for k in range(l + 1, L + 1):
        A = Ws[k - 1] @ A
        if k < L:
            A = np.diag(D[k]) @ A
    return A


def _b_ref(Ws, ds, l):
    D = [np.ones(Ws[0].shape[1])] + list(ds)
    B = np.eye(Ws[0].shape[1])
    for k in range(1, l):
        B = np.diag(D[k]) @ Ws[k - 1] @ B
    return B


def test_exact71_verdict_selects_the_families_inside_the_hypotheses():
    """_exact71_verdict on the exact families E (identity gates), G (gates e^delta) and N (gates 2 I, no
    relation): with the corrected hypotheses ((i) on the non-trivial products + the relation) exactly the N rows
    with L >= 3 are outside and the corrected law is exact on E and G (worst err/tol <= 1, equal to the maximum recomputed
    over the inside rows' resolved modes); with (i) over every l and no relation (the foil) exactly the G rows
    are outside (L >= 3), and on N the law misses by d^{-(2-2/L)} (worst >> 1)."""
    rows = sec7._exact71_general(_SmallCtx("prop-7.1"))
    fams = [d["family"] for d in rows]
    assert sorted(set(fams)) == ["E", "G", "N"]
    predict = lambda d, dl: sec7._pred71(d, dl)
    for relation, out_fam in ((True, "N"), (False, "G")):
        worst, table, outside = sec7._exact71_verdict(rows, predict, relation)
        # at L = 2 (one gate) both families satisfy both hypothesis sets (N with delta = log d, G with delta = 0)
        assert sorted((o["family"], o["L"]) for o in outside) == sorted((d["family"], d["L"]) for d in rows
                                                                         if d["family"] == out_fam and d["L"] > 2), \
            (relation, outside)
        want = 0.0
        for d in rows:
            if d["family"] == out_fam and d["L"] > 2:
                continue
            _, dl, _ = sec7._hypothesis_fit(d, relation)
            pred = predict(d, dl)
            r = np.abs(pred - d["sdot"]) / sec7._exact_tol(d, pred, sec7._kernels71(d["L"]))
            want = max(want, float(np.max(r[d["resolved"]])))
        assert within(abs(worst - want), tol(4, scale=want)), (relation, worst, want)
        assert (worst <= 1.0) == relation, (relation, worst)
        assert len(table) == len(rows) - len(outside)


def test_rem72_corrected_check_evidence_on_a_small_run():
    """The corrected Rem. 7.2 on a small run (4 chains per depth): the exact rows' delta is 0 to rounding (the
    forced factor) and the evidence reports max |delta| and its tolerance from its definition; the deep-regime
    tests cover the modes k < n resolved everywhere and mode n is reported apart; the printed law passes and
    the index foil (B_{l-1}) and the exponent foils fail on the exact family."""
    from theory.claims._networks import rounding_tol

    ctx = _SmallCtx("rem-7.2")
    out = sec7._rem72_corrected_check(ctx)
    ev = out.evidence
    rows = sec7._exact72(ctx, fgln.FACTOR_COUNT_72, False, 0)
    df = ev["delta_forced"]
    assert df["max_abs_delta_exact_family"] == max(float(np.max(np.abs(d["delta"]))) for d in rows)
    assert df["tol"] == max(rounding_tol(len(d["s"]), scale=1.0 + float(np.max(np.abs(np.log(d["s"])))),
                                         kernels=2 * d["L"] + 6) for d in rows)
    assert df["max_abs_delta_exact_family"] <= df["tol"]
    deep = sec7._deep72(ctx, 0)
    res = sec7._resolved_everywhere(deep)
    n = len(sec7.DEEP_GAMMAS)
    assert [t["mode"] for t in ev["deep_regime_tests"]] == [k + 1 for k in res if k < n - 1]
    assert [t["mode"] for t in ev["deep_regime_mode_n_not_tested"]] == [k + 1 for k in res if k == n - 1]
    assert out.status is Status.SUPPORTED, out.summary
    for kw in (dict(b_shift=1), dict(power=lambda L: 1.0), dict(dexp=sec7.EXPONENT_SLIP)):
        assert sec7._rem72_corrected_check(ctx, **kw).status is Status.REFUTED, kw


def test_rem54_tests_power_and_resolution_on_given_estimates():
    """rem-5.4 on given Benettin estimates (column i = gamma_i +- noise): per (config, i) the mean, its se, the
    form's prediction for that i, Remark 5.5's value and P(rank >= r) beside it; power = max_i P(reject
    |prediction - gamma_i|); where it passes, the resolution max_i (z + z_0.9) se / |shifted_i - gamma_i| with
    shifted = psi((t - i + 2)/2). The printed form passes, every foil is rejected."""
    from scipy.stats import norm

    B, noise = 400, 1e-3
    sign = np.where(np.arange(B) % 2 == 0, 1.0, -1.0)
    ests = [np.stack([g + noise * (i + 1) * sign for i, g in enumerate(_gamma_ref(c.n, c.p, c.sigma, c.r))], 1)
            for c in sec5._REM54_CFGS]
    z09 = float(norm.ppf(0.9))
    forms = [("printed", sec5._rem54, None)] + [(f.statement[:30], f.check, f.check.keywords["formula"])
                                                for f in REGISTRY["rem-5.4"].foils]
    for name, check, formula in forms:
        ctx = Context("rem-5.4")
        ctx.cache[("rem-5.4", "benettin")] = ests
        out = check(ctx)
        z = ctx.z(sum(c.r for c in sec5._REM54_CFGS))
        rows, k, powers, res = out.evidence["tests"], 0, [], []
        for c in sec5._REM54_CFGS:
            ex = _gamma_ref(c.n, c.p, c.sigma, c.r)
            pred = ex if formula is None else np.asarray(formula(c.n, c.p, c.sigma, c.r))
            ap = _gamma_ref(c.n, c.p, c.sigma, c.r, normalised=False)
            sh = _gamma_ref(c.n, c.p, c.sigma, c.r, shift=1)
            for i in range(1, c.r + 1):
                row = rows[k]
                k += 1
                se = noise * i * math.sqrt(B / (B - 1)) / math.sqrt(B)
                assert within(abs(row["estimate"] - ex[i - 1]), tol(B, scale=1.0 + abs(ex[i - 1]))), (name, row)
                assert within(abs(row["se"] - se), tol(B, scale=se, kernels=2)), (name, row)
                assert within(abs(row["prediction"] - pred[i - 1]), tol(16, scale=1.0 + abs(pred[i - 1]), kernels=4)), (name, row)
                assert within(abs(row["approx (Remark 5.5)"] - ap[i - 1]), tol(16, scale=1.0 + abs(ap[i - 1]), kernels=4))
                assert within(abs(row["P(rank >= r)"] - float(_acc(c.n, c.r, Fraction(c.p).limit_denominator(100)))),
                              tol(c.n, scale=1.0))
                powers.append(stats.power(pred[i - 1] - ex[i - 1], se, z))
                res.append((z + z09) * se / abs(sh[i - 1] - ex[i - 1]))
        assert k == len(rows)
        assert within(abs(out.power - max(powers)), tol(16, scale=1.0, kernels=8)), (name, out.power, max(powers))
        if formula is None:
            assert out.status.passing and within(abs(out.resolution.value - max(res)), tol(16, scale=max(res), kernels=8))
        else:
            assert out.status is Status.REFUTED, (name, out.summary)


def test_rem72_check_stores_a_counterexample_its_replay_reproduces():
    """rem-7.2 (printed) is refuted on the exact family and stores the minimal case n = 1, L = 2 (two M's):
    M_1 = e^gamma, delta = -gamma, and its recorded actual and printed values are what the replay (the library)
    computes from its matrices; the sympy evidence is the same case in closed form."""
    out = sec7._rem72_check(_SmallCtx("rem-7.2"))
    assert out.status is Status.REFUTED
    cex = out.counterexample
    assert cex == out.evidence["minimal_counterexample"]
    assert cex["L"] == 2 == len([k for k in cex if k.startswith("M") and not k.startswith("Mdot")]) and cex["n"] == 1
    assert cex["delta"] == -cex["gamma"] and within(abs(cex["M1"] - math.exp(cex["gamma"])), tol(1, scale=cex["M1"]))
    cmp = sec7._rem72_replay(cex)
    t = tol(8, scale=cex["M1"], kernels=8)
    assert within(abs(cmp.detail["actual"] - cex["actual_sdot"]), t) and within(abs(cmp.detail["printed"] - cex["printed"]), t)
    assert not cmp.ok
