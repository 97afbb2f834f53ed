"""Tables through boto3: create, describe, list with paging, delete, and their errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from kv_support import create_table


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_table_is_active_at_once(ddb: Any) -> None:
    create_table(ddb, "orders", ("id", "S"), ("at", "N"))
    table = ddb.describe_table(TableName="orders")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert table["TableArn"].endswith(":table/orders")


def test_describe_table_counts_items_and_bytes(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={"id": {"S": "a"}, "name": {"S": "Ada"}})
    table = ddb.describe_table(TableName=users)["Table"]
    assert table["ItemCount"] == 1
    assert table["TableSizeBytes"] > 0


def test_creating_an_existing_table_is_resource_in_use(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        create_table(ddb, users, ("id", "S"))
    assert error_of(excinfo) == ("ResourceInUseException", "Table already exists: users")


def test_describing_a_missing_table_is_resource_not_found(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.describe_table(TableName="nothing")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_table_waiter_sees_the_table(ddb: Any, users: str) -> None:
    ddb.get_waiter("table_exists").wait(TableName=users, WaiterConfig={"Delay": 0.01})


def test_list_tables_pages_with_limit(ddb: Any) -> None:
    for name in ("t-a", "t-b", "t-c"):
        create_table(ddb, name + "x", ("id", "S"))
    first = ddb.list_tables(Limit=2)
    assert first["TableNames"] == ["t-ax", "t-bx"]
    second = ddb.list_tables(Limit=2, ExclusiveStartTableName=first["LastEvaluatedTableName"])
    assert second["TableNames"] == ["t-cx"]
    assert "LastEvaluatedTableName" not in second


def test_list_tables_paginator_returns_all(ddb: Any) -> None:
    for i in range(5):
        create_table(ddb, f"table{i}", ("id", "S"))
    pages = ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2})
    assert [n for page in pages for n in page["TableNames"]] == [f"table{i}" for i in range(5)]


def test_delete_table_removes_it_and_its_items(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={"id": {"S": "a"}})
    assert ddb.delete_table(TableName=users)["TableDescription"]["TableStatus"] == "DELETING"
    assert ddb.list_tables()["TableNames"] == []
    create_table(ddb, users, ("id", "S"))
    assert "Item" not in ddb.get_item(TableName=users, Key={"id": {"S": "a"}})


def test_key_schema_must_match_attribute_definitions(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(
            TableName="bad-table",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "extra", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "does not exactly match" in message


def test_table_names_are_checked(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        create_table(ddb, "no spaces", ("id", "S"))
    assert error_of(excinfo)[0] == "ValidationException"
