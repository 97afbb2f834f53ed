"""The cache room of the pure core: the byte-bounded entry store and the eviction policies.

Rules: pure (no I/O, no clock, no randomness). ``Store`` is what the edge and the simulator use;
``POLICIES`` names every eviction policy it can run.
"""

from cdn.cache.policies import NEEDS_FUTURE, POLICIES, make_policy, next_access_indices
from cdn.cache.store import CacheStats, Storable, Store, slot_of

__all__ = [
    "NEEDS_FUTURE",
    "POLICIES",
    "CacheStats",
    "Storable",
    "Store",
    "make_policy",
    "next_access_indices",
    "slot_of",
]
