"""The SQLite file behind cdn kv: tables and items, keys stored so that SQL orders them right.

Rules: one writer connection, used by one thread only (kv.database runs every writing
operation on it), so each operation is one transaction and a conditional write's read,
check and write happen in it with nothing in between; ``reader()`` connections read the last
commit meanwhile (WAL). WAL mode with ``synchronous=NORMAL``: a commit appends the
transaction to the WAL with write() before it returns, so once a write is acknowledged it is
in the kernel and survives the process being killed (SIGKILL, a crash); only the rarer power
loss or kernel crash can roll back the last commits, and the file stays consistent (FULL would
add an fsync per commit for that, ``--synchronous full``). Items are rows keyed by (table id,
hash bytes, range bytes) from ``kv.values.key_bytes``: SQLite compares BLOBs with memcmp,
which is DynamoDB's order. ``seg`` (the first 4 bytes of the hash key's blake2b) places an
item in a parallel Scan segment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kv.schema import IndexSchema, TableSchema

__all__ = ["SYNCHRONOUS_MODES", "Store", "TableRecord", "segment_of"]

SYNCHRONOUS_MODES = ("normal", "full")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv_tables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE NOT NULL,
    description TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv_items (
    tid INTEGER NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    seg INTEGER NOT NULL,
    size INTEGER NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (tid, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_index (
    tid INTEGER NOT NULL,
    idx TEXT NOT NULL,
    ipk BLOB NOT NULL,
    isk BLOB NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    seg INTEGER NOT NULL,
    PRIMARY KEY (tid, idx, ipk, isk, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_tokens (
    token TEXT PRIMARY KEY,
    digest BLOB NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_tokens_expiry ON kv_tokens (expires);
"""


def segment_of(pk: bytes) -> int:
    """A stable 32-bit number of a hash key (parallel Scan: ``seg % TotalSegments``)."""
    return int.from_bytes(hashlib.blake2b(pk, digest_size=4).digest(), "big")


@dataclass(frozen=True, slots=True)
class TableRecord:
    """A table as stored: its row id, name, key schema and DescribeTable description."""

    id: int
    name: str
    schema: TableSchema
    description: dict[str, Any]
    indexes: tuple[IndexSchema, ...] = ()

    def index(self, name: str) -> IndexSchema | None:
        """The secondary index called ``name``, or None."""
        return next((index for index in self.indexes if index.name == name), None)


@dataclass(frozen=True, slots=True)
class Row:
    """One stored item: its key bytes, size and JSON text."""

    pk: bytes
    sk: bytes
    size: int
    text: str


