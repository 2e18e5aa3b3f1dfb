"""Report writer: ``CLAIMS.md``, ``claims/<id>.md``, ``claims.json``, ``plots/``, ``timing.json``.

``claims.json`` holds no wall-clock times or machine names, so the same seed reproduces it byte for
byte; timings go to ``timing.json`` and the run's provenance (versions, machine, commit, wall time) to
``provenance.json``. ``claims.json`` is the report's one commit point: every other file is rendered
from it (:func:`render`; plots are stored by the digest ``claims.json`` names) and an interrupted
write is repaired by re-rendering (:mod:`checks.install` has the sequence).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from pathlib import Path

from checks import install, serialize
from checks.model import Claim, ClaimError, Status

STATUS_ORDER = [s.value for s in Status]
COLOURS = {
    "verified": ("#1b5e20", "#fff"),
    "supported": ("#43a047", "#fff"),
    "refuted": ("#c62828", "#fff"),
    "inconclusive": ("#f9a825", "#000"),
    "not-executable": ("#9e9e9e", "#000"),
    "error": ("#6a1b9a", "#fff"),
    "unchecked": ("#eeeeee", "#000"),
}
PASSING = ("verified", "supported")


class ReportConflict(ClaimError):
    """A partial run cannot be merged into the report at ``--out`` (other seed/profile/device, unreadable)."""


def check_writable(out: Path) -> Path:
    """The resolved report directory; ClaimError unless a report can be installed there. Creates nothing."""
    return install.resolve(out)


def safe_name(cid: str) -> str:
    """File name for a claim id: '/' becomes '__'."""
    return cid.replace("/", "__")


# -- reading and merging --------------------------------------------------------------------------

def read_report(out: Path, *, missing_ok: bool = True) -> dict | None:
    """The report at ``out`` (``claims.json``), validated; None if there is none and ``missing_ok``.

    A file that is not UTF-8, not JSON, or not shaped like a report raises ClaimError naming the file
    (a one-line error at the CLI), never a traceback.
    """
    path = Path(out) / "claims.json"
    if not path.exists():
        if missing_ok:
            return None
        raise ClaimError(f"no report at {out} ({path.name} missing); run verify first or give --out")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ClaimError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimError(f"cannot read {path}: not UTF-8 (byte {exc.start}); the file is damaged — "
                         "re-run verify (without --only) to rebuild it") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClaimError(f"cannot read {path}: not JSON ({exc.msg} at line {exc.lineno}); the file is damaged "
                         "— re-run verify (without --only) to rebuild it") from None
    problem = _shape_problem(doc)
    if problem:
        raise ClaimError(f"cannot read {path}: not a claims report ({problem}); re-run verify (without --only) "
                         "to rebuild it")
    return doc


_STR, _OPT_STR = (str,), (str, type(None))
_NUM = (int, float, type(None))
# The fields of a record (printed or corrected form) that the report and the CLI read, and their types:
# a damaged record is a one-line error naming the field, never a traceback (tests/test_install.py).
_FORM_FIELDS = {"status": _STR, "summary": _STR, "check_status": _OPT_STR, "method": _OPT_STR,
                "plots": (list, type(None)), "plot_sha256": (dict, type(None)), "foils": (list, type(None)),
                "resolution": (dict, type(None))}
_RECORD_FIELDS = {**_FORM_FIELDS, "id": _STR, "severity": _OPT_STR, "severity_note": _OPT_STR,
                  "corrected": (dict, type(None)), "dependency_issues": (list, type(None)),
                  "rests_on_corrected": (list, type(None))}
_CORRECTED_FIELDS = {**_FORM_FIELDS, "statement": _STR, "reading": _OPT_STR, "derivation": _OPT_STR}
_FOIL_FIELDS = {"status": _STR, "statement": _STR, "summary": _STR, "kind": _OPT_STR, "power": _NUM}


def _fields_problem(obj: dict, fields: dict, where: str) -> str:
    for name, types in fields.items():
        if type(None) not in types and name not in obj:
            return f"{where} has no '{name}'"
        value = obj.get(name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{where}.{name} is {type(value).__name__}, expected {' or '.join(t.__name__ for t in types)}"
    return ""


def _form_problem(form: dict, where: str, fields: dict) -> str:
    problem = _fields_problem(form, fields, where)
    if problem:
        return problem
    if not all(isinstance(n, str) for n in form.get("plots") or []):
        return f"{where}.plots holds a non-string"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in (form.get("plot_sha256") or {}).items()):
        return f"{where}.plot_sha256 is not a map of names to digests"
    for j, foil in enumerate(form.get("foils") or []):
        if not isinstance(foil, dict):
            return f"{where}.foils[{j}] is {type(foil).__name__}, expected an object"
        problem = _fields_problem(foil, _FOIL_FIELDS, f"{where}.foils[{j}]")
        if problem:
            return problem
    slip = (form.get("resolution") or {}).get("nearest_slip")
    if slip is not None and not isinstance(slip, dict):
        return f"{where}.resolution.nearest_slip is {type(slip).__name__}, expected an object"
    return ""


def _shape_problem(doc) -> str:
    if not isinstance(doc, dict):
        return f"top level is {type(doc).__name__}, expected an object"
    if not isinstance(doc.get("claims"), list):
        return "no 'claims' list"
    for k, rec in enumerate(doc["claims"]):
        if not isinstance(rec, dict):
            return f"claims[{k}] is {type(rec).__name__}, expected an object"
        for field in ("id", "status"):
            if not isinstance(rec.get(field), str):
                return f"claims[{k}] has no string '{field}'"
        where = f"claims[{k}] ({rec['id']})"
        problem = _form_problem(rec, where, _RECORD_FIELDS)
        if not problem and rec.get("corrected") is not None:
            problem = _form_problem(rec["corrected"], f"{where}.corrected", _CORRECTED_FIELDS)
        for field in ("dependency_issues", "rests_on_corrected"):
            if not problem and not all(isinstance(d, str) for d in rec.get(field) or []):
                problem = f"{where}.{field} holds a non-string"
        if problem:
            return problem
    return ""


def records_by_id(doc: dict | None) -> dict[str, dict]:
    return {rec["id"]: rec for rec in (doc or {}).get("claims", [])}


def check_mergeable(out: Path, *, seed: int, profile: str, device: str, n_run: int) -> dict:
    """For a partial run (``--only``): the existing records to keep, or ReportConflict saying how to
    proceed when they cannot be kept (another seed, profile or device; an unreadable file)."""
    try:
        doc = read_report(out)
    except ClaimError as exc:
        raise ReportConflict(f"{exc}; a partial run (--only) would replace it with {n_run} claim(s) — run "
                             "without --only, or use another --out") from None
    if doc is None:
        if (Path(out) / install.MARKER).exists():
            raise ReportConflict(f"--out {out} is a report whose claims.json is missing; a partial run (--only) "
                                 f"would leave a report of {n_run} claim(s) — restore claims.json, run without "
                                 "--only, or use another --out")
        return {}
    made = (doc.get("seed"), doc.get("profile"), doc.get("device"))
    if made != (seed, profile, device):
        keep = len(doc["claims"])
        raise ReportConflict(
            f"--out {out} holds a report of {keep} claims made with seed {made[0]}, profile {made[1]}, device "
            f"{made[2]}; merging a partial run with seed {seed}, profile {profile}, device {device} would discard "
            "them — use another --out, or run without --only to replace the report")
    return records_by_id(doc)


def dependency_issues(reg: dict[str, Claim], records: dict) -> dict[str, list[str]]:
    """For each claim, the transitive dependencies that pass in neither printed nor corrected form."""
    memo: dict[str, set] = {}

    def deps(cid: str, seen=()) -> set:
        if cid in memo:
            return memo[cid]
        acc = set()
        for d in reg[cid].depends_on if cid in reg else ():
            if d in seen:
                continue
            acc.add(d)
            acc |= deps(d, seen + (cid,))
        memo[cid] = acc
        return acc

    issues = {}
    for cid in records:
        bad = sorted(d for d in deps(cid) if records.get(d, {}).get("status", "unchecked") not in PASSING
                     and _corrected_status(records.get(d)) not in PASSING)
        issues[cid] = bad
    return issues


def rests_on_corrected(reg: dict[str, Claim], records: dict) -> dict[str, list[str]]:
    """Direct dependencies refuted as printed whose corrected form passes: the proof needs the correction."""
    return {cid: sorted(d for d in (reg[cid].depends_on if cid in reg else ())
                        if records.get(d, {}).get("status") not in PASSING
                        and _corrected_status(records.get(d)) in PASSING)
            for cid in records}


def _corrected_status(rec: dict | None) -> str:
    return ((rec or {}).get("corrected") or {}).get("status", "none")


def downstream(reg: dict[str, Claim], cid: str) -> list[str]:
    """Claims whose proofs use ``cid``, directly or transitively (paper order)."""
    users: dict[str, list[str]] = {}
    for other, c in reg.items():
        for d in c.depends_on:
            users.setdefault(d, []).append(other)
    seen: set[str] = set()
    stack = [cid]
    while stack:
        for u in users.get(stack.pop(), []):
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return [c for c in reg if c in seen]


def _foils_of(rec: dict | None, ran: bool = True) -> list[dict]:
    """The foils of one form that ran (``ran=False``: those not run, because the form did not pass)."""
    return [f for f in (rec or {}).get("foils") or [] if (f.get("status") != "not-run") == ran]


def _not_run(rec: dict) -> int:
    return sum(len(_foils_of(form, ran=False)) for form in (rec, rec.get("corrected")))


def foil_cell(rec: dict) -> str:
    """'k/k' foils rejected for the printed form (and the corrected form); 'not run' where foils were
    declared but none ran (the form did not pass); '—' where none were declared."""
    parts = []
    for label, form in (("", rec), ("corrected ", rec.get("corrected"))):
        fs = _foils_of(form)
        if fs:
            parts.append(f"{label}{sum(f['status'] == 'refuted' for f in fs)}/{len(fs)}")
    return "; ".join(parts) or ("not run" if _not_run(rec) else "—")


def _all_foils(records: dict) -> list[dict]:
    return [f for rec in records.values() for form in (rec, rec.get("corrected")) for f in _foils_of(form)]


# -- rendering ------------------------------------------------------------------------------------

def _fmt(x) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        return f"{x:.6g}"
    if isinstance(x, dict) and "__ndarray__" in x:
        return f"array{tuple(x.get('shape', []))}"
    if isinstance(x, list) and all(not isinstance(v, (dict, list)) for v in x) and len(x) <= 12:
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    s = str(x)
    return s.replace("|", "\\|").replace("\n", " ")


def render_value(obj, indent: int = 0) -> list[str]:
    """Evidence as Markdown: dicts as bullet lists, lists of flat dicts as tables."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(obj, dict) and "__ndarray__" not in obj:
        for k, v in obj.items():
            if isinstance(v, str) and ("\n" in v or len(v) > 200):
                lines += [f"{pad}- **{k}**:", "", "```", v.rstrip(), "```", ""]
            elif isinstance(v, (dict, list)) and _is_nested(v):
                lines.append(f"{pad}- **{k}**:")
                lines += render_value(v, indent + 1)
            else:
                lines.append(f"{pad}- **{k}**: {_fmt(v)}")
        return lines
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        cols: list[str] = []
        for r in obj:
            cols += [k for k in r if k not in cols]
        lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in obj]
        lines.append("")
        return lines
    if isinstance(obj, list):
        return [f"{pad}- {_fmt(v)}" for v in obj]
    return [f"{pad}{_fmt(obj)}"]


