"""Request bodies in: plain or ``aws-chunked`` (trailing checksums), digests checked as they stream.

Rules: a body streams from the socket into an ``ObjectWriter`` in pieces of at most
``PIECE`` bytes, so memory stays bounded whatever its size. ``Content-Encoding: aws-chunked``
(or an ``x-amz-content-sha256`` of ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``, what boto3 sends
over TLS) is decoded: ``<hex size>[;ext]\\r\\n<bytes>\\r\\n`` chunks, a zero chunk, then
trailer lines such as ``x-amz-checksum-crc32:<base64>``. Signed chunk streams
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) are refused (NotImplemented) rather than accepted
unverified. Checked at the end: ``Content-MD5`` (BadDigest), a hex ``x-amz-content-sha256``
(XAmzContentSHA256Mismatch), ``x-amz-checksum-<alg>`` from a header or the trailer
(BadDigest), ``x-amz-decoded-content-length`` (IncompleteBody).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import StreamReader

from storage.errors import S3Error

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "Received",
    "checksum_headers",
    "checksum_type",
    "new_digest",
    "receive_body",
]

PIECE = 256 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


class _Crc32:
    """CRC-32 (IEEE, zlib's) with hashlib's interface; digest is 4 bytes big-endian."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


def _crt(name: str) -> Any:
    from awscrt import checksums  # optional: CRC32C and CRC64NVME need the AWS CRT

    class _CrtDigest:
        def __init__(self) -> None:
            self.value = 0

        def update(self, data: bytes) -> None:
            self.value = getattr(checksums, name)(data, self.value)

        def digest(self) -> bytes:
            return self.value.to_bytes(8 if name == "crc64nvme" else 4, "big")

    return _CrtDigest()


CHECKSUM_ALGORITHMS: Mapping[str, Any] = {
    "CRC32": _Crc32,
    "CRC32C": lambda: _crt("crc32c"),
    "CRC64NVME": lambda: _crt("crc64nvme"),
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
}


def new_digest(algorithm: str) -> _Digest:
    """A running checksum of ``algorithm`` (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)."""
    factory = CHECKSUM_ALGORITHMS.get(algorithm)
    if factory is None:
        raise S3Error(
            "InvalidRequest",
            f"unknown checksum algorithm {algorithm!r} (expected one of {sorted(CHECKSUM_ALGORITHMS)})",
        )
    try:
        return factory()
    except ImportError:
        raise S3Error(
            "NotImplemented",
            f"checksum algorithm {algorithm} needs the awscrt package on the server",
        ) from None


def checksum_headers(checksums: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """``x-amz-checksum-<alg>`` response headers of stored checksums."""
    return {f"x-amz-checksum-{alg.lower()}": value for alg, value in checksums}


@dataclass(frozen=True, slots=True)
class Received:
    """A body that arrived whole: its size, MD5 (hex) and the checksums the client sent, checked."""

    size: int
    md5_hex: str
    checksums: tuple[tuple[str, str], ...]


class _Sink(Protocol):
    def write(self, chunk: bytes, /) -> None: ...


@dataclass(slots=True)
class _Digests:
    md5: Any
    sha256: Any | None
    checksums: dict[str, _Digest]
    size: int = 0

    def update(self, chunk: bytes, sink: _Sink) -> None:
        sink.write(chunk)
        self.md5.update(chunk)
        if self.sha256 is not None:
            self.sha256.update(chunk)
        for digest in self.checksums.values():
            digest.update(chunk)
        self.size += len(chunk)


def _expected_checksums(headers: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """Checksums given in headers (algorithm -> base64) and the one the trailer will carry."""
    given: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-checksum-") and lower not in (
            "x-amz-checksum-algorithm",
            "x-amz-checksum-type",
            "x-amz-checksum-mode",
        ):
            given[lower.removeprefix("x-amz-checksum-").upper()] = value.strip()
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    trailer_algorithm = None
    if trailer:
        if not trailer.startswith("x-amz-checksum-"):
            raise S3Error("InvalidRequest", f"unsupported x-amz-trailer {trailer!r}")
        trailer_algorithm = trailer.removeprefix("x-amz-checksum-").upper()
    algorithm = headers.get("x-amz-sdk-checksum-algorithm", "").strip().upper()
    if algorithm and algorithm not in given and algorithm != trailer_algorithm:
        given.setdefault(algorithm, "")  # computed and stored, nothing to compare with
    return given, trailer_algorithm


def checksum_type(value: str) -> str:
    """``COMPOSITE`` for a checksum of part checksums (``<base64>-<parts>``), else ``FULL_OBJECT``."""
    base, dash, count = value.rpartition("-")
    return "COMPOSITE" if dash and base and count.isdigit() else "FULL_OBJECT"


async def _read_plain(content: StreamReader, digests: _Digests, sink: _Sink) -> None:
    while True:
        chunk = await content.read(PIECE)
        if not chunk:
            return
        digests.update(chunk, sink)


async def _read_line(content: StreamReader) -> bytes:
    if content.at_eof():
        raise S3Error("IncompleteBody", "the aws-chunked body ended before a chunk header")
    try:
        line = await content.readuntil(b"\n")
    except ValueError:  # longer than the reader's limit
        raise S3Error("IncompleteBody", "an aws-chunked chunk header is too long") from None
    if not line.endswith(b"\n"):
        raise S3Error("IncompleteBody", "the aws-chunked body ended in a chunk header")
    return line.rstrip(b"\r\n")


async def _read_aws_chunked(
    content: StreamReader, digests: _Digests, sink: _Sink
) -> dict[str, str]:
    """Decode chunks into ``sink``; the trailer's fields (lower-case names)."""
    while True:
        header = await _read_line(content)
        size_text = header.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise S3Error(
                "IncompleteBody",
                f"bad aws-chunked chunk size {size_text[:20]!r} (expected hex digits)",
            ) from None
        if size == 0:
            break
        remaining = size
        while remaining:
            try:
                chunk = await content.readexactly(min(remaining, PIECE))
            except Exception:
                raise S3Error(
                    "IncompleteBody", "the aws-chunked body ended inside a chunk"
                ) from None
            digests.update(chunk, sink)
            remaining -= len(chunk)
        if await _read_line(content) != b"":
            raise S3Error("IncompleteBody", "an aws-chunked chunk is longer than its size")
    trailer: dict[str, str] = {}
    while True:
        line = await _read_line(content) if not content.at_eof() else b""
        if not line:
            return trailer
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise S3Error("IncompleteBody", f"bad aws-chunked trailer line {line[:60]!r}")
        trailer[name.strip().lower()] = value.strip()


async def receive_body(content: StreamReader, headers: Mapping[str, str], sink: _Sink) -> Received:
    """Stream the request body into ``sink`` and check every digest the client gave."""
    content_sha256 = headers.get("x-amz-content-sha256", "").strip().lower()
    encodings = [e.strip().lower() for e in headers.get("Content-Encoding", "").split(",")]
    # A body is aws-chunked when x-amz-content-sha256 says STREAMING-... (as S3 decides); a
    # Content-Encoding of aws-chunked alone is only a stored-header detail unless the client
    # also gives x-amz-decoded-content-length.
    chunked = content_sha256.startswith("streaming-") or (
        "aws-chunked" in encodings and "x-amz-decoded-content-length" in headers
    )
    if content_sha256.startswith("streaming-aws4-hmac-sha256-payload") or content_sha256 in (
        "streaming-aws4-ecdsa-p256-sha256-payload",
    ):
        raise S3Error(
            "NotImplemented",
            "signed aws-chunked streams are not supported (send UNSIGNED-PAYLOAD,"
            " a body SHA-256 or STREAMING-UNSIGNED-PAYLOAD-TRAILER)",
        )
    given, trailer_algorithm = _expected_checksums(headers)
    algorithms = set(given) | ({trailer_algorithm} if trailer_algorithm else set())
    digests = _Digests(
        md5=hashlib.md5(),
        sha256=hashlib.sha256() if _HEX64.fullmatch(content_sha256) else None,
        checksums={alg: new_digest(alg) for alg in sorted(algorithms)},
    )
    if chunked:
        trailer = await _read_aws_chunked(content, digests, sink)
        if trailer_algorithm:
            value = trailer.get(f"x-amz-checksum-{trailer_algorithm.lower()}")
            if value is None:
                raise S3Error(
                    "InvalidRequest",
                    f"the trailer lacks x-amz-checksum-{trailer_algorithm.lower()}"
                    " that x-amz-trailer announced",
                )
            given[trailer_algorithm] = value
        decoded = headers.get("x-amz-decoded-content-length")
        if decoded is not None and decoded.strip() != str(digests.size):
            raise S3Error(
                "IncompleteBody",
                f"x-amz-decoded-content-length is {decoded.strip()} but the chunks held"
                f" {digests.size} bytes",
            )
    else:
        await _read_plain(content, digests, sink)
    _check(headers, content_sha256, digests, given)
    checksums = tuple(
        (alg, given[alg] or base64.b64encode(digests.checksums[alg].digest()).decode())
        for alg in sorted(given)
    )
    return Received(digests.size, digests.md5.hexdigest(), checksums)


def _check(
    headers: Mapping[str, str], content_sha256: str, digests: _Digests, given: dict[str, str]
) -> None:
    content_md5 = headers.get("Content-MD5")
    if content_md5 is not None:
        try:
            expected = base64.b64decode(content_md5.strip(), validate=True)
        except binascii.Error:
            raise S3Error("InvalidDigest", "Content-MD5 is not base64") from None
        if len(expected) != 16:
            raise S3Error(
                "InvalidDigest",
                f"Content-MD5 holds {len(expected)} bytes (expected the 16 of an MD5, in base64)",
            )
        if expected != digests.md5.digest():
            raise S3Error("BadDigest", "the body does not match its Content-MD5")
    if digests.sha256 is not None and digests.sha256.hexdigest() != content_sha256:
        raise S3Error(
            "XAmzContentSHA256Mismatch",
            "the body's SHA-256 does not match x-amz-content-sha256",
        )
    for algorithm, value in given.items():
        if not value:
            continue
        computed = base64.b64encode(digests.checksums[algorithm].digest()).decode()
        if computed != value:
            raise S3Error(
                "BadDigest",
                f"the body's {algorithm} checksum is {computed}, not {value} as the request says",
            )
