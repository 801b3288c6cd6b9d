"""A user's push rules as stored, and the pure operations of pushrules.yaml.

Stored form (JSON-serialisable, `{}` meaning "nothing customised"):

    {
      "user": {kind: [rule, ...]},          # user-defined rules, most important first
      "server_default": {kind: {rule_id: {"enabled": bool, "actions": [...]}}}
    }

A stored user rule is `{"rule_id", "enabled", "actions"}` plus `conditions`
(override/underride) or `pattern` (content). Server-default rules are never
stored whole; only the user's changes to their `enabled` flag and `actions`
(the two things pushrules.yaml lets a client change on them) are kept.

Every mutating operation returns a new stored dict and leaves its input alone.

Spec: data/api/client-server/pushrules.yaml and client-server-api/modules/
push.md ("Push Rules", "Predefined Rules").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from kith.push.actions import validate_actions
from kith.push.default_rules import default_rule_ids, default_rules
from kith.push.errors import PushRuleError, invalid_param, missing_param, not_found, unknown_anchor
from kith.push.types import MASTER_RULE_ID, RULE_KINDS, JsonDict

_CONDITION_KINDS = ("override", "underride")


@dataclass(slots=True)
class _State:
    user: dict[str, list[JsonDict]]
    server_default: dict[str, dict[str, JsonDict]]

    def dump(self) -> JsonDict:
        return {"user": self.user, "server_default": self.server_default}


def _load(stored: Mapping[str, object]) -> _State:
    """A deep, normalised copy of `stored`; malformed parts are dropped."""
    user: dict[str, list[JsonDict]] = {kind: [] for kind in RULE_KINDS}
    server_default: dict[str, dict[str, JsonDict]] = {kind: {} for kind in RULE_KINDS}
    raw_user = stored.get("user")
    raw_default = stored.get("server_default")
    for kind in RULE_KINDS:
        rules = raw_user.get(kind) if isinstance(raw_user, Mapping) else None
        if isinstance(rules, list):
            user[kind] = [
                copy.deepcopy(dict(rule))
                for rule in rules
                if isinstance(rule, Mapping) and isinstance(rule.get("rule_id"), str)
            ]
        changes = raw_default.get(kind) if isinstance(raw_default, Mapping) else None
        if isinstance(changes, Mapping):
            server_default[kind] = {
                str(rule_id): copy.deepcopy(dict(change))
                for rule_id, change in changes.items()
                if isinstance(change, Mapping)
            }
    return _State(user, server_default)


def _check_kind(kind: str) -> None:
    # pushrules.yaml: `kind` is one of override, underride, sender, room, content.
    if kind not in RULE_KINDS:
        raise invalid_param(f"Unknown push rule kind: {kind!r}")


def _is_default_id(kind: str, rule_id: str) -> bool:
    return rule_id in default_rule_ids()[kind]


def _user_index(state: _State, kind: str, rule_id: str) -> int | None:
    for index, rule in enumerate(state.user[kind]):
        if rule["rule_id"] == rule_id:
            return index
    return None


def _present_user_rule(kind: str, rule: JsonDict) -> JsonDict:
    """A stored user rule in the PushRule shape (push_rule.yaml)."""
    shown: JsonDict = {
        "rule_id": rule["rule_id"],
        "default": False,
        "enabled": rule.get("enabled", True) is not False,
        "actions": copy.deepcopy(rule.get("actions", [])),
    }
    if kind in _CONDITION_KINDS:
        shown["conditions"] = copy.deepcopy(rule.get("conditions", []))
    elif kind == "content":
        shown["pattern"] = rule.get("pattern", "")
    return shown


def _present_default_rule(rule: JsonDict, change: JsonDict | None) -> JsonDict:
    """A predefined rule with the user's changes to `enabled`/`actions` applied."""
    if change is not None:
        if isinstance(change.get("enabled"), bool):
            rule["enabled"] = change["enabled"]
        if isinstance(change.get("actions"), list):
            rule["actions"] = copy.deepcopy(change["actions"])
    return rule


