"""Fixed-gates linear networks (Definitions 4.1, 4.3), their partial products, and bias-free ReLU MLPs.

Conventions (paper, Section 3 and Definition 4.1)
-------------------------------------------------
* Weights ``Ws = [W_1, ..., W_L]`` with ``W_l`` of shape ``(n_l, n_{l-1})`` (rectangular allowed).
* Gates ``ds = [d_1, ..., d_{L-1}]`` are the *diagonals* of ``D_1..D_{L-1}`` (any real numbers; a
  Masked Linear Network has entries in {0, 1}). ``D_0 = I`` and ``D_L = I``.
* ``M_{a:b} := M_b ... M_a`` (1-based, inclusive) and ``M_{a:b} := I`` when ``a > b``.
* The two layer conventions of the paper are kept apart, because they differ for non-0/1 gates:
  ``layers_two_sided``: ``M_l = D_l W_l D_{l-1}`` (Proposition 4.5, Lemma A.1);
  ``layers_left``:      ``M_l = D_l W_l``         (Lemma E.1, Remark 7.2 with M_l = D_l W_l).
* ``A_sec7(l) = W_L D_{L-1} ... W_{l+1} D_l`` and ``B_sec7(l) = D_{l-1} W_{l-1} ... D_1 W_1`` (Section 7),
  so that ``J = A_l W_l B_l``; ``A_rem72(l) = M_{l:L}``, ``B_rem72(l) = M_{1:l-1}`` (Remark 7.2).

Everything here is plain float64 numpy (the oracle side); :mod:`theory.dynamics` holds the flows.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def check_network(Ws, ds) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate shapes: W_l is (n_l, n_{l-1}), d_l has length n_l, len(ds) == L - 1."""
    Ws = [np.asarray(w, dtype=np.float64) for w in Ws]
    ds = [np.asarray(d, dtype=np.float64).ravel() for d in ds]
    L = len(Ws)
    if L < 1:
        raise ValueError("an FGLN needs at least one weight matrix")
    if len(ds) != L - 1:
        raise ValueError(f"need L-1 = {L - 1} gates, got {len(ds)}")
    for l in range(1, L):
        if Ws[l].shape[1] != Ws[l - 1].shape[0]:
            raise ValueError(f"W_{l + 1} has {Ws[l].shape[1]} columns but W_{l} has {Ws[l - 1].shape[0]} rows")
        if ds[l - 1].shape[0] != Ws[l - 1].shape[0]:
            raise ValueError(f"gate d_{l} has length {ds[l - 1].shape[0]}, expected n_{l} = {Ws[l - 1].shape[0]}")
    return Ws, ds


def widths(Ws) -> list[int]:
    """[n_0, n_1, ..., n_L]."""
    return [Ws[0].shape[1]] + [w.shape[0] for w in Ws]


def full_gates(Ws, ds) -> list[np.ndarray]:
    """[d_0, d_1, ..., d_L] with d_0 = 1 and d_L = 1 (the paper's D_0 = I, D_L = I)."""
    n = widths(Ws)
    return [np.ones(n[0])] + [np.asarray(d, dtype=np.float64) for d in ds] + [np.ones(n[-1])]


# ---------------------------------------------------------------------------------------------
# products
# ---------------------------------------------------------------------------------------------
def jacobian(Ws, ds) -> np.ndarray:
    """J = W_L D_{L-1} W_{L-1} ... D_1 W_1 (Definition 4.1), multiplied left to right from W_1."""
    Ws, ds = check_network(Ws, ds)
    J = Ws[0]
    for l in range(1, len(Ws)):
        J = Ws[l] @ (ds[l - 1][:, None] * J)
    return J


def layers_two_sided(Ws, ds) -> list[np.ndarray]:
    """M_l = D_l W_l D_{l-1}, l = 1..L (Proposition 4.5, Lemma A.1)."""
    Ws, ds = check_network(Ws, ds)
    g = full_gates(Ws, ds)
    return [g[l][:, None] * Ws[l - 1] * g[l - 1][None, :] for l in range(1, len(Ws) + 1)]


def layers_left(Ws, ds) -> list[np.ndarray]:
    """M_l = D_l W_l, l = 1..L with D_L = I (Lemma E.1)."""
    Ws, ds = check_network(Ws, ds)
    g = full_gates(Ws, ds)
    return [g[l][:, None] * Ws[l - 1] for l in range(1, len(Ws) + 1)]


