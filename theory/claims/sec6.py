"""Section 6: Theorem 6.1 (alignment of left singular vectors of A_L and J_L = A_L B), Remarks 6.2-6.3.

Deterministic checks build ``A_L = U_A S_{A_L}`` (Haar U_A, separated S_{A_L} as in Appendix D) and a
Hypothesis-generated B, and compute ``R_L = U_A^T U_J`` from an mpmath SVD of J_L itself (an algorithm
independent of the graded eigen-decomposition used for Appendix D). The same depth-ladder rule as
Appendix D applies: eps_L = K_eff * rho_L with C = B B^T, remainders must be <= REMAINDER_CONST*eps_L.
Foils re-decide on the same inputs and ladders (``theory.claims.app_d.LadderCheck``).
The random-product claim (thm-6.1/products) is Monte Carlo over (r, p, sigma)-layers: the regime in which
the paper applies Theorem 6.1, checked by rate and constant over a ladder of suffix depths.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from hypothesis import strategies as st
from scipy.stats import norm

from checks import Comparison, Corrected, Foil, Kind, Outcome, Severity, Status, claim
from checks import stats as cstats
from checks import strategies as cst
from theory import alignment as al
from theory.claims.app_d import (EPS_LADDER, _key, _property, _remainder_cmp, _unkey, const_slip, ladder_foils,
                                 rate_slip, scale_offdiag)

SECTION = "Section 6"

THM61_HYP = (
    "A_L invertible with SVD A_L = U_{A_L} S_{A_L} I^T (right singular vectors = standard basis)",
    "J_L = A_L B, columns i <= r of U_{A_L}, U_{J_L} with positive dot product",
    "(i) s_{i+1,A_L}/s_{i,A_L} -> 0 for 1 <= i <= r",
    "(ii) the first r columns of B are linearly independent",
)
EXERCISES6 = (
    "n in 2..5, r in 1..n-1 (drawn uniformly), U_A Haar, B scaled by 10^[-1, 1]. B: generic (cond 1.5..1e3), "
    "ill-conditioned (cond 1e4..1e6), and rank-r matrices whose first r ROWS are independent but whose columns are "
    "dependent (B singular). S_A: exponential exp(-L a_i) with uneven gaps in [0.3, 1] or polynomial L^{-a_i} "
    "(ratios 1/L, 1/L^2); beyond r the gaps may be 0 (ties: (i) asks separation only for i <= r)."
)

PROOF_CONDITIONS_61 = (
    "C^{r,r} = (B B^T)^{r,r} positive definite, i.e. the first r ROWS of B independent (the proof is Theorem D.1 with "
    "X_L = U_A^T J_L J_L^T U_A = S_A C S_A, whose hypothesis (iii) this is): NOT implied by (ii) (columns) -> the "
    "printed form is refuted (thm-6.1), corrected with (ii').",
    "R_L = U_L of Theorem D.1 for X_L = S_A C S_A (so R_L^{r,r} -> I is D.1(a)): implied by the SVD form A_L = U_A S_A "
    "I^T, up to the signs fixed by the positive-dot-product convention.",
    "A_L invertible: not used (Theorem D.1 allows s_{n,L} = 0; lem-d.6/missing-invertible corrected); in the "
    "random-product application (r, p, sigma)-layers with rank < n make A_L singular, which is harmless.",
    "Positive dot product for i <= r needs R_ii != 0: implied for large L (R_ii -> 1).",
    "Right singular vectors of A_L = standard basis: stated; the application to products has V_{A_L} != I and B "
    "replaced by V_{A_L}^T B, which varies with L (thm-6.1/products: V_{A_L} converges a.s.).",
)

STATEMENT_61 = r"""Theorem 6.1. *Let (A_L) be a sequence of invertible matrices such that each A_L admits an SVD of the form*

$$A_L = U_{A_L} S_{A_L} I^\top,$$

that is, the right singular vectors are the standard basis. Let B be a fixed matrix and set $J_L := A_L B$, with SVD

$$J_L = U_{J_L} S_{J_L} V_{J_L}^\top,$$

chosen so that the i -th columns of U_{A_L} and U_{J_L} have positive dot product for $i \leq r$. Assume there exists an integer $1 \leq r \leq n - 1$ such that:

(i) (Spectral separation) Let s_{i,A_L} be the diagonal values of S_{A_L} . Then

$$\forall 1 \leq i \leq r, \quad \frac{s_{i+1,A_L}}{s_{i,A_L}} \xrightarrow{L \rightarrow \infty} 0.$$

(ii) The first r columns of B are linearly independent.

Let $R_L := U_{A_L}^\top U_{J_L}$. Write $X^{r,r}$ for the upper-left $r \times r$ block of a matrix X . Then

$$R_L^{r,r} \rightarrow I_r$$

