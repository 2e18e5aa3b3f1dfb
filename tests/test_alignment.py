"""theory.alignment against independent references: scipy Cholesky, closed-form 2x2 eigenvectors,
float64 eigh where it resolves the entries, mpmath SVD vs mpmath eigen-decomposition, naive products,
theory.diagcorr. Also: the printed Theorem D.1(c) / Theorem 6.1 / Remark 6.3 counterexamples replay."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.linalg
import torch

from checks.strategies import haar_orthogonal_np
from theory import alignment as al
from theory.diagcorr import rho


def _spd(n, seed, cond=10.0):
    rng = np.random.default_rng(seed)
    q = haar_orthogonal_np(n, rng)
    s = np.geomspace(1, 1 / cond, n)
    return (q * s) @ q.T


@pytest.mark.parametrize("seed", range(5))
def test_ldl_matches_scipy_cholesky(seed):
    C = _spd(5, seed, cond=1e4)
    Lc = scipy.linalg.cholesky(C, lower=True)
    T_ref, d_ref = Lc / np.diag(Lc), np.diag(Lc) ** 2
    T, d = al.ldl_unit(C)
    T2, d2, Ti2 = al.ldl_unit_mp(C)
    assert np.allclose(T, T_ref, atol=1e-10) and np.allclose(d, d_ref, rtol=1e-10)
    assert np.allclose(T2, T_ref, atol=1e-10) and np.allclose(d2, d_ref, rtol=1e-10)
    assert np.allclose(Ti2 @ T2, np.eye(5), atol=1e-12)
    # Sigma_C = diag(ell): pivots = leading-minor ratios (np.linalg.det as a third route)
    dets = [1.0] + [np.linalg.det(C[:i, :i]) for i in range(1, 6)]
    assert np.allclose(al.leading_minor_ratios(C, 5), [dets[i] / dets[i - 1] for i in range(1, 6)], rtol=1e-8)


def test_ldl_rejects_non_pd():
    with pytest.raises(ValueError):
        al.ldl_unit(np.array([[0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError):
        al.ldl_unit_mp(np.array([[1.0, 2.0], [2.0, 1.0]]))


@pytest.mark.parametrize("L", [2.0, 5.0, 12.0, 30.0])
def test_graded_eig_2x2_closed_form(L):
    c = 0.5
    ge = al.graded_eig(al.log_s_sequence([0.0, 1.0], L), np.array([[1, c], [c, 1]]), 1)
    with mp.workdps(80):
        t = mp.exp(-mp.mpf(L))
        lam = (1 + t**2) / 2 + mp.sqrt(((1 - t**2) / 2) ** 2 + (c * t) ** 2)
        v = mp.matrix([c * t, lam - 1])
        v /= mp.norm(v)
        ref = float(v[1] / v[0] * abs(v[0]))
    assert math.isclose(ge.U[1, 0], ref, rel_tol=1e-12)
    # leading behaviour: e_2^T u_1 ~ c s_2/s_1 (the corrected Theorem D.1(c)), not c s_1/s_2
    if L >= 12:
        assert math.isclose(ge.U[1, 0] / math.exp(-L), c, rel_tol=1e-6)


def test_graded_eig_agrees_with_float64_where_resolvable():
    C = _spd(4, 3, cond=5)
    ls = al.log_s_sequence([0.0, 0.7, 1.5, 2.0], 6.0)
    ge = al.graded_eig(ls, C, 2)
    w, V = al.eig_float64(ls, C)
    res = al.float64_resolution(np.abs(w), 4)
    for i in range(4):
        for j in range(4):
            if abs(ge.U[j, i]) > 1e3 * res[i]:
                assert abs(V[j, i] - ge.U[j, i]) <= 10 * res[i]
    assert np.allclose(np.sign(np.diag(ge.U)), 1)


def test_graded_eig_vs_section6_svd():
    """Two independent mp algorithms (eigsy of S C S vs svd_r of U_A S B) give the same R."""
    rng = np.random.default_rng(7)
    n, r = 4, 2
    B = rng.standard_normal((n, n))
    UA = haar_orthogonal_np(n, rng)
    ls = al.log_s_sequence([0.0, 0.5, 1.3, 2.0], 15.0)
    ge = al.graded_eig(ls, B @ B.T, r)
    s6 = al.section6(ls, UA, B, r)
    assert np.allclose(s6.R[:, :r], ge.U[:, :r], atol=1e-12)
    assert np.allclose(s6.lower, ge.lower, atol=1e-8)
    assert np.allclose(s6.sJ_over_sA[:r] ** 2, ge.sigma_scaled[:r], rtol=1e-10)


def test_predicted_limits_reached():
    C = _spd(5, 11, cond=30)
    pred = al.predict(C, 3)
    ge = al.graded_eig(al.log_s_sequence([0, 1, 1.5, 3, 3.2], 40.0), C, 3)
    assert np.allclose(ge.lower, pred.T, atol=1e-12)
    assert np.allclose(ge.upper, pred.Tinv.T, atol=1e-12)
    assert np.allclose(ge.sigma_scaled[:3], pred.ell, rtol=1e-12)
    Kt = al.k_tail(C, 3)
    s = np.exp(al.log_s_sequence([0, 1, 1.5, 3, 3.2], 40.0))
    Y = np.array([[ge.U[j, i] * s[i] / s[j] for i in range(3)] for j in range(3, 5)])
    assert np.allclose(Y, Kt, atol=1e-10)


def test_log_s_sequence_and_depths():
    assert np.allclose(al.log_s_sequence([0, 1, 2], 10.0, "poly"), [0, -math.log(10), -2 * math.log(10)])
    a = np.array([0.0, 0.5, 1.5])
    L = al.depth_for(1e-6, a, 2, 10.0, "exp")
    assert math.isclose(10 * al.rho_of(al.log_s_sequence(a, L), 2), 1e-6, rel_tol=1e-9)
    with pytest.raises(ValueError):
        al.log_s_sequence([1.0, 0.0], 1.0)


def test_rho_batch_matches_diagcorr():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4, 7, 7))
    out = al.rho_batch(W)
    for a in range(3):
        for b in range(4):
            assert math.isclose(out[a, b], rho(W[a, b]), rel_tol=1e-12, abs_tol=1e-14)


@pytest.mark.parametrize("reading", ["fgln", "masked", "masked+1"])
def test_fgln_products_against_naive(reading):
    g = torch.Generator()
    g.manual_seed(0)
    n, L, p = 5, 4, 0.5
    J, A = al.fgln_products(g, 2, n, p, L, 0.7, reading)
    g.manual_seed(0)
    from theory import samplers

    W = samplers.ginibre(2 * L, n, 0.7, g).reshape(2, L, n, n).numpy()
    D = samplers.p_gate(2 * L, n, p, g).reshape(2, L, n).numpy()
    for b in range(2):
        Ws, Ds = [W[b, k] for k in range(L)], [np.diag(D[b, k]) for k in range(L)]
        if reading == "fgln":
            Jn = Ws[L - 1]
            for k in range(L - 2, -1, -1):
                Jn = Jn @ Ds[k] @ Ws[k]
            An = {}
            for l in range(1, L):
                P = Ws[L - 1]
                for k in range(L - 2, l - 1, -1):
                    P = P @ Ds[k] @ Ws[k]
                An[l] = P @ Ds[l - 1]
        else:
            Ms = [Ds[k] @ Ws[k] for k in range(L)]
            prod = lambda lo: np.linalg.multi_dot(Ms[lo:][::-1]) if L - lo > 1 else Ms[lo]
            Jn = prod(0)
            An = {l: prod(l if reading == "masked" else l - 1) for l in range(1, L)}
        def same_dir(X, Y):
            x, y = X.ravel(), Y.ravel()
            nx, ny = np.linalg.norm(x), np.linalg.norm(y)
            return (nx == 0 and ny == 0) or abs(abs(x @ y) / (nx * ny) - 1) < 1e-12
        assert same_dir(J[b].numpy(), Jn)
        for l in range(1, L):
            assert same_dir(A[b, l - 1].numpy(), An[l])


def test_suffix_products_and_sign_align():
    rng = np.random.default_rng(1)
    M = torch.tensor(rng.standard_normal((1, 3, 4, 4)))
    A = al.suffix_products(M)
    ref = M[0, 2] @ M[0, 1] @ M[0, 0]
    assert torch.allclose(A[0, 0] / A[0, 0].norm(), ref / ref.norm())
    U = haar_orthogonal_np(4, rng)
    V = U * np.array([1, -1, -1, 1])
    assert np.allclose(al.sign_align(U, V), U)


def test_printed_counterexamples_replay():
    from theory.claims import app_d, sec6

    # Theorem D.1(c) needs a pair j != i <= r, so n >= 3: the 3x3 case decouples a third coordinate
    c = app_d.printed_c_replay(app_d.CE_PRINTED_C)
    assert not c.ok and abs(c.detail["e2_u1_over_s2/s1"] - 0.5) < 1e-9
    assert math.isclose(c.detail["e2_u1"], app_d._closed_form_2x2(0.5, 20.0), rel_tol=1e-12)
    d3 = app_d.d3_printed_replay(app_d.CE_D3)
    assert not d3.ok and abs(d3.detail["exponent_vs_s_i/s_j"] + 1) < 1e-9
    assert math.isclose(d3.detail["e_j^T u_i / (s_j/s_i) (intended; -> K_derived)"], 0.5, rel_tol=1e-6)
    sg = app_d.singular_s_replay(app_d.CE_SINGULAR_S)
    assert not sg.ok and sg.detail["rank_X"] == 1 and math.isclose(sg.detail["sigma_1/s_1^2"], 1.0, rel_tol=1e-12)
    t = sec6.thm61_replay(sec6.CE61)
    assert not t.ok and abs(t.detail["R"][0][0]) < 1e-30
    s = sec6.rem63_sigma_replay(sec6.CE63)
    assert not s.ok and math.isclose(s.detail["sJ/sA"][0], 2.0, rel_tol=1e-12)
    assert math.isclose(s.detail["sqrt_Sigma_C"][0], 2.0, rel_tol=1e-12)


def test_printed_c_property_fails_but_corrected_passes():
    """The entry check can fail: with the printed ratios it refutes, with the corrected ones it passes."""
    from checks.model import Context, Status
    from checks.property import PropertyCheck
    from theory.claims.app_d import cases, cmp_entries

    strat = cases(n=(3, 4), r_min=2)
    bad = PropertyCheck(strat, lambda **k: cmp_entries(**k, corrected=False), generated="t", examples=5)
    good = PropertyCheck(strat, lambda **k: cmp_entries(**k, corrected=True), generated="t", examples=5)
    assert bad(Context("test-printed")).status is Status.REFUTED
    assert good(Context("test-corrected")).status is Status.VERIFIED


def test_ldl_unit_batch_matches_ldl_unit():
    rng = np.random.default_rng(4)
    G = rng.standard_normal((6, 3, 3))
    C = G @ G.transpose(0, 2, 1)
    C[2] = np.diag([1.0, -1.0, 1.0])  # not PD: nan, not an exception
    T, d = al.ldl_unit_batch(C)
    for k in range(6):
        if k == 2:
            assert np.isnan(T[k]).all() and np.isnan(d[k]).all()
            continue
        T0, d0 = al.ldl_unit(C[k])
        assert np.allclose(T[k], T0, atol=1e-12) and np.allclose(d[k], d0, rtol=1e-12)
    with pytest.raises(ValueError):
        al.ldl_unit_batch(np.zeros((2, 3)))


def test_ladder_check_foils_reuse_the_form_inputs():
    """A LadderCheck foil re-decides on the inputs its form generated, states its power, and is refuted
    exactly when some input rejects it."""
    from checks import Comparison
    from checks.model import Context, Status
    from hypothesis import strategies as st
    from theory.claims.app_d import LadderCheck

    calls = []

    def compare(x, *, bound=10.0):
        calls.append(x)
        return Comparison(float(x), bound, {"x": x})

    chk = LadderCheck(st.builds(dict, x=st.integers(0, 9)), compare, generated="t", quick=12, ladder=False)
    ctx = Context("test-ladder-foil")
    assert chk(ctx).status is Status.VERIFIED
    n_form = len(calls)
    strong = chk.foil(bound=-1.0)(ctx)  # every input rejects it
    assert strong.status is Status.REFUTED and strong.power == 1.0 and strong.evidence["cases"] == n_form
    weak = chk.foil(bound=100.0)(ctx)  # no input rejects it: not refuted, power 0
    assert weak.status is Status.VERIFIED and weak.power == 0.0
    assert len(calls) == 3 * n_form  # foils evaluated the recorded inputs, no new generation
    part = chk.foil(bound=-1.0, first=3)(ctx)
    assert part.evidence["cases"] == 3


def test_foil_input_transforms_break_only_the_named_hypothesis():
    from theory.claims import app_d, sec6

    rng = np.random.default_rng(2)
    for r in (1, 2, 3):
        B = rng.standard_normal((5, 5))
        Bd = sec6._rows_dependent(B, r)
        assert np.linalg.matrix_rank(Bd[:, :r]) == r  # (ii): first r columns independent
        assert np.linalg.matrix_rank(Bd[:r]) == r - 1  # (ii') broken: first r rows dependent
        C = B @ B.T
        Cs = app_d._singular_block(C, r)
        assert abs(np.linalg.det(Cs[:r, :r])) <= 1e-10 * np.linalg.det(C[:r, :r])
        if r > 1:
            assert np.isclose(np.linalg.det(Cs[: r - 1, : r - 1]), np.linalg.det(C[: r - 1, : r - 1]))
