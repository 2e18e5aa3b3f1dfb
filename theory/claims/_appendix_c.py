"""Helpers shared by the Appendix C claims modules (``app_c``: C.1, ``app_c2``: C.2).

Not a claims module (leading underscore: the registry skips it).
"""

from __future__ import annotations

from checks import Comparison, Outcome, Resolution, Status
from checks import stats
from checks.property import PropertyCheck

SEC = "Appendix C"


def _d_closed(i: int, n: int) -> float:
    """-E log|det Ω^{i,i}|, Ω Haar on O(n): (1/2) sum_{k=1}^i [psi((n-k+1)/2) - psi((i-k+1)/2)]
    (Ω^{i,i} squared determinant is a product of independent Beta((i-k+1)/2, (n-i)/2) variables)."""
    from theory import lyapunov

    return float(lyapunov.d(i, n)) if i >= 1 else 0.0


def _powers(tests, foil_predictions, truths):
    """Power of a check's z-tests against a foil: each test's (foil prediction - passing value) at its se."""
    return stats.power_any([stats.power(f - t, tt.se, tt.z_crit) for tt, f, t in zip(tests, foil_predictions, truths)])


def _rel_resolution(quantity, tests, truths, **kw) -> Resolution:
    """The check's own resolution for a constant predicted in several cells: the relative deviation
    (crit + z_0.9) x SE / |truth| it rejects with power 0.9, at the worst (largest) cell."""
    k = max(range(len(tests)), key=lambda j: tests[j].se / abs(truths[j]))
    return Resolution.from_se(f"{quantity} ({tests[k].name})", tests[k].se, tests[k].z_crit, unit="relative",
                              scale=abs(truths[k]), **kw)


class _FixedThen:
    """A property check that first runs its comparison on fixed inputs (the cases a wrong variant is
    known to fail on), then the Hypothesis search. Its foils (:meth:`foil`) run the same fixed inputs
    first, so a foil is rejected for certain (and without a costly shrink), whatever the draws."""

    def __init__(self, cases, prop: PropertyCheck):
        self.cases, self.prop = tuple(cases), prop

    def __call__(self, ctx) -> Outcome:
        from checks import serialize

        for k, inputs in enumerate(self.cases):
            cmp = self.prop.compare(**inputs)
            if not cmp.ok:
                return Outcome(Status.REFUTED, f"fixed input {k}: {cmp.describe()}",
                               evidence={"fixed_case": k, "failing": {"err": cmp.err, "tol": cmp.tol, **cmp.detail}},
                               method=f"comparison on {len(self.cases)} fixed inputs before the Hypothesis search: "
                                      f"{self.prop.generated}",
                               counterexample={"inputs": serialize.encode(inputs)})
        out = self.prop(ctx)
        out.summary += f" (and {len(self.cases)} fixed inputs)"
        return out

    def foil(self, compare) -> "_FixedThen":
        return _FixedThen(self.cases, self.prop.foil(compare))

    def replay(self, counterexample: dict) -> Comparison:
        return self.prop.replay(counterexample)


def _layers(g, batch, L, n, r, p, sigma):
    from theory import samplers

    return samplers.layer(batch * L, n, r, p, sigma, g).reshape(batch, L, n, n)
