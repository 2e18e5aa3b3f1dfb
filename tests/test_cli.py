"""The command line as a user meets it: clear one-line errors (exit 2), and reproducible reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checks import registry

ROOT = Path(__file__).resolve().parents[1]
REG = registry.load()


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "checks", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def _one_line_error(proc, pattern):
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert pattern in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["verify", "--profile", "huge"], "unknown profile 'huge'"),
        (["verify", "--only", "thm-99.9"], "no claim matches 'thm-99.9'"),
        (["verify", "--jobs", "0"], "--jobs must be >= 1"),
        (["verify", "--device", "tpu"], "unknown device 'tpu'"),
        (["verify", "--mnist-root", "/nonexistent/mnist"], "not a directory"),
        (["show", "nonexistent-claim"], "no claim matches"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_gets_one_line_error(args, pattern, tmp_path):
    _one_line_error(cli(*args, "--out", str(tmp_path)) if args[0] == "verify" else cli(*args), pattern)


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    _one_line_error(cli("verify", "--out", str(blocker / "reports")), "not writable")


def test_cuda_without_cuda(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    _one_line_error(cli("verify", "--device", "cuda", "--out", str(tmp_path)), "no CUDA device")


def test_unknown_id_suggests_close_matches(tmp_path):
    if not REG:
        pytest.skip("empty registry")
    cid = next(iter(REG))
    typo = cid[:-1] + ("x" if cid[-1] != "x" else "y")
    if any(c.startswith(typo) for c in REG):
        pytest.skip("typo happens to be a prefix")
    proc = cli("verify", "--only", typo, "--out", str(tmp_path))
    _one_line_error(proc, "did you mean")


def _cheap_ids(k=4):
    """A few claims that are cheap in the quick profile (exact identities), for end-to-end runs."""
    ids = [cid for cid, c in REG.items() if c.kind.value in ("exact identity", "symbolic")]
    return ids[:k]


def test_serial_and_parallel_runs_write_identical_claims_json(tmp_path):
    ids = _cheap_ids()
    if len(ids) < 2:
        pytest.skip("fewer than two cheap claims registered")
    a, b = tmp_path / "serial", tmp_path / "parallel"
    pa = cli("verify", "--only", *ids, "--jobs", "1", "--out", str(a))
    pb = cli("verify", "--only", *ids, "--jobs", "2", "--out", str(b))
    assert pa.returncode == 0 and pb.returncode == 0, pa.stderr + pb.stderr
    assert (a / "claims.json").read_bytes() == (b / "claims.json").read_bytes()
    # list/show read the report back
    listing = cli("list", "--out", str(a))
    assert listing.returncode == 0 and ids[0] in listing.stdout
    shown = cli("show", ids[0], "--out", str(a))
    assert shown.returncode == 0 and "Statement (as printed)" in shown.stdout


def test_replay_of_a_refuted_claim(tmp_path):
    from test_claims import load_expected

    ids = [cid for cid, (status, _) in load_expected().items()
           if status == "refuted" and REG.get(cid) and REG[cid].replay is not None]
    if not ids:
        pytest.skip("no refuted claim with a replay function registered")
    cid = ids[0]
    assert cli("verify", "--only", cid, "--out", str(tmp_path)).returncode == 0
    proc = cli("replay", cid, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "replayed comparison" in proc.stdout and "FAIL" in proc.stdout


def test_replay_without_report(tmp_path):
    if not REG:
        pytest.skip("empty registry")
    _one_line_error(cli("replay", next(iter(REG)), "--out", str(tmp_path)), "no stored result")
