"""The DynamoDB operations on a Store: one function per X-Amz-Target, request dict in, answer out.

Rules: each operation runs inside one Store transaction on the store's thread, so a
condition is checked against the item the write replaces. Every request is validated
before anything is written: a ValidationException leaves the table as it was. An answer is
an ``Outcome``: the JSON document (or, for a plain GetItem, the bytes around the stored item
text, never parsed) and the items it changed (the CDN purges their URLs).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kv.errors import (
    ConditionalCheckFailed,
    ResourceInUse,
    ResourceNotFound,
    SerializationError,
    TransactionCanceled,
    ValidationError,
)
from kv.evaluate import apply_update, check_update_paths, condition_holds, project
from kv.expressions import (
    And,
    Between,
    Call,
    Compare,
    Path,
    Scope,
    ValueRef,
    parse_condition,
    parse_projection,
    parse_update,
)
from kv.legacy import LegacyBuilder, check_not_mixed
from kv.schema import (
    MAX_ITEM_SIZE,
    IndexSchema,
    TableSchema,
    check_table_name,
    definition_types,
)
from kv.store import Store, TableRecord
from kv.values import item_size, key_bytes, normalize_item

__all__ = ["OPERATIONS", "Change", "Outcome"]

PAGE_LIMIT = 1024 * 1024  # Query and Scan stop after this many bytes of items read
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
BATCH_GET_RESPONSE_LIMIT = 16 * 1024 * 1024
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


def _dumps(item: Item) -> str:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def _member(request: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = request.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise SerializationError(f"{name}: expected a {kind.__name__}, got {type(value).__name__}")
    return value


def _table(ctx: Context, request: dict[str, Any]) -> TableRecord:
    name = request.get("TableName")
    check_table_name(name)
    record = ctx.store.table(name)
    if record is None:
        raise ResourceNotFound("Requested resource not found")
    return record


def _not_mixed(request: dict[str, Any]) -> None:
    """ValidationException when legacy and expression parameters are mixed."""
    check_not_mixed(request)


def _projection(request: dict[str, Any], scope: Scope) -> list[tuple[str | int, ...]] | None:
    attributes = request.get("AttributesToGet")
    if attributes is not None:
        if not isinstance(attributes, list) or not attributes:
            raise ValidationError("AttributesToGet must be a non-empty list of attribute names")
        return [(name,) for name in dict.fromkeys(attributes)]
    text = request.get("ProjectionExpression")
    if text is None:
        return None
    paths = parse_projection(text)
    return [scope.path(p) for p in paths]


_LEGACY_CONDITIONS = {
    "ConditionExpression": ("Expected",),
    "FilterExpression": ("QueryFilter", "ScanFilter"),
    "KeyConditionExpression": ("KeyConditions",),
}


def _condition(request: dict[str, Any], scope: Scope, member: str = "ConditionExpression") -> Any:
    text = request.get(member)
    if text is None:
        for legacy in _LEGACY_CONDITIONS[member]:
            if legacy in request:
                operator = request.get("ConditionalOperator") if legacy != "KeyConditions" else None
                tree = LegacyBuilder(scope).condition(request[legacy], operator, legacy)
                scope.touch(tree)
                return tree
        return None
    tree = parse_condition(text, member)
    scope.touch(tree)
    return tree


def _return_values(request: dict[str, Any], allowed: tuple[str, ...]) -> str:
    value = request.get("ReturnValues", "NONE") or "NONE"
    if value not in allowed:
        raise ValidationError("Return values set to invalid value")
    return str(value)


def _on_failure(request: dict[str, Any]) -> bool:
    value = request.get("ReturnValuesOnConditionCheckFailure", "NONE")
    if value not in ("NONE", "ALL_OLD"):
        raise ValidationError("ReturnValuesOnConditionCheckFailure set to invalid value")
    return value == "ALL_OLD"


def _check_size(item: Item) -> int:
    size = item_size(item)
    if size > MAX_ITEM_SIZE:
        raise ValidationError("Item size has exceeded the maximum allowed size")
    return size


def _load(text: str | None) -> Item | None:
    return json.loads(text) if text is not None else None


# --- tables ----------------------------------------------------------------------------


def _describe(ctx: Context, record: TableRecord, status: str | None = None) -> dict[str, Any]:
    count, size = ctx.store.table_stats(record)
    description = dict(record.description)
    description["ItemCount"] = count
    description["TableSizeBytes"] = size
    if status is not None:
        description["TableStatus"] = status
    return description


def _index_descriptions(
    request: dict[str, Any], schema: TableSchema, table: str
) -> dict[str, list[dict[str, Any]]]:
    """The GlobalSecondaryIndexes/LocalSecondaryIndexes of a CreateTable, checked and described."""
    described: dict[str, list[dict[str, Any]]] = {}
    names: set[str] = set()
    for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        specs = request.get(member)
        if specs is None:
            continue
        if not isinstance(specs, list) or not specs:
            raise ValidationError(f"{member} must be a non-empty list")
        for spec in specs:
            index = IndexSchema.from_request(
                spec, request.get("AttributeDefinitions"), schema, member.startswith("Global")
            )
            if index.name in names:
                raise ValidationError(
                    f"One or more parameter values were invalid: Duplicate index name: {index.name}"
                )
            names.add(index.name)
            entry: dict[str, Any] = {
                "IndexName": index.name,
                "KeySchema": spec["KeySchema"],
                "Projection": spec.get("Projection") or {"ProjectionType": "ALL"},
                "IndexArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/index/{index.name}",
            }
            if index.is_global:
                entry["IndexStatus"] = "ACTIVE"
                throughput = spec.get("ProvisionedThroughput") or {}
                entry["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": int(throughput.get("ReadCapacityUnits", 0)),
                    "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits", 0)),
                }
            described.setdefault(member, []).append(entry)
    return described


def create_table(ctx: Context, request: dict[str, Any]) -> Outcome:
    """CreateTable: ACTIVE at once."""
    name = check_table_name(request.get("TableName"))
    definitions = request.get("AttributeDefinitions")
    schema = TableSchema.from_request(request.get("KeySchema"), definitions)
    index_descriptions = _index_descriptions(request, schema, name)
    used = set(schema.key_names)
    for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for spec in index_descriptions.get(member, ()):
            used.update(k["AttributeName"] for k in spec["KeySchema"])
    if set(definition_types(definitions)) != used:
        raise ValidationError(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        )
    billing = request.get("BillingMode", "PROVISIONED")
    if billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        raise ValidationError(
            f"1 validation error detected: Value '{billing}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        )
    throughput = request.get("ProvisionedThroughput") or {}
    if billing == "PAY_PER_REQUEST" and throughput:
        raise ValidationError(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
        )
    if ctx.store.table(name) is not None:
        raise ResourceInUse(f"Table already exists: {name}")
    description: dict[str, Any] = {
        "TableName": name,
        "KeySchema": request["KeySchema"],
        "AttributeDefinitions": request["AttributeDefinitions"],
        "TableStatus": "ACTIVE",
        "CreationDateTime": ctx.now(),
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": int(throughput.get("ReadCapacityUnits", 0)),
            "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits", 0)),
        },
        "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "TableId": str(uuid.uuid4()),
    }
    description.update(index_descriptions)
    if billing == "PAY_PER_REQUEST":
        description["BillingModeSummary"] = {
            "BillingMode": "PAY_PER_REQUEST",
            "LastUpdateToPayPerRequestDateTime": description["CreationDateTime"],
        }
    with ctx.store.transaction():
        record = ctx.store.create_table(name, description)
    return Outcome({"TableDescription": _describe(ctx, record)})


def describe_table(ctx: Context, request: dict[str, Any]) -> Outcome:
    """DescribeTable."""
    name = check_table_name(request.get("TableName"))
    record = ctx.store.table(name)
    if record is None:
        raise ResourceNotFound(f"Requested resource not found: Table: {name} not found")
    return Outcome({"Table": _describe(ctx, record)})


def delete_table(ctx: Context, request: dict[str, Any]) -> Outcome:
    """DeleteTable: the table and its items go at once."""
    name = check_table_name(request.get("TableName"))
    record = ctx.store.table(name)
    if record is None:
        raise ResourceNotFound(f"Requested resource not found: Table: {name} not found")
    description = _describe(ctx, record, status="DELETING")
    with ctx.store.transaction():
        ctx.store.delete_table(record)
    return Outcome({"TableDescription": description}, (Change(name, None, record.schema),))


def list_tables(ctx: Context, request: dict[str, Any]) -> Outcome:
    """ListTables, up to Limit (1-100) names after ExclusiveStartTableName."""
    limit = _member(request, "Limit", int, 100)
    if not 1 <= limit <= 100:
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
            if limit > 100
            else f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    start = _member(request, "ExclusiveStartTableName", str)
    names = [n for n in ctx.store.table_names() if start is None or n > start]
    body: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        body["LastEvaluatedTableName"] = names[limit - 1]
    return Outcome(body)


# --- items -----------------------------------------------------------------------------


def get_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """GetItem (ConsistentRead is accepted: every read is consistent)."""
    _not_mixed(request)
    record = _table(ctx, request)
    pk, sk = record.schema.key_of(request.get("Key"))
    scope = Scope.of(request)
    paths = _projection(request, scope)
    scope.check_all_used()
    text = ctx.store.get_text(record, pk, sk)
    if text is None:
        return Outcome({})
    if paths is None:
        return Outcome(b'{"Item":' + text.encode() + b"}")
    return Outcome({"Item": project(json.loads(text), paths)})


def _index_rows(record: TableRecord, item: Item | None) -> set[tuple[str, bytes, bytes]]:
    rows = set()
    if item is not None:
        for index in record.indexes:
            entry = index.entry(item)
            if entry is not None:
                rows.add((index.name, *entry))
    return rows


def _store_item(
    store: Store, record: TableRecord, pk: bytes, sk: bytes, old: Item | None, new: Item | None
) -> None:
    """Write ``new`` (None: delete) over ``old``, keeping the table's indexes in step."""
    if record.indexes:
        before, after = _index_rows(record, old), _index_rows(record, new)
        store.delete_index_rows(record, pk, sk, before - after)
        store.add_index_rows(record, pk, sk, after - before)
    if new is None:
        store.delete(record, pk, sk)
    else:
        store.put(record, pk, sk, _check_size(new), _dumps(new))


