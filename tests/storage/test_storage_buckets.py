"""Buckets and listings through boto3: create, head, delete, list; ListObjects v1/v2, versions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from storage_support import error_code


def test_created_bucket_is_listed_and_answers_head(s3, bucket):
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


# Creating an existing bucket again: 200 in us-east-1, 409 BucketAlreadyOwnedByYou elsewhere
# (tests/storage/test_storage_conformance.py).


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "UpperCase",
        "under_score",
        "-start",
        "end-",
        "a..b",
        "192.168.1.1",
        "xn--abc",
        "x" * 64,
    ],
)
def test_invalid_bucket_names_are_refused(s3, name):
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=name)
    assert error_code(excinfo) == "InvalidBucketName"


def test_head_of_a_missing_bucket_is_404(s3):
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_listing_a_missing_bucket_is_no_such_bucket(s3):
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert error_code(excinfo) == "NoSuchBucket"


def test_deleting_a_non_empty_bucket_is_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(excinfo) == "BucketNotEmpty"


def test_deleting_an_empty_bucket_removes_it(s3, bucket):
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.fixture
def tree(s3, bucket):
    keys = ["a.txt", "docs/1.md", "docs/2.md", "docs/sub/3.md", "img/x.png", "img/y.png", "z"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket, keys


def test_list_v2_returns_every_key_in_order(s3, tree):
    bucket, keys = tree
    answer = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in answer["Contents"]] == sorted(keys)
    assert answer["KeyCount"] == len(keys)
    assert answer["IsTruncated"] is False


def test_list_v2_prefix_limits_the_keys(s3, tree):
    bucket, _ = tree
    answer = s3.list_objects_v2(Bucket=bucket, Prefix="docs/")
    assert [o["Key"] for o in answer["Contents"]] == ["docs/1.md", "docs/2.md", "docs/sub/3.md"]


def test_list_v2_delimiter_rolls_up_common_prefixes(s3, tree):
    bucket, _ = tree
    answer = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in answer["Contents"]] == ["a.txt", "z"]
    assert [p["Prefix"] for p in answer["CommonPrefixes"]] == ["docs/", "img/"]


def test_list_v2_prefix_and_delimiter_list_one_level(s3, tree):
    bucket, _ = tree
    answer = s3.list_objects_v2(Bucket=bucket, Prefix="docs/", Delimiter="/")
    assert [o["Key"] for o in answer["Contents"]] == ["docs/1.md", "docs/2.md"]
    assert [p["Prefix"] for p in answer["CommonPrefixes"]] == ["docs/sub/"]


def test_list_v2_pages_with_continuation_tokens(s3, tree):
    bucket, keys = tree
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 4
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == sorted(keys)


def test_list_v2_pages_over_common_prefixes_without_repeats(s3, tree):
    bucket, _ = tree
    paginator = s3.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1})
    keys, prefixes = [], []
    for page in pages:
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert keys == ["a.txt", "z"]
    assert prefixes == ["docs/", "img/"]


def test_list_v2_start_after_skips_keys(s3, tree):
    bucket, _ = tree
    answer = s3.list_objects_v2(Bucket=bucket, StartAfter="img/x.png")
    assert [o["Key"] for o in answer["Contents"]] == ["img/y.png", "z"]


def test_list_v2_url_encoding_encodes_keys(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a b/ü", Body=b"x")
    answer = s3.list_objects_v2(Bucket=bucket, EncodingType="url")
    assert [o["Key"] for o in answer["Contents"]] == ["a%20b/%C3%BC"]  # asked for: left encoded


def test_list_v1_pages_with_markers(s3, tree):
    bucket, keys = tree
    paginator = s3.get_paginator("list_objects")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == sorted(keys)
    assert len(pages) == 3


def test_list_v1_delimiter_and_marker(s3, tree):
    bucket, _ = tree
    answer = s3.list_objects(Bucket=bucket, Delimiter="/", Marker="docs/")
    assert [o["Key"] for o in answer["Contents"]] == ["z"]
    assert [p["Prefix"] for p in answer["CommonPrefixes"]] == ["img/"]


def test_list_object_versions_lists_each_object_once_with_null_version(s3, tree):
    bucket, keys = tree
    answer = s3.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in answer["Versions"]] == sorted(keys)
    assert {v["VersionId"] for v in answer["Versions"]} == {"null"}
    assert all(v["IsLatest"] for v in answer["Versions"])


def test_max_keys_zero_lists_nothing(s3, tree):
    bucket, _ = tree
    answer = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert answer["KeyCount"] == 0
    assert "Contents" not in answer


def test_bucket_location_is_us_east_1(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
