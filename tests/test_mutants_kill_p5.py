"""Mutation blind spots of theory/claims/sec4.py, sec6.py, sec7.py (issue 17, part 6, helper p5): each helper
is compared as a whole with an independent computation from its definition (synthetic data built to obey one
named law, closed forms, mpmath), so that any slip in the helper, not only one planted change, is noticed."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from checks.model import REGISTRY, Context, Status
from checks.tolerance import EPS64 as EPS
from tests.conftest import within
from theory.claims import sec4, sec5, sec6, sec7  # sec5 imports torch: its load time is paid at collection


# ----- sec4: prop-4.5/sv-ode, the statement and each foil on data that obeys exactly one law ---------------

# The laws ds_k/dt = -coef(L) s_k^power(L) <grad, u_k v_k^T>, named as the statement and its foils name them.
SV_LAWS = {
    "statement": (lambda L: L, lambda L: 2 - 2 / L),
    "exponent 2 - 1/L": (lambda L: L, lambda L: 2 - 1 / L),
    "factor L dropped": (lambda L: 1, lambda L: 2 - 2 / L),
    "factor L - 1": (lambda L: L - 1, lambda L: 2 - 2 / L),
}


def _sv_ode_study(law, seed=0):
    """Rows shaped as sec4._sv_ode_study's: s_k spread over two decades (so every exponent slip shows), g of
    both signs, and the 'measured' derivatives (exact and central differences) given by ``law`` in mpmath."""
    coef, power = SV_LAWS[law]
    rng = np.random.default_rng(seed)
    rows = []
    for L in (2, 3, 4):
        for t in (0.0, 0.5, 1.0):
            r = 3
            s = np.sort(10 ** rng.uniform(-1, 1, r))[::-1]
            g = rng.uniform(0.5, 2.0, r) * rng.choice([-1.0, 1.0], r)
            exact = np.array([float(-mp.mpf(coef(L)) * mp.mpf(float(sk)) ** mp.mpf(power(L)) * mp.mpf(float(gk)))
                              for sk, gk in zip(s, g)])
            rows.append({"case": f"L{L}", "L": L, "t": t, "r": r, "s": s, "g": g, "exact": exact, "fd": exact.copy()})
    return {"rows": rows}


def _sv_ode_checks():
    c = REGISTRY["prop-4.5/sv-ode"]
    out = {"statement": c.check}
    for f in c.foils:
        law = next(k for k in SV_LAWS if k != "statement" and f.statement.startswith(k))
        out[law] = f.check
    assert set(out) == set(SV_LAWS)
    return out


@pytest.mark.parametrize("law", list(SV_LAWS))
def test_sv_ode_statement_and_foils_each_verify_exactly_their_own_law(law):
    """On derivatives that follow one law exactly, the check encoding that law is VERIFIED and every other one
    (a different coefficient or exponent, O(1) apart on these s_k) REFUTED: the statement's and each foil's
    predicted rate is its printed formula."""
    for name, check in _sv_ode_checks().items():
        ctx = Context("prop-4.5/sv-ode")
        ctx.cache[(ctx.claim_id, "svode")] = _sv_ode_study(law)
        want = Status.VERIFIED if name == law else Status.REFUTED
        assert check(ctx).status is want, (law, name)


# ----- sec4: prop-4.5/missing-simple's replay -------------------------------------------------------------

def test_crossing_replay_formula_is_minus_L_c1_for_every_depth_and_gradient():
    """At t* J = I (s_1 = 1, u_1 = v_1 = e_1): the formula -L s_1^{2-2/L} <-C, e_1 e_1^T> is L c_1 for every L and
    c; the one-sided derivatives are those of max(e^{1-2t}, e^{2t-1}) at t* = 1/2."""
    for L in (2, 3, 5):
        for c in ([-1.0, 1.0], [0.5, -2.0]):
            d = sec4._crossing_replay({**sec4.CROSS, "L": L, "c": c}).detail
            assert within(abs(d["formula"] - L * c[0]), 4 * EPS * L * abs(c[0]), "formula")
            assert within(abs(d["right_derivative"] - 2.0), 4 * EPS, "right") and \
                within(abs(d["left_derivative"] + 2.0), 4 * EPS, "left")


# ----- sec6: check_products' figure ----------------------------------------------------------------------

def _synthetic_products(monkeypatch):
    """Product data shaped as sec6._products_data's (R = U_A^T U_J per sample and depth, the suffix's singular
    values s), cached in a fresh context; the constant statistic (_const_stats, tested apart) stubbed."""
    rng = np.random.default_rng(5)
    S, n = 40, sec6.PROD_N
    ms = sorted({2, *sec6.RATE_DEPTHS, *sec6.CONST_DEPTHS})
    data = {}
    for m in ms:
        R = rng.standard_normal((S, n, n)) * np.exp(-0.1 * m)
        s = np.sort(np.exp(rng.standard_normal((S, n)) * m / 4), axis=1)[:, ::-1]
        data[m] = (R, s)
    monkeypatch.setattr(sec6, "_const_stats", lambda *a, **k: [(i, j, 1.2, 0.5, 2.0, S) for (i, j) in sec6.PAIRS])

    def ctx():
        c = Context("thm-6.1/products")
        c.cache[(c.claim_id, "products")] = (S, data, None, None)
        return c
    return ctx, data, S, ms


def _pair_ratio(s, i, j):
    return s[:, i] / s[:, j] if j < i else s[:, j] / s[:, i]


def test_products_figure_curves_are_the_mean_logs_and_the_shifted_ratio_meets_the_last_dot(monkeypatch):
    """The figure plots, per pair (i, j), E log|R_ij| over m (dots) and E log ratio shifted to meet the last dot
    (dotted): both recomputed here from synthetic product data."""
    mk, data, S, ms = _synthetic_products(monkeypatch)
    ctx = mk()
    fig = sec6.check_products(ctx).figures["products_entry_decay"]
    lines = fig.axes[0].lines
    assert len(lines) == 2 * len(sec6.PAIRS)
    for k, (i, j) in enumerate(sec6.PAIRS):
        ly = np.array([np.mean(np.log(np.abs(data[m][0][:, i, j]))) for m in ms])
        ratio = [_pair_ratio(data[m][1], i, j) for m in ms]
        lr = np.array([np.mean(np.log(x)) for x in ratio])
        dots, dotted = lines[2 * k], lines[2 * k + 1]
        scale = 1 + np.max(np.abs(ly)) + np.max(np.abs(lr))
        assert np.array_equal(dots.get_xdata(), ms) and np.array_equal(dotted.get_xdata(), ms)
        assert within(np.abs(dots.get_ydata() - ly), 16 * S * EPS * scale, "dots")
        assert within(np.abs(dotted.get_ydata() - (lr - lr[-1] + ly[-1])), 16 * S * EPS * scale, "dotted")
        assert within(abs(dotted.get_ydata()[-1] - dots.get_ydata()[-1]), 16 * S * EPS * scale, "meet")


# ----- sec7: prop-7.1/missing-relation's replay ------------------------------------------------------------

@pytest.mark.parametrize("L,d", [(3, "2"), (2, "3"), (4, "1/2"), (5, "3/2")])
def test_missing_relation_replay_prints_d_power_law_and_the_ratio_follows_it(L, d):
    """On the diagonal no-relation case the printed/actual ratio is exactly d^{-(2-2/L)} (test_zeros_sec7's
    sympy law); the replay's printed value of that power is the mpmath one, and its ratios match it."""
    det = sec7._missing_relation_replay({**sec7.MINIMAL_NO_RELATION, "L": L, "d": d}).detail
    p, q = (int(x) for x in (d.split("/") + ["1"])[:2])
    want = float(mp.power(mp.mpf(p) / q, -(2 - mp.mpf(2) / L)))
    assert within(abs(det["d^-(2-2/L)"] - want), 4 * EPS * want, "d power")
    assert within(np.abs(np.array(det["printed/actual"]) - want), 64 * (2 * L + 4) * EPS * want, "ratio")


