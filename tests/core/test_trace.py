"""Trace readers: CSV and libCacheSim oracleGeneral, streamed, with errors naming file and line."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from cdn.errors import TraceError
from cdn.trace import (
    ORACLE_GENERAL,
    TraceRecord,
    iter_requests,
    iter_requests_with_future,
    open_trace,
    read_csv,
    read_oracle_general,
)

INT64_MAX = 2**63 - 1
RECORDS = [
    TraceRecord(0.0, 7, 512, 2),
    TraceRecord(1.0, 8, 4096, None),
    TraceRecord(2.0, 7, 512, None),
]


def write_binary(path: Path, records: list[TraceRecord], never: int = -1) -> Path:
    with path.open("wb") as out:
        for r in records:
            nxt = never if r.next_access is None else r.next_access
            out.write(ORACLE_GENERAL.pack(int(r.time), int(r.obj_id), r.size, nxt))
    return path


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_records_are_read_in_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "timestamp,object_id,size_bytes\n0,7,512\n1.5,/a.png,10\n")
    assert list(read_csv(path)) == [TraceRecord(0.0, 7, 512), TraceRecord(1.5, "/a.png", 10)]


def test_csv_accepts_size_as_the_third_column_comments_and_blank_lines(tmp_path: Path) -> None:
    text = "# a comment\n\ntimestamp,object_id,size\n# another\n3,9,100\n\n"
    assert list(read_csv(write_csv(tmp_path / "t.csv", text))) == [TraceRecord(3.0, 9, 100)]


def test_csv_reads_an_optional_next_access_column(tmp_path: Path) -> None:
    text = "timestamp,object_id,size_bytes,next_access\n0,1,5,1\n1,1,5,-1\n"
    records = list(read_csv(write_csv(tmp_path / "t.csv", text)))
    assert [r.next_access for r in records] == [1, None]


def test_csv_reads_from_text_and_binary_streams() -> None:
    text = "timestamp,object_id,size_bytes\n0,1,5\n"
    assert list(read_csv(io.StringIO(text))) == [TraceRecord(0.0, 1, 5)]
    assert list(read_csv(io.BytesIO(text.encode()))) == [TraceRecord(0.0, 1, 5)]


def test_a_broken_csv_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "broken.csv", "timestamp,object_id,size_bytes\n0,1,5\n1,2,lots\n")
    records = read_csv(path)
    assert next(records) == TraceRecord(0.0, 1, 5)  # streamed: good lines come first
    with pytest.raises(TraceError) as caught:
        next(records)
    assert caught.value.where == f"{path}:line 3"
    assert "lots" in str(caught.value) and "non-negative integer" in str(caught.value)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("1,2", "2 fields"),
        ("x,2,5", "timestamp is 'x'"),
        ("1,,5", "object_id is empty"),
        ("1,2,-5", "size is '-5'"),
    ],
)
def test_bad_csv_fields_are_reported(tmp_path: Path, line: str, problem: str) -> None:
    path = write_csv(tmp_path / "bad.csv", f"timestamp,object_id,size_bytes\n{line}\n")
    with pytest.raises(TraceError, match=problem) as caught:
        list(read_csv(path))
    assert caught.value.where.endswith("bad.csv:line 2")


def test_a_csv_without_the_header_says_what_header_is_expected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nohead.csv", "0,1,5\n")
    with pytest.raises(TraceError, match="timestamp,object_id,size_bytes") as caught:
        list(read_csv(path))
    assert caught.value.where.endswith("nohead.csv:line 1")


def test_binary_records_are_read_with_never_as_none(tmp_path: Path) -> None:
    path = write_binary(tmp_path / "t.oracleGeneral.bin", RECORDS)
    assert list(read_oracle_general(path)) == RECORDS


def test_binary_int64_max_also_means_never(tmp_path: Path) -> None:
    path = write_binary(tmp_path / "t.bin", RECORDS, never=INT64_MAX)
    assert [r.next_access for r in read_oracle_general(path)] == [2, None, None]


def test_binary_reads_from_an_open_stream() -> None:
    data = ORACLE_GENERAL.pack(5, 1, 10, -1)
    assert list(read_oracle_general(io.BytesIO(data))) == [TraceRecord(5.0, 1, 10, None)]


def test_a_truncated_binary_record_names_the_record(tmp_path: Path) -> None:
    path = write_binary(tmp_path / "cut.bin", RECORDS)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(TraceError, match="truncated record: 19 of 24 bytes") as caught:
        list(read_oracle_general(path))
    assert caught.value.where == f"{path}:record 3"


def test_a_text_stream_is_refused_by_the_binary_reader() -> None:
    with pytest.raises(TraceError, match="binary stream"):
        list(read_oracle_general(io.StringIO("abc")))


def test_open_trace_picks_the_reader_by_extension(tmp_path: Path) -> None:
    binary = write_binary(tmp_path / "t.oracleGeneral", RECORDS)
    text = write_csv(tmp_path / "t.csv", "timestamp,object_id,size_bytes\n0,7,512\n")
    assert list(open_trace(binary)) == RECORDS
    assert list(open_trace(text)) == [TraceRecord(0.0, 7, 512)]


def test_unknown_extension_and_missing_file_are_trace_errors(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="unknown trace extension"):
        open_trace(tmp_path / "t.parquet")
    with pytest.raises(TraceError, match="cannot open"):
        list(open_trace(tmp_path / "missing.csv"))


def test_csv_and_binary_copies_of_a_trace_agree(tmp_path: Path) -> None:
    binary = write_binary(tmp_path / "t.bin", RECORDS)
    lines = ["timestamp,object_id,size_bytes"] + [
        f"{int(r.time)},{r.obj_id},{r.size}" for r in RECORDS
    ]
    text = write_csv(tmp_path / "t.csv", "\n".join(lines) + "\n")
    assert (
        list(iter_requests(binary)) == list(iter_requests(text)) == [(7, 512), (8, 4096), (7, 512)]
    )


def test_iter_requests_with_future_carries_next_access(tmp_path: Path) -> None:
    binary = write_binary(tmp_path / "t.bin", RECORDS)
    assert list(iter_requests_with_future(binary)) == [(7, 512, 2), (8, 4096, None), (7, 512, None)]


def test_readers_stream_in_chunks_rather_than_loading_the_file() -> None:
    class CountingStream(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            CountingStream.reads += 1
            assert size is not None and 0 < size < 10_000_000, "must read bounded chunks"
            return super().read(size)

    records = 200_000  # more than one chunk
    stream = CountingStream(struct.pack("<IQIq", 1, 2, 3, -1) * records)
    first = next(read_oracle_general(stream))
    assert first == TraceRecord(1.0, 2, 3, None)
    assert CountingStream.reads == 1
    stream.seek(0)
    assert sum(1 for _ in read_oracle_general(stream)) == records
