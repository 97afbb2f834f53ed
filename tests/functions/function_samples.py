"""The fixed request, response and origin the golden events of tests/functions/golden/ are built from."""

from __future__ import annotations

from cdn.functions import EdgeRequest, EdgeResponse, FunctionInput, OriginTarget, Trigger

GOLDEN_REQUEST_ID = "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="

SAMPLE_REQUEST = EdgeRequest(
    method="GET",
    uri="/picture.jpg",
    querystring="size=large&tag=a&tag=b",
    headers=(
        ("Host", "d111111abcdef8.cloudfront.net"),
        ("User-Agent", "curl/8.5.0"),
        ("Accept", "*/*"),
        ("Cookie", "session=abc; theme=dark"),
        ("X-Forwarded-Proto", "https"),
        ("X-Amz-Cf-Id", "hidden-from-functions"),
    ),
    client_ip="203.0.113.178",
)
SAMPLE_RESPONSE = EdgeResponse(
    status=200,
    headers=(
        ("Content-Type", "image/jpeg"),
        ("Cache-Control", "public, max-age=3600"),
        ("Set-Cookie", "seen=1; Path=/; Secure"),
        ("Via", "1.1 cdnlab-origin"),
        ("X-Cache", "Miss from cloudfront"),
    ),
    status_description="OK",
)
SAMPLE_ORIGIN = OriginTarget(name="origin", domain_name="origin", port=8100)
SHIELD = OriginTarget(name="shield-fra", domain_name="shield-fra", port=8110)


def sample_input(trigger: Trigger) -> FunctionInput:
    """The golden input of ``trigger``: a response for response triggers, an origin for origin ones."""
    return FunctionInput(
        request=SAMPLE_REQUEST,
        request_id=GOLDEN_REQUEST_ID,
        response=None if trigger.is_request else SAMPLE_RESPONSE,
        origin=None if trigger.is_viewer else SAMPLE_ORIGIN,
    )
