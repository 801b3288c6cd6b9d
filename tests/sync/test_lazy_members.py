"""The record of member events each device holds (client-server-api
"Lazy-loading room members": redundant membership events), without a server."""

from __future__ import annotations

from kith.store.events import StoredEvent
from kith.sync.lazy_members import MAX_PER_ROOM, SentMembers

PHONE = ("@bob:hs", "PHONE")
LAPTOP = ("@bob:hs", "LAPTOP")


def member(user: str, n: int = 1) -> StoredEvent:
    pdu = {"type": "m.room.member", "state_key": user, "sender": user,
           "content": {"membership": "join"}}
    return StoredEvent(n, f"${user}-{n}", "!r:hs", pdu, None, None, None, None)


def test_held_only_once_the_device_synced_past_the_response() -> None:
    sent = SentMembers()
    carol = member("@carol:hs")
    sent.synced(PHONE, None)
    sent.remember(PHONE, "!r:hs", [carol], pos=10)
    assert sent.unsent(PHONE, "!r:hs", [carol]) == [carol]  # response may be lost
    sent.synced(PHONE, 10)
    assert sent.unsent(PHONE, "!r:hs", [carol]) == []
    # Another event for the same member, another room or another device: not held.
    assert sent.unsent(PHONE, "!r:hs", [member("@carol:hs", 2)]) != []
    assert sent.unsent(PHONE, "!other:hs", [carol]) == [carol]
    assert sent.unsent(LAPTOP, "!r:hs", [carol]) == [carol]
    # An initial sync starts the device afresh.
    sent.synced(PHONE, None)
    assert sent.unsent(PHONE, "!r:hs", [carol]) == [carol]


def test_bounded() -> None:
    sent = SentMembers(max_entries=MAX_PER_ROOM + 10)
    many = [member(f"@u{i}:hs") for i in range(MAX_PER_ROOM + 5)]
    sent.remember(PHONE, "!r:hs", many, pos=1)
    sent.synced(PHONE, 1)
    # Per room, the oldest entries go first.
    assert sent.unsent(PHONE, "!r:hs", many[:5]) == many[:5]
    assert sent.unsent(PHONE, "!r:hs", many[5:]) == []
    # Over the total, the least recently syncing device is dropped.
    sent.remember(LAPTOP, "!r:hs", many[:20], pos=1)
    sent.synced(LAPTOP, 1)
    assert sent.unsent(PHONE, "!r:hs", many[5:]) == many[5:]
    assert sent.unsent(LAPTOP, "!r:hs", many[:20]) == []
