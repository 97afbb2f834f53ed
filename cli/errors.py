"""The one error type the `cdn` command shows to people without a traceback (``cdn.errors``).

It is defined in the core so shells below the CLI (e.g. ``planner.runner``) can raise it
without importing ``cli/``; this module keeps the CLI's own import path.
"""

from cdn.errors import UserError

__all__ = ["UserError"]