# ----- sec6: Remark 6.3's claims share one setting -----------------------------------------------------------

def test_rem63_claims_list_one_setting_with_C_rr_pd_in_place_of_column_independence():
    """Remark 6.3's limits (sigma, lower, upper, unraveling) are one remark in one setting: Theorem 6.1's
    standing hypotheses (the SVD form, the sign convention, separation (i)) with 'C^{r,r} PD' (C = BB^T, the
    Cholesky factorisation's condition, on the first r rows of B) in place of (ii) (the first r columns of B):
    the same list for each, each hypothesis once."""
    ids = [k for k in REGISTRY if k.startswith("rem-6.3/")]
    assert {"rem-6.3/sigma", "rem-6.3/lower", "rem-6.3/upper", "rem-6.3/unraveling"} <= set(ids)
    thm = REGISTRY["thm-6.1"].hypotheses
    standing = tuple(h for h in thm if not h.startswith("(ii)"))
    for k in ids:
        h = REGISTRY[k].hypotheses
        assert len(set(h)) == len(h), k
        assert h == standing + ("C^{r,r} PD",), k


# ----- sec6: Theorem 6.1's hypothesis probes (evidence only: no verdict sees them) --------------------------

def test_thm61_probes_errors_are_their_closed_forms():
    """A = diag(e^{-L a}) with U_A = I, so R = U_J (columns signed to a positive diagonal): (1) B = [[0,0],[1,1]]:
    u_{J,1} = e_2, R_11 = 0, err 1; (2) B = [[1,1,0],[2,2,0],[0,1,1]], r = 2: range(J) = span{(1, c, 0), e_3} with
    c = 2 e^{-L}, so |R_22| = |<e_2, u_{J,2}>| <= c and err = 1 - |R_22| is within c of 1; (3) B = [[0,1],[0,0]]:
    J = [[0,1],[0,0]], u_{J,1} = e_1, err 0; (4) a = 0: J = B symmetric with top eigenvector (1,1)/sqrt 2, err
    1 - 1/sqrt 2. The flag 'conclusion fails' is err > 1e-3 at both depths, and matches the expected outcome."""
    rows = sec6.thm61_probes()
    assert len(rows) == 4
    e1, e2, e3, e4 = (r["max|R^{rr}-I| at L=20,40"] for r in rows)
    t = 64 * EPS
    assert within(np.abs(np.array(e1) - 1.0), t, "probe 1")
    assert within(np.abs(np.array(e2) - 1.0), 2 * np.exp(-20.0) + t, "probe 2")
    assert within(np.abs(np.array(e3)), t, "probe 3")
    assert within(np.abs(np.array(e4) - (1 - 1 / np.sqrt(2))), t, "probe 4")
    for r in rows:
        assert r["conclusion fails"] == (min(r["max|R^{rr}-I| at L=20,40"]) > 1e-3)
        assert r["conclusion fails"] == r["expected"].startswith("fails")
    assert [r["r"] for r in rows] == [1, 2, 1, 1]
    assert rows[0]["B"] == [[0.0, 0.0], [1.0, 1.0]] and rows[3]["a"] == [0.0, 0.0]


