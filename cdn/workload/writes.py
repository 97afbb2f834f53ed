"""Origin writes: when objects change at the origin (each write purges the object).

Rules: pure; a Poisson process of ``workload.write_rate`` (storage ``writes_per_second``, plus
an API's ``write_share`` of its calls) over ``[0, duration)``, each write choosing its object by
the same popularity as requests (hot objects change too), from a numpy Generator the caller
seeds. The simulator turns each write into a hard URL purge on every cache, as a storage
origin's change notifications and a table origin's write purges do live (docs/storage.md,
docs/kv.md).
"""

from __future__ import annotations

import numpy as np

from cdn.topology.model import Workload
from cdn.workload.popularity import Popularity

__all__ = ["StorageWrite", "storage_writes"]

StorageWrite = tuple[float, int]  # (time in seconds, object id)


def storage_writes(
    workload: Workload, duration: float, rng: np.random.Generator
) -> list[StorageWrite]:
    """Write times and object ids over ``duration`` seconds (none when the rate is 0)."""
    rate = workload.write_rate
    if rate <= 0 or duration <= 0:
        return []
    count = int(rng.poisson(rate * duration))
    times = np.sort(rng.uniform(0.0, duration, count))
    ids = Popularity(workload).sample(rng, times)
    return [(float(t), int(i)) for t, i in zip(times, ids, strict=True)]
