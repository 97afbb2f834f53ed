"""The one use of cachetools' private internals, in one place (tested with cachetools 8.0).

Rules: cachetools keeps a ``Cache``'s key -> value dict in the name-mangled ``_Cache__data``,
and its inherited public readers (``Cache.__getitem__`` as a peek, ``get``, ``pop``) read it.
Every policy of ours owns its storage (``base.LeanCache``: lru, fifo, lfu, sieve, s3fifo,
belady) and hands cachetools that dict here, so those readers keep working; nothing else
touches cachetools' internals. A release that renames the attribute breaks here and in
tests/core/cache's contract suite at once; pyproject.toml pins cachetools below 9.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cachetools import Cache

__all__ = ["adopt_data"]

_DATA = "_Cache__data"


def adopt_data(cache: Cache, data: dict[Hashable, Any]) -> None:
    """Make ``data`` the dict cachetools' inherited readers use for ``cache``."""
    setattr(cache, _DATA, data)