def _effective(user_id: str, state: _State) -> JsonDict:
    defaults = default_rules(user_id)
    result: JsonDict = {}
    for kind in RULE_KINDS:
        changes = state.server_default[kind]
        shown_defaults = [
            _present_default_rule(rule, changes.get(rule["rule_id"])) for rule in defaults[kind]
        ]
        shown_user = [_present_user_rule(kind, rule) for rule in state.user[kind]]
        # push.md, "Predefined Rules": server-default rules rank below
        # user-defined ones, except `.m.rule.master`, which ranks above all.
        master = [rule for rule in shown_defaults if rule["rule_id"] == MASTER_RULE_ID]
        others = [rule for rule in shown_defaults if rule["rule_id"] != MASTER_RULE_ID]
        result[kind] = master + shown_user + others
    return result


def effective_ruleset(user_id: str, stored: Mapping[str, object]) -> JsonDict:
    """The `global` ruleset returned by `GET /pushrules/` (push_ruleset.yaml).

    Kinds appear in checking order (override, content, room, sender,
    underride); each rule carries `default: true` when it is server-default.
    """
    return _effective(user_id, _load(stored))


def get_rule(user_id: str, stored: Mapping[str, object], kind: str, rule_id: str) -> JsonDict:
    """`GET /pushrules/global/{kind}/{ruleId}`; 404 `M_NOT_FOUND` if absent."""
    _check_kind(kind)
    for rule in _effective(user_id, _load(stored))[kind]:
        if rule["rule_id"] == rule_id:
            result: JsonDict = rule
            return result
    raise not_found()


def _validate_rule_id(kind: str, rule_id: str) -> None:
    # pushrules.yaml, PUT `ruleId`: a leading "." is reserved for
    # server-default rules and MUST be rejected; "/" and "\" are not allowed.
    if rule_id.startswith("."):
        if _is_default_id(kind, rule_id):
            raise invalid_param(
                "Cannot add or change the conditions of a server-default rule; "
                "use the /enabled and /actions endpoints instead"
            )
        raise invalid_param("Rule IDs starting with '.' are reserved for server-default rules")
    if not rule_id:
        raise invalid_param("Rule ID must not be empty")
    if "/" in rule_id or "\\" in rule_id:
        raise invalid_param("Rule IDs must not contain '/' or '\\'")


def _build_user_rule(kind: str, rule_id: str, body: Mapping[str, object]) -> JsonDict:
    if "actions" not in body:
        raise missing_param("Missing 'actions'")
    actions = validate_actions(body["actions"])
    rule: JsonDict = {"rule_id": rule_id, "enabled": True, "actions": actions}
    if kind in _CONDITION_KINDS:
        # pushrules.yaml: conditions apply only to override and underride;
        # absent means "no conditions", which always matches.
        conditions = body.get("conditions", [])
        if not isinstance(conditions, list):
            raise invalid_param("'conditions' must be an array")
        for condition in conditions:
            if not isinstance(condition, Mapping) or not isinstance(condition.get("kind"), str):
                raise invalid_param("Each condition must be an object with a string 'kind'")
        rule["conditions"] = copy.deepcopy(conditions)
    elif kind == "content":
        # pushrules.yaml: `pattern` is the glob for content rules.
        if "pattern" not in body:
            raise missing_param("Content rules need a 'pattern'")
        if not isinstance(body["pattern"], str):
            raise invalid_param("'pattern' must be a string")
        rule["pattern"] = body["pattern"]
    return rule


def _anchor_index(state: _State, kind: str, anchor: str) -> int:
    # pushrules.yaml: before/after name a user-defined rule; placing a rule
    # relative to a predefined server rule is not possible.
    index = None if anchor.startswith(".") else _user_index(state, kind, anchor)
    if index is None:
        raise unknown_anchor(anchor)
    return index


