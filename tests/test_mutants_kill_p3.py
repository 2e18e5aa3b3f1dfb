"""Checks of Appendix C/D/E helpers against independent computations from their definitions
(mutation blind spots, issue 17 part 6, helper p3)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
from scipy.stats import norm

from checks.model import Context
from checks.tolerance import tol
from tests.conftest import within
from theory.claims import app_c, app_d, app_e

EPS = np.finfo(np.float64).eps


class _CappedCtx(Context):
    """The quick profile's code path with every int budget capped (lists kept whole)."""

    cap = 40

    def pick(self, **per_profile):
        v = super().pick(**per_profile)
        return min(v, self.cap) if isinstance(v, int) and not isinstance(v, bool) else v


class _ZCtx(_CappedCtx):
    """Records the comparison counts passed to ctx.z."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.z_calls = []

    def z(self, comparisons: int = 1) -> float:
        self.z_calls.append(comparisons)
        return super().z(comparisons)


def _rp_marginal_brute(n, r, p):
    """P(D_11 = 1) for an (r, p)-gate by enumerating the 2^n p-gates and conditioning on rank >= r."""
    num = den = 0.0
    for g in itertools.product((0, 1), repeat=n):
        k = sum(g)
        if k < r:
            continue
        w = p ** k * (1 - p) ** (n - k)
        den += w
        num += w * g[0]
    return num / den


# -- Lemma C.2: the invariance z-test and its power against 'left' -------------------------------------

def test_c2_invariance_test_and_left_power_from_their_definitions():
    """lem-c.2: P((Y U)_11 = 0) = 1 - q with q = P(D_11 = 1) (brute force over gates), SE sqrt(q (1-q)/B),
    estimate the zero frequency of (Y U)_11 (resp. (U Y)_11 for 'left'); the power of the foil 'left' is the
    two-sided z-test power at a true offset of 1 - q (the true frequency of (U Y)_11 = 0 is 0). At a small batch
    (B = 16) the power is not saturated, so its formula is seen."""
    ctx = _CappedCtx("lem-c.2/assumptions")
    ctx.cap = 16
    data = app_c._c2_draws(ctx)
    n, r, p, _ = data["cfg"]
    B = data["batch"]
    assert B == ctx.cap
    q = _rp_marginal_brute(n, r, p)
    se = math.sqrt(q * (1 - q) / B)
    z = ctx.z(2)
    for side in ("right", "left"):
        out = app_c._c2_assumptions(ctx, side=side)
        ev = out.evidence
        assert within(abs(ev["q = P(D_11 = 1)"] - q), tol(n, kernels=2 ** n, scale=1.0), "q")
        inv = ev["invariance_test"]
        m = data["y"] @ data["U"] if side == "right" else data["U"] @ data["y"]
        assert inv["estimate"] == float(np.mean(m[:, 0, 0] == 0))
        assert within(abs(inv["prediction"] - (1 - q)), tol(n, kernels=2 ** n, scale=1.0), "1 - q")
        assert within(abs(inv["se"] - se), tol(n, kernels=2 ** n, scale=se), "se")
        if side == "left":
            d = (1 - q) / se
            want = norm.sf(z - d) + norm.cdf(-z - d)
            assert 0.01 < want < 0.999  # unsaturated: the offset's value matters
            assert within(abs(out.power - want), tol(n, kernels=2 ** n, scale=1.0) * (1 + d), "power"), (out.power, want)
        else:
            assert out.power is None


# -- Lemma C.4: one Bonferroni level over the tests made -------------------------------------------------

def test_c4_level_is_split_over_every_lambda_test():
    """lem-c.4 makes one z-test per (config, i <= r): its critical value is ctx.z(number of tests), i.e. the
    count sum over configs of r; each row's confidence is 1 - alpha / #tests."""
    ctx = _ZCtx("lem-c.4")
    ctx.cap = 400
    out = app_c._lem_c4(ctx)
    rows = out.evidence["tests"]
    assert len(rows) == sum(cfg[3] for cfg in app_c._C4_CFGS)
    assert ctx.z_calls == [len(rows)]
    for row in rows:
        assert within(abs(row["confidence"] - (1 - ctx.alpha / len(rows))), 8 * EPS, "confidence")


# -- Lemma C.7 conclusion: the foils' constants are those their labels print ----------------------------

