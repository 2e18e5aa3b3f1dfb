"""Appendix A: Lemma A.1 (weight gradients of an FGLN) and the steps of the proof of Proposition 4.5.

The reference everywhere is torch autograd on the network J(W) = W_L D_{L-1} ... D_1 W_1, never the
formulas under test. The suspicion examined: Lemma A.1 is stated for an FGLN with *general*
diagonal gates, but its proof writes A = M_{l+1:L} D_l with M_l := D_l W_l D_{l-1}, which re-inserts
each gate twice (D_l^2) inside M_{l+1:L}; this equals the true suffix only when D_l^2 = D_l.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from checks import Comparison, Corrected, Foil, Kind, Severity, claim
from checks.property import PropertyCheck
from theory import fgln
from theory.claims._networks import chain_tol, fast_foil, net_and_grad, torch_fgln_grads

SECTION = "Appendix A"

LEMMA_A1 = r"""Lemma A.1. Consider an FGLN $J(t) = W_L(t)D_{L-1} \cdots D_1W_1(t)$ trained by gradient flow on the weights $(W_\ell(t))_{\ell=1}^L$ with loss $\mathcal{L}(J)$. Define $M_\ell(t) := D_\ell W_\ell(t)D_{\ell-1}$ for $\ell = 1, \dots, L$. Then:

