"""Almost-additive sequences (Lemma C.7): ``u_{p+q} + d(p, q) = u_p + u_q``.

Pure, exact arithmetic on explicit sequences. A sequence is a callable ``u(L)`` for integers
``L >= 1`` returning a value of any exact or high-precision number type (``fractions.Fraction``,
``mpmath.mpf``), so the identities of the proof of Lemma C.7 can be checked without rounding.

The families below are the test sequences of the claims: the ones marked *meets* satisfy the
hypotheses of Lemma C.7 (``d(p, q) >= 0``, ``d(p, q) -> d`` as ``min(p, q) -> oo``), the ones
marked *violates* break the convergence of ``d(p, q)`` and show the conclusion then fails.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

import mpmath

Sequence = Callable[[int], object]


def defect(u: Sequence, p: int, q: int):
    """``d(p, q) = u_p + u_q - u_{p+q}`` (the defect of additivity in Lemma C.7)."""
    if p < 1 or q < 1:
        raise ValueError(f"defect: p, q must be >= 1, got {p}, {q}")
    return u(p) + u(q) - u(p + q)


def induction_lhs(u: Sequence, L: int, m: int):
    """Left side of the proof's induction identity (Lemma C.7), which should equal ``u_L / L``:

    ``u_{L^m}/L^m + (L-1) * sum_{k=2}^m [ (1/(L-1)) sum_{i=1}^{L-1} d(L^{k-1}, i L^{k-1}) ] / L^k``.
    """
    if L < 2 or m < 1:
        raise ValueError(f"induction_lhs: need L >= 2 and m >= 1, got L={L}, m={m}")
    total = u(L ** m) / Fraction(L ** m) if isinstance(u(1), Fraction) else u(L ** m) / L ** m
    for k in range(2, m + 1):
        avg = sum(defect(u, L ** (k - 1), i * L ** (k - 1)) for i in range(1, L)) / (L - 1)
        total += (L - 1) * avg / (Fraction(L) ** k if isinstance(avg, Fraction) else mpmath.mpf(L) ** k)
    return total


def shifted(u: Sequence, d) -> Sequence:
    """The proof's reduction ``u'_L = u_L + (L - 1) d`` (claimed to allow ``d = 0``)."""
    return lambda L: u(L) + (L - 1) * d


# --- explicit families -------------------------------------------------------------------------

def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpf(x)


def family(kind: str, a, d, c) -> Sequence:
    """``u_L = a L + d + f(L)`` for the named remainder ``f``; exact where the values allow.

    meets the hypotheses (for d >= 0, c >= 0, and for ``"inv-neg"`` when d >= c):
      ``"inv"``: f = c/L;  ``"invsqrt"``: f = c/sqrt(L);  ``"geom"``: f = c 2^-L;
      ``"inv-neg"``: f = -c/L  (d(p,q) = d - c/p - c/q + c/(p+q) may dip below d, still >= 0 if d >= 2c).
    violates (d(p,q) does not converge):
      ``"log"``: f = c log L  (d(p,q) = d + c log(pq/(p+q)) -> oo);
      ``"parity"``: f = c (L mod 2)  (d(p,q) oscillates between d and d + c... never settles).
    """
    exact = all(isinstance(x, (int, Fraction)) for x in (a, d, c))
    if kind == "inv":
        return (lambda L: a * L + d + Fraction(c) / L) if exact else (lambda L: a * L + d + c / mpmath.mpf(L))
    if kind == "inv-neg":
        return (lambda L: a * L + d - Fraction(c) / L) if exact else (lambda L: a * L + d - c / mpmath.mpf(L))
    if kind == "geom":
        return (lambda L: a * L + d + Fraction(c) / 2 ** L) if exact else (lambda L: a * L + d + c / mpmath.mpf(2) ** L)
    if kind == "invsqrt":
        return lambda L: _mp(a) * L + _mp(d) + _mp(c) / mpmath.sqrt(L)
    if kind == "log":
        return lambda L: _mp(a) * L + _mp(d) + _mp(c) * mpmath.log(L)
    if kind == "parity":
        return (lambda L: a * L + d + Fraction(c) * (L % 2)) if exact else (lambda L: a * L + d + c * (L % 2))
    raise ValueError(f"unknown family {kind!r}")


# Which families meet the hypotheses of Lemma C.7 (given the sign conditions in ``family``).
MEETS = ("inv", "invsqrt", "geom", "inv-neg")
VIOLATES = ("log", "parity")


def remainder(u: Sequence, a, d, L: int):
    """``L (u_L / L - a) - d``: the conclusion of Lemma C.7 says this tends to 0."""
    val = u(L)
    if isinstance(val, Fraction):
        return val - a * L - d
    return val - _mp(a) * L - _mp(d)