@dataclass
class _Write:
    """One checked write, ready to run inside a transaction: put, delete, update or check."""

    kind: str  # "put", "delete", "update" or "check" (a transaction's ConditionCheck)
    record: TableRecord
    pk: bytes
    sk: bytes
    key: Item
    scope: Scope
    condition: Any
    old_on_failure: bool
    item: Item | None = None
    update: Any = None
    paths: list[tuple[str | int, ...]] = field(default_factory=list)

    def holds(self, old: Item | None) -> bool:
        """Whether the condition (if any) holds for the item as it is."""
        return self.condition is None or condition_holds(self.condition, old or {}, self.scope)

    def perform(self, store: Store, old: Item | None) -> Item | None:
        """Write; the item as it is afterwards (None: deleted or absent)."""
        if self.kind == "check":
            return old
        if self.kind == "delete":
            if old is not None:
                _store_item(store, self.record, self.pk, self.sk, old, None)
            return None
        if self.kind == "put":
            new = self.item
            assert new is not None
        else:
            new = old if old is not None else dict(self.key)
            if self.update is not None:
                new, self.paths = apply_update(
                    self.update, new, self.scope, self.record.schema.key_names
                )
        _store_item(store, self.record, self.pk, self.sk, old, new)
        return new

    def change(self, old: Item | None, new: Item | None) -> tuple[Change, ...]:
        """What the CDN must purge after this write."""
        if self.kind == "check" or (old is None and new is None):
            return ()
        return (Change(self.record.name, self.key, self.record.schema),)


