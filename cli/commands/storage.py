"""Run an S3-compatible storage origin on local disk (boto3, the AWS CLI and s3fs speak to it).

Buckets live under --data (one folder per bucket, one file per object; writes are fsynced and
renamed into place, so a crash never leaves a partial object). Path-style
(http://127.0.0.1:9000/bucket/key) and virtual-host-style (bucket.localhost:9000) requests.
With --access-key/--secret-key every request must carry a valid SigV4 signature (header or
presigned URL) except GET/HEAD in --public-read buckets; without keys authentication is off.
Changes (PUT, DELETE, copy, multipart completion) can purge the CDN: --purge-target nodes get
`POST /_cdn/purge` with the admin token, --notify URL gets a JSON POST per change.
`/_cdn/health` and `/_cdn/metrics` (Prometheus) are always on.

examples:
  cdn storage --data ./buckets --port 9000
  cdn storage --data ./buckets --access-key AKIDLOCAL --secret-key s3cret --public-read assets
  cdn storage --data ./buckets --purge-target edge-par=http://127.0.0.1:8121 --admin-token t

Reference: docs/storage.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cli.errors import UserError
from serving.flags import (
    add_limit_flags,
    add_listen_flags,
    admin_token,
    cannot_listen,
    connection_limits,
)
from serving.limits import ConnectionLimits
from serving.purge_notify import PurgeTarget
from storage.names import bucket_name_problem
from storage.settings import StorageSettings

NAME = "storage"
HELP = "run an S3-compatible storage origin on local disk (SigV4, purges the CDN on change)"

ACCESS_KEY_ENV = "CDNLAB_STORAGE_ACCESS_KEY"
SECRET_KEY_ENV = "CDNLAB_STORAGE_SECRET_KEY"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `cdn storage` flags."""
    where = parser.add_argument_group("where")
    where.add_argument("--data", metavar="DIR", required=True, help="folder of the buckets")
    add_listen_flags(
        where,
        default_port=9000,
        admin_routes="purge notifications sent to cache nodes",
        access_log_help="log every request to stderr",
    )
    where.add_argument("--name", default="storage", help="node name in health and logs")
    where.add_argument(
        "--tls-cert", metavar="PEM", default=None, help="serve HTTPS with this certificate"
    )
    where.add_argument(
        "--tls-key", metavar="PEM", default=None, help="the certificate's private key"
    )
    auth = parser.add_argument_group("authentication (SigV4)")
    auth.add_argument(
        "--access-key", default=None, help=f"access key id (default: ${ACCESS_KEY_ENV})"
    )
    auth.add_argument(
        "--secret-key", default=None, help=f"secret access key (default: ${SECRET_KEY_ENV})"
    )
    auth.add_argument(
        "--public-read",
        metavar="BUCKET",
        nargs="+",
        default=[],
        help="buckets anyone may read without signing",
    )
    auth.add_argument("--region", default="us-east-1", help="region reported to clients")
    auth.add_argument(
        "--virtual-host-base",
        default="localhost",
        help="Host suffix of virtual-host-style requests (bucket.<base>); '' turns them off",
    )
    events = parser.add_argument_group("events")
    events.add_argument(
        "--purge-target",
        metavar="NAME=URL",
        action="append",
        default=[],
        help="a cache node to purge on every change (repeatable)",
    )
    events.add_argument("--notify", metavar="URL", default=None, help="webhook told of each change")
    add_limit_flags(parser)


def _purge_target(text: str) -> PurgeTarget:
    name, sep, url = text.partition("=")
    if not sep or not name or not url.startswith(("http://", "https://")):
        raise UserError(f"--purge-target {text!r}: expected NAME=http://host:port")
    return PurgeTarget(name, url.rstrip("/"))


def build_settings(args: argparse.Namespace) -> StorageSettings:
    """StorageSettings from the flags (UserError naming the flag when one is wrong)."""
    access = args.access_key or os.environ.get(ACCESS_KEY_ENV)
    secret = args.secret_key or os.environ.get(SECRET_KEY_ENV)
    if bool(access) != bool(secret):
        raise UserError("--access-key and --secret-key go together (give both or neither)")
    for name in args.public_read:
        problem = bucket_name_problem(name)
        if problem is not None:
            raise UserError(f"--public-read {name!r}: the bucket name {problem}")
    if args.notify and not args.notify.startswith(("http://", "https://")):
        raise UserError(f"--notify {args.notify!r}: expected an http(s) URL")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UserError("--tls-cert and --tls-key go together (give both or neither)")
    return StorageSettings(
        data=Path(args.data),
        name=args.name,
        host=args.host or "127.0.0.1",
        port=9000 if args.port is None else args.port,
        keys=((access, secret),) if access and secret else (),
        public_read=tuple(args.public_read),
        region=args.region,
        virtual_host_base=args.virtual_host_base,
        purge_targets=tuple(_purge_target(t) for t in args.purge_target),
        admin_token=admin_token(args),
        notify_url=args.notify,
        access_log=args.access_log,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        limits=connection_limits(args, ConnectionLimits()),
        drain_timeout=args.drain_timeout or StorageSettings.drain_timeout,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a graceful shutdown."""
    import logging

    from storage.server import run as run_storage

    settings = build_settings(args)
    logging.basicConfig(
        level=logging.INFO if settings.access_log else logging.WARNING, format="%(message)s"
    )
    try:
        settings.data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"--data {settings.data}: cannot create the folder ({exc.strerror})"
        ) from None
    try:
        run_storage(settings)
    except OSError as exc:
        raise UserError(cannot_listen(settings.host, settings.port, exc)) from None
    except ValueError as exc:  # the TLS certificate or key cannot be loaded
        raise UserError(f"--tls-cert/--tls-key: {exc}") from None
    return 0
