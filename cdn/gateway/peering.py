"""Requests forwarded inside a peer group: proof that a peer of the group already admitted them.

Rules: in a peer group (consistent-hash sharding) the edge a viewer reaches admits the request
(its behavior's checks and limits) and forwards a miss to the key's owner. The owner must not
admit it again (limits would count twice, and a signed URL names the first edge's host), but a
viewer must not be able to claim "already admitted" either. So the forwarding edge adds a proof,
HMAC-SHA256 (``hmac``, stdlib) keyed by the group's shared secret over the forwarding node's
name, the method and the request target; the owner recomputes it and compares in constant time.
A request without a valid proof is a viewer's: it is admitted like any other. Without a shared
secret there is no proof and every edge admits what it receives.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["forwarded_proof", "is_forwarded_proof"]


def forwarded_proof(secret: str, node: str, method: str, target: str) -> str:
    """The proof (hex) that ``node`` of the group admitted ``method target`` and forwards it."""
    message = f"cdnlab-peer\n{node}\n{method}\n{target}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def is_forwarded_proof(secret: str, node: str, method: str, target: str, proof: str) -> bool:
    """Whether ``proof`` is ``node``'s proof for ``method target`` under ``secret``."""
    expected = forwarded_proof(secret, node, method, target)
    return hmac.compare_digest(expected.encode(), proof.encode("utf-8", "replace"))
