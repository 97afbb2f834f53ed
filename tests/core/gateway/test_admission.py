"""Admission (cdn.gateway.admission): protocol, CORS, methods, signatures, API keys and limits."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cdn.gateway.admission import Admission, Admitted, Answered, ViewerRequest
from cdn.topology import parse_topology

KEYS = Path(__file__).resolve().parents[3] / "configs" / "keys"
KEY = "0123456789abcdefghij-partner"
OTHER_KEY = "0123456789abcdefghij-intruder"
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC).timestamp()

TOPOLOGY = f"""
[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge-par"
city = "Paris"

[[key_group]]
name = "signers"
keys = [{{ id = "KCDNLABDEMO01", public_key_file = "{KEYS}/KCDNLABDEMO01.public.pem" }}]

[[usage_plan]]
name = "gold"
ratelimit_fields = "always"
throttle = {{ rate_limit = 2, burst_limit = 3 }}
quota = {{ limit = 5, period = "DAY" }}

[[usage_plan]]
name = "silver"
ratelimit_fields = "always"

[[api_key]]
name = "partner"
value = "{KEY}"
usage_plan = "gold"

[[api_key]]
name = "intruder"
value = "{OTHER_KEY}"
usage_plan = "silver"

[[behavior]]
path_pattern = "/api/*"
api_key_required = true
usage_plan = "gold"
cors = {{ allow_origins = ["https://app.example"], allow_methods = ["GET", "POST"] }}

[[behavior]]
path_pattern = "/private/*"
trusted_key_groups = ["signers"]
allowed_methods = ["GET", "HEAD"]

[[behavior]]
path_pattern = "/secure/*"
viewer_protocol_policy = "redirect-to-https"

[[behavior]]
path_pattern = "/busy/*"
client_rate_limit = {{ rate_limit = 1, burst_limit = 2 }}

[[behavior]]
path_pattern = "*"
cache_key = {{ query_strings = ["v"] }}
"""


@pytest.fixture
def admission() -> Admission:
    topology = parse_topology(tomllib.loads(TOPOLOGY), "t.toml")
    return Admission(topology.gateway, {"partner": KEY, "intruder": OTHER_KEY})


def request(path: str, method: str = "GET", query: str = "", **headers: str) -> ViewerRequest:
    fields = {k.replace("_", "-"): v for k, v in headers.items()}
    return ViewerRequest(method, "http", "cdn.test", path, query, fields, "198.51.100.7")


def test_an_admitted_request_gets_its_behaviors_cache_key(admission) -> None:
    result = admission.admit(request("/index.html", query="utm=1&v=3"), NOW)
    assert isinstance(result, Admitted)
    assert result.key_target == "/index.html?v=3"


def test_a_method_outside_the_behavior_is_forbidden(admission) -> None:
    result = admission.admit(request("/private/a", method="POST"), NOW)
    assert isinstance(result, Answered) and (result.status, result.category) == (403, "method")


def test_redirect_to_https_answers_301_with_the_https_url(admission) -> None:
    result = admission.admit(request("/secure/a", query="x=1"), NOW)
    assert isinstance(result, Answered) and result.status == 301
    assert dict(result.headers)["Location"] == "https://cdn.test/secure/a?x=1"


def test_a_missing_api_key_is_403_forbidden_json(admission) -> None:
    result = admission.admit(request("/api/users"), NOW)
    assert isinstance(result, Answered) and result.status == 403
    assert json.loads(result.body) == {"message": "Forbidden"}


def test_a_key_of_another_usage_plan_is_403(admission) -> None:
    result = admission.admit(request("/api/users", x_api_key=OTHER_KEY), NOW)
    assert isinstance(result, Answered) and result.status == 403


def test_a_known_key_passes_with_ratelimit_fields(admission) -> None:
    result = admission.admit(request("/api/users", x_api_key=KEY), NOW)
    assert isinstance(result, Admitted) and result.api_key == "partner"
    assert dict(result.response_fields)["RateLimit-Policy"].startswith('"gold";q=5')


def test_the_key_bucket_admits_burst_then_429_with_retry_after(admission) -> None:
    results = [admission.admit(request("/api/u", x_api_key=KEY), NOW) for _ in range(4)]
    assert [isinstance(r, Admitted) for r in results] == [True, True, True, False]
    throttled = results[-1]
    assert isinstance(throttled, Answered) and throttled.status == 429
    assert json.loads(throttled.body) == {"message": "Too Many Requests"}
    assert dict(throttled.headers)["Retry-After"] == "1"


def test_the_quota_refuses_with_limit_exceeded_until_the_next_day(admission) -> None:
    answers = [admission.admit(request("/api/u", x_api_key=KEY), NOW + i) for i in range(6)]
    last = answers[-1]
    assert isinstance(last, Answered) and last.category == "quota"
    assert json.loads(last.body) == {"message": "Limit Exceeded"}
    assert isinstance(admission.admit(request("/api/u", x_api_key=KEY), NOW + 86400), Admitted)


def test_a_cors_preflight_is_answered_at_the_edge(admission) -> None:
    result = admission.admit(
        request(
            "/api/u",
            method="OPTIONS",
            origin="https://app.example",
            access_control_request_method="POST",
        ),
        NOW,
    )
    assert isinstance(result, Answered) and result.status == 204
    fields = dict(result.headers)
    assert fields["Access-Control-Allow-Origin"] == "https://app.example"
    assert fields["Access-Control-Allow-Methods"] == "GET, POST"


def test_a_preflight_from_another_origin_is_refused(admission) -> None:
    result = admission.admit(
        request(
            "/api/u", method="OPTIONS", origin="https://evil", access_control_request_method="GET"
        ),
        NOW,
    )
    assert isinstance(result, Answered) and result.status == 403


def test_an_unsigned_private_request_is_403_access_denied(admission) -> None:
    result = admission.admit(request("/private/report.pdf"), NOW)
    assert isinstance(result, Answered) and result.status == 403
    assert b"AccessDenied" in result.body and "signature" in result.reason


def test_a_url_signed_by_cloudfrontsigner_is_admitted(admission) -> None:
    private = serialization.load_pem_private_key(
        (KEYS / "KCDNLABDEMO01.private.pem").read_bytes(), None
    )
    signer = CloudFrontSigner(
        "KCDNLABDEMO01", lambda m: private.sign(m, padding.PKCS1v15(), hashes.SHA1())
    )
    signed = signer.generate_presigned_url(
        "http://cdn.test/private/report.pdf", date_less_than=datetime.fromtimestamp(NOW + 60, UTC)
    )
    query = signed.split("?", 1)[1]
    assert isinstance(admission.admit(request("/private/report.pdf", query=query), NOW), Admitted)


def test_the_per_client_limit_answers_429_after_the_burst(admission) -> None:
    results = [admission.admit(request("/busy/x"), NOW) for _ in range(3)]
    assert [r.status if isinstance(r, Answered) else 200 for r in results] == [200, 200, 429]
