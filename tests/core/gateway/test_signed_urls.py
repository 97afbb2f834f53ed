"""Signed URLs and cookies (CloudFront "Serving private content"), signed by botocore's CloudFrontSigner."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cdn.gateway.signed import Accepted, Refused, SignatureChecker, load_public_key, unsigned_url

NOW = 1_800_000_000.0
URL = "http://127.0.0.1:8121/private/report.pdf?v=2"


def make_key(key_id: str):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signer = CloudFrontSigner(
        key_id, lambda message: private.sign(message, padding.PKCS1v15(), hashes.SHA1())
    )
    return signer, load_public_key(key_id, pem)


@pytest.fixture(scope="module")
def keys():
    return {"K1": make_key("K1"), "K2": make_key("K2")}


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def check(checker: SignatureChecker, url: str, ip: str = "203.0.113.9", now: float = NOW):
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return checker.check(url, query, {}, ip, now)


def test_a_canned_policy_url_from_cloudfrontsigner_is_accepted(keys) -> None:
    signer, public = keys["K1"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW + 60))
    assert check(SignatureChecker({"K1": public}), url) == Accepted("K1", int(NOW + 60))


def test_a_custom_policy_with_a_wildcard_resource_is_accepted(keys) -> None:
    signer, public = keys["K1"]
    policy = signer.build_policy("http://127.0.0.1:8121/private/*", at(NOW + 60))
    url = signer.generate_presigned_url(URL, policy=policy)
    assert isinstance(check(SignatureChecker({"K1": public}), url), Accepted)


def test_an_expired_url_is_refused(keys) -> None:
    signer, public = keys["K1"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW))
    assert check(SignatureChecker({"K1": public}), url) == Refused(f"expired at {int(NOW)}")


def test_a_url_used_before_its_start_time_is_refused(keys) -> None:
    signer, public = keys["K1"]
    policy = signer.build_policy(URL, at(NOW + 60), date_greater_than=at(NOW + 30))
    url = signer.generate_presigned_url(URL, policy=policy)
    result = check(SignatureChecker({"K1": public}), url)
    assert isinstance(result, Refused) and "not valid before" in result.reason
    assert isinstance(check(SignatureChecker({"K1": public}), url, now=NOW + 30), Accepted)


def test_a_url_from_outside_the_allowed_network_is_refused(keys) -> None:
    signer, public = keys["K1"]
    policy = signer.build_policy(URL, at(NOW + 60), ip_address="198.51.100.0/24")
    url = signer.generate_presigned_url(URL, policy=policy)
    checker = SignatureChecker({"K1": public})
    assert isinstance(check(checker, url, ip="198.51.100.77"), Accepted)
    refused = check(checker, url, ip="203.0.113.9")
    assert isinstance(refused, Refused) and "outside" in refused.reason


def test_a_tampered_url_is_refused(keys) -> None:
    signer, public = keys["K1"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW + 60))
    tampered = url.replace("report.pdf", "salaries.pdf")
    result = check(SignatureChecker({"K1": public}), tampered)
    assert isinstance(result, Refused) and "does not verify" in result.reason


def test_a_later_expiry_written_into_the_url_is_refused(keys) -> None:
    signer, public = keys["K1"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW + 60))
    longer = url.replace(f"Expires={int(NOW + 60)}", f"Expires={int(NOW + 86400)}")
    assert isinstance(check(SignatureChecker({"K1": public}), longer), Refused)


def test_a_key_outside_the_trusted_key_groups_is_refused(keys) -> None:
    signer, _ = keys["K2"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW + 60))
    result = check(SignatureChecker({"K1": keys["K1"][1]}), url)
    assert result == Refused("key 'K2' is not in a trusted key group")


def test_a_signature_made_with_another_private_key_is_refused(keys) -> None:
    signer, _ = keys["K2"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW + 60))
    url = url.replace("Key-Pair-Id=K2", "Key-Pair-Id=K1")
    result = check(SignatureChecker({"K1": keys["K1"][1]}), url)
    assert isinstance(result, Refused) and "does not verify" in result.reason


def test_an_unsigned_request_is_refused() -> None:
    assert check(SignatureChecker({}), URL) == Refused(
        "no signature (query parameters or CloudFront-* cookies)"
    )


def test_signed_cookies_with_a_custom_policy_are_accepted(keys) -> None:
    signer, public = keys["K1"]
    policy = signer.build_policy("http://127.0.0.1:8121/private/*", at(NOW + 60))
    signed = signer.generate_presigned_url("http://x/", policy=policy)
    fields = dict(parse_qsl(urlsplit(signed).query))
    cookies = {
        "CloudFront-Policy": fields["Policy"],
        "CloudFront-Signature": fields["Signature"],
        "CloudFront-Key-Pair-Id": fields["Key-Pair-Id"],
    }
    result = SignatureChecker({"K1": public}).check(URL, {"v": "2"}, cookies, "203.0.113.9", NOW)
    assert result == Accepted("K1", int(NOW + 60))


def test_a_verified_signature_is_remembered_but_time_is_checked_again(keys) -> None:
    signer, public = keys["K1"]
    url = signer.generate_presigned_url(URL, date_less_than=at(NOW + 60))
    checker = SignatureChecker({"K1": public})
    assert isinstance(check(checker, url), Accepted)
    assert len(checker._verified) == 1
    assert isinstance(check(checker, url, now=NOW + 61), Refused)


def test_unsigned_url_drops_only_the_signing_parameters() -> None:
    signed = URL + "&Expires=1&Signature=abc&Key-Pair-Id=K1"
    assert unsigned_url(signed) == URL
    assert unsigned_url("http://h/p?Policy=x&Signature=y&Key-Pair-Id=z") == "http://h/p"


def test_a_non_rsa_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'K9' is not a PEM public key"):
        load_public_key("K9", "not a key")
