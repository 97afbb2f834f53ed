"""serving.sigv4: the one SigV4 verifier, checked against what botocore itself signs."""

from __future__ import annotations

import datetime
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from serving.sigv4 import Refusal, SignatureError, SigV4Verifier, self_test

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
KEY, SECRET = "AKIDTEST", "secret/test+key"


def signed_by_botocore(signer: type, service: str, **options: int) -> AWSRequest:
    """A GET botocore signed at NOW for ``service``."""
    request = AWSRequest(method="GET", url="http://127.0.0.1:9000/b/k?prefix=a%20b")
    with mock.patch("botocore.auth.get_current_datetime") as clock:
        clock.return_value = datetime.datetime.fromtimestamp(NOW, datetime.UTC).replace(tzinfo=None)
        signer(Credentials(KEY, SECRET), service, "us-east-1", **options).add_auth(request)
    return request.prepare()


def verify(request: AWSRequest, now: float = NOW, service: str | None = None) -> object:
    parts = urlsplit(request.url)
    headers = HTTPHeaders()
    for name, value in request.headers.items():
        headers[name] = value
    headers["host"] = parts.netloc
    verifier = SigV4Verifier({KEY: SECRET}, clock=lambda: now, service=service)
    return verifier.verify(
        request.method,
        parts.path,
        parse_qsl(parts.query, keep_blank_values=True),
        lambda name: list(headers.get_all(name) or []),
    )


def reason(call: object) -> Refusal:
    with pytest.raises(SignatureError) as excinfo:
        call()  # type: ignore[operator]
    return excinfo.value.reason


def test_the_self_test_passes_with_the_installed_botocore() -> None:
    self_test()


def test_a_header_signature_names_its_key() -> None:
    signed = verify(signed_by_botocore(SigV4Auth, "execute-api"))
    assert (signed.access_key, signed.presigned) == (KEY, False)  # type: ignore[attr-defined]


def test_a_presigned_url_names_its_key_until_it_expires() -> None:
    request = signed_by_botocore(S3SigV4QueryAuth, "s3", expires=60)
    assert verify(request, NOW + 59).presigned is True  # type: ignore[attr-defined]
    assert reason(lambda: verify(request, NOW + 61)) is Refusal.EXPIRED


def test_an_unsigned_request_is_none() -> None:
    assert verify(AWSRequest(method="GET", url="http://127.0.0.1:9000/b").prepare()) is None


def test_a_header_signature_far_from_now_is_skewed() -> None:
    request = signed_by_botocore(SigV4Auth, "execute-api")
    assert reason(lambda: verify(request, NOW + 16 * 60)) is Refusal.SKEWED


def test_a_credential_for_another_service_is_refused() -> None:
    request = signed_by_botocore(SigV4Auth, "execute-api")
    assert reason(lambda: verify(request, service="s3")) is Refusal.WRONG_SERVICE


def test_a_changed_query_does_not_match() -> None:
    request = signed_by_botocore(SigV4Auth, "execute-api")
    request.url = request.url.replace("a%20b", "a%20c")
    assert reason(lambda: verify(request)) is Refusal.MISMATCH
