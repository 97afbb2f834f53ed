"""Edge functions (Lambda@Edge, CloudFront Functions): the pure rules the edge and simulator share.

Rules: no I/O, no clock, no global random (ARCHITECTURE.md). Modules:
- ``triggers``: the four triggers, the two kinds, CloudFront's limits per trigger;
- ``values``: typed requests, responses, origins (what the shells hand in and get back);
- ``events``: CloudFront's event shapes built from those values;
- ``lambda_answers`` / ``cloudfront_answers``: a function's return value validated and turned
  back into typed results (``results``), with ``validation`` and ``header_rules`` doing the checks;
- ``cloudfront_shapes``: a viewer request's CloudFront Functions event and unchanged answer,
  prepared once per request shape (the edge's wire fast path: same event, same reading);
- ``skipping``: when a trigger does not run;
- ``instances``: warm pool, cold starts, keep-warm expiry and throttling as a state machine;
- ``cost``: Lambda@Edge and CloudFront Functions prices; ``report``: the REPORT record;
- ``simulated``: one function at one PoP for the simulator (instances, time, tallies, cost);
- ``spec``: a function as the topology names it, and which associations are allowed.
"""

from cdn.functions.cloudfront_answers import read_cloudfront_function_answer
from cdn.functions.cost import FunctionPrices, FunctionUsage, billed_duration_ms, usage_cost
from cdn.functions.events import cloudfront_function_event, lambda_edge_event
from cdn.functions.instances import Grant, InstancePool, InstanceTiming, Throttle
from cdn.functions.lambda_answers import read_lambda_edge_answer
from cdn.functions.report import InvokeReport
from cdn.functions.results import (
    FAILURE_STATUS,
    ChangedResponse,
    ContinueRequest,
    FailureKind,
    FunctionFailed,
    GeneratedResponse,
    TriggerResult,
    describe_result,
)
from cdn.functions.simulated import SimulatedFunction, Started, functions_section
from cdn.functions.skipping import Passage, skip_reason, trigger_runs
from cdn.functions.spec import FunctionSpec, check_associations
from cdn.functions.triggers import LIMITS, FunctionKind, Trigger, parse_trigger
from cdn.functions.values import (
    Distribution,
    EdgeRequest,
    EdgeResponse,
    FunctionInput,
    OriginTarget,
)

__all__ = [
    "FAILURE_STATUS",
    "LIMITS",
    "ChangedResponse",
    "ContinueRequest",
    "Distribution",
    "EdgeRequest",
    "EdgeResponse",
    "FailureKind",
    "FunctionFailed",
    "FunctionInput",
    "FunctionKind",
    "FunctionPrices",
    "FunctionSpec",
    "FunctionUsage",
    "GeneratedResponse",
    "Grant",
    "InstancePool",
    "InstanceTiming",
    "InvokeReport",
    "OriginTarget",
    "Passage",
    "SimulatedFunction",
    "Started",
    "Throttle",
    "Trigger",
    "TriggerResult",
    "billed_duration_ms",
    "check_associations",
    "cloudfront_function_event",
    "describe_result",
    "functions_section",
    "lambda_edge_event",
    "parse_trigger",
    "read_cloudfront_function_answer",
    "read_lambda_edge_answer",
    "skip_reason",
    "trigger_runs",
    "usage_cost",
]
