"""Errors raised by the pure room logic in `kith.rooms`."""

from __future__ import annotations


class AuthError(Exception):
    """An event failed the room version's authorisation rules.

    `rule` names the rule that rejected the event, numbered as the room
    version's "Authorisation rules" list numbers it (for example "5.3.7" in a
    version 12 room is the catch-all reject for joins). Checks that come from
    elsewhere in the spec use a short word instead of a number: "format" for
    an event that is not well formed enough to be checked at all.

    `reason` is a sentence for logs and for the `error` field of a Matrix
    error response.
    """

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"rule {rule}: {reason}")
        self.rule = rule
        self.reason = reason
