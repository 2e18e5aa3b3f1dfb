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

# Default algorithm constant (see module docstring).
C_DEFAULT = 8.0


def eps_of(dtype) -> float:
    """Unit roundoff of a numpy or torch floating dtype."""
    if str(dtype).startswith("torch."):
        dtype = str(dtype).removeprefix("torch.")
    return float(np.finfo(np.dtype(dtype)).eps)


def tol(n: int, *, kappa: float = 1.0, scale: float = 1.0, kernels: int = 1,
        dtype=np.float64, c: float = C_DEFAULT) -> float:
    """Absolute tolerance ``c * kernels * n * eps * kappa * scale`` for a float computation."""
    if n < 1 or kappa < 0 or scale < 0 or kernels < 1:
        raise ValueError(f"tol: bad arguments n={n}, kappa={kappa}, scale={scale}, kernels={kernels}")
    return c * kernels * n * eps_of(dtype) * max(kappa, 1.0) * scale


def cond(a: np.ndarray) -> float:
    """2-norm condition number (inf for singular matrices)."""
    s = np.linalg.svd(np.asarray(a, dtype=np.float64), compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
