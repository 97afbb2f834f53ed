"""SigV4: header and presigned forms checked with the configured keys; public-read buckets."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from storage_support import client, error_code


def _fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_wrong_secret_is_signature_does_not_match(node, bucket):
    intruder = client(node.url, secret="not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        intruder.list_objects_v2(Bucket=bucket)
    assert error_code(excinfo) == "SignatureDoesNotMatch"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_wrong_secret_cannot_put(node, s3, bucket):
    intruder = client(node.url, secret="not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        intruder.put_object(Bucket=bucket, Key="k", Body=b"evil")
    assert error_code(excinfo) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_an_unknown_key_is_invalid_access_key_id(node, bucket):
    stranger = client(node.url, key="AKIDUNKNOWN")
    with pytest.raises(ClientError) as excinfo:
        stranger.list_objects_v2(Bucket=bucket)
    assert error_code(excinfo) == "InvalidAccessKeyId"


def test_anonymous_requests_to_a_private_bucket_are_access_denied(node, s3, bucket):
    s3.put_object(Bucket=bucket, Key="secret", Body=b"x")
    status, body = _fetch(f"{node.url}/{bucket}/secret")
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body


def test_presigned_get_reads_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="shared file.txt", Body=b"for you")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared file.txt"}, ExpiresIn=60
    )
    assert _fetch(url) == (200, b"for you")


def test_presigned_put_stores_the_object(s3, bucket):
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "upload"}, ExpiresIn=60
    )
    status, _ = _fetch(url, method="PUT", data=b"uploaded")
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key="upload")["Body"].read() == b"uploaded"


def test_a_tampered_presigned_url_is_signature_does_not_match(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"})
    status, body = _fetch(url.replace(f"/{bucket}/a?", f"/{bucket}/b?"))
    assert status == 403
    assert b"SignatureDoesNotMatch" in body


def test_an_expired_presigned_url_is_access_denied(s3, bucket, clock):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=60
    )
    clock.offset = 120
    status, body = _fetch(url)
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body
    assert b"expired" in body


def test_a_request_signed_far_in_the_past_is_request_time_too_skewed(s3, bucket, clock):
    clock.offset = 3600
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket=bucket)
    assert error_code(excinfo) == "RequestTimeTooSkewed"


def test_public_read_bucket_serves_anonymous_gets(node, s3):
    with contextlib.suppress(ClientError):
        s3.create_bucket(Bucket="public-bucket")
    s3.put_object(Bucket="public-bucket", Key="logo.svg", Body=b"<svg/>")
    assert _fetch(f"{node.url}/public-bucket/logo.svg") == (200, b"<svg/>")


def test_public_read_bucket_refuses_anonymous_writes(node, s3):
    with contextlib.suppress(ClientError):
        s3.create_bucket(Bucket="public-bucket")
    status, body = _fetch(f"{node.url}/public-bucket/new", method="PUT", data=b"x")
    assert status == 403
    assert b"AccessDenied" in body


def test_expect_100_continue_with_a_bad_signature_is_refused_before_the_body(node, bucket):
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(node.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.putrequest("PUT", f"/{bucket}/k")
    connection.putheader("Content-Length", str(1024 * 1024))
    connection.putheader("Expect", "100-continue")
    connection.putheader("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    connection.putheader("X-Amz-Date", "20260101T000000Z")
    connection.putheader(
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20260101/us-east-1/s3/aws4_request,"
        " SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    )
    connection.endheaders()
    response = connection.getresponse()  # no body was sent: the answer comes first
    assert response.status == 403
    assert b"<Code>InvalidAccessKeyId</Code>" in response.read()
    connection.close()
