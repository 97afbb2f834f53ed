"""SigV4 verification (header and presigned-query forms) with botocore's own signer.

Rules: the expected signature is computed by botocore (``botocore.auth.S3SigV4Auth`` for the
header form, ``S3SigV4QueryAuth`` for presigned URLs): we give it the request as received,
restricted to the headers the client says it signed, and the client's timestamp and scope;
botocore builds the canonical request, the string to sign and the HMAC chain. This is the one
module that touches botocore internals (``canonical_request``, ``string_to_sign``,
``signature``, ``request.context['timestamp']``); it was tested with botocore
``TESTED_BOTOCORE``. At start the server runs ``self_test()`` (botocore signs a request, we
verify it, and a tampered copy must fail): if a botocore release changes these internals,
the server refuses to start with authentication on instead of accepting bad signatures.

Errors: unknown key -> 403 InvalidAccessKeyId; wrong signature -> 403 SignatureDoesNotMatch;
header date more than 15 minutes off -> 403 RequestTimeTooSkewed; presigned URL past
``X-Amz-Date + X-Amz-Expires`` -> 403 AccessDenied ("Request has expired"); malformed
credentials or parameters -> 400 AuthorizationHeaderMalformed / AuthorizationQueryParametersError.
"""

from __future__ import annotations

import calendar
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import botocore
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from storage.errors import S3Error
from storage.principal import ANONYMOUS, Principal

__all__ = ["TESTED_BOTOCORE", "SigV4Verifier", "self_test"]

TESTED_BOTOCORE = "1.44.8"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 15 * 60
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")


@dataclass(frozen=True, slots=True)
class _Scope:
    access_key: str
    date: str
    region: str
    service: str


class _Signer(S3SigV4Auth):
    """botocore's header-form S3 signer, signing exactly the headers the client named."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, "s3", region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or ():
                headers[name] = value
        return headers


class _QuerySigner(S3SigV4QueryAuth):
    """botocore's presigned-URL S3 signer, signing exactly the headers the client named."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, "s3", region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return _Signer.headers_to_sign(self, request)  # type: ignore[arg-type]


def _parse_scope(credential: str, error: str) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]):
        raise S3Error(
            error,
            f"the credential {credential[:120]!r} is malformed"
            " (expected <key>/<yyyymmdd>/<region>/s3/aws4_request)",
            status=400,
        )
    if parts[3] != "s3":
        raise S3Error(error, f"the credential names service {parts[3]!r} (expected s3)", status=400)
    return _Scope(parts[0], parts[1], parts[2], parts[3])


