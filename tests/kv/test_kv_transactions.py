"""TransactWriteItems and TransactGetItems: all or nothing, cancellation reasons."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from kv_support import client, create_table


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


# --- found by the Alternator suite's test_transact.py (docs/conformance-dynamodb.md) -------


def put(table: str, item: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item, **more}}


def test_an_invalid_key_cancels_with_a_validation_error_reason(ddb: Any, users: str) -> None:
    # DynamoDB validates the items before running anything and stops at the first bad one:
    # its reason is ValidationError, every other action's (even a false condition's) None.
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(
            TransactItems=[
                put(users, {"id": {"N": "7"}}),
                put(users, {"id": {"N": "8"}}),
                put(users, key("a"), ConditionExpression="attribute_exists(id)"),
            ]
        )
    response = excinfo.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    reasons = response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ValidationError", "None", "None"]
    assert "Type mismatch for key" in reasons[0]["Message"]
    assert "Message" not in reasons[1] and "Message" not in reasons[2]
    assert "Item" not in ddb.get_item(TableName=users, Key=key("a"))


def test_an_expression_error_refuses_the_whole_transaction(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(
            TransactItems=[put(users, key("a"), ConditionExpression="attribute_exists(#xyz)")]
        )
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "#xyz" in excinfo.value.response["Error"]["Message"]


def test_a_transaction_carries_4_mb_at_most(ddb: Any, users: str) -> None:
    big = {"S": "x" * 380_000}
    actions = [put(users, {**key(f"i{n}"), "x": big}) for n in range(12)]  # about 4.5 MB
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(TransactItems=actions)
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "size cannot exceed 4 MB" in excinfo.value.response["Error"]["Message"]
    assert "Item" not in ddb.get_item(TableName=users, Key=key("i0"))
    ddb.transact_write_items(TransactItems=actions[:10])  # about 3.8 MB: fine
    assert ddb.get_item(TableName=users, Key=key("i9"))["Item"]["x"] == big


def test_a_client_request_token_is_36_characters_at_most(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(TransactItems=[put(users, key("a"))], ClientRequestToken="t" * 37)
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "clientRequestToken" in excinfo.value.response["Error"]["Message"]


def increment(table: str) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": table,
                "Key": key("counter"),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]


def counter(ddb: Any, table: str) -> str:
    return ddb.get_item(TableName=table, Key=key("counter"))["Item"]["n"]["N"]


def test_a_retried_transaction_with_its_token_writes_once(ddb: Any, users: str) -> None:
    # What makes botocore's retries safe: boto3 puts a fresh token in every call it makes.
    ddb.transact_write_items(TransactItems=increment(users), ClientRequestToken="tok-1")
    ddb.transact_write_items(TransactItems=increment(users), ClientRequestToken="tok-1")
    assert counter(ddb, users) == "1"
    ddb.transact_write_items(TransactItems=increment(users))  # boto3's own token: a new one
    ddb.transact_write_items(TransactItems=increment(users))
    assert counter(ddb, users) == "3"


def test_a_token_reused_for_another_transaction_is_refused(ddb: Any, users: str) -> None:
    ddb.transact_write_items(TransactItems=[put(users, key("a"))], ClientRequestToken="tok-2")
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(TransactItems=[put(users, key("b"))], ClientRequestToken="tok-2")
    assert excinfo.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert "Item" not in ddb.get_item(TableName=users, Key=key("b"))


def test_a_token_expires_after_ten_minutes(start_kv: Any) -> None:
    now = [1_000_000.0]
    server = start_kv(clock=lambda: now[0])
    ddb = client(server.server.url)
    create_table(ddb, "users", ("id", "S"))
    ddb.transact_write_items(TransactItems=increment("users"), ClientRequestToken="tok-3")
    now[0] += 599
    ddb.transact_write_items(TransactItems=increment("users"), ClientRequestToken="tok-3")
    assert counter(ddb, "users") == "1"
    now[0] += 2  # past the 10-minute window: the token is free again
    ddb.transact_write_items(TransactItems=increment("users"), ClientRequestToken="tok-3")
    assert counter(ddb, "users") == "2"


def test_a_token_survives_a_restart(start_kv: Any, tmp_path: Any) -> None:
    data = str(tmp_path / "tokens.sqlite")
    first = start_kv(data=data)
    ddb = client(first.server.url)
    create_table(ddb, "users", ("id", "S"))
    ddb.transact_write_items(TransactItems=increment("users"), ClientRequestToken="tok-4")
    first.stop()
    ddb = client(start_kv(data=data).server.url)
    ddb.transact_write_items(TransactItems=increment("users"), ClientRequestToken="tok-4")
    assert counter(ddb, "users") == "1"


def test_a_name_that_is_not_a_string_is_a_serialization_error(kv_url: str, users: str) -> None:
    # boto3 refuses this before sending; other SDKs and raw HTTP reach the server.
    raw = client(kv_url, checked=False)
    with pytest.raises(ClientError) as excinfo:
        raw.transact_write_items(
            TransactItems=[
                put(
                    users,
                    key("a"),
                    ConditionExpression="attribute_exists(id)",
                    ExpressionAttributeNames={"#xyz": 7},
                )
            ]
        )
    assert excinfo.value.response["Error"]["Code"] == "SerializationException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
