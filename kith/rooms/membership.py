"""Pure reads of membership-related room state, and history visibility.

Spec: client-server-api `m.room.member`, `m.room.join_rules`, and
client-server-api/modules/history_visibility.md.
"""

from __future__ import annotations

from kith.rooms.auth_common import JOIN_RULES, StateMap, content_of

HISTORY_VISIBILITY_VALUES = frozenset({"world_readable", "shared", "invited", "joined"})


def membership_of(user_id: str, state: StateMap) -> str:
    """The `membership` of `user_id` in `state`; "leave" if there is none.

    The `m.room.member` schema: "If not present, the user's previous
    membership must be assumed as `leave`." A member event without a string
    `membership` is treated the same way.
    """
    event = state.get(("m.room.member", user_id))
    membership = content_of(event).get("membership")
    return membership if isinstance(membership, str) else "leave"


def join_rule(state: StateMap) -> str:
    """The room's `join_rule`, or "invite" when it is not set.

    The spec gives no default. With no join rule, the join rules of the
    authorisation rules (rule 4.3 [v12: 5.3]) can only reject newcomers, and
    knocking (rule 4.7.1 [v12: 5.7.1]) is rejected too; treating the room as
    invite-only gives the same answer for newcomers while still letting
    invited users join, which is what other implementations do and so keeps
    auth results identical across servers.
    """
    rule = content_of(state.get(JOIN_RULES)).get("join_rule", "invite")
    return rule if isinstance(rule, str) else "invite"


def history_visibility(state: StateMap) -> str:
    """The room's `history_visibility`.

    history_visibility.md, "Server behaviour": "By default if no
    history_visibility is set, or if the value is not understood, the
    visibility is assumed to be shared."
    """
    value = content_of(state.get(("m.room.history_visibility", ""))).get("history_visibility")
    if isinstance(value, str) and value in HISTORY_VISIBILITY_VALUES:
        return value
    return "shared"


def can_see_event(
    user_id: str,
    event_membership_at_event: str | None,
    history_visibility_at_event: str,
    current_membership: str | None,
    *,
    joined_after_event: bool | None = None,
) -> bool:
    """May `user_id` see an event, per history_visibility.md "Server behaviour"?

    Inputs describe the room state *at the event* (the state the event was
    added to the DAG with), not the state now:

    * `event_membership_at_event`: the user's membership in that state
      (None = no member event, i.e. "leave").
    * `history_visibility_at_event`: the visibility in that state; a value
      that is not one of the four known ones counts as "shared".
    * `current_membership`: the user's membership now (None = "leave").
    * `joined_after_event`: whether the user joined at any point after the
      event was sent. If the caller does not know (None), it is taken to be
      "the user is joined now", which is exact except for users who joined
      after the event and have since left.

    The rules, checked in order:

    1. Visibility "world_readable": allow.
    2. Membership at the event "join": allow.
    3. Visibility "shared" and the user joined at any point after the event
       was sent: allow.
    4. Membership at the event "invite" and visibility "invited": allow.
    5. Otherwise deny.

    Consequences: under "joined" a user sees exactly the events sent while
    they were joined; under "invited", those sent while invited or joined;
    after leaving, a user keeps seeing what they could see before, and
    nothing sent after they left (their membership at those events is not
    join/invite), unless the room was world readable at the time.

    `user_id` only documents whose view this is; the answer depends on the
    memberships passed in. Two special cases are the caller's job, by calling
    this twice (state before and state after the event) and allowing if
    either call allows: `m.room.history_visibility` events themselves, and the
    user's own `m.room.member` events.
    """
    del user_id  # the decision depends only on the memberships passed in
    visibility = (
        history_visibility_at_event
        if history_visibility_at_event in HISTORY_VISIBILITY_VALUES
        else "shared"
    )
    membership = event_membership_at_event or "leave"
    # 1. If the history_visibility was set to world_readable, allow.
    if visibility == "world_readable":
        return True
    # 2. If the user's membership was join, allow.
    if membership == "join":
        return True
    # 3. If history_visibility was set to shared, and the user joined the room
    #    at any point after the event was sent, allow.
    if visibility == "shared":
        joined_later = (
            joined_after_event if joined_after_event is not None else current_membership == "join"
        )
        if joined_later:
            return True
    # 4. If the user's membership was invite, and the history_visibility was
    #    set to invited, allow.
    if membership == "invite" and visibility == "invited":
        return True
    # 5. Otherwise, deny.
    return False
