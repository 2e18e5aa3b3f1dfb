"""Tests of theory/fgln.py against independent references: torch autograd / forward-mode jvp for
gradients and dJ/dt, layer-by-layer evaluation for products, exact small cases for the definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theory import fgln


def _net(rng, ns, gates="general"):
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(len(ns) - 1)]
    if gates == "masked":
        ds = [(rng.random(ns[l]) < 0.6).astype(float) for l in range(1, len(ns) - 1)]
    else:
        ds = [rng.uniform(-2, 2, ns[l]) for l in range(1, len(ns) - 1)]
    return Ws, ds


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
        J = fgln.jacobian(Ws, ds)
        np.testing.assert_allclose(J, J_ref, atol=1e-13)
        A, B = fgln.prefix_suffix(Ws, ds)
        for l in range(len(Ws)):
            np.testing.assert_allclose(A[l] @ Ws[l] @ B[l], J, atol=1e-13)
            np.testing.assert_allclose(fgln.A_sec7(Ws, ds, l + 1), A[l], atol=1e-14)
            np.testing.assert_allclose(fgln.B_sec7(Ws, ds, l + 1), B[l], atol=1e-14)
        for a, b in zip(fgln.grad_weights(Ws, ds, G), g_ref):
            np.testing.assert_allclose(a, b, atol=1e-12)
        printed = fgln.grad_lemma_a1(Ws, ds, G)
        if gates == "masked":
            for a, b in zip(printed, g_ref):
                np.testing.assert_allclose(a, b, atol=1e-12)


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
    np.testing.assert_allclose(fgln.jdot_flow(Ws, ds, G), ref.numpy(), atol=1e-12)
    np.testing.assert_allclose(fgln.jdot_lemma_e1_corrected(Ws, ds, G), ref.numpy(), atol=1e-12)
    err = np.max(np.abs(fgln.jdot_lemma_e1(Ws, ds, G) - ref.numpy()))
    assert (err < 1e-12) == (gates == "masked")


def test_balanced_masked_init_is_balanced_and_hidden_entries_are_inert():
    rng = np.random.default_rng(3)
    ns = [4, 5, 6, 3]
    ds = [np.array([1, 1, 0, 1, 0.0]), np.array([0, 1, 1, 1, 0, 1.0])]
    Ws = fgln.balanced_masked_init(ns, ds, [1.5, 0.7], rng)
    for d in fgln.balance_defect(Ws, ds):
        assert np.max(np.abs(d)) < 1e-13
    Ws2 = fgln.balanced_masked_init(ns, ds, [1.5, 0.7], np.random.default_rng(3), junk=5.0)
    np.testing.assert_allclose(fgln.jacobian(Ws, ds), fgln.jacobian(Ws2, ds), atol=1e-13)
    assert np.allclose(np.linalg.svd(fgln.jacobian(Ws, ds), compute_uv=False)[:2], [1.5**3, 0.7**3])


def test_relu_mlp_is_multimode_fgln():
    rng = np.random.default_rng(4)
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((4, 5)), rng.standard_normal((2, 4))]
    for _ in range(20):
        x = rng.standard_normal(3)
        pat = fgln.activation_pattern(Ws, x)
        np.testing.assert_allclose(fgln.jacobian(Ws, list(pat)) @ x, fgln.relu_mlp(Ws, x), atol=1e-13)
    assert fgln.preactivation_margin(Ws, np.zeros(3)) == 0.0


def test_depth_scaling_eps_and_separation_ratios():
    eps, g, d = fgln.depth_scaling_eps(np.array([0.0, 1.0, 0.0]), np.array([1.0, 2.0, 3.0]))
    assert abs(eps - 0.5) < 1e-9 and abs(g) < 1e-9
    eps, g, d = fgln.depth_scaling_eps(2 * np.arange(1, 6) - 1.0, np.arange(1, 6))
    assert eps < 1e-9 and abs(g - 2) < 1e-9 and abs(d + 1) < 1e-9
    q = fgln.separation_ratios(np.diag([4.0, 2.0, 1.0]), 3)
    np.testing.assert_allclose(q, [0.5, 0.5, 0.0])


def test_section7_exact_regime():
    rng = np.random.default_rng(5)
    gam = np.array([0.4, -0.1, -0.5])
    L = 4
    Ws = fgln.shared_basis_chain(3, [np.exp(gam)] * L, rng)
    ds, G = [np.ones(3)] * (L - 1), rng.standard_normal((3, 3))
    d = fgln.section7_diagnostics(Ws, ds, G)  # (i) with the printed exponents
    assert d["eps"] < 1e-12 and np.max(d["fit_resid"]) < 1e-12 and d["resolved"].all()
    np.testing.assert_allclose(d["gamma"], gam, atol=1e-12)
    np.testing.assert_allclose(d["delta"], -gam, atol=1e-12)  # B_1 = I forces delta = -gamma
    np.testing.assert_allclose(fgln.prop71_printed(d) / d["sdot"], np.exp(-(2 + 2 / L) * gam), rtol=1e-9)
    np.testing.assert_allclose(fgln.prop71_exponent_sum(d) / d["sdot"], 1.0, rtol=1e-9)
    np.testing.assert_allclose(d["aligned"] / d["sdot"], 1.0, rtol=1e-9)
    f = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)  # exponents L - l and l - 1
    np.testing.assert_allclose(f["gamma"], gam, atol=1e-12)
    np.testing.assert_allclose(f["delta"], 0.0, atol=1e-12)
    np.testing.assert_allclose(fgln.prop71_printed(f) / f["sdot"], 1.0, rtol=1e-9)
    assert abs(fgln.prop71_printed(f, power=2 - 1 / L)[0] / f["sdot"][0] - 1) > 1e-3
    # Remark 7.2: (i) as printed holds on chains with an orthogonal last factor, the factor count on full chains
    Ms = fgln.rem72_chain(3, L, gam, rng)
    Md = [rng.standard_normal((3, 3)) for _ in range(L)]
    r = fgln.rem72_diagnostics(Ms, Md)
    assert r["eps"] < 1e-12 and np.max(r["fit_resid"]) < 1e-12
    np.testing.assert_allclose(r["first_order_sum"] / r["sdot"], 1.0, rtol=1e-9)
    assert np.max(np.abs(r["printed"] / r["sdot"] - 1)) > 1e-3
    Ms = fgln.rem72_chain(3, L, gam, rng, last_orthogonal=False)
    r = fgln.rem72_diagnostics(Ms, Md, fgln.FACTOR_COUNT_72)
    assert np.max(r["fit_resid"]) < 1e-12
    np.testing.assert_allclose(r["delta"], 0.0, atol=1e-12)
    np.testing.assert_allclose(r["printed"] / r["sdot"], 1.0, rtol=1e-9)
    literal = fgln.rem72_diagnostics(Ms, Md, fgln.FACTOR_COUNT_72, b_shift=1)  # U_{B_{l-1}}, T^+_{l-1}
    assert np.max(np.abs(literal["printed"] / literal["sdot"] - 1)) > 1e-3


def test_fit_depth_scaling_conventions():
    L, gam, dlt = 5, np.array([0.3, -0.2]), np.array([0.1, 0.4])
    ls = np.arange(1, L + 1)[:, None]
    for a, b in (fgln.PRINTED_EXPONENTS, fgln.FACTOR_COUNT_71, fgln.FACTOR_COUNT_72):
        logA, logB = (L - ls + 1 - a) * gam + dlt, (ls - b) * gam + dlt
        g, d, res = fgln.fit_depth_scaling(logA, logB, (a, b))
        np.testing.assert_allclose(g, gam, atol=1e-12)
        np.testing.assert_allclose(d, dlt, atol=1e-12)
        assert np.max(res) < 1e-12


def test_rounding_tol_never_underflows_and_matches_tol_in_range():
    from checks.tolerance import tol
    from theory.claims._networks import TINY, rounding_tol

    assert rounding_tol(3, scale=0.0) > 0
    assert rounding_tol(3, scale=1e-311, kernels=4) > 0
    assert rounding_tol(3, scale=1.0) == pytest.approx(tol(3, scale=1.0), rel=1e-12)
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
    np.testing.assert_allclose(rho, 1.0, atol=1e-9)  # U_{A_l} = U up to signs: diagonal


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
