"""Section 4: fixed-gates linear networks (Defs. 4.1, 4.3, Rem. 4.2, 4.4), Proposition 4.5 and the
working definitions 4.6 (depth scaling) and 4.7 (spectral separation).

References: torch autograd (Jacobians of networks evaluated layer by layer), Gram-matrix
eigenvalues (singular values), an independent scalar minimisation (Chebyshev fit), and an accurate
ODE integration (scipy DOP853, rtol 1e-10) for the gradient flow of Proposition 4.5.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import functools

from checks import Comparison, Corrected, Foil, Kind, Knob, Outcome, Severity, Status, claim
from checks import strategies as cst
from checks.property import PropertyCheck
from checks.tolerance import tol
from theory import dynamics, fgln
from theory.claims._networks import TINY, chain_tol, fast_foil, networks, rounding_tol

SECTION = "Section 4"

DEF41 = r"""Definition 4.1 (Fixed-Gates Linear Network). Let $L \geq 1$. Let $W_\ell \in \mathbb{R}^{n_\ell \times n_{\ell-1}}$ for $\ell = 1, \dots, L$ be trainable weight matrices, and let $D_\ell \in \mathbb{R}^{n_\ell \times n_\ell}$ for $\ell = 1, \dots, L-1$ be fixed diagonal matrices (the *gates*). A *Fixed-Gates Linear Network (FGLN)* of depth L is the linear map

$$J := W_L D_{L-1} W_{L-1} \cdots D_1 W_1.$$

