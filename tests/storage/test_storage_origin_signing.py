"""serving.sigv4_sign: what the CDN signs for a private bucket, the storage node accepts."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from storage_support import ACCESS_KEY, SECRET_KEY

from serving.sigv4_sign import OriginSigner, signer_from_env


def _get(url: str, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def private_object(s3, bucket, node) -> str:
    s3.put_object(Bucket=bucket, Key="private file.txt", Body=b"only for the CDN")
    return f"{node.url}/{bucket}/private%20file.txt"


def test_a_signed_origin_request_reads_a_private_object(private_object):
    headers = OriginSigner(ACCESS_KEY, SECRET_KEY).sign("GET", private_object)
    assert _get(private_object, headers) == (200, b"only for the CDN")


def test_the_signature_survives_range_and_conditional_fields(private_object):
    headers = OriginSigner(ACCESS_KEY, SECRET_KEY).sign("GET", private_object)
    status, body = _get(
        private_object, [*headers, ("Range", "bytes=0-3"), ("If-None-Match", '"x"')]
    )
    assert (status, body) == (206, b"only")


def test_a_request_signed_with_the_wrong_secret_is_refused(private_object):
    headers = OriginSigner(ACCESS_KEY, "wrong").sign("GET", private_object)
    status, body = _get(private_object, headers)
    assert status == 403
    assert b"SignatureDoesNotMatch" in body


def test_an_unsigned_origin_request_is_refused(private_object):
    assert _get(private_object, [])[0] == 403


def test_signer_from_env_names_the_missing_variables(monkeypatch):
    monkeypatch.delenv("CDNLAB_ORIGIN_ACCESS_KEY", raising=False)
    with pytest.raises(ValueError, match="CDNLAB_ORIGIN_ACCESS_KEY"):
        signer_from_env()


async def test_an_edge_with_origin_auth_reads_a_private_bucket_others_cannot(
    private_object, node, monkeypatch
) -> None:
    import aiohttp

    from edge.server import EdgeServer
    from edge.settings import EdgeSettings

    monkeypatch.setenv("CDNLAB_ORIGIN_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("CDNLAB_ORIGIN_SECRET_KEY", SECRET_KEY)
    path = private_object.removeprefix(node.url)
    host = node.url.removeprefix("http://")
    edges = [
        EdgeServer(EdgeSettings(name=f"edge-{auth}", port=0, upstream_url=node.url,
                                site_host=host, origin_auth=auth))
        for auth in ("sigv4", "none")
    ]  # fmt: skip
    for edge in edges:
        await edge.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(edges[0].url + path) as answer:
                assert (answer.status, await answer.read()) == (200, b"only for the CDN")
            async with session.get(edges[1].url + path) as answer:
                assert answer.status == 403
    finally:
        for edge in edges:
            await edge.stop()
