"""Appendix B.1: tensor powers — definitions, matrix identities and singular value structure; and the
helpers Appendix B.2 (exterior powers, :mod:`theory.claims.app_b2`) shares with it: the symbolic and
fixed-input check builders, tolerances, the detectors checked at their zeros, and the SVD comparisons
written once for ⊗ and ∧. (Split by subsection: B.1 here, B.2 in app_b2.py.)

Oracles: sympy (identities proved as polynomial identities in symbolic entries at small sizes),
exact rational arithmetic (sympy DomainMatrix ranks, Leibniz minors on integers) for statements
whose truth value must be decided exactly (spans, proportionality, orthogonality), and mpmath SVDs
for singular values. Float checks draw stress matrices from ``checks.strategies.matrices``
(condition numbers up to 1e8, any rank, repeated/clustered spectra, scales 1e-2..1e2) with
tolerances from ``checks.tolerance.tol``.

Every check is written with its prediction as keyword knobs (printed values as defaults); the foils
are the same check with a wrong knob (``functools.partial``), or ``PropertyCheck.foil`` with the wrong
comparison, so they see the same inputs. Where a foil's rejection must not depend on the luck of the
draw, the check runs fixed stress inputs before the Hypothesis search (:func:`_fixed_then`).

Findings encoded in Appendix B (here and in app_b2.py; each refuted claim has a severity and a corrected
form with its own verdict):
* wording: Definition B.3 quantifies over permutations of {1, ..., n} instead of {1, ..., t};
  Definitions B.2 / B.4 call f "the automorphism" M represents, where M is any matrix (the paper
  takes exterior powers of singular gated products in Appendix C).
* minor: "v ⊗ w and w ⊗ v are different, unless v = w" fails for v = 2w (equality iff dependent);
  "v_L∧... → ±(w∧...) iff E_L aligns with F" fails (if-direction) for unit, non-orthonormal
  families (the wedge's norm is a volume); Lemma D.5 uses it with orthonormal families only.
Not refuted under the paper's own reading (see each claim's reading): "the singular vectors of
⊗^t M (∧^t M) are exactly the elementary tensors (wedges)" (an SVD basis, as "(one of) the top
singular vector(s)" and "the singular vectors of M" show) and "<v∧, w∧> = 0 iff E and F are at right
angle" (the angle the induced dot product defines, cos = prod cos θ_i).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp
from hypothesis import strategies as st
from sympy.polys.matrices import DomainMatrix

from checks import Comparison, Corrected, Foil, Kind, Outcome, Severity, Status, claim
from checks import serialize
from checks import strategies as S
from checks.property import PropertyCheck
from checks.tolerance import EPS64, tol
from theory import exterior as ext
from theory import tensor as ten

SECTION = "Appendix B"

# Stress inputs shared by the float checks (see module docstring).
STRESS = dict(cond=(1.0, 1e8), spectrum=S.SPECTRA, rank="any", scale=(1e-2, 1e2))
STRESS_WORDS = ("square matrices U diag(s) V^T with Haar factors; s spread/clustered/repeated (exact ties)/"
                "geometric, condition number s_1/s_rank up to 1e8, rank anywhere from 1 to n (exact zeros), "
                "s_1 log-uniform in [1e-2, 1e2]")


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _symmat(name: str, n: int, m: int) -> sp.Matrix:
    return sp.Matrix(n, m, lambda i, j: sp.Symbol(f"{name}{i + 1}{j + 1}"))


def _flat(x) -> list:
    if isinstance(x, sp.MatrixBase):
        return list(x)
    if isinstance(x, (list, tuple)):
        return [e for item in x for e in _flat(item)]
    return [x]


def _run_symbolic(cases) -> tuple[bool, list[dict], dict | None]:
    """Run ``(label, fn)`` cases; ``fn()`` returns a difference that must expand to 0 entrywise."""
    rows, bad = [], None
    for label, fn in cases:
        # No timings here: claims.json must be byte-reproducible (timings go to timing.json).
        entries = _flat(fn())
        # expand decides polynomial entries; cancel (only when expand leaves something) rational ones
        nonzero = next((e for e in entries if sp.expand(e) != 0 and sp.cancel(e) != 0), None)
        rows.append({"case": label, "entries": len(entries), "all_zero": nonzero is None})
        if nonzero is not None:  # one nonzero entry decides; later cases would only cost time
            bad = {"case": label, "nonzero_entry": str(sp.factor(nonzero))}
            break
    return bad is None, rows, bad


def _symbolic_check(cases, what: str, prop: PropertyCheck | None = None, full_cases=(), label: str = "float check",
                    memo: str | None = None):
    """A check: sympy proves ``what`` at the listed sizes (plus ``full_cases`` in the full profile),
    then (optionally) a float property check extends it to stress inputs. Verified only if both pass;
    the property check's replay is kept. ``memo``: a key under which a symbolic part that a foil does not
    change is computed once for the form and its foils."""

    def check(ctx) -> Outcome:
        def symbolic():
            return _run_symbolic(list(cases) + list(ctx.pick(quick=(), full=tuple(full_cases))))

        ok, rows, bad = ctx.memo(memo, symbolic) if memo else symbolic()
        labels = ", ".join(r["case"] for r in rows)
        if not ok:
            return Outcome(Status.REFUTED, f"sympy: {what} fails at {bad['case']}",
                           evidence={"symbolic": rows}, counterexample=bad,
                           method="sympy expansion of the difference with symbolic entries")
        method = (f"sympy: the difference of both sides, with independent symbolic entries, expands to the zero "
                  f"polynomial ({labels}) — a proof at those sizes.")
        if prop is None:
            return Outcome(Status.VERIFIED, f"sympy proves {what} at {labels}", evidence={"symbolic": rows},
                           method=method)
        out = prop(ctx)
        out.evidence["symbolic"] = rows
        out.method = method + " " + out.method
        if out.status == Status.VERIFIED:
            out.summary = f"sympy proves {what} at {labels}; {label}: {out.summary}"
        return out

    if prop is not None:
        check.replay = prop.replay
    return check


def _fixed_then(cases, prop: PropertyCheck, why: str = ""):
    """A check: ``prop.compare`` on fixed stress inputs (dicts of its arguments) first, then the
    Hypothesis search of ``prop``. The fixed inputs are the cases a wrong variant is known to fail on,
    so a foil built with ``_fixed_then(cases, prop.foil(wrong))`` is rejected with certainty (power 1),
    whatever the draws; the replay is ``prop``'s."""

    def check(ctx) -> Outcome:
        for k, inputs in enumerate(cases):
            cmp = prop.compare(**inputs)
            if not cmp.ok:
                return Outcome(Status.REFUTED, f"fixed stress input {k}: {cmp.describe()}",
                               evidence={"fixed_case": k, "failing": {"err": cmp.err, "tol": cmp.tol, **cmp.detail}},
                               method=f"comparison on fixed stress inputs ({why}) before the Hypothesis search",
                               counterexample={"inputs": serialize.encode(inputs)},
                               # deterministic: the same fixed input fails on every seed and profile
                               power=1.0)
        out = prop(ctx)
        out.method = f"{len(cases)} fixed stress input(s) ({why}), then: " + out.method
        out.evidence["fixed_cases"] = len(cases)
        return out

    check.replay = prop.replay
    return check


def _rank_q(rows: list[list]) -> int:
    """Exact rank over Q of an integer/rational matrix."""
    if not rows or not rows[0]:
        return 0
    dm = DomainMatrix([[sp.QQ(int(x.numerator), int(x.denominator)) if isinstance(x, Fraction)
                        else sp.QQ(int(x)) for x in r] for r in rows], (len(rows), len(rows[0])), sp.QQ)
    return int(dm.rank())


# Digits of the mpmath references: the singular values and every product of them (hold it with
# mpmath.workdps(MP_DPS) where mpf values are combined; the global precision is never relied on).
MP_DPS = 40


def _mp_singular_values(m: np.ndarray, dps: int = MP_DPS) -> list:
    """Singular values of the float64 matrix ``m`` (taken exactly) by mpmath at ``dps`` digits."""
    with mpmath.workdps(dps):
        s = mpmath.svd_r(mpmath.matrix(m.tolist()), compute_uv=False)
        return sorted((s[i] for i in range(s.rows)), reverse=True)


def _nrm(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(np.linalg.norm(a, 2)) if a.size else 0.0


def _maxabs(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(np.max(np.abs(a))) if a.size else 0.0


def _square_pair(max_n: int, ts: tuple[int, int]):
    """Two stress matrices of one size n in 1..max_n, and an order t in ts."""
    return st.integers(1, max_n).flatmap(lambda n: st.fixed_dictionaries(
        {"M": S.matrices(n, **STRESS), "N": S.matrices(n, **STRESS), "t": st.integers(*ts)}))


def _square_one(max_n: int, ts: tuple[int, int], **kw):
    spec = {**STRESS, **kw}
    return st.fixed_dictionaries({"M": S.matrices((1, max_n), **spec), "t": st.integers(*ts)})


@st.composite
def _matrix_and_family(draw, max_n: int, tensor: bool):
    """M (n x n stress matrix), t, and an n x t family V (columns), t <= n for wedges."""
    n = draw(st.integers(1, max_n))
    t = draw(st.integers(1, 3 if tensor else n))
    M = draw(S.matrices(n, **STRESS))
    V = draw(S.matrices(n, t, **STRESS))
    return {"M": M, "V": V}


# Tolerances (derivations). Entries of a t-fold product of entries of M carry relative error
# <= t*eps; an n^t-long matmul adds n^t*eps*||A||*||B||; a t x t minor computed by LU has absolute
# error <~ t*eps*||M||^t (det perturbation bound ||d det|| <= |det| ||A^-1|| ||dA|| t <= t eps ||A||^t).


def _tol_tensor(n: int, t: int, scale: float, kernels: int = 2) -> float:
    return tol(n**t, scale=scale, kernels=kernels)


def _tol_wedge(n: int, t: int, scale: float, kernels: int | None = None) -> float:
    return tol(n + math.comb(n, t), scale=scale, kernels=kernels or 2 * t)


def _exact_plucker(M: np.ndarray) -> list[int]:
    """Plücker coordinates of the columns of an integer matrix, exactly (Leibniz minors on ints)."""
    return [int(x) for x in ext.plucker_generic([[int(a) for a in M[:, k]] for k in range(M.shape[1])])]


# ---------------------------------------------------------------------------------------------
# Detectors at their zeros (issue 17): the defects the claims rely on (``ten.elementary_defect``,
# ``ext.decomposability_defect`` and the map ``ext.wedge_map`` behind it) are shown ≈ 0 where the
# truth is 0 (elementary tensors / wedges, t >= 3 included) and equal to an independent reference
# where it is not — so a slip inside a detector (a sign convention, a skipped unfolding) refutes the
# claims that use it instead of passing silently.
# ---------------------------------------------------------------------------------------------

_INV_SQRT2 = 1 / math.sqrt(2.0)


def _mp_svals(rows, dps: int = 30) -> list[float]:
    """Singular values (descending, as floats) of a matrix given exactly (ints or floats) by mpmath."""
    if not rows or not rows[0]:
        return []
    with mpmath.workdps(dps):
        s = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(float(a)) for a in r] for r in rows]), compute_uv=False)
        return sorted((float(s[i]) for i in range(s.rows)), reverse=True)


