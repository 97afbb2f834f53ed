"""BatchGetItem and BatchWriteItem: limits, duplicates, unprocessed keys and items."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def put(i: int, **extra: Any) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"id": {"S": f"u{i}"}, **extra}}}


def test_batch_write_puts_and_deletes(ddb: Any, users: str) -> None:
    ddb.batch_write_item(RequestItems={users: [put(i) for i in range(3)]})
    response = ddb.batch_write_item(
        RequestItems={users: [put(3), {"DeleteRequest": {"Key": {"id": {"S": "u0"}}}}]}
    )
    assert response["UnprocessedItems"] == {}
    assert sorted(i["id"]["S"] for i in ddb.scan(TableName=users)["Items"]) == ["u1", "u2", "u3"]


def test_batch_write_over_25_requests_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={users: [put(i) for i in range(26)]})
    assert error_of(excinfo)[0] == "ValidationException"


def test_batch_write_with_duplicate_keys_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={users: [put(1), put(1)]})
    assert error_of(excinfo)[1] == "Provided list of item keys contains duplicates"


def test_batch_write_is_all_or_nothing_on_a_bad_item(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError):
        ddb.batch_write_item(
            RequestItems={users: [put(1), {"PutRequest": {"Item": {"no": {"S": "key"}}}}]}
        )
    assert ddb.scan(TableName=users)["Count"] == 0


def test_batch_get_returns_found_items_across_tables(ddb: Any, users: str, events: str) -> None:
    ddb.batch_write_item(RequestItems={users: [put(i) for i in range(3)]})
    ddb.put_item(TableName=events, Item={"pk": {"S": "p"}, "sk": {"N": "1"}})
    response = ddb.batch_get_item(
        RequestItems={
            users: {"Keys": [{"id": {"S": "u1"}}, {"id": {"S": "nobody"}}]},
            events: {"Keys": [{"pk": {"S": "p"}, "sk": {"N": "1"}}], "ProjectionExpression": "sk"},
        }
    )
    assert response["Responses"][users] == [{"id": {"S": "u1"}}]
    assert response["Responses"][events] == [{"sk": {"N": "1"}}]
    assert response["UnprocessedKeys"] == {}


def test_batch_get_over_100_keys_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_get_item(
            RequestItems={users: {"Keys": [{"id": {"S": f"u{i}"}} for i in range(101)]}}
        )
    assert error_of(excinfo)[1] == "Too many items requested for the BatchGetItem call"


def test_batch_get_past_16_mb_returns_unprocessed_keys(ddb: Any, users: str) -> None:
    blob = {"S": "x" * (390 * 1024)}
    for start in range(0, 50, 10):
        ddb.batch_write_item(
            RequestItems={users: [put(i, blob=blob) for i in range(start, start + 10)]}
        )
    keys = [{"id": {"S": f"u{i}"}} for i in range(50)]
    response = ddb.batch_get_item(RequestItems={users: {"Keys": keys}})
    got = len(response["Responses"][users])
    left = response["UnprocessedKeys"][users]["Keys"]
    assert 0 < got < 50
    assert got + len(left) == 50
    again = ddb.batch_get_item(RequestItems=response["UnprocessedKeys"])
    assert again["UnprocessedKeys"] == {}
    assert len(again["Responses"][users]) == len(left)


def test_projected_batch_get_counts_only_what_it_returns(ddb: Any, users: str) -> None:
    blob = {"S": "x" * (390 * 1024)}
    for start in range(0, 50, 10):
        ddb.batch_write_item(
            RequestItems={users: [put(i, blob=blob) for i in range(start, start + 10)]}
        )
    keys = [{"id": {"S": f"u{i}"}} for i in range(50)]
    response = ddb.batch_get_item(
        RequestItems={users: {"Keys": keys, "ProjectionExpression": "id"}}
    )
    assert len(response["Responses"][users]) == 50


def test_resource_batch_writer(table_resource: Any, users: str) -> None:
    table = table_resource.Table(users)
    with table.batch_writer() as batch:
        for i in range(60):
            batch.put_item(Item={"id": f"u{i}", "n": i})
    assert table.scan(Select="COUNT")["Count"] == 60
