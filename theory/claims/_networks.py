"""Hypothesis strategies and small helpers shared by the FGLN claim modules (sec4, sec7, app_a, app_e).

Not a claims module (leading underscore: the registry skips it).
"""

from __future__ import annotations

import numpy as np
from hypothesis import Phase, settings
from hypothesis import strategies as st

from checks import strategies as cst
from checks.tolerance import tol

GATE_KINDS = ("masked", "general")

# Gate values at the edges of float64: subnormal (5e-324, 2.2e-311), tiny normal (1e-160, whose
# square underflows) and huge (1e30; 1e30^4 stays finite on the L <= 5 paths drawn). They make partial products leave the normal range, which is
# where tolerances derived from a product's own size underflow to 0 (issue 10: rem-4.2 at full seed 1).
EXTREME_GATES = (5e-324, 2.2250738585072e-311, 1e-160, -1e-160, 1e30)
# Smallest positive float64: the absolute error of one operation whose result underflows.
TINY = float(np.finfo(np.float64).smallest_subnormal)


def rounding_tol(n: int, *, scale: float, kernels: int = 1, kappa: float = 1.0, amplification: float = 1.0,
                 unit: float = TINY) -> float:
    """``checks.tolerance.tol`` with its underflow floor made explicit (``unit`` for rescaled data)."""
    return tol(n, scale=scale, kernels=kernels, kappa=kappa, amplification=amplification, unit=unit)


def no_shrink(check):
    """Run a property check without Hypothesis's shrink phase (for foils).

    A foil only has to be *rejected*; its counterexample is not stored or replayed, so shrinking it (the
    bulk of a failing property run: hundreds of extra calls of the comparison) is wasted work. The
    strategy, seed and example budget are unchanged, so the generated inputs are the same; the Hypothesis
    profile is switched only for the duration of the call and restored afterwards.
    """
    def run(ctx):
        prev = settings.get_current_profile_name()
        settings.register_profile("_foil_no_shrink", parent=settings.get_profile(prev),
                                  phases=(Phase.explicit, Phase.reuse, Phase.generate))
        settings.load_profile("_foil_no_shrink")
        try:
            return check(ctx)
        finally:
            settings.load_profile(prev)

    return run


def _until_first_failure(compare):
    """``compare`` that, once it has failed, returns that failing comparison without recomputing: without a
    shrink phase Hypothesis still draws the rest of its examples, which would all be evaluated in full."""
    first = {}

    def wrapped(**inputs):
        if "cmp" in first:
            return first["cmp"]
        cmp = compare(**inputs)
        if not cmp.ok:
            first["cmp"] = cmp
        return cmp

    return wrapped


def fast_foil(pc, compare=None):
    """``pc.foil(compare)`` (same strategy, seed and budget; ``compare`` defaults to pc's own, for a foil that
    changes the strategy instead), run without shrinking and stopping work at the first failure."""
    compare = pc.compare if compare is None else compare
    return no_shrink(lambda ctx: pc.foil(_until_first_failure(compare))(ctx))


@st.composite
def gate_vector(draw, n: int, kind: str) -> np.ndarray:
    """Diagonal of a gate: 0/1 ('masked') or arbitrary reals incl. 0, negatives, subnormal, tiny and
    huge ('general', i.e. not idempotent)."""
    if kind == "masked":
        return draw(cst.gates(n))
    vals = draw(st.lists(st.one_of(st.just(0.0), st.just(1.0),
                                   st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False),
                                   st.sampled_from([1e-3, -2.0, 2.0, 10.0]),
                                   st.sampled_from(EXTREME_GATES)),
                         min_size=n, max_size=n))
    d = np.array(vals, dtype=np.float64)
    if np.all((d == 0) | (d == 1)) and n >= 1:
        d[0] = 2.0  # make sure a 'general' gate is not idempotent
    return d


