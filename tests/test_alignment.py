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
from checks.tolerance import EPS64, cond, tol
from conftest import within
from theory import alignment as al
from theory.diagcorr import rho


def _spd(n, seed, cond=10.0):
    rng = np.random.default_rng(seed)
    q = haar_orthogonal_np(n, rng)
    s = np.geomspace(1, 1 / cond, n)
    return (q * s) @ q.T


def _rel(a, b, n=1, kappa=1.0, kernels=2):
    """Elementwise relative error |a - b| / tol(n, kappa, scale=|b|, kernels) <= 1 as ``within`` args: for
    values that two routes (float64 or mpmath rounded to float64) give to a few ulps each."""
    b = np.asarray(b, dtype=float)
    return np.abs(np.asarray(a, dtype=float) - b), np.vectorize(
        lambda x: tol(n, kappa=kappa, scale=abs(x), kernels=kernels))(b)


def _remainder2(C, r, ls):
    """Second-order remainder of the limits of Theorem D.1 where the first order vanishes (a leading
    term's relative correction): the squares of the first-order terms, n^2 (K_eff rho)^2 (see
    theory.alignment.REMAINDER_CONST for the first order)."""
    n = np.asarray(C).shape[0]
    return n**2 * (al.k_eff(C, r) * al.rho_of(ls, r)) ** 2


@pytest.mark.parametrize("seed", range(5))
def test_ldl_matches_scipy_cholesky(seed):
    C = _spd(5, seed, cond=1e4)
    Lc = scipy.linalg.cholesky(C, lower=True)
    T_ref, d_ref = Lc / np.diag(Lc), np.diag(Lc) ** 2
    T, d = al.ldl_unit(C)
    T2, d2, Ti2 = al.ldl_unit_mp(C)
    # Cholesky / LDL factors are forward-stable to ~ n eps kappa(C) (Sun); two routes
    k = cond(C)
    t_tol = tol(5, kappa=k, scale=np.abs(T_ref).max(), kernels=2)
    assert within(np.abs(T - T_ref), t_tol, "ldl T") and within(*_rel(d, d_ref, 5, k), "ldl d")
    assert within(np.abs(T2 - T_ref), t_tol, "ldl_mp T") and within(*_rel(d2, d_ref, 5, k), "ldl_mp d")
    assert within(np.abs(Ti2 @ T2 - np.eye(5)), tol(5, scale=(np.abs(Ti2) @ np.abs(T2)).max()), "T^-1 T")
    # Sigma_C = diag(ell): pivots = leading-minor ratios (np.linalg.det as a third route: LU, ~ n eps
    # kappa relative per determinant, two determinants per ratio)
    dets = [1.0] + [np.linalg.det(C[:i, :i]) for i in range(1, 6)]
    assert within(*_rel(al.leading_minor_ratios(C, 5), [dets[i] / dets[i - 1] for i in range(1, 6)], 5, k),
                  "minor ratios")


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
    assert within(*_rel(ge.U[1, 0], ref), "2x2 closed form")  # two mpmath routes, each rounded once
    # leading behaviour: e_2^T u_1 ~ c s_2/s_1 (the corrected Theorem D.1(c)), not c s_1/s_2; the closed
    # form is c t (1 + (1 + c^2) t^2 / 2 + O(t^4)), t = e^-L, and exp(-L) errs by ~ L eps relatively
    if L >= 12:
        t = math.exp(-L)
        assert within(abs(ge.U[1, 0] / t - c), c * (1 + c**2) * t**2 + tol(1, scale=c * (1 + L), kernels=2),
                      "2x2 leading term")


def test_graded_eig_agrees_with_float64_where_resolvable():
    C = _spd(4, 3, cond=5)
    ls = al.log_s_sequence([0.0, 0.7, 1.5, 2.0], 6.0)
    ge = al.graded_eig(ls, C, 2)
    w, V = al.eig_float64(ls, C)
    res = al.float64_resolution(np.abs(w), 4)
    for i in range(4):
        for j in range(4):
            if abs(ge.U[j, i]) > 1e3 * res[i]:  # entries eigh resolves to 3 digits or more
                assert within(abs(V[j, i] - ge.U[j, i]), res[i], "float64 eigh")  # its Davis-Kahan bound
    assert np.all(np.diag(ge.U) > 0)  # the sign convention e_i^T u_i >= 0 (nonzero here)