def _plan_put(ctx: Context, request: dict[str, Any]) -> _Write:
    record = _table(ctx, request)
    item = normalize_item(request.get("Item"))
    pk, sk = record.schema.key_of(item, is_item=True)
    _check_size(item)
    scope = Scope.of(request)
    condition = _condition(request, scope)
    scope.check_all_used()
    _index_rows(record, item)  # index key types are checked before anything is written
    key = record.schema.key_attributes(item)
    return _Write("put", record, pk, sk, key, scope, condition, _on_failure(request), item=item)


def _plan_keyed(ctx: Context, request: dict[str, Any], kind: str) -> _Write:
    record = _table(ctx, request)
    key = normalize_item(request.get("Key"), "Key")
    pk, sk = record.schema.key_of(key)
    scope = Scope.of(request)
    update = None
    if kind == "update" and request.get("UpdateExpression") is not None:
        update = parse_update(request["UpdateExpression"])
    elif kind == "update" and "AttributeUpdates" in request:
        update = LegacyBuilder(scope).update(request["AttributeUpdates"])
    if update is not None:
        scope.touch(update)
        check_update_paths(update, scope, record.schema.key_names)
    condition = _condition(request, scope)
    if kind == "check" and condition is None:
        raise ValidationError("ConditionCheck requires a ConditionExpression")
    scope.check_all_used()
    return _Write(kind, record, pk, sk, key, scope, condition, _on_failure(request), update=update)


