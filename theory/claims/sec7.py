"""Section 7: Proposition 7.1 and Remark 7.2 (approximate singular-value dynamics), checked numerically.

Regimes: (E) shared-singular-basis chains W_l = Q_l diag(e^gamma) Q_{l-1}^T, where (ii) holds with eps = 0
and (i) exactly; (D) the large-depth separation regime: random products W_l = Q_l diag(e^gamma) R_l Q_{l-1}^T
with Haar Q_l and random rotations R_l = exp(eta K_l) of fixed size, whose top singular values separate
with depth (s_2/s_1 = e^{-L (gamma_1 - gamma_2)}), so that alignment (ii) comes from separation (Theorem
6.1) and (i) holds to a small measured residual; (R) random masked products at initialisation (the Section
8 setting), evidence only: there (i) fails by O(1) in log s. The actual ds_k/dt is the exact u_k^T Jdot v_k
under gradient flow (Lemma E.2 with the corrected Lemma E.1, both checked against autograd / mpmath in
Appendix E).

Reading of (i). As printed, (i) gives s_k(A_l) the exponent (L - l + 1) and s_k(B_l) the exponent l. The
proofs compute with the number of factors of each partial product instead (the convention of Definition 4.6
and Theorem 5.3): under that count both proofs' product steps hold exactly and both printed conclusions are
exact at eps = 0, while under the printed exponents both conclusions are off by a factor e^{-c gamma_k}.
The printed forms are therefore refuted as *wording* (an off-by-one in (i)), and the corrected forms keep
the printed conclusions under the factor-count exponents (theory.fgln.FACTOR_COUNT_71 / _72).
"""

from __future__ import annotations

import numpy as np

import functools

from checks import Comparison, Corrected, Foil, Knob, Kind, Outcome, Severity, Status, claim
from checks import stats
from checks.property import PropertyCheck
from theory import fgln
from theory.claims._networks import chain_tol, fast_foil, networks, rounding_tol

SECTION = "Section 7"

PROP71 = r"""Proposition 7.1. *With notations as above, we make the following assumptions:*

(i) (Depth Scaling) *For each $1 \leq k \leq n$ there exists scalar functions $\gamma_k(t)$ and $\delta_k(t)$ such that for every $\ell \in \{1, \dots, L\}$ the singular values satisfy*

$$\begin{aligned} s_{k,A_\ell}(t) &= e^{(L-\ell+1)\gamma_k(t)+\delta_k(t)}, \\ s_{k,B_\ell}(t) &= e^{\ell\gamma_k(t)+\delta_k(t)}; \end{aligned}$$

(ii) (Spectral separation) *There exists some $\varepsilon \ll 1$ such that for all time t and every $\ell \in \{1, \dots, L\}$*

$$\begin{aligned} \|U^\top U_{A_\ell} - I\|_\infty &< \varepsilon, \\ \|V^\top V_{B_\ell} - I\|_\infty &< \varepsilon. \end{aligned}$$

Then for each $1 \leq k \leq n$

$$\dot{s}_k(t) \stackrel{\varepsilon \rightarrow 0}{\sim} -e^{(2+\frac{2}{L})\delta_k(t)} L s_k(t)^{2-\frac{2}{L}} \langle \nabla_J \mathcal{L}(t), u_k(t) v_k(t)^\top \rangle.$$"""

REM72 = r"""Then for each $1 \leq k \leq n$

$$\dot{s}_k \stackrel{\varepsilon \rightarrow 0}{\sim} e^{(1+\frac{1}{L})\delta_k} s_k^{1-\frac{1}{L}} \sum_{\ell=1}^L (T_{\ell+1}^- V_{A_{\ell+1}}^\top \dot{M}_\ell U_{B_{\ell-1}} T_{\ell-1}^+)_{k,k}.$$

(with assumptions (i) $s_{A_\ell, k}(t) = e^{(L-\ell+1)\gamma_k(t)+\delta_k(t)}$, $s_{B_\ell, k}(t) = e^{\ell\gamma_k(t)+\delta_k(t)}$ and (ii) $\|S_{A_\ell}^{-1} U^\top U_{A_\ell} S_{A_\ell} - T_\ell^-\|_\infty < \varepsilon$, $\|S_{B_\ell} V_{B_\ell} V^\top S_{B_\ell}^{-1} - T_\ell^+\|_\infty < \varepsilon$, $A_\ell = M_{\ell:L}$, $B_\ell = M_{1:\ell-1}$.)"""


# ---------------------------------------------------------------------------------------------
# J = A_l W_l B_l
# ---------------------------------------------------------------------------------------------
def _cmp_decomp(Ws, ds, *, middle=lambda Ws, ds, l: Ws[l - 1], drop_gate: bool = False) -> Comparison:
    """max_l |A_l X_l B_l - J| with X_l = W_l (the printed decomposition; ``middle`` and ``drop_gate``, which
    removes D_l from the end of A_l, build the foils)."""
    J = fgln.jacobian(Ws, ds)
    worst, wl = 0.0, 0
    for l in range(1, len(Ws) + 1):
        dA = [np.ones_like(d) if (drop_gate and k == l - 1) else d for k, d in enumerate(ds)]
        P = fgln.A_sec7(Ws, dA, l) @ middle(Ws, ds, l) @ fgln.B_sec7(Ws, ds, l)
        if P.shape != J.shape:
            return Comparison(np.inf, 0.0, {"shape_mismatch": True, "l": l})
        e = float(np.max(np.abs(P - J))) if J.size else 0.0
        if e >= worst:
            worst, wl = e, l
    return Comparison(worst, chain_tol(Ws, ds), {"L": len(Ws), "widths": fgln.widths(Ws), "worst_l": wl})


_pc_decomp = PropertyCheck(networks(), _cmp_decomp,
                           generated="FGLNs L 1..5, widths 1..5 (0/1 and general gates incl. subnormal and huge); J "
                                     "computed by sequential layer application")
claim(
    id="prop-7.1/decomposition",
    ref="Section 7 (definitions of A_l, B_l)",
    section=SECTION,
    statement=r"""$$\begin{aligned} A_\ell &:= W_L D_{L-1} W_{L-1} \cdots W_{\ell+1} D_\ell, \\ B_\ell &:= D_{\ell-1} W_{\ell-1} \cdots D_1 W_1 \end{aligned}$$

so that for all ℓ we have $J = A_\ell W_\ell B_\ell$.""",
    reading="For every FGLN (general gates, rectangular allowed) and l = 1..L, with D_0 = I, D_L = I.",
    hypotheses=("FGLN (Definition 4.1)",),
    exercises="general and 0/1 gates, rectangular widths, rank-deficient weights.",
    depends_on=("def-4.1",),
    kind=Kind.IDENTITY,
    check=_pc_decomp,
    foils=(
        Foil("J = A_l D_l W_l B_l (the gate D_l counted again in the middle)",
             fast_foil(_pc_decomp, functools.partial(
                 _cmp_decomp, middle=lambda Ws, ds, l: fgln.full_gates(Ws, ds)[l][:, None] * Ws[l - 1])), kind="factor"),
        Foil("A_l := W_L D_{L-1} ... D_{l+1} W_{l+1} without the trailing gate D_l",
             fast_foil(_pc_decomp, functools.partial(_cmp_decomp, drop_gate=True)), kind="index", nearest=True,
             size=1, unit="index"),
    ),
)


# ---------------------------------------------------------------------------------------------
# Proposition 7.1 and Remark 7.2: shared machinery
# ---------------------------------------------------------------------------------------------
GAMMAS = np.array([0.6, 0.2, -0.2, -0.6])  # exact family (E), n = 4
GAMMAS72 = np.array([0.5, 0.1, -0.3])  # exact family of Remark 7.2, n = 3
# Deep family (D): n = 3, layer spectrum e^gamma with gaps 0.3, a random rotation of size DEEP_ETA in every
# layer. s_2/s_1 = e^{-0.3 L}; s_3/s_1 = e^{-0.6 L} stays resolved in float64 (> fgln.RESOLVED) up to L = 30.
DEEP_GAMMAS = np.array([0.3, 0.0, -0.3])
DEEP_ETA = 0.1

READING_QUOTES = (
    "Section 7 calls (i) a depth-scaling assumption \"motivated by Theorem 5.3\" and Def. 4.6 defines depth "
    "scaling as |log s_k(M_{1:l}) - (l gamma_k + delta_k)| <= eps for a product of l factors; '~ as eps -> 0' "
    "is read as predicted/actual -> 1 along families satisfying (i) and (ii) with eps -> 0 (a limit at fixed L); "
    "and \"We emphasize that Proposition 7.1 is an illustrative derivation: its assumptions are deliberately strong "
    "and are not expected to hold uniformly across all l (e.g., for very short prefix/suffix products). In practice, "
    "separation and alignment emerge only once products are sufficiently deep\" places its use in the large-depth "
    "separation regime of Theorem 6.1.")


def _exact_tol(d, pred, kernels):
    """Float64 resolution of |pred_k - sdot_k| at eps = 0: sdot = u^T Jdot v carries n eps ||Jdot||; pred carries
    the error of the fitted delta (~ eps L max|log s|) amplified by the exponent, relative to |pred|."""
    n, L = len(d["s"]), d["L"]
    logs = max(float(np.max(np.abs(d.get("logA", np.zeros(1))))), float(np.max(np.abs(np.log(d["s"])))), 1.0)
    return np.array([rounding_tol(n, scale=d["jdot_norm"] + abs(p) * (1 + L * logs), kernels=kernels) for p in pred])


def _exact_verdict(rows, predict, kernels):
    """Largest |pred - actual| / tol over L and the resolved modes of the exact (eps = 0) family."""
    worst, table = 0.0, []
    for d in rows:
        pred = predict(d)
        keep = d["resolved"]
        r = np.abs(pred - d["sdot"]) / _exact_tol(d, pred, kernels(d["L"]))
        worst = max(worst, float(np.max(r[keep])))
        table.append({"L": d["L"], "eps": d["eps"], "fit_resid_(i)": float(np.max(d["fit_resid"][keep])),
                      "gamma": np.round(d["gamma"], 6).tolist(), "delta": np.round(d["delta"], 6).tolist(),
                      "ratio_pred/actual": np.round(pred / d["sdot"], 6).tolist(),
                      "err/tol": [float(x) for x in r]})
    return worst, table


C_SIZE = 1.0  # the largest median error per unit of assumption violation a '~' form may show (see _depth_tests)


def _depth_tests(deep, errors, modes, z):
    """Does the error per unit of assumption violation grow from the shallowest to the deepest L?

    c_k = |pred_k - actual_k| / (scale_k (eps + rho_k)), with eps the measured (ii) and rho_k the max residual of
    the (i) fit in log s (the two assumptions' violations: '~ as eps -> 0' means the error is controlled by
    them). One-sided Mann-Whitney test, per mode, that c_k at L_max is not stochastically larger than at L_min
    (rank-based: c_k is heavy-tailed where the prediction fails), at z = the claim's Bonferroni critical value
    split over the modes tested. Power against a growing variant: Phi(z_obs - z), the normal approximation of
    the rank statistic at the measured effect.

    And its size: '~' asks the error to vanish with the violation, so c_k stays O(1); at both ends of the ladder a
    one-sided sign test (same z) that the median of c_k is not above C_SIZE = 1 (the error at most one unit of
    violation, times the scale). The growth test alone is blind to a prediction off by a constant factor or a sign
    at every depth (c_k ~ 1/(eps + rho), large but flat); the correct forms sit at median c_k < 0.1.
    """
    from scipy.stats import mannwhitneyu

    Ls = sorted(deep)
    lo, hi = Ls[0], Ls[-1]
    tests = []
    for k in modes:
        c = {L: np.array([errors(d)[k] / max(d["eps"] + d["fit_resid"][k], 1e-300) for d in deep[L]])
             for L in (lo, hi)}
        n1, n2 = len(c[hi]), len(c[lo])
        u = float(mannwhitneyu(c[hi], c[lo], alternative="greater", method="asymptotic").statistic)
        zk = (u - n1 * n2 / 2) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
        # sign test of median c_k <= C_SIZE at each end: z of the count above C_SIZE against Binomial(N, 1/2)
        zs = {L: float((np.sum(c[L] > C_SIZE) - len(c[L]) / 2) / np.sqrt(len(c[L]) / 4)) for L in (lo, hi)}
        zmax = max(zs.values())
        tests.append({"mode": k + 1, "L_min": lo, "median_c_at_L_min": float(np.median(c[lo])), "L_max": hi,
                      "median_c_at_L_max": float(np.median(c[hi])), "mann_whitney_z": float(zk), "z_crit": z,
                      "grows": bool(zk > z), "power_if_it_grows_as_measured": stats.power(zk, 1.0, z) if zk > 0 else 0.0,
                      "share_c_above_C_SIZE": {str(L): float(np.mean(c[L] > C_SIZE)) for L in (lo, hi)},
                      "sign_test_z": zmax, "too_large": bool(zmax > z),
                      "power_if_too_large_as_measured": stats.power(zmax, 1.0, z) if zmax > 0 else 0.0})
    per_L = {L: {"median_eps": float(np.median([d["eps"] for d in deep[L]])),
                 "median_fit_resid_(i)_by_mode": np.round(np.median([d["fit_resid"] for d in deep[L]], axis=0), 6).tolist(),
                 "median_rel_err_by_mode": np.round(np.median([errors(d) for d in deep[L]], axis=0), 6).tolist()}
             for L in Ls}
    return tests, per_L


