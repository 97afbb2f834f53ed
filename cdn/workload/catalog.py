"""The object catalog: paths and deterministic sizes of objects, known in every process.

Rules: an object's size is a pure function of (workload seed, object id), so the origin, the
simulator and the load generator agree on it without generating or sharing the catalog.
``u = (blake2b(seed, id) + 0.5) / 2**64`` lies in (0, 1); the size is the distribution's inverse
CDF at ``u``, rounded to whole bytes and clipped to [min, max]:
- lognormal: ``median * exp(sigma * Phi^-1(u))`` (Phi^-1 = statistics.NormalDist().inv_cdf);
- pareto (bounded, shape alpha on [min, max]): ``min * (1 - u * (1 - (min/max)**alpha)) ** (-1/alpha)``;
- fixed: ``value``.
Ids beyond the catalog (flash-crowd and drift objects) have sizes too: any id >= 0 does.
With a path mix (``workload.paths``), an object's path family is a pure function of (seed, id)
too: ``v = blake2b(seed, id)`` with another personalisation, uniform in (0, 1), picks the first
family whose cumulative (normalised) share exceeds ``v``; so each family holds its share of the
objects (and, popularity being a seeded permutation of ids, about that share of requests).
"""

from __future__ import annotations

import hashlib
import math
import re
from statistics import NormalDist

import numpy as np

from cdn.topology import SizeDistribution, Workload

_NORMAL = NormalDist()
_TWO_64 = float(1 << 64)
_PERSON = b"cdnlab-size"
_FAMILY_PERSON = b"cdnlab-path"
_OCTETS = "application/octet-stream"
_ORIGIN_MAX_ID = 2**62  # object ids origin/objects.py accepts are below this


def object_uniform(seed: int, obj_id: int) -> float:
    """The per-object uniform in (0, 1) behind its size: blake2b of (seed, id), never hash()."""
    digest = hashlib.blake2b(f"{seed}:{obj_id}".encode(), digest_size=8, person=_PERSON).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _TWO_64


def size_quantile(dist: SizeDistribution, u: float) -> int:
    """The size in bytes at quantile ``u`` in (0, 1) of ``dist``, clipped to [min, max]."""
    if dist.dist == "fixed":
        value = float(dist.value)
    elif dist.dist == "lognormal":
        value = dist.median * math.exp(dist.sigma * _NORMAL.inv_cdf(u))
    elif dist.dist == "pareto":
        low, high, alpha = float(dist.min), float(dist.max), dist.alpha
        if low >= high:
            value = low
        else:
            value = low * (1.0 - u * (1.0 - (low / high) ** alpha)) ** (-1.0 / alpha)
    else:
        raise ValueError(
            f"unknown size distribution {dist.dist!r} (expected lognormal, pareto, fixed)"
        )
    return int(min(max(round(value), dist.min), dist.max))


def _sizes_of(dist: SizeDistribution, seed: int, ids: list[int]) -> list[int]:
    """``size_quantile(dist, object_uniform(seed, i))`` for each of ``ids``, exactly.

    The lognormal case (the default, and once per new object of a simulated run) is that
    arithmetic written out with its functions bound once; each digest comes from a copy of one
    personalised 8-byte blake2b state (the same digest as a new hasher's, for two thirds of
    its cost).
    """
    if dist.dist != "lognormal":
        return [size_quantile(dist, object_uniform(seed, obj_id)) for obj_id in ids]
    hasher = hashlib.blake2b(digest_size=8, person=_PERSON).copy
    prefix, from_bytes, two_64 = f"{seed}:".encode(), int.from_bytes, _TWO_64
    inv_cdf, exp, median, sigma = _NORMAL.inv_cdf, math.exp, dist.median, dist.sigma
    low, high = dist.min, dist.max
    sizes = []
    append = sizes.append
    for obj_id in ids:
        digest = hasher()
        digest.update(b"%b%d" % (prefix, obj_id))  # object_uniform's f"{seed}:{obj_id}"
        value = median * exp(sigma * inv_cdf((from_bytes(digest.digest(), "big") + 0.5) / two_64))
        append(int(min(max(round(value), low), high)))
    return sizes


