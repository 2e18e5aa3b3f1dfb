"""Closed forms of Section 5 / Appendix C: Lyapunov exponents and the finite-depth constants d_i.

* :func:`gamma` — Remark 5.4 (conditioned (r, p, sigma)-layers) or Remark 5.5 (``approx=True``,
  denominator replaced by 1), i.e. Lemma C.5.
* :func:`lam` — Lemma C.4: ``lambda_i = E log ||Y e_1 ^ ... ^ Y e_i||``.
* :func:`d` — ``d_i = -E log|det Omega^{i,i}|`` for ``Omega`` Haar on O(n) (Theorem 5.3), in
  closed form, and :func:`d_mc` / :func:`d_mp` to validate it (Monte Carlo / mpmath).

Closed form of d_i (derivation). The first i columns of a Haar ``Omega`` have the law of
``G (G^T G)^{-1/2}`` with ``G`` an n x i standard Gaussian matrix, so with ``G_1`` the top i x i
block, ``|det Omega^{i,i}|^2 = det(G_1^T G_1) / det(G^T G)``. Taking expectations of the logs
(linearity holds although the two are dependent) and using the Wishart log-determinant
``E log det W_i(m, I) = i ln 2 + sum_{k=1}^{i} psi((m-k+1)/2)``:

    d_i = 1/2 * sum_{k=1}^{i} [ psi((n-k+1)/2) - psi((i-k+1)/2) ].

Equivalently ``|det Omega^{i,i}|^2`` is a product of independent Beta((i-k+1)/2, (n-i)/2)
variables (matrix-variate Beta). d_n = 0, d_1 = [psi(n/2) - psi(1/2)]/2. Note that d_i depends on
n as well as on i (the paper says the d_i "depend only on i").

Binomial weights are handled in log space (``scipy.stats.binom.logpmf`` + log-sum-exp), so the
normalised weights stay accurate when P(rank D >= r) underflows.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import digamma, logsumexp
from scipy.stats import binom


def _check(n, p, sigma, r):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must lie in (0, 1], got {p!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if not isinstance(r, (int, np.integer)) or not 1 <= r <= n:
        raise ValueError(f"r must be an integer in [1, n={n}], got {r!r}")


def rank_weights(n: int, p: float, r: int, *, approx: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(t, w): ranks t = r..n and weights w_t of the (r, p)-gate rank law.

    ``approx=False``: ``w_t = C(n,t) p^t (1-p)^(n-t) / sum_{m>=r} C(n,m) p^m (1-p)^(n-m)``
    (Lemma C.4's conditional law). ``approx=True``: the unnormalised binomial pmf (Remark 5.5).
    p = 1 puts all mass on t = n.
    """
    _check(n, p, 1.0, r)
    t = np.arange(r, n + 1)
    if p == 1.0:
        w = (t == n).astype(np.float64)
        return t, w
    lw = binom.logpmf(t, n, p)
    if approx:
        return t, np.exp(lw)
    return t, np.exp(lw - logsumexp(lw))


def gamma(n: int, p: float, sigma: float, r: int, *, approx: bool = False) -> np.ndarray:
    """Lyapunov exponents gamma_1..gamma_r (array of shape (r,)), Remark 5.4 / Lemma C.5.

    ``gamma_i = ln(sqrt(2) sigma) + sum_t w_t psi((t-i+1)/2) / 2`` with the rank weights of
    :func:`rank_weights` (``approx=True``: Remark 5.5, the unnormalised pmf). p = 1: all gates are
    the identity and ``gamma_i = ln(sqrt(2) sigma) + psi((n-i+1)/2) / 2``.

    >>> float(gamma(1, 1.0, 1.0, 1)[0]) == math.log(math.sqrt(2)) + digamma(0.5) / 2
    True
    """
    _check(n, p, sigma, r)
    t, w = rank_weights(n, p, r, approx=approx)
    t, w = t[w > 0], w[w > 0]
    i = np.arange(1, r + 1)
    psi = digamma((t[None, :] - i[:, None] + 1) / 2.0)  # (r, len(t)); t >= r >= i so args >= 1/2
    return math.log(math.sqrt(2.0) * sigma) + (psi * w[None, :]).sum(axis=1) / 2.0


def lam(n: int, p: float, sigma: float, r: int, approx: bool = False) -> np.ndarray:
    """lambda_1..lambda_n (shape (n,)) of Lemma C.4; ``-inf`` where the wedge vanishes with
    positive probability (i > r when p < 1; none when p = 1).

    ``lambda_i = (i/2) ln(2 sigma^2) + sum_t w_t sum_{k<=i} psi((t-k+1)/2) / 2`` for i <= r.
    """
    _check(n, p, sigma, r)
    t, w = rank_weights(n, p, r, approx=approx)
    t, w = t[w > 0], w[w > 0]  # zero-weight ranks (p = 1) must not contribute psi(<= 0)
    support_min = int(t.min())
    out = np.full(n, -np.inf)
    for i in range(1, n + 1):
        if i > support_min:
            continue
        k = np.arange(1, i + 1)
        psis = digamma((t[None, :] - k[:, None] + 1) / 2.0).sum(axis=0)  # (len(t),)
        out[i - 1] = i / 2.0 * math.log(2.0 * sigma ** 2) + (w * psis).sum() / 2.0
    return out


def _check_in(i, n):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(i, (int, np.integer)) or not 0 <= i <= n:
        raise ValueError(f"i must be an integer in [0, n={n}], got {i!r}")


def d(i: int, n: int) -> float:
    """d_i = -E log|det Omega^{i,i}|, Omega Haar on O(n); closed form (module docstring).

    d_0 = 0 (the paper's convention). d_n = 0. d_1 = [psi(n/2) - psi(1/2)] / 2.
    """
    _check_in(i, n)
    if i == 0:
        return 0.0
    k = np.arange(1, i + 1)
    return float(0.5 * (digamma((n - k + 1) / 2.0) - digamma((i - k + 1) / 2.0)).sum())


def d_mp(i: int, n: int, dps: int = 50):
    """The same closed form evaluated with mpmath.digamma at ``dps`` digits (an mpf)."""
    import mpmath as mp

    _check_in(i, n)
    with mp.workdps(dps):
        return sum((mp.digamma(mp.mpf(n - k + 1) / 2) - mp.digamma(mp.mpf(i - k + 1) / 2)) / 2
                   for k in range(1, i + 1)) if i > 0 else mp.mpf(0)


def haar_orthogonal(batch: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """(batch, n, n) Haar orthogonal matrices: QR of a Gaussian with the sign fix diag(R) > 0."""
    g = torch.randn(batch, n, n, generator=gen, dtype=torch.float64, device=gen.device)
    q, r = torch.linalg.qr(g)
    sgn = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    sgn = torch.where(sgn == 0, torch.ones_like(sgn), sgn)
    return q * sgn.unsqueeze(-2)


def d_mc(i: int, n: int, samples: int, gen: torch.Generator, chunk: int = 4096) -> tuple[float, float]:
    """Monte Carlo (mean, standard error) of -log|det Omega^{i,i}| over ``samples`` Haar draws."""
    _check_in(i, n)
    if not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    if i == 0:
        return 0.0, 0.0
    vals = []
    for start in range(0, samples, chunk):
        b = min(chunk, samples - start)
        om = haar_orthogonal(b, n, gen)
        vals.append(-torch.linalg.slogdet(om[:, :i, :i])[1])
    v = torch.cat(vals).cpu().numpy()
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))