def _write_one(ctx: Context, write: _Write, need_old: bool) -> tuple[Item | None, Item | None]:
    """(old, new) after running one write in its own transaction."""
    if (
        write.kind == "put"
        and not need_old
        and write.condition is None
        and not write.record.indexes
    ):
        # One statement, atomic on its own: no read, no BEGIN/COMMIT round.
        return None, write.perform(ctx.store, None)
    with ctx.store.transaction():
        old = None
        if need_old or write.condition is not None or write.kind != "put":
            old = _load(ctx.store.get_text(write.record, write.pk, write.sk))
        if not write.holds(old):
            raise ConditionalCheckFailed(old if write.old_on_failure else None)
        new = write.perform(ctx.store, old)
    return old, new


def put_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """PutItem with ConditionExpression and ReturnValues NONE or ALL_OLD."""
    _not_mixed(request)
    returns = _return_values(request, ("NONE", "ALL_OLD"))
    write = _plan_put(ctx, request)
    old, new = _write_one(ctx, write, returns == "ALL_OLD")
    body = {"Attributes": old} if returns == "ALL_OLD" and old else {}
    return Outcome(body, write.change(old, new))


def delete_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """DeleteItem with ConditionExpression and ReturnValues NONE or ALL_OLD."""
    _not_mixed(request)
    returns = _return_values(request, ("NONE", "ALL_OLD"))
    write = _plan_keyed(ctx, request, "delete")
    old, new = _write_one(ctx, write, True)
    body = {"Attributes": old} if returns == "ALL_OLD" and old else {}
    return Outcome(body, write.change(old, new))


