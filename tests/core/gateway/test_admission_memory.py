"""Admission's memory (cdn.gateway.admission): remembered passes, atomic limits, peer trust.

The shortcut (a ``Pass`` remembered for identical requests) must decide exactly as the full
checks do, over every request it claims: the equivalence tests below run requests (signed URLs
canned, custom and in cookies, API keys, CORS origins, header keys, hosts, addresses and times,
expiry and start included) after every possible first request and compare each remembered
decision with a fresh one.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cdn.gateway.admission import Admission, Admitted, Answered, Pass, ViewerRequest
from cdn.topology import parse_topology

KEYS = Path(__file__).resolve().parents[3] / "configs" / "keys"
KEY = "0123456789abcdefghij-partner"
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
throttle = {{ rate_limit = 1, burst_limit = 3 }}
quota = {{ limit = 2, period = "DAY" }}

[[api_key]]
name = "partner"
value = "{KEY}"
usage_plan = "gold"

[[behavior]]
path_pattern = "/api/*"
api_key_required = true
usage_plan = "gold"
cors = {{ allow_origins = ["https://app.example"] }}

[[behavior]]
path_pattern = "/private/*"
trusted_key_groups = ["signers"]
cache_key = {{ query_strings = "none", headers = ["x-tier"] }}

[[behavior]]
path_pattern = "/secure/*"
viewer_protocol_policy = "https-only"

[[behavior]]
path_pattern = "*"
cache_key = {{ query_strings = ["v"] }}
"""


def gateway():  # type: ignore[no-untyped-def]
    return parse_topology(tomllib.loads(TOPOLOGY), "t.toml").gateway


def fresh() -> Admission:
    return Admission(gateway(), {"partner": KEY})


@pytest.fixture
def admission() -> Admission:
    return fresh()


def _signer() -> CloudFrontSigner:
    private = serialization.load_pem_private_key(
        (KEYS / "KCDNLABDEMO01.private.pem").read_bytes(), None
    )
    return CloudFrontSigner(
        "KCDNLABDEMO01",
        lambda m: private.sign(m, padding.PKCS1v15(), hashes.SHA1()),  # type: ignore[union-attr,call-arg,arg-type]
    )


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


SIGNER = _signer()
CANNED = SIGNER.generate_presigned_url(
    "http://cdn.test/private/a", date_less_than=_at(NOW + 60)
).split("?", 1)[1]
CUSTOM = SIGNER.generate_presigned_url(
    "http://cdn.test/private/b",
    policy=SIGNER.build_policy(
        "http://cdn.test/private/b",
        _at(NOW + 60),
        date_greater_than=_at(NOW - 10),
        ip_address="198.51.100.0/24",
    ),
).split("?", 1)[1]
COOKIES = "; ".join(
    f"CloudFront-{name}={value}"
    for name, value in (p.split("=", 1) for p in CANNED.split("&"))
    if name in ("Expires", "Signature", "Key-Pair-Id")
)


def request(
    path: str, query: str = "", client: str = "198.51.100.7", host: str = "cdn.test", **fields: str
) -> ViewerRequest:
    headers = {"host": host, **{k.replace("_", "-"): v for k, v in fields.items()}}
    return ViewerRequest("GET", "http", host, path, query, headers, client)


REQUESTS = [
    request("/private/a", CANNED),
    request("/private/a", CANNED, x_tier="gold"),
    request("/private/a", CANNED, host="other.test"),
    request("/private/a", CANNED.replace("Expires=", "Expires=1")),
    request("/private/a", cookie=COOKIES),
    request("/private/a", cookie="CloudFront-Signature=bogus"),
    request("/private/b", CUSTOM),
    request("/private/b", CUSTOM, client="203.0.113.9"),
    request("/private/b", CUSTOM, client=""),
    request("/api/x", x_api_key=KEY),
    request("/api/x", x_api_key=KEY, origin="https://app.example"),
    request("/api/x", x_api_key=KEY, origin="https://evil.example"),
    request("/api/x", x_api_key=KEY + "-forged"),
    request("/api/x"),
    request("/secure/x"),
    request("/index.html", "v=1&utm=a"),
    request("/index.html", "utm=b&v=1"),
]
TIMES = [NOW - 20, NOW, NOW + 59, NOW + 60, NOW + 3600]


