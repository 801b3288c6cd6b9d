"""Server-side key backups: key_backup.yaml (spec: end_to_end_encryption.md
"Server-side key backups"). The server stores the encrypted session keys as
given; only their metadata decides which of two copies is kept."""

from __future__ import annotations

from typing import Any

from kith.e2ee.backup import (
    MEGOLM_BACKUP_V1, check_auth_data, check_key_data, check_path_id, check_rooms, check_sessions,
)
from kith.e2ee.service import E2EE
from kith.errors import bad_json, invalid_param, not_found
from kith.http.types import Request, Route

Json = dict[str, Any]
BASE = "/_matrix/client/v3/room_keys"


def _version_body(request: Request) -> tuple[str, Json]:
    body = request.json_object()
    algorithm = body.get("algorithm")
    auth_data = body.get("auth_data")
    if not isinstance(algorithm, str):
        raise bad_json("algorithm must be a string")
    if not isinstance(auth_data, dict):
        raise bad_json("auth_data must be an object")
    return algorithm, auth_data


def routes(e2ee: E2EE) -> list[Route]:
    store = e2ee.backup

    async def create_version(request: Request) -> Json:
        """POST /_matrix/client/v3/room_keys/version"""
        algorithm, auth_data = _version_body(request)
        if algorithm != MEGOLM_BACKUP_V1:
            raise invalid_param(f"Unsupported backup algorithm {algorithm}")
        check_auth_data(algorithm, auth_data)
        return {"version": await store.create_version(request.user.user_id, algorithm, auth_data)}

    async def latest_version(request: Request) -> Json:
        """GET /_matrix/client/v3/room_keys/version"""
        return await store.version_info(request.user.user_id, None)

    async def get_version(request: Request) -> Json:
        """GET /_matrix/client/v3/room_keys/version/{version}"""
        return await store.version_info(request.user.user_id, request.path_params["version"])

    async def put_version(request: Request) -> Json:
        """PUT /_matrix/client/v3/room_keys/version/{version}"""
        user_id, version = request.user.user_id, request.path_params["version"]
        algorithm, auth_data = _version_body(request)
        body_version = request.json_object().get("version")
        if body_version is not None and body_version != version:
            raise invalid_param("version in the body does not match the path")
        if algorithm != await store.algorithm(user_id, version):
            raise invalid_param("Algorithm does not match")
        check_auth_data(algorithm, auth_data)
        await store.update_version(user_id, version, auth_data)
        return {}

    async def delete_version(request: Request) -> Json:
        """DELETE /_matrix/client/v3/room_keys/version/{version}"""
        await store.delete_version(request.user.user_id, request.path_params["version"])
        return {}

    def _scope(request: Request) -> tuple[str, str | None, str | None]:
        return (request.require_arg("version"),
                check_path_id(request.path_params.get("roomId"), "roomId"),
                check_path_id(request.path_params.get("sessionId"), "sessionId"))

    async def put_keys(request: Request) -> Json:
        """PUT /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
        version, room_id, session_id = _scope(request)
        body = request.json_object()
        if room_id is None:
            rooms = check_rooms(body)
        elif session_id is None:
            rooms = {room_id: check_sessions(body)}
        else:
            rooms = {room_id: {session_id: check_key_data(body)}}
        etag, count = await store.put_keys(request.user.user_id, version, rooms)
        return {"etag": etag, "count": count}

    async def get_keys(request: Request) -> Json:
        """GET /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
        version, room_id, session_id = _scope(request)
        rooms = await store.get_keys(request.user.user_id, version, room_id, session_id)
        if room_id is None:
            return {"rooms": {room: {"sessions": s} for room, s in rooms.items()}}
        if session_id is None:
            return {"sessions": rooms.get(room_id, {})}
        if room_id not in rooms:
            raise not_found("No key for this session")
        return rooms[room_id][session_id]

    async def delete_keys(request: Request) -> Json:
        """DELETE /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
        version, room_id, session_id = _scope(request)
        etag, count = await store.delete_keys(request.user.user_id, version, room_id, session_id)
        return {"etag": etag, "count": count}

    routes = [
        Route("POST", f"{BASE}/version", create_version),
        Route("GET", f"{BASE}/version", latest_version),
        Route("GET", f"{BASE}/version/{{version}}", get_version),
        Route("PUT", f"{BASE}/version/{{version}}", put_version),
        Route("DELETE", f"{BASE}/version/{{version}}", delete_version),
    ]
    for path in ("/keys", "/keys/{roomId}", "/keys/{roomId}/{sessionId}"):
        routes += [Route("PUT", BASE + path, put_keys), Route("GET", BASE + path, get_keys),
                   Route("DELETE", BASE + path, delete_keys)]
    return routes
