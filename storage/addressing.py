"""Which bucket and key a request names: path style (``/bucket/key``) or virtual-host style.

Rules: the path is taken as sent (``raw_path``) and percent-decoded once, never normalised, so
a key such as ``a/../b`` stays that key (it is a name, not a path: storage.names). A ``Host``
of ``<bucket>.<virtual_host_base>`` (port ignored) names the bucket and the whole path is the
key. The query is decoded pair by pair, ``+`` kept as ``+`` (S3 clients encode spaces as %20).
A path or query that is not UTF-8 once decoded is 400 InvalidURI, as S3 answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from storage.errors import S3Error

__all__ = ["S3Address", "address_of"]


@dataclass(frozen=True, slots=True)
class S3Address:
    """The bucket (None: the service) and key (None: the bucket) of a request, and its query."""

    bucket: str | None
    key: str | None
    raw_path: str
    query: tuple[tuple[str, str], ...]

    @property
    def resource(self) -> str:
        """``/bucket/key`` as S3's errors name it."""
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + (f"/{self.key}" if self.key is not None else "")


def _decode(text: str) -> str:
    """``text`` percent-decoded; 400 InvalidURI when the bytes are not UTF-8 (S3's answer)."""
    value = unquote(text, errors="surrogateescape")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise S3Error(
            "InvalidURI", "Couldn't parse the specified URI. (it is not UTF-8 once decoded)"
        ) from None
    return value


def address_of(raw: str, host: str, virtual_host_base: str) -> S3Address:
    """The address in a request line's target ``raw`` and its ``Host`` header."""
    path, _, query_text = raw.partition("?")
    query = tuple(
        (_decode(name), _decode(value))
        for name, _, value in (part.partition("=") for part in query_text.split("&") if part)
    )
    hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host.lower()
    suffix = "." + virtual_host_base.lower() if virtual_host_base else None
    if suffix and hostname.endswith(suffix) and len(hostname) > len(suffix):
        bucket = hostname[: -len(suffix)]
        key = _decode(path[1:]) if len(path) > 1 else None
        return S3Address(bucket, key, path, query)
    bucket_text, slash, key_text = path[1:].partition("/")
    bucket = _decode(bucket_text) or None
    key = _decode(key_text) if slash and key_text else None
    return S3Address(bucket, key, path, query)
