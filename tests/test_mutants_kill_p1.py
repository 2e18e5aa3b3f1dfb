"""Mutation blind spots of samplers, products, fgln and dynamics (issue 17, part 6, helper p1): each helper is
compared whole with an independent computation from its definition, at the edges of its domain and away
from them."""

from __future__ import annotations

import gzip
import math
import struct

import numpy as np
import pytest
import torch

from tests.conftest import plain_chain
from theory import dynamics, fgln, products, samplers


# ----------------------------------------------------------------------------------------------
# samplers: input validation of every parameter, at and just beyond each end of its domain
# ----------------------------------------------------------------------------------------------
def test_check_p_accepts_exactly_the_half_open_unit_interval():
    tiny = np.nextafter(0.0, 1.0)
    for p in (tiny, 1e-3, 0.5, np.nextafter(1.0, 0.0), 1.0):
        samplers._check_p(float(p))
    for p in (0.0, -tiny, -0.5, np.nextafter(1.0, 2.0), 1.2, 1.4, math.sqrt(2.0), 1.5, 2.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            samplers._check_p(float(p))


def test_other_sampler_validators_match_their_domains():
    for n in (1, 2, 7):
        samplers._check_n(n)
    for n in (0, -1, 1.0, 2.5, "3"):
        with pytest.raises(ValueError):
            samplers._check_n(n)
    for s in (np.nextafter(0.0, 1.0), 1e-3, 1.0, 3.0):
        samplers._check_sigma(float(s))
    for s in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError):
            samplers._check_sigma(s)
    for n in (1, 4):
        for r in range(1, n + 1):
            samplers._check_r(r, n)
        for r in (0, n + 1, -1, 1.0):
            with pytest.raises(ValueError):
                samplers._check_r(r, n)
    for b in (1, 5):
        samplers._check_batch(b)
    for b in (0, -2, 1.0):
        with pytest.raises(ValueError):
            samplers._check_batch(b)


# ----------------------------------------------------------------------------------------------
# products._State.spread: median over samples of max - min of the finite log|R_ii| (0 with < 2 finite)
# ----------------------------------------------------------------------------------------------
def _spread_reference(logr: np.ndarray) -> float:
    per = []
    for row in logr:
        f = row[np.isfinite(row)]
        per.append(float(f.max() - f.min()) if f.size >= 2 else 0.0)
    per.sort()
    return per[(len(per) - 1) // 2]  # torch's median: the lower middle value


def _state_with(logr):
    st = products._State(None, None, None, torch.zeros(1, 1), None, None)
    st.logr = None if logr is None else torch.as_tensor(logr, dtype=torch.float64)
    return st


@pytest.mark.parametrize("B,m", [(1, 2), (5, 3), (4, 6), (7, 4)])
def test_state_spread_is_the_median_range_of_the_finite_log_diagonal(B, m):
    rng = np.random.default_rng(1000 * B + m)
    logr = rng.normal(3.0, 5.0, size=(B, m)) + rng.uniform(-40, 40, size=(B, 1))  # offsets: hi alone is wrong
    dead = rng.random((B, m)) < 0.3
    logr[dead] = -math.inf
    if B > 1:
        logr[0, 1:] = -math.inf  # a sample with one live row: spread 0
    got = _state_with(logr).spread
    want = _spread_reference(logr)
    assert got == want, (got, want)  # max, min and one subtraction: exact in float64


def test_state_spread_edge_cases():
    assert _state_with(None).spread == 0.0
    assert _state_with(np.array([[5.0], [-3.0]])).spread == 0.0  # fewer than two columns
    assert _state_with(np.array([[7.0, -math.inf, -math.inf]])).spread == 0.0
    assert _state_with(np.array([[10.0, 12.5, 11.0]])).spread == 2.5
    assert _state_with(np.array([[-10.0, -12.5]])).spread == 2.5


# ----------------------------------------------------------------------------------------------
# fgln.rem72_diagnostics: 'resolved' = modes whose k-th singular value float64 resolves (> RESOLVED x the
# largest) in J and in every A_l (l = 1..L+1) and B_l (l = 0..L), on shared-basis chains where all of these
# singular values are products of the layer singular values in closed form.
# ----------------------------------------------------------------------------------------------
def _resolved_reference(layer_svals):
    L = len(layer_svals)
    e = [np.abs(np.asarray(x, dtype=np.float64)) for x in layer_svals]
    n = e[0].size
    mats = [np.prod(e, axis=0)]
    mats += [np.prod(e[l - 1:], axis=0) if l <= L else np.ones(n) for l in range(1, L + 2)]  # A_l
    mats += [np.prod(e[:l - 1], axis=0) if l >= 2 else np.ones(n) for l in range(0, L + 1)]  # B_l
    out = np.ones(n, dtype=bool)
    for sv in mats:
        sv = np.sort(sv)[::-1]
        out &= sv > fgln.RESOLVED * sv[0]
    return out


@pytest.mark.parametrize("case", range(4))
def test_rem72_resolved_matches_the_closed_form_singular_values(case):
    rng = np.random.default_rng(720 + case)
    n, L = 4, 3
    # one layer-dependent tiny direction per case: in B only (first layer), in A only (last layer), in a
    # middle layer (both), or none; the later layers compensate so that J itself stays well resolved
    tiny = 1e-10
    svals = [np.array([1.0, 0.8, 0.6, 0.5]) for _ in range(L)]
    if case == 0:
        svals[0] = np.array([1.0, 0.8, 0.6, tiny])
        svals[1] = np.array([1.0, 0.8, 0.6, 0.5 / tiny])
    elif case == 1:
        svals[2] = np.array([1.0, 0.8, 0.6, tiny])
        svals[1] = np.array([1.0, 0.8, 0.6, 0.5 / tiny])
    elif case == 2:
        svals[1] = np.array([1.0, tiny, 0.6, 0.5])
        svals[0] = np.array([1.0, 0.9 / tiny, 0.6, 0.5])
    Qs = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(L + 1)]
    Ms = [(Qs[l + 1] * svals[l]) @ Qs[l].T for l in range(L)]  # shared singular bases, eta = 0
    Md = [rng.standard_normal((n, n)) for _ in range(L)]
    got = fgln.rem72_diagnostics(Ms, Md)["resolved"]
    want = _resolved_reference(svals)
    if case < 3:
        assert not want.all()
    assert np.array_equal(got, want), (got, want)
    s_want = np.sort(np.prod(svals, axis=0))[::-1]
    s = fgln.rem72_diagnostics(Ms, Md)["s"]
    assert np.all(np.abs(s - s_want) <= 64 * n * L * np.finfo(float).eps * s_want[0] / tiny), (s, s_want)


# ----------------------------------------------------------------------------------------------
# dynamics.load_mnist on a generated release-shaped copy with distinguishable train and test contents
# ----------------------------------------------------------------------------------------------
def _idx(dims, payload: bytes) -> bytes:
    return struct.pack(">HBB", 0, 8, len(dims)) + struct.pack(">" + "I" * len(dims), *dims) + payload


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist_p1")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    content = {}
    for name, (magic, dims) in dynamics.MNIST_FILES.items():
        N = dims[0]
        if magic == 2051:
            arr = np.zeros(dims, dtype=np.uint8)
            arr[:, 0, 0] = np.arange(N) % 251
            arr[:, 27, 27] = 7 if name.startswith("train") else 200
        else:
            arr = ((np.arange(N) * (3 if name.startswith("train") else 7) + 1) % 10).astype(np.uint8)
        content[name] = arr
        with gzip.open(raw / f"{name}.gz", "wb", compresslevel=1) as f:
            f.write(_idx(dims, arr.tobytes()))
    return root, content


@pytest.mark.parametrize("split,pre", [("train", "train"), ("test", "t10k")])
def test_load_mnist_returns_the_split_it_names(fake_mnist, split, pre):
    root, content = fake_mnist
    images, labels = dynamics.load_mnist(root, split)
    assert images.dtype == np.uint8 and images.shape == content[f"{pre}-images-idx3-ubyte"].shape
    assert np.array_equal(images, content[f"{pre}-images-idx3-ubyte"])
    assert labels.dtype == np.int64
    assert np.array_equal(labels, content[f"{pre}-labels-idx1-ubyte"].astype(np.int64))
    info = dynamics.validate_mnist(root)
    assert info["train"] == 60000 and info["test"] == 10000 and not info["release"]


# ----------------------------------------------------------------------------------------------
# samplers: every sampler replayed from its definition on the same generator stream
# ----------------------------------------------------------------------------------------------
def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("batch,n,m,sigma", [(3, 4, None, 0.7), (2, 3, 5, 2.5), (1, 1, 1, 1.0)])
def test_ginibre_is_sigma_times_standard_normals(batch, n, m, sigma):
    g1, g2 = _gen(11), _gen(11)
    W = samplers.ginibre(batch, n, sigma, g1, m=m)
    ref = sigma * torch.randn(batch, n, n if m is None else m, generator=g2, dtype=torch.float64)
    assert W.dtype == torch.float64 and torch.equal(W, ref)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 1.0])
def test_p_gate_is_uniforms_below_p(p):
    g1, g2 = _gen(5), _gen(5)
    d = samplers.p_gate(6, 7, p, g1)
    ref = (torch.rand(6, 7, generator=g2, dtype=torch.float64) < p).to(torch.float64)
    assert torch.equal(d, ref)


def _rp_reference(batch, n, r, p, gen):
    out = [None] * batch
    todo = list(range(batch))
    while todo:
        d = (torch.rand(len(todo), n, generator=gen, dtype=torch.float64) < p).to(torch.float64)
        rest = []
        for i, b in enumerate(todo):
            if int(d[i].sum()) >= r:
                out[b] = d[i]
            else:
                rest.append(b)
        todo = rest
    return torch.stack(out)


@pytest.mark.parametrize("batch,n,r,p", [(8, 5, 3, 0.5), (5, 4, 4, 0.7), (6, 3, 1, 0.2)])
def test_rp_gate_is_the_first_p_gate_of_rank_at_least_r(batch, n, r, p):
    g1, g2 = _gen(21 + r), _gen(21 + r)
    d = samplers.rp_gate(batch, n, r, p, g1)
    assert torch.equal(d, _rp_reference(batch, n, r, p, g2))
    assert bool((d.sum(1) >= r).all())


def test_rp_gate_gives_up_after_max_rounds():
    with pytest.raises(RuntimeError):
        samplers.rp_gate(4, 6, 6, 0.01, _gen(0), max_rounds=3)


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_layer_and_masked_layer_are_gate_times_ginibre(p):
    n, r, sigma, batch = 4, 2, 1.3, 5
    g1, g2 = _gen(8), _gen(8)
    M = samplers.layer(batch, n, r, p, sigma, g1)
    d = _rp_reference(batch, n, r, p, g2) if p < 1 else torch.ones(batch, n, dtype=torch.float64)
    W = sigma * torch.randn(batch, n, n, generator=g2, dtype=torch.float64)
    assert torch.equal(M, d[:, :, None] * W)
    g1, g2 = _gen(9), _gen(9)
    M = samplers.masked_layer(batch, n, p, sigma, g1)
    d = (torch.rand(batch, n, generator=g2, dtype=torch.float64) < p).to(torch.float64)
    W = sigma * torch.randn(batch, n, n, generator=g2, dtype=torch.float64)
    assert torch.equal(M, d[:, :, None] * W)


# ----------------------------------------------------------------------------------------------
# claims._networks.product_scale: prod max(||W_l||_2, 1) prod max(max|d_l|, 1) (times ||G||_2), from its
# definition with singular values from numpy's SVD, norms on both sides of 1
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale_w,scale_d", [(0.3, 0.5), (2.0, 3.0), (0.9, 1.7)])
def test_product_scale_matches_its_definition(scale_w, scale_d):
    from theory.claims._networks import product_scale

    rng = np.random.default_rng(int(100 * scale_w + 10 * scale_d))
    Ws = [scale_w * rng.standard_normal((3, 4)) / 3, scale_w * rng.standard_normal((4, 3)) / 3,
          rng.standard_normal((2, 4)) * 2.0]
    ds = [scale_d * rng.uniform(-1, 1, 4), np.array([])]
    want = 1.0
    for w in Ws:
        want *= max(np.linalg.svd(w, compute_uv=False)[0], 1.0)
    for d in ds:
        want *= max(np.abs(d).max(), 1.0) if d.size else 1.0
    eps = np.finfo(np.float64).eps
    got = product_scale(Ws, ds)
    assert abs(got - want) <= 16 * eps * want, (got, want)
    G = rng.standard_normal((2, 3)) * 0.25
    g = np.linalg.svd(G, compute_uv=False)[0]
    got = product_scale(Ws, ds, G)
    assert abs(got - want * g) <= 16 * eps * want * g, (got, want * g)
    assert 0 < product_scale(Ws, ds, np.zeros((2, 3))) < eps * want  # G = 0: a positive floor, not 0


# ----------------------------------------------------------------------------------------------
# fgln: products, gradients and J-dot from their definitions (explicit diag matrices, torch autograd)
# ----------------------------------------------------------------------------------------------
EPS = np.finfo(np.float64).eps


def _net(seed, ns=(3, 4, 2, 5, 3), masked=False):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(len(ns) - 1)]
    if masked:
        ds = [(rng.random(n) < 0.6).astype(float) for n in ns[1:-1]]
        for d in ds:
            d[0] = 1.0
    else:
        ds = [rng.uniform(-2.0, 2.0, n) for n in ns[1:-1]]
    return Ws, ds, rng


def _close(a, b, scale, kernels=8):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    bound = kernels * 8 * EPS * scale
    assert np.max(np.abs(a - b), initial=0.0) <= bound, (np.max(np.abs(a - b)), bound)


def _brute(Ws, ds):
    """D_0..D_L as matrices and the two layer conventions, from Definition 4.1."""
    D = [np.eye(Ws[0].shape[1])] + [np.diag(d) for d in ds] + [np.eye(Ws[-1].shape[0])]
    L = len(Ws)
    two = [D[l] @ Ws[l - 1] @ D[l - 1] for l in range(1, L + 1)]
    left = [D[l] @ Ws[l - 1] for l in range(1, L + 1)]
    return D, two, left