# ----- sec4: def-4.6's evidence table (no verdict sees it) ---------------------------------------------------

def _minimax_affine(y, x):
    """min over (g, d) of max_l |y_l - g x_l - d|: f(g) = (max - min)(y - g x)/2 is convex piecewise linear with
    breakpoints at the pairwise slopes, so its minimum is attained at one of them (exact, no solver)."""
    i, j = np.triu_indices(len(x), 1)
    g = (y[j] - y[i]) / (x[j] - x[i])
    r = y[None, :] - g[:, None] * x[None, :]
    return float(np.min((r.max(1) - r.min(1)) / 2))


def test_def46_masked_products_evidence_is_the_minimax_eps_of_the_products_log_singular_values(monkeypatch):
    """Evidence 'masked_products_min_eps': for each depth L, the median over the draws of the minimal eps of
    Definition 4.6 for log s_k(M_{1:l}), l = 1..L, k = 1..3, recomputed from the same generator stream with an
    exact minimax fit and numpy's SVD (printed to 3 decimals; the LP is solved to 2e-7 relative)."""
    import math

    from theory import samplers

    from checks.model import Outcome

    # the property half (Hypothesis ladders) is _cmp_def46's, tested elsewhere: stubbed to keep this fast
    monkeypatch.setattr(sec4, "PropertyCheck", lambda *a, **k: lambda ctx: Outcome(Status.VERIFIED, "", method=""))
    rows = sec4._def46_check(Context("def-4.6")).evidence["masked_products_min_eps"]
    gen = Context("def-4.6").torch_generator("masked")
    n, reps = 16, 4
    assert [r["L"] for r in rows] == [10, 40]
    for row in rows:
        L = row["L"]
        eps = []
        for _ in range(reps):
            M = samplers.masked_layer(L, n, 0.5, math.sqrt(2.0 / n), gen).cpu().numpy()
            P, logs = np.eye(n), []
            for l in range(L):
                P = M[l] @ P
                logs.append(np.log(np.linalg.svd(P, compute_uv=False)[:3]))
            logs = np.array(logs)
            eps.append([_minimax_affine(logs[:, k], np.arange(1.0, L + 1)) for k in range(3)])
        want = np.median(np.array(eps), 0)
        scale = 1 + np.max(np.abs(logs))
        assert within(np.abs(np.array(row["median_min_eps_k=1..3"]) - want), 5e-4 + 4e-7 * scale, f"L={L}")


