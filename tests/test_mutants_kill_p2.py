"""Appendix B helpers that mutation testing found unguarded (issue 17, part 6; seed-4 survivors, helper p2).

Each test compares a whole helper with an independent computation of what it is defined to be (brute-force
Pfaffians, homogeneity of the SVD of a power under M -> cM), at its zeros and away from them, so any slip
in the helper fails here even where no claim verdict changes. Tolerances come from float64 eps and sizes.
"""

from __future__ import annotations

import itertools
import re

import mpmath
import numpy as np
import pytest

from checks.model import Context, Status
from checks.tolerance import tol
from tests.conftest import within
from theory.claims import app_b, app_b2

_PAIRS = app_b2._WEDGE_PAIRS
EPS = np.finfo(float).eps


class _TinyCtx(Context):
    """The quick profile's code path at a small budget (every int budget capped at 20)."""

    def pick(self, **per_profile):
        v = super().pick(**per_profile)
        return min(v, 20) if isinstance(v, int) else v


def _pfaffian(example) -> int:
    """Pf of the 4 x 4 skew matrix of x = sum_{(i,j) in example} e_i∧e_j (brute force over perfect matchings):
    x is elementary iff Pf(x) = x12 x34 - x13 x24 + x14 x23 = 0 (rank of the skew matrix <= 2)."""
    A = np.zeros((4, 4), dtype=np.int64)
    for i, j in example:
        A[i - 1, j - 1] += 1
        A[j - 1, i - 1] -= 1
    # brute force: rank over Q of the skew matrix is 4 iff det != 0 iff Pf != 0; Pf^2 = det
    det = round(np.linalg.det(A.astype(float)))
    pf = A[0, 1] * A[2, 3] - A[0, 2] * A[1, 3] + A[0, 3] * A[1, 2]
    assert pf * pf == det
    return int(pf)


def test_not_elementary_wedge_check_reads_the_pfaffian_of_every_example():
    """``_check_not_elementary_wedge(example=...)``: for every example made of one basis wedge or a sum of two
    distinct ones (21 cases), the reported Plücker value is the Pfaffian (brute force), and the verdict is
    VERIFIED (non-elementary) exactly when it is non-zero — e.g. e1∧e4 + e2∧e3 (Pf = 1) is not elementary,
    e1∧e2 + e1∧e3 (Pf = 0) is."""
    ctx = _TinyCtx("app-b.2.1/not-elementary")
    examples = [(p,) for p in _PAIRS] + list(itertools.combinations(_PAIRS, 2))
    seen = set()
    for ex in examples:
        out = app_b2._check_not_elementary_wedge(ctx, example=ex)
        pf = _pfaffian(ex)
        m = re.search(r"Plücker relation value (-?\d+)", out.summary)
        assert m and int(m.group(1)) == pf, (ex, out.summary)
        assert out.status is (Status.VERIFIED if pf != 0 else Status.REFUTED), (ex, out.summary)
        seen.add(pf)
    assert seen == {-1, 0, 1}


# -- SVD of a tensor / exterior power: the comparison is homogeneous in M ------------------------------------

def _spread(n: int, seed: int) -> np.ndarray:
    """Q1 diag(1, 1e-3, 1e-6, ...) Q2^T: s_1 far from every other singular value (a budget scaled by s_n or s_2
    instead of s_1 is too small by 1e3 or more)."""
    rng = np.random.default_rng(seed)
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q1 * 10.0 ** (-3.0 * np.arange(n))) @ q2.T


def _well_conditioned(n: int, seed: int) -> np.ndarray:
    """Q1 diag(1, 0.9, 0.8, ...) Q2^T: s_1^t and ||power M|| = s_1...s_t (or s_1^t) within a factor 2."""
    rng = np.random.default_rng(seed)
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q1 * (1 - 0.1 * np.arange(n))) @ q2.T


