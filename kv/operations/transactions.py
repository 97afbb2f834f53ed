"""TransactWriteItems and TransactGetItems: all or nothing in one SQLite transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kv.errors import (
    IdempotentParameterMismatch,
    SerializationError,
    TransactionCanceled,
    ValidationError,
)
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
from kv.values import item_size

# --- transactions ----------------------------------------------------------------------

TRANSACTION_LIMIT = 100
TRANSACTION_PAYLOAD_LIMIT = 4 * 1024 * 1024  # DynamoDB: a transaction carries 4 MB at most
TOKEN_LENGTH_LIMIT = 36  # ClientRequestToken: 1 to 36 characters
TOKEN_WINDOW = 600.0  # seconds a ClientRequestToken makes its transaction idempotent
_TRANSACT_KINDS = {"Put": "put", "Delete": "delete", "Update": "update", "ConditionCheck": "check"}


def _transact_items(request: dict[str, Any]) -> list[Any]:
    items = request.get("TransactItems")
    if not isinstance(items, list):
        raise ValidationError(
            "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null"
        )
    if not items:
        raise ValidationError(
            "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
    if len(items) > TRANSACTION_LIMIT:
        raise ValidationError(
            f"1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {TRANSACTION_LIMIT}"
        )
    return items


def _check_token(request: dict[str, Any]) -> str | None:
    """ClientRequestToken, when given, is a string of 1 to 36 characters."""
    token = request.get("ClientRequestToken")
    if token is None:
        return None
    if not isinstance(token, str):
        raise SerializationError("ClientRequestToken: expected a string")
    if not 1 <= len(token) <= TOKEN_LENGTH_LIMIT:
        raise ValidationError(
            "1 validation error detected: Value at 'clientRequestToken' failed to satisfy "
            f"constraint: Member must have length less than or equal to {TOKEN_LENGTH_LIMIT}"
            if token
            else "1 validation error detected: Value at 'clientRequestToken' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1"
        )
    return token


def _digest(request: dict[str, Any]) -> bytes:
    """What identifies a transaction for its token: every parameter but the token."""
    rest = {name: value for name, value in request.items() if name != "ClientRequestToken"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(canonical, digest_size=16).digest()


def _payload_size(writes: list[Write], actions: list[dict[str, Any]]) -> int:
    """Bytes a transaction carries: its new items, its keys and its expression values.

    DynamoDB limits what the request carries, not the items it touches: deleting 5 MB of
    items in one small transaction is allowed.
    """
    size = sum(item_size(w.item if w.item is not None else w.key) for w in writes)
    for action in actions:
        values = action.get("ExpressionAttributeValues")
        if isinstance(values, dict):
            size += len(json.dumps(values))
    return size


def _cancel(reasons: list[dict[str, Any]]) -> TransactionCanceled:
    """TransactionCanceledException listing each action's reason in order."""
    codes = ", ".join(r["Code"] for r in reasons)
    return TransactionCanceled(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        extra={"CancellationReasons": reasons},
    )


def transact_write_items(ctx: Context, request: dict[str, Any]) -> Outcome:
    """TransactWriteItems: every condition holds and every write happens, or none does."""
    token = _check_token(request)
    writes: list[Write] = []
    actions: list[dict[str, Any]] = []
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
        actions.append(action)
        writes.append(
            plan_put(ctx, action, defer_item_errors=True)
            if kind == "put"
            else plan_keyed(ctx, action, kind, defer_item_errors=True)
        )
    # An invalid item or key cancels the transaction with a ValidationError reason for the
    # first such action only (DynamoDB stops validating there); every other action is None.
    first_invalid = next((w for w in writes if w.invalid is not None), None)
    if first_invalid is not None:
        assert first_invalid.invalid is not None
        raise _cancel(
            [
                {"Code": "ValidationError", "Message": first_invalid.invalid.message}
                if w is first_invalid
                else {"Code": "None"}
                for w in writes
            ]
        )
    if _payload_size(writes, actions) > TRANSACTION_PAYLOAD_LIMIT:
        raise ValidationError(
            "Transaction request cannot be processed: the transaction payload size cannot "
            "exceed 4 MB"
        )
    targets = [(w.record.id, w.pk, w.sk) for w in writes]
    if len(set(targets)) != len(targets):
        raise ValidationError("Transaction request cannot include multiple operations on one item")
    changes: list[Change] = []
    digest = _digest(request) if token is not None else b""
    with ctx.store.transaction():
        if token is not None:
            # DynamoDB: for 10 minutes a token makes its transaction idempotent (a retry
            # succeeds without writing again); reused for another request it is refused.
            earlier = ctx.store.token_digest(token, ctx.now())
            if earlier == digest:
                return Outcome({})
            if earlier is not None:
                raise IdempotentParameterMismatch(
                    "Request with the same ClientRequestToken but different parameters "
                    "was made within the idempotency window"
                )
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
            raise _cancel(reasons)
        for write, old in zip(writes, olds, strict=True):
            changes.extend(write.change(old, write.perform(ctx.store, old)))
        if token is not None:
            now = ctx.now()
            ctx.store.remember_token(token, digest, now, now + TOKEN_WINDOW)
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
