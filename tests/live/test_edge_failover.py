"""Fail-over before the response head (issue "Faults under load"): idempotent requests try the next
owner peer, then the upstream; a lost keep-alive connection is never a client error.

The failing upstreams here are raw asyncio servers, so the failure happens deterministically on
the reused connection (a SIGKILLed peer does this only when the edge writes before it notices the
close).
"""

from __future__ import annotations

import asyncio

from edge.settings import Peer

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\n"
    b"Content-Length: 2\r\n\r\nok"
)


class FlakyUpstream:
    """A raw HTTP/1.1 upstream whose connections can be made to fail before the response head.

    - ``hold_until``: the first responses wait until this many connections have a request open,
      so the client ends up with that many pooled keep-alive connections.
    - ``restart()``: every connection open now closes on its next request, unanswered (the
      upstream restarted while the client still holds pooled connections to it).
    - ``die()``: from now on every request on every connection is dropped unanswered.
    """

    def __init__(self, *, hold_until: int = 1) -> None:
        self.hold_until = hold_until
        self.requests = 0
        self.dropped = 0
        self.dead = False
        self.waiting = 0
        self.enough = asyncio.Event()
        self.stale: set[asyncio.StreamWriter] = set()
        self.open: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def restart(self) -> None:
        self.stale |= self.open

    def die(self) -> None:
        self.dead = True

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.open:
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                if self.dead or writer in self.stale:
                    self.dropped += 1
                    break  # close unanswered: the client sees a disconnect
                if not self.enough.is_set():
                    self.waiting += 1
                    if self.waiting >= self.hold_until:
                        self.enough.set()
                    await self.enough.wait()
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open.discard(writer)
            writer.close()


async def owned_by(server, owner: str, count: int) -> list[str]:
    from edge.app import PEERS, PROXY

    proxy, peers = server.app[PROXY], server.app[PEERS]
    targets, n = [], 0
    while len(targets) < count:
        if peers.owner(proxy.key_of(f"/obj/{n}")) == owner:
            targets.append(f"/obj/{n}")
        n += 1
    return targets


async def test_a_get_whose_peer_stopped_answering_is_served_by_the_next_owner(
    start_origin, start_edge_server, http
) -> None:
    origin = await start_origin()
    peer = FlakyUpstream()
    peer_url = await peer.start()
    try:
        edge = await start_edge_server(
            origin, name="edge-a", peers=(Peer("edge-b", peer_url),), peer_check_interval=60
        )
        first, second = await owned_by(edge, "edge-b", 2)
        async with http.get(edge.url + first) as response:
            assert response.status == 200  # answered by the peer over a kept-alive connection
        peer.die()
        async with http.get(edge.url + second) as response:
            assert response.status == 200, await response.text()
            assert await response.read()
        assert peer.dropped >= 2  # the pooled connection and aiohttp's own retry both failed
    finally:
        await peer.close()


async def test_a_get_is_sent_again_when_every_pooled_upstream_connection_is_lost(
    start_edge_server, http
) -> None:
    origin = FlakyUpstream(hold_until=3)
    origin_url = await origin.start()
    try:
        edge = await start_edge_server(origin_url, name="edge-a")

        async def fetch(target: str) -> int:
            async with http.get(edge.url + target) as response:
                await response.read()
                return response.status

        assert await asyncio.gather(*(fetch(f"/obj/{i}") for i in range(3))) == [200] * 3
        origin.restart()  # three pooled connections, all dead now
        assert await fetch("/obj/9") == 200
        assert origin.dropped == 3
        async with http.get(edge.url + "/_cdn/metrics") as response:
            text = await response.text()
        assert (
            'cdnlab_edge_upstream_failovers_total{node="edge-a",reason="disconnect",'
            'upstream="origin"} 1.0'
        ) in text
    finally:
        await origin.close()


async def test_a_post_is_not_sent_again_after_the_connection_is_lost(
    start_edge_server, http
) -> None:
    origin = FlakyUpstream()
    origin_url = await origin.start()
    try:
        edge = await start_edge_server(origin_url, name="edge-a")
        async with http.get(edge.url + "/warm") as response:
            assert response.status == 200
        origin.restart()
        async with http.post(edge.url + "/form", data=b"x=1") as response:
            assert response.status == 502
        assert origin.requests == 2  # the POST reached the origin once, and only once
    finally:
        await origin.close()


async def test_a_peer_failing_three_times_in_a_row_is_marked_down(
    start_origin, start_edge_server, http
) -> None:
    origin = await start_origin()
    peer = FlakyUpstream()
    peer.die()
    peer_url = await peer.start()
    try:
        edge = await start_edge_server(
            origin, name="edge-a", peers=(Peer("edge-b", peer_url),), peer_check_interval=60
        )
        for target in await owned_by(edge, "edge-b", 3):
            async with http.get(edge.url + target) as response:
                assert response.status == 200
        async with http.get(edge.url + "/_cdn/health") as response:
            assert (await response.json())["peers"] == {"edge-b": "down"}
        async with http.get(edge.url + "/_cdn/metrics") as response:
            assert 'cdnlab_edge_peer_ejections_total{node="edge-a",peer="edge-b"} 1.0' in (
                await response.text()
            )
    finally:
        await peer.close()
