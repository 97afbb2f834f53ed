"""Global and local secondary indexes: kept in step with writes, queried and scanned."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError


@pytest.fixture
def orders(ddb: Any) -> str:
    """Table ``orders`` (customer S, placed N) with a GSI by status and an LSI by amount."""
    ddb.create_table(
        TableName="orders",
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "placed", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "placed", "AttributeType": "N"},
            {"AttributeName": "state", "AttributeType": "S"},
            {"AttributeName": "amount", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-state",
                "KeySchema": [
                    {"AttributeName": "state", "KeyType": "HASH"},
                    {"AttributeName": "placed", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-amount",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    rows = [
        ("ada", 1, "open", 30),
        ("ada", 2, "paid", 10),
        ("bob", 3, "open", 20),
        ("bob", 4, "open", 5),
    ]
    for customer, placed, state, amount in rows:
        ddb.put_item(
            TableName="orders",
            Item={
                "customer": {"S": customer},
                "placed": {"N": str(placed)},
                "state": {"S": state},
                "amount": {"N": str(amount)},
                "note": {"S": "x"},
            },
        )
    ddb.put_item(
        TableName="orders", Item={"customer": {"S": "cy"}, "placed": {"N": "9"}}
    )  # no state
    return "orders"


def by_state(ddb: Any, state: str, **kwargs: Any) -> dict[str, Any]:
    return ddb.query(
        TableName="orders",
        IndexName="by-state",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": state}},
        **kwargs,
    )


def test_describe_table_lists_the_indexes(ddb: Any, orders: str) -> None:
    table = ddb.describe_table(TableName=orders)["Table"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-state"
    assert table["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    assert table["LocalSecondaryIndexes"][0]["IndexName"] == "by-amount"


def test_query_a_global_index_with_its_projection(ddb: Any, orders: str) -> None:
    items = by_state(ddb, "open")["Items"]
    assert [int(i["placed"]["N"]) for i in items] == [1, 3, 4]
    assert set(items[0]) == {"customer", "placed", "state"}  # KEYS_ONLY


def test_an_update_moves_an_item_between_index_partitions(ddb: Any, orders: str) -> None:
    ddb.update_item(
        TableName=orders,
        Key={"customer": {"S": "bob"}, "placed": {"N": "3"}},
        UpdateExpression="SET #s = :paid",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":paid": {"S": "paid"}},
    )
    assert [int(i["placed"]["N"]) for i in by_state(ddb, "open")["Items"]] == [1, 4]
    assert [int(i["placed"]["N"]) for i in by_state(ddb, "paid")["Items"]] == [2, 3]


def test_a_delete_leaves_the_index(ddb: Any, orders: str) -> None:
    ddb.delete_item(TableName=orders, Key={"customer": {"S": "ada"}, "placed": {"N": "1"}})
    assert [int(i["placed"]["N"]) for i in by_state(ddb, "open")["Items"]] == [3, 4]


def test_items_without_the_index_key_are_not_in_the_index(ddb: Any, orders: str) -> None:
    page = ddb.scan(TableName=orders, IndexName="by-state", Select="COUNT")
    assert page["Count"] == 4


def test_index_query_pages_with_index_and_table_keys(ddb: Any, orders: str) -> None:
    first = by_state(ddb, "open", Limit=2)
    assert first["LastEvaluatedKey"] == {
        "customer": {"S": "bob"},
        "placed": {"N": "3"},
        "state": {"S": "open"},
    }
    rest = by_state(ddb, "open", ExclusiveStartKey=first["LastEvaluatedKey"])
    assert [int(i["placed"]["N"]) for i in rest["Items"]] == [4]


def test_local_index_orders_a_partition_by_another_attribute(
    table_resource: Any, orders: str
) -> None:
    items = table_resource.Table(orders).query(
        IndexName="by-amount",
        KeyConditionExpression=Key("customer").eq("bob") & Key("amount").gt(1),
        ScanIndexForward=False,
    )["Items"]
    assert [int(i["amount"]) for i in items] == [20, 5]
    assert items[0]["note"] == "x"  # ALL projection


def test_an_index_key_of_the_wrong_type_is_refused(ddb: Any, orders: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName=orders,
            Item={"customer": {"S": "dan"}, "placed": {"N": "1"}, "state": {"N": "1"}},
        )
    assert (
        "Type mismatch for Index Key state Expected: S Actual: N IndexName: by-state"
        in (excinfo.value.response["Error"]["Message"])
    )


def test_consistent_read_on_a_global_index_is_refused(ddb: Any, orders: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        by_state(ddb, "open", ConsistentRead=True)
    assert excinfo.value.response["Error"]["Message"] == (
        "Consistent reads are not supported on global secondary indexes"
    )


def test_an_unknown_index_is_refused(ddb: Any, orders: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=orders, IndexName="nope")
    assert "does not have the specified index: nope" in excinfo.value.response["Error"]["Message"]


def test_indexes_survive_a_batch_write_and_delete_table(ddb: Any, orders: str) -> None:
    ddb.batch_write_item(
        RequestItems={
            orders: [
                {"DeleteRequest": {"Key": {"customer": {"S": "bob"}, "placed": {"N": "4"}}}},
                {
                    "PutRequest": {
                        "Item": {
                            "customer": {"S": "eve"},
                            "placed": {"N": "7"},
                            "state": {"S": "open"},
                        }
                    }
                },
            ]
        }
    )
    assert [int(i["placed"]["N"]) for i in by_state(ddb, "open")["Items"]] == [1, 3, 7]
    ddb.delete_table(TableName=orders)
    assert ddb.list_tables()["TableNames"] == []


def test_indexes_survive_a_restart(start_kv: Any, tmp_path: Any) -> None:
    from kv_support import client

    data = str(tmp_path / "indexed.sqlite")
    first = start_kv(data)
    ddb = client(first.server.url)
    ddb.create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "kind", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="things", Item={"id": {"S": "a"}, "kind": {"S": "k"}})
    first.stop()
    ddb = client(start_kv(data).server.url)
    items = ddb.query(
        TableName="things",
        IndexName="by-kind",
        KeyConditionExpression="kind = :k",
        ExpressionAttributeValues={":k": {"S": "k"}},
    )["Items"]
    assert items == [{"id": {"S": "a"}, "kind": {"S": "k"}}]
