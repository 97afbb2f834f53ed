"""DynamoDB expressions parsed by a grammar (kv/expressions.lark) into typed trees.

Rules: ``parse_condition``, ``parse_update`` and ``parse_projection`` turn expression text into
frozen trees (cached by text: clients send the same expressions again and again) or raise a
ValidationException that names the expression and the problem, in DynamoDB's words:
``Invalid ConditionExpression: Syntax error; token: "=", near: "a = = :v"``. Names (``#n``)
and values (``:v``) stay references in the tree; a ``Scope`` binds them per request, and
says which were undefined or unused (both are ValidationExceptions in DynamoDB).

Over 400 lines on purpose: the grammar's transformer into typed expression trees, one method
per grammar rule, beside kv/expressions.lark.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken, VisitError

from kv.errors import SerializationError, ValidationError
from kv.values import check_attribute_name, normalize_value

__all__ = [
    "And",
    "Between",
    "Call",
    "Compare",
    "In",
    "Not",
    "Or",
    "Path",
    "Scope",
    "Sum",
    "Update",
    "ValueRef",
    "parse_condition",
    "parse_projection",
    "parse_update",
]

_PARSER = Lark(
    (FilePath(__file__).parent / "expressions.lark").read_text(),
    start=["condition", "update", "projection"],
    parser="lalr",
    maybe_placeholders=False,
)


@dataclass(frozen=True, slots=True)
class Path:
    """A document path: a name (or ``#ref``) then names and list indexes, ``a.b[0].c``."""

    parts: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ValueRef:
    """An expression attribute value, ``:v``."""

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function: attribute_exists, begins_with, size, if_not_exists, list_append, ..."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with op one of = <> < <= > >=."""

    op: str
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Between:
    """``subject BETWEEN low AND high`` (inclusive)."""

    subject: Any
    low: Any
    high: Any


@dataclass(frozen=True, slots=True)
class In:
    """``subject IN (a, b, ...)``."""

    subject: Any
    options: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class And:
    """``left AND right``."""

    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Or:
    """``left OR right``."""

    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT operand``."""

    operand: Any


@dataclass(frozen=True, slots=True)
class Sum:
    """``left + right`` or ``left - right`` in a SET action."""

    op: str
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Update:
    """An update expression's actions, by clause."""

    sets: tuple[tuple[Path, Any], ...] = ()
    removes: tuple[Path, ...] = ()
    adds: tuple[tuple[Path, ValueRef], ...] = ()
    deletes: tuple[tuple[Path, ValueRef], ...] = ()
    legacy: bool = False  # from AttributeUpdates: ADD also appends lists, other error words

    def only_removes(self) -> bool:
        """True when the update only takes attributes away (REMOVE, DELETE)."""
        return not self.sets and not self.adds and bool(self.removes or self.deletes)

    def paths(self) -> tuple[Path, ...]:
        """Every path the update writes, in clause order."""
        return (
            *(p for p, _ in self.sets),
            *self.removes,
            *(p for p, _ in self.adds),
            *(p for p, _ in self.deletes),
        )


Node = Path | ValueRef | Call | Compare | Between | In | And | Or | Not | Sum

MAX_PATH_DEPTH = 32  # DynamoDB: nested attributes up to 32 levels deep

_CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
_OPERAND_FUNCTIONS = {"size": 1}
_UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}


_OPERATOR_RULES = frozenset(
    {"compare", "between", "in_", "and_", "or_", "not_"}
)  # DynamoDB counts these


class _Problem(Exception):
    """A semantic problem found while building the tree (becomes a ValidationException)."""


