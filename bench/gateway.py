"""Gateway hit throughput: 1 KiB hits on a plain behavior, a signed-URL behavior and a keyed,
rate-limited behavior (limits high enough not to bite), through one `cdn edge`, same run.

Usage: .venv/bin/python bench/gateway.py [--duration 5] [--connections 32] [--rounds 3]
       .venv/bin/python bench/gateway.py --instructions 2000 [--rounds 2]

Starts one `cdn origin` and one `cdn edge` from a topology written to a temporary folder with
four behaviors on the origin's /obj/N paths: /obj/1* plain, /obj/2* signed (the demo key group
of configs/keys, URL signed with botocore's CloudFrontSigner), /obj/3* API key + usage plan
(RateLimit fields on 429s only, the default), /obj/4* the same with ``ratelimit_fields =
"always"`` (the fields on every admitted response too); a fifth case sends the API key to the
plain behavior (what parsing the header alone costs).
Each object is warmed, then `wrk` runs each behavior in turn for ``--rounds`` rounds
(interleaved, so other load on the machine falls on all alike). Prints requests/s, p50/p99, the
load average of every run, the edge process's CPU time per request (from /proc: less sensitive
than requests/s to other processes sharing the cores), and the ratios of each case to plain of
both (goal: >= 0.8 for signed and keyed; the others are for comparison).

``--instructions N`` runs the edge under valgrind's callgrind instead and sends N requests per
case, one at a time on one keep-alive connection, rounds interleaved: it prints the edge's
user-space instructions per request (the counters zeroed before and dumped after each case's
requests), which other load on the machine does not change (kernel time is not counted). Slow:
about a minute per 10,000 requests, plus a minute to start the edge under valgrind.

Loopback only; every run is bounded. Speed is printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import glob
import importlib.util
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "configs" / "keys"
API_KEY = "bench-api-key-0123456789abcdef"
FIELDS_KEY = "bench-fields-key-0123456789abcdef"
# --cases names -> the cases' names in the output
CASES = {
    "plain": "plain",
    "signed": "signed URL",
    "keyed": "API key + plan",
    "always": "key, fields always",
    "field": "plain + key field",
}

# bench/edge.py's process, wrk and port helpers (loaded by path: `edge` is also our package).
_spec = importlib.util.spec_from_file_location("bench_edge", ROOT / "bench" / "edge.py")
assert _spec is not None and _spec.loader is not None
bench_edge = importlib.util.module_from_spec(_spec)
sys.modules["bench_edge"] = bench_edge  # its dataclasses look their module up
_spec.loader.exec_module(bench_edge)

TOPOLOGY = """
[origin]
name = "origin"
port = {origin_port}
city = "Ashburn"

[[edge]]
name = "edge-par"
port = {edge_port}
city = "Paris"
upstream = "origin"

[[key_group]]
name = "signers"
keys = [{{ id = "KCDNLABDEMO01", public_key_file = "{keys}/KCDNLABDEMO01.public.pem" }}]

[[usage_plan]]
name = "bench"
throttle = {{ rate_limit = 1e9, burst_limit = 1000000000 }}
quota = {{ limit = 1000000000, period = "DAY" }}

[[usage_plan]]
name = "bench-fields"
ratelimit_fields = "always"
throttle = {{ rate_limit = 1e9, burst_limit = 1000000000 }}
quota = {{ limit = 1000000000, period = "DAY" }}

[[api_key]]
name = "bench"
value = "{api_key}"
usage_plan = "bench"

[[api_key]]
name = "bench-fields"
value = "{fields_key}"
usage_plan = "bench-fields"

[[behavior]]
path_pattern = "/obj/2*"
trusted_key_groups = ["signers"]

[[behavior]]
path_pattern = "/obj/3*"
api_key_required = true
usage_plan = "bench"

[[behavior]]
path_pattern = "/obj/4*"
api_key_required = true
usage_plan = "bench-fields"

[[behavior]]
path_pattern = "*"
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc/PID/stat), 0 without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signed(url: str) -> str:
    """``url`` signed for an hour with the demo key (a canned policy)."""
    private = serialization.load_pem_private_key(
        (KEYS / "KCDNLABDEMO01.private.pem").read_bytes(), None
    )
    signer = CloudFrontSigner(
        "KCDNLABDEMO01", lambda message: private.sign(message, padding.PKCS1v15(), hashes.SHA1())
    )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    return signer.generate_presigned_url(url, date_less_than=expires)


