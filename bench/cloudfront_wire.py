"""Tight loop of the edge's wire fast path with a CloudFront Function on viewer-request.

Calls the ``hit`` callable of ``EdgeFunctions.wire_hit`` (edge/functions.py) directly, with a
cache that answers every lookup (so only what the function adds is timed: request shape,
event, the call under its budget, reading the answer, counting), for two CloudFront Functions
(configs/functions/normalize_query.py, and one that adds a header from a cookie) and two
requests (wrk's: one Host field; a browser's: nine fields with cookies, a duplicate and a
hidden one, a query string). Per call, median microseconds: hot (back to back) and with
``--touch`` MiB of other memory written between calls (what the kernel, the client and other
processes do between two hits live: the figure that moves with the number of objects a hit
reads). ``--tree DIR`` times another checkout's code (before/after on one machine state).

    .venv/bin/python bench/cloudfront_wire.py [--tree DIR] [--calls 20000] [--touch 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEADER_FUNCTION = """
def handler(event, context):
    request = event["request"]
    group = request["cookies"].get("ab", {}).get("value", "a")
    request["headers"]["x-ab-group"] = {"value": group}
    return request
"""
ANSWER = (200, (b"ready bytes",))


class AnyHit:
    """A cache that answers every lookup with the same ready bytes."""

    def wire_hit_at(self, method, key, fields, charge=None, started=None) -> tuple:
        return ANSWER


def hit_callable(code: str) -> Any:
    """``EdgeFunctions.wire_hit``'s callable for a CloudFront Function in ``code``."""
    import edge.functions as edge_functions
    from cdn.functions import FunctionKind, FunctionSpec, Trigger
    from fn.chain import FunctionChain
    from fn.cloudfront import CloudFrontFunction

    spec = FunctionSpec("bench", code, kind=FunctionKind.CLOUDFRONT_FUNCTION)
    functions = object.__new__(edge_functions.EdgeFunctions)  # only what wire_hit reads
    functions.edge_chain = FunctionChain({Trigger.VIEWER_REQUEST: CloudFrontFunction(spec)})
    functions._prefix, functions._ids = "bench-", itertools.count(1)
    return functions.wire_hit(AnyHit(), lambda target: target)


def per_call_us(hit: Any, target: str, fields: Any, calls: int, touch: bytearray | None) -> float:
    """Median microseconds of ``hit`` per call (``touch`` written between calls)."""
    times = []
    for _ in range(calls):
        if touch is not None:
            for i in range(0, len(touch), 64):
                touch[i] = 1
        started = time.perf_counter()
        answer = hit("GET", target, fields, "127.0.0.1", "http")
        times.append(time.perf_counter() - started)
        if answer is not ANSWER:
            raise SystemExit(f"the wire path declined {target}: {answer!r}")
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", default=None, help="time the code of this checkout")
    parser.add_argument("--calls", type=int, default=20000, help="hot calls per case (20000)")
    parser.add_argument("--touch", type=float, default=2.0, help="MiB written between calls (2)")
    args = parser.parse_args()
    root = Path(args.tree).resolve() if args.tree else Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from multidict import CIMultiDict, CIMultiDictProxy

    wrk = CIMultiDictProxy(CIMultiDict([("Host", "127.0.0.1:8080")]))
    browser = CIMultiDictProxy(
        CIMultiDict(
            [
                ("Host", "example.com"),
                ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0"),
                ("Accept", "text/html,application/xhtml+xml"),
                ("Accept-Language", "en-GB,en;q=0.5"),
                ("Accept-Encoding", "gzip, deflate, br"),
                ("Cookie", "ab=b; session=xyz"),
                ("Accept", "*/*"),
                ("Sec-Fetch-Dest", "document"),
                ("X-Amz-Cf-Id", "hidden"),
            ]
        )
    )
    touch = bytearray(int(args.touch * 1024 * 1024))
    print(f"code: {root}  loadavg {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as directory:
        header_function = Path(directory, "ab_header.py")
        header_function.write_text(HEADER_FUNCTION)
        functions = {
            "normalize_query": str(root / "configs" / "functions" / "normalize_query.py"),
            "ab_header": str(header_function),
        }
        for name, code in functions.items():
            hit = hit_callable(code)
            for request, target, fields in (
                ("wrk", "/obj/1024", wrk),
                ("browser", "/p?b=2&a=1&utm_source=x", browser),
            ):
                hot = per_call_us(hit, target, fields, args.calls, None)
                touched = per_call_us(hit, target, fields, max(args.calls // 20, 200), touch)
                print(
                    f"{name:16} {request:8} hot {hot:6.2f} us/call   "
                    f"{args.touch:g} MiB touched between calls {touched:6.2f} us/call"
                )
    print(f"loadavg {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
