"""Cache-Control (RFC 9111 §5.2, RFC 5861) and targeted cache control (RFC 9213) parsing.

Rules: pure functions, no I/O; parsing never raises, whatever the text. Bad input is read
conservatively, i.e. the way that caches less or revalidates sooner:

- names are case-insensitive, spaces around members and around ``=`` are ignored, unknown
  directives are ignored, quoted arguments (``max-age="60"``) are accepted (§5.2);
- delta-seconds (§1.2.2) must be ASCII digits; larger values are capped at 2**31;
- an invalid or negative ``max-age``/``s-maxage`` reads as 0: the response is stale (§4.2.1);
- the same directive twice with different values: ``max-age``/``s-maxage`` read as 0 (§4.2.1
  allows "consider the response stale"); ``stale-while-revalidate``, ``stale-if-error`` and
  ``max-stale`` take the smallest value (an invalid one counts as 0); ``min-fresh`` takes the
  largest (an invalid one is ignored);
- ``no-cache``/``private`` with field names collect the names (lower-cased, across
  duplicates); any unqualified occurrence wins (True);
- flags (``no-store``, ``public``...) count when present, whatever argument they carry.

Targeted fields (RFC 9213 §2.1) are sf-dictionaries: a field that fails to parse, or is empty,
is ignored as if absent. Their member values follow the same rules as above, duplicates
included (rather than RFC 8941's "last one wins"), except that a time argument must be an
sf-integer: "Implementations SHOULD NOT consume values that violate these inferred
constraints" (RFC 9213 §2.1), so ``max-age="60"`` (an sf-string) or ``max-age=6.0`` is not
read as 60 but, like any invalid value, as 0 (stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cdn.http.headers import Headers, split_list
from cdn.http.structured import parse_dictionary_members

__all__ = [
    "DEFAULT_TARGETED_FIELDS",
    "DELTA_SECONDS_CAP",
    "EMPTY",
    "CacheControl",
    "parse_cache_control",
    "parse_delta_seconds",
    "parse_targeted",
    "request_directives",
    "response_directives",
    "targeted_cache_control",
]

DELTA_SECONDS_CAP = 2**31  # RFC 9111 §1.2.2
DEFAULT_TARGETED_FIELDS: tuple[str, ...] = ("cdnlab-cache-control", "cdn-cache-control")


@dataclass(frozen=True, slots=True)
class CacheControl:
    """Cache directives of one message (request or response), already sanitised.

    ``no_cache`` and ``private`` are False (absent), True (unqualified) or a frozenset of
    lower-cased field names (qualified form, §5.2.2.4 / §5.2.2.7). ``max_stale`` is None
    (absent), an int, or ``"any"`` (no argument, §5.2.1.2).
    """

    max_age: int | None = None
    s_maxage: int | None = None
    no_store: bool = False
    no_cache: bool | frozenset[str] = False
    private: bool | frozenset[str] = False
    public: bool = False
    must_revalidate: bool = False
    proxy_revalidate: bool = False
    must_understand: bool = False
    no_transform: bool = False
    immutable: bool = False
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    max_stale: int | Literal["any"] | None = None
    min_fresh: int | None = None
    only_if_cached: bool = False

    @property
    def no_cache_fields(self) -> frozenset[str]:
        """Field names of a qualified ``no-cache`` (empty when absent or unqualified)."""
        return self.no_cache if isinstance(self.no_cache, frozenset) else frozenset()

    @property
    def private_fields(self) -> frozenset[str]:
        """Field names of a qualified ``private`` (empty when absent or unqualified)."""
        return self.private if isinstance(self.private, frozenset) else frozenset()


EMPTY = CacheControl()

_NUMERIC_STALE_IF_CONFLICT = frozenset({"max-age", "s-maxage"})
_NUMERIC_MIN = frozenset({"stale-while-revalidate", "stale-if-error"})
_FLAGS: dict[str, str] = {
    "no-store": "no_store",
    "public": "public",
    "must-revalidate": "must_revalidate",
    "proxy-revalidate": "proxy_revalidate",
    "must-understand": "must_understand",
    "no-transform": "no_transform",
    "immutable": "immutable",
    "only-if-cached": "only_if_cached",
}
_FIELD_LISTS: dict[str, str] = {"no-cache": "no_cache", "private": "private"}
_ATTRIBUTE: dict[str, str] = {
    "max-age": "max_age",
    "s-maxage": "s_maxage",
    "stale-while-revalidate": "stale_while_revalidate",
    "stale-if-error": "stale_if_error",
}


def parse_delta_seconds(value: object) -> int | None:
    """A delta-seconds argument (§1.2.2): digits, optionally quoted; capped at 2**31; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return min(value, DELTA_SECONDS_CAP) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text) > 10:
        return DELTA_SECONDS_CAP
    return min(int(text), DELTA_SECONDS_CAP)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        return "".join(out)
    return value


def _field_names(value: str) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in value.split(",") if name.strip())