and the off-diagonal entries converge to 0 at rates controlled by the spectral ratios in (i). In particular, the (left) singular vectors of A_L and J_L align as $L \rightarrow \infty$."""


# ------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------


@st.composite
def s6_case(draw, n=(2, 5), r_min=1, families=("generic", "ill", "rows-only")):
    """dict(UA, B, r, a, kind, family) with the first r rows of B independent (C^{r,r} PD)."""
    # Hypothesis favours the first option of a choice (its 'simplest'); list r from the top, so that the cases with
    # off-diagonal entries in R^{r,r} (what the rates and most foils are about) are not crowded out by r = 1
    n = draw(st.sampled_from(range(max(n[0], r_min + 1), n[1] + 1)))
    r = draw(st.sampled_from(range(n - 1, r_min - 1, -1)))
    fam = draw(st.sampled_from(families))
    if fam == "generic":
        # cond > 1: an orthogonal B (cond 1) gives R_L = I exactly at every L, a case no statement can miss
        B = draw(cst.matrices(n, cond=(1.5, 1e3)))
    elif fam == "ill":
        B = draw(cst.matrices(n, cond=(1e4, 1e6)))
    else:  # rank r: first r rows independent, all columns in an r-dim space (dependent columns)
        G = draw(cst.matrices(n, r, cond=(1.0, 1e2)))
        H = draw(cst.matrices(r, n, cond=(1.0, 1e2)))
        B = G @ H
    # the limits of Remark 6.3 scale with B (Sigma_C with B^2, its square root with B): vary the scale
    B = B * 10 ** draw(st.sampled_from(np.linspace(-1.0, 1.0, 9)))
    UA = cst.haar_orthogonal_np(n, np.random.default_rng(draw(cst.seeds())))
    kind = draw(st.sampled_from(("exp", "poly")))
    gaps = []
    for i in range(n - 1):
        tail = i >= r  # (i) asks separation only for i <= r: ties allowed beyond
        if kind == "exp":
            gaps.append(0.0 if tail and draw(st.booleans()) else draw(st.floats(0.3, 1.0)))
        else:
            gaps.append(float(draw(st.integers(0 if tail else 1, 2))))
    a = np.concatenate([[0.0], np.cumsum(gaps)])
    return dict(UA=UA, B=B, r=r, a=a, kind=kind, family=fam)


def _ok(case) -> bool:
    C = case["B"] @ case["B"].T
    try:
        al.ldl_unit(C[: case["r"], : case["r"]])
    except ValueError:
        return False
    return True


def s6_cases(**kw):
    return s6_case(**kw).filter(_ok)


class _Rung:
    def __init__(self, L, rho, K, log_s, s6):
        self.L, self.rho, self.eps, self.log_s, self.s6 = L, rho, K * rho, log_s, s6


@functools.lru_cache(maxsize=2048)
def _ladder6_cached(UAk, Bk, r, ak, kind, Bsk):
    UA, B, a = _unkey(UAk), _unkey(Bk), _unkey(ak)
    C = B @ B.T
    pred = al.predict(C, r)
    K = al.k_eff(C, r)
    Bs = B if Bsk is None else _unkey(Bsk)
    rungs = []
    for e in EPS_LADDER:
        L = al.depth_for(e, a, r, K, kind)
        ls = al.log_s_sequence(a, L, kind)
        rungs.append(_Rung(L, al.rho_of(ls, r), K, ls, al.section6(ls, UA, Bs, r)))
    return pred, K, rungs


def _ladder6(UA, B, r, a, kind, B_svd=None):
    """(prediction, K_eff, rungs) with the depths and predictions of C = B B^T; the mp SVDs are of
    U_A S_A B_svd (default B) -- a foil with a broken hypothesis keeps the depths of the input it breaks.
    Cached: the comparisons are pure, and foils re-decide on the ladders of their form."""
    return _ladder6_cached(_key(UA), _key(B), int(r), _key(a), str(kind), None if B_svd is None else _key(B_svd))


def _rows_dependent(B, r):
    """B with (ii') broken but (ii) kept: row r becomes a copy of row 1 (row 1 becomes 0 when r = 1), exactly in
    floating point (a rounded combination would leave the rows independent at 1e-16, which deep rungs resolve);
    the first r columns stay independent (the other n - 1 >= r rows are untouched)."""
    B = np.array(B, dtype=np.float64)
    B[r - 1] = B[0] if r > 1 else 0.0
    return B


def _pred_for(B, r, gram):
    """Prediction from C = B B^T ('rows', Remark 6.3) or the foil's C = B^T B ('cols'); None if not PD."""
    C = B @ B.T if gram == "rows" else B.T @ B
    try:
        return al.predict(C, int(r))
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------
# Comparisons (keyword knobs = the prediction; defaults = the statement checked)
# ------------------------------------------------------------------------------------------------


def cmp_R_identity(UA, B, r, a, kind, family="", *, rate=1.0, rows_dependent=False) -> Comparison:
    """Theorem 6.1 (rows reading): R_L^{r,r} -> I_r with 'the off-diagonal entries converge to 0 at rates controlled by
    the spectral ratios': |R_ii - 1| = O(eps_L) and |R_ij| = O(K_eff s_max(i,j)/s_min(i,j)) for i != j <= r (the ratio
    of the pair). Foils: ``rate`` = 2 (squared ratios); ``rows_dependent``: the same input with (ii) kept and (ii')
    broken (:func:`_rows_dependent`)."""
    pred, K, rungs = _ladder6(UA, B, r, a, kind, B_svd=_rows_dependent(B, r) if rows_dependent else None)
    r = int(r)
    floor = _remainder_cmp([0.0], rungs[:1], K).detail["rounding_floor"]
    norm, diag, off = [], [], []
    for rg in rungs:
        R = rg.s6.R[:r, :r]
        d = float(np.max(np.abs(np.diag(R) - 1)))
        # |R_ij| / (K (s_lo/s_hi)^rate): lrat = log ratio of the pair (s_lo the smaller of s_i, s_j); the rounding
        # floor is relative to the entry's scale (the float64 inputs perturb R_ij by ~ n eps K_eff relative)
        lrat = -np.abs(rg.log_s[:r, None] - rg.log_s[None, :r])
        o = np.abs(R) / (K * np.exp(rate * lrat) + floor * np.exp(lrat))
        np.fill_diagonal(o, 0.0)
        diag.append(d)
        off.append(float(o.max()))
        norm.append(max(d / (rg.eps ** rate + floor), float(o.max())))
    return Comparison(err=float(max(norm[-2:])), tol=al.REMAINDER_CONST,
                      detail={"family": family, "kind": kind, "n": len(a), "r": r, "eps_L": [rg.eps for rg in rungs],
                              "L": [rg.L for rg in rungs], "max|R_ii - 1|": diag,
                              "max|R_ij|/(K ratio_ij)": off, "K_eff": K, "rounding_floor": floor})


def cmp_sigma_sqrt(UA, B, r, a, kind, family="", *, power=0.5, gram="rows", pivots=True, scale=1.0) -> Comparison:
    """Remark 6.3 line 1 corrected: s_{J,i}/s_{A,i} -> (Sigma_C)_i^{power} (power 1/2). Foils: power = 1 (the
    printed Sigma_C), gram = 'cols' (C = B^T B), pivots = False (the diagonal c_ii instead of the pivots)."""
    pred, K, rungs = _ladder6(UA, B, r, a, kind)
    ref = _pred_for(np.asarray(B, float), r, gram)
    if ref is None:  # the foil's C^{r,r} is not PD: it predicts no finite limit, the data have one
        return Comparison(math.inf, 1.0, {"family": family, "note": f"{gram} Gram leading block not PD"})
    base = ref.Sigma if pivots else np.diag(np.asarray(B, float) @ np.asarray(B, float).T if gram == "rows"
                                            else np.asarray(B, float).T @ np.asarray(B, float))[:r]
    lim = scale * base ** power  # ``scale``: the limit multiplied (the constant's slip)
    errs = [float(np.max(np.abs(rg.s6.sJ_over_sA[:r] / lim - 1))) for rg in rungs]
    return _remainder_cmp(errs, rungs, K, {"family": family, "kind": kind, "Sigma_C": pred.Sigma.tolist()})


def _block_cmp(UA, B, r, a, kind, family, target, gram, which, scale=1.0):
    from theory.claims.app_d import _TARGETS

    pred, K, rungs = _ladder6(UA, B, r, a, kind)
    p = _pred_for(np.asarray(B, float), r, gram)
    if p is None:
        return Comparison(math.inf, 1.0, {"family": family, "note": f"{gram} Gram leading block not PD"})
    ref = scale_offdiag(_TARGETS[target](p), scale)
    sc = 1 + np.max(np.abs(ref))
    errs = [float(np.max(np.abs(getattr(rg.s6, which) - ref)) / sc) for rg in rungs]
    return _remainder_cmp(errs, rungs, K, {"family": family, "kind": kind})


def cmp_lower6(UA, B, r, a, kind, family="", *, target="T", gram="rows", scale=1.0) -> Comparison:
    """Remark 6.3 line 2: (S_A^{r,r})^{-1} R^{r,r} S_A^{r,r} -> T_C, C = B B^T (``scale``: off-diagonal scaled)."""
    return _block_cmp(UA, B, r, a, kind, family, target, gram, "lower", scale)


def cmp_upper6(UA, B, r, a, kind, family="", *, target="TinvT", gram="rows", scale=1.0) -> Comparison:
    """Remark 6.3 line 3: S_A^{r,r} R^{r,r} (S_A^{r,r})^{-1} -> T_C^{-T}, C = B B^T (``scale``: off-diagonal scaled)."""
    return _block_cmp(UA, B, r, a, kind, family, target, gram, "upper", scale)


def cmp_unravel(UA, B, r, a, kind, family="", *, inverted=False, exponent=1.0, scale=1.0) -> Comparison:
    """'(i,j) entry of R decays as s_i/s_j if j<i, s_j/s_i if i<j; constants related to T_C':
    R_ij / ratio -> T_ij (j<i) and (T^{-1})_ji (i<j); log-log slope vs the ratio -> 1. Foils: ``inverted``
    (s_j/s_i for j < i, s_i/s_j for i < j, as printed in Theorem D.1(c)), ``exponent`` (ratio^exponent)."""
    pred, K, rungs = _ladder6(UA, B, r, a, kind)
    per_rung = [0.0] * len(rungs)
    fits = []
    slope_dev = 0.0
    sgn = -1.0 if inverted else 1.0
    for i in range(int(r)):
        for j in range(int(r)):
            if i == j:
                continue
            Kc = scale * (pred.T[i, j] if j < i else pred.Tinv[j, i])
            lr = [sgn * exponent * ((rg.log_s[i] - rg.log_s[j]) if j < i else (rg.log_s[j] - rg.log_s[i]))
                  for rg in rungs]
            ys = [rg.s6.R[i, j] / math.exp(x) for rg, x in zip(rungs, lr)]
            for k, y in enumerate(ys):
                per_rung[k] = max(per_rung[k], abs(y - Kc) / (1 + abs(Kc)))
            u2, u1 = rungs[-1].s6.R[i, j], rungs[-2].s6.R[i, j]
            slope = math.nan
            if abs(Kc) > 1e-8 and u1 != 0 and u2 != 0:
                slope = (math.log(abs(u2)) - math.log(abs(u1))) / (lr[-1] - lr[-2])
                slope_dev = max(slope_dev, abs(slope - 1))
            fits.append({"i": i + 1, "j": j + 1, "const_pred": float(Kc), "const_fit": float(ys[-1]), "slope": slope})
    if not fits:
        return Comparison(0.0, al.REMAINDER_CONST, {"note": "r = 1"})
    cmp = _remainder_cmp(per_rung, rungs, K, {"family": family, "kind": kind, "fits": fits[:6],
                                                "max_slope_deviation": slope_dev})
    cmp.err = max(cmp.err, slope_dev / (rungs[-1].eps + cmp.detail["rounding_floor"]))
    return cmp


# ------------------------------------------------------------------------------------------------
# Theorem 6.1 as printed: counterexample for hypothesis (ii) (columns)
# ------------------------------------------------------------------------------------------------

CE61 = {"UA": np.eye(2), "B": np.array([[0.0, 0.0], [1.0, 1.0]]), "a": np.array([0.0, 1.0]), "r": 1, "L": 20.0}


def thm61_replay(ce: dict) -> Comparison:
    """||R_L^{r,r} - I_r||_max at depth L for the stored A_L = U_A diag(e^{-L a}), B; the tolerance
    is the O(eps_L) remainder budget of the (corrected) theorem."""
    UA, B, a, r, L = (np.asarray(ce["UA"], float), np.asarray(ce["B"], float), np.asarray(ce["a"], float),
                      int(ce["r"]), float(ce["L"]))
    ls = al.log_s_sequence(a, L)
    s6 = al.section6(ls, UA, B, r)
    return Comparison(err=float(np.max(np.abs(s6.R[:r, :r] - np.eye(r)))),
                      tol=al.REMAINDER_CONST * max(1.0, float(np.linalg.norm(B @ B.T, 2))) * al.rho_of(ls, r),
                      detail={"R": s6.R.tolist(), "sJ/sA": s6.sJ_over_sA.tolist()})


def thm61_probes() -> list[dict]:
    """Each hypothesis of Theorem 6.1 dropped (or swapped) in turn, at L = 20 and 40."""
    rows = []

    def probe(name, UA, B, a, r, expect):
        ce = {"UA": UA, "B": np.asarray(B, float), "a": np.asarray(a, float), "r": r}
        errs = [thm61_replay({**ce, "L": L}).err for L in (20.0, 40.0)]
        rows.append({"probe": name, "B": np.asarray(B, float).tolist(), "a": list(map(float, a)), "r": r,
                     "max|R^{rr}-I| at L=20,40": errs, "conclusion fails": bool(min(errs) > 1e-3),
                     "expected": expect})

    I2, I3 = np.eye(2), np.eye(3)
    probe("(ii) holds (first column (0,1) independent) but first row of B is 0", I2, [[0, 0], [1, 1]], [0, 1], 1,
          "fails: R_11 = 0")
    probe("(ii) holds (columns 1,2 independent) but rows 1,2 dependent", I3, [[1, 1, 0], [2, 2, 0], [0, 1, 1]],
          [0, 1, 2], 2, "fails: C^{2,2} singular")
    probe("(ii) violated (column 1 = 0) but row 1 nonzero", I2, [[0, 1], [0, 0]], [0, 1], 1,
          "holds: (ii) is not necessary")
    probe("(i) dropped: no separation, s_A = (1, 1)", I2, [[1, .5], [.5, 1]], [0, 0], 1, "fails")
    return rows


def check_thm61(ctx) -> Outcome:
    Ls = [5.0, 10.0, 20.0, 40.0]
    ladder = [{"L": L, **{k: v for k, v in thm61_replay({**CE61, "L": L}).detail.items()}} for L in Ls]
    final = thm61_replay(CE61)
    # independent closed form: J = diag(1, e^-L) [[0,0],[1,1]] = [[0,0],[e^-L, e^-L]], J J^T = diag(0, 2e^-2L):
    # top left singular vector is e_2, so R_11 = <e_1, e_2> = 0 for every L.
    return Outcome(
        Status.REFUTED if not final.ok else Status.VERIFIED,
        "B=[[0,0],[1,1]] satisfies (ii) (first column independent) and A_L=diag(1,e^-L) satisfies (i), yet "
        "R_L^{1,1}=0 for all L; the proof needs the first r ROWS of B independent",
        evidence={"ladder": ladder, "replay_L20": {"err": final.err, "tol": final.tol},
                  "closed_form": "J J^T = diag(0, 2 e^{-2L}) => u_{J,1} = e_2, R_11 = 0",
                  "hypothesis_probes": thm61_probes()},
        method="mpmath SVD of J_L = A_L B (section6) at L=5..40, confirmed by the closed form of J J^T. Hypothesis "
               "probes drop/swap one hypothesis at a time (evidence.hypothesis_probes).",
        counterexample=CE61)


# 30 examples (not 20): the rate foil is rejected only by inputs with r >= 2 (for r = 1, 1 - R_11 = O(rho^2) anyway)
_CORR61 = _property(s6_cases(), cmp_R_identity, generated="s6_case inputs, mpmath SVD of J, ladder eps_L=1e-2..1e-10",
                    quick=30, full=150)

_CORR61_SLIP = rate_slip(_CORR61, "R_L^{r,r} - I_r (entries against their pair's ratio)")

claim(
    id="thm-6.1", ref="Theorem 6.1 (Section 6)", section=SECTION, kind=Kind.LIMIT,
    statement=STATEMENT_61,
    reading="As printed, with hypothesis (ii) on the first r COLUMNS of B ('(ii) The first r columns of B are linearly "
            "independent'). The conclusion is checked as ||R_L^{r,r} - I_r||_max -> 0 (rate: O(K_eff rho_L), 'the "
            "off-diagonal entries converge to 0 at rates controlled by the spectral ratios in (i)').",
    hypotheses=THM61_HYP, exercises="minimal 2x2 counterexample + probes; corrected form on s6_case inputs",
    depends_on=("thm-d.1/a", "rem-d.2/lower"), check=check_thm61, replay=thm61_replay,
    proof_conditions=PROOF_CONDITIONS_61,
    severity=Severity.SUBSTANTIVE,
    severity_note="A hypothesis of the theorem is wrong: independence of the first r columns of B neither implies nor is "
                  "implied by what the proof uses, independence of its first r rows (C^{r,r} = (BB^T)^{r,r} positive "
                  "definite); with the printed (ii) the conclusion fails (R_L^{1,1} = 0 for B = [[0,0],[1,1]]), and "
                  "nothing in Section 6 points to rows.",
    corrected=Corrected(
        statement=r"Theorem 6.1 with (ii) replaced by: (ii') the first $r$ rows of $B$ are linearly independent "
                  r"(equivalently $C^{r,r} = (BB^\top)^{r,r}$ is positive definite). Then $R_L^{r,r} \to I_r$.",
        reading="Along the depth ladder: max_i |R_ii - 1| = O(eps_L) and, for i != j <= r, |R_ij| = O(K_eff "
                "s_{max(i,j)}/s_{min(i,j)}) ('the off-diagonal entries converge to 0 at rates controlled by the spectral "
                "ratios in (i)': each entry by the ratio of its pair; constant <= REMAINDER_CONST); B includes singular "
                "matrices with dependent columns (showing (ii) on columns is not needed) and S_A ties beyond r.",
        derivation="J J^T = U_A (S_A C S_A) U_A^T with C = B B^T, so R_L = U_L of Theorem D.1 and its hypothesis (iii) "
                   "is C^{r,r} PD, i.e. rows 1..r of B independent. Columns are irrelevant: B=[[0,1],[0,0]] "
                   "violates (ii) but R_L^{1,1} = 1.",
        check=_CORR61, replay=_CORR61.replay, knob=_CORR61_SLIP[1],
        foils=ladder_foils(
            _CORR61, _CORR61_SLIP[0],
            ("the printed hypothesis (ii) instead of (ii'): each input with its first r columns still independent but "
             "row r replaced by a copy of row 1 (row 1 by 0 when r = 1)", "hypothesis",
             {"rows_dependent": True, "first": 8}),
            ("off-diagonal entries of R_L^{r,r} at the squared ratios (s_{max(i,j)}/s_{min(i,j)})^2", "rate",
             {"rate": 2.0}),
        )),
)


# ------------------------------------------------------------------------------------------------
# Theorem 6.1 on random products (Section 6's i.i.d. setting): rate and constant over a depth ladder
# ------------------------------------------------------------------------------------------------

PROD_N, PROD_R, PROD_P, PROD_PREFIX = 6, 3, 0.5, 2
# Rate: per-sample slope in the suffix length m of log|R_ij| - k log(ratio) over these depths.
RATE_DEPTHS = (8, 12, 16, 20, 24)
# Constant: R_ij/ratio vs the Remark 6.3 constant of C_m = V_A^T B B^T V_A. Its remainder is O(rho^2); past m ~ 16
# float64 SVD resolves it no better than ~1e-8 relative (entries ~ s_3/s_1), so the fit stops at m = 12.
CONST_DEPTHS = (4, 6, 8, 10, 12)
PAIRS = tuple((i, j) for i in range(PROD_R) for j in range(PROD_R) if i != j)


def product_alignment(gen, samples: int, n: int, r: int, p: float, sigma: float, prefix: int, depths,
                      c_depths=None):
    """R = U_A^T U_J (sign aligned), s_A for suffix products A of (r,p,sigma)-layers of growing length m
    (nested: A_{m+1} = M A_m) times a fixed prefix B of ``prefix`` layers. Returns (dict m -> (R, s_A, C_m), B^T B)
    where C_m = V_A^T B B^T V_A is the effective C of Theorem 6.1 (J = U_A S_A (V_A^T B)), kept at ``c_depths``
    (default: all depths; None elsewhere, to bound memory)."""
    import torch

    from theory import samplers

    B = torch.eye(n, dtype=torch.float64, device=gen.device).expand(samples, n, n).clone()
    for _ in range(prefix):
        B = samplers.layer(samples, n, r, p, sigma, gen) @ B
    A = torch.eye(n, dtype=torch.float64, device=gen.device).expand(samples, n, n).clone()
    out = {}
    for m in range(1, max(depths) + 1):
        A = samplers.layer(samples, n, r, p, sigma, gen) @ A
        A = A / A.flatten(1).norm(dim=1)[:, None, None]
        if m in depths:
            UA, sA, VAt = torch.linalg.svd(A)
            UJ = torch.linalg.svd(A @ B)[0]
            R = al.sign_align(UA, UJ)
            R = UA.transpose(-1, -2) @ R
            Cm = None
            if c_depths is None or m in c_depths:
                Cm = (VAt @ B @ B.transpose(-1, -2) @ VAt.transpose(-1, -2)).cpu().numpy()
            out[m] = (R.cpu().numpy(), sA.cpu().numpy(), Cm)
    return out, (B.transpose(-1, -2) @ B).cpu().numpy()


def _products_data(ctx):
    def simulate():
        samples = ctx.pick(quick=10000, full=40000)
        depths = sorted({2, *RATE_DEPTHS, *CONST_DEPTHS})
        data, BtB = product_alignment(ctx.torch_generator("products"), samples, PROD_N, PROD_R, PROD_P,
                                      1 / math.sqrt(PROD_N), PROD_PREFIX, depths, c_depths=CONST_DEPTHS)
        consts = {}
        for m in CONST_DEPTHS:
            T, _ = al.ldl_unit_batch(data[m][2][:, :PROD_R, :PROD_R])
            consts[m] = (T, np.linalg.inv(T))
        Tc, _ = al.ldl_unit_batch(BtB[:, :PROD_R, :PROD_R])
        return samples, data, consts, (Tc, np.linalg.inv(Tc))
    return ctx.memo("products", simulate)


def _slopes(y, depths):
    """Per-sample least-squares slope in m of y (samples x depths)."""
    m = np.asarray(depths, float)
    mc = m - m.mean()
    return (y * mc).sum(1) / (mc ** 2).sum()


def _ratio(s, i, j):
    """The ratio Remark 6.3 attaches to R_ij: s_i/s_j below the diagonal (j < i), s_j/s_i above (i < j)."""
    return s[:, i] / s[:, j] if j < i else s[:, j] / s[:, i]


def _entry_decay_curves(data):
    """The figure's curves: suffix lengths ms and, per pair (i, j) of PAIRS, (E log|R_ij|, E log ratio) over ms.
    |R_ij| below float64's resolution of U_A^T U_J can be an exact 0 at the deepest m (measured: 1 in 2000 samples
    at m = 24); it is floored at 1e-300 (as in the rate statistic) so the mean stays finite."""
    ms = sorted(data)
    curves = {}
    for (i, j) in PAIRS:
        ly = np.array([np.mean(np.log(np.abs(data[m][0][:, i, j]) + 1e-300)) for m in ms])
        lr = np.array([np.mean(np.log(_ratio(data[m][1], i, j))) for m in ms])
        curves[(i, j)] = (ly, lr)
    return ms, curves


def _power_two_sided(mu, se, z, gross):
    """P(|N(mu, se^2)| - z se > gross): the chance the equivalence rule refutes a slope of true mean mu."""
    return float(norm.sf((gross - mu) / se + z) + norm.cdf((-gross - mu) / se - z))


def _const_stats(data, consts, cols, exponent, const, scale):
    """Per pair (i, j): (mean, SE) of the per-sample slope over CONST_DEPTHS of log|R_ij/ratio^exponent - scale K| -
    log rho_m, the wrong-constant alternative slope (mean of the slope of -log rho_m) and the samples used."""
    r = PROD_R
    lrho = np.stack([np.log(np.max(data[m][1][:, 1:r + 1] / data[m][1][:, :r], axis=1)) for m in CONST_DEPTHS], 1)
    out = []
    for (i, j) in PAIRS:
        rows_ = []
        for m in CONST_DEPTHS:
            R, s, _ = data[m]
            T, Ti = consts[m] if const != "cols" else cols
            if const == "swapped":
                K = Ti[:, i, j] if j < i else T[:, j, i]
            else:
                K = T[:, i, j] if j < i else Ti[:, j, i]
            y = R[:, i, j] / _ratio(s, i, j) ** exponent
            rows_.append(np.log(np.abs(y - scale * K) + 1e-300))
        stat = np.stack(rows_, axis=1) - lrho
        ok = np.all(np.isfinite(stat), axis=1)  # drops the samples whose C_m^{r,r} is numerically not PD
        alt = float(np.mean(_slopes(-lrho[ok], CONST_DEPTHS)))  # the slope a wrong constant would show (> 0)
        est, se = cstats.mean_se(_slopes(stat[ok], CONST_DEPTHS))
        out.append((i, j, est, se, alt, int(ok.sum())))
    return out


def _const_resolution(data, consts, cols, z):
    """The smallest relative change delta of the constants K (K -> (1 + delta) K, both signs) that the constant rule
    refutes with probability >= RESOLUTION_POWER: for each delta of the scan CONST_SLIP * 2^-k, the statistic is
    recomputed on the same draws and P(refute) = P(estimate - z SE > 0.5 alt) for the pair that rejects most easily
    (normal approximation at the estimated mean and SE). Returns (value, how)."""
    from checks.model import RESOLUTION_POWER
    from theory.claims.app_d import CONST_SLIP

    base = _const_stats(data, consts, cols, 1.0, "rows", 1.0)
    gross = 0.5 * min(a for *_, a, _ in base)
    worst, tried = 0.0, []
    for side in (1, -1):
        smallest = math.inf
        for k in range(9):
            d = CONST_SLIP * 2.0 ** -k
            st_ = _const_stats(data, consts, cols, 1.0, "rows", 1.0 + side * d)
            pw = max(float(norm.sf((gross - est) / se + z)) for _, _, est, se, _, _ in st_)
            tried.append(f"{side * d:+.4g}:{pw:.3f}")
            if pw < RESOLUTION_POWER:
                break
            smallest = d
        worst = max(worst, smallest)
    return worst, ("scan of the relative change of the constants K_ij on the same draws (CONST_SLIP x 2^-k, both "
                   "signs), power of the constant rule (estimate - z SE > 50% of the wrong-constant slope) at the "
                   f"estimated mean and SE: " + ", ".join(tried))


def check_products(ctx, *, exponent=1.0, const="rows", scale=1.0) -> Outcome:
    """``exponent``: R_ij ~ K ratio^exponent (1 printed; foils 2 = eigenvalue ratios, -1 = inverted ratio);
    ``const``: the constants K from T of C_m = V_A^T B B^T V_A ('rows', Remark 6.3), of B^T B ('cols') or with
    T_C and T_C^{-1} exchanged ('swapped'); ``scale``: the constants multiplied (the nearest slip, 1.5)."""
    samples, data, consts, cols = _products_data(ctx)
    r = PROD_R
    z = ctx.z(2 * len(PAIRS) + 1)
    rate_rows, const_rows, powers = [], [], []
    # rate: slope in m of log|R_ij| - exponent * log(ratio); 0 if the entries decay like ratio^exponent
    for (i, j) in PAIRS:
        lr = np.stack([np.log(_ratio(data[m][1], i, j)) for m in RATE_DEPTHS], axis=1)
        ly = np.stack([np.log(np.abs(data[m][0][:, i, j]) + 1e-300) for m in RATE_DEPTHS], axis=1)
        est, se = cstats.mean_se(_slopes(ly - exponent * lr, RATE_DEPTHS))
        alt = float(np.mean(_slopes(-lr, RATE_DEPTHS)))  # the slope a non-decaying R_ij would show (> 0)
        t = cstats.test(f"rate: slope_m[log|R_{i + 1}{j + 1}| - {exponent:g} log ratio]", est, se, 0.0, z)
        rate_rows.append({**t.as_dict(), "no-alignment alternative slope": alt,
                          # under the printed statement this slope is (exponent - 1) * alt
                          "mean_if_printed_true": (exponent - 1.0) * alt})
    # constant: slope in m of log|R_ij/ratio^exponent - K(C_m)| - log rho_m; <= 0 if the remainder is O(rho_m)
    for (i, j, est, se, alt, used) in _const_stats(data, consts, cols, exponent, const, scale):
        t = cstats.test(f"constant: slope_m[log|R_{i + 1}{j + 1}/ratio - K| - log rho]", est, se, 0.0, z)
        const_rows.append({**t.as_dict(), "wrong-constant alternative slope": alt, "samples_used": used})
    # 1 - R_ii decreasing: compare the first and last depth (paired)
    d0, d1 = min(data), RATE_DEPTHS[-1]
    d = (1 - np.abs(np.diagonal(data[d0][0], axis1=1, axis2=2)[:, :r])).mean(1) - \
        (1 - np.abs(np.diagonal(data[d1][0], axis1=1, axis2=2)[:, :r])).mean(1)
    dest, dse = cstats.mean_se(d)
    decrease = {f"mean(1-R_ii) at m={d0} minus at m={d1}": dest, "se": dse, "z": dest / dse}
    # The prediction is asymptotic: at finite m the slopes carry an o(1) drift (C_m still converging), which a huge
    # sample would detect. So these are equivalence tests against the named alternatives: a rate test is supported if
    # its CI lies within +-20% of the no-alignment slope and refutes if significantly beyond 50% of it; a constant
    # test (one-sided: a remainder decaying faster than rho is fine) supports below +20% and refutes beyond +50% of
    # the wrong-constant slope.
    alt_rate = min(rw["no-alignment alternative slope"] for rw in rate_rows)
    alt_const = min(rw["wrong-constant alternative slope"] for rw in const_rows)
    for rw in rate_rows:
        rw["within_margin"] = bool(abs(rw["estimate"]) + z * rw["se"] <= 0.2 * alt_rate)
        rw["beyond_gross"] = bool(abs(rw["estimate"]) - z * rw["se"] > 0.5 * alt_rate)
        powers.append(_power_two_sided(rw["mean_if_printed_true"], rw["se"], z, 0.5 * alt_rate))
    for rw in const_rows:
        rw["within_margin"] = bool(rw["estimate"] + z * rw["se"] <= 0.2 * alt_const)
        rw["beyond_gross"] = bool(rw["estimate"] - z * rw["se"] > 0.5 * alt_const)
    if const != "rows" or scale != 1.0:  # a wrong constant leaves an O(1) remainder: slope ~ alt under the truth
        # at the estimated mean of the statistic under this foil (for a factor on K that is the measured slope)
        powers += [float(norm.sf((0.5 * alt_const - rw["estimate"]) / rw["se"] + z)) for rw in const_rows]
    tests = rate_rows + const_rows
    if any(rw["beyond_gross"] for rw in tests) or decrease["z"] < -z:
        status = Status.REFUTED
    elif all(rw["within_margin"] for rw in tests) and decrease["z"] > z:
        status = Status.SUPPORTED
    else:
        status = Status.INCONCLUSIVE
    worst_rate = max(abs(rw["estimate"]) + z * rw["se"] for rw in rate_rows)
    worst_const = max(rw["estimate"] + z * rw["se"] for rw in const_rows)
    figures = {}
    if exponent == 1.0 and const == "rows":
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.8))
        ax = fig.add_subplot(111)
        ms, curves = _entry_decay_curves(data)
        for (i, j), (ly, lr) in curves.items():
            line, = ax.plot(ms, ly, "o-", ms=3, label=f"E log|R_{i + 1}{j + 1}|")
            ax.plot(ms, lr + (ly[-1] - lr[-1]), ":", color=line.get_color(), lw=1)
        ax.set_xlabel("suffix length m")
        ax.set_title("random products: E log|R_ij| (dots) vs E log ratio shifted (dotted)", fontsize=8)
        ax.legend(fontsize=6, ncol=2)
        figures["products_entry_decay"] = fig
    return Outcome(
        status,
        f"rate: log|R_ij| - {exponent:g} log(s ratio) vs suffix length m: max |slope| + z SE = {worst_rate:.3g} per layer "
        f"(margin {0.2 * alt_rate:.3g} = 20% of the no-alignment slope {alt_rate:.3g}); constant ({const}): max slope + z SE "
        f"of log|R_ij/ratio - K| - log rho = {worst_const:.3g} (margin {0.2 * alt_const:.3g}); 1-R_ii drops by "
        f"{dest:.3f} (z={dest / dse:.1f})",
        evidence={"n": PROD_N, "r": r, "p": PROD_P, "sigma": 1 / math.sqrt(PROD_N), "samples": samples,
                  "prefix_layers": PROD_PREFIX, "rate_depths": RATE_DEPTHS, "constant_depths": CONST_DEPTHS,
                  "rate_tests": rate_rows, "constant_tests": const_rows, "rate_margin": 0.2 * alt_rate,
                  "rate_gross": 0.5 * alt_rate, "constant_margin": 0.2 * alt_const, "constant_gross": 0.5 * alt_const,
                  "diag_decrease": decrease},
        figures=figures,
        method="Monte Carlo over (r,p,sigma)-layers (theory.samplers.layer, r=3 rank-conditioned gates): a fixed prefix "
               "B = M_2 M_1 and nested suffixes A = M_{m+2}...M_3, float64 SVD. Theorem 6.1 applies to J = U_A S_A (V_A^T B) "
               "with the effective C_m = V_A^T B B^T V_A. Rate: for each sample the slope in m of log|R_ij| - log(ratio) "
               "over m = 8..24 (ratio s_i/s_j below, s_j/s_i above the diagonal); Theorem 6.1 + Remark 6.3 predict 0, "
               "no alignment predicts the slope of -log ratio. Constant: the slope over m = 4..12 of "
               "log|R_ij/ratio - K_ij(C_m)| - log rho_m (K = T_C below, T_C^{-1} transposed above the diagonal; rho_m the "
               "slowest ratio): <= 0 if the remainder is O(rho_m), the slope of -log rho_m for a wrong constant. "
               "Equivalence tests at the claim's Bonferroni level over the 12 pair tests and the 1 - R_ii decrease "
               "(margins 20%/50% of the named alternatives; the limit is asymptotic, so a plain test of 0 would detect "
               "the o(1) drift at large samples).",
        power=cstats.power_any(powers) if (exponent != 1.0 or const != "rows" or scale != 1.0) else None,
        resolution=_products_resolution(data, consts, cols, z) if (exponent, const, scale) == (1.0, "rows", 1.0)
        and status is Status.SUPPORTED else None,
    )


