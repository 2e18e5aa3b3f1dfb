"""Helpers of Appendices D, E, F and of the depth-scaling figures that mutation testing (fresh sample, seed 1)
found unguarded (issue 17, part 6).

Each test compares a whole helper with what it is defined to be, computed independently (an mpmath / numpy
eigen-decomposition, exact ranks, the sympy exponent algebra of the printed assumption, the plotted formula
named in a curve's label), at its zeros and away from them, so any slip in the helper fails here even where
no claim's verdict changes. Float comparisons use tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from checks import Outcome, Status
from checks.tolerance import tol
from tests.conftest import within
from theory import alignment as al
from theory import lyapunov
from theory.claims import _ladder, app_d, app_e, app_f, fig_depth

EPS = np.finfo(float).eps


# -- Appendix D: the entry-decay showcase table ------------------------------------------------------

_C4 = np.array([[2.0, 0.7, 0.3, 0.2], [0.7, 1.5, -0.4, 0.1], [0.3, -0.4, 1.0, -0.3], [0.2, 0.1, -0.3, 0.8]])


_BLOCK = np.zeros((4, 4))
_BLOCK[:2, :2], _BLOCK[2:, 2:] = [[1.0, 0.5], [0.5, 1.0]], [[1.0, 0.3], [0.3, 1.0]]


@pytest.mark.parametrize("C, kind, a, Ls", [(_C4, "exp", [0.0, 0.5, 1.2, 2.0], [40.0, 80.0, 160.0]),
                                            (_C4, "poly", [0.0, 1.0, 2.0, 3.0], [1e6, 1e7, 1e8]),
                                            (_BLOCK, "exp", [0.0, 0.5, 1.2, 2.0], [10.0, 20.0, 40.0]),
                                            # entries at 170, 128 and 132 x their float64 resolution (near the 100x cut)
                                            (_C4, "exp", [0.0, 0.5, 1.2, 2.0], [8.0, 15.5, 21.5])])
def test_entry_decay_table_rows_and_curves_are_the_entries_they_name(C, kind, a, Ls):
    """Every row and curve of entry_decay_table names (1-based) the entry e_j^T u_i it fits: the labels cover
    each pair j != i <= r once; the curve's log|e_j^T u_i| (-inf for an exact zero: the block-diagonal C
    decouples coordinates 1-2 from 3-4) and log-ratio are those of the mpmath eigen-decomposition (graded_eig)
    and of the corrected ratio at each depth; K_pred is the corrected constant of that (j, i)
    (alignment.entry_prediction); the fit recovers it (slope 1 against the corrected ratio, constant K_pred)
    within the O(eps_L) remainder of the ladder criterion propagated through the 3-point least-squares fit
    (undefined, nan, where the entry is 0); and the float64 rows count the entries above 100x their
    Davis-Kahan resolution and their error over it."""
    a = np.array(a)
    r, n = 3, C.shape[0]
    rows, curves, f64 = app_d.entry_decay_table(C, r, a, kind, Ls)
    pairs = [(j + 1, i + 1) for i in range(r) for j in range(r) if j != i]
    assert [(row["j"], row["i"]) for row in rows] == pairs
    assert sorted(curves) == sorted(pairs)
    pred = al.predict(C, r)
    eigs = [al.graded_eig(al.log_s_sequence(a, L, kind), C, r) for L in Ls]
    for row in rows:
        j, i = row["j"] - 1, row["i"] - 1
        K, which = al.entry_prediction(pred, j, i, corrected=True)
        assert row["K_pred"] == K and row["printed_predicts_slope"] == 1.0
        ly, lr, Kc = curves[(row["j"], row["i"])]
        assert Kc == K
        for t, ge in enumerate(eigs):
            ls = ge.log_s
            u = ge.U[j, i]
            assert ly[t] == (math.log(abs(u)) if u != 0 else -math.inf)
            assert lr[t] == ((ls[i] - ls[j]) if which == "si/sj" else (ls[j] - ls[i]))
        if K == 0:
            assert math.isnan(row["K_fit"]) and math.isnan(row["slope_vs_corrected_ratio"])
            continue
        # remainder bound of the ladder criterion at the shallowest fitted rung, as a bound on |log(1 + rem)|
        B = 2 * al.REMAINDER_CONST * al.k_eff(C, r) * al.rho_of(eigs[-3].log_s, r)
        x = lr[-3:] - lr[-3:].mean()
        slope_bound = B * np.abs(x).sum() / (x ** 2).sum()
        assert within(abs(row["slope_vs_corrected_ratio"] - 1), slope_bound, "entry slope")
        assert row["slope_vs_printed_ratio"] == -row["slope_vs_corrected_ratio"]
        icpt_bound = B + abs(lr[-3:].mean()) * slope_bound
        assert within(abs(math.log(row["K_fit"] / K)), icpt_bound, "entry constant")
    assert [e["L"] for e in f64] == list(Ls)
    for e, ge in zip(f64, eigs):
        w, V = al.eig_float64(ge.log_s, C)
        res = al.float64_resolution(np.abs(w), n)
        resolved = [(abs(V[j, i] - ge.U[j, i]), res[i]) for i in range(r) for j in range(n)
                    if j != i and abs(ge.U[j, i]) > 100 * res[i]]
        assert e["of"] == r * (n - 1) and e["entries_resolvable"] == len(resolved)
        assert e["max_err_over_bound"] == max([d / b for d, b in resolved], default=0.0) <= 1.0


def test_decay_figure_plots_the_fitted_curves_and_both_predictions():
    """_decay_figure: one panel per kind (1 x 2), per entry the computed log10|e_j^T u_i| (dots), the corrected
    prediction log10(|K| ratio) (solid) and the printed one log10(|K| / ratio) (dotted), on synthetic curves."""
    Ls = np.array([5.0, 10.0, 20.0])
    curves = {(2, 1): (np.array([-3.0, -5.5, -9.0]), np.array([-2.0, -4.0, -8.0]), -0.25),
              (1, 3): (np.array([-1.0, -2.0, -4.5]), np.array([-1.5, -2.5, -4.0]), 1.5)}
    fig = app_d._decay_figure({"exp separation": (Ls, curves), "poly separation": (Ls, curves)})
    assert len(fig.axes) == 2
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes] == [(1, 2), (1, 2)]
    ln10 = math.log(10)
    for ax in fig.axes:
        lines = ax.lines
        assert len(lines) == 3 * len(curves)
        for t, ((j, i), (ly, lr, K)) in enumerate(curves.items()):
            dots, solid, dotted = lines[3 * t: 3 * t + 3]
            assert dots.get_label() == f"e_{j}^T u_{i}"
            for ln, ref in ((dots, ly / ln10), (solid, (lr + math.log(abs(K))) / ln10),
                            (dotted, (-lr + math.log(abs(K))) / ln10)):
                assert np.array_equal(np.asarray(ln.get_xdata()), Ls)
                assert within(np.abs(np.asarray(ln.get_ydata()) - ref), 4 * EPS * np.abs(ref), "decay curve")


def test_printed_c_replay_is_the_printed_ratio_error():
    """printed_c_replay on the 3x3 example (e_2^T u_1 = closed-form 2x2 entry cf(L), s_1/s_2 = e^L, (T_C)_21 = 0.5):
    err = |cf(L) e^-L - 0.5|, tol = REMAINDER_CONST K_eff rho_L with rho_L = e^-L, detail the named numbers; the
    i = 1, j = 2, r = 2 defaults are the example's."""
    C = app_d.CE_C3
    for L in (5.0, 10.0, 20.0):
        ce = {**app_d.CE_PRINTED_C, "L": L}
        c = app_d.printed_c_replay(ce)
        cf = app_d._closed_form_2x2(0.5, L)
        y = cf * math.exp(-L)
        assert within(abs(c.err - abs(y - 0.5)), 8 * EPS * max(abs(y), 0.5), "err")
        assert within(abs(c.tol - al.REMAINDER_CONST * al.k_eff(C, 2) * math.exp(-L)), 8 * EPS * c.tol, "tol")
        d = c.detail
        assert d["T21"] == 0.5
        assert within(abs(d["e2_u1"] - cf), 4 * EPS * cf, "e2_u1")
        assert within(abs(d["printed_ratio_s1/s2"] - math.exp(L)), 4 * EPS * math.exp(L), "ratio")
        assert within(abs(d["e2_u1_over_s2/s1"] - cf * math.exp(L)), 8 * EPS * cf * math.exp(L), "intended")
        bare = app_d.printed_c_replay({"C": C, "a": app_d.CE_A3, "L": L})
        assert (bare.err, bare.tol) == (c.err, c.tol)


