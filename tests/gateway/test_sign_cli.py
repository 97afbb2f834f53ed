"""`cdn sign`: the URLs and cookies it prints pass the edge's signature check."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from cdn.gateway.signed import Accepted, SignatureChecker, load_public_key
from cli.main import main

KEYS = Path(__file__).resolve().parents[2] / "configs" / "keys"
PRIVATE = KEYS / "KCDNLABDEMO01.private.pem"
URL = "http://127.0.0.1:8121/private/report.pdf"


@pytest.fixture
def checker() -> SignatureChecker:
    pem = (KEYS / "KCDNLABDEMO01.public.pem").read_text()
    return SignatureChecker({"KCDNLABDEMO01": load_public_key("KCDNLABDEMO01", pem)})


def test_a_signed_url_is_accepted_with_the_key_id_from_the_file_name(checker, capsys) -> None:
    assert main(["sign", URL, "--key", str(PRIVATE), "--expires", "10m"]) == 0
    signed = capsys.readouterr().out.strip()
    query = dict(parse_qsl(urlsplit(signed).query))
    result = checker.check(signed, query, {}, "127.0.0.1", time.time())
    assert isinstance(result, Accepted) and result.key_id == "KCDNLABDEMO01"


def test_signed_cookies_are_accepted_for_the_resource_pattern(checker, capsys) -> None:
    resource = "http://127.0.0.1:8121/private/*"
    assert main(["sign", URL, "--key", str(PRIVATE), "--resource", resource, "--cookies"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    cookies = dict(line.removeprefix("Set-Cookie: ").split(";")[0].split("=", 1) for line in lines)
    other = "http://127.0.0.1:8121/private/other.pdf"
    assert isinstance(checker.check(other, {}, cookies, "127.0.0.1", time.time()), Accepted)


def test_a_missing_key_file_is_a_clear_error(capsys) -> None:
    assert main(["sign", URL, "--key", "/nonexistent.pem"]) == 2
    assert "--key /nonexistent.pem" in capsys.readouterr().err
