"""Writing a report directory in place, with one commit point, on any file system.

The report directory stays where it is: nothing renames or swaps directories (overlay lower layers,
NFS, CIFS, FUSE and macOS all differ there; see the README). Every file is written to a temporary
file beside its target (``.<name>.tmp-claims-<hex>``), flushed to disk and ``os.replace``d over the
target, which is atomic for files on every POSIX file system. One of these replaces is the **commit
point**: the one of ``claims.json``. Everything else is derived from it:

1. plots are written first, under content-addressed names (``plots/<id>--<name>-<sha12>.png``, the
   digest stored in ``claims.json``), so they never overwrite a file the current report refers to;
2. the run record (timings, provenance) of the new ``claims.json`` is written under a name that
   carries the digest of that ``claims.json`` (``.claims-run-<sha12>.json``);
3. ``claims.json`` is written and replaced: **commit**;
4. ``CLAIMS.md``, ``claims/<id>.md``, ``timing.json``, ``provenance.json`` are rendered from it;
5. the marker ``.claims-report`` records the digest of the ``claims.json`` they were rendered from;
6. files the runner wrote earlier that the new report no longer names are deleted.

An interruption before 3 leaves the previous report (plus unreferenced new files, deleted by the next
command); after 3, the new report, whose derived files the next command of any kind re-renders
because the marker's digest differs from that of ``claims.json``.

The marker ``.claims-report`` proves that a directory is a report, and lists every file the runner
wrote there (each name is added *before* the file is created): the runner deletes only files on that
list, never a file it cannot prove it wrote. ``--out`` must be absent, empty, or a report (marker, or a
readable ``claims.json``); anything else is refused.

Runs into the same ``--out`` are serialised by an exclusive ``flock`` on ``.<name>.lock`` beside it,
held for the whole run. Readers take no lock to read; they take it (without waiting) only to repair.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from checks.model import ClaimError

MARKER = ".claims-report"
MARKER_FORMAT = "claims-report 1"
RUN_PREFIX = ".claims-run-"
_TMP_RE = re.compile(r"^\..+\.tmp-claims-[0-9a-f]{8}$")
_RUN_RE = re.compile(r"^\.claims-run-[0-9a-f]{12}\.json$")
# Tests set this to a callable(step_name) (it may send a signal to the process) to interrupt a step.
_FAULT = None
# What this process has done to the report it is writing: the CLI's messages say what is true.
STATE = {"out": None, "committed": False, "complete": False}


class ReportBusy(ClaimError):
    """Another run holds the lock on this report directory."""


class NotAReport(ClaimError):
    """``--out`` is a directory that holds something other than a report."""


class WriteFailed(ClaimError):
    """An I/O error (full disk, EIO...) while writing the report: one line, exit 1 at the CLI."""


def _fault(step: str) -> None:
    if _FAULT is not None:
        _FAULT(step)


def _sibling(out: Path, tag: str) -> Path:
    return out.parent / f".{out.name}.{tag}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- what --out is ----------------------------------------------------------------------------------

def kind(out: Path) -> str:
    """'absent', 'empty', 'report' (marker or a readable claims.json) or 'other'."""
    if not out.exists():
        return "absent"
    try:
        entries = list(os.scandir(out))
    except OSError:
        return "other"
    if not entries:
        return "empty"
    if (out / MARKER).is_file():
        return "report"
    claims = out / "claims.json"
    if claims.is_file():
        try:
            doc = json.loads(claims.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            return "other"
        if isinstance(doc, dict) and isinstance(doc.get("claims"), list):
            return "report"
    return "other"


def resolve(out: str | os.PathLike) -> Path:
    """The report directory as an absolute path with symlinks resolved. Raises ClaimError unless a
    report can be written there: it must be absent, empty or a report, with a writable parent (the
    lock file lives beside it). Creates nothing."""
    out = Path(os.path.realpath(os.path.abspath(out)))
    if out.exists() and not out.is_dir():
        raise ClaimError(f"--out {out}: not a directory")
    parent = out.parent
    anc = parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise ClaimError(f"--out {out}: not writable ({anc} is not a directory)")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise ClaimError(f"--out {out}: not writable ({anc} is read-only; the lock file "
                         f".{out.name}.lock is kept beside the report)")
    if out.exists():
        if not os.access(out, os.W_OK | os.X_OK):
            raise ClaimError(f"--out {out}: not writable")
        if kind(out) == "other":
            raise NotAReport(f"--out {out}: not empty and not a report (no {MARKER} marker, no readable "
                             "claims.json); refusing to write into it — give an empty or new directory")
    return out


# -- writing one file -------------------------------------------------------------------------------

def _fsync(fd: int) -> None:
    if sys.platform == "darwin" and hasattr(fcntl, "F_FULLFSYNC"):
        try:  # macOS: fsync does not flush the drive's cache
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass
    os.fsync(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable where the file system supports it (not all do: NFS, CIFS and
    some FUSE file systems refuse to open or fsync a directory; their renames are durable on the server)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        _fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP,
                             errno.EISDIR, errno.EPERM):
            raise
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` by ``data`` in one step: a temporary file beside it, flushed, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp-claims-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                _fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def write_if_changed(path: Path, data: bytes) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_atomic(path, data)
    return True


# -- the marker: proof of a report, render stamp, files written ------------------------------------

def read_marker(out: Path) -> dict | None:
    """The marker's content (``rendered``: a digest or None; ``files``: safe names), None when there is
    none. A damaged marker still marks a report, but proves no file and no rendering."""
    path = out / MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        return {"rendered": None, "files": []}
    files = data.get("files")
    data["files"] = sorted(f for f in files if _safe_rel(f)) if isinstance(files, list) else []
    if not isinstance(data.get("rendered"), str):
        data["rendered"] = None
    return data


def _safe_rel(name) -> bool:
    """A name the marker may list: relative, inside the report, no '..' (a damaged or hostile marker
    must not make the runner delete anything outside its own files)."""
    if not isinstance(name, str) or not name or name.startswith("/") or "\\" in name:
        return False
    parts = name.split("/")
    return all(p not in ("", ".", "..") for p in parts) and len(parts) <= 2 and (
        len(parts) == 1 or parts[0] in ("claims", "plots"))


def write_marker(out: Path, *, rendered: str | None, files) -> None:
    doc = {"format": MARKER_FORMAT, "rendered": rendered, "files": sorted(set(files))}
    write_atomic(out / MARKER, (json.dumps(doc, indent=1) + "\n").encode())


def claim_files(out: Path, names) -> dict:
    """Add ``names`` to the marker's list before they are created (write-ahead); returns the marker."""
    marker = read_marker(out) or {"rendered": None, "files": []}
    new = set(names) - set(marker["files"])
    if new or not (out / MARKER).is_file():
        marker["files"] = sorted(set(marker["files"]) | new)
        write_marker(out, rendered=marker["rendered"], files=marker["files"])
    return marker