def _depth_failures(tests, exact_ok: bool):
    """The depth tests that reject (growth with L or median size above C_SIZE) and the power of the whole
    decision: a foil rejected by the deterministic eps = 0 comparison is rejected with probability 1, else by
    any failing test (each at its measured effect)."""
    failing = [t for t in tests if t["grows"] or t["too_large"]]
    power = stats.power_any([0.0 if exact_ok else 1.0] + [max(t["power_if_it_grows_as_measured"],
                                                               t["power_if_too_large_as_measured"]) for t in failing])
    return failing, power


def _resolved_everywhere(deep):
    return [k for k in range(len(DEEP_GAMMAS)) if all(d["resolved"][k] for ds_ in deep.values() for d in ds_)]


def _figure(deep, errors, title):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(111)
    for L, rows in sorted(deep.items()):
        e = np.array([errors(d) for d in rows])
        eps = np.array([d["eps"] for d in rows])
        for k, mk in zip(range(min(2, e.shape[1])), ("o", "x")):
            ax.scatter(eps, np.maximum(e[:, k], 1e-17), s=10, marker=mk, label=f"L={L}, k={k + 1}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured eps of assumption (ii)")
    ax.set_ylabel("|predicted - actual| / scale_k")
    ax.set_title(title)
    ax.legend(fontsize=6, ncol=2)
    return fig


# ---------------------------------------------------------------------------------------------
# Proposition 7.1
# ---------------------------------------------------------------------------------------------
def _exact71(ctx, offsets):
    def run():
        rng = ctx.rng("exact")
        n, rows = len(GAMMAS), []
        for L in ctx.pick(quick=[2, 4, 8], full=[2, 3, 4, 6, 8, 12]):
            Ws = fgln.shared_basis_chain(n, [np.exp(GAMMAS)] * L, rng)
            ds = [np.ones(n)] * (L - 1)
            G = fgln.jacobian(Ws, ds) - rng.standard_normal((n, n))  # L(J) = 1/2 ||J - T||^2
            rows.append(fgln.section7_diagnostics(Ws, ds, G, offsets))
        return rows
    return ctx.memo(("exact71", offsets), run)


def _deep71(ctx):
    def run():
        rng = ctx.rng("deep")
        n, out = len(DEEP_GAMMAS), {}
        for L in ctx.pick(quick=[4, 16], full=[4, 8, 16, 32]):
            rows = []
            for _ in range(ctx.pick(quick=40, full=100)):
                Ws = fgln.shared_basis_chain(n, [np.exp(DEEP_GAMMAS)] * L, rng, DEEP_ETA)
                ds = [np.ones(n)] * (L - 1)
                G = rng.standard_normal((n, n))
                d = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)
                # scale_k: the size the prediction would have with <G, u_k v_k^T> = ||G|| (no division by g_k)
                d["scale"] = np.sum(np.exp(2 * (d["logA"] + d["logB"])), axis=0) * np.linalg.norm(G, 2)
                rows.append(d)
            out[L] = rows
        return out
    return ctx.memo("deep71", run)


def _random_regime(ctx, L, n, reps):
    """Random masked products (Section 8 setting), top mode: how far (i) and (ii) are from holding."""
    from theory import dynamics

    gen = ctx.torch_generator(f"masked-{L}")
    rng = ctx.rng(f"masked-{L}")
    rows = []
    for _ in range(reps):
        Ws, ds = dynamics.init_masked(n, L, 0.5, 1.0 / np.sqrt(n), gen)
        Ws = [w * np.sqrt(2.0) for w in Ws]  # keep the scale O(1) with p = 0.5 gates
        ds = [np.where(d == 0, 0.0, 1.0) for d in ds]
        d = fgln.section7_diagnostics(Ws, ds, rng.standard_normal((n, n)), fgln.FACTOR_COUNT_71)
        rows.append({"eps": d["eps"], "fit_resid_top": float(d["fit_resid"][0]),
                     "actual/aligned_top": float(d["sdot"][0] / d["aligned"][0]),
                     "predicted/actual_top": float(fgln.prop71_printed(d)[0] / d["sdot"][0])})
    return {"L": L, "n": n, "reps": reps, **{f"median_{k}": float(np.median([r[k] for r in rows])) for k in rows[0]}}


def _minimal_prop71(gamma: float = 1.0) -> dict:
    """n = 1, L = 2, W_1 = W_2 = e^gamma, D_1 = 1, L(J) = J: (i) as printed holds with delta = -gamma, eps = 0."""
    L, w = 2, np.exp(gamma)
    s = w * w
    actual = -(w * w + w * w)  # u^T Jdot v with Jdot = -(W_2 W_2^T G + G W_1^T W_1)
    delta = -gamma
    printed = -np.exp((2 + 2 / L) * delta) * L * s ** (2 - 2 / L) * 1.0
    return {"n": 1, "L": L, "W1": w, "W2": w, "D1": 1.0, "grad_J": 1.0, "gamma": gamma, "delta": delta,
            "s": s, "actual_sdot": actual, "printed": printed,
            "factor_count_reading": {"delta": 0.0, "printed_formula": -L * s ** (2 - 2 / L)}}


def _sympy_minimal_cases() -> dict:
    """Second, exact computation of the two minimal counterexamples (n = 1, L = 2), symbolic in gamma."""
    import sympy as sp

    g = sp.symbols("gamma", real=True)
    L = 2
    # Prop 7.1: W_1 = W_2 = e^g, D_1 = 1, L(J) = J: gradient flow Wdot_1 = -W_2, Wdot_2 = -W_1
    w1 = w2 = sp.exp(g)
    jdot = (-w1) * w1 + w2 * (-w2)  # Wdot_2 W_1 + W_2 Wdot_1
    s = w1 * w2
    delta = -g  # forced by (i) as printed at l = 1: s(B_1) = 1 = e^{g + delta}
    printed = -sp.exp((2 + sp.Rational(2, L)) * delta) * L * s ** (2 - sp.Rational(2, L))
    # Rem 7.2: M_1 = e^g, M_2 = 1, Mdot = (0, 1): Jdot = M_2 Mdot_1 + Mdot_2 M_1
    jdot72 = 1 * 0 + 1 * sp.exp(g)
    s72 = sp.exp(g)
    printed72 = sp.exp((1 + sp.Rational(1, L)) * delta) * s72 ** (1 - sp.Rational(1, L)) * (0 + 1)
    return {"prop-7.1": {"actual": str(sp.simplify(jdot)), "printed": str(sp.simplify(printed)),
                         "printed/actual": str(sp.simplify(printed / jdot))},
            "rem-7.2": {"actual": str(sp.simplify(jdot72)), "printed": str(sp.simplify(printed72)),
                        "printed/actual": str(sp.simplify(printed72 / jdot72))}}


def _prop71_replay(cex: dict) -> Comparison:
    """Recompute the stored 1x1 case with the library (exact u^T Jdot v under gradient flow)."""
    Ws = [np.array([[cex["W1"]]]), np.array([[cex["W2"]]])]
    d = fgln.section7_diagnostics(Ws, [np.array([cex["D1"]])], np.array([[cex["grad_J"]]]))
    pred = fgln.prop71_printed(d)[0]
    return Comparison(abs(pred / d["sdot"][0] - 1.0), 1e-12,
                      {"actual": float(d["sdot"][0]), "printed": float(pred), "delta_fit": float(d["delta"][0]),
                       "gamma_fit": float(d["gamma"][0]), "eps": d["eps"]})


def _kernels71(L):
    return 2 * L + 4  # Jdot is a sum of L products of 2L + 1 factors; the prediction two more kernels


def _prop71_check(ctx) -> Outcome:
    worst, table = _exact_verdict(_exact71(ctx, fgln.PRINTED_EXPONENTS), fgln.prop71_printed, _kernels71)
    cex = _minimal_prop71(1.0)
    refuted = worst > 1.0
    return Outcome(
        Status.REFUTED if refuted else Status.SUPPORTED,
        f"at eps = 0 with (i) exact as printed (delta_k = -gamma_k, forced by B_1 = I) predicted/actual = "
        f"e^{{-(2+2/L)gamma_k}} (err/tol up to {worst:.1e}); minimal case n=1, L=2, gamma=1: actual "
        f"{cex['actual_sdot']:.3f} vs printed {cex['printed']:.3f}",
        evidence={"exact_regime": table, "minimal_counterexample": cex,
                  "minimal_counterexample_sympy": _sympy_minimal_cases()["prop-7.1"],
                  "assumption_i_note": "B_1 = D_0 = I and A_L = D_L = I are inside assumption (i) (l = 1 and l = L), "
                                       "so (i) as printed forces e^{gamma_k + delta_k} = 1, i.e. delta_k = -gamma_k; the "
                                       "printed factor e^{(2+2/L)delta_k} is then e^{-(2+2/L)gamma_k}. With exponents "
                                       "counting factors (L - l, l - 1) the same chains give delta_k = 0 and the printed "
                                       "conclusion holds exactly (the corrected form)."},
        method="Shared-basis square FGLNs (n = 4, identity gates, layer singular values e^gamma with gamma = "
               "(0.6, 0.2, -0.2, -0.6)): W_l = Q_l diag(e^gamma) Q_{l-1}^T, Haar Q_l, so (ii) holds with eps = 0 and "
               "(i) exactly. Loss 1/2||J - T||^2 with Gaussian T. gamma_k, delta_k fitted to (i) with the printed "
               "exponents by least squares over l = 1..L (both A_l and B_l). Actual ds_k/dt = u_k^T Jdot v_k under "
               "gradient flow. Decision: |pred - actual| <= float64 tolerance for every resolved mode.",
        counterexample=cex if refuted else None,
    )


# Family (G) of the corrected Prop. 7.1: general (non-0/1) gates and offsets delta_k != 0, at eps = 0.
# Per-mode offsets; (j gamma_k + delta_k) stays strictly decreasing in k for every j >= 1, so every partial
# product orders its modes as J does.
GATED_DELTAS = np.array([0.15, -0.1, 0.12, -0.1])
# The gate value of the family where (i) holds but s_k = e^{L gamma_k + delta_k} does not (the d = 2).
NO_RELATION_GATE = 2.0


