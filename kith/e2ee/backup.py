"""Server-side key backup rules (spec: end_to_end_encryption.md "Server-side
key backups" and key_backup.yaml)."""

from __future__ import annotations

from typing import Any

from kith.errors import MatrixError, bad_json

MEGOLM_BACKUP_V1 = "m.megolm_backup.v1.curve25519-aes-sha2"


def wrong_version(current: str | None) -> MatrixError:
    """key_backup.yaml: 403 when the version is not the current backup."""
    if current is None:
        return MatrixError(404, "M_NOT_FOUND", "No backup exists")
    return MatrixError(403, "M_WRONG_ROOM_KEYS_VERSION", "Wrong backup version.",
                       current_version=current)


def check_key_data(data: Any) -> dict[str, Any]:
    """Validate KeyBackupData (definitions/key_backup_data.yaml)."""
    if not isinstance(data, dict):
        raise bad_json("Key backup data must be an object")
    for name in ("first_message_index", "forwarded_count"):
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_json(f"{name} must be an integer")
    if not isinstance(data.get("is_verified"), bool):
        raise bad_json("is_verified must be a boolean")
    if not isinstance(data.get("session_data"), dict):
        raise bad_json("session_data must be an object")
    return data


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
    return {str(sid): check_key_data(data) for sid, data in body["sessions"].items()}


def check_rooms(body: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The {"rooms": {room_id: {"sessions": ...}}} of PUT /room_keys/keys."""
    if not isinstance(body, dict) or not isinstance(body.get("rooms"), dict):
        raise bad_json("rooms must be an object")
    return {str(room): check_sessions(value) for room, value in body["rooms"].items()}
