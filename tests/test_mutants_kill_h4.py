"""Mutation blind spots in theory/products.py (issue 17, part 6; fresh-sample seed 2 survivors, group h4).

* ``log_svals_of``'s last-resort non-finite guard: once it has declared a suffix of the state dead, the
  result must stay *scale-equivariant* in every later layer (s(c M_L ... M_1) = |c| s(M_L ... M_1), so the
  log singular values shift by log|c| and the -inf pattern is unchanged), however large c is. The dead
  rows' log-scales must be -inf (they enter the next update only as exp(logt_dead - logt_i) = 0); any
  other value there leaks into the live rows once a later layer is large.
* the phase profiler (``PROFILE``) of both streaming paths (the dense CPU kernel for p = 1, the batched
  path for p < 1): every phase is a sum of differences of one monotone clock read inside the call, so each
  is >= 0, the phases of the streaming loop are > 0, and their sum is at most the call's wall time.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from checks.tolerance import tol
from tests.conftest import within
from theory import products


def _guarded_chain(n: int = 4, seed: int = 5):
    """Three layers on which log_svals_of's overflow guard kills a proper suffix at depth 2: layer 1 grades
    one direction down to 1e-300, layer 2 couples it to a unit direction with weight 1e10, so the scaled
    factor's row for that direction overflows (1e10 * e^690) while the rows above it stay finite."""
    m1 = np.diag([1.0, 1.0, 1e-300, 1.0][:n] + [1.0] * (n - 4))
    m2 = np.eye(n)
    m2[2, 3] = 1e10
    m3 = np.random.default_rng(seed).standard_normal((n, n))
    return m1, m2, m3


@pytest.mark.parametrize("c", [2.0 ** 20, 2.0 ** -20, -(2.0 ** 30)])
def test_log_svals_of_stays_scale_equivariant_after_the_overflow_guard(c):
    m1, m2, m3 = _guarded_chain()
    with np.errstate(invalid="ignore"):  # the overflowing row is NaN inside, before the guard drops it
        base = products.log_svals_of(np.stack([m1, m2, m3])[None], depths=[1, 2, 3])[:, 0].numpy()
        scaled = products.log_svals_of(np.stack([m1, m2, c * m3])[None], depths=[1, 2, 3])[:, 0].numpy()
    # the guard fired at depth 2: a proper suffix is -inf, a non-empty prefix is finite (else the test is moot)
    fin2 = np.isfinite(base[1])
    assert 0 < fin2.sum() < fin2.size and fin2.tolist() == sorted(fin2.tolist(), reverse=True)
    assert not np.isnan(base).any() and not np.isnan(scaled).any()
    # depths 1, 2 do not see the third layer
    assert np.array_equal(base[:2], scaled[:2])
    # depth 3: the third layer is finite and invertible, so the live prefix is kept and shifts by log|c|
    fin3 = np.isfinite(base[2])
    assert fin3.tolist() == fin2.tolist(), (base[2], base[1])
    assert np.isfinite(scaled[2]).tolist() == fin3.tolist(), (scaled[2], base[2])
    cond = np.linalg.cond(m3)
    t = tol(4, kappa=cond, kernels=4)
    assert within(np.abs(scaled[2][fin3] - base[2][fin3] - math.log(abs(c))), t, "log s(cM) - log s(M) = log|c|")


def _profiled(monkeypatch, **kw):
    monkeypatch.setattr(products, "PROFILE", {})
    t0 = time.perf_counter()
    products.product_spectrum(gen=torch.Generator().manual_seed(3), sigma=1.0, workers=1, conditioned=False, **kw)
    wall = time.perf_counter() - t0
    return dict(products.PROFILE), wall


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_profile_phases_are_nonnegative_and_fit_in_the_wall_time(monkeypatch, p):
    prof, wall = _profiled(monkeypatch, n=6, depths=[5, 12], batch=3, p=p)
    assert products.PROFILE is not None
    assert set(prof) <= set(products.PHASES)
    # the streaming loop's phases all ran (dense kernel p = 1: all four timed per layer/sample)
    loop = (products.PH_RANDOM, products.PH_PRODUCTS, products.PH_QR, products.PH_UPDATE)
    for ph in loop + (products.PH_FINAL,):
        assert ph in prof and prof[ph] > 0.0, (ph, prof)
    assert all(v >= 0.0 for v in prof.values()), prof
    # differences of one monotone clock inside the call: the sum cannot exceed the call's wall time
    assert sum(prof.values()) <= wall, (prof, wall)