@pytest.mark.parametrize("which", ["tensor", "wedge", "tensor_sub", "wedge_sub"])
def test_power_svd_comparisons_are_homogeneous_in_the_scale_of_M(which):
    """power(cM) = c^t power(M), so the comparison's rounding budget must scale as c^t: at c = 2^±20 the true
    singular values are accepted, and values off by 30 rounding tolerances at the power's own scale
    ||power(M)||_2 (independent: the largest product s_I of numpy singular values) are rejected. A
    tolerance scale of the wrong degree in c (s_1^(t±1), ||M||, 1) fails one side at one of the two scales."""
    cmp, index_list = {"tensor": (app_b._cmp_svd_tensor, app_b.ten.multi_indices),
                       "wedge": (app_b2._cmp_svd_wedge, app_b2.ext.index_sets),
                       "tensor_sub": (app_b._cmp_svd_tensor_sub, app_b.ten.multi_indices),
                       "wedge_sub": (app_b2._pc_svd_wedge_sub.compare, app_b2.ext.index_sets)}[which]
    for n, t in [(2, 2), (3, 2), (3, 3)]:
        M0 = _well_conditioned(n, 10 * n + t)
        for e in (-20, 20):
            M = np.ldexp(M0, e)
            s = np.linalg.svd(M, compute_uv=False)
            idx = index_list(n, t)
            top = max(float(np.prod(s[list(I)])) for I in idx)
            good = cmp(M, t)
            assert good.ok, (which, n, t, e, good.detail)
            delta = 30 * tol(len(idx) + n, scale=top, kernels=2 * t) / top
            bad = cmp(M, t, value=lambda s_, I: app_b._sI_product(s_, I) * (1 + delta))
            assert not bad.ok, (which, n, t, e, bad.detail)
            # the budget is rounding at s_1^t, the size of power(M)'s entries: the truth passes on a spread
            # spectrum too (a budget at s_n^t or s_2^t would be 1e3 times too small)
            S = np.ldexp(_spread(n, 3 * n + t), e)
            assert cmp(S, t).ok, (which, n, t, e, cmp(S, t).detail)


@pytest.mark.parametrize("which", ["tensor", "wedge"])
def test_top_comparisons_are_homogeneous_in_the_scale_of_M(which):
    """``_top_cmp`` (app-b.1.2/top, app-b.2.2/top): at c = 2^±20 the true top singular value of the power
    (independent: s_1^t, resp. s_1...s_t from numpy singular values) is accepted, and a value off by 30
    rounding tolerances at that scale is rejected, so the budget scales as c^t like power(cM) = c^t power(M)."""
    pc, size = {"tensor": (app_b._pc_top_tensor, lambda n, t: n**t),
                "wedge": (app_b2._pc_top_wedge, lambda n, t: len(app_b2.ext.index_sets(n, t)))}[which]
    for n, t in [(2, 2), (3, 2), (3, 3)]:
        M0 = _well_conditioned(n, 7 * n + t)
        for e in (-20, 20):
            M = np.ldexp(M0, e)
            s = np.linalg.svd(M, compute_uv=False)
            top = float(s[0] ** t) if which == "tensor" else float(np.prod(s[:t]))
            assert pc.compare(M, t).ok, (which, n, t, e)
            delta = 30 * tol(size(n, t) + n, scale=top, kernels=2 * t + 2) / top
            true = (lambda smp, t_: smp[0] ** t_) if which == "tensor" else (lambda smp, t_: mpmath.fprod(smp[:t_]))
            bad = pc.compare(M, t, value=lambda smp, t_: true(smp, t_) * (1 + delta))
            assert not bad.ok, (which, n, t, e, bad.detail)
            S = np.ldexp(_spread(n, 3 * n + t), e)
            assert pc.compare(S, t).ok, (which, n, t, e, pc.compare(S, t).detail)


# -- 'exactly': singular subspaces of a power, grouped by equal products -------------------------------------

def _with_spectrum(s, seed):
    rng = np.random.default_rng(seed)
    n = len(s)
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q1 * np.asarray(s, float)) @ q2.T


@pytest.mark.parametrize("which", ["tensor", "wedge"])
@pytest.mark.parametrize("s", [(4.0, 2.0, 1.0), (6.0, 3.0, 2.0, 1.0), (5.0, 3.0, 2.0, 1.5), (2.0, 2.0, 1.0),
                               (2.0, 1.0 + 2.0**-20, 1.0), (3.0, 1.0 + 2.0**-18, 1.0, 0.5)])