def update_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """UpdateItem: SET/REMOVE/ADD/DELETE, ConditionExpression, all five ReturnValues."""
    _not_mixed(request)
    returns = _return_values(request, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
    write = _plan_keyed(ctx, request, "update")
    old, new = _write_one(ctx, write, True)
    assert new is not None
    body: dict[str, Any] = {}
    if returns == "ALL_OLD" and old:
        body["Attributes"] = old
    elif returns == "ALL_NEW":
        body["Attributes"] = new
    elif returns in ("UPDATED_OLD", "UPDATED_NEW") and write.paths:
        source = (old or {}) if returns == "UPDATED_OLD" else new
        attributes = project(source, write.paths, "UpdateExpression")
        if attributes:
            body["Attributes"] = attributes
    return Outcome(body, write.change(old, new))


# --- transactions ----------------------------------------------------------------------

TRANSACTION_LIMIT = 100
_TRANSACT_KINDS = {"Put": "put", "Delete": "delete", "Update": "update", "ConditionCheck": "check"}


def _transact_items(request: dict[str, Any]) -> list[Any]:
    items = request.get("TransactItems")
    if not isinstance(items, list) or not items:
        raise ValidationError(
            "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null"
        )
    if len(items) > TRANSACTION_LIMIT:
        raise ValidationError(
            f"1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {TRANSACTION_LIMIT}"
        )
    return items


def transact_write_items(ctx: Context, request: dict[str, Any]) -> Outcome:
    """TransactWriteItems: every condition holds and every write happens, or none does."""
    writes: list[_Write] = []
    for entry in _transact_items(request):
        if (
            not isinstance(entry, dict)
            or len(entry) != 1
            or next(iter(entry)) not in _TRANSACT_KINDS
        ):
            raise ValidationError(
                "TransactItems members must each hold exactly one of Put, Update, Delete or ConditionCheck"
            )
        ((name, action),) = entry.items()
        if not isinstance(action, dict):
            raise SerializationError(f"TransactItems.{name}: expected an object")
        _not_mixed(action)
        kind = _TRANSACT_KINDS[name]
        writes.append(_plan_put(ctx, action) if kind == "put" else _plan_keyed(ctx, action, kind))
    targets = [(w.record.id, w.pk, w.sk) for w in writes]
    if len(set(targets)) != len(targets):
        raise ValidationError("Transaction request cannot include multiple operations on one item")
    changes: list[Change] = []
    with ctx.store.transaction():
        olds = [_load(ctx.store.get_text(w.record, w.pk, w.sk)) for w in writes]
        reasons = []
        for write, old in zip(writes, olds, strict=True):
            if write.holds(old):
                reasons.append({"Code": "None"})
            else:
                reason: dict[str, Any] = {
                    "Code": "ConditionalCheckFailed",
                    "Message": "The conditional request failed",
                }
                if write.old_on_failure and old is not None:
                    reason["Item"] = old
                reasons.append(reason)
        if any(r["Code"] != "None" for r in reasons):
            codes = ", ".join(r["Code"] for r in reasons)
            raise TransactionCanceled(
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                extra={"CancellationReasons": reasons},
            )
        for write, old in zip(writes, olds, strict=True):
            changes.extend(write.change(old, write.perform(ctx.store, old)))
    return Outcome({}, tuple(changes))


def transact_get_items(ctx: Context, request: dict[str, Any]) -> Outcome:
    """TransactGetItems: up to 100 items read from one state of the tables."""
    plans = []
    for entry in _transact_items(request):
        action = entry.get("Get") if isinstance(entry, dict) else None
        if not isinstance(action, dict):
            raise ValidationError("TransactItems members must each hold a Get")
        _not_mixed(action)
        record = _table(ctx, action)
        pk, sk = record.schema.key_of(action.get("Key"))
        scope = Scope.of(action)
        paths = _projection(action, scope)
        scope.check_all_used()
        plans.append((record, pk, sk, paths))
    responses = []
    with ctx.store.transaction():
        for record, pk, sk, paths in plans:
            item = _load(ctx.store.get_text(record, pk, sk))
            if item is None:
                responses.append({})
            else:
                responses.append({"Item": project(item, paths) if paths is not None else item})
    return Outcome({"Responses": responses})


# --- query and scan --------------------------------------------------------------------


def _key_condition(
    tree: Any, schema: TableSchema, scope: Scope
) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The hash key value and the range bounds of a KeyConditionExpression."""
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
        if not isinstance(node, Path) or len(node.parts) != 1:
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
    if select is None:
        return "SPECIFIC_ATTRIBUTES" if projected else "ALL_ATTRIBUTES"
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
    limit = _member(request, "Limit", int)
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
    items: list[Item] = []
    count = scanned = read_bytes = 0
    last_item: Item | None = None
    for row in rows:
        if last_item is not None and (
            (limit is not None and scanned >= limit) or read_bytes >= PAGE_LIMIT
        ):
            return _Page(items, count, scanned, last_key(last_item))
        item = json.loads(row.text)
        scanned += 1
        read_bytes += row.size
        last_item = item
        item = view(item)
        if keep(item):
            count += 1
            if not count_only:
                items.append(project(item, paths) if paths is not None else item)
    return _Page(items, count, scanned, None)


def _page_body(page: _Page, count_only: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"Count": page.count, "ScannedCount": page.scanned}
    if not count_only:
        body["Items"] = page.items
    if page.last_key is not None:
        body["LastEvaluatedKey"] = page.last_key
    return body


def _filter(request: dict[str, Any], scope: Scope, schema: TableSchema | None) -> Any:
    tree = _condition(request, scope, "FilterExpression")
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
    record: TableRecord, index: IndexSchema | None
) -> tuple[Callable[[Item], dict[str, Any]], Callable[[Item], Item]]:
    """(the LastEvaluatedKey of an item, the item as the table or index holds it)."""
    schema = record.schema
    if index is None:
        return schema.key_attributes, lambda item: item
    names = dict.fromkeys([*schema.key_names, *index.keys.key_names])
    return (
        lambda item: {name: item[name] for name in names},
        lambda item: index.projected(item, schema),
    )


def _keep(condition: Any, scope: Scope) -> Callable[[Item], bool]:
    if condition is None:
        return lambda item: True
    return lambda item: condition_holds(condition, item, scope, "FilterExpression")


def query(ctx: Context, request: dict[str, Any]) -> Outcome:
    """Query one partition of a table or index: key condition, order, Limit, paging, filter, COUNT."""
    _not_mixed(request)
    record = _table(ctx, request)
    index = _index_of(record, request)
    schema = index.keys if index is not None else record.schema
    scope = Scope.of(request)
    key_tree = _condition(request, scope, "KeyConditionExpression")
    if key_tree is None:
        raise ValidationError(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    hash_value, bounds = _key_condition(key_tree, schema, scope)
    condition = _filter(request, scope, schema)
    paths = _projection(request, scope)
    select = _select(request, paths is not None, index is not None)
    limit = _limit(request)
    forward = _member(request, "ScanIndexForward", bool, True)
    start = request.get("ExclusiveStartKey")
    scope.check_all_used()
    last_key, view = _key_reader(record, index)
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
    _not_mixed(request)
    record = _table(ctx, request)
    index = _index_of(record, request)
    scope = Scope.of(request)
    condition = _filter(request, scope, None)
    paths = _projection(request, scope)
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
    last_key, view = _key_reader(record, index)
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


# --- batches ---------------------------------------------------------------------------


def batch_get_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """BatchGetItem: up to 100 keys; what would pass 16 MB of answer comes back unprocessed."""
    requested = _member(request, "RequestItems", dict)
    if not requested:
        raise ValidationError(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
        )
    plans = []
    total = 0
    for name, spec in requested.items():
        record = _table(ctx, {"TableName": name})
        if not isinstance(spec, dict) or not isinstance(spec.get("Keys"), list) or not spec["Keys"]:
            raise ValidationError(f"RequestItems.{name}.Keys must be a non-empty list of keys")
        _not_mixed(spec)
        scope = Scope.of(spec)
        paths = _projection(spec, scope)
        scope.check_all_used()
        keys = [record.schema.key_of(k) for k in spec["Keys"]]
        if len(set(keys)) != len(keys):
            raise ValidationError("Provided list of item keys contains duplicates")
        total += len(keys)
        plans.append((name, spec, record, paths, keys))
    if total > BATCH_GET_LIMIT:
        raise ValidationError("Too many items requested for the BatchGetItem call")
    responses: dict[str, list[Item]] = {}
    unprocessed: dict[str, Any] = {}
    size = 0
    for name, spec, record, paths, keys in plans:
        found = responses.setdefault(name, [])
        for index, (pk, sk) in enumerate(keys):
            if size >= BATCH_GET_RESPONSE_LIMIT:
                left = dict(spec)
                left["Keys"] = spec["Keys"][index:]
                unprocessed[name] = left
                break
            text = ctx.store.get_text(record, pk, sk)
            if text is None:
                continue
            item = json.loads(text)
            if paths is not None:
                item = project(item, paths)
                size += item_size(item)
            else:
                size += len(text)
            found.append(item)
    return Outcome({"Responses": responses, "UnprocessedKeys": unprocessed})


def batch_write_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """BatchWriteItem: up to 25 puts and deletes, all applied in one transaction."""
    requested = _member(request, "RequestItems", dict)
    if not requested:
        raise ValidationError(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
        )
    writes = []
    for name, entries in requested.items():
        record = _table(ctx, {"TableName": name})
        if not isinstance(entries, list) or not entries:
            raise ValidationError(f"RequestItems.{name} must be a non-empty list of write requests")
        seen = set()
        for entry in entries:
            if not isinstance(entry, dict) or len(entry) != 1:
                raise ValidationError(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
                    if isinstance(entry, dict) and entry
                    else "A write request must contain exactly one of PutRequest or DeleteRequest"
                )
            if "PutRequest" in entry:
                item = normalize_item((entry["PutRequest"] or {}).get("Item"))
                pk, sk = record.schema.key_of(item, is_item=True)
                writes.append((record, pk, sk, item, _check_size(item)))
            elif "DeleteRequest" in entry:
                key = normalize_item((entry["DeleteRequest"] or {}).get("Key"), "Key")
                pk, sk = record.schema.key_of(key)
                writes.append((record, pk, sk, key, None))
            else:
                raise ValidationError(
                    "A write request must contain exactly one of PutRequest or DeleteRequest"
                )
            if (pk, sk) in seen:
                raise ValidationError("Provided list of item keys contains duplicates")
            seen.add((pk, sk))
    if len(writes) > BATCH_WRITE_LIMIT:
        raise ValidationError(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"
        )
    changes = []
    with ctx.store.transaction():
        for record, pk, sk, item, size in writes:
            old = _load(ctx.store.get_text(record, pk, sk)) if record.indexes else None
            if size is None:
                if record.indexes and old is None:
                    continue
                _store_item(ctx.store, record, pk, sk, old, None)
            else:
                _store_item(ctx.store, record, pk, sk, old, item)
            changes.append(Change(record.name, record.schema.key_attributes(item), record.schema))
    return Outcome({"UnprocessedItems": {}}, tuple(changes))


OPERATIONS: dict[str, Callable[[Context, dict[str, Any]], Outcome]] = {
    "CreateTable": create_table,
    "DescribeTable": describe_table,
    "DeleteTable": delete_table,
    "ListTables": list_tables,
    "GetItem": get_item,
    "PutItem": put_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "Query": query,
    "Scan": scan,
    "BatchGetItem": batch_get_item,
    "BatchWriteItem": batch_write_item,
    "TransactWriteItems": transact_write_items,
    "TransactGetItems": transact_get_items,
}
