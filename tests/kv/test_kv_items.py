"""Items through boto3: put, get, update, delete, ReturnValues, the 400 KB limit, key checks."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

KEY = {"id": {"S": "ada"}}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_put_then_get_returns_the_item(ddb: Any, users: str) -> None:
    item = {**KEY, "name": {"S": "Ada"}, "age": {"N": "36"}}
    ddb.put_item(TableName=users, Item=item)
    assert ddb.get_item(TableName=users, Key=KEY)["Item"] == item


def test_get_of_a_missing_item_has_no_item(ddb: Any, users: str) -> None:
    response = ddb.get_item(TableName=users, Key=KEY, ConsistentRead=True)
    assert "Item" not in response


def test_put_replaces_the_whole_item(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "a": {"S": "1"}})
    ddb.put_item(TableName=users, Item={**KEY, "b": {"S": "2"}})
    assert ddb.get_item(TableName=users, Key=KEY)["Item"] == {**KEY, "b": {"S": "2"}}


def test_put_return_values_all_old(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "v": {"N": "1"}})
    response = ddb.put_item(TableName=users, Item={**KEY, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == {**KEY, "v": {"N": "1"}}


def test_put_return_values_updated_new_is_invalid(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item=KEY, ReturnValues="ALL_NEW")
    assert error_of(excinfo) == ("ValidationException", "Return values set to invalid value")


def test_delete_removes_and_returns_old(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "v": {"N": "1"}})
    response = ddb.delete_item(TableName=users, Key=KEY, ReturnValues="ALL_OLD")
    assert response["Attributes"] == {**KEY, "v": {"N": "1"}}
    assert "Item" not in ddb.get_item(TableName=users, Key=KEY)


def test_delete_of_a_missing_item_succeeds(ddb: Any, users: str) -> None:
    assert "Attributes" not in ddb.delete_item(TableName=users, Key=KEY, ReturnValues="ALL_OLD")


def test_update_creates_a_missing_item(ddb: Any, users: str) -> None:
    response = ddb.update_item(
        TableName=users,
        Key=KEY,
        UpdateExpression="SET visits = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert response["Attributes"] == {**KEY, "visits": {"N": "1"}}


@pytest.mark.parametrize(
    ("returns", "expected"),
    [
        ("NONE", None),
        ("ALL_OLD", {**KEY, "a": {"N": "1"}, "b": {"S": "x"}}),
        ("UPDATED_OLD", {"a": {"N": "1"}}),
        ("ALL_NEW", {**KEY, "a": {"N": "2"}, "b": {"S": "x"}}),
        ("UPDATED_NEW", {"a": {"N": "2"}}),
    ],
)
def test_update_return_values(ddb: Any, users: str, returns: str, expected: Any) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "a": {"N": "1"}, "b": {"S": "x"}})
    response = ddb.update_item(
        TableName=users,
        Key=KEY,
        UpdateExpression="SET a = a + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues=returns,
    )
    assert response.get("Attributes") == expected


def test_item_over_400_kb_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={**KEY, "blob": {"S": "x" * (400 * 1024)}})
    assert error_of(excinfo) == (
        "ValidationException",
        "Item size has exceeded the maximum allowed size",
    )


def test_item_just_under_400_kb_is_stored(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "blob": {"S": "x" * (400 * 1024 - 20)}})
    assert len(ddb.get_item(TableName=users, Key=KEY)["Item"]["blob"]["S"]) == 400 * 1024 - 20


def test_update_that_grows_past_400_kb_is_refused(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "a": {"S": "x" * (300 * 1024)}})
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(
            TableName=users,
            Key=KEY,
            UpdateExpression="SET b = a",
        )
    assert error_of(excinfo)[1] == "Item size has exceeded the maximum allowed size"


def test_item_without_its_key_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={"name": {"S": "x"}})
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: Missing the key id in the item",
    )


def test_key_of_the_wrong_type_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName=users, Key={"id": {"N": "1"}})
    assert "Type mismatch for key id expected: S actual: N" in error_of(excinfo)[1]


def test_key_with_extra_attributes_does_not_match_the_schema(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName=users, Key={**KEY, "x": {"S": "y"}})
    assert error_of(excinfo) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )


def test_empty_string_key_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={"id": {"S": ""}})
    assert "cannot contain an empty string value. Key: id" in error_of(excinfo)[1]


def test_item_in_a_missing_table_is_resource_not_found(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName="missing", Key=KEY)
    assert error_of(excinfo) == ("ResourceNotFoundException", "Requested resource not found")


def test_cannot_update_a_key_attribute(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(
            TableName=users,
            Key=KEY,
            UpdateExpression="SET id = :v",
            ExpressionAttributeValues={":v": {"S": "b"}},
        )
    assert "Cannot update attribute id. This attribute is part of the key" in error_of(excinfo)[1]


def test_resource_table_put_get_with_python_values(table_resource: Any, users: str) -> None:
    from decimal import Decimal

    table = table_resource.Table(users)
    table.put_item(
        Item={"id": "ada", "n": Decimal("1.5"), "tags": {"x", "y"}, "m": {"l": [1, None]}}
    )
    item = table.get_item(Key={"id": "ada"})["Item"]
    assert item == {"id": "ada", "n": Decimal("1.5"), "tags": {"x", "y"}, "m": {"l": [1, None]}}
