"""The example functions of configs/functions/, run through the chains of configs/functions.toml."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.functions import (
    ChangedResponse,
    ContinueRequest,
    EdgeRequest,
    EdgeResponse,
    FunctionInput,
    GeneratedResponse,
    Trigger,
)
from cdn.functions.values import header_values
from cdn.topology import load_topology
from fn.chain import FunctionChain
from fn.host import FunctionHost, origin_targets

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "configs" / "functions.toml")


@pytest.fixture
async def host() -> AsyncIterator[FunctionHost]:
    host = FunctionHost.from_topology(TOPOLOGY)
    yield host
    await host.close()


def chain_of(host: FunctionHost, edge: str) -> FunctionChain:
    node = TOPOLOGY.node(edge)
    return host.chain(TOPOLOGY.functions_of(node), origin_targets(TOPOLOGY, node))


def viewer(uri: str, querystring: str = "", *headers: tuple[str, str]) -> FunctionInput:
    request = EdgeRequest(
        "GET", uri, querystring, (("Host", "cdn.example"), *headers), "198.51.100.7"
    )
    return FunctionInput(
        request, "req-1", origin=origin_targets(TOPOLOGY, TOPOLOGY.edges[0])["shield-fra"]
    )


async def test_moved_path_is_redirected_with_its_query(host: FunctionHost) -> None:
    result = await chain_of(host, "edge-par").run(Trigger.VIEWER_REQUEST, viewer("/old/a", "x=1"))
    assert isinstance(result, GeneratedResponse) and result.response.status == 301
    assert header_values(result.response.headers, "location") == ["/new/a?x=1"]
    assert not result.cacheable


async def test_directory_url_is_rewritten_to_its_index(host: FunctionHost) -> None:
    result = await chain_of(host, "edge-par").run(Trigger.VIEWER_REQUEST, viewer("/docs/"))
    assert isinstance(result, ContinueRequest) and result.request.uri == "/docs/index.html"


async def test_security_headers_are_added_on_origin_response(host: FunctionHost) -> None:
    given = viewer("/a")
    given = FunctionInput(
        given.request,
        "req-1",
        EdgeResponse(200, (("Content-Type", "text/html"),), "OK"),
        given.origin,
    )
    result = await chain_of(host, "edge-par").run(Trigger.ORIGIN_RESPONSE, given)
    assert isinstance(result, ChangedResponse)
    assert header_values(result.response.headers, "x-frame-options") == ["DENY"]
    assert header_values(result.response.headers, "content-type") == ["text/html"]


@pytest.mark.parametrize(("cookie", "uri"), [("ab=b", "/b/page"), ("ab=a", "/page")])
async def test_ab_cookie_keeps_the_viewers_group(host: FunctionHost, cookie: str, uri: str) -> None:
    given = viewer("/page", "", ("Cookie", f"theme=dark; {cookie}"))
    result = await chain_of(host, "edge-lon").run(Trigger.VIEWER_REQUEST, given)
    assert isinstance(result, ContinueRequest) and result.request.uri == uri
    assert header_values(result.request.headers, "x-ab-group") == [cookie[-1]]


async def test_ab_group_without_cookie_is_stable_per_address(host: FunctionHost) -> None:
    chain = chain_of(host, "edge-lon")
    first = await chain.run(Trigger.VIEWER_REQUEST, viewer("/page"))
    second = await chain.run(Trigger.VIEWER_REQUEST, viewer("/page"))
    assert isinstance(first, ContinueRequest) and isinstance(second, ContinueRequest)
    assert first.request.uri == second.request.uri


async def test_maintenance_page_is_generated_and_cacheable(host: FunctionHost) -> None:
    result = await chain_of(host, "edge-lon").run(Trigger.ORIGIN_REQUEST, viewer("/page"))
    assert isinstance(result, GeneratedResponse) and result.response.status == 503
    assert result.cacheable and b"maintenance" in result.response.body


async def test_maintenance_lets_health_checks_through(host: FunctionHost) -> None:
    result = await chain_of(host, "edge-lon").run(Trigger.ORIGIN_REQUEST, viewer("/health"))
    assert isinstance(result, ContinueRequest)


async def test_cloudfront_function_normalises_the_query_string(host: FunctionHost) -> None:
    given = viewer("/a", "B=2&utm_source=news&a=1&fbclid=x")
    result = await chain_of(host, "edge-ams").run(Trigger.VIEWER_REQUEST, given)
    assert isinstance(result, ContinueRequest) and result.request.querystring == "a=1&b=2"


def test_missing_code_file_names_the_topology_key(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    source = Path(__file__).resolve().parents[2] / "configs" / "functions.toml"
    path.write_text(source.read_text())
    with pytest.raises(
        ConfigError, match=r"t\.toml:function\[0\]\.code: .*rewrite_redirect\.py does not exist"
    ):
        FunctionHost.from_topology(load_topology(path))
