"""Media files on disk, content-addressed by SHA-256 under DATA_DIR/media.

    media/blobs/ab/cd/<sha256>            one file per distinct content
    media/thumbnails/ab/<sha256>/<key>    cached thumbnails of that content
    media/tmp/                            uploads in progress

An upload streams into a temporary file while it is hashed, is fsynced, and is
then renamed to its content address (or dropped when that content is already
stored), so a stored file is always complete. Nothing is ever held whole in
memory: reads and writes go in chunks, in a worker thread, as does every other
file operation of a request (rename, fsync, unlink), off the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

READ_CHUNK = 256 * 1024
WRITE_BATCH = 1024 * 1024

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_THUMB_KEY = re.compile(r"^[0-9a-z_.-]{1,64}$")


class MediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs"
        self._thumbs = root / "thumbnails"
        self._tmp = root / "tmp"
        for folder in (self._blobs, self._thumbs, self._tmp):
            folder.mkdir(parents=True, exist_ok=True)
        # Uploads interrupted by a crash leave only temporary files behind.
        for leftover in self._tmp.iterdir():
            leftover.unlink(missing_ok=True)

    # -- paths --------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self._blobs / sha256[:2] / sha256[2:4] / sha256

    def thumbnail_path(self, sha256: str, key: str) -> Path:
        if not _HEX64.match(sha256) or not _THUMB_KEY.match(key) or key.startswith("."):
            raise ValueError("bad thumbnail key")
        return self._thumbs / sha256[:2] / sha256 / key

    def exists(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    # -- writing --------------------------------------------------------------------

    async def receive(self, chunks: AsyncIterator[bytes]) -> tuple[Path, str, int]:
        """Stream `chunks` into a new temporary file: (path, sha256, size).
        The file is fsynced; on any failure it is removed and the error raised."""
        tmp = self._tmp / f"upload-{secrets.token_hex(8)}"
        digest = hashlib.sha256()
        size = 0
        out: BinaryIO = await asyncio.to_thread(open, tmp, "xb")
        try:
            batch = bytearray()
            async for chunk in chunks:
                batch += chunk
                size += len(chunk)
                if len(batch) >= WRITE_BATCH:
                    await asyncio.to_thread(_write_hashed, out, digest, bytes(batch))
                    batch.clear()
            if batch:
                await asyncio.to_thread(_write_hashed, out, digest, bytes(batch))
            await asyncio.to_thread(_flush_and_sync, out)
        except BaseException:
            out.close()
            tmp.unlink(missing_ok=True)
            raise
        out.close()
        return tmp, digest.hexdigest(), size

    async def commit(self, tmp: Path, sha256: str) -> bool:
        """Move a received file to its content address; False (and the
        temporary file removed) when that content is stored already."""
        return await asyncio.to_thread(self._commit, tmp, sha256)

    def _commit(self, tmp: Path, sha256: str) -> bool:
        final = self.blob_path(sha256)
        if final.exists():
            tmp.unlink(missing_ok=True)
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _sync_dir(final.parent)
        return True

    async def discard(self, tmp: Path) -> None:
        await asyncio.to_thread(tmp.unlink, missing_ok=True)

    async def remove(self, sha256: str) -> None:
        """Delete stored content and its thumbnails."""
        await asyncio.to_thread(self._remove, sha256)

    # Content is removed under the service's lock, but thumbnails are written
    # outside it, in worker threads, so the two may interleave. Neither leaves
    # anything behind: remove() unlinks the content *before* it lists the
    # thumbnails, and write_thumbnail() looks for the content *after* its file
    # is in place. A thumbnail placed before the content went is in remove()'s
    # listing; one placed after finds the content gone and removes itself and
    # the folder (which remove() may have failed to, for that very file); one
    # whose folder was removed before it could be placed is not placed at all.

    def _remove(self, sha256: str) -> None:
        self.blob_path(sha256).unlink(missing_ok=True)
        self._remove_thumbnails(sha256)

    def _remove_thumbnails(self, sha256: str) -> None:
        folder = self._thumbs / sha256[:2] / sha256
        try:
            items = list(folder.iterdir())
        except FileNotFoundError:
            return
        for item in items:
            item.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            # A thumbnail written meanwhile: its writer removes it, and the folder.

    def write_thumbnail(self, sha256: str, key: str, data: bytes) -> Path | None:
        """Write a thumbnail atomically (temporary file, fsync, rename); None
        when the content was removed meanwhile (and nothing is left of it)."""
        final = self.thumbnail_path(sha256, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"thumb-{secrets.token_hex(8)}"
        try:
            with open(tmp, "xb") as out:
                out.write(data)
                _flush_and_sync(out)
            try:
                os.replace(tmp, final)
            except FileNotFoundError:
                # The folder went with the content (or with content since
                # uploaded again: then once more, into a new folder).
                if not self.exists(sha256):
                    return None
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        if not self.exists(sha256):
            self._remove_thumbnails(sha256)
            return None
        return final

    # -- reading --------------------------------------------------------------------

    async def read(self, path: Path, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of `path` from `start`, `length` of them (all by default),
        in chunks read in a worker thread."""
        handle: BinaryIO = await asyncio.to_thread(open, path, "rb")
        try:
            if start:
                await asyncio.to_thread(handle.seek, start)
            remaining = length
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()


def _write_hashed(out: BinaryIO, digest: "hashlib._Hash", data: bytes) -> None:
    digest.update(data)
    out.write(data)


def _flush_and_sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
