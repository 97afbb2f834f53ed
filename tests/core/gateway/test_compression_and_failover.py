"""Edge compression choices and origin-group fail-over decisions."""

from __future__ import annotations

import pytest

from cdn.gateway.behaviors import OriginGroup
from cdn.gateway.compression import choose_coding, should_compress
from cdn.gateway.failover import fails_over


@pytest.mark.parametrize(
    ("header", "brotli", "coding"),
    [
        (None, True, "identity"),
        ("gzip, deflate, br", True, "br"),
        ("gzip, deflate, br", False, "gzip"),
        ("br;q=0, gzip", True, "gzip"),
        ("GZIP", True, "gzip"),
        ("*", False, "gzip"),
        ("deflate", True, "identity"),
        ("gzip;q=bad", True, "identity"),
    ],
)
def test_accept_encoding_is_normalised_to_one_coding(header, brotli, coding) -> None:
    assert choose_coding(header, brotli) == coding


@pytest.mark.parametrize(
    ("status", "ctype", "encoding", "size", "expected"),
    [
        (200, "text/html; charset=utf-8", None, 5000, True),
        (200, "application/json", "identity", 5000, True),
        (200, "image/png", None, 5000, False),
        (200, "text/css", "gzip", 5000, False),
        (200, "text/css", None, 999, False),
        (200, "text/css", None, None, False),
        (206, "text/css", None, 5000, False),
    ],
)
def test_only_compressible_unencoded_answers_of_cloudfronts_sizes_are_compressed(
    status, ctype, encoding, size, expected
) -> None:
    assert should_compress(status, ctype, encoding, size) is expected


GROUP = OriginGroup("g", ("primary", "secondary"), frozenset({500, 503}))


def test_a_get_fails_over_on_a_connection_failure_or_a_listed_status() -> None:
    assert fails_over(GROUP, "GET", None)
    assert fails_over(GROUP, "HEAD", 503)
    assert not fails_over(GROUP, "GET", 404)


def test_a_post_never_fails_over() -> None:
    assert not fails_over(GROUP, "POST", None)
