"""The end-to-end encryption sections of /sync (spec: sync.yaml --
to_device, device_lists, device_one_time_keys_count,
device_unused_fallback_key_types)."""

from __future__ import annotations

from typing import Any

from kith.e2ee.device_lists import DeviceLists
from kith.store.e2ee_keys import KeyStore
from kith.store.e2ee_to_device import ToDeviceStore

# Spec (send_to_device.md): the server delivers queued messages in order; at
# most this many per response, the rest in the following syncs.
TO_DEVICE_LIMIT = 100

# Clients (e.g. vodozemac-based ones) read a missing count as zero, but
# always reporting the standard algorithm avoids ambiguity.
DEFAULT_COUNTS = {"signed_curve25519": 0}


class E2EESyncExtension:
    def __init__(self, keys: KeyStore, to_device: ToDeviceStore, device_lists: DeviceLists,
                 to_device_limit: int = TO_DEVICE_LIMIT) -> None:
        self._keys = keys
        self._to_device = to_device
        self._device_lists = device_lists
        self._limit = to_device_limit

    async def to_device(self, user_id: str, device_id: str, acknowledged: int | None
                        ) -> tuple[list[dict[str, Any]], int | None]:
        return await self._to_device.deliver(user_id, device_id, acknowledged, self._limit)

    async def add_to_sync(self, user_id: str, device_id: str, since: int | None, upto: int,
                          response: dict[str, Any]) -> bool:
        news = False
        if since is not None:
            delta = await self._device_lists.delta(user_id, since, upto)
            response["device_lists"] = {"changed": sorted(delta.changed),
                                        "left": sorted(delta.left)}
            news = news or bool(delta)

        # Sent on every sync, but they alone never end a long-poll.
        counts = dict(DEFAULT_COUNTS)
        counts.update(await self._keys.one_time_key_counts(user_id, device_id))
        response["device_one_time_keys_count"] = counts
        response["device_unused_fallback_key_types"] = await self._keys.unused_fallback_types(
            user_id, device_id)
        return news