@pytest.mark.parametrize("L", [10.0, 20.0, 30.0])
def test_d3_printed_replay_is_the_log_log_exponent_between_half_depth_and_depth(L):
    """d3_printed_replay on C = [[1, .5], [.5, 1]], s = (1, e^-L), (i, j) = (1, 2): e_2^T u_1 = cf(L) (closed form),
    log(s_1/s_2) = L, so the exponent is (log cf(L) - log cf(L/2)) / (L/2) (about -1: the entry decays like
    s_2/s_1), err = |exponent - 1|, tol = REMAINDER_CONST K_eff e^{-L/2}; the details are cf(L) e^{-L},
    cf(L) e^{L} (-> 0.5) and K_derived = c_21 / c_11 = 0.5."""
    c = app_d.d3_printed_replay({**app_d.CE_D3, "L": L})
    cf1, cf2 = app_d._closed_form_2x2(0.5, L / 2), app_d._closed_form_2x2(0.5, L)
    expo = (math.log(cf2) - math.log(cf1)) / (L / 2)
    t = tol(1, scale=2 * L, kernels=2) / (L / 2)
    assert within(abs(c.detail["exponent_vs_s_i/s_j"] - expo), t, "exponent")
    assert within(abs(c.err - abs(expo - 1)), t, "err")
    assert within(abs(c.tol - al.REMAINDER_CONST * al.k_eff(app_d.CE_C, 1) * math.exp(-L / 2)), 8 * EPS * c.tol, "tol")
    d = c.detail
    assert within(abs(d["e_j^T u_i"] - cf2), 4 * EPS * cf2, "entry")
    assert within(abs(d["e_j^T u_i / (s_i/s_j) (printed; -> K)"] - cf2 * math.exp(-L)), 8 * EPS * cf2 * math.exp(-L), "printed")
    assert within(abs(d["e_j^T u_i / (s_j/s_i) (intended; -> K_derived)"] - cf2 * math.exp(L)), 8 * EPS * cf2 * math.exp(L),
                  "intended")
    assert d["K_derived = C21 T^-T Sigma^-1"] == 0.5


@pytest.mark.parametrize("c, L", [(0.5, 1.0), (0.5, 5.0), (-1.3, 2.0), (0.5, 20.0), (2.0, 0.3)])
def test_closed_form_2x2_is_the_eigenvector_entry(c, L):
    """_closed_form_2x2(c, L) = e_2^T u_1 of X = [[1, c t], [c t, t^2]], t = e^-L, u_1 the eigenvector of the
    largest eigenvalue with e_1^T u_1 >= 0: against mpmath eigsy of that matrix (an independent solver, 60
    digits), and, where t is not tiny, float64 eigh."""
    with mp.workdps(60):
        t = mp.exp(-mp.mpf(L))
        X = mp.matrix([[1, mp.mpf(c) * t], [mp.mpf(c) * t, t ** 2]])
        E, Q = mp.eigsy(X)
        k = 0 if E[0] > E[1] else 1
        ref = float(Q[1, k] * mp.sign(Q[0, k]))
    got = app_d._closed_form_2x2(c, L)
    assert within(abs(got - ref), 4 * EPS * abs(ref), "closed form vs mp eigsy")
    if L <= 5:
        tf = math.exp(-L)
        w, V = np.linalg.eigh(np.array([[1.0, c * tf], [c * tf, tf * tf]]))
        u = V[:, np.argmax(w)] * np.sign(V[0, np.argmax(w)])
        assert within(abs(got - u[1]), tol(2, kernels=2), "closed form vs float64 eigh")


def test_check_split_closed_form_evidence_is_one_minus_u11():
    """check_split's evidence 'closed_form_1-u11' is 1 - u_11 of its own 2x2 example (C = [[1, .5], [.5, 1]],
    s = (1, e^-5), r = 1): it equals 1 - diag(P)_1 of the mpmath comparison (P^{1,1} = u_11) up to the
    rounding of two O(1) numbers."""
    out = app_d.check_split(None)
    ev = out.evidence
    u11 = ev["comparison"]["diag_P"][0]
    assert within(abs(ev["closed_form_1-u11"] - (1 - u11)), tol(2, kernels=2), "1 - u11")
    assert ev["comparison"]["err"] == abs(u11 - 1)


