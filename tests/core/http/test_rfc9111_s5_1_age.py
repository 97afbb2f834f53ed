"""RFC 9111 §5.1: a list-based Age field counts by its first member.

"Although it is defined as a singleton header field, a cache encountering a message with a
list-based Age field value SHOULD use the first member of the field value, discarding
subsequent ones." (cache-tests age-parse-prefix, age-parse-prefix-twoline, age-parse-suffix.)
"""

from __future__ import annotations

from cdn.http import Headers
from cdn.http.freshness import age_value


def test_s5_1_first_member_of_one_line_counts():
    assert age_value(Headers([("Age", "0, 7200")])) == 0
    assert age_value(Headers([("Age", "7200, 0")])) == 7200


def test_s5_1_first_of_several_lines_counts():
    # Several lines are one list (RFC 9110 §5.3): the first line's value is its first member.
    assert age_value(Headers([("Age", "0"), ("Age", "7200")])) == 0
    assert age_value(Headers([("Age", "7200"), ("Age", "0")])) == 7200


def test_s5_1_invalid_first_member_means_no_age():
    for value in ("abc", "-7200", "7200.0", "abc, 7200"):
        assert age_value(Headers([("Age", value)])) == 0, value


def test_s5_1_absent_age_is_zero():
    assert age_value(Headers()) == 0


def test_s5_1_prefix_age_leaves_the_response_fresh(lab):
    entry = lab.entry({"Cache-Control": "max-age=3600", "Age": "0, 7200"})
    assert entry.is_fresh(lab.T0 + 3)


def test_s5_1_suffix_age_makes_the_response_stale(lab):
    entry = lab.entry({"Cache-Control": "max-age=3600", "Age": "7200, 0"})
    assert not entry.is_fresh(lab.T0 + 3)