def signed_permutation(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random signed permutation matrix: an orthogonal basis in which every diagonal gate stays diagonal."""
    return np.eye(n)[rng.permutation(n)] * rng.choice([-1.0, 1.0], n)[None, :]


def gated_chain(n: int, L: int, gammas, rng: np.random.Generator, *, deltas=None, gate: float | None = None):
    """Square FGLN (L >= 2) with general gates whose partial products have singular values known exactly.

    ``deltas`` (the offset family): gates e^{delta_k} on the aligned modes, W_1 and W_L with singular values
    e^{gamma_k}, the middle W_l with e^{gamma_k - delta_k}. Then s_k(A_l) = e^{(L-l) gamma_k + delta_k} (l < L),
    s_k(B_l) = e^{(l-1) gamma_k + delta_k} (l > 1) and s_k(J) = e^{L gamma_k + delta_k}, while A_L = B_1 = I.
    ``gate`` (the no-relation family): gates gate * I and every W_l with e^{gamma_k} / gate: (i) holds with
    factor-count exponents and delta_k = 0 for every l, but s_k(J) = e^{L gamma_k} / gate.
    Bases: Haar Q_0, Q_L; signed permutations at the gated layers (so a diagonal gate commutes with them and
    (ii) holds with eps = 0).
    """
    from checks.strategies import haar_orthogonal_np

    if L < 2:
        raise ValueError("a gated chain needs L >= 2 (one gate)")
    g = np.asarray(gammas, dtype=np.float64)
    if deltas is not None:
        dl = np.asarray(deltas, dtype=np.float64)
        first = last = np.exp(g)
        mid, gv = np.exp(g - dl), np.exp(dl)
    else:
        first = last = mid = np.exp(g) / gate
        gv = np.full(n, float(gate))
    Qs = [haar_orthogonal_np(n, rng)] + [signed_permutation(n, rng) for _ in range(L - 1)] + [haar_orthogonal_np(n, rng)]
    svals = [first] + [mid] * (L - 2) + [last]
    Ws = [(Qs[l + 1] * svals[l]) @ Qs[l].T for l in range(L)]
    # D_l = Q_l diag(gv) Q_l^T is diagonal because Q_l is a signed permutation
    ds = [np.einsum("ij,j,ij->i", Qs[l], gv, Qs[l]) for l in range(1, L)]
    return Ws, ds


def fit_nontrivial(d: dict):
    """(gamma_k, delta_k, max residual) of assumption (i) with factor-count exponents, fitted by least squares
    over the non-trivial partial products (A_l, l < L: exponent L - l; B_l, l > 1: exponent l - 1) and the row
    log s_k = L gamma_k + delta_k (Def. 4.6 at l = L, the relation the proof uses). The identities A_L = D_L and
    B_1 = D_0 carry no information about gamma_k and fix delta_k = 0; leaving them out is what lets delta_k be
    free."""
    L = d["L"]
    ls = np.arange(1, L + 1, dtype=np.float64)
    X = np.concatenate([np.stack([L - ls[:-1], np.ones(L - 1)], 1), np.stack([ls[1:] - 1, np.ones(L - 1)], 1),
                        np.array([[float(L), 1.0]])])
    Y = np.concatenate([d["logA"][:-1], d["logB"][1:], np.log(d["s"])[None, :]])
    c, *_ = np.linalg.lstsq(X, Y, rcond=None)
    return c[0], c[1], np.max(np.abs(X @ c - Y), axis=0)


def _hypothesis_fit(d: dict, relation: bool):
    """The corrected hypotheses ((i) on the non-trivial products and the relation), or, for the foil that drops
    the relation, (i) alone as the proposition prints its range (every l, factor-count exponents)."""
    return fit_nontrivial(d) if relation else (d["gamma"], d["delta"], d["fit_resid"])


def _exact71_general(ctx):
    """(E) identity gates (delta_k = 0), (G) general gates with delta_k != 0, (N) gates 2 I where (i) holds but
    the relation s_k = e^{L gamma_k + delta_k} does not; all at eps = 0, loss 1/2 ||J - T||^2."""
    def run():
        rng = ctx.rng("exact-general")
        n, rows = len(GAMMAS), []
        for L in ctx.pick(quick=[2, 4, 8], full=[2, 3, 4, 6, 8, 12]):
            fams = {"E": (fgln.shared_basis_chain(n, [np.exp(GAMMAS)] * L, rng), None),
                    "G": gated_chain(n, L, GAMMAS, rng, deltas=GATED_DELTAS),
                    "N": gated_chain(n, L, GAMMAS, rng, gate=NO_RELATION_GATE)}
            for fam, (Ws, ds) in fams.items():
                ds = [np.ones(n)] * (L - 1) if ds is None else ds
                G = fgln.jacobian(Ws, ds) - rng.standard_normal((n, n))
                d = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)
                d["family"] = fam
                rows.append(d)
        return rows
    return ctx.memo("exact71-general", run)


def _pred71(d, delta, *, dexp=0.0, cexp=None, power=None, terms=None):
    """-e^{c delta_k} (L - 2 + 2 e^{-2 delta_k}) s_k^{2-2/L} <G, u_k v_k^T> with c = 2 + 2/L + dexp: the exact
    eps = 0 law of the corrected form (L summands at delta_k = 0). ``power``, ``terms`` (functions of L and
    delta), ``cexp`` (a function of L replacing 2 + 2/L) and ``dexp`` move it for foils and the resolution scan."""
    L = d["L"]
    p = 2 - 2 / L if power is None else power(L)
    t = (L - 2 + 2 * np.exp(-2 * delta)) if terms is None else terms(L, delta)
    c = (2 + 2 / L if cexp is None else cexp(L)) + dexp
    return -np.exp(c * delta) * t * d["s"] ** p * d["g"]


def _exact71_verdict(rows, predict, relation):
    """Worst |pred - actual| / tol over the families whose hypotheses hold (fit residual of (i) [and the
    relation] within float64 resolution) and their resolved modes; families outside the hypotheses are listed."""
    worst, table, outside = 0.0, [], []
    for d in rows:
        gam, dl, res = _hypothesis_fit(d, relation)
        keep = d["resolved"]
        logs = max(float(np.max(np.abs(d["logA"]))), float(np.max(np.abs(np.log(d["s"])))), 1.0)
        # log s_k of a product P is known to ~ eps s_1(P) / s_k(P): the fit residual's tolerance per mode carries
        # that conditioning (largest over the partial products and J)
        kappa = np.exp(np.max(np.concatenate([d["logA"][:, :1] - d["logA"], d["logB"][:, :1] - d["logB"],
                                              (np.log(d["s"][:1]) - np.log(d["s"]))[None, :]]), axis=0))
        hyp_tol = np.array([rounding_tol(len(d["s"]), scale=logs, kappa=float(kp), kernels=_kernels71(d["L"]))
                            for kp in kappa])
        if np.any(res[keep] > hyp_tol[keep]):
            outside.append({"family": d["family"], "L": d["L"], "fit_resid": float(np.max(res[keep])),
                            "tol": float(np.max(hyp_tol[keep]))})
            continue
        pred = predict(d, dl)
        r = np.abs(pred - d["sdot"]) / _exact_tol(d, pred, _kernels71(d["L"]))
        worst = max(worst, float(np.max(r[keep])))
        table.append({"family": d["family"], "L": d["L"], "eps": d["eps"], "fit_resid": float(np.max(res[keep])),
                      "gamma": np.round(gam, 6).tolist(), "delta": np.round(dl, 6).tolist(),
                      "ratio_pred/actual": np.round(pred / d["sdot"], 6).tolist(),
                      "printed_L_terms/actual": np.round(_pred71(d, dl, terms=lambda L, _: L) / d["sdot"], 6).tolist(),
                      "err/tol": [float(x) for x in r]})
    return worst, table, outside


def _prop71_corrected_check(ctx, *, dexp: float = 0.0, cexp=None, power=None, terms=None, modes: str = "top",
                            relation: bool = True) -> Outcome:
    """``dexp`` moves the exponent 2 + 2/L of e^{delta_k} (``cexp(L)`` replaces it); ``power`` (2 - 2/L) and ``terms`` (L - 2 + 2e^{-2 delta})
    change the law; ``relation=False`` drops the hypothesis s_k = e^{L gamma_k + delta_k}; ``modes``: 'top' (the
    corrected claim in the deep regime) or 'all' (the foil that the deep-regime accuracy extends to every mode)."""
    predict = lambda d, delta: _pred71(d, delta, dexp=dexp, cexp=cexp, power=power, terms=terms)
    worst, table, outside = _exact71_verdict(_exact71_general(ctx), predict, relation)
    deep = _deep71(ctx)
    errors = lambda d: np.abs(predict(d, d["delta"]) - d["sdot"]) / d["scale"]
    ks = [0] if modes == "top" else _resolved_everywhere(deep)
    tests, per_L = _depth_tests(deep, errors, ks, ctx.z(len(ks)))
    sym = ctx.memo("sympy71", _sympy_gated_cases)
    sym_ok = all(v["law - actual (offset family, general gates e^delta)"] == "0" for v in sym.values())
    exact_ok = worst <= 1.0
    failing, power_ = _depth_failures(tests, exact_ok)
    ok = exact_ok and not failing and sym_ok
    masked = ctx.memo("masked71", lambda: [_random_regime(ctx, L, 16, ctx.pick(quick=3, full=10))
                                           for L in ctx.pick(quick=[16], full=[16, 64])])
    lo, hi = min(deep), max(deep)
    max_delta = max(max(abs(x) for x in r["delta"]) for r in table if r["family"] == "G")
    return Outcome(
        Status.SUPPORTED if ok else Status.REFUTED,
        (f"eps = 0: predicted {'=' if exact_ok else '!='} actual within float64 resolution (worst err/tol "
         f"{worst:.2g}) for identity gates (delta_k = 0) and general gates with |delta_k| up to {max_delta:.2g}, "
         f"L = {', '.join(sorted({str(r['L']) for r in table}, key=int))}"
         + (f"; outside the hypotheses: {len(outside)} (the relation s_k = e^(L gamma_k + delta_k) fails)" if outside else "")
         + f"; deep regime (L {lo} -> {hi}, eta = {DEEP_ETA}): error per unit of assumption violation, mode(s) "
         f"{', '.join(str(k + 1) for k in ks)}: "
         + "; ".join(f"k={t['mode']}: {t['median_c_at_L_min']:.3g} -> {t['median_c_at_L_max']:.3g} "
                     f"(growth z = {t['mann_whitney_z']:.1f}, size z = {t['sign_test_z']:.1f} vs median <= {C_SIZE:g})"
                     for t in tests)),
        evidence={"exact_regime": table, "outside_hypotheses": outside,
                  "sympy_1x1": sym,
                  "delta_forced_note": "with (i) asked of every l as printed, B_1 = D_0 = I and A_L = D_L = I force "
                                       "delta_k = 0, so the factor e^{(2+2/L) delta_k} is identically 1 under the "
                                       "proposition's hypotheses; family G asks (i) of the non-trivial products only, "
                                       "where delta_k is free and the factor and the end terms 2 e^{-2 delta_k} matter",
                  "deep_regime_tests": tests, "deep_regime_by_L": per_L,
                  "random_masked_regime": masked,
                  "random_masked_note": "at initialisation (n = 16, p = 0.5) (i) fails by O(1) in log s (fit residual "
                                        "column) and grows with L: per network the formula is a poor predictor there; "
                                        "the aligned form -sum_l s_A^2 s_B^2 g_k (before (i) is used) is closer"},
        method="(E) shared-basis chains with identity gates (W_l = Q_l diag(e^gamma) Q_(l-1)^T, Haar Q_l, gamma = "
               f"{GAMMAS.tolist()}): (i) with factor-count exponents and the relation hold with delta_k = 0. (G) general "
               f"gates e^delta with delta = {GATED_DELTAS.tolist()} (W_1, W_L: e^gamma; middle W_l: e^(gamma - delta); "
               "signed-permutation bases at the gated layers): (i) holds for every non-trivial A_l, B_l and s_k = "
               "e^(L gamma_k + delta_k), with delta_k != 0. (N) gates 2 I, weights e^gamma / 2: (i) holds for every l "
               "with delta_k = 0 but s_k = e^(L gamma_k) / 2, outside the corrected hypotheses (used by the foil that "
               "drops the relation). gamma_k, delta_k fitted over the non-trivial products and the relation row; a "
               "family is tested when the fit residual is within float64 resolution. All at eps = 0: the law must match "
               "u_k^T Jdot v_k to float64 resolution (deterministic). (D) "
               f"{ctx.pick(quick=40, full=100)} random chains per depth, n = 3, W_l = Q_l diag(e^gamma) R_l Q_(l-1)^T, "
               f"gamma = {DEEP_GAMMAS.tolist()}, R_l = exp({DEEP_ETA} K_l) (random skew K_l): the top singular values "
               "separate with depth and (ii) holds to the measured eps; Gaussian grad. c_k = |pred_k - actual_k| / "
               "(scale_k (eps + rho_k)), scale_k = sum_l s_k(A_l)^2 s_k(B_l)^2 ||grad|| (no division by <grad, u_k "
               "v_k^T>), rho_k = the max residual of the (i) fit. Decision: one-sided Mann-Whitney test that c_k at "
               "the deepest L is not stochastically larger than at the shallowest, at the claim's Bonferroni level "
               "('does not grow' is slightly stronger than 'bounded in depth'; the top mode's c_1 falls with depth; "
               "for k >= 2 it grows like (s_1/s_k)^2 eps, which is why the corrected statement is restricted to the "
               "top mode at large depth); and a one-sided sign test at both ends of the ladder that the median c_k "
               "is at most C_SIZE = 1 (the error at most one unit of violation: growth alone is blind to a constant "
               "factor or a sign slip at every depth). (R) evidence only.",
        # the figure is drawn for the statement only: foils and the resolution scan re-decide on the same draws
        figures={"error_vs_eps": _figure(deep, errors, "Prop 7.1 (factor-count (i)): deep regime")}
        if (dexp, cexp, power, terms, modes, relation) == (0.0, None, None, None, "top", True) else {},
        power=power_,
    )


# Nearest slip of an exponent in the corrected Prop. 7.1 / Rem. 7.2: 1/L (e.g. 2 + 2/L -> 2 + 1/L, 1 - 1/L -> 1 - 2/L)
# at the deepest exact-regime L (full profile: 12 for Prop. 7.1, 8 for Rem. 7.2); 1/12 is below both.
EXPONENT_SLIP = 1.0 / 12

PROP71_CORRECTED = (
    r"Assume (i) with exponents counting the factors of each partial product, $s_{k,A_\ell} = "
    r"e^{(L-\ell)\gamma_k+\delta_k}$ ($\ell < L$), $s_{k,B_\ell} = e^{(\ell-1)\gamma_k+\delta_k}$ ($\ell > 1$), "
    r"and the relation the proof uses, $s_k = e^{L\gamma_k+\delta_k}$ (Def. 4.6 at $\ell = L$; for gates other than "
    r"0/1 it does not follow from (i)). Then at $\varepsilon = 0$, exactly, "
    r"$\dot{s}_k = -e^{(2+\frac{2}{L})\delta_k} (L - 2 + 2e^{-2\delta_k}) s_k^{2-\frac{2}{L}}"
    r"\langle\nabla_J\mathcal{L}, u_k v_k^\top\rangle$, and the printed conclusion is its case $\delta_k = 0$, "
    r"which (i) at $\ell = 1$ and $\ell = L$ ($B_1 = D_0 = I$, $A_L = D_L = I$) forces, so that under the printed "
    r"range of (i) the factor $e^{(2+\frac{2}{L})\delta_k}$ is identically 1 (with $\delta_k \neq 0$ the printed "
    r"$L$ is the large-$L$ limit of $L - 2 + 2e^{-2\delta_k}$). "
    r"In the large-depth separation regime the relative error of the top mode is $O(\varepsilon)$ with a constant that "
    r"does not grow with depth; for $k \geq 2$ the constant grows like $(s_1/s_k)^2$, so there the order-zero "
    r"alignment is not enough (Remark 7.2's first-order form is).")


def _sympy_gated_cases(Ls=(2, 3, 4, 5)) -> dict:
    """A second, independent derivation of the corrected law on 1 x 1 FGLNs (sympy, exact in gamma, delta, d):
    J = w_L d_{L-1} w_{L-1} ... d_1 w_1 under gradient flow with grad_J L = g has wdot_l = -g J / w_l, so
    Jdot = -g sum_l (J / w_l)^2 (no A_l, B_l, no SVD). Offset family: w_1 = w_L = e^gamma, w_l = e^{gamma - delta},
    d_l = e^delta; no-relation family: w_l = e^gamma / d, gates d."""
    import sympy as sp

    g_, dl, gm = sp.symbols("g delta gamma", real=True)
    dd = sp.symbols("d", positive=True)
    out = {}
    for L in Ls:
        w = [sp.exp(gm)] + [sp.exp(gm - dl)] * (L - 2) + [sp.exp(gm)]
        J = sp.Mul(*w) * sp.exp(dl) ** (L - 1)
        jdot = -g_ * sum((J / wl) ** 2 for wl in w)
        law = -sp.exp((2 + sp.Rational(2, L)) * dl) * (L - 2 + 2 * sp.exp(-2 * dl)) * J ** (2 - sp.Rational(2, L)) * g_
        printed = -sp.exp((2 + sp.Rational(2, L)) * dl) * L * J ** (2 - sp.Rational(2, L)) * g_
        flipped = -sp.exp(-(2 + sp.Rational(2, L)) * dl) * (L - 2 + 2 * sp.exp(-2 * dl)) * J ** (2 - sp.Rational(2, L)) * g_
        # no-relation family: (i) holds with gamma' = gamma, delta' = 0, but s = e^{L gamma} / d
        w2 = [sp.exp(gm) / dd] * L
        J2 = sp.Mul(*w2) * dd ** (L - 1)
        jdot2 = -g_ * sum((J2 / wl) ** 2 for wl in w2)
        pred2 = -L * J2 ** (2 - sp.Rational(2, L)) * g_
        out[f"L={L}"] = {
            "law - actual (offset family, general gates e^delta)": str(sp.simplify(sp.expand(law - jdot))),
            "printed/actual (offset family)": str(sp.simplify(printed / jdot)),
            "sign-flipped/actual (offset family)": str(sp.simplify(flipped / jdot)),
            "printed/actual (no-relation family, gates d)": str(sp.simplify(pred2 / jdot2))}
    return out


claim(
    id="prop-7.1",
    ref="Proposition 7.1 (Section 7)",
    section=SECTION,
    statement=PROP71,
    reading="Literal: (i) with the printed exponents (L - l + 1) for A_l and l for B_l, where A_l = W_L D_{L-1} ... "
            "W_{l+1} D_l and B_l = D_{l-1} W_{l-1} ... D_1 W_1 (\"so that for all l we have J = A_l W_l B_l\"); "
            "||.||_inf read as the largest absolute entry (an operator norm gives the same limit); SVD signs of "
            "U_{A_l}, V_{B_l} matched to U, V (the assumption presupposes such a choice). " + READING_QUOTES,
    hypotheses=("FGLN under gradient flow", "(i) depth scaling of s_k(A_l), s_k(B_l)",
                "(ii) alignment ||U^T U_{A_l} - I||, ||V^T V_{B_l} - I|| < eps"),
    exercises="families where (i) holds exactly and eps = 0 at L = 2..12 (the literal statement fails there); the "
              "corrected form adds general (non-0/1) gates with delta_k != 0, gates 2 I where (i) holds but s_k != "
              "e^{L gamma_k + delta_k}, the large-depth separation regime and random masked products.",
    depends_on=("lem-e.1", "lem-e.2/missing-simple", "prop-7.1/proof/product-identity", "prop-7.1/decomposition"),
    proof_conditions=(
        "s_k simple (Lemma E.2, applied to the ordered s_1 >= ... >= s_n): not implied by (i)-(ii) (singular values "
        "can meet along training) -> lem-e.2/missing-simple",
        "a relation between s_k and (gamma_k, delta_k) (the proof's 'Assumption (i) implies s_A s_B = e^{(1+1/L)delta} "
        "s^{1-1/L}'): not stated; s_k = e^{L gamma_k + delta_k} (Def. 4.6 at l = L) is what the step needs; with "
        "factor-count exponents and eps = 0 it holds for identity gates (delta_k = 0, s_k = e^{L gamma_k}) but not for "
        "gates d_k != 1 on the aligned modes (s_k = e^{L gamma_k} / d_k; pred/actual = d_k^{-(2-2/L)}), so the corrected "
        "form assumes it -> prop-7.1/missing-relation (the step itself: prop-7.1/proof/product-identity)",
        "<grad, u_k v_k^T> != 0 for '~' (a ratio): not implied; where it vanishes the statement is read as "
        "|pred - actual| = o(1) times the scale of the summands (the deep-regime statistic does so)",
        "S_{A_l}, S_{B_l} with distinct entries, so that U_{A_l}, V_{B_l} in (ii) are defined up to signs: implied for "
        "1 < l < L by (i) with distinct gamma_k; A_L = D_L = I and B_1 = D_0 = I have tied values, and (ii) holds there "
        "by choosing U_{A_L} = U, V_{B_1} = V (the check does so)"),
    kind=Kind.LIMIT,
    check=_prop71_check,
    replay=_prop71_replay,
    severity=Severity.WORDING,
    severity_note="The exponents in (i) are off by one: counting the factors of A_l (L - l weight matrices) and B_l "
                  "(l - 1), the convention of Def. 4.6 and Theorem 5.3 that the proof's product step computes with, "
                  "the printed conclusion is exact at eps = 0 for identity gates; the context fixes that statement (the "
                  "corrected form). Beyond the off-by-one, for gates other than 0/1 (the FGLN setting) the proof's "
                  "product step uses s_k = e^{L gamma_k + delta_k}, which (i) does not imply (gates d on the aligned "
                  "modes give pred/actual = d^{-(2-2/L)}); the corrected form states it as a hypothesis. That missing "
                  "hypothesis is a separate, substantive finding, checked and graded in prop-7.1/missing-relation; "
                  "this claim's own slip is the exponent typo. And (i) over every l forces delta_k = 0, so the factor "
                  "e^{(2+2/L) delta_k} the text discusses ('up to the multiplicative factor') is identically 1 under "
                  "the stated hypotheses.",
    corrected=Corrected(
        statement=PROP71_CORRECTED,
        reading="(i) with factor-count exponents, asked of the non-trivial partial products (the printed range "
                "l = 1..L adds A_L = B_1 = I, which forces delta_k = 0: 'its assumptions are deliberately strong and are "
                "not expected to hold uniformly across all l (e.g., for very short prefix/suffix products)'), plus the "
                "relation s_k = e^{L gamma_k + delta_k} the proof's product step uses; (ii) as printed; '~' at fixed L "
                "as eps -> 0, checked exactly at eps = 0 (predicted/actual is continuous in the weights, so the limit "
                "is the eps = 0 value) with identity gates and with general gates and delta_k != 0, and in the large-"
                "depth separation regime, where eps is what separation leaves, for the top mode. " + READING_QUOTES,
        derivation="E.2's first display (correct for general gates, with Lemma E.1's D_l^2) with U^T U_A = V^T V_B = I "
                   "gives sdot_k = -sum_l s_{k,A_l}^2 s_{k,B_l}^2 (U^T G V)_kk. Factor-count (i) gives s_{k,A_l} s_{k,B_l} "
                   "= e^{(L-1) gamma_k + 2 delta_k} for 1 < l < L and e^{(L-1) gamma_k + delta_k} at l = 1 and l = L "
                   "(B_1 = A_L = I), so the sum is e^{2(L-1) gamma_k + 4 delta_k} (L - 2 + 2 e^{-2 delta_k}); the proof's "
                   "'s_A s_B = e^{(1+1/L) delta_k} s_k^{1-1/L}' is then exactly the relation s_k = e^{L gamma_k + "
                   "delta_k}, which (i) does not imply: J = A_l W_l B_l has one weight more than A_l B_l but no gate "
                   "more, so with gates d_k on the aligned modes s_k = e^{L gamma_k + delta_k} / d_k, and everything "
                   "diagonal with d = 2, n = 2, L = 3 gives pred/actual = d^{-(2-2/L)} = 0.397 (issue 17; family N of the "
                   "check). Findings about the paper: (a) the relation must be assumed for gates that are not 0/1; "
                   "(b) with (i) asked of every l as printed, B_1 = D_0 = I and A_L = D_L = I force delta_k = 0, so the "
                   "factor e^{(2+2/L) delta_k} is identically 1 under the proposition's hypotheses (a factor forced to 1); "
                   "where (i) is asked of the non-trivial products only, delta_k is free and the exact law carries "
                   "L - 2 + 2 e^{-2 delta_k} instead of L (relative difference 2|1 - e^{-2 delta_k}|/L). Confirmed a "
                   "second way by sympy on 1 x 1 networks (Jdot = -g sum_l (J/w_l)^2, no SVD; evidence "
                   "'sympy_1x1').",
        check=_prop71_corrected_check,
        knob=Knob("exponent 2 + 2/L of e^{delta_k}", "absolute",
                  lambda dx: functools.partial(_prop71_corrected_check, dexp=dx), EXPONENT_SLIP,
                  "exponent 2 + 2/L -> 2 + 1/L (a slip of 1/L, >= 1/12 on the ladder)"),
        foils=(
            Foil("exponent of e^{delta_k} 2 + 2/L - 1/12 (the slip 2 + 2/L -> 2 + 1/L at L = 12, closer to the truth at "
                 "every L <= 12 of the ladders): -e^{(2+2/L-1/12)delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_prop71_corrected_check, dexp=-EXPONENT_SLIP), kind="exponent", nearest=True,
                 size=EXPONENT_SLIP, unit="absolute"),
            Foil("sign of the delta factor flipped: -e^{-(2+2/L)delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_prop71_corrected_check, cexp=lambda L: -(2 + 2 / L)), kind="sign"),
            Foil("exponent of e^{delta_k} 2: -e^{2 delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_prop71_corrected_check, cexp=lambda L: 2.0), kind="exponent"),
            Foil("exponent 2 - 1/L: -e^{(2+2/L)delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-1/L} <grad, u_k v_k^T>",
                 functools.partial(_prop71_corrected_check, power=lambda L: 2 - 1 / L), kind="exponent"),
            Foil("the printed L summands for every delta_k: -e^{(2+2/L)delta_k} L s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_prop71_corrected_check, terms=lambda L, dl: L), kind="constant"),
            Foil("L - 1 summands: -e^{(2+2/L)delta_k} (L - 3 + 2e^{-2delta_k}) s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_prop71_corrected_check, terms=lambda L, dl: L - 3 + 2 * np.exp(-2 * dl)),
                 kind="index"),
            Foil("without the relation s_k = e^{L gamma_k + delta_k}: (i) for every l alone suffices (gates not 0/1)",
                 functools.partial(_prop71_corrected_check, relation=False), kind="hypothesis"),
            Foil("the top mode's depth-uniform accuracy holds for every mode k",
                 functools.partial(_prop71_corrected_check, modes="all"), kind="hypothesis"),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Proposition 7.1: the relation s_k = e^{L gamma_k + delta_k} its proof uses (not implied for gates != 0/1)
# ---------------------------------------------------------------------------------------------
# Everything-diagonal FGLNs (n = 2): layer values a_k (e^{gamma_k}), gates d I. Rationals, so sympy is exact.
DIAG_A = (3, 2)
# d = 1 (identity gates) is the control, where the relation holds and the printed conclusion is exact.
DIAG_GATES = ("2", "1/2", "3", "1")
DIAG_LS = (3, 4, 5)
DIAG_TARGET = ((0, 1), (1, 0))  # L(J) = 1/2 ||J - T||^2, G = J - T: g_k = G_kk = s_k > 0 while G is not diagonal
# The case (everything diagonal, gates 2 I, n = 2, L = 3): printed / actual = 2^{-4/3} = 0.397.
MINIMAL_NO_RELATION = {"n": 2, "L": 3, "d": "2", "a": list(DIAG_A), "target": [list(r) for r in DIAG_TARGET]}


def diagonal_fgln(a, d, L: int, *, relation: bool = False):
    """Layer values of the diagonal family: (w, gates) with W_l = diag(w[l-1]) and D_l = gates[l-1] I.

    ``relation=False``: every W_l = diag(a) / d, gates d I. A_l has L - l weights and L - l gates, B_l has l - 1
    of each, so (i) with factor-count exponents holds for every l with gamma_k = log a_k and delta_k = 0 (as it
    must: A_L = B_1 = I), and eps = 0; but J has one weight more than gates: s_k = a_k^L / d, not e^{L gamma_k}.
    ``relation=True``: W_1 = W_L = diag(a), the middle W_l = diag(a) / d: s_k(A_l) = a_k^{L-l} d (l < L),
    s_k(B_l) = a_k^{l-1} d (l > 1) and s_k = a_k^L d, i.e. (i) on the non-trivial products and the relation
    with delta_k = log d. Works on floats, Fractions and sympy Rationals alike."""
    if L < 2:
        raise ValueError("the diagonal family needs L >= 2 (one gate)")
    mid = [x / d for x in a]
    if relation:
        w = [list(a)] + [mid] * (L - 2) + [list(a)]
    else:
        w = [mid] * L
    return w, [d] * (L - 1)


def _diag_numpy(a, d, L, relation):
    w, gates = diagonal_fgln([float(x) for x in a], float(d), L, relation=relation)
    n = len(a)
    return [np.diag(np.array(x, dtype=np.float64)) for x in w], [np.full(n, g, dtype=np.float64) for g in gates]


def _frac(x):
    from fractions import Fraction

    return Fraction(str(x))


def _sympy_diag_case(a, d, L: int, *, relation: bool, target=DIAG_TARGET) -> dict:
    """The diagonal family in exact arithmetic, without A_l, B_l, Lemma E.1 or an SVD routine for the flow.

    J(W) is linear in each W_l separately, so dJ/dW_l[E] = J(.., W_l + E, ..) - J(W) exactly: the gradient
    grad_l[i, j] = <J - T, J(W_l + E_ij) - J>, Wdot_l = -grad_l and Jdot = sum_l (J(W_l + Wdot_l) - J). J is
    diagonal with positive decreasing entries (a_1 > a_2 > 0), so u_k = v_k = e_k and ds_k/dt = Jdot_kk. The
    hypotheses are checked exactly on the products A_l = W_L D ... W_{l+1} D_l and B_l = D_{l-1} W_{l-1} ... W_1
    (diagonal, so their singular values are their entries and (ii) holds with eps = 0 when the entries are
    positive and ordered like J's)."""
    import sympy as sp

    aa, dd = [sp.Rational(str(x)) for x in a], sp.Rational(str(d))
    n = len(aa)
    w, gates = diagonal_fgln(aa, dd, L, relation=relation)
    Ws = [sp.diag(*x) for x in w]
    Dg = [sp.eye(n) * g for g in gates]

    def jac(Ms):
        J = Ms[0]
        for l in range(1, L):
            J = Ms[l] * Dg[l - 1] * J
        return J

    J = jac(Ws)
    T = sp.Matrix(target)
    R = J - T
    jdot = sp.zeros(n, n)
    for l in range(L):
        grad = sp.zeros(n, n)
        for i in range(n):
            for j in range(n):
                E = sp.zeros(n, n)
                E[i, j] = 1
                dJ = jac(Ws[:l] + [Ws[l] + E] + Ws[l + 1:]) - J
                grad[i, j] = sum(R[p, q] * dJ[p, q] for p in range(n) for q in range(n))
        jdot += jac(Ws[:l] + [Ws[l] - grad] + Ws[l + 1:]) - J
    s = [J[k, k] for k in range(n)]
    # A_l, B_l as products of the definitions (Section 7), l = 1..L; D_0 = D_L = I
    prods_A, prods_B = {}, {}
    for l in range(1, L + 1):
        P = sp.eye(n) if l == L else Dg[l - 1]
        for k in range(l + 1, L + 1):
            P = Ws[k - 1] * P
            if k < L:
                P = Dg[k - 1] * P
        prods_A[l] = P
        Q = sp.eye(n)
        for k in range(1, l):
            Q = Dg[k - 1] * (Ws[k - 1] * Q)
        prods_B[l] = Q
    diag_ok = all(P.is_diagonal() for P in list(prods_A.values()) + list(prods_B.values())) and J.is_diagonal()
    ordered = lambda v: all(v[k] > 0 for k in range(n)) and all(v[k] > v[k + 1] for k in range(n - 1))
    sA = {l: [P[k, k] for k in range(n)] for l, P in prods_A.items()}
    sB = {l: [P[k, k] for k in range(n)] for l, P in prods_B.items()}
    # (ii) at eps = 0: every product diagonal with positive entries ordered like J's (identity products: U_{A_L} = U)
    eps_zero = diag_ok and ordered(s) and all(ordered(sA[l]) for l in range(1, L)) and all(ordered(sB[l]) for l in range(2, L + 1))
    off = sp.Integer(1) if not relation else dd  # e^{delta_k}
    rng_ = range(1, L + 1) if not relation else range(1, L)
    i_A = all(sA[l][k] == aa[k] ** (L - l) * off for l in rng_ for k in range(n))
    i_B = all(sB[l][k] == aa[k] ** (l - 1) * off for l in (range(1, L + 1) if not relation else range(2, L + 1))
              for k in range(n))
    i_ends = all(sA[L][k] == 1 and sB[1][k] == 1 for k in range(n))
    rel = all(s[k] == aa[k] ** L * off for k in range(n))
    g = [R[k, k] for k in range(n)]
    sdot = [jdot[k, k] for k in range(n)]
    p = 2 - sp.Rational(2, L)
    out = {"L": L, "d": str(dd), "a": [str(x) for x in aa], "relation_family": relation,
           "s": [str(x) for x in s], "sdot": [str(x) for x in sdot], "g": [str(x) for x in g],
           "eps_zero_(ii)": bool(eps_zero), "(i)_factor_count": bool(i_A and i_B and i_ends),
           "relation_s=e^(L gamma+delta)": bool(rel)}
    if not relation:
        # delta_k = 0 (A_L = B_1 = I inside (i)): the printed conclusion is -L s_k^{2-2/L} g_k
        pred = [-L * s[k] ** p * g[k] for k in range(n)]
        ratio = [sp.nsimplify(sp.simplify(pred[k] / sdot[k])) for k in range(n)]
        out.update({"printed/actual": [str(r) for r in ratio],
                    "printed/actual_float": [float(r) for r in ratio],
                    "printed == actual": all(sp.simplify(pred[k] - sdot[k]) == 0 for k in range(n)),
                    "ratio == d^-(2-2/L)": all(sp.simplify(r - dd ** (-p)) == 0 for r in ratio)})
    else:
        # the corrected law with delta_k = log d: -d^{2+2/L} (L - 2 + 2/d^2) s_k^{2-2/L} g_k
        law = [-dd ** (2 + sp.Rational(2, L)) * (L - 2 + 2 / dd ** 2) * s[k] ** p * g[k] for k in range(n)]
        out.update({"law - actual": [str(sp.simplify(law[k] - sdot[k])) for k in range(n)],
                    "law == actual": all(sp.simplify(law[k] - sdot[k]) == 0 for k in range(n))})
    return out


def _sympy_diag_cases(relation: bool) -> list[dict]:
    return [_sympy_diag_case(DIAG_A, d, L, relation=relation) for d in DIAG_GATES for L in DIAG_LS]


def _diag_rows(ctx) -> list[dict]:
    """The diagonal family in float64 through the library (fgln.section7_diagnostics): rows for the exact
    verdicts, labelled 'diag d=.., no relation' / 'diag d=.., relation'."""
    def run():
        rows = []
        for relation in (False, True):
            for d in DIAG_GATES:
                if relation and d == "1":
                    continue  # identity gates: both variants are the same network (listed once)
                for L in DIAG_LS:
                    Ws, ds = _diag_numpy(DIAG_A, _frac(d), L, relation)
                    G = fgln.jacobian(Ws, ds) - np.array(DIAG_TARGET, dtype=np.float64)
                    row = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)
                    row["family"] = f"diag d={d}, " + ("identity gates" if d == "1" else
                                                       "relation" if relation else "no relation")
                    row["relation_family"], row["gate"] = relation, float(_frac(d))
                    rows.append(row)
        return rows
    return ctx.memo("diag-rows", run)


def _no_relation_haar(ctx) -> list[dict]:
    """Evidence off the diagonal: family N of the corrected prop-7.1 (Haar outer bases, n = 4) with gates d I."""
    def run():
        rng = ctx.rng("no-relation-haar")
        out = []
        for d in DIAG_GATES:
            for L in DIAG_LS:
                Ws, ds = gated_chain(len(GAMMAS), L, GAMMAS, rng, gate=float(_frac(d)))
                G = fgln.jacobian(Ws, ds) - rng.standard_normal((len(GAMMAS), len(GAMMAS)))
                r = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)
                pred = fgln.prop71_printed(r)
                out.append({"d": d, "L": L, "eps": r["eps"], "fit_resid_(i)": float(np.max(r["fit_resid"])),
                            "delta": np.round(r["delta"], 12).tolist(),
                            "printed/actual": np.round(pred / r["sdot"], 6).tolist(),
                            "d^-(2-2/L)": float(_frac(d)) ** -(2 - 2 / L)})
        return out
    return ctx.memo("no-relation-haar", run)


