"""Who sent a request: the access key id that signed it, or nobody (anonymous)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ANONYMOUS", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who signed a request: the access key id (None: anonymous)."""

    access_key: str | None


ANONYMOUS = Principal(None)
