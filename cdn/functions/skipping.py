"""When a trigger does not run: CloudFront's skipping rules as pure predicates.

Rules (../shared/reference/edge-functions.md, "When each trigger runs"):
- viewer-request runs for every request;
- origin-request runs only when the edge goes to the origin (a miss or a revalidation), never
  when viewer-request already answered;
- origin-response runs after the origin answers (any status), never on hits (nothing came from
  the origin) nor when a request trigger generated the response;
- viewer-response runs for hits and misses, but not when the origin's status is >= 400 (also
  for a stored error served from cache) nor when viewer-request generated the response.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdn.functions.triggers import Trigger

__all__ = ["Passage", "skip_reason", "trigger_runs"]


@dataclass(frozen=True, slots=True)
class Passage:
    """What has happened to one request so far, as far as the trigger rules care.

    ``to_origin``: the edge fetches (or fetched) this request from the origin.
    ``origin_status``: the status the origin gave the response being sent (from cache or not).
    ``generated_by``: the request trigger whose function answered the request, if one did.
    """

    to_origin: bool = False
    origin_status: int | None = None
    generated_by: Trigger | None = None


def skip_reason(trigger: Trigger, passage: Passage) -> str | None:
    """Why the function on ``trigger`` does not run for this request (None: it runs)."""
    generated = passage.generated_by
    if trigger is Trigger.VIEWER_REQUEST:
        return None
    if generated is Trigger.VIEWER_REQUEST:
        return "viewer-request generated the response"
    if trigger is Trigger.ORIGIN_REQUEST:
        return None if passage.to_origin else "served from cache (no origin fetch)"
    if trigger is Trigger.ORIGIN_RESPONSE:
        if generated is Trigger.ORIGIN_REQUEST:
            return "origin-request generated the response"
        return None if passage.to_origin else "served from cache (no origin response)"
    if passage.origin_status is not None and passage.origin_status >= 400:
        return f"the origin answered {passage.origin_status} (>= 400)"
    return None


def trigger_runs(trigger: Trigger, passage: Passage) -> bool:
    """True when the function on ``trigger`` runs for this request."""
    return skip_reason(trigger, passage) is None
