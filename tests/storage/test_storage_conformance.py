"""Behaviours that Ceph's s3-tests found different from S3, each pinned as boto3 sees it.

One test per fix of docs/conformance-s3.md; the fixture node is the module's signed server.
"""

from __future__ import annotations

import base64
import email.header
import email.utils
import hashlib
import urllib.error
import urllib.request
import zlib

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from storage_support import ACCESS_KEY, SECRET_KEY, client, error_code, start_server


def _status(excinfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _open(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# -- Content-Encoding: aws-chunked on a plain body ---------------------------------------------


def test_aws_chunked_among_content_encodings_of_a_plain_body_is_dropped(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentEncoding="gzip, aws-chunked")
    assert s3.head_object(Bucket=bucket, Key="k")["ContentEncoding"] == "gzip"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_aws_chunked_alone_on_an_empty_plain_body_stores_no_content_encoding(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", ContentEncoding="aws-chunked")
    head = s3.head_object(Bucket=bucket, Key="k")
    assert "ContentEncoding" not in head
    assert head["ContentLength"] == 0


# -- ETags without quotes in preconditions ----------------------------------------------------


def test_put_if_match_with_the_etag_unquoted_replaces_the_object(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"new", IfMatch=etag.strip('"'))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def test_put_if_match_with_another_unquoted_etag_is_412_and_keeps_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"new", IfMatch="ABCORZ")
    assert (_status(excinfo), error_code(excinfo)) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"


def test_get_if_match_with_another_unquoted_etag_is_412(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", IfMatch="ABCORZ")
    assert (_status(excinfo), error_code(excinfo)) == (412, "PreconditionFailed")


def test_get_if_none_match_with_the_etag_unquoted_is_304(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag.strip('"'))
    assert _status(excinfo) == 304


# -- keys and listings ---------------------------------------------------------------------------------


def test_a_key_with_a_newline_is_stored_and_read_back(s3, bucket):
    s3.put_object(Bucket=bucket, Key="line\nbreak", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="line\nbreak")["Body"].read() == b"x"


def test_list_objects_v1_echoes_its_prefix_unencoded_with_encoding_type_url(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a\nb", Body=b"")
    answer = s3.list_objects(Bucket=bucket, Prefix="a\n")  # boto3 asks encoding-type=url
    assert answer["Prefix"] == "a\n"
    assert [item["Key"] for item in answer["Contents"]] == ["a\nb"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_max_keys_zero_is_an_empty_page_that_is_not_truncated(s3, bucket, version):
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    lister = s3.list_objects if version == "v1" else s3.list_objects_v2
    answer = lister(Bucket=bucket, MaxKeys=0)
    assert answer["IsTruncated"] is False
    assert "Contents" not in answer


def test_an_empty_continuation_token_is_echoed_and_lists_from_the_start(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    answer = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert answer["ContinuationToken"] == ""
    assert [item["Key"] for item in answer["Contents"]] == ["k"]


# -- buckets ----------------------------------------------------------------------------------


def test_creating_an_own_bucket_again_in_us_east_1_is_200_and_keeps_its_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    answer = s3.create_bucket(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"


def test_creating_an_own_bucket_again_in_another_region_is_409(tmp_path):
    server = start_server(tmp_path, keys=((ACCESS_KEY, SECRET_KEY),), region="eu-west-1")
    try:
        s3 = client(server.url)
        config = {"LocationConstraint": "eu-west-1"}
        s3.create_bucket(Bucket="twice", CreateBucketConfiguration=config)
        with pytest.raises(ClientError) as excinfo:
            s3.create_bucket(Bucket="twice", CreateBucketConfiguration=config)
        assert (_status(excinfo), error_code(excinfo)) == (409, "BucketAlreadyOwnedByYou")
    finally:
        server.stop()


@pytest.mark.parametrize("name", ["foo-.bar", "foo.-bar"])
def test_a_bucket_name_with_a_period_next_to_a_hyphen_is_invalid(s3, name):
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=name)
    assert (_status(excinfo), error_code(excinfo)) == (400, "InvalidBucketName")


# -- presigned URLs and preflights ------------------------------------------------------------


def test_a_presigned_url_with_zero_expiry_is_access_denied(node, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # botocore's own query signer (boto3 with the AWS CRT refuses to presign for 0 seconds)
    signer = S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1", expires=0)
    presign = AWSRequest(method="GET", url=f"{node.url}/{bucket}/k")
    signer.add_auth(presign)
    status, body = _open(urllib.request.Request(presign.url))
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body


def test_options_without_origin_is_400_bad_request(node, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    status, body = _open(urllib.request.Request(url, method="OPTIONS"))
    assert status == 400
    assert b"<Code>BadRequest</Code>" in body


def test_a_preflight_is_403_cors_response_when_the_bucket_has_no_cors(node, bucket):
    request = urllib.request.Request(
        f"{node.url}/{bucket}/k",
        method="OPTIONS",
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"},
    )
    status, body = _open(request)
    assert status == 403
    assert b"<Code>CORSResponse</Code>" in body


# -- request headers --------------------------------------------------------------------------


def _with_headers(s3, headers: dict[str, str]) -> None:
    def add(params, **_):
        params["headers"].update(headers)

    s3.meta.events.register("before-call.s3.PutObject", add)


def test_a_request_dated_by_its_date_header_alone_is_accepted(node, bucket):
    s3 = client(node.url)
    date = email.utils.formatdate(usegmt=True)
    _with_headers(s3, {"Date": date})  # botocore then signs Date instead of X-Amz-Date
    s3.put_object(Bucket=bucket, Key="k", Body=b"dated")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"dated"


@pytest.mark.parametrize("value", ["", "YWJyYWNhZGFicmE="])
def test_a_content_md5_that_is_not_16_bytes_is_invalid_digest(node, bucket, value):
    s3 = client(node.url)
    _with_headers(s3, {"Content-MD5": value})
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"bar")
    assert (_status(excinfo), error_code(excinfo)) == (400, "InvalidDigest")


# -- multipart checksums ----------------------------------------------------------------------


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _one_part_upload(s3, bucket: str, algorithm: str, checksum_type: str, body: bytes):
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="mp", ChecksumAlgorithm=algorithm, ChecksumType=checksum_type
    )["UploadId"]
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=body,
        ChecksumAlgorithm=algorithm,
    )  # fmt: skip
    name = f"Checksum{algorithm}"
    return upload, {"ETag": part["ETag"], "PartNumber": 1, name: part[name]}


def test_complete_checks_the_composite_checksum_it_is_given(s3, bucket):
    body = b"a" * 1000
    upload, part = _one_part_upload(s3, bucket, "SHA256", "COMPOSITE", body)
    composite = _b64(hashlib.sha256(hashlib.sha256(body).digest()).digest()) + "-1"
    answer = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, ChecksumSHA256=composite,
        MultipartUpload={"Parts": [part]},
    )  # fmt: skip
    assert (answer["ChecksumSHA256"], answer["ChecksumType"]) == (composite, "COMPOSITE")
    head = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert (head["ChecksumSHA256"], head["ChecksumType"]) == (composite, "COMPOSITE")


def test_complete_with_a_wrong_composite_checksum_is_bad_digest_and_stores_nothing(s3, bucket):
    upload, part = _one_part_upload(s3, bucket, "SHA256", "COMPOSITE", b"a" * 1000)
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload, ChecksumSHA256="bad",
            MultipartUpload={"Parts": [part]},
        )  # fmt: skip
    assert (_status(excinfo), error_code(excinfo)) == (400, "BadDigest")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_complete_checks_a_full_object_crc32_and_reports_its_type(s3, bucket):
    body = b"b" * 1000
    upload, part = _one_part_upload(s3, bucket, "CRC32", "FULL_OBJECT", body)
    crc = _b64(zlib.crc32(body).to_bytes(4, "big"))
    answer = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, ChecksumCRC32=crc,
        MultipartUpload={"Parts": [part]},
    )  # fmt: skip
    assert (answer["ChecksumCRC32"], answer["ChecksumType"]) == (crc, "FULL_OBJECT")
    head = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (crc, "FULL_OBJECT")


# -- GetObject / HeadObject by part number ----------------------------------------------------

MIB = 1024 * 1024


@pytest.fixture
def two_part_object(s3, bucket):
    first, second = b"1" * (5 * MIB), b"2" * 1000
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = [
        {"PartNumber": number, "ETag": s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number, Body=body
        )["ETag"]}
        for number, body in ((1, first), (2, second))
    ]  # fmt: skip
    etag = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )["ETag"]
    return bucket, etag, first, second


