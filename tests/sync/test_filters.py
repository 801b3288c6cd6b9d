"""Filter model tests, driven by the wording of the spec's filter schemas.

Spec: definitions/sync_filter.yaml, event_filter.yaml, room_event_filter.yaml;
appendices "Dot-separated property paths".
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.sync.filters import (
    DEFAULT_FILTER,
    MAX_LIMIT,
    EventFilter,
    FilterError,
    RoomEventFilter,
    RoomFilter,
    SyncFilter,
    apply_event_fields,
    event_allowed,
    filter_to_json,
    parse_filter,
    parse_room_event_filter,
    room_allowed,
    split_field_path,
    type_matches,
)

# The request example from filter.yaml (POST /user/{userId}/filter).
SPEC_EXAMPLE: dict[str, Any] = {
    "room": {
        "state": {"types": ["m.room.*"], "not_rooms": ["!726s6s6q:example.com"]},
        "timeline": {
            "limit": 10,
            "types": ["m.room.message"],
            "not_rooms": ["!726s6s6q:example.com"],
            "not_senders": ["@spam:example.com"],
        },
        "ephemeral": {
            "types": ["m.receipt", "m.typing"],
            "not_rooms": ["!726s6s6q:example.com"],
            "not_senders": ["@spam:example.com"],
        },
    },
    "presence": {"types": ["m.presence"], "not_senders": ["@alice:example.com"]},
    "event_format": "client",
    "event_fields": ["type", "content", "sender"],
}


def test_spec_example_parses() -> None:
    f = parse_filter(SPEC_EXAMPLE)
    assert f.event_fields == ("type", "content", "sender")
    assert f.event_format == "client"
    assert f.presence == EventFilter(
        types=("m.presence",), not_senders=("@alice:example.com",)
    )
    assert f.room.timeline.limit == 10
    assert f.room.state.types == ("m.room.*",)
    assert f.room.ephemeral.not_rooms == ("!726s6s6q:example.com",)
    assert f.room.include_leave is False


def test_spec_example_round_trips() -> None:
    f = parse_filter(SPEC_EXAMPLE)
    assert filter_to_json(f) == SPEC_EXAMPLE
    assert parse_filter(filter_to_json(f)) == f


def test_empty_body_is_the_default() -> None:
    assert parse_filter({}) == DEFAULT_FILTER == SyncFilter()
    assert filter_to_json(DEFAULT_FILTER) == {"event_format": "client"}


def test_all_room_event_filter_keys_round_trip() -> None:
    body = {
        "event_format": "federation",
        "account_data": {"limit": 3, "types": ["m.*"]},
        "room": {
            "rooms": ["!a:x"],
            "not_rooms": ["!b:x"],
            "include_leave": True,
            "account_data": {"senders": ["@u:x"]},
            "timeline": {
                "contains_url": False,
                "lazy_load_members": True,
                "include_redundant_members": True,
                "unread_thread_notifications": True,
                "rooms": ["!a:x"],
            },
        },
    }
    f = parse_filter(body)
    assert f.room.timeline.contains_url is False
    assert f.room.timeline.lazy_load_members
    assert f.room.timeline.include_redundant_members
    assert f.room.timeline.unread_thread_notifications
    assert f.room.include_leave
    assert filter_to_json(f) == body


def test_nulls_and_unknown_keys_are_ignored() -> None:
    f = parse_filter(
        {"room": {"timeline": {"types": None, "x.custom": 1}}, "presence": None}
    )
    assert f == DEFAULT_FILTER


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "filter must be an object"),
        ("{}", "filter must be an object"),
        ({"event_format": "raw"}, "event_format"),
        ({"event_format": 1}, "event_format"),
        ({"event_fields": "content"}, "event_fields"),
        ({"event_fields": [1]}, "event_fields"),
        ({"presence": []}, "filter.presence must be an object"),
        ({"presence": {"types": "m.presence"}}, "filter.presence.types"),
        ({"presence": {"not_types": [None]}}, "not_types"),
        ({"account_data": {"limit": "10"}}, "limit must be an integer"),
        ({"room": 5}, "filter.room must be an object"),
        ({"room": {"rooms": ["#alias:x"]}}, "filter.room.rooms"),
        ({"room": {"include_leave": "true"}}, "include_leave"),
        ({"room": {"timeline": {"limit": True}}}, "limit must be an integer"),
        ({"room": {"timeline": {"limit": 1.5}}}, "limit must be an integer"),
        ({"room": {"timeline": {"limit": 0}}}, "greater than 0"),
        ({"room": {"timeline": {"limit": -3}}}, "greater than 0"),
        ({"room": {"state": {"senders": ["alice"]}}}, "senders"),
        ({"room": {"state": {"not_rooms": [{}]}}}, "not_rooms"),
        ({"room": {"state": {"contains_url": 1}}}, "contains_url"),
        ({"room": {"state": {"lazy_load_members": "yes"}}}, "lazy_load_members"),
        ({"room": {"ephemeral": []}}, "filter.room.ephemeral"),
        ({"room": {"account_data": {"types": [["x"]]}}}, "account_data.types"),
        ({"room": {"timeline": {"rooms": ["!r:x"] * 1001}}}, "more than 1000"),
        ({"room": {"timeline": {"types": ["x" * 600]}}}, "too long"),
        ({"event_fields": ["a"] * 101}, "event_fields"),
    ],
)
def test_wrong_shapes_are_rejected(body: Any, reason: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(body)
    assert reason in info.value.message
    assert info.value.errcode == "M_BAD_JSON"


@pytest.mark.parametrize(
    ("limit", "expected"), [(1, 1), (10.0, 10), (MAX_LIMIT, MAX_LIMIT), (10**9, MAX_LIMIT)]
)
def test_limit_is_clamped(limit: Any, expected: int) -> None:
    f = parse_room_event_filter({"limit": limit})
    assert f.limit == expected


def _ev(type_: str = "m.room.message", sender: str = "@a:x", **extra: Any) -> Any:
    return {"type": type_, "sender": sender, **extra}


@pytest.mark.parametrize(
    ("f", "event", "allowed"),
    [
        # "If this list is absent then all event types are included."
        (EventFilter(), _ev(), True),
        (EventFilter(types=()), _ev(), False),
        (EventFilter(types=("m.room.message",)), _ev(), True),
        (EventFilter(types=("m.room.member",)), _ev(), False),
        # "A `*` can be used as a wildcard to match any sequence of characters."
        (EventFilter(types=("m.room.*",)), _ev(), True),
        (EventFilter(types=("m.*.message",)), _ev(), True),
        (EventFilter(types=("*",)), _ev(), True),
        (EventFilter(types=("m.room*",)), _ev("m.roomx"), True),
        (EventFilter(types=("m.room.?essage",)), _ev(), False),
        (EventFilter(types=("m.room.[m]essage",)), _ev(), False),
        # "A matching type will be excluded even if it is listed in `types`."
        (EventFilter(types=("m.room.*",), not_types=("m.room.message",)), _ev(), False),
        (EventFilter(not_types=("*",)), _ev(), False),
        (EventFilter(not_types=("m.room.member",)), _ev(), True),
        # Senders: absent includes all; not_senders wins.
        (EventFilter(senders=("@a:x",)), _ev(), True),
        (EventFilter(senders=("@b:x",)), _ev(), False),
        (EventFilter(senders=("@a:x",), not_senders=("@a:x",)), _ev(), False),
        (EventFilter(not_senders=("@b:x",)), _ev(), True),
        (EventFilter(senders=("@a:x",)), {"type": "m.typing"}, False),
        (EventFilter(not_senders=("@a:x",)), {"type": "m.typing"}, True),
        # Rooms, read from the event when present.
        (RoomEventFilter(rooms=("!r:x",)), _ev(room_id="!r:x"), True),
        (RoomEventFilter(rooms=("!r:x",)), _ev(room_id="!s:x"), False),
        (RoomEventFilter(rooms=("!r:x",), not_rooms=("!r:x",)), _ev(room_id="!r:x"), False),
        (RoomEventFilter(rooms=("!r:x",)), _ev(), False),
        (RoomEventFilter(not_rooms=("!r:x",)), _ev(), True),
        # contains_url: true keeps only events with `url` in content; false
        # drops them; omitted ignores `url`.
        (RoomEventFilter(contains_url=True), _ev(content={"url": "mxc://x/y"}), True),
        (RoomEventFilter(contains_url=True), _ev(content={"body": "hi"}), False),
        (RoomEventFilter(contains_url=True), _ev(), False),
        (RoomEventFilter(contains_url=False), _ev(content={"url": "mxc://x/y"}), False),
        (RoomEventFilter(contains_url=False), _ev(content={"body": "hi"}), True),
        (RoomEventFilter(), _ev(content={"url": "mxc://x/y"}), True),
    ],
)
def test_event_allowed(f: EventFilter, event: Any, allowed: bool) -> None:
    assert event_allowed(f, event) is allowed


def test_room_id_argument_overrides_event() -> None:
    f = RoomEventFilter(rooms=("!r:x",))
    assert event_allowed(f, _ev(), room_id="!r:x")
    assert not event_allowed(f, _ev(room_id="!r:x"), room_id="!s:x")


@pytest.mark.parametrize(
    ("rf", "room_id", "allowed"),
    [
        (RoomFilter(), "!r:x", True),
        (RoomFilter(rooms=()), "!r:x", False),
        (RoomFilter(rooms=("!r:x",)), "!r:x", True),
        (RoomFilter(rooms=("!r:x",)), "!s:x", False),
        (RoomFilter(not_rooms=("!r:x",)), "!r:x", False),
        (RoomFilter(rooms=("!r:x",), not_rooms=("!r:x",)), "!r:x", False),
        (RoomEventFilter(not_rooms=("!r:x",)), "!s:x", True),
    ],
)
def test_room_allowed(rf: RoomFilter | RoomEventFilter, room_id: str, allowed: bool) -> None:
    assert room_allowed(rf, room_id) is allowed


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("content.body", ["content", "body"]),
        # appendices: `m.relates_to` in content is `content.m\.relates_to`.
        ("content.m\\.relates_to", ["content", "m.relates_to"]),
        # appendices: a content property `m\foo` is `content.m\\foo`.
        ("content.m\\\\foo", ["content", "m\\foo"]),
        # "a `\x` would be treated as a literal backslash followed by 'x'".
        ("content.a\\x", ["content", "a\\x"]),
        ("type", ["type"]),
        ("trailing\\", ["trailing\\"]),
    ],
)
def test_split_field_path(path: str, parts: list[str]) -> None:
    assert split_field_path(path) == parts


EVENT: dict[str, Any] = {
    "type": "m.room.message",
    "sender": "@a:x",
    "event_id": "$e",
    "content": {
        "body": "hi",
        "msgtype": "m.text",
        "m.relates_to": {"rel_type": "m.thread", "event_id": "$t"},
    },
    "unsigned": {"age": 5},
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (None, EVENT),
        ([], EVENT),
        (["type", "content", "sender"], {k: EVENT[k] for k in ("type", "content", "sender")}),
        (["content.body"], {"content": {"body": "hi"}}),
        (["content.body", "content.msgtype"], {"content": {"body": "hi", "msgtype": "m.text"}}),
        (
            ["content.m\\.relates_to.rel_type"],
            {"content": {"m.relates_to": {"rel_type": "m.thread"}}},
        ),
        (["content.body", "content"], {"content": EVENT["content"]}),
        (["content", "content.body"], {"content": EVENT["content"]}),
        (["missing", "content.missing", "type.deeper"], {}),
        (["unsigned.age", "type"], {"unsigned": {"age": 5}, "type": "m.room.message"}),
    ],
)
def test_apply_event_fields(fields: list[str] | None, expected: dict[str, Any]) -> None:
    before = repr(EVENT)
    assert apply_event_fields(EVENT, fields) == expected
    assert repr(EVENT) == before  # input untouched


def test_type_matches_is_not_exponential() -> None:
    assert not type_matches("*a" * 200 + "b", "a" * 500)


# --- properties ------------------------------------------------------------

_alphabet = st.sampled_from("am.*x_")
_types = st.text(alphabet=st.sampled_from("am.x_"), max_size=12)
_patterns = st.text(alphabet=_alphabet, max_size=8)


def _reference_match(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@given(_patterns, _types)
def test_type_matches_agrees_with_regex(pattern: str, value: str) -> None:
    assert type_matches(pattern, value) == _reference_match(pattern, value)


@st.composite
def _glob_for(draw: st.DrawFn, value: str) -> str:
    # A pattern that matches `value`: replace some slices with `*`.
    out, i = [], 0
    while i < len(value):
        if draw(st.booleans()):
            j = draw(st.integers(i, len(value)))
            out.append("*")
            i = j
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@given(
    _types.flatmap(lambda t: st.tuples(st.just(t), _glob_for(t))),
    st.lists(_patterns, max_size=4),
    st.lists(_patterns, max_size=4),
    st.sampled_from(["@a:x", "@b:x"]),
)
def test_not_types_always_wins(
    type_and_glob: tuple[str, str], types: list[str], extra_not: list[str], sender: str
) -> None:
    event_type, glob = type_and_glob
    assert type_matches(glob, event_type)
    include_it = [*types, event_type, glob]
    for f in (
        EventFilter(types=tuple(include_it), not_types=(*extra_not, glob)),
        RoomEventFilter(types=tuple(include_it), not_types=(glob, *extra_not)),
    ):
        assert not event_allowed(f, {"type": event_type, "sender": sender})


_ids = st.lists(st.sampled_from(["!a:x", "!b:x", "!c:x"]), max_size=3)
_users = st.lists(st.sampled_from(["@a:x", "@b:x"]), max_size=2)
_event_filter_bodies = st.fixed_dictionaries(
    {},
    optional={
        "limit": st.integers(1, 5000),
        "types": st.lists(_patterns, max_size=3),
        "not_types": st.lists(_patterns, max_size=3),
        "senders": _users,
        "not_senders": _users,
    },
)
_room_event_filter_bodies = st.fixed_dictionaries(
    {},
    optional={
        "limit": st.integers(1, 5000),
        "types": st.lists(_patterns, max_size=3),
        "rooms": _ids,
        "not_rooms": _ids,
        "contains_url": st.booleans(),
        "lazy_load_members": st.booleans(),
    },
)
_filter_bodies = st.fixed_dictionaries(
    {},
    optional={
        "event_fields": st.lists(st.sampled_from(["type", "content.body"]), max_size=2),
        "event_format": st.sampled_from(["client", "federation"]),
        "presence": _event_filter_bodies,
        "account_data": _event_filter_bodies,
        "room": st.fixed_dictionaries(
            {},
            optional={
                "rooms": _ids,
                "not_rooms": _ids,
                "include_leave": st.booleans(),
                "timeline": _room_event_filter_bodies,
                "state": _room_event_filter_bodies,
                "ephemeral": _room_event_filter_bodies,
            },
        ),
    },
)


@given(_filter_bodies)
def test_parse_serialise_round_trip(body: dict[str, Any]) -> None:
    f = parse_filter(body)
    assert parse_filter(filter_to_json(f)) == f
    timeline = f.room.timeline
    assert timeline.limit is None or 1 <= timeline.limit <= MAX_LIMIT
