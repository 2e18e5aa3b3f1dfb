"""Accurate log singular values of deep random products (Section 5, Theorem 5.3).

The engine follows ``J_L = M_L ... M_1`` layer by layer with the QR (Benettin) recursion

    M_l Q_{l-1} = Q_l R_l,      J_L = Q_L T_L,      T_L = R_L ... R_1 (upper trapezoidal),

so the singular values of ``J_L`` are those of ``T_L``. ``T_L`` is *graded*: its rows scale like
``exp(L gamma_i)``, so ``s_k / s_1`` quickly falls far below machine epsilon and any method that
forms ``J_L`` (the naive loop) loses every small singular value. We therefore store ``T_L`` as

    T_L = diag(exp(logt)) N,        N upper trapezoidal with |N_ii| = 1,

update ``logt`` by ``log|R_ii|`` (the Benettin sums) and ``N`` by a bounded, scale-free matrix, so
nothing overflows or underflows at any depth. At a requested depth the singular values of
``diag(t) N`` are computed with high *relative* accuracy:

1. LQ step: ``N = L_N Q^T`` (QR of ``N^T``), so ``s(J_L) = s(diag(t) L_N)``; the off-diagonal
   block below a cut ``c`` is then scaled by ``t_j`` (``j > c``) while the block above is zero.
2. Cut the index range where ``min_{i<c} log t_i - max_{j>=c} log t_j > CUT_NATS``; dropping the
   lower-left coupling across a cut changes every singular value by a relative ``O(e^{-2 CUT_NATS}
   kappa(N)^2)`` (second order in the coupling; see ``_block_svals``).
3. Each block is column-scaled upper triangular ``R_N[b,b] diag(t_b / max t_b)``; LAPACK's
   preconditioned one-sided Jacobi SVD (``dgejsv``, Drmac-Veselic) computes its singular values
   with relative error ``O(eps kappa(N))`` independent of the column scaling.

Gated layers: a gate ``D`` with ``k`` ones keeps ``k`` rows of ``W``; since ``W`` has i.i.d. entries,
only the ``k x k_prev`` entries of ``W`` that meet a nonzero gate row and a nonzero row of
``Q_{l-1}`` influence ``J_L``, and the engine samples exactly those (no rotation invariance is used:
this is the same law as ``theory.samplers.layer`` / ``masked_layer``, not the same random stream).
Rank is tracked exactly: ``rank J_l = min(k_l, rank J_{l-1})`` for Gaussian layers, the rows of
``T`` beyond the rank are exactly zero, and their ``log s`` is ``-inf`` (never NaN).

sigma enters exactly through scale equivariance (``J_L(sigma) = sigma^L J_L(1)``: ``+ L log sigma``).
``method="bartlett"`` (a fast path, off by default) samples each layer's triangular factor directly;
it is valid only because Ginibre layers are right-orthogonally invariant, so checks of that
invariance (or of results resting on it) must use the default ``method="qr"``.

Generated layers are folded in blocks of ``DEFAULT_BLOCK`` = 2 (``block=`` keyword): the first
layer of a block meets the orthogonal factor (ormqr), the second is a plain matmul, then one QR and
one triangular update; the block's rounding is ~eps * kappa(block) instead of eps * kappa(layer),
which the measured worst-sample errors (see DEFAULT_BLOCK) allow for 2 layers but not for 3.

Ungated layers on the CPU (p = 1; the common case of the claims) run the same block recursion one
sample at a time (:func:`_stream_dense_cpu`): Cholesky QR of each block through the OpenBLAS of
numpy's wheels (``theory._openblas``), a triangular-by-triangular update of T between two
diagonal scalings, with the sample's few matrices kept in the core's cache and every call free of
the GIL; ~1.3x faster per core than the batched path at n = 128, same results to rounding
(tests/test_products.py), same layers (per-sample random streams). ``DENSE_CPU_KERNEL = False``,
another device, gates, or no such OpenBLAS select the batched path.

Accuracy (tests/test_products.py, benchmarks/products.py): max |log s_k - mpmath| over all k is
~1e-13 - 1e-11 at n = 16, L = 100 and n = 8, L = 400 (spreads of 200-650 nats) per layer
(``log_svals_of``, ``block=1``) and ~1e-11 - 1e-9 with the default blocks, where the naive product
errs by 150-600; at n = 128 the default blocks have a heavy tail (1 sample in ~200 above 1e-8,
see DEFAULT_BLOCK). Cost per layer and sample at p = 1: one n x n Gaussian draw and one matmul (the
naive loop's work) plus half of a block's factorisation: in the dense kernel a Cholesky QR (syrk,
potrf, trsm) and a triangular product (about 1.5x a plain n x n matmul in all at n = 128), in the
batched path a geqrf, an ormqr and a triangular product (about 2x); gated layers shrink to the
active k x rank block. On the CPU the plain products go through numpy's BLAS (see ``_bmm``).
Measured throughput against the naive loop: ``reports/bench.md``.

Public API: :func:`product_spectrum` (one streaming pass, both outputs), :func:`log_svals`,
:func:`lyapunov_estimates`, :func:`log_svals_of` (given layers), :func:`log_svals_graded`
(the accurate final step alone), :class:`Welford` (streaming mean/var).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy.special import digamma as _digamma

from theory import _openblas, parallel, samplers
from theory._openblas import single_blas_thread  # noqa: F401 (public here since the start)

# Cut threshold (nats) for decoupling graded blocks: relative perturbation ~ exp(-2*CUT_NATS).
CUT_NATS = 20.0
# Largest dynamic range (nats) of one block handed to dgejsv (float64 keeps ~708 nats above 1).
MAX_BLOCK_NATS = 600.0
# Layers multiplied together between two QR steps (generated path, method="qr", block=None).
# Rounding in a block A = M_b ... M_1 Q perturbs J by a relative ~eps * kappa(A) (multiplicative
# perturbation (I + dA A^-1), |dA| ~ eps |A|) instead of eps * kappa(M) per layer. kappa of one
# Ginibre layer has a heavy 1/x tail (P(s_min < t / sqrt(n)) ~ t), so the worst sample is set by
# one bad layer times the typical kappa ~ e^(2 d) (d = _spread_per_layer(n)) of each other layer
# in its block: the worst-sample error grows ~ e^(2 d (b - 1)). Measured max over samples of
# |log s_k - mpmath| (all k): n = 8, L = 400: b = 1: 4e-11, 2: 9e-10, 3: 1.7e-8, 4: 2.1e-8;
# n = 16, L = 100: 8e-12, 2e-11, 1.2e-10; n = 128, L = 100 (vs b = 1): b = 2: 8e-10, 3: 5e-8
# over 16 samples. The tail is heavy: over 128 samples at n = 128, L = 100, b = 2 gives per-sample
# max errors with median 3e-11, 99th percentile 3e-9 and maximum 2.6e-8 (vs b = 1, which agrees
# with an independent Cholesky-QR recursion to 8e-11); a second set of 128 (seed 7, dense kernel
# with UPLO='L' and the separable update) gave median 2.2e-11, 99th percentile 1.2e-9, max 2e-9. So b = 2 is the longest block that keeps
# the small-n mpmath checks (the accuracy target, 1e-8) near 1e-10; at n = 128 about 1 sample in
# 200 exceeds 1e-8. Callers who need that tail bounded pass block=1 (~1.4x slower at p = 1).
DEFAULT_BLOCK = 2
# Longest block accepted from callers (|A| ~ sqrt(n)^b: no overflow for any n we can store).
MAX_BLOCK = 16
# Ungated layers (p = 1) on the CPU go through the per-sample kernel _stream_dense_cpu when the
# OpenBLAS of numpy's wheels is found (theory._openblas); False forces the batched torch path.
DENSE_CPU_KERNEL = True
# Largest spread (nats) of logt for which the dense kernel scales N by two diagonal matrices
# (exp(+-650) stays normal in float64); beyond it it forms S entry by entry.
SEPARABLE_NATS = 1300.0
# Default number of samples streamed together (working memory ~ chunk * n^2 * 8 bytes * few).
DEFAULT_CHUNK = 64

# Phase timer for benchmarks: set to a dict to accumulate seconds per phase (CPU, workers=1),
# keyed by the names in PHASES. What each phase covers, batched path / dense kernel (p = 1, CPU):
# random numbers: gates and Gaussians / Gaussians; products: ormqr with Q and the block's plain
# matmuls / matmuls with the explicit Q and within the block; QR: geqrf / Cholesky QR (syrk, potrf,
# trsm; Householder on breakdown); triangular update: scaled S N / diagonal scalings and trmm;
# final SVD: LQ and blocked dgejsv at each recorded depth (the kernel's re-orthogonalisation too).
PROFILE: dict | None = None
PH_RANDOM, PH_PRODUCTS, PH_QR, PH_UPDATE, PH_FINAL = PHASES = (
    "random numbers", "products with Q and block matmuls", "QR factorisation",
    "triangular update", "final SVD")


class _Timer:
    """Accumulate wall time of a phase into PROFILE (no-op when PROFILE is None)."""

    __slots__ = ("name", "t0")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        if PROFILE is not None:
            self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if PROFILE is not None:
            PROFILE[self.name] = PROFILE.get(self.name, 0.0) + time.perf_counter() - self.t0


# ----------------------------------------------------------------------------------------------
# input validation


def _check_depths(depths) -> list[int]:
    try:
        ds = [int(d) for d in depths]
    except TypeError as exc:
        raise ValueError(f"depths must be a sequence of positive integers, got {depths!r}") from exc
    if len(ds) == 0:
        raise ValueError("depths must be non-empty")
    if any(d != dd for d, dd in zip(ds, depths)) or any(d < 1 for d in ds):
        raise ValueError(f"depths must be positive integers (L >= 1), got {depths!r}")
    if any(b <= a for a, b in zip(ds, ds[1:])):
        raise ValueError(f"depths must be strictly increasing, got {depths!r}")
    return ds


def _check_common(n, batch, p, sigma, r, conditioned, chunk):
    samplers._check_n(n)
    samplers._check_batch(batch)
    if not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
        raise ValueError(f"p must lie in (0, 1], got {p!r}")
    if not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if conditioned:
        if r is None:
            raise ValueError("r is required when conditioned=True ((r, p, sigma)-layers)")
        samplers._check_r(r, n)
    elif r is not None:
        samplers._check_r(r, n)
    if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk must be a positive integer or None, got {chunk!r}")


# ----------------------------------------------------------------------------------------------
# streaming statistics


class Welford:
    """Streaming mean / variance (Welford), elementwise over arrays of a fixed shape.

    ``update(x)`` folds in a batch ``x`` whose leading axis ``axis`` indexes samples (Chan et al.'s
    parallel merge, so chunk sizes do not matter). Non-finite entries (``-inf`` log singular
    values of rank-deficient products) are *not* averaged: they are counted in ``n_nonfinite``
    and the mean/var are over the finite entries of each coordinate.

    >>> w = Welford(); w.update(np.array([[1.0], [3.0]])); w.mean, w.var, w.count
    (array([2.]), array([2.]), array([2]))
    """

    def __init__(self, axis: int = 0):
        self.axis = axis
        self.count = None
        self.mean = None
        self._m2 = None
        self.n_nonfinite = None

    def update(self, x) -> "Welford":
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        x = np.moveaxis(np.asarray(x, dtype=np.float64), self.axis, 0)
        fin = np.isfinite(x)
        nb = fin.sum(axis=0)
        xs = np.where(fin, x, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mb = np.where(nb > 0, xs.sum(axis=0) / np.maximum(nb, 1), 0.0)
            m2b = (np.where(fin, x - mb, 0.0) ** 2).sum(axis=0)
        if self.count is None:
            self.count, self.mean, self._m2 = nb, mb, m2b
            self.n_nonfinite = (~fin).sum(axis=0)
            return self
        na = self.count
        tot = na + nb
        delta = mb - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(tot > 0, nb / np.maximum(tot, 1), 0.0)
        self.mean = self.mean + delta * frac
        self._m2 = self._m2 + m2b + delta ** 2 * na * frac
        self.count = tot
        self.n_nonfinite = self.n_nonfinite + (~fin).sum(axis=0)
        return self

    @property
    def var(self):
        """Unbiased sample variance (NaN where fewer than 2 finite samples)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 1, self._m2 / np.maximum(self.count - 1, 1), np.nan)

    @property
    def se(self):
        """Standard error of the mean."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self.var / self.count)


# ----------------------------------------------------------------------------------------------
# accurate singular values of diag(exp(logt)) N


def _block_svals(logt: np.ndarray, rn: np.ndarray) -> np.ndarray:
    """log singular values of ``R_N diag(exp(logt))`` (upper triangular, m x m), all finite logt.

    ``logt`` need not be sorted. The index range is cut where every earlier scale exceeds every
    later one by CUT_NATS; across such a cut the matrix ``diag(t) R_N^T`` (lower triangular) has
    its off-diagonal block scaled by the smaller ``t_j``, i.e. it is ``E = L21 L11^{-1}``-small with
    ``|E| <~ e^{-CUT_NATS} kappa``, and dropping it perturbs singular values relatively by
    ``O(|E|^2)`` (top block: ``s^2 = eig(L11^T L11 + L21^T L21)``; bottom block: Schur
    complement). Each block goes to dgejsv with its columns scaled into [e^-range, 1].
    """
    m = logt.shape[0]
    if m == 0:
        return np.empty(0)
    pre_min = np.minimum.accumulate(logt)
    suf_max = np.maximum.accumulate(logt[::-1])[::-1]
    natural = (np.flatnonzero(pre_min[:-1] - suf_max[1:] > CUT_NATS) + 1).tolist()
    out = []
    for a, b in zip([0] + natural, natural + [m]):
        lt, r = logt[a:b], rn[a:b, a:b]
        if lt.max() - lt.min() > MAX_BLOCK_NATS:
            # Forced split (rare: hundreds of nats spread over sub-CUT_NATS gaps): the block's range
            # would underflow dgejsv's column scaling. A cut drops the coupling R[:c, c:] t[c:], small
            # only where the later scales are the smaller ones, so first order the columns by
            # decreasing scale: R diag(t) P = (R P) diag(t[p]) and R P = Q R2 (QR; rounding
            # eps * kappa(R), as dgejsv's), so s(R diag(t)) = s(R2 diag(t[p])) with t[p] decreasing.
            # Then cut where the range from the block's start exceeds MAX_BLOCK_NATS (coupling
            # ~e^-gap across the cut, effect second order in it).
            order = np.argsort(-lt, kind="stable")
            lt, r = lt[order], np.linalg.qr(r[:, order], mode="r")
            cuts, c = [0], 0
            while True:
                over = np.flatnonzero(lt[c] - lt[c:] > MAX_BLOCK_NATS)
                if over.size == 0:
                    break
                c += int(over[0])
                cuts.append(c)
            pieces = zip(cuts, cuts[1:] + [b - a])
        else:
            pieces = [(0, b - a)]
        for i, j in pieces:
            if j - i == 1:
                out.append(lt[i] + math.log(abs(r[i, i])))
                continue
            top = lt[i:j].max()
            x = np.asfortranarray(r[i:j, i:j] * np.exp(lt[i:j] - top)[None, :])
            out.extend(_openblas.jacobi_log_svals(x) + top)
    return np.sort(np.asarray(out, dtype=np.float64))[::-1]


def log_svals_graded(logt: torch.Tensor, nmat: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """Accurate log singular values of ``diag(exp(logt)) N`` for a batch.

    ``logt``: (B, m); ``nmat``: (B, m, n) with m <= n (the scaled triangular factor); ``live``:
    (B,) number of leading rows that are nonzero (rows beyond are exactly zero). Returns (B, n)
    descending, ``-inf`` beyond the rank. The LQ step runs on the tensor's device; the blocked
    Jacobi SVD runs on the CPU (LAPACK dgejsv).
    """
    bsz, m, n = nmat.shape
    # LQ of N (QR of N^T): s(diag(t) N) = s(diag(t) R^T) = s(R diag(t)).
    rn = torch.triu(torch.geqrf(nmat.transpose(1, 2))[0][:, :m, :])  # (B, m, m) upper
    rn = rn.cpu().numpy()
    lt = logt.cpu().numpy()
    lv = live.cpu().numpy()
    res = np.full((bsz, n), -np.inf)
    with single_blas_thread():
        for s in range(bsz):
            k = int(lv[s])
            if k > 0:
                res[s, :k] = _block_svals(lt[s, :k], rn[s, :k, :k])
    return torch.from_numpy(res).to(nmat.device)


# ----------------------------------------------------------------------------------------------
# the streaming engine


@dataclass
class ProductSpectrum:
    """Output of :func:`product_spectrum`; both arrays have shape (len(depths), batch, n).

    ``log_svals[j, b, k]``: log s_{k+1}(J_L) at L = depths[j] for sample b (descending, -inf
    beyond the rank). ``benettin[j, b, k]``: (1/L) sum_l log|R_l[k,k]| (Benettin's estimate of
    gamma_{k+1}; -inf beyond the rank). ``rank[j, b]``: exact rank of J_L.
    """

    depths: list
    log_svals: torch.Tensor
    benettin: torch.Tensor
    rank: torch.Tensor


class _State:
    """Scaled QR state of a chunk: J = P Q T, T = diag(exp(logt)) N, rows of T >= live exactly 0.

    ``h, tau``: compact Householder QR (torch.geqrf) of the last A (B, K, m) whose rows >= k[b]
    are exactly zero; Q = first mn = min(K, m) columns of H_1...H_mn, living on the K active rows
    of the last gate (P embeds them in R^n; never needed, since only s(T) matters).
    """

    def __init__(self, h, tau, k, logt, nmat, live):
        self.h = h  # (B, K, m)
        self.tau = tau  # (B, mn)
        self.k = k  # (B,) active rows of the last layer
        self.logt = logt  # (B, mn): Benettin log-scales, -inf on dead rows
        self.nmat = nmat  # (B, mn, n): scaled triangular factor, |N_ii| = 1 on live rows
        self.live = live  # (B,): exact rank of J
        self.logr = None  # (B, mn): log|R_ii| of the last folded factor, -inf on dead rows

    @property
    def spread(self) -> float:
        """Median over samples of max - min log|R_ii| over the live rows of the last factor."""
        if self.logr is None or self.logr.shape[1] < 2:
            return 0.0
        fin = torch.isfinite(self.logr)
        hi = torch.where(fin, self.logr, torch.full_like(self.logr, -math.inf)).amax(dim=1)
        lo = torch.where(fin, self.logr, torch.full_like(self.logr, math.inf)).amin(dim=1)
        sp = torch.where(fin.sum(1) >= 2, hi - lo, torch.zeros_like(hi))
        return float(sp.median())

    @property
    def mn(self) -> int:
        return self.logt.shape[1]

    def q(self) -> torch.Tensor:
        """Explicit (B, K, mn) Q; rows >= k zeroed (they hold identity columns of dead rows)."""
        # Q[:, :mn] = (H_1 ... H_mn)[:, :mn]: later reflectors fix e_j for j < mn
        q = torch.linalg.householder_product(self.h[:, :, :self.mn], self.tau[:, :self.mn])
        return _mask_rows(q, self.k)


def _mask_rows(x: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Zero rows index >= count[b] of the (B, rows, cols) tensor x."""
    keep = torch.arange(x.shape[1], device=x.device).unsqueeze(0) < count.unsqueeze(1)
    return x * keep.unsqueeze(-1).to(x.dtype)


