"""Edge functions on their own: invoke one locally, print a sample event, serve the Lambda invoke API.

`cdn fn invoke FILE:handler --trigger viewer-request --uri /x` builds the trigger's event
(Lambda@Edge, or CloudFront Functions with --kind cloudfront-function), runs the handler the way
the edge will (a worker process, or in-process under a time budget), validates its answer as
CloudFront does and prints the result, then the REPORT line. --event FILE sends a ready-made
event instead. --bench N adds N warm invokes after the first (cold) one and prints their timings,
then the simulator's duration model as [[function]] keys (`duration`, `init_duration`) to paste
into the topology; --bench-out FILE also writes those lines to FILE.

`cdn fn event --trigger T` prints a sample event for a trigger.

`cdn fn serve --topology FILE --port P` serves the topology's [[function]]s on the Lambda
invoke API, so boto3's lambda client (endpoint_url=http://127.0.0.1:P) can invoke them.

examples:
  cdn fn invoke configs/functions/rewrite_redirect.py:handler --trigger viewer-request --uri /old/a
  cdn fn invoke configs/functions/security_headers.py:handler --trigger origin-response --status 200
  cdn fn invoke configs/functions/normalize_query.py:handler --kind cloudfront-function \\
      --trigger viewer-request --uri /a --querystring 'B=2&a=1'
  cdn fn event --trigger origin-request
  cdn fn serve --topology configs/functions.toml --port 9001

Reference: docs/functions.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from cdn.functions import (
    LIMITS,
    EdgeRequest,
    EdgeResponse,
    FunctionInput,
    FunctionKind,
    FunctionSpec,
    OriginTarget,
    Trigger,
    cloudfront_function_event,
    describe_result,
    lambda_edge_event,
    read_cloudfront_function_answer,
    read_lambda_edge_answer,
)
from cdn.functions.spec import DEFAULT_BUDGET, DEFAULT_MEMORY_MB
from cdn.topology import load_topology
from cli.argtypes import duration, positive_int
from cli.errors import UserError
from serving.flags import cannot_listen, port_number

NAME = "fn"
HELP = "edge functions: invoke one locally, print a sample event, serve the Lambda invoke API"

SAMPLE_REQUEST_ID = "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="
SAMPLE_ORIGIN = OriginTarget(name="origin", domain_name="origin", port=8100)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a header (expected NAME:VALUE)")
    return name.strip(), value.strip()


def _trigger(text: str) -> Trigger:
    try:
        return Trigger(text)
    except ValueError:
        names = ", ".join(t.value for t in Trigger)
        raise argparse.ArgumentTypeError(f"{text!r} is not a trigger (expected {names})") from None


def _add_event_flags(parser: argparse.ArgumentParser) -> None:
    event = parser.add_argument_group("the event")
    event.add_argument(
        "--trigger",
        type=_trigger,
        required=True,
        help="viewer-request, origin-request, origin-response or viewer-response",
    )
    event.add_argument(
        "--kind",
        choices=[k.value for k in FunctionKind],
        default=FunctionKind.LAMBDA_EDGE.value,
        help="lambda-edge (default) or cloudfront-function",
    )
    event.add_argument("--method", default="GET", help="request method (GET)")
    event.add_argument("--uri", default="/", help="request path, starting with / (/)")
    event.add_argument("--querystring", default="", help="query string without '?'")
    event.add_argument(
        "--header",
        type=_header,
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="request header (repeatable)",
    )
    event.add_argument("--client-ip", default="203.0.113.10", help="viewer address")
    event.add_argument(
        "--status", type=int, default=200, help="response status (response triggers)"
    )
    event.add_argument(
        "--response-header",
        type=_header,
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="response header (response triggers, repeatable)",
    )
    event.add_argument("--request-id", default=SAMPLE_REQUEST_ID, help="config.requestId")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `cdn fn invoke`, `cdn fn event` and `cdn fn serve`."""
    sub = parser.add_subparsers(dest="fn_command", metavar="SUBCOMMAND", required=True)
    invoke = sub.add_parser(
        "invoke",
        help="run one handler on one event and print the result and REPORT",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    invoke.add_argument(
        "target", metavar="FILE:handler", help="the Python file and handler function"
    )
    _add_event_flags(invoke)
    invoke.add_argument(
        "--event", metavar="FILE", default=None, help="send this JSON event instead of building one"
    )
    invoke.add_argument(
        "--timeout",
        type=duration,
        default=None,
        help="Lambda timeout (default: 3s, at most the trigger's limit)",
    )
    invoke.add_argument(
        "--memory", type=positive_int, default=DEFAULT_MEMORY_MB, help="Lambda memory in MB (128)"
    )
    invoke.add_argument(
        "--budget",
        type=duration,
        default=DEFAULT_BUDGET,
        help="CloudFront Function time budget (1ms, an assumption)",
    )
    invoke.add_argument(
        "--bench",
        type=positive_int,
        default=None,
        metavar="N",
        help="then N warm invokes: print cold start and warm p50/p99",
    )
    invoke.add_argument(
        "--bench-out",
        metavar="FILE",
        default=None,
        help="with --bench: write the [[function]] timing keys (duration, init_duration) to FILE",
    )
    event = sub.add_parser("event", help="print a sample event for a trigger")
    _add_event_flags(event)
    serve = sub.add_parser("serve", help="serve a topology's functions on the Lambda invoke API")
    serve.add_argument(
        "--topology", metavar="FILE", required=True, help="topology file with [[function]] tables"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=9001, help="port (9001; 0 = any free)")
    serve.add_argument(
        "--quiet", action="store_true", help="no JSON REPORT line per invoke on stderr"
    )


def _input(args: argparse.Namespace) -> FunctionInput:
    if not args.uri.startswith("/"):
        raise UserError(
            f"--uri {args.uri!r} does not start with / (expected a path like /index.html)"
        )
    request = EdgeRequest(
        method=args.method.upper(),
        uri=args.uri,
        querystring=args.querystring,
        headers=(("Host", "d111111abcdef8.cloudfront.net"), *args.header),
        client_ip=args.client_ip,
    )
    response = None
    if not args.trigger.is_request:
        response = EdgeResponse(args.status, tuple(args.response_header), "")
    origin = None if args.trigger.is_viewer else SAMPLE_ORIGIN
    return FunctionInput(
        request=request, request_id=args.request_id, response=response, origin=origin
    )


def _event(args: argparse.Namespace, given: FunctionInput) -> dict[str, Any]:
    if args.kind == FunctionKind.CLOUDFRONT_FUNCTION.value:
        if not args.trigger.is_viewer:
            raise UserError(
                f"--trigger {args.trigger}: CloudFront Functions run on viewer triggers only"
            )
        return cloudfront_function_event(args.trigger, given)
    return lambda_edge_event(args.trigger, given)


def _spec(args: argparse.Namespace) -> FunctionSpec:
    file, sep, handler = args.target.rpartition(":")
    if not sep or not file or not handler:
        raise UserError(f"{args.target!r} is not FILE:handler (expected e.g. fn.py:handler)")
    if not Path(file).is_file():
        raise UserError(
            f"{file}: no such file (expected a Python file with def {handler}(event, context))"
        )
    limit = LIMITS[args.trigger].timeout
    timeout = args.timeout if args.timeout is not None else min(3.0, limit)
    if timeout > limit:
        raise UserError(f"--timeout {timeout:g}s is over the {limit:g}s limit of {args.trigger}")
    return FunctionSpec(
        name=Path(file).stem,
        code=str(Path(file).resolve()),
        handler=handler,
        kind=FunctionKind(args.kind),
        timeout=timeout,
        memory=args.memory,
        concurrency=1,
        keep_warm=3600.0,
        budget=args.budget,
        where=args.target,
    )


def timing_keys(figures: dict[str, Any]) -> str:
    """The [[function]] keys the simulator's duration model reads, from ``--bench`` figures:
    ``duration`` the warm invoke's p50 (what a request waits), ``init_duration`` the cold start's
    init (0 for a CloudFront Function, which has none)."""
    init = figures["cold_start_ms"] or 0.0
    return f'duration = "{figures["warm_p50_ms"]:.3f}ms"\ninit_duration = "{init:.3f}ms"\n'


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _invoke(args: argparse.Namespace) -> int:
    from fn.cloudfront import CloudFrontFunction
    from fn.host import check_code
    from fn.pool import LambdaPool

    if getattr(args, "bench_out", None) and not args.bench:
        raise UserError("--bench-out FILE needs --bench N (the figures it writes)")
    spec = _spec(args)
    check_code(spec)
    given = _input(args)
    if args.event:
        try:
            event = json.loads(Path(args.event).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"--event {args.event}: cannot be read as JSON ({exc})") from None
    else:
        event = _event(args, given)
    runner: Any = (
        CloudFrontFunction(spec)
        if spec.kind is FunctionKind.CLOUDFRONT_FUNCTION
        else LambdaPool(spec)
    )

    async def once(request_id: str) -> Any:
        if isinstance(runner, CloudFrontFunction):
            return runner.invoke(event, request_id, args.trigger.value)
        return await runner.invoke(event, request_id, args.trigger.value)

    try:
        began = time.perf_counter()
        invocation = await once(args.request_id)
        first_ms = (time.perf_counter() - began) * 1000
        if invocation.failure is not None:
            from cdn.functions import FunctionFailed

            error = invocation.error or {}
            result = FunctionFailed(
                invocation.failure, f"{error.get('errorType')}: {error.get('errorMessage')}"
            )
        elif spec.kind is FunctionKind.CLOUDFRONT_FUNCTION:
            result = read_cloudfront_function_answer(args.trigger, given, invocation.payload)
        else:
            result = read_lambda_edge_answer(
                args.trigger, given, invocation.payload, {SAMPLE_ORIGIN.domain_name: SAMPLE_ORIGIN}
            )
        document = {
            "result": describe_result(result),
            "payload": invocation.payload if invocation.ok else invocation.error,
        }
        print(json.dumps(document, indent=1))
        if invocation.log:
            sys.stdout.write(
                invocation.log if invocation.log.endswith("\n") else invocation.log + "\n"
            )
        print(invocation.report().text())
        if args.bench:
            warm = []
            handler_ms = []
            for i in range(args.bench):
                began = time.perf_counter()
                bench_invocation = await once(f"bench-{i}")
                warm.append((time.perf_counter() - began) * 1000)
                handler_ms.append(bench_invocation.duration_ms)
            figures = {
                "invokes": args.bench,
                "cold_start_ms": round(invocation.init_ms, 3) if invocation.init_ms else None,
                "first_invoke_ms": round(first_ms, 3),
                "warm_p50_ms": round(_percentile(warm, 0.5), 3),
                "warm_p99_ms": round(_percentile(warm, 0.99), 3),
                "warm_mean_ms": round(statistics.fmean(warm), 3),
                "handler_p50_ms": round(_percentile(handler_ms, 0.5), 3),
            }
            keys = timing_keys(figures)
            print("# the simulator's duration model, for this function's [[function]] table:")
            sys.stdout.write(keys)
            print(json.dumps({"bench": figures}))  # last: scripts read the last line
            if args.bench_out:
                try:
                    Path(args.bench_out).write_text(keys, encoding="utf-8")
                except OSError as exc:
                    raise UserError(f"--bench-out {args.bench_out}: cannot write ({exc})") from None
        return 0 if document["result"]["action"] != "fail" else 1
    finally:
        if isinstance(runner, LambdaPool):
            await runner.close()


def _serve(args: argparse.Namespace) -> int:
    import logging

    from fn.api import FunctionServer
    from fn.host import FunctionHost
    from serving.server import run_event_loop, serve_until_signalled

    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        report_log = logging.getLogger("cdnlab.fn")
        report_log.addHandler(handler)
        report_log.setLevel(logging.INFO)
    topology = load_topology(args.topology)
    if not topology.functions:
        raise UserError(f"{args.topology}: has no [[function]] tables (expected at least one)")
    functions = FunctionHost.from_topology(topology)

    def announce(server: Any) -> None:
        names = ", ".join(f.name for f in topology.functions)
        print(
            f"cdn fn serve: {server.url}/2015-03-31/functions/{{name}}/invocations ({names})",
            flush=True,
        )

    try:
        run_event_loop(
            serve_until_signalled(FunctionServer(functions, args.host, args.port), announce)
        )
    except OSError as exc:
        raise UserError(cannot_listen(args.host, args.port, exc)) from None
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to invoke, event or serve."""
    if args.fn_command == "event":
        print(json.dumps(_event(args, _input(args)), indent=1))
        return 0
    if args.fn_command == "invoke":
        return asyncio.run(_invoke(args))
    return _serve(args)