def _elementary_defect_reference(x, n: int, t: int) -> float:
    """The definition of the tensor defect, sharing no code with ``ten.elementary_defect``: the largest
    second singular value over the t mode unfoldings (built index by index), by mpmath, over ||x||."""
    x = [float(a) for a in np.ravel(x)]
    nrm = math.sqrt(math.fsum(a * a for a in x))
    if nrm == 0:
        return 0.0
    worst = 0.0
    for k in range(t):
        s = _mp_svals(ten.unfolding_by_indices(x, n, t, k))
        worst = max(worst, s[1] if len(s) > 1 else 0.0)
    return worst / nrm


def _decomposability_defect_reference(x, n: int, t: int) -> float:
    """The definition of the wedge defect, sharing no code with ``ext.decomposability_defect``: the
    (n-t)-th singular value of v -> v ∧ x built from the relations (``ext.wedge_map_by_expansion``), by
    mpmath, over ||x||."""
    x = [float(a) for a in np.ravel(x)]
    nrm = math.sqrt(math.fsum(a * a for a in x))
    if nrm == 0 or t >= n:
        return 0.0
    s = _mp_svals(ext.wedge_map_by_expansion(x, n, t))
    s = s + [0.0] * max(0, n - len(s))
    return s[n - t] / nrm


def _basis_tensor(n: int, terms) -> np.ndarray:
    """sum of e_{i_1}⊗...⊗e_{i_t} over the 1-based multi-indices in ``terms``."""
    eye = np.eye(n)
    return sum(ten.elementary_tensor(*[eye[i - 1] for i in I]) for I in terms)


def _basis_wedge(n: int, terms) -> np.ndarray:
    """sum of e_{i_1}∧...∧e_{i_t} over the 1-based increasing index sets in ``terms``."""
    eye = np.eye(n)
    return sum(ext.wedge(*[eye[i - 1] for i in I]) for I in terms)


# Non-elementary tensors of exactly known defect 1/√2 (two orthonormal terms; the entangled unfolding
# has singular values (1, 1)), each one invisible to some unfoldings: the first one to the first
# unfolding, the last t = 4 one to the first two.
_TENSOR_POSITIVES = (("e1⊗(e1⊗e1 + e2⊗e2)", 2, 3, ((1, 1, 1), (1, 2, 2))),
                     ("(e1⊗e1 + e2⊗e2)⊗e1", 2, 3, ((1, 1, 1), (2, 2, 1))),
                     ("e1⊗e1⊗e1 + e2⊗e1⊗e2", 2, 3, ((1, 1, 1), (2, 1, 2))),
                     ("e1⊗e1⊗(e1⊗e1 + e2⊗e2)", 2, 4, ((1, 1, 1, 1), (1, 1, 2, 2))),
                     ("e1⊗e1 + e2⊗e2 (the printed example)", 2, 2, ((1, 1), (2, 2))))
# Non-elementary wedges of exactly known defect 1/√2 (v -> v ∧ x is a signed partial permutation).
_WEDGE_POSITIVES = (("e1∧e2 + e3∧e4 (the printed example)", 4, 2, ((1, 2), (3, 4))),
                    ("e1∧e2∧e3 + e4∧e5∧e6", 6, 3, ((1, 2, 3), (4, 5, 6))),
                    ("e1∧(e2∧e3 + e4∧e5)", 5, 3, ((1, 2, 3), (1, 4, 5))))


def _ratio_row(label, got, want, tl) -> dict:
    return {"input": label, "defect": got, "truth": want, "err": abs(got - want), "tol": tl,
            "ok": bool(abs(got - want) <= tl)}


def _tensor_detector_panel(rng) -> dict:
    """``ten.elementary_defect`` at its zeros (Gaussian elementary tensors, t = 2..4) and away from them
    (the exact 1/√2 examples; Gaussian tensors against the mpmath reference of the definition)."""
    rows = []
    for n, t in ((2, 2), (3, 2), (2, 3), (3, 3), (2, 4)):
        for _ in range(3):
            fs = [rng.standard_normal(n) for _ in range(t)]
            x = ten.elementary_tensor(*fs)
            # t - 1 rounded Kronecker products per entry, then an SVD of an n x n^(t-1) unfolding
            rows.append(_ratio_row(f"elementary, n={n}, t={t}", ten.elementary_defect(x, n, t), 0.0,
                                   tol(n**t, kernels=t + 2)))
    for label, n, t, terms in _TENSOR_POSITIVES:
        x = _basis_tensor(n, terms)
        tl = tol(n**t, kernels=t + 2)
        rows.append(_ratio_row(label, ten.elementary_defect(x, n, t), _INV_SQRT2, tl))
        rows.append(_ratio_row(label + " [reference]", _elementary_defect_reference(x, n, t), _INV_SQRT2, tl))
    for n, t in ((2, 3), (3, 3), (2, 4)):
        x = rng.standard_normal(n**t)
        rows.append(_ratio_row(f"Gaussian, n={n}, t={t} (vs the mpmath definition)", ten.elementary_defect(x, n, t),
                               _elementary_defect_reference(x, n, t), tol(n**t, kernels=t + 2)))
    return {"ok": all(r["ok"] for r in rows), "rows": rows,
            "worst": max(rows, key=lambda r: r["err"] / r["tol"])}


def _wedge_detector_panel(rng) -> dict:
    """``ext.wedge_map`` equals the map built from the relations (exactly, on integers); and
    ``ext.decomposability_defect`` at its zeros (Gaussian elementary wedges, t = 1..4) and away from them
    (the exact 1/√2 examples; Gaussian wedges against the mpmath reference of the definition)."""
    rows, maps = [], []
    for n, t in ((3, 1), (4, 2), (5, 2), (5, 3), (6, 3)):
        k = math.comb(n, t)
        for x in (rng.integers(-3, 4, k), np.array(_exact_plucker(rng.integers(-2, 3, (n, t))))):
            got = ext.wedge_map(x.astype(float), n, t)
            want = np.array(ext.wedge_map_by_expansion([int(a) for a in x], n, t), dtype=float).reshape(got.shape)
            maps.append({"n": n, "t": t, "x": [int(a) for a in x], "equal": bool(np.array_equal(got, want)),
                         "max_abs_diff": _maxabs(got - want)})
    for n, t in ((3, 2), (4, 2), (5, 2), (5, 3), (6, 3), (6, 4)):
        for _ in range(3):
            V = rng.standard_normal((n, t))
            x = ext.plucker(V)
            # minors carry ~t eps cond(V) relative error (LU), then an SVD of a C(n,t+1) x n map
            rows.append(_ratio_row(f"elementary, n={n}, t={t}", ext.decomposability_defect(x, n, t), 0.0,
                                   tol(math.comb(n, t) + n, kappa=float(np.linalg.cond(V)), kernels=2 * t + 2)))
    for label, n, t, terms in _WEDGE_POSITIVES:
        x = _basis_wedge(n, terms)
        tl = tol(math.comb(n, t) + n, kernels=2 * t + 2)
        rows.append(_ratio_row(label, ext.decomposability_defect(x, n, t), _INV_SQRT2, tl))
        rows.append(_ratio_row(label + " [reference]", _decomposability_defect_reference(x, n, t), _INV_SQRT2, tl))
    for n, t in ((4, 2), (5, 2), (6, 3)):
        x = rng.standard_normal(math.comb(n, t))
        rows.append(_ratio_row(f"Gaussian, n={n}, t={t} (vs the mpmath definition)",
                               ext.decomposability_defect(x, n, t), _decomposability_defect_reference(x, n, t),
                               tol(math.comb(n, t) + n, kernels=2 * t + 2)))
    ok = all(r["ok"] for r in rows) and all(m["equal"] for m in maps)
    return {"ok": ok, "rows": rows, "wedge_map_vs_relations": maps,
            "worst": max(rows, key=lambda r: r["err"] / r["tol"])}


def _panel_summary(panel: dict, what: str) -> str:
    w = panel["worst"]
    if panel["ok"]:
        return (f"{what} ≈ 0 on elementary inputs and = the truth elsewhere ({len(panel['rows'])} inputs, worst "
                f"'{w['input']}': err {w['err']:.2g} <= tol {w['tol']:.2g})")
    bad = [r for r in panel["rows"] if not r["ok"]] + [m for m in panel.get("wedge_map_vs_relations", [])
                                                        if not m["equal"]]
    first = bad[0]
    return (f"DETECTOR WRONG: {what} fails at its zeros/values on {len(bad)} input(s), first: "
            + (f"'{first['input']}' gives {first['defect']:.3g}, truth {first['truth']:.3g}" if "input" in first
               else f"wedge_map differs from the relations at n={first['n']}, t={first['t']}"))


# ---------------------------------------------------------------------------------------------
# B.1.1 tensor powers
# ---------------------------------------------------------------------------------------------

