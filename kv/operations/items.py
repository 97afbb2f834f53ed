"""GetItem, PutItem, UpdateItem, DeleteItem, and the checked writes transactions share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kv.errors import ConditionalCheckFailed, ValidationError
from kv.evaluate import apply_update, check_update_paths, condition_holds, project
from kv.expressions import Scope, parse_update
from kv.legacy import LegacyBuilder
from kv.operations.common import (
    Change,
    Context,
    Item,
    Outcome,
    check_size,
    condition_of,
    index_rows,
    load_item,
    not_mixed,
    old_on_failure,
    projection_paths,
    return_values,
    store_item,
    table_of,
)
from kv.store import Store, TableRecord
from kv.values import normalize_item

_PLAIN_GET = frozenset({"TableName", "Key", "ConsistentRead", "ReturnConsumedCapacity"})


def get_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """GetItem (ConsistentRead is accepted: every read is consistent)."""
    if request.keys() <= _PLAIN_GET:  # nothing to project or bind: the stored text as it is
        record = table_of(ctx, request)
        pk, sk = record.schema.key_of(request.get("Key"))
        text = ctx.store.get_text(record, pk, sk)
        return Outcome(b'{"Item":' + text.encode() + b"}" if text is not None else {})
    not_mixed(request)
    record = table_of(ctx, request)
    pk, sk = record.schema.key_of(request.get("Key"))
    scope = Scope.of(request)
    paths = projection_paths(request, scope)
    scope.check_all_used()
    text = ctx.store.get_text(record, pk, sk)
    if text is None:
        return Outcome({})
    if paths is None:
        return Outcome(b'{"Item":' + text.encode() + b"}")
    return Outcome({"Item": project(json.loads(text), paths)})


@dataclass
class Write:
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
    invalid: ValidationError | None = None  # a deferred item error (transactions only)

    def holds(self, old: Item | None) -> bool:
        """Whether the condition (if any) holds for the item as it is."""
        return self.condition is None or condition_holds(self.condition, old or {}, self.scope)

    def perform(self, store: Store, old: Item | None) -> Item | None:
        """Write; the item as it is afterwards (None: deleted or absent)."""
        if self.kind == "check":
            return old
        if self.kind == "delete":
            if old is not None:
                store_item(store, self.record, self.pk, self.sk, old, None)
            return None
        if self.kind == "put":
            new = self.item
            assert new is not None
        else:
            if old is None and self.update is not None and self.update.only_removes():
                # DynamoDB: an update that only removes creates no item (nothing to remove).
                return None
            new = old if old is not None else dict(self.key)
            if self.update is not None:
                new, self.paths = apply_update(
                    self.update, new, self.scope, self.record.schema.key_names
                )
        store_item(store, self.record, self.pk, self.sk, old, new)
        return new

    def change(self, old: Item | None, new: Item | None) -> tuple[Change, ...]:
        """What the CDN must purge after this write."""
        if self.kind == "check" or (old is None and new is None):
            return ()
        return (Change(self.record.name, self.key, self.record.schema),)


def plan_put(ctx: Context, request: dict[str, Any], *, defer_item_errors: bool = False) -> Write:
    """A PutItem request checked and ready to run.

    With ``defer_item_errors`` (TransactWriteItems) an error of the item itself (a key of the
    wrong type or size, an item too large or nested too deep) does not raise: it is kept in
    ``Write.invalid`` once the expressions are checked, as DynamoDB answers it with a
    ValidationError cancellation reason rather than a ValidationException.
    """
    record = table_of(ctx, request)
    invalid = None
    try:
        item, pk, sk = _checked_item(record, request)
    except ValidationError as error:
        if not defer_item_errors:
            raise
        item, pk, sk, invalid = {}, b"", b"", error
    scope = Scope.of(request)
    condition = condition_of(request, scope)
    scope.check_all_used()
    returns_old = old_on_failure(request)
    key = record.schema.key_attributes(item) if invalid is None else {}
    return Write(
        "put", record, pk, sk, key, scope, condition, returns_old, item=item, invalid=invalid
    )


def _checked_item(record: TableRecord, request: dict[str, Any]) -> tuple[Item, bytes, bytes]:
    """A PutItem's item with its keys: key types and sizes, item size, index key types."""
    item = normalize_item(request.get("Item"))
    pk, sk = record.schema.key_of(item, is_item=True)
    check_size(item)
    index_rows(record, item)  # index key types are checked before anything is written
    return item, pk, sk


