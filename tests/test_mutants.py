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
