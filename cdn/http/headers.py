"""Header fields: an immutable, case-insensitive, multi-valued collection (RFC 9110 §5).

Rules: pure values, no I/O. Field names compare case-insensitively and keep their original
spelling for output; field lines keep their order. Construction builds one dict so that
``get`` on the edge's hit path is a dict lookup. Hop-by-hop fields (RFC 9110 §7.6.1) are
listed here with the helper that removes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = [
    "HOP_BY_HOP",
    "Headers",
    "split_list",
    "without_hop_by_hop",
]

# RFC 9110 §7.6.1: fields that only make sense for one connection, plus the proxy
# authentication fields RFC 9111 §3.1 says a cache must not store.
HOP_BY_HOP: frozenset[str] = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "transfer-encoding",
        "upgrade",
        "trailer",
        "proxy-authenticate",
        "proxy-authentication-info",
        "proxy-authorization",
    }
)

# Fields whose lines must never be joined with ", " (RFC 9110 §5.3: Set-Cookie).
_NOT_JOINABLE: frozenset[str] = frozenset({"set-cookie"})


def split_list(value: str) -> list[str]:
    """Split a comma-separated field value into its members, ignoring commas inside quotes.

    Members are stripped of surrounding whitespace; empty members (``a,,b``) are dropped
    (RFC 9110 §5.6.1 asks recipients to accept them).
    """
    if '"' not in value:
        return [part for part in (p.strip() for p in value.split(",")) if part]
    members: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == "," and not quoted:
            member = "".join(current).strip()
            if member:
                members.append(member)
            current = []
        else:
            current.append(char)
    member = "".join(current).strip()
    if member:
        members.append(member)
    return members


class Headers:
    """Immutable header fields: case-insensitive names, several lines per name, order kept.

    ``Headers([("Content-Type", "text/html"), ("Vary", "Accept")])`` or
    ``Headers({"Content-Type": "text/html"})``. Changing methods return a new ``Headers``.
    """

    __slots__ = ("_index", "_pairs")

    _pairs: tuple[tuple[str, str], ...]
    _index: dict[str, tuple[str, ...]]

    def __init__(
        self, fields: Iterable[tuple[str, str]] | Mapping[str, str] | Headers = ()
    ) -> None:
        if isinstance(fields, Headers):
            self._pairs = fields._pairs
            self._index = fields._index
            return
        pairs = tuple(fields.items()) if isinstance(fields, Mapping) else tuple(fields)
        index: dict[str, tuple[str, ...]] = {}
        for name, value in pairs:
            lower = name.lower()
            found = index.get(lower)
            index[lower] = (value,) if found is None else (*found, value)
        self._pairs = pairs
        self._index = index

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Build from ``(name, value)`` field lines, e.g. aiohttp's ``headers.items()``."""
        return cls(pairs)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field value: several lines joined with ", " (Set-Cookie: the first line)."""
        values = self._index.get(name.lower())
        if values is None:
            return default
        if len(values) == 1:
            return values[0]
        if name.lower() in _NOT_JOINABLE:
            return values[0]
        return ", ".join(values)

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every field line's value for ``name``, in order (empty tuple when absent)."""
        return self._index.get(name.lower(), ())

    def list_values(self, name: str) -> list[str]:
        """The members of a list-valued field across all its lines (commas in quotes kept)."""
        members: list[str] = []
        for value in self._index.get(name.lower(), ()):
            members.extend(split_list(value))
        return members

    def items(self) -> tuple[tuple[str, str], ...]:
        """All field lines as ``(name, value)`` in their original order and spelling."""
        return self._pairs

    def names(self) -> frozenset[str]:
        """The lower-cased field names present."""
        return frozenset(self._index)

    def with_values(self, fields: Mapping[str, str | Sequence[str]]) -> Headers:
        """A copy where each named field is replaced by the given value(s) (appended at the end)."""
        replaced = {name.lower() for name in fields}
        pairs = [pair for pair in self._pairs if pair[0].lower() not in replaced]
        for name, value in fields.items():
            if isinstance(value, str):
                pairs.append((name, value))
            else:
                pairs.extend((name, v) for v in value)
        return Headers(pairs)

    def without(self, names: Iterable[str]) -> Headers:
        """A copy without the named fields (case-insensitive)."""
        drop = {name.lower() for name in names}
        if not drop & self._index.keys():
            return self
        return Headers([pair for pair in self._pairs if pair[0].lower() not in drop])

    def appended(self, name: str, value: str) -> Headers:
        """A copy with one more field line (cheap: no re-parsing of the existing lines)."""
        clone = Headers.__new__(Headers)
        clone._pairs = (*self._pairs, (name, value))
        index = self._index.copy()
        lower = name.lower()
        found = index.get(lower)
        index[lower] = (value,) if found is None else (*found, value)
        clone._index = index
        return clone

    def __contains__(self, name: object) -> bool:
        try:
            return name.lower() in self._index  # type: ignore[attr-defined]
        except AttributeError:
            return False

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._canonical() == other._canonical()

    def __hash__(self) -> int:
        return hash(self._canonical())

    def _canonical(self) -> tuple[tuple[str, str], ...]:
        return tuple((name.lower(), value) for name, value in self._pairs)

    def __repr__(self) -> str:
        return f"Headers({list(self._pairs)!r})"


def without_hop_by_hop(headers: Headers) -> Headers:
    """Remove hop-by-hop fields and every field named in Connection (RFC 9110 §7.6.1)."""
    names = set(HOP_BY_HOP)
    names.update(member.lower() for member in headers.list_values("connection"))
    return headers.without(names)
