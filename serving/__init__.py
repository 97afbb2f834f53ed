"""Server plumbing shared by the origin and the edge (no caching semantics, no routes).

- ``serving.auth``: the admin bearer token (RFC 6750) and ``$CDNLAB_ADMIN_TOKEN``;
- ``serving.pages``: JSON and Prometheus answers of the ``/_cdn/`` routes;
- ``serving.server``: ``AppServer`` (an app on a socket: start, stop, listen again),
  ``serve_until_signalled`` and ``run_event_loop`` (uvloop);
- ``serving.flags``: the command-line flags every server takes (--host, --port,
  --admin-token, --access-log) and the busy-port message;
- ``serving.purge_notify``: purges a storage or table origin sends to the cache nodes;
- ``serving.sigv4``: SigV4 verification (header and presigned forms) with botocore's signer,
  for the storage and table origins; the one module on botocore internals;
- ``serving.guard`` / ``serving.limits``: header, body and idle timeouts and the connection cap
  of every server;
- ``serving.sigv4_sign``: SigV4 signing of origin requests (origin access control), with
  botocore's signer.

Rules: shells only (aiohttp, sockets, signals); imports ``cdn`` at most, never ``edge``,
``origin`` or ``cli``.
"""
