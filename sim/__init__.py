"""The simulator shell: a SimPy model of a CDN over the pure core (`cdn sim`).

Modules, one job each:
- ``latency``: propagation, connection set-up, transfer time (pure arithmetic).
- ``queueing``: FCFS multi-server queues computed by the Lindley recursion (what a
  ``simpy.Resource`` with exponential service would give, without an event per request).
- ``stats``: streaming statistics (buffered HDR histograms, per-bucket counters).
- ``nodecache``: a body-less cache node driving the core's cache step and store;
  ``origin_headers`` the synthetic origin's answers; ``templates`` caches of the step's output
  for the common fill; ``outcomes`` what happened to a request (IntEnums).
- ``node``: one shield or edge serving a request (queue, peers, collapsing, the node cache).
- ``model``: the geographic model (users, routing, tiers, peers, collapsing, purges).
- ``fastpath``: trace replay through one store, no geography.
- ``report``, ``plots``, ``progress``: report.json/CSV, PNG plots, the rich progress bar.
"""
