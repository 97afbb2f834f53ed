"""The four trigger points, the two kinds of edge function, and CloudFront's limits per trigger.

Rules (../shared/reference/edge-functions.md, "Failure mapping and limits"):
- viewer triggers: 5 s timeout, 128 MB memory, generated response (headers + body) <= 40 KB,
  request body shown up to 40 KB;
- origin triggers: 30 s timeout, 128-3,008 MB memory, generated response <= 1 MB, body <= 1 MB;
- a CloudFront Function runs only on viewer triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "LIMITS",
    "MEMORY_MAX_MB",
    "MEMORY_MIN_MB",
    "FunctionKind",
    "Trigger",
    "TriggerLimits",
    "parse_trigger",
]

MEMORY_MIN_MB = 128
MEMORY_MAX_MB = 3008


class Trigger(StrEnum):
    """Where in a request's walk a function runs (CloudFront's ``eventType``)."""

    VIEWER_REQUEST = "viewer-request"
    ORIGIN_REQUEST = "origin-request"
    ORIGIN_RESPONSE = "origin-response"
    VIEWER_RESPONSE = "viewer-response"

    @property
    def is_viewer(self) -> bool:
        """True for the two triggers between the viewer and the cache."""
        return self in (Trigger.VIEWER_REQUEST, Trigger.VIEWER_RESPONSE)

    @property
    def is_request(self) -> bool:
        """True for the two triggers that see a request and may answer it themselves."""
        return self in (Trigger.VIEWER_REQUEST, Trigger.ORIGIN_REQUEST)


class FunctionKind(StrEnum):
    """Lambda@Edge (a worker process, any trigger) or a CloudFront Function (in-process, viewer)."""

    LAMBDA_EDGE = "lambda-edge"
    CLOUDFRONT_FUNCTION = "cloudfront-function"


@dataclass(frozen=True, slots=True)
class TriggerLimits:
    """CloudFront's caps for functions on one trigger."""

    timeout: float
    memory_max_mb: int
    generated_response_bytes: int
    body_bytes: int


_VIEWER = TriggerLimits(
    timeout=5.0, memory_max_mb=128, generated_response_bytes=40 * 1024, body_bytes=40 * 1024
)
_ORIGIN = TriggerLimits(
    timeout=30.0,
    memory_max_mb=MEMORY_MAX_MB,
    generated_response_bytes=1024 * 1024,
    body_bytes=1024 * 1024,
)
LIMITS: dict[Trigger, TriggerLimits] = {
    trigger: _VIEWER if trigger.is_viewer else _ORIGIN for trigger in Trigger
}


def parse_trigger(text: str) -> Trigger:
    """The Trigger named ``text``; ValueError listing the four names otherwise."""
    try:
        return Trigger(text)
    except ValueError:
        names = ", ".join(t.value for t in Trigger)
        raise ValueError(f"{text!r} is not a trigger (expected one of {names})") from None