def _products_resolution(data, consts, cols, z):
    from checks import Resolution
    from theory.claims.app_d import CONST_SLIP

    value, how = _const_resolution(data, consts, cols, z)
    return Resolution("the constants K_ij = (T_C)_ij, (T_C^{-1})_ji of R_ij / ratio (relative)", value, "relative", how,
                      CONST_SLIP, "the constants K_ij off by a factor 1.5")


claim(
    id="thm-6.1/products", ref="Theorem 6.1 applied to suffix products (Section 6)", section=SECTION,
    kind=Kind.DISTRIBUTIONAL,
    statement=r"""In the i.i.d. initialization setting, each suffix product A_ℓ has the same distribution as a shorter product of (r, p, σ) -layers, and thus inherits spectral separation properties analogous to Corollary 5.6. Theorem 6.1 below then predicts that the dominant left singular subspace of J_L is close to that of A_ℓ""",
    reading="With B a fixed-length prefix product and A a growing suffix of i.i.d. (r,p,sigma)-layers (n=6, r=3, p=0.5, "
            "sigma=1/sqrt n), the prediction of Theorem 6.1 with Remark 6.3 ('R_L^{r,r} -> I_r', 'the off-diagonal "
            "coefficient ... decays as s_i/s_j (resp. s_j/s_i) if j < i (resp. i < j)', constants from T_C): (rate) the "
            "per-sample slope in depth of log|R_ij| - log(ratio) has mean within +-20% of the slope a non-aligning R_ij "
            "would show; (constant) R_ij/ratio - K_ij(C_m) = O(rho_m) with C_m = V_A^T B B^T V_A; mean(1 - R_ii) "
            "decreases. Equivalence tests (exactly 0 only as m -> infinity).",
    hypotheses=("i.i.d. (r,p,sigma)-layers", "Corollary 5.6 spectral separation", "C^{r,r} PD (a.s.)"),
    exercises="random masked Ginibre products with rank-conditioned gates; moderate separation (Lyapunov gaps ~0.2-0.5), "
              "suffix depths 4..24",
    depends_on=("thm-6.1",), check=check_products,
    proof_conditions=(
        "Theorem 6.1 needs right singular vectors = standard basis and a fixed B; here J = U_A S_A (V_A^T B) with "
        "B_eff = V_A^T B depending on m: the prediction needs V_{A_m} to converge, which it does a.s. (the right singular "
        "vectors of M_{m+2}...M_3, i.e. the left ones of its transpose, to which factors are added on the right: "
        "Oseledets); the constants are taken at C_m.",
        "C_m^{r,r} PD: the first r rows of V_A^T B independent, i.e. span(V_A[:, :r]) meets ker B^T trivially: a.s. "
        "(V_A is independent of B, B has rank >= r); samples where it is numerically not PD are dropped and counted.",
        "A_m invertible (Theorem 6.1): false for rank-deficient gates (rank A_m >= r only); not needed "
        "(lem-d.6/missing-invertible corrected).",
    ),
    foils=(
        Foil("the constants K_ij off by a factor 1.5", functools.partial(check_products, scale=1.5), kind="factor",
             nearest=True, size=0.5, unit="relative"),
        Foil("entries decay like the squared ratio (eigenvalue ratios of A A^T, s_i^2/s_j^2)",
             functools.partial(check_products, exponent=2.0), kind="exponent"),
        Foil("the ratios inverted, as printed in Theorem D.1(c) (s_j/s_i below the diagonal, s_i/s_j above)",
             functools.partial(check_products, exponent=-1.0), kind="ratio"),
        Foil("constants from C := B^T B (the Gram matrix of the columns, as the printed hypothesis (ii) suggests)",
             functools.partial(check_products, const="cols"), kind="constant"),
        Foil("T_C and T_C^{-1} exchanged in the constants", functools.partial(check_products, const="swapped"),
             kind="constant"),
    ),
)


