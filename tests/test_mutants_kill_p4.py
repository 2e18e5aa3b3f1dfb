"""Helpers of Appendix F and of the alignment / training figures checked against their definitions (issue 17,
part 6: mutation survivors of the seed-4 sample and of the p4 sweeps, and the other helpers of the same kind).

Each test recomputes what a helper is defined to be independently (a printed prediction from the shape of the
support, a foil's closed-form parts in exact integer arithmetic, the line support by brute force over the grid,
the figure layout its comment states, Figure 8's per-run summary numbers), so a slip anywhere in the helper
fails here even where no claim verdict moves. Integer computations are compared exactly; float ones with
tolerances derived from float64 eps and the sizes involved.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from checks.model import Context
from checks.tolerance import tol
from theory.claims import app_f as af
from theory.claims import fig_alignment as fa
from theory.claims import fig_training as ft

EPS = float(np.finfo(np.float64).eps)


# -- Appendix F: the printed prediction of rho = +-1 from the support ------------------------------------

def _printed_extreme(a) -> str:
    """'+1' iff every nonzero is on the main diagonal, '-1' iff every nonzero is on the antidiagonal (the matrix
    flipped left-right is diagonal), else 'not ±1' (diagonal wins when both hold: a single centre cell)."""
    a = np.asarray(a)
    if np.array_equal(a != 0, np.diag(np.diag(a)) != 0):
        return "+1"
    f = np.fliplr(a)
    if np.array_equal(f != 0, np.diag(np.diag(f)) != 0):
        return "-1"
    return "not ±1"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_extreme_printed_prediction_on_every_support(n):
    """Every nonzero 0/1 pattern of an n x n matrix (n <= 3: all 2^(n^2) - 1 supports)."""
    for bits in range(1, 2 ** (n * n)):
        a = np.array([(bits >> k) & 1 for k in range(n * n)]).reshape(n, n)
        assert af._extreme_printed_prediction(a) == _printed_extreme(a), a.tolist()


@pytest.mark.parametrize("n", [4, 5, 6, 7])
def test_extreme_printed_prediction_on_diagonal_antidiagonal_and_other_supports(n):
    rng = np.random.default_rng(400 + n)
    for _ in range(40):
        keep = rng.random(n) < 0.6
        keep[rng.integers(n)] = True
        w = rng.integers(1, 10, n) * keep
        diag, anti = np.diag(w), np.fliplr(np.diag(w))
        assert af._extreme_printed_prediction(diag) == "+1"
        want = "+1" if np.count_nonzero(w) == 1 and n % 2 == 1 and w[n // 2] else "-1"
        assert af._extreme_printed_prediction(anti) == want
        a = rng.integers(0, 3, (n, n)) * (rng.random((n, n)) < 0.4)
        if a.any():
            assert af._extreme_printed_prediction(a) == _printed_extreme(a)


# -- Appendix F: the closed form's parts and its foils, in exact integer arithmetic ------------------------

def _q_and_m(a):
    """q(x, y) = x^T A y for x, y in {'1', 'r1', 'r2'} (r1 = (1..n), r2 = (1..n)^2) and m = 1^T A 1, exactly."""
    n = len(a)
    vec = {"1": [1] * n, "r1": list(range(1, n + 1)), "r2": [k * k for k in range(1, n + 1)]}

    def q(x, y):
        return sum(vec[x][i] * a[i][j] * vec[y][j] for i in range(n) for j in range(n))

    return q, sum(map(sum, a))


def _moments(a):
    """m^2 Cov(X, Y), m^2 Var X, m^2 Var Y of (X, Y) ~ a_ij / m on {1..n}^2, from centred moments (Fractions)."""
    n = len(a)
    m = Fraction(sum(map(sum, a)))
    P = [[Fraction(a[i][j]) / m for j in range(n)] for i in range(n)]
    ex = sum((i + 1) * P[i][j] for i in range(n) for j in range(n))
    ey = sum((j + 1) * P[i][j] for i in range(n) for j in range(n))
    cov = sum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(n) for j in range(n))
    vx = sum((i + 1 - ex) ** 2 * P[i][j] for i in range(n) for j in range(n))
    vy = sum((j + 1 - ey) ** 2 * P[i][j] for i in range(n) for j in range(n))
    return [m * m * e for e in (cov, vx, vy)]


def _int_matrices():
    rng = np.random.default_rng(41)
    for n in (1, 2, 3, 4, 6):
        for _ in range(5):
            a = (rng.integers(0, 50, (n, n)) * (rng.random((n, n)) < 0.7)).tolist()
            if any(map(any, a)):
                yield a


def test_printed_parts_are_the_centred_moments():
    """Appendix F's closed form: numerator m^2 Cov, factors m^2 Var X, m^2 Var Y (exact on integer matrices)."""
    for a in _int_matrices():
        q, m = _q_and_m(a)
        assert list(af._printed_parts(q, m)) == _moments(a), a


