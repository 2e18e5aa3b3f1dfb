"""The runner as users treat it: Ctrl-C, kills, two runs at once, damaged files, odd arguments.

Each test reproduces a failure seen on an earlier tree (issue 11) and checks the behaviour promised in
the README: the previous report survives any interruption, workers never outlive the run, a second
run into a locked report and every bad input get a one-line error with exit code 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from checks import cli, install, registry, report, runner
from test_cli import REG, ROOT, _one_line_error, cli as run_cli

CHEAP = "def-4.1"  # an exact check that takes well under a second in the quick profile


def _verify(out, *ids, extra=()):
    return run_cli("verify", "--only", *ids, "--out", str(out), "--jobs", "1", *extra)


@pytest.fixture(scope="module")
def base_report(tmp_path_factory):
    """A small real report (two cheap claims), built once per module; tests copy it."""
    out = tmp_path_factory.mktemp("base") / "r"
    proc = _verify(out, CHEAP, "app-f/range")
    assert proc.returncode == 0, proc.stderr
    return out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# -- 1, 2: interruption and orphans ----------------------------------------------------------------

def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_slow_run(out: Path) -> subprocess.Popen:
    # Two slow Monte-Carlo claims on two workers: long enough to be interrupted mid-run.
    return subprocess.Popen([sys.executable, "-m", "checks", "verify", "--only", "thm-5.3/d-universal",
                             "thm-5.3/correction", "fig-10", "--out", str(out), "--jobs", "2"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_workers(proc: subprocess.Popen, n: int = 2, timeout: float = 120) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [k for k in _children(proc.pid) if "resource_tracker" not in Path(f"/proc/{k}/cmdline").read_text()]
        if len(kids) >= n:
            time.sleep(1.0)  # let them start a claim
            return kids
        if proc.poll() is not None:
            pytest.fail(f"run ended before its workers started: {proc.stderr.read()}")
        time.sleep(0.2)
    pytest.fail("workers did not start")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find worker processes")
@pytest.mark.parametrize("target", ["group", "parent"])
def test_ctrl_c_stops_the_run_and_its_workers_and_keeps_the_report(base_report, tmp_path, target):
    out = _copy(base_report, tmp_path / "r")
    before = _snapshot(out)
    proc = _start_slow_run(out)
    workers = _wait_for_workers(proc)
    t0 = time.monotonic()
    if target == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    proc.wait(timeout=30)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, proc.stderr.read()
    assert elapsed < 10, f"Ctrl-C took {elapsed:.1f} s to stop the run"
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)], "workers outlived the interrupted run"
    assert _snapshot(out) == before
    assert "previous report is left intact" in proc.stderr.read()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find worker processes")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_exit_when_the_parent_is_killed(tmp_path, sig):
    proc = _start_slow_run(tmp_path / "r")
    workers = _wait_for_workers(proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [w for w in workers if _alive(w)]:
        time.sleep(0.2)
    assert not [w for w in workers if _alive(w)], f"workers orphaned after {sig!r} to the parent"
    assert not (tmp_path / "r").exists() or not (tmp_path / "r" / "claims.json").exists()


# -- 3: the write has one commit point, whatever the moment of a crash --------------------------------
# (tests/test_install.py interrupts every step with real signals, on hostile file systems too)

_WRITER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {tests!r})
    from checks import install, report
    from test_machinery import _fake_registry, _run
    step, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def fault(name):
        if name == step:
            os._exit(9)  # die on the spot: no cleanup, no finally blocks
    install._FAULT = fault
    reg = _fake_registry()
    report.write(out, reg, _run(reg), seed=seed, profile="quick", device="cpu")
""")

STEPS = ["prepared", "plots", "run-record", "committed", "summary", "rendered", "stamped", "cleaned"]