# ----- sec5: thm-5.3/correction's per-index evidence (no verdict sees it) -------------------------------------

def test_correction_per_index_evidence_is_the_control_variate_mean_at_the_deepest_depth(monkeypatch):
    """'per_index_at_deepest_depth': for each config and i <= r, at the deepest depth of its ladder, the sample mean
    and SE (ddof 1) of log s_i - r_i (the control-variate difference), the form's constant and d_i - d_{i-1} from
    theory.lyapunov; on synthetic ladders whose two columns differ by an i-dependent random amount."""
    from theory import lyapunov
    from theory.claims import _ladder, sec5

    batch = 40
    rng = np.random.default_rng(55)
    brs, lads, want = {}, {}, {}
    for cfg in sec5._configs(Context("thm-5.3/correction")):
        lads[cfg] = {}
        for L in (12, 16):
            d = [lyapunov.d(K, cfg.n) for K in range(1, cfg.r + 1)]
            brs[(cfg, L)] = [_ladder.Bracket(label=f"{cfg.label()}, L={L}", K=K, v=d[K - 1] - 0.2, v_se=0.01,
                                             w=d[K - 1] + 0.3, w_se=0.01, m=batch, u=d[K - 1], u_se=0.02, slack=0.3,
                                             slack_se=0.01, u_skew=0.0) for K in range(1, cfg.r + 1)]
            lr = rng.standard_normal((batch, cfg.n)) * 3 + L
            ls = lr + rng.standard_normal((batch, cfg.n)) * 0.1 + np.arange(cfg.n) * 0.5 + L / 8
            lads[cfg][L] = (ls, lr)
        ls, lr = lads[cfg][16]
        for i in range(1, cfg.r + 1):
            x = ls[:, i - 1] - lr[:, i - 1]
            want[(cfg.label(), i)] = (np.mean(x), np.std(x, ddof=1) / np.sqrt(batch),
                                      lyapunov.d(i, cfg.n) - lyapunov.d(i - 1, cfg.n))
    monkeypatch.setattr(sec5, "_thm53_brackets", lambda ctx: (brs, lads, batch))
    c = REGISTRY["thm-5.3/correction"]
    d = lyapunov.d
    # each form's constant as its statement writes it
    laws = {"(d_{i-1} - d_i)/L": lambda i, n: d(i - 1, n) - d(i, n),
            "1.5 (d_i - d_{i-1})/L": lambda i, n: 1.5 * (d(i, n) - d(i - 1, n)),
            "(d_i - d_{i-1})/(2L)": lambda i, n: (d(i, n) - d(i - 1, n)) / 2,
            "d_i/L": lambda i, n: d(i, n),
            "(d_{i+1} - d_i)/L": lambda i, n: d(i + 1, n) - d(i, n)}
    forms = [(c.check, laws["(d_{i-1} - d_i)/L"]), (c.corrected.check, lambda i, n: d(i, n) - d(i - 1, n))]
    for f in c.corrected.foils:
        key = next(k for k in laws if f.statement.startswith("E[(1/L) log s_{i,L}] = gamma_i + " + k))
        forms.append((f.check, laws[key]))
    assert len(forms) == 2 + len(laws)
    for check, constant in forms:
        rows = check(Context("thm-5.3/correction")).evidence["per_index_at_deepest_depth"]
        assert sorted((r["config"], r["i"]) for r in rows) == sorted(want)
        for r in rows:
            m, se, dd = want[(r["config"], r["i"])]
            n = next(cfg.n for cfg in lads if cfg.label() == r["config"])
            assert r["L"] == 16
            scale = 1 + abs(m)
            assert within(abs(r["E[log s_i - r_i] (CV estimate of L(y - gamma_i))"] - m), 8 * batch * EPS * (L + scale),
                          "mean")
            assert within(abs(r["se"] - se), 8 * batch * EPS * (L + scale), "se")
            assert within(abs(r["d_i - d_(i-1)"] - dd), 8 * EPS * (1 + abs(dd)), "d_i - d_(i-1)")
            k = constant(r["i"], n)
            assert within(abs(r["predicted constant"] - k), 8 * EPS * (1 + abs(k)), "constant")


