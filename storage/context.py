"""One S3 request as the handlers see it: where it points, who sent it, and the node's parts."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from serving.purge_notify import PurgeNotifier, PurgeRequest
from storage.addressing import S3Address
from storage.errors import S3Error
from storage.principal import Principal
from storage.settings import StorageSettings
from storage.store import Bucket, Store

__all__ = ["S3Context"]


@dataclass(slots=True)
class S3Context:
    """The request, its address and query, the principal, and the store it acts on."""

    request: web.Request
    address: S3Address
    query: dict[str, str]
    principal: Principal
    store: Store
    settings: StorageSettings
    notifier: PurgeNotifier | None
    operation: str = "Unknown"

    @property
    def bucket_name(self) -> str:
        """The bucket named (a request without one never reaches a bucket operation)."""
        assert self.address.bucket is not None
        return self.address.bucket

    @property
    def key(self) -> str:
        """The key named."""
        assert self.address.key is not None
        return self.address.key

    def bucket(self) -> Bucket:
        """The bucket named; NoSuchBucket when absent."""
        return self.store.bucket(self.bucket_name)

    def int_param(self, name: str, default: int, *, low: int = 0, high: int = 1000) -> int:
        """A whole-number query parameter clamped to ``high``; InvalidArgument when malformed."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise S3Error(
                "InvalidArgument", f"{name} must be a whole number (got {text[:40]!r})"
            ) from None
        if value < low:
            raise S3Error("InvalidArgument", f"{name} must be at least {low} (got {value})")
        return min(value, high)

    def changed(self, bucket: str, keys: list[str], event: str) -> None:
        """Tell the CDN (and the webhook) that these objects changed: one URL purge each."""
        if self.notifier is None or not keys:
            return
        prefix = self.settings.purge_path_prefix
        urls = [f"{prefix}/{quote(bucket)}/{quote(key, safe='/~')}" for key in keys]
        self.notifier.notify([PurgeRequest(url=url) for url in urls], event=event)
