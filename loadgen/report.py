"""load.json and the CSV files next to it; the schema is documented in docs/load.md.

Rules: the top level lines up with the simulator's report.json (``requests``, ``hit_ratio``,
``byte_hit_ratio``, ``origin``, ``latency_ms``, ``pops``, ``regions``); load-only keys sit beside
them. Raw integer counters and the encoded HDR histograms are stored, so ``from_json`` gives back
exactly what was measured and ``merge_reports`` of shards adds exactly.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdn.reports import rounded
from loadgen.stats import (
    COUNTERS,
    LoadStats,
    Second,
    Tally,
    decode,
    encode,
    latency_ms,
    merged,
    ratio,
)

if TYPE_CHECKING:
    from loadgen.plan import LoadPlan
    from loadgen.schedule import Schedule

SCHEMA = "cdnlab-load/1"
# When schedule lag is worth a word (docs/load.md, "When the generator warns"). Lag below the
# floor is timer granularity; above it, lag matters when it is a share of the latencies measured
# (they include it) or several gaps between requests (the target then sees bursts).
LAG_FLOOR_MS = 1.0
LAG_SHARE_OF_LATENCY = 0.1  # lag p99 over this share of latency p99
LAG_GAPS_BEHIND = 2.0  # lag p99 over this many mean gaps between requests: behind schedule
TIMESERIES_COLUMNS = (
    "second",
    "sent",
    "completed",
    "errors",
    "dropped",
    "p50_ms",
    "p99_ms",
    "hit_ratio",
)
SLICE_COLUMNS = (
    "name",
    "requests",
    "responses",
    "errors",
    "hits",
    "hit_ratio",
    "byte_hit_ratio",
    "bytes",
    "origin_requests",
    "throttled",
    "forbidden",
    "preflight",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "mean_ms",
)


def describe_plan(plan: LoadPlan, schedule: Schedule) -> dict[str, Any]:
    """The plan as report metadata (what was asked, not how the run went)."""
    topology = schedule.topology
    return {
        "topology": topology.source,
        "targets": list(schedule.targets),
        "edge_urls": dict(plan.edge_urls),
        "pops": schedule.pops,
        "rate": schedule.workload.rate,
        "duration": plan.duration,
        "requests": plan.requests,
        "seed": schedule.workload.seed if plan.seed is None else plan.seed,
        "profile": plan.profile,
        "arrival": plan.arrival if plan.trace is None else "trace",
        "objects": schedule.workload.objects,
        "trace": plan.trace,
        "shard": f"{plan.shard[0]}/{plan.shard[1]}",
        "connections": plan.connections,
        "max_in_flight": plan.max_in_flight,
        "timeout": plan.timeout,
        "client": plan.client,
        "new_connections": plan.new_connections,
        "labels": dict(plan.labels),
    }


@dataclass(slots=True)
class LoadReport:
    """What a load run (or merged runs) measured; ``to_json()`` is load.json."""

    stats: LoadStats
    asked_rate: float
    achieved_rate: float
    window: float
    elapsed: float
    plan: dict[str, Any] = field(default_factory=dict)
    shards: list[str] = field(default_factory=list)
    slo: list[dict[str, Any]] = field(default_factory=list)

    # -- derived figures --------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """Requests sent."""
        return self.stats.total.requests

    @property
    def hit_ratio(self) -> float:
        """Responses served by a cache / responses."""
        return ratio(self.stats.total.hits, self.stats.total.responses)

    @property
    def byte_hit_ratio(self) -> float:
        """Body bytes served by a cache / body bytes."""
        return ratio(self.stats.total.hit_bytes, self.stats.total.bytes)

    @property
    def error_ratio(self) -> float:
        """Errors / requests sent."""
        return ratio(self.stats.total.errors, self.stats.total.requests)

    def latency_ms(self) -> dict[str, float]:
        """Latency percentiles from intended start, in ms."""
        return latency_ms(self.stats.total.latency)

    def lag_ms(self) -> dict[str, float]:
        """Schedule lag percentiles (actual start - intended start), in ms."""
        return latency_ms(self.stats.lag)

    def mean_gap_ms(self) -> float:
        """Mean time between scheduled requests of the whole stream, in ms (inf if none)."""
        return 1000.0 / self.asked_rate if self.asked_rate > 0 else float("inf")

    def lag_behind(self) -> bool:
        """True when lag p99 exceeds the floor and LAG_GAPS_BEHIND mean gaps between requests."""
        lag = self.lag_ms()["p99"]
        return lag > LAG_FLOOR_MS and lag > LAG_GAPS_BEHIND * self.mean_gap_ms()

    def lag_in_latency(self) -> bool:
        """True when lag p99 exceeds the floor and LAG_SHARE_OF_LATENCY of latency p99."""
        lag = self.lag_ms()["p99"]
        return lag > LAG_FLOOR_MS and lag > LAG_SHARE_OF_LATENCY * self.latency_ms()["p99"]

    @property
    def behind(self) -> bool:
        """True when the generator fell behind schedule (``lag_behind``) or dropped requests."""
        return self.lag_behind() or self.stats.dropped > 0

    def warnings(self) -> list[str]:
        """Plain sentences about a run whose schedule lag or drops matter to its figures."""
        notes = []
        lag = self.lag_ms()
        latency_p99 = self.latency_ms()["p99"]
        if self.lag_behind():
            gaps = lag["p99"] / self.mean_gap_ms()
            notes.append(
                f"fell behind schedule: requests started {lag['p99']:.1f} ms late at p99 "
                f"(max {lag['max']:.1f} ms), {gaps:.0f} times the mean gap between requests at "
                f"{self.asked_rate:.0f} req/s, so the target saw bursts instead of the asked "
                "arrivals; latencies (from the intended start) include the wait. Send from more "
                "processes (--processes) or machines (--scheduler)"
            )
        elif self.lag_in_latency():
            share = lag["p99"] / latency_p99 if latency_p99 else 1.0
            notes.append(
                f"schedule lag p99 {lag['p99']:.1f} ms is {share:.0%} of the latency p99 "
                f"({latency_p99:.1f} ms): latencies include up to that much time spent in the "
                "load generator before sending (service_ms leaves it out)"
            )
        if self.stats.dropped:
            notes.append(
                f"{self.stats.dropped} requests dropped: max in-flight "
                f"({self.plan.get('max_in_flight', '?')}) reached"
            )
        refused = self.stats.error_kinds.get("connect_refused", 0)
        if refused and self.stats.total.responses == 0:
            pops = ", ".join(self.plan.get("pops", [])) or "the targets"
            notes.append(
                f"nothing answered ({refused} connections refused by {pops}): "
                "is the cluster running (`cdn up`), or are the --target URLs right?"
            )
        return notes

    # -- JSON ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The load.json document (see docs/load.md)."""
        stats = self.stats
        total = stats.total
        histograms: dict[str, Any] = {
            "latency": encode(total.latency),
            "service": encode(stats.service),
            "lag": encode(stats.lag),
            "by_cache_status": {
                k: encode(t.latency) for k, t in sorted(stats.by_cache_status.items())
            },
            "by_path": {k: encode(t.latency) for k, t in sorted(stats.by_path.items())},
            "pops": {k: encode(t.latency) for k, t in sorted(stats.pops.items())},
            "regions": {k: encode(t.latency) for k, t in sorted(stats.regions.items())},
            "locations": {k: encode(t.latency) for k, t in sorted(stats.locations.items())},
            "behaviors": {k: encode(t.latency) for k, t in sorted(stats.behaviors.items())},
        }
        pops = {}
        for name, tally in sorted(stats.pops.items()):
            view = tally.summary()
            view["upstream_requests"] = tally.responses - tally.hits
            pops[name] = view
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "kind": "load",
            "requests": total.requests,
            "responses": total.responses,
            "scheduled": stats.scheduled,
            "dropped": stats.dropped,
            "hits": total.hits,
            "hit_ratio": self.hit_ratio,
            "byte_hit_ratio": self.byte_hit_ratio,
            "bytes": total.bytes,
            "hit_bytes": total.hit_bytes,
            "throttled": total.throttled,
            "forbidden": total.forbidden,
            "throttled_share": ratio(total.throttled, total.requests),
            "forbidden_share": ratio(total.forbidden, total.requests),
            "preflight": total.preflight,
            "preflight_share": ratio(total.preflight, total.requests),
            "origin": {
                "requests": total.origin_requests,
                "bytes": total.origin_bytes,
                "offload": 1.0 - ratio(total.origin_requests, total.responses)
                if total.responses
                else 0.0,
            },
            "latency_ms": self.latency_ms(),
            "service_ms": latency_ms(stats.service),
            "lag_ms": self.lag_ms(),
            "behind": self.behind,
            "warnings": self.warnings(),
            "rate": {"asked": self.asked_rate, "achieved": self.achieved_rate},
            "window_s": self.window,
            "elapsed_s": self.elapsed,
            "errors": {
                "total": total.errors,
                "ratio": self.error_ratio,
                "by_kind": dict(sorted(stats.error_kinds.items())),
            },
            "status_codes": dict(sorted(stats.status_codes.items())),
            "by_cache_status": {k: t.summary() for k, t in sorted(stats.by_cache_status.items())},
            "by_path": {k: t.summary() for k, t in sorted(stats.by_path.items())},
            "pops": pops,
            "regions": {k: t.summary() for k, t in sorted(stats.regions.items())},
            "locations": {k: t.summary() for k, t in sorted(stats.locations.items())},
            "behaviors": {k: t.summary() for k, t in sorted(stats.behaviors.items())},
            "timeseries": [_second_json(i, s) for i, s in enumerate(stats.seconds)],
            "histograms": histograms,
            "plan": self.plan,
            "shards": list(self.shards),
            "slo": list(self.slo),
        }
        return rounded(doc)

    def dumps(self) -> str:
        """load.json text: sorted keys, indented, newline-terminated."""
        return json.dumps(self.to_json(), sort_keys=True, indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], source: str = "load.json") -> LoadReport:
        """The report of a load.json document; ValueError naming ``source`` if it is not one."""
        if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
            raise ValueError(f"{source}: not a cdn load report (expected schema {SCHEMA!r})")
        try:
            return _from_json(doc)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: malformed load report ({exc!r})") from None

    # -- files -----------------------------------------------------------------------------

    def write(self, out: Path, *, plots: bool = True) -> list[Path]:
        """Write load.json, timeseries.csv, pops.csv, regions.csv, behaviors.csv (when the
        topology has behaviors) and PNG plots into ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "load.json", out / "timeseries.csv", out / "pops.csv", out / "regions.csv"]
        slices = [(paths[2], "pops"), (paths[3], "regions")]
        if self.stats.behaviors:
            paths.append(out / "behaviors.csv")
            slices.append((paths[-1], "behaviors"))
        paths[0].write_text(self.dumps(), encoding="utf-8")
        doc = self.to_json()
        with paths[1].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(TIMESERIES_COLUMNS)
            for row in doc["timeseries"]:
                writer.writerow([row[c] for c in TIMESERIES_COLUMNS])
        for path, key in slices:
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(SLICE_COLUMNS)
                for name, view in doc[key].items():
                    row = {**view, "name": name}
                    row.update({f"{k}_ms": v for k, v in view["latency_ms"].items()})
                    writer.writerow([row.get(c, "") for c in SLICE_COLUMNS])
        if plots:
            from loadgen.plots import write_plots

            paths += write_plots(self, out)
        return paths


def _second_json(index: int, second: Second) -> dict[str, Any]:
    histogram = second.histogram()
    view = latency_ms(histogram)
    encoded = encode(histogram) if histogram.get_total_count() else None
    second.seal()
    return {
        "second": index,
        "sent": second.sent,
        "completed": second.completed,
        "errors": second.errors,
        "dropped": second.dropped,
        "hits": second.hits,
        "hit_ratio": ratio(second.hits, second.completed),
        "p50_ms": view["p50"],
        "p99_ms": view["p99"],
        "histogram": encoded,
    }


def _tally(view: Mapping[str, Any], histogram: str | None) -> Tally:
    return Tally.from_parts({k: view.get(k, 0) for k in COUNTERS}, histogram)


def _from_json(doc: Mapping[str, Any]) -> LoadReport:
    hist = doc["histograms"]
    stats = LoadStats(scheduled=int(doc["scheduled"]), dropped=int(doc["dropped"]))
    total_view = {
        "requests": doc["requests"],
        "responses": doc["responses"],
        "errors": doc["errors"]["total"],
        "hits": doc["hits"],
        "bytes": doc["bytes"],
        "hit_bytes": doc["hit_bytes"],
        "origin_requests": doc["origin"]["requests"],
        "origin_bytes": doc["origin"]["bytes"],
        "throttled": doc.get("throttled", 0),
        "forbidden": doc.get("forbidden", 0),
        "preflight": doc.get("preflight", 0),
    }
    stats.total = _tally(total_view, hist["latency"])
    stats.service = decode(hist["service"])
    stats.lag = decode(hist["lag"])
    for key in ("by_cache_status", "by_path", "pops", "regions", "locations", "behaviors"):
        table = getattr(stats, key)
        for name, view in doc.get(key, {}).items():
            table[name] = _tally(view, hist.get(key, {}).get(name))
    stats.error_kinds = {k: int(v) for k, v in doc["errors"]["by_kind"].items()}
    stats.status_codes = {k: int(v) for k, v in doc["status_codes"].items()}
    for row in doc["timeseries"]:
        second = stats.second(int(row["second"]))
        second.sent, second.completed = int(row["sent"]), int(row["completed"])
        second.errors, second.dropped = int(row["errors"]), int(row["dropped"])
        second.hits = int(row["hits"])
        second.latency, second.encoded = None, row.get("histogram")
    for second in stats.seconds:
        second.seal()
    return LoadReport(
        stats=stats,
        asked_rate=float(doc["rate"]["asked"]),
        achieved_rate=float(doc["rate"]["achieved"]),
        window=float(doc["window_s"]),
        elapsed=float(doc["elapsed_s"]),
        plan=dict(doc.get("plan", {})),
        shards=list(doc.get("shards", [])),
        slo=[],
    )


def merge_reports(reports: Iterable[LoadReport]) -> LoadReport:
    """One report for runs that ran side by side (shards): counters and histograms add exactly,
    rates add, the window and elapsed time are the longest."""
    reports = list(reports)
    if not reports:
        raise ValueError("nothing to merge (expected at least one load.json)")
    plan = dict(reports[0].plan)
    plan["shard"] = ",".join(str(r.plan.get("shard", "?")) for r in reports)
    return LoadReport(
        stats=merged(r.stats for r in reports),
        asked_rate=sum(r.asked_rate for r in reports),
        achieved_rate=sum(r.achieved_rate for r in reports),
        window=max(r.window for r in reports),
        elapsed=max(r.elapsed for r in reports),
        plan=plan,
        shards=[s for r in reports for s in r.shards],
    )


def read_report(path: Path) -> LoadReport:
    """The LoadReport in ``path`` (a load.json, or a directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "load.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{path}: no such file (expected a load.json written by cdn load)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    return LoadReport.from_json(doc, str(path))