def _scale(Ws, ds):
    s = 1.0
    for w in Ws:
        s *= max(np.linalg.norm(w, 2), 1.0)
    for d in ds:
        s *= max(np.abs(d).max(), 1.0)
    return s


@pytest.mark.parametrize("masked", [False, True])
def test_fgln_products_match_explicit_diagonal_matrices(masked):
    Ws, ds, _ = _net(31 + masked, masked=masked)
    L = len(Ws)
    D, two, left = _brute(Ws, ds)
    sc = _scale(Ws, ds) ** 2
    J = plain_chain([D[l] @ Ws[l - 1] for l in range(1, L)] + [Ws[-1]], 1, L, Ws[0].shape[1])
    _close(fgln.jacobian(Ws, ds), J, sc)
    for got, want in zip(fgln.layers_two_sided(Ws, ds), two):
        _close(got, want, sc)
    for got, want in zip(fgln.layers_left(Ws, ds), left):
        _close(got, want, sc)
    gates = fgln.full_gates(Ws, ds)
    assert len(gates) == L + 1 and all(np.array_equal(g, np.diag(Dm)) for g, Dm in zip(gates, D))
    assert fgln.widths(Ws) == [3, 4, 2, 5, 3]
    dims_in = [m.shape[1] for m in two]
    for a in range(1, L + 2):
        for b in range(0, L + 1):
            if a > b:
                dim = dims_in[a - 1] if a <= L else two[-1].shape[0]
                assert np.array_equal(fgln.pprod(two, a, b), np.eye(dim)), (a, b)
                assert np.array_equal(fgln.pprod(two, a, b, dim=7), np.eye(7))
            elif a >= 1:
                _close(fgln.pprod(two, a, b), plain_chain(two, a, b, dims_in[a - 1]), sc)
    A, B = fgln.prefix_suffix(Ws, ds)
    for l in range(1, L + 1):
        Aw = np.eye(Ws[-1].shape[0])
        for k in range(L, l, -1):
            Aw = Aw @ Ws[k - 1] @ D[k - 1]  # W_L D_{L-1} ... W_{l+1} D_l
        if l == L:
            Aw = D[L]
        Bw = np.eye(Ws[0].shape[1])
        for k in range(1, l):
            Bw = D[k] @ Ws[k - 1] @ Bw
        _close(A[l - 1], Aw, sc)
        _close(B[l - 1], Bw, sc)
        _close(fgln.A_sec7(Ws, ds, l), Aw, sc)
        _close(fgln.B_sec7(Ws, ds, l), Bw, sc)
        _close(Aw @ Ws[l - 1] @ Bw, J, sc)


def _torch_J(Wt, ds):
    J = Wt[0]
    for l in range(1, len(Wt)):
        J = Wt[l] @ (torch.as_tensor(ds[l - 1])[:, None] * J)
    return J


def _complex_step(Ws, ds, V, h=1e-30):
    """d/dt J(W + t V) at t = 0 by the complex step Im J(W + i h V) / h (no cancellation; O(h^2) error)."""
    J = Ws[0] + 1j * h * V[0]
    for l in range(1, len(Ws)):
        J = (Ws[l] + 1j * h * V[l]) @ (np.asarray(ds[l - 1])[:, None] * J)
    return J.imag / h


@pytest.mark.parametrize("masked", [False, True])
def test_fgln_gradients_and_jdot_match_autograd(masked):
    Ws, ds, rng = _net(41 + masked, masked=masked)
    L = len(Ws)
    G = rng.standard_normal((Ws[-1].shape[0], Ws[0].shape[1]))
    Wdots = [rng.standard_normal(w.shape) for w in Ws]
    Wt = [torch.tensor(w, requires_grad=True) for w in Ws]
    (_torch_J(Wt, ds) * torch.as_tensor(G)).sum().backward()
    auto = [w.grad.numpy() for w in Wt]
    sc = _scale(Ws, ds) ** 2 * np.linalg.norm(G, 2)
    for got, want in zip(fgln.grad_weights(Ws, ds, G), auto):
        _close(got, want, sc)
    jv = _complex_step(Ws, ds, Wdots)
    sv = _scale(Ws, ds) * max(np.linalg.norm(w, 2) for w in Wdots) * L
    _close(fgln.jdot_from_weight_velocity(Ws, ds, Wdots), jv, sv)
    jf = _complex_step(Ws, ds, [-a for a in auto])
    sf = sc * _scale(Ws, ds) ** 2 * L
    _close(fgln.jdot_flow(Ws, ds, G), jf, sf)
    _close(fgln.jdot_lemma_e1_corrected(Ws, ds, G), jf, sf)  # D_l^2: valid for every gate
    # the printed forms from their displays, with explicit matrices
    D, two, left = _brute(Ws, ds)
    n0, nL = Ws[0].shape[1], Ws[-1].shape[0]
    for l, got in enumerate(fgln.grad_lemma_a1(Ws, ds, G), start=1):
        suf = plain_chain(two, l + 1, L, two[l - 1].shape[0])
        pre = plain_chain(two, 1, l - 1, n0)
        _close(got, D[l] @ suf.T @ G @ pre.T, sf)
        if masked:
            _close(got, auto[l - 1], sf)
    for k, s in [(1, 0), (2, 0), (1, 1), (3, 1)]:
        want = np.zeros((nL, n0))
        for l in range(1, L + 1):
            suf = plain_chain(left, l + 1, L, left[l - 1].shape[0])
            pre = plain_chain(left, 1, min(l - 1 + s, L), n0)
            want -= suf @ np.linalg.matrix_power(D[l], k) @ suf.T @ G @ pre.T @ pre
        _close(fgln.jdot_e1_sum(Ws, ds, G, gate_power=k, prefix_shift=s), want, sf * _scale(Ws, ds) ** 2)
    _close(fgln.jdot_lemma_e1(Ws, ds, G), fgln.jdot_e1_sum(Ws, ds, G, gate_power=1), 0.0)
    if masked:
        _close(fgln.jdot_lemma_e1(Ws, ds, G), jf, sf)
    else:
        assert np.max(np.abs(fgln.jdot_lemma_e1(Ws, ds, G) - jf)) > 1e3 * 64 * EPS * sf


def test_fgln_balance_defect_and_check_network():
    Ws, ds, rng = _net(51, ns=(3, 4, 5, 3), masked=True)
    D, two, _ = _brute(Ws, ds)
    sc = _scale(Ws, ds) ** 2
    for l, got in enumerate(fgln.balance_defect(Ws, ds), start=1):
        _close(got, two[l].T @ two[l] - two[l - 1] @ two[l - 1].T, sc)
    Wb = fgln.balanced_masked_init([3, 4, 5, 3], ds, [2.0, 0.5], rng)
    for dl in fgln.balance_defect(Wb, ds):
        _close(dl, np.zeros_like(dl), 4.0)
    with pytest.raises(ValueError):
        fgln.check_network([], [])
    with pytest.raises(ValueError):
        fgln.check_network(Ws, ds[:-1])
    with pytest.raises(ValueError):
        fgln.check_network([Ws[0], Ws[1].T, Ws[2]], ds)
    with pytest.raises(ValueError):
        fgln.check_network(Ws, [ds[0], ds[1][:-1]])
    fgln.check_network([np.ones((2, 3)), np.ones((4, 2))], [np.ones(2)])
    with pytest.raises(ValueError):
        fgln.check_network([np.ones((2, 3)), np.ones((4, 2))], [np.ones(3)])


def test_fgln_relu_helpers_match_torch():
    rng = np.random.default_rng(61)
    ns = (4, 6, 5, 3)
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) for l in range(3)]
    for _ in range(5):
        x = rng.standard_normal(4)
        h = torch.as_tensor(x)
        zs = []
        for W in Ws[:-1]:
            z = torch.as_tensor(W) @ h
            zs.append(z.numpy())
            h = torch.relu(z)
        y = (torch.as_tensor(Ws[-1]) @ h).numpy()
        sc = _scale(Ws, []) * np.linalg.norm(x)
        _close(fgln.relu_mlp(Ws, x), y, sc)
        pat = fgln.activation_pattern(Ws, x)
        assert len(pat) == 2 and all(np.array_equal(p, (z > 0).astype(float)) for p, z in zip(pat, zs))
        _close(fgln.jacobian(Ws, list(pat)) @ x, y, sc)
        assert fgln.pattern_key(pat) == tuple(tuple(int(v > 0) for v in z) for z in zs)
        m = fgln.preactivation_margin(Ws, x)
        _close(m, min(np.abs(z).min() for z in zs), sc)
        X = rng.standard_normal((4, 3))
        sig = lambda v: fgln.pattern_key(fgln.activation_pattern(Ws, v))  # noqa: E731
        modes = {sig(X[:, j]): list(fgln.activation_pattern(Ws, X[:, j])) for j in range(3)}
        _close(fgln.multimode_apply(Ws, modes, sig, X),
               np.stack([fgln.relu_mlp(Ws, X[:, j]) for j in range(3)], 1), sc * 3)


def test_fgln_spectral_helpers_from_definitions():
    rng = np.random.default_rng(71)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    s = np.array([5.0, 2.0, 0.5, 0.1])
    M = (U * s) @ V.T
    tolr = 64 * EPS * s[0] / s[-1]
    got = fgln.separation_ratios(M, 4)
    want = np.array([0.4, 0.25, 0.2, 0.0])
    assert np.all(np.abs(got - want) <= tolr), (got, want)
    assert np.all(np.abs(fgln.separation_ratios(M, 2) - want[:2]) <= tolr)
    ls = fgln.log_svals(M)
    assert np.all(np.abs(ls - np.log(s)) <= tolr)
    assert np.all(np.abs(fgln.log_svals(M, 2) - np.log(s[:2])) <= tolr)
    assert np.array_equal(fgln.log_svals(np.zeros((2, 2))), np.log([1e-300, 1e-300]))
    u, sv, vt = fgln.svd_sorted(M)
    assert np.all(np.diff(sv) <= 0) and np.all(np.abs(sv - s) <= tolr * s[-1])
    # Chebyshev fit: equioscillating residuals +e, -e, +e about a line are optimal (alternation theorem)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    e, g, d = 0.3, -0.7, 1.9
    y = g * x + d + e * np.array([1.0, -1.0, 1.0, -1.0]) * np.array([1.0, 1.0, 1.0, 0.5])
    eps_, g_, d_ = fgln.depth_scaling_eps(y, x)
    # the LP optimum is a vertex, exact up to HiGHS' documented primal/dual feasibility tolerance (1e-7),
    # relative to the data's size
    lp = 1e-7 * (1.0 + np.abs(y).max()) * x.max()
    assert abs(eps_ - e) <= lp and abs(g_ - g) <= lp and abs(d_ - d) <= lp, (eps_, g_, d_, lp)
    # small_rotation: exp(eta (K - K^T)/2), K ~ U(-1, 1), replayed with torch's matrix exponential
    for eta in (0.0, 0.1, 1.3):
        r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
        R = fgln.small_rotation(5, eta, r1)
        K = r2.uniform(-1.0, 1.0, (5, 5))
        ref = torch.linalg.matrix_exp(torch.as_tensor(eta * (K - K.T) / 2)).numpy()
        _close(R, ref, np.exp(eta * 5), kernels=16)
        _close(R @ R.T, np.eye(5), 1.0, kernels=16)


@pytest.mark.parametrize("offsets", [(0, 0), (1, 1), (0, 1)])
def test_fit_depth_scaling_is_the_least_squares_fit_of_assumption_i(offsets):
    rng = np.random.default_rng(81 + offsets[0] + 2 * offsets[1])
    L, k = 5, 3
    a, b = offsets
    gam, dl = rng.normal(0, 1, k), rng.normal(0, 1, k)
    logA = np.array([[(L - l + 1 - a) * gam[j] + dl[j] for j in range(k)] for l in range(1, L + 1)])
    logB = np.array([[(l - b) * gam[j] + dl[j] for j in range(k)] for l in range(1, L + 1)])
    g, d, res = fgln.fit_depth_scaling(logA, logB, offsets)
    sc = 64 * EPS * L * (np.abs(gam).max() * L + np.abs(dl).max())
    assert np.all(np.abs(g - gam) <= sc) and np.all(np.abs(d - dl) <= sc) and np.all(res <= sc * L)
    noise = rng.normal(0, 0.1, (2 * L, k))
    g, d, res = fgln.fit_depth_scaling(logA + noise[:L], logB + noise[L:], offsets)
    X = np.array([[L - l + 1 - a, 1.0] for l in range(1, L + 1)] + [[l - b, 1.0] for l in range(1, L + 1)])
    Y = np.concatenate([logA + noise[:L], logB + noise[L:]])
    c = np.linalg.solve(X.T @ X, X.T @ Y)  # normal equations: independent of lstsq
    sc = 1e3 * EPS * np.abs(Y).max() * np.linalg.cond(X) ** 2
    assert np.all(np.abs(g - c[0]) <= sc) and np.all(np.abs(d - c[1]) <= sc)
    assert np.all(np.abs(res - np.abs(X @ c - Y).max(0)) <= sc * L)


# ----------------------------------------------------------------------------------------------
# alignment: helpers from their definitions (numpy eigh/svd/cholesky on well-conditioned inputs)
# ----------------------------------------------------------------------------------------------
from theory import alignment as al  # noqa: E402


def _spd(n, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * rng.uniform(0.5, 2.0, n)) @ Q.T


def _ldl_ref(Cr):
    Lc = np.linalg.cholesky(Cr)
    dg = np.diag(Lc)
    return Lc / dg[None, :], dg ** 2


