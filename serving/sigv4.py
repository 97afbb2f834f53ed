"""AWS Signature Version 4 verification of a received request, with botocore's own signer.

One verifier for every server that takes SigV4 (the storage origin's S3 API, the table
origin's DynamoDB API): header (``Authorization: AWS4-HMAC-SHA256 ...``) and presigned-query
(``X-Amz-Signature``) forms.

Rules: the expected signature is computed by botocore (``S3SigV4Auth`` / ``S3SigV4QueryAuth``
for service ``s3``: no path normalisation; ``SigV4Auth`` / ``SigV4QueryAuth`` otherwise) over
the request as received, restricted to exactly the headers the client listed in
SignedHeaders, with the client's timestamp and credential scope; botocore builds the canonical
request, the string to sign and the HMAC chain. Signatures are compared in constant time. The
header form's date (X-Amz-Date, else the Date header) must be within ``max_skew`` of the
injected clock; a presigned URL is valid
from its X-Amz-Date to X-Amz-Date + X-Amz-Expires (at most 7 days).

This is the one module that touches botocore internals (``canonical_request``,
``string_to_sign``, ``signature``, ``headers_to_sign``, ``payload``,
``request.context['timestamp']``); it was tested with botocore ``TESTED_BOTOCORE``. A server
that turns authentication on runs ``self_test()`` first (botocore signs requests, we verify
them, and tampered copies must fail): if a botocore release changes these internals, the
server refuses to start instead of accepting bad signatures.

A refusal is a ``SignatureError`` carrying a protocol-neutral ``Refusal`` and a message naming
what is wrong; each server words it in its protocol (S3's XML error codes in
``storage.auth``, DynamoDB's JSON ``__type`` in ``kv.app``).
"""

from __future__ import annotations

import calendar
import email.utils
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

import botocore
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

__all__ = [
    "MAX_PRESIGN_EXPIRES",
    "MAX_SKEW",
    "TESTED_BOTOCORE",
    "Refusal",
    "SigV4Verifier",
    "SignatureError",
    "decoded_query",
    "self_test",
]

TESTED_BOTOCORE = "1.44.8"
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = 15 * 60  # seconds a header-signed request's date may be off (AWS: 15 minutes)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600  # longest X-Amz-Expires AWS accepts
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_DAY = re.compile(r"\d{8}")

GetAll = Callable[[str], list[str]]


class Refusal(StrEnum):
    """Why a request does not authenticate, in no protocol's words."""

    MISSING = "missing"  # no signature where one is required
    UNSUPPORTED = "unsupported"  # another algorithm (SigV2, ...)
    MALFORMED = "malformed"  # an Authorization header that does not parse
    MALFORMED_QUERY = "malformed_query"  # presigned-URL parameters that do not parse
    UNKNOWN_KEY = "unknown_key"  # an access key this server does not have
    WRONG_SERVICE = "wrong_service"  # a credential scoped to another service
    SKEWED = "skewed"  # a header-form date too far from now
    EXPIRED = "expired"  # a presigned URL past its expiry
    NOT_YET_VALID = "not_yet_valid"  # a presigned URL dated in the future
    PAYLOAD_MISMATCH = "payload_mismatch"  # x-amz-content-sha256 is not the body's hash
    MISMATCH = "mismatch"  # the signature is not the one the secret gives


