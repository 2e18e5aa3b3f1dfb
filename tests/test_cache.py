"""The result cache (issue 12): what its key covers, that a cached run writes the same bytes, and that
changing a module re-runs exactly the claims that depend on it; the provenance record."""

from __future__ import annotations

import json
import textwrap

import pytest

from checks import cache, provenance, registry
from checks.runner import Result
from test_cli import REG, cli

CHEAP = ["def-4.1", "app-f/range", "app-f/absolute-value"]


def test_a_cached_run_writes_the_same_claims_json_bytes(tmp_path):
    c = str(tmp_path / "cache")
    first = cli("verify", "--only", *CHEAP, "--out", str(tmp_path / "a"), "--jobs", "1", "--cache-dir", c)
    second = cli("verify", "--only", *CHEAP, "--out", str(tmp_path / "b"), "--jobs", "1", "--cache-dir", c)
    fresh = cli("verify", "--only", *CHEAP, "--out", str(tmp_path / "c"), "--jobs", "1", "--cache-dir", c,
                "--no-cache")
    assert first.returncode == second.returncode == fresh.returncode == 0, first.stderr + second.stderr
    assert f"{len(CHEAP)} of {len(CHEAP)} claim(s) unchanged" in second.stderr
    assert "unchanged" not in fresh.stderr
    a, b, f = ((tmp_path / d / "claims.json").read_bytes() for d in "abc")
    assert a == b == f
    prov = json.loads((tmp_path / "b" / "provenance.json").read_text())
    assert prov["cache"] == {"claims": len(CHEAP), "hits": len(CHEAP)}
    assert "Provenance:" in (tmp_path / "b" / "CLAIMS.md").read_text()


def test_key_covers_seed_profile_device_data_and_bonferroni():
    c = REG[CHEAP[0]]
    base = dict(seed=0, profile="quick", device="cpu", n_statistical=10, data={})
    k = cache.key(c, **base)
    assert k == cache.key(c, **base)
    for change in ({"seed": 1}, {"profile": "full"}, {"device": "cuda"}, {"n_statistical": 11}):
        assert cache.key(c, **{**base, **change}) != k, change
    assert cache.key(REG[CHEAP[1]], **base) != k


def test_key_covers_the_numeric_kernels(monkeypatch):
    """A cache filled on a machine whose BLAS core or torch CPU capability differ would give other last digits."""
    c = REG[CHEAP[0]]
    base = dict(seed=0, profile="quick", device="cpu", n_statistical=10, data={})
    k = cache.key(c, **base)
    here = provenance.numeric_kernels()
    for change in ({"blas": here["blas"] + " SkylakeX"}, {"torch_cpu": "AVX2" if here["torch_cpu"] != "AVX2" else "DEFAULT"}):
        monkeypatch.setattr(provenance, "numeric_kernels", lambda change=change: {**here, **change})
        assert cache.key(c, **base) != k, change


KEY_OF_DEF_41 = """
from checks import cache, provenance, registry
reg = registry.load()
print(cache.key(reg["def-4.1"], seed=0, profile="quick", device="cpu", n_statistical=1, data={}))
print(provenance.numeric_kernels().get("numpy_simd"))
"""


def test_key_covers_numpys_simd_dispatch():
    """Issue 18, defect 6: under NPY_DISABLE_CPU_FEATURES numpy's loops take other SIMD paths (30 of 146
    records differed in their floats), so the key must differ; it did not."""
    import os
    import subprocess
    import sys

    from numpy._core import _multiarray_umath as umath

    from test_cli import ROOT

    enabled = [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]
    if not enabled:
        pytest.skip("numpy dispatches to no SIMD target beyond its baseline on this CPU: nothing to disable")

    def key_under(env):
        out = subprocess.run([sys.executable, "-c", KEY_OF_DEF_41], cwd=ROOT, capture_output=True, text=True,
                             timeout=300, env=env)
        assert out.returncode == 0, out.stderr
        return out.stdout.split("\n")[:2]

    plain = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    (k1, simd1), (k2, simd2) = key_under(plain), key_under({**plain, "NPY_DISABLE_CPU_FEATURES": " ".join(enabled)})
    assert simd1 != simd2 and k1 != k2


def test_key_covers_data_contents(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "f").write_text("one")
    c = REG[CHEAP[0]]
    k1 = cache.key(c, seed=0, profile="quick", device="cpu", n_statistical=1, data={"mnist": str(d)})
    cache._data_digest.cache_clear()
    cache._file_digest.cache_clear()
    (d / "f").write_text("two")
    k2 = cache.key(c, seed=0, profile="quick", device="cpu", n_statistical=1, data={"mnist": str(d)})
    assert k1 != k2


