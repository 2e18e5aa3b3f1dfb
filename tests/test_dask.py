"""Scale-out on Dask (issue 13): a LocalCluster of two worker processes gives the same claims.json bytes
as a serial run, also when a worker is killed mid-run; clear errors for an unreachable scheduler."""

from __future__ import annotations

import os
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from checks import dask_runner, report, runner  # noqa: E402
from checks.model import ClaimError  # noqa: E402
from test_cli import REG, _one_line_error, cli  # noqa: E402

# One claim per engine, each cheap in the quick profile: a Hypothesis property check, a sympy proof,
# a Monte-Carlo estimate through the product engine (its chunks become tasks), plain Monte Carlo, a figure.
SELECTION = ["def-4.1", "prop-7.1/proof/aligned-form", "rem-5.4", "def-5.1", "fig-8"]


def _claims_json(results, tmp_path, name):
    dest = tmp_path / name
    dest.mkdir()
    recs = {cid: r.record for cid, r in results.items()}
    report.build(dest, REG, recs, {cid: r.plots for cid, r in results.items()}, None, seed=0, profile="quick",
                 device="cpu", timing={})
    return (dest / "claims.json").read_bytes()


@pytest.fixture(scope="module")
def serial_bytes(tmp_path_factory):
    ids = [cid for cid in SELECTION if cid in REG]
    results = runner.run_many(REG, ids, seed=0, profile="quick", device="cpu", jobs=1)
    return ids, _claims_json(results, tmp_path_factory.mktemp("serial"), "serial")


@pytest.fixture(scope="module")
def client():
    c = dask_runner.connect("local:2")
    yield c
    dask_runner.close(c)


def test_local_cluster_gives_the_serial_bytes(serial_bytes, client, tmp_path):
    ids, expected = serial_bytes
    results = dask_runner.run_many(client, REG, ids, seed=0, profile="quick", device="cpu")
    assert _claims_json(results, tmp_path, "dask") == expected


def test_a_worker_killed_mid_run_is_survived(serial_bytes, client, tmp_path):
    ids, expected = serial_bytes
    victim = sorted(client.scheduler_info()["workers"])[0]

    def kill_soon():
        time.sleep(3)
        try:
            client.run(os._exit, 1, workers=[victim])
        except Exception:  # noqa: BLE001 - the worker dies while answering
            pass

    t = threading.Thread(target=kill_soon)
    t.start()
    results = dask_runner.run_many(client, REG, ids, seed=0, profile="quick", device="cpu")
    t.join()
    assert _claims_json(results, tmp_path, "killed") == expected


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path):
    _one_line_error(cli("verify", "--only", "def-4.1", "--out", str(tmp_path / "r"), "--scheduler",
                        "tcp://127.0.0.1:9"), "cannot reach the Dask scheduler")


def test_bad_local_spec():
    with pytest.raises(ClaimError, match="local:N"):
        dask_runner.connect("local:zero")


def test_environment_differences_are_named():
    mine = dask_runner._fingerprint()
    other = {**mine, "packages": {**mine["packages"], "numpy": "0.1"}, "source": "x"}
    diff = dask_runner._differences(mine, other)
    assert any(d.startswith("numpy 0.1") for d in diff) and any("source digest" in d for d in diff)
    assert dask_runner._differences(mine, {"error": "ModuleNotFoundError: checks"})[0].startswith("cannot load")
    # other numeric kernels are a warning (last digits), never a refusal
    odd = {**mine, "kernels": {**mine["kernels"], "torch_cpu": "AVX2-other"}}
    assert dask_runner._differences(mine, odd) == []
    assert dask_runner._kernel_differences(mine, odd) == [f"torch_cpu AVX2-other (here {mine['kernels']['torch_cpu']})"]
    assert dask_runner._kernel_differences(mine, mine) == []
