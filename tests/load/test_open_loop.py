"""The open loop: tallies add up, the asked rate is kept, latency runs from the intended start."""

from __future__ import annotations

import socket

from load_apps import LOG, cache_app, serial_app

from loadgen import LoadPlan, run_load_sync


def test_requests_sent_equal_responses_plus_errors(serve) -> None:
    served = serve(cache_app())
    report = run_load_sync(
        LoadPlan(targets=(served.url,), rate=300, duration=1.5, arrival="constant")
    )
    stats = report.stats
    total = stats.total
    assert total.requests > 0
    assert total.requests == total.responses + total.errors
    assert stats.scheduled == total.requests + stats.dropped
    assert total.errors > 0  # ids ending in 9 answer 503
    assert stats.error_kinds == {"http_5xx": total.errors}
    assert sum(t.requests for t in stats.by_cache_status.values()) == total.requests
    assert sum(t.requests for t in stats.pops.values()) == total.requests
    assert sum(t.requests for t in stats.regions.values()) == total.requests
    assert sum(s.sent for s in stats.seconds) == total.requests
    assert sum(s.completed + s.errors for s in stats.seconds) == total.requests
    assert total.latency.get_total_count() == total.responses
    assert len(served.app[LOG]) == total.requests


def test_achieved_rate_is_within_5_percent_of_asked_at_200_per_s(serve) -> None:
    served = serve(cache_app())
    report = run_load_sync(
        LoadPlan(targets=(served.url,), rate=200, duration=3.0, arrival="constant")
    )
    doc = report.to_json()
    assert doc["rate"]["asked"] == 200
    assert abs(doc["rate"]["achieved"] - 200) / 200 < 0.05
    assert doc["requests"] == 600
    assert doc["dropped"] == 0


def test_requests_bound_sends_exactly_that_many(serve) -> None:
    served = serve(cache_app())
    report = run_load_sync(LoadPlan(targets=(served.url,), rate=500, requests=137))
    assert report.stats.scheduled == 137
    assert report.requests == 137


def test_latency_from_intended_start_shows_queueing_a_closed_loop_would_hide(serve) -> None:
    # One request at a time, 20 ms each: capacity 50/s. Asking 100/s for 1.5 s builds a queue
    # of about 75 requests; the last ones wait well over a second.
    service = 0.02
    served = serve(serial_app(service))
    report = run_load_sync(
        LoadPlan(targets=(served.url,), rate=100, duration=1.5, arrival="constant", timeout=30)
    )
    latency = report.latency_ms()
    assert report.stats.total.errors == 0
    # A closed-loop client would wait for each response and see about the service time.
    assert latency["p50"] > 10 * service * 1000
    assert latency["p99"] > 25 * service * 1000
    # The sends kept the schedule even though the server fell behind (the loop stayed open).
    assert report.stats.dropped == 0
    assert abs(report.achieved_rate - 100) / 100 < 0.05
    assert report.lag_ms()["p50"] < latency["p50"] / 10


def test_in_flight_cap_drops_and_counts_instead_of_waiting(serve) -> None:
    served = serve(serial_app(0.05))
    report = run_load_sync(
        LoadPlan(
            targets=(served.url,),
            rate=100,
            duration=1.0,
            arrival="constant",
            max_in_flight=5,
            timeout=30,
        )
    )
    stats = report.stats
    assert stats.dropped > 0
    assert stats.scheduled == stats.total.requests + stats.dropped
    assert any("dropped" in w for w in report.warnings())
    assert report.behind


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_counted_by_kind() -> None:
    port = _closed_port()
    report = run_load_sync(
        LoadPlan(targets=(f"http://127.0.0.1:{port}",), rate=100, requests=20, timeout=2)
    )
    assert report.stats.total.errors == 20
    assert report.stats.error_kinds == {"connect_refused": 20}
    assert report.error_ratio == 1.0
    assert any("nothing answered" in w for w in report.warnings())


def test_timeouts_are_counted_by_kind(serve) -> None:
    served = serve(serial_app(0.5))
    report = run_load_sync(
        LoadPlan(targets=(served.url,), rate=50, requests=5, timeout=0.2, arrival="constant")
    )
    assert report.stats.error_kinds.get("timeout", 0) >= 4
    assert report.requests == 5
    assert report.stats.total.requests == report.stats.total.responses + report.stats.total.errors


def test_without_spin_every_request_is_sent_and_no_core_is_kept_busy(serve) -> None:
    # spin 0: the dispatcher sleeps whole timer ticks before each send instead of yielding in
    # a loop, so at 2,000/s the load generator's thread is mostly asleep (spinning, it is
    # busy all the time); every request is still sent, only up to a tick late.
    import time

    served = serve(cache_app())
    plan = LoadPlan(targets=(served.url,), rate=2000, duration=1.5, arrival="constant", spin=0)
    started, cpu = time.perf_counter(), time.thread_time()
    report = run_load_sync(plan)
    busy = (time.thread_time() - cpu) / (time.perf_counter() - started)
    assert report.stats.scheduled == report.requests == 3000
    assert report.stats.dropped == 0
    assert busy < 0.7, f"the load generator's thread was busy {busy:.0%} of the run"