def _missing_relation_replay(cex: dict) -> Comparison:
    """Recompute the stored diagonal case with the library in float64: (i) fitted over every l with factor-count
    exponents (delta_k ~ 0), eps of (ii), the printed conclusion vs u_k^T Jdot v_k under gradient flow."""
    L, a, dg = int(cex["L"]), cex["a"], _frac(cex["d"])
    Ws, ds = _diag_numpy(a, dg, L, False)
    G = fgln.jacobian(Ws, ds) - np.array(cex["target"], dtype=np.float64)
    d = fgln.section7_diagnostics(Ws, ds, G, fgln.FACTOR_COUNT_71)
    pred = fgln.prop71_printed(d)
    ratio = pred / d["sdot"]
    tol = float(np.max(_exact_tol(d, pred, _kernels71(L)) / np.abs(d["sdot"])))
    return Comparison(float(np.max(np.abs(ratio - 1.0))), tol,
                      {"actual": d["sdot"].tolist(), "printed": pred.tolist(), "printed/actual": ratio.tolist(),
                       "d^-(2-2/L)": float(dg) ** -(2 - 2 / L), "delta_fit": d["delta"].tolist(),
                       "fit_resid_(i)": d["fit_resid"].tolist(), "eps_(ii)": d["eps"]})


def _missing_relation_check(ctx) -> Outcome:
    sym = ctx.memo("sympy-diag-norel", lambda: _sympy_diag_cases(False))
    hyp = [c for c in sym if c["eps_zero_(ii)"] and c["(i)_factor_count"]]
    control = [c for c in hyp if c["d"] == "1"]
    fails = [c for c in hyp if not c["printed == actual"]]
    control_ok = bool(control) and all(c["printed == actual"] and c["relation_s=e^(L gamma+delta)"] for c in control)
    law_ok = all(c["ratio == d^-(2-2/L)"] for c in hyp)
    # the same cases through the library in float64 (fitted delta, eps, u_k^T Jdot v_k): must agree with sympy
    rows = [r for r in _diag_rows(ctx) if not r["relation_family"]]  # same order as sym
    lib = []
    for r, c in zip(rows, sym):
        assert (r["L"], r["gate"]) == (c["L"], float(_frac(c["d"])))
        pred = fgln.prop71_printed(r)
        tol = _exact_tol(r, pred, _kernels71(r["L"])) / np.abs(r["sdot"])
        lib.append({"d": c["d"], "L": r["L"], "delta_fit": float(np.max(np.abs(r["delta"]))),
                    "fit_resid_(i)": float(np.max(r["fit_resid"])), "eps_(ii)": r["eps"],
                    "printed/actual": (pred / r["sdot"]).tolist(),
                    "|float - exact| / tol": float(np.max(np.abs(pred / r["sdot"] - np.array(c["printed/actual_float"])) / tol))})
    agree = all(x["|float - exact| / tol"] <= 1.0 for x in lib)
    cex = None
    if fails:
        m = next(c for c in fails if c["d"] == MINIMAL_NO_RELATION["d"] and c["L"] == MINIMAL_NO_RELATION["L"])
        cex = {**MINIMAL_NO_RELATION, "s": m["s"], "sdot_actual": m["sdot"], "g": m["g"],
               "printed/actual (exact)": m["printed/actual"], "printed/actual": m["printed/actual_float"],
               "(i)_factor_count_every_l_delta_0": m["(i)_factor_count"], "eps_(ii)": 0,
               "relation_s=e^(L gamma+delta)": m["relation_s=e^(L gamma+delta)"]}
    decided = control_ok and agree and len(hyp) == len(sym)
    status = (Status.REFUTED if fails else Status.SUPPORTED) if decided else Status.INCONCLUSIVE
    worst = min((min(c["printed/actual_float"]) for c in fails if _frac(c["d"]) > 1), default=1.0)
    return Outcome(
        status,
        f"diagonal FGLNs with gates d I (n = 2, L = {DIAG_LS[0]}..{DIAG_LS[-1]}, d in {{{', '.join(DIAG_GATES)}}}): "
        f"(i) holds for every l with factor-count exponents and delta_k = 0, eps = 0, yet printed/actual = "
        f"d^-(2-2/L) exactly (sympy) in {len(fails)}/{len(hyp)} cases "
        f"({'all d != 1' if {c['d'] for c in fails} == {c['d'] for c in hyp} - {'1'} else 'not every d != 1'}; "
        f"down to {worst:.3f}); minimal "
        f"n=2, L=3, d=2: {cex['printed/actual (exact)'][0] if cex else '-'} = "
        f"{cex['printed/actual'][0] if cex else float('nan'):.3f}; d = 1 (identity gates, relation holds): "
        f"{'exact' if control_ok else 'NOT exact'}"
        + ("" if decided else " [undecided: control, float/exact agreement or hypotheses failed]"),
        evidence={"exact_sympy": sym, "library_float64": lib, "haar_bases_n4": _no_relation_haar(ctx),
                  "control_identity_gates_exact": control_ok, "float_agrees_with_exact": agree,
                  "ratio_is_d^-(2-2/L)": law_ok,
                  "why": "J = A_l W_l B_l has one weight more than A_l B_l but no gate more, so (i) fixes s_k(A_l) "
                         "s_k(B_l) = e^{(L-1) gamma_k + 2 delta_k} but not s_k = e^{L gamma_k + delta_k}: with gates d "
                         "on the aligned modes s_k = e^{L gamma_k + delta_k} / d and the proof's step s_A s_B = "
                         "e^{(1+1/L) delta_k} s_k^{1-1/L} is off by d^{1-1/L} (squared in the sum). (i) over every l "
                         "forces delta_k = 0 (A_L = D_L = B_1 = D_0 = I), so the factor e^{(2+2/L) delta_k} is 1 and "
                         "cannot absorb d."},
        method="Everything diagonal: W_l = diag(a)/d with a = (3, 2), gates D_l = d I, L(J) = 1/2 ||J - T||^2 with T = "
               "[[0,1],[1,0]]. Exact (sympy, rationals): J is multilinear in the W_l, so the gradient flow's Wdot_l and "
               "Jdot come from exact differences J(W_l + E) - J (no A_l, B_l, Lemma E.1 or SVD routine); s_k, u_k = "
               "v_k = e_k read off the diagonal J; the hypotheses checked exactly on the products A_l, B_l of their "
               "definitions: (i) with factor-count exponents (L - l for A_l, l - 1 for B_l; the wording correction of "
               "prop-7.1) for every l with gamma_k = log a_k, delta_k = 0 (forced by A_L = B_1 = I), and (ii) with "
               "eps = 0; the relation s_k = e^{L gamma_k + delta_k} is NOT assumed. Decision: printed "
               "-e^{(2+2/L)delta_k} L s_k^{2-2/L} <G, u_k v_k^T> == actual ds_k/dt exactly. Controls: d = 1 must be "
               "exact, and the library's float64 route (fitted gamma, delta, eps; fgln.section7_diagnostics) must "
               "agree with the exact ratios to float64 resolution. Evidence: the same with Haar outer bases (n = 4).",
        counterexample=cex if status is Status.REFUTED else None,
    )