def test_closed_form_foils_are_the_stated_slips():
    """Foils: 'rows twice' = (num, denx, denx); 'no mass' = numerator r1^T A r1 - (r1^T A 1)(1^T A r1) without the
    factor m, factors unchanged (each recomputed from the printed formula's terms, exactly)."""
    for a in _int_matrices():
        q, m = _q_and_m(a)
        cov, vx, vy = _moments(a)
        assert list(af._parts_rows_twice(q, m)) == [cov, vx, vx], a
        want = q("r1", "r1") - q("r1", "1") * q("1", "r1")
        assert list(af._parts_no_mass(q, m)) == [want, vx, vy], a


# -- Appendix F's input strategy: the 'line' support ----------------------------------------------------

def _line_support_ref(n, rng):
    """The same draws as _line_support, the line by brute force: the cells (i, j) with (i - i0)(j1 - j0) ==
    (j - j0)(i1 - i0), in order along b - a; each kept with probability 0.7; all of them if fewer than 2 kept."""
    a, b = rng.choice(n * n, size=2, replace=False)
    (i0, j0), (i1, j1) = divmod(int(a), n), divmod(int(b), n)
    line = [(i, j) for i in range(n) for j in range(n) if (i - i0) * (j1 - j0) == (j - j0) * (i1 - i0)]
    line.sort(key=lambda p: (p[0] - i0) * (i1 - i0) + (p[1] - j0) * (j1 - j0))
    keep = [p for p in line if rng.random() < 0.7]
    if len(keep) < 2:
        keep = line
    mask = np.zeros((n, n), dtype=bool)
    for p in keep:
        mask[p] = True
    return mask, (i0, j0), (i1, j1)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_line_support_is_a_subset_of_the_line_through_two_cells(n):
    for seed in range(60):
        got = af._line_support(n, np.random.default_rng([n, seed]))
        want, c0, c1 = _line_support_ref(n, np.random.default_rng([n, seed]))
        assert np.array_equal(got, want), (n, seed, c0, c1)
        assert got.sum() >= 2


# -- Figures 10-12: the panel layout ----------------------------------------------------------------------

def test_panel_figure_is_a_2x2_grid_columns_p_rows_n():
    """PANELS' comment: 'columns p, rows n' - four panels on a 2 x 2 grid, p = 0.5 | 1.0 left | right,
    n = 64 | 128 top | bottom."""
    rng = np.random.default_rng(12)
    prof = {pn: {"gram": rng.standard_normal((5, 4))} for pn in fa.PANELS}
    fig = fa._panel_figure("t", "gram", prof, 2.0)
    ps = sorted({p for p, _ in fa.PANELS})
    ns = sorted({n for _, n in fa.PANELS})
    assert len(fig.axes) == 4
    for ax, (p, n) in zip(fig.axes, fa.PANELS):
        spec = ax.get_subplotspec()
        nrows, ncols = spec.get_gridspec().get_geometry()
        assert (nrows, ncols) == (2, 2)
        assert (spec.rowspan.start, spec.colspan.start) == (ns.index(n), ps.index(p))
        assert ax.get_title() == f"p={p}, n={n}"


# -- Figure 8: the per-run numbers and the printed summary ------------------------------------------------

def _fake_runs(rng, R=4, N=30, top=10):
    runs = []
    for _ in range(R):
        s0 = np.sort(np.exp(-0.1 * np.arange(N) + 0.01 * rng.standard_normal(N)))[::-1]
        s1 = s0 * np.exp(np.where(np.arange(N) < top, 1.5, 0.02) * (1 + 0.3 * rng.standard_normal(N)))
        runs.append((None, SimpleNamespace(svals=np.stack([s0, s0 * 1.01, s1]))))
    return runs


