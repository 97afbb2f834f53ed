"""S3 errors: a code, an HTTP status and a message for people (rendered as S3's XML error).

Rules: every refusal of a request is an ``S3Error`` raised where the problem is found; the
app turns it into ``<Error><Code>..</Code><Message>..</Message><Resource>..</Resource>
<RequestId>..</RequestId></Error>`` with the request id also in ``x-amz-request-id``.
"""

from __future__ import annotations

__all__ = ["S3Error"]

_STATUS = {
    "AccessDenied": 403,
    "BadDigest": 400,
    "BadRequest": 400,
    "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "CORSResponse": 403,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "IncompleteBody": 400,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "InvalidPart": 400,
    "InvalidPartNumber": 416,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidURI": 400,
    "InvalidRequest": 400,
    "InvalidTag": 400,
    "KeyTooLongError": 400,
    "MalformedXML": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "NoSuchBucket": 404,
    "NoSuchCORSConfiguration": 404,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "NotImplemented": 501,
    "OperationAborted": 409,
    "PreconditionFailed": 412,
    "RequestTimeTooSkewed": 403,
    "SignatureDoesNotMatch": 403,
    "XAmzContentSHA256Mismatch": 400,
}


class S3Error(Exception):
    """A refused request: S3's error ``code`` (its status follows from it) and a message."""

    def __init__(self, code: str, message: str, *, status: int | None = None, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        if status is None and code not in _STATUS:
            raise ValueError(f"unknown S3 error code {code!r} (expected one of {sorted(_STATUS)})")
        self.code = code
        self.message = message
        self.status = status if status is not None else _STATUS[code]
        self.extra = extra
