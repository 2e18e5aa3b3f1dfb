"""Wedge norms of Appendix C: ``log ||Y e_1 ∧ ... ∧ Y e_i||`` (Lemmas C.3/C.4), the Wishart
log-determinant, and the exterior-power ratio of Lemma C.6.

``||v_1 ∧ ... ∧ v_i||^2 = det(<v_p, v_q>)`` (paragraph B.2.1): computed here from the R factor of a
QR factorisation (``log ||...|| = sum log |R_kk|``), which is backward stable and never forms the
Gram matrix. The Lemma C.6 ratio is evaluated on the *normalised* compound matrix so that it stays
accurate however strong the spectral separation is.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma


def log_wedge_columns(y: np.ndarray, i: int) -> np.ndarray:
    """``log ||Y e_1 ∧ ... ∧ Y e_i||`` for a batch ``y`` of shape (..., n, n); -inf where the first
    i columns are linearly dependent (exactly zero R diagonal entry)."""
    y = np.asarray(y, dtype=np.float64)
    if not 1 <= i <= y.shape[-1]:
        raise ValueError(f"i={i} must lie in [1, {y.shape[-1]}]")
    if i > y.shape[-2]:
        return np.full(y.shape[:-2], -np.inf)
    r = np.linalg.qr(y[..., :, :i], mode="r")
    with np.errstate(divide="ignore"):
        return np.log(np.abs(np.diagonal(r, axis1=-2, axis2=-1))).sum(axis=-1)


def wishart_logdet_mean(i: int, t: int, sigma: float) -> float:
    """E log det(X^T X) for X a t x i matrix of i.i.d. N(0, sigma^2), i <= t (Lemma C.3's
    ``i ln(2 sigma^2) + sum_{k=1}^i psi((t-k+1)/2)``)."""
    if not 1 <= i <= t:
        raise ValueError(f"need 1 <= i <= t, got i={i}, t={t}")
    k = np.arange(1, i + 1)
    return float(i * np.log(2 * sigma ** 2) + digamma((t - k + 1) / 2).sum())


def lemma_c3_printed(i: int, t: int, r: int, sigma: float) -> float:
    """Lemma C.3 exactly as printed: the formula if ``i <= r`` else -inf (``r`` the fixed integer
    of Section C.1). For ``i > t`` the formula contains psi at a non-positive integer: +-inf/nan."""
    if i > r:
        return -np.inf
    k = np.arange(1, i + 1)
    with np.errstate(all="ignore"):
        return float(i / 2 * np.log(2 * sigma ** 2) + 0.5 * digamma((t - k + 1) / 2).sum())


def lemma_c3_corrected(i: int, t: int, sigma: float) -> float:
    """Lemma C.3 with the case split on ``i <= t`` (rank of D)."""
    return 0.5 * wishart_logdet_mean(i, t, sigma) if i <= t else -np.inf


def compound(m: np.ndarray, t: int) -> np.ndarray:
    """The t-th compound matrix ``(det M^{I,J})_{I,J}`` over lexicographic t-subsets (= ∧^t M),
    batched over leading dimensions of ``m`` (..., n, n)."""
    from itertools import combinations

    m = np.asarray(m, dtype=np.float64)
    n = m.shape[-1]
    idx = np.array(list(combinations(range(n), t)))
    sub = m[..., idx[:, None, :, None], idx[None, :, None, :]]  # (..., N, N, t, t)
    return np.linalg.det(sub)


def log_ratio_c6(a: np.ndarray, omega: np.ndarray, b: np.ndarray, t: int):
    """``log ||∧^t(S_A Ω S_B)|| / (||∧^t S_A|| ||∧^t S_B||)`` for non-increasing ``a``, ``b`` >= 0 with
    ``a_t, b_t > 0`` (Lemma C.6). Computed as the 2-norm of ``diag(α) ∧^t Ω diag(β)`` with
    ``α_I = prod_I a / prod_{I0} a <= 1`` (same for β): no overflow, no cancellation."""
    from itertools import combinations

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = a.size
    if a[t - 1] <= 0 or b[t - 1] <= 0:
        raise ValueError("log_ratio_c6 needs a_t, b_t > 0 (assumption (a) of Lemma C.6)")
    sets = list(combinations(range(n), t))
    with np.errstate(divide="ignore"):
        la, lb = np.log(a), np.log(b)
    alpha = np.exp(np.array([la[list(s)].sum() for s in sets]) - la[:t].sum())
    beta = np.exp(np.array([lb[list(s)].sum() for s in sets]) - lb[:t].sum())
    c = compound(omega, t)
    m = alpha[:, None] * c * beta[None, :]
    return np.log(np.linalg.svd(m, compute_uv=False)[..., 0])


def log_abs_top_minor(omega: np.ndarray, t: int) -> np.ndarray:
    """``log |det Ω^{t,t}|`` for a batch of orthogonal matrices (..., n, n)."""
    return np.linalg.slogdet(np.asarray(omega)[..., :t, :t])[1]


def top_minor_abs_moment(t: int, n: int, p: float = 1.0) -> float:
    """``E |det Ω^{t,t}|^p`` for Ω Haar on O(n), p > -1, in closed form (see :func:`top_minor_abs_mean`).

    ``det(Ω^{t,t})^2`` is a product of independent ``Beta(a_k, b)``, ``a_k = (t-k+1)/2``, ``b = (n-t)/2``,
    k = 1..t, so ``E |det|^p = prod_k B(a_k + p/2, b) / B(a_k, b)``. ``p = 2`` gives ``1 / C(n, t)`` (the
    squared t x t minors of one t-column block of an orthogonal matrix sum to 1 by Cauchy-Binet, and are
    exchangeable), an exact check of the Beta law independent of this formula.
    """
    if not 1 <= t <= n:
        raise ValueError(f"need 1 <= t <= n, got t={t}, n={n}")
    if not p > -1.0:
        raise ValueError(f"the moment of order p={p} needs p > -1 (a_t = 1/2)")
    if t == n:
        return 1.0
    b = (n - t) / 2.0
    a = (t - np.arange(1, t + 1) + 1) / 2.0
    from scipy.special import gammaln

    h = p / 2.0
    logs = gammaln(a + h) + gammaln(a + b) - gammaln(a) - gammaln(a + b + h)
    return float(np.exp(logs.sum()))


def top_minor_abs_mean(t: int, n: int) -> float:
    """``E |det Ω^{t,t}|`` for Ω Haar on O(n), in closed form.

    ``det(Ω^{t,t})^2`` is a product of independent ``Beta((t-k+1)/2, (n-t)/2)``, k = 1..t (the law
    behind ``d_t = -E log |det Ω^{t,t}|``), so ``E |det| = prod_k B(a_k + 1/2, b) / B(a_k, b)``; for
    t = n the minor is ``det Ω = ±1``. Cross-checked against its definition in
    ``tests/test_zeros_exterior.py`` (exact second moment 1/C(n,t), the t = 1 and t = n-1 closed forms,
    Monte Carlo over Haar draws).
    """
    return top_minor_abs_moment(t, n, 1.0)
