"""`cdn storage` on the command line: help, flag errors, a real process that stops cleanly."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from cli.main import main


def test_help_names_the_command_and_its_reference(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["storage", "--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    assert "--public-read" in out
    assert "docs/storage.md" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--access-key", "a"], "--access-key and --secret-key go together"),
        (["--public-read", "Bad_Name"], "--public-read 'Bad_Name'"),
        (["--purge-target", "edge"], "expected NAME=http://host:port"),
        (["--notify", "ftp://x"], "expected an http(s) URL"),
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (
            ["--port", "0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"],
            "--tls-cert/--tls-key: cannot load TLS certificate /nonexistent.pem",
        ),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, argv, message):
    assert main(["storage", "--data", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_the_command_serves_until_sigterm_and_exits_0(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "storage", "--data", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # printed once listening
        url = re.search(r"on (http://\S+)", line).group(1)
        with urllib.request.urlopen(url + "/_cdn/health", timeout=10) as answer:
            assert json.loads(answer.read())["role"] == "storage"
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()
        process.stderr.close()