For convenience, we set $D_0 := I_{n_0}$ and $D_L := I_{n_L}$ when needed. In the special case where each D_ℓ has diagonal entries in $\{0, 1\}$, we call it a *Masked Linear Network*. In the special case where each W_ℓ is square of size n , we call it a *square FGLN of width n* ."""


def _torch_network_jacobian(Ws, ds):
    """Jacobian of x -> W_L(d_{L-1} * (... W_1 x)) by torch autograd (never forms the product)."""
    import torch

    W = [torch.tensor(w) for w in Ws]
    D = [torch.tensor(d) for d in ds]

    def f(x):
        h = W[0] @ x
        for l in range(1, len(W)):
            h = W[l] @ (D[l - 1] * h)
        return h

    return torch.autograd.functional.jacobian(f, torch.zeros(Ws[0].shape[1], dtype=torch.float64)).numpy()


def _cmp_def41(Ws, ds) -> Comparison:
    J = fgln.jacobian(Ws, ds)
    ref = _torch_network_jacobian(Ws, ds)
    # D_0 = I, D_L = I convention: the two-sided layers multiply to J for 0/1 gates
    shape_ok = J.shape == (Ws[-1].shape[0], Ws[0].shape[1])
    err = float(np.max(np.abs(J - ref))) if J.size else 0.0
    return Comparison(err if shape_ok else np.inf, chain_tol(Ws, ds), {"L": len(Ws), "widths": fgln.widths(Ws)})


claim(
    id="def-4.1",
    ref="Definition 4.1 (Section 4)",
    section=SECTION,
    statement=DEF41,
    reading="Well-posedness: for rectangular W_l (n_l x n_{l-1}) and diagonal gates, the product is an n_L x n_0 "
            "matrix equal to the input-output map of the layered network x -> W_L D_{L-1}(... D_1 W_1 x).",
    hypotheses=("W_l in R^{n_l x n_{l-1}}", "D_l diagonal, fixed"),
    exercises="general and 0/1 gates, rectangular widths 1..5, depth 1..5, rank-deficient weights.",
    kind=Kind.DEFINITION,
    check=PropertyCheck(networks(), _cmp_def41, generated="FGLNs; reference torch autograd Jacobian of the layered map"),
)


def _scale_class(ds) -> str:
    """Which float64 range the gates put the partial products in (shown in the evidence)."""
    g = np.abs(np.concatenate([d for d in ds] or [np.zeros(0)]))
    g = g[g > 0]
    if g.size and g.min() < np.finfo(np.float64).tiny:
        return "subnormal gate"
    if g.size and (g.min() < 1e-150 or g.max() > 1e20):
        return "extreme-scale gate"
    return "normal range"


def _cmp_rem42(Ws, ds) -> Comparison:
    """SVD convention for every rectangular partial product M_{1:l}: min(rows, cols) non-negative values,
    squares = eigenvalues of the smaller Gram matrix, numerical rank <= the narrowest width or gate.

    Both references see the same computed P, scaled by an exact power of two (frexp) so that its entries
    are O(1): the Gram matrix then neither underflows nor overflows, and a subnormal or huge product is
    compared at full relative precision. The rank threshold is the rounding floor of *forming* P from its
    factors (``rounding_tol``: eps times the product of the factor norms, plus one subnormal spacing
    amplified by the later factors), so it is never 0 and a rounding-level singular value never counts.
    """
    Ms = fgln.layers_left(Ws, ds)
    worst, det = 0.0, {}
    nmax = max(max(w.shape) for w in Ws)
    for l in range(1, len(Ws) + 1):
        P = fgln.pprod(Ms, 1, l)
        k = min(P.shape)
        s = np.linalg.svd(P, compute_uv=False)
        bound = min([min(w.shape) for w in Ws[:l]] + [int(np.count_nonzero(d)) for d in ds[:l - 1]])
        norms = [np.linalg.norm(m, 2) for m in Ms[:l]]
        # absolute rounding floor of fl(M_l ... M_1), plus the SVD's own eps * s_1 (2 kernels)
        amp = float(np.prod([max(x, 1.0) for x in norms]))
        floor = rounding_tol(nmax, scale=float(np.prod(norms)) + (s[0] if k else 0.0), kernels=l + 2,
                             amplification=amp)
        rank = int(np.sum(s > floor))
        if len(s) != k or np.any(s < 0) or rank > bound:
            return Comparison(np.inf, floor, {"l": l, "n_svals": len(s), "k": k, "rank": rank, "bound": bound,
                                              "s": s.tolist(), "rank_floor": floor})
        peak = float(np.max(np.abs(P))) if P.size else 0.0
        if peak == 0.0:
            continue  # P = 0 exactly: all singular values must be 0 (rank 0 <= bound checked above)
        e2 = int(np.frexp(peak)[1])
        Ps, ss = np.ldexp(P, -e2), np.ldexp(s, -e2)  # exact power-of-two rescaling
        gram = Ps.T @ Ps if P.shape[1] <= P.shape[0] else Ps @ Ps.T
        ref = np.sort(np.linalg.eigvalsh(gram))[::-1][:k]
        # singular values from the Gram matrix lose half the digits near zero: compare squares, relative to
        # s_1^2. Gram product, eigvalsh, SVD and squaring: 4 kernels at eps; an SVD output that is itself
        # subnormal is rounded to TINY absolutely, i.e. TINY * 2^-e2 in the rescaled units.
        e = float(np.max(np.abs(ss**2 - ref))) / max(ss[0] ** 2, 1.0)
        t = rounding_tol(nmax, scale=1.0, kernels=4, unit=float(np.ldexp(TINY, -e2)))
        if e / t >= worst:
            worst, det = e / t, {"l": l, "shape": list(P.shape), "s1": float(s[0]), "rank": rank, "bound": bound,
                                 "rel_err_s2": e, "tol_s2": t}
    det["gates"] = _scale_class(ds)
    return Comparison(worst, 1.0, det)


claim(
    id="rem-4.2",
    ref="Remark 4.2 (Section 4)",
    section=SECTION,
    statement=r"""Remark 4.2. We allow rectangular layers. When we refer to singular values of partial products, they are taken with the usual SVD convention for rectangular matrices.""",
    reading="For rectangular partial products M_{1:l} (M_l = D_l W_l), the SVD convention gives min(rows, cols) "
            "non-negative singular values equal to the square roots of the Gram eigenvalues, with rank bounded by "
            "the smallest width and gate rank on the path. Def. 4.1 allows any real diagonal gates (\"let D_l be "
            "fixed diagonal matrices\"), so subnormal, tiny and huge gate values are inside the remark's scope.",
    hypotheses=("rectangular layers",),
    exercises="rectangular widths 1..5 incl. bottlenecks, zero gates, and gates at the edges of float64 "
              "(subnormal 5e-324 and 2.2e-311, 1e-160, 1e30) so that partial products leave the normal range; "
              "the evidence counts the cases per gate range.",
    kind=Kind.DEFINITION,
    check=PropertyCheck(networks(), _cmp_rem42, classify=lambda d: d.get("gates", "?"),
                        generated="FGLNs; reference eigenvalues of the smaller Gram matrix of the power-of-two "
                                  "rescaled product (relative error on s^2); numerical rank against the rounding "
                                  "floor of forming the product (never 0: includes the subnormal spacing)"),
)


# ---------------------------------------------------------------------------------------------
# Definition 4.3 and Remark 4.4
# ---------------------------------------------------------------------------------------------
@st.composite
def _multimode(draw):
    net = draw(networks(gate_kind=("masked", "general"), L=(2, 4)))
    Ws = net["Ws"]
    n0 = Ws[0].shape[1]
    n_modes = draw(st.integers(1, 4))
    ns = fgln.widths(Ws)
    rng = np.random.default_rng(draw(cst.seeds()))
    modes = {m: [rng.choice([0.0, 1.0, 2.0, -0.5], size=ns[l]) for l in range(1, len(Ws))] for m in range(n_modes)}
    H = rng.standard_normal((2, n0))  # mode = sign pattern of two linear functionals (a conic partition)
    X = rng.standard_normal((n0, 6))
    return {"Ws": Ws, "modes": modes, "H": H, "X": X}


def _cmp_def43(Ws, modes, H, X) -> Comparison:
    import torch

    n_modes = len(modes)
    sigma = lambda x: int(((H @ x > 0).astype(int) @ np.array([1, 2])) % n_modes)
    got = fgln.multimode_apply(Ws, modes, sigma, X)
    # independent: batched torch gather of per-sample gates, layer-by-layer application
    idx = torch.tensor([sigma(X[:, j]) for j in range(X.shape[1])])
    h = torch.tensor(Ws[0]) @ torch.tensor(X)
    for l in range(1, len(Ws)):
        gates = torch.tensor(np.stack([modes[m][l - 1] for m in range(n_modes)]))[idx].T  # (n_l, batch)
        h = torch.tensor(Ws[l]) @ (gates * h)
    err = float(np.max(np.abs(got - h.numpy())))
    # piecewise linearity: on a mode region (convex cone), x -> J^{sigma(x)} x is linear
    x, y = X[:, 0], X[:, 1]
    lin_err = 0.0
    if sigma(x) == sigma(y) == sigma(x + 2 * y):
        lin_err = float(np.max(np.abs(fgln.multimode_apply(Ws, modes, sigma, (x + 2 * y)[:, None])[:, 0]
                                      - got[:, 0] - 2 * got[:, 1])))
    scale = max(np.max(np.abs(X)), 1.0)
    # every mode's chain is formed (gates 0, 1, 2, -1/2): the tolerance of the largest one, not of mode 0's
    return Comparison(max(err, lin_err), max(chain_tol(Ws, modes[m]) for m in range(n_modes)) * scale * 8,
                      {"modes": n_modes, "L": len(Ws)})


claim(
    id="def-4.3",
    ref="Definition 4.3 (Section 4)",
    section=SECTION,
    statement=r"""Definition 4.3 (Multi-mode FGLN). Let \mathcal{M} a set of modes. For each mode $m \in \mathcal{M}$, let

$$J^{(m)} := W_L D_{L-1}^{(m)} W_{L-1} \cdots D_1^{(m)} W_1$$