@st.composite
def networks(draw, *, L=(1, 5), n=(1, 5), gate_kind=GATE_KINDS, square: bool = False,
             cond=(1.0, 1e3), min_gate_rank: int = 0):
    """A (possibly rectangular) FGLN: dict(Ws=[W_1..W_L], ds=[d_1..d_{L-1}], kind=...).

    Weights have controlled spectra (spread / clustered / repeated / geometric, rank-deficient
    allowed) through :func:`checks.strategies.matrices`.
    """
    Lv = draw(st.integers(*L))
    kind = draw(st.sampled_from(gate_kind)) if isinstance(gate_kind, tuple) else gate_kind
    if square:
        w = draw(st.integers(*n))
        ns = [w] * (Lv + 1)
    else:
        ns = [draw(st.integers(*n)) for _ in range(Lv + 1)]
    Ws = [draw(cst.matrices(ns[l + 1], ns[l], cond=cond, rank="any", scale=(0.3, 3.0)))
          for l in range(Lv)]
    ds = []
    for l in range(1, Lv):
        d = draw(gate_vector(ns[l], kind))
        if min_gate_rank and np.count_nonzero(d) < min_gate_rank:
            d[:min_gate_rank] = np.where(d[:min_gate_rank] == 0, 1.0, d[:min_gate_rank])
        ds.append(d)
    return {"Ws": Ws, "ds": ds}


@st.composite
def net_and_grad(draw, gate_kind, **kw):
    """A network from :func:`networks` plus a loss gradient G (n_L x n_0, any rank, cond <= 1e3)."""
    net = draw(networks(gate_kind=gate_kind, **kw))
    nL, n0 = net["Ws"][-1].shape[0], net["Ws"][0].shape[1]
    net["G"] = draw(cst.matrices(nL, n0, cond=(1.0, 1e3), rank="any"))
    return net


def product_scale(Ws, ds, G=None) -> float:
    """An upper bound for every partial product's norm (times ||G||): prod ||W_l|| prod max(1,|d_l|)."""
    s = 1.0
    for w in Ws:
        s *= max(np.linalg.norm(w, 2), 1.0)
    for d in ds:
        s *= max(np.max(np.abs(d)) if d.size else 1.0, 1.0)
    if G is not None:
        s *= max(np.linalg.norm(G, 2), 1e-300)
    return s


def chain_tol(Ws, ds, G=None, extra_kernels: int = 2) -> float:
    """Float64 tolerance for a chain of L+extra matmuls of the network's size (checks.tolerance)."""
    nmax = max(max(w.shape) for w in Ws)
    scale = product_scale(Ws, ds, G)
    return rounding_tol(nmax, scale=scale, kernels=len(Ws) + extra_kernels, amplification=scale)


def torch_fgln_grads(Ws, ds, G):
    """Reference gradient by torch autograd: grad_{W_l} of <G, J(W)> (so grad_J L = G)."""
    import torch

    W = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in Ws]
    D = [torch.tensor(d, dtype=torch.float64) for d in ds]
    J = W[0]
    for l in range(1, len(W)):
        J = W[l] @ (D[l - 1][:, None] * J)
    obj = torch.sum(torch.tensor(G, dtype=torch.float64) * J)
    return [g.numpy() for g in torch.autograd.grad(obj, W)]


def torch_jdot_flow(Ws, ds, G):
    """Reference dJ/dt under gradient flow: forward-mode derivative (torch.func.jvp) of W -> J(W) in
    the direction Wdot = -(autograd gradient of <G, J>)."""
    import torch
    from torch.func import jvp

    Wdot = [torch.tensor(-x, dtype=torch.float64) for x in torch_fgln_grads(Ws, ds, G)]
    D = [torch.tensor(d, dtype=torch.float64) for d in ds]

    def J_of(*W):
        J = W[0]
        for l in range(1, len(W)):
            J = W[l] @ (D[l - 1][:, None] * J)
        return J

    _, jd = jvp(J_of, tuple(torch.tensor(w, dtype=torch.float64) for w in Ws), tuple(Wdot))
    return jd.numpy()


@st.composite
def distinct_svals(draw, k: int, *, min_log_gap: float = 0.02, zero_last: bool = False):
    """k strictly decreasing positive singular values with log-gaps >= min_log_gap (optionally a
    trailing exact zero)."""
    top = draw(st.floats(-1.0, 1.0))
    gaps = draw(st.lists(st.floats(min_log_gap, 3.0), min_size=k - 1, max_size=k - 1))
    s = np.exp(top - np.concatenate([[0.0], np.cumsum(gaps)]))
    if zero_last:
        s[-1] = 0.0
    return s


@st.composite
def matrix_with_svals(draw, rows: int, cols: int, s):
    from checks.strategies import haar_orthogonal_np

    rng = np.random.default_rng(draw(cst.seeds()))
    k = len(s)
    U = haar_orthogonal_np(rows, rng)[:, :k]
    V = haar_orthogonal_np(cols, rng)[:, :k]
    return (U * s) @ V.T
