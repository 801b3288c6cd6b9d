"""Redactions: which event is redacted, and whether to apply the redaction.

Sending an `m.room.redaction` is governed only by the ordinary rules (the
required power level of the `m.room.redaction` event type, rule 7 [v12: 8]);
the *redact level* plays no part in `check_auth`. Whether the redaction is
then *applied* is decided here, per the "Handling redactions" section shared
by room versions 3 onwards (rooms/fragments/v3-handling-redactions.md).
"""

from __future__ import annotations

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_common import Event, StateMap, content_of, server_name_of
from kith.rooms.power_levels import action_level, user_level


def redaction_target(redaction: Event, version: RoomVersion) -> str | None:
    """The event ID an `m.room.redaction` redacts, or None if it names none.

    Version 11 moved `redacts` from the top level into `content`
    (`RoomVersion.redacts_in_content`).
    """
    if version.redacts_in_content:
        target = content_of(redaction).get("redacts")
    else:
        target = redaction.get("redacts")
    return target if isinstance(target, str) else None


def redaction_applies(
    redaction: Event, original: Event, state: StateMap, version: RoomVersion
) -> bool:
    """Should the server apply `redaction` to `original`?

    `state` is the room state at the redaction event. Both events must
    already have been received and have passed their own checks; the caller
    waits otherwise. The redaction is applied if either:

    1. The power level of the redaction event's sender is greater than or
       equal to the redact level.
    2. The domain of the redaction event's sender matches that of the
       original event's sender.

    The first holds even if the sender could not have sent the type of event
    being redacted.
    """
    sender = redaction.get("sender")
    original_sender = original.get("sender")
    if not isinstance(sender, str):
        return False
    # 1. Sender's power level >= redact level.
    if user_level(sender, state, version) >= action_level("redact", state):
        return True
    # 2. Same sender domain as the original event.
    if not isinstance(original_sender, str):
        return False
    domain = server_name_of(sender)
    return domain is not None and domain == server_name_of(original_sender)