be an FGLN that shares the same weights $(W_\ell)_{\ell=1}^L$ but may have mode-dependent fixed gates $(D_\ell^{(m)})_{\ell=1}^{L-1}$. Let σ be a mode function mapping each input x to an index $\sigma(x) \in \mathcal{M}$. A *Multi-mode FGLN* is the pair $(\sigma, (J^{(m)})_{m \in \mathcal{M}})$, and it represents the piecewise-linear map $x \mapsto J^{(\sigma(x))}x$.""",
    reading="Well-posedness: the represented map equals the shared-weight network with per-input gates, and is "
            "linear on each mode region when the regions are convex cones (here: sign patterns of linear "
            "functionals).",
    hypotheses=("shared weights", "mode-dependent fixed gates"),
    exercises="1..4 modes with general and 0/1 gates, rectangular widths, conic mode functions.",
    depends_on=("def-4.1",),
    kind=Kind.DEFINITION,
    check=PropertyCheck(_multimode(), _cmp_def43,
                        generated="random shared weights, per-mode gates, sigma = sign pattern of 2 linear functionals; "
                                  "reference = batched torch layer-by-layer application with gathered gates"),
)


@st.composite
def _mlp_and_point(draw):
    L = draw(st.integers(2, 5))
    ns = [draw(st.integers(1, 6)) for _ in range(L + 1)]
    rng = np.random.default_rng(draw(cst.seeds()))
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) * draw(st.sampled_from([0.1, 1.0, 10.0])) for l in range(L)]
    x = rng.standard_normal(ns[0])
    where = draw(st.sampled_from(["generic", "near-boundary", "on-boundary"]))
    if where != "generic":
        # move x so that one first-layer pre-activation is +-1e-12 (or exactly 0 in exact arithmetic)
        i = draw(st.integers(0, ns[1] - 1))
        w = Ws[0][i]
        if np.linalg.norm(w) > 0:
            target = 0.0 if where == "on-boundary" else draw(st.sampled_from([1e-12, -1e-12, 1e-9]))
            x = x - (w @ x - target) * w / (w @ w)
    return {"Ws": Ws, "x": x, "where": where}


def _one_unit_flipped(Ws, x):
    """Foil (the nearest slip: one gate of the pattern wrong): the activation pattern with the first unit of the last
    hidden layer flipped (open <-> closed)."""
    pat = [d.copy() for d in fgln.activation_pattern(Ws, x)]
    pat[-1][0] = 1.0 - pat[-1][0]
    return pat


def _first_layer_only(Ws, x):
    """Foil: the mode is the first hidden layer's activation pattern; deeper gates all open."""
    pat = fgln.activation_pattern(Ws, x)
    return [pat[0]] + [np.ones_like(d) for d in pat[1:]]


def _cmp_rem44(Ws, x, where, *, gates=fgln.activation_pattern) -> Comparison:
    """``gates(Ws, x)``: the gate pattern whose FGLN should represent the MLP at x (the foils pass wrong ones)."""
    import torch

    Wt = [torch.tensor(w) for w in Ws]

    def f(z):
        h = z
        for w in Wt[:-1]:
            h = torch.relu(w @ h)
        return Wt[-1] @ h

    xt = torch.tensor(x)
    J_auto = torch.autograd.functional.jacobian(f, xt).numpy()
    out_auto = f(xt).numpy()
    J_pat = fgln.jacobian(Ws, list(gates(Ws, x)))
    margin = fgln.preactivation_margin(Ws, x)
    scale = np.prod([max(np.linalg.norm(w, 2), 1.0) for w in Ws])
    t = tol(max(max(w.shape) for w in Ws), scale=scale * max(1.0, np.linalg.norm(x)), kernels=len(Ws) + 2)
    e_map = float(np.max(np.abs(J_pat @ x - out_auto))) if out_auto.size else 0.0
    e_jac = float(np.max(np.abs(J_pat - J_auto))) if J_auto.size else 0.0
    # Within rounding of an activation boundary (|pre-activation| below the float error of computing it)
    # the Jacobian does not exist and numpy/torch may round the pre-activation to opposite signs; there
    # only x -> J^{sigma(x)} x is checked (it holds whichever gate the unit gets, its input being ~0).
    rounding = tol(max(max(w.shape) for w in Ws), scale=scale * max(1.0, np.linalg.norm(x)), kernels=len(Ws))
    jac_checked = margin > rounding
    err = max(e_map, e_jac if jac_checked else 0.0)
    return Comparison(err, t, {"where": where, "min_preactivation_margin": margin, "err_map": e_map,
                               "err_jacobian": e_jac, "jacobian_compared": bool(jac_checked)})


_pc_rem44 = PropertyCheck(_mlp_and_point(), _cmp_rem44,
                          generated="reference torch autograd Jacobian and forward pass of the ReLU MLP")
claim(
    id="rem-4.4",
    ref="Remark 4.4 (Section 4)",
    section=SECTION,
    statement=r"""Remark 4.4. An MLP without biases is a Multi-Modes Fixed-Gates Linear Network with a trainable mode matching function σ .""",
    reading="For a bias-free ReLU MLP, with sigma(x) = activation pattern 1[pre-activation > 0], the network output "
            "is J^{sigma(x)} x everywhere and, off activation boundaries (|pre-activation| above its rounding "
            "error, e.g. 1e-12 away), its Jacobian at x is W_L D_{L-1}(x) ... D_1(x) W_1 (sigma depends on the "
            "weights, hence 'trainable'). On a boundary the Jacobian does not exist; only the map is compared. "
            "ReLU is the reading of 'MLP' because Section 4 introduces FGLNs \"as controlled models for Jacobian "
            "products along fixed activation patterns in piecewise-linear networks\".",
    hypotheses=("bias-free MLP", "ReLU activations (the piecewise-linear case the paper has in mind)"),
    exercises="random MLPs depth 2..5, widths 1..6, weight scales 0.1..10; inputs generic, within 1e-12/1e-9 of a "
              "first-layer activation boundary, and on it.",
    depends_on=("def-4.3",),
    kind=Kind.IDENTITY,
    check=_pc_rem44,
    foils=(
        Foil("a (single-mode) FGLN: one gate pattern, that of a fixed input x_0 = (1, ..., 1), serves every input",
             fast_foil(_pc_rem44, functools.partial(
                 _cmp_rem44, gates=lambda Ws, x: fgln.activation_pattern(Ws, np.ones(Ws[0].shape[1])))),
             kind="hypothesis"),
        Foil("the mode is the first hidden layer's pattern only (deeper gates open)",
             fast_foil(_pc_rem44, functools.partial(_cmp_rem44, gates=_first_layer_only)), kind="index"),
        Foil("one gate of the mode wrong: sigma(x) with the first unit of the last hidden layer flipped",
             fast_foil(_pc_rem44, functools.partial(_cmp_rem44, gates=_one_unit_flipped)), kind="index",
             nearest=True, size=1, unit="gate"),
    ),
)


# ---------------------------------------------------------------------------------------------
# Definitions 4.6 and 4.7
# ---------------------------------------------------------------------------------------------
def _cheb_independent(y, x):
    """Minimal sup-residual of an affine fit by minimising the convex f(g) = (max - min)(y - g x)/2."""
    from scipy.optimize import minimize_scalar

    f = lambda g: (np.max(y - g * x) - np.min(y - g * x)) / 2
    slopes = np.diff(y) / np.diff(x) if len(x) > 1 else np.array([0.0])
    lo, hi = float(np.min(slopes)) - 1, float(np.max(slopes)) + 1
    r = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    # the optimum of a piecewise-linear convex function is at a breakpoint: polish over pairwise slopes
    cands = [r.x] + [(y[j] - y[i]) / (x[j] - x[i]) for i in range(len(x)) for j in range(i + 1, len(x))]
    return min(f(g) for g in cands)