def _is_nested(v) -> bool:
    if isinstance(v, dict):
        return "__ndarray__" not in v
    return isinstance(v, list) and (len(v) > 12 or any(isinstance(x, (dict, list)) for x in v))


def _status_cell(rec: dict, issues: list[str]) -> str:
    s = f"**{rec['status']}**"
    if rec["status"] == "refuted":
        s += f" ({rec.get('severity') or 'severity not assessed'})"
    if issues and rec["status"] in PASSING:
        s += " (conditional†)"
    elif rec.get("rests_on_corrected") and rec["status"] in PASSING:
        s += " ‡"
    if rec.get("corrected"):
        s += f"; corrected: **{rec['corrected']['status']}**"
    return s


def claim_text(c: Claim, rec: dict | None, issues: list[str] | None = None, plot_dir: str = "../plots") -> str:
    """The Markdown page of one claim (also printed by ``python -m checks show``)."""
    issues = issues or []
    L = [f"# `{c.id}` — {c.ref}", ""]
    status = rec["status"] if rec else "unchecked"
    L += [f"**Verdict:** {status}" + (f" — {rec['summary']}" if rec else ""), ""]
    if issues:
        L += [f"† Not fully supported: it depends on {', '.join(f'`{d}`' for d in issues)}, "
              "which passed in neither printed nor corrected form (refuted, inconclusive or unchecked).", ""]
    via = (rec or {}).get("rests_on_corrected") or []
    if via:
        L += [f"‡ Its proof uses {', '.join(f'`{d}`' for d in via)}, refuted as printed: it holds "
              "with the corrected form of that claim.", ""]
    if rec and rec["status"] == "refuted":
        sev = rec.get("severity") or "not assessed"
        L += [f"**Severity:** {sev}" + (f" — {rec['severity_note']}" if rec.get("severity_note") else ""), ""]
    L += [f"**Kind:** {c.kind.value} · **Section:** {c.section}", ""]
    L += ["## Statement (as printed)", "", c.statement.strip(), ""]
    if c.reading:
        L += ["## Reading checked", "", c.reading.strip(), ""]
    if c.hypotheses:
        L += ["## Hypotheses (as printed)", ""] + [f"- {h}" for h in c.hypotheses] + [""]
    if c.exercises:
        L += ["## What the inputs exercise", "", c.exercises.strip(), ""]
    if c.proof_conditions:
        L += ["## Conditions the proof uses without stating them", ""] + [f"- {h}" for h in c.proof_conditions] + [""]
    if c.depends_on:
        L += ["## Depends on", ""] + [f"- [`{d}`]({safe_name(d)}.md)" for d in c.depends_on] + [""]
    if rec:
        L += _outcome_section(rec, c.id, plot_dir, "")
        if rec.get("corrected"):
            cr = rec["corrected"]
            L += ["## Corrected form", "", f"**Verdict:** {cr['status']} — {cr['summary']}", "",
                  "### Statement", "", cr["statement"], ""]
            if cr.get("reading"):
                L += ["### Reading checked", "", cr["reading"], ""]
            if cr.get("derivation"):
                L += ["### Derivation", "", cr["derivation"], ""]
            L += _outcome_section(cr, c.id, plot_dir, "corrected-", level="###")
    return "\n".join(L).rstrip() + "\n"


