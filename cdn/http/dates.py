"""HTTP-date parsing and formatting (RFC 9110 §5.6.7).

Rules: pure functions, no clock. Parsing accepts the three historical formats (IMF-fixdate,
obsolete RFC 850, asctime) and returns seconds since the epoch as a float, or None for
anything else (callers decide what an invalid date means: an invalid Expires is "already
expired", RFC 9111 §5.3). Names (day, month, ``GMT``) match case-insensitively: "Although all
date formats are specified to be case-sensitive, a cache recipient SHOULD match the field
value case-insensitively" (RFC 9111 §4.2); other zones (``UTC``, ``AEST``) stay invalid.
Two-digit RFC 850 years: a date more than 50 years after ``now`` means the most recent past
year with those digits; without ``now``, 70-99 -> 19xx, else 20xx.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from functools import lru_cache

__all__ = ["format_http_date", "parse_http_date"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_IMF = re.compile(
    r"[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?i:GMT)\Z", re.ASCII
)
_RFC850 = re.compile(
    r"[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (?i:GMT)\Z", re.ASCII
)
_ASCTIME = re.compile(
    r"[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})\Z", re.ASCII
)


def _epoch(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float | None:
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    try:
        datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except ValueError:
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def _two_digit_year(yy: int, now: float | None) -> int:
    if now is None:
        return 1900 + yy if yy >= 70 else 2000 + yy
    current = datetime.fromtimestamp(now, tz=UTC).year
    year = current - current % 100 + yy
    if year > current + 50:
        year -= 100
    return year


def parse_http_date(value: str | None, now: float | None = None) -> float | None:
    """Seconds since the epoch for an HTTP-date, or None when ``value`` is not one.

    ``now`` only matters for two-digit RFC 850 years (see the module rules).
    """
    if not value:
        return None
    if now is None:
        return _parse_cached(value)
    return _parse(value, now)


def _parse(value: str, now: float | None) -> float | None:
    if not value:
        return None
    text = value.strip()
    match = _IMF.match(text)
    if match:
        day, mon, year, hh, mm, ss = match.groups()
        month = _MONTHS.get(mon.lower())
        return (
            None if month is None else _epoch(int(year), month, int(day), int(hh), int(mm), int(ss))
        )
    match = _RFC850.match(text)
    if match:
        day, mon, yy, hh, mm, ss = match.groups()
        month = _MONTHS.get(mon.lower())
        if month is None:
            return None
        return _epoch(_two_digit_year(int(yy), now), month, int(day), int(hh), int(mm), int(ss))
    match = _ASCTIME.match(text)
    if match:
        mon, day, hh, mm, ss, year = match.groups()
        month = _MONTHS.get(mon.lower())
        if month is None:
            return None
        return _epoch(int(year), month, int(day.strip()), int(hh), int(mm), int(ss))
    return None


_parse_cached = lru_cache(maxsize=4096)(lambda value: _parse(value, None))


def format_http_date(epoch: float) -> str:
    """The IMF-fixdate for ``epoch`` seconds, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    moment = datetime.fromtimestamp(int(epoch), tz=UTC)
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTH_NAMES[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )
