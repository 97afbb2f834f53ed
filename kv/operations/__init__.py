"""The DynamoDB operations on a Store: one function per X-Amz-Target, request dict in, answer out.

Rules: each operation runs inside one Store transaction on the thread that owns its connection, so a
condition is checked against the item the write replaces. Every request is validated
before anything is written: a ValidationException leaves the table as it was. An answer is
an ``Outcome``: the JSON document (or, for a plain GetItem, the bytes around the stored item
text, never parsed) and the items it changed (the CDN purges their URLs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kv.operations.batches import batch_get_item, batch_write_item
from kv.operations.common import PAGE_LIMIT, Change, Context, Outcome
from kv.operations.items import delete_item, get_item, put_item, update_item
from kv.operations.metadata import (
    describe_time_to_live,
    list_tags_of_resource,
    tag_resource,
    untag_resource,
    update_time_to_live,
)
from kv.operations.reads import query, scan
from kv.operations.tables import create_table, delete_table, describe_table, list_tables
from kv.operations.transactions import transact_get_items, transact_write_items

__all__ = ["OPERATIONS", "PAGE_LIMIT", "Change", "Context", "Outcome"]

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
    "UpdateTimeToLive": update_time_to_live,
    "DescribeTimeToLive": describe_time_to_live,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsOfResource": list_tags_of_resource,
}
