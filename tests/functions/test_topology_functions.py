"""[[function]] tables and trigger associations in a topology: parsed, resolved, validated."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from cdn.errors import ConfigError
from cdn.functions import FunctionKind, Trigger
from cdn.topology import load_topology

BASE = """
[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge-par"
city = "Paris"
cache_size = "16MiB"
{edge_extra}

[edge_defaults]
{defaults}

{functions}
"""

FUNCTIONS = """
[[function]]
name = "rewrite"
code = "functions/rewrite.py"
timeout = "1s"

[[function]]
name = "headers"
code = "functions/headers.py"
memory = 512
timeout = "20s"
concurrency = 4
keep_warm = "30s"

[[function]]
name = "normalize"
code = "functions/normalize.py"
kind = "cloudfront-function"
"""


def write(
    tmp_path: Path, edge_extra: str = "", defaults: str = "", functions: str = FUNCTIONS
) -> Path:
    path = tmp_path / "topology.toml"
    path.write_text(BASE.format(edge_extra=edge_extra, defaults=defaults, functions=functions))
    return path


def test_function_fields_are_read(tmp_path: Path) -> None:
    spec = load_topology(write(tmp_path)).function("headers")
    assert (spec.memory, spec.timeout, spec.concurrency, spec.keep_warm) == (512, 20.0, 4, 30.0)
    assert spec.kind is FunctionKind.LAMBDA_EDGE and spec.handler == "handler"


def test_code_path_is_relative_to_the_topology_file(tmp_path: Path) -> None:
    spec = load_topology(write(tmp_path)).function("rewrite")
    assert spec.code == str(tmp_path / "functions" / "rewrite.py")


def test_edge_associations_override_edge_defaults_per_trigger(tmp_path: Path) -> None:
    topology = load_topology(
        write(
            tmp_path,
            edge_extra='functions = { viewer-request = "rewrite" }',
            defaults='functions = { viewer-request = "normalize", origin-response = "headers" }',
        )
    )
    names = {t: s.name for t, s in topology.functions_of(topology.edges[0]).items()}
    assert names == {Trigger.VIEWER_REQUEST: "rewrite", Trigger.ORIGIN_RESPONSE: "headers"}


def test_cloudfront_function_on_an_origin_trigger_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, edge_extra='functions = { origin-request = "normalize" }')
    with pytest.raises(
        ConfigError, match=r"edge\[0\]\.functions\.origin-request.*viewer triggers only"
    ):
        load_topology(path)


def test_unknown_function_name_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, edge_extra='functions = { viewer-request = "nope" }')
    with pytest.raises(
        ConfigError,
        match=r"topology\.toml:edge\[0\]\.functions\.viewer-request: no function named 'nope'",
    ):
        load_topology(path)


def test_unknown_trigger_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, edge_extra='functions = { viewer-requset = "rewrite" }')
    with pytest.raises(ConfigError, match="viewer-requset: unknown key"):
        load_topology(path)


def test_cloudfront_function_and_lambda_edge_do_not_share_viewer_triggers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        edge_extra='functions = { viewer-request = "normalize", viewer-response = "rewrite" }',
    )
    with pytest.raises(ConfigError, match="mixes a cloudfront-function and a lambda-edge"):
        load_topology(path)


def test_lambda_over_the_viewer_timeout_is_refused_on_a_viewer_trigger(tmp_path: Path) -> None:
    path = write(tmp_path, edge_extra='functions = { viewer-request = "headers" }')
    with pytest.raises(ConfigError, match="20 s, over the 5 s limit of viewer-request"):
        load_topology(path)


def test_lambda_over_the_viewer_timeout_is_fine_on_an_origin_trigger(tmp_path: Path) -> None:
    load_topology(write(tmp_path, edge_extra='functions = { origin-response = "headers" }'))


def test_memory_above_3008_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, functions=FUNCTIONS.replace("memory = 512", "memory = 4096"))
    with pytest.raises(ConfigError, match=r"function\[1\]\.memory: 4096 is out of range"):
        load_topology(path)


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, functions=FUNCTIONS.replace('"cloudfront-function"', '"worker"'))
    with pytest.raises(ConfigError, match=r"function\[2\]\.kind: 'worker' is not known"):
        load_topology(path)


def test_duplicate_function_names_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, functions=FUNCTIONS.replace('name = "headers"', 'name = "rewrite"'))
    with pytest.raises(ConfigError, match="'rewrite' is used twice"):
        load_topology(path)


def test_function_cost_prices_are_overridable(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text() + "\n[cost]\ncloudfront_functions_per_million = 0.2\n")
    assert load_topology(path).cost.functions.cloudfront_functions_per_million == 0.2


def test_shipped_functions_topology_attaches_the_examples() -> None:
    configs = Path(__file__).resolve().parents[2] / "configs"
    topology = load_topology(configs / "functions.toml")
    attached = {
        spec.name for edge in topology.edges for spec in topology.functions_of(edge).values()
    }
    assert attached == {spec.name for spec in topology.functions}


def test_a_behavior_names_functions_per_trigger(tmp_path):
    (tmp_path / "f.py").write_text("def handler(event, context):\n    return event\n")
    source = (Path(__file__).resolve().parents[2] / "configs" / "local.toml").read_text()
    extra = dedent(
        """
        [[function]]
        name = "f"
        code = "f.py"

        [[behavior]]
        path_pattern = "/api/*"
        functions = { viewer-request = "f" }

        [[behavior]]
        path_pattern = "*"
        """
    )
    path = tmp_path / "t.toml"
    path.write_text(source + extra)
    topology = load_topology(path)
    assert topology.gateway.behaviors[0].functions == ((Trigger.VIEWER_REQUEST, "f"),)
    path.write_text(source + extra.replace('viewer-request = "f"', 'viewer-request = "nope"'))
    with pytest.raises(ConfigError, match=r"behavior\[0\]\.functions\.viewer-request"):
        load_topology(path)
