"""Capacity planning (`cdn plan`): sweep a topology through the simulator against SLOs.

Modules, one job each:
- ``planfile``: the plan file model and its validation (load_plan).
- ``points``: sweep expansion, topology variants, stable point ids.
- ``simulate``: the adapter to sim/ (simulate(topology, options) -> report) and metrics/costs.
- ``runner``: the per-point disk cache, local process pool or Dask cluster.
- ``recommend``: SLO verdicts, the recommendation and runner-up, the Pareto frontier.
- ``plan``: run_plan, the one entry point tying them together.
- ``output``, ``plots``, ``console``: plan.json/CSV, PNGs, rich tables.
- ``mrc``: hit-ratio curves for `cdn plan --mrc`.
"""