DEF_B1 = r"""Definition B.1. The (t -fold) *tensor power* (or *tensor product*) of V is the vector space denoted $\otimes^t V$ generated by symbols

$$v_1 \otimes \cdots \otimes v_t, \quad v_1, \dots, v_t \in V$$

subject to the following multi-linear relations: for every $1 \leq i \leq t$, $x_i, y_i, v_1, \dots, v_t \in V$, $a \in \mathbb{R}$,

$$v_1 \otimes \cdots \otimes (ax_i + y_i) \otimes \cdots \otimes v_t = a(v_1 \otimes \cdots \otimes x_i \otimes \cdots \otimes v_t) + v_1 \otimes \cdots \otimes y_i \otimes \cdots \otimes v_t.$$

Vectors of $\otimes^t V$ are often called *tensors*."""


def _multilinear_tensor_case(n: int, t: int):
    def fn():
        a = sp.Symbol("a")
        vs = [list(_symmat(f"v{k}_", n, 1)) for k in range(t)]
        x, y = list(_symmat("x", n, 1)), list(_symmat("y", n, 1))
        diffs = []
        for i in range(t):
            mix = [a * xi + yi for xi, yi in zip(x, y)]
            lhs = ten.tensor_by_expansion(vs[:i] + [mix] + vs[i + 1:])
            rx = ten.tensor_by_expansion(vs[:i] + [x] + vs[i + 1:])
            ry = ten.tensor_by_expansion(vs[:i] + [y] + vs[i + 1:])
            diffs += [lhs[k] - a * rx[k] - ry[k] for k in range(len(lhs))]
            # the float kernel (Kronecker product) must give the same coordinates
            kr = sp.Matrix(vs[0])
            for v in vs[1:]:
                kr = sp.kronecker_product(kr, sp.Matrix(v))
            diffs += [e - f for e, f in zip(kr, ten.tensor_by_expansion(vs))]
        return diffs
    return (f"n={n},t={t}", fn)


claim(
    id="def-b.1",
    ref="Definition B.1 (Appendix B.1.1)",
    section=SECTION,
    statement=DEF_B1,
    reading="Well-posedness of the coordinate model used everywhere below: the map (v_1,...,v_t) -> "
            "coordinates in the basis (e_I) (coefficient of e_I = prod_k v_k[i_k], i.e. the Kronecker product "
            "of the factors) satisfies the multilinear relations of Definition B.1 in every slot, so it factors "
            "through the space the definition presents. (That it is faithful — dimension n^t — is "
            "app-b.1.1/dimension.)",
    hypotheses=("V real of dimension n >= 1", "t >= 1"),
    exercises="symbolic vectors v_k, x, y and scalar a (all independent symbols), each slot i = 1..t.",
    kind=Kind.DEFINITION,
    check=_symbolic_check([_multilinear_tensor_case(2, 2), _multilinear_tensor_case(3, 2),
                           _multilinear_tensor_case(2, 3)],
                          "the multilinear relations for the Kronecker coordinates"),
)


DIM_B1 = r"""Fix a basis (e_1, \dots, e_n) on V . Then $\otimes^t V$ is naturally equipped with a basis composed of the elementary tensors of the form

$$e_I := e_{i_1} \otimes \cdots \otimes e_{i_t}, \quad I = (i_1, \dots, i_t) \subseteq \{1, \dots, n\}^t.$$

In particular, $\otimes^t V$ has dimension n^t . We may order the basis tensors (e_I) using the lexicographic ordering."""


def _check_dim_tensor(ctx, *, dim=lambda n, t: n**t) -> Outcome:
    """``dim(n, t)``: the predicted dimension of ⊗^t R^n (printed: n^t)."""
    rng = ctx.rng("elementary")
    rows = []
    ok = True
    for n in range(1, 5):
        for t in range(1, 4):
            idx = ten.multi_indices(n, t)
            # coordinates of the basis tensors e_I must be the standard basis of R^{n^t}, in lex order
            eye = np.eye(n)
            basis = np.array([ten.elementary_tensor(*[eye[i] for i in I]) for I in idx])
            basis_ok = basis.shape == (n**t, n**t) and np.array_equal(basis, np.eye(n**t))
            # random integer elementary tensors span the whole coordinate space (exact rank over Q)
            fam = [ten.tensor_by_expansion([list(map(int, rng.integers(-3, 4, n))) for _ in range(t)])
                   for _ in range(n**t + 4)]
            r = _rank_q(fam)
            good = basis_ok and r == dim(n, t) and len(idx) == dim(n, t) and idx == sorted(idx)
            ok &= good
            rows.append({"n": n, "t": t, "predicted_dim": dim(n, t), "basis_is_identity_lex": basis_ok,
                         "rank_elementary": r, "ok": good})
    one = all(np.array_equal(ten.tensor_power(np.arange(k * k).reshape(k, k), 1), np.arange(k * k).reshape(k, k))
              for k in range(1, 5))
    ok &= one
    return Outcome(Status.VERIFIED if ok else Status.REFUTED,
                   f"n=1..4, t=1..3: e_I are n^t lex-ordered basis vectors and random elementary tensors have exact "
                   f"rank n^t; ⊗^1 M = M: {one}" if ok else
                   "predicted dimension differs from the exact rank of the elementary tensors: "
                   + ", ".join(f"n={r['n']},t={r['t']}: rank {r['rank_elementary']} vs {r['predicted_dim']}"
                               for r in rows if not r["ok"])[:300],
                   evidence={"table": rows, "tensor_power_1_is_identity_map": one},
                   method="Exact rank over Q (sympy DomainMatrix) of n^t + 4 random integer elementary tensors "
                          "(entries in [-3,3], coordinates by the multilinear expansion); basis vectors e_I "
                          "through the Kronecker kernel.",
                   counterexample=None if ok else {"table": rows})


claim(
    id="app-b.1.1/dimension",
    ref="Appendix B.1.1 (dimension of the tensor power)",
    section=SECTION,
    statement=DIM_B1,
    reading="In coordinates: the n^t tensors e_I (I in {1..n}^t, lexicographic) are the standard basis of "
            "R^{n^t}, and elementary tensors span all of R^{n^t} (so the space generated in Definition B.1 has "
            "dimension exactly n^t); also ⊗^1 V = V.",
    hypotheses=("n >= 1", "t >= 1"),
    exercises="all n in 1..4, t in 1..3; spans decided exactly over Q with random integer factors.",
    depends_on=("def-b.1",),
    kind=Kind.IDENTITY,
    check=_check_dim_tensor,
    foils=(
        Foil("dim ⊗^t V = C(n+t-1, t) (⊗ read as commutative: the symmetric power's dimension)",
             functools.partial(_check_dim_tensor, dim=lambda n, t: math.comb(n + t - 1, t)), kind="formula"),
        Foil("dim ⊗^t V = n t (the dimension of the direct sum V^t)",
             functools.partial(_check_dim_tensor, dim=lambda n, t: n * t), kind="exponent"),
        Foil("dim ⊗^t V = n^(t-1) (the exponent off by one)",
             functools.partial(_check_dim_tensor, dim=lambda n, t: n ** (t - 1)), kind="exponent", nearest=True,
             size=1, unit="absolute"),
    ),
)


NOT_ELEM_B1 = r"""Most tensors in $\otimes^t V$ cannot be simplified to an elementary tensor. For instance with $V = \mathbb{R}^2$ with standard basis (e_1, e_2) , $t = 2$, the tensor $e_1 \otimes e_1 + e_2 \otimes e_2$ is not elementary."""


def _check_not_elementary_tensor(ctx, *, example=((1, 0), (0, 1))) -> Outcome:
    """``example``: the coefficient matrix (x_ij) of the printed example sum x_ij e_i⊗e_j, claimed
    non-elementary (printed: e_1⊗e_1 + e_2⊗e_2)."""
    # Exact: a tensor in ⊗^2 R^2 is elementary iff its 2x2 coefficient matrix (x_{ij}) has rank <= 1.
    x = sp.Matrix(example)
    exact_rank = x.rank()
    defect = ten.elementary_defect(np.array(example, dtype=float).ravel(), 2, 2)
    rng = ctx.rng("generic")
    k = ctx.pick(quick=200, full=2000)
    gen = [ten.elementary_defect(rng.standard_normal(n**t), n, t) for n, t in [(2, 2), (3, 2), (2, 3)]
           for _ in range(k)]
    # the detector behind 'min defect > 0' is believed only after it reads 0 on elementary tensors (t up to 4)
    # and the exact value on tensors entangled in a non-first unfolding (computed once for the form and its foils)
    panel = ctx.memo("detector-panel", lambda: _tensor_detector_panel(ctx.rng("detector")))
    # the example's defect is s_2/||x|| of its 2 x 2 coefficient matrix: 1/√2 for the printed one, 0 if elementary
    ok = exact_rank == 2 and defect > 0.5 and min(gen) > 0 and panel["ok"]
    return Outcome(Status.VERIFIED if ok else Status.REFUTED,
                   f"example {list(map(list, example))} has coefficient matrix of exact rank {exact_rank} (elementary "
                   f"needs <= 1); "
                   f"{len(gen)} Gaussian tensors all non-elementary (min defect {min(gen):.2e}); "
                   + _panel_summary(panel, "the defect"),
                   evidence={"coefficient_matrix_rank": int(exact_rank), "defect_example": defect,
                             "gaussian_samples": len(gen), "min_defect_gaussian": float(min(gen)),
                             "detector_at_zeros": panel},
                   method="sympy rank of the coefficient matrix; 'most' read as: elementary tensors form a proper "
                          "algebraic subset (measure zero), illustrated by Gaussian tensors for (n,t) in "
                          "{(2,2),(3,2),(2,3)} whose unfolding second singular value is never 0. The defect (largest "
                          "second singular value over the t unfoldings, over ||x||) is first shown ≈ 0 on Gaussian "
                          "elementary tensors (t = 2..4), = 1/√2 exactly on tensors entangled only in later "
                          "unfoldings (e1⊗(e1⊗e1 + e2⊗e2), t = 4 too), and = an mpmath evaluation of its definition "
                          "(unfoldings built index by index) on Gaussian t = 3, 4 tensors.")


