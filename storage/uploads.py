"""Multipart uploads on disk: create, store parts, complete (crash-safe), abort, list.

Layout: ``buckets/<bucket>/uploads/<upload id>/upload.json`` (key, time, headers, checksum
algorithm and type), ``part-00001`` ... (object files, storage.objectfile) and, once
completed, ``completed.json`` (key and ETag, so a repeated CompleteMultipartUpload answers the
same). Upload ids are 32 hex digits we generate; anything else is NoSuchUpload, never a path.

Rules: an upload directory appears by one rename of a prepared one; a part is a temporary
file renamed over ``part-N`` (the last upload of a part number wins). Completion copies the
chosen parts into one temporary object file, fsyncs it and renames it over the key (the same
commit as a PUT), then records ``completed.json`` and removes the parts: a crash before the
rename leaves the old object and the upload intact (it can be completed again), a crash after
it leaves the new object. The multipart ETag is ``md5(concat(part MD5 digests))-N``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.errors import S3Error
from storage.objectfile import ObjectInfo, ObjectWriter, fsync_dir, open_object
from storage.payload import new_digest
from storage.store import Bucket, Store

__all__ = ["MIN_PART_BYTES", "PartChoice", "Upload", "UploadStore"]

MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_PIECE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload in progress: its id, key, start time, stored headers, checksum settings, tags."""

    upload_id: str
    key: str
    initiated: float
    headers: tuple[tuple[str, str], ...]
    user_meta: tuple[tuple[str, str], ...]
    checksum_algorithm: str | None
    checksum_type: str
    path: Path
    tags: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """What upload.json holds."""
        return {
            "key": self.key,
            "initiated": self.initiated,
            "headers": [list(p) for p in self.headers],
            "user_meta": [list(p) for p in self.user_meta],
            "checksum_algorithm": self.checksum_algorithm,
            "checksum_type": self.checksum_type,
            "tags": [list(p) for p in self.tags],
        }


@dataclass(frozen=True, slots=True)
class PartChoice:
    """One part named in CompleteMultipartUpload: its number and the ETag the client expects."""

    number: int
    etag: str


def _write_json_atomically(path: Path, data: dict[str, Any], tmp_dir: Path) -> None:
    tmp = tmp_dir / f"{uuid.uuid4().hex}.json"
    with open(tmp, "x") as file:
        json.dump(data, file)
        file.flush()
        os.fsync(file.fileno())
    os.rename(tmp, path)
    fsync_dir(path.parent)