def plan_keyed(
    ctx: Context, request: dict[str, Any], kind: str, *, defer_item_errors: bool = False
) -> Write:
    """A DeleteItem, UpdateItem or ConditionCheck request checked and ready to run.

    ``defer_item_errors``: as for ``plan_put``, an error of the key is kept in ``invalid``.
    """
    record = table_of(ctx, request)
    invalid = None
    try:
        key = normalize_item(request.get("Key"), "Key")
        pk, sk = record.schema.key_of(key)
    except ValidationError as error:
        if not defer_item_errors:
            raise
        key, pk, sk, invalid = {}, b"", b"", error
    scope = Scope.of(request)
    update = None
    if kind == "update" and request.get("UpdateExpression") is not None:
        update = parse_update(request["UpdateExpression"])
    elif kind == "update" and "AttributeUpdates" in request:
        update = LegacyBuilder(scope).update(request["AttributeUpdates"])
    if update is not None:
        scope.touch(update)
        check_update_paths(update, scope, record.schema.key_names)
    condition = condition_of(request, scope)
    if kind == "check" and condition is None:
        raise ValidationError("ConditionCheck requires a ConditionExpression")
    scope.check_all_used()
    return Write(
        kind,
        record,
        pk,
        sk,
        key,
        scope,
        condition,
        old_on_failure(request),
        update=update,
        invalid=invalid,
    )


def _write_one(ctx: Context, write: Write, need_old: bool) -> tuple[Item | None, Item | None]:
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
            old = load_item(ctx.store.get_text(write.record, write.pk, write.sk))
        if not write.holds(old):
            raise ConditionalCheckFailed(old if write.old_on_failure else None)
        new = write.perform(ctx.store, old)
    return old, new


def put_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """PutItem with ConditionExpression and ReturnValues NONE or ALL_OLD."""
    not_mixed(request)
    returns = return_values(request, ("NONE", "ALL_OLD"))
    write = plan_put(ctx, request)
    old, new = _write_one(ctx, write, returns == "ALL_OLD")
    body = {"Attributes": old} if returns == "ALL_OLD" and old else {}
    return Outcome(body, write.change(old, new))


def delete_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """DeleteItem with ConditionExpression and ReturnValues NONE or ALL_OLD."""
    not_mixed(request)
    returns = return_values(request, ("NONE", "ALL_OLD"))
    write = plan_keyed(ctx, request, "delete")
    old, new = _write_one(ctx, write, True)
    body = {"Attributes": old} if returns == "ALL_OLD" and old else {}
    return Outcome(body, write.change(old, new))


def update_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """UpdateItem: SET/REMOVE/ADD/DELETE, ConditionExpression, all five ReturnValues."""
    not_mixed(request)
    returns = return_values(request, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
    write = plan_keyed(ctx, request, "update")
    old, new = _write_one(ctx, write, True)
    body: dict[str, Any] = {}
    if returns == "ALL_OLD" and old:
        body["Attributes"] = old
    elif returns == "ALL_NEW" and new is not None:
        body["Attributes"] = new
    elif returns in ("UPDATED_OLD", "UPDATED_NEW") and write.paths:
        source = (old or {}) if returns == "UPDATED_OLD" else (new or {})
        attributes = project(source, write.paths, "UpdateExpression")
        if attributes:
            body["Attributes"] = attributes
    return Outcome(body, write.change(old, new))