def _relation_corrected_check(ctx, *, dexp: float = 0.0, cexp=None, power=None, terms=None,
                              relation: bool = True) -> Outcome:
    """The eps = 0 part of the corrected prop-7.1 (its law and its hypothesis fit, _exact71_verdict), on its
    exact families E, G, N and the diagonal families with gates d I, with and without the relation; the
    variants move the law (``dexp``, ``cexp``, ``power``, ``terms`` as in _pred71) or drop the relation."""
    predict = lambda d, delta: _pred71(d, delta, dexp=dexp, cexp=cexp, power=power, terms=terms)
    worst, table, outside = _exact71_verdict(_exact71_general(ctx) + _diag_rows(ctx), predict, relation)
    sym = ctx.memo("sympy-diag-rel", lambda: _sympy_diag_cases(True))
    sym_ok = all(c["law == actual"] and c["(i)_factor_count"] and c["eps_zero_(ii)"] and c["relation_s=e^(L gamma+delta)"]
                 for c in sym)
    general = [r for r in table if r["family"] == "G" or (r["family"].startswith("diag") and not r["family"].startswith("diag d=1,"))]
    max_delta = max((max(abs(x) for x in r["delta"]) for r in general), default=0.0)
    nontrivial = bool(general) and max_delta > 0.1  # general gates with delta_k != 0 were tested (not vacuous)
    ok = worst <= 1.0 and sym_ok
    status = (Status.SUPPORTED if ok else Status.REFUTED) if (nontrivial or not ok) else Status.INCONCLUSIVE
    fams = sorted({r["family"] for r in table})
    return Outcome(
        status,
        f"eps = 0, (i) on the non-trivial products {'and the relation ' if relation else '(relation dropped) '}"
        f"fitted: predicted {'=' if worst <= 1.0 else '!='} actual within float64 resolution (worst err/tol "
        f"{worst:.2g}) over {len(table)} networks ({len(general)} with general gates, |delta_k| up to "
        f"{max_delta:.2g}); outside the hypotheses: {len(outside)}; sympy, diagonal gates d I with the relation "
        f"(delta_k = log d): law {'=' if sym_ok else '!='} actual exactly in {len(sym)} cases",
        evidence={"exact_regime": table, "outside_hypotheses": outside, "families_tested": fams,
                  "sympy_diagonal_relation_family": sym},
        method="Families at eps = 0 (deterministic): (E) identity gates, (G) general gates e^delta (delta != 0) and "
               "(N) gates 2 I with Haar outer bases, n = 4 (those of the corrected prop-7.1); diagonal n = 2 networks "
               f"with gates d I, d in {{{', '.join(DIAG_GATES)}}}, L = {', '.join(map(str, DIAG_LS))}, without the "
               "relation (W_l = diag(a)/d: s_k = e^{L gamma_k}/d) and with it (W_1 = W_L = diag(a), middle diag(a)/d: "
               "delta_k = log d, s_k = e^{L gamma_k + delta_k}). gamma_k, delta_k fitted over the non-trivial A_l, B_l "
               "and the relation row (fit_nontrivial); a network is tested when the fit residual is within float64 "
               "resolution (so the families without the relation fall outside); the law -e^{(2+2/L)delta_k} (L - 2 + "
               "2e^{-2delta_k}) s_k^{2-2/L} <G, u_k v_k^T> must match u_k^T Jdot v_k to float64 resolution. Second, "
               "exact route: sympy on the diagonal relation family (Jdot from exact multilinear differences). The "
               "large-depth regime is prop-7.1's corrected form.",
    )