def test_fig8_rows_and_summary_are_their_definitions(monkeypatch):
    """Per run: the smallest |s_k(end) - s_k(0)| over k <= r, the largest over k > r; the printed summary is the
    geometric mean over runs of their ratio (3 significant digits)."""
    runs = _fake_runs(np.random.default_rng(88))
    monkeypatch.setattr(ft, "g1_runs", lambda ctx, kind="main": runs)
    for r in (9, 10, 11):
        out = ft._fig8_check(Context(claim_id="fig-8"), r_top=r, plot=False)
        rows = out.evidence["per_run"]
        ratios = []
        for row, (_, run) in zip(rows, runs):
            s0, s1 = run.svals[0], run.svals[-1]
            d = [abs(float(b) - float(a)) for a, b in zip(s0, s1)]
            lo, hi = min(d[:r]), max(d[r:])
            assert row["min_top_change"] == lo and row["max_other_change"] == hi, r
            ratios.append(lo / hi)
        gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        # the ratio and the mean of logs carry a few ulps; the 3-digit print is the same unless gm is that close
        # to a rounding boundary, which the draw avoids (checked below)
        txt = f"{gm:.3g}"
        assert f"{gm * (1 + 64 * EPS):.3g}" == txt == f"{gm * (1 - 64 * EPS):.3g}"
        assert f"is {txt}x the largest other change" in out.summary, out.summary


# -- Appendix F: exact statuses and the support-based predictions (corrected form and its foils) -----------

def _status_ref(a) -> str:
    """'undefined' / '+1' / '-1' / 'interior' from the centred moments in Fractions: rho^2 = Cov^2 / (VarX VarY)."""
    cov, vx, vy = _moments(np.asarray(a).tolist())
    if vx == 0 or vy == 0:
        return "undefined"
    if cov * cov == vx * vy:
        return "+1" if cov > 0 else "-1"
    return "interior"


def _line_ref(a) -> str:
    """From the support's cells alone: undefined (< 2 rows or < 2 columns hit), else collinear (the centred cell
    coordinates have rank 1) with the sign of their unweighted covariance, else interior."""
    pts = np.argwhere(np.asarray(a) != 0)
    if len(set(pts[:, 0])) < 2 or len(set(pts[:, 1])) < 2:
        return "undefined"
    c = pts * len(pts) - pts.sum(0)  # integer-centred (times the count): exact
    if np.linalg.matrix_rank(c.astype(float)) > 1:
        return "interior"
    return "+1" if int((c[:, 0] * c[:, 1]).sum()) > 0 else "-1"


def _all_01(n):
    for bits in range(1, 2 ** (n * n)):
        yield np.array([(bits >> k) & 1 for k in range(n * n)], dtype=np.int64).reshape(n, n)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_exact_statuses_and_support_predictions_on_every_support(n):
    """Every 0/1 support: _status_exact, the vectorised _exhaustive_statuses (same enumeration order) and the
    corrected prediction _line_sign equal the definition (for 0/1 weights rho = +-1 exactly on lines)."""
    masks, status = af._exhaustive_statuses(n)
    ref = list(_all_01(n))
    assert len(masks) == len(ref) == 2 ** (n * n) - 1
    for a, mk, s in zip(ref, masks, status):
        want = _status_ref(a)
        assert np.array_equal(mk, a) and str(s) == want, a.tolist()
        assert af._status_exact(a) == want and af._line_sign(a) == _line_ref(a) == want, a.tolist()


