"""The outcome of one invocation, whichever runtime ran it: payload or error, timings, log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdn.functions.cost import billed_duration_ms
from cdn.functions.report import InvokeReport
from cdn.functions.results import FailureKind

__all__ = ["Invocation"]


@dataclass(frozen=True, slots=True)
class Invocation:
    """One invoke of one function.

    ``payload`` is what the handler returned (when ``failure`` is None); ``error`` is Lambda's
    error object (``errorMessage``, ``errorType``, ``stackTrace``) otherwise. ``init_ms`` is set
    for a cold start. ``log`` is what the handler printed.
    """

    function: str
    request_id: str
    memory_mb: int
    payload: Any = None
    failure: FailureKind | None = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    max_memory_mb: int = 0
    log: str = ""
    instance: int | None = None

    @property
    def ok(self) -> bool:
        """True when the handler returned (its answer may still fail validation)."""
        return self.failure is None

    @property
    def cold(self) -> bool:
        """True when this invoke started its instance."""
        return self.init_ms is not None

    def report(self) -> InvokeReport:
        """Lambda's REPORT fields for this invoke."""
        status = "success"
        if self.failure is FailureKind.TIMEOUT:
            status = "timeout"
        elif self.failure is not None:
            status = "error"
        return InvokeReport(
            request_id=self.request_id,
            function=self.function,
            duration_ms=self.duration_ms,
            billed_duration_ms=billed_duration_ms(self.duration_ms),
            memory_size_mb=self.memory_mb,
            max_memory_used_mb=self.max_memory_mb,
            init_duration_ms=self.init_ms,
            status=status,
        )

    def tail_log(self) -> str:
        """START / handler output / END / REPORT, as Lambda's log tail shows them."""
        text = f"START RequestId: {self.request_id} Version: $LATEST\n{self.log}"
        if text and not text.endswith("\n"):
            text += "\n"
        if self.error is not None:
            text += f"[ERROR] {self.error.get('errorType')}: {self.error.get('errorMessage')}\n"
        return text + f"END RequestId: {self.request_id}\n{self.report().text()}\n"
