"""Exterior powers of vectors and matrices (Appendix B.2).

Coordinates: a vector of ``∧^t R^n`` is stored as its coordinate vector in the induced basis
``e_I = e_{i_1} ∧ ... ∧ e_{i_t}``, ``i_1 < ... < i_t``, index sets in lexicographic order
(``itertools.combinations`` order). The coordinates of an elementary wedge ``v_1 ∧ ... ∧ v_t`` are
the ``t x t`` minors ``det V[I, :]`` of the ``n x t`` matrix ``V = [v_1 ... v_t]`` (its Plücker
coordinates), and ``∧^t M`` is the ``t``-th compound matrix ``(det M^{I,J})_{I,J}``.

As in :mod:`theory.tensor`, float64 kernels sit next to ring-generic references written with plain
Python loops (Leibniz determinants; the expansion of a wedge by the relations of Definition B.3),
which work on ints, Fractions and sympy expressions and are used as independent oracles.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def _check_t(t: int) -> None:
    if not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"exterior power order t={t!r} must be an integer >= 1")


def index_sets(n: int, t: int) -> list[tuple[int, ...]]:
    """Increasing index sets ``I = (i_1 < ... < i_t)`` of ``{0..n-1}``, lexicographic; [] if t > n."""
    _check_t(t)
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    return list(itertools.combinations(range(n), t))


def _minors(a: np.ndarray, rows: list, cols: list) -> np.ndarray:
    """det a[I, J] for I in rows, J in cols, batched through LU (numpy)."""
    if not rows or not cols:
        return np.zeros((len(rows), len(cols)))
    r = np.asarray(rows)
    c = np.asarray(cols)
    sub = a[r[:, None, :, None], c[None, :, None, :]]  # (|rows|, |cols|, t, t)
    if sub.shape[-1] == 1:  # 1 x 1 minors are the entries (batched LU would round them)
        return sub[..., 0, 0].copy()
    return np.linalg.det(sub)


def plucker(v) -> np.ndarray:
    """Coordinates of ``v_1 ∧ ... ∧ v_t`` for the columns of the ``n x t`` matrix ``v``."""
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"plucker needs an n x t matrix of column vectors, got shape {a.shape}")
    n, t = a.shape
    _check_t(t)
    return _minors(a, index_sets(n, t), [tuple(range(t))])[:, 0]


def wedge(*vectors) -> np.ndarray:
    """Coordinates of ``v_1 ∧ ... ∧ v_t`` in the lexicographic basis (e_I)."""
    if not vectors:
        raise ValueError("wedge needs at least one vector")
    vs = [np.asarray(v, dtype=np.float64).ravel() for v in vectors]
    if len({v.size for v in vs}) != 1:
        raise ValueError(f"factors must have equal length, got {[v.size for v in vs]}")
    return plucker(np.stack(vs, axis=1))


def exterior_power(m, t: int) -> np.ndarray:
    """``∧^t M``: the compound matrix ``(det M^{I,J})`` (Definition B.4); also for rectangular M."""
    _check_t(t)
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"exterior_power needs a matrix, got shape {a.shape}")
    return _minors(a, index_sets(a.shape[0], t) if t <= a.shape[0] else [],
                   index_sets(a.shape[1], t) if t <= a.shape[1] else [])


def wedge_inner(v, w) -> float:
    """The Gram-determinant dot product ``det(<v_i, w_j>)`` of two elementary wedges given as the
    columns of ``n x t`` matrices (Appendix B.2.1)."""
    a = np.asarray(v, dtype=np.float64)
    b = np.asarray(w, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"wedge_inner needs two n x t matrices of equal shape, got {a.shape}, {b.shape}")
    return float(np.linalg.det(a.T @ b))


def wedge_map(x, n: int, t: int) -> np.ndarray:
    """Matrix of ``v -> v ∧ x`` from R^n to ∧^{t+1} R^n, for ``x`` in ∧^t R^n."""
    x = np.asarray(x, dtype=np.float64).ravel()
    cols = index_sets(n, t)
    if x.size != len(cols):
        raise ValueError(f"x has {x.size} coordinates, expected C({n},{t}) = {len(cols)}")
    pos = {J: k for k, J in enumerate(cols)}
    rows = index_sets(n, t + 1) if t + 1 <= n else []
    out = np.zeros((len(rows), n))
    for r, K in enumerate(rows):
        for p, k in enumerate(K):
            # e_k ∧ e_{K minus k} = (-1)^p e_K: moving e_k past the p smaller indices.
            out[r, k] += (-1) ** p * x[pos[K[:p] + K[p + 1:]]]
    return out


def decomposability_defect(x, n: int, t: int) -> float:
    """How far ``x`` in ∧^t R^n is from an elementary wedge (0 iff elementary, for x != 0).

    A nonzero ``x`` is elementary iff the kernel of ``v -> v ∧ x`` has dimension ``t`` (it is then the
    subspace x represents). The defect is the largest of the ``t`` smallest singular values of that
    map, relative to ``||x||``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    nrm = float(np.linalg.norm(x))
    if nrm == 0 or t >= n:
        return 0.0
    s = np.linalg.svd(wedge_map(x, n, t), compute_uv=False)
    s = np.concatenate([s, np.zeros(max(0, n - s.size))])
    return float(s[n - t]) / nrm


