"""Typed access to JSON request fields: a wrong type is 400 M_BAD_JSON,
a missing required field 400 M_MISSING_PARAM."""

from __future__ import annotations

from typing import Any

from kith.errors import bad_json, missing_param


def opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_json(f"{key} must be a string")
    return value


def req_str(body: dict[str, Any], key: str) -> str:
    value = opt_str(body, key)
    if value is None:
        raise missing_param(f"Missing {key}")
    return value


def opt_bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_json(f"{key} must be a boolean")
    return value


def opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise bad_json(f"{key} must be an integer")
    return value


def opt_dict(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise bad_json(f"{key} must be an object")
    return value


def opt_str_list(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_json(f"{key} must be a list of strings")
    return value


def opt_list(body: dict[str, Any], key: str) -> list[Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, list):
        raise bad_json(f"{key} must be a list")
    return value
