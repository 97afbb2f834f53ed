"""Objects through boto3: put, get, head, delete, batch delete, copy, metadata, checksums."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from storage_support import error_code


def test_put_then_get_returns_the_bytes_and_md5_etag(s3, bucket):
    body = b"hello, storage"
    put = s3.put_object(Bucket=bucket, Key="a.txt", Body=body)
    got = s3.get_object(Bucket=bucket, Key="a.txt")
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert got["ContentLength"] == len(body)


def test_stored_metadata_comes_back_on_get_and_head(s3, bucket):
    s3.put_object(
        Bucket=bucket,
        Key="page.html",
        Body=b"<p>hi</p>",
        ContentType="text/html",
        CacheControl="public, max-age=60",
        ContentDisposition='inline; filename="page.html"',
        ContentEncoding="identity",
        ContentLanguage="fr",
        Expires="Wed, 21 Oct 2037 07:28:00 GMT",
        Metadata={"owner": "team-a", "Build": "42"},
    )
    for answer in (
        s3.head_object(Bucket=bucket, Key="page.html"),
        s3.get_object(Bucket=bucket, Key="page.html"),
    ):
        assert answer["ContentType"] == "text/html"
        assert answer["CacheControl"] == "public, max-age=60"
        assert answer["ContentDisposition"] == 'inline; filename="page.html"'
        assert answer["ContentEncoding"] == "identity"
        assert answer["ContentLanguage"] == "fr"
        assert answer["ExpiresString"] == "Wed, 21 Oct 2037 07:28:00 GMT"
        assert answer["Metadata"] == {"owner": "team-a", "build": "42"}


def test_default_content_type_is_binary_octet_stream(s3, bucket):
    s3.put_object(Bucket=bucket, Key="blob", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="blob")["ContentType"] == "binary/octet-stream"


def test_get_of_a_missing_key_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_code(excinfo) == "NoSuchKey"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_head_of_a_missing_key_is_404(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="nope")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_overwrite_replaces_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    s3.put_object(Bucket=bucket, Key="k", Body=b"new bytes")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new bytes"


def test_delete_removes_the_object_and_is_idempotent(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_delete_objects_removes_each_key_and_reports_it(s3, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "missing"}]}
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["a", "b", "missing"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_delete_objects_quiet_reports_nothing(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert "Deleted" not in answer


def test_copy_object_keeps_bytes_and_metadata(s3, bucket):
    s3.put_object(
        Bucket=bucket, Key="src", Body=b"payload", ContentType="text/plain", Metadata={"m": "1"}
    )
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"m": "1"}
    assert copied["CopyObjectResult"]["ETag"] == got["ETag"]


def test_copy_object_with_replace_takes_new_metadata(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"m": "1"})
    s3.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"m": "2"},
        ContentType="text/css",
    )
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["Metadata"] == {"m": "2"}
    assert head["ContentType"] == "text/css"


def test_copy_onto_itself_without_changes_is_invalid_request(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert error_code(excinfo) == "InvalidRequest"


def test_copy_from_a_missing_source_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "none"})
    assert error_code(excinfo) == "NoSuchKey"


def test_crc32_checksum_is_stored_and_returned_in_checksum_mode(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"checked", ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"checked"
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]


def test_sha256_checksum_is_stored_and_returned(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"checked", ChecksumAlgorithm="SHA256")
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == put["ChecksumSHA256"]


def test_a_wrong_checksum_is_bad_digest(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"checked", ChecksumCRC32="AAAAAA==")
    assert error_code(excinfo) == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_a_wrong_content_md5_is_bad_digest(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(
            Bucket=bucket, Key="k", Body=b"checked", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="
        )
    assert error_code(excinfo) == "BadDigest"


def test_keys_with_dots_slashes_and_unicode_round_trip(s3, bucket):
    keys = ["../../etc/passwd", "/abs/path", "a/./b/../c", "é ü+%20 &?#", "x" * 1024]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(keys)


def test_a_key_over_1024_bytes_is_key_too_long(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="é" * 513, Body=b"x")
    assert error_code(excinfo) == "KeyTooLongError"


def test_an_empty_object_round_trips(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_a_large_object_streams_in_and_out(s3, bucket):
    body = bytes(range(256)) * 12_000  # ~3 MiB: the file path, not the small-object path
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body


def test_concurrent_puts_of_one_key_leave_one_whole_body_and_readers_never_see_a_mix(s3, bucket):
    import random
    import threading

    bodies = [random.Random(n).randbytes(600_000 + n) for n in range(6)]
    digests = {hashlib.md5(body).hexdigest() for body in bodies}
    s3.put_object(Bucket=bucket, Key="contended", Body=bodies[0])
    seen: list[str] = []
    writing = threading.Event()
    writing.set()

    def read() -> None:
        while writing.is_set():
            seen.append(
                hashlib.md5(
                    s3.get_object(Bucket=bucket, Key="contended")["Body"].read()
                ).hexdigest()
            )

    reader = threading.Thread(target=read)
    reader.start()
    writers = [
        threading.Thread(
            target=s3.put_object, kwargs={"Bucket": bucket, "Key": "contended", "Body": b}
        )
        for b in bodies
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    writing.clear()
    reader.join()
    final = s3.get_object(Bucket=bucket, Key="contended")
    body = final["Body"].read()
    assert hashlib.md5(body).hexdigest() in digests
    assert final["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert seen and set(seen) <= digests


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME", "SHA1"])
def test_other_checksum_algorithms_are_verified_and_returned(s3, bucket, algorithm):
    pytest.importorskip("awscrt")  # boto3 and the server both need the AWS CRT for CRC32C/64
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"checked", ChecksumAlgorithm=algorithm)
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]


def test_copy_source_if_match_must_match_the_source_etag(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"payload")["ETag"]
    source = {"Bucket": bucket, "Key": "src"}
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, CopySourceIfMatch='"nope"')
    assert error_code(excinfo) == "PreconditionFailed"
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, CopySourceIfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"payload"


def test_copy_source_if_none_match_the_etag_is_precondition_failed(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"payload")["ETag"]
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceIfNoneMatch=etag,
        )
    assert error_code(excinfo) == "PreconditionFailed"
