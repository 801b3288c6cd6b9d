"""The pure parts of POST /search (search.yaml): the request criteria, the
FTS5 match expression, pagination tokens and the visibility windows.

Spec: client-server-api/modules/search.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from kith.api.fields import opt_bool, opt_dict, opt_int, opt_list, opt_str, req_str
from kith.errors import MatrixError, invalid_param
from kith.rooms.visibility import Timeline, visible
from kith.store.events import StoredEvent
from kith.store.search import KEYS
from kith.sync.filter_errors import FilterError
from kith.sync.filters import DEFAULT_LIMIT, RoomEventFilter, parse_room_event_filter

MAX_LIMIT = 50
MAX_CONTEXT = 20
MAX_TERMS = 20
GROUP_KEYS = ("room_id", "sender")
_END = 1 << 62
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class EventContext:
    before: int
    after: int
    include_profile: bool


@dataclass(frozen=True, slots=True)
class Criteria:
    """search.yaml "Room Events Criteria", validated."""

    search_term: str
    keys: tuple[str, ...]
    event_filter: RoomEventFilter
    by_rank: bool
    context: EventContext | None
    include_state: bool
    group_by: tuple[str, ...]

    @property
    def limit(self) -> int:
        limit = self.event_filter.limit
        return min(limit if limit is not None else DEFAULT_LIMIT, MAX_LIMIT)


def parse_criteria(body: dict[str, Any]) -> Criteria:
    term = req_str(body, "search_term")
    keys = opt_list(body, "keys")
    if keys is not None and not all(k in KEYS for k in keys):
        raise invalid_param(f"keys must be among {', '.join(KEYS)}")
    order = opt_str(body, "order_by") or "rank"
    if order not in ("rank", "recent"):
        raise invalid_param("order_by must be rank or recent")
    raw_filter = opt_dict(body, "filter")
    try:
        event_filter = parse_room_event_filter(raw_filter or {})
    except FilterError as err:
        raise MatrixError(400, err.errcode, err.message) from None
    raw_context = opt_dict(body, "event_context")
    context = None
    if raw_context is not None:
        before = opt_int(raw_context, "before_limit")
        after = opt_int(raw_context, "after_limit")
        if (before is not None and before < 0) or (after is not None and after < 0):
            raise invalid_param("before_limit and after_limit must not be negative")
        # search.yaml: both default to 5.
        context = EventContext(min(5 if before is None else before, MAX_CONTEXT),
                               min(5 if after is None else after, MAX_CONTEXT),
                               opt_bool(raw_context, "include_profile", False))
    groupings = opt_dict(body, "groupings") or {}
    group_by = []
    for group in opt_list(groupings, "group_by") or []:
        key = group.get("key") if isinstance(group, dict) else None
        if key not in GROUP_KEYS:
            raise invalid_param("group_by keys must be room_id or sender")
        group_by.append(str(key))
    return Criteria(term, tuple(dict.fromkeys(keys)) if keys is not None else KEYS, event_filter,
                    order == "rank", context, opt_bool(body, "include_state", False),
                    tuple(dict.fromkeys(group_by)))


def terms(search_term: str) -> list[str]:
    """The words of the search term, lower-cased, without repeats: what is
    matched and what `highlights` lists."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(search_term)))[:MAX_TERMS]


def match_expression(words: list[str]) -> str:
    """An FTS5 query requiring every word, each as a prefix (so "martian"
    finds "martians"). Words are quoted, so FTS5 syntax in the term is text."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


@dataclass(frozen=True, slots=True)
class Batch:
    """Where a page starts: a rank offset or a stream position, and the group
    a group's next_batch limits it to."""

    by_rank: bool
    position: int | None
    group: tuple[str, str] | None = None

    def encode(self) -> str:
        raw = orjson.dumps({"r": self.by_rank, "p": self.position,
                            "g": list(self.group) if self.group else None})
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_batch(token: str) -> Batch:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise invalid_param("Unknown next_batch token") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("r"), bool):
        raise invalid_param("Unknown next_batch token")
    position, group = raw.get("p"), raw.get("g")
    if position is not None and (not isinstance(position, int) or position < 0):
        raise invalid_param("Unknown next_batch token")
    if group is not None and not (isinstance(group, list) and len(group) == 2
                                  and group[0] in GROUP_KEYS and isinstance(group[1], str)):
        raise invalid_param("Unknown next_batch token")
    return Batch(raw["r"], position, (group[0], group[1]) if group else None)


def visible_windows(room_id: str, user_id: str, memberships: Timeline, visibility: Timeline
                    ) -> list[tuple[str, int, int]]:
    """The stream ranges (inclusive) of a room whose searchable events the user
    may see. Visibility (kith.rooms.visibility) changes only at the user's
    member events and the room's history_visibility events, and searchable
    events are neither, so one probe per span between those decides the span."""
    points = sorted(set(memberships.positions) | set(visibility.positions))
    spans = [(lo, hi) for lo, hi in zip([0] + [p + 1 for p in points], [*points, _END])
             if lo <= hi]
    windows: list[tuple[str, int, int]] = []
    for lo, hi in spans:
        probe = StoredEvent(lo, "", room_id, {"type": "m.room.message", "sender": ""},
                            None, None, None, None)
        if not visible(probe, user_id, memberships, visibility):
            continue
        if windows and windows[-1][2] >= lo - 1:
            windows[-1] = (room_id, windows[-1][1], hi)
        else:
            windows.append((room_id, lo, hi))
    return windows

