"""Invocations counted as plain numbers reach the exposition as inc() and observe() would."""

from __future__ import annotations

from fn.metrics import FunctionMetrics


def samples(metrics: FunctionMetrics) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name.startswith("cdnlab_function_") and not sample.name.endswith("_created")
    }


def test_a_tally_is_exposed_as_the_counter_and_histogram_would_be() -> None:
    durations = [0.0, 0.00002, 0.0001, 0.00010001, 0.0003, 0.0003, 0.004, 7.0, 99.0]  # bounds too
    direct, tallied = FunctionMetrics(), FunctionMetrics()
    for seconds in durations:
        direct.invocations.labels("cff", "viewer-request").inc()
        direct.duration.labels("cff", "viewer-request").observe(seconds)
    tally = tallied.tally("cff", "viewer-request")
    for seconds in durations:
        tally.observe(seconds)
    assert samples(tallied) == samples(direct)


def test_a_tally_is_added_once_whatever_the_number_of_scrapes() -> None:
    metrics = FunctionMetrics()
    tally = metrics.tally("cff", "viewer-request")
    tally.observe(0.001)
    metrics.exposition()
    tally.observe(0.001)
    text = metrics.exposition().decode()
    assert 'cdnlab_function_invocations_total{function="cff",trigger="viewer-request"} 2.0' in text


def test_an_invoke_counted_at_its_start_is_timed_after_a_scrape_in_between() -> None:
    """The Lambda pool counts an invoke as it starts and times it when it ends."""
    metrics = FunctionMetrics()
    tally = metrics.tally("lambda", "viewer-request")
    tally.count += 1
    metrics.exposition()  # a scrape while the invoke runs
    tally.time(0.003)
    text = metrics.exposition().decode()
    labels = '{function="lambda",trigger="viewer-request"}'
    assert f"cdnlab_function_invocations_total{labels} 1.0" in text
    assert f"cdnlab_function_duration_seconds_count{labels} 1.0" in text