def test_ldl_variants_and_predictions_match_cholesky():
    C = _spd(5, 3)
    cond = np.linalg.cond(C)
    tl = 64 * 5 * EPS * cond
    for r in (1, 3, 5):
        T, d = _ldl_ref(C[:r, :r])
        T1, d1 = al.ldl_unit(C[:r, :r])
        T2, d2, Ti2 = al.ldl_unit_mp(C[:r, :r])
        Tb, db = al.ldl_unit_batch(np.stack([C[:r, :r], 2 * C[:r, :r]]))
        for TT, dd in [(T1, d1), (T2, d2), (Tb[0], db[0])]:
            assert np.max(np.abs(TT - T)) <= tl and np.max(np.abs(dd - d)) <= tl * d.max()
        assert np.max(np.abs(Tb[1] - T)) <= tl and np.max(np.abs(db[1] - 2 * d)) <= 2 * tl * d.max()
        assert np.max(np.abs(Ti2 - np.linalg.inv(T))) <= tl * np.linalg.cond(T)
        ell = al.leading_minor_ratios(C, r)
        dets = [1.0] + [np.linalg.det(C[:i, :i]) for i in range(1, r + 1)]
        assert np.max(np.abs(ell - np.array(dets[1:]) / np.array(dets[:-1]))) <= tl * d.max()
        # al.entry_prediction entry by entry: tests/test_mutants_kill_h1.py
        if r < 5:
            K = al.k_tail(C, r)
            want = C[r:, :r] @ np.linalg.inv(T).T / d[None, :]  # C21 = K Sigma T^T
            assert np.max(np.abs(K - want)) <= tl * np.abs(want).max() * cond
        assert al.k_eff(C, r) == max(1.0, np.linalg.norm(C, 2) / np.min(np.abs(ell))) or \
            abs(al.k_eff(C, r) - max(1.0, np.linalg.norm(C, 2) / np.min(ell))) <= tl * cond
    bad = C.copy()
    bad[1, 1] = -1.0
    with pytest.raises(ValueError):
        al.ldl_unit(bad[:3, :3])
    with pytest.raises(ValueError):
        al.ldl_unit_mp(bad[:3, :3])
    Tb, db = al.ldl_unit_batch(np.stack([bad[:3, :3], C[:3, :3]]))
    assert np.isnan(Tb[0]).all() and np.isnan(db[0]).all() and np.isfinite(Tb[1]).all()
    for args in [(C[:3], 2), (C, 0), (C, 6), (C[0], 1)]:
        with pytest.raises(ValueError):
            al.predict(*args)
        with pytest.raises(ValueError):
            al.leading_minor_ratios(*args)
    with pytest.raises(ValueError):
        al.ldl_unit_batch(np.ones((2, 3)))


def test_graded_eig_and_eig_float64_match_numpy_on_mild_grading():
    n, r = 4, 3
    C = _spd(n, 7)
    log_s = np.array([0.0, -0.4, -0.9, -1.5])
    s = np.exp(log_s)
    X = np.diag(s) @ C @ np.diag(s)
    w, V = np.linalg.eigh(X)
    o = np.argsort(-np.abs(w))
    w, V = w[o], V[:, o]
    V = V * np.sign(np.diag(V))[None, :]
    gaps = np.min(np.abs(w[:, None] - w[None, :]) + np.diag(np.full(n, np.inf)), axis=1)
    tv = 64 * n * EPS * np.abs(w).max() / gaps.min()
    g = al.graded_eig(log_s, C, r)
    assert np.max(np.abs(g.U - V)) <= tv
    assert np.max(np.abs(g.sigma_scaled - w / s ** 2)) <= tv * np.abs(w / s ** 2).max()
    assert np.max(np.abs(g.log_abs_sigma - np.log(np.abs(w)))) <= tv
    assert np.max(np.abs(g.lower - V[:r, :r] * s[None, :r] / s[:r, None])) <= tv * np.exp(2)
    assert np.max(np.abs(g.upper - V[:r, :r] * s[:r, None] / s[None, :r])) <= tv * np.exp(2)
    assert abs(g.ratio_next - abs(w[r]) / w[r - 1]) <= tv
    w64, V64 = al.eig_float64(log_s, C)
    assert np.max(np.abs(w64 - w)) <= tv * np.abs(w).max() and np.max(np.abs(V64 - V)) <= tv
    res = al.float64_resolution(w, n)
    assert np.allclose(res, 8 * n * EPS * np.abs(w).max() / gaps, rtol=16 * EPS, atol=0)
    assert al.float64_resolution(np.array([2.0]), 1)[0] == 0.0
    # s_n = 0: a zero eigenvalue, NaN scaled sigma, -inf log
    g0 = al.graded_eig(np.array([0.0, -0.4, -0.9, -np.inf]), C, r)
    assert np.isnan(g0.sigma_scaled[-1]) and g0.log_abs_sigma[-1] == -np.inf and np.all(np.isfinite(g0.U))
    for args in [(log_s[:3], C, r), (log_s, C[0], r), (log_s, C[:3], r), (log_s, C, 0), (log_s, C, n + 1)]:
        with pytest.raises(ValueError):  # validation names the problem (a 1-D C included)
            al.graded_eig(*args)


def test_section6_matches_numpy_svd_on_mild_grading():
    n, r = 4, 3
    rng = np.random.default_rng(17)
    UA, _ = np.linalg.qr(rng.standard_normal((n, n)))
    B, _ = np.linalg.qr(rng.standard_normal((n, n)))
    B = B + 0.2 * rng.standard_normal((n, n))
    log_sA = np.array([0.0, -0.5, -1.1, -1.8])
    sA = np.exp(log_sA)
    J = UA @ np.diag(sA) @ B
    UJ, sJ, _ = np.linalg.svd(J)
    R = UA.T @ UJ
    R = R * np.sign(np.diag(R))[None, :]
    gaps = np.min(np.abs(sJ[:, None] - sJ[None, :]) + np.diag(np.full(n, np.inf)), axis=1)
    tv = 64 * n * EPS * np.linalg.cond(J) * sJ[0] / gaps.min()
    out = al.section6(log_sA, UA, B, r)
    assert np.max(np.abs(out.R - R)) <= tv
    assert np.max(np.abs(out.sJ_over_sA - sJ / sA)) <= tv
    assert np.max(np.abs(out.lower - R[:r, :r] * sA[None, :r] / sA[:r, None])) <= tv * np.exp(4)
    assert np.max(np.abs(out.upper - R[:r, :r] * sA[:r, None] / sA[None, :r])) <= tv * np.exp(4)
    assert np.max(np.abs(out.log_sJ - np.log(sJ))) <= tv


def test_ladder_helpers_closed_forms():
    a = np.array([0.0, 0.5, 1.5, np.inf])
    assert np.array_equal(al.log_s_sequence(a, 3.0, "exp"), -3.0 * a)
    ls = al.log_s_sequence(np.array([0.0, 1.0, 2.0]), 10.0, "poly")
    assert np.max(np.abs(np.exp(ls) - np.array([1.0, 0.1, 0.01]))) <= 8 * EPS
    for args in [(np.array([1.0, 0.5]), 2.0, "exp"), (a, 2.0, "cubic")]:
        with pytest.raises(ValueError):
            al.log_s_sequence(*args)
    assert al.min_gap(a, 1) == 0.5 and al.min_gap(a, 2) == 0.5 and al.min_gap(np.array([0.0, 2.0, 2.5]), 1) == 2.0
    assert al.min_gap(a[[0, 3]], 1) == np.inf
    assert al.depth_for(1.0, a, 1, 1.0, "exp") == 0.0
    L = al.depth_for(1e-3, a, 2, 4.0, "exp")
    assert abs(4.0 * np.exp(-L * 0.5) - 1e-3) <= 64 * EPS * 1e-3 * L
    L = al.depth_for(1e-3, np.array([0.0, 2.0, 5.0]), 2, 4.0, "poly")
    assert abs(4.0 * L ** -2.0 - 1e-3) <= 64 * EPS * 1e-3 * np.log(L)
    assert al.depth_for(1e-3, a[[0, 3]], 1, 4.0, "exp") == 1.0
    ls = np.array([0.0, -1.0, -1.5, -np.inf])
    assert abs(al.rho_of(ls, 2) - np.exp(-0.5)) <= 4 * EPS
    assert abs(al.rho_of(ls, 1) - np.exp(-1.0)) <= 4 * EPS and al.rho_of(ls[[0, 3]], 1) == 0.0
    # run_ladder: each rung sits where K_eff * rho_L hits the target
    C = _spd(3, 23)
    pred, K, rungs = al.run_ladder(np.array([0.0, 1.0, 3.0]), C, 2, "exp", [1e-1, 1e-2])
    assert abs(K - al.k_eff(C, 2)) == 0.0 and np.array_equal(pred.ell, al.predict(C, 2).ell)
    for e, rung in zip([1e-1, 1e-2], rungs):
        assert abs(rung.eps - e) <= 64 * EPS * e * rung.L and abs(rung.rho * K - rung.eps) <= 4 * EPS * e
        assert np.array_equal(rung.log_s, -rung.L * np.array([0.0, 1.0, 3.0]))


def test_suffix_products_and_sign_align():
    rng = np.random.default_rng(29)
    M = torch.as_tensor(rng.standard_normal((2, 4, 3, 3)))
    A = al.suffix_products(M)
    for b in range(2):
        for l in range(4):
            P = np.eye(3)
            for k in range(3, l - 1, -1):
                P = P @ M[b, k].numpy()
            P = P / np.linalg.norm(P)
            assert np.max(np.abs(A[b, l].numpy() - P)) <= 64 * 4 * EPS
    U = rng.standard_normal((2, 3, 3))
    Ur = rng.standard_normal((2, 3, 3))
    out = al.sign_align(Ur, U)
    d = np.einsum("bij,bij->bj", Ur, U)
    assert np.array_equal(out, U * np.where(d < 0, -1.0, 1.0)[:, None, :])
    assert np.all(np.einsum("bij,bij->bj", Ur, out) >= 0)
    outt = al.sign_align(torch.as_tensor(Ur), torch.as_tensor(U))
    assert np.array_equal(outt.numpy(), out)


@pytest.mark.parametrize("reading", ["fgln", "masked", "masked+1"])
def test_fgln_products_replayed_from_the_generator(reading):
    S, n, p, L, sigma = 2, 3, 0.7, 4, 1.3
    J, A = al.fgln_products(torch.Generator().manual_seed(3), S, n, p, L, sigma, reading)
    g = torch.Generator().manual_seed(3)
    W = samplers.ginibre(S * L, n, sigma, g).reshape(S, L, n, n).numpy()
    D = samplers.p_gate(S * L, n, p, g).reshape(S, L, n).numpy()

    def nrm(X):
        return X / np.linalg.norm(X)

    for s in range(S):
        if reading == "fgln":
            Jw = W[s, 0]
            for l in range(1, L):
                Jw = W[s, l] @ np.diag(D[s, l - 1]) @ Jw
            As = []
            for l in range(1, L):
                P = W[s, L - 1]
                for k in range(L - 1, l, -1):
                    P = P @ np.diag(D[s, k - 1]) @ W[s, k - 1]
                As.append(P @ np.diag(D[s, l - 1]))
        else:
            Ms = [np.diag(D[s, k]) @ W[s, k] for k in range(L)]
            def suf(l):  # noqa: E306
                P = np.eye(n)
                for k in range(L - 1, l - 1, -1):
                    P = P @ Ms[k]
                return P
            Jw = suf(0)
            As = [suf(l) if reading == "masked" else suf(l - 1) for l in range(1, L)]
        sc = 64 * L * n * EPS * 10
        assert np.max(np.abs(J[s].numpy() - nrm(Jw))) <= sc
        for l in range(L - 1):
            assert np.max(np.abs(A[s, l].numpy() - nrm(As[l]))) <= sc * np.linalg.cond(As[l] + 0 * np.eye(n)) \
                if np.linalg.norm(As[l]) > 0 else np.all(A[s, l].numpy() == 0)
    with pytest.raises(ValueError):
        al.fgln_products(torch.Generator().manual_seed(3), S, n, p, L, sigma, "other")


# ----------------------------------------------------------------------------------------------
# dynamics: losses (autograd), gradient flow (closed form at L = 1, the balance invariant at L = 2),
# the G.1 task and the masked init replayed from their generators
# ----------------------------------------------------------------------------------------------
def test_losses_gradients_match_autograd():
    rng = np.random.default_rng(91)
    J, T = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    X, Y = rng.standard_normal((4, 7)), rng.standard_normal((3, 7))
    Jt = torch.tensor(J, requires_grad=True)
    (0.5 * ((Jt - torch.as_tensor(T)) ** 2).sum()).backward()
    sc = 16 * EPS * (np.abs(J).max() + np.abs(T).max())
    assert np.max(np.abs(dynamics.quadratic_target(T)(J) - Jt.grad.numpy())) <= sc
    Jt = torch.tensor(J, requires_grad=True)
    (((Jt @ torch.as_tensor(X) - torch.as_tensor(Y)) ** 2).sum() / (2 * 7)).backward()
    sc = 64 * 7 * EPS * (np.abs(J).max() * np.abs(X).max() + np.abs(Y).max()) * np.abs(X).max() * 4
    assert np.max(np.abs(dynamics.mse_data(X, Y)(J) - Jt.grad.numpy())) <= sc


def test_pack_unpack_roundtrip():
    rng = np.random.default_rng(92)
    Ws = [rng.standard_normal(s) for s in [(2, 3), (4, 2), (1, 4)]]
    th = dynamics._pack(Ws)
    assert th.shape == (6 + 8 + 4,) and np.array_equal(th, np.concatenate([w.reshape(-1) for w in Ws]))
    back = dynamics._unpack(th, [w.shape for w in Ws])
    assert all(np.array_equal(a, b) for a, b in zip(back, Ws))