@st.composite
def _ladder(draw):
    L = draw(st.integers(2, 12))
    g = draw(st.floats(-2, 2))
    d = draw(st.floats(-2, 2))
    noise = draw(st.lists(st.floats(-1, 1), min_size=L, max_size=L))
    amp = draw(st.sampled_from([0.0, 1e-6, 0.1, 1.0]))
    x = np.arange(1, L + 1, dtype=float)
    return {"y": g * x + d + amp * np.array(noise), "x": x}


def _cmp_def46(y, x) -> Comparison:
    eps, g, d = fgln.depth_scaling_eps(y, x)
    ref = _cheb_independent(y, x)
    resid = float(np.max(np.abs(y - (g * x + d))))
    err = max(abs(eps - ref), abs(resid - eps))
    # HiGHS solves the LP to its default primal/dual feasibility tolerance 1e-7 (absolute, on data of
    # size max|y|): the LP optimum and its residual may each be off by that much, hence 2e-7.
    return Comparison(err, 2e-7 * max(1.0, np.max(np.abs(y))), {"eps_lp": eps, "eps_ref": ref})


def _def46_check(ctx) -> Outcome:
    pc = PropertyCheck(_ladder(), _cmp_def46,
                       generated="affine ladders l*gamma + delta plus bounded noise (0, 1e-6, 0.1, 1), L 2..12")
    out = pc(ctx)
    # evidence: minimal eps for random masked products (Section 8 setting) grows with the depth range
    from theory import samplers

    gen = ctx.torch_generator("masked")
    n, reps = 16, ctx.pick(quick=4, full=20)
    rows = []
    for L in ctx.pick(quick=[10, 40], full=[10, 20, 40, 80]):
        eps_k = []
        for _ in range(reps):
            M = samplers.masked_layer(L, n, 0.5, np.sqrt(2.0 / n), gen).cpu().numpy()
            P, logs = np.eye(n), []
            for l in range(L):
                P = M[l] @ P
                logs.append(fgln.log_svals(P, 3))
            logs = np.array(logs)
            eps_k.append([fgln.depth_scaling_eps(logs[:, k], np.arange(1, L + 1))[0] for k in range(3)])
        rows.append({"L": L, "median_min_eps_k=1..3": np.round(np.median(eps_k, 0), 3).tolist()})
    out.evidence["masked_products_min_eps"] = rows
    out.method += (" Evidence: minimal eps of Def. 4.6 (LP Chebyshev fit) for products of masked layers "
                   "(n = 16, p = 0.5, sqrt(2/n)-Ginibre), k = 1..3: it grows with L (CLT-size fluctuations of "
                   "log s_k), so a fixed eps holds only on bounded depth ranges.")
    return out


claim(
    id="def-4.6",
    ref="Definition 4.6 (Section 4)",
    section=SECTION,
    statement=r"""Definition 4.6 (Depth scaling). Let $M_{1:\ell} := M_\ell \cdots M_1$ denote partial products. We say that a family of products satisfies ε -depth scaling at rank r if there exist constants $(\gamma_k, \delta_k)_{k=1}^r$ such that for all $\ell \in \{1, \dots, L\}$ and all $k \leq r$,

$$|\log s_k(M_{1:\ell}) - (\ell\gamma_k + \delta_k)| \leq \varepsilon.$$""",
    reading="Well-posedness/computability: the smallest eps for which the definition holds is the Chebyshev "
            "(minimax) residual of an affine fit in l, computed by LP and by an independent convex minimisation.",
    hypotheses=(),
    exercises="affine data with noise from 0 to O(1); random masked products as evidence.",
    kind=Kind.DEFINITION,
    check=_def46_check,
)


def _def47_check(ctx) -> Outcome:
    from theory import samplers

    rng = ctx.rng("well-posed")
    worst = 0.0
    for _ in range(ctx.pick(quick=40, full=400)):
        n = int(rng.integers(1, 7))
        M = rng.standard_normal((n, n)) * 10 ** rng.uniform(-3, 3)
        r = int(rng.integers(1, n + 1))
        q = fgln.separation_ratios(M, r)
        Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
        q2 = fgln.separation_ratios(3.7 * Q @ M, r)  # invariant under scaling and orthogonal maps
        ok = np.all((q >= 0) & (q <= 1)) and (r < n or q[-1] == 0.0)
        worst = max(worst, float(np.max(np.abs(q - q2))) if ok else np.inf)
    gen = ctx.torch_generator("cor-5.6")
    n, r, p = 8, 4, 0.5
    reps = ctx.pick(quick=40, full=300)
    rows = []
    for L in ctx.pick(quick=[2, 8, 32], full=[2, 4, 8, 16, 32, 64]):
        M = samplers.layer(reps * L, n, r, p, np.sqrt(2.0 / n), gen).reshape(reps, L, n, n).cpu().numpy()
        worst_ratio = []
        for b in range(reps):
            P = np.eye(n)
            for l in range(L):
                P = M[b, l] @ P
                P /= np.linalg.norm(P, 2)  # rescale: ratios are scale-free; avoids underflow
            worst_ratio.append(float(np.max(fgln.separation_ratios(P, r - 1))))
        rows.append({"L": L, "median_max_ratio_k<r": float(np.median(worst_ratio)),
                     "frac_eps0.1_separated_at_rank_r-1": float(np.mean(np.array(worst_ratio) < 0.1))})
    med = [row["median_max_ratio_k<r"] for row in rows]
    consistent = all(b < a for a, b in zip(med, med[1:]))
    ok = worst <= 1e-12 and consistent
    return Outcome(
        Status.VERIFIED if ok else Status.REFUTED,
        f"ratios in [0,1], s_(n+1) = 0 convention, scale/orthogonal invariance (max diff {worst:.1e}); median "
        f"max_k<r s_(k+1)/s_k over (r,p,sigma)-products falls with L: {', '.join(f'{m:.3g}' for m in med)} "
        f"(consistent with Cor. 5.6)",
        evidence={"invariance_max_diff": worst, "cor_5_6_consistency": rows},
        method="Random matrices of sizes 1..6 and scales 1e-3..1e3 for well-posedness; products of (r, p, sigma)-"
               "layers (n = 8, r = 4, p = 0.5, sigma = sqrt(2/n)) from theory.samplers for the consistency table. "
               "The rule 'medians fall with L' is a fixed rule on Monte-Carlo medians; its false-alarm rate, measured "
               "over seeds 0..99 of the quick profile, is 0/100 (smallest fall between consecutive depths 0.22).",
    )


