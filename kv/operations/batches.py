"""BatchGetItem and BatchWriteItem."""

from __future__ import annotations

import json
from typing import Any

from kv.errors import ValidationError
from kv.evaluate import project
from kv.expressions import Scope
from kv.operations.common import (
    Change,
    Context,
    Item,
    Outcome,
    check_size,
    load_item,
    not_mixed,
    projection_paths,
    store_item,
    table_of,
    typed_member,
)
from kv.values import item_size, normalize_item

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
BATCH_GET_RESPONSE_LIMIT = 16 * 1024 * 1024  # BatchGetItem answers stop here (UnprocessedKeys)


def batch_get_item(ctx: Context, request: dict[str, Any]) -> Outcome:
    """BatchGetItem: up to 100 keys; what would pass 16 MB of answer comes back unprocessed."""
    requested = typed_member(request, "RequestItems", dict)
    if not requested:
        raise ValidationError(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
        )
    plans = []
    total = 0
    for name, spec in requested.items():
        record = table_of(ctx, {"TableName": name})
        if not isinstance(spec, dict) or not isinstance(spec.get("Keys"), list) or not spec["Keys"]:
            raise ValidationError(f"RequestItems.{name}.Keys must be a non-empty list of keys")
        not_mixed(spec)
        scope = Scope.of(spec)
        paths = projection_paths(spec, scope)
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
    requested = typed_member(request, "RequestItems", dict)
    if not requested:
        raise ValidationError(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
        )
    writes = []
    for name, entries in requested.items():
        record = table_of(ctx, {"TableName": name})
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
                writes.append((record, pk, sk, item, check_size(item)))
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
            old = load_item(ctx.store.get_text(record, pk, sk)) if record.indexes else None
            if size is None:
                if record.indexes and old is None:
                    continue
                store_item(ctx.store, record, pk, sk, old, None)
            else:
                store_item(ctx.store, record, pk, sk, old, item)
            changes.append(Change(record.name, record.schema.key_attributes(item), record.schema))
    return Outcome({"UnprocessedItems": {}}, tuple(changes))
