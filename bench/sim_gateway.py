"""Simulator speed with behaviors: configs/gateway.toml with and without its gateway, same run.

    .venv/bin/python bench/sim_gateway.py                 # 200,000 requests, best of 3
    .venv/bin/python bench/sim_gateway.py --requests 50000 --repeat 1

Three variants of one topology, each timed in this process, alternating, best of ``--repeat``:
"plain" (no [[behavior]] tables, no path mix: the simulator has no gateway at all), "paths"
(the path mix only: behaviors absent, each family's cache rule), "gateway" (the example as
written: behaviors, keys, usage plans, query variants). Prints requests/s, the ratios to plain
and the machine's load average (the cores are shared: compare ratios, not absolute figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Run the three variants and print their speeds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from cdn.gateway.behaviors import default_gateway
    from cdn.topology import load_topology
    from sim.model import SimOptions, Simulation

    gateway = load_topology(ROOT / "configs" / "gateway.toml")
    plain_gateway = default_gateway(gateway.origin.name)
    variants = {
        "plain": replace(
            gateway, gateway=plain_gateway, workload=replace(gateway.workload, paths=())
        ),
        "paths": replace(gateway, gateway=plain_gateway),
        "gateway": gateway,
    }
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, topology in variants.items():
            sim = Simulation(topology, SimOptions(requests=args.requests))
            started = time.perf_counter()
            sim.run()
            rate = args.requests / (time.perf_counter() - started)
            best[name] = max(best.get(name, 0.0), rate)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"configs/gateway.toml, {args.requests:,} requests, best of {args.repeat}")
    for name, rate in best.items():
        print(f"  {name:8} {rate:>10,.0f} req/s   x{rate / best['plain']:.2f} of plain")
    print(f"  load average {load} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
