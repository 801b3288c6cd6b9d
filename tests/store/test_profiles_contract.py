"""ProfileFieldStore: extra profile fields, any JSON value (profile.yaml)."""

from __future__ import annotations

from kith.store.database import Database
from kith.store.profiles import ProfileFieldStore

ALICE = "@alice:store.test"


async def test_profile_fields_hold_json_values_and_can_be_removed(db: Database) -> None:
    fields = ProfileFieldStore(db)
    values = {"m.tz": "Europe/Paris", "org.x.n": 3, "org.x.nested": {"a": [1, None, True]}}
    for key, value in values.items():
        await fields.set(ALICE, key, value)
    await fields.set(ALICE, "m.tz", "Asia/Tokyo")
    assert await fields.fields(ALICE) == {**values, "m.tz": "Asia/Tokyo"}
    assert list(await fields.fields(ALICE)) == sorted(values)

    await fields.delete(ALICE, "org.x.n")
    await fields.delete(ALICE, "never.set")
    assert set(await fields.fields(ALICE)) == {"m.tz", "org.x.nested"}
    assert await fields.fields("@nobody:store.test") == {}
