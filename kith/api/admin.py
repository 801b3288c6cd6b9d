"""Server administration: GET /_matrix/client/v3/admin/whois/{userId} (admin.yaml).

Spec: client-server-api/modules/admin.md. admin.yaml: "This API may be
restricted to only be called by the user being looked up, or by a server
admin", and Kith does restrict it so: a user's devices and addresses are
theirs and the administrator's to see. Each device is one session (Kith has
one access token per device) with one connection: the address and time the
device was last seen. User agents are not recorded, so none is reported.
"""

from __future__ import annotations

from typing import Any

from kith.errors import forbidden, not_found
from kith.http.types import Request, Route
from kith.store.accounts import AccountStore, Device


def device_info(device: Device) -> dict[str, Any]:
    connection: dict[str, Any] = {}
    if device.last_seen_ip is not None:
        connection["ip"] = device.last_seen_ip
    if device.last_seen_ts is not None:
        connection["last_seen"] = device.last_seen_ts
    return {"sessions": [{"connections": [connection] if connection else []}]}


def routes(accounts: AccountStore) -> list[Route]:
    async def whois(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/admin/whois/{userId}"""
        user_id = request.path_params["userId"]
        if user_id != request.user.user_id and not request.user.is_admin:
            raise forbidden("Only the user themself or a server administrator may ask")
        if await accounts.get_user(user_id) is None:
            raise not_found("Unknown user")
        devices = await accounts.get_devices(user_id)
        return {"user_id": user_id, "devices": {d.device_id: device_info(d) for d in devices}}

    return [Route("GET", "/_matrix/client/v3/admin/whois/{userId}", whois)]