claim(
    id="def-4.7",
    ref="Definition 4.7 (Section 4)",
    section=SECTION,
    statement=r"""Definition 4.7 (Spectral separation (working definition)). Let $\varepsilon > 0$. We say that a matrix M exhibits ε -spectral separation at rank r if for all $k \leq r$

$$\frac{s_{k+1}(M)}{s_k(M)} < \varepsilon$$

with the convention $s_{n+1}(M) = 0$.""",
    reading="Well-posedness (ratios in [0,1], convention at k = n, invariance under scaling and orthogonal maps) and "
            "consistency with Corollary 5.6: for (r,p,sigma)-products, separation at rank < r strengthens with depth.",
    hypotheses=(),
    exercises="random matrices of extreme scales; (r, p, sigma)-layer products at increasing depth.",
    kind=Kind.DEFINITION,
    check=_def47_check,
)


# ---------------------------------------------------------------------------------------------
# Proposition 4.5
# ---------------------------------------------------------------------------------------------
PROP45 = r"""Proposition 4.5 (Balanced singular-value dynamics for masked linear networks). *Consider a Masked Linear Network $J(t) = W_L(t)D_{L-1} \cdots D_1 W_1(t)$ trained by gradient flow on the weights $(W_\ell(t))_{\ell=1}^L$ with loss $\mathcal{L}(J)$. Let $D_0 := I$ and $D_L := I$, and define $M_\ell(t) := D_\ell W_\ell(t) D_{\ell-1}$ for $\ell = 1, \dots, L$. Assume the balancing hypothesis at initialization:*

$$M_{\ell+1}^\top(0) M_{\ell+1}(0) = M_\ell(0) M_\ell^\top(0), \quad \ell = 1, \dots, L-1.$$

Under gradient flow, this balancing condition is preserved along training. Let $J(t) = \sum_k s_k(t) u_k(t) v_k(t)^\top$ be an SVD of $J(t)$. Then the singular values satisfy, for each k ,

$$\dot{s}_k(t) = -L s_k(t)^{2-2/L} \langle \nabla_J \mathcal{L}(J(t)), u_k(t) v_k(t)^\top \rangle,$$

where $\langle A, B \rangle = \text{Tr}(A^\top B)$ is the Frobenius inner product."""

RTOL, ATOL = 1e-10, 1e-12
# DOP853 at rtol 1e-10 keeps the global relative error of the weights near 1e-9 on these horizons;
# Delta is quadratic in M, so 1e-7 * max ||M||^2 leaves two orders of margin (checked: the observed
# drift is ~1e-10 relative; a non-0/1 gate gives drift of order 1e-1).
BALANCE_TOL = 1e-7


def _balanced_case(rng, square: bool, gates: str = "masked", balanced: bool = True, repeated: bool = False):
    L = int(rng.integers(2, 5))
    r = int(rng.integers(1, 4))
    ns = [int(rng.integers(r + 1, r + 4)) for _ in range(L + 1)]
    if square:
        ns = [ns[0]] * (L + 1)
    ds = []
    for l in range(1, L):
        d = (rng.random(ns[l]) < 0.6).astype(float)
        d[rng.choice(ns[l], r, replace=False)] = 1.0
        ds.append(d)
    sv = np.sort(rng.uniform(0.5, 1.2, r))[::-1]
    if repeated and r >= 2:
        sv[1] = sv[0]
    Ws = fgln.balanced_masked_init(ns, ds, sv, rng)
    if not balanced:
        Ws = [w + 0.3 * rng.standard_normal(w.shape) for w in Ws]
    if gates == "general":
        ds = [np.where(d == 1.0, rng.uniform(0.3, 2.0, d.shape), 0.0) for d in ds]
    T = rng.standard_normal((ns[-1], ns[0]))
    return Ws, ds, T


def _flow_run(Ws, ds, T, t_end=1.0, n_t=6, rates=None):
    """Gradient flow of 1/2||J - T||^2; ``rates`` (per-layer learning rates eta_l, a foil) are realised exactly by
    the reparametrisation W_l = a_l V_l, a_l = sqrt(eta_l): plain gradient flow on V gives Wdot_l = -eta_l grad_{W_l}."""
    grad = dynamics.quadratic_target(T)
    if rates is None:
        return dynamics.gradient_flow(Ws, ds, grad, np.linspace(0, t_end, n_t), rtol=RTOL, atol=ATOL)
    a = np.sqrt(np.asarray(rates, dtype=np.float64))
    c = float(np.prod(a))  # J(W) = c J(V) for scalar a_l
    fl = dynamics.gradient_flow([w / al for w, al in zip(Ws, a)], ds, lambda JV: c * grad(c * JV),
                                np.linspace(0, t_end, n_t), rtol=RTOL, atol=ATOL)
    fl.weights = [[v * al for v, al in zip(W, a)] for W in fl.weights]
    return fl


def _max_defect(flow, base=None):
    worst = 0.0
    for Ws in flow.weights:
        Ms = fgln.layers_two_sided(Ws, flow.ds)
        scale = max(np.linalg.norm(m, 2) ** 2 for m in Ms)
        defs = fgln.balance_defect(Ws, flow.ds)
        if base is not None:
            defs = [a - b for a, b in zip(defs, base)]
        worst = max(worst, max(np.max(np.abs(d)) for d in defs) / scale)
    return worst


def _balance_check(ctx, *, gates: str = "masked", rates=None) -> Outcome:
    """``gates`` = 'general' (non-0/1 gates) and ``rates`` (layer-wise learning rates) are the foils' knobs."""
    rng = ctx.rng("balance")
    n_cases = ctx.pick(quick=4, full=16)
    rows, worst = [], 0.0
    for i in range(n_cases):
        Ws, ds, T = _balanced_case(rng, square=(i % 2 == 0), gates=gates)
        fl = _flow_run(Ws, ds, T, rates=None if rates is None else rates(len(Ws)))
        e = _max_defect(fl)
        worst = max(worst, e)
        rows.append({"widths": fgln.widths(Ws), "max_rel_defect": e, "nfev": fl.nfev})
    # hypothesis probe: an unbalanced initialisation keeps Delta_l(t) = Delta_l(0) (the conservation law)
    Ws, ds, T = _balanced_case(ctx.rng("probe"), square=True, balanced=False)
    unbalanced_drift = _max_defect(_flow_run(Ws, ds, T), base=fgln.balance_defect(Ws, ds))
    ok = worst <= BALANCE_TOL
    return Outcome(
        Status.VERIFIED if ok else Status.REFUTED,
        f"max_t,l ||Delta_l(t)||_max / max||M||^2 = {worst:.1e} {'<=' if ok else '>'} {BALANCE_TOL:g} over {n_cases} "
        f"flows ({gates} gates{'' if rates is None else ', layer-wise learning rates'}); probe: an unbalanced init "
        f"keeps Delta_l(t) = Delta_l(0) (drift {unbalanced_drift:.1e})",
        evidence={"cases": rows, "tol": BALANCE_TOL, "probe_unbalanced_drift_of_Delta": unbalanced_drift},
        method=f"Balanced masked initialisations M_l = U_l diag(s) U_(l-1)^T (U_l supported on the open gate "
               f"coordinates, hidden weight entries random), square and rectangular, L 2..4, rank r 1..3; loss "
               f"1/2||J - T||^2; gradient flow integrated with solve_ivp DOP853 rtol {RTOL}, atol {ATOL} to t = 1. "
               f"Tolerance {BALANCE_TOL:g}: the integration's global relative error (~1e-9) times ||M||^2, with margin.",
    )