class UploadStore:
    """The multipart uploads of every bucket of a ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        bucket: Bucket,
        key: str,
        headers: tuple[tuple[str, str], ...],
        user_meta: tuple[tuple[str, str], ...],
        checksum_algorithm: str | None,
        checksum_type: str,
        tags: tuple[tuple[str, str], ...] = (),
    ) -> Upload:
        """A new upload of ``key`` (its directory appears by one rename)."""
        upload_id = uuid.uuid4().hex
        staging = self.store.tmp_dir / f"{upload_id}.upload"
        staging.mkdir()
        upload = Upload(
            upload_id,
            key,
            self.store.clock(),
            headers,
            user_meta,
            checksum_algorithm,
            checksum_type,
            bucket.uploads_dir / upload_id,
            tags,
        )
        with open(staging / "upload.json", "x") as file:
            json.dump(upload.to_json(), file)
            file.flush()
            os.fsync(file.fileno())
        fsync_dir(staging)
        os.rename(staging, upload.path)
        fsync_dir(bucket.uploads_dir)
        return upload

    def get(self, bucket: Bucket, upload_id: str, key: str | None = None) -> Upload:
        """The upload ``upload_id`` (of ``key`` when given); NoSuchUpload otherwise."""
        missing = S3Error(
            "NoSuchUpload",
            "the specified upload does not exist; it may have been aborted or completed",
            UploadId=upload_id[:64],
        )
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise missing
        path = bucket.uploads_dir / upload_id
        try:
            data = json.loads((path / "upload.json").read_text())
        except (OSError, ValueError):
            raise missing from None
        if key is not None and data["key"] != key:
            raise missing
        return Upload(
            upload_id,
            data["key"],
            float(data["initiated"]),
            tuple((k, v) for k, v in data["headers"]),
            tuple((k, v) for k, v in data["user_meta"]),
            data.get("checksum_algorithm"),
            data.get("checksum_type", "COMPOSITE"),
            path,
            tuple((k, v) for k, v in data.get("tags", ())),
        )

    def completed(self, upload: Upload) -> dict[str, Any] | None:
        """The record of a completed upload (None while it is in progress)."""
        try:
            return json.loads((upload.path / "completed.json").read_text())
        except (OSError, ValueError):
            return None

    def part_path(self, upload: Upload, number: int) -> Path:
        """The file of part ``number``."""
        return upload.path / f"part-{number:05d}"

    def commit_part(self, upload: Upload, number: int, writer: ObjectWriter) -> None:
        """Rename a finished part file into the upload (NoSuchUpload when it is gone)."""
        try:
            writer.commit(self.part_path(upload, number))
        except FileNotFoundError:
            writer.abort()
            raise S3Error("NoSuchUpload", "the upload was aborted or completed meanwhile") from None
        fsync_dir(upload.path)

    def parts(self, upload: Upload) -> list[ObjectInfo]:
        """The stored parts, by number (``ObjectInfo.key`` is the part number)."""
        infos = []
        with contextlib.suppress(FileNotFoundError):
            for entry in sorted(upload.path.iterdir()):
                if entry.name.startswith("part-"):
                    stored = open_object(entry)
                    if stored is not None:
                        stored.close()
                        infos.append(stored.info)
        return infos

    def uploads(self, bucket: Bucket) -> list[Upload]:
        """Uploads in progress, by key then time."""
        found = []
        for entry in bucket.uploads_dir.iterdir():
            try:
                upload = self.get(bucket, entry.name)
            except S3Error:
                continue
            if self.completed(upload) is None:
                found.append(upload)
        return sorted(found, key=lambda u: (u.key, u.initiated, u.upload_id))

    def abort(self, bucket: Bucket, upload: Upload) -> None:
        """Remove the upload and its parts."""
        trash = self.store.tmp_dir / f"{uuid.uuid4().hex}.trash"
        try:
            os.rename(upload.path, trash)
        except FileNotFoundError:
            raise S3Error("NoSuchUpload", "the upload does not exist") from None
        fsync_dir(bucket.uploads_dir)
        shutil.rmtree(trash, ignore_errors=True)

    def check_choices(self, upload: Upload, choices: list[PartChoice]) -> list[ObjectInfo]:
        """The stored parts ``choices`` name, in order; InvalidPartOrder/InvalidPart/EntityTooSmall."""
        if not choices:
            raise S3Error("MalformedXML", "CompleteMultipartUpload names no parts")
        numbers = [c.number for c in choices]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise S3Error("InvalidPartOrder", "the list of parts was not in ascending order")
        stored = {int(info.key): info for info in self.parts(upload)}
        chosen = []
        for index, choice in enumerate(choices):
            info = stored.get(choice.number)
            if info is None or info.etag.strip('"') != choice.etag.strip().strip('"'):
                raise S3Error(
                    "InvalidPart",
                    f"part {choice.number} was not uploaded or its ETag is not {choice.etag[:40]}",
                    PartNumber=str(choice.number),
                )
            if index < len(choices) - 1 and info.size < MIN_PART_BYTES:
                raise S3Error(
                    "EntityTooSmall",
                    f"part {choice.number} is {info.size} bytes; every part but the last must"
                    f" be at least {MIN_PART_BYTES} bytes",
                    PartNumber=str(choice.number),
                    ProposedSize=str(info.size),
                    MinSizeAllowed=str(MIN_PART_BYTES),
                )
            chosen.append(info)
        return chosen

    def assemble(self, upload: Upload, parts: list[ObjectInfo], writer: ObjectWriter) -> str | None:
        """Copy ``parts`` into ``writer`` (blocking: run off the loop); the full-object checksum."""
        digest = None
        if upload.checksum_algorithm and upload.checksum_type == "FULL_OBJECT":
            digest = new_digest(upload.checksum_algorithm)
        for info in parts:
            stored = open_object(self.part_path(upload, int(info.key)))
            if stored is None:
                raise S3Error("InvalidPart", f"part {info.key} disappeared", PartNumber=info.key)
            try:
                position = 0
                while position < info.size:
                    piece = stored.read(position, min(_PIECE, info.size - position))
                    if not piece:
                        raise S3Error("InternalError", f"part {info.key} is shorter than stored")
                    writer.write(piece)
                    if digest is not None:
                        digest.update(piece)
                    position += len(piece)
            finally:
                stored.close()
        if digest is None:
            return None
        return base64.b64encode(digest.digest()).decode()

    def record_completion(self, upload: Upload, etag: str, checksums: list[list[str]]) -> None:
        """Note the completion (repeated completes answer it) and drop the parts."""
        _write_json_atomically(
            upload.path / "completed.json",
            {"key": upload.key, "etag": etag, "checksums": checksums},
            self.store.tmp_dir,
        )
        for entry in upload.path.iterdir():
            if entry.name.startswith("part-"):
                entry.unlink(missing_ok=True)


def multipart_etag(parts: list[ObjectInfo]) -> str:
    """S3's ETag of a multipart object: ``"md5(concat(part MD5 digests))-N"``."""
    joined = b"".join(bytes.fromhex(info.etag.strip('"')) for info in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def composite_checksum(algorithm: str, parts: list[ObjectInfo]) -> str | None:
    """S3's composite checksum: the checksum of the concatenated part checksums, ``-N``."""
    digest = new_digest(algorithm)
    for info in parts:
        value = dict(info.checksums).get(algorithm)
        if value is None:
            return None
        digest.update(base64.b64decode(value))
    return base64.b64encode(digest.digest()).decode() + f"-{len(parts)}"
