"""Helpers that a fresh mutation sample (issue 17, part 6, seed 1) found unchecked, each compared with an
independent computation from its definition, at its zeros and away from them:

- ``theory.claims._ladder``: the point test's resolution (power 0.9 by the two-sided power's definition),
  ``constant_resolution`` (the worst test), ``decide`` (rows, powers, worst gap, resolution list) and the
  per-index constants (telescoping to d_K, and the foils' factors);
- ``theory.claims.app_a``: the proof-products evidence ``_products_reproduce_J`` (0 for 0/1 gates, > 0 for
  general gates, and the same numbers as an explicit product) and the sympy minimal counterexample;
- ``theory.dynamics.train_mnist_fgln``: minibatch SGD / Adam on a tiny synthetic pool against the same draws
  and updates written out (minibatch slicing, passes, gates, accuracy);
- ``theory.gate_law.numerical_rank``: the count of singular values above ``rtol * s_1`` on matrices with
  prescribed singular values;
- ``theory.reference``: ``mp_log_svals`` (product order, rectangular layers, its -inf floor at
  ``s_1 10^-(dps-20)`` on both sides, padding with -inf) and ``naive_log_svals``;
- ``theory.subadditive.remainder`` on both branches (Fraction and mpmath) for every family.

Tolerances: ``checks.tolerance.tol`` from float64 eps, operation counts and the size of the numbers; exact
where the computation is exact (rationals, binary-exact floats).
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from scipy.stats import norm

from checks import stats
from checks.tolerance import tol
from conftest import within
from theory import fgln, gate_law, lyapunov, reference, subadditive
from theory.claims import _ladder

# ----------------------------------------------------------------------------------------------
# theory.claims._ladder: resolution, decide, constants
# ----------------------------------------------------------------------------------------------


def _bracket(**kw):
    base = dict(label="t", K=2, v=1.0, v_se=0.01, w=2.0, w_se=0.01, m=64, u=1.5, u_se=0.05, slack=0.3,
                slack_se=0.02, u_skew=0.8)
    base.update(kw)
    return _ladder.Bracket(**base)


def _mp_two_sided_power(delta, se, z):
    """P(|N(delta, se^2)| > z se) in 30 digits (the two-sided test's power, from its definition)."""
    with mp.workdps(30):
        x = mp.mpf(delta) / se
        return float(1 - mp.ncdf(z - x) + mp.ncdf(-z - x))


@pytest.mark.parametrize("skew", [0.0, 0.8, -1.7])
@pytest.mark.parametrize("crit", [1.0, 1.96, 3.2])
def test_bracket_resolution_is_the_deviation_rejected_with_power_0_9(skew, crit):
    """resolution(crit) = delta with P(|u_hat - c| > point_crit se_u) = 0.9 when E u_hat - c = delta (the far
    tail adds at most Phi(-2 point_crit - z_0.9)); a smaller deviation has less power, a larger one more."""
    b = _bracket(u_skew=skew, u_se=0.037)
    pc = b.point_crit(crit)
    res = b.resolution(crit)
    assert res > 0
    far_tail = float(norm.cdf(-2 * pc - norm.ppf(0.9)))
    p = _mp_two_sided_power(res, b.u_se, pc)
    assert 0.9 - tol(8) <= p <= 0.9 + far_tail + tol(8), (p, far_tail)
    # monotone around it: 0.99 res is rejected with power < 0.9, 1.01 res with power > 0.9 (not a tie)
    assert _mp_two_sided_power(0.99 * res, b.u_se, pc) < 0.9 < _mp_two_sided_power(1.01 * res, b.u_se, pc)
    # and it is the SE-scaled form (crit' + z_0.9) se of checks.Resolution.from_se at crit' = point_crit
    assert within(abs(res - (pc + float(norm.ppf(0.9))) * b.u_se), tol(1, scale=res, kernels=3), "form")


def test_constant_resolution_reports_the_worst_test_and_names_the_best():
    """constant_resolution's value is the largest relative resolution of the list (the worst test), whatever
    the order of the entries and of the K's; the best is the smallest."""
    res = [(0.08, {"L": 4}, 3), (0.31, {"L": 8}, 1), (0.02, {"L": 16}, 2), (0.11, {"L": 2}, 4)]
    for order in (res, res[::-1], res[1:] + res[:1]):
        r = _ladder.constant_resolution(order, "c of d_K", nearest=0.5, statement="factor 1.5")
        assert r.value == 0.31
        assert r.unit == "relative" and r.nearest_slip == 0.5
        assert "K = 1" in r.how and "{'L': 8}" in r.how and "0.02" in r.how


def test_cumulative_constants_telescope_to_d_K_and_foils_are_their_factors():
    """sum_{i<=K} (d_i - d_{i-1}) = d_K; printed = -corrected; the foils are 1/2, 3/2 and 2 times corrected."""
    for n in (3, 8):
        for K in range(1, n + 1):
            dK = lyapunov.d(K, n)
            got = _ladder.cumulative(_ladder.corrected_constant, K, n)
            assert within(abs(got - dK), tol(2 * K, scale=max(abs(dK), 1.0), kernels=2), f"telescoping K={K}")
            for f, fac in ((_ladder.printed_constant, -1.0), (_ladder.halved_constant, 0.5),
                           (_ladder.scaled_constant, 1.5), (_ladder.doubled_constant, 2.0)):
                want = fac * (lyapunov.d(K, n) - lyapunov.d(K - 1, n))
                assert within(abs(f(K, n) - want), tol(1, scale=max(abs(want), 1.0), kernels=2), f.__name__)


def test_decide_rows_powers_worst_and_resolutions():
    """decide: one row per bracket with predicted d_K = cumulative(constant, K, n); the powers and the
    resolution list are the brackets' own at that prediction (divided by d_K); worst is the largest gap; bad
    are exactly the violated ones."""
    n, crit = 6, 2.5
    dks = {K: lyapunov.d(K, n) for K in (1, 2, 3)}
    items = [({"L": 4}, n, _bracket(K=1, v=dks[1] - 0.05, w=dks[1] + 0.2, u=dks[1] + 0.01, u_se=0.02)),
             ({"L": 8}, n, _bracket(K=2, v=dks[2] - 0.05, w=dks[2] + 0.2, u=dks[2] + 0.3, u_se=0.01)),  # violated
             ({"L": 16}, n, _bracket(K=3, v=dks[3] - 0.05, w=dks[3] + 0.2, u=dks[3], u_se=0.04, u_skew=0.0))]
    rows, powers, worst, bad, inconsistent, res = _ladder.decide(items, _ladder.corrected_constant, crit)
    assert len(rows) == 3 and len(powers) == 3 and len(res) == 3 and inconsistent == []
    gaps = []
    for row, (label, nn, b), p, (rv, rl, rK) in zip(rows, items, powers, res):
        c = _ladder.cumulative(_ladder.corrected_constant, b.K, nn)
        assert row["predicted d_K"] == c and row["exact d_K"] == dks[b.K]
        assert p == b.power(c, crit)
        assert rl == label and rK == b.K
        assert within(abs(rv - b.resolution(crit) / dks[b.K]), tol(1, scale=rv, kernels=2), "relative resolution")
        gaps.append(b.gap(c, crit))
    assert worst[0] == max(gaps) and worst[1] == {"L": 8} and worst[2] is items[1][2]
    assert [it for _, it in bad] == [items[1]]


# ----------------------------------------------------------------------------------------------
# theory.claims.app_a: the proof's products and the minimal counterexample
# ----------------------------------------------------------------------------------------------


def _explicit_products_errors(Ws, ds):
    """max |A W_l B - J| for l = 1..4, A = M_{l+1:L} D_l, B = M_{1:l-1}, M_l = D_l W_l D_{l-1} (D_0 = D_L = I),
    written out as explicit matrix products (no fgln helper)."""
    L = len(Ws)
    D = [np.eye(4)] + [np.diag(d) for d in ds] + [np.eye(4)]
    M = [D[l] @ Ws[l - 1] @ D[l - 1] for l in range(1, L + 1)]
    J = Ws[0]
    for l in range(2, L + 1):
        J = Ws[l - 1] @ D[l - 1] @ J
    errs = []
    for l in range(1, L + 1):
        A = np.eye(4)
        for k in range(l + 1, L + 1):
            A = M[k - 1] @ A
        B = np.eye(4)
        for k in range(1, l):
            B = M[k - 1] @ B
        errs.append(float(np.max(np.abs(A @ D[l] @ Ws[l - 1] @ B - J))))
    return errs, J


def test_products_reproduce_J_is_zero_for_masks_only():
    """The evidence 'proof_products_reproduce_J' of lem-a.1: for 0/1 gates A W_l B = J at every l (rounding only);
    for general gates it is off (D_l^2 != D_l) by the explicit products' amount."""
    from theory.claims import app_a

    out = app_a._products_reproduce_J()
    rng = np.random.default_rng(3)  # the draws of _products_reproduce_J, in its order
    ds01 = [(rng.random(4) < 0.5).astype(float) for _ in range(3)]
    dsg = [rng.uniform(-2, 2, 4) for _ in range(3)]
    for kind, ds in (("0/1 gates", ds01), ("general gates", dsg)):
        Ws = [rng.standard_normal((4, 4)) for _ in range(4)]
        want, J = _explicit_products_errors(Ws, ds)
        g = max(1.0, max(float(np.max(np.abs(d))) for d in ds))
        # 4 layers of 4 x 4 products, gates up to |g| (squared in the two-sided suffix)
        scale = math.prod(np.linalg.norm(W, 2) for W in Ws) * g ** 8
        t = tol(4, scale=scale, kernels=10)
        got = out[kind]["per_l"]
        assert len(got) == 4 and out[kind]["max_|A W_l B - J|_over_l"] == max(got)
        assert within(np.abs(np.array(got) - np.array(want)), t, kind)
        if kind == "0/1 gates":
            assert within(np.array(got), t, "masked: A W_l B = J")
        else:
            assert max(got) > 1e3 * t and max(got) > 0.01 * np.max(np.abs(J)), got


def test_minimal_counterexample_values():
    """n = 1, L = 2, w1 = w2 = 1, d = 2: true dL/dw1 = d w2 = 2; printed d * (w2 d) = 4."""
    from theory.claims import app_a

    c = app_a._minimal_counterexample_sympy()
    assert c["true_value"] == 2 and c["printed_value"] == 4
    import sympy as sp

    w2, d = sp.symbols("w2 d")
    assert sp.simplify(sp.sympify(c["printed_minus_true"]) - d * (d - 1) * w2) == 0


# ----------------------------------------------------------------------------------------------
# theory.dynamics.train_mnist_fgln on a tiny synthetic pool
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opt_name,kw", [("sgd", dict(lr=0.05, momentum=0.5)), ("adam", dict(lr=1e-2))])
def test_train_mnist_fgln_is_minibatch_descent_on_its_draws(opt_name, kw):
    """Minibatches of ``batch`` rows (M // batch per pass, a fresh permutation each pass), gates D_1..D_{L-1},
    the hidden block before and after, and the reported accuracy, against the same draws written out."""
    import torch

    from theory import dynamics

    rng = np.random.default_rng(11)
    M, n, L, batch, steps, p = 12, 3, 3, 5, 5, 0.5
    imgs = rng.integers(0, 256, (M, 2, 3), dtype=np.uint8)
    X = imgs.astype(np.float32) / np.float32(255.0)
    y = rng.integers(0, 10, M)
    gen = torch.Generator()
    gen.manual_seed(7)
    run = dynamics.train_mnist_fgln(X, y, n=n, L=L, p=p, optimizer=opt_name, steps=steps, batch=batch, gen=gen,
                                    evaluate=(imgs, y), dtype="float64", **kw)
    d_in = 6
    gen = torch.Generator()
    gen.manual_seed(7)
    W_in = torch.randn(n, d_in, generator=gen, dtype=torch.float64) / np.sqrt(d_in)
    Wh = (1.0 / np.sqrt(n)) * torch.randn(L, n, n, generator=gen, dtype=torch.float64)
    W_out = torch.randn(10, n, generator=gen, dtype=torch.float64) / np.sqrt(n)
    D = (torch.rand(L - 1, n, generator=gen, dtype=torch.float64) < p).double()
    params = [W_in.clone().requires_grad_(), *[w.clone().requires_grad_() for w in Wh],
              W_out.clone().requires_grad_()]
    Xf = (torch.from_numpy(X.reshape(M, d_in)).double() - dynamics.MNIST_MEAN) / dynamics.MNIST_STD
    yt = torch.as_tensor(y)

    def forward(x):  # x: (d_in, b)
        h = params[1] @ (params[0] @ x)
        for l in range(1, L):
            h = params[1 + l] @ (D[l - 1][:, None] * h)
        return params[-1] @ h

    state = [[torch.zeros_like(w), torch.zeros_like(w)] for w in params]
    per_pass = M // batch
    for step in range(steps):
        if step % per_pass == 0:
            perm = torch.randperm(M, generator=gen)
        idx = perm[(step % per_pass) * batch:(step % per_pass + 1) * batch]
        assert idx.numel() == batch
        loss = torch.nn.functional.cross_entropy(forward(Xf[idx].T).T, yt[idx])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, g, (m1, m2) in zip(params, grads, state):
                if opt_name == "sgd":  # heavy ball: v = mu v + g (v = g at the first step), w -= lr v
                    m1.copy_(kw["momentum"] * m1 + g if step else g)
                    w -= kw["lr"] * m1
                else:  # Adam, betas (0.9, 0.999), eps 1e-8, bias-corrected
                    m1.copy_(0.9 * m1 + 0.1 * g)
                    m2.copy_(0.999 * m2 + 0.001 * g * g)
                    w -= kw["lr"] * (m1 / (1 - 0.9 ** (step + 1))) / ((m2 / (1 - 0.999 ** (step + 1))).sqrt() + 1e-8)
    assert len(run.ds) == L - 1 and len(run.Ws) == L and len(run.Ws0) == L
    np.testing.assert_array_equal(np.array(run.ds), D.numpy())
    for a0, b0 in zip(run.Ws0, Wh):
        np.testing.assert_array_equal(a0, b0.numpy())
    for a, a0, b in zip(run.Ws, run.Ws0, params[1:-1]):
        # same float64 arithmetic, possibly in another order: the rounding of each step's gradient (inner
        # products of length d_in + batch through 2L + 2 products) on the scale of the total update, and the
        # steps' subtractions on the scale of the weights
        bound = (tol(d_in + batch, scale=np.abs(a - a0).max(), kernels=(2 * L + 2) * steps)
                 + tol(1, scale=np.abs(a).max(), kernels=2 * steps))
        assert within(np.abs(a - b.detach().numpy()).max(), bound, opt_name)
    # it did train (seed 7 draws gates with two open coordinates each: no layer is cut off)
    assert D.sum(1).min() >= 1
    for a, a0 in zip(run.Ws, run.Ws0):
        assert np.abs(a - a0).max() > 1e3 * tol(1, scale=np.abs(a0).max())
    with torch.no_grad():
        pred = forward(Xf.T).argmax(0).numpy()
    assert run.acc == float(np.mean(pred == y)) and run.test_acc is None
    assert run.settings["batch"] == batch and run.settings["pool"] == M and len(run.loss) >= 1


def test_train_mnist_fgln_depth_one_has_no_gates():
    """L = 1: J = W_1 (D_0 = D_L = I), so no hidden gates are returned; the single layer trains as plain SGD on
    x -> W_out W_1 W_in x (checked against the same draws: one gate row is drawn and discarded)."""
    import torch

    from theory import dynamics

    rng = np.random.default_rng(12)
    M, n, batch = 8, 3, 4
    X = rng.random((M, 5)).astype(np.float32)
    y = rng.integers(0, 10, M)
    gen = torch.Generator()
    gen.manual_seed(1)
    run = dynamics.train_mnist_fgln(X, y, n=n, L=1, p=0.5, steps=2, batch=batch, gen=gen, lr=0.1, dtype="float64")
    assert run.ds == [] and len(run.Ws) == 1 and len(run.Ws0) == 1
    gen = torch.Generator()
    gen.manual_seed(1)
    W_in = (torch.randn(n, 5, generator=gen, dtype=torch.float64) / np.sqrt(5)).requires_grad_()
    W1 = ((1.0 / np.sqrt(n)) * torch.randn(1, n, n, generator=gen, dtype=torch.float64))[0].clone().requires_grad_()
    W_out = (torch.randn(10, n, generator=gen, dtype=torch.float64) / np.sqrt(n)).requires_grad_()
    torch.rand(1, n, generator=gen, dtype=torch.float64)
    np.testing.assert_array_equal(run.Ws0[0], W1.detach().numpy())
    Xf = (torch.from_numpy(X).double() - dynamics.MNIST_MEAN) / dynamics.MNIST_STD
    perm = torch.randperm(M, generator=gen)
    for step in range(2):
        idx = perm[step * batch:(step + 1) * batch]
        loss = torch.nn.functional.cross_entropy((W_out @ (W1 @ (W_in @ Xf[idx].T))).T, torch.as_tensor(y)[idx])
        grads = torch.autograd.grad(loss, [W_in, W1, W_out])
        with torch.no_grad():
            for w, g in zip((W_in, W1, W_out), grads):
                w -= 0.1 * g
    a, a0 = run.Ws[0], run.Ws0[0]
    bound = tol(5 + batch, scale=np.abs(a - a0).max(), kernels=8) + tol(1, scale=np.abs(a).max(), kernels=4)
    assert within(np.abs(a - W1.detach().numpy()).max(), bound, "L = 1")
    assert np.abs(a - a0).max() > 1e3 * bound


# ----------------------------------------------------------------------------------------------
# theory.gate_law.numerical_rank
# ----------------------------------------------------------------------------------------------


def _with_svals(s, rng, m=None):
    n = len(s)
    m = n if m is None else m
    U = np.linalg.qr(rng.standard_normal((n, n)))[0]
    V = np.linalg.qr(rng.standard_normal((m, m)))[0]
    S = np.zeros((n, m))
    S[:n, :n] = np.diag(s) if m >= n else 0
    return U @ S @ V.T


@pytest.mark.parametrize("scale", [1e-7, 1.0, 3e8])
def test_numerical_rank_counts_singular_values_above_rtol_s1(scale):
    """numerical_rank(m, rtol) = #{k : s_k > rtol s_1}: scale-free, on prescribed spectra with gaps of several
    decades around the threshold (the rounding of U diag(s) V^T, ~eps s_1, stays far below rtol s_1)."""
    rng = np.random.default_rng(2)
    s = np.array([1.0, 0.4, 1e-3, 1e-8, 0.0]) * scale
    A = _with_svals(s, rng, m=6)
    for rtol, want in ((0.5, 1), (1e-2, 2), (1e-6, 3), (1e-11, 4)):
        assert gate_law.numerical_rank(A, rtol) == want, (rtol, want)
        assert gate_law.numerical_rank(A.T, rtol) == want
    # a single nonzero singular value, and the edges: 1 x 1, zero, empty
    assert gate_law.numerical_rank(np.outer([1.0, 2.0, 3.0], [1.0, -1.0]) * scale, 1e-8) == 1
    assert gate_law.numerical_rank(np.array([[-2.5 * scale]]), 1e-8) == 1
    assert gate_law.numerical_rank(np.zeros((3, 2)), 1e-8) == 0
    assert gate_law.numerical_rank(np.zeros((0, 3)), 1e-8) == 0


# ----------------------------------------------------------------------------------------------
# theory.reference
# ----------------------------------------------------------------------------------------------


def test_mp_log_svals_is_the_product_spectrum_in_order():
    """log singular values of mats[L-1] ... mats[0] (mats[0] acts first; singular values of AB and BA differ
    for non-normal factors), rectangular layers allowed, descending; naive_log_svals the same in float64."""
    rng = np.random.default_rng(7)
    A, B, C = rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    want = np.log(np.linalg.svd(C @ B @ A, compute_uv=False))
    other = np.log(np.linalg.svd(A @ B @ C, compute_uv=False))
    assert np.max(np.abs(want - other)) > 1e-3  # the order is visible
    kappa = float(np.exp(want[0] - want[-1]))
    t = tol(4, kappa=kappa, kernels=6)
    got = reference.mp_log_svals([A, B, C], 40)
    assert got.shape == (4,) and np.all(np.diff(got) <= 0)
    assert within(np.abs(got - want), t, "mp product order")
    assert within(np.abs(reference.naive_log_svals(np.stack([A, B, C])) - want), 2 * t, "naive")
    # rectangular: (2 x 3) @ (3 x 5) has 2 singular values; padded to 5 with -inf (log 0)
    R1, R2 = rng.standard_normal((3, 5)), rng.standard_normal((2, 3))
    want = np.log(np.linalg.svd(R2 @ R1, compute_uv=False))
    got = reference.mp_log_svals([R1, R2], 40, pad_to=5)
    assert got.shape == (5,)
    assert within(np.abs(got[:2] - want), tol(3, kappa=float(np.exp(want[0] - want[1])), kernels=4), "rect")
    assert np.all(np.isneginf(got[2:]))
    assert reference.mp_log_svals([R1, R2], 40, pad_to=1).shape == (2,)  # never truncates


@pytest.mark.parametrize("dps", [30, 45])
def test_mp_log_svals_floor_is_s1_times_10_to_minus_dps_minus_20(dps):
    """Values below s_1 10^-(dps-20) are -inf, values above are kept: checked a factor 3 on each side of the
    floor (diagonal factors: the product is exact at dps digits)."""
    floor = 10.0 ** (-(dps - 20))
    s1 = 4.0
    below, above = 0.3 * floor * s1, 3.0 * floor * s1
    D1 = np.diag([s1, above, below, 0.0])
    got = reference.mp_log_svals([D1, np.eye(4)], dps)
    assert got[0] == pytest.approx(math.log(s1), rel=tol(4))
    assert within(abs(got[1] - math.log(above)), tol(4, scale=abs(math.log(above))), "above the floor")
    assert np.isneginf(got[2]) and np.isneginf(got[3])
    # a scale on the product moves the floor with s_1
    got2 = reference.mp_log_svals([D1 * 1e5, np.eye(4)], dps)
    assert np.isfinite(got2[1]) and np.isneginf(got2[2])


# ----------------------------------------------------------------------------------------------
# theory.subadditive.remainder on both branches
# ----------------------------------------------------------------------------------------------


def _f_mp(kind, c, L):
    c, Lm = mp.mpf(c), mp.mpf(L)
    return {"inv": c / Lm, "inv-neg": -c / Lm, "geom": c / mp.mpf(2) ** L, "invsqrt": c / mp.sqrt(Lm),
            "log": c * mp.log(Lm), "loglin": c * mp.log(Lm) / Lm, "sqrt": c * mp.sqrt(Lm),
            "parity": c * (L % 2)}[kind]


@pytest.mark.parametrize("kind", subadditive.MEETS + subadditive.VIOLATES)
def test_remainder_is_the_family_remainder(kind):
    """remainder(u, a, d, L) = u_L - a L - d = f(L) for u = family(kind, a, d, c): exactly for rational parameters
    (where the family is exact), to mpmath precision on the mpmath branch (float parameters)."""
    for L in (1, 2, 5, 13):
        a, d, c = 1.75, -0.5, 0.625  # binary-exact, so the Fraction and float families are the same sequence
        u = subadditive.family(kind, a, d, c)
        got = subadditive.remainder(u, a, d, L)
        want = _f_mp(kind, c, L)
        # a L + d + f - a L - d at mp precision: a few ulps of the largest term
        assert abs(mp.mpf(got) - want) <= 8 * mp.eps * (abs(a) * L + abs(d) + abs(want)), (kind, L, got, want)
        ue = subadditive.family(kind, Fraction(7, 4), Fraction(-1, 2), Fraction(5, 8))
        gote = subadditive.remainder(ue, Fraction(7, 4), Fraction(-1, 2), L)
        if isinstance(ue(L), Fraction):
            assert gote == {"inv": Fraction(5, 8) / L, "inv-neg": -Fraction(5, 8) / L,
                            "geom": Fraction(5, 8) / 2 ** L, "parity": Fraction(5, 8) * (L % 2)}[kind]
        else:
            assert abs(mp.mpf(gote) - want) <= 8 * mp.eps * (abs(a) * L + abs(d) + abs(want)), (kind, L)


# ----------------------------------------------------------------------------------------------
# theory.claims.sec6: the products figure's curves, slopes and ratios
# ----------------------------------------------------------------------------------------------


def _fake_products(rng, S=7, ms=(8, 12, 24)):
    """{m: (R (S, n, n), s_A (S, n) descending, None)} with one exact zero entry of R at the deepest m (as the
    float64 U_A^T U_J shows at m = 24 about once in 2000 samples)."""
    from theory.claims import sec6

    n = sec6.PROD_N
    data = {}
    for m in ms:
        R = rng.standard_normal((S, n, n)) * np.exp(-0.3 * m)
        s = np.sort(np.exp(rng.standard_normal((S, n)) - 0.2 * m * np.arange(n)), axis=1)[:, ::-1].copy()
        data[m] = (R, s, None)
    data[ms[-1]][0][2, 0, 2] = 0.0
    return data


def test_entry_decay_curves_are_the_means_with_zeros_floored():
    """E log|R_ij| with exact zeros counted as log 1e-300 (finite), E log ratio with the ratio of Remark 6.3
    (s_i/s_j below the diagonal, s_j/s_i above), per pair, at the sorted suffix lengths."""
    from theory.claims import sec6

    data = _fake_products(np.random.default_rng(21))
    ms, curves = sec6._entry_decay_curves(data)
    assert ms == sorted(data) and sorted(curves) == sorted(sec6.PAIRS)
    floor = math.log(1e-300)
    for (i, j), (ly, lr) in curves.items():
        assert np.all(np.isfinite(ly)) and np.all(np.isfinite(lr))
        for k, m in enumerate(ms):
            R, s, _ = data[m]
            logs = [math.log(abs(x)) if x != 0 else floor for x in R[:, i, j]]
            want = math.fsum(logs) / len(logs)
            assert within(abs(ly[k] - want), tol(len(logs), scale=max(abs(v) for v in logs)), f"ly {i}{j} m={m}")
            # Remark 6.3: s_i/s_j for j < i, s_j/s_i for i < j: both are s_max(i,j) / s_min(i,j) <= 1
            hi, lo = max(i, j), min(i, j)
            ratio = [s[b, hi] / s[b, lo] for b in range(len(s))]
            want_r = math.fsum(math.log(x) for x in ratio) / len(ratio)
            assert within(abs(lr[k] - want_r), tol(len(ratio), scale=abs(want_r) + 1.0, kernels=2), f"lr {i}{j}")
            assert lr[k] <= 0
    assert curves[(0, 2)][0][-1] < curves[(0, 2)][0][0]  # the zero pulls the deepest mean down, but finitely


def test_slopes_are_least_squares_slopes():
    """_slopes(y, depths) = per-row slope of the least-squares line through (depths, y) (numpy.polyfit)."""
    from theory.claims import sec6

    rng = np.random.default_rng(22)
    depths = (4, 6, 9, 12, 20)
    y = rng.standard_normal((5, len(depths))) + np.outer(rng.standard_normal(5), depths)
    got = sec6._slopes(y, depths)
    want = np.array([np.polyfit(np.asarray(depths, float), row, 1)[0] for row in y])
    assert within(np.abs(got - want), tol(len(depths), scale=np.abs(y).max(), kernels=4), "slopes")
    # exact on a line a + b m, and blind to the intercept
    line = 3.0 - 0.25 * np.asarray(depths, float)
    assert within(abs(sec6._slopes(line[None, :] + 7.0, depths)[0] + 0.25), tol(len(depths), scale=10.0, kernels=4), "line")


# ----------------------------------------------------------------------------------------------
# theory.claims.app_a: the flow terms of Proposition 4.5's proof and the sign-slip foil
# ----------------------------------------------------------------------------------------------


def _explicit_grads(Ws, ds, G):
    """grad_{W_l} <G, J> = S_l^T G P_l^T with S_l = W_L D_{L-1} ... W_{l+1} D_l, P_l = D_{l-1} W_{l-1} ... D_1 W_1."""
    L = len(Ws)
    D = [np.eye(Ws[0].shape[1])] + [np.diag(d) for d in ds] + [np.eye(Ws[-1].shape[0])]
    out = []
    for l in range(1, L + 1):
        S = D[l]
        for k in range(l + 1, L + 1):
            S = Ws[k - 1] @ S if k == L else D[k] @ Ws[k - 1] @ S
        P = np.eye(Ws[0].shape[1])
        for k in range(1, l):
            P = D[k] @ Ws[k - 1] @ P
        out.append(S.T @ G @ P.T)
    return out, D


@pytest.mark.parametrize("two_sided", [True, False])
def test_flow_terms_are_the_gated_layers_and_their_velocities(two_sided):
    """_flow_terms: M_l = D_l W_l D_{l-1} (or D_l W_l), Mdot_l = D_l Wdot_l D_{l-1} (or D_l Wdot_l) with
    Wdot_l = -grad_{W_l} <G, J> (closed form S_l^T G P_l^T), on a rectangular masked network; and the step
    values: delta_dot = 0 (masked, two-sided), the sign-slip foil = -2 M_{l+1}^T Mdot_{l+1} there, and each
    product as defined."""
    from theory.claims import app_a

    rng = np.random.default_rng(31)
    ns = [3, 4, 2, 5]
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(3)]
    ds = [np.array([1.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0])]
    G = rng.standard_normal((ns[-1], ns[0]))
    layers = fgln.layers_two_sided if two_sided else fgln.layers_left
    Ms, Mdot, g = app_a._flow_terms(Ws, ds, G, layers)
    grads, D = _explicit_grads(Ws, ds, G)
    scale = math.prod(max(np.linalg.norm(W, 2), 1.0) for W in Ws) * max(1.0, np.linalg.norm(G, 2))
    t = tol(max(ns), scale=scale, kernels=8)
    for l in range(1, 4):
        wantM = D[l] @ Ws[l - 1] @ (D[l - 1] if two_sided else np.eye(ns[l - 1]))
        wantMd = D[l] @ (-grads[l - 1]) @ (D[l - 1] if two_sided else np.eye(ns[l - 1]))
        assert within(np.abs(Ms[l - 1] - wantM), t, f"M_{l}")
        assert within(np.abs(Mdot[l - 1] - wantMd), t, f"Mdot_{l}")
    if not two_sided:
        return
    terms = (Ms, Mdot, g)
    for l in (1, 2):
        v = app_a._step_values(Ws, G, l, terms)
        a, b = Ms[l], Mdot[l]  # M_{l+1}, Mdot_{l+1}
        c, e = Ms[l - 1], Mdot[l - 1]  # M_l, Mdot_l
        assert within(np.abs(v["mdot_next_T_m_next"][0] - b.T @ a), t, "Mdot_{l+1}^T M_{l+1}")
        assert within(np.abs(v["m_mdot_T"][0] - c @ e.T), t, "M_l Mdot_l^T")
        assert within(np.abs(v["m_next_T_mdot_next"][0] - a.T @ b), t, "M_{l+1}^T Mdot_{l+1}")
        assert within(np.abs(v["mdot_m_T"][0] - e @ c.T), t, "Mdot_l M_l^T")
        assert within(np.abs(v["delta_dot"][0]), 4 * t, "Delta-dot = 0 for masks")
        slip = v["delta_dot_sign_slip"][0]
        assert within(np.abs(slip - (b.T @ a - a.T @ b - e @ c.T - c @ e.T)), 4 * t, "sign-slip foil")
        assert within(np.abs(slip + 2 * a.T @ b), 6 * t, "foil = -2 M^T Mdot")
        assert np.abs(slip).max() > 1e3 * t  # the foil is not 0 here


