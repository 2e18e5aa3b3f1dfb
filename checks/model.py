"""The claim model: what a claim is, what its check returns, and the context it runs in.

A claim is declared once, in a ``theory.claims`` module, with :func:`claim`. Everything else —
the pytest tests, the reports, the CLI — is generated from the registry those declarations fill.

Note: adding a claim
--------------------
1. Read the paper's statement and copy it *verbatim* (LaTeX) into ``statement``.
2. If the printed text admits several readings, say which one the check implements in ``reading``.
3. List the printed hypotheses, and in ``exercises`` which of them the generated inputs stress.
4. Write a check ``(ctx: Context) -> Outcome``. Take every random stream from ``ctx`` (never
   from global state) and every cost knob from ``ctx.pick(quick=..., full=...)``.
5. If the printed form is refuted, do **not** edit it: give the refutation a ``severity`` (with a
   ``severity_note`` saying why), add ``corrected=Corrected(...)`` with the derived statement and its
   own check, and list the id in ``tests/xfails.txt``.
6. Give every form that passes (printed or corrected; definitions excepted) at least one
   :class:`Foil`: a plausible wrong variant of the statement (flipped sign, factor 2, shifted index,
   other rate, dropped hypothesis) and the claim's own check run on it. The runner runs each foil
   with the same context as the form it foils (same seeds, hence the same inputs, same budget); a
   foil that is not refuted makes the verdict ``inconclusive`` (the check is weak). Expensive
   simulations are shared between a form and its foils through :meth:`Context.memo`.
7. One foil per passing form is the **nearest** plausible slip (``Foil(..., nearest=True, size=,
   unit=)``): index +-1, the neighbouring exponent or r, a factor <= 1.5. Foils that contradict a
   definition outright do not count. The form states its **resolution** — the smallest deviation its
   check rejects — by returning ``Outcome(resolution=Resolution.from_se(...))`` (statistical), by a
   ``knob=Knob(...)`` scan, or, for a discrete slip, through the rejected nearest foil's ``size``.
   A resolution coarser than the nearest slip turns the pass into ``inconclusive``.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


class ClaimError(ValueError):
    """Bad input to the claim machinery (unknown id, malformed declaration...)."""


class Status(str, enum.Enum):
    """Verdict words, exactly as the reports print them."""

    VERIFIED = "verified"  # identity/inequality held on every generated case, or proved symbolically
    SUPPORTED = "supported"  # statistical/asymptotic: consistent with the prediction at the stated confidence
    REFUTED = "refuted"  # counterexample found and stored
    INCONCLUSIVE = "inconclusive"  # budget too small to decide; the evidence says what would decide
    NOT_EXECUTABLE = "not-executable"  # cannot run here; the summary says why
    ERROR = "error"  # the check crashed; traceback in the evidence

    @property
    def passing(self) -> bool:
        return self in (Status.VERIFIED, Status.SUPPORTED)


class Kind(str, enum.Enum):
    """What sort of statement a claim is; decides which verdicts are possible."""

    DEFINITION = "definition"  # a definition whose well-posedness / stated properties are checked
    IDENTITY = "exact identity"
    INEQUALITY = "inequality"
    LIMIT = "limit"  # asymptotic statement, checked by rate and constant over a ladder
    DISTRIBUTIONAL = "distributional"  # a statement about a law / an expectation, Monte Carlo
    SYMBOLIC = "symbolic"  # proved with sympy
    FIGURE = "figure"  # what a figure's caption asserts

    @property
    def statistical(self) -> bool:
        return self in (Kind.LIMIT, Kind.DISTRIBUTIONAL, Kind.FIGURE)


class Severity(str, enum.Enum):
    """How much a refutation of the printed form matters (``claims.json``: ``"severity"``)."""

    # A result, formula, constant, rate, hypothesis or quoted number of the paper is wrong.
    SUBSTANTIVE = "substantive"
    # A proof step or expository sentence is wrong, but no stated result changes (e.g. two slips
    # that cancel, a lemma whose slip the proof using it does not inherit).
    MINOR = "minor"
    # The text read literally is false or ill-formed, but its context fixes one intended statement
    # (a plain typo, a missing "lim"); the intended statement is the corrected form.
    WORDING = "wording"


@dataclass(frozen=True)
class Profile:
    """A named cost level. Claims read their budgets through :meth:`Context.pick`."""

    name: str
    # Hypothesis examples per property check.
    examples: int


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", examples=60),
    "full": Profile("full", examples=400),
    # For cluster runs: claims that give a ``deep=`` budget use it, every other budget is full's.
    "deep": Profile("deep", examples=2000),
}

# Family-wise false-alarm rate of the whole suite: the probability that *any* statistical claim
# whose prediction is exactly true is reported refuted. Split over claims by Bonferroni.
SUITE_ALPHA = 0.01


def derive_seed(global_seed: int, *parts: str | int) -> int:
    """A 63-bit seed from (global seed, claim id, stream name...), independent of execution order."""
    text = "\x1f".join([str(global_seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


@dataclass
class Context:
    """Everything a check may depend on besides its claim: seed, profile, device, error budget."""

    claim_id: str
    seed: int = 0
    profile: Profile = PROFILES["quick"]
    device: str = "cpu"
    # Number of statistical claims in the whole registry (not just this run), for Bonferroni.
    n_statistical: int = 1
    # Local data sets the user points to (never downloaded), e.g. {"mnist": "/data/mnist"}.
    # A claim whose data set is absent returns Status.NOT_EXECUTABLE saying which path it needs.
    data: dict = field(default_factory=dict)
    # Shared by a form and its foils within one claim run (see :meth:`memo`); never across claims.
    cache: dict = field(default_factory=dict, repr=False)

    # -- sharing work between a form and its foils ------------------------------------------
    def memo(self, key, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per (form, key): a foil runs the same check on the same draws, so the
        simulation behind a verdict is computed once and each foil only re-decides on it."""
        full_key = (self.claim_id, key)
        if full_key not in self.cache:
            self.cache[full_key] = compute()
        return self.cache[full_key]

    # -- randomness -------------------------------------------------------------------------
    def seed_for(self, stream: str = "") -> int:
        return derive_seed(self.seed, self.claim_id, stream)

    def rng(self, stream: str = "") -> np.random.Generator:
        """A numpy Generator for the named stream of this claim."""
        return np.random.default_rng(self.seed_for(stream))

    def torch_generator(self, stream: str = ""):
        """A torch.Generator on ``self.device`` for the named stream of this claim."""
        import torch

        g = torch.Generator(device=self.device)
        g.manual_seed(self.seed_for(stream))
        return g

    # -- cost -------------------------------------------------------------------------------
    def pick(self, **per_profile: Any) -> Any:
        """``ctx.pick(quick=200, full=20000)``: the value for the active profile. The ``deep`` profile
        falls back to ``full`` where a claim gives no ``deep=`` budget (more draws buy nothing there)."""
        name = self.profile.name
        if name == "deep" and "deep" not in per_profile:
            name = "full"
        try:
            return per_profile[name]
        except KeyError:
            raise ClaimError(
                f"{self.claim_id}: no budget for profile {self.profile.name!r} "
                f"(has {sorted(per_profile)})"
            ) from None

    # -- statistics -------------------------------------------------------------------------
    @property
    def alpha(self) -> float:
        """This claim's share of the suite-wide false-alarm rate (Bonferroni)."""
        return SUITE_ALPHA / max(1, self.n_statistical)

    def z(self, comparisons: int = 1) -> float:
        """Two-sided critical value for ``comparisons`` tests inside this claim."""
        from scipy.stats import norm

        return float(norm.isf(self.alpha / (2 * max(1, comparisons))))

    def t(self, comparisons: int = 1, dof: int = 1) -> float:
        """Two-sided Student-t critical value at the same level as :meth:`z`, for a mean of ``dof + 1``
        samples. With a few dozen samples and levels ~1e-6 the normal value understates the tail of a
        studentised mean by an order of magnitude (P(|t_31| > 4.5) = 9e-5 vs 7e-6)."""
        from scipy.stats import t as student_t

        return float(student_t.isf(self.alpha / (2 * max(1, comparisons)), max(1, dof)))


