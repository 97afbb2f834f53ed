"""A small, deterministic YAML writer for the files we generate (compose, Prometheus config).

Why not PyYAML: the runtime has no YAML dependency, and we want byte-stable output with our key
order. Only what we emit is supported: mappings (insertion order), lists, strings, numbers,
booleans and None. Scalar lists are written in flow style (``["cdn", "edge"]``, valid JSON),
mappings and lists of mappings in block style. Strings that could read as another type or
contain YAML syntax are double-quoted with JSON escapes, which YAML accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Any) -> str:
    """One scalar in YAML syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED:
            return value
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a YAML scalar")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _key(key: str) -> str:
    return scalar(key)


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _is_scalar(item):
                lines.append(f"{pad}{_key(key)}: {scalar(item)}")
            elif isinstance(item, Mapping) and not item:
                lines.append(f"{pad}{_key(key)}: {{}}")
            elif isinstance(item, Sequence) and all(_is_scalar(x) for x in item):
                lines.append(f"{pad}{_key(key)}: [{', '.join(scalar_json(x) for x in item)}]")
            else:
                lines.append(f"{pad}{_key(key)}:")
                lines.extend(_lines(item, indent + 2))
        return lines
    if isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            if _is_scalar(item):
                lines.append(f"{pad}- {scalar(item)}")
                continue
            inner = _lines(item, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
        return lines
    raise TypeError(f"cannot write {type(value).__name__} as a YAML block")


def scalar_json(value: Any) -> str:
    """A scalar inside a flow list: always JSON, so strings are always quoted."""
    return json.dumps(value)


def dump(document: Mapping[str, Any], header: str = "") -> str:
    """``document`` as YAML text, after ``header`` comment lines (each prefixed with ``# ``)."""
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    out.extend(_lines(document, 0))
    return "\n".join(out) + "\n"
