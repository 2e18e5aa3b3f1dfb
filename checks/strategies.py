"""Hypothesis strategies for the matrices the paper's claims are about.

Matrices are built as ``U diag(s) V^T`` with Haar orthogonal factors drawn from a Hypothesis-chosen
integer seed, and singular values ``s`` chosen by Hypothesis directly, so shrinking drives sizes,
spectra and condition numbers towards the simplest failing case. Every argument is validated up
front with a precise error.

>>> from hypothesis import given
>>> @given(matrices(3, cond=(1, 1e6)))
... def test(m): assert m.shape == (3, 3)
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

SPECTRA = ("spread", "clustered", "repeated", "geometric")


def _size(n) -> st.SearchStrategy[int]:
    if isinstance(n, int):
        if n < 1:
            raise InvalidArgument(f"n={n} must be >= 1")
        return st.just(n)
    if isinstance(n, tuple) and len(n) == 2 and all(isinstance(k, int) for k in n):
        lo, hi = n
        if not 1 <= lo <= hi:
            raise InvalidArgument(f"n={n} must satisfy 1 <= lo <= hi")
        return st.integers(lo, hi)
    if isinstance(n, st.SearchStrategy):
        return n
    raise InvalidArgument(f"n must be an int, a (lo, hi) pair or a strategy, got {n!r}")


def haar_orthogonal_np(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed orthogonal n x n matrix (QR of Ginibre with sign fix, Mezzadri 2007)."""
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    z = rng.standard_normal((n, n))
    q, r = np.linalg.qr(z)
    return q * np.sign(np.diag(r))


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


@st.composite
def orthogonal(draw, n=(1, 6)) -> np.ndarray:
    """Haar orthogonal matrices of size drawn from ``n``."""
    k = draw(_size(n))
    return haar_orthogonal_np(k, np.random.default_rng(draw(seeds())))


@st.composite
def singular_values(draw, k: int, *, cond=(1.0, 1e6), spectrum=SPECTRA, rank=None, scale=(1.0, 1.0)):
    """Non-increasing singular values s_1 >= ... >= s_k >= 0 with s_1/s_rank in ``cond``.

    ``spectrum``: "spread" (log-uniform), "clustered" (two tight clusters), "repeated" (exact ties; with rank 2 a tie means condition 1, so only when ``cond`` admits 1),
    "geometric" (constant ratio — strong separation when cond is large).
    ``rank``: None (full), an int, or "any" (Hypothesis chooses 1..k); trailing values are exact 0.
    ``scale``: range of s_1 (log-uniform), for extreme-scale inputs.
    """
    lo, hi = cond
    if not 1.0 <= lo <= hi:
        raise InvalidArgument(f"cond={cond} must satisfy 1 <= lo <= hi")
    kinds = (spectrum,) if isinstance(spectrum, str) else tuple(spectrum)
    bad = [s for s in kinds if s not in SPECTRA]
    if bad or not kinds:
        raise InvalidArgument(f"spectrum must be among {SPECTRA}, got {spectrum!r}")
    smin, smax = scale
    if not 0 < smin <= smax:
        raise InvalidArgument(f"scale={scale} must satisfy 0 < lo <= hi")
    r = k if rank is None else (draw(st.integers(1, k)) if rank == "any" else int(rank))
    if not 1 <= r <= k:
        raise InvalidArgument(f"rank={rank} must be in [1, {k}]")
    c = draw(st.floats(np.log10(lo), np.log10(hi))) if hi > lo else np.log10(lo)
    top = 10 ** (draw(st.floats(np.log10(smin), np.log10(smax))) if smax > smin else np.log10(smin))
    kind = draw(st.sampled_from(kinds))
    if kind == "geometric" or r == 1:
        logs = -np.linspace(0.0, c, r)
    elif kind == "spread":
        inner = sorted(draw(st.lists(st.floats(0.0, 1.0), min_size=r - 2, max_size=r - 2)), reverse=True)
        logs = -c * np.array([0.0, *[1 - x for x in inner], 1.0])
    elif kind == "clustered":
        split = draw(st.integers(1, r - 1))
        width = draw(st.floats(0.0, 1e-3))
        logs = np.concatenate([-width * np.arange(split) / max(split, 1),
                               -c + width * np.arange(r - split)[::-1] / max(r - split, 1)])
    else:  # repeated: exact ties in two non-empty blocks (one of size >= 2 when r >= 3)
        split = draw(st.integers(1, r - 1))
        if r == 2 and lo == 1.0:
            # Two values tie only by being equal (condition 1): possible only when cond admits 1.
            split = 2
        logs = np.concatenate([np.zeros(split), -c * np.ones(r - split)])
    s = np.sort(top * 10.0 ** logs)[::-1]
    return np.concatenate([s, np.zeros(k - r)])


@st.composite
def matrices(draw, n=(1, 6), m=None, *, cond=(1.0, 1e6), spectrum=SPECTRA, rank=None,
             scale=(1.0, 1.0)) -> np.ndarray:
    """Real n x m matrices ``U diag(s) V^T`` with controlled spectrum (see :func:`singular_values`).

    ``m=None`` gives square matrices. Haar factors make the singular vectors generic.
    """
    rows = draw(_size(n))
    cols = rows if m is None else draw(_size(m))
    k = min(rows, cols)
    s = draw(singular_values(k, cond=cond, spectrum=spectrum, rank=rank, scale=scale))
    rng = np.random.default_rng(draw(seeds()))
    u = haar_orthogonal_np(rows, rng)[:, :k]
    v = haar_orthogonal_np(cols, rng)[:, :k]
    return (u * s) @ v.T


@st.composite
def spd(draw, n=(1, 6), *, cond=(1.0, 1e6), spectrum=SPECTRA, scale=(1.0, 1.0)) -> np.ndarray:
    """Symmetric positive definite matrices ``Q diag(s) Q^T`` with condition number in ``cond``."""
    k = draw(_size(n))
    s = draw(singular_values(k, cond=cond, spectrum=spectrum, scale=scale))
    q = haar_orthogonal_np(k, np.random.default_rng(draw(seeds())))
    a = (q * s) @ q.T
    return (a + a.T) / 2


@st.composite
def gates(draw, n=(1, 6), *, min_rank: int = 0) -> np.ndarray:
    """0/1 diagonal gate vectors (the diagonal of D) of length n with at least ``min_rank`` ones."""
    k = draw(_size(n))
    if not 0 <= min_rank <= k:
        raise InvalidArgument(f"min_rank={min_rank} must be in [0, n={k}]")
    bits = np.array(draw(st.lists(st.booleans(), min_size=k, max_size=k)), dtype=np.float64)
    deficit = min_rank - int(bits.sum())
    if deficit > 0:
        bits[np.flatnonzero(bits == 0)[:deficit]] = 1.0
    return bits


@st.composite
def ginibre(draw, n=(1, 6), m=None, *, sigma: float = 1.0) -> np.ndarray:
    """i.i.d. N(0, sigma^2) matrices (the paper's sigma-Ginibre), seeded by Hypothesis."""
    if not sigma > 0:
        raise InvalidArgument(f"sigma={sigma} must be > 0")
    rows = draw(_size(n))
    cols = rows if m is None else draw(_size(m))
    return sigma * np.random.default_rng(draw(seeds())).standard_normal((rows, cols))
