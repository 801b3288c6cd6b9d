"""The predefined rules against push.md, "Predefined Rules"."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kith.push.default_rules import default_rule_ids, default_rules

USER = "@alice:example.org"
SPEC_PUSH_MD = (
    Path("/work/shared/matrix-spec") / "content" / "client-server-api" / "modules" / "push.md"
)

EXPECTED_ORDER = {
    "override": (
        ".m.rule.master",
        ".m.rule.suppress_notices",
        ".m.rule.invite_for_me",
        ".m.rule.member_event",
        ".m.rule.is_user_mention",
        ".m.rule.is_room_mention",
        ".m.rule.tombstone",
        ".m.rule.reaction",
        ".m.rule.room.server_acl",
        ".m.rule.suppress_edits",
    ),
    # v1.17 removed `.m.rule.contains_user_name`, the only default content rule.
    "content": (),
    "room": (),
    "sender": (),
    "underride": (
        ".m.rule.call",
        ".m.rule.encrypted_room_one_to_one",
        ".m.rule.room_one_to_one",
        ".m.rule.message",
        ".m.rule.encrypted",
    ),
}


def test_kinds_and_order() -> None:
    rules = default_rules(USER)
    assert list(rules) == ["override", "content", "room", "sender", "underride"]
    assert default_rule_ids() == EXPECTED_ORDER


def test_removed_legacy_rules_are_absent() -> None:
    ids = {rid for ids in default_rule_ids().values() for rid in ids}
    for legacy in (
        ".m.rule.contains_display_name",
        ".m.rule.roomnotif",
        ".m.rule.contains_user_name",
    ):
        assert legacy not in ids


def test_every_rule_is_default_and_only_master_is_disabled() -> None:
    for rules in default_rules(USER).values():
        for rule in rules:
            assert rule["default"] is True
            assert rule["rule_id"].startswith(".")
            assert rule["enabled"] is (rule["rule_id"] != ".m.rule.master")


def test_user_id_substitution() -> None:
    by_id = {r["rule_id"]: r for r in default_rules(USER)["override"]}
    invite = by_id[".m.rule.invite_for_me"]["conditions"]
    assert {"key": "state_key", "kind": "event_match", "pattern": USER} in invite
    mention = by_id[".m.rule.is_user_mention"]["conditions"]
    assert mention == [
        {"kind": "event_property_contains", "key": "content.m\\.mentions.user_ids", "value": USER}
    ]


def test_results_are_fresh_objects() -> None:
    first = default_rules(USER)
    first["override"][1]["actions"].append("notify")
    assert default_rules(USER)["override"][1]["actions"] == []


def _spec_definitions() -> dict[str, Any]:
    """Each rule's JSON "Definition:" block from the spec's push.md."""
    text = SPEC_PUSH_MD.read_text(encoding="utf-8")
    section = text.split("#### Predefined Rules", 1)[1].split("#### Push Rules: API", 1)[0]
    definitions: dict[str, Any] = {}
    for block in re.findall(r"Definition:\s*```json\n(.*?)```", section, re.DOTALL):
        rule = json.loads(block)
        definitions[rule["rule_id"]] = rule
    return definitions


def _substitute(value: Any) -> Any:
    if value == "[the user's Matrix ID]":
        return USER
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    return value


@pytest.mark.skipif(not SPEC_PUSH_MD.exists(), reason="spec checkout not available")
def test_definitions_equal_the_spec_text() -> None:
    spec = _spec_definitions()
    ours = {r["rule_id"]: r for rules in default_rules(USER).values() for r in rules}
    assert set(spec) == set(ours)
    for rule_id, rule in ours.items():
        assert rule == _substitute(spec[rule_id]), rule_id


@pytest.mark.skipif(not SPEC_PUSH_MD.exists(), reason="spec checkout not available")
def test_order_equals_the_spec_text() -> None:
    spec_order = list(_spec_definitions())
    assert spec_order == [*EXPECTED_ORDER["override"], *EXPECTED_ORDER["underride"]]
