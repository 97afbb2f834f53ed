"""RFC 9111 §4.2: cache recipients match HTTP-dates case-insensitively.

"Although all date formats are specified to be case-sensitive, a cache recipient SHOULD match
the field value case-insensitively." (cache-tests freshness-expires-wrong-case-*.) Zones other
than GMT stay invalid (freshness-expires-invalid-utc, -aest).
"""

from __future__ import annotations

from cdn.http import parse_http_date

FIXDATE = parse_http_date("Thu, 18 Aug 2050 02:01:18 GMT")


def test_s4_2_zone_in_any_case():
    assert parse_http_date("Thu, 18 Aug 2050 02:01:18 gMT") == FIXDATE
    assert parse_http_date("Thu, 18 Aug 2050 02:01:18 gmt") == FIXDATE


def test_s4_2_day_and_month_in_any_case():
    assert parse_http_date("THU, 18 AUG 2050 02:01:18 GMT") == FIXDATE


def test_s4_2_rfc850_zone_in_any_case():
    assert parse_http_date("Thursday, 18-Aug-50 02:01:18 Gmt") == FIXDATE


def test_s4_2_other_zones_stay_invalid():
    assert parse_http_date("Thu, 18 Aug 2050 02:01:18 UTC") is None
    assert parse_http_date("Thu, 18 Aug 2050 02:01:18 AEST") is None


def test_s4_2_expires_with_lowercase_zone_gives_freshness(lab):
    entry = lab.entry({"Expires": lab.date(lab.T0 + 600).replace("GMT", "gmt")})
    assert entry.freshness_lifetime == 600