@dataclass
class Comparison:
    """One computed-vs-reference comparison: passes when ``err <= tol``."""

    err: float
    tol: float
    # Anything that helps a reader judge the comparison (the two values, the condition number...).
    detail: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.err <= self.tol) and not math.isnan(self.err)

    def describe(self) -> str:
        ratio = self.err / self.tol if self.tol > 0 else math.inf
        return f"err={self.err:.3e} tol={self.tol:.3e} (err/tol={ratio:.3g}) {'OK' if self.ok else 'FAIL'}"


@dataclass
class Outcome:
    """What a check returns: the verdict and the evidence behind it."""

    status: Status
    # One line a reader can judge the verdict by (shown in the summary table).
    summary: str
    # JSON-able numbers: examples tried, worst error vs tolerance, estimates with SE and CI...
    evidence: dict = field(default_factory=dict)
    # How the evidence was produced (generators, sample sizes, fits), in prose.
    method: str = ""
    # For a refuted claim: the counterexample as data, replayable with ``python -m checks replay``.
    counterexample: dict | None = None
    # matplotlib Figures by name; the runner renders them to PNG and closes them.
    figures: dict = field(default_factory=dict)
    # For a foil's outcome from a statistical check: the probability that the check rejects this
    # foil at the claim's budget and level (``checks.stats.power``), where it can be computed.
    power: float | None = None
    # For a passing outcome: the smallest deviation from the prediction this check rejects (see
    # :class:`Resolution`). Statistical checks compute it from their SE and critical value; a form
    # without one gets it from its :class:`Knob` scan or its nearest-slip foil (see the runner).
    resolution: "Resolution | None" = None