# ----- sec4: rem-4.2's comparison is relative to max(s_1^2, 1) in the rescaled units -------------------------

# the same two at 2^-600 (the Gram matrix underflows to 0) and 2^600 (it overflows): without the exact
# power-of-two rescaling neither slip would be seen (r12's open survivor: frexp(peak)[1] -> [0])
@pytest.mark.parametrize("W,rel", [(np.ones((5, 5)), 1.0), (np.diag([1.0, 0.5]), 0.25),
                                   (np.ldexp(np.ones((5, 5)), -600), 1.0),
                                   (np.ldexp(np.diag([1.0, 0.5]), 600), 0.25)])
def test_rem42_flags_a_singular_value_square_off_by_its_tolerance_relative_to_s1_squared(monkeypatch, W, rel):
    """_cmp_rem42 rescales P by 2^-e2 (peak entry in [1/2, 1)) and compares the squared singular values with the
    Gram eigenvalues relative to max(s_1^2, 1) there, against 4 kernels of rounding. An SVD whose s_1 is off by
    a relative delta changes s_1^2 by 2 delta s_1^2, i.e. by 2 delta * rel (rel = s_1^2 / max(s_1^2, 1): 1 for
    the all-ones 5x5 (s_1 = 5/2 rescaled), 1/4 for diag(1, 1/2) (s_1 = 1/2)): flagged at 1.2 tolerances, not at
    0.8."""
    from theory.claims._networks import TINY, rounding_tol

    n = max(W.shape)
    e2 = int(np.frexp(np.max(np.abs(W)))[1])
    t = rounding_tol(n, scale=1.0, kernels=4, unit=float(np.ldexp(TINY, -e2)))
    svd = np.linalg.svd
    for factor, flagged in ((1.2, True), (0.8, False)):
        delta = factor * t / (2 * rel)

        def fake(P, *a, **k):
            s = svd(P, *a, **k)
            s = np.array(s, dtype=float)
            s[0] *= 1 + delta
            return s

        monkeypatch.setattr(np.linalg, "svd", fake)
        cmp = sec4._cmp_rem42([W], [])
        monkeypatch.setattr(np.linalg, "svd", svd)
        assert cmp.ok is (not flagged), (factor, cmp.err, cmp.tol, cmp.detail)


# ----- sec5: def-5.2/marginal's replay and evidence table --------------------------------------------------

def _marginal_ref(n, r, p):
    """P(D_11 = 1) under the rank-conditioned law: p P(Bin(n-1, p) >= r-1) / P(Bin(n, p) >= r), exact."""
    from fractions import Fraction
    from math import comb

    tail = lambda m, k: sum(Fraction(comb(m, j)) * p ** j * (1 - p) ** (m - j) for j in range(max(k, 0), m + 1))
    return p * tail(n - 1, r - 1) / tail(n, r)


def test_def52_marginal_replay_and_table_are_the_closed_form():
    from fractions import Fraction

    from theory.claims import sec5

    cex = sec5._marginal_cex()
    cmp = sec5._marginal_replay(cex)
    q = _marginal_ref(4, 2, Fraction(1, 2))
    assert q == Fraction(7, 11) and Fraction(cmp.detail["P(D_11=1) exact"]) == q
    assert cmp.err == float(abs(q - Fraction(1, 2))) and not cmp.ok
    out = sec5._def52_marginal(Context("def-5.2/marginal"))
    assert out.status is Status.REFUTED
    for row in out.evidence["table"]:
        p = Fraction(row["p"])
        q = _marginal_ref(row["n"], row["r"], p)
        assert row["P(D_11=1)"] == float(q) and within(abs(row["excess over p"] - float(q - p)), 2 * EPS, "excess")
    # the sampler's mean of D_11 estimates the same q = 7/11 (seeded: 20000 draws, SE ~ 0.0034)
    f, se = out.evidence["sampler_mean"], out.evidence["sampler_se"]
    assert abs(f - 7 / 11) <= 5 * se and within(abs(se / np.sqrt(f * (1 - f) / 19999) - 1), 8 * 20000 * EPS, "se")