def _foil_section(rec: dict, level: str) -> list[str]:
    foils = rec.get("foils") or []
    if not foils:
        return []
    L = [f"{level} Foils", "",
         "Plausible wrong variants of the statement, each run through this check on the same draws and "
         "budget; each must come out refuted, or the verdict above is inconclusive (the check is weak). "
         "Power: the probability that the check rejects the foil at this budget (statistical checks).", "",
         "| # | kind | foil | verdict | power | evidence |", "|---|---|---|---|---|---|"]
    for k, f in enumerate(foils, 1):
        power = f"{f['power']:.4g}" if isinstance(f.get("power"), (int, float)) else "—"
        L.append(f"| {k} | {f.get('kind') or ''}{' (nearest slip)' if f.get('nearest') else ''} | {_fmt(f['statement'])} | **{f['status']}** | {power} | "
                 f"{_fmt(f['summary'])} |")
    L.append("")
    for k, f in enumerate(foils, 1):
        if f.get("evidence"):
            L += [f"{level}# Foil {k}: evidence", ""] + render_value(f["evidence"]) + [""]
    return L


def resolution_cell(rec: dict) -> str:
    """'value unit (nearest slip s)' for the printed form (and the corrected form); '—' where none."""
    cells = []
    for form in (rec, rec.get("corrected")):
        res = (form or {}).get("resolution")
        if not isinstance(res, dict) or not isinstance(res.get("value"), (int, float)):
            continue
        slip = res.get("nearest_slip") or {}
        text = f"{res['value']:.3g} {res.get('unit', '')}".strip()
        if isinstance(slip.get("value"), (int, float)):
            text += f" (slip {slip['value']:.3g}{'' if res.get('sharp') else ', NOT sharp'})"
        cells.append(text)
    return " / ".join(cells) if cells else "—"


