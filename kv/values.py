"""DynamoDB attribute values: validation, numbers, sizes, equality, ordering and sortable keys.

Rules: a value travels in its wire form (``{"S": "x"}``, ``{"N": "1.5"}``, ``{"B": "<base64>"}``,
...) everywhere in kv/. ``normalize_value`` checks one from a request and returns its canonical
form (numbers as DynamoDB stores them: at most 38 significant digits, magnitude 1e-130 to
1e126, no trailing zeros; binary re-encoded). Ordering is DynamoDB's: N numerically, S and B
by bytes (UTF-8 order is code-point order, so ``str`` comparison is byte comparison).
``key_bytes`` turns a key value into bytes whose ``memcmp`` order (SQLite's BLOB order) is that
same ordering, so the store sorts and ranges keys in SQL.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded, Underflow
from typing import Any

from kv.errors import SerializationError, ValidationError

__all__ = [
    "KEY_TYPES",
    "NUMBER_CONTEXT",
    "TYPES",
    "attribute_size",
    "compare_values",
    "format_number",
    "item_size",
    "key_bytes",
    "normalize_item",
    "normalize_value",
    "parse_number",
    "values_equal",
]

Value = dict[str, Any]
Item = dict[str, Value]

TYPES = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")
KEY_TYPES = ("S", "N", "B")
MAX_DIGITS = 38
MAX_ADJUSTED_EXPONENT = 125  # largest magnitude 9.99..E+125
MIN_ADJUSTED_EXPONENT = -130  # smallest magnitude 1E-130

# Arithmetic of ADD and SET a = a + :n: 38 digits; rounding or overflow is refused.
NUMBER_CONTEXT = Context(
    prec=MAX_DIGITS,
    Emax=MAX_ADJUSTED_EXPONENT,
    Emin=MIN_ADJUSTED_EXPONENT,
    traps=[InvalidOperation, Inexact, Rounded, Overflow, Underflow],
)

_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}


_CANONICAL_INTEGER = re.compile(r"-?[1-9][0-9]{0,37}|0")


def canonical_number(text: Any) -> str:
    """The canonical text of a number from a request (integers already canonical pass as is)."""
    if type(text) is str and _CANONICAL_INTEGER.fullmatch(text):
        return text
    return format_number(parse_number(text))


def parse_number(text: Any) -> Decimal:
    """``text`` as a DynamoDB number (ValidationException in DynamoDB's words when it is not one)."""
    if not isinstance(text, str) or not _NUMBER_TEXT.fullmatch(text.strip()):
        raise ValidationError(f"The parameter cannot be converted to a numeric value: {text}")
    sign, digits, exponent = Decimal(text.strip()).as_tuple()
    assert isinstance(exponent, int)
    significant = "".join(map(str, digits)).lstrip("0")
    if not significant:
        return Decimal(0)
    stripped = significant.rstrip("0")
    exponent += len(significant) - len(stripped)
    if len(stripped) > MAX_DIGITS:
        raise ValidationError("Attempting to store more than 38 significant digits in a Number")
    adjusted = exponent + len(stripped) - 1
    if adjusted > MAX_ADJUSTED_EXPONENT:
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if adjusted < MIN_ADJUSTED_EXPONENT:
        raise ValidationError(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    return Decimal((sign, tuple(int(d) for d in stripped), exponent))


def format_number(number: Decimal) -> str:
    """The canonical text of a number: plain notation, no trailing zeros (``"0"`` for zero)."""
    if not number:
        return "0"
    return f"{number.normalize(Context(prec=MAX_DIGITS)):f}"


def _base64(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise SerializationError(f"{where}: expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SerializationError(f"{where}: invalid base64 value {text[:40]!r}") from None


MAX_NESTING = 31  # containers in one attribute value: with the item itself, DynamoDB's 32 levels


def normalize_value(value: Any, where: str = "value", depth: int = 1) -> Value:
    """The canonical form of one attribute value from a request (errors name ``where``)."""
    if not isinstance(value, dict):
        raise SerializationError(f"{where}: expected an attribute value object like {{'S': 'x'}}")
    if len(value) != 1:
        if not value:
            raise ValidationError(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
            )
        raise ValidationError(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
        )
    ((kind, inner),) = value.items()
    if kind == "S":
        if not isinstance(inner, str):
            raise SerializationError(f"{where}: S must be a string")
        return value
    if kind == "N":
        return {"N": canonical_number(inner)}
    if kind == "B":
        return {"B": base64.b64encode(_base64(inner, where)).decode()}
    if kind == "BOOL":
        if not isinstance(inner, bool):
            raise SerializationError(f"{where}: BOOL must be true or false")
        return value
    if kind == "NULL":
        if inner is not True:
            raise ValidationError(
                "One or more parameter values were invalid: Null attribute value types must have the value of true"
            )
        return value
    if kind in ("M", "L") and depth > MAX_NESTING:
        raise ValidationError(
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
        )
    if kind == "M":
        if not isinstance(inner, dict):
            raise SerializationError(f"{where}: M must be an object")
        return {"M": {k: normalize_value(v, f"{where}.{k}", depth + 1) for k, v in inner.items()}}
    if kind == "L":
        if not isinstance(inner, list):
            raise SerializationError(f"{where}: L must be a list")
        return {"L": [normalize_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(inner)]}
    if kind in _SET_NAMES:
        return {kind: _normalize_set(kind, inner, where)}
    raise ValidationError(
        f"Supplied AttributeValue has an unknown datatype {kind!r}, must contain exactly one of the supported datatypes"
    )


def _normalize_set(kind: str, members: Any, where: str) -> list[str]:
    if not isinstance(members, list):
        raise SerializationError(f"{where}: {kind} must be a list")
    if not members:
        raise ValidationError(
            f"One or more parameter values were invalid: An {_SET_NAMES[kind]} set  may not be empty"
        )
    if kind == "SS":
        if not all(isinstance(m, str) for m in members):
            raise SerializationError(f"{where}: SS members must be strings")
        canonical = list(members)
    elif kind == "NS":
        canonical = [canonical_number(m) for m in members]
    else:
        canonical = [base64.b64encode(_base64(m, where)).decode() for m in members]
    if len(set(canonical)) != len(canonical):
        raise ValidationError(f"Input collection {members} contains duplicates.")
    return canonical


MAX_NAME_BYTES = 65535  # DynamoDB: an attribute name is shorter than 64 KB


def check_attribute_name(name: str) -> str:
    """``name`` if DynamoDB takes it as an attribute name (under 64 KB of UTF-8)."""
    if len(name) > MAX_NAME_BYTES // 4 and len(name.encode()) > MAX_NAME_BYTES:
        raise ValidationError(
            "One or more parameter values were invalid: Attribute name is too large, "
            f"must be less than {MAX_NAME_BYTES + 1} bytes"
        )
    return name


def normalize_item(item: Any, where: str = "Item") -> Item:
    """The canonical form of an item (a map of attribute names to values)."""
    if not isinstance(item, dict):
        raise SerializationError(f"{where}: expected a map of attribute names to values")
    out = {}
    for name, value in item.items():
        if not name:
            raise ValidationError(
                "One or more parameter values were invalid: An AttributeValue may not contain an empty attribute name"
            )
        check_attribute_name(name)
        out[name] = normalize_value(value, f"{where}.{name}")
    return out


def _number_size(text: str) -> int:
    digits = len(text.replace("-", "").replace(".", "").strip("0")) or 1
    return (digits + 1) // 2 + 1


def attribute_size(value: Value) -> int:
    """Bytes a value counts for toward the 400 KB item limit (DynamoDB's sizing rules)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner) * 3 // 4 - inner.count("=")
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(m.encode()) for m in inner)
    if kind == "NS":
        return sum(_number_size(m) for m in inner)
    if kind == "BS":
        return sum(len(m) * 3 // 4 - m.count("=") for m in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in inner.items())


def item_size(item: Item) -> int:
    """Bytes an item counts for: its names and values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def values_equal(a: Value, b: Value) -> bool:
    """DynamoDB equality: same type and value; sets ignore order (values are canonical)."""
    ((ka, va),) = a.items()
    ((kb, vb),) = b.items()
    if ka != kb:
        return False
    if ka in _SET_NAMES:
        return set(va) == set(vb)
    if ka == "M":
        return va.keys() == vb.keys() and all(values_equal(va[k], vb[k]) for k in va)
    if ka == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb, strict=True))
    return bool(va == vb)


def compare_values(a: Value, b: Value) -> int | None:
    """-1, 0 or 1 for two N, two S or two B values; None when they are not comparable."""
    ((ka, va),) = a.items()
    ((kb, vb),) = b.items()
    if ka != kb or ka not in KEY_TYPES:
        return None
    if ka == "N":
        x, y = Decimal(va), Decimal(vb)
    elif ka == "B":
        x, y = base64.b64decode(va), base64.b64decode(vb)
    else:
        x, y = va, vb
    return (x > y) - (x < y)


def key_bytes(value: Value) -> bytes:
    """Bytes whose memcmp order is DynamoDB's order of key values of one type (S, N or B).

    N: a sign byte (negative 0x01, zero 0x02, positive 0x03), then the adjusted exponent
    and the significant digits; for negatives both are complemented and the digits end in
    ``:`` (above every complemented digit), so -1.25 sorts before -1.2 as 1.2 before 1.25.
    """
    ((kind, inner),) = value.items()
    if kind == "S":
        return inner.encode()
    if kind == "B":
        return base64.b64decode(inner)
    number = Decimal(inner)
    if not number:
        return b"\x02"
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    adjusted = exponent + len(digits) - 1 + 200  # 70..325: two bytes
    text = "".join(map(str, digits)).rstrip("0")
    if not sign:
        return b"\x03" + adjusted.to_bytes(2, "big") + text.encode()
    complemented = "".join(chr(ord("9") - int(d) + ord("0")) for d in text)
    return b"\x01" + (0xFFFF - adjusted).to_bytes(2, "big") + complemented.encode() + b":"
