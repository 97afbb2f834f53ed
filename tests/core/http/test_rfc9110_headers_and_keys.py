"""RFC 9110 §5 (fields) and §7.6.1 (hop-by-hop), and RFC 9111 §2 primary cache keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cdn.http import Headers, cache_key, without_hop_by_hop


def test_s5_1_field_names_are_case_insensitive():
    headers = Headers({"Content-Type": "text/html"})
    assert headers.get("content-type") == headers.get("CONTENT-TYPE") == "text/html"
    assert "content-TYPE" in headers


def test_s5_3_multiple_lines_join_with_comma():
    headers = Headers([("Accept", "a"), ("accept", "b")])
    assert headers.get("Accept") == "a, b"
    assert headers.get_all("ACCEPT") == ("a", "b")


def test_s5_3_set_cookie_lines_are_never_joined():
    headers = Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    assert headers.get("set-cookie") == "a=1"
    assert headers.get_all("set-cookie") == ("a=1", "b=2")


def test_s5_6_1_list_values_split_outside_quotes():
    headers = Headers([("X", 'a, "b, c"'), ("X", " ,d")])
    assert headers.list_values("x") == ["a", '"b, c"', "d"]


def test_with_values_and_without_return_new_headers():
    base = Headers([("A", "1"), ("B", "2")])
    changed = base.with_values({"a": "9", "C": ["3", "4"]})
    assert changed.items() == (("B", "2"), ("a", "9"), ("C", "3"), ("C", "4"))
    assert base.get("a") == "1"
    assert base.without(["b"]).items() == (("A", "1"),)


def test_headers_equality_ignores_name_case():
    assert Headers({"A": "1"}) == Headers({"a": "1"})


def test_s7_6_1_hop_by_hop_and_connection_listed_fields_are_removed():
    headers = Headers(
        {
            "Connection": "close, X-Foo",
            "X-Foo": "1",
            "Keep-Alive": "5",
            "Upgrade": "h2c",
            "X-Bar": "2",
        }
    )
    assert without_hop_by_hop(headers).items() == (("X-Bar", "2"),)


def test_s2_primary_key_is_scheme_host_target():
    assert cache_key("http", "example.com", "/a?b=1") == "http://example.com/a?b=1"


def test_s2_host_is_lowercased_and_default_port_dropped():
    assert cache_key("HTTP", "Example.COM:80", "/") == "http://example.com/"
    assert cache_key("https", "example.com:443", "/") == "https://example.com/"
    assert cache_key("http", "example.com:8080", "/") == "http://example.com:8080/"


def test_s2_fragment_is_dropped_and_empty_path_is_slash():
    assert cache_key("http", "h", "") == "http://h/"
    assert cache_key("http", "h", "/a#top") == "http://h/a"


def test_s2_absolute_form_target_keeps_path_and_query():
    assert cache_key("http", "h", "http://h/a?x=1") == "http://h/a?x=1"


def test_ignored_params_are_removed_and_params_can_be_sorted():
    key = cache_key(
        "http", "h", "/a?utm_source=x&b=2&a=1", ignore_params={"utm_source"}, sort_params=True
    )
    assert key == "http://h/a?a=1&b=2"
    assert cache_key("http", "h", "/a?utm_source=x", ignore_params={"utm_source"}) == "http://h/a"


@given(st.lists(st.tuples(st.text(min_size=1), st.text())))
def test_get_all_returns_every_line_in_order(pairs):
    headers = Headers(pairs)
    for name, _ in pairs:
        expected = tuple(v for n, v in pairs if n.lower() == name.lower())
        assert headers.get_all(name) == expected