def test_get_by_part_number_answers_that_part_with_the_objects_etag(s3, two_part_object):
    bucket, etag, first, second = two_part_object
    answer = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert answer["Body"].read() == second
    assert (
        answer["ContentRange"]
        == f"bytes {len(first)}-{len(first) + len(second) - 1}/{len(first) + len(second)}"
    )
    assert (answer["ETag"], answer["PartsCount"]) == (etag, 2)
    head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=1)
    assert (head["ContentLength"], head["PartsCount"]) == (len(first), 2)


def test_a_part_number_past_the_last_part_is_416_invalid_part_number(s3, two_part_object):
    bucket = two_part_object[0]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=3)
    assert (_status(excinfo), error_code(excinfo)) == (416, "InvalidPartNumber")


def test_part_one_of_an_object_uploaded_whole_is_the_whole_object(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"body")["ETag"]
    answer = s3.get_object(Bucket=bucket, Key="k", PartNumber=1)
    assert (answer["Body"].read(), answer["ETag"]) == (b"body", etag)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", PartNumber=2)
    assert (_status(excinfo), error_code(excinfo)) == (416, "InvalidPartNumber")


def test_part_number_with_a_range_is_invalid_request(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"body")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", PartNumber=1, Range="bytes=0-1")
    assert (_status(excinfo), error_code(excinfo)) == (400, "InvalidRequest")