def test_c7_conclusion_foils_carry_their_printed_constants():
    """Each foil of lem-c.7's conclusion runs the check with the constant its label states: sign flipped -> -1,
    no first-order term -> 0, halved -> 1/2, 3/2, 2/3."""
    from checks.model import REGISTRY
    from theory.claims import app_c2  # noqa: F401  (registers the claim)

    want = {"sign flipped": -1, "no first-order term": 0, "halved constant": Fraction(1, 2),
            "constant 3/2": Fraction(3, 2), "constant 2/3": Fraction(2, 3)}
    foils = REGISTRY["lem-c.7/conclusion"].foils
    seen = set()
    for f in foils:
        label = next(k for k in want if f.statement.startswith(k))
        seen.add(label)
        assert f.check.func is app_c2._c7_conclusion
        assert Fraction(f.check.keywords["coef"]) == want[label], (f.statement, f.check.keywords)
    assert seen == set(want)


# -- Theorem D.1 / Lemma D.6: the remainders the comparisons report ---------------------------------------

_C3 = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.25], [0.5, 0.25, 4.0]])


def _unit_lower(C, r):
    """T_C: the unit lower-triangular factor of C^{r,r} = T diag(d) T^T, from numpy's Cholesky."""
    Lc = np.linalg.cholesky(np.asarray(C, float)[:r, :r])
    return Lc / np.diag(Lc)[None, :]


def test_remark_d2_lower_and_upper_remainders_are_relative_to_one_plus_the_limit():
    """cmp_lower / cmp_upper: the remainder at each rung is max|block_L - limit| / (1 + max|limit|), the limit
    being T_C (resp. T_C^{-T}) computed here from a Cholesky factor; checked at rungs where the remainder is
    far above rounding (there the normalisation 1 + max|limit| >= 2 is visible)."""
    C, r, a = _C3, 2, np.array([0.0, 1.0, 2.0])
    T = _unit_lower(C, r)
    _, _, rungs = app_d._ladder(C, r, a, "exp")
    tl = tol(r, kernels=4, kappa=np.linalg.cond(C))
    for fn, lim, block in ((app_d.cmp_lower, T, "lower"), (app_d.cmp_upper, np.linalg.inv(T).T, "upper")):
        got = fn(C, r, a, "exp").detail["remainder"]
        assert len(got) == len(rungs)
        for rg, g in zip(rungs, got):
            want = np.max(np.abs(getattr(rg.eig, block) - lim)) / (1 + np.max(np.abs(lim)))
            assert within(abs(g - want), tl, f"{fn.__name__} eps={rg.eps:g}"), (g, want)
        assert got[0] > 1e3 * tl  # the first rung's remainder is far from rounding: the scale is seen


def test_lemma_d6_block_remainders_read_the_right_blocks():
    """cmp_epsilon reports max|P_L[:r, r:]| (the block eps_L) and, for the foil 'lower-left', max|P_L[r:, :r]|;
    cmp_rpart the strictly upper (foil: lower) triangle of P_L^{r,r}; _diag_defect max|diag P_L^{r,r} - 1|;
    each read off the same ladder's P_L (shift moves the cut to r + shift)."""
    C, r, a = _C3, 1, np.array([0.0, 1.0, 2.0])
    _, lad = app_d._p_parts_ladder(C, r, a, "exp")
    Ps = [P for _, _, P, _, _ in lad]

    def blk(P, rows, cols):
        b = P[rows, cols]
        return float(np.max(np.abs(b))) if b.size else 0.0

    for shift in (0, 1):
        rr = r + shift
        cases = [
            (app_d.cmp_epsilon(C, r, a, "exp", shift=shift), [blk(P, slice(None, rr), slice(rr, None)) for P in Ps]),
            (app_d.cmp_epsilon(C, r, a, "exp", block="lower-left", shift=shift),
             [blk(P, slice(rr, None), slice(None, rr)) for P in Ps]),
            (app_d.cmp_rpart(C, r, a, "exp", shift=shift), [float(np.max(np.abs(np.triu(P[:rr, :rr], 1)))) for P in Ps]),
            (app_d.cmp_rpart(C, r, a, "exp", part="lower", shift=shift),
             [float(np.max(np.abs(np.tril(P[:rr, :rr], -1)))) for P in Ps]),
            (app_d._diag_defect(C, r, a, "exp", shift=shift),
             [float(np.max(np.abs(np.diag(P)[:rr] - 1))) for P in Ps]),
        ]
        for k, (cmp, want) in enumerate(cases):
            assert cmp.detail["remainder"] == want, (shift, k, cmp.detail["remainder"], want)
    # the blocks differ: the lower-left block of P does not vanish (P -> [[1, 0], [T-ish, *]])
    assert blk(Ps[-1], slice(r, None), slice(None, r)) > 1e3 * blk(Ps[-1], slice(None, r), slice(r, None))


# -- _ladder: the refit with a 1/L^2 term, the one-sided power --------------------------------------------