# ------------------------------------------------------------------------------------------------
# Remark 6.2 (clustered spectra)
# ------------------------------------------------------------------------------------------------


@st.composite
def cluster_case(draw):
    # at least two clusters: with one, R^{r,r} has no off-block entries and only orthogonality is tested
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=3).filter(lambda s: sum(s) <= 4 and max(s) > 1))
    r = sum(sizes)
    n = draw(st.integers(r + 1, r + 2))
    B = draw(cst.matrices(n, cond=(1.5, 1e2)))  # cond > 1: an orthogonal B gives R_L = I exactly
    UA = cst.haar_orthogonal_np(n, np.random.default_rng(draw(cst.seeds())))
    # cluster exponents (separated across clusters) and fixed within-cluster offsets (not separated)
    level, a, b = 0.0, [], []
    for sz in sizes + [n - r]:
        tie = draw(st.booleans())
        for k in range(sz):
            a.append(level)
            b.append(0.0 if tie else 0.3 * k)
        level += draw(st.floats(0.4, 1.0))
    return dict(UA=UA, B=B, sizes=np.array(sizes), a=np.array(a), b=np.array(b))


@functools.lru_cache(maxsize=1024)
def _cluster_ladder(UAk, Bk, sizes, ak, bk):
    UA, B, a, b = _unkey(UAk), _unkey(Bk), _unkey(ak), _unkey(bk)
    r = sum(sizes)
    C = B @ B.T
    K = max(1.0, float(np.linalg.norm(C, 2)) / float(np.min(np.linalg.eigvalsh(C[:r, :r]))))
    bounds = np.cumsum([0] + list(sizes))
    g = min(a[bounds[k]] - a[bounds[k] - 1] for k in range(1, len(bounds)))
    rungs = []
    for e in EPS_LADDER:
        L = math.log(K / e) / g
        rg = _Rung(L, math.exp(-L * g), K, -L * a - b, al.section6(-L * a - b, UA, B, r))
        rungs.append(rg)
    return K, bounds, rungs


