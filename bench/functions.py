"""What edge functions cost per request: hits through a live edge, a warm invoke, a cold start.

In one run, on loopback, bounded in time and count:
- live edge hits (needs `wrk`): one `cdn origin` and three `cdn edge` processes, with no
  function, with a CloudFront Function on viewer-request (configs/functions/normalize_query.py)
  and with a Lambda-style function on viewer-request (configs/functions/rewrite_redirect.py,
  `--function-concurrency` = wrk's connections, so nothing is throttled); 1 KiB hits, wrk runs
  interleaved for `--rounds` rounds (so load from others falls on all alike), best requests/s
  and the ratios to the no-function edge (goal: CloudFront Function >= 0.6), also as edge CPU
  per request (/proc/PID/schedstat: what others' load moves least); then the latency
  the Lambda function adds to a hit at half of the Lambda edge's own peak (its median wrk round):
  open loop at that fixed rate with loadgen's lean keep-alive client on asyncio's own loop
  (it sleeps to its 1 ms poll and sends what is due together; under uvloop it would spin
  and take a core; its CPU share and lag behind the schedule are printed),
  the no-function and the Lambda edge in interleaved rounds; printed: the rate asked and
  achieved, p50/p99 of both, the differences (goals <= 1 ms / <= 5 ms), the cold starts during
  the rounds (0: every invoke was warm), the edge's and its function workers' CPU per request,
  the cold-start time and the load averages. ``--lambda-baseline DIR`` adds the Lambda edge of another checkout to those rounds (before
  and after in one run), ``--cloudfront-baseline DIR`` its CloudFront Function edge to the wrk
  rounds;
- reference: a 1 KiB GET over a keep-alive loopback connection to a bare aiohttp server (what a
  hit costs at best), and ``FunctionChain.run`` with no function attached (the call's floor);
- CloudFront Function on viewer-request (configs/functions/normalize_query.py), in-process:
  per-call p50/p99 and calls/s;
- Lambda-style function on viewer-request (configs/functions/rewrite_redirect.py), warm:
  the latency it adds per request (event build + pipe round trip to the worker + validation),
  sequential p50/p99, peak invokes/s with `--callers` closed-loop callers, then p50/p99 at half
  that rate (open loop: starts on schedule, latency from the scheduled start), on a pool of
  `--concurrency` pre-warmed instances (throttled invokes are counted, not timed);
- cold start: process start + import + init, median of several.
Figures print next to the machine load (os.getloadavg()): the cores are shared, so compare the
ratios of one run, never absolute numbers across runs.

    .venv/bin/python bench/functions.py [--seconds 3] [--callers 2] [--concurrency 8]
        [--duration 3] [--rounds 2] [--connections 16] [--lambda-baseline DIR]
        [--cloudfront-baseline DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from cdn.functions import EdgeRequest, FunctionInput, FunctionKind, FunctionSpec, Trigger
from fn.chain import FunctionChain
from fn.cloudfront import CloudFrontFunction
from fn.pool import LambdaPool
from loadgen.wire import WireClient, origin_of, request_tail

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "configs" / "functions"

# bench/edge.py's process, wrk and port helpers (loaded by path: `edge` is also our package).
_spec = importlib.util.spec_from_file_location("bench_edge", ROOT / "bench" / "edge.py")
assert _spec is not None and _spec.loader is not None
bench_edge = importlib.util.module_from_spec(_spec)
sys.modules["bench_edge"] = bench_edge  # its dataclasses look their module up
_spec.loader.exec_module(bench_edge)

EDGES = {
    "no function": [],
    "CloudFront Function": [
        "--cloudfront-function",
        f"viewer-request={EXAMPLES / 'normalize_query.py'}:handler",
    ],
    "Lambda-style function": [
        "--function",
        f"viewer-request={EXAMPLES / 'rewrite_redirect.py'}:handler",
    ],
}
GIVEN = FunctionInput(
    EdgeRequest(
        "GET",
        "/obj/42",
        "B=2&a=1&utm_source=x",
        (("Host", "cdn.example"), ("User-Agent", "bench"), ("Accept", "*/*")),
        "198.51.100.7",
    ),
    "bench",
)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    pick = lambda share: ordered[min(len(ordered) - 1, int(share * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.5), 4), "p99_ms": round(pick(0.99), 4), "n": len(ordered)}


async def timed_loop(call, seconds: float, limit: int) -> list[float]:
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and len(samples) < limit:
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def loopback_hit(seconds: float) -> dict[str, Any]:
    body = b"x" * 1024
    app = web.Application()
    app.router.add_get("/obj", lambda request: web.Response(body=body))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:

            async def get() -> None:
                async with session.get(f"http://127.0.0.1:{port}/obj") as response:
                    await response.read()

            await get()
            return percentiles(await timed_loop(get, seconds, 50_000))
    finally:
        await runner.cleanup()


async def peak_rate(chain: FunctionChain, callers: int, seconds: float) -> float:
    count = 0
    end = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal count
        while time.perf_counter() < end:
            await chain.run(Trigger.VIEWER_REQUEST, GIVEN)
            count += 1

    began = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return count / (time.perf_counter() - began)


async def open_loop(chain: FunctionChain, rate: float, seconds: float) -> dict[str, Any]:
    samples: list[float] = []
    throttled = 0
    start = time.perf_counter()
    total = int(rate * seconds)

    async def one(scheduled: float) -> None:
        nonlocal throttled
        result = await chain.run(Trigger.VIEWER_REQUEST, GIVEN)
        if getattr(result, "status", None) == 503:
            throttled += 1
        else:
            samples.append((time.perf_counter() - scheduled) * 1000)

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(scheduled)))
    await asyncio.gather(*tasks)
    return {**percentiles(samples), "rate": round(rate, 1), "throttled": throttled}


async def cold_starts(count: int) -> dict[str, Any]:
    spec = FunctionSpec("cold", str(EXAMPLES / "rewrite_redirect.py"), concurrency=1)
    inits = []
    for _ in range(count):
        pool = LambdaPool(spec)
        try:
            invocation = await pool.invoke({"Records": [{"cf": {"request": {"uri": "/"}}}]}, "cold")
            inits.append(invocation.init_ms)
        finally:
            await pool.close()
    return {
        "median_ms": round(statistics.median(inits), 2),
        "max_ms": round(max(inits), 2),
        "n": count,
    }


async def main(seconds: float, callers: int, concurrency: int) -> dict[str, Any]:
    report: dict[str, Any] = {"loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    report["loopback_1kib_get"] = await loopback_hit(seconds)
    empty = FunctionChain({})
    report["chain_without_function"] = percentiles(
        await timed_loop(lambda: empty.run(Trigger.VIEWER_REQUEST, GIVEN), seconds / 2, 200_000)
    )

    cff_spec = FunctionSpec(
        "normalize",
        str(EXAMPLES / "normalize_query.py"),
        kind=FunctionKind.CLOUDFRONT_FUNCTION,
        budget=0.005,
    )
    cff = FunctionChain({Trigger.VIEWER_REQUEST: CloudFrontFunction(cff_spec)})
    samples = await timed_loop(lambda: cff.run(Trigger.VIEWER_REQUEST, GIVEN), seconds, 200_000)
    report["cloudfront_function"] = {
        **percentiles(samples),
        "calls_per_s": round(len(samples) / (sum(samples) / 1000), 0),
    }

    spec = FunctionSpec(
        "rewrite", str(EXAMPLES / "rewrite_redirect.py"), concurrency=concurrency, timeout=5.0
    )
    pool = LambdaPool(spec)
    chain = FunctionChain({Trigger.VIEWER_REQUEST: pool})
    try:
        await asyncio.gather(
            *(chain.run(Trigger.VIEWER_REQUEST, GIVEN) for _ in range(concurrency))
        )
        warm = await timed_loop(lambda: chain.run(Trigger.VIEWER_REQUEST, GIVEN), seconds, 50_000)
        report["lambda_warm_sequential"] = percentiles(warm)
        peak = await peak_rate(chain, callers, seconds)
        report["lambda_peak_invokes_per_s"] = round(peak, 0)
        report["lambda_at_half_peak"] = await open_loop(chain, peak / 2, seconds)
    finally:
        await pool.close()
    report["lambda_cold_start"] = await cold_starts(5)
    hit = report["loopback_1kib_get"]["p50_ms"]
    report["ratios"] = {
        "lambda_warm_p50_over_loopback_get_p50": round(
            report["lambda_warm_sequential"]["p50_ms"] / hit, 2
        ),
        "cloudfront_function_p50_over_loopback_get_p50": round(
            report["cloudfront_function"]["p50_ms"] / hit, 3
        ),
    }
    report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


class _Tally:
    """The lean client's outcomes: latency from the send (ms) of each 200, the rest counted."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.lags: list[float] = []
        self.failed: dict[str, int] = {}

    def response(self, route, intended, started, done, status, *_rest) -> None:
        if status == 200:
            self.samples.append((done - started) * 1000)
        else:
            self.failed[f"http_{status}"] = self.failed.get(f"http_{status}", 0) + 1

    def error(self, route, intended, started, done, kind) -> None:
        self.failed[kind] = self.failed.get(kind, 0) + 1


