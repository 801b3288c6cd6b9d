"""Pushers per pusher.yaml and push rules per pushrules.yaml."""

from __future__ import annotations

from typing import Any

import httpx

from kith.app import App
from kith.store.account_data import AccountDataStore
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

PUSHER: dict[str, Any] = {
    "kind": "http", "app_id": "com.example.app", "pushkey": "key1",
    "app_display_name": "Example", "device_display_name": "Phone", "lang": "en",
    "data": {"url": "https://push.example.com/_matrix/push/v1/notify", "format": "event_id_only"},
}


async def test_pushers_create_update_delete(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    body = await alice.request("POST", "/pushers/set", PUSHER)
    validate_response("pusher.yaml", "post", "/pushers/set", 200, body)
    listed = await alice.request("GET", "/pushers")
    validate_response("pusher.yaml", "get", "/pushers", 200, listed)
    assert listed["pushers"] == [{k: v for k, v in PUSHER.items()}]
    await alice.request("POST", "/pushers/set", {**PUSHER, "lang": "de", "profile_tag": "t"})
    (only,) = (await alice.request("GET", "/pushers"))["pushers"]
    assert only["lang"] == "de" and only["profile_tag"] == "t"
    # Without append, the same app_id/pushkey for another user replaces alice's.
    await bob.request("POST", "/pushers/set", PUSHER)
    assert (await alice.request("GET", "/pushers"))["pushers"] == []
    await alice.request("POST", "/pushers/set", {**PUSHER, "append": True})
    assert len((await bob.request("GET", "/pushers"))["pushers"]) == 1
    assert len((await alice.request("GET", "/pushers"))["pushers"]) == 1
    await alice.request("POST", "/pushers/set", {"kind": None, "app_id": "com.example.app", "pushkey": "key1"})
    assert (await alice.request("GET", "/pushers"))["pushers"] == []


async def test_pusher_validation(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    missing = await alice.request("POST", "/pushers/set", {"kind": "http", "app_id": "a", "pushkey": "k"}, expect=400)
    assert missing["errcode"] == "M_MISSING_PARAM"
    validate_response("pusher.yaml", "post", "/pushers/set", 400, missing)
    await alice.request("POST", "/pushers/set", {"app_id": "a", "pushkey": "k"}, expect=400)
    cases = [
        ({"data": {}}, "M_MISSING_PARAM"),
        ({"data": {"url": "https://push.example.com/other"}}, "M_INVALID_PARAM"),
        ({"data": {"url": "ftp://push.example.com/_matrix/push/v1/notify"}}, "M_INVALID_PARAM"),
        ({"data": {"url": PUSHER["data"]["url"], "format": "full"}}, "M_INVALID_PARAM"),
        ({"kind": "carrier-pigeon"}, "M_INVALID_PARAM"),
        ({"app_id": "a" * 65}, "M_INVALID_PARAM"),
        ({"pushkey": "k" * 513}, "M_INVALID_PARAM"),
        ({"lang": 5}, "M_BAD_JSON"),
    ]
    for change, errcode in cases:
        body = await alice.request("POST", "/pushers/set", {**PUSHER, **change}, expect=400)
        assert body["errcode"] == errcode, (change, body)
    await alice.request("POST", "/pushers/set", {**PUSHER, "data": {"url": "http://localhost:5000/_matrix/push/v1/notify"}})


async def test_push_rules_api(client: httpx.AsyncClient, app: App) -> None:
    alice = await register(client, "alice")
    everything = await alice.request("GET", "/pushrules/")
    validate_response("pushrules.yaml", "get", "/pushrules/", 200, everything)
    glob = await alice.request("GET", "/pushrules/global/")
    validate_response("pushrules.yaml", "get", "/pushrules/global/", 200, glob)
    assert glob == everything["global"]
    rule_path = "/pushrules/global/content/nocake"
    await alice.request("PUT", rule_path, {"pattern": "cake*lie", "actions": ["notify"]})
    rule = await alice.request("GET", rule_path)
    validate_response("pushrules.yaml", "get", "/pushrules/global/{kind}/{ruleId}", 200, rule)
    assert rule == {"rule_id": "nocake", "default": False, "enabled": True,
                    "pattern": "cake*lie", "actions": ["notify"]}
    await alice.request("PUT", rule_path + "/enabled", {"enabled": False})
    assert await alice.request("GET", rule_path + "/enabled") == {"enabled": False}
    await alice.request("PUT", rule_path + "/actions", {"actions": []})
    assert await alice.request("GET", rule_path + "/actions") == {"actions": []}
    # Server-default rules: actions/enabled may change, deletion may not.
    master = "/pushrules/global/override/.m.rule.master"
    await alice.request("PUT", master + "/enabled", {"enabled": True})
    assert await alice.request("GET", master + "/enabled") == {"enabled": True}
    assert (await alice.request("DELETE", master, expect=400))["errcode"] == "M_INVALID_PARAM"
    # m.push_rules account data follows every change.
    stored = await AccountDataStore(app.db).get(alice.user_id, None, "m.push_rules")
    assert stored is not None
    assert stored["global"] == await alice.request("GET", "/pushrules/global/")
    await alice.request("DELETE", rule_path)
    notfound = await alice.request("GET", rule_path, expect=404)
    assert notfound["errcode"] == "M_NOT_FOUND"
    validate_response("pushrules.yaml", "get", "/pushrules/global/{kind}/{ruleId}", 404, notfound)
    await alice.request("DELETE", rule_path, expect=404)
    await alice.request("GET", rule_path + "/enabled", expect=404)


async def test_push_rule_errors(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    base = "/pushrules/global"
    bad_anchor = await alice.request("PUT", f"{base}/room/!r:x", {"actions": []}, params={"before": "nope"}, expect=400)
    assert bad_anchor["errcode"] == "M_UNKNOWN"
    validate_response("pushrules.yaml", "put", "/pushrules/global/{kind}/{ruleId}", 400, bad_anchor)
    assert (await alice.request("PUT", f"{base}/room/.mine", {"actions": []}, expect=400))["errcode"] == "M_INVALID_PARAM"
    assert (await alice.request("PUT", f"{base}/bogus/x", {"actions": []}, expect=400))["errcode"] == "M_INVALID_PARAM"
    assert (await alice.request("PUT", f"{base}/content/x", {"actions": []}, expect=400))["errcode"] == "M_MISSING_PARAM"
    assert (await alice.request("PUT", f"{base}/override/x", {}, expect=400))["errcode"] == "M_MISSING_PARAM"
    assert (await alice.request("PUT", f"{base}/override/x", {"actions": ["dance"]}, expect=400))["errcode"] == "M_INVALID_PARAM"
    await alice.request("PUT", f"{base}/override/nope/enabled", {"enabled": True}, expect=404)
    await alice.request("PUT", f"{base}/override/.m.rule.master/enabled", {"enabled": "yes"}, expect=400)
    await alice.request("PUT", f"{base}/override/.m.rule.master/enabled", {}, expect=400)
    put = f"/user/{alice.user_id}/account_data/m.push_rules"
    await alice.request("PUT", put, {"global": {}}, expect=405)
