"""What one request of a path family carries besides its path: the draw shared by the simulator
(sim.behaviors) and the load generator (loadgen.credentials), so one seed sends the same mix.

Rules: pure; the caller owns the uniform source (``random.Random(draw_seed(seed)).random``) and
calls ``draw_request`` once per request, in request order. The draws, in this order, each only
when it applies (a request that needs none draws nothing):
- a CORS preflight with probability ``preflight_share`` of the family: ``OPTIONS`` with
  ``Origin`` and ``Access-Control-Request-Method: GET`` (``preflight_fields``), as a browser
  sends it before a cross-origin call; nothing else is drawn for it (a preflight carries no API
  key, and the query does not change its answer);
- POST instead of GET with probability ``post_share`` of the family (of the requests that are
  not preflights);
- for a behavior that requires an API key: none with probability ``keyless_share``, else key
  ``i`` of the family's ``api_keys``, uniformly;
- for a behavior with a per-client limit: client ``i`` of the family's ``clients``, uniformly;
- for a family with a ``query`` variant: ``?<name>=<k>``, ``k`` uniform in ``0 .. values - 1``.
The coding a client accepts (``draw_coding``) comes from a ``random.Random`` of its own
(``coding_seed``), one draw per request in request order when the workload's
``accept_encoding`` has more than one coding (none otherwise), so adding codings to a workload
leaves every other draw as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cdn.gateway.behaviors import Behavior
from cdn.topology import WorkloadPath

__all__ = [
    "PREFLIGHT",
    "RequestDraw",
    "coding_seed",
    "draw_coding",
    "draw_request",
    "draw_seed",
    "preflight_fields",
]


class RequestDraw(NamedTuple):
    """A request's draws: method, key index (None: no key), client index, query ("" none)."""

    method: str
    key: int | None
    client: int
    query: str


PLAIN = RequestDraw("GET", None, 0, "")
PREFLIGHT = RequestDraw("OPTIONS", None, 0, "")
# The page a preflight comes from when the behavior allows any origin (or has no CORS at all).
_ANY_ORIGIN = "https://app.cdnlab.example"


def draw_seed(seed: int) -> str:
    """The seed of the draws' ``random.Random`` for a run seeded ``seed``."""
    return f"gateway:{seed}"


def draw_request(
    uniform: Callable[[], float], family: WorkloadPath, keyed: bool, per_client: bool
) -> RequestDraw:
    """One request's draws from ``uniform`` (the module's rules); ``keyed``: its behavior
    requires an API key; ``per_client``: its behavior limits requests per client."""
    if family.preflight_share and uniform() < family.preflight_share:
        return PREFLIGHT
    if not (family.post_share or keyed or per_client or family.query is not None):
        return PLAIN
    method = "POST" if family.post_share and uniform() < family.post_share else "GET"
    key = None
    if keyed and not (family.keyless_share and uniform() < family.keyless_share):
        key = int(uniform() * family.api_keys)
    client = int(uniform() * family.clients) if per_client else 0
    query = ""
    if family.query is not None:
        query = f"{family.query.name}={int(uniform() * family.query.values)}"
    return RequestDraw(method, key, client, query)


def preflight_fields(behavior: Behavior) -> dict[str, str]:
    """The fields of a preflight for ``behavior``'s paths (lower-case names): ``Origin`` (its
    CORS policy's first allowed origin, or a made-up page when it allows any or has no policy)
    and ``Access-Control-Request-Method: GET``."""
    cors = behavior.cors
    origins = [o for o in cors.allow_origins if o != "*"] if cors is not None else []
    origin = origins[0] if origins else _ANY_ORIGIN
    return {"origin": origin, "access-control-request-method": "GET"}


def coding_seed(seed: int) -> str:
    """The seed of the coding draws' ``random.Random`` for a run seeded ``seed``."""
    return f"accept-encoding:{seed}"


def draw_coding(uniform: Callable[[], float], shares: tuple[tuple[str, float], ...]) -> str:
    """The normalised coding one client accepts (``Workload.accept_encoding``'s ``shares``);
    draws from ``uniform`` only when there is more than one coding."""
    if len(shares) == 1:
        return shares[0][0]
    u = uniform()
    for coding, share in shares:
        u -= share
        if u < 0:
            return coding
    return shares[-1][0]
