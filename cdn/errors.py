"""Errors the core raises for bad input; each names where the problem is and what was expected.

Rules: pure values, no I/O. Shells print ``str(exc)`` to people; they never show a traceback.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is wrong: ``where`` is "file:key" or "file:line", ``expected`` says what fits."""

    def __init__(self, where: str, problem: str, expected: str | None = None) -> None:
        self.where = where
        self.problem = problem
        self.expected = expected
        message = f"{where}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)


class TraceError(ConfigError):
    """A trace record cannot be read: ``where`` is "file:line" (CSV) or "file:record N" (binary)."""


class UserError(Exception):
    """A problem the user can fix: bad input, bad config, a busy port.

    The message names the file, line or field and what was expected; `cdn` prints it as
    ``cdn <sub>: error: <message>`` and exits with status 2. Shells below the CLI (the
    planner, servers) raise it too, so it lives here, not in ``cli/``.
    """
