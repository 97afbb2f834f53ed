"""Fetch one URL from the edge nearest to a place, the way a user there would.

    cdn get /obj/42 --from Tokyo              # nearest edge of the running cdn up cluster
    cdn get /obj/42 --from 35.68,139.69 -v    # lat,lon; -v prints every response header
    cdn get /obj/42 --from Paris --topology configs/local.toml --edge-url edge-par=http://...

The edge is chosen by great-circle distance from the place to each edge of the topology (the same
nearest-PoP routing the simulator and `cdn load` use); the request carries
`X-Client-Location: lat,lon`. Node URLs come from the run-state file of a running `cdn up` when
there is one, else from the topology file. Prints the chosen edge, its distance, the status and
the cache headers (Cache-Status, X-Cache, Age, Via), the body size and the time taken.
"""

from __future__ import annotations

import argparse
import time
import urllib.error
import urllib.request

from cdn.cities import find_city
from cdn.geo import Point, distance_km, parse_point
from cdn.topology import Node, default_topology_path, load_topology
from cli.argtypes import topology_file
from cli.errors import UserError
from cluster.state import running_state

NAME = "get"
HELP = "fetch one URL from the edge nearest to a city or lat,lon (shows cache headers)"
SHOWN = ("Cache-Status", "X-Cache", "Age", "Via", "Cache-Control", "Content-Length", "ETag")


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn get`."""
    parser.add_argument("path", help="path (and query) to fetch, e.g. /obj/42")
    parser.add_argument(
        "--from", dest="place", required=True, help="a city ('Tokyo', 'London, GB') or 'lat,lon'"
    )
    parser.add_argument(
        "--topology",
        type=topology_file,
        default=None,
        help="topology file or built-in name (default: local, i.e. configs/local.toml)",
    )
    parser.add_argument(
        "--edge-url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="override an edge's URL (repeatable)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every header")


def _place(text: str) -> Point:
    if "," in text:
        try:
            return parse_point(text)
        except ValueError:
            pass  # "London, GB" is a city with a country, not a point
    try:
        return find_city(text).point
    except KeyError as exc:
        raise UserError(f"--from: {exc.args[0]}") from None


def _edge_urls(edges: tuple[Node, ...], topology_name: str, overrides: list[str]) -> dict[str, str]:
    urls = {edge.name: edge.url for edge in edges}
    state = running_state(topology_name)
    if state is not None:
        urls.update({node.name: node.url for node in state.nodes if node.name in urls})
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or name not in urls or not url.startswith(("http://", "https://")):
            known = ", ".join(sorted(urls))
            raise UserError(
                f"--edge-url {item!r}: expected NAME=http://HOST:PORT, NAME one of {known}"
            )
        urls[name] = url
    return urls


def run(args: argparse.Namespace) -> int:
    """Fetch ``args.path`` from the nearest edge and print what came back."""
    if not args.path.startswith("/"):
        raise UserError(f"path {args.path!r} must start with / (e.g. /obj/42)")
    topology = load_topology(args.topology or default_topology_path())
    place = _place(args.place)
    urls = _edge_urls(topology.edges, topology.name, args.edge_url)
    edge = min(topology.edges, key=lambda e: distance_km(place, e.location.point))
    km = distance_km(place, edge.location.point)
    url = urls[edge.name].rstrip("/") + args.path
    print(
        f"from {args.place} ({place.lat:.2f},{place.lon:.2f}) -> {edge.name} in "
        f"{edge.location.label}, {km:,.0f} km away: GET {url}"
    )
    request = urllib.request.Request(
        url, headers={"X-Client-Location": f"{place.lat:.4f},{place.lon:.4f}"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, exc.headers, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"{edge.name} at {urls[edge.name]} did not answer: {reason} (is `cdn up` running?)"
        ) from None
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"HTTP {status}, {len(body):,} bytes in {elapsed_ms:.1f} ms")
    for name, value in headers.items() if args.verbose else ((n, headers.get(n)) for n in SHOWN):
        if value is not None:
            print(f"  {name}: {value}")
    return 0 if status < 400 else 1
