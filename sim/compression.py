"""Compression in the simulator: what a behavior with ``compress`` saves, as the live edge does it.

Rules: the decisions are the core's (``cdn.gateway.compression``): ``should_compress`` on the
origin's answer (status 200, the path family's ``content_type``, its size), the normalised
coding a client accepts (drawn per request by ``cdn.workload.draws.draw_coding`` from the
workload's ``accept_encoding``, as the load generator draws it), ``compressed_size`` with the
family's ``compression_ratio`` or the core's ``COMPRESSION_RATIOS``. As on the live edge
(edge/compressing.py):
- a compressible answer carries ``Vary: Accept-Encoding`` at the edge and the edge's requests
  carry the normalised coding, so each coding (identity too) is an entry of its own: the
  edge's cache groups for a compressing behavior are one per coding (sim.behaviors), whose
  origin rule adds the Vary (shields keep one entry: the origin did not vary);
- the edge stores and serves the compressed size, and fetches the identity body upstream
  (``Uncompressed`` stands in for each edge's upstream while a compressed request is served:
  the upstream sees, stores and sends the whole size, the edge counts it as upstream bytes).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cdn.gateway.compression import COMPRESSION_RATIOS, compressed_size, should_compress
from cdn.topology import CacheRule, Topology, WorkloadPath
from cdn.workload.draws import coding_seed, draw_coding
from sim.origin import OriginSim
from sim.outcomes import MISS

__all__ = ["SimCompression", "Uncompressed", "varied"]


def varied(rule: CacheRule) -> CacheRule:
    """``rule`` with ``Accept-Encoding`` added to its Vary (what the compressing edge adds)."""
    names = {n.strip().lower() for n in (rule.vary or "").split(",")}
    if "accept-encoding" in names or "*" in names:
        return rule
    return replace(rule, vary=f"{rule.vary}, Accept-Encoding" if rule.vary else "Accept-Encoding")


class Uncompressed:
    """An edge's upstream while a compressed request is served: the edge asks for the
    compressed size; the real upstream serves (and an origin sends) the identity ``size``."""

    __slots__ = ("node", "size", "upstream")

    def __init__(self, node: Any) -> None:
        self.node = node
        self.upstream: Any = None
        self.size = 0

    def serve(
        self, key: str, obj: int, size: int, t: float, from_peer: bool, conditional: bool
    ) -> tuple[float, int, bool, int]:
        """The upstream's answer to the edge (as ``CacheNodeSim.serve``), fetched whole."""
        node, upstream, full = self.node, self.upstream, self.size
        if not conditional:
            node.upstream_bytes += full - size  # the edge counted the compressed size
        if type(upstream) is OriginSim:
            if not conditional:
                node.origin_bytes += full
            return upstream.fetch(t, full, conditional), MISS, not conditional, 0
        return upstream.serve(key, obj, full, t, from_peer, conditional)


class SimCompression:
    """The workload's codings and each family's ratios; ``call`` serves a compressed request."""

    def __init__(
        self, topology: Topology, families: tuple[WorkloadPath, ...], seed: int, nodes: Any
    ) -> None:
        self.shares = topology.workload.accept_encoding
        self.fixed = self.shares[0][0] if len(self.shares) == 1 else None
        self.uniform = random.Random(coding_seed(seed)).random
        self.families = families
        self.ratios = [
            {**COMPRESSION_RATIOS, **dict(family.compression_ratio)} for family in families
        ]
        self.proxies = [(node, Uncompressed(node)) for node in nodes if node.node.role == "edge"]

    def coding(self) -> str:
        """The normalised coding the next request's client accepts (one draw, in order)."""
        return self.fixed or draw_coding(self.uniform, self.shares)

    def compressible(self, family: int, size: int) -> bool:
        """Whether the origin's 200 for an object of ``family`` and ``size`` gets compressed."""
        return should_compress(200, self.families[family].content_type, None, size)

    def size(self, family: int, coding: str, size: int) -> int:
        """The size the edge stores and serves for ``coding`` of a compressible object."""
        if coding == "identity":
            return size
        return compressed_size(size, self.ratios[family][coding])

    def call(
        self,
        inner: Callable[..., tuple[float, int, bool, int]],
        full: int,
        edge: Any,
        key: str,
        obj: int,
        size: int,
        t: float,
        from_peer: bool,
        cond: bool,
    ) -> tuple[float, int, bool, int]:
        """``inner`` for a request served compressed (``size``; ``full`` the identity size),
        with every edge's upstream seeing the identity size; upstreams put back after."""
        proxies = self.proxies
        for node, proxy in proxies:
            proxy.upstream, proxy.size = node.upstream, full
            node.upstream = proxy
        try:
            return inner(edge, key, obj, size, t, from_peer, cond)
        finally:
            for node, proxy in proxies:
                node.upstream = proxy.upstream