def test_support_predictions_and_foils_on_weighted_matrices():
    """Random integer weights on random / line / (anti)diagonal supports, n = 2..7: _line_sign from the support
    (weights do not matter); _status_exact from the Fraction moments; the foils _diagonal_sign (printed prediction
    made well defined) and _unit_slope_sign (+-1 only on lines of slope +-1)."""
    rng = np.random.default_rng(44)
    for t in range(300):
        n = int(rng.integers(2, 8))
        kind = t % 4
        if kind == 0:
            mask = rng.random((n, n)) < rng.uniform(0.1, 0.6)
        elif kind == 1:
            mask = af._line_support(n, rng)
        elif kind == 2:
            mask = np.diag(rng.random(n) < 0.7)
        else:
            mask = np.fliplr(np.diag(rng.random(n) < 0.7))
        if not mask.any():
            continue
        a = np.where(mask, rng.integers(1, 1000, (n, n)), 0)
        line = _line_ref(a)
        assert af._line_sign(a) == line, a.tolist()
        assert af._status_exact(a) == _status_ref(a), a.tolist()
        printed = _printed_extreme(a)
        assert af._diagonal_sign(a) == ("undefined" if line == "undefined" else
                                        "interior" if printed == "not ±1" else printed), a.tolist()
        pts = np.argwhere(a != 0)
        unit = all(abs(int(p[0] - pts[0][0])) == abs(int(p[1] - pts[0][1])) for p in pts)
        assert af._unit_slope_sign(a) == (line if line not in ("+1", "-1") or unit else "interior"), a.tolist()


def test_well_definedness_helpers_are_their_definitions():
    """_two_rows_and_cols: the support meets >= 2 rows and >= 2 columns; _wd_cmp: err 1 iff 'both variances > 0'
    (Fraction moments) differs from the predicate given; _wd_replay: err 1 iff a variance vanishes."""
    rng = np.random.default_rng(45)
    for t in range(200):
        n = int(rng.integers(1, 6))
        a = np.where(rng.random((n, n)) < rng.uniform(0.05, 0.5), rng.integers(-9, 10, (n, n)), 0)
        if not a.any():
            continue
        pts = np.argwhere(a != 0)
        two = len(set(pts[:, 0])) >= 2 and len(set(pts[:, 1])) >= 2
        assert af._two_rows_and_cols(a) == two, a.tolist()
        _, vx, vy = _moments(np.abs(a).tolist())
        defined = vx > 0 and vy > 0
        assert af._wd_cmp(a).err == float(defined != two)
        assert af._wd_cmp(a, defined_iff=lambda A: True).err == float(not defined)
        assert af._wd_replay({"A": np.abs(a).tolist()}).err == float(not defined)


def test_in_range_exact_is_the_interval_test():
    """lo <= c / sqrt(vx vy) <= 1 (lo in {-1, 0}), endpoints excluded with ``strict``, decided by sympy exactly on
    integer triples around and at the endpoints (c^2 = vx vy)."""
    import sympy as sp

    triples = [(c, vx, vy) for vx in (1, 2, 4, 9) for vy in (1, 3, 4, 9) for c in range(-7, 8)]
    triples += [(6, 4, 9), (-6, 4, 9), (0, 5, 7)]
    for c, vx, vy in triples:
        rho = sp.Integer(c) / sp.sqrt(sp.Integer(vx * vy))
        for lo in (-1, 0):
            for strict in (False, True):
                want = bool(rho > lo and rho < 1) if strict else bool(rho >= lo and rho <= 1)
                assert af._in_range_exact(c, vx, vy, lo, strict) == want, (c, vx, vy, lo, strict)


def test_closed_form_eval_with_each_parts_is_its_formula():
    """_closed_form_eval(A, parts) = num / sqrt(denx deny) of the parts' exact (Fraction) value on |A| / max|A| (the
    printed form is of degree 0; the 'no mass' foil is not, so the normalisation is part of its definition), nan
    where rho is undefined; tolerance: each part's cancellation (sum of |terms| / |value|) times n^2 eps."""
    rng = np.random.default_rng(46)
    for parts in (af._printed_parts, af._parts_rows_twice, af._parts_no_mass):
        for t in range(40):
            n = int(rng.integers(1, 6))
            a = np.where(rng.random((n, n)) < 0.6, rng.integers(-50, 51, (n, n)), 0)
            if not a.any():
                continue
            e = int(rng.integers(-30, 30))
            got = af._closed_form_eval(a * 2.0 ** e, parts)  # a power of 2: |A| / max|A| is the same in floats
            top = int(np.abs(a).max())
            w = [[Fraction(abs(int(x)), top) for x in r] for r in a]
            _, vx, vy = _moments(np.abs(a).tolist())
            if vx == 0 or vy == 0:
                assert math.isnan(got)
                continue
            q, m = _q_and_m(w)
            num, dx, dy = parts(q, m)
            if dx * dy <= 0:
                assert math.isnan(got)
                continue
            ref = float(num) / math.sqrt(float(dx * dy))
            terms = [m * q("r1", "r1") + q("r1", "1") * q("1", "r1") + q("r1", "r1"),
                     m * q("r2", "1") + q("r1", "1") ** 2, m * q("1", "r2") + q("1", "r1") ** 2]
            cond = float(terms[0] / abs(num)) if num else 0.0
            cond += float(terms[1] / dx + terms[2] / dy)
            err = abs(got) if num == 0 else abs(got - ref)
            scale = abs(ref) * cond if num else float(terms[0]) / math.sqrt(float(dx * dy))
            assert err <= tol(n * n, scale=scale, kernels=4), (parts.__name__, a.tolist())