# ----------------------------------------------------------------------------------------------
# theory.claims.sec4: the torch Jacobian reference, the evidence's gate range and Remark 4.4's foils
# ----------------------------------------------------------------------------------------------


def test_torch_network_jacobian_is_the_gated_product():
    from theory.claims import sec4

    rng = np.random.default_rng(32)
    ns = [2, 4, 3, 5]
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(3)]
    ds = [rng.uniform(-2, 2, 4), rng.uniform(-2, 2, 3)]
    want = Ws[2] @ np.diag(ds[1]) @ Ws[1] @ np.diag(ds[0]) @ Ws[0]
    got = sec4._torch_network_jacobian(Ws, ds)
    scale = math.prod(np.linalg.norm(W, 2) for W in Ws) * 4
    assert got.shape == (5, 2)
    assert within(np.abs(got - want), tol(5, scale=scale, kernels=6), "torch Jacobian")
    assert sec4._torch_network_jacobian([Ws[0]], []).shape == (4, 2)
    assert within(np.abs(sec4._torch_network_jacobian([Ws[0]], []) - Ws[0]), tol(2, scale=scale), "L = 1")


def test_scale_class_thresholds():
    """'subnormal gate' iff the smallest nonzero |gate| is below float64's tiny; 'extreme-scale gate' iff it is
    below 1e-150 or the largest above 1e20; zeros are ignored; checked on each side of each threshold."""
    from theory.claims import sec4

    tiny = np.finfo(np.float64).tiny
    one = np.array([1.0, 0.0])
    cases = [([one], "normal range"), ([], "normal range"), ([np.zeros(3)], "normal range"),
             ([one, np.array([5e-324])], "subnormal gate"), ([np.array([tiny / 2, 1.0])], "subnormal gate"),
             ([np.array([tiny, 1.0])], "extreme-scale gate"), ([np.array([-1e-160])], "extreme-scale gate"),
             ([np.array([0.9e-150])], "extreme-scale gate"), ([np.array([1.1e-150])], "normal range"),
             ([one, np.array([-1.1e20])], "extreme-scale gate"), ([np.array([0.9e20])], "normal range"),
             ([np.array([1e30, 1.0])], "extreme-scale gate")]
    for ds, want in cases:
        assert sec4._scale_class(ds) == want, (ds, want)


