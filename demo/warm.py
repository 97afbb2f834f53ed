"""Keep the cluster as busy as the run keeps it while the calibration probes it (demo.calibrate).

Why: a node that idles takes time to take up a request (waking a halted virtual CPU, the
kernel scheduling the process), and how much depends on how long the machine idled. During the
run the machine never idles long: requests arrive at the workload's rate, and the load
generator busy-waits the last ``spin`` before each send. Probes sent one at a time into an
otherwise idle cluster measure a deeper idle than the run's, so the calibration over-states the
overheads on a quiet machine.

Rules: a process of its own (``python -m demo.warm``: its sends do not share the prober's
interpreter lock); ``GET /_cdn/health`` of every node in turn (answered at once, cached nowhere,
counted in no compared figure); Poisson arrivals at ``rate`` per second from a seeded rng, each
send after a busy wait of its last ``spin`` as the load generator's; one keep-alive connection
per node; prints ``ready`` once every connection answered, stops after ``seconds`` or when
terminated. A failed request is skipped (the calibration's own probes report a sick cluster).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import random
import sys
import time
from collections.abc import Callable, Sequence

__all__ = ["HEALTH_PATH", "main", "warm"]

HEALTH_PATH = "/_cdn/health"
TIMEOUT_SECONDS = 5.0


def _connection(url: str) -> http.client.HTTPConnection:
    host, _, port = url.split("://", 1)[1].rstrip("/").rpartition(":")
    return http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_SECONDS)


def warm(
    urls: Sequence[str],
    rate: float,
    seconds: float,
    seed: int = 0,
    spin: float = 0.0015,
    clock: Callable[[], float] = time.perf_counter,
    pause: Callable[[float], None] = time.sleep,
    ready: Callable[[], None] = lambda: None,
) -> int:
    """Send health GETs to ``urls`` in turn at ``rate`` per second (Poisson) for ``seconds``;
    ``ready()`` once each answered one. Returns the requests answered."""
    if rate <= 0:
        raise ValueError(f"rate {rate} <= 0 (expected requests per second)")
    connections = [_connection(url) for url in urls]
    rng = random.Random(seed)
    answered = 0

    def send(conn: http.client.HTTPConnection) -> None:
        nonlocal answered
        try:
            conn.request("GET", HEALTH_PATH)
            conn.getresponse().read()
            answered += 1
        except (OSError, http.client.HTTPException):
            conn.close()  # reconnects on the next request

    try:
        for conn in connections:
            send(conn)
        ready()
        started = due = clock()
        turn = 0
        while due - started < seconds:
            due += rng.expovariate(rate)
            wait = due - clock() - spin
            if wait > 0:
                pause(wait)
            while clock() < due:
                pass
            send(connections[turn % len(connections)])
            turn += 1
    finally:
        for conn in connections:
            conn.close()
    return answered


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m demo.warm --rate R --seconds S [--seed N] URL...``"""
    parser = argparse.ArgumentParser(prog="python -m demo.warm", description=__doc__)
    parser.add_argument("urls", nargs="+", help="base URLs of the nodes to keep busy")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True, help="stop after this long")
    parser.add_argument("--seed", type=int, default=0, help="seed of the arrival times")
    args = parser.parse_args(argv)

    def ready() -> None:
        print("ready", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        warm(args.urls, args.rate, args.seconds, args.seed, ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
