"""What one request of a path family carries besides its path: the draw shared by the simulator
(sim.behaviors) and the load generator (loadgen.credentials), so one seed sends the same mix.

Rules: pure; the caller owns the uniform source (``random.Random(draw_seed(seed)).random``) and
calls ``draw_request`` once per request, in request order. The draws, in this order, each only
when it applies (a request that needs none draws nothing):
- POST instead of GET with probability ``post_share`` of the family;
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

from cdn.topology import WorkloadPath

__all__ = ["RequestDraw", "coding_seed", "draw_coding", "draw_request", "draw_seed"]


class RequestDraw(NamedTuple):
    """A request's draws: method, key index (None: no key), client index, query ("" none)."""

    method: str
    key: int | None
    client: int
    query: str


PLAIN = RequestDraw("GET", None, 0, "")


def draw_seed(seed: int) -> str:
    """The seed of the draws' ``random.Random`` for a run seeded ``seed``."""
    return f"gateway:{seed}"


def draw_request(
    uniform: Callable[[], float], family: WorkloadPath, keyed: bool, per_client: bool
) -> RequestDraw:
    """One request's draws from ``uniform`` (the module's rules); ``keyed``: its behavior
    requires an API key; ``per_client``: its behavior limits requests per client."""
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