$$\nabla_{W_\ell} \mathcal{L} = D_\ell M_{\ell+1:L}^\top \nabla_J \mathcal{L}(J) M_{1:\ell-1}^\top$$"""


def _cmp_grad(formula):
    def compare(Ws, ds, G) -> Comparison:
        ref = torch_fgln_grads(Ws, ds, G)
        try:
            got = formula(Ws, ds, G)
        except ValueError:  # a wrong variant that is not even well-typed (matmul shape mismatch)
            got = None
        if got is None or any(a.shape != b.shape for a, b in zip(got, ref)):
            return Comparison(np.inf, chain_tol(Ws, ds, G), {"L": len(Ws), "widths": fgln.widths(Ws),
                                                             "shape_mismatch": True})
        errs = [float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(got, ref)]
        worst = int(np.argmax(errs))
        gate_sq_defect = max([float(np.max(np.abs(d * d - d))) if d.size else 0.0 for d in ds] or [0.0])
        return Comparison(max(errs), chain_tol(Ws, ds, G),
                          {"L": len(Ws), "widths": fgln.widths(Ws), "worst_layer": worst + 1,
                           "max|D^2 - D|": gate_sq_defect})
    return compare


def _grad_formula(layers=fgln.layers_left, *, lead_gate: bool = True, right_gate: bool = False,
                  prefix_shift: int = 0, transpose_grad: bool = False):
    """D_l M_{l+1:L}^T G M_{1:l-1}^T for the layer convention ``layers`` (one- or two-sided M_l); the
    keywords build the wrong variants used as foils (no leading D_l, an extra D_{l-1} on the right, the
    prefix M_{1:l-1+shift}, G^T in place of G)."""
    def formula(Ws, ds, G):
        Ms = layers(Ws, ds)
        g = fgln.full_gates(*fgln.check_network(Ws, ds))
        L = len(Ms)
        Gx = G.T if transpose_grad else G
        out = []
        for l in range(1, L + 1):
            suf = fgln.pprod(Ms, l + 1, L, dim=Ms[l - 1].shape[0])
            pre = fgln.pprod(Ms, 1, min(l - 1 + prefix_shift, L), dim=Ms[0].shape[1])
            x = suf.T @ Gx @ pre.T
            if lead_gate:
                x = g[l][:, None] * x
            if right_gate:
                x = x * g[l - 1][None, :]
            out.append(x)
        return out
    return formula


def _minimal_counterexample_sympy() -> dict:
    """n = 1, L = 2, D_1 = d: exact gradients of L(J) = J (grad_J L = 1) vs the printed formula."""
    w1, w2, d = sp.symbols("w1 w2 d")
    J = w2 * d * w1
    true = sp.diff(J, w1)  # = d*w2
    M2 = 1 * w2 * d  # D_2 W_2 D_1 with D_2 = 1
    printed = d * M2 * 1  # D_1 M_{2:2}^T * grad_J * M_{1:0}^T
    diff = sp.factor(printed - true)
    sub = {w1: 1, w2: 1, d: 2}
    return {"symbolic_true": str(true), "symbolic_printed": str(printed), "printed_minus_true": str(diff),
            "at": {"w1": 1, "w2": 1, "d1": 2, "grad_J": 1}, "true_value": int(true.subs(sub)),
            "printed_value": int(printed.subs(sub)), "vanishes_iff": "d*(d-1)*w2 = 0, i.e. d in {0,1}"}


def _with_extra(pc: PropertyCheck, extra):
    def check(ctx):
        out = pc(ctx)
        out.evidence.update(extra())
        return out
    check.replay = pc.replay
    return check


def _products_reproduce_J() -> dict:
    """Does A = M_{l+1:L} D_l, B = M_{1:l-1} (two-sided M_l) give J = A W_l B? (proof's first line)."""
    rng = np.random.default_rng(3)
    out = {}
    for kind, ds in (("0/1 gates", [(rng.random(4) < 0.5).astype(float) for _ in range(3)]),
                     ("general gates", [rng.uniform(-2, 2, 4) for _ in range(3)])):
        Ws = [rng.standard_normal((4, 4)) for _ in range(4)]
        Ms = fgln.layers_two_sided(Ws, ds)
        g = fgln.full_gates(Ws, ds)
        J = fgln.jacobian(Ws, ds)
        errs = [float(np.max(np.abs(fgln.pprod(Ms, l + 1, 4, dim=4) * g[l][None, :] @ Ws[l - 1]
                                    @ fgln.pprod(Ms, 1, l - 1, dim=4) - J))) for l in range(1, 5)]
        out[kind] = {"max_|A W_l B - J|_over_l": max(errs), "per_l": errs}
    return out


_pc_general = PropertyCheck(
    net_and_grad(("masked", "general")), _cmp_grad(fgln.grad_lemma_a1),
    generated="FGLNs with L in 1..5, rectangular widths 1..5, weights with spread/clustered/repeated/"
              "geometric spectra (cond <= 1e3, rank-deficient allowed), gates either 0/1 or general reals "
              "(0, negative, 1e-3, 10, subnormal, 1e-160, 1e30); grad_J L = G arbitrary; reference = torch "
              "autograd of <G, J(W)>")
_pc_general_fixed = PropertyCheck(net_and_grad(("masked", "general")), _cmp_grad(_grad_formula()),
                                  generated="as for the printed form (general and 0/1 gates, rectangular), "
                                            "reference autograd")

claim(
    id="lem-a.1",
    ref="Lemma A.1 (Appendix A)",
    section=SECTION,
    statement=LEMMA_A1,
    reading="For every FGLN in the sense of Def. 4.1 (\"let D_l be fixed diagonal matrices (the gates)\": general "
            "real diagonal gates; the lemma opens with \"Consider an FGLN\", not a Masked Linear Network) and every "
            "value G of grad_J L, the printed expression equals the true gradient of L(J(W)) in W_l.",
    hypotheses=("FGLN (Definition 4.1): fixed diagonal gates, arbitrary real entries",
                "M_l := D_l W_l D_{l-1}, D_0 = I, D_L = I"),
    exercises="general (non-idempotent) gates and 0/1 gates; rectangular layers; rank-deficient and "
              "ill-conditioned weights.",
    proof_conditions=("L differentiable at J (the chain rule): implied by the lemma's use of grad_J L",
                      "A := M_{l+1:L} D_l equals the true suffix W_L D_{L-1} ... W_{l+1} D_l (the proof's first "
                      "line): holds only when D_k^2 = D_k (masked gates); this is the refutation itself"),
    kind=Kind.IDENTITY,
    check=_with_extra(_pc_general, lambda: {"minimal_counterexample_exact": _minimal_counterexample_sympy(),
                                            "proof_products_reproduce_J": _products_reproduce_J()}),
    replay=_pc_general.replay,
    severity=Severity.MINOR,
    severity_note="The lemma is false for non-0/1 gates (the two-sided M_l puts D_l^2 in the suffix), but no stated "
                  "result inherits the slip: Proposition 4.5 uses it only for masked gates (lem-a.1/masked), and "
                  "Lemma E.1's proof uses it with the one-sided M_l := D_l W_l, where the printed formula is the "
                  "correct gradient (the corrected form).",
    corrected=Corrected(
        statement=r"$\nabla_{W_\ell}\mathcal{L} = D_\ell M_{\ell+1:L}^\top \nabla_J\mathcal{L}(J) M_{1:\ell-1}^\top$ "
                  r"with $M_\ell := D_\ell W_\ell$ ($D_L := I$); equivalently $A_\ell^\top\nabla_J\mathcal{L}B_\ell^\top$ "
                  r"with $A_\ell, B_\ell$ of Section 7. With $M_\ell := D_\ell W_\ell D_{\ell-1}$ the printed form "
                  r"holds iff every gate is idempotent on the relevant coordinates (Masked Linear Networks).",
        reading="Same quantifiers as the printed lemma (general real diagonal gates), checked against autograd.",
        derivation="J = A W_l B with A = W_L D_{L-1} ... W_{l+1} D_l and B = D_{l-1} W_{l-1} ... D_1 W_1. "
                   "With M_l = D_l W_l D_{l-1}, M_{l+1:L} = W_L D_{L-1}^2 W_{L-1} ... D_{l+1}^2 W_{l+1} D_l, so "
                   "M_{l+1:L} D_l = A only when D_k^2 = D_k. With the one-sided M_l = D_l W_l, "
                   "M_{l+1:L} D_l = A and M_{1:l-1} = B exactly, for any gates.",
        check=_pc_general_fixed,
        foils=(
            Foil("an extra D_{l-1} on the right: D_l M_{l+1:L}^T grad M_{1:l-1}^T D_{l-1} (M_l := D_l W_l)",
                 fast_foil(_pc_general_fixed, _cmp_grad(_grad_formula(right_gate=True))), kind="factor"),
            Foil("without the leading gate: M_{l+1:L}^T grad M_{1:l-1}^T (M_l := D_l W_l)",
                 fast_foil(_pc_general_fixed, _cmp_grad(_grad_formula(lead_gate=False))), kind="factor"),
            Foil("prefix index shifted: D_l M_{l+1:L}^T grad M_{1:l}^T (M_l := D_l W_l)",
                 fast_foil(_pc_general_fixed, _cmp_grad(_grad_formula(prefix_shift=1))), kind="index",
                 nearest=True, size=1, unit="index"),
        ),
    ),
)

_pc_masked = PropertyCheck(net_and_grad("masked"), _cmp_grad(fgln.grad_lemma_a1),
                           generated="masked FGLNs, L in 1..5, widths 1..5, reference torch autograd")
claim(
    id="lem-a.1/masked",
    ref="Lemma A.1 (Appendix A), restricted to Masked Linear Networks",
    section=SECTION,
    statement=LEMMA_A1,
    reading="The printed formula for Masked Linear Networks (gates with entries in {0,1}), the class "
            "Proposition 4.5 uses it for (\"Consider a Masked Linear Network ... define M_l(t) := D_l W_l(t) D_{l-1}\").",
    hypotheses=("Masked Linear Network: D_l diagonal with entries in {0,1}",),
    exercises="0/1 gates incl. all-zero and all-one gates; rectangular layers; rank-deficient weights.",
    proof_conditions=("D_k^2 = D_k, so M_{l+1:L} D_l is the true suffix: implied by 0/1 gates",),
    kind=Kind.IDENTITY,
    check=_pc_masked,
    foils=(
        Foil("prefix index shifted: D_l M_{l+1:L}^T grad M_{1:l}^T",
             fast_foil(_pc_masked, _cmp_grad(_grad_formula(fgln.layers_two_sided, prefix_shift=1))), kind="index",
             nearest=True, size=1, unit="index"),
        Foil("Lemma E.1's one-sided M_l := D_l W_l without the leading D_l: M_{l+1:L}^T grad M_{1:l-1}^T",
             fast_foil(_pc_masked, _cmp_grad(_grad_formula(fgln.layers_left, lead_gate=False))), kind="convention"),
    ),
)


# ---------------------------------------------------------------------------------------------
# Proof of Proposition 4.5: the four expanded products and Delta-dot = 0
# ---------------------------------------------------------------------------------------------
def _flow_terms(Ws, ds, G, layers=fgln.layers_two_sided):
    """M_l and Mdot_l under gradient flow, Wdot_l = -grad (autograd reference): two-sided M_l = D_l W_l D_{l-1},
    Mdot_l = D_l Wdot_l D_{l-1} (Proposition 4.5), or one-sided M_l = D_l W_l, Mdot_l = D_l Wdot_l."""
    Ms = layers(Ws, ds)
    g = fgln.full_gates(Ws, ds)
    Wdot = [-x for x in torch_fgln_grads(Ws, ds, G)]
    right = layers is fgln.layers_two_sided
    Mdot = [g[l + 1][:, None] * Wdot[l] * (g[l][None, :] if right else 1.0) for l in range(len(Ws))]
    return Ms, Mdot, g


def _P(Ms, a, b, dim):
    return fgln.pprod(Ms, a, b, dim=dim)


def _step_values(Ws, G, l, terms):
    """Printed left and right sides of each display line, 1-based l in 1..L-1 (``terms`` from _flow_terms)."""
    Ms, Mdot, g = terms
    L = len(Ws)
    n = fgln.widths(Ws)
    pre_l = _P(Ms, 1, l, n[0])  # M_{1:l}
    suf_l1 = _P(Ms, l + 1, L, n[l])  # M_{l+1:L}
    suf_l2 = _P(Ms, l + 2, L, n[l + 1])  # M_{l+2:L}
    Dl, Dl1 = np.diag(g[l]), np.diag(g[l + 1])
    X = pre_l @ G.T @ suf_l1  # M_{1:l} grad^T M_{l+1:L}
    inner = Dl1 @ suf_l2.T @ G @ pre_l.T  # D_{l+1} M_{l+2:L}^T grad M_{1:l}^T
    Wl1 = Ws[l]
    return {
        "mdot_next_T_m_next": (Mdot[l].T @ Ms[l], {
            "line1": -Dl @ inner.T @ Dl1 @ Dl1 @ Wl1 @ Dl,
            "line2": -Dl @ pre_l @ G.T @ suf_l2 @ Dl1 @ Wl1 @ Dl,
            "line3": -X}),
        "m_mdot_T": (Ms[l - 1] @ Mdot[l - 1].T, {"printed": -X}),
        "m_next_T_mdot_next": (Ms[l].T @ Mdot[l], {"printed": -X.T}),
        "mdot_m_T": (Mdot[l - 1] @ Ms[l - 1].T, {"printed": -X.T}),
        "delta_dot": (Mdot[l].T @ Ms[l] + Ms[l].T @ Mdot[l] - (Mdot[l - 1] @ Ms[l - 1].T + Ms[l - 1] @ Mdot[l - 1].T),
                      {"printed": np.zeros((n[l], n[l]))}),
        # foil only: equation (1) with one sign slipped (the second term subtracted)
        "delta_dot_sign_slip": (Mdot[l].T @ Ms[l] - Ms[l].T @ Mdot[l]
                                - (Mdot[l - 1] @ Ms[l - 1].T + Ms[l - 1] @ Mdot[l - 1].T),
                                {"printed": np.zeros((n[l], n[l]))}),
    }


# Wrong variants of a printed right-hand side (foils): the sign, or the transpose (the proof pairs the
# four products into X and X^T; mixing up which is which is the natural slip).
VARIANTS = {"printed": lambda v: v, "sign": lambda v: -v, "transpose": lambda v: v.T}


def _cmp_step(name, variant: str = "printed", layers=fgln.layers_two_sided):
    change = VARIANTS[variant]

    def compare(Ws, ds, G) -> Comparison:
        worst, detail = 0.0, {}
        terms = _flow_terms(Ws, ds, G, layers)
        for l in range(1, len(Ws)):
            lhs, rhs = _step_values(Ws, G, l, terms)[name]
            for key, val in rhs.items():
                e = float(np.max(np.abs(lhs - change(val)))) if lhs.size else 0.0
                if e >= worst:
                    worst, detail = e, {"l": l, "line": key}
        detail.update({"L": len(Ws), "widths": fgln.widths(Ws)})
        return Comparison(worst, chain_tol(Ws, ds, G, extra_kernels=4), detail)
    return compare


def _general_gate_probe(name):
    """Hypothesis probe: the same step with a non-0/1 gate (fixed small example)."""
    def extra():
        rng = np.random.default_rng(7)
        Ws = [rng.standard_normal((3, 3)) for _ in range(3)]
        ds = [np.array([2.0, 0.5, 1.0]), np.array([1.0, -1.0, 0.0])]
        G = rng.standard_normal((3, 3))
        cmp = _cmp_step(name)(Ws, ds, G)
        return {"probe_general_gates": {"gates": [d.tolist() for d in ds], "err": cmp.err, "tol": cmp.tol,
                                        "holds": cmp.ok, **cmp.detail}}
    return extra


PROOF_HEAD = r"""We define the difference:

$$\Delta_\ell(t) := M_{\ell+1}^\top(t)M_{\ell+1}(t) - M_\ell(t)M_\ell^\top(t)$$

We then show $\dot{\Delta}_\ell(t) = 0$, which implies $\Delta_\ell(t) = 0$ for all t ."""

STEPS = {
    "mdot_next_T_m_next": ("prop-4.5/proof/mdot-next-t-m-next",
                           r"""$$\begin{aligned} \dot{M}_{\ell+1}^\top M_{\ell+1} &= -D_\ell (D_{\ell+1} M_{\ell+2:L}^\top \nabla_J \mathcal{L} M_{1:\ell}^\top)^\top D_{\ell+1} D_{\ell+1} W_{\ell+1} D_\ell \\ &= -D_\ell M_{1:\ell} \nabla_J \mathcal{L}^\top M_{\ell+2:L} D_{\ell+1} W_{\ell+1} D_\ell \\ &= -M_{1:\ell} \nabla_J \mathcal{L}^\top M_{\ell+1:L} \end{aligned}$$""",
                           "each of the three printed lines equals the true product"),
    "m_mdot_T": ("prop-4.5/proof/m-mdot-t", r"$$M_\ell \dot{M}_\ell^\top = -M_{1:\ell} \nabla_J \mathcal{L}^\top M_{\ell+1:L}$$", ""),
    "m_next_T_mdot_next": ("prop-4.5/proof/m-next-t-mdot-next",
                           r"$$M_{\ell+1}^\top \dot{M}_{\ell+1} = -M_{\ell+1:L}^\top \nabla_J \mathcal{L} M_{1:\ell}^\top$$", ""),
    "mdot_m_T": ("prop-4.5/proof/mdot-m-t", r"$$\dot{M}_\ell M_\ell^\top = -M_{\ell+1:L}^\top \nabla_J \mathcal{L} M_{1:\ell}^\top.$$", ""),
    "delta_dot": ("prop-4.5/proof/delta-dot-zero",
                  PROOF_HEAD + "\n\n" + r"$$\dot{\Delta}_\ell = \dot{M}_{\ell+1}^\top M_{\ell+1} + M_{\ell+1}^\top \dot{M}_{\ell+1} - (\dot{M}_\ell M_\ell^\top + M_\ell \dot{M}_\ell^\top) \quad (1)$$"
                  "\n\nWe see that all terms in equation 1 cancel out.", ""),
}

_STEP_GEN = ("masked FGLNs, L in 2..5, rectangular widths 1..5, all l = 1..L-1; "
             "Mdot_l = D_l Wdot_l D_{l-1} with Wdot_l = -(autograd gradient)")


def _step_foils(key, pc):
    if key == "delta_dot":
        general = PropertyCheck(net_and_grad(("masked", "general"), L=(2, 5)), _cmp_step(key),
                                generated=_STEP_GEN.replace("masked FGLNs", "FGLNs with 0/1 or general gates"))
        return (Foil("the cancellation holds for every FGLN (general diagonal gates, hypothesis 'masked' dropped)",
                     fast_foil(general), kind="hypothesis"),
                Foil("the cancellation holds with Lemma E.1's one-sided M_l := D_l W_l (Mdot_l = D_l Wdot_l)",
                     fast_foil(pc, _cmp_step(key, layers=fgln.layers_left)), kind="convention"),
                Foil("one sign slipped in (1): Mdot_{l+1}^T M_{l+1} - M_{l+1}^T Mdot_{l+1} - (Mdot_l M_l^T + M_l Mdot_l^T) = 0",
                     fast_foil(pc, _cmp_step("delta_dot_sign_slip")), kind="sign", nearest=True, size=1, unit="sign"))
    return (Foil("sign flipped on the right-hand side", fast_foil(pc, _cmp_step(key, "sign")), kind="sign"),
            Foil("X and X^T exchanged (the right-hand side transposed)", fast_foil(pc, _cmp_step(key, "transpose")),
                 kind="transpose", nearest=True, size=1, unit="transposition"))


for key, (cid, text, extra_reading) in STEPS.items():
    pc = PropertyCheck(net_and_grad("masked", L=(2, 5)), _cmp_step(key), generated=_STEP_GEN)
    claim(
        id=cid,
        ref="Proof of Proposition 4.5 (Appendix A)",
        section=SECTION,
        statement=text,
        reading="Along gradient flow of a Masked Linear Network (0/1 gates, as in Proposition 4.5: \"Consider a "
                "Masked Linear Network ... define M_l(t) := D_l W_l(t) D_{l-1}\"), with Wdot_l = -grad_{W_l} L, for "
                "every l = 1..L-1 and every value of grad_J L" + ("; " + extra_reading if extra_reading else "") + ".",
        hypotheses=("Masked Linear Network (0/1 gates)", "gradient flow Wdot_l = -grad_{W_l} L"),
        exercises="0/1 gates incl. zero gates, rectangular widths, rank-deficient weights; a non-0/1 gate "
                  "is run as a hypothesis probe (evidence).",
        depends_on=("lem-a.1/masked",),
        kind=Kind.IDENTITY,
        check=_with_extra(pc, _general_gate_probe(key)),
        replay=pc.replay,
        foils=_step_foils(key, pc),
    )
