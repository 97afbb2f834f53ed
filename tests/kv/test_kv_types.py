"""Every attribute type round-trips; numbers keep 38 digits and sort as DynamoDB sorts them."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from kv.errors import ValidationError
from kv.values import format_number, key_bytes, parse_number

KEY = {"id": {"S": "k"}}

EVERY_TYPE = {
    "s": {"S": "héllo ✓"},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\x01\xff"},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "z": {"NULL": True},
    "m": {"M": {"inner": {"L": [{"N": "1"}, {"S": "two"}, {"M": {}}]}}},
    "l": {"L": []},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"a", b"b"]},
    "empty": {"S": ""},
}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_every_type_round_trips(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, **EVERY_TYPE})
    item = ddb.get_item(TableName=users, Key=KEY)["Item"]
    assert {k: v for k, v in item.items() if k != "id"} == EVERY_TYPE


def test_numbers_keep_38_significant_digits(ddb: Any, users: str) -> None:
    digits = "1234567890123456789012345678901234567.8"
    ddb.put_item(TableName=users, Item={**KEY, "n": {"N": digits}})
    assert ddb.get_item(TableName=users, Key=KEY)["Item"]["n"] == {"N": digits}


def test_a_39th_significant_digit_is_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={**KEY, "n": {"N": "1" * 39}})
    assert error_of(excinfo) == (
        "ValidationException",
        "Attempting to store more than 38 significant digits in a Number",
    )


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("1.50", "1.5"),
        ("0010", "10"),
        ("-0", "0"),
        ("1e2", "100"),
        ("1E-130", "0." + "0" * 129 + "1"),
    ],
)
def test_numbers_are_stored_canonically(ddb: Any, users: str, text: str, stored: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "n": {"N": text}})
    assert ddb.get_item(TableName=users, Key=KEY)["Item"]["n"] == {"N": stored}


@pytest.mark.parametrize(
    ("text", "words"), [("1e126", "overflow"), ("1e-131", "underflow"), ("abc", "numeric")]
)
def test_numbers_out_of_range_or_malformed_are_refused(
    ddb: Any, users: str, text: str, words: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={**KEY, "n": {"N": text}})
    assert words in error_of(excinfo)[1]


def test_arithmetic_that_loses_precision_is_refused(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "n": {"N": "1" + "0" * 37}})
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(
            TableName=users,
            Key=KEY,
            UpdateExpression="SET n = n + :tiny",
            ExpressionAttributeValues={":tiny": {"N": "0.1"}},
        )
    assert error_of(excinfo)[0] == "ValidationException"


def test_38_digit_arithmetic_is_exact(ddb: Any, users: str) -> None:
    ddb.put_item(TableName=users, Item={**KEY, "n": {"N": "9" * 37}})
    response = ddb.update_item(
        TableName=users,
        Key=KEY,
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    assert response["Attributes"]["n"] == {"N": "1" + "0" * 37}


@pytest.mark.parametrize("kind", ["SS", "NS", "BS"])
def test_empty_sets_are_refused(ddb: Any, users: str, kind: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={**KEY, "s": {kind: []}})
    assert error_of(excinfo)[0] == "ValidationException"


def test_duplicate_set_members_are_refused(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={**KEY, "s": {"NS": ["1", "1.0"]}})
    assert "contains duplicates" in error_of(excinfo)[1]


def test_null_must_be_true(ddb: Any, users: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=users, Item={**KEY, "z": {"NULL": False}})
    assert "Null attribute value types must have the value of true" in error_of(excinfo)[1]


def test_number_sort_keys_order_numerically(ddb: Any, events: str) -> None:
    numbers = ["-1e10", "-2.5", "-2.25", "-1", "0", "1e-5", "0.5", "1", "9", "10", "1.5e20"]
    for n in reversed(numbers):
        ddb.put_item(TableName=events, Item={"pk": {"S": "p"}, "sk": {"N": n}})
    items = ddb.query(
        TableName=events,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert [Decimal(i["sk"]["N"]) for i in items] == sorted(Decimal(n) for n in numbers)


def test_string_sort_keys_order_by_utf8_bytes(ddb: Any) -> None:
    from kv_support import create_table

    create_table(ddb, "strings", ("pk", "S"), ("sk", "S"))
    words = ["b", "a", "B", "ab", "é", "z", "\U0001f600", "\uffff", ""]
    for w in words[:-1]:
        ddb.put_item(TableName="strings", Item={"pk": {"S": "p"}, "sk": {"S": w}})
    items = ddb.query(
        TableName="strings",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert [i["sk"]["S"] for i in items] == sorted(words[:-1], key=lambda w: w.encode())


def test_binary_sort_keys_order_by_bytes(ddb: Any) -> None:
    from kv_support import create_table

    create_table(ddb, "binaries", ("pk", "S"), ("sk", "B"))
    values = [b"\xff", b"\x00", b"\x00\x00", b"\x01", b"\x7f\xff"]
    for v in values:
        ddb.put_item(TableName="binaries", Item={"pk": {"S": "p"}, "sk": {"B": v}})
    items = ddb.query(
        TableName="binaries",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert [i["sk"]["B"] for i in items] == sorted(values)


def _number_text() -> st.SearchStrategy[str]:
    digits = st.text("0123456789", min_size=1, max_size=38).filter(lambda d: d.strip("0"))
    return st.builds(
        lambda sign, d, exp: f"{sign}{d}e{exp}",
        st.sampled_from(["", "-"]),
        digits,
        st.integers(-90, 85),
    )


@given(_number_text(), _number_text())
def test_number_key_bytes_order_is_numeric_order(a: str, b: str) -> None:
    x, y = parse_number(a), parse_number(b)
    ka, kb = key_bytes({"N": format_number(x)}), key_bytes({"N": format_number(y)})
    assert (ka < kb) == (x < y)
    assert (ka == kb) == (x == y)


@given(st.binary(max_size=8), st.binary(max_size=8))
def test_binary_key_bytes_order_is_byte_order(a: bytes, b: bytes) -> None:
    ka = key_bytes({"B": base64.b64encode(a).decode()})
    kb = key_bytes({"B": base64.b64encode(b).decode()})
    assert (ka < kb) == (a < b)


def test_parse_number_names_the_bad_text() -> None:
    with pytest.raises(ValidationError, match="cannot be converted to a numeric value: 1_000"):
        parse_number("1_000")
