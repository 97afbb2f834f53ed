"""Table metadata: time to live settings and tags (recorded; items are not expired).

Rules: UpdateTimeToLive/DescribeTimeToLive and TagResource/UntagResource/ListTagsOfResource
answer as DynamoDB does and keep their settings in the table's description, so code and
infrastructure tools that set them at start-up work and see them after a restart. cdn kv does
not delete expired items (DynamoDB itself does so only eventually, within days); reads return
them until they are deleted, as DynamoDB's do before its sweep.
"""

from __future__ import annotations

from typing import Any

from kv.errors import DynamoError, ResourceNotFound, SerializationError, ValidationError
from kv.operations.common import ACCOUNT, Context, Outcome, table_of
from kv.store import TableRecord

__all__ = [
    "check_tag_count",
    "check_tags",
    "describe_time_to_live",
    "list_tags_of_resource",
    "tag_resource",
    "untag_resource",
    "update_time_to_live",
]


MAX_TAGS = 50  # DynamoDB: at most 50 tags on a table
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_text_ok(text: str) -> bool:
    """AWS tag text: letters, digits, whitespace and _ . : / = + - @ (any script)."""
    return all(c.isalnum() or c.isspace() or c in _TAG_PUNCTUATION for c in text)


def check_tags(tags: Any) -> list[dict[str, str]]:
    """A Tags list ([{"Key": ..., "Value": ...}]) checked: shape, lengths, characters."""
    if (
        not isinstance(tags, list)
        or not tags
        or not all(
            isinstance(t, dict)
            and isinstance(t.get("Key"), str)
            and isinstance(t.get("Value"), str)
            for t in tags
        )
    ):
        raise ValidationError("Tags must be a non-empty list of {Key, Value} strings")
    for tag in tags:
        key, value = tag["Key"], tag["Value"]
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise ValidationError(
                f"One or more parameter values were invalid: a tag key has 1 to 128 characters and a value at most 256; key: {key[:128]!r}"
            )
        if not _tag_text_ok(key) or not _tag_text_ok(value):
            raise ValidationError(
                f"One or more parameter values were invalid: tag keys and values may hold letters, digits, spaces and _ . : / = + - @ only; key: {key!r}"
            )
    return tags


def check_tag_count(tags: dict[str, str]) -> dict[str, str]:
    """``tags`` unless there are more than DynamoDB's 50 on one table."""
    if len(tags) > MAX_TAGS:
        raise ValidationError(
            f"One or more parameter values were invalid: The number of tags exceeds the limit of {MAX_TAGS} on a table; tags: {len(tags)}"
        )
    return tags


def _store(ctx: Context, record: TableRecord, description: dict[str, Any]) -> None:
    with ctx.store.transaction():
        ctx.store.update_description(record, description)


TTL_NAME_LIMIT = 255  # DynamoDB: the TTL attribute name is 1 to 255 characters


def _ttl_specification(spec: Any) -> dict[str, Any]:
    """A TimeToLiveSpecification checked member by member, in DynamoDB's words."""
    where = "timeToLiveSpecification"
    if not isinstance(spec, dict):
        raise ValidationError(
            f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: Member must not be null"
        )
    for member, kind, wire in (
        ("AttributeName", str, "attributeName"),
        ("Enabled", bool, "enabled"),
    ):
        if member not in spec or spec[member] is None:
            raise ValidationError(
                f"1 validation error detected: Value null at '{where}.{wire}' failed to satisfy constraint: Member must not be null"
            )
        if not isinstance(spec[member], kind):
            raise SerializationError(
                f"TimeToLiveSpecification.{member}: expected a {'string' if kind is str else 'boolean'}"
            )
    name = spec["AttributeName"]
    if not 1 <= len(name) <= TTL_NAME_LIMIT:
        bound = f"less than or equal to {TTL_NAME_LIMIT}" if name else "greater than or equal to 1"
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{where}.attributeName' failed to satisfy constraint: Member must have length {bound}"
        )
    return spec


def update_time_to_live(ctx: Context, request: dict[str, Any]) -> Outcome:
    """UpdateTimeToLive: enable or disable TTL on an attribute."""
    record = table_of(ctx, request)
    spec = _ttl_specification(request.get("TimeToLiveSpecification"))
    current = record.description.get("_ttl")
    description = dict(record.description)
    if spec["Enabled"]:
        if current == spec["AttributeName"]:
            raise ValidationError("TimeToLive is already enabled")
        if current is not None:
            raise ValidationError(
                f"TimeToLive is active on a different AttributeName: current AttributeName is {current}"
            )
        description["_ttl"] = spec["AttributeName"]
    else:
        if current is None:
            raise ValidationError("TimeToLive is already disabled")
        if current != spec["AttributeName"]:
            raise ValidationError(
                f"TimeToLive is active on a different AttributeName: current AttributeName is {current}"
            )
        description.pop("_ttl")
    _store(ctx, record, description)
    return Outcome({"TimeToLiveSpecification": spec})


def describe_time_to_live(ctx: Context, request: dict[str, Any]) -> Outcome:
    """DescribeTimeToLive."""
    record = table_of(ctx, request)
    attribute = record.description.get("_ttl")
    if attribute is None:
        return Outcome({"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}})
    return Outcome(
        {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}}
    )


def _table_of_arn(ctx: Context, request: dict[str, Any], action: str) -> TableRecord:
    arn = request.get("ResourceArn")
    if isinstance(arn, str) and not arn.startswith("arn:"):
        # AWS authorizes the resource before reading it, and nothing may act on a resource
        # that is not an ARN: its IAM check answers AccessDeniedException (HTTP 400).
        raise DynamoError(
            f"User: arn:aws:iam::{ACCOUNT}:user/local is not authorized to perform: "
            f"dynamodb:{action} on resource: {arn}",
            kind="AccessDeniedException",
        )
    if not isinstance(arn, str) or ":table/" not in arn:
        raise ValidationError(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    name = arn.split(":table/", 1)[1].split("/", 1)[0]
    record = ctx.store.table(name)
    if record is None:
        raise ResourceNotFound(f"Requested resource not found: ResourcArn: {arn} not found")
    return record


def tag_resource(ctx: Context, request: dict[str, Any]) -> Outcome:
    """TagResource: add or replace tags of a table."""
    record = _table_of_arn(ctx, request, "TagResource")
    tags = dict(record.description.get("_tags") or {})
    tags.update({t["Key"]: t["Value"] for t in check_tags(request.get("Tags"))})
    _store(ctx, record, {**record.description, "_tags": check_tag_count(tags)})
    return Outcome(b"")  # DynamoDB answers TagResource and UntagResource with an empty body


def untag_resource(ctx: Context, request: dict[str, Any]) -> Outcome:
    """UntagResource: remove tags of a table by key."""
    record = _table_of_arn(ctx, request, "UntagResource")
    keys = request.get("TagKeys")
    if not isinstance(keys, list):
        raise ValidationError("TagKeys must be a list of tag keys")
    tags = {k: v for k, v in (record.description.get("_tags") or {}).items() if k not in keys}
    _store(ctx, record, {**record.description, "_tags": tags})
    return Outcome(b"")  # DynamoDB answers TagResource and UntagResource with an empty body


def list_tags_of_resource(ctx: Context, request: dict[str, Any]) -> Outcome:
    """ListTagsOfResource (every tag in one page)."""
    record = _table_of_arn(ctx, request, "ListTagsOfResource")
    tags = record.description.get("_tags") or {}
    return Outcome({"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
