"""The product engine (theory.products) against independent references.

References: mpmath products and SVDs at high precision (``dps`` chosen so that the smallest
singular value is resolved with >= 25 digits to spare), naive numpy (where it is accurate), exact
identities of Gaussian products, and Monte Carlo with tolerances from the estimated SE.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.linalg.lapack
import torch
from scipy.special import digamma

from checks.tolerance import EPS64, tol
from conftest import within
from theory import products as P
from theory import samplers as S
from theory.reference import mp_log_svals, naive_log_svals

# Tolerances on log s_k (absolute in log s_k, i.e. relative in s_k): derived per input from the
# condition numbers the engine meets (_log_tol), not the engine's documented ~1e-10-1e-9 target.


def _live_kappa(layers, block: int = 1) -> float:
    """Sum over the blocks A = M_{l+b} ... M_{l+1} Q_l (Q_l: orthonormal basis of the live subspace,
    the range of the product so far) of kappa(A) on that subspace, rows equilibrated first.

    ``layers`` act in order (layer 0 first) and may be rectangular (the engine's compressed chain).
    The engine enters each block with a relative backward error ~ eps kappa(A) (log_svals_of's
    docstring, DEFAULT_BLOCK), which moves every log s_k by at most about as much, and the blocks'
    errors add. Rows equilibrated: the QR of a block whose rows are graded in order (the grading
    test) is row-wise backward stable, so what enters is kappa of the row-scaled block; Ginibre rows
    have nearly equal norms (no change there). Rank: a Gaussian layer with k_l nonzero rows and c_l
    nonzero columns gives rank J_l = min(k_l, c_l, rank J_{l-1}) almost surely."""
    rank = int((np.abs(layers[0]).max(0) > 0).sum())  # exact zero columns of the first layer
    q = np.eye(layers[0].shape[1])
    total = 0.0
    for start in range(0, len(layers), block):
        a = q
        for m in layers[start:start + block]:
            a = m @ a
            rank = min(rank, int((np.abs(m).max(1) > 0).sum()), int((np.abs(m).max(0) > 0).sum()))
        if rank == 0:
            break
        b = a[np.abs(a).max(1) > 0]
        sv = np.linalg.svd(b / np.linalg.norm(b, axis=1, keepdims=True), compute_uv=False)
        total += float(sv[0] / sv[rank - 1])
        q = np.linalg.svd(a)[0][:, :rank]  # the range of the product so far (the next live subspace)
    return total


def _log_tol(layers, ref, block: int = 1, kernels: int = 1, final: float = 1.0) -> float:
    """Tolerance on max_k |log s_k - ref_k| for the engine on ``layers``: tol(sqrt(n), kappa=sum of the
    blocks' kappa (_live_kappa) + ``final`` (the final graded SVD, relative accuracy eps kappa(N) with N
    well conditioned), kernels), plus the accumulation of log t over the blocks, tol(blocks, scale=
    max |log s_k|) (the log-det law's term; it dominates for the strongly graded products, |log s| ~
    1000). sqrt(n), not the worst-case n of the normwise bound: rounding errors in length-n inner
    products grow like sqrt(n) eps with high probability (Higham & Mary 2019). Measured max err /
    (eps sqrt(n) sum kappa): <= 0.8 (gated layers), mostly 0.01-0.1."""
    n = layers[0].shape[1]
    fin = np.isfinite(ref)
    size = float(np.abs(np.asarray(ref)[fin]).max()) if fin.any() else 0.0
    blocks = -(-len(layers) // block)
    return (tol(math.sqrt(n), kappa=_live_kappa(layers, block) + final, kernels=kernels)
            + tol(blocks, scale=size, kernels=kernels))


def _err(a, b):
    fin = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), fin), (a, b)
    return float(np.max(np.abs(a[fin] - b[fin]))) if fin.any() else 0.0


# the brief's sizes n = 16, L = 100 (spread ~200 nats) and n = 8, L = 400 (~650 nats), plus gated
@pytest.mark.parametrize("n,L,p,dps", [(16, 100, 1.0, 140), (8, 400, 1.0, 340), (8, 40, 0.75, 120),
                                       (12, 60, 0.9, 100)])
def test_log_svals_of_matches_mpmath(n, L, p, dps):
    g = torch.Generator().manual_seed(1000 * n + L)
    mats = S.masked_layer(L, n, p, 1.0, g).reshape(1, L, n, n).numpy()
    ref = mp_log_svals(mats[0], dps)
    eng = P.log_svals_of(mats)[0].numpy()
    err = _err(eng, ref)
    assert within(err, _log_tol(mats[0], ref), "log_svals_of"), f"engine error {err:.3e}"
    if p == 1.0:
        # the test can fail: the naive product loses the small singular values entirely
        assert np.max(np.abs(naive_log_svals(mats[0]) - ref)) > 1.0


def test_log_svals_of_extreme_grading_and_forced_split():
    # diag(e^{-20 (i-1)}) x orthogonal layers: range ~ 20*L*(n-1) nats >> float64; exercises the
    # cut logic and the MAX_BLOCK_NATS forced splits. Reference: mpmath at enough digits.
    rng = np.random.default_rng(7)
    n, L = 4, 12
    mats = []
    for _ in range(L):
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        mats.append(np.diag(np.exp(-np.arange(n) * rng.uniform(0.5, 40.0))) @ q)
    mats = np.array(mats)
    ref = mp_log_svals(mats, 800)
    eng = P.log_svals_of(mats[None])[0].numpy()
    assert within(_err(eng, ref), _log_tol(mats, ref), "grading")


def test_log_svals_of_depths_and_rank():
    g = torch.Generator().manual_seed(3)
    n, L = 6, 30
    mats = S.masked_layer(2 * L, n, 0.6, 0.7, g).reshape(2, L, n, n)
    out = P.log_svals_of(mats, depths=[5, 30])
    assert out.shape == (2, 2, n)
    assert not torch.isnan(out).any()
    for b in range(2):
        rank = int((mats[b] != 0).any(-1).sum(-1)[:30].min())
        assert int(torch.isfinite(out[1, b]).sum()) == rank
        ref5 = mp_log_svals(mats[b, :5].numpy(), 60)
        assert within(_err(out[0, b].numpy(), ref5), _log_tol(mats[b, :5].numpy(), ref5), "depth 5")


def test_generated_products_exact_log_det_law():
    # p = 1: log|det J_L| = sum_l log|det W_l|, E log|det W| = n ln(sigma) + (1/2) sum_k [ln 2 +
    # psi((n-k+1)/2)] (Wishart). Independent of the engine's algorithm; tolerance 5 SE.
    n, L, batch, sigma = 5, 20, 400, 0.8
    g = torch.Generator().manual_seed(11)
    ps = P.product_spectrum(n=n, depths=[L], batch=batch, p=1.0, sigma=sigma, gen=g, r=n)
    logdet = ps.log_svals[0].sum(-1).numpy()
    pred = L * (n * math.log(sigma) + 0.5 * sum(math.log(2) + digamma((n - k + 1) / 2)
                                                for k in range(1, n + 1)))
    se = logdet.std(ddof=1) / math.sqrt(batch)
    assert abs(logdet.mean() - pred) < 5 * se
    # Benettin sums give the same determinant sample by sample (different computation): each log t_i
    # is accumulated over L layers (rounding <= L eps |log t_i|), of the magnitude of the log s_k
    gap = np.abs(ps.benettin[0].sum(-1).numpy() * L - logdet)
    assert within(gap, [tol(L, scale=x) for x in np.abs(ps.log_svals[0].numpy()).sum(-1)], "log det")


def test_generated_matches_naive_sampler_pipeline_in_law():
    # Engine (compressed gated draws) vs the plain sampler + numpy pipeline at small depth where
    # the naive product is accurate: two-sample z-test on the mean of every finite log s_k, and
    # exact agreement of the rank distribution support (conditioned gates: rank >= r).
    n, L, p, r, sigma, batch = 5, 4, 0.6, 2, 1.3, 1500
    g = torch.Generator().manual_seed(5)
    eng = P.log_svals(n=n, depths=[L], batch=batch, p=p, sigma=sigma, gen=g, r=r)[0].numpy()
    mats = S.layer(batch * L, n, r, p, sigma, g).reshape(batch, L, n, n).numpy()
    nv = np.array([naive_log_svals(m) for m in mats])
    rank_nv = np.array([int((m != 0).any(-1).sum(-1).min()) for m in mats])
    rank_eng = np.isfinite(eng).sum(1)
    assert rank_eng.min() >= r
    assert abs(rank_eng.mean() - rank_nv.mean()) < 5 * math.hypot(rank_eng.std(), rank_nv.std()) / math.sqrt(batch)
    # mean log s_1 (always finite) and mean of log s_r (finite: rank >= r)
    z = 4.0  # 2 comparisons, family-wise alpha ~ 1e-4
    for k in (0, r - 1):
        a, b = eng[:, k], nv[:, k]
        se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(batch)
        assert abs(a.mean() - b.mean()) < z * se, (k, a.mean(), b.mean(), se)


def test_engine_accuracy_on_generated_layers_via_log_svals_of():
    # The generated path and log_svals_of share _fold; check the generated path's final SVD on a
    # deep gated product against mpmath by reproducing its layers: with p = 1 the engine's own
    # draws are not exposed, so we check the scale-free state instead: s(J_L) from the engine
    # equals s from mpmath for the same (given) Gaussian layers drawn by numpy.
    rng = np.random.default_rng(12)
    n, L = 7, 80
    mats = rng.standard_normal((L, n, n)) * (rng.uniform(size=(L, n, 1)) < 0.8)
    ref = mp_log_svals(mats, 150)
    assert within(_err(P.log_svals_of(mats[None])[0].numpy(), ref), _log_tol(mats, ref), "generated layers")


def test_shapes_chunks_no_nan_and_conditioned_rank():
    g = torch.Generator().manual_seed(2)
    ps = P.product_spectrum(n=10, depths=[1, 3, 25], batch=13, p=0.3, sigma=1.0, gen=g, r=2,
                            chunk=4)
    assert ps.log_svals.shape == (3, 13, 10) and ps.benettin.shape == (3, 13, 10)
    assert not torch.isnan(ps.log_svals).any() and not torch.isnan(ps.benettin).any()
    fin = torch.isfinite(ps.log_svals).sum(-1)
    assert torch.equal(fin, ps.rank) and int(ps.rank.min()) >= 2
    assert torch.all(ps.rank[1:] <= ps.rank[:-1])  # rank never increases with depth
    s = ps.log_svals
    assert torch.all((s[..., :-1] >= s[..., 1:]) | ~torch.isfinite(s[..., 1:]))
    # unconditioned, tiny p: products become exactly zero -> all -inf, still no NaN
    z = P.log_svals(n=4, depths=[50], batch=5, p=0.05, sigma=1.0, gen=g, conditioned=False)
    assert not torch.isnan(z).any() and torch.isinf(z).all()
    # same gen state -> same draws, regardless of workers
    a = P.log_svals(n=6, depths=[9], batch=6, p=0.5, sigma=1.0, gen=torch.Generator().manual_seed(9),
                    r=1, chunk=2)
    b = P.log_svals(n=6, depths=[9], batch=6, p=0.5, sigma=1.0, gen=torch.Generator().manual_seed(9),
                    r=1, chunk=2, workers=3)
    assert torch.equal(a, b)


@pytest.mark.parametrize("kw,name", [
    (dict(p=0.0), "p"), (dict(p=1.5), "p"), (dict(sigma=0.0), "sigma"), (dict(sigma=-1.0), "sigma"),
    (dict(r=0), "r"), (dict(r=11), "r"), (dict(r=None), "r"), (dict(depths=[3, 3]), "depths"),
    (dict(depths=[0, 2]), "depths"), (dict(depths=[]), "depths"), (dict(depths=[2.5]), "depths"),
    (dict(chunk=0), "chunk"), (dict(n=0), "n"), (dict(batch=0), "batch"),
    (dict(block=0), "block"), (dict(block=P.MAX_BLOCK + 1), "block"), (dict(block=2.0), "block"),
])
def test_invalid_arguments_name_the_parameter(kw, name):
    args = dict(n=10, depths=[1, 2], batch=2, p=0.5, sigma=1.0, gen=torch.Generator(), r=2)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        P.log_svals(**args)


def test_log_svals_of_rejects_bad_shapes():
    with pytest.raises(ValueError, match="square"):
        P.log_svals_of(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="shape"):
        P.log_svals_of(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="depths"):
        P.log_svals_of(np.ones((1, 2, 3, 3)), depths=[3])


def test_welford_matches_numpy_over_chunks_and_skips_inf():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((101, 3)) * [1.0, 10.0, 1e-3] + [0.0, 1e6, -5.0]
    x[7, 2] = -np.inf
    w = P.Welford()
    for a in range(0, 101, 17):
        w.update(x[a:a + 17])
    for c in range(3):
        col = x[:, c][np.isfinite(x[:, c])]
        assert w.count[c] == col.size
        # both sides accumulate col.size values: mean to ~ size eps max|x|; the variance to ~ size eps
        # kappa var with kappa = |x| / sqrt(sum (x - mean)^2) (Chan, Golub & LeVeque), 2 algorithms
        assert within(abs(w.mean[c] - col.mean()), tol(col.size, scale=np.abs(col).max(), kernels=2), "mean")
        kappa = np.linalg.norm(col) / np.linalg.norm(col - col.mean())
        assert within(abs(w.var[c] - col.var(ddof=1)), tol(col.size, kappa=kappa, scale=col.var(ddof=1),
                                                            kernels=2), "var")
    assert w.n_nonfinite.tolist() == [0, 0, 1]


def test_final_svd_forced_split_of_wide_blocks_vs_mpmath():
    # The accurate final step alone on a strongly graded triangular T = diag(e^logt) N. Gaps of
    # ~12 nats (< CUT_NATS) over 60 indices span 710 nats > MAX_BLOCK_NATS, so the block must be
    # split by the forced rule (coupling ~e^-12 across the split, effect second order ~e^-24).
    # Reference: mpmath SVD of the same float matrix at 360 digits.
    rng = np.random.default_rng(3)
    n = 60
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    logd = -12.0 * np.arange(n) + 300.0
    r = np.linalg.qr(np.exp(logd)[:, None] * q)[1]
    lt = np.log(np.abs(np.diag(r)))
    nm = r / np.abs(np.diag(r))[:, None]
    eng = P.log_svals_graded(torch.tensor(lt)[None], torch.tensor(nm)[None], torch.tensor([n]))[0]
    ref = mp_log_svals([r], 360)
    # only the final step: relative accuracy eps kappa(N) (dgejsv), N the scale-free factor; sqrt(n)
    # as in _log_tol
    assert within(np.max(np.abs(eng.numpy() - ref)),
                  tol(math.sqrt(n), kappa=np.linalg.cond(nm)) + tol(1, scale=np.abs(ref).max()), "final svd")


@pytest.mark.parametrize("order", ["increasing", "shuffled"])
def test_final_svd_forced_split_of_unsorted_scales_vs_mpmath(order):
    # _block_svals' contract: logt need not be sorted. Scales that RISE across a forced split once
    # lost the large block (m = 101, logt = 15 i - 1500: top log sv 0.47 vs the largest column's 1.15),
    # because the cut dropped the coupling R[:c, c:] t[c:] with the larger t on the dropped side.
    # 12-nat steps over 60 indices (710 nats > MAX_BLOCK_NATS, no natural cut). Reference: mpmath SVD
    # of R diag(e^logt) at 360 digits (theory.reference).
    rng = np.random.default_rng(5)
    n = 60
    lt = 12.0 * np.arange(n) - 400.0
    if order == "shuffled":
        lt = rng.permutation(lt)
    rn = np.triu(0.3 * rng.standard_normal((n, n)), 1) + np.diag(rng.choice([-1.0, 1.0], n))
    eng = P._block_svals(lt.copy(), rn.copy())
    ref = mp_log_svals([np.diag(np.exp(lt)), rn], 360)  # R diag(e^logt); e^logt rounded: relative eps per column
    # a forced cut (scales sorted, gap g = 12 nats) drops a coupling of relative size <= e^-g kappa(R);
    # singular values move by its square (4e-7 here); the old cut on unsorted scales is off by 0.68
    kappa = np.linalg.cond(rn)
    forced = (math.exp(-12.0) * kappa) ** 2
    assert within(np.max(np.abs(eng - ref)),
                  tol(math.sqrt(n), kappa=kappa) + tol(1, scale=np.abs(ref).max()) + forced, "unsorted")


def test_bartlett_fast_path_two_sample():
    # The fast path samples R directly (valid by right-orthogonal invariance). Two-sample checks
    # against the exact QR path on the same settings: means of log s_1, log s_r and of the rank
    # (z-tests, Bonferroni over 3 comparisons at family alpha 1e-3 -> z = 3.4), and a KS test on
    # log s_1 at alpha 1e-3.
    from scipy.stats import ks_2samp

    n, L, p, r, batch = 6, 8, 0.6, 2, 3000
    a = P.product_spectrum(n=n, depths=[L], batch=batch, p=p, sigma=0.9,
                           gen=torch.Generator().manual_seed(21), r=r)
    b = P.product_spectrum(n=n, depths=[L], batch=batch, p=p, sigma=0.9,
                           gen=torch.Generator().manual_seed(22), r=r, method="bartlett")
    sa, sb = a.log_svals[0].numpy(), b.log_svals[0].numpy()
    for x, y in ((sa[:, 0], sb[:, 0]), (sa[:, r - 1], sb[:, r - 1]),
                 (a.rank[0].double().numpy(), b.rank[0].double().numpy())):
        se = math.hypot(x.std(ddof=1), y.std(ddof=1)) / math.sqrt(batch)
        assert abs(x.mean() - y.mean()) < 3.4 * se
    assert ks_2samp(sa[:, 0], sb[:, 0]).pvalue > 1e-3
    # and the fast path detects a wrong law: sigma 0.9 vs 0.95 shifts E log s_1 by L*ln(0.95/0.9)
    c = P.log_svals(n=n, depths=[L], batch=batch, p=p, sigma=0.95, gen=torch.Generator().manual_seed(23),
                    r=r, method="bartlett")[0].numpy()
    assert ks_2samp(sa[:, 0], c[:, 0]).pvalue < 1e-3


def test_log_svals_of_transposed_gated_layers():
    # J^T = M_1^T ... M_L^T has the singular values of J; the transposed gated layers W^T D have
    # zero *columns* (first layer: interleaved zero pivots, fixed by the column sort) and rank
    # deficiency without zero rows later (junk trailing values, documented): no NaN, the top
    # `rank` values accurate, the rest far below.
    g = torch.Generator().manual_seed(8)
    n, L = 8, 30
    mats = S.masked_layer(L, n, 0.6, 1.0, g).numpy()
    ref = mp_log_svals(mats, 80)
    rank = int(np.isfinite(ref).sum())
    mt = np.ascontiguousarray(mats[::-1].transpose(0, 2, 1))
    eng = P.log_svals_of(mt[None])[0].numpy()
    assert not np.isnan(eng).any()
    assert within(np.max(np.abs(eng[:rank] - ref[:rank])), _log_tol(list(mt), ref[:rank]), "transposed")
    assert np.all(eng[rank:] < ref[rank - 1] - 30)


def _engine_layers(seed, n, L, bsz, p):
    """The generated layers of one chunk, in the engine's compressed form (B, k_l, k_{l-1})
    (rows beyond the active gate rows are zero), drawn exactly as _stream_chunk draws them."""
    draws, cols, out = P._Draws(seed, torch.device("cpu"), bsz), n, []
    for _ in range(L):
        _, g = P._draw_layer(draws, n, bsz, p, 1, False, cols)
        out.append(g.numpy().copy())
        cols = g.shape[1]
    return out


# Blocked generated path (block=None -> DEFAULT_BLOCK layers per QR) vs mpmath on the engine's own
# layers, at the strongly graded sizes (spreads ~200 and ~650 nats) and a gated case (ranks drop
# inside blocks: the kmin bookkeeping). Tolerance: _log_tol over the engine's blocks (2 layers, or
# 1 where _block_len falls back: a smaller kappa, so blocks of 2 bound it), per sample; per layer
# (block=1) over single layers. The same reference rejects long blocks: block=8 errs by more than
# the default blocks' tolerance at n = 16, L = 100.
# p = 1: dense CPU kernel (its triangular update by two diagonal scalings while logt spans less
# than SEPARABLE_NATS, entry by entry beyond: "entrywise" lowers the threshold to 50 nats so that
# both forms run in one pass) or the batched path.
@pytest.mark.parametrize("kernel", ["kernel", "entrywise", "batched"])
@pytest.mark.parametrize("n,L,p,dps,bsz", [(16, 100, 1.0, 140, 2), (8, 400, 1.0, 340, 2),
                                           (12, 60, 0.7, 100, 3)])
def test_blocked_generated_path_matches_mpmath(n, L, p, dps, bsz, kernel, monkeypatch):
    if p < 1.0 and kernel != "kernel":
        pytest.skip("gated layers take the batched path either way (run once)")
    monkeypatch.setattr(P, "DENSE_CPU_KERNEL", kernel != "batched")
    if kernel == "entrywise":
        monkeypatch.setattr(P, "SEPARABLE_NATS", 50.0)
    seed = 4242 + n

    chains = [[g[b] for g in _engine_layers(seed, n, L, bsz, p)] for b in range(bsz)]
    refs = [mp_log_svals(c, dps, pad_to=n) for c in chains]  # zero rows/columns of the chain: -inf

    def err(block):
        s, _, rank = P._stream_chunk(n=n, depths=[L], bsz=bsz, p=p, sigma=1.0,
                                     draws=P._Draws(seed, torch.device("cpu"), bsz), r=1,
                                     conditioned=False, block=block)
        for b in range(bsz):  # exact rank: -inf exactly where the reference is zero
            assert int(rank[0, b]) == int(np.isfinite(refs[b]).sum())
        return np.array([_err(s[0, b].numpy(), refs[b]) for b in range(bsz)])

    assert P._block_len(n) == P.DEFAULT_BLOCK > 1
    tol_default = np.array([_log_tol(c, r, P.DEFAULT_BLOCK) for c, r in zip(chains, refs)])
    assert within(err(None), tol_default, "default blocks")
    assert within(err(1), [_log_tol(c, r, 1) for c, r in zip(chains, refs)], "block=1")
    if p == 1.0 and n == 16:
        assert np.max(err(8) / tol_default) > 1.0


@pytest.mark.parametrize("shape", [(3, 5, 7, 4), (2, 128, 128, 128), (4, 40, 1, 9)])
def test_bmm_matches_torch_matmul_in_every_layout(shape):
    """_bmm (numpy's BLAS on the CPU) against torch's matmul on contiguous, transposed and sliced
    operands; the column-major variant must return column-major matrices with the same values."""
    b, m, k, n = shape
    g = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(b, k, m, dtype=torch.float64, generator=g).transpose(1, 2)  # column-major
    y = torch.randn(b, k, n + 3, dtype=torch.float64, generator=g)[:, :, 2:n + 2]  # sliced
    ref = torch.matmul(x, y)
    tol = 8 * k * torch.finfo(torch.float64).eps * float((x.abs() @ y.abs()).max())
    for colmajor in (False, True):
        out = P._bmm(x, y, colmajor=colmajor)
        assert out.shape == ref.shape and out.dtype == torch.float64
        assert float((out - ref).abs().max()) <= tol
        if colmajor and m > 1 and n > 1:
            assert out.stride(1) == 1  # rows vary fastest: each matrix is column-major


def test_engine_results_do_not_depend_on_workers_or_blas_threads():
    """At n = 64 numpy's BLAS would split the block products across threads; the engine runs it
    single-threaded, so 1 and 3 workers give bit-identical spectra and Benettin sums."""
    kw = dict(n=64, depths=[3, 8], batch=6, p=1.0, sigma=1.0, r=1, conditioned=False, chunk=2)
    a = P.product_spectrum(gen=torch.Generator().manual_seed(4), **kw)
    b = P.product_spectrum(gen=torch.Generator().manual_seed(4), workers=3, **kw)
    assert torch.equal(a.log_svals, b.log_svals) and torch.equal(a.benettin, b.benettin)


needs_kernel = pytest.mark.skipif(P._openblas.LIB is None,
                                  reason="numpy's bundled OpenBLAS not found: no dense kernel")


def test_single_blas_thread_nests_and_restores():
    """Every OpenBLAS in the process runs one thread inside (nested too) and gets its own count
    back on exit, also when the body raises."""
    setters = P._openblas.thread_setters()
    if not setters:
        pytest.skip("no OpenBLAS found through /proc/self/maps")
    before = [int(get()) for get, _ in setters]
    with pytest.raises(KeyError):
        with P.single_blas_thread():
            with P.single_blas_thread():
                assert [int(get()) for get, _ in setters] == [1] * len(setters)
            assert [int(get()) for get, _ in setters] == [1] * len(setters)
            raise KeyError("body fails")
    assert [int(get()) for get, _ in setters] == before


@needs_kernel
def test_openblas_wrappers_match_numpy_on_rectangular_blocks():
    """syrk+potrf, trsm and trmm through ctypes against numpy on K x m blocks (K > m), in the
    module's layout (arrays hold the transposes)."""
    rng = np.random.default_rng(11)
    K, m = 9, 5
    a = rng.standard_normal((K, m))  # Z
    z, g = np.ascontiguousarray(a.T), np.zeros((m, m))
    assert P._openblas.syrk_potrf(z, g) == 0
    r = np.triu(g)  # R in the array's upper triangle
    # componentwise backward error bounds, c * (inner dimension) * eps * |factors|, 2 kernels each
    # (the wrapper and the numpy product it is compared with)
    assert within(np.abs(r.T @ r - a.T @ a), tol(K, scale=(np.abs(a).T @ np.abs(a)).max(), kernels=2), "syrk_potrf")
    assert np.all(np.diag(r) > 0)
    P._openblas.trsm_right_upper(g, z)
    assert within(np.abs(z.T @ r - a), tol(m, scale=(np.abs(z.T) @ np.abs(r)).max(), kernels=2), "trsm")
    # Q = Z R^-1 is orthonormal to ~ eps kappa(A)^2 (Cholesky QR)
    assert within(np.abs(z @ z.T - np.eye(m)), tol(K, kappa=np.linalg.cond(a) ** 2), "cholqr orthogonality")
    x = rng.standard_normal((m, 7))
    xa = np.ascontiguousarray(x.T)
    P._openblas.trmm_left_upper(g, xa)
    assert within(np.abs(xa.T - r @ x), tol(m, scale=(np.abs(r) @ np.abs(x)).max(), kernels=2), "trmm")
    with pytest.raises(ValueError, match="C-contiguous float64"):
        P._openblas.syrk_potrf(np.asfortranarray(z), g)
    # rank deficient block: potrf reports the failing minor instead of returning garbage
    b = np.ascontiguousarray(np.c_[a[:, :2], a[:, :1]].T)
    assert P._openblas.syrk_potrf(b, np.zeros((3, 3))) > 0


@needs_kernel
@pytest.mark.parametrize("n", [5, 32, 40, 70])  # one partial panel, exact panels, partial last
def test_openblas_triangular_product_and_jacobi_svd(n):
    """Dense.trmm_tri (both factors triangular, by column panels) against numpy's product, and
    jacobi_log_svals (dgejsv through ctypes) bit for bit against scipy's dgejsv wrapper and
    against mpmath on a column-graded matrix (span ~100 nats, far beyond numpy's SVD)."""
    rng = np.random.default_rng(n)
    s_, x_ = np.triu(rng.standard_normal((n, n))), np.triu(rng.standard_normal((n, n)))
    sa, xa = s_.copy(), np.ascontiguousarray(x_.T)  # S as R is held; X as a matrix is held
    P._openblas.Dense(n).trmm_tri(P._openblas.ptr(sa), xa.ctypes.data)
    assert within(np.abs(xa.T - s_ @ x_), tol(n, scale=(np.abs(s_) @ np.abs(x_)).max(), kernels=2), "trmm_tri")
    assert np.all(np.tril(xa.T, -1) == 0)
    g = np.triu(rng.standard_normal((n, n))) * np.exp(-100.0 * np.arange(n) / n)[None, :]
    ls = P._openblas.jacobi_log_svals(np.asfortranarray(g))
    sva, *_, work, _, info = scipy.linalg.lapack.dgejsv(np.asfortranarray(g), joba=0, jobu=3,
                                                        jobv=3, jobr=0, jobt=0, jobp=0)
    assert info == 0 and np.array_equal(ls, np.log(sva) + math.log(work[0] / work[1]))
    with pytest.MonkeyPatch.context() as mp_:  # without numpy's OpenBLAS: scipy's wrapper
        mp_.setattr(P._openblas, "LIB", None)
        assert np.array_equal(P._openblas.jacobi_log_svals(np.asfortranarray(g)), ls)
    with mp.workdps(80):
        ref = sorted((float(mp.log(v)) for v in mp.svd_r(mp.matrix(g.tolist()),
                                                          compute_uv=False)), reverse=True)
    # dgejsv is accurate under column-scaled perturbations G (I + E), |E| ~ n eps (Drmac-Veselic), so
    # s_k errs relatively by <= n eps kappa_k, kappa_k = ||B|| ||D v_k|| / s_k (G = B D, D the column
    # norms, v_k the right singular vector, from dgejsv itself): small for most k, ~1e21 for some
    d = np.linalg.norm(g, axis=0)
    v = scipy.linalg.lapack.dgejsv(np.asfortranarray(g), joba=0, jobu=3, jobv=0, jobr=0, jobt=0, jobp=0)[2]
    kappa = np.linalg.norm(g / d, 2) * np.linalg.norm(d[:, None] * v, axis=0) / np.exp(ls)
    assert within(np.abs(ls - ref), [tol(n, kappa=k) for k in kappa], "dgejsv")
    with pytest.raises(ValueError, match="Fortran-ordered"):
        P._openblas.jacobi_log_svals(np.ascontiguousarray(g) if n > 1 else g[None])
    with pytest.raises(ValueError, match="m >= n"):
        P._openblas.jacobi_log_svals(np.asfortranarray(g[:2, :3]))


def _spectrum(kernel, monkeypatch, **kw):
    monkeypatch.setattr(P, "DENSE_CPU_KERNEL", kernel)
    return P.product_spectrum(gen=torch.Generator().manual_seed(21), **kw)


def _paths_tolerance(*, n, depths, batch, chunk, block=None, seed=21, **_):
    """(depths, batch) tolerance on max_k |log s_k| between the dense kernel and the batched path.

    Each block A = M_{l+b} ... M_{l+1} Q_l is factored with a relative backward error ~ eps kappa(A)
    (theory.products, DEFAULT_BLOCK), which moves every log s_k of J_L by at most about as much; the
    blocks' errors add up to depth L, and the two paths err independently (kernels=2), so the
    tolerance is tol(sqrt(n), kappa=sum of kappa(A) up to L, kernels=2), plus one well-conditioned
    re-orthogonalisation per recorded depth (sqrt(n): see _log_tol). The layers are rebuilt exactly as product_spectrum
    draws them (one seed per chunk from the generator, then sample b's own stream, layer by layer).
    Measured, max err / (eps sum kappa) is 0.01-0.3 over every sample, depth and block length 1-3
    (>= 250x headroom at n = 40 with sqrt(n)), whereas a relative error of 1e-6 in any s_k (a factor 1.000001)
    exceeds the tolerance at every depth (at most 6e-7, at L = 30 with block=3).
    """
    seeds = torch.randint(0, 2 ** 62, (len(range(0, batch, chunk)),),
                          generator=torch.Generator().manual_seed(seed)).tolist()
    blk = block or P.DEFAULT_BLOCK  # block=None: DEFAULT_BLOCK (or 1 where worse: smaller kappa)
    out = np.empty((len(depths), batch))
    for ci, start in enumerate(range(0, batch, chunk)):
        bsz = min(chunk, batch - start)
        draws = P._Draws(int(seeds[ci]), torch.device("cpu"), bsz)
        mats = np.stack([draws.normal((bsz, n, n)).numpy().transpose(0, 2, 1)
                         for _ in range(depths[-1])], axis=1)  # (bsz, L, n, n), layer 0 first
        for b in range(bsz):
            ell, kap = 0, 0.0
            for j, depth in enumerate(depths):
                while ell < depth:  # the kernel's blocks stop at each recorded depth
                    nb = min(blk, depth - ell)
                    a = np.linalg.multi_dot([*mats[b, ell:ell + nb][::-1], np.eye(n)])
                    kap += np.linalg.cond(a)
                    ell += nb
                out[j, start + b] = tol(math.sqrt(n), kappa=kap + j + 1, kernels=2)
    return out


@needs_kernel
@pytest.mark.parametrize("block", [None, 1, 3])
def test_dense_kernel_matches_batched_path(block, monkeypatch):
    """Same layers (per-sample streams), two factorisations (Cholesky QR one sample at a time vs
    batched Householder QR): spectra, Benettin sums and ranks agree to rounding at every depth."""
    kw = dict(n=40, depths=[1, 7, 30], batch=5, p=1.0, sigma=0.7, r=1, conditioned=False,
              chunk=3, block=block)
    a, b = _spectrum(True, monkeypatch, **kw), _spectrum(False, monkeypatch, **kw)
    assert torch.equal(a.rank, b.rank)
    _assert_paths_agree(a, b, kw)


def _assert_paths_agree(a, b, kw):
    """Spectra within _paths_tolerance per (depth, sample); the Benettin sums are log|R_ii| summed
    over the same blocks and divided by L, so the same tolerance divided by L."""
    tl = _paths_tolerance(**kw)
    # plus the accumulation of log t over the blocks (as in _log_tol), |log s| ~ L |gamma| here
    size = b.log_svals.abs().amax(-1).numpy()
    nblocks = [-(-d // (kw.get("block") or P.DEFAULT_BLOCK)) + j for j, d in enumerate(kw["depths"])]
    tl = tl + np.array([[tol(nb, scale=x, kernels=2) for x in row] for nb, row in zip(nblocks, size)])
    err_s = (a.log_svals - b.log_svals).abs().amax(-1).numpy()
    err_b = (a.benettin - b.benettin).abs().amax(-1).numpy()
    ell = np.array(kw["depths"], dtype=float)[:, None]
    assert within(err_s, tl, "log_svals"), (err_s / tl).max()
    assert within(err_b, tl / ell, "benettin"), (err_b * ell / tl).max()


@needs_kernel
def test_dense_kernel_householder_fallback(monkeypatch):
    """Every Cholesky factorisation 'breaks down': each block, and each re-orthogonalisation at a
    recorded depth, takes the Householder fallback and the result still matches the batched
    path."""
    kw = dict(n=24, depths=[6, 20], batch=4, p=1.0, sigma=1.0, r=1, conditioned=False, chunk=4)
    calls = []

    def broken(self, z, g):
        calls.append(1)
        return 1

    monkeypatch.setattr(P._openblas.Dense, "cholqr", broken)
    a = _spectrum(True, monkeypatch, **kw)
    assert len(calls) == 4 * (10 + 2)  # 4 samples x (10 blocks of 2 layers + 2 recorded depths)
    b = _spectrum(False, monkeypatch, **kw)
    _assert_paths_agree(a, b, kw)
