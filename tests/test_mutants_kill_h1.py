"""Mutation blind spots (issue 17, part 6, helper h1): theory.tensor, theory.exterior and helpers of
theory.claims.app_b2 / app_c, each compared whole with an independent computation from its definition,
at its zeros and away from them.

Tolerances: ``checks.tolerance.tol`` from float64 eps, operation counts and the size of the numbers; exact
(==) where the computation is exact (integers, Fractions, signs).
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest

from checks.model import REGISTRY
from checks.property import PropertyCheck
from checks.tolerance import tol
from conftest import within
from theory import alignment as al
from theory import exterior as ext
from theory import lyapunov
from theory import tensor as ten
from theory.claims import app_b, app_b2, app_c  # noqa: F401  (imported once: registers their claims)


# ---------------------------------------------------------------------------------------------------
# theory.tensor.elementary_defect: max over ALL t mode unfoldings of s_2, relative to ||x||
# ---------------------------------------------------------------------------------------------------

def _defect_by_gram(x, n, t):
    """s_2 of the mode-k unfolding is sqrt(lambda_2) of the n x n Gram matrix sum over the other slots
    x[.., i, ..] x[.., j, ..] (an einsum contraction, no reshape); the max over k, over ||x||."""
    cube = np.asarray(x, dtype=np.float64).reshape((n,) * t)
    worst = 0.0
    letters = "abcdefgh"
    for k in range(t):
        a = "".join(letters[m] if m != k else "y" for m in range(t))
        b = "".join(letters[m] if m != k else "z" for m in range(t))
        G = np.einsum(f"{a},{b}->yz", cube, cube)
        ev = np.sort(np.linalg.eigvalsh(G))[::-1]
        worst = max(worst, math.sqrt(max(ev[1], 0.0)) if n > 1 else 0.0)
    return worst / np.linalg.norm(x)


@pytest.mark.parametrize("n,t", [(1, 3), (2, 1), (2, 2), (2, 3), (3, 3), (2, 4), (3, 4), (4, 3)])
def test_elementary_defect_is_the_largest_second_singular_value_over_every_unfolding(n, t):
    rng = np.random.default_rng(1000 * n + t)
    for trial in range(6):
        x = rng.standard_normal(n**t)
        if trial % 2:  # one slot far more entangled than the others: the max must see every slot
            k = trial % t
            vs = [rng.standard_normal(n) for _ in range(t)]
            y = ten.elementary_tensor(*vs).reshape((n,) * t)
            y = y + np.moveaxis(np.moveaxis(y, k, 0)[::-1], 0, k) * 0.9
            x = y.ravel() + 0.01 * x
        got = ten.elementary_defect(x, n, t)
        want = _defect_by_gram(x, n, t)
        # the Gram route squares: its error is eps * ||x||^2 / s_2, relative to ||x||
        e = tol(n**t, kernels=2 * t + 2) * (1 + 1 / max(want, math.sqrt(np.finfo(float).eps)))
        assert within(abs(got - want), e, "elementary_defect"), (n, t, trial, got, want)
    # at its zero: an elementary tensor; and a GHZ tensor (every unfolding has s = (1, 1)/sqrt 2)
    vs = [rng.standard_normal(n) for _ in range(t)]
    assert within(ten.elementary_defect(ten.elementary_tensor(*vs), n, t), tol(n**t, kernels=2 * t + 2))
    if n >= 2 and t >= 2:
        ghz = np.zeros((n,) * t)
        ghz[(0,) * t] = ghz[(1,) * t] = 1.0
        assert within(abs(ten.elementary_defect(ghz.ravel(), n, t) - 1 / math.sqrt(2)), tol(n**t, kernels=2 * t))


def test_elementary_defect_sees_a_slot_that_only_it_entangles_with_the_rest():
    """Three 3-slot states, each with one entangled pair of slots ((1,2), (0,1), (0,2)) and defect 1/√2:
    each leaves one unfolding of rank 1, so a defect that skipped a slot would still be seen on one of them;
    then random 3 x 3 x 3 tensors against the unfoldings built index by index (tensor.unfolding_by_indices)."""
    e0, e1 = np.eye(2)
    a = (np.kron(e0, np.kron(e0, e0)) + np.kron(e0, np.kron(e1, e1))) / math.sqrt(2)
    b = (np.kron(e0, np.kron(e0, e0)) + np.kron(e1, np.kron(e1, e0))) / math.sqrt(2)
    c = (np.kron(e0, np.kron(e0, e0)) + np.kron(e1, np.kron(e0, e1))) / math.sqrt(2)
    for x in (a, b, c):
        assert within(abs(ten.elementary_defect(x, 2, 3) - 1 / math.sqrt(2)), tol(8, kernels=8))
    # a tensor whose three unfoldings have three different s_2: the defect is the largest of them
    rng = np.random.default_rng(7)
    for _ in range(10):
        x = rng.standard_normal(27)
        unf = [np.linalg.svd(np.array(ten.unfolding_by_indices(x.tolist(), 3, 3, k), dtype=float),
                             compute_uv=False)[1] for k in range(3)]
        want = max(unf) / np.linalg.norm(x)
        assert within(abs(ten.elementary_defect(x, 3, 3) - want), tol(27, kernels=8)), (unf, want)


# ---------------------------------------------------------------------------------------------------
# theory.exterior: wedge_map (v -> v ∧ x), decomposability_defect, perm_sign, leibniz_det, minors
# ---------------------------------------------------------------------------------------------------

def _wedge_map_by_plucker(x, n, t):
    """Column k = sum_J x_J (e_k ∧ e_J), each e_k ∧ e_J the Plücker coordinates (determinants) of
    [e_k, e_{j_1}, ..., e_{j_t}]: linearity of the wedge plus theory.exterior.wedge, no sign rule."""
    eye = np.eye(n)
    sets = ext.index_sets(n, t)
    cols = []
    for k in range(n):
        v = np.zeros(math.comb(n, t + 1)) if t + 1 <= n else np.zeros(0)
        for xJ, J in zip(x, sets):
            if t + 1 <= n:
                v = v + xJ * ext.wedge(eye[k], *[eye[j] for j in J])
        cols.append(v)
    return np.stack(cols, axis=1) if cols else np.zeros((0, n))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_wedge_map_is_v_wedge_x_by_linearity_and_determinants(n):
    rng = np.random.default_rng(n)
    for t in range(1, n + 1):
        x = rng.integers(-5, 6, math.comb(n, t)).astype(float)
        got = ext.wedge_map(x, n, t)
        want = _wedge_map_by_plucker(x, n, t)
        assert got.shape == (math.comb(n, t + 1) if t + 1 <= n else 0, n)
        assert within(np.max(np.abs(got - want), initial=0.0), tol(n, scale=np.max(np.abs(x)), kernels=t + 2))
        # and the ring-generic reference (exact, integers)
        ref = ext.wedge_map_by_expansion([int(v) for v in x], n, t)
        assert np.array_equal(got, np.array(ref, dtype=float).reshape(got.shape))


def test_decomposability_defect_zero_on_wedges_and_positive_off_them():
    rng = np.random.default_rng(3)
    for n in range(2, 6):
        for t in range(1, n):
            V = rng.standard_normal((n, t))
            x = ext.plucker(V)
            assert within(ext.decomposability_defect(x, n, t), tol(math.comb(n, t) + n, kernels=2 * t + 2))
            # definition: the (n-t)-th singular value (0-based n - t) of the independent map, over ||x||
            y = rng.standard_normal(math.comb(n, t))
            s = np.linalg.svd(_wedge_map_by_plucker(y, n, t), compute_uv=False)
            s = np.concatenate([s, np.zeros(max(0, n - s.size))])
            want = s[n - t] / np.linalg.norm(y)
            assert within(abs(ext.decomposability_defect(y, n, t) - want), tol(n + math.comb(n, t), kernels=t + 3))
    # the standard symplectic form e0∧e1 + e2∧e3 (n = 4) is not a wedge: v -> v ∧ x is injective
    x = np.zeros(6)
    sets = ext.index_sets(4, 2)
    x[sets.index((0, 1))] = x[sets.index((2, 3))] = 1.0
    assert ext.decomposability_defect(x, 4, 2) > 0.5


def _sign_by_cycles(p):
    """(-1)^(n - number of cycles) of the permutation (ranks of the items)."""
    order = sorted(p)
    q = [order.index(v) for v in p]
    seen, cycles = [False] * len(q), 0
    for i in range(len(q)):
        if not seen[i]:
            cycles += 1
            j = i
            while not seen[j]:
                seen[j] = True
                j = q[j]
    return -1 if (len(q) - cycles) % 2 else 1


def test_perm_sign_is_the_cycle_parity_on_every_permutation_up_to_6():
    for k in range(0, 7):
        for p in itertools.permutations(range(k)):
            assert ext.perm_sign(p) == _sign_by_cycles(p), p
    # distinct sortable items that are not 0..k-1
    assert ext.perm_sign([10, 3, 7]) == _sign_by_cycles([10, 3, 7]) == 1
    assert ext.perm_sign(["b", "a"]) == -1


def test_leibniz_det_and_generic_minors_are_exact_determinants():
    import sympy as sp

    rng = np.random.default_rng(11)
    for k in range(0, 6):
        a = rng.integers(-4, 5, (k, k)).tolist()
        want = sp.Matrix(a).det() if k else 1
        assert ext.leibniz_det(a) == want
    a = rng.integers(-3, 4, (4, 5))
    for t in range(1, 5):
        got = ext.minors_generic(a.tolist(), t)
        rows, cols = ext.index_sets(4, t), ext.index_sets(5, t)
        want = [[sp.Matrix(a[np.ix_(I, J)].tolist()).det() for J in cols] for I in rows]
        assert got == want
        assert within(np.max(np.abs(ext.exterior_power(a, t) - np.array(want, dtype=float))),
                      tol(t, scale=float(np.max(np.abs(want), initial=1)), kernels=t + 2))


# ---------------------------------------------------------------------------------------------------
# theory.claims.app_b2: the 'normalisation off' foil perturbs by exactly its declared size
# ---------------------------------------------------------------------------------------------------

def _compare_of(check):
    fn = getattr(check, "prop", check)
    return fn.compare if isinstance(fn, PropertyCheck) else fn


def test_scaled_basis_foils_perturb_the_gram_matrix_by_their_declared_relative_size():
    """A foil 'orthogonal basis with ||e_i|| = 1 + size' must run with that scale: on Q = I the wedges
    q_I then have Gram (1 + size)^(2t) I, so the comparison's error is (1 + size)^(2t) - 1."""
    found = 0
    for cid, c in REGISTRY.items():
        if not cid.startswith("app-b."):
            continue
        for form in (c, getattr(c, "corrected", None)):
            for f in getattr(form, "foils", ()) or ():
                cmp = _compare_of(f.check)
                if "scale" not in (getattr(cmp, "keywords", None) or {}):
                    continue
                found += 1
                assert f.unit == "relative" and f.size > 0
                assert f"= {1 + f.size:g}" in f.statement, f.statement
                for n in (1, 3):
                    for t in range(1, n + 1):
                        got = cmp(Q=np.eye(n), t=t).err
                        want = (1 + f.size) ** (2 * t) - 1
                        assert within(abs(got - want), tol(math.comb(n, t), scale=want + 1, kernels=t + 2)), (cid, n, t)
    assert found >= 1


