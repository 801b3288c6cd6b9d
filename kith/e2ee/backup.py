"""Server-side key backup rules (spec: end_to_end_encryption.md "Server-side
key backups" and key_backup.yaml)."""

from __future__ import annotations

from typing import Any

from kith.errors import MatrixError, bad_json, invalid_param

MEGOLM_BACKUP_V1 = "m.megolm_backup.v1.curve25519-aes-sha2"


def wrong_version(current: str) -> MatrixError:
    """key_backup.yaml PUT /room_keys/keys: 403 when the version exists but is
    not the current backup, naming the current one. (A version that does not
    exist, or was deleted, is 404 M_NOT_FOUND "The backup was not found".)"""
    return MatrixError(403, "M_WRONG_ROOM_KEYS_VERSION", "Wrong backup version.",
                       current_version=current)


def check_auth_data(algorithm: str, auth_data: dict[str, Any]) -> None:
    """POST and PUT /room_keys/version: for m.megolm_backup.v1.curve25519-aes-sha2
    auth_data is an AuthData (definitions/key_backup_auth_data.yaml), whose
    public_key, the key every backed-up session is encrypted to, is required."""
    if algorithm != MEGOLM_BACKUP_V1:
        return
    public_key = auth_data.get("public_key")
    if not isinstance(public_key, str) or not public_key:
        raise bad_json("auth_data.public_key must be a non-empty string")
    if "signatures" in auth_data and not isinstance(auth_data["signatures"], dict):
        raise bad_json("auth_data.signatures must be an object")


def check_key_data(data: Any) -> dict[str, Any]:
    """Validate KeyBackupData (definitions/key_backup_data.yaml). The two counts
    are an index into a megolm session and a number of forwards: never negative,
    and a negative one would win every comparison in new_is_better."""
    if not isinstance(data, dict):
        raise bad_json("Key backup data must be an object")
    for name in ("first_message_index", "forwarded_count"):
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_json(f"{name} must be an integer")
        if value < 0:
            raise bad_json(f"{name} must not be negative")
    if not isinstance(data.get("is_verified"), bool):
        raise bad_json("is_verified must be a boolean")
    if not isinstance(data.get("session_data"), dict):
        raise bad_json("session_data must be an object")
    return data


def check_path_id(value: str | None, name: str) -> str | None:
    """The roomId / sessionId path parameters: absent at the higher levels, but
    when present they name a room or a session, so they are not empty."""
    if value is not None and not value:
        raise invalid_param(f"{name} must not be empty")
    return value


def new_is_better(existing: dict[str, Any], new: dict[str, Any]) -> bool:
    """Spec: keep the verified key; then the lower first_message_index; then
    the lower forwarded_count. Ties keep the stored key."""
    if existing["is_verified"] != new["is_verified"]:
        return bool(new["is_verified"])
    if existing["first_message_index"] != new["first_message_index"]:
        return bool(new["first_message_index"] < existing["first_message_index"])
    return bool(new["forwarded_count"] < existing["forwarded_count"])


def check_sessions(body: Any) -> dict[str, dict[str, Any]]:
    """The {"sessions": {session_id: KeyBackupData}} of a room (room_key_backup.yaml)."""
    if not isinstance(body, dict) or not isinstance(body.get("sessions"), dict):
        raise bad_json("sessions must be an object")
    if "" in body["sessions"]:
        raise bad_json("A session ID must not be empty")
    return {str(sid): check_key_data(data) for sid, data in body["sessions"].items()}


def check_rooms(body: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The {"rooms": {room_id: {"sessions": ...}}} of PUT /room_keys/keys."""
    if not isinstance(body, dict) or not isinstance(body.get("rooms"), dict):
        raise bad_json("rooms must be an object")
    if "" in body["rooms"]:
        raise bad_json("A room ID must not be empty")
    return {str(room): check_sessions(value) for room, value in body["rooms"].items()}