claim(
    id="app-b.1.1/not-elementary",
    ref="Appendix B.1.1 (non-elementary tensor example)",
    section=SECTION,
    statement=NOT_ELEM_B1,
    reading="e_1⊗e_1 + e_2⊗e_2 is not of the form v⊗w (its coefficient matrix has rank 2); 'most' = the "
            "elementary tensors are a measure-zero subset for n, t >= 2.",
    hypotheses=("V = R^2", "t = 2"),
    exercises="the printed example exactly; Gaussian random tensors for the 'most' part; the defect at its zeros "
              "(Gaussian elementary tensors, t = 2..4) and on tensors entangled only in a later unfolding (t = 3, 4).",
    depends_on=("def-b.1",),
    kind=Kind.IDENTITY,
    check=_check_not_elementary_tensor,
    foils=(
        # one index of the printed example shifted by one (e_2⊗e_2 -> e_1⊗e_2): the nearest elementary tensor
        Foil("the tensor e_1⊗e_1 + e_1⊗e_2 is not elementary (it is e_1⊗(e_1+e_2))",
             functools.partial(_check_not_elementary_tensor, example=((1, 1), (0, 0))), kind="example",
             nearest=True, size=1, unit="index"),
        Foil("the tensor e_1⊗e_1 + e_1⊗e_2 + e_2⊗e_1 + e_2⊗e_2 is not elementary (it is (e_1+e_2)⊗(e_1+e_2))",
             functools.partial(_check_not_elementary_tensor, example=((1, 1), (1, 1))), kind="example"),
    ),
)


NONCOMM_B1 = r"""The \otimes symbol is not commutative: for $v, w \in V$ and $t = 2$, the tensors $v \otimes w$ and $w \otimes v$ in $\otimes^2 V$ are different, unless $v = w$."""

_NONCOMM_CE = {"v": np.array([2.0, 0.0]), "w": np.array([1.0, 0.0])}


def _noncomm_cmp(v, w) -> Comparison:
    """Printed: v != w implies v⊗w != w⊗v. err = 1 when v != w yet v⊗w == w⊗v (exact in floats
    for these small integers), else 0."""
    v, w = np.asarray(v), np.asarray(w)
    same = np.array_equal(ten.elementary_tensor(v, w), ten.elementary_tensor(w, v))
    violates = (not np.array_equal(v, w)) and same
    return Comparison(float(violates), 0.5, {"v": v.tolist(), "w": w.tolist(), "v⊗w == w⊗v": bool(same)})


def _check_noncomm(ctx) -> Outcome:
    cmp = _noncomm_cmp(**_NONCOMM_CE)
    # independent confirmation in exact arithmetic
    v, w = sp.Matrix([2, 0]), sp.Matrix([1, 0])
    exact_equal = sp.kronecker_product(v, w) == sp.kronecker_product(w, v)
    status = Status.REFUTED if (not cmp.ok and exact_equal) else Status.VERIFIED
    return Outcome(status, "v = 2e_1, w = e_1: v != w but v⊗w = w⊗v = 2 e_1⊗e_1 (exact)",
                   evidence={"float": cmp.detail, "sympy_equal": bool(exact_equal),
                             "also": "in dimension n = 1 every v⊗w = w⊗v; and w = 0 gives v⊗0 = 0⊗v"},
                   method="Explicit minimal counterexample, confirmed with sympy kronecker products.",
                   counterexample={"inputs": {k: a.tolist() for k, a in _NONCOMM_CE.items()}})


def _dependent(v, w) -> bool:
    return _rank_q([v, w]) <= 1


def _noncomm_corrected_cmp(v, w, *, commute_iff=_dependent) -> Comparison:
    """Exact: v⊗w = w⊗v iff ``commute_iff(v, w)`` (corrected: v, w linearly dependent)."""
    v, w = [int(a) for a in v], [int(a) for a in w]
    commute = ten.tensor_by_expansion([v, w]) == ten.tensor_by_expansion([w, v])
    dependent = _dependent(v, w)
    return Comparison(float(commute != commute_iff(v, w)), 0.5, {"v": v, "w": w, "commute": commute,
                                                                  "dependent": dependent})


@st.composite
def _int_vec_pair(draw):
    n = draw(st.integers(1, 4))
    v = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    if draw(st.booleans()):  # dependent pairs, so both sides of the equivalence are exercised
        a, b = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
        w = [a * x for x in v]
        v = [b * x for x in v]
    else:
        w = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    return {"v": v, "w": w}


_pc_noncomm = PropertyCheck(_int_vec_pair(), _noncomm_corrected_cmp,
                       classify=lambda d: f"commute={d['commute']}, dependent={d['dependent']}",
                       generated="integer vectors in [-3,3]^n, n = 1..4, half of them dependent pairs "
                                 "(multiples of a common vector, zero included); exact arithmetic")

claim(
    id="app-b.1.1/noncommutative",
    ref="Appendix B.1.1 (non-commutativity of ⊗)",
    section=SECTION,
    statement=NONCOMM_B1,
    reading="For all v, w in V: v != w implies v⊗w != w⊗v ('are different, unless v = w' names v = w as the only "
            "exception; nothing in the context widens it).",
    hypotheses=("v, w in V", "t = 2"),
    exercises="the minimal counterexample v = 2e_1, w = e_1 in R^2.",
    depends_on=("def-b.1",),
    kind=Kind.IDENTITY,
    check=_check_noncomm,
    replay=lambda ce: _noncomm_cmp(**{k: np.asarray(a) for k, a in ce["inputs"].items()}),
    severity=Severity.MINOR,
    severity_note="An expository sentence in the background section (which says ⊗ is not used in the proofs) names "
                  "too small an exception set (v = w instead of v, w collinear); that ⊗ is not commutative is "
                  "true, and nothing in the paper rests on the exception clause.",
    corrected=Corrected(
        statement=r"For $v, w \in V$, $v \otimes w = w \otimes v$ if and only if $v$ and $w$ are linearly dependent.",
        reading="Exact equivalence over integer vectors (coefficient matrix v w^T symmetric iff rank[v w] <= 1).",
        derivation="v⊗w = w⊗v means v w^T = w v^T; if v != 0 then w = (v^T w / v^T v) v. So equality holds exactly "
                   "for dependent pairs (v = w, v = c w, or one of them 0), not only for v = w.",
        check=_pc_noncomm,
        replay=_pc_noncomm.replay,
        foils=(
            Foil("v⊗w = w⊗v iff v = w (the printed exception)",
                 _pc_noncomm.foil(functools.partial(_noncomm_corrected_cmp, commute_iff=lambda v, w: v == w)),
                 kind="hypothesis"),
            Foil("v⊗w = w⊗v iff v = ±w",
                 _pc_noncomm.foil(functools.partial(_noncomm_corrected_cmp,
                                                    commute_iff=lambda v, w: v == w or v == [-x for x in w])),
                 kind="constant", nearest=True, size=1, unit="case"),
        ),
    ),
)


INNER_B1 = r"""If V is moreover equipped with a dot product $\langle \cdot, \cdot \rangle$, then so is $\otimes^t V$. It suffices to specify the dot product on elementary tensors, for which we set

$$\langle v_1 \otimes \cdots \otimes v_t, w_1 \otimes \cdots \otimes w_t \rangle := \prod_{i=1}^t \langle v_i, w_i \rangle.$$"""


def _prod(xs):
    return math.prod(xs, start=1)


def _inner_tensor_case(n: int, t: int, *, combine=_prod, pair=lambda k, t: k):
    """Printed: <v_1⊗...⊗v_t, w_1⊗...⊗w_t> = combine_k <v_k, w_pair(k)> with combine = product and
    slot k paired with slot k; compared with the Euclidean product of the coordinates."""
    def fn():
        vs = [list(_symmat(f"v{k}_", n, 1)) for k in range(t)]
        ws = [list(_symmat(f"w{k}_", n, 1)) for k in range(t)]
        lhs = combine([sum(a * b for a, b in zip(vs[k], ws[pair(k, t)])) for k in range(t)])
        cv, cw = ten.tensor_by_expansion(vs), ten.tensor_by_expansion(ws)
        return [lhs - sum(a * b for a, b in zip(cv, cw))]
    return (f"n={n},t={t}", fn)


def _inner_tensor_check(**knobs):
    return _symbolic_check([_inner_tensor_case(n, t, **knobs) for n, t in ((2, 2), (3, 2), (2, 3))],
                           "prod <v_i,w_i> = <coords, coords>")


claim(
    id="app-b.1.1/inner-product",
    ref="Appendix B.1.1 (induced dot product on tensors)",
    section=SECTION,
    statement=INNER_B1,
    reading="Well-posedness: the product formula on elementary tensors agrees with the Euclidean dot product of "
            "their coordinates in (e_I) (V = R^n with its standard dot product), hence extends (bilinearly, "
            "consistently with the relations) to a dot product on ⊗^t V.",
    hypotheses=("V with a dot product",),
    exercises="symbolic factors v_k, w_k.",
    depends_on=("def-b.1",),
    kind=Kind.SYMBOLIC,
    check=_inner_tensor_check(),
    foils=(
        Foil("<v_1⊗...⊗v_t, w_1⊗...⊗w_t> := sum_i <v_i, w_i>", _inner_tensor_check(combine=sum), kind="formula"),
        Foil("<v_1⊗...⊗v_t, w_1⊗...⊗w_t> := prod_i <v_i, w_{t+1-i}> (slots paired in reverse)",
             _inner_tensor_check(pair=lambda k, t: t - 1 - k), kind="index", nearest=True, size=1, unit="index"),
    ),
)


ORTHO_B1 = r"""If a basis (e_1, \dots, e_n) is orthonormal with respect to $\langle \cdot, \cdot \rangle$, then so is the induced basis (e_I) on $\otimes^t V$ with respect to the induced dot product."""


def _skewed(Q, skew, scale=1):
    """The basis scale * Q (I + skew * strictly upper ones): Q itself for skew = 0, scale = 1, else a
    non-orthonormal basis (the orthonormality hypothesis dropped; ``scale`` != 1: orthogonal but not
    normalised); numpy or sympy."""
    n = Q.shape[0]
    if isinstance(Q, sp.MatrixBase):
        return scale * Q * sp.Matrix(n, n, lambda i, j: 1 if i == j else (skew if j > i else 0))
    return scale * (Q @ (np.eye(n) + skew * np.triu(np.ones((n, n)), 1)))


def _induced_gram_tensor(G1, t: int, combine) -> list[list]:
    """Gram matrix of the induced basis q_I under the induced dot product, from the n x n Gram matrix
    G1 = (<q_i, q_j>) of the basis: entry (I, J) = combine_k G1[i_k, j_k] (printed: the product)."""
    n = G1.shape[0]
    idx = ten.multi_indices(n, t)
    return [[combine([G1[I[k], J[k]] for k in range(t)]) for J in idx] for I in idx]