def test_log_svals_of_guard_in_one_sample_leaves_the_others_alone():
    """Samples of a batch are independent products: a sample whose state the overflow guard cuts must not
    change another sample's result (same log singular values as that sample run alone, same -inf pattern)."""
    m1, m2, m3 = _guarded_chain()
    clean = np.random.default_rng(8).standard_normal((3, 4, 4))
    batch = np.stack([np.stack([m1, m2, m3]), clean])
    with np.errstate(invalid="ignore"):
        both = products.log_svals_of(batch, depths=[1, 2, 3]).numpy()
        alone = [products.log_svals_of(batch[i:i + 1], depths=[1, 2, 3])[:, 0].numpy() for i in range(2)]
    for i in range(2):
        assert np.array_equal(np.isfinite(both[:, i]), np.isfinite(alone[i])), (i, both[:, i], alone[i])
    assert np.isfinite(both[:, 1]).all()  # the clean sample has full rank at every depth
    cond = max(np.linalg.cond(x) for x in clean)  # each clean layer enters with relative error ~ eps kappa
    assert within(np.abs(both[:, 1] - alone[1]), tol(4, kappa=cond, kernels=3 * 4), "clean sample")


# ----------------------------------------------------------------------------------------------
# products.py's small helpers against their definitions
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1])
def test_welford_matches_numpy_over_finite_entries(axis):
    """Welford's streamed mean / unbiased variance / standard error / counts equal numpy's on the finite entries
    of the concatenated batches (non-finite entries counted apart), for unequal batches, a coordinate with no
    finite entry in one batch, and one with fewer than 2 finite entries overall (var NaN)."""
    rng = np.random.default_rng(11)
    batches = [rng.standard_normal((k, 5)) * 3.0 + 2.0 for k in (1, 4, 7, 2)]
    batches[1][:, 2] = np.inf  # coordinate 2: no finite entry in batch 1
    batches[2][3, 0] = np.nan
    batches[2][5, 1] = -np.inf
    for b in batches:
        b[:, 4] = np.nan
    batches[3][0, 4] = 1.5  # coordinate 4: exactly one finite entry
    w = products.Welford(axis=axis)
    for b in batches:
        w.update(b if axis == 0 else torch.from_numpy(b.T.copy()))
    allx = np.concatenate(batches, 0)
    fin = np.isfinite(allx)
    cnt = fin.sum(0)
    assert np.array_equal(w.count, cnt) and np.array_equal(w.n_nonfinite, (~fin).sum(0))
    for j in range(allx.shape[1]):
        x = allx[fin[:, j], j]
        t = tol(x.size, scale=float(np.max(np.abs(x))), kernels=4)
        assert within(abs(w.mean[j] - x.mean()), t, "Welford mean")
        if x.size > 1:
            v = x.var(ddof=1)
            assert within(abs(w.var[j] - v), tol(x.size, scale=float(np.max(x ** 2)), kernels=8), "Welford var")
            assert within(abs(w.se[j] - math.sqrt(v / x.size)), tol(x.size, scale=math.sqrt(v), kernels=8), "se")
        else:
            assert np.isnan(w.var[j]) and np.isnan(w.se[j])


@pytest.mark.parametrize("a,b,c", [(70, 70, 70), (40, 90, 100), (90, 75, 66), (70, 100, 100), (5, 8, 9)])
def test_trimul_is_the_dense_product_of_upper_trapezoidal_factors(a, b, c):
    rng = np.random.default_rng(a + b + c)
    s = torch.from_numpy(np.triu(rng.standard_normal((2, a, b))))
    nm = torch.from_numpy(np.triu(rng.standard_normal((2, b, c))))
    got = products._trimul(s, nm).numpy()
    want = np.matmul(s.numpy(), nm.numpy())
    scale = np.matmul(np.abs(s.numpy()), np.abs(nm.numpy()))
    assert got.shape == want.shape
    assert within(np.abs(got - want), tol(b, kernels=2) * scale + np.finfo(float).tiny, "trimul")


def test_mask_and_bmm_helpers_match_their_definitions():
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.standard_normal((3, 5, 6)))
    cnt = torch.tensor([0, 3, 6])
    r, c = products._mask_rows(x, cnt).numpy(), products._mask_cols(x, cnt).numpy()
    for bi, k in enumerate(cnt.tolist()):
        want_r = x[bi].numpy().copy()
        want_r[k:, :] = 0.0
        want_c = x[bi].numpy().copy()
        want_c[:, k:] = 0.0
        assert np.array_equal(r[bi], want_r) and np.array_equal(c[bi], want_c)
    y = torch.from_numpy(rng.standard_normal((3, 6, 4)))
    want = np.einsum("bij,bjk->bik", x.numpy(), y.numpy())
    scale = np.einsum("bij,bjk->bik", np.abs(x.numpy()), np.abs(y.numpy()))
    for cm in (False, True):
        got = products._bmm(x, y, colmajor=cm)
        assert tuple(got.shape) == (3, 5, 4)
        assert within(np.abs(got.numpy() - want), tol(6, kernels=2) * scale, f"bmm colmajor={cm}")


