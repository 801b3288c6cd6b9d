"""FilterStore: uploaded filters, numbered per user (filter.yaml)."""

from __future__ import annotations

import pytest

from kith.store.database import Database
from kith.store.filters import FilterStore

ALICE = "@alice:store.test"
BOB = "@bob:store.test"


@pytest.fixture
def filters(db: Database) -> FilterStore:
    return FilterStore(db)


async def test_filter_ids_count_up_per_user(filters: FilterStore) -> None:
    ids = [await filters.add(ALICE, {"room": {"timeline": {"limit": n}}}) for n in range(3)]
    assert ids == ["0", "1", "2"]
    assert await filters.add(BOB, {}) == "0"
    assert await filters.get_json(ALICE, "1") == {"room": {"timeline": {"limit": 1}}}
    assert await filters.get_json(BOB, "0") == {}


@pytest.mark.parametrize("filter_id", ["3", "-1", "abc", "", "1" * 30, "0x1"])
async def test_an_unknown_filter_id_finds_nothing(filters: FilterStore, filter_id: str) -> None:
    await filters.add(ALICE, {})
    assert await filters.get_json(ALICE, filter_id) is None
    assert await filters.get_filter(ALICE, filter_id) is None


async def test_a_filter_belongs_to_its_user(filters: FilterStore) -> None:
    filter_id = await filters.add(ALICE, {"presence": {"not_types": ["*"]}})
    assert await filters.get_json(BOB, filter_id) is None
    parsed = await filters.get_filter(ALICE, filter_id)
    assert parsed is not None and parsed is await filters.get_filter(ALICE, filter_id)
