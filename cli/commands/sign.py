"""Print a CloudFront signed URL (or signed cookies) for a behavior that requires signing.

    cdn sign http://127.0.0.1:8121/private/report.pdf --key configs/keys/KCDNLABDEMO01.private.pem
    cdn sign URL --key K.pem --expires 1h --starts 5m --ip 198.51.100.0/24   # custom policy
    cdn sign URL --key K.pem --resource 'http://127.0.0.1:8121/private/*' --cookies

A canned policy (URL and expiry only) is used unless --starts, --ip or --resource asks for a
custom one. Signing uses botocore's CloudFrontSigner (RSA-SHA1, as CloudFront requires) with the
private key in PEM; the key id is --key-id, or the file name before `.private.pem`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cdn.units import DURATION_EXPECTED, parse_duration
from cli.errors import UserError

NAME = "sign"
HELP = "print a CloudFront signed URL or signed cookies (canned or custom policy)"


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration ({DURATION_EXPECTED})"
        ) from None


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn sign`."""
    parser.add_argument("url", help="the full URL to sign, e.g. http://127.0.0.1:8121/private/a")
    parser.add_argument("--key", type=Path, required=True, help="RSA private key (PEM)")
    parser.add_argument("--key-id", help="key id (default: the file name before .private.pem)")
    parser.add_argument(
        "--expires", type=_duration, default=3600.0, help="valid for this long (default 1h)"
    )
    parser.add_argument("--starts", type=_duration, help="valid only from now + this (custom)")
    parser.add_argument("--ip", help="client address or CIDR allowed (custom policy)")
    parser.add_argument("--resource", help="resource pattern with * and ? (custom policy)")
    parser.add_argument(
        "--cookies", action="store_true", help="print Set-Cookie lines instead of a URL"
    )


def _private_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"--key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UserError(f"--key {path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UserError(f"--key {path}: not an RSA key (CloudFront signs with RSA)")
    return key


def run(args: argparse.Namespace) -> int:
    """Sign and print."""
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"{args.url!r} is not a full http(s) URL (the signature covers the host)")
    key = _private_key(args.key)
    key_id = args.key_id or args.key.name.removesuffix(".pem").removesuffix(".private")
    signer = CloudFrontSigner(
        key_id, lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())
    )
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(seconds=args.expires)
    custom = args.starts is not None or args.ip or args.resource or args.cookies
    if custom:
        policy = signer.build_policy(
            args.resource or args.url,
            expires,
            date_greater_than=None
            if args.starts is None
            else now + dt.timedelta(seconds=args.starts),
            ip_address=args.ip,
        )
        signed = signer.generate_presigned_url(args.url, policy=policy)
    else:
        signed = signer.generate_presigned_url(args.url, date_less_than=expires)
    if not args.cookies:
        print(signed)
        return 0
    fields = dict(parse_qsl(urlsplit(signed).query))
    for name in ("Policy", "Signature", "Key-Pair-Id"):
        print(f"Set-Cookie: CloudFront-{name}={fields[name]}; Path=/; Secure; HttpOnly")
    return 0
