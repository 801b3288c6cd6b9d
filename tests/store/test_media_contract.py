"""MediaStore: records of uploaded and reserved media (content_repo.yaml,
media.md "asynchronous uploads"); the bytes live in kith.media.storage."""

from __future__ import annotations

import pytest

from kith.store.database import Database
from kith.store.media import MediaStore

ALICE = "@alice:store.test"
BOB = "@bob:store.test"
NOW = 1_700_000_000_000


@pytest.fixture
def media(db: Database) -> MediaStore:
    return MediaStore(db)


async def test_an_upload_is_recorded_with_what_was_sent(media: MediaStore) -> None:
    await media.add_uploaded("m1", ALICE, "aa" * 32, 10, "text/plain", "a.txt", NOW)
    record = await media.get("m1")
    assert record is not None and record.uploaded
    assert (record.user_id, record.sha256, record.size, record.content_type, record.filename,
            record.created_ts, record.uploaded_ts, record.expires_ts) == \
        (ALICE, "aa" * 32, 10, "text/plain", "a.txt", NOW, NOW, None)
    assert await media.get("m2") is None


async def test_used_bytes_count_uploaded_content_only(media: MediaStore) -> None:
    await media.add_uploaded("m1", ALICE, "aa" * 32, 10, None, None, NOW)
    await media.add_uploaded("m2", ALICE, "aa" * 32, 10, None, None, NOW + 1)  # same bytes
    await media.add_uploaded("m3", BOB, "bb" * 32, 7, None, None, NOW)
    assert await media.add_pending("m4", ALICE, NOW, NOW + 60_000, max_pending=5)
    assert await media.used_bytes(ALICE) == 20
    assert await media.used_bytes("@nobody:store.test") == 0
    assert [r.media_id for r in await media.by_user(ALICE)] == ["m1", "m4", "m2"]


async def test_a_reservation_is_completed_once_by_its_owner_before_it_expires(
        media: MediaStore) -> None:
    expires = NOW + 60_000
    assert await media.add_pending("m1", ALICE, NOW, expires, max_pending=5)
    record = await media.get("m1")
    assert record is not None and not record.uploaded and record.expires_ts == expires
    cases = [
        (BOB, NOW + 1, False),            # not the owner's
        (ALICE, expires, False),          # expired
        (ALICE, NOW + 1, True),
        (ALICE, NOW + 2, False),          # has content already
    ]
    for user, when, completed in cases:
        assert await media.complete_pending("m1", user, "cc" * 32, 3, "image/png", None,
                                            when) == completed
    record = await media.get("m1")
    assert record is not None and (record.sha256, record.uploaded_ts, record.expires_ts) == \
        ("cc" * 32, NOW + 1, None)


async def test_unexpired_reservations_are_limited_and_expired_ones_dropped(
        media: MediaStore) -> None:
    assert await media.add_pending("m1", ALICE, NOW, NOW + 10, max_pending=2)
    assert await media.add_pending("m2", ALICE, NOW, NOW + 1000, max_pending=2)
    assert not await media.add_pending("m3", ALICE, NOW, NOW + 1000, max_pending=2)
    assert await media.add_pending("m3", BOB, NOW, NOW + 1000, max_pending=2)
    assert await media.add_pending("m4", ALICE, NOW + 10, NOW + 1000, max_pending=2)  # m1 lapsed
    assert await media.delete_expired(NOW + 10) == 1
    assert await media.get("m1") is None
    assert await media.get("m2") is not None


async def test_deleting_the_last_record_of_some_content_frees_it(media: MediaStore) -> None:
    digest = "dd" * 32
    await media.add_uploaded("m1", ALICE, digest, 1, None, None, NOW)
    await media.add_uploaded("m2", BOB, digest, 1, None, None, NOW)
    assert await media.delete("m1") is None          # m2 still uses the bytes
    assert await media.is_referenced(digest)
    assert await media.delete("m2") == digest
    assert not await media.is_referenced(digest)
    assert await media.delete("m2") is None