def test_gradient_flow_closed_form_and_balance_invariant():
    rng = np.random.default_rng(93)
    W0, T = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    ts = np.array([0.0, 0.5, 1.0, 2.0])
    rtol = 1e-12
    fl = dynamics.gradient_flow([W0], [], dynamics.quadratic_target(T), ts, rtol=rtol, atol=rtol)
    assert np.array_equal(fl.t, ts) and fl.nfev > 0 and fl.settings["rtol"] == rtol
    for t, Ws in zip(ts, fl.weights):
        exact = T + (W0 - T) * np.exp(-t)  # dW/dt = -(W - T)
        assert np.max(np.abs(Ws[0] - exact)) <= 1e3 * rtol * (np.abs(W0).max() + np.abs(T).max())
    # two layers, identity gate: W_2^T W_2 - W_1 W_1^T is conserved by the flow
    W1, W2 = 0.5 * rng.standard_normal((3, 3)), 0.5 * rng.standard_normal((3, 3))
    fl = dynamics.gradient_flow([W1, W2], [np.ones(3)], dynamics.quadratic_target(0.3 * T), ts, rtol=rtol,
                                atol=rtol)
    d0 = W2.T @ W2 - W1 @ W1.T
    moved = 0.0
    for Ws in fl.weights:
        assert np.max(np.abs(Ws[1].T @ Ws[1] - Ws[0] @ Ws[0].T - d0)) <= 1e4 * rtol
        moved = max(moved, np.max(np.abs(Ws[0] - W1)))
    assert moved > 1e6 * rtol  # the weights did move
    J = fgln.jacobian(fl.weights[-1], [np.ones(3)])
    J0 = W2 @ W1
    assert np.linalg.norm(J - 0.3 * T) < np.linalg.norm(J0 - 0.3 * T)  # the loss decreased


def test_synthetic_task_and_init_masked_replayed():
    t = dynamics.synthetic_task(4, 9, 2, np.random.default_rng(94))
    rng = np.random.default_rng(94)
    X = rng.standard_normal((4, 9))
    T = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 4)) / 4
    assert np.array_equal(t.X, X) and np.array_equal(t.T, T) and np.array_equal(t.Y, T @ X)
    for L in (1, 3):
        Ws, ds = dynamics.init_masked(4, L, 0.6, 1.7, torch.Generator().manual_seed(95))
        g = torch.Generator().manual_seed(95)
        W = (1.7 * torch.randn(L, 4, 4, generator=g, dtype=torch.float64)).numpy()
        D = (torch.rand(max(L - 1, 1), 4, generator=g, dtype=torch.float64) < 0.6).to(torch.float64).numpy()
        assert len(Ws) == L and len(ds) == L - 1
        assert all(np.array_equal(a, b) for a, b in zip(Ws, W))
        assert all(np.array_equal(a, b) for a, b in zip(ds, D[:L - 1]))


# ----------------------------------------------------------------------------------------------
# products: _block_svals against mpmath on graded triangular matrices with natural cuts, unsorted scales;
# _check_common's domains
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("logt", [[0.0, -3.0, -40.0, -45.0, -100.0], [-45.0, 0.0, -100.0, -3.0, -40.0],
                                  [2.0, 1.0, -0.5, -1.0, -2.5], [7.0]])
def test_block_svals_matches_mpmath(logt):
    import mpmath as mp

    logt = np.array(logt)
    m = logt.size
    rng = np.random.default_rng(int(abs(logt.sum())) + m)
    rn = np.triu(0.3 * rng.standard_normal((m, m)), 1) + np.diag(rng.choice([-1.0, 1.0], m) * rng.uniform(0.5, 2, m))
    got = products._block_svals(logt.copy(), rn.copy())
    with mp.workdps(120):
        X = mp.matrix(m, m)
        for a in range(m):
            for b in range(m):
                X[a, b] = mp.mpf(float(rn[a, b])) * mp.exp(mp.mpf(float(logt[b])))
        sv = sorted((float(mp.log(x)) for x in mp.svd_r(X, compute_uv=False)), reverse=True)
    # graded SVD: relative accuracy ~ m eps cond(R_N) per singular value, plus the rounding of each log
    bound = 64 * m * EPS * (np.linalg.cond(rn) + np.abs(np.array(sv)).max())
    assert got.shape == (m,) and np.all(np.diff(got) <= 0)
    assert np.max(np.abs(got - np.array(sv))) <= bound, (got, sv, bound)
    assert products._block_svals(np.empty(0), np.empty((0, 0))).shape == (0,)


def test_check_common_domains():
    ok = dict(n=4, batch=2, p=0.5, sigma=1.0, r=None, conditioned=False, chunk=None)
    products._check_common(**ok)
    products._check_common(**{**ok, "p": 1.0, "sigma": 1, "r": 4, "chunk": 3})
    products._check_common(**{**ok, "conditioned": True, "r": 1})
    for bad in [{"p": 0.0}, {"p": np.nextafter(1.0, 2.0)}, {"p": 1.3}, {"p": "0.5"}, {"sigma": 0.0},
                {"sigma": -1.0}, {"sigma": None}, {"conditioned": True}, {"conditioned": True, "r": 5},
                {"r": 0}, {"chunk": 0}, {"chunk": 2.0}, {"n": 0}, {"batch": 0}]:
        with pytest.raises(ValueError):
            products._check_common(**{**ok, **bad})


# ----------------------------------------------------------------------------------------------
# gate_law by brute enumeration in Fractions; lyapunov's closed forms against mpmath and identities
# ----------------------------------------------------------------------------------------------
from fractions import Fraction  # noqa: E402
import itertools  # noqa: E402

from theory import gate_law, lyapunov  # noqa: E402


@pytest.mark.parametrize("n,r,p", [(1, 0, Fraction(1, 3)), (1, 1, Fraction(1, 3)), (4, 2, Fraction(2, 5)),
                                   (5, 5, Fraction(3, 4)), (5, 0, Fraction(1, 2)), (3, 1, Fraction(1))])
def test_gate_law_by_enumeration(n, r, p):
    pats = list(itertools.product((0, 1), repeat=n))
    w = {pt: p ** sum(pt) * (1 - p) ** (n - sum(pt)) for pt in pats}
    acc = sum(v for pt, v in w.items() if sum(pt) >= r)
    assert gate_law.acceptance(n, r, p) == acc
    law = gate_law.rank_law(n, r, p)
    assert set(law) == set(range(r, n + 1))
    for t in range(r, n + 1):
        assert law[t] == sum(v for pt, v in w.items() if sum(pt) == t) / acc
    pl = gate_law.pattern_law(n, r, p)
    for pt in pats:
        assert pl[pt] == (w[pt] / acc if sum(pt) >= r else 0)
    assert gate_law.marginal(n, r, p) == sum(v for pt, v in w.items() if sum(pt) >= r and pt[0] == 1) / acc
    for bad in [(n, n + 1, p), (0, 0, p), (n, -1, p), (n, r, 0), (n, r, Fraction(3, 2))]:
        with pytest.raises(ValueError):
            gate_law.acceptance(*bad)


def test_gate_law_chernoff_and_ranks():
    from scipy.stats import binom

    for n, r, p in [(10, 3, 0.5), (20, 2, 0.3), (8, 8, 0.9), (5, 4, 0.5)]:
        mu = n * p
        want = 0.0 if r > mu else 1.0 - math.exp(-(mu - r) ** 2 / (2 * mu))
        got = gate_law.chernoff_lower(n, r, p)
        assert abs(got - want) <= 8 * EPS and got <= binom.sf(r - 1, n, p) + 8 * EPS
    import sympy

    rng = np.random.default_rng(97)
    for shape, rk in [((4, 5), 2), ((5, 3), 3), ((3, 3), 0), ((6, 6), 4)]:
        m = rng.integers(-3, 4, (shape[0], rk)) @ rng.integers(-3, 4, (rk, shape[1])) if rk else np.zeros(shape, int)
        want = sympy.Matrix(m.tolist()).rank()
        assert gate_law.exact_rank(m) == want
        assert gate_law.numerical_rank(m.astype(float), 1e3 * EPS * max(shape)) == want
    assert gate_law.exact_rank(np.zeros((0, 0))) == 0
    assert gate_law.numerical_rank(np.diag([1.0, 1e-3, 1e-9]), 1e-6) == 2
    b1 = np.array([[1, 0], [0, 1], [0, 0]])
    b2 = np.array([[1, 1], [1, 0], [0, 1]])
    assert gate_law.intersection_dim_exact(b1, b2) == 1
    assert gate_law.intersection_dim_exact(b1, b1) == 2


@pytest.mark.parametrize("n,p,sigma,r", [(4, 0.5, 1.0, 2), (5, 0.8, 0.7, 5), (3, 1.0, 2.0, 2), (6, 0.3, 1.3, 1)])
def test_lyapunov_exponents_against_mpmath(n, p, sigma, r):
    import mpmath as mp

    with mp.workdps(40):
        pp = mp.mpf(p)
        ts = list(range(r, n + 1)) if p < 1 else [n]
        raw = {t: mp.binomial(n, t) * pp ** t * (1 - pp) ** (n - t) for t in ts}
        z = sum(raw.values())
        g = [mp.log(mp.sqrt(2) * sigma) + sum(raw[t] / z * mp.digamma(mp.mpf(t - i + 1) / 2) for t in ts) / 2
             for i in range(1, r + 1)]
        ga = [mp.log(mp.sqrt(2) * sigma) + sum(raw[t] * mp.digamma(mp.mpf(t - i + 1) / 2) for t in ts) / 2
              for i in range(1, r + 1)]
    tl = 64 * n * EPS * (1 + abs(math.log(sigma)))
    got = lyapunov.gamma(n, p, sigma, r)
    assert np.max(np.abs(got - np.array([float(x) for x in g]))) <= tl
    if p < 1:
        assert np.max(np.abs(lyapunov.gamma(n, p, sigma, r, approx=True) - np.array([float(x) for x in ga]))) <= tl
    t, w = lyapunov.rank_weights(n, p, r)
    assert np.array_equal(t, np.arange(r, n + 1))
    assert np.max(np.abs(w - np.array([float(raw.get(tt, 0) / z) for tt in t]))) <= tl
    lm = lyapunov.lam(n, p, sigma, r)
    top = n if p == 1 else r
    gfull = lyapunov.gamma(n, p, sigma, top)
    assert np.max(np.abs(lm[:top] - np.cumsum(gfull))) <= tl * n  # lambda_i = gamma_1 + ... + gamma_i
    assert np.all(lm[top:] == -np.inf)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_haar_minor_constants_d(n):
    import mpmath as mp

    for i in range(0, n + 1):
        got = lyapunov.d(i, n)
        assert abs(got - float(lyapunov.d_mp(i, n))) <= 64 * n * EPS * (1 + abs(got))
        assert abs(got - lyapunov.d(n - i, n)) <= 64 * n * EPS * (1 + abs(got))  # complementary minors
    assert lyapunov.d(0, n) == 0.0 and abs(lyapunov.d(n, n)) <= 64 * n * EPS
    want = float((mp.digamma(mp.mpf(n) / 2) - mp.digamma(mp.mpf(1) / 2)) / 2)
    assert abs(lyapunov.d(1, n) - want) <= 64 * n * EPS * (1 + abs(want))
    for bad in [(-1, n), (n + 1, n), (0, 0), (1.0, n)]:
        with pytest.raises(ValueError):
            lyapunov.d(*bad)


# ----------------------------------------------------------------------------------------------
# dynamics.train_mnist_fgln: two full-batch steps of SGD (heavy ball) and Adam replayed with torch autograd
# from the documented update rules; the recorded losses, accuracies, settings and the run's duration
# ----------------------------------------------------------------------------------------------
def _mnist_reference(X, y, n, L, p, lr, momentum, optimizer, steps, seed, imgs, labs):
    g = torch.Generator().manual_seed(seed)
    M, d_in = X.shape[0], int(np.prod(X.shape[1:]))
    W_in = torch.randn(n, d_in, generator=g, dtype=torch.float64) / math.sqrt(d_in)
    Wh = list(samplers.ginibre(L, n, 1.0 / math.sqrt(n), g))
    W_out = torch.randn(10, n, generator=g, dtype=torch.float64) / math.sqrt(n)
    D = samplers.p_gate(max(L - 1, 1), n, p, g)[: L - 1]
    Ws0 = [w.clone() for w in Wh]
    params = [W_in, *Wh, W_out]
    xs = (torch.as_tensor(X, dtype=torch.float64).reshape(M, d_in) - 0.1307) / 0.3081

    def fwd(ps, x):  # rows of x are images
        h = x @ ps[0].T @ ps[1].T
        for l in range(1, L):
            h = (h * D[l - 1][None, :]) @ ps[l + 1].T
        return h @ ps[-1].T

    bufs, m1, m2, losses = [None] * len(params), [0.0] * len(params), [0.0] * len(params), []
    for step in range(steps):
        ps = [w.detach().clone().requires_grad_() for w in params]
        logits = fwd(ps, xs)
        loss = -(logits.log_softmax(1)[torch.arange(M), torch.as_tensor(y)]).mean()
        loss.backward()
        losses.append(float(loss.detach()))
        new = []
        for i, (w, pw) in enumerate(zip(params, ps)):
            gr = pw.grad
            if optimizer == "sgd":
                bufs[i] = gr if bufs[i] is None else momentum * bufs[i] + gr
                new.append(w - lr * (bufs[i] if momentum else gr))
            else:
                m1[i] = 0.9 * m1[i] + 0.1 * gr
                m2[i] = 0.999 * m2[i] + 0.001 * gr * gr
                mh, vh = m1[i] / (1 - 0.9 ** (step + 1)), m2[i] / (1 - 0.999 ** (step + 1))
                new.append(w - lr * mh / (vh.sqrt() + 1e-8))
        params = new
    x = torch.as_tensor(imgs.reshape(len(imgs), -1) / 255.0, dtype=torch.float64)
    pred = fwd(params, (x - 0.1307) / 0.3081).argmax(1).numpy()
    return Ws0, params[1:-1], D, losses, pred