@pytest.fixture
def fake_project(tmp_path, monkeypatch):
    """A tiny package tree standing in for theory/ and checks/ (module_path resolves under ROOT)."""
    files = {
        "theory/__init__.py": "",
        "theory/claims/__init__.py": "",
        "theory/claims/mod_a.py": "from theory import core\nimport numpy\n",
        "theory/claims/mod_b.py": "def f():\n    from theory.claims import _shared\n",
        "theory/claims/_shared.py": "from . import mod_a\n",
        "theory/core.py": "x = 1\n",
        "theory/other.py": "y = 2\n",
        "checks/__init__.py": "",
        "checks/model.py": "",
        "checks/runner.py": "from checks import serialize\n",
        "checks/serialize.py": "",
    }
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    monkeypatch.setattr(cache, "ROOT", tmp_path)
    cache.closure.cache_clear()
    cache._file_digest.cache_clear()
    yield tmp_path
    cache.closure.cache_clear()
    cache._file_digest.cache_clear()


def test_closure_follows_imports_inside_functions_and_relative_ones(fake_project):
    assert cache.closure("theory.claims.mod_a") == ("theory", "theory.claims", "theory.claims.mod_a", "theory.core")
    assert set(cache.closure("theory.claims.mod_b")) == {
        "theory", "theory.claims", "theory.claims.mod_b", "theory.claims._shared", "theory.claims.mod_a",
        "theory.core"}


def test_touching_a_module_changes_exactly_the_keys_that_depend_on_it(fake_project):
    before = {m: cache.source_digest(m) for m in ("theory.claims.mod_a", "theory.claims.mod_b")}
    (fake_project / "theory" / "other.py").write_text("y = 3\n")  # imported by nobody
    cache._file_digest.cache_clear()
    assert {m: cache.source_digest(m) for m in before} == before
    (fake_project / "theory" / "core.py").write_text("x = 2\n")  # imported by both, transitively
    cache._file_digest.cache_clear()
    after = {m: cache.source_digest(m) for m in before}
    assert all(after[m] != before[m] for m in before)
    (fake_project / "theory" / "claims" / "mod_b.py").write_text("def f():\n    pass\n")
    cache.closure.cache_clear()
    cache._file_digest.cache_clear()
    assert cache.source_digest("theory.claims.mod_a") == after["theory.claims.mod_a"]


def test_every_registered_claim_knows_its_module():
    missing = [cid for cid, c in REG.items() if not c.module.startswith("theory.claims.")]
    assert not missing


def test_damaged_cache_entries_are_recomputed(tmp_path):
    store = cache.ResultCache(tmp_path)
    k = "ab" + "0" * 38
    rec = {"id": "x", "status": "verified"}
    assert store.put(k, Result(rec, {"p": b"\x89PNG"}, 1.5, sources={}), claim_id="x", sources={})
    got = store.get(k, "x")
    assert got.record == rec and got.plots == {"p": b"\x89PNG"} and got.seconds == 1.5
    store._path(k).write_bytes(b"\xff{")
    assert store.get(k, "x") is None
    assert store.get("cd" + "1" * 38, "x") is None
    assert [cid for cid, _ in store.rejected] == ["x"]  # the damaged one; a missing entry is a plain miss


def _entry(store, k):
    return json.loads(store._path(k).read_text(encoding="utf-8"))


def _rewrite(store, k, entry):
    store._path(k).write_text(json.dumps(entry), encoding="utf-8")


@pytest.mark.parametrize("tamper, reason", [
    (lambda e: e["record"].update(status="refuted"), "checksum mismatch"),  # a flipped verdict
    (lambda e: e["record"].update(summary="other"), "checksum mismatch"),
    (lambda e: e.update(seconds=2.5), "checksum mismatch"),
    (lambda e: e.update(sha256="0" * 64), "checksum mismatch"),
    (lambda e: e.pop("sha256"), "checksum mismatch"),
    (lambda e: e.pop("claim_id"), "another claim"),
    (lambda e: e.update(key="ff" + "0" * 38), "another key"),
    (lambda e: e.pop("record"), "record missing"),
    (lambda e: e["record"].pop("status"), "not a verdict"),
    (lambda e: e["record"].update(status=["verified"]), "not a verdict"),
    (lambda e: e["record"].update(status="great"), "not a verdict"),
    (lambda e: e.update(record=[1, 2]), "record missing"),
    (lambda e: e.update(plots=None), "plots"),
    (lambda e: e.update(plots={"p": "@@@"}), "checksum mismatch"),
    (lambda e: e.update(seconds="1.5"), "seconds"),
    (lambda e: e.update(format=1), "format"),
])
def test_a_tampered_entry_is_refused_with_its_reason(tmp_path, tamper, reason):
    """Issue 18, defect 5: the cache served any valid JSON under a key."""
    store = cache.ResultCache(tmp_path)
    k = "ab" + "2" * 38
    assert store.put(k, Result({"id": "x", "status": "verified", "summary": "s"}, {"p": b"png"}, 1.5),
                     claim_id="x", sources={}) is False  # a result without source digests is never stored
    store.put(k, Result({"id": "x", "status": "verified", "summary": "s"}, {"p": b"png"}, 1.5, sources={}),
              claim_id="x", sources={})
    assert store.get(k, "x") is not None and not store.rejected
    entry = _entry(store, k)
    tamper(entry)
    _rewrite(store, k, entry)
    assert store.get(k, "x") is None
    assert len(store.rejected) == 1 and reason in store.rejected[0][1], store.rejected


