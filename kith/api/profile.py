"""User profiles: profile.yaml.

`displayname` and `avatar_url` live on the user; other keys (`m.tz`, custom
namespaced keys) in the profile field store. After a change to the first two,
the user's member event in every joined room is re-sent with the new values
(client-server-api "Events on Change of Profile Information").
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson

from kith.errors import MatrixError, bad_json, forbidden, invalid_param, missing_param, not_found
from kith.http.types import Request, Route
from kith.rooms.service import RoomService
from kith.store.accounts import AccountStore, User
from kith.store.profiles import ProfileFieldStore

log = logging.getLogger(__name__)

# profile.yaml `keyName` pattern.
KEY_PATTERN = re.compile(r"^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$")
MEMBER_FIELDS = ("displayname", "avatar_url")
MAX_KEY_BYTES = 255             # profile.yaml: M_KEY_TOO_LARGE beyond 255 bytes
MAX_PROFILE_BYTES = 64 * 1024   # profile.yaml: the whole profile MUST be under 64 KiB
MAX_DISPLAYNAME = 256


def _key(request: Request) -> str:
    key = request.path_params["keyName"]
    if len(key.encode()) > MAX_KEY_BYTES:
        raise MatrixError(400, "M_KEY_TOO_LARGE", "Profile key is too long")
    if not KEY_PATTERN.match(key):
        raise invalid_param("Invalid profile key.")
    return key


def _check_member_field(key: str, value: Any) -> str | None:
    """Validate displayname/avatar_url; null or "" clears the field."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_json(f"{key} must be a string")
    if key == "displayname" and len(value) > MAX_DISPLAYNAME:
        raise invalid_param(f"displayname is too long (max {MAX_DISPLAYNAME})")
    # profile.yaml: for avatar_url the value MUST be an MXC URI.
    if key == "avatar_url" and not (value.startswith("mxc://") and len(value) <= 1024):
        raise invalid_param("avatar_url must be an mxc:// URI")
    return value


def routes(accounts: AccountStore, fields: ProfileFieldStore, rooms: RoomService) -> list[Route]:
    async def existing(user_id: str) -> User:
        user = await accounts.get_user(user_id)
        if user is None or user.deactivated:
            raise not_found("Profile not found")
        return user

    async def full_profile(user: User) -> dict[str, Any]:
        profile: dict[str, Any] = await fields.fields(user.user_id)
        if user.displayname is not None:
            profile["displayname"] = user.displayname
        if user.avatar_url is not None:
            profile["avatar_url"] = user.avatar_url
        return profile

    async def propagate(user_id: str) -> None:
        user = await accounts.get_user(user_id)
        if user is None:
            return
        profile = {"displayname": user.displayname, "avatar_url": user.avatar_url}
        for room_id, _, _ in await rooms.events.rooms_for_user(user_id, ["join"]):
            try:
                await rooms.set_membership(user_id, room_id, user_id, "join", profile=profile)
            except Exception:
                # One room refusing (e.g. power levels) must not stop the others.
                log.warning("profile update not sent to %s", room_id, exc_info=True)

    def own(request: Request) -> str:
        user_id = request.path_params["userId"]
        if user_id != request.user.user_id:
            raise forbidden("Cannot change another user's profile")
        return user_id

    async def get_profile(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/profile/{userId}"""
        return await full_profile(await existing(request.path_params["userId"]))

    async def get_field(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/profile/{userId}/{keyName}"""
        key = _key(request)
        profile = await full_profile(await existing(request.path_params["userId"]))
        if key not in profile:
            raise not_found(f"No {key} in this profile")
        return {key: profile[key]}

    async def put_field(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/profile/{userId}/{keyName}"""
        key = _key(request)
        user_id = own(request)
        body = request.json_object()
        # profile.yaml: the body holds the property named by keyName.
        if key not in body:
            raise missing_param(f"Missing {key}")
        user = await existing(user_id)
        value = body[key]
        if key in MEMBER_FIELDS:
            checked = _check_member_field(key, value)
            current = user.displayname if key == "displayname" else user.avatar_url
            await accounts.set_profile_field(user_id, key, checked)
            if checked != current:
                await propagate(user_id)
            return {}
        if key == "m.tz" and not isinstance(value, str):
            raise bad_json("m.tz must be a string")
        profile = await full_profile(user)
        profile[key] = value
        if len(orjson.dumps(profile)) >= MAX_PROFILE_BYTES:
            raise MatrixError(400, "M_PROFILE_TOO_LARGE", "The profile would exceed 64 KiB")
        await fields.set(user_id, key, value)
        return {}

    async def delete_field(request: Request) -> dict[str, Any]:
        """DELETE /_matrix/client/v3/profile/{userId}/{keyName}"""
        key = _key(request)
        user_id = own(request)
        user = await existing(user_id)
        if key in MEMBER_FIELDS:
            current = user.displayname if key == "displayname" else user.avatar_url
            if current is not None:
                await accounts.set_profile_field(user_id, key, None)
                await propagate(user_id)
            return {}
        await fields.delete(user_id, key)
        return {}

    base = "/_matrix/client/v3/profile/{userId}"
    return [
        Route("GET", base, get_profile, auth="optional"),
        Route("GET", base + "/{keyName}", get_field, auth="optional"),
        Route("PUT", base + "/{keyName}", put_field, rate_limited=True),
        Route("DELETE", base + "/{keyName}", delete_field),
    ]
