"""Appendix C helpers that mutation testing found unguarded (issue 17, part 6; seed-5 survivors, helper q2).

Each test compares a whole helper with an independent computation of what it is defined to be (here: the
z-test and the normal-approximation power of Theorem C.1's wedge-formula check, recomputed from synthetic
ladder fits and log-wedge samples), away from the zeros, so any slip in the helper fails here even where no
claim verdict changes. Tolerances come from float64 eps and sizes.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from checks.model import Context
from checks.tolerance import tol
from tests.conftest import within
from theory.claims import app_c

EPS = np.finfo(float).eps


class _Fit:
    """A ladder fit stand-in: limit ``c`` with standard error ``s``."""

    def __init__(self, c: float, s: float):
        self.coef = np.array([c])
        self._s = s

    def se(self, k: int) -> float:
        assert k == 0
        return self._s


def _row(law, i, c, s, lw, gap, invariant):
    return {"law": law, "i": i, "fit": _Fit(c, s), "log_wedge": lw, "invariant": invariant, "exact_gap": gap}


def _mean_se(x):
    return float(np.mean(x)), float(np.std(x, ddof=1) / math.sqrt(x.size))


def _rhs(key, x):
    """The right sides from their definitions: E x, E 2x, log E e^x (delta-method SE)."""
    m, se = _mean_se(x)
    if key == "wedge":
        return m, se
    if key == "squared":
        return 2 * m, 2 * se
    e = np.exp(x)
    return float(np.log(np.mean(e))), float(np.std(e, ddof=1) / math.sqrt(x.size) / np.mean(e))


def _power(delta, se, z):
    d = abs(delta) / se
    return float(norm.sf(z - d) + norm.cdf(-z - d))


def test_wedge_formula_power_and_tests_match_their_definitions():
    """``_wedge_formula``: for one (law, i) row at a time, each right side (printed 'wedge', foils 'squared',
    'jensen', 'previous'), the tested difference is (ladder limit) - (right side) with SE hypot(fit SE, right
    side SE) and the power is the normal power at the true mean exact_gap + (E log wedge - right side) — recomputed
    here from scipy's normal law; exact gaps and log-wedge means are non-zero so every sign matters."""
    rng = np.random.default_rng(17)
    lw1 = rng.standard_normal(300) * 0.4 + 0.7
    lw2 = rng.standard_normal(300) * 0.5 + 1.3
    cases = [  # (exact gap, fit limit, fit se)
        (0.0, 0.7, 0.05), (0.25, 1.1, 0.08), (-0.15, 0.4, 0.03), (0.6, 2.0, 0.2)]
    for gap, c, s in cases:
        for rhs in ("wedge", "squared", "jensen", "previous"):
            ctx = Context("thm-c.1/wedge-formula")
            rows = [_row("L", 1, 0.0, 1.0, lw1, 0.0, True), _row("L", 2, c, s, lw2, gap, False)]
            ctx.cache[(ctx.claim_id, "data")] = {"rows": rows, "m": 300, "depths": [16, 32]}
            out = app_c._wedge_formula(ctx, rhs=rhs, invariant_only=False)
            # only row 2 vs row 1 differ; rebuild both rows' powers and take the larger (power_any)
            z = float(norm.isf(ctx.alpha / 2))  # one invariant row
            want_p, want_t = [], []
            for r in rows:
                x = r["log_wedge"]
                if rhs == "previous":
                    w, wse = (0.0, 0.0) if r["i"] == 1 else _mean_se(lw1)
                else:
                    w, wse = _rhs(rhs, x)
                se = math.hypot(r["fit"].se(0), wse)
                want_t.append((r["fit"].coef[0] - w, se))
                want_p.append(_power(r["exact_gap"] + _mean_se(x)[0] - w, se, z))
            t = tol(300, scale=4.0, kernels=4)
            got = out.evidence["tests"]
            assert len(got) == 2
            for g, (est, se) in zip(got, want_t):
                assert within(abs(g["estimate"] - est), t, rhs) and within(abs(g["se"] - se), t, rhs), (rhs, g, est, se)
                assert within(abs(g["z"] - est / se), t / se, rhs), (rhs, g["z"], est / se)
            assert within(abs(out.power - max(want_p)), 1e3 * t, rhs), (gap, rhs, out.power, want_p)


class _StubProp:
    """A PropertyCheck stand-in for ``app_b._fixed_then``: ``compare(x=...)`` passes iff x <= 1 (err = x, tol
    = 1); calling it returns a VERIFIED outcome (the Hypothesis search's)."""

    def __init__(self):
        self.calls = 0

    def compare(self, x):
        from checks.model import Comparison
        return Comparison(float(x), 1.0, {"x": float(x)})

    def __call__(self, ctx):
        from checks.model import Outcome, Status
        self.calls += 1
        return Outcome(Status.VERIFIED, "search passed", evidence={}, method="search")

    def replay(self, *a, **k):  # pragma: no cover - only its identity is checked
        return None


