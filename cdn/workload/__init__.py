"""The workload model shared by the simulator, the load generator and the origin.

Rules: pure; the same workload (and seed) gives the same catalog, popularity, sizes, user
geography and request stream in every process. No clock, no global randomness, no I/O beyond
the city dataset and tz database shipped in packages and the two tables shipped here
(internet_users.csv, traffic_per_user.toml). Rooms:
- catalog: object ids, paths and deterministic sizes (Catalog);
- popularity: Zipf ranks, the seeded rank->id permutation, flash-crowd and drift ids;
- users: weighted user locations with time zones (UserModel);
- internet: Internet users per country, traffic per user, their cities;
- arrivals: the time-ordered request stream, its batches and shards (RequestStream).
docs/workload.md describes the model for users.
"""

from cdn.workload.arrivals import (
    ARRIVALS,
    CHUNK_CANDIDATES,
    RequestBatch,
    RequestStream,
    WorkloadRequest,
    requests,
)
from cdn.workload.catalog import Catalog, object_uniform, size_quantile
from cdn.workload.popularity import Popularity, Zipf
from cdn.workload.users import REFERENCE_INSTANT, UserLocation, UserModel, utc_offset_hours

__all__ = [
    "ARRIVALS",
    "CHUNK_CANDIDATES",
    "REFERENCE_INSTANT",
    "Catalog",
    "Popularity",
    "RequestBatch",
    "RequestStream",
    "UserLocation",
    "UserModel",
    "WorkloadRequest",
    "Zipf",
    "object_uniform",
    "requests",
    "size_quantile",
    "utc_offset_hours",
]
