"""Alignment of singular vectors through spectral separation (Section 6, Appendix D).

Theorem D.1 studies the eigen-decomposition of the graded symmetric matrix ``X_L = S_L C S_L``
(``S_L`` diagonal, non-increasing, separated). Its entries span ``s_1^2 .. s_n^2``, so ``X_L`` has a
condition number far beyond ``1/eps`` after a few rungs of any depth ladder: float64 ``eigh`` is
backward stable in the *norm* sense, i.e. it resolves an eigenvector entry only down to about
``eps * s_1^2 / gap_i`` (Davis–Kahan), which for ``u_i`` with ``i > 1`` is useless. We therefore do the
eigen-decomposition in mpmath at a working precision chosen from the dynamic range of ``S_L``
(:func:`dps_for`) and only *return* float64 numbers (the scaled, O(1) quantities the theorem is
about: ``sigma_i / s_i^2``, ``S^{-1} U S``, ``S U S^{-1}``).

Sign conventions (Theorem D.1): ``e_i^T u_i >= 0``; Theorem 6.1: ``<U_A e_i, U_J e_i> >= 0``.

Everything here is pure computation (no I/O). Paper references are given where code follows them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath as mp
import numpy as np

# ----------------------------------------------------------------------------------------------
# Predicted limits: leading-minor ratios and the unit-lower Cholesky (LDL^T) factorisation of C^{r,r}
# ----------------------------------------------------------------------------------------------


def leading_minor_ratios(C, r: int) -> np.ndarray:
    """ell_i = det C^{i,i} / det C^{i-1,i-1}, i = 1..r, with det C^{0,0} = 1 (Theorem D.1(b)).

    Computed in mpmath (30 digits beyond float64) from the determinants, i.e. independently of the
    Cholesky route used by :func:`ldl_unit`.
    """
    C = np.asarray(C, dtype=np.float64)
    _check_square(C, r)
    with mp.workdps(50):
        dets = [mp.mpf(1)] + [mp.det(mp.matrix(C[:i, :i].tolist())) for i in range(1, r + 1)]
        return np.array([float(dets[i] / dets[i - 1]) if dets[i - 1] != 0 else math.nan
                         for i in range(1, r + 1)])


def ldl_unit(Cr) -> tuple[np.ndarray, np.ndarray]:
    """``Cr = T diag(d) T^T`` with T unit lower-triangular (the paper's Cholesky ``T_C Sigma_C T_C^T``).

    Plain Doolittle LDL^T in float64 (no pivoting: the paper's factorisation is the unpivoted one).
    Raises ValueError if a pivot is not positive (Cr not positive definite).
    """
    Cr = np.asarray(Cr, dtype=np.float64)
    r = Cr.shape[0]
    T = np.eye(r)
    d = np.zeros(r)
    for j in range(r):
        d[j] = Cr[j, j] - np.sum(T[j, :j] ** 2 * d[:j])
        if not d[j] > 0:
            raise ValueError(f"C^{{r,r}} is not positive definite (pivot {j + 1} = {d[j]:.3g})")
        for i in range(j + 1, r):
            T[i, j] = (Cr[i, j] - np.sum(T[i, :j] * T[j, :j] * d[:j])) / d[j]
    return T, d


@dataclass(frozen=True)
class Prediction:
    """The limits printed in Theorem D.1 / Remark D.2 / Remark 6.3 for a given C and r."""

    ell: np.ndarray  # ell_i = det C^{i,i}/det C^{i-1,i-1}  (Theorem D.1(b))
    T: np.ndarray  # unit lower-triangular T_C
    Sigma: np.ndarray  # diag of Sigma_C
    Tinv: np.ndarray  # T_C^{-1}


def ldl_unit_mp(Cr, dps: int = 60):
    """Same factorisation as :func:`ldl_unit`, in mpmath (exact input, 60 digits): the float64 LDL^T of
    an ill-conditioned C^{r,r} carries a relative error ~ eps * cond, which would otherwise become the
    error floor of every limit comparison. Returns (T, d, T^{-1}) rounded to float64."""
    Cr = np.asarray(Cr, dtype=np.float64)
    r = Cr.shape[0]
    with mp.workdps(dps):
        A = mp.matrix(Cr.tolist())
        T = mp.eye(r)
        d = [mp.mpf(0)] * r
        for j in range(r):
            d[j] = A[j, j] - mp.fsum(T[j, k] ** 2 * d[k] for k in range(j))
            if not d[j] > 0:
                raise ValueError(f"C^{{r,r}} is not positive definite (pivot {j + 1} = {float(d[j]):.3g})")
            for i in range(j + 1, r):
                T[i, j] = (A[i, j] - mp.fsum(T[i, k] * T[j, k] * d[k] for k in range(j))) / d[j]
        Ti = mp.inverse(T)
        f = lambda M: np.array([[float(M[a, b]) for b in range(r)] for a in range(r)])
        return f(T), np.array([float(x) for x in d]), f(Ti)


def predict(C, r: int) -> Prediction:
    C = np.asarray(C, dtype=np.float64)
    _check_square(C, r)
    T, d, Tinv = ldl_unit_mp(C[:r, :r])
    return Prediction(leading_minor_ratios(C, r), T, d, Tinv)


def entry_prediction(pred: Prediction, j: int, i: int, *, corrected: bool) -> tuple[float, str]:
    """Leading term of ``e_j^T u_i`` (0-based j != i < r) as (constant K, which ratio multiplies it).

    ``corrected=False``: Theorem D.1(c) as printed — ``(T^{-1})_{i,j} s_j/s_i`` for j<i and
    ``(T)_{j,i} s_i/s_j`` for i<j. ``corrected=True``: the ratios inverted (``s_i/s_j`` for j<i,
    ``s_j/s_i`` for i<j), which is what Remark D.2 and the 2x2 expansion give.
    The ratio is returned as 'si/sj' or 'sj/si'.
    """
    if j < i:
        return float(pred.Tinv[i, j]), ("si/sj" if corrected else "sj/si")
    return float(pred.T[j, i]), ("sj/si" if corrected else "si/sj")


def _check_square(C: np.ndarray, r: int) -> None:
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be square, got shape {C.shape}")
    if not 1 <= r <= C.shape[0]:
        raise ValueError(f"r={r} must lie in [1, n={C.shape[0]}]")


# ----------------------------------------------------------------------------------------------
# High-precision eigen-decomposition of X_L = S_L C S_L
# ----------------------------------------------------------------------------------------------


def dps_for(log_s, extra: int = 30) -> int:
    """Decimal digits so that every entry of X = S C S, and every ratio s_j/s_i, is resolved.

    An absolutely accurate eigensolver at precision 10^-dps resolves eigenvector entries of u_i down
    to ~10^-dps * s_1^2 / (s_i^2 * min ell) ; we need that far below the smallest entry of interest,
    which is ~ s_n / s_1. Hence dps >= 3 * log10(s_1 / s_n) + margin.
    """
    ls = np.asarray(log_s, dtype=np.float64)
    finite = ls[np.isfinite(ls)]
    span = float(finite.max() - finite.min()) / math.log(10) if finite.size else 0.0
    return int(math.ceil(3 * span)) + extra


@dataclass
class GradedEig:
    """Eigen-decomposition of X = S C S, |sigma| non-increasing, e_i^T u_i >= 0, plus scaled views."""

    U: np.ndarray  # n x n eigenvectors (float64 rounding of the mp result)
    sigma_scaled: np.ndarray  # sigma_i / s_i^2, i = 1..n (nan where s_i = 0)
    log_abs_sigma: np.ndarray  # log |sigma_i|
    lower: np.ndarray  # (S^{r,r})^{-1} U^{r,r} S^{r,r}          (Remark D.2, -> T_C)
    upper: np.ndarray  # S^{r,r} U^{r,r} (S^{r,r})^{-1}          (Remark D.2, -> T_C^{-T})
    ratio_next: float  # |sigma_{r+1}| / sigma_r                 (Lemma D.5)
    log_s: np.ndarray
    r: int
    dps: int


def graded_eig(log_s, C, r: int, dps: int | None = None) -> GradedEig:
    """mpmath eigen-decomposition of ``X = diag(exp(log_s)) C diag(exp(log_s))``.

    ``log_s`` may contain ``-inf`` (s_i = 0). Sorting by |sigma| decreasing; ties broken by the
    index of the largest |entry| (irrelevant for separated spectra). Sign: e_i^T u_i >= 0.
    """
    log_s = np.asarray(log_s, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    n = C.shape[0]
    _check_square(C, r)
    if log_s.shape != (n,):
        raise ValueError(f"log_s must have shape ({n},), got {log_s.shape}")
    dps = dps_for(log_s) if dps is None else dps
    with mp.workdps(dps):
        s = [mp.exp(mp.mpf(float(x))) if np.isfinite(x) else mp.mpf(0) for x in log_s]
        X = mp.matrix(n, n)
        for a in range(n):
            for b in range(n):
                X[a, b] = s[a] * mp.mpf(float(C[a, b])) * s[b]
        E, Q = mp.eigsy(X)
        order = sorted(range(n), key=lambda k: -abs(E[k]))
        Es = [E[k] for k in order]
        Um = mp.matrix(n, n)
        for col, k in enumerate(order):
            sign = -1 if Q[col, k] < 0 else 1
            for a in range(n):
                Um[a, col] = sign * Q[a, k]
        U = np.array([[float(Um[a, b]) for b in range(n)] for a in range(n)])
        sig_scaled = np.array([float(Es[i] / s[i] ** 2) if s[i] != 0 else math.nan for i in range(n)])
        log_abs = np.array([float(mp.log(abs(e))) if e != 0 else -math.inf for e in Es])
        lower = np.array([[float(Um[a, b] * s[b] / s[a]) for b in range(r)] for a in range(r)])
        upper = np.array([[float(Um[a, b] * s[a] / s[b]) for b in range(r)] for a in range(r)])
        ratio_next = float(abs(Es[r]) / Es[r - 1]) if r < n and Es[r - 1] != 0 else math.nan
    return GradedEig(U, sig_scaled, log_abs, lower, upper, ratio_next, log_s, r, dps)


def eig_float64(log_s, C) -> tuple[np.ndarray, np.ndarray]:
    """Plain float64 ``eigh`` of X = S C S with the same ordering and sign conventions (a cross-check
    that is only trusted on entries above its Davis–Kahan resolution, see :func:`float64_resolution`)."""
    s = np.exp(np.asarray(log_s, dtype=np.float64))
    X = s[:, None] * np.asarray(C, dtype=np.float64) * s[None, :]
    w, V = np.linalg.eigh((X + X.T) / 2)
    order = np.argsort(-np.abs(w), kind="stable")
    w, V = w[order], V[:, order]
    V = V * np.where(np.diag(V) < 0, -1.0, 1.0)[None, :]
    return w, V


def float64_resolution(sigma_abs: np.ndarray, n: int) -> np.ndarray:
    """Per-eigenvector absolute error bound of float64 eigh: c n eps ||X|| / gap_i (Davis–Kahan)."""
    sig = np.asarray(sigma_abs, dtype=np.float64)
    gaps = np.array([min([abs(sig[i] - sig[k]) for k in range(len(sig)) if k != i] or [np.inf])
                     for i in range(len(sig))])
    return 8 * n * np.finfo(np.float64).eps * np.max(np.abs(sig)) / np.maximum(gaps, 1e-300)


# ----------------------------------------------------------------------------------------------
# Section 6: J = A B with A = U_A S_A (right singular vectors = standard basis)
# ----------------------------------------------------------------------------------------------


@dataclass
class Section6:
    """R_L = U_A^T U_J and the scaled views of Remark 6.3, computed by an mp SVD of J itself."""

    R: np.ndarray  # U_A^T U_J, columns i <= r sign-aligned
    sJ_over_sA: np.ndarray  # s_{J,i} / s_{A,i}
    lower: np.ndarray  # (S_A^{r,r})^{-1} R^{r,r} S_A^{r,r}
    upper: np.ndarray  # S_A^{r,r} R^{r,r} (S_A^{r,r})^{-1}
    log_sJ: np.ndarray


def _orthonormalize_mp(Q):
    """Modified Gram-Schmidt (twice, for full working precision) on the columns of an mp matrix."""
    n = Q.rows
    Q = Q.copy()
    for _ in range(2):
        for b in range(n):
            for c in range(b):
                proj = mp.fsum(Q[k, c] * Q[k, b] for k in range(n))
                for k in range(n):
                    Q[k, b] -= proj * Q[k, c]
            nrm = mp.sqrt(mp.fsum(Q[k, b] ** 2 for k in range(n)))
            for k in range(n):
                Q[k, b] /= nrm
    return Q


def section6(log_sA, UA, B, r: int, dps: int | None = None) -> Section6:
    """SVD of ``J = U_A diag(exp(log_sA)) B`` in mpmath (an algorithm independent of :func:`graded_eig`).

    Sign convention of Theorem 6.1: the i-th columns of U_A and U_J have non-negative dot product,
    i <= r (we apply it to every column; for i > r it is a free choice).
    """
    log_sA = np.asarray(log_sA, dtype=np.float64)
    UA = np.asarray(UA, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n = B.shape[0]
    dps = dps_for(log_sA) if dps is None else dps
    with mp.workdps(dps):
        sA = [mp.exp(mp.mpf(float(x))) for x in log_sA]
        # a float64 'orthogonal' U_A is orthogonal only to ~1e-16, which the graded scaling would amplify
        # by s_1/s_r: re-orthonormalise it at working precision (Gram-Schmidt, columns in order).
        UAm = _orthonormalize_mp(mp.matrix(UA.tolist()))
        J = UAm * mp.diag(sA) * mp.matrix(B.tolist())
        UJ, SJ, _ = mp.svd_r(J)
        R = UAm.T * UJ
        for b in range(n):
            if R[b, b] < 0:
                for a in range(n):
                    R[a, b] = -R[a, b]
        Rf = np.array([[float(R[a, b]) for b in range(n)] for a in range(n)])
        ratio = np.array([float(SJ[i] / sA[i]) for i in range(n)])
        lower = np.array([[float(R[a, b] * sA[b] / sA[a]) for b in range(r)] for a in range(r)])
        upper = np.array([[float(R[a, b] * sA[a] / sA[b]) for b in range(r)] for a in range(r)])
        logsJ = np.array([float(mp.log(SJ[i])) if SJ[i] > 0 else -math.inf for i in range(n)])
    return Section6(Rf, ratio, lower, upper, logsJ)


# ----------------------------------------------------------------------------------------------
# Deterministic separated sequences s_{i,L}
# ----------------------------------------------------------------------------------------------


def log_s_sequence(a, L: float, kind: str = "exp") -> np.ndarray:
    """log s_{i,L} for the separated families used by the checks.

    ``exp``: s_{i,L} = exp(-L a_i) (exponential separation, gaps a_{i+1} - a_i).
    ``poly``: s_{i,L} = L^{-a_i} (polynomial, s_{i+1}/s_i = L^{-(a_{i+1}-a_i)}; a = 0,1,2.. gives 1/L).
    ``a_i = inf`` gives s_i = 0.
    """
    a = np.asarray(a, dtype=np.float64)
    if np.any(np.diff(a[np.isfinite(a)]) < 0):
        raise ValueError("a must be non-decreasing (s non-increasing)")
    if kind == "exp":
        return -L * a
    if kind == "poly":
        return -a * math.log(L)
    raise ValueError(f"kind must be 'exp' or 'poly', got {kind!r}")


# ----------------------------------------------------------------------------------------------
# Random products (Section 6's setting, Section 8 figures)
# ----------------------------------------------------------------------------------------------


def suffix_products(M):
    """For layers ``M`` of shape (batch, L, n, n) (M[:, k] is M_{k+1}), return ``A`` of shape
    (batch, L, n, n) with ``A[:, l] = M_L ... M_{l+1}`` (Section 6's A_l, l = 0..L-1; A[:, 0] = J_L).

    Products are renormalised by their Frobenius norm at every step (singular *vectors* are
    scale-free, so this only prevents under/overflow).
    """
    import torch

    batch, L, n, _ = M.shape
    out = torch.empty_like(M)
    acc = M[:, L - 1]
    acc = acc / acc.flatten(1).norm(dim=1)[:, None, None]
    out[:, L - 1] = acc
    for l in range(L - 2, -1, -1):
        acc = acc @ M[:, l]
        nrm = acc.flatten(1).norm(dim=1)[:, None, None]
        acc = acc / torch.where(nrm > 0, nrm, torch.ones_like(nrm))
        out[:, l] = acc
    return out


def sign_align(U_ref, U):
    """Flip columns of ``U`` (torch or numpy, batched ok) so that diag(U_ref^T U) >= 0."""
    d = (U_ref * U).sum(-2)
    if hasattr(d, "detach"):
        import torch

        return U * torch.where(d < 0, -1.0, 1.0).to(U.dtype).unsqueeze(-2)
    return U * np.where(d < 0, -1.0, 1.0)[..., None, :]


def rho_batch(W) -> np.ndarray:
    """Diagonal correlation (Appendix F, absolute values) of a batch of square matrices (..., k, k).

    Vectorised Pearson form; equals :func:`theory.diagcorr.rho` entrywise (tested)."""
    W = np.abs(np.asarray(W, dtype=np.float64))
    k = W.shape[-1]
    idx = np.arange(1, k + 1, dtype=np.float64)
    P = W / W.sum(axis=(-2, -1), keepdims=True)
    px, py = P.sum(-1), P.sum(-2)
    ex, ey = px @ idx, py @ idx
    cov = np.einsum("i,...ij,j->...", idx, P, idx) - ex * ey
    vx, vy = px @ idx**2 - ex**2, py @ idx**2 - ey**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((vx > 0) & (vy > 0), cov / np.sqrt(vx * vy), np.nan)


# ----------------------------------------------------------------------------------------------
# Depth ladders for the deterministic checks of Theorem D.1
# ----------------------------------------------------------------------------------------------

# Allowed constant in the O(eps) remainders of the limits of Theorem D.1 / Remark D.2, where
# eps = K_eff * rho (rho = largest separation ratio s_{i+1}/s_i, i <= r; K_eff = ||C|| / min ell_i).
# First-order perturbation of X = S C S makes every remainder a sum of at most n^2 terms, each a
# product of entries of C / ell_i (<= K_eff) and ratios (<= rho): |remainder| <= n^2 K_eff rho. With
# n <= 5 that is <= 25 eps; 100 leaves a factor 4 for the second-order terms at eps <= 1e-2.
REMAINDER_CONST = 100.0


def k_eff(C, r: int) -> float:
    """||C||_2 / min_i ell_i (>= 1 for PSD C): the constant that scales the perturbation eps."""
    ell = leading_minor_ratios(C, r)
    return float(max(1.0, np.linalg.norm(np.asarray(C, dtype=np.float64), 2) / np.min(np.abs(ell))))


def min_gap(a, r: int) -> float:
    """Smallest separation exponent a_{i+1} - a_i over i <= r (the slowest ratio in hypothesis (ii))."""
    a = np.asarray(a, dtype=np.float64)
    g = np.diff(a[: r + 1])
    g = np.where(np.isfinite(g), g, np.inf)
    return float(np.min(g))


def depth_for(eps: float, a, r: int, K: float, kind: str) -> float:
    """Depth L at which K * rho_L = eps (rho_L = exp(-L g) or L^{-g}, g the slowest gap)."""
    g = min_gap(a, r)
    if not np.isfinite(g):  # every s_{i>r} = 0 from the start: any depth is asymptotic
        return 1.0
    if kind == "exp":
        return math.log(K / eps) / g
    return (K / eps) ** (1.0 / g)


def rho_of(log_s, r: int) -> float:
    """max_{i <= r} s_{i+1}/s_i (0 when s_{i+1} = 0)."""
    ls = np.asarray(log_s, dtype=np.float64)
    return float(np.max(np.exp(ls[1 : r + 1] - ls[:r])))


@dataclass
class Rung:
    L: float
    rho: float
    eps: float
    log_s: np.ndarray
    eig: GradedEig


def run_ladder(a, C, r: int, kind: str, eps_targets) -> tuple[Prediction, float, list[Rung]]:
    """Graded eigen-decompositions of X_L = S_L C S_L along the depths where K_eff*rho_L hits each target."""
    pred = predict(C, r)
    K = k_eff(C, r)
    rungs = []
    for e in eps_targets:
        L = depth_for(e, a, r, K, kind)
        ls = log_s_sequence(a, L, kind)
        rho = rho_of(ls, r)
        rungs.append(Rung(L, rho, K * rho, ls, graded_eig(ls, C, r)))
    return pred, K, rungs


def k_tail(C, r: int) -> np.ndarray:
    """Derived constants of Remark D.3: e_j^T u_i ~ K_{j,i} s_j/s_i for i <= r < j, with
    K = C_{(r+1:n),(1:r)} T_C^{-T} Sigma_C^{-1} (lower-left block of C = P D P^T, eq. (2))."""
    C = np.asarray(C, dtype=np.float64)
    pred = predict(C, r)
    return C[r:, :r] @ pred.Tinv.T / pred.Sigma[None, :]


def fgln_products(gen, samples: int, n: int, p: float, L: int, sigma: float, reading: str = "fgln"):
    """Batched products at initialisation for the alignment figures (Section 8 / Appendix G.2).

    ``reading="fgln"`` (Section 8 says notations are those of Section 7; the network is an FGLN, Def. 4.1):
    J = W_L D_{L-1} W_{L-1} ... D_1 W_1 and A_l = W_L D_{L-1} ... W_{l+1} D_l (l = 1..L-1).
    ``reading="masked"`` (Section 6's A_l with Section 5's layers M = D W, every layer gated):
    J = M_L ... M_1 and A_l = M_L ... M_{l+1}.
    ``reading="masked+1"`` (Remark 7.2's A_l = M_{l:L}): A_l = M_L ... M_l.
    Returns (J, A) with A[:, l-1] = A_l, shapes (S, n, n) and (S, L-1, n, n); each product is
    Frobenius-normalised (singular vectors and rho are scale-free).
    """
    import torch

    from theory import samplers

    W = samplers.ginibre(samples * L, n, sigma, gen).reshape(samples, L, n, n)
    D = samplers.p_gate(samples * L, n, p, gen).reshape(samples, L, n) if p < 1 else \
        torch.ones(samples, L, n, dtype=torch.float64, device=gen.device)

    def nrm(X):
        f = X.flatten(1).norm(dim=1)[:, None, None]
        return X / torch.where(f > 0, f, torch.ones_like(f))

    A = torch.empty(samples, L - 1, n, n, dtype=torch.float64, device=gen.device)
    if reading == "fgln":
        P = nrm(W[:, L - 1])  # P_L = W_L
        for l in range(L - 1, 0, -1):  # A_l = P_{l+1} D_l ; P_l = A_l W_l
            A[:, l - 1] = nrm(P * D[:, l - 1][:, None, :])
            P = nrm(A[:, l - 1] @ W[:, l - 1])
        return P, A
    M = D[:, :, :, None] * W  # M_k = D_k W_k (index k-1)
    acc = nrm(M[:, L - 1])
    suffix = {L - 1: acc}  # suffix[l] = M_L ... M_{l+1}
    for l in range(L - 2, -1, -1):
        acc = nrm(acc @ M[:, l])
        suffix[l] = acc
    J = suffix[0]
    for l in range(1, L):
        A[:, l - 1] = suffix[l] if reading == "masked" else suffix[l - 1]
    if reading not in ("masked", "masked+1"):
        raise ValueError(f"unknown reading {reading!r}")
    return J, A


def alignment_profiles(J, A, k: int = 10) -> dict:
    """Per-sample diagonal correlations along l (Appendix F, absolute values), numpy (S, L-1) arrays:
    ``full``: rho(U_J^T U_{A_l}) (n x n); ``top``: rho of its top-left k x k block (Figure 11);
    ``gram``: rho of the top-left k x k block of U_J^T A_l A_l^T U_J (Figure 10);
    ``aat``: rho of the top-left k x k block of A_l A_l^T (Figure 12);
    ``sep``: log(s_1/s_k) of A_l (spectral separation of A_l A_l^T, in log, halved)."""
    import torch

    UJ = torch.linalg.svd(J)[0]
    UA, sA, _ = torch.linalg.svd(A)
    R = UJ.transpose(-1, -2).unsqueeze(1) @ UA
    Uk = UJ[:, :, :k].unsqueeze(1)
    G = Uk.transpose(-1, -2) @ A
    gram = G @ G.transpose(-1, -2)
    Ak = A[:, :, :k, :]
    aat = Ak @ Ak.transpose(-1, -2)
    return {
        "full": rho_batch(R.cpu().numpy()),
        "top": rho_batch(R[..., :k, :k].cpu().numpy()),
        "gram": rho_batch(gram.cpu().numpy()),
        "aat": rho_batch(aat.cpu().numpy()),
        "sep": (torch.log(sA[..., 0]) - torch.log(sA[..., k - 1])).cpu().numpy(),
    }


def ldl_unit_batch(Cr) -> tuple[np.ndarray, np.ndarray]:
    """Batched :func:`ldl_unit`: ``Cr[k] = T[k] diag(d[k]) T[k]^T`` for a stack (..., r, r), float64.

    For Monte Carlo over many small matrices (random products, Section 6). Entries whose leading
    block is not positive definite get ``nan`` in T and d instead of raising.
    """
    Cr = np.asarray(Cr, dtype=np.float64)
    if Cr.ndim < 2 or Cr.shape[-1] != Cr.shape[-2]:
        raise ValueError(f"Cr must be a stack of square matrices, got shape {Cr.shape}")
    r = Cr.shape[-1]
    T = np.broadcast_to(np.eye(r), Cr.shape).copy()
    d = np.zeros(Cr.shape[:-1])
    bad = np.zeros(Cr.shape[:-2], dtype=bool)
    for j in range(r):
        d[..., j] = Cr[..., j, j] - np.sum(T[..., j, :j] ** 2 * d[..., :j], axis=-1)
        bad |= ~(d[..., j] > 0)
        dj = np.where(d[..., j] > 0, d[..., j], np.nan)
        for i in range(j + 1, r):
            T[..., i, j] = (Cr[..., i, j] - np.sum(T[..., i, :j] * T[..., j, :j] * d[..., :j], axis=-1)) / dj
    T[bad] = np.nan
    d[bad] = np.nan
    return T, d