@pytest.mark.parametrize("optimizer,momentum", [("sgd", 0.0), ("sgd", 0.5), ("adam", 0.0)])
def test_train_mnist_fgln_replays_two_full_batch_steps(optimizer, momentum):
    import time

    rng = np.random.default_rng(99)
    M, n, L, p, lr, steps = 6, 4, 3, 0.6, 0.05, 2
    X = rng.random((M, 3, 2))
    y = rng.integers(0, 10, M)
    imgs = rng.integers(0, 256, (300, 3, 2)).astype(np.uint8)
    # labels = the reference network's own predictions, one of them changed: accuracy 299/300 exactly, and
    # any slip in how the evaluation images are scaled or normalised moves some argmax
    pred = _mnist_reference(X, y, n, L, p, lr, momentum, optimizer, steps, 7, imgs, None)[4]
    labs = pred.copy()
    labs[0] = (labs[0] + 1) % 10
    t0 = time.perf_counter()
    run = dynamics.train_mnist_fgln(X, y, n=n, L=L, p=p, optimizer=optimizer, lr=lr, momentum=momentum,
                                    steps=steps, batch=M, gen=torch.Generator().manual_seed(7),
                                    evaluate=(imgs, labs), dtype="float64")
    elapsed = time.perf_counter() - t0
    Ws0, Ws, D, losses, _ = _mnist_reference(X, y, n, L, p, lr, momentum, optimizer, steps, 7, imgs, labs)
    acc = 299 / 300
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(run.Ws0, Ws0))
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(run.ds, D))
    bound = 1e3 * EPS * (1 + lr * steps * 1e2)
    for a, b in zip(run.Ws, Ws):
        assert np.max(np.abs(a - b.detach().numpy())) <= bound * max(1.0, np.abs(a).max())
    assert len(run.loss) == steps and np.max(np.abs(np.array(run.loss) - np.array(losses))) <= bound * 10
    assert run.acc == acc and run.test_acc is None
    assert run.settings == {"n": n, "L": L, "p": p, "optimizer": optimizer, "lr": lr, "momentum": momentum,
                            "steps": steps, "batch": M, "pool": M, "dtype": "float64"}
    assert 0.0 <= run.seconds <= elapsed


def test_train_mnist_fgln_and_train_gd_reject_bad_settings_and_time_themselves():
    import time

    X, y = np.zeros((4, 2, 2)), np.zeros(4, dtype=int)
    kw = dict(n=2, L=2, lr=0.1, steps=1, gen=torch.Generator().manual_seed(0))
    for bad in [{"optimizer": "rmsprop"}, {"steps": 0}, {"batch": 0}, {"lr": 0.0}, {"momentum": 1.0},
                {"momentum": -0.1}, {"dtype": "float16"}]:
        with pytest.raises(ValueError):
            dynamics.train_mnist_fgln(X, y, **{**kw, **bad})
    task = dynamics.synthetic_task(3, 5, 1, np.random.default_rng(0))
    Ws, ds = dynamics.init_masked(3, 2, 0.5, 0.5, torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    run = dynamics.train_gd(Ws, ds, task, lr=0.1, steps=2)
    assert 0.0 <= run.seconds <= time.perf_counter() - t0
    with pytest.raises(ValueError):
        dynamics.train_gd(Ws, ds, task, lr=0.1, steps=2, dtype="float16")


# ----------------------------------------------------------------------------------------------
# wedge: wedge norms from Gram determinants, the Wishart/Lemma C.3 forms against mpmath, compound matrices
# from minors, the Lemma C.6 ratio from its definition, the Haar-minor moments against p = 2 and t = 1 forms
# ----------------------------------------------------------------------------------------------
from theory import wedge  # noqa: E402


def test_wedge_helpers_from_definitions():
    import mpmath as mp
    from itertools import combinations

    rng = np.random.default_rng(101)
    y = rng.standard_normal((3, 4, 4))
    for i in range(1, 5):
        want = 0.5 * np.log(np.linalg.det(np.einsum("bki,bkj->bij", y[..., :i], y[..., :i])))
        assert np.max(np.abs(wedge.log_wedge_columns(y, i) - want)) <= 64 * 16 * EPS * np.linalg.cond(y).max() ** 2
    assert np.all(wedge.log_wedge_columns(rng.standard_normal((2, 5, 3)), 3) > -np.inf)
    yd = y.copy()
    yd[..., 1] = 0.0
    assert np.all(wedge.log_wedge_columns(yd, 2) == -np.inf)
    for bad in (0, 5):
        with pytest.raises(ValueError):
            wedge.log_wedge_columns(y, bad)
    for i, t, sigma in [(1, 1, 1.0), (2, 5, 0.7), (3, 3, 2.0)]:
        with mp.workdps(30):
            want = float(i * mp.log(2 * mp.mpf(sigma) ** 2) + sum(mp.digamma(mp.mpf(t - k + 1) / 2) for k in range(1, i + 1)))
        tl = 64 * i * EPS * (1 + abs(want))
        assert abs(wedge.wishart_logdet_mean(i, t, sigma) - want) <= tl
        assert abs(wedge.lemma_c3_corrected(i, t, sigma) - want / 2) <= tl
        assert abs(wedge.lemma_c3_printed(i, t, i, sigma) - want / 2) <= tl
        assert wedge.lemma_c3_printed(i + 1, t, i, sigma) == -np.inf
    assert wedge.lemma_c3_corrected(4, 3, 1.0) == -np.inf
    for bad in [(0, 3, 1.0), (4, 3, 1.0)]:
        with pytest.raises(ValueError):
            wedge.wishart_logdet_mean(*bad)
    m = rng.standard_normal((4, 4))
    for t in (1, 2, 3):
        sets = list(combinations(range(4), t))
        want = np.array([[np.linalg.det(m[np.ix_(I, J)]) for J in sets] for I in sets])
        assert np.max(np.abs(wedge.compound(m, t) - want)) <= 64 * t * EPS * np.abs(m).max() ** t * 4
    # Lemma C.6 ratio: log ||C_t(S_A W S_B)|| - log(prod_{k<=t} a_k) - log(prod_{k<=t} b_k)
    a, b = np.array([3.0, 1.5, 0.4, 0.1]), np.array([2.0, 2.0, 0.5, 0.0])
    W = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    for t in (1, 2, 3):
        X = np.diag(a) @ W @ np.diag(b)
        want = np.log(np.linalg.norm(wedge.compound(X, t), 2)) - np.log(a[:t]).sum() - np.log(b[:t]).sum()
        assert abs(wedge.log_ratio_c6(a, W, b, t) - want) <= 64 * 16 * EPS * (a[0] / a[t - 1]) * (b[0] / b[t - 1])
    with pytest.raises(ValueError):
        wedge.log_ratio_c6(a, W, b, 4)
    Om = np.linalg.qr(rng.standard_normal((2, 5, 5)))[0]
    for t in (1, 3):
        assert np.max(np.abs(wedge.log_abs_top_minor(Om, t) - np.log(np.abs(np.linalg.det(Om[:, :t, :t]))))) <= 64 * EPS * 10
    # moments: p = 2 gives 1/C(n, t); t = 1: E|w_11| = Gamma(n/2) / (sqrt(pi) Gamma((n+1)/2)); t = n: 1
    for n in (2, 4, 7):
        for t in range(1, n + 1):
            assert abs(wedge.top_minor_abs_moment(t, n, 2.0) - 1.0 / math.comb(n, t)) <= 64 * n * EPS
        want = math.exp(math.lgamma(n / 2) - math.lgamma((n + 1) / 2)) / math.sqrt(math.pi)
        assert abs(wedge.top_minor_abs_mean(1, n) - want) <= 64 * n * EPS
        assert wedge.top_minor_abs_moment(n, n, 0.5) == 1.0
        # p = 0 is the total mass 1
        assert abs(wedge.top_minor_abs_moment(max(1, n - 1), n, 0.0) - 1.0) <= 64 * n * EPS
    for bad in [(0, 3, 1.0), (4, 3, 1.0), (1, 3, -1.0)]:
        with pytest.raises(ValueError):
            wedge.top_minor_abs_moment(*bad)


# ----------------------------------------------------------------------------------------------
# tensor: Kronecker kernels and the ring-generic references against einsum in exact integers
# ----------------------------------------------------------------------------------------------
from theory import tensor as tn  # noqa: E402


def test_tensor_helpers_against_einsum():
    rng = np.random.default_rng(111)
    n = 3
    vs = [rng.integers(-4, 5, n) for _ in range(3)]
    want = np.einsum("i,j,k->ijk", *vs).ravel()
    assert np.array_equal(tn.elementary_tensor(*vs), want)
    assert tn.tensor_by_expansion([list(map(int, v)) for v in vs]) == [int(x) for x in want]
    assert tn.multi_indices(n, 2) == [(i, j) for i in range(n) for j in range(n)]
    m = rng.integers(-3, 4, (n, n))
    T2 = np.einsum("ac,bd->abcd", m, m).reshape(n * n, n * n)
    T3 = np.einsum("ad,be,cf->abcdef", m, m, m).reshape(n ** 3, n ** 3)
    assert np.array_equal(tn.tensor_power(m, 2), T2) and np.array_equal(tn.tensor_power(m, 3), T3)
    assert np.array_equal(tn.tensor_power(m, 1), m)
    mi = [[int(x) for x in r] for r in m]
    assert tn.tensor_power_by_expansion(mi, 2) == T2.tolist() and tn.tensor_power_by_formula(mi, 2) == T2.tolist()
    assert tn.tensor_power_by_formula(mi, 3) == T3.tolist()
    ws = [rng.standard_normal(n) for _ in range(3)]
    fv = [v.astype(float) for v in vs]
    got = tn.tensor_inner(fv, ws)
    ref = float(np.dot(tn.elementary_tensor(*fv), tn.elementary_tensor(*ws)))
    assert abs(got - ref) <= 64 * n ** 3 * EPS * np.prod([np.linalg.norm(a) * np.linalg.norm(b) for a, b in zip(fv, ws)])
    x = rng.integers(-5, 6, n ** 3)
    cube = x.reshape(n, n, n)
    for k in range(3):
        want = np.moveaxis(cube, k, 0).reshape(n, -1)
        assert tn.unfolding_by_indices(list(map(int, x)), n, 3, k) == want.tolist()
    e = tn.elementary_tensor(*fv)
    assert tn.elementary_defect(e, n, 3) <= 64 * n ** 3 * EPS
    y = e + tn.elementary_tensor(*ws)
    s2 = max(np.linalg.svd(np.moveaxis(y.reshape(n, n, n), k, 0).reshape(n, -1), compute_uv=False)[1] for k in range(3))
    assert abs(tn.elementary_defect(y, n, 3) - s2 / np.linalg.norm(y)) <= 64 * n ** 3 * EPS
    assert tn.elementary_defect(np.zeros(n ** 2), n, 2) == 0.0
    for bad in [lambda: tn.multi_indices(0, 2), lambda: tn.multi_indices(2, 0), lambda: tn.elementary_tensor(),
                lambda: tn.elementary_tensor([1, 2], [1, 2, 3]), lambda: tn.tensor_power(np.ones(3), 2),
                lambda: tn.tensor_inner([[1]], []), lambda: tn.elementary_defect(np.ones(5), 2, 2),
                lambda: tn.unfolding_by_indices([1] * 4, 2, 2, 2), lambda: tn.unfolding_by_indices([1] * 5, 2, 2, 0),
                lambda: tn.tensor_power(np.eye(2), 1.0)]:
        with pytest.raises(ValueError):
            bad()


# ----------------------------------------------------------------------------------------------
# exterior: float kernels and ring-generic references against sympy minors on integer matrices
# ----------------------------------------------------------------------------------------------
from theory import exterior as ex  # noqa: E402


def test_exterior_helpers_against_sympy_minors():
    import sympy
    from itertools import combinations

    rng = np.random.default_rng(121)
    n = 4
    for t in (1, 2, 3):
        V = rng.integers(-3, 4, (n, t))
        Vs = sympy.Matrix(V.tolist())
        want = [int(Vs.extract(list(I), list(range(t))).det()) for I in combinations(range(n), t)]
        assert np.array_equal(np.round(ex.plucker(V)), want) and ex.plucker_generic([list(map(int, V[:, k])) for k in range(t)]) == want
        assert np.array_equal(np.round(ex.wedge(*[V[:, k] for k in range(t)])), want)
        assert ex.wedge_by_expansion([list(map(int, V[:, k])) for k in range(t)]) == want
        M = rng.integers(-2, 3, (n, n))
        Ms = sympy.Matrix(M.tolist())
        sets = list(combinations(range(n), t))
        C = [[int(Ms.extract(list(I), list(J)).det()) for J in sets] for I in sets]
        assert np.array_equal(np.round(ex.exterior_power(M, t)), C)
        mi = [[int(x) for x in r] for r in M]
        assert ex.minors_generic(mi, t) == C and ex.exterior_power_by_expansion(mi, t) == C
        W = rng.integers(-3, 4, (n, t))
        cb = float(np.dot(ex.plucker(V), ex.plucker(W)))  # Cauchy-Binet
        assert abs(ex.wedge_inner(V, W) - cb) <= 64 * EPS * max(1.0, abs(cb)) * 10
        if t < n:
            x = [int(v) for v in want]
            v = rng.integers(-3, 4, n)
            lhs = ex.wedge_map(np.array(x, dtype=float), n, t) @ v  # v ∧ (v_1 ∧ ... ∧ v_t)
            rhs = ex.plucker(np.column_stack([v, V]))
            assert np.array_equal(np.round(lhs), np.round(rhs))
            assert ex.wedge_map_by_expansion(x, n, t) == np.round(ex.wedge_map(np.array(x, float), n, t)).astype(int).tolist()
            assert ex.decomposability_defect(np.array(want, float), n, t) <= 64 * n * EPS * np.linalg.cond(V.astype(float))
    # e1∧e2 + e3∧e4 is not decomposable: v ∧ x = 0 only for v = 0, smallest two singular values 1, 1
    x = np.zeros(6)
    x[0], x[5] = 1.0, 1.0
    assert abs(ex.decomposability_defect(x, 4, 2) - 1 / np.sqrt(2)) <= 64 * EPS
    assert ex.decomposability_defect(np.zeros(6), 4, 2) == 0.0
    rs = [[2, 0, 1], [1, 0, 2], [0, 1, 2], [0, 2, 1], [3, 1, 0, 2], [3, 2, 1, 0]]
    for p in rs:
        assert ex.perm_sign(p) == round(np.linalg.det(np.eye(len(p))[list(p)]))  # det of the permutation matrix
    A = rng.integers(-3, 4, (4, 4))
    assert ex.leibniz_det([[int(x) for x in r] for r in A]) == int(sympy.Matrix(A.tolist()).det())
    assert ex.leibniz_det([]) == 1
    assert ex.index_sets(4, 5) == [] and ex.index_sets(3, 2) == [(0, 1), (0, 2), (1, 2)]
    # subspaces: cosine = prod cos(principal angles); projector distance = sin of the largest angle
    E, F = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    th = ex.principal_angles(E, F)
    assert np.all(np.diff(th) >= 0)
    qe, qf = np.linalg.qr(E)[0], np.linalg.qr(F)[0]
    cosines = np.linalg.svd(qe.T @ qf, compute_uv=False)
    assert np.max(np.abs(np.sort(np.cos(th))[::-1] - cosines)) <= 1e3 * EPS
    assert abs(ex.subspace_cosine(E, F) - np.prod(cosines)) <= 1e3 * EPS
    P = qe @ qe.T - qf @ qf.T
    assert abs(ex.projector_distance(E, F) - np.linalg.norm(P, 2)) <= 1e3 * EPS
    for bad in [lambda: ex.index_sets(0, 1), lambda: ex.index_sets(3, 0), lambda: ex.plucker(np.ones(3)),
                lambda: ex.wedge(), lambda: ex.wedge([1, 2], [1, 2, 3]), lambda: ex.exterior_power(np.ones(3), 1),
                lambda: ex.wedge_inner(np.ones((3, 2)), np.ones((3, 1))), lambda: ex.wedge_map(np.ones(4), 4, 2)]:
        with pytest.raises(ValueError):
            bad()


# ----------------------------------------------------------------------------------------------
# subadditive: the proof's induction identity holds for EVERY sequence (it telescopes), exactly in
# Fractions; the families against their formulas and their sympy forms; defect, shift and remainder
# ----------------------------------------------------------------------------------------------
from theory import subadditive as sa  # noqa: E402


def test_induction_identity_and_families():
    import random

    import mpmath as mp
    import sympy

    rnd = random.Random(131)
    vals = {}

    def u(L):
        if L not in vals:
            vals[L] = Fraction(rnd.randint(-50, 50), rnd.randint(1, 9))
        return vals[L]

    for L, m in [(2, 1), (2, 3), (3, 2), (4, 3)]:
        assert sa.induction_lhs(u, L, m) == u(L) / L
        if m >= 2:
            assert sa.induction_lhs(u, L, m, k_start=1) != u(L) / L
            assert sa.induction_lhs(u, L, m, power_shift=1) != u(L) / L
    um = sa.family("invsqrt", 1, 2, 3)
    with mp.workdps(30):
        assert abs(sa.induction_lhs(um, 3, 3) - um(3) / 3) <= 1e6 * mp.eps * abs(um(27))
    for bad in [(u, 1, 2), (u, 2, 0)]:
        with pytest.raises(ValueError):
            sa.induction_lhs(*bad)
    with pytest.raises(ValueError):
        sa.induction_lhs(u, 2, 2, k_start=0)
    assert sa.defect(u, 2, 3) == u(2) + u(3) - u(5)
    with pytest.raises(ValueError):
        sa.defect(u, 0, 1)
    v = sa.shifted(u, Fraction(1, 3))
    assert all(v(L) == u(L) + (L - 1) * Fraction(1, 3) for L in range(1, 6))
    a, d, c = Fraction(1, 2), Fraction(3), Fraction(2, 7)
    formulas = {"inv": lambda L: c / L, "inv-neg": lambda L: -c / L, "geom": lambda L: c / 2 ** L,
                "parity": lambda L: c * (L % 2)}
    Ls = sympy.Symbol("L", positive=True, integer=True)
    for kind, f in formulas.items():
        u2 = sa.family(kind, a, d, c)
        expr = sa.symbolic(kind, a, d, c, Ls)
        for L in (1, 2, 5, 8):
            assert u2(L) == a * L + d + f(L)
            assert sympy.Rational(expr.subs(Ls, L)) == sympy.Rational(u2(L).numerator, u2(L).denominator)
            assert sa.remainder(u2, a, d, L) == f(L)
    mpf = {"invsqrt": lambda L: 2 / mp.sqrt(L), "log": lambda L: 2 * mp.log(L), "loglin": lambda L: 2 * mp.log(L) / L,
           "sqrt": lambda L: 2 * mp.sqrt(L), "inv": lambda L: 2 / mp.mpf(L), "geom": lambda L: 2 / mp.mpf(2) ** L,
           "inv-neg": lambda L: -2 / mp.mpf(L), "parity": lambda L: 2 * (L % 2)}
    with mp.workdps(30):
        for kind, f in mpf.items():
            u3 = sa.family(kind, 1.5, 0.25, 2.0)
            expr = sa.symbolic(kind, 1.5, 0.25, 2.0, Ls)
            for L in (1, 3, 7):
                want = mp.mpf(1.5) * L + mp.mpf(0.25) + f(L)
                assert abs(u3(L) - want) <= 1e6 * mp.eps * (1 + abs(want))
                assert abs(mp.mpf(str(sympy.N(expr.subs(Ls, L), 30))) - want) <= 1e6 * mp.eps * (1 + abs(want))
                assert abs(sa.remainder(u3, 1.5, 0.25, L) - f(L)) <= 1e6 * mp.eps * (1 + abs(want))
    for bad in [lambda: sa.family("cubic", 1, 1, 1), lambda: sa.symbolic("cubic", 1, 1, 1, Ls)]:
        with pytest.raises(ValueError):
            bad()
    assert set(sa.MEETS) | set(sa.VIOLATES) == set(mpf)


# ----------------------------------------------------------------------------------------------
# reference: both product-spectrum references on chains with closed-form singular values
# ----------------------------------------------------------------------------------------------
def test_reference_log_svals_on_shared_basis_chains():
    from theory import reference as ref

    rng = np.random.default_rng(141)
    n, L = 4, 3
    Qs = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(L + 1)]
    svals = [np.array([2.0, 1.0, 0.5, 0.25]), np.array([3.0, 0.7, 0.6, 0.1]), np.array([1.5, 1.2, 0.2, 0.9])]
    mats = np.stack([(Qs[l + 1] * svals[l]) @ Qs[l].T for l in range(L)])
    want = np.sort(np.log(np.prod(svals, axis=0)))[::-1]
    tl = 64 * n * L * EPS * np.prod(svals, axis=0).max() / np.prod(svals, axis=0).min()
    assert np.max(np.abs(ref.naive_log_svals(mats) - want)) <= tl
    got = ref.mp_log_svals(list(mats), 40)
    assert np.max(np.abs(got - want)) <= tl
    # mats[0] acts first: a rectangular chain (2 x 4 after 4 x 3) has 2 singular values, padded with -inf
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    sv = np.log(np.linalg.svd(B @ A, compute_uv=False))
    got = ref.mp_log_svals([A, B], 40, pad_to=3)
    assert got.shape == (3,) and got[-1] == -np.inf
    assert np.max(np.abs(got[:2] - sv)) <= 64 * 4 * EPS * np.linalg.cond(B @ A)
    # a rank-deficient product: the exact zero shows up as -inf
    Z = np.diag([1.0, 1.0, 0.0])
    got = ref.mp_log_svals([Z, rng.standard_normal((3, 3))], 40)
    assert got[-1] == -np.inf and np.all(np.isfinite(got[:2]))
    assert ref.naive_log_svals(np.stack([Z, np.eye(3)]))[-1] == -np.inf


