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
    store.put(k, Result({"id": "x", "status": "verified"}, {"p": b"\x89PNG"}, 1.5))
    got = store.get(k)
    assert got.record == {"id": "x", "status": "verified"} and got.plots == {"p": b"\x89PNG"}
    store._path(k).write_bytes(b"\xff{")
    assert store.get(k) is None
    assert store.get("cd" + "1" * 38) is None


def test_provenance_names_versions_blas_device_and_commit():
    p = provenance.collect(profile="quick", seed=3, device="cpu", jobs=1, wall_seconds=1.0, argv=["verify"])
    assert p["packages"]["numpy"] and p["packages"]["torch"]
    assert p["blas"] and p["device_name"].startswith("cpu")
    assert p["blas"] == provenance.numeric_kernels()["blas"]
    assert p["torch_build"]["cpu_capability"] == provenance.numeric_kernels()["torch_cpu"]
    assert p["seed"] == 3 and p["profile"] == "quick"
    assert p["git"] is None or len(p["git"]["commit"]) == 40
    json.dumps(p)
