"""AWS Signature Version 4 verification of a received request, with botocore's own signer.

Rules: the expected signature is computed by ``botocore.auth.SigV4Auth`` (``S3SigV4Auth`` for
service ``s3``: no path normalisation) over exactly the headers the client listed in
SignedHeaders, the credential scope it named, its X-Amz-Date and the payload hash given by
the caller (``x-amz-content-sha256`` when sent, which must then match the body unless it is
``UNSIGNED-PAYLOAD``). The date must be within ``max_skew`` seconds of ``now`` (injected).
Signatures are compared in constant time. A refusal is a ``SignatureError`` carrying the AWS
error code (``kind``) and message; the caller words it in its protocol (JSON for DynamoDB,
XML for S3). Query-string (presigned) authentication is not handled here.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["SignatureError", "verify"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


class SignatureError(Exception):
    """A request that does not authenticate: ``kind`` is the AWS error code."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _expected_signer(base: type[SigV4Auth], signed: list[str], body_sha256: str) -> type[SigV4Auth]:
    class Expected(base):  # type: ignore[misc, valid-type]
        def headers_to_sign(self, request: AWSRequest) -> Any:
            chosen = super().headers_to_sign(request)
            for name in list(chosen.keys()):
                if name not in signed:
                    del chosen[name]
            for name in signed:
                if name not in chosen and name in request.headers:
                    chosen[name] = request.headers[name]
            return chosen

        def payload(self, request: AWSRequest) -> str:
            return body_sha256

    return Expected


def _parse_authorization(value: str) -> tuple[list[str], list[str], str]:
    algorithm, _, rest = value.partition(" ")
    if algorithm != _ALGORITHM:
        raise SignatureError(
            "IncompleteSignatureException",
            f"Unsupported authorization algorithm {algorithm!r} (expected {_ALGORITHM})",
        )
    fields = {}
    for part in rest.split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise SignatureError(
            "IncompleteSignatureException",
            f"Authorization header requires {', '.join(missing)} (got {value[:80]!r})",
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureError(
            "IncompleteSignatureException",
            f"Credential should be scoped to a valid region, service and aws4_request (got {fields['Credential']!r})",
        )
    return scope, fields["SignedHeaders"].split(";"), fields["Signature"]


def verify(
    request_method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body_sha256: str,
    keys: Mapping[str, str],
    now: float,
    *,
    service: str | None = None,
    max_skew: float = 900.0,
) -> str:
    """The access key that signed the request; SignatureError when it does not verify.

    ``path`` is the raw (still percent-encoded) path, ``query`` the raw query string,
    ``keys`` maps access keys to secret keys, ``service`` (when given) must be the scope's.
    """
    authorization = headers.get("Authorization")
    if not authorization:
        raise SignatureError(
            "MissingAuthenticationTokenException", "Request is missing Authentication Token"
        )
    scope, signed, given = _parse_authorization(authorization)
    access_key, day, region, scope_service, _ = scope
    if service is not None and scope_service != service:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    secret = keys.get(access_key)
    if secret is None:
        raise SignatureError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    amz_date = headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(amz_date, _DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise SignatureError(
            "IncompleteSignatureException",
            f"X-Amz-Date must be in the form {_DATE_FORMAT} (got {amz_date!r})",
        ) from None
    if amz_date[:8] != day:
        raise SignatureError(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{day}' != '{amz_date[:8]}'",
        )
    if abs(now - signed_at) > max_skew:
        current = datetime.fromtimestamp(now, UTC).strftime(_DATE_FORMAT)
        raise SignatureError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {current} - {max_skew / 60:g} min.",
        )
    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha is not None and content_sha != UNSIGNED_PAYLOAD and content_sha != body_sha256:
        raise SignatureError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    host = headers.get("Host", "localhost")
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    lowered = {name.lower() for name in headers}
    if any(name not in lowered for name in signed):
        raise SignatureError(
            "InvalidSignatureException",
            f"SignedHeaders lists a header the request does not carry: {';'.join(signed)}",
        )
    request = AWSRequest(
        method=request_method,
        url=url,
        headers={name: value for name, value in headers.items() if name.lower() in signed},
        data=b"",
    )
    request.context["timestamp"] = amz_date
    base = S3SigV4Auth if scope_service == "s3" else SigV4Auth
    signer = _expected_signer(base, signed, body_sha256)(
        Credentials(access_key, secret), scope_service, region
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, given):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    return access_key
