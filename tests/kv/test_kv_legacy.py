"""Legacy parameters (Expected, AttributeUpdates, KeyConditions, QueryFilter, ScanFilter, ...)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

KEY = {"id": {"S": "k"}}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_expected_exists_false_guards_a_put(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item=KEY, Expected={"id": {"Exists": False}})
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item=KEY, Expected={"id": {"Exists": False}})
    assert error_of(excinfo)[0] == "ConditionalCheckFailedException"


def test_expected_value_and_comparison_operators(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "n": {"N": "5"}, "s": {"S": "abc"}})
    ddb.delete_item(
        TableName=users,
        Key=KEY,
        Expected={
            "n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "9"}]},
            "s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]},
        },
    )
    assert "Item" not in ddb.get_item(TableName=users, Key=KEY)


def test_conditional_operator_or(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "n": {"N": "5"}})
    ddb.put_item(
        TableName=users,
        Item=KEY,
        Expected={"n": {"Value": {"N": "1"}}, "absent": {"ComparisonOperator": "NULL"}},
        ConditionalOperator="OR",
    )


def test_attribute_updates_put_add_delete(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "gone": {"S": "x"}, "tags": {"SS": ["a", "b"]}})
    new = ddb.update_item(
        TableName=users,
        Key=KEY,
        AttributeUpdates={
            "n": {"Action": "ADD", "Value": {"N": "3"}},
            "v": {"Value": {"S": "put"}},
            "gone": {"Action": "DELETE"},
            "tags": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert new == {**KEY, "n": {"N": "3"}, "v": {"S": "put"}, "tags": {"SS": ["b"]}}


def test_key_conditions_and_query_filter(ddb: Any, events: str) -> None:
    for sk in range(1, 6):
        ddb.put_item(
            TableName=events,
            Item={"pk": {"S": "p"}, "sk": {"N": str(sk)}, "odd": {"BOOL": sk % 2 == 1}},
        )
    items = ddb.query(
        TableName=events,
        KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "2"}]},
        },
        QueryFilter={"odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}},
        AttributesToGet=["sk"],
    )["Items"]
    assert items == [{"sk": {"N": "3"}}, {"sk": {"N": "5"}}]


def test_scan_filter(ddb: Any, users: str) -> None:
    for i in range(4):
        ddb.put_item(TableName=users, Item={"id": {"S": f"u{i}"}, "n": {"N": str(i)}})
    page = ddb.scan(
        TableName=users,
        ScanFilter={
            "n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]}
        },
    )
    assert page["Count"] == 2


def test_mixing_legacy_and_expression_parameters_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName=users,
            Item=KEY,
            Expected={"id": {"Exists": False}},
            ConditionExpression="attribute_not_exists(id)",
        )
    assert error_of(excinfo)[1].startswith(
        "Can not use both expression and non-expression parameters in the same request"
    )


def test_wrong_number_of_legacy_arguments_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(
            TableName=users,
            ScanFilter={"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}]}},
        )
    assert (
        "Invalid number of argument(s) for the BETWEEN ComparisonOperator" in error_of(excinfo)[1]
    )


# --- found by the Alternator suite's test_expected.py (docs/conformance-dynamodb.md) --------


@pytest.mark.parametrize(
    ("operator", "values", "kind"),
    [
        ("CONTAINS", [{"L": [{"N": "1"}]}], "L"),
        ("NOT_CONTAINS", [{"NS": ["1"]}], "NS"),
        ("IN", [{"L": [{"N": "1"}]}, {"L": [{"N": "2"}]}], "L"),
    ],
)
def test_contains_and_in_take_scalar_values_only(
    ddb: Any, users: str, operator: str, values: list[Any], kind: str
) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "a": {"S": "hello"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName=users,
            Item=KEY,
            Expected={"a": {"ComparisonOperator": operator, "AttributeValueList": values}},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: "
        f"ComparisonOperator {operator} is not valid for {kind} AttributeValue type",
    )


def test_in_values_must_share_one_type(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName=users,
            Item=KEY,
            Expected={
                "a": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "3"}, {"S": "dog"}]}
            },
        )
    assert error_of(excinfo)[0] == "ValidationException"
    assert "must all be of the same type" in error_of(excinfo)[1]


@pytest.mark.parametrize("clash", [{"Exists": False}, {"Value": {"N": "3"}}])
def test_expected_comparison_operator_excludes_value_and_exists(
    ddb: Any, users: str, clash: dict[str, Any]
) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "a": {"N": "3"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName=users,
            Item={**KEY, "b": {"N": "1"}},
            Expected={
                "a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "3"}], **clash}
            },
        )
    assert error_of(excinfo)[0] == "ValidationException"
    assert "cannot be used together with ComparisonOperator" in error_of(excinfo)[1]
    assert "b" not in ddb.get_item(TableName=users, Key=KEY)["Item"]