def _resolution_section(rec: dict, level: str) -> list[str]:
    res = rec.get("resolution")
    if not isinstance(res, dict):
        return []
    slip = res.get("nearest_slip") or {}
    L = [f"{level} Resolution", "",
         f"The smallest deviation of **{res.get('quantity', '')}** from the prediction that this check rejects"
         f" (power ≥ 0.9 at the claim's level for statistical checks; beyond the tolerance for deterministic "
         f"ones): **{res.get('value')} {res.get('unit', '')}**. How: {res.get('how', '')}."]
    if isinstance(slip.get("value"), (int, float)):
        L.append(f"Nearest plausible slip: {slip.get('statement', '')} ({slip['value']} {res.get('unit', '')}); "
                 f"the check {'resolves it (sharp)' if res.get('sharp') else 'does NOT resolve it'}.")
    return L + [""]


def _outcome_section(rec: dict, cid: str, plot_dir: str, prefix: str, level: str = "##") -> list[str]:
    L = []
    if rec.get("check_status") and rec["check_status"] != rec["status"]:
        L += [f"The check alone gave **{rec['check_status']}**; a foil it did not reject, or a resolution "
              f"coarser than the nearest slip, makes the verdict {rec['status']}.", ""]
    L += _resolution_section(rec, level)
    if rec.get("method"):
        L += [f"{level} Method", "", rec["method"], ""]
    if rec.get("evidence"):
        L += [f"{level} Evidence", ""] + render_value(rec["evidence"]) + [""]
    for name in rec.get("plots") or []:
        L += [f"![{name}]({plot_dir}/{plot_file(cid, prefix, name, rec)})", ""]
    if rec.get("counterexample"):
        blob = json.dumps(rec["counterexample"], separators=(",", ":"))
        if len(blob) > 6000:
            blob = blob[:6000] + "\n... (truncated here; full data in claims.json)"
        L += [f"{level} Counterexample", "", "```json", blob, "```", "",
              f"Replay: `python -m checks replay {cid}`", ""]
    L += _foil_section(rec, level)
    return L


def _mermaid(reg: dict[str, Claim], records: dict, issues: dict) -> list[str]:
    ids = [cid for cid in records if reg.get(cid)]
    linked = {d for cid in ids for d in reg[cid].depends_on} | {cid for cid in ids if reg[cid].depends_on}
    nodes = [cid for cid in reg if cid in linked]
    if not nodes:
        return ["(no dependencies declared among the checked claims)"]
    key = {cid: f"n{k}" for k, cid in enumerate(nodes)}
    L = ["```mermaid", "flowchart LR"]
    for cid in nodes:
        rec = records.get(cid)
        st = rec["status"] if rec else "unchecked"
        cls = st.replace("-", "_")
        if rec and st in PASSING and issues.get(cid):
            cls += "_cond"
        label = f"{cid}<br/>{st}{'†' if cls.endswith('_cond') else ''}"
        L.append(f'  {key[cid]}["{label}"]:::{cls}')
    for cid in nodes:
        for d in reg[cid].depends_on:
            if d in key:
                L.append(f"  {key[d]} --> {key[cid]}")
    used = {line.rsplit(":::", 1)[1] for line in L if ":::" in line}
    for st, (fill, fg) in COLOURS.items():
        cls = st.replace("-", "_")
        if cls in used:
            L.append(f"  classDef {cls} fill:{fill},color:{fg},stroke:#333")
        if cls + "_cond" in used:
            L.append(f"  classDef {cls}_cond fill:{fill},color:{fg},stroke:#000,stroke-width:3px,stroke-dasharray:6 4")
    L.append("```")
    return L


SEVERITIES = ("substantive", "minor", "wording")
SEVERITY_TITLES = {
    "substantive": ("Substantive refutations",
                    "A result, formula, constant, rate, hypothesis or quoted number of the paper is wrong."),
    "minor": ("Minor refutations",
              "A proof step or expository sentence is wrong, but no stated result changes."),
    "wording": ("Wording and typographical notes",
                "Read literally the text is false or ill-formed, but its context fixes one intended statement "
                "(the corrected form, checked on its own). Listed so the authors still see them."),
    None: ("Refutations whose severity is not assessed",
           "Refuted, but the claim declares no severity: an unexpected refutation (or a false alarm) to review."),
}


def _counts_table(records: dict) -> list[str]:
    """Verdict counts; the printed forms' refutations split by severity (corrected forms have none)."""
    rows = []
    for st in STATUS_ORDER:
        n_c = sum(((r.get("corrected") or {}).get("status") == st) for r in records.values())
        rows.append(f"| {st} | {sum(r['status'] == st for r in records.values())} | {n_c} |")
        if st == "refuted":
            for sev in SEVERITIES + (None,):
                n = sum(r["status"] == "refuted" and r.get("severity") == sev for r in records.values())
                if sev is not None or n:
                    rows.append(f"| &nbsp;&nbsp;of which {sev or 'severity not assessed'} | {n} | |")
    return ["| verdict | printed forms | corrected forms |", "|---|---|---|"] + rows


