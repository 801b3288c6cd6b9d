"""Our push-rule outputs validate against the spec's pushrules.yaml schemas."""

from __future__ import annotations

from typing import Any

import pytest

from kith.push.errors import PushRuleError
from kith.push.ruleset import (
    effective_ruleset,
    get_actions,
    get_enabled,
    get_rule,
    put_rule,
    set_enabled,
)

try:  # repo root on sys.path (python -m pytest)
    import tests.spec_schema as spec
except ImportError:  # plain `pytest`: tests/ itself is on sys.path via its conftest
    import spec_schema as spec  # type: ignore[no-redef, import-not-found, unused-ignore]

pytestmark = pytest.mark.skipif(not spec.spec_available(), reason="matrix-spec not found")

ME = "@alice:example.org"
RULE_PATH = "/pushrules/global/{kind}/{ruleId}"


def _stored() -> dict[str, Any]:
    stored = put_rule({}, "override", "beer", {
        "conditions": [
            {"kind": "event_match", "key": "content.body", "pattern": "beer"},
            {"kind": "room_member_count", "is": "<=10"},
        ],
        "actions": ["notify", {"set_tweak": "sound", "value": "beeroclock.wav"}],
    })
    stored = put_rule(stored, "content", "nocake", {"pattern": "cake*lie", "actions": []})
    stored = put_rule(stored, "room", "!dj234r78wl45Gh4D:matrix.org", {"actions": []})
    stored = put_rule(stored, "sender", "@spambot:matrix.org", {"actions": []})
    return set_enabled(stored, "override", ".m.rule.master", True)


def test_get_all_rulesets() -> None:
    body = {"global": effective_ruleset(ME, _stored())}
    spec.validate_response("pushrules.yaml", "get", "/pushrules/", 200, body)
    spec.validate_response(
        "pushrules.yaml", "get", "/pushrules/global/", 200, effective_ruleset(ME, {})
    )


@pytest.mark.parametrize(
    ("kind", "rule_id"),
    [
        ("override", "beer"),
        ("override", ".m.rule.is_room_mention"),
        ("content", "nocake"),
        ("room", "!dj234r78wl45Gh4D:matrix.org"),
        ("sender", "@spambot:matrix.org"),
        ("underride", ".m.rule.call"),
    ],
)
def test_single_rule_responses(kind: str, rule_id: str) -> None:
    stored = _stored()
    rule = get_rule(ME, stored, kind, rule_id)
    spec.validate_response("pushrules.yaml", "get", RULE_PATH, 200, rule)
    enabled = {"enabled": get_enabled(stored, kind, rule_id)}
    spec.validate_response("pushrules.yaml", "get", RULE_PATH + "/enabled", 200, enabled)
    actions = {"actions": get_actions(stored, kind, rule_id)}
    spec.validate_response("pushrules.yaml", "get", RULE_PATH + "/actions", 200, actions)


def test_error_bodies() -> None:
    with pytest.raises(PushRuleError) as missing:
        get_rule(ME, {}, "override", "nope")
    spec.validate_response("pushrules.yaml", "get", RULE_PATH, 404, missing.value.to_json())
    with pytest.raises(PushRuleError) as anchor:
        put_rule({}, "override", "x", {"actions": []}, before="someRuleId")
    assert anchor.value.to_json() == {
        "errcode": "M_UNKNOWN",
        "error": "before/after rule not found: someRuleId",
    }
    spec.validate_response("pushrules.yaml", "put", RULE_PATH, 400, anchor.value.to_json())