def cmp_clusters(UA, B, sizes, a, b, *, target="block", rate=1.0) -> Comparison:
    """R^{r,r} -> block-diagonal with orthogonal blocks: off-block entries and ||B_k^T B_k - I|| are O(eps).
    Foils: ``target='identity'`` (R^{r,r} -> I_r, as without clusters), ``rate`` = 2."""
    sizes = tuple(int(x) for x in sizes)
    r = sum(sizes)
    K, bounds, rungs = _cluster_ladder(_key(UA), _key(B), sizes, _key(a), _key(b))
    mask = np.zeros((r, r), bool)
    for k in range(len(sizes)):
        mask[bounds[k]:bounds[k + 1], bounds[k]:bounds[k + 1]] = True
    vals = []
    for rg in rungs:
        Rr = rg.s6.R[:r, :r]
        if target == "identity":
            vals.append(float(np.max(np.abs(Rr - np.eye(r)))))
            continue
        orth = max(float(np.max(np.abs(Rr[sl, sl].T @ Rr[sl, sl] - np.eye(sl.stop - sl.start))))
                   for sl in (slice(bounds[k], bounds[k + 1]) for k in range(len(sizes))))
        vals.append(max(float(np.max(np.abs(Rr[~mask]))) if (~mask).any() else 0.0, orth))
    cmp = _remainder_cmp(vals, rungs, K, {"sizes": list(sizes), "n": len(a)}, rate=rate)
    # also report how far the within-cluster blocks are from the identity (they need not be)
    Rr = rungs[-1].s6.R[:r, :r]
    cmp.detail["block_dist_from_I"] = float(np.max(np.abs(Rr[mask] - np.eye(r)[mask])))
    return cmp