async def open_loop_wire(url: str, rate: float, seconds: float, connections: int) -> dict:
    """GET ``url`` at ``rate``/s for ``seconds``, open loop: each request is sent at its
    scheduled time whatever the earlier ones do (queued in the client, and timed from the send,
    when all ``connections`` are busy). loadgen's lean keep-alive client (httptools, no task
    per request), so the load generator takes little of the shared cores. The dispatcher wakes
    on the loop's millisecond timers: its lag behind the schedule is reported, not added."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    tally = _Tally()
    cpu_before = time.process_time()
    client = WireClient(tally, connections=connections, timeout=10.0, clock=time.perf_counter)
    pool = client.pool(base)
    data = f"GET {parts.path}?{parts.query}".encode() + request_tail(origin_of(base), {})
    await client.warm(connections)
    client.start()
    total = int(rate * seconds)
    clock = time.perf_counter
    start = clock() + 0.005
    sent = 0
    try:
        while sent < total:
            now = clock()
            due = start + sent / rate
            if due > now:
                await asyncio.sleep(due - now)
                continue
            while sent < total and start + sent / rate <= now:
                tally.lags.append((now - (start + sent / rate)) * 1000)
                client.send(pool, data, None, start + sent / rate, now)
                sent += 1
        ends = clock() + 10.0
        while client.in_flight and clock() < ends:
            await asyncio.sleep(0.005)
        elapsed = clock() - start
    finally:
        await client.close()
    return {
        "samples": tally.samples,
        "lags": tally.lags,
        "failed": tally.failed,
        "sent": sent,
        "elapsed_s": elapsed,
        "client_cpu_s": time.process_time() - cpu_before,
    }


def cold_starts_so_far(url: str) -> int:
    """The edge's ``cdnlab_function_cold_starts_total`` (all functions and triggers)."""
    parts = urlsplit(url)
    with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/_cdn/metrics", timeout=10) as r:
        text = r.read().decode()
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("cdnlab_function_cold_starts_total")
        )
    )