@pytest.mark.parametrize("step", STEPS)
def test_install_interrupted_at_every_step_leaves_one_complete_report(tmp_path, step):
    from test_machinery import _fake_registry, _run

    out = tmp_path / "r"
    reg = _fake_registry()
    report.write(out, reg, _run(reg), seed=0, profile="quick", device="cpu")
    (out / "bench.md").write_text("kept across installs\n")
    old = _snapshot(out)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(tests=str(ROOT / "tests")))
    proc = subprocess.run([sys.executable, str(script), step, str(out), "7"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    # A reader finishes an interrupted write; then the path holds one complete report.
    report.repair_for_reading(out, reg)
    seed = json.loads((out / "claims.json").read_text())["seed"]
    now = _snapshot(out)
    assert seed == (0 if STEPS.index(step) < STEPS.index("committed") else 7)
    if seed == 0:
        assert now == old
    else:
        assert now["bench.md"] == old["bench.md"]
        assert set(now) - {n for n in now if n.startswith(".claims-run-")} == \
            set(old) - {n for n in old if n.startswith(".claims-run-")}, "the new report is incomplete"
        for name, data in now.items():
            if name.startswith("claims/"):
                assert b"Verdict" in data
        assert b"--seed 7" in now["CLAIMS.md"]
    assert not report.stale(out, reg)
    # The next writer leaves nothing of the runner's beside the report but its lock.
    report.write(out, reg, _run(reg, ["lem-9.1"]), seed=0, profile="quick", device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".r.")) == [".r.lock"]


def test_stale_scratch_folders_of_old_versions_are_cleaned(base_report, tmp_path):
    out = _copy(base_report, tmp_path / "r")
    (out / ".tmp-12345").mkdir()
    (tmp_path / ".r.new-deadbeef").mkdir()
    assert _verify(out, CHEAP).returncode == 0
    assert not (out / ".tmp-12345").exists() and not (tmp_path / ".r.new-deadbeef").exists()


# -- 4: one run at a time per report ---------------------------------------------------------------

def test_a_second_run_into_a_locked_report_fails_at_once(base_report, tmp_path):
    out = _copy(base_report, tmp_path / "r")
    before = _snapshot(out)
    with install.locked(install.resolve(out)):
        t0 = time.monotonic()
        proc = _verify(out, CHEAP)
        assert time.monotonic() - t0 < 60
    _one_line_error(proc, "another verify run is writing this report")
    assert _snapshot(out) == before


def test_concurrent_partial_runs_keep_both_results_or_refuse(base_report, tmp_path):
    out = _copy(base_report, tmp_path / "r")
    a = subprocess.Popen([sys.executable, "-m", "checks", "verify", "--only", "app-f/well-defined", "--out",
                          str(out), "--jobs", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    b = subprocess.Popen([sys.executable, "-m", "checks", "verify", "--only", "app-f/absolute-value", "--out",
                          str(out), "--jobs", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    ra, rb = a.wait(300), b.wait(300)
    kept = {c["id"] for c in json.loads((out / "claims.json").read_text())["claims"]}
    for rc, cid, proc in ((ra, "app-f/well-defined", a), (rb, "app-f/absolute-value", b)):
        if rc == 0:
            assert cid in kept, "a run reported success for a result it did not keep"
        else:
            assert rc == 2 and "another verify run" in proc.stderr.read()
    assert ra == 0 or rb == 0
    assert {CHEAP, "app-f/range"} <= kept


# -- 5: partial runs never silently drop the rest of a report ---------------------------------------

@pytest.mark.parametrize("extra, pattern", [(("--seed", "1"), "made with seed 0"),
                                             (("--profile", "full"), "profile quick")])
def test_partial_run_into_an_incompatible_report_is_refused(base_report, tmp_path, extra, pattern):
    out = _copy(base_report, tmp_path / "r")
    before = _snapshot(out)
    _one_line_error(_verify(out, CHEAP, extra=extra), pattern)
    assert _snapshot(out) == before


def test_partial_run_into_an_unreadable_report_is_refused(base_report, tmp_path):
    out = _copy(base_report, tmp_path / "r")
    (out / "claims.json").write_text("{not json")
    _one_line_error(_verify(out, CHEAP), "run without --only")


# -- 6: damaged files --------------------------------------------------------------------------------

DAMAGED = {
    "cut-utf8": "{\"claims\": [{\"id\": \"def-4.1\", \"status\": \"verified\", \"summary\": \"\u00e9".encode()[:-1],
    "list": b"[]",
    "empty-object": b"{}",
    "null": b"null",
    "no-status": json.dumps({"claims": [{"id": "def-4.1"}]}).encode(),
    "claims-not-list": json.dumps({"claims": {"def-4.1": {}}}).encode(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
@pytest.mark.parametrize("command", ["list", "show", "replay"])
def test_damaged_claims_json_gives_one_line_error(base_report, tmp_path, damage, command, capsys):
    out = _copy(base_report, tmp_path / "r")
    (out / "claims.json").write_bytes(DAMAGED[damage])
    args = [command] + ([] if command == "list" else [CHEAP]) + ["--out", str(out)]
    rc = cli.main(args)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "claims.json" in lines[0], err


def test_damaged_timing_json_does_not_lose_the_run(base_report, tmp_path):
    out = _copy(base_report, tmp_path / "r")
    (out / "timing.json").write_bytes(b"\xff\xfe garbage")
    proc = _verify(out, CHEAP)
    assert proc.returncode == 0, proc.stderr
    assert CHEAP in json.loads((out / "timing.json").read_text())


def test_replay_of_every_stored_counterexample_in_the_committed_report(capsys):
    doc = report.read_report(ROOT / "reports")
    if doc is None:
        pytest.skip("no committed report")
    ids = [rec["id"] for rec in doc["claims"] if rec["id"] in REG and (
        rec.get("counterexample") or (rec.get("corrected") or {}).get("counterexample"))]
    assert ids
    failures = []
    for cid in ids:
        rc = cli.main(["replay", cid, "--out", str(ROOT / "reports")])
        captured = capsys.readouterr()
        if rc not in (0, 1) or "Traceback" in captured.err:
            failures.append(f"{cid}: rc={rc} {captured.err.strip()[:300]}")
    assert not failures, "\n".join(failures)


# -- 8: small things ---------------------------------------------------------------------------------

def test_a_failing_verify_creates_no_out(tmp_path):
    out = tmp_path / "new" / "r"
    _one_line_error(run_cli("verify", "--only", "thm-99.9", "--out", str(out)), "no claim matches")
    assert not (tmp_path / "new").exists()


def test_reading_commands_reject_a_missing_out(tmp_path):
    _one_line_error(run_cli("list", "--out", str(tmp_path / "typo")), "no such directory")


def test_empty_only_pattern_is_an_error():
    with pytest.raises(Exception, match="empty --only pattern"):
        registry.select(REG, [""])


def test_an_exact_id_selects_that_claim_alone():
    parents = [cid for cid in REG if any(o.startswith(cid + "/") for o in REG)]
    assert parents, "no claim id is a prefix of another"
    cid = parents[0]
    assert registry.select(REG, [cid]) == [cid]
    assert len(registry.select(REG, [cid + "*"])) > 1


def test_out_that_is_a_file_says_not_a_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    _one_line_error(run_cli("verify", "--only", CHEAP, "--out", str(f)), "not a directory")


def test_jobs_are_capped_by_the_core_count(capsys):
    assert cli._jobs(10 ** 6, "cpu") == (os.cpu_count() or 1)
    assert "capped" in capsys.readouterr().err
    assert cli._jobs(None, "cuda") == 1


def test_stop_pool_cancels_queued_work_quickly():
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    pool = ProcessPoolExecutor(2, mp_context=get_context("spawn"), initializer=runner.worker_init,
                               initargs=(os.getpid(),))
    futs = [pool.submit(time.sleep, 30) for _ in range(6)]
    time.sleep(2)
    t0 = time.monotonic()
    runner.stop_pool(pool)
    assert time.monotonic() - t0 < 8
    # two run, one more sits in the pool's call queue; the rest are cancelled (and the runners killed)
    assert sum(f.cancelled() for f in futs) >= 3
