"""Test helpers: a storage node on its own thread and event loop, and boto3 clients for it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from storage.server import StorageServer
from storage.settings import StorageSettings

ACCESS_KEY = "AKIDCDNLABTEST"
SECRET_KEY = "cdnlab/secret+key"


async def finish_tasks(tasks: set[asyncio.Task]) -> None:
    """Cancel ``tasks`` and let them end (before their loop is closed)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class ShiftableClock:
    """The wall clock plus an offset the test moves (expiry checks without waiting)."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class ServerThread:
    """A StorageServer running on a thread of its own (boto3 is synchronous)."""

    settings: StorageSettings
    clock: Callable[[], float] = time.time
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _stop: asyncio.Event | None = None
    server: StorageServer | None = None
    error: BaseException | None = None

    def start(self) -> ServerThread:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the storage server did not start within 20 s")
        if self.error is not None:
            raise self.error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
            # Handlers of keep-alive connections were cancelled by the cleanup: let them end.
            loop.run_until_complete(finish_tasks(asyncio.all_tasks(loop)))
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            self.server = StorageServer(self.settings, clock=self.clock)
            await self.server.start()
        except BaseException as exc:
            self.error = exc
            self._ready.set()
            return
        self.url = self.server.url
        self._ready.set()
        await self._stop.wait()
        await self.server.stop()

    def call(self, coroutine_factory: Callable[[], object], timeout: float = 10.0) -> object:
        """Run a coroutine on the server's loop and return its result."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine_factory(), self._loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(20)


def start_server(data: Path, **changes: object) -> ServerThread:
    """A storage node on a free port with ``changes`` to its settings."""
    clock = changes.pop("clock", time.time)
    settings = StorageSettings(data=data, port=0).with_changes(**changes)
    return ServerThread(settings, clock=clock).start()  # type: ignore[arg-type]


def client(
    url: str,
    *,
    key: str = ACCESS_KEY,
    secret: str = SECRET_KEY,
    style: str = "path",
    verify: str | None = None,
    **config,
):
    """A boto3 S3 client for ``url`` as a user would make one."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        verify=verify,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": style},
            signature_version="s3v4",
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            **config,
        ),
    )


def error_code(excinfo) -> str:
    """The S3 error code of a botocore ClientError."""
    return excinfo.value.response["Error"]["Code"]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
