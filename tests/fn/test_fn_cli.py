"""`cdn fn invoke`, `cdn fn event`, `cdn fn serve`: what people type, what they read."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "configs" / "functions"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["fn", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def first_json(text: str) -> dict:
    return json.JSONDecoder().raw_decode(text)[0]


def test_invoke_prints_the_result_and_the_report_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys,
        "invoke",
        f"{EXAMPLES}/rewrite_redirect.py:handler",
        "--trigger",
        "viewer-request",
        "--uri",
        "/old/a",
    )
    assert status == 0
    result = first_json(out)["result"]
    assert (result["action"], result["status"], result["cached"]) == ("respond", 301, False)
    assert re.search(r"^REPORT RequestId: .*Init Duration: [\d.]+ ms$", out, re.MULTILINE)


def test_invoke_takes_headers(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys,
        "invoke",
        f"{EXAMPLES}/ab_cookie.py:handler",
        "--trigger",
        "viewer-request",
        "--uri",
        "/x",
        "--header",
        "Cookie: ab=b",
    )
    assert status == 0 and first_json(out)["result"]["request"]["uri"] == "/b/x"


def test_invoke_runs_a_cloudfront_function(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys,
        "invoke",
        f"{EXAMPLES}/normalize_query.py:handler",
        "--kind",
        "cloudfront-function",
        "--trigger",
        "viewer-request",
        "--querystring",
        "B=2&a=1",
    )
    assert status == 0 and first_json(out)["result"]["request"]["querystring"] == "a=1&b=2"


def test_invoke_of_a_failing_answer_exits_1_with_its_status(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = tmp_path / "bad.py"
    code.write_text("def handler(event, context):\n    return {'status': '700'}\n")
    status, out, _ = run_cli(capsys, "invoke", f"{code}:handler", "--trigger", "viewer-request")
    assert status == 1 and first_json(out)["result"]["status"] == 502


def test_invoke_with_an_event_file_sends_it_as_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = tmp_path / "echo.py"
    code.write_text(
        "def handler(event, context):\n    return event['Records'][0]['cf']['request']\n"
    )
    assert main(["fn", "event", "--trigger", "viewer-request", "--uri", "/from-file"]) == 0
    event = tmp_path / "event.json"
    event.write_text(capsys.readouterr().out)
    status, out, _ = run_cli(
        capsys, "invoke", f"{code}:handler", "--trigger", "viewer-request", "--event", str(event)
    )
    assert status == 0 and first_json(out)["payload"]["uri"] == "/from-file"


def test_invoke_bench_prints_cold_start_and_warm_percentiles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run_cli(
        capsys,
        "invoke",
        f"{EXAMPLES}/security_headers.py:handler",
        "--trigger",
        "origin-response",
        "--bench",
        "20",
    )
    bench = json.loads(out.strip().splitlines()[-1])["bench"]
    assert status == 0 and bench["invokes"] == 20
    assert bench["cold_start_ms"] > 0 and bench["warm_p99_ms"] >= bench["warm_p50_ms"]


def test_missing_handler_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = tmp_path / "f.py"
    code.write_text("def other(event, context):\n    return {}\n")
    status, _, err = run_cli(capsys, "invoke", f"{code}:handler", "--trigger", "viewer-request")
    assert status == 2 and "defines no 'handler'" in err and "Traceback" not in err


def test_target_without_handler_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "invoke", "fn.py", "--trigger", "viewer-request")
    assert status == 2 and "is not FILE:handler" in err


def test_viewer_timeout_over_5s_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(
        capsys,
        "invoke",
        f"{EXAMPLES}/ab_cookie.py:handler",
        "--trigger",
        "viewer-request",
        "--timeout",
        "6s",
    )
    assert status == 2 and "over the 5s limit of viewer-request" in err


def test_unknown_trigger_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fn", "event", "--trigger", "viewer"])
    assert info.value.code == 2 and "is not a trigger" in capsys.readouterr().err


def test_event_prints_a_lambda_edge_record(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "event", "--trigger", "origin-response", "--status", "404")
    cf = json.loads(out)["Records"][0]["cf"]
    assert status == 0 and cf["config"]["eventType"] == "origin-response"
    assert cf["response"]["status"] == "404" and "origin" in cf["request"]


def test_event_prints_a_cloudfront_function_event(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "event", "--trigger", "viewer-request", "--kind", "cloudfront-function"
    )
    assert status == 0 and json.loads(out)["version"] == "1.0"


def test_help_lists_the_subcommands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "fn", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for word in ("invoke", "event", "serve"):
        assert word in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_answers_boto3_for_the_example_topology() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "fn",
            "serve",
            "--topology",
            "configs/functions.toml",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=30),
        )
        event = {
            "Records": [{"cf": {"request": {"uri": "/docs/", "querystring": "", "headers": {}}}}]
        }
        for _ in range(300):
            assert process.poll() is None, process.stderr.read().decode()
            try:
                response = await asyncio.to_thread(
                    client.invoke,
                    FunctionName="rewrite-redirect",
                    Payload=json.dumps(event).encode(),
                )
                break
            except EndpointConnectionError:  # not listening yet
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("cdn fn serve never answered")
        assert json.loads(response["Payload"].read())["uri"] == "/docs/index.html"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    reports = [
        json.loads(line) for line in stderr.decode().splitlines() if "platform.report" in line
    ]
    assert reports[0]["record"]["functionName"] == "rewrite-redirect"
