"""Query and Scan: key conditions, order, Limit, paging, filters, COUNT, segments, 1 MB pages."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def filled(ddb: Any, events: str) -> str:
    """Partition "p" with sk 1..10 (odd ones flagged), partition "q" with sk 1."""
    for sk in range(1, 11):
        item = {"pk": {"S": "p"}, "sk": {"N": str(sk)}, "odd": {"BOOL": sk % 2 == 1}}
        ddb.put_item(TableName=events, Item=item)
    ddb.put_item(TableName=events, Item={"pk": {"S": "q"}, "sk": {"N": "1"}})
    return events


def keys(items: list[dict[str, Any]]) -> list[int]:
    return [int(i["sk"]["N"]) for i in items]


def query(ddb: Any, expression: str, **kwargs: Any) -> dict[str, Any]:
    values = {":p": {"S": "p"}, **kwargs.pop("values", {})}
    return ddb.query(
        TableName="events",
        KeyConditionExpression=expression,
        ExpressionAttributeValues=values,
        **kwargs,
    )


def test_query_returns_one_partition_in_sort_order(ddb: Any, filled: str) -> None:
    assert keys(query(ddb, "pk = :p")["Items"]) == list(range(1, 11))


def test_query_backwards(ddb: Any, filled: str) -> None:
    assert keys(query(ddb, "pk = :p", ScanIndexForward=False)["Items"]) == list(range(10, 0, -1))


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        ("sk = :a", {":a": {"N": "3"}}, [3]),
        ("sk < :a", {":a": {"N": "3"}}, [1, 2]),
        ("sk <= :a", {":a": {"N": "3"}}, [1, 2, 3]),
        ("sk > :a", {":a": {"N": "8"}}, [9, 10]),
        ("sk >= :a", {":a": {"N": "8"}}, [8, 9, 10]),
        ("sk BETWEEN :a AND :b", {":a": {"N": "4"}, ":b": {"N": "6"}}, [4, 5, 6]),
    ],
)
def test_sort_key_conditions(
    ddb: Any, filled: str, condition: str, values: Any, expected: list[int]
) -> None:
    assert keys(query(ddb, f"pk = :p AND {condition}", values=values)["Items"]) == expected


def test_begins_with_on_a_string_sort_key(ddb: Any) -> None:
    from kv_support import create_table

    create_table(ddb, "docs", ("pk", "S"), ("sk", "S"))
    for sk in ("a", "ab", "abc", "b", "a\uffff", "ac"):
        ddb.put_item(TableName="docs", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    items = ddb.query(
        TableName="docs",
        KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
        ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "ab"}},
    )["Items"]
    assert [i["sk"]["S"] for i in items] == ["ab", "abc"]


def test_limit_and_last_evaluated_key_page_through(ddb: Any, filled: str) -> None:
    seen: list[int] = []
    start = None
    pages = 0
    while True:
        kwargs = {"Limit": 3}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = query(ddb, "pk = :p", **kwargs)
        seen += keys(page["Items"])
        pages += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == list(range(1, 11))
    assert pages == 4


def test_paging_backwards(ddb: Any, filled: str) -> None:
    first = query(ddb, "pk = :p", Limit=4, ScanIndexForward=False)
    rest = query(
        ddb, "pk = :p", ScanIndexForward=False, ExclusiveStartKey=first["LastEvaluatedKey"]
    )
    assert keys(first["Items"]) + keys(rest["Items"]) == list(range(10, 0, -1))


def test_filter_applies_after_limit(ddb: Any, filled: str) -> None:
    page = query(
        ddb, "pk = :p", Limit=4, FilterExpression="odd = :t", values={":t": {"BOOL": True}}
    )
    assert keys(page["Items"]) == [1, 3]
    assert (page["Count"], page["ScannedCount"]) == (2, 4)


def test_select_count(ddb: Any, filled: str) -> None:
    page = query(
        ddb, "pk = :p", Select="COUNT", FilterExpression="odd = :t", values={":t": {"BOOL": True}}
    )
    assert "Items" not in page
    assert (page["Count"], page["ScannedCount"]) == (5, 10)


def test_query_projection(ddb: Any, filled: str) -> None:
    page = query(
        ddb, "pk = :p AND sk = :one", ProjectionExpression="odd", values={":one": {"N": "1"}}
    )
    assert page["Items"] == [{"odd": {"BOOL": True}}]


def test_query_without_the_hash_key_is_refused(ddb: Any, filled: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.query(
            TableName="events",
            KeyConditionExpression="sk = :a",
            ExpressionAttributeValues={":a": {"N": "1"}},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Query condition missed key schema element: pk",
    )


def test_query_on_a_non_key_attribute_is_refused(ddb: Any, filled: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        query(ddb, "pk = :p AND odd = :t", values={":t": {"BOOL": True}})
    assert error_of(excinfo)[1] == "Query key condition not supported"


def test_filter_on_a_key_attribute_is_refused(ddb: Any, filled: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        query(ddb, "pk = :p", FilterExpression="sk > :a", values={":a": {"N": "1"}})
    assert "Primary key attribute: sk" in error_of(excinfo)[1]


def test_key_condition_with_the_wrong_type_is_refused(ddb: Any, filled: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        query(ddb, "pk = :p AND sk = :a", values={":a": {"S": "1"}})
    assert "Condition parameter type does not match schema type" in error_of(excinfo)[1]


def test_resource_query_with_key_conditions(table_resource: Any, filled: str) -> None:
    table = table_resource.Table("events")
    items = table.query(
        KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(2, 4),
        FilterExpression=Attr("odd").eq(False),
    )["Items"]
    assert [int(i["sk"]) for i in items] == [2, 4]


def test_scan_returns_every_item(ddb: Any, filled: str) -> None:
    assert ddb.scan(TableName="events")["Count"] == 11


def test_scan_paginator_pages_through(ddb: Any, filled: str) -> None:
    pages = list(
        ddb.get_paginator("scan").paginate(TableName="events", PaginationConfig={"PageSize": 4})
    )
    assert sum(p["Count"] for p in pages) == 11
    assert len(pages) == 3


def test_scan_filter_and_count(ddb: Any, filled: str) -> None:
    page = ddb.scan(
        TableName="events",
        Select="COUNT",
        FilterExpression="odd = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    assert (page["Count"], page["ScannedCount"]) == (5, 11)


def test_parallel_scan_segments_cover_the_table_once(ddb: Any, users: str) -> None:
    for i in range(40):
        ddb.put_item(TableName=users, Item={"id": {"S": f"user{i}"}})
    found: list[str] = []
    for segment in range(4):
        page = ddb.scan(TableName=users, Segment=segment, TotalSegments=4)
        found += [i["id"]["S"] for i in page["Items"]]
    assert sorted(found) == sorted(f"user{i}" for i in range(40))


def test_segment_must_be_below_total_segments(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=users, Segment=4, TotalSegments=4)
    assert error_of(excinfo)[0] == "ValidationException"


def test_query_page_stops_at_1_mb(ddb: Any, events: str) -> None:
    blob = "x" * (100 * 1024)
    for sk in range(15):
        ddb.put_item(
            TableName=events, Item={"pk": {"S": "p"}, "sk": {"N": str(sk)}, "blob": {"S": blob}}
        )
    first = query(ddb, "pk = :p")
    assert len(first["Items"]) == 11  # the 11th item takes the page past 1 MB
    assert first["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "10"}}
    rest = query(ddb, "pk = :p", ExclusiveStartKey=first["LastEvaluatedKey"])
    assert keys(rest["Items"]) == [11, 12, 13, 14]
    assert "LastEvaluatedKey" not in rest


def test_scan_page_stops_at_1_mb(ddb: Any, users: str) -> None:
    blob = "x" * (200 * 1024)
    for i in range(8):
        ddb.put_item(TableName=users, Item={"id": {"S": f"u{i}"}, "blob": {"S": blob}})
    first = ddb.scan(TableName=users, Select="COUNT")
    assert first["ScannedCount"] == 6
    assert "LastEvaluatedKey" in first


def test_a_page_that_stops_at_limit_names_its_last_item_even_at_the_end(
    ddb: Any, filled: str
) -> None:
    # DynamoDB does not look past Limit: the page with the partition's last item still has a
    # LastEvaluatedKey, and the page after it is empty (Alternator's test_query_filter_paging).
    query = {
        "TableName": filled,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "p"}},
        "Limit": 10,
    }
    page = ddb.query(**query)
    assert keys(page["Items"]) == list(range(1, 11))
    assert page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "10"}}
    after = ddb.query(**query, ExclusiveStartKey=page["LastEvaluatedKey"])
    assert after["Items"] == [] and "LastEvaluatedKey" not in after
