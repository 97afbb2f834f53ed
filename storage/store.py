"""Buckets and objects on local disk, crash-safe, with an in-memory index for listings.

Layout under the data folder::

    buckets/<bucket>/bucket.json          creation time (the directory appears by one rename)
                                          and the CORS configuration (replaced by one rename)
    buckets/<bucket>/objects/<digest>     one object per file (storage.objectfile), named by
                                          the blake2b digest of its key (storage.names)
    buckets/<bucket>/uploads/<id>/        multipart uploads (storage.uploads)
    tmp/                                  temporary files and directories; emptied at start

Rules: every change becomes visible by one ``rename`` of a fully written, fsynced file or
directory, followed by an fsync of the directory that holds it, so a crash at any moment
leaves the old state or the new one plus, at worst, debris in ``tmp/`` that ``open`` removes.
Concurrent PUTs of one key each write their own temporary file; the last rename wins, whole.
The index (keys in order, with their metadata) is rebuilt from the object files at start and
updated in the same step as each rename (one event loop, no threads touch it).
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from storage.corsrules import CorsRule, rules_from_json, rules_to_json
from storage.errors import S3Error
from storage.names import bucket_name_problem, check_bucket_name, check_key, key_file_name
from storage.objectfile import (
    CorruptObject,
    ObjectInfo,
    ObjectWriter,
    StoredObject,
    fsync_dir,
    open_object,
)

__all__ = ["Bucket", "Listing", "Store"]

log = logging.getLogger("cdnlab.storage")


@dataclass(slots=True)
class Bucket:
    """One bucket: its directory, creation time, CORS rules and the index of its objects."""

    name: str
    path: Path
    created: float
    keys: list[str] = field(default_factory=list)
    infos: dict[str, ObjectInfo] = field(default_factory=dict)
    cors: tuple[CorsRule, ...] = ()

    @property
    def objects_dir(self) -> Path:
        """Where the object files are."""
        return self.path / "objects"

    @property
    def uploads_dir(self) -> Path:
        """Where multipart uploads are."""
        return self.path / "uploads"

    def object_path(self, key: str) -> str:
        """The file of ``key`` (whether it exists or not), as a string (the GET hot path)."""
        return f"{self.path}/objects/{key_file_name(key)}"

    def index(self, info: ObjectInfo) -> None:
        """Record ``info`` as the current version of its key."""
        if info.key not in self.infos:
            bisect.insort(self.keys, info.key)
        self.infos[info.key] = info

    def unindex(self, key: str) -> None:
        """Forget ``key``."""
        if self.infos.pop(key, None) is not None:
            position = bisect.bisect_left(self.keys, key)
            if position < len(self.keys) and self.keys[position] == key:
                del self.keys[position]


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a listing: objects, common prefixes, and where the next page starts."""

    objects: tuple[ObjectInfo, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_marker: str | None


def encode_token(marker: str) -> str:
    """A continuation token for ``marker`` (opaque to clients)."""
    return base64.urlsafe_b64encode(marker.encode()).decode()


def decode_token(token: str) -> str:
    """The marker inside a continuation token; InvalidArgument when it is not one of ours."""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise S3Error(
            "InvalidArgument", "the continuation token is not one this server issued"
        ) from None


class Store:
    """The data folder: buckets, objects, and the temporary area writes go through."""

    def __init__(self, root: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.clock = clock
        self.buckets_dir = self.root / "buckets"
        self.tmp_dir = self.root / "tmp"
        self.buckets: dict[str, Bucket] = {}

    # -- start ---------------------------------------------------------------------------

    def open(self) -> int:
        """Create the layout, remove debris of crashed writes, load the index; debris count."""
        self.buckets_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(exist_ok=True)
        removed = 0
        for entry in self.tmp_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
        if removed:
            fsync_dir(self.tmp_dir)
            log.info("removed %d temporary files of interrupted writes", removed)
        for entry in sorted(self.buckets_dir.iterdir()):
            if bucket_name_problem(entry.name) is not None or not entry.is_dir():
                log.warning("ignoring %s: not a bucket directory", entry)
                continue
            self.buckets[entry.name] = self._load_bucket(entry)
        return removed

    def _load_bucket(self, path: Path) -> Bucket:
        meta: dict = {}
        try:
            meta = json.loads((path / "bucket.json").read_text())
            created = float(meta["created"])
        except (OSError, ValueError, KeyError, TypeError):
            created = path.stat().st_mtime
        cors: tuple[CorsRule, ...] = ()
        try:
            cors = rules_from_json(meta.get("cors") or [])
        except (ValueError, AttributeError) as exc:
            log.warning("ignoring the CORS configuration of %s: %s", path, exc)
        bucket = Bucket(path.name, path, created, cors=cors)
        bucket.objects_dir.mkdir(exist_ok=True)
        bucket.uploads_dir.mkdir(exist_ok=True)
        for entry in bucket.objects_dir.iterdir():
            try:
                stored = open_object(entry)
            except (CorruptObject, ValueError, KeyError) as exc:
                log.warning("ignoring %s: %s", entry, exc)
                continue
            if stored is None:
                continue
            stored.close()
            if entry.name != key_file_name(stored.info.key):
                log.warning("ignoring %s: it holds a key of another file name", entry)
                continue
            bucket.index(stored.info)
        return bucket

    # -- buckets -------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket:
        """The bucket called ``name``; NoSuchBucket when there is none."""
        bucket = self.buckets.get(name)
        if bucket is None:
            raise S3Error(
                "NoSuchBucket", f"the bucket {name[:80]!r} does not exist", BucketName=name[:255]
            )
        return bucket

    def create_bucket(self, name: str) -> Bucket:
        """Create ``name`` (one rename of a prepared directory); 409 when it exists."""
        check_bucket_name(name)
        if name in self.buckets:
            raise S3Error(
                "BucketAlreadyOwnedByYou",
                f"the bucket {name!r} exists and is yours",
                BucketName=name,
            )
        staging = self.tmp_dir / f"{uuid.uuid4().hex}.bucket"
        staging.mkdir()
        (staging / "objects").mkdir()
        (staging / "uploads").mkdir()
        created = self.clock()
        meta = staging / "bucket.json"
        with open(meta, "w") as file:
            json.dump({"name": name, "created": created}, file)
            file.flush()
            os.fsync(file.fileno())
        fsync_dir(staging)
        target = self.buckets_dir / name
        os.rename(staging, target)
        fsync_dir(self.buckets_dir)
        bucket = Bucket(name, target, created)
        self.buckets[name] = bucket
        return bucket

    def set_cors(self, bucket: Bucket, rules: tuple[CorsRule, ...]) -> None:
        """Replace the CORS rules of ``bucket`` (none: remove them), durably: ``bucket.json``
        is rewritten in ``tmp/``, fsynced and renamed over the old one."""
        if self.buckets.get(bucket.name) is not bucket:
            raise S3Error("NoSuchBucket", f"the bucket {bucket.name!r} was deleted")
        staging = self.tmp_dir / f"{uuid.uuid4().hex}.bucket.json"
        meta = {"name": bucket.name, "created": bucket.created, "cors": rules_to_json(rules)}
        try:
            with open(staging, "w") as file:
                json.dump(meta, file)
                file.flush()
                os.fsync(file.fileno())
            os.rename(staging, bucket.path / "bucket.json")
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        fsync_dir(bucket.path)
        bucket.cors = rules

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket (its unfinished uploads go with it); BucketNotEmpty otherwise."""
        bucket = self.bucket(name)
        if bucket.keys:
            raise S3Error(
                "BucketNotEmpty",
                f"the bucket {name!r} holds {len(bucket.keys)} objects (delete them first)",
                BucketName=name,
            )
        trash = self.tmp_dir / f"{uuid.uuid4().hex}.trash"
        os.rename(bucket.path, trash)
        fsync_dir(self.buckets_dir)
        del self.buckets[name]
        shutil.rmtree(trash, ignore_errors=True)

    # -- objects -------------------------------------------------------------------------

    def new_writer(self) -> ObjectWriter:
        """A temporary file to stream a body into."""
        return ObjectWriter(self.tmp_dir)

    async def commit(
        self,
        bucket: Bucket,
        writer: ObjectWriter,
        info: ObjectInfo,
        *,
        precondition: Callable[[], None] | None = None,
    ) -> None:
        """Finish ``writer`` with ``info`` and make it the object of ``info.key``, durably.

        ``precondition`` runs right before the rename (no await in between), so a
        conditional PUT is decided against the object it really replaces.
        """
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, writer.finish, info)
            if self.buckets.get(bucket.name) is not bucket:
                raise S3Error("NoSuchBucket", f"the bucket {bucket.name!r} was deleted")
            if precondition is not None:
                precondition()
            writer.commit(bucket.object_path(info.key))
        except BaseException:
            writer.abort()
            raise
        bucket.index(info)
        await loop.run_in_executor(None, fsync_dir, bucket.objects_dir)

    def open_object(self, bucket: Bucket, key: str) -> StoredObject:
        """The current object of ``key``, open for reading; NoSuchKey when there is none."""
        check_key(key)
        try:
            stored = open_object(bucket.object_path(key))
        except CorruptObject as exc:
            raise S3Error("InternalError", f"the stored object is damaged: {exc}") from None
        if stored is None:
            raise S3Error("NoSuchKey", "the specified key does not exist", Key=key)
        return stored

    async def delete_object(self, bucket: Bucket, key: str) -> bool:
        """Remove ``key`` (True) or find nothing to remove (False); durable on return."""
        check_key(key)
        try:
            os.unlink(bucket.object_path(key))
        except FileNotFoundError:
            bucket.unindex(key)
            return False
        bucket.unindex(key)
        await asyncio.get_running_loop().run_in_executor(None, fsync_dir, bucket.objects_dir)
        return True

    # -- listings ------------------------------------------------------------------------

    def list_objects(
        self,
        bucket: Bucket,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        max_keys: int = 1000,
    ) -> Listing:
        """Keys after ``after`` under ``prefix``, rolled up at ``delimiter``, at most ``max_keys``.

        ``max_keys`` 0 answers an empty, untruncated page, as S3 does.
        """
        if max_keys <= 0:
            return Listing((), (), False, None)
        keys = bucket.keys
        start = bisect.bisect_left(keys, prefix)
        if after:
            start = max(start, bisect.bisect_right(keys, after))
        skip_prefix = _rolled_up(after, prefix, delimiter) if after else None
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: str | None = None
        position = start
        while position < len(keys):
            key = keys[position]
            if not key.startswith(prefix):
                break
            if skip_prefix is not None and key.startswith(skip_prefix):
                position += 1
                continue
            if len(objects) + len(prefixes) >= max_keys:
                return Listing(tuple(objects), tuple(prefixes), True, last)
            common = _rolled_up(key, prefix, delimiter)
            if common is not None:
                prefixes.append(common)
                last = common
                skip_prefix = common
            else:
                objects.append(bucket.infos[key])
                last = key
            position += 1
        return Listing(tuple(objects), tuple(prefixes), False, None)

    def iter_buckets(self) -> Iterator[Bucket]:
        """Every bucket, by name."""
        for name in sorted(self.buckets):
            yield self.buckets[name]


def _rolled_up(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix ``key`` rolls up into (None when it is listed as itself)."""
    if not delimiter or not key.startswith(prefix):
        return None
    cut = key.find(delimiter, len(prefix))
    if cut < 0:
        return None
    return key[: cut + len(delimiter)]