def _ortho_tensor_cmp(Q, t, *, combine=_prod, skew=0.0, scale=1.0) -> Comparison:
    n = Q.shape[0]
    B = _skewed(Q, skew, float(scale))
    gram = np.array(_induced_gram_tensor(B.T @ B, t, combine))
    big = ten.tensor_power(B, t)  # columns = coordinates of the induced basis q_I (Kronecker kernel)
    err = max(_maxabs(gram - np.eye(n**t)), _maxabs(big.T @ big - np.eye(n**t)))
    return Comparison(err, _tol_tensor(n, t, 1.0, kernels=t + 1), {"n": n, "t": t})


def _ortho_tensor_sym(*, combine=_prod, skew=0, scale=1):
    # every rotation of R^2 but the half-turn, rationally: cos = (1-u^2)/(1+u^2), sin = 2u/(1+u^2) (exact
    # cancellation instead of trigsimp)
    u = sp.symbols("u", real=True)
    c, s_ = (1 - u**2) / (1 + u**2), 2 * u / (1 + u**2)
    q = _skewed(sp.Matrix([[c, -s_], [s_, c]]), skew, scale)
    big = sp.Matrix(ten.tensor_power_by_expansion(q.tolist(), 2))
    gram = sp.Matrix(_induced_gram_tensor(q.T * q, 2, combine))
    return list(gram - sp.eye(4)) + list(big.T * big - sp.eye(4))


_pc_ortho_tensor = PropertyCheck(
    st.fixed_dictionaries({"Q": S.orthogonal((1, 4)), "t": st.integers(1, 3)}), _ortho_tensor_cmp,
    generated="Haar orthogonal Q (n = 1..4) as an arbitrary orthonormal basis, t = 1..3; Gram matrix of the "
              "induced basis q_I = q_{i_1}⊗...⊗q_{i_t} under the induced dot product (= Euclidean on coordinates, "
              "app-b.1.1/inner-product)")

def _ortho_tensor_check(**knobs):
    return _symbolic_check([("rotation basis n=2,t=2", functools.partial(_ortho_tensor_sym, **knobs))], "Gram = I",
                           _pc_ortho_tensor.foil(functools.partial(_ortho_tensor_cmp, **knobs)))


claim(
    id="app-b.1.1/orthonormal-basis",
    ref="Appendix B.1.1 (induced orthonormal basis)",
    section=SECTION,
    statement=ORTHO_B1,
    reading="For any orthonormal basis (q_i) of R^n (not only the standard one), the n^t tensors q_I have Gram "
            "matrix I_{n^t} under the induced dot product.",
    hypotheses=("(e_i) orthonormal",),
    exercises="Haar-random orthonormal bases (float); symbolic rotation basis of R^2 (exact).",
    depends_on=("app-b.1.1/inner-product",),
    kind=Kind.IDENTITY,
    check=_ortho_tensor_check(),
    foils=(
        Foil("the induced dot product is sum_i <v_i, w_i> on elementary tensors (then Gram(e_I) = t I, not I)",
             _ortho_tensor_check(combine=sum), kind="formula"),
        Foil("orthonormality hypothesis dropped: for any basis (e_i), the induced basis (e_I) is orthonormal",
             _ortho_tensor_check(skew=1), kind="hypothesis"),
        # 'orthonormal' slipped to 'orthogonal': a basis normalised up to a factor 1.5 (relative change 0.5)
        Foil("for an orthogonal basis with ||e_i|| = 1.5 (normalisation off by a factor 1.5), the induced basis is "
             "orthonormal", _ortho_tensor_check(scale=sp.Rational(3, 2)), kind="factor", nearest=True, size=0.5,
             unit="relative"),
    ),
)


# ---------------------------------------------------------------------------------------------
# B.1.2 tensor powers of matrices
# ---------------------------------------------------------------------------------------------

DEF_B2 = r"""Let f be an endomorphism of V. Then we can define an endomorphism $\otimes^t f$ acting on V by setting for every $v_1, \dots, v_t \in V$

$$(\otimes^t f)(v_1 \otimes \cdots \otimes v_t) = f(v_1) \otimes \cdots \otimes f(v_t).$$

By specifying a basis, we can thus make sense of the tensor powers of a matrix.

Definition B.2. Let $(e_i) = (e_1, \dots, e_n)$ the standard basis for \mathbb{R}^n , consider (e_I) the induced basis on $\otimes^t \mathbb{R}^n$ ordered as above. Let M be an $n \times n$ matrix, denote f the automorphism of \mathbb{R}^n it represents in the basis (e_i) . Then $\otimes^t M$ is the $n^t \times n^t$ matrix representing $\otimes^t f$ in the basis (e_I) of $\otimes^t \mathbb{R}^n$."""


def _rep_tensor_case(n: int, t: int):
    def fn():
        m = _symmat("m", n, n)
        vs = [list(_symmat(f"v{k}_", n, 1)) for k in range(t)]
        big = sp.Matrix(ten.tensor_power_by_expansion(m.tolist(), t))
        lhs = big * sp.Matrix(ten.tensor_by_expansion(vs))
        rhs = ten.tensor_by_expansion([list(m * sp.Matrix(v)) for v in vs])
        return [a - b for a, b in zip(lhs, rhs)]
    return (f"n={n},t={t}", fn)


def _rep_tensor_cmp(M, V) -> Comparison:
    n, t = V.shape
    lhs = ten.tensor_power(M, t) @ ten.elementary_tensor(*V.T)
    rhs = ten.elementary_tensor(*(M @ V).T)
    scale = _nrm(M) ** t * float(np.prod(np.linalg.norm(V, axis=0)))
    return Comparison(_maxabs(lhs - rhs), _tol_tensor(n, t, scale, kernels=t + 1), {"n": n, "t": t})


_pc_rep_tensor = PropertyCheck(_matrix_and_family(4, tensor=True), _rep_tensor_cmp,
                               generated="M: " + STRESS_WORDS + "; n = 1..4; factors v_1..v_t (t = 1..3) the "
                                         "columns of an n x t stress matrix")

claim(
    id="def-b.2",
    ref="Definition B.2 (Appendix B.1.2)",
    section=SECTION,
    statement=DEF_B2,
    reading="⊗^t f is well defined (its formula respects the relations of Definition B.1) and the matrix ⊗^t M "
            "(built column by column from the images f(e_{j_1})⊗...⊗f(e_{j_t}) of the basis) satisfies "
            "(⊗^t M)(v_1⊗...⊗v_t) = Mv_1⊗...⊗Mv_t for all v_k. Read, as the sentence before the definition "
            "says ('Let f be an endomorphism of V. Then we can define an endomorphism ⊗^t f'), for any matrix M "
            "(singular M included); the word 'automorphism' in the definition is a wording note of its own "
            "(def-b.2/automorphism). '⊗^t f acting on V' is read as acting on ⊗^t V (the formula's domain).",
    hypotheses=("M any n x n real matrix",),
    exercises="symbolic M and v_k; float: singular and ill-conditioned M (rank 'any', cond up to 1e8).",
    depends_on=("def-b.1", "app-b.1.1/dimension"),
    kind=Kind.DEFINITION,
    check=_symbolic_check([_rep_tensor_case(2, 2), _rep_tensor_case(3, 2), _rep_tensor_case(2, 3)],
                          "(⊗^t M)(v_1⊗...⊗v_t) = Mv_1⊗...⊗Mv_t", _pc_rep_tensor),
)


AUTO_B2 = r"""Let M be an $n \times n$ matrix, denote f the automorphism of \mathbb{R}^n it represents in the basis (e_i) . Then $\otimes^t M$ is the $n^t \times n^t$ matrix representing $\otimes^t f$ in the basis (e_I) of $\otimes^t \mathbb{R}^n$."""

_AUTO_CE = {"M": np.array([[1, 0], [0, 0]])}


def _auto_literal_cmp(M) -> Comparison:
    """Literal: the f that M represents is an automorphism (M invertible). err = 1 when det M = 0 (exact)."""
    M = np.asarray(M, dtype=np.int64)
    det = ext.leibniz_det(M.tolist())
    return Comparison(float(det == 0), 0.5, {"M": M.tolist(), "det": int(det)})


@st.composite
def _int_matrix_of_rank(draw, max_n: int, max_t):
    """Integer n x n matrices M = A B (A: n x r, B: r x n, entries in [-2, 2], r = 0..n, so singular M are
    frequent) and an order t in 1..max_t(n); the exact rank is computed by the comparison."""
    n = draw(st.integers(1, max_n))
    r = draw(st.integers(0, n))
    rng = np.random.default_rng(draw(S.seeds()))
    M = rng.integers(-2, 3, (n, r)) @ rng.integers(-2, 3, (r, n)) if r else np.zeros((n, n), dtype=np.int64)
    return {"M": M.astype(np.int64), "t": draw(st.integers(1, max_t(n)))}


def _power_rank_cmp(M, t, *, power_exact, predicted) -> Comparison:
    """Exact: rank(power(M)) = predicted(rank M, n, t) (over Q)."""
    M = np.asarray(M, dtype=np.int64)
    n = M.shape[0]
    r = _rank_q(M.tolist())
    big = power_exact(M.tolist(), t)
    rb = _rank_q(big) if big and big[0] else 0
    pred = predicted(r, n, t)
    return Comparison(float(rb != pred), 0.5, {"n": n, "t": t, "rank_M": r, "rank_power": rb, "predicted": pred})