PROP45_CONDITIONS = (
    "D_l^2 = D_l, so that Mdot_l = D_l Wdot_l D_{l-1} follows the deep-linear flow of M_l (the cancellation of "
    "equation (1)): implied by 'Masked Linear Network' (prop-4.5/proof/*)",
    "Delta_l(0) = 0 and Delta_l' = 0 imply Delta_l(t) = 0: implied (balanced initialisation)",
    "a differentiable choice of the SVD along t ('the rest is identical to ... Arora et al.', whose theorem asserts "
    "an analytic SVD with possibly unordered, crossing singular values): not implied by 'Let J(t) = sum_k s_k u_k "
    "v_k^T be an SVD'; for the ordered s_k it needs s_k simple (and nonzero when L = 1) -> prop-4.5/missing-simple",
    "L analytic (Arora et al.'s existence of an analytic SVD along the flow): not stated; not encoded (the losses "
    "of the paper, squared error and cross-entropy, are analytic; a counterexample needs a C^inf non-analytic loss)",
)


claim(
    id="prop-4.5/balance-preserved",
    ref="Proposition 4.5 (Section 4)",
    section=SECTION,
    statement=PROP45,
    reading="'Under gradient flow, this balancing condition is preserved along training': Delta_l(t) = 0 along "
            "the integrated flow, to ODE accuracy.",
    hypotheses=("Masked Linear Network (0/1 gates)", "balanced initialisation", "gradient flow"),
    exercises="square and rectangular masked networks with hidden (gated-off) weight entries; a probe with an "
              "unbalanced initialisation.",
    depends_on=("prop-4.5/proof/delta-dot-zero",),
    proof_conditions=PROP45_CONDITIONS[:2],
    kind=Kind.IDENTITY,
    check=_balance_check,
    foils=(
        Foil("preserved for every FGLN (non-0/1 gates; 'masked' dropped)",
             functools.partial(_balance_check, gates="general"), kind="hypothesis"),
        Foil("preserved under layer-wise learning rates (eta_l = 1, 2, 1, 2, ...)",
             functools.partial(_balance_check, rates=lambda L: [1.0 + (l % 2) for l in range(L)]), kind="hypothesis"),
        # the nearest slip: one learning rate off by a factor 1.5 (Delta_l' = (eta_{l+1} - eta_l) (...) != 0)
        Foil("preserved when every other layer's learning rate is 1.5 (eta_l = 1, 1.5, 1, 1.5, ...)",
             functools.partial(_balance_check, rates=lambda L: [1.0 + 0.5 * (l % 2) for l in range(L)]),
             kind="factor", nearest=True, size=0.5, unit="relative"),
    ),
)


# Nearest exponent slip of the ODE: 2 - 2/L -> 2 - 1/L is 1/L, at least 1/4 on the depths generated (L = 2..4).
SV_ODE_SLIP = 0.25


def _sv_ode_study(ctx) -> dict:
    """Balanced masked flows: s, <grad, u_k v_k^T>, u_k^T Jdot v_k and central differences of s_k at 3 times."""
    rng = ctx.rng("svode")
    h = 1e-4
    rows = []
    for i in range(ctx.pick(quick=3, full=12)):
        Ws, ds, T = _balanced_case(rng, square=(i % 2 == 0))
        grad = dynamics.quadratic_target(T)
        times = [0.0, 0.5, 1.0]
        t_eval = sorted({t + s for t in times for s in (-h, 0.0, h) if t + s >= 0})
        fl = dynamics.gradient_flow(Ws, ds, grad, np.array(t_eval), rtol=1e-12, atol=1e-14)
        r = np.linalg.matrix_rank(fgln.jacobian(Ws, ds))
        for t in times:
            j = t_eval.index(t)
            J = fgln.jacobian(fl.weights[j], ds)
            U, s, Vt = np.linalg.svd(J)
            m = len(s)  # rectangular J: min(rows, cols) singular triplets
            U, Vt = U[:, :m], Vt[:m]
            G = grad(J)
            row = {"case": i, "t": t, "L": len(Ws), "r": int(r), "s": s[:r],
                   "g": np.einsum("ik,ij,kj->k", U, G, Vt)[:r],
                   "exact": np.einsum("ik,ij,kj->k", U, fgln.jdot_flow(fl.weights[j], ds, G), Vt)[:r]}
            if t > 0:
                sp_ = np.linalg.svd(fgln.jacobian(fl.weights[j + 1], ds), compute_uv=False)
                sm = np.linalg.svd(fgln.jacobian(fl.weights[j - 1], ds), compute_uv=False)
                row["fd"] = ((sp_ - sm) / (2 * h))[:r]
            rows.append(row)
    return {"rows": rows, "h": h}


