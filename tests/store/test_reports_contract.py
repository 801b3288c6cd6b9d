"""ReportStore: content reports with keys the database generates."""

from __future__ import annotations

from kith.store.reports import ReportStore
from storekit import Backend  # type: ignore[import-not-found]

ALICE = "@alice:store.test"


async def test_report_ids_increase_and_are_not_reused_after_a_restart(backend: Backend) -> None:
    reports = ReportStore(backend.db)
    first = await reports.add(ALICE, room_id="!r:store.test", event_id="$e", reason="spam",
                              score=-100)
    second = await reports.add(ALICE, target_user="@mallory:store.test")
    reports = ReportStore(backend.reopen())
    third = await reports.add(ALICE, room_id="!r:store.test")
    assert first < second < third

    listed = await reports.all()
    assert [r["report_id"] for r in listed] == [first, second, third]
    assert {k: listed[0][k] for k in ("reporter", "room_id", "event_id", "target_user",
                                      "reason", "score")} == \
        {"reporter": ALICE, "room_id": "!r:store.test", "event_id": "$e", "target_user": None,
         "reason": "spam", "score": -100}
    assert listed[1]["target_user"] == "@mallory:store.test"