@pytest.mark.parametrize("C, log_s, drop", [
    (app_d.CE_C, [0.0, -np.inf], 1),
    (app_d.CE_C, [0.0, -3.0], 0),
    (app_d.CE_C3, [0.0, -1.0, -2.0], 0),
    (app_d.CE_C3, [0.0, -np.inf, -np.inf], 2),
    (app_d.CE_C3, [0.0, -1.0, -np.inf], 1),
    (np.array([[2.0, 0.5], [0.5, 1.0]]), [-0.5, -np.inf], 1),
])
def test_singular_s_replay_err_is_the_rank_drop(C, log_s, drop):
    """singular_s_replay's err is rank C - rank X_L (X_L = S_L C S_L), which is the number of zero s_i for a
    positive definite C: 0 (the replay passes) when S_L is invertible, > 0 (it fails) when it is not; ranks
    checked against sympy's exact rank of the rationalised matrices."""
    cmp = app_d.singular_s_replay({"C": C, "log_s": np.array(log_s), "r": 1})
    assert cmp.err == drop
    assert cmp.ok == (drop == 0)
    s = [sp.Integer(0) if not np.isfinite(x) else sp.exp(sp.Rational(int(x))) for x in log_s]
    Cs = sp.Matrix(C.shape[0], C.shape[1], lambda i, j: sp.nsimplify(C[i, j]))
    Xs = sp.diag(*s) * Cs * sp.diag(*s)
    assert (cmp.detail["rank_C"], cmp.detail["rank_X"]) == (Cs.rank(), Xs.rank())
    sf = np.exp(np.array(log_s))
    assert np.array_equal(np.array(cmp.detail["s"]), sf)  # s_i = e^{log s_i}, 0 for log s_i = -inf
    assert cmp.detail["ell_1"] == C[0, 0]
    if not np.any(np.isfinite(log_s[1:])):  # S_L = diag(s_1, 0, ...): X_L = s_1^2 c_11 e_1 e_1^T exactly
        assert within(np.abs(np.array(cmp.detail["u_1"]) - np.eye(len(log_s))[0]), 0.0 * sf + EPS, "u_1 = e_1")
        assert within(abs(cmp.detail["sigma_1/s_1^2"] - C[0, 0]), 4 * EPS * C[0, 0], "sigma_1/s_1^2 = c_11")


def _ctx_rng(seed=0):
    return SimpleNamespace(rng=lambda name: np.random.default_rng(seed))


def test_check_printed_c_evidence_is_what_it_names():
    """thm-d.1/c's evidence: per depth, the mpmath e_2^T u_1 of the 3x3 example equals the closed-form 2x2
    eigenvector entry (the third coordinate is decoupled) and the replay's err/tol; the printed and corrected
    predictions are (T_C)_21 e^{+L} and (T_C)_21 e^{-L} with (T_C)_21 = c_21 = 0.5; the float64 entry at L = 5
    agrees within its Davis-Kahan resolution; the 4x4 showcase is an SPD matrix with spectrum (3, 1, 0.5, 0.2)."""
    out = app_d.check_printed_c(_ctx_rng())
    ev = out.evidence
    assert [row["L"] for row in ev["ladder"]] == [5.0, 10.0, 20.0, 40.0]
    for row in ev["ladder"]:
        L = row["L"]
        cf = app_d._closed_form_2x2(0.5, L)
        assert row["e2_u1_closed_form"] == cf
        assert within(abs(row["e2_u1_mp_eigsy"] - cf), 4 * EPS * abs(cf), "mp vs closed form")
        assert within(abs(row["printed_prediction_T21*s1/s2"] - 0.5 * math.exp(L)), 4 * L * EPS * 0.5 * math.exp(L), "printed")
        assert within(abs(row["corrected_prediction_T21*s2/s1"] - 0.5 * math.exp(-L)), 4 * L * EPS * 0.5 * math.exp(-L),
                      "corrected")
        rep = app_d.printed_c_replay({**app_d.CE_PRINTED_C, "L": L})
        assert (row["err"], row["tol"]) == (rep.err, rep.tol)
    assert ev["mp_vs_closed_form_agree"] is True
    res = al.float64_resolution(np.abs(al.eig_float64(al.log_s_sequence(app_d.CE_A3, 5.0), app_d.CE_C3)[0]), 3)
    assert within(abs(ev["float64_eigh_L5_e2_u1"] - app_d._closed_form_2x2(0.5, 5.0)), res[0], "float64 at L=5")
    fits = ev["entry_fits_4x4"]
    Cx = np.array(fits["C"])
    assert fits["r"] == 3 and np.array_equal(Cx, Cx.T)
    assert within(np.abs(np.linalg.eigvalsh(Cx) - [0.2, 0.5, 1.0, 3.0]), tol(4, scale=3.0, kernels=3), "showcase spectrum")
    assert ev["replay_at_L20"]["err"] == app_d.printed_c_replay(app_d.CE_PRINTED_C).err


def test_check_rem_d3_evidence_is_what_it_names():
    """rem-d.3's evidence: the closed-form e_2^T u_1 at L = 20 is the replay's mpmath entry, the ladder rows are the
    replay at each depth, and the intended constant e_2^T u_1 (s_1/s_2)... -> K_derived = 0.5 = c_21 / c_11."""
    out = app_d.check_rem_d3(None)
    ev = out.evidence
    u = ev["comparison"]["e_j^T u_i"]
    assert within(abs(ev["closed_form_e2_u1_L20"] - u), 4 * EPS * abs(u), "closed form at L=20")
    for row in ev["ladder"]:
        rep = app_d.d3_printed_replay({**app_d.CE_D3, "L": row["L"]})
        assert row["exponent_vs_s_i/s_j"] == rep.detail["exponent_vs_s_i/s_j"]
        assert within(abs(row["e_j^T u_i"] - app_d._closed_form_2x2(0.5, row["L"])),
                      4 * EPS * abs(row["e_j^T u_i"]), "ladder entry")
    assert ev["comparison"]["K_derived = C21 T^-T Sigma^-1"] == 0.5


def _eig_sorted(ls, C):
    """float64 eigen-decomposition of S C S sorted by |sigma| decreasing, e_i^T u_i >= 0 (an independent
    reference for well-separated 2x2 examples)."""
    s = np.exp(np.asarray(ls, float))
    w, V = np.linalg.eigh(s[:, None] * np.asarray(C, float) * s[None, :])
    o = np.argsort(-np.abs(w))
    w, V = w[o], V[:, o]
    return w, V * np.where(np.diag(V) < 0, -1.0, 1.0)


def test_hypothesis_probes_are_the_dropped_hypotheses():
    """thm-d.1/a's hypothesis probes (L = 30): each probe's log s, C and r are the dropped hypothesis it names
    ((i) s = (e^-L, 1); (ii) s = (1, 1); (iii) C^{1,1} = 0 or < 0, with s = (1, e^-L)); max|u_1 - e_1| and
    sigma_1/s_1^2 are those of a float64 eigh of S C S; conclusion (a) fails exactly for the first four (the
    method's text), not for the negative-definite leading block."""
    L = 30.0
    probes = app_d.hypothesis_probes()
    expect = [([-L, 0.0], [[1, .5], [.5, 1]], True), ([0.0, 0.0], [[1, .5], [.5, 1]], True),
              ([0.0, -L], [[0, 1], [1, 1]], True), ([0.0, -L], [[0, 0], [0, 1]], True),
              ([0.0, -L], [[-1, .5], [.5, 1]], False)]
    assert len(probes) == len(expect)
    for pr, (ls, C, fails) in zip(probes, expect):
        assert pr["log_s"] == ls and pr["C"] == C and pr["r"] == 1
        assert pr["conclusion (a) fails"] is fails
        w, V = _eig_sorted(ls, C)
        dev = float(np.max(np.abs(V[:, 0] - [1.0, 0.0])))
        assert within(abs(pr["max|u_i - e_i|"] - dev), tol(2, kernels=2), pr["dropped"])
        sig = w[0] / math.exp(2 * ls[0])
        assert within(abs(pr["sigma1/s1^2"] - sig), tol(2, kernels=2, scale=abs(sig)), pr["dropped"])