def _relu_pattern(Ws, x):
    h, pats = np.asarray(x, float), []
    for W in Ws[:-1]:
        pre = W @ h
        d = (pre > 0).astype(float)
        pats.append(d)
        h = d * pre
    return pats


def test_rem44_foils_are_the_pattern_with_one_change():
    """_one_unit_flipped = sigma(x) with the first unit of the last hidden layer flipped (and nothing else);
    _first_layer_only = sigma(x)'s first layer, deeper gates all open; sigma(x) = 1[pre-activation > 0]."""
    from theory.claims import sec4

    rng = np.random.default_rng(33)
    seen = set()
    for L, ns in ((2, [3, 4, 2]), (4, [3, 5, 4, 3, 2])) * 4:
        Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(L)]
        x = rng.standard_normal(ns[0])
        pat = _relu_pattern(Ws, x)
        seen.add((L, pat[-1][0]))
        got = sec4._one_unit_flipped(Ws, x)
        assert len(got) == L - 1
        for k in range(L - 1):
            want = pat[k].copy()
            if k == L - 2:
                want[0] = 1.0 - want[0]
            np.testing.assert_array_equal(got[k], want)
        got = sec4._first_layer_only(Ws, x)
        np.testing.assert_array_equal(got[0], pat[0])
        for k in range(1, L - 1):
            np.testing.assert_array_equal(got[k], np.ones(ns[k + 1]))
    assert seen == {(2, 0.0), (2, 1.0), (4, 0.0), (4, 1.0)}  # the flipped unit was open and closed


