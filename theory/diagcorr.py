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

The figures apply rho to ``U_J^T U_A``. An SVD fixes the columns of U only for the nonzero (and
resolved) singular values; past the rank any orthonormal basis of the null space is an equally valid
SVD, and LAPACK's pick is arbitrary. :func:`resolved_rank`, :func:`rotate_free_columns` and
:func:`align_free_columns` expose that freedom, so a statistic can be shown to depend on it or not.
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


# ----------------------------------------------------------------------------------------------
# The freedom of an SVD: columns of U past the (resolved) rank
# ----------------------------------------------------------------------------------------------


def resolved_rank(s, rel_tol: float) -> np.ndarray:
    """Number of singular values above ``rel_tol * s_1``, per matrix (``s``: (..., n), non-increasing).

    Columns of U past this count belong to zero (or, in floating point, unresolved) singular values:
    any orthonormal basis of their span is an equally valid SVD."""
    s = np.asarray(s, dtype=np.float64)
    if s.ndim < 1 or s.shape[-1] < 1:
        raise ValueError(f"s must have a trailing axis of singular values, got shape {s.shape}")
    if not rel_tol > 0:
        raise ValueError(f"rel_tol must be > 0, got {rel_tol}")
    return (s > rel_tol * s[..., :1]).sum(axis=-1)


def _free_cols(U, k):
    U = np.array(U, dtype=np.float64)  # a copy
    if U.ndim < 2 or U.shape[-1] != U.shape[-2]:
        raise ValueError(f"U must be (..., n, n), got shape {U.shape}")
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), U.shape[:-2])
    if np.any(k < 0) or np.any(k > U.shape[-1]):
        raise ValueError(f"ranks must lie in [0, n={U.shape[-1]}]")
    return U, k


def rotate_free_columns(U, k, rng: np.random.Generator) -> np.ndarray:
    """Another valid SVD: for each matrix of ``U`` (..., n, n), columns ``k..n`` (0-based, ``k`` per matrix)
    multiplied by an independent Haar orthogonal matrix; columns ``0..k-1`` are kept bit for bit."""
    U, k = _free_cols(U, k)
    n = U.shape[-1]
    for idx in np.ndindex(*U.shape[:-2]):
        m = n - int(k[idx])
        if m >= 2:  # m = 1: the only freedom is a sign
            q, r = np.linalg.qr(rng.standard_normal((m, m)))
            U[idx][:, n - m:] = U[idx][:, n - m:] @ (q * np.sign(np.diag(r)))
    return U


def align_free_columns(U, k, V) -> np.ndarray:
    """The valid SVD whose free columns best match those of ``V``: columns ``k..n`` of each ``U`` replaced by
    Gram-Schmidt (in order) of the projections of ``V``'s columns ``k..n`` onto span(U[:, :k])^perp.

    For U = U_J and V = U_{A_l} it makes U^T V as diagonal as the fixed columns allow (with
    range J in range A_l, V's null columns lie in U's free span and meet the identity)."""
    U, k = _free_cols(U, k)
    V = np.asarray(V, dtype=np.float64)
    if V.shape != U.shape:
        raise ValueError(f"V must have U's shape {U.shape}, got {V.shape}")
    n = U.shape[-1]
    for idx in np.ndindex(*U.shape[:-2]):
        kk = int(k[idx])
        if kk == n:
            continue
        F = U[idx][:, :kk]
        X = V[idx][:, kk:]
        for _ in range(2):  # "twice is enough": the projection orthogonal to F to working precision
            X = X - F @ (F.T @ X)
        q, r = np.linalg.qr(X)
        U[idx][:, kk:] = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    return U