def _wls(L, y, se, order):
    """Weighted least squares of y on 1, 1/L, ..., 1/L^order by the normal equations (independent of lstsq)."""
    X = np.stack([L ** (-k) for k in range(order + 1)], axis=1)
    W = np.diag(1 / se ** 2)
    return np.linalg.solve(X.T @ W @ X, X.T @ W @ y)


def test_ladder_fit_refits_with_a_quadratic_term_when_chi_square_rejects():
    """_ladder.fit: on a curve c0 + c1/L + c2/L^2 with small SEs the order-1 fit is rejected (p < alpha) and
    the result is the order-2 weighted fit (of y on 1/L, not of L on 1/y); on a straight c0 + c1/L curve the
    order-1 fit is kept."""
    from theory.claims import _ladder

    L = np.array([4.0, 6.0, 8.0, 12.0, 16.0, 24.0])
    se = np.full(L.size, 1e-3)
    for y, order in ((0.5 - 2.0 / L + 30.0 / L ** 2, 2), (0.5 - 2.0 / L, 1)):
        f = _ladder.fit(L, y, se, alpha=1e-6)
        want = _wls(L, y, se, order)
        assert len(f.coef) == order + 1
        kappa = np.linalg.cond(np.stack([L ** (-k) for k in range(order + 1)], axis=1)) ** 2
        assert within(float(np.max(np.abs(np.asarray(f.coef) - want))),
                      tol(L.size, kernels=4, kappa=kappa, scale=float(np.max(np.abs(want)))), f"order {order}")


def test_one_sided_power_is_the_normal_tail_and_exact_at_zero_se():
    """one_sided_power(margin, se, crit) = P(N(margin/se, 1) > crit) = erfc((crit - margin/se)/sqrt 2)/2; with
    se = 0 the estimate is exact: rejected for certain iff margin > 0."""
    from theory.claims._ladder import one_sided_power

    assert one_sided_power(0.1, 0.0, 3.0) == 1.0
    assert one_sided_power(0.0, 0.0, 3.0) == 0.0
    assert one_sided_power(-0.1, 0.0, 3.0) == 0.0
    for margin, se, crit in ((0.3, 0.1, 3.0), (0.05, 0.1, 2.0), (-0.2, 0.1, 1.0), (1.0, 0.2, 4.5)):
        want = 0.5 * math.erfc((crit - margin / se) / math.sqrt(2))
        assert within(abs(one_sided_power(margin, se, crit) - want), 16 * EPS * (1 + abs(margin / se)), "power")


# -- lem-c.2/intersection-dimension: the float part's mismatch record -----------------------------------

def test_intersection_float_records_the_worst_float_case(monkeypatch):
    """_intersection_float's Haar part, reached with the exact part passing: for a wrong formula (off by 1, and by
    100 on one drawn (n, d1, d2)) the worst mismatch and the first case attaining it (n, d1, d2, dim, predicted,
    which F) are those of the drawn cases, with dim(E ∩ F) = d1 + d2 - rank[Q1 Q2] computed here (independently of
    principal angles)."""
    from checks import Outcome, Status
    from checks.strategies import haar_orthogonal_np

    monkeypatch.setattr(app_c, "_FixedThen", lambda *a, **k: (lambda ctx: Outcome(Status.VERIFIED, "stub")))
    ctx = _CappedCtx("lem-c.2/intersection-dimension")
    # replay the draws (the inputs) and compute every dimension by a rank
    rng = ctx.rng("haar")
    m = ctx.pick(quick=300, full=3000)
    cases = []
    for k in range(m):
        n = int(rng.integers(1, 9))
        d1, d2 = int(rng.integers(0, n + 1)), int(rng.integers(0, n + 1))
        q1 = haar_orthogonal_np(n, rng)[:, :d1]
        q2 = haar_orthogonal_np(n, rng)[:, :d2] if k % 2 == 0 else np.eye(n)[:, rng.permutation(n)[:d2]]
        dim = d1 + d2 - (np.linalg.matrix_rank(np.hstack([q1, q2])) if d1 + d2 else 0)
        assert dim == max(0, d1 + d2 - n)  # generic position
        cases.append((k, n, d1, d2, dim))
    # the target: a Haar-F case at k = 2 mod 4 whose (n, d1, d2) was not drawn before and is not symmetric
    seen, target = set(), None
    for k, n, d1, d2, _ in cases:
        if target is None and k % 4 == 2 and (n, d1, d2) not in seen and max(0, d1 + d2 - n) != max(0, n + d2 - d1):
            target = (n, d1, d2)
        seen.add((n, d1, d2))
    assert target is not None

    def wrong(n, d1, d2):
        return max(0, d1 + d2 - n) + (100 if (n, d1, d2) == target else 1)

    out = app_c._intersection_float(ctx, formula=wrong)
    worst, first = 0, None
    for k, n, d1, d2, dim in cases:
        miss = abs(dim - wrong(n, d1, d2))
        if miss > worst:
            worst, first = miss, {"n": n, "d1": d1, "d2": d2, "dim": dim, "predicted": wrong(n, d1, d2),
                                  "F": "Haar" if k % 2 == 0 else "coordinate"}
    assert worst == 100 and first["F"] == "Haar"
    assert out.status is Status.REFUTED
    assert out.evidence["haar_float_cases"] == m
    assert out.evidence["haar_float_max_mismatch"] == worst
    assert out.counterexample["float_case"] == first, (out.counterexample, first)


