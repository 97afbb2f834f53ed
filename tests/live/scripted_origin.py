"""A scripted origin for live tests: each path answers a queue of replies, then repeats the last.

``ScriptedOrigin(clock)`` is an aiohttp app on 127.0.0.1 port 0 (``await origin.start()``,
``origin.url``, ``await origin.stop()``). ``origin.script(path, Reply(...), ...)`` sets what
``path`` answers; ``origin.fetches[path]`` counts the requests it got; ``origin.seen[path]``
keeps their header fields. Date comes from the injected ``clock``, so an edge on the same
clock computes ages from the test's time, not the wall clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestServer

from cdn.http import format_http_date


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, header fields (Date added unless given) and body."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"0123456789"


class ScriptedOrigin:
    """An origin whose answers the test writes in advance, path by path."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.replies: dict[str, list[Reply]] = {}
        self.fetches: Counter[str] = Counter()
        self.seen: dict[str, list[dict[str, str]]] = defaultdict(list)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    def script(self, path: str, *replies: Reply) -> None:
        """``path`` answers ``replies`` in order, then repeats the last one."""
        self.replies[path] = list(replies)

    async def start(self) -> None:
        """Listen on a free port."""
        await self.server.start_server()

    async def stop(self) -> None:
        """Stop listening."""
        await self.server.close()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        return str(self.server.make_url("")).rstrip("/")

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path_qs
        self.fetches[path] += 1
        self.seen[path].append(dict(request.headers))
        queue = self.replies.get(path)
        if not queue:
            return web.Response(status=404, text=f"{path} is not scripted\n")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        fields = list(reply.headers)
        if not any(name.lower() == "date" for name, _ in fields):
            fields.append(("Date", format_http_date(self.clock())))
        body = None if reply.status in (204, 304) else reply.body  # aiohttp drops it for HEAD
        return web.Response(status=reply.status, headers=fields, body=body)
