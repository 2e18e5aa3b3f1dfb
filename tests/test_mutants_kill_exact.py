"""Helpers of Appendices A and B that mutation testing found unguarded (issue 17, part 6).

Each test compares one helper that feeds a verdict, a foil or a piece of evidence with an independent
computation of what it is defined to be (exact arithmetic, a closed form, torch autograd), so a slip in
the helper (swapped arguments, a dropped term, a wrong constant) fails here even where no claim's
verdict changes. Float comparisons use tolerances from float64 eps and the sizes involved.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from checks.tolerance import tol
from tests.conftest import within
from theory.claims import app_a, app_b, app_b2
from theory.claims._networks import torch_fgln_grads


def _small_network():
    rng = np.random.default_rng(17)
    Ws = [rng.standard_normal((3, 2)), rng.standard_normal((2, 3))]
    ds = [np.array([0.5, -1.5, 2.0])]
    G = rng.standard_normal((2, 2))
    return Ws, ds, G


def test_app_a_grad_comparison_fails_a_formula_of_the_wrong_shape():
    """A gradient formula that is not even well-typed (a matmul shape error, or gradients of the wrong
    shapes) is wrong: _cmp_grad must report it as a failure with an infinite error, never a pass."""
    Ws, ds, G = _small_network()

    def ill_typed(Ws, ds, G):
        raise ValueError("matmul: shape mismatch")

    def wrong_shapes(Ws, ds, G):
        return [g.T for g in torch_fgln_grads(Ws, ds, G)]

    for formula in (ill_typed, wrong_shapes):
        cmp = app_a._cmp_grad(formula)(Ws, ds, G)
        assert not cmp.ok, formula.__name__
        assert cmp.err == math.inf and math.isfinite(cmp.tol) and cmp.tol > 0, (cmp.err, cmp.tol)
        assert cmp.detail["shape_mismatch"] is True
    # and the reference itself passes (the comparison is not failing everything)
    cmp = app_a._cmp_grad(torch_fgln_grads)(Ws, ds, G)
    assert cmp.ok and cmp.err == 0.0


def _is_singular_pair(big: np.ndarray, x: np.ndarray, value: int) -> bool:
    # integer matrices and a 0/1 vector: exact in float64
    return bool(np.array_equal(big @ x, value * x) and np.array_equal(big.T @ x, value * x))


def test_app_b_literal_tensor_evidence_is_a_singular_pair():
    """The evidence that ⊗^2 diag(2, 1) has the non-elementary singular vector (e1⊗e2 + e2⊗e1)/√2 for
    value 2 (both big x = 2x and big^T x = 2x) must say so; checked independently by the Kronecker product."""
    ev = app_b._literal_tensor_evidence()
    M = np.diag([2, 1])
    x = np.array([0, 1, 1, 0])  # the scale (1/√2) does not matter for a singular pair
    assert _is_singular_pair(np.kron(M, M), x, 2)
    assert not _is_singular_pair(np.kron(M, M), x, 4)  # the independent check separates values
    assert ev["sympy_singular_pair_value_2"] is True
    assert ev["coefficient_matrix_rank"] == 2  # not elementary: the 2 x 2 coefficient matrix has rank 2


def test_app_b2_literal_wedge_evidence_is_a_singular_pair():
    """The evidence that ∧^2 diag(6, 3, 2, 1) has the non-elementary singular vector (e1∧e4 + e2∧e3)/√2 for
    value 6 = 6·1 = 3·2 must say so; checked independently with the 2 x 2 minors (exact, sympy) in the order
    12, 13, 14, 23, 24, 34."""
    ev = app_b2._literal_wedge_evidence()
    M = sp.diag(6, 3, 2, 1)
    sets = list(itertools.combinations(range(4), 2))
    big = np.array([[int(M.extract(list(I), list(J)).det()) for J in sets] for I in sets])
    x = np.array([0, 0, 1, 1, 0, 0])
    assert _is_singular_pair(big, x, 6)
    assert not _is_singular_pair(big, x, 12)
    assert ev["sympy_singular_pair_value_6"] is True
    # not decomposable: the Plücker relation p12 p34 - p13 p24 + p14 p23 is 1/2, not 0
    assert sp.nsimplify(ev["plucker_relation"]) == sp.Rational(1, 2)


def test_app_b2_conv_upper_bound_uses_sqrt_2t():
    """_conv_corrected_cmp's upper part is d <= sqrt(2t) sin θ_max. With the unsigned foil (d = ||p̂ - q̂||)
    and t = 1, V = e1, W = -(cos θ, sin θ): d = 2 cos(θ/2), sin θ_max = sin θ, so for θ = 75° the upper part
    fails by exactly 2 cos(θ/2) - √2 sin θ ≈ 0.22 (with a constant sqrt(4t) = 2 it would pass: 2 sin θ > d).
    The signed comparison (the true statement) passes on the same input."""
    th = math.radians(75.0)
    V = np.array([[1.0], [0.0]])
    W = -np.array([[math.cos(th)], [math.sin(th)]])
    expected = 2 * math.cos(th / 2) - math.sqrt(2) * math.sin(th)
    cmp = app_b2._conv_corrected_cmp(V, W, signed=False)
    assert not cmp.ok
    assert cmp.detail["worst_part"] == "upper"
    # a handful of O(1) float64 operations (QR, two norms, a sqrt, a product)
    assert within(abs(cmp.err - expected), tol(2, kernels=8), "upper-part err vs closed form")
    assert app_b2._conv_corrected_cmp(V, W).ok