def pprod(Ms, a: int, b: int, dim: int | None = None) -> np.ndarray:
    """M_{a:b} = M_b ... M_a (1-based). For a > b the identity of size ``dim`` (default: the input
    size of M_a if a <= L, else the output size of M_L)."""
    L = len(Ms)
    if a > b:
        if dim is None:
            dim = Ms[a - 1].shape[1] if 1 <= a <= L else Ms[-1].shape[0]
        return np.eye(dim)
    if not (1 <= a and b <= L):
        raise ValueError(f"M_{{{a}:{b}}} out of range for L = {L}")
    P = Ms[a - 1]
    for l in range(a + 1, b + 1):
        P = Ms[l - 1] @ P
    return P


def A_sec7(Ws, ds, l: int) -> np.ndarray:
    """A_l := W_L D_{L-1} W_{L-1} ... W_{l+1} D_l (Section 7); A_L = D_L = I."""
    Ws, ds = check_network(Ws, ds)
    g = full_gates(Ws, ds)
    P = np.diag(g[l])
    for k in range(l + 1, len(Ws) + 1):
        P = Ws[k - 1] @ P
        if k < len(Ws):
            P = g[k][:, None] * P
    return P


def B_sec7(Ws, ds, l: int) -> np.ndarray:
    """B_l := D_{l-1} W_{l-1} ... D_1 W_1 (Section 7); B_1 = D_0 = I."""
    Ws, ds = check_network(Ws, ds)
    g = full_gates(Ws, ds)
    P = np.eye(widths(Ws)[0])
    for k in range(1, l):
        P = g[k][:, None] * (Ws[k - 1] @ P)
    return P


def prefix_suffix(Ws, ds):
    """All B_l and A_l of Section 7 in O(L) products: lists indexed l = 1..L (entry l-1)."""
    Ws, ds = check_network(Ws, ds)
    L = len(Ws)
    g = full_gates(Ws, ds)
    B = [np.eye(Ws[0].shape[1])]
    for l in range(2, L + 1):
        B.append(g[l - 1][:, None] * (Ws[l - 2] @ B[-1]))
    A = [None] * L
    A[L - 1] = np.eye(Ws[-1].shape[0])
    for l in range(L - 1, 0, -1):
        A[l - 1] = (A[l] @ Ws[l]) * g[l][None, :]
    return A, B


# ---------------------------------------------------------------------------------------------
# gradients (Lemma A.1) and J-dot (Lemma E.1)
# ---------------------------------------------------------------------------------------------
def grad_weights(Ws, ds, G) -> list[np.ndarray]:
    """Exact chain rule: grad_{W_l} L = A_l^T G B_l^T, with A_l, B_l of Section 7 (J = A_l W_l B_l)."""
    A, B = prefix_suffix(Ws, ds)
    G = np.asarray(G, dtype=np.float64)
    return [A[l].T @ G @ B[l].T for l in range(len(A))]


def grad_lemma_a1(Ws, ds, G) -> list[np.ndarray]:
    """Lemma A.1 as printed: D_l M_{l+1:L}^T G M_{1:l-1}^T with M_l := D_l W_l D_{l-1}."""
    Ms = layers_two_sided(Ws, ds)
    g = full_gates(*check_network(Ws, ds))
    L = len(Ms)
    out = []
    for l in range(1, L + 1):
        suf = pprod(Ms, l + 1, L, dim=Ms[l - 1].shape[0])
        pre = pprod(Ms, 1, l - 1, dim=Ms[0].shape[1])
        out.append(g[l][:, None] * (suf.T @ G @ pre.T))
    return out


def jdot_from_weight_velocity(Ws, ds, Wdots) -> np.ndarray:
    """dJ/dt = sum_l A_l Wdot_l B_l (product rule on Definition 4.1, gates fixed)."""
    A, B = prefix_suffix(Ws, ds)
    return sum(A[l] @ Wdots[l] @ B[l] for l in range(len(A)))


def jdot_flow(Ws, ds, G) -> np.ndarray:
    """dJ/dt under gradient flow Wdot_l = -grad_{W_l}: -sum_l A_l A_l^T G B_l^T B_l (exact)."""
    return jdot_from_weight_velocity(Ws, ds, [-g for g in grad_weights(Ws, ds, G)])


