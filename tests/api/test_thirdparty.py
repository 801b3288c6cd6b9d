"""Third-party lookups per third_party_lookup.yaml: Kith runs no bridges."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

API = "third_party_lookup.yaml"


async def test_no_protocols(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    body = await alice.request("GET", "/thirdparty/protocols")
    validate_response(API, "get", "/thirdparty/protocols", 200, body)
    assert body == {}
    for template in ("/thirdparty/protocol/{protocol}", "/thirdparty/location/{protocol}",
                     "/thirdparty/user/{protocol}"):
        err = await alice.request("GET", template.replace("{protocol}", "irc"), expect=404)
        validate_response(API, "get", template, 404, err)
        assert err["errcode"] == "M_NOT_FOUND"


async def test_reverse_lookups(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    await alice.request("PUT", f"/directory/room/{quote('#here:localhost')}", {"room_id": room})
    locations = await alice.request("GET", "/thirdparty/location", params={"alias": "#here:localhost"})
    validate_response(API, "get", "/thirdparty/location", 200, locations)
    assert locations == []
    users = await alice.request("GET", "/thirdparty/user", params={"userid": alice.user_id})
    validate_response(API, "get", "/thirdparty/user", 200, users)
    assert users == []
    missing = await alice.request("GET", "/thirdparty/location",
                                  params={"alias": "#nowhere:localhost"}, expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"
    nobody = await alice.request("GET", "/thirdparty/user", params={"userid": "@nobody:localhost"},
                                 expect=404)
    assert nobody["errcode"] == "M_NOT_FOUND"
    assert (await alice.request("GET", "/thirdparty/user", expect=400))["errcode"] == \
        "M_MISSING_PARAM"