def test_another_claims_entry_under_this_key_is_refused(tmp_path):
    """A valid, untampered entry of claim y, copied under claim x's key, is not served as x's result."""
    store = cache.ResultCache(tmp_path)
    kx, ky = "ab" + "3" * 38, "ab" + "4" * 38
    store.put(ky, Result({"id": "y", "status": "refuted"}, {}, 1.0, sources={}), claim_id="y", sources={})
    store._path(kx).write_bytes(store._path(ky).read_bytes())
    assert store.get(kx, "x") is None and store.get(ky, "y") is not None
    # even with its key rewritten and its checksum recomputed, y's record is not x's
    entry = _entry(store, ky)
    entry.update(key=kx, claim_id="x", sha256=cache._checksum("x", kx, entry["record"], entry["plots"],
                                                               entry["seconds"]))
    _rewrite(store, kx, entry)
    assert store.get(kx, "x") is None
    assert [why for _, why in store.rejected] == ["stored under another key", "record missing or of another claim"]


@pytest.mark.parametrize("text", ["[]", "null", "3", '"verified"', "{}", '{"format": 2}', "[{}]", "true"])
def test_non_object_or_empty_entries_are_refused(tmp_path, text):
    store = cache.ResultCache(tmp_path)
    k = "ab" + "5" * 38
    store._path(k).parent.mkdir(parents=True)
    store._path(k).write_text(text)
    assert store.get(k, "x") is None and len(store.rejected) == 1


def test_a_bad_entry_is_recomputed_with_a_one_line_notice(tmp_path):
    """End to end: a flipped verdict, another claim's record, a record without status and a non-object,
    each placed under a claim's key, are recomputed (one notice line) and the report equals --no-cache's."""
    c = str(tmp_path / "cache")
    ids = CHEAP
    first = cli("verify", "--only", *ids, "--out", str(tmp_path / "a"), "--jobs", "1", "--cache-dir", c)
    assert first.returncode == 0, first.stderr
    store = cache.ResultCache(c)
    n_stat = registry.n_statistical(REG)
    keys = [cache.key(REG[cid], seed=0, profile="quick", device="cpu", n_statistical=n_stat, data={})
            for cid in ids]
    e0 = _entry(store, keys[0])
    e0["record"]["status"] = "refuted"  # flipped verdict
    _rewrite(store, keys[0], e0)
    store._path(keys[1]).write_bytes(store._path(keys[2]).read_bytes())  # another claim's entry
    store._path(keys[2]).write_text("[1, 2, 3]")  # not an object
    second = cli("verify", "--only", *ids, "--out", str(tmp_path / "b"), "--jobs", "1", "--cache-dir", c)
    assert second.returncode == 0 and "Traceback" not in second.stderr, second.stderr
    notes = [line for line in second.stderr.splitlines() if "cache entr" in line]
    assert len(notes) == 1 and "3 cache entries" in notes[0] and "recomputed" in notes[0], second.stderr
    assert "unchanged since a cached run" not in second.stderr
    assert (tmp_path / "a" / "claims.json").read_bytes() == (tmp_path / "b" / "claims.json").read_bytes()
    third = cli("verify", "--only", *ids, "--out", str(tmp_path / "c"), "--jobs", "1", "--cache-dir", c)
    assert f"{len(ids)} of {len(ids)} claim(s) unchanged" in third.stderr and "cache entr" not in third.stderr


def test_imported_sources_are_the_bytes_compiled_not_the_file_now(tmp_path, monkeypatch):
    """checks.sources records, per project module, the digest of the bytes its import compiled."""
    import hashlib
    import importlib
    import sys

    from checks import sources

    ran = sources.imported()
    for mod in ("checks", "checks.sources", "checks.model", "checks.cache"):  # boot files included
        assert ran[mod] == cache._file_digest(cache.module_path(mod)), mod
    pkg = tmp_path / "theory_fake_pkg"
    monkeypatch.setattr(sources, "PACKAGES", sources.PACKAGES + ("theory_fake_pkg",))
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "m.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        m = importlib.import_module("theory_fake_pkg.m")
        assert m.X == 1
        (pkg / "m.py").write_text("X = 2\n")  # edited after the import: the process still runs X = 1
        assert sources.imported()["theory_fake_pkg.m"] == hashlib.sha256(b"X = 1\n").hexdigest()
    finally:
        for name in ("theory_fake_pkg.m", "theory_fake_pkg"):
            sys.modules.pop(name, None)
    expected = {"a": "1", "b": "2"}
    assert cache.unchanged(expected, {"a": "1", "b": "2", "c": "9"})
    assert cache.unchanged(expected, {"a": "1"})  # b never imported: it did not run
    assert not cache.unchanged(expected, {"a": "1", "b": "3"})
    assert not cache.unchanged(expected, {"a": None})  # unknown bytes count as changed
    assert not cache.unchanged(expected, None)  # a result without digests is never stored