# -- Appendix E: the exponent algebra of the printed assumption (i) -----------------------------------

_L, _l, _g, _d = sp.symbols("L ell gamma_k delta_k")
_READ = {"R1": _L * _g + _d, "R2": (_L + 1) * _g + _d}


def _numeric_diff(text: str, expected, points) -> list:
    e = sp.sympify(text, locals={"L": _L, "ell": _l, "gamma_k": _g, "delta_k": _d})
    return [float((e - expected).subs(dict(zip((_L, _l, _g, _d), pt)))) for pt in points]


_POINTS = [(2, 1, 1.0, 0.0), (5, 3, -0.7, 1.3), (9, 9, 0.25, -2.0), (3, 2, 0.0, 0.8)]


def _reading_of(name: str) -> str:
    return name.split(":")[0]


def test_e2_product_check_differences_are_the_printed_exponents_algebra():
    """prop-7.1/proof/product-identity: under (i) as printed, log s_{k,A_l} = (L - l + 1) gamma + delta and
    log s_{k,B_l} = l gamma + delta; the right side is (1 + 1/L) delta + (1 - 1/L) log s_k. The table's
    log(lhs) - log(rhs) per reading equals that difference (2 gamma under R1, (L + 1) gamma / L under R2), at
    several (L, l, gamma, delta); 'holds' is whether it vanishes; the counterexample's logs are those of the two
    sides at its substitution."""
    out = app_e._e2_product_check(None)
    lhs = ((_L - _l + 1) * _g + _d) + (_l * _g + _d)
    table = out.evidence["table"]
    assert {_reading_of(row["reading"]) for row in table} == set(_READ)
    for row in table:
        rhs = (1 + 1 / _L) * _d + (1 - 1 / _L) * _READ[_reading_of(row["reading"])]
        diffs = _numeric_diff(row["log(lhs) - log(rhs)"], lhs - rhs, _POINTS)
        assert all(abs(x) <= 16 * EPS for x in diffs), row
        assert row["holds"] == (sp.simplify(lhs - rhs) == 0)
    assert out.status == Status.REFUTED
    cex = out.counterexample
    sub = {_L: 2, _l: 1, _g: 1, _d: 0}
    rd = _READ[_reading_of(cex["reading"])]
    assert cex["log_lhs"] == float(lhs.subs(sub))
    assert cex["log_rhs"] == float(((1 + 1 / _L) * _d + (1 - 1 / _L) * rd).subs(sub))


def test_e3_product_check_differences_are_the_printed_exponents_algebra():
    """rem-7.2/proof/product-identity: log s_{A_(l+1)} + log s_{B_l} = (L - l) gamma + delta + l gamma + delta
    (Remark 7.2's (i) as printed); middle member delta - gamma + log s_k; right (1 + 1/L) delta + (1 - 1/L) log s_k.
    Each table difference is that algebra (first equality: gamma under R1, 0 under R2; second: 0 under R1,
    gamma / L under R2)."""
    out = app_e._e3_product_check(None)
    lhs = ((_L - _l) * _g + _d) + (_l * _g + _d)
    table = out.evidence["table"]
    assert len(table) == 4
    for row in table:
        s = _READ[_reading_of(row["reading"])]
        mid = _d - _g + s
        rhs = (1 + 1 / _L) * _d + (1 - 1 / _L) * s
        a, b = (lhs, mid) if row["step"].startswith("first") else (mid, rhs)
        diffs = _numeric_diff(row["log(lhs) - log(rhs)"], a - b, _POINTS)
        assert all(abs(x) <= 16 * EPS for x in diffs), row
        assert row["holds"] == (sp.simplify(a - b) == 0)
    assert [row["holds"] for row in table] == [False, True, True, False]  # R1: first fails; R2: second fails
    assert out.status == Status.REFUTED


def test_symbolic_outcome_substitutes_each_reading_on_both_sides():
    """_symbolic_outcome: every (reading, step) row is log(lhs) - log(rhs) with log s_k replaced by the reading's
    exponent on BOTH sides; the first failing row becomes the counterexample, its logs evaluated at L = 2, l = 1,
    gamma = 1, delta = 0. A step with log s_k on the left: log s_k = (L + 1) gamma + delta holds under R2 only."""
    LOG_S, L, g, d = app_e.LOG_S, app_e.Lsym, app_e.gam, app_e.dlt
    table, ok, cex = app_e._symbolic_outcome({"step": (app_e.LOG_S, (L + 1) * g + d)})
    assert not ok and [row["holds"] for row in table] == [False, True]
    assert sp.simplify(sp.sympify(table[0]["log(lhs) - log(rhs)"], locals={"gamma_k": _g}) + _g) == 0
    assert _reading_of(cex["reading"]) == "R1" and (cex["log_lhs"], cex["log_rhs"]) == (2.0, 3.0)
    table, ok, cex = app_e._symbolic_outcome({"step": ((L + 1) * g + d, app_e.LOG_S)})
    assert (cex["log_lhs"], cex["log_rhs"]) == (3.0, 2.0)
    table, ok, cex = app_e._symbolic_outcome({"step": (L * g + 2 * d, d + app_e.LOG_S - g * 0)})
    assert [row["holds"] for row in table] == [True, False] and _reading_of(cex["reading"]) == "R2"


@pytest.mark.parametrize("lhs, rhs", [(3.0, 1.0), (1.0, 3.0), (2.5, 2.5)])
def test_e2_product_replay_err_is_the_log_gap(lhs, rhs):
    """The product-identity replay: err = |log lhs - log rhs| of the stored counterexample (0 where the two sides
    agree, so the replay passes exactly then), at a tolerance far below any exponent gap (a few ulps of the logs)."""
    c = app_e._e2_product_replay({"log_lhs": lhs, "log_rhs": rhs, "step": "s", "reading": "R1"})
    assert c.err == abs(lhs - rhs) and c.ok == (lhs == rhs)
    assert c.tol < 1e-3 and c.detail == {"step": "s", "reading": "R1"}