def _mask_cols(x: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Zero columns index >= count[b] of the (B, rows, cols) tensor x."""
    keep = torch.arange(x.shape[2], device=x.device).unsqueeze(0) < count.unsqueeze(1)
    return x * keep.unsqueeze(1).to(x.dtype)


def _bmm(x: torch.Tensor, y: torch.Tensor, colmajor: bool = False) -> torch.Tensor:
    """Batched x @ y in float64. On the CPU through numpy's BLAS: numpy's wheels ship OpenBLAS,
    measured 1.3-1.7x faster than torch's MKL at n = 128 on the AMD machines we run on, and
    numpy releases the GIL, so chunks on worker threads overlap. ``colmajor``: each result matrix
    is column-major (the layout geqrf works in; saves a copy there). Other devices: torch."""
    if x.device.type != "cpu":
        return x @ y
    if colmajor:  # (y^T x^T)^T: a row-major product of the transposes, viewed back
        out = np.matmul(y.numpy().swapaxes(1, 2), x.numpy().swapaxes(1, 2))
        return torch.from_numpy(out).transpose(1, 2)
    return torch.from_numpy(np.matmul(x.numpy(), y.numpy()))


def _trimul(s: torch.Tensor, nmat: torch.Tensor, w: int = 32) -> torch.Tensor:
    """s @ nmat for upper-trapezoidal s (B, a, b) and nmat (B, b, c), skipping the zero blocks.

    Column block J of the product only needs the leading min(b, end_J) rows of nmat and the
    leading min(a, end_J) rows of the result (both factors are upper trapezoidal): ~2x fewer
    flops than a dense bmm for square factors, ~1.6x faster at n = 128 on one core."""
    a, b, c = s.shape[1], s.shape[2], nmat.shape[2]
    if b <= 2 * w:
        return _bmm(s, nmat)
    out = torch.zeros(s.shape[0], a, c, dtype=s.dtype, device=s.device)
    for j0 in range(0, c, w):
        j1 = min(c, j0 + w)
        e, er = min(b, j1), min(a, j1)
        out[:, :er, j0:j1] = _bmm(s[:, :er, :e], nmat[:, :e, j0:j1])
    return out


def _fold(a: torch.Tensor, k: torch.Tensor, state: _State | None,
          kmin: torch.Tensor | None = None) -> _State:
    """Fold A = (active rows of M_l) Q_{l-1} (B, K, m; rows >= k[b] exactly zero) into the state.

    Householder QR keeps zero rows at the bottom exactly zero (each reflector is supported on the
    nonzero rows), so R's rows >= k are exactly zero and rank J_l = min(k, rank J_{l-1}) exactly.
    For a block A = M_{l+b} ... M_{l+1} Q_l (see ``_stream_chunk``) ``kmin`` is the smallest active
    row count in the block: the block has rank min(kmin, rank J_l) exactly, R's rows from there
    to ``k`` are roundoff (O(eps |A|)) and are declared dead like the exact zero rows.
    """
    bsz, kk, m = a.shape
    with _Timer(PH_QR):
        h, tau = torch.geqrf(a)
    mn = min(kk, m)
    return _fold_r(torch.triu(h[:, :mn, :]), k if kmin is None else kmin, state, h, tau, k)


def _fold_r(r: torch.Tensor, rank_bound: torch.Tensor, state: _State | None, h=None, tau=None,
            k: torch.Tensor | None = None) -> _State:
    """Fold the triangular factor r (B, mn, m) of the new layer(s) into T.

    ``rank_bound[b]``: the new factor has rank <= rank_bound[b] (rows >= it are zero or roundoff
    and are dropped); ``k[b]`` (default ``rank_bound``): rows of the factored A that are nonzero
    (kept with h, tau to mask Q's dead rows in the next product)."""
    tu = _Timer(PH_UPDATE).__enter__()
    k = rank_bound if k is None else k
    mn, m = r.shape[1], r.shape[2]
    prev_live = state.live if state is not None else torch.full_like(k, m)
    live = torch.minimum(rank_bound, prev_live).clamp(max=mn)
    absd = torch.diagonal(r, dim1=-2, dim2=-1).abs()
    # An exactly zero pivot that is not already dead (possible only for given layers, e.g. a
    # zero column in the first layer that the column sort did not move): that index and all
    # later ones are dead (log = -inf), never NaN. Roundoff-level pivots are kept: they may be
    # legitimate (strongly graded layers) and only ever feed trailing rows.
    idx = torch.arange(mn, device=r.device).unsqueeze(0)
    first_zero = torch.where(absd == 0, idx, torch.full_like(idx, mn)).amin(dim=1)
    live = torch.minimum(live, first_zero)
    alive = idx < live.unsqueeze(1)  # (B, mn)
    all_alive = bool(alive.all())
    if all_alive:
        logr = torch.log(absd)
    else:
        logr = torch.where(alive, torch.log(torch.where(alive, absd, torch.ones_like(absd))),
                           torch.full_like(absd, -math.inf))
    if state is None:
        logt = logr
        nmat = r.div_(torch.where(alive, absd, torch.ones_like(absd)).unsqueeze(-1))  # m == n
    else:
        # N_new = S N, S_ik = (R_ik / |R_ii|) exp(logt_k - logt_i) = R_ik exp(logt_k - logt_new_i):
        # bounded and scale-free (exp(-inf) = 0 on dead k; dead rows i are zeroed below).
        lt_old = state.logt
        logt = lt_old[:, :mn] + logr if all_alive else torch.where(alive, lt_old[:, :mn] + logr, logr)
        lt_i = logt if all_alive else torch.where(alive, logt, torch.zeros_like(logt))
        smat = lt_old.unsqueeze(1) - lt_i.unsqueeze(2)  # (B, mn, m)
        smat.clamp_(max=700.0).exp_().mul_(r)
        nmat = _trimul(smat, state.nmat)
    if not all_alive:
        nmat.mul_(alive.unsqueeze(-1).to(nmat.dtype))
        # rows dead in every sample of the chunk carry nothing: drop them (smaller m next layer;
        # Q's matching columns then only meet dead rows and are sliced away)
        top = int(live.max())
        if 0 < top < mn:
            logt, nmat, alive = logt[:, :top], nmat[:, :top], alive[:, :top]
    tu.__exit__()
    out = _State(h, tau, k, logt, nmat, live)
    out.logr = logr
    return out


class _Draws:
    """Random numbers of one chunk of ``bsz`` samples. CPU: each sample's Gaussians come from its
    own stream (numpy's ziggurat on an SFC64 bit generator, about 2x faster than torch's float64
    randn there and 1.3x faster than PCG64; streams spawned from the chunk's seed), so a layer is
    the same whether it is drawn for the whole chunk at once (batched path) or sample by sample
    (dense kernel). CUDA: torch.randn. Gates: a torch generator. Everything is seeded from one
    integer drawn from the caller's generator, so a chunk's draws do not depend on the order in
    which chunks run."""

    def __init__(self, seed: int, device: torch.device, bsz: int):
        self.device = device
        self.tgen = torch.Generator(device=device).manual_seed(seed)
        self.np_any = np.random.Generator(np.random.SFC64(seed))  # Bartlett factors (any device)
        self.rows = ([np.random.Generator(np.random.SFC64(ss))
                      for ss in np.random.SeedSequence(seed).spawn(bsz)]
                     if device.type == "cpu" else None)

    def normal(self, shape) -> torch.Tensor:
        """(bsz, ...) standard Gaussians; on the CPU row b from sample b's stream."""
        if self.rows is not None:
            if shape[0] != len(self.rows):
                raise ValueError(f"draws for {len(self.rows)} samples, asked for {shape}")
            out = np.empty(shape)
            for b, rng in enumerate(self.rows):
                rng.standard_normal(out=out[b])
            return torch.from_numpy(out)
        return torch.randn(shape, generator=self.tgen, dtype=torch.float64, device=self.device)


def _record(j, ell, state, out_s, out_b, out_r, log_sigma=0.0):
    m = state.logt.shape[1]
    out_b[j, :, :m] = state.logt / ell + log_sigma
    out_s[j] = log_svals_graded(state.logt, state.nmat, state.live) + ell * log_sigma
    out_r[j] = state.live


def _bartlett_r(draws: "_Draws", k: torch.Tensor, kmax: int, m: int) -> torch.Tensor:
    """R factor of QR of a (kmax x m) Gaussian whose rows >= k[b] are zero, sampled directly
    (Bartlett): R_ii ~ chi_{k-i} (0-based i < min(k, m)), R_ij ~ N(0, 1) for i < j, rows >= k zero.
    """
    bsz = k.shape[0]
    mn = min(kmax, m)
    iu = torch.triu_indices(mn, m, offset=1)
    # drawn on the CPU from the chunk's numpy generator on every device (reproducible)
    rng = draws.np_any
    r = torch.zeros(bsz, mn, m, dtype=torch.float64)
    r[:, iu[0], iu[1]] = torch.from_numpy(rng.standard_normal((bsz, iu.shape[1])))
    df = (k.cpu().unsqueeze(1) - torch.arange(mn).unsqueeze(0)).clamp(min=0).to(torch.float64)
    chi2 = torch.from_numpy(rng.chisquare(np.maximum(df.numpy(), 1.0)))
    idx = torch.arange(mn)
    r[:, idx, idx] = torch.sqrt(chi2)
    r = r * (df > 0).unsqueeze(-1).to(r.dtype)  # rows >= k are zero
    return r.to(draws.device)


def _spread_per_layer(m: int) -> float:
    """E[log|R_11| - log|R_mm|] of one m x m Ginibre layer: (1/2)[psi(m/2) - psi(1/2)]
    (Bartlett: R_ii^2 ~ chi^2_{m-i+1}); equals theory.lyapunov.d(1, m) = gamma_1 - gamma_m."""
    return 0.5 * float(_digamma(m / 2.0) - _digamma(0.5)) if m > 1 else 0.0


def _block_len(m: int, observed: float = 0.0) -> int:
    """Layers per re-orthogonalisation (block=None): DEFAULT_BLOCK, or 1 where the spread per
    layer observed in the previous block's pivots (median over the chunk; it fluctuates by ~15%
    around d = _spread_per_layer(m) for Ginibre layers) exceeds 1.25 d + 0.5, i.e. where the
    layers are worse conditioned than the error budget assumes (a safety net)."""
    return 1 if observed > 1.25 * _spread_per_layer(m) + 0.5 else DEFAULT_BLOCK


def _draw_layer(draws: _Draws, n, bsz, p, r, conditioned, cols):
    """One generated layer in compressed form: (k, g) with k (B,) active gate rows and g
    (B, kmax, cols) standard Gaussians, rows >= k[b] zeroed.

    Only the number of active gate rows matters: W has i.i.d. entries, so the rows of W met by
    the gate and the columns met by the support of the previous factor are an i.i.d. Gaussian
    block (same law as samplers.layer, not the same stream)."""
    dev = draws.device
    with _Timer(PH_RANDOM):
        if p >= 1.0:
            k = torch.full((bsz,), n, dtype=torch.long, device=dev)
        elif conditioned:
            k = samplers.rp_gate(bsz, n, r, p, draws.tgen).sum(1).round().long()
        else:
            k = samplers.p_gate(bsz, n, p, draws.tgen).sum(1).round().long()
        kmax = max(int(k.max()), 1)
        if cols is None:  # Bartlett fast path: no Gaussian block
            return k, kmax
        # standard Gaussians; sigma enters exactly as + L log(sigma) (J_L(sigma) = sigma^L J_L(1))
        # drawn as (cols, kmax) and transposed: column-major, the layout LAPACK (ormqr, geqrf)
        # works in, which saves a copy per call; the entries are i.i.d., so the law is the same
        g = draws.normal((bsz, cols, kmax)).to(dev).transpose(1, 2)
        if p < 1.0:
            g.mul_((torch.arange(kmax, device=dev).unsqueeze(0) < k.unsqueeze(1))
                   .unsqueeze(-1).to(g.dtype))
    return k, g


def _dense_kernel_applies(p, method, device) -> bool:
    return (DENSE_CPU_KERNEL and _openblas.LIB is not None and method == "qr" and p >= 1.0
            and device.type == "cpu")


def _stream_dense_cpu(*, n, depths, bsz, sigma, draws: _Draws, r, conditioned, block=None):
    """``_stream_chunk`` for ungated layers (p = 1) on the CPU, one sample at a time.

    The same block recursion as the batched path, with changes that keep each sample's few
    n x n matrices in the core's cache and every call free of the GIL (``theory._openblas``):

    * each block A = M_{l+b} ... M_{l+1} Q_l is factored by Cholesky QR (R from the Cholesky
      factor of A^T A, Q = A R^-1 by a triangular solve) instead of Householder QR; Q is carried
      explicitly, so the next block's first product is a plain matmul instead of an ormqr;
    * the triangular update T <- R T is ``_openblas.Dense.trmm_tri`` (both factors triangular),
      with the scaling of N applied as two diagonal scalings, N <- D_a R D_b N with
      b_k = exp(logt_k - c), a_i = exp(c - logt_new_i), instead of forming
      S_ik = R_ik exp(logt_k - logt_new_i) entry by entry (n^2 exponentials). That needs every
      |logt - c| below ~650 nats (no overflow, no subnormals), i.e. a spread of logt up to
      SEPARABLE_NATS; beyond it S is formed entry by entry as in ``_fold_r``.

    Q = A R^-1 is orthogonal only to ~eps kappa(A)^2, but J_l = Q_l T_l holds to rounding whatever
    Q_l's orthogonality (each block re-factors A = M Q_l exactly), and a nearly orthogonal Q_l only
    scales the next block's rounding by kappa(Q_l) ~ 1. So the rounding per block stays ~eps
    kappa(A), as with Householder. At a requested depth Q_L is re-orthogonalised by a second
    Cholesky QR, Q_L = Q' R' (``CholeskyQR2``: Q' is orthogonal to ~eps since kappa(Q_L) ~ 1), and
    T <- R' T; QR being unique up to signs, the recorded T (and its diagonal, the Benettin sums)
    is then the Householder recursion's to rounding. Where the Cholesky factorisation breaks down
    (kappa(A) >~ 1e8, or an exactly singular block) that sample's block is factored by Householder
    QR instead. Sample s's layers come from its own stream (``draws.rows[s]``) in layer order, as in
    ``_stream_chunk``, so both paths see the same layers.
    """
    ell_max = depths[-1]
    nd = len(depths)
    out_s = torch.full((nd, bsz, n), -math.inf, dtype=torch.float64)
    out_b = torch.full((nd, bsz, n), -math.inf, dtype=torch.float64)
    out_r = torch.zeros((nd, bsz), dtype=torch.long)
    # every array holds the transpose of its matrix (column-major for LAPACK; see _openblas)
    qc = [np.empty((n, n)) for _ in range(bsz)]  # Q_l per sample (swapped with zc, not copied)
    nc = np.zeros((bsz, n, n))  # N per sample (T = diag(exp(logt)) N); strict lower part zero
    logt = np.zeros((bsz, n))
    zc, tc, gc, wc = (np.zeros((n, n)) for _ in range(4))
    sc = None  # S, formed only beyond SEPARABLE_NATS
    ops, ptr = _openblas.Dense(n), _openblas.ptr
    pg = ptr(gc)
    an = [x.ctypes.data for x in nc]  # fixed addresses of the N buffers
    diag = np.arange(n) * (n + 1)  # flat indices of the diagonal
    spreads = np.zeros(bsz)
    prof = PROFILE is not None
    tm = dict.fromkeys((PH_RANDOM, PH_PRODUCTS, PH_QR, PH_UPDATE), 0.0)
    clock = time.perf_counter

    def factor(z):
        """Z = Q R: Q into z in place, R into gc's upper triangle (Householder on breakdown)."""
        if ops.cholqr(ptr(z), pg) != 0:
            h, tau = torch.geqrf(torch.from_numpy(z).T)
            gc[:] = torch.triu(h).numpy()
            z[:] = torch.linalg.householder_product(h, tau).T.numpy()

    def fold(s, init):
        """T_s <- R T_s (R: upper triangle of gc); returns the spread of log|R_ii|."""
        nonlocal sc
        lr = np.log(np.abs(gc.take(diag)))
        lo, hi = float(lr.min()), float(lr.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise FloatingPointError("dense kernel: zero or non-finite pivot in a Gaussian "
                                     "block (not expected with probability 1)")
        x = nc[s]
        if init:  # N = diag(1 / |R_ii|) R (gc holds R in its upper triangle, x holds N^T)
            np.divide(np.triu(gc).T, np.exp(lr), out=x)
            new = lr
        else:
            old = logt[s]
            new = old + lr
            # range of old and new together, bounded without a pass over new
            c_lo, c_hi = float(old.min()) + min(lo, 0.0), float(old.max()) + max(hi, 0.0)
            if c_hi - c_lo <= SEPARABLE_NATS:
                c = 0.5 * (c_lo + c_hi)
                x *= np.exp(old - c)  # rows of N (the array's columns) by b
                ops.trmm_tri(pg, an[s])
                x *= np.exp(c - new)
            else:  # S_ik = R_ik exp(logt_k - logt_new_i), as in _fold_r; held like R (sc = S)
                if sc is None:
                    sc = np.zeros((n, n))
                with np.errstate(over="ignore", invalid="ignore"):  # unread lower triangle only
                    np.subtract(old[None, :], new[:, None], out=sc)
                    np.minimum(sc, 700.0, out=sc)
                    np.exp(sc, out=sc)
                    sc *= gc
                ops.trmm_tri(ptr(sc), an[s])
        logt[s] = new
        return hi - lo

    ell, j, observed, first = 0, 0, 0.0, True
    log_sigma = math.log(sigma)
    while ell < ell_max:
        nb = block if block is not None else _block_len(n, observed)
        nb = min(nb, depths[j] - ell)
        ell += nb
        for s in range(bsz):
            rng = draws.rows[s]
            for i in range(nb):
                # the array drawn is the layer's transpose, as in _draw_layer: sample s's stream
                # yields the same layers here as there
                t0 = clock() if prof else 0.0
                rng.standard_normal(out=zc if i == 0 and first else wc)
                if prof:
                    t1 = clock()
                    tm[PH_RANDOM] += t1 - t0
                if i == 0 and not first:  # A = M Q: array (M Q)^T = Q^T M^T
                    np.matmul(qc[s], wc, out=zc)
                elif i > 0:
                    np.matmul(zc, wc, out=tc)
                    zc, tc = tc, zc
                if prof:
                    tm[PH_PRODUCTS] += clock() - t1
            t0 = clock() if prof else 0.0
            factor(zc)
            qc[s], zc = zc, qc[s]  # the new Q; the old one is scratch
            if prof:
                t1 = clock()
                tm[PH_QR] += t1 - t0
            spreads[s] = fold(s, first)
            if prof:
                tm[PH_UPDATE] += clock() - t1
        first = False
        if block is None:
            observed = float(np.median(spreads)) / nb
        if ell == depths[j]:
            with _Timer(PH_FINAL):
                for s in range(bsz):  # Q_L = Q' R' (Cholesky QR again), T <- R' T
                    factor(qc[s])
                    fold(s, False)
                lt = torch.from_numpy(logt)
                out_b[j] = lt / ell + log_sigma
                full = torch.full((bsz,), n, dtype=torch.long)
                out_s[j] = log_svals_graded(lt, torch.from_numpy(nc).transpose(1, 2), full)
                out_s[j] += ell * log_sigma
                out_r[j] = n
            j += 1
    if prof:
        for k, v in tm.items():  # PROFILE is for workers=1 runs (see above)
            PROFILE[k] = PROFILE.get(k, 0.0) + v
    return out_s, out_b, out_r


def _stream_chunk(*, n, depths, bsz, p, sigma, draws: _Draws, r, conditioned, apply_q="ormqr",
                  method="qr", block=None):
    """Run one chunk of generated layers; returns (log_svals, benettin, rank) for that chunk.

    method="qr": layers are taken in blocks of b (``block``, or ``_block_len`` when None; a block
    always ends at a requested depth). The first layer of a block meets the orthogonal factor
    (ormqr), the others are plain matmuls onto it, then one QR and one triangular update fold the
    block: M_{l+b} ... M_{l+1} Q_l = Q_{l+b} R, T <- R T. QR is unique, so R is the product of
    the per-layer factors and the Benettin sums are unchanged; the block's rounding enters with
    relative size ~ eps * kappa(block) (see DEFAULT_BLOCK). Draws are consumed layer by layer in the
    same order whatever the block length, so every block length sees the same layers.
    """
    dev = draws.device
    if _dense_kernel_applies(p, method, dev):
        return _stream_dense_cpu(n=n, depths=depths, bsz=bsz, sigma=sigma, draws=draws, r=r,
                                 conditioned=conditioned, block=block)
    nd = len(depths)
    out_s = torch.full((nd, bsz, n), -math.inf, dtype=torch.float64, device=dev)
    out_b = torch.full((nd, bsz, n), -math.inf, dtype=torch.float64, device=dev)
    out_r = torch.zeros((nd, bsz), dtype=torch.long, device=dev)
    state = None
    j = 0
    ell = 0
    observed = 0.0  # log-spread per layer of the last block's live pivots (median over samples)
    while ell < depths[-1]:
        if method == "bartlett":
            ell += 1
            k, kmax = _draw_layer(draws, n, bsz, p, r, conditioned, None)
            with _Timer(PH_RANDOM):
                rfac = _bartlett_r(draws, k, kmax, n if state is None else state.mn)
            state = _fold_r(rfac, k, state)
        else:
            m = n if state is None else state.mn
            nb = block if block is not None else _block_len(m, observed)
            nb = min(nb, depths[j] - ell)
            a = kmin = None
            for _ in range(nb):
                ell += 1
                cols = n if (state is None and a is None) else (a.shape[1] if a is not None
                                                                 else state.h.shape[1])
                k, g = _draw_layer(draws, n, bsz, p, r, conditioned, cols)
                with _Timer(PH_PRODUCTS):
                    if a is not None:
                        # a's rows >= k of the previous layer are exactly zero: plain product
                        a = _bmm(g, a, colmajor=True)
                    elif state is None:
                        a = g
                    else:
                        if p < 1.0:  # Q's rows >= k_prev hold identity columns of dead rows
                            g.mul_((torch.arange(cols, device=dev).unsqueeze(0)
                                    < state.k.unsqueeze(1)).unsqueeze(1).to(g.dtype))
                        if apply_q == "ormqr":
                            a = torch.ormqr(state.h, state.tau, g, left=False)[:, :, :state.mn]
                        else:
                            a = g @ torch.linalg.householder_product(state.h[:, :, :state.mn],
                                                                     state.tau)
                kmin = k if kmin is None else torch.minimum(kmin, k)
            state = _fold(a, k, state, kmin)
            if block is None:
                observed = state.spread / nb
        if ell == depths[j]:
            with _Timer(PH_FINAL):
                _record(j, ell, state, out_s, out_b, out_r, math.log(sigma))
            j += 1
    return out_s, out_b, out_r


def chunk_task(t: dict):
    """One chunk of :func:`product_spectrum` as a pure function of its arguments (its own seed):
    ``(log_svals, benettin, rank)`` for ``t["bsz"]`` samples. Module-level so a scheduler can ship it."""
    with single_blas_thread():
        return _stream_chunk(n=t["n"], depths=t["depths"], bsz=t["bsz"], p=t["p"], sigma=t["sigma"],
                             draws=_Draws(t["seed"], torch.device(t["device"]), t["bsz"]), r=t["r"],
                             conditioned=t["conditioned"], method=t["method"], block=t["block"])


def product_spectrum(*, n: int, depths: Sequence[int], batch: int, p: float, sigma: float,
                     gen: torch.Generator, r: int | None = None, conditioned: bool = True,
                     chunk: int | None = None, workers: int = 1,
                     method: str = "qr", block: int | None = None) -> ProductSpectrum:
    """Log singular values and Benettin estimates of ``J_L = M_L ... M_1`` at every L in ``depths``.

    One streaming pass over ``depths[-1]`` layers, batched over ``batch`` samples processed
    ``chunk`` at a time (working memory independent of ``batch``); ``workers`` > 1 runs chunks in
    that many threads (torch and LAPACK release the GIL). Layers are (r, p, sigma)-layers
    (Definition 5.2, rejection-conditioned gates) if ``conditioned`` else unconditioned p-gated
    Ginibre layers; ``p = 1`` means no gating. float64 on ``gen.device``; the final blocked Jacobi
    SVD of each requested depth runs on the CPU. Draws are a deterministic function of ``gen``'s
    state and ``chunk`` (one seed per chunk is drawn from ``gen``), not of ``workers``. A QR block
    always ends at a requested depth, so the values at one depth can move in their last digits
    (~1e-12 relative, a block's rounding) when other depths are requested too; the same depths,
    seed and ``chunk`` give bit-identical output.

    ``method="qr"`` (default) multiplies every layer into the orthogonal factor: it uses nothing
    but the definition of the layers. ``method="bartlett"`` is a fast path that samples each
    layer's triangular factor directly (Bartlett decomposition of a Gaussian block), which is
    valid *because* Ginibre layers are right-orthogonally invariant (the property Lemma C.2
    uses); it is about 2-4x faster but must not be used by a check of that invariance or of
    anything derived from it.

    ``block`` (``method="qr"`` only): layers multiplied together between two QR steps. ``None``
    (default): ``DEFAULT_BLOCK`` = 2 (worst-sample error ~1e-9 in log s_k, about 1.5x faster
    than ``block=1`` at n = 128 on one thread), or 1 where the observed pivots are worse than Ginibre; ``1`` re-orthogonalises after
    every layer (~1e-11). Larger blocks lose accuracy like eps * kappa(block), i.e. exponentially
    in the block length (see DEFAULT_BLOCK); at most MAX_BLOCK.
    The layers drawn do not depend on ``block``.

    >>> g = torch.Generator().manual_seed(0)
    >>> ps = product_spectrum(n=4, depths=[1, 10], batch=3, p=0.5, sigma=1.0, gen=g, r=1)
    >>> tuple(ps.log_svals.shape)
    (2, 3, 4)
    """
    depths = _check_depths(depths)
    _check_common(n, batch, p, sigma, r, conditioned, chunk)
    chunk = chunk or DEFAULT_CHUNK
    if method not in ("qr", "bartlett"):
        raise ValueError(f"method must be 'qr' or 'bartlett', got {method!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int)
                              or not 1 <= block <= MAX_BLOCK):
        raise ValueError(f"block must be an integer in [1, {MAX_BLOCK}] or None, got {block!r}")
    dev = gen.device
    nd = len(depths)
    starts = list(range(0, batch, chunk))
    # one seed per chunk, drawn up front: results do not depend on workers or scheduling
    seeds = torch.randint(0, 2 ** 62, (len(starts),), generator=gen, device=dev).tolist()
    ls = torch.empty((nd, batch, n), dtype=torch.float64, device=dev)
    bn = torch.empty((nd, batch, n), dtype=torch.float64, device=dev)
    rk = torch.empty((nd, batch), dtype=torch.long, device=dev)
    tasks = [dict(n=n, depths=depths, bsz=min(chunk, batch - start), p=float(p), sigma=float(sigma),
                  seed=int(seeds[ci]), device=str(dev), r=r, conditioned=conditioned, method=method, block=block)
             for ci, start in enumerate(starts)]

    def place(ci, out):
        s, b, k = out
        start, bsz = starts[ci], tasks[ci]["bsz"]
        ls[:, start:start + bsz] = s.to(dev)
        bn[:, start:start + bsz] = b.to(dev)
        rk[:, start:start + bsz] = k.to(dev)

    if workers == 1:
        # Chunks are independent (own seed each): a runner may map them onto a cluster (theory.parallel).
        for ci, out in enumerate(parallel.pmap(chunk_task, tasks)):
            place(ci, out)
    else:
        # numpy's BLAS (the block products, see _bmm) runs single-threaded: the parallelism is the
        # workers (no oversubscription), and the rounding does not depend on thread counts. torch's
        # intra-op threads are the caller's to set.
        from concurrent.futures import ThreadPoolExecutor

        with single_blas_thread(), ThreadPoolExecutor(workers) as ex:
            for ci, out in enumerate(ex.map(chunk_task, tasks)):
                place(ci, out)
    return ProductSpectrum(depths, ls, bn, rk)


def log_svals(*, n: int, depths: Sequence[int], batch: int, p: float, sigma: float,
              gen: torch.Generator, r: int | None = None, conditioned: bool = True,
              chunk: int | None = None, workers: int = 1, method: str = "qr",
              block: int | None = None) -> torch.Tensor:
    """(len(depths), batch, n) log singular values (descending) of J_L; see :func:`product_spectrum`.

    Accurate to ~1e-10 absolute in log s_k for every k (relative accuracy of s_k), however far
    s_k / s_1 falls below machine epsilon; ``-inf`` exactly beyond the rank of J_L.
    """
    return product_spectrum(n=n, depths=depths, batch=batch, p=p, sigma=sigma, gen=gen, r=r,
                            conditioned=conditioned, chunk=chunk, workers=workers,
                            method=method, block=block).log_svals


def lyapunov_estimates(*, n: int, depths: Sequence[int], batch: int, p: float, sigma: float,
                       gen: torch.Generator, r: int | None = None, conditioned: bool = True,
                       chunk: int | None = None, workers: int = 1,
                       method: str = "qr", block: int | None = None) -> torch.Tensor:
    """(len(depths), batch, n) Benettin estimates (1/L) sum_l log|R_l[i,i]| from the same pass."""
    return product_spectrum(n=n, depths=depths, batch=batch, p=p, sigma=sigma, gen=gen, r=r,
                            conditioned=conditioned, chunk=chunk, workers=workers,
                            method=method, block=block).benettin


def log_svals_of(mats, depths: Sequence[int] | None = None) -> torch.Tensor:
    """Accurate log singular values of ``mats[:, L-1] @ ... @ mats[:, 0]`` for given layers.

    ``mats``: (batch, L, n, n) torch tensor or numpy array (converted to float64); layer 0 acts
    first. Returns (batch, n) (or (len(depths), batch, n) for depths given, each <= L), descending.
    Exactly zero rows of a layer (gates), and exactly zero columns of the first layer, are tracked
    exactly (``-inf`` beyond the rank of the product). Other rank deficiency (no exact zero rows)
    gives roundoff-level junk values for the indices beyond the rank (about log(eps) per such
    layer below the last genuine one), never NaN; any non-finite state is reported as ``-inf``
    from that index on.
    Accuracy: the grading of the product is handled to full relative accuracy; each layer enters
    with normwise backward error, i.e. a relative error of about ``eps * kappa`` where ``kappa``
    is the condition number of the layer on the live subspace (moderate for Gaussian layers,
    large for layers that are themselves strongly graded).
    """
    if not isinstance(mats, torch.Tensor):
        mats = torch.as_tensor(np.asarray(mats, dtype=np.float64))
    mats = mats.to(torch.float64)
    if mats.dim() != 4:
        raise ValueError(f"mats must have shape (batch, L, n, n), got {tuple(mats.shape)}")
    bsz, nl, n, n2 = mats.shape
    if n != n2:
        raise ValueError(f"mats: layers must be square, got {n} x {n2}")
    if bsz < 1 or nl < 1 or n < 1:
        raise ValueError(f"mats: empty shape {tuple(mats.shape)}")
    ds = [nl] if depths is None else _check_depths(depths)
    if ds[-1] > nl:
        raise ValueError(f"depths: max depth {ds[-1]} exceeds the {nl} given layers")
    dev = mats.device
    out = torch.full((len(ds), bsz, n), -math.inf, dtype=torch.float64, device=dev)
    state, order_prev, j = None, None, 0
    for ell in range(1, ds[-1] + 1):
        m = mats[:, ell - 1]
        nz = (m != 0).any(dim=-1)  # (B, n) nonzero rows
        k = nz.sum(1)
        # stable sort, nonzero rows first: exact zero rows at the bottom stay exact in R
        order = torch.argsort((~nz).to(torch.int8), dim=1, stable=True)
        msort = torch.gather(m, 1, order.unsqueeze(-1).expand(-1, -1, n))
        if state is None:
            # The input-side (column) order of J never matters (s(J P) = s(J)): put exact zero
            # columns last so that their zero pivots are trailing (e.g. transposed gated layers).
            nzc = (msort != 0).any(dim=-2)
            corder = torch.argsort((~nzc).to(torch.int8), dim=1, stable=True)
            a = torch.gather(msort, 2, corder.unsqueeze(1).expand(-1, n, -1))
        else:
            q = state.q()  # rows in the previous sorted order: scatter back to R^n
            qfull = torch.zeros(bsz, n, q.shape[2], dtype=torch.float64, device=dev)
            qfull.scatter_(1, order_prev.unsqueeze(-1).expand(-1, -1, q.shape[2]), q)
            a = msort @ qfull
        order_prev = order
        state = _fold(a, k, state)
        # last-resort guard for arbitrary inputs: a non-finite row of the scaled factor (overflow)
        # ends the live prefix there
        bad = ~torch.isfinite(state.nmat).all(dim=-1) | torch.isnan(state.logt)
        if bool(bad.any()):
            idx = torch.arange(bad.shape[1], device=dev).unsqueeze(0)
            first = torch.where(bad, idx, torch.full_like(idx, bad.shape[1])).amin(dim=1)
            state.live = torch.minimum(state.live, first)
            dead = idx >= state.live.unsqueeze(1)
            state.logt = state.logt.masked_fill(dead, -math.inf)
            state.nmat = state.nmat.masked_fill(dead.unsqueeze(-1), 0.0)
        if ell == ds[j]:
            _record(j, ell, state, out, torch.empty_like(out), torch.empty((len(ds), bsz), dtype=torch.long, device=dev))
            j += 1
    return out[0] if depths is None else out
