"""A function as a topology names it, and the rules of attaching functions to triggers.

Rules (../shared/reference/edge-functions.md; docs/functions.md):
- at most one function per trigger (a table keyed by trigger gives that by construction);
- a CloudFront Function only on viewer triggers; CloudFront Functions and Lambda@Edge do not
  share the viewer triggers of one edge (AWS: not on one cache behavior);
- a Lambda@Edge function on a viewer trigger has timeout <= 5 s and memory 128 MB; on an
  origin trigger timeout <= 30 s and memory 128-3,008 MB;
- defaults: timeout 3 s (Lambda's), memory 128 MB, concurrency 10 per edge, keep_warm 10 min,
  CloudFront Function budget 1 ms. The last three are assumptions of ours, not AWS figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cdn.errors import ConfigError
from cdn.functions.triggers import LIMITS, FunctionKind, Trigger

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_KEEP_WARM",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "FunctionSpec",
    "check_associations",
]

DEFAULT_TIMEOUT = 3.0
DEFAULT_MEMORY_MB = 128
DEFAULT_CONCURRENCY = 10
DEFAULT_KEEP_WARM = 600.0
DEFAULT_BUDGET = 0.001


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One ``[[function]]``: its code (a path), handler, kind and run-time limits.

    ``where`` is "file:function[i]" so errors found later (a missing file) can name the key.
    """

    name: str
    code: str
    handler: str = "handler"
    kind: FunctionKind = FunctionKind.LAMBDA_EDGE
    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY_MB
    concurrency: int = DEFAULT_CONCURRENCY
    keep_warm: float = DEFAULT_KEEP_WARM
    budget: float = DEFAULT_BUDGET
    where: str = ""
    # The simulator's duration model (seconds): per invoke, and added on a cold start. None:
    # the kind's default (cdn.functions.simulated.timing_of); `cdn fn invoke --bench` measures.
    duration: float | None = None
    init_duration: float | None = None


def check_associations(
    associations: Iterable[tuple[Trigger, str]],
    functions: Mapping[str, FunctionSpec],
    where: str,
) -> None:
    """ConfigError (naming ``where`` and the trigger) unless the associations are allowed."""
    kinds_on_viewer: set[FunctionKind] = set()
    for trigger, name in associations:
        key = f"{where}.{trigger.value}"
        if name not in functions:
            known = ", ".join(sorted(functions)) or "none defined"
            raise ConfigError(key, f"no function named {name!r}", f"a [[function]] name ({known})")
        spec = functions[name]
        limits = LIMITS[trigger]
        if spec.kind is FunctionKind.CLOUDFRONT_FUNCTION:
            if not trigger.is_viewer:
                raise ConfigError(
                    key,
                    f"{name!r} is a cloudfront-function, which runs on viewer triggers only",
                    "viewer-request or viewer-response, or kind = 'lambda-edge'",
                )
        else:
            if spec.timeout > limits.timeout:
                raise ConfigError(
                    key,
                    f"{name!r} has timeout {spec.timeout:g} s, over the {limits.timeout:g} s"
                    f" limit of {trigger}",
                    f"timeout <= {limits.timeout:g} s",
                )
            if spec.memory > limits.memory_max_mb:
                raise ConfigError(
                    key,
                    f"{name!r} has memory {spec.memory} MB, over the {limits.memory_max_mb} MB"
                    f" limit of {trigger}",
                    f"memory <= {limits.memory_max_mb}",
                )
        if trigger.is_viewer:
            kinds_on_viewer.add(spec.kind)
    if len(kinds_on_viewer) > 1:
        raise ConfigError(
            where,
            "mixes a cloudfront-function and a lambda-edge function on viewer triggers",
            "one kind on the viewer triggers (CloudFront does not combine them)",
        )