class Store:
    """Tables and items in one SQLite file (use from one thread)."""

    def __init__(
        self,
        path: str,
        synchronous: str = "normal",
        *,
        checkpoints: bool = True,
        tables: dict[str, TableRecord] | None = None,
    ) -> None:
        """Open ``path`` as the writer (``tables`` None) or as a reader sharing a writer's tables.

        ``checkpoints`` False leaves WAL checkpoints (which fsync) to a ``Checkpointer``.
        """
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, got {synchronous!r}")
        self.path = path
        self.synchronous = synchronous
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=5000")
        if tables is not None:
            self._tables = tables
            return
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        if not checkpoints:
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(_SCHEMA)
        self._tables = {}
        for tid, name, description in self._db.execute(
            "SELECT id, name, description FROM kv_tables"
        ):
            self._remember(tid, name, json.loads(description))

    def reader(self) -> Store:
        """Another connection to the same file for reads only, sharing this store's tables.

        In WAL mode it reads the last committed state while this store writes.
        """
        return Store(self.path, self.synchronous, tables=self._tables)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file if no reader needs it (PASSIVE)."""
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _remember(self, tid: int, name: str, description: dict[str, Any]) -> TableRecord:
        definitions = description["AttributeDefinitions"]
        schema = TableSchema.from_request(description["KeySchema"], definitions)
        indexes = tuple(
            IndexSchema.from_request(spec, definitions, schema, member.startswith("Global"))
            for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for spec in description.get(member, ())
        )
        record = TableRecord(tid, name, schema, description, indexes)
        self._tables[name] = record
        return record

    def disconnect(self) -> None:
        """Close this connection without a checkpoint (readers, the checkpointer's)."""
        self._db.close()

    def close(self) -> None:
        """Checkpoint (all of the WAL) and close this connection."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # transaction tokens (ClientRequestToken)

    def token_digest(self, token: str, now: float) -> bytes | None:
        """The digest of the transaction that used ``token`` and has not expired, or None."""
        row = self._db.execute(
            "SELECT digest FROM kv_tokens WHERE token = ? AND expires > ?", (token, now)
        ).fetchone()
        return bytes(row[0]) if row is not None else None

    def remember_token(self, token: str, digest: bytes, now: float, expires: float) -> None:
        """Record a token's transaction until ``expires``; forget the tokens expired by ``now``."""
        self._db.execute("DELETE FROM kv_tokens WHERE expires <= ?", (now,))
        self._db.execute(
            "INSERT OR REPLACE INTO kv_tokens (token, digest, expires) VALUES (?, ?, ?)",
            (token, digest, expires),
        )

    # tables

    def table(self, name: str) -> TableRecord | None:
        """The table called ``name``, or None."""
        return self._tables.get(name)

    def table_names(self) -> list[str]:
        """Every table name, sorted."""
        return sorted(self._tables)

    def create_table(self, name: str, description: dict[str, Any]) -> TableRecord:
        """Store a new table (the caller checked that the name is free)."""
        cursor = self._db.execute(
            "INSERT INTO kv_tables (name, description) VALUES (?, ?)",
            (name, json.dumps(description)),
        )
        assert cursor.lastrowid is not None
        return self._remember(cursor.lastrowid, name, description)

    def update_description(self, record: TableRecord, description: dict[str, Any]) -> TableRecord:
        """Store a table's changed description (TTL, tags); the record that replaces ``record``."""
        self._db.execute(
            "UPDATE kv_tables SET description = ? WHERE id = ?",
            (json.dumps(description), record.id),
        )
        return self._remember(record.id, record.name, description)

    def delete_table(self, record: TableRecord) -> None:
        """Drop a table and its items."""
        self._db.execute("DELETE FROM kv_items WHERE tid = ?", (record.id,))
        self._db.execute("DELETE FROM kv_index WHERE tid = ?", (record.id,))
        self._db.execute("DELETE FROM kv_tables WHERE id = ?", (record.id,))
        self._tables.pop(record.name, None)

    def table_stats(self, record: TableRecord) -> tuple[int, int]:
        """(item count, total item bytes) of a table."""
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM kv_items WHERE tid = ?", (record.id,)
        ).fetchone()
        return int(count), int(size)

    def index_stats(self, record: TableRecord) -> dict[str, tuple[int, int]]:
        """Index name -> (item count, bytes of the items it holds) of a table's indexes."""
        rows = self._db.execute(
            "SELECT x.idx, COUNT(*), COALESCE(SUM(i.size), 0) FROM kv_index x JOIN kv_items i"
            " ON i.tid = x.tid AND i.pk = x.pk AND i.sk = x.sk WHERE x.tid = ? GROUP BY x.idx",
            (record.id,),
        ).fetchall()
        return {str(name): (int(count), int(size)) for name, count, size in rows}

    # items

    def get_text(self, record: TableRecord, pk: bytes, sk: bytes) -> str | None:
        """The stored JSON text of one item, or None."""
        row = self._db.execute(
            "SELECT item FROM kv_items WHERE tid = ? AND pk = ? AND sk = ?", (record.id, pk, sk)
        ).fetchone()
        return row[0] if row else None

    def put(self, record: TableRecord, pk: bytes, sk: bytes, size: int, text: str) -> None:
        """Insert or replace one item."""
        self._db.execute(
            "INSERT OR REPLACE INTO kv_items (tid, pk, sk, seg, size, item) VALUES (?, ?, ?, ?, ?, ?)",
            (record.id, pk, sk, segment_of(pk), size, text),
        )

    def delete(self, record: TableRecord, pk: bytes, sk: bytes) -> None:
        """Delete one item (nothing when it does not exist)."""
        self._db.execute(
            "DELETE FROM kv_items WHERE tid = ? AND pk = ? AND sk = ?", (record.id, pk, sk)
        )

    def add_index_rows(
        self, record: TableRecord, pk: bytes, sk: bytes, rows: set[tuple[str, bytes, bytes]]
    ) -> None:
        """Enter an item in secondary indexes: (index name, index hash, index range) rows."""
        self._db.executemany(
            "INSERT OR REPLACE INTO kv_index (tid, idx, ipk, isk, pk, sk, seg) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(record.id, idx, ipk, isk, pk, sk, segment_of(ipk)) for idx, ipk, isk in rows],
        )

    def delete_index_rows(
        self, record: TableRecord, pk: bytes, sk: bytes, rows: set[tuple[str, bytes, bytes]]
    ) -> None:
        """Take an item out of secondary indexes."""
        self._db.executemany(
            "DELETE FROM kv_index WHERE tid = ? AND idx = ? AND ipk = ? AND isk = ? AND pk = ? AND sk = ?",
            [(record.id, idx, ipk, isk, pk, sk) for idx, ipk, isk in rows],
        )

    def query_index(
        self,
        record: TableRecord,
        index: str,
        ipk: bytes,
        bounds: list[tuple[str, bytes]],
        forward: bool,
        after: tuple[bytes, bytes, bytes] | None,
    ) -> Iterator[Row]:
        """Items of one index partition in (index range, table key) order, after ``after``."""
        sql = (
            "SELECT i.pk, i.sk, i.size, i.item FROM kv_index x JOIN kv_items i"
            " ON i.tid = x.tid AND i.pk = x.pk AND i.sk = x.sk"
            " WHERE x.tid = ? AND x.idx = ? AND x.ipk = ?"
        )
        args: list[Any] = [record.id, index, ipk]
        for op, value in bounds:
            assert op in ("<", "<=", ">", ">=", "=")
            sql += f" AND x.isk {op} ?"
            args.append(value)
        if after is not None:
            sql += f" AND (x.isk, x.pk, x.sk) {'>' if forward else '<'} (?, ?, ?)"
            args.extend(after)
        order = "" if forward else " DESC"
        sql += f" ORDER BY x.isk{order}, x.pk{order}, x.sk{order}"
        yield from self._rows(sql, args)

    def scan_index(
        self,
        record: TableRecord,
        index: str,
        after: tuple[bytes, bytes, bytes, bytes] | None,
        segment: tuple[int, int] | None,
    ) -> Iterator[Row]:
        """Items of a secondary index in index key order."""
        sql = (
            "SELECT i.pk, i.sk, i.size, i.item FROM kv_index x JOIN kv_items i"
            " ON i.tid = x.tid AND i.pk = x.pk AND i.sk = x.sk WHERE x.tid = ? AND x.idx = ?"
        )
        args: list[Any] = [record.id, index]
        if segment is not None:
            sql += " AND x.seg % ? = ?"
            args.extend((segment[1], segment[0]))
        if after is not None:
            sql += " AND (x.ipk, x.isk, x.pk, x.sk) > (?, ?, ?, ?)"
            args.extend(after)
        sql += " ORDER BY x.ipk, x.isk, x.pk, x.sk"
        yield from self._rows(sql, args)

    def query(
        self,
        record: TableRecord,
        pk: bytes,
        bounds: list[tuple[str, bytes]],
        forward: bool,
    ) -> Iterator[Row]:
        """Items of one partition whose range key meets ``bounds`` ((op, bytes) pairs), in order."""
        sql = "SELECT pk, sk, size, item FROM kv_items WHERE tid = ? AND pk = ?"
        args: list[Any] = [record.id, pk]
        for op, value in bounds:
            assert op in ("<", "<=", ">", ">=", "=")
            sql += f" AND sk {op} ?"
            args.append(value)
        sql += " ORDER BY sk" + ("" if forward else " DESC")
        yield from self._rows(sql, args)

    def scan(
        self,
        record: TableRecord,
        after: tuple[bytes, bytes] | None,
        segment: tuple[int, int] | None,
    ) -> Iterator[Row]:
        """Items of a table in key order, after ``after``, of one (segment, total) if given."""
        sql = "SELECT pk, sk, size, item FROM kv_items WHERE tid = ?"
        args: list[Any] = [record.id]
        if segment is not None:
            sql += " AND seg % ? = ?"
            args.extend((segment[1], segment[0]))
        if after is not None:
            sql += " AND (pk, sk) > (?, ?)"
            args.extend(after)
        sql += " ORDER BY pk, sk"
        yield from self._rows(sql, args)

    def _rows(self, sql: str, args: list[Any]) -> Iterator[Row]:
        # The cursor is closed when the caller stops early, so no read stays open.
        cursor = self._db.execute(sql, args)
        try:
            while batch := cursor.fetchmany(64):
                for row in batch:
                    yield Row(*row)
        finally:
            cursor.close()
