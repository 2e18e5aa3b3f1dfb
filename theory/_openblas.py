"""OpenBLAS in this process: the thread count of every loaded copy (:class:`single_blas_thread`),
and per-matrix BLAS/LAPACK calls into the copy numpy's wheels bundle, through ctypes.

Why: the dense CPU path of the product engine (``theory.products._stream_dense_cpu``) works one
sample at a time, so that a sample's few matrices stay in the core's cache between operations,
and it needs syrk, potrf, trsm and trmm calls, and both paths need dgejsv, that release the GIL
(so chunks on worker threads overlap): ctypes releases it for every foreign call, while
scipy.linalg's wrappers of these routines hold it. numpy >= 2 wheels ship OpenBLAS as ``numpy.libs/libscipy_openblas64_*.so``
(``numpy/.dylibs`` on macOS) with ILP64 symbols ``scipy_<name>_64_``.

Where that library is not found, or fails the self-test below, :data:`LIB` is None and the engine
takes its batched torch path (the same recursion; results agree to rounding).

Layout convention of every function here: a matrix ``A`` (m x n, column-major as Fortran wants it)
is held in a C-contiguous float64 numpy array of shape (n, m), i.e. the array is ``A^T``. A
triangular factor R (upper) is held the same way as its transpose, L = R^T (lower, column-major),
so the C array holds R itself in its upper triangle: the routines run with UPLO = 'L' (potrf
'L' measured ~7% faster per Cholesky QR than 'U' at n = 128 in this OpenBLAS).
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
import threading
import warnings

import numpy as np
import scipy.linalg.lapack as _lapack  # dgejsv where LIB is None; loads scipy's OpenBLAS too

__all__ = ["LIB", "Dense", "ptr", "syrk_potrf", "trsm_right_upper", "trmm_left_upper",
           "jacobi_log_svals", "single_blas_thread", "thread_setters"]

_I = ctypes.c_int64
_ONE = ctypes.c_double(1.0)
_ZERO = ctypes.c_double(0.0)
# hidden length of each character argument (gfortran ABI: size_t, passed by value)
_C1 = ctypes.c_size_t(1)
# The character arguments of the layout convention below, shared by the checked functions and
# Dense: R is held as LAPACK's lower factor R^T.
_UPLO = b"L"
_SYRK = (_UPLO, b"T")  # Z^T Z into the lower triangle
_TRSM = (b"R", _UPLO, b"T", b"N")  # Z <- Z (L^T)^-1 = Z R^-1, L = R^T
_TRMM = (b"L", _UPLO, b"T", b"N")  # X <- L^T X = R X


def _find():
    base = os.path.dirname(np.__file__)
    pats = [os.path.join(base, os.pardir, "numpy.libs", "libscipy_openblas64_*.so*"),
            os.path.join(base, ".dylibs", "libscipy_openblas64_*.dylib")]
    for path in sorted(p for pat in pats for p in glob.glob(pat)):
        try:
            lib = ctypes.CDLL(path)
            fns = {k: getattr(lib, f"scipy_{k}_64_")
                   for k in ("dsyrk", "dpotrf", "dtrsm", "dtrmm", "dgejsv")}
        except (OSError, AttributeError):
            continue
        for f in fns.values():
            f.restype = None  # argument types are not declared: callers pass ctypes objects
        return fns
    return None


# ----------------------------------------------------------------------------------------------
# thread counts of every OpenBLAS in the process


_blas_lock = threading.Lock()
_blas_depth = [0, None]  # (active single-thread sections, saved thread count)


def thread_setters():
    """(get, set) for every OpenBLAS build loaded in-process (scipy's, numpy's); [] if none
    (found through /proc/self/maps, so Linux only; elsewhere thread counts are left alone).

    dgejsv on ~100 x 100 matrices is a stream of level-1 rotations; OpenBLAS threading makes it
    10-200x slower on a busy 2-core machine, so the engine runs it single-threaded."""
    out = []
    try:
        paths = {ln.split()[-1] for ln in open("/proc/self/maps") if "openblas" in ln.lower()}
    except OSError:
        return out
    for path in sorted(p for p in paths if p.endswith(".so")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("", "64_"):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                out.append((get, set_))
    return out


_SETTERS = None


class single_blas_thread:
    """Context manager: OpenBLAS (numpy/scipy) runs single-threaded inside; restored on exit.

    Re-entrant and thread-safe (a counter under a lock); a no-op where OpenBLAS is not found."""

    def __enter__(self):
        global _SETTERS
        with _blas_lock:
            if _SETTERS is None:
                _SETTERS = thread_setters()
            if _blas_depth[0] == 0:
                _blas_depth[1] = [int(get()) for get, _ in _SETTERS]
                for _, set_ in _SETTERS:
                    set_(1)
            _blas_depth[0] += 1
        return self

    def __exit__(self, *exc):
        with _blas_lock:
            _blas_depth[0] -= 1
            if _blas_depth[0] == 0:
                for (_, set_), k in zip(_SETTERS, _blas_depth[1]):
                    set_(k)


# ----------------------------------------------------------------------------------------------
# calls into numpy's OpenBLAS


def _ref(x):
    return ctypes.byref(x)


def ptr(a: np.ndarray) -> ctypes.c_void_p:
    """The address of an array's data, as the argument :class:`Dense`'s methods take."""
    return ctypes.c_void_p(a.ctypes.data)


def _check(a: np.ndarray, shape):
    if a.dtype != np.float64 or not a.flags.c_contiguous or a.shape != shape:
        raise ValueError(f"expected a C-contiguous float64 array of shape {shape}, got "
                         f"{a.dtype} {a.shape} (contiguous={a.flags.c_contiguous})")


def syrk_potrf(z: np.ndarray, g: np.ndarray) -> int:
    """Gram matrix and Cholesky factor of Z (K x m, array ``z`` of shape (m, K)): on return the
    upper triangle of the (m, m) array ``g`` holds R, Z^T Z = R^T R (as LAPACK's lower factor
    R^T); the strict lower triangle of the array is left as it was. Returns LAPACK's info
    (0: success; i > 0: the leading minor of order i is not positive definite, Z is numerically
    rank deficient)."""
    m, k = z.shape
    _check(z, (m, k))
    _check(g, (m, m))
    mm, kk, info = _I(m), _I(k), _I(0)
    LIB["dsyrk"](*_SYRK, _ref(mm), _ref(kk), _ref(_ONE), ptr(z), _ref(kk), _ref(_ZERO),
                 ptr(g), _ref(mm), _C1, _C1)
    LIB["dpotrf"](_UPLO, _ref(mm), ptr(g), _ref(mm), _ref(info), _C1)
    return int(info.value)


def trsm_right_upper(r: np.ndarray, z: np.ndarray) -> None:
    """Z <- Z R^-1 in place; Z is K x m (array (m, K)), R upper triangular m x m, held in the
    upper triangle of the (m, m) array ``r`` (as :func:`syrk_potrf` returns it; nothing else of
    ``r`` is read)."""
    m, k = z.shape
    _check(z, (m, k))
    _check(r, (m, m))
    mm, kk = _I(m), _I(k)
    LIB["dtrsm"](*_TRSM, _ref(kk), _ref(mm), _ref(_ONE), ptr(r), _ref(mm),
                 ptr(z), _ref(kk), _C1, _C1, _C1, _C1)


def trmm_left_upper(s: np.ndarray, x: np.ndarray) -> None:
    """X <- S X in place; S upper triangular m x m, held in the upper triangle of the (m, m)
    array ``s`` (nothing else of it is read), X is m x n (array (n, m))."""
    n, m = x.shape
    _check(x, (n, m))
    _check(s, (m, m))
    mm, nn = _I(m), _I(n)
    LIB["dtrmm"](*_TRMM, _ref(mm), _ref(nn), _ref(_ONE), ptr(s), _ref(mm),
                 ptr(x), _ref(mm), _C1, _C1, _C1, _C1)


def jacobi_log_svals(x: np.ndarray) -> np.ndarray:
    """Logarithms of the singular values (descending; -inf for zero ones) of the m x n matrix X
    (m >= n), held in the Fortran-ordered float64 array ``x`` (destroyed), by LAPACK's
    preconditioned one-sided Jacobi SVD dgejsv with JOBA='C' (high relative accuracy for
    column-scaled X) and no singular vectors. With :data:`LIB`, through ctypes and free of the
    GIL; without it, through ``scipy.linalg.lapack.dgejsv(x, joba=0, jobu=3, jobv=3, jobr=0,
    jobt=0, jobp=0)``, the same call (bit-identical results) holding the GIL. Raises on an
    illegal argument; warns where the Jacobi sweeps did not converge (info > 0)."""
    if x.dtype != np.float64 or not x.flags.f_contiguous or x.ndim != 2:
        raise ValueError(f"expected a Fortran-ordered float64 matrix, got {x.dtype} {x.shape}")
    m, n = x.shape
    if m < n or n == 0:
        raise ValueError(f"dgejsv needs m >= n >= 1, got {x.shape}")
    if LIB is None:
        sva, _, _, work, _, info = _lapack.dgejsv(x, joba=0, jobu=3, jobv=3, jobr=0, jobt=0,
                                                  jobp=0)
    else:
        lwork = max(6 * n + 2 * n * n, 2 * m + n, 4 * n + n * n, 2 * n + n * n + 6, 7)
        work, iwork = np.zeros(lwork), np.zeros(m + 3 * n, dtype=np.int64)
        sva, dummy = np.zeros(n), np.zeros(1)
        info_c, one = _I(0), _I(1)
        LIB["dgejsv"](b"C", b"N", b"N", b"N", b"N", b"N", _ref(_I(m)), _ref(_I(n)), ptr(x),
                      _ref(_I(m)), ptr(sva), ptr(dummy), _ref(one), ptr(dummy), _ref(one),
                      ptr(work), _ref(_I(lwork)), ptr(iwork), _ref(info_c),
                      _C1, _C1, _C1, _C1, _C1, _C1)
        info = info_c.value
    if info < 0:
        raise RuntimeError(f"dgejsv: illegal argument {-info}")
    if info > 0:
        warnings.warn(f"dgejsv did not converge (info = {info}): singular values may be "
                      "inaccurate", RuntimeWarning, stacklevel=2)
    # the singular values are sva * work[0] / work[1] (dgejsv scales to avoid overflow)
    with np.errstate(divide="ignore"):
        return np.log(sva) + math.log(work[0] / work[1])


class Dense:
    """The dense kernel's two steps for square n x n matrices, with the ctypes arguments built
    once (the per-call cost is then ~1 us of Python, held under the GIL; the BLAS work is not).
    Arguments are array addresses (:func:`ptr`) of C-contiguous float64 (n, n) arrays;
    the caller owns validity (see the functions above for the checked forms)."""

    PANEL = 32  # columns per trmm call in trmm_tri (measured best of 16/32/64 at n = 128)

    def __init__(self, n: int):
        self._n = _I(n)
        self._info = _I(0)
        self._rn, self._ri = _ref(self._n), _ref(self._info)
        self._one, self._zero = _ref(_ONE), _ref(_ZERO)
        self._syrk, self._potrf = LIB["dsyrk"], LIB["dpotrf"]
        self._trsm, self._trmm = LIB["dtrsm"], LIB["dtrmm"]
        # (rows j1, width, byte offset of column j0) of each column panel, for trmm_tri
        self._panels = [(_ref(_I(min(n, j0 + self.PANEL))), _ref(_I(min(n, j0 + self.PANEL) - j0)),
                         8 * n * j0) for j0 in range(0, n, self.PANEL)]

    def cholqr(self, z: int, g: int) -> int:
        """R (upper triangle of the array at g) with Z^T Z = R^T R, then Z <- Z R^-1 (if the
        Cholesky factorisation succeeded): :func:`syrk_potrf` and :func:`trsm_right_upper` on
        square arrays. Returns LAPACK's info."""
        rn = self._rn
        self._syrk(*_SYRK, rn, rn, self._one, z, rn, self._zero, g, rn, _C1, _C1)
        self._potrf(_UPLO, rn, g, rn, self._ri, _C1)
        info = self._info.value
        if info == 0:
            self._trsm(*_TRSM, rn, rn, self._one, g, rn, z, rn,
                       _C1, _C1, _C1, _C1)
        return info

    def trmm_tri(self, s: int, x: int) -> None:
        """X <- S X for S *and* X upper triangular (S held as in :func:`trmm_left_upper`); ``x`` is
        the integer address of X's data (``a.ctypes.data``). X's strict lower triangle must be
        zero; it is not touched.

        Column panel J = [j0, j1) of S X only needs S[:j1, :j1] X[:j1, J] (X's rows >= j1 are
        zero there, and so are the result's): one trmm per panel of PANEL columns, about half
        the flops of a full trmm at n = 128 (n^3 / 3 + O(n^2 PANEL) instead of n^3)."""
        for m, w, off in self._panels:
            self._trmm(*_TRMM, m, w, self._one, s, self._rn,
                       ctypes.c_void_p(x + off), self._rn, _C1, _C1, _C1, _C1)


def _self_test() -> bool:
    """The five calls on a 3 x 3 example against numpy (guards against a library whose symbols
    exist but whose calling convention differs)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)  # math matrix Z
    z = np.ascontiguousarray(a.T)
    g = np.zeros((3, 3))
    if syrk_potrf(z, g) != 0:
        return False
    r = np.triu(g)  # the array holds R in its upper triangle
    if not np.allclose(r.T @ r, a.T @ a, rtol=1e-12, atol=1e-12):
        return False
    trsm_right_upper(g, z)
    q = z.T
    if not np.allclose(q @ r, a, rtol=1e-12, atol=1e-12):
        return False
    x = rng.standard_normal((3, 3))
    xa = np.ascontiguousarray(x.T)
    trmm_left_upper(g, xa)
    if not np.allclose(xa.T, r @ x, rtol=1e-12, atol=1e-12):
        return False
    ls = jacobi_log_svals(np.asfortranarray(x))
    return bool(np.allclose(ls, np.log(np.linalg.svd(x, compute_uv=False)), rtol=0, atol=1e-12))


LIB = _find()
if LIB is not None:
    try:
        if not _self_test():
            LIB = None
    except Exception:  # any failure of the foreign calls: fall back to the torch path
        LIB = None
