"""Settings of one cdn kv server: where it listens, its SQLite file, keys, cache rules, purges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cdn.topology.model import CacheRule
from serving.limits import ConnectionLimits
from serving.purge_notify import PurgeTarget

__all__ = ["KvSettings"]


@dataclass(frozen=True, slots=True)
class KvSettings:
    """What a cdn kv server needs to run (frozen; ``with_changes`` makes variants)."""

    data: str
    host: str = "127.0.0.1"
    port: int = 8000
    name: str = "kv"
    synchronous: str = "normal"
    credentials: Mapping[str, str] = field(default_factory=dict)  # access key -> secret key
    region: str = "us-east-1"
    cache_rules: tuple[CacheRule, ...] = ()
    purge_targets: tuple[PurgeTarget, ...] = ()
    purge_wait: float = 1.0  # seconds a write waits for its purges to be confirmed (0: never)
    admin_token: str | None = None
    access_log: bool = False
    # Header, body and idle timeouts and the connection cap (serving.limits), as the origin.
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    drain_timeout: float = 10.0  # seconds in-flight requests get to finish on SIGTERM

    def with_changes(self, **changes: Any) -> KvSettings:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)
