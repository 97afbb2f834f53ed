"""A viewer request's CloudFront Functions event and its unchanged answer, prepared once per request shape.

Rules:
- the viewer-request event (``cloudfront_function_event``) is a pure function of the request
  (method, uri, query string, headers, client address) and the distribution, all but its
  ``context.requestId``; ``RequestShape`` builds it once and keeps its parts as flat tuples, so
  ``event(request_id)`` makes each invocation a fresh event of its own (new dicts and lists:
  a function may change its event, or keep it) sharing the immutable strings, with that
  request's id; a shape whose copy would differ from the built event (compared by ``repr``:
  keys, order, values) is refused (ValueError);
- a shape used ``COMPILE_AFTER`` times gets its event as one Python expression (``make_event``:
  a nested dict display of the shape's strings as literals, compiled once), which CPython
  builds in a fraction of the calls the generic copy makes. Only strings (``repr`` of a
  ``str`` is a literal that reads back as the same string) and only when the compiled event
  equals the generic one (``repr``); otherwise the shape keeps the generic copy;
- ``changes(answer)`` reads an answer as ``read_viewer_request_changes`` does: the same checks,
  the same (uri, querystring, headers), None where that says None. The parts of the answer
  that equal what the function was handed, in the same order (the query string; the headers
  with the cookies), take the result of reading the untouched event, computed once (reading is
  a pure function of those parts); everything else is read and checked in full;
- the handler itself runs on every request (its module may keep state; every invocation is
  counted and timed): only the event's construction and the unchanged parts' reading are shared.

Equality is Python's: a part whose values compare equal to the strings handed in (only objects
with a custom ``__eq__`` could without being those strings) is read as unchanged, i.e. as the
viewer's own fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdn.functions.cloudfront_answers import (
    read_viewer_request_changes,
    request_headers,
    request_querystring,
)
from cdn.functions.events import cloudfront_function_event
from cdn.functions.triggers import Trigger
from cdn.functions.validation import InvalidAnswer, check_querystring, check_uri
from cdn.functions.values import Distribution, EdgeRequest, FunctionInput, Header

__all__ = ["COMPILE_AFTER", "RequestShape"]

# Uses of a shape after which its event is compiled (``make_event``): compiling costs about
# three shape builds, so only shapes that come back get it.
COMPILE_AFTER = 8

# A folded object (querystring, headers, cookies) as (name, value, every value or None).
Recipe = tuple[tuple[str, str, tuple[str, ...] | None], ...]


def _recipe(folded: dict[str, Any]) -> Recipe:
    return tuple(
        (
            name,
            entry["value"],
            tuple(item["value"] for item in entry["multiValue"]) if "multiValue" in entry else None,
        )
        for name, entry in folded.items()
    )


def _fresh(recipe: Recipe) -> dict[str, Any]:
    """A new ``{name: {"value", "multiValue"?}}`` object from ``recipe``."""
    folded: dict[str, Any] = {}
    for name, value, every in recipe:
        if every is None:
            folded[name] = {"value": value}
        else:
            folded[name] = {"value": value, "multiValue": [{"value": v} for v in every]}
    return folded


def _order(folded: dict[str, Any]) -> list[str] | None:
    """The names of ``folded`` in order, to compare an answer's order with; None for fewer
    than two (an equal object of one name or none is in order)."""
    return list(folded) if len(folded) > 1 else None


_NOTHING = object()  # what no answer's part equals (nothing read yet)


def _folded_source(recipe: Recipe) -> str | None:
    """A dict display that builds ``_fresh(recipe)`` (None: a part is not a plain str)."""
    entries = []
    for name, value, every in recipe:
        if type(name) is not str or type(value) is not str:
            return None
        if every is None:
            entries.append(f"{name!r}: {{'value': {value!r}}}")
            continue
        if any(type(v) is not str for v in every):
            return None
        values = ", ".join(f"{{'value': {v!r}}}" for v in every)
        entries.append(f"{name!r}: {{'value': {value!r}, 'multiValue': [{values}]}}")
    return "{" + ", ".join(entries) + "}"


def _event_source(parts: tuple[Any, ...]) -> str | None:
    """``lambda request_id: <the event>`` for a shape's ``_parts`` (None: not all strings)."""
    domain, distribution_id, event_type, ip, method, uri, query, headers, cookies = parts
    scalars = (domain, distribution_id, event_type, ip, method, uri)
    if any(type(value) is not str for value in scalars):
        return None
    folded = [_folded_source(recipe) for recipe in (query, headers, cookies)]
    if None in folded:
        return None
    query_source, headers_source, cookies_source = folded
    return (
        "lambda request_id: {'version': '1.0', 'context': {"
        f"'distributionDomainName': {domain!r}, 'distributionId': {distribution_id!r}, "
        f"'eventType': {event_type!r}, 'requestId': request_id}}, 'viewer': {{'ip': {ip!r}}}, "
        f"'request': {{'method': {method!r}, 'uri': {uri!r}, 'querystring': {query_source}, "
        f"'headers': {headers_source}, 'cookies': {cookies_source}}}}}"
    )