class _Builder:
    """Accumulates (directive, raw argument) pairs and resolves duplicates conservatively."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def flag(self, name: str) -> None:
        self.values[_FLAGS[name]] = True

    def field_list(self, name: str, names: frozenset[str] | None) -> None:
        attr = _FIELD_LISTS[name]
        current = self.values.get(attr, False)
        if names is None or not names or current is True:
            self.values[attr] = True
        else:
            self.values[attr] = names | (current if isinstance(current, frozenset) else set())

    def numeric(self, name: str, seconds: int | None) -> None:
        attr = _ATTRIBUTE[name]
        if name in _NUMERIC_STALE_IF_CONFLICT:
            if seconds is None:
                seconds = 0
            previous = self.values.get(attr)
            if previous is not None and previous != seconds:
                seconds = 0
            self.values[attr] = seconds
        else:
            if seconds is None:
                seconds = 0
            previous = self.values.get(attr)
            self.values[attr] = seconds if previous is None else min(previous, seconds)  # type: ignore[call-overload]

    def max_stale(self, seconds: int | Literal["any"]) -> None:
        previous = self.values.get("max_stale")
        if previous is None or previous == "any":
            self.values["max_stale"] = seconds
        elif seconds != "any":
            self.values["max_stale"] = min(previous, seconds)  # type: ignore[call-overload]

    def min_fresh(self, seconds: int | None) -> None:
        if seconds is None:
            return
        previous = self.values.get("min_fresh")
        self.values["min_fresh"] = seconds if previous is None else max(previous, seconds)  # type: ignore[call-overload]

    def build(self) -> CacheControl:
        return CacheControl(**self.values) if self.values else EMPTY  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def parse_cache_control(value: str | None) -> CacheControl:
    """Parse a Cache-Control field value (all lines joined with ","); never raises."""
    if not value:
        return EMPTY
    builder = _Builder()
    for member in split_list(value):
        name, sep, argument = member.partition("=")
        name = name.strip().lower()
        arg: str | None = argument.strip() if sep else None
        if name in _FLAGS:
            builder.flag(name)
        elif name in _ATTRIBUTE:
            builder.numeric(name, parse_delta_seconds(arg) if arg is not None else None)
        elif name in _FIELD_LISTS:
            builder.field_list(name, _field_names(_unquote(arg)) if arg is not None else None)
        elif name == "max-stale":
            if arg is None:
                builder.max_stale("any")
            else:
                builder.max_stale(parse_delta_seconds(arg) or 0)
        elif name == "min-fresh":
            builder.min_fresh(parse_delta_seconds(arg) if arg is not None else None)
    return builder.build()


def _cache_control_of(headers: Headers) -> str | None:
    lines = headers.get_all("cache-control")
    if not lines:
        return None
    return lines[0] if len(lines) == 1 else ", ".join(lines)


def request_directives(headers: Headers) -> CacheControl:
    """Request directives (§5.2.1); ``Pragma: no-cache`` counts only without Cache-Control (§5.4)."""
    value = _cache_control_of(headers)
    if value is not None:
        return parse_cache_control(value)
    pragma = headers.get("pragma")
    if pragma is not None and any(p.lower() == "no-cache" for p in split_list(pragma)):
        return CacheControl(no_cache=True)
    return EMPTY


@lru_cache(maxsize=4096)
def parse_targeted(value: str) -> CacheControl | None:
    """Parse a targeted field (RFC 9213 §2.1); None when empty or not a valid sf-dictionary."""
    members = parse_dictionary_members(value)
    if not members:
        return None
    builder = _Builder()
    for name, argument in members:
        if name in _FLAGS:
            if argument is not False:
                builder.flag(name)
        elif name in _ATTRIBUTE:
            # RFC 9213 §2.1: delta-seconds map to sf-integer; a string or decimal is not consumed.
            is_integer = isinstance(argument, int) and not isinstance(argument, bool)
            builder.numeric(name, parse_delta_seconds(argument) if is_integer else None)
        elif name in _FIELD_LISTS:
            if argument is False:
                continue
            if argument is True:
                builder.field_list(name, None)
            elif isinstance(argument, str):
                builder.field_list(name, _field_names(argument))
            elif isinstance(argument, tuple):
                builder.field_list(
                    name, frozenset(str(item).lower() for item in argument if isinstance(item, str))
                )
            else:
                builder.field_list(name, None)
    return builder.build()


def targeted_cache_control(
    headers: Headers, fields: tuple[str, ...] = DEFAULT_TARGETED_FIELDS
) -> CacheControl | None:
    """Directives of the first present *and valid* targeted field in ``fields`` order, else None.

    When this returns directives, the cache ignores Cache-Control and Expires for its own
    freshness and storability (RFC 9213 §2.1); an empty or unparsable field is skipped.
    """
    for name in fields:
        lines = headers.get_all(name)
        if not lines:
            continue
        parsed = parse_targeted(lines[0] if len(lines) == 1 else ", ".join(lines))
        if parsed is not None:
            return parsed
    return None


def response_directives(
    headers: Headers, fields: tuple[str, ...] = DEFAULT_TARGETED_FIELDS
) -> tuple[CacheControl, bool]:
    """The directives governing this cache: ``(directives, targeted)``.

    ``targeted`` is True when a targeted field supplied them (then Expires is ignored too).
    """
    if fields:
        targeted = targeted_cache_control(headers, fields)
        if targeted is not None:
            return targeted, True
    return parse_cache_control(_cache_control_of(headers)), False
