"""One commit point for the report, on every file system (issue 18).

``claims.json`` is the report's only commit point; every other file is rendered from it, and an
interrupted write is finished by the next command of any kind. These tests interrupt a real
``verify`` at every step with real signals (SIGINT, SIGTERM: ``finally`` blocks and handlers run)
on a simulated hostile file system (directory renames fail with EXDEV as on overlay lower layers,
directory fsync fails as on NFS/CIFS, flock is unsupported), on a real overlay mount where the
machine allows one, with full disks, damaged records, and directories that are not reports. Each
test names the defect of issue 18 it pins down.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from checks import cli, install, registry, report
from test_cli import ROOT
from test_machinery import _fake_registry, _run

TESTS = Path(__file__).resolve().parent

# Runs `python -m checks` on the fake registry of test_machinery (fast), with a fault hook that sends
# a real signal to the process at one named step, and optionally a hostile file system.
_WRAPPER = textwrap.dedent("""
    import errno, fcntl, os, signal, stat, sys, time
    sys.path.insert(0, {tests!r})
    from checks import Claim, Kind, Outcome, Status, cli, install, registry
    import test_machinery

    step, sig, hostile, variant = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]

    def seed_plot(ctx):  # a plot whose pixels depend on the seed: a new run makes the old one stale
        from matplotlib.figure import Figure

        fig = Figure()
        fig.add_subplot().plot([0, 1], ctx.rng("y").random(2))
        return Outcome(Status.SUPPORTED, "with plot", figures={{"line": fig}})

    def fake():
        reg = test_machinery._fake_registry()
        if variant == "seed-plot":
            reg["fig-9"] = Claim("fig-9", "Ref", "Section 9", "S", Kind.IDENTITY, seed_plot)
        return reg

    registry.load = fake
    if hostile:
        # overlay lower layers, and many network/FUSE file systems: no directory renames
        real_rename, real_replace, real_fsync = os.rename, os.replace, os.fsync
        def no_dir_rename(real):
            def f(src, dst, *a, **k):
                if os.path.isdir(src):
                    raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src)
                return real(src, dst, *a, **k)
            return f
        os.rename, os.replace = no_dir_rename(real_rename), no_dir_rename(real_replace)
        # NFS/CIFS: fsync of a directory fails
        def fsync(fd):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "Invalid argument")
            return real_fsync(fd)
        os.fsync = fsync
        # no flock (some CIFS/FUSE mounts): POSIX locks instead
        def no_flock(fd, op):
            raise OSError(errno.ENOLCK, "No locks available")
        fcntl.flock = no_flock
    if step.startswith("enospc:"):
        target = step.split(":", 1)[1]
        real_write = install.write_atomic
        def full(path, data, **k):
            if path.name == target or path.parent.name == target:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return real_write(path, data, **k)
        install.write_atomic = full
    def fault(name):
        if name == step:
            os.kill(os.getpid(), getattr(signal, sig))
            time.sleep(5)  # the handler raises before this returns
    install._FAULT = fault
    rc = cli.main(sys.argv[5:])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(rc)
