"""SigV4: with keys configured, calls must be signed with them (verified with botocore's signer)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from kv_support import ACCESS_KEY, SECRET_KEY, ThreadedKv, client

from kv.app import authenticate
from kv.errors import DynamoError
from serving.sigv4 import SigV4Verifier


@pytest.fixture
def signed_url(start_kv: Callable[..., ThreadedKv]) -> str:
    server = start_kv(credentials={ACCESS_KEY: SECRET_KEY})
    return server.server.url  # type: ignore[union-attr]


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as excinfo:
        call()
    return str(excinfo.value.response["Error"]["Code"])


def test_calls_signed_with_the_configured_keys_pass(signed_url: str) -> None:
    assert client(signed_url, ACCESS_KEY, SECRET_KEY).list_tables()["TableNames"] == []


def test_a_wrong_secret_is_an_invalid_signature(signed_url: str) -> None:
    ddb = client(signed_url, ACCESS_KEY, "wrong")
    assert error_code(ddb.list_tables) == "InvalidSignatureException"


def test_an_unknown_access_key_is_unrecognized(signed_url: str) -> None:
    ddb = client(signed_url, "AKIDOTHER", SECRET_KEY)
    assert error_code(ddb.list_tables) == "UnrecognizedClientException"


def test_an_unsigned_call_is_refused(signed_url: str) -> None:
    request = urllib.request.Request(
        signed_url + "/",
        data=b"{}",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)
    assert json.loads(excinfo.value.read())["__type"].endswith(
        "#MissingAuthenticationTokenException"
    )


def test_without_keys_any_signature_passes(ddb: Any) -> None:
    assert ddb.list_tables()["TableNames"] == []


# verify() on its own, with an injected clock

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def signed_headers(
    body: bytes, secret: str = SECRET_KEY, when: str = "20260101T000000Z"
) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8000/",
        data=body,
        headers={"Host": "127.0.0.1:8000", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    request.headers["X-Amz-Date"] = when
    request.context["timestamp"] = when
    signer = SigV4Auth(Credentials(ACCESS_KEY, secret), "dynamodb", "us-east-1")
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)  # add_auth() with a fixed date
    return dict(request.headers.items())


def check(headers: dict[str, str], body: bytes, now: float = NOW) -> str:
    verifier = SigV4Verifier({ACCESS_KEY: SECRET_KEY}, clock=lambda: now, service="dynamodb")
    lowered = {name.lower(): value for name, value in headers.items()}
    return authenticate(
        verifier,
        "POST",
        "/",
        "",
        lambda name: [v] if (v := lowered.get(name.lower())) else [],
        body,
    )


def test_verify_returns_the_access_key() -> None:
    assert check(signed_headers(b"{}"), b"{}") == ACCESS_KEY


def test_verify_refuses_a_changed_body() -> None:
    with pytest.raises(DynamoError) as excinfo:
        check(signed_headers(b"{}"), b'{"Limit": 1}')
    assert excinfo.value.kind == "InvalidSignatureException"


def test_verify_refuses_an_old_signature() -> None:
    with pytest.raises(DynamoError, match="Signature expired"):
        check(signed_headers(b"{}"), b"{}", now=NOW + 3600)


def test_verify_refuses_a_malformed_authorization() -> None:
    headers = signed_headers(b"{}")
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=x"
    with pytest.raises(DynamoError) as excinfo:
        check(headers, b"{}")
    assert excinfo.value.kind == "IncompleteSignatureException"


def test_a_credential_for_another_service_is_an_invalid_signature() -> None:
    headers = signed_headers(b"{}")
    headers["Authorization"] = headers["Authorization"].replace("/dynamodb/", "/s3/")
    with pytest.raises(DynamoError) as excinfo:
        check(headers, b"{}")
    assert excinfo.value.kind == "InvalidSignatureException"