def test_graded_eig_vs_section6_svd():
    """Two independent mp algorithms (eigsy of S C S vs svd_r of U_A S B) give the same R."""
    rng = np.random.default_rng(7)
    n, r = 4, 2
    B = rng.standard_normal((n, n))
    UA = haar_orthogonal_np(n, rng)
    ls = al.log_s_sequence([0.0, 0.5, 1.3, 2.0], 15.0)
    ge = al.graded_eig(ls, B @ B.T, r)
    s6 = al.section6(ls, UA, B, r)
    # both at dps_for's working precision, then rounded: what differs is C = B B^T rounded in float64
    # (graded_eig's input), which moves the scaled limits by ~ n eps kappa(C^{r,r}) relatively
    k = cond((B @ B.T)[:r, :r])
    assert within(*_rel(s6.R[:, :r], ge.U[:, :r], n, k), "section6 R")
    assert within(*_rel(s6.lower, ge.lower, n, k), "section6 lower")
    assert within(*_rel(s6.sJ_over_sA[:r] ** 2, ge.sigma_scaled[:r], n, k, kernels=3), "section6 sigma")


def test_predicted_limits_reached():
    C = _spd(5, 11, cond=30)
    pred = al.predict(C, 3)
    ge = al.graded_eig(al.log_s_sequence([0, 1, 1.5, 3, 3.2], 40.0), C, 3)
    # at rho = 2e-9 the limits are reached up to the second-order remainder (~1e-16 relative): what is
    # left is rounding, ~ r eps kappa(C^{r,r}) relative (mpmath LDL of the rounded C and the eigenvectors)
    ls = al.log_s_sequence([0, 1, 1.5, 3, 3.2], 40.0)
    k, rem = cond(C[:3, :3]), _remainder2(C, 3, ls)
    for got, want, what in ((ge.lower, pred.T, "lower"), (ge.upper, pred.Tinv.T, "upper"),
                            (ge.sigma_scaled[:3], pred.ell, "sigma")):
        err = np.abs(got - want)  # scale: the matrix's largest entry (its zeros are not exact here)
        scale = np.abs(want).max()
        assert within(err, tol(3, kappa=k, scale=scale, kernels=2) + rem * scale, what)
    Kt = al.k_tail(C, 3)
    s = np.exp(ls)
    Y = np.array([[ge.U[j, i] * s[i] / s[j] for i in range(3)] for j in range(3, 5)])
    scale = np.abs(Kt).max()  # also s_i / s_j from exp: ~ |log s| eps relative
    assert within(np.abs(Y - Kt), tol(5, kappa=k, scale=scale * (1 + np.abs(ls).max()), kernels=3) + rem * scale,
                  "K tail")


def test_log_s_sequence_and_depths():
    want = [0, -math.log(10), -2 * math.log(10)]
    assert within(np.abs(al.log_s_sequence([0, 1, 2], 10.0, "poly") - want), tol(1, scale=2 * math.log(10), kernels=2),
                  "poly")
    a = np.array([0.0, 0.5, 1.5])
    L = al.depth_for(1e-6, a, 2, 10.0, "exp")
    # rho = exp(-g L) with g L = log(1e7) ~ 16: exp of a rounded argument errs by ~ 16 eps relatively
    assert within(abs(10 * al.rho_of(al.log_s_sequence(a, L), 2) - 1e-6),
                  tol(1, scale=1e-6 * math.log(1e7), kernels=3), "depth_for")
    with pytest.raises(ValueError):
        al.log_s_sequence([1.0, 0.0], 1.0)


def test_rho_batch_matches_diagcorr():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4, 7, 7))
    out = al.rho_batch(W)
    k = W.shape[-1]
    for a in range(3):
        for b in range(4):
            # sums of k^2 terms and a covariance E[ij] - E[i]E[j] (<= k^2) over sqrt(vx vy): condition
            # k^2 / sqrt(vx vy); two implementations
            P = np.abs(W[a, b]) / np.abs(W[a, b]).sum()
            idx = np.arange(1, k + 1)
            vx = P.sum(1) @ idx**2 - (P.sum(1) @ idx) ** 2
            vy = P.sum(0) @ idx**2 - (P.sum(0) @ idx) ** 2
            assert within(abs(out[a, b] - rho(W[a, b])), tol(k * k, kappa=k**2 / math.sqrt(vx * vy), kernels=2),
                          "rho_batch")


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
            # |cos| of two products of L factors that agree to ~ L n eps relatively: 1 - |cos| is second
            # order in that, below the rounding of the cosine itself (two norms and a dot, size terms)
            x, y = X.ravel(), Y.ravel()
            nx, ny = np.linalg.norm(x), np.linalg.norm(y)
            return (nx == 0 and ny == 0) or within(abs(abs(x @ y) / (nx * ny) - 1), tol(x.size, kernels=3),
                                                   "same direction")
        assert same_dir(J[b].numpy(), Jn)
        for l in range(1, L):
            assert same_dir(A[b, l - 1].numpy(), An[l])


