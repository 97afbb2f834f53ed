"""What a storage node is told at start: data folder, address, keys, public buckets, purges."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from serving.limits import ConnectionLimits
from serving.purge_notify import PurgeTarget

__all__ = ["StorageSettings"]


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """One `cdn storage` node.

    ``keys`` are (access key id, secret) pairs; none means authentication is off (every
    request is allowed, as moto does). With keys, anonymous requests may only read
    ``public_read`` buckets. ``purge_targets`` are the cache nodes told about changes (with
    ``admin_token``), ``notify_url`` a webhook told too. ``virtual_host_base`` turns
    ``<bucket>.<base>`` Host headers into virtual-host-style addressing. ``tls_cert`` and
    ``tls_key`` (PEM files) serve HTTPS, where boto3 sends ``aws-chunked`` bodies. ``limits``
    bound slow and idle clients and open connections (docs/reliability.md).
    """

    data: Path = Path("storage-data")
    name: str = "storage"
    host: str = "127.0.0.1"
    port: int = 9000
    keys: tuple[tuple[str, str], ...] = ()
    public_read: tuple[str, ...] = ()
    region: str = "us-east-1"
    virtual_host_base: str = "localhost"
    purge_targets: tuple[PurgeTarget, ...] = ()
    admin_token: str | None = None
    notify_url: str | None = None
    purge_path_prefix: str = ""
    access_log: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Header, body and idle timeouts and the connection cap (serving.limits), as the origin.
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    drain_timeout: float = 10.0  # seconds in-flight requests get to finish on SIGTERM

    def with_changes(self, **changes: Any) -> StorageSettings:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)
