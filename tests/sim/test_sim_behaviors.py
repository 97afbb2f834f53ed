"""Behaviors in the simulator (sim/behaviors.py): the core's rules applied per request path."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cdn.topology import load_topology
from cli.main import main
from sim.model import SimOptions, Simulation
from sim.report import dumps, write_report

BASE = """
name = "gw"

[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge"
city = "Paris"
cache_size = "64MiB"
upstream = "origin"

[workload]
objects = 200
rate = 50
duration = "20s"
seed = 3
path = "/obj/{{id}}"
size = {{ dist = "fixed", value = "1KiB" }}
users = {{ source = "regions", region = [{{ name = "fr", city = "Paris" }}] }}

[[cache_rule]]
prefix = "/"
cache_control = "public, max-age=0"

{extra}
"""

PLAN = """
[[usage_plan]]
name = "basic"
throttle = {{ rate_limit = {rate}, burst_limit = {burst} }}

[[api_key]]
name = "k"
value = "cdnlab-test-key-0123456789"
usage_plan = "basic"
"""


KEYED = PLAN.format(rate=5, burst=10) + (
    '[[workload.paths]]\npath = "/obj/{id}"\napi_keys = 1\n'
    '[[behavior]]\npath_pattern = "*"\napi_key_required = true\n'
)


def _run(tmp_path: Path, extra: str, name: str = "gw.toml", **options: object) -> dict:
    path = tmp_path / name
    path.write_text(BASE.format(extra=extra), encoding="utf-8")
    return Simulation(load_topology(path), SimOptions(**options)).run().report


def test_a_topology_without_behaviors_has_no_behavior_sections(tmp_path: Path) -> None:
    report = _run(tmp_path, "")
    assert "behaviors" not in report and "gateway" not in report


def test_a_behavior_min_ttl_keeps_objects_fresh_the_origin_says_are_stale(
    tmp_path: Path,
) -> None:
    report = _run(tmp_path, '[[behavior]]\npath_pattern = "*"\nmin_ttl = "1d"\n')
    outcomes = report["pops"]["edge"]["outcomes"]
    assert outcomes["revalidated"] == 0
    assert report["origin"]["requests"] == outcomes["miss"]


def test_the_first_matching_pattern_decides_which_ttl_bounds_apply(tmp_path: Path) -> None:
    never = '[[behavior]]\npath_pattern = "/obj/1*"\nmax_ttl = 0\n'
    day = '[[behavior]]\npath_pattern = "/obj/*"\nmin_ttl = "1d"\n'
    default = '[[behavior]]\npath_pattern = "*"\n'
    first = _run(tmp_path, never + day + default, "a.toml")
    shadowed = _run(tmp_path, day + never + default, "b.toml")
    # /obj/1* first: those objects are never fresh and revalidate at the origin on every request.
    assert first["behaviors"]["/obj/1*"]["requests"] > 0
    assert shadowed["behaviors"]["/obj/1*"]["requests"] == 0
    assert first["origin"]["requests"] > shadowed["origin"]["requests"]
    # /obj/* with min_ttl 1d: every object reaches the origin once (its miss), then stays fresh.
    assert shadowed["origin"]["requests"] == shadowed["pops"]["edge"]["outcomes"]["miss"]


def test_requests_differing_only_outside_the_cache_key_share_an_entry(tmp_path: Path) -> None:
    mix = (
        '[[workload.paths]]\npath = "/obj/{id}"\nquery = { name = "utm", values = 8 }\n'
        '[[behavior]]\npath_pattern = "*"\nmin_ttl = "1d"\n'
    )
    dropped = _run(tmp_path, mix + 'cache_key = { query_strings = ["v"] }\n', "none.toml")
    kept = _run(tmp_path, mix + 'cache_key = { query_strings = "all" }\n', "all.toml")
    misses = {r["origin"]["requests"] for r in (dropped, kept)}
    assert len(misses) == 2
    assert kept["origin"]["requests"] > dropped["origin"]["requests"]
    assert dropped["behaviors"]["*"]["hit_ratio"] > kept["behaviors"]["*"]["hit_ratio"]


def test_methods_a_behavior_does_not_allow_are_forbidden(tmp_path: Path) -> None:
    extra = (
        '[[workload.paths]]\npath = "/obj/{id}"\npost_share = 0.2\n'
        '[[behavior]]\npath_pattern = "*"\nallowed_methods = ["GET", "HEAD"]\n'
    )
    report = _run(tmp_path, extra)
    behavior = report["behaviors"]["*"]
    assert 0.15 < behavior["forbidden_share"] < 0.25
    assert behavior["served"] == behavior["requests"] - behavior["forbidden"]
    assert report["gateway"]["forbidden"] == behavior["forbidden"]


def test_allowed_posts_pass_to_the_origin_uncached(tmp_path: Path) -> None:
    mix = '[[workload.paths]]\npath = "/obj/{id}"\npost_share = 0.2\n'
    day = '[[behavior]]\npath_pattern = "*"\nmin_ttl = "1d"\n'
    report = _run(tmp_path, mix + day)
    edge = report["pops"]["edge"]["outcomes"]
    assert report["behaviors"]["*"]["forbidden"] == 0
    assert edge["bypass"] > 0
    assert report["origin"]["requests"] == edge["miss"] + edge["bypass"]


def test_cors_preflights_are_answered_at_the_edge(tmp_path: Path) -> None:
    mix = '[[workload.paths]]\npath = "/obj/{id}"\npreflight_share = 0.2\n'
    cors = (
        '[[behavior]]\npath_pattern = "*"\nmin_ttl = "1d"\n'
        'cors = { allow_origins = ["https://app.example"], max_age = 600 }\n'
    )
    report = _run(tmp_path, mix + cors)
    behavior = report["behaviors"]["*"]
    assert 0.15 < behavior["preflight_share"] < 0.25
    assert behavior["served"] == behavior["requests"] - behavior["preflight"]
    assert report["gateway"]["preflight"] == behavior["preflight"]
    # nothing of them reaches the origin: its requests are the GETs' misses
    assert report["origin"]["requests"] == report["pops"]["edge"]["outcomes"]["miss"]


def test_preflights_without_cors_are_options_like_any_method(tmp_path: Path) -> None:
    mix = '[[workload.paths]]\npath = "/obj/{id}"\npreflight_share = 0.2\n'
    get_only = '[[behavior]]\npath_pattern = "*"\nallowed_methods = ["GET", "HEAD"]\n'
    report = _run(tmp_path, mix + get_only)
    behavior = report["behaviors"]["*"]
    assert behavior["preflight"] == 0
    assert 0.15 < behavior["forbidden_share"] < 0.25


def test_a_usage_plan_admits_its_burst_then_its_rate_and_throttles_the_rest(
    tmp_path: Path,
) -> None:
    extra = PLAN.format(rate=5, burst=10) + (
        '[[workload.paths]]\npath = "/obj/{id}"\napi_keys = 1\n'
        '[[behavior]]\npath_pattern = "*"\napi_key_required = true\nusage_plan = "basic"\n'
    )
    report = _run(tmp_path, extra, requests=1000)
    behavior = report["behaviors"]["*"]
    seconds = report["duration_s"]
    # 50 req/s against 5 req/s: the bucket is empty after the burst, so admitted = burst + rate*t.
    assert abs(behavior["served"] - (10 + 5 * seconds)) <= 2
    assert behavior["throttled"] == behavior["requests"] - behavior["served"]
    assert report["gateway"]["throttled_share"] == pytest.approx(behavior["throttled_share"])


def test_keys_are_per_simulated_key_so_more_keys_throttle_less(tmp_path: Path) -> None:
    extra = PLAN.format(rate=5, burst=10) + (
        '[[workload.paths]]\npath = "/obj/{id}"\napi_keys = {keys}\n'
        '[[behavior]]\npath_pattern = "*"\napi_key_required = true\n'
    )
    one = _run(tmp_path, extra.replace("{keys}", "1"), "one.toml")
    twenty = _run(tmp_path, extra.replace("{keys}", "20"), "twenty.toml")
    assert one["gateway"]["throttled_share"] > 0.5
    assert twenty["gateway"]["throttled_share"] < 0.05


def test_requests_without_a_key_on_a_keyed_behavior_are_forbidden(tmp_path: Path) -> None:
    extra = PLAN.format(rate=1000, burst=1000) + (
        '[[workload.paths]]\npath = "/obj/{id}"\nkeyless_share = 0.3\n'
        '[[behavior]]\npath_pattern = "*"\napi_key_required = true\n'
    )
    report = _run(tmp_path, extra)
    assert 0.25 < report["behaviors"]["*"]["forbidden_share"] < 0.35
    assert report["behaviors"]["*"]["throttled"] == 0


def test_a_run_with_behaviors_is_deterministic_with_its_seed(tmp_path: Path) -> None:
    extra = PLAN.format(rate=5, burst=10) + (
        '[[workload.paths]]\npath = "/obj/{id}"\napi_keys = 2\nkeyless_share = 0.1\n'
        '[[behavior]]\npath_pattern = "*"\napi_key_required = true\n'
    )
    assert dumps(_run(tmp_path, extra)) == dumps(_run(tmp_path, extra))


def test_a_path_mix_sends_each_family_to_its_behavior(tmp_path: Path) -> None:
    extra = (
        '[[workload.paths]]\npath = "/static/{id}"\nshare = 3\n'
        '[[workload.paths]]\npath = "/api/{id}"\nshare = 1\n'
        '[[behavior]]\npath_pattern = "/api/*"\n'
        '[[behavior]]\npath_pattern = "/static/*"\n'
        '[[behavior]]\npath_pattern = "*"\n'
    )
    report = _run(tmp_path, extra)
    behaviors = report["behaviors"]
    assert list(behaviors) == ["/api/*", "/static/*", "*"]
    assert behaviors["*"]["requests"] == 0
    assert behaviors["/static/*"]["requests"] > behaviors["/api/*"]["requests"] > 0
    assert sum(b["requests"] for b in behaviors.values()) == report["requests"]


def test_cdn_sim_prints_the_behavior_table(tmp_path: Path, capsys) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(BASE.format(extra=KEYED), encoding="utf-8")
    assert main(["sim", str(path), "--requests", "500", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Behaviors" in out and "429" in out and "403" in out


def test_behaviors_csv_has_a_row_per_behavior_with_its_figures(tmp_path: Path) -> None:
    report = _run(tmp_path, KEYED, requests=500)
    written = write_report(report, tmp_path / "out")
    assert tmp_path / "out" / "behaviors.csv" in written
    with (tmp_path / "out" / "behaviors.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["behavior"] for row in rows] == ["*"]
    assert {"hit_ratio", "p50_ms", "p90_ms", "p99_ms", "throttled_share", "forbidden_share"} <= set(
        rows[0]
    )
    assert float(rows[0]["throttled_share"]) > 0.5


def test_a_client_rate_limit_throttles_per_client_address(tmp_path: Path) -> None:
    extra = (
        '[[workload.paths]]\npath = "/obj/{id}"\nclients = {clients}\n'
        '[[behavior]]\npath_pattern = "*"\n'
        "client_rate_limit = { rate_limit = 2, burst_limit = 4 }\n"
    )
    one = _run(tmp_path, extra.replace("{clients}", "1"), "one.toml")
    many = _run(tmp_path, extra.replace("{clients}", "1000"), "many.toml")
    assert one["gateway"]["throttled_share"] > 0.9
    assert many["gateway"]["throttled_share"] == 0


def test_a_quota_admits_its_limit_per_key_then_throttles(tmp_path: Path) -> None:
    extra = (
        '[[usage_plan]]\nname = "q"\nquota = { limit = 50, period = "DAY" }\n'
        '[[workload.paths]]\npath = "/obj/{id}"\napi_keys = 2\n'
        '[[behavior]]\npath_pattern = "*"\napi_key_required = true\n'
    )
    behavior = _run(tmp_path, extra, requests=400)["behaviors"]["*"]
    assert behavior["served"] == 2 * 50
    assert behavior["throttled"] == 400 - 100
