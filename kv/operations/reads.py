"""Query and Scan of tables and indexes: key conditions, order, paging, filters, 1 MB pages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kv.errors import ValidationError
from kv.evaluate import condition_holds, project
from kv.expressions import And, Between, Call, Compare, Path, Scope, ValueRef
from kv.operations.common import (
    PAGE_LIMIT,
    Context,
    Item,
    Outcome,
    condition_of,
    not_mixed,
    projection_paths,
    table_of,
    typed_member,
)
from kv.schema import IndexSchema, TableSchema
from kv.store import TableRecord
from kv.values import key_bytes, normalize_item


def _key_condition(
    tree: Any, schema: TableSchema, scope: Scope, legacy: bool = False
) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The hash key value and the range bounds of a KeyConditionExpression (``legacy``: it
    came from KeyConditions, whose errors DynamoDB words in ComparisonOperator terms)."""
    label = "KeyConditionExpression"
    parts = [tree.left, tree.right] if isinstance(tree, And) else [tree]
    if isinstance(tree, And) and any(isinstance(p, And) for p in parts):
        raise ValidationError(
            f"Invalid {label}: The expression has too many conditions; a key condition has at most two"
        )
    hash_value = None
    bounds: list[tuple[str, bytes]] = []
    range_seen = False

    def attribute(node: Any) -> str:
        if isinstance(node, Path) and len(node.parts) > 1:
            raise ValidationError(
                f"Invalid {label}: KeyConditionExpressions cannot contain nested attributes"
            )
        if not isinstance(node, Path):
            raise ValidationError(f"Invalid {label}: Query key condition not supported")
        return scope.path(node)[0]  # type: ignore[return-value]

    def value_of(node: Any, name: str, kind: str | None) -> dict[str, Any]:
        if not isinstance(node, ValueRef):
            raise ValidationError(f"Invalid {label}: Query key condition not supported")
        value = scope.value(node)
        if next(iter(value)) != kind:
            raise ValidationError(
                "One or more parameter values were invalid: Condition parameter type does not match schema type"
            )
        return value

    flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
    for part in parts:
        if isinstance(part, Compare):
            op, left, right = part.op, part.left, part.right
            if isinstance(left, ValueRef):
                op, left, right = flip.get(op, op), right, left
            name = attribute(left)
            if op == "<>":
                raise ValidationError(
                    f"Invalid {label}: Invalid operator used in KeyConditionExpression: <>"
                )
            if name == schema.hash_key:
                if op != "=":
                    raise ValidationError("Query key condition not supported")
                if hash_value is not None:
                    raise ValidationError(
                        f"Invalid {label}: KeyConditionExpressions must only contain one condition per key"
                    )
                hash_value = value_of(right, name, schema.hash_type)
                continue
            if name != schema.range_key or range_seen:
                raise ValidationError("Query key condition not supported")
            range_seen = True
            bounds.append((op, key_bytes(value_of(right, name, schema.range_type))))
        elif isinstance(part, Between):
            name = attribute(part.subject)
            if name != schema.range_key or range_seen:
                raise ValidationError("Query key condition not supported")
            range_seen = True
            low = value_of(part.low, name, schema.range_type)
            high = value_of(part.high, name, schema.range_type)
            low_bytes, high_bytes = key_bytes(low), key_bytes(high)
            if low_bytes > high_bytes:
                raise ValidationError(
                    f"Invalid {label}: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {low}, upper bound operand: AttributeValue: {high}"
                )
            bounds.extend([(">=", low_bytes), ("<=", high_bytes)])
        elif isinstance(part, Call) and part.name == "begins_with":
            name = attribute(part.args[0])
            if name != schema.range_key or range_seen:
                raise ValidationError("Query key condition not supported")
            if schema.range_type == "N" and legacy:
                raise ValidationError(
                    "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"
                )
            if schema.range_type == "N":
                raise ValidationError(
                    f"Invalid {label}: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
                )
            range_seen = True
            prefix = key_bytes(value_of(part.args[1], name, schema.range_type))
            bounds.append((">=", prefix))
            successor = _successor(prefix)
            if successor is not None:
                bounds.append(("<", successor))
        else:
            raise ValidationError(
                f"Invalid {label}: Invalid operator used in KeyConditionExpression: "
                + (
                    type(part).__name__.rstrip("_").upper()
                    if not isinstance(part, Call)
                    else part.name
                )
            )
    if hash_value is None:
        raise ValidationError(f"Query condition missed key schema element: {schema.hash_key}")
    return hash_value, bounds


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


