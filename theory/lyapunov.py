"""Closed forms of Section 5 / Appendix C: Lyapunov exponents and the finite-depth constants d_i.

* :func:`gamma` — Remark 5.4 (conditioned (r, p, sigma)-layers) or Remark 5.5 (``approx=True``,
  denominator replaced by 1), i.e. Lemma C.5.
* :func:`lam` — Lemma C.4: ``lambda_i = E log ||Y e_1 ^ ... ^ Y e_i||``.
* :func:`d` — ``d_i = -E log|det Omega^{i,i}|`` for ``Omega`` Haar on O(n) (Theorem 5.3), in
  closed form, and :func:`d_mc` / :func:`d_mp` to validate it (Monte Carlo / mpmath).
* :func:`offset_bracket` — the finite-depth bracket ``E v_L <= d_K <= E (v_L + rho_L)`` of the first
  K finite-depth constants, from the log singular values and Benettin sums of sampled products.
* :func:`remainder_mc` — the remainder ``R = d_K - E v`` itself, estimated from its definition (fresh
  Gaussians given the singular values), so ``E (v + R) = d_K`` exactly: an independent check of the
  bracket's upper end (``R <= rho``) and a two-sided point test of the constants.

Closed form of d_i (derivation). The first i columns of a Haar ``Omega`` have the law of
``G (G^T G)^{-1/2}`` with ``G`` an n x i standard Gaussian matrix, so with ``G_1`` the top i x i
block, ``|det Omega^{i,i}|^2 = det(G_1^T G_1) / det(G^T G)``. Taking expectations of the logs
(linearity holds although the two are dependent) and using the Wishart log-determinant
``E log det W_i(m, I) = i ln 2 + sum_{k=1}^{i} psi((m-k+1)/2)``:

    d_i = 1/2 * sum_{k=1}^{i} [ psi((n-k+1)/2) - psi((i-k+1)/2) ].

Equivalently ``|det Omega^{i,i}|^2`` is a product of independent Beta((i-k+1)/2, (n-i)/2)
variables (matrix-variate Beta). d_n = 0, d_1 = [psi(n/2) - psi(1/2)]/2. Note that d_i depends on
n as well as on i (Section 5 fixes n, so the paper's "depend only on i" holds at fixed n).

Finite-depth bracket (derivation). Let J be a random n x n matrix of rank >= K a.s. whose law is
right-orthogonally invariant (J O ~ J; true of any product whose first layer is an (r, p, sigma)-
layer), J = U S V^T. The Benettin sums r_k = sum_l log|R_l[k,k]| of the QR recursion satisfy
``r_1 + ... + r_K = log||J e_1 ^ ... ^ J e_K||`` (the top-left K x K block of R_L ... R_1), and with
``Omega = V^T`` (Haar, independent of S) and G an n x K Gaussian (first K columns of Omega ~
G (G^T G)^{-1/2}), Cauchy-Binet gives ``||J e_1 ^ ... ^ J e_K||^2 / det(G^T G) = det(G^T S^2 G)``. So
the per-sample offset ``v = log(s_1...s_K) - (r_1 + ... + r_K)`` satisfies, exactly at every depth,

    d_K - E v = R := (1/2) E log det(I + A^{-1} B),   A = G_K^T S_K^2 G_K,  B = G_c^T S_c^2 G_c,

(K = top K rows/values, c = the others), hence ``E v <= d_K`` (R >= 0), and by Jensen in B (log det
is concave and E[B | A] = beta I, beta = s_{K+1}^2 + ... + s_n^2)

    R <= rho := (1/2) E_G log det(I + beta A^{-1}) = (1/2) E_G sum_i log(1 + beta / sigma_i(S_K G_K)^2),

an expectation over a fresh K x K Gaussian G_K given the observed singular values. So
``E v <= d_K <= E (v + rho)`` at every depth, and rho -> 0 as the spectrum separates (Corollary 5.6),
so E v -> d_K: the first-order constant of ``E log(s_1...s_K) - L (gamma_1 + ... + gamma_K)`` (Lemma
C.7) is bracketed, with no model of the o(1) remainder. For K = 1 the Gaussian expectation is one-
dimensional: ``(1/2) E log(1 + a^2/g^2) = sqrt(pi) int_0^{a/sqrt2} erfcx(u) du``, a^2 = beta/s_1^2
(d/dx E log(1 + x/g^2) = sqrt(pi/(2x)) e^{x/2} erfc(sqrt(x/2))). Since E r_k = L gamma_k exactly
(each R_l has the law of the R factor of one fresh layer), v is also the control-variate form of
``log(s_1...s_K) - L (gamma_1 + ... + gamma_K)``: same mean, variance O(1) instead of O(L).

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


_ERFCX_CUT = 1.0e3  # quadrature up to here; the asymptotic series beyond (its first omitted term ~ 1e-24)


def _erfcx_integral(x: float) -> float:
    """int_0^x erfcx(u) du (erfcx smooth, ~ 1/(u sqrt(pi)) at infinity); :func:`_erfcx_integral_log` for any x."""
    return _erfcx_integral_log(math.log(x)) if x > 0 else 0.0


def _erfcx_integral_log(log_x: float) -> float:
    """int_0^x erfcx(u) du for x = exp(log_x), any log_x < inf: scipy's quad on [0, min(x, 1e3)], and beyond
    the cut the term-by-term integral of erfcx(u) = (1 - 1/(2u^2) + 3/(4u^4) - 15/(8u^6) + ...)/(u sqrt(pi)),
    i.e. F(u) = (ln u + u^-2/4 - 3u^-4/16 + 5u^-6/16)/sqrt(pi), in logs (x may be far beyond float range).
    A quadrature over [0, x] alone loses the tail's log growth for x >~ 1e100 (it stops subdividing)."""
    from scipy.integrate import quad
    from scipy.special import erfcx

    if not log_x < math.inf:
        raise ValueError(f"log_x must be finite, got {log_x!r}")
    x = math.exp(min(log_x, math.log(_ERFCX_CUT)))
    val, _ = quad(erfcx, 0.0, x, limit=200, epsabs=1e-13, epsrel=1e-11)
    if log_x <= math.log(_ERFCX_CUT):
        return float(val)
    series = lambda lu: lu + math.exp(-2 * lu) / 4 - 3 * math.exp(-4 * lu) / 16 + 5 * math.exp(-6 * lu) / 16
    return float(val + (series(log_x) - series(math.log(_ERFCX_CUT))) / math.sqrt(math.pi))