RELATION_CORRECTED = (
    r"For a Fixed-Gates Linear Network with any fixed diagonal gates (Def. 4.1), assume (i) with exponents counting "
    r"the factors of each partial product, $s_{k,A_\ell} = e^{(L-\ell)\gamma_k+\delta_k}$ ($\ell < L$), "
    r"$s_{k,B_\ell} = e^{(\ell-1)\gamma_k+\delta_k}$ ($\ell > 1$), (ii), and the relation "
    r"$s_k = e^{L\gamma_k+\delta_k}$ (Def. 4.6 at $\ell = L$), which (i) does not imply once gates are not 0/1. Then "
    r"at $\varepsilon = 0$, exactly, $\dot{s}_k = -e^{(2+\frac{2}{L})\delta_k} (L - 2 + 2e^{-2\delta_k}) "
    r"s_k^{2-\frac{2}{L}}\langle\nabla_J\mathcal{L}, u_k v_k^\top\rangle$ (the printed conclusion at $\delta_k = 0$, "
    r"which (i) over every $\ell$ forces). Without the relation the printed conclusion is off by the factor "
    r"$s_k / e^{L\gamma_k+\delta_k}$ to the power $2 - \frac{2}{L}$ (gates $dI$: $d^{-(2-\frac{2}{L})}$).")

