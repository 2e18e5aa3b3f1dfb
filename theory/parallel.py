"""How independent batches of work inside one claim are mapped: serially by default, or as tasks of a
distributed scheduler when a runner installs a mapper for the duration of a claim.

Every batch handed to :func:`pmap` must be a pure function of its arguments (each carries its own
seed, derived from the global seed, the claim, the stream and the batch index), so the results, and
the bits of every report, are the same however the batches are scheduled. ``theory`` never imports a
scheduler: the mapper is injected from outside (``checks.dask_runner``).
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Callable, Iterable

_MAPPER: contextvars.ContextVar = contextvars.ContextVar("theory_parallel_mapper", default=None)


def pmap(fn: Callable, items: Iterable) -> list:
    """``[fn(x) for x in items]``, possibly computed elsewhere; order preserved."""
    items = list(items)
    mapper = _MAPPER.get()
    if mapper is None or len(items) <= 1:
        return [fn(x) for x in items]
    return list(mapper(fn, items))


@contextmanager
def using(mapper: Callable | None):
    """Install ``mapper(fn, items) -> results`` for :func:`pmap` calls in this context."""
    token = _MAPPER.set(mapper)
    try:
        yield
    finally:
        _MAPPER.reset(token)
