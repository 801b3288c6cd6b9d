"""The media repository's operations, between the HTTP routes (kith.api.media),
the metadata (kith.store.media) and the files (kith.media.storage)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kith.errors import MatrixError, forbidden, limit_exceeded, not_found, too_large
from kith.media import headers
from kith.media.sizing import MAX_STEP, Method, bucket
from kith.media.storage import MediaStorage
from kith.media.thumbnailer import (
    THUMBNAIL_TYPES,
    CannotThumbnail,
    Thumbnail,
    TooLarge,
    can_thumbnail,
    make_thumbnail,
)
from kith.store.media import MediaRecord, MediaStore

log = logging.getLogger("kith.media")

UNUSED_EXPIRY_MS = 24 * 3600 * 1000  # spec: recommended expiry of created media ids
MAX_PENDING_PER_USER = 20
DEFAULT_TIMEOUT_MS = 20_000
MAX_TIMEOUT_MS = 60_000
THUMBNAIL_WORKERS = max(1, min(4, os.cpu_count() or 1))
# Animated thumbnails cost the most (a bounded budget of frames, still up to
# about a second each): they may take at most half of the workers, so stills
# keep being made while several animations are.
ANIMATION_WORKERS = max(1, THUMBNAIL_WORKERS // 2)

MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

_THUMB_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif"}
_ORIGINAL = ".orig"  # marker file: the content itself serves as this thumbnail


def cannot_overwrite() -> MatrixError:
    return MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded")


def not_yet_uploaded() -> MatrixError:
    return MatrixError(504, "M_NOT_YET_UPLOADED", "Content has not yet been uploaded")


# Errors of a write that mean the disk (or the server's share of it) is full.
STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def admin_contact(support_page: str, support_admin: str, base_url: str) -> str:
    """Where a user who hits a resource limit can reach out (spec,
    M_RESOURCE_LIMIT_EXCEEDED: the error MUST have an `admin_contact` field
    with "a place to reach out to"): the configured support page, else a
    link to the administrator's Matrix ID, else the server's own web address
    (its web messenger, the one place every user of it knows)."""
    if support_page:
        return support_page
    if support_admin:
        return f"https://matrix.to/#/{support_admin}"
    return base_url


def quota_exceeded(contact: str) -> MatrixError:
    return MatrixError(403, "M_RESOURCE_LIMIT_EXCEEDED", "Media quota exceeded",
                       admin_contact=contact)


def storage_full(contact: str) -> MatrixError:
    # Spec, M_RESOURCE_LIMIT_EXCEEDED: "the homeserver has reached a resource
    # limit imposed on it", for example "too much memory or disk space": the
    # errcode for a full disk, so that clients point the user at the admin.
    # 403 as for the quota: the spec gives this error no other status.
    return MatrixError(403, "M_RESOURCE_LIMIT_EXCEEDED", "The server's storage is full",
                       admin_contact=contact)


def cannot_thumbnail() -> MatrixError:
    return MatrixError(400, "M_UNKNOWN", "Cannot generate thumbnails for the requested content")


@dataclass(slots=True)
class _Waiting:
    """Downloads waiting for the content of a reserved media id."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0


@dataclass(frozen=True, slots=True)
class ThumbnailFile:
    path: Path | None  # None: made but not cached (the disk is full), served from `data`
    content_type: str
    size: int
    data: bytes | None = None


def now_ms() -> int:
    return int(time.time() * 1000)


