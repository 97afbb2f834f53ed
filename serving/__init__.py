"""Server plumbing shared by the origin and the edge (no caching semantics, no routes).

- ``serving.auth``: the admin bearer token (RFC 6750) and ``$CDNLAB_ADMIN_TOKEN``;
- ``serving.pages``: JSON and Prometheus answers of the ``/_cdn/`` routes;
- ``serving.server``: ``AppServer`` (an app on a socket: start, stop, listen again),
  ``serve_until_signalled`` and ``run_event_loop`` (uvloop);
- ``serving.flags``: the command-line flags every server takes (--host, --port,
  --admin-token, --access-log) and the busy-port message.

Rules: shells only (aiohttp, sockets, signals); imports ``cdn`` at most, never ``edge``,
``origin`` or ``cli``.
"""
