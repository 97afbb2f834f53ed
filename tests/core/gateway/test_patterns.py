"""CloudFront path patterns: ``*`` any characters, ``?`` one, case-sensitive, path only."""

from __future__ import annotations

import pytest

from cdn.gateway.patterns import PathPattern


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "/anything/at/all", True),
        ("/images/*.jpg", "/images/a/b.jpg", True),
        ("images/*.jpg", "/images/b.jpg", True),
        ("/images/*.jpg", "/images/b.png", False),
        ("/images/*.jpg", "/Images/b.jpg", False),
        ("/v?/api", "/v1/api", True),
        ("/v?/api", "/v10/api", False),
        ("/api/*", "/api", False),
        ("/a.b", "/aXb", False),
    ],
)
def test_pattern_matching(pattern: str, path: str, matches: bool) -> None:
    assert PathPattern(pattern).matches(path) is matches


def test_a_pattern_with_characters_cloudfront_refuses_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="characters CloudFront does not allow"):
        PathPattern("/a b")