RACE = """
import pathlib, sys
from checks import cli, runner

p = pathlib.Path("theory/claims/app_b.py")
orig = p.read_bytes()
edited = orig.replace(b"dim=lambda n, t: n**t)", b"dim=lambda n, t: n**t + 1)", 1)
assert edited != orig
real = runner.run_many


def racing(reg, ids, **kw):
    p.write_bytes(edited)  # after the keys were computed, before the workers import the claims
    put = kw["on_result"]

    def restore_then_put(cid, res):
        p.write_bytes(orig)  # byte for byte, before the result is stored
        put(cid, res)

    kw["on_result"] = restore_then_put
    return real(reg, ids, **kw)


runner.run_many = racing
sys.exit(cli.main(sys.argv[1:]))
"""


def test_an_edit_during_the_run_is_never_cached_under_the_original_key(tmp_path):
    """Issue 18, defect 2: app_b.py edited after the keys were computed (the --jobs workers import the edit)
    and restored byte for byte before the result is stored. The result of the edit is reported as computed
    but not cached, so a later cached run of the unchanged source equals a --no-cache run."""
    import shutil
    import subprocess
    import sys

    from test_cli import ROOT

    proj = tmp_path / "proj"
    for d in ("checks", "theory"):
        shutil.copytree(ROOT / d, proj / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "requirements", proj / "requirements")
    c = str(tmp_path / "cache")
    ids = ["app-b.1.1/dimension", "def-4.1"]

    def run(*args, script=None):
        cmd = [sys.executable, "-c", script] if script else [sys.executable, "-m", "checks"]
        return subprocess.run([*cmd, "verify", "--only", *ids, "--jobs", "2", "--cache-dir", c, *args], cwd=proj,
                              capture_output=True, text=True, timeout=600)

    raced = run("--out", str(tmp_path / "raced"), script=RACE)
    assert raced.returncode == 0, raced.stderr
    recs = {r["id"]: r for r in json.loads((tmp_path / "raced" / "claims.json").read_text())["claims"]}
    assert recs["app-b.1.1/dimension"]["status"] == "refuted"  # the workers did run the edit
    cached = run("--out", str(tmp_path / "cached"))
    fresh = run("--out", str(tmp_path / "fresh"), "--no-cache")
    assert cached.returncode == fresh.returncode == 0, cached.stderr + fresh.stderr
    recs = {r["id"]: r for r in json.loads((tmp_path / "cached" / "claims.json").read_text())["claims"]}
    assert recs["app-b.1.1/dimension"]["status"] == "verified"  # before the fix: the edit's 'refuted'
    assert "1 of 2 claim(s) unchanged" in cached.stderr  # def-4.1's result was sound and cached
    assert (tmp_path / "cached" / "claims.json").read_bytes() == (tmp_path / "fresh" / "claims.json").read_bytes()
    notes = [line for line in raced.stderr.splitlines() if "source changed during the run" in line]
    assert len(notes) == 1 and "1 result(s) not cached (app-b.1.1/dimension)" in notes[0], raced.stderr


def test_provenance_names_versions_blas_device_and_commit():
    p = provenance.collect(profile="quick", seed=3, device="cpu", jobs=1, wall_seconds=1.0, argv=["verify"])
    assert p["packages"]["numpy"] and p["packages"]["torch"]
    assert p["blas"] and p["device_name"].startswith("cpu")
    assert p["blas"] == provenance.numeric_kernels()["blas"]
    assert p["torch_build"]["cpu_capability"] == provenance.numeric_kernels()["torch_cpu"]
    assert p["seed"] == 3 and p["profile"] == "quick"
    assert p["git"] is None or len(p["git"]["commit"]) == 40
    json.dumps(p)


def test_provenance_names_the_commit_the_run_started_from():
    """A run of many minutes may see HEAD move; the record names the state the run imported (read at start)."""
    start = {"commit": "a" * 40, "dirty": False}
    p = provenance.collect(profile="quick", seed=0, device="cpu", jobs=1, wall_seconds=1.0, argv=[], git=start)
    assert p["git"] == start