# Power at which a statistical check's resolution is stated (the issue-17 bar: power >= 0.9).
RESOLUTION_POWER = 0.9


@dataclass(frozen=True)
class Resolution:
    """The smallest deviation from a prediction that a passing check still rejects.

    Statistical checks: the deviation rejected with probability ``RESOLUTION_POWER`` at the claim's
    level, ``(crit + z_0.9) * SE`` (:meth:`from_se`). Deterministic checks: a deviation beyond the
    tolerance, shown by scanning a :class:`Knob` or by the rejected nearest-slip :class:`Foil`. In the
    natural unit of the quantity: ``relative`` (change of a constant), ``absolute`` (of an exponent or a
    limit), ``index`` (shift), ``r`` (the next candidate in a "top r" statement), ``exact`` (symbolic).
    A pass is *sharp* when ``value <= nearest_slip``: the check tells the statement from its nearest
    plausible slip; the runner turns a pass that is not sharp into ``inconclusive``.
    """

    # What is compared with a prediction ("c_1 of d_K", "exponent of s_1 in s^{2/L-2}", "r in top-r").
    quantity: str
    # The smallest rejected deviation, in ``unit``.
    value: float
    unit: str
    # How it was obtained ("computed: (t_crit + z_0.9) * SE = ...", "scan over the exponent").
    how: str
    # The nearest plausible slip, in the same unit, and what it is; None: taken from the form's
    # nearest-slip foil (``Foil(nearest=True, size=...)``).
    nearest_slip: float | None = None
    nearest_slip_statement: str = ""

    @staticmethod
    def from_se(quantity: str, se: float, crit: float, *, unit: str = "absolute", scale: float = 1.0,
                nearest_slip: float | None = None, nearest_slip_statement: str = "") -> "Resolution":
        """``(crit + z_power) * se / scale``: the deviation a two-sided test at ``crit`` rejects with
        probability RESOLUTION_POWER. ``scale`` turns it relative (``|prediction|``)."""
        from scipy.stats import norm

        value = (float(crit) + float(norm.ppf(RESOLUTION_POWER))) * float(se) / abs(float(scale))
        return Resolution(quantity, value, unit,
                          f"computed: (crit {float(crit):.3g} + z_{RESOLUTION_POWER} "
                          f"{float(norm.ppf(RESOLUTION_POWER)):.3g}) x SE {float(se):.3g}"
                          + (f" / |{float(scale):.4g}|" if scale != 1.0 else ""),
                          nearest_slip, nearest_slip_statement)

    def as_dict(self) -> dict:
        return {"quantity": self.quantity, "value": float(self.value), "unit": self.unit, "how": self.how,
                "nearest_slip": None if self.nearest_slip is None else
                {"value": float(self.nearest_slip), "statement": self.nearest_slip_statement},
                "sharp": None if self.nearest_slip is None else
                bool(float(self.value) <= float(self.nearest_slip) * (1 + 1e-9))}


