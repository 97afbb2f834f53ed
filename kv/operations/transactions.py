"""TransactWriteItems and TransactGetItems: all or nothing in one SQLite transaction."""

from __future__ import annotations

from typing import Any

from kv.errors import SerializationError, TransactionCanceled, ValidationError
from kv.evaluate import project
from kv.expressions import Scope
from kv.operations.common import (
    Change,
    Context,
    Outcome,
    load_item,
    not_mixed,
    projection_paths,
    table_of,
)
from kv.operations.items import Write, plan_keyed, plan_put

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
    writes: list[Write] = []
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
        not_mixed(action)
        kind = _TRANSACT_KINDS[name]
        writes.append(plan_put(ctx, action) if kind == "put" else plan_keyed(ctx, action, kind))
    targets = [(w.record.id, w.pk, w.sk) for w in writes]
    if len(set(targets)) != len(targets):
        raise ValidationError("Transaction request cannot include multiple operations on one item")
    changes: list[Change] = []
    with ctx.store.transaction():
        olds = [load_item(ctx.store.get_text(w.record, w.pk, w.sk)) for w in writes]
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
        not_mixed(action)
        record = table_of(ctx, action)
        pk, sk = record.schema.key_of(action.get("Key"))
        scope = Scope.of(action)
        paths = projection_paths(action, scope)
        scope.check_all_used()
        plans.append((record, pk, sk, paths))
    responses = []
    with ctx.store.transaction():
        for record, pk, sk, paths in plans:
            item = load_item(ctx.store.get_text(record, pk, sk))
            if item is None:
                responses.append({})
            else:
                responses.append({"Item": project(item, paths) if paths is not None else item})
    return Outcome({"Responses": responses})