def test_subspace_comparison_groups_equal_products_and_rejects_its_foils(which, s):
    """``_subspace_cmp`` on M = Q1 diag(s) Q2^T (non-symmetric, exact ties s_I = s_J built in, e.g. 4·1 = 2·2):
    the number of groups is the number of distinct products s_I (near ties 2^-20 apart, far above the
    grouping threshold sqrt(eps)·scale, stay apart; their subspaces are computed only to eps·scale/gap, which
    the Wedin budget with the gap to BOTH neighbouring groups must allow) (brute force over the index sets, exact in
    floats: small integers / halves); the truth is accepted; the sums s_{i_1} + ... (where they give another
    multiset), u_I on the right, and the literal 'every singular vector elementary' (where some group has two
    members, whose mean (u_I + u_J)/√2 is not elementary) are rejected."""
    cmp, index_list = {"tensor": (app_b._cmp_svd_tensor_sub, app_b.ten.multi_indices),
                       "wedge": (app_b2._pc_svd_wedge_sub.compare, app_b2.ext.index_sets)}[which]
    n = len(s)
    for t in (2, 3):
        idx = index_list(n, t)
        if not idx:
            continue
        M = _with_spectrum(s, 100 * n + t)
        prods = sorted({float(np.prod([s[i] for i in I])) for I in idx}, reverse=True)
        sums = sorted(float(sum(s[i] for i in I)) for I in idx)
        true = cmp(M, t)
        assert true.ok and true.detail["groups"] == len(prods), (which, s, t, true.detail, prods)
        if sums != sorted(float(np.prod([s[i] for i in I])) for I in idx):
            assert not cmp(M, t, value=app_b._sI_sum).ok, (which, s, t)
        # u_I on the right: wrong wherever a group is a proper subspace (one group = the whole space: vacuous)
        assert cmp(M, t, right_u=True).ok == (len(prods) == 1), (which, s, t)
        sizes = [sum(1 for I in idx if float(np.prod([s[i] for i in I])) == p) for p in prods]
        lit = cmp(M, t, literal=True)
        if which == "wedge" and len(s) == 3:
            # ∧^2 R^3 ≅ R^3 (every wedge of ∧^2 R^3, ∧^3 R^3 is elementary): the literal reading holds
            assert lit.ok, (which, s, t, lit.detail)
        else:
            assert lit.ok == (max(sizes) == 1), (which, s, t, sizes, lit.detail)


