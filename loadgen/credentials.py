"""What the load generator's requests carry for the topology's behaviors: an API key drawn from
the workload's key population, and a signature on the URLs of behaviors that require one.

Rules:
- The behavior of a path is the core's (``Gateway.behavior_for``); an object's path family is
  the catalog's (``Catalog.family_of``), as in the simulator (sim.behaviors).
- API keys, drawn as the simulator draws them: a request of a keyed behavior goes without a key
  with probability ``keyless_share`` of its family, else with one of the family's ``api_keys``
  keys, uniformly. The population's key ``i`` is the topology's ``[[api_key]]`` number
  ``i mod n`` of the ``n`` keys the behavior's usage plan accepts (the simulator invents its keys;
  the live edge knows only the topology's, so fewer real keys than ``api_keys`` share buckets).
  The draws come from one ``random.Random`` seeded by the run's seed, in request order: the same
  seed sends the same keys.
- Signed URLs: for a behavior with ``trusted_key_groups``, the first of its groups' keys whose
  private key ``<key id>.private.pem`` lies beside the topology file (or in its ``keys/``
  folder, as configs/keys/) signs ONE custom policy per behavior with botocore's
  ``CloudFrontSigner`` (the real client; RSA-SHA1 with ``cryptography``): resource
  ``http*://*<path pattern>`` (any edge, as a user's anycast fallback may change it), valid
  for ``lifetime`` seconds from the start (rounded up to the hour, so the processes of a run sign
  alike). Its ``Policy``, ``Signature`` and ``Key-Pair-Id`` are
  appended to every URL of the behavior. No private key found: the URLs go unsigned (403s).
- Trace replays have no path families: one key per keyed behavior (api_keys = 1).
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cdn.errors import ConfigError
from cdn.gateway.behaviors import Behavior, Gateway, default_gateway
from cdn.topology import Topology, WorkloadPath
from cdn.workload.catalog import Catalog

__all__ = ["Credentials", "private_key_path", "signed_query"]

_MEMO = 100_000  # objects remembered (their behavior and family)


@dataclass(frozen=True, slots=True)
class _Profile:
    """What an object's requests carry: the key variants to draw from (None: no key drawn),
    the keyless share, and a signed query to append ("" for none)."""

    keys: tuple[int, ...] | None
    keyless_share: float
    signed: str


def private_key_path(topology: Topology, key_id: str) -> Path | None:
    """Where ``<key_id>.private.pem`` is, beside the topology file or in its keys/ folder."""
    base = Path(topology.source).parent
    for folder in (base, base / "keys"):
        path = folder / f"{key_id}.private.pem"
        if path.is_file():
            return path
    return None


def signed_query(key_id: str, pem: bytes, resource: str, expires: dt.datetime) -> str:
    """The query (``Policy=...&Signature=...&Key-Pair-Id=...``) of a custom policy for
    ``resource`` (wildcards allowed) until ``expires``, signed by botocore's CloudFrontSigner."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{key_id}: not an RSA private key (CloudFront signs with RSA)")
    signer = CloudFrontSigner(
        key_id, lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())
    )
    policy = signer.build_policy(resource, expires)
    url = signer.generate_presigned_url("http://sign.invalid/", policy=policy)
    return urlencode(parse_qsl(urlsplit(url).query), safe="~")