# ----------------------------------------------------------------------------------------------
# theory.dynamics: the G.1 task, the masked initialisation, the losses, the un-augmented pool
# ----------------------------------------------------------------------------------------------


def test_synthetic_task_is_a_scaled_rank_r_map_of_gaussian_inputs():
    """X (n x N) Gaussian, T = P Q^T / n with P, Q (n x rank) Gaussian (the same draws, in order), Y = T X."""
    from theory import dynamics

    n, N, rank = 6, 9, 2
    task = dynamics.synthetic_task(n, N, rank, np.random.default_rng(41))
    rng = np.random.default_rng(41)
    X = rng.standard_normal((n, N))
    P, Q = rng.standard_normal((n, rank)), rng.standard_normal((rank, n))
    np.testing.assert_array_equal(task.X, X)
    scale = np.linalg.norm(P, 2) * np.linalg.norm(Q, 2) / n
    assert within(np.abs(task.T - P @ Q / n), tol(rank, scale=scale, kernels=2), "T = P Q^T / n")
    assert within(np.abs(task.Y - task.T @ X), tol(n, scale=scale * np.abs(X).max(), kernels=2), "Y = T X")
    s = np.linalg.svd(task.T, compute_uv=False)
    assert np.sum(s > tol(n, scale=s[0], kernels=4)) == rank


