"""Error answers of the edge: refusals, upstream failures, only-if-cached misses, internal errors.

Rules: every error carries ``Cache-Status`` (our member with a ``detail``) and ``X-Cache``,
``Cache-Control: no-store`` and a one-line text body saying what failed and whose fault it
is: 4xx/405/508 the request's (``edge.intake.Refused``), 502 an upstream that could not be
reached or answered badly, 504 one that timed out, 500 the edge itself.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from cdn.http import CacheStatus, Reject, cache_status_member
from edge.intake import Refused
from edge.recording import Recorder

__all__ = ["ALLOWED_METHODS", "Failures"]

ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, PURGE"
_REFUSAL_REASONS = {400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed"}
_GATEWAY_TITLES = {502: "Bad Gateway", 504: "Gateway Timeout"}


class Failures:
    """Error answers for one edge named ``name`` (RFC 9211) whose Via member is ``via``."""

    def __init__(self, name: str, via: str, recorder: Recorder) -> None:
        self.name = name
        self.via = via
        self.recorder = recorder

    def plain(
        self,
        request: web.Request,
        code: int,
        text: str,
        member: str,
        x_cache: str,
        label: str,
        started: float,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> web.Response:
        """A text answer the edge makes itself (never stored), counted as ``label``."""
        body = text.encode()
        fields = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Via", self.via),
            ("Cache-Status", member),
            ("X-Cache", x_cache),
            *extra,
        ]
        recorder = self.recorder
        recorder.count(label, started, 0, "upstream")
        if recorder.logging:
            recorder.log(request, code, label, started, len(body))
        return web.Response(status=code, body=body, headers=fields)

    def refusal(self, request: web.Request, refused: Refused, started: float) -> web.Response:
        """The answer to a request the edge will not handle."""
        reason = _REFUSAL_REASONS.get(refused.status, "Refused")
        extra = (("Allow", ALLOWED_METHODS),)
        return self.plain(
            request,
            refused.status,
            f"{refused.status} {reason}: {refused.reason}\n",
            cache_status_member(self.name, detail=refused.detail),
            "ERROR",
            "error",
            started,
            extra if refused.status == 405 else (),
        )

    def upstream_failed(
        self,
        request: web.Request,
        status: CacheStatus,
        code: int,
        reason: str,
        started: float,
    ) -> web.Response:
        """502/504 naming the upstream and what went wrong (the step's ``Fail``)."""
        title = _GATEWAY_TITLES.get(code, "Upstream Error")
        return self.plain(
            request,
            code,
            f"{code} {title}: {reason}\n",
            replace(status, detail="upstream-error").member(self.name),
            status.x_cache,
            "error",
            started,
        )

    def rejected(self, request: web.Request, reject: Reject, started: float) -> web.Response:
        """The step's ``Reject``: 504 for ``only-if-cached`` with nothing usable stored."""
        status = reject.cache_status
        return self.plain(
            request,
            reject.status,
            "504 Gateway Timeout: only-if-cached and nothing usable is stored\n",
            status.member(self.name),
            status.x_cache,
            status.label,
            started,
        )

    def internal_error(self, request: web.Request, started: float) -> web.Response:
        """500: the edge failed on this request (the exception is in its log)."""
        return self.plain(
            request,
            500,
            "500 Internal Server Error: the edge failed on this request (see its log)\n",
            cache_status_member(self.name, detail="internal-error"),
            "ERROR",
            "error",
            started,
        )
