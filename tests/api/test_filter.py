"""Filters per filter.yaml."""

from __future__ import annotations

import httpx

from kith.app import App
from kith.store.filters import FilterStore
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

FILTER = {"room": {"timeline": {"limit": 10, "types": ["m.room.message"]}},
          "event_fields": ["type", "content"]}


async def test_filter_upload_and_download(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    created = await alice.request("POST", f"/user/{alice.user_id}/filter", FILTER)
    validate_response("filter.yaml", "post", "/user/{userId}/filter", 200, created)
    filter_id = created["filter_id"]
    assert not filter_id.startswith("{")
    got = await alice.request("GET", f"/user/{alice.user_id}/filter/{filter_id}")
    validate_response("filter.yaml", "get", "/user/{userId}/filter/{filterId}", 200, got)
    assert got == FILTER
    second = await alice.request("POST", f"/user/{alice.user_id}/filter", {})
    assert second["filter_id"] != filter_id
    parsed = await FilterStore(app.db).get_filter(alice.user_id, filter_id)
    assert parsed is not None and parsed.room.timeline.limit == 10
    assert await FilterStore(app.db).get_filter(bob.user_id, filter_id) is None
    assert await FilterStore(app.db).get_filter(alice.user_id, "zzz") is None


async def test_filter_errors(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    bad = await alice.request("POST", f"/user/{alice.user_id}/filter", {"room": {"timeline": {"limit": "ten"}}}, expect=400)
    assert bad["errcode"] == "M_BAD_JSON"
    await alice.request("POST", f"/user/{alice.user_id}/filter", {"event_format": "xml"}, expect=400)
    assert (await bob.request("POST", f"/user/{alice.user_id}/filter", {}, expect=403))["errcode"] == "M_FORBIDDEN"
    created = await alice.request("POST", f"/user/{alice.user_id}/filter", {})
    await bob.request("GET", f"/user/{alice.user_id}/filter/{created['filter_id']}", expect=403)
    await bob.request("GET", f"/user/{bob.user_id}/filter/{created['filter_id']}", expect=404)
    assert (await alice.request("GET", f"/user/{alice.user_id}/filter/abc", expect=404))["errcode"] == "M_NOT_FOUND"
