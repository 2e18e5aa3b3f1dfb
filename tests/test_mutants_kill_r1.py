"""Mutation-kill checks, round r, helper 1 (theory.claims.app_a, theory.claims.app_c2).

- ``app_a._cmp_grad``: the whole comparison (error = max over layers of max|got - torch autograd|, the
  chain tolerance, the 1-based worst layer, the widths, and the evidence 'max|D^2 - D|' that says whether the
  gates are 0/1), recomputed here from definitions.
- ``app_c2._subadditivity_data``: the pathwise count of negative defects d(p,q) < 0 must not count the
  equality case d(p,q) = 0 (aligned diagonal layers: ||∧^i (AB)|| = ||∧^i A|| ||∧^i B|| exactly), and must
  count zero on the real draws (d(p,q) >= 0 is a theorem: submultiplicativity of ∧^i norms).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from checks.tolerance import tol
from tests.conftest import tiny_context, within
from theory import alignment as al
from theory import fgln
from theory.claims import app_a, app_c2
from theory.claims._networks import chain_tol, torch_fgln_grads

EPS = float(np.finfo(np.float64).eps)


# -- Lemma A.1: the gradient comparison ----------------------------------------------------------

def _net(rng, widths):
    Ws = [rng.standard_normal((widths[k + 1], widths[k])) for k in range(len(widths) - 1)]
    G = rng.standard_normal((widths[-1], widths[0]))
    return Ws, G


def _np_grads(Ws, ds, G):
    """grad_{W_l} <G, J>, J = W_L D_{L-1} W_{L-1} ... D_1 W_1, from the definition: the suffix/prefix products
    A_l = W_L D_{L-1} ... W_{l+1} D_l and B_l = D_{l-1} W_{l-1} ... W_1 give grad_{W_l} = A_l^T G B_l^T."""
    L = len(Ws)
    out = []
    for l in range(L):
        A = np.eye(Ws[-1].shape[0])
        for k in range(L - 1, l, -1):
            A = A @ Ws[k] @ np.diag(ds[k - 1])
        B = np.eye(Ws[0].shape[1])
        for k in range(l):
            B = np.diag(ds[k]) @ Ws[k] @ B
        # B = D_{l-1} W_{l-1} ... D_0 W_0 (0-based; empty product for l = 0)
        out.append(A.T @ G @ B.T)
    return out


def test_app_a_cmp_grad_evidence_and_error_from_definitions():
    """For 0/1 gates and general gates: err = max_l max|formula_l - autograd_l| (a planted error of known size
    in one layer is reported exactly, at that 1-based layer), tol = chain_tol, widths and L as given, and the
    evidence 'max|D^2 - D|' = max over all gate entries of |d^2 - d| (0 exactly for 0/1 gates)."""
    rng = np.random.default_rng(20261207)
    widths = [2, 3, 4, 3, 2]
    Ws, G = _net(rng, widths)
    gate_sets = {
        "binary": [np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0])],
        "general": [np.array([0.5, 1.0, 0.0]), np.array([2.0, -1.0, 0.25, 1.0]), np.array([1.5, 0.0, -0.5])],
    }
    want_defect = {"binary": 0.0, "general": 2.0}  # |d^2 - d| at d = -1 and d = 2 is 2; 0.75 at 1.5, -0.5
    for name, ds in gate_sets.items():
        ref = _np_grads(Ws, ds, G)
        auto = torch_fgln_grads(Ws, ds, G)
        scale = max(float(np.max(np.abs(r))) for r in ref) + 1.0
        for a, b in zip(auto, ref):  # the independent reference agrees with autograd (guards the fixture)
            assert a.shape == b.shape and within(float(np.max(np.abs(a - b))), tol(4, kernels=6, scale=scale))
        cmp = app_a._cmp_grad(lambda Ws, ds, G: [r.copy() for r in ref])(Ws, ds, G)
        assert cmp.detail["max|D^2 - D|"] == want_defect[name], (name, cmp.detail)
        assert cmp.detail["max|D^2 - D|"] == max(float(np.max(np.abs(d * d - d))) for d in ds)
        assert cmp.detail["L"] == 4 and list(cmp.detail["widths"]) == list(fgln.widths(Ws))
        assert cmp.tol == chain_tol(Ws, ds, G) and cmp.ok, (name, cmp)
        assert within(cmp.err, tol(4, kernels=6, scale=scale))
        for bad, size in ((0, 0.75), (2, 1.25), (3, 3.0)):
            planted = [a.copy() for a in auto]
            planted[bad] = planted[bad] - size
            c = app_a._cmp_grad(lambda Ws, ds, G, p=planted: p)(Ws, ds, G)
            assert not c.ok and c.detail["worst_layer"] == bad + 1, (name, bad, c.detail)
            assert within(abs(c.err - size), tol(4, kernels=6, scale=scale + size)), (c.err, size)
            assert c.detail["max|D^2 - D|"] == want_defect[name]


def test_app_a_cmp_grad_gate_defect_single_gate_values():
    """max|D^2 - D| at single gate values: 0 at d in {0, 1}, d(d - 1) elsewhere (0.25 at 1/2, 2 at -1 and 2,
    6 at 3); the empty gate vector (width-0 layer is not allowed) is never needed: one hidden layer."""
    rng = np.random.default_rng(5)
    Ws, G = _net(rng, [2, 3, 2])
    for vals, want in (([1.0, 0.0, 1.0], 0.0), ([0.5, 1.0, 0.0], 0.25), ([2.0, 1.0, 0.0], 2.0),
                       ([-1.0, 0.0, 0.0], 2.0), ([3.0, 0.5, 1.0], 6.0), ([1.0, 1.0, 1.0], 0.0)):
        ds = [np.array(vals)]
        cmp = app_a._cmp_grad(torch_fgln_grads)(Ws, ds, G)
        assert cmp.detail["max|D^2 - D|"] == want, (vals, cmp.detail)
        assert cmp.ok and cmp.err == 0.0


# -- Appendix C.2: the negative-defect count of the subadditivity data ---------------------------

def test_subadditivity_counts_no_negative_defects_on_the_real_draws():
    """d(p,q) >= 0 pathwise (a theorem), so the count of draws with d < -tol is 0 for every law."""
    data = app_c2._subadditivity_data(tiny_context("app-c.2/subadditivity"))
    assert [law["negative_defects"] for law in data["laws"]] == [0] * len(app_c2._SUB_SPECS)


def test_subadditivity_equality_case_is_not_a_negative_defect(monkeypatch):
    """Aligned diagonal layers (same decreasing order of |entries| in every layer) give equality in the
    submultiplicativity of ∧^i norms: d(p,q) = 0 up to rounding, which is allowed (d >= 0), so it must not be
    counted as a negative defect; the curve's mean d(p,p) is 0 to rounding and u_2p / u_p are the exact sums
    of the i largest log entries (computed here in closed form)."""
    def diag_layers(g, batch, L, n, r, p, sigma):
        base = torch.tensor([2.0 ** (-k) for k in range(n)], dtype=torch.float64)
        scale = torch.exp(torch.linspace(-1.0, 1.0, batch * L, dtype=torch.float64)).reshape(batch, L, 1)
        return torch.diag_embed(scale * base)

    monkeypatch.setattr(app_c2, "_layers", diag_layers)
    ctx = tiny_context("app-c.2/subadditivity")
    data = app_c2._subadditivity_data(ctx)
    assert [law["negative_defects"] for law in data["laws"]] == [0] * len(app_c2._SUB_SPECS)
    for (cfg, _, ii), law in zip(app_c2._SUB_SPECS, data["laws"]):
        for j, p in enumerate(data["ps"]):
            logs = np.linspace(-1.0, 1.0, data["batch"] * 2 * p).reshape(data["batch"], 2 * p)
            for i in ii:
                row = law["curve"][i][j]
                top = sum(-k * math.log(2.0) for k in range(i))
                u2p = float(np.mean(i * logs.sum(1) + 2 * p * top))
                up1 = float(np.mean(i * logs[:, :p].sum(1) + p * top))
                up2 = float(np.mean(i * logs[:, p:].sum(1) + p * top))
                t = tol(cfg.n, kernels=6 * 2 * p, scale=1.0 + abs(u2p) + 2 * p * i)
                assert within(abs(row["d(p,q)"]), t, "d(p,p) = 0"), (i, p, row)
                assert within(abs(row["u_2p"] - u2p), t, "u_2p") and within(abs(row["u_p (J_p)"] - up1), t, "u_p")
                assert within(abs(row["u_p (J'_p)"] - up2), t, "u_p'")


# -- theory.alignment: eig_float64, leading_minor_ratios, k_eff, rho_of, min_gap ------------------

def _mp_eig_sym(X, dps=40):
    """Eigenpairs of a symmetric matrix in mpmath (independent of LAPACK)."""
    import mpmath as mp

    with mp.workdps(dps):
        E, Q = mp.eigsy(mp.matrix(X.tolist()))
        return [float(e) for e in E], np.array([[float(Q[a, b]) for b in range(X.shape[0])] for a in range(X.shape[0])])


def test_eig_float64_is_the_ordered_sign_fixed_eigh_of_S_C_S():
    """eig_float64(log_s, C): eigenvalues of X = S C S ordered by decreasing |w| (negative eigenvalues of an
    indefinite C included), eigenvectors orthonormal (unscaled), with V[i, i] >= 0, and each pair (w_i, V_i)
    matches the mpmath eigenpair of X to the float64 Davis-Kahan resolution."""
    rng = np.random.default_rng(11)
    n = 4
    for ls, C in ((np.array([0.0, -0.3, -0.9, -1.4]), None), (np.array([0.5, 0.2, -0.1, -2.0]), "indef")):
        B = rng.standard_normal((n, n))
        C = B @ B.T + 0.5 * np.eye(n) if C is None else np.diag([3.0, -2.0, 1.0, -0.5]) + 0.1 * (B + B.T)
        s = np.exp(ls)
        X = np.outer(s, s) * C
        X = (X + X.T) / 2
        w, V = al.eig_float64(ls, C)
        ew, EV = _mp_eig_sym(X)
        order = np.argsort(-np.abs(ew), kind="stable")
        ew, EV = np.array(ew)[order], EV[:, order]
        EV = EV * np.where(np.diag(EV) < 0, -1.0, 1.0)[None, :]
        normX = float(np.max(np.abs(ew)))
        assert np.all(np.diff(np.abs(w)) <= 0), w
        assert within(float(np.max(np.abs(w - ew))), tol(n, kernels=3, scale=normX)), (w, ew)
        assert within(float(np.max(np.abs(V.T @ V - np.eye(n)))), tol(n, kernels=3))
        assert np.all(np.diag(V) >= 0)
        res = al.float64_resolution(np.abs(w), n)
        for i in range(n):
            assert within(float(np.max(np.abs(V[:, i] - EV[:, i]))), res[i] + tol(n, kernels=3)), (i, V, EV)


def test_leading_minor_ratios_exact_rationals_every_r():
    """ell_i = det C^{i,i} / det C^{i-1,i-1} for i = 1..r and every r <= n, against exact rational
    determinants (sympy) of the float64 entries; a zero leading minor gives nan for the next ratio only."""
    from fractions import Fraction

    import sympy as sp

    rng = np.random.default_rng(12)
    n = 5
    B = rng.standard_normal((n, n))
    C = B @ B.T + np.eye(n)
    M = sp.Matrix(n, n, lambda a, b: sp.Rational(Fraction(float(C[a, b]))))
    dets = [sp.Integer(1)] + [M[:i, :i].det() for i in range(1, n + 1)]
    want = [float(dets[i] / dets[i - 1]) for i in range(1, n + 1)]
    for r in range(1, n + 1):
        got = al.leading_minor_ratios(C, r)
        assert got.shape == (r,)
        assert within(float(np.max(np.abs(got - want[:r]) / np.abs(want[:r]))), 4 * EPS), (r, got, want)
    got = al.leading_minor_ratios(np.array([[0.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]), 3)
    assert got[0] == 0.0 and math.isnan(got[1]) and got[2] == 3.0  # det C^{3,3} / det C^{2,2} = -3 / -1


def test_k_eff_rho_of_min_gap_from_definitions():
    """k_eff = max(1, ||C||_2 / min_i |ell_i|), rho_of = max_{i<=r} s_{i+1}/s_i, min_gap = min_{i<=r} a_{i+1}-a_i
    (inf gaps from s = 0 ignored), each against a direct computation."""
    C = np.array([[4.0, 2.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    ell = [4.0, 16.0 / 4.0, (4.0 * (15.0 - 1.0) - 2.0 * 6.0) / 16.0]  # 4, 4, 44/16
    lam = max(np.linalg.eigvalsh(C))
    for r in (1, 2, 3):
        assert within(abs(al.k_eff(C, r) - lam / min(ell[:r])), tol(3, kernels=3, scale=lam)), r
    assert al.k_eff(np.eye(3) * 0.5, 2) == 1.0
    ls = np.array([0.0, -0.5, -0.7, -3.0])
    for r in (1, 2, 3):
        want = max(math.exp(ls[k + 1] - ls[k]) for k in range(r))
        assert within(abs(al.rho_of(ls, r) - want), 4 * EPS * want), r
    a = np.array([0.0, 1.5, 2.0, math.inf, math.inf])
    assert al.min_gap(a, 1) == 1.5 and al.min_gap(a, 2) == 0.5 and al.min_gap(a, 3) == 0.5
    assert al.min_gap(np.array([0.0, math.inf, math.inf]), 1) == math.inf


# -- Lemma C.4: the -oo branch's evidence and the per-test predictions ----------------------------

def test_c4_minus_infinity_rows_and_predictions_from_definitions():
    """_lem_c4: one row per config with r < n, for i = r + 1, carrying P(rk D = r) of an (r, p)-gate (binomial
    conditioned on rank >= r, computed here with exact fractions) and the frequency of rank r among the drawn
    layers; one z-test per (config, i <= r) whose prediction is lam(i, n, p, sigma, r) for the lam passed."""
    from fractions import Fraction

    from theory.claims import app_c

    def fake_lam(i, n, p, sigma, r):  # a distinct, recognisable value per (i, config)
        return 1000 * n + 100 * r + 10 * i + p

    from theory.claims._appendix_c import _layers

    ctx = tiny_context("lem-c.4")
    out = app_c._lem_c4(ctx, lam=fake_lam)
    rows = out.evidence["tests"]
    want_preds = [fake_lam(i, n, p, s, r) for n, p, s, r in app_c._C4_CFGS for i in range(1, r + 1)]
    assert [row["prediction"] for row in rows] == want_preds
    # each estimate is the mean (SE ddof=1) of log ||Y e_1 ^ ... ^ Y e_i|| = (1/2) log det(Y_i^T Y_i), Y_i the
    # first i columns of the drawn layer (same generator stream), recomputed with numpy
    it = iter(rows)
    for k, (n, p, sigma, r) in enumerate(app_c._C4_CFGS):
        y = _layers(ctx.torch_generator(f"layers-{k}"), 40, 1, n, r, p, sigma)[:, 0].double().numpy()
        for i in range(1, r + 1):
            row = next(it)
            with np.errstate(divide="ignore", invalid="ignore"):
                lw = np.array([0.5 * np.linalg.slogdet(m[:, :i].T @ m[:, :i])[1] for m in y])
            assert row["name"] == f"n={n},p={p},sigma={sigma},r={r}: lambda_{i}"
            scale = float(np.max(np.abs(lw))) + 1.0
            kappa = max(float(np.linalg.cond(m[:, :i])) for m in y)
            assert within(abs(row["estimate"] - lw.mean()), tol(n, kernels=4, kappa=kappa, scale=scale)), (row, lw.mean())
            se = lw.std(ddof=1) / math.sqrt(lw.size)
            assert within(abs(row["se"] - se), tol(n, kernels=4, kappa=kappa, scale=scale)), (row, se)
    minus = out.evidence["minus_infinity"]
    cfgs = [c for c in app_c._C4_CFGS if c[3] < c[0]]
    assert [row["config"] for row in minus] == [list(c) for c in cfgs]
    for row, (n, p, sigma, r) in zip(minus, cfgs):
        q = Fraction(p).limit_denominator(10)
        terms = {t: math.comb(n, t) * q ** t * (1 - q) ** (n - t) for t in range(r, n + 1)}
        want = float(terms[r] / sum(terms.values()))
        assert row["i"] == r + 1
        assert within(abs(row["P(wedge_i = 0) >= P(rk D = r)"] - want), 4 * EPS * want), (row, want)
        # the frequency of rank r (number of nonzero rows of the layer) among the same draws (same stream)
        k = app_c._C4_CFGS.index((n, p, sigma, r))
        y = _layers(ctx.torch_generator(f"layers-{k}"), 40, 1, n, r, p, sigma)[:, 0].numpy()
        rank = np.array([np.linalg.matrix_rank(m) for m in y])
        assert row["sampler frequency of rk D = r"] == float(np.mean(rank == r)), (row, np.mean(rank == r))


def test_float64_resolution_is_inverse_to_each_eigenvalues_own_gap():
    """float64_resolution(sig, n) = c n eps max|sig| / gap_i with gap_i = min_{k != i} |sig_i - sig_k| (Davis-Kahan):
    res_i gap_i is the same number for every i (the constant c is a tolerance, not pinned here), it scales
    linearly in n and is invariant under sig -> 3 sig (norm and gaps scale alike), a lone eigenvalue has no gap (resolution 0), and a tie gives no resolution."""
    sig = np.array([10.0, 7.0, 6.5, 1.0, 0.25])
    gaps = np.array([3.0, 0.5, 0.5, 0.75, 0.75])
    res = al.float64_resolution(sig, 5)
    c = res * gaps / (5 * EPS * 10.0)
    assert within(float(np.max(np.abs(c - c[0]))), 8 * EPS * c[0]) and c[0] >= 1.0, c
    assert within(float(np.max(np.abs(al.float64_resolution(sig, 10) - 2 * res))), 8 * EPS * float(np.max(res)))
    assert within(float(np.max(np.abs(al.float64_resolution(3 * sig, 5) - res))),
                  8 * EPS * float(np.max(res)))
    assert np.array_equal(al.float64_resolution(np.array([4.0]), 1), np.array([0.0]))
    tie = al.float64_resolution(np.array([2.0, 2.0, 1.0]), 3)
    assert tie[0] > 1e250 and tie[1] > 1e250 and within(abs(tie[2] - c[0] * 3 * EPS * 2.0 / 1.0), 8 * EPS * tie[2])


def test_subadditivity_verdict_reads_the_last_p_and_the_negative_count(monkeypatch):
    """_subadditivity on given data: one z-test per (law, i) of d(p,p) at the LAST p (estimate, se) against
    limit(i, n); rows carry limit(i, n) and d_i(n); the evidence sums the laws' negative-defect counts, and any
    negative defect refutes (d(p,q) >= 0 pathwise), whatever the z-tests say."""
    from checks import Status
    from theory.claims._appendix_c import _d_closed

    ps = [1, 2, 4]

    def data_with(negs):
        laws = []
        for (cfg, name, ii), neg in zip(app_c2._SUB_SPECS, negs):
            curve = {i: [{"p=q": p, "d(p,q)": (_d_closed(i, cfg.n) + 5.0 if p != ps[-1] else _d_closed(i, cfg.n)),
                          "se": 0.01 * (1 + p)} for p in ps] for i in ii}
            laws.append({"law": name, "n": cfg.n, "curve": curve, "negative_defects": neg})
        return {"batch": 40, "ps": ps, "laws": laws}

    def fake_limit(i, n):
        return _d_closed(i, n) + (0.001 if i == 1 else 0.0)

    for negs, want in (((0, 0), True), ((0, 2), False), ((1, 0), False)):
        monkeypatch.setattr(app_c2, "_subadditivity_data", lambda ctx, negs=negs: data_with(negs))
        out = app_c2._subadditivity(tiny_context("app-c.2/subadditivity"), limit=fake_limit)
        assert out.evidence["negative_defects"] == sum(negs)
        assert (out.status == Status.SUPPORTED) == want and (want or out.status == Status.REFUTED), (negs, out.status)
        tests = out.evidence["tests"]
        want_rows = [(cfg.n, i) for cfg, _, ii in app_c2._SUB_SPECS for i in ii]
        assert len(tests) == len(want_rows) == len(out.evidence["curves"])
        for t, row, (n, i) in zip(tests, out.evidence["curves"], want_rows):
            assert t["estimate"] == _d_closed(i, n) and t["se"] == 0.01 * (1 + ps[-1])
            assert t["prediction"] == fake_limit(i, n) and row["predicted limit"] == fake_limit(i, n)
            assert row["d_i(n)"] == _d_closed(i, n) and row["i"] == i
    # a limit off by 10 standard errors is inconsistent: refuted even with no negative defect
    monkeypatch.setattr(app_c2, "_subadditivity_data", lambda ctx: data_with((0, 0)))
    out = app_c2._subadditivity(tiny_context("app-c.2/subadditivity"), limit=lambda i, n: _d_closed(i, n) + 0.5)
    assert out.status == Status.REFUTED
