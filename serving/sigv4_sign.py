"""SigV4 signing of origin requests, as CloudFront's origin access control does for S3 buckets.

Rules: a pure helper (no sockets): ``OriginSigner.sign(method, url, headers, now)`` returns the
headers plus ``X-Amz-Date``, ``X-Amz-Content-SHA256`` (``UNSIGNED-PAYLOAD``: a CDN forwards
reads) and ``Authorization``. Only ``host`` and the ``x-amz-*`` fields are signed, so the
conditional and Range fields a cache adds or changes never break a signature. The signature
is computed by botocore's own signer (``botocore.auth.S3SigV4Auth``) with the time given, not
its wall clock; serving.sigv4 verifies what this produces (tests/storage). Keys come from
``$CDNLAB_ORIGIN_ACCESS_KEY`` / ``$CDNLAB_ORIGIN_SECRET_KEY`` (``signer_from_env``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ACCESS_KEY_ENV", "SECRET_KEY_ENV", "OriginSigner", "signer_from_env"]

ACCESS_KEY_ENV = "CDNLAB_ORIGIN_ACCESS_KEY"
SECRET_KEY_ENV = "CDNLAB_ORIGIN_SECRET_KEY"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True, slots=True)
class OriginSigner:
    """Signs requests to an S3-compatible origin with one key pair, in one region."""

    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def sign(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]] = (),
        now: float | None = None,
    ) -> list[tuple[str, str]]:
        """``headers`` with the SigV4 fields added (any previous ones replaced)."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.compat import HTTPHeaders
        from botocore.credentials import Credentials

        class _Signer(S3SigV4Auth):
            def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
                signed = HTTPHeaders()
                for name, value in request.headers.items():
                    lower = name.lower()
                    if lower == "host" or lower.startswith("x-amz-"):
                        signed[lower] = value
                return signed

        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        kept = [
            (k, v)
            for k, v in headers
            if k.lower() not in ("authorization", "x-amz-date", "x-amz-content-sha256")
        ]
        host = next((v for k, v in kept if k.lower() == "host"), urlsplit(url).netloc)
        request = AWSRequest(method=method, url=url)
        request.headers["host"] = host
        request.headers["X-Amz-Date"] = stamp
        request.headers["X-Amz-Content-SHA256"] = UNSIGNED_PAYLOAD
        for name, value in kept:
            if name.lower().startswith("x-amz-"):
                request.headers[name] = value
        request.context["timestamp"] = stamp
        signer = _Signer(Credentials(self.access_key, self.secret_key), "s3", self.region)
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        signed_headers = signer.signed_headers(signer.headers_to_sign(request))
        authorization = (
            f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return [
            *kept,
            ("X-Amz-Date", stamp),
            ("X-Amz-Content-SHA256", UNSIGNED_PAYLOAD),
            ("Authorization", authorization),
        ]


def signer_from_env(region: str = "us-east-1") -> OriginSigner:
    """An OriginSigner with the keys in the environment; ValueError naming what is missing."""
    access = os.environ.get(ACCESS_KEY_ENV)
    secret = os.environ.get(SECRET_KEY_ENV)
    if not access or not secret:
        raise ValueError(
            f'origin_auth = "sigv4" needs ${ACCESS_KEY_ENV} and ${SECRET_KEY_ENV} in the environment'
        )
    return OriginSigner(access, secret, region)
