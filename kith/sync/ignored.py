"""Ignoring users (spec: client-server-api modules/ignore_users.md).

A user's ignored set is the keys of `ignored_users` in their global account
data event `m.ignored_user_list` (event-schemas m.ignored_user_list.yaml).
/sync, /messages and /context ask for it on every request, so it is cached per
user (bounded LRU) and dropped by `changed` when the account data is written:
"Following an update of the m.ignored_user_list, the sync API for all clients
should immediately start ignoring (or un-ignoring) the user."

What ignoring hides (ignore_users.md "Server behaviour"): events the ignored
user sent, except state events ("Servers must still send state events sent by
ignored users to clients"), and invites they sent.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

IGNORED_USER_LIST = "m.ignored_user_list"
NOBODY: frozenset[str] = frozenset()

# (user_id, room_id or None, type) -> content, as AccountDataStore.get reads it.
ReadAccountData = Callable[[str, str | None, str], Awaitable[dict[str, Any] | None]]


def ignored_set(content: dict[str, Any] | None) -> frozenset[str]:
    """The user IDs an `m.ignored_user_list` content ignores; malformed
    content ignores nobody rather than failing every sync."""
    users = (content or {}).get("ignored_users")
    if not isinstance(users, dict):
        return NOBODY
    return frozenset(u for u in users if isinstance(u, str) and u.startswith("@"))


def hides(ignored: frozenset[str], sender: str, state_key: str | None) -> bool:
    """Whether an event is withheld from a user ignoring `ignored`: anything
    but state events from an ignored sender."""
    return state_key is None and sender in ignored


class IgnoredUsers:
    MAX_CACHED = 10_000

    def __init__(self, read: ReadAccountData) -> None:
        self._read = read
        self._cache: OrderedDict[str, frozenset[str]] = OrderedDict()

    async def of(self, user_id: str) -> frozenset[str]:
        found = self._cache.get(user_id)
        if found is not None:
            self._cache.move_to_end(user_id)
            return found
        found = ignored_set(await self._read(user_id, None, IGNORED_USER_LIST))
        self._cache[user_id] = found
        while len(self._cache) > self.MAX_CACHED:
            self._cache.popitem(last=False)
        return found

    def changed(self, user_id: str, room_id: str | None, event_type: str) -> None:
        """An account data write: forget the cached set if it was the list."""
        if event_type == IGNORED_USER_LIST and not room_id:
            self._cache.pop(user_id, None)


def without_ignored(ephemeral: dict[str, Any], ignored: frozenset[str]) -> dict[str, Any] | None:
    """An `m.typing` or `m.receipt` event with the ignored users' parts taken
    out (they are events "sent by that user" too); None when nothing is left
    of a receipt event. A typing event is kept even when empty, since clients
    replace their list of typers with it."""
    if not ignored:
        return ephemeral
    content = ephemeral.get("content", {})
    if ephemeral.get("type") == "m.typing":
        typers = [u for u in content.get("user_ids", []) if u not in ignored]
        return {**ephemeral, "content": {**content, "user_ids": typers}}
    if ephemeral.get("type") != "m.receipt":
        return ephemeral
    kept: dict[str, Any] = {}
    for event_id, by_type in content.items():
        types: dict[str, Any] = {}
        for receipt_type, by_user in by_type.items():
            users = {u: r for u, r in by_user.items() if u not in ignored}
            if users:
                types[receipt_type] = users
        if types:
            kept[event_id] = types
    return {**ephemeral, "content": kept} if kept else None
