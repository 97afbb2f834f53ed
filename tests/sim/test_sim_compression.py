"""Compression in the simulator (sim/compression.py): a behavior with ``compress`` stores and
serves compressible objects compressed, one entry per normalised coding, as the live edge does."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cdn.gateway.compression import COMPRESSION_RATIOS
from cdn.topology import load_topology
from cli.main import main
from sim.model import SimOptions, Simulation

SIZE = 10_240  # every object: within CloudFront's bounds (1,000 .. 10,000,000 bytes)

BASE = """
name = "gz"

[origin]
name = "origin"
city = "Ashburn"

{shield}

[[edge]]
name = "edge"
city = "Paris"
cache_size = "64MiB"
upstream = "{upstream}"

[workload]
objects = {objects}
rate = 50
duration = "20s"
seed = 3
path = "/obj/{{id}}"
size = {{ dist = "fixed", value = {size} }}
users = {{ source = "regions", region = [{{ name = "fr", city = "Paris" }}] }}
{accept}

[[workload.paths]]
path = "/obj/{{id}}"
content_type = "{content_type}"

[[cache_rule]]
prefix = "/"
cache_control = "public, max-age=3600"

[[behavior]]
path_pattern = "*"
compress = {compress}
"""

SHIELD = """[[shield]]
name = "shield"
city = "Frankfurt am Main"
cache_size = "64MiB"
"""


def _topology(
    tmp_path: Path,
    *,
    compress: bool = True,
    accept: str = "br = 1.0",
    content_type: str = "text/html; charset=utf-8",
    objects: int = 200,
    size: int = SIZE,
    shield: bool = False,
    name: str = "gz.toml",
):
    text = BASE.format(
        compress=str(compress).lower(),
        accept=f"accept_encoding = {{ {accept} }}" if accept else "",
        content_type=content_type,
        objects=objects,
        size=size,
        shield=SHIELD if shield else "",
        upstream="shield" if shield else "origin",
    )
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_topology(path)


def _run(tmp_path: Path, **kwargs: object) -> dict:
    return Simulation(_topology(tmp_path, **kwargs)).run().report


def _without_compression(report: dict) -> dict:
    for behavior in report.get("behaviors", {}).values():
        behavior.pop("compression", None)
    return report


def test_a_compressing_behavior_serves_the_compressed_size(tmp_path: Path) -> None:
    report = _run(tmp_path)
    served = report["behaviors"]["*"]["served"]
    assert report["bytes"] == served * math.ceil(SIZE * COMPRESSION_RATIOS["br"])


def test_compression_sends_fewer_bytes_than_the_same_run_without_it(tmp_path: Path) -> None:
    on = _run(tmp_path, name="on.toml")
    off = _run(tmp_path, compress=False, name="off.toml")
    assert on["bytes"] < 0.5 * off["bytes"]
    assert on["cost"]["egress"] < off["cost"]["egress"]


def test_the_origin_still_sends_the_identity_bytes(tmp_path: Path) -> None:
    on = _run(tmp_path, name="on.toml")
    off = _run(tmp_path, compress=False, name="off.toml")
    # One coding: one entry per object either way, so the same misses fetch the same bytes.
    assert on["origin"]["requests"] == off["origin"]["requests"]
    assert on["origin"]["bytes"] == off["origin"]["bytes"] == on["origin"]["requests"] * SIZE


def test_the_report_counts_requests_served_compressed_and_bytes_saved(tmp_path: Path) -> None:
    report = _run(tmp_path)
    behavior = report["behaviors"]["*"]
    compression = behavior["compression"]
    assert compression["requests"] == behavior["served"]
    assert compression["share"] == 1.0
    smaller = math.ceil(SIZE * COMPRESSION_RATIOS["br"])
    assert compression["bytes_saved"] == behavior["served"] * (SIZE - smaller)
    assert compression["saved_share"] == pytest.approx(1 - smaller / SIZE, abs=1e-6)


def test_two_codings_of_one_object_are_two_cache_entries(tmp_path: Path) -> None:
    simulation = Simulation(_topology(tmp_path, accept="br = 0.5, gzip = 0.5", objects=1))
    report = simulation.run().report
    assert report["origin"]["requests"] == 2  # one miss per coding, then hits
    assert len(simulation.nodes["edge"].cache.store) == 2


def test_identity_clients_get_an_entry_of_their_own_and_the_whole_size(tmp_path: Path) -> None:
    simulation = Simulation(_topology(tmp_path, accept="br = 0.5, identity = 0.5", objects=1))
    report = simulation.run().report
    assert report["origin"]["requests"] == 2
    compression = report["behaviors"]["*"]["compression"]
    assert 0.3 < compression["share"] < 0.7
    compressed = math.ceil(SIZE * COMPRESSION_RATIOS["br"])
    served = report["behaviors"]["*"]["served"]
    assert (
        report["bytes"]
        == compression["requests"] * compressed + (served - compression["requests"]) * SIZE
    )


def test_the_family_ratio_overrides_the_default(tmp_path: Path) -> None:
    topology = _topology(tmp_path)
    text = (
        Path(topology.source)
        .read_text(encoding="utf-8")
        .replace('content_type = "', 'compression_ratio = { br = 0.5 }\ncontent_type = "')
    )
    Path(topology.source).write_text(text, encoding="utf-8")
    report = Simulation(load_topology(topology.source)).run().report
    assert report["bytes"] == report["behaviors"]["*"]["served"] * SIZE // 2


def test_a_shield_keeps_and_sends_the_identity_body(tmp_path: Path) -> None:
    simulation = Simulation(_topology(tmp_path, accept="br = 0.5, gzip = 0.5", shield=True))
    report = simulation.run().report
    shield = simulation.nodes["shield"]
    assert all(entry.size == SIZE for entry in shield.cache.store.entries())
    assert report["pops"]["edge"]["upstream_bytes"] == shield.bytes
    assert shield.bytes % SIZE == 0


def test_compress_off_leaves_the_report_as_it_was(tmp_path: Path) -> None:
    mixed = _run(tmp_path, compress=False, accept="br = 0.7, gzip = 0.3", name="a.toml")
    plain = _run(tmp_path, compress=False, accept="", name="b.toml")
    assert "compression" not in mixed["behaviors"]["*"]
    assert mixed == plain


def test_an_incompressible_type_is_served_whole(tmp_path: Path) -> None:
    on = _run(tmp_path, content_type="application/octet-stream", name="a.toml")
    off = _run(tmp_path, compress=False, content_type="application/octet-stream", name="b.toml")
    assert on["behaviors"]["*"]["compression"]["requests"] == 0
    assert _without_compression(on) == off


def test_objects_below_the_minimum_size_are_served_whole(tmp_path: Path) -> None:
    on = _run(tmp_path, size=999, name="a.toml")
    off = _run(tmp_path, compress=False, size=999, name="b.toml")
    assert _without_compression(on) == off


def test_the_gateway_example_compresses_its_text_family_only(tmp_path: Path) -> None:
    """configs/gateway.toml compresses /static* and /echo*: its static family is text/css (the
    synthetic origin serves it as text), its API family octets; viewers accept br and gzip."""
    example = Path(__file__).resolve().parents[2] / "configs" / "gateway.toml"
    report = Simulation(load_topology(example), SimOptions(requests=3000, seed=3)).run().report
    static = report["behaviors"]["/static/*"]["compression"]
    assert static["share"] > 0.9  # 95% of viewers accept a coding; a few bodies are < 1,000 B
    assert 0.5 < static["saved_share"] < 0.65  # 1 - about 0.4 of the identity bytes
    assert report["behaviors"]["/echo*"]["compression"]["requests"] == 0


def test_cdn_sim_prints_the_bytes_saved_per_behavior(tmp_path: Path, capsys) -> None:
    topology = _topology(tmp_path)
    assert main(["sim", topology.source, "--requests", "500", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "saved" in out and "61.00%" in out  # 1 - 3994 / 10240, the br ratio rounded up


def test_cdn_sim_prints_no_saved_column_without_compressed_requests(tmp_path: Path, capsys) -> None:
    topology = _topology(tmp_path, content_type="application/octet-stream")
    assert main(["sim", topology.source, "--requests", "500", "--quiet"]) == 0
    assert "saved" not in capsys.readouterr().out


def test_identity_only_clients_get_the_figures_of_compression_off(tmp_path: Path) -> None:
    on = _run(tmp_path, accept="identity = 1.0", name="a.toml")
    off = _run(tmp_path, compress=False, accept="identity = 1.0", name="b.toml")
    assert on["behaviors"]["*"]["compression"]["requests"] == 0
    assert _without_compression(on) == off