def test_kink_comparison_is_zero_on_a_smooth_path_and_the_kink_height_at_ties_and_zeros():
    """_kink_comparison: err = max |formula - one-sided derivative|; on a path with simple nonzero singular values
    (diag(3, 1) + t J1) both one-sided derivatives equal u_k^T J1 v_k = (J1)_kk (err at the O(h) truncation
    level, within TOL_KINK); at the tie diag(1+t, 1-t) and at the zero J = t the ordered s_1 has a kink
    (one-sided derivatives +1 and -1) and the formula gives 1 in LAPACK's basis, so err = 2."""
    J1 = np.array([[0.5, 0.2], [-0.3, -0.25]])
    for k in (0, 1):
        c = app_e._kink_comparison(np.diag([3.0, 1.0]), J1, k)
        assert c.ok and c.detail["k"] == k + 1 and c.tol == app_e.TOL_KINK
        assert within(abs(c.detail["formula_u^T Jdot v"] - J1[k, k]), 4 * EPS, "formula")
        assert within(abs(c.detail["right_derivative"] - J1[k, k]), app_e.TOL_KINK, "right")
        assert within(abs(c.detail["left_derivative"] - J1[k, k]), app_e.TOL_KINK, "left")
    for ce in (app_e.MINIMAL_TIE, app_e.MINIMAL_ZERO):
        c = app_e._kink_comparison(**ce)
        assert not c.ok and within(abs(c.err - 2.0), app_e.TOL_KINK, "kink height")
        assert within(abs(c.detail["right_derivative"] - 1.0), app_e.TOL_KINK, "right")
        assert within(abs(c.detail["left_derivative"] + 1.0), app_e.TOL_KINK, "left")
        assert abs(c.detail["formula_u^T Jdot v"]) == 1.0
    out = app_e._missing_simple_check(None)
    assert out.status == Status.REFUTED and out.counterexample == app_e.MINIMAL_TIE
    assert out.evidence["tie"]["err"] == app_e._kink_comparison(**app_e.MINIMAL_TIE).err


def test_zero_study_rows_are_the_one_sided_derivatives_at_a_simple_zero():
    """lem-e.2/zero's cases: J0 has a simple exact zero singular value (the last one), the formula entry is
    u_n^T J1 v_n in numpy's SVD, and the one-sided derivatives of s_n are +|u_n^T J1 v_n| (right) and -|..|
    (left) within TOL_KINK; the check passes with |.| and its foil (the signed formula) fails."""
    ctx = SimpleNamespace(rng=lambda name: np.random.default_rng(5), pick=lambda quick=None, **_: quick,
                          memo=lambda key, fn: fn())
    rows = app_e._zero_study(ctx)
    assert len(rows) == 8
    for r in rows:
        f = r["formula_u_n^T Jdot v_n"]
        assert within(abs(r["right_derivative"] - abs(f)), app_e.TOL_KINK, "right")
        assert within(abs(r["left_derivative"] + abs(f)), app_e.TOL_KINK, "left")
    assert app_e._zero_check(ctx).status == Status.VERIFIED
    assert app_e._zero_check(ctx, value=lambda x: x).status == Status.REFUTED


# -- Appendix F: the attained endpoints of the range check --------------------------------------------

class _Verified:
    """Stands in for a property check whose every foil passes, so that _check_range's own endpoint test decides."""

    def foil(self, fn):
        return lambda ctx: Outcome(Status.VERIFIED, "stub", evidence={}, method="stub")


@pytest.mark.parametrize("lo, strict", [(-1, False), (0, False), (-1, True), (0, True)])
def test_check_range_endpoint_test_requires_both_endpoints(monkeypatch, lo, strict):
    """app-f/range's path part: rho([[1-s, s], [s, 1-s]]) = 1 - 2s attains 1 (s = 0, the identity) and -1
    (s = 1, the antidiagonal), so with the property checks passing, the outcome is VERIFIED exactly for the
    printed closed range [-1, 1] and REFUTED for 'from 0 to 1' and for the open ranges; the endpoint values
    are checked from the definition of rho (grid coordinates under A / sum A)."""
    monkeypatch.setattr(app_f, "_pc_range_exact", _Verified())
    monkeypatch.setattr(app_f, "_pc_range_float", _Verified())
    out = app_f._check_range(None, lo=lo, strict=strict)
    assert out.status == (Status.VERIFIED if (lo, strict) == (-1, False) else Status.REFUTED)
    assert out.evidence["path"]["rho_exact_at_s=0,1"] == [1, -1]
    for e, rho in ((0, 1), (1, -1)):
        A = np.array([[1 - e, e], [e, 1 - e]], dtype=float)
        P = A / A.sum()
        g = np.arange(1, 3)
        ex, ey = P.sum(1) @ g, P.sum(0) @ g
        cov = (P * np.outer(g - ex, g - ey)).sum()
        vx, vy = P.sum(1) @ (g - ex) ** 2, P.sum(0) @ (g - ey) ** 2
        assert within(abs(cov / math.sqrt(vx * vy) - rho), 8 * EPS, "endpoint rho")
        c, v, w = app_f._moments_generic(A.astype(int).tolist())
        assert c == rho and v == w == 1  # m = 2: m^2 Cov = +-1, m^2 Var = 1


_RANGE_CASES = [(np.eye(3), 1.0), (np.fliplr(np.diag([1.0, 2.0, 3.0])), -1.0), (np.array([[2.0, 1.0], [1.0, 2.0]]), 1 / 3),
                (np.array([[1.0, 2.0], [2.0, 1.0]]), -1 / 3), (np.array([[1.0, 1.0], [0.0, 0.0]]), None),
                (np.array([[0.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]]), None)]


@pytest.mark.parametrize("lo, strict", [(-1, False), (0, False), (-1, True), (0, True)])
@pytest.mark.parametrize("A, rho", _RANGE_CASES)
def test_range_comparisons_decide_membership_of_rho_in_the_predicted_range(A, rho, lo, strict):
    """_range_float_cmp / _range_exact_cmp on matrices whose rho is known (+1 diagonal, -1 antidiagonal, +-1/3,
    undefined for a one-row or one-entry support): they pass exactly when rho lies in the predicted range
    ([lo, 1], or (lo, 1) with ``strict``), and are skipped (pass) where rho is undefined; the float err is the
    distance of rho outside [lo, 1], at least 2 tol at an excluded endpoint; the exact err is 0/1 against 0.5;
    the details are rho, rho^2 and its sign."""
    n = A.shape[0]
    f, e = app_f._range_float_cmp(A, lo=lo, strict=strict), app_f._range_exact_cmp(A, lo=lo, strict=strict)
    assert e.tol == 0.5
    if rho is None:
        assert f.ok and f.err == 0.0 and f.detail["rho"] == "undefined"
        assert e.ok and e.err == 0.0 and e.detail["rho^2"] == "undefined"
        return
    inside = (lo < rho < 1) if strict else (lo <= rho <= 1)
    t = tol(n * n, kernels=4)
    assert f.tol == t and f.ok == inside and e.ok == inside and e.err == float(not inside)
    assert within(abs(f.detail["rho"] - rho), t, "rho")
    assert within(abs(e.detail["rho^2"] - rho * rho), 4 * EPS, "rho^2") and e.detail["sign"] == int(np.sign(rho))
    outside = max(0.0, lo - rho, rho - 1.0)
    if inside:
        assert f.err == 0.0
    elif outside > 0:
        assert within(abs(f.err - outside), t, "distance outside")
    else:  # an excluded endpoint
        assert f.err == 2 * t


@pytest.mark.parametrize("A", [[[1, 0], [0, 1]], [[0, 2], [3, 0]], [[1, 2, 0], [0, 1, 4], [5, 0, 1]],
                               [[0, 0, 1], [0, 3, 0], [2, 0, 0]]])
