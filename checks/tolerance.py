"""Tolerances derived from dtype and conditioning (never guessed).

Backward-stable float64 kernels (matmul, QR, SVD, LU) satisfy, to first order,
``|computed - exact| <= c * n * eps * kappa * scale``, where ``n`` is the dimension, ``eps`` the unit
roundoff of the dtype, ``kappa`` a condition number of the quantity computed, and ``scale`` its
natural magnitude. ``c`` absorbs the modest constants of the algorithms; we take ``c = 8`` (JAX and
SciPy use 5–10 ulps for single kernels), and a check that chains ``k`` kernels multiplies by ``k``.
A claim that needs another constant overrides it on that claim, with the reason beside it.
"""

from __future__ import annotations

import numpy as np

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
# Smallest positive float64: the absolute error of one operation whose result underflows.
TINY64 = float(np.finfo(np.float64).smallest_subnormal)

# Default algorithm constant (see module docstring).
C_DEFAULT = 8.0


def _finfo(dtype):
    if str(dtype).startswith("torch."):
        dtype = str(dtype).removeprefix("torch.")
    return np.finfo(np.dtype(dtype))


def eps_of(dtype) -> float:
    """Unit roundoff of a numpy or torch floating dtype."""
    return float(_finfo(dtype).eps)


def tol(n: int, *, kappa: float = 1.0, scale: float = 1.0, kernels: int = 1,
        dtype=np.float64, c: float = C_DEFAULT, amplification: float = 1.0, unit: float | None = None) -> float:
    """Absolute tolerance ``c * kernels * n * (eps * kappa * scale + unit * amplification)``.

    The second term is the underflow floor: wherever an intermediate or a result underflows, a kernel
    errs by up to one subnormal spacing ``unit`` (the dtype's smallest subnormal; ``ldexp(TINY64, -e)``
    for data rescaled by 2^-e) absolutely, and later factors multiply that by at most
    ``amplification``. So a tolerance is never 0 however small ``scale`` is (a subnormal gate), and for
    normal-range data the term is far below one ulp of the first (the value is unchanged).
    """
    if n < 1 or kappa < 0 or scale < 0 or kernels < 1 or amplification < 0:
        raise ValueError(f"tol: bad arguments n={n}, kappa={kappa}, scale={scale}, kernels={kernels}, "
                         f"amplification={amplification}")
    if not np.isfinite(scale) or not np.isfinite(amplification):
        return float("inf")
    if unit is None:
        unit = float(_finfo(dtype).smallest_subnormal)
    return c * kernels * n * (eps_of(dtype) * max(kappa, 1.0) * scale + unit * max(amplification, 1.0))


def cond(a: np.ndarray) -> float:
    """2-norm condition number (inf for singular matrices)."""
    s = np.linalg.svd(np.asarray(a, dtype=np.float64), compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
