"""Mutation-testing kills, round k2 (issue 17, part 6): helpers of app_b2 and app_d checked against
independent computations from their definitions."""
from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from checks.tolerance import tol
from tests.conftest import within
from theory.claims import app_b2, app_d


@pytest.mark.parametrize("delta", [0.05, 0.1, 0.2, 0.3, 0.45])
def test_cmp_d4_against_closed_form_2x2(delta):
    """M = e1e1^T + delta [[0,1],[1,0]]: eigenvalues (1 ± sqrt(1 + 4 delta^2))/2, top eigenvector at angle
    theta = atan(2 delta)/2 from e1. sin theta = delta - 1.5 delta^3 + ... exceeds delta/(1 + delta) and
    delta^2/(1 - delta) but stays below delta/(1 - delta): the printed bound holds, a tighter one fails."""
    E = delta * np.array([[0.0, 1.0], [1.0, 0.0]])
    c = app_d.cmp_d4(E)
    t = tol(2, kernels=2)
    sin_exact = math.sin(math.atan(2 * delta) / 2)
    top = (1 + math.sqrt(1 + 4 * delta**2)) / 2
    assert within(abs(c.detail["delta"] - delta), t * delta, "delta")
    assert within(abs(c.detail["sin"] - sin_exact), math.sqrt(t), "sin")  # sin formed as sqrt(1 - u1^2)
    assert within(abs(c.detail["|sigma-1|"] - abs(top - 1)), t, "sigma")
    # the printed bounds hold
    assert within(c.err, c.tol, "d4 bounds")
    # margins of the closed form against the tight and the wrong bounds (independent of cmp_d4)
    assert sin_exact < delta / (1 - delta) and sin_exact > delta / (1 + delta) + math.sqrt(t)
    # a quadratic rate for sin is refuted on this input wherever the closed form says so (beyond the slack)
    if sin_exact > delta**2 / (1 - delta) + 2 * math.sqrt(t):
        assert not within(app_d.cmp_d4(E, exp_sin=2.0).err, c.tol, "quadratic sin")


@pytest.mark.parametrize("delta", [0.1, 0.3])
def test_cmp_d4_bound_structure(delta):
    """The sin bound of cmp_d4 is delta^exp_sin / (1 - delta) (+ the sqrt(tol) slack): a diagonal E moves
    no eigenvector (sin = 0) and gives |sigma - 1| = delta exactly, at the Weyl bound."""
    E = np.diag([delta, -delta, 0.5 * delta])
    c = app_d.cmp_d4(E)
    assert within(c.err, c.tol, "d4 diag")
    assert within(abs(c.detail["|sigma-1|"] - delta), tol(3, kernels=2), "sigma diag")
    assert within(c.detail["sin"], math.sqrt(tol(3, kernels=2)), "sin diag")


@mock.patch.object(app_b2, "_rank_q", lambda rows: -1)  # every draw "dependent": the fallback V = I[:, :t]
@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(app_b2._int_families())
def test_int_families_fallback_is_n_by_t(fam):
    """When no independent integer family is found, _int_families falls back to the first t unit vectors
    (and W = V): an n x t family of rank t, as the geometric claims assume."""
    V, W = fam["V"], fam["W"]
    n, t = V.shape
    assert 1 <= t <= n
    np.testing.assert_array_equal(V, np.eye(n, dtype=np.int64)[:, :t])
    assert W.shape == V.shape


# -- Appendix C: the data builders of Lemma C.3 and Theorem C.1, at a tiny budget ----------------------

from checks.model import Context  # noqa: E402
from theory.claims import app_c  # noqa: E402


class _TinyCtx(Context):
    """The quick profile's code path at a small budget: every int budget capped at 40 (lists kept whole:
    the ladder fits need their depths)."""

    def pick(self, **per_profile):
        v = super().pick(**per_profile)
        return min(v, 40) if isinstance(v, int) and not isinstance(v, bool) else v


def test_c3_data_quadrature_covers_every_t_with_the_log_chi2_mean():
    """``_c3_data``'s quadrature reference: one entry per t = 1..n (n = 6, the cells' size), each
    (1/2) E log chi^2_t = (psi(t/2) + ln 2) / 2. (An empty table would make the quadrature check vacuous.)"""
    from scipy.special import digamma

    data = app_c._c3_data(_TinyCtx("lem-c.3/case-split"))
    n = data["n"]
    assert n == app_c._c3_cells()[0]
    assert sorted(data["quad"]) == list(range(1, n + 1))
    for t, q in data["quad"].items():
        want = (digamma(t / 2) + math.log(2)) / 2
        assert within(abs(q - want), tol(4, scale=abs(want) + 1, kernels=4), f"t={t}")
    assert len(data["est"]) == len(app_c._c3_cells()[1])


