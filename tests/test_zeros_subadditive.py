"""theory.subadditive's helpers (they feed Lemma C.7's claims and foils) against their definitions and at their
zeros (issue 17, item 3). Exact arithmetic (Fraction) or mpmath at 50 digits, so the tolerances are 0 or a few
units of the working precision."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from theory import subadditive as sa

L_SYM = sp.Symbol("L", positive=True, integer=True)


def test_defect_is_zero_exactly_on_additive_sequences_and_its_definition_otherwise():
    lin = lambda L: Fraction(3, 2) * L  # noqa: E731 — additive: d(p, q) = 0
    assert all(sa.defect(lin, p, q) == 0 for p in range(1, 6) for q in range(1, 6))
    u = sa.family("inv", Fraction(1), Fraction(2), Fraction(3))
    for p in range(1, 5):
        for q in range(1, 5):
            assert sa.defect(u, p, q) == u(p) + u(q) - u(p + q)
            # closed form for u = aL + d + c/L: d(p, q) = d + c/p + c/q - c/(p+q)
            assert sa.defect(u, p, q) == 2 + Fraction(3, p) + Fraction(3, q) - Fraction(3, p + q)


def test_shifted_adds_L_minus_1_times_d_and_moves_the_defect_by_minus_d():
    u = sa.family("geom", Fraction(1), Fraction(1, 3), Fraction(2))
    v = sa.shifted(u, Fraction(5, 7))
    for L in range(1, 6):
        assert v(L) == u(L) + (L - 1) * Fraction(5, 7)
    # d'(p, q) = d(p, q) + (p - 1 + q - 1 - (p + q - 1)) d = d(p, q) - d
    assert sa.defect(v, 2, 3) == sa.defect(u, 2, 3) - Fraction(5, 7)
    assert sa.shifted(u, 0)(4) == u(4)  # zero shift is the identity


@pytest.mark.parametrize("kind", sa.MEETS + sa.VIOLATES)
def test_family_equals_its_symbolic_form(kind):
    a, d, c = Fraction(1, 2), Fraction(3), Fraction(1, 4)
    u = sa.family(kind, a, d, c)
    expr = sa.symbolic(kind, a, d, c, L_SYM)
    with mpmath.workdps(50):
        for L in (1, 2, 3, 7, 10):
            got = mpmath.mpf(u(L).numerator) / u(L).denominator if isinstance(u(L), Fraction) else mpmath.mpf(u(L))
            ref = mpmath.mpf(str(sp.N(expr.subs(L_SYM, L), 60)))
            # both sides at >= 50 significant digits: 10 digits of slack for the mpmath/sympy functions' rounding
            assert abs(got - ref) <= mpmath.mpf(10) ** -(mpmath.mp.dps - 10) * (1 + abs(ref)), (kind, L)


def test_remainder_is_zero_exactly_for_the_pure_affine_sequence_and_f_otherwise():
    u = sa.family("inv", Fraction(2), Fraction(5), Fraction(0))
    assert all(sa.remainder(u, 2, 5, L) == 0 for L in range(1, 8))
    u = sa.family("inv", Fraction(2), Fraction(5), Fraction(3))
    assert all(sa.remainder(u, 2, 5, L) == Fraction(3, L) for L in range(1, 8))


def test_induction_lhs_equals_u_L_over_L_for_an_additive_sequence():
    """For u_L = a L (d = 0 everywhere) the proof's identity reduces to u_{L^m}/L^m = a = u_L/L."""
    u = lambda L: Fraction(7, 3) * L  # noqa: E731
    for L in (2, 3):
        for m in (1, 2, 3):
            assert sa.induction_lhs(u, L, m) == Fraction(7, 3)
