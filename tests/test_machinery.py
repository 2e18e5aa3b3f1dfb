"""Tests of the claim machinery itself: seeds, property engine, statistics, serialisation, reports.

References are independent: numpy/scipy for statistics, hand-built exact data for fits, and
hand-made claims whose verdicts are known in advance.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import strategies as st
from scipy import stats as sps

from checks import Claim, ClaimError, Comparison, Context, Kind, Outcome, Status, serialize
from checks import report, runner, stats, tolerance
from checks.model import PROFILES, derive_seed
from checks.property import PropertyCheck


# -- seeds ------------------------------------------------------------------------------------------

def test_seed_depends_on_identity_not_order():
    a = derive_seed(0, "thm-5.3/limit", "x")
    assert a == derive_seed(0, "thm-5.3/limit", "x")
    assert len({a, derive_seed(1, "thm-5.3/limit", "x"), derive_seed(0, "thm-5.3/ordering", "x"),
                derive_seed(0, "thm-5.3/limit", "y")}) == 4
    assert 0 <= a < 2**63


def test_context_streams_reproduce_and_differ():
    c1, c2 = Context("a"), Context("a")
    assert np.array_equal(c1.rng("s").standard_normal(5), c2.rng("s").standard_normal(5))
    assert not np.array_equal(c1.rng("s").standard_normal(5), c1.rng("t").standard_normal(5))
    import torch

    x = torch.randn(3, generator=c1.torch_generator("g"))
    assert torch.equal(x, torch.randn(3, generator=c2.torch_generator("g")))


def test_pick_and_unknown_profile_budget():
    ctx = Context("a", profile=PROFILES["full"])
    assert ctx.pick(quick=1, full=2) == 2
    with pytest.raises(ClaimError, match="no budget for profile 'full'"):
        ctx.pick(quick=1)


def test_bonferroni_share_and_critical_value():
    ctx = Context("a", n_statistical=50)
    # a division or two and scipy's isf: a few ulps (tol with n = number of operations)
    assert abs(ctx.alpha - 0.01 / 50) <= tolerance.tol(2, scale=0.01 / 50)
    z = sps.norm.isf(0.01 / 50 / 4)
    assert abs(ctx.z(2) - z) <= tolerance.tol(4, scale=z)


# -- property engine --------------------------------------------------------------------------------

def _square(draw_n=(1, 4)):
    return st.builds(dict, M=st.integers(*draw_n).map(lambda n: np.arange(n * n, dtype=float).reshape(n, n)))


def test_property_check_verifies_a_true_identity():
    def cmp(M):
        return Comparison(float(abs(np.trace(M.T) - np.trace(M))), 0.0)

    out = PropertyCheck(_square(), cmp, generated="aranges")(Context("x"))
    assert out.status is Status.VERIFIED and out.evidence["examples_run"] > 0


def test_property_check_refutes_with_shrunk_counterexample_and_replay():
    # False for n >= 2 (the (0,1) entry of arange is 1), true for n = 1: shrinking must find n = 2.
    def cmp(M):
        return Comparison(float(abs(M - M.T).max()), 0.0)

    chk = PropertyCheck(_square(), cmp, generated="aranges")
    out = chk(Context("x"))
    assert out.status is Status.REFUTED
    stored = json.loads(json.dumps(out.counterexample))
    assert serialize.decode(stored["inputs"])["M"].shape == (2, 2)
    assert not chk.replay(stored).ok


def test_property_check_reports_crash_as_error():
    def cmp(M):
        raise np.linalg.LinAlgError("boom")

    out = PropertyCheck(_square(), cmp, generated="aranges")(Context("x"))
    assert out.status is Status.ERROR and "boom" in out.evidence["traceback"]


def test_property_check_rejects_bad_arguments():
    with pytest.raises(TypeError):
        PropertyCheck("not a strategy", lambda: None, generated="")


# -- statistics -------------------------------------------------------------------------------------

def test_mean_se_matches_numpy_and_scipy():
    x = np.random.default_rng(1).standard_normal(101)
    m, se = stats.mean_se(x)
    # sums of 101 values: 101 eps of the sum of |x| (the mean), of the sum of squares (the SE)
    assert abs(m - np.mean(x)) <= tolerance.tol(x.size, scale=np.abs(x).mean(), kernels=2)
    assert abs(se - sps.sem(x)) <= tolerance.tol(x.size, scale=se, kappa=np.sqrt(np.mean(x**2)) / np.std(x), kernels=2)
    with pytest.raises(ValueError):
        stats.mean_se([1.0])


def test_confidence_interval_coverage_is_honest():
    # 2000 independent experiments with a true prediction: the 95% test must reject ~5% of them.
    rng = np.random.default_rng(7)
    z = sps.norm.isf(0.025)
    rejects = 0
    for _ in range(2000):
        x = rng.normal(3.0, 2.0, size=50)
        m, se = stats.mean_se(x)
        rejects += not stats.test("t", m, se, 3.0, z).consistent
    # Binomial(2000, ~0.05 (t-vs-normal inflates slightly)): 3-sigma band.
    assert 0.05 * 2000 - 3 * math.sqrt(2000 * 0.05 * 0.95) <= rejects <= 0.065 * 2000 + 3 * math.sqrt(2000 * 0.06)


def test_detectable_effect_formula():
    # (z_{alpha/2} + z_{power}) se at power 0.8 (1.959964 + 0.841621): two isf/ppf values, a few ulps each
    assert abs(stats.detectable_effect(1.0, sps.norm.isf(0.025)) - (sps.norm.isf(0.025) + sps.norm.isf(0.2))) \
        <= tolerance.tol(2, scale=3.0)


def test_fit_ladder_recovers_exact_coefficients_and_flags_misfit():
    L = np.array([5, 10, 20, 40, 80, 160], dtype=float)
    y = 0.3 - 0.7 / L + 2.0 / L**2
    fit = stats.fit_ladder(L, y, np.full(L.size, 1e-3), order=2)
    # weighted least squares with a zero residual: ~ size eps kappa(design) |coef| (design columns 1/L^k)
    design = np.stack([L**-k for k in range(3)], 1)
    t = tolerance.tol(L.size, kappa=tolerance.cond(design), scale=2.0, kernels=2)
    assert np.max(np.abs(np.asarray(fit.coef) - [0.3, -0.7, 2.0])) <= t
    bad = stats.fit_ladder(L, y + 0.05 * np.sin(L), np.full(L.size, 1e-3), order=1)
    assert bad.p_fit < 1e-6
    with pytest.raises(ValueError, match="cannot fit"):
        stats.fit_ladder(L[:3], y[:3], np.ones(3), order=2)
    with pytest.raises(ValueError, match="positive"):
        stats.fit_ladder(L, y, np.zeros(L.size))


def test_verdict_from_tests():
    z = 3.0
    ok = stats.test("a", 1.0, 0.1, 1.05, z)
    bad = stats.test("b", 1.0, 0.1, 2.0, z)
    assert stats.verdict_from_tests([ok]) is Status.SUPPORTED
    assert stats.verdict_from_tests([ok, bad]) is Status.REFUTED
    assert stats.verdict_from_tests([ok], resolution=0.01) is Status.INCONCLUSIVE


# -- tolerance and serialisation -------------------------------------------------------------------

def test_tolerance_scales_with_size_and_conditioning():
    # the documented formula c kernels n (eps kappa scale + unit amplification), to the bit
    assert tolerance.tol(10, kappa=100.0) == 8 * 1 * 10 * (tolerance.EPS64 * 100.0 * 1.0 + tolerance.TINY64 * 1.0)
    assert tolerance.tol(4, dtype="float32") > tolerance.tol(4)
    with pytest.raises(ValueError):
        tolerance.tol(0)
    assert abs(tolerance.cond(np.diag([1.0, 1e-3])) - 1e3) <= tolerance.tol(2, scale=1e3)  # SVD of a diagonal
    assert tolerance.cond(np.zeros((2, 2))) == math.inf


def test_serialize_roundtrip_is_exact():
    a = np.random.default_rng(0).standard_normal((3, 2)) * 1e-300
    data = {"a": a, "x": float("inf"), "k": np.int64(3), "n": [np.float64(0.1)]}
    back = serialize.decode(json.loads(serialize.dumps(data)))
    assert np.array_equal(back["a"], a) and back["x"] == math.inf and back["k"] == 3 and back["n"] == [0.1]


# -- runner and reports -----------------------------------------------------------------------------

def _fake_registry():
    def good(ctx):
        return Outcome(Status.VERIFIED, "fine", evidence={"table": [{"k": 1, "err": 0.5}]})

    def bad(ctx):
        return Outcome(Status.REFUTED, "broken", counterexample={"x": 1.0})

    def crash(ctx):
        raise RuntimeError("kaput")

    def plot(ctx):
        from matplotlib.figure import Figure

        fig = Figure()
        fig.add_subplot().plot([0, 1], [1, 0])
        return Outcome(Status.SUPPORTED, "with plot", figures={"line": fig})

    mk = lambda cid, fn, deps=(): Claim(cid, "Ref", "Section 9", "S", Kind.IDENTITY, fn, depends_on=deps)
    return {
        "lem-9.1": mk("lem-9.1", good),
        "lem-9.2": mk("lem-9.2", bad),
        "thm-9.3": mk("thm-9.3", good, ("lem-9.1", "lem-9.2")),
        "thm-9.4": mk("thm-9.4", crash, ("lem-9.1",)),
        "fig-9": mk("fig-9", plot),
    }


def _run(reg, ids=None):
    return {cid: runner.run_claim(reg[cid], seed=0, profile="quick", device="cpu", n_statistical=1)
            for cid in (ids or reg)}


def test_runner_turns_crash_into_error_with_traceback():
    res = _run(_fake_registry(), ["thm-9.4"])["thm-9.4"].record
    assert res["status"] == "error" and "kaput" in res["evidence"]["traceback"]


def test_report_contents_and_dependency_status(tmp_path):
    reg = _fake_registry()
    report.write(tmp_path, reg, _run(reg), seed=0, profile="quick", device="cpu")
    doc = json.loads((tmp_path / "claims.json").read_text())
    assert set(doc) == {"seed", "profile", "device", "suite_alpha", "n_statistical", "claims"}
    by_id = {c["id"]: c for c in doc["claims"]}
    assert by_id["thm-9.3"]["dependency_issues"] == ["lem-9.2"]
    assert by_id["thm-9.4"]["dependency_issues"] == []
    md = (tmp_path / "CLAIMS.md").read_text()
    assert "```mermaid" in md and "conditional" in md and "| refuted | 1 |" in md
    assert next((tmp_path / "plots").glob("fig-9--line-*.png")).read_bytes()[:4] == b"\x89PNG"
    assert "python -m checks replay lem-9.2" in (tmp_path / "claims" / "lem-9.2.md").read_text()
    assert "timing" not in (tmp_path / "claims.json").read_text()


def test_report_merges_partial_runs_and_is_byte_reproducible(tmp_path):
    reg = _fake_registry()
    report.write(tmp_path, reg, _run(reg), seed=0, profile="quick", device="cpu")
    first = (tmp_path / "claims.json").read_bytes()
    report.write(tmp_path, reg, _run(reg, ["lem-9.1"]), seed=0, profile="quick", device="cpu", partial=True)
    assert (tmp_path / "claims.json").read_bytes() == first
    assert list((tmp_path / "plots").glob("fig-9--line-*.png"))  # kept from the earlier run
    # A partial run with another seed would discard the other claims: refused, report untouched.
    with pytest.raises(report.ReportConflict, match="seed 0.*would discard"):
        report.write(tmp_path, reg, _run(reg, ["lem-9.1"]), seed=1, profile="quick", device="cpu", partial=True)
    assert (tmp_path / "claims.json").read_bytes() == first
    # A whole run replaces it.
    report.write(tmp_path, reg, _run(reg, ["lem-9.1"]), seed=1, profile="quick", device="cpu")
    assert [c["id"] for c in json.loads((tmp_path / "claims.json").read_text())["claims"]] == ["lem-9.1"]


def test_interrupted_write_leaves_previous_report(tmp_path, monkeypatch):
    reg = _fake_registry()
    report.write(tmp_path, reg, _run(reg), seed=0, profile="quick", device="cpu")
    before = (tmp_path / "claims.json").read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(report.install, "commit", boom)  # interrupted before the commit point
    with pytest.raises(KeyboardInterrupt):
        report.write(tmp_path, reg, _run(reg, ["lem-9.1"]), seed=5, profile="quick", device="cpu")
    assert (tmp_path / "claims.json").read_bytes() == before
    assert not list(tmp_path.parent.glob(f".{tmp_path.name}.new-*"))


def test_unwritable_out_is_a_claim_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ClaimError, match="not writable"):
        report.check_writable(f / "sub")


def test_claim_ids_are_validated():
    from checks.model import claim

    with pytest.raises(ClaimError, match="numbering"):
        claim(id="Theorem 5.3", ref="", section="", statement="", kind=Kind.IDENTITY, check=lambda c: None)


def test_a_passing_correction_repairs_dependents(tmp_path):
    from checks import Corrected

    reg = _fake_registry()
    fixed = Corrected("S'", lambda ctx: Outcome(Status.VERIFIED, "fixed"))
    reg["lem-9.2"] = Claim("lem-9.2", "Ref", "Section 9", "S", Kind.IDENTITY, reg["lem-9.2"].check, corrected=fixed)
    report.write(tmp_path, reg, _run(reg), seed=0, profile="quick", device="cpu")
    by_id = {c["id"]: c for c in json.loads((tmp_path / "claims.json").read_text())["claims"]}
    assert by_id["lem-9.2"]["status"] == "refuted" and by_id["lem-9.2"]["corrected"]["status"] == "verified"
    assert by_id["thm-9.3"]["dependency_issues"] == [] and by_id["thm-9.3"]["rests_on_corrected"] == ["lem-9.2"]
    assert "‡" in (tmp_path / "claims" / "thm-9.3.md").read_text()


def test_property_check_counts_cases_per_class():
    def cmp(M):
        return Comparison(0.0, 1.0, {"big": M.shape[0] > 2})

    out = PropertyCheck(_square(), cmp, generated="aranges", classify=lambda d: f"big={d['big']}")(Context("x"))
    counts = out.evidence["cases_by_class"]
    assert set(counts) == {"big=False", "big=True"} and sum(counts.values()) == out.evidence["examples_run"]


def test_generated_examples_do_not_depend_on_loaded_modules(tmp_path, monkeypatch):
    # Hypothesis mixes literal constants of loaded local modules into generation; a property check
    # must draw the same examples whichever modules the CLI, pytest or an earlier claim loaded.
    import importlib
    import sys

    seen: list = []

    def cmp(x):
        seen.append(x)
        return Comparison(0.0, 1.0)

    chk = PropertyCheck(st.builds(dict, x=st.floats(-1e6, 1e6) | st.integers(-10**6, 10**6)), cmp,
                        generated="numbers", examples=200)
    chk(Context("x"))
    first, seen[:] = list(seen), []
    (tmp_path / "constants_galore.py").write_text(
        "VALUES = [" + ", ".join(f"{k * 7919.123457:.6f}, {k * 104729}" for k in range(1, 300)) + "]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("constants_galore")
    try:
        chk(Context("x"))
    finally:
        sys.modules.pop("constants_galore", None)
    assert seen == first


def test_foils_not_run_are_counted_and_named_apart_from_rejected_ones():
    refuted = {"status": "refuted", "power": None}
    not_run = {"status": "not-run", "power": None}
    records = {
        "a": {"status": "verified", "foils": [refuted, refuted]},
        "b": {"status": "inconclusive", "foils": [not_run, not_run]},
        "c": {"status": "refuted", "foils": [not_run], "corrected": {"status": "verified", "foils": [refuted]}},
    }
    (text,) = report._foil_summary(records)
    assert "3 of 3 plausible wrong variants were rejected" in text
    assert "3 more were not run" in text and "2 of `b` (inconclusive)" in text and "1 of `c` (refuted)" in text
    assert [report.foil_cell(records[k]) for k in "abc"] == ["2/2", "not run", "corrected 1/1"]
    assert report.foil_cell({"status": "verified"}) == "—"