def jdot_e1_sum(Ws, ds, G, gate_power: int, prefix_shift: int = 0) -> np.ndarray:
    """-sum_l M_{l+1:L} D_l^k M_{l+1:L}^T G P_l^T P_l with M_l := D_l W_l, k = gate_power and P_l = M_{1:l-1+s},
    s = prefix_shift (Lemma E.1: k = 1, s = 0; its correction k = 2; other values are wrong variants)."""
    Ms = layers_left(Ws, ds)
    g = full_gates(*check_network(Ws, ds))
    L = len(Ms)
    out = 0.0
    for l in range(1, L + 1):
        suf = pprod(Ms, l + 1, L, dim=Ms[l - 1].shape[0])
        pre = pprod(Ms, 1, min(l - 1 + prefix_shift, L), dim=Ms[0].shape[1])
        out = out - (suf * (g[l] ** gate_power)[None, :]) @ suf.T @ G @ pre.T @ pre
    return out


def jdot_lemma_e1(Ws, ds, G) -> np.ndarray:
    """Lemma E.1 as printed: -sum_l M_{l+1:L} D_l M_{l+1:L}^T G M_{1:l-1}^T M_{1:l-1}, M_l := D_l W_l."""
    return jdot_e1_sum(Ws, ds, G, gate_power=1)


def jdot_lemma_e1_corrected(Ws, ds, G) -> np.ndarray:
    """Lemma E.1 with D_l replaced by D_l^2 (the form valid for general diagonal gates)."""
    return jdot_e1_sum(Ws, ds, G, gate_power=2)


# ---------------------------------------------------------------------------------------------
# balanced masked initialisation (Proposition 4.5)
# ---------------------------------------------------------------------------------------------
def balanced_masked_init(ns, ds, svals, rng: np.random.Generator, junk: float = 1.0):
    """Weights with M_{l+1}^T M_{l+1} = M_l M_l^T for M_l = D_l W_l D_{l-1} and 0/1 gates.

    Construction: M_l = U_l diag(svals) U_{l-1}^T where U_l (n_l x r) has orthonormal columns
    supported on the open coordinates of D_l; entries of W_l that the gates hide get i.i.d.
    N(0, junk^2) values (they never influence J, nor are they trained). r = len(svals) must not
    exceed the rank of any gate nor any width.
    """
    ns = list(ns)
    L = len(ns) - 1
    g = [np.ones(ns[0])] + [np.asarray(d, dtype=np.float64) for d in ds] + [np.ones(ns[-1])]
    r = len(svals)
    Us = []
    for l in range(L + 1):
        idx = np.flatnonzero(g[l] != 0)
        if idx.size < r:
            raise ValueError(f"gate {l} has rank {idx.size} < r = {r}")
        q, _ = np.linalg.qr(rng.standard_normal((idx.size, r)))
        U = np.zeros((ns[l], r))
        U[idx] = q
        Us.append(U)
    Ws = []
    for l in range(1, L + 1):
        core = (Us[l] * np.asarray(svals)) @ Us[l - 1].T
        hidden = 1.0 - np.outer(g[l] != 0, g[l - 1] != 0)
        Ws.append(core + junk * hidden * rng.standard_normal(core.shape))
    return Ws


def balance_defect(Ws, ds) -> list[np.ndarray]:
    """Delta_l = M_{l+1}^T M_{l+1} - M_l M_l^T, l = 1..L-1, for M_l = D_l W_l D_{l-1}."""
    Ms = layers_two_sided(Ws, ds)
    return [Ms[l].T @ Ms[l] - Ms[l - 1] @ Ms[l - 1].T for l in range(1, len(Ms))]


# ---------------------------------------------------------------------------------------------
# multi-mode FGLN (Definition 4.3) and bias-free ReLU MLP (Remark 4.4)
# ---------------------------------------------------------------------------------------------
def multimode_apply(Ws, gates_by_mode: dict, sigma, X) -> np.ndarray:
    """x -> J^{(sigma(x))} x for the columns x of X (Definition 4.3)."""
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((Ws[-1].shape[0], X.shape[1]))
    for j in range(X.shape[1]):
        m = sigma(X[:, j])
        out[:, j] = jacobian(Ws, gates_by_mode[m]) @ X[:, j]
    return out


def relu_mlp(Ws, x) -> np.ndarray:
    """Bias-free ReLU MLP x -> W_L relu(W_{L-1} ... relu(W_1 x))."""
    h = np.asarray(x, dtype=np.float64)
    for W in Ws[:-1]:
        h = np.maximum(W @ h, 0.0)
    return Ws[-1] @ h


