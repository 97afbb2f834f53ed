"""Durability: SIGKILLs in the middle of PUTs, multipart completions and tag rewrites never
leave a partial object or a temporary file; keys can never escape the data folder or reach
metadata."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import multiprocessing
import os
import random
import re
import signal
import socket
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from storage_support import client

MiB = 1024 * 1024


def _serve(data: str, port: int) -> None:
    from storage.server import run
    from storage.settings import StorageSettings

    run(StorageSettings(data=Path(data), port=port))


class StorageProcess:
    """A storage node in a child process (authentication off), killed and restarted.

    The child is forked from the test process (storage already imported), so 50 restarts
    cost milliseconds each instead of a fresh interpreter's imports.
    """

    def __init__(self, data: Path) -> None:
        self.data = data
        self.process: multiprocessing.process.BaseProcess | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        context = multiprocessing.get_context("fork")
        self.process = context.Process(target=_serve, args=(str(self.data), self.port), daemon=True)
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a threaded process (pytest-xdist's worker has
            # threads); the child only runs its own new event loop, never those threads' code.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.process.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/_cdn/health")[0] == 200:
                    return
            except OSError:
                pass
            if not self.process.is_alive():
                break
            time.sleep(0.01)
        raise RuntimeError("the storage child did not become healthy")

    def kill(self) -> None:
        assert self.process is not None and self.process.pid is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(10)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(10)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def _put_in_background(node: StorageProcess, path: str, body: bytes) -> threading.Thread:
    def send() -> None:
        with contextlib.suppress(OSError, http.client.HTTPException):  # killed mid-request
            node.request("PUT", path, body)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _digest(body: bytes | None) -> str | None:
    return None if body is None else hashlib.sha256(body).hexdigest()


def _read_digest(node: StorageProcess, path: str) -> str | None:
    status, body = node.request("GET", path)
    if status == 404:
        return None
    assert status == 200, body[:300]
    return _digest(body)


def _leftovers(data: Path) -> list[Path]:
    return list((data / "tmp").iterdir())


@pytest.mark.slow
def test_sigkills_during_puts_leave_old_or_new_objects_and_no_temporary_files(tmp_path):
    rng = random.Random(14)
    node = StorageProcess(tmp_path)
    node.start()
    try:
        assert node.request("PUT", "/crash")[0] == 200
        keys = [f"/crash/object-{i}" for i in range(4)]
        current: dict[str, str | None] = dict.fromkeys(keys)
        outcomes = {"old": 0, "new": 0}
        for kill in range(50):
            key = rng.choice(keys)
            body = rng.randbytes(rng.randint(1 * MiB, 10 * MiB))
            sender = _put_in_background(node, key, body)
            time.sleep(rng.uniform(0.0, 0.25))
            node.kill()
            sender.join(10)
            node.start()
            assert _leftovers(tmp_path) == [], f"temporary files after kill {kill}"
            found = _read_digest(node, key)
            assert found in (current[key], _digest(body)), f"kill {kill}: a mixed object"
            outcomes["new" if found == _digest(body) else "old"] += 1
            current[key] = found
        for key in keys:
            assert _read_digest(node, key) == current[key]
        print(f"kills that left the old object: {outcomes['old']}, the new one: {outcomes['new']}")
    finally:
        node.stop()


@pytest.mark.slow
def test_sigkills_during_multipart_completion_leave_old_or_new(tmp_path):
    rng = random.Random(7)
    node = StorageProcess(tmp_path)
    node.start()
    try:
        node.request("PUT", "/mpu")
        old = b"old object"
        node.request("PUT", "/mpu/big", old)
        current = _digest(old)
        for kill in range(5):
            s3 = client(node.url)
            upload = s3.create_multipart_upload(Bucket="mpu", Key="big")["UploadId"]
            parts = [rng.randbytes(5 * MiB), rng.randbytes(MiB)]
            etags = [
                s3.upload_part(Bucket="mpu", Key="big", UploadId=upload, PartNumber=i + 1, Body=p)[
                    "ETag"
                ]
                for i, p in enumerate(parts)
            ]
            document = "".join(
                f"<Part><PartNumber>{i + 1}</PartNumber><ETag>{e}</ETag></Part>"
                for i, e in enumerate(etags)
            )
            body = f"<CompleteMultipartUpload>{document}</CompleteMultipartUpload>".encode()
            sender = threading.Thread(
                target=lambda u=upload, b=body: _quiet(
                    node.request, "POST", f"/mpu/big?uploadId={quote(u)}", b
                ),
                daemon=True,
            )
            sender.start()
            time.sleep(rng.uniform(0.0, 0.1))
            node.kill()
            sender.join(10)
            node.start()
            assert _leftovers(tmp_path) == [], f"temporary files after kill {kill}"
            new = _digest(b"".join(parts))
            found = _read_digest(node, "/mpu/big")
            assert found in (current, new), f"kill {kill}: a mixed object"
            if found == current:  # the completion did not happen: it can still be completed
                status, _ = node.request("POST", f"/mpu/big?uploadId={quote(upload)}", body)
                assert status == 200
                assert _read_digest(node, "/mpu/big") == new
            current = new
    finally:
        node.stop()


def _quiet(call, *args) -> None:
    with contextlib.suppress(OSError, http.client.HTTPException):
        call(*args)


def test_keys_that_look_like_paths_stay_inside_their_bucket(tmp_path):
    from storage_support import start_server

    server = start_server(tmp_path / "data")
    try:
        s3 = client(server.url)
        s3.create_bucket(Bucket="jail")
        bucket_meta = (tmp_path / "data/buckets/jail/bucket.json").read_bytes()
        nasty = [
            "../../escape",
            "/etc/passwd",
            "../bucket.json",
            "bucket.json",
            "..",
            ".",
            "a/../../b",
            "\\..\\x",
        ]
        for key in nasty:
            s3.put_object(Bucket="jail", Key=key, Body=b"payload")
        files = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
        objects = {f for f in files if f.parts[:4] == ("data", "buckets", "jail", "objects")}
        assert files - objects == {Path("data/buckets/jail/bucket.json")}
        assert all(re.fullmatch(r"[0-9a-f]{32}", f.name) for f in objects)
        assert len(objects) == len(nasty)
        assert (tmp_path / "data/buckets/jail/bucket.json").read_bytes() == bucket_meta
    finally:
        server.stop()


def test_a_key_with_nul_is_refused(tmp_path):
    from storage_support import start_server

    server = start_server(tmp_path)
    try:
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        connection.request("PUT", "/nul")
        connection.getresponse().read()
        connection.request("PUT", "/nul/a%00b", body=b"x")
        response = connection.getresponse()
        assert response.status == 400
        assert b"<Code>InvalidArgument</Code>" in response.read()
        connection.close()
    finally:
        server.stop()


def test_temporary_files_of_a_crashed_write_are_removed_at_start(tmp_path):
    from storage_support import start_server

    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "dead.tmp").write_bytes(b"partial")
    server = start_server(tmp_path)
    try:
        assert os.listdir(tmp_path / "tmp") == []
    finally:
        server.stop()


def _tag_set_xml(value: str) -> bytes:
    return (
        f"<Tagging><TagSet><Tag><Key>version</Key><Value>{value}</Value></Tag></TagSet></Tagging>"
    ).encode()


@pytest.mark.slow
def test_sigkills_during_tagging_rewrites_leave_the_body_whole_with_old_or_new_tags(tmp_path):
    rng = random.Random(21)
    node = StorageProcess(tmp_path)
    node.start()
    try:
        assert node.request("PUT", "/crash")[0] == 200
        body = rng.randbytes(12 * MiB)  # large: the rewrite copies it in pieces, off the loop
        assert node.request("PUT", "/crash/tagged", body)[0] == 200
        tags = "none"
        outcomes = {"old": 0, "new": 0}
        for kill in range(10):
            new = f"v{kill}"

            def send(value: str = new) -> None:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    node.request("PUT", "/crash/tagged?tagging", _tag_set_xml(value))

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            time.sleep(rng.uniform(0.0, 0.15))
            node.kill()
            sender.join(10)
            node.start()
            assert _leftovers(tmp_path) == [], f"temporary files after kill {kill}"
            assert _read_digest(node, "/crash/tagged") == _digest(body), f"kill {kill}: body"
            status, answer = node.request("GET", "/crash/tagged?tagging")
            assert status == 200
            found = re.findall(rb"<Value>([^<]*)</Value>", answer)
            seen = found[0].decode() if found else "none"
            assert seen in (tags, new), f"kill {kill}: tags {seen!r}, expected {tags!r} or {new!r}"
            outcomes["new" if seen == new else "old"] += 1
            tags = seen
        print(f"kills that left the old tags: {outcomes['old']}, the new ones: {outcomes['new']}")
    finally:
        node.stop()
