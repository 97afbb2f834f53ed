"""User metadata values with non-ASCII characters, as S3 stores and answers them (RFC 2047).

Rules: a value made of RFC 2047 encoded-words (``=?UTF-8?B?...?=``, ``=?utf-8?q?...?=``, any
charset Python knows) is decoded before it is stored; a stored value with a character beyond
US-ASCII is answered as one ``=?UTF-8?B?<base64 of its UTF-8>?=`` word, and an ASCII value as
it is. S3 documents exactly this, so a non-ASCII value survives the trip through headers that
are bytes, whatever the client's header encoding.
"""

from __future__ import annotations

import base64
import email.errors
import email.header
import re

__all__ = ["mail_safe", "stored_value"]

_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")
_WORDS = re.compile(rf"\s*{_ENCODED_WORD.pattern}(\s+{_ENCODED_WORD.pattern})*\s*")


def stored_value(value: str) -> str:
    """The value to store for a received ``x-amz-meta-*`` value (encoded-words decoded)."""
    if not _WORDS.fullmatch(value):
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (email.errors.HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return value  # not decodable after all: kept as sent


def mail_safe(value: str) -> str:
    """The value to answer for a stored one: ASCII as is, anything else one encoded-word."""
    if value.isascii():
        return value
    encoded = base64.b64encode(value.encode("utf-8", "surrogateescape")).decode()
    return f"=?UTF-8?B?{encoded}?="
