"""Mutation-kill tests (round r, helper r12): sec4 _cmp_rem42's rank floor, sec7 gated_chain's bases."""
from __future__ import annotations

import numpy as np

from theory.claims import sec4


def test_rem42_rank_floor_uses_only_factors_of_the_product():
    """The rank floor at depth l is the rounding of forming M_l ... M_1 from exactly those factors.

    Gate D_1 = diag(1, 1, 0) bounds rank(M_{1:2}) by 2, and M_2 M_1 is formed with cancellation (columns +-H of
    W_2 against nearly equal rows of M_1), so its third singular value is rounding of size eps * H: only a floor
    sized by ||M_2|| ||M_1|| ignores it. A later tiny factor (W_3 = 1e-30 I) must not shrink the floor at l = 2;
    counting that rounding singular value would give rank 3 > bound 2 (err = inf)."""
    rng = np.random.default_rng(12)
    H = 1e8
    r = rng.standard_normal(3)
    W1 = np.stack([r, r + rng.standard_normal(3) / H, rng.standard_normal(3)])
    u = rng.standard_normal(3)
    W2 = np.stack([H * u, -H * u + rng.standard_normal(3), rng.standard_normal(3)], 1)
    ds = [np.array([1., 1., 0.]), np.ones(3)]
    # the cancellation really leaves a rounding-level third singular value well above eps * s_1
    P = W2 @ (ds[0][:, None] * W1)
    s = np.linalg.svd(P, compute_uv=False)
    assert s[2] > np.sqrt(H) * np.finfo(float).eps * s[0]  # rounding of the +-H cancellation
    for W3 in (1e-30 * np.eye(3), np.eye(3), 1e30 * np.eye(3)):
        c = sec4._cmp_rem42([W1, W2, W3], ds)
        assert np.isfinite(c.err) and c.err <= c.tol, (c.err, c.detail)