def remainder_bound_1(log_s1: np.ndarray, log_beta_half: np.ndarray) -> np.ndarray:
    """rho for K = 1 (module docstring), exactly: sqrt(pi) int_0^{a/sqrt2} erfcx, log a = log_beta_half - log_s1.

    ``log_beta_half`` = log sqrt(s_2^2 + ... + s_n^2) (-inf when J has rank 1: then rho = 0).
    """
    la = np.asarray(log_beta_half, dtype=np.float64) - np.asarray(log_s1, dtype=np.float64)
    return np.array([math.sqrt(math.pi) * _erfcx_integral_log(x - math.log(2.0) / 2) if np.isfinite(x) else 0.0
                     for x in la.ravel()]).reshape(la.shape)


def _logdet_i_plus(lx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """log det(I + X) with X_ij = w_ij exp(lx_i + lx_j) (X psd), equilibrated so nothing overflows."""
    xd = torch.diagonal(w, dim1=-2, dim2=-1).log() + 2 * lx  # log X_ii
    ly = torch.logaddexp(torch.zeros_like(xd), xd)  # log Y_ii, Y = I + X
    # A_ij = Y_ij / sqrt(Y_ii Y_jj) = w_ij exp(sc_i + sc_j) off the diagonal, 1 on it: |A_ij| <= 1
    sc = lx - ly / 2
    a = w * torch.exp(sc.unsqueeze(-1) + sc.unsqueeze(-2))
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    a = a * (1 - eye) + eye
    ch, info = torch.linalg.cholesky_ex(a)
    ld = 2 * torch.log(torch.diagonal(ch, dim1=-2, dim2=-1)).sum(-1)
    if bool((info != 0).any()):  # rounding-level indefiniteness: eigenvalues (all >= 1 in exact arithmetic)
        bad = info != 0
        ev = torch.linalg.eigvalsh(a[bad]).clamp_min(torch.finfo(a.dtype).tiny)
        ld[bad] = torch.log(ev).sum(-1)
    return ly.sum(-1) + ld


def offset_bracket(log_s: np.ndarray, log_r: np.ndarray, K: int, gen: torch.Generator,
                   draws: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample (v, rho) of the finite-depth bracket ``E v <= d_K(n) <= E (v + rho)`` (module docstring).

    ``log_s``: (batch, n) log singular values of J (descending, -inf beyond the rank); ``log_r``:
    (batch, n) Benettin sums sum_l log|R_l[k,k]| of the same J (``theory.products.product_spectrum``:
    ``depth * benettin``). Every sample must have rank >= K (finite log_s[:, K-1]). rho is exact for
    K = 1 and a ``draws``-sample Monte-Carlo average over fresh K x K Gaussians (from ``gen``) for K > 1
    (unbiased for the bound; its spread is part of the per-sample variance).
    """
    log_s = np.asarray(log_s, dtype=np.float64)
    log_r = np.asarray(log_r, dtype=np.float64)
    if log_s.ndim != 2 or log_s.shape != log_r.shape:
        raise ValueError(f"log_s and log_r must be (batch, n) of equal shape, got {log_s.shape}, {log_r.shape}")
    bsz, n = log_s.shape
    if not isinstance(K, (int, np.integer)) or not 1 <= K <= n:
        raise ValueError(f"K must be an integer in [1, n={n}], got {K!r}")
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    top = log_s[:, :K]
    if not np.all(np.isfinite(top)) or not np.all(np.isfinite(log_r[:, :K])):
        raise ValueError(f"every sample must have rank >= K = {K} (finite log_s[:, :K] and log_r[:, :K])")
    v = top.sum(1) - log_r[:, :K].sum(1)
    rest = log_s[:, K:]
    with np.errstate(divide="ignore"):
        lbh = 0.5 * logsumexp(2 * rest, axis=1) if rest.shape[1] else np.full(bsz, -np.inf)
    if K == 1:
        return v, remainder_bound_1(top[:, 0], lbh)
    # rho = (1/2) E log det(I + beta (S G)^{-1} (S G)^{-T}) = (1/2) E log det(I + X), X = D W D with
    # W = (G^T G)^{-1} and D = diag(sqrt(beta)/s_i) (Sylvester's determinant identity).
    g = torch.randn(bsz, draws, K, K, generator=gen, dtype=torch.float64, device=gen.device).cpu()
    rr = torch.linalg.qr(g)[1]  # G = Q R: W = R^{-1} R^{-T}
    rinv = torch.linalg.solve_triangular(rr, torch.eye(K, dtype=torch.float64).expand_as(rr), upper=True)
    w = rinv @ rinv.mT
    lx = torch.from_numpy(lbh[:, None] - top).unsqueeze(1).expand(bsz, draws, K)
    rho = np.zeros(bsz)
    fin = np.isfinite(lbh)
    if fin.any():
        idx = torch.from_numpy(np.flatnonzero(fin))
        ld = _logdet_i_plus(lx[idx], w[idx])
        rho[fin] = 0.5 * ld.mean(-1).numpy()
    return v, rho


def remainder_mc(log_s: np.ndarray, K: int, gen: torch.Generator, draws: int = 8) -> np.ndarray:
    """Per-sample unbiased estimate of the *exact* remainder ``R(S) = (1/2) E_G log det(I + A^{-1} B)`` of the
    finite-depth identity ``d_K = E v + E R`` (module docstring), from the definition, over ``draws`` fresh n x K
    Gaussians G given the sample's singular values (no Jensen step: an independent computation of the upper
    end's remainder, so ``E (v + R) = d_K`` exactly at every depth, two-sided).

    With ``Y = S_c G_c (S_K G_K)^{-1}`` ((n-K) x K), ``det(I + A^{-1} B) = det(I + Y^T Y)``; its entries carry
    the ratios ``s_j / s_i <= 1`` (j > K >= i), formed in log space, so nothing overflows at any depth.
    ``log_s``: (batch, n) log singular values, descending (``-inf`` beyond the rank); rank >= K required.
    """
    log_s = np.asarray(log_s, dtype=np.float64)
    if log_s.ndim != 2:
        raise ValueError(f"log_s must be (batch, n), got shape {log_s.shape}")
    bsz, n = log_s.shape
    if not isinstance(K, (int, np.integer)) or not 1 <= K <= n:
        raise ValueError(f"K must be an integer in [1, n={n}], got {K!r}")
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    if not np.all(np.isfinite(log_s[:, :K])):
        raise ValueError(f"every sample must have rank >= K = {K} (finite log_s[:, :K])")
    if K == n:
        return np.zeros(bsz)
    g = torch.randn(bsz, draws, n, K, generator=gen, dtype=torch.float64, device=gen.device).cpu()
    z = torch.linalg.solve(g[..., :K, :].mT, g[..., K:, :].mT).mT  # G_c G_K^{-1}: (bsz, draws, n-K, K)
    ls = torch.from_numpy(log_s)
    ratio = torch.exp(ls[:, None, K:, None] - ls[:, None, None, :K])  # s_j / s_i, j > K >= i (0 beyond the rank)
    y = z * ratio
    m = torch.eye(K, dtype=torch.float64) + y.mT @ y
    ch, info = torch.linalg.cholesky_ex(m)
    ld = 2 * torch.log(torch.diagonal(ch, dim1=-2, dim2=-1)).sum(-1)
    if bool((info != 0).any()):  # rounding-level indefiniteness (eigenvalues >= 1 in exact arithmetic)
        bad = info != 0
        ld[bad] = torch.log(torch.linalg.eigvalsh(m[bad]).clamp_min(1.0)).sum(-1)
    return 0.5 * ld.mean(-1).numpy()
