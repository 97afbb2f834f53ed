"""Every use of cachetools' private internals, in one place (tested with cachetools 8.0).

Rules: cachetools keeps a ``Cache``'s key -> value dict in the name-mangled ``_Cache__data``;
its public readers (``Cache.__getitem__`` as a peek, ``get``, ``pop``, iteration) read it. Our
policies expose that dict as ``data`` (the store's one map, read on the hot path): ``lfu`` (which
is cachetools' own LFUCache) reads it, and our own policies (lru, fifo, sieve, s3fifo, belady)
hand cachetools a dict they own. Both go through these two functions, so a
cachetools release that renames the attribute breaks here, and tests/core/cache's contract
suite says so at once. pyproject.toml pins cachetools below the next major version.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cachetools import Cache

__all__ = ["adopt_data", "data_of"]

_DATA = "_Cache__data"


def data_of(cache: Cache) -> dict[Hashable, Any]:
    """cachetools' own key -> value dict of ``cache`` (read it, never write it)."""
    return getattr(cache, _DATA)  # type: ignore[no-any-return]


def adopt_data(cache: Cache, data: dict[Hashable, Any]) -> None:
    """Make ``data`` the dict cachetools' inherited readers use for ``cache``."""
    setattr(cache, _DATA, data)
