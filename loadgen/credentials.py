"""What the load generator's requests carry for the topology's behaviors: an API key drawn from
the workload's key population, and a signature on the URLs of behaviors that require one.

Rules:
- The behavior of a path is the core's (``Gateway.behavior_for``); an object's path family is
  the catalog's (``Catalog.family_of``), as in the simulator (sim.behaviors).
- The path mix's draws are the simulator's (``cdn.workload.draws``, one ``random.Random``
  seeded as the simulator's, in request order: the same seed sends the same mix): CORS
  preflights (``preflight_share``: OPTIONS with the core's ``preflight_fields``, as a browser
  sends them), POST instead
  of GET (``post_share``), the query variant (``query``, appended to the path), and API keys: a
  request of a keyed behavior goes without a key with probability ``keyless_share`` of its
  family, else with one of the family's ``api_keys`` keys, uniformly (the per-client draw is
  made and unused: the load generator sends from its own address). The population's key ``i`` is the topology's ``[[api_key]]`` number
  ``i mod n`` of the ``n`` keys the behavior's usage plan accepts (the simulator invents its keys;
  the live edge knows only the topology's, so fewer real keys than ``api_keys`` share buckets).
- Signed URLs: for a behavior with ``trusted_key_groups``, the first of its groups' keys whose
  private key ``<key id>.private.pem`` lies beside the topology file (or in its ``keys/``
  folder, as configs/keys/) signs ONE custom policy per behavior with botocore's
  ``CloudFrontSigner`` (the real client; RSA-SHA1 with ``cryptography``): resource
  ``http*://*<path pattern>`` (any edge, as a user's anycast fallback may change it), valid
  for ``lifetime`` seconds from the start (rounded up to the hour, so the processes of a run sign
  alike). Its ``Policy``, ``Signature`` and ``Key-Pair-Id`` are
  appended to every URL of the behavior, or, for a path family with ``signing = "cookies"``,
  sent as CloudFront's signed cookies (``CloudFront-Policy``, ``CloudFront-Signature``,
  ``CloudFront-Key-Pair-Id``: the same policy and signature). No private key found: the
  URLs go unsigned (403s).
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
from cdn.workload.draws import draw_request, draw_seed, preflight_fields

__all__ = ["Credentials", "private_key_path", "signed_cookies", "signed_query"]

_MEMO = 100_000  # objects remembered (their behavior and family)


@dataclass(frozen=True, slots=True)
class _Profile:
    """What an object's requests carry: its path family, the key variants to draw from
    (None: no key drawn), whether its behavior limits per client, a signed query to append
    ("" for none) or the signed cookies to send instead."""

    family: WorkloadPath
    keys: tuple[int, ...] | None
    per_client: bool
    signed: str
    cookies: int  # the signed-cookie set to send (0: none; the variants' outer index)
    preflight: int  # the header variant of a preflight for its behavior (Origin, ...)


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


def signed_cookies(query: str) -> str:
    """The Cookie field carrying a signed query's ``Policy``, ``Signature`` and ``Key-Pair-Id``
    (or ``Expires``) as CloudFront's signed cookies (``CloudFront-Policy=...; ...``)."""
    return "; ".join(f"CloudFront-{name}={value}" for name, value in parse_qsl(query))


class Credentials:
    """``for_request(obj, path)``: the path to send (signed when its behavior wants it) and
    the index of the header variant to send it with (``variants[i]``; 0: no key)."""

    @classmethod
    def of(
        cls, topology: Topology, catalog: Catalog, seed: int | None, lifetime: float = 86400.0
    ) -> Credentials | None:
        """The credentials of ``topology``'s behaviors, or None when none wants any."""
        gateway = topology.gateway
        mixed = any(
            f.post_share or f.preflight_share or f.query is not None
            for f in topology.workload.paths
        )
        plain = default_gateway(topology.origin.name)
        if gateway is None or gateway.behaviors == plain.behaviors:
            if not mixed:
                return None
            gateway = gateway or plain
        if not mixed and not any(
            b.api_key_required or b.trusted_key_groups for b in gateway.behaviors
        ):
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
        keyed: tuple[dict[str, str], ...] = ({}, *({"x-api-key": v} for v in distinct))
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
        # Signed cookies (families with signing = "cookies"): one Cookie field per signed
        # behavior; the header variants are every (cookie set, key) pair.
        cookie_sets: list[dict[str, str]] = [{}]
        self._cookies: dict[int, int] = {}
        if any(family.signing == "cookies" for family in self._families):
            for behavior in gateway.behaviors:
                signed = self._signed[id(behavior)]
                if signed:
                    self._cookies[id(behavior)] = len(cookie_sets)
                    cookie_sets.append({"Cookie": signed_cookies(signed)})
        self._keyed = len(keyed)
        variants = [{**cookies, **key} for cookies in cookie_sets for key in keyed]
        # A preflight's fields per behavior (they depend on its CORS policy), after the others.
        self._preflights: dict[int, int] = {}
        if any(family.preflight_share for family in self._families):
            for behavior in gateway.behaviors:
                fields = preflight_fields(behavior)
                if fields not in variants:
                    variants.append(fields)
                self._preflights[id(behavior)] = variants.index(fields)
        self.variants: tuple[dict[str, str], ...] = tuple(variants)
        self._rng = random.Random(draw_seed(workload.seed if seed is None else seed))
        self._profiles: dict[int | str, _Profile] = {}

    def _profile(self, obj: int | str, path: str) -> _Profile:
        behavior = self._gateway.behavior_for(path.partition("?")[0])
        family = (
            self._families[self._catalog.family_of(obj)]
            if isinstance(obj, int)
            else WorkloadPath(path)  # a trace's path: one key, no mix
        )
        keys = None
        if behavior.api_key_required:
            accepted = (
                self._any_keys
                if behavior.usage_plan is None
                else self._plan_keys.get(behavior.usage_plan, ())
            )
            population = family.api_keys
            keys = tuple(accepted[i % len(accepted)] for i in range(population)) if accepted else ()
        per_client = behavior.client_rate_limit is not None
        signed, cookies = self._signed[id(behavior)], 0
        if family.signing == "cookies" and signed:
            signed, cookies = "", self._cookies[id(behavior)]
        preflight = self._preflights.get(id(behavior), 0)
        return _Profile(family, keys, per_client, signed, cookies, preflight)

    def for_request(self, obj: int | str, path: str) -> tuple[str, str, int]:
        """(method, path to send, header variant) of one request for object ``obj`` (a trace's
        path when a str) at ``path``; draws its method, key and query (``cdn.workload.draws``,
        as the simulator), so call once per request, in request order."""
        profile = self._profiles.get(obj)
        if profile is None:
            profile = self._profile(obj, path)
            if len(self._profiles) < _MEMO:
                self._profiles[obj] = profile
        keys = profile.keys
        method, key, _, query = draw_request(
            self._rng.random, profile.family, keys is not None, profile.per_client
        )
        variant = keys[key] if keys and key is not None else 0
        if method == "OPTIONS":
            variant = profile.preflight
        elif profile.cookies:
            variant += profile.cookies * self._keyed
        if query:
            path = f"{path}{'&' if '?' in path else '?'}{query}"
        if profile.signed:
            path = f"{path}{'&' if '?' in path else '?'}{profile.signed}"
        return method, path, variant


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