class Credentials:
    """``for_request(obj, path)``: the path to send (signed when its behavior wants it) and
    the index of the header variant to send it with (``variants[i]``; 0: no key)."""

    @classmethod
    def of(
        cls, topology: Topology, catalog: Catalog, seed: int | None, lifetime: float = 86400.0
    ) -> Credentials | None:
        """The credentials of ``topology``'s behaviors, or None when none wants any."""
        gateway = topology.gateway
        if gateway is None or gateway.behaviors == default_gateway(topology.origin.name).behaviors:
            return None
        if not any(b.api_key_required or b.trusted_key_groups for b in gateway.behaviors):
            return None
        return cls(topology, gateway, catalog, seed, lifetime)

    def __init__(
        self,
        topology: Topology,
        gateway: Gateway,
        catalog: Catalog,
        seed: int | None,
        lifetime: float,
    ) -> None:
        self._gateway = gateway
        self._catalog = catalog
        workload = topology.workload
        self._families = workload.paths or (WorkloadPath(workload.path),)
        values = _key_values(topology, gateway)
        distinct = list(dict.fromkeys(value for _, value in values))
        self.variants: tuple[dict[str, str], ...] = (
            {},
            *({"x-api-key": value} for value in distinct),
        )
        self._plan_keys = {
            plan: tuple(1 + distinct.index(v) for p, v in values if p == plan)
            for plan in {p for p, _ in values}
        }
        self._any_keys = tuple(range(1, len(distinct) + 1))
        # Rounded up to the hour: every process of a run (shards) signs the same policy, and the
        # edge verifies it once.
        end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime)
        expires = end.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        self._signed = {id(b): _sign(topology, gateway, b, expires) for b in gateway.behaviors}
        self._rng = random.Random(f"loadgen-credentials:{workload.seed if seed is None else seed}")
        self._profiles: dict[int | str, _Profile] = {}

    def _profile(self, obj: int | str, path: str) -> _Profile:
        behavior = self._gateway.behavior_for(path.partition("?")[0])
        family = self._families[self._catalog.family_of(obj)] if isinstance(obj, int) else None
        keys = None
        if behavior.api_key_required:
            accepted = (
                self._any_keys
                if behavior.usage_plan is None
                else self._plan_keys.get(behavior.usage_plan, ())
            )
            population = family.api_keys if family is not None else 1
            keys = tuple(accepted[i % len(accepted)] for i in range(population)) if accepted else ()
        keyless = family.keyless_share if family is not None else 0.0
        return _Profile(keys, keyless, self._signed[id(behavior)])

    def for_request(self, obj: int | str, path: str) -> tuple[str, int]:
        """(path to send, header variant) of one request for object ``obj`` (a trace's path
        when a str) at ``path``; draws its key, so call once per request, in request order."""
        profile = self._profiles.get(obj)
        if profile is None:
            profile = self._profile(obj, path)
            if len(self._profiles) < _MEMO:
                self._profiles[obj] = profile
        variant = 0
        keys = profile.keys
        if keys:
            rng = self._rng.random
            if not (profile.keyless_share and rng() < profile.keyless_share):
                variant = keys[int(rng() * len(keys))]
        if profile.signed:
            path = f"{path}{'&' if '?' in path else '?'}{profile.signed}"
        return path, variant


def _key_values(topology: Topology, gateway: Gateway) -> list[tuple[str, str]]:
    """(usage plan, value) of every ``[[api_key]]``; ConfigError when a ``value_env`` variable
    is not set (as the edge does at start)."""
    values = []
    for key in gateway.api_keys:
        value = key.value if key.value is not None else os.environ.get(key.value_env or "")
        if not value:
            raise ConfigError(
                f"{topology.source}:api_key {key.name!r}",
                f"environment variable {key.value_env} is not set",
                "the key's value in that variable (the edges read it too)",
            )
        values.append((key.usage_plan, value))
    return values


def _sign(topology: Topology, gateway: Gateway, behavior: Behavior, expires: dt.datetime) -> str:
    """The signed query of ``behavior`` ("" when it needs none or no private key is found)."""
    for group in gateway.key_groups:
        if group.name not in behavior.trusted_key_groups:
            continue
        for key_id, _ in group.keys:
            path = private_key_path(topology, key_id)
            if path is not None:
                text = behavior.path_pattern.text
                resource = f"http*://*{text}" if text.startswith("/") else "*"
                return signed_query(key_id, path.read_bytes(), resource, expires)
    return ""
