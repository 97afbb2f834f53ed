"""The core's compression rules the simulator and the load generator share with the edge:
the normalised request fields, what a client of each coding sends, compressed sizes."""

from __future__ import annotations

import pytest

from cdn.gateway.compression import (
    CODINGS,
    COMPRESSION_RATIOS,
    accept_encoding_field,
    choose_coding,
    compressed_size,
    normalised_fields,
)


@pytest.mark.parametrize("coding", CODINGS)
def test_the_field_a_client_of_a_coding_sends_normalises_to_that_coding(coding: str) -> None:
    assert choose_coding(accept_encoding_field(coding), brotli=True) == coding


def test_an_unknown_coding_has_no_field() -> None:
    with pytest.raises(ValueError, match="zstd"):
        accept_encoding_field("zstd")


def test_normalised_fields_replace_accept_encoding_with_the_coding() -> None:
    fields = [("Host", "a"), ("accept-encoding", "gzip, br"), ("X", "1")]
    assert normalised_fields(fields, "br") == [("Host", "a"), ("X", "1"), ("Accept-Encoding", "br")]


def test_normalised_fields_drop_accept_encoding_for_identity() -> None:
    assert normalised_fields([("Accept-Encoding", "identity")], "identity") == []


def test_a_compressed_size_is_rounded_up() -> None:
    assert compressed_size(10_240, 0.39) == 3994
    assert compressed_size(1, 0.39) == 1


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.5])
def test_a_ratio_outside_zero_to_one_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="compression ratio"):
        compressed_size(1000, ratio)


def test_brotli_is_assumed_smaller_than_gzip() -> None:
    assert 0 < COMPRESSION_RATIOS["br"] < COMPRESSION_RATIOS["gzip"] < 1
