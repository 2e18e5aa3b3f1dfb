"""Hypothesis property checks: an identity or inequality tested on generated inputs.

A :class:`PropertyCheck` pairs a Hypothesis strategy that draws a dict of named inputs with a
``compare(**inputs) -> Comparison`` function. Run under a claim's context it returns an
:class:`~checks.model.Outcome`: ``verified`` with the worst error-to-tolerance ratio seen, or
``refuted`` with Hypothesis's *shrunk* counterexample stored as data, which :meth:`replay` re-runs.

Example::

    claim(id="app-b.2.2/cauchy-binet", ..., check=PropertyCheck(
        st.builds(dict, M=strategies.matrices(...), N=strategies.matrices(...)),
        compare=lambda M, N: Comparison(err=..., tol=...),
        generated="pairs of 1x1..5x5 matrices, condition numbers up to 1e6",
    ))
"""

from __future__ import annotations

import math
import traceback
from contextlib import contextmanager
from typing import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from checks import serialize
from checks.model import Comparison, Context, Outcome, Status


@contextmanager
def _no_local_constants():
    """Hypothesis (>= 6.131) mixes literal constants found in every *local* module loaded so far into
    its generation. Which modules are loaded differs between the CLI, pytest and run orders, so the
    drawn examples would depend on the execution context. Pin that pool to empty while we run, so the
    examples depend on (seed, claim id) alone. A no-op on Hypothesis versions without the pool."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    empty_type = getattr(providers, "Constants", None)
    if original is None or empty_type is None:  # pragma: no cover - older Hypothesis
        yield
        return
    empty = empty_type()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None:
        cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        if cache is not None:
            cache.cache.clear()


class PropertyCheck:
    """Check ``compare(**inputs).ok`` for every ``inputs`` drawn from ``strategy``."""

    def __init__(self, strategy: st.SearchStrategy, compare: Callable[..., Comparison], *,
                 generated: str, examples: int | None = None,
                 classify: Callable[[dict], str] | None = None, shrink: bool = True):
        if not isinstance(strategy, st.SearchStrategy):
            raise TypeError(f"strategy must be a Hypothesis strategy, got {type(strategy).__name__}")
        if not callable(compare):
            raise TypeError("compare must be callable")
        self.strategy = strategy
        self.compare = compare
        # How inputs are generated, in words, for the report's "method".
        self.generated = generated
        # Override of the profile's example count (e.g. for expensive inputs); None = profile's.
        self.examples = examples
        # Maps a comparison's detail to a class name; the evidence then counts the cases per class,
        # showing e.g. that both sides of an "if and only if" were exercised.
        self.classify = classify
        # Shrink a counterexample to a minimal one (printed forms); a foil only needs to be rejected.
        self.shrink = shrink

    def __call__(self, ctx: Context) -> Outcome:
        n_examples = self.examples if self.examples is not None else ctx.profile.examples
        seen = {"n": 0, "worst": None, "worst_ratio": -math.inf}
        classes: dict[str, int] = {}
        failing: dict = {}

        phases = list(Phase) if self.shrink else [ph for ph in Phase if ph is not Phase.shrink]

        @hypothesis_seed(ctx.seed_for("hypothesis"))
        @settings(max_examples=n_examples, deadline=None, database=None, derandomize=False, phases=phases,
                  suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)
        @given(self.strategy)
        def run(inputs):
            try:
                cmp = self.compare(**inputs)
            except Exception as exc:  # a crash on an input is recorded with that input
                failing.update(inputs=inputs, crash="".join(traceback.format_exception(exc)))
                raise
            seen["n"] += 1
            if self.classify is not None:
                key = str(self.classify(cmp.detail))
                classes[key] = classes.get(key, 0) + 1
            ratio = cmp.err / cmp.tol if cmp.tol > 0 else (0.0 if cmp.err == 0 else math.inf)
            if cmp.ok and ratio > seen["worst_ratio"]:
                seen["worst_ratio"], seen["worst"] = ratio, cmp
            if not cmp.ok:
                failing.clear()
                failing.update(inputs=inputs, cmp=cmp)
                raise AssertionError(cmp.describe())

        method = f"Hypothesis property check, {n_examples} examples (seeded from the claim id): {self.generated}."
        try:
            with _no_local_constants():
                run()
        except Exception as exc:
            if "cmp" in failing:
                cmp = failing["cmp"]
                return Outcome(
                    Status.REFUTED,
                    f"counterexample: {cmp.describe()}{_brief(cmp.detail)}",
                    evidence={"examples_run": seen["n"], "failing": {"err": cmp.err, "tol": cmp.tol, **cmp.detail}},
                    method=method,
                    counterexample={"inputs": serialize.encode(failing["inputs"])},
                )
            crash = failing.get("crash") or "".join(traceback.format_exception(exc))
            return Outcome(Status.ERROR, f"check crashed: {type(exc).__name__}: {exc}"[:200],
                           evidence={"traceback": crash,
                                     "inputs": serialize.encode(failing.get("inputs"))},
                           method=method)
        worst = seen["worst"]
        evidence = {"examples_run": seen["n"], "worst_err_over_tol": seen["worst_ratio"]}
        if worst is not None:
            evidence["worst"] = {"err": worst.err, "tol": worst.tol, **worst.detail}
        if self.classify is not None:
            evidence["cases_by_class"] = dict(sorted(classes.items()))
        summary = (f"{seen['n']} generated cases; worst err/tol = {seen['worst_ratio']:.3g}"
                   if worst is not None else f"{seen['n']} generated cases")
        return Outcome(Status.VERIFIED, summary, evidence=evidence, method=method)

    def foil(self, compare: Callable[..., Comparison]) -> "PropertyCheck":
        """This check with another comparison (a wrong variant of the statement): same strategy, budget
        and seed, hence the same generated inputs. Use it as a :class:`checks.Foil`'s check. It does not
        shrink: a foil only has to be rejected, and shrinking its counterexample costs seconds."""
        return PropertyCheck(self.strategy, compare, generated=self.generated, examples=self.examples,
                             classify=self.classify, shrink=False)

    def replay(self, counterexample: dict) -> Comparison:
        """Re-run the comparison on a stored counterexample."""
        return self.compare(**serialize.decode(counterexample["inputs"]))


def _brief(detail: dict, limit: int = 160) -> str:
    """The scalar entries of a comparison's detail, shortened for a one-line summary."""
    parts = []
    for k, v in detail.items():
        if isinstance(v, float):
            parts.append(f"{k}={v:.4g}")
        elif isinstance(v, (int, str, bool)) and len(str(v)) <= 40:
            parts.append(f"{k}={v}")
    text = "; ".join(parts)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f" — {text}" if text else ""