def principal_angles(v, w) -> np.ndarray:
    """Principal angles between span(v) and span(w) (columns), ascending (scipy's sine-accurate
    algorithm)."""
    from scipy.linalg import subspace_angles

    return np.sort(subspace_angles(np.asarray(v, dtype=np.float64), np.asarray(w, dtype=np.float64)))


def subspace_cosine(v, w) -> float:
    """``|<v̂, ŵ>|`` for the normalised wedges of E = span(v), F = span(w) (columns, equal dimension t):
    ``|det(Q_E^T Q_F)|`` with orthonormal bases from QR. It equals prod_i cos θ_i over the principal
    angles — the cosine of the angle between E and F that the induced dot product defines (Appendix B.2.3)."""
    a = np.asarray(v, dtype=np.float64)
    b = np.asarray(w, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"subspace_cosine needs two n x t matrices of equal shape, got {a.shape}, {b.shape}")
    qe, _ = np.linalg.qr(a)
    qf, _ = np.linalg.qr(b)
    return float(abs(np.linalg.det(qe.T @ qf)))


def projector_distance(v, w) -> float:
    """``||P_E - P_F||_2`` for E = span(v), F = span(w) of equal dimension (= sin of the largest
    principal angle); computed as ``||(I - P_F) Q_E||_2`` which is accurate for nearby subspaces."""
    qe, _ = np.linalg.qr(np.asarray(v, dtype=np.float64))
    qf, _ = np.linalg.qr(np.asarray(w, dtype=np.float64))
    resid = qe - qf @ (qf.T @ qe)
    return float(np.linalg.norm(resid, 2)) if resid.size else 0.0


# -- ring-generic references (ints, Fractions, sympy) ------------------------------------------


def perm_sign(p) -> int:
    """Signature of a permutation given as a sequence of distinct sortable items (by inversions)."""
    p = list(p)
    inv = sum(1 for i in range(len(p)) for j in range(i + 1, len(p)) if p[i] > p[j])
    return -1 if inv % 2 else 1


def leibniz_det(a) -> object:
    """Determinant by the Leibniz formula (any commutative ring; fine for t <= 5)."""
    rows = [list(r) for r in a]
    k = len(rows)
    if k == 0:
        return 1
    total = 0
    for p in itertools.permutations(range(k)):
        total += perm_sign(p) * math.prod((rows[i][p[i]] for i in range(k)), start=1)
    return total


