"""Appendix F: the diagonal correlation coefficient rho.

Oracles: exact rational arithmetic (``theory.diagcorr.rho_exact_parts``) wherever a statement is about
rho being *equal* to 1 / -1 / undefined, so that no tolerance decides a truth value; sympy for the
closed form (a polynomial identity in symbolic entries) and for a path attaining every value;
mpmath (50 digits) for the float closed form; ``np.cov`` with weights as an independent Pearson.

Findings (both minor: the paper applies rho only to matrices with mass in every row and column, where
neither matters): rho is undefined for some nonzero matrices (all mass in one row or one column — e.g.
any diagonal matrix with a single nonzero entry); rho = 1 holds exactly when the support lies on a line
of positive slope, which for n >= 3 includes non-diagonal supports such as {(1,1), (3,2)}.

Every check takes its prediction as keyword knobs (printed values as defaults); the foils are the same
check with a wrong knob, on the same inputs.
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath
import numpy as np
import sympy as sp
from hypothesis import strategies as st

from checks import Comparison, Corrected, Foil, Kind, Outcome, Severity, Status, claim
from checks import strategies as S
from checks.property import PropertyCheck
from checks.tolerance import tol
from theory import diagcorr as dc

SECTION = "Appendix F"

INTRO = r"""The *diagonal correlation coefficient*, denoted ρ , is a measure of how "diagonal" a square matrix is. It ranges from -1 to 1 , attains 1 (resp. -1) precisely for diagonally-supported (resp. antidiagonally-supported) matrices."""

DEFINITION = r"""Let A be a nonzero $n \times n$ matrix with real entries; the computation of $\rho(A)$ is as follows. Up to taking absolute value we may assume that its coefficients are non-negative. We may now interpret A_{ij} as the weight (or frequency) associated with the joint occurrence of indices (i, j) in a random sampling of an $n \times n$ checkerboard. Define the coordinate random variables (X, Y) with respect to this distribution:

$$\mathbb{P}(X = i, Y = j) = \frac{A_{ij}}{\sum_{k,\ell} A_{k\ell}}.$$

Then $\rho(A)$ is defined as the Pearson correlation coefficient between variables X and Y :

$$\rho(A) = \frac{\text{Cov}(X, Y)}{\sigma_X \sigma_Y}.$$"""

CLOSED = r"""To express it purely in terms of the matrix A , we introduce

$$\mathbf{1} = (1, 1, \dots, 1)^\top, \quad \mathbf{r}_1 = (1, 2, \dots, n)^\top, \quad \mathbf{r}_2 = (1^2, 2^2, \dots, n^2)^\top.$$

Let $m = \mathbf{1}^\top A \mathbf{1}$ denote the total mass of A . With a little work, one can show that