def test_spread_per_layer_is_the_bartlett_expectation_and_block_len_its_threshold():
    """E[log|R_11| - log|R_mm|] of an m x m Ginibre layer: R_ii^2 ~ chi^2_{m-i+1}, E log chi^2_k = psi(k/2) + log 2,
    so (1/2)[psi(m/2) - psi(1/2)] (mpmath), = lyapunov.d(1, m); 0 for m = 1. _block_len switches to 1 exactly
    above 1.25 d + 0.5."""
    import mpmath as mp

    from theory import lyapunov

    assert products._spread_per_layer(1) == 0.0
    for m in (2, 3, 7, 16, 129):
        want = float((mp.digamma(mp.mpf(m) / 2) - mp.digamma(mp.mpf(1) / 2)) / 2)
        got = products._spread_per_layer(m)
        assert within(abs(got - want), tol(4, scale=want), "spread per layer")
        assert within(abs(got - lyapunov.d(1, m)), tol(4, scale=want, kernels=2), "= d(1, m)")
        thr = 1.25 * want + 0.5
        assert products._block_len(m, thr * (1 + 1e-9)) == 1
        assert products._block_len(m, thr * (1 - 1e-9)) == products.DEFAULT_BLOCK
        assert products._block_len(m) == products.DEFAULT_BLOCK


def test_check_depths_accepts_exactly_strictly_increasing_positive_integers():
    assert products._check_depths([1]) == [1]
    assert products._check_depths((1, 2, 5)) == [1, 2, 5]
    assert products._check_depths(np.array([3, 4])) == [3, 4]
    for bad in ([], [0], [-1, 2], [2, 2], [3, 2], [1.5], [1, 2.5], 5, None):
        with pytest.raises(ValueError):
            products._check_depths(bad)


# ----------------------------------------------------------------------------------------------
# lyapunov.py: the Monte Carlo validator and the rank law, from their definitions
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("i,n,samples,chunk", [(1, 4, 50, 16), (2, 5, 33, 33), (3, 3, 20, 7)])
def test_d_mc_is_mean_and_standard_error_of_minus_log_det_of_haar_minors(i, n, samples, chunk):
    """d_mc replayed from its definition: the same Haar draws (haar_orthogonal from the same seed, chunk by
    chunk), -log|det Omega^{i,i}| by numpy, then mean and std(ddof=1)/sqrt(N)."""
    from theory import lyapunov

    got = lyapunov.d_mc(i, n, samples, torch.Generator().manual_seed(9), chunk=chunk)
    g = torch.Generator().manual_seed(9)
    vals = []
    for start in range(0, samples, chunk):
        om = lyapunov.haar_orthogonal(min(chunk, samples - start), n, g).numpy()
        vals += [-math.log(abs(np.linalg.det(o[:i, :i]))) for o in om]
    v = np.array(vals)
    assert v.size == samples
    t = tol(i, kappa=float(np.max(np.exp(v))), kernels=4, scale=1.0)
    assert within(abs(got[0] - v.mean()), t, "d_mc mean")
    assert within(abs(got[1] - v.std(ddof=1) / math.sqrt(samples)), t, "d_mc se")
    assert lyapunov.d_mc(0, n, samples, torch.Generator().manual_seed(9)) == (0.0, 0.0)
    # two samples are the fewest with a standard error; one is rejected
    assert all(np.isfinite(lyapunov.d_mc(i, n, 2, torch.Generator().manual_seed(9))))
    with pytest.raises(ValueError):
        lyapunov.d_mc(i, n, 1, torch.Generator().manual_seed(9))


@pytest.mark.parametrize("n,p,r", [(6, 0.3, 2), (9, 0.7, 5), (4, 0.5, 1), (5, 1.0, 3)])
def test_rank_weights_are_the_conditional_binomial_law_exactly(n, p, r):
    from fractions import Fraction

    from theory import lyapunov

    pf = Fraction(p)
    pmf = {m: math.comb(n, m) * pf ** m * (1 - pf) ** (n - m) for m in range(n + 1)}
    tail = sum(pmf[m] for m in range(r, n + 1))
    for approx in (False, True):
        t, w = lyapunov.rank_weights(n, p, r, approx=approx)
        assert t.tolist() == list(range(r, n + 1))
        want = np.array([float(pmf[m] if approx else pmf[m] / tail) for m in t])
        if p == 1.0:
            want = (t == n).astype(float)
        pos = want > 0
        assert np.array_equal(w[~pos], want[~pos])
        assert within(np.abs(w - want)[pos], tol(n, kernels=4) * want[pos], f"approx={approx}")
