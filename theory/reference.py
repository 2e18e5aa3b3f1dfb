"""Independent references for product spectra: a plain float64 loop and an mpmath product.

They share no code with the engine in :mod:`theory.products`, so tests and benchmarks can judge it.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np


def mp_log_svals(mats, dps: int, pad_to: int | None = None) -> np.ndarray:
    """log singular values of mats[L-1] ... mats[0] with mpmath at ``dps`` digits (descending).

    ``mats`` is a sequence of 2-D arrays (rectangular layers allowed; mats[0] acts first). Values
    below s_1 * 10^-(dps-20) are reported as -inf (exact zeros of rank-deficient products show up
    there as roundoff of the high-precision product). ``pad_to`` appends -inf up to that length."""
    with mp.workdps(dps):
        j = mp.matrix(np.asarray(mats[0]).tolist())
        for layer in mats[1:]:
            j = mp.matrix(np.asarray(layer).tolist()) * j
        sv = mp.svd_r(j, compute_uv=False)
        floor = max(sv) * mp.mpf(10) ** (-(dps - 20))
        out = np.sort([float(mp.log(x)) if x > floor else -np.inf for x in sv])[::-1]
    if pad_to is not None and pad_to > out.size:
        out = np.concatenate([out, np.full(pad_to - out.size, -np.inf)])
    return out


def naive_log_svals(mats: np.ndarray) -> np.ndarray:
    """log singular values of mats[L-1] ... mats[0] by multiplying in float64 and one SVD.

    Accurate only for s_k / s_1 above machine epsilon: the baseline the engine is measured against."""
    j = np.eye(mats.shape[-1])
    for layer in mats:
        j = layer @ j
    with np.errstate(divide="ignore"):
        return np.log(np.linalg.svd(j, compute_uv=False))