def put_rule(
    stored: Mapping[str, object],
    kind: str,
    rule_id: str,
    body: Mapping[str, object],
    *,
    before: str | None = None,
    after: str | None = None,
) -> JsonDict:
    """`PUT /pushrules/global/{kind}/{ruleId}`: create or update a user rule.

    A new rule is enabled and, with no `before`/`after`, becomes the most
    important user rule of its kind. An updated rule keeps its enabled flag
    and, with no `before`/`after`, its place. When both are given `before`
    wins (pushrules.yaml: the rule must be the next most important with
    respect to `before`).
    """
    _check_kind(kind)
    _validate_rule_id(kind, rule_id)
    rule = _build_user_rule(kind, rule_id, body)
    state = _load(stored)
    rules = state.user[kind]
    existing = _user_index(state, kind, rule_id)
    if existing is not None:
        rule["enabled"] = rules[existing].get("enabled", True) is not False
        del rules[existing]
    if before is not None:
        rules.insert(_anchor_index(state, kind, before), rule)
    elif after is not None:
        rules.insert(_anchor_index(state, kind, after) + 1, rule)
    elif existing is not None:
        rules.insert(existing, rule)
    else:
        rules.insert(0, rule)
    return state.dump()


def delete_rule(stored: Mapping[str, object], kind: str, rule_id: str) -> JsonDict:
    """`DELETE /pushrules/global/{kind}/{ruleId}`.

    Server-default rules cannot be deleted (400 `M_INVALID_PARAM`); an unknown
    rule is 404 `M_NOT_FOUND`.
    """
    _check_kind(kind)
    if _is_default_id(kind, rule_id):
        raise invalid_param("Server-default rules cannot be deleted")
    state = _load(stored)
    index = _user_index(state, kind, rule_id)
    if index is None:
        raise not_found()
    del state.user[kind][index]
    return state.dump()


def _locate(state: _State, kind: str, rule_id: str) -> JsonDict:
    """The mutable record for a rule: a user rule or a default-rule change."""
    _check_kind(kind)
    if _is_default_id(kind, rule_id):
        return state.server_default[kind].setdefault(rule_id, {})
    index = _user_index(state, kind, rule_id)
    if index is None:
        raise not_found()
    return state.user[kind][index]


def _effective_rule(stored: Mapping[str, object], kind: str, rule_id: str) -> JsonDict:
    # `enabled` and `actions` never depend on the user ID, so a placeholder
    # serves for the substituted conditions.
    return get_rule("@_:_", stored, kind, rule_id)


def get_enabled(stored: Mapping[str, object], kind: str, rule_id: str) -> bool:
    """`GET .../{ruleId}/enabled`; 404 `M_NOT_FOUND` if absent."""
    enabled: bool = _effective_rule(stored, kind, rule_id)["enabled"]
    return enabled


def set_enabled(
    stored: Mapping[str, object], kind: str, rule_id: str, enabled: object
) -> JsonDict:
    """`PUT .../{ruleId}/enabled`; works for server-default rules too."""
    if not isinstance(enabled, bool):
        raise invalid_param("'enabled' must be a boolean")
    state = _load(stored)
    _locate(state, kind, rule_id)["enabled"] = enabled
    return state.dump()


def get_actions(stored: Mapping[str, object], kind: str, rule_id: str) -> list[object]:
    """`GET .../{ruleId}/actions`; 404 `M_NOT_FOUND` if absent."""
    actions: list[object] = _effective_rule(stored, kind, rule_id)["actions"]
    return actions


def set_actions(
    stored: Mapping[str, object], kind: str, rule_id: str, actions: object
) -> JsonDict:
    """`PUT .../{ruleId}/actions`; pushrules.yaml allows this on builtin rules."""
    checked = validate_actions(actions)
    state = _load(stored)
    _locate(state, kind, rule_id)["actions"] = checked
    return state.dump()


__all__ = [
    "PushRuleError",
    "delete_rule",
    "effective_ruleset",
    "get_actions",
    "get_rule",
    "get_enabled",
    "put_rule",
    "set_actions",
    "set_enabled",
]