def test_wedge_data_fits_use_the_drawn_depths():
    """``_wedge_data``: every law's ladder fit is over the depths its products were drawn at (the shared
    ``depths`` for the layer laws and the diagonal law, the A O law's own ladder), and each row's fit is
    the weighted fit of the law's mean curve; i runs over 1..r per law."""
    ctx = _TinyCtx("thm-c.1/wedge-formula")
    data = app_c._wedge_data(ctx)
    ao_depths = ctx.pick(quick=[16, 24, 32, 48, 64, 96], full=[16, 24, 32, 48, 64, 96, 128])
    by_law = {}
    for row in data["rows"]:
        by_law.setdefault(row["law"], []).append(row)
        want = ao_depths if "Haar" in row["law"] else data["depths"]
        np.testing.assert_array_equal(np.sort(np.asarray(row["fit"].depths, dtype=float)),
                                      np.sort(np.asarray(want, dtype=float)))
    assert len(by_law) == 4
    for rows in by_law.values():
        assert [r["i"] for r in rows] == list(range(1, len(rows) + 1))


def test_c6_fixed_inputs_satisfy_the_hypotheses():
    """Lemma C.6's fixed inputs (``_C6_DOM.cases``) lie inside the lemma's hypotheses: Omega a rotation
    (orthogonal, det 1), spectra positive and non-increasing, 1 <= t <= n; and on the strongly separated one
    the lower bound log|det Omega^{I0,I0}| is attained (the case that tells a constant-factor foil apart)."""
    from theory.claims import app_c2

    for k, case in enumerate(app_c2._C6_DOM.cases):
        om, a, b, t = np.asarray(case["omega"]), case["a"], case["b"], case["t"]
        n = om.shape[0]
        assert om.shape == (n, n) and len(a) == len(b) == n and 1 <= t <= n
        assert within(np.max(np.abs(om.T @ om - np.eye(n))), tol(n), f"orthogonal {k}")
        assert within(abs(np.linalg.det(om) - 1), tol(n), f"det {k}")
        assert np.all(a > 0) and np.all(np.diff(a) <= 0) and np.all(b > 0) and np.all(np.diff(b) <= 0)
        assert within(app_c2._c6_domination(a, b, om, t).err, 1.0, f"domination {k}")
    a, b, om = (app_c2._C6_DOM.cases[1][x] for x in ("a", "b", "omega"))
    c = app_c2._c6_domination(a, b, om, 1)
    # s_1(S_A Omega S_B) = |Omega_11| up to O(1e-8): the log ratio sits on the minor bound
    assert abs(c.detail["log ratio"] - c.detail["log|det Omega^{I0,I0}|"]) <= 10 * (a[1] / a[0] + b[1] / b[0])
    assert not within(app_c2._c6_domination(a, b, om, 1, lower="minor*2/3").err, 1.0, "foil 2/3")


@pytest.mark.parametrize("delta", [0.1, 0.3])
def test_cmp_d4_details_are_the_eigen_data_of_e1e1_plus_E(delta):
    """cmp_d4's detail against numpy on M = e1 e1^T + E built here (E not sign-symmetric, so M - E differs),
    and the quadratic-rate foil for sigma refuted where |sigma - 1| = delta exactly (diagonal E)."""
    E = delta * np.array([[0.5, 1.0, 0.0], [1.0, 0.0, 0.3], [0.0, 0.3, -0.2]])
    M = np.diag([1.0, 0.0, 0.0]) + E
    w, V = np.linalg.eigh(M)
    k = int(np.argmax(np.abs(w)))
    t = tol(3, kernels=2)
    c = app_d.cmp_d4(E)
    assert within(c.err, c.tol, "d4 bounds")
    assert within(abs(c.detail["|sigma-1|"] - abs(w[k] - 1)), t, "sigma")
    assert within(abs(c.detail["sin"] - math.sqrt(max(0.0, 1 - V[0, k] ** 2))), math.sqrt(t), "sin")
    assert within(abs(c.detail["delta"] - np.linalg.norm(E, 2)), t, "delta")
    D = np.diag([delta, 0.5 * delta, -0.5 * delta])
    assert not within(app_d.cmp_d4(D, exp_sigma=2.0).err, app_d.cmp_d4(D).tol, "quadratic sigma")


@pytest.mark.parametrize("log_delta", [-12, -10, -8])
def test_cmp_d4_accepts_tiny_perturbations(log_delta):
    """At ||E|| far below sqrt(eps) the computed sin = sqrt(1 - u_1^2) is rounding noise of size
    ~sqrt(eps) > delta/(1 - delta): the printed bound must still be accepted (the sqrt(tol) slack)."""
    rng = np.random.default_rng(17)
    for n in (2, 4, 6):
        E = rng.standard_normal((n, n))
        E = (E + E.T) / 2
        E *= 10.0**log_delta / np.linalg.norm(E, 2)
        c = app_d.cmp_d4(E)
        assert within(c.err, c.tol, f"n={n}")
