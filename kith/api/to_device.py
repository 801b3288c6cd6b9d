"""Send-to-device messaging: to_device.yaml (spec: send_to_device.md)."""

from __future__ import annotations

from typing import Any

import orjson

from kith.e2ee.service import E2EE
from kith.errors import bad_json, too_large
from kith.http.types import Request, Route
from kith.store.e2ee_to_device import Message


# One message's content, as JSON, may be as large as a room event (the spec's
# 65536-byte PDU limit) and no larger: an Olm-encrypted room key is a few KiB,
# and the per-device queue bound (kith.e2ee.to_device_queue) counts messages,
# so this cap is what bounds the bytes a queue can hold.
MAX_CONTENT_BYTES = 65536


def parse_messages(body: dict[str, Any]) -> list[Message]:
    """to_device.yaml: messages maps user IDs to device IDs (or "*") to content."""
    messages = body.get("messages")
    if not isinstance(messages, dict):
        raise bad_json("messages must be an object")
    out = []
    for user_id, devices in messages.items():
        if not isinstance(devices, dict):
            raise bad_json("messages must map user IDs to objects")
        for device_id, content in devices.items():
            if not isinstance(content, dict):
                raise bad_json("Message content must be an object")
            if len(orjson.dumps(content)) > MAX_CONTENT_BYTES:
                raise too_large(f"A to-device message may hold at most {MAX_CONTENT_BYTES}"
                                " bytes of content")
            out.append(Message(user_id, device_id, content))
    return out


def routes(e2ee: E2EE) -> list[Route]:
    async def send_to_device(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}"""
        user = request.user
        messages = parse_messages(request.json_object())
        woken = await e2ee.to_device.send(
            user.user_id, user.device_id, request.path_params["txnId"],
            request.path_params["eventType"], messages)
        if woken:
            e2ee.notifier.wake(woken)
        return {}

    return [Route("PUT", "/_matrix/client/v3/sendToDevice/{eventType}/{txnId}", send_to_device)]