RESERVED_WORDS = frozenset(
    line.strip().upper()
    for line in (FilePath(__file__).parent / "reserved_words.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


class _Build(Transformer[Token, Any]):
    def path(self, items: list[Any]) -> Path:
        for part in items:
            if (
                isinstance(part, str)
                and not part.startswith("#")
                and part.upper() in RESERVED_WORDS
            ):
                raise _Problem(f"Attribute name is a reserved keyword; reserved keyword: {part}")
        if len(items) > MAX_PATH_DEPTH:
            raise _Problem(
                f"The document path has too many nesting levels; nesting levels: {len(items)}"
            )
        return Path(tuple(items))

    def index(self, items: list[Token]) -> int:
        return int(items[0])

    def NAME(self, token: Token) -> str:
        return str(token)

    def NAME_REF(self, token: Token) -> str:
        return str(token)

    def VALUE(self, token: Token) -> ValueRef:
        return ValueRef(str(token))

    def call(self, items: list[Any]) -> Call:
        return Call(str(items[0]), tuple(items[1:]))

    def compare(self, items: list[Any]) -> Compare:
        return Compare(str(items[1]), items[0], items[2])

    def between(self, items: list[Any]) -> Between:
        return Between(items[0], items[2], items[4])

    def in_(self, items: list[Any]) -> In:
        return In(items[0], tuple(items[2:]))

    def and_(self, items: list[Any]) -> And:
        return And(items[0], items[2])

    def or_(self, items: list[Any]) -> Or:
        return Or(items[0], items[2])

    def not_(self, items: list[Any]) -> Not:
        return Not(items[1])

    def set_value_sum(self, items: list[Any]) -> Sum:
        return Sum(str(items[1]), items[0], items[2])

    def set_action(self, items: list[Any]) -> tuple[Path, Any]:
        return (items[0], items[2])

    def set_clause(self, items: list[Any]) -> tuple[str, tuple[Any, ...]]:
        return ("SET", tuple(items[1:]))

    def remove_clause(self, items: list[Any]) -> tuple[str, tuple[Any, ...]]:
        return ("REMOVE", tuple(items[1:]))

    def add_clause(self, items: list[Any]) -> tuple[str, tuple[Any, ...]]:
        rest = items[1:]
        return ("ADD", tuple(zip(rest[::2], rest[1::2], strict=True)))

    def delete_clause(self, items: list[Any]) -> tuple[str, tuple[Any, ...]]:
        rest = items[1:]
        return ("DELETE", tuple(zip(rest[::2], rest[1::2], strict=True)))

    def update(self, items: list[tuple[str, tuple[Any, ...]]]) -> Update:
        clauses: dict[str, tuple[Any, ...]] = {}
        for name, actions in items:
            if name in clauses:
                raise _Problem(
                    f'The "{name}" section can only be used once in an update expression;'
                )
            clauses[name] = actions
        return Update(
            sets=clauses.get("SET", ()),
            removes=clauses.get("REMOVE", ()),
            adds=clauses.get("ADD", ()),
            deletes=clauses.get("DELETE", ()),
        )

    def projection(self, items: list[Path]) -> tuple[Path, ...]:
        return tuple(items)


def _near(text: str, error: UnexpectedInput) -> tuple[str, str]:
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        return "<EOF>", text[-20:]
    if isinstance(error, UnexpectedToken):
        token = str(error.token)
        start = error.token.start_pos or 0
    elif isinstance(error, UnexpectedCharacters):
        token = text[error.pos_in_stream]
        start = error.pos_in_stream
    else:  # pragma: no cover - lark raises only the three above
        return "?", text[:20]
    return token, text[max(0, start - 10) : start + len(token) + 10]


MAX_EXPRESSION_BYTES = 4096  # DynamoDB: an expression is 4 KB at most
MAX_OPERATORS = 300  # DynamoDB: comparisons, AND, OR, NOT, BETWEEN, IN in one expression


def _parse(text: Any, start: str, label: str) -> Any:
    if not isinstance(text, str):
        raise ValidationError(f"Invalid {label}: expected a string")
    if not text.strip():
        raise ValidationError(f"Invalid {label}: The expression can not be empty;")
    size = len(text.encode())
    if size > MAX_EXPRESSION_BYTES:  # before parsing: a long expression may nest deeply
        raise ValidationError(
            f"Invalid {label}: Expression size has exceeded the maximum allowed size; "
            f"expression size: {size}"
        )
    _check_parentheses(text, label)
    try:
        tree = _PARSER.parse(text, start=start)
        # counted on the parse tree (iteratively), before building recurses into it
        operators = sum(1 for t in tree.iter_subtrees() if t.data in _OPERATOR_RULES)
        if operators > MAX_OPERATORS:
            raise ValidationError(
                f"Invalid {label}: The expression contains too many operators; "
                f"operator count: {operators}"
            )
        built = _Build().transform(tree)
    except UnexpectedInput as exc:
        token, near = _near(text, exc)
        raise ValidationError(
            f'Invalid {label}: Syntax error; token: "{token}", near: "{near}"'
        ) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, _Problem):
            raise ValidationError(f"Invalid {label}: {exc.orig_exc}") from None
        if isinstance(exc.orig_exc, RecursionError):
            raise ValidationError(f"Invalid {label}: The expression is nested too deeply") from None
        raise
    except RecursionError:
        raise ValidationError(f"Invalid {label}: The expression is nested too deeply") from None
    return built


def _check_parentheses(text: str, label: str) -> None:
    """Refuse ``((x))``: DynamoDB calls doubled parentheses redundant (and they nest deep)."""
    opens: list[int] = []
    pairs: dict[int, int] = {}
    for at, char in enumerate(text):
        if char == "(":
            opens.append(at)
        elif char == ")" and opens:
            pairs[opens.pop()] = at
    for start, end in pairs.items():
        inner = start + 1
        while inner < end and text[inner].isspace():
            inner += 1
        if inner >= end or text[inner] != "(" or inner not in pairs:
            continue
        after = pairs[inner] + 1
        while after < end and text[after].isspace():
            after += 1
        before = start - 1
        while before >= 0 and text[before].isspace():
            before -= 1
        is_call = before >= 0 and (text[before].isalnum() or text[before] == "_")
        if after == end and not is_call:
            raise ValidationError(f"Invalid {label}: The expression has redundant parentheses;")


def _check_operand(node: Any, label: str, functions: Mapping[str, int]) -> None:
    if isinstance(node, Call):
        if node.name not in functions:
            if node.name in {**_CONDITION_FUNCTIONS, **_OPERAND_FUNCTIONS, **_UPDATE_FUNCTIONS}:
                raise ValidationError(
                    f"Invalid {label}: The function is not allowed to be used this way in an expression; function: {node.name}"
                )
            raise ValidationError(f"Invalid {label}: Invalid function name; function: {node.name}")
        _check_arity(node, functions[node.name], label)
        for arg in node.args:
            if node.name == "list_append" and isinstance(arg, Call) and arg.name == "list_append":
                # DynamoDB refuses list_append(list_append(...), ...) (if_not_exists inside is fine)
                raise ValidationError(
                    f"Invalid {label}: The function is not allowed to be used this way in an expression; function: list_append"
                )
            _check_operand(arg, label, functions)
        if node.name in ("size", "if_not_exists") and not isinstance(node.args[0], Path):
            raise ValidationError(
                f"Invalid {label}: Incorrect operand type for operator or function; operator or function: {node.name}, operand type: not a path"
            )
    elif isinstance(node, Sum):
        _check_operand(node.left, label, functions)
        _check_operand(node.right, label, functions)


def _check_arity(call: Call, expected: int, label: str) -> None:
    if len(call.args) != expected:
        raise ValidationError(
            f"Invalid {label}: Incorrect number of operands for operator or function; operator or function: {call.name}, number of operands: {len(call.args)}"
        )


def _check_condition(node: Any, label: str) -> None:
    if isinstance(node, And | Or):
        _check_condition(node.left, label)
        _check_condition(node.right, label)
    elif isinstance(node, Not):
        _check_condition(node.operand, label)
    elif isinstance(node, Compare):
        for side in (node.left, node.right):
            _check_operand(side, label, _OPERAND_FUNCTIONS)
    elif isinstance(node, Between):
        for side in (node.subject, node.low, node.high):
            _check_operand(side, label, _OPERAND_FUNCTIONS)
    elif isinstance(node, In):
        for side in (node.subject, *node.options):
            _check_operand(side, label, _OPERAND_FUNCTIONS)
        if len(node.options) > 100:
            raise ValidationError(
                f"Invalid {label}: The IN operator is provided with too many operands; number of operands: {len(node.options)}"
            )
    elif isinstance(node, Call):
        if node.name not in _CONDITION_FUNCTIONS:
            known = {**_OPERAND_FUNCTIONS, **_UPDATE_FUNCTIONS}
            what = (
                "The function is not allowed to be used this way in an expression"
                if node.name in known
                else "Invalid function name"
            )
            raise ValidationError(f"Invalid {label}: {what}; function: {node.name}")
        _check_arity(node, _CONDITION_FUNCTIONS[node.name], label)
        for arg in node.args:
            _check_operand(arg, label, _OPERAND_FUNCTIONS)
        if node.name in ("attribute_exists", "attribute_not_exists") and not isinstance(
            node.args[0], Path
        ):
            raise ValidationError(
                f"Invalid {label}: Operator or function requires a document path; operator or function: {node.name}"
            )
        if node.name == "attribute_type" and not isinstance(node.args[1], ValueRef):
            # DynamoDB: the type to test for must be an expression attribute value
            raise ValidationError(
                f"Invalid {label}: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: not a value"
            )
        if (
            node.name == "contains"
            and isinstance(node.args[0], Path)
            and node.args[0] == node.args[1]
        ):
            raise ValidationError(
                f"Invalid {label}: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: {node.args[0].parts}"
            )
    else:
        raise ValidationError(
            f"Invalid {label}: The expression has a value where a condition is expected"
        )


@functools.lru_cache(maxsize=1024)
def parse_condition(text: str, label: str = "ConditionExpression") -> Node:
    """A condition (also a FilterExpression or KeyConditionExpression) as a tree."""
    tree = _parse(text, "condition", label)
    try:
        _check_condition(tree, label)
    except RecursionError:
        raise ValidationError(f"Invalid {label}: The expression is nested too deeply") from None
    return tree


@functools.lru_cache(maxsize=1024)
def parse_update(text: str) -> Update:
    """An UpdateExpression as a tree, its paths checked not to overlap."""
    label = "UpdateExpression"
    update = _parse(text, "update", label)
    try:
        for _, value in update.sets:
            _check_operand(value, label, _UPDATE_FUNCTIONS)
    except RecursionError:
        raise ValidationError(f"Invalid {label}: The expression is nested too deeply") from None
    return update


@functools.lru_cache(maxsize=1024)
def parse_projection(text: str, label: str = "ProjectionExpression") -> tuple[Path, ...]:
    """A ProjectionExpression as its paths."""
    return _parse(text, "projection", label)


@dataclass
class Scope:
    """ExpressionAttributeNames and Values of one request: resolves refs, tracks what is used."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)
    used_values: set[str] = field(default_factory=set)
    _resolved: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, request: Mapping[str, Any]) -> Scope:
        """The scope of a request's ExpressionAttributeNames/Values (checked)."""
        names = request.get("ExpressionAttributeNames") or {}
        values = request.get("ExpressionAttributeValues") or {}
        if not isinstance(names, dict) or not isinstance(values, dict):
            raise ValidationError(
                "ExpressionAttributeNames and ExpressionAttributeValues must be maps"
            )
        if "ExpressionAttributeValues" in request and not values:
            raise ValidationError("ExpressionAttributeValues must not be empty")
        if "ExpressionAttributeNames" in request and not names:
            raise ValidationError("ExpressionAttributeNames must not be empty")
        for key in values:
            if not key.startswith(":"):
                raise ValidationError(
                    f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"'
                )
        for key, name in names.items():
            if not key.startswith("#"):
                raise ValidationError(
                    f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"'
                )
            if not isinstance(name, str):  # the wire's type, as DynamoDB: not a validation
                raise SerializationError(
                    f"ExpressionAttributeNames.{key}: expected a string (an attribute name), "
                    f"got {json.dumps(name)}"
                )
            check_attribute_name(name)
        return cls(names=dict(names), values=dict(values))

    def name(self, part: str) -> str:
        """The attribute name ``part`` stands for (itself unless it is a ``#ref``)."""
        if not part.startswith("#"):
            return part
        if part not in self.names:
            raise ValidationError(
                f"An expression attribute name used in the document path is not defined; attribute name: {part}"
            )
        self.used_names.add(part)
        return self.names[part]

    def path(self, path: Path) -> tuple[str | int, ...]:
        """``path`` with its ``#refs`` resolved."""
        return tuple(self.name(p) if isinstance(p, str) else p for p in path.parts)

    def value(self, ref: ValueRef) -> dict[str, Any]:
        """The attribute value ``ref`` stands for (canonical)."""
        if ref.name not in self.values:
            raise ValidationError(
                f"An expression attribute value used in expression is not defined; attribute value: {ref.name}"
            )
        self.used_values.add(ref.name)
        resolved = self._resolved.get(ref.name)
        if resolved is None:
            resolved = normalize_value(
                self.values[ref.name], f"ExpressionAttributeValues.{ref.name}"
            )
            self._resolved[ref.name] = resolved
        return resolved

    def touch(self, node: Any) -> None:
        """Resolve every ref under ``node`` (so undefined ones fail before any evaluation)."""
        if isinstance(node, Path):
            self.path(node)
        elif isinstance(node, ValueRef):
            self.value(node)
        elif isinstance(node, Update):
            for path, value in node.sets:
                self.touch(path)
                self.touch(value)
            for path in node.removes:
                self.touch(path)
            for path, ref in (*node.adds, *node.deletes):
                self.touch(path)
                self.touch(ref)
        elif isinstance(node, tuple):
            for child in node:
                self.touch(child)
        elif isinstance(node, Call):
            self.touch(node.args)
        elif isinstance(node, Compare | Sum):
            self.touch(node.left)
            self.touch(node.right)
        elif isinstance(node, Between):
            self.touch((node.subject, node.low, node.high))
        elif isinstance(node, In):
            self.touch((node.subject, *node.options))
        elif isinstance(node, And | Or):
            self.touch(node.left)
            self.touch(node.right)
        elif isinstance(node, Not):
            self.touch(node.operand)

    def check_all_used(self) -> None:
        """ValidationException for names or values the request gave but no expression used."""
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise ValidationError(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {"
                + ", ".join(unused_values)
                + "}"
            )
        unused_names = sorted(set(self.names) - self.used_names)
        if unused_names:
            raise ValidationError(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {"
                + ", ".join(unused_names)
                + "}"
            )