def _foil_summary(records: dict) -> list[str]:
    foils = _all_foils(records)
    if not foils:
        return ["No foils were run."]
    rejected = sum(f["status"] == "refuted" for f in foils)
    powers = [f["power"] for f in foils if isinstance(f.get("power"), (int, float))]
    miss = sum(1 - p for p in powers)
    lines = [f"**Foils:** {rejected} of {len(foils)} plausible wrong variants were rejected by the check of the "
             f"statement they imitate" + ("." if rejected == len(foils) else
                                          f"; {len(foils) - rejected} were not, and their claims are inconclusive.")]
    if powers:
        lines.append(f"{len(powers)} foils of statistical checks state their power (min {min(powers):.4g}); the "
                     f"expected number of them a run fails to reject by chance is at most {miss:.2g}.")
    not_run = {cid: n for cid, rec in records.items() if (n := _not_run(rec))}
    if not_run:
        total = sum(not_run.values())
        lines.append(f"{total} more {'was' if total == 1 else 'were'} not run, because the form they foil did not pass (a foil "
                     "shows that a passing check could have failed): "
                     + ", ".join(f"{n} of `{cid}` ({records[cid]['status']})" for cid, n in not_run.items()) + ".")
    out = [" ".join(lines)]
    nearest = [f for f in foils if f.get("nearest")]
    res = [form.get("resolution") for rec in records.values() for form in (rec, rec.get("corrected"))
           if isinstance(form, dict) and isinstance(form.get("resolution"), dict)]
    if nearest or res:
        sharp = sum(r.get("sharp") is True for r in res)
        out += ["", f"**Resolution:** {len(res)} passing forms state the smallest deviation their check rejects; "
                    f"{sharp} of them resolve their nearest plausible slip (index ±1, the neighbouring exponent or "
                    f"r, a factor ≤ 1.5), and {sum(f['status'] == 'refuted' for f in nearest)} of {len(nearest)} "
                    f"nearest-slip foils were rejected. The resolution column gives value, unit and slip."]
    return out


def _refuted_tables(reg: dict[str, Claim], records: dict) -> list[str]:
    L = []
    for sev in SEVERITIES + (None,):
        recs = [r for r in records.values() if r["status"] == "refuted" and r.get("severity") == sev]
        if not recs:
            continue
        title, blurb = SEVERITY_TITLES[sev]
        L += [f"## {title}", "", blurb, ""]
        head = "| claim | counterexample / evidence | why this severity | corrected form |"
        if sev == "substantive":
            head += " rests on it |"
        L += [head, "|---|---|---|---|" + ("---|" if sev == "substantive" else "")]
        for rec in recs:
            corr = rec.get("corrected")
            row = (f"| [`{rec['id']}`](claims/{safe_name(rec['id'])}.md) | {_fmt(rec['summary'])} | "
                   f"{_fmt(rec.get('severity_note') or '')} | "
                   + (f"**{corr['status']}** — {_fmt(corr['summary'])}" if corr else "none encoded") + " |")
            if sev == "substantive":
                users = downstream(reg, rec["id"])
                row += (" " + ", ".join(f"`{u}`" for u in users) if users else " none") + " |"
            L.append(row)
        L.append("")
    return L


def provenance_line(p: dict) -> str:
    """One line naming what produced the report (see ``provenance.json`` for the whole record)."""
    v = p.get("packages", {})
    pk = ", ".join(f"{k} {v[k]}" for k in ("numpy", "scipy", "torch", "hypothesis", "mpmath", "sympy") if k in v)
    git = p.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (dirty)" if git.get("dirty") else "")
    wall = p.get("wall_seconds")
    wall_s = f"{wall / 60:.1f} min" if isinstance(wall, (int, float)) else "?"
    cached = p.get("cache") or {}
    cache_s = f", {cached.get('hits', 0)} of {cached.get('claims', 0)} claims from the cache" if cached else ""
    torch_cpu = (p.get("torch_build") or {}).get("cpu_capability")
    kernels = (f"; torch CPU {torch_cpu}" if torch_cpu else "") + (
        f"; numpy SIMD {p['numpy_simd']}" if p.get("numpy_simd") else "")
    return (f"Provenance: Python {p.get('python', '?')} on {p.get('platform', '?')}; {pk}; BLAS {p.get('blas', '?')}"
            f"{kernels}; device {p.get('device_name', '?')}; commit {commit}; wall time {wall_s}{cache_s} "
            "(`provenance.json`).")


