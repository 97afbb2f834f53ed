"""Shared helpers for the RFC-section tests: build requests, responses and stored entries.

All times are injected floats; T0 is an arbitrary epoch used as "the origin's clock".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from cdn.http import (
    CacheConfig,
    Entry,
    Headers,
    Request,
    Response,
    Store,
    absorb,
    cache_key,
    decide,
    format_http_date,
)

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def hdrs(fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> Headers:
    return Headers(fields)


class Lab:
    """A tiny driver over the pure API: one URL, one config, explicit times."""

    T0 = T0

    def __init__(self, config: CacheConfig | None = None) -> None:
        self.config = config or CacheConfig()

    @staticmethod
    def date(at: float) -> str:
        return format_http_date(at)

    def request(
        self,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        method: str = "GET",
        target: str = "/a",
    ) -> Request:
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        if not any(name.lower() == "host" for name, _ in pairs):
            pairs.insert(0, ("Host", "example.com"))
        return Request(method, target, Headers(pairs))

    def key(self, target: str = "/a") -> str:
        return cache_key("http", "example.com", target)

    def response(
        self,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        status: int = 200,
        size: int = 100,
        date: float | None = T0,
    ) -> Response:
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        if date is not None and not any(name.lower() == "date" for name, _ in pairs):
            pairs.append(("Date", format_http_date(date)))
        return Response(status, Headers(pairs), size)

    def entry(
        self,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        status: int = 200,
        request_time: float = T0,
        response_time: float = T0,
        date: float | None = T0,
        request: Request | None = None,
    ) -> Entry:
        """Store a response through decide/absorb (so it is exactly what the shells store)."""
        request = request or self.request()
        response = self.response(fields, status=status, date=date)
        decision = decide(request, self.key(request.target), [], request_time, self.config)
        outcome = absorb(
            request,
            self.key(request.target),
            decision,
            response,
            request_time,
            response_time,
            self.config,
        )
        assert isinstance(outcome, Store), outcome
        return outcome.entry

    def fetch(
        self,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        status: int = 200,
        request: Request | None = None,
        now: float = T0,
    ):
        """decide() on an empty cache, then absorb() the given response: the Outcome."""
        request = request or self.request()
        response = self.response(fields, status=status, date=now)
        decision = decide(request, self.key(request.target), [], now, self.config)
        return absorb(request, self.key(request.target), decision, response, now, now, self.config)

    def decide(self, stored: list[Entry], now: float, request: Request | None = None):
        request = request or self.request()
        return decide(request, self.key(request.target), stored, now, self.config)


@pytest.fixture
def lab() -> Lab:
    return Lab()


@pytest.fixture
def make_lab():
    """Build a Lab with a non-default CacheConfig: ``make_lab(store_set_cookie=True)``."""

    def build(**config: object) -> Lab:
        return Lab(CacheConfig(**config))  # type: ignore[arg-type]

    return build
