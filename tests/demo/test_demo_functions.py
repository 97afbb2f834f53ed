"""The twin's function figures: the edges' function metrics against the simulator's prediction."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from cdn.topology import load_topology
from demo.compare import compare_doc, measured_figures
from demo.predict import predict
from demo.scrape import ClusterReading, OriginCounters, parse_cache_metrics
from demo.table import comparison_table
from fn.metrics import FunctionMetrics

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "configs" / "functions.toml"


@pytest.fixture(scope="module")
def prediction():
    return predict(load_topology(FUNCTIONS), seed=3, duration=2.0)


def edge_metrics(counts: dict[str, dict[str, int]], scale: float = 1.0) -> str:
    """An edge's /_cdn/metrics text with these function counts (fn/metrics.py's own names),
    split over two triggers, plus Lambda invoke API calls the twin must leave out."""
    metrics = FunctionMetrics()
    for function, figures in counts.items():
        for counter, value in figures.items():
            family = getattr(metrics, counter)
            value = round(value * scale)
            family.labels(function, "viewer-request").inc(value - value // 2)
            family.labels(function, "viewer-response").inc(value // 2)
            family.labels(function, "invoke").inc(7)
    return metrics.exposition().decode()


def measured_from(predicted_functions: dict, scale: float = 1.0):
    caches = {
        edge: parse_cache_metrics(edge_metrics(functions, scale))
        for edge, functions in predicted_functions.items()
    }
    before = ClusterReading(
        {edge: parse_cache_metrics("") for edge in caches}, OriginCounters(0, 0)
    )
    delta = ClusterReading(caches, OriginCounters(0, 0)).minus(before)
    return measured_figures(dict.fromkeys(caches, "edge"), delta, {"requests": 0})


def test_the_prediction_counts_each_function_at_each_edge(prediction):
    functions = prediction.figures.functions
    assert set(functions) == {"edge-par", "edge-lon", "edge-ams"}
    assert set(functions["edge-lon"]) == {"ab-cookie", "maintenance", "security-headers"}
    requests_at_ams = prediction.result.report["pops"]["edge-ams"]["requests"]
    forwarded = prediction.result.report["pops"]["edge-ams"]["forwarded_to_peer"]
    # a viewer-request function runs once per request the edge received from a user
    assert functions["edge-ams"]["normalize-query"]["invocations"] > 0
    assert functions["edge-ams"]["normalize-query"]["invocations"] <= requests_at_ams + forwarded


def test_edge_metrics_are_summed_over_triggers_without_the_invoke_api(prediction):
    measured = measured_from(prediction.figures.functions)
    assert measured.functions == prediction.figures.functions


def test_compare_json_and_table_show_invocations_and_cold_starts_per_function(prediction):
    measured = measured_from(prediction.figures.functions, scale=1.02)
    doc = compare_doc(measured, prediction.figures, run={"topology": "functions"})
    rewrite = doc["difference"]["functions"]["rewrite-redirect"]
    assert rewrite["invocations"] < 0
    assert rewrite["invocations_relative"] == pytest.approx(1 / 1.02 - 1, abs=0.002)
    assert set(doc["measured"]["functions"]) == set(doc["predicted"]["functions"])
    text = io.StringIO()
    Console(file=text, width=160).print(comparison_table(doc))
    assert "rewrite-redirect invocations" in text.getvalue()
    assert "security-headers cold starts" in text.getvalue()


def test_no_functions_no_function_figures():
    local = predict(load_topology(ROOT / "configs" / "local.toml"), seed=3, duration=0.5)
    doc = compare_doc(measured_from({}), local.figures, run={})
    assert "functions" not in doc["predicted"] and "functions" not in doc["difference"]


def test_a_relocated_topology_takes_its_function_code_along(tmp_path):
    # `cdn demo --free-ports` (or a busy port) runs a copy of the topology in its output folder
    from cluster.relocate import relocate_topology

    moved = load_topology(relocate_topology(FUNCTIONS, tmp_path))
    for spec in moved.functions:
        copy, original = Path(spec.code), ROOT / "configs" / "functions" / Path(spec.code).name
        assert copy.is_relative_to(tmp_path) and copy.read_bytes() == original.read_bytes()
