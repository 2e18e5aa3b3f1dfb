"""Report writer: ``CLAIMS.md``, ``claims/<id>.md``, ``claims.json``, ``plots/``, ``timing.json``.

``claims.json`` holds no wall-clock times or machine names, so the same seed reproduces it byte for
byte; timings go to ``timing.json`` and the run's provenance (versions, machine, commit, wall time) to
``provenance.json``. The report is built complete beside ``--out`` and installed in one atomic step
(:mod:`checks.install`), so an interrupted run leaves the previous report intact.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
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
    install.recover_for_reading(Path(os.path.realpath(os.path.abspath(out))))
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
        if rec.get("corrected") is not None and not isinstance(rec["corrected"], dict):
            return f"claims[{k}].corrected is not an object"
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
    for name in rec.get("plots", []):
        L += [f"![{name}]({plot_dir}/{safe_name(cid)}--{prefix}{name}.png)", ""]
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
    return [" ".join(lines)]


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
    return (f"Provenance: Python {p.get('python', '?')} on {p.get('platform', '?')}; {pk}; BLAS {p.get('blas', '?')}; "
            f"device {p.get('device_name', '?')}; commit {commit}; wall time {wall_s}{cache_s} "
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

def build(dest: Path, reg: dict[str, Claim], records: dict, fresh_plots: dict, old: Path | None, *,
          seed: int, profile: str, device: str, timing: dict, provenance: dict | None = None) -> dict:
    """Write the whole report for ``records`` into the empty directory ``dest``."""
    from checks.model import SUITE_ALPHA
    from checks.registry import n_statistical, sort_key

    records = {cid: records[cid] for cid in sorted(records, key=sort_key) if cid in reg}
    issues = dependency_issues(reg, records)
    via = rests_on_corrected(reg, records)
    for cid, rec in records.items():
        rec["dependency_issues"] = issues[cid]
        rec["rests_on_corrected"] = via[cid]
    meta = {"seed": seed, "profile": profile, "device": device, "suite_alpha": SUITE_ALPHA,
            "n_statistical": n_statistical(reg)}
    doc = {**meta, "claims": list(records.values())}
    (dest / "claims").mkdir()
    (dest / "plots").mkdir()
    (dest / "claims.json").write_text(serialize.dumps(doc))
    (dest / "CLAIMS.md").write_text(summary_markdown(reg, records, issues, {**meta, "provenance": provenance}))
    for cid, rec in records.items():
        (dest / "claims" / f"{safe_name(cid)}.md").write_text(claim_text(reg[cid], rec, issues[cid]))
    # Plots: new ones from this run; earlier ones of merged claims are carried over.
    for cid, rec in records.items():
        names = [f"{safe_name(cid)}--{n}.png" for n in rec.get("plots", [])]
        names += [f"{safe_name(cid)}--corrected-{n}.png" for n in (rec.get("corrected") or {}).get("plots", [])]
        fresh = fresh_plots.get(cid, {})
        for name in names:
            short = name.split("--", 1)[1][:-4]
            if short in fresh:
                (dest / "plots" / name).write_bytes(fresh[short])
            elif old is not None and (old / "plots" / name).exists():
                shutil.copy2(old / "plots" / name, dest / "plots" / name)
    (dest / "timing.json").write_text(json.dumps(dict(sorted(timing.items())), indent=1) + "\n")
    if provenance is not None:
        (dest / "provenance.json").write_text(json.dumps(provenance, indent=1, sort_keys=True) + "\n")
    counts = {s: sum(r["status"] == s for r in records.values()) for s in STATUS_ORDER}
    return {"counts": counts, "n": len(records)}


def _old_timing(out: Path) -> dict:
    """Earlier timings, or {} when the file is missing or damaged (timings are never worth a lost run)."""
    try:
        data = json.loads((out / "timing.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


def write(out: Path, reg: dict[str, Claim], results: dict, *, seed: int, profile: str, device: str,
          partial: bool = False, provenance: dict | None = None, lock: bool = True) -> dict:
    """Write the report for ``results`` at ``out`` and install it atomically.

    ``partial``: keep the existing report's other claims (it must have the same seed, profile and
    device, else ReportConflict). ``lock``: take the report lock here (the CLI already holds it for
    the whole run and passes False).
    """
    out = install.resolve(out)
    guard = install.locked(out) if lock else contextlib.nullcontext()
    with guard:
        records = {}
        if partial:
            records = check_mergeable(out, seed=seed, profile=profile, device=device, n_run=len(results))
        records.update({cid: r.record for cid, r in results.items()})
        timing = _old_timing(out) if partial else {}
        timing.update({cid: round(r.seconds, 3) for cid, r in results.items()})
        dest = install.staging(out)
        try:
            written = build(dest, reg, records, {cid: r.plots for cid, r in results.items()},
                            out if out.is_dir() else None, seed=seed, profile=profile, device=device,
                            timing=timing, provenance=provenance)
            install.install(dest, out)
        finally:
            if dest.exists():
                shutil.rmtree(dest, ignore_errors=True)
    return written