@pytest.mark.parametrize("L", [1, 2, 4])
def test_init_masked_draws_ginibre_weights_and_L_minus_1_p_gates(L):
    """init_masked: L sigma-Ginibre n x n weights, then L - 1 Bernoulli(p) gate diagonals (none at L = 1), from
    the generator in that order."""
    import torch

    from theory import dynamics

    n, p, sigma = 4, 0.5, 0.7
    gen = torch.Generator()
    gen.manual_seed(9)
    Ws, ds = dynamics.init_masked(n, L, p, sigma, gen)
    gen = torch.Generator()
    gen.manual_seed(9)
    W = sigma * torch.randn(L, n, n, generator=gen, dtype=torch.float64)
    D = (torch.rand(max(L - 1, 1), n, generator=gen, dtype=torch.float64) < p).double()[: L - 1]
    assert len(Ws) == L and len(ds) == L - 1
    for a, b in zip(Ws, W):
        np.testing.assert_array_equal(a, b.numpy())
    for a, b in zip(ds, D):
        np.testing.assert_array_equal(a, b.numpy())
        assert set(np.unique(a)) <= {0.0, 1.0}


def test_losses_gradients_are_their_definitions():
    """quadratic_target: grad of 1/2||J - T||^2 is J - T; mse_data: grad of 1/(2N) sum ||J x_i - y_i||^2 is
    (J X - Y) X^T / N (checked against the residual form, not the covariance form the code uses)."""
    from theory import dynamics

    rng = np.random.default_rng(42)
    J, T = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_array_equal(dynamics.quadratic_target(T)(J), J - T)
    X, Y = rng.standard_normal((4, 7)), rng.standard_normal((3, 7))
    want = (J @ X - Y) @ X.T / 7
    scale = (np.abs(J).max() * np.abs(X).max() + np.abs(Y).max()) * np.abs(X).max()
    assert within(np.abs(dynamics.mse_data(X, Y)(J) - want), tol(7 * 4, scale=scale, kernels=3), "mse grad")