""")

# Every step of a write, in order; the commit point is 'committed' (claims.json replaced).
STEPS = ["prepared", "plots", "run-record", "committed", "summary", "rendered", "stamped", "cleaned", "reported"]
BEFORE_COMMIT = STEPS[:3]
COMMITTED_NOT_RENDERED = ["committed", "summary", "rendered"]
USER_FILES = {"bench.md": b"kept across runs\n", "plots/mine.png": b"a user's plot",
              "claims/notes.md": b"a user's notes\n", "notes/deep/x.txt": b"x\n"}


def _cli(tmp_path, *args, step="none", sig="SIGINT", hostile=True, variant="none", timeout=300):
    script = tmp_path / "wrapper.py"
    if not script.exists():
        script.write_text(_WRAPPER.format(tests=str(TESTS)))
    return subprocess.run([sys.executable, str(script), step, sig, "1" if hostile else "0", variant, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _verify(tmp_path, out, *extra, **kw):
    return _cli(tmp_path, "verify", "--out", str(out), "--jobs", "1", "--device", "cpu", "--no-cache",
                "--cache-dir", str(tmp_path / "cache"), *extra, **kw)


def _snapshot(d: Path, skip=()) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and not p.is_symlink() and str(p.relative_to(d)) not in skip}


def _base(out: Path, seed: int = 0) -> Path:
    reg = _fake_registry()
    report.write(out, reg, _run(reg), seed=seed, profile="quick", device="cpu")
    for name, data in USER_FILES.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return out


def _assert_consistent(out: Path, reg: dict | None = None, user_files: bool = True) -> dict:
    """The report at ``out`` is complete: every derived file is what claims.json renders to, every plot
    it names is there with its digest, the marker's stamp is claims.json's digest, no temporary or stale
    file of the runner is left, and the user's files are untouched."""
    reg = reg or _fake_registry()
    raw = (out / "claims.json").read_bytes()
    doc = json.loads(raw)
    marker = install.read_marker(out)
    assert marker["rendered"] == install.sha256(raw)
    assert not report.stale(out, reg)
    before = _snapshot(out)
    written = report.render(out, reg)  # rendering again changes nothing
    assert _snapshot(out) == before
    assert not written["missing_plots"]
    ids = {rec["id"] for rec in doc["claims"]}
    assert {p.stem for p in (out / "claims").glob("*.md")} - {"notes"} == {report.safe_name(i) for i in ids}
    assert set(marker["files"]) == {n for n in marker["files"] if (out / n).is_file()}
    assert not [p for p in out.rglob("*") if ".tmp-claims-" in p.name]
    for name, data in USER_FILES.items() if user_files else ():
        assert (out / name).read_bytes() == data, name
    return doc


def _assert_only_runner_files_added(out: Path, old: dict) -> None:
    """Every file of ``old`` is unchanged (the marker aside: it lists more names); every new file is one
    the marker lists, so the next command deletes it."""
    now = _snapshot(out)
    assert {k: v for k, v in now.items() if k in old and k != install.MARKER} == \
        {k: v for k, v in old.items() if k != install.MARKER}
    assert set(now) - set(old) <= set(install.read_marker(out)["files"])


def _reader(out: Path, monkeypatch, command="list", capsys=None) -> int:
    monkeypatch.setattr(registry, "load", _fake_registry)
    args = [command] + ([] if command in ("list", "report") else ["lem-9.2"]) + ["--out", str(out)]
    return cli.main(args)


# -- 1, 12: interrupted at every step by a real signal, on a hostile file system --------------------

@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("step", STEPS)
def test_a_signal_at_any_step_leaves_one_complete_report_and_says_which(tmp_path, monkeypatch, step, sig):
    out = _base(tmp_path / "r")
    fifo = out / "pipe"
    os.mkfifo(fifo)  # a FIFO a user keeps in the report: never opened, copied or deleted
    old = _snapshot(out)
    old_plot = next((out / "plots").glob("fig-9--line-*.png"))
    # A full run at another seed that draws another plot: the old plot must go, nothing else.
    proc = _verify(tmp_path, out, "--seed", "7", step=step, sig=sig, variant="seed-plot")
    err = proc.stderr
    assert "Traceback" not in err, err
    code = 130 if sig == "SIGINT" else 143
    if step in BEFORE_COMMIT:
        assert proc.returncode == code, err
        assert "the previous report is left intact" in err
    elif step in COMMITTED_NOT_RENDERED:
        assert proc.returncode == code, err
        assert "the new report is installed" in err and "left intact" not in err
    else:  # the report was complete: the run succeeded, whatever arrives now
        assert proc.returncode == 0, err
        assert "left intact" not in err
    # The next command of any kind (here a reader) finishes what was interrupted.
    assert _reader(out, monkeypatch) == 0
    doc = json.loads((out / "claims.json").read_text())
    if step in BEFORE_COMMIT:
        assert doc["seed"] == 0
        assert _snapshot(out) == old
    else:
        assert doc["seed"] == 7
        assert not old_plot.exists() and len(list((out / "plots").glob("fig-9--line-*.png"))) == 1
        assert "--seed 7" in (out / "CLAIMS.md").read_text()
    _assert_consistent(out)
    assert fifo.exists()


