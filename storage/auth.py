"""Who sent an S3 request: SigV4 (serving.sigv4) with refusals in S3's words.

Rules: a request with no signature is anonymous (the caller decides whether that may read);
SigV2 is refused with a hint; S3 requires ``x-amz-content-sha256`` on header-signed requests.
Refusals map to S3's codes: unknown key -> 403 InvalidAccessKeyId; wrong signature -> 403
SignatureDoesNotMatch; header date more than 15 minutes off -> 403 RequestTimeTooSkewed;
presigned URL expired or not yet valid -> 403 AccessDenied; malformed credentials or
parameters -> 400 AuthorizationHeaderMalformed / AuthorizationQueryParametersError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from serving.sigv4 import Refusal, SignatureError, SigV4Verifier
from storage.errors import S3Error
from storage.principal import ANONYMOUS, Principal

__all__ = ["StorageAuth"]

# (S3 error code, status when it is not the code's usual one) per refusal.
_S3_CODES: dict[Refusal, tuple[str, int | None]] = {
    Refusal.MISSING: ("AccessDenied", None),
    Refusal.UNSUPPORTED: ("InvalidRequest", None),
    Refusal.MALFORMED: ("AuthorizationHeaderMalformed", 400),
    Refusal.MALFORMED_QUERY: ("AuthorizationQueryParametersError", 400),
    Refusal.UNKNOWN_KEY: ("InvalidAccessKeyId", None),
    Refusal.WRONG_SERVICE: ("AuthorizationHeaderMalformed", 400),
    Refusal.SKEWED: ("RequestTimeTooSkewed", None),
    Refusal.EXPIRED: ("AccessDenied", None),
    Refusal.NOT_YET_VALID: ("AccessDenied", None),
    Refusal.PAYLOAD_MISMATCH: ("XAmzContentSHA256Mismatch", None),
    Refusal.MISMATCH: ("SignatureDoesNotMatch", None),
}


class StorageAuth:
    """Checks S3 requests against ``keys`` (access key id -> secret) at ``clock`` time."""

    def __init__(self, keys: Mapping[str, str], *, clock: Callable[[], float] = time.time) -> None:
        self.verifier = SigV4Verifier(keys, clock=clock, service="s3")

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
        authorization = headers.get("Authorization", "")
        if any(name == "AWSAccessKeyId" for name, _ in pairs) or authorization.startswith("AWS "):
            raise S3Error(
                "InvalidRequest",
                "signature version 2 is not supported; sign with SigV4 (boto3:"
                " Config(signature_version='s3v4'))",
            )
        presigned = any(name == "X-Amz-Signature" for name, _ in pairs)
        if authorization and not presigned and "x-amz-content-sha256" not in headers:
            raise S3Error("InvalidRequest", "a SigV4 request needs x-amz-content-sha256")
        try:
            signed = self.verifier.verify(method, raw_path, pairs, get_all)
        except SignatureError as exc:
            code, status = _S3_CODES[exc.reason]
            raise S3Error(code, exc.message, status=status) from None
        return ANONYMOUS if signed is None else Principal(signed.access_key)
