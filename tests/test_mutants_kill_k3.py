"""Mutation-testing kills, round k3 (issue 17, part 6): helpers of app_e, sec4, sec5, sec6 checked against
their definitions."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from checks.tolerance import tol
from tests.conftest import within
from theory.claims import app_e, sec4, sec5, sec6


def test_full_profile_configs_are_valid_layer_models():
    """sec5._configs: every ladder config (quick, full, deep) is an (r, p, sigma)-model: integer n >= r >= 1,
    0 < p <= 1, sigma > 0, and the full profile adds the n = 8 config."""
    for name in ("quick", "full", "deep"):
        cfgs = sec5._configs(SimpleNamespace(profile=SimpleNamespace(name=name)))
        for c in cfgs:
            assert isinstance(c.n, int) and isinstance(c.r, int), c
            assert 1 <= c.r <= c.n and 0 < c.p <= 1 and c.sigma > 0, c
    full = sec5._configs(SimpleNamespace(profile=SimpleNamespace(name="full")))
    assert any(c.n == 8 and c.r == 4 for c in full)


def test_cluster_ladder_rungs_are_their_formulas():
    """sec6._cluster_ladder: per rung L = log(K/eps)/g, rho = e^{-L g}, eps = K rho, log_s = -L a - b exactly, and
    s6 is section6 of that same log_s (g = the smallest gap between clusters, K = max(1, ||C|| / lambda_min(C_rr)))."""
    rng = np.random.default_rng(3)
    sizes, n = (1, 2), 4
    r = sum(sizes)
    UA = np.linalg.qr(rng.standard_normal((n, n)))[0]
    B = rng.standard_normal((n, n))
    a = np.array([0.2, 0.9, 0.9, 1.8])  # cluster gaps 0.7 and 0.9: g = 0.7
    b = rng.standard_normal(n)
    K, bounds, rungs = sec6._cluster_ladder(sec6._key(UA), sec6._key(B), sizes, sec6._key(a), sec6._key(b))
    C = B @ B.T
    K_ref = max(1.0, np.linalg.norm(C, 2) / np.min(np.linalg.eigvalsh(C[:r, :r])))
    assert within(abs(K - K_ref), tol(n, scale=K_ref, kernels=4), "K")
    assert list(bounds) == [0, 1, 3]
    g = 0.7
    assert len(rungs) == len(sec6.EPS_LADDER)
    for e, rg in zip(sec6.EPS_LADDER, rungs):
        assert within(abs(rg.L - math.log(K / e) / g), tol(1, scale=rg.L, kernels=2), "L")
        assert within(abs(rg.rho - math.exp(-rg.L * g)), tol(1, scale=rg.rho * (1 + rg.L), kernels=2), "rho")
        np.testing.assert_array_equal(rg.log_s, -rg.L * a - b)
        ref = sec6.al.section6(-rg.L * a - b, UA, B, r)
        np.testing.assert_allclose(np.asarray(rg.s6.R, dtype=float), np.asarray(ref.R, dtype=float), rtol=0, atol=0)
    # B = I: ||C|| / lambda_min(C_rr) = 1, so K = max(1, 1) = 1 exactly
    K1, _, _ = sec6._cluster_ladder(sec6._key(UA), sec6._key(np.eye(n)), sizes, sec6._key(a), sec6._key(b))
    assert K1 == 1.0


def test_balanced_case_repeated_ties_the_two_largest_target_singular_values():
    """sec4._balanced_case(repeated=True): the drawn singular-value profile has s_1 = s_2 (a tie at the top) for
    every r >= 2, including r = 2; the rest of the draw is a valid case (L + 1 widths > r, L - 1 gates)."""
    seen_r = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        captured = {}
        orig = sec4.fgln.balanced_masked_init

        def spy(ns, ds, sv, rng_):
            captured["sv"] = np.array(sv, dtype=float)
            return orig(ns, ds, sv, rng_)

        sec4.fgln.balanced_masked_init = spy
        try:
            Ws, ds, T = sec4._balanced_case(rng, square=bool(seed % 2), repeated=True)
        finally:
            sec4.fgln.balanced_masked_init = orig
        sv = captured["sv"]
        r = len(sv)
        seen_r.add(r)
        assert np.all(np.diff(sv) <= 0), sv
        if r >= 2:
            assert sv[0] == sv[1] and (r == 2 or sv[2] < sv[1]), sv
        assert len(ds) == len(Ws) - 1
    assert {2, 3} <= seen_r


def test_tie_study_lapack_formula_sums_to_the_rellich_trace():
    """app_e._tie_study: at a tie s_1 = s_2 any SVD basis of the tied pair is (X_2 R, Y_2 R) for one rotation R, so
    the sum over the pair of the formula u_k^T J1 v_k in LAPACK's basis equals trace(C_block) = the sum of the
    Rellich-basis values; each Rellich value is an eigenvalue of sym(C_block) (their sum is its trace)."""
    ctx = SimpleNamespace(rng=lambda name: np.random.default_rng(11), pick=lambda quick=None, **_: 3,
                          memo=lambda key, fn: fn())
    d = app_e._tie_study(ctx)
    assert len(d["cases"]) == 3
    for row in d["cases"]:
        lap, rel = np.array(row["formula_lapack_basis"]), np.array(row["formula_rellich_basis"])
        assert lap.shape == (2,) and rel.shape == (2,)
        scale = float(np.max(np.abs(rel))) + float(np.max(np.abs(lap)))
        assert within(abs(lap.sum() - rel.sum()), tol(row["n"], scale=scale, kernels=6), "trace")
        assert rel[0] >= rel[1] - tol(row["n"], scale=scale, kernels=6)
        # one-sided derivatives of the ordered pair: right = the Rellich branches in order, left = swapped
        right, left = np.array(row["one_sided_right"]), np.array(row["one_sided_left"])
        assert right.shape == (2,) and left.shape == (2,)
        assert within(np.abs(right - rel), app_e.TOL_KINK, "right")
        assert within(np.abs(left - rel[::-1]), app_e.TOL_KINK, "left")
    assert len(d["differentiable_tie_err"]) == 3
    assert within(max(d["differentiable_tie_err"]), app_e.TOL_KINK, "differentiable")


def test_app_e_exponent_foils_use_the_exponents_their_labels_state():
    """Every app_e foil that moves an exponent (keyword s_power / delta_power) evaluates the exponent its label
    prints: 's_k^{X}' -> s_power = X ('s_k' with no power -> 1), 'e^{(X) delta' -> delta_power = X ('e^{delta}' -> 1),
    compared symbolically in L."""
    import functools
    import re

    from checks.model import REGISTRY

    L = app_e.Lsym
    parse = lambda t: app_e.sp.sympify(t, locals={"L": L})
    n_checked = 0
    for c in REGISTRY.values():
        if c.module != app_e.__name__:
            continue
        for f in list(c.foils) + (list(c.corrected.foils) if c.corrected else []):
            kw = f.check.keywords if isinstance(f.check, functools.partial) else {}
            if "s_power" in kw:
                m = re.search(r"s_k\^\{([^}]*)\}", f.statement)
                want = parse(m.group(1)) if m else 1
                assert m or re.search(r"s_k(?!\^)", f.statement), f.statement
                assert app_e.sp.simplify(kw["s_power"] - want) == 0, (c.id, f.statement, kw)
                n_checked += 1
            if "delta_power" in kw:
                m = re.search(r"e\^\{\(([^)]*)\) delta", f.statement)
                want = parse(m.group(1)) if m else 1
                assert m or "e^{delta}" in f.statement, f.statement
                assert app_e.sp.simplify(kw["delta_power"] - want) == 0, (c.id, f.statement, kw)
                n_checked += 1
    assert n_checked >= 5


def test_sign_i1_statistics_are_recomputed_from_the_same_layers():
    """sec5._sign_i1: from the same generator stream ('sign-i1'), recompute with numpy the explicit products
    J_L = M_L ... M_1 of each draw, log||J_L e_1|| (the first column) and log s_1(J_L) (2-norm), and compare the
    reported means E log||J_L e_1|| - L gamma_1, E log s_1 - L gamma_1, E[log s_1 - log||J e_1||] and the pathwise
    minimum (>= 0 up to rounding: s_1 >= ||J e_1||)."""
    from checks.model import Context

    d = sec5._sign_i1(Context("thm-5.3/ordering"))
    cfg, L = sec5.Config(4, 0.5, 1.0, 2), 16
    assert d["L"] == L and d["config"] == cfg.label()
    batch = 2000
    g = Context("thm-5.3/ordering").torch_generator("sign-i1")
    mats = sec5.samplers.layer(batch * L, cfg.n, cfg.r, cfg.p, cfg.sigma, g).reshape(batch, L, cfg.n, cfg.n).numpy()
    J = np.broadcast_to(np.eye(cfg.n), (batch, cfg.n, cfg.n)).copy()
    for ell in range(L):
        J = mats[:, ell] @ J
    le1 = np.log(np.linalg.norm(J[:, :, 0], axis=1))
    ls1 = np.log(np.linalg.norm(J, 2, axis=(1, 2)))
    gam1 = float(sec5.lyapunov.gamma(cfg.n, cfg.p, cfg.sigma, cfg.r)[0])
    scale = float(np.max(np.abs(ls1))) + float(np.max(np.abs(le1))) + L * abs(gam1)
    t = tol(cfg.n * L, scale=scale, kernels=4)
    assert within(abs(d["E log||J_L e_1|| - L gamma_1"] - (le1.mean() - L * gam1)), t, "e1 mean")
    assert within(abs(d["E log s_1 - L gamma_1"] - (ls1.mean() - L * gam1)), t, "s1 mean")
    assert within(abs(d["E[log s_1 - log||J_L e_1||]"] - (ls1 - le1).mean()), t, "gap mean")
    assert within(abs(d["min pathwise log s_1 - log||J_L e_1||"] - (ls1 - le1).min()), t, "gap min")
    assert d["min pathwise log s_1 - log||J_L e_1||"] >= -t
    from checks import stats

    assert within(abs(d["se"] - stats.mean_se(le1)[1]), t, "se")
    assert within(abs(d["se_gap"] - stats.mean_se(ls1 - le1)[1]), t, "se gap")
    assert d["printed_prediction (d_0 - d_1)"] == -sec5.lyapunov.d(1, cfg.n)


def test_rem72_corrected_depth_errors_are_prediction_minus_actual(monkeypatch):
    """sec7._rem72_corrected_check hands _depth_tests, per deep-regime draw, the relative error
    |pred_k - sdot_k| / scale_k with pred = e^{(1+1/L) delta} s^{1-1/L} (factored sum) (the corrected exponent):
    recomputed here on the draws it was given; on those draws this error is small relative to 1 for the
    first-order-accurate modes k < n (the median is below 1/2)."""
    from checks.model import Context
    from theory.claims import sec7

    class _Tiny(Context):
        def pick(self, **per_profile):
            v = super().pick(**per_profile)
            return min(v, 6) if isinstance(v, int) else v

    seen = []

    def spy(deep, errors, modes, z):
        seen.append((deep, errors, list(modes)))
        return [], {}

    monkeypatch.setattr(sec7, "_depth_tests", spy)
    monkeypatch.setattr(sec7, "_figure", lambda *a, **k: {})
    sec7._rem72_corrected_check(_Tiny("rem-7.2"))
    deep, errors, modes = seen[0]
    n_checked = 0
    for L, rows in deep.items():
        for d in rows:
            pred = np.exp((1 + 1 / d["L"]) * d["delta"]) * d["s"] ** (1 - 1 / d["L"]) * d["factored_sum"]
            ref = np.abs(pred - d["sdot"]) / d["scale"]
            got = errors(d)
            assert within(np.abs(got - ref), tol(len(d["s"]), scale=1.0 + float(np.max(np.abs(ref))), kernels=4), "errors")
            n_checked += 1
    assert n_checked >= 6
    rel = np.array([errors(d) for rows in deep.values() for d in rows])
    assert modes and np.all(np.median(rel[:, modes], axis=0) < 0.5)
    n = len(sec7.DEEP_GAMMAS)
    assert all(k < n - 1 for k in seen[0][2]) and set(seen[1][2]) <= {n - 1}
    assert seen[1][0] is deep and seen[1][1] is errors


def test_rem72_predict_is_its_formula():
    """sec7._rem72_predict(d, power) = e^{(1+1/L) delta} s^{power} * factored_sum, power defaulting to 1 - 1/L,
    on random positive s, signed delta and factored sums, L in 2..7."""
    from theory.claims import sec7

    rng = np.random.default_rng(7)
    for L in range(2, 8):
        d = {"L": L, "delta": rng.normal(size=3), "s": np.exp(rng.normal(size=3)), "factored_sum": rng.normal(size=3)}
        for power in (None, 0.3, 1 - 1 / L + 0.1):
            p = 1 - 1 / L if power is None else power
            ref = np.exp((1 + 1 / L) * d["delta"]) * d["s"] ** p * d["factored_sum"]
            got = sec7._rem72_predict(d, power)
            assert within(np.abs(got - ref), tol(3, scale=float(np.max(np.abs(ref))), kernels=4), "predict")
