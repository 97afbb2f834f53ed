"""The Lambda invoke API (`cdn fn serve`): what boto3's ``lambda`` client calls, over a FunctionHost.

Rules (../shared/reference/edge-functions.md, "The Lambda invoke API"):
- ``POST /2015-03-31/functions/{name}/invocations`` with the event as the JSON body; the name
  may be a plain name, ``name:$LATEST`` or a function ARN;
- ``X-Amz-Invocation-Type``: RequestResponse (default, 200 with the handler's JSON), Event
  (202, run in the background; a throttled event is dropped and counted), DryRun (204);
- a handler error is still 200 with ``X-Amz-Function-Error: Unhandled`` and Lambda's error
  object; ``X-Amz-Log-Type: Tail`` adds ``X-Amz-Log-Result`` (base64 of the log's last 4 KB);
- unknown function: 404 ResourceNotFoundException; throttled: 429 TooManyRequestsException;
  a body that is not JSON: 400 InvalidRequestContentException; all with ``x-amzn-ErrorType``;
- what boto3 and the AWS CLI read about functions: ``GET /2015-03-31/functions/`` (ListFunctions,
  by name, paged with ``MaxItems`` (1-10000, 50 by default) and ``Marker``),
  ``GET .../functions/{name}`` (GetFunction: the configuration, the code's location as a local
  path, the reserved concurrency = the function's ``concurrency``) and
  ``GET .../functions/{name}/configuration`` (``fn.configuration``);
- ``/_cdn/health`` and ``/_cdn/metrics`` as on every cdnlab server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from cdn.functions.results import FailureKind
from fn.cloudfront import CloudFrontFunction
from fn.configuration import function_arn, function_configuration
from fn.host import FunctionHost
from fn.invocation import Invocation
from serving.pages import json_page, metrics_page
from serving.server import AppServer

__all__ = ["HOST", "FunctionServer", "create_app"]

HOST = web.AppKey("host", FunctionHost)
_BACKGROUND = web.AppKey("background", set)
_INVOKE_TYPES = ("RequestResponse", "Event", "DryRun")
_LIST_DEFAULT = 50  # ListFunctions' page when MaxItems is not given
_LIST_MAX = 10_000


def _function_name(raw: str) -> str:
    """``name``, ``name:qualifier`` or an ARN -> the bare function name."""
    if raw.startswith("arn:"):
        parts = raw.split(":")
        return parts[6] if len(parts) > 6 else raw
    return raw.split(":", 1)[0]


def _aws_error(status: int, error_type: str, message: str, request_id: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"Type": "User", "Message": message, "message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": request_id},
    )


async def _run(runner: Any, event: Any, request_id: str) -> Invocation:
    if isinstance(runner, CloudFrontFunction):
        return runner.invoke(event, request_id)
    return await runner.invoke(event, request_id)


async def invoke(request: web.Request) -> web.Response:
    """``POST /2015-03-31/functions/{name}/invocations``."""
    request_id = str(uuid.uuid4())
    runner, missing = _known(request, request_id)
    if missing is not None:
        return missing
    invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type not in _INVOKE_TYPES:
        return _aws_error(
            400,
            "InvalidParameterValueException",
            f"X-Amz-Invocation-Type {invocation_type!r} is not one of {', '.join(_INVOKE_TYPES)}",
            request_id,
        )
    body = await request.read()
    try:
        event = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        return _aws_error(
            400,
            "InvalidRequestContentException",
            f"Could not parse request body into json: {exc}",
            request_id,
        )
    headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
    if invocation_type == "DryRun":
        return web.Response(status=204, headers=headers)
    if invocation_type == "Event":
        tasks = request.app[_BACKGROUND]
        task = asyncio.ensure_future(_run(runner, event, request_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.Response(status=202, headers=headers)
    invocation = await _run(runner, event, request_id)
    if invocation.failure is FailureKind.THROTTLED:
        message = (invocation.error or {}).get("errorMessage", "Rate Exceeded.")
        response = _aws_error(429, "TooManyRequestsException", message, request_id)
        response.headers["Retry-After"] = "1"
        return response
    if request.headers.get("X-Amz-Log-Type") == "Tail":
        tail = invocation.tail_log().encode()[-4096:]
        headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode("ascii")
    if invocation.failure is not None:
        headers["X-Amz-Function-Error"] = "Unhandled"
        payload: Any = invocation.error
    else:
        payload = invocation.payload
    return web.Response(
        status=200, text=json.dumps(payload), content_type="application/json", headers=headers
    )


def _known(request: web.Request, request_id: str) -> tuple[Any, web.Response | None]:
    """The runner named in the path, or the 404 to answer."""
    name = _function_name(request.match_info["name"])
    runner = request.app[HOST].runner(name)
    if runner is None:
        return None, _aws_error(
            404,
            "ResourceNotFoundException",
            f"Function not found: {function_arn(name)}",
            request_id,
        )
    return runner, None


def _json(payload: Any, request_id: str) -> web.Response:
    return web.Response(
        text=json.dumps(payload),
        content_type="application/json",
        headers={"x-amzn-RequestId": request_id},
    )


async def get_configuration(request: web.Request) -> web.Response:
    """``GET /2015-03-31/functions/{name}/configuration`` (GetFunctionConfiguration)."""
    request_id = str(uuid.uuid4())
    runner, missing = _known(request, request_id)
    if missing is not None:
        return missing
    return _json(function_configuration(runner.spec), request_id)


async def get_function(request: web.Request) -> web.Response:
    """``GET /2015-03-31/functions/{name}`` (GetFunction)."""
    request_id = str(uuid.uuid4())
    runner, missing = _known(request, request_id)
    if missing is not None:
        return missing
    spec = runner.spec
    return _json(
        {
            "Configuration": function_configuration(spec),
            "Code": {"RepositoryType": "Local", "Location": f"file://{spec.code}"},
            "Concurrency": {"ReservedConcurrentExecutions": spec.concurrency},
            "Tags": {},
        },
        request_id,
    )


async def list_functions(request: web.Request) -> web.Response:
    """``GET /2015-03-31/functions/`` (ListFunctions): by name, paged."""
    request_id = str(uuid.uuid4())
    raw = request.query.get("MaxItems", str(_LIST_DEFAULT))
    try:
        page = int(raw)
    except ValueError:
        page = 0
    if not 1 <= page <= _LIST_MAX:
        return _aws_error(
            400,
            "InvalidParameterValueException",
            f"MaxItems {raw!r} is not a whole number from 1 to {_LIST_MAX}",
            request_id,
        )
    names = sorted(request.app[HOST].runners)
    marker = request.query.get("Marker")
    if marker is not None:
        if marker not in names:
            return _aws_error(
                400,
                "InvalidParameterValueException",
                f"Marker {marker!r} is not one this API gave (the next page's first function)",
                request_id,
            )
        names = names[names.index(marker) :]
    shown, rest = names[:page], names[page:]
    runners = request.app[HOST].runners
    answer: dict[str, Any] = {
        "Functions": [function_configuration(runners[name].spec) for name in shown]
    }
    if rest:
        answer["NextMarker"] = rest[0]
    return _json(answer, request_id)


async def health(request: web.Request) -> web.Response:
    """``GET /_cdn/health``: the functions served and their warm instances."""
    host = request.app[HOST]
    return json_page(
        {
            "status": "ok",
            "functions": {
                name: {"kind": runner.kind.value, "warm": getattr(runner, "warm", 0)}
                for name, runner in host.runners.items()
            },
        }
    )


async def metrics(request: web.Request) -> web.Response:
    """``GET /_cdn/metrics``: Prometheus text of the function metrics."""
    return metrics_page(request.app[HOST].metrics.exposition())


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    host = app[HOST]
    host.start_reaping()
    yield
    for task in list(app[_BACKGROUND]):
        task.cancel()
    await asyncio.gather(*app[_BACKGROUND], return_exceptions=True)
    await host.close()


def create_app(host: FunctionHost) -> web.Application:
    """The invoke API over ``host`` (which the app closes at cleanup)."""
    app = web.Application(client_max_size=6 * 1024 * 1024)  # Lambda's synchronous payload limit
    app[HOST] = host
    app[_BACKGROUND] = set()
    app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
    app.router.add_get("/2015-03-31/functions/", list_functions)
    app.router.add_get("/2015-03-31/functions", list_functions)
    app.router.add_get("/2015-03-31/functions/{name}", get_function)
    app.router.add_get("/2015-03-31/functions/{name}/configuration", get_configuration)
    app.router.add_get("/_cdn/health", health)
    app.router.add_get("/_cdn/metrics", metrics)
    app.cleanup_ctx.append(_lifecycle)
    return app


class FunctionServer(AppServer):
    """The invoke API on ``host:port`` (port 0: a free one)."""

    def __init__(self, functions: FunctionHost, host: str = "127.0.0.1", port: int = 0) -> None:
        app = create_app(functions)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, handle_signals=False)
        super().__init__(app, runner, host, port)