def test_products_rate_rows_and_foil_power_are_their_definitions(monkeypatch):
    """Per pair (i, j): the rate statistic is the mean (and SE) over samples of the least-squares slope in m of
    log|R_ij| - e log ratio over RATE_DEPTHS, the no-alignment slope is the mean slope of -log ratio, and under
    the printed law the statistic of exponent e has mean (e - 1) * alt. A foil's power is the largest
    P(|N(mu, se^2)| - z se > gross) over pairs (gross = half the smallest alt, z Bonferroni over 2 |PAIRS| + 1)."""
    from scipy.stats import norm

    mk, data, S, ms = _synthetic_products(monkeypatch)
    c = REGISTRY["thm-6.1/products"]
    forms = [(1.0, c.check)] + [(f.check.keywords["exponent"], f.check) for f in c.foils
                                if set(getattr(f.check, "keywords", {})) == {"exponent"}]
    assert sorted(e for e, _ in forms) == [-1.0, 1.0, 2.0]
    x = np.array(sec6.RATE_DEPTHS, float)
    slope = lambda y: np.array([np.polyfit(x, row, 1)[0] for row in y])
    for e, check in forms:
        ctx = mk()
        out = check(ctx)
        rows = out.evidence["rate_tests"]
        assert len(rows) == len(sec6.PAIRS)
        alts, ref, tmax = [], [], 0.0
        for rw, (i, j) in zip(rows, sec6.PAIRS):
            lr = np.stack([np.log(_pair_ratio(data[m][1], i, j)) for m in sec6.RATE_DEPTHS], 1)
            ly = np.stack([np.log(np.abs(data[m][0][:, i, j])) for m in sec6.RATE_DEPTHS], 1)
            st = slope(ly - e * lr)
            est, se = st.mean(), st.std(ddof=1) / np.sqrt(S)
            alt = slope(-lr).mean()
            sc = 1 + np.max(np.abs(ly)) + abs(e) * np.max(np.abs(lr))
            t = 64 * S * EPS * sc
            assert within(abs(rw["estimate"] - est), t, "est") and within(abs(rw["se"] - se), t, "se")
            assert within(abs(rw["no-alignment alternative slope"] - alt), t, "alt")
            assert within(abs(rw["mean_if_printed_true"] - (e - 1) * alt), 4 * t, "mean if printed")
            alts.append(alt)
            tmax = max(tmax, t)
            ref.append(((e - 1) * alt, se))
        z = float(norm.isf(ctx.alpha / (2 * (2 * len(sec6.PAIRS) + 1))))
        gross = 0.5 * min(alts)
        pw = max(float(norm.sf((gross - mu) / se + z) + norm.cdf((-gross - mu) / se - z)) for mu, se in ref)
        if e == 1.0:
            assert out.power is None
        else:
            # the normal density is <= 1/2 per unit of its argument; the arguments' error is the statistic's
            # (t) amplified by 1/se and by the arguments' own size
            se_min = min(se for _, se in ref)
            darg = tmax * (1 + (gross + max(abs(mu) for mu, _ in ref)) / se_min) / se_min
            assert within(abs(out.power - pw), darg + 8 * EPS, "power")


# ----- sec6: rem-6.3/sigma's replay -------------------------------------------------------------------------

@pytest.mark.parametrize("c", [2.0, 1.0, 0.5, 3.0])
def test_rem63_sigma_replay_err_is_the_distance_of_c_to_c_squared(c):
    """B = c I: J = c A exactly, so s_J/s_A = c at every depth, while C = c^2 I has Cholesky pivots Sigma_C = c^2:
    the replay's error is |c - c^2| (0 only at c = 1, where the printed limit holds), its details c, c^2 and c."""
    ce = {**sec6.CE63, "B": c * np.eye(2)}
    cmp = sec6.rem63_sigma_replay(ce)
    t = 16 * EPS * c * c
    assert within(abs(cmp.detail["sJ/sA"][0] - c), t, "sJ/sA") and within(abs(cmp.detail["Sigma_C"][0] - c * c), t, "Sigma")
    assert within(abs(cmp.detail["sqrt_Sigma_C"][0] - c), t, "sqrt")
    assert within(abs(cmp.err - abs(c - c * c)), t, "err")
    assert cmp.ok is (c == 1.0)