def forget_stale(out: Path, keep: set[str]) -> list[str]:
    """Delete the files the marker lists that ``keep`` does not, and temporary files of interrupted
    writes; the marker then lists ``keep`` (the files that exist). Returns what was deleted."""
    marker = read_marker(out) or {"rendered": None, "files": []}
    gone = []
    for name in marker["files"]:
        if name in keep or name == MARKER:
            continue
        path = out / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            gone.append(name)
        elif path.is_symlink():
            path.unlink()
            gone.append(name)
    for d in (out, out / "claims", out / "plots"):
        if d.is_dir():
            for entry in os.scandir(d):
                if _TMP_RE.match(entry.name) and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
    files = sorted(n for n in keep if (out / n).is_file())
    write_marker(out, rendered=marker["rendered"], files=files)
    return gone


# -- the commit point -------------------------------------------------------------------------------

def run_record_name(digest: str) -> str:
    return f"{RUN_PREFIX}{digest[:12]}.json"


def commit(out: Path, claims: bytes) -> str:
    """Replace ``claims.json`` (the commit point), durably. Returns its digest."""
    write_atomic(out / "claims.json", claims)
    fsync_dir(out)
    STATE["committed"] = True
    _fault("committed")
    return sha256(claims)


def stamp(out: Path, digest: str) -> None:
    """Record that every derived file was rendered from the ``claims.json`` with ``digest``."""
    marker = read_marker(out) or {"files": []}
    write_marker(out, rendered=digest, files=marker["files"])
    fsync_dir(out)


def needs_render(out: Path) -> bool:
    """True where a marker exists but its digest is not that of ``claims.json`` (an interrupted write)."""
    marker = read_marker(out)
    if marker is None:
        return False  # a report of an earlier version (no marker): nothing was interrupted
    try:
        return marker.get("rendered") != sha256((out / "claims.json").read_bytes())
    except OSError:
        return False


