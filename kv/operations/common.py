"""What every operation shares: answers, changes, the request context and member checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kv.errors import ResourceNotFound, SerializationError, ValidationError
from kv.evaluate import check_overlaps
from kv.expressions import Scope, parse_condition, parse_projection
from kv.legacy import LegacyBuilder, check_not_mixed
from kv.schema import MAX_ITEM_SIZE, TableSchema, check_table_name
from kv.store import Store, TableRecord
from kv.values import check_attribute_name, item_size

__all__ = ["Change", "Context", "Outcome"]

PAGE_LIMIT = 1024 * 1024  # Query and Scan stop after this many bytes of items read
REGION = "us-east-1"
ACCOUNT = "000000000000"

Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """An item that was written or deleted (``key`` None: the whole table went)."""

    table: str
    key: dict[str, Any] | None
    schema: TableSchema


@dataclass(frozen=True, slots=True)
class Outcome:
    """An operation's answer: a JSON document or ready bytes, and what it changed."""

    body: dict[str, Any] | bytes
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    """What operations need besides the request: the store and the clock."""

    store: Store
    now: Callable[[], float]


def dumps_item(item: Item) -> str:
    """An item as compact JSON text (how the store keeps it)."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def typed_member(request: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """A request member checked to be of JSON type ``kind`` (SerializationException if not)."""
    value = request.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise SerializationError(f"{name}: expected a {kind.__name__}, got {type(value).__name__}")
    return value


def table_of(ctx: Context, request: dict[str, Any]) -> TableRecord:
    """The table the request names (ResourceNotFoundException when it does not exist)."""
    name = request.get("TableName")
    record = ctx.store.table(name) if type(name) is str else None
    if record is None:
        check_table_name(name)  # a malformed name is a ValidationException, not a missing table
        raise ResourceNotFound("Requested resource not found")
    return record


def not_mixed(request: dict[str, Any]) -> None:
    """ValidationException when legacy and expression parameters are mixed."""
    check_not_mixed(request)


def projection_paths(request: dict[str, Any], scope: Scope) -> list[tuple[str | int, ...]] | None:
    """The resolved paths of ProjectionExpression or AttributesToGet (None: the whole item)."""
    attributes = request.get("AttributesToGet")
    if attributes is not None:
        if not isinstance(attributes, list) or not attributes:
            raise ValidationError("AttributesToGet must be a non-empty list of attribute names")
        duplicate = next((a for i, a in enumerate(attributes) if a in attributes[:i]), None)
        if duplicate is not None:
            raise ValidationError(
                f"One or more parameter values were invalid: Duplicate value in attribute name: {duplicate}"
            )
        return [(check_attribute_name(name),) for name in attributes]
    text = request.get("ProjectionExpression")
    if text is None:
        return None
    resolved = [scope.path(p) for p in parse_projection(text)]
    check_overlaps(resolved, "ProjectionExpression")  # on the paths alone, item or not
    return resolved


LEGACY_CONDITIONS = {
    "ConditionExpression": ("Expected",),
    "FilterExpression": ("QueryFilter", "ScanFilter"),
    "KeyConditionExpression": ("KeyConditions",),
}


def condition_of(request: dict[str, Any], scope: Scope, member: str = "ConditionExpression") -> Any:
    """The condition tree of ``member`` or of its legacy form (None when neither is given)."""
    text = request.get(member)
    if text is None:
        for legacy in LEGACY_CONDITIONS[member]:
            if legacy in request:
                operator = request.get("ConditionalOperator") if legacy != "KeyConditions" else None
                tree = LegacyBuilder(scope).condition(request[legacy], operator, legacy)
                scope.touch(tree)
                return tree
        return None
    tree = parse_condition(text, member)
    scope.touch(tree)
    return tree


def return_values(request: dict[str, Any], allowed: tuple[str, ...]) -> str:
    """ReturnValues, checked against what the operation allows."""
    value = request.get("ReturnValues", "NONE") or "NONE"
    if value not in allowed:
        raise ValidationError("Return values set to invalid value")
    return str(value)


def old_on_failure(request: dict[str, Any]) -> bool:
    """Whether a failed condition returns the item (ReturnValuesOnConditionCheckFailure)."""
    value = request.get("ReturnValuesOnConditionCheckFailure", "NONE")
    if value not in ("NONE", "ALL_OLD"):
        raise ValidationError("ReturnValuesOnConditionCheckFailure set to invalid value")
    return value == "ALL_OLD"


def check_size(item: Item) -> int:
    """The item's size; ValidationException above 400 KB."""
    size = item_size(item)
    if size > MAX_ITEM_SIZE:
        raise ValidationError("Item size has exceeded the maximum allowed size")
    return size


def load_item(text: str | None) -> Item | None:
    """Stored JSON text as an item (None stays None)."""
    return json.loads(text) if text is not None else None


def index_rows(record: TableRecord, item: Item | None) -> set[tuple[str, bytes, bytes]]:
    """The (index, index hash, index range) rows of an item in its table's indexes."""
    rows = set()
    if item is not None:
        for index in record.indexes:
            entry = index.entry(item)
            if entry is not None:
                rows.add((index.name, *entry))
    return rows


def store_item(
    store: Store, record: TableRecord, pk: bytes, sk: bytes, old: Item | None, new: Item | None
) -> None:
    """Write ``new`` (None: delete) over ``old``, keeping the table's indexes in step."""
    if record.indexes:
        before, after = index_rows(record, old), index_rows(record, new)
        store.delete_index_rows(record, pk, sk, before - after)
        store.add_index_rows(record, pk, sk, after - before)
    if new is None:
        store.delete(record, pk, sk)
    else:
        store.put(record, pk, sk, check_size(new), dumps_item(new))