def _automorphism_claim(*, cid, ref, statement, sym, dims, power_exact, predicted, rank_text, max_t, foils, paper_use):
    """Wording claims for Definitions B.2 / B.4: 'the automorphism' M represents, for a matrix M that
    need not be invertible. Printed (literal) check: M = diag(1, 0) represents no automorphism; corrected:
    the power of the endomorphism f is well defined and is an automorphism iff f is (exact ranks)."""

    def check(ctx) -> Outcome:
        cmp = _auto_literal_cmp(**_AUTO_CE)
        big = power_exact(_AUTO_CE["M"].tolist(), 2)
        return Outcome(Status.REFUTED if not cmp.ok else Status.VERIFIED,
                       f"M = diag(1, 0) (a realisation of a p-gate, Definition 5.1) has det 0: it represents no "
                       f"automorphism, yet {sym}^t M is defined by the construction and used: {paper_use}",
                       evidence={"M": cmp.detail, f"{sym}^2 M": big},
                       method="Exact determinant (Leibniz on integers); the literal reading restricts the "
                              "definition to invertible M.",
                       counterexample={"inputs": {"M": _AUTO_CE["M"]}})

    pc = PropertyCheck(_int_matrix_of_rank(4, max_t),
                       functools.partial(_power_rank_cmp, power_exact=power_exact, predicted=predicted),
                       classify=lambda d: f"M singular: {d['rank_M'] < d['n']}",
                       generated=f"integer M = A B (n = 1..4, inner size r = 0..n, entries in [-2, 2]: singular M "
                                 f"frequent), t = 1..{max_t(4)}; exact ranks over Q of M and of {sym}^t M "
                                 f"(built from the relations, entries exact integers)")
    claim(
        id=cid,
        ref=ref,
        section=SECTION,
        statement=statement,
        reading=f"Literal: the definition applies to M only through 'the automorphism f it represents', i.e. to "
                f"invertible M. The context fixes the intended word: the sentence before it reads 'Let f be an "
                f"endomorphism of V. Then we can define an endomorphism {sym}^t f', and {paper_use}.",
        hypotheses=("M an n x n real matrix",),
        exercises="M = diag(1, 0); for the corrected form, exact integer matrices of every rank 0..n.",
        depends_on=("def-b.2",) if sym == "⊗" else ("def-b.4",),
        kind=Kind.DEFINITION,
        check=check,
        replay=lambda ce: _auto_literal_cmp(np.asarray(ce["inputs"]["M"])),
        severity=Severity.WORDING,
        severity_note=f"'automorphism' is a slip for 'endomorphism': the preceding sentence defines {sym}^t f for every "
                      f"endomorphism f, the matrix construction needs no inverse, and every property stated after "
                      f"the definition holds for singular M (checked on singular M by the claims of this section).",
        corrected=Corrected(
            statement=f"Let M be an $n \\times n$ matrix and f the endomorphism of $\\mathbb{{R}}^n$ it represents. Then "
                      f"the ${dims}$ matrix {sym}^t M represents {sym}^t f; {sym}^t f is an automorphism if and only if f is "
                      f"(indeed rank {sym}^t M = {rank_text}).",
            reading=f"Exact ranks: rank({sym}^t M) = {rank_text} for integer M of every rank, singular "
                    f"ones included (the representation property for singular M is "
                    f"{'def-b.2' if sym == '⊗' else 'def-b.4'}, whose float inputs have any rank).",
            derivation="With M = U diag(s) V^T, the power is (power U) diag(s_I) (power V)^T (app-b.1.2/svd, "
                       "app-b.2.2/svd), so its rank is the number of nonzero products s_I.",
            check=pc,
            replay=pc.replay,
            # a foil is (text, wrong prediction, kind) or (..., {"nearest": True, "size": ..., "unit": ...})
            foils=tuple(Foil(f[0], pc.foil(functools.partial(_power_rank_cmp, power_exact=power_exact,
                                                             predicted=f[1])), kind=f[2], **(f[3] if len(f) > 3 else {}))
                        for f in foils),
        ),
    )


_automorphism_claim(
    cid="def-b.2/automorphism", ref="Definition B.2 ('the automorphism of R^n it represents')", statement=AUTO_B2,
    sym="⊗", dims="n^t \\times n^t", power_exact=ten.tensor_power_by_formula,
    predicted=lambda r, n, t: r**t, rank_text="(rank M)^t",
    max_t=lambda n: 2 if n > 2 else 3,  # n^t <= 27: exact ranks stay cheap
    foils=(("⊗^t f is an automorphism for every M (the literal 'automorphism'): rank ⊗^t M = n^t",
            lambda r, n, t: n**t, "hypothesis"),
           ("rank ⊗^t M = t rank M", lambda r, n, t: t * r, "exponent"),
           ("rank ⊗^t M = (rank M)^(t-1) (the exponent off by one)", lambda r, n, t: r ** (t - 1), "exponent",
            {"nearest": True, "size": 1, "unit": "absolute"})),
    paper_use="Appendix B.1 says tensor powers are not used in the proofs, but they are introduced as the model "
              "for exterior powers, which Appendix C applies to singular matrices")


COEF_B2 = r"""If $M = (m_{i,j})$, then for $I, J \subseteq \{1, \dots, n\}^t$, $I = (i_1, \dots, i_t)$, $J = (j_1, \dots, j_t)$, the coefficient in position (I, J) of $\otimes^t M$ is

$$(\otimes^t M)_{I,J} = \prod_{k=1}^t m_{i_k, j_k}.$$"""


def _entry_printed(m, I, J):
    """(⊗^t M)_{I,J} = prod_k m_{i_k, j_k}, as printed."""
    return _prod(m[I[k]][J[k]] for k in range(len(I)))


def _formula_matrix(m, t, entry) -> list[list]:
    """The matrix (entry(m, I, J))_{I,J} over lexicographic multi-indices (any ring)."""
    idx = ten.multi_indices(len(m), t)
    return [[entry(m, I, J) for J in idx] for I in idx]


def _coef_tensor_case(n: int, t: int, entry=_entry_printed):
    def fn():
        m = _symmat("m", n, n)
        rep = sp.Matrix(ten.tensor_power_by_expansion(m.tolist(), t))
        formula = sp.Matrix(_formula_matrix(m.tolist(), t, entry))
        kron = m
        for _ in range(t - 1):
            kron = sp.kronecker_product(kron, m)
        return list(rep - formula) + list(kron - formula)
    return (f"n={n},t={t}", fn)


def _coef_tensor_cmp(M, t, entry=_entry_printed) -> Comparison:
    n = M.shape[0]
    formula = np.array(_formula_matrix(M.tolist(), t, entry), dtype=np.float64)
    return Comparison(_maxabs(ten.tensor_power(M, t) - formula), _tol_tensor(n, t, _nrm(M) ** t, kernels=t),
                      {"n": n, "t": t})


_pc_coef_tensor = PropertyCheck(_square_one(4, (1, 3)), _coef_tensor_cmp,
                                generated="M: " + STRESS_WORDS + "; n = 1..4, t = 1..3; the Kronecker kernel vs "
                                          "the printed product formula entry by entry")


def _coef_tensor_check(entry=_entry_printed):
    return _symbolic_check([_coef_tensor_case(n, t, entry) for n, t in ((2, 2), (3, 2), (2, 3))],
                           "the coefficient formula", _pc_coef_tensor.foil(functools.partial(_coef_tensor_cmp,
                                                                                             entry=entry)))


claim(
    id="def-b.2/coefficient",
    ref="Appendix B.1.2 (coefficients of ⊗^t M)",
    section=SECTION,
    statement=COEF_B2,
    reading="The matrix representing ⊗^t f in (e_I) (column J = coordinates of f(e_{j_1})⊗...⊗f(e_{j_t}), "
            "obtained by expanding with the multilinear relations) has entries prod_k m_{i_k j_k}; the Kronecker "
            "power used as the float kernel equals it.",
    hypotheses=("lexicographic order on multi-indices",),
    exercises="symbolic M; float stress matrices for the kernel.",
    depends_on=("def-b.2",),
    kind=Kind.SYMBOLIC,
    check=_coef_tensor_check(),
    foils=(
        Foil("(⊗^t M)_{I,J} = prod_k m_{j_k, i_k} (row and column multi-indices swapped)",
             _coef_tensor_check(lambda m, I, J: _entry_printed(m, J, I)), kind="index", nearest=True, size=1,
             unit="transposition"),
        Foil("(⊗^t M)_{I,J} = prod_k m_{i_k, j_{t+1-k}} (slots of J taken in reverse order)",
             _coef_tensor_check(lambda m, I, J: _entry_printed(m, I, J[::-1])), kind="index"),
    ),
)


MULT_B2 = r"""Tensor powers are compatible with matrix multiplication:

$$\otimes^t(MN) = (\otimes^t M)(\otimes^t N).$$"""


def _mult_tensor_case(n: int, t: int, reverse=False):
    def fn():
        m, nn = _symmat("m", n, n), _symmat("p", n, n)
        tp = lambda a: sp.Matrix(ten.tensor_power_by_formula(a.tolist(), t))  # noqa: E731
        return tp(m * nn) - (tp(nn) * tp(m) if reverse else tp(m) * tp(nn))
    return (f"n={n},t={t}", fn)


def _mult_tensor_cmp(M, N, t, reverse=False) -> Comparison:
    """⊗^t(MN) = (⊗^t M)(⊗^t N); ``reverse``: the factors in the other order."""
    n = M.shape[0]
    lhs = ten.tensor_power(M @ N, t)
    a, b = ten.tensor_power(M, t), ten.tensor_power(N, t)
    rhs = b @ a if reverse else a @ b
    scale = (_nrm(M) * _nrm(N)) ** t
    return Comparison(_maxabs(lhs - rhs), _tol_tensor(n, t, scale, kernels=t + 1), {"n": n, "t": t,
                      "cond_M": float(np.linalg.cond(M)), "cond_N": float(np.linalg.cond(N))})


_pc_mult_tensor = PropertyCheck(_square_pair(4, (1, 3)), _mult_tensor_cmp,
                                generated="M, N: " + STRESS_WORDS + "; n = 1..4, t = 1..3")


def _mult_tensor_check(reverse=False):
    return _symbolic_check([_mult_tensor_case(n, t, reverse) for n, t in ((2, 2), (3, 2), (2, 3))],
                           "⊗^t(MN) = ⊗^t M ⊗^t N",
                           _pc_mult_tensor.foil(functools.partial(_mult_tensor_cmp, reverse=reverse)))