$$\rho(A) = \frac{m(\mathbf{r}_1^\top A \mathbf{r}_1) - (\mathbf{r}_1^\top A \mathbf{1})(\mathbf{1}^\top A \mathbf{r}_1)}{\sqrt{(m(\mathbf{r}_2^\top A \mathbf{1}) - (\mathbf{r}_1^\top A \mathbf{1})^2)(m(\mathbf{1}^\top A \mathbf{r}_2) - (\mathbf{1}^\top A \mathbf{r}_1)^2)}}.$$"""


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------

MODES = ("dense", "sparse", "line", "dynamic", "diagonal", "antidiagonal", "one-row")


def _line_support(n: int, rng: np.random.Generator) -> np.ndarray:
    """Cells of the n x n grid on the line through two random distinct cells (a random subset, >= 2
    cells when possible)."""
    cells = [(i, j) for i in range(n) for j in range(n)]
    a, b = rng.choice(len(cells), size=2, replace=False)
    (i0, j0), (i1, j1) = cells[a], cells[b]
    g = math.gcd(abs(i1 - i0), abs(j1 - j0))
    di, dj = (i1 - i0) // g, (j1 - j0) // g
    pts = [(i0 + k * di, j0 + k * dj) for k in range(-2 * n, 2 * n + 1)
           if 0 <= i0 + k * di < n and 0 <= j0 + k * dj < n]
    keep = [p for p in pts if rng.random() < 0.7] or pts
    if len(keep) < 2:
        keep = pts
    mask = np.zeros((n, n), dtype=bool)
    for i, j in keep:
        mask[i, j] = True
    return mask


@st.composite
def weight_matrices(draw, n=(1, 7), *, integer: bool = False, signed: bool = False, exp_range=(-100, 100)):
    """Nonzero n x n weight matrices whose *support* is chosen to stress rho: dense, sparse, on a random
    line (rho = ±1 when collinear), entries spanning 12 decades ('dynamic'), diagonal / antidiagonal
    subsets, a single row (rho undefined). Integer weights (1..10^6) for exact checks; otherwise floats
    times an overall scale 10^E, E in ``exp_range``; ``signed`` flips random signs."""
    k = draw(st.integers(*n) if isinstance(n, tuple) else st.just(n))
    mode = draw(st.sampled_from(MODES))
    rng = np.random.default_rng(draw(S.seeds()))
    if mode == "dense":
        mask = np.ones((k, k), dtype=bool)
    elif mode == "sparse":
        mask = rng.random((k, k)) < draw(st.floats(0.05, 0.5))
    elif mode == "line":
        mask = _line_support(k, rng) if k > 1 else np.ones((1, 1), dtype=bool)
    elif mode == "diagonal":
        mask = np.diag(rng.random(k) < 0.7)
    elif mode == "antidiagonal":
        mask = np.fliplr(np.diag(rng.random(k) < 0.7))
    elif mode == "one-row":
        mask = np.zeros((k, k), dtype=bool)
        mask[rng.integers(k)] = rng.random(k) < 0.7
    else:  # dynamic
        mask = np.ones((k, k), dtype=bool)
    if not mask.any():
        mask[rng.integers(k), rng.integers(k)] = True
    if integer:
        vals = rng.integers(1, 10**6 + 1, (k, k)) if draw(st.booleans()) else np.ones((k, k), dtype=np.int64)
        a = np.where(mask, vals, 0).astype(np.int64)
        return a
    if mode == "dynamic":
        vals = 10.0 ** rng.uniform(-12, 0, (k, k))
    else:
        vals = rng.random((k, k)) + 1e-3
    a = np.where(mask, vals, 0.0) * 10.0 ** draw(st.integers(*exp_range))
    if signed:
        a = a * np.where(rng.random((k, k)) < 0.5, -1.0, 1.0)
    return a


def _mp_rho(a: np.ndarray, dps: int = 50):
    """rho from the definition (centred moments) in mpmath: (rho, sigma_X, sigma_Y) or None if undefined."""
    w = np.abs(a)
    n = w.shape[0]
    with mpmath.workdps(dps):
        W = [[mpmath.mpf(float(x)) for x in r] for r in w]
        m = mpmath.fsum(mpmath.fsum(r) for r in W)
        P = [[x / m for x in r] for r in W]
        px = [mpmath.fsum(r) for r in P]
        py = [mpmath.fsum(P[i][j] for i in range(n)) for j in range(n)]
        ex = mpmath.fsum((i + 1) * px[i] for i in range(n))
        ey = mpmath.fsum((j + 1) * py[j] for j in range(n))
        vx = mpmath.fsum((i + 1 - ex) ** 2 * px[i] for i in range(n))
        vy = mpmath.fsum((j + 1 - ey) ** 2 * py[j] for j in range(n))
        cov = mpmath.fsum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(n) for j in range(n))
        if vx == 0 or vy == 0:
            return None
        return float(cov / mpmath.sqrt(vx * vy)), float(mpmath.sqrt(vx)), float(mpmath.sqrt(vy))


def _status_exact(a) -> str:
    """'undefined', '+1', '-1' or 'interior', decided in exact rational arithmetic."""
    c, vx, vy = dc.rho_exact_parts(np.asarray(a).tolist())
    if vx == 0 or vy == 0:
        return "undefined"
    if c * c == vx * vy:
        return "+1" if c > 0 else "-1"
    return "interior"


def _support(a) -> list[tuple[int, int]]:
    a = np.asarray(a)
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(a))]


def _line_sign(a) -> str:
    """Corrected prediction from the support alone: 'undefined' (support in < 2 rows or < 2 columns),
    '+1' / '-1' (support on one line of positive / negative slope), else 'interior'."""
    sup = _support(a)
    if len({i for i, _ in sup}) < 2 or len({j for _, j in sup}) < 2:
        return "undefined"
    (i0, j0) = sup[0]
    (i1, j1) = next(p for p in sup if p != sup[0])
    if any((i1 - i0) * (j - j0) - (j1 - j0) * (i - i0) != 0 for i, j in sup):
        return "interior"
    return "+1" if (i1 - i0) * (j1 - j0) > 0 else "-1"


def _all_supports(n: int):
    for bits in range(1, 2 ** (n * n)):
        yield np.array([(bits >> k) & 1 for k in range(n * n)], dtype=np.int64).reshape(n, n)


# ---------------------------------------------------------------------------------------------
# definition: absolute values, well-posedness
# ---------------------------------------------------------------------------------------------


def _abs_cmp(A) -> Comparison:
    n = A.shape[0]
    w = np.abs(A)
    P = w / w.sum()
    prob_err = max(abs(P.sum() - 1.0), float(max(0.0, -P.min())))
    if not dc.is_defined(A):
        return Comparison(prob_err, tol(n * n), {"n": n, "rho": "undefined"})
    # independent Pearson: np.cov with frequency weights on the grid coordinates
    ii, jj = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    C = np.cov(np.vstack([ii.ravel(), jj.ravel()]).astype(float), aweights=P.ravel(), bias=True)
    ref = C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])
    sx, sy = np.sqrt(C[0, 0]), np.sqrt(C[1, 1])
    err = max(abs(dc.rho(A) - ref), abs(dc.rho(A) - dc.rho(w)), prob_err)
    return Comparison(err, tol(n * n, scale=n * n / (sx * sy), kernels=4),
                      {"n": n, "rho": dc.rho(A), "np.cov_reference": float(ref)})


_pc_abs = PropertyCheck(st.fixed_dictionaries({"A": weight_matrices(signed=True, exp_range=(-100, 100))}),
                        _abs_cmp,
                        generated="signed real matrices n = 1..7 with supports dense/sparse/on a line/diagonal/"
                                  "antidiagonal/one row, entries over 12 decades, overall scale 10^-100..10^100, random "
                                  "signs; reference: np.cov with weights |A_ij| / sum |A| on the grid coordinates")

claim(
    id="app-f/absolute-value",
    ref="Appendix F (definition of ρ, absolute values and the sampling distribution)",
    section=SECTION,
    statement=DEFINITION,
    reading="'Up to taking absolute value' read as: for a real matrix A, rho(A) := rho(|A|) with |A| entrywise, and "
            "P(X=i, Y=j) = |A_ij| / sum |A_kl| is a probability distribution for nonzero A. Checked: P is "
            "nonnegative and sums to 1; rho of the signed matrix equals rho of |A| and equals an independent weighted "
            "Pearson correlation (np.cov with weights). (Other readings, e.g. weights A_ij^2, would give different "
            "numbers; nothing in the text suggests them.)",
    hypotheses=("A nonzero, real",),
    exercises="random signs, sparse supports, 12-decade dynamic range, overall scales 1e-100..1e100.",
    kind=Kind.DEFINITION,
    check=_pc_abs,
)


def _check_well_defined(ctx) -> Outcome:
    A = np.array([[1, 0], [0, 0]])
    c, vx, vy = dc.rho_exact_parts(A.tolist())
    undefined = vx == 0 and vy == 0
    # independent confirmation: the distribution is a point mass at (1,1); sigma_X = sigma_Y = 0
    mp = _mp_rho(A.astype(float))
    refuted = undefined and mp is None and np.isnan(dc.rho(A)) and np.isnan(dc.rho_closed_form(A))
    return Outcome(Status.REFUTED if refuted else Status.VERIFIED,
                   "A = diag(1, 0) is nonzero but (X, Y) = (1, 1) almost surely: σ_X = σ_Y = Cov = 0, so ρ(A) = 0/0 "
                   "is undefined (also every 1x1 matrix, and any A with all mass in one row or one column)",
                   evidence={"exact_m2Cov_m2VarX_m2VarY": [str(c), str(vx), str(vy)], "mpmath_defined": mp is not None},
                   method="Exact rational moments; mpmath (50 digits) from the definition.",
                   counterexample={"A": A.tolist()})


def _wd_replay(ce) -> Comparison:
    """Printed: nonzero A has a defined rho. err = 1 when the exact variances vanish."""
    _, vx, vy = dc.rho_exact_parts(ce["A"])
    return Comparison(float(not (vx > 0 and vy > 0)), 0.5, {"m2VarX": str(vx), "m2VarY": str(vy)})


def _two_rows_and_cols(A) -> bool:
    """Corrected: the support meets at least two rows and at least two columns."""
    A = np.abs(np.asarray(A))
    return bool(np.count_nonzero(A.sum(axis=1)) >= 2 and np.count_nonzero(A.sum(axis=0)) >= 2)


def _wd_cmp(A, *, defined_iff=_two_rows_and_cols) -> Comparison:
    """Exact: rho(A) is defined (both variances > 0) iff ``defined_iff(A)``."""
    c, vx, vy = dc.rho_exact_parts(np.asarray(A).tolist())
    defined = vx > 0 and vy > 0
    rows = np.count_nonzero(np.abs(A).sum(axis=1))
    cols = np.count_nonzero(np.abs(A).sum(axis=0))
    return Comparison(float(defined != defined_iff(A)), 0.5, {"n": len(A), "defined": defined, "rows_hit": int(rows),
                                                              "cols_hit": int(cols)})


def _check_wd_corrected(ctx, **knobs) -> Outcome:
    bad = []
    total = 0
    for n in (1, 2, 3):
        for a in _all_supports(n):
            total += 1
            if not _wd_cmp(a, **knobs).ok:
                bad.append(a.tolist())
    if bad:
        return Outcome(Status.REFUTED, f"{len(bad)} of {total} supports (n <= 3, exhaustive) disagree, e.g. {bad[0]}",
                       counterexample={"inputs": {"A": bad[0]}})
    out = (_pc_wd.foil(functools.partial(_wd_cmp, **knobs)) if knobs else _pc_wd)(ctx)
    if not out.status.passing:
        return out
    out.summary = f"all {total} supports for n <= 3 (exhaustive) and {out.summary}"
    out.evidence["exhaustive_supports"] = total
    return out


_pc_wd = PropertyCheck(st.fixed_dictionaries({"A": weight_matrices(integer=True)}), _wd_cmp,
                  classify=lambda d: f"defined={d['defined']}",
                  generated="integer matrices n = 1..7, weights 1 or 1..10^6, supports dense/sparse/line/"
                            "diagonal/antidiagonal/one row; exact rational variances")

claim(
    id="app-f/well-defined",
    ref="Appendix F (ρ(A) for every nonzero A)",
    section=SECTION,
    statement=DEFINITION,
    reading="'Let A be a nonzero n x n matrix with real entries; the computation of ρ(A) is as follows': for every "
            "nonzero real n x n matrix A, rho(A) = Cov(X,Y)/(σ_X σ_Y) is a well-defined real number (σ_X σ_Y > 0). "
            "Nothing in the appendix restricts A further.",
    hypotheses=("A nonzero",),
    exercises="the minimal diagonal example diag(1, 0).",
    kind=Kind.DEFINITION,
    check=_check_well_defined,
    replay=lambda ce: _wd_replay(ce),
    severity=Severity.MINOR,
    severity_note="'nonzero' is too weak a hypothesis for the definition (rho is 0/0 when the support lies in one row "
                  "or one column), but every matrix the paper applies rho to carries mass in at least two rows and two "
                  "columns — |U_J^T U_A| (orthogonal factors: every row and column) and the PSD products "
                  "U_J^T A_l A_l^T U_J of Figures 10-12 (rank >= 2) — so no reported value is affected.",
    corrected=Corrected(
        statement=r"Let A be an $n \times n$ real matrix whose support meets at least two rows and at least two columns. Then $\sigma_X, \sigma_Y > 0$ and $\rho(A) = \mathrm{Cov}(X,Y)/(\sigma_X \sigma_Y)$ is well defined; otherwise $X$ or $Y$ is constant and $\rho(A)$ is undefined.",
        reading="Exact equivalence: variances > 0 iff the support meets >= 2 rows and >= 2 columns.",
        derivation="Var X = 0 iff X is a.s. constant iff all mass lies in one row; likewise for Y and columns.",
        check=_check_wd_corrected,
        replay=lambda ce: _wd_cmp(np.asarray(ce["inputs"]["A"])),
        foils=(
            Foil("rho(A) is defined iff A has at least two nonzero entries",
                 functools.partial(_check_wd_corrected, defined_iff=lambda A: np.count_nonzero(A) >= 2),
                 kind="hypothesis"),
            Foil("rho(A) is defined iff the support meets at least two rows or at least two columns",
                 functools.partial(_check_wd_corrected, defined_iff=lambda A: bool(
                     np.count_nonzero(np.abs(A).sum(axis=1)) >= 2 or np.count_nonzero(np.abs(A).sum(axis=0)) >= 2)),
                 kind="hypothesis"),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# range and extremes
# ---------------------------------------------------------------------------------------------


def _moments_generic(A):
    """(m^2 Cov, m^2 Var X, m^2 Var Y) with plain arithmetic (sympy-friendly), from the definition."""
    n = len(A)
    m = sum(A[i][j] for i in range(n) for j in range(n))
    sx = sum((i + 1) * A[i][j] for i in range(n) for j in range(n))
    sy = sum((j + 1) * A[i][j] for i in range(n) for j in range(n))
    sxx = sum((i + 1) ** 2 * A[i][j] for i in range(n) for j in range(n))
    syy = sum((j + 1) ** 2 * A[i][j] for i in range(n) for j in range(n))
    sxy = sum((i + 1) * (j + 1) * A[i][j] for i in range(n) for j in range(n))
    return m * sxy - sx * sy, m * sxx - sx**2, m * syy - sy**2


def _in_range_exact(c, vx, vy, lo: int, strict: bool) -> bool:
    """Exactly, for rho = c / sqrt(vx vy) (vx, vy > 0): lo <= rho <= 1 (lo in {-1, 0}); with ``strict``, the
    endpoints excluded."""
    below_one = c <= 0 or (c * c < vx * vy if strict else c * c <= vx * vy)
    if lo == 0:
        above_lo = c > 0 if strict else c >= 0
    else:
        above_lo = c >= 0 or (c * c < vx * vy if strict else c * c <= vx * vy)
    return bool(below_one and above_lo)


def _range_float_cmp(A, *, lo=-1, strict=False) -> Comparison:
    n = A.shape[0]
    r = dc.rho(A)
    if np.isnan(r):
        return Comparison(0.0, 1.0, {"n": n, "rho": "undefined"})
    t = tol(n * n, kernels=4)
    # err: how far rho lies outside [lo, 1] (strict: at an endpoint counts as outside by the tolerance)
    err = max(0.0, abs(r) - 1.0) if lo == -1 else max(0.0, r - 1.0, lo - r)
    if strict and (abs(r) >= 1.0 - t or (lo == 0 and r <= t)):
        err = max(err, 2 * t)
    return Comparison(err, t, {"n": n, "rho": r})


def _range_exact_cmp(A, *, lo=-1, strict=False) -> Comparison:
    c, vx, vy = dc.rho_exact_parts(np.asarray(A).tolist())
    if vx == 0 or vy == 0:
        return Comparison(0.0, 0.5, {"n": len(A), "rho^2": "undefined"})
    out = not _in_range_exact(c, vx, vy, lo, strict)
    return Comparison(float(out), 0.5, {"n": len(A), "rho^2": float(c * c / (vx * vy)), "sign": int(np.sign(c))})


_pc_range_float = PropertyCheck(st.fixed_dictionaries({"A": weight_matrices(signed=True, exp_range=(-150, 150))}),
                                _range_float_cmp,
                                generated="signed real matrices n = 1..7, supports dense/sparse/line/diagonal/"
                                          "antidiagonal/one row, 12-decade dynamic range, scale 10^-150..10^150")
_pc_range_exact = PropertyCheck(st.fixed_dictionaries({"A": weight_matrices(integer=True)}), _range_exact_cmp,
                                generated="integer matrices n = 1..7 (same supports), exact (m^2 Cov)^2 <= m^4 VarX VarY")


def _check_range(ctx, *, lo=-1, strict=False) -> Outcome:
    """Printed: rho ranges over the closed interval [-1, 1]. Knobs: ``lo`` (0: 'from 0 to 1'), ``strict``
    (the endpoints not attained)."""
    knobs = {"lo": lo, "strict": strict}
    exact = _pc_range_exact.foil(functools.partial(_range_exact_cmp, **knobs))(ctx)
    if exact.status != Status.VERIFIED:
        return exact
    flt = _pc_range_float.foil(functools.partial(_range_float_cmp, **knobs))(ctx)
    if flt.status != Status.VERIFIED:
        return flt
    s = sp.Symbol("s", positive=True)
    c, vx, vy = _moments_generic([[1 - s, s], [s, 1 - s]])
    path = sp.simplify(c / sp.sqrt(vx * vy) - (1 - 2 * s))
    path_ok = path == 0 and sp.simplify(vx - 1) == 0 and sp.simplify(vy - 1) == 0
    # the path attains every value of [-1, 1], the endpoints at s = 0 (rho(I) = 1) and s = 1 (antidiagonal,
    # rho = -1): the predicted range must contain both (exact moments there)
    ends = [_moments_generic([[1 - e, e], [e, 1 - e]]) for e in (0, 1)]
    # the two end matrices are the path's ends, rho = 1 - 2s = +1 and -1 exactly ((m^2 Cov)^2 = m^4 VarX VarY)
    ends_rho = [int(np.sign(c0)) if c0 * c0 == v0 * w0 else float(c0 / math.sqrt(v0 * w0)) for c0, v0, w0 in ends]
    path_ok = path_ok and ends_rho == [1, -1]
    attained_ok = all(_in_range_exact(c0, v0, w0, lo, strict) for c0, v0, w0 in ends)
    ok = path_ok and attained_ok
    return Outcome(Status.VERIFIED if ok else Status.REFUTED,
                   f"|ρ| <= 1 wherever defined (exact: {exact.summary}; float: {flt.summary}); ρ([[1-s, s],[s, 1-s]]) "
                   f"= 1 - 2s (sympy) attains every value in [-1, 1]"
                   + ("" if attained_ok else f", outside the predicted range ({'(' if strict else '['}{lo}, 1"
                                             f"{')' if strict else ']'})"),
                   evidence={"exact": exact.evidence, "float": flt.evidence,
                             "path": {"matrix": "[[1-s, s], [s, 1-s]], s in [0, 1]", "rho": "1 - 2 s",
                                      "sympy_difference": str(path), "var_x": str(vx), "var_y": str(vy),
                                      "rho_exact_at_s=0,1": ends_rho}},
                   method=exact.method + " " + flt.method + " sympy for the path.",
                   counterexample=None if ok else {"path": "[[1-s, s], [s, 1-s]]", "rho": "1 - 2 s"})


claim(
    id="app-f/range",
    ref="Appendix F (range of ρ)",
    section=SECTION,
    statement=INTRO,
    reading="'It ranges from -1 to 1': for every A for which rho(A) is defined, -1 <= rho(A) <= 1, and every value of "
            "[-1, 1] is attained, the endpoints included (the same sentence: 'attains 1 (resp. -1)'). Matrices with "
            "undefined rho (app-f/well-defined) are outside the statement.",
    hypotheses=("A nonzero, rho(A) defined",),
    exercises="exact integer matrices with supports on lines (the boundary |rho| = 1), sparse, one-row (undefined, "
              "skipped), dynamic range; float matrices at scales 1e-150..1e150.",
    depends_on=("app-f/absolute-value",),
    kind=Kind.INEQUALITY,
    check=_check_range,
    foils=(
        Foil("ρ ranges from 0 to 1 (nonnegative weights, hence nonnegative correlation)",
             functools.partial(_check_range, lo=0), kind="sign"),
        Foil("-1 < ρ < 1 (the bounds are not attained)", functools.partial(_check_range, strict=True),
             kind="hypothesis", nearest=True, size=1, unit="endpoint"),
    ),
)


EXTREME_CE = {"A": [[1, 0, 0], [0, 0, 0], [0, 1, 0]]}  # support {(1,1), (3,2)}: Y = (X + 1) / 2


def _extreme_printed_prediction(a) -> str:
    sup = _support(a)
    if all(i == j for i, j in sup):
        return "+1"
    n = len(a)
    if all(i + j == n - 1 for i, j in sup):
        return "-1"
    return "not ±1"


def _extreme_cmp(A) -> Comparison:
    """Printed: rho = 1 iff diagonally supported, rho = -1 iff antidiagonally supported."""
    got = _status_exact(A)
    pred = _extreme_printed_prediction(A)
    agree = got == pred if pred != "not ±1" else got in ("interior", "undefined")
    return Comparison(float(not agree), 0.5, {"rho_exact": got, "printed_prediction": pred,
                                              "support_1_based": [(i + 1, j + 1) for i, j in _support(A)]})


def _check_extremes(ctx) -> Outcome:
    rows = []
    examples = {}
    for n in (2, 3):
        counts = {"diag_but_undefined": 0, "rho=1_not_diag": 0, "anti_but_undefined": 0, "rho=-1_not_anti": 0,
                  "supports": 0}
        for a in _all_supports(n):
            counts["supports"] += 1
            got, pred = _status_exact(a), _extreme_printed_prediction(a)
            key = None
            if pred == "+1" and got != "+1":
                key = "diag_but_undefined" if got == "undefined" else "diag_other"
            elif pred == "-1" and got != "-1":
                key = "anti_but_undefined" if got == "undefined" else "anti_other"
            elif got == "+1" and pred != "+1":
                key = "rho=1_not_diag"
            elif got == "-1" and pred != "-1":
                key = "rho=-1_not_anti"
            if key:
                counts[key] = counts.get(key, 0) + 1
                examples.setdefault(key, a.tolist())
        rows.append({"n": n, **counts})
    cmp = _extreme_cmp(np.array(EXTREME_CE["A"]))
    # independent confirmation of the stored counterexample's rho = +1 or -1 (the exact status) by mpmath's
    # Pearson from the definition at 50 digits, rounded to float64 (within an ulp of +-1)
    mp = _mp_rho(np.array(EXTREME_CE["A"], dtype=float))
    sign = {"+1": 1.0, "-1": -1.0}.get(cmp.detail["rho_exact"])
    refuted = not cmp.ok and mp is not None and sign is not None and abs(mp[0] - sign) < 1e-40 + 1e-15
    return Outcome(Status.REFUTED if refuted else Status.VERIFIED,
                   "A with A_11 = A_32 = 1 (n = 3) has ρ = 1 exactly (Y = (X+1)/2) but is not diagonally supported; "
                   "diag(1, 0) is diagonally supported but ρ is undefined",
                   evidence={"exhaustive_0/1_supports": rows, "first_example_per_kind": examples,
                             "stored_counterexample": cmp.detail, "mpmath_rho": mp[0] if mp else None,
                             "n=2": "for n = 2 the only failures are single-entry (undefined) supports"},
                   method="Exhaustive enumeration of all 0/1 supports for n = 2, 3 (weights do not matter for rho = "
                          "±1: Pearson = ±1 iff the support is collinear), rho decided exactly ((m^2 Cov)^2 = "
                          "m^4 VarX VarY); the stored case confirmed with mpmath at 50 digits.",
                   counterexample={"inputs": {"A": np.array(EXTREME_CE["A"])},
                                   "also": {"A": [[1, 0], [0, 0]], "why": "diagonally supported, rho undefined"}})


def _diagonal_sign(a) -> str:
    """Foil: the printed prediction made well defined — undefined as in the corrected form, else '+1' /
    '-1' exactly for (anti)diagonal supports."""
    if _line_sign(a) == "undefined":
        return "undefined"
    p = _extreme_printed_prediction(a)
    return p if p != "not ±1" else "interior"


def _unit_slope_sign(a) -> str:
    """Foil: '±1' only for supports on a line of slope exactly ±1 (parallels of the (anti)diagonal)."""
    got = _line_sign(a)
    if got not in ("+1", "-1"):
        return got
    sup = _support(a)
    (i0, j0), (i1, j1) = sup[0], next(p for p in sup if p != sup[0])
    return got if abs(i1 - i0) == abs(j1 - j0) else "interior"


def _extreme_corrected_cmp(A, *, predict=_line_sign) -> Comparison:
    """Exact: the status of rho(A) (undefined / +1 / -1 / interior) equals ``predict(A)`` (corrected: from the
    support's collinearity and slope sign)."""
    got = _status_exact(A)
    pred = predict(A)
    return Comparison(float(got != pred), 0.5, {"n": len(A), "rho_exact": got, "predicted": pred,
                                                "support_1_based": [(i + 1, j + 1) for i, j in _support(A)]})


_pc_extreme_corrected = PropertyCheck(st.fixed_dictionaries({"A": weight_matrices(integer=True)}),
                                 _extreme_corrected_cmp, classify=lambda d: f"rho={d['rho_exact']}",
                                 generated="integer matrices n = 1..7, weights 1 or 1..10^6, supports biased to "
                                           "random lines (hits ρ = ±1), diagonal/antidiagonal subsets, sparse, "
                                           "one row (undefined), dense; ρ decided exactly")


def _exhaustive_statuses(n: int):
    """All nonzero 0/1 supports of size n, with rho decided exactly in int64 (vectorised: for 0/1
    weights the moments are small integers, so (m^2 Cov)^2 = m^4 VarX VarY is an exact comparison)."""
    bits = np.arange(1, 2 ** (n * n), dtype=np.int64)
    masks = ((bits[:, None] >> np.arange(n * n)) & 1).astype(np.int64)
    i = np.repeat(np.arange(1, n + 1), n)
    j = np.tile(np.arange(1, n + 1), n)
    m, sx, sy = masks.sum(1), masks @ i, masks @ j
    sxx, syy, sxy = masks @ (i * i), masks @ (j * j), masks @ (i * j)
    c, vx, vy = m * sxy - sx * sy, m * sxx - sx**2, m * syy - sy**2
    status = np.where((vx == 0) | (vy == 0), "undefined",
                      np.where(c * c == vx * vy, np.where(c > 0, "+1", "-1"), "interior"))
    return masks.reshape(-1, n, n), status


def _check_extremes_corrected(ctx, *, predict=_line_sign) -> Outcome:
    total, bad = 0, None
    for n in ctx.pick(quick=(1, 2, 3), full=(1, 2, 3, 4)):
        masks, status = _exhaustive_statuses(n)
        for a, got in zip(masks, status):
            total += 1
            if bad is None and got != predict(a):
                bad = (a, got)
    if bad is not None:
        return Outcome(Status.REFUTED, f"exhaustive supports: support {[(i + 1, j + 1) for i, j in _support(bad[0])]} "
                                       f"gives rho status {bad[1]}, predicted {predict(bad[0])}",
                       counterexample={"inputs": {"A": bad[0]}})
    # the vectorised exact statuses agree with the Fraction-based ones (spot check on n = 3)
    masks, status = _exhaustive_statuses(3)
    assert all(_status_exact(a) == s for a, s in zip(masks[::7], status[::7]))
    out = (_pc_extreme_corrected if predict is _line_sign else
           _pc_extreme_corrected.foil(functools.partial(_extreme_corrected_cmp, predict=predict)))(ctx)
    if not out.status.passing:
        return out
    out.summary = f"all {total} 0/1 supports (n <= {ctx.pick(quick=3, full=4)}, exhaustive) and {out.summary}"
    out.evidence["exhaustive_supports"] = total
    return out


claim(
    id="app-f/extremes",
    ref="Appendix F (when ρ = ±1)",
    section=SECTION,
    statement=INTRO,
    reading="'attains 1 (resp. -1) precisely for diagonally-supported (resp. antidiagonally-supported) matrices': "
            "rho(A) = 1 iff A is diagonally supported (supp A ⊆ {(i,i)}), and rho(A) = -1 iff A is antidiagonally "
            "supported (supp A ⊆ {(i, n+1-i)}), for nonzero A (absolute values taken, as the definition says). Both "
            "directions checked; 'precisely' is the word that asserts the 'only if'.",
    hypotheses=("A nonzero",),
    exercises="every 0/1 support for n = 2, 3 (exact).",
    depends_on=("app-f/well-defined", "app-f/range"),
    kind=Kind.IDENTITY,
    check=_check_extremes,
    replay=lambda ce: _extreme_cmp(np.asarray(ce["inputs"]["A"])),
    severity=Severity.MINOR,
    severity_note="An expository sentence overstates 'precisely': rho = ±1 on any support on a line of nonzero slope "
                  "(and diag(1, 0) has no rho). For the matrices the paper measures, |U_J^T U_A| with orthogonal U's "
                  "(every row and every column carries mass), a line meeting all n rows and all n columns in grid "
                  "cells is the diagonal or the antidiagonal, so the reading of Figures 5-6 ('high correlation "
                  "indicates ... concentrated around the diagonal') is unaffected.",
    corrected=Corrected(
        statement=r"Let A be nonzero with support meeting at least two rows and two columns (so that $\rho(A)$ is defined). Then $\rho(A) = 1$ (resp. $-1$) if and only if the support of A lies on a single line $\{(i, j) : j = \alpha + \beta i\}$ with $\beta > 0$ (resp. $\beta < 0$). In particular diagonally (resp. antidiagonally) supported matrices with at least two nonzero entries have $\rho = 1$ (resp. $-1$), and for $n = 2$ these are the only ones; for $n \geq 3$ there are others, e.g. support $\{(1,1), (3,2)\}$.",
        reading="Exact decision of rho = ±1 against collinearity of the support (positive / negative slope), for all "
                "weights.",
        derivation="Pearson's coefficient is ±1 iff Y = α + βX almost surely with sign(β) = ±1, i.e. iff every cell "
                   "of positive mass lies on such a line; the diagonal is one such line but not the only one once "
                   "n >= 3. A single nonzero entry makes X, Y constant, so the diagonal case needs >= 2 entries.",
        check=_check_extremes_corrected,
        replay=_pc_extreme_corrected.replay,
        foils=(
            Foil("the printed 'precisely for diagonally (antidiagonally) supported matrices', with rho defined",
                 functools.partial(_check_extremes_corrected, predict=_diagonal_sign), kind="hypothesis"),
            Foil("rho = ±1 iff the support lies on a line of slope ±1 (a parallel of the diagonal or antidiagonal)",
                 functools.partial(_check_extremes_corrected, predict=_unit_slope_sign), kind="constant",
                 nearest=True, size=1, unit="candidate"),
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# closed form
# ---------------------------------------------------------------------------------------------


def _printed_parts(q, m):
    """The printed closed form's numerator and the two factors under the root, as functions of the bilinear
    form q(x, y) = x^T A y (x, y among '1', 'r1', 'r2') and the mass m = 1^T A 1 (numpy or sympy)."""
    num = m * q("r1", "r1") - q("r1", "1") * q("1", "r1")
    denx = m * q("r2", "1") - q("r1", "1") ** 2
    deny = m * q("1", "r2") - q("1", "r1") ** 2
    return num, denx, deny


def _parts_rows_twice(q, m):
    """Foil: the second factor copied from the first (row moments twice)."""
    num, denx, _ = _printed_parts(q, m)
    return num, denx, denx


def _parts_no_mass(q, m):
    """Foil: the numerator without the factor m in front of r_1^T A r_1."""
    num, denx, deny = _printed_parts(q, m)
    return num - (m - 1) * q("r1", "r1"), denx, deny


def _definition_moments(n: int):
    """m^2 Cov(X, Y), m^2 Var X, m^2 Var Y from the definition (explicit probabilities, centred moments), as
    polynomials in symbolic positive entries; with the symbols."""
    a = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"a{i + 1}{j + 1}", positive=True))
    m = sum(a)
    P = [[a[i, j] / m for j in range(n)] for i in range(n)]
    ex = sum((i + 1) * P[i][j] for i in range(n) for j in range(n))
    ey = sum((j + 1) * P[i][j] for i in range(n) for j in range(n))
    cov = sum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(n) for j in range(n))
    vx = sum((i + 1 - ex) ** 2 * P[i][j] for i in range(n) for j in range(n))
    vy = sum((j + 1 - ey) ** 2 * P[i][j] for i in range(n) for j in range(n))
    return a, [sp.cancel(m**2 * e) for e in (cov, vx, vy)]


def _closed_form_symbolic(n: int, parts=_printed_parts, definition=None):
    """Differences (definition - closed form) for numerator and both factors; ``definition`` is a precomputed
    :func:`_definition_moments` (shared by a form and its foils)."""
    a, moments = definition or _definition_moments(n)
    vec = {"1": sp.ones(n, 1), "r1": sp.Matrix([k + 1 for k in range(n)]),
           "r2": sp.Matrix([(k + 1) ** 2 for k in range(n)])}
    q = lambda x, y: (vec[x].T * a * vec[y])[0]  # noqa: E731
    return [sp.expand(d - e) for d, e in zip(moments, parts(q, q("1", "1")))]


def _closed_form_eval(A, parts) -> float:
    """The closed form with ``parts`` in float64, on A / max|A| (homogeneous of degree 0); nan if undefined."""
    if not dc.is_defined(A):
        return float("nan")
    w = np.abs(np.asarray(A, dtype=np.float64))
    w = w / w.max()
    n = w.shape[0]
    vec = {"1": np.ones(n), "r1": np.arange(1, n + 1, dtype=np.float64)}
    vec["r2"] = vec["r1"] ** 2
    q = lambda x, y: vec[x] @ w @ vec[y]  # noqa: E731
    num, denx, deny = parts(q, q("1", "1"))
    den = denx * deny
    return float(num / np.sqrt(den)) if den > 0 else float("nan")


def _closed_cmp(A, parts=None) -> Comparison:
    """The closed form (printed: theory.diagcorr.rho_closed_form; a foil: ``parts``) vs the definition in mpmath."""
    n = A.shape[0]
    ref = _mp_rho(A)
    got = dc.rho_closed_form(A) if parts is None else _closed_form_eval(A, parts)
    if ref is None:
        return Comparison(0.0 if np.isnan(got) else 1.0, 0.5, {"n": n, "rho": "undefined", "closed_form": got})
    r, sx, sy = ref
    # cancellation in the raw moments: relative error ~ n^2 eps * n^2 / (sigma_X sigma_Y), and the same
    # through each variance (n^2 / sigma^2); see theory.diagcorr.
    scale = n * n * (1.0 / (sx * sy) + 1.0 / sx**2 + 1.0 / sy**2)
    return Comparison(abs(got - r), tol(n * n, scale=scale, kernels=4),
                      {"n": n, "rho_mpmath": r, "closed_form": got, "sigma_X": sx, "sigma_Y": sy})


_pc_closed = PropertyCheck(st.fixed_dictionaries({"A": weight_matrices(exp_range=(-100, 100))}), _closed_cmp,
                           generated="nonnegative matrices n = 1..7, supports dense/sparse/on a line/diagonal/"
                                     "antidiagonal/one row (undefined: both sides must say so), entries over 12 "
                                     "decades, scale 10^-100..10^100; reference: the definition in mpmath (50 digits)")


def _check_closed(ctx, parts=None) -> Outcome:
    """``parts``: the closed form's numerator and factors (None: the printed ones, evaluated in floats by
    theory.diagcorr.rho_closed_form)."""
    cases = []
    sizes = ctx.pick(quick=(2, 3), full=(2, 3, 4))
    for n in sizes:
        # the definition's moments (the costly cancellation) are shared with the foils
        diffs = _closed_form_symbolic(n, parts or _printed_parts, ctx.memo(("definition", n),
                                                                             lambda: _definition_moments(n)))
        cases.append({"n": n, "m^2Cov - num": str(diffs[0]), "m^2VarX - denX": str(diffs[1]),
                      "m^2VarY - denY": str(diffs[2])})
        if any(d != 0 for d in diffs):
            return Outcome(Status.REFUTED, f"sympy: closed form differs from the definition at n = {n}",
                           evidence={"symbolic": cases}, counterexample={"n": n, "differences": cases[-1]})
    out = (_pc_closed if parts is None else _pc_closed.foil(functools.partial(_closed_cmp, parts=parts)))(ctx)
    if not out.status.passing:
        return out
    out.evidence["symbolic"] = cases
    # numerical remark: evaluated literally on unscaled entries the closed form's denominator (degree 4)
    # overflows; theory.diagcorr evaluates it on A / max|A| (the formula is homogeneous of degree 0)
    big = np.diag([1e80, 2e80, 3e80])
    big[0, 1] = 1e80
    n3 = np.arange(1.0, 4.0)
    with np.errstate(over="ignore", invalid="ignore"):
        m = big.sum()
        num = m * (n3 @ big @ n3) - (n3 @ big.sum(1)) * (big.sum(0) @ n3)
        den = (m * (n3**2 @ big.sum(1)) - (n3 @ big.sum(1)) ** 2) * (m * (big.sum(0) @ n3**2) - (big.sum(0) @ n3) ** 2)
        naive = float(num / np.sqrt(den))
    out.evidence["overflow_note"] = {"matrix": "(diag(1,2,3) + e_1 e_2^T) * 1e80", "unscaled_closed_form": naive,
                                     "scaled_closed_form": dc.rho_closed_form(big), "mpmath": _mp_rho(big)[0]}
    out.method = (f"sympy: with symbolic positive entries at n = {', '.join(map(str, sizes))} (4 in the full profile), m^2 Cov(X,Y), m^2 Var X, m^2 Var Y from the "
                  "definition (explicit probabilities, centred moments) equal the printed numerator and the two "
                  "factors under the root; since m > 0, rho = Cov/(σ_X σ_Y) equals the closed form. " + out.method)
    if out.status == Status.VERIFIED:
        out.summary = f"sympy: identity at n = {', '.join(map(str, sizes))}; float vs mpmath: {out.summary}"
    return out


claim(
    id="app-f/closed-form",
    ref="Appendix F (closed form of ρ)",
    section=SECTION,
    statement=CLOSED,
    reading="For nonnegative A with rho(A) defined, the printed closed form equals Cov(X,Y)/(σ_X σ_Y). Checked as the "
            "three polynomial identities m^2 Cov = numerator, m^2 Var X and m^2 Var Y = the two factors under the "
            "root (exact, sympy), and numerically (float closed form vs the definition in mpmath).",
    hypotheses=("A nonnegative (after absolute values)", "rho(A) defined"),
    exercises="symbolic entries n = 2, 3 (quick) and 4 (full); float: sparse supports, lines, 12-decade dynamic range, scales "
              "1e-100..1e100; undefined cases must be reported undefined by both.",
    depends_on=("app-f/absolute-value",),
    kind=Kind.SYMBOLIC,
    check=_check_closed,
    replay=_pc_closed.replay,
    # 'With a little work, one can show': the derivation multiplies Cov, Var X, Var Y by m^2 and takes the ratio
    proof_conditions=("m = 1^T A 1 > 0: implied (A nonzero, entries |A_ij|)",
                      "sigma_X sigma_Y > 0 (the ratio is taken): not implied by 'nonzero' -> app-f/well-defined "
                      "(corrected: support meets >= 2 rows and >= 2 columns)"),
    foils=(
        Foil("second factor under the root copied from the first: (m r_2^T A 1 - (r_1^T A 1)^2)^2",
             functools.partial(_check_closed, parts=_parts_rows_twice), kind="index", nearest=True, size=1,
             unit="index"),
        Foil("numerator without the mass: r_1^T A r_1 - (r_1^T A 1)(1^T A r_1)",
             functools.partial(_check_closed, parts=_parts_no_mass), kind="factor"),
    ),
)