claim(
    id="prop-7.1/missing-relation",
    ref="Proposition 7.1 (Section 7): missing hypothesis (s_k = e^{L gamma_k + delta_k}, used by the proof)",
    section=SECTION,
    statement=PROP71,
    reading="The conclusion for a general FGLN (any fixed diagonal gates, Def. 4.1; Section 7 states the proposition "
            "\"for fixed-gates networks\"), with the factor-count exponents of (i) (the wording correction of "
            "prop-7.1: L - l for A_l, l - 1 for B_l) asked of every l = 1..L as printed, (ii) as printed, and the "
            "relation s_k = e^{L gamma_k + delta_k} that the proof's product step uses NOT assumed; '~ as eps -> 0' "
            "checked at eps = 0, where (i) and (ii) hold exactly (predicted/actual is continuous in the weights).",
    hypotheses=("FGLN under gradient flow (any fixed diagonal gates)", "(i) depth scaling of s_k(A_l), s_k(B_l) "
                "(factor-count exponents)", "(ii) alignment ||U^T U_{A_l} - I||, ||V^T V_{B_l} - I|| < eps"),
    exercises="everything-diagonal networks (n = 2) with gates d I, d in {2, 1/2, 3} (and the control d = 1), "
              "L = 3..5, exactly in sympy and in float64 through the library; Haar outer bases (n = 4) as evidence. "
              "The corrected form adds the families of the corrected prop-7.1 (identity gates, general gates with "
              "delta_k != 0, gates 2 I) and diagonal gates d I with the relation (delta_k = log d).",
    depends_on=("lem-e.1", "lem-e.2/missing-simple", "prop-7.1/proof/product-identity", "prop-7.1/decomposition"),
    proof_conditions=(
        "the relation s_k = e^{L gamma_k + delta_k} (Def. 4.6 at l = L; the proof's 'Assumption (i) implies s_A s_B = "
        "e^{(1+1/L)delta} s^{1-1/L}'): not implied by (i)-(ii) for gates other than 0/1 -> this claim",
        "s_k simple (Lemma E.2 for the ordered spectrum): not implied -> lem-e.2/missing-simple (here the s_k are "
        "distinct)",
        "0/1 gates: (i) for every k <= n makes each A_l (which ends in D_l) invertible, so the gates are I, and for "
        "identity gates (i) and (ii) at eps = 0 give the relation (s_k(A_{l-1}) = s_k(A_l) x_{l,k} with x_{l,k} = "
        "e^{gamma_k}); the control d = 1 and family E of prop-7.1 show it"),
    kind=Kind.LIMIT,
    statistical=False,  # decided exactly (sympy) at eps = 0; the corrected form's check is deterministic too
    check=_missing_relation_check,
    replay=_missing_relation_replay,
    severity=Severity.SUBSTANTIVE,
    severity_note="The proposition is stated for fixed-gates networks (Section 7's introduction; Def. 4.1 allows any "
                  "fixed diagonal gates) and fails there for gates other than 0/1: with gates d I, (i) (factor-count "
                  "exponents, every l) and (ii) hold exactly at eps = 0, yet predicted/actual = d^{-(2-2/L)} (0.397 at "
                  "d = 2, L = 3), a factor that the printed e^{(2+2/L)delta_k} cannot absorb because (i) over every l "
                  "forces delta_k = 0 (B_1 = D_0 = I, A_L = D_L = I). It holds for masked networks (0/1 gates), the ReLU "
                  "case the paper motivates, where (i) forces the gates to I and the relation follows. The proof uses "
                  "Def. 4.6's relation at l = L, s_k = e^{L gamma_k + delta_k}, which the hypotheses do not imply: a "
                  "missing hypothesis of the stated result, not a typo.",
    corrected=Corrected(
        statement=RELATION_CORRECTED,
        reading="(i) with factor-count exponents asked of the non-trivial partial products (so that delta_k is free; "
                "the printed range adds A_L = B_1 = I, which forces delta_k = 0), plus the relation s_k = e^{L gamma_k "
                "+ delta_k}; checked exactly at eps = 0 on general gates (the eps = 0 part of prop-7.1's corrected form; "
                "the large-depth regime is checked there). " + READING_QUOTES,
        derivation="E.2's first display with U^T U_A = V^T V_B = I gives sdot_k = -sum_l s_{k,A_l}^2 s_{k,B_l}^2 "
                   "(U^T G V)_kk; factor-count (i) gives s_{k,A_l} s_{k,B_l} = e^{(L-1) gamma_k + 2 delta_k} for 1 < l "
                   "< L and e^{(L-1) gamma_k + delta_k} at l = 1, L; with the relation s_k = e^{L gamma_k + delta_k} the "
                   "sum is e^{(2+2/L) delta_k} (L - 2 + 2e^{-2 delta_k}) s_k^{2-2/L}. Without it s_k is free of (i): J = "
                   "A_l W_l B_l has one weight more than A_l B_l but no gate more, so gates d I give s_k = e^{L gamma_k} "
                   "/ d and the factor d^{-(2-2/L)} (printed form of this claim). Same law, hypotheses and fit as the "
                   "corrected prop-7.1 (_pred71, fit_nontrivial, _exact71_verdict), here with diagonal gate families "
                   "and an exact sympy confirmation.",
        check=_relation_corrected_check,
        knob=Knob("exponent 2 + 2/L of e^{delta_k}", "absolute",
                  lambda dx: functools.partial(_relation_corrected_check, dexp=dx), EXPONENT_SLIP,
                  "exponent 2 + 2/L -> 2 + 1/L (a slip of 1/L, >= 1/12 on the ladder)"),
        foils=(
            Foil("exponent of e^{delta_k} 2 + 2/L - 1/12 (the slip 2 + 2/L -> 2 + 1/L at L = 12, closer to the truth at "
                 "every L <= 12 of the ladders): -e^{(2+2/L-1/12)delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_relation_corrected_check, dexp=-EXPONENT_SLIP), kind="exponent", nearest=True,
                 size=EXPONENT_SLIP, unit="absolute"),
            Foil("exponent 2 - 1/L: -e^{(2+2/L)delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-1/L} <grad, u_k v_k^T>",
                 functools.partial(_relation_corrected_check, power=lambda L: 2 - 1 / L), kind="exponent"),
            Foil("the printed L summands for every delta_k: -e^{(2+2/L)delta_k} L s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_relation_corrected_check, terms=lambda L, dl: L), kind="constant"),
            Foil("sign of the delta factor flipped: -e^{-(2+2/L)delta_k} (L - 2 + 2e^{-2delta_k}) s_k^{2-2/L} <grad, u_k v_k^T>",
                 functools.partial(_relation_corrected_check, cexp=lambda L: -(2 + 2 / L)), kind="sign"),
            Foil("relation dropped: (i) over every l alone (delta_k = 0) suffices for gates d I",
                 functools.partial(_relation_corrected_check, relation=False), kind="hypothesis"),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Remark 7.2
# ---------------------------------------------------------------------------------------------
def _exact72(ctx, offsets, last_orthogonal, b_shift):
    def run():
        rng = ctx.rng("rem72-exact")
        n, rows = len(GAMMAS72), []
        for L in ctx.pick(quick=[2, 4, 6], full=[2, 3, 4, 6, 8]):
            Ms = fgln.rem72_chain(n, L, GAMMAS72, rng, 0.0, last_orthogonal=last_orthogonal)
            Md = [rng.standard_normal((n, n)) for _ in range(L)]
            rows.append(fgln.rem72_diagnostics(Ms, Md, offsets, b_shift=b_shift))
        return rows
    return ctx.memo(("exact72", offsets, last_orthogonal, b_shift), run)


def _deep72(ctx, b_shift):
    def run():
        rng = ctx.rng("rem72-deep")
        n, out = len(DEEP_GAMMAS), {}
        for L in ctx.pick(quick=[4, 16], full=[4, 8, 16, 32]):
            rows = []
            for _ in range(ctx.pick(quick=40, full=100)):
                Ms = fgln.rem72_chain(n, L, DEEP_GAMMAS, rng, DEEP_ETA, last_orthogonal=False)
                Md = [rng.standard_normal((n, n)) for _ in range(L)]
                d = fgln.rem72_diagnostics(Ms, Md, fgln.FACTOR_COUNT_72, b_shift=b_shift)
                d["scale"] = d["term_scale"]
                rows.append(d)
            out[L] = rows
        return out
    return ctx.memo(("deep72", b_shift), run)


def _rem72_predict(d, power=None):
    L = d["L"]
    power = 1 - 1 / L if power is None else power
    return np.exp((1 + 1 / L) * d["delta"]) * d["s"] ** power * d["factored_sum"]


def _rem72_replay(cex: dict) -> Comparison:
    Ms = [np.array([[cex["M1"]]]), np.array([[cex["M2"]]])]
    Md = [np.array([[cex["Mdot1"]]]), np.array([[cex["Mdot2"]]])]
    d = fgln.rem72_diagnostics(Ms, Md)
    return Comparison(abs(d["printed"][0] / d["sdot"][0] - 1.0), 1e-12,
                      {"actual": float(d["sdot"][0]), "printed": float(d["printed"][0]), "eps": d["eps"]})


def _kernels72(L):
    return 2 * L + 6  # products of up to L + 1 factors, SVDs of A_l, B_l, the T^-/T^+ sandwiches


def _rem72_check(ctx) -> Outcome:
    worst, table = _exact_verdict(_exact72(ctx, fgln.PRINTED_EXPONENTS, True, 0), _rem72_predict, _kernels72)
    cex = {"n": 1, "L": 2, "M1": float(np.e), "M2": 1.0, "Mdot1": 0.0, "Mdot2": 1.0, "gamma": 1.0, "delta": -1.0,
           "actual_sdot": float(np.e), "printed": float(np.exp(-1.5) * np.e ** 0.5 * 1.0)}
    refuted = worst > 1.0
    return Outcome(
        Status.REFUTED if refuted else Status.SUPPORTED,
        f"eps = 0 and (i) exact as printed (delta_k = -gamma_k forced by B_1 = I), yet the prediction misses "
        f"u_k^T Jdot v_k (err/tol up to {worst:.1e}); minimal n=1, L=2, M1=e, M2=1, Mdot=(0,1): actual e = 2.718 vs "
        f"printed e^-1 = {cex['printed']:.3f}",
        evidence={"exact_regime": table, "minimal_counterexample": cex,
                  "minimal_counterexample_sympy": _sympy_minimal_cases()["rem-7.2"]},
        method="Square chains (n = 3) M_l = Q_l diag(e^gamma) Q_{l-1}^T for l < L and M_L = Q_L Q_{L-1}^T, gamma = "
               "(0.5, 0.1, -0.3), so that (i) as printed holds exactly; arbitrary Gaussian Mdot_l. Printed prediction "
               "evaluated with B_l in place of B_{l-1} (index slip, rem-7.2/proof/jdot), T^-_l / T^+_l the lower / "
               "upper triangular parts of S_A^{-1}U^T U_A S_A and S_B V_B^T V S_B^{-1}; eps = largest entry outside the "
               "triangles; gamma, delta fitted to (i) by least squares. Decision: |pred - actual| <= float64 tolerance.",
        counterexample=cex if refuted else None,
    )


def _rem72_power(L):
    return 1 - 1 / L


def _rem72_corrected_check(ctx, *, b_shift: int = 0, power=_rem72_power, dexp: float = 0.0) -> Outcome:
    """``b_shift`` = 1 evaluates the literal U_{B_{l-1}}, T^+_{l-1} (a foil); ``power`` the exponent of s_k, which
    ``dexp`` moves (the resolution scan)."""
    predict = lambda d: _rem72_predict(d, power(d["L"]) + dexp)
    exact_rows = _exact72(ctx, fgln.FACTOR_COUNT_72, False, b_shift)
    worst, table = _exact_verdict(exact_rows, predict, _kernels72)
    # (i) at l = 1 (B_1 = M_{1:0} = I) forces delta_k = 0: shown on the exact family (a zero of the fit) ...
    delta_exact = max(float(np.max(np.abs(d["delta"]))) for d in exact_rows)
    delta_tol = max(rounding_tol(len(d["s"]), scale=1.0 + float(np.max(np.abs(np.log(d["s"])))),
                                 kernels=_kernels72(d["L"])) for d in exact_rows)
    deep = _deep72(ctx, b_shift)
    errors = lambda d: np.abs(predict(d) - d["sdot"]) / d["scale"]
    # For k = n the first-order step is exact (row n of the strictly upper part of S_A^{-1} U^T U_A S_A is empty,
    # and so is column n of the strictly lower part on the B side): its error is the (i) residual alone, whose
    # share of eps + rho grows slowly with depth. It is reported, not tested: the depth test is about (ii).
    n = len(DEEP_GAMMAS)
    ks = [k for k in _resolved_everywhere(deep) if k < n - 1]
    tests, per_L = _depth_tests(deep, errors, ks, ctx.z(len(ks)))
    last, _ = _depth_tests(deep, errors, [k for k in _resolved_everywhere(deep) if k == n - 1], ctx.z(1))
    exact_ok = worst <= 1.0 and delta_exact <= delta_tol
    failing, power_ = _depth_failures(tests, exact_ok)
    ok = exact_ok and not failing
    lo, hi = min(deep), max(deep)
    return Outcome(
        Status.SUPPORTED if ok else Status.REFUTED,
        (f"eps = 0, (i) exact (factor count for B_l; it forces delta_k = 0: max |delta_k| {delta_exact:.1g}): predicted {'=' if exact_ok else '!='} actual within float64 "
         f"resolution (worst err/tol {worst:.2g}); deep regime (L {lo} -> {hi}, eta = {DEEP_ETA}), error per unit of assumption violation: "
         + "; ".join(f"k={t['mode']}: {t['median_c_at_L_min']:.3g} -> {t['median_c_at_L_max']:.3g} "
                     f"(growth z = {t['mann_whitney_z']:.1f}, size z = {t['sign_test_z']:.1f} vs median <= {C_SIZE:g})"
                     for t in tests)),
        evidence={"exact_regime": table, "deep_regime_tests": tests, "deep_regime_by_L": per_L,
                  "deep_regime_mode_n_not_tested": last,
                  "delta_forced": {
                      "max_abs_delta_exact_family": delta_exact, "tol": delta_tol,
                      "deep_regime_max_abs_delta_over_fit_resid": float(max(
                          np.max(np.abs(d["delta"]) / np.maximum(d["fit_resid"], 1e-300)) for r in deep.values() for d in r)),
                      "note": "(i) at l = 1 reads s_k(B_1) = s_k(I) = 1 = e^{delta_k}, so delta_k = 0 wherever (i) holds "
                              "and |delta_k| <= the (i) residual rho_k where it holds approximately; and (ii) at eps = 0 "
                              "makes U^T U_{A_l} and V^T V_{B_l} orthogonal and triangular, i.e. diagonal +-1 (full "
                              "alignment). The factor e^{(1+1/L) delta_k} is therefore identically 1 at eps = 0 and tends "
                              "to 1 as eps, rho -> 0: a variant that flips its sign or changes its exponent states the "
                              "same thing under the remark's hypotheses (an equivalent mutant), so no check can reject "
                              "it and none is declared; the exponent of s_k and the index of B_l are what the check "
                              "resolves."}},
        method="(E) chains M_l = Q_l diag(e^gamma) Q_{l-1}^T for every l (gamma = (0.5, 0.1, -0.3)), so (i) holds "
               "exactly with the exponent of B_l = M_{1:l-1} counting its l - 1 factors (delta_k = 0) and (ii) with "
               "T^- = T^+ = I, eps = 0; the printed prediction with B_l must match u_k^T Jdot v_k to float64 "
               f"resolution. (D) {ctx.pick(quick=40, full=100)} random chains per depth, n = 3, M_l = Q_l diag(e^gamma) "
               f"R_l Q_(l-1)^T, gamma = {DEEP_GAMMAS.tolist()}, R_l = exp({DEEP_ETA} K_l), Gaussian Mdot_l; T^-, T^+ = "
               "triangular parts of the matrices in (ii), eps = the largest entry outside them. c_k = |pred_k - "
               "actual_k| / (scale_k (eps + rho_k)), scale_k = sum_l s_{A_{l+1},k} s_{B_l,k} ||Mdot_l||, rho_k = the max "
               "residual of the (i) fit; decision: one-sided Mann-Whitney test per mode k < n resolved at every depth "
               "that c_k at the deepest L is not stochastically larger than at the shallowest (Bonferroni over modes) - "
               "the first-order triangular terms keep these modes accurate at depth - and a one-sided sign test at both "
               "ends that the median c_k is at most C_SIZE = 1 (the error at most one unit of violation; growth alone is "
               "blind to a constant factor or a sign slip at every depth). For k = n the first-order (ii) step "
               "is exact, so its error is the (i) residual alone, whose share of eps + rho grows slowly with depth "
               "(Mann-Whitney z ~ 1 over seeds 0-5; reported under deep_regime_mode_n_not_tested, not tested).",
        # the figure is drawn for the statement only: foils and the resolution scan re-decide on the same draws
        figures={"error_vs_eps": _figure(deep, errors, "Rem 7.2 (factor-count (i), B_l): deep regime")}
        if (b_shift, dexp, power) == (0, 0.0, _rem72_power) else {},
        power=power_,
    )


claim(
    id="rem-7.2",
    ref="Remark 7.2 (Section 7)",
    section=SECTION,
    statement=REM72,
    reading="'~ as eps -> 0' along families satisfying (i) and (ii) with eps -> 0; U_{B_{l-1}}, T^+_{l-1} read as "
            "U_{B_l}, T^+_l (the index slip of rem-7.2/proof/jdot; the literal B_{l-1} is also wrong), "
            "'V_{B_l} V^T' read as V_{B_l}^T V; (i) with the printed exponents (L - l + 1) for A_l = M_{l:L} and l for "
            "B_l = M_{1:l-1}. The remark replaces \"the order-zero spectral separation approximation in Proposition "
            "7.1 by its first order provided by Remark 6.3\", i.e. it is meant for the separation regime.",
    hypotheses=("M_l smooth", "(i) depth scaling of A_l = M_{l:L}, B_l = M_{1:l-1}", "(ii) triangular alignment"),
    exercises="chains where (i) as printed and (ii) hold exactly; the corrected form adds the large-depth separation "
              "regime.",
    depends_on=("lem-e.2/missing-simple", "rem-7.2/proof/jdot", "rem-7.2/proof/substitution",
                "rem-7.2/proof/product-identity"),
    proof_conditions=(
        "s_k simple (Lemma E.2 for the ordered spectrum): not implied -> lem-e.2/missing-simple",
        "S_{A_l}, S_{B_l} invertible (S^{-1} in (ii)): implied by (i) (exponentials are positive)",
        "B_{l-1} at l = 1 (B_0): undefined as printed; the product rule needs B_l (rem-7.2/proof/jdot)",
        "A_{L+1} = I in the sum: outside (i) (l <= L); with factor-count exponents (i) extended to l = L + 1 reads "
        "e^{delta_k} = 1, consistent with B_1 = I forcing delta_k = 0"),
    kind=Kind.LIMIT,
    check=_rem72_check,
    replay=_rem72_replay,
    severity=Severity.WORDING,
    severity_note="Two typos that the remark's own definitions fix: the exponent l of s_{B_l,k} counts one factor too "
                  "many (B_l = M_{1:l-1} has l - 1; the proof's e^{delta_k - gamma_k} s_k computes with l - 1), and "
                  "B_{l-1} stands for B_l (J = A_{l+1} M_l B_l); with both read as intended the printed conclusion "
                  "holds exactly at eps = 0 and in the deep regime.",
    corrected=Corrected(
        statement=r"With $s_{B_\ell,k} = e^{(\ell-1)\gamma_k+\delta_k}$ in (i) and $B_\ell$ for $B_{\ell-1}$: "
                  r"$\dot{s}_k \stackrel{\varepsilon\to0}{\sim} e^{(1+\frac{1}{L})\delta_k} s_k^{1-\frac{1}{L}} "
                  r"\sum_{\ell=1}^L (T_{\ell+1}^- V_{A_{\ell+1}}^\top \dot{M}_\ell U_{B_\ell} T_\ell^+)_{k,k}$, exactly at "
                  r"$\varepsilon = 0$, and for every mode in the large-depth separation regime (relative error "
                  r"$O(\varepsilon)$ with a constant that does not grow with depth). (i) at $\ell = 1$ ($B_1 = I$) "
                  r"forces $\delta_k = 0$, so the factor $e^{(1+\frac{1}{L})\delta_k}$ is identically 1 at "
                  r"$\varepsilon = 0$ and tends to 1 as $\varepsilon \to 0$.",
        reading="Factor-count exponent for B_l (A_l's printed exponent already counts its factors), B_l for B_{l-1}; "
                "'~' at fixed L as eps -> 0 (checked at eps = 0) and in the deep separation regime. " + READING_QUOTES,
        derivation="E.3 with B_l: sdot_k = sum_l (U^T A_{l+1} Mdot_l B_l V)_kk exactly; with (ii) at eps = 0 this is "
                   "sum_l s_{A_{l+1},k} s_{B_l,k} (T^-_{l+1} V_{A_{l+1}}^T Mdot_l U_{B_l} T^+_l)_kk, and factor-count (i) "
                   "with s_k = s_{A_1,k} = e^{L gamma_k + delta_k} makes s_{A_{l+1},k} s_{B_l,k} = e^{delta_k - gamma_k} "
                   "s_k = e^{(1+1/L) delta_k} s_k^{1-1/L} for every l (rem-7.2/proof/product-identity). Unlike Prop. "
                   "7.1, no extra relation is needed (A_1 = M_{1:L} = J is inside (i), so s_k = e^{L gamma_k + delta_k} "
                   "is assumed, and the M_l carry their gates). A finding about the remark: (i) at l = 1 reads "
                   "s_k(B_1) = s_k(I) = 1 = e^{delta_k}, so delta_k = 0 (|delta_k| <= the residual of (i) where it holds "
                   "approximately), and (ii) at eps = 0 makes U^T U_{A_l} orthogonal and triangular, i.e. diagonal "
                   "+-1: the factor e^{(1+1/L) delta_k} is identically 1 at eps = 0 and tends to 1 as eps -> 0. A variant "
                   "that changes the factor (sign flipped, exponent 1 + 2/L) is therefore equivalent to the statement "
                   "under its hypotheses and is not declared as a foil; the check shows delta_k = 0 on the exact "
                   "family (evidence 'delta_forced') and resolves the exponent of s_k and the index of B_l.",
        check=_rem72_corrected_check,
        foils=(
            Foil("the literal index: U_{B_{l-1}} T^+_{l-1} (B_0 := I)", functools.partial(_rem72_corrected_check, b_shift=1),
                 kind="index", nearest=True, size=1, unit="index"),
            Foil("exponent 1 + 1/L: e^{(1+1/L)delta_k} s_k^{1+1/L} sum_l (...)_kk",
                 functools.partial(_rem72_corrected_check, power=lambda L: 1 + 1 / L), kind="exponent"),
            Foil("exponent 1 (the 1/L dropped): e^{(1+1/L)delta_k} s_k sum_l (...)_kk",
                 functools.partial(_rem72_corrected_check, power=lambda L: 1.0), kind="exponent", nearest=True,
                 size=EXPONENT_SLIP, unit="absolute"),
            Foil("exponent 1 - 2/L (Prop. 7.1's 2/L): e^{(1+1/L)delta_k} s_k^{1-2/L} sum_l (...)_kk",
                 functools.partial(_rem72_corrected_check, power=lambda L: 1 - 2 / L), kind="exponent"),
        ),
        knob=Knob("exponent 1 - 1/L of s_k", "absolute",
                  lambda dx: functools.partial(_rem72_corrected_check, dexp=dx), EXPONENT_SLIP,
                  "exponent 1 - 1/L -> 1 or 1 - 2/L (a slip of 1/L, >= 1/12 on the ladder)"),
    ),
)
