"""MNIST for the trained panels of Figures 4 and 5: the validator on damaged files (generated here), the
reader on the real files when a local copy exists, the auto-augment wrapper and a small training run.

The real copy is looked up in $MNIST_ROOT, else ../shared/mnist next to the repository; tests that need it
are skipped (with the path they looked at) when it is absent. Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import within

from checks.tolerance import tol
from theory import dynamics

REAL_ROOT = dynamics.local_mnist_root()
HAVE_REAL = REAL_ROOT is not None and REAL_ROOT.is_dir() and any(REAL_ROOT.rglob("train-images-idx3-ubyte*"))
needs_real = pytest.mark.skipif(not HAVE_REAL, reason=f"no local MNIST at {REAL_ROOT} (set MNIST_ROOT)" if REAL_ROOT
                                else "no local MNIST: set MNIST_ROOT or put a copy at ../shared/mnist")

try:
    import kornia  # noqa: F401

    HAVE_KORNIA = True
except ImportError:
    HAVE_KORNIA = False
needs_kornia = pytest.mark.skipif(not HAVE_KORNIA, reason="kornia not installed (optional extra 'mnist')")

# published counts (../shared/mnist/README.md)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _idx(magic_ndim: int, dims, payload: bytes) -> bytes:
    return struct.pack(">HBB", 0, 8, magic_ndim) + struct.pack(">" + "I" * len(dims), *dims) + payload


def _write(path: Path, data: bytes) -> None:
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture(scope="module")
def release_shaped():
    """idx bytes of the four files with the release's shapes (zero images, labels 0..9 cycling)."""
    out = {}
    for name, (magic, dims) in dynamics.MNIST_FILES.items():
        n = int(np.prod(dims))
        payload = bytes(n) if magic == 2051 else (np.arange(n) % 10).astype(np.uint8).tobytes()
        out[name] = _idx(len(dims), dims, payload)
    return out


@pytest.fixture
def fake_root(tmp_path, release_shaped):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, data in release_shaped.items():
        _write(raw / f"{name}.gz", data)
    return tmp_path


def _raises(root, *fragments, **kw):
    with pytest.raises(ValueError) as exc:
        dynamics.validate_mnist(root, **kw)
    msg = str(exc.value)
    assert "\n" not in msg, f"not one line: {msg!r}"
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


# ----------------------------------------------------------------------------------------------
# the validator, on generated files
# ----------------------------------------------------------------------------------------------
def test_validator_accepts_a_release_shaped_copy(fake_root):
    info = dynamics.validate_mnist(fake_root)
    assert info["train"] == 60000 and info["test"] == 10000
    assert info["train_label_counts"] == [6000] * 10
    assert not info["release"]  # not the real pixels
    _raises(fake_root, "train-images-idx3-ubyte.gz", "md5", checksums=True)


@pytest.mark.parametrize("layout", ["MNIST/raw", "raw", "."])
def test_validator_finds_uncompressed_files_in_every_layout(tmp_path, release_shaped, layout):
    d = tmp_path / layout
    d.mkdir(parents=True, exist_ok=True)
    for name, data in release_shaped.items():
        _write(d / name, data)
    info = dynamics.validate_mnist(tmp_path)
    assert Path(info["folder"]).resolve() == d.resolve()


def test_root_without_mnist_names_every_missing_file(tmp_path):
    msg = _raises(tmp_path, "no MNIST under", str(tmp_path / "MNIST" / "raw"))
    for name in dynamics.MNIST_FILES:
        assert name in msg