# -- Appendix E: a foil that is not well-typed fails its comparison ------------------------------------

def test_e_comparisons_fail_an_ill_typed_variant(monkeypatch):
    """_cmp_jdot with a formula of the wrong shape, and _cmp_analytic's swapped foil v_k^T Jdot u_k on a
    rectangular J, are failed comparisons (err > tol), not passes; on a square J the swapped foil is v_k^T Jdot u_k
    (checked against a direct evaluation)."""
    rng = np.random.default_rng(20261207)
    Ws = [rng.standard_normal((3, 2)), rng.standard_normal((2, 3))]
    G = rng.standard_normal((2, 2))
    # the reference only fixes the shape here (torch's jvp costs seconds on its first call): J is 2 x 2
    monkeypatch.setattr(app_e, "torch_jdot_flow", lambda Ws, ds, G: np.zeros((Ws[-1].shape[0], Ws[0].shape[1])))
    bad = app_e._cmp_jdot(lambda Ws, ds, G: np.zeros((3, 3)))(Ws, [np.array([1.0, 0.0, 1.0])], G)
    assert not bad.ok and bad.detail.get("shape_mismatch")

    from checks.strategies import haar_orthogonal_np
    X0, Y0 = haar_orthogonal_np(3, rng), haar_orthogonal_np(2, rng)
    Kx, Ky = app_e._skew(3, rng), app_e._skew(2, rng)
    s0, c = np.array([2.0, 1.0]), rng.standard_normal(2)
    assert app_e._cmp_analytic()(X0, Y0, Kx, Ky, s0, c, False).ok
    sw = app_e._cmp_analytic(swap=True)(X0, Y0, Kx, Ky, s0, c, False)
    assert not sw.ok and sw.detail.get("shape_mismatch")
    Y0, Ky = haar_orthogonal_np(3, rng), app_e._skew(3, rng)
    s0, c = np.array([3.0, 2.0, 0.5]), rng.standard_normal(3)
    Jd = app_e._mp_path_jdot(X0, Y0, Kx, Ky, s0, c)
    sw = app_e._cmp_analytic(swap=True)(X0, Y0, Kx, Ky, s0, c, False)
    want = np.diag(Y0.T @ Jd @ X0)
    scale = np.linalg.norm(Jd, 2)
    assert within(float(np.max(np.abs(np.array(sw.detail["formula"]) - want))), tol(3, kernels=3, scale=scale), "swap")
    assert within(abs(sw.err - float(np.max(np.abs(want - c)))), tol(3, kernels=4, scale=scale + np.max(np.abs(c))), "err")


# -- Lemma C.7: each row's limits are u_L = aL + d + c f(L)'s, from the remainder's limits --------------------

def test_c7_rows_scale_the_remainder_limits_by_c(monkeypatch):
    """For u_L = aL + d + c f(L): lim u_L/L = a + c lim f/L, lim (u_L - uL) = d + c lim (f - L lim f/L), and the defect
    d(x, y) -> d + c (the remainder's defect limit) along each path (c = 0: u_L = aL + d exactly). Checked with
    nonzero stand-in limits of f (the paper's remainders all have lim f/L = 0, which hides a dropped or sign-slipped
    term); d(p,q) converges iff both path limits are finite and equal."""
    import sympy as sp

    from theory import subadditive
    from theory.claims import app_c2

    fake = {k: (sp.Rational(7, 3) + i, sp.Rational(-5, 2) - i, (sp.Rational(11, 7) * (i + 1),) * 2)
            for i, k in enumerate(subadditive.MEETS)}
    fake.update({"log": (sp.Rational(1, 3), sp.Rational(2, 9), (sp.Rational(1, 2), sp.Rational(3, 4))),
                 "sqrt": (sp.Integer(2), sp.oo, (sp.oo, sp.oo)), "parity": (sp.Integer(-1), sp.nan, (sp.nan, sp.Integer(1)))})
    monkeypatch.setattr(app_c2, "_c7_family_limits", lambda kind: fake[kind])
    ctx = _CappedCtx("lem-c.7/conclusion")
    ctx.cap = 4
    rows = app_c2._c7_rows(ctx)
    assert len(rows) == len(fake) * len(app_c2.C7_PARAMS)
    Q = lambda x: sp.Rational(x.numerator, x.denominator)  # noqa: E731
    for r in rows:
        ell, rem, paths = fake[r["family"]]
        a, d, c = Q(r["a"]), Q(r["d"]), Q(r["c"])
        if c == 0:
            u, c1, dp = a, d, [d, d]
        else:
            u, c1, dp = a + c * ell, d + c * rem, [d + c * v for v in paths]
        assert sp.simplify(r["u = lim u_L/L"] - u) == 0 if u.is_finite else r["u = lim u_L/L"] == u, (r, u)
        assert (sp.simplify(r["c1"] - c1) == 0) if c1.is_finite else (str(r["c1"]) == str(c1)), (r, c1)
        assert r["d(x,y) limits (y = x, x+1)"] == [str(v) for v in dp], (r, dp)
        conv = all(v.is_finite for v in dp) and dp[0] == dp[1]
        assert r["d(p,q) converges"] == conv
        assert r["d_lim"] == (dp[0] if conv else None)
    assert any(r["c"] != 0 and r["family"] in subadditive.MEETS for r in rows)