class SignatureError(Exception):
    """A request that does not authenticate: ``reason`` says why, ``message`` says what."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Scope:
    """A credential scope: ``<access key>/<yyyymmdd>/<region>/<service>/aws4_request``."""

    access_key: str
    day: str
    region: str
    service: str


@dataclass(frozen=True, slots=True)
class Signed:
    """Who signed a request, and how."""

    access_key: str
    presigned: bool


def _restricted(base: type[SigV4Auth], signed: list[str], body_sha256: str | None) -> Any:
    """``base`` signing exactly the headers in ``signed`` and, when given, ``body_sha256``."""

    class Expected(base):  # type: ignore[misc, valid-type]
        def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
            headers = HTTPHeaders()
            for name in signed:
                for value in request.headers.get_all(name) or ():
                    headers[name] = value
            return headers

        def payload(self, request: AWSRequest) -> str:
            if body_sha256 is not None:
                return body_sha256
            return str(super().payload(request))

    return Expected


def _scope(credential: str, reason: Refusal) -> Scope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not _DAY.fullmatch(parts[1]):
        raise SignatureError(
            reason,
            f"the credential {credential[:120]!r} is malformed"
            " (expected <key>/<yyyymmdd>/<region>/<service>/aws4_request)",
        )
    return Scope(parts[0], parts[1], parts[2], parts[3])


def _seconds(stamp: str, reason: Refusal) -> float:
    if not _TIMESTAMP.fullmatch(stamp):
        raise SignatureError(reason, f"the date {stamp[:40]!r} is not yyyymmddThhmmssZ")
    return float(calendar.timegm(time.strptime(stamp, _DATE_FORMAT)))


def _stamp_of_date_header(value: str | None) -> str:
    """The signing timestamp of a request dated by its ``Date`` header (no X-Amz-Date).

    SigV4 takes the time from X-Amz-Date or, without it, from Date (botocore signs that way
    when a caller sets Date); the string to sign holds it as yyyymmddThhmmssZ.
    """
    if value is None:
        raise SignatureError(
            Refusal.MALFORMED, "a SigV4 request needs an X-Amz-Date (or a Date) header"
        )
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        raise SignatureError(
            Refusal.MALFORMED,
            f"the Date header {value[:40]!r} is not an HTTP date (and there is no X-Amz-Date)",
        )
    return time.strftime(_DATE_FORMAT, time.gmtime(email.utils.mktime_tz(parsed)))


def _authorization(value: str) -> tuple[str, list[str], str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(
            Refusal.UNSUPPORTED,
            f"unsupported authorization algorithm {algorithm[:40]!r} (expected {ALGORITHM})",
        )
    fields = {}
    for part in rest.split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise SignatureError(
            Refusal.MALFORMED,
            f"the Authorization header lacks {', '.join(missing)} (expected {ALGORITHM}"
            " Credential=..., SignedHeaders=..., Signature=<64 hex digits>)",
        )
    if not re.fullmatch(r"[0-9a-f]{64}", fields["Signature"]):
        raise SignatureError(Refusal.MALFORMED, "the Signature is not 64 lower-case hex digits")
    return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]


def _first(get_all: GetAll, name: str) -> str | None:
    values = get_all(name)
    return values[0] if values else None


class SigV4Verifier:
    """Checks requests against ``keys`` (access key id -> secret) at ``clock`` time.

    ``service`` (when given) must be the credential scope's service.
    """

    def __init__(
        self,
        keys: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        service: str | None = None,
        max_skew: float = MAX_SKEW,
    ) -> None:
        self.keys = dict(keys)
        self.clock = clock
        self.service = service
        self.max_skew = max_skew

    def verify(
        self,
        method: str,
        raw_path: str,
        query: Iterable[tuple[str, str]],
        get_all: GetAll,
        *,
        body_sha256: str | None = None,
    ) -> Signed | None:
        """Who signed the request, None when it carries no signature; SignatureError if bad.

        ``raw_path`` is the path as sent (percent-encoded, no query), ``query`` the decoded
        query pairs in order, ``get_all(name)`` every value of one request header.
        ``body_sha256`` (when the caller has the body) is the hash the payload is signed with,
        and a sent ``x-amz-content-sha256`` must then equal it (unless UNSIGNED-PAYLOAD).
        """
        pairs = list(query)
        if any(name == "X-Amz-Signature" for name, _ in pairs):
            return self._presigned(method, raw_path, pairs, get_all)
        authorization = _first(get_all, "Authorization")
        if authorization is None:
            return None
        return self._header(method, raw_path, pairs, get_all, authorization, body_sha256)

    def _secret(self, scope: Scope) -> str:
        if self.service is not None and scope.service != self.service:
            raise SignatureError(
                Refusal.WRONG_SERVICE,
                f"the credential is scoped to service {scope.service[:40]!r}"
                f" (expected {self.service!r})",
            )
        secret = self.keys.get(scope.access_key)
        if secret is None:
            raise SignatureError(
                Refusal.UNKNOWN_KEY,
                f"the access key id {scope.access_key[:40]!r} is not one of this server's keys",
            )
        return secret

    def _header(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        get_all: GetAll,
        authorization: str,
        body_sha256: str | None,
    ) -> Signed:
        credential, signed, given = _authorization(authorization)
        scope = _scope(credential, Refusal.MALFORMED)
        secret = self._secret(scope)
        stamp = _first(get_all, "X-Amz-Date")
        if stamp is None:
            stamp = _stamp_of_date_header(_first(get_all, "Date"))
        when = _seconds(stamp, Refusal.MALFORMED)
        now = self.clock()
        if abs(now - when) > self.max_skew:
            current = time.strftime(_DATE_FORMAT, time.gmtime(now))
            raise SignatureError(
                Refusal.SKEWED,
                f"Signature expired: {stamp} is now earlier than {current} -"
                f" {self.max_skew / 60:g} min (the request time is too far from the server's)",
            )
        if "host" not in signed:
            raise SignatureError(Refusal.MALFORMED, "SignedHeaders must include host")
        absent = [name for name in signed if not get_all(name)]
        if absent:
            raise SignatureError(
                Refusal.MALFORMED,
                f"SignedHeaders lists {', '.join(absent)}, which the request does not carry",
            )
        content_sha = _first(get_all, "X-Amz-Content-SHA256")
        if (
            body_sha256 is not None
            and content_sha is not None
            and content_sha != UNSIGNED_PAYLOAD
            and content_sha != body_sha256
        ):
            raise SignatureError(
                Refusal.PAYLOAD_MISMATCH,
                "the x-amz-content-sha256 header is not the SHA-256 of the body",
            )
        base = S3SigV4Auth if scope.service == "s3" else SigV4Auth
        signer = _restricted(base, signed, body_sha256)(
            Credentials(scope.access_key, secret), scope.service, scope.region
        )
        expected = _expected(signer, method, raw_path, pairs, signed, get_all, stamp, scope)
        if not hmac.compare_digest(expected, given):
            raise SignatureError(
                Refusal.MISMATCH,
                "the request signature we calculated does not match the signature you"
                " provided; check your key and signing method",
            )
        return Signed(scope.access_key, presigned=False)

    def _presigned(
        self, method: str, raw_path: str, pairs: list[tuple[str, str]], get_all: GetAll
    ) -> Signed:
        query = dict(pairs)
        bad = Refusal.MALFORMED_QUERY
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise SignatureError(bad, f"X-Amz-Algorithm must be {ALGORITHM}")
        for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"):
            if name not in query:
                raise SignatureError(bad, f"the presigned URL lacks {name}")
        scope = _scope(query["X-Amz-Credential"], bad)
        secret = self._secret(scope)
        stamp = query["X-Amz-Date"]
        when = _seconds(stamp, bad)
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            raise SignatureError(bad, "X-Amz-Expires is not a whole number of seconds") from None
        if not 0 <= expires <= MAX_PRESIGN_EXPIRES:
            raise SignatureError(
                bad, f"X-Amz-Expires is {expires} (expected 0 to {MAX_PRESIGN_EXPIRES} seconds)"
            )
        now = self.clock()
        if now > when + expires or expires == 0:  # 0: expired from the start, as AWS answers
            raise SignatureError(Refusal.EXPIRED, "Request has expired")
        if now < when - self.max_skew:
            raise SignatureError(Refusal.NOT_YET_VALID, "Request is not valid yet")
        signed = query["X-Amz-SignedHeaders"].split(";")
        unsigned = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
        base = S3SigV4QueryAuth if scope.service == "s3" else SigV4QueryAuth
        signer = _restricted(base, signed, None)(
            Credentials(scope.access_key, secret), scope.service, scope.region
        )
        expected = _expected(signer, method, raw_path, unsigned, signed, get_all, stamp, scope)
        if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
            raise SignatureError(
                Refusal.MISMATCH,
                "the presigned URL's signature does not match; check the key and the URL",
            )
        return Signed(scope.access_key, presigned=True)


def _expected(
    signer: SigV4Auth,
    method: str,
    raw_path: str,
    pairs: list[tuple[str, str]],
    signed: list[str],
    get_all: GetAll,
    stamp: str,
    scope: Scope,
) -> str:
    """The signature botocore computes for the request as received."""
    if stamp[:8] != scope.day:
        raise SignatureError(
            Refusal.MISMATCH,
            f"the credential's date {scope.day} is not the request's date {stamp[:8]}",
        )
    request = AWSRequest(method=method, url="http://signed.invalid" + raw_path)
    request.params = pairs or {}
    for name in signed:
        for value in get_all(name):
            request.headers[name] = value
    request.context["timestamp"] = stamp
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


def decoded_query(raw_query: str) -> list[tuple[str, str]]:
    """Query pairs of ``raw_query``, decoded (``+`` stays ``+``, as AWS signs it)."""
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def self_test() -> None:
    """Check that botocore's internals still behave as this module expects; RuntimeError if not.

    botocore signs an S3 GET (header and presigned forms) and a DynamoDB POST; each must verify
    and a tampered copy of each must not.
    """
    import datetime
    from unittest import mock
    from urllib.parse import parse_qsl, urlsplit

    stamp_time = 1_700_000_000.0
    credentials = Credentials("AKIDSELFTEST", "secret/self+test")
    verifier = SigV4Verifier({"AKIDSELFTEST": "secret/self+test"}, clock=lambda: stamp_time)
    body = b'{"TableName": "t"}'

    def check(request: AWSRequest, body_sha256: str | None) -> None:
        parts = urlsplit(request.url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            headers[name] = value
        headers["host"] = parts.netloc

        def get_all(name: str) -> list[str]:
            return list(headers.get_all(name) or [])

        verifier.verify(request.method, parts.path, pairs, get_all, body_sha256=body_sha256)
        tampered = [(k, v + "x" if k == "prefix" else v) for k, v in pairs]
        tampered_sha = None if body_sha256 is None else "0" * 64
        try:
            verifier.verify(request.method, parts.path, tampered, get_all, body_sha256=tampered_sha)
        except SignatureError as exc:
            if exc.reason is not Refusal.MISMATCH:
                raise
        else:
            raise RuntimeError("a tampered request passed verification")

    with mock.patch("botocore.auth.get_current_datetime") as clock:
        clock.return_value = datetime.datetime.fromtimestamp(stamp_time, datetime.UTC).replace(
            tzinfo=None
        )
        url = "http://127.0.0.1:9000/b%20x/k%2By?list-type=2&prefix=a%20b"
        s3_header = AWSRequest(method="GET", url=url, headers={"x-amz-meta-a": "1"})
        s3_header.headers["X-Amz-Content-SHA256"] = UNSIGNED_PAYLOAD
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(s3_header)
        s3_query = AWSRequest(method="GET", url=url)
        S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=60).add_auth(s3_query)
        table = AWSRequest(
            method="POST",
            url="http://127.0.0.1:8000/",
            data=body,
            headers={"X-Amz-Target": "DynamoDB_20120810.DescribeTable"},
        )
        SigV4Auth(credentials, "dynamodb", "us-east-1").add_auth(table)
    import hashlib

    try:
        check(s3_header.prepare(), None)
        check(s3_query.prepare(), None)
        check(table.prepare(), hashlib.sha256(body).hexdigest())
    except (SignatureError, KeyError, AttributeError, TypeError) as exc:
        raise RuntimeError(
            f"SigV4 verification self-test failed with botocore {botocore.__version__}"
            f" (tested with {TESTED_BOTOCORE}): {exc}"
        ) from exc