_CLUSTERS = _property(cluster_case(), cmp_clusters, generated="clustered spectra, mpmath SVD of J, eps_L from the "
                      "between-cluster gaps", quick=20, full=150)

_CLUSTERS_SLIP = rate_slip(_CLUSTERS, "the off-block entries and block orthogonality defects of R_L^{r,r}")

claim(
    id="rem-6.2", ref="Remark 6.2 (Section 6)", section=SECTION, kind=Kind.LIMIT,
    statement=r"""Remark 6.2 (Clustered spectra). When applying Theorem 6.1 to random products, it may occur that several consecutive singular values of A_L are close, weakening spectral separation within that cluster. A natural extension is to assume separation only between clusters. One then expects $R_L^{r,r}$ to converge to a block-diagonal matrix with orthogonal blocks matching the cluster sizes.""",
    reading="A_L = U_A S_L with clusters of sizes (d_1, ..., d_k), sum = r: within a cluster the ratios are fixed "
            "(exact ties or constant offsets), between clusters separated as exp(-L g). Checked: entries of R^{r,r} "
            "outside the diagonal blocks and ||R_k^T R_k - I|| for each diagonal block are O(eps_L).",
    hypotheses=("separation between clusters only", "first r rows of B independent"),
    exercises="two or three clusters of sizes 1..3 (at least one >1), exact ties or fixed within-cluster ratios, Haar U_A, B with cond "
              "1.5..1e2",
    depends_on=("thm-6.1",),
    check=_CLUSTERS, knob=_CLUSTERS_SLIP[1],
    foils=ladder_foils(
        _CLUSTERS, _CLUSTERS_SLIP[0],
        ("R_L^{r,r} -> I_r (the conclusion of Theorem 6.1, as if clusters were separated)", "hypothesis",
         {"target": "identity"}),
        ("off-block entries O(eps_L^2) (squared between-cluster ratio)", "rate", {"rate": 2.0}),
    ),
)