def _sv_ode_check(ctx, *, power=lambda L: 2 - 2 / L, coef=lambda L: L, dexp: float = 0.0) -> Outcome:
    """``power`` (2 - 2/L, moved by ``dexp``) and ``coef`` (L) of the printed ODE are the foils' knobs; the flows
    are memoised."""
    d = ctx.memo("svode", lambda: _sv_ode_study(ctx))
    worst_exact, worst_fd, table = 0.0, 0.0, []
    for row in d["rows"]:
        L = row["L"]
        pred = -coef(L) * row["s"] ** (power(L) + dexp) * row["g"]
        scale = max(float(np.max(np.abs(row["exact"]))), 1e-300)
        worst_exact = max(worst_exact, float(np.max(np.abs(row["exact"] - pred))) / scale)
        if "fd" in row:
            worst_fd = max(worst_fd, float(np.max(np.abs(row["fd"] - pred))) / scale)
        if len(table) < 12:
            table.append({"case": row["case"], "t": row["t"], "r": row["r"], "s": np.round(row["s"], 6).tolist(),
                          "pred": np.round(pred, 8).tolist(), "u^T Jdot v": np.round(row["exact"], 8).tolist()})
    # ODE accuracy (rtol 1e-12) bounds the balance defect ~1e-11; FD with h = 1e-4 has O(h^2 s^(3)) ~ 1e-8 error
    tol_exact, tol_fd = 1e-8, 1e-5
    ok = worst_exact <= tol_exact and worst_fd <= tol_fd
    return Outcome(
        Status.VERIFIED if ok else Status.REFUTED,
        f"along balanced masked flows ds_k/dt vs -coef s_k^power <grad, u_k v_k^T>: rel. {worst_exact:.1e} (u^T Jdot v) "
        f"and {worst_fd:.1e} (central differences) {'within' if ok else 'beyond'} {tol_exact:g} / {tol_fd:g}",
        evidence={"rows": table, "tol_exact": tol_exact, "tol_fd": tol_fd,
                  "zero_singular_values": "k > rank(J) = r are zero at all times (L >= 2: predicted rate 0) and excluded"},
        method="Balanced masked initialisations as in prop-4.5/balance-preserved, loss 1/2||J - T||^2, flow integrated "
               "with DOP853 rtol 1e-12; at t = 0, 0.5, 1 (where the singular values are simple: no crossing on these "
               "horizons): u_k^T Jdot v_k (exact chain rule, Jdot = sum A_l Wdot_l B_l) and central differences "
               "(h = 1e-4) of the integrated singular values vs the formula, nonzero k only.",
    )


claim(
    id="prop-4.5/sv-ode",
    ref="Proposition 4.5 (Section 4)",
    section=SECTION,
    statement=PROP45,
    reading="Along the gradient flow from a balanced masked initialisation, each nonzero singular value satisfies "
            "the printed ODE at times where it is simple (checked at several times, by the exact u^T Jdot v and by "
            "finite differences of the integrated trajectory); crossings are prop-4.5/missing-simple.",
    hypotheses=("Masked Linear Network", "balanced initialisation", "gradient flow"),
    exercises="square and rectangular masked networks, rank-deficient J (zero singular values).",
    depends_on=("prop-4.5/balance-preserved", "lem-a.1/masked", "lem-e.2/missing-simple"),
    proof_conditions=PROP45_CONDITIONS,
    kind=Kind.IDENTITY,
    check=_sv_ode_check,
    foils=(
        Foil("exponent 2 - 1/L: ds_k/dt = -L s_k^{2-1/L} <grad, u_k v_k^T>",
             functools.partial(_sv_ode_check, power=lambda L: 2 - 1 / L), kind="exponent", nearest=True,
             size=SV_ODE_SLIP, unit="absolute"),
        Foil("factor L dropped: ds_k/dt = -s_k^{2-2/L} <grad, u_k v_k^T>",
             functools.partial(_sv_ode_check, coef=lambda L: 1.0), kind="factor"),
        Foil("factor L - 1: ds_k/dt = -(L - 1) s_k^{2-2/L} <grad, u_k v_k^T>",
             functools.partial(_sv_ode_check, coef=lambda L: L - 1.0), kind="index"),
    ),
    knob=Knob("exponent 2 - 2/L of s_k", "absolute", lambda dx: functools.partial(_sv_ode_check, dexp=dx),
              SV_ODE_SLIP, "exponent 2 - 2/L -> 2 - 1/L (a slip of 1/L >= 1/4 for the depths L = 2..4 checked)"),
)


# ----- the missing hypothesis: crossings of the ordered singular values ------------------------
# Two modes of a balanced masked flow with a linear loss L(J) = -<C, J>, C = U diag(c) V^T in the flow's own
# frames: the frames stay fixed and each branch obeys sigma_i' = L sigma_i^{2-2/L} c_i exactly, so with L = 2,
# sigma(0) = (e, 1/e) and c = (-1, 1) the branches e^{1-2t} and e^{2t-1} cross at t* = 1/2.
CROSS = {"L": 2, "sigma0": (float(np.e), float(np.exp(-1.0))), "c": (-1.0, 1.0), "t_star": 0.5}


def _crossing_flow(ctx) -> dict:
    """The crossing flow integrated numerically (n = 3, a closed gate coordinate, random frames)."""
    rng = ctx.rng("crossing")
    L, sig, c = CROSS["L"], np.array(CROSS["sigma0"]), np.array(CROSS["c"])
    n, d1 = 3, np.array([1.0, 1.0, 0.0])
    # balanced masked init with layer singular values sigma^{1/L}; its frames carry J's SVD
    Ws = fgln.balanced_masked_init([n] * (L + 1), [d1], sig ** (1.0 / L), rng)
    U, s, Vt = np.linalg.svd(fgln.jacobian(Ws, [d1]))
    Uf, Vf = U[:, :2], Vt[:2].T  # the branch frame (s simple at t = 0)
    C = (Uf * c) @ Vf.T
    h = 1e-4
    times = [0.2, 0.35, CROSS["t_star"], 0.65, 0.8]
    t_eval = sorted({t + e for t in times for e in (-h, 0.0, h)})
    fl = dynamics.gradient_flow(Ws, [d1], lambda J: -C, np.array(t_eval), rtol=1e-12, atol=1e-14)
    Js = {t: fgln.jacobian(w, [d1]) for t, w in zip(t_eval, fl.weights)}
    return {"Js": Js, "t_eval": t_eval, "times": times, "h": h, "Uf": Uf, "Vf": Vf, "C": C, "L": L}


def _crossing_values(f, t, branches: bool, power):
    """(formula, right derivative, left derivative) per mode at t: ordered LAPACK SVD, or the fixed branch frame."""
    h, L, G = f["h"], f["L"], -f["C"]
    te = f["t_eval"]
    near = lambda x: f["Js"][min(te, key=lambda y: abs(y - x))]  # the stored time t + e (rounding-safe lookup)
    J = near(t)
    if branches:
        val = lambda M: np.einsum("ik,ij,jk->k", f["Uf"], M, f["Vf"])  # sigma_i = u_i^T J v_i on the branch
        s, u, v = val(J), f["Uf"], f["Vf"]
    else:
        val = lambda M: np.linalg.svd(M, compute_uv=False)[:2]
        U, s, Vt = np.linalg.svd(J)
        s, u, v = s[:2], U[:, :2], Vt[:2].T
    pred = -L * s ** power(L) * np.einsum("ik,ij,jk->k", u, G, v)
    right = (val(near(t + h)) - val(J)) / h
    left = (val(J) - val(near(t - h))) / h
    return pred, right, left


