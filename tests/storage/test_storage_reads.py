"""Reads through boto3: conditional GET and PUT, Range, response-* overrides, error documents."""

from __future__ import annotations

import datetime
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError
from storage_support import error_code


@pytest.fixture
def stored(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="obj", Body=b"hello world")
    head = s3.head_object(Bucket=bucket, Key="obj")
    return bucket, put["ETag"], head["LastModified"]


def _status(excinfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_if_none_match_with_the_etag_is_304(s3, stored):
    bucket, etag, _ = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="obj", IfNoneMatch=etag)
    assert _status(excinfo) == 304


def test_if_none_match_with_another_etag_is_200(s3, stored):
    bucket, _, _ = stored
    assert (
        s3.get_object(Bucket=bucket, Key="obj", IfNoneMatch='"other"')["Body"].read()
        == b"hello world"
    )


def test_if_modified_since_the_last_modified_is_304(s3, stored):
    bucket, _, last_modified = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="obj", IfModifiedSince=last_modified)
    assert _status(excinfo) == 304


def test_if_modified_since_an_earlier_time_is_200(s3, stored):
    bucket, _, last_modified = stored
    earlier = last_modified - datetime.timedelta(hours=1)
    assert s3.get_object(Bucket=bucket, Key="obj", IfModifiedSince=earlier)["ContentLength"] == 11


def test_if_match_with_another_etag_is_precondition_failed(s3, stored):
    bucket, _, _ = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="obj", IfMatch='"other"')
    assert error_code(excinfo) == "PreconditionFailed"
    assert _status(excinfo) == 412


def test_if_unmodified_since_an_earlier_time_is_precondition_failed(s3, stored):
    bucket, _, last_modified = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(
            Bucket=bucket, Key="obj", IfUnmodifiedSince=last_modified - datetime.timedelta(hours=1)
        )
    assert error_code(excinfo) == "PreconditionFailed"


def test_put_if_none_match_star_refuses_to_overwrite(s3, stored):
    bucket, _, _ = stored
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="obj", Body=b"again", IfNoneMatch="*")
    assert error_code(excinfo) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"hello world"


def test_put_if_none_match_star_creates_a_new_key(s3, bucket):
    s3.put_object(Bucket=bucket, Key="fresh", Body=b"first", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="fresh")["Body"].read() == b"first"


def test_put_if_match_replaces_only_the_expected_version(s3, stored):
    bucket, etag, _ = stored
    s3.put_object(Bucket=bucket, Key="obj", Body=b"v2", IfMatch=etag)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="obj", Body=b"v3", IfMatch=etag)
    assert error_code(excinfo) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"v2"


def test_range_returns_206_and_content_range(s3, stored):
    bucket, _, _ = stored
    got = s3.get_object(Bucket=bucket, Key="obj", Range="bytes=4-7")
    assert got["Body"].read() == b"o wo"
    assert got["ContentRange"] == "bytes 4-7/11"
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_suffix_range_returns_the_tail(s3, stored):
    bucket, _, _ = stored
    assert s3.get_object(Bucket=bucket, Key="obj", Range="bytes=-5")["Body"].read() == b"world"


def test_unsatisfiable_range_is_invalid_range(s3, stored):
    bucket, _, _ = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="obj", Range="bytes=50-60")
    assert error_code(excinfo) == "InvalidRange"
    assert _status(excinfo) == 416


def test_range_of_a_large_object_streams_the_slice(s3, bucket):
    body = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=300000-700000")
    assert got["Body"].read() == body[300000:700001]


def test_response_overrides_replace_headers(s3, stored):
    bucket, _, _ = stored
    got = s3.get_object(
        Bucket=bucket,
        Key="obj",
        ResponseContentType="application/json",
        ResponseContentDisposition="attachment",
        ResponseCacheControl="no-cache",
    )
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == "attachment"
    assert got["CacheControl"] == "no-cache"


def test_errors_are_xml_with_the_request_id_of_the_header(node, s3, bucket):
    url = node.url + f"/{bucket}/missing"
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "missing"})
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(presigned, timeout=5)
    document = ET.fromstring(excinfo.value.read())
    assert document.findtext("Code") == "NoSuchKey"
    assert document.findtext("Resource") == f"/{bucket}/missing"
    assert document.findtext("RequestId") == excinfo.value.headers["x-amz-request-id"]
    assert excinfo.value.headers["Content-Type"] == "application/xml"
    del url


def test_every_answer_has_a_request_id(s3, stored):
    bucket, _, _ = stored
    answer = s3.get_object(Bucket=bucket, Key="obj")
    assert answer["ResponseMetadata"]["RequestId"]