def outcome(decision: Pass | Answered) -> tuple:
    if isinstance(decision, Answered):
        return ("answered", decision.status, decision.category, decision.headers, decision.body)
    return (
        "pass",
        decision.behavior.path_pattern.text,
        decision.key_target,
        decision.key_suffix,
        decision.fields,
        decision.api_key,
    )


def test_after_any_first_request_every_remembered_decision_is_the_full_checks_one() -> None:
    cases = [(viewer, now) for viewer in REQUESTS for now in TIMES]
    reference = [outcome(fresh().check(viewer, now)) for viewer, now in cases]
    for first in cases:
        remembering = fresh()
        remembering.check(*first)
        assert [outcome(remembering.check(*case)) for case in cases] == reference, first


def test_a_remembered_signed_url_is_refused_once_it_expires(admission) -> None:
    assert isinstance(admission.admit(request("/private/a", CANNED), NOW), Admitted)
    refused = admission.admit(request("/private/a", CANNED), NOW + 60)
    assert isinstance(refused, Answered) and refused.reason.startswith("expired")


def test_a_remembered_custom_policy_is_refused_before_its_start(admission) -> None:
    assert isinstance(admission.admit(request("/private/b", CUSTOM), NOW), Admitted)
    refused = admission.admit(request("/private/b", CUSTOM), NOW - 11)
    assert isinstance(refused, Answered) and refused.reason.startswith("not valid before")


def test_a_remembered_ip_condition_is_checked_for_each_address(admission) -> None:
    assert isinstance(admission.admit(request("/private/b", CUSTOM), NOW), Admitted)
    refused = admission.admit(request("/private/b", CUSTOM, client="203.0.113.9"), NOW)
    assert isinstance(refused, Answered) and "outside" in refused.reason


def test_a_signed_url_is_remembered_by_the_host_it_was_checked_for(admission) -> None:
    signed = request("/private/a", CANNED)
    assert isinstance(admission.admit(signed, NOW), Admitted)
    remembered = admission.remembered("GET", "http", "/private/a", CANNED, signed.headers, "", NOW)
    assert remembered is not None
    elsewhere = {**signed.headers, "host": "other.test"}
    assert admission.remembered("GET", "http", "/private/a", CANNED, elsewhere, "", NOW) is None


def test_nothing_is_remembered_of_a_refused_request(admission) -> None:
    admission.admit(request("/api/x", x_api_key=KEY + "-forged"), NOW)
    assert admission.remembered("GET", "http", "/api/x", "", {}, "", NOW) is None


def test_the_quota_refusing_takes_no_token_from_the_throttle(admission) -> None:
    for _ in range(2):  # the quota's 2 (and 2 of the bucket's 3 tokens)
        assert isinstance(admission.admit(request("/api/x", x_api_key=KEY), NOW), Admitted)
    refused = admission.admit(request("/api/x", x_api_key=KEY), NOW)
    assert isinstance(refused, Answered) and refused.category == "quota"
    assert admission.key_buckets["partner"].tokens == 1.0  # the refused one took none


def test_limits_answer_the_ratelimit_fields_of_an_admitted_request(admission) -> None:
    passed = admission.check(request("/api/x", x_api_key=KEY), NOW)
    assert isinstance(passed, Pass)
    fields = admission.limits(passed, "", NOW)
    assert dict(fields)["RateLimit"] == '"gold";r=1;t=43200'  # 1 of the quota's 2 left


def test_a_trusted_request_gets_its_key_and_takes_nothing(admission) -> None:
    trusted = admission.trusted(request("/private/a", "x=1", x_tier="gold"))
    assert (trusted.key_target, trusted.key_suffix) == ("/private/a", "\nh:x-tier=gold")
    admission.trusted(request("/api/x"))
    assert admission.key_buckets == {} and admission.quotas == {}


def test_a_purge_target_is_keyed_as_its_behavior_keys_requests() -> None:
    assert gateway().purge_target("/index.html?utm=a&v=2") == ("/index.html?v=2", False)
    assert gateway().purge_target("/private/a?x=1") == ("/private/a", True)
