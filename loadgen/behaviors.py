"""What the load generator knows of a topology's behaviors: the report slice of a request path
(the API keys and signatures it sends: loadgen.credentials).

Rules: the behavior of a path is the core's (``Gateway.behavior_for``, first match wins; the
query string is not part of the match); its name in the report is its path pattern, as in the
simulator's report (``Gateway.behavior_names``). Without ``[[behavior]]`` tables there is
nothing to slice by (``BehaviorNames.of`` is None).
"""

from __future__ import annotations

from cdn.gateway.behaviors import Gateway, default_gateway
from cdn.topology import Topology

__all__ = ["BehaviorNames"]

_MEMO = 100_000  # paths remembered (the catalog's paths repeat; a trace's may not)


class BehaviorNames:
    """``names(target)``: the report name of the behavior of a request target (a path with an
    optional query, as text or as the bytes of a request line ``GET /path HTTP/1.1...``)."""

    __slots__ = ("_gateway", "_memo", "_names")

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._names = gateway.behavior_names()
        self._memo: dict[str | bytes, str] = {}

    @classmethod
    def of(cls, topology: Topology) -> BehaviorNames | None:
        """The names of ``topology``'s behaviors, or None when it has none of its own."""
        gateway = topology.gateway
        if gateway is None or gateway.behaviors == default_gateway(topology.origin.name).behaviors:
            return None
        return cls(gateway)

    def __call__(self, target: str | bytes) -> str:
        found = self._memo.get(target)
        if found is None:
            text = target
            if isinstance(text, bytes):  # a request line: the path is its second word
                text = text.split(b" ", 2)[1].decode("latin-1")
            path = text.partition("?")[0]
            gateway = self._gateway
            found = self._names[gateway.behaviors.index(gateway.behavior_for(path))]
            if len(self._memo) < _MEMO:
                self._memo[target] = found
        return found
