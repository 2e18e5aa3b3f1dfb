"""The diagonal correlation coefficient rho of Appendix F."""

from __future__ import annotations

import numpy as np


def _weights(a) -> np.ndarray:
    a = np.abs(np.asarray(a, dtype=np.float64))
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"diagonal correlation needs a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("diagonal correlation needs finite entries")
    if a.sum() == 0:
        raise ValueError("diagonal correlation is undefined for the zero matrix")
    return a


def rho_pearson(a) -> float:
    """rho(A) by its definition: Pearson correlation of (X, Y) ~ |A_ij| / sum |A| (1-based indices).

    Undefined (nan) when X or Y is constant (all mass in one row or one column).
    """
    w = _weights(a)
    n = w.shape[0]
    p = w / w.sum()
    idx = np.arange(1, n + 1, dtype=np.float64)
    px, py = p.sum(axis=1), p.sum(axis=0)
    ex, ey = px @ idx, py @ idx
    cov = idx @ p @ idx - ex * ey
    vx, vy = px @ idx**2 - ex**2, py @ idx**2 - ey**2
    if vx <= 0 or vy <= 0:
        return float("nan")
    return float(cov / np.sqrt(vx * vy))


def rho_closed_form(a) -> float:
    """rho(A) by the closed form printed in Appendix F (with r1 = (1..n), r2 = (1^2..n^2))."""
    w = _weights(a)
    n = w.shape[0]
    one = np.ones(n)
    r1 = np.arange(1, n + 1, dtype=np.float64)
    r2 = r1**2
    m = one @ w @ one
    num = m * (r1 @ w @ r1) - (r1 @ w @ one) * (one @ w @ r1)
    den = (m * (r2 @ w @ one) - (r1 @ w @ one) ** 2) * (m * (one @ w @ r2) - (one @ w @ r1) ** 2)
    if den <= 0:
        return float("nan")
    return float(num / np.sqrt(den))


def rho(a) -> float:
    """The diagonal correlation coefficient (Pearson form)."""
    return rho_pearson(a)