def activation_pattern(Ws, x) -> tuple:
    """The mode sigma(x): per hidden layer, the 0/1 vector 1[pre-activation > 0]."""
    h = np.asarray(x, dtype=np.float64)
    pat = []
    for W in Ws[:-1]:
        z = W @ h
        d = (z > 0).astype(np.float64)
        pat.append(d)
        h = d * z
    return tuple(pat)


def pattern_key(pattern) -> tuple:
    """A hashable mode index for an activation pattern."""
    return tuple(tuple(int(v) for v in d) for d in pattern)


def preactivation_margin(Ws, x) -> float:
    """min_l,i |pre-activation_{l,i}(x)|: distance (in pre-activation units) to an activation boundary."""
    h = np.asarray(x, dtype=np.float64)
    m = np.inf
    for W in Ws[:-1]:
        z = W @ h
        m = min(m, float(np.min(np.abs(z))))
        h = np.maximum(z, 0.0)
    return m


# ---------------------------------------------------------------------------------------------
# spectra
# ---------------------------------------------------------------------------------------------
def svd_sorted(M):
    """Full SVD with singular values in non-increasing order (numpy's convention)."""
    return np.linalg.svd(np.asarray(M, dtype=np.float64))


def log_svals(M, k: int | None = None, floor: float = 1e-300) -> np.ndarray:
    s = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    s = s if k is None else s[:k]
    return np.log(np.maximum(s, floor))


def depth_scaling_eps(logs_by_depth: np.ndarray, depths: np.ndarray):
    """Smallest eps with |log s - (l*gamma + delta)| <= eps for all l (Definition 4.6), one mode.

    Chebyshev (minimax) affine fit by linear programming. Returns (eps, gamma, delta).
    """
    from scipy.optimize import linprog

    y = np.asarray(logs_by_depth, dtype=np.float64)
    x = np.asarray(depths, dtype=np.float64)
    # variables (gamma, delta, eps); minimise eps s.t. +-(y - x gamma - delta) <= eps
    A = np.concatenate([np.stack([-x, -np.ones_like(x), -np.ones_like(x)], 1),
                        np.stack([x, np.ones_like(x), -np.ones_like(x)], 1)])
    b = np.concatenate([-y, y])
    res = linprog([0, 0, 1], A_ub=A, b_ub=b, bounds=[(None, None)] * 3, method="highs")
    if not res.success:
        raise RuntimeError(f"depth_scaling_eps: LP failed: {res.message}")
    g, d, e = res.x
    return float(e), float(g), float(d)


