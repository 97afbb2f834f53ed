"""How one cache applies RFC 9111: shared or private, heuristics, CDN overrides.

Rules: a frozen value, validated at construction (bad values raise ValueError naming the
field and what is expected). Defaults are plain RFC 9111 behaviour for a shared cache: no
negative caching beyond what the response says, no stale serving beyond its directives.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from cdn.http.cache_control import DEFAULT_TARGETED_FIELDS

__all__ = ["CacheConfig", "TtlBounds"]


class _FrozenMap(Mapping[int, float]):
    """A read-only, hashable status -> seconds mapping (so CacheConfig stays hashable)."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: Mapping[int, float]) -> None:
        self._map = MappingProxyType({int(k): float(v) for k, v in items.items()})
        self._items = tuple(sorted(self._map.items()))

    def __getitem__(self, status: int) -> float:
        return self._map[status]

    def __iter__(self) -> Iterator[int]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._map) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(dict(self._map))


@dataclass(frozen=True, slots=True)
class TtlBounds:
    """A CDN's bounds on the origin's freshness (CloudFront's cache policy TTLs).

    The lifetime RFC 9111 gives is clamped to [``min_ttl``, ``max_ttl``]; when the origin
    states none (no s-maxage, max-age or Expires), ``default_ttl`` is the lifetime, and
    without it the negative TTL or the heuristic lifetime, clamped likewise.
    """

    min_ttl: float = 0.0
    default_ttl: float | None = None
    max_ttl: float | None = None

    def __post_init__(self) -> None:
        if self.min_ttl < 0:
            raise ValueError(f"min_ttl {self.min_ttl!r} is negative (expected seconds >= 0)")
        if self.max_ttl is not None and self.max_ttl < self.min_ttl:
            raise ValueError(f"max_ttl {self.max_ttl!r} < min_ttl {self.min_ttl!r}")
        if self.default_ttl is not None and not (
            self.min_ttl
            <= self.default_ttl
            <= (self.max_ttl if self.max_ttl is not None else self.default_ttl)
        ):
            raise ValueError(
                f"default_ttl {self.default_ttl!r} is outside [min_ttl, max_ttl] "
                f"= [{self.min_ttl!r}, {self.max_ttl!r}]"
            )

    def bound(self, lifetime: float) -> float:
        """``lifetime`` clamped to [min_ttl, max_ttl]."""
        lifetime = max(lifetime, self.min_ttl)
        if self.max_ttl is not None:
            lifetime = min(lifetime, self.max_ttl)
        return lifetime


def _no_negative_ttl() -> Mapping[int, float]:
    return _FrozenMap({})


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """Caching behaviour of one node (edge or shield).

    - ``shared``: a shared cache (RFC 9111 §1): honours s-maxage, refuses ``private``, applies
      the §3.5 Authorization rule. cdnlab's nodes are all shared caches.
    - ``store_set_cookie``: store responses carrying Set-Cookie; the Set-Cookie field itself is
      still stripped from the stored copy (it belongs to one client). Default False: such
      responses are passed.
    - ``heuristic_fraction`` / ``heuristic_max_seconds``: §4.2.2 heuristic lifetime =
      fraction x (Date - Last-Modified), capped.
    - ``targeted_fields``: RFC 9213 field names, first valid wins over Cache-Control.
    - ``negative_ttl``: status -> seconds of freshness for responses of that status that carry
      no explicit expiration (e.g. ``{404: 10}``). It replaces the §4.2.2 heuristic for those
      statuses and makes them storable. Default empty: pure RFC behaviour.
    - ``stale_if_error_seconds``: serve a stale entry this long past its lifetime when the
      upstream fails, even without ``stale-if-error`` (RFC 5861 §4 as a local policy).
    - ``stale_while_revalidate_seconds``: likewise for ``stale-while-revalidate``.
      Neither override applies when the response says must-revalidate, proxy-revalidate,
      s-maxage or no-cache (RFC 9111 §4.2.4).
    - ``hit_for_pass_seconds``: how long a shell should remember that a URL came back
      uncacheable, so it stops collapsing requests for it (Varnish's hit-for-pass).
    - ``cache_name``: the Cache-Status member name prefix (the shell appends "-<node>").
    - ``ttl_bounds``: a CDN's min/default/max TTL around the origin's freshness (``TtlBounds``;
      a gateway behavior's cache policy). None: the origin's freshness as RFC 9111 gives it.
      A shell with several behaviors gives each request its behavior's config.
    """

    shared: bool = True
    store_set_cookie: bool = False
    heuristic_fraction: float = 0.1
    heuristic_max_seconds: float = 86400.0
    targeted_fields: tuple[str, ...] = DEFAULT_TARGETED_FIELDS
    negative_ttl: Mapping[int, float] = field(default_factory=_no_negative_ttl)
    stale_if_error_seconds: float = 0.0
    stale_while_revalidate_seconds: float = 0.0
    hit_for_pass_seconds: float = 30.0
    cache_name: str = "cdnlab"
    ttl_bounds: TtlBounds | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.heuristic_fraction <= 1.0:
            raise ValueError(
                f"heuristic_fraction {self.heuristic_fraction!r} out of range (expected 0..1)"
            )
        for name in (
            "heuristic_max_seconds",
            "stale_if_error_seconds",
            "stale_while_revalidate_seconds",
            "hit_for_pass_seconds",
        ):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} {value!r} is negative (expected seconds >= 0)")
        for status, seconds in self.negative_ttl.items():
            if not 100 <= int(status) <= 599 or seconds < 0:
                raise ValueError(
                    f"negative_ttl {status!r}: {seconds!r} (expected status 100-599: seconds >= 0)"
                )
        object.__setattr__(
            self, "targeted_fields", tuple(name.lower() for name in self.targeted_fields)
        )
        if not isinstance(self.negative_ttl, _FrozenMap):
            object.__setattr__(self, "negative_ttl", _FrozenMap(self.negative_ttl))


# Statuses a node's negative TTL covers when the upstream sends no freshness (nginx, Varnish and
# CloudFront all cache "not found" briefly by default; 410 is the permanent form of 404).
NEGATIVE_STATUSES: tuple[int, ...] = (404, 410)


def node_cache_config(
    *,
    negative_ttl: float,
    stale_if_error: float,
    stale_while_revalidate: float,
    hit_for_pass: float = 30.0,
    base: CacheConfig | None = None,
) -> CacheConfig:
    """The CacheConfig of an edge or shield from its knobs (topology [edge_defaults] or flags).

    The live edge and the simulator both call this, so their caches follow the same policy.
    """
    return replace(
        base or CacheConfig(),
        negative_ttl={status: negative_ttl for status in NEGATIVE_STATUSES}
        if negative_ttl > 0
        else {},
        stale_if_error_seconds=stale_if_error,
        stale_while_revalidate_seconds=stale_while_revalidate,
        hit_for_pass_seconds=hit_for_pass,
    )