# ------------------------------------------------------------------------------------------------
# Remark 6.3
# ------------------------------------------------------------------------------------------------

STATEMENT_63_HEAD = r"""Remark 6.3 (First order corrections). [...] Let $C := BB^\top$. Then, as $L \rightarrow \infty$,"""
STATEMENT_63_TAIL = r"""where Σ_C is diagonal and T_C is lower-triangular with unit diagonal, defined by the Cholesky factorization

$$C^{r,r} = T_C \Sigma_C T_C^\top.$$"""

CE63 = {"UA": np.eye(2), "B": 2 * np.eye(2), "a": np.array([0.0, 1.0]), "r": 1, "L": 20.0}


def rem63_sigma_replay(ce: dict) -> Comparison:
    """|s_{J,1}/s_{A,1} - (Sigma_C)_1| for the stored case (printed limit)."""
    UA, B, a, r, L = (np.asarray(ce["UA"], float), np.asarray(ce["B"], float), np.asarray(ce["a"], float),
                      int(ce["r"]), float(ce["L"]))
    ls = al.log_s_sequence(a, L)
    s6 = al.section6(ls, UA, B, r)
    pred = al.predict(B @ B.T, r)
    return Comparison(err=float(np.max(np.abs(s6.sJ_over_sA[:r] - pred.Sigma))),
                      tol=al.REMAINDER_CONST * float(np.linalg.norm(B @ B.T, 2)) * al.rho_of(ls, r),
                      detail={"sJ/sA": s6.sJ_over_sA[:r].tolist(), "Sigma_C": pred.Sigma.tolist(),
                              "sqrt_Sigma_C": np.sqrt(pred.Sigma).tolist()})


def check_rem63_sigma(ctx) -> Outcome:
    cmp = rem63_sigma_replay(CE63)
    return Outcome(
        Status.REFUTED if not cmp.ok else Status.VERIFIED,
        "B = 2I: J = 2A exactly, so s_J/s_A = 2 while Sigma_C = 4; the limit is Sigma_C^{1/2} "
        "(s_{J,i}^2 = sigma_i(S_A C S_A) and Theorem D.1(b))",
        evidence={"comparison": {"err": cmp.err, "tol": cmp.tol, **cmp.detail},
                  "closed_form": "J = A B = 2 A, singular values exactly doubled for every L"},
        method="mpmath SVD of J (section6) for A_L = diag(1, e^-20), B = 2 I, r = 1; confirmed by the closed form.",
        counterexample=CE63)


# r >= 2: for i = 1 the pivot is c_11 (the diagonal foil differs from i = 2 on); i = 1 is still checked
_SIGMA63 = _property(s6_cases(r_min=2), cmp_sigma_sqrt, generated="s6_case inputs (r >= 2), mpmath SVD of J", quick=20,
                     full=150)
PROOF_CONDITIONS_63 = (
    "C^{r,r} = (BB^T)^{r,r} PD (T_C, Sigma_C are defined by its Cholesky factorisation): stated implicitly ('defined by "
    "the Cholesky factorization'); the printed Theorem 6.1 (ii) does not imply it (thm-6.1).",
)

_SIGMA63_SLIP = const_slip(_SIGMA63, "the limit Sigma_C^{1/2} of s_{J,i}/s_{A,i}")