@dataclass
class _Page:
    items: list[Item]
    count: int
    scanned: int
    last_key: dict[str, Any] | None


def _select(request: dict[str, Any], projected: bool, on_index: bool = False) -> str:
    select = request.get("Select")
    if select is None:  # DynamoDB's defaults: an index answers what it projects
        if projected:
            return "SPECIFIC_ATTRIBUTES"
        return "ALL_PROJECTED_ATTRIBUTES" if on_index else "ALL_ATTRIBUTES"
    if select not in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT", "SPECIFIC_ATTRIBUTES"):
        raise ValidationError(
            f"1 validation error detected: Value '{select}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        )
    if select == "ALL_PROJECTED_ATTRIBUTES" and not on_index:
        raise ValidationError(
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for Query and Scan operations on indexes"
        )
    if select == "COUNT" and projected:
        raise ValidationError(
            "Cannot specify the ProjectionExpression when choosing to get only the COUNT"
        )
    if select == "SPECIFIC_ATTRIBUTES" and not projected:
        raise ValidationError(
            "One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires ProjectionExpression or AttributesToGet"
        )
    if select == "ALL_ATTRIBUTES" and projected:
        raise ValidationError(
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"
        )
    return str(select)


def _limit(request: dict[str, Any]) -> int | None:
    limit = typed_member(request, "Limit", int)
    if limit is not None and limit < 1:
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    return limit


def _read_page(
    rows: Iterator[Any],
    last_key: Callable[[Item], dict[str, Any]],
    view: Callable[[Item], Item],
    limit: int | None,
    keep: Callable[[Item], bool],
    paths: list[tuple[str | int, ...]] | None,
    count_only: bool,
) -> _Page:
    # As DynamoDB: a page that stops at Limit (or 1 MB) names its last item as
    # LastEvaluatedKey even when nothing follows; the next page is then empty.
    items: list[Item] = []
    count = scanned = read_bytes = 0
    for row in rows:
        item = json.loads(row.text)
        scanned += 1
        read_bytes += row.size
        seen = item
        item = view(item)
        if keep(item):
            count += 1
            if not count_only:
                items.append(project(item, paths) if paths is not None else item)
        if (limit is not None and scanned >= limit) or read_bytes >= PAGE_LIMIT:
            return _Page(items, count, scanned, last_key(seen))
    return _Page(items, count, scanned, None)


def _page_body(page: _Page, count_only: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"Count": page.count, "ScannedCount": page.scanned}
    if not count_only:
        body["Items"] = page.items
    if page.last_key is not None:
        body["LastEvaluatedKey"] = page.last_key
    return body


def _filter(request: dict[str, Any], scope: Scope, schema: TableSchema | None) -> Any:
    tree = condition_of(request, scope, "FilterExpression")
    if tree is not None and schema is not None:
        for name in _top_names(tree, scope):
            if name in schema.key_names:
                raise ValidationError(
                    f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {name}"
                )
    return tree


def _top_names(node: Any, scope: Scope) -> Iterator[str]:
    if isinstance(node, Path):
        first = scope.path(node)[0]
        assert isinstance(first, str)
        yield first
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _top_names(arg, scope)
    elif hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            child = getattr(node, name)
            for part in child if isinstance(child, tuple) else (child,):
                yield from _top_names(part, scope)


def _index_of(record: TableRecord, request: dict[str, Any]) -> IndexSchema | None:
    name = request.get("IndexName")
    if name is None:
        return None
    index = record.index(name)
    if index is None:
        raise ValidationError(f"The table does not have the specified index: {name}")
    if index.is_global and request.get("ConsistentRead"):
        raise ValidationError("Consistent reads are not supported on global secondary indexes")
    return index


def _key_reader(
    record: TableRecord, index: IndexSchema | None, whole_items: bool = False
) -> tuple[Callable[[Item], dict[str, Any]], Callable[[Item], Item]]:
    """(the LastEvaluatedKey of an item, the item as the table or index holds it; with
    ``whole_items`` the base table's item, as DynamoDB fetches it for a local index)."""
    schema = record.schema
    if index is None:
        return schema.key_attributes, lambda item: item
    names = dict.fromkeys([*schema.key_names, *index.keys.key_names])
    if whole_items:
        return lambda item: {name: item[name] for name in names}, lambda item: item
    return (
        lambda item: {name: item[name] for name in names},
        lambda item: index.projected(item, schema),
    )


def _fetches_from_table(index: IndexSchema | None, select: str, projected: bool) -> bool:
    """DynamoDB reads attributes a local index does not project from the base table (for
    Select ALL_ATTRIBUTES or named attributes); a global index never does."""
    return index is not None and not index.is_global and (select == "ALL_ATTRIBUTES" or projected)


def _keep(condition: Any, scope: Scope) -> Callable[[Item], bool]:
    if condition is None:
        return lambda item: True
    return lambda item: condition_holds(condition, item, scope, "FilterExpression")


def query(ctx: Context, request: dict[str, Any]) -> Outcome:
    """Query one partition of a table or index: key condition, order, Limit, paging, filter, COUNT."""
    not_mixed(request)
    record = table_of(ctx, request)
    index = _index_of(record, request)
    schema = index.keys if index is not None else record.schema
    scope = Scope.of(request)
    key_tree = condition_of(request, scope, "KeyConditionExpression")
    if key_tree is None:
        raise ValidationError(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    hash_value, bounds = _key_condition(key_tree, schema, scope, "KeyConditions" in request)
    condition = _filter(request, scope, schema)
    paths = projection_paths(request, scope)
    select = _select(request, paths is not None, index is not None)
    limit = _limit(request)
    forward = typed_member(request, "ScanIndexForward", bool, True)
    start = request.get("ExclusiveStartKey")
    scope.check_all_used()
    last_key, view = _key_reader(
        record, index, _fetches_from_table(index, select, paths is not None)
    )
    hash_bytes = key_bytes(hash_value)
    if index is not None:
        after = None
        if start is not None:
            start_item = normalize_item(start, "ExclusiveStartKey")
            table_pk, table_sk = record.schema.key_of(
                {k: start_item.get(k) for k in record.schema.key_names}
            )
            entry = index.entry(start_item)
            if entry is None or entry[0] != hash_bytes:
                raise ValidationError(
                    "The provided starting key is invalid: The provided key element does not match the schema"
                )
            after = (entry[1], table_pk, table_sk)
        rows = ctx.store.query_index(record, index.name, hash_bytes, bounds, forward, after)
    else:
        if start is not None:
            start_pk, start_sk = schema.key_of(start)
            if start_pk != hash_bytes:
                raise ValidationError(
                    "The provided starting key is invalid: The provided key element does not match the schema"
                )
            if schema.range_key is not None:
                bounds = [*bounds, (">" if forward else "<", start_sk)]
        rows = ctx.store.query(record, hash_bytes, bounds, forward)
        if start is not None and schema.range_key is None:
            rows = iter(())
    page = _read_page(
        rows, last_key, view, limit, _keep(condition, scope), paths, select == "COUNT"
    )
    return Outcome(_page_body(page, select == "COUNT"))


def scan(ctx: Context, request: dict[str, Any]) -> Outcome:
    """Scan a table or index in key order: Limit, paging, filter, COUNT, parallel segments."""
    not_mixed(request)
    record = table_of(ctx, request)
    index = _index_of(record, request)
    scope = Scope.of(request)
    condition = _filter(request, scope, None)
    paths = projection_paths(request, scope)
    select = _select(request, paths is not None, index is not None)
    limit = _limit(request)
    segment, total = request.get("Segment"), request.get("TotalSegments")
    if (segment is None) != (total is None):
        raise ValidationError(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
            if total is None
            else "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"
        )
    if total is not None:
        if not isinstance(total, int) or not 1 <= total <= 1_000_000:
            raise ValidationError(
                f"1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint: Member must have value between 1 and 1000000"
            )
        if not isinstance(segment, int) or not 0 <= segment < total:
            raise ValidationError(
                f"The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
            )
    start = request.get("ExclusiveStartKey")
    scope.check_all_used()
    parts = (segment, total) if total is not None else None
    last_key, view = _key_reader(
        record, index, _fetches_from_table(index, select, paths is not None)
    )
    if index is not None:
        after = None
        if start is not None:
            start_item = normalize_item(start, "ExclusiveStartKey")
            table_pk, table_sk = record.schema.key_of(
                {k: start_item.get(k) for k in record.schema.key_names}
            )
            entry = index.entry(start_item)
            if entry is None:
                raise ValidationError(
                    "The provided starting key is invalid: The provided key element does not match the schema"
                )
            after = (entry[0], entry[1], table_pk, table_sk)
        rows = ctx.store.scan_index(record, index.name, after, parts)
    else:
        rows = ctx.store.scan(record, record.schema.key_of(start) if start else None, parts)
    page = _read_page(
        rows, last_key, view, limit, _keep(condition, scope), paths, select == "COUNT"
    )
    return Outcome(_page_body(page, select == "COUNT"))
