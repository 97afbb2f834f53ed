"""Request traces: the record every reader yields, and streaming readers for CSV and oracleGeneral.

Rules: pure apart from reading the path or stream handed in; never loads a whole trace. A bad line
or record raises ``TraceError`` naming the file and the line ("trace.csv:line 7") or record
("trace.bin:record 12"), what is wrong and what was expected.

Formats:
- CSV with a header ``timestamp,object_id,size_bytes`` (``size`` also accepted; an optional
  ``next_access`` column); ``#`` comment lines and blank lines are skipped. An all-digit object id
  becomes an int (so CSV and binary copies of a trace agree), anything else stays a str.
- libCacheSim oracleGeneral: little-endian ``<IQIq`` records (uint32 timestamp, uint64 object id,
  uint32 size, int64 index of the next request for the object; -1 or INT64_MAX = never).
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from cdn.errors import TraceError

ORACLE_GENERAL = struct.Struct("<IQIq")
_NEVER = (-1, 2**63 - 1)
_CHUNK_RECORDS = 65536
CSV_SUFFIXES = frozenset({".csv"})
BINARY_SUFFIXES = frozenset({".bin", ".oraclegeneral"})

TraceSource = str | os.PathLike[str] | IO[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class TraceRecord:
    """One request: when, which object, how many bytes, and (if known) the index of its next use."""

    time: float
    obj_id: str | int
    size: int
    next_access: int | None = None


def open_trace(path: str | os.PathLike[str]) -> Iterator[TraceRecord]:
    """Stream the records of ``path``, picking the reader by extension (.csv, .bin, .oracleGeneral)."""
    return _reader_for(path)(path)


def iter_requests(path: str | os.PathLike[str]) -> Iterator[tuple[str | int, int]]:
    """Stream ``(obj_id, size)`` pairs of ``path`` (the replay fast path: no record objects)."""
    if _format_of(path) == "csv":
        return ((record.obj_id, record.size) for record in read_csv(path))
    return _binary_pairs(path)


def iter_requests_with_future(
    path: str | os.PathLike[str],
) -> Iterator[tuple[str | int, int, int | None]]:
    """Stream ``(obj_id, size, next_access)`` triples of ``path`` (for belady replays)."""
    if _format_of(path) == "csv":
        return ((r.obj_id, r.size, r.next_access) for r in read_csv(path))
    return _binary_triples(path)


# -- CSV ------------------------------------------------------------------------------------------

_TIME = ("timestamp", "time")
_OBJECT = ("object_id", "obj_id")
_SIZE = ("size_bytes", "size")
_EXPECTED_HEADER = "a header 'timestamp,object_id,size_bytes' (or 'size' as the third column)"


def read_csv(source: TraceSource) -> Iterator[TraceRecord]:
    """Stream the records of a CSV trace from a path or an open (text or binary) stream."""
    with _opened(source, "r") as (stream, name):
        columns: tuple[int, int, int, int | None] | None = None
        for number, raw in enumerate(stream, start=1):
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = [field.strip() for field in line.split(",")]
            if columns is None:
                columns = _header_columns(fields, f"{name}:line {number}")
                continue
            yield _csv_record(fields, columns, f"{name}:line {number}")


def _header_columns(fields: list[str], where: str) -> tuple[int, int, int, int | None]:
    names = [field.lower() for field in fields]

    def find(options: tuple[str, ...]) -> int | None:
        return next((names.index(option) for option in options if option in names), None)

    time, obj, size = find(_TIME), find(_OBJECT), find(_SIZE)
    if time is None or obj is None or size is None:
        raise TraceError(where, f"header is {','.join(fields)!r}", _EXPECTED_HEADER)
    return time, obj, size, find(("next_access",))


def _csv_record(fields: list[str], columns: tuple[int, int, int, int | None], where: str):
    time_at, obj_at, size_at, next_at = columns
    width = max(c for c in columns if c is not None) + 1
    if len(fields) < width:
        raise TraceError(where, f"{len(fields)} fields", f"at least {width} comma-separated fields")
    try:
        time = float(fields[time_at])
    except ValueError:
        raise TraceError(where, f"timestamp is {fields[time_at]!r}", "a number") from None
    obj = fields[obj_at]
    if not obj:
        raise TraceError(where, "object_id is empty", "an object id")
    obj_id: str | int = int(obj) if obj.isdigit() else obj
    try:
        size = int(fields[size_at])
    except ValueError:
        size = -1
    if size < 0:
        raise TraceError(where, f"size is {fields[size_at]!r}", "a non-negative integer of bytes")
    next_access = None
    if next_at is not None and fields[next_at]:
        try:
            nxt = int(fields[next_at])
        except ValueError:
            raise TraceError(
                where, f"next_access is {fields[next_at]!r}", "an integer (-1 = never)"
            ) from None
        next_access = None if nxt in _NEVER else nxt
    return TraceRecord(time, obj_id, size, next_access)


# -- oracleGeneral binary -------------------------------------------------------------------------


def read_oracle_general(source: TraceSource) -> Iterator[TraceRecord]:
    """Stream the records of a libCacheSim oracleGeneral trace from a path or binary stream."""
    for time, obj_id, size, nxt in _binary_tuples(source):
        yield TraceRecord(float(time), obj_id, size, None if nxt in _NEVER else nxt)


def _binary_pairs(source: TraceSource) -> Iterator[tuple[int, int]]:
    for chunk in _binary_chunks(source):
        yield from [(obj_id, size) for _, obj_id, size, _ in chunk]


def _binary_triples(source: TraceSource) -> Iterator[tuple[int, int, int | None]]:
    for chunk in _binary_chunks(source):
        yield from [
            (obj_id, size, None if nxt == -1 or nxt == _NEVER[1] else nxt)
            for _, obj_id, size, nxt in chunk
        ]


def _binary_tuples(source: TraceSource) -> Iterator[tuple[int, int, int, int]]:
    for chunk in _binary_chunks(source):
        yield from chunk


def _binary_chunks(source: TraceSource) -> Iterator[list[tuple[int, int, int, int]]]:
    record_size = ORACLE_GENERAL.size
    with _opened(source, "rb") as (stream, name):
        seen = 0
        pending = b""
        while True:
            data = stream.read(record_size * _CHUNK_RECORDS)
            if not data:
                break
            if isinstance(data, str):
                raise TraceError(name, "the stream is text", "a binary stream (open with 'rb')")
            if pending:
                data = pending + data
            whole = len(data) - len(data) % record_size
            pending = data[whole:]
            if whole:
                yield list(ORACLE_GENERAL.iter_unpack(memoryview(data)[:whole]))
                seen += whole // record_size
        if pending:
            raise TraceError(
                f"{name}:record {seen + 1}",
                f"truncated record: {len(pending)} of {record_size} bytes",
                f"{record_size}-byte '<IQIq' oracleGeneral records",
            )


# -- sources --------------------------------------------------------------------------------------


@contextmanager
def _opened(source: TraceSource, mode: str) -> Iterator[tuple[IO[Any], str]]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            stream = open(path, mode) if "b" in mode else open(path, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise TraceError(str(path), f"cannot open: {exc.strerror}", "a readable file") from None
        with stream:
            yield stream, str(path)
    else:
        yield source, str(getattr(source, "name", "<stream>"))


def _format_of(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in BINARY_SUFFIXES:
        return "oracleGeneral"
    raise TraceError(
        str(path), f"unknown trace extension {suffix or '(none)'!r}", ".csv, .bin or .oracleGeneral"
    )


def _reader_for(path: str | os.PathLike[str]):
    return read_csv if _format_of(path) == "csv" else read_oracle_general


__all__ = [
    "ORACLE_GENERAL",
    "TraceRecord",
    "TraceSource",
    "iter_requests",
    "iter_requests_with_future",
    "open_trace",
    "read_csv",
    "read_oracle_general",
]
