"""Initial syncs carry the user's push rules as `m.push_rules` account data
(spec push.md: clients read the rule set from account data), even before the
user changed any rule and so before one was ever stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class PushRulesSyncSource:
    def __init__(self, account_data_event: Callable[[str], Awaitable[dict[str, Any]]]) -> None:
        self._event = account_data_event

    async def add_to_sync(self, user_id: str, device_id: str, since: int | None, upto: int,
                          response: dict[str, Any]) -> bool:
        if since is not None:
            return False
        events = response.setdefault("account_data", {}).setdefault("events", [])
        if not any(e.get("type") == "m.push_rules" for e in events):
            events.append(await self._event(user_id))
        return False
