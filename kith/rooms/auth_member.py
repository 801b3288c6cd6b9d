"""`m.room.member` authorisation: rule 4 in versions 10 and 11, rule 5 in 12.

The sub-rules are numbered identically in all three versions, so comments
give them as "4.x [v12: 5.x]" and `_rule` adds the right prefix. Returning
normally means "allow"; every reject raises AuthError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_common import (
    CREATE,
    Event,
    StateMap,
    content_of,
    is_valid_user_id,
    server_name_of,
)
from kith.rooms.auth_third_party import signed_matches_invite
from kith.rooms.errors import AuthError
from kith.rooms.membership import join_rule, membership_of
from kith.rooms.power_levels import action_level, user_level

SignatureCheck = Callable[[Mapping[str, Any], str], bool]

_JAUVUS = "join_authorised_via_users_server"


def _rule(version: RoomVersion, sub: str) -> str:
    return f"{5 if version.room_id_from_create else 4}.{sub}"


def _reject(version: RoomVersion, sub: str, reason: str) -> NoReturn:
    raise AuthError(_rule(version, sub), reason)


def has_signature_from(event: Mapping[str, Any], server_name: str) -> bool:
    """Structural stand-in for a signature check: `signatures` has an entry
    for `server_name` with at least one key. Used when the caller passes no
    cryptographic checker (see `check_membership`)."""
    signatures = event.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    by_key = signatures.get(server_name)
    return isinstance(by_key, Mapping) and len(by_key) > 0


def _only_previous_is_create(
    event: Event, state: StateMap, version: RoomVersion, create_event_id: str | None
) -> bool:
    """"The only previous event is an m.room.create" (rule 4.3.1 [v12: 5.3.1])."""
    prev_events = event.get("prev_events")
    if not isinstance(prev_events, list) or len(prev_events) != 1:
        return False
    room_id = event.get("room_id")
    if version.room_id_from_create:
        # Version 12: the room ID is the create event's ID with "!" for "$".
        return isinstance(room_id, str) and prev_events[0] == "$" + room_id[1:]
    if create_event_id is not None:
        return bool(prev_events[0] == create_event_id)
    # Without the create event's ID, the state before the event stands in:
    # if it holds nothing but the create event, nothing but the create event
    # can precede this one (no other event is authorised before the first
    # join).
    return CREATE in state and len(state) == 1


def check_membership(
    event: Event,
    state: StateMap,
    version: RoomVersion,
    *,
    create_event_id: str | None = None,
    verify_signature: SignatureCheck | None = None,
) -> None:
    """Apply rule 4 [v12: 5] to an `m.room.member` event.

    `verify_signature(event, server_name)` decides rule 4.2.1 [v12: 5.2.1]
    ("validly signed by the homeserver of ... join_authorised_via_users_server").
    Verifying needs the redaction algorithm and the server's keys, so it is
    injected; without it only the presence of a signature from that server
    is checked, and the caller's signature checks on receipt of the PDU must
    cover that server's signature.
    """
    sender: str = event["sender"]
    state_key = event.get("state_key")
    content = content_of(event)
    # Rule 4.1 [v12: 5.1]: If there is no state_key property, or no membership
    # property in content, reject.
    if not isinstance(state_key, str) or "membership" not in content:
        _reject(version, "1", "member event needs a state_key and content.membership")
    # Rule 4.2 [v12: 5.2]: If content has a join_authorised_via_users_server key:
    if _JAUVUS in content:
        # Rule 4.2.1 [v12: 5.2.1]: If the event is not validly signed by the
        # homeserver of the user ID denoted by the key, reject.
        authoriser = content[_JAUVUS]
        server = server_name_of(authoriser) if is_valid_user_id(authoriser) else None
        check = verify_signature or has_signature_from
        if server is None or not check(event, server):
            _reject(version, "2.1", f"not signed by the server of {_JAUVUS}")
    membership = content["membership"]
    if membership == "join":
        _join(event, sender, state_key, content, state, version, create_event_id)
    elif membership == "invite":
        _invite(sender, state_key, content, state, version)
    elif membership == "leave":
        _leave(sender, state_key, state, version)
    elif membership == "ban":
        _ban(sender, state_key, state, version)
    elif membership == "knock":
        _knock(sender, state_key, state, version)
    else:
        # Rule 4.8 [v12: 5.8]: Otherwise, the membership is unknown. Reject.
        _reject(version, "8", f"unknown membership {membership!r}")


def _join(
    event: Event,
    sender: str,
    target: str,
    content: Mapping[str, Any],
    state: StateMap,
    version: RoomVersion,
    create_event_id: str | None,
) -> None:
    # Rule 4.3 [v12: 5.3]: If membership is join:
    create = state.get(CREATE)
    if version.creator_is_sender:
        first_member = create.get("sender") if create is not None else None
    else:
        first_member = content_of(create).get("creator")
    # Rule 4.3.1 [v12: 5.3.1]: If the only previous event is an m.room.create
    # and the state_key is the creator (v10) / the sender of the
    # m.room.create (v11, v12), allow.
    if target == first_member and _only_previous_is_create(event, state, version, create_event_id):
        return
    # Rule 4.3.2 [v12: 5.3.2]: If the sender does not match state_key, reject.
    if sender != target:
        _reject(version, "3.2", "cannot join on behalf of another user")
    current = membership_of(sender, state)
    # Rule 4.3.3 [v12: 5.3.3]: If the sender is banned, reject.
    if current == "ban":
        _reject(version, "3.3", "sender is banned")
    rule = join_rule(state)
    # Rule 4.3.4 [v12: 5.3.4]: If the join_rule is invite or knock then allow
    # if membership state is invite or join.
    if rule in ("invite", "knock"):
        if current in ("invite", "join"):
            return
    # Rule 4.3.5 [v12: 5.3.5]: If the join_rule is restricted or
    # knock_restricted:
    elif rule in ("restricted", "knock_restricted"):
        # Rule 4.3.5.1 [v12: 5.3.5.1]: If membership state is join or invite,
        # allow.
        if current in ("join", "invite"):
            return
        # Rule 4.3.5.2 [v12: 5.3.5.2]: If the join_authorised_via_users_server
        # key in content is not a user with sufficient permission to invite
        # other users or is not a joined member of the room, reject.
        authoriser = content.get(_JAUVUS)
        if not (
            isinstance(authoriser, str)
            and membership_of(authoriser, state) == "join"
            and user_level(authoriser, state, version) >= action_level("invite", state)
        ):
            _reject(version, "3.5.2", f"{_JAUVUS} is not a joined user able to invite")
        # Rule 4.3.5.3 [v12: 5.3.5.3]: Otherwise, allow.
        return
    # Rule 4.3.6 [v12: 5.3.6]: If the join_rule is public, allow.
    elif rule == "public":
        return
    # Rule 4.3.7 [v12: 5.3.7]: Otherwise, reject.
    _reject(version, "3.7", f"join rule {rule!r} does not let {sender} join")


def _invite(
    sender: str, target: str, content: Mapping[str, Any], state: StateMap, version: RoomVersion
) -> None:
    # Rule 4.4 [v12: 5.4]: If membership is invite:
    # Rule 4.4.1 [v12: 5.4.1]: If content has a third_party_invite property:
    if "third_party_invite" in content:
        # Rule 4.4.1.1 [v12: 5.4.1.1]: If target user is banned, reject.
        if membership_of(target, state) == "ban":
            _reject(version, "4.1.1", "target user is banned")
        third_party = content["third_party_invite"]
        signed = third_party.get("signed") if isinstance(third_party, Mapping) else None
        # Rule 4.4.1.2 [v12: 5.4.1.2]: If content.third_party_invite does not
        # have a signed property, reject.
        if not isinstance(signed, Mapping):
            _reject(version, "4.1.2", "third_party_invite has no signed object")
        mxid, token = signed.get("mxid"), signed.get("token")
        # Rule 4.4.1.3 [v12: 5.4.1.3]: If signed does not have mxid and token
        # properties, reject.
        if not isinstance(mxid, str) or not isinstance(token, str):
            _reject(version, "4.1.3", "signed needs string mxid and token")
        # Rule 4.4.1.4 [v12: 5.4.1.4]: If mxid does not match state_key, reject.
        if mxid != target:
            _reject(version, "4.1.4", "signed.mxid does not match state_key")
        # Rule 4.4.1.5 [v12: 5.4.1.5]: If there is no m.room.third_party_invite
        # event in the current room state with state_key matching token, reject.
        invite_event = state.get(("m.room.third_party_invite", token))
        if invite_event is None:
            _reject(version, "4.1.5", "no m.room.third_party_invite for this token")
        # Rule 4.4.1.6 [v12: 5.4.1.6]: If sender does not match sender of the
        # m.room.third_party_invite, reject.
        if sender != invite_event.get("sender"):
            _reject(version, "4.1.6", "sender did not send the third party invite")
        # Rule 4.4.1.7 [v12: 5.4.1.7]: If any signature in signed matches any
        # public key in the m.room.third_party_invite event, allow.
        if signed_matches_invite(signed, content_of(invite_event)):
            return
        # Rule 4.4.1.8 [v12: 5.4.1.8]: Otherwise, reject.
        _reject(version, "4.1.8", "no signature in signed matches the invite's public keys")
    # Rule 4.4.2 [v12: 5.4.2]: If the sender's current membership state is
    # not join, reject.
    if membership_of(sender, state) != "join":
        _reject(version, "4.2", "sender is not joined")
    # Rule 4.4.3 [v12: 5.4.3]: If target user's current membership state is
    # join or ban, reject.
    if membership_of(target, state) in ("join", "ban"):
        _reject(version, "4.3", "target user is joined or banned")
    # Rule 4.4.4 [v12: 5.4.4]: If the sender's power level is greater than or
    # equal to the invite level, allow.
    if user_level(sender, state, version) >= action_level("invite", state):
        return
    # Rule 4.4.5 [v12: 5.4.5]: Otherwise, reject.
    _reject(version, "4.5", "sender's power level is below the invite level")


def _leave(sender: str, target: str, state: StateMap, version: RoomVersion) -> None:
    # Rule 4.5 [v12: 5.5]: If membership is leave:
    # Rule 4.5.1 [v12: 5.5.1]: If the sender matches state_key, allow if and
    # only if that user's current membership state is invite, join, or knock.
    if sender == target:
        if membership_of(sender, state) in ("invite", "join", "knock"):
            return
        _reject(version, "5.1", "can only leave from invite, join or knock")
    # Rule 4.5.2 [v12: 5.5.2]: If the sender's current membership state is not
    # join, reject.
    if membership_of(sender, state) != "join":
        _reject(version, "5.2", "sender is not joined")
    sender_level = user_level(sender, state, version)
    target_level = user_level(target, state, version)
    # Rule 4.5.3 [v12: 5.5.3]: If the target user's current membership state
    # is ban, and the sender's power level is less than the ban level, reject.
    if membership_of(target, state) == "ban" and sender_level < action_level("ban", state):
        _reject(version, "5.3", "unbanning needs the ban level")
    # Rule 4.5.4 [v12: 5.5.4]: If the sender's power level is greater than or
    # equal to the kick level, and the target user's power level is less than
    # the sender's power level, allow.
    if sender_level >= action_level("kick", state) and target_level < sender_level:
        return
    # Rule 4.5.5 [v12: 5.5.5]: Otherwise, reject.
    _reject(version, "5.5", "kicking needs the kick level and more power than the target")


def _ban(sender: str, target: str, state: StateMap, version: RoomVersion) -> None:
    # Rule 4.6 [v12: 5.6]: If membership is ban:
    # Rule 4.6.1 [v12: 5.6.1]: If the sender's current membership state is not
    # join, reject.
    if membership_of(sender, state) != "join":
        _reject(version, "6.1", "sender is not joined")
    sender_level = user_level(sender, state, version)
    # Rule 4.6.2 [v12: 5.6.2]: If the sender's power level is greater than or
    # equal to the ban level, and the target user's power level is less than
    # the sender's power level, allow.
    if sender_level >= action_level("ban", state) and user_level(target, state, version) < sender_level:
        return
    # Rule 4.6.3 [v12: 5.6.3]: Otherwise, reject.
    _reject(version, "6.3", "banning needs the ban level and more power than the target")


def _knock(sender: str, target: str, state: StateMap, version: RoomVersion) -> None:
    # Rule 4.7 [v12: 5.7]: If membership is knock:
    # Rule 4.7.1 [v12: 5.7.1]: If the join_rule is anything other than knock
    # or knock_restricted, reject.
    if join_rule(state) not in ("knock", "knock_restricted"):
        _reject(version, "7.1", "the join rule does not allow knocking")
    # Rule 4.7.2 [v12: 5.7.2]: If sender does not match state_key, reject.
    if sender != target:
        _reject(version, "7.2", "cannot knock on behalf of another user")
    # Rule 4.7.3 [v12: 5.7.3]: If the sender's current membership is not ban,
    # invite, or join, allow.
    if membership_of(sender, state) not in ("ban", "invite", "join"):
        return
    # Rule 4.7.4 [v12: 5.7.4]: Otherwise, reject.
    _reject(version, "7.4", "banned, invited or joined users cannot knock")