def added_latency(
    urls: dict[str, str],
    rate: float,
    duration: int,
    rounds: int,
    connections: int,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The no-function edge and each Lambda edge of ``urls`` at the same ``rate`` (open loop),
    ``rounds`` times each, interleaved (so the other engineers' load falls on all alike);
    pooled p50/p99 of each and the differences: what a warm Lambda-style invoke adds to a hit
    at that rate. The Lambda edges' cold starts during the rounds are counted (0: all warm).
    With ``pids`` (edge process by name), also each edge's CPU per answered request."""
    pids = pids or {}
    names = tuple(urls)
    lambdas = [name for name in names if name != "no function"]
    cold_before = {name: cold_starts_so_far(urls[name]) for name in lambdas}
    pooled: dict[str, dict[str, Any]] = {
        name: {
            "samples": [],
            "lags": [],
            "failed": {},
            "sent": 0,
            "elapsed_s": 0.0,
            "cpu_s": 0.0,
            "workers_cpu_s": 0.0,
            "client_cpu_s": 0.0,
        }
        for name in names
    }
    loads = []
    for round_ in range(1, rounds + 1):
        for name in names:
            pid = pids.get(name)
            cpu_before = cpu_seconds(pid) if pid else 0.0
            workers_before = workers_cpu_seconds(pid) if pid else {}
            # asyncio's own loop, not uvloop: under uvloop a sleep shorter than its 1 ms timers
            # is a 0 ms timer, so this client would spin and take a whole core from the edges
            # it measures (half of a two-core machine); asyncio's rounds the wait up to its
            # poll's 1 ms and sends what is due together (the lag behind the schedule and the
            # client's CPU are reported; latency runs from the send).
            run = asyncio.run(open_loop_wire(urls[name], rate, duration, connections))
            into = pooled[name]
            if pid:
                into["cpu_s"] += cpu_seconds(pid) - cpu_before
                workers_after = workers_cpu_seconds(pid)
                into["workers_cpu_s"] += sum(
                    used - workers_before.get(child, 0.0) for child, used in workers_after.items()
                )
            into["samples"] += run["samples"]
            into["lags"] += run["lags"]
            into["sent"] += run["sent"]
            into["elapsed_s"] += run["elapsed_s"]
            into["client_cpu_s"] += run["client_cpu_s"]
            for kind, count in run["failed"].items():
                into["failed"][kind] = into["failed"].get(kind, 0) + count
            one = percentiles(run["samples"]) if run["samples"] else {"p50_ms": 0, "p99_ms": 0}
            load = [round(x, 2) for x in os.getloadavg()]
            loads.append(load)
            print(
                f"  half-peak round {round_} {name:<32} asked {rate:7.0f}/s achieved"
                f" {run['sent'] / run['elapsed_s']:7.0f}/s  p50 {one['p50_ms']:6.2f} ms"
                f"  p99 {one['p99_ms']:7.2f} ms  client CPU"
                f" {run['client_cpu_s'] / run['elapsed_s']:4.0%}"
                f"  (loadavg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})",
                file=sys.stderr,
            )
    figures = {}
    for name, into in pooled.items():
        done = percentiles(into["samples"]) if into["samples"] else {"p50_ms": None, "p99_ms": None}
        lag = percentiles(into["lags"])
        figures[name] = {
            "achieved_per_s": round(into["sent"] / into["elapsed_s"], 1),
            "p50_ms": done["p50_ms"],
            "p99_ms": done["p99_ms"],
            "answered": len(into["samples"]),
            "failed": into["failed"],
            "dispatch_lag_p50_ms": lag["p50_ms"],
            "dispatch_lag_p99_ms": lag["p99_ms"],
            "client_cpu_share": round(into["client_cpu_s"] / into["elapsed_s"], 3),
        }
        if name in pids and into["samples"]:
            figures[name]["edge_cpu_us_per_request"] = round(
                into["cpu_s"] / len(into["samples"]) * 1e6, 1
            )
            figures[name]["workers_cpu_us_per_request"] = round(
                into["workers_cpu_s"] / len(into["samples"]) * 1e6, 1
            )
    base = figures["no function"]
    for name in lambdas:
        with_fn = figures[name]
        with_fn["cold_starts_during_rounds"] = cold_starts_so_far(urls[name]) - cold_before[name]
        if base["p50_ms"] is not None and with_fn["p50_ms"] is not None:
            with_fn["added_p50_ms"] = round(with_fn["p50_ms"] - base["p50_ms"], 3)
            with_fn["added_p99_ms"] = round(with_fn["p99_ms"] - base["p99_ms"], 3)
        print(
            f"  at {rate:.0f}/s {name}: added p50 {with_fn.get('added_p50_ms')} ms,"
            f" p99 {with_fn.get('added_p99_ms')} ms (goals <= 1 / <= 5 ms);"
            f" edge CPU {with_fn.get('edge_cpu_us_per_request')} us/request"
            f" + workers {with_fn.get('workers_cpu_us_per_request')}"
            f" (no function {base.get('edge_cpu_us_per_request')});"
            f" cold starts during the rounds {with_fn['cold_starts_during_rounds']}",
            file=sys.stderr,
        )
    lambda_ = figures["Lambda-style function"]
    return {
        "rate_asked_per_s": round(rate, 1),
        "seconds_per_round": duration,
        "rounds": rounds,
        "no_function": base,
        "lambda": lambda_,
        "added_p50_ms": lambda_.get("added_p50_ms"),
        "added_p99_ms": lambda_.get("added_p99_ms"),
        "goal": "added p50 <= 1 ms, added p99 <= 5 ms",
        **{f"baseline: {name}": figures[name] for name in lambdas[1:]},
        "loadavg_1_5_15": loads,
    }


def workers_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time of each child process of ``pid`` (an edge's function workers), by pid."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids = [int(child) for child in children.read().split()]
    except OSError:
        return {}
    used = {}
    for child in pids:
        with contextlib.suppress(OSError, ValueError):
            used[child] = cpu_seconds(child)
    return used


def cpu_seconds(pid: int) -> float:
    """CPU time process ``pid`` has run (Linux's scheduler figure, ns precision)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0]) / 1e9


def live_edges(
    duration: int,
    rounds: int,
    connections: int,
    lambda_baseline: str | None = None,
    cloudfront_baseline: str | None = None,
) -> dict[str, Any]:
    """1 KiB hits through three `cdn edge` processes (no function, CloudFront Function,
    Lambda-style function on viewer-request), wrk interleaved; then the Lambda function's
    added latency at half of that edge's peak."""
    python = sys.executable
    report: dict[str, Any] = {"loadavg_before": round(bench_edge.loadavg(), 2)}
    with contextlib.ExitStack() as stack:
        origin_port = bench_edge.free_port()
        origin = f"http://127.0.0.1:{origin_port}"
        cdn = [python, "-m", "cli.main"]
        stack.enter_context(
            bench_edge.process([*cdn, "origin", "--port", str(origin_port)], cwd=ROOT)
        )
        bench_edge.wait_http(origin + "/_cdn/health")
        urls, pids = {}, {}
        for name, flags in EDGES.items():
            port = bench_edge.free_port()
            argv = [*cdn, "edge", "--port", str(port), "--origin", origin, "--name", "bench"]
            argv += [*flags, "--function-concurrency", str(connections)]
            argv += ["--function-timeout", "5s"]
            pids[name] = stack.enter_context(bench_edge.process(argv, cwd=ROOT)).pid
            base = f"http://127.0.0.1:{port}"
            bench_edge.wait_http(base + "/_cdn/health")
            urls[name] = bench_edge.object_url(base, 1024)
        if cloudfront_baseline:  # the CloudFront Function edge of another checkout, same rounds
            port = bench_edge.free_port()
            argv = [*cdn, "edge", "--port", str(port), "--origin", origin, "--name", "bench"]
            argv += [*EDGES["CloudFront Function"], "--function-concurrency", str(connections)]
            name = f"CloudFront Function ({cloudfront_baseline})"
            pids[name] = stack.enter_context(bench_edge.process(argv, cwd=cloudfront_baseline)).pid
            base = f"http://127.0.0.1:{port}"
            bench_edge.wait_http(base + "/_cdn/health")
            urls[name] = bench_edge.object_url(base, 1024)
        extra = {}
        if lambda_baseline:  # the same Lambda edge run from another checkout (before/after)
            port = bench_edge.free_port()
            argv = [*cdn, "edge", "--port", str(port), "--origin", origin, "--name", "bench"]
            argv += [*EDGES["Lambda-style function"], "--function-concurrency", str(connections)]
            argv += ["--function-timeout", "5s"]
            name = f"Lambda-style function ({lambda_baseline})"
            pids[name] = stack.enter_context(bench_edge.process(argv, cwd=lambda_baseline)).pid
            base = f"http://127.0.0.1:{port}"
            bench_edge.wait_http(base + "/_cdn/health")
            extra[name] = bench_edge.object_url(base, 1024)
        for url in [*urls.values(), *extra.values()]:  # a miss, then hits; every instance started
            for _ in range(3):
                with contextlib.suppress(RuntimeError):  # a cold start may time out: 503
                    bench_edge.wrk(url, 1, connections)
        runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in urls}
        cpu_us: dict[str, list[float]] = {name: [] for name in urls}  # edge CPU per request
        for round_ in range(1, rounds + 1):
            for name, url in urls.items():
                cpu_before = cpu_seconds(pids[name])
                rps, p50, p99 = bench_edge.wrk(url, duration, connections)
                cpu_us[name].append((cpu_seconds(pids[name]) - cpu_before) / (rps * duration) * 1e6)
                load = bench_edge.loadavg()
                runs[name].append((rps, p50, p99, load))
                print(
                    f"  round {round_} {name:<22} {rps:9.0f} req/s  p50 {p50:6.2f} ms"
                    f"  p99 {p99:6.2f} ms  edge CPU {cpu_us[name][-1]:5.1f} us/req"
                    f"  (loadavg {load:.2f})",
                    file=sys.stderr,
                )
        best = {name: max(r) for name, r in runs.items()}
        report["hits"] = {
            name: {
                "best_rps": round(top[0], 0),
                "median_rps": round(statistics.median(r[0] for r in runs[name]), 0),
                "p50_ms": top[1],
                "p99_ms": top[2],
                "loadavg": [round(r[3], 2) for r in runs[name]],
                "edge_cpu_us_per_request": round(statistics.median(cpu_us[name]), 1),
            }
            for name, top in best.items()
        }
        plain = best["no function"][0]
        report["ratios_to_no_function"] = {
            name: round(top[0] / plain, 3) for name, top in best.items() if name != "no function"
        }
        # CPU per request is what a shared machine's load moves least (req/s follow the share
        # of the cores each edge gets): the no-function edge's over each edge's, medians.
        report["cpu_ratios_to_no_function"] = {
            name: round(statistics.median(cpu_us["no function"]) / statistics.median(us), 3)
            for name, us in cpu_us.items()
            if name != "no function"
        }
        # Half of the Lambda edge's own peak (its median round: the best of a loaded machine's
        # rounds overstates it), open loop at that fixed rate, on both edges in turn: the
        # difference is what the warm invoke adds to a hit at that rate.
        peak = statistics.median(r[0] for r in runs["Lambda-style function"])
        report["lambda_at_half_peak"] = {
            "lambda_peak_per_s": round(peak, 0),
            **added_latency(
                {
                    "no function": urls["no function"],
                    "Lambda-style function": urls["Lambda-style function"],
                    **extra,
                },
                peak / 2,
                duration,
                rounds,
                connections,
                pids,
            ),
        }
        report["lambda_cold_start"] = asyncio.run(cold_starts(5))
    report["loadavg_after"] = round(bench_edge.loadavg(), 2)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (3)")
    parser.add_argument(
        "--callers", type=int, default=2, help="closed-loop callers for the peak (2)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="Lambda instances, pre-warmed (8)"
    )
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per edge (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument(
        "--edge-only", action="store_true", help="only the live edge hits (skip the rest)"
    )
    parser.add_argument(
        "--lambda-baseline",
        default=None,
        metavar="DIR",
        help="also run the Lambda edge from the checkout DIR in the half-peak rounds"
        " (before/after in one run, at the same rate and load)",
    )
    parser.add_argument(
        "--cloudfront-baseline",
        default=None,
        metavar="DIR",
        help="also run the CloudFront Function edge from the checkout DIR in the wrk rounds"
        " (before/after in one run, under the same load)",
    )
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if shutil.which("wrk"):
        figures["live_edge"] = live_edges(
            args.duration,
            args.rounds,
            args.connections,
            args.lambda_baseline,
            args.cloudfront_baseline,
        )
    else:
        print(
            "wrk is not installed (apt-get install -y wrk): no live edge figures", file=sys.stderr
        )
    if not args.edge_only:
        figures.update(asyncio.run(main(args.seconds, args.callers, args.concurrency)))
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