claim(
    id="rem-6.3/sigma", ref="Remark 6.3 (Section 6), first limit", section=SECTION, kind=Kind.LIMIT,
    statement=STATEMENT_63_HEAD + r"""

$$(S_{J_L} S_{A_L}^{-1})^{r,r} \rightarrow \Sigma_C,$$

""" + STATEMENT_63_TAIL,
    reading="s_{J,i}/s_{A,i} -> (Sigma_C)_i for i <= r, Sigma_C the pivots of the unit-lower Cholesky (LDL^T) of C^{r,r} "
            "('Let C := BB^T', 'defined by the Cholesky factorization C^{r,r} = T_C Sigma_C T_C^T').",
    hypotheses=THM61_HYP[:3] + ("C^{r,r} PD",), exercises="minimal counterexample B = 2I; corrected form on s6_case",
    depends_on=("thm-d.1/b",), check=check_rem63_sigma, replay=rem63_sigma_replay, proof_conditions=PROOF_CONDITIONS_63,
    severity=Severity.SUBSTANTIVE,
    severity_note="A stated limit is wrong by a square root: s_{J,i}/s_{A,i} -> (Sigma_C)_i^{1/2}, not (Sigma_C)_i "
                  "(B = 2I doubles every singular value while Sigma_C = 4); the printed formula is well-formed and "
                  "plausible, and nothing in Section 6 signals the square (Remark D.2's Sigma_L are eigenvalues of "
                  "S C S, i.e. squared singular values of J, but the remark does not say so).",
    corrected=Corrected(
        statement=r"$(S_{J_L} S_{A_L}^{-1})^{r,r} \rightarrow \Sigma_C^{1/2}$",
        reading="max_i |s_{J,i}/(s_{A,i} sqrt((Sigma_C)_i)) - 1| = O(eps_L) along the ladder; B scaled by 10^[-1, 1], "
                "which separates Sigma_C from its square root.",
        derivation="J J^T = U_A (S_A C S_A) U_A^T, so s_{J,i}^2 = sigma_i(S_A C S_A); Theorem D.1(b) gives "
                   "sigma_i/s_{A,i}^2 -> ell_i = (Sigma_C)_i, hence s_{J,i}/s_{A,i} -> sqrt(ell_i). Remark D.2's "
                   "first line (S^{-1} Sigma S^{-1} -> Sigma_C) is the squared statement.",
        check=_SIGMA63, knob=_SIGMA63_SLIP[1],
        foils=ladder_foils(
            _SIGMA63, _SIGMA63_SLIP[0],
            ("the printed limit Sigma_C (no square root)", "exponent", {"power": 1.0}),
            ("Sigma_C of C := B^T B (the Gram matrix of the columns, as the printed hypothesis (ii) suggests)",
             "transpose", {"gram": "cols"}),
            ("s_{J,i}/s_{A,i} -> sqrt(c_ii) = ||row i of B|| (the diagonal of C instead of the Cholesky pivots)",
             "constant", {"pivots": False}),
        )),
)

_LOWER63 = _property(s6_cases(r_min=2), cmp_lower6, generated="s6_case inputs (r >= 2), mpmath SVD of J", quick=20,
                     full=150)

_LOWER63_SLIP = const_slip(_LOWER63, "the off-diagonal entries of the limit T_C")

claim(
    id="rem-6.3/lower", ref="Remark 6.3 (Section 6), second limit", section=SECTION, kind=Kind.LIMIT,
    statement=STATEMENT_63_HEAD + r"""

$$(S_{A_L}^{r,r})^{-1} R_L^{r,r} S_{A_L}^{r,r} \rightarrow T_C,$$

""" + STATEMENT_63_TAIL,
    reading="max |(S_A^{r,r})^{-1} R^{r,r} S_A^{r,r} - T_C| / (1+max|T_C|) = O(eps_L), R from an mpmath SVD of J, "
            "C := BB^T.",
    hypotheses=THM61_HYP[:3] + ("C^{r,r} PD",), exercises=EXERCISES6, depends_on=("rem-d.2/lower",),
    proof_conditions=PROOF_CONDITIONS_63,
    check=_LOWER63, knob=_LOWER63_SLIP[1],
    foils=ladder_foils(
        _LOWER63, _LOWER63_SLIP[0],
        ("-> T_C^{-1} (the inverse: off-diagonal signs flipped at first order)", "inverse", {"target": "Tinv"}),
        ("T_C of C := B^T B (the Gram matrix of the columns)", "transpose", {"gram": "cols"}),
    ),
)

_UPPER63 = _property(s6_cases(r_min=2), cmp_upper6, generated="s6_case inputs (r >= 2), mpmath SVD of J", quick=20,
                     full=150)

_UPPER63_SLIP = const_slip(_UPPER63, "the off-diagonal entries of the limit (T_C^{-1})^T")

claim(
    id="rem-6.3/upper", ref="Remark 6.3 (Section 6), third limit", section=SECTION, kind=Kind.LIMIT,
    statement=STATEMENT_63_HEAD + r"""

$$S_{A_L}^{r,r} R_L^{r,r} (S_{A_L}^{r,r})^{-1} \rightarrow (T_C^{-1})^\top,$$

""" + STATEMENT_63_TAIL,
    reading="max |S_A^{r,r} R^{r,r} (S_A^{r,r})^{-1} - T_C^{-T}| / (1+max|T_C^{-1}|) = O(eps_L), C := BB^T.",
    hypotheses=THM61_HYP[:3] + ("C^{r,r} PD",), exercises=EXERCISES6, depends_on=("rem-d.2/upper",),
    proof_conditions=PROOF_CONDITIONS_63,
    check=_UPPER63, knob=_UPPER63_SLIP[1],
    foils=ladder_foils(
        _UPPER63, _UPPER63_SLIP[0],
        ("-> T_C^T (transpose without the inverse)", "inverse", {"target": "TT"}),
        ("(T_C^{-1})^T of C := B^T B (the Gram matrix of the columns)", "transpose", {"gram": "cols"}),
    ),
)

_UNRAVEL = _property(s6_cases(r_min=2), cmp_unravel, generated="s6_case inputs (r >= 2), mpmath SVD of J", quick=20,
                     full=150)

_UNRAVEL_SLIP = const_slip(_UNRAVEL, "the proportionality constants (T_C)_{ij}, (T_C^{-1})_{ji}")

claim(
    id="rem-6.3/unraveling", ref="Remark 6.3 (Section 6), last paragraph", section=SECTION, kind=Kind.LIMIT,
    statement=r"""Unraveling the definitions, this means that the off-diagonal coefficient of $R_L^{r,r}$ in position (i, j) decays as $\frac{s_{i,A_L}}{s_{j,A_L}}$ (resp. $\frac{s_{j,A_L}}{s_{i,A_L}}$) if $j < i$ (resp. $i < j$). The proportionality constants are related to T_C .""",
    reading="For j < i: R_ij / (s_i/s_j) -> (T_C)_{ij}; for i < j: R_ij / (s_j/s_i) -> (T_C^{-1})_{ji}; remainders "
            "O(eps_L), and the log-log slope of |R_ij| against the ratio between the last two rungs is 1 +- O(eps_L). "
            "(This sentence uses the ratios <= 1, consistent with Remark D.2 and the corrected Theorem D.1(c).)",
    hypotheses=THM61_HYP[:3] + ("C^{r,r} PD",), exercises=EXERCISES6, depends_on=("rem-6.3/lower", "rem-6.3/upper"),
    check=_UNRAVEL, knob=_UNRAVEL_SLIP[1],
    foils=ladder_foils(
        _UNRAVEL, _UNRAVEL_SLIP[0],
        ("the ratios inverted, as printed in Theorem D.1(c): s_j/s_i if j < i, s_i/s_j if i < j", "ratio",
         {"inverted": True}),
        ("decays as the squared ratio (s_i/s_j)^2 (resp. (s_j/s_i)^2)", "exponent", {"exponent": 2.0}),
    ),
)