@pytest.mark.parametrize("n", [1, 2, 3])
def test_all_supports_enumerates_every_nonzero_01_matrix_once(n):
    """_all_supports(n) (the exhaustive well-definedness check's inputs): each of the 2^(n^2) - 1 nonzero 0/1
    n x n matrices exactly once."""
    got = [tuple(a.ravel().tolist()) for a in af._all_supports(n)]
    assert all(a.shape == (n, n) for a in af._all_supports(n))
    want = {t for t in itertools.product((0, 1), repeat=n * n) if any(t)}
    assert len(got) == len(set(got)) == len(want) and set(got) == want


def test_mp_rho_is_the_exact_correlation():
    """_mp_rho(A) = (rho, sigma_X, sigma_Y) of (X, Y) ~ |A_ij| / sum |A| from Fraction moments (to float64
    rounding: 50-digit mpmath then one conversion), None where a variance vanishes."""
    rng = np.random.default_rng(47)
    for t in range(60):
        n = int(rng.integers(1, 6))
        a = np.where(rng.random((n, n)) < 0.6, rng.integers(-30, 31, (n, n)), 0)
        if not a.any():
            continue
        got = af._mp_rho(a.astype(float))
        cov, vx, vy = _moments(np.abs(a).tolist())
        if vx == 0 or vy == 0:
            assert got is None
            continue
        m2 = Fraction(int(np.abs(a).sum())) ** 2
        want = (float(cov) / math.sqrt(float(vx * vy)), math.sqrt(float(vx / m2)), math.sqrt(float(vy / m2)))
        for g, w in zip(got, want):
            assert abs(g - w) <= 4 * EPS * abs(w) + EPS * EPS, (a.tolist(), got, want)


def test_definition_moments_and_symbolic_closed_form_differences():
    """_definition_moments(n): m^2 Cov, m^2 Var X, m^2 Var Y as polynomials in the symbols a_ij, equal to the
    Fraction moments at random integer points; _closed_form_symbolic: zero for the printed parts, and for a foil
    the polynomial whose value is (definition - foil part) at those points."""
    import sympy as sp

    rng = np.random.default_rng(48)
    for n in (2,):  # n = 3 costs ~2 s of sympy cancellation; every index / sign slip already shows at n = 2
        a, moments = af._definition_moments(n)
        assert a.shape == (n, n) and [str(s) for s in a] == [f"a{i + 1}{j + 1}" for i in range(n) for j in range(n)]
        diffs = {p: af._closed_form_symbolic(n, p, (a, moments))
                 for p in (af._printed_parts, af._parts_rows_twice, af._parts_no_mass)}
        assert diffs[af._printed_parts] == [0, 0, 0]
        for _ in range(4):
            vals = rng.integers(1, 20, (n, n))
            sub = {a[i, j]: int(vals[i, j]) for i in range(n) for j in range(n)}
            assert [sp.Rational(e.subs(sub)) for e in moments] == _moments(vals.tolist())
            q, m = _q_and_m(vals.tolist())
            for p, d in diffs.items():
                want = [x - y for x, y in zip(_moments(vals.tolist()), p(q, m))]
                assert [sp.Rational(e.subs(sub)) for e in d] == want, p.__name__


# -- Appendix F's input strategy: what weight_matrices promises -------------------------------------------