def summary_markdown(reg: dict[str, Claim], records: dict, issues: dict, meta: dict) -> str:
    L = ["# Claim status: *Why Deep Jacobian Spectra Separate*", "",
         f"Generated by `python -m checks verify --profile {meta['profile']} --seed {meta['seed']}` "
         f"on device `{meta['device']}`. {len(records)} of {len(reg)} registered claims have a result.",
         ""]
    if meta.get("provenance"):
        L += [provenance_line(meta["provenance"]), ""]
    L += ["Each statistical verdict is a two-sided test at a Bonferroni share of a suite-wide "
          f"false-alarm rate of {meta['suite_alpha']} over {meta['n_statistical']} statistical verdicts.", "",
          "## Verdicts", ""]
    L += _counts_table(records) + [""] + _foil_summary(records)
    cond = sorted(cid for cid, rec in records.items() if rec["status"] in PASSING and issues.get(cid))
    via = sorted(cid for cid, rec in records.items() if rec["status"] in PASSING and rec.get("rests_on_corrected"))
    L += ["", f"† {len(cond)} passing claims are *conditional*: something their proof uses (directly or "
          "transitively) passed in neither its printed nor its corrected form, so they are not fully supported.",
          f"‡ {len(via)} passing claims use a claim refuted as printed whose corrected form passes: they hold "
          "with that correction.", ""]
    L += _refuted_tables(reg, records)
    sections: dict[str, list[str]] = {}
    for cid in reg:
        if cid in records:
            sections.setdefault(reg[cid].section, []).append(cid)
    for sec in sorted(sections, key=_section_key):
        L += [f"## {sec}", "", "| claim | statement | verdict | foils rejected | resolution | evidence |",
              "|---|---|---|---|---|---|"]
        for cid in sections[sec]:
            rec = records[cid]
            L.append(f"| [`{cid}`](claims/{safe_name(cid)}.md) | {_fmt(reg[cid].title)} | "
                     f"{_status_cell(rec, issues.get(cid, []))} | {foil_cell(rec)} | {resolution_cell(rec)} | "
                     f"{_fmt(rec['summary'])} |")
        L.append("")
    L += ["## Dependency graph", "",
          "Edges point from a claim to the claims whose proofs use it. Dashed thick borders (†) mark "
          "passing claims with a dependency that is refuted or unchecked.", ""]
    L += _mermaid(reg, records, issues)
    return "\n".join(L) + "\n"


def _section_key(sec: str) -> tuple:
    kind, _, num = sec.partition(" ")
    return (0 if kind == "Section" else 1, int(num) if num.isdigit() else 0, num)


# -- writing ---------------------------------------------------------------------------------------
#
# claims.json is the commit point; see checks.install for the sequence. Nothing here renames a
# directory or deletes a file the report's marker does not list.

PLOT_DIGESTS = "plot_sha256"  # in each form that has plots: name -> sha256 of the PNG bytes


def plot_file(cid: str, prefix: str, name: str, form: dict) -> str:
    """The file under ``plots/`` of one plot: content-addressed by the digest ``claims.json`` stores,
    so a new plot never overwrites one the installed report shows (reports of earlier versions,
    without digests, used the bare name)."""
    digest = (form.get(PLOT_DIGESTS) or {}).get(name)
    base = f"{safe_name(cid)}--{prefix}{name}"
    return f"{base}-{digest[:12]}.png" if isinstance(digest, str) and len(digest) >= 12 else f"{base}.png"


def _forms(rec: dict):
    yield "", rec
    if isinstance(rec.get("corrected"), dict):
        yield "corrected-", rec["corrected"]


def plot_entries(records: dict) -> dict[str, str | None]:
    """``plots/<file>`` -> the digest ``claims.json`` gives it (None for reports of earlier versions)."""
    return {f"plots/{plot_file(cid, prefix, name, form)}": (form.get(PLOT_DIGESTS) or {}).get(name)
            for cid, rec in records.items() for prefix, form in _forms(rec) for name in form.get("plots") or []}


def _legacy_names(doc: dict) -> set[str]:
    """The files an earlier version's writer produced for ``doc`` (it kept no list): they are ours."""
    names = {"CLAIMS.md", "claims.json", "timing.json", "provenance.json"}
    for rec in doc.get("claims", []):
        names.add(f"claims/{safe_name(rec['id'])}.md")
        for prefix, form in _forms(rec):
            names |= {f"plots/{safe_name(rec['id'])}--{prefix}{n}.png" for n in form.get("plots") or []}
    return names


def page_text(c: Claim, rec: dict | None, issues: list[str] | None = None) -> str:
    """:func:`claim_text`, with a damaged record (a field of an unexpected shape that the validator
    does not know) reported in one line instead of a traceback."""
    try:
        return claim_text(c, rec, issues)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        raise ClaimError(f"claims.json: the record of {c.id} cannot be rendered ({type(exc).__name__}: {exc}); "
                         f"re-run verify --only {c.id}") from None