@pytest.mark.parametrize("step", ["plots", "committed", "summary", "stamped"])
def test_a_crash_without_cleanup_at_any_step_is_repaired_by_the_next_command(tmp_path, monkeypatch, step):
    """SIGKILL (or power loss): no handler, no finally. The next reader repairs."""
    out = _base(tmp_path / "r")
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(TESTS)!r})
        from checks import install, report
        from test_machinery import _fake_registry, _run
        install._FAULT = lambda name: os._exit(9) if name == {step!r} else None
        reg = _fake_registry()
        report.write({str(out)!r}, reg, _run(reg), seed=3, profile="quick", device="cpu")
    """))
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert _reader(out, monkeypatch, "show") == 0
    doc = _assert_consistent(out)
    assert doc["seed"] == (0 if step == "plots" else 3)


# -- 3: --out that is not a report ------------------------------------------------------------------

def _refused(proc, pattern="not empty and not a report"):
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and pattern in lines[0], proc.stderr


@pytest.mark.parametrize("content", ["file", "fifo", "plots-dir", "damaged-claims-json"])
def test_out_that_is_not_a_report_is_refused_and_untouched(tmp_path, content):
    out = tmp_path / "data"
    (out / "plots").mkdir(parents=True)
    (out / "plots" / "precious.png").write_bytes(b"precious")
    if content == "file":
        (out / "log.txt").write_text("line\n" * 60)
    elif content == "fifo":
        os.mkfifo(out / "pipe")
    elif content == "damaged-claims-json":
        (out / "claims.json").write_text("{not json")
    before = _snapshot(out)
    _refused(_verify(tmp_path, out))
    _refused(_verify(tmp_path, out, "--only", "lem-9.1"))
    assert _snapshot(out) == before and not (out / install.MARKER).exists()


def test_out_dot_in_a_checkout_is_refused(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / ".nox" / "tests").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\n")
    before = _snapshot(checkout)
    proc = subprocess.run([sys.executable, "-m", "checks", "verify", "--only", "def-4.1", "--out", "."],
                          cwd=checkout, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    _refused(proc)
    assert _snapshot(checkout) == before and not (tmp_path / ".checkout.lock").exists()


def test_files_of_the_user_in_a_report_are_never_copied_or_replaced(tmp_path):
    """A file another process appends to during the run keeps every line and its inode."""
    out = _base(tmp_path / "r")
    log = out / "claims" / "appending.log"
    log.write_text("")
    inode = log.stat().st_ino
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        for k in range(60):
            with open({str(log)!r}, "a") as f:
                f.write(f"line {{k}}\\n")
            time.sleep(0.05)
    """)])
    proc = _verify(tmp_path, out, "--seed", "4", hostile=False)
    writer.wait(60)
    assert proc.returncode == 0, proc.stderr
    assert log.stat().st_ino == inode
    assert log.read_text().splitlines() == [f"line {k}" for k in range(60)]
    _assert_consistent(out)


def test_empty_and_absent_out_are_fine(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _verify(tmp_path, empty, "--only", "lem-9.1").returncode == 0
    assert _verify(tmp_path, tmp_path / "a" / "b").returncode == 0
    for out in (empty, tmp_path / "a" / "b"):
        _assert_consistent(out, user_files=False)


# -- 4: overlay file systems ------------------------------------------------------------------------

def test_directory_renames_are_never_needed(tmp_path, monkeypatch):
    """EXDEV for every directory rename (overlay lower layers) and no renameat2: writing still works."""
    out = _base(tmp_path / "r")

    def no_dir_rename(real):
        def f(src, dst, *a, **k):
            if os.path.isdir(src):
                raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src)
            return real(src, dst, *a, **k)
        return f

    monkeypatch.setattr(os, "rename", no_dir_rename(os.rename))
    monkeypatch.setattr(os, "replace", no_dir_rename(os.replace))
    reg = _fake_registry()
    report.write(out, reg, _run(reg, ["lem-9.1", "fig-9"]), seed=2, profile="quick", device="cpu")
    assert json.loads((out / "claims.json").read_text())["seed"] == 2
    _assert_consistent(out)


def _overlay_available(tmp_path) -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    d = tmp_path / "probe"
    for sub in ("l", "u", "w", "m"):
        (d / sub).mkdir(parents=True)
    proc = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t overlay overlay -o lowerdir={d}/l,upperdir={d}/u,"
                           f"workdir={d}/w {d}/m"], capture_output=True, timeout=30)
    return proc.returncode == 0


