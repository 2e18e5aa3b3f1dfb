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