class MediaService:
    def __init__(self, server_name: str, store: MediaStore, storage: MediaStorage, *,
                 max_upload_bytes: int, user_quota_bytes: int, max_thumbnail_pixels: int,
                 admin_contact: str) -> None:
        self.server_name = server_name
        self.admin_contact = admin_contact
        self.store = store
        self.storage = storage
        self.max_upload_bytes = max_upload_bytes
        self.user_quota_bytes = user_quota_bytes
        self.max_thumbnail_pixels = max_thumbnail_pixels
        self._uploaded: dict[str, _Waiting] = {}
        self._blob_lock = asyncio.Lock()
        self._thumb_workers = asyncio.Semaphore(THUMBNAIL_WORKERS)
        self._animation_workers = asyncio.Semaphore(ANIMATION_WORKERS)
        self._thumb_locks: dict[str, asyncio.Lock] = {}
        self._last_expiry_sweep = 0

    def mxc(self, media_id: str) -> str:
        return f"mxc://{self.server_name}/{media_id}"

    # -- uploads ----------------------------------------------------------------------

    async def upload(self, user_id: str, body: AsyncIterator[bytes], content_type: str | None,
                     filename: str | None, declared: int | None) -> str:
        """POST /upload: store the body and return its new mxc:// URI."""
        await self._check_quota(user_id, declared or 0)
        with self._storage_full():
            tmp, sha256, size = await self.storage.receive(body)
        media_id = _new_media_id()
        try:
            async with self._blob_lock:
                # Checked again under the lock that also records the upload:
                # two uploads at once cannot both pass the quota.
                await self._check_quota(user_id, size)
                with self._storage_full():
                    created = await self.storage.commit(tmp, sha256)
                try:
                    await self.store.add_uploaded(media_id, user_id, sha256, size,
                                                  content_type, filename, now_ms())
                except BaseException:
                    if created:
                        await self._remove_if_unreferenced(sha256)
                    raise
        finally:
            await self.storage.discard(tmp)
        return self.mxc(media_id)

    async def create(self, user_id: str) -> tuple[str, int]:
        """POST /create: reserve a media id; (mxc URI, unused_expires_at)."""
        now = now_ms()
        if now - self._last_expiry_sweep > 3600_000:
            self._last_expiry_sweep = now
            await self.store.delete_expired(now)
        media_id = _new_media_id()
        expires = now + UNUSED_EXPIRY_MS
        if not await self.store.add_pending(media_id, user_id, now, expires, MAX_PENDING_PER_USER):
            # Spec: too many pending uploads is 429 M_LIMIT_EXCEEDED.
            raise limit_exceeded(60_000)
        return self.mxc(media_id), expires

    async def upload_to(self, user_id: str, server_name: str, media_id: str,
                        body: AsyncIterator[bytes], content_type: str | None,
                        filename: str | None, declared: int | None) -> None:
        """PUT /upload/{serverName}/{mediaId}: content for a reserved id."""
        record = await self._local(server_name, media_id)
        if record is None:
            raise not_found("Unknown media ID")
        if record.user_id != user_id:
            raise forbidden("This media ID was created by another user")
        if record.uploaded:
            raise cannot_overwrite()
        if record.expires_ts is not None and record.expires_ts <= now_ms():
            raise not_found("This media ID has expired")
        await self._check_quota(user_id, declared or 0)
        with self._storage_full():
            tmp, sha256, size = await self.storage.receive(body)
        try:
            async with self._blob_lock:
                await self._check_quota(user_id, size)  # under the lock, as in upload()
                with self._storage_full():
                    created = await self.storage.commit(tmp, sha256)
                done = await self.store.complete_pending(media_id, user_id, sha256, size,
                                                         content_type, filename, now_ms())
                if not done:
                    if created:
                        await self._remove_if_unreferenced(sha256)
                    current = await self.store.get(media_id)
                    raise cannot_overwrite() if current and current.uploaded else not_found(
                        "This media ID has expired")
        finally:
            await self.storage.discard(tmp)
        waiters = self._uploaded.pop(media_id, None)
        if waiters is not None:
            waiters.event.set()

    async def _check_quota(self, user_id: str, extra: int) -> None:
        if self.user_quota_bytes and extra:
            if await self.store.used_bytes(user_id) + extra > self.user_quota_bytes:
                raise quota_exceeded(self.admin_contact)
        if extra > self.max_upload_bytes:
            raise too_large(f"Cannot upload files larger than {self.max_upload_bytes} bytes")

    @contextlib.contextmanager
    def _storage_full(self) -> Iterator[None]:
        """A full disk is the spec's resource limit, not an unexplained 500.
        Nothing is left half-written: receive() removes its temporary file on
        any failure and commit() only renames a complete one."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in STORAGE_FULL:
                raise
            log.error("media storage is full: %s; upload refused", exc.strerror)
            raise storage_full(self.admin_contact) from None

    # -- downloads ----------------------------------------------------------------------

    async def _local(self, server_name: str, media_id: str) -> MediaRecord | None:
        # Kith has no federation: media of other servers is unknown here.
        if server_name != self.server_name or not MEDIA_ID.match(media_id):
            return None
        return await self.store.get(media_id)

    async def find(self, server_name: str, media_id: str, timeout_ms: int | None) -> MediaRecord:
        """Uploaded media, waiting up to timeout_ms for a reserved id's upload
        (spec: 504 M_NOT_YET_UPLOADED when it does not come in time)."""
        record = await self._local(server_name, media_id)
        if record is None:
            raise not_found("Media not found")
        if record.uploaded:
            return record
        if record.expires_ts is not None and record.expires_ts <= now_ms():
            raise not_found("Media not found")
        timeout = DEFAULT_TIMEOUT_MS if timeout_ms is None else min(timeout_ms, MAX_TIMEOUT_MS)
        if timeout > 0:
            waiting = self._uploaded.setdefault(media_id, _Waiting())
            waiting.count += 1
            try:
                # Read again once registered: an upload finishing since the
                # first read would otherwise only be seen after the timeout.
                record = await self.store.get(media_id)
                if record is not None and not record.uploaded:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiting.event.wait(), timeout / 1000)
                    record = await self.store.get(media_id)
            finally:
                waiting.count -= 1
                # The last waiter leaves: an id that is never uploaded (and
                # expires) keeps nothing in memory.
                if waiting.count == 0 and self._uploaded.get(media_id) is waiting:
                    del self._uploaded[media_id]
            if record is not None and record.uploaded:
                return record
        raise not_yet_uploaded()

    def path(self, record: MediaRecord) -> Path:
        assert record.sha256 is not None
        return self.storage.blob_path(record.sha256)

    # -- thumbnails ---------------------------------------------------------------------

    async def thumbnail(self, record: MediaRecord, width: int, height: int, method: Method,
                        animated: bool) -> ThumbnailFile:
        assert record.sha256 is not None and record.size is not None
        content_type = headers.essence(record.content_type or "")
        if not can_thumbnail(content_type):
            raise cannot_thumbnail()
        box = (bucket(width) or MAX_STEP, bucket(height) or MAX_STEP)
        key = f"{box[0]}x{box[1]}-{method}-{'animated' if animated else 'static'}"
        # File lookups in a worker thread, as every other file operation:
        # a slow disk does not stall the event loop.
        found = await asyncio.to_thread(self._cached, record, key)
        if found is not None:
            return found
        lock = self._thumb_locks.setdefault(f"{record.sha256}/{key}", asyncio.Lock())
        try:
            async with lock:
                found = await asyncio.to_thread(self._cached, record, key)
                if found is not None:
                    return found
                animation_slot = self._animation_workers if animated else contextlib.nullcontext()
                async with animation_slot, self._thumb_workers:
                    made = await asyncio.to_thread(self._make, record, content_type, box, method,
                                                   animated)
        finally:
            if not lock.locked():
                self._thumb_locks.pop(f"{record.sha256}/{key}", None)
        return made

    def _cached(self, record: MediaRecord, key: str) -> ThumbnailFile | None:
        """Blocking: runs in a worker thread."""
        assert record.sha256 is not None and record.size is not None
        for ext, content_type in _THUMB_TYPES.items():
            path = self.storage.thumbnail_path(record.sha256, key + ext)
            if path.is_file():
                return ThumbnailFile(path, content_type, path.stat().st_size)
        original_type = headers.essence(record.content_type or "")
        # Only a type a thumbnail may have (markers written before that rule
        # existed, for a small BMP say, are ignored and the thumbnail made anew).
        if (original_type in THUMBNAIL_TYPES
                and self.storage.thumbnail_path(record.sha256, key + _ORIGINAL).is_file()):
            return ThumbnailFile(self.path(record), original_type, record.size)
        return None

    def _make(self, record: MediaRecord, content_type: str, box: tuple[int, int], method: Method,
              animated: bool) -> ThumbnailFile:
        """Blocking: runs in a worker thread."""
        assert record.sha256 is not None and record.size is not None
        key = f"{box[0]}x{box[1]}-{method}-{'animated' if animated else 'static'}"
        try:
            made: Thumbnail = make_thumbnail(self.path(record), content_type, box, method,
                                             animated, self.max_thumbnail_pixels)
        except TooLarge:
            raise too_large("Content is too large to thumbnail") from None
        except CannotThumbnail as exc:
            log.info("cannot thumbnail %s: %s", record.media_id, exc)
            raise cannot_thumbnail() from None
        ext = _ORIGINAL if made.data is None else next(
            e for e, t in _THUMB_TYPES.items() if t == made.content_type)
        try:
            path = self.storage.write_thumbnail(record.sha256, key + ext, made.data or b"")
        except OSError as exc:
            if exc.errno not in STORAGE_FULL:
                raise
            # Only the cache is lost: the thumbnail is served all the same.
            log.error("media storage is full: %s; thumbnail not cached", exc.strerror)
            if made.data is None:
                return ThumbnailFile(self.path(record), content_type, record.size)
            return ThumbnailFile(None, made.content_type, len(made.data), made.data)
        if path is None:
            raise not_found("Media not found")  # erased while it was being made
        if made.data is None:
            return ThumbnailFile(self.path(record), content_type, record.size)
        return ThumbnailFile(path, made.content_type, len(made.data))

    # -- export and erasure ----------------------------------------------------------------

    async def media_of(self, user_id: str) -> list[MediaRecord]:
        return await self.store.by_user(user_id)

    async def erase(self, media_id: str) -> None:
        async with self._blob_lock:
            orphan = await self.store.delete(media_id)
            if orphan is not None:
                await self.storage.remove(orphan)

    async def erase_user(self, user_id: str) -> int:
        """Delete every piece of media the user uploaded; how many."""
        records = await self.store.by_user(user_id)
        for record in records:
            await self.erase(record.media_id)
        return len(records)

    async def _remove_if_unreferenced(self, sha256: str) -> None:
        if not await self.store.is_referenced(sha256):
            await self.storage.remove(sha256)


def _new_media_id() -> str:
    return secrets.token_urlsafe(18)  # 24 characters of A-Za-z0-9_-
