"""The CDN read facade: items and partitions as plain JSON under cacheable URLs, and their purges.

Rules: ``GET /tables/{table}/items/{pk}`` is the item of a hash-key table, or the partition
(a Query in sort-key order, ``?limit=N``, ``?order=desc``) of a table with a sort key;
``GET /tables/{table}/items/{pk}/{sk}`` is one item. A key segment is the key's text
percent-encoded (RFC 3986; S as is, N in canonical form, B as unpadded base64url), so each
item has exactly one URL: the one ``item_path`` builds and a write purges (any other spelling
of it, ``/2.50`` for ``/2.5``, is redirected there, so edges never cache a copy no purge reaches). Answers carry a
surrogate key per partition (``kv/{table}/{pk}``) and per table (``kv/{table}``) so one purge
by tag reaches every query string of a partition URL.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import quote

from kv.errors import ValidationError
from kv.operations import PAGE_LIMIT, Change
from kv.schema import TableSchema
from kv.store import Store
from kv.values import format_number, key_bytes, parse_number
from serving.purge_notify import PurgeRequest

__all__ = [
    "canonical_path",
    "item_path",
    "key_segment",
    "partition_tag",
    "plain_item",
    "plain_json",
    "purges_for",
    "read",
    "table_tag",
]

Value = dict[str, Any]


def key_segment(value: Value) -> str:
    """The URL path segment of a key value."""
    ((kind, inner),) = value.items()
    if kind == "B":
        text = base64.urlsafe_b64encode(base64.b64decode(inner)).decode().rstrip("=")
    else:
        text = inner
    return quote(text, safe="")


def _segment_value(text: str, kind: str, name: str) -> Value:
    if kind == "S":
        if not text:
            raise ValidationError(f"the key {name} may not be empty")
        return {"S": text}
    if kind == "N":
        return {"N": format_number(parse_number(text))}
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValidationError(f"the key {name} is binary: expected unpadded base64url") from None
    return {"B": base64.b64encode(raw).decode()}


def item_path(table: str, schema: TableSchema, key: dict[str, Value]) -> str:
    """The facade URL path of the item with primary key ``key``."""
    path = f"/tables/{quote(table, safe='')}/items/{key_segment(key[schema.hash_key])}"
    if schema.range_key is not None:
        path += "/" + key_segment(key[schema.range_key])
    return path


def table_tag(table: str) -> str:
    """The surrogate key of every facade answer about ``table``."""
    return f"kv/{quote(table, safe='')}"


def partition_tag(table: str, hash_value: Value) -> str:
    """The surrogate key of a partition's query answers."""
    return f"{table_tag(table)}/{key_segment(hash_value)}"


def purges_for(change: Change) -> list[PurgeRequest]:
    """What the CDN must forget after ``change``: the item URL and its partition's queries."""
    if change.key is None:
        return [PurgeRequest(tag=table_tag(change.table))]
    purges = [PurgeRequest(url=item_path(change.table, change.schema, change.key))]
    if change.schema.range_key is not None:
        hash_value = change.key[change.schema.hash_key]
        purges.append(PurgeRequest(tag=partition_tag(change.table, hash_value)))
    return purges


def plain_json(value: Value) -> str:
    """A value as plain JSON text: numbers as JSON numbers with every digit, sets as lists,
    binary as base64 strings, NULL as null."""
    ((kind, inner),) = value.items()
    if kind == "N":
        return str(inner)
    if kind in ("S", "B"):
        return json.dumps(inner, ensure_ascii=False)
    if kind == "BOOL":
        return "true" if inner else "false"
    if kind == "NULL":
        return "null"
    if kind == "M":
        return plain_item(inner)
    if kind == "L":
        return "[" + ",".join(plain_json(v) for v in inner) + "]"
    if kind == "NS":
        return "[" + ",".join(inner) + "]"
    return json.dumps(list(inner), ensure_ascii=False)


def plain_item(item: dict[str, Value]) -> str:
    """An item (or map) as a plain JSON object."""
    return (
        "{"
        + ",".join(
            f"{json.dumps(name, ensure_ascii=False)}:{plain_json(v)}" for name, v in item.items()
        )
        + "}"
    )


def _error(message: str) -> str:
    return json.dumps({"error": message})


def canonical_path(store: Store, table: str, segments: list[str]) -> str | None:
    """The one URL path of the item or partition ``segments`` name (None: no such table)."""
    record = store.table(table)
    if record is None:
        return None
    schema = record.schema
    path = f"/tables/{quote(table, safe='')}/items/"
    path += key_segment(_segment_value(segments[0], schema.hash_type, schema.hash_key))
    if len(segments) == 2 and schema.range_key is not None:
        assert schema.range_type is not None
        path += "/" + key_segment(_segment_value(segments[1], schema.range_type, schema.range_key))
    return path


def read(
    store: Store, table: str, segments: list[str], limit: int | None, forward: bool
) -> tuple[int, str, list[str]]:
    """(status, plain JSON text, surrogate keys) of a facade GET."""
    record = store.table(table)
    if record is None:
        return 404, _error(f"no table named {table!r}"), []
    schema = record.schema
    tags = [table_tag(table)]
    hash_value = _segment_value(segments[0], schema.hash_type, schema.hash_key)
    if len(segments) == 2 or schema.range_key is None:
        if len(segments) == 2 and schema.range_key is None:
            return 404, _error(f"table {table!r} has no sort key"), tags
        key = {schema.hash_key: hash_value}
        if schema.range_key is not None:
            assert schema.range_type is not None
            key[schema.range_key] = _segment_value(segments[1], schema.range_type, schema.range_key)
        pk, sk = schema.key_of(key)
        if schema.range_key is not None:
            tags.append(partition_tag(table, hash_value))
        text = store.get_text(record, pk, sk)
        if text is None:
            return 404, '{"error":"no such item","Key":' + plain_item(key) + "}", tags
        return 200, '{"Item":' + plain_item(json.loads(text)) + "}", tags
    tags.append(partition_tag(table, hash_value))
    items = []
    read_bytes = 0
    for row in store.query(record, key_bytes(hash_value), [], forward):
        if (limit is not None and len(items) >= limit) or read_bytes >= PAGE_LIMIT:
            break
        items.append(plain_item(json.loads(row.text)))
        read_bytes += row.size
    return 200, '{"Items":[' + ",".join(items) + f'],"Count":{len(items)}}}', tags
