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


def test_sec7_minimal_no_relation_case_is_consistent():
    """The stored counterexample's n is the size of its layer values and target (n = 2, the issue's case)."""
    from theory.claims import sec7
    c = sec7.MINIMAL_NO_RELATION
    assert c["n"] == len(c["a"]) == len(c["target"]) == len(sec7.DIAG_A) == 2
    assert all(len(row) == c["n"] for row in c["target"])
    assert c["L"] in sec7.DIAG_LS and c["d"] in sec7.DIAG_GATES


def test_sec7_gated_chain_bases_and_singular_values():
    """gated_chain: Haar outer bases Q_0, Q_L (W_1^T W_1 and W_L W_L^T not diagonal), diagonal gates, and the
    documented singular values s_k(J) = e^{L gamma_k + delta_k} (relation family), e^{L gamma_k} / gate (no-relation
    family), from an SVD of the product, not from the builder."""
    from theory import fgln
    from theory.claims import sec7
    gam = np.array([0.4, -0.3, 0.1])
    dl = np.array([0.2, -0.5, 0.3])
    n = len(gam)
    for L in (2, 3, 5):
        for kw, want in (({"deltas": dl}, np.exp(L * gam + dl)), ({"gate": 2.0}, np.exp(L * gam) / 2.0)):
            Ws, ds = sec7.gated_chain(n, L, gam, np.random.default_rng(100 + L), **kw)
            assert len(Ws) == L and len(ds) == L - 1
            assert all(w.shape == (n, n) for w in Ws) and all(d.shape == (n,) for d in ds)
            eps = np.finfo(float).eps
            for G in (Ws[0].T @ Ws[0], Ws[-1] @ Ws[-1].T):
                off = G - np.diag(np.diag(G))
                assert np.max(np.abs(off)) > np.sqrt(eps) * np.max(np.abs(G)), G  # Haar, not a signed permutation
            J = fgln.pprod(fgln.layers_left(Ws, ds), 1, L)
            s = np.linalg.svd(J, compute_uv=False)
            t = 8 * (L + 2) * n * eps
            assert np.allclose(s, np.sort(want)[::-1], rtol=t, atol=0), (s, want)


def test_rem42_rank_bound_uses_only_the_path_up_to_l():
    """rank(M_{1:l}) is bounded by the widths and gate ranks on the path 1..l only: a later narrow layer (width 1)
    or a later zero gate must not lower the bound of a full-rank earlier product (that would give err = inf)."""
    rng = np.random.default_rng(7)
    Ws = [rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal((1, 3))]
    for ds in ([np.ones(3), np.ones(3)], [np.ones(3), np.array([1., 0., 0.])]):
        c = sec4._cmp_rem42(Ws, ds)
        assert np.isfinite(c.err) and c.err <= c.tol, (c.err, c.detail)


def test_def43_tolerance_covers_the_largest_mode_chain():
    """Definition 4.3's check forms every mode's chain; its rounding tolerance is that of the largest one (here
    mode 1, gates 2), not mode 0's (gates 0): the all-zero first mode must not shrink it."""
    from theory.claims._networks import chain_tol

    rng = np.random.default_rng(3)
    n, L = 6, 4
    Ws = [3 * rng.standard_normal((n, n)) for _ in range(L)]
    modes = {0: [np.zeros(n) for _ in range(L - 1)], 1: [np.full(n, 2.0) for _ in range(L - 1)]}
    H = np.zeros((2, n))
    H[0, 0] = 1.0
    X = rng.standard_normal((n, 6))
    X[0] = np.abs(X[0]) + 0.1  # H x > 0 in the first functional: every sample is in mode 1
    c = sec4._cmp_def43(Ws, modes, H, X)
    scale = max(np.max(np.abs(X)), 1.0)
    assert c.ok and c.tol == max(chain_tol(Ws, modes[m]) for m in (0, 1)) * scale * 8
    assert c.tol > chain_tol(Ws, modes[0]) * scale * 8
