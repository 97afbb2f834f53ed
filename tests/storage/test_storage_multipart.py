"""Multipart uploads through boto3: S3's multipart ETag, part rules, listing, abort, upload_file."""

from __future__ import annotations

import hashlib
import random

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from storage_support import error_code

MiB = 1024 * 1024


def _parts(count: int, last: int = MiB) -> list[bytes]:
    rng = random.Random(count)
    return [rng.randbytes(5 * MiB) for _ in range(count - 1)] + [rng.randbytes(last)]


def _upload(s3, bucket: str, key: str, parts: list[bytes]) -> tuple[str, list[dict]]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, body in enumerate(parts, start=1):
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    return upload, done


def test_completed_upload_has_the_multipart_etag_and_the_bytes(s3, bucket):
    parts = _parts(3)
    upload, done = _upload(s3, bucket, "big", parts)
    answer = s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload, MultipartUpload={"Parts": done}
    )
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    assert answer["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-3"'
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ETag"] == answer["ETag"]
    assert got["Body"].read() == b"".join(parts)


def test_completing_twice_answers_the_same(s3, bucket):
    upload, done = _upload(s3, bucket, "k", _parts(2))
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": done}
    )
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": done}
    )
    assert again["ETag"] == first["ETag"]


def test_a_small_part_that_is_not_last_is_entity_too_small(s3, bucket):
    upload, done = _upload(s3, bucket, "k", [b"small", b"last"])
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": done}
        )
    assert error_code(excinfo) == "EntityTooSmall"


def test_parts_out_of_order_are_invalid_part_order(s3, bucket):
    upload, done = _upload(s3, bucket, "k", _parts(2))
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": done[::-1]}
        )
    assert error_code(excinfo) == "InvalidPartOrder"


def test_a_wrong_part_etag_is_invalid_part(s3, bucket):
    upload, done = _upload(s3, bucket, "k", _parts(2))
    done[1]["ETag"] = '"00000000000000000000000000000000"'
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": done}
        )
    assert error_code(excinfo) == "InvalidPart"


def test_an_unknown_upload_id_is_no_such_upload(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="0" * 32, PartNumber=1, Body=b"x")
    assert error_code(excinfo) == "NoSuchUpload"


def test_aborted_upload_is_gone(s3, bucket):
    upload, _ = _upload(s3, bucket, "k", [b"part"])
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload)
    assert error_code(excinfo) == "NoSuchUpload"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_list_parts_shows_numbers_sizes_and_etags(s3, bucket):
    upload, done = _upload(s3, bucket, "k", [b"one", b"three"])
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (1, 3, done[0]["ETag"]),
        (2, 5, done[1]["ETag"]),
    ]


def test_list_parts_pages(s3, bucket):
    upload, _ = _upload(s3, bucket, "k", [b"a", b"b", b"c"])
    first = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload, MaxParts=2)
    assert first["IsTruncated"] is True
    rest = s3.list_parts(
        Bucket=bucket, Key="k", UploadId=upload, PartNumberMarker=first["NextPartNumberMarker"]
    )
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]


def test_list_multipart_uploads_shows_uploads_in_progress(s3, bucket):
    first, _ = _upload(s3, bucket, "a", [b"x"])
    second, _ = _upload(s3, bucket, "b", [b"y"])
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("a", first), ("b", second)]


def test_upload_file_of_20_mib_with_5_mib_parts_round_trips(s3, bucket, tmp_path):
    source = tmp_path / "twenty.bin"
    body = random.Random(20).randbytes(20 * MiB)
    source.write_bytes(body)
    config = TransferConfig(
        multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2
    )
    s3.upload_file(str(source), bucket, "twenty.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="twenty.bin")
    assert head["ETag"].endswith('-4"')
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "twenty.bin", str(target), Config=config)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(body).digest()


def test_multipart_metadata_comes_from_the_create_call(s3, bucket):
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ContentType="video/mp4", Metadata={"origin": "camera"}
    )["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"frames")[
        "ETag"
    ]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {"origin": "camera"}
