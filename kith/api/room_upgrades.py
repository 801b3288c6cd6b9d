"""POST /rooms/{roomId}/upgrade (room_upgrades.yaml), following
client-server-api/modules/room_upgrades.md "Server behaviour"."""

from __future__ import annotations

import logging
from typing import Any

from kith.api.fields import opt_str_list, req_str
from kith.api.rooms import profile_of
from kith.errors import MatrixError, forbidden, invalid_param
from kith.events.room_versions import KNOWN_ROOM_VERSIONS
from kith.http.types import Request, Route
from kith.ids import is_valid_user_id
from kith.rooms import upgrade as plan
from kith.rooms.membership import membership_of
from kith.rooms.service import Intent, RoomService
from kith.store.accounts import AccountStore
from kith.store.aliases import AliasStore

log = logging.getLogger(__name__)


def routes(rooms: RoomService, accounts: AccountStore, aliases: AliasStore) -> list[Route]:
    events = rooms.events

    async def best_effort(intent: Intent, room_id: str) -> None:
        """Old-room changes the spec asks for "if possible" (step 6)."""
        try:
            await rooms.send(intent, room_id)
        except MatrixError as err:
            log.info("upgrade of %s: could not send %s: %s", room_id, intent.type, err.message)

    async def upgrade(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/upgrade"""
        user = request.user
        room_id = request.path_params["roomId"]
        body = request.json_object()
        version_id = req_str(body, "new_version")
        version = KNOWN_ROOM_VERSIONS.get(version_id)
        if version is None:
            raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION",
                              f"Room version {version_id} is not supported")
        additional = opt_str_list(body, "additional_creators") or []
        for creator in additional:
            if not is_valid_user_id(creator):
                raise invalid_param(f"Invalid user ID {creator}")
        old = await rooms.snapshot_or_404(room_id)
        # Step 1: the user must be able to send m.room.tombstone in the old room.
        if membership_of(user.user_id, old.state) != "join" or \
                not plan.may_upgrade(old, user.user_id):
            raise forbidden("You cannot upgrade this room")
        # Steps 2 and 3: the replacement room with the transferable state.
        intents = plan.new_room_intents(old, user.user_id, version, additional,
                                        await profile_of(accounts, user.user_id))
        makers = [rooms.maker(intents[0], version)] + [rooms.maker(i) for i in intents[1:]]
        new_room_id = (await rooms.persist(None, makers))[0].room_id
        # Step 4: local aliases point at the new room.
        await aliases.move_room(room_id, new_room_id)
        if await events.is_public(room_id):
            await events.set_public(new_room_id, True)
            await events.set_public(room_id, False)
        # Step 5: the tombstone; checked in step 1, so failing here is an error.
        await rooms.send(plan.tombstone(user.user_id, new_room_id), room_id)
        current = await rooms.snapshot_or_404(room_id)
        alias_event = current.state.get(("m.room.canonical_alias", "")) or {}
        if alias_event.get("content"):
            await best_effort(Intent(user.user_id, "m.room.canonical_alias", {}, ""), room_id)
        # Step 6: stop sending and inviting in the old room.
        restricted = plan.restricted_old_power_levels(current)
        if restricted is not None:
            await best_effort(Intent(user.user_id, "m.room.power_levels", restricted, ""),
                              room_id)
        return {"replacement_room": new_room_id}

    return [
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/upgrade", upgrade, rate_limited=True),
    ]
