"""Helpers of the simulator tests: small scenarios written to a directory, the sample traces."""

from __future__ import annotations

from pathlib import Path

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces"

SMALL_SCENARIO = """
name = "small"

[origin]
name = "origin"
city = "Ashburn"
capacity_rps = 5000

[[shield]]
name = "shield-fra"
port = 8110
city = "Frankfurt am Main"
cache_size = "8MiB"

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"
cache_size = "1MiB"
upstream = "shield-fra"
group = "eu"

[[edge]]
name = "edge-lon"
port = 8122
city = "London"
cache_size = "1MiB"
upstream = "shield-fra"
group = "eu"

[[edge]]
name = "edge-nyc"
port = 8123
city = "New York City"
cache_size = "1MiB"
upstream = "origin"

[workload]
objects = 2000
zipf_alpha = 0.9
rate = 200
duration = "60s"
seed = 3
size = {{ dist = "lognormal", median = "4KiB", sigma = 1.0, max = "256KiB" }}

[workload.users]
source = "regions"
region = [
  {{ name = "Paris", city = "Paris", weight = 2 }},
  {{ name = "London", city = "London", weight = 2 }},
  {{ name = "New York", city = "New York City", weight = 1 }},
]

[network]
new_connection_share = 0.3

[[cache_rule]]
prefix = "/obj/"
cache_control = "{cache_control}"
surrogate_keys = ["catalog", "obj-{{id}}"]
{extra}"""


def write_scenario(
    directory: Path, cache_control: str = "public, max-age=3600", rule_extra: str = ""
) -> Path:
    """A three-edge, one-shield scenario (two edges share keys) with the given Cache-Control.

    ``rule_extra`` is appended to the cache rule (TOML lines such as ``vary = "..."``).
    """
    path = directory / "small.toml"
    text = SMALL_SCENARIO.format(cache_control=cache_control, extra=rule_extra)
    path.write_text(text, encoding="utf-8")
    return path