def _drawn(strategy, count=150):
    from hypothesis import HealthCheck, given, settings

    seen = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(a):
        seen.append(np.asarray(a))

    run()
    return seen


def test_weight_matrices_integer_mode_draws_weights_up_to_a_million():
    """integer=True: square nonzero int64 matrices, entries in {0} u [1, 10^6], not all 0/1 ('Integer weights
    (1..10^6) for exact checks')."""
    seen = _drawn(af.weight_matrices(integer=True))
    for a in seen:
        assert a.dtype == np.int64 and a.ndim == 2 and a.shape[0] == a.shape[1] and 1 <= a.shape[0] <= 7
        assert a.any() and a.min() >= 0 and a.max() <= 10**6
    assert max(int(a.max()) for a in seen) > 1000


def test_weight_matrices_float_mode_is_values_times_ten_to_e():
    """Floats: entries in [1e-12, 1 + 1e-3] (dynamic: 10^U(-12, 0); else U[0, 1) + 1e-3) times 10^E with E drawn
    from exp_range (here fixed, E = 7: 10.0**7 is exact), random signs with ``signed``; the largest entries reach
    the top of the range."""
    e = 7
    for signed in (False, True):
        seen = _drawn(af.weight_matrices(signed=signed, exp_range=(e, e)), 100)
        tops = []
        for a in seen:
            w = np.abs(a[a != 0]) / 10.0**e
            assert a.shape[0] == a.shape[1] and w.size
            assert w.min() >= 1e-12 * (1 - 4 * EPS) and w.max() <= (1 + 1e-3) * (1 + 4 * EPS), (signed, a)
            tops.append(w.max())
        assert max(tops) > 0.5
        assert any((a < 0).any() for a in seen) == signed


def _wm(k, mode, seed, *, integer=False, signed=False, e=7, p=0.3, ones=False):
    """weight_matrices' body with its draws scripted: size k, support mode, rng seed, sparse density p, integer
    weights 1..10^6 (else all ones), the scale exponent E = e."""
    s = af.weight_matrices(k, integer=integer, signed=signed, exp_range=(e, e)).wrapped_strategy

    def draw(strategy):
        r = repr(strategy)
        if r.startswith("just("):
            return k
        if r.startswith("sampled_from("):
            return mode
        if r.startswith("floats("):
            return p
        if r.startswith("booleans("):
            return not ones
        if r.startswith("integers(") and r == f"integers({e}, {e})" or r == f"integers(min_value={e}, max_value={e})":
            return e
        return seed  # the rng seed (S.seeds())

    return s.definition(draw, *s.args, **s.kwargs)


def test_weight_matrices_supports_and_values_by_mode():
    """Per mode, on many seeds: dense / dynamic fill every cell, with values U[0, 1) + 1e-3 (dense) or in
    [1e-12, 1] (dynamic), times 10^E; diagonal / antidiagonal / one-row / line supports have that shape (line:
    >= 2 collinear cells); integer weights lie in [1, 10^6] (or are all 1) on the same support as the float draw
    of the same seed; ``signed`` only flips signs of the same draw. (An empty support falls back to one random
    cell.)"""
    e = 7
    for mode in af.MODES:
        vals = []
        for seed in range(40):
            k = 2 + seed % 6
            a = _wm(k, mode, seed, e=e)
            w = a / 10.0**e
            sup = a != 0
            assert a.shape == (k, k) and sup.any() and (a >= 0).all(), (mode, seed)
            nz = w[sup]
            if mode == "dynamic":
                assert sup.all() and nz.min() >= 1e-12 * (1 - 4 * EPS) and nz.max() <= 1 + 4 * EPS
            else:
                assert nz.min() >= 1e-3 * (1 - 4 * EPS) and nz.max() < (1 + 1e-3) * (1 + 4 * EPS), (mode, seed)
            if mode == "dense":
                assert sup.all()
            one = sup.sum() == 1  # an empty mask falls back to one random cell, anywhere
            if mode == "diagonal" and not one:
                assert not (sup & ~np.eye(k, dtype=bool)).any()
            if mode == "antidiagonal" and not one:
                assert not (sup & ~np.fliplr(np.eye(k, dtype=bool))).any()
            if mode == "one-row":
                assert np.count_nonzero(sup.any(1)) == 1
            if mode == "line":
                pts = np.argwhere(sup)
                assert len(pts) >= 2 and np.linalg.matrix_rank((pts - pts[0]).astype(float)) == 1
            vals.extend(nz.tolist())
            s = _wm(k, mode, seed, e=e, signed=True)
            assert np.array_equal(np.abs(s), a)
            for ones in (False, True):
                b = _wm(k, mode, seed, integer=True, ones=ones)
                assert b.dtype == np.int64 and np.array_equal(b != 0, sup), (mode, seed)
                assert (b[sup] == 1).all() if ones else (b[sup] >= 1).all() and b.max() <= 10**6
        if mode in ("dense", "sparse"):
            assert len(set(vals)) == len(vals) and min(vals) < 0.05 and max(vals) > 0.95, mode