def _copy(folded: Any) -> dict[str, Any] | None:
    """An equal copy of a plain ``{name: {"value", "multiValue"?}}`` dict (None: not one)."""
    if type(folded) is not dict:
        return None
    try:
        kept = _fresh(_recipe(folded))
    except (KeyError, TypeError):  # entries with more than a value, or not dicts: not kept
        return None
    return kept if kept == folded else None


class RequestShape:
    """One request shape's viewer-request event (fresh per ``event``) and unchanged answer."""

    __slots__ = (
        "_last",
        "_last_query",
        "_parts",
        "_shown",
        "_uses",
        "headers",
        "make_event",
        "querystring",
        "request",
        "unchanged",
        "uri",
    )

    def __init__(self, request: EdgeRequest, distribution: Distribution) -> None:
        """Raises ValueError when the event cannot be copied from its parts (the caller
        builds that request's event each time instead)."""
        self.request = request
        pristine = cloudfront_function_event(
            Trigger.VIEWER_REQUEST, FunctionInput(request, "", None, None, distribution)
        )
        context = pristine["context"]
        shown = pristine["request"]
        query, headers, cookies = shown["querystring"], shown["headers"], shown["cookies"]
        # Everything ``event`` reads, in one tuple (one attribute read per event).
        self._parts = (
            context["distributionDomainName"],
            context["distributionId"],
            context["eventType"],
            pristine["viewer"]["ip"],
            shown["method"],
            shown["uri"],
            _recipe(query),
            _recipe(headers),
            _recipe(cookies),
        )
        # ``make_event(request_id)``: the generic copy, until the shape has been used
        # COMPILE_AFTER times (then the compiled event, when it can be).
        self._uses = 0
        self.make_event: Callable[[str], dict[str, Any]] = self._copied_event
        # What ``changes`` compares an answer with, in one tuple: the method, the uri, then
        # the query string, headers and cookies handed in, each with its names in order
        # (None for fewer than two: no order to check).
        self._shown = (
            shown["method"],
            shown["uri"],
            query,
            _order(query),
            headers,
            _order(headers),
            cookies,
            _order(cookies),
        )
        if repr(self._copy_event("")) != repr(pristine):
            raise ValueError("the event's parts do not make the event back")
        unchanged = read_viewer_request_changes(
            FunctionInput(request, ""), self._copy_event("")["request"]
        )
        if unchanged is None:  # pragma: no cover - an untouched event always reads back
            raise ValueError("the untouched event does not read back as a request")
        self.uri, self.querystring, self.headers = unchanged
        # What ``changes`` answers for an answer equal to the event handed in (this object).
        self.unchanged: tuple[str, str, tuple[Header, ...]] = unchanged
        # The last changed headers and cookies read (copies, their names in order) and what
        # they read as: a function that changes them alike each time is read once.
        self._last: tuple[Any, ...] = (_NOTHING, None, _NOTHING, None, None)
        # The same for the last changed query string: (copy, names, uri, what it read as).
        self._last_query: tuple[Any, ...] = (_NOTHING, None, None, None)

    def event(self, request_id: str) -> dict[str, Any]:
        """A fresh copy of the event, for the request ``request_id``."""
        return self.make_event(request_id)

    def _copied_event(self, request_id: str) -> dict[str, Any]:
        """``event`` made from the parts (counting uses: the event is compiled past
        COMPILE_AFTER)."""
        self._uses += 1
        if self._uses == COMPILE_AFTER:
            self._compile()
        return self._copy_event(request_id)

    def _compile(self) -> None:
        """Make ``make_event`` the compiled event, when the shape's parts allow it."""
        source = _event_source(self._parts)
        if source is None:
            return
        # Literals only (strings, dicts, lists) and no names: nothing from outside is reached.
        compiled = eval(compile(source, "<cloudfront event>", "eval"), {"__builtins__": {}})
        if repr(compiled("")) == repr(self._copy_event("")):
            self.make_event = compiled

    def _copy_event(self, request_id: str) -> dict[str, Any]:
        domain, distribution_id, event_type, ip, method, uri, query, headers, cookies = self._parts
        return {
            "version": "1.0",
            "context": {
                "distributionDomainName": domain,
                "distributionId": distribution_id,
                "eventType": event_type,
                "requestId": request_id,
            },
            "viewer": {"ip": ip},
            "request": {
                "method": method,
                "uri": uri,
                "querystring": _fresh(query) if query else {},
                "headers": _fresh(headers) if headers else {},
                "cookies": _fresh(cookies) if cookies else {},
            },
        }

    def changes(self, answer: Any) -> tuple[str, str, tuple[Header, ...]] | None:
        """``read_viewer_request_changes`` of ``answer`` for this shape's request (the
        unchanged parts' results are this shape's ``uri``, ``querystring`` and ``headers``,
        the very objects; an answer equal to the event handed in, in the same order, gets
        ``unchanged`` itself).

        The checks of ``check_method`` and ``check_uri`` are inlined for the usual answer (a
        plain ``str`` uri): this runs once per request on the edge's wire fast path."""
        if type(answer) is not dict or "statusCode" in answer:
            return None
        (
            method,
            shown_uri,
            query,
            query_names,
            shown_headers,
            header_names,
            cookies_in,
            cookie_names,
        ) = self._shown
        if "method" in answer and answer["method"] != method:
            return None  # the method is read-only (check_method)
        uri = answer.get("uri", shown_uri)
        folded = answer.get("querystring")
        same_query = folded == query and (query_names is None or list(folded) == query_names)
        headers_in = answer.get("headers")
        cookies = answer.get("cookies")
        same_headers = (
            headers_in == shown_headers
            and cookies == cookies_in
            and (header_names is None or list(headers_in) == header_names)
            and (cookie_names is None or list(cookies) == cookie_names)
        )
        if same_query and same_headers and type(uri) is str and uri == shown_uri:
            return self.unchanged  # all as handed in: read as the untouched event reads
        try:
            if type(uri) is not str or uri[:1] != "/":
                uri = check_uri(uri)
            if same_query:
                querystring = self.querystring
                if uri != self.uri:  # with another uri, only its length can be wrong now
                    querystring = check_querystring(querystring, uri)
                else:
                    uri = self.uri
            else:
                last_query, last_names, last_uri, read = self._last_query
                if folded == last_query and uri == last_uri and list(folded) == last_names:
                    querystring = read
                else:
                    querystring = request_querystring(folded, uri)
                    kept = _copy(folded)
                    if kept is not None:
                        self._last_query = (kept, list(folded), uri, querystring)
            folded = headers_in
            if same_headers:
                headers = self.headers
            else:
                last_headers, last_names, last_cookies, last_cookie_names, read = self._last
                if (
                    folded == last_headers
                    and cookies == last_cookies
                    and list(folded) == last_names
                    and list(cookies or ()) == last_cookie_names
                ):
                    headers = read
                else:
                    headers = request_headers(self.request, folded, cookies)
                    self._remember(folded, cookies, headers)
        except InvalidAnswer:
            return None
        return uri, querystring, headers

    def _remember(self, folded: Any, cookies: Any, headers: tuple[Header, ...]) -> None:
        """Keep ``headers``, what ``folded`` headers and ``cookies`` (plain dicts) read as."""
        kept = _copy(folded)
        kept_cookies = None if cookies is None else _copy(cookies)
        if kept is None or (cookies is not None and kept_cookies is None):
            return
        cookie_names = list(cookies or ())
        self._last = (kept, list(folded), kept_cookies, cookie_names, headers)
