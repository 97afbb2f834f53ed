"""Reading TOML config files: key paths in every error, unknown keys refused.

Rules: reads only the file it is handed; every problem is a ConfigError naming the file and the
key path (``edge[2].cache_size``) and what was expected. Shared by topology and plan files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from cdn.errors import ConfigError
from cdn.units import DURATION_EXPECTED, SIZE_EXPECTED, parse_duration, parse_size

T = TypeVar("T")


def read_toml(path: str | Path, expected: str) -> dict[str, Any]:
    """The parsed TOML file at ``path``; ``expected`` describes it for a missing-file message."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file", expected) from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None


class TableReader:
    """One TOML table: typed getters that remember the key path and which keys were read.

    Call ``done()`` after reading to refuse keys nobody asked for (typos).
    """

    def __init__(self, source: str, path: str, table: Any) -> None:
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{source}:{path or '(top)'}", f"is {type(table).__name__}", "a table"
            )
        self.source = source
        self.path = path
        self.table = dict(table)
        self.used: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}:{self.path + '.' if self.path else ''}{key}"

    def fail(self, key: str, problem: str, expected: str | None = None) -> ConfigError:
        return ConfigError(self.where(key), problem, expected)

    def has(self, key: str) -> bool:
        return key in self.table

    def raw(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.table.get(key, default)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, expected: str) -> Any:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(key, f"{value!r} is a boolean", expected)
        if not isinstance(value, kind):
            raise self.fail(key, f"{value!r} has the wrong type", expected)
        return value

    def value(self, key: str) -> Any:
        """The key's raw value, or None when absent."""
        return self.raw(key)

    def number(
        self,
        key: str,
        default: float | None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> Any:
        expected = "a number"
        if minimum is not None and maximum is not None:
            expected = f"a number from {minimum} to {maximum}"
        elif minimum is not None:
            expected = f"a number >= {minimum}"
        if key not in self.table:
            self.used.add(key)
            return default
        value = float(self.get(key, (int, float), default, expected))
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.fail(key, f"{value!r} is out of range", expected)
        return value

    def integer(self, key: str, default: int | None, *, minimum: int | None = None) -> Any:
        expected = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
        value = self.get(key, int, default, expected)
        if value is not None and minimum is not None and value < minimum:
            raise self.fail(key, f"{value!r} is out of range", expected)
        return value

    def text(self, key: str, default: str | None, choices: tuple[str, ...] | None = None) -> Any:
        expected = f"one of {', '.join(choices)}" if choices else "a string"
        value = self.get(key, str, default, expected)
        if choices and value is not None and value not in choices:
            raise self.fail(key, f"{value!r} is not known", expected)
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        """A string that must be one of ``choices``."""
        return self.text(key, default, choices)

    def listed(self, key: str) -> list[Any] | None:
        """The key's value as a list (a scalar becomes a one-element list); None when absent."""
        self.used.add(key)
        if key not in self.table:
            return None
        value = self.table[key]
        values = value if isinstance(value, list) else [value]
        if not values:
            raise self.fail(key, "is empty", "at least one value")
        return values

    def boolean(self, key: str, default: bool) -> bool:
        return self.get(key, bool, default, "true or false")

    def converted(self, key: str, default: T, convert: Callable[[Any], T], expected: str) -> T:
        self.used.add(key)
        if key not in self.table:
            return default
        try:
            return convert(self.table[key])
        except (ValueError, TypeError) as exc:
            raise self.fail(key, str(exc).split(";")[0], expected) from None

    def size(self, key: str, default: int) -> int:
        return self.converted(key, default, parse_size, SIZE_EXPECTED)

    def duration(self, key: str, default: float) -> float:
        return self.converted(key, default, parse_duration, DURATION_EXPECTED)

    def child(self, key: str) -> TableReader:
        self.used.add(key)
        return TableReader(
            self.source, f"{self.path + '.' if self.path else ''}{key}", self.table.get(key, {})
        )

    def children(self, key: str) -> list[TableReader]:
        self.used.add(key)
        items = self.table.get(key, [])
        if not isinstance(items, list):
            raise self.fail(key, f"is {type(items).__name__}", f"an array of tables ([[{key}]])")
        prefix = f"{self.path + '.' if self.path else ''}{key}"
        return [TableReader(self.source, f"{prefix}[{i}]", item) for i, item in enumerate(items)]

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise self.fail(unknown[0], "unknown key", f"one of {known}")
