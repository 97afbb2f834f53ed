"""Synthetic object bodies: deterministic bytes, strong ETag and Last-Modified per (seed, id, size).

Rules: pure functions of their arguments (no clock, no global random). The same id and size
(and kind) always give the same bytes and validators, and any byte range is computed without
materialising the whole body:
- an octet body (``application/octet-stream`` and every type the edge does not compress) is a
  4 KiB pattern block, derived from the seed and the id with blake2b, repeated and cut to the
  size: incompressible, as images and video are;
- a text body (a type the edge compresses: text/*, JSON, JavaScript, XML, SVG, ...) is a window
  of the seed's text: 256 KiB of pseudo-words (3,000 words made of syllables, drawn with Zipf
  exponent 0.8 by rank, with spaces, commas, full stops and line breaks), from an offset given
  by the id, repeated past its end. Those parameters were chosen so that the edge's own codings
  (zlib level 6, brotli quality 5) shrink an 8 KiB body, the median of the example topologies,
  to about 0.41 of its bytes, the ratio the simulator assumes by default
  (``cdn.gateway.compression.COMPRESSION_RATIOS``, measured on real text); like real text, larger
  bodies compress a little better (about 0.35 at 64 KiB, 0.33 at 256 KiB). The body is words,
  not valid JSON or JavaScript: it exercises compression, not parsers. Its strong ETag differs
  from the octet body's of the same id and size (different bytes).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b

__all__ = ["BLOCK_SIZE", "TEXT_SIZE", "SyntheticObject", "prepare_text", "synthetic_object"]

BLOCK_SIZE = 4096
TEXT_SIZE = 256 * 1024
# The pseudo-words' parts and the text's shape (the module's rules: why these figures).
# 30 two-letter syllables; a word is 1 to 4 of them.
_SYLLABLE_TEXT = b"karomitelosaneviduparetolimacefogubazehianeninonsttheroralic"
_SYLLABLES = tuple(_SYLLABLE_TEXT[i : i + 2] for i in range(0, 60, 2))
_VOCABULARY = 3000
_ZIPF = 0.8
# After a word, by the low 4 bits of a draw: a full stop (1 in 16), a comma and a line break
# (1 in 16), else a space.
_SEPARATORS = (b". ", b",\n") + (b" ",) * 14
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


@lru_cache(maxsize=4)
def _text(seed: int) -> bytes:
    """The seed's text (``TEXT_SIZE`` bytes) followed by ``TEXT_SIZE`` more of its start, so
    that any window of up to ``TEXT_SIZE`` bytes from any offset is one slice."""
    words = []
    for rank in range(_VOCABULARY):
        draw = _digest(f"{seed}:word:{rank}", 8)
        words.append(b"".join(_SYLLABLES[b % len(_SYLLABLES)] for b in draw[1 : 2 + draw[0] % 4]))
    weights = [1.0 / (rank + 1) ** _ZIPF for rank in range(_VOCABULARY)]
    total = sum(weights)
    cumulative = [w / total for w in itertools.accumulate(weights)]
    parts: list[bytes] = []
    length = 0
    for counter in itertools.count():
        draws = _digest(f"{seed}:text:{counter}", 64)
        for j in range(0, 64, 4):
            u = int.from_bytes(draws[j : j + 4], "big") / 2**32
            word = words[min(bisect.bisect_left(cumulative, u), _VOCABULARY - 1)]
            separator = _SEPARATORS[draws[j + 3] & 15]
            parts += (word, separator)
            length += len(word) + len(separator)
        if length >= TEXT_SIZE:
            break
    text = b"".join(parts)[:TEXT_SIZE]
    return text + text


def prepare_text(seed: int) -> None:
    """Make the seed's text now (about 0.1 s), so that no request waits for it."""
    _text(seed)


@lru_cache(maxsize=128)
def _text_tile(seed: int, length: int) -> bytes:
    """The seed's text repeated to at least ``length + TEXT_SIZE`` bytes: any window of ``length``."""
    return _text(seed)[:TEXT_SIZE] * (length // TEXT_SIZE + 2)


@dataclass(frozen=True, slots=True)
class SyntheticObject:
    """One representation of a catalog object: its size, validators and a way to read its bytes."""

    seed: int
    obj_id: int
    size: int
    etag: str
    last_modified: int
    # Where a text body starts in the seed's text; None: an octet body.
    text_offset: int | None = None

    def _tile(self, length: int) -> tuple[bytes, int, int]:
        """A tile holding any window of ``length`` bytes, its period and the body's start in it."""
        if self.text_offset is None:
            return _tile(self.seed, self.obj_id, length), BLOCK_SIZE, 0
        return _text_tile(self.seed, length), TEXT_SIZE, self.text_offset

    def read(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the body (clamped to the size)."""
        stop = min(stop, self.size)
        if start >= stop:
            return b""
        length = stop - start
        tile, period, base = self._tile(length)
        offset = (base + start) % period
        return tile[offset : offset + length]

    def chunks(self, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        """Bytes ``[start, stop)`` in pieces of at most ``chunk_size`` (for streaming)."""
        stop = min(stop, self.size)
        tile, period, base = self._tile(chunk_size)
        view = memoryview(tile)
        position = start
        while position < stop:
            length = min(chunk_size, stop - position)
            offset = (base + position) % period
            yield bytes(view[offset : offset + length])
            position += length


def synthetic_object(seed: int, obj_id: int, size: int, *, text: bool = False) -> SyntheticObject:
    """The object ``obj_id`` of ``size`` bytes under ``seed``, an octet body or (``text``) a text
    body: same inputs, same bytes and ETag."""
    if obj_id < 0 or size < 0:
        raise ValueError(f"object id {obj_id} and size {size} must be >= 0")
    offset = int.from_bytes(_digest(f"{seed}:{obj_id}:last-modified", 8), "big") % _YEAR
    if not text:
        etag = '"' + _digest(f"{seed}:{obj_id}:{size}", 8).hex() + '"'
        return SyntheticObject(seed, obj_id, size, etag, _EPOCH_BASE + offset)
    etag = '"' + _digest(f"{seed}:{obj_id}:{size}:text", 8).hex() + '"'
    start = int.from_bytes(_digest(f"{seed}:{obj_id}:text-offset", 8), "big") % TEXT_SIZE
    return SyntheticObject(seed, obj_id, size, etag, _EPOCH_BASE + offset, start)