claim(
    id="app-b.1.2/multiplicative",
    ref="Appendix B.1.2 (⊗^t(MN) = ⊗^t M ⊗^t N)",
    section=SECTION,
    statement=MULT_B2,
    reading="For all n x n real M, N and t >= 1, as an identity of n^t x n^t matrices — singular M, N included (no "
            "hypothesis is missing: the identity is polynomial in the entries, whatever Definition B.2's "
            "'automorphism' says; see def-b.2/automorphism).",
    hypotheses=("M, N any n x n real matrices",),
    exercises="symbolic M, N (polynomial identity); float: ill-conditioned, rank-deficient, repeated spectra.",
    depends_on=("def-b.2/coefficient",),
    kind=Kind.SYMBOLIC,
    check=_mult_tensor_check(),
    foils=(
        Foil("⊗^t(MN) = (⊗^t N)(⊗^t M) (factors in the other order)", _mult_tensor_check(reverse=True),
             kind="order", nearest=True, size=1, unit="order"),
    ),
)


SVD_B2 = r"""If u_1, \dots, u_n denote the singular vectors of M in \mathbb{R}^n , with corresponding singular values $s_1 \geq \dots \geq s_n$, then the singular vectors of $\otimes^t M$ are exactly the elementary tensors

$$u_{i_1} \otimes \dots \otimes u_{i_t}, \quad I = (i_1, \dots, i_t) \subseteq \{1, \dots, n\}^t$$

with corresponding singular values given by the product $\prod_{i \in I} s_i$."""


def _sI_product(s, I):
    """s_I = prod_{i in I} s_i (as printed); works on floats and mpmath numbers."""
    return _prod(s[i] for i in I)


def _sI_sum(s, I):
    return sum((s[i] for i in I), 0 * s[0])


