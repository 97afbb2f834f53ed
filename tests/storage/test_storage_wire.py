"""The wire: aws-chunked bodies over TLS, Expect: 100-continue, virtual-host style, /_cdn/ routes."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from storage_support import (
    ACCESS_KEY,
    SECRET_KEY,
    ServerThread,
    client,
    self_signed_certificate,
    start_server,
)


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory) -> Iterator[tuple[ServerThread, str]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_certificate(folder)
    server = start_server(
        folder / "data", keys=((ACCESS_KEY, SECRET_KEY),), tls_cert=cert, tls_key=key
    )
    yield server, str(cert)
    server.stop()


def test_boto3_over_tls_sends_aws_chunked_and_the_object_is_intact(tls_node):
    server, cert = tls_node
    s3 = client(server.url, verify=cert)
    s3.create_bucket(Bucket="chunked")
    seen: list[dict[str, str]] = []
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: seen.append(dict(request.headers))
    )
    body = bytes(range(256)) * 1000
    put = s3.put_object(Bucket="chunked", Key="k", Body=body)
    assert seen[0]["Content-Encoding"] in (b"aws-chunked", "aws-chunked")
    got = s3.get_object(Bucket="chunked", Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    assert "ContentEncoding" not in got  # aws-chunked is a transfer detail, never stored


def test_upload_fileobj_over_tls_round_trips(tls_node, tmp_path):
    server, cert = tls_node
    s3 = client(server.url, verify=cert)
    s3.create_bucket(Bucket="chunked-file")
    source = tmp_path / "src.bin"
    source.write_bytes(b"z" * 300_000)
    s3.upload_file(str(source), "chunked-file", "file")
    assert s3.get_object(Bucket="chunked-file", Key="file")["Body"].read() == b"z" * 300_000


@pytest.fixture(scope="module")
def open_node(tmp_path_factory) -> Iterator[ServerThread]:
    server = start_server(tmp_path_factory.mktemp("open"))
    yield server
    server.stop()


def _create(url: str) -> None:
    """Create the bucket at ``url`` (already there: fine)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="PUT")):
            pass
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code != 409:
            raise


def test_expect_100_continue_gets_a_continue_before_the_body(open_node):
    _create(open_node.url + "/expect")
    parts = urlsplit(open_node.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.putrequest("PUT", "/expect/k")
    connection.putheader("Content-Length", "5")
    connection.putheader("Expect", "100-continue")
    connection.endheaders()
    interim = connection.sock.recv(1024)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    connection.send(b"hello")
    assert connection.getresponse().status == 200
    connection.close()
    with urllib.request.urlopen(open_node.url + "/expect/k") as answer:
        assert answer.read() == b"hello"


def test_virtual_host_style_addresses_the_bucket_by_host(open_node):
    _create(open_node.url + "/vhost")
    parts = urlsplit(open_node.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request(
        "PUT", "/dir/file.txt", body=b"by host", headers={"Host": f"vhost.localhost:{parts.port}"}
    )
    assert connection.getresponse().read() == b""
    connection.request("GET", "/dir/file.txt", headers={"Host": f"vhost.localhost:{parts.port}"})
    assert connection.getresponse().read() == b"by host"
    connection.close()
    with urllib.request.urlopen(open_node.url + "/vhost/dir/file.txt") as answer:
        assert answer.read() == b"by host"


def test_health_reports_buckets_and_objects(open_node):
    with urllib.request.urlopen(open_node.url + "/_cdn/health") as answer:
        health = json.loads(answer.read())
    assert health["status"] == "ok"
    assert health["role"] == "storage"


def test_metrics_expose_requests_and_pending_purges(open_node):
    with urllib.request.urlopen(open_node.url + "/"):
        pass
    with urllib.request.urlopen(open_node.url + "/_cdn/metrics") as answer:
        text = answer.read().decode()
    assert 'cdnlab_storage_requests_total{operation="ListBuckets",status="200"}' in text
    assert "cdnlab_storage_pending_purge_notifications 0.0" in text


def test_sigv2_presigned_urls_are_refused_with_a_hint(tmp_path):
    server = start_server(tmp_path, keys=((ACCESS_KEY, SECRET_KEY),))
    try:
        request = urllib.request.Request(server.url + "/b/k?AWSAccessKeyId=x&Signature=y&Expires=1")
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(request)
        body = excinfo.value.read()
        assert b"<Code>InvalidRequest</Code>" in body
        assert b"s3v4" in body
    finally:
        server.stop()


def _chunked_put(node: ServerThread, path: str, body: bytes, **headers: str) -> tuple[int, bytes]:
    parts = urlsplit(node.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        all_headers = {
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "Content-Length": str(len(body)),
            **headers,
        }
        connection.request("PUT", path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_an_aws_chunked_body_with_its_trailer_is_decoded(open_node):
    _create(open_node.url + "/chunks")
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    status, _ = _chunked_put(
        open_node,
        "/chunks/ok",
        body,
        **{"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": "11"},
    )
    assert status == 200
    with urllib.request.urlopen(open_node.url + "/chunks/ok") as answer:
        assert answer.read() == b"hello world"


def test_a_wrong_trailing_checksum_is_bad_digest_and_nothing_is_stored(open_node):
    _create(open_node.url + "/chunks2")
    body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    status, answer = _chunked_put(
        open_node, "/chunks2/bad", body, **{"x-amz-trailer": "x-amz-checksum-crc32"}
    )
    assert status == 400
    assert b"<Code>BadDigest</Code>" in answer
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(open_node.url + "/chunks2/bad")


@pytest.mark.parametrize(
    "body",
    [b"zz\r\nhello\r\n0\r\n\r\n", b"9\r\nhello\r\n0\r\n\r\n", b"5\r\nhello"],
    ids=["bad-size", "short-chunk", "truncated"],
)
def test_a_malformed_aws_chunked_body_is_a_400_not_a_crash(open_node, body):
    _create(open_node.url + "/chunks3")
    status, answer = _chunked_put(open_node, "/chunks3/k", body)
    assert status == 400
    assert b"<Code>IncompleteBody</Code>" in answer
