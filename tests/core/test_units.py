"""Sizes and durations as people write them in configs and on the command line."""

import pytest

from cdn.units import format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MiB", 512 * 1024**2),
        ("24KiB", 24 * 1024),
        ("1.5GB", 1_500_000_000),
        ("100", 100),
        (" 2 gib ", 2 * 1024**3),
        (4096, 4096),
        ("10B", 10),
    ],
)
def test_parse_size_accepts_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["abc", "12XB", "-5", "", True, -1])
def test_parse_size_rejects_garbage_with_the_value_in_the_message(text):
    with pytest.raises(ValueError, match="expected a byte count"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("1d", 86400.0), (12, 12.0)],
)
def test_parse_duration_accepts_units(text, expected):
    assert parse_duration(text) == expected


def test_parse_duration_rejects_unknown_unit():
    with pytest.raises(ValueError, match="'5 weeks' is not a duration"):
        parse_duration("5 weeks")


def test_format_size_uses_binary_units():
    assert format_size(1536) == "1.5KiB"
    assert format_size(100) == "100B"