# -- ListBuckets pages ------------------------------------------------------------------------


def test_list_buckets_pages_with_max_buckets_and_a_continuation_token(tmp_path):
    server = start_server(tmp_path, keys=((ACCESS_KEY, SECRET_KEY),))
    try:
        s3 = client(server.url)
        for name in ("page-a", "page-b", "page-c", "other"):
            s3.create_bucket(Bucket=name)
        first = s3.list_buckets(MaxBuckets=2, Prefix="page-")
        assert [b["Name"] for b in first["Buckets"]] == ["page-a", "page-b"]
        second = s3.list_buckets(
            MaxBuckets=2, Prefix="page-", ContinuationToken=first["ContinuationToken"]
        )
        assert [b["Name"] for b in second["Buckets"]] == ["page-c"]
        assert "ContinuationToken" not in second
        assert len(s3.list_buckets()["Buckets"]) == 4
    finally:
        server.stop()


# -- GetObjectAttributes ----------------------------------------------------------------------


def test_object_attributes_of_an_object_uploaded_whole(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"abc", ChecksumAlgorithm="SHA256")
    answer = s3.get_object_attributes(
        Bucket=bucket, Key="k", ObjectAttributes=["ETag", "Checksum", "ObjectSize", "StorageClass"]
    )
    assert answer["ETag"] == put["ETag"].strip('"')  # S3 answers it without quotes here
    assert answer["Checksum"] == {
        "ChecksumSHA256": put["ChecksumSHA256"],
        "ChecksumType": "FULL_OBJECT",
    }
    assert (answer["ObjectSize"], answer["StorageClass"]) == (3, "STANDARD")
    assert "ObjectParts" not in answer


def test_object_attributes_of_a_multipart_object_list_its_parts(s3, two_part_object):
    bucket, _, first, second = two_part_object
    answer = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"])
    parts = answer["ObjectParts"]
    assert parts["TotalPartsCount"] == 2
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [
        (1, len(first)),
        (2, len(second)),
    ]


def test_object_attributes_of_a_missing_key_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_attributes(Bucket=bucket, Key="absent", ObjectAttributes=["ETag"])
    assert (_status(excinfo), error_code(excinfo)) == (404, "NoSuchKey")


# -- URIs that are not UTF-8 ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/bucket-x/%AE%8A-", "/bucket-x?prefix=%FF"])
def test_a_uri_that_is_not_utf8_once_decoded_is_400_invalid_uri(node, target):
    status, body = _open(urllib.request.Request(node.url + target))
    assert status == 400
    assert b"<Code>InvalidURI</Code>" in body


# -- non-ASCII metadata (RFC 2047, as S3 documents) -------------------------------------------


def _decoded(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value)))


def test_a_non_ascii_metadata_value_is_answered_rfc2047_encoded(node, bucket):
    s3 = client(node.url)
    # boto3 refuses non-ASCII Metadata; a client sending the raw header (Latin-1 on the wire,
    # as http.client does) is what s3-tests' test_object_set_get_unicode_metadata does
    _with_headers(s3, {"x-amz-meta-greeting": "h\u00e9llo"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    value = s3.head_object(Bucket=bucket, Key="k")["Metadata"]["greeting"]
    assert value.startswith("=?UTF-8?B?")
    assert _decoded(value) == "h\u00e9llo"


def test_an_rfc2047_metadata_value_is_stored_decoded_and_answered_encoded(s3, bucket):
    sent = email.header.Header("gr\u00fc\u00dfe \u2713", "utf-8").encode()
    s3.put_object(Bucket=bucket, Key="k", Body=b"", Metadata={"greeting": sent})
    value = s3.get_object(Bucket=bucket, Key="k")["Metadata"]["greeting"]
    assert _decoded(value) == "gr\u00fc\u00dfe \u2713"


def test_an_ascii_metadata_value_is_answered_as_sent(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"", Metadata={"plain": "a=?b c"})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"]["plain"] == "a=?b c"
