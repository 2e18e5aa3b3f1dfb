"""Tensor powers of vectors and matrices (Appendix B.1).

Coordinates: a tensor of ``⊗^t R^n`` is stored as its coordinate vector in the induced basis
``e_I = e_{i_1} ⊗ ... ⊗ e_{i_t}``, multi-indices ``I`` in lexicographic order (first slot most
significant). With that ordering the coordinate vector of an elementary tensor is the Kronecker
product of the factors, and ``⊗^t M`` is the ``t``-fold Kronecker power of ``M``.

Two families of functions live here:

* float64 numpy kernels (``tensor_power``, ``elementary_tensor``, ``elementary_defect``) used by
  the numeric checks;
* ring-generic helpers (``tensor_by_expansion``, ``tensor_power_by_expansion``) written with plain
  Python loops over multi-indices, so they work on ints, Fractions and sympy expressions. They apply
  the multilinear relations of Definition B.1 literally and serve as an independent reference for
  the Kronecker kernels (the symbolic claims compare the two).
"""

from __future__ import annotations

import itertools
import math
from functools import reduce

import numpy as np


def _check_t(t: int) -> None:
    if not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"tensor power order t={t!r} must be an integer >= 1")


def multi_indices(n: int, t: int) -> list[tuple[int, ...]]:
    """All ``I = (i_1, ..., i_t)`` in ``{0..n-1}^t``, lexicographic (0-based)."""
    _check_t(t)
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    return list(itertools.product(range(n), repeat=t))


def elementary_tensor(*vectors) -> np.ndarray:
    """Coordinates of ``v_1 ⊗ ... ⊗ v_t`` in the lexicographic basis (e_I)."""
    if not vectors:
        raise ValueError("elementary_tensor needs at least one vector")
    vs = [np.asarray(v, dtype=np.float64).ravel() for v in vectors]
    if len({v.size for v in vs}) != 1:
        raise ValueError(f"factors must have equal length, got {[v.size for v in vs]}")
    return reduce(np.kron, vs)


def tensor_power(m, t: int) -> np.ndarray:
    """``⊗^t M``: the ``n^t x n^t`` matrix of ``⊗^t f`` in the basis (e_I) (Definition B.2)."""
    _check_t(t)
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"tensor_power needs a matrix, got shape {a.shape}")
    return reduce(np.kron, [a] * t)


def tensor_inner(vs, ws) -> float:
    """The induced dot product on elementary tensors: prod_i <v_i, w_i> (Appendix B.1.1)."""
    if len(vs) != len(ws):
        raise ValueError("tensor_inner: both families need the same number of factors")
    return float(np.prod([np.dot(np.ravel(v), np.ravel(w)) for v, w in zip(vs, ws)]))


def elementary_defect(x, n: int, t: int) -> float:
    """How far ``x`` in ``⊗^t R^n`` is from an elementary tensor (0 iff elementary).

    A tensor is elementary iff every mode unfolding has rank <= 1; the defect is the largest second
    singular value over the ``t`` unfoldings, relative to ``||x||``.
    """
    _check_t(t)
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size != n**t:
        raise ValueError(f"x has {x.size} coordinates, expected n^t = {n**t}")
    nrm = np.linalg.norm(x)
    if nrm == 0:
        return 0.0
    cube = x.reshape((n,) * t)
    worst = 0.0
    for k in range(t):
        unf = np.moveaxis(cube, k, 0).reshape(n, -1)
        s = np.linalg.svd(unf, compute_uv=False)
        worst = max(worst, float(s[1]) if s.size > 1 else 0.0)
    return worst / nrm


# -- ring-generic references (ints, Fractions, sympy) ------------------------------------------


def tensor_by_expansion(vectors) -> list:
    """Coordinates of ``v_1 ⊗ ... ⊗ v_t`` obtained by expanding each factor on (e_i) and applying
    the multilinear relations of Definition B.1: coefficient of e_I is prod_k v_k[i_k]."""
    t = len(vectors)
    n = len(vectors[0])
    out = []
    for idx in multi_indices(n, t):
        out.append(math.prod((vectors[k][idx[k]] for k in range(t)), start=1))
    return out


def tensor_power_by_expansion(m, t: int) -> list[list]:
    """The matrix representing ``⊗^t f`` built column by column: column J holds the coordinates of
    ``f(e_{j_1}) ⊗ ... ⊗ f(e_{j_t})`` (computed by :func:`tensor_by_expansion`)."""
    rows = [list(r) for r in m]
    n = len(rows)
    cols = [[rows[i][j] for i in range(n)] for j in range(n)]
    columns = [tensor_by_expansion([cols[j] for j in J]) for J in multi_indices(n, t)]
    return [[columns[c][r] for c in range(len(columns))] for r in range(len(columns))]


def tensor_power_by_formula(m, t: int) -> list[list]:
    """The printed coefficient formula (⊗^t M)_{I,J} = prod_k m_{i_k, j_k}, entry by entry."""
    rows = [list(r) for r in m]
    n = len(rows)
    idx = multi_indices(n, t)
    return [[math.prod((rows[I[k]][J[k]] for k in range(t)), start=1) for J in idx] for I in idx]


def unfolding_by_indices(x, n: int, t: int, k: int) -> list[list]:
    """The mode-``k`` unfolding (0-based slot k) of ``x`` in ``⊗^t R^n`` built index by index from the
    basis (e_I): entry (i_k, I without slot k), the other slots in lexicographic order (any ring). An
    independent reference for the numpy reshapes inside :func:`elementary_defect`."""
    _check_t(t)
    if not 0 <= k < t:
        raise ValueError(f"slot k={k} must lie in [0, {t})")
    x = list(x)
    idx = multi_indices(n, t)
    if len(x) != len(idx):
        raise ValueError(f"x has {len(x)} coordinates, expected n^t = {len(idx)}")
    rest = multi_indices(n, t - 1) if t > 1 else [()]
    pos = {r: c for c, r in enumerate(rest)}
    out = [[0] * len(rest) for _ in range(n)]
    for val, I in zip(x, idx):
        out[I[k]][pos[I[:k] + I[k + 1:]]] = val
    return out