def test_suffix_products_and_sign_align():
    rng = np.random.default_rng(1)
    M = torch.tensor(rng.standard_normal((1, 3, 4, 4)))
    A = al.suffix_products(M)
    ref = M[0, 2] @ M[0, 1] @ M[0, 0]
    # 3 factors of size 4, normalised: ~ 3 x 4 eps relative to the largest entry per route
    assert within(float((A[0, 0] / A[0, 0].norm() - ref / ref.norm()).abs().max()), tol(4, kernels=2 * 3),
                  "suffix products")
    U = haar_orthogonal_np(4, rng)
    V = U * np.array([1, -1, -1, 1])
    assert np.array_equal(al.sign_align(U, V), U)  # sign flips are exact


def test_printed_counterexamples_replay():
    from theory.claims import app_d, sec6

    # Theorem D.1(c) needs a pair j != i <= r, so n >= 3: the 3x3 case decouples a third coordinate
    # Each intended limit holds up to the second-order remainder (_remainder2; the leading terms' relative
    # corrections are O(rho^2)) plus rounding: mpmath values rounded once, and exp/log of depths L = 20
    # (~ L eps relative).
    ce = app_d.CE_PRINTED_C
    L = ce["L"]
    c = app_d.printed_c_replay(ce)
    rem = _remainder2(ce["C"], ce["r"], al.log_s_sequence(ce["a"], L))
    assert not c.ok and within(abs(c.detail["e2_u1_over_s2/s1"] - 0.5),
                               0.5 * rem + tol(1, scale=0.5 * (1 + L), kernels=2), "printed (c) intended")
    assert within(*_rel(c.detail["e2_u1"], app_d._closed_form_2x2(0.5, 20.0)), "printed (c) closed form")
    ce = app_d.CE_D3
    L = ce["L"]
    d3 = app_d.d3_printed_replay(ce)
    # the exponent is a difference quotient of logs between depths L/2 and L: the remainder at L/2
    # (relative correction of both values) over the log-ratio span L/2, plus the logs' rounding
    rem = _remainder2(ce["C"], ce["r"], al.log_s_sequence(ce["a"], L / 2))
    assert not d3.ok and within(abs(d3.detail["exponent_vs_s_i/s_j"] + 1),
                                (2 * rem + tol(1, scale=2 * L, kernels=2)) / (L / 2), "D.3 exponent")
    assert within(abs(d3.detail["e_j^T u_i / (s_j/s_i) (intended; -> K_derived)"] - 0.5),
                  0.5 * rem + tol(1, scale=0.5 * (1 + L), kernels=2), "D.3 intended")
    sg = app_d.singular_s_replay(app_d.CE_SINGULAR_S)
    assert not sg.ok and sg.detail["rank_X"] == 1 and within(*_rel(sg.detail["sigma_1/s_1^2"], 1.0),
                                                             "sigma_1/s_1^2")
    ce = sec6.CE61
    t = sec6.thm61_replay(ce)
    # R_11 = 0 exactly (J's top left singular vector is e_2): what mpmath leaves at its working precision
    dps = al.dps_for(al.log_s_sequence(ce["a"], ce["L"]))
    assert not t.ok and within(abs(t.detail["R"][0][0]), tol(2, unit=10.0 ** -dps), "R_11 = 0")
    s = sec6.rem63_sigma_replay(sec6.CE63)
    assert not s.ok and within(*_rel(s.detail["sJ/sA"][0], 2.0), "s_J/s_A = 2")  # B = 2 I: exactly 2
    assert within(*_rel(s.detail["sqrt_Sigma_C"][0], 2.0), "sqrt Sigma_C")


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
        # the same recurrence, vectorised: a few ulps of the entries' scale per step (3 steps)
        assert within(np.abs(T[k] - T0), tol(3, scale=np.abs(T0).max(), kernels=2), "batch T")
        assert within(*_rel(d[k], d0, 3), "batch d")
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
        # det C^{r,r} = 0 exactly: LU's error is <= r eps times the product of the row norms (Hadamard),
        # plus the rounding of the lowered pivot itself (~ r eps kappa(C^{r,r}) of c_rr)
        blk = Cs[:r, :r]
        hadamard = float(np.prod(np.linalg.norm(blk, axis=1)))
        assert within(abs(np.linalg.det(blk)), tol(r, kappa=cond(C[:r, :r]), scale=hadamard, kernels=2), "det = 0")
        if r > 1:  # every other leading minor unchanged: the same entries
            assert np.array_equal(Cs[: r - 1, : r - 1], C[: r - 1, : r - 1])
