"""The filter model: parse, match, project and serialise filter definitions.

Spec: client-server-api "Filtering" and "Lazy-loading room members"; the schemas
are `Filter` (definitions/sync_filter.yaml), `EventFilter`
(definitions/event_filter.yaml) and `RoomEventFilter`
(definitions/room_event_filter.yaml). Everything here is pure: no storage, no
I/O. Absent lists are `None` ("no restriction") and are kept distinct from
empty lists ("nothing matches"), because the spec defines only absence as
"all included".

Resource bounds (the spec asks servers to "impose a maximum value to avoid
resource exhaustion" on `limit`):
  * `limit` above `MAX_LIMIT` is clamped to `MAX_LIMIT`; below 1 is rejected.
  * Every list holds at most `MAX_LIST_ITEMS` strings of at most
    `MAX_ITEM_LENGTH` characters; longer ones are rejected, since dropping
    entries from an include or exclude list would change its meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kith.sync.event_fields import apply_event_fields, split_field_path
from kith.sync.filter_errors import FilterError

__all__ = [
    "DEFAULT_FILTER",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "EventFilter",
    "FilterError",
    "RoomEventFilter",
    "RoomFilter",
    "SyncFilter",
    "apply_event_fields",
    "event_allowed",
    "filter_to_json",
    "parse_event_filter",
    "parse_filter",
    "parse_room_event_filter",
    "room_allowed",
    "split_field_path",
    "type_matches",
]

MAX_LIMIT = 1000
# Used by callers when a filter has no `limit`; the spec leaves the value to
# the server ("Servers should apply a default value").
DEFAULT_LIMIT = 10
MAX_LIST_ITEMS = 1000
MAX_ITEM_LENGTH = 512
MAX_EVENT_FIELDS = 100

EventFormat = Literal["client", "federation"]
StrList = tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """`EventFilter`: used for top-level `presence` and `account_data`."""

    limit: int | None = None
    types: StrList = None
    not_types: StrList = None
    senders: StrList = None
    not_senders: StrList = None


@dataclass(frozen=True, slots=True)
class RoomEventFilter(EventFilter):
    """`RoomEventFilter`: `EventFilter` plus room, URL and lazy-loading keys."""

    rooms: StrList = None
    not_rooms: StrList = None
    # None: `url` is not considered; True: only events whose content has a
    # `url` key; False: only events whose content lacks one.
    contains_url: bool | None = None
    lazy_load_members: bool = False
    # Spec: "Does not apply unless `lazy_load_members` is `true`."
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False


@dataclass(frozen=True, slots=True)
class RoomFilter:
    """`RoomFilter`: `rooms`/`not_rooms` apply before the per-section filters."""

    rooms: StrList = None
    not_rooms: StrList = None
    include_leave: bool = False
    ephemeral: RoomEventFilter = field(default_factory=RoomEventFilter)
    state: RoomEventFilter = field(default_factory=RoomEventFilter)
    timeline: RoomEventFilter = field(default_factory=RoomEventFilter)
    account_data: RoomEventFilter = field(default_factory=RoomEventFilter)


@dataclass(frozen=True, slots=True)
class SyncFilter:
    """`Filter`: the whole body of POST /user/{userId}/filter."""

    event_fields: StrList = None
    event_format: EventFormat = "client"
    presence: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    room: RoomFilter = field(default_factory=RoomFilter)


# The filter used when a request names none: everything included, client format.
DEFAULT_FILTER = SyncFilter()


# --- parsing ---------------------------------------------------------------


def _obj(value: Any, where: str) -> Mapping[str, Any] | None:
    # A JSON `null` is treated as the key being absent: lenient, and it cannot
    # widen what a filter matches compared with omitting the key.
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FilterError(f"{where} must be an object")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise FilterError(f"{where}.{key} must be a boolean")
    return value


def _limit(obj: Mapping[str, Any], where: str) -> int | None:
    value = obj.get("limit")
    if value is None:
        return None
    # JSON has one number type; accept 10.0 like 10 but never booleans.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterError(f"{where}.limit must be an integer")
    # event_filter.yaml: "must be an integer greater than 0".
    if value < 1:
        raise FilterError(f"{where}.limit must be greater than 0")
    return min(value, MAX_LIMIT)


def _strings(
    obj: Mapping[str, Any],
    key: str,
    where: str,
    sigil: str = "",
    max_items: int = MAX_LIST_ITEMS,
) -> StrList:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise FilterError(f"{where}.{key} must be an array of strings")
    if len(value) > max_items:
        raise FilterError(f"{where}.{key} has more than {max_items} entries")
    for item in value:
        if not isinstance(item, str):
            raise FilterError(f"{where}.{key} must contain only strings")
        if len(item) > MAX_ITEM_LENGTH:
            raise FilterError(f"{where}.{key} has an entry that is too long")
        # The schemas give `pattern: "^@"` for user IDs, `"^!"` for room IDs.
        if sigil and not item.startswith(sigil):
            raise FilterError(f"{where}.{key} entries must start with {sigil!r}")
    return tuple(value)


def _event_filter_fields(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {
        "limit": _limit(obj, where),
        "types": _strings(obj, "types", where),
        "not_types": _strings(obj, "not_types", where),
        "senders": _strings(obj, "senders", where, "@"),
        "not_senders": _strings(obj, "not_senders", where, "@"),
    }


def parse_event_filter(value: Any, where: str = "filter") -> EventFilter:
    """Parse an `EventFilter` object; unknown keys are ignored."""
    obj = _obj(value, where)
    if obj is None:
        return EventFilter()
    return EventFilter(**_event_filter_fields(obj, where))


def parse_room_event_filter(value: Any, where: str = "filter") -> RoomEventFilter:
    """Parse a `RoomEventFilter` object (also the /messages `filter` param)."""
    obj = _obj(value, where)
    if obj is None:
        return RoomEventFilter()
    return RoomEventFilter(
        **_event_filter_fields(obj, where),
        rooms=_strings(obj, "rooms", where, "!"),
        not_rooms=_strings(obj, "not_rooms", where, "!"),
        contains_url=_bool(obj, "contains_url", where),
        lazy_load_members=bool(_bool(obj, "lazy_load_members", where)),
        include_redundant_members=bool(
            _bool(obj, "include_redundant_members", where)
        ),
        unread_thread_notifications=bool(
            _bool(obj, "unread_thread_notifications", where)
        ),
    )


def _parse_room_filter(value: Any, where: str) -> RoomFilter:
    obj = _obj(value, where)
    if obj is None:
        return RoomFilter()
    return RoomFilter(
        rooms=_strings(obj, "rooms", where, "!"),
        not_rooms=_strings(obj, "not_rooms", where, "!"),
        include_leave=bool(_bool(obj, "include_leave", where)),
        ephemeral=parse_room_event_filter(obj.get("ephemeral"), where + ".ephemeral"),
        state=parse_room_event_filter(obj.get("state"), where + ".state"),
        timeline=parse_room_event_filter(obj.get("timeline"), where + ".timeline"),
        account_data=parse_room_event_filter(
            obj.get("account_data"), where + ".account_data"
        ),
    )


def parse_filter(obj: Any) -> SyncFilter:
    """Validate a `Filter` body and build a `SyncFilter`.

    Raises `FilterError` when a known key has the wrong type or value. Unknown
    keys are ignored so that newer clients' additions do not break them.
    """
    if not isinstance(obj, Mapping):
        raise FilterError("filter must be an object")
    event_format = obj.get("event_format", "client")
    if event_format is None:
        event_format = "client"
    if event_format not in ("client", "federation"):
        raise FilterError("filter.event_format must be 'client' or 'federation'")
    return SyncFilter(
        event_fields=_strings(
            obj, "event_fields", "filter", max_items=MAX_EVENT_FIELDS
        ),
        event_format=event_format,
        presence=parse_event_filter(obj.get("presence"), "filter.presence"),
        account_data=parse_event_filter(
            obj.get("account_data"), "filter.account_data"
        ),
        room=_parse_room_filter(obj.get("room"), "filter.room"),
    )


# --- matching --------------------------------------------------------------


def type_matches(pattern: str, event_type: str) -> bool:
    """Match an event type against a filter entry where `*` is "any sequence
    of characters" (event_filter.yaml `types`/`not_types`). No other character
    is special. Greedy two-pointer glob: O(len(pattern) * len(event_type)) in
    the worst case, never exponential."""
    p = t = 0
    star = -1
    resume = 0
    while t < len(event_type):
        if p < len(pattern) and pattern[p] != "*" and pattern[p] == event_type[t]:
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif star >= 0:
            # Let the last `*` swallow one more character and retry.
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _admits(
    allowed: StrList, denied: StrList, value: str | None, *, glob: bool = False
) -> bool:
    # Spec: a value matching the `not_*` list is excluded "even if it is listed"
    # in the include list; an absent include list includes everything.
    def hit(entries: tuple[str, ...]) -> bool:
        if value is None:
            return False
        if glob:
            return any(type_matches(e, value) for e in entries)
        return value in entries

    if denied is not None and hit(denied):
        return False
    return allowed is None or hit(allowed)


def room_allowed(room_filter: RoomFilter | RoomEventFilter, room_id: str) -> bool:
    """Whether `rooms`/`not_rooms` admit `room_id` (`not_rooms` wins)."""
    if room_filter.rooms is None and room_filter.not_rooms is None:
        return True  # the usual case, asked once per room of a user on every /sync
    return _admits(room_filter.rooms, room_filter.not_rooms, room_id)


def event_allowed(
    f: EventFilter | RoomEventFilter,
    event: Mapping[str, Any],
    room_id: str | None = None,
) -> bool:
    """Whether `event` passes `f`'s types, senders, rooms and contains_url.

    `room_id` overrides `event["room_id"]` for events that arrive without one
    (as in /sync, where events are grouped under their room). An event with no
    sender or room ID fails a present `senders`/`rooms` include list but is not
    caught by the corresponding `not_*` list. `limit` is not applied here.
    """
    event_type = event.get("type")
    sender = event.get("sender")
    if not _admits(
        f.types,
        f.not_types,
        event_type if isinstance(event_type, str) else None,
        glob=True,
    ):
        return False
    if not _admits(
        f.senders, f.not_senders, sender if isinstance(sender, str) else None
    ):
        return False
    if isinstance(f, RoomEventFilter):
        rid = room_id if room_id is not None else event.get("room_id")
        if not _admits(f.rooms, f.not_rooms, rid if isinstance(rid, str) else None):
            return False
        if f.contains_url is not None:
            content = event.get("content")
            has_url = isinstance(content, Mapping) and "url" in content
            if has_url != f.contains_url:
                return False
    return True


# --- serialisation ---------------------------------------------------------


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if isinstance(value, tuple):
        out[key] = list(value)
    elif value is not None:
        out[key] = value


def _event_filter_json(f: EventFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("limit", "types", "not_types", "senders", "not_senders"):
        _put(out, key, getattr(f, key))
    if isinstance(f, RoomEventFilter):
        for key in ("rooms", "not_rooms", "contains_url"):
            _put(out, key, getattr(f, key))
        for flag in (
            "lazy_load_members",
            "include_redundant_members",
            "unread_thread_notifications",
        ):
            if getattr(f, flag):
                out[flag] = True
    return out


def filter_to_json(f: SyncFilter) -> dict[str, Any]:
    """Serialise to a `Filter` body, as returned by GET
    /user/{userId}/filter/{filterId}. Defaults are omitted; parsing the result
    gives back an equal `SyncFilter`."""
    out: dict[str, Any] = {"event_format": f.event_format}
    _put(out, "event_fields", f.event_fields)
    for key, sub in (("presence", f.presence), ("account_data", f.account_data)):
        body = _event_filter_json(sub)
        if body:
            out[key] = body
    room: dict[str, Any] = {}
    _put(room, "rooms", f.room.rooms)
    _put(room, "not_rooms", f.room.not_rooms)
    if f.room.include_leave:
        room["include_leave"] = True
    for key in ("ephemeral", "state", "timeline", "account_data"):
        body = _event_filter_json(getattr(f.room, key))
        if body:
            room[key] = body
    if room:
        out["room"] = room
    return out