def test_augmented_pool_without_augmentation_is_the_images_in_0_1():
    from theory import dynamics

    rng = np.random.default_rng(43)
    imgs = rng.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    labs = rng.integers(0, 10, 5)
    X, y = dynamics.augmented_pool(imgs, labs, 3, seed=0, augment=False)
    assert tuple(X.shape) == (5, 4, 4) and str(X.dtype) == "torch.float32"
    np.testing.assert_array_equal(X.numpy(), imgs.astype(np.float32) / np.float32(255.0))
    np.testing.assert_array_equal(y, labs)
    assert float(X.max()) <= 1.0 and float(X.min()) >= 0.0


def test_max_defect_is_the_worst_relative_balance_change():
    """_max_defect(flow, base) = max over times and l of max|Delta_l(t) - base_l| / max_l ||M_l(t)||_2^2 with
    Delta_l = M_{l+1}^T M_{l+1} - M_l M_l^T, M_l = D_l W_l D_{l-1} (written out); 0 on an exactly balanced
    diagonal network, the defect itself without a base."""
    from types import SimpleNamespace

    from theory.claims import sec4

    rng = np.random.default_rng(44)
    ns = [3, 4, 4, 2]
    ds = [np.array([1.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0, 1.0])]
    times = [[rng.standard_normal((ns[l + 1], ns[l])) for l in range(3)] for _ in range(3)]

    def defects(Ws):
        D = [np.eye(ns[0])] + [np.diag(d) for d in ds] + [np.eye(ns[-1])]
        M = [D[l] @ Ws[l - 1] @ D[l - 1] for l in range(1, 4)]
        return [M[l].T @ M[l] - M[l - 1] @ M[l - 1].T for l in (1, 2)], max(np.linalg.norm(m, 2) ** 2 for m in M)

    base = defects(times[0])[0]
    want = want0 = 0.0
    for Ws in times:
        dd, sc = defects(Ws)
        want0 = max(want0, max(np.abs(x).max() for x in dd) / sc)
        want = max(want, max(np.abs(x - b).max() for x, b in zip(dd, base)) / sc)
    flow = SimpleNamespace(weights=times, ds=ds)
    scale = max(np.abs(W).max() for Ws in times for W in Ws) ** 2
    t = tol(max(ns), scale=scale, kernels=6)
    assert within(abs(sec4._max_defect(flow) - want0), t, "defect")
    assert within(abs(sec4._max_defect(flow, base) - want), t, "defect change")
    assert sec4._max_defect(SimpleNamespace(weights=times[:1], ds=ds), base) <= t
    # exactly balanced: orthogonal layers and open gates (M_{l+1}^T M_{l+1} = M_l M_l^T = I, exact for permutations)
    Pm = np.eye(3)[[2, 0, 1]]
    assert sec4._max_defect(SimpleNamespace(weights=[[Pm, Pm.T, -Pm]], ds=[np.ones(3), np.ones(3)])) == 0.0