def separation_ratios(M, r: int) -> np.ndarray:
    """s_{k+1}/s_k for k = 1..r with the convention s_{n+1} = 0 (Definition 4.7)."""
    s = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    s = np.concatenate([s, [0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return s[1:r + 1] / s[:r]


# ---------------------------------------------------------------------------------------------
# Section 7 / Appendix E: regimes where assumptions (i) and (ii) hold to a measured degree
# ---------------------------------------------------------------------------------------------
def small_rotation(n: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """exp(eta K) for a random skew K with ||K||_max <= 1 (an orthogonal matrix eta-close to I)."""
    from scipy.linalg import expm

    K = rng.uniform(-1.0, 1.0, (n, n))
    return expm(eta * (K - K.T) / 2)


def shared_basis_chain(n: int, layer_svals, rng: np.random.Generator, eta: float = 0.0):
    """Square weights W_l = Q_l diag(layer_svals[l]) R_l Q_{l-1}^T with Haar Q_l and R_l = exp(eta K_l).

    With eta = 0 all partial products share singular bases exactly (assumption (ii) with eps = 0),
    and their singular values are products of ``layer_svals`` (so assumption (i) can be met exactly
    by choosing them); eta > 0 breaks the alignment by a controlled amount.
    """
    from checks.strategies import haar_orthogonal_np

    L = len(layer_svals)
    Qs = [haar_orthogonal_np(n, rng) for _ in range(L + 1)]
    return [(Qs[l + 1] * np.asarray(layer_svals[l])) @ small_rotation(n, eta, rng) @ Qs[l].T
            for l in range(L)]


def _aligned_svd(M, U_ref):
    """SVD of M whose left vectors are sign-matched to U_ref (and = U_ref when M is a multiple of
    an orthogonal matrix, where the SVD basis is arbitrary)."""
    U, s, Vt = np.linalg.svd(M)
    if s[0] > 0 and np.allclose(s, s[0], rtol=1e-12, atol=0.0):
        U_new = U_ref
        Vt = (U_new.T @ M) / s[:, None]
        return U_new, s, Vt
    sg = np.sign(np.sum(U * U_ref, axis=0))
    sg[sg == 0] = 1.0
    return U * sg, s, Vt * sg[:, None]


# Exponent conventions for assumption (i) of Proposition 7.1 and Remark 7.2, as offsets (a, b) in
#   log s_k(A_l) = (L - l + 1 - a) gamma_k + delta_k,   log s_k(B_l) = (l - b) gamma_k + delta_k.
# As printed, both statements use (L - l + 1) and l. Counting the factors of each partial product (the
# convention of Definition 4.6 and Theorem 5.3, and the one the proofs in E.2 / E.3 compute with): in
# Section 7, A_l = W_L D_{L-1} ... W_{l+1} D_l has L - l weight matrices and B_l = D_{l-1} W_{l-1} ... W_1
# has l - 1; in Remark 7.2, A_l = M_{l:L} has L - l + 1 factors and B_l = M_{1:l-1} has l - 1.
PRINTED_EXPONENTS = (0, 0)
FACTOR_COUNT_71 = (1, 1)
FACTOR_COUNT_72 = (0, 1)


def fit_depth_scaling(logA, logB, offsets=PRINTED_EXPONENTS):
    """Least-squares (gamma_k, delta_k) of assumption (i) over l = 1..L (rows of ``logA``, ``logB``, one
    column per mode) under the exponent convention ``offsets``; returns (gamma, delta, max residual)."""
    logA, logB = np.atleast_2d(logA), np.atleast_2d(logB)
    L = logA.shape[0]
    a, b = offsets
    ls = np.arange(1, L + 1, dtype=np.float64)
    X = np.concatenate([np.stack([L - ls + 1 - a, np.ones(L)], 1), np.stack([ls - b, np.ones(L)], 1)])
    Y = np.concatenate([logA, logB])
    c, *_ = np.linalg.lstsq(X, Y, rcond=None)
    return c[0], c[1], np.max(np.abs(X @ c - Y), axis=0)


# A mode is resolved in float64 when s_k / s_1 stays above this in J and every partial product: its
# singular value then has relative accuracy ~ eps / 1e-8 and its ds_k/dt is meaningful.
RESOLVED = 1e-8


def section7_diagnostics(Ws, ds, G, offsets=PRINTED_EXPONENTS):
    """Everything Proposition 7.1 speaks about, for a square FGLN at one time.

    Returns dict with s (singular values of J), g_k = <G, u_k v_k^T>, sdot (exact u_k^T Jdot v_k under
    gradient flow), logA[l,k], logB[l,k] (l = 1..L), gamma_k, delta_k of assumption (i) fitted by least
    squares under the exponent convention ``offsets`` (max residual fit_resid[k]), eps = max_l
    max(||U^T U_{A_l} - I||_max, ||V^T V_{B_l} - I||_max) of assumption (ii) (SVD signs matched to U, V),
    the aligned form -sum_l s_k(A_l)^2 s_k(B_l)^2 g_k (the E.2 display before (i) is used) and
    ``resolved`` (modes whose singular values float64 resolves in J and every A_l, B_l).
    """
    Ws, ds = check_network(Ws, ds)
    L = len(Ws)
    J = jacobian(Ws, ds)
    U, s, Vt = np.linalg.svd(J)
    V = Vt.T
    Jdot = jdot_flow(Ws, ds, G)
    sdot = np.einsum("ik,ij,jk->k", U, Jdot, V)
    g = np.einsum("ik,ij,jk->k", U, G, V)
    A, B = prefix_suffix(Ws, ds)
    n = J.shape[0]
    logA = np.empty((L, n))
    logB = np.empty((L, n))
    eps_rows = []
    resolved = s > RESOLVED * s[0]
    for l in range(L):
        Ua, sa, _ = _aligned_svd(A[l], U)
        Vb, sb, _ = _aligned_svd(B[l].T, V)  # right singular vectors of B = left of B^T
        resolved &= (sa > RESOLVED * sa[0]) & (sb > RESOLVED * sb[0])
        logA[l] = np.log(np.maximum(sa, 1e-300))
        logB[l] = np.log(np.maximum(sb, 1e-300))
        eps_rows.append(max(np.max(np.abs(U.T @ Ua - np.eye(n))), np.max(np.abs(V.T @ Vb - np.eye(n)))))
    gam, del_, res = fit_depth_scaling(logA, logB, offsets)
    aligned = -np.sum(np.exp(2 * (logA + logB)), axis=0) * g
    return {"s": s, "g": g, "sdot": sdot, "jdot_norm": float(np.linalg.norm(Jdot, 2)), "logA": logA, "logB": logB,
            "gamma": gam, "delta": del_, "fit_resid": res, "eps": float(max(eps_rows)), "eps_by_l": np.array(eps_rows),
            "aligned": aligned, "resolved": resolved, "L": L, "offsets": tuple(offsets)}


def prop71_printed(diag: dict, *, power: float | None = None, terms: float | None = None) -> np.ndarray:
    """Proposition 7.1's right-hand side -e^{(2+2/L) delta_k} L s_k^{2-2/L} <G, u_k v_k^T>, with delta_k as
    fitted in ``diag`` (i.e. under its exponent convention). ``power`` (2 - 2/L) and ``terms`` (L, the
    number of summands) are knobs for wrong variants."""
    L = diag["L"]
    power = 2 - 2 / L if power is None else power
    terms = L if terms is None else terms
    return -np.exp((2 + 2 / L) * diag["delta"]) * terms * diag["s"] ** power * diag["g"]


def prop71_exponent_sum(diag: dict) -> np.ndarray:
    """What (i) with the printed exponents gives, summed before the proof's product step:
    -L e^{2(L+1) gamma_k + 4 delta_k} <G, u_k v_k^T> (s_k(A_l) s_k(B_l) = e^{(L+1) gamma + 2 delta} for all l)."""
    L = diag["L"]
    return -L * np.exp(2 * (L + 1) * diag["gamma"] + 4 * diag["delta"]) * diag["g"]


def rem72_chain(n: int, L: int, gammas, rng: np.random.Generator, eta: float = 0.0, last_orthogonal: bool = True):
    """Square chain M_l = Q_l diag(e^gamma) R_l Q_{l-1}^T with R_l = exp(eta K_l).

    With ``last_orthogonal`` (M_L = Q_L R_L Q_{L-1}^T), Remark 7.2's assumption (i) *as printed* holds exactly
    at eta = 0 with delta_k = -gamma_k (A_l = M_{l:L} has L - l factors e^gamma, B_l = M_{1:l-1} has l - 1);
    without it every factor carries e^gamma and (i) holds with the factor-count exponents (FACTOR_COUNT_72)
    and delta_k = 0. Either way (ii) holds with T^- = T^+ = I and eps = 0 at eta = 0.
    """
    e = np.exp(np.asarray(gammas, dtype=np.float64))
    last = np.ones(n) if last_orthogonal else e
    return shared_basis_chain(n, [e] * (L - 1) + [last], rng, eta)


def rem72_diagnostics(Ms, Mdots, offsets=PRINTED_EXPONENTS, b_shift: int = 0, first_order: bool = True):
    """Remark 7.2 quantities for a square chain: actual ds_k/dt, the printed prediction e^{(1+1/L) delta_k}
    s_k^{1-1/L} sum_l (T^-_{l+1} V_{A_{l+1}}^T Mdot_l U_{B_{l-b}} T^+_{l-b})_kk with T^-/T^+ the triangular
    parts of the matrices in (ii) (``b_shift`` = 0: the B_l reading; 1: the literal B_{l-1}, B_0 := I), the
    unfactored first-order sum sum_l s_{A_{l+1},k} s_{B_l,k} (...)_kk, gamma/delta of (i) fitted under
    ``offsets``, eps of (ii) (largest entry outside the triangles), the resolved modes and term_scale[k] =
    sum_l s_{A_{l+1},k} s_{B_l,k} ||Mdot_l|| (the size of the summands). ``first_order=False`` replaces T^-, T^+
    by I (the order-zero alignment of Proposition 7.1) in the predictions."""
    L = len(Ms)
    n = Ms[0].shape[0]
    J = pprod(Ms, 1, L)
    U, s, Vt = np.linalg.svd(J)
    V = Vt.T
    Jdot = sum(pprod(Ms, l + 1, L, dim=n) @ Mdots[l - 1] @ pprod(Ms, 1, l - 1, dim=n) for l in range(1, L + 1))
    sdot = np.einsum("ik,ij,jk->k", U, Jdot, V)
    A = {l: pprod(Ms, l, L, dim=n) for l in range(1, L + 2)}  # A_l = M_{l:L}, A_{L+1} = I
    B = {l: pprod(Ms, 1, l - 1, dim=n) for l in range(0, L + 1)}  # B_l = M_{1:l-1}, B_0 := B_1 = I
    svdA = {l: _aligned_svd(A[l], U) for l in A}
    svdB = {l: _aligned_svd(B[l].T, V) for l in B}  # (V_B, s_B, U_B^T)
    eps, terms_p, terms_c, term_scale = 0.0, np.zeros(n), np.zeros(n), np.zeros(n)
    resolved = s > RESOLVED * s[0]
    Tm, Tp = {}, {}
    for l in A:
        Ua, sa, _ = svdA[l]
        resolved &= sa > RESOLVED * sa[0]
        X = (U.T @ Ua * sa[None, :]) / sa[:, None]  # S_A^{-1} U^T U_A S_A
        Tm[l] = np.tril(X) if first_order else np.eye(n)
        eps = max(eps, float(np.max(np.abs(np.triu(X, 1)))) if n > 1 else 0.0)
    for l in B:
        Vb, sb, UbT = svdB[l]
        resolved &= sb > RESOLVED * sb[0]
        X = (sb[:, None] * (Vb.T @ V)) / sb[None, :]  # S_B V_B^T V S_B^{-1}
        Tp[l] = np.triu(X) if first_order else np.eye(n)
        eps = max(eps, float(np.max(np.abs(np.tril(X, -1)))) if n > 1 else 0.0)
    for l in range(1, L + 1):
        _, sa, VaT = svdA[l + 1]
        _, sb, _ = svdB[l]
        _, _, UbT = svdB[l - b_shift]
        core = np.diag(Tm[l + 1] @ VaT @ Mdots[l - 1] @ UbT.T @ Tp[l - b_shift])
        terms_p += core
        terms_c += sa * sb * np.diag(Tm[l + 1] @ VaT @ Mdots[l - 1] @ svdB[l][2].T @ Tp[l])
        term_scale += sa * sb * np.linalg.norm(Mdots[l - 1], 2)
    logA = np.array([np.log(np.maximum(svdA[l][1], 1e-300)) for l in range(1, L + 1)])
    logB = np.array([np.log(np.maximum(svdB[l][1], 1e-300)) for l in range(1, L + 1)])
    gam, dl, res = fit_depth_scaling(logA, logB, offsets)
    printed = np.exp((1 + 1 / L) * dl) * s ** (1 - 1 / L) * terms_p
    return {"s": s, "sdot": sdot, "printed": printed, "factored_sum": terms_p, "first_order_sum": terms_c,
            "gamma": gam, "delta": dl,
            "fit_resid": res, "eps": eps, "resolved": resolved, "jdot_norm": float(np.linalg.norm(Jdot, 2)),
            "term_scale": term_scale, "L": L, "offsets": tuple(offsets)}


# ---------------------------------------------------------------------------------------------
# Section 8 panels (Figures 4 and 5) for a given network
# ---------------------------------------------------------------------------------------------
def logsv_B_ladder(Ws, ds, k: int) -> np.ndarray:
    """log s_j(B_l), j = 1..k, for l = 2..L+1 (B_{L+1} := J): rows indexed by l (Figure 4)."""
    A, B = prefix_suffix(Ws, ds)
    mats = B[1:] + [jacobian(Ws, ds)]
    return np.array([log_svals(m, k) for m in mats])


def alignment_rho_ladder(Ws, ds, k: int | None = None) -> np.ndarray:
    """rho(U_J^T U_{A_l}) for l = 1..L-1 (Figure 5), on the top-left k x k block (None: full)."""
    from theory.diagcorr import rho

    A, _ = prefix_suffix(Ws, ds)
    U = np.linalg.svd(jacobian(Ws, ds))[0]
    out = []
    for l in range(len(Ws) - 1):
        Ua = np.linalg.svd(A[l])[0]
        M = U.T @ Ua
        out.append(rho(M if k is None else M[:k, :k]))
    return np.array(out)
