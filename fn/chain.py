"""The functions of one edge, by trigger: the one call the edge (and `cdn fn invoke`) makes per trigger.

Rules:
- ``run(trigger, given, passage)`` returns None when no function is on ``trigger`` or the
  skipping rules say it does not run (cdn.functions.skipping); otherwise the typed result:
  ContinueRequest, GeneratedResponse, ChangedResponse or FunctionFailed (500/502/503);
- events are built and answers validated by the core (cdn.functions); this module only
  picks the runtime: a worker pool for Lambda@Edge, in-process for CloudFront Functions;
- dynamic origin selection is limited to ``known_origins`` (by domain name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdn.functions.cloudfront_answers import (
    read_cloudfront_function_answer,
    read_viewer_request_changes,
)
from cdn.functions.events import cloudfront_function_event, lambda_edge_event
from cdn.functions.lambda_answers import read_lambda_edge_answer
from cdn.functions.results import FailureKind, FunctionFailed, TriggerResult
from cdn.functions.skipping import Passage, trigger_runs
from cdn.functions.triggers import Trigger
from cdn.functions.values import FunctionInput, Header, OriginTarget
from fn.cloudfront import CloudFrontFunction, RunFailed
from fn.invocation import Invocation
from fn.pool import LambdaPool

__all__ = ["FunctionChain", "Runner"]

Runner = LambdaPool | CloudFrontFunction


class FunctionChain:
    """At most one function per trigger, and the origins a function may choose between."""

    def __init__(
        self,
        functions: Mapping[Trigger, Runner],
        known_origins: Mapping[str, OriginTarget] | None = None,
    ) -> None:
        for trigger, runner in functions.items():
            if isinstance(runner, CloudFrontFunction) and not trigger.is_viewer:
                raise ValueError(
                    f"{runner.spec.name}: CloudFront Functions run on viewer triggers only"
                )
        self.functions = dict(functions)
        self.known_origins = dict(known_origins or {})
        self.last_invocation: Invocation | None = None

    def on(self, trigger: Trigger) -> bool:
        """True when a function is attached to ``trigger``."""
        return trigger in self.functions

    async def run(
        self, trigger: Trigger, given: FunctionInput, passage: Passage | None = None
    ) -> TriggerResult | None:
        """The function on ``trigger`` applied to ``given``; None when none runs."""
        runner = self.functions.get(trigger)
        if runner is None or (passage is not None and not trigger_runs(trigger, passage)):
            return None
        label = trigger.value
        if isinstance(runner, CloudFrontFunction):
            invocation = runner.invoke(
                cloudfront_function_event(trigger, given), given.request_id, label
            )
            self.last_invocation = invocation
            result = self._result(trigger, runner, given, invocation)
        else:
            event = lambda_edge_event(trigger, given)
            invocation = await runner.invoke(event, given.request_id, label)
            self.last_invocation = invocation
            # The worker got a copy: the headers shown are still as built (its fast path).
            shown = event["Records"][0]["cf"]["request"]["headers"] if trigger.is_request else None
            result = self._result(trigger, runner, given, invocation, shown)
        if isinstance(result, FunctionFailed) and result.kind is FailureKind.INVALID:
            runner.metrics.errors.labels(runner.spec.name, label, FailureKind.INVALID).inc()
        return result

    def run_now(self, trigger: Trigger, given: FunctionInput) -> tuple[TriggerResult, float] | None:
        """``run`` of a CloudFront Function, synchronous and unrecorded: its result and the
        seconds the handler ran, or None when no CloudFront Function is on ``trigger`` or it failed
        to run (raised, over budget: ``run`` answers and counts those). The caller passes the
        seconds to ``record_now`` when it uses the answer (the edge's wire fast path does, for
        hits). The skipping rules are the caller's (viewer-request always runs)."""
        runner = self.functions.get(trigger)
        if not isinstance(runner, CloudFrontFunction):
            return None
        try:
            payload, used = runner.call(cloudfront_function_event(trigger, given))
        except RunFailed:
            return None
        return read_cloudfront_function_answer(trigger, given, payload), used

    def changes_now(
        self, given: FunctionInput
    ) -> tuple[str, str, tuple[Header, ...], float] | None:
        """``run_now`` on viewer-request reduced to what a plain hit needs: the (uri,
        querystring, headers) the CloudFront Function let the request go on with, and the
        seconds it ran; None whenever ``run_now``'s result would not be a ContinueRequest
        (a generated response, an invalid answer, a failure: ``run`` answers those)."""
        runner = self.functions.get(Trigger.VIEWER_REQUEST)
        if not isinstance(runner, CloudFrontFunction):
            return None
        try:
            payload, used = runner.call(cloudfront_function_event(Trigger.VIEWER_REQUEST, given))
        except RunFailed:
            return None
        changes = read_viewer_request_changes(given, payload)
        if changes is None:
            return None
        return (*changes, used)

    def record_now(self, trigger: Trigger, used: float, request_id: str) -> None:
        """Count a ``run_now`` whose answer (a ContinueRequest or GeneratedResponse: a failure
        is ``run``'s to answer) was used, as ``run`` would have."""
        runner = self.functions[trigger]
        assert isinstance(runner, CloudFrontFunction)
        runner.record_call(trigger.value, used, request_id)

    def _result(
        self,
        trigger: Trigger,
        runner: Runner,
        given: FunctionInput,
        invocation: Invocation,
        shown_headers: Mapping[str, Any] | None = None,
    ) -> TriggerResult:
        if invocation.failure is not None:
            error = invocation.error or {}
            message = (
                f"{runner.spec.name}: {error.get('errorType', '')}: {error.get('errorMessage', '')}"
            )
            return FunctionFailed(invocation.failure, message)
        if isinstance(runner, CloudFrontFunction):
            return read_cloudfront_function_answer(trigger, given, invocation.payload)
        return read_lambda_edge_answer(
            trigger, given, invocation.payload, self.known_origins, shown_headers
        )
