"""Typed values the shells hand to the function step and get back: requests, responses, origins.

Rules: plain frozen values; headers are ``(name, value)`` pairs in arrival order (duplicates
kept); bodies are bytes and appear only where CloudFront shows or accepts one (a request body
when body inclusion is on; a generated or replaced response body).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Distribution",
    "EdgeRequest",
    "EdgeResponse",
    "FunctionInput",
    "Header",
    "OriginTarget",
    "header_values",
]

Header = tuple[str, str]


def header_values(headers: tuple[Header, ...], name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in order."""
    lowered = name.lower()
    return [value for key, value in headers if key.lower() == lowered]


@dataclass(frozen=True, slots=True)
class EdgeRequest:
    """A viewer's request as the edge sees it (the query string without its ``?``)."""

    method: str
    uri: str
    querystring: str = ""
    headers: tuple[Header, ...] = ()
    client_ip: str = "127.0.0.1"
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class EdgeResponse:
    """A response head, with a body only when a function generated or replaced it."""

    status: int
    headers: tuple[Header, ...] = ()
    status_description: str = ""
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class OriginTarget:
    """An origin a request can be sent to: a node of the topology, shown as a custom origin."""

    name: str
    domain_name: str
    port: int = 80
    protocol: str = "http"
    path: str = ""
    read_timeout: int = 30
    keepalive_timeout: int = 5
    custom_headers: tuple[Header, ...] = ()


@dataclass(frozen=True, slots=True)
class Distribution:
    """What ``config`` / ``context`` say about the distribution (read-only for functions)."""

    domain_name: str = "d111111abcdef8.cloudfront.net"
    distribution_id: str = "EDFDVBD6EXAMPLE"


@dataclass(frozen=True, slots=True)
class FunctionInput:
    """Everything one trigger's event is built from.

    ``response`` is set for response triggers; ``origin`` for origin triggers (the origin the
    request is going to); ``request_id`` is the edge's id for the request (``config.requestId``).
    """

    request: EdgeRequest
    request_id: str
    response: EdgeResponse | None = None
    origin: OriginTarget | None = None
    distribution: Distribution = field(default_factory=Distribution)