def _crossing_check(ctx, *, at_crossing: str = "ordered", power=lambda L: 2 - 2 / L, dexp: float = 0.0) -> Outcome:
    """``at_crossing``: 'ordered' evaluates the printed formula for the ordered SVD at every time (the printed
    reading); 'branches' evaluates it on the analytic branches at the crossing and on the ordered SVD elsewhere
    (the corrected statement)."""
    f = ctx.memo("crossing", lambda: _crossing_flow(ctx))
    rows, worst = [], 0.0
    # one-sided differences with h = 1e-4: truncation h |s''| / 2 with |s''| <= 4 e here; ODE error ~1e-11 / h
    tol_ = 4 * np.e * f["h"]
    for t in f["times"]:
        branches = at_crossing == "branches" and t == CROSS["t_star"]
        pred, right, left = _crossing_values(f, t, branches, lambda L: power(L) + dexp)
        err = float(max(np.max(np.abs(pred - right)), np.max(np.abs(pred - left))))
        worst = max(worst, err)
        rows.append({"t": t, "basis": "branches" if branches else "ordered SVD", "formula": pred.tolist(),
                     "right_derivative": right.tolist(), "left_derivative": left.tolist(), "err": err})
    ok = worst <= tol_
    cross = next(r for r in rows if r["t"] == CROSS["t_star"])
    return Outcome(
        Status.VERIFIED if ok else Status.REFUTED,
        f"balanced masked flow whose two singular values cross at t* = {CROSS['t_star']}: at t*, {cross['basis']}: "
        f"formula {np.round(cross['formula'], 3).tolist()} vs one-sided derivatives right "
        f"{np.round(cross['right_derivative'], 3).tolist()} / left {np.round(cross['left_derivative'], 3).tolist()}; "
        f"worst |formula - one-sided| over t in {f['times']} = {worst:.2g} (tol {tol_:.2g})",
        evidence={"times": rows, "tol": tol_, "setting": CROSS},
        method="n = 3, L = 2, gate (1, 1, 0), balanced masked init with layer singular values sigma(0)^{1/2}, linear "
               "loss -<C, J> with C = U diag(c) V^T in the flow's frames (so J(t) = U diag(sigma(t)) V^T exactly); "
               "flow integrated with DOP853 rtol 1e-12; one-sided differences (h = 1e-4) of the ordered singular "
               "values (or of the branches u_i^T J v_i) against -L s^{2-2/L} <grad, u v^T>.",
        counterexample=None if ok else dict(CROSS),
    )


def _crossing_replay(cex: dict) -> Comparison:
    """Closed form: ordered s_1(t) = max(e^{1-2t}, e^{2t-1}); LAPACK's SVD of J(t*) = I gives u_1 = v_1 = e_1."""
    L, t = cex["L"], cex["t_star"]
    C = np.diag(cex["c"])
    U, s, Vt = np.linalg.svd(np.eye(2))
    pred = -L * s[0] ** (2 - 2 / L) * float(U[:, 0] @ (-C) @ Vt[0])
    right = 2.0 * np.exp(2 * t - 1)  # the rising branch takes over for t > t*
    left = -2.0 * np.exp(1 - 2 * t)
    return Comparison(max(abs(pred - right), abs(pred - left)), 1e-12,
                      {"formula": pred, "right_derivative": right, "left_derivative": left})


claim(
    id="prop-4.5/missing-simple",
    ref="Proposition 4.5 (Section 4): missing hypothesis (simple singular values / analytic SVD)",
    section=SECTION,
    statement=PROP45,
    reading="'Let J(t) = sum_k s_k(t) u_k(t) v_k(t)^T be an SVD of J(t). Then ... for each k': the SVD at each t, "
            "ordered s_1 >= s_2 >= ... as everywhere in the paper (Section 7 compares Prop. 7.1's ordered s_k with "
            "\"the expression stated in Proposition 4.5\"), along a balanced masked flow whose singular values meet.",
    hypotheses=("Masked Linear Network", "balanced initialisation", "gradient flow"),
    exercises="a balanced masked flow (n = 3, one closed gate coordinate) whose two nonzero singular values cross.",
    depends_on=("prop-4.5/sv-ode",),
    proof_conditions=PROP45_CONDITIONS,
    kind=Kind.IDENTITY,
    check=_crossing_check,
    replay=_crossing_replay,
    severity=Severity.MINOR,
    severity_note="Read with the ordered SVD ('an SVD'), the ODE fails where balanced flows make singular values "
                  "meet (here t = 1/2: ds_k/dt does not exist there). The proof defers to Arora et al. ('The rest "
                  "is identical'), whose result is stated for an analytic (unordered) SVD, along which the ODE holds "
                  "for all t (the corrected form): the missing word costs the statement isolated crossing times, "
                  "not its content.",
    corrected=Corrected(
        statement=r"The ODE holds at every $t$ where $s_k(t)$ is a simple singular value of the ordered SVD; along "
                  r"the analytic SVD of Arora et al. (branches that may cross, not reordered) it holds for all $t$.",
        reading="Same flow: the ordered SVD away from the crossing, the analytic branches (the flow's fixed frame) at it.",
        derivation="Arora et al. (2019, Thm. 3) for the deep-linear flow of the M_l; at a simple s_k the ordered and "
                   "the analytic SVD agree locally (Lemma E.2, corrected).",
        check=functools.partial(_crossing_check, at_crossing="branches"),
        foils=(
            Foil("the ordered SVD at the crossing too (simplicity dropped)",
                 functools.partial(_crossing_check, at_crossing="ordered"), kind="hypothesis"),
            Foil("exponent 2 - 1/L", functools.partial(_crossing_check, at_crossing="branches",
                                                        power=lambda L: 2 - 1 / L), kind="exponent",
                 nearest=True, size=0.5, unit="absolute"),
        ),
        knob=Knob("exponent 2 - 2/L of s_k", "absolute",
                  lambda dx: functools.partial(_crossing_check, at_crossing="branches", dexp=dx), 0.5,
                  "exponent 2 - 2/L -> 2 - 1/L (a slip of 1/L = 1/2 at the flow's L = 2)"),
    ),
)
