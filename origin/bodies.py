"""Synthetic object bodies: deterministic bytes, strong ETag and Last-Modified per (seed, id, size).

Rules: pure functions of their arguments (no clock, no global random). A body is a 4 KiB
pattern block, derived from the seed and the id with blake2b, repeated and cut to the size, so
any byte range is computed without materialising the whole body and the same id and size
always give the same bytes and validators.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b

__all__ = ["BLOCK_SIZE", "SyntheticObject", "synthetic_object"]

BLOCK_SIZE = 4096
# Last-Modified of every object lies in the year after this instant (2024-01-01T00:00:00Z),
# fixed per seed and id so that If-Modified-Since behaves the same on every run.
_EPOCH_BASE = 1_704_067_200
_YEAR = 365 * 86_400


def _digest(text: str, size: int) -> bytes:
    return blake2b(text.encode(), digest_size=size).digest()


@lru_cache(maxsize=1024)
def _block(seed: int, obj_id: int) -> bytes:
    return b"".join(_digest(f"{seed}:{obj_id}:{i}", 64) for i in range(BLOCK_SIZE // 64))


@lru_cache(maxsize=128)
def _tile(seed: int, obj_id: int, length: int) -> bytes:
    """The block repeated to at least ``length + BLOCK_SIZE`` bytes: any window of ``length``."""
    return _block(seed, obj_id) * (length // BLOCK_SIZE + 2)


@dataclass(frozen=True, slots=True)
class SyntheticObject:
    """One representation of a catalog object: its size, validators and a way to read its bytes."""

    seed: int
    obj_id: int
    size: int
    etag: str
    last_modified: int

    def read(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the body (clamped to the size)."""
        stop = min(stop, self.size)
        if start >= stop:
            return b""
        length = stop - start
        offset = start % BLOCK_SIZE
        return _tile(self.seed, self.obj_id, length)[offset : offset + length]

    def chunks(self, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        """Bytes ``[start, stop)`` in pieces of at most ``chunk_size`` (for streaming)."""
        stop = min(stop, self.size)
        tile = _tile(self.seed, self.obj_id, chunk_size)
        view = memoryview(tile)
        position = start
        while position < stop:
            length = min(chunk_size, stop - position)
            offset = position % BLOCK_SIZE
            yield bytes(view[offset : offset + length])
            position += length


def synthetic_object(seed: int, obj_id: int, size: int) -> SyntheticObject:
    """The object ``obj_id`` of ``size`` bytes under ``seed``: same inputs, same bytes and ETag."""
    if obj_id < 0 or size < 0:
        raise ValueError(f"object id {obj_id} and size {size} must be >= 0")
    etag = '"' + _digest(f"{seed}:{obj_id}:{size}", 8).hex() + '"'
    offset = int.from_bytes(_digest(f"{seed}:{obj_id}:last-modified", 8), "big") % _YEAR
    return SyntheticObject(seed, obj_id, size, etag, _EPOCH_BASE + offset)