def test_band_figure_is_one_full_axes():
    """_band_figure draws one axes on a 1 x 1 grid (the whole figure)."""
    x = np.arange(1.0, 4.0)
    fig = fa._band_figure("t", [("a", x, x, 0.1 * x)])
    assert len(fig.axes) == 1
    spec = fig.axes[0].get_subplotspec()
    assert spec.get_gridspec().get_geometry() == (1, 1) and (spec.rowspan, spec.colspan) == (range(0, 1), range(0, 1))


def test_gap_kappa_is_s1_over_the_smallest_gap_of_the_top_values():
    """_gap_kappa(s, k) = s_1 / min_{i <= k+1} |s_i - s_{i+1}| over the first min(k + 2, len(s)) values (brute force
    over the pairs of consecutive values); s_1 / s_1 = 1 for a single value; inf on a tie."""
    rng = np.random.default_rng(49)
    for _ in range(50):
        s = np.sort(rng.uniform(0.1, 10, int(rng.integers(2, 12))))[::-1]
        for k in range(0, len(s) + 1):
            top = s[: min(k + 2, len(s))]
            g = min(abs(top[i] - top[i + 1]) for i in range(len(top) - 1))
            assert fa._gap_kappa(s, k) == s[0] / g
    assert fa._gap_kappa(np.array([2.5]), 3) == 1.0
    assert fa._gap_kappa(np.array([3.0, 2.0, 2.0, 1.0]), 1) == math.inf


def _one_full_axes(fig):
    assert len(fig.axes) == 1
    spec = fig.axes[0].get_subplotspec()
    return spec.get_gridspec().get_geometry() == (1, 1) and (spec.rowspan, spec.colspan) == (range(0, 1), range(0, 1))


def test_fig1_figure_is_one_full_axes(monkeypatch):
    """The Figure 1 analogue draws one axes filling the figure (1 x 1 grid)."""
    rng = np.random.default_rng(12)
    runs = []
    for _ in range(3):  # constructed G.1 runs: spectra rising from s0 towards a rank-10 task's sT
        sT = np.sort(rng.uniform(1.0, 5.0, 20))[::-1]
        sT[10:] = 0.0
        s0 = np.sort(rng.uniform(0.01, 0.2, 20))[::-1]
        frac = np.clip((np.arange(12)[:, None] + 1) / (1 + rng.permutation(20)[None, :] % 12), 0, 1)
        svals = -np.sort(-(s0 + frac * np.concatenate([sT[:10], 0.1 * s0[10:]])), axis=1)
        runs.append((SimpleNamespace(T=np.diag(sT)), SimpleNamespace(svals=svals, steps=np.arange(12) * 10)))
    monkeypatch.setattr(ft, "g1_runs", lambda ctx, kind="main": runs)
    out = ft._fig1_check(Context(claim_id="fig-1"), plot=True)
    assert _one_full_axes(out.figures["fig1_log_singular_values"])


def test_fig8_figure_is_one_full_axes(monkeypatch):
    """The Figure 8 analogue draws one axes filling the figure (1 x 1 grid)."""
    runs8 = _fake_runs(np.random.default_rng(89))
    monkeypatch.setattr(ft, "g1_runs", lambda ctx, kind="main": runs8)
    out = ft._fig8_check(Context(claim_id="fig-8"), plot=True)
    assert _one_full_axes(out.figures["fig8_spectrum"])
