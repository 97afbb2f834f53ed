"""Structured Field Values (RFC 8941): the Dictionary parser and the serialisers cdnlab needs.

Rules: pure functions, no I/O. Parsing is strict, as RFC 8941 §4.2 requires: any error makes
the whole field invalid (``parse_dictionary`` returns None), so callers can ignore the field
(RFC 9213 §2.1). Inner lists are parsed and kept as tuples; parameters are parsed and dropped
(RFC 9213 §2.1 says to ignore them unless specified).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

__all__ = [
    "Token",
    "parse_dictionary",
    "parse_dictionary_members",
    "parse_list",
    "serialize_key",
    "serialize_string",
    "serialize_token_or_string",
]

_Member = TypeVar("_Member")

_KEY_START = "abcdefghijklmnopqrstuvwxyz*"
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.*")
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~:/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)
_TOKEN_RE = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~:/A-Za-z0-9]*\Z")
_KEY_RE = re.compile(r"[a-z*][a-z0-9_\-.*]*\Z")


class Token(str):
    """An sf-token (distinct from an sf-string after parsing)."""

    __slots__ = ()


class _Invalid(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.pos += 1

    def key(self) -> str:
        if not self.peek() or self.peek() not in _KEY_START:
            raise _Invalid
        start = self.pos
        while self.peek() and self.peek() in _KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def bare_item(self) -> object:
        char = self.peek()
        if char == "-" or char.isdigit():
            return self.number()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        if char and (char.isalpha() or char == "*"):
            return self.token()
        raise _Invalid

    def number(self) -> int | float:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        digits_start = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        if self.pos == digits_start:
            raise _Invalid
        if self.peek() == ".":
            int_digits = self.pos - digits_start
            if int_digits > 12:
                raise _Invalid
            self.pos += 1
            frac_start = self.pos
            while self.peek().isdigit() and self.peek().isascii():
                self.pos += 1
            frac = self.pos - frac_start
            if frac == 0 or frac > 3:
                raise _Invalid
            return float(self.text[start : self.pos])
        if self.pos - digits_start > 15:
            raise _Invalid
        return int(self.text[start : self.pos])

    def string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise _Invalid
            self.pos += 1
            if char == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\") or not nxt:
                    raise _Invalid
                out.append(nxt)
                self.pos += 1
            elif char == '"':
                return "".join(out)
            elif not (" " <= char <= "~"):
                raise _Invalid
            else:
                out.append(char)

    def token(self) -> Token:
        start = self.pos
        self.pos += 1
        while self.peek() and self.peek() in _TOKEN_CHARS:
            self.pos += 1
        return Token(self.text[start : self.pos])

    def byte_sequence(self) -> bytes:
        import base64
        import binascii

        end = self.text.find(":", self.pos + 1)
        if end < 0:
            raise _Invalid
        body = self.text[self.pos + 1 : end]
        self.pos = end + 1
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Invalid from exc

    def boolean(self) -> bool:
        self.pos += 1
        char = self.peek()
        if char not in ("0", "1") or not char:
            raise _Invalid
        self.pos += 1
        return char == "1"

    def parameters(self) -> dict[str, object]:
        params: dict[str, object] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            name = self.key()
            value: object = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[name] = value  # §4.2.3.2: a later duplicate overwrites
        return params

    def list_members(self) -> list[tuple[object, dict[str, object]]]:
        return self._members(self._list_member)

    def _list_member(self) -> tuple[object, dict[str, object]]:
        if self.peek() == "(":
            return self.item_or_inner_list(), {}
        item = self.bare_item()
        return item, self.parameters()

    def item_or_inner_list(self) -> object:
        if self.peek() == "(":
            self.pos += 1
            members: list[object] = []
            while True:
                self.skip_sp()
                if self.peek() == ")":
                    self.pos += 1
                    self.parameters()
                    return tuple(members)
                if not self.peek():
                    raise _Invalid
                members.append(self.bare_item())
                self.parameters()
                if self.peek() not in (" ", ")") or not self.peek():
                    raise _Invalid
        value = self.bare_item()
        self.parameters()
        return value

    def dictionary(self) -> list[tuple[str, object]]:
        return self._members(self._dictionary_member)

    def _dictionary_member(self) -> tuple[str, object]:
        name = self.key()
        if self.peek() == "=":
            self.pos += 1
            return name, self.item_or_inner_list()
        self.parameters()
        return name, True

    def _members(self, member: Callable[[], _Member]) -> list[_Member]:
        """Comma-separated members (§4.2.1 lists, §4.2.2 dictionaries): no trailing comma."""
        result: list[_Member] = []
        self.skip_sp()
        while self.pos < len(self.text):
            result.append(member())
            self.skip_ows()
            if self.pos >= len(self.text):
                return result
            if self.peek() != ",":
                raise _Invalid
            self.pos += 1
            self.skip_ows()
            if self.pos >= len(self.text):
                raise _Invalid
        return result


def parse_dictionary_members(value: str) -> list[tuple[str, object]] | None:
    """Parse an sf-dictionary into its members *in order, duplicates kept*; None if invalid.

    Member values are ``True``/``False``, ``int``, ``float``, ``str`` (sf-string), ``Token``,
    ``bytes`` or a ``tuple`` (inner list). Parameters are dropped. Keeping duplicates lets
    targeted cache control resolve them like Cache-Control does.
    """
    parser = _Parser(value.strip(" \t"))
    try:
        return parser.dictionary()
    except _Invalid:
        return None


def parse_list(value: str) -> list[tuple[object, dict[str, object]]] | None:
    """Parse an sf-list (RFC 8941 §4.2.1) into (item, parameters) pairs in order; None if invalid.

    Items are bare items as in ``parse_dictionary_members``; an inner list is a ``tuple`` (its
    own parameters dropped). Cache-Status (RFC 9211) is such a list.
    """
    parser = _Parser(value.strip(" \t"))
    try:
        return parser.list_members()
    except _Invalid:
        return None


def parse_dictionary(value: str) -> dict[str, object] | None:
    """Parse an sf-dictionary (RFC 8941 §4.2.2: a later duplicate key overwrites); None if invalid."""
    members = parse_dictionary_members(value)
    return None if members is None else dict(members)


def serialize_string(value: str) -> str:
    """An sf-string: quoted, with ``"`` and ``\\`` escaped; other non-printables replaced by '?'."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in value)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_token_or_string(value: str) -> str:
    """``value`` as a bare sf-token when it is one, otherwise as an sf-string."""
    return value if _TOKEN_RE.match(value) else serialize_string(value)


def serialize_key(value: str) -> str:
    """Validate and return an sf-key (lower-case name); raises ValueError naming the bad key."""
    if not _KEY_RE.match(value):
        raise ValueError(f"not a structured-field key: {value!r} (expected [a-z*][a-z0-9_-.*]*)")
    return value