# ----------------------------------------------------------------------------------------------
# lyapunov: Haar sampler by its QR characterisation, d_mc replayed, the K = 1 remainder against mpmath
# quadrature, log det(I + X) directly, offset_bracket and remainder_mc replayed from their definitions
# ----------------------------------------------------------------------------------------------
def test_haar_orthogonal_and_d_mc_replayed():
    g = torch.Generator().manual_seed(151)
    q = lyapunov.haar_orthogonal(3, 4, g).numpy()
    G = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(151), dtype=torch.float64).numpy()
    for b in range(3):
        assert np.max(np.abs(q[b].T @ q[b] - np.eye(4))) <= 64 * 4 * EPS
        R = q[b].T @ G[b]  # G = Q R with R upper triangular, positive diagonal
        assert np.max(np.abs(np.tril(R, -1))) <= 64 * 4 * EPS * np.abs(G[b]).max()
        assert np.all(np.diag(R) > 0)
    mean, se = lyapunov.d_mc(2, 4, 7, torch.Generator().manual_seed(152), chunk=3)
    g2 = torch.Generator().manual_seed(152)
    v = []
    for b in (3, 3, 1):
        om = lyapunov.haar_orthogonal(b, 4, g2).numpy()
        v.extend(-np.log(np.abs(np.linalg.det(om[:, :2, :2]))))
    v = np.array(v)
    assert abs(mean - v.mean()) <= 64 * EPS * np.abs(v).max() * 7
    assert abs(se - v.std(ddof=1) / np.sqrt(7)) <= 64 * EPS * np.abs(v).max() * 7
    assert lyapunov.d_mc(0, 4, 5, g2) == (0.0, 0.0)
    for bad in [(1, 4, 1), (1, 4, 2.0), (5, 4, 10)]:
        with pytest.raises(ValueError):
            lyapunov.d_mc(*bad, g2)


def test_remainder_bound_1_against_mpmath_quadrature():
    import mpmath as mp

    ls1 = np.array([0.0, 1.0, 2.0, 0.5])
    lbh = np.array([-1.0, 1.5, -np.inf, -4.0])
    got = lyapunov.remainder_bound_1(ls1, lbh)
    for k in range(4):
        if not np.isfinite(lbh[k]):
            assert got[k] == 0.0
            continue
        a = mp.exp(mp.mpf(lbh[k] - ls1[k]))
        with mp.workdps(30):
            want = float(mp.sqrt(mp.pi) * mp.quad(lambda u: mp.erfc(u) * mp.exp(u ** 2), [0, a / mp.sqrt(2)]))
        assert abs(got[k] - want) <= 1e-9 * want  # quad's documented epsrel = 1e-11, times a margin
    assert lyapunov._erfcx_integral(-1.0) == 0.0


def test_logdet_i_plus_offset_bracket_and_remainder_mc_replayed():
    rng = np.random.default_rng(153)
    K = 3
    B = rng.standard_normal((2, K, K))
    w = torch.as_tensor(B @ np.swapaxes(B, 1, 2) + 0.1 * np.eye(K))
    lx = torch.as_tensor(rng.normal(0, 1.0, (2, K)))
    X = w.numpy() * np.exp(lx.numpy()[:, :, None] + lx.numpy()[:, None, :])
    want = np.linalg.slogdet(np.eye(K) + X)[1]
    got = lyapunov._logdet_i_plus(lx, w).numpy()
    assert np.max(np.abs(got - want)) <= 64 * K * EPS * np.linalg.cond(np.eye(K) + X).max()
    # offset_bracket
    bsz, n = 3, 5
    log_s = np.sort(rng.normal(0, 2, (bsz, n)), axis=1)[:, ::-1].copy()
    log_r = log_s + rng.normal(0, 0.1, (bsz, n))
    for Kb in (1, 2):
        v, rho = lyapunov.offset_bracket(log_s, log_r, Kb, torch.Generator().manual_seed(154), draws=3)
        assert np.max(np.abs(v - (log_s[:, :Kb].sum(1) - log_r[:, :Kb].sum(1)))) <= 64 * n * EPS * np.abs(log_s).max()
        lbh = 0.5 * np.log(np.exp(2 * log_s[:, Kb:]).sum(1))
        if Kb == 1:
            assert np.max(np.abs(rho - lyapunov.remainder_bound_1(log_s[:, 0], lbh))) <= 64 * EPS * np.abs(rho).max()
        else:
            g = torch.randn(bsz, 3, Kb, Kb, generator=torch.Generator().manual_seed(154), dtype=torch.float64).numpy()
            want = np.zeros(bsz)
            for b in range(bsz):
                for j in range(3):
                    # (1/2) log det(I + beta (S G^T)^{-1} (S G^T)^{-T}): G^T has the law of G (the code's
                    # comment writes G, its QR route forms (G^T G)^{-1}; equal in law, this replays the draw)
                    SG = np.diag(np.exp(log_s[b, :Kb])) @ g[b, j].T
                    Mi = np.linalg.inv(SG)
                    want[b] += 0.5 * np.linalg.slogdet(np.eye(Kb) + np.exp(2 * lbh[b]) * Mi @ Mi.T)[1] / 3
            assert np.max(np.abs(rho - want)) <= 1e3 * EPS * np.exp(2 * np.abs(log_s).max()) * 10
    for bad in [dict(K=0), dict(K=6), dict(draws=0)]:
        with pytest.raises(ValueError):
            lyapunov.offset_bracket(log_s, log_r, **{"K": 1, "gen": torch.Generator(), **bad})
    with pytest.raises(ValueError):
        lyapunov.offset_bracket(log_s, log_r[:, :4], 1, torch.Generator())
    ls_bad = log_s.copy()
    ls_bad[0, 1] = -np.inf
    with pytest.raises(ValueError):
        lyapunov.offset_bracket(ls_bad, log_r, 2, torch.Generator())
    # remainder_mc: (1/2) E log det(I + Y^T Y), Y = S_c G_c (S_K G_K)^{-1}
    for Kb in (1, 2):
        got = lyapunov.remainder_mc(log_s, Kb, torch.Generator().manual_seed(155), draws=3)
        g = torch.randn(bsz, 3, n, Kb, generator=torch.Generator().manual_seed(155), dtype=torch.float64).numpy()
        want = np.zeros(bsz)
        for b in range(bsz):
            s = np.exp(log_s[b])
            for j in range(3):
                Y = np.diag(s[Kb:]) @ g[b, j, Kb:] @ np.linalg.inv(np.diag(s[:Kb]) @ g[b, j, :Kb])
                want[b] += 0.5 * np.linalg.slogdet(np.eye(Kb) + Y.T @ Y)[1] / 3
        assert np.max(np.abs(got - want)) <= 1e3 * EPS * np.exp(2 * np.abs(log_s).max()) * 10
    assert np.array_equal(lyapunov.remainder_mc(log_s, n, torch.Generator()), np.zeros(bsz))
    for bad in [dict(K=0), dict(K=6), dict(draws=0)]:
        with pytest.raises(ValueError):
            lyapunov.remainder_mc(log_s, **{"K": 1, "gen": torch.Generator(), **bad})
    with pytest.raises(ValueError):
        lyapunov.remainder_mc(ls_bad, 2, torch.Generator())


