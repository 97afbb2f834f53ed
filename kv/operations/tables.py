"""CreateTable, DescribeTable, DeleteTable, ListTables."""

from __future__ import annotations

import uuid
from typing import Any

from kv.errors import ResourceInUse, ResourceNotFound, ValidationError
from kv.operations.common import ACCOUNT, REGION, Change, Context, Outcome, typed_member
from kv.operations.metadata import check_tag_count, check_tags
from kv.schema import IndexSchema, TableSchema, check_table_name, definition_types
from kv.store import TableRecord

# tables ----------------------------------------------------------------------------


def _describe(ctx: Context, record: TableRecord, status: str | None = None) -> dict[str, Any]:
    count, size = ctx.store.table_stats(record)
    description = {k: v for k, v in record.description.items() if not k.startswith("_")}
    description["ItemCount"] = count
    description["TableSizeBytes"] = size
    if "GlobalSecondaryIndexes" in description or "LocalSecondaryIndexes" in description:
        stats = ctx.store.index_stats(record)
        for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if member in description:  # DynamoDB describes each index's count and size too
                description[member] = [
                    {
                        **index,
                        "ItemCount": stats.get(index["IndexName"], (0, 0))[0],
                        "IndexSizeBytes": stats.get(index["IndexName"], (0, 0))[1],
                    }
                    for index in description[member]
                ]
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


MAX_KEY_NAME_LENGTH = 255  # DynamoDB: key attribute names (table and index) are 1 to 255 long


def _check_key_name_lengths(request: dict[str, Any]) -> None:
    """Every AttributeName of the key schemas and definitions is 255 characters at most.

    Checked before the schemas are matched, as DynamoDB does: a too long name is reported
    even when the request is incoherent otherwise.
    """
    places: list[tuple[str, Any]] = [
        ("keySchema", request.get("KeySchema")),
        ("attributeDefinitions", request.get("AttributeDefinitions")),
    ]
    for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = request.get(member)
        if isinstance(indexes, list):
            field = member[0].lower() + member[1:]
            for n, index in enumerate(indexes, 1):
                if isinstance(index, dict):
                    places.append((f"{field}.{n}.member.keySchema", index.get("KeySchema")))
                    _check_projected_names(f"{field}.{n}.member", index.get("Projection"))
    for place, entries in places:
        if not isinstance(entries, list):
            continue
        for n, entry in enumerate(entries, 1):
            attribute = entry.get("AttributeName") if isinstance(entry, dict) else None
            if isinstance(attribute, str) and len(attribute) > MAX_KEY_NAME_LENGTH:
                raise ValidationError(
                    f"1 validation error detected: Value '{attribute}' at "
                    f"'{place}.{n}.member.attributeName' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {MAX_KEY_NAME_LENGTH}"
                )


def _check_projected_names(place: str, projection: Any) -> None:
    """An index's NonKeyAttributes are 255 characters at most each, as its key names."""
    names = projection.get("NonKeyAttributes") if isinstance(projection, dict) else None
    for n, attribute in enumerate(names if isinstance(names, list) else [], 1):
        if isinstance(attribute, str) and len(attribute) > MAX_KEY_NAME_LENGTH:
            raise ValidationError(
                f"1 validation error detected: Value '{attribute}' at "
                f"'{place}.projection.nonKeyAttributes.{n}.member' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_KEY_NAME_LENGTH}"
            )


def create_table(ctx: Context, request: dict[str, Any]) -> Outcome:
    """CreateTable: ACTIVE at once."""
    name = check_table_name(request.get("TableName"))
    _check_key_name_lengths(request)
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
    if billing == "PROVISIONED" and not (
        "ReadCapacityUnits" in throughput and "WriteCapacityUnits" in throughput
    ):
        raise ValidationError(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
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
    if request.get("Tags"):
        tags = {t["Key"]: t["Value"] for t in check_tags(request["Tags"])}
        description["_tags"] = check_tag_count(tags)
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
    limit = typed_member(request, "Limit", int, 100)
    if not 1 <= limit <= 100:
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
            if limit > 100
            else f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    start = typed_member(request, "ExclusiveStartTableName", str)
    names = [n for n in ctx.store.table_names() if start is None or n > start]
    body: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        body["LastEvaluatedTableName"] = names[limit - 1]
    return Outcome(body)