def test_products_constant_foils_power_adds_the_wrong_constant_rows(monkeypatch):
    """For a constant foil (other Gram, T_C swapped, constants x 1.5) the rate statistic keeps exponent 1 (mean 0
    under the printed law) and each constant row adds P(N(est, se^2) > gross_c - z se), gross_c = half the
    smallest wrong-constant slope; with the constant statistic stubbed to (est 1.2, se 0.5, alt 2) that is
    sf(z - 2/5), so the power is the larger of sf(z - 2/5) and the rate rows' two-sided powers at mean 0."""
    from scipy.stats import norm

    mk, data, S, ms = _synthetic_products(monkeypatch)
    c = REGISTRY["thm-6.1/products"]
    foils = [f for f in c.foils if set(getattr(f.check, "keywords", {})) & {"const", "scale"}]
    assert len(foils) == 3
    x = np.array(sec6.RATE_DEPTHS, float)
    slope = lambda y: np.array([np.polyfit(x, row, 1)[0] for row in y])
    rate, t = [], 0.0
    for (i, j) in sec6.PAIRS:
        lr = np.stack([np.log(_pair_ratio(data[m][1], i, j)) for m in sec6.RATE_DEPTHS], 1)
        ly = np.stack([np.log(np.abs(data[m][0][:, i, j])) for m in sec6.RATE_DEPTHS], 1)
        st = slope(ly - lr)
        rate.append((st.std(ddof=1) / np.sqrt(S), slope(-lr).mean()))
        t = max(t, 64 * S * EPS * (1 + np.max(np.abs(ly)) + np.max(np.abs(lr))))
    for f in foils:
        ctx = mk()
        out = f.check(ctx)
        z = float(norm.isf(ctx.alpha / (2 * (2 * len(sec6.PAIRS) + 1))))
        gross = 0.5 * min(a for _, a in rate)
        pw = [float(norm.sf(gross / se + z) + norm.cdf(-gross / se - z)) for se, _ in rate]
        pw.append(float(norm.sf((0.5 * 2.0 - 1.2) / 0.5 + z)))
        assert pw[-1] > 100 * max(pw[:-1])  # the constant rows decide it here
        se_min = min(se for se, _ in rate)
        assert within(abs(out.power - max(pw)), t * (1 + gross / se_min) / se_min + 8 * EPS, "power")


# ----- sec5: def-5.1's statistics and KS p-value from the generator stream ---------------------------------

def test_def51_statistics_are_recomputed_from_the_same_stream():
    """Definition 5.1 on the claim's own stream, drawn here with torch directly: m = 3000 sigma-Ginibre 6 x 6
    matrices (sigma * N(0, 1) entries), then m Bernoulli(p) gate diagonals (uniform < p). The tests are the entry
    mean and mean square over all entries, the gate frequency, the mean of D_11 D_22, and the KS p-value of the
    (1, 1) entry of each matrix (one entry per matrix: independent draws) scaled by sigma."""
    import torch
    from scipy import stats as sps

    from theory.claims import sec5

    ctx = Context("def-5.1")
    out = sec5._def51(ctx)
    m, n, sigma, p = 3000, 6, 0.7, 0.3
    g = torch.Generator()
    g.manual_seed(ctx.seed_for("samplers"))
    w = (sigma * torch.randn(m, n, n, generator=g, dtype=torch.float64)).numpy()
    d = (torch.rand(m, n, generator=g, dtype=torch.float64) < p).double().numpy()
    want = [w.mean(), (w ** 2).mean(), d.mean(), (d[:, 0] * d[:, 1]).mean()]
    preds = [0.0, sigma ** 2, p, p ** 2]
    tests = out.evidence["tests"]
    assert len(tests) == 4
    for t, x, pr in zip(tests, want, preds):
        assert within(abs(t["estimate"] - x), 8 * m * n * n * EPS * (1 + abs(x)), t["name"])
        assert within(abs(t["prediction"] - pr), 4 * EPS, t["name"])
    ks = sps.kstest(w[:, 0, 0] / sigma, "norm").pvalue
    assert within(abs(out.evidence["ks_pvalue"] - ks), 64 * m * EPS, "KS p")
    assert out.status is Status.SUPPORTED


