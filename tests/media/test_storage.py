"""Media files on disk (kith.media.storage): content removed while one of its
thumbnails is being written leaves nothing behind, whatever the interleaving."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from kith.media import storage as storage_mod
from kith.media.storage import MediaStorage

WAIT_S = 5.0


def stored(root: Path) -> tuple[MediaStorage, str]:
    storage = MediaStorage(root)
    data = b"some content"
    sha256 = hashlib.sha256(data).hexdigest()
    path = storage.blob_path(sha256)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return storage, sha256


def leftovers(storage: MediaStorage) -> list[Path]:
    return [p for p in (storage.root / "thumbnails").rglob("*") if len(p.name) == 64 or p.is_file()]


def test_thumbnail_then_removal(tmp_path: Path) -> None:
    storage, sha256 = stored(tmp_path)
    assert storage.write_thumbnail(sha256, "32x32-crop-static.png", b"png") is not None
    storage._remove(sha256)
    assert leftovers(storage) == [] and not storage.exists(sha256)


def test_thumbnail_after_removal_is_not_kept(tmp_path: Path) -> None:
    """Written once the content is gone: no orphan folder."""
    storage, sha256 = stored(tmp_path)
    storage._remove(sha256)
    assert storage.write_thumbnail(sha256, "32x32-crop-static.png", b"png") is None
    assert leftovers(storage) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_removal_while_the_thumbnail_is_written(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The content goes between the thumbnail's folder being made and the
    file being put in place."""
    storage, sha256 = stored(tmp_path)
    sync = storage_mod._flush_and_sync

    def removed_meanwhile(out: object) -> None:
        sync(out)  # type: ignore[arg-type]
        storage._remove(sha256)

    monkeypatch.setattr(storage_mod, "_flush_and_sync", removed_meanwhile)
    assert storage.write_thumbnail(sha256, "96x96-scale-static.png", b"png") is None
    assert leftovers(storage) == []


def test_thumbnail_placed_between_listing_and_rmdir(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The hardest order: removal lists the (empty) folder, the writer puts
    its file in, removal's rmdir finds the folder not empty, and only then
    does the writer look for the content. Removal must not fail, and the
    writer must clean up after itself."""
    storage, sha256 = stored(tmp_path)
    storage.write_thumbnail(sha256, "32x32-crop-static.png", b"older")  # the folder exists
    go_place, placed, removal_done = threading.Event(), threading.Event(), threading.Event()
    sync = storage_mod._flush_and_sync
    exists = MediaStorage.exists
    rmdir = Path.rmdir

    def place_when_told(out: object) -> None:
        sync(out)  # type: ignore[arg-type]
        assert go_place.wait(WAIT_S)

    def check_after_removal(self: MediaStorage, digest: str) -> bool:
        placed.set()
        assert removal_done.wait(WAIT_S)
        return exists(self, digest)

    def rmdir_after_placing(self: Path) -> None:
        go_place.set()
        assert placed.wait(WAIT_S)
        rmdir(self)

    monkeypatch.setattr(storage_mod, "_flush_and_sync", place_when_told)
    monkeypatch.setattr(MediaStorage, "exists", check_after_removal)
    results: list[Path | None] = []
    writer = threading.Thread(target=lambda: results.append(
        storage.write_thumbnail(sha256, "96x96-scale-static.png", b"png")))
    writer.start()
    monkeypatch.setattr(Path, "rmdir", rmdir_after_placing)
    try:
        storage._remove(sha256)  # ENOTEMPTY from rmdir: not an error
    finally:
        monkeypatch.setattr(Path, "rmdir", rmdir)
        removal_done.set()
        writer.join(WAIT_S)
    assert results == [None]
    assert leftovers(storage) == []
