"""Names: S3's bucket-name rules, object-key rules, and keys turned into safe file names.

Rules: a bucket name follows S3's general-purpose rules (3-63 characters of a-z, 0-9, '.' and
'-', starting and ending with a letter or digit, no '..', no '.-' or '-.' (every
dot-separated label is a DNS label), not an IPv4 address, none of the reserved prefixes and
suffixes), so it is always a safe directory name. An object key is 1 to
1,024 bytes of UTF-8 without NUL; it never becomes a path: its file name is the blake2b digest
of the key (the key itself lives inside the object file), so ``..``, ``/`` and absolute paths
cannot leave the data folder or reach another file.
"""

from __future__ import annotations

import hashlib
import re

from storage.errors import S3Error

__all__ = [
    "MAX_KEY_BYTES",
    "bucket_name_problem",
    "check_bucket_name",
    "check_key",
    "key_file_name",
]

MAX_KEY_BYTES = 1024

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return f"is {len(name)} characters long (expected 3 to 63)"
    if not _BUCKET.fullmatch(name):
        return (
            "has characters other than a-z, 0-9, '.' and '-', or does not start and end"
            " with a letter or digit"
        )
    if ".." in name:
        return "has two adjacent periods"
    if ".-" in name or "-." in name:
        return "has a period next to a hyphen (each dot-separated label is a DNS label)"
    if _IPV4.fullmatch(name):
        return "is formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "uses a prefix or suffix S3 reserves"
    return None


def check_bucket_name(name: str) -> str:
    """``name`` when it is a valid bucket name; S3Error InvalidBucketName otherwise."""
    problem = bucket_name_problem(name)
    if problem is not None:
        raise S3Error(
            "InvalidBucketName",
            f"the bucket name {name[:80]!r} {problem}; see S3's bucket naming rules",
            BucketName=name[:255],
        )
    return name


def check_key(key: str) -> str:
    """``key`` when it is a storable object key; S3Error naming the problem otherwise."""
    if not key:
        raise S3Error("InvalidArgument", "the object key is empty (expected 1 to 1024 bytes)")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise S3Error(
            "KeyTooLongError",
            f"the object key is {size} bytes long (expected at most {MAX_KEY_BYTES} bytes)",
        )
    if "\x00" in key:
        raise S3Error("InvalidArgument", "the object key contains a NUL character")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise S3Error("InvalidArgument", "the object key is not valid UTF-8") from None
    return key


def key_file_name(key: str) -> str:
    """The file name of ``key``'s object: 32 hex digits of its blake2b digest (no path parts)."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()