# -- lem-e.2: the analytic paths the property check draws ------------------------------------------------

def test_analytic_path_draws_differentiable_svds_with_real_crossings():
    """_analytic_path: X0 (rows x rows), Y0 (cols x cols) orthogonal, Kx, Ky skew, len(s0) = len(c) = min(rows, cols);
    s0 distinct when tie is False, and s_1 = s_2 exactly (two branches crossing at t = 0) when tie is True."""
    from hypothesis import HealthCheck, given, settings

    seen = set()

    @settings(max_examples=40, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(app_e._analytic_path())
    def check(d):
        rows, cols = d["X0"].shape[0], d["Y0"].shape[0]
        k = min(rows, cols)
        assert d["X0"].shape == (rows, rows) and d["Y0"].shape == (cols, cols)
        for Q in (d["X0"], d["Y0"]):
            assert within(float(np.max(np.abs(Q.T @ Q - np.eye(Q.shape[0])))), tol(Q.shape[0], kernels=2), "orth")
        for K in (d["Kx"], d["Ky"]):
            assert np.array_equal(K, -K.T)
        s0 = np.asarray(d["s0"])
        assert s0.shape == (k,) and np.asarray(d["c"]).shape == (k,)
        if d["tie"]:
            assert k >= 2 and s0[0] == s0[1], s0
            rest = np.concatenate([s0[:1], s0[2:]])
        else:
            rest = s0
        assert len(set(rest.tolist())) == len(rest), s0
        seen.add((d["tie"], k))

    check()
    assert (True, 2) in seen and (False, 1) in seen


# -- Theorem D.1's input strategy: every drawn case meets the hypotheses it is built for -------------------

_GRID = np.linspace(-2.0, 2.0, 9)


def test_d1_case_draws_meet_theorem_d1_hypotheses():
    """d1_case (through cases()): n and r in their ranges (r <= n - 1, r <= n - 2 with an 'always' zero tail), C
    symmetric with C^{r,r} positive definite and its last LDL pivot ell_r = 10^g, g on the grid of 9 points in
    [-2, 2]; the family's shape (spd / near-violation: C positive definite; psd-singular: C singular PSD); a starts at
    0, gaps 'exp' in [0.3, 1] or 'poly' in {1, 2} among the top r + 1 (separation), possibly 0 beyond; a zero tail
    (a = +inf) starts at k > r (k < n for 'always'), never with zero_tail=False."""
    from hypothesis import HealthCheck, given, settings

    seen = set()
    for kw in ({}, {"zero_tail": False}, {"zero_tail": "always", "n": (4, 5), "r_min": 2}, {"r_min": 2, "n": (3, 5)}):
        always = kw.get("zero_tail") == "always"
        n_lo, n_hi = kw.get("n", (2, 5))
        r_min = kw.get("r_min", 1)

        @settings(max_examples=25, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(app_d.cases(**kw))
        def check(c):
            C, r, a, kind, fam = c["C"], c["r"], np.asarray(c["a"]), c["kind"], c["family"]
            n = C.shape[0]
            assert C.shape == (n, n) and a.shape == (n,)
            assert max(n_lo, r_min + (2 if always else 1)) <= n <= n_hi
            assert r_min <= r <= n - (2 if always else 1)
            assert np.array_equal(C, C.T)
            Lc = np.linalg.cholesky(C[:r, :r])
            g = math.log10(Lc[r - 1, r - 1] ** 2)
            kappa = np.linalg.cond(C[:r, :r])
            assert within(float(np.min(np.abs(_GRID - g))), tol(r, kernels=4, kappa=kappa), "ell_r = 10^g"), g
            w = np.linalg.eigvalsh(C)
            wtol = tol(n, kernels=4, scale=float(np.max(np.abs(w))))
            if fam in ("spd", "near-violation"):
                assert w[0] > 0
            elif fam == "psd-singular":
                assert w[0] >= -wtol and np.sum(w > wtol) <= n - 1
            else:
                assert fam == "indefinite"
            assert kind in ("exp", "poly") and a[0] == 0.0
            fin = np.isfinite(a)
            k = int(np.argmin(fin)) if not fin.all() else n
            assert fin[:k].all() and not fin[k:].any()
            if always:
                assert r < k < n
            elif kw.get("zero_tail") is False:
                assert k == n
            else:
                assert k > r
            gaps = np.diff(a[:k])
            t = 4 * EPS * (1 + float(np.max(a[:k])))  # the cumsum's rounding
            for i, gp in enumerate(gaps):
                if kind == "exp":
                    assert (0.3 - t <= gp <= 1.0 + t) or (i >= r and gp == 0.0), (i, r, gaps)
                else:
                    assert gp in ((1.0, 2.0) if i < r else (0.0, 1.0, 2.0)), (i, r, gaps)
            seen.add((fam, kind, k < n))

        check()
    assert {f for f, _, _ in seen} == set(app_d.FAMILIES)
    assert {t for _, _, t in seen} == {True, False}


# -- Theorem C.1 (wedge formula): the exact gap of the non-invariant law --------------------------------

def test_wedge_data_exact_gap_is_top_i_means_minus_first_i_means():
    """For Y = diag(exp(g)), g ~ N(mu, I), mu = (0, 1/2, 1): gamma = mu sorted decreasingly, so the exact gap
    gamma_1 + ... + gamma_i - E log||Y e_1 ∧ ... ∧ Y e_i|| is (1, 1/2, 0)[:i].sum() - (0, 1/2, 1)[:i].sum() =
    1, 1, 0 for i = 1, 2, 3; 0 for every right-invariant law (where the formula holds)."""
    ctx = _CappedCtx("thm-c.1/wedge-formula")
    data = app_c._wedge_data(ctx)
    want = {1: 1.0, 2: 1.0, 3: 0.0}
    n_diag = 0
    for row in data["rows"]:
        if row["invariant"]:
            assert row["exact_gap"] == 0.0
        else:
            n_diag += 1
            assert within(abs(row["exact_gap"] - want[row["i"]]), 4 * EPS, f"i={row['i']}")
    assert n_diag == 3


# -- Appendix E: the other input builders -----------------------------------------------------------------

def test_e_input_builders_draw_what_their_checks_need():
    """_tie_cases: J0 = X diag(s) Y^T with X, Y orthogonal n x n (2 <= n <= 4), s non-increasing in [0.2, 2] with an
    exact tie s_1 = s_2, C n x n; _distinct_path: J0 with distinct singular values (a trailing exact zero with
    zero_last), J1 of the same shape; _sq_net_distinct: L square n x n weights, L - 1 gates of length n with no zero
    entry, G n x n."""
    from hypothesis import HealthCheck, given, settings

    from checks.strategies import haar_orthogonal_np  # noqa: F401  (imported by _tie_cases)

    rng = np.random.default_rng(5)
    ns = set()
    for J0, X, Y, s, C in app_e._tie_cases(rng, 12):
        n = J0.shape[0]
        ns.add(n)
        assert 2 <= n <= 4 and J0.shape == X.shape == Y.shape == C.shape == (n, n) and s.shape == (n,)
        for Q in (X, Y):
            assert within(float(np.max(np.abs(Q.T @ Q - np.eye(n)))), tol(n, kernels=2), "orth")
        assert s[0] == s[1] and np.all(np.diff(s) <= 0) and 0.2 <= s.min() and s.max() <= 2.0
        assert within(float(np.max(np.abs(J0 - X @ np.diag(s) @ Y.T))), tol(n, kernels=3, scale=2.0), "J0")
    assert len(ns) >= 2

    cfg = settings(max_examples=15, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))

    for zero_last in (False, True):
        @cfg
        @given(app_e._distinct_path(zero_last=zero_last))
        def path(d):
            J0, J1 = d["J0"], d["J1"]
            assert J0.shape == J1.shape
            sv = np.linalg.svd(J0, compute_uv=False)
            t = tol(max(J0.shape), kernels=4, scale=float(sv[0]))
            if zero_last:
                assert within(float(sv[-1]), t, "trailing zero")
                sv = sv[:-1]
            assert np.all(np.diff(sv) < -t) and np.all(sv > t), sv

        path()

    @cfg
    @given(app_e._sq_net_distinct())
    def net(d):
        Ws, ds, G = d["Ws"], d["ds"], d["G"]
        n = G.shape[0]
        assert G.shape == (n, n) and all(W.shape == (n, n) for W in Ws)
        assert len(ds) == len(Ws) - 1 and all(dd.shape == (n,) and np.all(dd != 0) for dd in ds)

    net()


# -- Appendix C/D: small input builders ---------------------------------------------------------------------

def test_c_and_d_input_builders_draw_in_their_stated_ranges():
    """_subspace_case: 1 <= n <= 7, bases B1 (n x d1), B2 (n x d2), 0 <= d <= n, integer entries in [-1e6, 1e6];
    _c7_sequences: L in [2, 4], m in [1, 4] (m <= 3 for L > 2), L^m integer values; _d4_case: E symmetric n x n,
    1 <= n <= 6, ||E||_2 = delta in [1e-12, 10^-1.5] (or E = 0)."""
    from hypothesis import HealthCheck, given, settings

    from theory.claims import app_c2

    cfg = settings(max_examples=25, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))

    @cfg
    @given(app_c._subspace_case())
    def sub(d):
        n, B1, B2 = d["n"], d["B1"], d["B2"]
        assert 1 <= n <= 7 and B1.shape[0] == B2.shape[0] == n
        assert 0 <= B1.shape[1] <= n and 0 <= B2.shape[1] <= n
        for B in (B1, B2):
            assert B.dtype == np.int64 and (B.size == 0 or np.max(np.abs(B)) <= 10 ** 6)

    @cfg
    @given(app_c2._c7_sequences())
    def seq(d):
        L, m, v = d["L"], d["m"], d["values"]
        assert 2 <= L <= 4 and 1 <= m <= (4 if L == 2 else 3)
        assert v.shape == (L ** m,) and v.dtype == np.int64 and np.max(np.abs(v)) <= 10 ** 6

    @cfg
    @given(app_d._d4_case())
    def d4(d):
        E = d["E"]
        n = E.shape[0]
        assert 1 <= n <= 6 and E.shape == (n, n) and np.array_equal(E, E.T)
        nrm = np.linalg.norm(E, 2)
        if nrm > 0:
            t = tol(n, kernels=4, scale=nrm)
            assert 1e-12 - t <= nrm <= 10 ** -1.5 + t, nrm

    sub()
    seq()
    d4()


