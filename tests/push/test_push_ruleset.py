"""Rule-set operations against pushrules.yaml."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from kith.push.default_rules import default_rule_ids
from kith.push.errors import PushRuleError
from kith.push.ruleset import (
    delete_rule,
    effective_ruleset,
    get_actions,
    get_enabled,
    get_rule,
    put_rule,
    set_actions,
    set_enabled,
)

ME = "@alice:example.org"
NOTIFY: dict[str, Any] = {"actions": ["notify"]}


def ids(stored: dict[str, Any], kind: str) -> list[str]:
    return [rule["rule_id"] for rule in effective_ruleset(ME, stored)[kind]]


def user_ids(stored: dict[str, Any], kind: str) -> list[str]:
    return [r for r in ids(stored, kind) if not r.startswith(".")]


def err(exc: pytest.ExceptionInfo[PushRuleError]) -> tuple[int, str]:
    return exc.value.http_status, exc.value.errcode


def test_empty_store_gives_the_defaults() -> None:
    ruleset = effective_ruleset(ME, {})
    assert list(ruleset) == ["override", "content", "room", "sender", "underride"]
    for kind, rule_ids in default_rule_ids().items():
        assert tuple(ids({}, kind)) == rule_ids
    master = ruleset["override"][0]
    assert master == {
        "rule_id": ".m.rule.master",
        "default": True,
        "enabled": False,
        "conditions": [],
        "actions": [],
    }


def test_user_rules_rank_between_master_and_other_defaults() -> None:
    stored = put_rule({}, "override", "mine", {"actions": ["notify"], "conditions": []})
    stored = put_rule(stored, "underride", "low", NOTIFY)
    over = ids(stored, "override")
    assert over[:2] == [".m.rule.master", "mine"]
    assert ids(stored, "underride")[0] == "low"
    rule = get_rule(ME, stored, "override", "mine")
    assert rule == {
        "rule_id": "mine",
        "default": False,
        "enabled": True,
        "actions": ["notify"],
        "conditions": [],
    }


def test_shapes_per_kind() -> None:
    body = {"pattern": "cake*lie", "actions": [], "conditions": [1]}
    stored = put_rule({}, "content", "cake", body)
    stored = put_rule(stored, "room", "!r:x", {"actions": [], "pattern": "ignored"})
    stored = put_rule(stored, "sender", "@spam:x", {"actions": []})
    assert get_rule(ME, stored, "content", "cake") == {
        "rule_id": "cake", "default": False, "enabled": True, "actions": [], "pattern": "cake*lie",
    }
    assert get_rule(ME, stored, "room", "!r:x") == {
        "rule_id": "!r:x", "default": False, "enabled": True, "actions": [],
    }
    assert get_rule(ME, stored, "sender", "@spam:x")["default"] is False


def test_new_rules_go_first_and_before_after_place_them() -> None:
    stored = put_rule({}, "content", "a", {"pattern": "a", **NOTIFY})
    stored = put_rule(stored, "content", "b", {"pattern": "b", **NOTIFY})
    assert user_ids(stored, "content") == ["b", "a"]
    stored = put_rule(stored, "content", "c", {"pattern": "c", **NOTIFY}, after="a")
    assert user_ids(stored, "content") == ["b", "a", "c"]
    stored = put_rule(stored, "content", "d", {"pattern": "d", **NOTIFY}, before="a")
    assert user_ids(stored, "content") == ["b", "d", "a", "c"]
    # Both given: `before` decides.
    stored = put_rule(stored, "content", "e", {"pattern": "e", **NOTIFY}, before="b", after="c")
    assert user_ids(stored, "content") == ["e", "b", "d", "a", "c"]


def test_update_keeps_place_and_enabled_unless_moved() -> None:
    stored = put_rule({}, "override", "x", NOTIFY)
    stored = put_rule(stored, "override", "y", NOTIFY)
    stored = set_enabled(stored, "override", "x", False)
    stored = put_rule(stored, "override", "x", {"actions": [], "conditions": []})
    assert user_ids(stored, "override") == ["y", "x"]
    assert get_rule(ME, stored, "override", "x")["enabled"] is False
    assert get_actions(stored, "override", "x") == []
    stored = put_rule(stored, "override", "x", NOTIFY, before="y")
    assert user_ids(stored, "override") == ["x", "y"]


@pytest.mark.parametrize(
    ("kind", "rule_id", "body", "before", "after", "expected"),
    [
        ("override", "new", NOTIFY, "missing", None, (400, "M_UNKNOWN")),
        ("override", "new", NOTIFY, None, "missing", (400, "M_UNKNOWN")),
        ("override", "new", NOTIFY, ".m.rule.master", None, (400, "M_UNKNOWN")),
        ("override", "new", NOTIFY, None, ".m.rule.suppress_notices", (400, "M_UNKNOWN")),
        ("underride", "new", NOTIFY, "anchor", None, (400, "M_UNKNOWN")),  # other kind
        ("override", "anchor", NOTIFY, "anchor", None, (400, "M_UNKNOWN")),  # itself
        ("override", ".m.rule.master", {"actions": [], "conditions": []}, None, None,
         (400, "M_INVALID_PARAM")),
        ("override", ".my.rule", NOTIFY, None, None, (400, "M_INVALID_PARAM")),
        ("override", "a/b", NOTIFY, None, None, (400, "M_INVALID_PARAM")),
        ("override", "a\\b", NOTIFY, None, None, (400, "M_INVALID_PARAM")),
        ("override", "", NOTIFY, None, None, (400, "M_INVALID_PARAM")),
        ("global", "x", NOTIFY, None, None, (400, "M_INVALID_PARAM")),
        ("override", "x", {}, None, None, (400, "M_MISSING_PARAM")),
        ("override", "x", {"actions": "notify"}, None, None, (400, "M_INVALID_PARAM")),
        ("override", "x", {"actions": ["beep"]}, None, None, (400, "M_INVALID_PARAM")),
        ("override", "x", {"actions": [{"value": 1}]}, None, None, (400, "M_INVALID_PARAM")),
        ("override", "x", {"actions": [3]}, None, None, (400, "M_INVALID_PARAM")),
        ("override", "x", {"actions": [], "conditions": {}}, None, None, (400, "M_INVALID_PARAM")),
        ("override", "x", {"actions": [], "conditions": [{"key": "type"}]}, None, None,
         (400, "M_INVALID_PARAM")),
        ("content", "x", NOTIFY, None, None, (400, "M_MISSING_PARAM")),
        ("content", "x", {"pattern": 5, **NOTIFY}, None, None, (400, "M_INVALID_PARAM")),
    ],
)
def test_put_errors(
    kind: str,
    rule_id: str,
    body: dict[str, Any],
    before: str | None,
    after: str | None,
    expected: tuple[int, str],
) -> None:
    stored = put_rule({}, "override", "anchor", NOTIFY)
    snapshot = copy.deepcopy(stored)
    with pytest.raises(PushRuleError) as exc:
        put_rule(stored, kind, rule_id, body, before=before, after=after)
    assert err(exc) == expected
    assert stored == snapshot


def test_legacy_actions_are_stripped_on_write() -> None:
    stored = put_rule({}, "sender", "@b:x", {"actions": ["dont_notify", "coalesce"]})
    assert get_actions(stored, "sender", "@b:x") == []
    stored = set_actions(stored, "sender", "@b:x", ["notify", "dont_notify"])
    assert get_actions(stored, "sender", "@b:x") == ["notify"]


def test_delete() -> None:
    stored = put_rule({}, "room", "!r:x", {"actions": []})
    stored = delete_rule(stored, "room", "!r:x")
    assert user_ids(stored, "room") == []
    with pytest.raises(PushRuleError) as exc:
        delete_rule(stored, "room", "!r:x")
    assert err(exc) == (404, "M_NOT_FOUND")
    with pytest.raises(PushRuleError) as exc:
        delete_rule(stored, "override", ".m.rule.master")
    assert err(exc) == (400, "M_INVALID_PARAM")
    with pytest.raises(PushRuleError) as exc:
        delete_rule(stored, "nope", "x")
    assert err(exc) == (400, "M_INVALID_PARAM")


def test_disabling_a_default_rule() -> None:
    stored = set_enabled({}, "underride", ".m.rule.message", False)
    assert get_enabled(stored, "underride", ".m.rule.message") is False
    rule = get_rule(ME, stored, "underride", ".m.rule.message")
    assert rule["enabled"] is False and rule["default"] is True
    assert ids(stored, "underride") == list(default_rule_ids()["underride"])
    stored = set_enabled(stored, "underride", ".m.rule.message", True)
    assert get_enabled(stored, "underride", ".m.rule.message") is True


def test_master_is_disabled_by_default_and_can_be_enabled() -> None:
    assert get_enabled({}, "override", ".m.rule.master") is False
    stored = set_enabled({}, "override", ".m.rule.master", True)
    assert get_enabled(stored, "override", ".m.rule.master") is True


def test_changing_default_actions() -> None:
    new = ["notify", {"set_tweak": "highlight"}]
    stored = set_actions({}, "underride", ".m.rule.message", new)
    assert get_actions(stored, "underride", ".m.rule.message") == new
    assert get_rule(ME, stored, "underride", ".m.rule.message")["conditions"] == [
        {"kind": "event_match", "key": "type", "pattern": "m.room.message"}
    ]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: get_rule(ME, {}, "override", "nope"), (404, "M_NOT_FOUND")),
        (lambda: get_rule(ME, {}, "content", ".m.rule.master"), (404, "M_NOT_FOUND")),
        (lambda: get_rule(ME, {}, "content", ".m.rule.contains_user_name"), (404, "M_NOT_FOUND")),
        (lambda: get_rule(ME, {}, "bogus", "x"), (400, "M_INVALID_PARAM")),
        (lambda: get_enabled({}, "room", "!r:x"), (404, "M_NOT_FOUND")),
        (lambda: set_enabled({}, "room", "!r:x", True), (404, "M_NOT_FOUND")),
        (lambda: set_enabled({}, "override", ".m.rule.master", "yes"), (400, "M_INVALID_PARAM")),
        (lambda: get_actions({}, "sender", "@x:y"), (404, "M_NOT_FOUND")),
        (lambda: set_actions({}, "sender", "@x:y", []), (404, "M_NOT_FOUND")),
        (lambda: set_actions({}, "override", ".m.rule.master", None), (400, "M_INVALID_PARAM")),
    ],
)
def test_lookup_errors(call: Any, expected: tuple[int, str]) -> None:
    with pytest.raises(PushRuleError) as exc:
        call()
    assert err(exc) == expected
    assert exc.value.to_json() == {"errcode": expected[1], "error": exc.value.message}


def test_stored_form_is_json_and_inputs_are_not_mutated() -> None:
    stored: dict[str, Any] = {}
    steps: list[Callable[[dict[str, Any]], dict[str, Any]]] = [
        lambda s: put_rule(s, "override", "o", {"actions": ["notify"], "conditions": []}),
        lambda s: put_rule(s, "content", "c", {"pattern": "x", "actions": []}),
        lambda s: set_enabled(s, "override", ".m.rule.master", True),
        lambda s: set_actions(s, "underride", ".m.rule.call", ["notify"]),
        lambda s: set_enabled(s, "content", "c", False),
        lambda s: delete_rule(s, "override", "o"),
    ]
    for step in steps:
        before = copy.deepcopy(stored)
        new = step(stored)
        assert stored == before
        stored = json.loads(json.dumps(new))
        assert stored == new
    assert json.loads(json.dumps(effective_ruleset(ME, stored))) == effective_ruleset(ME, stored)


def test_effective_ruleset_ignores_malformed_storage() -> None:
    junk: dict[str, Any] = {
        "user": {"override": [{"no_id": 1}, 5], "room": "x"},
        "server_default": {"override": {".m.rule.master": {"enabled": "yes"}, "gone": {}}},
    }
    assert effective_ruleset(ME, junk) == effective_ruleset(ME, {})
