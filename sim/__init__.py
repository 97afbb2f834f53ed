"""The simulator shell: a SimPy model of a CDN over the pure core (`cdn sim`).

Modules, one job each:
- ``latency``: propagation, connection set-up, transfer time (pure arithmetic).
- ``queueing``: FCFS multi-server queues computed by the Lindley recursion (what a
  ``simpy.Resource`` with exponential service would give, without an event per request).
- ``stats``: streaming statistics (buffered HDR histograms, per-bucket counters).
- ``httpcache``: a body-less cache node driving the core decide/absorb and store.
- ``model``: the geographic model (users, routing, tiers, peers, collapsing, purges).
- ``fastpath``: trace replay through one store, no geography.
- ``report``, ``plots``, ``progress``: report.json/CSV, PNG plots, the rich progress bar.
"""
