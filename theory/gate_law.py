"""Exact law of (r, p)-gates (Definition 5.2) and the rank facts of Lemma C.2.

Exact references for the rejection sampler in :mod:`theory.samplers`: the law of a p-gate
conditioned on rank >= r, by enumeration of the 2^n diagonals with rational p (``Fraction``), and
by binomial sums. Also integer-exact rank and subspace-intersection helpers (Lemma C.2), used as
references independent of floating-point SVD ranks.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import numpy as np


def _check(n: int, r: int, p) -> None:
    if n < 1 or not 0 <= r <= n:
        raise ValueError(f"need n >= 1 and 0 <= r <= n, got n={n}, r={r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must lie in (0, 1], got {p}")


def acceptance(n: int, r: int, p) -> object:
    """P(Bin(n, p) >= r): probability that one p-gate is accepted by the rejection sampler."""
    _check(n, r, p)
    return sum(comb(n, t) * p ** t * (1 - p) ** (n - t) for t in range(r, n + 1))


def rank_law(n: int, r: int, p) -> dict[int, object]:
    """P(rk D = t) for an (r, p)-gate D, t = r..n (binomial conditioned on >= r)."""
    z = acceptance(n, r, p)
    return {t: comb(n, t) * p ** t * (1 - p) ** (n - t) / z for t in range(r, n + 1)}


def pattern_law(n: int, r: int, p) -> dict[tuple[int, ...], object]:
    """P(diag D = pattern) for every 0/1 pattern of an (r, p)-gate (0 for rank < r). Enumerative."""
    _check(n, r, p)
    if n > 16:
        raise ValueError("pattern_law enumerates 2^n patterns; n <= 16")
    raw = {pat: (p ** sum(pat) * (1 - p) ** (n - sum(pat)) if sum(pat) >= r else 0 * p)
           for pat in itertools.product((0, 1), repeat=n)}
    z = sum(raw.values())
    return {pat: w / z for pat, w in raw.items()}


def marginal(n: int, r: int, p) -> object:
    """P(D_11 = 1) for an (r, p)-gate: p P(Bin(n-1, p) >= r-1) / P(Bin(n, p) >= r)."""
    _check(n, r, p)
    num = p * (acceptance(n - 1, max(r - 1, 0), p) if n > 1 else (1 if r <= 1 else 0))
    return num / acceptance(n, r, p)


def chernoff_lower(n: int, r: int, p: float) -> float:
    """Chernoff lower bound on P(Bin(n,p) >= r) for r <= np: 1 - exp(-(np - r)^2 / (2 np))."""
    mu = n * p
    if r > mu:
        return 0.0
    return float(1.0 - np.exp(-((mu - r) ** 2) / (2.0 * mu)))


# --- ranks (Lemma C.2) ---------------------------------------------------------------------------

def exact_rank(m) -> int:
    """Rank of an integer (or Fraction) matrix by exact Gaussian elimination over Q."""
    rows = [[Fraction(int(x)) if not isinstance(x, Fraction) else x for x in row] for row in np.asarray(m, dtype=object)]
    if not rows:
        return 0
    nr, nc = len(rows), len(rows[0])
    rank, col = 0, 0
    while rank < nr and col < nc:
        piv = next((i for i in range(rank, nr) if rows[i][col] != 0), None)
        if piv is None:
            col += 1
            continue
        rows[rank], rows[piv] = rows[piv], rows[rank]
        for i in range(rank + 1, nr):
            f = rows[i][col] / rows[rank][col]
            if f:
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[rank])]
        rank += 1
        col += 1
    return rank


def numerical_rank(m: np.ndarray, rtol: float) -> int:
    """Number of singular values above ``rtol * s_1`` (0 for the zero matrix)."""
    s = np.linalg.svd(np.asarray(m, dtype=np.float64), compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > rtol * s[0]))


def intersection_dim_exact(b1, b2) -> int:
    """dim(span b1 ∩ span b2) = rk b1 + rk b2 - rk [b1 b2], exactly, for integer bases (columns)."""
    b1, b2 = np.asarray(b1, dtype=object), np.asarray(b2, dtype=object)
    return exact_rank(b1) + exact_rank(b2) - exact_rank(np.concatenate([b1, b2], axis=1))
