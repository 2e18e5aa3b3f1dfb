"""Almost-additive sequences (Lemma C.7): ``u_{p+q} + d(p, q) = u_p + u_q``.

Pure, exact arithmetic on explicit sequences. A sequence is a callable ``u(L)`` for integers
``L >= 1`` returning a value of any exact or high-precision number type (``fractions.Fraction``,
``mpmath.mpf``), so the identities of the proof of Lemma C.7 can be checked without rounding.

The families below are the test sequences of the claims: the ones marked *meets* satisfy the
hypotheses of Lemma C.7 (``d(p, q) >= 0``, ``d(p, q) -> d`` as ``min(p, q) -> oo``) for suitable
parameters, the ones marked *violates* break the convergence of ``d(p, q)`` and show the conclusion
then fails. :func:`symbolic` gives the same sequences as sympy expressions in ``L``, so that limits
(``u = lim u_L / L``, ``lim (u_L - u L)``, ``lim d(x, x)``) are computed from the sequence itself.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

import mpmath
import sympy as sp

Sequence = Callable[[int], object]


def defect(u: Sequence, p: int, q: int):
    """``d(p, q) = u_p + u_q - u_{p+q}`` (the defect of additivity in Lemma C.7)."""
    if p < 1 or q < 1:
        raise ValueError(f"defect: p, q must be >= 1, got {p}, {q}")
    return u(p) + u(q) - u(p + q)


def induction_lhs(u: Sequence, L: int, m: int, *, k_start: int = 2, power_shift: int = 0):
    """Left side of the proof's induction identity (Lemma C.7), which should equal ``u_L / L``:

    ``u_{L^m}/L^m + (L-1) * sum_{k=2}^m [ (1/(L-1)) sum_{i=1}^{L-1} d(L^{k-1}, i L^{k-1}) ] / L^k``.

    ``k_start`` and ``power_shift`` (denominator ``L^(k + power_shift)``) give the printed identity at
    their defaults; other values are the index slips that the claim's foils try.
    """
    if L < 2 or m < 1:
        raise ValueError(f"induction_lhs: need L >= 2 and m >= 1, got L={L}, m={m}")
    if k_start < 1:
        raise ValueError(f"induction_lhs: k_start must be >= 1, got {k_start}")
    total = u(L ** m) / Fraction(L ** m) if isinstance(u(1), Fraction) else u(L ** m) / L ** m
    for k in range(k_start, m + 1):
        avg = sum(defect(u, L ** (k - 1), i * L ** (k - 1)) for i in range(1, L)) / (L - 1)
        den = k + power_shift
        total += (L - 1) * avg / (Fraction(L) ** den if isinstance(avg, Fraction) else mpmath.mpf(L) ** den)
    return total


def shifted(u: Sequence, d) -> Sequence:
    """The proof's reduction ``u'_L = u_L + (L - 1) d`` (claimed to allow ``d = 0``)."""
    return lambda L: u(L) + (L - 1) * d


# --- explicit families -------------------------------------------------------------------------

def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpf(x)


def family(kind: str, a, d, c) -> Sequence:
    """``u_L = a L + d + f(L)`` for the named remainder ``f``; exact where the values allow.

    meets the hypotheses (for d >= 0, c >= 0, and for ``"inv-neg"`` when d >= 2c):
      ``"inv"``: f = c/L;  ``"invsqrt"``: f = c/sqrt(L);  ``"geom"``: f = c 2^-L;
      ``"inv-neg"``: f = -c/L  (d(p,q) = d - c/p - c/q + c/(p+q) dips below d, still >= 0 if d >= 2c);
      ``"loglin"``: f = c log(L)/L  (d(p,q) >= 0 when d >= c).
    violates (d(p,q) does not converge):
      ``"log"``: f = c log L  (d(p,q) = d + c log(pq/(p+q)) -> oo);
      ``"sqrt"``: f = c sqrt(L)  (d(p,q) = d + c (sqrt p + sqrt q - sqrt(p+q)) -> oo);
      ``"parity"``: f = c (L mod 2)  (d(p,q) - d is 2c for p, q odd and 0 for p, q even: never settles).
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
    if kind == "loglin":
        return lambda L: _mp(a) * L + _mp(d) + _mp(c) * mpmath.log(L) / L
    if kind == "sqrt":
        return lambda L: _mp(a) * L + _mp(d) + _mp(c) * mpmath.sqrt(L)
    if kind == "parity":
        return (lambda L: a * L + d + Fraction(c) * (L % 2)) if exact else (lambda L: a * L + d + c * (L % 2))
    raise ValueError(f"unknown family {kind!r}")


# Which families meet the hypotheses of Lemma C.7 (given the sign conditions in ``family``).
MEETS = ("inv", "invsqrt", "geom", "inv-neg", "loglin")
VIOLATES = ("log", "sqrt", "parity")

# The remainders f(L) of ``family`` as sympy expressions in a positive integer symbol.
_REMAINDERS = {
    "inv": lambda c, L: c / L,
    "invsqrt": lambda c, L: c / sp.sqrt(L),
    "geom": lambda c, L: c * sp.Integer(2) ** (-L),
    "inv-neg": lambda c, L: -c / L,
    "loglin": lambda c, L: c * sp.log(L) / L,
    "log": lambda c, L: c * sp.log(L),
    "sqrt": lambda c, L: c * sp.sqrt(L),
    "parity": lambda c, L: c * (1 - (-1) ** L) / 2,
}


def symbolic(kind: str, a, d, c, L: "sp.Symbol"):
    """``family(kind, a, d, c)`` as a sympy expression in ``L`` (rational parameters kept exact)."""
    if kind not in _REMAINDERS:
        raise ValueError(f"unknown family {kind!r}")
    a, d, c = (sp.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else sp.nsimplify(x)
               for x in (a, d, c))
    return a * L + d + _REMAINDERS[kind](c, L)


def remainder(u: Sequence, a, d, L: int):
    """``L (u_L / L - a) - d``: the conclusion of Lemma C.7 says this tends to 0."""
    val = u(L)
    if isinstance(val, Fraction):
        return val - a * L - d
    return val - _mp(a) * L - _mp(d)
