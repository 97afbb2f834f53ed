"""Cache-Status (RFC 9211), X-Cache and the metric label for one handled request.

Rules: pure functions. ``cache_status_member`` renders one list member with sf quoting
(cache name and detail as token when possible, else sf-string; key always sf-string).
``describe`` maps a decision and its outcome to all three views, so the edge, the
simulator and the load generator count outcomes the same way. Labels: hit, stale,
revalidated, miss, bypass, collapsed. X-Cache: HIT, STALE, REVALIDATED, EXPIRED (a stale
entry was replaced by a new full response), MISS, BYPASS.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdn.http.decision import (
    Bypass,
    Decision,
    Freshen,
    Hit,
    Miss,
    OnlyIfCachedMiss,
    Outcome,
    Refetch,
    Revalidate,
    StaleHit,
    Store,
)
from cdn.http.entry import Entry
from cdn.http.structured import parse_list, serialize_string, serialize_token_or_string

__all__ = ["FWD_REASONS", "CacheStatus", "cache_status_member", "describe", "stood_in_on_error"]

# RFC 9211 §2.2
FWD_REASONS: frozenset[str] = frozenset(
    {"bypass", "method", "uri-miss", "vary-miss", "miss", "request", "stale", "partial"}
)


def cache_status_member(
    name: str,
    *,
    hit: bool = False,
    fwd: str | None = None,
    fwd_status: int | None = None,
    ttl: int | None = None,
    stored: bool = False,
    collapsed: bool = False,
    key: str | None = None,
    detail: str | None = None,
) -> str:
    """One Cache-Status list member, e.g. ``cdnlab-fra; fwd=miss; stored``.

    Raises ValueError for an unknown ``fwd`` or for both ``hit`` and ``fwd``.
    """
    if fwd is not None and fwd not in FWD_REASONS:
        raise ValueError(
            f"fwd={fwd!r} is not an RFC 9211 reason (expected one of {sorted(FWD_REASONS)})"
        )
    if hit and fwd is not None:
        raise ValueError("Cache-Status: hit and fwd are mutually exclusive (RFC 9211 §2.1)")
    parts = [serialize_token_or_string(name)]
    if hit:
        parts.append("hit")
    if fwd is not None:
        parts.append(f"fwd={fwd}")
    if fwd_status is not None:
        parts.append(f"fwd-status={int(fwd_status)}")
    if ttl is not None:
        parts.append(f"ttl={int(ttl)}")
    if stored:
        parts.append("stored")
    if collapsed:
        parts.append("collapsed")
    if key is not None:
        parts.append(f"key={serialize_string(key)}")
    if detail is not None:
        parts.append(f"detail={serialize_token_or_string(detail)}")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """How one request was handled: the metric ``label``, ``x_cache`` and the RFC 9211 fields."""

    label: str
    x_cache: str
    hit: bool = False
    fwd: str | None = None
    fwd_status: int | None = None
    ttl: int | None = None
    stored: bool = False
    collapsed: bool = False
    detail: str | None = None

    def member(self, name: str) -> str:
        """The Cache-Status member for cache ``name`` (e.g. ``cdnlab-fra``)."""
        return cache_status_member(
            name,
            hit=self.hit,
            fwd=self.fwd,
            fwd_status=self.fwd_status,
            ttl=self.ttl,
            stored=self.stored,
            collapsed=self.collapsed,
            detail=self.detail,
        )


def describe(
    decision: Decision,
    outcome: Outcome | None = None,
    *,
    now: float,
    upstream_status: int | None = None,
    served_stale_on_error: bool = False,
    held: bool = False,
    collapsed: bool = False,
) -> CacheStatus:
    """Summarise a handled request.

    ``outcome`` is absorb's result (None for hits, or when upstream failed);
    ``upstream_status`` is the status received upstream (None on timeout/refusal);
    ``served_stale_on_error`` when ``stale_on_error`` supplied the answer; with ``held`` too,
    nothing was forwarded (the upstream is in an error hold, ``cdn.http.error_hold``): a hit,
    with the same ``detail=stale-if-error``; ``collapsed`` when
    this request shared another request's upstream fetch.
    """
    label_collapsed = "collapsed" if collapsed else None
    if isinstance(decision, Hit):
        ttl = int(decision.entry.ttl(now))
        if decision.stale:
            return CacheStatus("stale", "STALE", hit=True, ttl=ttl, detail="max-stale")
        return CacheStatus("hit", "HIT", hit=True, ttl=ttl)
    if isinstance(decision, StaleHit):
        return CacheStatus(
            "stale",
            "STALE",
            hit=True,
            ttl=int(decision.entry.ttl(now)),
            detail="stale-while-revalidate",
        )
    if isinstance(decision, OnlyIfCachedMiss):
        # Nothing was forwarded (RFC 9211 §2.2 fwd means "went forward"): only a detail.
        return CacheStatus("miss", "MISS", detail="only-if-cached")
    if isinstance(decision, Bypass):
        return CacheStatus(
            label_collapsed or "bypass",
            "BYPASS",
            fwd=decision.fwd,
            fwd_status=upstream_status,
            detail=decision.reason,
        )
    if served_stale_on_error and held:
        # Not forwarded (RFC 9211 §2.1 hit: "obtained from the cache"), stale on error.
        return CacheStatus(
            "stale",
            "STALE",
            hit=True,
            ttl=int(_stood_in(decision).ttl(now)),
            detail="stale-if-error",
        )
    if served_stale_on_error:
        return CacheStatus(
            "stale",
            "STALE",
            fwd="stale" if isinstance(decision, Revalidate) else decision.fwd,
            fwd_status=upstream_status,
            collapsed=collapsed,
            detail="stale-if-error",
        )
    assert isinstance(decision, Revalidate | Miss)
    fwd = decision.fwd
    if isinstance(outcome, Freshen):
        return CacheStatus(
            label_collapsed or "revalidated",
            "REVALIDATED",
            fwd=fwd,
            fwd_status=upstream_status,
            ttl=int(outcome.entry.ttl(now)),
            collapsed=collapsed,
        )
    stored = isinstance(outcome, Store)
    detail = outcome.reason if outcome is not None and hasattr(outcome, "reason") else None
    if isinstance(outcome, Refetch):
        detail = "unmatched-304"
    return CacheStatus(
        label_collapsed or "miss",
        "EXPIRED" if isinstance(decision, Revalidate) or decision.stale else "MISS",
        fwd=fwd,
        fwd_status=upstream_status,
        ttl=int(outcome.entry.ttl(now)) if isinstance(outcome, Store) else None,
        stored=stored,
        collapsed=collapsed,
        detail=detail,
    )


def _stood_in(decision: Decision) -> Entry:
    """The stored entry a stale-on-error answer to ``decision`` serves."""
    if isinstance(decision, Revalidate):
        return decision.entry
    assert isinstance(decision, Miss) and decision.stale
    return decision.stale[0]


def stood_in_on_error(cache_status: str | None) -> bool:
    """Did the upstream that sent this Cache-Status field serve a stale copy because *its*
    upstream failed (its own member, the last one, says ``detail=stale-if-error``)?

    RFC 9211 §2: each cache appends its member, so the last member is the nearest upstream's.
    A missing or malformed field says no.
    """
    if not cache_status or "stale-if-error" not in cache_status:
        return False
    members = parse_list(cache_status)
    if not members:
        return False
    return members[-1][1].get("detail") == "stale-if-error"