def _rot(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


# Fixed stress inputs for the SVD claims: non-symmetric (left != right singular vectors), distinct
# singular values, and for ∧ a tie between index sets sharing no index (s_1 s_4 = s_2 s_3 = 6), where a
# singular subspace of ∧^2 M contains non-elementary wedges; for ⊗, t = 2 ties s_1 s_2 = s_2 s_1.
_FIXED_M2 = _rot(0.3) @ np.diag([2.0, 1.0]) @ _rot(1.1).T
_FIXED_M4 = np.kron(_rot(0.3), _rot(0.7)) @ np.diag([6.0, 3.0, 2.0, 1.0]) @ np.kron(_rot(1.1), _rot(0.2)).T
_FIXED_TENSOR = [{"M": _FIXED_M2, "t": 2}]
_FIXED_WEDGE = [{"M": _FIXED_M4, "t": 2}]
_FIXED_WHY_TENSOR = "M = R(0.3) diag(2, 1) R(1.1)^T, t = 2: non-symmetric, s_1 s_2 = s_2 s_1 tied"
_FIXED_WHY_WEDGE = ("M = (R(0.3)⊗R(0.7)) diag(6, 3, 2, 1) (R(1.1)⊗R(0.2))^T, t = 2: non-symmetric, s_1 s_4 = "
                    "s_2 s_3 tied across index sets sharing no index")


def _power_svd_cmp(power, index_list, scale_fn):
    """Shared by tensor and exterior: for an SVD M = U diag(s) V^T, (power U) diag(s_I) (power V)^T is
    an SVD of power(M): orthogonal factors, reconstruction, and the multiset of singular values
    (numpy SVD of power(M) vs products of mpmath singular values of M).

    Knobs (printed values as defaults): ``value(s, I)`` the singular value attached to I (product);
    ``right_u`` take the u_I as right singular vectors too; ``indices(n, t)`` a sub-family of the
    index list (all of it)."""

    def compare(M, t, *, value=_sI_product, right_u=False, indices=None) -> Comparison:
        n = M.shape[0]
        U, s, Vt = np.linalg.svd(M)
        full = index_list(n, t)
        idx = full if indices is None else indices(n, t)
        cols = [full.index(I) for I in idx]
        PU = power(U, t)[:, cols]
        PV = PU if right_u else power(Vt.T, t)[:, cols]
        sI = np.array([float(value(s, I)) for I in idx])
        N = len(idx)
        scale = scale_fn(s, t)
        if not full:
            return Comparison(0.0, 1.0, {"n": n, "t": t, "note": "empty power"})
        orth = max(_maxabs(PU.T @ PU - np.eye(N)), _maxabs(PV.T @ PV - np.eye(N)))
        recon = _maxabs(power(M, t) - (PU * sI) @ PV.T)
        # independent: singular values of the power computed directly vs mpmath products (a missing
        # index set counts as a predicted 0)
        direct = np.sort(np.linalg.svd(power(M, t), compute_uv=False))[::-1]
        smp = _mp_singular_values(M)
        with mpmath.workdps(MP_DPS):
            prods = sorted((float(value(smp, I)) for I in idx), reverse=True)
        prods = np.array(prods + [0.0] * (len(full) - len(prods)))
        sv_err = float(np.max(np.abs(direct - prods)))
        tols = {"orth": tol(len(full) + n, kernels=2 * t),
                "recon": tol(len(full) + n, scale=scale, kernels=2 * t + 2),
                "singular_values": tol(len(full) + n, scale=scale, kernels=2 * t)}
        ratios = {"orth": orth / tols["orth"], "recon": recon / tols["recon"],
                  "singular_values": sv_err / tols["singular_values"]}
        worst = max(ratios, key=ratios.get)
        errs = {"orth": orth, "recon": recon, "singular_values": sv_err}
        return Comparison(errs[worst], tols[worst], {"n": n, "t": t, "worst_part": worst,
                                                      "err_over_tol": ratios, "s1": float(s[0]),
                                                      "cond": float(s[0] / s[-1]) if s[-1] > 0 else "inf"})
    return compare


def _subspace_cmp(power, index_list, scale_fn, defect):
    """'Exactly': for every value σ, the left (right) singular subspace of power(M) for σ is
    span{u_I : s_I = σ} (span{v_I}), and the singular values with multiplicity are the s_I. Values within
    sqrt(eps)*scale are grouped; each group's computed singular subspace is compared with the span of
    its u_I, tolerance by Wedin's theorem (sin θ <= 2 ||E|| / gap) with the gap to the neighbouring groups.

    Knobs: ``value``, ``right_u`` as in :func:`_power_svd_cmp`; ``literal`` asserts in addition the
    literal 'no other singular vectors': every unit vector (u_a + u_b)/√2 of a group (a singular vector
    once the spans agree) is an elementary tensor/wedge, measured by ``defect`` (0 iff elementary)."""

    def compare(M, t, *, value=_sI_product, right_u=False, literal=False) -> Comparison:
        n = M.shape[0]
        U, s, Vt = np.linalg.svd(M)
        idx = index_list(n, t)
        N = len(idx)
        if N == 0:
            return Comparison(0.0, 1.0, {"n": n, "t": t})
        PU = power(U, t)
        PV = PU if right_u else power(Vt.T, t)
        sI = np.array([float(value(s, I)) for I in idx])
        order = np.argsort(-sI, kind="stable")
        sI, PU, PV = sI[order], PU[:, order], PV[:, order]
        scale = scale_fn(s, t)
        tau = np.sqrt(EPS64) * max(scale, np.finfo(float).tiny)
        cuts = [0] + [k for k in range(1, N) if sI[k - 1] - sI[k] > tau] + [N]
        Ub, sb, Vbt = np.linalg.svd(power(M, t))
        E = tol(N + n, scale=scale, kernels=2 * t + 2)
        # (err, tol, info) per part; the one with the largest err/tol is reported
        parts = [(float(np.max(np.abs(sb - sI))), E, {"part": "singular values = s_I with multiplicity"})]
        for a, b in zip(cuts[:-1], cuts[1:]):
            gap = min(sI[a - 1] - sI[a] if a > 0 else np.inf, sI[b - 1] - sI[b] if b < N else np.inf)
            for side, basis, comp in (("left", PU, Ub), ("right", PV, Vbt.T)):
                P1 = comp[:, a:b] @ comp[:, a:b].T
                P2 = basis[:, a:b] @ basis[:, a:b].T
                tl = (2 * E / gap if np.isfinite(gap) else 0.0) + tol(N + n, kernels=2 * t)
                parts.append((_nrm(P1 - P2), tl, {"part": "singular subspace", "group": [int(a), int(b)],
                                                  "side": side, "value": float(sI[a]),
                                                  "gap": float(gap) if np.isfinite(gap) else "inf"}))
            if literal and b - a >= 2:
                x = [(PU[:, a] + PU[:, c]) / np.sqrt(2.0) for c in range(a + 1, b)]
                d = max(defect(v, n, t) for v in x)
                parts.append((d, tol(N + n, kernels=2 * t), {"part": "literal: every singular vector elementary",
                                                             "group": [int(a), int(b)], "value": float(sI[a])}))
        # the detector the literal foil relies on, at its zero: u_I of the top and of the bottom group are
        # elementary (defect ≈ 0) — two per input keeps the cost down; each input has other u_I
        d0 = max(defect(PU[:, c], n, t) for c in {0, cuts[-2]})
        parts.append((d0, tol(N + n, kernels=2 * t + 2), {"part": "u_I elementary: defect ≈ 0 (detector at its zero)"}))
        worst, worst_tol, info = max(parts, key=lambda p: (p[0] / p[1], -p[1]))
        return Comparison(worst, worst_tol, {"n": n, "t": t, "groups": len(cuts) - 1, **info})
    return compare


_cmp_svd_tensor = _power_svd_cmp(ten.tensor_power, ten.multi_indices, lambda s, t: float(s[0]) ** t)
_pc_svd_tensor = PropertyCheck(_square_one(4, (1, 3)), _cmp_svd_tensor,
    generated="M: " + STRESS_WORDS + "; n = 1..4, t = 1..3; reference singular values of M by mpmath (40 digits)")


def _svd_check(pc, fixed, why, **knobs):
    """The SVD claims' check: fixed stress inputs, then the Hypothesis search, with the knobs given."""
    return _fixed_then(fixed, pc.foil(functools.partial(pc.compare, **knobs)) if knobs else pc, why)


def _nondecreasing(n, t):
    return [I for I in ten.multi_indices(n, t) if list(I) == sorted(I)]


SVD_READING = ("Fair reading, from the paper's own usage: 'the singular vectors of M' (u_1, ..., u_n) can only mean "
               "one orthonormal system of singular vectors (an SVD basis) — singular vectors are never unique "
               "(signs; rotations inside a repeated singular value), so for t = 1 a literal 'exactly these and no "
               "others' would already be false — and the next sentence hedges '(one of) the top singular vector(s)'. "
               "So: for an SVD M = U diag(s) V^T (left u_i, right v_i, zero singular values allowed), the "
               "elementary {kind} u_I (with v_I on the right) form an orthonormal system of singular vectors of "
               "{sym}^t M with singular values s_I = prod_{{i in I}} s_i: {sym}^t M = ({sym}^t U) diag(s_I) "
               "({sym}^t V)^T with {sym}^t U, {sym}^t V orthogonal, and the singular values of {sym}^t M are "
               "exactly these products (as a multiset).")

claim(
    id="app-b.1.2/svd",
    ref="Appendix B.1.2 (SVD of ⊗^t M)",
    section=SECTION,
    statement=SVD_B2,
    reading=SVD_READING.format(kind="tensors", sym="⊗") + " That the u_I account for every singular vector (the word "
            "'exactly') is app-b.1.2/svd-exactly.",
    hypotheses=("M any n x n real matrix", "s_1 >= ... >= s_n"),
    exercises="repeated and clustered singular values (non-unique u_i), rank-deficient M (zero singular values), "
              "cond up to 1e8; a fixed non-symmetric M.",
    depends_on=("app-b.1.2/multiplicative", "app-b.1.1/orthonormal-basis"),
    kind=Kind.IDENTITY,
    check=_svd_check(_pc_svd_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR),
    replay=_pc_svd_tensor.replay,
    foils=(
        Foil("the singular values of ⊗^t M are the sums s_{i_1} + ... + s_{i_t}",
             _svd_check(_pc_svd_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR, value=_sI_sum), kind="formula"),
        Foil("the u_I are both left and right singular vectors of ⊗^t M (right ones not v_I)",
             _svd_check(_pc_svd_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR, right_u=True), kind="index",
             nearest=True, size=1, unit="transposition"),
        Foil("one singular vector u_I per non-decreasing multi-index i_1 <= ... <= i_t (⊗ read as commutative)",
             _svd_check(_pc_svd_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR, indices=_nondecreasing), kind="index"),
    ),
)


# t = 1 is left out: there the power is M itself and both sides come from the same SVD (vacuous).
_cmp_svd_tensor_sub = _subspace_cmp(ten.tensor_power, ten.multi_indices, lambda s, t: float(s[0]) ** t,
                                    ten.elementary_defect)
_pc_svd_tensor_sub = PropertyCheck(_square_one(4, (2, 3)), _cmp_svd_tensor_sub,
    generated="M: " + STRESS_WORDS + "; n = 1..4, t = 2..3; singular values and singular subspaces of ⊗^t M from "
              "numpy SVD vs the products s_I and the spans of the u_I with equal product value")


def _literal_tensor_evidence() -> dict:
    """Why the literal reading cannot be meant: a non-elementary singular vector for every M (t = n = 2)."""
    M = sp.diag(2, 1)
    x = sp.Matrix([0, 1, 1, 0]) / sp.sqrt(2)
    big = sp.kronecker_product(M, M)
    pair = sp.simplify(big * x - 2 * x) == sp.zeros(4, 1) and sp.simplify(big.T * x - 2 * x) == sp.zeros(4, 1)
    return {"M": "diag(2, 1)", "t": 2, "x": "(e1⊗e2 + e2⊗e1)/√2", "sympy_singular_pair_value_2": bool(pair),
            "coefficient_matrix_rank": int(sp.Matrix(2, 2, list(x)).rank()),
            "why": "s_I = s_J whenever J permutes I, so for t, n >= 2 every ⊗^t M has tied singular values and "
                   "non-elementary singular vectors: the literal 'no other singular vectors' is false for every "
                   "matrix, which is why it is not the reading (it is the first foil)"}


def _exactly_check(pc, fixed, why, evidence=None, **knobs):
    inner = _svd_check(pc, fixed, why, **knobs)

    def check(ctx) -> Outcome:
        out = inner(ctx)
        if evidence is not None and not knobs:
            out.evidence["literal_reading"] = ctx.memo("literal-evidence", evidence)
        return out

    check.replay = inner.replay
    return check


EXACTLY_READING = ("Fair reading of 'exactly' (see app-b.{sec}/svd for why 'the singular vectors' means an SVD basis, "
                   "quoting the hedge '(one of) the top singular vector(s)'): the u_I are all the singular vectors "
                   "there are, up to the non-uniqueness singular vectors always have — for every value σ the left "
                   "(right) singular subspace of {sym}^t M is span{{u_I : s_I = σ}} (span{{v_I}}), and the singular "
                   "values with multiplicity are the s_I. The literal 'every singular vector is one of the u_I' "
                   "{literal}; it is kept as a foil.")

claim(
    id="app-b.1.2/svd-exactly",
    ref="Appendix B.1.2 (singular vectors of ⊗^t M, 'exactly')",
    section=SECTION,
    statement=SVD_B2,
    reading=EXACTLY_READING.format(sec="1.2", sym="⊗", literal="fails for every M once t, n >= 2 (u_1⊗u_2 and "
                                   "u_2⊗u_1 share s_1 s_2, and their sum is a non-elementary singular vector)"),
    hypotheses=("M any n x n real matrix",),
    exercises="t = 2, 3 (where ties s_I = s_J for permuted I are automatic), repeated / clustered spectra, "
              "rank-deficient M (a zero singular subspace); a fixed non-symmetric M with distinct singular values.",
    depends_on=("app-b.1.2/svd",),
    kind=Kind.IDENTITY,
    check=_exactly_check(_pc_svd_tensor_sub, _FIXED_TENSOR, _FIXED_WHY_TENSOR, _literal_tensor_evidence),
    replay=_pc_svd_tensor_sub.replay,
    foils=(
        Foil("literal 'exactly': every unit singular vector of ⊗^t M is an elementary tensor u_{i_1}⊗...⊗u_{i_t}",
             _exactly_check(_pc_svd_tensor_sub, _FIXED_TENSOR, _FIXED_WHY_TENSOR, literal=True), kind="reading"),
        Foil("the singular values of ⊗^t M are the sums s_{i_1} + ... + s_{i_t}",
             _exactly_check(_pc_svd_tensor_sub, _FIXED_TENSOR, _FIXED_WHY_TENSOR, value=_sI_sum), kind="formula"),
        Foil("the right singular subspaces of ⊗^t M are spanned by the u_I too",
             _exactly_check(_pc_svd_tensor_sub, _FIXED_TENSOR, _FIXED_WHY_TENSOR, right_u=True), kind="index",
             nearest=True, size=1, unit="transposition"),
    ),
)


TOP_B2 = r"""In particular, (one of) the top singular vector(s) of $\otimes^t M$ is $u_1 \otimes \dots \otimes u_1$ with singular value s_1^t ."""


def _top_cmp(power, top_value, top_index):
    """||power(M)||_2 = top_value and power(M) v_I = top_value u_I for the top index I. Knobs: ``value``
    (the predicted top singular value, from mpmath singular values); ``eigen`` takes u_I for v_I (u as
    an eigenvector of power(M))."""

    def compare(M, t, *, value=top_value, eigen=False) -> Comparison:
        n = M.shape[0]
        U, s, Vt = np.linalg.svd(M)
        I = top_index(t)
        uI = _column_of_power(power, U, I, n, t)
        vI = uI if eigen else _column_of_power(power, Vt.T, I, n, t)
        big = power(M, t)
        smp = _mp_singular_values(M)
        with mpmath.workdps(MP_DPS):
            val = float(value(smp, t))
        norm_direct = float(np.linalg.svd(big, compute_uv=False)[0]) if big.size else 0.0
        scale = float(s[0]) ** t
        e1 = abs(norm_direct - val)
        e2 = _nrm(big @ vI - val * uI)
        tl = tol(big.shape[0] + n, scale=scale, kernels=2 * t + 2)
        return Comparison(max(e1, e2), tl, {"n": n, "t": t, "top_value_predicted": val, "norm_numpy": norm_direct,
                                             "abs(norm - value)": e1, "norm(power(M) v_I - value u_I)": e2})
    return compare


def _column_of_power(power, U, I, n, t):
    """The column of power(U) indexed by the multi-index / index set I."""
    idx = ten.multi_indices(n, t) if power is ten.tensor_power else ext.index_sets(n, t)
    return power(U, t)[:, idx.index(tuple(I))]


_pc_top_tensor = PropertyCheck(_square_one(4, (1, 3)), _top_cmp(
    ten.tensor_power, lambda smp, t: smp[0] ** t, lambda t: (0,) * t),
    generated="M: " + STRESS_WORDS + "; n = 1..4, t = 1..3; ||⊗^t M||_2 from numpy SVD of the power vs s_1^t from "
              "mpmath")

claim(
    id="app-b.1.2/top",
    ref="Appendix B.1.2 (top singular vector of ⊗^t M)",
    section=SECTION,
    statement=TOP_B2,
    reading="||⊗^t M||_2 = s_1^t and (⊗^t M)(v_1⊗...⊗v_1) = s_1^t u_1⊗...⊗u_1, so u_1⊗...⊗u_1 is a top left singular "
            "vector — 'one of' several, as the hedge '(one of) the top singular vector(s)' says, when s_1 is "
            "repeated or t >= 2 with s_1 = s_2.",
    hypotheses=("s_1 the largest singular value of M",),
    exercises="repeated top singular values (s_1 = s_2), rank-1 M, extreme scales; a fixed non-symmetric M.",
    depends_on=("app-b.1.2/svd",),
    kind=Kind.IDENTITY,
    check=_svd_check(_pc_top_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR),
    replay=_pc_top_tensor.replay,
    foils=(
        Foil("the top singular value of ⊗^t M is s_1 s_2 ... s_t (the exterior-power value)",
             _svd_check(_pc_top_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR,
                        value=lambda smp, t: _prod(smp[min(k, len(smp) - 1)] for k in range(t))), kind="formula",
             nearest=True, size=1, unit="index"),
        Foil("(⊗^t M)(u_1⊗...⊗u_1) = s_1^t u_1⊗...⊗u_1 (u_1 taken as an eigenvector: left and right swapped)",
             _svd_check(_pc_top_tensor, _FIXED_TENSOR, _FIXED_WHY_TENSOR, eigen=True), kind="index"),
    ),
)