def _timestamp_seconds(stamp: str, error: str) -> float:
    if not _TIMESTAMP.fullmatch(stamp):
        raise S3Error(error, f"the date {stamp[:40]!r} is not yyyymmddThhmmssZ", status=400)
    return float(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")))


class SigV4Verifier:
    """Checks requests against ``keys`` (access key id -> secret), at ``clock`` time."""

    def __init__(self, keys: Mapping[str, str], *, clock: Callable[[], float] = time.time) -> None:
        self.keys = dict(keys)
        self.clock = clock

    def is_signed(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        """True when the request carries a signature of either form."""
        return "Authorization" in headers or "X-Amz-Signature" in query

    def verify(
        self,
        method: str,
        raw_path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        get_all: Callable[[str], list[str]],
    ) -> Principal:
        """Who signed the request (anonymous when unsigned); S3Error when the signature fails.

        ``raw_path`` is the path as sent (percent-encoded, no query), ``query`` the decoded
        query pairs in order, ``headers`` the request headers (case-insensitive) and
        ``get_all(name)`` every value of one header.
        """
        pairs = list(query)
        query_map = dict(pairs)
        if "AWSAccessKeyId" in query_map or headers.get("Authorization", "").startswith("AWS "):
            raise S3Error(
                "InvalidRequest",
                "signature version 2 is not supported; sign with SigV4 (boto3:"
                " Config(signature_version='s3v4'))",
            )
        if "X-Amz-Signature" in query_map:
            return self._verify_presigned(method, raw_path, pairs, query_map, get_all)
        authorization = headers.get("Authorization")
        if authorization is None:
            return ANONYMOUS
        return self._verify_header(method, raw_path, pairs, headers, authorization, get_all)

    def _secret(self, scope: _Scope) -> str:
        secret = self.keys.get(scope.access_key)
        if secret is None:
            raise S3Error(
                "InvalidAccessKeyId",
                f"the access key id {scope.access_key[:40]!r} is not one of this server's keys",
            )
        return secret

    def _verify_header(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        authorization: str,
        get_all: Callable[[str], list[str]],
    ) -> Principal:
        if not authorization.startswith(ALGORITHM):
            raise S3Error(
                "InvalidRequest",
                "only AWS4-HMAC-SHA256 (SigV4) authorization is supported",
            )
        match = _AUTH.match(authorization)
        if match is None:
            raise S3Error(
                "AuthorizationHeaderMalformed",
                "the Authorization header is malformed (expected AWS4-HMAC-SHA256"
                " Credential=..., SignedHeaders=..., Signature=<64 hex digits>)",
                status=400,
            )
        scope = _parse_scope(match["credential"], "AuthorizationHeaderMalformed")
        secret = self._secret(scope)
        stamp = headers.get("X-Amz-Date", "")
        if not stamp:
            raise S3Error("AccessDenied", "a SigV4 request needs an X-Amz-Date header")
        when = _timestamp_seconds(stamp, "AuthorizationHeaderMalformed")
        if abs(self.clock() - when) > MAX_SKEW:
            raise S3Error(
                "RequestTimeTooSkewed",
                "the difference between the request time and the server's time is too large",
            )
        if "x-amz-content-sha256" not in headers:
            raise S3Error("InvalidRequest", "a SigV4 request needs x-amz-content-sha256")
        signed = match["signed"].split(";")
        if "host" not in signed:
            raise S3Error("AccessDenied", "SignedHeaders must include host")
        request = _aws_request(method, raw_path, pairs, signed, get_all)
        request.context["timestamp"] = stamp
        signer = _Signer(Credentials(scope.access_key, secret), scope.region, signed)
        expected = _expected_signature(signer, request, scope)
        if not hmac.compare_digest(expected, match["signature"]):
            raise S3Error(
                "SignatureDoesNotMatch",
                "the request signature we calculated does not match the signature you"
                " provided; check your key and signing method",
            )
        return Principal(scope.access_key)

    def _verify_presigned(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        query: Mapping[str, str],
        get_all: Callable[[str], list[str]],
    ) -> Principal:
        error = "AuthorizationQueryParametersError"
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise S3Error(error, "X-Amz-Algorithm must be AWS4-HMAC-SHA256", status=400)
        for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"):
            if name not in query:
                raise S3Error(error, f"the presigned URL lacks {name}", status=400)
        scope = _parse_scope(query["X-Amz-Credential"], error)
        secret = self._secret(scope)
        when = _timestamp_seconds(query["X-Amz-Date"], error)
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            raise S3Error(
                error, "X-Amz-Expires is not a whole number of seconds", status=400
            ) from None
        if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
            raise S3Error(
                error,
                f"X-Amz-Expires is {expires} (expected 1 to {MAX_PRESIGN_EXPIRES} seconds)",
                status=400,
            )
        now = self.clock()
        if now > when + expires:
            raise S3Error("AccessDenied", "Request has expired")
        if now < when - MAX_SKEW:
            raise S3Error("AccessDenied", "Request is not valid yet")
        signed = query["X-Amz-SignedHeaders"].split(";")
        unsigned = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
        request = _aws_request(method, raw_path, unsigned, signed, get_all)
        request.context["timestamp"] = query["X-Amz-Date"]
        signer = _QuerySigner(Credentials(scope.access_key, secret), scope.region, signed)
        expected = _expected_signature(signer, request, scope)
        if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
            raise S3Error(
                "SignatureDoesNotMatch",
                "the presigned URL's signature does not match; check the key and the URL",
            )
        return Principal(scope.access_key)


def _aws_request(
    method: str,
    raw_path: str,
    pairs: list[tuple[str, str]],
    signed: list[str],
    get_all: Callable[[str], list[str]],
) -> AWSRequest:
    """The request as botocore would have built it: path as sent, decoded query, signed headers."""
    request = AWSRequest(method=method, url="http://signed.invalid" + raw_path)
    request.params = pairs or {}
    for name in signed:
        for value in get_all(name):
            request.headers[name] = value
    return request


def _expected_signature(signer: S3SigV4Auth, request: AWSRequest, scope: _Scope) -> str:
    if request.context["timestamp"][:8] != scope.date:
        raise S3Error("SignatureDoesNotMatch", "the credential date is not the request's date")
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return signer.signature(string_to_sign, request)


def self_test() -> None:
    """Check that botocore's internals still behave as this module expects; RuntimeError if not."""
    from urllib.parse import parse_qsl, urlsplit

    stamp_time = 1_700_000_000.0
    credentials = Credentials("AKIDSELFTEST", "secret/self+test")
    verifier = SigV4Verifier({"AKIDSELFTEST": "secret/self+test"}, clock=lambda: stamp_time)

    def check(request: AWSRequest, presigned: bool) -> None:
        parts = urlsplit(request.url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            headers[name] = value
        headers["host"] = parts.netloc

        def get_all(name: str) -> list[str]:
            return list(headers.get_all(name) or [])

        verifier.verify(request.method, parts.path, pairs, headers, get_all)
        tampered = [(k, v + "x" if k == "prefix" else v) for k, v in pairs]
        try:
            verifier.verify(request.method, parts.path, tampered, headers, get_all)
        except S3Error as exc:
            if exc.code != "SignatureDoesNotMatch":
                raise
        else:
            raise RuntimeError("a tampered request passed verification")
        del presigned

    from unittest import mock

    with mock.patch("botocore.auth.get_current_datetime") as now:
        import datetime

        now.return_value = datetime.datetime.fromtimestamp(stamp_time, datetime.UTC).replace(
            tzinfo=None
        )
        url = "http://127.0.0.1:9000/b%20x/k%2By?list-type=2&prefix=a%20b"
        header_request = AWSRequest(method="GET", url=url, headers={"x-amz-meta-a": "1"})
        header_request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(header_request)
        query_request = AWSRequest(method="GET", url=url)
        S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=60).add_auth(query_request)
    try:
        check(header_request.prepare(), presigned=False)
        check(query_request.prepare(), presigned=True)
    except (S3Error, KeyError, AttributeError, TypeError) as exc:
        raise RuntimeError(
            f"SigV4 verification self-test failed with botocore {botocore.__version__}"
            f" (tested with {TESTED_BOTOCORE}): {exc}"
        ) from exc


def decoded_query(raw_query: str) -> list[tuple[str, str]]:
    """Query pairs of ``raw_query``, decoded (``+`` stays ``+``, as S3 signs it)."""
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs
