"""Service level objectives for CI: ``--slo p99<50ms --slo errors<0.1% --slo hit_ratio>0.8``.

Grammar: ``METRIC OP VALUE[UNIT]`` with OP one of ``<``, ``<=``, ``>``, ``>=``.
- latency (from intended start): p50, p90, p95, p99, p999, mean, max; units us, ms (default), s;
- lag_p50, lag_p99, lag_max: schedule lag, same units;
- errors, dropped: share of requests (``0.1%`` or ``0.001``);
- hit_ratio, byte_hit_ratio, origin_offload: a fraction (``0.8``) or a percentage (``80%``);
- rate: achieved requests/s (``rate>=190``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadgen.report import LoadReport

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_SLO_RE = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*([a-z%]*)\s*$")
LATENCY = ("p50", "p90", "p95", "p99", "p999", "mean", "max")
LAG = ("lag_p50", "lag_p90", "lag_p99", "lag_max")
SHARES = ("errors", "dropped")
RATIOS = ("hit_ratio", "byte_hit_ratio", "origin_offload")
METRICS = (*LATENCY, *LAG, *SHARES, *RATIOS, "rate")
_TIME_UNITS = {"": 1.0, "ms": 1.0, "us": 0.001, "s": 1000.0}
SLO_EXPECTED = (
    "METRIC OP VALUE like 'p99<50ms', 'errors<0.1%', 'hit_ratio>0.8' "
    f"(metrics: {', '.join(METRICS)})"
)


@dataclass(frozen=True, slots=True)
class Slo:
    """One objective: ``metric op threshold`` with the threshold in the metric's base unit
    (ms for latency and lag, a fraction for shares and ratios, requests/s for rate)."""

    text: str
    metric: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        """True when ``value`` meets the objective."""
        return _OPS[self.op](value, self.threshold)


def parse_slo(text: str) -> Slo:
    """The Slo for ``text``; ValueError saying what is wrong and what is expected."""
    match = _SLO_RE.match(text.lower())
    if not match:
        raise ValueError(f"--slo {text!r} is not an objective (expected {SLO_EXPECTED})")
    metric, op, number, unit = match.groups()
    value = float(number)
    if metric not in METRICS:
        raise ValueError(
            f"--slo {text!r}: unknown metric {metric!r} (expected one of {', '.join(METRICS)})"
        )
    if metric in LATENCY or metric in LAG:
        if unit not in _TIME_UNITS:
            raise ValueError(
                f"--slo {text!r}: unit {unit!r} is not a time unit (expected us, ms or s)"
            )
        value *= _TIME_UNITS[unit]
    elif metric in SHARES or metric in RATIOS:
        if unit == "%":
            value /= 100.0
        elif unit:
            raise ValueError(
                f"--slo {text!r}: unit {unit!r} does not fit {metric} (expected % or none)"
            )
        if metric in RATIOS and value > 1.0:
            raise ValueError(f"--slo {text!r}: {metric} is a fraction (expected 0..1 or a %)")
    elif unit not in ("", "rps", "/s"):
        raise ValueError(f"--slo {text!r}: unit {unit!r} does not fit rate (expected requests/s)")
    return Slo(text.strip(), metric, op, value)


def measured(report: LoadReport, metric: str) -> float:
    """The value of ``metric`` in ``report``, in the metric's base unit."""
    if metric in LATENCY:
        return report.latency_ms()[metric]
    if metric in LAG:
        return report.lag_ms()[metric.removeprefix("lag_")]
    if metric == "errors":
        return report.error_ratio
    if metric == "dropped":
        scheduled = report.stats.scheduled
        return report.stats.dropped / scheduled if scheduled else 0.0
    if metric == "hit_ratio":
        return report.hit_ratio
    if metric == "byte_hit_ratio":
        return report.byte_hit_ratio
    if metric == "origin_offload":
        total = report.stats.total
        return 1.0 - total.origin_requests / total.responses if total.responses else 0.0
    if metric == "rate":
        return report.achieved_rate
    raise ValueError(f"unknown metric {metric!r}")


def evaluate(report: LoadReport, slos: list[Slo]) -> list[dict[str, Any]]:
    """One result per objective: its text, the measured value and whether it held."""
    return [
        {
            "slo": slo.text,
            "metric": slo.metric,
            "op": slo.op,
            "threshold": slo.threshold,
            "value": (value := measured(report, slo.metric)),
            "ok": slo.holds(value),
        }
        for slo in slos
    ]
