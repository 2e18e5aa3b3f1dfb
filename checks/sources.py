"""The source bytes this process actually imported, module by module (issue 18, defect 2).

The result cache keys a claim's result by a digest of the claim's module and of every project module it
imports, computed by the parent from the files on disk when the run starts. The code that computes the
result, however, is the code a worker imports — a second or more later for ``--jobs N``, the whole run
later for a Dask worker that joins late. A file edited in that window, and restored byte for byte before
anyone looks again, would otherwise leave a result computed from the edit stored under the original
source's key. Re-reading the files after the run cannot see such an edit; only the bytes the import
itself compiled can.

So :func:`install` puts a finder first on ``sys.meta_path`` that, for the project's packages, loads each
module by reading its source file once, hashing those bytes and compiling *them* (never a ``.pyc``, whose
validity rests on mtime and size): :func:`imported` then says, for every project module this process
has imported, the sha256 of the bytes it runs. ``checks/__init__.py`` installs it before importing
anything else, so every process that runs a claim (the CLI, ``--jobs`` workers, Dask workers, pytest)
records every project module — except the two files executed before the finder existed, this one and
``checks/__init__.py``: their module code objects are kept instead, and their digest is the digest of
the file on disk only when compiling that file gives the same code object (otherwise: unknown).

A module whose bytes are unknown (imported before the finder, or by another loader) counts as changed:
the result is returned, never cached. Compiling from source costs about 0.2 s per process for the
whole project.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import sys

PACKAGES = ("theory", "checks")
# module -> sha256 of the source bytes the module's code was compiled from (in this process)
_DIGESTS: dict[str, str] = {}
# module -> module code object, for the files executed before the finder was installed
_BOOT: dict[str, object] = {__name__: sys._getframe(0).f_code}


def _ours(name: str) -> bool:
    return name.split(".", 1)[0] in PACKAGES


class _HashingLoader(importlib.machinery.SourceFileLoader):
    """A source loader that compiles exactly the bytes it hashed (no bytecode cache read or written)."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        data = self.get_data(path)
        _DIGESTS[fullname] = hashlib.sha256(data).hexdigest()
        return self.source_to_code(data, path)


class _Finder:
    """Finds project modules as the path finder does, then loads them with :class:`_HashingLoader`."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not _ours(name):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _HashingLoader(spec.loader.name, spec.loader.path)
        return spec

    @classmethod
    def invalidate_caches(cls):
        pass


def install(init_code=None) -> None:
    """Record the source of every project module imported from now on (idempotent). ``init_code``: the
    module code object of ``checks/__init__.py``, which runs before the finder exists."""
    if _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)
    if init_code is not None:
        _BOOT.setdefault("checks", init_code)


def _boot_digest(name: str, module) -> str | None:
    """Digest of a file executed before the finder, when the file on disk compiles to the code that ran."""
    path = getattr(module, "__file__", None)
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        code = compile(data, path, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return None
    return hashlib.sha256(data).hexdigest() if code == _BOOT[name] else None


def imported() -> dict[str, str | None]:
    """module -> sha256 of the source bytes it runs, for every project module this process has imported;
    None where they cannot be known (the module then counts as changed)."""
    out: dict[str, str | None] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not _ours(name):
            continue
        if name in _DIGESTS:
            out[name] = _DIGESTS[name]
        elif name in _BOOT:
            out[name] = _boot_digest(name, module)
        else:
            out[name] = None
    return out
