"""Admin routes' bearer token (RFC 6750): where it comes from and how a request is checked.

Rules: no token configured means the admin routes are off and answer 404 as if they did not
exist; a missing or wrong token is 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3,
``error="invalid_token"`` for a wrong one). Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import os

from aiohttp import web

__all__ = ["ADMIN_TOKEN_ENV", "admin_token_from_env", "require_admin"]

ADMIN_TOKEN_ENV = "CDNLAB_ADMIN_TOKEN"


def admin_token_from_env() -> str | None:
    """The admin token from ``$CDNLAB_ADMIN_TOKEN`` (None when unset or empty)."""
    return os.environ.get(ADMIN_TOKEN_ENV) or None


def require_admin(request: web.BaseRequest, token: str | None) -> None:
    """Raise 404 (admin off), or 401 (no or wrong bearer token) unless ``request`` may pass."""
    if not token:
        raise web.HTTPNotFound(text="admin endpoints are off (no admin token configured)\n")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise web.HTTPUnauthorized(
            text="an admin token is required (Authorization: Bearer <token>)\n",
            headers={"WWW-Authenticate": 'Bearer realm="cdnlab"'},
        )
    # A header's obs-text octets are read as surrogate escapes: encoded back, never an error.
    if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode()):
        raise web.HTTPUnauthorized(
            text="the admin token is wrong\n",
            headers={"WWW-Authenticate": 'Bearer realm="cdnlab", error="invalid_token"'},
        )