# ----------------------------------------------------------------------------------------------
# theory.alignment: small helpers against their definitions
# ----------------------------------------------------------------------------------------------


def test_min_gap_dps_for_and_rho_of():
    from theory import alignment as al

    assert al.min_gap([0.0, 0.5, 1.5, 1.6], 2) == 0.5  # gaps over i <= r only (1.6 - 1.5 is i = 3)
    assert al.min_gap([0.0, 0.5, 1.5, 1.6], 3) == pytest.approx(0.1, rel=tol(4))
    assert al.min_gap([0.0, 2.0, np.inf], 2) == 2.0 and al.min_gap([0.0, np.inf, np.inf], 1) == np.inf
    # dps: 3 decades per decade of s_1/s_n (finite entries only) plus the margin, rounded up
    ls = np.array([0.0, -10 * math.log(10), -np.inf])
    assert al.dps_for(ls) == 30 + 30 and al.dps_for(ls, extra=5) == 35
    assert al.dps_for(np.array([1.0, 1.0 - 2.5 * math.log(10)]), extra=0) == 8  # ceil(7.5)
    ls = np.log(np.array([4.0, 1.0, 0.5, 0.25]))
    assert al.rho_of(ls, 2) == pytest.approx(0.5, rel=tol(4)) and al.rho_of(ls, 1) == pytest.approx(0.25, rel=tol(4))
    assert al.rho_of(np.array([0.0, -np.inf, -np.inf]), 1) == 0.0


def test_orthonormalize_mp_is_gram_schmidt_in_column_order():
    """Q' = Q R^{-1} with R upper triangular, positive diagonal (the QR factor of Q), at working precision:
    Q'^T Q' = I and Q'^T Q upper triangular with positive diagonal; for an orthogonal Q, Q' = Q to ~1 ulp."""
    from theory import alignment as al

    rng = np.random.default_rng(45)
    A = rng.standard_normal((4, 4))
    with mp.workdps(40):
        Q = al._orthonormalize_mp(mp.matrix(A.tolist()))
        G = Q.T * Q
        Rm = Q.T * mp.matrix(A.tolist())
        for a in range(4):
            for b in range(4):
                assert abs(G[a, b] - (1 if a == b else 0)) < mp.mpf(10) ** -35
                if a > b:
                    assert abs(Rm[a, b]) < mp.mpf(10) ** -35
            assert Rm[a, a] > 0
    Qo = np.linalg.qr(A)[0] * np.sign(np.diag(np.linalg.qr(A)[1]))
    with mp.workdps(40):
        Q2 = al._orthonormalize_mp(mp.matrix(Qo.tolist()))
        err = max(abs(float(Q2[a, b]) - Qo[a, b]) for a in range(4) for b in range(4))
    assert within(err, tol(4, kernels=2), "orthogonal input kept")


# ----------------------------------------------------------------------------------------------
# theory.claims.sec6: Remark 6.2's cluster statistic and the prediction helper
# ----------------------------------------------------------------------------------------------


def test_cmp_clusters_statistic_is_off_block_and_block_orthogonality(monkeypatch):
    """cmp_clusters hands _remainder_cmp, per rung, max(max |off-block R^{r,r}|, max_k max|R_k^T R_k - I|)
    ('block') or max|R^{r,r} - I| ('identity'), and reports max|R - I| on the diagonal blocks; R = blockdiag(1, Q)
    + off-block E with Q a 3 x 3 rotation, written out (sizes (1, 3), r = 4, n = 5)."""
    from types import SimpleNamespace

    from theory.claims import sec6

    rng = np.random.default_rng(46)
    Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    Rs = []
    for e in (1e-2, 1e-4):
        R = np.eye(5)
        R[1:4, 1:4] = Q * (1 + e)  # block defect |(1+e)^2 - 1| on its Gram
        E = e * rng.standard_normal((4, 4))
        E[0, 0] = 0.0
        E[1:4, 1:4] = 0.0
        R[:4, :4] += E
        Rs.append(R)
    rungs = [SimpleNamespace(s6=SimpleNamespace(R=R)) for R in Rs]
    bounds = np.array([0, 1, 4])
    monkeypatch.setattr(sec6, "_cluster_ladder", lambda *a: (3.0, bounds, rungs))
    seen = {}

    def fake_cmp(vals, rgs, K, extra=None, rate=1.0):
        seen.update(vals=list(vals), K=K, rate=rate, extra=extra)
        return Comparison(0.0, 1.0, {})

    from checks import Comparison

    monkeypatch.setattr(sec6, "_remainder_cmp", fake_cmp)
    a, b = np.zeros(5), np.zeros(5)
    cmp = sec6.cmp_clusters(np.eye(5), np.eye(5), np.array([1, 3]), a, b)
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True
    mask[1:4, 1:4] = True
    want = []
    for R in Rs:
        Rr = R[:4, :4]
        off = np.abs(Rr[~mask]).max()
        orth = max(abs(Rr[0, 0] ** 2 - 1), np.abs(Rr[1:4, 1:4].T @ Rr[1:4, 1:4] - np.eye(3)).max())
        want.append(max(off, orth))
    assert within(np.abs(np.array(seen["vals"]) - want), tol(3, scale=2.0, kernels=3), "block statistic")
    assert seen["K"] == 3.0 and seen["rate"] == 1.0 and seen["extra"]["sizes"] == [1, 3]
    Rr = Rs[-1][:4, :4]
    assert within(abs(cmp.detail["block_dist_from_I"] - np.abs(Rr[mask] - np.eye(4)[mask]).max()), tol(1, scale=2.0),
                  "block distance")
    sec6.cmp_clusters(np.eye(5), np.eye(5), np.array([1, 3]), a, b, target="identity", rate=2.0)
    assert seen["rate"] == 2.0
    assert within(np.abs(np.array(seen["vals"]) - [np.abs(R[:4, :4] - np.eye(4)).max() for R in Rs]),
                  tol(1, scale=2.0), "identity statistic")


