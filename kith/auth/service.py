"""Accounts: registration, login, logout and password changes.

The routes in kith.api.account call these; SQL lives in kith.store.accounts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kith.auth.passwords import hash_password, verify_password
from kith.auth.tokens import new_access_token, new_device_id
from kith.errors import MatrixError, forbidden, invalid_username, user_in_use
from kith.http.asgi import hash_token
from kith.ids import make_user_id, parse_user_id, valid_localpart
from kith.store.accounts import AccountStore, UserExists

DeviceHook = Callable[[str, list[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    device_id: str
    access_token: str


class AccountService:
    def __init__(self, server_name: str, store: AccountStore) -> None:
        self.server_name = server_name
        self.store = store
        # Called after devices are deleted (device-list updates, key removal).
        self.on_devices_deleted: list[DeviceHook] = []
        self.on_deactivated: list[Callable[[str], Awaitable[None]]] = []
        # Called after a new device signs in (device-list updates for others).
        self.on_device_added: list[Callable[[str], Awaitable[None]]] = []
        # Called after a device's display name changes (device-list updates for others).
        self.on_device_renamed: list[Callable[[str], Awaitable[None]]] = []
        # Called when a deactivating user asks for erasure (after on_deactivated,
        # so their rooms are left first): their data and media go.
        self.on_erased: list[Callable[[str], Awaitable[object]]] = []

    def user_id_for(self, localpart: str) -> str:
        if not valid_localpart(localpart):
            raise invalid_username("User ID may only contain a-z, 0-9, and . _ = - / +")
        user_id = make_user_id(localpart, self.server_name)
        if len(user_id.encode()) > 255:
            raise invalid_username("User ID is too long")
        return user_id

    async def register(
        self, localpart: str, password: str | None, *, is_admin: bool = False,
        device_id: str | None = None, device_name: str | None = None, issue_token: bool = True,
    ) -> Session | str:
        user_id = self.user_id_for(localpart)
        password_hash = await hash_password(password) if password else None
        try:
            await self.store.create_user(user_id, password_hash, is_admin, displayname=localpart)
        except UserExists:
            raise user_in_use() from None
        if not issue_token:
            return user_id
        return await self.new_session(user_id, device_id, device_name)

    async def new_session(self, user_id: str, device_id: str | None, device_name: str | None) -> Session:
        device_id = device_id or new_device_id()
        existing = await self.store.get_device(user_id, device_id)
        if existing is not None:
            # Spec (client-server-api "Relationship between access tokens and
            # devices"): when the client sets the device_id, the server
            # invalidates the tokens previously assigned to that device. The
            # new login is a new holder of the ID, not the old device's keys:
            # it is cleaned up as a deleted device (one-time and fallback keys,
            # queued to-device messages, signatures on it), so nothing meant
            # for the old holder reaches it; it is the same device again only
            # by uploading the same keys.
            await self.delete_devices(user_id, [device_id])
        await self.store.upsert_device(user_id, device_id, device_name)
        token = new_access_token()
        await self.store.add_access_token(hash_token(token), user_id, device_id)
        for hook in self.on_device_added:
            await hook(user_id)
        return Session(user_id, device_id, token)

    def resolve_user(self, identifier: str) -> str:
        """Accept a full user ID or a bare localpart (spec: m.id.user)."""
        if identifier.startswith("@"):
            try:
                localpart, server = parse_user_id(identifier)
            except ValueError:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid user ID") from None
            return f"@{localpart.lower()}:{server}"
        return make_user_id(identifier.lower(), self.server_name)

    async def check_password(self, user_id: str, password: str) -> bool:
        user = await self.store.get_user(user_id)
        if user is None or user.deactivated:
            # Still hash once so that timing does not reveal whether the user exists.
            await verify_password(_DUMMY_HASH, password)
            return False
        return await verify_password(user.password_hash, password)

    async def login(self, user_id: str, password: str, device_id: str | None,
                    device_name: str | None) -> Session:
        if not await self.check_password(user_id, password):
            raise forbidden("Invalid username or password")
        return await self.new_session(user_id, device_id, device_name)

    async def delete_devices(self, user_id: str, device_ids: list[str]) -> None:
        await self.store.delete_devices(user_id, device_ids)
        for hook in self.on_devices_deleted:
            await hook(user_id, device_ids)

    async def change_password(self, user_id: str, new_password: str, keep_device: str | None,
                              logout_devices: bool) -> None:
        await self.store.set_password_hash(user_id, await hash_password(new_password))
        if logout_devices:
            removed = await self.store.delete_tokens_except_device(user_id, keep_device)
            for hook in self.on_devices_deleted:
                await hook(user_id, removed)

    async def deactivate(self, user_id: str, erase: bool = False) -> None:
        devices = [d.device_id for d in await self.store.get_devices(user_id)]
        for hook in self.on_deactivated:
            await hook(user_id)
        if erase:
            for erase_hook in self.on_erased:
                await erase_hook(user_id)
        await self.store.deactivate(user_id)
        for dhook in self.on_devices_deleted:
            await dhook(user_id, devices)


_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$WXoSKQ7vMy0aIdBCfYEhiQ$dQ4En/yQ+28e9PIhnwbVUlPA/+eEeWO8/PvyDReMi7o"
