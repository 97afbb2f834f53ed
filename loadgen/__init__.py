"""The open-loop load generator behind `cdn load` (uvloop; a lean keep-alive client, aiohttp).

Python API (documented in docs/load.md):

    from loadgen import LoadPlan, run_load, run_load_sync, merge_reports, read_report
    report = await run_load(LoadPlan(topology=topo, duration=20.0))   # inside a running loop
    report = run_load_sync(LoadPlan(targets=("http://127.0.0.1:8121",), rate=200, requests=1000))
    report.hit_ratio, report.byte_hit_ratio, report.to_json(), report.write(Path("out"))
    report = run_spread(plan, processes=4)                  # local processes, merged exactly
    report = run_spread(plan, scheduler="tcp://host:8786")  # Dask workers, merged exactly
"""

from loadgen.launch import run_spread
from loadgen.plan import LoadPlan, check_plan, parse_shard
from loadgen.report import LoadReport, merge_reports, read_report
from loadgen.runner import LoadRun, Progress, run_load, run_load_sync
from loadgen.slo import Slo, evaluate, parse_slo

__all__ = [
    "LoadPlan",
    "LoadReport",
    "LoadRun",
    "Progress",
    "Slo",
    "check_plan",
    "evaluate",
    "merge_reports",
    "parse_shard",
    "parse_slo",
    "read_report",
    "run_load",
    "run_load_sync",
    "run_spread",
]
