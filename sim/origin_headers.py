"""The simulated origin's response fields for one CacheRule: what the node's fills absorb.

Rules: pure; the fields are the core's (``cdn.topology.rule_headers``, as the live origin sends
them) plus Date and an ETag per object. Objects never change, so a conditional fetch (a
revalidation) always gets a 304 (``answer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdn.http.dates import format_http_date
from cdn.http.decision import Response
from cdn.http.headers import Headers
from cdn.http.step import Fetch
from cdn.topology import CacheRule, rule_headers

__all__ = ["NOT_MODIFIED_FIELDS", "OriginHeaders"]

# Fields a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5), as origin/ sends them.
NOT_MODIFIED_FIELDS = frozenset({"cache-control", "expires", "vary", "content-location"})


@dataclass(frozen=True, slots=True)
class OriginHeaders:
    """The synthetic origin's response fields for one CacheRule (``{id}`` filled per object)."""

    rule: CacheRule

    def response(self, obj_id: int, size: int, now: float, age: int = 0) -> Response:
        """The 200 response for ``obj_id`` at ``now``; ``age`` > 0 when a cache upstream served it.

        Date is when the origin generated it (``now - age``): an upstream cache keeps its Date.
        """
        return Response(200, Headers(self.fields(obj_id, now, age)), size)

    def not_modified(self, obj_id: int, now: float, age: int = 0) -> Response:
        """The 304 answer to a revalidation of ``obj_id`` at ``now`` (objects never change)."""
        return Response(304, Headers(self.fields(obj_id, now, age, body=False)), 0)

    def answer(self, fetch: Fetch, obj_id: int, size: int, now: float, age: int = 0) -> Response:
        """The answer to the cache step's ``fetch`` of ``obj_id`` at ``now``: 304 if conditional."""
        if fetch.conditional:
            return self.not_modified(obj_id, now, age)
        return self.response(obj_id, size, now, age)

    def fields(self, obj_id: int, now: float, age: int, body: bool = True) -> list[tuple[str, str]]:
        """The header fields of the answer for ``obj_id`` at ``now`` (a 304's when not ``body``)."""
        # Date is the origin's generation time; the rule's fields (Expires too) are the core's,
        # as the live origin sends them (cdn.topology.rule_headers).
        generated = now - age
        fields = [("Date", format_http_date(generated)), ("ETag", f'"{obj_id}"')]
        if age > 0:
            fields.append(("Age", str(age)))
        rule_fields = rule_headers(self.rule, obj_id, generated)
        if body:
            fields.extend(rule_fields)
        else:  # a 304 repeats only the fields RFC 9110 §15.4.5 names, as the live origin does
            fields.extend(f for f in rule_fields if f[0].lower() in NOT_MODIFIED_FIELDS)
        return fields