@dataclass(frozen=True)
class Knob:
    """A one-parameter family of wrong variants of a statement, scanned for the resolution.

    ``variant(delta)`` is the claim's own check of the statement with the quantity moved by ``delta``
    (in ``unit``; ``delta = 0`` is the statement). The runner tries ``nearest_slip * 2**-k`` for
    k = 0..steps on each side and reports the smallest deviation rejected on every side (``inf``
    where even the nearest slip passes). Foil runs share the form's draws (:meth:`Context.memo`), so a
    scan only re-decides.
    """

    quantity: str
    unit: str
    variant: Callable[[float], "Check"]
    nearest_slip: float
    nearest_slip_statement: str
    sides: tuple[int, ...] = (1, -1)
    steps: int = 5


# A check maps a context to an outcome; a replay maps a stored counterexample to a comparison.
Check = Callable[[Context], Outcome]
Replay = Callable[[dict], Comparison]


@dataclass(frozen=True)
class Foil:
    """A plausible wrong variant of a statement, which the check of that statement must refute.

    ``check`` is the claim's own check applied to the variant (typically ``functools.partial`` of the
    same function with the wrong constant, sign or rate). It runs under the same context as the form
    it foils, so it sees the same random draws and budget; a foil that comes out anything but
    ``refuted`` shows the check could not tell the variant from the statement.
    """

    # The wrong variant, as a reader would write it ("sign flipped: c1 = d_{i-1} - d_i").
    statement: str
    check: Check
    # What sort of slip it models: sign, factor, index, ratio, exponent, rate, hypothesis, constant...
    kind: str = ""
    # The *nearest* plausible slip (index +-1, the neighbouring exponent or r, a factor <= 1.5) — the
    # foil a pass must reject. A foil contradicting a definition outright ("flat", "reversed") is not.
    nearest: bool = False
    # The slip's size in its natural unit (1 for an index shift, 0.5 for a factor 1.5 as relative
    # change...), and that unit: a form without a computed resolution takes it from its nearest foil.
    size: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Corrected:
    """A derived, corrected form of a refuted statement, with its own check and verdict."""

    statement: str
    check: Check
    reading: str = ""
    # How the correction was derived (which slip it repairs).
    derivation: str = ""
    replay: Replay | None = None
    # Wrong variants the corrected form's check must refute (at least one).
    foils: tuple[Foil, ...] = ()
    # A scan for the resolution (optional; see :class:`Knob`).
    knob: Knob | None = None


_ID = re.compile(r"^(def|lem|thm|prop|cor|rem|fig|app)-[a-z0-9.]+(/[a-z0-9._-]+)*$")


