"""Object tagging through boto3: Put/Get/DeleteObjectTagging, x-amz-tagging, AWS's limits."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from storage_support import ACCESS_KEY, SECRET_KEY, client, error_code, start_server

from storage.objectfile import ObjectInfo
from storage.store import Store
from storage.tagging import _Replaced, _unchanged

MiB = 1024 * 1024


def _tag_set(pairs: dict[str, str]) -> dict:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]}


def _tags(s3, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def _refusal(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as excinfo:
        call()
    return error_code(excinfo), excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _signed(url: str, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """A raw SigV4-signed request (for bodies boto3 would never send)."""
    request = AWSRequest(method=method, url=url + path, data=body)
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=dict(request.headers.items()))
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


# -- round trip ----------------------------------------------------------------------------


def test_put_then_get_tagging_returns_the_tag_set(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging=_tag_set({"team": "edge", "tier": "gold"})
    )
    assert _tags(s3, bucket, "k") == {"team": "edge", "tier": "gold"}


def test_tags_are_answered_in_key_order(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="foo=bar&bar")
    answer = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert answer == [{"Key": "bar", "Value": ""}, {"Key": "foo", "Value": "bar"}]


def test_an_object_without_tags_has_an_empty_tag_set(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_put_tagging_replaces_the_whole_tag_set(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=2")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tag_set({"c": "3"}))
    assert _tags(s3, bucket, "k") == {"c": "3"}


def test_delete_tagging_answers_204_and_leaves_no_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    answer = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _tags(s3, bucket, "k") == {}
    assert (
        "x-amz-tagging-count"
        not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    )


def test_tagging_changes_neither_body_nor_etag_nor_metadata(s3, bucket):
    put = s3.put_object(
        Bucket=bucket, Key="k", Body=b"the body", ContentType="text/plain", Metadata={"m": "1"}
    )
    before = s3.head_object(Bucket=bucket, Key="k")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tag_set({"a": "1"}))
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"the body"
    assert got["ETag"] == put["ETag"]
    assert got["LastModified"] == before["LastModified"]
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"m": "1"}


def test_unicode_and_special_characters_survive_the_round_trip(s3, bucket):
    tags = {"café": "naïve <&> \"'", "path/x": "a=b&c", "empty": ""}
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tag_set(tags))
    assert _tags(s3, bucket, "k") == tags


# -- x-amz-tagging on writes, x-amz-tagging-count on reads ---------------------------------


def test_put_object_with_tagging_header_stores_the_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="team=edge&note=two%20words&flag=")
    assert _tags(s3, bucket, "k") == {"team": "edge", "note": "two words", "flag": ""}


def test_get_and_head_say_how_many_tags_the_object_has(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=2&c=3")
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 3
    head = s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert head["x-amz-tagging-count"] == "3"


def test_an_object_without_tags_has_no_tagging_count(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="k")


def test_a_new_put_without_tagging_leaves_no_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", Tagging="a=1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    assert _tags(s3, bucket, "k") == {}


def test_a_new_put_with_tagging_replaces_the_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", Tagging="a=1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"new", Tagging="b=2")
    assert _tags(s3, bucket, "k") == {"b": "2"}


def test_a_deleted_and_recreated_object_has_no_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    s3.delete_object(Bucket=bucket, Key="k")
    assert _refusal(lambda: s3.get_object_tagging(Bucket=bucket, Key="k")) == ("NoSuchKey", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"y")
    assert _tags(s3, bucket, "k") == {}


# -- copy ----------------------------------------------------------------------------------


def test_copy_keeps_the_source_tags_by_default(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert _tags(s3, bucket, "dst") == {"a": "1"}


def test_copy_directive_copy_ignores_the_tagging_header(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="COPY",
        Tagging="b=2",
    )
    assert _tags(s3, bucket, "dst") == {"a": "1"}


def test_copy_directive_replace_takes_the_tagging_header(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
        Tagging="b=2",
    )
    assert _tags(s3, bucket, "dst") == {"b": "2"}
    assert _tags(s3, bucket, "src") == {"a": "1"}


def test_copy_directive_replace_without_tagging_leaves_no_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
    )
    assert _tags(s3, bucket, "dst") == {}


def test_an_unknown_tagging_directive_is_invalid_argument(s3, bucket, node):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            TaggingDirective="MERGE",
        )
    assert error_code(excinfo) == "InvalidArgument"


# -- multipart -----------------------------------------------------------------------------


def test_multipart_upload_tags_apply_at_completion(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", Tagging="kind=video&a=1")
    upload_id = upload["UploadId"]
    parts = [os.urandom(5 * MiB), b"tail"]
    done = []
    for number, body in enumerate(parts, start=1):
        etag = s3.upload_part(
            Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    assert _refusal(lambda: s3.get_object_tagging(Bucket=bucket, Key="big"))[0] == "NoSuchKey"
    s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert _tags(s3, bucket, "big") == {"kind": "video", "a": "1"}
    assert (
        s3.head_object(Bucket=bucket, Key="big")["ResponseMetadata"]["HTTPHeaders"][
            "x-amz-tagging-count"
        ]
        == "2"
    )


def test_tagging_a_large_object_keeps_its_bytes(s3, bucket):
    body = os.urandom(3 * MiB)  # above the size read in one call: streamed copy
    s3.put_object(Bucket=bucket, Key="large", Body=body)
    s3.put_object_tagging(Bucket=bucket, Key="large", Tagging=_tag_set({"a": "1"}))
    assert s3.get_object(Bucket=bucket, Key="large")["Body"].read() == body
    assert _tags(s3, bucket, "large") == {"a": "1"}


def test_an_invalid_tagging_header_on_create_multipart_is_refused(s3, bucket):
    tagging = "&".join(f"k{i}=v" for i in range(11))
    assert _refusal(
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="big", Tagging=tagging)
    ) == ("InvalidTag", 400)


# -- limits and errors ---------------------------------------------------------------------


def test_ten_tags_are_accepted(s3, bucket):
    tags = {f"k{i}": f"v{i}" for i in range(10)}
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tag_set(tags))
    assert _tags(s3, bucket, "k") == tags


def test_eleven_tags_are_invalid_tag(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    tags = {f"k{i}": "v" for i in range(11)}
    call = lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tag_set(tags))  # noqa: E731
    assert _refusal(call) == ("InvalidTag", 400)
    assert _tags(s3, bucket, "k") == {"a": "1"}


def test_a_key_of_128_characters_and_a_value_of_256_are_accepted(s3, bucket):
    tags = {"é" * 128: "ü" * 256}  # characters, not bytes: twice as many bytes in UTF-8
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tag_set(tags))
    assert _tags(s3, bucket, "k") == tags


@pytest.mark.parametrize(
    "tags",
    [
        pytest.param([("k" * 129, "v")], id="key-of-129-characters"),
        pytest.param([("", "v")], id="empty-key"),
        pytest.param([("k", "v" * 257)], id="value-of-257-characters"),
        pytest.param([("k", "1"), ("k", "2")], id="duplicate-keys"),
        pytest.param([("aws:reserved", "v")], id="aws-prefix"),
    ],
)
def test_tags_outside_the_limits_are_invalid_tag(s3, bucket, node, tags):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    tag_set = {"TagSet": [{"Key": k, "Value": v} for k, v in tags]}
    unchecked = client(node.url, parameter_validation=False)  # boto3 would refuse an empty key
    call = lambda: unchecked.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set)  # noqa: E731
    assert _refusal(call) == ("InvalidTag", 400)


@pytest.mark.parametrize(
    "tagging",
    [
        pytest.param("&".join(f"k{i}=v" for i in range(11)), id="eleven-tags"),
        pytest.param("a=1&a=2", id="duplicate-keys"),
        pytest.param("k=" + "v" * 257, id="value-of-257-characters"),
        pytest.param("k" * 129 + "=v", id="key-of-129-characters"),
        pytest.param("=v", id="empty-key"),
    ],
)
def test_an_invalid_tagging_header_on_put_object_is_refused_and_writes_nothing(s3, bucket, tagging):
    call = lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging=tagging)  # noqa: E731
    assert _refusal(call) == ("InvalidTag", 400)
    assert _refusal(lambda: s3.head_object(Bucket=bucket, Key="k"))[1] == 404


def test_tagging_a_missing_key_is_no_such_key(s3, bucket):
    put = lambda: s3.put_object_tagging(Bucket=bucket, Key="nope", Tagging=_tag_set({"a": "1"}))  # noqa: E731
    assert _refusal(put) == ("NoSuchKey", 404)
    assert _refusal(lambda: s3.get_object_tagging(Bucket=bucket, Key="nope")) == ("NoSuchKey", 404)
    delete = lambda: s3.delete_object_tagging(Bucket=bucket, Key="nope")  # noqa: E731
    assert _refusal(delete) == ("NoSuchKey", 404)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<Tagging><TagSet><Tag><Key>a</Key>", id="not-well-formed"),
        pytest.param(b"<Tags><TagSet/></Tags>", id="wrong-root"),
        pytest.param(b"<Tagging/>", id="no-tag-set"),
        pytest.param(b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", id="no-value"),
        pytest.param(b"<Tagging><TagSet><Other/></TagSet></Tagging>", id="not-a-tag"),
    ],
)
def test_a_malformed_tag_set_is_malformed_xml_in_s3_error_shape(s3, bucket, node, body):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    status, headers, answer = _signed(node.url, "PUT", f"/{bucket}/k?tagging", body)
    assert status == 400
    assert headers["Content-Type"].startswith("application/xml")
    assert b"<Code>MalformedXML</Code>" in answer
    assert f"<RequestId>{headers['x-amz-request-id']}</RequestId>".encode() in answer


def test_an_invalid_tag_error_has_s3_error_shape(s3, bucket, node):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    body = b"<Tagging><TagSet><Tag><Key>aws:x</Key><Value>v</Value></Tag></TagSet></Tagging>"
    status, headers, answer = _signed(node.url, "PUT", f"/{bucket}/k?tagging", body)
    assert status == 400
    assert headers["Content-Type"].startswith("application/xml")
    assert b"<Error><Code>InvalidTag</Code><Message>" in answer


def test_bucket_tagging_is_still_not_implemented(s3, bucket):
    assert _refusal(lambda: s3.get_bucket_tagging(Bucket=bucket)) == ("NotImplemented", 501)


# -- on disk -------------------------------------------------------------------------------


def test_tags_survive_a_restart_and_leave_no_temporary_files(tmp_path):
    server = start_server(tmp_path, keys=((ACCESS_KEY, SECRET_KEY),))
    try:
        s3 = client(server.url)
        s3.create_bucket(Bucket="tags")
        s3.put_object(Bucket="tags", Key="k", Body=b"x", Tagging="a=1")
        s3.put_object_tagging(Bucket="tags", Key="k", Tagging=_tag_set({"b": "2"}))
    finally:
        server.stop()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert len(list((tmp_path / "buckets" / "tags" / "objects").iterdir())) == 1
    server = start_server(tmp_path, keys=((ACCESS_KEY, SECRET_KEY),))
    try:
        assert _tags(client(server.url), "tags", "k") == {"b": "2"}
    finally:
        server.stop()


async def _put(store, bucket, key: str, body: bytes):
    writer = store.new_writer()
    writer.write(body)
    info = ObjectInfo(key, len(body), f'"{hashlib.md5(body).hexdigest()}"', store.clock())
    await store.commit(bucket, writer, info)
    return info


async def test_a_tagging_rewrite_never_replaces_an_object_written_meanwhile(tmp_path):
    # The race a real server cannot be steered into: a PUT lands between the copy of the
    # body and the rename of the retagged file. The rename must not happen.
    store = Store(tmp_path)
    store.open()
    bucket = store.create_bucket("race")
    old = await _put(store, bucket, "k", b"old")
    writer = store.new_writer()
    writer.write(b"old")
    await _put(store, bucket, "k", b"new")  # the concurrent PUT
    retagged = dataclasses.replace(old, tags=(("a", "1"),))
    with pytest.raises(_Replaced):
        await store.commit(bucket, writer, retagged, precondition=_unchanged(bucket, old))
    stored = store.open_object(bucket, "k")
    stored.close()
    assert stored.body == b"new" and stored.info.tags == ()
    assert list(store.tmp_dir.iterdir()) == []