# ----------------------------------------------------------------------------------------------
# claims._networks: the autograd references against explicit products / the complex step, and the
# strategies' promises (chained shapes, non-idempotent general gates, gate ranks, log-gaps, spectra)
# ----------------------------------------------------------------------------------------------
from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402


@pytest.mark.parametrize("masked", [False, True])
def test_networks_torch_references(masked):
    from theory.claims import _networks as nw

    Ws, ds, rng = _net(161 + masked, masked=masked)
    G = rng.standard_normal((Ws[-1].shape[0], Ws[0].shape[1]))
    D, _, _ = _brute(Ws, ds)
    L = len(Ws)
    sc = _scale(Ws, ds) ** 2 * np.linalg.norm(G, 2)
    grads = nw.torch_fgln_grads(Ws, ds, G)
    for l in range(1, L + 1):
        A = np.eye(Ws[-1].shape[0])
        for k in range(L, l, -1):
            A = A @ Ws[k - 1] @ D[k - 1]
        B = np.eye(Ws[0].shape[1])
        for k in range(1, l):
            B = D[k] @ Ws[k - 1] @ B
        _close(grads[l - 1], A.T @ G @ B.T, sc)
    jf = _complex_step(Ws, ds, [-g for g in grads])
    _close(nw.torch_jdot_flow(Ws, ds, G), jf, sc * _scale(Ws, ds) ** 2 * L)


_HS = hsettings(derandomize=True, max_examples=25, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))


@_HS
@given(data=__import__("hypothesis").strategies.data())
def test_networks_strategies_keep_their_promises(data):
    from theory.claims import _networks as nw

    net = data.draw(nw.networks(L=(1, 4), n=(1, 4), min_gate_rank=1))
    Ws, ds = net["Ws"], net["ds"]
    assert len(ds) == len(Ws) - 1
    for l in range(1, len(Ws)):
        assert Ws[l].shape[1] == Ws[l - 1].shape[0] and ds[l - 1].shape == (Ws[l - 1].shape[0],)
        assert np.count_nonzero(ds[l - 1]) >= 1
    sq = data.draw(nw.networks(L=(2, 3), n=(2, 3), square=True))
    assert len({w.shape for w in sq["Ws"]}) == 1 and sq["Ws"][0].shape[0] == sq["Ws"][0].shape[1]
    n = data.draw(__import__("hypothesis").strategies.integers(1, 5))
    g = data.draw(nw.gate_vector(n, "general"))
    assert g.shape == (n,) and not np.all((g == 0) | (g == 1))  # a general gate is never idempotent
    m = data.draw(nw.gate_vector(n, "masked"))
    assert np.all((m == 0) | (m == 1))
    ng = data.draw(nw.net_and_grad("masked", L=(1, 3), n=(1, 3)))
    assert ng["G"].shape == (ng["Ws"][-1].shape[0], ng["Ws"][0].shape[1])
    s = data.draw(nw.distinct_svals(4, min_log_gap=0.1))
    assert np.all(s > 0) and np.all(np.diff(np.log(s)) <= -0.1 * (1 - 64 * EPS))
    z = data.draw(nw.distinct_svals(3, zero_last=True))
    assert z[-1] == 0.0 and np.all(z[:-1] > 0)
    M = data.draw(nw.matrix_with_svals(5, 4, s[:3]))
    sv = np.linalg.svd(M, compute_uv=False)
    assert np.max(np.abs(sv[:3] - s[:3])) <= 64 * 5 * EPS * s[0] and sv[3] <= 64 * 5 * EPS * s[0]


# ----------------------------------------------------------------------------------------------
# dynamics: the idx reader and the MNIST file checks on small generated inputs (test_mnist.py is
# machinery for the mutation driver, so these are the checks that count there), the stream seeds and
# the un-augmented pool
# ----------------------------------------------------------------------------------------------
def test_parse_idx_reads_and_rejects_exactly_by_the_format(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    data = struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 2, 3, 4) + arr.tobytes()
    assert np.array_equal(dynamics.parse_idx(data), arr)
    lab = struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 5) + bytes([1, 2, 3, 4, 5])
    assert np.array_equal(dynamics.parse_idx(lab), [1, 2, 3, 4, 5])
    four = struct.pack(">HBB", 0, 8, 4) + struct.pack(">IIII", 1, 2, 1, 2) + bytes(4)
    assert dynamics.parse_idx(four).shape == (1, 2, 1, 2)
    bad = [data[:3], struct.pack(">HBB", 1, 8, 3) + data[4:], struct.pack(">HBB", 0, 9, 3) + data[4:],
           struct.pack(">HBB", 0, 8, 0) + data[4:], struct.pack(">HBB", 0, 8, 5) + data[4:], data[:10],
           data[:-1], data + b"\0"]
    for b in bad:
        with pytest.raises(ValueError, match="x.idx"):
            dynamics.parse_idx(b, "x.idx")
    (tmp_path / "a.idx").write_bytes(data)
    with gzip.open(tmp_path / "a.idx.gz", "wb") as f:
        f.write(data)
    assert np.array_equal(dynamics.read_idx(tmp_path / "a.idx"), arr)
    assert np.array_equal(dynamics.read_idx(tmp_path / "a.idx.gz"), arr)
    (tmp_path / "b.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="gzip"):
        dynamics.read_idx(tmp_path / "b.gz")
    with pytest.raises(ValueError, match="idx file"):
        dynamics.read_idx(tmp_path / "missing.idx")


def test_mnist_files_and_array_checks(tmp_path):
    names = list(dynamics.MNIST_FILES)
    with pytest.raises(ValueError, match="no MNIST"):
        dynamics.mnist_files(tmp_path)
    raw = tmp_path / "raw"
    raw.mkdir()
    for k, name in enumerate(names[:3]):
        (raw / (name + (".gz" if k % 2 else ""))).write_bytes(b"")
    with pytest.raises(ValueError, match=names[3]) as exc:
        dynamics.mnist_files(tmp_path)
    assert "incomplete" in str(exc.value) and names[0] not in str(exc.value)
    (raw / names[3]).write_bytes(b"")
    found = dynamics.mnist_files(tmp_path)
    assert found == {n: raw / (n + (".gz" if k % 2 and k < 3 else "")) for k, n in enumerate(names)}
    # the preferred folder MNIST/raw wins once complete
    mr = tmp_path / "MNIST" / "raw"
    mr.mkdir(parents=True)
    for n in names:
        (mr / (n + ".gz")).write_bytes(b"")
    assert dynamics.mnist_files(tmp_path) == {n: mr / (n + ".gz") for n in names}
    # array checks: magic, shape, label range
    for name, (magic, dims) in dynamics.MNIST_FILES.items():
        ok = np.zeros(dims, dtype=np.uint8)
        dynamics._check_mnist_array(name, "p", ok, magic)
        other = 2049 if magic == 2051 else 2051
        with pytest.raises(ValueError, match="magic"):
            dynamics._check_mnist_array(name, "p", ok, other)
        with pytest.raises(ValueError, match="shape"):
            dynamics._check_mnist_array(name, "p", ok[:-1], magic)
        if magic == 2049:
            lab = ok.copy()
            lab[-1] = 9
            dynamics._check_mnist_array(name, "p", lab, magic)
            lab[-1] = 10
            with pytest.raises(ValueError, match="label 10"):
                dynamics._check_mnist_array(name, "p", lab, magic)
        else:
            img = ok.copy()
            img[-1, -1, -1] = 255  # pixel values are not labels
            dynamics._check_mnist_array(name, "p", img, magic)


def test_derive_stream_and_unaugmented_pool():
    import hashlib

    for seed, k in [(0, 0), (1, 3), (12345, 7), (-2, 1)]:
        h = hashlib.sha256(f"{seed}:{k}".encode()).digest()
        want = int.from_bytes(h[:8], "little") >> 2
        got = dynamics.derive_stream(seed, k)
        assert got == want and 0 <= got < 2 ** 62
    assert len({dynamics.derive_stream(5, k) for k in range(50)}) == 50
    imgs = np.random.default_rng(171).integers(0, 256, (4, 28, 28)).astype(np.uint8)
    labs = np.array([3, 1, 4, 1])
    X, y = dynamics.augmented_pool(imgs, labs, copies=3, seed=0, augment=False)
    assert X.dtype == torch.float32 and X.shape == (4, 28, 28)
    assert np.array_equal(X.numpy(), imgs.astype(np.float32) / np.float32(255.0))
    assert y.dtype == np.int64 and np.array_equal(y, labs)
    with pytest.raises(ValueError):
        dynamics.augmented_pool(imgs, labs, copies=0, seed=0)


def test_validate_mnist_summary_and_checksums_cached_or_not(fake_mnist):
    import hashlib

    root, content = fake_mnist
    dynamics._MNIST_CACHE.clear()
    with pytest.raises(ValueError, match="md5"):
        dynamics.validate_mnist(root, checksums=True)  # read from disk
    info = dynamics.validate_mnist(root)
    assert info["train"] == 60000 and info["test"] == 10000 and info["release"] is False
    assert info["train_label_counts"] == np.bincount(content["train-labels-idx1-ubyte"], minlength=10).tolist()
    assert info["test_label_counts"] == np.bincount(content["t10k-labels-idx1-ubyte"], minlength=10).tolist()
    for name, arr in content.items():
        magic, dims = dynamics.MNIST_FILES[name]
        head = struct.pack(">HBB", 0, 8, len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
        assert info["md5"][name] == hashlib.md5(head + arr.tobytes()).hexdigest()
    assert info["folder"] == str(root / "MNIST" / "raw")
    assert set(info["files"]) == set(dynamics.MNIST_FILES)
    with pytest.raises(ValueError, match="md5"):
        dynamics.validate_mnist(root, checksums=True)  # from the cache
    with pytest.raises(ValueError, match="split"):
        dynamics.load_mnist(root, "validation")


# ----------------------------------------------------------------------------------------------
# diagcorr: the three rho evaluations against exact Fractions from the definition (weighted Pearson of
# the cell coordinates); the SVD-freedom helpers by their defining properties
# ----------------------------------------------------------------------------------------------
from theory import diagcorr as dc  # noqa: E402


def _rho_fraction(A):
    W = [[abs(Fraction(int(x))) for x in r] for r in A]
    n = len(W)
    m = sum(map(sum, W))
    P = [[w / m for w in r] for r in W]
    ex = sum((i + 1) * P[i][j] for i in range(n) for j in range(n))
    ey = sum((j + 1) * P[i][j] for i in range(n) for j in range(n))
    cov = sum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(n) for j in range(n))
    vx = sum((i + 1 - ex) ** 2 * P[i][j] for i in range(n) for j in range(n))
    vy = sum((j + 1 - ey) ** 2 * P[i][j] for i in range(n) for j in range(n))
    return cov, vx, vy, m


def test_diagcorr_rho_against_exact_fractions():
    rng = np.random.default_rng(181)
    for n in (2, 3, 5):
        for _ in range(3):
            A = rng.integers(-9, 10, (n, n))
            A[0, 0], A[-1, -1] = 3, -2  # defined: two rows and two columns
            cov, vx, vy, m = _rho_fraction(A)
            want = float(cov) / math.sqrt(float(vx * vy))
            tl = 64 * n ** 4 * EPS / math.sqrt(float(vx * vy))
            assert abs(dc.rho_pearson(A) - want) <= tl and abs(dc.rho(A) - want) <= tl
            assert abs(dc.rho_closed_form(A) - want) <= tl
            c, x, y = dc.rho_exact_parts(A.tolist())
            assert (c, x, y) == (m * m * cov, m * m * vx, m * m * vy)
            assert dc.is_defined(A)
    one_row = np.zeros((3, 3))
    one_row[1] = [1, 2, 3]
    assert not dc.is_defined(one_row) and math.isnan(dc.rho_pearson(one_row)) and math.isnan(dc.rho_closed_form(one_row))
    assert not dc.is_defined(one_row.T) and math.isnan(dc.rho(one_row.T))
    assert dc.rho(np.eye(4)) == 1.0 or abs(dc.rho(np.eye(4)) - 1.0) <= 64 * EPS
    assert abs(dc.rho(np.fliplr(np.eye(4))) + 1.0) <= 64 * EPS
    for bad in [np.ones((2, 3)), np.zeros((2, 2)), np.array([[1.0, np.nan], [0, 1]])]:
        with pytest.raises(ValueError):
            dc.rho(bad)
    for bad in [[], [[1, 2]], [[0, 0], [0, 0]]]:
        with pytest.raises(ValueError):
            dc.rho_exact_parts(bad)


def test_diagcorr_svd_freedom_helpers():
    rng = np.random.default_rng(182)
    s = np.array([[3.0, 1.0, 1e-9, 0.0], [2.0, 2.0, 2.0, 1e-3]])
    assert np.array_equal(dc.resolved_rank(s, 1e-6), [2, 4])
    assert np.array_equal(dc.resolved_rank(s, 0.9), [1, 3])
    for bad in [(np.array(1.0), 0.1), (np.zeros((2, 0)), 0.1), (s, 0.0)]:
        with pytest.raises(ValueError):
            dc.resolved_rank(*bad)
    U = np.linalg.qr(rng.standard_normal((2, 5, 5)))[0]
    k = np.array([2, 4])
    R = dc.rotate_free_columns(U, k, np.random.default_rng(0))
    for b in range(2):
        kk = k[b]
        assert np.array_equal(R[b][:, :kk], U[b][:, :kk])
        assert np.max(np.abs(R[b].T @ R[b] - np.eye(5))) <= 64 * 5 * EPS
        P1 = U[b][:, kk:] @ U[b][:, kk:].T  # same free span
        assert np.max(np.abs(R[b][:, kk:] @ R[b][:, kk:].T - P1)) <= 64 * 5 * EPS
    assert not np.allclose(R[0][:, 2:], U[0][:, 2:])  # m = 3 >= 2: really rotated
    V = np.linalg.qr(rng.standard_normal((2, 5, 5)))[0]
    Al = dc.align_free_columns(U, k, V)
    for b in range(2):
        kk = k[b]
        assert np.array_equal(Al[b][:, :kk], U[b][:, :kk])
        assert np.max(np.abs(Al[b].T @ Al[b] - np.eye(5))) <= 64 * 5 * EPS
        # Gram-Schmidt of the projected V columns, in order, positive diagonal: Al_free^T X is upper
        # triangular with positive diagonal, X = (I - F F^T) V_free
        F = U[b][:, :kk]
        X = V[b][:, kk:] - F @ (F.T @ V[b][:, kk:])
        Rm = Al[b][:, kk:].T @ X
        assert np.max(np.abs(np.tril(Rm, -1))) <= 64 * 5 * EPS and np.all(np.diag(Rm) > 0)
    assert np.array_equal(dc.align_free_columns(U, 5, V), U)
    for bad in [(U[0][:, :4], 1), (U, 6), (U, -1)]:
        with pytest.raises(ValueError):
            dc.rotate_free_columns(*bad, np.random.default_rng(0))
    with pytest.raises(ValueError):
        dc.align_free_columns(U, k, V[0])


def test_alignment_profiles_from_numpy_svds():
    rng = np.random.default_rng(191)
    S, Lm1, n, k = 2, 3, 5, 3
    J = rng.standard_normal((S, n, n))
    A = rng.standard_normal((S, Lm1, n, n))
    out = al.alignment_profiles(torch.as_tensor(J), torch.as_tensor(A), k=k)
    for s in range(S):
        UJ = np.linalg.svd(J[s])[0]
        for l in range(Lm1):
            UA, sA, _ = np.linalg.svd(A[s, l])
            R = UJ.T @ UA
            G = UJ[:, :k].T @ A[s, l]
            refs = {"full": dc.rho(R), "top": dc.rho(R[:k, :k]), "gram": dc.rho(G @ G.T),
                    "aat": dc.rho(A[s, l][:k] @ A[s, l][:k].T), "sep": np.log(sA[0]) - np.log(sA[k - 1])}
            cond = max(np.linalg.cond(J[s]), np.linalg.cond(A[s, l]))
            for key, want in refs.items():
                assert abs(out[key][s, l] - want) <= 1e3 * n * EPS * cond ** 2, (key, out[key][s, l], want)
    # rho_batch is the Pearson form entrywise
    W = rng.standard_normal((4, 3, 3))
    assert np.max(np.abs(al.rho_batch(W) - np.array([dc.rho(w) for w in W]))) <= 64 * 81 * EPS * 10
    one = np.zeros((3, 3))
    one[0] = 1.0
    assert np.isnan(al.rho_batch(one[None]))[0]


def test_bartlett_r_replayed_from_its_stream():
    bsz, kmax, m, seed = 3, 4, 5, 201
    k = torch.tensor([4, 2, 0])
    draws = products._Draws(seed, torch.device("cpu"), bsz)
    r = products._bartlett_r(draws, k, kmax, m).numpy()
    rng = np.random.Generator(np.random.SFC64(seed))
    mn = min(kmax, m)
    iu = np.triu_indices(mn, 1, m)
    upper = rng.standard_normal((bsz, len(iu[0])))
    df = np.maximum(k.numpy()[:, None] - np.arange(mn)[None, :], 0).astype(float)
    chi2 = rng.chisquare(np.maximum(df, 1.0))
    want = np.zeros((bsz, mn, m))
    for b in range(bsz):
        want[b][iu] = upper[b]
        want[b][np.arange(mn), np.arange(mn)] = np.sqrt(chi2[b])
        want[b][int(k[b]):] = 0.0  # rows >= k are zero; R_ii ~ chi_{k - i}
    assert r.shape == (bsz, mn, m) and np.array_equal(r, want)
    assert np.all(np.tril(r, -1) == 0)


def test_section7_diagnostics_on_exactly_aligned_chains():
    rng = np.random.default_rng(211)
    n, L = 3, 4
    e = [np.array([2.0, 1.0, 0.5]), np.array([1.5, 1.2, 0.3]), np.array([1.1, 0.9, 0.8]), np.array([3.0, 1.0, 0.2])]
    Qs = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(L + 1)]
    Ws = [(Qs[l + 1] * e[l]) @ Qs[l].T for l in range(L)]
    ds = [np.ones(n)] * (L - 1)
    G = rng.standard_normal((n, n))
    d = fgln.section7_diagnostics(Ws, ds, G)
    s = np.prod(e, axis=0)
    logA = np.array([np.log(np.prod(e[l:], axis=0)) if l < L else np.zeros(n) for l in range(1, L + 1)])
    logB = np.array([np.log(np.prod(e[:l - 1], axis=0)) if l > 1 else np.zeros(n) for l in range(1, L + 1)])
    tl = 1e3 * L * n * EPS * s[0] / s[-1]
    assert np.max(np.abs(d["s"] - s)) <= tl * s[0]
    assert np.max(np.abs(d["logA"] - logA)) <= tl and np.max(np.abs(d["logB"] - logB)) <= tl
    g = np.array([Qs[L][:, k] @ G @ Qs[0][:, k] for k in range(n)])  # u_k = Q_L e_k, v_k = Q_0 e_k (signs: pairs)
    sgn = np.sign(np.einsum("ik,ik->k", np.linalg.svd(fgln.jacobian(Ws, ds))[0], Qs[L])) * \
        np.sign(np.einsum("ik,ik->k", np.linalg.svd(fgln.jacobian(Ws, ds))[2].T, Qs[0]))
    assert np.max(np.abs(d["g"] - sgn * g)) <= tl * np.linalg.norm(G, 2)
    # exact alignment (eps = 0): ds_k/dt = -sum_l s_k(A_l)^2 s_k(B_l)^2 g_k
    aligned = -np.exp(2 * (logA + logB)).sum(0) * d["g"]
    sc = np.exp(2 * (logA + logB)).sum(0).max() * np.linalg.norm(G, 2)
    assert np.max(np.abs(d["aligned"] - aligned)) <= tl * sc and np.max(np.abs(d["sdot"] - aligned)) <= tl * sc
    assert d["eps"] <= tl and d["eps_by_l"].shape == (L,) and d["resolved"].all() and d["L"] == L
    gam, dl, res = fgln.fit_depth_scaling(logA, logB)
    assert np.max(np.abs(d["gamma"] - gam)) <= tl and np.max(np.abs(d["delta"] - dl)) <= tl
    # the printed right-hand side of Proposition 7.1 and the exponent sum, from their formulas
    pr = fgln.prop71_printed(d)
    assert np.max(np.abs(pr - (-np.exp((2 + 2 / L) * d["delta"]) * L * d["s"] ** (2 - 2 / L) * d["g"]))) <= 64 * EPS * np.abs(pr).max()
    pr2 = fgln.prop71_printed(d, power=1.5, terms=2)
    assert np.max(np.abs(pr2 - (-np.exp((2 + 2 / L) * d["delta"]) * 2 * d["s"] ** 1.5 * d["g"]))) <= 64 * EPS * np.abs(pr2).max()
    ex_ = fgln.prop71_exponent_sum(d)
    want = -L * np.exp(2 * (L + 1) * d["gamma"] + 4 * d["delta"]) * d["g"]
    assert np.max(np.abs(ex_ - want)) <= 64 * L * EPS * np.abs(want).max()
    # Figure 4/5 ladders: log s(B_l), l = 2..L+1 (B_{L+1} = J), and rho = 1 on aligned bases
    lad = fgln.logsv_B_ladder(Ws, ds, 2)
    want = np.array([np.log(np.prod(e[:l - 1], axis=0))[:2] for l in range(2, L + 2)])
    assert lad.shape == (L, 2) and np.max(np.abs(lad - want)) <= tl
    rl = fgln.alignment_rho_ladder(Ws, ds)
    assert rl.shape == (L - 1,) and np.max(np.abs(rl - 1.0)) <= tl
    assert np.max(np.abs(fgln.alignment_rho_ladder(Ws, ds, k=2) - 1.0)) <= tl