def minors_generic(a, t: int) -> list[list]:
    """``∧^t A`` as nested lists of Leibniz minors (any commutative ring)."""
    _check_t(t)
    rows = [list(r) for r in a]
    n, m = len(rows), len(rows[0])
    ri = index_sets(n, t) if t <= n else []
    ci = index_sets(m, t) if t <= m else []
    return [[leibniz_det([[rows[i][j] for j in J] for i in I]) for J in ci] for I in ri]


def plucker_generic(vectors) -> list:
    """Coordinates of ``v_1 ∧ ... ∧ v_t`` as Leibniz minors (any commutative ring)."""
    t = len(vectors)
    n = len(vectors[0])
    return [leibniz_det([[vectors[k][i] for k in range(t)] for i in I]) for I in index_sets(n, t)] \
        if t <= n else []


def wedge_by_expansion(vectors) -> list:
    """Coordinates of ``v_1 ∧ ... ∧ v_t`` obtained from the relations of Definition B.3 alone.

    Expand every factor on (e_i) (multilinearity): v_1 ∧ ... ∧ v_t = sum over all index tuples of
    prod_k v_k[i_k] e_{i_1} ∧ ... ∧ e_{i_t}; a tuple with a repeated index gives 0 (alternation), and
    otherwise sorting it to I = (i_1 < ... < i_t) costs the signature of the sorting permutation
    (skew-symmetry over the t slots). Independent of any determinant routine.
    """
    t = len(vectors)
    n = len(vectors[0])
    sets = index_sets(n, t) if t <= n else []
    pos = {I: k for k, I in enumerate(sets)}
    out = [0] * len(sets)
    for idx in itertools.product(range(n), repeat=t):
        if len(set(idx)) < t:
            continue
        coef = math.prod((vectors[k][idx[k]] for k in range(t)), start=1)
        out[pos[tuple(sorted(idx))]] += perm_sign(idx) * coef
    return out


def exterior_power_by_expansion(m, t: int) -> list[list]:
    """The matrix representing ``∧^t f`` built column by column from the relations: column J holds
    the coordinates of ``f(e_{j_1}) ∧ ... ∧ f(e_{j_t})`` (:func:`wedge_by_expansion`)."""
    rows = [list(r) for r in m]
    n = len(rows)
    cols = [[rows[i][j] for i in range(n)] for j in range(n)]
    columns = [wedge_by_expansion([cols[j] for j in J]) for J in index_sets(n, t)]
    k = len(columns)
    return [[columns[c][r] for c in range(k)] for r in range(k)]


def wedge_map_by_expansion(x, n: int, t: int) -> list[list]:
    """The matrix of ``v -> v ∧ x`` (R^n to ∧^{t+1} R^n) from the relations alone: column k is
    ``sum_J x_J e_k ∧ e_J``, each ``e_k ∧ e_{j_1} ∧ ... ∧ e_{j_t}`` expanded by :func:`wedge_by_expansion`
    inside the (t+1)-dimensional coordinate subspace of K = {k} ∪ J, where it is a multiple of the single
    basis wedge e_K (any commutative ring). An independent reference for :func:`wedge_map`, whose sign
    rule it does not share."""
    sets = index_sets(n, t)
    x = list(x)
    if len(x) != len(sets):
        raise ValueError(f"x has {len(x)} coordinates, expected C({n},{t}) = {len(sets)}")
    rows = index_sets(n, t + 1) if t + 1 <= n else []
    pos = {K: r for r, K in enumerate(rows)}
    out = [[0] * n for _ in range(len(rows))]
    for k in range(n):
        for xJ, J in zip(x, sets):
            if xJ == 0 or k in J:  # a repeated factor gives 0 (alternation)
                continue
            K = tuple(sorted((k,) + J))
            unit = [[int(K.index(i) == c) for c in range(t + 1)] for i in (k,) + J]
            out[pos[K]][k] += xJ * wedge_by_expansion(unit)[0]
    return out
