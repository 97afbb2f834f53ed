"""The one error type the `cdn` command shows to people without a traceback."""


class UserError(Exception):
    """A problem the user can fix: bad input, bad config, a busy port.

    The message names the file, line or field and what was expected; `cdn` prints it as
    ``cdn <sub>: error: <message>`` and exits with status 2.
    """
