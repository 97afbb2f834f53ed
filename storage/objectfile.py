"""One object, one file: the body, then the object's metadata as JSON, then a 16-byte footer.

Rules: the footer is the metadata's length (8 bytes, big-endian) and a magic number, so the
metadata is found from the end without knowing the body size first and a body streams in
before its ETag is known. Object and metadata are one file, replaced by one ``rename``: a
reader sees the old object or the new one, whole, never a body with another's metadata.
A writer writes a temporary file (in the data folder's ``tmp/``), fsyncs it, renames it into
place and fsyncs the directory; a crash leaves only a temporary file, removed at start.
A reader keeps its file descriptor for the whole answer, so a concurrent replace or delete
never changes the bytes it is sending.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FOOTER_BYTES",
    "ObjectInfo",
    "ObjectWriter",
    "StoredObject",
    "fsync_dir",
    "open_object",
    "read_info",
]

MAGIC = b"CDNS3v1\n"
FOOTER_BYTES = 16
_SMALL = 256 * 1024  # read in one call below this file size


class CorruptObject(Exception):
    """A file under objects/ without a valid footer (never produced by a completed write)."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What S3 says about an object: key, size, ETag (quoted), time, stored headers, checksums, tags."""

    key: str
    size: int
    etag: str
    last_modified: float
    headers: tuple[tuple[str, str], ...] = ()
    user_meta: tuple[tuple[str, str], ...] = ()
    checksums: tuple[tuple[str, str], ...] = ()
    parts: int = 0
    part_sizes: tuple[int, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def content_type(self) -> str:
        """The stored Content-Type (S3's default: binary/octet-stream)."""
        return dict(self.headers).get("Content-Type", "binary/octet-stream")

    def to_json(self) -> dict[str, Any]:
        """The metadata as stored in the file."""
        return {
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "headers": [list(pair) for pair in self.headers],
            "user_meta": [list(pair) for pair in self.user_meta],
            "checksums": [list(pair) for pair in self.checksums],
            "parts": self.parts,
            "part_sizes": list(self.part_sizes),
            "tags": [list(pair) for pair in self.tags],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectInfo:
        """The inverse of ``to_json``."""
        return cls(
            key=data["key"],
            size=int(data["size"]),
            etag=data["etag"],
            last_modified=float(data["last_modified"]),
            headers=tuple((k, v) for k, v in data.get("headers", ())),
            user_meta=tuple((k, v) for k, v in data.get("user_meta", ())),
            checksums=tuple((k, v) for k, v in data.get("checksums", ())),
            parts=int(data.get("parts", 0)),
            part_sizes=tuple(int(n) for n in data.get("part_sizes", ())),
            tags=tuple((k, v) for k, v in data.get("tags", ())),
        )


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class ObjectWriter:
    """A body being written to a temporary file; ``finish`` adds the metadata and fsyncs."""

    tmp_dir: Path
    path: Path = field(init=False)
    size: int = 0
    md5: Any = field(default_factory=hashlib.md5)
    _file: Any = None

    def __post_init__(self) -> None:
        self.path = self.tmp_dir / f"{uuid.uuid4().hex}.tmp"
        self._file = open(self.path, "xb", buffering=0)  # noqa: SIM115 - closed in finish/abort

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Append body bytes."""
        self._file.write(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)

    def finish(self, info: ObjectInfo) -> None:
        """Append ``info`` and the footer, fsync and close (blocking: run it off the loop)."""
        meta = json.dumps(info.to_json(), separators=(",", ":")).encode()
        self._file.write(meta + len(meta).to_bytes(8, "big") + MAGIC)
        os.fsync(self._file.fileno())
        self._file.close()

    def commit(self, destination: Path | str) -> None:
        """Rename the finished file to ``destination`` (atomic; the old object goes whole)."""
        os.rename(self.path, destination)

    def abort(self) -> None:
        """Drop the temporary file."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@dataclass(slots=True)
class StoredObject:
    """An open object file: its metadata and either its whole body (small) or its descriptor."""

    info: ObjectInfo
    fd: int | None
    body: bytes | None

    def read(self, offset: int, length: int) -> bytes:
        """``length`` body bytes from ``offset`` (from memory or ``pread``)."""
        if self.body is not None:
            return self.body[offset : offset + length]
        assert self.fd is not None
        return os.pread(self.fd, length, offset)

    def close(self) -> None:
        """Release the descriptor."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _parse_footer(tail: bytes, file_size: int, where: Path | str) -> int:
    if len(tail) != FOOTER_BYTES or tail[8:] != MAGIC:
        raise CorruptObject(f"{where}: no object footer (expected {MAGIC!r} at the end)")
    meta_len = int.from_bytes(tail[:8], "big")
    if meta_len > file_size - FOOTER_BYTES:
        raise CorruptObject(f"{where}: metadata length {meta_len} exceeds the file")
    return meta_len


def open_object(path: Path | str) -> StoredObject | None:
    """The object in ``path`` (None when there is none); small ones are read in one call."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        file_size = os.fstat(fd).st_size
        if file_size <= _SMALL:
            data = os.pread(fd, file_size, 0)
            meta_len = _parse_footer(data[-FOOTER_BYTES:], file_size, path)
            body_len = file_size - FOOTER_BYTES - meta_len
            info = ObjectInfo.from_json(json.loads(data[body_len : body_len + meta_len]))
            os.close(fd)
            return StoredObject(info, None, data[:body_len])
        tail = os.pread(fd, FOOTER_BYTES, file_size - FOOTER_BYTES)
        meta_len = _parse_footer(tail, file_size, path)
        body_len = file_size - FOOTER_BYTES - meta_len
        info = ObjectInfo.from_json(json.loads(os.pread(fd, meta_len, body_len)))
        return StoredObject(info, fd, None)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def read_info(path: Path | str) -> ObjectInfo | None:
    """Only the metadata of the object in ``path`` (None when there is none)."""
    stored = open_object(path)
    if stored is None:
        return None
    stored.close()
    return stored.info