@dataclass(frozen=True)
class Claim:
    """One executable assertion of the paper."""

    # Paper numbering, lowercase: thm-5.3/limit, lem-c.3, app-b.2.2/cauchy-binet, fig-6/quoted.
    id: str
    # Where it is printed: "Theorem 5.3 (Section 5.1)".
    ref: str
    # Report grouping: "Section 5", "Appendix B".
    section: str
    # The statement verbatim as printed (LaTeX).
    statement: str
    kind: Kind
    check: Check
    # The precise reading checked, where the printed text needs one.
    reading: str = ""
    # The hypotheses as printed.
    hypotheses: tuple[str, ...] = ()
    # Which hypotheses the generated inputs exercise, and how inputs are generated.
    exercises: str = ""
    # Ids of the claims the proof of this one uses.
    depends_on: tuple[str, ...] = ()
    # Conditions the printed proof uses without stating them, each with whether the printed
    # hypotheses imply them ("s_k simple (divides by s_j - s_k): not implied -> lem-e.2/missing-...").
    proof_conditions: tuple[str, ...] = ()
    # Re-runs a stored counterexample (optional; property checks provide one).
    replay: Replay | None = None
    corrected: Corrected | None = None
    # Wrong variants the printed form's check must refute (at least one unless kind is DEFINITION).
    foils: tuple[Foil, ...] = ()
    # A scan for the resolution of the printed form (optional; see :class:`Knob`).
    knob: Knob | None = None
    # For a claim whose printed form is refuted: how much the refutation matters, and why.
    severity: Severity | None = None
    severity_note: str = ""
    # The module that declared it (set by :func:`claim`): the result cache keys on its source.
    module: str = ""
    # Whether its verdict rests on statistical tests (and so takes a Bonferroni share of the suite's
    # false-alarm rate). None: as its kind says; set it where the two differ (a deterministic check
    # of a limit, an inequality checked partly by a z-test).
    statistical: bool | None = None

    @property
    def is_statistical(self) -> bool:
        return self.kind.statistical if self.statistical is None else self.statistical

    @property
    def title(self) -> str:
        """A short statement for tables: the reading's first sentence, else the statement."""
        text = (self.reading or self.statement).strip().split("\n")[0]
        return text if len(text) <= 110 else text[:107] + "..."


REGISTRY: dict[str, Claim] = {}


def _declaring_module() -> str:
    """The module being imported that declares the claim: the outermost module on the call stack
    other than this one (a claim may be declared through a helper of another claims module)."""
    import sys

    names = []
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != __name__ and frame.f_code.co_name == "<module>":
            names.append(name)
        frame = frame.f_back
    inner = [n for n in names if n.startswith("theory.")]
    return inner[-1] if inner else (names[0] if names else "")


def claim(*, check: Check | None = None, **meta: Any):
    """Declare a claim. Use as ``claim(check=fn, ...)`` or as a decorator on the check.

    A check object with a ``replay`` attribute (see :mod:`checks.property`) provides the replay.
    """

    def register(fn: Check) -> Check:
        cid = meta.get("id", "")
        if not _ID.match(cid):
            raise ClaimError(f"claim id {cid!r} does not follow the paper-numbering scheme")
        if cid in REGISTRY:
            raise ClaimError(f"claim id {cid!r} declared twice")
        meta.setdefault("replay", getattr(fn, "replay", None))
        if meta.get("severity") is not None and not isinstance(meta["severity"], Severity):
            raise ClaimError(f"{cid}: severity must be a checks.Severity, got {meta['severity']!r}")
        for f in tuple(meta.get("foils", ())) + tuple(getattr(meta.get("corrected"), "foils", ())):
            if not isinstance(f, Foil):
                raise ClaimError(f"{cid}: foils must be checks.Foil instances, got {type(f).__name__}")
        meta["foils"] = tuple(meta.get("foils", ()))
        meta.setdefault("module", _declaring_module())
        REGISTRY[cid] = Claim(check=fn, **meta)
        return fn

    if check is not None:
        register(check)
        return check
    return register