def wrk_with_header(url: str, duration: int, connections: int, header: str | None) -> tuple:
    """bench/edge.py's wrk run, with one request header added (the API key)."""
    if header is None:
        return bench_edge.wrk(url, duration, connections)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    name, _, value = header.partition(": ")
    script.write_text(f'wrk.headers["{name}"] = "{value}"\n')
    try:
        return bench_edge.wrk(url, duration, connections, str(script))
    finally:
        script.unlink()


def send_hits(port: int, target: str, header: str | None, count: int) -> None:
    """``count`` GETs of ``target`` (origin form) one at a time on one keep-alive connection,
    each answer read whole (Content-Length) and required to be a 200."""
    extra = f"{header}\r\n" if header else ""
    request = (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench\r\n{extra}\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        buffer = b""
        for _ in range(count):
            sock.sendall(request)
            while True:
                end = buffer.find(b"\r\n\r\n")
                if end >= 0:
                    length = re.search(rb"\r\nContent-Length: (\d+)", buffer[:end])
                    if length is None or not buffer.startswith(b"HTTP/1.1 200 "):
                        raise RuntimeError(f"{target}: not a 200 with a length: {buffer[:300]!r}")
                    size = end + 4 + int(length.group(1))
                    if len(buffer) >= size:
                        buffer = buffer[size:]
                        break
                data = sock.recv(65536)
                if not data:
                    raise RuntimeError(f"{target}: the edge closed the connection")
                buffer += data


def instructions(pid: int, dumps: str, run: Callable[[], None]) -> int:
    """The user-space instructions process ``pid`` (under callgrind, writing ``dumps``*)
    executes while ``run`` runs: counters zeroed before, dumped after."""
    subprocess.run(["callgrind_control", "-z", str(pid)], capture_output=True, check=True)
    run()
    before = set(glob.glob(dumps + "*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, check=True)
    dump = max(set(glob.glob(dumps + "*")) - before, key=os.path.getmtime)
    total = re.search(r"^(?:summary|totals): (\d+)", Path(dump).read_text(errors="replace"), re.M)
    if total is None:
        raise RuntimeError(f"no instruction total in {dump}")
    return int(total.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3, help="runs per behavior")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated, among {', '.join(CASES)} (plain is always run: the reference)",
    )
    parser.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        help="count the edge's instructions per request over N requests per case (callgrind)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.cases.split(",")) - set(CASES)
    if unknown:
        print(f"--cases: unknown {', '.join(sorted(unknown))} (expected among {', '.join(CASES)})")
        return 2
    chosen = {CASES["plain"]} | {CASES[case] for case in args.cases.split(",")}
    tool = "valgrind" if args.instructions else "wrk"
    if not bench_edge.shutil.which(tool):
        print(f"{tool} is not installed (apt-get install -y {tool})", file=sys.stderr)
        return 2
    if args.instructions is not None and not 1 <= args.instructions <= 100_000:
        print("--instructions: from 1 to 100000 requests per case", file=sys.stderr)
        return 2
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        origin_port, edge_port = bench_edge.free_port(), bench_edge.free_port()
        topology = Path(tmp) / "gateway-bench.toml"
        topology.write_text(
            TOPOLOGY.format(
                origin_port=origin_port,
                edge_port=edge_port,
                keys=KEYS,
                api_key=API_KEY,
                fields_key=FIELDS_KEY,
            )
        )
        cdn = [python, "-m", "cli.main"]
        origin = f"http://127.0.0.1:{origin_port}"
        edge = f"http://127.0.0.1:{edge_port}"
        stack.enter_context(
            bench_edge.process([*cdn, "origin", "--topology", str(topology)], cwd=ROOT)
        )
        bench_edge.wait_http(origin + "/_cdn/health")
        argv_edge = [*cdn, "edge", "--topology", str(topology), "--node", "edge-par"]
        dumps = f"{tmp}/edge.callgrind"
        if args.instructions:
            argv_edge = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={dumps}",
                *argv_edge,
            ]
        edge_pid = stack.enter_context(bench_edge.process(argv_edge, cwd=ROOT)).pid
        bench_edge.wait_http(edge + "/_cdn/health", 600 if args.instructions else 20)
        cases = {
            "plain": (f"{edge}/obj/1024?size=1024", None),
            "signed URL": (signed(f"{edge}/obj/2048?size=1024"), None),
            "API key + plan": (f"{edge}/obj/3072?size=1024", f"x-api-key: {API_KEY}"),
            "key, fields always": (f"{edge}/obj/4096?size=1024", f"x-api-key: {FIELDS_KEY}"),
            "plain + key field": (f"{edge}/obj/1024?size=1024", f"x-api-key: {API_KEY}"),
        }
        cases = {name: case for name, case in cases.items() if name in chosen}
        if args.instructions:
            return count_instructions(cases, edge, edge_pid, dumps, args.instructions, args.rounds)
        for url, header in cases.values():  # warm: a miss, then hits
            for _ in range(3):
                wrk_with_header(url, 1, 1, header)
        results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(1, args.rounds + 1):
            for name, (url, header) in cases.items():
                used = cpu_seconds(edge_pid)
                rps, p50, p99 = wrk_with_header(url, args.duration, args.connections, header)
                used = cpu_seconds(edge_pid) - used
                load = bench_edge.loadavg()
                results[name].append((rps, p50, p99, load))
                per_request = used / max(1.0, rps * args.duration) * 1e6
                cpu[name].append(per_request)
                print(
                    f"  round {round_} {name:<18} {rps:10.0f} req/s  p50 {p50:6.2f} ms"
                    f"  p99 {p99:6.2f} ms  edge CPU {per_request:5.1f} us/req  (loadavg {load:.2f})"
                )
    print(
        f"\n{'behavior':<20}{'best req/s':>12}{'median':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU us/req':>12}"
    )
    best, least = {}, {}
    for name, runs in results.items():
        top = max(runs)
        best[name] = top[0]
        least[name] = statistics.median(cpu[name])
        median = statistics.median(r[0] for r in runs)
        print(
            f"{name:<20}{top[0]:>12.0f}{median:>10.0f}{top[1]:>9.2f}{top[2]:>9.2f}"
            f"{least[name]:>12.1f}"
        )
    print("\nratios (goal >= 0.80): best requests/s, and plain's median edge CPU per request")
    print("over this one's (the throughput ratio of an edge that has a core to itself):")
    for name in [name for name in results if name != "plain"]:
        cpu_ratio = least["plain"] / least[name] if least[name] else float("nan")
        rounds = statistics.median(
            run[0] / plain[0] for run, plain in zip(results[name], results["plain"], strict=True)
        )
        print(
            f"  {name} / plain: {best[name] / best['plain']:.2f}  (CPU: {cpu_ratio:.2f};"
            f" median of the rounds' requests/s ratios: {rounds:.2f})"
        )
    return 0


def count_instructions(
    cases: dict[str, tuple[str, str | None]],
    edge: str,
    pid: int,
    dumps: str,
    count: int,
    rounds: int,
) -> int:
    """``--instructions``: the edge's instructions per request, per case (its best round)."""
    port = int(edge.rsplit(":", 1)[1])
    targets = {name: (url[len(edge) :], header) for name, (url, header) in cases.items()}
    for target, header in targets.values():  # warm: a miss, then hits
        send_hits(port, target, header, 100)
    per_request: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(1, rounds + 1):
        for name, (target, header) in targets.items():
            total = instructions(
                pid, dumps, functools.partial(send_hits, port, target, header, count)
            )
            per_request[name].append(total / count)
            print(f"  round {round_} {name:<18} {total / count:10.0f} instructions/request")
    least = {name: min(values) for name, values in per_request.items()}
    print(f"\n{'behavior':<20}{'instructions/request':>22}{'plain/this':>12}")
    for name, value in least.items():
        print(f"{name:<20}{value:>22.0f}{least['plain'] / value:>12.3f}")
    print(f"\n(loadavg {bench_edge.loadavg():.2f}: not in these figures, which count instructions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
