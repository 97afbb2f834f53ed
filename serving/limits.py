"""How long a client may take and how many connections a server holds: ``ConnectionLimits``.

Rules: a frozen value, checked when built (ValueError naming the field and what is expected);
no I/O. ``serving.guard`` enforces it on every connection of the origin, the edge and any
other server built on ``serving``. The defaults are nginx's: ``client_header_timeout`` and
``client_body_timeout`` 60 s, ``keepalive_timeout`` 75 s.

- ``header_timeout``: a request's line and header fields must all arrive within this many
  seconds of its first byte (of the connection's opening, for its first request); else
  ``408 Request Timeout`` and the connection is closed.
- ``body_timeout``: while a request body is being received, at most this long between two
  reads (as nginx: not the whole body); else 408 (when no response byte was sent yet) and close.
  Time while the server itself is not reading (flow control) does not count.
- ``idle_timeout``: a keep-alive connection with no request in progress is closed after this.
- ``max_connections``: open connections per server process. At the cap a new connection gets
  ``503 Service Unavailable`` with ``Retry-After: 1`` and ``Connection: close`` at once,
  without its request being read, and is closed (after a short linger so the answer is read
  before the close); established connections are not affected.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "ConnectionLimits"]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection timeouts (seconds) and the per-process connection cap."""

    header_timeout: float = 60.0
    body_timeout: float = 60.0
    idle_timeout: float = 75.0
    max_connections: int = 10_000

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "idle_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} {value!r} must be > 0 seconds")
        if not isinstance(self.max_connections, int) or self.max_connections < 1:
            raise ValueError(f"max_connections {self.max_connections!r} must be an integer >= 1")


DEFAULT_LIMITS = ConnectionLimits()