class Catalog:
    """Object ids, their URL paths and their sizes for one workload.

    Catalog ids are ``0 .. workload.objects - 1``; ``size_of`` also answers for larger ids (the
    objects flash crowds and popularity drift add). Sizes are cached once computed, so repeated
    look-ups (``sizes`` on request batches) cost one array index per request.
    """

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.seed = workload.seed
        self.objects = workload.objects
        self.dist = workload.size
        prefix, _, suffix = workload.path.partition("{id}")
        self._prefix, self._suffix = prefix, suffix
        templates = [p.path for p in workload.paths] or [workload.path]
        self.templates = tuple(t.partition("{id}")[::2] for t in templates)
        total = sum(p.share for p in workload.paths)
        edges, running = [], 0.0
        for family in workload.paths:
            running += family.share / total
            edges.append(running)
        self._family_edges = edges
        self._path_res = [
            re.compile(re.escape(pre) + r"([0-9]+)" + re.escape(suf) + r"\Z")
            for pre, suf in self.templates
        ]
        self._cache = np.full(0, -1, dtype=np.int64)

    def size_of(self, obj_id: int) -> int:
        """Bytes of object ``obj_id`` (the body length the origin serves for it)."""
        if obj_id < 0:
            raise ValueError(f"object id {obj_id} < 0 (expected a non-negative id)")
        if obj_id < len(self._cache):
            cached = int(self._cache[obj_id])
            if cached >= 0:
                return cached
        return size_quantile(self.dist, object_uniform(self.seed, obj_id))

    def sizes(self, ids: np.ndarray) -> np.ndarray:
        """Sizes of many ids at once (int64 array), exactly ``size_of`` of each."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        if int(ids.min()) < 0:
            raise ValueError("object ids must be >= 0")
        top = int(ids.max())
        if top >= len(self._cache):
            grown = np.full(max(top + 1, 2 * len(self._cache), self.objects), -1, dtype=np.int64)
            grown[: len(self._cache)] = self._cache
            self._cache = grown
        cache = self._cache
        found = cache[ids]
        missing = found < 0
        if missing.any():
            new = np.unique(ids[missing])
            cache[new] = _sizes_of(self.dist, self.seed, new.tolist())
            found = cache[ids]
        return found

    def family_of(self, obj_id: int) -> int:
        """The index of ``obj_id``'s path family in ``workload.paths`` (0 without a mix)."""
        edges = self._family_edges
        if not edges:
            return 0
        digest = hashlib.blake2b(
            f"{self.seed}:{obj_id}".encode(), digest_size=8, person=_FAMILY_PERSON
        ).digest()
        v = (int.from_bytes(digest, "big") + 0.5) / _TWO_64
        for index, edge in enumerate(edges):
            if v < edge:
                return index
        return len(edges) - 1

    def path_of(self, obj_id: int) -> str:
        """The URL path of ``obj_id`` from ``workload.path`` (or its family's), e.g. ``/obj/42``."""
        if not self._family_edges:
            return f"{self._prefix}{obj_id}{self._suffix}"
        prefix, suffix = self.templates[self.family_of(obj_id)]
        return f"{prefix}{obj_id}{suffix}"

    def id_of(self, path: str) -> int | None:
        """The object id in ``path`` (the inverse of ``path_of``), None when it is not one.

        With a path mix any family's path names the object (``/static/7`` and ``/api/7`` are
        object 7 whichever family ``path_of`` puts it in), so the origin serves every path a
        client may build by hand."""
        for pattern in self._path_res:
            match = pattern.match(path)
            if match:
                return int(match.group(1))
        return None

    def content_type_at(self, path: str) -> str:
        """The media type the origin serves at ``path``: the ``content_type`` of the first path
        family whose template matches it, else ``application/octet-stream`` (no path mix, or a
        path no family names, such as ``/obj/{id}`` when it is not a family's)."""
        for family, pattern in zip(self.workload.paths, self._path_res, strict=False):
            if pattern.match(path):
                return family.content_type
        return _OCTETS

    def served_id(self, path: str) -> int | None:
        """The object the origin serves at ``path``; None when it answers 404 (e.g. a URI an
        edge function rewrote to a path the catalog does not name).

        The origin resolves its object routes with it (origin/objects.py): ``/obj/{id}`` first
        (a whole number below 2**62, else 404), then every path of the workload's templates
        (``id_of``)."""
        if path.startswith("/obj/") and "/" not in path[5:]:
            text = path[5:]
            return int(text) if text.isdigit() and int(text) < _ORIGIN_MAX_ID else None
        return self.id_of(path)

    def in_catalog(self, obj_id: int) -> bool:
        """True for the ``workload.objects`` original ids (not flash-crowd or drift objects)."""
        return 0 <= obj_id < self.objects
