"""cdn kv against moto's DynamoDB server: GetItem and PutItem requests/s, same run, as ratios.

Usage: .venv/bin/python bench/kv.py [--duration 5] [--connections 16] [--rounds 3]
       [--items 1000] [--json out.json]

Starts `cdn kv` (a fresh SQLite file, synchronous=NORMAL) and `moto_server` (moto[server], a
test dependency) on loopback, creates the same table in both (HASH key ``id``, S) and fills
it with ``--items`` items of about 200 bytes. Then ``--rounds`` rounds each run `wrk` once per
server and operation, servers interleaved so load from other processes on the machine falls
on both alike: GetItem of a random existing key, PutItem of a random key (overwrites). The
requests are unsigned JSON (neither server is given keys). Reported per server and operation:
the best round's requests/s, the median round's, the server's CPU time per request (user +
system, from /proc: what the load of other processes does not change much), the non-2xx
answers, the load average at each run; then cdn kv / moto ratios of the best rounds (goals:
>= 10x GetItem, >= 5x PutItem) and of CPU per request.
Needs wrk (apt-get install -y wrk). Loopback only; every run is bounded. Speed is printed,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TABLE = "bench"
OPERATIONS = ("GetItem", "PutItem")
GOALS = {"GetItem": 10.0, "PutItem": 5.0}

LUA = """
math.randomseed(%(seed)d)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "DynamoDB_20120810.%(operation)s"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
local payload = string.rep("x", 160)
request = function()
  local key = "item-" .. math.random(0, %(items)d - 1)
  local body
  if "%(operation)s" == "GetItem" then
    body = '{"TableName":"%(table)s","Key":{"id":{"S":"' .. key .. '"}}}'
  else
    body = '{"TableName":"%(table)s","Item":{"id":{"S":"' .. key .. '"},"n":{"N":"' .. math.random(1, 1000000) .. '"},"payload":{"S":"' .. payload .. '"}}}'
  end
  return wrk.format(nil, "/", nil, body)
end
"""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:g}s")


def fill(url: str, items: int) -> None:
    """Create the table and write ``items`` items through boto3."""
    import boto3
    from botocore.config import Config

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 0}),
    )
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, items, 25):
        ddb.batch_write_item(
            RequestItems={
                TABLE: [
                    {
                        "PutRequest": {
                            "Item": {
                                "id": {"S": f"item-{i}"},
                                "n": {"N": str(i)},
                                "payload": {"S": "x" * 160},
                            }
                        }
                    }
                    for i in range(start, min(start + 25, items))
                ]
            }
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (and its threads) used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, script: Path, duration: float, connections: int) -> tuple[float, int, int]:
    """(requests/s, non-2xx answers, requests) of one bounded wrk run."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, int(bad.group(1)) if bad else 0, total


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds per wrk run (default 5)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, servers interleaved (default 3)"
    )
    parser.add_argument("--items", type=int, default=1000, help="items in the table (default 1000)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/kv.py needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    moto_binary = shutil.which("moto_server") or str(Path(PYTHON).parent / "moto_server")
    work = Path(tempfile.mkdtemp(prefix="kv-bench-"))
    kv_port, moto_port = free_port(), free_port()
    servers = {
        "cdn kv": (
            [
                PYTHON,
                "-m",
                "cli.main",
                "kv",
                "--data",
                str(work / "bench.sqlite"),
                "--port",
                str(kv_port),
            ],
            f"http://127.0.0.1:{kv_port}",
        ),
        "moto": (
            [moto_binary, "-H", "127.0.0.1", "-p", str(moto_port)],
            f"http://127.0.0.1:{moto_port}",
        ),
    }
    processes = []
    results: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {op: [] for op in OPERATIONS} for name in servers
    }
    try:
        for argv, url in servers.values():
            process = subprocess.Popen(
                argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            processes.append(process)
            wait_answering(url + "/", process)
            fill(url, args.items)
        scripts = {}
        for op in OPERATIONS:
            scripts[op] = work / f"{op}.lua"
            scripts[op].write_text(
                LUA % {"seed": 7, "operation": op, "items": args.items, "table": TABLE}
            )
        for round_index in range(args.rounds):
            for op in OPERATIONS:
                for (name, (_, url)), process in zip(servers.items(), processes, strict=True):
                    load = os.getloadavg()[0]
                    cpu_before = cpu_seconds(process.pid)
                    rps, bad, total = run_wrk(url, scripts[op], args.duration, args.connections)
                    cpu_us = (cpu_seconds(process.pid) - cpu_before) / max(total, 1) * 1e6
                    results[name][op].append(
                        {"rps": rps, "non_2xx": bad, "load1": load, "cpu_us_per_request": cpu_us}
                    )
                    print(
                        f"round {round_index + 1} {name:7} {op:8} {rps:9.0f} req/s"
                        f"  {cpu_us:7.0f} CPU us/req  non-2xx {bad:5}  load {load:.2f}",
                        flush=True,
                    )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{'server':8} {'operation':9} {'best req/s':>11} {'median':>9} {'CPU us/req':>11} {'non-2xx':>8}"
    )
    summary: dict[str, dict[str, float]] = {}
    cpu_summary: dict[str, dict[str, float]] = {}
    for name in servers:
        for op in OPERATIONS:
            runs = results[name][op]
            best = max(r["rps"] for r in runs)
            median = statistics.median(r["rps"] for r in runs)
            cpu = min(r["cpu_us_per_request"] for r in runs)
            summary.setdefault(name, {})[op] = best
            cpu_summary.setdefault(name, {})[op] = cpu
            print(
                f"{name:8} {op:9} {best:11.0f} {median:9.0f} {cpu:11.0f}"
                f" {sum(r['non_2xx'] for r in runs):8.0f}"
            )
    print()
    ratios = {}
    for op in OPERATIONS:
        ratio = summary["cdn kv"][op] / summary["moto"][op]
        ratios[op] = ratio
        verdict = "meets" if ratio >= GOALS[op] else "below"
        cpu_ratio = cpu_summary["moto"][op] / cpu_summary["cdn kv"][op]
        print(
            f"{op}: cdn kv / moto = {ratio:.1f}x requests/s ({verdict} the {GOALS[op]:g}x goal);"
            f" {cpu_ratio:.1f}x less server CPU per request"
        )
    print(
        f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "runs": results,
                    "best": summary,
                    "cpu_us_per_request": cpu_summary,
                    "ratios": ratios,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
