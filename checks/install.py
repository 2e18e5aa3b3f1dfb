"""Installing a report directory so that no interruption leaves a broken or mixed report.

A report is built complete in a staging directory beside ``--out`` (``.<name>.new-<token>``) and
then put in place by **one** atomic step: ``renameat2(RENAME_EXCHANGE)`` swaps the staging directory
with the old report (Linux >= 3.15, on ext4, xfs, btrfs, tmpfs...), after which the old one is
deleted. Where the file system cannot exchange, a journal (``.<name>.install``) names both sides of a
two-rename install; whoever next takes the lock (any later ``verify``, ``list``, ``show``, ``replay``)
finishes or rolls it forward from the journal, so the path again holds a complete report. Either way
the path shows the old report or the new one, never a mixture.

Runs into the same ``--out`` are serialised by an exclusive ``flock`` on ``.<name>.lock`` beside it,
held for the whole run (the lock file is not inside the report, which is replaced). A second run
fails at once with a one-line error instead of overwriting, or being overwritten by, the first.
Readers take no lock: they see the old report or the new one.

Entries of the old report directory that the report writer does not produce (``bench.md``, notes a
user keeps there) are carried into the new one.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

from checks.model import ClaimError

# What the report writer produces; anything else in the old directory is carried over.
REPORT_ENTRIES = ("CLAIMS.md", "claims.json", "provenance.json", "timing.json", "claims", "plots")

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
# Tests set this to force the journaled two-rename path.
USE_EXCHANGE = True
# Tests set this to a callable(step_name) that may kill the process between steps.
_FAULT = None


class ReportBusy(ClaimError):
    """Another run holds the lock on this report directory."""


def _fault(step: str) -> None:
    if _FAULT is not None:
        _FAULT(step)


def _siblings(out: Path, tag: str) -> Path:
    return out.parent / f".{out.name}.{tag}"


def resolve(out: str | os.PathLike) -> Path:
    """The report directory as an absolute path with symlinks resolved (the exchange must act on the
    directory itself, not on a link to it). Raises ClaimError unless it can hold a report."""
    out = Path(os.path.realpath(os.path.abspath(out)))
    if out.exists() and not out.is_dir():
        raise ClaimError(f"--out {out}: not a directory")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise ClaimError(f"--out {out}: not writable ({parent} is not a directory)")
    if not parent.is_dir():
        # Create missing parents only at install time; here just check the nearest existing ancestor.
        anc = parent
        while not anc.exists():
            anc = anc.parent
        if not anc.is_dir():
            raise ClaimError(f"--out {out}: not writable ({anc} is not a directory)")
        if not os.access(anc, os.W_OK | os.X_OK):
            raise ClaimError(f"--out {out}: not writable ({anc} is read-only)")
        return out
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ClaimError(f"--out {out}: not writable (the report is installed by renaming in {parent}, "
                         "which is read-only)")
    if out.exists() and not os.access(out, os.W_OK | os.X_OK):
        raise ClaimError(f"--out {out}: not writable")
    return out


def _lock_fd(out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    return os.open(_siblings(out, "lock"), os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def locked(out: Path):
    """Hold the exclusive report lock of ``out`` for a whole verify run; raise :class:`ReportBusy` at
    once when another run holds it. On entry, finish an interrupted install and clean stale staging."""
    fd = _lock_fd(out)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise ReportBusy(f"--out {out}: another verify run is writing this report ({holder}); "
                             "wait for it to finish or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        recover(out)
        yield
    finally:
        os.close(fd)  # releases the lock


def recover_for_reading(out: Path) -> None:
    """Readers (list/show/replay) take no lock: the install is atomic. Only where a crash interrupted a
    journaled install do they finish it, if no run holds the lock."""
    if not _siblings(out, "install").exists() or not out.parent.is_dir():
        return
    fd = _lock_fd(out)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # the running writer recovers it
        recover(out)
    finally:
        os.close(fd)


def recover(out: Path) -> None:
    """Finish an install that a crash interrupted (journaled path), then delete stale staging dirs.
    Call with the lock held."""
    journal = _siblings(out, "install")
    if journal.exists():
        try:
            plan = json.loads(journal.read_text())
            new, old = Path(plan["new"]), Path(plan["old"])
        except (OSError, ValueError, KeyError, TypeError):
            new = old = None
        if new is not None and not out.exists() and new.exists():
            os.rename(new, out)  # the staging dir was complete before the journal was written
        journal.unlink(missing_ok=True)
    for stale in out.parent.glob(f".{out.name}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if out.is_dir():  # scratch folders of versions that built reports inside --out
        for stale in out.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)


def staging(out: Path) -> Path:
    """A fresh, empty staging directory beside ``out`` (same file system, so renames are atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    path = _siblings(out, f"new-{secrets.token_hex(4)}")
    path.mkdir()
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False where the kernel or file system cannot."""
    if not USE_EXCHANGE:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def carry_over(out: Path, new: Path) -> None:
    """Copy the entries of the old report that the writer does not produce into ``new``."""
    if not out.is_dir():
        return
    for entry in out.iterdir():
        if entry.name in REPORT_ENTRIES or entry.name.startswith(".tmp-") or (new / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, new / entry.name, follow_symlinks=False)


def install(new: Path, out: Path) -> None:
    """Put the complete report ``new`` at ``out`` (lock held). See the module docstring."""
    carry_over(out, new)
    _fault("built")
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        os.rename(new, out)
        _fault("renamed")
        return
    if _exchange(new, out):
        _fault("exchanged")
        shutil.rmtree(new, ignore_errors=True)  # now holds the old report
        return
    old = _siblings(out, f"old-{secrets.token_hex(4)}")
    journal = _siblings(out, "install")
    tmp = journal.with_name(journal.name + ".tmp")
    tmp.write_text(json.dumps({"new": str(new), "old": str(old)}))
    os.replace(tmp, journal)
    _fault("journaled")
    os.rename(out, old)
    _fault("moved-old")
    os.rename(new, out)
    _fault("moved-new")
    journal.unlink()
    shutil.rmtree(old, ignore_errors=True)
