"""createRoom as a pure plan: the request body -> the ordered list of events.

Spec: create_room.yaml, which fixes the order: create, creator's join, power
levels, canonical alias, preset events, initial_state, name and topic, invites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kith.api.fields import opt_bool, opt_dict, opt_list, opt_str, opt_str_list
from kith.errors import MatrixError, bad_json
from kith.events.room_versions import DEFAULT_ROOM_VERSION, KNOWN_ROOM_VERSIONS, RoomVersion
from kith.ids import is_valid_user_id
from kith.rooms.service import Intent

PRESETS = {
    # preset: (join_rule, history_visibility, guest_access)
    "private_chat": ("invite", "shared", "can_join"),
    "trusted_private_chat": ("invite", "shared", "can_join"),
    "public_chat": ("public", "shared", "forbidden"),
}


@dataclass(frozen=True, slots=True)
class CreateRoomRequest:
    version: RoomVersion
    preset: str
    visibility: str
    name: str | None
    topic: str | None
    alias_localpart: str | None
    invite: list[str]
    is_direct: bool
    creation_content: dict[str, Any]
    initial_state: list[dict[str, Any]]
    power_level_override: dict[str, Any] | None


def parse_request(body: dict[str, Any]) -> CreateRoomRequest:
    visibility = opt_str(body, "visibility") or "private"
    if visibility not in ("public", "private"):
        raise bad_json("visibility must be public or private")
    preset = opt_str(body, "preset") or ("public_chat" if visibility == "public" else "private_chat")
    if preset not in PRESETS:
        raise bad_json(f"Unknown preset {preset}")
    version_id = opt_str(body, "room_version") or DEFAULT_ROOM_VERSION.identifier
    version = KNOWN_ROOM_VERSIONS.get(version_id)
    if version is None:
        raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", f"Room version {version_id} is not supported")
    invite = opt_str_list(body, "invite") or []
    for user in invite:
        if not is_valid_user_id(user):
            raise MatrixError(400, "M_INVALID_PARAM", f"Invalid user ID {user}")
    initial_state = opt_list(body, "initial_state") or []
    for item in initial_state:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or \
                not isinstance(item.get("content"), dict) or \
                not isinstance(item.get("state_key", ""), str):
            raise bad_json("initial_state entries need type, content and an optional string state_key")
    alias = opt_str(body, "room_alias_name")
    if opt_list(body, "invite_3pid"):
        raise MatrixError(400, "M_UNKNOWN", "Third-party invites are not supported")
    return CreateRoomRequest(
        version=version, preset=preset, visibility=visibility, name=opt_str(body, "name"),
        topic=opt_str(body, "topic"), alias_localpart=alias, invite=list(dict.fromkeys(invite)),
        is_direct=opt_bool(body, "is_direct", False),
        creation_content=dict(opt_dict(body, "creation_content") or {}),
        initial_state=initial_state,
        power_level_override=opt_dict(body, "power_level_content_override"),
    )


def default_power_levels(creator: str, request: CreateRoomRequest) -> dict[str, Any]:
    version = request.version
    users: dict[str, int] = {}
    if not version.infinite_creator_power:
        users[creator] = 100
        if request.preset == "trusted_private_chat":
            users.update({user: 100 for user in request.invite})
    content: dict[str, Any] = {
        "users": users,
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            # v12 (create_room.yaml): the tombstone level MUST be above state_default
            # and the creators' level; 150 keeps upgrades to creators.
            "m.room.tombstone": 150 if version.infinite_creator_power else 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50 if request.preset == "public_chat" else 0,
        "historical": 100,
        "notifications": {"room": 50},
    }
    if request.power_level_override:
        content.update(request.power_level_override)
    return content


MEGOLM = "m.megolm.v1.aes-sha2"

def encrypted_by_default(request: CreateRoomRequest, mode: str) -> bool:
    """Config `encryption`: "private" encrypts private_chat / trusted_private_chat
    rooms and direct chats, "all" every room, "off" none. An m.room.encryption
    in initial_state is the client's own choice and wins (spec: create_room.yaml,
    initial_state overrides preset-generated state)."""
    if any(i["type"] == "m.room.encryption" and i.get("state_key", "") == ""
           for i in request.initial_state):
        return False
    if mode == "all":
        return True
    if mode == "private":
        return request.is_direct or request.preset in ("private_chat", "trusted_private_chat")
    return False


def creation_intents(creator: str, request: CreateRoomRequest, server_name: str,
                     profile: dict[str, Any], encryption: str = "private") -> list[Intent]:
    version = request.version
    create_content = dict(request.creation_content)
    create_content["room_version"] = version.identifier
    if not version.creator_is_sender:
        create_content["creator"] = creator
    else:
        create_content.pop("creator", None)
    if version.infinite_creator_power and request.preset == "trusted_private_chat":
        extra = [u for u in create_content.get("additional_creators", []) if isinstance(u, str)]
        create_content["additional_creators"] = list(dict.fromkeys(extra + request.invite))

    join_content: dict[str, Any] = {"membership": "join"}
    join_content.update({k: v for k, v in profile.items() if v is not None})
    intents = [
        Intent(creator, "m.room.create", create_content, ""),
        Intent(creator, "m.room.member", join_content, creator),
        Intent(creator, "m.room.power_levels", default_power_levels(creator, request), ""),
    ]
    if request.alias_localpart:
        alias = f"#{request.alias_localpart}:{server_name}"
        intents.append(Intent(creator, "m.room.canonical_alias", {"alias": alias}, ""))
    join_rule, history, guest = PRESETS[request.preset]
    intents += [
        Intent(creator, "m.room.join_rules", {"join_rule": join_rule}, ""),
        Intent(creator, "m.room.history_visibility", {"history_visibility": history}, ""),
        Intent(creator, "m.room.guest_access", {"guest_access": guest}, ""),
    ]
    if encrypted_by_default(request, encryption):
        intents.append(Intent(creator, "m.room.encryption", {"algorithm": MEGOLM}, ""))
    for item in request.initial_state:
        intents.append(Intent(creator, item["type"], item["content"], item.get("state_key", "")))
    if request.name is not None:
        intents.append(Intent(creator, "m.room.name", {"name": request.name}, ""))
    if request.topic is not None:
        intents.append(Intent(creator, "m.room.topic", {
            "topic": request.topic,
            "m.topic": [{"body": request.topic, "mimetype": "text/plain"}],
        }, ""))
    for user in request.invite:
        content: dict[str, Any] = {"membership": "invite"}
        if request.is_direct:
            content["is_direct"] = True
        intents.append(Intent(creator, "m.room.member", content, user))
    return intents