# ---------------------------------------------------------------------------------------------------
# theory.claims.app_c._c5_cells: every (n, p, sigma, r, i <= r) cell, lambda_i - lambda_(i-1), gamma_i
# ---------------------------------------------------------------------------------------------------

def test_c5_cells_cover_every_i_up_to_r_with_consecutive_differences(monkeypatch):
    def fake_lam(i, n, p, sigma, r):  # at 30 digits, as the real _mp_lam: independent of the global precision
        with mp.workdps(30):
            return mp.mpf(i) ** 2 * (1 + p) + n * sigma + r / 7

    monkeypatch.setattr(app_c, "_mp_lam", fake_lam)
    monkeypatch.setattr(lyapunov, "gamma", lambda n, p, sigma, r: np.array([1000.0 * n + r + k for k in range(r)]))
    cells = app_c._c5_cells()
    keys = [(n, p, s, r, i) for n, p, s, r, i, _, _ in cells]
    want_keys = [(n, p, s, r, i) for n in (1, 2, 5, 9, 16) for p in (0.1, 0.5, 0.93) for s in (0.01, 1.0, 30.0)
                 for r in sorted({1, max(1, n // 2), n}) for i in range(1, r + 1)]
    assert keys == want_keys
    for n, p, s, r, i, diff, lib in cells:
        prev = fake_lam(i - 1, n, p, s, r) if i > 1 else mp.mpf(0)
        with mp.workdps(30):  # the difference _c5_cells takes, at its 30 digits
            want = fake_lam(i, n, p, s, r) - prev
        assert diff == want, (n, p, s, r, i)
        assert lib == 1000.0 * n + r + (i - 1)


# ---------------------------------------------------------------------------------------------------
# ring-generic references of theory.tensor / theory.exterior against each other and numpy/sympy (exact)
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,t", [(1, 2), (2, 1), (2, 3), (3, 2), (3, 3), (4, 2)])
def test_tensor_references_agree_with_kron_exactly(n, t):
    from functools import reduce

    rng = np.random.default_rng(10 * n + t)
    vs = [rng.integers(-4, 5, n) for _ in range(t)]
    kron = reduce(np.kron, vs)
    assert ten.tensor_by_expansion([v.tolist() for v in vs]) == kron.tolist()
    assert np.array_equal(ten.elementary_tensor(*vs), kron)
    m = rng.integers(-3, 4, (n, n))
    want = reduce(np.kron, [m] * t)
    assert np.array_equal(ten.tensor_power(m, t), want)
    assert ten.tensor_power_by_expansion(m.tolist(), t) == want.tolist()
    assert ten.tensor_power_by_formula(m.tolist(), t) == want.tolist()
    # the index-by-index unfolding: entry (i_k, rest) is the coordinate of e_I
    x = rng.integers(-9, 10, n**t).tolist()
    idx = ten.multi_indices(n, t)
    assert idx == sorted(idx) and len(idx) == n**t
    rest = ten.multi_indices(n, t - 1) if t > 1 else [()]
    for k in range(t):
        unf = ten.unfolding_by_indices(x, n, t, k)
        for val, I in zip(x, idx):
            assert unf[I[k]][rest.index(I[:k] + I[k + 1:])] == val


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_wedge_references_agree_with_sympy_minors(n):
    import sympy as sp

    rng = np.random.default_rng(20 + n)
    for t in range(1, n + 2):
        vs = [rng.integers(-3, 4, n).tolist() for _ in range(t)]
        V = sp.Matrix(n, t, lambda i, k: vs[k][i])
        want = [V.extract(list(I), list(range(t))).det() for I in ext.index_sets(n, t)] if t <= n else []
        assert ext.plucker_generic(vs) == want
        assert ext.wedge_by_expansion(vs) == want
        if t <= n:
            assert np.array_equal(np.rint(ext.wedge(*[np.array(v, float) for v in vs])),
                                  np.array(want, dtype=float))
    m = rng.integers(-3, 4, (n, n))
    for t in range(1, n + 1):
        want = ext.minors_generic(m.tolist(), t)
        assert ext.exterior_power_by_expansion(m.tolist(), t) == want
        assert np.array_equal(np.rint(ext.exterior_power(m.astype(float), t)), np.array(want, dtype=float))


def test_subspace_cosine_and_projector_distance_from_principal_angles():
    rng = np.random.default_rng(5)
    for n, t in [(3, 1), (4, 2), (5, 2), (6, 3)]:
        for _ in range(4):
            V, W = rng.standard_normal((n, t)), rng.standard_normal((n, t))
            th = ext.principal_angles(V, W)
            QV, QW = np.linalg.qr(V)[0], np.linalg.qr(W)[0]
            cos = np.linalg.svd(QV.T @ QW, compute_uv=False)
            assert within(np.max(np.abs(np.sort(np.cos(th))[::-1] - cos)), tol(n, kernels=6))
            assert within(abs(ext.subspace_cosine(V, W) - np.prod(cos)), tol(n, kernels=4 * t))
            PD = np.linalg.norm(QV @ QV.T - QW @ QW.T, 2)
            assert within(abs(ext.projector_distance(V, W) - PD), tol(n, kernels=8))
            assert within(abs(ext.projector_distance(V, W) - np.sin(np.max(th))), tol(n, kernels=8))
            # the induced dot product of the normalised wedges (Appendix B.2.3)
            wv, ww = ext.plucker(V), ext.plucker(W)
            want = abs(wv @ ww) / (np.linalg.norm(wv) * np.linalg.norm(ww))
            assert within(abs(ext.subspace_cosine(V, W) - want), tol(math.comb(n, t), kernels=4 * t))
            assert within(abs(ext.wedge_inner(V, W) - wv @ ww), tol(math.comb(n, t), scale=np.linalg.norm(wv) * np.linalg.norm(ww), kernels=2 * t))


# ---------------------------------------------------------------------------------------------------
# theory.alignment: the LDL^T family, the predicted limits and the ladder's closed forms, by definition
# ---------------------------------------------------------------------------------------------------

def _spd(rng, n, cond=1e3):
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return (Q * np.geomspace(1.0, 1.0 / cond, n)) @ Q.T


def test_ldl_family_reconstructs_and_its_pivots_are_leading_minor_ratios():
    rng = np.random.default_rng(17)
    for n in range(1, 6):
        C = _spd(rng, n) + np.diag(rng.uniform(0, 0.1, n))
        for r in range(1, n + 1):
            Cr = C[:r, :r]
            dets = [1.0] + [np.linalg.det(C[:i, :i]) for i in range(1, r + 1)]
            ratios = np.array([dets[i] / dets[i - 1] for i in range(1, r + 1)])
            kap = np.linalg.cond(Cr)
            e = tol(r, kappa=kap, scale=1.0, kernels=2 * r + 2)
            assert within(np.max(np.abs(al.leading_minor_ratios(C, r) - ratios) / np.abs(ratios)), e)
            for T, d in (al.ldl_unit(Cr), al.ldl_unit_mp(Cr)[:2], al.ldl_unit_batch(Cr[None])):
                T, d = np.asarray(T).reshape(r, r), np.asarray(d).reshape(r)
                assert np.array_equal(np.diag(T), np.ones(r)) and np.array_equal(np.triu(T, 1), np.zeros((r, r)))
                assert within(np.max(np.abs(T @ np.diag(d) @ T.T - Cr)), tol(r, scale=1.0, kernels=2 * r + 2))
                assert within(np.max(np.abs(d - ratios) / ratios), e)
            T, d, Ti = al.ldl_unit_mp(Cr)
            assert within(np.max(np.abs(Ti @ T - np.eye(r))), tol(r, kappa=np.linalg.cond(T), kernels=r + 2))
            pred = al.predict(C, r)
            assert np.array_equal(pred.T, T) and np.array_equal(pred.Sigma, d) and np.array_equal(pred.Tinv, Ti)
            # Theorem D.1(c) as printed and corrected, entry by entry
            for i in range(r):
                for j in range(r):
                    if i == j:
                        continue
                    for corr in (False, True):
                        K, ratio = al.entry_prediction(pred, j, i, corrected=corr)
                        assert K == (pred.Tinv[i, j] if j < i else pred.T[j, i])
                        assert ratio == ("si/sj" if (j < i) == corr else "sj/si")
            # Remark D.3's tail constants: C[r:, :r] = K diag(d) T^T
            if r < n:
                Kt = al.k_tail(C, r)
                assert within(np.max(np.abs(Kt @ np.diag(d) @ T.T - C[r:, :r])), tol(n, kappa=kap, kernels=2 * r + 4))
            assert al.k_eff(C, r) == pytest.approx(max(1.0, np.linalg.norm(C, 2) / np.min(np.abs(ratios))),
                                                     rel=tol(r, kappa=kap, kernels=2 * r + 2))
    # not positive definite: the batch marks nan, the scalar routines raise
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])
    T, d = al.ldl_unit_batch(np.stack([bad, np.eye(2)]))
    assert np.isnan(d[0]).all() and np.array_equal(d[1], np.ones(2))
    with pytest.raises(ValueError):
        al.ldl_unit(bad)
    with pytest.raises(ValueError):
        al.ldl_unit_mp(bad)


def test_ladder_closed_forms_hit_their_targets():
    a = np.array([0.0, 0.5, 1.7, 2.0, np.inf])
    assert al.min_gap(a, 1) == 0.5 and al.min_gap(a, 2) == 0.5
    assert within(abs(al.min_gap(a[2:], 2) - 0.3), tol(2, scale=2.0))
    with np.errstate(invalid="ignore"):  # inf - inf in the gaps: treated as no constraint
        assert al.min_gap(np.array([0.0, np.inf, np.inf]), 2) == np.inf
    assert np.array_equal(al.log_s_sequence(a[:4], 3.0, "exp"), -3.0 * a[:4])
    assert np.array_equal(al.log_s_sequence(a[:4], 3.0, "poly"), -a[:4] * math.log(3.0))
    for kind in ("exp", "poly"):
        for r in (1, 2, 3):
            for eps in (1e-2, 1e-4):
                K = 7.0
                L = al.depth_for(eps, a, r, K, kind)
                ls = al.log_s_sequence(a, L, kind)
                rho = al.rho_of(ls, r)
                ratios = [math.exp(ls[i + 1] - ls[i]) for i in range(r)]
                assert rho == pytest.approx(max(ratios), rel=tol(r, kernels=4))
                assert within(abs(K * rho / eps - 1), tol(1, scale=abs(math.log(K / eps)) + 1, kernels=8)), (kind, r, eps)
    assert al.depth_for(1e-3, np.array([0.0, np.inf]), 1, 5.0, "exp") == 1.0


def test_rho_batch_sign_align_and_suffix_products_by_definition():
    import torch

    from theory import diagcorr

    rng = np.random.default_rng(23)
    W = rng.standard_normal((6, 4, 4))
    got = al.rho_batch(W)
    for k in range(6):
        assert within(abs(got[k] - diagcorr.rho(np.abs(W[k]))), tol(16, kernels=8))
    U = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    V = U * np.array([1, -1, 1, -1, -1.0])
    A = al.sign_align(U, V)
    assert np.array_equal(A, U)
    At = al.sign_align(torch.tensor(U), torch.tensor(V)).numpy()
    assert np.array_equal(At, U)
    M = torch.tensor(rng.standard_normal((2, 4, 3, 3)))
    out = al.suffix_products(M).numpy()
    Mn = M.numpy()
    for l in range(4):
        P = np.eye(3)
        for k in range(3, l - 1, -1):  # M_L ... M_{l+1} = M[:, L-1] ... M[:, l]
            P = P @ Mn[:, k] if P.ndim == 3 else np.einsum("ij,bjk->bik", P, Mn[:, k])
        want = P / np.linalg.norm(P.reshape(2, -1), axis=1)[:, None, None]
        assert within(np.max(np.abs(out[:, l] - want)), tol(9, kernels=2 * (4 - l) + 2)), l


# ---------------------------------------------------------------------------------------------------
# theory.claims.app_b: exact rank, bases, Gram matrices, product values and the defect references
# ---------------------------------------------------------------------------------------------------

def test_app_b_exact_helpers_by_definition():
    import sympy as sp
    from fractions import Fraction

    rng = np.random.default_rng(29)
    assert app_b._rank_q([]) == 0 and app_b._rank_q([[]]) == 0
    for shape, k in [((3, 5), 2), ((4, 4), 3), ((5, 3), 1), ((2, 6), 2), ((1, 4), 1)]:
        a = rng.integers(-3, 4, (shape[0], k)) @ rng.integers(-3, 4, (k, shape[1]))
        want = sp.Matrix(a.tolist()).rank()
        assert app_b._rank_q(a.tolist()) == want
        fr = [[Fraction(int(x), int(d)) for x, d in zip(row, rng.integers(1, 5, shape[1]))] for row in a.tolist()]
        assert app_b._rank_q(fr) == sp.Matrix([[sp.Rational(f.numerator, f.denominator) for f in r] for r in fr]).rank()
    # ranks that reciprocals would change: [[1, 2], [2, 4]] has rank 1, [[1, 1/2], [2, 1/4]] rank 2
    assert app_b._rank_q([[Fraction(1), Fraction(1, 2)], [Fraction(2), Fraction(1, 4)]]) == 2
    assert app_b._rank_q([[Fraction(1, 3), Fraction(2, 3)], [Fraction(1, 2), Fraction(1)]]) == 1
    assert app_b._dependent([1, 2, 3], [-2, -4, -6]) and not app_b._dependent([1, 2, 3], [1, 2, 4])
    # exact Plücker coordinates: sympy minors of the columns
    M = rng.integers(-4, 5, (5, 3))
    want = [int(sp.Matrix(M[list(I), :].tolist()).det()) for I in ext.index_sets(5, 3)]
    assert app_b._exact_plucker(M) == want
    # s_I products and sums
    s = [3.0, 2.0, 0.5]
    assert app_b._sI_product(s, (0, 2, 2)) == 3.0 * 0.5 * 0.5 and app_b._sI_sum(s, (0, 2, 2)) == 4.0
    # the printed coefficient formula is the Kronecker power
    m = rng.integers(-3, 4, (3, 3)).tolist()
    from functools import reduce
    for t in (1, 2, 3):
        assert app_b._formula_matrix(m, t, app_b._entry_printed) == reduce(np.kron, [np.array(m)] * t).tolist()
        G1 = rng.integers(-2, 3, (3, 3))
        assert np.array_equal(np.array(app_b._induced_gram_tensor(G1, t, app_b._prod)), reduce(np.kron, [G1] * t))
    # skewed bases: scale * Q (I + skew * strict upper ones), numpy and sympy alike
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    U = np.eye(4) + 0.7 * np.triu(np.ones((4, 4)), 1)
    assert within(np.max(np.abs(app_b._skewed(Q, 0.7, 1.5) - 1.5 * Q @ U)), tol(4, scale=3.0, kernels=2))
    Qs = sp.Matrix(3, 3, lambda i, j: i + 2 * j + 1)
    assert app_b._skewed(Qs, 2, 3) == 3 * Qs * sp.Matrix([[1, 2, 2], [0, 1, 2], [0, 0, 1]])
    # basis sums
    e = np.eye(3)
    assert np.array_equal(app_b._basis_tensor(3, ((1, 2), (3, 3))), np.kron(e[0], e[1]) + np.kron(e[2], e[2]))
    assert np.array_equal(app_b._basis_wedge(3, ((1, 3),)), ext.wedge(e[0], e[2]))


def test_app_b_defect_references_agree_with_the_library_defects_and_mp_svals_with_numpy():
    rng = np.random.default_rng(31)
    for n, t in [(2, 2), (2, 3), (3, 3), (2, 4)]:
        for _ in range(2):
            x = rng.standard_normal(n**t)
            assert within(abs(app_b._elementary_defect_reference(x, n, t) - ten.elementary_defect(x, n, t)),
                          tol(n**t, kernels=2 * t + 2))
    for n, t in [(3, 1), (4, 2), (5, 2), (5, 3)]:
        for _ in range(2):
            x = rng.standard_normal(math.comb(n, t))
            assert within(abs(app_b._decomposability_defect_reference(x, n, t) - ext.decomposability_defect(x, n, t)),
                          tol(n + math.comb(n, t), kernels=2 * t + 2))
        assert app_b._decomposability_defect_reference(np.ones(1), n, n) == 0.0
    a = rng.standard_normal((4, 3))
    assert within(np.max(np.abs(np.array(app_b._mp_svals(a.tolist())) - np.linalg.svd(a, compute_uv=False))),
                  tol(4, scale=float(np.linalg.norm(a, 2)), kernels=4))
    assert app_b._mp_svals([]) == [] and app_b._nrm([]) == 0.0
    assert within(abs(app_b._nrm(a) - np.linalg.svd(a, compute_uv=False)[0]), tol(4, scale=float(np.linalg.norm(a, 2)), kernels=4))


def test_ortho_compare_functions_zero_on_orthonormal_bases_and_exact_off_them():
    rng = np.random.default_rng(37)
    for n in (1, 2, 3):
        Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
        for t in range(1, 4):
            c = app_b._ortho_tensor_cmp(Q, t)
            assert within(c.err, c.tol)
            c = app_b._ortho_tensor_cmp(np.eye(n), t, scale=1.25)
            assert within(abs(c.err - (1.25 ** (2 * t) - 1)), tol(n**t, scale=4.0, kernels=t + 2))
            if t <= n:
                c = app_b2._ortho_wedge_cmp(Q, t)
                assert within(c.err, c.tol)


# ---------------------------------------------------------------------------------------------------
# theory.claims.app_b2: quotient dimensions, permutation tables, pairings, exact subspace predicates
# ---------------------------------------------------------------------------------------------------

def test_quotient_dimension_gives_the_tensor_symmetric_and_exterior_dimensions():
    for n in range(1, 5):
        for t in range(1, 4):
            assert app_b2.quotient_dimension(n, t, []) == n**t
            assert app_b2.quotient_dimension(n, t, app_b2._perms_corrected(t)) == math.comb(n, t)
            assert app_b2.quotient_dimension(n, t, app_b2._perms_unsigned(n, t)) == math.comb(n + t - 1, t)
            assert app_b2.quotient_dimension(n, t, [(tuple(range(t)), -1)]) == 0  # e_I = -e_I kills all
            assert app_b2._perms_printed_where_formed(n, t) == (
                app_b2._perms_literal(n, t) if t <= n else app_b2._perms_corrected(t))
            if t <= n:
                # literal S_n: the sigma mapping {0..t-1} onto itself, restricted, with their S_n signature
                want = sorted((p[:t], ext.perm_sign(p)) for p in itertools.permutations(range(n))
                              if set(p[:t]) == set(range(t)))
                assert sorted(app_b2._perms_literal(n, t)) == want
    for row in app_b2._def_b3_table([(3, 2), (2, 3), (4, 2)]):
        n, t = row["n"], row["t"]
        assert row["C(n,t)"] == math.comb(n, t) and row["dim_corrected_St"] == math.comb(n, t)
        assert row["dim_literal_Sn"] == (None if t > n else app_b2.quotient_dimension(n, t, app_b2._perms_literal(n, t)))


def test_app_b2_pairings_compound_and_exact_subspace_predicates():
    import sympy as sp

    rng = np.random.default_rng(41)
    G = rng.standard_normal((3, 3))
    assert within(abs(app_b2._det(G) - np.linalg.det(G)), tol(3, kernels=2))
    assert app_b2._det(sp.Matrix([[1, 2], [3, 4]])) == -2
    assert app_b2._det_over_factorial(sp.Matrix([[1, 2], [3, 4]])) == -1
    assert within(abs(app_b2._det_over_factorial(G) - np.linalg.det(G) / 6), tol(3, kernels=2))
    assert app_b2._diag_prod(sp.Matrix([[2, 9], [9, 5]])) == 10
    m = rng.integers(-3, 4, (4, 4)).tolist()
    for t in range(1, 5):
        assert app_b2._compound(m, t, app_b2._minor_entry) == ext.minors_generic(m, t)
    assert app_b2._cols(np.array([[1, 2], [3, 4]])) == [[1, 3], [2, 4]]
    for _ in range(8):
        n, t = 5, int(rng.integers(1, 4))
        V = rng.integers(-2, 3, (n, t))
        W = rng.integers(-2, 3, (n, t))
        Vs, Ws = sp.Matrix(V.tolist()), sp.Matrix(W.tolist())
        null = app_b2._int_nullspace(app_b2._cols(W))
        assert len(null) == n - Ws.rank() and all(isinstance(x, int) for v in null for x in v)
        assert all(not np.any(W.T @ np.array(v)) for v in null)
        if Vs.rank() == t and Ws.rank() == t:
            assert app_b2._dim_meet(V, W) == 2 * t - Vs.row_join(Ws).rank()
            # a nonzero vector of E orthogonal to F exists iff V^T W is singular
            assert app_b2._some_right_angle(V, W) == ((Vs.T * Ws).det() == 0)
        assert app_b2._fully_orthogonal(V, W) == (not np.any(V.T @ W))
    assert app_b2._int_nullspace([]) == []
    e = np.eye(4, dtype=np.int64)
    assert app_b2._some_right_angle(e[:, :2], e[:, 1:3]) and not app_b2._some_right_angle(e[:, :2], e[:, :2])
    assert app_b2._proportional([2, 4, 0], [1, 2, 0]) and not app_b2._proportional([2, 4, 1], [1, 2, 0])
    assert app_b2._equal_up_to_sign([1, -2], [-1, 2]) and not app_b2._equal_up_to_sign([1, 2], [2, 1])
    assert app_b2._cos_product([0.5, 0.25]) == 0.125


# ---------------------------------------------------------------------------------------------------
# theory.claims.app_c / app_c2: exact rank helpers, dimension formulas, exact limits
# ---------------------------------------------------------------------------------------------------

def test_app_c_exact_rank_helpers_and_dimension_formulas():
    import sympy as sp

    from theory.claims import app_c2

    rng = np.random.default_rng(43)
    for _ in range(6):
        n = int(rng.integers(1, 6))
        gate = rng.integers(0, 2, n)
        lay = app_c._int_layer(rng, n, gate, scale=50)
        assert lay.shape == (n, n) and all(not any(lay[i]) for i in range(n) if gate[i] == 0)
        assert int(np.max(np.abs(lay.astype(np.int64)))) <= 50
        J = rng.integers(-2, 3, (n, 2)) @ rng.integers(-2, 3, (2, n))
        W = rng.integers(-9, 10, (n, n))
        got = app_c._ranks(gate, J, W)
        DWJ = np.diag(gate) @ W @ J
        assert got == (sp.Matrix(DWJ.tolist()).rank(), int(gate.sum()), sp.Matrix(J.tolist()).rank(), n)
        c = app_c._rank_min(gate, J, W)
        assert c.err == abs(got[0] - min(got[1], got[2]))
    for n in range(0, 6):
        for d1 in range(0, n + 1):
            for d2 in range(0, n + 1):
                assert app_c._dim_printed(n, d1, d2) == max(0, n - d1 - d2)
                assert app_c._dim_generic(n, d1, d2) == max(0, d1 + d2 - n)
    from fractions import Fraction
    assert app_c2._q(Fraction(-3, 4)) == sp.Rational(-3, 4)
    L = app_c2._L
    assert app_c2._lim(3 + 1 / L) == 3 and app_c2._lim(sp.log(L)) == sp.oo
    assert app_c2._lim((-1) ** L) is sp.nan or app_c2._lim((-1) ** L) == sp.nan


def test_leading_minor_ratios_at_singular_leading_minors():
    """ell_i = det C^{i,i} / det C^{i-1,i-1}: 0 where the i-th minor vanishes, nan only where the previous
    one does (the ratio is then undefined)."""
    assert np.array_equal(al.leading_minor_ratios(np.diag([2.0, 0.0, 3.0]), 2), np.array([2.0, 0.0]))
    got = al.leading_minor_ratios(np.array([[0.0, 1.0], [1.0, 0.0]]), 2)
    assert got[0] == 0.0 and np.isnan(got[1])