def test_moments_generic_is_m2_times_the_moments(A):
    """_moments_generic(A) = (m^2 Cov, m^2 Var X, m^2 Var Y) of the grid coordinates (X = row, Y = column, 1-based)
    under A / m, m = sum A: exact integer arithmetic against the centred definition in rationals."""
    from fractions import Fraction
    n = len(A)
    m = sum(map(sum, A))
    P = [[Fraction(A[i][j], m) for j in range(n)] for i in range(n)]
    ex = sum((i + 1) * P[i][j] for i in range(n) for j in range(n))
    ey = sum((j + 1) * P[i][j] for i in range(n) for j in range(n))
    cov = sum((i + 1 - ex) * (j + 1 - ey) * P[i][j] for i in range(n) for j in range(n))
    vx = sum((i + 1 - ex) ** 2 * P[i][j] for i in range(n) for j in range(n))
    vy = sum((j + 1 - ey) ** 2 * P[i][j] for i in range(n) for j in range(n))
    assert app_f._moments_generic(A) == (m * m * cov, m * m * vx, m * m * vy)


# -- Figures 2, 3, 9: curves, summaries and the Bonferroni count on synthetic products ----------------

class _Ctx:
    """The context methods the figure checks call: the quick profile's sizes; ctx.t records the number of
    comparisons its critical value is shared between, and the degrees of freedom."""

    def __init__(self, crit=4.0):
        self.calls, self.dofs, self.crit = [], [], crit

    def pick(self, quick=None, **_):
        return quick

    def t(self, comparisons=1, dof=1):
        self.calls.append(comparisons)
        self.dofs.append(dof)
        return self.crit


def _bracket(K, p=1.0, L=20):
    """A stand-in bracket whose numbers name its (p, L, K)."""
    v = 1.0 + 0.1 * K + 0.01 * L + (0.5 if p == 0.5 else 0.0)
    return SimpleNamespace(K=K, v=v, w=v + 1.0, width=1.0 + 0.001 * L, u=v + 0.5, u_se=0.1, v_se=0.05, w_se=0.07,
                           point_crit=lambda crit: 1.5 * crit, p=p, L=L)


def _stub_brackets(monkeypatch, ctx_holder):
    def brackets(ctx, p, L, Ks):
        assert ctx is ctx_holder[0] and p in (1.0, 0.5) and isinstance(L, int) and all(isinstance(K, int) for K in Ks)
        return [_bracket(K, p, L) for K in Ks]
    monkeypatch.setattr(fig_depth, "_brackets", brackets)


def _unit_noise(rng, m):
    """m draws scaled to sample mean 0 and sample standard deviation 1 exactly (up to rounding)."""
    z = rng.standard_normal(m)
    z = z - z.mean()
    return z / z.std(ddof=1)


def _fig2_harness(monkeypatch, offset, ctx, out_br=False):
    """_fig2 on synthetic products: log s_1 = L gamma_1 + offset(p, L) + noise, Benettin sums L gamma_1 + noise;
    brackets stubbed (their numbers name (p, L)); the decision stubbed: no violation, or (out_br) one at the
    first item."""
    rng = np.random.default_rng(7)
    m = fig_depth._batch(ctx)
    data = {}
    for p in (1.0, 0.5):
        g1 = fig_depth._gamma(1, p)
        data[p] = {L: (np.column_stack([L * g1 + offset(p, L) + 1e-6 * _unit_noise(rng, m)]),
                       np.column_stack([L * g1 + 1e-3 * rng.standard_normal(m)])) for L in fig_depth._depths(ctx, p)}
    monkeypatch.setattr(fig_depth, "_data", lambda c, p: data[p])
    _stub_brackets(monkeypatch, [ctx])
    seen = {}

    def decide(c, items, constant, crit):
        seen["items"] = items
        if out_br:
            p, L, b = items[0]
            worst = (0.3, {"p": p, "L": L}, b, constant(1, fig_depth.N))
            return [{"K": 1}] * len(items), [0.99], worst, [{"p": p}], [], None
        return [{"K": 1}] * len(items), [0.99], None, [], [], None

    monkeypatch.setattr(fig_depth, "_decide", decide)
    monkeypatch.setattr(fig_depth, "_resolution", lambda res: None)
    return data, seen


def _band(ax, k=0):
    """(lower, upper) y of the k-th fill_between band, per x, from its polygon."""
    verts = ax.collections[k].get_paths()[0].vertices
    out = {}
    for x, y in verts:
        out.setdefault(float(x), set()).add(float(y))
    return {x: (min(ys), max(ys)) for x, ys in out.items()}


@pytest.mark.parametrize("constant, offset", [(_ladder.corrected_constant, "d1"), (_ladder.printed_constant, "d1"),
                                              (_ladder.printed_constant, "0"), (_ladder.corrected_constant, "mid")])
