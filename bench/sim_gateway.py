"""Simulator speed with behaviors: configs/gateway.toml with and without its gateway, same run.

    .venv/bin/python bench/sim_gateway.py                 # 200,000 requests, best of 3
    .venv/bin/python bench/sim_gateway.py --requests 50000 --repeat 1

Four variants of one topology, each timed in this process, alternating, best of ``--repeat``,
in CPU seconds of this process (the cores are shared; CPU time moves less than wall time):
- "plain": no [[behavior]] tables, no path mix: the simulator has no gateway at all;
- "behaviors": the example's behaviors without their TTL bounds (so the caches do what "plain"
  does) over the single path /static/{id}: every request on a behavior that needs no admission,
  the cost of the matcher and the per-path profile, same figures as "plain";
- "mix": the path mix without behaviors (other objects, other cache rules: /echo/ answers are
  uncacheable, which the cache step pays for whatever the gateway does);
- "mix+behaviors": the example as written (keys, usage plans, query variants, POSTs).
The gateway's own cost is "behaviors" vs "plain" and "mix+behaviors" vs "mix". Prints
requests/s, those ratios and the machine's load average.
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
    single = replace(gateway.workload, paths=())
    unbounded = replace(
        gateway.gateway,
        behaviors=tuple(
            replace(b, min_ttl=0.0, default_ttl=None, max_ttl=None)
            for b in gateway.gateway.behaviors
        ),
    )
    variants = {
        "plain": replace(gateway, gateway=plain_gateway, workload=single),
        "behaviors": replace(gateway, gateway=unbounded, workload=single),
        "mix": replace(gateway, gateway=plain_gateway),
        "mix+behaviors": gateway,
    }
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, topology in variants.items():
            sim = Simulation(topology, SimOptions(requests=args.requests))
            started = time.process_time()
            sim.run()
            rate = args.requests / (time.process_time() - started)
            best[name] = max(best.get(name, 0.0), rate)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"configs/gateway.toml, {args.requests:,} requests, best of {args.repeat} (CPU time)")
    for name, rate in best.items():
        print(f"  {name:14} {rate:>10,.0f} req/s")
    print(f"  behaviors / plain          x{best['behaviors'] / best['plain']:.2f}")
    print(f"  mix+behaviors / mix        x{best['mix+behaviors'] / best['mix']:.2f}")
    print(f"  load average {load} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
