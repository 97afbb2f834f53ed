"""`cdn edge --function` / `--cloudfront-function`, and a topology's functions on its edges."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from live_support import wait_healthy

from cdn.functions import FunctionKind, Trigger
from cdn.topology import load_topology
from cli.commands.edge import build_settings
from cli.errors import UserError
from cli.main import build_parser
from edge.settings import EdgeSettings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "configs" / "functions"

GENERATE = """
def handler(event, context):
    return {"status": "200", "body": "from the flag's function"}
"""


def settings_from(argv: list[str]) -> EdgeSettings:
    return build_settings(build_parser().parse_args(["edge", *argv]))


def test_function_flags_attach_one_function_per_trigger() -> None:
    settings = settings_from(
        [
            "--origin",
            "http://127.0.0.1:9000",
            "--cloudfront-function",
            f"viewer-request={EXAMPLES / 'normalize_query.py'}:handler",
            "--function",
            f"origin-response={EXAMPLES / 'security_headers.py'}:handler",
            "--function-concurrency",
            "3",
        ]
    )
    functions = dict(settings.functions)
    assert functions[Trigger.VIEWER_REQUEST].kind is FunctionKind.CLOUDFRONT_FUNCTION
    assert functions[Trigger.ORIGIN_RESPONSE].name == "security_headers"
    assert functions[Trigger.ORIGIN_RESPONSE].concurrency == 3


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--function", "viewer-request", "is not TRIGGER=FILE:HANDLER"),
        ("--function", "sideways=fn.py:handler", "is not a trigger"),
        ("--function", "viewer-request=/no/such.py:handler", "is not a file"),
        (
            "--cloudfront-function",
            f"origin-request={EXAMPLES / 'normalize_query.py'}:handler",
            "viewer triggers only",
        ),
        ("--function", f"viewer-request={EXAMPLES / 'maintenance.py'}:nothing", "defines no"),
    ],
)
def test_bad_function_flags_are_clear_errors(flag: str, value: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        settings_from(["--origin", "http://127.0.0.1:9000", flag, value])


def test_a_topology_gives_each_edge_its_functions() -> None:
    topology = load_topology(ROOT / "configs" / "functions.toml")
    london = dict(EdgeSettings.from_topology(topology, "edge-lon").functions)
    assert {t: s.name for t, s in london.items()} == {
        Trigger.VIEWER_REQUEST: "ab-cookie",
        Trigger.ORIGIN_REQUEST: "maintenance",
        Trigger.ORIGIN_RESPONSE: "security-headers",  # from [edge_defaults]
    }
    assert EdgeSettings.from_topology(topology, "shield-fra").functions == ()


async def test_cdn_edge_runs_a_flags_function_and_logs_its_report(
    start_origin, free_port, tmp_path
) -> None:
    origin = await start_origin()
    code = tmp_path / "generate.py"
    code.write_text(GENERATE)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "edge",
            "--port",
            str(free_port),
            "--origin",
            origin,
            "--function",
            f"viewer-request={code}:handler",
            "--function-log",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{free_port}"
    try:
        await wait_healthy(url, process)
        async with aiohttp.ClientSession() as session, session.get(url + "/obj/1") as response:
            assert response.status == 200
            assert await response.read() == b"from the flag's function"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    reports = [line for line in stderr.decode().splitlines() if "platform.report" in line]
    assert len(reports) == 1 and '"functionName": "generate"' in reports[0]


async def test_the_example_topologys_edge_runs_its_functions(
    start_origin, start_edge_server, http
) -> None:
    # configs/functions.toml's edge-par, in front of a live origin: its viewer-request
    # redirect (rewrite_redirect.py) and [edge_defaults]' origin-response headers.
    topology = load_topology(ROOT / "configs" / "functions.toml")
    origin = await start_origin(topology)
    settings = EdgeSettings.from_topology(topology, "edge-par", {"shield-fra": origin})
    server = await start_edge_server(
        origin,
        functions=settings.functions,
        function_specs=settings.function_specs,
        function_origins=settings.function_origins,
    )
    async with http.get(server.url + "/old/a?x=1", allow_redirects=False) as response:
        assert response.status == 301 and response.headers["Location"] == "/new/a?x=1"
    async with http.get(server.url + "/obj/1") as response:
        assert response.status == 200
        assert response.headers["X-Frame-Options"] == "DENY"