def test_incomplete_copy_names_the_missing_file(fake_root):
    (fake_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    msg = _raises(fake_root, "incomplete", "t10k-labels-idx1-ubyte")
    assert "train-images" not in msg


def test_truncated_gzip_names_the_file(fake_root):
    p = fake_root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    _raises(fake_root, str(p), "gzip")


def test_garbage_gzip_names_the_file(fake_root):
    p = fake_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _raises(fake_root, str(p))


def test_bad_crc_names_the_file(fake_root):
    p = fake_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    b = bytearray(p.read_bytes())
    b[-8] ^= 0xFF  # the CRC-32 of the gzip trailer
    p.write_bytes(bytes(b))
    _raises(fake_root, str(p))


def test_swapped_files_fail_on_the_magic_number(fake_root, release_shaped):
    p = fake_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    _write(p, release_shaped["t10k-labels-idx1-ubyte"])
    _raises(fake_root, str(p), "magic 2049", "2051")


def test_not_an_idx_file(fake_root):
    p = fake_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    _write(p, b"\x89PNG\r\n\x1a\n" + bytes(100))
    _raises(fake_root, str(p), "not an unsigned-byte idx file")


def test_wrong_count_names_the_file(fake_root):
    p = fake_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    _write(p, _idx(1, (9999,), bytes(9999)))
    _raises(fake_root, str(p), "(9999,)", "(10000,)")


def test_wrong_image_size_names_the_file(fake_root):
    p = fake_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    _write(p, _idx(3, (10000, 32, 32), bytes(10000 * 32 * 32)))
    _raises(fake_root, str(p), "shape (10000, 32, 32)")


def test_truncated_payload_and_trailing_bytes(fake_root, release_shaped):
    p = fake_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    good = release_shaped["train-labels-idx1-ubyte"]
    _write(p, good[:-10])
    _raises(fake_root, str(p), "truncated")
    _write(p, good + b"\x00")
    _raises(fake_root, str(p), "trailing data")


def test_label_out_of_range(fake_root):
    p = fake_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    labels = (np.arange(60000) % 10).astype(np.uint8)
    labels[123] = 10
    _write(p, _idx(1, (60000,), labels.tobytes()))
    _raises(fake_root, str(p), "label 10")


def test_parse_idx_on_small_inputs():
    assert dynamics.parse_idx(_idx(1, (3,), b"\x01\x02\x03")).tolist() == [1, 2, 3]
    for bad, frag in ((b"\x00\x00", "too short"), (b"\x00\x00\x08\x03\x00", "truncated idx header"),
                      (b"\x00\x00\x0d\x01" + bytes(8), "not an unsigned-byte")):
        with pytest.raises(ValueError, match=frag):
            dynamics.parse_idx(bad, "x")


def test_load_mnist_rejects_an_unknown_split(fake_root):
    with pytest.raises(ValueError, match="split"):
        dynamics.load_mnist(fake_root, "validation")


# ----------------------------------------------------------------------------------------------
# the claims without usable data: not-executable with the reason (never an error)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cid", ["fig-4/trained", "fig-5/trained"])
def test_claims_without_mnist_are_not_executable(cid, tmp_path):
    from checks import Status, registry
    from checks.model import Context

    c = registry.load()[cid]
    out = c.check(Context(cid))
    assert out.status is Status.NOT_EXECUTABLE and "--mnist-root" in out.summary
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    out = c.check(Context(cid, data={"mnist": str(tmp_path)}))
    assert out.status is Status.NOT_EXECUTABLE and "unusable" in out.summary


# ----------------------------------------------------------------------------------------------
# the real files
# ----------------------------------------------------------------------------------------------
@needs_real
def test_real_mnist_shapes_counts_and_checksums():
    info = dynamics.validate_mnist(REAL_ROOT, checksums=True)
    assert info["release"] and info["md5"] == dynamics.MNIST_MD5
    assert (info["train"], info["test"]) == (60000, 10000)
    assert info["train_label_counts"] == TRAIN_COUNTS
    assert info["test_label_counts"] == TEST_COUNTS
    images, labels = dynamics.load_mnist(REAL_ROOT, "train")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    # ../shared/mnist/README.md prints 33.318 (3 decimals: +-0.5e-3); the float64 sum of the uint8 pixels is
    # exact (an integer < 2^53), so the mean errs by one division's rounding
    mean = float(images.mean())
    assert within(abs(mean - 33.318), 0.5e-3 + tol(1, scale=mean), "mean pixel"), mean
    timages, tlabels = dynamics.load_mnist(REAL_ROOT, "test")
    assert timages.shape == (10000, 28, 28) and np.bincount(tlabels).tolist() == TEST_COUNTS


@needs_real
def test_real_gz_files_match_the_readme_md5():
    readme = {"train-images-idx3-ubyte.gz": "c7dfcf1bfd3481a40f7b3aedbdbd083c",
              "train-labels-idx1-ubyte.gz": "d289298a347a2cc65765a3c81043ba88",
              "t10k-images-idx3-ubyte.gz": "ecff87aa27c74fbc2c1f97e89c19221d",
              "t10k-labels-idx1-ubyte.gz": "a38049bc042dc6e683842a84160daae1"}
    files = dynamics.mnist_files(REAL_ROOT)
    if not all(str(p).endswith(".gz") for p in files.values()):
        pytest.skip("this copy is not the gzip-compressed one the README lists")
    for p in files.values():
        assert hashlib.md5(p.read_bytes()).hexdigest() == readme[p.name]


# ----------------------------------------------------------------------------------------------
# auto-augment and training
# ----------------------------------------------------------------------------------------------
@needs_kornia
def test_autoaugment_is_a_function_of_images_and_seed():
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    a = dynamics.cifar10_autoaugment(imgs, 7).numpy()
    b = dynamics.cifar10_autoaugment(imgs, 7).numpy()
    c = dynamics.cifar10_autoaugment(imgs, 8).numpy()
    assert a.shape == (60, 28, 28) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    # most images are changed (every sub-policy applies an operation with probability >= 0.1 ... 1); an unchanged
    # one differs from imgs / 255 by float32 rounding only: x / 255, the mean of its 3 equal channels, pixels <= 1
    rounding = tol(3, dtype=np.float32)
    assert np.mean(np.abs(a - imgs / 255.0).reshape(60, -1).max(1) > rounding) > 0.5


def test_training_step_matches_autograd_and_torch_optimizers():
    """The hand-written SGD and Adam updates of train_mnist_fgln against torch.optim on the same network."""
    import torch

    rng = np.random.default_rng(2)
    X = torch.from_numpy(rng.random((64, 28, 28)).astype(np.float32))
    y = rng.integers(0, 10, 64)
    n, L = 8, 3
    for opt_name, kw in (("sgd", dict(lr=0.05, momentum=0.9)), ("adam", dict(lr=1e-2))):
        gen = torch.Generator()
        gen.manual_seed(3)
        run = dynamics.train_mnist_fgln(X, y, n=n, L=L, p=0.5, optimizer=opt_name, steps=3, batch=64, gen=gen,
                                        dtype="float64", **kw)
        # the same draws, in the same order, by hand
        gen = torch.Generator()
        gen.manual_seed(3)
        W_in = (torch.randn(n, 784, generator=gen, dtype=torch.float64) / np.sqrt(784)).requires_grad_()
        Wh = [w.clone().requires_grad_() for w in torch.randn(L, n, n, generator=gen, dtype=torch.float64) / np.sqrt(n)]
        W_out = (torch.randn(10, n, generator=gen, dtype=torch.float64) / np.sqrt(n)).requires_grad_()
        D = (torch.rand(L - 1, n, generator=gen, dtype=torch.float64) < 0.5).double()
        params = [W_in, *Wh, W_out]
        opt = (torch.optim.SGD(params, lr=kw["lr"], momentum=kw["momentum"]) if opt_name == "sgd"
               else torch.optim.Adam(params, lr=kw["lr"]))
        Xf = ((X.reshape(64, -1).double() - dynamics.MNIST_MEAN) / dynamics.MNIST_STD).T
        for _ in range(3):
            perm = torch.randperm(64, generator=gen)
            h = Wh[0] @ (W_in @ Xf[:, perm])
            for l in range(1, L):
                h = Wh[l] @ (D[l - 1][:, None] * h)
            loss = torch.nn.functional.cross_entropy((W_out @ h).T, torch.as_tensor(y)[perm])
            opt.zero_grad()
            loss.backward()
            opt.step()
        for a, a0, b in zip(run.Ws, run.Ws0, Wh):
            # same float64 arithmetic in another order: each step's update errs by the rounding of the gradient
            # (inner products of length 784 + 64 through 2L + 2 matmuls, on the scale of the total update), and
            # each of the 3 subtractions rounds on the scale of the weights
            bound = (tol(784 + 64, scale=np.abs(a - a0).max(), kernels=2 * L + 2)
                     + tol(1, scale=np.abs(a).max(), kernels=3))
            assert within(np.abs(a - b.detach().numpy()).max(), bound, opt_name)
        np.testing.assert_array_equal(np.array(run.ds), D.numpy())


@needs_real
@needs_kornia
def test_small_trained_mnist_run():
    import torch

    images, labels = dynamics.load_mnist(REAL_ROOT, "train")
    X, y = dynamics.augmented_pool(images[:1000], labels[:1000], 1, seed=0)
    gen = torch.Generator()
    gen.manual_seed(0)
    run = dynamics.train_mnist_fgln(X, y, lr=0.1, steps=60, gen=gen, evaluate=(images[:1000], labels[:1000]))
    assert len(run.Ws) == 10 and run.Ws[0].shape == (128, 128) and len(run.ds) == 9
    assert run.loss[-1] < run.loss[0] and run.acc > 0.3  # chance is 0.1
    assert all(np.isfinite(w).all() for w in run.Ws)
