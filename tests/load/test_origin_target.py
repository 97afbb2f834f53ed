"""`cdn load` against the real origin: bodies have the catalog's sizes, no cache status is read."""

from __future__ import annotations

from load_apps import ServerThread

from cdn.topology import default_topology_path, load_topology
from cdn.workload.catalog import Catalog
from loadgen import LoadPlan, run_load_sync
from loadgen.schedule import Schedule
from origin.app import create_app
from origin.settings import OriginSettings


def test_bytes_received_are_the_catalog_sizes_of_the_objects_sent() -> None:
    topology = load_topology(default_topology_path())
    settings = OriginSettings.from_topology(topology, host="127.0.0.1", port=0)
    server = ServerThread(create_app(settings))
    served = server.start()
    try:
        plan = LoadPlan(topology=topology, targets=(served.url,), rate=300, requests=150)
        report = run_load_sync(plan)
    finally:
        server.stop()
    schedule = Schedule(plan)
    catalog = Catalog(topology.workload)
    ids = [
        int(schedule.resolve(b, k)[1].rsplit("/", 1)[1])
        for b in schedule.batches()
        for k in range(len(b))
    ]
    assert report.stats.total.errors == 0
    assert report.stats.total.responses == 150
    assert report.stats.total.bytes == sum(catalog.size_of(i) for i in ids)
    assert set(report.stats.by_cache_status) == {"unknown"}
    assert report.hit_ratio == 0.0