@pytest.mark.parametrize("last_orthogonal", [True, False])
def test_rem72_chain_and_diagnostics_on_exact_chains(last_orthogonal):
    rng = np.random.default_rng(221 + last_orthogonal)
    n, L = 3, 3
    gam = np.array([0.3, -0.1, -0.6])
    Ms = fgln.rem72_chain(n, L, gam, rng, last_orthogonal=last_orthogonal)
    e = np.exp(gam)
    layer = [e] * (L - 1) + [np.ones(n) if last_orthogonal else e]
    for l in range(L):
        assert np.max(np.abs(np.linalg.svd(Ms[l], compute_uv=False) - np.sort(layer[l])[::-1])) <= 64 * n * EPS * 2
    Md = [rng.standard_normal((n, n)) for _ in range(L)]
    d = fgln.rem72_diagnostics(Ms, Md)
    # J-dot of J = M_L ... M_1 in the direction Mdot, by the complex step
    J = Ms[0] + 1j * 1e-30 * Md[0]
    for l in range(1, L):
        J = (Ms[l] + 1j * 1e-30 * Md[l]) @ J
    Jdot = J.imag / 1e-30
    U, s, Vt = np.linalg.svd(J.real)
    sdot = np.einsum("ik,ij,kj->k", U, Jdot, Vt)
    sc = 1e3 * n * L * EPS * max(np.linalg.norm(m, 2) for m in Md) * np.exp(L * np.abs(gam).max())
    assert np.max(np.abs(d["s"] - s)) <= sc and np.max(np.abs(d["sdot"] - sdot)) <= sc
    assert abs(d["jdot_norm"] - np.linalg.norm(Jdot, 2)) <= sc
    # exactly aligned (eta = 0): eps = 0, T^-/T^+ = I, and the first-order sum is ds/dt itself
    assert d["eps"] <= sc and d["resolved"].all()
    assert np.max(np.abs(d["first_order_sum"] - sdot)) <= sc
    sA = lambda l: np.prod(layer[l - 1:], axis=0) if l <= L else np.ones(n)  # noqa: E731  s(A_l), A_l = M_{l:L}
    sB = lambda l: np.prod(layer[:l - 1], axis=0) if l >= 2 else np.ones(n)  # noqa: E731  s(B_l), B_l = M_{1:l-1}
    ts = sum(sA(l + 1) * sB(l) * np.linalg.norm(Md[l - 1], 2) for l in range(1, L + 1))
    assert np.max(np.abs(d["term_scale"] - ts)) <= sc
    pr = np.exp((1 + 1 / L) * d["delta"]) * d["s"] ** (1 - 1 / L) * d["factored_sum"]
    assert np.max(np.abs(d["printed"] - pr)) <= 64 * EPS * np.abs(pr).max()
    assert d["L"] == L and d["offsets"] == tuple(fgln.PRINTED_EXPONENTS)
    d0 = fgln.rem72_diagnostics(Ms, Md, first_order=False)
    assert np.max(np.abs(d0["first_order_sum"] - sdot)) <= sc  # T = I already at eta = 0


def test_balanced_masked_init_layers_have_the_prescribed_spectrum():
    rng = np.random.default_rng(231)
    ns = [4, 5, 5, 3]
    ds = [np.array([1.0, 0, 1, 1, 0]), np.array([0.0, 1, 1, 0, 1])]
    sv = [2.0, 0.5]
    Ws = fgln.balanced_masked_init(ns, ds, sv, rng, junk=3.0)
    Ms = fgln.layers_two_sided(Ws, ds)
    for M in Ms:
        s = np.linalg.svd(M, compute_uv=False)
        assert np.max(np.abs(s[:2] - sv)) <= 64 * 5 * EPS * 2 and np.all(s[2:] <= 64 * 5 * EPS * 2)
    W0 = fgln.balanced_masked_init(ns, ds, sv, np.random.default_rng(1), junk=0.0)
    g = [np.ones(4)] + ds + [np.ones(3)]
    for l, W in enumerate(W0, start=1):
        hidden = np.outer(g[l] == 0, np.ones(ns[l - 1])) + np.outer(np.ones(ns[l]), g[l - 1] == 0) > 0
        assert np.all(W[hidden] == 0)  # junk = 0: nothing outside the open block
    Wj = fgln.balanced_masked_init(ns, ds, sv, np.random.default_rng(1), junk=3.0)
    assert all(np.any(a != b) for a, b in zip(W0, Wj))  # the hidden entries carry the junk
    with pytest.raises(ValueError):
        fgln.balanced_masked_init(ns, ds, [1.0] * 4, rng)  # r = 4 > rank 3 of the gates


def test_cifar10_autoaugment_replayed_on_unit_scaled_images():
    kornia_auto = pytest.importorskip("kornia.augmentation.auto")
    imgs = np.random.default_rng(241).integers(0, 256, (6, 28, 28)).astype(np.uint8)
    got = dynamics.cifar10_autoaugment(imgs, 17)
    x = torch.from_numpy(imgs.astype(np.float32) / np.float32(255.0))[:, None]  # pixels in [0, 1]
    subs = list(kornia_auto.AutoAugment(policy="cifar10").children())
    want = torch.empty_like(x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(17)
        pick = torch.randint(0, len(subs), (6,))
        for k, sub in enumerate(subs):
            m = pick == k
            if bool(m.any()):
                want[m] = sub(x[m].expand(-1, 3, -1, -1)).mean(1, keepdim=True).clamp_(0.0, 1.0)
    assert got.dtype == torch.float32 and got.shape == (6, 28, 28)
    assert float((got - want[:, 0]).abs().max()) <= 64 * float(np.finfo(np.float32).eps)
    assert float(got.min()) >= 0.0 and float(got.max()) <= 1.0
