"""Fixtures of the storage tests: one authenticated node per module, a fresh bucket per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from storage_support import (
    ACCESS_KEY,
    SECRET_KEY,
    ServerThread,
    ShiftableClock,
    client,
    start_server,
)

_names = itertools.count(1)


@pytest.fixture(scope="module")
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="module")
def node(tmp_path_factory, clock) -> Iterator[ServerThread]:
    server = start_server(
        tmp_path_factory.mktemp("storage"),
        keys=((ACCESS_KEY, SECRET_KEY),),
        public_read=("public-bucket",),
        clock=clock,
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3(node):
    return client(node.url)


@pytest.fixture
def bucket(s3) -> str:
    name = f"bucket-{next(_names)}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def _reset_clock(request) -> Iterator[None]:
    yield
    if "clock" in request.fixturenames:
        request.getfixturevalue("clock").offset = 0.0
