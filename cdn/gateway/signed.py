"""CloudFront signed URLs and signed cookies: canned and custom policies, checked with RSA-SHA1.

Rules (CloudFront developer guide, "Serving private content"):
- A signed URL carries ``Signature`` and ``Key-Pair-Id`` plus either ``Expires`` (canned policy:
  the policy is rebuilt from the URL and the expiry) or ``Policy`` (custom: base64 JSON). Signed
  cookies carry the same as ``CloudFront-Signature``, ``CloudFront-Key-Pair-Id`` and
  ``CloudFront-Expires`` or ``CloudFront-Policy``. Query parameters win over cookies.
- Base64 here is CloudFront's URL-safe variant: ``+`` -> ``-``, ``=`` -> ``_``, ``/`` -> ``~``.
- The signature is RSA PKCS#1 v1.5 over SHA-1 of the policy bytes, verified with ``cryptography``
  against the public keys of the behavior's trusted key groups (never hand-written RSA).
- The policy's ``Resource`` (``*`` any characters, ``?`` one) must match the requested URL
  without the signing parameters; ``DateLessThan`` is required and the URL is refused from that
  second on; ``DateGreaterThan`` refuses it before; ``IpAddress`` (``AWS:SourceIp``, CIDR) refuses
  other client addresses.
- Every refusal is a 403 for the client; ``Refused.reason`` says why, for the log only.
- Verified (policy, signature, key) triples are remembered (``SignatureChecker``), so a repeated
  signed URL costs a dict lookup, not an RSA operation; the time and address checks still run on
  every request.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "SIGNING_PARAMS",
    "Accepted",
    "PublicKey",
    "Refused",
    "SignatureChecker",
    "cloudfront_b64decode",
    "load_public_key",
    "unsigned_url",
]

SIGNING_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id")
_COOKIES = {
    "Expires": "CloudFront-Expires",
    "Policy": "CloudFront-Policy",
    "Signature": "CloudFront-Signature",
    "Key-Pair-Id": "CloudFront-Key-Pair-Id",
}
_FROM_CLOUDFRONT = bytes.maketrans(b"-_~", b"+=/")
_REMEMBERED = 4096  # verified signatures kept per checker


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key of a key group: its id (``Key-Pair-Id``) and the loaded RSA key."""

    id: str
    key: rsa.RSAPublicKey


def load_public_key(key_id: str, pem: str | bytes) -> PublicKey:
    """Parse a PEM public key; ValueError naming ``key_id`` when it is not an RSA public key."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"public key {key_id!r} is not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"public key {key_id!r} is not an RSA key (CloudFront signs with RSA)")
    return PublicKey(key_id, key)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The request is signed by ``key_id`` and its policy allows it now, from this address.

    The policy's conditions come along, so a caller that remembers the decision for the same
    signed URL re-checks them on every request: valid from ``starts`` (None: at once) to
    before ``expires``, from an address in one of ``networks`` (empty: any address).
    """

    key_id: str
    expires: int
    starts: int | None = None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    """The request is not validly signed; ``reason`` is for the log, never the response body."""

    reason: str


@dataclass(frozen=True, slots=True)
class _Policy:
    resource: str | None
    resource_regex: re.Pattern[str] | None
    date_less_than: int
    date_greater_than: int | None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def cloudfront_b64decode(text: str) -> bytes:
    """Decode CloudFront's URL-safe base64 (``-``, ``_``, ``~`` for ``+``, ``=``, ``/``)."""
    return base64.b64decode(text.encode("ascii").translate(_FROM_CLOUDFRONT), validate=True)


