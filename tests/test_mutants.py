"""The mutation driver (checks/mutants.py): every operator yields a module that compiles and differs by
exactly the one planted change; sampling is seeded and stratified; the verdict signature sees foils and
resolutions."""

from __future__ import annotations

import ast

import pytest

from checks import mutants


@pytest.fixture(scope="module")
def all_sites():
    return {m: mutants.sites(m) for m in mutants.modules()}


def test_every_operator_is_planted_somewhere(all_sites):
    ops = {s.op for ss in all_sites.values() for s in ss}
    assert {"sign", "factor", "index", "transpose", "exponent", "drop", "swap", "tolerance"} <= ops


@pytest.mark.parametrize("module", ["theory/wedge.py", "theory/lyapunov.py", "theory/claims/sec7.py"])
def test_a_mutant_compiles_and_changes_one_node(module, all_sites):
    original = ast.dump(ast.parse((mutants.ROOT / module).read_text()))
    seen = set()
    for site in all_sites[module][:: max(1, len(all_sites[module]) // 25)]:
        src = mutants.mutate(site)
        compile(src, module, "exec")
        assert ast.dump(ast.parse(src)) != original, site
        assert site.after in src, site
        seen.add(site.op)
    assert seen


def test_tolerance_operator_matches_tolerance_functions_only():
    assert mutants._TOL.search("tol") and mutants._TOL.search("rounding_tol") and mutants._TOL.search("tolerance")
    assert not mutants._TOL.search("tolist") and not mutants._TOL.search("stole")


def test_sample_is_seeded_and_stratified():
    a, b = mutants.sample(60, 3, 4), mutants.sample(60, 3, 4)
    assert [s.key for s in a] == [s.key for s in b]
    assert [s.key for s in a] != [s.key for s in mutants.sample(60, 4, 4)]
    mods = {s.module for s in a if s.op != "tolerance"}
    assert len(mods) == len([m for m in mutants.modules() if any(s.op != "tolerance" for s in mutants.sites(m))])
    assert sum(s.op == "tolerance" for s in a) == 4


def test_signature_sees_foils_corrected_forms_and_sharpness():
    rec = {"status": "verified", "resolution": {"sharp": True}, "foils": [{"status": "refuted"}],
           "corrected": None}
    base = mutants.signature(rec)
    assert mutants.signature({**rec, "foils": [{"status": "verified"}]}) != base
    assert mutants.signature({**rec, "resolution": {"sharp": False}}) != base
    assert mutants.signature({**rec, "corrected": {"status": "supported", "foils": []}}) != base
    assert mutants.signature(dict(rec)) == base


def test_unit_tests_for_finds_importers():
    assert "tests/test_exterior.py" in mutants.unit_tests_for("theory/exterior.py")
    assert not any(t.endswith(tuple(mutants.MACHINERY_TESTS)) for t in mutants.unit_tests_for("theory/lyapunov.py"))


def _ops_at(src: str) -> list[tuple[str, str, str]]:
    tree = ast.parse(src)
    return [(op, ast.unparse(node), ast.unparse(new)) for node, par, grand, ctx in mutants._nodes(tree)
            for op, new in mutants._variants(node, par, grand, ctx)]


def test_inputs_text_and_tolerance_arguments_are_not_mutated():
    src = """
def f(x, n=5):
    cases = [(2, 3), (3, 4)]
    y = rng.standard_normal(n ** 2)
    t = tol(n + 1, kernels=2 * n + 1)
    msg = f"{x + 1}"
    return x - 1, min(x, y)
"""
    ops = _ops_at(src)
    befores = {b for _, b, _ in ops}
    assert ("sign", "x - 1", "x + 1") in ops and ("drop", "x - 1", "x") in ops
    assert ("tolerance", "tol(n + 1, kernels=2 * n + 1)", "tol(n + 1, kernels=2 * n + 1) * 10") in ops
    assert "n ** 2" not in befores and "2 * n + 1" not in befores and "n + 1" not in befores  # input / tolerance
    assert "x + 1" not in befores  # f-string
    assert not any(op == "swap" and b.startswith("min(") for op, b, _ in ops)  # symmetric
    assert not any(op == "factor" and b in ("2", "3", "4", "5") for op, b, _ in ops)  # case table, default


def test_index_slips_are_planted_in_subscripts_but_not_in_listing_truncations():
    ops = _ops_at("a = s[k] + s[1:r] + rows[:300]")
    assert ("index", "k", "k + 1") in ops and ("index", "1", "2") in ops and ("index", "r", "r + 1") in ops
    assert not any(b == "300" for _, b, _ in ops)


def test_annotations_and_tolerance_calls_get_no_arithmetic_mutants():
    ops = _ops_at("def f(n: int, p: list[tuple[int, ...]]) -> dict[str, int]:\n    return _tol_wedge(n, p, 1.0)\n")
    assert [op for op, _, _ in ops] == ["tolerance"]


def test_import_time_lines_are_covered_by_every_claim_that_runs_the_module(monkeypatch):
    src = "C = 2.0 * 3.0\n\ndef f(x):\n    return C * x\n\n@deco(4.0)\ndef g(y=1.5):\n    return y - 1\n"
    monkeypatch.setitem(mutants._SNAPSHOT, "theory/_fake.py", src)
    by_text = {(s.op, s.before): s for s in mutants.sites("theory/_fake.py")}
    const, body, deco = by_text[("factor", "2.0")], by_text[("sign", "y - 1")], by_text[("factor", "4.0")]
    assert mutants.import_time(const) and mutants.import_time(deco) and not mutants.import_time(body)
    base = {"a": {"seconds": 2.0, "lines": {"theory/_fake.py": [4]}},
            "b": {"seconds": 1.0, "lines": {"theory/_fake.py": [8]}},
            "c": {"seconds": 0.5, "lines": {"theory/other.py": [1]}}}
    assert mutants.covering_claims(const, base) == ["b", "a"]  # every claim that ran the module, fastest first
    assert mutants.covering_claims(body, base) == ["b"]  # a line in a body: the claims that ran that line


def test_the_tolerance_of_a_comparison_gets_only_the_tolerance_operator():
    ops = _ops_at("c = Comparison(abs(a - b), 1e-12 * s, {})\nd = Comparison(e - f, tol=2.0 * n)\n")
    assert ("tolerance", "1e-12 * s", "1e-12 * s * 10") in ops and ("tolerance", "2.0 * n", "2.0 * n * 10") in ops
    assert ("sign", "a - b", "a + b") in ops and ("sign", "e - f", "e + f") in ops  # the error is mutated
    assert not any(op != "tolerance" and b in ("1e-12", "2.0", "1e-12 * s", "2.0 * n") for op, b, _ in ops)
    assert not any(op == "tolerance" for op, _, _ in _ops_at("c = Comparison(abs(a), 0.0, {})\n"))  # 0 x 10 = 0


def test_an_equivalence_names_one_site_and_excuses_no_other(monkeypatch, tmp_path):
    src = "def f(x):\n    return x[0] + x[0]\n\ndef g(x):\n    return x[0] * 2.0\n"
    monkeypatch.setitem(mutants._SNAPSHOT, "theory/_fake.py", src)
    idx = [s for s in mutants.sites("theory/_fake.py") if s.op == "index" and s.after == "1"]
    assert sorted(s.where for s in idx) == ["f#1", "f#2", "g"]
    key = idx[0].key
    eq_file = tmp_path / "eq.txt"
    monkeypatch.setattr(mutants, "EQUIVALENT", eq_file)
    eq_file.write_text(f"{key} | by key alone\n")  # names three sites: excuses none
    assert all(mutants.equivalence_for(mutants.asdict(s), mutants._equivalents()) is None for s in idx)
    eq_file.write_text(f"{key} | in g | the one in g\n")
    got = {s.where: mutants.equivalence_for(mutants.asdict(s), mutants._equivalents()) for s in idx}
    assert got == {"f#1": None, "f#2": None, "g": "the one in g"}


def test_every_equivalence_argument_names_exactly_one_current_site():
    heads = [ln.rsplit(" | ", 1)[0] for ln in mutants.EQUIVALENT.read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(heads) == len(set(heads)), "an argument given twice for one site"
    by_module: dict[str, list] = {}
    for (key, where), why in mutants._equivalents().items():
        module = key.split("::", 1)[0]
        same = [s for s in by_module.setdefault(module, mutants.sites(module)) if s.key == key]
        named = [s for s in same if s.where == where] if where else same
        assert len(named) == 1, f"{key} | in {where}: names {len(named)} sites ({[s.where for s in same]})"
        assert why and len(why) > 40, key  # an argument, not a label


def test_case_tables_of_constructed_values_are_inputs():
    ops = _ops_at("CASES = [(4, 2, Fraction(3, 10)), (5, 1, Fraction(1, 2))]\n"
                  "cfgs = [Config(4, 0.5, 1.0, 2)]\n"
                  "def f(ce):\n    return (int(ce.get('i', 1)) - 1, g(2.0 * x))\n")
    befores = {b for _, b, _ in ops}
    assert not befores & {"3", "10", "4", "0.5", "1.0", "2", "Fraction(3, 10)", "Config(4, 0.5, 1.0, 2)"}
    assert ("sign", "int(ce.get('i', 1)) - 1", "int(ce.get('i', 1)) + 1") in ops  # a method call: not a literal
    assert ("factor", "2.0", "2.0 * 1.4142135623730951") in ops


def test_tables_of_one_functions_calls_on_literals_are_inputs_but_method_calls_are_not():
    ops = _ops_at("check = _symbolic([_case(2, 3), _case(3, 2)], 'text')\n"
                  "px, py = P.sum(-1), P.sum(-2)\n"
                  "mixed = [_k(2, 5), _other(3, 2)]\n")
    befores = {b for _, b, _ in ops}
    assert not befores & {"_case(2, 3)", "_case(3, 2)"}  # a case table: which inputs, not what is computed
    assert ("swap", "_case(2, 3)", "_case(3, 2)") not in ops
    assert any(b == "-2" or b == "2" for _, b, _ in ops)  # the axis of P.sum(-2) computes: still mutated
    assert ("swap", "_k(2, 5)", "_k(5, 2)") in ops  # two different functions: not one table


def test_a_keyword_tolerance_is_mutated_once_through_its_value():
    ops = _ops_at("c = Comparison(e - f, tol=tol(n, kernels=2))\nd = Comparison(e, tol=0.0)\n")
    tol_ops = [(b, a) for op, b, a in ops if op == "tolerance"]
    assert tol_ops == [("tol(n, kernels=2)", "tol(n, kernels=2) * 10")]  # not also 'tol=tol(...)', never tol=0.0


def test_sample_only_draws_its_size_from_the_named_modules():
    only = ["theory/claims/sec7.py", "theory/wedge.py"]
    got = mutants.sample(40, 5, 3, only)
    assert {s.module for s in got} == set(only) and sum(s.op != "tolerance" for s in got) >= 40 - 2
    assert [s.key for s in got] == [s.key for s in mutants.sample(40, 5, 3, only)]


def test_locate_follows_moved_code_and_renumbered_occurrences_but_not_onto_another_site(monkeypatch):
    old = "def f(x):\n    a = x[0] * 3\n    b = x[1] * 3\n    return a + b\n"
    monkeypatch.setitem(mutants._SNAPSHOT, "theory/_fake.py", old)
    second = [s for s in mutants.sites("theory/_fake.py") if s.key.endswith("::3 -> 6")][1]
    assert second.where == "f#2" and second.line == 3
    rec = {"module": "theory/_fake.py", "op": "factor", "before": "3", "after": "6", "line": 3, "where": "f#2"}
    # code moved down two lines: the same place at the nearest line
    monkeypatch.setitem(mutants._SNAPSHOT, "theory/_fake.py", "import os\n\n" + old)
    assert mutants.locate(rec).line == 5
    # the first occurrence is no longer planted (an input now): the record f#2 at line 3 is the site f at line 3
    monkeypatch.setitem(mutants._SNAPSHOT, "theory/_fake.py",
                        "def f(x):\n    a = g(n=3)\n    b = x[1] * 3\n    return a + b\n")
    BUDGET = mutants.BUDGET_KEYWORDS
    monkeypatch.setattr(mutants, "BUDGET_KEYWORDS", BUDGET | {"n"})
    assert (mutants.locate(rec).line, mutants.locate(rec).where) == (3, "f")
    # ... and the record of the first occurrence (f#1, line 2) is gone, not moved onto the second
    assert mutants.locate({**rec, "line": 2, "where": "f#1"}) is None
