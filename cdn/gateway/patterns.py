"""CloudFront path patterns: ``*`` matches any characters (``/`` included), ``?`` exactly one.

Rules: matching is case-sensitive and against the URI path only (never the query string), as
CloudFront's cache behaviors do; a pattern's leading ``/`` is optional (``images/*.jpg`` and
``/images/*.jpg`` are the same pattern). Every other character is literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["PathPattern"]

_ALLOWED = re.compile(r"[A-Za-z0-9_\-.*$/~\"'@:+?&=!%]+\Z")  # CloudFront's path-pattern characters


@dataclass(frozen=True, slots=True)
class PathPattern:
    """One compiled path pattern; ``matches(path)`` says whether a request path falls under it."""

    text: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text or not _ALLOWED.match(self.text):
            raise ValueError(
                f"path pattern {self.text!r} is empty or has characters CloudFront does not "
                "allow (letters, digits, _ - . * $ / ~ \" ' @ : + ? & = ! %)"
            )
        body = self.text if self.text.startswith(("/", "*")) else "/" + self.text
        parts = []
        for char in body:
            if char == "*":
                parts.append(".*")
            elif char == "?":
                parts.append(".")
            else:
                parts.append(re.escape(char))
        object.__setattr__(self, "_regex", re.compile("".join(parts), re.DOTALL))

    @property
    def is_default(self) -> bool:
        """True for ``*``, the pattern of the default behavior."""
        return self.text == "*"

    def matches(self, path: str) -> bool:
        """Whether ``path`` (no query string) is covered by this pattern."""
        return self._regex.fullmatch(path) is not None