def test_fig2_evidence_is_computed_from_its_definitions(monkeypatch, constant, offset):
    """Figure 2's numbers on synthetic products: the Bonferroni share counts 3 tests per bracket, one Benettin test
    per (p, L) and one comparison per L >= 10, at m - 1 degrees of freedom; each Benettin test is the mean and SE
    of r_1/L against gamma_1; each comparison row is the mean and SE of (1/L) log s_1, the prediction
    gamma_1 + constant/L and 'significantly better/worse' = the gain |mean - gamma_1| - |mean - prediction| beyond
    +-2 t SE; the bands are mean +- t SE; two panels side by side."""
    d1 = lyapunov.d(1, fig_depth.N)
    ctx = _Ctx()
    m = fig_depth._batch(ctx)
    # 'mid': gain = (2 offset - d1)/L = +-3 t SE (SE = 1e-6/(L sqrt m)), between the 2 t SE threshold and 4 t SE
    off = {"d1": lambda p, L: d1, "0": lambda p, L: 0.0,
           "mid": lambda p, L: d1 / 2 + (1 if L % 20 else -1) * 1.5 * ctx.crit * 1e-6 / math.sqrt(m)}[offset]
    data, seen = _fig2_harness(monkeypatch, off, ctx)
    out = fig_depth._fig2(ctx, constant=constant)
    m, crit = fig_depth._batch(ctx), ctx.crit
    ev = out.evidence
    depths = {p: [L for L in fig_depth._depths(ctx, p) if L <= 40] for p in (1.0, 0.5)}
    pls = [(p, L) for p in (1.0, 0.5) for L in depths[p]]
    assert [(p, L) for p, L, _ in seen["items"]] == pls
    assert [(r["p"], r["L"]) for r in ev["comparison_with_gamma_1"]] == [(p, L) for p, L in pls if L >= 10]
    assert ctx.calls == [3 * len(pls) + len(pls) + len(ev["comparison_with_gamma_1"])] and ctx.dofs == [m - 1]
    for t, (p, L) in zip(ev["benettin_tests"], pls):
        r = data[p][L][1][:, 0] / L
        assert within(abs(t["estimate"] - r.mean()), 4 * EPS * abs(r.mean()), "Benettin mean")
        assert within(abs(t["se"] - r.std(ddof=1) / math.sqrt(m)), 1e-6 * t["se"] + 64 * EPS * abs(r.mean()), "Benettin se")
        assert t["prediction"] == fig_depth._gamma(1, p)
    c1 = constant(1, fig_depth.N)
    for row in ev["comparison_with_gamma_1"]:
        p, L = row["p"], row["L"]
        y = data[p][L][0][:, 0] / L
        g1 = fig_depth._gamma(1, p)
        assert within(abs(row["mean (1/L) log s_1"] - y.mean()), 4 * EPS * abs(y.mean()), "mean")
        assert within(abs(row["se"] - y.std(ddof=1) / math.sqrt(m)), 1e-6 * row["se"] + 64 * EPS * abs(y.mean()), "se")
        assert row["gamma_1"] == g1 and within(abs(row["prediction"] - (g1 + c1 / L)), 4 * EPS * (abs(g1) + abs(c1)), "pred")
        gain = abs(y.mean() - g1) - abs(y.mean() - (g1 + c1 / L))
        assert row["significantly worse than gamma_1"] == (gain < -2 * crit * row["se"])
        assert row["significantly better"] == (gain > 2 * crit * row["se"])
    axes = out.figures["fig2"].axes
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in axes] == [(1, 2), (1, 2)]
    for ax, p in zip(axes, (1.0, 0.5)):
        band = _band(ax)
        for L in depths[p]:
            y = data[p][L][0][:, 0] / L
            se = y.std(ddof=1) / math.sqrt(m)
            lo, hi = band[float(L)]
            assert within(np.abs([lo - (y.mean() - crit * se), hi - (y.mean() + crit * se)]), 8 * EPS * abs(y.mean()), "band")
    if offset == "mid":
        flags = [(r["significantly better"], r["significantly worse than gamma_1"]) for r in ev["comparison_with_gamma_1"]]
        assert (True, False) in flags and (False, True) in flags
    if constant is _ladder.corrected_constant and offset == "d1":  # passing: the summary quotes the deepest p = 1 bracket
        assert out.status == Status.SUPPORTED
        b = _bracket(1, 1.0, depths[1.0][-1])
        assert f"L = {depths[1.0][-1]}: [{b.v:.2f}, {b.w:.2f}], width {b.width:.2f}" in out.summary


def test_fig2_and_spectrum_counterexample_is_the_worst_bracket(monkeypatch):
    """With a bracket violation, the counterexample is _ladder.bracket_counterexample of the worst (label, bracket,
    predicted constant) at the claim's critical value."""
    ctx = _Ctx()
    _fig2_harness(monkeypatch, lambda p, L: 0.0, ctx, out_br=True)
    out = fig_depth._fig2(ctx, constant=_ladder.printed_constant)
    assert out.status == Status.REFUTED
    b = _bracket(1, 1.0, fig_depth._depths(ctx, 1.0)[0])
    assert out.counterexample == _ladder.bracket_counterexample({"p": 1.0, "L": b.L}, b,
                                                                _ladder.printed_constant(1, fig_depth.N), ctx.crit)
    ctx = _Ctx()
    _spectrum_harness(monkeypatch, 30, 20, [ctx])
    worst = {}

    def decide(c, items, constant, crit):
        p, L, b = items[1]
        worst["w"] = (0.3, {"p": p, "L": L}, b, _ladder.cumulative(constant, b.K, fig_depth.N))
        return [{"K": 1, "bracket width E rho": 1.0}] * len(items), [0.99], worst["w"], [{"p": p}], [], None

    monkeypatch.setattr(fig_depth, "_decide", decide)
    out = fig_depth._spectrum(ctx, 30, name="t")
    assert out.status == Status.REFUTED
    _, lab, b, c = worst["w"]
    assert out.counterexample == _ladder.bracket_counterexample(lab, b, c, ctx.crit)


def _line(ax, label):
    (ln,) = [ln for ln in ax.lines if ln.get_label() == label]
    return np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)


@pytest.mark.parametrize("constant", [_ladder.corrected_constant, _ladder.printed_constant])
def test_fig2_curves_are_their_labelled_formulas(monkeypatch, constant):
    """Figure 2's panels plot what their labels say: the MC means of (1/L) log s_1, gamma_1 + E v/L and
    gamma_1 + E(v + rho)/L at the bracket ends, the derived gamma_1 + (d_1 - d_0)/L and the printed
    gamma_1 + (d_0 - d_1)/L (d_k = lyapunov.d(k, 128)), on synthetic products whose means are known."""
    ctx = _Ctx()
    data, _ = _fig2_harness(monkeypatch, lambda p, L: lyapunov.d(1, fig_depth.N), ctx)
    out = fig_depth._fig2(ctx, constant=constant)
    d0, d1 = lyapunov.d(0, fig_depth.N), lyapunov.d(1, fig_depth.N)
    axes = out.figures["fig2"].axes
    assert len(axes) == 2
    for ax, p in zip(axes, (1.0, 0.5)):
        g1 = fig_depth._gamma(1, p)
        x, y = _line(ax, "gamma_1 + (d_1 - d_0)/L (derived)")
        assert within(np.abs(y - (g1 + (d1 - d0) / x)), 8 * EPS * (abs(g1) + d1), "derived curve")
        x, y = _line(ax, "gamma_1 + (d_0 - d_1)/L (printed)")
        assert within(np.abs(y - (g1 + (d0 - d1) / x)), 8 * EPS * (abs(g1) + d1), "printed curve")
        x, y = _line(ax, "(1/L) log s_1 (MC)")
        means = np.array([data[p][int(L)][0][:, 0].mean() / L for L in x])
        assert within(np.abs(y - means), 8 * EPS * np.abs(means), "MC means")
        x, y = _line(ax, "gamma_1 + E v/L, gamma_1 + E(v+rho)/L (bracket)")
        vs = np.array([_bracket(1, p, int(L)).v for L in x])
        assert within(np.abs(y - (g1 + vs / x)), 8 * EPS * (abs(g1) + vs / x), "bracket lower end")
        _, yh = [(np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())) for ln in ax.lines
                 if ln.get_marker() == "v"][0]
        ws = vs + 1.0
        assert within(np.abs(yh - (g1 + ws / x)), 8 * EPS * (abs(g1) + ws / x), "bracket upper end")


def test_fig2_summary_names_the_first_depth_worse_than_gamma_1(monkeypatch):
    """When the data sit on gamma_1 (offset 0) the printed correction gamma_1 - d_1/L is significantly worse than
    gamma_1 at every L >= 10; with the brackets passing, the verdict is REFUTED for that reason and the summary's
    example is the first such (p, L) of the evidence, with its numbers."""
    ctx = _Ctx()
    _fig2_harness(monkeypatch, lambda p, L: 0.0, ctx)
    out = fig_depth._fig2(ctx, constant=_ladder.printed_constant)
    assert out.status == Status.REFUTED
    worse = [r for r in out.evidence["comparison_with_gamma_1"] if r["significantly worse than gamma_1"]]
    assert len(worse) == len(out.evidence["comparison_with_gamma_1"]) > 1
    w = worse[0]
    assert f"p = {w['p']:g}, L = {w['L']}: data {w['mean (1/L) log s_1']:.4f}" in out.summary
    assert f"prediction {w['prediction']:.4f}" in out.summary