# -- lem-e.2: the factor foils use the factors their labels state -----------------------------------------

def test_e2_factor_foils_scale_the_formula_as_labelled():
    """lem-e.2's foils 'a factor 1.5' and 'd(s_k^2)/dt read as ds_k/dt' (factor 2 s_k): on the first failing analytic
    path, where u_k^T Jdot v_k = c_k = ds_k/dt by construction, the foil's formula is 1.5 c_k, resp. 2 s_k c_k."""
    from checks.model import REGISTRY

    foils = {f.statement.split(":")[0]: f for f in REGISTRY["lem-e.2"].foils}
    for label, fac in (("a factor 1.5", lambda s: 1.5 + 0 * s), ("d(s_k^2)/dt read as ds_k/dt", lambda s: 2 * s)):
        out = foils[label].check(Context("lem-e.2"))
        fail = out.evidence["failing"]
        s0 = np.asarray(out.counterexample["inputs"]["s0"]["__ndarray__"], float)
        got, c = np.asarray(fail["formula"]), np.asarray(fail["ds_dt"])
        want = fac(s0[: len(c)]) * c
        scale = float(np.max(np.abs(want))) + float(np.max(np.abs(c)))
        assert within(float(np.max(np.abs(got - want))), tol(max(fail["shape"]), kernels=4, scale=scale), label), (got, want)


