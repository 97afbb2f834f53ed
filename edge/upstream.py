"""Fetching from upstream: the owner peer, else the shield or origin; timeouts and error mapping.

Rules: the only hosts ever contacted are the configured upstream and peers (URLs fixed at
start; the client's Host and target never choose a host). Requests carry ``Via`` and
``CDN-Loop: cdnlab-<node>`` (RFC 8586) so the next tier knows it talks to our own cache, and
``X-Cdnlab-Peer: <node>`` when sent to a peer (a peer request is never forwarded to another
peer: loop-safe), and ``X-Cdnlab-Peer-Proof`` (``cdn.gateway.peering``, keyed by the group's
admin token): this node admitted it, the owner does not admit it again. Redirects are not
followed and bodies are not decompressed: bytes pass as they are. With emulated latency the
round trip to the fetched node (``2 x`` the one-way propagation delay of ``cdn.geo``) is
slept before each fetch.

Failures become ``UpstreamError`` with the status the client should get: 502 (could not
connect, connection lost, bad response) or 504 (timed out).

Fail-over (nginx's ``proxy_next_upstream error timeout``): every failure here happens before the
response head arrived, so nothing has reached the client yet. An idempotent request without a
body (GET, HEAD, OPTIONS) that fails on a peer for any reason goes to the next owner on the ring,
then to the upstream; one that loses a reused keep-alive connection to the upstream (the shield or
origin closed or restarted it) is sent again on a fresh connection, at most
``_UPSTREAM_RETRIES`` more times. When an upstream fails for good, the next of the edge's
fallback upstreams (``settings.fallbacks``, the topology's ``upstream = [a, b, ...]``) is tried,
in order; the last one's failure is the answer. Other requests fail over only when the
connection could not be made (nothing was sent). A peer that refuses a connection is marked down at once; one that fails
otherwise ``EJECT_AFTER`` times in a row is marked down too (passive outlier detection, beside the
active health probes of ``edge.peers``). A peer's answer head is waited for at most
``peer_timeout`` (5 s by default, below the upstream timeout): a stopped or partitioned peer
costs that much before the next owner is asked.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from cdn.gateway.peering import forwarded_proof
from edge.metrics import EdgeMetrics
from edge.peers import PeerSet
from edge.settings import EdgeSettings
from serving.sigv4_sign import signer_from_env
from serving.tls import client_context

__all__ = [
    "PEER_HEADER",
    "PEER_PROOF",
    "Clock",
    "Fetched",
    "Upstream",
    "UpstreamError",
    "cdn_loop_member",
]

PEER_HEADER = "X-Cdnlab-Peer"
PEER_PROOF = "X-Cdnlab-Peer-Proof"
# Request fields never passed upstream as the client sent them (we write our own).
_REPLACED = frozenset(
    {"host", "via", "cdn-loop", "x-cdnlab-peer", "x-forwarded-for", "content-length"}
    | {"x-cdnlab-peer-proof"}
)
# aiohttp adds these when absent; an edge must forward only what the client sent.
_SKIP_AUTO = frozenset({"User-Agent", "Accept", "Accept-Encoding"})
# Methods safe to send twice (RFC 9110 §9.2.2) that we also send without a body.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Extra tries on the upstream after a reused connection was lost before the response head.
_UPSTREAM_RETRIES = 2

Sleep = Callable[[float], Awaitable[Any]]
# The wall clock (seconds since the epoch); tests inject their own.
Clock = Callable[[], float]


def cdn_loop_member(node: str) -> str:
    """This node's CDN-Loop member (RFC 8586), e.g. ``cdnlab-edge-par``."""
    return f"cdnlab-{node}"


