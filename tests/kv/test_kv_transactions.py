"""TransactWriteItems and TransactGetItems: all or nothing, cancellation reasons."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def key(i: str) -> dict[str, Any]:
    return {"id": {"S": i}}


def test_transact_write_applies_every_action(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**key("b"), "n": {"N": "1"}})
    ddb.put_item(TableName=users, Item=key("c"))
    ddb.put_item(TableName=users, Item={**key("d"), "ok": {"BOOL": True}})
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": users,
                    "Item": key("a"),
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
            {
                "Update": {
                    "TableName": users,
                    "Key": key("b"),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": users, "Key": key("c")}},
            {
                "ConditionCheck": {
                    "TableName": users,
                    "Key": key("d"),
                    "ConditionExpression": "ok = :t",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}},
                }
            },
        ]
    )
    ids = sorted(i["id"]["S"] for i in ddb.scan(TableName=users)["Items"])
    assert ids == ["a", "b", "d"]
    assert ddb.get_item(TableName=users, Key=key("b"))["Item"]["n"] == {"N": "2"}


def test_one_failed_condition_cancels_the_whole_transaction(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**key("b"), "n": {"N": "1"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": users, "Item": key("a")}},
                {
                    "ConditionCheck": {
                        "TableName": users,
                        "Key": key("b"),
                        "ConditionExpression": "n > :five",
                        "ExpressionAttributeValues": {":five": {"N": "5"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    response = excinfo.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in response["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
    ]
    assert response["CancellationReasons"][1]["Item"]["n"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName=users, Key=key("a"))


def test_two_actions_on_one_item_are_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": users, "Item": key("a")}},
                {"Delete": {"TableName": users, "Key": key("a")}},
            ]
        )
    assert excinfo.value.response["Error"]["Message"] == (
        "Transaction request cannot include multiple operations on one item"
    )


def test_transact_get_reads_items_in_order(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**key("a"), "v": {"S": "x"}})
    response = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": users, "Key": key("missing")}},
            {"Get": {"TableName": users, "Key": key("a"), "ProjectionExpression": "v"}},
        ]
    )
    assert response["Responses"] == [{}, {"Item": {"v": {"S": "x"}}}]
