"""The end-to-end encryption collaborators, built together for app.py."""

from __future__ import annotations

from dataclasses import dataclass

from kith.e2ee.device_lists import DeviceLists
from kith.e2ee.sync_extension import E2EESyncExtension
from kith.e2ee.to_device_queue import QueueLimits
from kith.store import e2ee_backup, e2ee_cross_signing, e2ee_device_lists, e2ee_keys
from kith.store import e2ee_to_device
from kith.store.database import Database
from kith.store.e2ee_backup import BackupStore
from kith.store.e2ee_cross_signing import CrossSigningStore
from kith.store.e2ee_device_lists import DeviceListStore
from kith.store.e2ee_keys import KeyStore
from kith.store.e2ee_to_device import ToDeviceStore
from kith.store.events import EventStore
from kith.sync.notifier import Notifier

SCHEMA = [*e2ee_device_lists.SCHEMA, *e2ee_keys.SCHEMA, *e2ee_cross_signing.SCHEMA,
          *e2ee_to_device.SCHEMA, *e2ee_backup.SCHEMA]
STREAM_TABLES = [*e2ee_device_lists.STREAM_TABLES, *e2ee_to_device.STREAM_TABLES]


@dataclass
class E2EE:
    keys: KeyStore
    cross_signing: CrossSigningStore
    to_device: ToDeviceStore
    backup: BackupStore
    device_lists: DeviceLists
    notifier: Notifier
    db: Database

    @classmethod
    def build(cls, db: Database, events: EventStore, notifier: Notifier,
              to_device_limits: QueueLimits = QueueLimits()) -> E2EE:
        lists = DeviceLists(DeviceListStore(db), events, notifier)
        return cls(KeyStore(db), CrossSigningStore(db), ToDeviceStore(db, to_device_limits),
                   BackupStore(db), lists, notifier, db)

    def current_position(self) -> int:
        return self.db.current_stream_id

    @property
    def sync_extension(self) -> E2EESyncExtension:
        return E2EESyncExtension(self.keys, self.to_device, self.device_lists)

    async def devices_deleted(self, user_id: str, device_ids: list[str]) -> None:
        """AccountService.on_devices_deleted (spec: device_management.md "Deleting
        a device ... deletes its keys"): keys, queued messages and signatures on
        the device go; the user's device list changed."""
        await self.keys.delete_devices(user_id, device_ids)
        await self.to_device.delete_devices(user_id, device_ids)
        await self.cross_signing.delete_targets(user_id, device_ids)
        if device_ids:
            await self.device_lists.wake_for(user_id)

    async def deactivated(self, user_id: str) -> None:
        """AccountService.on_deactivated: cross-signing keys and backups go."""
        await self.cross_signing.delete_user(user_id)
        await self.backup.delete_user(user_id)
        await self.device_lists.wake_for(user_id)
