"""One test per registered claim, generated from the registry (no hand-kept list).

A claim's test passes when its printed form is verified/supported. Claims listed in
``tests/xfails.txt`` expect exactly the listed verdict: a refuted one is a strict expected failure
(``xfail(strict=True, raises=ClaimRefuted)``) whose reason names the counterexample, so a change in
its behaviour is noticed. A corrected form, where encoded, must always pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import Kind, registry, runner

REG = registry.load()
N_STAT = registry.n_statistical(REG)
XFAILS_PATH = Path(__file__).with_name("xfails.txt")
PASSING = ("verified", "supported")
EXPECTABLE = ("refuted", "inconclusive", "not-executable")


class ClaimRefuted(AssertionError):
    """The printed form was refuted (the expected outcome for claims listed as refuted)."""


def load_expected(path: Path = XFAILS_PATH) -> dict[str, tuple[str, str]]:
    expected = {}
    for k, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[1] not in EXPECTABLE:
            raise ValueError(f"{path.name}:{k}: expected '<id> <{'|'.join(EXPECTABLE)}> <reason>', got {line!r}")
        if parts[0] in expected:
            raise ValueError(f"{path.name}:{k}: {parts[0]} listed twice")
        expected[parts[0]] = (parts[1], parts[2])
    return expected


EXPECTED = load_expected()


def _params():
    params = []
    for cid in REG:
        marks = [pytest.mark.claim]
        status, reason = EXPECTED.get(cid, (None, ""))
        if status == "refuted":
            marks.append(pytest.mark.xfail(strict=True, raises=ClaimRefuted, reason=f"refuted as printed: {reason}"))
        params.append(pytest.param(cid, marks=marks, id=cid))
    return params


PARAMS = _params()


def test_registry_is_not_empty():
    assert len(PARAMS) != 0, "no claims registered: theory.claims modules failed to register anything"


def test_xfails_name_existing_claims():
    unknown = sorted(set(EXPECTED) - set(REG))
    assert not unknown, f"tests/xfails.txt lists ids that match no claim: {unknown}"


def test_passing_forms_declare_foils():
    """Every form expected to pass (printed unless listed as refuted, and every corrected form) declares
    at least one foil, except pure definitions, whose check states what it establishes."""
    missing = []
    for cid, c in REG.items():
        expected = EXPECTED.get(cid, (None, ""))[0]
        if c.kind is not Kind.DEFINITION and expected != "refuted" and not c.foils:
            missing.append(cid)
        if c.corrected is not None and not c.corrected.foils:
            missing.append(cid + "#corrected")
    assert not missing, f"{len(missing)} passing forms declare no foil: {missing}"


def test_passing_forms_declare_a_nearest_slip_foil():
    """Every form expected to pass (definitions excepted) declares a foil at its *nearest* plausible slip
    (index +-1, the neighbouring exponent or r, a factor <= 1.5), with its size: a foil far from the
    prediction only shows that the check runs."""
    missing = []
    for cid, c in REG.items():
        if c.kind is Kind.DEFINITION:
            continue
        expected = EXPECTED.get(cid, (None, ""))[0]
        forms = [(cid, c.foils)] if expected != "refuted" else []
        if c.corrected is not None:
            forms.append((cid + "#corrected", c.corrected.foils))
        for name, foils in forms:
            if not any(f.nearest and f.size is not None and f.size > 0 for f in foils):
                missing.append(name)
    assert not missing, f"{len(missing)} passing forms declare no nearest-slip foil with a size: {missing}"


def test_refuted_claims_have_a_severity():
    missing = [cid for cid, (status, _) in EXPECTED.items()
               if status == "refuted" and cid in REG and (REG[cid].severity is None or not REG[cid].severity_note)]
    assert not missing, f"claims listed as refuted without a severity and its reason: {missing}"


def _foil_failures(rec: dict, statistical: bool, definition: bool = False) -> list[str]:
    bad = []
    for form, label in ((rec, "printed"), (rec.get("corrected"), "corrected")):
        if form and form.get("status") in PASSING and not definition:
            res = form.get("resolution")
            if not isinstance(res, dict):
                bad.append(f"{label} form passes but states no resolution")
            elif res.get("sharp") is not True:
                bad.append(f"{label} form: resolution {res.get('value')} {res.get('unit')} is not at or below its "
                           f"nearest slip {res.get('nearest_slip')}")
            if not any(f.get("nearest") and f["status"] == "refuted" for f in form.get("foils") or []):
                bad.append(f"{label} form passes without a rejected nearest-slip foil")
        for f in (form or {}).get("foils") or []:
            if f["status"] not in ("refuted", "not-run"):
                bad.append(f"{label} form: foil not rejected ({f['status']}): {f['statement']} — {f['summary']}")
            elif statistical and f["status"] == "refuted" and f.get("power") is None:
                bad.append(f"{label} form: statistical foil states no power: {f['statement']}")
    return bad


def _explain(rec: dict) -> str:
    lines = [f"{rec['id']}: {rec['status']} — {rec['summary']}"]
    tb = (rec.get("evidence") or {}).get("traceback")
    if tb:
        lines.append(tb)
    if rec.get("counterexample"):
        lines.append(f"replay: python -m checks replay {rec['id']}")
    return "\n".join(lines)


@pytest.mark.parametrize("cid", PARAMS)
def test_claim(cid, claims_options, record_claim):
    result = runner.run_claim(REG[cid], n_statistical=N_STAT, **claims_options)
    record_claim(result)
    rec = result.record
    weak = _foil_failures(rec, REG[cid].is_statistical, REG[cid].kind is Kind.DEFINITION)
    assert not weak, f"{cid}: the check is weak or its foils are incomplete:\n" + "\n".join(weak)
    corrected = rec.get("corrected")
    if corrected is not None:
        assert corrected["status"] in PASSING, "corrected form: " + _explain({**corrected, "id": cid})
    expected, reason = EXPECTED.get(cid, (None, ""))
    status = rec["status"]
    if expected is None:
        assert status in PASSING, _explain(rec)
    elif expected == "refuted":
        assert status == "refuted", f"listed as refuted ({reason}) but got: " + _explain(rec)
        raise ClaimRefuted(_explain(rec))
    elif expected == "not-executable":
        if status == "not-executable":
            pytest.skip(rec["summary"])
        assert status in PASSING, _explain(rec)
    else:
        assert status == expected, f"listed as {expected} ({reason}) but got: " + _explain(rec)
