"""Device management: device_management.yaml."""

from __future__ import annotations

from typing import Any

from kith.api.account import LOGIN_PASSWORD, password_check
from kith.api.fields import opt_str, opt_str_list
from kith.auth.service import AccountService
from kith.auth.uia import UserInteractiveAuth
from kith.errors import missing_param, not_found
from kith.http.types import Request, Route
from kith.store.accounts import Device


def device_json(device: Device) -> dict[str, Any]:
    # user_id is not in the spec's Device schema but matrix-nio requires it.
    out: dict[str, Any] = {"device_id": device.device_id, "user_id": device.user_id}
    if device.display_name is not None:
        out["display_name"] = device.display_name
    if device.last_seen_ts is not None:
        out["last_seen_ts"] = device.last_seen_ts
    if device.last_seen_ip is not None:
        out["last_seen_ip"] = device.last_seen_ip
    return out


def routes(accounts: AccountService, uia: UserInteractiveAuth) -> list[Route]:
    store = accounts.store

    async def list_devices(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/devices"""
        return {"devices": [device_json(d) for d in await store.get_devices(request.user.user_id)]}

    async def get_device(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/devices/{deviceId}"""
        device = await store.get_device(request.user.user_id, request.path_params["deviceId"])
        if device is None:
            raise not_found("Unknown device")
        return device_json(device)

    async def update_device(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/devices/{deviceId}"""
        user_id, device_id = request.user.user_id, request.path_params["deviceId"]
        body = request.json_object(allow_empty=True)
        name = opt_str(body, "display_name")
        device = await store.get_device(user_id, device_id)
        if device is None:
            raise not_found("Unknown device")
        # device_management.yaml: "If not given, the display name is unchanged."
        if name is None or name == device.display_name:
            return {}
        if not await store.set_device_name(user_id, device_id, name):
            raise not_found("Unknown device")
        # Others see the name in /keys/query (keys.yaml unsigned.device_display_name);
        # end_to_end_encryption.md: device_lists.changed tells them to query again.
        for hook in accounts.on_device_renamed:
            await hook(user_id)
        return {}

    async def delete_device(request: Request) -> dict[str, Any]:
        """DELETE /_matrix/client/v3/devices/{deviceId}"""
        user = request.user
        device_id = request.path_params["deviceId"]
        body = request.json_object(allow_empty=True)
        if await store.get_device(user.user_id, device_id) is None:
            raise not_found("Unknown device")
        await uia.authenticate(
            body, [[LOGIN_PASSWORD]], {LOGIN_PASSWORD: password_check(accounts, user.user_id)},
            binding=f"delete_device:{user.user_id}:{device_id}",
        )
        await accounts.delete_devices(user.user_id, [device_id])
        return {}

    async def delete_devices(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/delete_devices"""
        user = request.user
        body = request.json_object()
        devices = opt_str_list(body, "devices")
        if devices is None:
            raise missing_param("Missing devices")
        await uia.authenticate(
            body, [[LOGIN_PASSWORD]], {LOGIN_PASSWORD: password_check(accounts, user.user_id)},
            binding=f"delete_devices:{user.user_id}:{','.join(sorted(devices))}",
        )
        await accounts.delete_devices(user.user_id, devices)
        return {}

    return [
        Route("GET", "/_matrix/client/v3/devices", list_devices),
        Route("GET", "/_matrix/client/v3/devices/{deviceId}", get_device),
        Route("PUT", "/_matrix/client/v3/devices/{deviceId}", update_device),
        Route("DELETE", "/_matrix/client/v3/devices/{deviceId}", delete_device),
        Route("POST", "/_matrix/client/v3/delete_devices", delete_devices),
    ]
