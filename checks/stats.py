"""Monte-Carlo statistics: estimates with standard errors, confidence intervals, detectable effects,
and weighted fits of a quantity over a ladder of depths (rate and constant of an asymptotic claim).

Every test here is two-sided at the claim's Bonferroni level ``ctx.alpha`` (split further over the
comparisons inside one claim), so the whole suite's false-alarm rate is at most ``SUITE_ALPHA``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

# Power at which the detectable effect is reported.
POWER = 0.8


def mean_se(x) -> tuple[float, float]:
    """Sample mean and its standard error (ddof=1)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 2:
        raise ValueError(f"mean_se needs at least 2 samples, got {x.size}")
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def detectable_effect(se: float, z: float, power: float = POWER) -> float:
    """Smallest true deviation detected with probability ``power`` by a two-sided test at ``z``."""
    return float((z + norm.ppf(power)) * se)


def power(delta: float, se: float, z: float) -> float:
    """Probability that a two-sided z-test at critical value ``z`` rejects a prediction that is off the
    true mean by ``delta``, when the estimate has standard error ``se`` (normal approximation).

    This is the power of a check against a foil: ``delta`` is the foil's prediction minus the value of
    the statement that passes (the best available truth), ``se`` the check's standard error.
    """
    delta, se, z = abs(float(delta)), float(se), float(z)
    if not np.isfinite(delta):
        return 1.0
    if se <= 0:
        return 1.0 if delta > 0 else 0.0
    return float(norm.sf(z - delta / se) + norm.cdf(-z - delta / se))


def power_any(powers) -> float:
    """Lower bound on the power of a check that rejects when *any* of its tests rejects: the largest
    single-test power (valid whatever the dependence between the tests)."""
    powers = [float(p) for p in powers]
    return max(powers) if powers else 0.0


@dataclass
class Test:
    """Estimate vs prediction at a stated confidence."""

    name: str
    estimate: float
    se: float
    prediction: float
    z_crit: float

    @property
    def z(self) -> float:
        return (self.estimate - self.prediction) / self.se if self.se > 0 else (
            0.0 if self.estimate == self.prediction else np.inf)

    @property
    def consistent(self) -> bool:
        return bool(abs(self.z) <= self.z_crit)

    def power_against(self, truth: float) -> float:
        """Power of this test (whose ``prediction`` is a foil's value) when the true mean is ``truth``."""
        return power(self.prediction - float(truth), self.se, self.z_crit)

    @property
    def confidence(self) -> float:
        return float(1 - 2 * norm.sf(self.z_crit))

    def as_dict(self) -> dict:
        half = self.z_crit * self.se
        return {
            "name": self.name,
            "estimate": self.estimate,
            "se": self.se,
            "prediction": self.prediction,
            "ci": [self.estimate - half, self.estimate + half],
            "confidence": self.confidence,
            "z": self.z,
            "p_value": float(2 * norm.sf(abs(self.z))),
            "detectable_effect": detectable_effect(self.se, self.z_crit),
            "consistent": self.consistent,
        }


def test(name: str, estimate: float, se: float, prediction: float, z_crit: float) -> Test:
    return Test(name, float(estimate), float(se), float(prediction), float(z_crit))


@dataclass
class LadderFit:
    """Weighted least-squares fit of y(L) = sum_k c_k L^(-k), k = 0..order."""

    depths: np.ndarray
    coef: np.ndarray
    cov: np.ndarray
    chi2: float
    dof: int

    def se(self, k: int) -> float:
        return float(np.sqrt(self.cov[k, k]))

    @property
    def p_fit(self) -> float:
        """Goodness-of-fit p-value (chi-square); small means the model misses the data."""
        from scipy.stats import chi2

        return float(chi2.sf(self.chi2, self.dof)) if self.dof > 0 else float("nan")

    def predict(self, L) -> np.ndarray:
        L = np.asarray(L, dtype=np.float64)
        return sum(c * L ** (-k) for k, c in enumerate(self.coef))


def fit_ladder(depths, y, se, order: int = 2) -> LadderFit:
    """Fit ``y(L) = c0 + c1/L + ... + c_order/L^order`` with weights 1/se^2.

    ``c0`` is the limit and ``c1`` the first-order constant; higher terms absorb o(1/L) so that the
    two printed quantities are not biased by curvature at small depths.
    """
    L = np.asarray(depths, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    if not (L.shape == y.shape == se.shape) or L.ndim != 1:
        raise ValueError("fit_ladder: depths, y, se must be 1-D of equal length")
    if L.size <= order + 1:
        raise ValueError(f"fit_ladder: {L.size} depths cannot fit {order + 1} coefficients with a residual")
    if np.any(se <= 0):
        raise ValueError("fit_ladder: standard errors must be positive")
    X = np.stack([L ** (-k) for k in range(order + 1)], axis=1)
    w = 1.0 / se
    Xw, yw = X * w[:, None], y * w
    coef, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    cov = np.linalg.inv(Xw.T @ Xw)
    resid = yw - Xw @ coef
    return LadderFit(L, coef, cov, float(resid @ resid), int(L.size - order - 1))


def verdict_from_tests(tests: list[Test], *, resolution: float | None = None):
    """``supported`` if all consistent (and, if ``resolution`` is given, every detectable effect is
    below it); ``refuted`` if any is inconsistent; else ``inconclusive``."""
    from checks.model import Status

    if any(not t.consistent for t in tests):
        return Status.REFUTED
    if resolution is not None and any(detectable_effect(t.se, t.z_crit) > resolution for t in tests):
        return Status.INCONCLUSIVE
    return Status.SUPPORTED
