"""Round r11: kills for survivors in app_c (_c3_split_replay) and app_f (_extreme_cmp)."""
import math

import mpmath
import numpy as np

from theory.claims import app_c, app_f

EPS = np.finfo(np.float64).eps


def _c3_ref(i, t, sigma):
    # E log||Y e_1 ∧...∧ Y e_i|| for i <= t: (i/2) ln(2 sigma^2) + (1/2) sum_{k<=i} psi((t-k+1)/2), in mpmath
    return float(mpmath.mpf(i) / 2 * mpmath.log(2 * mpmath.mpf(sigma) ** 2)
                 + sum(mpmath.digamma(mpmath.mpf(t - k + 1) / 2) for k in range(1, i + 1)) / 2)


def test_c3_split_replay_err_is_printed_minus_truth():
    # i <= r and i <= t: both branches finite and equal, so the replay's error must be ~0 (not |printed|)
    for i, t, r, sigma in ((2, 3, 3, 1.0), (1, 4, 2, 0.3), (3, 5, 4, 2.0)):
        ref = _c3_ref(i, t, sigma)
        cmp = app_c._c3_split_replay({"n": t, "t": t, "r": r, "i": i, "sigma": sigma})
        scale = 1 + abs(ref) + i * abs(math.log(2 * sigma ** 2))
        assert abs(cmp.detail["printed"] - ref) <= 64 * i * EPS * scale
        assert abs(cmp.detail["true (i <= t branch)"] - ref) <= 64 * i * EPS * scale
        assert abs(ref) > 1e3 * 64 * i * EPS * scale  # a nonzero value: err = |printed| would be caught
        assert cmp.err <= 128 * i * EPS * scale
        assert cmp.ok
    # the listed counterexample: printed -inf (i > r), truth finite -> infinite error, refuted
    cmp = app_c._c3_split_replay(app_c._c3_split_cex())
    assert cmp.detail["printed"] == -np.inf and np.isfinite(cmp.detail["true (i <= t branch)"])
    assert cmp.err == math.inf and not cmp.ok
    # i > r and i > t: both -inf, the two branches agree -> zero error
    cmp = app_c._c3_split_replay({"n": 3, "t": 2, "r": 2, "i": 3, "sigma": 1.0})
    assert cmp.detail["printed"] == -np.inf and cmp.detail["true (i <= t branch)"] == -np.inf
    assert cmp.err == 0.0 and cmp.ok


def test_extreme_cmp_support_is_one_based():
    rng = np.random.default_rng(11)
    for n in (2, 3, 4):
        for _ in range(5):
            a = (rng.random((n, n)) < 0.5).astype(float)
            a[rng.integers(n), rng.integers(n)] = 1.0
            sup = [(i + 1, j + 1) for i in range(n) for j in range(n) if a[i, j] != 0]
            got = app_f._extreme_cmp(a).detail["support_1_based"]
            assert [tuple(x) for x in got] == sup
            assert all(1 <= i <= n and 1 <= j <= n for i, j in got)


def test_cmp_tail_remainder_is_relative_to_one_plus_K():
    # |e_j^T u_i s_i/s_j - K_{j,i}| / (1 + |K_{j,i}|), recomputed from the rungs; K_{j,i} large so the
    # denominator matters
    from theory.claims import app_d
    for C, r, a in ((np.array([[1.0, 8.0, -5.0], [8.0, 100.0, 3.0], [-5.0, 3.0, 50.0]]), 1, np.array([0.0, 0.7, 1.5])),
                    (np.array([[2.0, 0.5, 9.0, -4.0], [0.5, 1.0, 3.0, 7.0], [9.0, 3.0, 90.0, 1.0],
                               [-4.0, 7.0, 1.0, 80.0]]), 2, np.array([0.0, 0.6, 1.4, 2.1]))):
        _check_tail(app_d, C, r, a, "exp")


def _check_tail(app_d, C, r, a, kind):
    n = len(a)
    cmp = app_d.cmp_tail(C, r, a, kind)
    K = np.asarray(cmp.detail["K_tail"])
    # derived K = C_21 T^{-T} Sigma^{-1}, C_11 = T Sigma T^T (unit lower T), from a Cholesky factor
    Lc = np.linalg.cholesky(C[:r, :r])
    T, Sig = Lc / np.diag(Lc)[None, :], np.diag(Lc) ** 2
    Kref = C[r:, :r] @ np.linalg.inv(T).T / Sig[None, :]
    assert np.allclose(K, Kref, rtol=1e3 * EPS * np.linalg.cond(C[:r, :r]), atol=0)
    _, _, rungs = app_d._ladder(C, r, a, kind)
    ref = []
    for rg in rungs:
        ls = rg.log_s
        w = 0.0
        for jj in range(r, n):
            for i in range(r):
                y = rg.eig.U[jj, i] * math.exp(ls[i] - ls[jj])
                w = max(w, abs(y - K[jj - r, i]) / (1 + abs(K[jj - r, i])))
        ref.append(w)
    got = cmp.detail["remainder"]
    assert len(got) == len(ref)
    for g, e in zip(got, ref):
        assert abs(g - e) <= 1e3 * EPS * (1 + e) * (1 + float(np.max(np.abs(K))))
    assert max(ref) > 0