class UpstreamError(Exception):
    """An upstream fetch failed; ``status`` is 502 or 504 and ``reason`` says why, for people."""

    def __init__(self, status: int, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.kind = kind


@dataclass(slots=True)
class Fetched:
    """An upstream response whose headers arrived; the body is still to be read (then release)."""

    response: aiohttp.ClientResponse
    kind: str  # origin, shield or peer
    node: str
    request_time: float
    response_time: float
    delay: float
    elapsed: float

    def release(self) -> None:
        """Give the connection back (or close it when the body was not read to the end)."""
        self.response.release()


class Upstream:
    """Fetches for one edge app over its one ClientSession."""

    def __init__(
        self,
        settings: EdgeSettings,
        session: aiohttp.ClientSession,
        peers: PeerSet,
        metrics: EdgeMetrics,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        self.session = session
        self.peers = peers
        self.metrics = metrics
        self.sleep = sleep
        self.clock = clock
        # Origin access control: requests to the origin (only) carry a SigV4 signature.
        self.origin_signer = signer_from_env() if settings.origin_auth == "sigv4" else None
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.connect_timeout,
            sock_read=settings.upstream_timeout,
        )
        # A peer that hangs (stopped, partitioned) costs at most this before the next owner.
        self.peer_timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.connect_timeout,
            sock_read=min(settings.peer_timeout, settings.upstream_timeout),
        )
        self.via = f"1.1 {settings.name}"
        self.loop_member = cdn_loop_member(settings.name)
        self.upstream_delay = settings.emulated_delay(settings.upstream_location)
        # https upstreams are verified: against settings.origin_ca_file, else the system's CAs.
        self.ssl: ssl.SSLContext | bool = (
            client_context(settings.origin_ca_file) if settings.origin_ca_file else True
        )

    def request_headers(
        self, fields: tuple[tuple[str, str], ...], client_via: str | None, client_loop: str | None
    ) -> list[tuple[str, str]]:
        """Forwarded fields: the client's (already without hop-by-hop) plus Via and CDN-Loop."""
        pairs = [pair for pair in fields if pair[0].lower() not in _REPLACED]
        pairs.append(("Via", f"{client_via}, {self.via}" if client_via else self.via))
        pairs.append(
            ("CDN-Loop", f"{client_loop}, {self.loop_member}" if client_loop else self.loop_member)
        )
        return pairs

    async def fetch(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        *,
        key: str,
        allow_peers: bool,
        data: Any = None,
    ) -> Fetched:
        """Send ``method target`` to the key's owner peer (when allowed and up), else upstream.

        Fails over as the module's rules say; raises UpstreamError when the last try failed.
        """
        retryable = method in IDEMPOTENT_METHODS and data is None
        if allow_peers and self.peers:
            fetched = await self.from_peers(method, target, headers, key=key, data=data)
            if fetched is not None:
                return fetched
        settings = self.settings
        upstreams = [
            (
                settings.upstream_kind,
                settings.upstream_name,
                settings.upstream_url,
                self.upstream_delay,
            ),
            *(
                (
                    fallback.kind,
                    fallback.name,
                    fallback.url,
                    settings.emulated_delay(fallback.location),
                )
                for fallback in settings.fallbacks
            ),
        ]
        for index, (kind, node, base_url, delay) in enumerate(upstreams):
            try:
                return await self._from_upstream(
                    kind, node, base_url, delay, method, target, headers, data, retryable
                )
            except UpstreamError as exc:
                if index + 1 == len(upstreams) or not (retryable or exc.kind == "connect"):
                    raise
                self.metrics.failover(kind, exc.kind)
        raise AssertionError("unreachable: the last upstream returns or raises")

    async def from_peers(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        *,
        key: str,
        data: Any = None,
    ) -> Fetched | None:
        """The key's owner peer's answer (or the next owner's); None when this node owns the
        key or every owner failed over. Raises UpstreamError when a peer failed and the request
        may not be sent again."""
        retryable = method in IDEMPOTENT_METHODS and data is None
        peer_headers = [*headers, (PEER_HEADER, self.settings.name)]
        if self.settings.admin_token:  # the owner trusts the admission only with a proof
            sent = URL("http://peer" + target).raw_path_qs  # as the request line has it
            proof = forwarded_proof(self.settings.admin_token, self.settings.name, method, sent)
            peer_headers.append((PEER_PROOF, proof))
        for peer in self.peers.route(key):
            try:
                fetched = await self._send(
                    "peer",
                    peer.name,
                    peer.url,
                    method,
                    target,
                    peer_headers,
                    data,
                    self.settings.emulated_delay(peer.location),
                    self.peer_timeout,
                )
            except UpstreamError as exc:
                self.peers.failed(peer.name, refused=exc.kind == "connect")
                if exc.kind != "connect" and not retryable:
                    raise
                self.metrics.failover("peer", exc.kind)
                continue
            self.peers.answered(peer.name)
            return fetched
        return None

    async def fetch_at(
        self,
        kind: str,
        node: str,
        base_url: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        data: Any = None,
        ssl: ssl.SSLContext | None = None,
    ) -> Fetched:
        """Send ``method target`` to one named node at ``base_url`` (a behavior's own origin,
        ``edge.routes``; an origin an edge function chose, ``edge.functions``): no peers, no
        fallbacks; again on a fresh connection when a reused one was lost (idempotent, no
        body). ``ssl`` verifies an https origin (None: as the edge's upstream). UpstreamError
        when it fails."""
        retryable = method in IDEMPOTENT_METHODS and data is None
        return await self._from_upstream(
            kind, node, base_url, 0.0, method, target, headers, data, retryable, ssl
        )

    async def _from_upstream(
        self,
        kind: str,
        node: str,
        base_url: str,
        delay: float,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        data: Any,
        retryable: bool,
        context: ssl.SSLContext | None = None,
    ) -> Fetched:
        """One upstream, again on a fresh connection when a reused one was lost (retryable)."""
        tries = 1 + (_UPSTREAM_RETRIES if retryable else 0)
        for attempt in range(tries):
            try:
                return await self._send(
                    kind, node, base_url, method, target, headers, data, delay, context=context
                )
            except UpstreamError as exc:
                if exc.kind != "disconnect" or attempt + 1 == tries:
                    raise
                self.metrics.failover(kind, exc.kind)
        raise AssertionError("unreachable: the last try returns or raises")

    async def _send(
        self,
        kind: str,
        node: str,
        base_url: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        data: Any,
        delay: float,
        timeout: aiohttp.ClientTimeout | None = None,
        context: ssl.SSLContext | None = None,
    ) -> Fetched:
        started = time.perf_counter()
        timeout = timeout or self.timeout
        if delay > 0:
            await self.sleep(delay)
        request_time = self.clock()
        if kind == "origin" and self.origin_signer is not None:
            headers = self.origin_signer.sign(method, base_url + target, headers, request_time)
        try:
            response = await self.session.request(
                method,
                base_url + target,
                headers=headers,
                data=data,
                allow_redirects=False,
                skip_auto_headers=_SKIP_AUTO,
                timeout=timeout,
                ssl=context if context is not None else self.ssl,
            )
        except (TimeoutError, aiohttp.ServerTimeoutError):
            self.metrics.upstream_request(kind, "error")
            raise UpstreamError(
                504,
                f"{kind} {node} ({base_url}) did not answer within {timeout.sock_read:g}s",
                "timeout",
            ) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            self.metrics.upstream_request(kind, "error")
            raise UpstreamError(
                502,
                f"{kind} {node} ({base_url}) has a certificate we do not trust: "
                f"{exc.certificate_error}",
                "connect",
            ) from None
        except aiohttp.ClientConnectorError as exc:
            self.metrics.upstream_request(kind, "error")
            raise UpstreamError(
                502,
                f"cannot connect to {kind} {node} ({base_url}): {exc.os_error.strerror or exc}",
                "connect",
            ) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            # The connection was lost before the response head: typically a pooled keep-alive
            # connection the other side closed, or a node that died.
            self.metrics.upstream_request(kind, "error")
            raise UpstreamError(
                502,
                f"connection to {kind} {node} ({base_url}) lost before the response: "
                f"{type(exc).__name__}: {exc}",
                "disconnect",
            ) from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            self.metrics.upstream_request(kind, "error")
            raise UpstreamError(
                502,
                f"bad response from {kind} {node} ({base_url}): {type(exc).__name__}: {exc}",
                "response",
            ) from None
        response_time = self.clock()
        elapsed = time.perf_counter() - started
        self.metrics.upstream_request(kind, response.status)
        self.metrics.upstream_duration[kind].observe(elapsed)
        return Fetched(response, kind, node, request_time, response_time, delay, elapsed)
