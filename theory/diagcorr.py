"""The diagonal correlation coefficient rho of Appendix F.

rho(A) is the Pearson correlation of the coordinates (X, Y) of a random cell of the n x n
checkerboard drawn with probability |A_ij| / sum |A| (indices 1..n). It is defined iff X and Y are
both non-constant, i.e. iff the support of A meets at least two rows and at least two columns; we
decide that from the support (exactly), never from a rounded variance, and return nan otherwise.

Three evaluations, for cross-checking:

* :func:`rho_pearson` — the definition, with *centred* moments (accurate; no cancellation);
* :func:`rho_closed_form` — the closed form printed in Appendix F (raw moments; loses relative
  accuracy ~ n^4 eps / (sigma_X sigma_Y) through cancellation; evaluated on A / max|A| since its
  denominator, of degree 4 in the entries, overflows for entries ~1e77 otherwise);
* :func:`rho_exact_parts` — exact rational ``(m^2 Cov, m^2 Var X, m^2 Var Y)`` for integer or
  Fraction matrices, so that statements like "rho = 1" can be decided exactly.
"""

from __future__ import annotations

from fractions import Fraction

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


def is_defined(a) -> bool:
    """True iff rho(A) is defined: the support of A meets >= 2 rows and >= 2 columns."""
    w = _weights(a)
    return bool(np.count_nonzero(w.sum(axis=1)) >= 2 and np.count_nonzero(w.sum(axis=0)) >= 2)


def rho_pearson(a) -> float:
    """rho(A) by its definition: Pearson correlation of (X, Y) ~ |A_ij| / sum |A| (1-based indices).

    Centred moments (no cancellation). nan when undefined (all mass in one row or one column).
    """
    w = _weights(a)
    if not is_defined(w):
        return float("nan")
    n = w.shape[0]
    # scale by the largest entry first: sums of entries up to ~1e308 do not overflow
    p = w / w.max()
    p = p / p.sum()
    idx = np.arange(1, n + 1, dtype=np.float64)
    px, py = p.sum(axis=1), p.sum(axis=0)
    dx, dy = idx - px @ idx, idx - py @ idx
    cov = dx @ p @ dy
    vx, vy = px @ dx**2, py @ dy**2
    if vx * vy <= 0:  # only if a dynamic range beyond float64 underflowed part of the support
        return float("nan")
    return float(cov / np.sqrt(vx * vy))


def rho_closed_form(a) -> float:
    """rho(A) by the closed form printed in Appendix F (with r1 = (1..n), r2 = (1^2..n^2)).

    nan when undefined (decided from the support, since the rounded denominator of an undefined
    case need not be exactly 0)."""
    w = _weights(a)
    if not is_defined(w):
        return float("nan")
    # the formula is homogeneous of degree 0; without this scaling the denominator (degree 4 in the
    # entries) overflows for entries of size ~1e77
    w = w / w.max()
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


def rho_exact_parts(a) -> tuple:
    """Exact ``(m^2 Cov(X,Y), m^2 Var X, m^2 Var Y)`` for a matrix of ints/Fractions (absolute values
    taken), m the total mass. rho = c / sqrt(vx vy); rho = 1 iff c > 0 and c^2 = vx vy."""
    rows = [[abs(Fraction(x)) for x in r] for r in a]
    n = len(rows)
    if n == 0 or any(len(r) != n for r in rows):
        raise ValueError("rho_exact_parts needs a non-empty square matrix")
    m = sum(sum(r) for r in rows)
    if m == 0:
        raise ValueError("diagonal correlation is undefined for the zero matrix")
    sx = sum((i + 1) * rows[i][j] for i in range(n) for j in range(n))
    sy = sum((j + 1) * rows[i][j] for i in range(n) for j in range(n))
    sxx = sum((i + 1) ** 2 * rows[i][j] for i in range(n) for j in range(n))
    syy = sum((j + 1) ** 2 * rows[i][j] for i in range(n) for j in range(n))
    sxy = sum((i + 1) * (j + 1) * rows[i][j] for i in range(n) for j in range(n))
    return m * sxy - sx * sy, m * sxx - sx**2, m * syy - sy**2


def rho(a) -> float:
    """The diagonal correlation coefficient (Pearson form)."""
    return rho_pearson(a)
