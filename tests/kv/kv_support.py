"""Helpers of the cdn kv tests: a real KvServer on loopback in a thread, boto3 clients for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from kv.database import Database
from kv.server import KvServer
from kv.settings import KvSettings

ACCESS_KEY = "AKIDKVTEST"
SECRET_KEY = "kv-test-secret"


class ThreadedKv:
    """A KvServer running on an event loop of its own thread (boto3 calls block)."""

    def __init__(self, settings: KvSettings, clock: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.clock = clock  # the server's clock (None: the real one)
        self.loop = asyncio.new_event_loop()
        self.server: KvServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kv-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            database = None
            if self.clock is not None:
                database = Database(self.settings.data, self.settings.synchronous, self.clock)
            self.server = KvServer(self.settings, database=database)
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()

    def start(self) -> str:
        """Start serving; the base URL."""
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        assert self.server is not None
        return self.server.url

    def call(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def stop(self) -> None:
        """Stop serving and close the file (again: nothing)."""
        if not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


def client_config() -> Config:
    """No retries (errors show at once), short timeouts."""
    return Config(retries={"max_attempts": 0}, connect_timeout=5, read_timeout=30)


def client(
    url: str, access_key: str = "dummy", secret_key: str = "dummy", *, checked: bool = True
) -> Any:
    """A boto3 DynamoDB client for ``url`` (``checked=False``: boto3's own parameter checks
    off, so what other SDKs and raw HTTP may send reaches the server)."""
    config = client_config()
    if not checked:
        config = config.merge(Config(parameter_validation=False))
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def resource(url: str) -> Any:
    """A boto3 DynamoDB resource for ``url``."""
    return boto3.resource(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
        config=client_config(),
    )


def create_table(
    ddb: Any, name: str, hash_key: tuple[str, str], range_key: tuple[str, str] | None = None
) -> None:
    """CreateTable with a HASH key and an optional RANGE key, pay per request."""
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    definitions = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    if range_key is not None:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        definitions.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
    ddb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=definitions,
        BillingMode="PAY_PER_REQUEST",
    )