def _run_record(out: Path, digest: str) -> dict | None:
    """Timings and provenance of the run that wrote the ``claims.json`` with ``digest`` (None if unknown)."""
    try:
        run = json.loads((out / install.run_record_name(digest)).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(run, dict) or run.get("claims_sha256") != digest:
        return None
    if not isinstance(run.get("timing"), dict):
        run["timing"] = {}
    if not isinstance(run.get("provenance"), dict):
        run["provenance"] = None
    return run


def _provenance_file(out: Path, digest: str) -> dict | None:
    """``provenance.json`` where it belongs to this ``claims.json`` (or predates the digest it records)."""
    try:
        prov = json.loads((out / "provenance.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(prov, dict) or prov.get("claims_sha256", digest) != digest:
        return None
    return prov


def render(out: Path, reg: dict[str, Claim], *, writer: bool = False) -> dict:
    """(Re-)write every file derived from ``out/claims.json`` — ``CLAIMS.md``, the claim pages,
    ``timing.json`` and ``provenance.json`` (from the run record of this ``claims.json``) — stamp the
    marker with its digest and delete the files the runner wrote that it no longer names. Call with the
    lock held. Unchanged files are not rewritten. Plots are not drawn here: they are stored by digest,
    and a referenced plot that is missing or damaged is returned in ``missing_plots``."""
    from checks.model import SUITE_ALPHA
    from checks.registry import n_statistical

    step = install._fault if writer else (lambda name: None)
    raw = (out / "claims.json").read_bytes()
    digest = install.sha256(raw)
    doc = read_report(out, missing_ok=False)
    records = {rec["id"]: rec for rec in doc["claims"] if rec["id"] in reg}
    issues = {cid: list(rec.get("dependency_issues") or []) for cid, rec in records.items()}
    run = _run_record(out, digest)
    prov = run["provenance"] if run else _provenance_file(out, digest)
    meta = {"seed": doc.get("seed"), "profile": doc.get("profile"), "device": doc.get("device"),
            "suite_alpha": doc.get("suite_alpha", SUITE_ALPHA),
            "n_statistical": doc.get("n_statistical", n_statistical(reg)), "provenance": prov}
    try:
        files = {"CLAIMS.md": summary_markdown(reg, records, issues, meta)}
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        raise ClaimError(f"cannot render CLAIMS.md from {out / 'claims.json'} ({type(exc).__name__}: {exc}); "
                         "the file is damaged — re-run verify (without --only) to rebuild it") from None
    for cid, rec in records.items():
        files[f"claims/{safe_name(cid)}.md"] = page_text(reg[cid], rec, issues[cid])
    if run:
        files["timing.json"] = json.dumps(dict(sorted(run["timing"].items())), indent=1) + "\n"
        if run["provenance"] is not None:
            files["provenance.json"] = json.dumps({**run["provenance"], "claims_sha256": digest}, indent=1,
                                                  sort_keys=True) + "\n"
    keep = _report_files(doc, digest)  # a record the registry no longer has keeps its page and plots
    plots = plot_entries(records_by_id(doc))
    install.claim_files(out, keep)  # before any of them is created
    (out / "claims").mkdir(exist_ok=True)
    install.write_if_changed(out / "CLAIMS.md", files.pop("CLAIMS.md").encode())
    step("summary")
    for name, text in files.items():
        install.write_if_changed(out / name, text.encode())
    step("rendered")
    missing = []
    for name, want in plots.items():
        try:
            ok = want is None or install.sha256((out / name).read_bytes()) == want
        except OSError:
            ok = False
        if not ok:
            missing.append(name)
    install.stamp(out, digest)
    if writer:
        install.STATE["complete"] = True
    step("stamped")
    install.forget_stale(out, keep)
    step("cleaned")
    counts = {s: sum(r["status"] == s for r in records.values()) for s in STATUS_ORDER}
    return {"counts": counts, "n": len(records), "missing_plots": missing, "digest": digest}


def _report_files(doc: dict, digest: str) -> set[str]:
    """The files of the report whose ``claims.json`` is ``doc`` (with ``digest``): what the runner keeps.
    It depends on ``claims.json`` alone, not on the registry, so that a change of code never makes a
    reader delete or rewrite anything."""
    records = records_by_id(doc)
    return ({"claims.json", "CLAIMS.md", "timing.json", "provenance.json", install.run_record_name(digest)}
            | {f"claims/{safe_name(cid)}.md" for cid in records} | set(plot_entries(records)))


def stale(out: Path, reg: dict[str, Claim]) -> bool:
    """Whether the derived files of the report at ``out`` need work: rendered from another ``claims.json``
    (an interrupted write), or files the runner wrote that the report no longer names, or temporary
    files of an interrupted write. Only for reports with a marker (earlier versions kept none)."""
    marker = install.read_marker(out)
    if marker is None or not (out / "claims.json").is_file():
        return False
    try:
        doc = read_report(out, missing_ok=False)
    except ClaimError:
        return False  # damaged: nothing can be rendered from it (a full run replaces it)
    if install.needs_render(out):
        return True
    digest = install.sha256((out / "claims.json").read_bytes())
    if set(marker["files"]) - _report_files(doc, digest):
        return True
    return any(install._TMP_RE.match(e.name) for d in (out, out / "claims", out / "plots") if d.is_dir()
               for e in os.scandir(d))


def repair(out: Path, reg: dict[str, Claim]) -> dict | None:
    """Finish what an interrupted write left (lock held): re-render from ``claims.json``. None if
    nothing needed doing."""
    if stale(out, reg):
        return render(out, reg)
    return None


def repair_for_reading(out: Path, reg: dict[str, Claim]) -> None:
    """For list/show/replay: finish an interrupted write (of this or an earlier version) if no run
    holds the lock and the directory is writable; otherwise read as it is (``claims.json`` is
    committed, so what they print is complete)."""
    out = Path(os.path.realpath(os.path.abspath(out)))
    if not (install.has_legacy(out) or (out / install.MARKER).is_file()):
        return
    try:
        with install.try_locked(out) as ok:
            if ok and out.is_dir():
                done = repair(out, reg)
                if done:
                    print(f"note: {out}: finished an interrupted write (re-rendered from claims.json)",
                          file=sys.stderr)
    except ClaimError:
        return  # a damaged claims.json: the reader says so in one line
    except OSError as exc:
        print(f"note: {out}: an interrupted write could not be finished ({exc.strerror or exc}); "
              "claims.json is complete — run python -m checks report once the directory is writable",
              file=sys.stderr)


def _old_timing(out: Path) -> dict:
    """Earlier timings (from the run record of the installed claims.json, else timing.json), or {} when
    they are missing or damaged (timings are never worth a lost run)."""
    try:
        run = _run_record(out, install.sha256((out / "claims.json").read_bytes()))
    except OSError:
        run = None
    try:
        data = run["timing"] if run else json.loads((out / "timing.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


def _io_message(out: Path, exc: OSError) -> str:
    what = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    if install.STATE["committed"]:
        return (f"the new report is installed in {out} (claims.json), but writing its other files failed: "
                f"{what}; run python -m checks report --out {out} once this is fixed")
    return (f"cannot write the report in {out}: {what}; the previous report is left intact (nothing of this "
            "run was installed; finished claims are cached)")


def build(dest: Path, reg: dict[str, Claim], records: dict, fresh_plots: dict, old: Path | None = None, *,
          seed: int, profile: str, device: str, timing: dict, provenance: dict | None = None) -> dict:
    """Write a whole report of ``records`` (with their plots' bytes) into ``dest`` (absent or empty), as
    :func:`write` does; kept for callers of earlier versions (``old`` is not needed any more)."""
    from checks.runner import Result

    results = {cid: Result(rec, fresh_plots.get(cid, {}), float(timing.get(cid, 0.0))) for cid, rec in records.items()}
    return write(dest, reg, results, seed=seed, profile=profile, device=device, provenance=provenance)


def write(out: Path, reg: dict[str, Claim], results: dict, *, seed: int, profile: str, device: str,
          partial: bool = False, provenance: dict | None = None, lock: bool = True) -> dict:
    """Write the report for ``results`` at ``out`` (see :mod:`checks.install` for the sequence).

    ``partial``: keep the existing report's other claims (it must have the same seed, profile and
    device, else ReportConflict). ``lock``: take the report lock here (the CLI already holds it for
    the whole run and passes False). An I/O error (full disk...) raises :class:`install.WriteFailed`,
    whose message says whether the new report was installed.
    """
    out = install.resolve(out)
    guard = install.locked(out) if lock else contextlib.nullcontext()
    install.STATE.update(out=out, committed=False, complete=False)
    with guard:
        try:
            return _write_locked(out, reg, results, seed=seed, profile=profile, device=device, partial=partial,
                                 provenance=provenance)
        except OSError as exc:
            raise install.WriteFailed(_io_message(out, exc)) from None


def _write_locked(out: Path, reg, results, *, seed, profile, device, partial, provenance) -> dict:
    from checks.model import SUITE_ALPHA
    from checks.registry import n_statistical, sort_key

    if install.kind(out) == "other":  # again, under the lock
        install.resolve(out)
    out.mkdir(parents=True, exist_ok=True)
    repair(out, reg)
    install._fault("prepared")
    old = read_report(out) if install.kind(out) == "report" and not (out / install.MARKER).exists() else None
    records = {}
    if partial:
        records = check_mergeable(out, seed=seed, profile=profile, device=device, n_run=len(results))
    records.update({cid: r.record for cid, r in results.items()})
    timing = _old_timing(out) if partial else {}
    timing.update({cid: round(r.seconds, 3) for cid, r in results.items()})
    records = {cid: records[cid] for cid in sorted(records, key=sort_key) if cid in reg}
    issues = dependency_issues(reg, records)
    via = rests_on_corrected(reg, records)
    fresh: dict[str, bytes] = {}
    for cid, rec in records.items():
        rec["dependency_issues"] = issues[cid]
        rec["rests_on_corrected"] = via[cid]
        new = results.get(cid)
        for prefix, form in _forms(rec):
            names = form.get("plots") or []
            if new is not None:
                data = {n: new.plots[prefix + n] for n in names if prefix + n in new.plots}
            else:  # a kept record of an earlier version: adopt its plot under a content-addressed name
                data = {}
                for n in names:
                    if n not in (form.get(PLOT_DIGESTS) or {}):
                        try:
                            data[n] = (out / "plots" / f"{safe_name(cid)}--{prefix}{n}.png").read_bytes()
                        except OSError:
                            pass
            if data:
                form[PLOT_DIGESTS] = {**(form.get(PLOT_DIGESTS) or {}),
                                      **{n: install.sha256(b) for n, b in sorted(data.items())}}
                for n, b in data.items():
                    fresh[f"plots/{plot_file(cid, prefix, n, form)}"] = b
    meta = {"seed": seed, "profile": profile, "device": device, "suite_alpha": SUITE_ALPHA,
            "n_statistical": n_statistical(reg)}
    claims = serialize.dumps({**meta, "claims": list(records.values())}).encode()
    digest = install.sha256(claims)
    run_name = install.run_record_name(digest)
    # The marker lists every name before it is created (an earlier version's files too: they are ours).
    install.claim_files(out, set(fresh) | {run_name, "claims.json"} | (_legacy_names(old) if old else set()))
    (out / "plots").mkdir(exist_ok=True)
    for name, data in fresh.items():
        path = out / name
        try:
            same = install.sha256(path.read_bytes()) == install.sha256(data)
        except OSError:
            same = False
        if not same:
            install.write_atomic(path, data)
    install._fault("plots")
    run = {"claims_sha256": digest, "timing": dict(sorted(timing.items())), "provenance": provenance}
    install.write_atomic(out / run_name, (json.dumps(run, indent=1, sort_keys=True) + "\n").encode())
    install._fault("run-record")
    install.commit(out, claims)
    return render(out, reg, writer=True)