def test_e2_simple_corrected_factor_foils_scale_the_formula_as_labelled():
    """lem-e.2/missing-simple's corrected form: its foils 'a factor 1.5' and 'd(s_k^2)/dt read as ds_k/dt' give, on
    the first failing path J0 + t J1, formula = 1.5 ds_k/dt, resp. 2 s_k ds_k/dt, with ds_k/dt the 40-digit
    difference (which the unscaled formula matches within the comparison's rounding tolerance)."""
    from checks.model import REGISTRY

    foils = {f.statement.split(":")[0]: f for f in REGISTRY["lem-e.2/missing-simple"].corrected.foils}
    for label, fac in (("a factor 1.5", lambda s: 1.5 + 0 * s), ("d(s_k^2)/dt read as ds_k/dt", lambda s: 2 * s)):
        out = foils[label].check(Context("lem-e.2/missing-simple"))
        fail = out.evidence["failing"]
        s, got, fd = (np.asarray(fail[k], float) for k in ("s", "formula", "mpmath_fd"))
        f = fac(s)
        assert within(float(np.max(np.abs(got - f * fd))), 2 * float(np.max(f)) * fail["tol"], label), (got, f * fd)


# -- Appendix C: every foil's knob is the formula its label prints ------------------------------------------

def test_appendix_c_foil_knobs_match_their_labels():
    """The lambda knobs of the Appendix C foils, evaluated on a grid, are the formulas their labels state (relative
    to the statement's own d_t(n) where the label scales it)."""
    from fractions import Fraction as Fr

    from checks.model import REGISTRY
    from theory.claims import app_c2

    def foils(cid):
        c = REGISTRY[cid]
        return list(c.foils) + (list(c.corrected.foils) if c.corrected else [])

    def knobs(cid):
        return {f.statement.split(":")[0].split(" (")[0]: f.check.keywords for f in foils(cid)}

    grid = [(n, a, b) for n in range(1, 6) for a in range(0, n + 1) for b in range(0, n + 1)]
    k = knobs("lem-c.2/intersection-dimension")
    for n, d1, d2 in grid:
        assert k["the printed sign"]["formula"](n, d1, d2) == max(0, n - d1 - d2)
        assert k["nested position"]["formula"](n, d1, d2) == min(d1, d2)
        assert k["off by one"]["formula"](n, d1, d2) == max(0, d1 + d2 - n + 1)
    k = {f.statement[:20]: f.check.keywords for f in foils("lem-c.2/assumptions")}
    for n, r, _ in grid:
        assert k["rank J_L >= r + 1 (o"]["min_rank"](n, r) == r + 1
        assert k["the layers are a.s. "]["min_rank"](n, r) == n
    d = app_c2._d_closed
    k = knobs("lem-c.6/limit")
    k2 = knobs("app-c.2/subadditivity")
    for n in range(2, 6):
        for t in range(1, n):
            dt = float(d(t, n))
            s = abs(dt) + 1
            for got, want in ((k["constant 3/2"]["limit"](t, n), -1.5 * dt),
                              (k["constant 2/3"]["limit"](t, n), -2 * dt / 3),
                              (k["index shifted"]["limit"](t, n), -float(d(t + 1, n))),
                              (k["the minor as a product of diagonal entries"]["limit"](t, n), -t * float(d(1, n))),
                              (k2["halved constant"]["limit"](t, n), dt / 2),
                              (k2["constant 3/2"]["limit"](t, n), 1.5 * dt),
                              (k2["constant 2/3"]["limit"](t, n), 2 * dt / 3),
                              (k2["no correction"]["limit"](t, n), 0.0)):
                assert within(abs(float(got) - want), 8 * EPS * s, f"t={t}, n={n}"), (got, want)
            if t >= 2:
                assert within(abs(float(k2["index shifted"]["limit"](t, n)) - float(d(t - 1, n))), 8 * EPS * s, "i-1")
    k = knobs("lem-c.7/reduction")
    assert k["the shifted sequence u'_L itself is subadditive"] == {"offset": Fr(0)}
    assert k["halved bound"] == {"lower": Fr(1, 2)}
    assert k["bound 2/3"] == {"offset": Fr(2, 3), "lower": Fr(2, 3)}


