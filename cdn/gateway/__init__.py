"""The API-gateway layer's pure decisions: behaviors, rate limits and quotas, signed URLs.

Rules: like the rest of the core, no I/O, no clock, no global randomness: ``now`` (epoch
seconds) and the client's address are parameters. The edge and the simulator call these.
"""