def test_pred_for_reads_rows_or_cols_gram():
    from theory import alignment as al
    from theory.claims import sec6

    rng = np.random.default_rng(47)
    B = rng.standard_normal((4, 4))
    for gram, C in (("rows", B @ B.T), ("cols", B.T @ B)):
        p, q = sec6._pred_for(B, 2, gram), al.predict(C, 2)
        np.testing.assert_array_equal(p.Sigma, q.Sigma)
        np.testing.assert_array_equal(p.T, q.T)
    Bd = B.copy()
    Bd[1] = Bd[0]  # rows 1 and 2 equal: B B^T's leading 2 x 2 block is singular, B^T B's is not
    assert sec6._pred_for(Bd, 2, "rows") is None and sec6._pred_for(Bd, 2, "cols") is not None


def test_bracket_as_dict_reports_its_own_numbers():
    """The evidence row of a bracket: each field and each decision as the bracket computes it at (c, crit), for
    a c below, inside and above the bracket."""
    b = _bracket(u_skew=0.5)
    crit = 2.0
    for c in (0.5, 1.5, 1.8, 2.6):  # below; inside; inside the bracket, off the point estimate; above
        d = b.as_dict(c, crit)
        assert d["E v (data offset)"] == b.v and d["se v"] == b.v_se and d["samples"] == b.m
        assert d["E (v + rho) (upper end)"] == b.w and d["se v+rho"] == b.w_se
        assert d["bracket width E rho"] == b.w - b.v
        assert d["E (v + R) (= d_K exactly; R from its definition)"] == b.u and d["se v+R"] == b.u_se
        assert d["skewness v+R"] == b.u_skew and d["crit"] == crit and d["predicted d_K"] == c
        assert d["crit of the point test (Cornish-Fisher)"] == b.point_crit(crit)
        assert d["E rho - E R (>= 0: Jensen)"] == b.slack and d["se rho-R"] == b.slack_se
        assert d["below bracket"] == (c < b.v - crit * b.v_se)
        assert d["above bracket"] == (c > b.w + _ladder.UPPER_FACTOR * crit * b.w_se)
        assert d["off the exact estimate"] == (abs(b.u - c) > b.point_crit(crit) * b.u_se)
        assert d["rho below the exact remainder"] == (b.slack + crit * b.slack_se < 0)
        assert d["name"] == b.label and d["K"] == b.K
    assert _bracket(slack=-1.0).as_dict(1.5, crit)["rho below the exact remainder"]


@pytest.mark.parametrize("ns", [(3, 3, 3, 3), (2, 4, 3, 5)])
@pytest.mark.parametrize("two_sided", [False, True])
def test_grad_formula_and_its_foil_variants_are_their_formulas(two_sided, ns):
    """_grad_formula: D_l M_{l+1:L}^T G M_{1:l-1}^T (one- or two-sided M_l, D_0 = D_L = I), and the foils' variants
    written out: no leading D_l, an extra D_{l-1} on the right, the prefix M_{1:l} (clipped at L), G^T for G
    (square networks); rectangular widths, so each empty product is the identity of its own size. The printed
    one-sided form equals the true gradient for general gates (Lemma A.1 with M_l = D_l W_l)."""
    from theory.claims import app_a

    rng = np.random.default_rng(48)
    L = len(ns) - 1
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(L)]
    ds = [rng.uniform(-2, 2, ns[l]) for l in range(1, L)]
    G = rng.standard_normal((ns[-1], ns[0]))
    D = [np.eye(ns[0])] + [np.diag(d) for d in ds] + [np.eye(ns[-1])]
    M = [D[l] @ Ws[l - 1] @ (D[l - 1] if two_sided else np.eye(ns[l - 1])) for l in range(1, L + 1)]

    def prod(a, b, size):  # M_{a:b} = M_b ... M_a, the identity of ``size`` if a > b
        P = np.eye(size)
        for k in range(a, b + 1):
            P = M[k - 1] @ P
        return P

    def want(l, lead=True, right=False, shift=0, gT=False):
        x = prod(l + 1, L, ns[l]).T @ (G.T if gT else G) @ prod(1, min(l - 1 + shift, L), ns[0]).T
        x = D[l] @ x if lead else x
        return x @ D[l - 1] if right else x

    layers = fgln.layers_two_sided if two_sided else fgln.layers_left
    scale = math.prod(np.linalg.norm(W, 2) for W in Ws) * 2.0 ** (2 * L) * np.linalg.norm(G, 2)
    t = tol(max(ns), scale=scale, kernels=2 * L + 2)
    variants = [({}, {}), ({"lead_gate": False}, {"lead": False}), ({"right_gate": True}, {"right": True}),
                ({"prefix_shift": 1}, {"shift": 1})]
    if ns[0] == ns[-1]:
        variants.append(({"transpose_grad": True}, {"gT": True}))
    for kw, wkw in variants:
        got = app_a._grad_formula(layers, **kw)(Ws, ds, G)
        assert len(got) == L
        for l in range(1, L + 1):
            # the shifted prefix M_{1:l} is ill-typed for rectangular layers (n_l x n_l): _cmp_grad rejects it
            assert got[l - 1].shape == (Ws[l - 1].shape if "prefix_shift" not in kw else want(l, **wkw).shape)
            assert within(np.abs(got[l - 1] - want(l, **wkw)), t, f"{kw} l={l}")
    if not two_sided:
        true = _explicit_grads(Ws, ds, G)[0]
        for l in range(1, L + 1):
            assert within(np.abs(want(l) - true[l - 1]), t, f"Lemma A.1 one-sided l={l}")