# -- locking ----------------------------------------------------------------------------------------

def _lock_fd(out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    return os.open(_sibling(out, "lock"), os.O_RDWR | os.O_CREAT, 0o644)


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock without waiting: True, False when held elsewhere; where the file system
    supports no lock at all (some FUSE or CIFS mounts), say so once and go on unlocked."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS):
            raise
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except (BlockingIOError, PermissionError):
        return False
    except OSError:
        print("note: this file system supports no file locks; a concurrent run into the same --out "
              "cannot be detected", file=sys.stderr)
        return True


@contextmanager
def locked(out: Path):
    """Hold the exclusive report lock of ``out`` for a whole verify run; raise :class:`ReportBusy` at
    once when another run holds it. On entry, finish what an earlier version left (see :func:`legacy`)."""
    fd = _lock_fd(out)
    try:
        if not _try_lock(fd):
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise ReportBusy(f"--out {out}: another verify run is writing this report ({holder}); "
                             "wait for it to finish or use another --out")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        legacy(out)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def try_locked(out: Path):
    """For readers: yield True holding the lock, or False where it is held elsewhere or cannot be taken
    (a read-only parent): they then read without repairing."""
    try:
        fd = _lock_fd(out)
    except OSError:
        yield False
        return
    try:
        ok = _try_lock(fd)
        if ok:
            legacy(out)
        yield ok
    finally:
        os.close(fd)


# -- what earlier versions left behind --------------------------------------------------------------

_LEGACY_DIR = re.compile(r"^\.(?P<name>.+)\.(new|old)-[0-9a-f]{8}$")


def has_legacy(out: Path) -> bool:
    parent = out.parent
    if not parent.is_dir():
        return False
    return (_sibling(out, "install").exists() or _sibling(out, "install.tmp").exists()
            or any(parent.glob(f".{glob_escape(out.name)}.new-*"))
            or any(parent.glob(f".{glob_escape(out.name)}.old-*")))


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def legacy(out: Path) -> None:
    """Finish what an earlier version's directory-swapping install left (lock held): a journaled
    install interrupted between its two renames left the new report in ``.<name>.new-*`` (or only the
    old one, in ``.<name>.old-*``) and no ``--out``. That report is moved back; staging and backup
    folders are deleted only once ``--out`` holds a report, so the last copy is never deleted."""
    parent = out.parent
    if not parent.is_dir() or not (has_legacy(out) or any(out.glob(".tmp-*"))):
        return
    journal, journal_tmp = _sibling(out, "install"), _sibling(out, "install.tmp")
    cands = []
    if journal.exists():
        try:
            plan = json.loads(journal.read_text())
            cands = [Path(plan["new"]), Path(plan["old"])]
        except (OSError, ValueError, KeyError, TypeError):
            cands = []
    pattern = glob_escape(out.name)
    # Without a journal, a staging folder (.new-*) may be incomplete; a backup (.old-*) was complete.
    cands += sorted(parent.glob(f".{pattern}.old-*")) + sorted(parent.glob(f".{pattern}.new-*"))
    cands = [c for c in cands if c.parent == parent and _LEGACY_DIR.match(c.name)]
    if kind(out) in ("absent", "empty"):
        for cand in cands:
            if cand.is_dir() and kind(cand) == "report":
                try:
                    if out.exists():
                        out.rmdir()
                    os.rename(cand, out)
                    print(f"note: restored the report an interrupted install of an earlier version left in "
                          f"{cand.name}", file=sys.stderr)
                except OSError as exc:
                    print(f"note: a report an interrupted install left is in {cand} (could not move it to "
                          f"{out}: {exc.strerror}); move it there to keep it", file=sys.stderr)
                break
    if kind(out) != "report":
        return  # never delete what may be the only copy
    for cand in set(cands):
        if cand.is_dir() and not cand.is_symlink():
            shutil.rmtree(cand, ignore_errors=True)
    for f in (journal, journal_tmp):
        try:
            f.unlink()
        except OSError:
            pass
    for stale in out.glob(".tmp-*"):  # scratch folders of versions that built reports inside --out
        if stale.is_dir() and not stale.is_symlink() and re.fullmatch(r"\.tmp-[0-9a-z_]+", stale.name):
            shutil.rmtree(stale, ignore_errors=True)
