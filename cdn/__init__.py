"""cdnlab's pure core: caching semantics, store, policies, ring, geography, workloads, topology.

Rules for every module below this package (tests/core/test_purity.py enforces them):
- no network and no servers: no asyncio, aiohttp, uvloop, simpy, prometheus_client, socket;
- no clock: ``now`` is always a parameter;
- no global randomness: ``rng`` (random.Random or numpy Generator) is always a parameter;
- files only when the caller hands in a path or stream (topology files, traces).
Bodies never enter the core: a response is its status, headers and size.
"""
