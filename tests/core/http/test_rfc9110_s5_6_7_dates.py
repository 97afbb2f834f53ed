"""RFC 9110 §5.6.7: HTTP-date formats (the RFC's own three examples)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cdn.http import format_http_date, parse_http_date

EPOCH_1994 = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT


def test_s5_6_7_imf_fixdate():
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == EPOCH_1994


def test_s5_6_7_obsolete_rfc850_date():
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == EPOCH_1994


def test_s5_6_7_obsolete_asctime_date():
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == EPOCH_1994


def test_s5_6_7_rfc850_year_more_than_50_years_ahead_is_in_the_past():
    now = parse_http_date("Sun, 06 Nov 2050 00:00:00 GMT")
    assert parse_http_date("Monday, 01-Jan-01 00:00:00 GMT", now=now) == parse_http_date(
        "Mon, 01 Jan 2001 00:00:00 GMT"
    )
    assert parse_http_date("Friday, 01-Jan-99 00:00:00 GMT", now=now) == parse_http_date(
        "Fri, 01 Jan 2099 00:00:00 GMT"
    )


def test_invalid_dates_are_none():
    for text in ("0", "-1", "tomorrow", "Sun, 32 Nov 1994 08:49:37 GMT", "", "Sun, 06 Nov 1994"):
        assert parse_http_date(text) is None


def test_format_is_imf_fixdate():
    assert format_http_date(EPOCH_1994) == "Sun, 06 Nov 1994 08:49:37 GMT"


@given(st.integers(min_value=0, max_value=253402300799))
def test_format_then_parse_round_trips(seconds):
    assert parse_http_date(format_http_date(seconds)) == seconds


@given(st.text())
def test_parse_never_raises(text):
    parse_http_date(text)
