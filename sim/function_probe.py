"""What an edge function answers, learned by running its handler: the simulator's model of
generated responses.

Rules (docs/functions.md, "The simulator"):
- A request trigger's function (viewer-request, origin-request) is run once per distinct URI,
  in this process, on the event the edge would build (cdn.functions.events: a GET of the URI, no
  query string, a ``Host`` header, client 127.0.0.1 as the load generator's, the topology's
  origin in origin events), and its answer read with the core's readers
  (cdn.functions.lambda_answers / cloudfront_answers). The answer for that URI is then assumed
  for every request of it (a handler that answers by time, cookie or client address other than
  the load generator's is modelled by the answer it gave the probe).
- A ``GeneratedResponse`` is what changes the request's path: from viewer-request the edge
  answers at once (no cache step, not cached, no other trigger runs); from origin-request the
  response is handed to the core's cache step as if the origin had sent it, as live
  (edge/functions.py): nothing goes upstream, origin-response does not run
  (cdn.functions.skipping), and what the step says of it (kept for the core's freshness
  lifetime, a stale entry standing in for a 5xx by stale-if-error, not stored) is
  sim.functions' to follow. This module only reads the answer: ``Answer.response`` is the
  core's ``Response`` (status, header fields, body size), never a lifetime of its own.
- A viewer-request function that lets the request go on with another URI or query string
  (``ContinueRequest``) rewrites it: ``Answer.uri`` is the new target, which becomes the
  request's cache key (and, in a peer group, picks its owner), as the live edge keys the
  request the function hands back. Origin-request changes do not change the key (CloudFront
  caches under the viewer's key).
- Anything else (the request continued unchanged; a failure) is a pass: the request goes on as
  without the function.
- A function whose code file does not exist (a benchmark's placeholder) is not probed: a pass.
Lambda@Edge handlers are imported here as the worker process imports them (fn.worker);
CloudFront Functions run under fn.cloudfront's restrictions.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdn.functions import (
    ContinueRequest,
    EdgeRequest,
    FunctionInput,
    FunctionSpec,
    GeneratedResponse,
    OriginTarget,
    Trigger,
    cloudfront_function_event,
    lambda_edge_event,
    read_cloudfront_function_answer,
    read_lambda_edge_answer,
)
from cdn.functions.triggers import FunctionKind
from cdn.http.decision import Response
from cdn.http.headers import Headers

__all__ = ["PASS", "Answer", "FunctionProbe"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a function did with a URI's request: ``generated`` a ``response`` (the core's
    ``Response``: what the cache step is handed), rewrote it to ``uri`` (path and query;
    viewer-request only), or neither (a pass)."""

    generated: bool
    uri: str | None = None
    response: Response | None = None  # the generated response (None unless ``generated``)

    @property
    def status(self) -> int:
        """The generated response's status (0 when nothing was generated)."""
        return 0 if self.response is None else self.response.status


PASS = Answer(False)
PROBE_BUDGET = 1.0  # seconds a CloudFront Function may take to answer the probe


def _lambda_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    """The handler of a Lambda@Edge ``spec``, imported as fn.worker imports it."""
    path = Path(spec.code)
    name = f"cdnlab_probe_{spec.name.replace('-', '_')}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{spec.where or spec.code}: cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return getattr(module, spec.handler)


class FunctionProbe:
    """One function on one request trigger: ``answer(uri)``, run once per URI and kept."""

    def __init__(self, spec: FunctionSpec, trigger: Trigger, origin: OriginTarget) -> None:
        if not trigger.is_request:
            raise ValueError(f"{spec.name}: only request triggers generate responses ({trigger})")
        self.spec = spec
        self.trigger = trigger
        self.origin = origin
        self.answers: dict[str, Answer] = {}
        self._run: Callable[[str], Answer] | None = None
        if Path(spec.code).is_file():
            self._run = (
                self._cloudfront()
                if spec.kind is FunctionKind.CLOUDFRONT_FUNCTION
                else (self._lambda())
            )

    @property
    def runnable(self) -> bool:
        """Whether the function's code is there to run (else every answer is a pass)."""
        return self._run is not None

    def answer(self, uri: str) -> Answer:
        """What the function does with a GET of ``uri`` (probed on the first call)."""
        found = self.answers.get(uri)
        if found is None:
            found = self.answers[uri] = PASS if self._run is None else self._run(uri)
        return found

    def _given(self, uri: str) -> FunctionInput:
        path, _, query = uri.partition("?")
        request = EdgeRequest(
            "GET", path, query, (("Host", "d111111abcdef8.cloudfront.net"),), "127.0.0.1"
        )
        origin = None if self.trigger.is_viewer else self.origin
        return FunctionInput(request=request, request_id="sim-probe", origin=origin)

    def _lambda(self) -> Callable[[str], Answer]:
        handler = _lambda_handler(self.spec)
        known = {self.origin.domain_name: self.origin}

        def run(uri: str) -> Answer:
            given = self._given(uri)
            try:
                payload = handler(lambda_edge_event(self.trigger, given), None)
            except Exception:  # a raising function answers 500 live: not a generated response
                return PASS
            return _answer(read_lambda_edge_answer(self.trigger, given, payload, known), given)

        return run

    def _cloudfront(self) -> Callable[[str], Answer]:
        from fn.cloudfront import CloudFrontFunction

        # A generous time budget: the probe learns the answer, it does not enforce the budget
        # (a loaded machine must not turn an answer into a failure: runs stay deterministic).
        function = CloudFrontFunction(dataclasses.replace(self.spec, budget=PROBE_BUDGET))

        def run(uri: str) -> Answer:
            given = self._given(uri)
            invocation = function.run(cloudfront_function_event(self.trigger, given), "sim-probe")
            if invocation.failure is not None:
                return PASS
            result = read_cloudfront_function_answer(self.trigger, given, invocation.payload)
            return _answer(result, given)

        return run


def _answer(result: object, given: FunctionInput) -> Answer:
    """An Answer from the core's reading of a function's result for the request ``given``."""
    if isinstance(result, ContinueRequest):
        changed, asked = result.request, given.request
        if given.origin is not None or (changed.uri, changed.querystring) == (
            asked.uri,
            asked.querystring,
        ):
            return PASS
        query = f"?{changed.querystring}" if changed.querystring else ""
        return Answer(False, changed.uri + query)
    if not isinstance(result, GeneratedResponse):
        return PASS
    generated = result.response
    body = generated.body or b""
    return Answer(True, None, Response(generated.status, Headers(generated.headers), len(body)))
