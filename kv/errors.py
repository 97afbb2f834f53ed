"""DynamoDB errors as values: the ``__type`` a client matches on and DynamoDB's own wording.

Rules: every refusal of a request is a ``DynamoError`` with HTTP 400 (the client's fault);
only a defect of ours is a 500 (``InternalServerError``). Messages keep DynamoDB's wording
where it is known, because SDKs and user code match on them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConditionalCheckFailed",
    "DynamoError",
    "IdempotentParameterMismatch",
    "RequestTooLarge",
    "ResourceInUse",
    "ResourceNotFound",
    "SerializationError",
    "TransactionCanceled",
    "UnknownOperation",
    "ValidationError",
]

_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class DynamoError(Exception):
    """A refused request: ``kind`` is the ``__type`` suffix, ``message`` DynamoDB's text."""

    kind = "InternalServerError"
    status = 400

    def __init__(
        self, message: str, *, extra: dict[str, Any] | None = None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if kind is not None:
            self.kind = kind  # an AWS error code of its own (SigV4 refusals)

    def body(self) -> dict[str, Any]:
        """The JSON error document (``__type``, ``message`` and any extra members)."""
        return {"__type": _PREFIX + self.kind, "message": self.message, **self.extra}


class ValidationError(DynamoError):
    """The request is malformed or breaks a rule of the data model."""

    kind = "ValidationException"


class ConditionalCheckFailed(DynamoError):
    """A ConditionExpression (or Expected) evaluated to false."""

    kind = "ConditionalCheckFailedException"

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__(
            "The conditional request failed", extra={"Item": item} if item is not None else None
        )


class ResourceNotFound(DynamoError):
    """The table does not exist."""

    kind = "ResourceNotFoundException"


class ResourceInUse(DynamoError):
    """The table already exists."""

    kind = "ResourceInUseException"


class SerializationError(DynamoError):
    """The body is not JSON, or a member has the wrong JSON type."""

    kind = "SerializationException"


class UnknownOperation(DynamoError):
    """X-Amz-Target names no operation we know."""

    kind = "UnknownOperationException"


class TransactionCanceled(DynamoError):
    """A transaction was refused; ``reasons`` says why per action."""

    kind = "TransactionCanceledException"


class IdempotentParameterMismatch(DynamoError):
    """A ClientRequestToken reused within its window for a different request."""

    kind = "IdempotentParameterMismatchException"


class RequestTooLarge(DynamoError):
    """A request body over DynamoDB's 16 MB limit (HTTP 413, as DynamoDB answers)."""

    kind = "RequestEntityTooLarge"
    status = 413