def test_a_report_in_an_overlay_lower_layer_can_be_replaced(tmp_path):
    """A container image that contains the committed reports/: the report sits in the lower layer."""
    if not _overlay_available(tmp_path):
        pytest.skip("cannot mount an overlay file system here (needs root and unshare)")
    lower, upper, work, merged, result = (tmp_path / n for n in ("lower", "upper", "work", "merged", "result"))
    for d in (upper, work, merged):
        d.mkdir()
    _base(lower / "r")
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(_WRAPPER.format(tests=str(TESTS)))
    run = (f"{sys.executable} {wrapper} none SIGINT 0 none verify --out {merged}/r --jobs 1 --device cpu --no-cache "
           f"--cache-dir {tmp_path}/cache --seed 5")
    script = (f"set -e; mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work} {merged}; "
              f"{run}; cp -a {merged}/r {result}")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads((result / "claims.json").read_text())["seed"] == 5
    assert json.loads((lower / "r" / "claims.json").read_text())["seed"] == 0  # the lower layer is untouched
    _assert_consistent(result)


# -- 8: readers finish an interrupted write, also one of an earlier version ---------------------------

@pytest.mark.parametrize("command", ["list", "show", "replay", "report"])
def test_every_command_finishes_an_interrupted_write(tmp_path, monkeypatch, command):
    out = _base(tmp_path / "r")
    proc = _verify(tmp_path, out, "--seed", "7", step="summary", hostile=False)
    assert proc.returncode == 130, proc.stderr
    assert report.stale(out, _fake_registry())
    rc = _reader(out, monkeypatch, command)
    assert rc in (0, 1)  # replay: 1 when the counterexample no longer fails; here it does
    assert "--seed 7" in (out / "CLAIMS.md").read_text()
    _assert_consistent(out)


@pytest.mark.parametrize("left", ["new", "old"])
def test_an_interrupted_install_of_the_earlier_version_is_recovered_not_deleted(tmp_path, monkeypatch, left,
                                                                                 capsys):
    """The earlier version's two-rename install, interrupted between its renames: --out is gone, the
    report is in .r.new-* (journal names it) or, after its finally deleted that, only in .r.old-*."""
    src = _base(tmp_path / "src")
    (src / install.MARKER).unlink()  # an earlier version kept no marker
    keep = tmp_path / f".r.{left}-0123abcd"
    shutil.copytree(src, keep)
    other = "old" if left == "new" else "new"
    journal = tmp_path / ".r.install"
    journal.write_text(json.dumps({"new": str(tmp_path / ".r.new-0123abcd" if left == "new" else
                                              tmp_path / ".r.new-99999999"),
                                   "old": str(tmp_path / f".r.old-0123abcd" if left == "old" else
                                              tmp_path / ".r.old-99999999")}))
    (tmp_path / ".r.install.tmp").write_text("{")
    out = tmp_path / "r"
    assert _reader(out, monkeypatch, "list") == 0
    assert "restored the report" in capsys.readouterr().err
    assert _snapshot(out) == _snapshot(src)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.") and p.name != ".r.lock"], other


# -- 9: damaged fields inside a record --------------------------------------------------------------

DAMAGED_FIELDS = {
    "corrected-without-summary": ("lem-9.2", lambda r: r.update(corrected={"status": "verified",
                                                                              "statement": "S'"})),
    "plots-null": ("fig-9", lambda r: r.update(plots=None)),
    "plots-string": ("fig-9", lambda r: r.update(plots="line")),
    "foils-string": ("lem-9.1", lambda r: r.update(foils="none")),
    "foil-without-statement": ("lem-9.1", lambda r: r.update(foils=[{"status": "refuted", "summary": "x"}])),
    "summary-number": ("lem-9.2", lambda r: r.update(summary=3)),
    "severity-list": ("lem-9.2", lambda r: r.update(severity=["minor"])),
    "power-string": ("lem-9.1", lambda r: r.update(foils=[{"status": "refuted", "statement": "s", "summary": "x",
                                                           "power": "high"}])),
    "slip-string": ("lem-9.1", lambda r: r.update(resolution={"value": 1.0, "nearest_slip": "x"})),
    "digests-list": ("fig-9", lambda r: r.update(plot_sha256=["x"])),
}


