"""Concurrency and durability: conditional increments from 50 clients, SIGKILL, restarts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from kv_support import ThreadedKv, client, create_table

CLIENTS = 50
KEY = {"id": {"S": "counter"}}


def shared_client(url: str) -> Any:
    """One boto3 client with a connection per thread: 50 threads are 50 concurrent clients."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
        config=Config(retries={"max_attempts": 0}, max_pool_connections=CLIENTS),
    )


def optimistic_increment(ddb: Any) -> int:
    """Read n, write n+1 only if n is unchanged; retry on conflict. Returns the attempts."""
    attempts = 0
    while True:
        attempts += 1
        seen = ddb.get_item(TableName="counters", Key=KEY, ConsistentRead=True)["Item"]["n"]
        try:
            ddb.update_item(
                TableName="counters",
                Key=KEY,
                UpdateExpression="SET n = n + :one",
                ConditionExpression="n = :seen",
                ExpressionAttributeValues={":one": {"N": "1"}, ":seen": seen},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            continue
        return attempts


def guarded_increments(ddb: Any, count: int) -> None:
    """Increments in the server (n = n + 1) under a condition that holds."""
    for _ in range(count):
        ddb.update_item(
            TableName="counters",
            Key=KEY,
            UpdateExpression="SET n = n + :one",
            ConditionExpression="attribute_exists(n) AND n >= :zero",
            ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
        )


@pytest.fixture
def counter(start_kv: Callable[..., ThreadedKv]) -> Any:
    """A shared client of a fresh server whose table ``counters`` holds n = 0."""
    ddb = shared_client(start_kv().server.url)  # type: ignore[union-attr]
    create_table(ddb, "counters", ("id", "S"))
    ddb.put_item(TableName="counters", Item={**KEY, "n": {"N": "0"}})
    return ddb


def test_50_clients_with_optimistic_conditional_increments_lose_no_update(counter: Any) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        attempts = list(pool.map(lambda _: optimistic_increment(counter), range(CLIENTS)))
    final = counter.get_item(TableName="counters", Key=KEY)["Item"]["n"]
    assert final == {"N": str(CLIENTS)}
    assert sum(attempts) >= CLIENTS  # conflicts were retried, none was lost


def test_50_clients_with_conditional_server_side_increments_lose_no_update(counter: Any) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda _: guarded_increments(counter, 4), range(CLIENTS)))
    final = counter.get_item(TableName="counters", Key=KEY)["Item"]["n"]
    assert final == {"N": str(CLIENTS * 4)}


def test_a_table_and_its_items_survive_a_restart(
    start_kv: Callable[..., ThreadedKv], tmp_path: Path
) -> None:
    data = str(tmp_path / "restart.sqlite")
    first = start_kv(data)
    ddb = client(first.server.url)  # type: ignore[union-attr]
    create_table(ddb, "kept", ("pk", "S"), ("sk", "N"))
    ddb.put_item(
        TableName="kept", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"NS": ["1", "2"]}}
    )
    first.stop()
    second = start_kv(data)
    ddb = client(second.server.url)  # type: ignore[union-attr]
    assert ddb.describe_table(TableName="kept")["Table"]["KeySchema"][1]["AttributeName"] == "sk"
    item = ddb.get_item(TableName="kept", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert item["v"] == {"NS": ["1", "2"]}


def _start_process(data: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "kv", "--data", data, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1)
    raise AssertionError(f"cdn kv exited with {process.wait()} before listening")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout:
            process.stdout.close()


def test_sigkill_during_writes_loses_no_acknowledged_write(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    data = str(tmp_path / "crash.sqlite")
    process, url = _start_process(data)
    processes.append(process)
    create_table(client(url), "journal", ("id", "S"))
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def writer(worker: int) -> None:
        ddb = client(url)
        for i in range(10_000):
            key = f"w{worker}-{i}"
            try:
                ddb.put_item(
                    TableName="journal", Item={"id": {"S": key}, "payload": {"S": "x" * 200}}
                )
            except (ConnectionError, HTTPClientError, ClientError):
                return  # the server died mid-request: this write was never acknowledged
            with lock:
                acknowledged.append(key)
                if len(acknowledged) >= 400:
                    enough.set()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    assert enough.wait(60), "writers did not get 400 writes acknowledged"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for thread in threads:
        thread.join(60)
    restarted, url = _start_process(data)
    processes.append(restarted)
    ddb = client(url)
    stored = set()
    for page in ddb.get_paginator("scan").paginate(TableName="journal"):
        stored.update(item["id"]["S"] for item in page["Items"])
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:3]}"
    assert len(acknowledged) >= 400


@pytest.mark.parametrize(("mode", "level"), [("normal", 1), ("full", 2)])
def test_the_file_is_in_wal_mode_with_the_chosen_synchronous_level(
    tmp_path: Path, mode: str, level: int
) -> None:
    from kv.store import Store

    store = Store(str(tmp_path / "modes.sqlite"), mode)
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == level
    finally:
        store.close()
