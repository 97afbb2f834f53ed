"""The cyclic garbage collector, deferred while a simulation runs.

Rules: a run keeps millions of long-lived container objects (stored entries, queues) and makes
almost no reference cycles (a few hundred cyclic objects per million requests on
configs/world.toml), yet CPython's generational collector re-traverses the long-lived objects on
its older-generation passes: a quarter of a world run's time. While ``deferred()`` is active the
automatic collector is off; the run calls ``collect_young()`` every ``YOUNG_EVERY`` batches (a
batch is one stream chunk, ~38k requests on world.toml), which examines only the objects
allocated since its previous call, so a cycle made during the run is still reclaimed and memory
stays bounded by what the run keeps alive (each young collection costs about as much as the
batch it examines: every batch would cost 6% of the run). On exit the run's survivors go to the
oldest generation without a traversal, and the collector's previous state is restored.
Collection order never affects results: nothing in the simulator has a finalizer or a weak
reference.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_EVERY = 64  # batches between two collections of the objects allocated in between


@contextmanager
def deferred() -> Iterator[None]:
    """Turn the automatic cyclic collector off for the block, then restore its state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            # Promote the survivors to the oldest generation unexamined (a freeze and unfreeze
            # moves every object there): otherwise the first collection after the run would
            # traverse them all at once. Skipped if someone else froze objects.
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def collect_young() -> None:
    """Collect cycles among the objects allocated since the previous call (generation 0)."""
    gc.collect(0)