def unsigned_url(url: str) -> str:
    """``url`` without its signing query parameters (the rest keep their order)."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [p for p in query.split("&") if p and p.partition("=")[0] not in SIGNING_PARAMS]
    return base + ("?" + "&".join(kept) if kept else "")


def _canned_policy(resource: str, expires: int) -> bytes:
    # The exact bytes CloudFront (and botocore's CloudFrontSigner) sign for a canned policy.
    statement = OrderedDict(
        [("Resource", resource), ("Condition", {"DateLessThan": {"AWS:EpochTime": expires}})]
    )
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()


def _resource_regex(resource: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource]
    return re.compile("".join(parts), re.DOTALL)


def _epoch(condition: Mapping[str, object], name: str) -> int | None:
    value = condition.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("AWS:EpochTime"), int):
        raise ValueError(f"{name} must be {{'AWS:EpochTime': <integer>}}")
    return int(value["AWS:EpochTime"])  # type: ignore[arg-type]


def _parse_policy(document: bytes) -> _Policy:
    try:
        policy = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the policy is not JSON") from None
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if not isinstance(statements, list) or len(statements) != 1:
        raise ValueError("the policy must have exactly one Statement")
    statement = statements[0]
    if not isinstance(statement, dict) or not isinstance(statement.get("Condition"), dict):
        raise ValueError("the policy's Statement has no Condition")
    condition = statement["Condition"]
    less = _epoch(condition, "DateLessThan")
    if less is None:
        raise ValueError("the policy has no DateLessThan")
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    source = condition.get("IpAddress")
    if source is not None:
        cidr = source.get("AWS:SourceIp") if isinstance(source, dict) else None
        if not isinstance(cidr, str):
            raise ValueError("IpAddress must be {'AWS:SourceIp': '<CIDR>'}")
        networks = (ipaddress.ip_network(cidr, strict=False),)
    resource = statement.get("Resource")
    if resource is not None and not isinstance(resource, str):
        raise ValueError("the policy's Resource must be a string")
    return _Policy(
        resource,
        None if resource is None else _resource_regex(resource),
        less,
        _epoch(condition, "DateGreaterThan"),
        networks,
    )


class SignatureChecker:
    """Checks signed URLs and cookies against the public keys of some trusted key groups."""

    def __init__(self, keys: Mapping[str, PublicKey]) -> None:
        self.keys = dict(keys)
        self._verified: OrderedDict[tuple[str, bytes, str], _Policy] = OrderedDict()

    def check(
        self,
        url: str,
        query: Mapping[str, str],
        cookies: Mapping[str, str],
        client_ip: str | None,
        now: float,
    ) -> Accepted | Refused:
        """Whether the request for ``url`` (scheme://host/path?query as the viewer sent it),
        with its parsed ``query`` and ``cookies``, is validly signed at ``now`` from
        ``client_ip``."""
        fields = {name: query[name] for name in SIGNING_PARAMS if name in query}
        if "Signature" not in fields:
            fields = {n: cookies[c] for n, c in _COOKIES.items() if c in cookies}
        if "Signature" not in fields:
            return Refused("no signature (query parameters or CloudFront-* cookies)")
        key_id = fields.get("Key-Pair-Id")
        if not key_id:
            return Refused("no Key-Pair-Id")
        key = self.keys.get(key_id)
        if key is None:
            return Refused(f"key {key_id!r} is not in a trusted key group")
        resource = unsigned_url(url)
        if "Policy" in fields:
            try:
                document = cloudfront_b64decode(fields["Policy"])
            except (ValueError, binascii.Error):
                return Refused("Policy is not CloudFront base64")
        elif "Expires" in fields:
            expires = fields["Expires"]
            if not expires.isdigit():
                return Refused(f"Expires {expires!r} is not epoch seconds")
            document = _canned_policy(resource, int(expires))
        else:
            return Refused("neither Expires nor Policy")
        policy = self._verified_policy(key, document, fields["Signature"])
        if isinstance(policy, Refused):
            return policy
        return self._allows(policy, resource, client_ip, now, key_id)

    def _verified_policy(
        self, key: PublicKey, document: bytes, signature: str
    ) -> _Policy | Refused:
        memo = (key.id, document, signature)
        policy = self._verified.get(memo)
        if policy is not None:
            self._verified.move_to_end(memo)
            return policy
        try:
            raw = cloudfront_b64decode(signature)
        except (ValueError, binascii.Error):
            return Refused("Signature is not CloudFront base64")
        try:
            key.key.verify(raw, document, padding.PKCS1v15(), hashes.SHA1())
        except InvalidSignature:
            return Refused(f"signature does not verify with key {key.id!r}")
        try:
            policy = _parse_policy(document)
        except ValueError as exc:
            return Refused(f"bad policy: {exc}")
        self._verified[memo] = policy
        if len(self._verified) > _REMEMBERED:
            self._verified.popitem(last=False)
        return policy

    @staticmethod
    def _allows(
        policy: _Policy, resource: str, client_ip: str | None, now: float, key_id: str
    ) -> Accepted | Refused:
        if now >= policy.date_less_than:
            return Refused(f"expired at {policy.date_less_than}")
        if policy.date_greater_than is not None and now < policy.date_greater_than:
            return Refused(f"not valid before {policy.date_greater_than}")
        if policy.resource_regex is not None and not policy.resource_regex.fullmatch(resource):
            return Refused(f"resource {resource!r} is not covered by {policy.resource!r}")
        if policy.networks:
            try:
                address = ipaddress.ip_address(client_ip or "")
            except ValueError:
                return Refused(f"client address {client_ip!r} cannot be checked")
            if not any(address in network for network in policy.networks):
                return Refused(f"client address {client_ip} is outside {policy.networks[0]}")
        return Accepted(key_id, policy.date_less_than, policy.date_greater_than, policy.networks)
