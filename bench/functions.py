"""What edge functions cost per request: a warm Lambda-style invoke, a CloudFront Function, a cold start.

In one run, on loopback, bounded in time and count:
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

    .venv/bin/python bench/functions.py [--seconds 3] [--callers 2] [--concurrency 8] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from cdn.functions import EdgeRequest, FunctionInput, FunctionKind, FunctionSpec, Trigger
from fn.chain import FunctionChain
from fn.cloudfront import CloudFrontFunction
from fn.pool import LambdaPool

EXAMPLES = Path(__file__).resolve().parents[1] / "configs" / "functions"
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
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(main(args.seconds, args.callers, args.concurrency))
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