@pytest.mark.parametrize("which", ["tensor", "wedge"])
def test_power_svd_comparison_reports_s1_cond_and_handles_a_subfamily(which):
    """``_power_svd_cmp``: the reported s1 and cond are s_1 and s_1/s_n of M (mpmath), cond 'inf' (or beyond
    1/eps) when M is singular; with the ``indices`` knob (a proper sub-family of the u_I, the missing ones
    predicted 0) the comparison returns a verdict instead of raising: failing unless every missing s_I is 0."""
    cmp, index_list = {"tensor": (app_b._cmp_svd_tensor, app_b.ten.multi_indices),
                       "wedge": (app_b2._cmp_svd_wedge, app_b2.ext.index_sets)}[which]
    for s, t in [((5.0, 2.0, 0.5), 2), ((3.0, 1.0, 0.0), 2), ((4.0, 3.0, 2.0, 0.25), 2)]:
        M = _with_spectrum(s, 31 + len(s))
        with mpmath.workdps(30):
            sv = sorted((float(x) for x in mpmath.svd_r(mpmath.matrix(M.tolist()), compute_uv=False)), reverse=True)
        out = cmp(M, t)
        assert out.ok, out.detail
        assert within(abs(out.detail["s1"] - sv[0]), tol(len(s), scale=sv[0], kernels=2), "s1")
        if s[-1] == 0:
            assert out.detail["cond"] == "inf" or out.detail["cond"] > 1 / (len(s) * EPS)
        else:
            c = sv[0] / sv[-1]
            assert within(abs(out.detail["cond"] - c), tol(len(s), scale=c, kappa=c, kernels=4), "cond")
        full = list(index_list(len(s), t))
        half = full[:len(full) // 2]
        sub = cmp(M, t, indices=lambda n_, t_: half)
        # a missing u_I is harmless exactly when its product s_I is 0 (then it is predicted right)
        missing_zero = all(np.prod([s[i] for i in I]) == 0 for I in full[len(full) // 2:])
        assert sub.ok == missing_zero, (s, t, sub.detail)


def _rot(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def test_fixed_svd_inputs_are_the_matrices_their_descriptions_print():
    """The fixed stress inputs of the SVD claims are rebuilt from their printed descriptions (R(θ) the
    rotation by θ, ⊗ the Kronecker product): the matrix, its singular values (mpmath), non-symmetry and
    the ties the descriptions name (s_1 s_2 = s_2 s_1 for ⊗; s_1 s_4 = s_2 s_3 for ∧)."""
    num = r"([-+]?\d+(?:\.\d*)?)"
    cases = [(app_b._FIXED_TENSOR[0]["M"], app_b._FIXED_WHY_TENSOR),
             (app_b._FIXED_WEDGE[0]["M"], app_b._FIXED_WHY_WEDGE),
             (app_b2._FIXED_REM[0]["M"], app_b2._FIXED_WHY_REM)]
    for M, why in cases:
        th = [float(x) for x in re.findall(r"R\(" + num + r"\)", why)]
        d = [float(x) for x in re.search(r"diag\(([^)]*)\)", why).group(1).split(",")]
        if len(th) == 2:
            ref = _rot(th[0]) @ np.diag(d) @ _rot(th[1]).T
        else:
            ref = np.kron(_rot(th[0]), _rot(th[1])) @ np.diag(d) @ np.kron(_rot(th[2]), _rot(th[3])).T
        assert M.shape == ref.shape
        assert within(np.max(np.abs(M - ref)), tol(len(d), scale=max(d), kernels=4), why)
        with mpmath.workdps(30):
            sv = sorted((float(x) for x in mpmath.svd_r(mpmath.matrix(M.tolist()), compute_uv=False)), reverse=True)
        assert within(np.max(np.abs(np.array(sv) - np.array(sorted(d, reverse=True)))),
                      tol(len(d), scale=max(d), kernels=4), why)
        assert np.max(np.abs(M - M.T)) > 0.1 * max(d), why
        if len(d) == 4:
            assert d[0] * d[3] == d[1] * d[2], why


def test_conv_fixed_inputs_are_unit_families_as_printed():
    """``_CONV_FIXED`` (app-b.2.3/convergence-iff-alignment): V = I_2 and W = (e1, (e1+e2)/√2) (unit, not
    orthonormal, same plane), resp. W = (e2, e1) (the opposite orientation), as ``_CONV_FIXED_WHY`` prints;
    every column a unit vector (the printed hypothesis), each family independent."""
    r = 1 / np.sqrt(2.0)
    want = [np.array([[1.0, r], [0.0, r]]), np.array([[0.0, 1.0], [1.0, 0.0]])]
    assert "(e1+e2)/√2" in app_b2._CONV_FIXED_WHY and "(e2, e1)" in app_b2._CONV_FIXED_WHY
    assert len(app_b2._CONV_FIXED) == 2
    for case, W in zip(app_b2._CONV_FIXED, want):
        assert np.array_equal(case["V"], np.eye(2))
        assert within(np.max(np.abs(case["W"] - W)), tol(2), "W")
        for F in (case["V"], case["W"]):
            assert within(np.max(np.abs(np.linalg.norm(F, axis=0) - 1)), tol(2), "unit columns")
            assert abs(np.linalg.det(F)) > 0.5
    # opposite orientation: det(V^T W) = -1
    assert within(abs(np.linalg.det(app_b2._CONV_FIXED[1]["W"]) + 1), tol(2), "orientation")



def test_rem_b5_comparison_is_homogeneous_in_the_scale_of_M():
    """``_rem_b5_cmp``: ||∧^t (cM)|| = c^t s_1...s_t for every t, so at c = 2^±20 the truth is accepted with
    every ratio ||∧^t M|| / ||∧^(t-1) M|| recovering s_t to rounding, and a value off by 30 rounding
    tolerances at the power's own scale s_1...s_t (independent: numpy singular values) is rejected."""
    for n in (2, 3, 4):
        M0 = _well_conditioned(n, 5 + n)
        for e in (-20, 20):
            M = np.ldexp(M0, e)
            s = np.linalg.svd(M, compute_uv=False)
            out = app_b2._rem_b5_cmp(M)
            assert out.ok, (n, e, out.detail)
            assert within(out.detail["max_rel_ratio_error"], tol(n * n, kernels=8 * n), "ratios")
            rel = max(30 * tol(len(app_b2.ext.index_sets(n, t)) + n, scale=1.0, kernels=2 * t + 2)
                      for t in range(1, n + 1))
            bad = app_b2._rem_b5_cmp(M, value=lambda smp, t: mpmath.fprod(smp[:t]) * (1 + rel))
            assert not bad.ok, (n, e, bad.detail, float(np.prod(s)))
            # wrong at the last t = n only: every t = 1..n is compared
            last = app_b2._rem_b5_cmp(M, value=lambda smp, t: mpmath.fprod(smp[:t]) * (1 + rel * (t == n)))
            assert not last.ok and last.detail["t"] == n, (n, e, last.detail)


def test_rem_b5_comparison_budget_follows_s1_on_a_spread_spectrum():
    """``_rem_b5_cmp`` on spectra spread over 8 decades (s_1 = 1, the others down to 1e-8): the truth is
    accepted, the ratios recover s_t relative to s_1, and the budget at t is rounding at s_1^t, the size of the
    entries of ∧^t M — so a value off by 30 such tolerances at some t is rejected."""
    for n, spec in ((3, (1.0, 1e-4, 1e-8)), (4, (1.0, 1e-2, 1e-5, 1e-8))):
        M = _with_spectrum(spec, 40 + n)
        out = app_b2._rem_b5_cmp(M)
        assert out.ok, out.detail
        assert within(out.detail["max_rel_ratio_error"], tol(n * n, kappa=1e8, kernels=8 * n), "ratios")
        for t in range(1, n + 1):
            big = 30 * tol(len(app_b2.ext.index_sets(n, t)) + n, scale=1.0, kernels=2 * t + 2)
            bad = app_b2._rem_b5_cmp(M, value=lambda smp, t_: mpmath.fprod(smp[:t_]) + big * (t_ == t))
            assert not bad.ok and bad.detail["t"] == t, (n, t, bad.detail)


def test_ratio_row_is_the_absolute_error_against_the_tolerance():
    """``_ratio_row`` (every detector-panel row): err = |got - want| on both sides of the truth, ok iff
    err <= tol (equality included), the inputs reported unchanged."""
    for got, want, tl in [(0.25, 0.5, 0.125), (0.5, 0.25, 0.25), (0.75, 0.75, 0.0), (-1.0, 1.0, 2.0),
                          (1.0, -1.0, 1.5), (0.0, 0.7071067811865476, 1e-15)]:
        row = app_b._ratio_row("x", got, want, tl)
        assert row["err"] == abs(got - want)
        assert row["ok"] is (abs(got - want) <= tl)
        assert (row["input"], row["defect"], row["truth"], row["tol"]) == ("x", got, want, tl)


def test_coef_wedge_comparison_through_an_entry_formula():
    """``_coef_wedge_cmp(M, t, entry=...)`` (the foils' path of app-b.2.2/coefficients): with the printed
    entry det M^{I,J} (``_minor_entry``) it accepts, like the mpmath path; with the transposed minor
    det M^{J,I} it rejects wherever ∧^t M is not symmetric (t < n, M non-symmetric); with the tensor formula
    prod_k M[i_k, j_k] it rejects for t >= 2 (the compound is not the diagonal product)."""
    rng = np.random.default_rng(17)
    for n in (2, 3, 4):
        M = rng.standard_normal((n, n))
        for t in range(1, n + 1):
            assert app_b2._coef_wedge_cmp(M, t).ok
            assert app_b2._coef_wedge_cmp(M, t, entry=app_b2._minor_entry).ok, (n, t)
            tr = app_b2._coef_wedge_cmp(M, t, entry=lambda m, I, J: app_b2._minor_entry(m, J, I))
            assert tr.ok == (t == n), (n, t, tr)
            if t >= 2:
                assert not app_b2._coef_wedge_cmp(M, t, entry=app_b._entry_printed).ok, (n, t)


def test_conv_corrected_unit_if_bound_holds_for_orthonormal_families():
    """``_conv_corrected_cmp(..., unit_if=True)``: the foil's 'if' bound min_±||v∧ ∓ w∧|| <= sqrt(2t) sin θ_max
    is true for orthonormal families (unit and orthogonal: the wedges are the normalised ones), so on a plane
    of R^3 / R^4 rotated by θ = 1e-3 .. 1 the comparison accepts; it fails only for unit non-orthonormal
    families (the fixed input _CONV_FIXED[0])."""
    for n, t in ((3, 2), (4, 2), (4, 3)):
        V = np.eye(n)[:, :t]
        for th in (1e-3, 0.1, 1.0):
            R = np.eye(n)
            R[[0, 0, n - 1, n - 1], [0, n - 1, 0, n - 1]] = [np.cos(th), -np.sin(th), np.sin(th), np.cos(th)]
            W = R @ V
            out = app_b2._conv_corrected_cmp(V, W, unit_if=True)
            assert out.ok, (n, t, th, out.detail)
    assert not app_b2._conv_corrected_cmp(**app_b2._CONV_FIXED[0], unit_if=True).ok
