"""`cdn demo`: run the embedded default live and in the simulator, and compare the two.

Modules, one job each:
- ``scrape``: read a running cluster's counters (edges' /_cdn/metrics, the origin's /_cdn/stats)
  and subtract two readings.
- ``compare``: the measured and predicted figures under one hit definition, their difference,
  and compare.json.
- ``table``: the side-by-side rich table.
- ``plot``: the comparison PNG (grouped bars, measured vs predicted, per edge).
- ``run``: the whole demo: start the cluster, load it, simulate, stop, compare, write files.
"""
