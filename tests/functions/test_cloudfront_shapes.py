"""A request shape (cdn.functions.cloudfront_shapes) stands for building the viewer-request event
and reading the answer: the same event, fresh per invocation, and the same reading of every answer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdn.functions import Distribution, EdgeRequest, FunctionInput, Trigger
from cdn.functions.cloudfront_answers import read_viewer_request_changes
from cdn.functions.cloudfront_shapes import COMPILE_AFTER, RequestShape
from cdn.functions.events import cloudfront_function_event

VR = Trigger.VIEWER_REQUEST
DISTRIBUTION = Distribution()

REQUESTS = {
    "one header": EdgeRequest("GET", "/obj/1", "", (("Host", "127.0.0.1:8080"),), "10.0.0.1"),
    "a browser's": EdgeRequest(
        "GET",
        "/p/index.html",
        "b=2&a=1&a=3&flag&utm_source=x",
        (
            ("Host", "example.com"),
            ("User-Agent", "Mozilla/5.0"),
            ("Accept", "text/html"),
            ("Cookie", "ab=a; session=xyz"),
            ("X-Amz-Cf-Id", "hidden"),  # disallowed: never shown, kept at the end
            ("Accept", "application/json"),  # a second value: multiValue
            ("Cookie", "ab=b"),
            ("Connection", "keep-alive"),
        ),
        "192.0.2.7",
    ),
    "an empty value": EdgeRequest("HEAD", "/e", "a=&b=", (("X-Empty", ""),), ""),
}


def full_event(request: EdgeRequest, request_id: str) -> dict[str, Any]:
    given_ = FunctionInput(request, request_id, None, None, DISTRIBUTION)
    return cloudfront_function_event(VR, given_)


def full_reading(request: EdgeRequest, answer: Any) -> Any:
    return read_viewer_request_changes(FunctionInput(request, "r"), answer)


@pytest.mark.parametrize("name", REQUESTS)
def test_the_event_is_the_built_one_with_the_requests_id(name: str) -> None:
    request = REQUESTS[name]
    shape = RequestShape(request, DISTRIBUTION)
    assert repr(shape.event("id-7")) == repr(full_event(request, "id-7"))  # order too


def test_each_event_is_fresh() -> None:
    shape = RequestShape(REQUESTS["a browser's"], DISTRIBUTION)
    first = shape.event("id-1")
    first["request"]["headers"]["accept"]["multiValue"].append({"value": "x"})
    first["request"]["headers"]["host"]["value"] = "changed"
    first["request"]["querystring"].clear()
    first["context"]["eventType"] = "changed"
    assert repr(shape.event("id-1")) == repr(full_event(REQUESTS["a browser's"], "id-1"))


def _unchanged(request: dict[str, Any]) -> None:
    pass


def _reorder_headers(request: dict[str, Any]) -> None:
    request["headers"] = dict(reversed(list(request["headers"].items())))


def _add_header(request: dict[str, Any]) -> None:
    request["headers"]["x-added"] = {"value": "1"}


def _change_read_only(request: dict[str, Any]) -> None:
    request["headers"]["host"] = {"value": "elsewhere"}


def _add_disallowed(request: dict[str, Any]) -> None:
    request["headers"]["x-cache"] = {"value": "HIT"}


def _drop_headers(request: dict[str, Any]) -> None:
    request["headers"] = {}


def _sort_query(request: dict[str, Any]) -> None:
    query = request["querystring"]
    request["querystring"] = {name: query[name] for name in sorted(query)}


def _copy_query(request: dict[str, Any]) -> None:
    request["querystring"] = copy.deepcopy(request["querystring"])


def _bad_query(request: dict[str, Any]) -> None:
    request["querystring"]["bad key"] = {"value": "1"}


def _new_uri(request: dict[str, Any]) -> None:
    request["uri"] = "/elsewhere" + "x" * 20


def _long_uri(request: dict[str, Any]) -> None:
    request["uri"] = "/" + "x" * 8200


def _bad_uri(request: dict[str, Any]) -> None:
    request["uri"] = "no-slash"


def _uri_not_a_string(request: dict[str, Any]) -> None:
    request["uri"] = 7


def _no_uri(request: dict[str, Any]) -> None:
    del request["uri"]


def _no_headers(request: dict[str, Any]) -> None:
    del request["headers"]


def _no_query(request: dict[str, Any]) -> None:
    del request["querystring"]


def _no_cookies(request: dict[str, Any]) -> None:
    del request["cookies"]


def _none_of_them(request: dict[str, Any]) -> None:
    del request["headers"], request["querystring"], request["cookies"]


def _method(request: dict[str, Any]) -> None:
    request["method"] = "POST"


def _cookie_changed(request: dict[str, Any]) -> None:
    request["cookies"]["ab"] = {"value": "z"}


def _cookies_reordered(request: dict[str, Any]) -> None:
    request["cookies"] = dict(reversed(list(request["cookies"].items())))


def _cookies_not_an_object(request: dict[str, Any]) -> None:
    request["cookies"] = "ab=a"


def _status_code(request: dict[str, Any]) -> None:
    request["statusCode"] = 200


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    f.__name__.strip("_"): f
    for f in (
        _unchanged,
        _reorder_headers,
        _add_header,
        _change_read_only,
        _add_disallowed,
        _drop_headers,
        _sort_query,
        _copy_query,
        _bad_query,
        _new_uri,
        _long_uri,
        _bad_uri,
        _uri_not_a_string,
        _no_uri,
        _no_headers,
        _no_query,
        _no_cookies,
        _none_of_them,
        _method,
        _cookie_changed,
        _cookies_reordered,
        _cookies_not_an_object,
        _status_code,
    )
}


@pytest.mark.parametrize("name", REQUESTS)
@pytest.mark.parametrize("mutation", MUTATIONS)
def test_an_answer_reads_as_the_full_reading(name: str, mutation: str) -> None:
    request = REQUESTS[name]
    shape = RequestShape(request, DISTRIBUTION)
    for _ in range(2):  # the first answer of its kind, then one read as before
        answer = shape.event("id-1")["request"]
        MUTATIONS[mutation](answer)
        assert shape.changes(answer) == full_reading(request, answer)


def test_answers_read_in_any_order_read_as_the_full_reading() -> None:
    request = REQUESTS["a browser's"]
    shape = RequestShape(request, DISTRIBUTION)
    for mutation in [*MUTATIONS.values(), *reversed(MUTATIONS.values())]:
        answer = shape.event("id-1")["request"]
        mutation(answer)
        assert shape.changes(answer) == full_reading(request, answer), mutation.__name__


@pytest.mark.parametrize("answer", [None, [], "request", {"statusCode": 302}])
def test_what_is_not_a_request_reads_as_none(answer: Any) -> None:
    shape = RequestShape(REQUESTS["one header"], DISTRIBUTION)
    assert shape.changes(answer) is None


def test_an_unchanged_answer_gives_the_shapes_own_result() -> None:
    shape = RequestShape(REQUESTS["a browser's"], DISTRIBUTION)
    uri, querystring, headers = shape.changes(shape.event("id-1")["request"])  # type: ignore[misc]
    assert (uri, querystring, headers) == (shape.uri, shape.querystring, shape.headers)
    assert headers is shape.headers


@pytest.mark.parametrize("name", REQUESTS)
def test_an_answer_as_handed_in_reads_as_the_shapes_unchanged_result_itself(name: str) -> None:
    # The wire hit tells the usual answer apart by this identity (edge/functions.py).
    request = REQUESTS[name]
    shape = RequestShape(request, DISTRIBUTION)
    assert shape.changes(shape.event("id-1")["request"]) is shape.unchanged
    assert shape.unchanged == full_reading(request, shape.event("id-2")["request"])


_names = st.sampled_from(["host", "accept", "x-a", "x-b", "cookie", "x-amz-cf-id", "via"])
_values = st.text(alphabet="ab=; 1", max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    headers=st.lists(st.tuples(_names, _values), max_size=6),
    query=st.text(alphabet="ab=&1", max_size=10),
    edits=st.lists(
        st.tuples(st.sampled_from(["headers", "querystring", "cookies"]), _names, _values)
    ),
)
def test_any_request_and_edit_read_as_the_full_reading(headers, query, edits) -> None:
    request = EdgeRequest("GET", "/x", query, tuple(headers), "10.0.0.1")
    shape = RequestShape(request, DISTRIBUTION)
    assert repr(shape.event("r")) == repr(full_event(request, "r"))
    for _ in range(2):  # the next request's function does the same: read as the first
        answer = shape.event("r")["request"]
        assert shape.changes(answer) == full_reading(request, answer)
        for part, name, value in edits:
            answer[part][name] = {"value": value}
            assert shape.changes(answer) == full_reading(request, answer)
            assert shape.changes(answer) == full_reading(request, answer)


def test_a_changed_query_read_again_is_read_alike_and_then_changed_again() -> None:
    request = REQUESTS["a browser's"]
    shape = RequestShape(request, DISTRIBUTION)
    answers = []
    for value, uri in (("1", "/p"), ("1", "/p"), ("1", "/" + "q" * 8170), ("2", "/p"), ("1", "/p")):
        answer = shape.event("r")["request"]
        answer["uri"] = uri
        answer["querystring"] = {"z": {"value": value}, **answer["querystring"]}
        answers.append(shape.changes(answer))
        assert answers[-1] == full_reading(request, answer)
        answer["querystring"]["z"]["value"] = "changed after"  # a kept copy is not this
    assert answers[0] == answers[1] == answers[4] != answers[3]
    assert answers[2] is None  # too long with that uri, whatever was read before


def test_a_changed_answer_read_again_is_read_alike_and_then_changed_again() -> None:
    request = REQUESTS["a browser's"]
    shape = RequestShape(request, DISTRIBUTION)
    answers = []
    for value in ("1", "1", "2", "1"):
        answer = shape.event("r")["request"]
        answer["headers"]["x-added"] = {"value": value}
        answer["cookies"]["ab"] = {"value": value}
        answers.append(shape.changes(answer))
        assert answers[-1] == full_reading(request, answer)
        answer["headers"]["x-added"]["value"] = "changed after"  # a kept copy is not this
    assert answers[0][2] is answers[1][2]  # type: ignore[index]
    assert answers[0] == answers[3] != answers[2]


# ---- the compiled event (``make_event`` after COMPILE_AFTER uses) ----------------------------


def used(shape: RequestShape, times: int = COMPILE_AFTER) -> RequestShape:
    for n in range(times):
        shape.event(f"warm-{n}")
    return shape


@pytest.mark.parametrize("name", REQUESTS)
def test_a_shape_used_often_builds_its_event_compiled_and_the_same(name: str) -> None:
    request = REQUESTS[name]
    shape = RequestShape(request, DISTRIBUTION)
    generic = shape.make_event
    used(shape)
    assert shape.make_event is not generic  # compiled
    assert repr(shape.event("id-9")) == repr(full_event(request, "id-9"))


def test_a_compiled_event_is_fresh_each_time() -> None:
    shape = used(RequestShape(REQUESTS["a browser's"], DISTRIBUTION))
    first = shape.event("id-1")
    first["request"]["headers"]["accept"]["multiValue"].append({"value": "x"})
    first["request"]["cookies"]["ab"]["value"] = "changed"
    first["request"]["querystring"].clear()
    first["viewer"]["ip"] = "changed"
    assert repr(shape.event("id-1")) == repr(full_event(REQUESTS["a browser's"], "id-1"))


# Any text a request may carry, quotes, backslashes and non-ASCII included: each is written
# into the compiled event as a literal, which must read back as the very string.
_any_text = st.text(max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    uri=_any_text,
    headers=st.lists(st.tuples(st.text(min_size=1, max_size=6), _any_text), max_size=5),
    query=_any_text,
    client=_any_text,
)
def test_any_request_compiles_to_the_same_event(uri, headers, query, client) -> None:
    request = EdgeRequest("GET", "/" + uri, query, tuple(headers), client)
    try:
        shape = RequestShape(request, DISTRIBUTION)
    except ValueError:  # a shape that cannot be kept is built each time (never compiled)
        return
    used(shape)
    assert repr(shape.event("r")) == repr(full_event(request, "r"))
    answer = shape.event("r")["request"]
    assert shape.changes(answer) == full_reading(request, answer)
