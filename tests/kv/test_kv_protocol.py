"""The wire: X-Amz-Target, JSON errors with __type, x-amz-crc32, health, metrics, no 500s."""

from __future__ import annotations

import json
import urllib.request
import zlib
from typing import Any

TARGET = "DynamoDB_20120810."


def post(url: str, target: str | None, body: bytes) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(url + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def test_answers_carry_the_json_content_type_and_crc32(kv_url: str) -> None:
    status, headers, body = post(kv_url, TARGET + "ListTables", b"{}")
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert int(headers["x-amz-crc32"]) == zlib.crc32(body)
    assert json.loads(body) == {"TableNames": []}


def test_unknown_operation_is_unknown_operation_exception(kv_url: str) -> None:
    status, _, body = post(kv_url, TARGET + "FlyToTheMoon", b"{}")
    assert status == 400
    assert (
        json.loads(body)["__type"] == "com.amazonaws.dynamodb.v20120810#UnknownOperationException"
    )


def test_missing_target_is_unknown_operation_exception(kv_url: str) -> None:
    status, _, body = post(kv_url, None, b"{}")
    assert status == 400
    assert json.loads(body)["__type"].endswith("#UnknownOperationException")


def test_malformed_json_is_a_serialization_exception(kv_url: str) -> None:
    status, _, body = post(kv_url, TARGET + "ListTables", b"{nope")
    assert status == 400
    document = json.loads(body)
    assert document["__type"].endswith("#SerializationException")
    assert "not JSON" in document["message"]


def test_wrong_member_types_are_400_not_500(kv_url: str) -> None:
    for body in (
        {"TableName": 5},
        {"TableName": "users", "Key": "x"},
        {"TableName": "users", "Key": {"id": {"S": 5}}},
        {"TableName": "users", "Key": {"id": []}},
        {"RequestItems": []},
    ):
        for operation in ("GetItem", "PutItem", "UpdateItem", "Query", "Scan", "BatchGetItem"):
            status, _, _ = post(kv_url, TARGET + operation, json.dumps(body).encode())
            assert status == 400, (operation, body)


def test_unsigned_get_root_answers_healthy(kv_url: str) -> None:
    with urllib.request.urlopen(kv_url + "/", timeout=10) as response:
        assert response.read().decode().startswith("healthy: dynamodb.us-east-1.amazonaws.com")


def test_health_names_the_node(kv_url: str) -> None:
    with urllib.request.urlopen(kv_url + "/_cdn/health", timeout=10) as response:
        document = json.loads(response.read())
    assert document["status"] == "ok"
    assert document["kind"] == "kv"


def test_metrics_count_operations_by_outcome(kv_url: str, ddb: Any) -> None:
    ddb.list_tables()
    with urllib.request.urlopen(kv_url + "/_cdn/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'cdnlab_kv_operations_total{operation="ListTables",outcome="ok"} 1.0' in text
    assert "cdnlab_kv_purges_pending" in text
