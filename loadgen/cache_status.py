"""Reading a response's cache outcome from `X-Cache` and `Cache-Status` (RFC 9211), as a client sees it.

Outcomes (the ``cache_status`` label of docs/metrics.md): hit, miss, stale, revalidated, bypass,
collapsed, error, and ``unknown`` when a response carries neither header (e.g. the origin itself).

Rules (matching how cdn.http.cache_status.describe words them on the edge):
- The LAST `Cache-Status` member is the cache closest to the client (RFC 9211 §2). When it has
  ``collapsed`` the outcome is collapsed (X-Cache cannot say so: a collapsed miss says MISS).
- Otherwise `X-Cache` (cdnlab's own label; the last token when a chain lists several) wins when
  known: HIT, STALE, REVALIDATED, MISS, EXPIRED (a miss that replaced a stale entry), BYPASS.
- Otherwise the last member decides: ``hit`` -> hit (stale when ``ttl`` < 0);
  ``detail=stale-if-error`` -> stale; ``fwd=stale`` with ``fwd-status=304`` -> revalidated;
  ``fwd=bypass|request|method`` -> bypass; any other ``fwd`` -> miss.
- A member with ``detail=peer-owned`` is an edge that fetched from the owner peer of its group
  (peer sharding): the peer is part of the same edge tier, so the outcome is the owner's, read
  from the member before it (a hit there is an edge-tier hit, as the simulator counts it).
- The request reached the origin (``origin_fetch``) when the outcome is miss, bypass or revalidated
  and no earlier member of the `Cache-Status` chain (a shield, an owner peer) answered it as a hit,
  stale or collapsed. Without `Cache-Status` the client-facing outcome alone decides.
- The path (``path``, one of ``PATHS``; None for every other outcome): where the body came from,
  the classes the twin compares latency by (demo.latency): ``edge hit`` (the edge's own cache),
  ``peer hit`` (the owner peer's cache), ``shield hit`` (an edge-tier miss a cache upstream
  answered from its copy, hit or stale), ``miss`` (an edge-tier miss that reached the origin).
"""

from __future__ import annotations

from dataclasses import dataclass

CACHE_STATUSES = ("hit", "miss", "stale", "revalidated", "bypass", "collapsed", "error", "unknown")
HIT_STATUSES = frozenset({"hit", "stale", "revalidated", "collapsed"})
UPSTREAM_STATUSES = frozenset({"miss", "bypass", "revalidated"})
PATHS = ("edge hit", "peer hit", "shield hit", "miss")  # where the body came from (``path``)

_X_CACHE = {
    "HIT": "hit",
    "MISS": "miss",
    "STALE": "stale",
    "REVALIDATED": "revalidated",
    "BYPASS": "bypass",
    "PASS": "bypass",
    "COLLAPSED": "collapsed",
    "EXPIRED": "miss",
    "ERROR": "error",
}
_BYPASS_FWD = frozenset({"bypass", "request", "method"})
PEER_OWNED = (
    "peer-owned"  # the edge's Cache-Status detail for a response fetched from its owner peer
)


@dataclass(frozen=True, slots=True)
class CacheOutcome:
    """The client-facing cache outcome and whether the origin was contacted for it."""

    status: str
    origin_fetch: bool
    path: str | None = None  # one of PATHS, or None (collapsed, revalidated, bypass, ...)

    @property
    def is_hit(self) -> bool:
        """True for outcomes counted as hits (hit, stale, revalidated, collapsed), as metrics.md."""
        return self.status in HIT_STATUSES


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_cache_status(value: str) -> list[dict[str, str]]:
    """The members of a Cache-Status field value, each as {"name": ..., param: value or ""}."""
    members = []
    for raw in _split_outside_quotes(value, ","):
        pieces = [p.strip() for p in _split_outside_quotes(raw, ";")]
        if not pieces or not pieces[0]:
            continue
        member = {"name": pieces[0].strip('"')}
        for piece in pieces[1:]:
            if not piece:
                continue
            key, eq, val = piece.partition("=")
            member[key.strip().lower()] = val.strip().strip('"') if eq else ""
        members.append(member)
    return members


def _member_status(member: dict[str, str]) -> str:
    if "collapsed" in member:
        return "collapsed"
    if "hit" in member:
        try:
            if float(member.get("ttl", "0")) < 0:
                return "stale"
        except ValueError:
            pass
        return "hit"
    if member.get("detail") == "stale-if-error":
        return "stale"
    fwd = member.get("fwd")
    if fwd is None:
        return "unknown"
    if fwd == "stale" and member.get("fwd-status") == "304":
        return "revalidated"
    if fwd in _BYPASS_FWD:
        return "bypass"
    return "miss"


def classify(cache_status: str | None, x_cache: str | None) -> CacheOutcome:
    """The outcome of a response with these `Cache-Status` and `X-Cache` values (None: absent)."""
    members = parse_cache_status(cache_status) if cache_status else []
    peer = len(members) >= 2 and members[-1].get("detail") == PEER_OWNED
    if peer:
        members = members[:-1]  # the owner peer answered for the edge tier
        x_cache = None  # ours describes the hop to the peer, not the tier's outcome
    status = "unknown"
    if members and "collapsed" in members[-1]:
        status = "collapsed"
    elif x_cache and x_cache.strip():
        token = x_cache.split(",")[-1].strip().split(" ")[0].upper()
        status = _X_CACHE.get(token, "unknown")
    if status == "unknown" and members:
        status = _member_status(members[-1])
    if status not in UPSTREAM_STATUSES:
        path = ("peer hit" if peer else "edge hit") if status in ("hit", "stale") else None
        return CacheOutcome(status, False, path)
    upstream = [_member_status(m) for m in members[:-1]]
    served_upstream = any(s in ("hit", "stale", "collapsed") for s in upstream)
    path = None
    if status == "miss":
        path = "shield hit" if any(s in ("hit", "stale") for s in upstream) else "miss"
        if served_upstream and path == "miss":  # collapsed upstream: neither a copy nor origin
            path = None
    return CacheOutcome(status, not served_upstream, path)
