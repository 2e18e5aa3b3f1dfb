"""Tests of theory/fgln.py against independent references: torch autograd / forward-mode jvp for
gradients and dJ/dt, layer-by-layer evaluation for products, exact small cases for the definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from checks.tolerance import cond, tol
from conftest import within
from theory import fgln


# HiGHS's default primal feasibility tolerance (scipy.optimize.linprog(method="highs")).
HIGHS_FEASIBILITY = 1e-7


def _net(rng, ns, gates="general"):
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(len(ns) - 1)]
    if gates == "masked":
        ds = [(rng.random(ns[l]) < 0.6).astype(float) for l in range(1, len(ns) - 1)]
    else:
        ds = [rng.uniform(-2, 2, ns[l]) for l in range(1, len(ns) - 1)]
    return Ws, ds


def _abs(xs):
    return [np.abs(x) for x in xs]


def _chain_tol(ns, scale, kernels=1):
    """A product chain through the widths ``ns`` errs entrywise by <= c (sum of inner widths) eps times
    the same chain of absolute values (``scale``: its largest entry)."""
    return tol(sum(ns), scale=float(scale), kernels=kernels)  # never 0: tol's underflow floor (zero chains)


def _autograd(Ws, ds, G):
    W = [torch.tensor(w, requires_grad=True) for w in Ws]
    J = W[0]
    for l in range(1, len(W)):
        J = W[l] @ (torch.tensor(ds[l - 1])[:, None] * J)
    return J.detach().numpy(), [g.numpy() for g in torch.autograd.grad(torch.sum(torch.tensor(G) * J), W)]


@pytest.mark.parametrize("gates", ["general", "masked"])
def test_products_and_gradients_against_autograd(gates):
    rng = np.random.default_rng(1)
    for ns in ([3, 4, 2, 5], [2, 2], [4, 1, 3, 3, 2]):
        Ws, ds = _net(rng, ns, gates)
        G = rng.standard_normal((ns[-1], ns[0]))
        J_ref, g_ref = _autograd(Ws, ds, G)
        # the same chains in absolute values bound every sum the products and gradients form
        J_abs, g_abs = _autograd(_abs(Ws), _abs(ds), np.abs(G))
        t_J = _chain_tol(ns, J_abs.max(), kernels=2)
        J = fgln.jacobian(Ws, ds)
        assert within(np.abs(J - J_ref), t_J, "J")
        A, B = fgln.prefix_suffix(Ws, ds)
        for l in range(len(Ws)):
            assert within(np.abs(A[l] @ Ws[l] @ B[l] - J), t_J, "A W B")
            assert within(np.abs(fgln.A_sec7(Ws, ds, l + 1) - A[l]), t_J, "A_sec7")
            assert within(np.abs(fgln.B_sec7(Ws, ds, l + 1) - B[l]), t_J, "B_sec7")
        for a, b, m in zip(fgln.grad_weights(Ws, ds, G), g_ref, g_abs):
            assert within(np.abs(a - b), _chain_tol(ns, m.max(), kernels=2), "gradient")
        printed = fgln.grad_lemma_a1(Ws, ds, G)
        if gates == "masked":
            for a, b, m in zip(printed, g_ref, g_abs):
                assert within(np.abs(a - b), _chain_tol(ns, m.max(), kernels=2), "gradient A.1")


def test_lemma_a1_minimal_counterexample_exact_values():
    Ws, ds, G = [np.array([[1.0]]), np.array([[1.0]])], [np.array([2.0])], np.array([[1.0]])
    assert fgln.grad_weights(Ws, ds, G)[0][0, 0] == 2.0
    assert fgln.grad_lemma_a1(Ws, ds, G)[0][0, 0] == 4.0


@pytest.mark.parametrize("gates", ["general", "masked"])
def test_jdot_against_jvp(gates):
    from torch.func import jvp

    rng = np.random.default_rng(2)
    Ws, ds = _net(rng, [3, 4, 4, 2], gates)
    G = rng.standard_normal((2, 3))
    _, g = _autograd(Ws, ds, G)

    def J_of(*W):
        J = W[0]
        for l in range(1, len(W)):
            J = W[l] @ (torch.tensor(ds[l - 1])[:, None] * J)
        return J

    _, ref = jvp(J_of, tuple(torch.tensor(w) for w in Ws), tuple(torch.tensor(-x) for x in g))
    # the same jvp in absolute values (|W|, |d|, |gradient|) bounds every sum; the gradient itself is
    # a chain too, so two chains deep
    _, g_abs = _autograd(_abs(Ws), _abs(ds), np.abs(G))

    def J_abs(*W):
        J = W[0]
        for l in range(1, len(W)):
            J = W[l] @ (torch.tensor(np.abs(ds[l - 1]))[:, None] * J)
        return J

    _, bound = jvp(J_abs, tuple(torch.tensor(np.abs(w)) for w in Ws), tuple(torch.tensor(x) for x in g_abs))
    t = _chain_tol([3, 4, 4, 2] * 2, bound.numpy().max(), kernels=2)
    assert within(np.abs(fgln.jdot_flow(Ws, ds, G) - ref.numpy()), t, "jdot")
    assert within(np.abs(fgln.jdot_lemma_e1_corrected(Ws, ds, G) - ref.numpy()), t, "jdot E.1 corrected")
    err = np.max(np.abs(fgln.jdot_lemma_e1(Ws, ds, G) - ref.numpy()))
    assert (err <= t) == (gates == "masked")


def test_balanced_masked_init_is_balanced_and_hidden_entries_are_inert():
    rng = np.random.default_rng(3)
    ns = [4, 5, 6, 3]
    ds = [np.array([1, 1, 0, 1, 0.0]), np.array([0, 1, 1, 1, 0, 1.0])]
    Ws = fgln.balanced_masked_init(ns, ds, [1.5, 0.7], rng)
    wmax = max(np.abs(w).max() for w in Ws)
    for d in fgln.balance_defect(Ws, ds):  # W^T W - W W^T: inner products of length <= 6
        assert within(np.abs(d), tol(max(ns), scale=max(ns) * wmax**2, kernels=2), "balance")
    Ws2 = fgln.balanced_masked_init(ns, ds, [1.5, 0.7], np.random.default_rng(3), junk=5.0)
    J_abs = fgln.jacobian(_abs(Ws), _abs(ds))
    assert within(np.abs(fgln.jacobian(Ws, ds) - fgln.jacobian(Ws2, ds)), _chain_tol(ns, J_abs.max(), kernels=2),
                  "junk inert")
    sv = np.linalg.svd(fgln.jacobian(Ws, ds), compute_uv=False)[:2]  # the chain, then the SVD (n eps s_1)
    assert within(np.abs(sv - [1.5**3, 0.7**3]), _chain_tol(ns, J_abs.max(), kernels=3), "balanced svals")


def test_relu_mlp_is_multimode_fgln():
    rng = np.random.default_rng(4)
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((4, 5)), rng.standard_normal((2, 4))]
    for _ in range(20):
        x = rng.standard_normal(3)
        pat = fgln.activation_pattern(Ws, x)
        bound = fgln.jacobian(_abs(Ws), list(pat)) @ np.abs(x)
        assert within(np.abs(fgln.jacobian(Ws, list(pat)) @ x - fgln.relu_mlp(Ws, x)),
                      _chain_tol([3, 5, 4, 2], bound.max(), kernels=2), "relu mlp")
    assert fgln.preactivation_margin(Ws, np.zeros(3)) == 0.0


def test_depth_scaling_eps_and_separation_ratios():
    # The LP (HiGHS) stops within its primal feasibility tolerance (1e-7 by default, relative to the
    # data), so eps, gamma, delta are exact only to that: a tolerance of 1e-7 x the data's scale,
    # still far below the exact answers' spacing (0.5, 2, 1)
    eps, g, d = fgln.depth_scaling_eps(np.array([0.0, 1.0, 0.0]), np.array([1.0, 2.0, 3.0]))
    lp = HIGHS_FEASIBILITY * 3.0
    assert within(abs(eps - 0.5), lp, "LP eps") and within(abs(g), lp, "LP gamma")
    eps, g, d = fgln.depth_scaling_eps(2 * np.arange(1, 6) - 1.0, np.arange(1, 6))
    lp = HIGHS_FEASIBILITY * 9.0
    assert within(eps, lp, "LP eps = 0") and within(abs(g - 2), lp, "LP gamma") and within(abs(d + 1), lp, "LP delta")
    q = fgln.separation_ratios(np.diag([4.0, 2.0, 1.0]), 3)
    assert np.array_equal(q, [0.5, 0.5, 0.0])  # the SVD of a diagonal of powers of 2 is exact


def _sdot_rel_tol(Ws, ds, G, sdot):
    """Relative tolerance on ds_k/dt = u_k^T Jdot v_k: Jdot sums L chains A_l A_l^T G B_l^T B_l whose
    entries err by ~ n L eps ||A_l||^2 ||B_l||^2 ||G||, against |sdot_k| (small modes: (s_1/s_k)^2 more)."""
    A, B = fgln.prefix_suffix(Ws, ds)
    scale = sum(np.linalg.norm(a, 2) ** 2 * np.linalg.norm(b, 2) ** 2 for a, b in zip(A, B)) * np.linalg.norm(G, 2)
    n, L = G.shape[0], len(Ws)
    return np.array([tol(n * L, kappa=scale / abs(x), kernels=3) for x in sdot])


def test_section7_exact_regime():
    rng = np.random.default_rng(5)
    gam = np.array([0.4, -0.1, -0.5])
    L = 4
    Ws = fgln.shared_basis_chain(3, [np.exp(gam)] * L, rng)
    ds, G = [np.ones(3)] * (L - 1), rng.standard_normal((3, 3))
    d = fgln.section7_diagnostics(Ws, ds, G)  # (i) with the printed exponents
    # exact regime: eps, the fit residuals and gamma, delta are rounding of SVDs of products of L layers,
    # ~ n L eps relative on the smallest singular value, i.e. kappa(J) = s_1/s_n absolutely in its log
    t_log = tol(3 * L, kappa=d["s"][0] / d["s"][-1])
    assert within(d["eps"], t_log, "eps (ii)") and within(d["fit_resid"], t_log, "fit residual") and d["resolved"].all()
    assert within(np.abs(d["gamma"] - gam), t_log, "gamma")
    assert within(np.abs(d["delta"] + gam), t_log, "delta")  # B_1 = I forces delta = -gamma
    rel = _sdot_rel_tol(Ws, ds, G, d["sdot"])
    assert within(np.abs(fgln.prop71_printed(d) / d["sdot"] / np.exp(-(2 + 2 / L) * gam) - 1), rel, "7.1 printed")
    assert within(np.abs(fgln.prop71_exponent_sum(d) / d["sdot"] - 1), rel, "7.1 exponent sum")
    assert within(np.abs(d["aligned"] / d["sdot"] - 1), rel, "7.1 aligned")
    f = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)  # exponents L - l and l - 1
    assert within(np.abs(f["gamma"] - gam), t_log, "gamma (factor count)")
    assert within(np.abs(f["delta"]), t_log, "delta (factor count)")
    assert within(np.abs(fgln.prop71_printed(f) / f["sdot"] - 1), rel, "7.1 factor count")
    # the off-by-one exponent is far outside that tolerance
    assert abs(fgln.prop71_printed(f, power=2 - 1 / L)[0] / f["sdot"][0] - 1) > 1e3 * rel[0]
    # Remark 7.2: (i) as printed holds on chains with an orthogonal last factor, the factor count on full chains;
    # relative tolerance on ds_k/dt from the size of its summands (term_scale) against |sdot_k|
    Ms = fgln.rem72_chain(3, L, gam, rng)
    Md = [rng.standard_normal((3, 3)) for _ in range(L)]
    r = fgln.rem72_diagnostics(Ms, Md)
    t_log = tol(3 * L, kappa=np.exp(L * (gam[0] - gam[-1])))
    rel = np.array([tol(3 * L, kappa=ts / abs(x), kernels=3) for ts, x in zip(r["term_scale"], r["sdot"])])
    assert within(r["eps"], t_log, "eps 7.2") and within(r["fit_resid"], t_log, "fit residual 7.2")
    assert within(np.abs(r["first_order_sum"] / r["sdot"] - 1), rel, "7.2 first order")
    assert np.max(np.abs(r["printed"] / r["sdot"] - 1) / rel) > 1e3
    Ms = fgln.rem72_chain(3, L, gam, rng, last_orthogonal=False)
    r = fgln.rem72_diagnostics(Ms, Md, fgln.FACTOR_COUNT_72)
    rel = np.array([tol(3 * L, kappa=ts / abs(x), kernels=3) for ts, x in zip(r["term_scale"], r["sdot"])])
    assert within(r["fit_resid"], t_log, "fit residual 7.2 full")
    assert within(np.abs(r["delta"]), t_log, "delta 7.2")
    assert within(np.abs(r["printed"] / r["sdot"] - 1), rel, "7.2 printed (factor count)")
    literal = fgln.rem72_diagnostics(Ms, Md, fgln.FACTOR_COUNT_72, b_shift=1)  # U_{B_{l-1}}, T^+_{l-1}
    assert np.max(np.abs(literal["printed"] / literal["sdot"] - 1) / rel) > 1e3


def test_fit_depth_scaling_conventions():
    L, gam, dlt = 5, np.array([0.3, -0.2]), np.array([0.1, 0.4])
    ls = np.arange(1, L + 1)[:, None]
    for a, b in (fgln.PRINTED_EXPONENTS, fgln.FACTOR_COUNT_71, fgln.FACTOR_COUNT_72):
        logA, logB = (L - ls + 1 - a) * gam + dlt, (ls - b) * gam + dlt
        g, d, res = fgln.fit_depth_scaling(logA, logB, (a, b))
        # least squares with a zero residual: ~ 2L eps kappa(X) |Y| (the design X of the offsets)
        lsv = np.arange(1, L + 1.0)
        X = np.concatenate([np.stack([L - lsv + 1 - a, np.ones(L)], 1), np.stack([lsv - b, np.ones(L)], 1)])
        t = tol(2 * L, kappa=cond(X), scale=max(np.abs(logA).max(), np.abs(logB).max()), kernels=2)
        assert within(np.abs(g - gam), t, "fit gamma")
        assert within(np.abs(d - dlt), t, "fit delta")
        assert within(res, t, "fit residual")


def test_rounding_tol_never_underflows_and_matches_tol_in_range():
    from theory.claims._networks import TINY, rounding_tol

    assert rounding_tol(3, scale=0.0) > 0
    assert rounding_tol(3, scale=1e-311, kernels=4) > 0
    assert rounding_tol(3, scale=1.0) == tol(3, scale=1.0)  # the same function: the same float
    assert rounding_tol(3, scale=1.0, unit=np.ldexp(TINY, 1000)) > tol(3, scale=1.0)
    assert rounding_tol(3, scale=np.inf) == np.inf


def test_no_shrink_restores_the_hypothesis_profile():
    from hypothesis import settings
    from theory.claims._networks import no_shrink

    before = settings.get_current_profile_name()
    seen = {}
    no_shrink(lambda ctx: seen.setdefault("phases", settings.default.phases))(None)
    assert settings.get_current_profile_name() == before
    assert "shrink" not in {p.name for p in seen["phases"]}


def test_section8_panels_shapes_and_perfect_alignment():
    rng = np.random.default_rng(6)
    L, n = 5, 4
    Ws = fgln.shared_basis_chain(n, [np.exp([0.5, 0.2, -0.1, -0.4])] * L, rng)
    ds = [np.ones(n)] * (L - 1)
    assert fgln.logsv_B_ladder(Ws, ds, 3).shape == (L, 3)
    rho = fgln.alignment_rho_ladder(Ws, ds)
    assert rho.shape == (L - 1,)
    # U_{A_l} = U up to signs: |U^T U_A| is I up to the SVDs' rounding (n eps / relative gap each); rho's
    # condition n^2 / Var(i) with Var(i) = (n^2 - 1) / 12 on the diagonal
    s = np.linalg.svd(fgln.jacobian(Ws, ds), compute_uv=False)
    gap = s[0] / np.min(-np.diff(s))
    assert within(np.abs(rho - 1.0), tol(n * n, kappa=gap * n**2 / ((n * n - 1) / 12), kernels=2), "aligned rho")


def test_fast_foil_stops_evaluating_after_the_first_failure():
    from hypothesis import strategies as st

    from checks import Comparison
    from checks.model import Context
    from checks.property import PropertyCheck
    from theory.claims._networks import fast_foil

    calls = []

    def wrong(x):
        calls.append(x)
        return Comparison(1.0, 0.0)

    pc = PropertyCheck(st.builds(dict, x=st.integers(0, 10)), lambda x: Comparison(0.0, 1.0), generated="integers")
    out = fast_foil(pc, wrong)(Context("def-4.1"))
    assert out.status.value == "refuted"
    assert len(calls) == 1