# ----- sec6: rem-6.3/unraveling's per-pair fit rows -----------------------------------------------------------

def test_unravel_fit_rows_are_one_based_pairs_with_their_constant_fit_and_slope(monkeypatch):
    """cmp_unravel's evidence 'fits': per pair (i, j), i != j <= r, 1-based labels, the predicted constant K_ij
    (T_C below, T_C^{-1} transposed above the diagonal), the fitted R_ij / ratio_ij at the deepest rung, and the
    log-log slope of |R_ij| against the ratio between the last two rungs; on rungs with R_ij = K_ij ratio_ij
    (1 + c_ij eps_L) all three are closed forms."""
    import math
    from types import SimpleNamespace

    r = 3
    T = np.array([[1.0, 0.0, 0.0], [0.8, 1.0, 0.0], [-1.5, 2.0, 1.0]])
    Ti = np.linalg.inv(T)
    c = np.array([[0.0, 0.3, -0.7], [0.4, 0.0, 0.2], [-0.6, 0.5, 0.0]])
    K = lambda i, j: T[i, j] if j < i else Ti[j, i]
    lrat = lambda ls, i, j: (ls[i] - ls[j]) if j < i else (ls[j] - ls[i])
    a = np.array([0.0, 0.5, 1.2, 1.9])
    rungs = []
    for L in (10, 20, 30):
        ls = -L * a
        eps = 2.0 * float(np.max(np.exp(ls[1:r + 1] - ls[:r])))
        R = np.eye(r)
        for i in range(r):
            for j in range(r):
                if i != j:
                    R[i, j] = K(i, j) * math.exp(lrat(ls, i, j)) * (1 + c[i, j] * eps)
        rungs.append(SimpleNamespace(L=L, rho=eps / 2, eps=eps, log_s=ls, s6=SimpleNamespace(R=R, sJ_over_sA=None)))
    pred = SimpleNamespace(T=T, Tinv=Ti, Sigma=np.ones(r))
    monkeypatch.setattr(sec6, "_ladder6", lambda *a_, **k: (pred, 2.0, rungs))
    fits = sec6.cmp_unravel(None, None, r, None, "exp").detail["fits"]
    assert sorted((f["i"], f["j"]) for f in fits) == [(i, j) for i in range(1, r + 1) for j in range(1, r + 1) if i != j]
    e1, e2 = rungs[-2].eps, rungs[-1].eps
    for f in fits:
        i, j = f["i"] - 1, f["j"] - 1
        k = K(i, j)
        assert within(abs(f["const_pred"] - k), 4 * EPS * (1 + abs(k)), "K")
        assert within(abs(f["const_fit"] - k * (1 + c[i, j] * e2)), 64 * EPS * (1 + abs(k)), "fit")
        d = lrat(rungs[-1].log_s, i, j) - lrat(rungs[-2].log_s, i, j)
        want = 1 + math.log((1 + c[i, j] * e2) / (1 + c[i, j] * e1)) / d
        assert within(abs(f["slope"] - want), 256 * EPS * (1 + abs(lrat(rungs[-1].log_s, i, j))) / abs(d), "slope")


# ----- sec4: prop-4.5/balance-preserved's learning-rate foils are their statements ---------------------------

def test_balance_rate_foils_are_the_rates_their_statements_name():
    """'eta_l = 1, 2, 1, 2, ...' and 'eta_l = 1, 1.5, 1, 1.5, ...' (layer l = 1..L): alternating from 1, for every
    depth; the 'masked dropped' foil uses general gates and the statement uniform rates."""
    c = REGISTRY["prop-4.5/balance-preserved"]
    named = {"(eta_l = 1, 2, 1, 2, ...)": 2.0, "(eta_l = 1, 1.5, 1, 1.5, ...)": 1.5}
    seen = set()
    for f in c.foils:
        kw = f.check.keywords
        if "rates" in kw:
            key = next(k for k in named if f.statement.endswith(k))
            for L in range(2, 8):
                assert kw["rates"](L) == [1.0 if l % 2 == 0 else named[key] for l in range(L)], (key, L)
            seen.add(key)
        else:
            assert kw == {"gates": "general"}
    assert seen == set(named)
