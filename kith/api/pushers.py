"""Pushers: pusher.yaml (GET /pushers, POST /pushers/set)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kith.api.fields import opt_bool, opt_dict, opt_str, req_str
from kith.errors import bad_json, invalid_param, missing_param
from kith.http.types import Request, Route
from kith.store.pushers import Pusher, PusherStore

KINDS = ("http", "email")
MAX_PUSHKEY_BYTES = 512   # pusher.yaml: pushkey max length 512 bytes
MAX_APP_ID_CHARS = 64     # pusher.yaml: app_id max length 64 chars
NOTIFY_PATH = "/_matrix/push/v1/notify"
REQUIRED_UNLESS_DELETING = ("app_display_name", "device_display_name", "lang", "data")


def pusher_json(pusher: Pusher) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pushkey": pusher.pushkey, "kind": pusher.kind, "app_id": pusher.app_id,
        "app_display_name": pusher.app_display_name,
        "device_display_name": pusher.device_display_name,
        "lang": pusher.lang, "data": pusher.data,
    }
    if pusher.profile_tag is not None:
        out["profile_tag"] = pusher.profile_tag
    return out


def _check_http_data(data: dict[str, Any]) -> None:
    # pusher.yaml PusherData: `url` is required for http pushers and MUST be
    # an HTTPS URL whose path is /_matrix/push/v1/notify (plain http is
    # accepted too, for gateways on the same host).
    url = data.get("url")
    if url is None:
        raise missing_param("'url' is required in data for http pushers")
    if not isinstance(url, str):
        raise bad_json("data.url must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path != NOTIFY_PATH:
        raise invalid_param(f"data.url must be an https URL with the path {NOTIFY_PATH}")
    fmt = data.get("format")
    if fmt is not None and fmt != "event_id_only":
        raise invalid_param("data.format must be 'event_id_only' when given")


def routes(store: PusherStore) -> list[Route]:
    async def get_pushers(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/pushers"""
        return {"pushers": [pusher_json(p) for p in await store.for_user(request.user.user_id)]}

    async def set_pusher(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/pushers/set"""
        user = request.user
        body = request.json_object()
        missing = [key for key in ("kind", "app_id", "pushkey") if key not in body]
        if missing:
            raise missing_param(f"Missing parameters: {', '.join(missing)}")
        app_id = req_str(body, "app_id")
        pushkey = req_str(body, "pushkey")
        kind = opt_str(body, "kind")
        if kind is None:
            # pusher.yaml: `kind: null` deletes the pusher.
            await store.delete(user.user_id, app_id, pushkey)
            return {}
        missing = [key for key in REQUIRED_UNLESS_DELETING if body.get(key) is None]
        if missing:
            raise missing_param(f"Missing parameters: {', '.join(missing)}")
        if kind not in KINDS:
            raise invalid_param(f"Unsupported pusher kind {kind!r}")
        if not app_id or len(app_id) > MAX_APP_ID_CHARS:
            raise invalid_param(f"app_id must be 1 to {MAX_APP_ID_CHARS} characters")
        if not pushkey or len(pushkey.encode()) > MAX_PUSHKEY_BYTES:
            raise invalid_param(f"pushkey must be 1 to {MAX_PUSHKEY_BYTES} bytes")
        data = opt_dict(body, "data") or {}
        if kind == "http":
            _check_http_data(data)
        pusher = Pusher(
            user_id=user.user_id, app_id=app_id, pushkey=pushkey, kind=kind,
            app_display_name=req_str(body, "app_display_name"),
            device_display_name=req_str(body, "device_display_name"),
            profile_tag=opt_str(body, "profile_tag"), lang=req_str(body, "lang"),
            data=data, device_id=user.device_id,
        )
        await store.upsert(pusher, append=opt_bool(body, "append", False))
        return {}

    return [
        Route("GET", "/_matrix/client/v3/pushers", get_pushers),
        Route("POST", "/_matrix/client/v3/pushers/set", set_pusher, rate_limited=True),
    ]
