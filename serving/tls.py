"""TLS for our servers: a self-signed certificate for local use, and the SSL contexts.

Rules: certificates are made with ``cryptography`` (never by hand): an EC P-256 key, a
certificate for the given names and addresses (subjectAltName), valid from a minute ago for
``days``; its SHA-256 fingerprint is printed so a person can compare it with what a client sees.
``server_context`` loads a certificate and key for a listener; ``client_context`` verifies
servers, against a CA file when one is given (a local origin's self-signed certificate).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["SelfSigned", "client_context", "make_self_signed", "server_context"]


@dataclass(frozen=True, slots=True)
class SelfSigned:
    """A self-signed certificate written to ``cert`` and ``key`` (PEM) and its fingerprint."""

    cert: Path
    key: Path
    fingerprint: str  # SHA-256, colon-separated hex as browsers and openssl show it


def make_self_signed(
    folder: Path, names: tuple[str, ...] = ("localhost", "127.0.0.1", "::1"), days: int = 30
) -> SelfSigned:
    """Make a key and a self-signed certificate for ``names`` (DNS names or IP addresses) in
    ``folder`` (``cert.pem``, ``key.pem``; the key readable by the owner only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return SelfSigned(cert_path, key_path, fingerprint)


def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """An SSL context for a listener; ValueError naming the file when it cannot be loaded."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load TLS certificate {cert} with key {key}: {exc}") from None
    return context


def client_context(cafile: str | Path | None = None) -> ssl.SSLContext:
    """An SSL context that verifies servers (against ``cafile`` when given, else the system's)."""
    try:
        return ssl.create_default_context(cafile=None if cafile is None else str(cafile))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load CA file {cafile}: {exc}") from None
