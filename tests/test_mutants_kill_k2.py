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
