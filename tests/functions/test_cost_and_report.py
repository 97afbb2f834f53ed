"""Function prices (AWS's list prices by default) and the REPORT record."""

from __future__ import annotations

import pytest

from cdn.functions import (
    FunctionKind,
    FunctionPrices,
    FunctionUsage,
    InvokeReport,
    billed_duration_ms,
    usage_cost,
)


def test_billed_duration_rounds_up_to_whole_milliseconds() -> None:
    assert [billed_duration_ms(d) for d in (0.02, 1.0, 1.01, 37.4)] == [1, 1, 2, 38]


def test_lambda_edge_cost_is_requests_plus_gb_seconds() -> None:
    usage = FunctionUsage(
        FunctionKind.LAMBDA_EDGE, memory_mb=128, invocations=1_000_000, billed_ms=5_000_000
    )
    # 1M requests at $0.60 + 5,000 s x 0.125 GB = 625 GB-s at $0.00005001
    assert usage_cost(FunctionPrices(), usage) == pytest.approx(0.60 + 625 * 0.00005001)


def test_cloudfront_function_cost_is_per_invocation() -> None:
    usage = FunctionUsage(FunctionKind.CLOUDFRONT_FUNCTION, memory_mb=2, invocations=3_000_000)
    assert usage_cost(FunctionPrices(), usage) == pytest.approx(0.30)


def test_prices_can_be_overridden() -> None:
    usage = FunctionUsage(FunctionKind.CLOUDFRONT_FUNCTION, memory_mb=2, invocations=1_000_000)
    assert usage_cost(FunctionPrices(cloudfront_functions_per_million=1.0), usage) == 1.0


REPORT = InvokeReport("req-1", "fn", 1.234, 2, 128, 30, init_duration_ms=150.5)


def test_report_text_reads_like_lambdas() -> None:
    assert REPORT.text() == (
        "REPORT RequestId: req-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 30 MB\tInit Duration: 150.50 ms"
    )


def test_report_record_is_a_platform_report() -> None:
    record = REPORT.record("2026-01-01T00:00:00.000Z")
    assert record["type"] == "platform.report"
    assert record["record"]["metrics"] == {
        "durationMs": 1.23,
        "billedDurationMs": 2,
        "memorySizeMB": 128,
        "maxMemoryUsedMB": 30,
        "initDurationMs": 150.5,
    }


def test_warm_report_has_no_init_duration() -> None:
    warm = InvokeReport("r", "fn", 1.0, 1, 128, 30)
    assert "initDurationMs" not in warm.record("t")["record"]["metrics"]
    assert "Init Duration" not in warm.text()