def test_fixed_then_refutes_on_the_first_failing_fixed_input_with_power_one():
    """``app_b._fixed_then(cases, prop)``: the first fixed input whose comparison fails gives REFUTED with that
    index, its err/tol and encoded inputs, and power exactly 1 (a deterministic rejection; a power is a
    probability in [0, 1]); with every fixed input passing, the property search runs and its outcome carries
    the number of fixed cases. The replay is the property's."""
    from checks.model import Status
    from theory.claims import app_b

    for xs, first_bad in (([0.5, 3.0, 7.0], 1), ([2.0], 0), ([0.1, 0.9, 1.0, 5.0], 3), ([0.2, 1.0], None)):
        prop = _StubProp()
        check = app_b._fixed_then([{"x": x} for x in xs], prop, "why")
        assert check.replay == prop.replay
        out = check(Context("app-b.1.1/dimension"))
        if first_bad is None:
            assert out.status == Status.VERIFIED and prop.calls == 1
            assert out.evidence["fixed_cases"] == len(xs)
            assert out.method.startswith(f"{len(xs)} fixed stress input(s) (why)")
            continue
        assert out.status == Status.REFUTED and prop.calls == 0, (xs, out.status)
        assert out.power == 1.0, out.power
        assert out.evidence["fixed_case"] == first_bad
        assert out.evidence["failing"]["err"] == xs[first_bad] and out.evidence["failing"]["tol"] == 1.0
        assert out.summary.startswith(f"fixed stress input {first_bad}: ")


def test_subspace_cmp_is_vacuously_true_where_the_exterior_power_is_empty():
    """``app_b._subspace_cmp`` (as built for app-b.2.2/svd-exactly): for t > n, ∧^t R^n = {0} has no index sets,
    no singular values and no singular vectors, so 'the singular vectors of ∧^t M are exactly the u_I' holds
    vacuously: the comparison passes with err 0, for every M (also rank-deficient) and every t > n."""
    from theory.claims import app_b2

    cmp = app_b2._pc_svd_wedge_sub.compare
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 4):
        for M in (rng.standard_normal((n, n)), np.zeros((n, n)), np.eye(n)):
            for t in (n + 1, n + 2):
                assert app_b2.ext.index_sets(n, t) == [] or len(app_b2.ext.index_sets(n, t)) == 0
                for kw in ({}, {"literal": True}, {"right_u": True}):
                    c = cmp(M, t, **kw)
                    assert c.ok and c.err == 0.0, (n, t, kw, c)


def test_prop_cmp_reports_the_family_sizes_and_positions_of_non_square_families():
    """``app_b2._prop_cmp(V, W)`` on n x t integer families with n > t: the reported n is the ambient dimension
    (rows), t the family size (columns), 'proportional' whether the Plücker vectors are parallel (sympy rank of
    [p; q] <= 1), dim(E ∩ F) = 2t - rank[V W] (sympy), E=F iff that is t, and err 0 (the printed iff holds)."""
    import sympy as sp

    from theory.claims import app_b2

    rng = np.random.default_rng(11)
    for n, t in ((3, 1), (4, 2), (5, 2), (5, 3), (6, 4)):
        for mode in ("same", "share", "random"):
            V = rng.integers(-2, 3, (n, t))
            while sp.Matrix(V).rank() < t:
                V = rng.integers(-2, 3, (n, t))
            if mode == "same":
                W = V @ np.triu(rng.integers(1, 3, (t, t)))  # upper triangular, non-zero diagonal: same span
            elif mode == "share":
                W = V.copy()
                W[:, 0] = rng.integers(-2, 3, n)
            else:
                W = rng.integers(-2, 3, (n, t))
            cmp = app_b2._prop_cmp(V, W)
            p = [sp.Matrix(V[list(I), :]).det() for I in __import__("itertools").combinations(range(n), t)]
            q = [sp.Matrix(W[list(I), :]).det() for I in __import__("itertools").combinations(range(n), t)]
            meet = 2 * t - sp.Matrix(np.hstack([V, W])).rank()
            assert cmp.detail["n"] == n and cmp.detail["t"] == t, cmp.detail
            assert cmp.detail["proportional"] == (sp.Matrix([p, q]).rank() <= 1), (n, t, mode)
            assert cmp.detail["dim(E ∩ F)"] == meet and cmp.detail["E=F"] == (meet == t), (n, t, mode)
            assert cmp.err == 0.0 and cmp.ok


def test_orth_cmp_is_symmetric_in_the_two_families():
    """``app_b2._orth_cmp(V, W)``: the angle between E and F (|<v∧, w∧>| / (|v∧| |w∧|) vs the principal cosines)
    is symmetric in E, F, and so must be its rounding budget, which grows with the conditioning of either family:
    swapping V and W (one well-, one ill-conditioned) gives the same err to rounding and the same tolerance."""
    from theory.claims import app_b2

    V = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=np.int64)
    for W in (np.array([[40, 39], [1, 1], [0, 1], [0, 0]], dtype=np.int64),
              np.array([[30, 31], [0, 1], [1, 0], [2, 2]], dtype=np.int64)):
        a, b = app_b2._orth_cmp(V, W), app_b2._orth_cmp(W, V)
        assert np.linalg.cond(W.astype(float)) > 10 * np.linalg.cond(V.astype(float))
        assert a.tol == b.tol, (a.tol, b.tol)
        assert within(abs(a.err - b.err), a.tol, "swap"), (a.err, b.err)
