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
    Ms = fgln.shared_basis_chain(n, svals, rng)
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
