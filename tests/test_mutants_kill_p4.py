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