def test_appendix_d_nearest_slip_foils_are_the_stated_factor_and_rate():
    """Every Appendix D foil 'X off by a factor 1.5' runs its comparison with scale = 1.5 and size 0.5 (relative), and
    every 'remainder O(eps_L^(3/2))' foil with rate = 3/2 and size 1/2 (absolute)."""
    from checks.model import REGISTRY

    n_const = n_rate = 0
    for cid, c in REGISTRY.items():
        if not getattr(c, "module", "").endswith("app_d") and not cid.startswith(("thm-d", "rem-d", "lem-d")):
            continue
        for f in list(c.foils) + (list(c.corrected.foils) if c.corrected else []):
            fn = f.check
            if not getattr(fn, "__closure__", None) or "knobs" not in fn.__code__.co_freevars:
                continue
            knobs = dict(zip(fn.__code__.co_freevars, (x.cell_contents for x in fn.__closure__)))["knobs"]
            if f.statement.endswith("off by a factor 1.5"):
                n_const += 1
                assert knobs["scale"] == 1.5 and f.size == 0.5 and f.unit == "relative", (cid, knobs)
            elif "O(eps_L^(3/2))" in f.statement:
                n_rate += 1
                assert knobs["rate"] == 1.5 and f.size == 0.5 and f.unit == "absolute", (cid, knobs)
    assert n_const >= 5 and n_rate >= 2, (n_const, n_rate)
