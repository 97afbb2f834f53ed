"""Condition, update and projection expressions; malformed ones are ValidationExceptions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

KEY = {"id": {"S": "k"}}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def item(ddb: Any, users: str) -> dict[str, Any]:
    value = {
        **KEY,
        "fullname": {"S": "Ada Lovelace"},
        "age": {"N": "36"},
        "tags": {"SS": ["math", "poetry"]},
        "scores": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]},
        "address": {
            "M": {"city": {"S": "London"}, "addr_lines": {"L": [{"S": "12 St James's Sq"}]}}
        },
        "bits": {"B": b"\x01\x02"},
        "active": {"BOOL": True},
    }
    ddb.put_item(TableName=users, Item=value)
    return value


def holds(
    ddb: Any,
    expression: str,
    values: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
) -> bool:
    """Whether a condition holds for the item (via a conditional no-op update)."""
    kwargs: dict[str, Any] = {"ConditionExpression": expression}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        ddb.update_item(TableName="users", Key=KEY, **kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


N = lambda n: {"N": str(n)}  # noqa: E731
S = lambda s: {"S": s}  # noqa: E731


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("age = :v", {":v": N(36)}, True),
        ("age <> :v", {":v": N(36)}, False),
        ("age < :v", {":v": N(40)}, True),
        ("age <= :v", {":v": N(36)}, True),
        ("age > :v", {":v": N(36)}, False),
        ("age >= :v", {":v": N(36.0)}, True),
        ("age BETWEEN :a AND :b", {":a": N(30), ":b": N(40)}, True),
        ("age between :a and :b", {":a": N(37), ":b": N(40)}, False),
        ("age IN (:a, :b)", {":a": N(1), ":b": N(36)}, True),
        ("fullname = :v", {":v": N(36)}, False),
        ("absent = :v", {":v": N(36)}, False),
        ("absent <> :v", {":v": N(36)}, True),
        ("attribute_exists(address.city)", None, True),
        ("attribute_not_exists(address.zip)", None, True),
        ("attribute_type(tags, :t)", {":t": S("SS")}, True),
        ("attribute_type(age, :t)", {":t": S("S")}, False),
        ("begins_with(fullname, :p)", {":p": S("Ada")}, True),
        ("begins_with(bits, :p)", {":p": {"B": b"\x01"}}, True),
        ("contains(fullname, :p)", {":p": S("Love")}, True),
        ("contains(tags, :p)", {":p": S("poetry")}, True),
        ("contains(scores, :p)", {":p": N(2)}, True),
        ("size(fullname) = :n", {":n": N(12)}, True),
        ("size(tags) = :n", {":n": N(2)}, True),
        ("size(scores) > :n", {":n": N(2)}, True),
        ("scores[1] = :n", {":n": N(2)}, True),
        ("address.addr_lines[0] = :s", {":s": S("12 St James's Sq")}, True),
        ("NOT age = :v", {":v": N(36)}, False),
        ("age = :v OR age = :w AND fullname = :n", {":v": N(1), ":w": N(36), ":n": S("x")}, False),
        (
            "(age = :v OR age = :w) AND active = :t",
            {":v": N(1), ":w": N(36), ":t": {"BOOL": True}},
            True,
        ),
        ("age = :v or not (age = :w)", {":v": N(36), ":w": N(36)}, True),
    ],
)
def test_condition(ddb: Any, item: Any, expression: str, values: Any, expected: bool) -> None:
    assert holds(ddb, expression, values) is expected


def test_expression_attribute_names_stand_for_names(ddb: Any, item: Any) -> None:
    assert holds(
        ddb,
        "#n = :v AND #a.#c = :c",
        {":v": S("Ada Lovelace"), ":c": S("London")},
        {"#n": "fullname", "#a": "address", "#c": "city"},
    )


def test_condition_on_a_missing_item_sees_no_attributes(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item=KEY, ConditionExpression="attribute_not_exists(id)")
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item=KEY, ConditionExpression="attribute_not_exists(id)")
    assert error_of(excinfo) == (
        "ConditionalCheckFailedException",
        "The conditional request failed",
    )


def test_failed_condition_can_return_the_old_item(ddb: Any, item: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_item(
            TableName="users",
            Key=KEY,
            ConditionExpression="attribute_not_exists(id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert excinfo.value.response["Item"]["age"] == {"N": "36"}


def update(
    ddb: Any,
    expression: str,
    values: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"UpdateExpression": expression, "ReturnValues": "ALL_NEW"}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    return ddb.update_item(TableName="users", Key=KEY, **kwargs)["Attributes"]


def test_set_with_plus_and_minus(ddb: Any, item: Any) -> None:
    new = update(ddb, "SET age = age + :one, older = age - :neg", {":one": N(1), ":neg": N(-10)})
    assert (new["age"], new["older"]) == (N(37), N(46))


def test_set_reads_operands_before_any_change(ddb: Any, item: Any) -> None:
    new = update(ddb, "SET age = :v, duplicate = age", {":v": N(1)})
    assert new["duplicate"] == N(36)


def test_if_not_exists_keeps_an_existing_value(ddb: Any, item: Any) -> None:
    new = update(
        ddb, "SET age = if_not_exists(age, :z), visits = if_not_exists(visits, :z)", {":z": N(0)}
    )
    assert (new["age"], new["visits"]) == (N(36), N(0))


def test_list_append_at_either_end(ddb: Any, item: Any) -> None:
    update(ddb, "SET scores = list_append(:front, scores)", {":front": {"L": [N(0)]}})
    new = update(ddb, "SET scores = list_append(scores, :back)", {":back": {"L": [N(4)]}})
    assert new["scores"] == {"L": [N(0), N(1), N(2), N(3), N(4)]}


def test_list_append_inside_list_append_is_refused_as_dynamodb_does(ddb: Any, item: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        update(
            ddb,
            "SET scores = list_append(:front, list_append(scores, :back))",
            {":front": {"L": [N(0)]}, ":back": {"L": [N(4)]}},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append",
    )


def test_set_nested_map_member_and_list_element(ddb: Any, item: Any) -> None:
    new = update(
        ddb,
        "SET address.zip = :z, scores[1] = :n, scores[10] = :last",
        {":z": S("SW1"), ":n": N(20), ":last": N(99)},
    )
    assert new["address"]["M"]["zip"] == S("SW1")
    assert new["scores"] == {"L": [N(1), N(20), N(3), N(99)]}


def test_set_under_a_missing_parent_is_refused(ddb: Any, item: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        update(ddb, "SET nowhere.deep = :v", {":v": N(1)})
    assert error_of(excinfo) == (
        "ValidationException",
        "The document path provided in the update expression is invalid for update",
    )


def test_remove_attributes_and_list_elements(ddb: Any, item: Any) -> None:
    new = update(ddb, "REMOVE active, scores[0], scores[2], address.city")
    assert "active" not in new
    assert new["scores"] == {"L": [N(2)]}
    assert "city" not in new["address"]["M"]


def test_add_to_a_number_and_to_a_set(ddb: Any, item: Any) -> None:
    new = update(
        ddb,
        "ADD age :five, tags :more, tally :one",
        {":five": N(5), ":more": {"SS": ["chess", "math"]}, ":one": N(1)},
    )
    assert new["age"] == N(41)
    assert sorted(new["tags"]["SS"]) == ["chess", "math", "poetry"]
    assert new["tally"] == N(1)


def test_delete_from_a_set_and_the_last_member_removes_it(ddb: Any, item: Any) -> None:
    new = update(ddb, "DELETE tags :m", {":m": {"SS": ["math"]}})
    assert new["tags"] == {"SS": ["poetry"]}
    new = update(ddb, "DELETE tags :p", {":p": {"SS": ["poetry"]}})
    assert "tags" not in new


def test_all_four_clauses_in_one_update(ddb: Any, item: Any) -> None:
    new = update(
        ddb,
        "SET a = :one REMOVE active ADD age :one DELETE tags :m",
        {":one": N(1), ":m": {"SS": ["math"]}},
    )
    assert (new["a"], new["age"], new["tags"], "active" in new) == (
        N(1),
        N(37),
        {"SS": ["poetry"]},
        False,
    )


def test_projection_with_nested_paths(ddb: Any, item: Any) -> None:
    got = ddb.get_item(
        TableName="users",
        Key=KEY,
        ProjectionExpression="#n, address.city, scores[2], scores[0]",
        ExpressionAttributeNames={"#n": "fullname"},
    )["Item"]
    assert got == {
        "fullname": S("Ada Lovelace"),
        "address": {"M": {"city": S("London")}},
        "scores": {"L": [N(1), N(3)]},
    }


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"ConditionExpression": "age = = :v", "ExpressionAttributeValues": {":v": N(1)}},
            'Invalid ConditionExpression: Syntax error; token: "="',
        ),
        (
            {"ConditionExpression": "age = :v AND", "ExpressionAttributeValues": {":v": N(1)}},
            'Syntax error; token: "<EOF>"',
        ),
        (
            {"ConditionExpression": "age @ :v", "ExpressionAttributeValues": {":v": N(1)}},
            'Syntax error; token: "@"',
        ),
        ({"ConditionExpression": "nosuch(age)"}, "Invalid function name; function: nosuch"),
        (
            {"ConditionExpression": "size(age)"},
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        ({"ConditionExpression": "begins_with(age)"}, "Incorrect number of operands"),
        (
            {"ConditionExpression": "age = :nope"},
            "An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        (
            {"ConditionExpression": "#nope = :v", "ExpressionAttributeValues": {":v": N(1)}},
            "An expression attribute name used in the document path is not defined; attribute name: #nope",
        ),
        (
            {
                "ConditionExpression": "age = :v",
                "ExpressionAttributeValues": {":v": N(1), ":x": N(2)},
            },
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
        ),
        (
            {
                "ConditionExpression": "age = :v",
                "ExpressionAttributeValues": {":v": N(1)},
                "ExpressionAttributeNames": {"#x": "y"},
            },
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}",
        ),
        (
            {"UpdateExpression": "SET = :v", "ExpressionAttributeValues": {":v": N(1)}},
            'Invalid UpdateExpression: Syntax error; token: "="',
        ),
        (
            {
                "UpdateExpression": "SET a = :v SET b = :v",
                "ExpressionAttributeValues": {":v": N(1)},
            },
            'The "SET" section can only be used once',
        ),
        (
            {"UpdateExpression": "SET a = :v, a.b = :v", "ExpressionAttributeValues": {":v": N(1)}},
            "Two document paths overlap with each other",
        ),
        (
            {"UpdateExpression": "SET a = size(b)"},
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        (
            {"UpdateExpression": "ADD fullname :v", "ExpressionAttributeValues": {":v": S("x")}},
            "Incorrect operand type for operator or function; operator: ADD",
        ),
        (
            {
                "UpdateExpression": "SET a = fullname + :v",
                "ExpressionAttributeValues": {":v": N(1)},
            },
            "Incorrect operand type for operator or function",
        ),
        (
            {"UpdateExpression": "SET a = nothere"},
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        ({"UpdateExpression": ""}, "Invalid UpdateExpression: The expression can not be empty;"),
        (
            {
                "ConditionExpression": "attribute_type(age, :t)",
                "ExpressionAttributeValues": {":t": S("X")},
            },
            "Invalid attribute type name found",
        ),
        (
            {
                "ConditionExpression": "age BETWEEN :b AND :a",
                "ExpressionAttributeValues": {":a": N(1), ":b": N(2)},
            },
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound",
        ),
    ],
)
def test_malformed_expressions_are_validation_exceptions(
    ddb: Any, item: Any, kwargs: Any, words: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(TableName="users", Key=KEY, **kwargs)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert words in message


def test_an_unescaped_reserved_word_is_refused(ddb: Any, item: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName="users", Key=KEY, ProjectionExpression="age, Status")
    assert error_of(excinfo) == (
        "ValidationException",
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: Status",
    )


def test_a_reserved_word_through_a_name_ref_is_fine(ddb: Any, item: Any) -> None:
    got = ddb.update_item(
        TableName="users",
        Key=KEY,
        UpdateExpression="SET #s = :v",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":v": S("paid")},
        ReturnValues="UPDATED_NEW",
    )
    assert got["Attributes"] == {"status": S("paid")}


def test_malformed_projection_is_a_validation_exception(ddb: Any, item: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName="users", Key=KEY, ProjectionExpression="a..b")
    assert error_of(excinfo)[1].startswith('Invalid ProjectionExpression: Syntax error; token: "."')


def test_resource_api_with_attr_conditions(table_resource: Any, users: str) -> None:
    table = table_resource.Table(users)
    table.put_item(Item={"id": "k", "stock": 3, "state": "open"})
    table.update_item(
        Key={"id": "k"},
        UpdateExpression="SET stock = stock - :one",
        ConditionExpression=Attr("stock").gt(0)
        & Attr("state").eq("open")
        & Attr("gone").not_exists(),
        ExpressionAttributeValues={":one": 1},
    )
    with pytest.raises(ClientError) as excinfo:
        table.update_item(
            Key={"id": "k"},
            UpdateExpression="SET stock = stock - :one",
            ConditionExpression=Attr("stock").gt(5) | Attr("state").is_in(["closed"]),
            ExpressionAttributeValues={":one": 1},
        )
    assert error_of(excinfo)[0] == "ConditionalCheckFailedException"
    assert table.get_item(Key={"id": "k"})["Item"]["stock"] == Decimal(2)


def test_resource_api_conditions_with_every_attr_function(table_resource: Any, users: str) -> None:
    table = table_resource.Table(users)
    table.put_item(Item={"id": "k", "fullname": "Ada", "tags": {"a", "b"}, "n": 5})
    condition = (
        Attr("fullname").begins_with("A")
        & Attr("tags").contains("a")
        & Attr("fullname").size().eq(3)
        & Attr("n").between(1, 10)
        & Attr("n").attribute_type("N")
        & Attr("fullname").exists()
        & ~Attr("n").ne(5)
    )
    table.put_item(Item={"id": "k", "fullname": "Ada", "n": 6}, ConditionExpression=condition)
    assert table.get_item(Key={"id": "k"})["Item"]["n"] == Decimal(6)