def _spectrum_harness(monkeypatch, kmax, short_from, ctx_holder):
    """Synthetic products for _spectrum: at p = 0.5 the columns k >= short_from have fewer than 8 finite log
    singular values (rank-deficient products), the Benettin sums stay finite everywhere (as in
    product_spectrum, which records them for every k)."""
    rng = np.random.default_rng(11)
    m, L = fig_depth._batch(_Ctx()), fig_depth.FIG_L
    data = {}
    for p in (1.0, 0.5):
        g = np.array([fig_depth._gamma(k, p) for k in range(1, kmax + 1)])
        c = np.array([_ladder.corrected_constant(k, fig_depth.N) for k in range(1, kmax + 1)])
        # odd k: offset c_k (better than gamma_k); even k: gain +-3 t SE (SE = 0.01/(L sqrt m)), between 2 and 4 t SE
        mid = c / 2 + np.where(np.arange(kmax) % 4 == 1, 1.0, -1.0) * 1.5 * _Ctx().crit * 0.01 / math.sqrt(m)
        ls = L * g + np.where(np.arange(kmax) % 2 == 0, c, mid) + 0.01 * np.column_stack(
            [_unit_noise(rng, m) for _ in range(kmax)])
        lr = L * g + 0.01 * rng.standard_normal((m, kmax))
        if p == 0.5:
            ls[5:, short_from - 1:] = -np.inf
        data[p] = {L: (ls, lr)}
    monkeypatch.setattr(fig_depth, "_data", lambda ctx, p: data[p])
    _stub_brackets(monkeypatch, ctx_holder)
    seen = {}

    def decide(ctx, items, constant, crit):
        seen["items"] = items
        return [{"K": 1, "bracket width E rho": 1.0}] * len(items), [0.99], None, [], [], None

    monkeypatch.setattr(fig_depth, "_decide", decide)
    monkeypatch.setattr(fig_depth, "_resolution", lambda res: None)
    return data, seen


@pytest.mark.parametrize("kmax, short_from, constant", [(30, 20, _ladder.corrected_constant),
                                                       (64, 41, _ladder.printed_constant)])
def test_spectrum_counts_only_the_indices_it_tests(monkeypatch, kmax, short_from, constant):
    """Fig. 3/9 with rank-deficient products at p = 0.5: the indices without 8 products of rank >= k are listed as
    excluded and get no test, and the critical value is shared between exactly the tests performed (per tested
    index a Benettin test and a better/worse comparison, per bracket 3), not between all kmax indices."""
    ctx = _Ctx()
    data, seen = _spectrum_harness(monkeypatch, kmax, short_from, [ctx])
    out = fig_depth._spectrum(ctx, kmax, constant=constant, name="t")
    ev = out.evidence
    n_tested = kmax + (short_from - 1)
    assert len(ev["benettin_tests"]) == len(ev["per_k"]) == n_tested
    m, crit, L = fig_depth._batch(ctx), ctx.crit, fig_depth.FIG_L
    assert ctx.dofs == [m - 1]
    assert [(p, b.K) for p, L_, b in seen["items"]] == [(p, K) for p in (1.0, 0.5) for K in fig_depth._Ks(p, kmax)]
    for t, row in zip(ev["benettin_tests"], ev["per_k"]):
        p, k = row["p"], row["k"]
        ls, lr = data[p][L]
        fin = np.isfinite(ls[:, k - 1])
        y, r = ls[fin, k - 1] / L, lr[fin, k - 1] / L
        g = fig_depth._gamma(k, p)
        assert within(abs(t["estimate"] - r.mean()), 4 * EPS * abs(r.mean()), "Benettin mean")
        assert t["prediction"] == g and row["gamma_k"] == g and row["products"] == int(fin.sum())
        assert within(abs(row["mean"] - y.mean()), 4 * EPS * abs(y.mean()), "mean")
        assert within(abs(row["se"] - y.std(ddof=1) / math.sqrt(len(y))), 1e-6 * row["se"], "se")
        pred = g + constant(k, fig_depth.N) / L
        assert within(abs(row["prediction"] - pred), 4 * EPS * (abs(g) + abs(pred)), "prediction")
        gain = abs(y.mean() - g) - abs(y.mean() - pred)
        assert row["significantly worse"] == (gain < -2 * crit * row["se"])
        assert row["significantly better"] == (gain > 2 * crit * row["se"])
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in out.figures["t"].axes] == [(1, 2), (1, 2)]
    for ax, p in zip(out.figures["t"].axes, (1.0, 0.5)):
        band = _band(ax)
        for row in [r for r in ev["per_k"] if r["p"] == p]:
            lo, hi = band[float(row["k"])]
            assert within(np.abs([lo - (row["mean"] - crit * row["se"]), hi - (row["mean"] + crit * row["se"])]),
                          8 * EPS * abs(row["mean"]), "band")
    assert [(e["p"], e["k"]) for e in ev["excluded (fewer than 8 products of rank >= k)"]] == \
        [(0.5, k) for k in range(short_from, kmax + 1)]
    assert ctx.calls == [2 * n_tested + 3 * len(seen["items"])]
    # the plotted curves are their labels' formulas
    for ax, p in zip(out.figures["t"].axes, (1.0, 0.5)):
        x, y = _line(ax, "gamma_k")
        g = np.array([fig_depth._gamma(int(k), p) for k in x])
        assert within(np.abs(y - g), 0.0 * g + 8 * EPS * np.abs(g), "gamma_k curve")
        d = np.array([lyapunov.d(int(k), fig_depth.N) for k in range(0, kmax + 1)])
        x, y = _line(ax, "gamma_k + (d_k - d_(k-1))/L")
        ref = g + (d[1:] - d[:-1]) / fig_depth.FIG_L
        assert within(np.abs(y - ref), 8 * EPS * (np.abs(g) + d[1:]), "corrected curve")
        x, y = _line(ax, "gamma_k + (d_(k-1) - d_k)/L (printed)")
        ref = g + (d[:-1] - d[1:]) / fig_depth.FIG_L
        assert within(np.abs(y - ref), 8 * EPS * (np.abs(g) + d[1:]), "printed curve")
        x, y = _line(ax, "(1/L) log s_k (MC mean)")
        ls = data[p][fig_depth.FIG_L][0]
        ref = np.array([ls[np.isfinite(ls[:, int(k) - 1]), int(k) - 1].mean() / fig_depth.FIG_L for k in x])
        assert within(np.abs(y - ref), 8 * EPS * np.abs(ref), "MC means")
