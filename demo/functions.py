"""The twin's edge-function figures: invocations, cold starts and throttles, measured and predicted.

Rules: measured from each edge's /_cdn/metrics counters (fn/metrics.py's names:
``cdnlab_function_invocations_total``, ``..._cold_starts_total``, ``..._throttles_total``,
labels ``function`` and ``trigger``), summed over the triggers (one function's instances at one
edge serve all of its triggers, in the simulator as in the edge; the ``invoke`` trigger of the
Lambda invoke API is not the edge's and is left out); predicted from report.json's
``functions.pops``. Both sides are ``{edge: {function: {counter: count}}}``; the comparison
totals each function over the edges: predicted minus measured, and relative to measured.
Invocations include throttled ones on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "COUNTERS",
    "METRICS",
    "function_notes",
    "function_rows",
    "functions_difference",
    "measured_functions",
    "parse_function_samples",
    "predicted_functions",
    "totals",
]

COUNTERS = ("invocations", "cold_starts", "throttles")
# Prometheus sample name -> counter (fn/metrics.py)
METRICS = {
    "cdnlab_function_invocations_total": "invocations",
    "cdnlab_function_cold_starts_total": "cold_starts",
    "cdnlab_function_throttles_total": "throttles",
}
NOT_AN_EDGE_TRIGGER = "invoke"

FunctionCounts = Mapping[str, Mapping[str, int]]  # function -> counter -> count


def parse_function_samples(
    samples: Iterable[tuple[str, Mapping[str, str], float]],
) -> dict[tuple[str, str], float]:
    """``(function, counter) -> value`` from Prometheus samples (name, labels, value)."""
    counts: dict[tuple[str, str], float] = {}
    for name, labels, value in samples:
        counter = METRICS.get(name)
        if counter is None or labels.get("trigger") == NOT_AN_EDGE_TRIGGER:
            continue
        key = (labels.get("function", ""), counter)
        counts[key] = counts.get(key, 0.0) + value
    return counts


def measured_functions(
    by_edge: Mapping[str, Mapping[tuple[str, str], float]],
) -> dict[str, dict[str, dict[str, int]]]:
    """``{edge: {function: {counter: count}}}`` from each edge's ``(function, counter)`` deltas."""
    measured: dict[str, dict[str, dict[str, int]]] = {}
    for edge, counts in by_edge.items():
        for (function, counter), value in counts.items():
            entry = measured.setdefault(edge, {}).setdefault(function, dict.fromkeys(COUNTERS, 0))
            entry[counter] = round(value)
    return measured


def predicted_functions(report: Mapping[str, Any]) -> dict[str, dict[str, dict[str, int]]]:
    """``{edge: {function: {counter: count}}}`` from report.json's ``functions`` section."""
    section = report.get("functions") or {}
    return {
        pop: {
            entry["function"]: {counter: int(entry[counter]) for counter in COUNTERS}
            for entry in entries
        }
        for pop, entries in (section.get("pops") or {}).items()
    }


def totals(by_edge: Mapping[str, FunctionCounts]) -> dict[str, dict[str, int]]:
    """Each function's counters summed over the edges."""
    summed: dict[str, dict[str, int]] = {}
    for functions in by_edge.values():
        for function, counts in functions.items():
            entry = summed.setdefault(function, dict.fromkeys(COUNTERS, 0))
            for counter in COUNTERS:
                entry[counter] += counts.get(counter, 0)
    return summed


def functions_difference(
    measured: Mapping[str, FunctionCounts], predicted: Mapping[str, FunctionCounts]
) -> dict[str, dict[str, float]]:
    """Per function: predicted minus measured of each counter, and ``<counter>_relative``."""
    m_totals, p_totals = totals(measured), totals(predicted)
    zero = dict.fromkeys(COUNTERS, 0)
    out: dict[str, dict[str, float]] = {}
    for function in sorted(set(m_totals) | set(p_totals)):
        m, p = m_totals.get(function, zero), p_totals.get(function, zero)
        entry: dict[str, float] = {}
        for counter in COUNTERS:
            entry[counter] = p[counter] - m[counter]
            entry[f"{counter}_relative"] = (
                (p[counter] - m[counter]) / m[counter] if m[counter] else 0.0
            )
        out[function] = entry
    return out


def function_rows(doc: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(label, measured, predicted) rows of compare.json's function figures for the table."""
    measured = totals(doc["measured"].get("functions") or {})
    predicted = totals(doc["predicted"].get("functions") or {})
    zero = dict.fromkeys(COUNTERS, 0)
    rows = []
    for function in sorted(set(measured) | set(predicted)):
        m, p = measured.get(function, zero), predicted.get(function, zero)
        rows.append((f"{function} invocations", m["invocations"], p["invocations"]))
        rows.append((f"{function} cold starts", m["cold_starts"], p["cold_starts"]))
        if m["throttles"] or p["throttles"]:
            rows.append((f"{function} throttles", m["throttles"], p["throttles"]))
    return rows


def function_notes(
    measured: Mapping[str, FunctionCounts], predicted: Mapping[str, FunctionCounts]
) -> list[str]:
    """compare.json notes about the function figures (none when both sides have them)."""
    if predicted and not measured:
        return [
            "the topology has edge functions but the edges exported no function metrics "
            "(cdnlab_function_invocations_total): measured function figures are 0"
        ]
    return []
