"""What functions cost: Lambda@Edge per request + GB-second, CloudFront Functions per invocation.

Rules: defaults are AWS's public list prices (us-east-1, no free tier for Lambda@Edge):
$0.60 per million Lambda@Edge requests, $0.00005001 per GB-second of duration billed in 1 ms
steps (since 1 April 2021: AWS What's New, "Lambda@Edge billing granularity", 31 March 2021),
$0.10 per million CloudFront Functions invocations. Source: the Amazon CloudFront pricing page
(https://aws.amazon.com/cloudfront/pricing/, its Lambda@Edge and CloudFront Functions
sections), as recorded here in December 2026; not re-read online by the code. A topology's
``[cost]`` table overrides them (docs/functions.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cdn.functions.triggers import FunctionKind

__all__ = ["FunctionPrices", "FunctionUsage", "billed_duration_ms", "usage_cost"]


@dataclass(frozen=True, slots=True)
class FunctionPrices:
    """Dollar prices of edge functions."""

    lambda_edge_per_million_requests: float = 0.60
    lambda_edge_per_gb_second: float = 0.00005001
    cloudfront_functions_per_million: float = 0.10


@dataclass(frozen=True, slots=True)
class FunctionUsage:
    """One function's invocations and billed milliseconds over a period."""

    kind: FunctionKind
    memory_mb: int
    invocations: int
    billed_ms: int = 0


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda@Edge bills duration rounded up to the next whole millisecond (at least 1)."""
    return max(1, math.ceil(duration_ms - 1e-9))


def usage_cost(prices: FunctionPrices, usage: FunctionUsage) -> float:
    """Dollars ``usage`` costs at ``prices``."""
    if usage.kind is FunctionKind.CLOUDFRONT_FUNCTION:
        return usage.invocations / 1e6 * prices.cloudfront_functions_per_million
    gb_seconds = usage.billed_ms / 1000.0 * usage.memory_mb / 1024.0
    return (
        usage.invocations / 1e6 * prices.lambda_edge_per_million_requests
        + gb_seconds * prices.lambda_edge_per_gb_second
    )
