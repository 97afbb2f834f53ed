"""DynamoDB behaviours found missing by ScyllaDB's Alternator conformance suite, through boto3.

Each test is one rule the suite checks (it was written against AWS DynamoDB); see
docs/conformance-dynamodb.md for the run and what is still different.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def users_table(table_resource: Any, users: str) -> Any:
    """The ``users`` table (HASH ``id``) as a boto3 Table."""
    return table_resource.Table(users)


@pytest.fixture
def events_table(table_resource: Any, events: str) -> Any:
    """The ``events`` table (HASH ``pk`` S, RANGE ``sk`` N) as a boto3 Table."""
    return table_resource.Table(events)


# --- expression grammar ---------------------------------------------------------------


def test_an_unquoted_name_must_start_with_a_letter(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(
            Key={"id": "a"}, UpdateExpression="SET _n = :v", ExpressionAttributeValues={":v": 1}
        )
    assert error_of(excinfo) == (
        "ValidationException",
        'Invalid UpdateExpression: Syntax error; token: "_", near: "SET _n = :v"',
    )


def test_a_function_argument_cannot_be_a_sum(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(
            Key={"id": "a"},
            UpdateExpression="SET c = if_not_exists(c, :a + :b)",
            ExpressionAttributeValues={":a": 1, ":b": 2},
        )
    assert "Syntax error" in error_of(excinfo)[1]


def test_a_path_deeper_than_32_levels_is_refused(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.get_item(Key={"id": "a"}, ProjectionExpression="a" + ".b" * 32)
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33",
    )


# --- update expressions ----------------------------------------------------------------


def test_paths_that_index_and_name_one_parent_conflict(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(
            Key={"id": "a"},
            UpdateExpression="SET a.b = :x, a[1] = :y",
            ExpressionAttributeValues={":x": 1, ":y": 2},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]",
    )


def test_remove_through_a_parent_that_is_not_a_map_is_invalid(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "s": "text"})
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(Key={"id": "a"}, UpdateExpression="REMOVE s.c")
    assert error_of(excinfo) == (
        "ValidationException",
        "The document path provided in the update expression is invalid for update",
    )


def test_remove_past_a_list_end_is_ignored(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "l": [1, 2]})
    users_table.update_item(Key={"id": "a"}, UpdateExpression="REMOVE l[7]")
    assert users_table.get_item(Key={"id": "a"})["Item"]["l"] == [1, 2]


def test_elements_set_past_a_list_end_are_appended_in_element_order(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "l": ["x"]})
    users_table.update_item(
        Key={"id": "a"},
        UpdateExpression="SET l[84] = :a, l[17] = :b, l[50] = :c",
        ExpressionAttributeValues={":a": "84", ":b": "17", ":c": "50"},
    )
    assert users_table.get_item(Key={"id": "a"})["Item"]["l"] == ["x", "17", "50", "84"]


def test_an_update_that_only_removes_creates_no_item(users_table: Any) -> None:
    answer = users_table.update_item(
        Key={"id": "ghost"}, UpdateExpression="REMOVE a.b", ReturnValues="ALL_NEW"
    )
    assert "Attributes" not in answer
    assert "Item" not in users_table.get_item(Key={"id": "ghost"})


def test_attribute_updates_add_appends_to_a_list(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "l": [1]})
    users_table.update_item(
        Key={"id": "a"}, AttributeUpdates={"l": {"Action": "ADD", "Value": [2]}}
    )
    assert users_table.get_item(Key={"id": "a"})["Item"]["l"] == [1, 2]


def test_attribute_updates_delete_of_another_set_type_is_a_type_mismatch(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "ns": {1, 2}})
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(
            Key={"id": "a"}, AttributeUpdates={"ns": {"Action": "DELETE", "Value": {"x"}}}
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for attribute to update",
    )


# --- conditions ------------------------------------------------------------------------


def test_ordering_against_a_list_value_is_a_validation_error(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "n": 1})
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(
            Item={"id": "a"}, ConditionExpression="n < :v", ExpressionAttributeValues={":v": [1]}
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: L",
    )


def test_ordering_against_a_list_attribute_only_fails_the_condition(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "l": [1]})
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(
            Item={"id": "a"}, ConditionExpression="l < :v", ExpressionAttributeValues={":v": 1}
        )
    assert error_of(excinfo)[0] == "ConditionalCheckFailedException"


def test_between_value_bounds_of_two_types_are_refused(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(
            Item={"id": "a"},
            ConditionExpression="n BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":lo": 1, ":hi": "z"},
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "BETWEEN operator requires same data type for lower and upper bounds" in message


def test_between_bounds_read_from_the_item_only_fail_the_condition(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "n": 1, "two": 2})
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(
            Item={"id": "a"},
            ConditionExpression="n BETWEEN two AND :hi",
            ExpressionAttributeValues={":hi": 1},
        )
    assert error_of(excinfo)[0] == "ConditionalCheckFailedException"


def test_begins_with_a_number_value_is_refused(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(
            Item={"id": "a"},
            ConditionExpression="begins_with(s, :v)",
            ExpressionAttributeValues={":v": 2},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
    )


def test_attribute_type_accepts_a_value_as_its_subject(users_table: Any) -> None:
    users_table.put_item(
        Item={"id": "a"},
        ConditionExpression="attribute_type(:n, :t)",
        ExpressionAttributeValues={":n": 0, ":t": "N"},
    )
    assert users_table.get_item(Key={"id": "a"})["Item"] == {"id": "a"}


def test_attribute_type_wants_a_value_as_its_type(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(Item={"id": "a"}, ConditionExpression="attribute_type(a, b)")
    assert error_of(excinfo)[0] == "ValidationException"


def test_contains_of_an_attribute_in_itself_is_refused(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(Item={"id": "a"}, ConditionExpression="contains(a, a)")
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "first operand must be distinct" in message


# --- reads -----------------------------------------------------------------------------


def test_attributes_to_get_with_a_duplicate_is_refused(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.get_item(Key={"id": "a"}, AttributesToGet=["x", "x"])
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: Duplicate value in attribute name: x",
    )


def test_projection_overlap_is_refused_even_without_the_item(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.get_item(Key={"id": "missing"}, ProjectionExpression="a.b, a[1]")
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]",
    )


def test_two_conditions_on_the_hash_key_are_refused(events_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        events_table.query(KeyConditionExpression=Key("pk").eq("a") & Key("pk").eq("a"))
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
    )


def test_a_nested_path_in_a_key_condition_is_refused(events_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        events_table.query(
            KeyConditionExpression="pk = :p AND sk.x < :s",
            ExpressionAttributeValues={":p": "a", ":s": Decimal(1)},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid KeyConditionExpression: KeyConditionExpressions cannot contain nested attributes",
    )


# --- tables ----------------------------------------------------------------------------


def test_provisioned_billing_needs_provisioned_throughput(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(
            TableName="provisioned",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
    )
    assert ddb.list_tables()["TableNames"] == []


# --- wire and limits -------------------------------------------------------------------


def _post(url: str, operation: str, body: bytes) -> tuple[int, bytes]:
    """A raw DynamoDB call (the server takes unsigned calls without --access-key)."""
    request = urllib.request.Request(
        url + "/",
        data=body,
        method="POST",
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_an_attribute_may_nest_31_containers(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "doc": _nested(31)})
    assert users_table.get_item(Key={"id": "a"})["Item"]["doc"] == _nested(31)


def test_an_attribute_nesting_deeper_is_refused(users_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(Item={"id": "a", "doc": _nested(32)})
    assert error_of(excinfo) == (
        "ValidationException",
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
    )


def test_json_nested_beyond_the_parser_is_a_serialization_error(kv_url: str, users: str) -> None:
    doc = '{"":' * 200_000 + "{}" + "}" * 200_000
    body = f'{{"TableName": "{users}", "Item": {{"id": {{"S": "x"}}, "doc": {doc}}}}}'
    status, answer = _post(kv_url, "PutItem", body.encode())
    assert status == 400
    assert json.loads(answer)["__type"].endswith("#SerializationException")


def test_a_request_over_16_mb_is_refused_with_413(kv_url: str, users: str) -> None:
    padding = " " * (16 * 1024 * 1024)
    body = f'{{"TableName": "{users}",{padding}"Item": {{"id": {{"S": "x"}}}}}}'
    status, answer = _post(kv_url, "PutItem", body.encode())
    assert status == 413
    assert json.loads(answer)["__type"].endswith("#RequestEntityTooLarge")


def test_tag_and_untag_answer_an_empty_body(kv_url: str, ddb: Any, users: str) -> None:
    arn = ddb.describe_table(TableName=users)["Table"]["TableArn"]
    tag = json.dumps({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]})
    assert _post(kv_url, "TagResource", tag.encode()) == (200, b"")
    untag = json.dumps({"ResourceArn": arn, "TagKeys": ["k"]})
    assert _post(kv_url, "UntagResource", untag.encode()) == (200, b"")
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


# --- tags ------------------------------------------------------------------------------


def _tags(first: int, last: int) -> list[dict[str, str]]:
    return [{"Key": str(n), "Value": str(n)} for n in range(first, last)]


def test_a_table_holds_at_most_50_tags(ddb: Any, users: str) -> None:
    arn = ddb.describe_table(TableName=users)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=_tags(0, 50))
    with pytest.raises(ClientError) as excinfo:
        ddb.tag_resource(ResourceArn=arn, Tags=_tags(50, 51))
    assert error_of(excinfo)[0] == "ValidationException"
    assert len(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]) == 50


def test_create_table_with_too_many_tags_creates_nothing(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(
            TableName="tagged",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=_tags(0, 100),
        )
    assert error_of(excinfo)[0] == "ValidationException"
    assert ddb.list_tables()["TableNames"] == []


@pytest.mark.parametrize("key, value", [("ok", "#!%^$&"), ("->>;-)", "ok")])
def test_tags_take_letters_digits_spaces_and_few_signs(
    ddb: Any, users: str, key: str, value: str
) -> None:
    arn = ddb.describe_table(TableName=users)["Table"]["TableArn"]
    with pytest.raises(ClientError) as excinfo:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": key, "Value": value}])
    assert error_of(excinfo)[0] == "ValidationException"


def test_an_empty_tag_list_is_refused(ddb: Any, users: str) -> None:
    arn = ddb.describe_table(TableName=users)["Table"]["TableArn"]
    with pytest.raises(ClientError) as excinfo:
        ddb.tag_resource(ResourceArn=arn, Tags=[])
    assert error_of(excinfo)[0] == "ValidationException"


# --- local secondary indexes -----------------------------------------------------------


@pytest.fixture
def by_amount(table_resource: Any) -> Any:
    """Table ``orders`` (customer, placed) with a KEYS_ONLY local index ``by-amount``."""
    return table_resource.create_table(
        TableName="orders",
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "placed", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "placed", "AttributeType": "N"},
            {"AttributeName": "amount", "AttributeType": "N"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-amount",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


ORDER = {"customer": "ada", "placed": 1, "amount": 5, "note": "gift"}


def test_a_local_index_answers_its_projection_by_default(by_amount: Any) -> None:
    by_amount.put_item(Item=ORDER)
    items = by_amount.query(IndexName="by-amount", KeyConditionExpression=Key("customer").eq("ada"))
    assert items["Items"] == [{"customer": "ada", "placed": 1, "amount": 5}]


def test_a_local_index_fetches_all_attributes_from_the_table(by_amount: Any) -> None:
    by_amount.put_item(Item=ORDER)
    items = by_amount.query(
        IndexName="by-amount",
        KeyConditionExpression=Key("customer").eq("ada"),
        Select="ALL_ATTRIBUTES",
    )
    assert items["Items"] == [ORDER]


def test_a_local_index_fetches_named_attributes_from_the_table(by_amount: Any) -> None:
    by_amount.put_item(Item=ORDER)
    items = by_amount.query(
        IndexName="by-amount",
        KeyConditionExpression=Key("customer").eq("ada"),
        ProjectionExpression="note",
    )
    assert items["Items"] == [{"note": "gift"}]


def test_describe_table_counts_each_index(by_amount: Any, ddb: Any) -> None:
    by_amount.put_item(Item=ORDER)
    by_amount.put_item(Item={"customer": "bob", "placed": 2})  # no amount: not in the index
    (index,) = ddb.describe_table(TableName="orders")["Table"]["LocalSecondaryIndexes"]
    assert index["ItemCount"] == 1
    assert index["IndexSizeBytes"] > 0


def test_an_index_without_a_projection_type_is_refused(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "state", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-state",
                    "KeySchema": [{"AttributeName": "state", "KeyType": "HASH"}],
                    "Projection": {},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "Unknown ProjectionType: null" in message
    assert ddb.list_tables()["TableNames"] == []


def test_key_conditions_errors_speak_of_comparison_operators(events_table: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        events_table.query(
            KeyConditions={
                "pk": {"AttributeValueList": ["a"], "ComparisonOperator": "EQ"},
                "sk": {"AttributeValueList": [3], "ComparisonOperator": "BEGINS_WITH"},
            }
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
    )


# --- found by test_limits.py (names and expression limits) ---------------------------------


def test_an_attribute_name_is_under_64_kb(users_table: Any) -> None:
    longest = "n" * 65535
    users_table.put_item(Item={"id": "a", longest: 1})
    assert users_table.get_item(Key={"id": "a"}, AttributesToGet=[longest])["Item"] == {longest: 1}
    with pytest.raises(ClientError) as excinfo:
        users_table.put_item(Item={"id": "a", longest + "n": 1})
    assert error_of(excinfo) == (
        "ValidationException",
        "One or more parameter values were invalid: Attribute name is too large, "
        "must be less than 65536 bytes",
    )
    with pytest.raises(ClientError) as excinfo:
        users_table.get_item(
            Key={"id": "a"},
            ProjectionExpression="#n",
            ExpressionAttributeNames={"#n": longest + "n"},
        )
    assert "65536" in error_of(excinfo)[1]


def key_schema(*names: str) -> dict[str, Any]:
    return {
        "KeySchema": [
            {"AttributeName": n, "KeyType": k}
            for n, k in zip(names, ("HASH", "RANGE"), strict=False)
        ],
    }


@pytest.mark.parametrize("where", ["KeySchema", "AttributeDefinitions", "index", "projected"])
def test_key_and_projected_names_are_255_characters_at_most(ddb: Any, where: str) -> None:
    long = "k" * 256
    hash_name = long if where == "KeySchema" else "id"
    request: dict[str, Any] = {
        "TableName": "things",
        "BillingMode": "PAY_PER_REQUEST",
        **key_schema(hash_name),
        # incoherent on purpose: the length is what DynamoDB reports first
        "AttributeDefinitions": [
            {
                "AttributeName": long if where == "AttributeDefinitions" else "id",
                "AttributeType": "S",
            }
        ],
    }
    if where in ("index", "projected"):
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "gsi",
                **key_schema(long if where == "index" else "id"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": [long]}
                if where == "projected"
                else {"ProjectionType": "ALL"},
            }
        ]
    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(**request)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 255" in message


def test_an_expression_is_4_kb_at_most(users_table: Any) -> None:
    users_table.get_item(Key={"id": "a"}, ProjectionExpression="x" * 4096)
    with pytest.raises(ClientError) as excinfo:
        users_table.get_item(Key={"id": "a"}, ProjectionExpression="x" * 4097)
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size; "
        "expression size: 4097",
    )


def test_an_expression_holds_300_operators_at_most(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "a": 1, "b": 2})

    def condition(depth: int) -> str:  # 2 * depth + 1 operators
        return "a<b " + "or (a<b " * depth + ")" * depth

    users_table.update_item(
        Key={"id": "a"},
        UpdateExpression="SET z = :v",
        ConditionExpression=condition(149),
        ExpressionAttributeValues={":v": 1},
    )
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(
            Key={"id": "a"},
            UpdateExpression="SET z = :v",
            ConditionExpression=condition(150),
            ExpressionAttributeValues={":v": 1},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ConditionExpression: The expression contains too many operators; "
        "operator count: 301",
    )


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("not " * 20000 + "a<b", "Expression size has exceeded the maximum allowed size"),
        ("not " * 1000 + "a<b", "too many operators"),
        ("a < " + "f(" * 1355 + "b" + ")" * 1355, "nested too deeply"),
        ("((a<b))", "The expression has redundant parentheses"),
        ("(" * 2046 + "a<b" + ")" * 2046, "The expression has redundant parentheses"),
    ],
    ids=["long", "many-nots", "deep-calls", "doubled-parentheses", "deep-parentheses"],
)
def test_deep_expressions_are_refused_cleanly(
    users_table: Any, condition: str, problem: str
) -> None:
    # These used to be InternalServerError (RecursionError) or were accepted.
    with pytest.raises(ClientError) as excinfo:
        users_table.update_item(
            Key={"id": "a"},
            UpdateExpression="SET z = :v",
            ConditionExpression=condition,
            ExpressionAttributeValues={":v": 1},
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith("Invalid ConditionExpression: ") and problem in message


def test_single_parentheses_and_calls_stay_fine(users_table: Any) -> None:
    users_table.put_item(Item={"id": "a", "a": 1, "b": 2, "s": "xy"})
    users_table.update_item(
        Key={"id": "a"},
        UpdateExpression="SET z = :v",
        ConditionExpression="(a < b) and (size(s) = :two) and ((a < b) or (b < a))",
        ExpressionAttributeValues={":v": 1, ":two": 2},
    )
    assert users_table.get_item(Key={"id": "a"})["Item"]["z"] == 1
