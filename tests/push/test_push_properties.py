"""Hypothesis properties for evaluation order and rule placement.

push.md, "Push Rules": kinds are checked override, content, room, sender,
underride; within a kind the first (highest-priority) enabled rule that
matches decides, and disabled rules never match.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kith.push.errors import PushRuleError
from kith.push.evaluator import PushContext, condition_matches, evaluate, first_match
from kith.push.ruleset import effective_ruleset, put_rule
from kith.push.types import RULE_KINDS

ME = "@alice:example.org"

conditions = st.one_of(
    st.builds(
        lambda p: {"kind": "event_match", "key": "type", "pattern": p},
        st.sampled_from(["m.room.message", "m.room.*", "*", "m.reaction", "m.?oom.message"]),
    ),
    st.builds(
        lambda p: {"kind": "event_match", "key": "content.body", "pattern": p},
        st.sampled_from(["hi", "h*", "bye"]),
    ),
    st.builds(
        lambda v: {"kind": "room_member_count", "is": v},
        st.sampled_from(["2", "<3", ">=3", ">10"]),
    ),
    st.just({"kind": "unknown_condition"}),
)


@st.composite
def rules(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    rule_id = draw(st.text("abc", min_size=1, max_size=3))
    rule: dict[str, Any] = {
        "rule_id": rule_id,
        "default": False,
        "enabled": draw(st.booleans()),
        "actions": [draw(st.sampled_from(["notify", "dont_notify"])), {"set_tweak": rule_id}],
    }
    if kind in ("override", "underride"):
        rule["conditions"] = draw(st.lists(conditions, max_size=3))
    elif kind == "content":
        rule["pattern"] = draw(st.sampled_from(["hi", "h?", "*", "x"]))
    elif kind == "room":
        rule["rule_id"] = draw(st.sampled_from(["!a:x", "!b:x"]))
    else:
        rule["rule_id"] = draw(st.sampled_from(["@bob:x", "@carol:x"]))
    return rule


rulesets = st.fixed_dictionaries({kind: st.lists(rules(kind), max_size=4) for kind in RULE_KINDS})
events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["m.room.message", "m.reaction", "m.room.member"]),
        "sender": st.sampled_from(["@bob:x", "@carol:x"]),
        "room_id": st.sampled_from(["!a:x", "!b:x"]),
        "content": st.fixed_dictionaries({"body": st.sampled_from(["hi there", "bye", "hx"])}),
    }
)


def _reference_matches(
    kind: str, rule: dict[str, Any], event: dict[str, Any], ctx: PushContext
) -> bool:
    if kind in ("override", "underride"):
        return all(condition_matches(c, event, ctx) for c in rule["conditions"])
    if kind == "content":
        cond = {"kind": "event_match", "key": "content.body", "pattern": rule["pattern"]}
        return condition_matches(cond, event, ctx)
    if kind == "room":
        return bool(event["room_id"] == rule["rule_id"])
    return bool(event["sender"] == rule["rule_id"])


@given(rulesets, events, st.integers(0, 12))
def test_first_enabled_match_in_priority_order_decides(
    ruleset: dict[str, Any], event: dict[str, Any], members: int
) -> None:
    ctx = PushContext(ME, room_member_count=members)
    expected: tuple[str, dict[str, Any]] | None = None
    for kind in RULE_KINDS:
        for rule in ruleset[kind]:
            if rule["enabled"] and _reference_matches(kind, rule, event, ctx):
                expected = (kind, rule)
                break
        if expected is not None:
            break
    got = first_match(ruleset, event, ctx)
    if expected is None:
        assert got is None
        assert evaluate(ruleset, event, ctx) == []
    else:
        assert got is not None and got[0] == expected[0] and got[1] is expected[1]
        legacy_free = [a for a in expected[1]["actions"] if a != "dont_notify"]
        assert evaluate(ruleset, event, ctx) == legacy_free


@given(rulesets, events, st.integers(0, 12))
def test_rules_after_the_match_are_irrelevant(
    ruleset: dict[str, Any], event: dict[str, Any], members: int
) -> None:
    ctx = PushContext(ME, room_member_count=members)
    got = first_match(ruleset, event, ctx)
    if got is None:
        return
    kind, rule = got
    position = ruleset[kind].index(rule)
    truncated = {k: list(v) for k, v in ruleset.items()}
    truncated[kind] = truncated[kind][: position + 1]
    for later in RULE_KINDS[RULE_KINDS.index(kind) + 1 :]:
        truncated[later] = []
    assert first_match(truncated, event, ctx) == got


operations = st.lists(
    st.tuples(
        st.sampled_from("abcde"),
        st.sampled_from(["none", "before", "after"]),
        st.sampled_from("abcdez"),
    ),
    max_size=12,
)


@given(operations)
def test_put_rule_placement_matches_a_list_model(ops: list[tuple[str, str, str]]) -> None:
    stored: dict[str, Any] = {}
    model: list[str] = []
    for rule_id, where, anchor in ops:
        try:
            stored = put_rule(
                stored,
                "underride",
                rule_id,
                {"actions": ["notify"]},
                before=anchor if where == "before" else None,
                after=anchor if where == "after" else None,
            )
        except PushRuleError as exc:
            assert (exc.http_status, exc.errcode) == (400, "M_UNKNOWN")
            assert where != "none" and (anchor not in model or anchor == rule_id)
            continue
        existed = rule_id in model
        old_index = model.index(rule_id) if existed else 0
        if existed:
            model.remove(rule_id)
        if where == "before":
            model.insert(model.index(anchor), rule_id)
        elif where == "after":
            model.insert(model.index(anchor) + 1, rule_id)
        else:
            model.insert(old_index, rule_id)
        shown = [r["rule_id"] for r in effective_ruleset(ME, stored)["underride"]]
        assert [r for r in shown if not r.startswith(".")] == model
        assert shown[len(model) :][0] == ".m.rule.call"