def _damage(out: Path, name: str) -> None:
    cid, change = DAMAGED_FIELDS[name]
    doc = json.loads((out / "claims.json").read_text())
    change(next(r for r in doc["claims"] if r["id"] == cid))
    (out / "claims.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("damage", sorted(DAMAGED_FIELDS))
@pytest.mark.parametrize("command", ["list", "show", "replay", "report"])
def test_damaged_fields_give_one_line_not_a_traceback(tmp_path, monkeypatch, capsys, damage, command):
    out = _base(tmp_path / "r")
    _damage(out, damage)
    monkeypatch.setattr(registry, "load", _fake_registry)
    for cid in ("lem-9.2", "fig-9", "lem-9.1"):
        args = [command] + ([] if command in ("list", "report") else [cid]) + ["--out", str(out)]
        rc = cli.main(args)
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert "Traceback" not in err
        if damage == "plots-null":  # null is how a form without plots may say so: read as none
            assert rc in (0, 1) or (rc == 2 and len(lines) == 1 and lines[0].startswith("error:")), err
            continue
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("error:") and "claims.json" in lines[0], err


@pytest.mark.parametrize("damage", ["corrected-without-summary", "foils-string", "summary-number"])
def test_a_partial_run_into_a_report_with_damaged_fields_refuses_before_running(tmp_path, damage):
    out = _base(tmp_path / "r")
    _damage(out, damage)
    before = _snapshot(out)
    proc = _verify(tmp_path, out, "--only", "lem-9.1", hostile=False)
    _refused(proc, "run without --only")
    assert "lem-9.1" not in proc.stderr.split("error:")[0]  # nothing ran
    assert _snapshot(out) == before


# -- 10: full disk, EIO ----------------------------------------------------------------------------

@pytest.mark.parametrize("errno_", [errno.ENOSPC, errno.EIO])
@pytest.mark.parametrize("fail_at", ["plots", ".claims-run", "claims.json", "CLAIMS.md", "claims", "timing.json",
                                     install.MARKER])
def test_an_io_error_at_any_write_is_one_line_and_loses_nothing(tmp_path, monkeypatch, fail_at, errno_):
    out = _base(tmp_path / "r")
    old = _snapshot(out)
    reg = _fake_registry()
    results = _run(reg)
    results["fig-9"].plots["line"] += b"another plot"  # so that a new plot file is written
    for r in results.values():  # and a new timing.json: the toy claims take < 0.5 ms, which rounds to
        r.seconds += 1.0        # the base report's 0.0 on an idle machine (the file is then not rewritten)
    real = install.write_atomic
    calls = []

    def failing(path, data, **k):
        hit = path.name == fail_at or path.parent.name == fail_at or path.name.startswith(fail_at)
        if hit and not calls:
            calls.append(path)
            raise OSError(errno_, os.strerror(errno_), str(path))
        return real(path, data, **k)

    monkeypatch.setattr(install, "write_atomic", failing)
    with pytest.raises(install.WriteFailed) as info:
        report.write(out, reg, results, seed=8, profile="quick", device="cpu")
    assert calls, "the failure was not injected"
    msg = str(info.value)
    assert "\n" not in msg and os.strerror(errno_) in msg
    committed = json.loads((out / "claims.json").read_text())["seed"] == 8
    if committed:
        assert "the new report is installed" in msg and "python -m checks report" in msg
    else:
        assert "the previous report is left intact" in msg
        _assert_only_runner_files_added(out, old)
    monkeypatch.setattr(install, "write_atomic", real)
    monkeypatch.setattr(registry, "load", _fake_registry)
    assert cli.main(["report", "--out", str(out)]) == 0  # fixed: rendering finishes the report
    _assert_consistent(out)


def test_a_full_disk_is_one_line_and_exit_1_at_the_cli(tmp_path):
    out = _base(tmp_path / "r")
    old = _snapshot(out)
    proc = _verify(tmp_path, out, "--seed", "3", step="enospc:claims.json", hostile=False)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "No space left on device" in lines[0] and "left intact" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_only_runner_files_added(out, old)


# -- 11: a report whose claims.json was deleted ------------------------------------------------------

def test_a_partial_run_into_a_report_without_claims_json_is_refused(tmp_path):
    out = _base(tmp_path / "r")
    (out / "claims.json").unlink()
    before = _snapshot(out)
    _refused(_verify(tmp_path, out, "--only", "lem-9.1", hostile=False), "claims.json is missing")
    assert _snapshot(out) == before
    # A whole run replaces it, keeping the user's files.
    assert _verify(tmp_path, out, hostile=False).returncode == 0
    _assert_consistent(out)


# -- the report command and the marker ---------------------------------------------------------------

def test_report_regenerates_every_derived_file_from_claims_json(tmp_path, monkeypatch, capsys):
    out = _base(tmp_path / "r")
    full = _snapshot(out)
    for name in ("CLAIMS.md", "timing.json", "provenance.json", "claims/lem-9.1.md"):
        if (out / name).exists():
            (out / name).unlink()
    (out / "claims" / "thm-9.3.md").write_text("scribbled")
    assert _reader(out, monkeypatch, "report") == 0
    assert _snapshot(out) == full
    # A plot claims.json refers to that is gone is reported, not silently dropped.
    plot = next((out / "plots").glob("fig-9--line-*.png"))
    plot.unlink()
    assert _reader(out, monkeypatch, "report") == 0
    assert "plot(s) that claims.json refers to are missing" in capsys.readouterr().err


def test_a_hostile_marker_cannot_make_the_runner_delete_outside_its_files(tmp_path):
    out = _base(tmp_path / "r")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    install.write_marker(out, rendered=None, files=["../victim.txt", "/etc/hostname", "bench.md/../x",
                                                    "notes/deep/x.txt", "claims.json"])
    reg = _fake_registry()
    report.write(out, reg, _run(reg, ["lem-9.1"]), seed=0, profile="quick", device="cpu", partial=True)
    assert victim.read_text() == "keep" and (out / "notes" / "deep" / "x.txt").exists()
    _assert_consistent(out)


@pytest.mark.parametrize("marker", [b"", b"{not json", b"[]", b'{"files": "claims.json", "rendered": 3}'])
def test_a_damaged_marker_still_marks_a_report_and_proves_nothing(tmp_path, monkeypatch, marker):
    out = _base(tmp_path / "r")
    (out / install.MARKER).write_bytes(marker)
    assert install.kind(out) == "report"
    assert _reader(out, monkeypatch, "list") == 0  # re-renders (nothing proves the pages are current)
    reg = _fake_registry()
    report.write(out, reg, _run(reg, ["lem-9.1"]), seed=0, profile="quick", device="cpu", partial=True)
    _assert_consistent(out)


def test_a_reader_with_other_code_writes_nothing(tmp_path, monkeypatch):
    """The files a report keeps depend on claims.json alone: a registry that lost or gained a claim
    does not make list/show/replay rewrite or delete anything (the committed reports/ stays as it is)."""
    out = _base(tmp_path / "r")
    before = _snapshot(out)

    def other_code():
        reg = _fake_registry()
        reg.pop("thm-9.4")
        return reg

    monkeypatch.setattr(registry, "load", other_code)
    assert cli.main(["list", "--out", str(out)]) == 0
    assert cli.main(["show", "lem-9.2", "--out", str(out)]) == 0
    assert _snapshot(out) == before


def test_claims_json_is_byte_identical_whatever_the_interruptions(tmp_path, monkeypatch):
    """The commit point's bytes depend on the results only: an uninterrupted write and a write after an
    interrupted one produce the same claims.json."""
    a = _base(tmp_path / "a", seed=0)
    b = tmp_path / "b"
    reg = _fake_registry()
    report.write(b, reg, _run(reg), seed=0, profile="quick", device="cpu")
    assert (a / "claims.json").read_bytes() == (b / "claims.json").read_bytes()
    doc = json.loads((a / "claims.json").read_text())
    assert set(doc) == {"seed", "profile", "device", "suite_alpha", "n_statistical", "claims"}
    assert "plot_sha256" in next(r for r in doc["claims"] if r["id"] == "fig-9")
