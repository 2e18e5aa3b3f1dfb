"""Mutation testing of the suite itself: plant single-change faults in ``theory/`` and see which the
claims and unit tests notice (``nox -s mutants`` -> ``reports/mutation.md``, ``reports/mutation.json``).

A *mutant* is the source of one module of ``theory/`` (the maths modules and the encoded predictions in
``theory/claims/``) with one change from a catalogue of the slips a derivation or a port makes:

==============  ===========================================================================
operator        change
==============  ===========================================================================
sign            ``a + b`` <-> ``a - b``; ``-x`` -> ``x``
factor          a float constant ``c`` -> ``c * sqrt(2)`` (an int constant outside an index -> ``2c``)
index           an integer inside a subscript ``k`` -> ``k + 1`` or ``k - 1``; a name ``i`` -> ``i + 1``
transpose       ``X.T`` / ``X.mT`` -> ``X``
exponent        ``x ** e`` -> ``x ** (e + 1)`` (or ``e - 1``)
drop            ``a + b`` / ``a - b`` -> ``a`` (a dropped term)
swap            ``f(a, b, ...)`` -> ``f(b, a, ...)`` (swapped arguments)
tolerance       a call of a ``*tol*`` function, or a ``tol`` value, times 10 (reported apart: it measures slack)
==============  ===========================================================================

**Where.** Only code that computes: nothing inside text, inside the arguments of an input choice (a
Hypothesis strategy, a random draw, a literal table of cases, a default argument, a budget), or inside a
tolerance's arguments (its kernel count, conditioning) — a change there draws other inputs, on which a
true statement stays true, or resizes a tolerance, which the tolerance operator measures apart. Swaps of
symmetric functions (``min``, ``zip``...) and of bookkeeping calls (seeds, memo keys) are not planted.
``<`` for ``<=`` is not in the catalogue: on real-valued data it differs only on ties of measure zero.

**Killing.** A mutant is killed when, in the quick profile and the global seed 0, any claim whose
execution covers the mutated line (recorded by a line tracer during the baseline run) changes its
verdict signature — the printed verdict, the corrected verdict, any foil's verdict, or the sharpness of
a resolution — or crashes, or runs past its time limit; or when a unit test that imports the mutated
module fails. A line run at import (a module-level constant, a claim's definition, a decorator) is
covered by every claim that executed code of its module, since the tracer starts after the imports.
Claims run in order of their baseline time and stop at the first kill.

**Sampling.** Every mutation site is enumerated from the AST; a seeded sample is drawn stratified by
module (each module gets a share proportional to the square root of its number of sites, at least 3),
so large claim modules do not crowd out the maths modules. Tolerance mutants are drawn on top.

**Equivalence.** A survivor is either fixed (a new check kills it) or argued equivalent in one line in
``tests/mutants-equivalent.txt`` (``<mutant key> | <argument>``, or ``<mutant key> | in <where> | <argument>``
where the same change occurs at several sites of the module); the report lists both.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Infrastructure rather than mathematics: a BLAS loader and a map helper.
EXCLUDE = {"theory/_openblas.py", "theory/parallel.py", "theory/__init__.py", "theory/claims/__init__.py"}
# Keyword arguments that are budgets or labels, not mathematics.
# Keyword arguments that set a tolerance's size (kernel counts, conditioning, scale): part of the tolerance.
TOL_KEYWORDS = {"kernels", "kappa", "amplification", "atol", "rtol", "rel", "abs"}
BUDGET_KEYWORDS = {"quick", "full", "deep", "examples", "steps", "seed", "dpi", "figsize", "max_examples",
                   "reps", "batch", "draws", "n_samples", "samples", "size", "runs", "n_runs", "chunk",
                   "fontsize", "alpha", "linewidth", "lw", "ms", "markersize", "bins", "ncol", "rotation"}
EQUIVALENT = ROOT / "tests" / "mutants-equivalent.txt"
# Unit-test files that are machinery, not maths (they run claims wholesale or the CLI).
MACHINERY_TESTS = {"test_claims.py", "test_robustness.py", "test_cli.py", "test_cache.py", "test_dask.py",
                   "test_machinery.py", "test_mnist.py", "test_install.py"}


@dataclass(frozen=True)
class Site:
    """One mutation: which node of which module, and what it becomes."""

    module: str  # path relative to the project root
    index: int  # position of the node in ast.walk order
    op: str
    variant: int  # which of the operator's variants at this node
    line: int
    before: str
    after: str
    # Where the node sits: the enclosing function/class qualname ('<module>' at top level), with '#k' when
    # the same change occurs k-th of several times there. Names one site across unrelated edits, so an
    # equivalence argument made for one site never excuses another with the same text.
    where: str = ""

    @property
    def key(self) -> str:
        """Stable across unrelated edits: module, operator and the changed text (not the line number)."""
        return f"{self.module}::{self.op}::{self.before} -> {self.after}"


# -- the catalogue ---------------------------------------------------------------------------------

# A tolerance function: tol, tol_svd, rel_tol, tolerance... (not tolist).
_TOL = re.compile(r"(^|_)tol($|_|erance)", re.I)
# Calls whose argument order is bookkeeping (seeds, memo keys, formatting), not mathematics: a swap
# there draws other random numbers of the same law, or fails at once.
_NO_SWAP = re.compile(r"(seed|rng|generator|memo|partial|print|format|isinstance|getattr|setattr|setdefault|"
                      r"\.get$|join|startswith|endswith|replace|append|Foil|Outcome|Status|claim|Corrected|"
                      r"Knob|Resolution|pick|savefig|plot|set_|subplots|text|legend|annotate)", re.I)


def _num(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool)


# Calls whose arguments choose inputs (Hypothesis strategies, random draws, literal test cases): a change
# there draws other inputs, on which a true statement stays true, so no correct check can notice it.
_INPUT_CALL = re.compile(r"^(st|cst|strategies|hst)\.|(^|\.)(random|normal|standard_normal|integers|uniform|choice|"
                         r"randn|rand|randint|permutation|shuffle|sampled_from|floats|builds|lists|tuples|"
                         r"matrices|networks|linspace|logspace|arange|geomspace|rp_gate|pick)$")
# Symmetric functions: swapping their first two arguments changes nothing.
_SYMMETRIC = re.compile(r"(^|\.)(zip|min|max|maximum|minimum|array_equal|allclose|isclose|hypot|union|"
                        r"intersection|add|multiply|logaddexp|gcd|lcm)$")


def _context(node, parents) -> set[str]:
    """What the node sits in: 'tol' (the arguments of a tolerance), 'input' (an input choice: a strategy
    or random draw's arguments, a literal table of cases, a default argument), 'text' (an f-string),
    'annotation' (a type annotation); 'tolroot' for the tolerance argument of a ``Comparison`` itself."""
    ctx, child, cur = set(), node, parents.get(node)
    while cur is not None:
        if isinstance(cur, (ast.JoinedStr, ast.FormattedValue)):
            ctx.add("text")
        elif isinstance(cur, ast.Call) and child is not cur.func:
            name = ast.unparse(cur.func)
            if _TOL.search(name.split(".")[-1]):
                ctx.add("tol")
            if name.split(".")[-1] == "Comparison" and (child in cur.args[1:2] or (
                    isinstance(child, ast.keyword) and child.arg == "tol")):
                # Comparison(err, tol): the second argument is a tolerance, whatever its spelling
                ctx.add("tolroot" if child is node or getattr(child, "value", None) is node else "tol")
            if _INPUT_CALL.search(name):
                ctx.add("input")
        elif isinstance(cur, ast.keyword) and cur.arg in BUDGET_KEYWORDS | TOL_KEYWORDS:
            ctx.add("input" if cur.arg in BUDGET_KEYWORDS else "tol")
        elif isinstance(cur, (ast.List, ast.Set, ast.Dict, ast.Tuple)) and not (
                isinstance(parents.get(cur), ast.Subscript) and parents[cur].slice is cur) and _literal_table(cur):
            ctx.add("input")  # a literal table of cases: (n, t) pairs, depths, gate values...
        elif isinstance(cur, ast.arguments) and child in cur.defaults + [d for d in cur.kw_defaults if d]:
            ctx.add("input")
        elif (isinstance(cur, ast.arg) and child is cur.annotation) or (
                isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef)) and child is cur.returns) or (
                isinstance(cur, ast.AnnAssign) and child is cur.annotation):
            ctx.add("annotation")  # a type annotation: never executed as arithmetic
        child, cur = cur, parents.get(cur)
    return ctx


def _literal(n) -> bool:
    if isinstance(n, ast.Constant):
        return True
    name = n.func.id if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) else (
        n.func.attr if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) else "")
    if name[:1].isupper() and n.args and all(_literal(a) for a in n.args) and all(_literal(k.value) for k in n.keywords):
        return True  # a value a constructor builds from literals: Fraction(3, 10), _ladder.Config(4, 0.5, 1.0, 2)
    if isinstance(n, ast.UnaryOp):
        return _literal(n.operand)
    if isinstance(n, ast.BinOp):
        return _literal(n.left) and _literal(n.right)
    if isinstance(n, (ast.Tuple, ast.List, ast.Set)):
        return all(_literal(e) for e in n.elts)
    if isinstance(n, ast.Dict):
        return all(k is None or _literal(k) for k in n.keys) and all(_literal(v) for v in n.values)
    return False


def _case_calls(cont) -> bool:
    """A list or tuple of two or more calls of one plain function on literals only: ``[_case(3, 2), _case(2, 3)]``,
    a table of the cases a check runs (which inputs, not what is computed from them). Method calls such as
    ``P.sum(-1), P.sum(-2)`` compute from an object and are not tables."""
    if not isinstance(cont, (ast.List, ast.Tuple)) or len(cont.elts) < 2:
        return False
    calls = [e for e in cont.elts if isinstance(e, ast.Call) and isinstance(e.func, ast.Name)]  # not P.sum(-1)
    return (len(calls) == len(cont.elts) and len({c.func.id for c in calls}) == 1
            and all(_literal(a) for c in calls for a in c.args) and all(_literal(k.value) for c in calls for k in c.keywords))


def _literal_table(cont) -> bool:
    """A container of literals only, with at least one number, or a list of one function's calls on literals
    (:func:`_case_calls`): a table of input cases."""
    return (_literal(cont) or _case_calls(cont)) and any(isinstance(n, ast.Constant) and type(n.value) in (int, float)
                                                         for n in ast.walk(cont))


def _variants(node, parent, grand, ctx: frozenset = frozenset()) -> list[tuple[str, ast.AST]]:
    """(operator, replacement node) for every mutation of ``node`` in its context (see :func:`_context`):
    nothing inside text or input choices; inside a tolerance's arguments only the tolerance x10 itself."""
    out = []
    if "text" in ctx or "input" in ctx or isinstance(node, ast.keyword):
        return out  # a keyword argument is mutated through its value (Comparison(err, tol=...) once, not twice)
    if "tolroot" in ctx or (isinstance(node, ast.Call) and _TOL.search(ast.unparse(node.func).split(".")[-1])):
        if isinstance(node, ast.Constant) and node.value == 0:
            return out  # a zero tolerance (an exact comparison) times 10 is the same zero
        return [("tolerance", ast.BinOp(copy.deepcopy(node), ast.Mult(), ast.Constant(10)))]
    if "tol" in ctx or "annotation" in ctx:
        return out
    text_op = isinstance(node, ast.BinOp) and any(
        isinstance(o, (ast.JoinedStr, ast.List, ast.ListComp)) or (isinstance(o, ast.Constant) and isinstance(o.value, str))
        or (isinstance(o, ast.Call) and ast.unparse(o.func) in ("list", "str", "tuple")) for o in (node.left, node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) and not text_op:
        flipped = copy.deepcopy(node)
        flipped.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        out.append(("sign", flipped))
        out.append(("drop", copy.deepcopy(node.left)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not _num(node.operand):
        out.append(("sign", copy.deepcopy(node.operand)))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        for d, o in ((1, ast.Add()), (1, ast.Sub())):
            out.append(("exponent", ast.BinOp(copy.deepcopy(node.left), ast.Pow(),
                                              ast.BinOp(copy.deepcopy(node.right), o, ast.Constant(d)))))
    if isinstance(node, ast.Attribute) and node.attr in ("T", "mT") and isinstance(node.ctx, ast.Load):
        out.append(("transpose", copy.deepcopy(node.value)))
    in_index = isinstance(parent, (ast.Subscript, ast.Slice, ast.Tuple)) and (
        isinstance(parent, ast.Slice) or (isinstance(parent, ast.Subscript) and parent.slice is node)
        or (isinstance(parent, ast.Tuple) and isinstance(grand, ast.Subscript)))
    if _num(node):
        if in_index and isinstance(node.value, int):
            # a slice bound of 50 or more truncates a listing for the evidence; not an index of the maths
            if not (isinstance(parent, ast.Slice) and abs(node.value) >= 50):
                out.append(("index", ast.Constant(node.value + 1)))
                out.append(("index", ast.Constant(node.value - 1)))
        elif isinstance(node.value, float) and node.value != 0.0:
            out.append(("factor", ast.BinOp(copy.deepcopy(node), ast.Mult(), ast.Constant(math.sqrt(2)))))
        elif isinstance(node.value, int) and node.value not in (0, 1) and not in_index:
            out.append(("factor", ast.Constant(2 * node.value)))
    if isinstance(node, ast.Name) and in_index and isinstance(node.ctx, ast.Load):
        out.append(("index", ast.BinOp(copy.deepcopy(node), ast.Add(), ast.Constant(1))))
    if isinstance(node, ast.Call) and len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
        fname = ast.unparse(node.func)
        a, b = ast.unparse(node.args[0]), ast.unparse(node.args[1])
        if a != b and not _NO_SWAP.search(fname) and not _SYMMETRIC.search(fname):
            sw = copy.deepcopy(node)
            sw.args[0], sw.args[1] = sw.args[1], sw.args[0]
            out.append(("swap", sw))
    return out


def _parents(tree) -> dict:
    """Each node's parent."""
    return {ch: p for p in ast.walk(tree) for ch in ast.iter_child_nodes(p)}


def _nodes(tree, parents=None):
    """ast.walk order with (node, parent, grandparent, context)."""
    parents = _parents(tree) if parents is None else parents
    for node in ast.walk(tree):
        par = parents.get(node)
        yield node, par, parents.get(par), frozenset(_context(node, parents))


# The sources of theory/ as read once at the start of a run: sampling, mutating and the baseline all use
# this snapshot, so an edit made while a run is going (hours) cannot mismatch a site and its mutant.
_SNAPSHOT: dict[str, str] = {}


def source(module: str) -> str:
    if module not in _SNAPSHOT:
        _SNAPSHOT[module] = (ROOT / module).read_text()
    return _SNAPSHOT[module]


_SITES: dict[tuple[str, int], list[Site]] = {}


def _qualname(node, parents) -> str:
    names = []
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
    return ".".join(reversed(names)) or "<module>"


def sites(module: str) -> list[Site]:
    src = source(module)
    memo = (module, hash(src))
    if memo in _SITES:
        return list(_SITES[memo])
    tree = ast.parse(src)
    parents = _parents(tree)
    raw = []
    for idx, (node, par, grand, ctx) in enumerate(_nodes(tree, parents)):
        if not hasattr(node, "lineno"):
            continue
        for v, (op, new) in enumerate(_variants(node, par, grand, ctx)):
            before, after = ast.unparse(node), ast.unparse(new)
            if before != after and len(before) <= 160:
                raw.append((idx, op, v, node.lineno, before, after, _qualname(node, parents)))
    count: dict[tuple, int] = {}
    for idx, op, v, line, before, after, q in raw:
        count[(op, before, after, q)] = count.get((op, before, after, q), 0) + 1
    seen: dict[tuple, int] = {}
    out = []
    for idx, op, v, line, before, after, q in sorted(raw, key=lambda r: (r[3], r[0], r[2])):
        k = seen[(op, before, after, q)] = seen.get((op, before, after, q), 0) + 1
        where = q if count[(op, before, after, q)] == 1 else f"{q}#{k}"
        out.append(Site(module, idx, op, v, line, before, after, where))
    out.sort(key=lambda s: (s.index, s.variant))
    _SITES[memo] = out
    return list(out)


def mutate(site: Site) -> str:
    """The module's source with the one change (unparsed from the AST: formatting changes, lines move)."""
    tree = ast.parse(source(site.module))
    for idx, (node, par, grand, ctx) in enumerate(_nodes(tree)):
        if idx == site.index:
            op, new = _variants(node, par, grand, ctx)[site.variant]
            assert op == site.op
            ast.copy_location(new, node)
            for field, value in ast.iter_fields(par):
                if value is node:
                    setattr(par, field, new)
                elif isinstance(value, list):
                    for k, item in enumerate(value):
                        if item is node:
                            value[k] = new
            return ast.unparse(ast.fix_missing_locations(tree))
    raise ValueError(f"site {site} not found")


def locate(site: dict) -> Site | None:
    """The current site of an earlier run's mutant: same module, operator and text, and then, in this order,
    the same place (``where``, with its ``#k`` occurrence) and line; the same function and line (a catalogue
    change renumbers the occurrences); the same place at the nearest line (code above it moved). None when
    the change is no longer planted there."""
    if site["module"] not in _SNAPSHOT and not (ROOT / site["module"]).exists():
        return None
    same = [s for s in sites(site["module"])
            if (s.op, s.before, s.after) == (site["op"], site["before"], site["after"])]
    where = site.get("where")
    if not where:  # an old record without its place: the nearest line
        return min(same, key=lambda s: abs(s.line - site["line"])) if same else None
    for pick in ([s for s in same if s.where == where and s.line == site["line"]],
                 [s for s in same if s.where.split("#")[0] == where.split("#")[0] and s.line == site["line"]],
                 sorted((s for s in same if s.where == where), key=lambda s: abs(s.line - site["line"]))):
        if pick:
            return pick[0]
    return None


def verdict_code_digest() -> str:
    """sha256 of what decides a claim's verdict on a mutant: the snapshot of theory/ and the runner/model."""
    import hashlib

    h = hashlib.sha256()
    for m in modules():
        h.update(m.encode() + b"\0" + source(m).encode() + b"\0")
    for p in sorted((ROOT / "checks").glob("*.py")):  # the runner, model, strategies, statistics, tolerances
        if p.name != "mutants.py":
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _baseline_key(claims: list[str]) -> str:
    """What a baseline depends on: the verdict code, the claims, the numeric libraries and kernels."""
    import hashlib

    import numpy
    import torch

    env = [os.environ.get(v, "") for v in ("OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES")]
    parts = [verdict_code_digest(), *claims, numpy.__version__, torch.__version__, sys.version, *env]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def modules() -> list[str]:
    mods = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "theory").rglob("*.py"))
    return [m for m in mods if m not in EXCLUDE]


def sample(n: int, seed: int, n_tol: int, only: list[str] | None = None) -> list[Site]:
    """Stratified by module: shares proportional to sqrt(#sites), at least 3 each; ``only`` (path prefixes)
    restricts the modules before the shares are set, so ``n`` mutants come from them."""
    rng = random.Random(seed)
    mods = [m for m in modules() if not only or any(m.startswith(o) for o in only)]
    per = {m: [s for s in sites(m) if s.op != "tolerance"] for m in mods}
    tol = [s for m in mods for s in sites(m) if s.op == "tolerance"]
    per = {m: v for m, v in per.items() if v}
    weights = {m: math.sqrt(len(v)) for m, v in per.items()}
    total = sum(weights.values())
    quota = {m: min(len(per[m]), max(3, round(n * w / total))) for m, w in weights.items()}
    chosen = []
    for m in sorted(per):
        chosen += rng.sample(per[m], quota[m])
    chosen += rng.sample(tol, min(n_tol, len(tol)))
    return chosen


# -- baseline: verdict signatures and line coverage per claim -----------------------------------

def signature(rec: dict) -> list:
    """What a mutant must change to be noticed: every verdict and every resolution's sharpness."""
    sig = []
    for form in (rec, rec.get("corrected") or {}):
        if not form:
            continue
        res = form.get("resolution") or {}
        sig.append([form.get("status"), res.get("sharp"), [f.get("status") for f in form.get("foils") or []]])
    return sig


_CHILD = r"""
import json, sys, time, signal
spec = json.load(open(sys.argv[1]))
from checks import registry, runner
reg = registry.load()
nstat = registry.n_statistical(reg)
covered = {}
def tracer_factory(targets):
    def local(frame, event, arg):
        if event == "line":
            covered.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
        return local
    def glob(frame, event, arg):
        return local if frame.f_code.co_filename in targets else None
    return glob
out = {}
for cid in spec["claims"]:
    covered.clear()
    t0 = time.perf_counter()
    if spec.get("trace"):
        sys.settrace(tracer_factory(set(spec["targets"])))
    try:
        signal.alarm(int(spec.get("limits", {}).get(cid, 0)))
        rec = runner.run_claim(reg[cid], seed=0, profile="quick", device="cpu", n_statistical=nstat, data={}).record
        signal.alarm(0)
        res = {"record_status": rec["status"], "sig": SIG(rec), "error": rec["status"] == "error"}
    except BaseException as exc:
        signal.alarm(0)
        res = {"record_status": "crash", "sig": None, "error": True, "crash": repr(exc)[:300]}
    finally:
        sys.settrace(None)
    res["seconds"] = time.perf_counter() - t0
    if spec.get("trace"):
        res["lines"] = {f: sorted(v) for f, v in covered.items()}
    out[cid] = res
    base = spec.get("baseline", {}).get(cid)
    if base is not None and (res["sig"] != base or res["error"]):
        out["__killed_by__"] = cid
        break
json.dump(out, open(sys.argv[2], "w"))
"""


def _child_source() -> str:
    return "from checks.mutants import signature as SIG\n" + _CHILD


def _run_child(spec: dict, cwd: Path, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        sp, op = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        sp.write_text(json.dumps(spec))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run([sys.executable, "-c", _child_source(), str(sp), str(op)], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"__timeout__": True}
        if not op.exists():
            return {"__crash__": (proc.stderr or "")[-800:]}
        return json.loads(op.read_text())


def baseline(claims: list[str], jobs: int, progress, overlay: Path) -> dict:
    """Run every claim once under the line tracer, on the snapshot: signature, seconds, covered lines of
    theory/ (keyed by the module's path relative to the project)."""
    targets = [str(overlay / m) for m in modules()]
    chunks = [claims[k::jobs] for k in range(jobs)]

    def one(chunk):
        res = _run_child({"claims": chunk, "trace": True, "targets": targets}, overlay, timeout=7200)
        for rec in res.values():
            if isinstance(rec, dict) and "lines" in rec:
                rec["lines"] = {str(Path(f).relative_to(overlay)): v for f, v in rec["lines"].items()}
        return res

    out = {}
    with ThreadPoolExecutor(jobs) as ex:
        for res in ex.map(one, chunks):
            if "__crash__" in res or "__timeout__" in res:
                raise RuntimeError(f"baseline run failed: {res}")
            out.update(res)
    progress(f"baseline: {len(out)} claims")
    return out


def unit_tests_for(module: str) -> list[str]:
    """Unit-test files (not machinery) that import the module (``import theory.x``, ``from theory.x import
    ...``, ``from theory import x``)."""
    dotted = module[:-3].replace("/", ".")
    parent, name = dotted.rsplit(".", 1)
    out = []
    for t in sorted((ROOT / "tests").glob("test_*.py")):
        if t.name in MACHINERY_TESTS:
            continue
        for node in ast.walk(ast.parse(t.read_text())):
            if isinstance(node, ast.Import) and any(a.name == dotted for a in node.names) or (
                    isinstance(node, ast.ImportFrom) and (node.module == dotted or (
                        node.module == parent and any(a.name == name for a in node.names)))):
                out.append(str(t.relative_to(ROOT)))
                break
    return out


# -- running mutants ---------------------------------------------------------------------------------

def _overlay(tmp: Path) -> Path:
    """A copy of the project's code (theory/ copied so one file can be replaced; the rest linked)."""
    shutil.copytree(ROOT / "theory", tmp / "theory", ignore=shutil.ignore_patterns("__pycache__"))
    for m in modules():
        (tmp / m).write_text(source(m))
    for name in ("checks", "tests", "pyproject.toml", "benchmarks"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def import_time(site: Site) -> bool:
    """Whether the mutated node runs when its module is imported (a module-level constant, a claim's
    definition, a decorator), not inside a function body: the baseline tracer starts after the imports, so
    such lines are covered by no claim's record."""
    tree = ast.parse(source(site.module))
    parents = _parents(tree)
    node = next(n for k, n in enumerate(ast.walk(tree)) if k == site.index)  # site.index: ast.walk order
    while node in parents:
        par = parents[node]
        if isinstance(par, ast.Lambda) and node is par.body:
            return False
        if isinstance(par, (ast.FunctionDef, ast.AsyncFunctionDef)) and node in par.body:
            return False
        node = par
    return True


def covering_claims(site: Site, base: dict) -> list[str]:
    """The claims that can notice the mutant, fastest first: those whose baseline execution covered the line
    (of the original file); for a line run at import, every claim that executed code of the module (the
    module-level object is used, if at all, by the module's functions or by the claims defined in it)."""
    mod = site.module
    if import_time(site):
        hit = [cid for cid, rec in base.items() if rec.get("lines", {}).get(mod)]
    else:
        hit = [cid for cid, rec in base.items() if site.line in set(rec.get("lines", {}).get(mod, ()))]
    return sorted(hit, key=lambda c: base[c]["seconds"])


def run_mutant(site: Site, base: dict, overlay: Path) -> dict:
    path = overlay / site.module
    original = path.read_text()
    path.write_text(mutate(site))
    t0 = time.perf_counter()
    try:
        claims = covering_claims(site, base)
        result = {"key": site.key, "site": asdict(site), "claims_run": 0, "covered_by": len(claims)}
        if claims:
            limits = {c: int(max(60, 5 * base[c]["seconds"] + 30)) for c in claims}
            spec = {"claims": claims, "trace": False, "baseline": {c: base[c]["sig"] for c in claims},
                    "limits": limits}
            res = _run_child(spec, overlay, timeout=sum(limits.values()) + 120)
            result["claims_run"] = len([k for k in res if not k.startswith("__")])
            if "__timeout__" in res:
                return {**result, "status": "killed", "by": "timeout", "seconds": time.perf_counter() - t0}
            if "__crash__" in res:
                return {**result, "status": "killed", "by": "import error: " + res["__crash__"][-160:],
                        "seconds": time.perf_counter() - t0}
            if "__killed_by__" in res:
                cid = res["__killed_by__"]
                how = "crash" if res[cid].get("error") else f"{base[cid]['sig']} -> {res[cid]['sig']}"
                return {**result, "status": "killed", "by": f"claim {cid}", "how": str(how)[:300],
                        "seconds": time.perf_counter() - t0}
        tests = unit_tests_for(site.module)
        if tests:
            env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
            try:
                proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                       "-n", "0", "--rootdir", str(overlay), *tests], cwd=overlay, env=env,
                                      capture_output=True, text=True, timeout=900)
                if proc.returncode not in (0, 5):
                    failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
                    return {**result, "status": "killed", "by": "unit test " + (failed[0][:200] if failed else
                                                                                  proc.stdout.strip()[-200:]),
                            "seconds": time.perf_counter() - t0}
            except subprocess.TimeoutExpired:
                return {**result, "status": "killed", "by": "unit test timeout", "seconds": time.perf_counter() - t0}
        return {**result, "status": "survived", "unit_tests": tests, "seconds": time.perf_counter() - t0}
    finally:
        path.write_text(original)


_WHERE = re.compile(r"^(?P<key>.*) \| in (?P<where>\S+)$")


def _equivalents() -> dict[tuple[str, str | None], str]:
    """``{(key, where): argument}`` from tests/mutants-equivalent.txt. A line is ``KEY | argument`` or
    ``KEY | in WHERE | argument`` (WHERE as in :attr:`Site.where`); the first form applies only where the
    key names a single site of its module (see :func:`equivalence_for`)."""
    out = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text().splitlines():
            if line.strip() and not line.startswith("#") and " | " in line:
                head, why = line.rsplit(" | ", 1)
                m = _WHERE.match(head.strip())
                out[(m["key"], m["where"]) if m else (head.strip(), None)] = why.strip()
    return out


def equivalence_for(site: dict, eq: dict) -> str | None:
    """The equivalence argument that applies to this mutant, if any: one given for its exact site
    (key and where), or one given by key alone when that key names no other site of the module."""
    cur = locate(site)
    if cur is None:
        return None
    if (cur.key, cur.where) in eq:
        return eq[(cur.key, cur.where)]
    if (cur.key, None) in eq and sum(s.key == cur.key for s in sites(cur.module)) == 1:
        return eq[(cur.key, None)]
    return None


def _md(x: str) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def write_report(results: list[dict], meta: dict, out_md: Path, out_json: Path) -> dict:
    eq = _equivalents()
    gone = [r for r in results if r["status"] == "gone"]
    math_rows = [r for r in results if r["site"]["op"] != "tolerance" and r["status"] != "gone"]
    tol_rows = [r for r in results if r["site"]["op"] == "tolerance"]
    for r in results:
        why = equivalence_for(r["site"], eq) if r["status"] in ("survived", "equivalent") else None
        if why is not None:
            r["status"], r["equivalent"] = "equivalent", why
        elif r["status"] == "equivalent":  # an earlier run's argument that no longer names this site
            r["status"] = "survived"
            r.pop("equivalent", None)
    killed = sum(r["status"] == "killed" for r in math_rows)
    equiv = sum(r["status"] == "equivalent" for r in math_rows)
    nonequiv = len(math_rows) - equiv
    score = killed / nonequiv if nonequiv else 1.0
    by_claim = sum(r["status"] == "killed" and r["by"].startswith("claim") for r in math_rows)
    summary = {"mutants": len(math_rows), "killed": killed, "equivalent": equiv,
               "survived": nonequiv - killed, "score": score, "killed_by_claims": by_claim,
               "tolerance_mutants": len(tol_rows),
               "tolerance_killed": sum(r["status"] == "killed" for r in tol_rows)}
    out_json.write_text(json.dumps({"meta": meta, "summary": summary, "mutants": results}, indent=1, sort_keys=True) + "\n")
    L = ["# Mutation testing of theory/", "",
         f"`nox -s mutants` ({meta['command']}); commit `{meta['commit']}`, {meta['wall_min']:.1f} min wall on "
         f"{meta['jobs']} processes, {meta['date']}."
         + (f" The sample was first run at commit `{meta['rerun_of']}` ({meta['first_wall_min']:.0f} min); its "
            f"survivors were re-run at `{meta['commit']}` after checks were added, and the mutants it killed keep "
            f"that result." if meta.get("rerun_of") else "")
         + (" The re-run used the unit tests only (`--tests-only`): theory/ and the runner were unchanged, so "
            "the claims' verdicts on those mutants are the first run's." if meta.get("tests_only") else ""), "",
         *([f"**As first measured, a fresh sample: {fs['killed']} of {fs['mutants'] - fs['equivalent']} "
            f"({100 * fs['score']:.1f} %)**, {fs['equivalent']} argued equivalent; that is the measure of the suite's "
            f"blind spots. Counting the survivors since argued equivalent or no longer planted as what they are, "
            f"the first run killed {fs['killed']} of {nonequiv} non-equivalent mutants "
            f"({100 * fs['killed'] / max(nonequiv, 1):.1f} %). The score below is after this sample's survivors were "
            f"closed.", ""]
           if (fs := meta.get("first_summary")) else []),
         f"**Score: {killed} of {nonequiv} non-equivalent mutants killed ({100 * score:.1f} %)** "
         f"({by_claim} by claim verdicts, {killed - by_claim} by unit tests); {equiv} argued equivalent; "
         f"{nonequiv - killed} survived. Sample: {len(math_rows)} mutants, seed {meta['seed']}, stratified by "
         f"module, from {meta['n_sites']} sites over {meta['n_modules']} modules.", "",
         "How a mutant is killed (see `checks/mutants.py`): the claims whose quick-profile run covers the mutated "
         "line are re-run on the mutant (fastest first); any change of a verdict, corrected verdict, foil verdict "
         "or resolution sharpness, a crash or a time-out kills it; then the unit tests that import the module.", "",
         ]
    for title, key in (("module", lambda r: f"`{r['site']['module']}`"), ("operator", lambda r: r["site"]["op"])):
        L += [f"## By {title}", "", f"| {title} | mutants | killed | equivalent | survived |", "|---|---|---|---|---|"]
        for name in sorted({key(r) for r in math_rows}):
            rs = [r for r in math_rows if key(r) == name]
            L.append(f"| {name} | {len(rs)} | " + " | ".join(str(sum(r["status"] == st for r in rs))
                                                           for st in ("killed", "equivalent", "survived")) + " |")
        L.append("")
    surv = [r for r in math_rows if r["status"] == "survived"]
    L += [f"## Survivors ({len(surv)})", "",
          "Neither a claim nor a unit test noticed these. Each is a blind spot to close with a check, or to "
          "argue equivalent in `tests/mutants-equivalent.txt`.", "",
          "| module:line | operator | change | claims covering the line |", "|---|---|---|---|"]
    for r in surv:
        s = r["site"]
        L.append(f"| `{s['module']}:{s['line']}` | {s['op']} | `{_md(s['before'])}` → `{_md(s['after'])}` | "
                 f"{r['covered_by']} |")
    if gone:
        L += ["", f"## Gone ({len(gone)}, not in the score)", "",
              "Survivors of the first run that are no longer planted: their code was rewritten, or the catalogue "
              "stopped mutating it (type annotations, the arguments of a tolerance call).", ""]
        L += [f"- `{r['site']['module']}:{r['site']['line']}` {r['site']['op']}: `{_md(r['site']['before'])}` → "
              f"`{_md(r['site']['after'])}`" for r in gone]
    eqs = [r for r in math_rows if r["status"] == "equivalent"]
    L += ["", f"## Argued equivalent ({len(eqs)})", "", "| module:line | change | why it cannot be detected |",
          "|---|---|---|"]
    for r in eqs:
        s = r["site"]
        L.append(f"| `{s['module']}:{s['line']}` | `{_md(s['before'])}` → `{_md(s['after'])}` | {_md(r['equivalent'])} |")
    L += ["", f"## Tolerance-loosening mutants ({len(tol_rows)}, not in the score)", "",
          "A tolerance ×10 that no check notices is slack: the comparisons pass with ten times the tolerance. "
          "These are not counted, and tolerances are not tightened below what every CPU needs.", "",
          "| module:line | change | result |", "|---|---|---|"]
    for r in tol_rows:
        s = r["site"]
        L.append(f"| `{s['module']}:{s['line']}` | `{_md(s['before'])}` ×10 | "
                 f"{'killed by ' + _md(r.get('by', '')) if r['status'] == 'killed' else 'slack: not noticed'} |")
    L += ["", "## Every mutant", "", "| # | module:line | operator | change | result | killed by |", "|---|---|---|---|---|---|"]
    for k, r in enumerate(results, 1):
        s = r["site"]
        L.append(f"| {k} | `{s['module']}:{s['line']}` | {s['op']} | `{_md(s['before'][:70])}` → `{_md(s['after'][:70])}` | "
                 f"{r['status']} | {_md(r.get('by', ''))[:120]} |")
    out_md.write_text("\n".join(L) + "\n")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checks.mutants", description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=200, help="mutants (tolerance mutants on top)")
    ap.add_argument("--tolerance", type=int, default=12, help="tolerance-loosening mutants, reported apart")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", nargs="+", help="modules (paths under theory/) to sample from")
    ap.add_argument("--out", default="reports")
    ap.add_argument("--claims", nargs="+", help="restrict the killing claims to these id prefixes (smoke runs)")
    ap.add_argument("--list", action="store_true", help="print the sampled mutants and stop")
    ap.add_argument("--rerun", metavar="MUTATION_JSON",
                    help="re-run the survivors of an earlier run (its mutation.json) on the current code, after "
                         "checks were added; the mutants it killed keep their result, marked with its commit")
    ap.add_argument("--tests-only", action="store_true",
                    help="with --rerun: re-run the survivors against the unit tests only, reusing the first run's "
                         "claim verdicts; refused unless theory/ and the runner are unchanged since that run")
    ap.add_argument("--fresh-baseline", action="store_true",
                    help="recompute the baseline even if one for the same code is cached under .cache/mutants")
    args = ap.parse_args(argv)
    if args.sample < 1 or args.jobs < 1:
        ap.error("--sample and --jobs must be positive")
    if args.tests_only and not args.rerun:
        ap.error("--tests-only goes with --rerun")
    t0 = time.perf_counter()
    # The commit the snapshot is taken at (HEAD may move while a run of an hour goes on).
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    earlier, kept = None, {}
    if args.rerun:
        try:
            earlier = json.loads(Path(args.rerun).read_text())
            prev = earlier["mutants"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            ap.error(f"--rerun {args.rerun}: not a mutation.json ({exc})")
        chosen, order = [], []
        found = {k: locate(r["site"]) for k, r in enumerate(prev) if r["status"] in ("survived", "equivalent")}
        # a site two records lead to belongs to the one recorded at its line (the other one's change is gone)
        exact = {(s.module, s.index, s.after) for k, s in found.items() if s and s.line == prev[k]["site"]["line"]}
        for k, r in enumerate(prev):
            if k in found:
                site = found[k]
                if site is not None and site.line != r["site"]["line"] and (site.module, site.index, site.after) in exact:
                    site = None
                if site is None:
                    kept[k] = {**r, "status": "gone",
                               "by": "no longer planted: the code was rewritten, or the catalogue no longer mutates it"}
                else:
                    chosen.append(site)
                    order.append(k)
            else:
                kept[k] = {**r, "earlier_commit": earlier["meta"]["commit"]}
        if args.tests_only:
            then = earlier["meta"].get("verdict_code_sha256")
            if then is None:
                ap.error("--tests-only: the earlier run recorded no digest of theory/ and the runner; re-run in full")
            if then != verdict_code_digest():
                ap.error("--tests-only: theory/ or the runner changed since the earlier run; re-run in full")
    else:
        chosen = sample(args.sample, args.seed, args.tolerance, args.only)
    if args.only:
        chosen = [s for s in chosen if any(s.module.startswith(o) for o in args.only)]
    n_sites = sum(len(sites(m)) for m in modules())
    if args.list:
        for s in chosen:
            print(f"{s.module}:{s.line} {s.op}: {s.before} -> {s.after}")
        return 0
    say = lambda msg: print(f"[mutants] {msg}", file=sys.stderr, flush=True)
    from checks import registry

    claims = [c for c in registry.load() if not args.claims or any(c.startswith(p) for p in args.claims)]
    say(f"{len(chosen)} mutants from {n_sites} sites; baseline over {len(claims)} claims on {args.jobs} processes")
    results: list[dict] = [None] * len(chosen)
    tmps = [Path(tempfile.mkdtemp(prefix="mutants-")) for _ in range(args.jobs)]
    try:
        overlays = [_overlay(t) for t in tmps]
        # --tests-only: the claims gave these survivors the same verdicts then as they would now (same code,
        # same seeds), so only the unit tests, which may have gained checks, are run.
        base = {}
        if not args.tests_only:
            # The baseline (about 5 min) is the same for every run at the same code: kept under .cache/.
            cached = ROOT / ".cache" / "mutants" / f"baseline-{_baseline_key(claims)}.json"
            if cached.exists() and not args.fresh_baseline:
                base = json.loads(cached.read_text())
                say(f"baseline: {len(base)} claims, reused from {cached.relative_to(ROOT)}")
            else:
                base = baseline(claims, args.jobs, say, overlays[0])
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp")
                tmp.write_text(json.dumps(base))
                os.replace(tmp, cached)
        free = list(range(args.jobs))
        import threading

        lock = threading.Lock()
        done = [0]

        def one(k):
            with lock:
                slot = free.pop()
            try:
                r = run_mutant(chosen[k], base, overlays[slot])
            finally:
                with lock:
                    free.append(slot)
                    done[0] += 1
            results[k] = r
            s = chosen[k]
            say(f"{done[0]}/{len(chosen)} {s.module}:{s.line} {s.op} {r['status']} {r.get('by', '')[:60]} "
                f"({r['seconds']:.0f}s)")

        with ThreadPoolExecutor(args.jobs) as ex:
            list(ex.map(one, range(len(chosen))))
    finally:
        for t in tmps:
            shutil.rmtree(t, ignore_errors=True)
    if earlier is not None:  # the earlier run's order, re-run survivors in their places
        merged, fresh = [], iter(results)
        for k in range(len(earlier["mutants"])):
            if k in kept:
                merged.append(kept[k])
                continue
            r = next(fresh)
            if args.tests_only:  # the claim side as the first run measured it
                prev = earlier["mutants"][k]
                r.update(covered_by=prev.get("covered_by", 0), claims_run=prev.get("claims_run", 0),
                         claims_from=earlier["meta"]["commit"])
            merged.append(r)
        results = merged
    meta = {"command": "python -m checks.mutants " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": commit, "wall_min": (time.perf_counter() - t0) / 60, "jobs": args.jobs, "seed": args.seed,
            "date": time.strftime("%Y-%m-%d"), "n_sites": n_sites, "n_modules": len(modules()),
            "verdict_code_sha256": verdict_code_digest()}
    if earlier is not None:
        first = earlier["meta"]
        # A re-run of a re-run still names the first run (the sample and the claims' verdicts come from it).
        meta.update(tests_only=bool(args.tests_only), rerun_of=first.get("rerun_of", first["commit"]),
                    seed=first["seed"], n_sites=first["n_sites"], n_modules=first["n_modules"],
                    first_wall_min=first.get("first_wall_min", first["wall_min"]),
                    first_summary=first.get("first_summary", earlier.get("summary")),
                    command=first["command"] + f"; survivors re-run with --rerun at {commit}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = write_report(results, meta, out / "mutation.md", out / "mutation.json")
    say(f"score {summary['killed']}/{summary['mutants'] - summary['equivalent']} = {100 * summary['score']:.1f} %; "
        f"wrote {out / 'mutation.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
